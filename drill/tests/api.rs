//! The public API of the runner: options, verbose transcripts, XFAIL, files.

use drill::{collect_scripts, run_script, run_source, RunOptions};

const ECHO: &str = "\
0     socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
+0    bind(3, ..., ...) = 0
+0.5  < udp (10)
+0    recvfrom(3, ..., 100, 0, ..., ...) = 10
+0    sendto(3, ..., 10, 0, ..., ...) = 10
";

fn run(src: &str) -> drill::ScriptResult {
    run_source("t.pkt", src, &RunOptions::default())
}

#[test]
fn any_time_and_ranges() {
    assert!(run(&format!("{ECHO}*     > udp (10)\n")).passed);
    assert!(run(&format!("{ECHO}0.4~0.6 > udp (10)\n")).passed);
    assert!(run(&format!("{ECHO}+0~+0.1 > udp (10)\n")).passed);
    let r = run(&format!("{ECHO}0.6~0.7 > udp (10)\n"));
    let f = r.failure.expect("early");
    assert_eq!(f.line, 6);
    assert!(
        f.message
            .contains("expected the outbound packet at 0.6~0.7 s"),
        "{}",
        f.message
    );
}

#[test]
fn tolerance_rule() {
    // The datagram leaves when ARP is answered, `delay` after the sendto; the
    // script expects it 1 s after: 12.5 % of the 1 s gap is 125 ms.
    let script = |delay: u64| {
        format!(
            "--arp_delay_usecs={delay}\n\
             0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n\
             +0 sendto(3, ..., 10, 0, ..., ...) = 10\n\
             +1 > udp (10)\n"
        )
    };
    for (delay, ok) in [
        (875_000, true),
        (874_999, false),
        (1_125_000, true),
        (1_125_001, false),
    ] {
        let r = run(&script(delay));
        assert_eq!(r.passed, ok, "delay {delay}: {r}");
    }
    // For short gaps the floor is --tolerance_usecs (4 ms by default);
    // overrides apply after the script's own options.
    let tight = "--arp_delay_usecs=10000\n\
                 0 socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3\n\
                 +0 sendto(3, ..., 10, 0, ..., ...) = 10\n\
                 +0 > udp (10)\n";
    assert!(!run(tight).passed);
    let opts = RunOptions {
        overrides: vec![("tolerance_usecs".into(), "10000".into())],
        ..RunOptions::default()
    };
    assert!(run_source("t.pkt", tight, &opts).passed);
    let bad = RunOptions {
        overrides: vec![("nope".into(), "1".into())],
        ..RunOptions::default()
    };
    let r = run_source("t.pkt", ECHO, &bad);
    assert!(r
        .failure
        .unwrap()
        .message
        .contains("command line: unknown option --nope"));
}

#[test]
fn verbose_transcript() {
    let opts = RunOptions {
        verbose: true,
        ..RunOptions::default()
    };
    let r = run_source("t.pkt", &format!("{ECHO}+0 > udp (10)\n"), &opts);
    assert!(r.passed, "{r}");
    let log = r.log.join("\n");
    assert!(log.contains("  0.500000 < udp (10)"), "{log}");
    assert!(log.contains("  0.500000 > udp (10)"), "{log}");
    assert!(
        log.contains("recvfrom(3, ..., 100, 0, ..., ...) = 10"),
        "{log}"
    );
    assert!(log.contains("ARP who-has 192.168.0.2"), "{log}");
    assert_eq!(r.duration, 500_000);
    assert!(run(ECHO).log.is_empty() || !run(ECHO).passed);
}

#[test]
fn xfail_and_xpass() {
    let failing = format!("// XFAIL: the stack is wrong here\n{ECHO}");
    let r = run(&failing);
    assert!(!r.passed && r.ok(), "{r}");
    assert_eq!(r.verdict(), "XFAIL");
    assert!(r.summary().contains("known bug: the stack is wrong here"));
    let passing = format!("// XFAIL: fixed already\n{ECHO}+0 > udp (10)\n");
    let r = run(&passing);
    assert!(r.passed && !r.ok());
    assert_eq!(r.verdict(), "XPASS");
}

#[test]
fn files_and_directories() {
    let r = run_script("/nonexistent/x.pkt");
    assert!(!r.passed);
    assert!(r.failure.unwrap().message.starts_with("cannot read"));
    assert!(collect_scripts(&["/nonexistent"]).is_err());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/meta");
    let all = collect_scripts(&[&dir]).unwrap();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert!(all.iter().all(|p| p.extension().unwrap() == "pkt"));
}

