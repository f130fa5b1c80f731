//! Fixtures shared by the integration tests: two stacks on an in-memory link.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::Duration;

use sockets::*;

pub const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const NOBODY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 99);

/// Host A (10.0.0.1) and host B (10.0.0.2) on one link.
pub fn pair() -> (Stack, Stack) {
    Stack::memory_pair(StackConfig::new(A, 24), StackConfig::new(B, 24))
}

/// A pair whose configurations were adjusted by `f` (applied to both).
pub fn pair_with(f: impl Fn(&mut StackConfig)) -> (Stack, Stack) {
    let mut a = StackConfig::new(A, 24);
    let mut b = StackConfig::new(B, 24);
    f(&mut a);
    f(&mut b);
    Stack::memory_pair(a, b)
}

/// A new UDP socket.
pub fn udp(s: &Stack) -> i32 {
    s.socket(AF_INET, SOCK_DGRAM, 0).expect("socket")
}

/// A UDP socket bound to `ip:port`.
pub fn bound(s: &Stack, ip: Ipv4Addr, port: u16) -> i32 {
    let fd = udp(s);
    s.bind(fd, &SockAddrIn::new(ip, port)).expect("bind");
    fd
}

/// The port a socket is bound to.
pub fn port_of(s: &Stack, fd: i32) -> u16 {
    ntohs(s.getsockname(fd).expect("getsockname").sin_port)
}

/// A receive timeout so a test that would hang fails with EAGAIN instead. Never
/// used to assert that something is fast: only to bound a wait that must succeed.
pub fn safety_timeout(s: &Stack, fd: i32) {
    let tv = TimeVal::from_duration(Duration::from_secs(10));
    s.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv)
        .expect("SO_RCVTIMEO");
}

/// Sends `msg` from a fresh socket on `from` to `to`, and closes it.
pub fn send_once(from: &Stack, msg: &[u8], to: SockAddrIn) {
    let fd = udp(from);
    from.sendto(fd, msg, 0, &to).expect("sendto");
    from.close(fd).expect("close");
}

/// A full round trip on a fresh pair of sockets: proves a stack still works.
pub fn assert_exchange_works(a: &Stack, b: &Stack) {
    let rx = bound(b, Ipv4Addr::UNSPECIFIED, 0);
    safety_timeout(b, rx);
    let port = port_of(b, rx);
    let tx = udp(a);
    a.sendto(tx, b"still alive", 0, &SockAddrIn::new(B, port))
        .expect("sendto");
    let mut buf = [0u8; 32];
    let (n, from) = b.recvfrom(rx, &mut buf, 0).expect("recvfrom");
    assert_eq!(&buf[..n], b"still alive");
    assert_eq!(from.ip(), A);
    assert_eq!(ntohs(from.sin_port), port_of(a, tx));
    a.close(tx).unwrap();
    b.close(rx).unwrap();
}
