//! Socket options (`setsockopt`/`getsockopt`), `fcntl` and `ioctl`.
//!
//! Option values travel as C's bytes: `setsockopt(s, SOL_SOCKET, SO_BROADCAST, &on,
//! sizeof on)` becomes `stack.setsockopt(s, SOL_SOCKET, SO_BROADCAST, &on)` with `on:
//! i32`, and any [`OptionValue`] (an `i32`, a [`TimeVal`], a [`Linger`], or raw
//! bytes of any length) can be passed, so a wrong length is tested as in C.
//!
//! Validation follows Linux: every `SOL_SOCKET` option needs at least an `int`
//! (`EINVAL`), `SO_LINGER` a whole `struct linger`, the timeouts a whole `struct
//! timeval` (and `tv_usec` in 0..1000000, else `EDOM`); `IP_TTL` takes 1..=255 or
//! -1 (the default) as an `int` or a single byte; the `IPPROTO_TCP` options an
//! `int` (`TCP_MAXSEG` in 88..=32767); an unknown option or level is
//! `ENOPROTOOPT`, and so are the get-only options (`SO_TYPE`, `SO_ERROR`).
//! `getsockopt` copies at most the caller's buffer, as the kernel does.

use std::time::Duration;

use stack::tcp::recovery::congestion::CongestionAlgorithm;
use stack::tcp::State;
use stack::SocketOptions;

use crate::bsd::Stack;
use crate::consts::{
    AF_INET, FIONBIO, FIONREAD, F_GETFD, F_GETFL, F_SETFD, F_SETFL, IPPROTO_IP, IPPROTO_TCP,
    IP_TOS, IP_TTL, O_NONBLOCK, O_RDWR, SIOCATMARK, SIOCOUTQ, SOL_SOCKET, SO_ACCEPTCONN,
    SO_BROADCAST, SO_DOMAIN, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_OOBINLINE, SO_PROTOCOL,
    SO_RCVBUF, SO_RCVTIMEO, SO_REUSEADDR, SO_SNDBUF, SO_SNDTIMEO, SO_TYPE, TCP_CA_NAME_MAX,
    TCP_CONGESTION, TCP_INFO, TCP_MAXSEG, TCP_NODELAY,
};
use crate::errno::{track, Errno};
use crate::fdtable::{OpenFile, SocketKind, Timeout};

/// `struct timeval`: the value of `SO_RCVTIMEO` and `SO_SNDTIMEO` (16 bytes, as on
/// 64-bit Linux).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TimeVal {
    /// Seconds.
    pub tv_sec: i64,
    /// Microseconds, 0..1000000.
    pub tv_usec: i64,
}

impl TimeVal {
    /// The `TimeVal` of a duration (saturating at `i64::MAX` seconds).
    pub fn from_duration(d: Duration) -> TimeVal {
        TimeVal {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_usec: i64::from(d.subsec_micros()),
        }
    }

    /// The duration, if the value is valid (non-negative, `tv_usec` below one
    /// million).
    pub fn to_duration(self) -> Option<Duration> {
        let sec = u64::try_from(self.tv_sec).ok()?;
        let usec = u64::try_from(self.tv_usec)
            .ok()
            .filter(|u| *u < 1_000_000)?;
        Some(Duration::from_secs(sec) + Duration::from_micros(usec))
    }
}

/// `struct linger`: the value of `SO_LINGER` (8 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Linger {
    /// Non-zero: linger on close.
    pub l_onoff: i32,
    /// How long, in seconds.
    pub l_linger: i32,
}

/// A value that `setsockopt` and `getsockopt` can carry: the bytes C would pass as
/// `optval` with `optlen`.
pub trait OptionValue {
    /// The bytes given to `setsockopt` (C's `optval`, `optlen`).
    fn to_option_bytes(&self) -> Vec<u8>;
    /// Room for `getsockopt`'s answer (C's initial `*optlen`).
    fn option_capacity(&self) -> usize;
    /// Takes `getsockopt`'s answer (at most [`OptionValue::option_capacity`]
    /// bytes), as the kernel's copy into `optval` would: bytes not written keep their
    /// old value.
    fn store_option_bytes(&mut self, bytes: &[u8]);
}

