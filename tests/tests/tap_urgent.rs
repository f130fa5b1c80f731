//! TCP urgent data (`MSG_OOB`, the urgent mark, `SO_OOBINLINE`, the urgent
//! notification) against the Linux kernel over a TAP in a private namespace, in both
//! directions. Skipped without root unless NETSTACK_REQUIRE_TAP=1.
//!
//! Each case is a list of sends (normal data and `MSG_OOB` calls) and the receiver's
//! observations once everything has arrived: the except set of `select`,
//! `SIOCATMARK`, `recv`, `recv(MSG_OOB)`, `recv(MSG_OOB | MSG_PEEK)`, and whether
//! the urgent notification (`SIGURG`; our urgent handler) came. The expected
//! observations are Linux's (the 4.2BSD primer section 5.1 semantics as Linux 6
//! implements them); every case runs
//!
//! - `linux_sends`: a python3 client in the namespace sends to our listener, and our
//!   stack makes the observations through the BSD face;
//! - `we_send`: our stack connects to a python3 listener in the namespace and sends;
//!   python makes the observations with Linux's own calls (`select`,
//!   `ioctl(SIOCATMARK)`, `recv(MSG_OOB)`, `SIGURG` after `F_SETOWN`);
//! - `linux_reference`: the same python sender and receiver, Linux to Linux over the
//!   namespace's loopback, which checks the expectations themselves;
//!
//! each of them once with the pieces sent as separate segments (`TCP_NODELAY` and
//! 50 ms between sends) and once `coalesced`: nftables in the namespace drops the
//! sender's segments while it sends (Linux's output hook when Linux sends, its input
//! hook when we do), so the receiver gets all the pieces in one segment carrying only
//! the last urgent pointer (Linux keeps the data unsent, as its transmit fails, and
//! appends each piece to one buffer; our stack retransmits everything in one
//! segment).
//!
//! The receiver looks only once the sender's kernel reports everything acknowledged
//! (`SIOCOUTQ` 0), as the cases say "before the reader reads".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use netstack_tests::netns::Netns;
use netstack_tests::pypeer::PyPeer;
use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions, KERNEL_ADDR, STACK_ADDR};
use sockets::{
    Errno, FdSet, SockAddrIn, Stack, TimeVal, AF_INET, FD_ISSET, FD_SET, FD_ZERO, IPPROTO_TCP,
    MSG_OOB, MSG_PEEK, SIOCATMARK, SIOCOUTQ, SOCK_STREAM, SOL_SOCKET, SO_OOBINLINE, SO_RCVTIMEO,
    TCP_NODELAY,
};

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(15);
/// Receive timeout of every socket of the tests (a lost byte fails, never hangs).
const RCV_TIMEOUT_S: i64 = 5;
/// The pause between sends in [`Mode::Spaced`].
const GAP: Duration = Duration::from_millis(50);

/// One send call of the sender.
#[derive(Clone, Copy, Debug)]
enum Piece {
    /// `send(s, data, 0)`.
    Data(&'static str),
    /// `send(s, data, MSG_OOB)`: the last byte is urgent.
    Oob(&'static str),
}

/// One observation of the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `select` with a zero timeout: is the socket in the except set?
    Except,
    /// `ioctl(s, SIOCATMARK, &yes)` (ours also checks `sockatmark` agrees).
    AtMark,
    /// `recv(s, buf, 100, 0)`.
    Read,
    /// `recv(s, buf, 100, MSG_OOB)`.
    OobRead,
    /// `recv(s, buf, 100, MSG_OOB | MSG_PEEK)`.
    OobPeek,
    /// Has the urgent notification come (`SIGURG` / our urgent handler)? 1 or 0.
    Notified,
}

impl Op {
    /// The name in the transcript (and in the python scripts).
    fn name(self) -> &'static str {
        match self {
            Op::Except => "except",
            Op::AtMark => "atmark",
            Op::Read => "read",
            Op::OobRead => "oob",
            Op::OobPeek => "oobpeek",
            Op::Notified => "notified",
        }
    }

