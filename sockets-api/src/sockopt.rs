//! The socket-option codec shared by both socket layers: the blocking
//! [`crate::Stack`] and drill's virtual-time kernel.
//!
//! It is clock-free and lock-free: it takes the engine, the socket's handle and
//! kind, and the option as C's bytes (`optval`, `optlen`), and answers with an
//! [`Errno`] exactly as Linux's `sock_setsockopt`, `ip_setsockopt` and
//! `do_tcp_setsockopt` (and their `getsockopt` twins) do; see the validation
//! rules in the crate documentation. What a descriptor keeps itself (the
//! `SO_RCVTIMEO`/`SO_SNDTIMEO` timeouts) comes back as a [`SetEffect`] for the
//! caller to store, and goes in as [`Timeouts`] when read.

use std::time::Duration;

use stack::tcp::recovery::congestion::CongestionAlgorithm;
use stack::tcp::State;
use stack::{Engine, Instant, SocketHandle, SocketOptions};

use crate::consts::{
    AF_INET, IPPROTO_IP, IPPROTO_TCP, IP_TOS, IP_TTL, SOL_SOCKET, SO_ACCEPTCONN, SO_BROADCAST,
    SO_DEBUG, SO_DOMAIN, SO_DONTROUTE, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_OOBINLINE,
    SO_PROTOCOL, SO_RCVBUF, SO_RCVTIMEO, SO_REUSEADDR, SO_SNDBUF, SO_SNDTIMEO, SO_TYPE,
    TCP_CA_NAME_MAX, TCP_CONGESTION, TCP_CORK, TCP_FASTOPEN, TCP_FASTOPEN_CONNECT,
    TCP_FASTOPEN_NO_COOKIE, TCP_INFO, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_MAXSEG,
    TCP_NODELAY, TCP_NOTSENT_LOWAT, TCP_SYNCNT, TCP_USER_TIMEOUT,
};
use crate::errno::Errno;
use crate::fdtable::SocketKind;
use crate::options::{int_from, linger_from, timeout_from, timeval_from, timeval_of};
use crate::options::{Linger, OptionValue};

/// What a successful `setsockopt` changed besides the engine's socket options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetEffect {
    /// The engine holds the whole change.
    Engine,
    /// `SO_RCVTIMEO`: the descriptor's receive timeout (`None`: wait forever).
    RecvTimeout(Option<Duration>),
    /// `SO_SNDTIMEO`: the descriptor's send timeout.
    SendTimeout(Option<Duration>),
}

/// The timeouts a descriptor holds, for `getsockopt` to report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// `SO_RCVTIMEO` (`None`: wait forever).
    pub recv: Option<Duration>,
    /// `SO_SNDTIMEO`.
    pub send: Option<Duration>,
}

