//! The interpreter never panics, whatever the script: random sequences of
//! calls and packets (most of them nonsense for the stack), and the
//! parser's corpus, all run to a PASS or a FAIL with a message.

use drill::{run_source, RunOptions};
use proptest::prelude::*;

/// Lines in script syntax, many of them wrong on purpose.
const LINES: &[&str] = &[
    "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
    "socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3",
    "socket(..., SOCK_STREAM|SOCK_NONBLOCK, 0) = 4",
    "socket(99, 77, 1) = -1 EAFNOSUPPORT (x)",
    "bind(3, ..., ...) = 0",
    "bind(4, {sin_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"0.0.0.0\")}, 16) = 0",
    "bind(3, {sin_family=7}, 16) = 0",
    "listen(3, -5) = 0",
    "listen(4, 2147483647) = 0",
    "accept(3, ..., ...) = 4",
    "accept4(3, ..., ..., SOCK_NONBLOCK) = 5",
    "connect(3, ..., ...) = -1 EINPROGRESS (x)",
    "connect(4, {sa_family=AF_UNSPEC}, 16) = 0",
    "read(4, ..., 1000) = 10",
    "read(3, ..., -1) = -1 EINVAL (x)",
    "recv(4, ..., 99999999999, MSG_PEEK|MSG_OOB) = ...",
    "recvfrom(3, ..., 100, 0, ..., ...) = 10",
    "write(4, ..., 100000) = 100000",
    "write(3, \"hello\", 5) = 5",
    "send(4, ..., 1, MSG_OOB) = 1",
    "sendto(3, ..., 65535, 0, ..., ...) = 65535",
    "sendto(3, ..., 10, 0, {sin_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr(\"255.255.255.255\")}, 16) = -1 EACCES (x)",
    "close(3) = 0",
    "close(4) = 0",
    "close(-1) = -1 EBADF (x)",
    "shutdown(4, SHUT_WR) = 0",
    "shutdown(4, 77) = 0",
    "setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0",
    "setsockopt(3, SOL_SOCKET, SO_RCVBUF, [-1], 4) = 0",
    "setsockopt(4, IPPROTO_TCP, TCP_MAXSEG, [99999999], 4) = 0",
    "setsockopt(3, IPPROTO_IP, IP_TTL, [0], 4) = 0",
    "getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0",
    "getsockopt(4, SOL_SOCKET, SO_LINGER, {l_onoff=0, l_linger=0}, [8]) = 0",
    "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
    "fcntl(4, 12345) = 0",
    "ioctl(4, FIONREAD, [0]) = 0",
    "ioctl(4, SIOCATMARK, [1]) = 0",
    "poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1",
    "poll([{fd=99, events=-1}], 1, -1) = 1",
    "poll([], 0, 10) = 0",
    "poll(3, 1, 0) = 0",
    "getsockname(3, ..., ...) = 0",
    "getpeername(4, {sin_port=htons(1)}, [16]) = 0",
    "frob(1, 2) = 0",
    "< S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 14>",
    "< S 4294967295:4294967295(0) win 0 <mss 0,wscale 255>",
    "< . 1:1(0) ack 1 win 257",
    "< P. 1:65536(65535) ack 1 win 1000",
    "< F. 1:1(0) ack 1 win 1000",
    "< R. 1:1(0) ack 1 win 0",
    "< U. 1:2(1) ack 1 urg 1 win 100",
    "< . 1:1(0) ack 1 win 100 <sack 1:2 3:4 5:6 7:8,nop,nop>",
    "< . 1:1(0) ack 1 win 100 <nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop>",
    "< udp (0)",
    "< udp (65535)",
    "< 1 > 2 udp (10)",
    "< 10.0.0.9:5 > 192.168.0.1:8080 udp (3)",
    "< icmp unreachable port_unreachable [udp (10)]",
    "< icmp unreachable frag_needed mtu 68 [1:1461(1460)]",
    "< icmp unreachable code_200",
    "< icmp bogus_type",
    "< icmp echo_request",
    "< icmp time_exceeded ttl_exceeded",
    "> S. 0:0(0) ack 1 <...>",
    "> . 1:1(0) ack 1",
    "> R 0:0(0)",
    "> udp (10)",
    "> icmp unreachable port_unreachable",
    "> icmp bogus",
];

