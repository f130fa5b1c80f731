//! The Linux kernel's end of a TAP measurement: a `std::net::TcpStream` in this
//! process (which runs inside the private network namespace that holds the TAP), on a
//! thread of its own.
//!
//! Kernel socket buffers are left at Linux's defaults (autotuned), the same for every
//! stack under test.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{pattern, Dir, Meter, Transfer, APP_CHUNK};

/// The congestion control every kernel-side socket of this process gets
/// ([`use_congestion`]); `None` keeps the namespace's default.
static CONGESTION: parking_lot::Mutex<Option<String>> = parking_lot::Mutex::new(None);

/// Makes every kernel-side socket this process opens or accepts from now on use
/// the congestion control `name` (TCP_CONGESTION; as root any algorithm the kernel
/// has, not only those of `net.ipv4.tcp_allowed_congestion_control`). Fails when the
/// kernel does not have it.
pub fn use_congestion(name: &str) -> Result<(), String> {
    let have = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control")
        .map_err(|e| format!("cannot read the kernel's congestion controls: {e}"))?;
    if !have.split_whitespace().any(|a| a == name) {
        return Err(format!(
            "the kernel has no congestion control {name:?} (it has: {})",
            have.trim()
        ));
    }
    *CONGESTION.lock() = Some(name.to_string());
    Ok(())
}

/// How often a blocked kernel-side call looks at the cancel flag.
const TICK: Duration = Duration::from_millis(100);

/// The kernel's side of one measurement, running on its own thread.
pub struct Peer {
    thread: Option<JoinHandle<Result<Option<Transfer>, String>>>,
    cancel: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

impl Peer {
    /// Starts the kernel's side: for [`Dir::Send`] it connects to `service` and reads
    /// `bytes` (and measures them); for [`Dir::Recv`] it connects and writes `bytes`,
    /// then half-closes and waits for the stack to close. It gives up when no byte
    /// moves for `stall`, or when [`Peer::cancel`] is called.
    pub fn start(
        dir: Dir,
        service: SocketAddrV4,
        bytes: u64,
        stall: Duration,
    ) -> Result<Peer, String> {
        let cancel = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (c, d) = (cancel.clone(), done.clone());
        let thread = std::thread::Builder::new()
            .name("bench-kernel-peer".into())
            .spawn(move || {
                let r = match dir {
                    Dir::Send => read_from(service, bytes, stall, &c).map(Some),
                    Dir::Recv => write_to(service, bytes, stall, &c).map(|_| None),
                };
                d.store(true, Ordering::SeqCst);
                r
            })
            .map_err(|e| format!("cannot start the kernel-side thread: {e}"))?;
        Ok(Peer {
            thread: Some(thread),
            cancel,
            done,
        })
    }

    /// True once the kernel side has finished (successfully or not).
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }

    /// Whether a polling loop whose own side is `finished` (or not) is over:
    /// `Ok` once both sides are done, an error when the kernel side ended first
    /// or `deadline` passed, `None` while the transfer goes on.
    pub fn run_over(&self, finished: bool, deadline: Instant) -> Option<Result<(), String>> {
        if self.is_done() {
            return Some(if finished {
                Ok(())
            } else {
                Err("the kernel side ended before the transfer did".into())
            });
        }
        (Instant::now() >= deadline).then(|| Err("timed out".into()))
    }

    /// Asks the kernel side to give up soon.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Ends a run in which our side finished with `ours`: the kernel side is told
    /// to stop if ours failed, then joined. The transfer is what the receiver
    /// measured: the kernel side when we sent, ours (`our_transfer`) when we
    /// received.
    pub fn settle(
        self,
        ours: Result<(), String>,
        dir: super::Dir,
        our_transfer: impl FnOnce() -> Transfer,
    ) -> Result<Transfer, String> {
        if ours.is_err() {
            self.cancel();
        }
        let theirs = self.join();
        ours?;
        match dir {
            super::Dir::Send => theirs?.ok_or_else(|| "the kernel side measured nothing".into()),
            super::Dir::Recv => {
                theirs?;
                Ok(our_transfer())
            }
        }
    }

    /// Waits for the kernel side and returns what it measured (`Some` when it was the
    /// receiver).
    pub fn join(mut self) -> Result<Option<Transfer>, String> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err("the kernel-side thread panicked".into())),
            None => Err("the kernel-side thread was already joined".into()),
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.cancel();
            let _ = t.join();
        }
    }
}

/// Connects to `service` (retrying while it is not up yet) as a [`ticking`]
/// socket.
pub(crate) fn connect(service: SocketAddrV4, cancel: &AtomicBool) -> Result<TcpStream, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect_timeout(&service.into(), Duration::from_secs(3)) {
            Ok(s) => return ticking(s),
            // The stack may not be listening yet, or its ARP answer not in yet.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) && Instant::now() < deadline
                    && !cancel.load(Ordering::SeqCst) =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("kernel could not connect to {service}: {e}")),
        }
    }
}

