//! The script's "kernel": system calls on virtual time.
//!
//! A file-descriptor table (sockets get the lowest free number from 3), the
//! `O_NONBLOCK` flag, and blocking: a call that would block on a blocking
//! socket is parked and retried after every engine event until it completes,
//! times out (`poll`) or misses its end time. Arguments follow packetdrill:
//! `...` means "the interpreter fills it in": `bind(3, ..., ...)` binds
//! `0.0.0.0:--bind_port`, `connect(3, ..., ...)` connects to
//! `--remote_ip:--connect_port`, a `...` buffer is zeros.

mod args;
mod calls;
mod epoll;
mod msg;
mod options;

use std::net::{Ipv4Addr, SocketAddrV4};

use sockets::{sockopt, SocketKind};
use stack::{Instant, NetError, Readiness, SocketHandle};

use super::consts::{canonical_errno, constant, errno_name, errno_of, errno_text};
use super::{secs, tcp, Failure, Interp, Pending};
use crate::ast::*;
pub(crate) use args::eval;
use args::*;
pub(crate) use epoll::{epoll_constant, Epolls};

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
    /// A blocking `write` that has queued `done` bytes so far; `connecting`
    /// when it began before the connection was made (a Fast Open send): a
    /// failed handshake is then its error, not a short count.
    Write { done: usize, connecting: bool },
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
        // What the call itself changed wakes no edge-triggered epoll
        // registration (Linux wakes them from the network side).
        self.user_call = true;
        let r = self.after_engine_call();
        self.user_call = false;
        r
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
                    return Err(self.timing_failure(&p, "returned", Some(&done.ret)));
                }
                self.user_call = true;
                self.drain();
                self.user_call = false;
            }
            Outcome::Blocked(wait) => {
                if self.now > p.end.saturating_add(p.tol) {
                    return Err(self.timing_failure(&p, "was still blocked", None));
                }
                self.pending = Some(Pending { wait, ..p });
            }
        }
        Ok(())
    }

    /// A blocking call that returned (`ret`), or is still blocked, outside its
    /// expected time.
    fn timing_failure(
        &self,
        p: &Pending,
        what: &str,
        ret: Option<&Result<i64, &'static str>>,
    ) -> Failure {
        let prefix = if ret.is_some() { "timing error: " } else { "" };
        Failure {
            line: p.line,
            message: format!(
                "{prefix}{} (started at {}) {what} at {}; the script expects it to return at {} (tolerance {})",
                p.call.name,
                secs(p.start),
                secs(self.now),
                secs(p.end),
                secs(p.tol)
            ),
            expected: Some(p.call.to_string()),
            actual: ret.map(|r| with_result(&p.call, r)),
            time: self.now,
        }
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

    /// Gives a new socket the lowest free descriptor; with the table full, the
    /// socket is closed again and the call fails with `EMFILE`.
    pub(super) fn new_fd(&mut self, f: Fd, call: &Syscall) -> Result<i64, Outcome> {
        // In compatibility mode the script's descriptor numbers are names, as
        // in packetdrill: the call gets the number the script expects when
        // it is free.
        let named = match (&self.settings.compat, &call.result.value) {
            (Some(_), e) if call.result.errno.is_none() => eval(e)
                .ok()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| !self.epolls.contains_key(&i64::from(*n))),
            _ => None,
        };
        if let Some(n) = named.filter(|&n| n >= 3) {
            // A name the script uses again while its old socket stays open
            // (packetdrill rebinds it): the old socket moves out of the way.
            if let Ok(old) = self.fds.remove(n) {
                let spare =
                    (512..self.fds.limit() as i32).find(|&k| self.fd_get(i64::from(k)).is_none());
                match spare.map(|k| self.fds.insert_at(k, old)) {
                    Some(Ok(_)) => {}
                    _ => {
                        // No room: leave things as they were.
                        let _ = self.fds.insert_at(n, old);
                    }
                }
            }
            if let Ok(fd) = self.fds.insert_at(n, f) {
                return Ok(i64::from(fd));
            }
        }
        let epolls = &self.epolls;
        match self
            .fds
            .insert_but(f, |n| epolls.contains_key(&i64::from(n)))
        {
            Ok(fd) => Ok(i64::from(fd)),
            Err(e) => {
                let now = self.now_instant();
                let _ = self.engine.close(now, f.h);
                Err(errno(e.name()))
            }
        }
    }

    /// The descriptor named by script value `fd`, if open.
    pub(super) fn fd_get(&self, fd: i64) -> Option<Fd> {
        let fd = i32::try_from(fd).ok()?;
        self.fds.get(fd).ok().copied()
    }

    /// Updates the open descriptor `fd`.
    pub(super) fn fd_set(&mut self, fd: i64, f: Fd) {
        if let Some(slot) = i32::try_from(fd)
            .ok()
            .and_then(|fd| self.fds.get_mut(fd).ok())
        {
            *slot = f;
        }
    }

    /// Looks up argument `i` as a descriptor.
    fn fd_at(&self, call: &Syscall, i: usize) -> Result<(i64, Option<Fd>), String> {
        let fd = int_arg(call, i)?;
        Ok((fd, self.fd_get(fd)))
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

    /// A timed shell command's sysctls (compatibility mode): the stack's TCP
    /// configuration changes for what is made from now on.
    fn sys_sysctl(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let mut c = self.engine.config().clone();
        for a in &call.args {
            let crate::ast::Expr::Str(s) = a else {
                return Err(format!("{}: NAME=VALUE strings", call.name));
            };
            let (k, v) = s.split_once('=').unwrap_or((s, ""));
            if !super::settings::apply_sysctl(&mut c, k, v) {
                self.note(|| format!("sysctl {k}={v} has no counterpart here: ignored"));
            }
        }
        self.engine
            .set_tcp_config(c.tcp)
            .map_err(|e| format!("{}: {e}", call.name))?;
        Ok(ok(0))
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
            "writev" | "readv" | "sendmsg" | "recvmsg" => self.sys_vectored(call, wait),
            "epoll_create" | "epoll_create1" => self.sys_epoll_create(call),
            "epoll_ctl" => self.sys_epoll_ctl(call),
            "epoll_wait" | "epoll_pwait" => self.sys_epoll_wait(call, wait),
            "close" => self.sys_close(call),
            "shutdown" => self.sys_shutdown(call),
            "setsockopt" => self.sys_setsockopt(call),
            "getsockopt" => self.sys_getsockopt(call),
            "fcntl" => self.sys_fcntl(call),
            "ioctl" => self.sys_ioctl(call),
            "poll" => self.sys_poll(call, wait),
            "getsockname" | "getpeername" => self.sys_sockname(call),
            crate::compat::SYSCTL_CALL if self.settings.compat.is_some() => self.sys_sysctl(call),
            crate::compat::SKIP_CALL if self.settings.compat.is_some() => Ok(ok(0)),
            // Calls about files and pipes, which a network stack does not have.
            "open" | "openat" | "sendfile" | "splice" | "pipe" | "pipe2" | "mmap" => Err(format!(
                "unsupported by the stack: {} (files and pipes)",
                call.name
            )),
            other => Err(format!(
                "unsupported system call '{other}' (supported: socket, bind, listen, accept, accept4, \
                 connect, read, recv, recvfrom, write, send, sendto, readv, writev, recvmsg, \
                 sendmsg, epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait, \
                 close, shutdown, setsockopt, \
                 getsockopt, fcntl, ioctl, poll, getsockname, getpeername)"
            )),
        }
    }
}
