//! The hidden peer processes of `netstack bench`: the Linux side of `--loss`
//! (`bench-peer`) and of `--rr` (`bench-rr-peer`), each run in a namespace of a
//! veth pair.

use std::time::Duration;

use clap::Args;

use crate::bench::{self, parse_size};
use crate::cmd::bench::DirArg;

/// Options of the hidden `netstack bench-peer` (the Linux side of `bench --loss`).
#[derive(Args, Debug)]
pub struct BenchPeerOpts {
    /// `serve` (the Linux server) or `client` (the kernel-side client).
    #[arg(value_parser = ["serve", "client"])]
    role: String,
    /// Address to listen on or connect to.
    #[arg(long)]
    at: std::net::SocketAddrV4,
    /// Direction, seen from the server: send or recv.
    #[arg(long, value_enum)]
    dir: DirArg,
    /// Bytes to transfer.
    #[arg(long, value_parser = parse_size)]
    bytes: u64,
    /// Seconds without progress before giving up.
    #[arg(long, default_value_t = 10)]
    stall: u64,
    /// Congestion control of the connection (TCP_CONGESTION); the namespace's
    /// default when absent.
    #[arg(long)]
    cc: Option<String>,
}

/// `netstack bench-peer`.
pub fn run_peer(o: BenchPeerOpts) -> Result<(), String> {
    let stall = Duration::from_secs(o.stall.max(1));
    let dir = o.dir.dir();
    if let Some(cc) = &o.cc {
        bench::linux::use_congestion(cc)?;
    }
    if o.role == "serve" {
        bench::lossy::peer_serve(o.at, dir, o.bytes, stall)
    } else {
        bench::lossy::peer_client(o.at, dir, o.bytes, stall)
    }
}

/// Options of the hidden `netstack bench-rr-peer` (the Linux side of `bench --rr`).
#[derive(Args, Debug)]
pub struct BenchRrPeerOpts {
    /// `serve` (the echo server, until stopped), `client` (measures with the
    /// kernel's sockets, or the preload library's under `netstack run`) or `ours`
    /// (measures with our stack on `--tap`, through the Rust socket API).
    #[arg(value_parser = ["serve", "client", "ours"])]
    role: String,
    /// Address to listen on or connect to.
    #[arg(long)]
    at: std::net::SocketAddrV4,
    /// The test, for the client: tcp-rr:N, tcp-crr or udp-rr:N.
    #[arg(long, default_value = "tcp-rr:1")]
    test: String,
    /// Seconds to measure, for the client.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// TAP for `ours`.
    #[arg(long, default_value = "tap0")]
    tap: String,
    /// Our address for `ours`.
    #[arg(long, default_value = "10.0.0.2/24", value_parser = crate::iface::parse_cidr)]
    addr: (std::net::Ipv4Addr, u8),
}

/// `netstack bench-rr-peer`.
pub fn run_rr_peer(o: BenchRrPeerOpts) -> Result<(), String> {
    if o.role == "serve" {
        return bench::rr::peer_serve(o.at);
    }
    let test = bench::rr::RrTest::parse(&o.test)?;
    if !(o.seconds.is_finite() && o.seconds > 0.0) {
        return Err("--seconds needs a positive number".into());
    }
    let seconds = Duration::from_secs_f64(o.seconds);
    if o.role == "ours" {
        let run = bench::rr::RrTap {
            tap: o.tap,
            addr: o.addr,
            mac: stack::StackConfig::new(o.addr.0, o.addr.1).mac.0,
            mtu: 1500,
            server: o.at,
        };
        let l = bench::rr::ours_client(test, &run, seconds)?;
        println!("{}", l.line());
        return Ok(());
    }
    bench::rr::peer_client(o.at, test, seconds)
}
