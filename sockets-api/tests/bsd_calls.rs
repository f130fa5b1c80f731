//! The BSD face without threads: exchanges, binding rules, options, and every kind
//! of bad input. Each test names the behaviour it pins.

// The tests build addresses field by field, as the C programs they mirror do.
#![allow(clippy::field_reassign_with_default)]

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::*;
use sockets::*;

const ANY: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

// ---------------------------------------------------------------- exchange

#[test]
fn datagrams_cross_between_two_stacks_with_boundaries_and_addresses() {
    let (a, b) = pair();
    // The 4.4BSD tutorial's reader: wildcard address, port 0, getsockname.
    let rx = b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    assert_eq!(
        rx, 3,
        "the first descriptor is 3, after stdin/stdout/stderr"
    );
    let mut name = SockAddrIn::default();
    name.sin_family = AF_INET as u16;
    name.sin_addr.s_addr = htonl(INADDR_ANY);
    name.sin_port = 0;
    b.bind(rx, &name).unwrap();
    let name = b.getsockname(rx).unwrap();
    let port = ntohs(name.sin_port);
    assert!((32768..=60999).contains(&port), "ephemeral port {port}");
    assert_eq!(name.sin_addr.s_addr, INADDR_ANY);
    assert_eq!(i32::from(name.sin_family), AF_INET);
    safety_timeout(&b, rx);

    // The tutorial's sender: the destination built by hand in network order.
    let tx = a.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP).unwrap();
    let mut to = SockAddrIn::default();
    to.sin_family = AF_INET as u16;
    to.sin_addr.s_addr = inet_addr("10.0.0.2");
    to.sin_port = htons(port);
    assert_eq!(a.sendto(tx, b"first", 0, &to), Ok(5));
    assert_eq!(a.sendto(tx, b"second, longer", 0, &to), Ok(14));
    assert_eq!(a.sendto(tx, b"", 0, &to), Ok(0));

    // Implicit bind on the first sendto: getsockname shows the ephemeral port.
    let local = a.getsockname(tx).unwrap();
    assert!(ntohs(local.sin_port) >= 32768);

    let mut buf = [0u8; 64];
    let (n, from) = b.recvfrom(rx, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"first");
    assert_eq!(from.ip(), A);
    assert_eq!(from.sin_port, local.sin_port);
    assert_eq!(inet_ntoa(from.sin_addr), "10.0.0.1");
    assert_eq!(b.read(rx, &mut buf), Ok(14));
    assert_eq!(&buf[..14], b"second, longer");
    assert_eq!(
        b.recv(rx, &mut buf, 0),
        Ok(0),
        "an empty datagram reads as 0 bytes"
    );

    // And back, to the address recvfrom reported.
    assert_eq!(b.sendto(rx, b"reply", 0, &from), Ok(5));
    safety_timeout(&a, tx);
    let (n, from_b) = a.recvfrom(tx, &mut buf, 0).unwrap();
    assert_eq!(
        (&buf[..n], from_b),
        (&b"reply"[..], SockAddrIn::new(B, port))
    );
    a.close(tx).unwrap();
    b.close(rx).unwrap();
}

#[test]
fn connected_socket_uses_send_recv_read_write_and_names_its_peer() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7000);
    safety_timeout(&b, rx);
    let c = udp(&a);
    assert_eq!(a.getpeername(c), Err(Errno::ENOTCONN));
    a.connect(c, &SockAddrIn::new(B, 7000)).unwrap();
    assert_eq!(a.getpeername(c), Ok(SockAddrIn::new(B, 7000)));
    // Linux: connecting a wildcard socket gives it the route's source address.
    let local = a.getsockname(c).unwrap();
    assert_eq!(local.ip(), A);
    assert!(local.port() >= 32768);
    assert_eq!(a.write(c, b"via write"), Ok(9));
    assert_eq!(a.send(c, b"via send", 0), Ok(8));
    let mut buf = [0u8; 16];
    let (n, from) = b.recvfrom(rx, &mut buf, 0).unwrap();
    assert_eq!((&buf[..n], from), (&b"via write"[..], local));
    assert_eq!(b.recv(rx, &mut buf, 0), Ok(8));

    // A connected socket hears only its peer: the stranger's datagram, sent
    // first on the same FIFO link, is dropped before the peer's arrives.
    let stranger = bound(&b, ANY, 7001);
    safety_timeout(&a, c);
    b.sendto(stranger, b"stranger", 0, &local).unwrap();
    b.sendto(rx, b"peer", 0, &local).unwrap();
    assert_eq!(a.read(c, &mut buf), Ok(4));
    assert_eq!(&buf[..4], b"peer");
    assert_eq!(a.recv(c, &mut buf, MSG_DONTWAIT), Err(Errno::EWOULDBLOCK));
}

#[test]
fn peek_trunc_and_fionread_see_the_next_datagram() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7100);
    safety_timeout(&b, rx);
    let mut n = -1;
    b.ioctl(rx, FIONREAD, &mut n).unwrap();
    assert_eq!(n, 0, "FIONREAD on an empty queue");
    let tx = udp(&a);
    let long: Vec<u8> = (0..100u8).collect();
    a.sendto(tx, b"12345", 0, &SockAddrIn::new(B, 7100))
        .unwrap();
    a.sendto(tx, &long, 0, &SockAddrIn::new(B, 7100)).unwrap();

    let mut buf = [0u8; 64];
    // MSG_PEEK waits like recv, and leaves the datagram queued.
    assert_eq!(b.recv(rx, &mut buf, MSG_PEEK), Ok(5));
    let (n1, from1) = b.recvfrom(rx, &mut buf, MSG_PEEK).unwrap();
    b.ioctl(rx, FIONREAD, &mut n).unwrap();
    assert_eq!(n, 5, "FIONREAD is the size of the next datagram (Linux)");
    let (n2, from2) = b.recvfrom(rx, &mut buf, 0).unwrap();
    assert_eq!((n1, from1), (n2, from2));
    assert_eq!(&buf[..5], b"12345");

    // The second datagram: its size, then truncation.
    b.recv(rx, &mut buf, MSG_PEEK).unwrap();
    b.ioctl(rx, FIONREAD, &mut n).unwrap();
    assert_eq!(n, 100);
    let mut small = [0u8; 10];
    assert_eq!(
        b.recv(rx, &mut small, MSG_PEEK | MSG_TRUNC),
        Ok(100),
        "MSG_TRUNC gives the real length"
    );
    assert_eq!(&small, &long[..10]);
    assert_eq!(
        b.recv(rx, &mut small, 0),
        Ok(10),
        "without MSG_TRUNC, the bytes copied"
    );
    assert_eq!(&small, &long[..10]);
    assert_eq!(
        b.recv(rx, &mut small, MSG_DONTWAIT),
        Err(Errno::EAGAIN),
        "the rest was discarded"
    );
    b.ioctl(rx, FIONREAD, &mut n).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn datagrams_to_our_own_address_loop_back() {
    let (a, _b) = pair();
    let rx = bound(&a, ANY, 7200);
    safety_timeout(&a, rx);
    let tx = udp(&a);
    a.sendto(tx, b"to myself", 0, &SockAddrIn::new(A, 7200))
        .unwrap();
    let mut lo = SockAddrIn::new(A, 7200);
    lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sendto(tx, b"to lo", 0, &lo).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = a.recvfrom(rx, &mut buf, 0).unwrap();
    assert_eq!((&buf[..n], from.ip()), (&b"to myself"[..], A));
    let (n, from) = a.recvfrom(rx, &mut buf, 0).unwrap();
    assert_eq!((&buf[..n], from.ip()), (&b"to lo"[..], Ipv4Addr::LOCALHOST));
}

