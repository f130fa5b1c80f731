//! `netstack demo`: the embedded default. Two stacks on an in-memory link (no root,
//! no TAP) run the seed documents' examples with a transcript of every frame.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use clap::Args;
use parking_lot::Mutex;
use sockets::Stack;
use stack::device::memory::MemoryLink;
use stack::runtime::{Direction, FrameObserver, Runtime};
use stack::{Engine, StackConfig};

use crate::cmd::ping::{ping, PingSummary};
use crate::examples::{dgram, ipc_notes, oob, stream};

/// Options of `netstack demo`.
#[derive(Args, Debug)]
pub struct DemoOpts {
    /// Do not print the frame transcript.
    #[arg(long, short)]
    quiet: bool,
    /// Seed of both stacks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Draw the transcript as a ladder: host A's column on the left, B's on the
    /// right, an arrow per frame labelled as packetdrill writes segments.
    #[arg(long)]
    ladder: bool,
    /// Run only these sections (numbers as the demo prints them, e.g. `--only 9`
    /// or `--only 5,10`): 1 ping, 2 fragmented ping, 3 datagrams (Figures 6a/6b),
    /// 4 broadcast (IPC notes), 5 stream (Figures 7a/7b), 6 select (7c), 7 stream
    /// echo (IPC notes), 8 out-of-band data (Figure 5), 9 error cases, 10 a lost
    /// segment and its retransmission.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(1..=13))]
    only: Vec<u8>,
}

/// Which sections run.
#[derive(Clone, Debug)]
struct Sections(Vec<u8>);

impl Sections {
    fn want(&self, n: u8) -> bool {
        self.0.is_empty() || self.0.contains(&n)
    }
}

/// Host A's address on the demo link.
pub const HOST_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Host B's address on the demo link.
pub const HOST_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Host A's name (both hosts' tables know both names: `gethostbyname` finds them).
pub const NAME_A: &str = "hosta";
/// Host B's name.
pub const NAME_B: &str = "hostb";

/// The frame transcript: one line per frame sent by either host, all of them, or
/// in a condensed form for bulk transfers.
#[derive(Clone, Default)]
pub struct Transcript {
    gate: Arc<Mutex<Gate>>,
    /// Draw frames as a ladder instead of one tcpdump-like line each.
    ladder: Option<Arc<Mutex<netstack_tools::ladder::Ladder>>>,
}

#[derive(Default)]
struct Gate {
    /// Print only the first frames, the connection's control frames and the first
    /// urgent ones.
    condensed: bool,
    shown: usize,
    urgent_shown: usize,
    omitted: usize,
}

/// In a condensed transcript: how many frames are printed from the start.
const CONDENSED_FIRST: usize = 6;
/// In a condensed transcript: how many frames with URG set are printed.
const CONDENSED_URGENT: usize = 4;

impl Transcript {
    /// From now on, print only the first frames, SYN/FIN/RST frames and the first
    /// frames with URG.
    pub fn condense(&self) {
        *self.gate.lock() = Gate {
            condensed: true,
            ..Gate::default()
        };
    }

    /// Back to every frame; returns how many were left out while condensed.
    pub fn full(&self) -> usize {
        let mut g = self.gate.lock();
        let omitted = g.omitted;
        *g = Gate::default();
        omitted
    }

    /// Whether to print `line` (a frame's one-line description).
    fn admit(&self, line: &str) -> bool {
        let mut g = self.gate.lock();
        if !g.condensed {
            return true;
        }
        // The TCP flags are between the first brackets: "[S.]", "[PU.]", ...
        let flags = line
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map_or("", |(f, _)| f);
        let control = flags.contains(['S', 'F', 'R']);
        let urgent = flags.contains('U');
        let show = if g.shown < CONDENSED_FIRST || control {
            true
        } else if urgent && g.urgent_shown < CONDENSED_URGENT {
            g.urgent_shown += 1;
            true
        } else {
            false
        };
        if show {
            g.shown += 1;
        } else {
            g.omitted += 1;
        }
        show
    }

