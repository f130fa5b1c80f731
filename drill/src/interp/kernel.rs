//! The script's "kernel": system calls on virtual time.
//!
//! A file-descriptor table (sockets get the lowest free number from 3), the
//! `O_NONBLOCK` flag, and blocking: a call that would block on a blocking
//! socket is parked and retried after every engine event until it completes,
//! times out (`poll`) or misses its end time. Arguments follow packetdrill:
//! `...` means "the interpreter fills it in": `bind(3, ..., ...)` binds
//! `0.0.0.0:--bind_port`, `connect(3, ..., ...)` connects to
//! `--remote_ip:--connect_port`, a `...` buffer is zeros.

use std::net::{Ipv4Addr, SocketAddrV4};

use sockets::{sockopt, SocketKind};
use stack::{Instant, NetError, Readiness, SocketHandle};

use super::consts::{canonical_errno, constant, errno_name, errno_of, errno_text};
use super::{secs, tcp, Failure, Interp, Pending};
use crate::ast::*;

/// Largest buffer a `read`/`write` may name (larger lengths are clamped).
const MAX_BUF: usize = 1 << 20;

/// Which protocol a descriptor's socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Udp,
    Tcp,
}

impl From<Kind> for SocketKind {
    fn from(k: Kind) -> SocketKind {
        match k {
            Kind::Udp => SocketKind::Udp,
            Kind::Tcp => SocketKind::Tcp,
        }
    }
}

/// One open descriptor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fd {
    kind: Kind,
    h: SocketHandle,
    nonblocking: bool,
}

/// What a blocked call waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Retry the call as written.
    Retry,
    /// `poll` with its timeout (`None`: forever).
    Poll { deadline: Option<Micros> },
    /// A blocking TCP `connect` in progress.
    Connect,
    /// A blocking `write` that has queued `done` bytes so far.
    Write { done: usize },
}

impl Wait {
    /// When the call returns by itself (a `poll` timeout).
    pub(crate) fn deadline(&self) -> Option<Micros> {
        match self {
            Wait::Poll { deadline } => *deadline,
            _ => None,
        }
    }
}

/// A finished call: its return value or errno name, and a mismatch in an
/// output argument (`getsockopt`'s value, `poll`'s `revents`, ...).
#[derive(Debug, Clone)]
pub(crate) struct Done {
    ret: Result<i64, &'static str>,
    mismatch: Option<String>,
}

/// A call's outcome.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Done(Done),
    Blocked(Wait),
}

fn ok(v: i64) -> Outcome {
    Outcome::Done(Done {
        ret: Ok(v),
        mismatch: None,
    })
}

fn errno(e: &'static str) -> Outcome {
    Outcome::Done(Done {
        ret: Err(e),
        mismatch: None,
    })
}

fn net(e: NetError) -> Outcome {
    errno(errno_of(e))
}

fn checked(v: i64, mismatch: Option<String>) -> Outcome {
    Outcome::Done(Done {
        ret: Ok(v),
        mismatch,
    })
}

/// The value of an argument expression: integers, constants, `A|B`,
/// `htons(N)`, and `[N]` (a pointer to an int).
pub(crate) fn eval(e: &Expr) -> Result<i64, String> {
    match e {
        Expr::Int(v) => Ok(*v),
        Expr::Ident(n) => constant(n).ok_or_else(|| format!("unknown constant '{n}'")),
        Expr::Or(ops) => ops.iter().try_fold(0i64, |acc, o| Ok(acc | eval(o)?)),
        Expr::Call { name, args }
            if matches!(name.as_str(), "htons" | "htonl" | "ntohs" | "ntohl") =>
        {
            match args.as_slice() {
                [x] => eval(x),
                _ => Err(format!("{name}() takes one argument")),
            }
        }
        Expr::Array(items) if items.len() == 1 => eval(&items[0]),
        Expr::Ellipsis => Err("'...' where a value is needed".to_string()),
        other => Err(format!("'{other}' is not an integer value")),
    }
}

fn arg(call: &Syscall, i: usize) -> Result<&Expr, String> {
    call.args
        .get(i)
        .ok_or_else(|| format!("needs at least {} arguments", i + 1))
}

fn int_arg(call: &Syscall, i: usize) -> Result<i64, String> {
    eval(arg(call, i)?).map_err(|e| format!("argument {}: {e}", i + 1))
}

/// An optional integer argument (absent or `...` gives `default`).
fn opt_int(call: &Syscall, i: usize, default: i64) -> Result<i64, String> {
    match call.args.get(i) {
        None | Some(Expr::Ellipsis) => Ok(default),
        Some(e) => eval(e).map_err(|e| format!("argument {}: {e}", i + 1)),
    }
}

