//! What TIME-WAIT costs: 10,000 connections closed by our side, one after
//! another, each left in TIME-WAIT, measured by counting the heap this process
//! holds (a counting global allocator; this test binary only).

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicIsize, Ordering};

use stack::sim::SimPair;
use stack::tcp::{RecvFlags, State};
use stack::{Duration, StackConfig, Stat};

struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a
// counter of bytes held is kept beside it.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const CONNECTIONS: u16 = 10_000;
/// The target: bytes of state per connection in TIME-WAIT.
const PER_CONNECTION: isize = 200;

/// One connection from A's port `port` to B's listener `l`: a few bytes each
/// way, then B closes first (so B's side ends in TIME-WAIT) and A follows.
fn one_connection(p: &mut SimPair, l: stack::SocketHandle, port: u16) {
    let c = p.a.tcp_open().unwrap();
    p.a.tcp_bind(c, SocketAddrV4::new(A, port)).unwrap();
    let _ = p.a.tcp_connect(p.now(), c, SocketAddrV4::new(B, 8000));
    let mut s = None;
    assert!(p.run_until(Duration::from_secs(5), |p| {
        if s.is_none() {
            s = p.b.tcp_accept(p.now(), l).ok().map(|(h, _)| h);
        }
        s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
    }));
    let s = s.unwrap();
    p.b.close(p.now(), s).unwrap();
    let mut buf = [0u8; 8];
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.a.tcp_recv(p.now(), c, &mut buf, RecvFlags::default()) == Ok(0)
    }));
    p.a.close(p.now(), c).unwrap();
    p.run_for(Duration::from_millis(5));
}

#[test]
fn ten_thousand_connections_in_time_wait_take_at_most_200_bytes_each() {
    let mut config = StackConfig::new(B, 24);
    config.deterministic = true;
    let mut p = SimPair::new(StackConfig::new(A, 24), config, Duration::from_micros(50));
    let l = p.b.tcp_open().unwrap();
    p.b.tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 8000))
        .unwrap();
    p.b.tcp_listen(l, 16).unwrap();
    // Warm up: one connection through, and gone, so every table and pool has
    // its working size.
    one_connection(&mut p, l, 9999);
    p.run_for(Duration::from_secs(61));
    assert_eq!(p.b.tcp_time_wait_count(), 0);
    let before = HELD.load(Ordering::Relaxed);
    for i in 0..CONNECTIONS {
        one_connection(&mut p, l, 10_000 + i);
    }
    let held = HELD.load(Ordering::Relaxed) - before;
    assert_eq!(p.b.tcp_time_wait_count(), usize::from(CONNECTIONS));
    assert_eq!(p.b.socket_count(), 1, "only the listener is a socket");
    assert_eq!(p.a.socket_count(), 0);
    let per = held / CONNECTIONS as isize;
    eprintln!("TIME-WAIT: {held} bytes for {CONNECTIONS} connections, {per} bytes each");
    assert!(
        per <= PER_CONNECTION,
        "{per} bytes per connection in TIME-WAIT"
    );
    // And they all end after 2 MSL.
    p.run_for(Duration::from_secs(61));
    assert_eq!(p.b.tcp_time_wait_count(), 0);
    assert_eq!(
        p.b.counters().stat(Stat::TcpTimeWaitEntered),
        u64::from(CONNECTIONS) + 1
    );
}