impl OptionValue for i32 {
    fn to_option_bytes(&self) -> Vec<u8> {
        self.to_ne_bytes().to_vec()
    }
    fn option_capacity(&self) -> usize {
        4
    }
    fn store_option_bytes(&mut self, bytes: &[u8]) {
        let mut b = self.to_ne_bytes();
        let n = bytes.len().min(4);
        b[..n].copy_from_slice(&bytes[..n]);
        *self = i32::from_ne_bytes(b);
    }
}

impl OptionValue for TimeVal {
    fn to_option_bytes(&self) -> Vec<u8> {
        let mut v = self.tv_sec.to_ne_bytes().to_vec();
        v.extend_from_slice(&self.tv_usec.to_ne_bytes());
        v
    }
    fn option_capacity(&self) -> usize {
        16
    }
    fn store_option_bytes(&mut self, bytes: &[u8]) {
        let mut b = self.to_option_bytes();
        let n = bytes.len().min(16);
        b[..n].copy_from_slice(&bytes[..n]);
        *self = timeval_from(&b).unwrap_or_default();
    }
}

impl OptionValue for Linger {
    fn to_option_bytes(&self) -> Vec<u8> {
        let mut v = self.l_onoff.to_ne_bytes().to_vec();
        v.extend_from_slice(&self.l_linger.to_ne_bytes());
        v
    }
    fn option_capacity(&self) -> usize {
        8
    }
    fn store_option_bytes(&mut self, bytes: &[u8]) {
        let mut b = self.to_option_bytes();
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        *self = linger_from(&b).unwrap_or_default();
    }
}

impl OptionValue for [u8] {
    fn to_option_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }
    fn option_capacity(&self) -> usize {
        self.len()
    }
    fn store_option_bytes(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.len());
        self[..n].copy_from_slice(&bytes[..n]);
    }
}

impl<const N: usize> OptionValue for [u8; N] {
    fn to_option_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }
    fn option_capacity(&self) -> usize {
        N
    }
    fn store_option_bytes(&mut self, bytes: &[u8]) {
        self.as_mut_slice().store_option_bytes(bytes);
    }
}

fn int_from(b: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

fn timeval_from(b: &[u8]) -> Option<TimeVal> {
    Some(TimeVal {
        tv_sec: i64::from_ne_bytes(b.get(..8)?.try_into().ok()?),
        tv_usec: i64::from_ne_bytes(b.get(8..16)?.try_into().ok()?),
    })
}

fn linger_from(b: &[u8]) -> Option<Linger> {
    Some(Linger {
        l_onoff: int_from(b)?,
        l_linger: int_from(b.get(4..)?)?,
    })
}

/// Linux's `sock_set_timeout`: (0, 0) waits forever, a negative `tv_sec` does not
/// wait at all, `tv_usec` out of range is `EDOM`.
fn timeout_from(tv: TimeVal) -> Result<Timeout, Errno> {
    if !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EDOM);
    }
    if tv.tv_sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    Ok(TimeVal::to_duration(tv).filter(|d| !d.is_zero()))
}

fn timeval_of(t: Timeout) -> TimeVal {
    t.map(TimeVal::from_duration).unwrap_or_default()
}

impl Stack {
    /// `setsockopt(fd, level, optname, &optval, sizeof optval)`.
    ///
    /// `SOL_SOCKET`: `SO_REUSEADDR`, `SO_BROADCAST`, `SO_KEEPALIVE`, `SO_OOBINLINE`
    /// (`int` flags), `SO_RCVBUF`/`SO_SNDBUF` (`int` bytes; doubled, as Linux does,
    /// and bounded by the stack's configuration; on a stream socket they size the
    /// buffers of connections made after, so set them before `connect` or
    /// `listen`), `SO_LINGER` ([`Linger`]; see [`Stack::close`]),
    /// `SO_RCVTIMEO`/`SO_SNDTIMEO` ([`TimeVal`]; they also bound `accept` and
    /// `connect`). `IPPROTO_IP`: `IP_TTL`, `IP_TOS`.
    /// `IPPROTO_TCP` (stream sockets only; `ENOPROTOOPT` on UDP, as Linux):
    /// `TCP_NODELAY` (`int` flag: no Nagle delay), `TCP_MAXSEG` (`int`, 88..=32767:
    /// clamps the segment size; set it before connecting; Linux's 0 for "no
    /// clamp" is `EINVAL` here). Accepted sockets inherit the listener's options.
    /// See the module documentation for the validation rules.
    pub fn setsockopt<V: OptionValue + ?Sized>(
        &self,
        fd: i32,
        level: i32,
        optname: i32,
        optval: &V,
    ) -> Result<(), Errno> {
        track(self.setsockopt_inner(fd, level, optname, &optval.to_option_bytes()))
    }

