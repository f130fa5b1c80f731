//! `netstack demo`: the embedded default. Two stacks on an in-memory link (no root,
//! no TAP) run the seed documents' examples with a transcript of every frame.

use std::net::Ipv4Addr;
use std::time::Duration as StdDuration;

use clap::Args;
use sockets::Stack;
use stack::device::memory::MemoryLink;
use stack::runtime::Runtime;
use stack::{Engine, StackConfig};

use crate::cmd::ping::{ping, PingSummary};
use crate::examples::{dgram, ipc_notes};

/// Options of `netstack demo`.
#[derive(Args, Debug)]
pub struct DemoOpts {
    /// Do not print the frame transcript.
    #[arg(long, short)]
    quiet: bool,
    /// Seed of both stacks.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Host A's address on the demo link.
pub const HOST_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Host B's address on the demo link.
pub const HOST_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Two stacks on one in-memory link, printing frames as host A and B send them.
pub fn two_hosts(seed: u64, transcript: bool) -> Result<(Stack, Stack), String> {
    let (la, lb) = MemoryLink::pair(1500);
    let mut ca = StackConfig::new(HOST_A, 24);
    let mut cb = StackConfig::new(HOST_B, 24);
    ca.seed = seed;
    cb.seed = seed.wrapping_add(1);
    let epoch = std::time::Instant::now();
    let obs = |label| transcript.then(|| crate::iface::printer_since(label, false, epoch));
    let a = Runtime::start_with_observer(Engine::new(ca).map_err(|e| e.to_string())?, la, obs("A"))
        .map_err(|e| e.to_string())?;
    let b = Runtime::start_with_observer(Engine::new(cb).map_err(|e| e.to_string())?, lb, obs("B"))
        .map_err(|e| e.to_string())?;
    Ok((Stack::new(a), Stack::new(b)))
}

fn banner(title: &str) {
    println!("\n=== {title} ===");
}

fn check(what: &str, ok: bool, failures: &mut Vec<String>) {
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
    println!("Each line of the transcript is a frame: time, sending host, '>', what it carries.");
    let (a, b) = two_hosts(o.seed, !o.quiet)?;
    let mut failures = Vec::new();

    banner("1. ping: A pings B (ARP resolves B's MAC first), then B pings A");
    let s1 = ping(a.runtime(), HOST_B, 3, 56, StdDuration::from_millis(200))?;
    let s2 = ping(b.runtime(), HOST_A, 1, 56, StdDuration::from_millis(200))?;
    check(
        "ping A -> B and B -> A",
        answered(&s1) && answered(&s2),
        &mut failures,
    );

    banner("2. a fragmented ping: 4000 bytes do not fit a 1500-byte MTU");
    let s3 = ping(a.runtime(), HOST_B, 1, 4000, StdDuration::from_millis(200))?;
    check("fragmented ping", answered(&s3), &mut failures);

    banner("3. 4.4BSD tutorial, Figures 6a and 6b: B reads a datagram, A sends it");
    let (port_tx, port_rx) = crossbeam_channel::bounded(1);
    let reader = {
        let b = b.clone();
        std::thread::spawn(move || {
            dgram::figure_6a_reader(&b, |port| {
                let _ = port_tx.send(port);
            })
        })
    };
    let port = port_rx
        .recv_timeout(StdDuration::from_secs(5))
        .map_err(|_| "the reader never printed its port".to_string())?;
    dgram::figure_6b_sender(&a, HOST_B, port)?;
    let got = reader.join().map_err(|_| "reader panicked".to_string())??;
    check(
        "Figure 6a received Figure 6b's message",
        got == dgram::DATA,
        &mut failures,
    );

    banner("4. Unix IPC notes, Figures 2-4: sender broadcasts two messages, receiver gets them");
    let (bound_tx, bound_rx) = crossbeam_channel::bounded(1);
    let receiver = {
        let b = b.clone();
        std::thread::spawn(move || {
            ipc_notes::receiver(&b, 4567, || {
                let _ = bound_tx.send(());
            })
        })
    };
    bound_rx
        .recv_timeout(StdDuration::from_secs(5))
        .map_err(|_| "the receiver never bound".to_string())?;
    ipc_notes::sender(
        &a,
        "hello",
        "how are you",
        std::net::Ipv4Addr::new(10, 0, 0, 255),
        4567,
    )?;
    let got = receiver
        .join()
        .map_err(|_| "receiver panicked".to_string())??;
    check(
        "receiver got both broadcast messages",
        got == ("hello".to_string(), "how are you".to_string()),
        &mut failures,
    );

    let ca = a.runtime().lock().engine_ref().counters().clone();
    let cb = b.runtime().lock().engine_ref().counters().clone();
    drop((a, b));
    banner("counters of host A");
    print!("{ca}");
    banner("counters of host B");
    print!("{cb}");
    if !failures.is_empty() {
        return Err(format!("demo steps failed: {}", failures.join("; ")));
    }
    println!("\ndemo finished: every step worked.");
    Ok(())
}
