//! Malformed scripts: each error has a precise line, column and message.

use drill::parse_named;

/// Parses `src` and checks the error is `script.pkt:LINE:COL: ...` with a
/// message containing `needle`.
#[track_caller]
fn assert_error(src: &str, line: usize, col: usize, needle: &str) {
    let err = match parse_named("script.pkt", src) {
        Ok(s) => panic!("parsed unexpectedly: {s:?}"),
        Err(e) => e,
    };
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("script.pkt:{line}:{col}: ")),
        "wrong position: {shown}"
    );
    assert!(shown.contains(needle), "wrong message: {shown}");
}

const HEADER: &str = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n";

#[test]
fn unterminated_block_comment() {
    assert_error(
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n  /* forgot to close\n+0 close(3) = 0\n",
        2,
        3,
        "unterminated comment",
    );
}

#[test]
fn earlier_syntax_error_wins_over_later_lexical_error() {
    assert_error("0 close(3 = 0\n/* open", 1, 11, "expected ',' or ')'");
}

#[test]
fn bad_tcp_flag() {
    assert_error(
        &format!("{HEADER}+0 < SX 0:0(0) win 100\n"),
        2,
        7,
        "unknown TCP flag 'X'",
    );
    assert_error(
        &format!("{HEADER}+0 > SS. 0:0(0)\n"),
        2,
        7,
        "duplicate TCP flag 'S'",
    );
    assert_error(
        &format!("{HEADER}+0 > S-. 0:0(0)\n"),
        2,
        7,
        "'-' (no flags)",
    );
}

#[test]
fn sequence_length_mismatch() {
    assert_error(
        &format!("{HEADER}+0 < P. 1:10(5) ack 1 win 100\n"),
        2,
        9,
        "sequence range 1:10 covers 9 bytes but the length is (5)",
    );
    assert_error(
        &format!("{HEADER}+0 < P. 10:1(0) ack 1\n"),
        2,
        9,
        "ends before it starts",
    );
}

#[test]
fn missing_result() {
    // Reported at the end of the call, not on the next line.
    assert_error(
        &format!("{HEADER}+0 close(3)\n+0 close(4) = 0\n"),
        2,
        12,
        "expected '=' and the expected result after close(...), found end of line",
    );
    assert_error(
        &format!("{HEADER}+0 close(3) = \n"),
        2,
        14,
        "expected an expression, found end of file",
    );
}

#[test]
fn missing_close_paren() {
    assert_error(
        &format!("{HEADER}+0 write(4, ..., 10 = 10\n"),
        2,
        21,
        "expected ',' or ')' after arguments, found '='",
    );
}

#[test]
fn errno_format() {
    assert_error(
        &format!("{HEADER}+0 connect(3, ..., ...) = -1 einprogress\n"),
        2,
        30,
        "expected an errno name such as EAGAIN after the result, found 'einprogress'",
    );
    assert_error(
        &format!("{HEADER}+0 connect(3, ..., ...) = -1 ENOTANERRNO (Oops)\n"),
        2,
        30,
        "unknown errno 'ENOTANERRNO'",
    );
    assert_error(
        &format!("{HEADER}+0 connect(3, ..., ...) = 0 EINPROGRESS\n"),
        2,
        27,
        "an errno (EINPROGRESS) can only follow a -1 result",
    );
    assert_error(
        &format!("{HEADER}+0 connect(3, ..., ...) = -1 115\n"),
        2,
        30,
        "expected an errno name",
    );
    assert_error(
        &format!("{HEADER}+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now\n"),
        2,
        42,
        "unterminated note",
    );
}

#[test]
fn shell_and_python_lines() {
    assert_error(
        &format!("{HEADER}`sysctl -q net.ipv4.tcp_timestamps=0`\n"),
        2,
        1,
        "shell command lines (`...`) are not supported",
    );
    assert_error(
        &format!("{HEADER}+0 `echo hi`\n"),
        2,
        4,
        "shell command lines",
    );
    assert_error(
        &format!("{HEADER}+0 %{{ print(tcpi_rto) }}%\n"),
        2,
        4,
        "python code blocks",
    );
}

#[test]
fn time_errors() {
    assert_error("close(3) = 0\n", 1, 1, "expected an event time");
    assert_error("+ close(3) = 0\n", 1, 3, "expected a time after '+'");
    assert_error(
        "0.0000001 close(3) = 0\n",
        1,
        1,
        "more precise than a microsecond",
    );
    assert_error("0.2~0.1 > S 0:0(0)\n", 1, 5, "time range is backwards");
    assert_error("+0.1~0.2 > S 0:0(0)\n", 1, 6, "expected '+' after '~'");
    assert_error("0.1~+0.2 > S 0:0(0)\n", 1, 5, "all absolute");
    assert_error(
        "* close(3) = 0\n",
        1,
        1,
        "'*' (any time) is only allowed on outbound",
    );
    assert_error(
        "0.1~0.2 < S 0:0(0)\n",
        1,
        1,
        "time ranges are only allowed on outbound",
    );
    assert_error(
        "0.5...0.2 accept(3, ..., ...) = 4\n",
        1,
        7,
        "cannot return before it starts",
    );
}

#[test]
fn packet_errors() {
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) win 70000\n"),
        2,
        19,
        "window 70000 is out of range (0..=65535)",
    );
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) win 100 ack 1 ack 2\n"),
        2,
        29,
        "duplicate 'ack' field",
    );
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) window 100\n"),
        2,
        15,
        "unknown TCP field 'window'",
    );
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) win 100 <...>\n"),
        2,
        23,
        "'<...>' (don't check options) is only allowed on outbound",
    );
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) <mss 1000,fastopen>\n"),
        2,
        25,
        "unknown TCP option 'fastopen'",
    );
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) <mss 1000 wscale 7>\n"),
        2,
        25,
        "expected ',' or '>' in the TCP option list, found 'wscale'",
    );
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) <TS val 1>\n"),
        2,
        24,
        "expected 'ecr' after the TS val, found '>'",
    );
    assert_error(
        &format!("{HEADER}+0 < S 0:0(0) <wscale 300>\n"),
        2,
        23,
        "wscale 300 is out of range (0..=255)",
    );
    assert_error(&format!("{HEADER}+0 <\n"), 2, 5, "expected TCP flags");
    assert_error(
        &format!("{HEADER}+0 < S 0:0 win 1\n"),
        2,
        12,
        "expected '(' and the payload length",
    );
    assert_error(
        &format!("{HEADER}+0 < udp 100\n"),
        2,
        13,
        "expected '>' between the source and destination ports",
    );
    assert_error(
        &format!("{HEADER}+0 < 192.0.2.300:5000 > 192.168.0.1:8080 udp (10)\n"),
        2,
        6,
        "invalid IPv4 address '192.0.2.300'",
    );
    assert_error(
        &format!("{HEADER}+0 < 1.2.3.4:99999 > 5.6.7.8:1 udp (10)\n"),
        2,
        14,
        "port 99999 is out of range",
    );
    assert_error(
        &format!("{HEADER}+0 < icmp\n"),
        2,
        10,
        "expected an ICMP type",
    );
    assert_error(
        &format!("{HEADER}+0 < icmp unreachable frag_needed mtu 1200 [1:5(3)]\n"),
        2,
        45,
        "covers 4 bytes",
    );
}

#[test]
fn missing_event_time() {
    assert_error(
        "0 < S 0:0(0) win 100\n> S. 0:0(0) ack 1\n",
        2,
        1,
        "expected an event time such as 0, 0.100, +0.1 or *, found '>'",
    );
}

#[test]
fn one_event_per_line() {
    assert_error(
        &format!("{HEADER}+0 close(3) = 0 +0 close(4) = 0\n"),
        2,
        17,
        "unexpected '+' after the end of the event",
    );
    assert_error(
        &format!("{HEADER}+0 > S. 0:0(0) ack 1 ; \n"),
        2,
        22,
        "unexpected character ';'",
    );
}

#[test]
fn expression_errors() {
    assert_error(
        &format!("{HEADER}+0 write(3, \"abc, 3) = 3\n"),
        2,
        13,
        "unterminated string literal",
    );
    assert_error(
        &format!("{HEADER}+0 write(3, \"a\\qb\", 3) = 3\n"),
        2,
        15,
        "unknown escape '\\q'",
    );
    assert_error(
        &format!(
            "{HEADER}+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {{l_onoff=1 l_linger=0}}, 8) = 0\n"
        ),
        2,
        52,
        "expected ',' or '}' after struct field",
    );
    assert_error(
        &format!("{HEADER}+0 read(3, 99999999999999999999, 1) = 1\n"),
        2,
        12,
        "integer 99999999999999999999 is out of range",
    );
    assert_error(
        &format!("{HEADER}+0 read(3, 12ab, 1) = 1\n"),
        2,
        12,
        "invalid integer '12ab'",
    );
    assert_error(
        &format!("{HEADER}+0 read(3, O_RDWR|, 1) = 1\n"),
        2,
        19,
        "expected an expression, found ','",
    );
    let deep = format!("0 f({}1{}) = 0", "[".repeat(100), "]".repeat(100));
    assert_error(&deep, 1, 37, "nested too deeply");
}

#[test]
fn options_after_events() {
    assert_error(
        &format!("{HEADER}--mss=1000\n"),
        2,
        1,
        "option '--mss' must come before the first event",
    );
    assert_error("-- =1\n", 1, 1, "expected an option name after '--'");
}
