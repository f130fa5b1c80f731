//! [`Stack`]: one network stack seen through the BSD calls, with its own descriptor
//! table. This file has the construction and the calls that create, name, connect
//! and close sockets; `stream.rs` has what only stream sockets do (`listen`,
//! `accept`, the TCP side of `connect`, lingering on `close`), `io.rs` the data
//! transfer, `options.rs` the options, `fcntl` and `ioctl`, `select.rs` the
//! multiplexing, `signals.rs` the in-process `SIGURG` and `SIGPIPE`.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use stack::device::memory::MemoryLink;
use stack::device::Device;
use stack::runtime::{Runtime, StackGuard, WaitOutcome};
use stack::tcp::{Shutdown, State};
use stack::{Engine, NetError, SocketHandle, StackConfig};

use crate::addr::{SockAddrIn, SockAddrUn, SOCKADDR_IN_LEN};
use crate::consts::{
    AF_INET, AF_UNSPEC, INADDR_ANY, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, SHUT_RD, SHUT_RDWR,
    SHUT_WR, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_RAW, SOCK_STREAM,
};
use crate::errno::{track, Errno};
use crate::fdtable::{FdTable, OpenFile, SocketKind, Timeout, RCV_SHUTDOWN};
use crate::signals::Signals;

/// Highest address family number Linux knows (`AF_MAX`); beyond it `socket` says
/// `EAFNOSUPPORT` without looking further.
const AF_MAX: i32 = 46;
/// Socket types are below this (`SOCK_MAX`); the type's other bits are flags.
const SOCK_MAX: i32 = 10;
/// Bits of `socket`'s type argument that hold the type.
const SOCK_TYPE_MASK: i32 = 0xf;
/// Protocol numbers are below this (`IPPROTO_MAX`).
const IPPROTO_MAX: i32 = 263;

/// How the blocking calls of a [`Stack`] wait for a socket to change, when they do
/// not wait on the runtime's condition variables ([`Stack::set_blocker`]).
///
/// A blocking call that would block calls `prepare` (under the engine lock, where
/// socket events are raised), then alternates its attempt with `wait` (the lock
/// released), and calls `finish` when it returns. The blocker is told of events
/// through the runtime's event hook ([`stack::runtime::StackGuard::set_event_hook`]);
/// an event on the socket between `prepare` and a `wait` must end that `wait`.
pub trait Blocker: Send + Sync {
    /// The calling thread will wait on `h`.
    fn prepare(&self, h: SocketHandle);
    /// Waits until an event on `h` since `prepare` or the last `wait`, or until
    /// `deadline`. An error (`EINTR` when a signal handler interrupted the wait)
    /// ends the call with it.
    fn wait(
        &self,
        h: SocketHandle,
        deadline: Option<std::time::Instant>,
    ) -> Result<WaitOutcome, Errno>;
    /// The calling thread no longer waits on `h`.
    fn finish(&self, h: SocketHandle);
}

