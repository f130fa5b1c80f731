//! `netstack ping HOST [-c N] [-s SIZE]` from our stack, over a TAP.

use std::net::Ipv4Addr;
use std::time::Duration as StdDuration;

use clap::Args;
use stack::runtime::{Runtime, WaitOutcome};
use stack::{Engine, NetError};

use crate::iface::IfaceOpts;

/// Options of `netstack ping`.
#[derive(Args, Debug)]
pub struct PingOpts {
    #[command(flatten)]
    iface: IfaceOpts,
    /// Host to ping.
    host: Ipv4Addr,
    /// Number of echo requests.
    #[arg(short = 'c', default_value_t = 3)]
    count: u16,
    /// Payload size in bytes.
    #[arg(short = 's', default_value_t = 56)]
    size: usize,
    /// Seconds between requests.
    #[arg(short = 'i', default_value_t = 1.0)]
    interval: f64,
}

/// Outcome of a ping run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PingSummary {
    /// Requests sent.
    pub sent: u16,
    /// Replies received.
    pub received: u16,
}

/// Pings `host` `count` times through a running stack, printing like ping(8).
pub fn ping(
    rt: &Runtime,
    host: Ipv4Addr,
    count: u16,
    size: usize,
    interval: StdDuration,
) -> Result<PingSummary, String> {
    let h = rt.lock().engine().ping_open().map_err(|e| e.to_string())?;
    let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut summary = PingSummary::default();
    println!("PING {host} {size} data bytes");
    for seq in 1..=count {
        let sent_at = std::time::Instant::now();
        {
            let mut g = rt.lock();
            let now = g.now();
            match g.engine().ping_send(now, h, host, seq, &payload) {
                Ok(()) => summary.sent += 1,
                Err(e) => println!("ping: {e}"),
            }
        }
        let deadline = sent_at
            + interval
                .max(StdDuration::from_millis(10))
                .max(if seq == count {
                    StdDuration::from_secs(4)
                } else {
                    StdDuration::ZERO
                });
        let mut g = rt.lock();
        loop {
            match g.engine().ping_recv(h) {
                Ok(r) if r.seq == seq => {
                    summary.received += 1;
                    println!(
                        "{} bytes from {}: icmp_seq={} ttl={} time={:.3} ms",
                        r.payload.len() + 8,
                        r.from,
                        r.seq,
                        r.ttl,
                        sent_at.elapsed().as_secs_f64() * 1000.0
                    );
                    break;
                }
                Ok(_) => continue,
                Err(NetError::WouldBlock) => {}
                Err(NetError::HostUnreachable) => {
                    println!(
                        "From {}: icmp_seq={seq} Destination Host Unreachable",
                        g.engine_ref().config().addr
                    );
                    break;
                }
                Err(e) => {
                    println!("icmp_seq={seq}: {e}");
                    break;
                }
            }
            if g.wait(h, Some(deadline)) != WaitOutcome::Woken {
                break;
            }
        }
        drop(g);
        let next = sent_at + interval;
        if seq < count {
            std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
        }
    }
    let _ = rt.lock().engine().close(stack::Instant::ZERO, h);
    let loss = 100.0 * (summary.sent - summary.received.min(summary.sent)) as f64
        / summary.sent.max(1) as f64;
    println!(
        "--- {host} ping statistics ---\n{} packets transmitted, {} received, {loss:.0}% packet loss",
        summary.sent, summary.received
    );
    Ok(summary)
}

/// Runs `netstack ping`.
pub fn run(o: PingOpts) -> Result<(), String> {
    let config = o.iface.config()?;
    let device = o.iface.device()?;
    let engine = Engine::new(config).map_err(|e| e.to_string())?;
    let mut rt = Runtime::start_with_observer(engine, device, o.iface.observer("ping"))
        .map_err(|e| format!("cannot start the driver thread: {e}"))?;
    let interval = StdDuration::from_secs_f64(o.interval.clamp(0.001, 3600.0));
    let s = ping(&rt, o.host, o.count, o.size, interval)?;
    rt.stop();
    if s.received == 0 {
        return Err("no reply".into());
    }
    Ok(())
}