    /// An observer printing the frames `label` sends, times measured from `epoch`.
    fn observer(&self, label: &'static str, epoch: std::time::Instant) -> FrameObserver {
        let gate = self.clone();
        Box::new(move |dir, frame, _now| {
            if dir != Direction::Out {
                return;
            }
            let line = stack::wire::pretty::frame(frame);
            if gate.admit(&line) {
                match &gate.ladder {
                    Some(l) => println!("{}", l.lock().line(label == "A", frame)),
                    None => {
                        println!("{:>10.6} {label} > {line}", epoch.elapsed().as_secs_f64())
                    }
                }
            }
        })
    }
}

/// Two stacks on one in-memory link, printing frames as host A and B send them
/// (when `transcript` is given).
pub fn two_hosts(seed: u64, transcript: Option<&Transcript>) -> Result<(Stack, Stack), String> {
    let (la, lb) = MemoryLink::pair(1500);
    let mut ca = StackConfig::new(HOST_A, 24);
    let mut cb = StackConfig::new(HOST_B, 24);
    // A teaching run on an in-memory link: reproducible, so the transcript is.
    ca.seed = seed;
    cb.seed = seed.wrapping_add(1);
    ca.deterministic = true;
    cb.deterministic = true;
    let epoch = std::time::Instant::now();
    let obs = |label| transcript.map(|t| t.observer(label, epoch));
    let a = Runtime::start_with_observer(Engine::new(ca).map_err(|e| e.to_string())?, la, obs("A"))
        .map_err(|e| e.to_string())?;
    let b = Runtime::start_with_observer(Engine::new(cb).map_err(|e| e.to_string())?, lb, obs("B"))
        .map_err(|e| e.to_string())?;
    let (a, b) = (Stack::new(a), Stack::new(b));
    name_hosts(&a, &b);
    Ok((a, b))
}

/// Host A is "hosta" and host B "hostb", and each knows the other by name.
fn name_hosts(a: &Stack, b: &Stack) {
    for (s, me) in [(a, NAME_A), (b, NAME_B)] {
        s.sethostname(me);
        s.add_host(NAME_A, &[], HOST_A);
        s.add_host(NAME_B, &[], HOST_B);
    }
}

/// A section's title line.
pub(crate) fn banner(title: &str) {
    println!("\n=== {title} ===");
}

/// Prints `[ok]` or `[FAILED]` for a step, remembering failures.
pub(crate) fn check(what: &str, ok: bool, failures: &mut Vec<String>) {
    if ok {
        println!("[ok] {what}");
    } else {
        println!("[FAILED] {what}");
        failures.push(what.to_string());
    }
}

fn answered(s: &PingSummary) -> bool {
    s.sent > 0 && s.received == s.sent
}

