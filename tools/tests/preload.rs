//! Unmodified programs over `netstack run` (the preload library), with the Linux
//! kernel as the peer, in private namespaces: the seeds' C programs compiled as
//! written and compared with the same programs run by the kernel, Debian's curl,
//! OpenBSD nc, python and iperf3, and the C semantics the layer promises
//! (signals, EINTR, dup2 onto standard input and output, fork, descriptor
//! numbers).

#[path = "preload/fixture.rs"]
mod fixture;

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use fixture::{port_of, without_port, World};
use netstack_tests::skip_unless_tap;

/// Runs a receiving program that prints its port on `recv_side`, then the sender
/// on the other side; returns the receiver's lines (port replaced).
fn pair(
    w: &World,
    receiver_on_stack: bool,
    receiver: &[&str],
    sender: impl Fn(&str, &str) -> Vec<String>,
    last: &str,
) -> Vec<String> {
    let cmd = if receiver_on_stack {
        w.stack(receiver)
    } else {
        w.kernel(receiver)
    };
    let mut r = w.spawn(cmd);
    let first = r.line();
    let port = port_of(&first);
    let host = if receiver_on_stack {
        "10.0.0.2"
    } else {
        "10.0.0.1"
    };
    let args = sender(host, &port);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let send = if receiver_on_stack {
        w.kernel(&args)
    } else {
        w.stack(&args)
    };
    let (_, err, status) = w.output(send);
    assert_eq!(status, Some(0), "sender failed: {err}");
    let mut lines = vec![first];
    loop {
        let l = r.line();
        let done = l == last;
        lines.push(l);
        if done {
            break;
        }
    }
    r.stop();
    without_port(&lines)
}

#[test]
fn seed_datagram_programs_figures_6a_6b_match_the_kernel() {
    skip_unless_tap!();
    let w = World::new(1);
    let (a, b) = (w.seed("fig6a"), w.seed("fig6b"));
    let sender = |host: &str, port: &str| vec![b.clone(), host.into(), port.into()];
    let last = "-->The sea is calm tonight, the tide is full . . .";
    let on_stack = pair(&w, true, &[&a], sender, last);
    let on_kernel = pair(&w, false, &[&a], sender, last);
    assert_eq!(on_stack, on_kernel);
    assert_eq!(on_stack, ["Socket has port N", last]);
}

#[test]
fn seed_stream_programs_figures_7a_7b_7c_match_the_kernel() {
    skip_unless_tap!();
    let w = World::new(1);
    let a = w.seed("fig7a");
    let sender = |host: &str, port: &str| vec![a.clone(), host.into(), port.into()];
    for server in ["fig7b", "fig7c"] {
        let s = w.seed(server);
        let on_stack = pair(&w, true, &[&s], sender, "Ending connection");
        let on_kernel = pair(&w, false, &[&s], sender, "Ending connection");
        assert_eq!(on_stack, on_kernel, "{server}");
        assert_eq!(
            on_stack,
            [
                "Socket has port N",
                "-->Half a league, half a league . . .",
                "Ending connection"
            ],
            "{server}"
        );
    }
}

#[test]
fn ipc_notes_datagram_and_stream_programs_match_the_kernel() {
    skip_unless_tap!();
    let w = World::new(1);
    let dgram = w.seed("ipc_dgram");
    let stream = w.seed("ipc_stream");
    for receiver_on_stack in [true, false] {
        let (here, there) = if receiver_on_stack {
            ("10.0.0.2", "10.0.0.1")
        } else {
            ("10.0.0.1", "10.0.0.2")
        };
        // Datagrams: receive two messages on port 4567.
        let recv_args = [dgram.as_str(), "receive", "4567"];
        let mut r = w.spawn(if receiver_on_stack {
            w.stack(&recv_args)
        } else {
            w.kernel(&recv_args)
        });
        assert_eq!(r.line(), "receiving on port 4567");
        let send_args = [dgram.as_str(), "send", here, "4567", "hello", "how are you"];
        let (_, err, st) = w.output(if receiver_on_stack {
            w.kernel(&send_args)
        } else {
            w.stack(&send_args)
        });
        assert_eq!(st, Some(0), "{err}");
        let (lines, err, st) = r.finish();
        assert_eq!(st, Some(0), "{err}");
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[..2], ["message 1: hello", "message 2: how are you"]);
        assert!(
            lines[2].starts_with(&format!("sa = 2, {there}, ")),
            "{lines:?}"
        );
        // Streams: Figure 9's server and client.
        let mut s = w.spawn(if receiver_on_stack {
            w.stack(&[&stream, "server", "5001"])
        } else {
            w.kernel(&[&stream, "server", "5001"])
        });
        assert_eq!(s.line(), "listening on port 5001");
        let client = [stream.as_str(), "client", here, "5001"];
        let (lines, err, st) = w.output(if receiver_on_stack {
            w.kernel(&client)
        } else {
            w.stack(&client)
        });
        assert_eq!(st, Some(0), "{err}");
        let echoed: String = lines
            .iter()
            .map(|l| l.split_once(": ").map_or("", |(_, d)| d))
            .collect();
        assert_eq!(echoed, "hellothere", "{lines:?}");
        let (lines, err, st) = s.finish();
        assert_eq!(st, Some(0), "{err}");
        assert_eq!(lines, ["wrote 10"]);
    }
}

