//! Scatter/gather I/O of the BSD face: `readv`, `writev`, `sendmsg` and
//! `recvmsg` (4.4BSD tutorial, section on `sendmsg`/`recvmsg`). No ancillary
//! data is sent or received (`msg_control` is empty: the stack has no
//! descriptor passing, that is the UNIX domain's).

use std::io::{IoSlice, IoSliceMut};

use crate::addr::SockAddrIn;
use crate::bsd::Stack;
use crate::consts::MSG_TRUNC;
use crate::errno::{track, Errno};
use crate::fdtable::SocketKind;

/// `struct msghdr` for [`Stack::sendmsg`]: where to (`msg_name`, datagram
/// sockets only; `None` for a connected one) and what (`msg_iov`).
#[derive(Debug)]
pub struct MsgHdr<'a> {
    /// The destination, or `None`.
    pub msg_name: Option<SockAddrIn>,
    /// The pieces, sent as one message (one datagram on a datagram socket).
    pub msg_iov: &'a [IoSlice<'a>],
}

/// What [`Stack::recvmsg`] filled in besides the buffers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvMsg {
    /// Bytes placed in the buffers.
    pub len: usize,
    /// The sender (datagram sockets; zeros with family `AF_UNSPEC` otherwise).
    pub msg_name: SockAddrIn,
    /// `MSG_TRUNC` when a datagram did not fit the buffers (the rest is lost).
    pub msg_flags: i32,
}

fn gather(iov: &[IoSlice<'_>]) -> Vec<u8> {
    let mut v = Vec::with_capacity(iov.iter().map(|b| b.len()).sum());
    for b in iov {
        v.extend_from_slice(b);
    }
    v
}

fn scatter(data: &[u8], iov: &mut [IoSliceMut<'_>]) {
    let mut rest = data;
    for b in iov {
        if rest.is_empty() {
            break;
        }
        let n = rest.len().min(b.len());
        b[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
}

impl Stack {
    /// `writev(fd, iov, iovcnt)`: the pieces in order, as one `write` (one
    /// datagram on a datagram socket).
    pub fn writev(&self, fd: i32, iov: &[IoSlice<'_>]) -> Result<usize, Errno> {
        self.write(fd, &gather(iov))
    }

    /// `readv(fd, iov, iovcnt)`: one `read`, spread over the pieces in order.
    pub fn readv(&self, fd: i32, iov: &mut [IoSliceMut<'_>]) -> Result<usize, Errno> {
        let mut buf = vec![0u8; iov.iter().map(|b| b.len()).sum()];
        let n = self.read(fd, &mut buf)?;
        scatter(&buf[..n], iov);
        Ok(n)
    }

    /// `sendmsg(fd, &msg, flags)`: `sendto` with `msg_name`, else `send`, of the
    /// gathered pieces.
    pub fn sendmsg(&self, fd: i32, msg: &MsgHdr<'_>, flags: i32) -> Result<usize, Errno> {
        let data = gather(msg.msg_iov);
        match &msg.msg_name {
            Some(to) => self.sendto(fd, &data, flags, to),
            None => self.send(fd, &data, flags),
        }
    }

    /// `recvmsg(fd, &msg, flags)`: `recvfrom` spread over the pieces; a datagram
    /// longer than all of them sets `MSG_TRUNC` in `msg_flags`, as Linux does.
    pub fn recvmsg(
        &self,
        fd: i32,
        iov: &mut [IoSliceMut<'_>],
        flags: i32,
    ) -> Result<RecvMsg, Errno> {
        let room: usize = iov.iter().map(|b| b.len()).sum();
        let mut buf = vec![0u8; room];
        // On a datagram socket MSG_TRUNC asks for the datagram's real length.
        let datagram = match self.unix_file(fd) {
            Some(u) => u.kind == crate::unix::UnixKind::Dgram,
            None => self.file(fd)?.kind == SocketKind::Udp,
        };
        let ask = if datagram { flags | MSG_TRUNC } else { flags };
        let (real, from) = self.recvfrom(fd, &mut buf, ask)?;
        let len = real.min(room);
        scatter(&buf[..len], iov);
        let truncated = real > room;
        track(Ok(RecvMsg {
            len: if flags & MSG_TRUNC != 0 { real } else { len },
            msg_name: from,
            msg_flags: if truncated { MSG_TRUNC } else { 0 },
        }))
    }
}