    fn setsockopt_inner(&self, fd: i32, level: i32, optname: i32, val: &[u8]) -> Result<(), Errno> {
        let file = self.file(fd)?;
        match level {
            SOL_SOCKET => {
                // Linux checks for a whole int before looking at the option.
                let v = int_from(val).ok_or(Errno::EINVAL)?;
                match optname {
                    SO_RCVTIMEO | SO_SNDTIMEO => {
                        let tv = timeval_from(val).ok_or(Errno::EINVAL)?;
                        let t = timeout_from(tv)?;
                        if optname == SO_RCVTIMEO {
                            file.set_recv_timeout(t);
                        } else {
                            file.set_send_timeout(t);
                        }
                        Ok(())
                    }
                    SO_REUSEADDR | SO_BROADCAST | SO_KEEPALIVE | SO_OOBINLINE | SO_RCVBUF
                    | SO_SNDBUF | SO_LINGER => self.update_options(&file, |o, max| {
                        match optname {
                            SO_REUSEADDR => o.reuse_addr = v != 0,
                            SO_BROADCAST => o.broadcast = v != 0,
                            SO_KEEPALIVE => o.keepalive = v != 0,
                            SO_OOBINLINE => o.oob_inline = v != 0,
                            SO_RCVBUF | SO_SNDBUF => {
                                // Linux: min(val as u32, max) then doubled "to allow
                                // space for bookkeeping overhead".
                                let bytes = (v as u32 as usize).min(max / 2) * 2;
                                if optname == SO_RCVBUF {
                                    o.recv_buffer = bytes;
                                } else {
                                    o.send_buffer = bytes;
                                }
                            }
                            _ => {
                                let l = linger_from(val).ok_or(Errno::EINVAL)?;
                                o.linger = (l.l_onoff != 0)
                                    .then(|| Duration::from_secs(u64::from(l.l_linger as u32)));
                            }
                        }
                        Ok(())
                    }),
                    _ => Err(Errno::ENOPROTOOPT),
                }
            }
            IPPROTO_IP => {
                // Linux's ip_setsockopt: an int, or a single byte; nothing reads as 0.
                let v = match val.len() {
                    0 => 0,
                    1..=3 => i32::from(val[0]),
                    _ => int_from(val).unwrap_or(0),
                };
                match optname {
                    IP_TTL => {
                        if val.is_empty() || (v != -1 && !(1..=255).contains(&v)) {
                            return Err(Errno::EINVAL);
                        }
                        // The engine's 0 means "the stack's default", Linux's -1.
                        self.update_options(&file, |o, _| {
                            o.ttl = if v == -1 { 0 } else { v as u8 };
                            Ok(())
                        })
                    }
                    IP_TOS => self.update_options(&file, |o, _| {
                        o.tos = v as u8;
                        Ok(())
                    }),
                    _ => Err(Errno::ENOPROTOOPT),
                }
            }
            // IPPROTO_TCP: only TCP sockets have TCP options; a datagram socket
            // answers ENOPROTOOPT like any unknown level.
            IPPROTO_TCP if file.kind == SocketKind::Tcp && optname == TCP_CONGESTION => {
                // A name, not an int: Linux reads up to TCP_CA_NAME_MAX - 1 bytes,
                // stopping at a NUL; an unknown name is ENOENT.
                let raw = &val[..val.len().min(TCP_CA_NAME_MAX - 1)];
                let name = raw.split(|&b| b == 0).next().unwrap_or_default();
                let algo = std::str::from_utf8(name)
                    .ok()
                    .and_then(CongestionAlgorithm::from_name)
                    .ok_or(Errno::ENOENT)?;
                self.lock().engine().tcp_set_congestion(file.handle, algo)?;
                Ok(())
            }
            IPPROTO_TCP if file.kind == SocketKind::Tcp => {
                // Linux's do_tcp_setsockopt: an int at least.
                let v = int_from(val).ok_or(Errno::EINVAL)?;
                match optname {
                    TCP_NODELAY => self.update_options(&file, |o, _| {
                        o.nodelay = v != 0;
                        Ok(())
                    }),
                    TCP_MAXSEG => {
                        let mss = u16::try_from(v).map_err(|_| Errno::EINVAL)?;
                        self.lock().engine().tcp_set_maxseg(file.handle, mss)?;
                        Ok(())
                    }
                    _ => Err(Errno::ENOPROTOOPT),
                }
            }
            _ => Err(Errno::ENOPROTOOPT),
        }
    }