// ---------------------------------------------------------------- binding

#[test]
fn wildcard_and_specific_bindings_conflict_without_reuseaddr() {
    let (_a, b) = pair();
    let wild = bound(&b, ANY, 8000);
    let s = udp(&b);
    assert_eq!(b.bind(s, &SockAddrIn::new(B, 8000)), Err(Errno::EADDRINUSE));
    assert_eq!(
        b.bind(s, &SockAddrIn::new(ANY, 8000)),
        Err(Errno::EADDRINUSE)
    );
    // A failed bind leaves the socket unbound: it can bind elsewhere.
    b.bind(s, &SockAddrIn::new(B, 8001)).unwrap();
    assert_eq!(
        b.bind(s, &SockAddrIn::new(B, 8002)),
        Err(Errno::EINVAL),
        "already bound"
    );
    let t = udp(&b);
    assert_eq!(
        b.bind(t, &SockAddrIn::new(ANY, 8001)),
        Err(Errno::EADDRINUSE),
        "wildcard over specific"
    );
    // Different specific addresses do not overlap.
    let lo = udp(&b);
    b.bind(lo, &SockAddrIn::new(Ipv4Addr::LOCALHOST, 8001))
        .unwrap();
    // Closing frees the port.
    b.close(wild).unwrap();
    b.bind(t, &SockAddrIn::new(B, 8000)).unwrap();
}

#[test]
fn so_reuseaddr_must_be_set_on_both_sockets() {
    let (_a, b) = pair();
    let on = 1i32;
    let first = udp(&b);
    b.setsockopt(first, SOL_SOCKET, SO_REUSEADDR, &on).unwrap();
    b.bind(first, &SockAddrIn::new(ANY, 8100)).unwrap();
    let without = udp(&b);
    assert_eq!(
        b.bind(without, &SockAddrIn::new(B, 8100)),
        Err(Errno::EADDRINUSE)
    );
    let with = udp(&b);
    b.setsockopt(with, SOL_SOCKET, SO_REUSEADDR, &on).unwrap();
    b.bind(with, &SockAddrIn::new(B, 8100)).unwrap();
    let with2 = udp(&b);
    b.setsockopt(with2, SOL_SOCKET, SO_REUSEADDR, &on).unwrap();
    b.bind(with2, &SockAddrIn::new(ANY, 8100)).unwrap();
    // The other order: the first socket did not set it.
    let plain = bound(&b, ANY, 8101);
    let late = udp(&b);
    b.setsockopt(late, SOL_SOCKET, SO_REUSEADDR, &on).unwrap();
    assert_eq!(
        b.bind(late, &SockAddrIn::new(ANY, 8101)),
        Err(Errno::EADDRINUSE)
    );
    b.close(plain).unwrap();
    b.bind(late, &SockAddrIn::new(ANY, 8101)).unwrap();
}

#[test]
fn reserved_ports_need_privilege() {
    let (_a, b) = pair();
    let s = udp(&b);
    assert_eq!(b.bind(s, &SockAddrIn::new(ANY, 80)), Err(Errno::EACCES));
    assert_eq!(b.bind(s, &SockAddrIn::new(ANY, 1023)), Err(Errno::EACCES));
    b.bind(s, &SockAddrIn::new(ANY, 1024)).unwrap();
    let (_pa, pb) = pair_with(|c| c.ports.privileged = true);
    let s = udp(&pb);
    pb.bind(s, &SockAddrIn::new(ANY, 80)).unwrap();
    assert_eq!(port_of(&pb, s), 80);
}

#[test]
fn foreign_addresses_cannot_be_bound() {
    let (_a, b) = pair();
    let s = udp(&b);
    assert_eq!(
        b.bind(s, &SockAddrIn::new(NOBODY, 9000)),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(
        b.bind(s, &SockAddrIn::new(A, 9000)),
        Err(Errno::EADDRNOTAVAIL),
        "the other host's"
    );
    b.bind(s, &SockAddrIn::new(B, 9000)).unwrap();
    let lo = udp(&b);
    b.bind(lo, &SockAddrIn::new(Ipv4Addr::LOCALHOST, 9000))
        .unwrap();
}

#[test]
fn ephemeral_exhaustion_is_eaddrinuse_for_bind_and_eagain_for_implicit_bind() {
    let (_a, b) = pair_with(|c| {
        c.ports.ephemeral_first = 50000;
        c.ports.ephemeral_last = 50001;
    });
    let s1 = bound(&b, ANY, 0);
    let s2 = bound(&b, ANY, 0);
    let mut ports = [port_of(&b, s1), port_of(&b, s2)];
    ports.sort();
    assert_eq!(ports, [50000, 50001]);
    let s3 = udp(&b);
    assert_eq!(b.bind(s3, &SockAddrIn::new(ANY, 0)), Err(Errno::EADDRINUSE));
    assert_eq!(
        b.sendto(s3, b"x", 0, &SockAddrIn::new(A, 9)),
        Err(Errno::EAGAIN)
    );
    assert_eq!(b.connect(s3, &SockAddrIn::new(A, 9)), Err(Errno::EAGAIN));
    assert_eq!(b.getsockname(s3).unwrap().port(), 0, "still unbound");
    // A specific port outside the range still works, and freeing one helps.
    let s4 = bound(&b, ANY, 6000);
    b.close(s1).unwrap();
    b.connect(s3, &SockAddrIn::new(A, 9)).unwrap();
    assert_eq!(
        port_of(&b, s3),
        ports
            .iter()
            .copied()
            .find(|p| *p != port_of(&b, s2))
            .unwrap()
    );
    b.close(s4).unwrap();
}

#[test]
fn getsockname_reports_implicit_binds_and_unbound_sockets() {
    let (a, _b) = pair();
    let s = udp(&a);
    let name = a.getsockname(s).unwrap();
    assert_eq!(
        (name.ip(), name.port(), i32::from(name.sin_family)),
        (ANY, 0, AF_INET)
    );
    a.sendto(s, b"x", 0, &SockAddrIn::new(B, 9)).unwrap();
    let name = a.getsockname(s).unwrap();
    assert_eq!(
        name.ip(),
        ANY,
        "an implicit bind by sendto keeps the wildcard address"
    );
    assert!(name.port() >= 32768);
    let c = udp(&a);
    a.connect(c, &SockAddrIn::new(B, 9)).unwrap();
    let name = a.getsockname(c).unwrap();
    assert_eq!(name.ip(), A);
    assert!(name.port() >= 32768);
}

// ---------------------------------------------------------------- errors of the peer

#[test]
fn connected_socket_gets_econnrefused_after_sending_to_a_closed_port() {
    let (a, b) = pair();
    let c = udp(&a);
    safety_timeout(&a, c);
    a.connect(c, &SockAddrIn::new(B, 9)).unwrap();
    a.send(c, b"anyone?", 0).unwrap();
    let mut buf = [0u8; 8];
    // The ICMP port unreachable wakes the blocked recv with the error, once.
    assert_eq!(a.recv(c, &mut buf, 0), Err(Errno::ECONNREFUSED));
    assert_eq!(a.recv(c, &mut buf, MSG_DONTWAIT), Err(Errno::EWOULDBLOCK));

    // Again, reading it through SO_ERROR this time.
    a.send(c, b"still nobody?", 0).unwrap();
    let mut p = [PollFd::new(c, POLLIN)];
    assert_eq!(a.poll(&mut p, 10_000), Ok(1));
    assert_eq!(p[0].revents & POLLERR, POLLERR);
    let mut err = 0i32;
    assert_eq!(a.getsockopt(c, SOL_SOCKET, SO_ERROR, &mut err), Ok(4));
    assert_eq!(Errno(err), Errno::ECONNREFUSED);
    a.getsockopt(c, SOL_SOCKET, SO_ERROR, &mut err).unwrap();
    assert_eq!(err, 0, "SO_ERROR takes the error");

    // An unconnected socket ignores ICMP errors (Linux). To know that A has seen
    // the ICMP error, follow it with a round trip: A's "ping" reaches B after the
    // datagram that caused the error, and B's "pong" reaches A after the error.
    let u = udp(&a);
    let (pa, pb) = (bound(&a, ANY, 0), bound(&b, ANY, 0));
    safety_timeout(&a, pa);
    safety_timeout(&b, pb);
    a.sendto(u, b"x", 0, &SockAddrIn::new(B, 9)).unwrap();
    a.sendto(pa, b"ping", 0, &SockAddrIn::new(B, port_of(&b, pb)))
        .unwrap();
    let (_, from) = b.recvfrom(pb, &mut buf, 0).unwrap();
    b.sendto(pb, b"pong", 0, &from).unwrap();
    assert_eq!(a.recv(pa, &mut buf, 0), Ok(4));
    assert_eq!(a.recv(u, &mut buf, MSG_DONTWAIT), Err(Errno::EWOULDBLOCK));
    let mut err = 0i32;
    a.getsockopt(u, SOL_SOCKET, SO_ERROR, &mut err).unwrap();
    assert_eq!(err, 0);
}

#[test]
fn broadcast_needs_so_broadcast() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 5353);
    safety_timeout(&b, rx);
    let tx = udp(&a);
    let mut all = SockAddrIn::new(ANY, 5353);
    all.sin_addr.s_addr = htonl(INADDR_BROADCAST);
    assert_eq!(a.sendto(tx, b"hello all", 0, &all), Err(Errno::EACCES));
    let subnet = SockAddrIn::new(Ipv4Addr::new(10, 0, 0, 255), 5353);
    assert_eq!(a.sendto(tx, b"hello net", 0, &subnet), Err(Errno::EACCES));
    let c = udp(&a);
    assert_eq!(a.connect(c, &all), Err(Errno::EACCES));
    let mut on = 0i32;
    a.getsockopt(tx, SOL_SOCKET, SO_BROADCAST, &mut on).unwrap();
    assert_eq!(on, 0);
    a.setsockopt(tx, SOL_SOCKET, SO_BROADCAST, &1i32).unwrap();
    a.getsockopt(tx, SOL_SOCKET, SO_BROADCAST, &mut on).unwrap();
    assert_eq!(on, 1);
    assert_eq!(a.sendto(tx, b"hello all", 0, &all), Ok(9));
    assert_eq!(a.sendto(tx, b"hello net", 0, &subnet), Ok(9));
    let mut buf = [0u8; 16];
    assert_eq!(b.recv(rx, &mut buf, 0), Ok(9));
    assert_eq!(&buf[..9], b"hello all");
    assert_eq!(b.recv(rx, &mut buf, 0), Ok(9));
    assert_eq!(&buf[..9], b"hello net");
}

