//! `netstack bench --rr`: latency, as netperf measures it. TCP_RR (one connection,
//! a request of N bytes answered by N bytes, again and again), TCP_CRR (connect,
//! one 1-byte exchange, close, again) and UDP_RR (a datagram answered by one):
//! transactions per second and the median and 99th percentile of one transaction.
//!
//! Three clients, one run: our stack and smoltcp 0.14 on the TAP, each talking to
//! an echo server on the kernel's side of the TAP (a thread of this process, in
//! this namespace), and Linux to Linux over a veth pair between two namespaces of
//! their own (`bench-rr-peer` processes), offloads off. Every client does the same
//! work per transaction: write the request, read until the whole answer is in.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{wait as phy_wait, Medium, TunTapInterface};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant as SInstant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint};
use stack::runtime::Runtime;
use stack::Engine;

use super::catch;
use super::lossy::Veth;

/// The echo server's port (TCP and UDP).
pub const RR_PORT: u16 = 7007;
/// Transactions before the measurement starts (connections warm, ARP resolved).
const WARMUP: u32 = 50;
/// Longest wait for one transaction's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// One kind of transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RrTest {
    /// Request and response of this many bytes on one TCP connection.
    TcpRr(usize),
    /// A new TCP connection per 1-byte exchange.
    TcpCrr,
    /// A datagram of this many bytes answered by one.
    UdpRr(usize),
}

impl RrTest {
    /// The tests for request sizes `sizes`: TCP_RR of each, TCP_CRR, UDP_RR of
    /// the first.
    pub fn all(sizes: &[usize]) -> Vec<RrTest> {
        let mut v: Vec<RrTest> = sizes.iter().map(|&s| RrTest::TcpRr(s)).collect();
        v.push(RrTest::TcpCrr);
        v.push(RrTest::UdpRr(sizes.first().copied().unwrap_or(1)));
        v
    }

    /// Name for tables and the peer's command line (`tcp-rr:1`, `tcp-crr`,
    /// `udp-rr:1`).
    pub fn name(self) -> String {
        match self {
            RrTest::TcpRr(n) => format!("tcp-rr:{n}"),
            RrTest::TcpCrr => "tcp-crr".into(),
            RrTest::UdpRr(n) => format!("udp-rr:{n}"),
        }
    }

    /// Parses [`RrTest::name`].
    pub fn parse(s: &str) -> Result<RrTest, String> {
        let (kind, size) = s.split_once(':').unwrap_or((s, "1"));
        let size: usize = size
            .parse()
            .ok()
            .filter(|n| (1..=65000).contains(n))
            .ok_or_else(|| format!("bad request size in {s:?} (1 to 65000)"))?;
        match kind {
            "tcp-rr" => Ok(RrTest::TcpRr(size)),
            "tcp-crr" => Ok(RrTest::TcpCrr),
            "udp-rr" => Ok(RrTest::UdpRr(size.min(1472))),
            _ => Err(format!("unknown test {s:?}: tcp-rr:N, tcp-crr, udp-rr:N")),
        }
    }

    fn size(self) -> usize {
        match self {
            RrTest::TcpRr(n) | RrTest::UdpRr(n) => n,
            RrTest::TcpCrr => 1,
        }
    }
}

/// What one client measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    /// Transactions measured.
    pub count: u64,
    /// Time they took together.
    pub elapsed: Duration,
    /// Median transaction.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

