//! The seed documents' stream examples (tools/src/examples) on two of our stacks:
//! the 4.4BSD tutorial's Figures 7a/7b/7c, the Unix IPC notes' stream echo
//! (Figures 5-7 and 9), the 4.2BSD primer's Figure 5 (flushing up to the
//! out-of-band mark), in memory and on a lossy link; then, over a TAP in a private
//! namespace with the Linux kernel as the peer, `netstack serve` (TCP), `netstack
//! nc`, and Figure 5's server with a Linux sender.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use netstack_tests::netns::Netns;
use netstack_tests::procfs::rss_of;
use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions, KERNEL_ADDR, STACK_ADDR};
use netstack_tools::examples::{dgram, ipc_notes, oob, stream};
use sockets::{Stack, StackConfig};
use stack::device::impaired::{ImpairedDevice, ImpairmentConfig};
use stack::device::memory::MemoryLink;
use stack::runtime::Runtime;
use stack::Engine;

const BIN: &str = env!("CARGO_BIN_EXE_netstack");
const HOST_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const HOST_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Long enough for anything these tests wait for; only reached when a test fails.
const PATIENCE: Duration = Duration::from_secs(30);

fn pair() -> (Stack, Stack) {
    Stack::memory_pair(StackConfig::new(HOST_A, 24), StackConfig::new(HOST_B, 24))
}

/// Two stacks on an in-memory link that loses `loss` of the frames in each
/// direction, seeded.
fn lossy_pair(loss: f64, seed: u64) -> (Stack, Stack) {
    let (la, lb) = MemoryLink::pair(1500);
    let impair = ImpairmentConfig {
        loss,
        ..ImpairmentConfig::default()
    };
    let mut ca = StackConfig::new(HOST_A, 24);
    let mut cb = StackConfig::new(HOST_B, 24);
    ca.seed = seed;
    cb.seed = seed + 1;
    let a = Runtime::start(
        Engine::new(ca).unwrap(),
        ImpairedDevice::new(la, impair.clone(), seed),
    )
    .unwrap();
    let b = Runtime::start(
        Engine::new(cb).unwrap(),
        ImpairedDevice::new(lb, impair, seed + 100),
    )
    .unwrap();
    (Stack::new(a), Stack::new(b))
}

/// The messages of a Figure 7b/7c transcript, joined per connection (TCP may
/// deliver one write in several reads).
fn messages(transcript: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in transcript {
        if let Some(m) = line.strip_prefix("-->") {
            current.push_str(m);
        } else if line == "Ending connection" {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

#[test]
fn figure_7a_message_reaches_figure_7b() {
    let (a, b) = pair();
    let (port_tx, port_rx) = mpsc::channel();
    let acceptor = {
        let b = b.clone();
        thread::spawn(move || {
            stream::figure_7b_acceptor(&b, 0, Some(2), |p| port_tx.send(p).unwrap())
        })
    };
    let port = port_rx.recv_timeout(PATIENCE).expect("7b printed its port");
    stream::figure_7a_writer(&a, &HOST_B.to_string(), port).unwrap();
    stream::figure_7a_writer(&a, &HOST_B.to_string(), port).unwrap();
    let transcript = acceptor.join().unwrap().unwrap();
    assert_eq!(
        messages(&transcript),
        [stream::DATA, stream::DATA],
        "{transcript:?}"
    );
    assert_eq!(
        transcript.last().map(String::as_str),
        Some("Ending connection")
    );
}

#[test]
fn figure_7a_to_a_port_nobody_listens_on_is_refused() {
    let (a, _b) = pair();
    let err = stream::figure_7a_writer(&a, &HOST_B.to_string(), 9).unwrap_err();
    assert!(err.contains("Connection refused"), "{err}");
}

/// `hp = gethostbyname(argv[1]); if (hp == 0) { fprintf(stderr, "%s: unknown
/// host\n", argv[1]); exit(2); }`: a name nobody knows ends the program before
/// anything is sent; a known one is found in the stack's hosts table.
#[test]
fn the_programs_look_their_host_up_by_name() {
    let (a, b) = pair();
    let err = stream::figure_7a_writer(&a, "nohost", 9).unwrap_err();
    assert_eq!(err, "nohost: unknown host");
    let err = dgram::figure_6b_sender(&a, "nohost", 9).unwrap_err();
    assert_eq!(err, "nohost: unknown host");
    let err = ipc_notes::request_connection(&a, "nohost", 9).unwrap_err();
    assert_eq!(err, "nohost: unknown host");
    assert_eq!(a.open_descriptors(), 0, "the sockets were closed");
    a.add_host("server", &[], HOST_B);
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || dgram::figure_6a_reader(&b, |p| tx.send(p).unwrap()));
    let port = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    dgram::figure_6b_sender(&a, "server", port).unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), dgram::DATA);
}

