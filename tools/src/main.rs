//! `netstack`: bring a userspace TCP/IP stack up on a TAP or an in-memory link, run
//! the classic services and the seed documents' examples over it.

mod bench;
mod cmd;
use netstack_tools::examples;
mod iface;

use clap::{Parser, Subcommand};

/// A userspace TCP/UDP/IPv4 stack for learning and testing.
#[derive(Parser, Debug)]
#[command(name = "netstack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Bring the stack up on a TAP: answer ARP and ping, print counters on exit.
    Up(cmd::up::UpOpts),
    /// Ping a host from our stack over a TAP.
    Ping(cmd::ping::PingOpts),
    /// Two stacks on an in-memory link running the seeds' examples (no root needed).
    Demo(cmd::demo::DemoOpts),
    /// Run one of the seed documents' example programs over a TAP.
    Example(cmd::example::ExampleOpts),
    /// Serve echo, discard, chargen or daytime over TCP or UDP.
    Serve(cmd::serve::ServeOpts),
    /// netcat over our stack.
    Nc(cmd::nc::NcOpts),
    /// The socket table (like `ss -tuan`, `-i` for TCP internals) or the counters
    /// (`--counters`) of a running netstack on a TAP, from its namespace.
    Stats(cmd::stats::StatsOpts),
    /// Pictures of a run: time-sequence graphs from a capture, congestion window
    /// and RTT from a connection trace (SVG and PNG).
    Plot(cmd::plot::PlotOpts),
    /// Run an unmodified program with its IPv4 sockets on our stack (LD_PRELOAD).
    Run(cmd::run::RunOpts),
    /// Run packet-level test scripts (packetdrill syntax) on virtual time.
    Drill(cmd::drill::DrillOpts),
    /// Bulk TCP throughput of our stack next to smoltcp 0.14 (TAP + in memory).
    Bench(cmd::bench::BenchOpts),
    /// The Linux side of `bench --loss` (run in a namespace of its own).
    #[command(hide = true)]
    BenchPeer(cmd::bench_peer::BenchPeerOpts),
    /// The Linux side of `bench --rr` (run in a namespace of its own).
    #[command(hide = true)]
    BenchRrPeer(cmd::bench_peer::BenchRrPeerOpts),
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    stack::runtime::return_large_frees_to_os();
    let result = match cli.command {
        Command::Up(o) => cmd::up::run(o),
        Command::Ping(o) => cmd::ping::run(o),
        Command::Demo(o) => cmd::demo::run(o),
        Command::Example(o) => cmd::example::run(o),
        Command::Serve(o) => cmd::serve::run(o),
        Command::Nc(o) => cmd::nc::run(o),
        Command::Stats(o) => cmd::stats::run(o),
        Command::Plot(o) => cmd::plot::run(o),
        Command::Run(o) => cmd::run::run(o),
        Command::Drill(o) => cmd::drill::run(o),
        Command::Bench(o) => cmd::bench::run(o),
        Command::BenchPeer(o) => cmd::bench_peer::run_peer(o),
        Command::BenchRrPeer(o) => cmd::bench_peer::run_rr_peer(o),
    };
    if let Err(e) = result {
        eprintln!("netstack: {e}");
        std::process::exit(1);
    }
}
