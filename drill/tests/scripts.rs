//! Realistic scripts, parsed and checked piece by piece, then printed and
//! parsed again.

use drill::*;

fn parse_ok(src: &str) -> Script {
    match parse_named("test.pkt", src) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// The script printed and parsed again gives the same events (lines aside).
fn assert_round_trip(script: &Script) {
    let printed = script.to_string();
    let again = match parse(&printed) {
        Ok(s) => s,
        Err(e) => panic!("{e}\n--- printed ---\n{printed}"),
    };
    let strip = |s: &Script| -> Vec<(EventTime, EventKind)> {
        s.events.iter().map(|e| (e.time, e.kind.clone())).collect()
    };
    assert_eq!(again.options, script.options);
    assert_eq!(strip(&again), strip(script), "printed:\n{printed}");
}

fn tcp(e: &Event) -> (&Packet, &TcpPacket) {
    match &e.kind {
        EventKind::Packet(p) => match &p.proto {
            PacketProto::Tcp(t) => (p, t),
            other => panic!("line {}: not TCP: {other:?}", e.line),
        },
        other => panic!("line {}: not a packet: {other:?}", e.line),
    }
}

fn call(e: &Event) -> &Syscall {
    match &e.kind {
        EventKind::Syscall(s) => s,
        other => panic!("line {}: not a call: {other:?}", e.line),
    }
}

fn ident(s: &str) -> Expr {
    Expr::Ident(s.to_string())
}

const PASSIVE_OPEN: &str = include_str!("corpus/passive_open.pkt");

#[test]
fn passive_open_with_options() {
    let s = parse_ok(PASSIVE_OPEN);
    assert_eq!(
        s.options,
        vec![
            ("tolerance_usecs".into(), "10000".into()),
            ("mss".into(), "1000".into()),
            ("local_ip".into(), "192.168.0.1".into()),
            ("remote_ip".into(), "192.0.2.1".into()),
        ]
    );
    assert_eq!(s.option("mss"), Some("1000"));
    assert_eq!(s.events.len(), 8);
    assert_eq!(s.events[0].line, 7);
    assert_eq!(s.events[0].time, EventTime::Absolute(0));
    let sock = call(&s.events[0]);
    assert_eq!(sock.name, "socket");
    assert_eq!(
        sock.args,
        vec![Expr::Ellipsis, ident("SOCK_STREAM"), ident("IPPROTO_TCP")]
    );
    assert_eq!(sock.result.value, Expr::Int(3));

    let (p, syn) = tcp(&s.events[4]);
    assert_eq!(p.direction, Direction::Inbound);
    assert_eq!(syn.flags, TcpFlags::SYN);
    assert_eq!((syn.seq_start, syn.seq_end, syn.len), (0, 0, 0));
    assert_eq!(syn.win, Some(32792));
    assert_eq!(syn.ack, None);
    assert_eq!(
        syn.options,
        Some(vec![
            TcpOptionSpec::Mss(1000),
            TcpOptionSpec::SackPermitted,
            TcpOptionSpec::Nop,
            TcpOptionSpec::Nop,
            TcpOptionSpec::Timestamp { val: 100, ecr: 0 },
            TcpOptionSpec::Nop,
            TcpOptionSpec::WindowScale(7),
        ])
    );

    let (p, synack) = tcp(&s.events[5]);
    assert_eq!(p.direction, Direction::Outbound);
    assert_eq!(synack.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(synack.ack, Some(1));
    assert_eq!(synack.win, None, "no win: unchecked");

    assert_eq!(s.events[6].time, EventTime::Relative(100_000));
    let (_, ack) = tcp(&s.events[6]);
    assert_eq!(ack.flags, TcpFlags::ACK);
    assert_eq!(ack.options, Some(vec![]), "no list: no options");
    assert_round_trip(&s);
}

const ACTIVE_OPEN: &str = include_str!("corpus/active_open.pkt");

#[test]
fn active_open_nonblocking() {
    let s = parse_ok(ACTIVE_OPEN);
    let getfl = call(&s.events[1]);
    assert_eq!(getfl.result.value, Expr::Int(2));
    assert_eq!(getfl.result.note.as_deref(), Some("flags O_RDWR"));
    let setfl = call(&s.events[2]);
    assert_eq!(
        setfl.args[2],
        Expr::Or(vec![ident("O_RDWR"), ident("O_NONBLOCK")])
    );
    let conn = call(&s.events[3]);
    assert_eq!(conn.result.value, Expr::Int(-1));
    assert_eq!(conn.result.errno.as_deref(), Some("EINPROGRESS"));
    assert_eq!(
        conn.result.note.as_deref(),
        Some("Operation now in progress")
    );
    assert_eq!(s.events[5].time, EventTime::Relative(50_000));
    let getsockopt = call(&s.events[7]);
    assert_eq!(getsockopt.args[3], Expr::Array(vec![Expr::Int(0)]));
    assert_round_trip(&s);
}

const DATA_EXCHANGE: &str = include_str!("corpus/data_exchange.pkt");

#[test]
fn data_exchange_with_relative_sequence_numbers() {
    let s = parse_ok(DATA_EXCHANGE);
    assert_eq!(s.events[0].line, 2);
    assert_eq!(s.events[7].time, EventTime::Absolute(300_000));
    let (_, seg) = tcp(&s.events[7]);
    assert_eq!(seg.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!((seg.seq_start, seg.seq_end, seg.len), (1, 1001, 1000));
    let (_, last) = tcp(&s.events[15]);
    assert_eq!(
        (last.seq_start, last.ack, last.win),
        (1501, Some(3001), Some(65535))
    );
    assert_eq!(s.events[15].line, 18);
    assert_round_trip(&s);
}

const URGENT: &str = include_str!("corpus/urgent.pkt");

#[test]
fn urgent_data() {
    let s = parse_ok(URGENT);
    let (_, seg) = tcp(&s.events[7]);
    assert_eq!(seg.flags, TcpFlags::PSH | TcpFlags::URG | TcpFlags::ACK);
    assert_eq!((seg.urg, seg.win), (Some(3), Some(100)));
    let (_, seg) = tcp(&s.events[11]);
    assert!(
        !seg.flags.contains(TcpFlags::URG),
        "urg field without U flag"
    );
    assert_eq!(seg.urg, Some(3));
    let (_, synack) = tcp(&s.events[4]);
    assert_eq!(synack.options, None, "<...> means unchecked");
    let peek = call(&s.events[10]);
    assert_eq!(
        peek.args[3],
        Expr::Or(vec![ident("MSG_OOB"), ident("MSG_PEEK")])
    );
    assert_eq!(call(&s.events[8]).args[1], ident("SIOCATMARK"));
    assert_round_trip(&s);
}

const BLOCKING_ACCEPT: &str = include_str!("corpus/blocking_accept.pkt");

#[test]
fn blocking_calls() {
    let s = parse_ok(BLOCKING_ACCEPT);
    assert_eq!(s.events[3].time, EventTime::Relative(0));
    let accept = call(&s.events[3]);
    assert_eq!(accept.end, Some(200_000));
    assert_eq!(
        accept.args,
        vec![Expr::Int(3), Expr::Ellipsis, Expr::Ellipsis]
    );
    assert_eq!(s.events[7].time, EventTime::Absolute(500_000));
    assert_eq!(call(&s.events[7]).end, Some(750_000));
    assert_eq!(call(&s.events[0]).end, None);
    assert_eq!(s.events[3].to_string(), "+0...0.2 accept(3, ..., ...) = 4");
    assert_round_trip(&s);
}

const POLL: &str = include_str!("corpus/poll.pkt");

#[test]
fn poll_structs() {
    let s = parse_ok(POLL);
    let p = call(&s.events[7]);
    assert_eq!(p.name, "poll");
    assert_eq!(
        p.args[0],
        Expr::Array(vec![Expr::Struct(vec![
            Field::named("fd", Expr::Int(3)),
            Field::named("events", Expr::Or(vec![ident("POLLIN"), ident("POLLOUT")])),
            Field::named("revents", ident("POLLOUT")),
        ])])
    );
    assert_eq!(call(&s.events[8]).end, Some(100_000));
    assert_round_trip(&s);
}

const SOCKOPTS: &str = include_str!("corpus/sockopts.pkt");

#[test]
fn socket_options() {
    let s = parse_ok(SOCKOPTS);
    let nodelay = call(&s.events[2]);
    assert_eq!(
        nodelay.args,
        vec![
            Expr::Int(3),
            ident("IPPROTO_TCP"),
            ident("TCP_NODELAY"),
            Expr::Array(vec![Expr::Int(1)]),
            Expr::Int(4)
        ]
    );
    assert_eq!(
        call(&s.events[4]).args[3],
        Expr::Array(vec![Expr::Int(0x10000)])
    );
    assert_eq!(
        call(&s.events[5]).result.errno.as_deref(),
        Some("ENOPROTOOPT")
    );
    assert_eq!(call(&s.events[8]).result.errno.as_deref(), Some("EBADF"));
    assert_round_trip(&s);
}

const LINGER: &str = include_str!("corpus/linger.pkt");

#[test]
fn linger_struct() {
    let s = parse_ok(LINGER);
    assert_eq!(
        call(&s.events[7]).args[3],
        Expr::Struct(vec![
            Field::named("l_onoff", Expr::Int(1)),
            Field::named("l_linger", Expr::Int(0)),
        ])
    );
    let (_, rst) = tcp(&s.events[9]);
    assert_eq!(rst.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_round_trip(&s);
}

const UDP: &str = include_str!("corpus/udp.pkt");

#[test]
fn udp_datagrams() {
    let s = parse_ok(UDP);
    let bind = call(&s.events[1]);
    assert_eq!(
        bind.args[1],
        Expr::Struct(vec![
            Field::named("sa_family", ident("AF_INET")),
            Field::named(
                "sin_port",
                Expr::Call {
                    name: "htons".into(),
                    args: vec![Expr::Int(8080)]
                }
            ),
            Field::named(
                "sin_addr",
                Expr::Call {
                    name: "inet_addr".into(),
                    args: vec![Expr::Str("192.168.0.1".into())]
                }
            ),
        ])
    );
    let EventKind::Packet(p) = &s.events[2].kind else {
        panic!()
    };
    assert_eq!(p.proto, PacketProto::Udp(UdpPacket { len: 100 }));
    assert_eq!(p.addrs, None);
    let EventKind::Packet(p) = &s.events[4].kind else {
        panic!()
    };
    assert_eq!(
        p.addrs,
        Some(Endpoints {
            src_addr: Some("192.0.2.1".parse().unwrap()),
            src_port: 5000,
            dst_addr: Some("192.168.0.1".parse().unwrap()),
            dst_port: 8080,
        })
    );
    let EventKind::Packet(p) = &s.events[8].kind else {
        panic!()
    };
    assert_eq!(
        p.addrs,
        Some(Endpoints {
            src_addr: None,
            src_port: 5001,
            dst_addr: None,
            dst_port: 8080,
        })
    );
    assert_eq!(p.proto, PacketProto::Udp(UdpPacket { len: 0 }));
    assert_round_trip(&s);
}

const ICMP: &str = include_str!("corpus/icmp.pkt");

#[test]
fn icmp_messages() {
    let s = parse_ok(ICMP);
    let icmp = |i: usize| match &s.events[i].kind {
        EventKind::Packet(Packet {
            proto: PacketProto::Icmp(m),
            ..
        }) => m.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        icmp(4),
        IcmpPacket {
            icmp_type: "unreachable".into(),
            code: Some("port_unreachable".into()),
            mtu: None,
            quoted: Some(IcmpQuoted::Udp { len: 10 }),
        }
    );
    assert_eq!(icmp(7).quoted, None);
    assert_eq!(
        icmp(8),
        IcmpPacket {
            icmp_type: "unreachable".into(),
            code: Some("frag_needed".into()),
            mtu: Some(1200),
            quoted: Some(IcmpQuoted::Tcp {
                seq_start: 1,
                seq_end: 1461,
                len: 1460
            }),
        }
    );
    assert_eq!(icmp(9).code, None);
    assert_eq!(s.events[8].time, EventTime::Relative(1_000_000));
    assert_round_trip(&s);
}

const CLOSE_AND_TIMERS: &str = include_str!("corpus/close_and_timers.pkt");

#[test]
fn shutdown_retransmission_and_time_windows() {
    let s = parse_ok(CLOSE_AND_TIMERS);
    assert_eq!(
        s.events[9].time,
        EventTime::RelativeRange {
            start: 900_000,
            end: 1_500_000
        }
    );
    assert_eq!(s.events[12].time, EventTime::Any);
    assert_eq!(
        s.events[14].time,
        EventTime::AbsoluteRange {
            start: 3_000_000,
            end: 4_000_000
        }
    );
    let (_, sack) = tcp(&s.events[10]);
    assert_eq!(
        sack.options,
        Some(vec![
            TcpOptionSpec::Sack(vec![(1, 1001)]),
            TcpOptionSpec::Nop,
            TcpOptionSpec::Nop
        ])
    );
    assert_eq!(call(&s.events[11]).args[1], ident("SHUT_WR"));
    let (_, none) = tcp(&s.events[16]);
    assert_eq!(none.flags, TcpFlags::NONE);
    assert_round_trip(&s);
}

const MISC: &str = include_str!("corpus/misc.pkt");

#[test]
fn miscellaneous_forms() {
    let s = parse_ok(MISC);
    assert_eq!(s.option("define"), Some("PROTO=IPPROTO_TCP"));
    assert_eq!(s.option("verbose"), Some(""));
    assert_eq!(s.option("congestion_control"), Some("new reno"));
    assert_eq!(
        call(&s.events[1]).args[1],
        Expr::Str("hello, world\n".into())
    );
    assert_eq!(call(&s.events[2]).args[3], Expr::Array(vec![Expr::Int(-1)]));
    assert_eq!(call(&s.events[2]).result.note, None);
    assert_eq!(call(&s.events[3]).result.value, Expr::Ellipsis);
    assert_eq!(
        call(&s.events[5]).args[3],
        Expr::Or(vec![
            ident("MSG_DONTWAIT"),
            ident("MSG_NOSIGNAL"),
            Expr::Int(0x4000)
        ])
    );
    let (_, rst) = tcp(&s.events[7]);
    assert_eq!((rst.win, rst.options.clone()), (Some(0), Some(vec![])));
    assert_eq!(
        call(&s.events[8]).args[3],
        Expr::Call {
            name: "foo".into(),
            args: vec![Expr::Struct(vec![
                Field {
                    name: None,
                    value: ident("a")
                },
                Field::named("b", Expr::Array(vec![]))
            ])]
        }
    );
    let (_, all) = tcp(&s.events[9]);
    assert_eq!(all.flags, TcpFlags(0xff));
    assert_eq!(
        call(&s.events[10]).result.note.as_deref(),
        Some("done (really)")
    );
    assert_round_trip(&s);
}

#[test]
fn empty_and_comment_only_scripts() {
    assert_eq!(parse("").unwrap(), Script::default());
    assert_eq!(
        parse("// nothing\n/* at\nall */\n").unwrap(),
        Script::default()
    );
    assert_eq!(parse("--mss=1000\n").unwrap().events.len(), 0);
}

#[test]
fn printed_packets_match_script_text() {
    for line in [
        "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 1 ecr 100,nop,wscale 7>",
        "< P. 1:11(10) ack 1 win 100 urg 3",
        "> . 1:1(0) ack 1001 <...>",
        "< 192.0.2.1:5000 > 192.168.0.1:8080 udp (10)",
        "< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]",
        "> - 5:5(0)",
    ] {
        let s = parse_ok(&format!("0 {line}\n"));
        let EventKind::Packet(p) = &s.events[0].kind else {
            panic!()
        };
        assert_eq!(p.to_string(), line);
    }
    let s = parse_ok("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
    assert_eq!(
        call(&s.events[0]).to_string(),
        "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)"
    );
}