#[test]
fn figure_7c_does_something_else_until_a_connection_waits() {
    let (a, b) = pair();
    let (port_tx, port_rx) = mpsc::channel();
    let (idle_tx, idle_rx) = mpsc::channel();
    let b2 = b.clone();
    let acceptor = thread::spawn(move || {
        stream::figure_7c_select_acceptor(
            &b2,
            0,
            Some(1),
            Duration::from_millis(50),
            |p| port_tx.send(p).unwrap(),
            move || {
                let _ = idle_tx.send(());
            },
        )
    });
    let port = port_rx.recv_timeout(PATIENCE).expect("7c printed its port");
    // Connect only once select has timed out at least once.
    idle_rx.recv_timeout(PATIENCE).expect("select timed out");
    stream::figure_7a_writer(&a, &HOST_B.to_string(), port).unwrap();
    let transcript = acceptor.join().unwrap().unwrap();
    assert_eq!(
        transcript.first().map(String::as_str),
        Some("Do something else")
    );
    assert_eq!(messages(&transcript), [stream::DATA], "{transcript:?}");
    assert_eq!(
        transcript.last().map(String::as_str),
        Some("Ending connection")
    );
}

#[test]
fn figure_7c_accepts_at_once_when_a_connection_is_queued() {
    let (a, b) = pair();
    // The writer connects and writes while nobody accepts: the connection waits
    // in the listen queue, and select reports it before its first timeout.
    let (port_tx, port_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let b2 = b.clone();
    let acceptor = thread::spawn(move || {
        stream::figure_7c_select_acceptor(
            &b2,
            0,
            Some(1),
            PATIENCE,
            |p| {
                port_tx.send(p).unwrap();
                go_rx.recv().unwrap();
            },
            || {},
        )
    });
    let port = port_rx.recv_timeout(PATIENCE).unwrap();
    stream::figure_7a_writer(&a, &HOST_B.to_string(), port).unwrap();
    go_tx.send(()).unwrap();
    let transcript = acceptor.join().unwrap().unwrap();
    assert!(
        !transcript.iter().any(|l| l == "Do something else"),
        "{transcript:?}"
    );
    assert_eq!(messages(&transcript), [stream::DATA]);
}

#[test]
fn ipc_notes_stream_echo_in_the_order_of_figure_9() {
    let (a, b) = pair();
    let (tx, rx) = mpsc::channel();
    // A clone goes to the thread: host B must stay up after the server returned,
    // to send what its close left queued.
    let server = {
        let b = b.clone();
        thread::spawn(move || ipc_notes::stream_server(&b, 4571, 10, || tx.send(()).unwrap()))
    };
    rx.recv_timeout(PATIENCE).expect("startUp listened");
    let replies =
        ipc_notes::stream_client(&a, &HOST_B.to_string(), 4571, "hello", "there").unwrap();
    let echoed = server.join().unwrap().unwrap();
    assert_eq!(echoed, b"hellothere");
    assert_eq!(replies, b"hellothere");
}

#[test]
fn ipc_notes_read_and_write_stops_at_end_of_file() {
    // The client sends fewer bytes than the server expects and ends the
    // connection's sending side: readAndWrite echoes what came.
    let (a, b) = pair();
    let (tx, rx) = mpsc::channel();
    let server = {
        let b = b.clone();
        thread::spawn(move || ipc_notes::stream_server(&b, 4572, 100, || tx.send(()).unwrap()))
    };
    rx.recv_timeout(PATIENCE).unwrap();
    let s1 = ipc_notes::request_connection(&a, &HOST_B.to_string(), 4572).unwrap();
    a.write(s1, b"short").unwrap();
    a.shutdown(s1, sockets::SHUT_WR).unwrap();
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    loop {
        let n = a.read(s1, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    a.close(s1).unwrap();
    assert_eq!(server.join().unwrap().unwrap(), b"short");
    assert_eq!(got, b"short");
}

#[test]
fn ipc_notes_start_up_on_a_port_in_use_fails() {
    let (_a, b) = pair();
    let s = ipc_notes::start_up(&b, 4573).unwrap();
    let err = ipc_notes::start_up(&b, 4573).unwrap_err();
    assert!(err.contains("Address already in use"), "{err}");
    b.close(s).unwrap();
}

/// Runs Figure 5's server on `b` and its client on `a` with `bytes` of output
/// before the interrupt; checks the accounting.
fn figure_5_between(a: Stack, b: Stack, bytes: usize) -> oob::OobSummary {
    let (tx, rx) = mpsc::channel();
    let server = {
        let b = b.clone();
        thread::spawn(move || oob::figure_5_server(&b, 0, |p| tx.send(p).unwrap()))
    };
    let port = rx.recv_timeout(PATIENCE).expect("server listening");
    let report = oob::figure_5_client(&a, HOST_B, port, bytes).unwrap();
    let summary = server.join().unwrap().unwrap();
    assert_eq!(report.sent_before, bytes);
    assert_eq!(
        summary.read_before + summary.flushed,
        report.sent_before,
        "every byte before the mark was either read before the interrupt or flushed: {summary:?}"
    );
    assert_eq!(summary.oob_byte, Some(oob::INTERRUPT));
    assert_eq!(
        String::from_utf8_lossy(&summary.after_mark),
        oob::AFTER_INTERRUPT
    );
    assert_eq!(report.sent_after, oob::AFTER_INTERRUPT.len());
    summary
}

#[test]
fn figure_5_flushes_up_to_the_mark() {
    let (a, b) = pair();
    let summary = figure_5_between(a, b, 256 * 1024);
    // While the urgent byte is more than 64 KiB ahead, each segment announces a
    // pointer 0xffff ahead of itself, which is new urgent data each time (as on
    // Linux): there may be several "signals", the first one starts the flush.
    assert!(summary.signals >= 1, "{summary:?}");
}

#[test]
fn figure_5_with_the_urgent_byte_right_after_the_connection_opens() {
    // Nothing before the mark: the flush discards nothing.
    let (a, b) = pair();
    let summary = figure_5_between(a, b, 0);
    assert_eq!((summary.read_before, summary.flushed), (0, 0));
}

#[test]
fn figure_5_on_a_lossy_link() {
    for seed in [7, 8] {
        let (a, b) = lossy_pair(0.05, seed);
        figure_5_between(a, b, 64 * 1024);
    }
}

#[test]
fn remote_output_is_lines_of_the_asked_length() {
    let out = oob::remote_output(1000);
    assert_eq!(out.len(), 1000);
    assert!(out.starts_with(b"000000 the output"));
    assert_eq!(oob::remote_output(0), b"");
}

// ------------------------------------------------------------------ over a TAP

/// A namespace with `tap0` (persistent, for the `netstack` binary to attach to)
/// and the kernel at 10.0.0.1/24.
fn namespace_with_tap() -> Netns {
    let ns = Netns::create("nsex").unwrap();
    ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "tap0"])
        .unwrap();
    ns.configure_tap("tap0", "10.0.0.1/24", 1500).unwrap();
    ns
}

/// Starts `netstack ARGS --addr 10.0.0.2/24` inside `ns`, with piped standard
/// streams.
fn spawn_netstack(ns: &Netns, args: &[&str]) -> std::process::Child {
    Command::new("ip")
        .args(["netns", "exec", ns.name(), BIN])
        .args(args)
        .args(["--addr", "10.0.0.2/24"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn netstack")
}

/// Reads `child`'s standard error until a line containing `marker`; returns the
/// lines read (for failure messages).
fn wait_for_stderr(child: &mut std::process::Child, marker: &str) -> String {
    let stderr = child.stderr.take().expect("piped stderr");
    let mut reader = BufReader::new(stderr);
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).unwrap();
        seen.push_str(&line);
        assert!(n > 0, "netstack ended before printing {marker:?}: {seen}");
        if line.contains(marker) {
            // Keep draining in the background so the child never blocks on it.
            thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            });
            return seen;
        }
    }
}

