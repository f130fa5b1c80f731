//! Data transfer: `send`, `sendto`, `write`, `recv`, `recvfrom`, `read`.
//!
//! Blocking calls wait on the socket's wake-up (never spin) until data comes, the
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` timeout expires (`EWOULDBLOCK`), or the descriptor is
//! closed by another thread (`EBADF`). `O_NONBLOCK`, `FIONBIO` and `MSG_DONTWAIT`
//! make them return `EWOULDBLOCK` instead of waiting.
//!
//! Streams follow Linux's `tcp_sendmsg` and `tcp_recvmsg`: a blocking send returns
//! once everything is queued (a partial count only when a timeout or an error
//! interrupts it after some bytes went in); a receive returns what is there, never
//! crossing the urgent mark; an error that comes after some bytes were moved is
//! left for the next call.

use std::net::SocketAddrV4;
use std::sync::Arc;

use stack::tcp::{RecvFlags, SendFlags};
use stack::NetError;

use crate::addr::SockAddrIn;
use crate::bsd::Stack;
use crate::consts::{
    AF_INET, MSG_DONTWAIT, MSG_EOR, MSG_FASTOPEN, MSG_MORE, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK,
    MSG_TRUNC, MSG_WAITALL,
};
use crate::errno::{track, Errno};
use crate::fdtable::{OpenFile, SocketKind, RCV_SHUTDOWN, SEND_SHUTDOWN};

impl Stack {
    /// `send(fd, buf, len, flags)`: sends on a connected socket.
    ///
    /// On a **stream** socket, a blocking `send` returns when all of `buf` is queued
    /// (waiting for room in the send buffer as long as needed, as Linux does); it
    /// returns fewer bytes only if `SO_SNDTIMEO` expires or an error comes after
    /// some were queued (`EWOULDBLOCK` or the error if none were). While the
    /// connection is still being set up it waits for it. Non-blocking: as much as
    /// fits, or `EWOULDBLOCK`. `MSG_OOB` sends `buf` with its last byte urgent
    /// (the peer's `recv(MSG_OOB)` gets that byte). Errors: `ENOTCONN` when never
    /// connected; `EPIPE` after `shutdown(SHUT_WR)` or once the connection is
    /// gone, which also calls the `SIGPIPE` handler
    /// ([`Stack::set_sigpipe_handler`]) unless `MSG_NOSIGNAL` is given; a pending
    /// error first (`ECONNRESET` after the peer reset the connection, then
    /// `EPIPE`; `ETIMEDOUT` when retransmissions went unanswered).
    ///
    /// On a **datagram** socket, sends one datagram; without a peer it gives
    /// `EDESTADDRREQ` (Linux; BSD says `ENOTCONN`). `MSG_OOB` is `EOPNOTSUPP`. Other
    /// errors: `EMSGSIZE` above 65507 bytes, `EPIPE` after `shutdown(SHUT_WR)`, a
    /// pending asynchronous error such as `ECONNREFUSED`, `EACCES` for broadcast
    /// without `SO_BROADCAST`.
    ///
    /// Flags: `MSG_DONTWAIT` (do not block), `MSG_OOB`, `MSG_NOSIGNAL`,
    /// `MSG_MORE`, `MSG_EOR` (a stream segment never crosses the end); others are
    /// accepted and ignored.
    pub fn send(&self, fd: i32, buf: &[u8], flags: i32) -> Result<usize, Errno> {
        track(self.send_inner(fd, buf, flags, None))
    }

    /// `write(fd, buf, len)`: `send` with no flags.
    pub fn write(&self, fd: i32, buf: &[u8]) -> Result<usize, Errno> {
        track(self.send_inner(fd, buf, 0, None))
    }

    /// `sendto(fd, buf, len, flags, &to, sizeof to)`: sends one datagram to `to`
    /// (even on a connected socket, as Linux allows). On a stream socket `to` is
    /// ignored and this is [`Stack::send`], as in Linux, except with
    /// `MSG_FASTOPEN` on an unconnected socket: that connects to `to` with TCP
    /// Fast Open (RFC 7413), the data on the SYN when a cookie from that server
    /// is known. Non-blocking, it returns what the SYN carries, or
    /// `EINPROGRESS` when the SYN only asks for a cookie (send the data once
    /// connected); blocking, it waits for the connection and sends the rest. An unbound socket is bound to
    /// an ephemeral port first (`EAGAIN` if none is free). `to` must be `AF_INET`
    /// (`AF_UNSPEC` is taken as `AF_INET`, as Linux does; other families
    /// `EAFNOSUPPORT`); port 0 `EINVAL`. Address 0.0.0.0 (`INADDR_ANY`) on a
    /// datagram socket broadcasts, as in the 4.2BSD primer (5.5): it stands for
    /// 255.255.255.255 and needs `SO_BROADCAST` (`EACCES` otherwise; Linux sends
    /// it to the host itself). Other errors as [`Stack::send`].
    pub fn sendto(&self, fd: i32, buf: &[u8], flags: i32, to: &SockAddrIn) -> Result<usize, Errno> {
        track(self.sendto_checked(fd, buf, flags, to))
    }

    /// `sendto` with the address as C bytes and length: `EINVAL` when shorter than a
    /// `sockaddr_in`, then as [`Stack::sendto`].
    pub fn sendto_raw(&self, fd: i32, buf: &[u8], flags: i32, to: &[u8]) -> Result<usize, Errno> {
        if let Some(u) = self.unix_file(fd) {
            return track(
                crate::addr::SockAddrUn::from_bytes(to)
                    .and_then(|a| self.unix_send(fd, &u, buf, flags, Some(&a))),
            );
        }
        track(
            self.file(fd)
                .and_then(|_| SockAddrIn::from_bytes(to))
                .and_then(|a| self.sendto_checked(fd, buf, flags, &a)),
        )
    }

    fn sendto_checked(
        &self,
        fd: i32,
        buf: &[u8],
        flags: i32,
        to: &SockAddrIn,
    ) -> Result<usize, Errno> {
        if self.unix_file(fd).is_some() {
            return Err(Errno::EINVAL); // an Internet address for a UNIX socket
        }
        let file = self.file(fd)?;
        if i32::from(to.sin_family) != AF_INET && !to.is_unspec() {
            return Err(Errno::EAFNOSUPPORT);
        }
        let mut to = SocketAddrV4::from(*to);
        // The 4.2BSD primer (5.5) broadcasts by sending to INADDR_ANY: that is the
        // limited broadcast address, with the broadcast rule (SO_BROADCAST).
        if file.kind == SocketKind::Udp && to.ip().is_unspecified() && to.port() != 0 {
            to.set_ip(std::net::Ipv4Addr::BROADCAST);
        }
        self.send_inner(fd, buf, flags, Some(to))
    }

    fn send_inner(
        &self,
        fd: i32,
        buf: &[u8],
        flags: i32,
        to: Option<SocketAddrV4>,
    ) -> Result<usize, Errno> {
        if let Some(u) = self.unix_file(fd) {
            return self.unix_send(fd, &u, buf, flags, None);
        }
        let file = self.file(fd)?;
        match file.kind {
            SocketKind::Tcp => match to {
                Some(to) if flags & MSG_FASTOPEN != 0 => {
                    self.stream_fast_open(fd, &file, buf, flags, to)
                }
                _ => self.stream_send(fd, &file, buf, flags),
            },
            SocketKind::Udp => {
                if flags & MSG_OOB != 0 {
                    return Err(Errno::EOPNOTSUPP);
                }
                if file.shutdown_bits() & SEND_SHUTDOWN != 0 {
                    return Err(Errno::EPIPE);
                }
                let nonblocking = file.nonblocking() || flags & MSG_DONTWAIT != 0;
                let h = file.handle;
                self.block_on(fd, &file, nonblocking, file.send_timeout(), |g| {
                    let now = g.now();
                    match g.engine().udp_send_to(now, h, buf, to) {
                        Ok(n) => Ok(Some(n)),
                        Err(NetError::WouldBlock) => Ok(None),
                        Err(e) => Err(e.into()),
                    }
                })
            }
        }
    }

    /// `recv(fd, buf, len, flags)`: receives data into `buf`.
    ///
    /// On a **stream** socket: waits until some data is there, then returns what
    /// fits (never reading across the urgent mark); 0 means end of file (the peer
    /// shut down or closed, after everything it sent was read). `MSG_PEEK` leaves
    /// the data queued; `MSG_WAITALL` waits until `buf` is full, unless end of file,
    /// an error, the urgent mark or `SO_RCVTIMEO` come first (then what was read so
    /// far; the error is reported by the next call); `MSG_OOB` reads the urgent
    /// byte (never waiting, as in Linux): `EINVAL` when there is none, it was read
    /// already, or `SO_OOBINLINE` is on; `EWOULDBLOCK` when it was announced but
    /// has not arrived. Errors: `ENOTCONN` when never connected; `ECONNRESET`
    /// once after a reset (then 0); `ETIMEDOUT` once after the connection timed out.
    ///
    /// On a **datagram** socket: receives one datagram; a datagram longer than
    /// `buf` is truncated and the rest discarded. Returns the bytes copied, or with
    /// `MSG_TRUNC` the datagram's real length (Linux). `MSG_WAITALL` has no effect,
    /// `MSG_OOB` is `EOPNOTSUPP` (as in BSD). A pending asynchronous error (e.g.
    /// `ECONNREFUSED` on a connected socket) is reported, once. After
    /// `shutdown(SHUT_RD)` an empty queue reads as 0 bytes.
    ///
    /// `MSG_DONTWAIT` does not wait, on both.
    pub fn recv(&self, fd: i32, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
        track(self.recv_inner(fd, buf, flags).map(|(n, _)| n))
    }

    /// `read(fd, buf, len)`: `recv` with no flags.
    pub fn read(&self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        track(self.recv_inner(fd, buf, 0).map(|(n, _)| n))
    }

    /// `recvfrom(fd, buf, len, flags, &from, &fromlen)`: [`Stack::recv`] that also
    /// returns the sender's address (all zeros, family `AF_UNSPEC`, for the 0-byte
    /// read after `shutdown(SHUT_RD)`, and on stream sockets, where Linux leaves
    /// `from` unset: use [`Stack::getpeername`]).
    pub fn recvfrom(
        &self,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
    ) -> Result<(usize, SockAddrIn), Errno> {
        track(
            self.recv_inner(fd, buf, flags)
                .map(|(n, from)| (n, from.map(SockAddrIn::from).unwrap_or_default())),
        )
    }

    fn recv_inner(
        &self,
        fd: i32,
        buf: &mut [u8],
        flags: i32,
    ) -> Result<(usize, Option<SocketAddrV4>), Errno> {
        if let Some(u) = self.unix_file(fd) {
            return self.unix_recv(&u, buf, flags).map(|(n, _)| (n, None));
        }
        let file = self.file(fd)?;
        match file.kind {
            SocketKind::Tcp => Ok((self.stream_recv(fd, &file, buf, flags)?, None)),
            SocketKind::Udp => {
                if flags & MSG_OOB != 0 {
                    return Err(Errno::EOPNOTSUPP);
                }
                let nonblocking = file.nonblocking() || flags & MSG_DONTWAIT != 0;
                let peek = flags & MSG_PEEK != 0;
                let real_length = flags & MSG_TRUNC != 0;
                let h = file.handle;
                let shut = &file;
                self.block_on(fd, &file, nonblocking, file.recv_timeout(), |g| {
                    match g.engine().udp_recv_from(h, buf, peek) {
                        Ok(r) => Ok(Some((
                            if real_length { r.len } else { r.copied },
                            Some(r.from),
                        ))),
                        Err(NetError::WouldBlock) if shut.shutdown_bits() & RCV_SHUTDOWN != 0 => {
                            Ok(Some((0, None)))
                        }
                        Err(NetError::WouldBlock) => Ok(None),
                        Err(e) => Err(e.into()),
                    }
                })
            }
        }
    }

    /// `send` on a stream socket (see [`Stack::send`]).
    pub(crate) fn stream_send(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        buf: &[u8],
        flags: i32,
    ) -> Result<usize, Errno> {
        let nonblocking = file.nonblocking() || flags & MSG_DONTWAIT != 0;
        let send_flags = SendFlags {
            oob: flags & MSG_OOB != 0,
            more: flags & MSG_MORE != 0,
            eor: flags & MSG_EOR != 0,
        };
        let h = file.handle;
        let mut sent = 0;
        // A blocking send that starts a deferred Fast Open connect (its SYN
        // carries the data) returns once the connection is made, as Linux's.
        // (Learnt on the first pass, under the lock the send takes anyway.)
        let mut deferred = None;
        let r = self.block_on(fd, file, nonblocking, file.send_timeout(), |g| {
            let now = g.now();
            let deferred = *deferred.get_or_insert_with(|| {
                !nonblocking && g.engine_ref().tcp_state(h) == Ok(stack::tcp::State::SynSent)
            });
            if deferred && sent == buf.len() && sent > 0 {
                let state = g.engine_ref().tcp_state(h)?;
                let connecting = matches!(
                    state,
                    stack::tcp::State::SynSent | stack::tcp::State::SynReceived
                );
                return Ok(if connecting { None } else { Some(()) });
            }
            loop {
                // Linux: an error after some bytes were queued ends the call with
                // the count and stays pending for the next call.
                if sent > 0 && g.engine_ref().readiness(h)?.error {
                    return Ok(Some(()));
                }
                // The deferred connect's SYN takes what fits, the rest is queued
                // behind it (its ACK of the SYN-ACK then rides on that data).
                let r = if deferred && sent == 0 {
                    match g.engine().tcp_connect_fast_open(now, h, None, buf, true) {
                        Err(NetError::Already) => g.engine().tcp_send(now, h, buf, send_flags),
                        r => r,
                    }
                } else {
                    g.engine().tcp_send(now, h, &buf[sent..], send_flags)
                };
                match r {
                    Ok(n) => {
                        sent += n;
                        if sent == buf.len() && !deferred {
                            return Ok(Some(()));
                        }
                        if sent == buf.len() {
                            return Ok(None); // the connection, next
                        }
                        if n == 0 {
                            return Ok(None);
                        }
                    }
                    Err(NetError::WouldBlock) => return Ok(None),
                    Err(e) => return Err(e.into()),
                }
            }
        });
        match r {
            Ok(()) => Ok(sent),
            Err(_) if sent > 0 => Ok(sent),
            Err(Errno::EPIPE) => {
                if flags & MSG_NOSIGNAL == 0 {
                    self.raise_sigpipe(fd);
                }
                Err(Errno::EPIPE)
            }
            Err(e) => Err(e),
        }
    }

    /// `recv` on a stream socket (see [`Stack::recv`]).
    fn stream_recv(
        &self,
        fd: i32,
        file: &Arc<OpenFile>,
        buf: &mut [u8],
        flags: i32,
    ) -> Result<usize, Errno> {
        let h = file.handle;
        let peek = flags & MSG_PEEK != 0;
        if flags & MSG_OOB != 0 {
            // Linux's tcp_recv_urg: "this call should never block, independent of
            // the blocking state of the socket".
            let mut g = self.lock();
            let now = g.now();
            return match g
                .engine()
                .tcp_recv(now, h, buf, RecvFlags { peek, oob: true })
            {
                Ok(n) => Ok(n),
                // No urgent data on a socket that never connected: EINVAL (Linux).
                Err(NetError::NotConnected) => Err(Errno::EINVAL),
                Err(e) => Err(e.into()),
            };
        }
        let nonblocking = file.nonblocking() || flags & MSG_DONTWAIT != 0;
        let wait_all = flags & MSG_WAITALL != 0;
        let want = buf.len();
        let mut got = 0;
        let r = self.block_on(fd, file, nonblocking, file.recv_timeout(), |g| {
            let now = g.now();
            loop {
                if got > 0 && g.engine_ref().readiness(h)?.error {
                    return Ok(Some(())); // the error is for the next call
                }
                let into = if peek { &mut buf[..] } else { &mut buf[got..] };
                match g
                    .engine()
                    .tcp_recv(now, h, into, RecvFlags { peek, oob: false })
                {
                    Ok(0) => return Ok(Some(())), // end of file (or an empty buffer)
                    Ok(n) => {
                        got = if peek { n } else { got + n };
                        if !wait_all || got == want {
                            return Ok(Some(()));
                        }
                        // Linux stops at the urgent mark once it read something.
                        if g.engine_ref().tcp_at_mark(h)? {
                            return Ok(Some(()));
                        }
                        if peek {
                            // Peeking again gives the same bytes: wait for more,
                            // unless the mark holds the rest back.
                            if g.engine_ref().readiness(h)?.urgent {
                                return Ok(Some(()));
                            }
                            return Ok(None);
                        }
                    }
                    Err(NetError::WouldBlock) => return Ok(None),
                    Err(_) if got > 0 && !peek => return Ok(Some(())),
                    Err(e) => return Err(e.into()),
                }
            }
        });
        match r {
            Ok(()) => Ok(got),
            Err(_) if got > 0 => Ok(got),
            Err(e) => Err(e),
        }
    }
}