const TIMES: &[&str] = &[
    "0",
    "+0",
    "+0.1",
    "+1",
    "+0...0.2",
    "+0...0",
    "5",
    "*",
    "+0.1~+0.3",
    "+100",
];

fn script() -> impl Strategy<Value = String> {
    prop::collection::vec((0..TIMES.len(), 0..LINES.len(), any::<bool>()), 1..24).prop_map(
        |events| {
            // Two sockets first (fd 3 TCP, fd 4 UDP), so calls reach the stack.
            let mut s = String::from(
            "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = ...\n+0 socket(..., SOCK_DGRAM, 0) = ...\n",
        );
            for (t, l, lenient) in events {
                let (time, line) = (TIMES[t], LINES[l]);
                // Mostly don't check results, so scripts get deep into the stack.
                let lenient_line;
                let line = match line.split_once(" = ") {
                    Some((call, _)) if lenient => {
                        lenient_line = format!("{call} = ...");
                        lenient_line.as_str()
                    }
                    _ => line,
                };
                // '*' and ranges only parse on outbound packets; '...' only on calls.
                let packet = line.starts_with('<') || line.starts_with('>');
                let outbound_only = time == "*" || time.contains('~');
                let time = if (outbound_only && !line.starts_with('>'))
                    || (time.contains("...") && packet)
                {
                    "+0"
                } else {
                    time
                };
                s.push_str(&format!("{time} {line}\n"));
            }
            s
        },
    )
}

fn no_panic(name: &str, src: &str) {
    let r = run_source(
        name,
        src,
        &RunOptions {
            verbose: true,
            ..RunOptions::default()
        },
    );
    if let Some(f) = &r.failure {
        assert!(!f.message.contains("panic"), "{r}\n--- script ---\n{src}");
    }
}

proptest! {
    // PROPTEST_CASES=100000 for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_scripts_do_not_panic(src in script()) {
        no_panic("random.pkt", &src);
    }
}

#[test]
fn parser_corpus_runs_without_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for p in drill::collect_scripts(&[dir]).expect("corpus") {
        let src = std::fs::read_to_string(&p).expect("readable");
        no_panic(&p.display().to_string(), &src);
    }
}

#[test]
fn odd_options_fail_cleanly() {
    for opt in [
        "--mtu=20",
        "--mss=4294967295",
        "--local_ip=255.255.255.255",
        "--remote_ip=192.168.0.1",
        "--tolerance_percent=1000",
        "--gateway_ip=10.0.0.1",
        "--prefix_len=40",
        "--any_wait_usecs=0",
    ] {
        no_panic(
            "opts.pkt",
            &format!(
                "{opt}\n0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n+0 < udp (1)\n* > udp (1)\n"
            ),
        );
    }
}

/// The generated scripts are worth running: they get past the parser and reach
/// the stack in many different ways (some pass, and no single failure dominates),
/// so the no-panic property above covers more than the first line of a script.
#[test]
fn generated_scripts_reach_the_stack_in_many_ways() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut counts = std::collections::BTreeMap::new();
    let total = 300;
    for _ in 0..total {
        let src = script().new_tree(&mut runner).unwrap().current();
        let r = run_source("x", &src, &RunOptions::default());
        let key = r
            .failure
            .map_or("PASS".to_string(), |f| f.message.chars().take(40).collect());
        *counts.entry(key).or_insert(0usize) += 1;
    }
    let passed = counts.get("PASS").copied().unwrap_or(0);
    let largest = counts.values().copied().max().unwrap_or(0);
    assert!(passed > 0, "no generated script passed: {counts:#?}");
    assert!(counts.len() >= 10, "too few distinct outcomes: {counts:#?}");
    assert!(largest * 2 <= total, "one outcome dominates: {counts:#?}");
}