fn field<'a>(fields: &'a [Field], names: &[&str], pos: usize) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|f| f.name.as_deref().is_some_and(|n| names.contains(&n)))
        .or_else(|| fields.get(pos).filter(|f| f.name.is_none()))
        .map(|f| &f.value)
}

/// The fields of a struct value, written `{...}` or `[{...}]`.
fn struct_fields(e: &Expr) -> Option<&[Field]> {
    match e {
        Expr::Struct(fs) => Some(fs),
        Expr::Array(items) => match items.as_slice() {
            [Expr::Struct(fs)] => Some(fs),
            _ => None,
        },
        _ => None,
    }
}

/// An option value as C's bytes: `{l_onoff=N, l_linger=N}` is a `struct
/// linger`, `{tv_sec=N, tv_usec=N}` a `struct timeval`, a string its bytes
/// (`TCP_CONGESTION`), anything else an `int`.
fn option_bytes(value: &Expr) -> Result<Vec<u8>, String> {
    if let Some(fields) = struct_fields(value) {
        let get = |names: &[&str], pos: usize| -> Result<i64, String> {
            field(fields, names, pos)
                .map(eval)
                .transpose()
                .map(|v| v.unwrap_or(0))
        };
        let named = |n: &str| fields.iter().any(|f| f.name.as_deref() == Some(n));
        if named("tv_sec") || named("tv_usec") {
            let mut b = get(&["tv_sec"], 0)?.to_ne_bytes().to_vec();
            b.extend_from_slice(&get(&["tv_usec"], 1)?.to_ne_bytes());
            return Ok(b);
        }
        let mut b = (get(&["l_onoff"], 0)? as i32).to_ne_bytes().to_vec();
        b.extend_from_slice(&(get(&["l_linger"], 1)? as i32).to_ne_bytes());
        return Ok(b);
    }
    if let Expr::Str(s) = value {
        return Ok(s.as_bytes().to_vec());
    }
    let v = eval(value).map_err(|e| format!("option value: {e}"))?;
    Ok((v as i32).to_ne_bytes().to_vec())
}

fn ip_expr(e: &Expr) -> Result<Ipv4Addr, String> {
    match e {
        Expr::Call { name, args } if name == "inet_addr" => match args.as_slice() {
            [Expr::Str(s)] => s
                .parse()
                .map_err(|_| format!("inet_addr(\"{s}\"): not an IPv4 address")),
            _ => Err("inet_addr() takes one string".to_string()),
        },
        Expr::Str(s) => s
            .parse()
            .map_err(|_| format!("\"{s}\" is not an IPv4 address")),
        other => Ok(Ipv4Addr::from(eval(other)? as u32)),
    }
}

/// A `struct sockaddr_in` argument; `...` is `default`; `None` for
/// `AF_UNSPEC`.
fn sockaddr(e: &Expr, default: SocketAddrV4) -> Result<Option<SocketAddrV4>, String> {
    match e {
        Expr::Ellipsis => Ok(Some(default)),
        Expr::Struct(fields) => {
            let family = match field(fields, &["sa_family", "sin_family"], 0) {
                Some(f) => eval(f)?,
                None => 2,
            };
            if family == 0 {
                return Ok(None);
            }
            if family != 2 {
                return Err(format!("address family {family} is not AF_INET"));
            }
            let port = match field(fields, &["sin_port"], 1) {
                Some(p) => {
                    u16::try_from(eval(p)?).map_err(|_| "sin_port out of range".to_string())?
                }
                None => default.port(),
            };
            let addr = match field(fields, &["sin_addr"], 2) {
                Some(a) => ip_expr(a)?,
                None => *default.ip(),
            };
            Ok(Some(SocketAddrV4::new(addr, port)))
        }
        other => Err(format!("'{other}' is not a socket address")),
    }
}

/// Compares a returned address with a script's `struct sockaddr_in`
/// (fields that are not written are not checked).
fn check_sockaddr(
    what: &str,
    e: Option<&Expr>,
    got: SocketAddrV4,
) -> Result<Option<String>, String> {
    let Some(Expr::Struct(fields)) = e else {
        return Ok(None);
    };
    if let Some(p) = field(fields, &["sin_port"], 1) {
        let want = eval(p)?;
        if want != i64::from(got.port()) {
            return Ok(Some(format!(
                "{what}: the port is {}, the script expects {want}",
                got.port()
            )));
        }
    }
    if let Some(a) = field(fields, &["sin_addr"], 2) {
        let want = ip_expr(a)?;
        if want != *got.ip() {
            return Ok(Some(format!(
                "{what}: the address is {}, the script expects {want}",
                got.ip()
            )));
        }
    }
    Ok(None)
}