/// One network stack with the BSD socket calls as methods, and its own descriptor
/// table.
///
/// Cheap to clone (an `Arc` inside): clones share the stack and its descriptors, so
/// a descriptor made on one thread can be used from another. The stack's runtime
/// (driver thread and device) stops when the last clone is dropped, like a host
/// powered off: frames not yet sent (a datagram waiting for ARP) are lost, so keep
/// a clone alive until the conversation is over. Several stacks
/// can live in one process; each has its own descriptors, starting at 3.
///
/// Every call returns `Result<_, Errno>` where C returns -1 and sets `errno`; the
/// error is also recorded in this thread's [`errno()`](crate::errno()).
#[derive(Clone)]
pub struct Stack {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    fds: Mutex<FdTable>,
    /// The `SIGPIPE` handler and the `SIGURG` dispatcher.
    pub(crate) signals: Signals,
    /// Host names (`gethostbyname`, `gethostname`).
    pub(crate) names: Mutex<crate::netdb::Names>,
    /// How blocking calls wait, when not on the runtime's condition variables.
    blocker: std::sync::OnceLock<Arc<dyn Blocker>>,
    /// The UNIX domain: endpoints, pipes and names (taken after the engine lock).
    pub(crate) unix: Mutex<crate::unix::UnixSpace>,
    /// Dropped last: stopping the runtime joins the driver thread.
    runtime: Runtime,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("addr", &self.addr())
            .field("descriptors", &self.inner.fds.lock().len())
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// Wraps a running stack. The `Stack` owns the runtime from now on: it stops
    /// when the last clone of the `Stack` is dropped.
    pub fn new(runtime: Runtime) -> Stack {
        let mut fds = FdTable::default();
        fds.set_limit(runtime.lock().engine_ref().config().max_fds);
        Stack {
            inner: Arc::new(Inner {
                fds: Mutex::new(fds),
                signals: Signals::default(),
                names: Mutex::default(),
                blocker: std::sync::OnceLock::new(),
                unix: Mutex::default(),
                runtime,
            }),
        }
    }

    /// Builds an engine for `config` and runs it on `device`.
    pub fn start<D: Device + 'static>(config: StackConfig, device: D) -> io::Result<Stack> {
        let engine =
            Engine::new(config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(Stack::new(Runtime::start(engine, device)?))
    }

    /// Two stacks joined by an in-memory Ethernet link: the embedded default of the
    /// demo and the tests (no privileges, nothing leaves the process).
    ///
    /// # Panics
    ///
    /// If a configuration is invalid or a driver thread cannot be spawned; see
    /// [`Stack::try_memory_pair`] for the fallible form.
    pub fn memory_pair(a: StackConfig, b: StackConfig) -> (Stack, Stack) {
        match Stack::try_memory_pair(a, b) {
            Ok(pair) => pair,
            Err(e) => panic!("cannot start a memory pair: {e}"),
        }
    }

    /// [`Stack::memory_pair`], reporting bad configurations and spawn failures as
    /// errors.
    pub fn try_memory_pair(a: StackConfig, b: StackConfig) -> io::Result<(Stack, Stack)> {
        let (link_a, link_b) = MemoryLink::pair(a.mtu.max(b.mtu));
        Ok((Stack::start(a, link_a)?, Stack::start(b, link_b)?))
    }

