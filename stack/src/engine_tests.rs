//! Engine tests on virtual time: two engines on a simulated wire, and frames built
//! by hand and injected. Each test names the behaviour it pins.

use std::net::{Ipv4Addr, SocketAddrV4};

use proptest::prelude::*;

use crate::config::StackConfig;
use crate::counters::{DropReason, Stat};
use crate::engine::Engine;
use crate::error::NetError;
use crate::ip::{write_header, IpSend};
use crate::sim::SimPair;
use crate::time::{Duration, Instant};
use crate::wire::{checksum, ethernet, EthernetAddress, ETHERTYPE_IPV4, HEADROOM};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const NOBODY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 99);

fn pair() -> SimPair {
    SimPair::new(
        StackConfig::new(A, 24),
        StackConfig::new(B, 24),
        Duration::from_micros(50),
    )
}

fn ping_once(p: &mut SimPair, payload: &[u8]) -> crate::ping::EchoReply {
    let now = p.now();
    let h = p.a.ping_open().unwrap();
    p.a.ping_send(now, h, B, 1, payload).unwrap();
    let mut reply = None;
    assert!(p.run_until(Duration::from_secs(5), |p| {
        reply = p.a.ping_recv(h).ok();
        reply.is_some()
    }));
    reply.unwrap()
}

#[test]
fn ping_resolves_arp_and_gets_a_reply() {
    let mut p = pair();
    let r = ping_once(&mut p, b"hello");
    assert_eq!(r.from, B);
    assert_eq!(r.seq, 1);
    assert_eq!(r.payload, b"hello");
    assert_eq!(r.ttl, 64);
    assert_eq!(p.a.counters().stat(Stat::ArpRequestsSent), 1);
    assert_eq!(p.b.counters().stat(Stat::ArpRepliesSent), 1);
    assert_eq!(p.b.counters().stat(Stat::IcmpEchoReplies), 1);
    // B learned A from the request aimed at it: no second ARP exchange.
    assert_eq!(p.b.counters().stat(Stat::ArpRequestsSent), 0);
    assert_eq!(p.a.counters().total_drops(), 0);
}

#[test]
fn fragmented_echo_is_reassembled_and_answered_in_fragments() {
    let mut p = pair();
    let payload: Vec<u8> = (0..4000u32).map(|i| (i * 13) as u8).collect();
    let r = ping_once(&mut p, &payload);
    assert_eq!(r.payload, payload);
    // 4008 bytes of ICMP in 1480-byte pieces: three fragments each way.
    assert_eq!(p.a.counters().stat(Stat::FragsSent), 3);
    assert_eq!(p.b.counters().stat(Stat::FragsSent), 3);
    assert_eq!(p.b.counters().stat(Stat::Reassembled), 1);
    assert_eq!(p.a.counters().stat(Stat::Reassembled), 1);
}

#[test]
fn arp_failure_reports_host_unreachable_after_retries() {
    let mut p = pair();
    let h = p.a.ping_open().unwrap();
    p.a.ping_send(Instant::ZERO, h, NOBODY, 1, b"x").unwrap();
    let mut result = None;
    p.run_until(Duration::from_secs(10), |p| {
        result = match p.a.ping_recv(h) {
            Err(NetError::WouldBlock) => None,
            other => Some(other),
        };
        result.is_some()
    });
    assert_eq!(result, Some(Err(NetError::HostUnreachable)));
    // Three requests one second apart, then failure one interval after the last.
    assert_eq!(p.a.counters().stat(Stat::ArpRequestsSent), 3);
    assert_eq!(p.now(), Instant::from_secs(3));
    assert_eq!(p.a.counters().drops(DropReason::ArpResolutionFailed), 1);
}

/// A frame from `src` to `dst` (MACs of the pair's hosts) carrying an IPv4 datagram.
fn ipv4_frame(e_dst: &Engine, src: Ipv4Addr, proto: u8, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; HEADROOM];
    f.extend_from_slice(payload);
    let send = IpSend {
        src,
        dst: e_dst.config().addr,
        protocol: proto,
        ttl,
        tos: 0,
        dont_frag: false,
    };
    write_header(&mut f[14..], &send, 77, 20 + payload.len(), 0, false);
    ethernet::write_header(
        &mut f,
        e_dst.config().mac,
        EthernetAddress([2, 0, 0, 0, 0, 0x42]),
        ETHERTYPE_IPV4,
    );
    f
}