impl Latency {
    /// Transactions per second.
    pub fn per_sec(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn of(mut samples: Vec<Duration>, elapsed: Duration) -> Result<Latency, String> {
        if samples.is_empty() {
            return Err("no transaction completed".into());
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Ok(Latency {
            count: samples.len() as u64,
            elapsed,
            p50: at(0.50),
            p99: at(0.99),
        })
    }

    /// The line a `bench-rr-peer client` prints.
    pub fn line(&self) -> String {
        format!(
            "rr {} transactions in {} ns p50 {} ns p99 {} ns",
            self.count,
            self.elapsed.as_nanos(),
            self.p50.as_nanos(),
            self.p99.as_nanos()
        )
    }

    /// Parses [`Latency::line`] out of a peer's output.
    pub fn parse(out: &str) -> Result<Latency, String> {
        let line = out
            .lines()
            .find(|l| l.starts_with("rr "))
            .ok_or_else(|| format!("no measurement in {out:?}"))?;
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| w.get(i).and_then(|x| x.parse::<u64>().ok());
        match (num(1), num(4), num(7), num(10)) {
            (Some(count), Some(e), Some(p50), Some(p99)) => Ok(Latency {
                count,
                elapsed: Duration::from_nanos(e),
                p50: Duration::from_nanos(p50),
                p99: Duration::from_nanos(p99),
            }),
            _ => Err(format!("bad measurement line {line:?}")),
        }
    }
}

/// Runs `one` for `WARMUP` transactions, then for `seconds`, timing each.
fn measure(
    seconds: Duration,
    mut one: impl FnMut() -> Result<(), String>,
) -> Result<Latency, String> {
    for _ in 0..WARMUP {
        one()?;
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < seconds {
        let t = Instant::now();
        one()?;
        samples.push(t.elapsed());
    }
    Latency::of(samples, start.elapsed())
}

fn read_answer(r: &mut impl Read, buf: &mut [u8]) -> Result<(), String> {
    r.read_exact(buf)
        .map_err(|e| format!("reading the answer: {e}"))
}

// ------------------------------------------------------------------ the server

/// An echo server on the kernel's side (TCP and UDP on one port), until dropped.
pub struct EchoServer {
    stop: Arc<AtomicBool>,
    at: SocketAddrV4,
}

impl EchoServer {
    /// Starts serving at `at`.
    pub fn start(at: SocketAddrV4) -> Result<EchoServer, String> {
        let listener = TcpListener::bind(at).map_err(|e| format!("echo server: bind {at}: {e}"))?;
        let udp = UdpSocket::bind(at).map_err(|e| format!("echo server: bind udp {at}: {e}"))?;
        udp.set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut c) = conn else { continue };
                let _ = c.set_nodelay(true);
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = c.read(&mut buf) {
                        if n == 0 || c.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let s = stop.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = udp.recv_from(&mut buf) {
                    let _ = udp.send_to(&buf[..n], from);
                }
            }
        });
        Ok(EchoServer { stop, at })
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.at.into(), Duration::from_millis(200));
    }
}

// ----------------------------------------------------------------- the clients

/// The sockets a client measures with: the kernel's (`std::net`) or our
/// stack's (`sockets::net`), the same calls on both.
trait Endpoints {
    type Stream: Read + Write;
    type Datagram;
    /// A TCP connection to `at`, Nagle off, reads bounded by [`ANSWER_TIMEOUT`].
    fn stream(&self, at: SocketAddrV4) -> std::io::Result<Self::Stream>;
    /// A UDP socket connected to `at`, reads bounded likewise.
    fn datagram(&self, at: SocketAddrV4) -> std::io::Result<Self::Datagram>;
    /// One request out, one answer in.
    fn exchange(d: &Self::Datagram, req: &[u8], buf: &mut [u8]) -> std::io::Result<()>;
}

/// The kernel's sockets.
struct Kernel;

impl Endpoints for Kernel {
    type Stream = TcpStream;
    type Datagram = UdpSocket;
    fn stream(&self, at: SocketAddrV4) -> std::io::Result<TcpStream> {
        let c = TcpStream::connect(at)?;
        c.set_nodelay(true)?;
        c.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        Ok(c)
    }
    fn datagram(&self, at: SocketAddrV4) -> std::io::Result<UdpSocket> {
        let u = UdpSocket::bind("0.0.0.0:0")?;
        u.connect(at)?;
        u.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        Ok(u)
    }
    fn exchange(d: &UdpSocket, req: &[u8], buf: &mut [u8]) -> std::io::Result<()> {
        d.send(req)?;
        d.recv(buf).map(drop)
    }
}

