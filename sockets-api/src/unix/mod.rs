//! The UNIX domain inside a [`Stack`]: `AF_UNIX` stream and datagram sockets
//! whose names live in the stack's own name space (nothing is created in the file
//! system; [`Stack::unlink`] removes a name), `socketpair`, `pipe`, and FIFOs
//! ([`Stack::mkfifo`], [`Stack::open`]) (4.4BSD tutorial, Figures 1, 3, 5a, 5b,
//! 9a, 9b; the slides' pipe and FIFO). Threads stand in for `fork`.
//!
//! Their descriptors come from the same numbers as the stack's Internet sockets
//! and work with the same calls: `read`/`write`, `send`/`recv` (`MSG_PEEK`,
//! `MSG_DONTWAIT`, `MSG_WAITALL`), `sendto`/`recvfrom` on datagram sockets,
//! `shutdown`, `close`, `dup`, `fcntl`/`ioctl` (`O_NONBLOCK`, `FIONREAD`,
//! `FIONBIO`), `select` and `poll`. As in Linux: a name that is bound stays until
//! unlinked, even after its socket closed (`connect` then says `ECONNREFUSED`, a
//! new `bind` `EADDRINUSE`); `connect` to a name nobody bound is `ENOENT`; a
//! stream connect completes at once (it waits only while the listener's backlog
//! is full); writing where nobody reads any more is `EPIPE` (and the `SIGPIPE`
//! handler), reading after the writer closed gives the rest, then end of file.
//! Out-of-band data is not part of the UNIX domain here, as the tutorial says:
//! `MSG_OOB` is `EOPNOTSUPP`.
//!
//! The state is kept under the engine lock (taken first, then this module's), so
//! that a blocked call waits with the runtime's `wait_any` and a change wakes it
//! with `notify_any`, like `select` and `poll` over both domains.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use stack::runtime::WaitOutcome;

use crate::addr::SockAddrUn;
use crate::bsd::Stack;
use crate::consts::{
    FIONBIO, FIONREAD, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY,
    POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, SOCK_CLOEXEC, SOCK_DGRAM,
    SOCK_NONBLOCK, SOCK_STREAM,
};
use crate::errno::{track, Errno};

mod io;
mod pipe;

/// Bytes a stream (or pipe) direction holds before a writer waits (Linux's pipe
/// default: 16 pages).
const STREAM_BUFFER: usize = 65536;
/// Datagrams a receiving socket queues before senders wait (Linux's
/// `max_dgram_qlen`).
const DGRAM_QUEUE: usize = 512;
/// Largest datagram (Linux: the socket's send buffer, 212,992 bytes).
const DGRAM_MAX: usize = 212_992;

/// What a UNIX-domain descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnixKind {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Dgram,
    /// The read end of a pipe.
    PipeRead,
    /// The write end of a pipe.
    PipeWrite,
}

/// The open file behind a UNIX-domain descriptor (shared by `dup`s).
#[derive(Debug)]
pub(crate) struct UnixFile {
    pub(crate) kind: UnixKind,
    id: u64,
    nonblocking: AtomicBool,
    descriptors: AtomicUsize,
}

impl UnixFile {
    fn new(kind: UnixKind, id: u64, nonblocking: bool) -> Arc<UnixFile> {
        Arc::new(UnixFile {
            kind,
            id,
            nonblocking: AtomicBool::new(nonblocking),
            descriptors: AtomicUsize::new(0),
        })
    }

    pub(crate) fn add_descriptor(&self) {
        self.descriptors.fetch_add(1, Ordering::Relaxed);
    }

    /// True when this was the last descriptor.
    pub(crate) fn drop_descriptor(&self) -> bool {
        self.descriptors.fetch_sub(1, Ordering::Relaxed) == 1
    }
}

/// One direction of a byte stream.
#[derive(Debug, Default)]
struct Chan {
    buf: VecDeque<u8>,
    /// Open writing / reading ends.
    writers: usize,
    readers: usize,
    /// A FIFO's: it stays while its name does, its data only while it is open.
    named: bool,
    /// Opens of each end so far (a FIFO's open waits for the other end to have
    /// been opened, even if it has closed again since, as Linux's counters do).
    write_opens: u64,
    read_opens: u64,
}