fn echo_request(payload: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    m.extend_from_slice(payload);
    let c = checksum::checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

fn engine() -> Engine {
    let mut e = Engine::new(StackConfig::new(B, 24)).unwrap();
    // Teach it the injector's MAC so replies go out without ARP.
    e.learn_neighbour(Instant::ZERO, A, EthernetAddress([2, 0, 0, 0, 0, 0x42]));
    e
}

#[test]
fn bad_ipv4_checksum_is_dropped_and_counted() {
    let mut e = engine();
    let mut f = ipv4_frame(&e, A, 1, 64, &echo_request(b"x"));
    f[14 + 10] ^= 0xff;
    e.handle_frame(Instant::ZERO, &f);
    assert_eq!(e.counters().drops(DropReason::Ipv4BadChecksum), 1);
    assert!(e.poll_transmit(Instant::ZERO).is_none());
}

#[test]
fn low_ttl_datagrams_are_accepted_and_replies_use_the_configured_ttl() {
    // RFC 1122 3.2.1.7: a host must not discard a datagram for TTL < 2.
    for ttl in [0u8, 1] {
        let mut e = engine();
        e.handle_frame(
            Instant::ZERO,
            &ipv4_frame(&e, A, 1, ttl, &echo_request(b"ttl")),
        );
        let reply = e.poll_transmit(Instant::ZERO).expect("echo reply");
        assert_eq!(reply[14 + 8], 64, "reply TTL is the default");
        assert_eq!(e.counters().stat(Stat::IcmpEchoReplies), 1);
    }
    let mut c = StackConfig::new(B, 24);
    c.ip.default_ttl = 5;
    let mut e = Engine::new(c).unwrap();
    e.learn_neighbour(Instant::ZERO, A, EthernetAddress([2, 0, 0, 0, 0, 0x42]));
    e.handle_frame(
        Instant::ZERO,
        &ipv4_frame(&e, A, 1, 64, &echo_request(b"ttl")),
    );
    assert_eq!(e.poll_transmit(Instant::ZERO).unwrap()[14 + 8], 5);
}

#[test]
fn unknown_protocol_gets_protocol_unreachable_rate_limited() {
    let mut c = StackConfig::new(B, 24);
    c.icmp.error_burst = 2;
    c.icmp.errors_per_sec = 1;
    let mut e = Engine::new(c).unwrap();
    e.learn_neighbour(Instant::ZERO, A, EthernetAddress([2, 0, 0, 0, 0, 0x42]));
    for _ in 0..5 {
        e.handle_frame(Instant::ZERO, &ipv4_frame(&e, A, 200, 64, b"whatever"));
    }
    let mut errors = 0;
    while let Some(f) = e.poll_transmit(Instant::ZERO) {
        assert_eq!(f[14 + 9], 1, "ICMP");
        assert_eq!((f[34], f[35]), (3, 2), "protocol unreachable");
        errors += 1;
    }
    assert_eq!(errors, 2);
    assert_eq!(e.counters().drops(DropReason::Ipv4UnknownProtocol), 5);
    assert_eq!(e.counters().drops(DropReason::IcmpRateLimited), 3);
}

#[test]
fn reassembly_timeout_sends_time_exceeded() {
    let mut e = engine();
    // First fragment of a datagram whose rest never comes.
    let mut f = ipv4_frame(&e, A, 17, 64, &[0u8; 16]);
    f[14 + 6] = 0x20; // MF
    let c = {
        f[14 + 10] = 0;
        f[14 + 11] = 0;
        checksum::checksum(&f[14..34])
    };
    f[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
    e.handle_frame(Instant::ZERO, &f);
    assert_eq!(e.poll_timeout(), Some(Instant::from_secs(30)));
    e.handle_timeout(Instant::from_secs(30));
    assert_eq!(e.counters().drops(DropReason::FragTimeout), 1);
    let icmp = e.poll_transmit(Instant::ZERO).expect("time exceeded");
    assert_eq!((icmp[34], icmp[35]), (11, 1));
}

#[test]
fn frames_not_for_us_are_counted() {
    let mut e = engine();
    let mut f = ipv4_frame(&e, A, 1, 64, &echo_request(b"x"));
    f[0..6].copy_from_slice(&[2, 9, 9, 9, 9, 9]);
    e.handle_frame(Instant::ZERO, &f);
    assert_eq!(e.counters().drops(DropReason::EthNotForUs), 1);
    let mut f = ipv4_frame(&e, A, 1, 64, &echo_request(b"x"));
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    e.handle_frame(Instant::ZERO, &f);
    assert_eq!(e.counters().drops(DropReason::EthUnknownType), 1);
    e.handle_frame(Instant::ZERO, &[1, 2, 3]);
    assert_eq!(e.counters().drops(DropReason::EthTruncated), 1);
}

/// Valid frames of every kind the engine parses: ARP request, echo request, UDP,
/// TCP, a fragment.
fn valid_frames() -> Vec<Vec<u8>> {
    let e = engine();
    let mut frames = Vec::new();
    let mut arp = vec![0u8; 14];
    ethernet::write_header(
        &mut arp,
        EthernetAddress::BROADCAST,
        EthernetAddress([2, 0, 0, 0, 0, 0x42]),
        0x0806,
    );
    arp.extend_from_slice(&[
        0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0x42, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
    ]);
    frames.push(arp);
    frames.push(ipv4_frame(&e, A, 1, 64, &echo_request(&[7u8; 100])));
    let mut udp = vec![0x30, 0x39, 0x00, 0x07, 0, 12, 0, 0, 1, 2, 3, 4];
    let c = checksum::transport(A, B, 17, &udp);
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    frames.push(ipv4_frame(&e, A, 17, 64, &udp));
    let mut tcp = vec![0u8; 24];
    tcp[0..2].copy_from_slice(&1234u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
    tcp[12] = 6 << 4;
    tcp[13] = 0x02;
    tcp[20..24].copy_from_slice(&[2, 4, 5, 0xb4]);
    frames.push(ipv4_frame(&e, A, 6, 64, &tcp));
    let mut frag = ipv4_frame(&e, A, 17, 64, &[0u8; 24]);
    frag[14 + 6] = 0x20;
    frames.push(frag);
    frames
}

#[test]
fn every_truncation_of_valid_frames_is_counted_not_panicking() {
    for f in valid_frames() {
        for n in 0..f.len() {
            let mut e = engine();
            e.handle_frame(Instant::ZERO, &f[..n]);
            let c = e.counters();
            assert!(
                c.total_drops() >= 1 || e.pending_transmits() > 0,
                "truncation to {n} of {} bytes neither dropped nor answered: {c:?}",
                f.len()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let mut e = engine();
        e.handle_frame(Instant::ZERO, &data);
        e.handle_timeout(Instant::from_secs(100));
        while e.poll_transmit(Instant::ZERO).is_some() {}
        prop_assert_eq!(e.counters().stat(Stat::RxFrames), 1);
    }

    #[test]
    fn mutated_valid_frames_never_panic(idx in 0usize..5, flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..8)) {
        let mut f = valid_frames()[idx].clone();
        for (at, v) in flips {
            if let Some(b) = f.get_mut(at) { *b = v; }
        }
        let mut e = engine();
        e.handle_frame(Instant::ZERO, &f);
        e.handle_timeout(Instant::from_secs(100));
        while e.poll_transmit(Instant::ZERO).is_some() {}
    }
}

// ---------------------------------------------------------------- UDP

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

#[test]
fn udp_exchange_keeps_boundaries_and_truncates() {
    let mut p = pair();
    let now = p.now();
    let server = p.b.udp_open().unwrap();
    p.b.udp_bind(server, sa(Ipv4Addr::UNSPECIFIED, 7000))
        .unwrap();
    let client = p.a.udp_open().unwrap();
    p.a.udp_send_to(now, client, b"first", Some(sa(B, 7000)))
        .unwrap();
    p.a.udp_send_to(now, client, b"second datagram", Some(sa(B, 7000)))
        .unwrap();
    let local = p.a.udp_local_addr(client).unwrap().unwrap();
    assert!(
        (32768..=60999).contains(&local.port()),
        "implicit ephemeral bind: {local}"
    );
    assert!(p.run_until(Duration::from_secs(1), |p| p
        .b
        .udp_next_len(server)
        .unwrap()
        > 0
        && p.b.counters().stat(Stat::UdpDelivered) == 2));
    let mut buf = [0u8; 64];
    let r = p.b.udp_recv_from(server, &mut buf, true).unwrap();
    assert_eq!((r.copied, r.len, r.from), (5, 5, sa(A, local.port())));
    let r = p.b.udp_recv_from(server, &mut buf, false).unwrap();
    assert_eq!(&buf[..r.copied], b"first");
    let mut small = [0u8; 6];
    let r = p.b.udp_recv_from(server, &mut small, false).unwrap();
    assert_eq!((r.copied, r.len), (6, 15));
    assert_eq!(&small, b"second");
    assert_eq!(
        p.b.udp_recv_from(server, &mut buf, false),
        Err(NetError::WouldBlock)
    );
}

#[test]
fn udp_large_datagrams_fragment_and_limits_hold() {
    let mut p = pair();
    let now = p.now();
    let server = p.b.udp_open().unwrap();
    p.b.udp_bind(server, sa(B, 7001)).unwrap();
    let client = p.a.udp_open().unwrap();
    for len in [1usize, 1472, 1473, 8000, 65507] {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
        p.a.udp_send_to(p.now(), client, &data, Some(sa(B, 7001)))
            .unwrap();
        let mut buf = vec![0u8; 70000];
        let mut got = None;
        assert!(
            p.run_until(Duration::from_secs(1), |p| {
                got = p.b.udp_recv_from(server, &mut buf, false).ok();
                got.is_some()
            }),
            "len {len}"
        );
        assert_eq!(&buf[..got.unwrap().copied], &data[..], "len {len}");
    }
    assert_eq!(
        p.a.udp_send_to(now, client, &vec![0u8; 65508], Some(sa(B, 7001))),
        Err(NetError::MessageTooLong)
    );
}

#[test]
fn udp_port_unreachable_refuses_connected_socket() {
    let mut p = pair();
    let c = p.a.udp_open().unwrap();
    p.a.udp_connect(p.now(), c, sa(B, 9)).unwrap();
    p.a.udp_send_to(p.now(), c, b"anyone?", None).unwrap();
    p.run_for(Duration::from_millis(100));
    assert_eq!(p.b.counters().drops(DropReason::UdpNoSocket), 1);
    assert_eq!(p.b.counters().stat(Stat::IcmpErrorsSent), 1);
    assert!(p.a.readiness(c).unwrap().error);
    let mut buf = [0u8; 8];
    assert_eq!(
        p.a.udp_recv_from(c, &mut buf, false),
        Err(NetError::ConnectionRefused)
    );
    // Reported once.
    assert_eq!(
        p.a.udp_recv_from(c, &mut buf, false),
        Err(NetError::WouldBlock)
    );
}

#[test]
fn udp_connected_socket_only_hears_its_peer() {
    let mut p = pair();
    let now = p.now();
    let b1 = p.b.udp_open().unwrap();
    p.b.udp_bind(b1, sa(Ipv4Addr::UNSPECIFIED, 8000)).unwrap();
    p.b.udp_connect(now, b1, sa(A, 1111)).unwrap();
    assert_eq!(p.b.udp_local_addr(b1).unwrap(), Some(sa(B, 8000)));
    let a1 = p.a.udp_open().unwrap();
    p.a.udp_bind(a1, sa(A, 1111)).unwrap();
    let a2 = p.a.udp_open().unwrap();
    p.a.udp_send_to(now, a2, b"stranger", Some(sa(B, 8000)))
        .unwrap();
    p.a.udp_send_to(now, a1, b"peer", Some(sa(B, 8000)))
        .unwrap();
    p.run_for(Duration::from_millis(10));
    let mut buf = [0u8; 16];
    let r = p.b.udp_recv_from(b1, &mut buf, false).unwrap();
    assert_eq!(&buf[..r.copied], b"peer");
    assert_eq!(
        p.b.udp_recv_from(b1, &mut buf, false),
        Err(NetError::WouldBlock)
    );
    assert_eq!(p.b.counters().drops(DropReason::UdpNoSocket), 1);
}

#[test]
fn udp_broadcast_needs_so_broadcast_and_reaches_wildcard_sockets() {
    let mut p = pair();
    let now = p.now();
    let rx = p.b.udp_open().unwrap();
    p.b.udp_bind(rx, sa(Ipv4Addr::UNSPECIFIED, 5353)).unwrap();
    let rx_specific = p.b.udp_open().unwrap();
    let mut o = p.b.socket_options(rx_specific).unwrap();
    o.reuse_addr = true;
    p.b.set_socket_options(p.now(), rx_specific, o).unwrap();
    let tx = p.a.udp_open().unwrap();
    assert_eq!(
        p.a.udp_send_to(now, tx, b"hi all", Some(sa(Ipv4Addr::BROADCAST, 5353))),
        Err(NetError::PermissionDenied)
    );
    let mut o = p.a.socket_options(tx).unwrap();
    o.broadcast = true;
    p.a.set_socket_options(p.now(), tx, o).unwrap();
    p.a.udp_send_to(now, tx, b"hi all", Some(sa(Ipv4Addr::BROADCAST, 5353)))
        .unwrap();
    p.a.udp_send_to(
        now,
        tx,
        b"hi net",
        Some(sa(Ipv4Addr::new(10, 0, 0, 255), 5353)),
    )
    .unwrap();
    p.run_for(Duration::from_millis(10));
    let mut buf = [0u8; 16];
    let r = p.b.udp_recv_from(rx, &mut buf, false).unwrap();
    assert_eq!(&buf[..r.copied], b"hi all");
    let r = p.b.udp_recv_from(rx, &mut buf, false).unwrap();
    assert_eq!(&buf[..r.copied], b"hi net");
    // No ICMP errors about broadcasts, and no ARP was needed.
    assert_eq!(p.b.counters().stat(Stat::IcmpErrorsSent), 0);
    assert_eq!(p.a.counters().stat(Stat::ArpRequestsSent), 0);
}

#[test]
fn udp_receive_queue_is_bounded() {
    let mut p = pair();
    let rx = p.b.udp_open().unwrap();
    p.b.udp_bind(rx, sa(Ipv4Addr::UNSPECIFIED, 6000)).unwrap();
    let mut o = p.b.socket_options(rx).unwrap();
    o.recv_buffer = 1000;
    p.b.set_socket_options(p.now(), rx, o).unwrap();
    let tx = p.a.udp_open().unwrap();
    for _ in 0..10 {
        p.a.udp_send_to(p.now(), tx, &[0u8; 300], Some(sa(B, 6000)))
            .unwrap();
    }
    p.run_for(Duration::from_millis(10));
    // 300 + 64 bytes charged each: two fit in 1000 bytes, a third does not.
    assert_eq!(p.b.counters().stat(Stat::UdpDelivered), 2);
    assert_eq!(p.b.counters().drops(DropReason::UdpQueueFull), 8);
}

#[test]
fn udp_to_our_own_address_loops_back() {
    let mut e = engine();
    let now = Instant::ZERO;
    let rx = e.udp_open().unwrap();
    e.udp_bind(rx, sa(Ipv4Addr::UNSPECIFIED, 4000)).unwrap();
    let tx = e.udp_open().unwrap();
    e.udp_send_to(now, tx, b"self", Some(sa(B, 4000))).unwrap();
    e.udp_send_to(now, tx, b"lo", Some(sa(Ipv4Addr::LOCALHOST, 4000)))
        .unwrap();
    assert!(
        e.poll_transmit(Instant::ZERO).is_none(),
        "nothing leaves the host"
    );
    let mut buf = [0u8; 8];
    let r = e.udp_recv_from(rx, &mut buf, false).unwrap();
    assert_eq!((&buf[..r.copied], *r.from.ip()), (&b"self"[..], B));
    let r = e.udp_recv_from(rx, &mut buf, false).unwrap();
    assert_eq!(
        (&buf[..r.copied], *r.from.ip()),
        (&b"lo"[..], Ipv4Addr::LOCALHOST)
    );
}

/// A frame to `dst` (our MAC) from `src`, carrying `payload` of protocol `proto`.
fn frame_between(e: &Engine, src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = ipv4_frame(e, src, proto, 64, payload);
    let send = IpSend {
        src,
        dst,
        protocol: proto,
        ttl: 64,
        tos: 0,
        dont_frag: false,
    };
    write_header(&mut f[14..], &send, 77, 20 + payload.len(), 0, false);
    f
}

/// A TCP SYN from `src:sport` to `dst:dport`.
fn syn(src: SocketAddrV4, dst: SocketAddrV4) -> Vec<u8> {
    let repr = crate::tcp::segment::TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: crate::tcp::seq::SeqNumber(1000),
        flags: crate::tcp::segment::Flags {
            syn: true,
            ..Default::default()
        },
        window: 65535,
        ..Default::default()
    };
    let mut seg = vec![0u8; repr.header_len()];
    repr.emit(&mut seg, *src.ip(), *dst.ip(), &[]);
    seg
}

/// A UDP datagram from `src` to `dst`.
fn udp(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    crate::wire::udp::UdpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
    }
    .emit(&mut d, 0, *src.ip(), *dst.ip(), payload);
    d
}

#[test]
fn land_syn_from_our_own_address_is_dropped_and_nothing_loops() {
    let mut e = engine();
    let l = e.tcp_open().unwrap();
    e.tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7007))
        .unwrap();
    e.tcp_listen(l, 5).unwrap();
    let me = SocketAddrV4::new(B, 7007);
    let f = frame_between(&e, B, B, 6, &syn(me, me));
    e.handle_frame(Instant::ZERO, &f);
    assert_eq!(e.counters().drops(DropReason::Ipv4MartianSource), 1);
    assert_eq!(e.counters().stat(Stat::TcpSegmentsIn), 0);
    assert!(e.poll_transmit(Instant::ZERO).is_none());
    // The driver is idle: no looped-back datagram, no connection timer.
    assert_eq!(e.poll_timeout(), None);
    assert_eq!(e.counters().stat(Stat::Loopback), 0);
}

