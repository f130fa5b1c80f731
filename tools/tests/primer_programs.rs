//! The 4.2BSD primer's own programs over TAPs: the rwho server (Figure 4) with
//! the Linux kernel (a kernel listener on the rwho port reads our broadcasts in
//! BSD's `struct whod` layout, and a status the kernel sends appears in our
//! ruptime table, Figure 3), and the remote login client and server (Figures 1
//! and 2) on two stacks over a bridge, with an interrupt.

#[path = "preload/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use fixture::World;
use netstack_tests::skip_unless_tap;

/// Reads one broadcast on udp 513 and prints the version, type and host name;
/// then sends a status of its own ("kernelhost") from port 513 to our stack.
const KERNEL_RWHO: &str = r#"
import socket, struct, time
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
r.bind(("0.0.0.0", 513))
print("ready", flush=True)
d, frm = r.recvfrom(1024)
name = d[12:44].split(b"\0")[0].decode()
print("from %s port %d: version %d type %d host %s, %d bytes" % (frm[0], frm[1], d[0], d[1], name, len(d)), flush=True)
now = int(time.time())
wd = struct.pack("!BBxxII32siiii", 1, 1, now, 0, b"kernelhost", 115, 139, 131, now - 3600)
r.sendto(wd, ("10.0.0.2", 513))
"#;

/// `netstack example` on tap0 as 10.0.0.2, privileged (the rwho and login
/// ports are reserved), with `args` (more interface options, then the program).
fn example_on_tap0(w: &World, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new("ip");
    cmd.args(["netns", "exec", w.ns.name(), fixture::BIN, "example"])
        .args(["--tap", "tap0", "--addr", "10.0.0.2/24", "--privileged"])
        .args(args);
    cmd
}

#[test]
fn rwhod_talks_bsd_whod_with_the_kernel_and_ruptime_lists_both() {
    skip_unless_tap!();
    let w = World::new(1);
    let mut k = w.spawn(w.kernel(&["python3", "-c", KERNEL_RWHO]));
    assert_eq!(k.line(), "ready");
    let ours = w.spawn(example_on_tap0(
        &w,
        &[
            "--no-offload",
            "rwhod",
            "--interval",
            "0.3",
            "--for",
            "2",
            "--hostname",
            "ourhost",
        ],
    ));
    let heard = k.line();
    assert_eq!(
        heard, "from 10.0.0.2 port 513: version 1 type 1 host ourhost, 60 bytes",
        "the kernel reads our broadcast"
    );
    let (table, err, status) = ours.finish();
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(table.len(), 2, "{table:?}");
    assert!(
        table[0].starts_with("kernelhost  up     1:00,  0 users, load 1.15, 1.39, 1.31"),
        "{table:?}"
    );
    assert!(table[1].starts_with("ourhost     up "), "{table:?}");
    k.finish();
}

#[test]
fn rlogin_logs_in_over_a_bridge_and_an_interrupt_stops_the_remote_job() {
    skip_unless_tap!();
    let w = World::new(2);
    let server = w.spawn(example_on_tap0(&w, &["rlogind", "--sessions", "1"]));
    // The user types a command, starts a long sleep, presses ^C, asks for the
    // sleep's status and logs out.
    let user = format!(
        "(sleep 1; printf 'echo over the bridge\\n'; sleep 0.5; printf 'sleep 30\\n'; \
         sleep 0.5; printf '\\003'; sleep 0.5; printf 'echo status=$?\\nexit\\n'; sleep 1) | \
         {} example --tap tap1 --addr 10.0.0.3/24 --privileged rlogin-to 10.0.0.2",
        fixture::BIN
    );
    let (lines, err, status) = w.output(w.kernel(&["sh", "-c", &user]));
    assert_eq!(status, Some(0), "{err}");
    let text = lines.join("\n");
    // The remote shell's prompt may land on the same line as the output when
    // the typed line arrives before the shell is ready (its echo then comes
    // first): "# over the bridge".
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start_matches("# ") == "over the bridge"),
        "{text}"
    );
    // The interrupt reached the remote job: the sleep ended by SIGINT (128 + 2).
    assert!(text.contains("status=130"), "{text}");
    let (_, err, status) = server.finish();
    assert_eq!(status, Some(0), "{err}");
}

#[test]
fn linux_rlogin_logs_in_to_our_rlogind() {
    skip_unless_tap!();
    let has_rlogin = std::process::Command::new("sh")
        .args(["-c", "command -v rlogin"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_rlogin {
        assert!(
            !netstack_tests::netns::require_tap(),
            "Linux's rlogin client is missing (Debian package rsh-client; .ci/run installs it)"
        );
        eprintln!(
            "SKIPPED linux_rlogin_logs_in_to_our_rlogind: no rlogin (apt-get install rsh-client)"
        );
        return;
    }
    let w = World::new(1);
    let server = w.spawn(example_on_tap0(&w, &["rlogind", "--sessions", "1"]));
    // netkit's rlogin wants a terminal: script gives it one. It sends ^C in band
    // (the terminal is raw); the server's pseudo-terminal turns it into SIGINT.
    let user = "(sleep 1.5; printf 'echo linux rlogin here\\n'; sleep 0.5; printf 'sleep 30\\n'; \
                sleep 0.5; printf '\\003'; sleep 0.5; printf 'echo status=$?\\nexit\\n'; sleep 1) | \
                script -qfec 'rlogin -l student 10.0.0.2' /dev/null";
    let (lines, err, status) = w.output(w.kernel(&["sh", "-c", user]));
    assert_eq!(status, Some(0), "{err}");
    let text = lines.join("\n");
    assert!(lines.iter().any(|l| l == "linux rlogin here"), "{text}");
    assert!(text.contains("status=130"), "{text}");
    let (_, err, status) = server.finish();
    assert_eq!(status, Some(0), "{err}");
}
