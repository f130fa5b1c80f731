//! `netstack bench --rr`: the latency table (see [`crate::bench::rr`]).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use crate::bench::lossy::Veth;
use crate::bench::report::Table;
use crate::bench::rr::{self, EchoServer, Latency, RrTap, RrTest};

/// What `--rr` measures, and where.
#[derive(Clone, Debug)]
pub struct RrSettings {
    tap: RrTap,
    seconds: Duration,
    tests: Vec<RrTest>,
}

impl RrSettings {
    /// Checks the options of `netstack bench --rr`.
    pub fn new(
        tap: &str,
        addr: (Ipv4Addr, u8),
        peer: Ipv4Addr,
        mac: Option<stack::EthernetAddress>,
        mtu: usize,
        seconds: f64,
        sizes: &[usize],
    ) -> Result<RrSettings, String> {
        if !(seconds.is_finite() && seconds > 0.0 && seconds <= 600.0) {
            return Err("--rr-seconds needs a number of seconds from 0 to 600".into());
        }
        if sizes.is_empty() || sizes.iter().any(|s| !(1..=65000).contains(s)) {
            return Err("--rr-sizes: sizes from 1 to 65000 bytes".into());
        }
        let mac = mac
            .unwrap_or_else(|| stack::StackConfig::new(addr.0, addr.1).mac)
            .0;
        Ok(RrSettings {
            tap: RrTap {
                tap: tap.to_string(),
                addr,
                mac,
                mtu,
                server: SocketAddrV4::new(peer, rr::RR_PORT),
            },
            seconds: Duration::from_secs_f64(seconds),
            tests: RrTest::all(sizes),
        })
    }
}

fn cell(r: &Result<Latency, String>) -> [String; 3] {
    match r {
        Ok(l) => [
            format!("{:.0}", l.per_sec()),
            format!("{:.1}", l.p50.as_secs_f64() * 1e6),
            format!("{:.1}", l.p99.as_secs_f64() * 1e6),
        ],
        Err(_) => ["failed".into(), "-".into(), "-".into()],
    }
}

fn show(who: &str, test: RrTest, r: &Result<Latency, String>) {
    match r {
        Ok(l) => eprintln!(
            "  {who} {}: {:.0}/s, p50 {:.1} us, p99 {:.1} us",
            test.name(),
            l.per_sec(),
            l.p50.as_secs_f64() * 1e6,
            l.p99.as_secs_f64() * 1e6
        ),
        Err(e) => eprintln!("  {who} {}: FAILED: {e}", test.name()),
    }
}

/// Runs the latency benchmark: every test with each client in turn, then the table.
pub fn run(s: &RrSettings) -> Result<(), String> {
    let veth = Veth::new(s.tap.mtu, None);
    if let Err(e) = &veth {
        eprintln!("Linux over veth not measured: {e}");
    }
    let server = EchoServer::start(s.tap.server)?;
    eprintln!(
        "latency: {} s per measurement; ours and smoltcp on TAP {} (echo server {}), \
         Linux to Linux over veth",
        s.seconds.as_secs_f64(),
        s.tap.tap,
        s.tap.server
    );
    let mut table = Table::new(&[
        "test",
        "ours /s",
        "p50 us",
        "p99 us",
        "smoltcp /s",
        "p50 us",
        "p99 us",
        "Linux veth /s",
        "p50 us",
        "p99 us",
        "ours/smoltcp /s",
        "p50 ours/Linux",
    ]);
    let mut failures = Vec::new();
    for &test in &s.tests {
        let ours = rr::ours_client(test, &s.tap, s.seconds);
        show("ours", test, &ours);
        let smol = rr::smol_client(test, &s.tap, s.seconds);
        show("smoltcp", test, &smol);
        let linux = match &veth {
            Ok(v) => rr::linux_veth(test, v, s.seconds),
            Err(e) => Err(e.clone()),
        };
        show("Linux", test, &linux);
        let per_sec = |r: &Result<Latency, String>| r.as_ref().ok().map(Latency::per_sec);
        let p50 = |r: &Result<Latency, String>| r.as_ref().ok().map(|l| l.p50.as_secs_f64());
        let tps_ratio = match (per_sec(&ours), per_sec(&smol)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
            _ => "-".into(),
        };
        let lat_ratio = match (p50(&ours), p50(&linux)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
            _ => "-".into(),
        };
        let mut row = vec![test.name()];
        for r in [&ours, &smol, &linux] {
            row.extend(cell(r));
        }
        row.push(tps_ratio);
        row.push(lat_ratio);
        table.row(row);
        for (who, r) in [("ours", &ours), ("smoltcp", &smol), ("Linux", &linux)] {
            if let Err(e) = r {
                failures.push(format!("{who} {}: {e}", test.name()));
            }
        }
    }
    drop(server);
    println!("netstack bench --rr: transactions per second and latency of one transaction");
    println!(
        "(p50, p99 in microseconds; a ratio below 1 in the last column is faster than Linux)\n"
    );
    print!("{}", table.render());
    if failures.is_empty() {
        return Ok(());
    }
    println!("\nFailed measurements:");
    for f in &failures {
        println!("  {f}");
    }
    Err(format!("{} measurement(s) failed", failures.len()))
}