// ---------------------------------------------------------------- options

#[test]
fn options_round_trip_with_linux_conventions() {
    let (a, _b) = pair();
    let s = udp(&a);
    let mut v = 0i32;
    assert_eq!(a.getsockopt(s, SOL_SOCKET, SO_TYPE, &mut v), Ok(4));
    assert_eq!(v, SOCK_DGRAM);
    a.getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &mut v).unwrap();
    assert_eq!(v, IPPROTO_UDP);
    a.getsockopt(s, SOL_SOCKET, SO_DOMAIN, &mut v).unwrap();
    assert_eq!(v, AF_INET);
    a.getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &mut v).unwrap();
    assert_eq!(v, 0);

    for opt in [SO_REUSEADDR, SO_BROADCAST, SO_KEEPALIVE, SO_OOBINLINE] {
        a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
        assert_eq!(v, 0, "option {opt} starts off");
        a.setsockopt(s, SOL_SOCKET, opt, &7i32).unwrap();
        a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
        assert_eq!(v, 1, "option {opt}: any non-zero value turns it on");
        a.setsockopt(s, SOL_SOCKET, opt, &0i32).unwrap();
        a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
        assert_eq!(v, 0, "option {opt} off again");
    }

    // Linux doubles SO_RCVBUF/SO_SNDBUF "to allow space for bookkeeping overhead".
    for opt in [SO_RCVBUF, SO_SNDBUF] {
        a.setsockopt(s, SOL_SOCKET, opt, &10_000i32).unwrap();
        a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
        assert_eq!(v, 20_000);
        // Negative and huge values are clamped, not refused.
        a.setsockopt(s, SOL_SOCKET, opt, &-1i32).unwrap();
        a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
        assert_eq!(v, 4 * 1024 * 1024, "clamped to the configured maximum");
    }

    let mut l = Linger::default();
    assert_eq!(a.getsockopt(s, SOL_SOCKET, SO_LINGER, &mut l), Ok(8));
    assert_eq!(
        l,
        Linger {
            l_onoff: 0,
            l_linger: 0
        }
    );
    a.setsockopt(
        s,
        SOL_SOCKET,
        SO_LINGER,
        &Linger {
            l_onoff: 1,
            l_linger: 5,
        },
    )
    .unwrap();
    a.getsockopt(s, SOL_SOCKET, SO_LINGER, &mut l).unwrap();
    assert_eq!(
        l,
        Linger {
            l_onoff: 1,
            l_linger: 5
        }
    );

    let mut tv = TimeVal::default();
    for opt in [SO_RCVTIMEO, SO_SNDTIMEO] {
        assert_eq!(a.getsockopt(s, SOL_SOCKET, opt, &mut tv), Ok(16));
        assert_eq!(tv, TimeVal::default());
        a.setsockopt(
            s,
            SOL_SOCKET,
            opt,
            &TimeVal {
                tv_sec: 2,
                tv_usec: 500_000,
            },
        )
        .unwrap();
        a.getsockopt(s, SOL_SOCKET, opt, &mut tv).unwrap();
        assert_eq!(
            tv,
            TimeVal {
                tv_sec: 2,
                tv_usec: 500_000
            }
        );
        a.setsockopt(s, SOL_SOCKET, opt, &TimeVal::default())
            .unwrap();
        a.getsockopt(s, SOL_SOCKET, opt, &mut tv).unwrap();
        assert_eq!(tv, TimeVal::default());
    }

    a.getsockopt(s, IPPROTO_IP, IP_TTL, &mut v).unwrap();
    assert_eq!(v, 64, "the stack's default TTL");
    a.setsockopt(s, IPPROTO_IP, IP_TTL, &5i32).unwrap();
    a.getsockopt(s, IPPROTO_IP, IP_TTL, &mut v).unwrap();
    assert_eq!(v, 5);
    a.setsockopt(s, IPPROTO_IP, IP_TTL, &[9u8]).unwrap();
    a.getsockopt(s, IPPROTO_IP, IP_TTL, &mut v).unwrap();
    assert_eq!(v, 9, "a one-byte IP_TTL is accepted (Linux)");
    let mut one = [0u8; 1];
    assert_eq!(a.getsockopt(s, IPPROTO_IP, IP_TTL, &mut one), Ok(1));
    assert_eq!(one, [9]);
    a.setsockopt(s, IPPROTO_IP, IP_TTL, &-1i32).unwrap();
    a.getsockopt(s, IPPROTO_IP, IP_TTL, &mut v).unwrap();
    assert_eq!(v, 64, "-1 restores the default");
    a.setsockopt(s, IPPROTO_IP, IP_TOS, &0x10i32).unwrap();
    a.getsockopt(s, IPPROTO_IP, IP_TOS, &mut v).unwrap();
    assert_eq!(v, 0x10);

    // getsockopt truncates to the caller's buffer, as the kernel does.
    let mut two = [0xaau8; 2];
    assert_eq!(a.getsockopt(s, SOL_SOCKET, SO_TYPE, &mut two), Ok(2));
    assert_eq!(two, SOCK_DGRAM.to_ne_bytes()[..2]);
    let mut none: [u8; 0] = [];
    assert_eq!(a.getsockopt(s, SOL_SOCKET, SO_TYPE, &mut none), Ok(0));
    // Options still work for sending after all that.
    a.setsockopt(s, IPPROTO_IP, IP_TTL, &1i32).unwrap();
    a.sendto(s, b"ttl 1", 0, &SockAddrIn::new(B, 9)).unwrap();
}