    /// Applies `f` to the engine's options of `file` (with the stack's largest
    /// buffer size), under the engine lock.
    fn update_options(
        &self,
        file: &OpenFile,
        f: impl FnOnce(&mut SocketOptions, usize) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        let mut g = self.lock();
        let max = match file.kind {
            SocketKind::Udp => g.engine_ref().config().udp.max_recv_buffer,
            SocketKind::Tcp => g.engine_ref().config().tcp.max_buffer,
        };
        let mut o = g.engine_ref().socket_options(file.handle)?;
        f(&mut o, max)?;
        g.engine().set_socket_options(file.handle, o)?;
        Ok(())
    }

    /// `getsockopt(fd, level, optname, &optval, &optlen)`: fills `optval` (at most
    /// its size, as the kernel truncates to `optlen`) and returns the length
    /// written. Besides the options [`Stack::setsockopt`] takes: `SO_TYPE`,
    /// `SO_PROTOCOL`, `SO_DOMAIN`, `SO_ACCEPTCONN` (1 on a listening socket), and
    /// `SO_ERROR`, which takes the pending error (as an errno number; 0 if none):
    /// after a non-blocking `connect`, 0 or why it failed. `IP_TTL` reads the
    /// stack's default until set; `TCP_MAXSEG` the connection's segment size once
    /// connected, before that the clamp set or 536.
    pub fn getsockopt<V: OptionValue + ?Sized>(
        &self,
        fd: i32,
        level: i32,
        optname: i32,
        optval: &mut V,
    ) -> Result<usize, Errno> {
        let bytes = track(self.getsockopt_inner(fd, level, optname, optval.option_capacity()))?;
        optval.store_option_bytes(&bytes);
        Ok(bytes.len())
    }

    fn getsockopt_inner(
        &self,
        fd: i32,
        level: i32,
        optname: i32,
        optlen: usize,
    ) -> Result<Vec<u8>, Errno> {
        let file = self.file(fd)?;
        let int = |v: i32| v.to_ne_bytes().to_vec();
        let mut g = self.lock();
        let o = g.engine_ref().socket_options(file.handle)?;
        let mut value = match level {
            SOL_SOCKET => match optname {
                SO_TYPE => int(file.kind.sock_type()),
                SO_PROTOCOL => int(file.kind.protocol()),
                SO_DOMAIN => int(AF_INET),
                SO_ACCEPTCONN => int(match file.kind {
                    SocketKind::Udp => 0,
                    SocketKind::Tcp => {
                        (g.engine_ref().tcp_state(file.handle)? == State::Listen).into()
                    }
                }),
                SO_ERROR => {
                    let e = match file.kind {
                        SocketKind::Udp => g.engine().udp_take_error(file.handle)?,
                        SocketKind::Tcp => g.engine().tcp_take_error(file.handle)?,
                    };
                    int(e.map_or(0, |e| Errno::from(e).raw()))
                }
                SO_REUSEADDR => int(o.reuse_addr.into()),
                SO_BROADCAST => int(o.broadcast.into()),
                SO_KEEPALIVE => int(o.keepalive.into()),
                SO_OOBINLINE => int(o.oob_inline.into()),
                SO_RCVBUF => int(i32::try_from(o.recv_buffer).unwrap_or(i32::MAX)),
                SO_SNDBUF => int(i32::try_from(o.send_buffer).unwrap_or(i32::MAX)),
                SO_LINGER => Linger {
                    l_onoff: o.linger.is_some().into(),
                    l_linger: o.linger.map_or(0, |d| d.as_secs() as u32 as i32),
                }
                .to_option_bytes(),
                SO_RCVTIMEO => timeval_of(file.recv_timeout()).to_option_bytes(),
                SO_SNDTIMEO => timeval_of(file.send_timeout()).to_option_bytes(),
                _ => return Err(Errno::ENOPROTOOPT),
            },
            IPPROTO_IP => {
                let v = match optname {
                    IP_TTL if o.ttl == 0 => i32::from(g.engine_ref().config().ip.default_ttl),
                    IP_TTL => i32::from(o.ttl),
                    IP_TOS => i32::from(o.tos),
                    _ => return Err(Errno::ENOPROTOOPT),
                };
                // Linux's ip_getsockopt: a buffer shorter than an int gets one byte.
                if (1..4).contains(&optlen) && (0..=255).contains(&v) {
                    vec![v as u8]
                } else {
                    int(v)
                }
            }
            IPPROTO_TCP if file.kind == SocketKind::Tcp => match optname {
                TCP_NODELAY => int(o.nodelay.into()),
                TCP_MAXSEG => int(g.engine_ref().tcp_maxseg(file.handle)?.into()),
                TCP_CONGESTION => {
                    let mut name = g
                        .engine_ref()
                        .tcp_congestion(file.handle)?
                        .name()
                        .as_bytes()
                        .to_vec();
                    name.resize(TCP_CA_NAME_MAX, 0);
                    name
                }
                TCP_INFO => {
                    let info = g.engine_ref().tcp_info(file.handle)?;
                    crate::tcp_info::linux_bytes(info.as_ref())
                }
                _ => return Err(Errno::ENOPROTOOPT),
            },
            _ => return Err(Errno::ENOPROTOOPT),
        };
        value.truncate(optlen);
        Ok(value)
    }