impl Endpoints for sockets::Stack {
    type Stream = sockets::net::TcpStream;
    type Datagram = sockets::net::UdpSocket;
    fn stream(&self, at: SocketAddrV4) -> std::io::Result<Self::Stream> {
        let c = sockets::net::TcpStream::connect(self, at)?;
        c.set_nodelay(true)?;
        c.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        Ok(c)
    }
    fn datagram(&self, at: SocketAddrV4) -> std::io::Result<Self::Datagram> {
        let u = sockets::net::UdpSocket::bind(self, "0.0.0.0:0")?;
        u.connect(at)?;
        u.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        Ok(u)
    }
    fn exchange(d: &Self::Datagram, req: &[u8], buf: &mut [u8]) -> std::io::Result<()> {
        d.send(req)?;
        d.recv(buf).map(drop)
    }
}

/// Measures `test` against `at` with `e`'s sockets.
fn client<E: Endpoints>(
    e: &E,
    test: RrTest,
    at: SocketAddrV4,
    seconds: Duration,
) -> Result<Latency, String> {
    let req = vec![b'r'; test.size()];
    let mut buf = vec![0u8; test.size()];
    let err = |e: std::io::Error| e.to_string();
    match test {
        RrTest::TcpRr(_) => {
            let mut c = e.stream(at).map_err(err)?;
            measure(seconds, || {
                c.write_all(&req).map_err(err)?;
                read_answer(&mut c, &mut buf)
            })
        }
        RrTest::TcpCrr => measure(seconds, || {
            let mut c = e.stream(at).map_err(err)?;
            c.write_all(&req).map_err(err)?;
            read_answer(&mut c, &mut buf)
        }),
        RrTest::UdpRr(_) => {
            let u = e.datagram(at).map_err(err)?;
            measure(seconds, || E::exchange(&u, &req, &mut buf).map_err(err))
        }
    }
}

/// The kernel's client (Linux to Linux over the veth pair).
pub fn kernel_client(test: RrTest, at: SocketAddrV4, seconds: Duration) -> Result<Latency, String> {
    client(&Kernel, test, at, seconds)
}

/// What the TAP clients need to know.
#[derive(Clone, Debug)]
pub struct RrTap {
    /// TAP name.
    pub tap: String,
    /// Our (and smoltcp's) address and prefix.
    pub addr: (Ipv4Addr, u8),
    /// MAC of the stack under test.
    pub mac: [u8; 6],
    /// IP MTU.
    pub mtu: usize,
    /// The echo server's address (the kernel's side).
    pub server: SocketAddrV4,
}

/// Our stack as the client, through the std-style socket API.
pub fn ours_client(test: RrTest, run: &RrTap, seconds: Duration) -> Result<Latency, String> {
    catch("ours", || {
        let tap = super::ours::open_tap(&run.tap, run.mtu, true)?;
        let config = super::ours::config(run.addr.0, run.addr.1, run.mac, run.mtu, 1 << 20);
        let engine = Engine::new(config).map_err(|e| e.to_string())?;
        let rt = Runtime::start(engine, tap).map_err(|e| format!("driver: {e}"))?;
        client(&sockets::Stack::new(rt), test, run.server, seconds)
    })
}

/// smoltcp as the client: one thread polling its interface, as in its examples.
pub fn smol_client(test: RrTest, run: &RrTap, seconds: Duration) -> Result<Latency, String> {
    catch("smoltcp", || smol_inner(test, run, seconds))
}

/// Where a smoltcp transaction is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Needs a (new) connection.
    Connect,
    /// Connected or connecting; the request is not sent yet.
    Send,
    /// Waiting for this many more bytes of the answer.
    Receive(usize),
}

