//! `netstack bench`: bulk TCP throughput of our stack and smoltcp 0.14, side by side,
//! over the same TAP with the Linux kernel as the peer, and in memory.
//!
//! Run it inside a private network namespace that holds the TAP, e.g. through
//! `scripts/bench.sh` (which builds, makes the namespace with `scripts/netns-run.sh`,
//! and runs this). See [`crate::bench`] for what is measured and how.

use std::net::Ipv4Addr;
use std::time::Duration;

use clap::Args;

use crate::bench::report::{best, gbps, ratio, Cell, Table};
use crate::bench::{self, format_size, parse_size, Dir, TapRun};
use crate::iface::{in_root_netns, parse_cidr};

#[path = "bench_lossy.rs"]
mod lossy_run;
use lossy_run::run_lossy;

/// Options of `netstack bench`.
#[derive(Args, Debug)]
pub struct BenchOpts {
    /// TAP device (inside this network namespace) the stacks take turns on.
    #[arg(long, default_value = "tap0")]
    tap: String,
    /// The stacks' address and prefix length.
    #[arg(long, default_value = "10.0.0.2/24", value_parser = parse_cidr)]
    addr: (Ipv4Addr, u8),
    /// The kernel's address on the TAP (must be configured in this namespace).
    #[arg(long, default_value = "10.0.0.1")]
    peer: Ipv4Addr,
    /// MAC address of the stacks (default: derived from --addr, as `netstack up` does).
    #[arg(long)]
    mac: Option<stack::EthernetAddress>,
    /// IP MTU on the TAP.
    #[arg(long, default_value_t = 1500)]
    mtu: usize,
    /// Bytes per TAP transfer (suffixes KiB, MiB, GiB; KB, MB, GB).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    bytes: u64,
    /// Socket buffer sizes (send and receive) to measure, comma-separated.
    #[arg(long, default_value = "64KiB,1MiB", value_delimiter = ',', value_parser = parse_size)]
    buffers: Vec<u64>,
    /// Bytes per in-memory transfer.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    memory_bytes: u64,
    /// IP MTUs of the in-memory runs, comma-separated (65521 is smoltcp's loopback
    /// device as shipped: 65535-byte frames).
    #[arg(long, default_value = "1500,65521", value_delimiter = ',')]
    memory_mtus: Vec<usize>,
    /// Open our stack's TAP with the virtio-net header and checksum/TSO offloads
    /// (Linux hands over and takes TCP segments up to 64 KiB).
    #[arg(long)]
    offload: bool,
    /// In memory, let our engines leave TCP checksums out (checksum offload, as
    /// smoltcp's loopback does), instead of computing and verifying them.
    #[arg(long)]
    memory_checksum_offload: bool,
    /// Measure only in memory (no TAP, no namespace needed).
    #[arg(long, conflicts_with = "tap_only")]
    memory_only: bool,
    /// Measure only over the TAP.
    #[arg(long)]
    tap_only: bool,
    /// Skip our one-thread poll-loop variant on the TAP (the runtime-driven one is the
    /// figure compared with smoltcp).
    #[arg(long)]
    no_poll_loop: bool,
    /// Measure only these variants, comma-separated (default: all). TAP: ours,
    /// ours-poll, smoltcp, floor (no stack: only the checksums, one copy and the
    /// ACKs, the least any stack does per frame); in memory: engines, runtimes, loopback, loopback-csum.
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<Variant>,
    /// TAP directions to measure, comma-separated: send (the stack sends), recv.
    #[arg(long, value_delimiter = ',', value_enum, default_value = "send,recv")]
    directions: Vec<DirArg>,
    /// Measure every cell this many times and keep the best; the rounds
    /// interleave (every cell once, then again), so that a slow spell of the
    /// machine weighs on all stacks alike.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Give up on one transfer after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Run on a TAP in the root network namespace (normally refused).
    #[arg(long)]
    allow_root_netns: bool,
    /// Measure goodput on a lossy link instead: drop this many percent of packets
    /// on the kernel side with nftables (comma-separated, 0.1 steps, e.g.
    /// 0,0.5,1,2,5; 0 is the loss-free baseline), for our stack, smoltcp and
    /// Linux-to-Linux over a veth pair.
    #[arg(long, value_delimiter = ',')]
    loss: Vec<f64>,
    /// With --loss: where packets are dropped, comma-separated: both, to-kernel
    /// (what the stack under test sends), from-kernel.
    #[arg(
        long,
        value_delimiter = ',',
        value_enum,
        default_value = "both,to-kernel,from-kernel"
    )]
    loss_where: Vec<bench::lossy::LossWhere>,
    /// With --loss: bytes per transfer for our stack and Linux.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    loss_bytes: u64,
    /// With --loss: bytes per transfer for smoltcp (far slower under loss).
    #[arg(long, default_value = "4MiB", value_parser = parse_size)]
    loss_bytes_smoltcp: u64,
    /// With --loss: SACK on the kernel side (`net.ipv4.tcp_sack` in this
    /// namespace and in the veth pair's), so every connection runs with or
    /// without it.
    #[arg(long, value_enum, default_value = "on")]
    kernel_sack: OnOff,
    /// With --loss: the congestion control of every kernel-side socket (TCP_CONGESTION,
    /// in this namespace and in the veth pair's). CUBIC, Linux's default and ours,
    /// compares recovery like for like; some kernels are built with another default
    /// (BBR, which does not slow down for random loss).
    #[arg(long, default_value = "cubic")]
    kernel_cc: String,
    /// Measure latency instead (netperf's TCP_RR, TCP_CRR, UDP_RR): our stack,
    /// smoltcp and Linux-to-Linux over a veth pair, each as the client of an
    /// echo server; transactions per second, median and 99th percentile.
    #[arg(long)]
    rr: bool,
    /// With --rr: seconds per measurement.
    #[arg(long, default_value_t = 3.0)]
    rr_seconds: f64,
    /// With --rr: TCP_RR request sizes, comma-separated.
    #[arg(long, default_value = "1,1024", value_delimiter = ',')]
    rr_sizes: Vec<usize>,
    /// Measure scale instead: this many connections to our `serve echo`,
    /// opened one after another by a kernel client, each echoing
    /// --scale-echo bytes and then staying open; memory before, at the peak
    /// and idle, and the cost of a segment with none and with all open.
    #[arg(long)]
    scale: Option<usize>,
    /// With --scale: bytes each connection echoes.
    #[arg(long, default_value = "64KiB", value_parser = parse_size)]
    scale_echo: u64,
    /// With --scale: bytes of the bulk echo that times a segment.
    #[arg(long, default_value = "64MiB", value_parser = parse_size)]
    scale_bulk: u64,
}