/// Runs the demo.
pub fn run(o: DemoOpts) -> Result<(), String> {
    println!("netstack demo: host A {HOST_A} and host B {HOST_B} on an in-memory Ethernet link.");
    let mut transcript = Transcript::default();
    if o.ladder {
        println!("The transcript is a ladder: an arrow per frame, from the host that sends it.");
        println!("{}", netstack_tools::ladder::Ladder::header(HOST_A, HOST_B));
        transcript.ladder = Some(Arc::new(Mutex::new(netstack_tools::ladder::Ladder::new())));
    } else {
        println!(
            "Each line of the transcript is a frame: time, sending host, '>', what it carries."
        );
    }
    let (a, b) = two_hosts(o.seed, (!o.quiet).then_some(&transcript))?;
    let mut failures = Vec::new();
    let sections = Sections(o.only.clone());
    // Host A's programs run on this thread, host B's on threads of their own:
    // each line a program prints says which host printed it.
    crate::examples::label_host("A");

    if sections.want(1) {
        banner("1. ping: A pings B (ARP resolves B's MAC first), then B pings A");
        let s1 = ping(a.runtime(), HOST_B, 3, 56, StdDuration::from_millis(200))?;
        let s2 = ping(b.runtime(), HOST_A, 1, 56, StdDuration::from_millis(200))?;
        check(
            "ping A -> B and B -> A",
            answered(&s1) && answered(&s2),
            &mut failures,
        );
    }
    if sections.want(2) {
        banner("2. a fragmented ping: 4000 bytes do not fit a 1500-byte MTU");
        let s3 = ping(a.runtime(), HOST_B, 1, 4000, StdDuration::from_millis(200))?;
        check("fragmented ping", answered(&s3), &mut failures);
    }
    if sections.want(3) {
        datagram_section(&a, &b, &mut failures)?;
    }
    if sections.want(4) {
        broadcast_section(&a, &b, &mut failures)?;
    }
    stream_sections(&a, &b, &sections, &mut failures)?;
    if sections.want(8) {
        urgent_section(&a, &b, &transcript, o.quiet, &mut failures)?;
    }
    if sections.want(9) {
        crate::cmd::demo_errors::error_section(&a, &b, &mut failures)?;
    }
    if sections.want(10) {
        crate::cmd::demo_errors::retransmission_section(&mut failures)?;
    }
    if sections.want(11) {
        unix_section(&a, &mut failures)?;
    }
    if sections.want(12) {
        rwho_section(&mut failures)?;
    }
    if sections.want(13) {
        banner("13. 4.2BSD primer, Figures 1 and 2: rlogin from host A (a reserved port, 5.4) to rlogind on host B (a shell on a pseudo-terminal; the reaper, 5.6); ^C travels out of band and the client flushes to the mark (Figure 5)");
        let s = crate::cmd::example::rlogin_demo()?;
        let text = String::from_utf8_lossy(&s.output);
        println!(
            "\n[A] rlogin used reserved port {}; the server's out-of-band bytes {:02x?}",
            s.local_port, s.oob
        );
        check(
            "rlogin: the command ran on host B's shell and ^C ended the remote sleep (status 130)",
            text.contains("status=130") && s.oob == [crate::examples::rlogin::TIOCPKT_FLUSHWRITE],
            &mut failures,
        );
    }

    let ca = a.runtime().lock().engine_ref().counters().clone();
    let cb = b.runtime().lock().engine_ref().counters().clone();
    drop((a, b));
    banner("counters of host A (name, count, what it counts)");
    print!("{}", ca.explained());
    banner("counters of host B");
    print!("{}", cb.explained());
    if !failures.is_empty() {
        return Err(format!("demo steps failed: {}", failures.join("; ")));
    }
    println!("\ndemo finished: every step worked.");
    Ok(())
}

/// Section 3: the 4.4BSD tutorial's datagram pair.
fn datagram_section(a: &Stack, b: &Stack, failures: &mut Vec<String>) -> Result<(), String> {
    banner("3. 4.4BSD tutorial, Figures 6a and 6b: B reads a datagram, A sends it");
    let (port_tx, port_rx) = crossbeam_channel::bounded(1);
    let reader = {
        let b = b.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("B");
            dgram::figure_6a_reader(&b, |port| {
                let _ = port_tx.send(port);
            })
        })
    };
    let port = port_rx
        .recv_timeout(StdDuration::from_secs(5))
        .map_err(|_| "the reader never printed its port".to_string())?;
    dgram::figure_6b_sender(a, NAME_B, port)?;
    let got = reader.join().map_err(|_| "reader panicked".to_string())??;
    check(
        "Figure 6a received Figure 6b's message",
        got == dgram::DATA,
        failures,
    );

    Ok(())
}