fn smol_inner(test: RrTest, run: &RrTap, seconds: Duration) -> Result<Latency, String> {
    let mut device = TunTapInterface::new(&run.tap, Medium::Ethernet)
        .map_err(|e| format!("smoltcp: cannot open TAP '{}': {e}", run.tap))?;
    let fd = device.as_raw_fd();
    let mut config = Config::new(EthernetAddress(run.mac).into());
    config.random_seed = 0x5eed_0077;
    let mut iface = Interface::new(config, &mut device, SInstant::now());
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(run.addr.0), run.addr.1));
    });
    let mut sockets = SocketSet::new(vec![]);
    let server = IpEndpoint::new(IpAddress::Ipv4(*run.server.ip()), run.server.port());
    let size = test.size();
    let req = vec![b'r'; size];
    let mut buf = vec![0u8; size.max(1)];
    let udp_h = sockets.add(udp::Socket::new(
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 16], vec![0u8; 65536]),
        udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 16], vec![0u8; 65536]),
    ));
    sockets
        .get_mut::<udp::Socket>(udp_h)
        .bind(49000)
        .map_err(|e| format!("smoltcp: udp bind: {e}"))?;
    let mut tcp_h = None;
    let mut port: u16 = 49152;
    let mut phase = Phase::Connect;
    let mut started = Instant::now();
    let mut done = 0u32;
    let mut samples = Vec::new();
    let mut measuring_since: Option<Instant> = None;
    let mut waiting_since = Instant::now();
    loop {
        let now = SInstant::now();
        iface.poll(now, &mut device, &mut sockets);
        let finished = match test {
            RrTest::UdpRr(_) => {
                let s = sockets.get_mut::<udp::Socket>(udp_h);
                match phase {
                    Phase::Connect | Phase::Send => {
                        started = Instant::now();
                        s.send_slice(&req, server)
                            .map_err(|e| format!("smoltcp: udp send: {e}"))?;
                        phase = Phase::Receive(size);
                        false
                    }
                    Phase::Receive(_) => match s.recv_slice(&mut buf) {
                        Ok(_) => {
                            phase = Phase::Send;
                            true
                        }
                        Err(_) => false,
                    },
                }
            }
            RrTest::TcpRr(_) | RrTest::TcpCrr => {
                if phase == Phase::Connect {
                    if let Some(h) = tcp_h.take() {
                        sockets.remove(h);
                    }
                    let mut s = tcp::Socket::new(
                        tcp::SocketBuffer::new(vec![0u8; 65536]),
                        tcp::SocketBuffer::new(vec![0u8; 65536]),
                    );
                    s.set_nagle_enabled(false);
                    port = if port == u16::MAX { 49152 } else { port + 1 };
                    s.connect(iface.context(), server, port)
                        .map_err(|e| format!("smoltcp: connect: {e}"))?;
                    tcp_h = Some(sockets.add(s));
                    started = Instant::now();
                    phase = Phase::Send;
                }
                let Some(h) = tcp_h else {
                    return Err("smoltcp: no socket".into());
                };
                let s = sockets.get_mut::<tcp::Socket>(h);
                match phase {
                    Phase::Send if s.can_send() => {
                        if test != RrTest::TcpCrr {
                            started = Instant::now();
                        }
                        s.send_slice(&req)
                            .map_err(|e| format!("smoltcp: send: {e}"))?;
                        phase = Phase::Receive(size);
                        false
                    }
                    Phase::Receive(left) if s.can_recv() => {
                        let n = s
                            .recv_slice(&mut buf[..left])
                            .map_err(|e| format!("smoltcp: recv: {e}"))?;
                        if n == left {
                            if test == RrTest::TcpCrr {
                                s.close();
                                phase = Phase::Connect;
                            } else {
                                phase = Phase::Send;
                            }
                            true
                        } else {
                            phase = Phase::Receive(left - n);
                            false
                        }
                    }
                    _ => {
                        if !s.is_open() {
                            return Err(format!("smoltcp: connection {:?}", s.state()));
                        }
                        false
                    }
                }
            }
        };
        if finished {
            waiting_since = Instant::now();
            done += 1;
            match measuring_since {
                Some(since) => {
                    samples.push(started.elapsed());
                    if since.elapsed() >= seconds {
                        return Latency::of(samples, since.elapsed());
                    }
                }
                None if done >= WARMUP => measuring_since = Some(Instant::now()),
                None => {}
            }
            continue;
        }
        if waiting_since.elapsed() > ANSWER_TIMEOUT {
            return Err("smoltcp: no answer".into());
        }
        // Wait for the device or smoltcp's next deadline; sending phases loop on.
        if matches!(phase, Phase::Receive(_)) || tcp_h.is_some_and(|_| phase == Phase::Send) {
            let wait = iface
                .poll_delay(now, &sockets)
                .map(|d| d.min(smoltcp::time::Duration::from_millis(10)))
                .or(Some(smoltcp::time::Duration::from_millis(10)));
            if let Err(e) = phy_wait(fd, wait) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(format!("smoltcp: waiting on the TAP: {e}"));
                }
            }
        }
    }
}