    fn parse(name: &str) -> Option<Op> {
        [
            Op::Except,
            Op::AtMark,
            Op::Read,
            Op::OobRead,
            Op::OobPeek,
            Op::Notified,
        ]
        .into_iter()
        .find(|op| op.name() == name)
    }
}

/// What an observation gave.
#[derive(Clone, PartialEq, Eq)]
enum Outcome {
    /// Bytes read.
    Data(Vec<u8>),
    /// The call failed with this errno (by name: "EINVAL").
    Errno(String),
    /// A flag or count.
    Int(i32),
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Data(d) => write!(f, "{:?}", String::from_utf8_lossy(d)),
            Outcome::Errno(e) => write!(f, "{e}"),
            Outcome::Int(n) => write!(f, "{n}"),
        }
    }
}

impl Outcome {
    /// Parses the python receiver's `data:<hex>`, `errno:<NAME>`, `int:<n>`.
    fn parse(text: &str) -> Option<Outcome> {
        let (kind, value) = text.split_once(':')?;
        match kind {
            "data" => {
                let bytes = (0..value.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                Some(Outcome::Data(bytes))
            }
            "errno" => Some(Outcome::Errno(value.to_string())),
            "int" => value.parse().ok().map(Outcome::Int),
            _ => None,
        }
    }
}

fn data(s: &str) -> Outcome {
    Outcome::Data(s.as_bytes().to_vec())
}

fn errno(name: &str) -> Outcome {
    Outcome::Errno(name.to_string())
}

fn int(n: i32) -> Outcome {
    Outcome::Int(n)
}

/// One case of the urgent-data table: what the sender sends, what the receiver sees.
struct Case {
    name: &'static str,
    /// `SO_OOBINLINE` on the receiver (set on the listener before `accept`).
    inline: bool,
    sends: &'static [Piece],
    steps: Vec<(Op, Outcome)>,
}

impl Case {
    fn ops(&self) -> Vec<Op> {
        self.steps.iter().map(|&(op, _)| op).collect()
    }
}

type Transcript = Vec<(Op, Outcome)>;

/// "hello", OOB "X", "world": except set ready; atmark 0; read gives "hello"; atmark
/// 1; OOB read gives "X"; a second OOB read is EINVAL; atmark still 1; read gives
/// "world"; atmark 0.
fn mark_sequence() -> Case {
    Case {
        name: "mark_sequence",
        inline: false,
        sends: &[Piece::Data("hello"), Piece::Oob("X"), Piece::Data("world")],
        steps: vec![
            (Op::Notified, int(1)),
            (Op::Except, int(1)),
            (Op::AtMark, int(0)),
            (Op::Read, data("hello")),
            (Op::AtMark, int(1)),
            (Op::OobRead, data("X")),
            (Op::OobRead, errno("EINVAL")),
            (Op::AtMark, int(1)),
            (Op::Read, data("world")),
            (Op::AtMark, int(0)),
        ],
    }
}

/// OOB send of "abc": a read gives "ab", the OOB read gives "c".
fn oob_send_of_three_bytes() -> Case {
    Case {
        name: "oob_send_of_three_bytes",
        inline: false,
        sends: &[Piece::Oob("abc")],
        steps: vec![
            (Op::Notified, int(1)),
            (Op::Read, data("ab")),
            (Op::OobRead, data("c")),
        ],
    }
}

/// No urgent data: the OOB read is EINVAL.
fn no_urgent_data() -> Case {
    Case {
        name: "no_urgent_data",
        inline: false,
        sends: &[Piece::Data("hello")],
        steps: vec![
            (Op::Notified, int(0)),
            (Op::Except, int(0)),
            (Op::OobRead, errno("EINVAL")),
            (Op::Read, data("hello")),
        ],
    }
}

/// "aa", OOB "X", "bb", OOB "Y", "cc" before the reader reads: the first read gives
/// "aaXbb" (the older urgent byte became normal data) and atmark is 1; the next read
/// gives "cc"; the OOB read after that is EINVAL.
fn newer_urgent_byte_replaces_older() -> Case {
    Case {
        name: "newer_urgent_byte_replaces_older",
        inline: false,
        sends: &[
            Piece::Data("aa"),
            Piece::Oob("X"),
            Piece::Data("bb"),
            Piece::Oob("Y"),
            Piece::Data("cc"),
        ],
        steps: vec![
            (Op::Notified, int(1)),
            (Op::Read, data("aaXbb")),
            (Op::AtMark, int(1)),
            (Op::Read, data("cc")),
            (Op::OobRead, errno("EINVAL")),
        ],
    }
}

/// With SO_OOBINLINE, "hello", OOB "X", "world": atmark 0, read "hello", atmark 1,
/// read "Xworld", atmark 0; OOB read EINVAL.
fn oob_inline() -> Case {
    Case {
        name: "oob_inline",
        inline: true,
        sends: &[Piece::Data("hello"), Piece::Oob("X"), Piece::Data("world")],
        steps: vec![
            (Op::Notified, int(1)),
            (Op::AtMark, int(0)),
            (Op::Read, data("hello")),
            (Op::AtMark, int(1)),
            (Op::Read, data("Xworld")),
            (Op::AtMark, int(0)),
            (Op::OobRead, errno("EINVAL")),
        ],
    }
}

/// OOB read with MSG_PEEK then without: both give the byte (and the byte is then
/// gone: a third OOB read is EINVAL).
fn oob_peek_then_read() -> Case {
    Case {
        name: "oob_peek_then_read",
        inline: false,
        sends: &[Piece::Data("hello"), Piece::Oob("X"), Piece::Data("world")],
        steps: vec![
            (Op::OobPeek, data("X")),
            (Op::OobPeek, data("X")),
            (Op::OobRead, data("X")),
            (Op::OobRead, errno("EINVAL")),
            (Op::Read, data("hello")),
            (Op::Read, data("world")),
        ],
    }
}

/// How the sender's pieces travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `TCP_NODELAY` and [`GAP`] between sends: one segment per send.
    Spaced,
    /// No pauses, and the receiving side's kernel firewall drops the sender's segments
    /// until all pieces are queued: they arrive as retransmissions, coalesced.
    Coalesced,
}

