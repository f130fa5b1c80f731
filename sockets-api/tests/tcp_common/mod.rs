//! Fixtures for the TCP tests: listeners, connected pairs, and bounded waits.
//! Nothing here asserts that anything is fast: timeouts only bound waits that must
//! end, so a broken wake-up fails a test instead of hanging it.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use sockets::*;

use crate::common::{A, B};

pub const ANY: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
/// Bounds a wait that must end.
pub const HANG: Duration = Duration::from_secs(20);

/// Runs `f` on a thread; returns a receiver of its result.
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// Gives a spawned thread a moment to reach its blocking call. Correctness does
/// not depend on it.
pub fn let_it_block() {
    thread::sleep(Duration::from_millis(30));
}

/// A new TCP socket.
pub fn tcp(s: &Stack) -> i32 {
    s.socket(AF_INET, SOCK_STREAM, 0).expect("socket")
}

/// Receive and send timeouts of 10 s on `fd`: a wait that must end fails the test
/// with EAGAIN instead of hanging it.
pub fn safety(s: &Stack, fd: i32) {
    let tv = TimeVal::from_duration(Duration::from_secs(10));
    s.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv)
        .expect("SO_RCVTIMEO");
    s.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv)
        .expect("SO_SNDTIMEO");
}

/// A listening socket on `ip:port` (port 0: ephemeral) with `backlog`.
pub fn listener_on(s: &Stack, port: u16, backlog: i32) -> i32 {
    let l = tcp(s);
    s.bind(l, &SockAddrIn::new(ANY, port)).expect("bind");
    s.listen(l, backlog).expect("listen");
    safety(s, l);
    l
}

/// The port a socket is bound to.
pub fn port(s: &Stack, fd: i32) -> u16 {
    s.getsockname(fd).expect("getsockname").port()
}

/// A connection from A to B: (client on `a`, accepted socket on `b`, listener on
/// `b`). Both connected sockets have the safety timeouts.
pub fn connected(a: &Stack, b: &Stack) -> (i32, i32, i32) {
    let l = listener_on(b, 0, 5);
    let (c, s) = connect_to(a, b, l);
    (c, s, l)
}

/// Connects a new socket of `a` to listener `l` of `b` and accepts it.
pub fn connect_to(a: &Stack, b: &Stack, l: i32) -> (i32, i32) {
    let c = tcp(a);
    safety(a, c);
    a.connect(c, &SockAddrIn::new(B, port(b, l)))
        .expect("connect");
    let (s, from) = b.accept(l).expect("accept");
    assert_eq!(from.ip(), A);
    assert_eq!(from.port(), port(a, c));
    safety(b, s);
    (c, s)
}

/// Waits until everything `fd` sent was acknowledged (so it sits in the peer's
/// receive buffer).
pub fn wait_acked(s: &Stack, fd: i32) {
    let end = Instant::now() + HANG;
    loop {
        let mut outq = 0;
        s.ioctl(fd, SIOCOUTQ, &mut outq).expect("SIOCOUTQ");
        if outq == 0 {
            return;
        }
        assert!(Instant::now() < end, "data never acknowledged");
        thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until `cond` holds (checked every few milliseconds), failing after HANG.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + HANG;
    while !cond() {
        assert!(Instant::now() < end, "never happened: {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

/// Reads until end of file.
pub fn read_to_end(s: &Stack, fd: i32) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(fd, &mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read: {e:?} after {} bytes", all.len()),
        }
    }
}

/// The poll bits of `fd` now.
pub fn revents(s: &Stack, fd: i32, events: i16) -> i16 {
    let mut p = [PollFd::new(fd, events)];
    s.poll(&mut p, 0).expect("poll");
    p[0].revents
}

/// A deterministic byte pattern.
pub fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