#[test]
fn martian_sources_and_loopback_destinations_from_the_wire_are_dropped() {
    let mut e = engine();
    let u = e.udp_open().unwrap();
    e.udp_bind(u, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7007))
        .unwrap();
    let us = SocketAddrV4::new(B, 7007);
    for src in [
        B,
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::new(127, 9, 9, 9),
        Ipv4Addr::new(0, 1, 2, 3),
    ] {
        let from = SocketAddrV4::new(src, 7007);
        let f = frame_between(&e, src, B, 17, &udp(from, us, b"echo me"));
        e.handle_frame(Instant::ZERO, &f);
    }
    assert_eq!(e.counters().drops(DropReason::Ipv4MartianSource), 4);
    // To 127.0.0.1 from the wire, even from a real neighbour.
    let lo = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7007);
    let f = frame_between(
        &e,
        A,
        Ipv4Addr::LOCALHOST,
        17,
        &udp(SocketAddrV4::new(A, 9), lo, b"x"),
    );
    e.handle_frame(Instant::ZERO, &f);
    assert_eq!(e.counters().drops(DropReason::Ipv4MartianDestination), 1);
    let mut buf = [0u8; 16];
    assert_eq!(
        e.udp_recv_from(u, &mut buf, false),
        Err(NetError::WouldBlock)
    );
    assert!(e.poll_transmit(Instant::ZERO).is_none());
    assert_eq!(e.poll_timeout(), None);
    // A real neighbour still gets through, and our own loopback still works.
    let f = frame_between(&e, A, B, 17, &udp(SocketAddrV4::new(A, 9), us, b"hi"));
    e.handle_frame(Instant::ZERO, &f);
    assert_eq!(e.udp_recv_from(u, &mut buf, false).map(|r| r.copied), Ok(2));
    let s = e.udp_open().unwrap();
    e.udp_send_to(Instant::ZERO, s, b"self", Some(lo)).unwrap();
    assert_eq!(e.udp_recv_from(u, &mut buf, false).map(|r| r.copied), Ok(4));
}