    /// The runtime (driver thread, clock, engine lock).
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// Locks the engine, for what the BSD calls do not cover (counters, the socket
    /// table for `stats`). Do not hold it across a blocking call of this `Stack`.
    pub fn lock(&self) -> StackGuard<'_> {
        self.inner.runtime.lock()
    }

    /// The stack's IPv4 address.
    pub fn addr(&self) -> Ipv4Addr {
        self.lock().engine_ref().config().addr
    }

    /// The engine's handle of the socket behind `fd` (to find it in engine-level
    /// views such as `stats`).
    pub fn socket_handle(&self, fd: i32) -> Result<SocketHandle, Errno> {
        track(self.file(fd).map(|f| f.handle))
    }

    /// Number of open descriptors.
    pub fn open_descriptors(&self) -> usize {
        self.inner.fds.lock().len()
    }

    /// Every open descriptor with the engine handle of its socket, in increasing
    /// order (for `stats`-like views).
    pub fn descriptors(&self) -> Vec<(i32, SocketHandle)> {
        self.inner
            .fds
            .lock()
            .iter()
            .map(|(fd, f)| (fd, f.handle))
            .collect()
    }

    /// Descriptors must be below this limit (`StackConfig::max_fds`, like
    /// `ulimit -n`); `socket`, `accept` and `dup` give `EMFILE` beyond it.
    pub fn fd_limit(&self) -> usize {
        self.inner.fds.lock().limit()
    }

    /// Sets the descriptor limit (like `setrlimit(RLIMIT_NOFILE)`); open
    /// descriptors above it stay open.
    pub fn set_fd_limit(&self, limit: usize) {
        self.inner.fds.lock().set_limit(limit);
    }

    // ------------------------------------------------------------ internals

    /// The open file `fd` names.
    pub(crate) fn file(&self, fd: i32) -> Result<Arc<OpenFile>, Errno> {
        self.inner.fds.lock().get(fd)
    }

    /// The descriptor table, locked (take the engine lock first if both are needed).
    pub(crate) fn fds(&self) -> parking_lot::MutexGuard<'_, FdTable> {
        self.inner.fds.lock()
    }

    /// Makes blocking calls wait through `blocker` instead of the runtime's
    /// condition variables (once per stack: `EBUSY` when one is set already). A
    /// program that must wait in the kernel, where a signal can interrupt the wait
    /// (`EINTR`), uses this; see [`Blocker`].
    pub fn set_blocker(&self, blocker: Arc<dyn Blocker>) -> Result<(), Errno> {
        self.inner.blocker.set(blocker).map_err(|_| Errno::EBUSY)
    }

    /// Runs `attempt` until it gives a result, waiting on the socket's wake-up in
    /// between (never spinning). `attempt` returns `Ok(None)` for "would block".
    /// Gives `EWOULDBLOCK` at once when `nonblocking`, or when `timeout` expires;
    /// `EBADF` if `fd` is closed while waiting; `ENETDOWN` if the runtime stopped;
    /// with a [`Blocker`], whatever error its wait gives (`EINTR`).
    pub(crate) fn block_on<T>(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        nonblocking: bool,
        timeout: Timeout,
        mut attempt: impl FnMut(&mut StackGuard<'_>) -> Result<Option<T>, Errno>,
    ) -> Result<T, Errno> {
        let blocker = self.inner.blocker.get().map(Arc::as_ref);
        let h = file.handle;
        let mut g = self.lock();
        let mut deadline: Option<std::time::Instant> = None;
        let mut timed_out = false;
        let mut prepared = false;
        let r = loop {
            match attempt(&mut g) {
                Ok(Some(v)) => break Ok(v),
                Err(e) => break Err(e),
                Ok(None) => {}
            }
            if nonblocking || timed_out || timeout == Some(Duration::ZERO) {
                break Err(Errno::EWOULDBLOCK);
            }
            // Checked under the engine lock, which `close` holds while it frees the
            // descriptor and wakes waiters: no wake-up can be missed.
            if !self.fds().names(fd, file) {
                break Err(Errno::EBADF);
            }
            if deadline.is_none() {
                deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
            }
            let waited = match blocker {
                None => Ok(g.wait(h, deadline)),
                // Registered under the engine lock, where events are raised, and
                // then one more attempt: no event can be missed.
                Some(b) if !prepared => {
                    b.prepare(h);
                    prepared = true;
                    continue;
                }
                Some(_) if g.is_stopped() => Ok(WaitOutcome::Stopped),
                // The blocker waits with the engine lock released.
                Some(b) => {
                    drop(g);
                    let w = b.wait(h, deadline);
                    g = self.lock();
                    w
                }
            };
            match waited {
                Ok(WaitOutcome::Woken) => {}
                Ok(WaitOutcome::TimedOut) => timed_out = true,
                Ok(WaitOutcome::Stopped) => break Err(Errno::ENETDOWN),
                Err(e) => break Err(e),
            }
        };
        if let (true, Some(b)) = (prepared, blocker) {
            b.finish(h);
        }
        r
    }

    // ------------------------------------------------------------ socket calls

    /// `socket(domain, type, protocol)`: a new socket's descriptor (the lowest free
    /// one, from 3 up).
    ///
    /// `AF_INET` + `SOCK_DGRAM` with protocol 0 or `IPPROTO_UDP` gives a UDP socket;
    /// `AF_INET` + `SOCK_STREAM` with protocol 0 or `IPPROTO_TCP` a TCP socket.
    /// `type` may carry `SOCK_NONBLOCK` (start non-blocking) and `SOCK_CLOEXEC`
    /// (accepted, no effect). Errors, as Linux: another family `EAFNOSUPPORT`; an
    /// unknown flag or a type beyond the known ones `EINVAL`; `SOCK_RAW` `EPERM`
    /// (as for an unprivileged process); other types `ESOCKTNOSUPPORT`; a protocol
    /// that does not fit the type `EPROTONOSUPPORT`; no free descriptor `EMFILE`.
    pub fn socket(&self, domain: i32, ty: i32, protocol: i32) -> Result<i32, Errno> {
        track(self.socket_inner(domain, ty, protocol))
    }

    fn socket_inner(&self, domain: i32, ty: i32, protocol: i32) -> Result<i32, Errno> {
        let flags = ty & !SOCK_TYPE_MASK;
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        if domain == crate::consts::AF_UNIX {
            return self.unix_socket(ty, protocol);
        }
        let ty = ty & SOCK_TYPE_MASK;
        if !(0..AF_MAX).contains(&domain) {
            return Err(Errno::EAFNOSUPPORT);
        }
        if ty >= SOCK_MAX {
            return Err(Errno::EINVAL);
        }
        if domain != AF_INET {
            return Err(Errno::EAFNOSUPPORT);
        }
        if !(0..IPPROTO_MAX).contains(&protocol) {
            return Err(Errno::EINVAL);
        }
        let kind = match (ty, protocol) {
            (SOCK_DGRAM, IPPROTO_IP | IPPROTO_UDP) => SocketKind::Udp,
            (SOCK_STREAM, IPPROTO_IP | IPPROTO_TCP) => SocketKind::Tcp,
            (SOCK_STREAM, _) | (SOCK_DGRAM, _) => return Err(Errno::EPROTONOSUPPORT),
            (SOCK_RAW, _) => return Err(Errno::EPERM),
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        let mut g = self.lock();
        if !self.fds().has_room() {
            return Err(Errno::EMFILE);
        }
        let handle = match kind {
            SocketKind::Udp => g.engine().udp_open()?,
            SocketKind::Tcp => g.engine().tcp_open()?,
        };
        let file = Arc::new(OpenFile::new(kind, handle, flags & SOCK_NONBLOCK != 0));
        let fd = self.fds().insert(file);
        if fd.is_err() {
            let now = g.now();
            let _ = g.engine().close(now, handle);
        }
        fd
    }

    /// `close(fd)`: frees the descriptor; the socket closes with its last
    /// descriptor. Threads blocked on `fd` (in `recvfrom`, `accept`, `select`, ...)
    /// wake up and get `EBADF` (Linux leaves them blocked; waking them is the useful
    /// choice for an in-process stack).
    ///
    /// A stream socket closes as in Linux: queued data is still sent, followed by a
    /// FIN, and the connection finishes in the background (the primer's "the system
    /// will continue to attempt to transfer the data"). Unread received data, or
    /// `SO_LINGER` on with a time of 0, abort the connection with a RST instead (the
    /// peer gets `ECONNRESET`). `SO_LINGER` on with a time of `n` seconds makes
    /// `close` wait (even in non-blocking mode, as Linux does) until the peer has
    /// acknowledged everything including the FIN, or `n` seconds passed; it returns
    /// 0 either way. Closing a listener resets the connections waiting in its queue.
    pub fn close(&self, fd: i32) -> Result<(), Errno> {
        track(self.close_inner(fd))
    }

    fn close_inner(&self, fd: i32) -> Result<(), Errno> {
        if self.unix_file(fd).is_some() {
            let (file, last) = self.fds().remove_unix(fd)?;
            if last {
                self.unix_release(&file);
            }
            return Ok(());
        }
        let mut g = self.lock();
        let (file, last) = self.fds().remove(fd)?;
        let mut linger = None;
        if last {
            g.set_urgent_notifier(file.handle, None);
            file.set_urgent_handler(None);
            if file.kind == SocketKind::Tcp {
                linger = g
                    .engine_ref()
                    .socket_options(file.handle)
                    .ok()
                    .and_then(|o| o.linger)
                    .filter(|d| !d.is_zero());
            }
            let now = g.now();
            // The handle cannot be stale: only this path closes it.
            let _ = g.engine().close(now, file.handle);
        }
        g.notify(file.handle);
        if let Some(time) = linger {
            Self::linger(g, file.handle, time);
        }
        Ok(())
    }

    /// `dup(fd)`: a second descriptor for the same socket (the lowest free one). The
    /// socket stays open until both are closed; `O_NONBLOCK` and the timeouts are
    /// shared, as in Unix.
    pub fn dup(&self, fd: i32) -> Result<i32, Errno> {
        track(self.dup_inner(fd))
    }

    fn dup_inner(&self, fd: i32) -> Result<i32, Errno> {
        if let Some(u) = self.unix_file(fd) {
            return self.unix_dup(u);
        }
        let _g = self.lock();
        let mut fds = self.fds();
        let file = fds.get(fd)?;
        fds.insert(file)
    }

    /// `bind(fd, &addr, sizeof addr)`: gives the socket a local address.
    ///
    /// `INADDR_ANY` is the wildcard; port 0 picks an ephemeral port (read it back
    /// with [`Stack::getsockname`]). Errors: family not `AF_INET` `EAFNOSUPPORT`
    /// (Linux accepts `AF_UNSPEC` with `INADDR_ANY`); already bound `EINVAL`; in use
    /// `EADDRINUSE` (also when no ephemeral port is free); a port below 1024 without
    /// privilege `EACCES`; an address not of this stack `EADDRNOTAVAIL`.
    pub fn bind(&self, fd: i32, addr: &SockAddrIn) -> Result<(), Errno> {
        track(self.bind_inner(fd, addr))
    }

    /// `bind` with the address as C bytes and length (`addr.len()` is `addrlen`):
    /// `EINVAL` when shorter than a `sockaddr_in`, then as [`Stack::bind`].
    pub fn bind_raw(&self, fd: i32, addr: &[u8]) -> Result<(), Errno> {
        if self.unix_file(fd).is_some() {
            return track(SockAddrUn::from_bytes(addr).and_then(|a| self.unix_bind(fd, &a)));
        }
        track(
            self.file(fd)
                .and_then(|_| SockAddrIn::from_bytes(addr))
                .and_then(|a| self.bind_inner(fd, &a)),
        )
    }

    fn bind_inner(&self, fd: i32, addr: &SockAddrIn) -> Result<(), Errno> {
        if self.unix_file(fd).is_some() {
            return Err(Errno::EINVAL); // an Internet address for a UNIX socket
        }
        let file = self.file(fd)?;
        if i32::from(addr.sin_family) != AF_INET
            && !(addr.is_unspec() && addr.sin_addr.s_addr == INADDR_ANY.to_be())
        {
            return Err(Errno::EAFNOSUPPORT);
        }
        let local = SocketAddrV4::from(*addr);
        let mut g = self.lock();
        match file.kind {
            SocketKind::Udp => g.engine().udp_bind(file.handle, local)?,
            SocketKind::Tcp => g.engine().tcp_bind(file.handle, local)?,
        };
        Ok(())
    }

    /// `connect(fd, &addr, sizeof addr)`.
    ///
    /// For a **stream** socket: opens a connection to `addr` (binding an ephemeral
    /// port first if needed). In blocking mode it waits for the handshake and
    /// returns 0, or the reason it failed: `ECONNREFUSED` (nobody listens there),
    /// `ETIMEDOUT` (no answer to the SYN and its retries), `EHOSTUNREACH` (no ARP
    /// answer, or ICMP said so), `ENETUNREACH` (no route, at once). An
    /// `SO_SNDTIMEO` that expires first gives `EINPROGRESS`, as in Linux, and the
    /// attempt goes on. In non-blocking mode it returns `EINPROGRESS` at once; the
    /// socket turns writable when the attempt ends, and `getsockopt(SO_ERROR)` then
    /// gives 0 or the error. A second `connect` while the attempt is under way gives
    /// `EALREADY`; once it succeeded, `EISCONN` (after a non-blocking attempt, the
    /// first `connect` that sees it done returns 0, as in Linux). Also `EISCONN` on
    /// a listening socket; `EADDRNOTAVAIL` when no ephemeral port is free or the
    /// 4-tuple is taken.
    ///
    /// For a **datagram** socket: sets the default
    /// destination (so `send`/`write` work) and receives only from that peer
    /// (binding an ephemeral port first if needed); may be called again to change
    /// the peer, and with `sin_family = AF_UNSPEC` dissolves the association.
    /// Errors: family `EAFNOSUPPORT`; broadcast without `SO_BROADCAST` `EACCES`;
    /// no route `ENETUNREACH`; port 0 or address 0.0.0.0 `EINVAL`.
    pub fn connect(&self, fd: i32, addr: &SockAddrIn) -> Result<(), Errno> {
        track(self.connect_inner(fd, addr))
    }

    /// `connect` with the address as C bytes and length: `EINVAL` when shorter than
    /// the family field; `AF_UNSPEC` needs only the family (as Linux); else
    /// `EINVAL` when shorter than a `sockaddr_in`, then as [`Stack::connect`].
    pub fn connect_raw(&self, fd: i32, addr: &[u8]) -> Result<(), Errno> {
        if self.unix_file(fd).is_some() {
            return track(SockAddrUn::from_bytes(addr).and_then(|a| self.unix_connect(fd, &a)));
        }
        track(self.file(fd).and_then(|_| {
            let family = match addr {
                [a, b, ..] => u16::from_ne_bytes([*a, *b]),
                _ => return Err(Errno::EINVAL),
            };
            if i32::from(family) == AF_UNSPEC && addr.len() < SOCKADDR_IN_LEN {
                let unspec = SockAddrIn::default();
                return self.connect_inner(fd, &unspec);
            }
            self.connect_inner(fd, &SockAddrIn::from_bytes(addr)?)
        }))
    }

    fn connect_inner(&self, fd: i32, addr: &SockAddrIn) -> Result<(), Errno> {
        if self.unix_file(fd).is_some() {
            return Err(Errno::EINVAL); // an Internet address for a UNIX socket
        }
        let file = self.file(fd)?;
        match file.kind {
            SocketKind::Tcp => self.stream_connect(fd, &file, addr),
            SocketKind::Udp => {
                let mut g = self.lock();
                if addr.is_unspec() {
                    g.engine().udp_disconnect(file.handle)?;
                    return Ok(());
                }
                let remote = addr.to_socket_addr()?;
                let now = g.now();
                g.engine().udp_connect(now, file.handle, remote)?;
                Ok(())
            }
        }
    }

    /// `getsockname(fd, &name, &len)`: the local address (0.0.0.0:0 while unbound;
    /// after an implicit bind, the ephemeral port).
    pub fn getsockname(&self, fd: i32) -> Result<SockAddrIn, Errno> {
        track(self.getsockname_inner(fd))
    }

    fn getsockname_inner(&self, fd: i32) -> Result<SockAddrIn, Errno> {
        if self.unix_file(fd).is_some() {
            return Err(Errno::EAFNOSUPPORT); // see getsockname_un
        }
        let file = self.file(fd)?;
        let g = self.lock();
        let local = match file.kind {
            SocketKind::Udp => g.engine_ref().udp_local_addr(file.handle)?,
            SocketKind::Tcp => g.engine_ref().tcp_local_addr(file.handle)?,
        };
        Ok(SockAddrIn::from(
            local.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
        ))
    }

    /// `getpeername(fd, &name, &len)`: the connected peer (`ENOTCONN` if none: for a
    /// stream socket, also while its connection is still being set up and after
    /// it was reset).
    pub fn getpeername(&self, fd: i32) -> Result<SockAddrIn, Errno> {
        track(self.getpeername_inner(fd))
    }

    fn getpeername_inner(&self, fd: i32) -> Result<SockAddrIn, Errno> {
        if self.unix_file(fd).is_some() {
            return Err(Errno::EAFNOSUPPORT); // see getpeername_un
        }
        let file = self.file(fd)?;
        let g = self.lock();
        let peer = match file.kind {
            SocketKind::Udp => g.engine_ref().udp_peer_addr(file.handle)?,
            SocketKind::Tcp => g.engine_ref().tcp_peer_addr(file.handle)?,
        };
        peer.map(SockAddrIn::from).ok_or(Errno::ENOTCONN)
    }

    /// `shutdown(fd, how)` with `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR` (else `EINVAL`).
    ///
    /// Stream sockets follow Linux: `SHUT_WR` sends a FIN after the queued data (the
    /// peer reads end-of-file and may go on sending: a half-close), and later
    /// writes fail with `EPIPE`; `SHUT_RD` makes reads return 0 once the queued data
    /// is read; `SHUT_RDWR` both. Blocked readers and writers wake up. `ENOTCONN`
    /// when not connected. On a listener, `SHUT_RD`/`SHUT_RDWR` stop `accept`
    /// (blocked and later calls get `EINVAL`, as in Linux) and `SHUT_WR` does nothing.
    ///
    /// Datagram sockets follow Linux: after `SHUT_RD`, queued datagrams can still be
    /// read, then reads return 0 at once (a blocked reader wakes up with 0); after
    /// `SHUT_WR`, sends fail with `EPIPE`. On an unconnected socket the shutdown
    /// still takes effect (waking blocked readers) but the call reports `ENOTCONN`.
    pub fn shutdown(&self, fd: i32, how: i32) -> Result<(), Errno> {
        track(self.shutdown_inner(fd, how))
    }

    fn shutdown_inner(&self, fd: i32, how: i32) -> Result<(), Errno> {
        if let Some(u) = self.unix_file(fd) {
            return self.unix_shutdown(&u, how);
        }
        let file = self.file(fd)?;
        if !(SHUT_RD..=SHUT_RDWR).contains(&how) {
            return Err(Errno::EINVAL);
        }
        let mut g = self.lock();
        // SHUT_RD = 0 -> RCV_SHUTDOWN (1), SHUT_WR = 1 -> SEND_SHUTDOWN (2), both -> 3.
        let bits = (how + 1) as u8;
        let connected = match file.kind {
            SocketKind::Udp => {
                file.add_shutdown(bits);
                g.notify(file.handle);
                g.engine_ref().udp_peer_addr(file.handle)?.is_some()
            }
            SocketKind::Tcp => {
                let h = file.handle;
                if g.engine_ref().tcp_state(h)? == State::Listen {
                    if how != SHUT_WR {
                        file.add_shutdown(RCV_SHUTDOWN);
                        g.notify(h);
                    }
                    return Ok(());
                }
                let half = match how {
                    SHUT_RD => Shutdown::Read,
                    SHUT_WR => Shutdown::Write,
                    _ => Shutdown::Both,
                };
                let now = g.now();
                let r = g.engine().tcp_shutdown(now, h, half);
                // Linux sets the shutdown bits even when it answers ENOTCONN (so
                // that poll reports the hang-up).
                file.add_shutdown(bits);
                g.notify(h);
                match r {
                    Ok(()) => true,
                    Err(NetError::NotConnected) => false,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        }
    }
}