#[test]
fn explicit_addresses_and_ports() {
    // A second remote host on the link, named in the script: ARP is answered for it.
    let src = "\
0     socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
+0    bind(3, ..., ...) = 0
+0    < 192.168.0.77:7 > 192.168.0.1:8080 udp (4)
+0    recvfrom(3, ..., 100, 0, {sin_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr(\"192.168.0.77\")}, ...) = 4
+0    sendto(3, ..., 4, 0, {sin_family=AF_INET, sin_port=htons(7), sin_addr=inet_addr(\"192.168.0.77\")}, 16) = 4
+0    > 192.168.0.1:8080 > 192.168.0.77:7 udp (4)
";
    let r = run(src);
    assert!(r.passed, "{r}");
}

#[test]
fn compat_mode_skips_platform_lines_and_matches_option_sets() {
    // A FreeBSD-style script: a sysctl line, a python assertion, and the
    // SYN-ACK's options in FreeBSD's order with padding.
    let script = "0 `sysctl -w net.inet.tcp.sack.enable=1`\n\
                  +0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                  +0 bind(3, ..., ...) = 0\n\
                  +0 listen(3, 1) = 0\n\
                  +0 < S 0:0(0) win 65535 <mss 1460,sackOK,eol,eol>\n\
                  +0 > S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,eol,eol>\n\
                  +0 %{ assert tcpi_state == 1 }%\n\
                  +0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0\n";
    let strict = run_source("t.pkt", script, &RunOptions::default());
    assert!(!strict.passed, "strict mode refuses shell lines");
    let opts = compat(drill::Compat::FreeBsd);
    let r = run_source("t.pkt", script, &opts);
    assert!(r.passed, "{r}");
    assert!(
        r.log
            .iter()
            .any(|l| l.contains("shell command skipped: sysctl")),
        "{:?}",
        r.log
    );
    // A different option (not just order) still fails.
    let wrong = script.replace(
        "> S. 0:0(0) ack 1 win 65535 <mss 1460,",
        "> S. 0:0(0) ack 1 win 65535 <mss 1000,",
    );
    assert!(!run_source("t.pkt", &wrong, &opts).passed);
}

#[test]
fn compat_mode_lets_unlisted_outbound_packets_go_by() {
    // The SYN-ACK is not listed: strict mode fails on it, compat mode notes it.
    let script = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                  +0 bind(3, ..., ...) = 0\n\
                  +0 listen(3, 1) = 0\n\
                  +0 < S 0:0(0) win 65535 <mss 1460>\n\
                  +.1 < . 1:1(0) ack 1 win 65535\n\
                  +0 accept(3, ..., ...) = 4\n";
    let strict = run_source("t.pkt", script, &RunOptions::default());
    assert!(!strict.passed);
    assert!(
        strict
            .failure
            .unwrap()
            .message
            .contains("unexpected outbound packet"),
        "strict mode names it"
    );
    let opts = compat(drill::Compat::Linux);
    let r = run_source("t.pkt", script, &opts);
    assert!(r.passed, "{r}");
    assert!(
        r.log
            .iter()
            .any(|l| l.contains("no line lists") && l.contains("S.")),
        "{:?}",
        r.log
    );
}

#[test]
fn compat_mode_matches_a_tso_super_segment_with_a_train() {
    // Linux writes what its TSO sends as one line; our stack sends
    // MSS-sized segments. Compat mode matches the train piece by piece.
    let script = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                  +0 bind(3, ..., ...) = 0\n\
                  +0 listen(3, 1) = 0\n\
                  +0 < S 0:0(0) win 65535 <mss 1000>\n\
                  +0 > S. 0:0(0) ack 1 <mss 1460>\n\
                  +.01 < . 1:1(0) ack 1 win 65535\n\
                  +0 accept(3, ..., ...) = 4\n\
                  +0 write(4, ..., 3000) = 3000\n\
                  +0 > P. 1:3001(3000) ack 1\n\
                  +.01 < . 1:1(0) ack 3001 win 65535\n";
    let strict = run_source("t.pkt", script, &RunOptions::default());
    assert!(!strict.passed, "strict mode wants the one segment");
    let opts = compat(drill::Compat::Linux);
    let r = run_source("t.pkt", script, &opts);
    assert!(r.passed, "{r}");
    // A train that stops short is still a failure, at the line.
    let short = script.replace("write(4, ..., 3000) = 3000", "write(4, ..., 2000) = 2000");
    let r = run_source("t.pkt", &short, &opts);
    assert_eq!(r.failure.map(|f| f.line), Some(9));
}

/// Run options for a corpus of `c`'s platform.
fn compat(c: drill::Compat) -> RunOptions {
    RunOptions {
        compat: Some(c),
        ..RunOptions::default()
    }
}
