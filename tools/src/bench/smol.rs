//! smoltcp 0.14, the stack we compare with (a benchmark-only dependency; `stack/`
//! never uses it).
//!
//! On the TAP it runs as in smoltcp's own `examples/benchmark.rs`: its
//! `TunTapInterface` device, one thread polling the interface and waiting on the fd
//! with `phy::wait` until `poll_at`, one TCP socket serving discard or the byte source,
//! with the socket buffer sizes ours get. In memory it runs as in
//! `examples/loopback_benchmark.rs`: two sockets on one interface over a `Loopback`
//! device, with the MTU of our in-memory runs.
//!
//! The application work is the same as ours: every byte is copied out of a user buffer
//! (`send_slice`) or into one (`recv_slice`).

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{
    wait as phy_wait, ChecksumCapabilities, Device, DeviceCapabilities, Loopback, Medium, RxToken,
    TunTapInterface,
};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration as SDuration, Instant as SInstant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, Ipv4Address};

use super::linux::Peer;
use super::ours::STALL;
use super::{catch, pattern, Dir, Meter, TapRun, Transfer, APP_CHUNK, DISCARD_PORT};

/// Longest `phy::wait` before the loop looks at the clock and the kernel side again.
const TICK: Duration = Duration::from_millis(50);

fn open_tap(name: &str) -> Result<TunTapInterface, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TunTapInterface::new(name, Medium::Ethernet) {
            Ok(t) => return Ok(t),
            // The previous user's attachment is torn down asynchronously.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("smoltcp: cannot open TAP '{name}': {e}")),
        }
    }
}

fn tcp_socket(buffer: usize) -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0u8; buffer]),
        tcp::SocketBuffer::new(vec![0u8; buffer]),
    )
}

/// The application side of one socket: sends `bytes` then closes, or reads to the
/// peer's FIN then closes.
struct SmolApp {
    dir: Dir,
    bytes: u64,
    sent: u64,
    data: Vec<u8>,
    buf: Vec<u8>,
    meter: Meter,
    closed: bool,
}

impl SmolApp {
    fn new(dir: Dir, bytes: u64) -> SmolApp {
        SmolApp {
            dir,
            bytes,
            sent: 0,
            data: pattern(APP_CHUNK),
            buf: vec![0; APP_CHUNK],
            meter: Meter::default(),
            closed: false,
        }
    }

    fn step(&mut self, s: &mut tcp::Socket<'_>) -> Result<(), String> {
        if self.closed {
            return Ok(());
        }
        match self.dir {
            Dir::Send => {
                while s.can_send() && self.sent < self.bytes {
                    let n = (self.bytes - self.sent).min(self.data.len() as u64) as usize;
                    match s.send_slice(&self.data[..n]) {
                        Ok(0) => break,
                        Ok(k) => self.sent += k as u64,
                        Err(e) => {
                            return Err(format!("smoltcp: send after {} bytes: {e}", self.sent))
                        }
                    }
                }
                if self.sent >= self.bytes {
                    s.close();
                    self.closed = true;
                }
            }
            Dir::Recv => {
                while s.can_recv() {
                    match s.recv_slice(&mut self.buf) {
                        Ok(0) => break,
                        Ok(n) => self.meter.arrived(n),
                        Err(e) => {
                            return Err(format!(
                                "smoltcp: recv after {} bytes: {e}",
                                self.meter.bytes
                            ))
                        }
                    }
                }
                if s.state() == tcp::State::CloseWait && !s.can_recv() {
                    if self.meter.bytes < self.bytes {
                        return Err(format!(
                            "the peer closed after {} of {} bytes",
                            self.meter.bytes, self.bytes
                        ));
                    }
                    s.close();
                    self.closed = true;
                }
            }
        }
        Ok(())
    }
}

/// One measurement with smoltcp on the TAP.
pub fn run_tap(run: &TapRun) -> Result<Transfer, String> {
    catch("smoltcp", || tap_inner(run))
}

fn tap_inner(run: &TapRun) -> Result<Transfer, String> {
    let tap = open_tap(&run.tap)?;
    let fd = tap.as_raw_fd();
    let mut device = Tuned::new(tap, None, false, run.inbound_loss);
    let mut config = Config::new(EthernetAddress(run.mac).into());
    config.random_seed = 0x5eed_0000 ^ run.bytes ^ run.buffer as u64;
    let mut iface = Interface::new(config, &mut device, SInstant::now());
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::Ipv4(run.addr.0), run.addr.1));
    });
    let mut sockets = SocketSet::new(vec![]);
    let h = sockets.add(tcp_socket(run.buffer));
    sockets
        .get_mut::<tcp::Socket>(h)
        .listen(run.dir.port())
        .map_err(|e| format!("smoltcp: listen: {e}"))?;
    let mut app = SmolApp::new(run.dir, run.bytes);
    let peer = Peer::start(run.dir, run.service(), run.bytes, run.timeout.min(STALL))?;
    let deadline = Instant::now() + run.timeout;
    let ours: Result<(), String> = loop {
        let now = SInstant::now();
        iface.poll(now, &mut device, &mut sockets);
        if let Err(e) = app.step(sockets.get_mut::<tcp::Socket>(h)) {
            break Err(e);
        }
        if let Some(over) = peer.run_over(app.closed, deadline) {
            break over;
        }
        let tick = SDuration::from_micros(TICK.as_micros() as u64);
        let wait = match iface.poll_at(now, &sockets) {
            Some(at) if now < at => Some((at - now).min(tick)),
            Some(_) => None,
            None => Some(tick),
        };
        if let Some(w) = wait {
            if let Err(e) = phy_wait(fd, Some(w)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    break Err(format!("smoltcp: waiting on the TAP: {e}"));
                }
            }
        }
    };
    peer.settle(ours, run.dir, || app.meter.transfer())
}

