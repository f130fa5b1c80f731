//! The `netstack` binary end to end: the demo (no root), and `netstack up` on a TAP in
//! a private namespace with the kernel pinging it.

use std::process::{Command, Stdio};

use netstack_tests::netns::Netns;
use netstack_tests::skip_unless_tap;

const BIN: &str = env!("CARGO_BIN_EXE_netstack");

#[test]
fn demo_runs_without_privileges_and_every_ping_is_answered() {
    let out = Command::new(BIN).args(["demo"]).output().expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("demo finished: every step worked"),
        "{stdout}"
    );
    assert!(stdout.contains("-->The sea is calm tonight"), "{stdout}");
    assert!(
        stdout.contains("receiver's messages: \"hello\" and \"how are you\""),
        "{stdout}"
    );
    assert!(!stdout.contains("[FAILED]"), "{stdout}");
    // The counters say what they count.
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("tcp_established") && l.contains("TCP connections established")),
        "{stdout}"
    );
    // The stream sections: Figures 7a-7c, the IPC notes' echo, the primer's Figure 5.
    for section in [
        "=== 5. 4.4BSD tutorial, Figures 7a and 7b",
        "=== 6. 4.4BSD tutorial, Figure 7c",
        "=== 7. Unix IPC notes",
        "=== 8. 4.2BSD primer, Figure 5",
        "=== 11. 4.4BSD tutorial, Figures 1, 3, 5a/5b, 9a/9b",
    ] {
        assert!(stdout.contains(section), "{section}: {stdout}");
    }
    assert!(
        stdout.contains("-->Half a league, half a league . . ."),
        "{stdout}"
    );
    assert!(stdout.contains("Do something else"), "{stdout}");
    assert!(stdout.contains("wrote 10"), "{stdout}");
    assert!(
        stdout.contains("client read back \"hellothere\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("out-of-band byte 0x02 (SIGINT)"),
        "{stdout}"
    );
    // The UNIX domain inside host A (section 11).
    for line in [
        "[A] -->Bright star, would I were steadfast as thou art . . .",
        "[A] -->In Xanadu, did Kublai Khan . . .",
        "[A] -->A stately pleasure dome decree . . .",
        "[A] socket -->socket",
        "[A] Socket has name socket",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    // The rwho server on two hosts, and ruptime (section 12).
    assert!(
        stdout.contains("=== 12. 4.2BSD primer, Figures 3 and 4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[ok] ruptime on host A lists both hosts up"),
        "{stdout}"
    );
    // rlogin between the two hosts, with an interrupt (section 13).
    assert!(
        stdout.contains("[ok] rlogin: the command ran on host B's shell"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[ok] the slides' named pipe (mkfifo): x + y = 30"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("[ok]").count(), 24, "{stdout}");
    // TCP frames, with the urgent pointer, and the bulk of the flood left out.
    assert!(
        stdout.contains("[S.]") && stdout.contains(" urg "),
        "{stdout}"
    );
    assert!(
        stdout.contains("frames of the transfer not shown"),
        "{stdout}"
    );
    // The transcript shows the frames.
    assert!(
        stdout.contains("ARP, Request who-has 10.0.0.2 tell 10.0.0.1"),
        "{stdout}"
    );
    assert!(stdout.contains("ICMP echo reply"), "{stdout}");
    assert!(stdout.contains("frag id"), "{stdout}");
}

/// `--only` runs the sections named: here the seeds' error cases and the lost
/// segment, each error printed as `perror` prints it by the host that got it.
#[test]
fn demo_only_runs_the_error_cases_and_the_retransmission() {
    let out = Command::new(BIN)
        .args(["demo", "--only", "9,10"])
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains("=== 1. ping"), "{stdout}");
    assert!(!stdout.contains("=== 8. "), "{stdout}");
    for line in [
        "[A] connect: Connection refused",
        "[A] 3 connects: 1 connected, 2 still waiting (B ignored 2 SYNs: its queue was full)",
        "[B] bind: Address already in use",
        "[B] bind: Permission denied",
        "[A] recv: Connection refused",
        "[B] recv(s, MSG_PEEK) = 8: \"peekaboo\"",
        "[B] read(s) = 0: end of file, A sends no more",
        "[A] read(s) = \"bye\" after its own shutdown, then end of file",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line}: {stdout}");
    }
    // The ladder of section 10: the spoiled segment ends in an X, and the same
    // sequence range crosses again.
    let lost: Vec<&str> = stdout.lines().filter(|l| l.ends_with("X |")).collect();
    assert_eq!(lost.len(), 1, "{stdout}");
    assert!(lost[0].contains("1001:2001(1000)"), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("|---. 1001:2001(1000)") && l.ends_with(">|"))
            .count(),
        1,
        "{stdout}"
    );
    assert_eq!(stdout.matches("[ok]").count(), 7, "{stdout}");
    assert!(!stdout.contains("[FAILED]"), "{stdout}");
}