#[derive(Debug, Default)]
struct Endpoint {
    name: Option<Vec<u8>>,
    peer_name: Option<Vec<u8>>,
    /// Stream: the two directions, once connected (pipes: one of them).
    rx: Option<u64>,
    tx: Option<u64>,
    connected: bool,
    /// Stream listener: backlog and connections waiting for `accept`.
    listening: Option<(usize, VecDeque<u64>)>,
    /// Datagram: the queue (data, sender's name) and the connected peer.
    queue: VecDeque<(Vec<u8>, Option<Vec<u8>>)>,
    peer: Option<u64>,
    shut_rd: bool,
    shut_wr: bool,
}

/// Every UNIX-domain endpoint, channel and name of one stack.
#[derive(Debug, Default)]
pub(crate) struct UnixSpace {
    next: u64,
    eps: HashMap<u64, Endpoint>,
    chans: HashMap<u64, Chan>,
    names: HashMap<Vec<u8>, u64>,
    /// FIFOs (`mkfifo`): name → channel.
    fifos: HashMap<Vec<u8>, u64>,
}

impl UnixSpace {
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn endpoint(&mut self) -> u64 {
        let id = self.id();
        self.eps.insert(id, Endpoint::default());
        id
    }

    fn chan(&mut self) -> u64 {
        let id = self.id();
        self.chans.insert(
            id,
            Chan {
                writers: 1,
                readers: 1,
                ..Chan::default()
            },
        );
        id
    }

    /// Two stream endpoints joined both ways.
    fn join(&mut self, a: u64, b: u64) {
        let (ab, ba) = (self.chan(), self.chan());
        if let Some(e) = self.eps.get_mut(&a) {
            e.tx = Some(ab);
            e.rx = Some(ba);
            e.connected = true;
        }
        if let Some(e) = self.eps.get_mut(&b) {
            e.tx = Some(ba);
            e.rx = Some(ab);
            e.connected = true;
        }
    }

    fn close_reading(&mut self, chan: Option<u64>) {
        if let Some(c) = chan.and_then(|c| self.chans.get_mut(&c)) {
            c.readers = c.readers.saturating_sub(1);
        }
    }

    fn close_writing(&mut self, chan: Option<u64>) {
        if let Some(c) = chan.and_then(|c| self.chans.get_mut(&c)) {
            c.writers = c.writers.saturating_sub(1);
        }
    }

    /// The last descriptor of endpoint `id` closed.
    fn release(&mut self, id: u64) {
        let Some(e) = self.eps.remove(&id) else {
            return;
        };
        if !e.shut_rd {
            self.close_reading(e.rx);
        }
        if !e.shut_wr {
            self.close_writing(e.tx);
        }
        for c in [e.rx, e.tx].into_iter().flatten() {
            match self.chans.get_mut(&c) {
                // Linux: a FIFO nobody has open keeps no data.
                Some(ch) if ch.named && ch.readers == 0 && ch.writers == 0 => ch.buf.clear(),
                Some(ch) if ch.readers == 0 && ch.writers == 0 => {
                    self.chans.remove(&c);
                }
                _ => {}
            }
        }
        if let Some((_, pending)) = e.listening {
            for p in pending {
                self.release(p);
            }
        }
    }

    fn readable(&self, e: &Endpoint) -> bool {
        if let Some((_, pending)) = &e.listening {
            return !pending.is_empty();
        }
        if !e.queue.is_empty() {
            return true;
        }
        match e.rx.and_then(|c| self.chans.get(&c)) {
            Some(c) => !c.buf.is_empty() || c.writers == 0 || e.shut_rd,
            None => e.shut_rd,
        }
    }

