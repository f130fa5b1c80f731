//! Property tests: the parser never panics, and printing round-trips.

use drill::*;
use proptest::prelude::*;
use std::net::Ipv4Addr;

const CORPUS: &[&str] = &[
    include_str!("corpus/passive_open.pkt"),
    include_str!("corpus/active_open.pkt"),
    include_str!("corpus/data_exchange.pkt"),
    include_str!("corpus/urgent.pkt"),
    include_str!("corpus/blocking_accept.pkt"),
    include_str!("corpus/poll.pkt"),
    include_str!("corpus/sockopts.pkt"),
    include_str!("corpus/linger.pkt"),
    include_str!("corpus/udp.pkt"),
    include_str!("corpus/icmp.pkt"),
    include_str!("corpus/close_and_timers.pkt"),
    include_str!("corpus/misc.pkt"),
];

/// Fragments that steer random text towards almost-valid scripts.
const FRAGMENTS: &[&str] = &[
    "0",
    "+0",
    "+.1",
    ".1",
    "0.100",
    "*",
    "~",
    "...",
    "<",
    ">",
    "S",
    "S.",
    ".",
    "P.",
    "F.",
    "R",
    "-",
    "0:0(0)",
    "1:1001(1000)",
    "1:",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "|",
    ":",
    "ack",
    "win",
    "urg",
    "1",
    "65535",
    "99999999999999999999",
    "0x",
    "0xff",
    "<...>",
    "<mss 1000>",
    "mss",
    "TS",
    "val",
    "ecr",
    "sack",
    "sackOK",
    "nop",
    "wscale",
    "udp",
    "icmp",
    "mtu",
    "unreachable",
    "socket",
    "accept(3, ..., ...)",
    "= 4",
    "= -1",
    "EAGAIN",
    "(text)",
    "\"",
    "\"str\"",
    "\\",
    "\\x",
    "/*",
    "*/",
    "//",
    "\n",
    " ",
    "\t",
    "--mss=1",
    "--",
    "`",
    "%{",
    "}%",
    "192.0.2.1",
    "192.0.2.1:80",
    "htons(",
    "{fd=3}",
    "é",
    "\u{0}",
];

fn mutate(src: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for &(op, at, arg) in edits {
        let n = chars.len();
        let at = if n == 0 { 0 } else { at % (n + 1) };
        match op % 4 {
            0 => {
                let end = (at + arg % 8).min(n);
                chars.drain(at..end);
            }
            1 => {
                let frag = FRAGMENTS[arg % FRAGMENTS.len()];
                for (i, c) in frag.chars().enumerate() {
                    chars.insert(at + i, c);
                }
            }
            2 if at < n => {
                let frag: Vec<char> = FRAGMENTS[arg % FRAGMENTS.len()].chars().collect();
                if let Some(&c) = frag.first() {
                    chars[at] = c;
                }
            }
            _ => {
                let end = (at + arg % 16).min(n);
                let dup: Vec<char> = chars[at..end].to_vec();
                for (i, c) in dup.into_iter().enumerate() {
                    chars.insert(end + i, c);
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,8}"
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        Just(Expr::Ellipsis),
        any::<i64>().prop_map(Expr::Int),
        ident().prop_map(Expr::Ident),
        any::<String>().prop_map(Expr::Str),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|ops| {
                // `a|(b|c)` prints as `a|b|c`, which parses flat.
                let mut flat = Vec::new();
                for op in ops {
                    match op {
                        Expr::Or(more) => flat.extend(more),
                        other => flat.push(other),
                    }
                }
                Expr::Or(flat)
            }),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Expr::Array),
            prop::collection::vec((prop::option::of(ident()), inner.clone()), 0..4).prop_map(
                |fields| {
                    Expr::Struct(
                        fields
                            .into_iter()
                            .map(|(name, value)| Field { name, value })
                            .collect(),
                    )
                }
            ),
            (ident(), prop::collection::vec(inner, 0..3))
                .prop_map(|(name, args)| Expr::Call { name, args }),
        ]
    })
}