#[test]
fn the_primers_literal_calls_are_accepted() {
    let (a, _b) = pair();
    let s = a.socket(AF_INET, SOCK_STREAM, 0).unwrap();
    // setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (char *)0, 0)
    a.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &[][..]).unwrap();
    let mut on = 0i32;
    a.getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &mut on).unwrap();
    assert_eq!(on, 1);
    // ioctl(s, SIOCSPGRP, &pgrp); SIOCGPGRP reads it back; F_GETOWN too.
    let mut pgrp = -1234;
    a.ioctl(s, SIOCSPGRP, &mut pgrp).unwrap();
    let mut got = 0;
    a.ioctl(s, SIOCGPGRP, &mut got).unwrap();
    assert_eq!(got, -1234);
    assert_eq!(a.fcntl(s, F_GETOWN, 0), Ok(-1234));
    // The old flag names and the reserved-port bound.
    assert_eq!(
        (SOF_OOB, SOF_PREVIEW, SOF_DONTROUTE),
        (MSG_OOB, MSG_PEEK, MSG_DONTROUTE)
    );
    assert_eq!(IPPORT_RESERVED, 1024);
    // The primer's broadcast (5.5): a datagram to INADDR_ANY reaches the network.
    let rx = udp(&_b);
    _b.bind(rx, &SockAddrIn::new(ANY, 2222)).unwrap();
    let tx = udp(&a);
    a.setsockopt(tx, SOL_SOCKET, SO_BROADCAST, &1i32).unwrap();
    a.sendto(tx, b"status", 0, &SockAddrIn::new(ANY, 2222))
        .unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = _b.recvfrom(rx, &mut buf, 0).unwrap();
    assert_eq!((&buf[..n], from.ip()), (&b"status"[..], A));
    // SO_DEBUG is kept; SO_DONTROUTE keeps a datagram to the attached network:
    // with a gateway, an off-link destination is reachable until it is set.
    let (a, _b) = pair_with(|c| {
        if c.addr == A {
            c.gateway = Some(Ipv4Addr::new(10, 0, 0, 254));
        }
    });
    let u = udp(&a);
    let far = SockAddrIn::new(Ipv4Addr::new(192, 168, 7, 7), 9);
    assert_eq!(a.sendto(u, b"x", 0, &far), Ok(1));
    a.setsockopt(u, SOL_SOCKET, SO_DEBUG, &1i32).unwrap();
    let mut dbg = 0i32;
    a.getsockopt(u, SOL_SOCKET, SO_DEBUG, &mut dbg).unwrap();
    assert_eq!(dbg, 1);
    a.setsockopt(u, SOL_SOCKET, SO_DONTROUTE, &[][..]).unwrap();
    assert_eq!(a.sendto(u, b"x", 0, &SockAddrIn::new(B, 9)), Ok(1));
    assert_eq!(a.sendto(u, b"x", 0, &far), Err(Errno::ENETUNREACH));
}