/// Section 4: the Unix IPC notes' broadcast sender and receiver.
fn broadcast_section(a: &Stack, b: &Stack, failures: &mut Vec<String>) -> Result<(), String> {
    banner("4. Unix IPC notes, Figures 2-4: sender broadcasts two messages, receiver gets them");
    let (bound_tx, bound_rx) = crossbeam_channel::bounded(1);
    let receiver = {
        let b = b.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("B");
            ipc_notes::receiver(&b, 4567, || {
                let _ = bound_tx.send(());
            })
        })
    };
    bound_rx
        .recv_timeout(StdDuration::from_secs(5))
        .map_err(|_| "the receiver never bound".to_string())?;
    ipc_notes::sender(a, "hello", "how are you", "10.0.0.255", 4567)?;
    let got = receiver
        .join()
        .map_err(|_| "receiver panicked".to_string())??;
    // The C receiver prints only the senders' addresses (printSA): the messages.
    println!("receiver's messages: \"{}\" and \"{}\"", got.0, got.1);
    check(
        "receiver got both broadcast messages",
        got == ("hello".to_string(), "how are you".to_string()),
        failures,
    );

    Ok(())
}

/// The messages of a Figure 7b/7c transcript, joined per connection (a write may
/// arrive in several reads).
fn messages(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in lines {
        if let Some(m) = line.strip_prefix("-->") {
            current.push_str(m);
        } else if line == "Ending connection" {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

/// Two hosts on an in-memory link whose programs may bind reserved ports (the
/// rwho port): as `two_hosts`, privileged, without a transcript.
pub(crate) fn rwho_hosts() -> Result<(Stack, Stack), String> {
    let mut ca = StackConfig::new(HOST_A, 24);
    let mut cb = StackConfig::new(HOST_B, 24);
    ca.ports.privileged = true;
    cb.ports.privileged = true;
    let (a, b) = Stack::try_memory_pair(ca, cb).map_err(|e| e.to_string())?;
    name_hosts(&a, &b);
    Ok((a, b))
}

/// Section 12: the primer's rwho server on two hosts (run as root), then
/// ruptime's table from host A.
fn rwho_section(failures: &mut Vec<String>) -> Result<(), String> {
    use crate::examples::rwho;
    use std::sync::atomic::{AtomicBool, Ordering};
    banner("12. 4.2BSD primer, Figures 3 and 4: rwhod on both hosts (as root: udp/who is port 513) broadcasts status to INADDR_ANY; ruptime on host A");
    let (a, b) = rwho_hosts()?;
    let stop = Arc::new(AtomicBool::new(false));
    let interval = StdDuration::from_millis(100);
    let mut daemons = Vec::new();
    let mut dbs = Vec::new();
    for (net, name) in [(a, NAME_A), (b, NAME_B)] {
        let db = rwho::WhoDb::default();
        dbs.push(db.clone());
        let stop = stop.clone();
        daemons.push(std::thread::spawn(move || {
            rwho::rwhod(&net, name, interval, db, stop)
        }));
    }
    std::thread::sleep(StdDuration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for d in daemons {
        d.join().map_err(|_| "rwhod failed")??;
    }
    let table = rwho::ruptime_now(&dbs[0]);
    for line in &table {
        println!("[A] {line}");
    }
    check(
        "ruptime on host A lists both hosts up",
        table.len() == 2 && table.iter().all(|l| l.contains(" up ")),
        failures,
    );
    Ok(())
}

/// Section 11: the tutorial's UNIX-domain figures, inside host A (threads for
/// fork; nothing crosses the link).
fn unix_section(a: &Stack, failures: &mut Vec<String>) -> Result<(), String> {
    use crate::examples::unix;
    banner("11. 4.4BSD tutorial, Figures 1, 3, 5a/5b, 9a/9b: a pipe, a socketpair, UNIX-domain datagrams and streams (inside host A; a thread for each fork)");
    let got = unix::figure_1_pipe(a)?;
    check(
        "Figure 1: the child's message through the pipe",
        got == unix::PIPE_DATA,
        failures,
    );
    check(
        "the slides' unnamed pipe: x + y = 30",
        unix::slides_pipe(a)? == 30,
        failures,
    );
    check(
        "the slides' named pipe (mkfifo): x + y = 30",
        unix::slides_fifo(a)? == 30,
        failures,
    );
    let (parent, child) = unix::figure_3_socketpair(a)?;
    check(
        "Figure 3: both messages through the socketpair",
        parent == unix::DATA1 && child == unix::DATA2,
        failures,
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = {
        let a = a.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("A");
            unix::figure_5a_reader(&a, tx)
        })
    };
    rx.recv()
        .map_err(|_| "Figure 5a ended before it bound its name")?;
    unix::figure_5b_sender(a, unix::NAME)?;
    let got = reader.join().map_err(|_| "Figure 5a failed")??;
    check(
        "Figures 5a/5b: a datagram to the name \"socket\"",
        got == unix::DGRAM_DATA,
        failures,
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let server = {
        let a = a.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("A");
            unix::figure_9b_server(&a, 1, tx)
        })
    };
    rx.recv()
        .map_err(|_| "Figure 9b ended before it bound its name")?;
    unix::figure_9a_writer(a, unix::NAME)?;
    let got = server.join().map_err(|_| "Figure 9b failed")??;
    check(
        "Figures 9a/9b: a stream connection to the name \"socket\", then unlink",
        got == [unix::STREAM_DATA],
        failures,
    );
    Ok(())
}

/// Lets a connection's closing frames go by, so sections do not interleave.
fn settle() {
    std::thread::sleep(StdDuration::from_millis(100));
}

/// Waits for a value a program thread announces (its port, "listening", ...).
fn announced<T>(rx: &crossbeam_channel::Receiver<T>, what: &str) -> Result<T, String> {
    rx.recv_timeout(StdDuration::from_secs(10))
        .map_err(|_| format!("{what} never happened"))
}

/// Sections 5 to 7: the stream examples of the 4.4BSD tutorial and the IPC notes.
fn stream_sections(
    a: &Stack,
    b: &Stack,
    sections: &Sections,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    if sections.want(5) {
        section_5(a, b, failures)?;
    }
    if sections.want(6) {
        section_6(a, b, failures)?;
    }
    if sections.want(7) {
        section_7(a, b, failures)?;
    }
    Ok(())
}

fn section_5(a: &Stack, b: &Stack, failures: &mut Vec<String>) -> Result<(), String> {
    banner("5. 4.4BSD tutorial, Figures 7a and 7b: B accepts a connection, A writes a message");
    let (port_tx, port_rx) = crossbeam_channel::bounded(1);
    let acceptor = {
        let b = b.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("B");
            stream::figure_7b_acceptor(&b, 0, Some(1), |port| {
                let _ = port_tx.send(port);
            })
        })
    };
    let port = announced(&port_rx, "Figure 7b listening")?;
    stream::figure_7a_writer(a, NAME_B, port)?;
    let lines = acceptor
        .join()
        .map_err(|_| "Figure 7b panicked".to_string())??;
    check(
        "Figure 7b printed Figure 7a's message, then \"Ending connection\"",
        messages(&lines) == [stream::DATA]
            && lines.last().is_some_and(|l| l == "Ending connection"),
        failures,
    );
    settle();
    Ok(())
}

