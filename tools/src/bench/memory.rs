//! In-memory throughput: no device, no kernel.
//!
//! - [`ours_engines`]: two of our engines in one thread, each frame handed from one
//!   engine's `poll_transmit` straight to the other's `handle_frame`, on the real
//!   clock, never sleeping. The same shape as smoltcp's loopback benchmark
//!   ([`super::smol::run_loopback`]): pure protocol processing.
//! - [`ours_runtimes`]: two of our runtimes on a `MemoryLink` (channels between two
//!   driver threads), a sending application thread and a receiving one: the shipping
//!   path, threads and wake-ups included.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stack::device::memory::MemoryLink;
use stack::device::{Offloads, RxMeta};
use stack::runtime::{Clock, Runtime};
use stack::{Engine, NetError, SocketHandle};

use super::ours::{
    blocking_accept, blocking_connect, blocking_recv, blocking_send, config, listen, App,
};
use super::{Dir, Transfer, DISCARD_PORT};

const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

fn engines(buffer: usize, mtu: usize) -> Result<(Engine, Engine), String> {
    let a = Engine::new(config(CLIENT, 24, CLIENT_MAC, mtu, buffer)).map_err(|e| e.to_string())?;
    let b = Engine::new(config(SERVER, 24, SERVER_MAC, mtu, buffer)).map_err(|e| e.to_string())?;
    Ok((a, b))
}

/// A client socket with `buffer`-byte buffers (set before connecting).
fn client_socket(engine: &mut Engine, buffer: usize) -> Result<SocketHandle, String> {
    let h = engine
        .tcp_open()
        .map_err(|e| format!("our stack: socket: {e}"))?;
    let mut opts = engine
        .socket_options(h)
        .map_err(|e| format!("our stack: getsockopt: {e}"))?;
    opts.recv_buffer = buffer;
    opts.send_buffer = buffer;
    engine
        .set_socket_options(stack::Instant::ZERO, h, opts)
        .map_err(|e| format!("our stack: setsockopt: {e}"))?;
    Ok(h)
}

/// Moves every frame `from` has queued to `to`. With checksum offload the link
/// carries the "checksum left out" mark, as a virtio or veth link does: the
/// receiver does not verify what the sender did not compute (smoltcp's `Loopback`
/// skips checksums the same way).
fn pump(from: &mut Engine, to: &mut Engine, now: stack::Instant) -> bool {
    let mut moved = false;
    while let Some((f, meta)) = from.poll_transmit_meta(now) {
        let rx = RxMeta {
            checksum_verified: meta.checksum_partial,
        };
        if meta.gso_size == 0 {
            to.handle_frame_meta(now, &f, rx);
        } else {
            stack::device::offload::finish(&f, meta, |piece| to.handle_frame(now, piece));
        }
        from.recycle(f);
        moved = true;
    }
    moved
}

/// Two engines in one thread: the client sends `bytes` to the server's discard port.
pub fn ours_engines(
    bytes: u64,
    buffer: usize,
    mtu: usize,
    timeout: Duration,
    checksum_offload: bool,
) -> Result<Transfer, String> {
    let (mut a, mut b) = engines(buffer, mtu)?;
    if checksum_offload {
        let o = Offloads {
            tx_checksum: true,
            tso: false,
        };
        a.set_offloads(o);
        b.set_offloads(o);
    }
    let clock = Clock::new();
    let listener = listen(&mut b, DISCARD_PORT, buffer)?;
    let conn = client_socket(&mut a, buffer)?;
    match a.tcp_connect(clock.now(), conn, SocketAddrV4::new(SERVER, DISCARD_PORT)) {
        Ok(()) | Err(NetError::InProgress) => {}
        Err(e) => return Err(format!("our stack: connect: {e}")),
    }
    let mut sender = App::client(conn, Dir::Send, bytes);
    let mut receiver = App::server(listener, Dir::Recv, bytes);
    let deadline = Instant::now() + timeout;
    let mut spins = 0u32;
    while !receiver.finished() {
        let now = clock.now();
        sender.step(&mut a, now)?;
        pump(&mut a, &mut b, now);
        receiver.step(&mut b, now)?;
        pump(&mut b, &mut a, now);
        for e in [&mut a, &mut b] {
            if e.poll_timeout().is_some_and(|t| t <= now) {
                e.handle_timeout(now);
            }
            while e.poll_event().is_some() {}
        }
        spins = spins.wrapping_add(1);
        receiver.meter.overdue(spins, deadline, bytes)?;
    }
    Ok(receiver.meter.transfer())
}

/// Two runtimes on a `MemoryLink`: a client thread sends `bytes` to a server thread
/// reading the discard port, all with blocking calls.
pub fn ours_runtimes(
    bytes: u64,
    buffer: usize,
    mtu: usize,
    timeout: Duration,
) -> Result<Transfer, String> {
    let (a, b) = engines(buffer, mtu)?;
    let (la, lb) = MemoryLink::pair(mtu);
    let start = |e, l| Runtime::start(e, l).map_err(|e| format!("cannot start a driver: {e}"));
    let mut rt_a = start(a, la)?;
    let mut rt_b = start(b, lb)?;
    let listener = listen(rt_b.lock().engine(), DISCARD_PORT, buffer)?;
    let conn = client_socket(rt_a.lock().engine(), buffer)?;
    let deadline = Instant::now() + timeout;
    let client_done = Arc::new(AtomicBool::new(false));
    let server_done = AtomicBool::new(false);
    let result = std::thread::scope(|s| {
        let server = s.spawn(|| {
            let gone = || client_done.load(Ordering::SeqCst);
            let r = blocking_accept(&rt_b, listener, &gone, deadline).and_then(|c| {
                let r = blocking_recv(&rt_b, c, bytes, &gone, deadline);
                let mut g = rt_b.lock();
                let now = g.now();
                let _ = g.engine().close(now, c);
                r
            });
            server_done.store(true, Ordering::SeqCst);
            r
        });
        let gone = || server_done.load(Ordering::SeqCst);
        let sent = blocking_connect(
            &rt_a,
            conn,
            SocketAddrV4::new(SERVER, DISCARD_PORT),
            deadline,
        )
        .and_then(|()| blocking_send(&rt_a, conn, bytes, &gone, deadline));
        {
            let mut g = rt_a.lock();
            let now = g.now();
            let _ = g.engine().close(now, conn);
        }
        if sent.is_err() {
            client_done.store(true, Ordering::SeqCst);
        }
        let received = server
            .join()
            .unwrap_or_else(|_| Err("the receiving thread panicked".into()));
        client_done.store(true, Ordering::SeqCst);
        sent.and(received)
    });
    rt_a.stop();
    rt_b.stop();
    result
}
