//! `netstack demo`: the embedded default. Two stacks on an in-memory link (no root,
//! no TAP) run the seed documents' examples with a transcript of every frame.

use std::net::Ipv4Addr;
use std::time::Duration as StdDuration;

use clap::Args;
use stack::device::memory::MemoryLink;
use stack::runtime::Runtime;
use stack::{Engine, StackConfig};

use crate::cmd::ping::ping;

/// Options of `netstack demo`.
#[derive(Args, Debug)]
pub struct DemoOpts {
    /// Do not print the frame transcript.
    #[arg(long, short)]
    quiet: bool,
    /// Seed of both stacks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Host A's address on the demo link.
pub const HOST_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Host B's address on the demo link.
pub const HOST_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Two runtimes on one in-memory link, printing frames as host A and B send them.
pub fn two_hosts(seed: u64, transcript: bool) -> Result<(Runtime, Runtime), String> {
    let (la, lb) = MemoryLink::pair(1500);
    let mut ca = StackConfig::new(HOST_A, 24);
    let mut cb = StackConfig::new(HOST_B, 24);
    ca.seed = seed;
    cb.seed = seed.wrapping_add(1);
    let epoch = std::time::Instant::now();
    let obs = |label| transcript.then(|| crate::iface::printer_since(label, false, epoch));
    let a = Runtime::start_with_observer(Engine::new(ca).map_err(|e| e.to_string())?, la, obs("A"))
        .map_err(|e| e.to_string())?;
    let b = Runtime::start_with_observer(Engine::new(cb).map_err(|e| e.to_string())?, lb, obs("B"))
        .map_err(|e| e.to_string())?;
    Ok((a, b))
}

fn banner(title: &str) {
    println!("\n=== {title} ===");
}

/// Runs the demo.
pub fn run(o: DemoOpts) -> Result<(), String> {
    println!("netstack demo: host A {HOST_A} and host B {HOST_B} on an in-memory Ethernet link.");
    println!("Each line of the transcript is a frame: time, sending host, '>', what it carries.");
    let (mut a, mut b) = two_hosts(o.seed, !o.quiet)?;

    banner("1. ping: A pings B (ARP resolves B's MAC first), then B pings A");
    let s1 = ping(&a, HOST_B, 3, 56, StdDuration::from_millis(200))?;
    let s2 = ping(&b, HOST_A, 1, 56, StdDuration::from_millis(200))?;

    banner("2. a fragmented ping: 4000 bytes do not fit a 1500-byte MTU");
    let s3 = ping(&a, HOST_B, 1, 4000, StdDuration::from_millis(200))?;

    a.stop();
    b.stop();
    banner("counters of host A");
    print!("{}", a.lock().engine_ref().counters());
    banner("counters of host B");
    print!("{}", b.lock().engine_ref().counters());
    let all_ok = [s1, s2, s3]
        .iter()
        .all(|s| s.received == s.sent && s.sent > 0);
    if !all_ok {
        return Err("some pings went unanswered".into());
    }
    println!("\ndemo finished: every request was answered.");
    Ok(())
}