impl BenchOpts {
    /// What `--rr` needs.
    fn rr_settings(&self) -> Result<crate::cmd::bench_rr::RrSettings, String> {
        crate::cmd::bench_rr::RrSettings::new(
            &self.tap,
            self.addr,
            self.peer,
            self.mac,
            self.mtu,
            self.rr_seconds,
            &self.rr_sizes,
        )
    }
}

/// `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// `--directions` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DirArg {
    /// The stack sends (byte source), the kernel reads.
    Send,
    /// The stack receives (discard), the kernel writes.
    Recv,
}

impl DirArg {
    pub(crate) fn dir(self) -> Dir {
        match self {
            DirArg::Send => Dir::Send,
            DirArg::Recv => Dir::Recv,
        }
    }
}

/// Names of the measured variants for `--only`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Variant {
    /// TAP: our stack driven by its runtime.
    Ours,
    /// TAP: our engine and the TAP in one polling thread.
    OursPoll,
    /// TAP: smoltcp.
    Smoltcp,
    /// TAP: no stack, only the per-frame work every stack must do (the device's floor).
    Floor,
    /// Memory: two of our engines in one thread.
    Engines,
    /// Memory: two of our runtimes on a MemoryLink.
    Runtimes,
    /// Memory: smoltcp's loopback benchmark as shipped.
    Loopback,
    /// Memory: smoltcp's loopback benchmark with checksums.
    LoopbackCsum,
}