/// Linux to Linux: a `bench-rr-peer serve` in one namespace of the veth pair,
/// a `bench-rr-peer client` measuring in the other.
pub fn linux_veth(test: RrTest, veth: &Veth, seconds: Duration) -> Result<Latency, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let exe = exe.to_string_lossy().into_owned();
    let at = SocketAddrV4::new(veth.server_addr, RR_PORT).to_string();
    let mut server = Command::new("ip")
        .args([
            "netns",
            "exec",
            &veth.server,
            &exe,
            "bench-rr-peer",
            "serve",
        ])
        .args(["--at", &at])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the Linux server: {e}"))?;
    let secs = seconds.as_secs_f64().to_string();
    let client = Command::new("ip")
        .args([
            "netns",
            "exec",
            &veth.client,
            &exe,
            "bench-rr-peer",
            "client",
        ])
        .args(["--at", &at, "--test", &test.name(), "--seconds", &secs])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start the Linux client: {e}"));
    // The server serves until stopped: it is ours, stopped by its PID.
    let _ = server.kill();
    let _ = server.wait();
    let client = client?;
    if !client.status.success() {
        return Err(format!(
            "veth client: {}",
            String::from_utf8_lossy(&client.stderr).trim()
        ));
    }
    Latency::parse(&String::from_utf8_lossy(&client.stdout))
}

/// `netstack bench-rr-peer serve --at A`: the echo server, until killed.
pub fn peer_serve(at: SocketAddrV4) -> Result<(), String> {
    let _server = EchoServer::start(at)?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// `netstack bench-rr-peer client --at A --test T --seconds S`: measures and
/// prints [`Latency::line`], retrying the first connection while the server
/// starts.
pub fn peer_client(at: SocketAddrV4, test: RrTest, seconds: Duration) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&at.into(), Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("no echo server at {at}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let l = kernel_client(test, at, seconds)?;
    println!("{}", l.line());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for t in RrTest::all(&[1, 1024]) {
            assert_eq!(RrTest::parse(&t.name()), Ok(t));
        }
        assert!(RrTest::parse("tcp-rr:0").is_err());
        assert!(RrTest::parse("sctp-rr").is_err());
    }

    #[test]
    fn percentiles_and_the_peer_line() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let l = Latency::of(samples, Duration::from_millis(5)).unwrap();
        assert_eq!(l.p50, Duration::from_micros(51));
        assert_eq!(l.p99, Duration::from_micros(99));
        assert_eq!(l.count, 100);
        assert!((l.per_sec() - 20_000.0).abs() < 1e-6);
        assert_eq!(Latency::parse(&format!("noise\n{}\n", l.line())), Ok(l));
        assert!(Latency::of(Vec::new(), Duration::ZERO).is_err());
    }
}