/// A kernel server sending 3000 bytes, one urgent byte, then a line with the
/// end marker, with pauses between.
const URGENT_SERVER: &str = r#"
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.1", int(sys.argv[1]))); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
c.sendall(b"x" * 3000); time.sleep(0.3)
c.send(b"U", socket.MSG_OOB); time.sleep(0.3)
c.sendall(b"after the mark!"); time.sleep(0.2)
c.close()
"#;

#[test]
fn primer_figure_5_gets_a_real_sigurg_and_flushes_to_the_mark() {
    skip_unless_tap!();
    let w = World::new(1);
    let fig5 = w.seed("primer_fig5");
    let mut outputs = Vec::new();
    for (on_stack, port) in [(true, "7100"), (false, "7101")] {
        let mut srv = w.spawn(w.kernel(&["python3", "-c", URGENT_SERVER, port]));
        assert_eq!(srv.line(), "ready");
        let args = [fig5.as_str(), "10.0.0.1", port];
        let (lines, err, st) = w.output(if on_stack {
            w.stack(&args)
        } else {
            w.kernel(&args)
        });
        assert_eq!(st, Some(0), "{err}");
        outputs.push(lines);
        srv.finish();
    }
    assert_eq!(outputs[0], outputs[1]);
    assert!(
        outputs[0].contains(&"urgent byte 'U' after flushing 0 bytes".to_string()),
        "{:?}",
        outputs[0]
    );
    assert!(outputs[0].contains(&"connection closed after 3015 bytes in the main loop".into()));
}

fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn curl_and_python_http_server_move_50_mb_both_ways() {
    skip_unless_tap!();
    let w = World::new(1);
    let www = w.dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    let file = www.join("f.bin");
    let mut data = vec![0u8; 50 << 20];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(&file, &data).unwrap();
    let want = sha256(&file);
    let www_s = www.to_string_lossy().to_string();
    // The server on our stack, the kernel's curl.
    let mut srv = w.spawn(w.stack(&[
        "python3",
        "-u",
        "-m",
        "http.server",
        "8000",
        "--bind",
        "10.0.0.2",
        "--directory",
        &www_s,
    ]));
    assert!(srv.line().starts_with("Serving HTTP on 10.0.0.2 port 8000"));
    let got = w.dir.join("got1.bin");
    let got_s = got.to_string_lossy().to_string();
    let (_, err, st) =
        w.output(w.kernel(&["curl", "-sS", "-o", &got_s, "http://10.0.0.2:8000/f.bin"]));
    assert_eq!(st, Some(0), "{err}");
    assert_eq!(sha256(&got), want);
    srv.stop();
    // The kernel's server, curl on our stack.
    let mut srv = w.spawn(w.kernel(&[
        "python3",
        "-u",
        "-m",
        "http.server",
        "8001",
        "--bind",
        "10.0.0.1",
        "--directory",
        &www_s,
    ]));
    assert!(srv.line().starts_with("Serving HTTP on 10.0.0.1 port 8001"));
    let got = w.dir.join("got2.bin");
    let got_s = got.to_string_lossy().to_string();
    let (_, err, st) =
        w.output(w.stack(&["curl", "-sS", "-o", &got_s, "http://10.0.0.1:8001/f.bin"]));
    assert_eq!(st, Some(0), "{err}");
    assert_eq!(sha256(&got), want);
    srv.stop();
}