/// `netstack serve SERVICE --port P --for SECONDS` in `ns`, once it listens.
fn serve(ns: &Netns, service: &str, port: u16, seconds: u32) -> std::process::Child {
    let port = port.to_string();
    let seconds = seconds.to_string();
    let mut child = spawn_netstack(ns, &["serve", service, "--port", &port, "--for", &seconds]);
    wait_for_stderr(&mut child, "serving");
    child
}

fn kernel_connect(ns: &Netns, port: u16) -> std::net::TcpStream {
    let s = ns
        .run(|| {
            std::net::TcpStream::connect_timeout(
                &std::net::SocketAddr::from((STACK_ADDR, port)),
                Duration::from_secs(10),
            )
        })
        .expect("kernel connects to our server");
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

fn finished_ok(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn serve_echo_tcp_answers_a_kernel_client() {
    skip_unless_tap!();
    let ns = namespace_with_tap();
    let child = serve(&ns, "echo", 7007, 4);
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut s = kernel_connect(&ns, 7007);
    let writer = {
        let mut s = s.try_clone().unwrap();
        let payload = payload.clone();
        thread::spawn(move || {
            s.write_all(&payload).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
        })
    };
    let mut echoed = Vec::new();
    s.read_to_end(&mut echoed).unwrap();
    writer.join().unwrap();
    assert!(
        echoed == payload,
        "echoed {} of {} bytes, or changed",
        echoed.len(),
        payload.len()
    );
    finished_ok(child);
}

#[test]
fn serve_daytime_chargen_and_discard_tcp_with_kernel_clients() {
    skip_unless_tap!();
    let ns = namespace_with_tap();

    let daytime = serve(&ns, "daytime", 1313, 3);
    let mut text = String::new();
    kernel_connect(&ns, 1313).read_to_string(&mut text).unwrap();
    assert!(
        text.ends_with("-UTC\r\n") && text.contains(", 20"),
        "{text:?}"
    );
    finished_ok(daytime);

    let chargen = serve(&ns, "chargen", 1919, 3);
    let mut s = kernel_connect(&ns, 1919);
    let mut lines = vec![0u8; 74 * 100];
    s.read_exact(&mut lines).unwrap();
    drop(s); // the client closes: the server stops sending
    for (n, line) in lines.chunks(74).enumerate() {
        let expected: Vec<u8> = (0..72)
            .map(|i| b' ' + ((n + i) % 95) as u8)
            .chain(*b"\r\n")
            .collect();
        assert_eq!(line, expected, "chargen line {n}");
    }
    finished_ok(chargen);

    let discard = serve(&ns, "discard", 9009, 3);
    let mut s = kernel_connect(&ns, 9009);
    s.write_all(&vec![b'x'; 200_000]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "discard sends nothing");
    finished_ok(discard);
}

#[test]
fn nc_sends_stdin_to_a_kernel_listener_and_prints_the_reply() {
    skip_unless_tap!();
    let ns = namespace_with_tap();
    let listener = ns
        .run(|| std::net::TcpListener::bind((KERNEL_ADDR, 5555)))
        .unwrap();
    let kernel = thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        c.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap(); // until nc's FIN (stdin ended)
        c.write_all(b"thanks, got it\n").unwrap();
        got
    });
    let mut input = b"hello from nc\n".to_vec();
    input.extend((0..2_000_000u32).map(|i| b'a' + (i % 26) as u8));
    let mut nc = spawn_netstack(&ns, &["nc", "-q", "-1", "10.0.0.1", "5555"]);
    {
        let mut stdin = nc.stdin.take().unwrap();
        let input = input.clone();
        thread::spawn(move || stdin.write_all(&input).unwrap());
    }
    let got = kernel.join().unwrap();
    assert!(
        got == input,
        "kernel got {} of {} bytes, or changed",
        got.len(),
        input.len()
    );
    let stdout = finished_ok(nc);
    assert_eq!(stdout, "thanks, got it\n");
}