fn section_6(a: &Stack, b: &Stack, failures: &mut Vec<String>) -> Result<(), String> {
    let timeout = StdDuration::from_millis(500);
    banner("6. 4.4BSD tutorial, Figure 7c: select() before accept()");
    println!(
        "(select's timeout is {} ms here; 5 s in the C program. A connects after the first one.)",
        timeout.as_millis()
    );
    let (port_tx, port_rx) = crossbeam_channel::bounded(1);
    let (idle_tx, idle_rx) = crossbeam_channel::unbounded();
    let acceptor = {
        let b = b.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("B");
            stream::figure_7c_select_acceptor(
                &b,
                0,
                Some(1),
                timeout,
                |port| {
                    let _ = port_tx.send(port);
                },
                move || {
                    let _ = idle_tx.send(());
                },
            )
        })
    };
    let port = announced(&port_rx, "Figure 7c listening")?;
    announced(&idle_rx, "Figure 7c's select timing out")?;
    stream::figure_7a_writer(a, NAME_B, port)?;
    let lines = acceptor
        .join()
        .map_err(|_| "Figure 7c panicked".to_string())??;
    check(
        "Figure 7c did something else, then accepted and printed the message",
        lines.first().is_some_and(|l| l == "Do something else")
            && messages(&lines) == [stream::DATA],
        failures,
    );
    settle();
    Ok(())
}

