//! Tests of the runtime: its secrets and its trace sink.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::config::StackConfig;
use crate::device::memory::MemoryLink;
use crate::error::NetError;
use crate::time::Duration;
use crate::wire::EthernetAddress;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// RFC 6528: under a runtime, the ISN of a 4-tuple is not a function of the
/// configuration: two runtimes with the same default configuration choose
/// different ones (the secret comes from the OS); `deterministic` keeps them
/// reproducible.
#[test]
fn runtimes_draw_their_secrets_from_the_os_unless_deterministic() {
    let isn = |deterministic: bool| {
        let mut cfg = StackConfig::new(A, 24);
        cfg.deterministic = deterministic;
        let (la, mut lb) = MemoryLink::pair(1500);
        let rt = Runtime::start(Engine::new(cfg).unwrap(), la).unwrap();
        {
            let mut g = rt.lock();
            let now = g.now();
            let e = g.engine();
            e.learn_neighbour(now, B, EthernetAddress([2, 0, 0, 0, 0, 0x42]));
            let s = e.tcp_open().unwrap();
            e.tcp_bind(s, SocketAddrV4::new(A, 40000)).unwrap();
            assert_eq!(
                e.tcp_connect(now, s, SocketAddrV4::new(B, 80)),
                Err(NetError::InProgress)
            );
        }
        // The SYN arrives on the other end of the link.
        let mut buf = [0u8; 1600];
        // At most 1000 waits of 10 ms: the driver sends it at once.
        for _ in 0..1000 {
            if let Some(n) = lb.receive(&mut buf, Instant::ZERO).unwrap() {
                let f = &buf[..n];
                if f.len() >= 14 + 20 + 20 && f[14 + 9] == 6 {
                    return u32::from_be_bytes([f[38], f[39], f[40], f[41]]);
                }
            }
            lb.wait(Some(Duration::from_millis(10))).unwrap();
        }
        panic!("no SYN on the link");
    };
    // RFC 6528's ISN is M + F(4-tuple, key), M a 4 µs clock, so two runs a few
    // milliseconds apart differ by little with the same key, and by anything
    // with different keys (three draws all within 2^20 of each other would
    // happen about once in four million runs).
    let near = |a: u32, b: u32| a.wrapping_sub(b).min(b.wrapping_sub(a)) < 1 << 20;
    assert!(near(isn(true), isn(true)));
    let (x, y, z) = (isn(false), isn(false), isn(false));
    assert!(!(near(x, y) && near(y, z) && near(x, z)), "{x} {y} {z}");
}

/// With a trace sink, the driver hands over each connection change: a SYN
/// sent makes the connection's first event (SYN-SENT, RTO one second), and the
/// sink gets it outside the engine's lock.
#[test]
fn the_driver_hands_the_connection_trace_to_its_sink() {
    let events: Arc<Mutex<Vec<TraceEvent>>> = Arc::default();
    let seen = events.clone();
    let hooks = Hooks {
        observer: None,
        trace: Some(Box::new(move |e: &[TraceEvent]| {
            seen.lock().extend_from_slice(e)
        })),
    };
    let (la, _lb) = MemoryLink::pair(1500);
    let mut rt =
        Runtime::start_with_hooks(Engine::new(StackConfig::new(A, 24)).unwrap(), la, hooks)
            .unwrap();
    {
        let mut g = rt.lock();
        let now = g.now();
        let e = g.engine();
        e.learn_neighbour(now, B, EthernetAddress([2, 0, 0, 0, 0, 0x42]));
        let s = e.tcp_open().unwrap();
        let _ = e.tcp_connect(now, s, SocketAddrV4::new(B, 80));
    }
    // At most 1000 waits of 10 ms: the timer of the connection's RTO or
    // the stop hands the events over.
    for _ in 0..1000 {
        if !events.lock().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    rt.stop();
    let events = events.lock();
    let first = events.first().expect("an event for the connection");
    assert_eq!(first.remote, SocketAddrV4::new(B, 80));
    assert_eq!(first.point.state, crate::tcp::State::SynSent);
    assert_eq!(first.point.rto, Duration::from_secs(1));
}
