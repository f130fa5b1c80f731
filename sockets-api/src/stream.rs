//! What only stream (TCP) sockets do: `listen`, `accept`, the waiting side of
//! `connect`, and lingering on `close`.
//!
//! The engine's TCP calls never block; this file adds the waiting, with the rules of
//! the 4.2BSD primer (section 2.4: "accept normally blocks", "should a connection be
//! requested while the queue is full, the connection will not be refused, but
//! rather the individual messages which comprise the request will be ignored") and,
//! where the primer is silent, Linux's (`inet_stream_connect`, `inet_accept`,
//! `tcp_close`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use stack::runtime::{StackGuard, WaitOutcome};
use stack::tcp::State;
use stack::{NetError, SocketHandle};

use crate::addr::SockAddrIn;
use crate::bsd::Stack;
use crate::consts::{SOCK_CLOEXEC, SOCK_NONBLOCK};
use crate::errno::{track, Errno};
use crate::fdtable::{ConnectState, OpenFile, SocketKind, RCV_SHUTDOWN};

/// While `close` lingers, how often it looks again at a connection the engine may
/// have freed without a wake-up (an orphan that reached CLOSED, e.g. from LAST-ACK
/// or on a RST, is dropped from the socket table together with its pending
/// wake-up). Ordinary progress (FIN-WAIT-1 to FIN-WAIT-2, CLOSING to TIME-WAIT)
/// wakes `close` at once.
const LINGER_RECHECK: Duration = Duration::from_millis(50);

impl Stack {
    /// `listen(fd, backlog)`: marks a stream socket as accepting connections, with
    /// room for `backlog` of them waiting for `accept` (at most `somaxconn`, 128 by
    /// default; a negative backlog means the maximum, as in Linux; 0 means 1). An
    /// unbound socket is bound to an ephemeral port first. May be called again to
    /// change the backlog.
    ///
    /// When the queue is full, a new connection request is ignored rather than
    /// refused (4.2BSD primer 2.4): the client's retransmitted SYN gets in once
    /// `accept` made room. Here the backlog counts half-open and completed
    /// connections together, so `listen(s, 2)` admits exactly two connections
    /// before the first `accept`.
    ///
    /// Errors: `EOPNOTSUPP` on a datagram socket; `EINVAL` on a socket that is
    /// connected or connecting; `EADDRINUSE` when another socket listens on the
    /// same port (or is connected from it).
    pub fn listen(&self, fd: i32, backlog: i32) -> Result<(), Errno> {
        track(self.listen_inner(fd, backlog))
    }

    fn listen_inner(&self, fd: i32, backlog: i32) -> Result<(), Errno> {
        if let Some(u) = self.unix_file(fd) {
            return self.unix_listen(&u, backlog);
        }
        let file = self.file(fd)?;
        if file.kind != SocketKind::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let mut g = self.lock();
        // Linux (inet_listen): only an unconnected stream socket may listen.
        if file.connect_state() != ConnectState::Unconnected {
            return Err(Errno::EINVAL);
        }
        // Linux takes the backlog as unsigned: a negative one is "the maximum".
        let backlog = if backlog < 0 { i32::MAX } else { backlog };
        g.engine().tcp_listen(file.handle, backlog)?;
        // listen after shutdown(SHUT_RD) on a listener listens again (Linux).
        file.clear_shutdown(RCV_SHUTDOWN);
        g.notify(file.handle);
        Ok(())
    }

    /// `accept(fd, &from, &fromlen)`: takes the next connection from a listening
    /// socket's queue; returns its new descriptor and the client's address.
    ///
    /// Blocks until a connection is ready ("accept normally blocks"), its
    /// `SO_RCVTIMEO` expires (`EWOULDBLOCK`, as in Linux), or `fd` is closed
    /// (`EBADF`) or shut down (`EINVAL`) by another thread. Non-blocking:
    /// `EWOULDBLOCK` when the queue is empty; `select` (read set) and `poll`
    /// (`POLLIN`) say when a connection is ready (the 4.4BSD tutorial's Figure 7c).
    ///
    /// The new socket inherits the listener's options (`SO_KEEPALIVE`,
    /// `SO_LINGER`, `SO_OOBINLINE`, `TCP_NODELAY`, buffer sizes, ...) and timeouts,
    /// but not `O_NONBLOCK` nor the urgent-data handler (as in Linux; see
    /// [`Stack::accept4`] to make it non-blocking).
    ///
    /// Errors: `EINVAL` when `fd` is not listening; `EOPNOTSUPP` on a datagram
    /// socket; `EMFILE` when no descriptor is free (the connection stays queued).
    pub fn accept(&self, fd: i32) -> Result<(i32, SockAddrIn), Errno> {
        track(self.accept_inner(fd, 0))
    }

