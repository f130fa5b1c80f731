//! The std face: `sockets::net::UdpSocket` behaves like `std::net::UdpSocket`.

mod common;

use std::io::ErrorKind;
use std::net::{SocketAddr, SocketAddrV4};
use std::thread;
use std::time::Duration;

use common::*;
use sockets::net::UdpSocket;
use sockets::{Errno, SOCK_DGRAM, SOL_SOCKET, SO_TYPE};

fn v4(ip: std::net::Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

#[test]
fn exchange_with_send_to_recv_from_and_peek() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b, "0.0.0.0:0").unwrap();
    let port = server.local_addr().unwrap().port();
    assert!(port >= 32768);
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(
        server.read_timeout().unwrap(),
        Some(Duration::from_secs(10))
    );
    let client = UdpSocket::bind(&a, (std::net::Ipv4Addr::UNSPECIFIED, 0)).unwrap();
    assert_eq!(client.send_to(b"ping", v4(B, port)).unwrap(), 4);
    assert_eq!(
        client
            .send_to(b"ping again", format!("10.0.0.2:{port}"))
            .unwrap(),
        10
    );
    let mut buf = [0u8; 32];
    let (n, from) = server.peek_from(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from),
        (
            &b"ping"[..],
            client.local_addr().map(|a| v4(A, a.port())).unwrap()
        )
    );
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
    assert_eq!(server.peek(&mut buf).unwrap(), 10);
    assert_eq!(server.recv(&mut buf).unwrap(), 10);
    server.send_to(b"pong", from).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"pong"[..], v4(B, port)));
}

#[test]
fn connected_socket_sends_and_receives_and_reports_refusal() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b, "10.0.0.2:6000").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let client = UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    assert_eq!(
        client.peer_addr().unwrap_err().kind(),
        ErrorKind::NotConnected
    );
    assert_eq!(
        client.send(b"x").unwrap_err().raw_os_error(),
        Some(Errno::EDESTADDRREQ.raw())
    );
    client.connect("10.0.0.2:6000").unwrap();
    assert_eq!(client.peer_addr().unwrap(), v4(B, 6000));
    assert_eq!(client.local_addr().unwrap().ip(), A);
    client.send(b"hello").unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    assert_eq!(from, client.local_addr().unwrap());

    // Refused: a connected socket learns from the ICMP port unreachable.
    let lonely = UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    lonely
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    lonely.connect(v4(B, 9)).unwrap();
    lonely.send(b"anyone?").unwrap();
    assert_eq!(
        lonely.recv(&mut buf).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    assert!(
        lonely.take_error().unwrap().is_none(),
        "recv took the error"
    );
    lonely.send(b"anyone now?").unwrap();
    // The error is reported once, by whichever call comes first: take_error if it
    // is already there, else the peek that blocks until it comes.
    let e = match lonely.take_error().unwrap() {
        Some(e) => e,
        None => lonely.peek(&mut buf).expect_err("no datagram can arrive"),
    };
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn bind_errors_have_std_kinds() {
    let (_a, b) = pair();
    let first = UdpSocket::bind(&b, "0.0.0.0:6100").unwrap();
    assert_eq!(
        UdpSocket::bind(&b, "10.0.0.2:6100").unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    assert_eq!(
        UdpSocket::bind(&b, "10.0.0.99:0").unwrap_err().kind(),
        ErrorKind::AddrNotAvailable
    );
    assert_eq!(
        UdpSocket::bind(&b, "0.0.0.0:80").unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        UdpSocket::bind(&b, "[::1]:0").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // Failed binds did not leak descriptors.
    assert_eq!(b.open_descriptors(), 1);
    drop(first);
    assert_eq!(b.open_descriptors(), 0, "drop closes");
    UdpSocket::bind(&b, "0.0.0.0:6100").unwrap();
}

#[test]
fn options_and_modes() {
    let (a, _b) = pair();
    let s = UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    assert!(!s.broadcast().unwrap());
    assert_eq!(
        s.send_to(b"x", "255.255.255.255:9").unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    s.set_broadcast(true).unwrap();
    assert!(s.broadcast().unwrap());
    s.send_to(b"x", "255.255.255.255:9").unwrap();
    assert_eq!(s.ttl().unwrap(), 64);
    s.set_ttl(7).unwrap();
    assert_eq!(s.ttl().unwrap(), 7);
    assert_eq!(s.set_ttl(0).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(
        s.set_ttl(u32::MAX).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(s.read_timeout().unwrap(), None);
    assert_eq!(
        s.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    s.set_write_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    assert_eq!(
        s.write_timeout().unwrap(),
        Some(Duration::from_millis(1500))
    );
    s.set_write_timeout(None).unwrap();
    assert_eq!(s.write_timeout().unwrap(), None);

    let mut buf = [0u8; 4];
    s.set_nonblocking(true).unwrap();
    assert_eq!(
        s.recv_from(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(s.recv(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn try_clone_shares_the_socket_and_raw_fds_convert() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b, "0.0.0.0:6200").unwrap();
    let clone = server.try_clone().unwrap();
    assert_ne!(clone.as_raw_fd(), server.as_raw_fd());
    assert_eq!(clone.local_addr().unwrap(), server.local_addr().unwrap());
    drop(server);
    clone
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let client = UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    client.send_to(b"to the clone", "10.0.0.2:6200").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(clone.recv(&mut buf).unwrap(), 12);

    // into_raw_fd keeps the descriptor open; from_raw_fd takes it back.
    let fd = clone.into_raw_fd();
    let mut ty = 0;
    b.getsockopt(fd, SOL_SOCKET, SO_TYPE, &mut ty).unwrap();
    assert_eq!(ty, SOCK_DGRAM);
    let back = UdpSocket::from_raw_fd(&b, fd).unwrap();
    assert_eq!(
        back.local_addr().unwrap(),
        v4(std::net::Ipv4Addr::UNSPECIFIED, 6200)
    );
    assert_eq!(back.stack().open_descriptors(), 1);
    drop(back);
    assert_eq!(b.open_descriptors(), 0);
    assert_eq!(
        UdpSocket::from_raw_fd(&b, fd).unwrap_err().raw_os_error(),
        Some(Errno::EBADF.raw())
    );
}

#[test]
fn blocking_recv_from_wakes_for_a_sender_thread() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b, "0.0.0.0:6300").unwrap();
    // A clone: the thread must not hold the last handle on stack A, or A would
    // stop when the thread ends, possibly before ARP let the datagram out.
    let a2 = a.clone();
    let sender = thread::spawn(move || {
        let client = UdpSocket::bind(&a2, "0.0.0.0:0").unwrap();
        client.send_to(b"across threads", "10.0.0.2:6300").unwrap();
    });
    server
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 32];
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"across threads");
    assert_eq!(from.ip(), A);
    sender.join().unwrap();
}