/// An ARP request for us from `sender` (IP and MAC).
fn arp_request_frame(e: &Engine, sender: Ipv4Addr, mac: EthernetAddress) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    ethernet::write_header(
        &mut f,
        EthernetAddress::BROADCAST,
        mac,
        crate::wire::ETHERTYPE_ARP,
    );
    crate::wire::arp::ArpRepr {
        operation: crate::wire::arp::REQUEST,
        sender_hw: mac,
        sender_ip: sender,
        target_hw: EthernetAddress([0; 6]),
        target_ip: e.config().addr,
    }
    .emit(&mut f);
    f
}

#[test]
fn spoofed_arp_senders_and_unresolved_neighbours_stay_within_the_cache_bound() {
    let mut cfg = StackConfig::new(B, 16);
    cfg.arp.max_entries = 64;
    let mut e = Engine::new(cfg).unwrap();
    let now = Instant::ZERO;
    for i in 0..10_000u32 {
        let b = (i + 3).to_be_bytes();
        let sender = Ipv4Addr::new(10, 0, b[2], b[3]);
        let mac = EthernetAddress([2, 0xaa, b[0], b[1], b[2], b[3]]);
        e.handle_frame(now, &arp_request_frame(&e, sender, mac));
        while e.poll_transmit(now).is_some() {}
    }
    assert_eq!(e.counters().stat(Stat::ArpRepliesSent), 10_000);
    assert!(e.link_entries() <= 64, "{} entries", e.link_entries());
    // Our own traffic to 300 silent neighbours: resolutions in progress, bounded too.
    let u = e.udp_open().unwrap();
    for i in 0..300u32 {
        let b = (i + 20_000).to_be_bytes();
        let dst = SocketAddrV4::new(Ipv4Addr::new(10, 0, b[2], b[3]), 9);
        let _ = e.udp_send_to(now, u, b"x", Some(dst));
        while e.poll_transmit(now).is_some() {}
    }
    assert!(e.link_entries() <= 64, "{} entries", e.link_entries());
}

