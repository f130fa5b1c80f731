//! `netstack bench --scale N`: many connections to `serve echo`.
//!
//! Our stack runs `serve echo` (the same code as `netstack serve echo`: one
//! thread, `poll` over every connection) on the TAP. A kernel client in this
//! namespace opens N connections one after another; each sends 64 KiB, reads
//! them back, and stays open. Reported: connections served and failed, the
//! process's resident memory before, at its peak and once the connections are
//! idle (per connection), and the cost of one segment (CPU time of the stack's
//! threads, and wall time) during a bulk echo on one more connection, with no
//! other connection open and then with all N open.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use sockets::Stack;
use stack::runtime::Runtime;
use stack::{Engine, Stat};

use crate::bench::report::Table;
use crate::cmd::serve::Service;

/// The echo port (RFC 862).
const ECHO_PORT: u16 = 7;
/// Name of the thread that runs `serve echo`.
const SERVE_THREAD: &str = "scale-serve";
/// How long a connection may take to echo its bytes.
const ECHO_TIMEOUT: Duration = Duration::from_secs(30);

/// What `--scale` measures, and where.
#[derive(Clone, Debug)]
pub struct ScaleSettings {
    /// The TAP.
    pub tap: String,
    /// Our address and prefix length.
    pub addr: (Ipv4Addr, u8),
    /// Our MAC address.
    pub mac: Option<stack::EthernetAddress>,
    /// Link MTU.
    pub mtu: usize,
    /// Offloads on the TAP (the default path).
    pub offload: bool,
    /// Connections to open.
    pub conns: usize,
    /// Bytes each connection echoes.
    pub echo_bytes: usize,
    /// Bytes of the bulk echo that measures the cost of a segment.
    pub bulk_bytes: usize,
}

/// Resident memory of this process now and at its peak, in KiB
/// (`VmRSS`, `VmHWM`).
fn rss_kib() -> Result<(u64, u64), String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("/proc/self/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("/proc/self/status has no {name}"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The soft limit on open descriptors (`ulimit -n`).
fn fd_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// CPU time (user + system) of this process's threads whose names start with
/// one of `prefixes` (the stack's driver thread and the server's).
fn thread_cpu(prefixes: &[&str]) -> Duration {
    let ticks = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !prefixes
            .iter()
            .any(|p| comm.trim().starts_with(&p[..p.len().min(15)]))
        {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let at = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        total += at(11) + at(12);
    }
    Duration::from_secs_f64(total as f64 / ticks)
}

/// Segments our stack sent and received so far.
fn segments(net: &Stack) -> u64 {
    let g = net.runtime().lock();
    let c = g.engine_ref().counters();
    c.stat(Stat::TcpSegmentsIn) + c.stat(Stat::TcpSegmentsOut)
}

/// One connection: send `n` bytes, read them back.
fn echo_once(server: SocketAddrV4, n: usize) -> Result<TcpStream, String> {
    let mut s = TcpStream::connect_timeout(&server.into(), ECHO_TIMEOUT)
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(ECHO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let data = vec![0x5au8; n];
    s.write_all(&data).map_err(|e| format!("write: {e}"))?;
    let mut back = vec![0u8; n];
    s.read_exact(&mut back).map_err(|e| format!("read: {e}"))?;
    if back != data {
        return Err("the echo differs".into());
    }
    Ok(s)
}

/// Cost of one segment in microseconds: CPU time of the stack's driver
/// thread, of the server's thread (its calls run the stack too), and wall time.
#[derive(Clone, Copy, Debug)]
struct PerSegment {
    driver: f64,
    server: f64,
    wall: f64,
}

impl std::fmt::Display for PerSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} us CPU (driver {:.2}, server {:.2}), {:.2} us wall",
            self.driver + self.server,
            self.driver,
            self.server,
            self.wall
        )
    }
}

/// A bulk echo of `n` bytes on a new connection (a writer thread, a reader
/// here), timed per segment our stack sent or received.
fn bulk(net: &Stack, server: SocketAddrV4, n: usize, driver: &str) -> Result<PerSegment, String> {
    let s = TcpStream::connect_timeout(&server.into(), ECHO_TIMEOUT)
        .map_err(|e| format!("bulk connect: {e}"))?;
    s.set_read_timeout(Some(ECHO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    let (seg0, t0) = (segments(net), Instant::now());
    let (drv0, srv0) = (thread_cpu(&[driver]), thread_cpu(&[SERVE_THREAD]));
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let chunk = vec![0x33u8; 64 * 1024];
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len());
            w.write_all(&chunk[..k])?;
            left -= k;
        }
        Ok(())
    });
    let mut r = s;
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0;
    while got < n {
        match r.read(&mut buf) {
            Ok(0) => return Err(format!("bulk echo ended after {got} of {n} bytes")),
            Ok(k) => got += k,
            Err(e) => return Err(format!("bulk read: {e}")),
        }
    }
    writer
        .join()
        .map_err(|_| "bulk writer panicked".to_string())?
        .map_err(|e| format!("bulk write: {e}"))?;
    let wall = t0.elapsed();
    let segs = segments(net).saturating_sub(seg0).max(1) as f64;
    let us = |d: Duration| d.as_secs_f64() * 1e6 / segs;
    Ok(PerSegment {
        driver: us(thread_cpu(&[driver]).saturating_sub(drv0)),
        server: us(thread_cpu(&[SERVE_THREAD]).saturating_sub(srv0)),
        wall: us(wall),
    })
}