#[test]
fn every_option_with_a_bad_length_or_value_is_einval() {
    let (a, b) = pair();
    let s = udp(&a);
    let short = [1u8, 0, 0];
    for opt in [
        SO_REUSEADDR,
        SO_BROADCAST,
        SO_KEEPALIVE,
        SO_OOBINLINE,
        SO_RCVBUF,
        SO_SNDBUF,
        SO_LINGER,
        SO_RCVTIMEO,
        SO_SNDTIMEO,
    ] {
        assert_eq!(
            a.setsockopt(s, SOL_SOCKET, opt, &short[..]),
            Err(Errno::EINVAL),
            "SOL_SOCKET {opt} with 3 bytes"
        );
        // No value at all is the 4.2BSD primer's form for a flag: "on".
        let flag = [SO_REUSEADDR, SO_BROADCAST, SO_KEEPALIVE, SO_OOBINLINE].contains(&opt);
        assert_eq!(
            a.setsockopt(s, SOL_SOCKET, opt, &[0u8; 0]),
            if flag { Ok(()) } else { Err(Errno::EINVAL) },
            "SOL_SOCKET {opt} with 0 bytes"
        );
        if flag {
            let mut v = 0i32;
            a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
            assert_eq!(v, 1, "SOL_SOCKET {opt} turned on");
        }
    }
    // Structured options need the whole structure.
    assert_eq!(
        a.setsockopt(s, SOL_SOCKET, SO_LINGER, &1i32),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        a.setsockopt(s, SOL_SOCKET, SO_LINGER, &[1u8; 7]),
        Err(Errno::EINVAL)
    );
    for opt in [SO_RCVTIMEO, SO_SNDTIMEO] {
        assert_eq!(a.setsockopt(s, SOL_SOCKET, opt, &1i32), Err(Errno::EINVAL));
        assert_eq!(
            a.setsockopt(s, SOL_SOCKET, opt, &[0u8; 15]),
            Err(Errno::EINVAL)
        );
        // Linux answers EDOM, not EINVAL, for a tv_usec out of range.
        for usec in [-1, 1_000_000] {
            let tv = TimeVal {
                tv_sec: 1,
                tv_usec: usec,
            };
            assert_eq!(a.setsockopt(s, SOL_SOCKET, opt, &tv), Err(Errno::EDOM));
        }
    }
    for ttl in [0i32, 256, -2, i32::MIN] {
        assert_eq!(
            a.setsockopt(s, IPPROTO_IP, IP_TTL, &ttl),
            Err(Errno::EINVAL),
            "IP_TTL {ttl}"
        );
    }
    assert_eq!(
        a.setsockopt(s, IPPROTO_IP, IP_TTL, &[0u8; 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        a.setsockopt(s, IPPROTO_IP, IP_TTL, &[0u8]),
        Err(Errno::EINVAL)
    );
    // Nothing was changed by the refused calls.
    let mut v = 0;
    a.getsockopt(s, IPPROTO_IP, IP_TTL, &mut v).unwrap();
    assert_eq!(v, 64);
    let mut tv = TimeVal::default();
    a.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &mut tv).unwrap();
    assert_eq!(tv, TimeVal::default());

    // Unknown options and levels, get-only options, TCP options on UDP: ENOPROTOOPT.
    for (level, opt) in [
        (SOL_SOCKET, 999),
        (SOL_SOCKET, SO_TYPE),
        (SOL_SOCKET, SO_ERROR),
        (SOL_SOCKET, SO_ACCEPTCONN),
        (IPPROTO_IP, 999),
        (IPPROTO_TCP, TCP_NODELAY),
        (IPPROTO_TCP, TCP_MAXSEG),
        (IPPROTO_UDP, 1),
        (12345, 1),
    ] {
        assert_eq!(
            a.setsockopt(s, level, opt, &1i32),
            Err(Errno::ENOPROTOOPT),
            "set ({level}, {opt})"
        );
    }
    for (level, opt) in [
        (SOL_SOCKET, 999),
        (IPPROTO_IP, 999),
        (IPPROTO_TCP, TCP_NODELAY),
        (12345, 1),
    ] {
        assert_eq!(
            a.getsockopt(s, level, opt, &mut v),
            Err(Errno::ENOPROTOOPT),
            "get ({level}, {opt})"
        );
    }
    assert_exchange_works(&a, &b);
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_descriptors_are_ebadf_everywhere() {
    let (a, b) = pair();
    let closed = udp(&a);
    a.close(closed).unwrap();
    let mut buf = [0u8; 8];
    let to = SockAddrIn::new(B, 9);
    for fd in [closed, -1, i32::MIN, 0, 1, 2, 99, i32::MAX] {
        assert_eq!(a.close(fd), Err(Errno::EBADF), "close({fd})");
        assert_eq!(a.bind(fd, &to), Err(Errno::EBADF), "bind({fd})");
        assert_eq!(
            a.bind_raw(fd, &[]),
            Err(Errno::EBADF),
            "bind_raw({fd}) checks the fd first"
        );
        assert_eq!(a.connect(fd, &to), Err(Errno::EBADF));
        assert_eq!(a.connect_raw(fd, &[]), Err(Errno::EBADF));
        assert_eq!(a.sendto(fd, b"x", 0, &to), Err(Errno::EBADF));
        assert_eq!(a.sendto_raw(fd, b"x", 0, &[]), Err(Errno::EBADF));
        assert_eq!(a.send(fd, b"x", 0), Err(Errno::EBADF));
        assert_eq!(a.write(fd, b"x"), Err(Errno::EBADF));
        assert_eq!(a.recv(fd, &mut buf, 0), Err(Errno::EBADF));
        assert_eq!(a.recvfrom(fd, &mut buf, 0).map(|_| ()), Err(Errno::EBADF));
        assert_eq!(a.read(fd, &mut buf), Err(Errno::EBADF));
        assert_eq!(a.getsockname(fd), Err(Errno::EBADF));
        assert_eq!(a.getpeername(fd), Err(Errno::EBADF));
        assert_eq!(a.shutdown(fd, SHUT_RDWR), Err(Errno::EBADF));
        assert_eq!(a.shutdown(fd, 99), Err(Errno::EBADF), "EBADF before EINVAL");
        assert_eq!(
            a.setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &1i32),
            Err(Errno::EBADF)
        );
        let mut v = 0i32;
        assert_eq!(
            a.getsockopt(fd, SOL_SOCKET, SO_TYPE, &mut v),
            Err(Errno::EBADF)
        );
        assert_eq!(a.fcntl(fd, F_GETFL, 0), Err(Errno::EBADF));
        assert_eq!(a.fcntl(fd, 12345, 0), Err(Errno::EBADF));
        assert_eq!(a.ioctl(fd, FIONREAD, &mut v), Err(Errno::EBADF));
        assert_eq!(a.dup(fd), Err(Errno::EBADF));
        assert_eq!(a.socket_handle(fd), Err(Errno::EBADF));
        if fd >= 0 && fd < FD_SETSIZE as i32 {
            let mut r = FdSet::new();
            FD_SET(fd, &mut r);
            let before = r;
            assert_eq!(
                a.select(fd + 1, Some(&mut r), None, None, Some(Duration::ZERO)),
                Err(Errno::EBADF)
            );
            assert_eq!(r, before, "sets are left alone on error");
        }
        let mut p = [PollFd::new(fd, POLLIN | POLLOUT)];
        let expect = if fd < 0 { 0 } else { POLLNVAL };
        assert_eq!(a.poll(&mut p, 0), Ok(i32::from(expect != 0)), "poll({fd})");
        assert_eq!(p[0].revents, expect);
    }
    assert_eq!(
        errno(),
        Errno::EBADF,
        "errno() holds the last failure of this thread"
    );
    assert_exchange_works(&a, &b);
}

#[test]
fn socket_rejects_what_it_cannot_make() {
    let (a, b) = pair();
    let tcp = a.socket(AF_INET, SOCK_STREAM, 0).unwrap();
    a.close(tcp).unwrap();
    let tcp = a.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    a.close(tcp).unwrap();
    assert_eq!(
        a.socket(AF_INET, SOCK_STREAM, IPPROTO_UDP),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(
        a.socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(
        a.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(a.socket(AF_INET, SOCK_DGRAM, -1), Err(Errno::EINVAL));
    assert_eq!(a.socket(AF_INET, SOCK_DGRAM, 1000), Err(Errno::EINVAL));
    assert_eq!(a.socket(AF_INET6, SOCK_DGRAM, 0), Err(Errno::EAFNOSUPPORT));
    // The UNIX domain lives inside the stack (tests/unix.rs); its raw sockets do not.
    let u = a.socket(AF_UNIX, SOCK_DGRAM, 0).unwrap();
    a.close(u).unwrap();
    assert_eq!(a.socket(AF_UNIX, SOCK_RAW, 0), Err(Errno::ESOCKTNOSUPPORT));
    assert_eq!(a.socket(AF_UNSPEC, SOCK_DGRAM, 0), Err(Errno::EAFNOSUPPORT));
    assert_eq!(a.socket(-1, SOCK_DGRAM, 0), Err(Errno::EAFNOSUPPORT));
    assert_eq!(a.socket(AF_INET, SOCK_RAW, IPPROTO_UDP), Err(Errno::EPERM));
    assert_eq!(
        a.socket(AF_INET, SOCK_SEQPACKET, 0),
        Err(Errno::ESOCKTNOSUPPORT)
    );
    assert_eq!(a.socket(AF_INET, 0, 0), Err(Errno::ESOCKTNOSUPPORT));
    assert_eq!(a.socket(AF_INET, 11, 0), Err(Errno::EINVAL));
    assert_eq!(
        a.socket(AF_INET, SOCK_DGRAM | 0x100, 0),
        Err(Errno::EINVAL),
        "unknown type flag"
    );
    assert_eq!(a.open_descriptors(), 0, "no descriptor leaked");
    let s = a
        .socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
        .unwrap();
    assert_eq!(s, 3);
    assert_eq!(a.fcntl(s, F_GETFL, 0), Ok(O_RDWR | O_NONBLOCK));
    let mut buf = [0u8; 4];
    assert_eq!(a.recv(s, &mut buf, 0), Err(Errno::EWOULDBLOCK));
    assert_exchange_works(&a, &b);
}

#[test]
fn wrong_families_short_addresses_and_missing_peers() {
    let (a, b) = pair();
    let s = udp(&a);
    let mut six = SockAddrIn::new(B, 9);
    six.sin_family = AF_INET6 as u16;
    assert_eq!(a.bind(s, &six), Err(Errno::EAFNOSUPPORT));
    assert_eq!(a.connect(s, &six), Err(Errno::EAFNOSUPPORT));
    assert_eq!(a.sendto(s, b"x", 0, &six), Err(Errno::EAFNOSUPPORT));
    let mut unix = six;
    unix.sin_family = AF_UNIX as u16;
    assert_eq!(a.sendto(s, b"x", 0, &unix), Err(Errno::EAFNOSUPPORT));
    // Linux compatibility: AF_UNSPEC with INADDR_ANY binds; with another address not.
    let mut unspec = SockAddrIn::new(A, 9100);
    unspec.sin_family = AF_UNSPEC as u16;
    assert_eq!(a.bind(s, &unspec), Err(Errno::EAFNOSUPPORT));
    unspec.sin_addr.s_addr = INADDR_ANY;
    a.bind(s, &unspec).unwrap();
    assert_eq!(a.getsockname(s).unwrap().port(), 9100);

    // Short address lengths: EINVAL.
    let t = udp(&a);
    let full = SockAddrIn::new(A, 9200).to_bytes();
    for len in [0, 1, 2, 8, 15] {
        assert_eq!(
            a.bind_raw(t, &full[..len]),
            Err(Errno::EINVAL),
            "bind with {len} bytes"
        );
        assert_eq!(
            a.sendto_raw(t, b"x", 0, &full[..len]),
            Err(Errno::EINVAL),
            "sendto with {len} bytes"
        );
    }
    for len in [0, 1] {
        assert_eq!(
            a.connect_raw(t, &full[..len]),
            Err(Errno::EINVAL),
            "connect with {len} bytes"
        );
    }
    assert_eq!(
        a.connect_raw(t, &SockAddrIn::new(B, 9).to_bytes()[..15]),
        Err(Errno::EINVAL)
    );
    let mut long = full.to_vec();
    long.extend_from_slice(&[0; 16]);
    a.bind_raw(t, &long).unwrap();
    assert_eq!(a.getsockname(t).unwrap().port(), 9200);
    let to_b = SockAddrIn::new(B, 9).to_bytes();
    assert_eq!(a.sendto_raw(t, b"raw", 0, &to_b), Ok(3));
    a.connect_raw(t, &to_b).unwrap();
    assert_eq!(a.getpeername(t).unwrap(), SockAddrIn::new(B, 9));
    // AF_UNSPEC dissolves the association; only the family is needed.
    a.connect_raw(t, &(AF_UNSPEC as u16).to_ne_bytes()).unwrap();
    assert_eq!(a.getpeername(t), Err(Errno::ENOTCONN));

    // No peer: send is EDESTADDRREQ (Linux; the 4.2BSD primer says ENOTCONN).
    let u = udp(&a);
    assert_eq!(a.send(u, b"x", 0), Err(Errno::EDESTADDRREQ));
    assert_eq!(a.write(u, b"x"), Err(Errno::EDESTADDRREQ));
    assert_eq!(a.getpeername(u), Err(Errno::ENOTCONN));
    // UDP never says EISCONN: sendto with an address on a connected socket and a
    // second connect both work, as on Linux.
    a.connect(u, &SockAddrIn::new(B, 9)).unwrap();
    assert_eq!(a.sendto(u, b"x", 0, &SockAddrIn::new(B, 10)), Ok(1));
    a.connect(u, &SockAddrIn::new(B, 11)).unwrap();
    assert_eq!(a.getpeername(u).unwrap().port(), 11);
    // Destinations that cannot be: port 0, address 0.0.0.0, unroutable.
    assert_eq!(
        a.sendto(u, b"x", 0, &SockAddrIn::new(B, 0)),
        Err(Errno::EINVAL)
    );
    // INADDR_ANY is the primer's broadcast (5.5): it needs SO_BROADCAST.
    assert_eq!(
        a.sendto(u, b"x", 0, &SockAddrIn::new(ANY, 9)),
        Err(Errno::EACCES)
    );
    assert_eq!(a.connect(u, &SockAddrIn::new(B, 0)), Err(Errno::EINVAL));
    assert_eq!(
        a.sendto(
            u,
            b"x",
            0,
            &SockAddrIn::new(Ipv4Addr::new(192, 168, 1, 1), 9)
        ),
        Err(Errno::ENETUNREACH)
    );
    assert_eq!(
        a.sendto(u, &vec![0u8; 65508], 0, &SockAddrIn::new(B, 9)),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(
        a.sendto(u, &vec![0u8; 65507], 0, &SockAddrIn::new(B, 9)),
        Ok(65507)
    );
    // Flags datagram sockets do not have.
    let mut buf = [0u8; 4];
    assert_eq!(a.send(u, b"x", MSG_OOB), Err(Errno::EOPNOTSUPP));
    assert_eq!(a.recv(u, &mut buf, MSG_OOB), Err(Errno::EOPNOTSUPP));
    // Bad arguments to the other calls.
    assert_eq!(a.shutdown(u, 3), Err(Errno::EINVAL));
    assert_eq!(a.shutdown(u, -1), Err(Errno::EINVAL));
    assert_eq!(a.fcntl(u, 12345, 0), Err(Errno::EINVAL));
    let mut v = 0;
    assert_eq!(a.ioctl(u, 0x1234, &mut v), Err(Errno::ENOTTY));
    assert_eq!(
        a.ioctl(u, SIOCATMARK, &mut v),
        Err(Errno::ENOTTY),
        "no urgent mark on UDP"
    );
    assert_eq!(
        a.select(-1, None, None, None, Some(Duration::ZERO)),
        Err(Errno::EINVAL)
    );

    // After all that, nothing else was disturbed.
    assert_exchange_works(&a, &b);
    assert_eq!(a.open_descriptors(), 3);
    for fd in [s, t, u] {
        a.close(fd).unwrap();
    }
    assert_eq!(a.open_descriptors(), 0);
    assert_eq!(udp(&a), 3);
}

// ---------------------------------------------------------------- descriptors

#[test]
fn descriptors_are_lowest_free_and_per_stack() {
    let (a, b) = pair();
    assert_eq!((udp(&a), udp(&a), udp(&a)), (3, 4, 5));
    assert_eq!(udp(&b), 3, "each stack has its own table");
    a.close(4).unwrap();
    assert_eq!(udp(&a), 4, "the lowest free descriptor is reused");
    a.close(3).unwrap();
    // B's descriptor 3 is untouched by A's close.
    assert_eq!(b.getsockname(3).map(|_| ()), Ok(()));
    assert_eq!(a.getsockname(3), Err(Errno::EBADF));
    // A descriptor of B means nothing on A.
    let b4 = udp(&b);
    assert_eq!(b4, 4);
    assert_eq!(a.getsockname(6), Err(Errno::EBADF));
    let fds: Vec<i32> = a.descriptors().iter().map(|d| d.0).collect();
    assert_eq!(fds, vec![4, 5]);
    assert_ne!(a.socket_handle(4).unwrap(), a.socket_handle(5).unwrap());
}

#[test]
fn dup_shares_the_socket_until_the_last_close() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 9300);
    let d = b.dup(rx).unwrap();
    assert_eq!(d, rx + 1);
    assert_eq!(b.getsockname(d), b.getsockname(rx));
    // O_NONBLOCK belongs to the open file: shared by both descriptors.
    b.fcntl(rx, F_SETFL, O_NONBLOCK).unwrap();
    assert_eq!(b.fcntl(d, F_GETFL, 0), Ok(O_RDWR | O_NONBLOCK));
    b.fcntl(d, F_SETFL, 0).unwrap();
    b.close(rx).unwrap();
    safety_timeout(&b, d);
    send_once(&a, b"through the dup", SockAddrIn::new(B, 9300));
    let mut buf = [0u8; 32];
    assert_eq!(b.recv(d, &mut buf, 0), Ok(15));
    b.close(d).unwrap();
    // The port is free only now.
    bound(&b, ANY, 9300);
}

#[test]
fn the_descriptor_limit_gives_emfile() {
    let (a, b) = pair();
    a.set_fd_limit(5);
    assert_eq!(a.fd_limit(), 5);
    assert_eq!((udp(&a), udp(&a)), (3, 4));
    assert_eq!(a.socket(AF_INET, SOCK_DGRAM, 0), Err(Errno::EMFILE));
    assert_eq!(a.dup(3), Err(Errno::EMFILE));
    a.close(3).unwrap();
    assert_eq!(a.dup(4), Ok(3));
    a.set_fd_limit(FD_SETSIZE);
    assert_exchange_works(&a, &b);
}

#[test]
fn fcntl_and_fionbio_switch_blocking_mode() {
    let (a, _b) = pair();
    let s = bound(&a, ANY, 0);
    let mut buf = [0u8; 4];
    assert_eq!(a.fcntl(s, F_GETFL, 0), Ok(O_RDWR));
    let flags = a.fcntl(s, F_GETFL, 0).unwrap();
    a.fcntl(s, F_SETFL, flags | O_NONBLOCK).unwrap();
    assert_eq!(a.fcntl(s, F_GETFL, 0), Ok(O_RDWR | O_NONBLOCK));
    assert_eq!(a.recv(s, &mut buf, 0), Err(Errno::EWOULDBLOCK));
    let mut off = 0;
    a.ioctl(s, FIONBIO, &mut off).unwrap();
    assert_eq!(a.fcntl(s, F_GETFL, 0), Ok(O_RDWR));
    assert_eq!(a.recv(s, &mut buf, MSG_DONTWAIT), Err(Errno::EWOULDBLOCK));
    let mut on = 1;
    a.ioctl(s, FIONBIO, &mut on).unwrap();
    assert_eq!(a.recvfrom(s, &mut buf, 0).map(|_| ()), Err(Errno::EAGAIN));
    assert_eq!(a.fcntl(s, F_SETFD, FD_CLOEXEC), Ok(0));
}

#[test]
fn so_rcvtimeo_gives_ewouldblock_when_it_expires() {
    let (a, _b) = pair();
    let s = bound(&a, ANY, 0);
    let tv = TimeVal {
        tv_sec: 0,
        tv_usec: 50_000,
    };
    a.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(a.recv(s, &mut buf, 0), Err(Errno::EWOULDBLOCK));
    assert_eq!(
        a.recvfrom(s, &mut buf, MSG_PEEK).map(|_| ()),
        Err(Errno::EWOULDBLOCK)
    );
    // A negative tv_sec means "do not wait at all" (Linux).
    a.setsockopt(
        s,
        SOL_SOCKET,
        SO_RCVTIMEO,
        &TimeVal {
            tv_sec: -1,
            tv_usec: 0,
        },
    )
    .unwrap();
    assert_eq!(a.recv(s, &mut buf, 0), Err(Errno::EWOULDBLOCK));
    // SO_SNDTIMEO is accepted; UDP sends never wait.
    a.setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv).unwrap();
    assert_eq!(a.sendto(s, b"x", 0, &SockAddrIn::new(B, 9)), Ok(1));
}

#[test]
fn shutdown_follows_linux_for_datagram_sockets() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 9400);
    let c = udp(&a);
    assert_eq!(
        a.shutdown(c, SHUT_WR),
        Err(Errno::ENOTCONN),
        "unconnected: reported..."
    );
    assert_eq!(
        a.sendto(c, b"x", 0, &SockAddrIn::new(B, 9400)),
        Err(Errno::EPIPE),
        "...but done"
    );
    let d = udp(&a);
    a.connect(d, &SockAddrIn::new(B, 9400)).unwrap();
    let mut buf = [0u8; 8];
    // SHUT_RD: queued data stays readable, then reads return 0 without waiting.
    safety_timeout(&b, rx);
    a.send(d, b"queued", 0).unwrap();
    assert_eq!(b.recv(rx, &mut buf, MSG_PEEK), Ok(6));
    assert_eq!(b.shutdown(rx, SHUT_RD), Err(Errno::ENOTCONN));
    assert_eq!(b.recv(rx, &mut buf, 0), Ok(6));
    assert_eq!(b.recv(rx, &mut buf, 0), Ok(0));
    let (n, from) = b.recvfrom(rx, &mut buf, 0).unwrap();
    assert_eq!((n, i32::from(from.sin_family)), (0, AF_UNSPEC));
    let mut p = [PollFd::new(rx, POLLIN)];
    assert_eq!(b.poll(&mut p, 0), Ok(1));
    assert_eq!(p[0].revents, POLLIN);
    // SHUT_WR on a connected socket: success, then EPIPE.
    assert_eq!(a.shutdown(d, SHUT_WR), Ok(()));
    assert_eq!(a.send(d, b"x", 0), Err(Errno::EPIPE));
    assert_eq!(a.shutdown(d, SHUT_RDWR), Ok(()));
    let mut p = [PollFd::new(d, POLLIN | POLLOUT)];
    a.poll(&mut p, 0).unwrap();
    assert_eq!(
        p[0].revents & POLLHUP,
        POLLHUP,
        "both directions shut: POLLHUP"
    );
}