    /// `accept4(fd, &from, &fromlen, flags)`: [`Stack::accept`] with `flags`:
    /// `SOCK_NONBLOCK` makes the new socket non-blocking; `SOCK_CLOEXEC` is
    /// accepted (no effect); anything else `EINVAL`.
    pub fn accept4(&self, fd: i32, flags: i32) -> Result<(i32, SockAddrIn), Errno> {
        track(self.accept_inner(fd, flags))
    }

    fn accept_inner(&self, fd: i32, flags: i32) -> Result<(i32, SockAddrIn), Errno> {
        if let Some(u) = self.unix_file(fd) {
            // The peer's UNIX name comes from accept_un.
            return self
                .unix_accept(&u, flags)
                .map(|(fd, _)| (fd, SockAddrIn::default()));
        }
        let file = self.file(fd)?;
        if flags & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != 0 {
            return Err(Errno::EINVAL);
        }
        if file.kind != SocketKind::Tcp {
            return Err(Errno::EOPNOTSUPP);
        }
        let h = file.handle;
        let listener = &file;
        self.block_on(fd, &file, file.nonblocking(), file.recv_timeout(), |g| {
            if listener.shutdown_bits() & RCV_SHUTDOWN != 0 {
                return Err(Errno::EINVAL);
            }
            // Linux reserves the descriptor before it dequeues the connection, so
            // EMFILE leaves the connection queued.
            if !self.fds().has_room() && g.engine_ref().tcp_state(h)? == State::Listen {
                return Err(Errno::EMFILE);
            }
            let now = g.now();
            let (child, remote) = match g.engine().tcp_accept(now, h) {
                Ok(c) => c,
                Err(NetError::WouldBlock) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let new = Arc::new(OpenFile::new(
                SocketKind::Tcp,
                child,
                flags & SOCK_NONBLOCK != 0,
            ));
            new.set_recv_timeout(listener.recv_timeout());
            new.set_send_timeout(listener.send_timeout());
            new.set_connect_state(ConnectState::Connected);
            // All insertions happen under the engine lock, so the room checked
            // above is still there; should it not be, the connection is reset
            // rather than leaked.
            match self.fds().insert(new) {
                Ok(newfd) => Ok(Some((newfd, SockAddrIn::from(remote)))),
                Err(e) => {
                    let _ = g.engine().close(now, child);
                    Err(e)
                }
            }
        })
    }

    /// The stream side of `connect` (see [`Stack::connect`]), after Linux's
    /// `inet_stream_connect`.
    pub(crate) fn stream_connect(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        addr: &SockAddrIn,
    ) -> Result<(), Errno> {
        if addr.is_unspec() {
            // Linux disconnects the socket (an abort); see the crate's list of
            // departures.
            return Err(Errno::EAFNOSUPPORT);
        }
        let remote = addr.to_socket_addr()?;
        let h = file.handle;
        let nonblocking = file.nonblocking();
        let first = {
            let mut g = self.lock();
            match file.connect_state() {
                ConnectState::Connected => return Err(Errno::EISCONN),
                // A second call reports on the attempt under way (below).
                ConnectState::Connecting => false,
                ConnectState::Unconnected => {
                    if g.engine_ref().tcp_state(h)? == State::Listen {
                        return Err(Errno::EISCONN);
                    }
                    let now = g.now();
                    match g.engine().tcp_connect(now, h, remote) {
                        Err(NetError::InProgress) => {}
                        Ok(()) => {
                            file.set_connect_state(ConnectState::Connected);
                            return Ok(());
                        }
                        // Linux: no free ephemeral port, or the 4-tuple is taken.
                        Err(NetError::AddrInUse | NetError::PortsExhausted) => {
                            return Err(Errno::EADDRNOTAVAIL)
                        }
                        Err(e) => return Err(e.into()),
                    }
                    file.set_connect_state(ConnectState::Connecting);
                    if nonblocking {
                        return Err(Errno::EINPROGRESS);
                    }
                    true
                }
            }
        };
        let outcome = self.block_on(fd, file, nonblocking, file.send_timeout(), |g| {
            match g.engine_ref().tcp_state(h)? {
                State::SynSent | State::SynReceived => Ok(None),
                State::Closed => {
                    let e = g.engine().tcp_take_error(h)?;
                    Err(e.map_or(Errno::ECONNABORTED, Errno::from))
                }
                _ => Ok(Some(())),
            }
        });
        match outcome {
            Ok(()) => {
                file.set_connect_state(ConnectState::Connected);
                Ok(())
            }
            // Still under way: a timeout (SO_SNDTIMEO) or a non-blocking second call.
            Err(Errno::EAGAIN) if first => Err(Errno::EINPROGRESS),
            Err(Errno::EAGAIN) => Err(Errno::EALREADY),
            // Interrupted: the handshake goes on (Linux), a later call says EALREADY.
            Err(e @ (Errno::EBADF | Errno::ENETDOWN | Errno::EINTR)) => Err(e),
            Err(e) => {
                file.set_connect_state(ConnectState::Unconnected);
                Err(e)
            }
        }
    }

    /// `sendto(MSG_FASTOPEN)` on a stream socket (see [`Stack::sendto`]).
    pub(crate) fn stream_fast_open(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        buf: &[u8],
        flags: i32,
        to: std::net::SocketAddrV4,
    ) -> Result<usize, Errno> {
        if file.connect_state() != ConnectState::Unconnected {
            // Connecting still: EALREADY (Linux); connected: a plain send.
            let state = self.lock().engine_ref().tcp_state(file.handle)?;
            if matches!(state, State::SynSent | State::SynReceived) {
                return Err(Errno::EALREADY);
            }
            return self.stream_send(fd, file, buf, flags);
        }
        let h = file.handle;
        let nonblocking = file.nonblocking() || flags & crate::consts::MSG_DONTWAIT != 0;
        // Bytes the SYN carries (non-blocking), or queued in all (blocking).
        let queued = {
            let mut g = self.lock();
            if g.engine_ref().tcp_state(h)? == State::Listen {
                return Err(Errno::EISCONN);
            }
            let now = g.now();
            match g
                .engine()
                .tcp_connect_fast_open(now, h, Some(to), buf, !nonblocking)
            {
                Ok(n) => n,
                Err(NetError::InProgress) => 0,
                Err(NetError::AddrInUse | NetError::PortsExhausted) => {
                    return Err(Errno::EADDRNOTAVAIL)
                }
                Err(e) => return Err(e.into()),
            }
        };
        file.set_connect_state(ConnectState::Connecting);
        if nonblocking {
            return if queued > 0 {
                Ok(queued)
            } else {
                Err(Errno::EINPROGRESS)
            };
        }
        // Blocking, as Linux: the handshake first, then what the send buffer
        // did not take as a send.
        self.stream_connect(fd, file, &SockAddrIn::from(to))?;
        if queued == buf.len() {
            return Ok(queued);
        }
        match self.stream_send(fd, file, &buf[queued..], flags) {
            Ok(n) => Ok(queued + n),
            Err(_) if queued > 0 => Ok(queued),
            Err(e) => Err(e),
        }
    }

    /// `close` with `SO_LINGER` on and a time: waits (holding no descriptor) until
    /// the connection is no longer sending (not FIN-WAIT-1, CLOSING or LAST-ACK:
    /// Linux's `sk_stream_wait_close`), or `time` passed.
    pub(crate) fn linger(mut g: StackGuard<'_>, h: SocketHandle, time: Duration) {
        let deadline = Instant::now().checked_add(time);
        loop {
            match g.engine_ref().tcp_state(h) {
                Ok(State::FinWait1 | State::Closing | State::LastAck) => {}
                _ => return, // done, or freed by the engine
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return;
            }
            let recheck = now + LINGER_RECHECK;
            let until = deadline.map_or(recheck, |d| d.min(recheck));
            if g.wait(h, Some(until)) == WaitOutcome::Stopped {
                return;
            }
        }
    }
}