// ---------------------------------------------------------------------------------
// The python side.

/// Helpers shared by the python sender and receiver.
const PY_PRELUDE: &str = r#"
import errno, fcntl, os, select, signal, socket, struct, sys, time
SIOCATMARK = 0x8905
TIOCOUTQ = 0x5411
RCVTIMEO = struct.pack('ll', RCV_TIMEOUT_S, 0)

def ioctl_int(s, request):
    return struct.unpack('i', fcntl.ioctl(s, request, struct.pack('i', 0)))[0]

def expect_byte(s, want):
    got = s.recv(1)
    if got != want:
        raise SystemExit('expected %r from the peer, got %r' % (want, got))
"#;

/// A python literal for `s`'s bytes.
fn py_bytes(s: &str) -> String {
    let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
    format!("bytes.fromhex('{hex}')")
}

/// The python sender: connects to `addr:port`, waits for the receiver's "R", prints
/// "ready", waits for "send" on stdin, sends the case's pieces, prints "queued",
/// waits until its kernel has them all acknowledged, prints "sent", waits for the
/// receiver's "!" and closes. See [`drive_python_sender`].
fn python_sender(case: &Case, mode: Mode, addr: std::net::Ipv4Addr, port: u16) -> String {
    let pieces: Vec<String> = case
        .sends
        .iter()
        .map(|p| match *p {
            Piece::Data(d) => format!("({}, 0)", py_bytes(d)),
            Piece::Oob(d) => format!("({}, socket.MSG_OOB)", py_bytes(d)),
        })
        .collect();
    let spaced = mode == Mode::Spaced;
    format!(
        r#"RCV_TIMEOUT_S = {RCV_TIMEOUT_S}
{PY_PRELUDE}
# case {name}, {mode:?}
PIECES = [{pieces}]
GAP = {gap}
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, RCVTIMEO)
if {nodelay}:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.connect(('{addr}', {port}))
expect_byte(s, b'R')
print('ready')
line = sys.stdin.readline().strip()
if line != 'send':
    raise SystemExit('expected send on stdin, got %r' % line)
for i, (data, flags) in enumerate(PIECES):
    if i and GAP:
        time.sleep(GAP)
    n = s.send(data, flags)
    assert n == len(data), (n, data)
print('queued')
deadline = time.monotonic() + 10
while ioctl_int(s, TIOCOUTQ) != 0:
    if time.monotonic() > deadline:
        raise SystemExit('%d bytes still unacknowledged' % ioctl_int(s, TIOCOUTQ))
    time.sleep(0.002)
print('sent')
expect_byte(s, b'!')
s.close()
"#,
        name = case.name,
        pieces = pieces.join(", "),
        gap = if spaced { GAP.as_secs_f64() } else { 0.0 },
        nodelay = if spaced { "True" } else { "False" },
    )
}