#[test]
fn openbsd_nc_both_directions() {
    skip_unless_tap!();
    let w = World::new(1);
    // Our nc connects to the kernel's.
    let k = w.spawn(w.kernel(&["nc", "-l", "10.0.0.1", "5000"]));
    w.wait_listen("10.0.0.1", 5000);
    let (_, err, st) = w.output(w.stack(&[
        "sh",
        "-c",
        "printf 'from the stack\\n' | nc -N 10.0.0.1 5000",
    ]));
    assert_eq!(st, Some(0), "{err}");
    let (lines, _, _) = k.finish();
    assert_eq!(lines, ["from the stack"]);
    // The kernel's nc connects to ours.
    let mut s = w.spawn(w.stack(&["nc", "-n", "-v", "-l", "10.0.0.2", "5001"]));
    while !s.err_line().contains("Listening on") {}
    let (_, err, st) = w.output(w.kernel(&[
        "sh",
        "-c",
        "printf 'from the kernel\\n' | nc -N 10.0.0.2 5001",
    ]));
    assert_eq!(st, Some(0), "{err}");
    let (lines, _, _) = s.finish();
    assert_eq!(lines, ["from the kernel"]);
}

/// Waits for a pipe and a stack socket in one call (`select` or `epoll`): the
/// pipe becomes readable first (a timer writes to it), then the socket.
const MIXED_WAIT: &str = r#"
import os, select, selectors, socket, sys, threading
r, w = os.pipe()
s = socket.create_connection(("10.0.0.1", int(sys.argv[2])))
threading.Timer(0.3, lambda: os.write(w, b"p")).start()
seen = []
sel = selectors.EpollSelector() if sys.argv[1] == "epoll" else None
if sel:
    sel.register(r, selectors.EVENT_READ); sel.register(s, selectors.EVENT_READ)
while len(seen) < 2:
    if sel:
        ready = [k.fileobj for k, _ in sel.select(10)]
    else:
        ready = select.select([r, s], [], [], 10)[0]
    if not ready:
        print("timeout"); break
    for x in ready:
        if x == r:
            os.read(r, 1); seen.append("pipe")
        else:
            seen.append("socket:" + s.recv(100).decode())
print(" ".join(seen))
"#;

#[test]
fn python_waits_on_a_pipe_and_a_stack_socket_in_one_select_and_one_epoll() {
    skip_unless_tap!();
    let w = World::new(1);
    for (how, port) in [("select", "5100"), ("epoll", "5101")] {
        let mut k = w.spawn(w.kernel(&[
            "python3",
            "-c",
            "import socket,sys,time\ns=socket.create_server(('10.0.0.1',int(sys.argv[1])))\n\
             print('ready',flush=True)\nc,_=s.accept()\ntime.sleep(1)\nc.sendall(b'hi')\n\
             time.sleep(0.5)",
            port,
        ]));
        assert_eq!(k.line(), "ready");
        let (lines, err, st) = w.output(w.stack(&["python3", "-c", MIXED_WAIT, how, port]));
        assert_eq!(st, Some(0), "{how}: {err}");
        assert_eq!(lines, ["pipe socket:hi"], "{how}: {err}");
        k.finish();
    }
}

#[test]
fn iperf3_client_and_server_on_the_stack() {
    skip_unless_tap!();
    let w = World::new(1);
    let mut s = w.spawn(w.stack(&["iperf3", "-s", "-1", "-B", "10.0.0.2"]));
    while !s.line().contains("Server listening") {}
    let (lines, err, st) = w.output(w.kernel(&["iperf3", "-c", "10.0.0.2", "-t", "1"]));
    assert_eq!(st, Some(0), "{err}");
    assert!(lines.iter().any(|l| l.contains("receiver")), "{lines:?}");
    let (_, err, st) = s.finish();
    assert_eq!(st, Some(0), "{err}");
    let mut k = w.spawn(w.kernel(&["iperf3", "-s", "-1", "-B", "10.0.0.1"]));
    while !k.line().contains("Server listening") {}
    let (lines, err, st) = w.output(w.stack(&["iperf3", "-c", "10.0.0.1", "-t", "1", "-R"]));
    assert_eq!(st, Some(0), "{err}");
    assert!(lines.iter().any(|l| l.contains("receiver")), "{lines:?}");
    k.finish();
}