/// A python3 peer in the namespace that reads the stream and its urgent bytes
/// (asking SIOCATMARK before each read, so no read steps over an urgent byte),
/// then answers with data and one urgent byte of its own, and closes.
const PY_OOB_PEER: &str = r#"
import fcntl, select, socket, struct, sys, time
SIOCATMARK = 0x8905
def atmark(c):
    return struct.unpack('i', fcntl.ioctl(c.fileno(), SIOCATMARK, b'\0' * 4))[0]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('10.0.0.1', 5556))
l.listen(1)
print('listening', flush=True)
c, _ = l.accept()
data, oob = b'', []
while True:
    r, _, x = select.select([c], [], [c], 20)
    if not r and not x:
        sys.exit('timed out')
    if atmark(c):
        try:
            oob.append(c.recv(1, socket.MSG_OOB))
        except BlockingIOError:
            time.sleep(0.01)  # announced, not arrived
            continue
        except OSError:
            pass  # already read
    if r:
        d = c.recv(65536)
        if not d:
            break
        data += d
print(repr(data), flush=True)
print(repr(oob), flush=True)
c.sendall(b'one')
c.send(b'!', socket.MSG_OOB)
c.sendall(b'two\n')
c.close()
"#;

#[test]
fn nc_urgent_lines_out_and_urgent_bytes_in_with_a_linux_peer() {
    skip_unless_tap!();
    let ns = namespace_with_tap();
    let mut py = Command::new("ip")
        .args(["netns", "exec", ns.name(), "python3", "-c", PY_OOB_PEER])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut py_out = BufReader::new(py.stdout.take().unwrap());
    let mut line = String::new();
    py_out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "listening");

    let mut nc = spawn_netstack(
        &ns,
        &["nc", "--oob-prefix", "!!", "-q", "-1", "10.0.0.1", "5556"],
    );
    {
        let mut stdin = nc.stdin.take().unwrap();
        stdin.write_all(b"before\n!!X\nafter\n").unwrap();
    } // end of input: nc sends its FIN
    let out = nc.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let mut rest = String::new();
    py_out.read_to_string(&mut rest).unwrap();
    let py_status = py.wait().unwrap();
    assert!(py_status.success(), "python peer failed: {rest}");
    let mut lines = rest.lines();
    assert_eq!(lines.next(), Some("b'before\\nafter\\n'"), "{rest}");
    assert_eq!(lines.next(), Some("[b'X']"), "{rest}");
    // The peer's urgent byte is printed apart; its data reads without it.
    assert_eq!(stdout, "onetwo\n");
    assert!(stderr.contains("[OOB byte 0x21]"), "{stderr}");
}

