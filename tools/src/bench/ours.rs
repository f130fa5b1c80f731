//! Our stack on the TAP, two ways:
//!
//! - [`run_runtime`]: as applications use it: the [`Runtime`]'s driver thread owns the
//!   device, the application thread makes blocking calls (lock, non-blocking engine
//!   call, wait on the socket). This is the figure compared with smoltcp.
//! - [`run_poll`]: the engine and the device in one thread, in the shape of smoltcp's
//!   own benchmark loop (receive a batch, run timers, let the application work,
//!   transmit, wait on the fd). The difference between the two is the cost of the
//!   runtime's threads, lock and wake-ups.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use stack::device::impaired::ImpairedDevice;
use stack::device::tap::TapDevice;
use stack::device::Device;
use stack::runtime::{Clock, Runtime, StackGuard};
use stack::tcp::{RecvFlags, SendFlags};
use stack::{Engine, EthernetAddress, NetError, SocketHandle, StackConfig};

use super::linux::Peer;
use super::{pattern, Dir, Meter, TapRun, Transfer, APP_CHUNK};

/// How long a blocked application call waits before looking at the clock and the
/// kernel side again.
const TICK: Duration = Duration::from_millis(50);
/// Frames received per batch in [`run_poll`] before the application gets a turn.
const RX_BATCH: usize = 64;

/// Our stack's configuration for a measurement: address, MAC, MTU, and a buffer
/// bound large enough for `buffer`.
pub fn config(addr: Ipv4Addr, prefix: u8, mac: [u8; 6], mtu: usize, buffer: usize) -> StackConfig {
    let mut c = StackConfig::new(addr, prefix);
    c.mac = EthernetAddress(mac);
    c.mtu = mtu;
    c.ports.privileged = true; // discard and the byte source live below 1024
    c.tcp.max_buffer = c.tcp.max_buffer.max(buffer);
    c
}