/// Accepts two connections and closes each after 0.3 s with data unread, which
/// resets it (so the client's next send meets ECONNRESET, the one after EPIPE).
const CLOSING_SERVER: &str = "import socket,sys,time
s=socket.create_server(('10.0.0.1',int(sys.argv[1])))
print('ready',flush=True)
for i in range(2):
    c,_=s.accept()
    time.sleep(0.3)
    c.close()";

#[test]
fn sigpipe_kills_unless_msg_nosignal_as_on_the_kernel() {
    skip_unless_tap!();
    let w = World::new(1);
    let checks = w.cc(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preload/checks.c"));
    let mut results = Vec::new();
    for (on_stack, port) in [(true, "5200"), (false, "5201")] {
        let mut k = w.spawn(w.kernel(&["python3", "-c", CLOSING_SERVER, port]));
        assert_eq!(k.line(), "ready");
        let run = |args: &[&str]| {
            let mut c = if on_stack {
                w.stack(args)
            } else {
                w.kernel(args)
            };
            c.stdin(std::process::Stdio::null());
            c.output().expect("run")
        };
        let killed = run(&[&checks, "sigpipe", "10.0.0.1", port]);
        let quiet = run(&[&checks, "sigpipe", "10.0.0.1", port, "nosignal"]);
        results.push((
            killed.status.signal(),
            String::from_utf8_lossy(&quiet.stdout).to_string(),
        ));
        k.finish();
    }
    assert_eq!(results[0].0, Some(libc::SIGPIPE));
    assert_eq!(results[0], results[1]);
    assert_eq!(
        results[0].1,
        "send: Connection reset by peer\nsend: Broken pipe\n"
    );
}

#[test]
fn a_signal_interrupts_accept_with_eintr_or_restarts_it_as_on_the_kernel() {
    skip_unless_tap!();
    let w = World::new(1);
    let checks = w.cc(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preload/checks.c"));
    for on_stack in [true, false] {
        let host = if on_stack { "10.0.0.2" } else { "10.0.0.1" };
        let run = |args: &[&str]| {
            if on_stack {
                w.stack(args)
            } else {
                w.kernel(args)
            }
        };
        let (lines, err, _) = w.output(run(&[&checks, "eintr", "5300", "norestart"]));
        assert_eq!(
            lines,
            ["listening", "accept: Interrupted system call"],
            "on_stack {on_stack}: {err}"
        );
        let mut p = w.spawn(run(&[&checks, "eintr", "5301", "restart"]));
        assert_eq!(p.line(), "listening");
        // After the alarm (1 s), a client comes: accept was restarted, not failed.
        std::thread::sleep(Duration::from_millis(1500));
        let addr = format!("{host}:5301");
        let c = w.ns.run(move || std::net::TcpStream::connect(addr));
        assert!(c.is_ok(), "{c:?}");
        let (lines, err, _) = p.finish();
        assert_eq!(
            lines,
            ["accepted after the signal"],
            "on_stack {on_stack}: {err}"
        );
    }
}

#[test]
fn inetd_style_dup2_makes_the_connection_standard_input_and_output() {
    skip_unless_tap!();
    let w = World::new(1);
    let checks = w.cc(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preload/checks.c"));
    // With read(0) and write(1), then with fgets(stdin) and printf.
    for (port, extra) in [("5400", None), ("5401", Some("stdio"))] {
        let mut args = vec![checks.as_str(), "inetd", port];
        args.extend(extra);
        let mut p = w.spawn(w.stack(&args));
        assert_eq!(p.line(), "listening");
        let at = format!("10.0.0.2:{port}");
        let reply = w.ns.run(move || {
            let mut c = std::net::TcpStream::connect(at)?;
            c.write_all(b"hello inetd\n")?;
            let mut s = String::new();
            c.read_to_string(&mut s)?;
            Ok::<_, std::io::Error>(s)
        });
        assert_eq!(reply.unwrap(), "echo: hello inetd\n", "{extra:?}");
        let (_, err, st) = p.finish();
        assert_eq!(st, Some(0), "{err}");
    }
}

const COLLECTING_SERVER: &str =
    "import socket,sys\ns=socket.create_server(('10.0.0.1',int(sys.argv[1])))\n\
     print('ready',flush=True)\nc,_=s.accept()\nd=b''\nwhile True:\n    b=c.recv(100)\n    \
     if not b: break\n    d+=b\nprint(d.decode().replace('\\n',' ').strip(),flush=True)";

#[test]
fn a_forked_child_gets_a_clear_error_on_stack_sockets_and_can_exec() {
    skip_unless_tap!();
    let w = World::new(1);
    let checks = w.cc(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preload/checks.c"));
    let mut k = w.spawn(w.kernel(&["python3", "-c", COLLECTING_SERVER, "5500"]));
    assert_eq!(k.line(), "ready");
    let (lines, err, st) = w.output(w.stack(&[&checks, "fork", "10.0.0.1", "5500"]));
    assert_eq!(st, Some(0), "{err}");
    assert_eq!(
        lines,
        [
            "child write: Bad file descriptor",
            "child exec ran",
            "child exit 0"
        ]
    );
    assert!(
        err.contains("forked from the one that runs the network stack"),
        "{err}"
    );
    // Only the parent's write reached the peer, and the child's close of its copy
    // did not close the parent's connection.
    let (got, _, _) = k.finish();
    assert_eq!(got, ["parent"]);
}

#[test]
fn descriptor_numbers_never_collide_with_files() {
    skip_unless_tap!();
    let w = World::new(1);
    let checks = w.cc(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/preload/checks.c"));
    let (lines, err, st) = w.output(w.stack(&[&checks, "fds"]));
    assert_eq!(st, Some(0), "{err}");
    assert_eq!(
        lines,
        [
            "distinct 1",
            "file read 0",
            "dup still a stream socket 1",
            "file is no socket 1"
        ]
    );
}

#[test]
fn two_programs_on_two_stacks_talk_over_a_bridge() {
    skip_unless_tap!();
    let w = World::new(2);
    let mut s = w.spawn(w.stack_on(
        "tap0",
        "10.0.0.2/24",
        &["nc", "-n", "-v", "-l", "10.0.0.2", "6000"],
    ));
    while !s.err_line().contains("Listening on") {}
    let (_, err, st) = w.output(w.stack_on(
        "tap1",
        "10.0.0.3/24",
        &[
            "sh",
            "-c",
            "printf 'stack to stack\\n' | nc -N 10.0.0.2 6000",
        ],
    ));
    assert_eq!(st, Some(0), "{err}");
    let (lines, _, _) = s.finish();
    assert_eq!(lines, ["stack to stack"]);
}

#[test]
fn netstack_run_says_what_is_wrong() {
    // No program.
    let out = std::process::Command::new(fixture::BIN)
        .args(["run"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    // A missing library.
    let out = std::process::Command::new(fixture::BIN)
        .args([
            "run",
            "--preload",
            "/nonexistent.so",
            "--allow-root-netns",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent.so does not exist"), "{err}");
}

#[test]
fn a_program_linking_the_library_on_purpose_uses_netstack_h() {
    skip_unless_tap!();
    let w = World::new(1);
    let lib = fixture::library();
    let libdir = lib.parent().unwrap().to_string_lossy().to_string();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = w.dir.join("linked");
    let r = std::process::Command::new("cc")
        .arg("-o")
        .arg(&exe)
        .arg(manifest.join("tests/preload/linked.c"))
        .arg("-I")
        .arg(manifest.join("../preload/include"))
        .arg(format!("-L{libdir}"))
        .arg("-lnetstack_preload")
        .arg(format!("-Wl,-rpath,{libdir}"))
        .output()
        .expect("cc");
    assert!(r.status.success(), "{r:?}");
    let mut k = w.spawn(w.kernel(&["python3", "-c", COLLECTING_SERVER, "5600"]));
    assert_eq!(k.line(), "ready");
    // No LD_PRELOAD: the program names the library itself.
    let exe_s = exe.to_string_lossy().to_string();
    let (lines, err, st) = w.output(w.kernel(&[
        "env",
        "NETSTACK_TAP=tap0",
        "NETSTACK_ADDR=10.0.0.2/24",
        &exe_s,
        "10.0.0.1",
        "5600",
    ]));
    assert_eq!(st, Some(0), "{err}");
    assert_eq!(lines, ["stack socket 1", "stdout is no stack socket 1"]);
    let (got, _, _) = k.finish();
    assert_eq!(got, ["linked on purpose"]);
}