/// A UDP receive queue is bounded by the memory it really holds: tiny datagrams
/// never pin frame-sized buffers (the engine's spare buffers are up to 64 KiB).
#[test]
fn udp_queues_are_charged_for_the_memory_they_hold() {
    let mut e = engine();
    for _ in 0..256 {
        e.recycle(Vec::with_capacity(65536));
    }
    let u = e.udp_open().unwrap();
    e.udp_bind(u, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7007))
        .unwrap();
    let limit = e.socket_options(u).unwrap().recv_buffer;
    let us = SocketAddrV4::new(B, 7007);
    for i in 0..5000u16 {
        let from = SocketAddrV4::new(A, 1024 + i);
        e.handle_frame(
            Instant::ZERO,
            &frame_between(&e, A, B, 17, &udp(from, us, b"x")),
        );
    }
    assert!(e.counters().drops(DropReason::UdpQueueFull) > 0);
    let held = e.udp_queued_memory(u);
    assert!(held <= limit, "{held} bytes held for a {limit}-byte buffer");
}

/// RFC 7739: IP identifications come from per-destination counters, so a host
/// sees its own IDs increase by one whatever we send to others (a global counter
/// would tell it how much that is: the idle-scan side channel).
#[test]
fn ip_ids_count_per_destination() {
    let mut e = engine();
    let c = Ipv4Addr::new(10, 0, 0, 3);
    e.learn_neighbour(Instant::ZERO, c, EthernetAddress([2, 0, 0, 0, 0, 0x43]));
    let u = e.udp_open().unwrap();
    let mut ids = (Vec::new(), Vec::new());
    for i in 0..20 {
        for (dst, v) in [(A, &mut ids.0), (c, &mut ids.1)] {
            for _ in 0..(1 + i % 3) {
                e.udp_send_to(Instant::ZERO, u, b"x", Some(SocketAddrV4::new(dst, 9)))
                    .unwrap();
                let f = e.poll_transmit(Instant::ZERO).unwrap();
                v.push(u16::from_be_bytes([f[18], f[19]]));
            }
        }
    }
    for v in [&ids.0, &ids.1] {
        assert!(v.windows(2).all(|w| w[1] == w[0].wrapping_add(1)), "{v:?}");
    }
}
