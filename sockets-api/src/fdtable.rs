//! The per-stack descriptor table: small integers naming open sockets.
//!
//! As in a Unix process, a descriptor names an *open file* ([`OpenFile`]); `dup`
//! makes a second descriptor for the same open file, and the socket is closed when
//! the last descriptor naming it is. The open file holds the state C keeps per open
//! file description: the socket kind, the engine handle, `O_NONBLOCK`, the
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` timeouts and the shutdown state. Protocol options live
//! in the engine (`SocketOptions`).
//!
//! Locking: the table has its own short-lived lock. A call that needs both takes the
//! engine lock first, then the table lock (never the other way round), and never
//! waits while holding the table lock. Closing a descriptor happens under the engine
//! lock, so a caller that checks "is my descriptor still open" under the engine lock
//! and then waits on its socket cannot miss the wake-up `close` sends.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use stack::SocketHandle;

use crate::bsd::Stack;
use crate::consts::{IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_STREAM};
use crate::descriptors::Descriptors;
use crate::errno::Errno;

pub use crate::descriptors::FIRST_FD;

/// What protocol an open file speaks. Every BSD call matches on this, so a new kind
/// makes the compiler point at each call to extend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    /// `SOCK_DGRAM` over UDP.
    Udp,
    /// `SOCK_STREAM` over TCP: fresh, listening or connected (the engine knows
    /// which; a listener is a TCP socket in state LISTEN, as in Linux).
    Tcp,
}

impl SocketKind {
    /// `SO_TYPE`.
    pub(crate) fn sock_type(self) -> i32 {
        match self {
            SocketKind::Udp => SOCK_DGRAM,
            SocketKind::Tcp => SOCK_STREAM,
        }
    }

    /// `SO_PROTOCOL`.
    pub(crate) fn protocol(self) -> i32 {
        match self {
            SocketKind::Udp => IPPROTO_UDP,
            SocketKind::Tcp => IPPROTO_TCP,
        }
    }
}

/// A function called with the stack and a descriptor, in place of a signal handler
/// (`SIGURG`, `SIGPIPE`): see [`Stack::set_urgent_handler`] and
/// [`Stack::set_sigpipe_handler`].
pub type SignalHandler = Arc<dyn Fn(&Stack, i32) + Send + Sync>;

/// Linux's `sock->state` for a stream socket: what `connect` answers depends on it
/// (a second `connect` after a non-blocking one that completed gives 0 once, then
/// `EISCONN`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnectState {
    /// `SS_UNCONNECTED`: no `connect` yet (or it failed and was reported).
    Unconnected = 0,
    /// `SS_CONNECTING`: `connect` started; its outcome was not reported yet.
    Connecting = 1,
    /// `SS_CONNECTED`: `connect` (or `accept`) reported success.
    Connected = 2,
}

/// Shutdown bits, as Linux's `sk_shutdown`.
pub(crate) const RCV_SHUTDOWN: u8 = 1;
/// Shutdown bits, as Linux's `sk_shutdown`.
pub(crate) const SEND_SHUTDOWN: u8 = 2;

/// A blocking timeout: `None` waits forever; `Some(Duration::ZERO)` does not wait at
/// all (Linux's result of a negative `tv_sec`).
pub(crate) type Timeout = Option<Duration>;

/// One open socket, shared by every descriptor that names it.
pub(crate) struct OpenFile {
    pub(crate) kind: SocketKind,
    pub(crate) handle: SocketHandle,
    nonblocking: AtomicBool,
    shutdown: AtomicU8,
    timeouts: Mutex<(Timeout, Timeout)>,
    /// A [`ConnectState`] (stream sockets).
    connect_state: AtomicU8,
    /// The `SIGURG` handler of this socket (`fcntl(F_SETOWN)` + `signal(SIGURG)`).
    urgent_handler: Mutex<Option<SignalHandler>>,
    /// Descriptors naming this file; changed only under the table lock.
    descriptors: AtomicUsize,
    /// `F_SETOWN` / `SIOCSPGRP`: the owner recorded for `SIGURG` (a process, or a
    /// process group when negative); in process the urgent handler acts on it.
    owner: std::sync::atomic::AtomicI32,
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFile")
            .field("kind", &self.kind)
            .field("handle", &self.handle)
            .field("nonblocking", &self.nonblocking())
            .field("shutdown", &self.shutdown_bits())
            .finish_non_exhaustive()
    }
}

impl OpenFile {
    /// The `F_SETOWN` owner (0: none).
    pub(crate) fn owner(&self) -> i32 {
        self.owner.load(Ordering::Relaxed)
    }

    /// Sets the `F_SETOWN` owner.
    pub(crate) fn set_owner(&self, owner: i32) {
        self.owner.store(owner, Ordering::Relaxed);
    }

    pub(crate) fn new(kind: SocketKind, handle: SocketHandle, nonblocking: bool) -> OpenFile {
        OpenFile {
            kind,
            handle,
            nonblocking: AtomicBool::new(nonblocking),
            owner: std::sync::atomic::AtomicI32::new(0),
            shutdown: AtomicU8::new(0),
            timeouts: Mutex::new((None, None)),
            connect_state: AtomicU8::new(ConnectState::Unconnected as u8),
            urgent_handler: Mutex::new(None),
            descriptors: AtomicUsize::new(0),
        }
    }

    pub(crate) fn connect_state(&self) -> ConnectState {
        match self.connect_state.load(Ordering::Relaxed) {
            1 => ConnectState::Connecting,
            2 => ConnectState::Connected,
            _ => ConnectState::Unconnected,
        }
    }

    pub(crate) fn set_connect_state(&self, s: ConnectState) {
        self.connect_state.store(s as u8, Ordering::Relaxed);
    }

    pub(crate) fn urgent_handler(&self) -> Option<SignalHandler> {
        self.urgent_handler.lock().clone()
    }

    pub(crate) fn set_urgent_handler(&self, h: Option<SignalHandler>) {
        *self.urgent_handler.lock() = h;
    }

    pub(crate) fn nonblocking(&self) -> bool {
        self.nonblocking.load(Ordering::Relaxed)
    }

    pub(crate) fn set_nonblocking(&self, on: bool) {
        self.nonblocking.store(on, Ordering::Relaxed);
    }

    pub(crate) fn shutdown_bits(&self) -> u8 {
        self.shutdown.load(Ordering::Relaxed)
    }

    pub(crate) fn add_shutdown(&self, bits: u8) {
        self.shutdown.fetch_or(bits, Ordering::Relaxed);
    }

    pub(crate) fn clear_shutdown(&self, bits: u8) {
        self.shutdown.fetch_and(!bits, Ordering::Relaxed);
    }

    pub(crate) fn recv_timeout(&self) -> Timeout {
        self.timeouts.lock().0
    }

    pub(crate) fn send_timeout(&self) -> Timeout {
        self.timeouts.lock().1
    }

    pub(crate) fn set_recv_timeout(&self, t: Timeout) {
        self.timeouts.lock().0 = t;
    }

    pub(crate) fn set_send_timeout(&self, t: Timeout) {
        self.timeouts.lock().1 = t;
    }
}

/// The descriptor table of one stack: shared open files, each counting the
/// descriptors that name it (`dup`), so the socket closes with the last one.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    table: Descriptors<Arc<OpenFile>>,
    /// UNIX-domain sockets and pipes: numbers from the same space.
    unix: Descriptors<Arc<crate::unix::UnixFile>>,
}

impl FdTable {
    /// The open file `fd` names (`EBADF` if none).
    pub(crate) fn get(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        self.table.get(fd).cloned()
    }

    /// True when `fd` still names `file`.
    pub(crate) fn names(&self, fd: i32, file: &Arc<OpenFile>) -> bool {
        self.table.get(fd).is_ok_and(|f| Arc::ptr_eq(f, file))
    }

    /// True when a new descriptor could be allocated.
    pub(crate) fn has_room(&self) -> bool {
        self.table.has_room()
    }

    /// Gives `file` the lowest free descriptor (`EMFILE` if the table is full).
    pub(crate) fn insert(&mut self, file: Arc<OpenFile>) -> Result<i32, Errno> {
        let unix = &self.unix;
        let fd = self
            .table
            .insert_but(Arc::clone(&file), |fd| unix.get(fd).is_ok())?;
        file.descriptors.fetch_add(1, Ordering::Relaxed);
        Ok(fd)
    }

    /// Frees `fd`. Returns its open file and whether that was the last descriptor
    /// naming it (then the socket itself must be closed).
    pub(crate) fn remove(&mut self, fd: i32) -> Result<(Arc<OpenFile>, bool), Errno> {
        let file = self.table.remove(fd)?;
        let last = file.descriptors.fetch_sub(1, Ordering::Relaxed) == 1;
        Ok((file, last))
    }

    /// Every open descriptor and its file.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i32, &Arc<OpenFile>)> {
        self.table.iter()
    }

    /// Number of open descriptors.
    pub(crate) fn len(&self) -> usize {
        self.table.len() + self.unix.len()
    }

    /// The UNIX-domain file `fd` names (`EBADF` if none).
    pub(crate) fn get_unix(&self, fd: i32) -> Result<Arc<crate::unix::UnixFile>, Errno> {
        self.unix.get(fd).cloned()
    }

    /// Gives a UNIX-domain file the lowest free descriptor.
    pub(crate) fn insert_unix(&mut self, file: Arc<crate::unix::UnixFile>) -> Result<i32, Errno> {
        let table = &self.table;
        let fd = self
            .unix
            .insert_but(Arc::clone(&file), |fd| table.get(fd).is_ok())?;
        file.add_descriptor();
        Ok(fd)
    }

    /// Frees a UNIX-domain descriptor; true when it was the file's last.
    pub(crate) fn remove_unix(
        &mut self,
        fd: i32,
    ) -> Result<(Arc<crate::unix::UnixFile>, bool), Errno> {
        let file = self.unix.remove(fd)?;
        let last = file.drop_descriptor();
        Ok((file, last))
    }

    /// The limit descriptors stay below.
    pub(crate) fn limit(&self) -> usize {
        self.table.limit()
    }

    /// Changes the limit.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.table.set_limit(limit);
        self.unix.set_limit(limit);
    }
}