/// The stacks measured on the TAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TapStack {
    /// Ours, driven by its runtime (driver thread + blocking application thread).
    Ours,
    /// Ours, engine and device in one polling thread (smoltcp's benchmark shape).
    OursPoll,
    /// smoltcp 0.14.
    Smoltcp,
    /// No stack: checksums, one copy and ACKs only ([`bench::floor`]).
    Floor,
}

impl TapStack {
    fn variant(self) -> Variant {
        match self {
            TapStack::Ours => Variant::Ours,
            TapStack::OursPoll => Variant::OursPoll,
            TapStack::Smoltcp => Variant::Smoltcp,
            TapStack::Floor => Variant::Floor,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TapStack::Ours => "ours",
            TapStack::OursPoll => "ours (1 thread)",
            TapStack::Smoltcp => "smoltcp",
            TapStack::Floor => "floor (no stack)",
        }
    }
}

/// The in-memory variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemStack {
    /// Two of our engines, one thread.
    OursEngines,
    /// Two of our runtimes on a MemoryLink.
    OursRuntimes,
    /// smoltcp's loopback benchmark as shipped (no checksums).
    SmolLoopback,
    /// smoltcp's loopback benchmark with checksums computed and verified.
    SmolLoopbackCsum,
}

impl MemStack {
    const ALL: [MemStack; 4] = [
        MemStack::OursEngines,
        MemStack::OursRuntimes,
        MemStack::SmolLoopback,
        MemStack::SmolLoopbackCsum,
    ];

    fn variant(self) -> Variant {
        match self {
            MemStack::OursEngines => Variant::Engines,
            MemStack::OursRuntimes => Variant::Runtimes,
            MemStack::SmolLoopback => Variant::Loopback,
            MemStack::SmolLoopbackCsum => Variant::LoopbackCsum,
        }
    }

    fn name(self) -> &'static str {
        match self {
            MemStack::OursEngines => "ours: 2 engines, 1 thread",
            MemStack::OursRuntimes => "ours: 2 runtimes, MemoryLink",
            MemStack::SmolLoopback => "smoltcp loopback",
            MemStack::SmolLoopbackCsum => "smoltcp loopback + checksums",
        }
    }
}

/// The ratio ours / smoltcp each direction should reach (the "target" column).
fn target(dir: Dir) -> f64 {
    match dir {
        Dir::Send => 1.5,
        Dir::Recv => 1.2,
    }
}

/// Target of the in-memory comparison.
const MEMORY_TARGET: f64 = 1.0;

fn verdict(ours: Option<f64>, theirs: Option<f64>, target: f64) -> &'static str {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 && a / b >= target => "PASS",
        (Some(_), Some(_)) => "below",
        _ => "-",
    }
}

/// Measures every cell `repeat` times in interleaved rounds (every cell once,
/// then again) and keeps each cell's fastest success, or its last error.
fn interleaved<K: Copy>(
    cells: &[K],
    repeat: u32,
    mut measure: impl FnMut(K, u32) -> Cell,
) -> Vec<Cell> {
    let mut kept: Vec<Option<Cell>> = cells.iter().map(|_| None).collect();
    for round in 0..repeat.max(1) {
        for (slot, &k) in kept.iter_mut().zip(cells) {
            let c = measure(k, round);
            *slot = Some(match (slot.take(), c) {
                (Some(Ok(a)), Ok(b)) => Ok(if b.gbps() > a.gbps() { b } else { a }),
                (Some(Ok(a)), Err(_)) => Ok(a),
                (_, c) => c,
            });
        }
    }
    kept.into_iter()
        .map(|c| c.unwrap_or_else(|| Err("not measured".into())))
        .collect()
}

/// A progress label with the round, when there are several.
fn round_label(label: &str, round: u32, repeat: u32) -> String {
    if repeat > 1 {
        format!("{label} (round {} of {repeat})", round + 1)
    } else {
        label.to_string()
    }
}

fn progress(label: &str, c: &Cell) {
    match c {
        Ok(t) => eprintln!(
            "  {label}: {:.2} Gbit/s ({} in {:.2} s)",
            t.gbps(),
            format_size(t.bytes),
            t.elapsed.as_secs_f64()
        ),
        Err(e) => eprintln!("  {label}: FAILED: {e}"),
    }
}