/// `setsockopt(level, optname, val)` on the socket `h` of `kind`, at `now`.
pub fn set(
    engine: &mut Engine,
    now: Instant,
    h: SocketHandle,
    kind: SocketKind,
    level: i32,
    optname: i32,
    val: &[u8],
) -> Result<SetEffect, Errno> {
    match level {
        SOL_SOCKET => {
            // Linux checks for a whole int before looking at the option.
            let v = int_from(val).ok_or(Errno::EINVAL)?;
            match optname {
                SO_RCVTIMEO | SO_SNDTIMEO => {
                    let tv = timeval_from(val).ok_or(Errno::EINVAL)?;
                    let t = timeout_from(tv)?;
                    Ok(if optname == SO_RCVTIMEO {
                        SetEffect::RecvTimeout(t)
                    } else {
                        SetEffect::SendTimeout(t)
                    })
                }
                SO_REUSEADDR | SO_BROADCAST | SO_KEEPALIVE | SO_OOBINLINE | SO_RCVBUF
                | SO_SNDBUF | SO_LINGER | SO_DEBUG | SO_DONTROUTE => {
                    update(engine, now, h, kind, |o, max| {
                        match optname {
                            SO_REUSEADDR => o.reuse_addr = v != 0,
                            SO_DEBUG => o.debug = v != 0,
                            SO_DONTROUTE => o.dont_route = v != 0,
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
                    })
                }
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
                    update(engine, now, h, kind, |o, _| {
                        o.ttl = if v == -1 { 0 } else { v as u8 };
                        Ok(())
                    })
                }
                IP_TOS => update(engine, now, h, kind, |o, _| {
                    o.tos = v as u8;
                    Ok(())
                }),
                _ => Err(Errno::ENOPROTOOPT),
            }
        }
        // IPPROTO_TCP: only TCP sockets have TCP options; a datagram socket
        // answers ENOPROTOOPT like any unknown level.
        IPPROTO_TCP if kind == SocketKind::Tcp && optname == TCP_CONGESTION => {
            // A name, not an int: Linux reads up to TCP_CA_NAME_MAX - 1 bytes,
            // stopping at a NUL; an unknown name is ENOENT.
            let raw = &val[..val.len().min(TCP_CA_NAME_MAX - 1)];
            let name = raw.split(|&b| b == 0).next().unwrap_or_default();
            let algo = std::str::from_utf8(name)
                .ok()
                .and_then(CongestionAlgorithm::from_name)
                .ok_or(Errno::ENOENT)?;
            engine.tcp_set_congestion(h, algo)?;
            Ok(SetEffect::Engine)
        }
        IPPROTO_TCP if kind == SocketKind::Tcp => {
            // Linux's do_tcp_setsockopt: an int at least.
            let v = int_from(val).ok_or(Errno::EINVAL)?;
            match optname {
                TCP_NODELAY => {
                    update(engine, now, h, kind, |o, _| {
                        o.nodelay = v != 0;
                        Ok(())
                    })?;
                    // Linux pushes what corking holds whenever it is set.
                    if v != 0 {
                        engine.tcp_push(now, h)?;
                    }
                    Ok(SetEffect::Engine)
                }
                TCP_MAXSEG => {
                    let mss = u16::try_from(v).map_err(|_| Errno::EINVAL)?;
                    engine.tcp_set_maxseg(h, mss)?;
                    Ok(SetEffect::Engine)
                }
                // Linux's bounds: MAX_TCP_KEEPIDLE/KEEPINTVL 32767 s, KEEPCNT 127.
                TCP_KEEPIDLE | TCP_KEEPINTVL if !(1..=32767).contains(&v) => Err(Errno::EINVAL),
                TCP_KEEPCNT if !(1..=127).contains(&v) => Err(Errno::EINVAL),
                TCP_USER_TIMEOUT if v < 0 => Err(Errno::EINVAL),
                // Linux: a queue length on a closed or listening socket.
                TCP_FASTOPEN => {
                    if v < 0 {
                        return Err(Errno::EINVAL);
                    }
                    let state = engine.tcp_state(h)?;
                    if !matches!(state, stack::tcp::State::Closed | stack::tcp::State::Listen) {
                        return Err(Errno::EINVAL);
                    }
                    update(engine, now, h, kind, |o, _| {
                        o.fast_open = v as u32;
                        Ok(())
                    })
                }
                // Linux: on a closed socket only, 0 or 1, with the client side on.
                TCP_FASTOPEN_CONNECT => {
                    if !(0..=1).contains(&v) || engine.tcp_state(h)? != stack::tcp::State::Closed {
                        return Err(Errno::EINVAL);
                    }
                    if !engine.config().tcp.fast_open.client {
                        return Err(Errno::EOPNOTSUPP);
                    }
                    update(engine, now, h, kind, |o, _| {
                        o.fast_open_connect = v != 0;
                        Ok(())
                    })
                }
                // Linux's MAX_TCP_SYNCNT.
                TCP_SYNCNT if !(1..=127).contains(&v) => Err(Errno::EINVAL),
                TCP_SYNCNT => update(engine, now, h, kind, |o, _| {
                    o.syn_count = Some(v as u8);
                    Ok(())
                }),
                TCP_FASTOPEN_NO_COOKIE if !(0..=1).contains(&v) => Err(Errno::EINVAL),
                TCP_FASTOPEN_NO_COOKIE => update(engine, now, h, kind, |o, _| {
                    o.fast_open_no_cookie = v != 0;
                    Ok(())
                }),
                TCP_CORK | TCP_KEEPIDLE | TCP_KEEPINTVL | TCP_KEEPCNT | TCP_USER_TIMEOUT
                | TCP_NOTSENT_LOWAT => update(engine, now, h, kind, |o, _| {
                    let secs = Duration::from_secs(v as u64);
                    match optname {
                        TCP_CORK => o.cork = v != 0,
                        TCP_KEEPIDLE => o.keep_idle = Some(secs),
                        TCP_KEEPINTVL => o.keep_interval = Some(secs),
                        TCP_KEEPCNT => o.keep_count = Some(v as u32),
                        TCP_USER_TIMEOUT => {
                            o.user_timeout = (v > 0).then(|| Duration::from_millis(v as u64))
                        }
                        // Linux stores the value as given; 0 means no limit.
                        _ => o.notsent_lowat = (v != 0).then_some(v as u32),
                    }
                    Ok(())
                }),
                _ => Err(Errno::ENOPROTOOPT),
            }
        }
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// Applies `f` to the engine's options of `h` (with the stack's largest buffer
/// size for its kind).
fn update(
    engine: &mut Engine,
    now: Instant,
    h: SocketHandle,
    kind: SocketKind,
    f: impl FnOnce(&mut SocketOptions, usize) -> Result<(), Errno>,
) -> Result<SetEffect, Errno> {
    let max = match kind {
        SocketKind::Udp => engine.config().udp.max_recv_buffer,
        SocketKind::Tcp => engine.config().tcp.max_buffer,
    };
    let mut o = engine.socket_options(h)?;
    f(&mut o, max)?;
    engine.set_socket_options(now, h, o)?;
    Ok(SetEffect::Engine)
}

/// `getsockopt(level, optname)` on the socket `h` of `kind`: at most `optlen`
/// bytes of the value, as the kernel truncates to the caller's buffer.
pub fn get(
    engine: &mut Engine,
    h: SocketHandle,
    kind: SocketKind,
    level: i32,
    optname: i32,
    optlen: usize,
    timeouts: Timeouts,
) -> Result<Vec<u8>, Errno> {
    let int = |v: i32| v.to_ne_bytes().to_vec();
    let o = engine.socket_options(h)?;
    let mut value = match level {
        SOL_SOCKET => match optname {
            SO_TYPE => int(kind.sock_type()),
            SO_PROTOCOL => int(kind.protocol()),
            SO_DOMAIN => int(AF_INET),
            SO_ACCEPTCONN => int(match kind {
                SocketKind::Udp => 0,
                SocketKind::Tcp => (engine.tcp_state(h)? == State::Listen).into(),
            }),
            SO_ERROR => {
                let e = match kind {
                    SocketKind::Udp => engine.udp_take_error(h)?,
                    SocketKind::Tcp => engine.tcp_take_error(h)?,
                };
                int(e.map_or(0, |e| Errno::from(e).raw()))
            }
            SO_REUSEADDR => int(o.reuse_addr.into()),
            SO_DEBUG => int(o.debug.into()),
            SO_DONTROUTE => int(o.dont_route.into()),
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
            SO_RCVTIMEO => timeval_of(timeouts.recv).to_option_bytes(),
            SO_SNDTIMEO => timeval_of(timeouts.send).to_option_bytes(),
            _ => return Err(Errno::ENOPROTOOPT),
        },
        IPPROTO_IP => {
            let v = match optname {
                IP_TTL if o.ttl == 0 => i32::from(engine.config().ip.default_ttl),
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
        IPPROTO_TCP if kind == SocketKind::Tcp => match optname {
            TCP_NODELAY => int(o.nodelay.into()),
            TCP_MAXSEG => int(engine.tcp_maxseg(h)?.into()),
            TCP_CORK => int(o.cork.into()),
            TCP_KEEPIDLE => int(secs_of(o.keep_idle, engine.config().tcp.keepalive_time)),
            TCP_KEEPINTVL => int(secs_of(
                o.keep_interval,
                engine.config().tcp.keepalive_interval,
            )),
            TCP_KEEPCNT => int(o
                .keep_count
                .unwrap_or(engine.config().tcp.keepalive_probes)
                .min(i32::MAX as u32) as i32),
            TCP_USER_TIMEOUT => int(o
                .user_timeout
                .map_or(0, |d| d.as_millis().min(i32::MAX as u128) as i32)),
            TCP_NOTSENT_LOWAT => int(o.notsent_lowat.map_or(0, |l| l as i32)),
            TCP_FASTOPEN => int(o.fast_open.min(i32::MAX as u32) as i32),
            TCP_FASTOPEN_NO_COOKIE => int(o.fast_open_no_cookie.into()),
            TCP_FASTOPEN_CONNECT => int(o.fast_open_connect.into()),
            TCP_SYNCNT => int(i32::from(
                o.syn_count
                    .unwrap_or(engine.config().tcp.syn_retries.min(127) as u8),
            )),
            TCP_CONGESTION => {
                let mut name = engine.tcp_congestion(h)?.name().as_bytes().to_vec();
                name.resize(TCP_CA_NAME_MAX, 0);
                name
            }
            TCP_INFO => {
                let info = engine.tcp_info(h)?;
                crate::tcp_info::linux_bytes(info.as_ref())
            }
            _ => return Err(Errno::ENOPROTOOPT),
        },
        _ => return Err(Errno::ENOPROTOOPT),
    };
    value.truncate(optlen);
    Ok(value)
}

/// Whole seconds of an option, or of the stack's default.
fn secs_of(v: Option<Duration>, default: Duration) -> i32 {
    v.unwrap_or(default).as_secs().min(i32::MAX as u64) as i32
}
