//! UDP interop with the Linux kernel over a TAP in a private namespace: both
//! directions, broadcast, sizes around the MTU and fragmented, ICMP port unreachable
//! both ways. Skipped without root unless NETSTACK_REQUIRE_TAP=1.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket as KernelUdp};
use std::time::Duration;

use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions, KERNEL_ADDR, STACK_ADDR};
use sockets::net::UdpSocket;

const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn kernel_socket(fx: &TapFixture, addr: SocketAddrV4) -> KernelUdp {
    let s = fx.ns.run(|| KernelUdp::bind(addr)).expect("kernel socket");
    s.set_read_timeout(WAIT).unwrap();
    s
}

fn payload(n: usize, salt: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect()
}

#[test]
fn linux_sends_to_us_and_we_answer() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let ours = UdpSocket::bind(&fx.stack, "0.0.0.0:7000").unwrap();
    ours.set_read_timeout(WAIT).unwrap();
    let kernel = kernel_socket(&fx, SocketAddrV4::new(KERNEL_ADDR, 0));
    kernel
        .send_to(b"question", SocketAddrV4::new(STACK_ADDR, 7000))
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = ours.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"question");
    assert_eq!(from, kernel.local_addr().unwrap());
    ours.send_to(b"answer", from).unwrap();
    let (n, from) = kernel.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"answer");
    assert_eq!(from, SocketAddr::from(SocketAddrV4::new(STACK_ADDR, 7000)));
}

#[test]
fn datagrams_of_every_size_arrive_intact_both_ways() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let ours = UdpSocket::bind(&fx.stack, "0.0.0.0:7001").unwrap();
    ours.set_read_timeout(WAIT).unwrap();
    let kernel = kernel_socket(&fx, SocketAddrV4::new(KERNEL_ADDR, 7001));
    let mut buf = vec![0u8; 70000];
    for (i, size) in [1usize, 1472, 1473, 8000, 65507].into_iter().enumerate() {
        let data = payload(size, i as u8);
        kernel
            .send_to(&data, SocketAddrV4::new(STACK_ADDR, 7001))
            .unwrap();
        let (n, _) = ours.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..], "Linux to us, {size} bytes");
        ours.send_to(&data, SocketAddrV4::new(KERNEL_ADDR, 7001))
            .unwrap();
        let (n, _) = kernel.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..], "us to Linux, {size} bytes");
    }
    let c = fx.counters();
    assert!(c.stat(stack::Stat::Reassembled) >= 3, "{c:?}");
    assert!(c.stat(stack::Stat::FragsSent) >= 6, "{c:?}");
}

#[test]
fn broadcast_both_ways() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    // Linux broadcasts on the link; our wildcard-bound socket hears it.
    let ours = UdpSocket::bind(&fx.stack, "0.0.0.0:7002").unwrap();
    ours.set_read_timeout(WAIT).unwrap();
    let kernel = kernel_socket(&fx, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7003));
    kernel.set_broadcast(true).unwrap();
    kernel
        .send_to(b"to all from linux", "10.0.0.255:7002")
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = ours.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to all from linux");
    assert_eq!(from.ip(), KERNEL_ADDR);
    // We broadcast: refused without SO_BROADCAST, then heard by Linux.
    let err = ours.send_to(b"x", "255.255.255.255:7003").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    ours.set_broadcast(true).unwrap();
    ours.send_to(b"to all from us", "255.255.255.255:7003")
        .unwrap();
    let (n, from) = kernel.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to all from us");
    assert_eq!(from, SocketAddr::from(SocketAddrV4::new(STACK_ADDR, 7002)));
    ours.send_to(b"directed", "10.0.0.255:7003").unwrap();
    let (n, _) = kernel.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"directed");
}

#[test]
fn our_closed_port_gives_linux_connection_refused() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let kernel = kernel_socket(&fx, SocketAddrV4::new(KERNEL_ADDR, 0));
    kernel.connect(SocketAddrV4::new(STACK_ADDR, 9999)).unwrap();
    kernel.send(b"anyone there?").unwrap();
    let mut buf = [0u8; 16];
    let err = kernel.recv(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(fx.counters().stat(stack::Stat::IcmpErrorsSent), 1);
}

#[test]
fn linux_closed_port_gives_our_connected_socket_connection_refused() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let ours = UdpSocket::bind(&fx.stack, "0.0.0.0:0").unwrap();
    ours.set_read_timeout(WAIT).unwrap();
    ours.connect(SocketAddrV4::new(KERNEL_ADDR, 9998)).unwrap();
    ours.send(b"hello?").unwrap();
    let mut buf = [0u8; 16];
    let err = ours.recv(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(fx.counters().stat(stack::Stat::IcmpErrorsReceived), 1);
}