#[test]
fn demo_draws_its_transcript_as_a_ladder() {
    let out = Command::new(BIN)
        .args(["demo", "--ladder"])
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("A 10.0.0.1") && stdout.contains("B 10.0.0.2"),
        "{stdout}"
    );
    // Every handshake: A's SYN to the right, B's SYN-ACK to the left.
    assert!(stdout.contains("        |---S 0:0(0) win "), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("        |<") && l.contains("S. 0:0(0) ack 1 win ")),
        "{stdout}"
    );
    assert!(
        stdout.contains("demo finished: every step worked"),
        "{stdout}"
    );
}

#[test]
fn up_answers_kernel_pings_and_prints_counters_when_time_is_up() {
    skip_unless_tap!();
    let ns = Netns::create("nscli").unwrap();
    ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "tap0"])
        .unwrap();
    ns.configure_tap("tap0", "10.0.0.1/24", 1500).unwrap();
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            BIN,
            "up",
            "--tap",
            "tap0",
            "--addr",
            "10.0.0.2/24",
            "--for",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netstack up");
    // Ping once the stack is up: requests sent before would wait for ARP in the
    // kernel and all be answered at once, more than the two counted below.
    let stderr = {
        use std::io::{BufRead, Read};
        let mut reader = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
            first + &rest
        })
    };
    let ping = ns.exec_ok(&[
        "ping", "-c", "2", "-i", "0.3", "-W", "2", "-w", "2", "10.0.0.2",
    ]);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = stderr.join().unwrap();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let ping = ping.expect("kernel ping answered");
    assert!(ping.contains("2 received"), "{ping}");
    let replies: u64 = stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("icmp_echo_replies")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("counters printed");
    assert_eq!(replies, 2, "{stdout}");
}

#[test]
fn up_on_a_busy_tap_is_a_one_line_error() {
    skip_unless_tap!();
    let ns = Netns::create("nscli").unwrap();
    let held = ns
        .run(|| stack::device::tap::TapDevice::open_plain("tap0", 1500))
        .unwrap();
    let out = ns
        .exec(&[
            BIN,
            "up",
            "--tap",
            "tap0",
            "--addr",
            "10.0.0.2/24",
            "--for",
            "0",
        ])
        .unwrap();
    drop(held);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("busy"), "{stderr}");
}

/// True when this process runs in the initial network namespace.
fn in_root_namespace() -> bool {
    let ours = std::fs::read_link("/proc/self/ns/net").ok();
    let initial = std::fs::read_link("/proc/1/ns/net")
        .or_else(|_| std::fs::read_link("/proc/2/ns/net"))
        .ok();
    ours.is_some() && ours == initial
}