/// The python receiver: listens on `addr` (port chosen by the kernel, printed as
/// "port N"), with `SO_OOBINLINE` on the listener for an inline case; accepts, asks
/// for `SIGURG` (`F_SETOWN`), sends "R", waits for "go" on stdin, then makes the
/// case's observations with Linux's calls, printing "op outcome" per line; sends "!"
/// and closes.
fn python_receiver(case: &Case, addr: std::net::Ipv4Addr) -> String {
    let ops: Vec<String> = case
        .ops()
        .iter()
        .map(|op| format!("'{}'", op.name()))
        .collect();
    format!(
        r#"RCV_TIMEOUT_S = {RCV_TIMEOUT_S}
{PY_PRELUDE}
# case {name}
OPS = [{ops}]
INLINE = {inline}
urgent_signals = [0]
def on_sigurg(signum, frame):
    urgent_signals[0] += 1
signal.signal(signal.SIGURG, on_sigurg)

def observe(s, op):
    try:
        if op == 'except':
            return 'int:%d' % (1 if select.select([], [], [s], 0)[2] else 0)
        if op == 'atmark':
            return 'int:%d' % ioctl_int(s, SIOCATMARK)
        if op == 'notified':
            return 'int:%d' % min(urgent_signals[0], 1)
        flags = {{'read': 0, 'oob': socket.MSG_OOB, 'oobpeek': socket.MSG_OOB | socket.MSG_PEEK}}[op]
        return 'data:' + s.recv(100, flags).hex()
    except OSError as e:
        return 'errno:' + errno.errorcode.get(e.errno, str(e.errno))

ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if INLINE:
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, RCVTIMEO)
ls.bind(('{addr}', 0))
ls.listen(1)
print('port', ls.getsockname()[1])
s, _ = ls.accept()
fcntl.fcntl(s, fcntl.F_SETOWN, os.getpid())
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, RCVTIMEO)
s.send(b'R')
line = sys.stdin.readline().strip()
if line != 'go':
    raise SystemExit('expected go on stdin, got %r' % line)
for op in OPS:
    print(op, observe(s, op))
s.send(b'!')
s.close()
"#,
        name = case.name,
        ops = ops.join(", "),
        inline = if case.inline { "True" } else { "False" },
    )
}

/// Parses the python receiver's transcript lines ("op outcome").
fn parse_transcript(lines: &[String]) -> Transcript {
    lines
        .iter()
        .map(|line| {
            let parsed = line
                .split_once(' ')
                .and_then(|(op, out)| Some((Op::parse(op)?, Outcome::parse(out)?)));
            parsed.unwrap_or_else(|| panic!("bad transcript line from python: {line:?}"))
        })
        .collect()
}

