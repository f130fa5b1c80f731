//! TCP glue between the script kernel and the engine's `tcp_*` calls, kept in
//! one place so the kernel reads the same for UDP and TCP.

use std::net::SocketAddrV4;

use stack::tcp::{RecvFlags, SendFlags, Shutdown};
use stack::{Engine, Instant, NetError, SocketHandle};

type R<T> = Result<T, NetError>;

pub(super) fn open(e: &mut Engine) -> R<SocketHandle> {
    e.tcp_open()
}

pub(super) fn bind(e: &mut Engine, h: SocketHandle, a: SocketAddrV4) -> R<SocketAddrV4> {
    e.tcp_bind(h, a)
}

pub(super) fn listen(e: &mut Engine, h: SocketHandle, backlog: i64) -> R<()> {
    let backlog =
        i32::try_from(backlog.clamp(i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or(i32::MAX);
    e.tcp_listen(h, backlog)
}

pub(super) fn accept(
    e: &mut Engine,
    now: Instant,
    h: SocketHandle,
) -> R<(SocketHandle, SocketAddrV4)> {
    e.tcp_accept(now, h)
}

pub(super) fn connect(e: &mut Engine, now: Instant, h: SocketHandle, a: SocketAddrV4) -> R<()> {
    e.tcp_connect(now, h, a)
}

/// Whether the connection is established (or further along).
pub(super) fn connected(e: &Engine, h: SocketHandle) -> R<bool> {
    Ok(e.tcp_state(h)?.synchronized())
}

pub(super) fn send(
    e: &mut Engine,
    now: Instant,
    h: SocketHandle,
    d: &[u8],
    flags: SendFlags,
) -> R<usize> {
    e.tcp_send(now, h, d, flags)
}

pub(super) fn recv(
    e: &mut Engine,
    now: Instant,
    h: SocketHandle,
    b: &mut [u8],
    peek: bool,
    oob: bool,
) -> R<usize> {
    e.tcp_recv(now, h, b, RecvFlags { peek, oob })
}

pub(super) fn shutdown(e: &mut Engine, now: Instant, h: SocketHandle, how: i64) -> R<()> {
    let how = match how {
        0 => Shutdown::Read,
        1 => Shutdown::Write,
        _ => Shutdown::Both,
    };
    e.tcp_shutdown(now, h, how)
}

pub(super) fn take_error(e: &mut Engine, h: SocketHandle) -> R<Option<NetError>> {
    e.tcp_take_error(h)
}

pub(super) fn local_addr(e: &Engine, h: SocketHandle) -> R<Option<SocketAddrV4>> {
    e.tcp_local_addr(h)
}

pub(super) fn peer_addr(e: &Engine, h: SocketHandle) -> R<Option<SocketAddrV4>> {
    e.tcp_peer_addr(h)
}

pub(super) fn recv_queue_len(e: &Engine, h: SocketHandle) -> R<usize> {
    e.tcp_recv_queue_len(h)
}

pub(super) fn send_queue_len(e: &Engine, h: SocketHandle) -> R<usize> {
    e.tcp_send_queue_len(h)
}

pub(super) fn at_mark(e: &Engine, h: SocketHandle) -> R<bool> {
    e.tcp_at_mark(h)
}