#[test]
fn up_refuses_the_root_namespace_and_only_it() {
    // Checked before any TAP is opened: nothing is created or sent.
    let out = Command::new(BIN)
        .args(["up", "--tap", "nstestnever0", "--for", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if in_root_namespace() {
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("root network namespace"), "{stderr}");
    } else {
        // Elsewhere the same command gets past the check (it may fail later, on
        // the TAP, with another message).
        assert!(!stderr.contains("root network namespace"), "{stderr}");
    }
}

#[test]
fn up_runs_in_a_private_namespace() {
    skip_unless_tap!();
    let ns = Netns::create("nscliup").unwrap();
    ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "tap0"])
        .unwrap();
    ns.configure_tap("tap0", "10.0.0.1/24", 1500).unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN, "up", "--tap", "tap0"])
        .args(["--addr", "10.0.0.2/24", "--for", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("root network namespace"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn serve_echo_udp_answers_a_kernel_client() {
    skip_unless_tap!();
    let ns = Netns::create("nscli").unwrap();
    ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "tap0"])
        .unwrap();
    ns.configure_tap("tap0", "10.0.0.1/24", 1500).unwrap();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            BIN,
            "serve",
            "echo",
            "--udp",
            "--port",
            "7007",
            "--addr",
            "10.0.0.2/24",
            "--for",
            "4",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netstack serve");
    let sock = ns.run(|| std::net::UdpSocket::bind("10.0.0.1:0")).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    // The server needs a moment to come up: retry until it answers.
    let mut buf = [0u8; 64];
    let mut echoed = None;
    for _ in 0..10 {
        sock.send_to(b"echo me", "10.0.0.2:7007").unwrap();
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            echoed = Some((buf[..n].to_vec(), from));
            break;
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (data, from) = echoed.expect("no echo came back");
    assert_eq!(data, b"echo me");
    assert_eq!(from.to_string(), "10.0.0.2:7007");
}

#[test]
fn example_dgram_send_reaches_a_kernel_socket() {
    skip_unless_tap!();
    let ns = Netns::create("nscli").unwrap();
    ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "tap0"])
        .unwrap();
    ns.configure_tap("tap0", "10.0.0.1/24", 1500).unwrap();
    let sock = ns.run(|| std::net::UdpSocket::bind("10.0.0.1:0")).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let port = sock.local_addr().unwrap().port().to_string();
    let out = ns
        .exec(&[
            BIN,
            "example",
            "--addr",
            "10.0.0.2/24",
            "dgram-send",
            "10.0.0.1",
            &port,
        ])
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut buf = [0u8; 128];
    let (n, _) = sock.recv_from(&mut buf).expect("datagram from Figure 6b");
    assert_eq!(
        &buf[..n],
        b"The sea is calm tonight, the tide is full . . .\0"
    );
}

