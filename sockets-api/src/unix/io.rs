//! Data through UNIX-domain descriptors: writing and reading streams, pipes and
//! datagrams, and shutting a direction.

use super::{addr_of, UnixFile, UnixKind, DGRAM_MAX, DGRAM_QUEUE, STREAM_BUFFER};
use crate::addr::SockAddrUn;
use crate::bsd::Stack;
use crate::consts::{
    MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR,
};
use crate::errno::Errno;
use std::sync::atomic::Ordering;

impl Stack {
    /// Writes on a UNIX-domain descriptor: a stream or pipe takes all of `buf` in
    /// blocking mode; a datagram goes to `to`, or to the connected peer.
    pub(crate) fn unix_send(
        &self,
        fd: i32,
        f: &UnixFile,
        buf: &[u8],
        flags: i32,
        to: Option<&SockAddrUn>,
    ) -> Result<usize, Errno> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblocking = f.nonblocking.load(Ordering::Relaxed) || flags & MSG_DONTWAIT != 0;
        let r = match f.kind {
            UnixKind::PipeRead => Err(Errno::EBADF),
            UnixKind::Dgram => {
                if buf.len() > DGRAM_MAX {
                    return Err(Errno::EMSGSIZE);
                }
                let to = to.map(|a| a.path_bytes().to_vec());
                self.unix_wait(nonblocking, |u| {
                    let me = u.eps.get(&f.id).ok_or(Errno::EBADF)?;
                    if me.shut_wr {
                        return Err(Errno::EPIPE);
                    }
                    let from = me.name.clone();
                    let target = match (&to, me.peer) {
                        (Some(p), _) => *u.names.get(p).ok_or(Errno::ENOENT)?,
                        (None, Some(p)) => p,
                        (None, None) => return Err(Errno::ENOTCONN),
                    };
                    let dst = u.eps.get_mut(&target).ok_or(Errno::ECONNREFUSED)?;
                    if dst.shut_rd {
                        return Err(Errno::EPIPE);
                    }
                    if dst.queue.len() >= DGRAM_QUEUE {
                        return Ok(None);
                    }
                    dst.queue.push_back((buf.to_vec(), from));
                    Ok(Some(buf.len()))
                })
            }
            UnixKind::Stream | UnixKind::PipeWrite => {
                let mut sent = 0;
                let r = self.unix_wait(nonblocking, |u| {
                    let me = u.eps.get(&f.id).ok_or(Errno::EBADF)?;
                    if !me.connected && f.kind == UnixKind::Stream {
                        return Err(Errno::ENOTCONN);
                    }
                    let shut = me.shut_wr;
                    let c = me
                        .tx
                        .and_then(|c| u.chans.get_mut(&c))
                        .ok_or(Errno::ENOTCONN)?;
                    if shut || c.readers == 0 {
                        return Err(Errno::EPIPE);
                    }
                    let room = STREAM_BUFFER.saturating_sub(c.buf.len());
                    let n = room.min(buf.len() - sent);
                    c.buf.extend(&buf[sent..sent + n]);
                    sent += n;
                    if sent == buf.len() || (nonblocking && sent > 0) {
                        return Ok(Some(sent));
                    }
                    Ok(None)
                });
                match r {
                    Err(_) if sent > 0 => Ok(sent),
                    r => r,
                }
            }
        };
        if r == Err(Errno::EPIPE) && flags & crate::consts::MSG_NOSIGNAL == 0 {
            self.raise_sigpipe(fd);
        }
        r
    }

    /// Reads on a UNIX-domain descriptor; the sender's name for a datagram.
    pub(crate) fn unix_recv(
        &self,
        f: &UnixFile,
        buf: &mut [u8],
        flags: i32,
    ) -> Result<(usize, SockAddrUn), Errno> {
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let nonblocking = f.nonblocking.load(Ordering::Relaxed) || flags & MSG_DONTWAIT != 0;
        let peek = flags & MSG_PEEK != 0;
        match f.kind {
            UnixKind::PipeWrite => Err(Errno::EBADF),
            UnixKind::Dgram => self.unix_wait(nonblocking, |u| {
                let me = u.eps.get_mut(&f.id).ok_or(Errno::EBADF)?;
                let Some((data, from)) = (if peek {
                    me.queue.front().cloned()
                } else {
                    me.queue.pop_front()
                }) else {
                    return if me.shut_rd {
                        Ok(Some((0, SockAddrUn::default())))
                    } else {
                        Ok(None)
                    };
                };
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                let len = if flags & MSG_TRUNC != 0 {
                    data.len()
                } else {
                    n
                };
                Ok(Some((len, addr_of(&from))))
            }),
            UnixKind::Stream | UnixKind::PipeRead => {
                let mut got = 0;
                let want_all = flags & MSG_WAITALL != 0 && !peek;
                let r = self.unix_wait(nonblocking, |u| {
                    let me = u.eps.get(&f.id).ok_or(Errno::EBADF)?;
                    if f.kind == UnixKind::Stream && !me.connected {
                        return Err(if me.listening.is_some() {
                            Errno::EINVAL
                        } else {
                            Errno::ENOTCONN
                        });
                    }
                    let shut = me.shut_rd;
                    let Some(c) = me.rx.and_then(|c| u.chans.get_mut(&c)) else {
                        return Ok(Some(got));
                    };
                    if !c.buf.is_empty() && got < buf.len() {
                        let n = c.buf.len().min(buf.len() - got);
                        for (i, b) in c.buf.iter().take(n).enumerate() {
                            buf[got + i] = *b;
                        }
                        if !peek {
                            c.buf.drain(..n);
                        }
                        got += n;
                        if !want_all || got == buf.len() {
                            return Ok(Some(got));
                        }
                    }
                    if c.writers == 0 || shut || buf.is_empty() {
                        return Ok(Some(got)); // end of file (after what was there)
                    }
                    Ok(None)
                });
                match r {
                    Err(_) if got > 0 => Ok(got),
                    r => r,
                }
                .map(|n| (n, SockAddrUn::default()))
            }
        }
    }

    pub(crate) fn unix_shutdown(&self, f: &UnixFile, how: i32) -> Result<(), Errno> {
        if !matches!(how, SHUT_RD | SHUT_WR | SHUT_RDWR) {
            return Err(Errno::EINVAL);
        }
        if matches!(f.kind, UnixKind::PipeRead | UnixKind::PipeWrite) {
            return Err(Errno::ENOTSOCK);
        }
        self.unix_now(|u| {
            let e = u.eps.get_mut(&f.id).ok_or(Errno::EBADF)?;
            if f.kind == UnixKind::Stream && !e.connected {
                return Err(Errno::ENOTCONN);
            }
            let (rx, tx) = (e.rx, e.tx);
            let close_rd = how != SHUT_WR && !e.shut_rd;
            let close_wr = how != SHUT_RD && !e.shut_wr;
            e.shut_rd |= close_rd;
            e.shut_wr |= close_wr;
            if close_rd {
                u.close_reading(rx);
            }
            if close_wr {
                u.close_writing(tx);
            }
            Ok(())
        })
    }
}