/// The bytes of a write: a string literal's bytes or zeros, `len` long.
fn data_arg(call: &Syscall, buf: usize, len: usize) -> Result<Vec<u8>, String> {
    let len = usize::try_from(int_arg(call, len)?)
        .map_err(|_| "negative length".to_string())?
        .min(MAX_BUF);
    let mut data = match arg(call, buf)? {
        Expr::Str(s) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    data.resize(len, 0);
    Ok(data)
}

fn len_arg(call: &Syscall, i: usize) -> Result<usize, String> {
    Ok(usize::try_from(int_arg(call, i)?)
        .map_err(|_| "negative length".to_string())?
        .min(MAX_BUF))
}

fn poll_bits(v: i64) -> String {
    if v == 0 {
        return "0".to_string();
    }
    let mut names: Vec<String> = super::consts::poll_names()
        .filter(|(_, b)| v & b != 0)
        .map(|(n, _)| n.to_string())
        .collect();
    let known = super::consts::poll_names().fold(0, |a, (_, b)| a | b);
    if v & !known != 0 {
        names.push(format!("0x{:x}", v & !known));
    }
    names.join("|")
}

fn readiness_bits(r: Readiness) -> i64 {
    let mut b = 0;
    if r.readable {
        b |= 0x1 | 0x40;
    }
    if r.writable {
        b |= 0x4 | 0x100;
    }
    if r.urgent {
        b |= 0x2;
    }
    if r.error {
        b |= 0x8;
    }
    if r.hangup {
        b |= 0x10;
    }
    b
}

/// The call as written, with `ret` as its result (for messages).
fn with_result(call: &Syscall, ret: &Result<i64, &'static str>) -> String {
    let result = match ret {
        Ok(v) => SyscallResult {
            value: Expr::Int(*v),
            errno: None,
            note: None,
        },
        Err(e) => SyscallResult {
            value: Expr::Int(-1),
            errno: Some(e.to_string()),
            note: Some(errno_text(e).to_string()),
        },
    };
    Syscall {
        result,
        ..call.clone()
    }
    .to_string()
}

impl Interp {
    fn now_instant(&self) -> Instant {
        Instant::from_micros(self.now)
    }

    /// Runs a call event.
    pub(super) fn syscall(
        &mut self,
        ev: &Event,
        call: &Syscall,
        base: Micros,
    ) -> Result<(), Failure> {
        let start = self.now;
        let end = call.end.map(|e| match ev.time {
            EventTime::Relative(_) | EventTime::RelativeRange { .. } => base.saturating_add(e),
            _ => e,
        });
        let outcome = self
            .call(call, None)
            .map_err(|m| self.fail(ev.line, format!("{}: {m}", call.name)))?;
        match outcome {
            Outcome::Done(done) => {
                self.note(|| with_result(call, &done.ret));
                self.check_done(ev.line, call, &done)?;
                if let Some(end) = end {
                    let tol = self.tolerance(end, start);
                    if start.saturating_add(tol) < end {
                        return Err(Failure {
                            line: ev.line,
                            message: format!(
                                "timing error: {} returned at once, at {}; the script expects it to block until {} (tolerance {})",
                                call.name,
                                secs(start),
                                secs(end),
                                secs(tol)
                            ),
                            expected: Some(call.to_string()),
                            actual: Some(with_result(call, &done.ret)),
                            time: start,
                        });
                    }
                }
            }
            Outcome::Blocked(wait) => {
                let Some(end) = end else {
                    return Err(Failure {
                        line: ev.line,
                        message: format!(
                            "{} would block; give a blocking call an end time (`+0...0.1 {}(...)`) or make the socket non-blocking",
                            call.name, call.name
                        ),
                        expected: Some(call.to_string()),
                        actual: None,
                        time: self.now,
                    });
                };
                let tol = self.tolerance(end, start);
                self.note(|| format!("{}(...) blocks", call.name));
                self.pending = Some(Pending {
                    line: ev.line,
                    call: call.clone(),
                    start,
                    end,
                    tol,
                    wait,
                });
            }
        }
        self.after_engine_call()
    }

    /// Retries a blocked call; checks its result and return time when it
    /// completes, and fails it once it is past its end time.
    pub(super) fn poll_pending(&mut self) -> Result<(), Failure> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let outcome = self
            .call(&p.call, Some(&p.wait))
            .map_err(|m| self.fail(p.line, format!("{}: {m}", p.call.name)))?;
        match outcome {
            Outcome::Done(done) => {
                self.note(|| format!("{} (returned)", with_result(&p.call, &done.ret)));
                self.check_done(p.line, &p.call, &done)?;
                if self.now.saturating_add(p.tol) < p.end || self.now > p.end.saturating_add(p.tol)
                {
                    return Err(Failure {
                        line: p.line,
                        message: format!(
                            "timing error: {} (started at {}) returned at {}; the script expects it to return at {} (tolerance {})",
                            p.call.name,
                            secs(p.start),
                            secs(self.now),
                            secs(p.end),
                            secs(p.tol)
                        ),
                        expected: Some(p.call.to_string()),
                        actual: Some(with_result(&p.call, &done.ret)),
                        time: self.now,
                    });
                }
                self.drain();
            }
            Outcome::Blocked(wait) => {
                if self.now > p.end.saturating_add(p.tol) {
                    return Err(Failure {
                        line: p.line,
                        message: format!(
                            "{} (started at {}) was still blocked at {}; the script expects it to return at {} (tolerance {})",
                            p.call.name,
                            secs(p.start),
                            secs(self.now),
                            secs(p.end),
                            secs(p.tol)
                        ),
                        expected: Some(p.call.to_string()),
                        actual: None,
                        time: self.now,
                    });
                }
                self.pending = Some(Pending { wait, ..p });
            }
        }
        Ok(())
    }

    /// Compares a finished call with the script's expected result.
    fn check_done(&self, line: usize, call: &Syscall, done: &Done) -> Result<(), Failure> {
        let want = &call.result;
        let want_val = match &want.value {
            Expr::Ellipsis => None,
            e => Some(eval(e).map_err(|m| self.fail(line, format!("{}: result: {m}", call.name)))?),
        };
        let good = match done.ret {
            Ok(v) => want.errno.is_none() && want_val.is_none_or(|w| w == v),
            Err(e) => {
                want_val.is_none_or(|w| w == -1)
                    && want
                        .errno
                        .as_deref()
                        .is_none_or(|w| canonical_errno(w) == canonical_errno(e))
            }
        };
        if !good {
            let got = match done.ret {
                Ok(v) => format!("{v}"),
                Err(e) => format!("-1 {e} ({})", errno_text(e)),
            };
            return Err(Failure {
                line,
                message: format!("{} returned {got}, the script expects {}", call.name, want),
                expected: Some(call.to_string()),
                actual: Some(with_result(call, &done.ret)),
                time: self.now,
            });
        }
        if let Some(m) = &done.mismatch {
            return Err(Failure {
                line,
                message: m.clone(),
                expected: Some(call.to_string()),
                actual: None,
                time: self.now,
            });
        }
        Ok(())
    }

    fn lowest_free_fd(&self) -> i64 {
        let mut fd = 3;
        while self.fds.contains_key(&fd) {
            fd += 1;
        }
        fd
    }

    /// Looks up argument `i` as a descriptor.
    fn fd_at(&self, call: &Syscall, i: usize) -> Result<(i64, Option<Fd>), String> {
        let fd = int_arg(call, i)?;
        Ok((fd, self.fds.get(&fd).copied()))
    }

    fn would_block(f: &Fd, dontwait: bool) -> Outcome {
        if f.nonblocking || dontwait {
            errno("EAGAIN")
        } else {
            Outcome::Blocked(Wait::Retry)
        }
    }

    fn local_addr(&self, f: &Fd) -> Result<Option<SocketAddrV4>, NetError> {
        match f.kind {
            Kind::Udp => self.engine.udp_local_addr(f.h),
            Kind::Tcp => tcp::local_addr(&self.engine, f.h),
        }
    }

    /// Runs one call. `wait` is set when retrying a blocked call. `Err` is a
    /// script error (unknown call, bad arguments), not an errno.
    pub(super) fn call(&mut self, call: &Syscall, wait: Option<&Wait>) -> Result<Outcome, String> {
        match call.name.as_str() {
            "socket" => self.sys_socket(call),
            "bind" => self.sys_bind(call),
            "listen" => self.sys_listen(call),
            "accept" | "accept4" => self.sys_accept(call),
            "connect" => self.sys_connect(call, wait),
            "read" | "recv" | "recvfrom" => self.sys_recv(call),
            "write" | "send" | "sendto" => self.sys_send(call, wait),
            "close" => self.sys_close(call),
            "shutdown" => self.sys_shutdown(call),
            "setsockopt" => self.sys_setsockopt(call),
            "getsockopt" => self.sys_getsockopt(call),
            "fcntl" => self.sys_fcntl(call),
            "ioctl" => self.sys_ioctl(call),
            "poll" => self.sys_poll(call, wait),
            "getsockname" | "getpeername" => self.sys_sockname(call),
            other => Err(format!(
                "unsupported system call '{other}' (supported: socket, bind, listen, accept, accept4, \
                 connect, read, recv, recvfrom, write, send, sendto, close, shutdown, setsockopt, \
                 getsockopt, fcntl, ioctl, poll, getsockname, getpeername)"
            )),
        }
    }

    fn sys_socket(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let domain = opt_int(call, 0, 2)?;
        if domain != 2 {
            return Ok(errno("EAFNOSUPPORT"));
        }
        let ty = int_arg(call, 1)?;
        let nonblocking = ty & 0o4000 != 0;
        let proto = opt_int(call, 2, 0)?;
        let kind = match ty & !(0o4000 | 0o2000000) {
            2 if proto == 0 || proto == 17 => Kind::Udp,
            1 if proto == 0 || proto == 6 => Kind::Tcp,
            1 | 2 => return Ok(errno("EPROTONOSUPPORT")),
            _ => return Ok(errno("ESOCKTNOSUPPORT")),
        };
        let h = match kind {
            Kind::Udp => self.engine.udp_open(),
            Kind::Tcp => tcp::open(&mut self.engine),
        };
        let h = match h {
            Ok(h) => h,
            Err(e) => return Ok(net(e)),
        };
        let fd = self.lowest_free_fd();
        self.fds.insert(
            fd,
            Fd {
                kind,
                h,
                nonblocking,
            },
        );
        Ok(ok(fd))
    }

    fn sys_bind(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let default = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.settings.bind_port);
        let addr_expr = arg(call, 1)?;
        let Some(addr) = sockaddr(addr_expr, default)? else {
            return Ok(errno("EAFNOSUPPORT"));
        };
        let r = match f.kind {
            Kind::Udp => self.engine.udp_bind(f.h, addr),
            Kind::Tcp => tcp::bind(&mut self.engine, f.h, addr),
        };
        match r {
            Ok(local) => {
                if matches!(addr_expr, Expr::Ellipsis) || self.def.local_port.is_none() {
                    self.def.local_port = Some(local.port());
                    self.def.tcp = f.kind == Kind::Tcp;
                }
                Ok(ok(0))
            }
            Err(e) => Ok(net(e)),
        }
    }

    fn sys_listen(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let backlog = opt_int(call, 1, 128)?;
        if f.kind == Kind::Udp {
            return Ok(errno("EOPNOTSUPP"));
        }
        Ok(match tcp::listen(&mut self.engine, f.h, backlog) {
            Ok(()) => ok(0),
            Err(e) => net(e),
        })
    }

    fn sys_accept(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let flags = if call.name == "accept4" {
            opt_int(call, 3, 0)?
        } else {
            0
        };
        if f.kind == Kind::Udp {
            return Ok(errno("EOPNOTSUPP"));
        }
        let now = self.now_instant();
        match tcp::accept(&mut self.engine, now, f.h) {
            Ok((child, peer)) => {
                let fd = self.lowest_free_fd();
                self.fds.insert(
                    fd,
                    Fd {
                        kind: Kind::Tcp,
                        h: child,
                        nonblocking: flags & 0o4000 != 0,
                    },
                );
                let mismatch = check_sockaddr("accept", call.args.get(1), peer)?;
                Ok(checked(fd, mismatch))
            }
            Err(NetError::WouldBlock) => Ok(Self::would_block(&f, false)),
            Err(e) => Ok(net(e)),
        }
    }

    fn sys_connect(&mut self, call: &Syscall, wait: Option<&Wait>) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        if wait == Some(&Wait::Connect) {
            return Ok(self.connect_status(&f));
        }
        let default = SocketAddrV4::new(self.settings.remote_ip, self.settings.connect_port);
        let addr_expr = arg(call, 1)?;
        let dst = sockaddr(addr_expr, default)?;
        let now = self.now_instant();
        let is_default = matches!(addr_expr, Expr::Ellipsis);
        match (f.kind, dst) {
            (Kind::Udp, None) => Ok(match self.engine.udp_disconnect(f.h) {
                Ok(()) => ok(0),
                Err(e) => net(e),
            }),
            (Kind::Udp, Some(a)) => match self.engine.udp_connect(now, f.h, a) {
                Ok(()) => {
                    self.learn_connect(&f, a, is_default);
                    Ok(ok(0))
                }
                Err(e) => Ok(net(e)),
            },
            (Kind::Tcp, None) => Ok(errno("EAFNOSUPPORT")),
            (Kind::Tcp, Some(a)) => {
                let r = tcp::connect(&mut self.engine, now, f.h, a);
                if matches!(r, Ok(()) | Err(NetError::InProgress)) {
                    self.learn_connect(&f, a, is_default);
                }
                Ok(match r {
                    Ok(()) => ok(0),
                    Err(NetError::InProgress) if f.nonblocking => errno("EINPROGRESS"),
                    Err(NetError::InProgress) => Outcome::Blocked(Wait::Connect),
                    Err(e) => net(e),
                })
            }
        }
    }

    /// After `connect`: the default connection becomes this one.
    fn learn_connect(&mut self, f: &Fd, remote: SocketAddrV4, is_default: bool) {
        if !is_default && self.def.local_port.is_some() {
            return;
        }
        if *remote.ip() == self.settings.remote_ip {
            self.def.remote_port = remote.port();
        }
        if let Ok(Some(local)) = self.local_addr(f) {
            self.def.local_port = Some(local.port());
        }
        self.def.tcp = f.kind == Kind::Tcp;
    }

    /// Whether a blocking TCP connect has finished.
    fn connect_status(&mut self, f: &Fd) -> Outcome {
        match tcp::take_error(&mut self.engine, f.h) {
            Ok(Some(e)) => return net(e),
            Err(e) => return net(e),
            Ok(None) => {}
        }
        match tcp::connected(&self.engine, f.h) {
            Ok(true) => ok(0),
            Ok(false) => match self.engine.readiness(f.h) {
                Ok(r) if r.hangup && !r.writable => errno("ECONNREFUSED"),
                Ok(_) => Outcome::Blocked(Wait::Connect),
                Err(e) => net(e),
            },
            Err(e) => net(e),
        }
    }

    fn sys_recv(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let len = len_arg(call, 2)?;
        let flags = if call.name == "read" {
            0
        } else {
            opt_int(call, 3, 0)?
        };
        let (oob, peek, trunc, dontwait) = (
            flags & 1 != 0,
            flags & 2 != 0,
            flags & 0x20 != 0,
            flags & 0x40 != 0,
        );
        let mut buf = vec![0u8; len];
        match f.kind {
            Kind::Udp => match self.engine.udp_recv_from(f.h, &mut buf, peek) {
                Ok(r) => {
                    let n = if trunc { r.len } else { r.copied };
                    let mismatch = if call.name == "recvfrom" {
                        check_sockaddr("recvfrom", call.args.get(4), r.from)?
                    } else {
                        None
                    };
                    Ok(checked(n as i64, mismatch))
                }
                Err(NetError::WouldBlock) => Ok(Self::would_block(&f, dontwait)),
                Err(e) => Ok(net(e)),
            },
            Kind::Tcp => {
                let now = self.now_instant();
                match tcp::recv(&mut self.engine, now, f.h, &mut buf, peek, oob) {
                    Ok(n) => Ok(ok(n as i64)),
                    Err(NetError::WouldBlock) => Ok(Self::would_block(&f, dontwait)),
                    Err(e) => Ok(net(e)),
                }
            }
        }
    }

    fn sys_send(&mut self, call: &Syscall, wait: Option<&Wait>) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let data = data_arg(call, 1, 2)?;
        let flags = if call.name == "write" {
            0
        } else {
            opt_int(call, 3, 0)?
        };
        let (oob, dontwait) = (flags & 1 != 0, flags & 0x40 != 0);
        let now = self.now_instant();
        match f.kind {
            Kind::Udp => {
                let dst = if call.name == "sendto" {
                    let default = SocketAddrV4::new(self.settings.remote_ip, self.def.remote_port);
                    match call.args.get(4) {
                        Some(e) => sockaddr(e, default)?,
                        None => None,
                    }
                } else {
                    None
                };
                match self.engine.udp_send_to(now, f.h, &data, dst) {
                    Ok(n) => {
                        if self.def.local_port.is_none() {
                            if let Ok(Some(local)) = self.engine.udp_local_addr(f.h) {
                                self.def.local_port = Some(local.port());
                                self.def.tcp = false;
                            }
                        }
                        Ok(ok(n as i64))
                    }
                    Err(NetError::WouldBlock) => Ok(Self::would_block(&f, dontwait)),
                    Err(e) => Ok(net(e)),
                }
            }
            Kind::Tcp => {
                let done = match wait {
                    Some(Wait::Write { done }) => *done,
                    _ => 0,
                };
                let rest = data.get(done..).unwrap_or(&[]);
                match tcp::send(&mut self.engine, now, f.h, rest, oob) {
                    Ok(n) => {
                        let total = done + n;
                        if total < data.len() && !(f.nonblocking || dontwait) {
                            Ok(Outcome::Blocked(Wait::Write { done: total }))
                        } else {
                            Ok(ok(total as i64))
                        }
                    }
                    Err(NetError::WouldBlock) if done > 0 && (f.nonblocking || dontwait) => {
                        Ok(ok(done as i64))
                    }
                    Err(NetError::WouldBlock) if f.nonblocking || dontwait => Ok(errno("EAGAIN")),
                    Err(NetError::WouldBlock) => Ok(Outcome::Blocked(Wait::Write { done })),
                    Err(e) if done > 0 => {
                        let _ = e;
                        Ok(ok(done as i64))
                    }
                    Err(e) => Ok(net(e)),
                }
            }
        }
    }

    fn sys_close(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (fd, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        self.fds.remove(&fd);
        let now = self.now_instant();
        Ok(match self.engine.close(now, f.h) {
            Ok(()) => ok(0),
            Err(e) => net(e),
        })
    }

    fn sys_shutdown(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let how = int_arg(call, 1)?;
        if !(0..=2).contains(&how) {
            return Ok(errno("EINVAL"));
        }
        let now = self.now_instant();
        Ok(match f.kind {
            Kind::Udp => match self.engine.udp_peer_addr(f.h) {
                Ok(Some(_)) => ok(0),
                Ok(None) => errno("ENOTCONN"),
                Err(e) => net(e),
            },
            Kind::Tcp => match tcp::shutdown(&mut self.engine, now, f.h, how) {
                Ok(()) => ok(0),
                Err(e) => net(e),
            },
        })
    }

    fn sys_setsockopt(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let level = int_arg(call, 1)?;
        let name = int_arg(call, 2)?;
        let mut bytes = option_bytes(arg(call, 3)?)?;
        // C hands the kernel `optlen` bytes of the value.
        if let Some(len) = call.args.get(4).filter(|e| !matches!(e, Expr::Ellipsis)) {
            let len = usize::try_from(eval(len)?).map_err(|_| "optlen must be >= 0")?;
            bytes.resize(len.min(MAX_BUF), 0);
        }
        let (Ok(level), Ok(name)) = (i32::try_from(level), i32::try_from(name)) else {
            return Ok(errno("ENOPROTOOPT"));
        };
        // The descriptor's own timeouts are not modelled: the engine's options are.
        let now = self.instant();
        Ok(
            match sockopt::set(
                &mut self.engine,
                now,
                f.h,
                f.kind.into(),
                level,
                name,
                &bytes,
            ) {
                Ok(_) => ok(0),
                Err(e) => errno(e.name()),
            },
        )
    }

    fn sys_getsockopt(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let level = int_arg(call, 1)?;
        let name = int_arg(call, 2)?;
        let value = arg(call, 3)?;
        let optlen = match call.args.get(4) {
            Some(Expr::Ellipsis) | None => 64,
            Some(e) => usize::try_from(eval(e)?).map_err(|_| "optlen must be >= 0")?,
        };
        let (Ok(level), Ok(name)) = (i32::try_from(level), i32::try_from(name)) else {
            return Ok(errno("ENOPROTOOPT"));
        };
        let got = match sockopt::get(
            &mut self.engine,
            f.h,
            f.kind.into(),
            level,
            name,
            optlen.min(MAX_BUF),
            sockopt::Timeouts::default(),
        ) {
            Ok(b) => b,
            Err(e) => return Ok(errno(e.name())),
        };
        if let Some(fields) = struct_fields(value) {
            // `struct linger`: each field the script names is compared.
            let word = |i: usize| {
                got.get(i * 4..i * 4 + 4).map_or(0, |w| {
                    i64::from(i32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
                })
            };
            let mut mismatch = None;
            for (names, pos) in [(["l_onoff"], 0), (["l_linger"], 1)] {
                if let Some(e) = field(fields, &names, pos) {
                    let want = eval(e)?;
                    let have = word(pos);
                    if want != have && mismatch.is_none() {
                        mismatch = Some(format!(
                            "getsockopt {}: {} is {have}, the script expects {want}",
                            if level == 1 && name == 13 {
                                "SO_LINGER"
                            } else {
                                ""
                            },
                            names[0]
                        ));
                    }
                }
            }
            return Ok(checked(0, mismatch));
        }
        // An int (or the single byte Linux gives a short buffer).
        let got = match got.len() {
            0 => 0,
            1..=3 => i64::from(got[0]),
            _ => i64::from(i32::from_ne_bytes([got[0], got[1], got[2], got[3]])),
        };
        let mismatch = match value {
            Expr::Ellipsis => None,
            e => {
                let want = eval(e).map_err(|m| format!("option value: {m}"))?;
                (want != got).then(|| {
                    let show = |v: i64| match (level, name) {
                        (1, 4) => match errno_name(v) {
                            Some(n) => format!("{v} ({n})"),
                            None => v.to_string(),
                        },
                        _ => v.to_string(),
                    };
                    format!(
                        "getsockopt: the value is {}, the script expects {}",
                        show(got),
                        show(want)
                    )
                })
            }
        };
        Ok(checked(0, mismatch))
    }

    fn sys_fcntl(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (fd, Some(mut f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let cmd = int_arg(call, 1)?;
        Ok(match cmd {
            3 => ok(2 | if f.nonblocking { 0o4000 } else { 0 }),
            4 => {
                f.nonblocking = int_arg(call, 2)? & 0o4000 != 0;
                self.fds.insert(fd, f);
                ok(0)
            }
            1 | 2 => ok(0),
            _ => errno("EINVAL"),
        })
    }

    fn sys_ioctl(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (fd, Some(mut f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let req = int_arg(call, 1)?;
        let got = match req {
            0x5421 => {
                f.nonblocking = int_arg(call, 2)? != 0;
                self.fds.insert(fd, f);
                return Ok(ok(0));
            }
            0x541b => match f.kind {
                Kind::Udp => self.engine.udp_next_len(f.h),
                Kind::Tcp => tcp::recv_queue_len(&self.engine, f.h),
            },
            0x5411 => match f.kind {
                Kind::Udp => Ok(0),
                Kind::Tcp => tcp::send_queue_len(&self.engine, f.h),
            },
            0x8905 => match f.kind {
                Kind::Udp => return Ok(errno("EINVAL")),
                Kind::Tcp => tcp::at_mark(&self.engine, f.h).map(usize::from),
            },
            _ => return Ok(errno("EINVAL")),
        };
        let got = match got {
            Ok(v) => v as i64,
            Err(e) => return Ok(net(e)),
        };
        let mismatch = match call.args.get(2) {
            None | Some(Expr::Ellipsis) => None,
            Some(e) => {
                let want = eval(e).map_err(|m| format!("argument 3: {m}"))?;
                (want != got)
                    .then(|| format!("ioctl: the value is {got}, the script expects {want}"))
            }
        };
        Ok(checked(0, mismatch))
    }

    fn sys_poll(&mut self, call: &Syscall, wait: Option<&Wait>) -> Result<Outcome, String> {
        let Expr::Array(entries) = arg(call, 0)? else {
            return Err("the first argument must be an array of {fd=..., events=...}".to_string());
        };
        let timeout = opt_int(call, 2, -1)?;
        let mut ready = 0;
        let mut mismatch = None;
        let mut expected = Vec::new();
        let mut actual = Vec::new();
        for e in entries {
            let Expr::Struct(fields) = e else {
                return Err(format!("poll entry '{e}' is not a struct"));
            };
            let fd = field(fields, &["fd"], 0)
                .map(eval)
                .transpose()?
                .ok_or("poll entry without fd")?;
            let events = field(fields, &["events"], 1)
                .map(eval)
                .transpose()?
                .unwrap_or(0);
            let want = match field(fields, &["revents"], 2) {
                None | Some(Expr::Ellipsis) => None,
                Some(e) => Some(eval(e)?),
            };
            let revents = match self.fds.get(&fd) {
                None => 0x20,
                Some(f) => match self.engine.readiness(f.h) {
                    Ok(r) => readiness_bits(r) & (events | 0x8 | 0x10),
                    Err(_) => 0x20,
                },
            };
            if revents != 0 {
                ready += 1;
            }
            expected.push((fd, want));
            actual.push(revents);
        }
        let timed_out = match wait {
            Some(Wait::Poll { deadline }) => deadline.is_some_and(|d| self.now >= d),
            _ => timeout == 0,
        };
        if ready == 0 && !timed_out {
            let deadline = match wait {
                Some(Wait::Poll { deadline }) => *deadline,
                _ => (timeout >= 0).then(|| {
                    self.now
                        .saturating_add((timeout as u64).saturating_mul(1000))
                }),
            };
            return Ok(Outcome::Blocked(Wait::Poll { deadline }));
        }
        for ((fd, want), got) in expected.iter().zip(&actual) {
            if let Some(want) = want {
                if *want != *got && mismatch.is_none() {
                    mismatch = Some(format!(
                        "poll: fd {fd} has revents {}, the script expects {}",
                        poll_bits(*got),
                        poll_bits(*want)
                    ));
                }
            }
        }
        Ok(checked(ready, mismatch))
    }

    fn sys_sockname(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let peer = call.name == "getpeername";
        let r = match (f.kind, peer) {
            (Kind::Udp, false) => self.engine.udp_local_addr(f.h),
            (Kind::Udp, true) => self.engine.udp_peer_addr(f.h),
            (Kind::Tcp, false) => tcp::local_addr(&self.engine, f.h),
            (Kind::Tcp, true) => tcp::peer_addr(&self.engine, f.h),
        };
        match r {
            Ok(Some(a)) => Ok(checked(0, check_sockaddr(&call.name, call.args.get(1), a)?)),
            Ok(None) if peer => Ok(errno("ENOTCONN")),
            Ok(None) => {
                let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
                Ok(checked(
                    0,
                    check_sockaddr(&call.name, call.args.get(1), any)?,
                ))
            }
            Err(e) => Ok(net(e)),
        }
    }
}