    fn poll_mask(&self, f: &UnixFile) -> i16 {
        let Some(e) = self.eps.get(&f.id) else {
            return POLLHUP;
        };
        let mut m = 0;
        if self.readable(e) {
            m |= POLLIN | POLLRDNORM;
        }
        match f.kind {
            UnixKind::Dgram => m |= POLLOUT | POLLWRNORM,
            UnixKind::PipeRead => {}
            UnixKind::Stream | UnixKind::PipeWrite => {
                if let Some(c) = e.tx.and_then(|c| self.chans.get(&c)) {
                    if c.readers == 0 || e.shut_wr {
                        m |= POLLOUT | POLLERR;
                    } else if c.buf.len() < STREAM_BUFFER {
                        m |= POLLOUT | POLLWRNORM;
                    }
                }
            }
        }
        let rx_done =
            e.rx.and_then(|c| self.chans.get(&c))
                .is_none_or(|c| c.writers == 0);
        let tx_done =
            e.tx.and_then(|c| self.chans.get(&c))
                .is_none_or(|c| c.readers == 0);
        if e.connected && rx_done && tx_done {
            m |= POLLHUP;
        }
        if f.kind == UnixKind::PipeRead && rx_done {
            m |= POLLHUP;
        }
        m
    }
}

fn name_of(path: &[u8]) -> Option<Vec<u8>> {
    (!path.is_empty()).then(|| path.to_vec())
}

fn addr_of(name: &Option<Vec<u8>>) -> SockAddrUn {
    SockAddrUn::from_path(name.as_deref().unwrap_or_default())
}

impl Stack {
    /// The UNIX-domain file `fd` names, if it is one.
    pub(crate) fn unix_file(&self, fd: i32) -> Option<Arc<UnixFile>> {
        self.fds().get_unix(fd).ok()
    }

    /// Runs `attempt` on the UNIX space until it gives a result, waiting for any
    /// change in between, unless `nonblocking` (then `EWOULDBLOCK`).
    fn unix_wait<T>(
        &self,
        nonblocking: bool,
        mut attempt: impl FnMut(&mut UnixSpace) -> Result<Option<T>, Errno>,
    ) -> Result<T, Errno> {
        let mut g = self.lock();
        loop {
            let r = attempt(&mut self.inner.unix.lock());
            match r {
                Ok(Some(v)) => {
                    g.notify_any();
                    return Ok(v);
                }
                Err(e) => {
                    g.notify_any();
                    return Err(e);
                }
                Ok(None) if nonblocking => return Err(Errno::EWOULDBLOCK),
                Ok(None) => {}
            }
            if g.wait_any(None) == WaitOutcome::Stopped {
                return Err(Errno::ENETDOWN);
            }
        }
    }

    fn unix_now<T>(&self, f: impl FnOnce(&mut UnixSpace) -> Result<T, Errno>) -> Result<T, Errno> {
        let mut g = self.lock();
        let r = f(&mut self.inner.unix.lock());
        g.notify_any();
        r
    }

    fn unix_install(&self, kind: UnixKind, id: u64, nonblocking: bool) -> Result<i32, Errno> {
        let r = self.fds().insert_unix(UnixFile::new(kind, id, nonblocking));
        if r.is_err() {
            self.inner.unix.lock().release(id);
        }
        r
    }