fn section_7(a: &Stack, b: &Stack, failures: &mut Vec<String>) -> Result<(), String> {
    const AGREED_PORT: u16 = 4568;
    banner("7. Unix IPC notes, Figures 5-9: stream echo (readAndWrite / writeAndRead)");
    println!("server: s2 = startUp({AGREED_PORT}); s3 = acceptConnection(s2); readAndWrite(s3, 10); close(s2)");
    println!("client: s1 = requestConnection(\"{NAME_B}\", {AGREED_PORT}); writeAndRead(s1, \"hello\", \"there\", 5, 5)");
    let (up_tx, up_rx) = crossbeam_channel::bounded(1);
    let server = {
        let b = b.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("B");
            ipc_notes::stream_server(&b, AGREED_PORT, 10, || {
                let _ = up_tx.send(());
            })
        })
    };
    announced(&up_rx, "startUp listening")?;
    let replies = ipc_notes::stream_client(a, NAME_B, AGREED_PORT, "hello", "there")?;
    let echoed = server
        .join()
        .map_err(|_| "the server panicked".to_string())??;
    println!("client read back \"{}\"", String::from_utf8_lossy(&replies));
    check(
        "readAndWrite echoed the 10 bytes writeAndRead sent",
        echoed == b"hellothere" && replies == b"hellothere",
        failures,
    );
    settle();
    Ok(())
}

/// Section 8: the primer's Figure 5, flushing output up to the out-of-band mark.
fn urgent_section(
    a: &Stack,
    b: &Stack,
    transcript: &Transcript,
    quiet: bool,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    const OUTPUT: usize = 48 * 1024;
    banner(
        "8. 4.2BSD primer, Figure 5: an interrupt flushes the output up to the out-of-band mark",
    );
    println!(
        "A writes {} KiB of output, then the interrupt as one out-of-band byte ({:#04x}, SIGINT);",
        OUTPUT / 1024,
        oob::INTERRUPT
    );
    println!(
        "B's reader stops, and its urgent handler (SIGURG) reads and drops everything up to the"
    );
    println!(
        "mark, then reads the out-of-band byte. Only the first frames, the SYN/FIN frames and the"
    );
    println!("first frames announcing urgent data (U) are shown.");
    transcript.condense();
    let (port_tx, port_rx) = crossbeam_channel::bounded(1);
    let server = {
        let b = b.clone();
        std::thread::spawn(move || {
            crate::examples::label_host("B");
            oob::figure_5_server(&b, 0, |port| {
                let _ = port_tx.send(port);
            })
        })
    };
    let port = announced(&port_rx, "Figure 5's server listening")?;
    let report = oob::figure_5_client(a, HOST_B, port, OUTPUT)?;
    let summary = server
        .join()
        .map_err(|_| "Figure 5's server panicked".to_string())??;
    settle();
    let omitted = transcript.full();
    if !quiet {
        println!("({omitted} frames of the transfer not shown)");
    }
    check(
        &format!(
            "every byte before the mark was read ({}) or flushed ({}): {} sent",
            summary.read_before, summary.flushed, report.sent_before
        ),
        summary.read_before + summary.flushed == report.sent_before,
        failures,
    );
    check(
        "the out-of-band byte is the interrupt, and the data after the mark arrived",
        summary.oob_byte == Some(oob::INTERRUPT)
            && summary.after_mark == oob::AFTER_INTERRUPT.as_bytes(),
        failures,
    );
    Ok(())
}