#[test]
fn drill_runs_the_corpus_and_fails_a_wrong_script() {
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/drill/tcp/passive_open.pkt"
    );
    let out = Command::new(BIN).args(["drill", corpus]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("PASS"), "{stdout}");
    // The same script with the SYN-ACK's flags wrong must fail, naming the line.
    let text = std::fs::read_to_string(corpus).unwrap();
    let wrong = text.replacen("> S.", "> S", 1);
    assert_ne!(wrong, text);
    let dir = std::env::temp_dir().join(format!("netstack-drill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wrong.pkt");
    std::fs::write(&path, wrong).unwrap();
    let out = Command::new(BIN).arg("drill").arg(&path).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("FAIL") && text.contains("wrong.pkt:"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A kernel TCP connection from inside `ns`, retried (every 100 ms, 50 times)
/// while our server is not listening yet.
fn connect_retrying(ns: &Netns, addr: &str) -> std::net::TcpStream {
    let mut last = None;
    for _ in 0..50 {
        match ns.run(|| std::net::TcpStream::connect(addr)) {
            Ok(s) => return s,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("cannot connect to {addr}: {last:?}");
}

/// A namespace with `tap0` for the binary and the kernel at 10.0.0.1.
fn tap_namespace() -> Netns {
    let ns = Netns::create("nscli").unwrap();
    ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "tap0"])
        .unwrap();
    ns.configure_tap("tap0", "10.0.0.1/24", 1500).unwrap();
    ns
}

#[test]
fn example_stream_write_reaches_a_kernel_listener() {
    skip_unless_tap!();
    let ns = tap_namespace();
    let listener = ns
        .run(|| std::net::TcpListener::bind("10.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let kernel = std::thread::spawn(move || {
        use std::io::Read;
        let (mut c, _) = listener.accept().unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        got
    });
    let out = ns
        .exec(&[
            BIN,
            "example",
            "--addr",
            "10.0.0.2/24",
            "stream-write",
            "10.0.0.1",
            &port,
        ])
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        kernel.join().unwrap(),
        b"Half a league, half a league . . .\0"
    );
}

#[test]
fn example_stream_accept_and_ipc_server_answer_kernel_clients() {
    skip_unless_tap!();
    use std::io::{BufRead, BufReader, Read, Write};
    let ns = tap_namespace();

    // Figure 7b for one connection, on a port given.
    let mut accept = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            BIN,
            "example",
            "--addr",
            "10.0.0.2/24",
        ])
        .args(["stream-accept", "--port", "6001", "--connections", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(accept.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert_eq!(first.trim(), "Socket has port 6001");
    // The port is printed before listen() (as in the C): retry a refusal.
    let mut c = connect_retrying(&ns, "10.0.0.2:6001");
    c.write_all(b"Into the valley of Death\0").unwrap();
    drop(c);
    let mut rest = String::new();
    lines.read_to_string(&mut rest).unwrap();
    assert!(accept.wait().unwrap().success());
    assert_eq!(rest, "-->Into the valley of Death\nEnding connection\n");

    // The IPC notes' server: echo 10 bytes.
    let server = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            BIN,
            "example",
            "--addr",
            "10.0.0.2/24",
        ])
        .args(["ipc-server", "6002"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The server listens once its stack is up; retry until it answers.
    let mut c = connect_retrying(&ns, "10.0.0.2:6002");
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    c.write_all(b"hello").unwrap();
    c.write_all(b"there").unwrap();
    let mut echoed = Vec::new();
    c.read_to_end(&mut echoed).unwrap();
    assert_eq!(echoed, b"hellothere");
    let out = server.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "wrote 10\n");
}

#[test]
fn serve_on_a_reserved_port_without_privileges_fails_with_the_reason() {
    skip_unless_tap!();
    let ns = tap_namespace();
    // No --for: the command would serve until a signal, were the bind to work.
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            BIN,
            "serve",
            "echo",
            "--port",
            "7",
        ])
        .args(["--addr", "10.0.0.2/24"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netstack serve");
    let mut status = None;
    for _ in 0..100 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if status.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.is_some(),
        "serve kept running after a failed bind: {stderr}"
    );
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("bind TCP port 7"), "{stderr}");
}

#[test]
fn every_example_runs_in_memory_against_its_partner_without_root() {
    let cases: [(&[&str], &str); 11] = [
        (&["dgram-recv"], "[B] -->The sea is calm tonight"),
        (
            &["dgram-send", "10.0.0.9", "5000"],
            "-->The sea is calm tonight",
        ),
        (&["receiver", "4567"], "[B] how are you"),
        (&["sender", "10.0.0.255", "4567"], "[A] how are you"),
        (&["stream-accept"], "-->Half a league"),
        (&["stream-select", "--timeout", "0.2"], "-->Half a league"),
        (&["stream-write", "10.0.0.9", "5001"], "-->Half a league"),
        (&["ipc-server", "5002"], "[A] hellothere"),
        (&["ipc-client", "10.0.0.9", "5003"], "hellothere"),
        (&["oob-server", "0"], "out-of-band byte 0x02"),
        (
            &["oob-client", "10.0.0.9", "5004", "--bytes", "20000"],
            "the out-of-band byte 0x02",
        ),
    ];
    for (args, expected) in cases {
        let out = Command::new(BIN)
            .args(["example", "--memory"])
            .args(args)
            .output()
            .expect("run example");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(expected), "{args:?}: {stdout}");
    }
}