    /// The typed form of `getsockopt(fd, IPPROTO_TCP, TCP_INFO)`: the
    /// connection's state, RTT, windows, congestion state and retransmissions
    /// by cause. `ENOTCONN` for a TCP socket with no connection (listening or
    /// not yet connected), `ENOPROTOOPT` for a datagram socket.
    pub fn tcp_info(&self, fd: i32) -> Result<stack::tcp::TcpInfo, Errno> {
        track((|| {
            let file = self.file(fd)?;
            if file.kind != SocketKind::Tcp {
                return Err(Errno::ENOPROTOOPT);
            }
            self.lock()
                .engine_ref()
                .tcp_info(file.handle)?
                .ok_or(Errno::ENOTCONN)
        })())
    }

    /// `fcntl(fd, cmd, arg)`: `F_GETFL` gives `O_RDWR`, plus `O_NONBLOCK` in
    /// non-blocking mode; `F_SETFL` sets or clears `O_NONBLOCK` (other flags are
    /// ignored); `F_GETFD`/`F_SETFD` read 0 and accept anything (there is no exec).
    /// Other commands: `EINVAL`. Typical use, as in C:
    /// `fcntl(s, F_SETFL, fcntl(s, F_GETFL, 0)? | O_NONBLOCK)`.
    pub fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> Result<i32, Errno> {
        track(self.file(fd).and_then(|file| match cmd {
            F_GETFL => Ok(O_RDWR | if file.nonblocking() { O_NONBLOCK } else { 0 }),
            F_SETFL => {
                file.set_nonblocking(arg & O_NONBLOCK != 0);
                Ok(0)
            }
            F_GETFD | F_SETFD => Ok(0),
            _ => Err(Errno::EINVAL),
        }))
    }

    /// `ioctl(fd, request, &arg)`:
    ///
    /// - `FIONREAD`: on a datagram socket the size of the next datagram (0 if
    ///   none, as Linux); on a stream socket the bytes a `read` could return now
    ///   (up to the urgent mark; `EINVAL` on a listener, as Linux);
    /// - `SIOCATMARK` (stream sockets): 1 when the next byte to read is just past
    ///   the urgent mark (the primer's Figure 5 loop), else 0; see
    ///   [`Stack::sockatmark`];
    /// - `SIOCOUTQ` (`TIOCOUTQ`): bytes sent and not yet acknowledged (stream;
    ///   `EINVAL` on a listener), 0 on a datagram socket;
    /// - `FIONBIO`: sets non-blocking mode when `*arg` is non-zero, clears it
    ///   otherwise.
    ///
    /// Other requests (and `SIOCATMARK` on a datagram socket) are `ENOTTY`.
    pub fn ioctl(&self, fd: i32, request: u64, arg: &mut i32) -> Result<(), Errno> {
        track(self.ioctl_inner(fd, request, arg))
    }