fn syscall_event() -> impl Strategy<Value = (EventTime, Syscall)> {
    let result = prop_oneof![
        expr().prop_map(|value| (value, None)),
        prop::sample::select(vec!["EAGAIN", "EINPROGRESS", "ECONNRESET", "EBADF"])
            .prop_map(|e| (Expr::Int(-1), Some(e.to_string()))),
    ];
    (
        any::<bool>(),
        0u64..10_000_000_000,
        prop::option::of(0u64..10_000_000),
        ident(),
        prop::collection::vec(expr(), 0..4),
        result,
        prop::option::of("[A-Za-z]+( [A-Za-z0-9_|]+){0,4}"),
    )
        .prop_map(|(rel, start, extra, name, args, (value, errno), note)| {
            let time = if rel {
                EventTime::Relative(start)
            } else {
                EventTime::Absolute(start)
            };
            let call = Syscall {
                end: extra.map(|e| start + e),
                name,
                args,
                result: SyscallResult { value, errno, note },
            };
            (time, call)
        })
}

fn tcp_option() -> impl Strategy<Value = TcpOptionSpec> {
    prop_oneof![
        Just(TcpOptionSpec::Nop),
        Just(TcpOptionSpec::Eol),
        Just(TcpOptionSpec::SackPermitted),
        any::<u16>().prop_map(TcpOptionSpec::Mss),
        any::<u8>().prop_map(TcpOptionSpec::WindowScale),
        prop::collection::vec((any::<u32>(), any::<u32>()), 1..4).prop_map(TcpOptionSpec::Sack),
        (any::<u32>(), any::<u32>()).prop_map(|(val, ecr)| TcpOptionSpec::Timestamp { val, ecr }),
    ]
}

fn seq() -> impl Strategy<Value = (u32, u32, u16)> {
    (any::<u32>(), any::<u16>()).prop_map(|(start, len)| {
        let start = start.min(u32::MAX - u32::from(len));
        (start, start + u32::from(len), len)
    })
}

fn proto() -> impl Strategy<Value = PacketProto> {
    let tcp = (
        (any::<u8>(), any::<bool>()),
        seq(),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u16>()),
        prop::option::of(any::<u16>()),
        prop::option::of(prop::collection::vec(tcp_option(), 0..6)),
    )
        .prop_map(
            |((flags, absolute), (seq_start, seq_end, len), ack, win, urg, options)| {
                PacketProto::Tcp(TcpPacket {
                    flags: TcpFlags(flags),
                    absolute,
                    seq_start,
                    seq_end,
                    len,
                    ack,
                    win,
                    urg,
                    options,
                })
            },
        );
    let quoted = prop_oneof![
        seq().prop_map(|(seq_start, seq_end, len)| IcmpQuoted::Tcp {
            seq_start,
            seq_end,
            len
        }),
        any::<u16>().prop_map(|len| IcmpQuoted::Udp { len }),
    ];
    let icmp = (
        ident(),
        prop::option::of(ident().prop_filter("mtu is a keyword", |c| c != "mtu")),
        prop::option::of(any::<u16>()),
        prop::option::of(quoted),
    )
        .prop_map(|(icmp_type, code, mtu, quoted)| {
            PacketProto::Icmp(IcmpPacket {
                icmp_type,
                code,
                mtu,
                quoted,
            })
        });
    prop_oneof![
        tcp,
        any::<u16>().prop_map(|len| PacketProto::Udp(UdpPacket { len })),
        icmp,
    ]
}