#[test]
fn figure_5_server_on_our_stack_with_a_linux_sender() {
    skip_unless_tap!();
    const BYTES: usize = 512 * 1024;
    let fx = TapFixture::new(TapOptions::default()).unwrap();
    let (tx, rx) = mpsc::channel();
    let server = {
        let net = fx.stack.clone();
        thread::spawn(move || oob::figure_5_server(&net, 5000, |p| tx.send(p).unwrap()))
    };
    rx.recv_timeout(PATIENCE).expect("server listening");
    let script = format!(
        r#"
import socket
s = socket.create_connection(('{STACK_ADDR}', 5000))
out = b''.join(b'%06d the output of a remote program, on its way to the terminal\n' % i
               for i in range({BYTES} // 60 + 1))[:{BYTES}]
s.sendall(out)
s.send(bytes([{sig}]), socket.MSG_OOB)
s.sendall({after:?}.encode())
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
s.close()
print(len(out))
"#,
        sig = oob::INTERRUPT,
        after = oob::AFTER_INTERRUPT,
    );
    let sent = fx.ns.exec_with_input(&["python3", "-"], &script).unwrap();
    assert_eq!(sent.trim(), BYTES.to_string());
    let summary = server.join().unwrap().unwrap();
    assert_eq!(
        summary.read_before + summary.flushed,
        BYTES,
        "every byte before the mark was either read before the interrupt or flushed: {summary:?}"
    );
    assert_eq!(summary.oob_byte, Some(oob::INTERRUPT));
    assert_eq!(
        String::from_utf8_lossy(&summary.after_mark),
        oob::AFTER_INTERRUPT
    );
    assert!(summary.signals >= 1);
}

#[test]
fn nc_listens_for_one_kernel_client() {
    skip_unless_tap!();
    let ns = namespace_with_tap();
    let mut nc = spawn_netstack(&ns, &["nc", "-l", "-q", "-1", "5700"]);
    {
        let mut stdin = nc.stdin.take().unwrap();
        stdin.write_all(b"welcome\n").unwrap();
    } // end of input: nc half-closes once connected
      // nc listens once its stack is up: retry until it does.
    let mut client = None;
    for _ in 0..100 {
        match ns.run(|| std::net::TcpStream::connect((STACK_ADDR, 5700))) {
            Ok(s) => {
                client = Some(s);
                break;
            }
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
    let mut c = client.expect("nc -l listening");
    c.set_read_timeout(Some(PATIENCE)).unwrap();
    c.write_all(b"from the kernel\n").unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap(); // nc's data, then its FIN
    assert_eq!(got, b"welcome\n");
    drop(c); // the peer closes: nc ends
    let stdout = finished_ok(nc);
    assert_eq!(stdout, "from the kernel\n");
}

// ------------------------------------------------------------------ scale

/// Connections in the scale test.
const SCALE_CONNECTIONS: usize = 10_000;
/// Resident memory one idle connection may cost the server (stack and server).
const IDLE_BYTES_PER_CONNECTION: u64 = 20 * 1024;

/// Kernel clients, one after another, each connecting to `serve echo`, having
/// 64 KiB echoed and staying open; then, idle, each still answers.
const SCALE_CLIENTS: &str = r#"
import resource, socket, sys
N, PORT = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (N + 64, N + 64))
data = bytes(range(256)) * 256
socks = []
for i in range(N):
    s = socket.create_connection(("10.0.0.2", PORT), timeout=20)
    s.sendall(data)
    got = 0
    while got < len(data):
        b = s.recv(65536)
        if not b:
            print("closed", i, flush=True)
            sys.exit(1)
        got += len(b)
    socks.append(s)
print("connected", len(socks), flush=True)
sys.stdin.readline()
alive = 0
for s in socks:
    s.sendall(b"x")
    if s.recv(1) == b"x":
        alive += 1
print("alive", alive, flush=True)
"#;

#[test]
fn serve_echo_holds_ten_thousand_connections_in_little_memory() {
    skip_unless_tap!();
    let ns = namespace_with_tap();
    let port = 7010u16;
    let mut child = spawn_netstack(
        &ns,
        &[
            "serve",
            "echo",
            "--port",
            &port.to_string(),
            "--for",
            "300",
            "--backlog",
            "128",
        ],
    );
    let log = wait_for_stderr(&mut child, "serving");
    // `ip netns exec` runs netstack as its own process: find it among our
    // child's descendants by name.
    let pid = netstack_pid(child.id()).unwrap_or_else(|| panic!("no netstack process: {log}"));
    let before = rss_of(pid);
    let script =
        format!("import sys; sys.argv = ['x', '{SCALE_CONNECTIONS}', '{port}']\n{SCALE_CLIENTS}");
    let mut peer = netstack_tests::pypeer::PyPeer::spawn(&ns, &script).expect("python3");
    let line = peer
        .expect_line(Duration::from_secs(600))
        .expect("clients connected");
    assert_eq!(line, format!("connected {SCALE_CONNECTIONS}"));
    let peak = rss_of(pid);
    // Idle: buffers are given back after a second without data.
    thread::sleep(Duration::from_secs(3));
    let idle = rss_of(pid);
    peer.send_line("go").unwrap();
    let line = peer
        .expect_line(Duration::from_secs(120))
        .expect("clients checked");
    assert_eq!(line, format!("alive {SCALE_CONNECTIONS}"), "none reset");
    let per = idle.saturating_sub(before) / SCALE_CONNECTIONS as u64;
    eprintln!(
        "scale: {SCALE_CONNECTIONS} connections; server RSS {} MiB before, {} MiB peak, {} MiB idle: {} bytes per idle connection",
        before >> 20,
        peak >> 20,
        idle >> 20,
        per
    );
    assert!(
        per <= IDLE_BYTES_PER_CONNECTION,
        "{per} bytes per idle connection"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// The pid of the `netstack` process under `parent` (`ip netns exec` may exec
/// it in place or fork it).
fn netstack_pid(parent: u32) -> Option<u32> {
    let comm = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm(parent).trim() == "netstack" {
        return Some(parent);
    }
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .find(|&c| comm(c).trim() == "netstack")
}

#[test]
fn stats_shows_a_running_servers_sockets_and_counters() {
    skip_unless_tap!();
    let ns = namespace_with_tap();
    let mut child = serve(&ns, "echo", 7011, 20);
    let mut s = kernel_connect(&ns, 7011);
    s.write_all(b"ping").unwrap();
    let mut back = [0u8; 4];
    s.read_exact(&mut back).unwrap();
    let stats = |args: &[&str]| {
        let out = Command::new("ip")
            .args(["netns", "exec", ns.name(), BIN, "stats"])
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let table = stats(&["-t", "-i"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("tcp   LISTEN") && l.contains("0.0.0.0:7011")),
        "{table}"
    );
    let local = s.local_addr().unwrap().to_string();
    assert!(
        table.lines().any(|l| l.starts_with("tcp   ESTAB")
            && l.contains("10.0.0.2:7011")
            && l.contains(&local)),
        "{table}"
    );
    assert!(table.contains("cubic wscale:"), "{table}");
    let listening = stats(&["-l"]);
    assert!(!listening.contains("ESTAB"), "{listening}");
    let counters = stats(&["--counters"]);
    assert!(counters.contains("tcp_established"), "{counters}");
    drop(s);
    let _ = child.kill();
    let _ = child.wait();
}