// ---------------------------------------------------------------- errno

#[test]
fn errno_values_names_and_texts_match_linux_and_glibc() {
    let known: &[(Errno, i32)] = &[
        (Errno::EPERM, libc::EPERM),
        (Errno::ENOENT, libc::ENOENT),
        (Errno::EINTR, libc::EINTR),
        (Errno::EIO, libc::EIO),
        (Errno::EBADF, libc::EBADF),
        (Errno::EAGAIN, libc::EAGAIN),
        (Errno::EWOULDBLOCK, libc::EWOULDBLOCK),
        (Errno::ENOMEM, libc::ENOMEM),
        (Errno::EACCES, libc::EACCES),
        (Errno::EFAULT, libc::EFAULT),
        (Errno::EBUSY, libc::EBUSY),
        (Errno::EEXIST, libc::EEXIST),
        (Errno::ENXIO, libc::ENXIO),
        (Errno::EINVAL, libc::EINVAL),
        (Errno::ENFILE, libc::ENFILE),
        (Errno::EMFILE, libc::EMFILE),
        (Errno::ENOTTY, libc::ENOTTY),
        (Errno::EPIPE, libc::EPIPE),
        (Errno::EDOM, libc::EDOM),
        (Errno::ENOSYS, libc::ENOSYS),
        (Errno::ENOTSOCK, libc::ENOTSOCK),
        (Errno::EDESTADDRREQ, libc::EDESTADDRREQ),
        (Errno::EMSGSIZE, libc::EMSGSIZE),
        (Errno::EPROTOTYPE, libc::EPROTOTYPE),
        (Errno::ENOPROTOOPT, libc::ENOPROTOOPT),
        (Errno::EPROTONOSUPPORT, libc::EPROTONOSUPPORT),
        (Errno::ESOCKTNOSUPPORT, libc::ESOCKTNOSUPPORT),
        (Errno::EOPNOTSUPP, libc::EOPNOTSUPP),
        (Errno::ENOTSUP, libc::ENOTSUP),
        (Errno::EPFNOSUPPORT, libc::EPFNOSUPPORT),
        (Errno::EAFNOSUPPORT, libc::EAFNOSUPPORT),
        (Errno::EADDRINUSE, libc::EADDRINUSE),
        (Errno::EADDRNOTAVAIL, libc::EADDRNOTAVAIL),
        (Errno::ENETDOWN, libc::ENETDOWN),
        (Errno::ENETUNREACH, libc::ENETUNREACH),
        (Errno::ENETRESET, libc::ENETRESET),
        (Errno::ECONNABORTED, libc::ECONNABORTED),
        (Errno::ECONNRESET, libc::ECONNRESET),
        (Errno::ENOBUFS, libc::ENOBUFS),
        (Errno::EISCONN, libc::EISCONN),
        (Errno::ENOTCONN, libc::ENOTCONN),
        (Errno::ESHUTDOWN, libc::ESHUTDOWN),
        (Errno::ETIMEDOUT, libc::ETIMEDOUT),
        (Errno::ECONNREFUSED, libc::ECONNREFUSED),
        (Errno::EHOSTDOWN, libc::EHOSTDOWN),
        (Errno::EHOSTUNREACH, libc::EHOSTUNREACH),
        (Errno::EALREADY, libc::EALREADY),
        (Errno::EINPROGRESS, libc::EINPROGRESS),
    ];
    for &(e, raw) in known {
        assert_eq!(e.raw(), raw, "{e:?}");
    }
    assert_eq!(
        known.len(),
        Errno::ALL.len() + 2,
        "every named errno is checked"
    );
    for &e in Errno::ALL {
        // std's message for an OS error is the C library's strerror text.
        let std_text = std::io::Error::from_raw_os_error(e.raw()).to_string();
        assert_eq!(
            std_text,
            format!("{e} (os error {})", e.raw()),
            "{}",
            e.name()
        );
        assert!(e.name().starts_with('E'));
        assert_eq!(format!("{e:?}"), e.name());
    }
    assert_eq!(Errno::ECONNREFUSED.name(), "ECONNREFUSED");
    assert_eq!(Errno::ECONNREFUSED.to_string(), "Connection refused");
    assert_eq!(Errno::EWOULDBLOCK.name(), "EAGAIN");
    assert_eq!(Errno(4095).to_string(), "Unknown error 4095");
    assert_eq!(
        perror_text("binding datagram socket", Errno::EADDRINUSE),
        "binding datagram socket: Address already in use"
    );
    assert_eq!(perror_text("", Errno::EBADF), "Bad file descriptor");

    use std::io::ErrorKind;
    let kind = |e: Errno| std::io::Error::from(e).kind();
    assert_eq!(kind(Errno::EWOULDBLOCK), ErrorKind::WouldBlock);
    assert_eq!(kind(Errno::ECONNREFUSED), ErrorKind::ConnectionRefused);
    assert_eq!(kind(Errno::EADDRINUSE), ErrorKind::AddrInUse);
    assert_eq!(kind(Errno::EADDRNOTAVAIL), ErrorKind::AddrNotAvailable);
    assert_eq!(kind(Errno::ENOTCONN), ErrorKind::NotConnected);
    assert_eq!(kind(Errno::EACCES), ErrorKind::PermissionDenied);
    assert_eq!(kind(Errno::EINVAL), ErrorKind::InvalidInput);
    assert_eq!(
        std::io::Error::from(Errno::EHOSTUNREACH).raw_os_error(),
        Some(113)
    );
}

