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

use stack::tcp::State;

use crate::bsd::Stack;
use crate::consts::{
    FIONBIO, FIONREAD, F_GETFD, F_GETFL, F_GETOWN, F_SETFD, F_SETFL, F_SETOWN, O_NONBLOCK, O_RDWR,
    SIOCATMARK, SIOCGPGRP, SIOCOUTQ, SIOCSPGRP, SOL_SOCKET, SO_BROADCAST, SO_DEBUG, SO_DONTROUTE,
    SO_KEEPALIVE, SO_OOBINLINE, SO_REUSEADDR,
};
use crate::errno::{track, Errno};
use crate::fdtable::{SocketKind, Timeout};
use crate::sockopt::{self, SetEffect, Timeouts};

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

pub(crate) fn int_from(b: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

pub(crate) fn timeval_from(b: &[u8]) -> Option<TimeVal> {
    Some(TimeVal {
        tv_sec: i64::from_ne_bytes(b.get(..8)?.try_into().ok()?),
        tv_usec: i64::from_ne_bytes(b.get(8..16)?.try_into().ok()?),
    })
}

pub(crate) fn linger_from(b: &[u8]) -> Option<Linger> {
    Some(Linger {
        l_onoff: int_from(b)?,
        l_linger: int_from(b.get(4..)?)?,
    })
}

/// Linux's `sock_set_timeout`: (0, 0) waits forever, a negative `tv_sec` does not
/// wait at all, `tv_usec` out of range is `EDOM`.
pub(crate) fn timeout_from(tv: TimeVal) -> Result<Timeout, Errno> {
    if !(0..1_000_000).contains(&tv.tv_usec) {
        return Err(Errno::EDOM);
    }
    if tv.tv_sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    Ok(TimeVal::to_duration(tv).filter(|d| !d.is_zero()))
}

/// `SOL_SOCKET` options that are on/off flags (4.2BSD's options without a value).
const FLAG_OPTIONS: [i32; 6] = [
    SO_REUSEADDR,
    SO_BROADCAST,
    SO_KEEPALIVE,
    SO_OOBINLINE,
    SO_DEBUG,
    SO_DONTROUTE,
];

pub(crate) fn timeval_of(t: Timeout) -> TimeVal {
    t.map(TimeVal::from_duration).unwrap_or_default()
}

impl Stack {
    /// `setsockopt(fd, level, optname, &optval, sizeof optval)`.
    ///
    /// `SOL_SOCKET`: `SO_REUSEADDR`, `SO_BROADCAST`, `SO_KEEPALIVE`, `SO_OOBINLINE`
    /// (`int` flags), `SO_RCVBUF`/`SO_SNDBUF` (`int` bytes; doubled, as Linux does,
    /// and bounded by the stack's configuration; on a stream socket they size the
    /// buffers of connections made after, so set them before `connect` or
    /// `listen`; `SO_SNDBUF` also bounds a live connection's later writes, as in
    /// Linux), `SO_LINGER` ([`Linger`]; see [`Stack::close`]),
    /// `SO_RCVTIMEO`/`SO_SNDTIMEO` ([`TimeVal`]; they also bound `accept` and
    /// `connect`). `IPPROTO_IP`: `IP_TTL`, `IP_TOS`.
    /// `IPPROTO_TCP` (stream sockets only; `ENOPROTOOPT` on UDP, as Linux):
    /// `TCP_NODELAY` (`int` flag: no Nagle delay; setting it sends what corking
    /// holds), `TCP_MAXSEG` (`int`, 88..=32767: clamps the segment size; set it
    /// before connecting; Linux's 0 for "no clamp" is `EINVAL` here), `TCP_CORK`
    /// (`int` flag: hold short segments until cleared, at most one RTO; the
    /// `MSG_MORE` send flag does the same for one send), `TCP_KEEPIDLE` and
    /// `TCP_KEEPINTVL` (`int` seconds, 1..=32767), `TCP_KEEPCNT` (`int`, 1..=127),
    /// `TCP_USER_TIMEOUT` (`int` milliseconds data may stay unacknowledged
    /// before `ETIMEDOUT`; 0 off), `TCP_NOTSENT_LOWAT` (`int` bytes of unsent
    /// data above which `send` waits; writable below half; 0 no limit),
    /// `TCP_CONGESTION` (a name), `TCP_INFO` (get only). Accepted sockets
    /// inherit the listener's options.
    /// See the module documentation for the validation rules.
    pub fn setsockopt<V: OptionValue + ?Sized>(
        &self,
        fd: i32,
        level: i32,
        optname: i32,
        optval: &V,
    ) -> Result<(), Errno> {
        track((|| {
            if self.unix_file(fd).is_some() {
                return Err(Errno::ENOPROTOOPT); // no options in the UNIX domain here
            }
            let file = self.file(fd)?;
            let mut val = optval.to_option_bytes();
            // The 4.2BSD primer's form, `setsockopt(s, SOL_SOCKET, SO_REUSEADDR,
            // (char *)0, 0)`: a flag option with no value turns it on (Linux says
            // EINVAL; drill's kernel, which models Linux, keeps that).
            if val.is_empty() && level == SOL_SOCKET && FLAG_OPTIONS.contains(&optname) {
                val = 1i32.to_ne_bytes().to_vec();
            }
            let effect = {
                let mut g = self.lock();
                let now = g.now();
                sockopt::set(
                    g.engine(),
                    now,
                    file.handle,
                    file.kind,
                    level,
                    optname,
                    &val,
                )?
            };
            match effect {
                SetEffect::Engine => {}
                SetEffect::RecvTimeout(t) => file.set_recv_timeout(t),
                SetEffect::SendTimeout(t) => file.set_send_timeout(t),
            }
            Ok(())
        })())
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
        let bytes = track((|| {
            if let Some(u) = self.unix_file(fd) {
                return self.unix_getsockopt(&u, level, optname);
            }
            let file = self.file(fd)?;
            let timeouts = Timeouts {
                recv: file.recv_timeout(),
                send: file.send_timeout(),
            };
            let mut g = self.lock();
            sockopt::get(
                g.engine(),
                file.handle,
                file.kind,
                level,
                optname,
                optval.option_capacity(),
                timeouts,
            )
        })())?;
        optval.store_option_bytes(&bytes);
        Ok(bytes.len())
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
    /// ignored); `F_GETFD`/`F_SETFD` read 0 and accept anything (there is no exec);
    /// `F_SETOWN`/`F_GETOWN` record and read the owner that would receive
    /// `SIGURG` (in process, [`Stack::set_urgent_handler`] is what runs).
    /// Other commands: `EINVAL`. Typical use, as in C:
    /// `fcntl(s, F_SETFL, fcntl(s, F_GETFL, 0)? | O_NONBLOCK)`.
    pub fn fcntl(&self, fd: i32, cmd: i32, arg: i32) -> Result<i32, Errno> {
        if let Some(u) = self.unix_file(fd) {
            return track(self.unix_fcntl(&u, cmd, arg));
        }
        track(self.file(fd).and_then(|file| match cmd {
            F_GETFL => Ok(O_RDWR | if file.nonblocking() { O_NONBLOCK } else { 0 }),
            F_SETFL => {
                file.set_nonblocking(arg & O_NONBLOCK != 0);
                Ok(0)
            }
            F_GETFD | F_SETFD => Ok(0),
            F_SETOWN => {
                file.set_owner(arg);
                Ok(0)
            }
            F_GETOWN => Ok(file.owner()),
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
    ///   otherwise;
    /// - `SIOCSPGRP`/`SIOCGPGRP` (the primer's 5.2): as `F_SETOWN`/`F_GETOWN`, as
    ///   Linux has them (a negative value names a process group).
    ///
    /// Other requests (and `SIOCATMARK` on a datagram socket) are `ENOTTY`.
    pub fn ioctl(&self, fd: i32, request: u64, arg: &mut i32) -> Result<(), Errno> {
        track(self.ioctl_inner(fd, request, arg))
    }

    fn ioctl_inner(&self, fd: i32, request: u64, arg: &mut i32) -> Result<(), Errno> {
        if let Some(u) = self.unix_file(fd) {
            return self.unix_ioctl(&u, request, arg);
        }
        let file = self.file(fd)?;
        match request {
            FIONBIO => {
                file.set_nonblocking(*arg != 0);
                Ok(())
            }
            // The primer's `ioctl(s, SIOCSPGRP, &pgrp)`: as F_SETOWN (Linux).
            SIOCSPGRP => {
                file.set_owner(*arg);
                Ok(())
            }
            SIOCGPGRP => {
                *arg = file.owner();
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