/// Reads "port N" from a python receiver.
fn receiver_port(peer: &mut PyPeer) -> u16 {
    let line = peer.expect_line(STEP).expect("python receiver starts");
    line.strip_prefix("port ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("expected 'port N' from the python receiver, got {line:?}"))
}

/// Takes a python sender (connected, the receiver's "R" sent) through its sends until
/// its kernel has them all acknowledged by the receiver on `port`. In
/// [`Mode::Coalesced`], the namespace's kernel drops the sender's segments while it
/// sends.
fn drive_python_sender(ns: &Netns, peer: &mut PyPeer, mode: Mode, port: u16) {
    expect_line(peer, "ready");
    if mode == Mode::Coalesced {
        hold(ns, "output", port);
    }
    peer.send_line("send").expect("tell python to send");
    expect_line(peer, "queued");
    if mode == Mode::Coalesced {
        release(ns);
    }
    expect_line(peer, "sent");
}

fn expect_line(peer: &mut PyPeer, want: &str) {
    let line = peer
        .expect_line(STEP)
        .unwrap_or_else(|e| panic!("waiting for {want:?}: {e}"));
    assert_eq!(line, want, "python peer");
}

// ---------------------------------------------------------------------------------
// Holding the sender's segments (Mode::Coalesced).

const HOLD_TABLE: &str = "urgent_hold";

/// Makes the kernel in `ns` drop TCP segments to port `port` at `hook` ("input":
/// segments our stack sends; "output": segments Linux sends, loopback included).
fn hold(ns: &Netns, hook: &str, port: u16) {
    let script = format!(
        "table inet {HOLD_TABLE} {{\n  chain {hook} {{\n    type filter hook {hook} priority filter; policy accept;\n    tcp dport {port} counter drop\n  }}\n}}\n"
    );
    ns.exec_with_input(&["nft", "-f", "-"], &script)
        .expect("nftables hold rule");
}

/// Removes [`hold`]'s rule, after checking that it dropped something (else the
/// sends were not held and the mode tested nothing new).
fn release(ns: &Netns) {
    let listing = ns
        .exec_ok(&["nft", "list", "table", "inet", HOLD_TABLE])
        .expect("listing the nftables hold rule");
    let dropped: u64 = listing
        .split_whitespace()
        .skip_while(|w| *w != "packets")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter in {listing}"));
    ns.exec_ok(&["nft", "delete", "table", "inet", HOLD_TABLE])
        .expect("removing the nftables hold rule");
    assert!(dropped > 0, "the hold rule dropped nothing:\n{listing}");
}

// ---------------------------------------------------------------------------------
// Our side.

fn rcv_timeout() -> TimeVal {
    TimeVal::from_duration(Duration::from_secs(RCV_TIMEOUT_S as u64))
}

fn expect_byte(stack: &Stack, fd: i32, want: u8) {
    let mut b = [0u8; 1];
    let n = stack.recv(fd, &mut b, 0).expect("recv from the peer");
    assert_eq!(&b[..n], &[want], "byte from the peer");
}

/// Waits until our send queue is empty: everything we sent was acknowledged.
fn wait_acked(stack: &Stack, fd: i32) {
    let deadline = Instant::now() + STEP;
    loop {
        let mut n = 0;
        stack.ioctl(fd, SIOCOUTQ, &mut n).expect("SIOCOUTQ");
        if n == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{n} bytes still unacknowledged");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One observation through our BSD face. `urgent_calls` counts our urgent handler's
/// calls.
fn observe(stack: &Stack, fd: i32, op: Op, urgent_calls: &AtomicUsize) -> Outcome {
    let result: Result<Outcome, Errno> = (|| match op {
        Op::Except => {
            let mut x = FdSet::new();
            FD_ZERO(&mut x);
            FD_SET(fd, &mut x);
            stack.select(fd + 1, None, None, Some(&mut x), Some(Duration::ZERO))?;
            Ok(int(FD_ISSET(fd, &x).into()))
        }
        Op::AtMark => {
            let mut yes = -1;
            stack.ioctl(fd, SIOCATMARK, &mut yes)?;
            assert_eq!(
                stack.sockatmark(fd)?,
                yes,
                "sockatmark and SIOCATMARK differ"
            );
            Ok(int(yes))
        }
        Op::Notified => {
            // The handler runs on the notifier thread: give it a moment.
            let deadline = Instant::now() + Duration::from_millis(200);
            while urgent_calls.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(int(urgent_calls.load(Ordering::SeqCst).min(1) as i32))
        }
        Op::Read | Op::OobRead | Op::OobPeek => {
            let flags = match op {
                Op::Read => 0,
                Op::OobRead => MSG_OOB,
                _ => MSG_OOB | MSG_PEEK,
            };
            let mut buf = [0u8; 100];
            let n = stack.recv(fd, &mut buf, flags)?;
            Ok(Outcome::Data(buf[..n].to_vec()))
        }
    })();
    result.unwrap_or_else(|e| Outcome::Errno(e.name().to_string()))
}

/// The TAP fixture; with `NETSTACK_URGENT_PCAP=<dir>` it records every frame to
/// `<dir>/<case>-<direction>-<mode>.pcap`.
fn fixture(case: &Case, direction: &str, mode: Mode) -> TapFixture {
    let pcap = std::env::var_os("NETSTACK_URGENT_PCAP").map(|dir| {
        std::path::PathBuf::from(dir).join(format!("{}-{direction}-{mode:?}.pcap", case.name))
    });
    TapFixture::new(TapOptions {
        pcap,
        ..TapOptions::default()
    })
    .expect("fixture")
}

fn tcp_socket(stack: &Stack) -> i32 {
    let fd = stack.socket(AF_INET, SOCK_STREAM, 0).expect("socket");
    stack
        .setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv_timeout())
        .expect("SO_RCVTIMEO");
    fd
}

/// Linux sends (python client), our stack receives and observes.
fn linux_sends(case: &Case, mode: Mode) -> Transcript {
    const PORT: u16 = 6100;
    let fx = fixture(case, "linux_sends", mode);
    let stack = &fx.stack;
    let listener = tcp_socket(stack);
    stack
        .bind(
            listener,
            &SockAddrIn::new(std::net::Ipv4Addr::UNSPECIFIED, PORT),
        )
        .expect("bind");
    if case.inline {
        stack
            .setsockopt(listener, SOL_SOCKET, SO_OOBINLINE, &1)
            .expect("SO_OOBINLINE");
    }
    stack.listen(listener, 1).expect("listen");
    let mut peer =
        PyPeer::spawn(&fx.ns, &python_sender(case, mode, STACK_ADDR, PORT)).expect("python sender");
    let (conn, from) = stack.accept(listener).expect("accept");
    assert_eq!(from.ip(), KERNEL_ADDR);
    let urgent_calls = Arc::new(AtomicUsize::new(0));
    let calls = urgent_calls.clone();
    stack
        .set_urgent_handler(conn, move |_, _| {
            calls.fetch_add(1, Ordering::SeqCst);
        })
        .expect("set_urgent_handler");
    stack.send(conn, b"R", 0).expect("send R");
    drive_python_sender(&fx.ns, &mut peer, mode, PORT);
    let transcript = case
        .ops()
        .into_iter()
        .map(|op| (op, observe(stack, conn, op, &urgent_calls)))
        .collect();
    stack.send(conn, b"!", 0).expect("send !");
    let rest = peer.finish(STEP).expect("python sender");
    assert!(rest.is_empty(), "python sender printed {rest:?}");
    stack.close(conn).expect("close");
    stack.close(listener).expect("close listener");
    transcript
}

/// Our stack sends, Linux (python listener) receives and observes.
fn we_send(case: &Case, mode: Mode) -> Transcript {
    let fx = fixture(case, "we_send", mode);
    let stack = &fx.stack;
    let mut peer =
        PyPeer::spawn(&fx.ns, &python_receiver(case, KERNEL_ADDR)).expect("python receiver");
    let port = receiver_port(&mut peer);
    let fd = tcp_socket(stack);
    if mode == Mode::Spaced {
        stack
            .setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &1)
            .expect("TCP_NODELAY");
    }
    stack
        .connect(fd, &SockAddrIn::new(KERNEL_ADDR, port))
        .expect("connect");
    expect_byte(stack, fd, b'R');
    if mode == Mode::Coalesced {
        hold(&fx.ns, "input", port);
    }
    for (i, piece) in case.sends.iter().enumerate() {
        if i > 0 && mode == Mode::Spaced {
            std::thread::sleep(GAP);
        }
        let (bytes, flags) = match *piece {
            Piece::Data(d) => (d, 0),
            Piece::Oob(d) => (d, MSG_OOB),
        };
        let n = stack.send(fd, bytes.as_bytes(), flags).expect("send");
        assert_eq!(n, bytes.len());
    }
    if mode == Mode::Coalesced {
        release(&fx.ns);
    }
    wait_acked(stack, fd);
    peer.send_line("go").expect("tell python to go");
    expect_byte(stack, fd, b'!');
    let lines = peer.finish(STEP).expect("python receiver");
    stack.close(fd).expect("close");
    parse_transcript(&lines)
}

/// Linux to Linux over the namespace's loopback: the python sender and receiver of
/// the other directions together.
fn linux_reference(case: &Case, mode: Mode) -> Transcript {
    let ns = Netns::create("nsurg").expect("namespace");
    let addr = std::net::Ipv4Addr::LOCALHOST;
    let mut receiver = PyPeer::spawn(&ns, &python_receiver(case, addr)).expect("python receiver");
    let port = receiver_port(&mut receiver);
    let mut sender =
        PyPeer::spawn(&ns, &python_sender(case, mode, addr, port)).expect("python sender");
    drive_python_sender(&ns, &mut sender, mode, port);
    receiver.send_line("go").expect("tell python to go");
    let lines = receiver.finish(STEP).expect("python receiver");
    let rest = sender.finish(STEP).expect("python sender");
    assert!(rest.is_empty(), "python sender printed {rest:?}");
    parse_transcript(&lines)
}

/// Runs `case` one way in `mode` and asserts the receiver's observations.
fn check(case: Case, direction: &str, run: fn(&Case, Mode) -> Transcript, mode: Mode) {
    let got = run(&case, mode);
    assert_eq!(
        got, case.steps,
        "case {} ({direction}, {mode:?}): the receiver observed (left), Linux gives (right)",
        case.name
    );
}

/// The tests of one case: both directions in both modes, and the Linux reference.
macro_rules! urgent_case {
    ($case:ident) => {
        mod $case {
            use super::*;

            #[test]
            fn linux_sends() {
                skip_unless_tap!();
                check(
                    super::$case(),
                    "Linux sends, we receive",
                    super::linux_sends,
                    Mode::Spaced,
                );
            }

            #[test]
            fn linux_sends_coalesced() {
                skip_unless_tap!();
                check(
                    super::$case(),
                    "Linux sends, we receive",
                    super::linux_sends,
                    Mode::Coalesced,
                );
            }

            #[test]
            fn we_send() {
                skip_unless_tap!();
                check(
                    super::$case(),
                    "we send, Linux receives",
                    super::we_send,
                    Mode::Spaced,
                );
            }

            #[test]
            fn we_send_coalesced() {
                skip_unless_tap!();
                check(
                    super::$case(),
                    "we send, Linux receives",
                    super::we_send,
                    Mode::Coalesced,
                );
            }

            #[test]
            fn linux_reference() {
                skip_unless_tap!();
                check(
                    super::$case(),
                    "Linux to Linux",
                    super::linux_reference,
                    Mode::Spaced,
                );
                check(
                    super::$case(),
                    "Linux to Linux",
                    super::linux_reference,
                    Mode::Coalesced,
                );
            }
        }
    };
}

urgent_case!(mark_sequence);
urgent_case!(oob_send_of_three_bytes);
urgent_case!(no_urgent_data);
urgent_case!(newer_urgent_byte_replaces_older);
urgent_case!(oob_inline);
urgent_case!(oob_peek_then_read);