#[test]
fn engine_errors_map_to_their_errno() {
    use stack::NetError as N;
    let cases = [
        (N::BadHandle, Errno::EBADF),
        (N::NotSupported, Errno::EOPNOTSUPP),
        (N::InvalidInput, Errno::EINVAL),
        (N::AddrInUse, Errno::EADDRINUSE),
        (N::AddrNotAvailable, Errno::EADDRNOTAVAIL),
        (N::PortsExhausted, Errno::EAGAIN),
        (N::PermissionDenied, Errno::EACCES),
        (N::WouldBlock, Errno::EWOULDBLOCK),
        (N::NotConnected, Errno::ENOTCONN),
        (N::IsConnected, Errno::EISCONN),
        (N::Already, Errno::EALREADY),
        (N::InProgress, Errno::EINPROGRESS),
        (N::DestAddrRequired, Errno::EDESTADDRREQ),
        (N::MessageTooLong, Errno::EMSGSIZE),
        (N::NetUnreachable, Errno::ENETUNREACH),
        (N::HostUnreachable, Errno::EHOSTUNREACH),
        (N::ConnectionRefused, Errno::ECONNREFUSED),
        (N::ConnectionReset, Errno::ECONNRESET),
        (N::ConnectionAborted, Errno::ECONNABORTED),
        (N::TimedOut, Errno::ETIMEDOUT),
        (N::BrokenPipe, Errno::EPIPE),
        (N::NoBuffers, Errno::ENOBUFS),
        (N::TooManySockets, Errno::EMFILE),
        (N::ProtocolUnreachable, Errno::ENOPROTOOPT),
    ];
    for (n, e) in cases {
        assert_eq!(Errno::from(n), e, "{n:?}");
    }
}