#[test]
fn every_subcommand_reports_a_bad_argument_with_a_message_and_a_non_zero_exit() {
    // None of these reaches a TAP: each fails on its arguments or its
    // configuration first.
    let cases: [(&[&str], &str); 14] = [
        (&["up", "--addr", "10.0.0.300/24"], "bad IPv4 address"),
        (&["up", "--mtu", "10"], "MTU must be"),
        (&["ping", "notanip"], "invalid IPv4 address"),
        (
            &["serve", "nosuch"],
            "possible values: echo, discard, chargen, daytime",
        ),
        (&["nc"], "required arguments were not provided"),
        (
            &["example", "--memory", "stream-write", "hosta", "notaport"],
            "invalid digit",
        ),
        (&["drill", "/nonexistent.pkt"], "no such file"),
        (&["bench", "--loss", "abc"], "invalid float"),
        (&["bench", "--scale", "0"], "from 1 to 1000000 connections"),
        (&["stats", "--watch", "0"], "positive number of seconds"),
        (&["demo", "--seed", "x"], "invalid digit"),
        (&["demo", "--only", "14"], "14 is not in 1..=13"),
        (&["run"], "required arguments were not provided"),
        (
            &["plot", "x.pcap", "--format", "gif"],
            "possible values: svg, png, both",
        ),
    ];
    for (args, expected) in cases {
        let out = Command::new(BIN).args(args).output().expect("run netstack");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(c) if c != 0),
            "{args:?} exited {:?}: {stderr}",
            out.status.code()
        );
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// `serve chargen` goes on after the client shuts its sending side (RFC 864: the
/// server sends until the client closes; inetd's chargen never reads), so
/// `nc -N host 19 | head -c N` gets its N bytes.
#[test]
fn serve_chargen_keeps_sending_after_the_client_shuts_its_side() {
    skip_unless_tap!();
    use std::io::Read;
    let ns = tap_namespace();
    let mut server = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN, "serve", "chargen"])
        .args(["--addr", "10.0.0.2/24", "--port", "6019", "--for", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut c = connect_retrying(&ns, "10.0.0.2:6019");
    c.shutdown(std::net::Shutdown::Write).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // Far more than the send buffer and the window hold at the shutdown.
    let mut got = vec![0u8; 4 << 20];
    let read = c.read_exact(&mut got);
    drop(c);
    let _ = server.kill();
    let _ = server.wait();
    read.expect("4 MiB of chargen after the client's shutdown");
    // The RFC 864 pattern: 72 printable characters and CR LF per line.
    assert_eq!(&got[72..74], b"\r\n");
    assert_eq!(got[74], b'!');
}

/// `netstack bench` with `args` on a TAP in a namespace of its own (our stack
/// at 10.0.0.2, the kernel at 10.0.0.1); its standard output, after checking
/// that it succeeded.
fn bench_in_namespace(args: &[&str]) -> String {
    let ns = tap_namespace();
    let mut all = vec![
        BIN,
        "bench",
        "--tap",
        "tap0",
        "--addr",
        "10.0.0.2/24",
        "--peer",
        "10.0.0.1",
    ];
    all.extend_from_slice(args);
    let out = ns.exec(&all).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    stdout
}

/// The row of a bench table for direction `dir` ("stack sends", ...) with
/// `buffers` ("1 MiB", ...); fails the test when there is none.
fn bench_row<'a>(stdout: &'a str, dir: &str, buffers: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(dir) && l.contains(buffers))
        .unwrap_or_else(|| panic!("no row for {dir}, {buffers}: {stdout}"))
}

