//! Data transfer: `send`, `sendto`, `write`, `recv`, `recvfrom`, `read`.
//!
//! Blocking calls wait on the socket's wake-up (never spin) until data comes, the
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` timeout expires (`EWOULDBLOCK`), or the descriptor is
//! closed by another thread (`EBADF`). `O_NONBLOCK`, `FIONBIO` and `MSG_DONTWAIT`
//! make them return `EWOULDBLOCK` instead of waiting.

use std::net::SocketAddrV4;

use stack::NetError;

use crate::addr::SockAddrIn;
use crate::bsd::Stack;
use crate::consts::{AF_INET, MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_TRUNC};
use crate::errno::{track, Errno};
use crate::fdtable::{SocketKind, RCV_SHUTDOWN, SEND_SHUTDOWN};

impl Stack {
    /// `send(fd, buf, len, flags)`: sends on a connected socket. A datagram socket
    /// without a peer gives `EDESTADDRREQ` (Linux; BSD says `ENOTCONN`).
    ///
    /// Flags: `MSG_DONTWAIT` (do not block), `MSG_OOB` (`EOPNOTSUPP` on datagram
    /// sockets); others are accepted and ignored. Other errors: `EMSGSIZE` above
    /// 65507 bytes, `EPIPE` after `shutdown(SHUT_WR)`, a pending asynchronous
    /// error such as `ECONNREFUSED`, `EACCES` for broadcast without `SO_BROADCAST`.
    pub fn send(&self, fd: i32, buf: &[u8], flags: i32) -> Result<usize, Errno> {
        track(self.send_inner(fd, buf, flags, None))
    }

    /// `write(fd, buf, len)`: `send` with no flags.
    pub fn write(&self, fd: i32, buf: &[u8]) -> Result<usize, Errno> {
        track(self.send_inner(fd, buf, 0, None))
    }

    /// `sendto(fd, buf, len, flags, &to, sizeof to)`: sends one datagram to `to`
    /// (even on a connected socket, as Linux allows). An unbound socket is bound to
    /// an ephemeral port first (`EAGAIN` if none is free). `to` must be `AF_INET`
    /// (`AF_UNSPEC` is taken as `AF_INET`, as Linux does; other families
    /// `EAFNOSUPPORT`); port 0 or address 0.0.0.0 `EINVAL`. Other errors as
    /// [`Stack::send`].
    pub fn sendto(&self, fd: i32, buf: &[u8], flags: i32, to: &SockAddrIn) -> Result<usize, Errno> {
        track(self.sendto_checked(fd, buf, flags, to))
    }

    /// `sendto` with the address as C bytes and length: `EINVAL` when shorter than a
    /// `sockaddr_in`, then as [`Stack::sendto`].
    pub fn sendto_raw(&self, fd: i32, buf: &[u8], flags: i32, to: &[u8]) -> Result<usize, Errno> {
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
        self.file(fd)?;
        if i32::from(to.sin_family) != AF_INET && !to.is_unspec() {
            return Err(Errno::EAFNOSUPPORT);
        }
        self.send_inner(fd, buf, flags, Some(SocketAddrV4::from(*to)))
    }

    fn send_inner(
        &self,
        fd: i32,
        buf: &[u8],
        flags: i32,
        to: Option<SocketAddrV4>,
    ) -> Result<usize, Errno> {
        let file = self.file(fd)?;
        match file.kind {
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

    /// `recv(fd, buf, len, flags)`: receives one datagram into `buf`; a datagram
    /// longer than `buf` is truncated and the rest discarded. Returns the bytes
    /// copied, or with `MSG_TRUNC` the datagram's real length (Linux).
    ///
    /// Flags: `MSG_PEEK` (leave the datagram queued), `MSG_DONTWAIT` (do not block),
    /// `MSG_TRUNC`, `MSG_WAITALL` (no effect on datagrams), `MSG_OOB` (`EOPNOTSUPP`
    /// on datagram sockets, as in BSD). A pending asynchronous error (e.g.
    /// `ECONNREFUSED` on a connected socket) is reported, once. After
    /// `shutdown(SHUT_RD)` an empty queue reads as 0 bytes.
    pub fn recv(&self, fd: i32, buf: &mut [u8], flags: i32) -> Result<usize, Errno> {
        track(self.recv_inner(fd, buf, flags).map(|(n, _)| n))
    }

    /// `read(fd, buf, len)`: `recv` with no flags.
    pub fn read(&self, fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
        track(self.recv_inner(fd, buf, 0).map(|(n, _)| n))
    }

    /// `recvfrom(fd, buf, len, flags, &from, &fromlen)`: [`Stack::recv`] that also
    /// returns the sender's address (all zeros, family `AF_UNSPEC`, for the 0-byte
    /// read after `shutdown(SHUT_RD)`).
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
        let file = self.file(fd)?;
        match file.kind {
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
}