/// `writev`/`readv` and `sendmsg`/`recvmsg` gather and scatter; a datagram
/// longer than the buffers sets MSG_TRUNC.
#[test]
fn scatter_gather_calls() {
    use sockets::msg::MsgHdr;
    use std::io::{IoSlice, IoSliceMut};
    let (a, b) = pair();
    let rx = b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    b.bind(rx, &SockAddrIn::new(Ipv4Addr::UNSPECIFIED, 7200))
        .unwrap();
    let tx = a.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let to = SockAddrIn::new(Ipv4Addr::new(10, 0, 0, 2), 7200);
    let msg = MsgHdr {
        msg_name: Some(to),
        msg_iov: &[IoSlice::new(b"hello, "), IoSlice::new(b"world")],
    };
    assert_eq!(a.sendmsg(tx, &msg, 0), Ok(12));
    let (mut p1, mut p2) = ([0u8; 5], [0u8; 20]);
    let got = b
        .recvmsg(
            rx,
            &mut [IoSliceMut::new(&mut p1), IoSliceMut::new(&mut p2)],
            0,
        )
        .unwrap();
    assert_eq!(got.len, 12);
    assert_eq!(got.msg_flags, 0);
    assert_eq!(got.msg_name.ip(), Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!((&p1, &p2[..7]), (b"hello", &b", world"[..]));
    // Too long for the buffers: truncated, flagged.
    a.sendmsg(tx, &msg, 0).unwrap();
    let mut small = [0u8; 4];
    let got = b
        .recvmsg(rx, &mut [IoSliceMut::new(&mut small)], 0)
        .unwrap();
    assert_eq!((got.len, got.msg_flags), (4, MSG_TRUNC));
    assert_eq!(&small, b"hell");
    // writev on a connected datagram socket is one datagram; readv spreads it.
    a.connect(tx, &to).unwrap();
    assert_eq!(
        a.writev(tx, &[IoSlice::new(b"ab"), IoSlice::new(b"cd")]),
        Ok(4)
    );
    let (mut x, mut y) = ([0u8; 3], [0u8; 3]);
    assert_eq!(
        b.readv(rx, &mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]),
        Ok(4)
    );
    assert_eq!((&x, &y[..1]), (b"abc", &b"d"[..]));
}

/// On a stream, `sendmsg` and `recvmsg` move bytes like `send` and `recv`.
#[test]
fn scatter_gather_on_a_stream() {
    use sockets::msg::MsgHdr;
    use std::io::{IoSlice, IoSliceMut};
    let (a, b) = pair();
    let l = b.socket(AF_INET, SOCK_STREAM, 0).unwrap();
    b.bind(l, &SockAddrIn::new(Ipv4Addr::UNSPECIFIED, 7201))
        .unwrap();
    b.listen(l, 1).unwrap();
    let c = a.socket(AF_INET, SOCK_STREAM, 0).unwrap();
    a.connect(c, &SockAddrIn::new(Ipv4Addr::new(10, 0, 0, 2), 7201))
        .unwrap();
    let (s, _) = b.accept(l).unwrap();
    let msg = MsgHdr {
        msg_name: None,
        msg_iov: &[IoSlice::new(b"scatter "), IoSlice::new(b"gather")],
    };
    assert_eq!(a.sendmsg(c, &msg, 0), Ok(14));
    let mut got = Vec::new();
    while got.len() < 14 {
        let (mut p1, mut p2) = ([0u8; 8], [0u8; 8]);
        let r = b
            .recvmsg(
                s,
                &mut [IoSliceMut::new(&mut p1), IoSliceMut::new(&mut p2)],
                0,
            )
            .unwrap();
        assert_eq!(r.msg_flags, 0);
        let all: Vec<u8> = p1.iter().chain(p2.iter()).copied().collect();
        got.extend_from_slice(&all[..r.len]);
    }
    assert_eq!(got, b"scatter gather");
}