/// `bench --rr` measures every test with every client (our stack and smoltcp on
/// the TAP, Linux over a veth pair) and prints the table; no figure is
/// asserted, only that each measurement happened.
#[test]
fn bench_rr_measures_every_test_with_every_client() {
    skip_unless_tap!();
    let stdout = bench_in_namespace(&["--rr", "--rr-seconds", "0.2"]);
    for test in ["tcp-rr:1", "tcp-rr:1024", "tcp-crr", "udp-rr:1"] {
        let row = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{test} ")))
            .unwrap_or_else(|| panic!("no row for {test}: {stdout}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.len(), 12, "{row}");
        // Transactions per second of ours, smoltcp and Linux: numbers above zero.
        for i in [1, 4, 7] {
            let n: f64 = cells[i].parse().unwrap_or_else(|_| panic!("{row}"));
            assert!(n > 0.0, "{row}");
        }
    }
    assert!(!stdout.contains("Failed measurements"), "{stdout}");
}

/// With the TAP's offloads, the one-thread variant (engine and TAP polled together)
/// measures both directions: the kernel hands it 64 KiB GSO segments, which it must
/// read whole.
#[test]
fn bench_one_thread_variant_works_with_offloads() {
    skip_unless_tap!();
    let stdout = bench_in_namespace(&[
        "--offload",
        "--tap-only",
        "--only",
        "ours-poll",
        "--bytes",
        "16MiB",
        "--buffers",
        "1MiB",
    ]);
    assert!(!stdout.contains("Failed measurements"), "{stdout}");
    for dir in ["stack sends", "stack receives"] {
        let row = bench_row(&stdout, dir, "1 MiB");
        assert!(!row.contains("failed"), "{row}");
    }
}

/// The floor (no stack: checksums, one copy and ACKs over the plain TAP) moves
/// every byte both ways with the kernel as its peer, and the table compares the
/// stacks with it.
#[test]
fn bench_floor_moves_every_byte_both_ways() {
    skip_unless_tap!();
    let stdout = bench_in_namespace(&[
        "--tap-only",
        "--only",
        "floor,smoltcp",
        "--bytes",
        "16MiB",
        "--buffers",
        "64KiB,1MiB",
    ]);
    assert!(!stdout.contains("Failed measurements"), "{stdout}");
    for dir in ["stack sends", "stack receives"] {
        for buffers in ["64 KiB", "1 MiB"] {
            let row = bench_row(&stdout, dir, buffers);
            // smoltcp's figure and the floor's: numbers above zero.
            let cells: Vec<&str> = row.split_whitespace().collect();
            for cell in &cells[4..6] {
                let g: f64 = cell.parse().unwrap_or_else(|_| panic!("{row}"));
                assert!(g > 0.0, "{row}");
            }
        }
        let best = stdout
            .lines()
            .rfind(|l| l.trim_start().starts_with(dir))
            .unwrap_or_else(|| panic!("no summary for {dir}: {stdout}"));
        assert!(best.trim_end().ends_with('x'), "smoltcp / floor: {best}");
    }
}

/// `bench --scale` opens its connections to our `serve echo`, every one echoes
/// and stays open, and the table says so (the figures are for the report).
#[test]
fn bench_scale_keeps_every_connection_open() {
    skip_unless_tap!();
    let stdout = bench_in_namespace(&["--offload", "--scale", "300", "--scale-bulk", "4MiB"]);
    let value = |measure: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(measure))
            .and_then(|l| l.split_whitespace().last())
            .unwrap_or_else(|| panic!("no row '{measure}': {stdout}"))
            .to_string()
    };
    assert_eq!(value("connections opened"), "300");
    assert_eq!(value("failed"), "0");
    assert_eq!(value("still open after the echo"), "300");
    assert!(stdout.contains("per segment, 300 open"), "{stdout}");
}