/// Frames the kernel received on and sent to the TAP so far (`rx_packets`,
/// `tx_packets` of the interface): the stack's frames out and in.
fn tap_frames(tap: &str) -> Option<(u64, u64)> {
    let read = |what: &str| {
        std::fs::read_to_string(format!("/sys/class/net/{tap}/statistics/{what}"))
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
    };
    Some((read("rx_packets")?, read("tx_packets")?))
}

/// Runs `netstack bench`.
pub fn run(o: BenchOpts) -> Result<(), String> {
    if o.buffers.is_empty() {
        return Err("--buffers needs at least one size".into());
    }
    if let Some(&b) = o
        .buffers
        .iter()
        .find(|&&b| !(1024..=(1 << 30)).contains(&b))
    {
        return Err(format!("buffer size {b} out of range (1 KiB to 1 GiB)"));
    }
    if !(576..=65535).contains(&o.mtu) {
        return Err(format!("--mtu {} out of range (576 to 65535)", o.mtu));
    }
    if let Some(m) = o.memory_mtus.iter().find(|m| !(576..=65521).contains(*m)) {
        return Err(format!("--memory-mtus: {m} out of range (576 to 65521)"));
    }
    if !o.loss.is_empty() {
        check_namespace(&o)?;
        return run_lossy(&o);
    }
    if o.rr {
        check_namespace(&o)?;
        return crate::cmd::bench_rr::run(&o.rr_settings()?);
    }
    if let Some(conns) = o.scale {
        if !(1..=1_000_000).contains(&conns) {
            return Err("--scale: from 1 to 1000000 connections".into());
        }
        check_namespace(&o)?;
        let size = |v: u64, what: &str| {
            usize::try_from(v)
                .ok()
                .filter(|&v| (1..=(1 << 30)).contains(&v))
                .ok_or_else(|| format!("{what}: from 1 byte to 1 GiB"))
        };
        return crate::cmd::bench_scale::run(&crate::cmd::bench_scale::ScaleSettings {
            tap: o.tap.clone(),
            addr: o.addr,
            mac: o.mac,
            mtu: o.mtu,
            offload: o.offload,
            conns,
            echo_bytes: size(o.scale_echo, "--scale-echo")?,
            bulk_bytes: size(o.scale_bulk, "--scale-bulk")?,
        });
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let timeout = Duration::from_secs(o.timeout.max(1));
    let wanted = |v: Variant| o.only.is_empty() || o.only.contains(&v);
    let tap_stacks: Vec<TapStack> = [
        TapStack::Ours,
        TapStack::OursPoll,
        TapStack::Smoltcp,
        TapStack::Floor,
    ]
    .into_iter()
    .filter(|s| wanted(s.variant()) && !(o.no_poll_loop && *s == TapStack::OursPoll))
    .collect();
    let mem_stacks: Vec<MemStack> = MemStack::ALL
        .into_iter()
        .filter(|s| wanted(s.variant()))
        .collect();
    let do_tap = !o.memory_only && !tap_stacks.is_empty();
    let do_mem = !o.tap_only && !mem_stacks.is_empty();
    if do_tap {
        check_namespace(&o)?;
    }
    let buffers: Vec<usize> = o.buffers.iter().map(|&b| b as usize).collect();
    let mut failures = Vec::new();
    let mut out = String::new();
    out.push_str(&format!(
        "netstack bench: ours vs smoltcp 0.14 on {cores} core(s)\n\n"
    ));

    if do_tap {
        let mac = o
            .mac
            .unwrap_or_else(|| stack::StackConfig::new(o.addr.0, o.addr.1).mac)
            .0;
        let stacks = tap_stacks;
        eprintln!(
            "TAP {} at MTU {}, {} per transfer, kernel {} <-> stacks {}:",
            o.tap,
            o.mtu,
            format_size(o.bytes),
            o.peer,
            o.addr.0
        );
        // results[dir][buffer][stack]
        let mut results: Vec<(Dir, usize, TapStack, Cell)> = Vec::new();
        let dirs: Vec<Dir> = Dir::ALL
            .into_iter()
            .filter(|d| o.directions.iter().any(|a| a.dir() == *d))
            .collect();
        let mut cells: Vec<(Dir, usize, TapStack)> = Vec::new();
        for &dir in &dirs {
            for &buffer in &buffers {
                for &st in &stacks {
                    cells.push((dir, buffer, st));
                }
            }
        }
        let label = |dir: Dir, buffer: usize, st: TapStack| {
            format!(
                "{:<15} {:<14} buffers {:>7}",
                st.name(),
                dir.label(),
                format_size(buffer as u64)
            )
        };
        let measured = interleaved(&cells, o.repeat, |(dir, buffer, st), round| {
            let run = TapRun {
                tap: o.tap.clone(),
                addr: o.addr,
                mac,
                mtu: o.mtu,
                buffer,
                bytes: o.bytes,
                dir,
                timeout,
                offload: o.offload,
                inbound_loss: 0.0,
            };
            let before = tap_frames(&o.tap);
            let cell = match st {
                TapStack::Ours => bench::ours::run_runtime(&run),
                TapStack::OursPoll => bench::ours::run_poll(&run),
                TapStack::Smoltcp => bench::smol::run_tap(&run),
                TapStack::Floor => bench::floor::run_tap(&run),
            };
            let frames = before
                .zip(tap_frames(&o.tap))
                .map(|(a, b)| (b.0.saturating_sub(a.0), b.1.saturating_sub(a.1)));
            progress(
                &round_label(&label(dir, buffer, st), round, o.repeat),
                &cell,
            );
            if let Some((from_stack, to_stack)) = frames {
                eprintln!("      frames: {from_stack} stack->kernel, {to_stack} kernel->stack");
            }
            cell
        });
        for (&(dir, buffer, st), cell) in cells.iter().zip(measured) {
            if let Err(e) = &cell {
                failures.push(format!("TAP, {}: {e}", label(dir, buffer, st)));
            }
            results.push((dir, buffer, st, cell));
        }
        out.push_str(&tap_tables(&o, &stacks, &buffers, &results));
    }

    if do_mem {
        eprintln!("In memory, {} per transfer:", format_size(o.memory_bytes));
        let mut results: Vec<(usize, usize, MemStack, Cell)> = Vec::new();
        let mut cells: Vec<(usize, usize, MemStack)> = Vec::new();
        for &mtu in &o.memory_mtus {
            for &buffer in &buffers {
                for &st in &mem_stacks {
                    cells.push((mtu, buffer, st));
                }
            }
        }
        let label = |mtu: usize, buffer: usize, st: MemStack| {
            format!(
                "{:<29} MTU {mtu:>5} buffers {:>7}",
                st.name(),
                format_size(buffer as u64)
            )
        };
        let measured = interleaved(&cells, o.repeat, |(mtu, buffer, st), round| {
            let bytes = o.memory_bytes;
            let cell = match st {
                MemStack::OursEngines => bench::memory::ours_engines(
                    bytes,
                    buffer,
                    mtu,
                    timeout,
                    o.memory_checksum_offload,
                ),
                MemStack::OursRuntimes => bench::memory::ours_runtimes(bytes, buffer, mtu, timeout),
                MemStack::SmolLoopback => {
                    bench::smol::run_loopback(bytes, buffer, mtu, false, timeout)
                }
                MemStack::SmolLoopbackCsum => {
                    bench::smol::run_loopback(bytes, buffer, mtu, true, timeout)
                }
            };
            progress(
                &round_label(&label(mtu, buffer, st), round, o.repeat),
                &cell,
            );
            cell
        });
        for (&(mtu, buffer, st), cell) in cells.iter().zip(measured) {
            if let Err(e) = &cell {
                failures.push(format!("memory, {}: {e}", label(mtu, buffer, st)));
            }
            results.push((mtu, buffer, st, cell));
        }
        out.push_str(&memory_tables(&o, &buffers, &results));
    }

    finish(&out, &failures)
}

/// True when this process is in the machine's (or container's) initial network
/// namespace: [`in_root_netns`] compares with PID 1, which may be unreadable (it is on
/// some VMs); PID 2 (`kthreadd`, in the initial namespace) is the second witness.
fn in_initial_netns() -> bool {
    if in_root_netns() {
        return true;
    }
    let ours = std::fs::read_link("/proc/self/ns/net");
    let kthreadd = std::fs::read_link("/proc/2/ns/net");
    matches!((ours, kthreadd), (Ok(a), Ok(b)) if a == b)
}

/// Refuses the root namespace and checks that the kernel side is set up here.
fn check_namespace(o: &BenchOpts) -> Result<(), String> {
    if in_initial_netns() && !o.allow_root_netns {
        return Err(format!(
            "refusing to use TAP '{}' in the root network namespace; run inside a private \
             one: scripts/bench.sh, or scripts/netns-run.sh --tap {} --kernel-addr {}/{} -- \
             netstack bench ... (or pass --allow-root-netns)",
            o.tap, o.tap, o.peer, o.addr.1
        ));
    }
    // The kernel end is a socket of this process: the peer address must be ours here.
    std::net::UdpSocket::bind((o.peer, 0)).map_err(|e| {
        format!(
            "the kernel has no address {} in this namespace ({e}); run inside \
             scripts/netns-run.sh --tap {} --kernel-addr {}/{}",
            o.peer, o.tap, o.peer, o.addr.1
        )
    })?;
    if o.peer == o.addr.0 {
        return Err("--peer and --addr must differ".into());
    }
    Ok(())
}

fn tap_tables(
    o: &BenchOpts,
    stacks: &[TapStack],
    buffers: &[usize],
    results: &[(Dir, usize, TapStack, Cell)],
) -> String {
    let cell = |d: Dir, b: usize, s: TapStack| {
        results
            .iter()
            .find(|r| r.0 == d && r.1 == b && r.2 == s)
            .map(|r| &r.3)
    };
    let mut s = format!(
        "TAP {}, MTU {}, Linux kernel as the peer, {} per transfer, Gbit/s at the receiver\n",
        o.tap,
        o.mtu,
        format_size(o.bytes)
    );
    let mut header = vec!["direction", "buffers"];
    header.extend(stacks.iter().map(|s| s.name()));
    header.push("ours/smoltcp");
    let mut t = Table::new(&header);
    for dir in Dir::ALL {
        for &b in buffers {
            let mut row = vec![dir.label().to_string(), format_size(b as u64)];
            for &st in stacks {
                row.push(cell(dir, b, st).map_or("-".into(), gbps));
            }
            let g = |st| {
                cell(dir, b, st)
                    .and_then(|c| c.as_ref().ok())
                    .map(|t| t.gbps())
            };
            row.push(ratio(g(TapStack::Ours), g(TapStack::Smoltcp)));
            t.row(row);
        }
    }
    s.push_str(&t.render());
    s.push_str("\nEach stack at its best buffer size (smoltcp: the better of its sizes)\n");
    let mut t = Table::new(&[
        "direction",
        "ours",
        "smoltcp",
        "ratio",
        "target",
        "result",
        "ours (1 thread) / smoltcp",
        "ours / floor",
        "smoltcp / floor",
    ]);
    for dir in Dir::ALL {
        let pick = |st| {
            best(
                buffers
                    .iter()
                    .filter_map(|&b| cell(dir, b, st).map(|c| (b, c))),
            )
        };
        let ours = pick(TapStack::Ours);
        let poll = pick(TapStack::OursPoll);
        let smol = pick(TapStack::Smoltcp);
        let floor = pick(TapStack::Floor);
        let show = |x: Option<(usize, f64)>| {
            x.map_or("failed".into(), |(b, g)| {
                format!("{g:.2} ({})", format_size(b as u64))
            })
        };
        t.row(vec![
            dir.label().into(),
            show(ours),
            show(smol),
            ratio(ours.map(|x| x.1), smol.map(|x| x.1)),
            format!(">= {:.1}x", target(dir)),
            verdict(ours.map(|x| x.1), smol.map(|x| x.1), target(dir)).into(),
            if stacks.contains(&TapStack::OursPoll) {
                ratio(poll.map(|x| x.1), smol.map(|x| x.1))
            } else {
                "-".into()
            },
            ratio(ours.map(|x| x.1), floor.map(|x| x.1)),
            ratio(smol.map(|x| x.1), floor.map(|x| x.1)),
        ]);
    }
    s.push_str(&t.render());
    s.push('\n');
    s
}

fn memory_tables(
    o: &BenchOpts,
    buffers: &[usize],
    results: &[(usize, usize, MemStack, Cell)],
) -> String {
    let cell = |m: usize, b: usize, s: MemStack| {
        results
            .iter()
            .find(|r| r.0 == m && r.1 == b && r.2 == s)
            .map(|r| &r.3)
    };
    let mut s = format!(
        "In memory, no device, {} per transfer, Gbit/s at the receiver\n",
        format_size(o.memory_bytes)
    );
    let mut header = vec!["MTU", "buffers"];
    header.extend(MemStack::ALL.iter().map(|s| s.name()));
    header.push("engines/loopback");
    let mut t = Table::new(&header);
    for &m in &o.memory_mtus {
        for &b in buffers {
            let mut row = vec![m.to_string(), format_size(b as u64)];
            for st in MemStack::ALL {
                row.push(cell(m, b, st).map_or("-".into(), gbps));
            }
            let g = |st| {
                cell(m, b, st)
                    .and_then(|c| c.as_ref().ok())
                    .map(|t| t.gbps())
            };
            row.push(ratio(g(MemStack::OursEngines), g(MemStack::SmolLoopback)));
            t.row(row);
        }
    }
    s.push_str(&t.render());
    s.push_str(
        "\nBest of the buffer sizes per MTU (ours: 2 engines; smoltcp: loopback as shipped)\n",
    );
    let mut t = Table::new(&[
        "MTU",
        "ours",
        "smoltcp",
        "ratio",
        "target",
        "result",
        "vs smoltcp + checksums",
    ]);
    for &m in &o.memory_mtus {
        let pick = |st| {
            best(
                buffers
                    .iter()
                    .filter_map(|&b| cell(m, b, st).map(|c| (b, c))),
            )
        };
        let ours = pick(MemStack::OursEngines);
        let smol = pick(MemStack::SmolLoopback);
        let csum = pick(MemStack::SmolLoopbackCsum);
        let show = |x: Option<(usize, f64)>| {
            x.map_or("failed".into(), |(b, g)| {
                format!("{g:.2} ({})", format_size(b as u64))
            })
        };
        t.row(vec![
            m.to_string(),
            show(ours),
            show(smol),
            ratio(ours.map(|x| x.1), smol.map(|x| x.1)),
            format!(">= {MEMORY_TARGET:.1}x"),
            verdict(ours.map(|x| x.1), smol.map(|x| x.1), MEMORY_TARGET).into(),
            ratio(ours.map(|x| x.1), csum.map(|x| x.1)),
        ]);
    }
    s.push_str(&t.render());
    s
}

/// Prints the tables, then the failed measurements; an error if any failed.
fn finish(out: &str, failures: &[String]) -> Result<(), String> {
    print!("{out}");
    if failures.is_empty() {
        return Ok(());
    }
    println!("\nFailed measurements:");
    for f in failures {
        println!("  {f}");
    }
    Err(format!("{} measurement(s) failed", failures.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Transfer;

    fn took(ms: u64) -> Cell {
        Ok(Transfer {
            bytes: 1_000_000,
            elapsed: std::time::Duration::from_millis(ms),
        })
    }

    /// Rounds go through every cell before any is measured again, and each cell
    /// keeps its fastest success; an error counts only where nothing succeeded.
    #[test]
    fn repeats_interleave_and_keep_the_best() {
        let mut order = Vec::new();
        let times = [[30, 10], [20, 40], [50, 60]];
        let kept = interleaved(&[0usize, 1, 2], 2, |k, round| {
            order.push((round, k));
            match k {
                2 if round == 0 => Err("refused".into()),
                _ => took(times[k][round as usize]),
            }
        });
        assert_eq!(order, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        let ms: Vec<u128> = kept
            .iter()
            .map(|c| c.as_ref().unwrap().elapsed.as_millis())
            .collect();
        assert_eq!(ms, [10, 20, 60]);
        let failed = interleaved(&[0usize], 3, |_, _| Err("refused".into()));
        assert!(failed[0].is_err());
    }
}
