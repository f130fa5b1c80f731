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
    assert!(!stdout.contains("[FAILED]"), "{stdout}");
    // The transcript shows the frames.
    assert!(
        stdout.contains("ARP, Request who-has 10.0.0.2 tell 10.0.0.1"),
        "{stdout}"
    );
    assert!(stdout.contains("ICMP echo reply"), "{stdout}");
    assert!(stdout.contains("frag id"), "{stdout}");
}

#[test]
fn up_answers_kernel_pings_and_prints_counters_when_time_is_up() {
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
    let ping = ns.exec_ok(&[
        "ping", "-c", "2", "-i", "0.3", "-W", "2", "-w", "2", "10.0.0.2",
    ]);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
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
        .run(|| stack::device::tap::TapDevice::open("tap0", 1500))
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

#[test]
fn up_refuses_the_root_namespace() {
    // Checked before any TAP is opened: nothing is created or sent.
    let out = Command::new(BIN)
        .args(["up", "--tap", "nstestnever0", "--for", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let ours = std::fs::read_link("/proc/self/ns/net").ok();
    let initial = std::fs::read_link("/proc/1/ns/net")
        .or_else(|_| std::fs::read_link("/proc/2/ns/net"))
        .ok();
    if ours.is_some() && ours == initial {
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("root network namespace"), "{stderr}");
    }
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
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/drill/tcp/passive_open.pkt");
    let out = Command::new(BIN).args(["drill", corpus]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
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
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAIL") && text.contains("wrong.pkt:"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