/// Runs the scale benchmark and prints its table.
pub fn run(s: &ScaleSettings) -> Result<(), String> {
    let need = s.conns as u64 + 256;
    match fd_limit() {
        Some(l) if l < need => {
            return Err(format!(
                "the descriptor limit is {l}, {need} are needed for {} connections: raise it \
                 with `ulimit -n {need}` (scripts/bench.sh --scale does)",
                s.conns
            ))
        }
        _ => {}
    }
    let tap = crate::bench::ours::open_tap(&s.tap, s.mtu, s.offload)?;
    let mac = s
        .mac
        .unwrap_or_else(|| stack::StackConfig::new(s.addr.0, s.addr.1).mac);
    let mut config = stack::StackConfig::new(s.addr.0, s.addr.1);
    config.mac = mac;
    config.mtu = s.mtu;
    config.ports.privileged = true; // echo lives below 1024
    config.max_fds = config.max_fds.max(s.conns + 64);
    let engine = Engine::new(config).map_err(|e| e.to_string())?;
    let rt = Runtime::start(engine, tap).map_err(|e| format!("driver: {e}"))?;
    let net = Stack::new(rt);
    let driver = format!("netstack-driver-{}", s.addr.0);
    let server_net = net.clone();
    std::thread::Builder::new()
        .name(SERVE_THREAD.into())
        .spawn(move || {
            let until = Some(Instant::now() + Duration::from_secs(24 * 3600));
            if let Err(e) =
                crate::cmd::serve_tcp::serve(&server_net, Service::Echo, ECHO_PORT, 1024, until)
            {
                eprintln!("scale: serve echo: {e}");
            }
        })
        .map_err(|e| format!("serve thread: {e}"))?;
    let server = SocketAddrV4::new(s.addr.0, ECHO_PORT);
    // Warm up (ARP, the listener, which the server thread may not have yet)
    // and take the baseline.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match echo_once(server, 1024) {
            Ok(c) => break drop(c),
            Err(e) if e.contains("refused") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("first connection: {e}")),
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let (base_rss, _) = rss_kib()?;
    let alone = bulk(&net, server, s.bulk_bytes, &driver)?;
    eprintln!("scale: one connection alone, per segment: {alone}");

    let mut open = Vec::with_capacity(s.conns);
    let mut failed = 0usize;
    let mut first_error = None;
    let t0 = Instant::now();
    for i in 0..s.conns {
        match echo_once(server, s.echo_bytes) {
            Ok(c) => open.push(c),
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("connection {}: {e}", i + 1));
            }
        }
        if (i + 1) % 1000 == 0 {
            eprintln!("scale: {} connections echoed ({failed} failed)", i + 1);
        }
    }
    let setup = t0.elapsed();
    let (_, peak) = rss_kib()?;
    // Idle: past the time after which empty buffers give their memory back.
    std::thread::sleep(Duration::from_secs(3));
    let (idle, _) = rss_kib()?;
    let still_open = open
        .iter()
        .filter(|c| {
            c.set_nonblocking(true).is_ok() && {
                let mut b = [0u8; 1];
                // Open and quiet: nothing to read, no end of stream, no reset.
                matches!((&**c).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            }
        })
        .count();
    let busy = bulk(&net, server, s.bulk_bytes, &driver)?;
    let per_conn = |kib: u64| kib.saturating_sub(base_rss) as f64 / open.len().max(1) as f64;

    let mut t = Table::new(&["measure", "value"]);
    t.row(vec!["connections opened".into(), format!("{}", open.len())]);
    t.row(vec!["failed".into(), format!("{failed}")]);
    t.row(vec![
        "still open after the echo (no reset)".into(),
        format!("{still_open}"),
    ]);
    t.row(vec![
        "time to open and echo all".into(),
        format!("{:.1} s", setup.as_secs_f64()),
    ]);
    t.row(vec![
        "RSS before".into(),
        format!("{:.1} MiB", base_rss as f64 / 1024.0),
    ]);
    t.row(vec![
        "RSS peak".into(),
        format!(
            "{:.1} MiB ({:.1} KiB per connection)",
            peak as f64 / 1024.0,
            per_conn(peak)
        ),
    ]);
    t.row(vec![
        "RSS idle".into(),
        format!(
            "{:.1} MiB ({:.1} KiB per connection)",
            idle as f64 / 1024.0,
            per_conn(idle)
        ),
    ]);
    t.row(vec!["per segment, alone".into(), alone.to_string()]);
    t.row(vec![
        format!("per segment, {} open", open.len()),
        busy.to_string(),
    ]);
    println!(
        "netstack bench --scale: {} connections to serve echo ({} bytes each), then idle",
        s.conns, s.echo_bytes
    );
    println!(
        "(RSS of this process; per segment: the stack's threads' CPU time and wall time of a \
         {} MiB echo on one more connection)\n",
        s.bulk_bytes >> 20
    );
    print!("{}", t.render());
    drop(open);
    match first_error {
        Some(e) => Err(format!("{failed} connection(s) failed; the first: {e}")),
        None => Ok(()),
    }
}