    fn ioctl_inner(&self, fd: i32, request: u64, arg: &mut i32) -> Result<(), Errno> {
        let file = self.file(fd)?;
        match request {
            FIONBIO => {
                file.set_nonblocking(*arg != 0);
                Ok(())
            }
            FIONREAD | SIOCOUTQ => {
                let g = self.lock();
                let n = match file.kind {
                    SocketKind::Udp if request == FIONREAD => {
                        g.engine_ref().udp_next_len(file.handle)?
                    }
                    SocketKind::Udp => 0,
                    SocketKind::Tcp => {
                        if g.engine_ref().tcp_state(file.handle)? == State::Listen {
                            return Err(Errno::EINVAL);
                        }
                        if request == FIONREAD {
                            g.engine_ref().tcp_recv_queue_len(file.handle)?
                        } else {
                            g.engine_ref().tcp_send_queue_len(file.handle)?
                        }
                    }
                };
                *arg = i32::try_from(n).unwrap_or(i32::MAX);
                Ok(())
            }
            SIOCATMARK => match file.kind {
                SocketKind::Udp => Err(Errno::ENOTTY),
                SocketKind::Tcp => {
                    *arg = self.lock().engine_ref().tcp_at_mark(file.handle)?.into();
                    Ok(())
                }
            },
            _ => Err(Errno::ENOTTY),
        }
    }

    /// `sockatmark(fd)`: 1 when the next byte to read is the first after the urgent
    /// mark (everything sent before the urgent byte has been read), 0 otherwise;
    /// `ioctl(fd, SIOCATMARK, &yes)` as a function. `ENOTTY` on a datagram socket.
    pub fn sockatmark(&self, fd: i32) -> Result<i32, Errno> {
        let mut yes = 0;
        self.ioctl(fd, SIOCATMARK, &mut yes)?;
        Ok(yes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_bytes() {
        let tv = TimeVal {
            tv_sec: 3,
            tv_usec: 250_000,
        };
        let mut back = TimeVal::default();
        back.store_option_bytes(&tv.to_option_bytes());
        assert_eq!(back, tv);
        assert_eq!(tv.to_duration(), Some(Duration::from_millis(3250)));
        assert_eq!(TimeVal::from_duration(Duration::from_millis(3250)), tv);
        assert_eq!(
            TimeVal {
                tv_sec: 0,
                tv_usec: 1_000_000
            }
            .to_duration(),
            None
        );
        let l = Linger {
            l_onoff: 1,
            l_linger: 7,
        };
        let mut lb = Linger::default();
        lb.store_option_bytes(&l.to_option_bytes());
        assert_eq!(lb, l);
        let mut i = -1i32;
        i.store_option_bytes(&[5]);
        assert_eq!(i.to_ne_bytes()[0], 5);
        assert_eq!(i.to_ne_bytes()[1..], [0xff, 0xff, 0xff]);
        let mut arr = [0u8; 2];
        arr.store_option_bytes(&[1, 2, 3, 4]);
        assert_eq!(arr, [1, 2]);
    }

    #[test]
    fn timeouts_follow_linux() {
        assert_eq!(
            timeout_from(TimeVal {
                tv_sec: 0,
                tv_usec: 0
            }),
            Ok(None)
        );
        assert_eq!(
            timeout_from(TimeVal {
                tv_sec: -1,
                tv_usec: 0
            }),
            Ok(Some(Duration::ZERO))
        );
        assert_eq!(
            timeout_from(TimeVal {
                tv_sec: 1,
                tv_usec: -1
            }),
            Err(Errno::EDOM)
        );
        assert_eq!(
            timeout_from(TimeVal {
                tv_sec: 1,
                tv_usec: 1_000_000
            }),
            Err(Errno::EDOM)
        );
        assert_eq!(
            timeout_from(TimeVal {
                tv_sec: 0,
                tv_usec: 5
            }),
            Ok(Some(Duration::from_micros(5)))
        );
    }
}