    /// `socket(AF_UNIX, type, 0)`.
    pub(crate) fn unix_socket(&self, ty: i32, protocol: i32) -> Result<i32, Errno> {
        let kind = match ty & 0xf {
            SOCK_STREAM => UnixKind::Stream,
            SOCK_DGRAM => UnixKind::Dgram,
            _ => return Err(Errno::ESOCKTNOSUPPORT),
        };
        if protocol != 0 {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let id = self.inner.unix.lock().endpoint();
        self.unix_install(kind, id, ty & SOCK_NONBLOCK != 0)
    }

    /// `socketpair(domain, type, protocol, sv)`: two connected UNIX-domain sockets
    /// (4.4BSD tutorial, Figure 3). Only `AF_UNIX` (`EOPNOTSUPP` for `AF_INET`, as
    /// Linux answers), `SOCK_STREAM` or `SOCK_DGRAM`.
    pub fn socketpair(&self, domain: i32, ty: i32, protocol: i32) -> Result<[i32; 2], Errno> {
        track((|| {
            if domain == crate::consts::AF_INET {
                return Err(Errno::EOPNOTSUPP);
            }
            if domain != crate::consts::AF_UNIX {
                return Err(Errno::EAFNOSUPPORT);
            }
            if ty & !(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
                return Err(Errno::EINVAL);
            }
            let a = self.unix_socket(ty, protocol)?;
            let b = match self.unix_socket(ty, protocol) {
                Ok(b) => b,
                Err(e) => {
                    let _ = self.close(a);
                    return Err(e);
                }
            };
            let (fa, fb) = (self.unix_file(a), self.unix_file(b));
            if let (Some(fa), Some(fb)) = (fa, fb) {
                let mut u = self.inner.unix.lock();
                if fa.kind == UnixKind::Stream {
                    u.join(fa.id, fb.id);
                } else {
                    for (x, y) in [(fa.id, fb.id), (fb.id, fa.id)] {
                        if let Some(e) = u.eps.get_mut(&x) {
                            e.peer = Some(y);
                            e.connected = true;
                        }
                    }
                }
            }
            Ok([a, b])
        })())
    }

    /// `bind(fd, &name, sizeof name)` for a UNIX-domain socket.
    pub fn bind_un(&self, fd: i32, addr: &SockAddrUn) -> Result<(), Errno> {
        track(self.unix_bind(fd, addr))
    }

    pub(crate) fn unix_bind(&self, fd: i32, addr: &SockAddrUn) -> Result<(), Errno> {
        let f = self.unix_file(fd).ok_or(Errno::ENOTSOCK)?;
        if matches!(f.kind, UnixKind::PipeRead | UnixKind::PipeWrite) {
            return Err(Errno::ENOTSOCK);
        }
        let path = name_of(addr.path_bytes()).ok_or(Errno::EINVAL)?;
        self.unix_now(|u| {
            if u.eps.get(&f.id).is_some_and(|e| e.name.is_some()) {
                return Err(Errno::EINVAL);
            }
            if u.names.contains_key(&path) {
                return Err(Errno::EADDRINUSE);
            }
            u.names.insert(path.clone(), f.id);
            if let Some(e) = u.eps.get_mut(&f.id) {
                e.name = Some(path);
            }
            Ok(())
        })
    }

    pub(crate) fn unix_listen(&self, f: &UnixFile, backlog: i32) -> Result<(), Errno> {
        if f.kind != UnixKind::Stream {
            return Err(Errno::EOPNOTSUPP);
        }
        let backlog = usize::try_from(backlog.clamp(0, crate::consts::SOMAXCONN)).unwrap_or(0);
        self.unix_now(|u| {
            let e = u.eps.get_mut(&f.id).ok_or(Errno::EBADF)?;
            if e.name.is_none() || e.connected {
                return Err(Errno::EINVAL);
            }
            match &mut e.listening {
                Some((b, _)) => *b = backlog,
                None => e.listening = Some((backlog, VecDeque::new())),
            }
            Ok(())
        })
    }

    /// `connect(fd, &name, sizeof name)` for a UNIX-domain socket.
    pub fn connect_un(&self, fd: i32, addr: &SockAddrUn) -> Result<(), Errno> {
        track(self.unix_connect(fd, addr))
    }

    pub(crate) fn unix_connect(&self, fd: i32, addr: &SockAddrUn) -> Result<(), Errno> {
        let f = self.unix_file(fd).ok_or(Errno::ENOTSOCK)?;
        let path = addr.path_bytes().to_vec();
        let nonblocking = f.nonblocking.load(Ordering::Relaxed);
        match f.kind {
            UnixKind::PipeRead | UnixKind::PipeWrite => Err(Errno::ENOTSOCK),
            UnixKind::Dgram => self.unix_now(|u| {
                let target = *u.names.get(&path).ok_or(Errno::ENOENT)?;
                if !u.eps.contains_key(&target) {
                    return Err(Errno::ECONNREFUSED);
                }
                let e = u.eps.get_mut(&f.id).ok_or(Errno::EBADF)?;
                e.peer = Some(target);
                e.peer_name = Some(path.clone());
                Ok(())
            }),
            UnixKind::Stream => self.unix_wait(nonblocking, |u| {
                let me = u.eps.get(&f.id).ok_or(Errno::EBADF)?;
                if me.connected {
                    return Err(Errno::EISCONN);
                }
                if me.listening.is_some() {
                    return Err(Errno::EINVAL);
                }
                let target = *u.names.get(&path).ok_or(Errno::ENOENT)?;
                let Some((backlog, pending)) =
                    u.eps.get(&target).and_then(|e| e.listening.as_ref())
                else {
                    return Err(Errno::ECONNREFUSED);
                };
                if pending.len() > *backlog {
                    return Ok(None); // the listener's queue is full: wait
                }
                let server = u.endpoint();
                u.join(f.id, server);
                let my_name = u.eps.get(&f.id).and_then(|e| e.name.clone());
                if let Some(s) = u.eps.get_mut(&server) {
                    s.name = Some(path.clone());
                    s.peer_name = my_name;
                }
                if let Some(me) = u.eps.get_mut(&f.id) {
                    me.peer_name = Some(path.clone());
                }
                if let Some((_, pending)) =
                    u.eps.get_mut(&target).and_then(|e| e.listening.as_mut())
                {
                    pending.push_back(server);
                }
                Ok(Some(()))
            }),
        }
    }

    pub(crate) fn unix_accept(&self, f: &UnixFile, flags: i32) -> Result<(i32, SockAddrUn), Errno> {
        if f.kind != UnixKind::Stream {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblocking = f.nonblocking.load(Ordering::Relaxed);
        let (id, peer) = self.unix_wait(nonblocking, |u| {
            let e = u.eps.get_mut(&f.id).ok_or(Errno::EBADF)?;
            let (_, pending) = e.listening.as_mut().ok_or(Errno::EINVAL)?;
            Ok(pending.pop_front().map(|id| {
                let peer = u.eps.get(&id).and_then(|e| e.peer_name.clone());
                (id, peer)
            }))
        })?;
        let fd = self.unix_install(UnixKind::Stream, id, flags & SOCK_NONBLOCK != 0)?;
        Ok((fd, addr_of(&peer)))
    }

    /// `accept` on a UNIX-domain stream socket: the new descriptor and the peer's
    /// name ("" when the connecting socket had none).
    pub fn accept_un(&self, fd: i32) -> Result<(i32, SockAddrUn), Errno> {
        track((|| {
            let f = self.unix_file(fd).ok_or(Errno::ENOTSOCK)?;
            self.unix_accept(&f, 0)
        })())
    }

    /// `sendto(fd, buf, len, flags, &name, sizeof name)` on a UNIX-domain datagram
    /// socket (Figure 5b).
    pub fn sendto_un(
        &self,
        fd: i32,
        buf: &[u8],
        flags: i32,
        to: &SockAddrUn,
    ) -> Result<usize, Errno> {
        track((|| {
            let f = self.unix_file(fd).ok_or(Errno::ENOTSOCK)?;
            self.unix_send(fd, &f, buf, flags, Some(to))
        })())
    }

    /// `recvfrom` on a UNIX-domain socket: the bytes and the sender's name ("" when
    /// unnamed, and on streams).
    pub fn recvfrom_un(
        &self,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
    ) -> Result<(usize, SockAddrUn), Errno> {
        track((|| {
            let f = self.unix_file(fd).ok_or(Errno::ENOTSOCK)?;
            self.unix_recv(&f, buf, flags)
        })())
    }

    /// `getsockname` of a UNIX-domain socket: its name ("" when unnamed).
    pub fn getsockname_un(&self, fd: i32) -> Result<SockAddrUn, Errno> {
        track((|| {
            let f = self.unix_file(fd).ok_or(Errno::ENOTSOCK)?;
            let u = self.inner.unix.lock();
            Ok(addr_of(&u.eps.get(&f.id).and_then(|e| e.name.clone())))
        })())
    }

    /// `getpeername` of a UNIX-domain socket (`ENOTCONN` unless connected).
    pub fn getpeername_un(&self, fd: i32) -> Result<SockAddrUn, Errno> {
        track((|| {
            let f = self.unix_file(fd).ok_or(Errno::ENOTSOCK)?;
            let u = self.inner.unix.lock();
            let e = u.eps.get(&f.id).ok_or(Errno::EBADF)?;
            if !e.connected && e.peer.is_none() {
                return Err(Errno::ENOTCONN);
            }
            Ok(addr_of(&e.peer_name))
        })())
    }

    /// The last descriptor of a UNIX-domain file closed.
    pub(crate) fn unix_release(&self, f: &UnixFile) {
        let _ = self.unix_now(|u| {
            u.release(f.id);
            Ok(())
        });
    }

    pub(crate) fn unix_fcntl(&self, f: &UnixFile, cmd: i32, arg: i32) -> Result<i32, Errno> {
        let mode = match f.kind {
            UnixKind::PipeRead => O_RDONLY,
            UnixKind::PipeWrite => O_WRONLY,
            _ => O_RDWR,
        };
        match cmd {
            F_GETFL => Ok(mode
                | if f.nonblocking.load(Ordering::Relaxed) {
                    O_NONBLOCK
                } else {
                    0
                }),
            F_SETFL => {
                f.nonblocking
                    .store(arg & O_NONBLOCK != 0, Ordering::Relaxed);
                Ok(0)
            }
            F_GETFD | F_SETFD => Ok(0),
            _ => Err(Errno::EINVAL),
        }
    }

    pub(crate) fn unix_ioctl(
        &self,
        f: &UnixFile,
        request: u64,
        arg: &mut i32,
    ) -> Result<(), Errno> {
        match request {
            FIONBIO => {
                f.nonblocking.store(*arg != 0, Ordering::Relaxed);
                Ok(())
            }
            FIONREAD => {
                let u = self.inner.unix.lock();
                let e = u.eps.get(&f.id).ok_or(Errno::EBADF)?;
                let n = match f.kind {
                    UnixKind::Dgram => e.queue.front().map_or(0, |(d, _)| d.len()),
                    _ => {
                        e.rx.and_then(|c| u.chans.get(&c))
                            .map_or(0, |c| c.buf.len())
                    }
                };
                *arg = i32::try_from(n).unwrap_or(i32::MAX);
                Ok(())
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    /// `getsockopt` on a UNIX-domain socket: `SO_TYPE`, `SO_DOMAIN`, `SO_ERROR`
    /// (always 0); others `ENOPROTOOPT`; a pipe `ENOTSOCK`.
    pub(crate) fn unix_getsockopt(
        &self,
        f: &UnixFile,
        level: i32,
        optname: i32,
    ) -> Result<Vec<u8>, Errno> {
        use crate::consts::{SOL_SOCKET, SO_DOMAIN, SO_ERROR, SO_TYPE};
        let ty = match f.kind {
            UnixKind::Stream => SOCK_STREAM,
            UnixKind::Dgram => SOCK_DGRAM,
            _ => return Err(Errno::ENOTSOCK),
        };
        let v = match (level, optname) {
            (SOL_SOCKET, SO_TYPE) => ty,
            (SOL_SOCKET, SO_DOMAIN) => crate::consts::AF_UNIX,
            (SOL_SOCKET, SO_ERROR) => 0,
            _ => return Err(Errno::ENOPROTOOPT),
        };
        Ok(v.to_ne_bytes().to_vec())
    }

    /// `poll` bits of a UNIX-domain descriptor (the engine lock is held).
    pub(crate) fn unix_poll_mask(&self, f: &UnixFile) -> i16 {
        self.inner.unix.lock().poll_mask(f)
    }

    /// `dup` of a UNIX-domain descriptor.
    pub(crate) fn unix_dup(&self, f: Arc<UnixFile>) -> Result<i32, Errno> {
        self.fds().insert_unix(f)
    }
}