fn packet_event() -> impl Strategy<Value = (EventTime, Packet)> {
    let endpoints = (
        prop::option::of(any::<u32>().prop_map(Ipv4Addr::from)),
        any::<u16>(),
        prop::option::of(any::<u32>().prop_map(Ipv4Addr::from)),
        any::<u16>(),
    )
        .prop_map(|(src_addr, src_port, dst_addr, dst_port)| Endpoints {
            src_addr,
            src_port,
            dst_addr,
            dst_port,
        });
    let time = prop_oneof![
        (0u64..1 << 40).prop_map(EventTime::Absolute),
        (0u64..1 << 40).prop_map(EventTime::Relative),
        Just(EventTime::Any),
        (0u64..1 << 40, 0u64..1 << 30).prop_map(|(start, d)| EventTime::AbsoluteRange {
            start,
            end: start + d
        }),
        (0u64..1 << 40, 0u64..1 << 30).prop_map(|(start, d)| EventTime::RelativeRange {
            start,
            end: start + d
        }),
    ];
    let ip = (
        prop::option::of(any::<u8>()),
        prop::option::of(any::<u8>()),
        any::<bool>(),
    )
        .prop_map(|(tos, ttl, not_ect)| IpFields { tos, ttl, not_ect });
    (
        time,
        any::<bool>(),
        prop::option::of(endpoints),
        ip,
        proto(),
    )
        .prop_map(|(mut time, outbound, addrs, ip, mut proto)| {
            let direction = if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            if !outbound {
                // `*`, ranges and `<...>` are for expected packets only.
                if !matches!(time, EventTime::Absolute(_) | EventTime::Relative(_)) {
                    time = EventTime::Absolute(0);
                }
                if let PacketProto::Tcp(t) = &mut proto {
                    t.options.get_or_insert_with(Vec::new);
                }
            }
            (
                time,
                Packet {
                    direction,
                    addrs,
                    ip,
                    proto,
                },
            )
        })
}

fn single_event(src: &str) -> Event {
    let script = match parse(src) {
        Ok(s) => s,
        Err(e) => panic!("{e}\n--- source ---\n{src}"),
    };
    assert_eq!(script.events.len(), 1, "{src}");
    script
        .events
        .into_iter()
        .next()
        .unwrap_or_else(|| unreachable!())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_fragments_never_panic(
        picks in prop::collection::vec(0..FRAGMENTS.len(), 0..60),
        spaces in prop::collection::vec(any::<bool>(), 60),
    ) {
        let mut src = String::new();
        for (i, p) in picks.into_iter().enumerate() {
            src.push_str(FRAGMENTS[p]);
            if spaces[i] {
                src.push(' ');
            }
        }
        let _ = parse(&src);
    }

    #[test]
    fn mutated_scripts_never_panic(
        which in 0..CORPUS.len(),
        edits in prop::collection::vec((0usize..4, any::<usize>(), any::<usize>()), 1..6),
    ) {
        let src = mutate(CORPUS[which], &edits);
        if let Err(e) = parse(&src) {
            // Errors point inside the text (or just past the end of a line).
            let lines: Vec<&str> = src.split('\n').collect();
            prop_assert!(e.line >= 1 && e.line <= lines.len(), "{e}");
            let width = lines[e.line - 1].chars().count();
            prop_assert!(e.column >= 1 && e.column <= width + 1, "{e}");
        }
    }

    #[test]
    fn packets_round_trip((time, packet) in packet_event()) {
        let src = format!("{time} {packet}\n");
        let event = single_event(&src);
        prop_assert_eq!(event.time, time);
        prop_assert_eq!(event.kind, EventKind::Packet(packet));
    }

    #[test]
    fn syscalls_round_trip((time, call) in syscall_event()) {
        let event = Event { line: 1, time, kind: EventKind::Syscall(call) };
        let src = event.to_string();
        prop_assert_eq!(single_event(&src), event);
    }
}

#[test]
fn corpus_round_trips_through_print() {
    for src in CORPUS {
        let script = parse(src).unwrap_or_else(|e| panic!("{e}"));
        let again = parse(&script.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let strip = |s: &Script| -> Vec<(EventTime, EventKind)> {
            s.events.iter().map(|e| (e.time, e.kind.clone())).collect()
        };
        assert_eq!(strip(&again), strip(&script));
        assert_eq!(again.options, script.options);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["[", "{", "f(", "{a="] {
        let src = format!("0 g({}) = 0", open.repeat(100_000));
        assert!(parse(&src).is_err());
    }
}