/// Gives a kernel socket the short timeouts the transfer loops poll with (to
/// look at the cancel flag and measure stalls).
pub(crate) fn ticking(s: TcpStream) -> Result<TcpStream, String> {
    if let Some(name) = CONGESTION.lock().as_deref() {
        nix::sys::socket::setsockopt(
            &s,
            nix::sys::socket::sockopt::TcpCongestion,
            &std::ffi::OsString::from(name),
        )
        .map_err(|e| format!("kernel socket: TCP_CONGESTION {name}: {e}"))?;
    }
    s.set_read_timeout(Some(TICK))
        .and_then(|()| s.set_write_timeout(Some(TICK)))
        .map_err(|e| format!("kernel socket: setting timeouts: {e}"))?;
    Ok(s)
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads `bytes` from the stack's byte source, then waits (briefly) for its FIN.
fn read_from(
    service: SocketAddrV4,
    bytes: u64,
    stall: Duration,
    cancel: &AtomicBool,
) -> Result<Transfer, String> {
    read_stream(connect(service, cancel)?, bytes, stall, cancel)
}

/// Reads `bytes` from a connected, [`ticking`] socket and measures them, then
/// waits (briefly) for the sender's FIN.
pub(crate) fn read_stream(
    mut s: TcpStream,
    bytes: u64,
    stall: Duration,
    cancel: &AtomicBool,
) -> Result<Transfer, String> {
    let mut buf = vec![0u8; APP_CHUNK];
    let mut meter = Meter::default();
    let mut last_progress = Instant::now();
    while meter.bytes < bytes {
        if cancel.load(Ordering::SeqCst) {
            return Err(format!("cancelled after {} of {bytes} bytes", meter.bytes));
        }
        match s.read(&mut buf) {
            Ok(0) => {
                return Err(format!(
                    "the stack closed after {} of {bytes} bytes",
                    meter.bytes
                ))
            }
            Ok(n) => {
                meter.arrived(n);
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                if last_progress.elapsed() > stall {
                    return Err(format!(
                        "stalled: no byte for {:?} after {} of {bytes} bytes",
                        stall, meter.bytes
                    ));
                }
            }
            Err(e) => {
                return Err(format!(
                    "kernel read failed after {} of {bytes} bytes: {e}",
                    meter.bytes
                ))
            }
        }
    }
    let transfer = meter.transfer();
    // The stack closes after the last byte: wait a little for its FIN so the
    // connection ends cleanly (not part of the measurement).
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end && !cancel.load(Ordering::SeqCst) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok(transfer)
}

/// Writes `bytes` to the stack's discard service, half-closes, and waits for the
/// stack to close too.
fn write_to(
    service: SocketAddrV4,
    bytes: u64,
    stall: Duration,
    cancel: &AtomicBool,
) -> Result<u64, String> {
    write_stream(connect(service, cancel)?, bytes, stall, cancel)
}

/// Writes `bytes` to a connected, [`ticking`] socket, half-closes, and waits
/// for the receiver to close too.
pub(crate) fn write_stream(
    mut s: TcpStream,
    bytes: u64,
    stall: Duration,
    cancel: &AtomicBool,
) -> Result<u64, String> {
    let data = pattern(APP_CHUNK);
    let mut sent = 0u64;
    let mut last_progress = Instant::now();
    while sent < bytes {
        if cancel.load(Ordering::SeqCst) {
            return Err(format!("cancelled after writing {sent} of {bytes} bytes"));
        }
        let n = (bytes - sent).min(data.len() as u64) as usize;
        match s.write(&data[..n]) {
            Ok(0) => return Err(format!("the stack stopped taking data after {sent} bytes")),
            Ok(n) => {
                sent += n as u64;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                if last_progress.elapsed() > stall {
                    return Err(format!(
                        "stalled: the stack took no byte for {stall:?} after {sent} of {bytes}"
                    ));
                }
            }
            Err(e) => return Err(format!("kernel write failed after {sent} bytes: {e}")),
        }
    }
    let _ = s.shutdown(Shutdown::Write);
    // The stack closes once it has read everything: its FIN ends the exchange.
    let mut buf = [0u8; 4096];
    let closing_since = Instant::now();
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Err("cancelled while waiting for the stack to close".into());
        }
        match s.read(&mut buf) {
            Ok(0) => return Ok(sent),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_timeout(&e) => {
                if closing_since.elapsed() > stall {
                    return Err(format!(
                        "the stack did not close within {stall:?} after the last byte"
                    ));
                }
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(sent),
            Err(e) => return Err(format!("kernel read after writing failed: {e}")),
        }
    }
}