/// `netstack plot` reads tcpdump's own capture: a download from `serve chargen`
/// on our stack, captured by tcpdump on the kernel's side of the TAP.
#[test]
fn plot_draws_a_tcpdump_capture_of_a_download() {
    skip_unless_tap!();
    use std::io::{BufRead, BufReader, Read};
    let ns = tap_namespace();
    let dir = std::env::temp_dir().join(format!("netstack-plot-tcpdump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("tcpdump.pcap");
    let mut tcpdump = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "tcpdump",
            "-i",
            "tap0",
            "-U",
            "-n",
            "-w",
        ])
        .arg(&pcap)
        .arg("tcp")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("tcpdump (Debian package tcpdump)");
    // tcpdump says "listening on tap0" once it captures.
    let mut line = String::new();
    let mut err = BufReader::new(tcpdump.stderr.take().unwrap());
    while !line.contains("listening on") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "tcpdump exited");
    }
    let mut server = Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN, "serve", "chargen"])
        .args(["--addr", "10.0.0.2/24", "--port", "6020", "--for", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut c = connect_retrying(&ns, "10.0.0.2:6020");
    let mut got = vec![0u8; 1 << 20];
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let read = c.read_exact(&mut got);
    drop(c);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = server.kill();
    let _ = server.wait();
    // SIGINT: tcpdump writes out what it holds and exits.
    let _ = Command::new("kill")
        .args(["-INT", &tcpdump.id().to_string()])
        .status();
    let _ = tcpdump.wait();
    read.expect("1 MiB of chargen");
    let out = Command::new(BIN)
        .args(["plot", "--format", "svg", "--out"])
        .arg(dir.join("out"))
        .arg(&pcap)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Our stack sent the data: its direction has a graph with data segments.
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("10.0.0.2:6020 -> 10.0.0.1:"))
        .unwrap_or_else(|| panic!("no graph of the download: {stdout}"));
    let segments: usize = line
        .split(": ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(segments >= 1, "{line}");
    let svg = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "svg"))
        .count();
    assert!(svg >= 1, "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `netstack example --nameserver` resolves the program's host name with DNS
/// over our own UDP: dnsmasq on the kernel side says `kernel.test` is 10.0.0.1,
/// and Figure 7a's message reaches a kernel listener there.
#[test]
fn example_resolves_its_host_name_through_dns() {
    skip_unless_tap!();
    use std::io::Read;
    let ns = tap_namespace();
    let dnsmasq = netstack_tests::dnsmasq::Dnsmasq::start(
        &ns,
        "10.0.0.1",
        "test",
        &[("kernel.test", "10.0.0.1")],
    )
    .expect("dnsmasq (Debian package dnsmasq-base)");
    let listener = ns
        .run(|| std::net::TcpListener::bind("10.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let kernel = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        got
    });
    // dnsmasq binds in a moment; the program is retried until it resolves.
    let mut last = None;
    for _ in 0..30 {
        let out = ns
            .exec(&[
                BIN,
                "example",
                "--addr",
                "10.0.0.2/24",
                "--nameserver",
                "10.0.0.1",
                "stream-write",
                "kernel.test",
                &port,
            ])
            .unwrap();
        if out.status.success() {
            last = None;
            break;
        }
        last = Some(String::from_utf8_lossy(&out.stderr).into_owned());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(dnsmasq);
    assert_eq!(last, None, "the program never resolved kernel.test");
    assert_eq!(
        kernel.join().unwrap(),
        b"Half a league, half a league . . .\0"
    );
    // A name the server does not know: the C program's message and exit status.
    let out = ns
        .exec(&[
            BIN,
            "example",
            "--addr",
            "10.0.0.2/24",
            "stream-write",
            "nowhere.test",
            "9",
        ])
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nowhere.test: unknown host"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_unix_domain_programs_run_as_examples_without_privileges() {
    for (program, want) in [
        (
            "pipe",
            &["-->Bright star, would I were steadfast as thou art . . ."][..],
        ),
        (
            "socketpair",
            &[
                "-->In Xanadu, did Kublai Khan . . .",
                "-->A stately pleasure dome decree . . .",
            ][..],
        ),
        (
            "unix-dgram",
            &[
                "socket -->socket",
                "-->The sea is calm tonight, the tide is full . . .",
            ][..],
        ),
        (
            "unix-stream",
            &[
                "Socket has name socket",
                "-->Half a league, half a league . . .",
                "Ending connection",
            ][..],
        ),
    ] {
        let out = Command::new(BIN)
            .args(["example", program])
            .output()
            .expect("run example");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{program}: {stdout}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines, want, "{program}");
    }
}

#[test]
fn rlogin_in_memory_uses_a_reserved_port_and_carries_an_interrupt_out_of_band() {
    let out = Command::new(BIN)
        .args(["example", "rlogin"])
        .output()
        .expect("run example rlogin");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("via rlogin\r\n"), "{stdout}");
    // sleep 30 was interrupted: SIGINT's status, long before 30 s.
    assert!(stdout.contains("status=130"), "{stdout}");
    assert!(
        stdout.contains("[client used reserved port 1023; out-of-band bytes from the server [02]"),
        "{stdout}"
    );
}