/// A device that reports another MTU (and, if asked, full checksumming) than the one
/// it wraps (smoltcp's `Loopback` says 65535-byte frames and skips checksums), and
/// that may drop each frame it receives with a given probability (loss on the link
/// after the sender's transmission succeeded).
struct Tuned<D> {
    inner: D,
    /// Frame MTU to report; `None`: the inner device's.
    frame_mtu: Option<usize>,
    checksums: bool,
    /// Drop probability scaled to `u64::MAX` (0: none).
    drop_below: u64,
    rng: u64,
}

impl<D> Tuned<D> {
    fn new(inner: D, frame_mtu: Option<usize>, checksums: bool, loss: f64) -> Tuned<D> {
        Tuned {
            inner,
            frame_mtu,
            checksums,
            drop_below: (loss.clamp(0.0, 1.0) * u64::MAX as f64) as u64,
            rng: 0x1055_5eed_9e37_79b9,
        }
    }

    /// xorshift64*: uniform enough for a drop decision.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl<D: Device> Device for Tuned<D> {
    type RxToken<'a>
        = D::RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: SInstant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        // Decide first: the tokens borrow the inner device.
        loop {
            let drop = self.drop_below > 0 && self.next() < self.drop_below;
            if !drop {
                return self.inner.receive(timestamp);
            }
            let (rx, _) = self.inner.receive(timestamp)?;
            rx.consume(|_| ());
        }
    }

    fn transmit(&mut self, timestamp: SInstant) -> Option<Self::TxToken<'_>> {
        self.inner.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = self.inner.capabilities();
        if let Some(mtu) = self.frame_mtu {
            caps.max_transmission_unit = mtu;
        }
        if self.checksums {
            caps.checksum = ChecksumCapabilities::default();
        }
        caps
    }
}

/// smoltcp's loopback benchmark: a client socket sends `bytes` to a server socket on
/// the same interface, over a `Loopback` device with IP MTU `mtu`, in one thread.
/// With `checksums` false the device skips checksums, as smoltcp's `Loopback` does;
/// with true it computes and verifies them as a real link (and our stack) does.
pub fn run_loopback(
    bytes: u64,
    buffer: usize,
    mtu: usize,
    checksums: bool,
    timeout: Duration,
) -> Result<Transfer, String> {
    catch("smoltcp loopback", || {
        loopback_inner(bytes, buffer, mtu, checksums, timeout)
    })
}

fn loopback_inner(
    bytes: u64,
    buffer: usize,
    mtu: usize,
    checksums: bool,
    timeout: Duration,
) -> Result<Transfer, String> {
    let mut device = Tuned::new(
        Loopback::new(Medium::Ethernet),
        Some(mtu + 14),
        checksums,
        0.0,
    );
    let config = Config::new(EthernetAddress([0x02, 0, 0, 0, 0, 1]).into());
    let mut iface = Interface::new(config, &mut device, SInstant::now());
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
    });
    let mut sockets = SocketSet::new(vec![]);
    let server = sockets.add(tcp_socket(buffer));
    let client = sockets.add(tcp_socket(buffer));
    sockets
        .get_mut::<tcp::Socket>(server)
        .listen(DISCARD_PORT)
        .map_err(|e| format!("smoltcp: listen: {e}"))?;
    let cx = iface.context();
    sockets
        .get_mut::<tcp::Socket>(client)
        .connect(cx, (Ipv4Address::LOCALHOST, DISCARD_PORT), 65000)
        .map_err(|e| format!("smoltcp: connect: {e}"))?;
    let mut sender = SmolApp::new(Dir::Send, bytes);
    let mut receiver = SmolApp::new(Dir::Recv, bytes);
    let deadline = Instant::now() + timeout;
    let mut spins = 0u32;
    while !receiver.closed {
        iface.poll(SInstant::now(), &mut device, &mut sockets);
        receiver.step(sockets.get_mut::<tcp::Socket>(server))?;
        sender.step(sockets.get_mut::<tcp::Socket>(client))?;
        spins = spins.wrapping_add(1);
        receiver.meter.overdue(spins, deadline, bytes)?;
    }
    Ok(receiver.meter.transfer())
}