/// Opens the TAP, retrying for a moment while the previous user's attachment is torn
/// down (the kernel does that asynchronously after a close).
pub fn open_tap(name: &str, mtu: usize, offload: bool) -> Result<TapDevice, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let opened = if offload {
            TapDevice::open_with_offloads(name, mtu)
        } else {
            TapDevice::open_plain(name, mtu)
        };
        match opened {
            Ok(t) => return Ok(t),
            Err(e) if e.kind() == io::ErrorKind::ResourceBusy && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Opens a listener on `port` whose connections get `buffer`-byte send and receive
/// buffers (set before `listen`: children inherit them).
pub fn listen(engine: &mut Engine, port: u16, buffer: usize) -> Result<SocketHandle, String> {
    let err = |what: &str, e: NetError| format!("our stack: {what}: {e}");
    let h = engine.tcp_open().map_err(|e| err("socket", e))?;
    let mut opts = engine.socket_options(h).map_err(|e| err("getsockopt", e))?;
    opts.recv_buffer = buffer;
    opts.send_buffer = buffer;
    opts.reuse_addr = true;
    engine
        .set_socket_options(stack::Instant::ZERO, h, opts)
        .map_err(|e| err("setsockopt", e))?;
    engine
        .tcp_bind(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
        .map_err(|e| err("bind", e))?;
    engine.tcp_listen(h, 8).map_err(|e| err("listen", e))?;
    Ok(h)
}

/// One measurement with our stack driven by its [`Runtime`].
pub fn run_runtime(run: &TapRun) -> Result<Transfer, String> {
    run_runtime_counted(run).map(|(t, _)| t)
}

/// Like [`run_runtime`], also returning the stack's counters at the end.
pub fn run_runtime_counted(run: &TapRun) -> Result<(Transfer, stack::Counters), String> {
    let tap = open_tap(&run.tap, run.mtu, run.offload)?;
    let c = config(run.addr.0, run.addr.1, run.mac, run.mtu, run.buffer);
    let engine = Engine::new(c).map_err(|e| e.to_string())?;
    let started = if run.inbound_loss > 0.0 {
        Runtime::start(
            engine,
            ImpairedDevice::losing_received(tap, run.inbound_loss, 0x1055),
        )
    } else {
        Runtime::start(engine, tap)
    };
    let mut rt = started.map_err(|e| format!("cannot start the driver: {e}"))?;
    let result = serve_blocking(&rt, run);
    rt.stop();
    let counters = rt.lock().engine_ref().counters().clone();
    match (result, rt.driver_error()) {
        (Err(e), _) => Err(e),
        (Ok(_), Some(e)) => Err(format!("driver: {e}")),
        (Ok(t), None) => Ok((t, counters)),
    }
}

/// Serves one connection of `run.dir` with blocking calls, as an application would.
pub fn serve_blocking(rt: &Runtime, run: &TapRun) -> Result<Transfer, String> {
    let listener = listen(rt.lock().engine(), run.dir.port(), run.buffer)?;
    let peer = Peer::start(run.dir, run.service(), run.bytes, run.timeout.min(STALL))?;
    let deadline = Instant::now() + run.timeout;
    let gone = || peer.is_done();
    let ours = blocking_accept(rt, listener, &gone, deadline).and_then(|conn| {
        let r = match run.dir {
            Dir::Send => blocking_send(rt, conn, run.bytes, &gone, deadline).map(|_| None),
            Dir::Recv => blocking_recv(rt, conn, run.bytes, &gone, deadline).map(Some),
        };
        let mut g = rt.lock();
        let now = g.now();
        let _ = g.engine().close(now, conn);
        r
    });
    {
        let mut g = rt.lock();
        let now = g.now();
        let _ = g.engine().close(now, listener);
    }
    if ours.is_err() {
        peer.cancel();
    }
    let theirs = peer.join();
    match (ours?, theirs?) {
        (Some(t), _) | (None, Some(t)) => Ok(t),
        (None, None) => Err("nothing measured".into()),
    }
}

/// Longest time without progress before a run is declared stalled.
pub const STALL: Duration = Duration::from_secs(10);

/// Says whether the other end of the transfer has given up (or finished early).
pub type Gone<'a> = &'a dyn Fn() -> bool;

/// Waits on `h` for at most [`TICK`]; fails when the run is over time or the other
/// side is gone.
fn wait_tick(
    g: &mut StackGuard<'_>,
    h: SocketHandle,
    gone: Gone<'_>,
    deadline: Instant,
    what: &str,
) -> Result<(), String> {
    let now = Instant::now();
    if now >= deadline {
        return Err(format!("timed out {what}"));
    }
    if gone() {
        return Err(format!("the other side ended while {what}"));
    }
    match g.wait(h, Some((now + TICK).min(deadline))) {
        stack::runtime::WaitOutcome::Stopped => Err(format!("the runtime stopped while {what}")),
        _ => Ok(()),
    }
}

/// Accepts one connection on `listener`, blocking.
pub fn blocking_accept(
    rt: &Runtime,
    listener: SocketHandle,
    gone: Gone<'_>,
    deadline: Instant,
) -> Result<SocketHandle, String> {
    let mut g = rt.lock();
    loop {
        let now = g.now();
        match g.engine().tcp_accept(now, listener) {
            Ok((c, _)) => return Ok(c),
            Err(NetError::WouldBlock) => wait_tick(
                &mut g,
                listener,
                gone,
                deadline,
                "waiting for the connection",
            )?,
            Err(e) => return Err(format!("our stack: accept: {e}")),
        }
    }
}

/// Sends `bytes` of the pattern on `conn`, blocking.
pub fn blocking_send(
    rt: &Runtime,
    conn: SocketHandle,
    bytes: u64,
    gone: Gone<'_>,
    deadline: Instant,
) -> Result<(), String> {
    let data = pattern(APP_CHUNK);
    let mut sent = 0u64;
    let mut g = rt.lock();
    while sent < bytes {
        let n = (bytes - sent).min(data.len() as u64) as usize;
        let now = g.now();
        match g
            .engine()
            .tcp_send(now, conn, &data[..n], SendFlags::default())
        {
            Ok(k) => sent += k as u64,
            Err(NetError::WouldBlock) => wait_tick(&mut g, conn, gone, deadline, "sending")?,
            Err(e) => return Err(format!("our stack: send after {sent} bytes: {e}")),
        }
    }
    Ok(())
}

/// Reads `conn` to end of stream, blocking; fails if fewer than `bytes` arrived.
pub fn blocking_recv(
    rt: &Runtime,
    conn: SocketHandle,
    bytes: u64,
    gone: Gone<'_>,
    deadline: Instant,
) -> Result<Transfer, String> {
    let mut buf = vec![0u8; APP_CHUNK];
    let mut meter = Meter::default();
    let mut g = rt.lock();
    loop {
        let now = g.now();
        match g
            .engine()
            .tcp_recv(now, conn, &mut buf, RecvFlags::default())
        {
            Ok(0) => break,
            Ok(n) => meter.arrived(n),
            Err(NetError::WouldBlock) => {
                // The sender ends only after our FIN, so it being gone while we
                // still wait is a failure; wait_tick reports it.
                wait_tick(&mut g, conn, gone, deadline, "receiving")?
            }
            Err(e) => return Err(format!("our stack: recv after {} bytes: {e}", meter.bytes)),
        }
    }
    if meter.bytes < bytes {
        return Err(format!(
            "the sender closed after {} of {bytes} bytes",
            meter.bytes
        ));
    }
    Ok(meter.transfer())
}

/// Connects `conn` (whose options are set) to `remote`, blocking until established.
pub fn blocking_connect(
    rt: &Runtime,
    conn: SocketHandle,
    remote: SocketAddrV4,
    deadline: Instant,
) -> Result<(), String> {
    let never = || false;
    let mut g = rt.lock();
    let now = g.now();
    match g.engine().tcp_connect(now, conn, remote) {
        Ok(()) | Err(NetError::InProgress) => {}
        Err(e) => return Err(format!("our stack: connect: {e}")),
    }
    loop {
        match g.engine().tcp_state(conn) {
            Ok(stack::tcp::State::Established) => return Ok(()),
            Ok(stack::tcp::State::SynSent | stack::tcp::State::SynReceived) => {
                wait_tick(&mut g, conn, &never, deadline, "connecting")?
            }
            Ok(s) => {
                let e = g.engine().tcp_take_error(conn).ok().flatten();
                return Err(format!("our stack: connect ended in {s:?} ({e:?})"));
            }
            Err(e) => return Err(format!("our stack: connect: {e}")),
        }
    }
}

/// A non-blocking application on one engine: accepts one connection (or uses one it
/// was given), then sends `bytes` and closes, or reads to end of stream and closes.
#[derive(Debug)]
pub struct App {
    listener: Option<SocketHandle>,
    conn: Option<SocketHandle>,
    dir: Dir,
    bytes: u64,
    sent: u64,
    data: Vec<u8>,
    buf: Vec<u8>,
    /// Bytes received so far, with their timing.
    pub meter: Meter,
    closed: bool,
}

impl App {
    /// An application that accepts its connection from `listener`.
    pub fn server(listener: SocketHandle, dir: Dir, bytes: u64) -> App {
        App::new(Some(listener), None, dir, bytes)
    }

    /// An application on a socket that is connected (or connecting).
    pub fn client(conn: SocketHandle, dir: Dir, bytes: u64) -> App {
        App::new(None, Some(conn), dir, bytes)
    }

    fn new(
        listener: Option<SocketHandle>,
        conn: Option<SocketHandle>,
        dir: Dir,
        bytes: u64,
    ) -> App {
        App {
            listener,
            conn,
            dir,
            bytes,
            sent: 0,
            data: if dir == Dir::Send {
                pattern(APP_CHUNK)
            } else {
                Vec::new()
            },
            buf: if dir == Dir::Recv {
                vec![0; APP_CHUNK]
            } else {
                Vec::new()
            },
            meter: Meter::default(),
            closed: false,
        }
    }

    /// True once the application closed its connection (all sent, or end of stream).
    pub fn finished(&self) -> bool {
        self.closed
    }

    /// Does all the work possible now without blocking. Returns whether anything
    /// moved.
    pub fn step(&mut self, engine: &mut Engine, now: stack::Instant) -> Result<bool, String> {
        let conn = match (self.conn, self.listener) {
            (Some(c), _) => c,
            (None, Some(l)) => match engine.tcp_accept(now, l) {
                Ok((c, _)) => {
                    self.conn = Some(c);
                    let _ = engine.close(now, l);
                    self.listener = None;
                    c
                }
                Err(NetError::WouldBlock) => return Ok(false),
                Err(e) => return Err(format!("our stack: accept: {e}")),
            },
            (None, None) => return Ok(false),
        };
        if self.closed {
            return Ok(false);
        }
        let mut progress = false;
        match self.dir {
            Dir::Send => {
                while self.sent < self.bytes {
                    let n = (self.bytes - self.sent).min(self.data.len() as u64) as usize;
                    match engine.tcp_send(now, conn, &self.data[..n], SendFlags::default()) {
                        Ok(k) => {
                            self.sent += k as u64;
                            progress = true;
                        }
                        Err(NetError::WouldBlock) => break,
                        Err(e) => {
                            return Err(format!("our stack: send after {} bytes: {e}", self.sent))
                        }
                    }
                }
                if self.sent >= self.bytes {
                    engine
                        .close(now, conn)
                        .map_err(|e| format!("our stack: close: {e}"))?;
                    self.closed = true;
                }
            }
            Dir::Recv => loop {
                match engine.tcp_recv(now, conn, &mut self.buf, RecvFlags::default()) {
                    Ok(0) => {
                        if self.meter.bytes < self.bytes {
                            return Err(format!(
                                "the peer closed after {} of {} bytes",
                                self.meter.bytes, self.bytes
                            ));
                        }
                        engine
                            .close(now, conn)
                            .map_err(|e| format!("our stack: close: {e}"))?;
                        self.closed = true;
                        break;
                    }
                    Ok(n) => {
                        self.meter.arrived(n);
                        progress = true;
                    }
                    Err(NetError::WouldBlock) => break,
                    Err(e) => {
                        return Err(format!(
                            "our stack: recv after {} bytes: {e}",
                            self.meter.bytes
                        ))
                    }
                }
            },
        }
        Ok(progress)
    }
}

/// One measurement with the engine and the TAP driven by one thread (no runtime).
pub fn run_poll(run: &TapRun) -> Result<Transfer, String> {
    let mut tap = open_tap(&run.tap, run.mtu, run.offload)?;
    let c = config(run.addr.0, run.addr.1, run.mac, run.mtu, run.buffer);
    let mut engine = Engine::new(c).map_err(|e| e.to_string())?;
    // As the runtime does: the engine hands out what the TAP can finish (TSO,
    // checksums), and a frame from the TAP may be a 64 KiB GSO segment.
    engine.set_offloads(tap.offloads());
    let clock = Clock::new();
    let listener = listen(&mut engine, run.dir.port(), run.buffer)?;
    let mut app = App::server(listener, run.dir, run.bytes);
    let peer = Peer::start(run.dir, run.service(), run.bytes, run.timeout.min(STALL))?;
    let deadline = Instant::now() + run.timeout;
    let mut frame = vec![0u8; run.mtu.max(65535) + 18];
    let ours = loop {
        let now = clock.now();
        let mut received = 0;
        let mut failure = None;
        while received < RX_BATCH {
            match tap.receive_meta(&mut frame, now) {
                Ok(Some((n, meta))) => {
                    engine.handle_frame_meta(now, &frame[..n], meta);
                    received += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(e) = failure {
            break Err(e);
        }
        if engine.poll_timeout().is_some_and(|t| t <= now) {
            engine.handle_timeout(now);
        }
        let progress = match app.step(&mut engine, now) {
            Ok(p) => p,
            Err(e) => break Err(e),
        };
        while let Some((f, meta)) = engine.poll_transmit_meta(now) {
            if let Err(e) = tap.transmit_meta(&f, meta, now) {
                failure = Some(e.to_string());
            }
            engine.recycle(f);
        }
        if let Some(e) = failure {
            break Err(e);
        }
        while engine.poll_event().is_some() {}
        if let Some(over) = peer.run_over(app.finished(), deadline) {
            break over;
        }
        if received == 0 && !progress {
            let wait = engine
                .poll_timeout()
                .map(|t| t.saturating_duration_since(clock.now()))
                .map_or(TICK, |d| d.min(TICK));
            if let Err(e) = tap.wait(Some(wait)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    break Err(e.to_string());
                }
            }
        }
    };
    peer.settle(ours, run.dir, || app.meter.transfer())
}
