//! `epoll_create`, `epoll_ctl` and `epoll_wait` over the script's sockets.
//!
//! An epoll descriptor shares the socket descriptors' numbers and holds its
//! registrations in order. Level-triggered ones report whatever is ready at
//! each wait; `EPOLLET` ones report what is ready once per wake-up of their
//! socket (the engine's socket events: data in, room to send, a state
//! change), and when added or modified, as Linux queues an event on every
//! wake-up; `EPOLLONESHOT` ones fall silent after one report until
//! `EPOLL_CTL_MOD`. A wait with nothing to report blocks like `poll` until
//! its timeout.
//!
//! `epoll_wait`'s second argument is the expected first event,
//! `{events=EPOLLIN, fd=4}` (or `ptr=N`/`u64=N` for the data word), or an
//! array of them; `{events=0, ptr=0}` when none is expected.

use std::collections::BTreeMap;

use super::*;

/// `EPOLLET`.
const EPOLLET: i64 = 1 << 31;
/// `EPOLLONESHOT`.
const EPOLLONESHOT: i64 = 1 << 30;
/// What a registration always reports: `EPOLLERR | EPOLLHUP`.
const ALWAYS: i64 = 0x8 | 0x10;

/// The `epoll_*` constants by name.
pub(crate) fn epoll_constant(name: &str) -> Option<i64> {
    Some(match name {
        "EPOLLIN" => 0x1,
        "EPOLLPRI" => 0x2,
        "EPOLLOUT" => 0x4,
        "EPOLLERR" => 0x8,
        "EPOLLHUP" => 0x10,
        "EPOLLRDNORM" => 0x40,
        "EPOLLWRNORM" => 0x100,
        "EPOLLRDHUP" => 0x2000,
        "EPOLLET" => EPOLLET,
        "EPOLLONESHOT" => EPOLLONESHOT,
        "EPOLL_CTL_ADD" => 1,
        "EPOLL_CTL_DEL" => 2,
        "EPOLL_CTL_MOD" => 3,
        "EPOLL_CLOEXEC" => 0o2000000,
        _ => return None,
    })
}

/// One registered descriptor.
#[derive(Debug, Clone)]
struct Reg {
    fd: i64,
    events: i64,
    data: i64,
    /// The socket woke up since the last report (edge-triggered).
    woken: bool,
    /// One-shot and reported: silent until modified.
    disarmed: bool,
}

impl Reg {
    /// A registration, added or modified: it reports what is ready at the
    /// next wait, as Linux queues an event for a ready descriptor.
    fn new(fd: i64, events: i64, data: i64) -> Reg {
        Reg {
            fd,
            events,
            data,
            woken: true,
            disarmed: false,
        }
    }
}

/// One epoll instance.
#[derive(Debug, Clone, Default)]
pub(crate) struct Epoll {
    regs: Vec<Reg>,
}

/// The epoll instances, by descriptor number.
pub(crate) type Epolls = BTreeMap<i64, Epoll>;

/// `{events=..., fd=N}` (or `ptr`, `u64`, `u32`): the mask and the data word.
fn event_of(e: &Expr) -> Result<(i64, i64), String> {
    let Some(fields) = struct_fields(e) else {
        return Err(format!("'{e}' is not a struct epoll_event"));
    };
    let events = field(fields, &["events"], 0)
        .map(eval)
        .transpose()?
        .unwrap_or(0);
    let data = field(fields, &["fd", "ptr", "u64", "u32", "data"], 1)
        .map(eval)
        .transpose()?
        .unwrap_or(0);
    Ok((events, data))
}

impl Interp {
    /// The lowest descriptor number no socket and no epoll instance holds.
    fn free_fd(&self) -> i64 {
        (3..)
            .find(|&n| self.fd_get(n).is_none() && !self.epolls.contains_key(&n))
            .unwrap_or(i64::MAX)
    }

    /// `epoll_create(size)`, `epoll_create1(flags)`.
    pub(super) fn sys_epoll_create(&mut self, call: &Syscall) -> Result<Outcome, String> {
        if call.name == "epoll_create" && int_arg(call, 0)? <= 0 {
            return Ok(errno("EINVAL"));
        }
        if self.fds.len() + self.epolls.len() >= self.fds.limit() {
            return Ok(errno("EMFILE"));
        }
        // In compatibility mode the script's number, when free (a name, as
        // in packetdrill).
        let named = match (&self.settings.compat, &call.result.value) {
            (Some(_), e) if call.result.errno.is_none() => eval(e)
                .ok()
                .filter(|&n| n >= 3 && self.fd_get(n).is_none() && !self.epolls.contains_key(&n)),
            _ => None,
        };
        let fd = named.unwrap_or_else(|| self.free_fd());
        self.epolls.insert(fd, Epoll::default());
        Ok(ok(fd))
    }

    /// `epoll_ctl(epfd, op, fd, {events=..., fd=...})`.
    pub(super) fn sys_epoll_ctl(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let epfd = int_arg(call, 0)?;
        let op = int_arg(call, 1)?;
        let fd = int_arg(call, 2)?;
        if !self.epolls.contains_key(&epfd)
            || (self.fd_get(fd).is_none() && !self.epolls.contains_key(&fd))
        {
            return Ok(errno("EBADF"));
        }
        if fd == epfd {
            return Ok(errno("EINVAL"));
        }
        let (events, data) = match op {
            2 => (0, 0),
            _ => event_of(arg(call, 3)?)?,
        };
        let Some(ep) = self.epolls.get_mut(&epfd) else {
            return Ok(errno("EBADF"));
        };
        let at = ep.regs.iter().position(|r| r.fd == fd);
        Ok(match (op, at) {
            (1, Some(_)) => errno("EEXIST"),
            (1, None) => {
                ep.regs.push(Reg::new(fd, events, data));
                ok(0)
            }
            (2 | 3, None) => errno("ENOENT"),
            (2, Some(i)) => {
                ep.regs.remove(i);
                ok(0)
            }
            (3, Some(i)) => {
                ep.regs[i] = Reg::new(fd, events, data);
                ok(0)
            }
            _ => errno("EINVAL"),
        })
    }

    /// `epoll_wait(epfd, events, maxevents, timeout_ms)` (and `epoll_pwait`,
    /// whose signal mask is ignored).
    pub(super) fn sys_epoll_wait(
        &mut self,
        call: &Syscall,
        wait: Option<&Wait>,
    ) -> Result<Outcome, String> {
        let epfd = int_arg(call, 0)?;
        let max = int_arg(call, 2)?;
        let timeout = opt_int(call, 3, -1)?;
        if max <= 0 {
            return Ok(errno("EINVAL"));
        }
        let Some(ep) = self.epolls.get(&epfd) else {
            return Ok(errno("EBADF"));
        };
        // Each registration's readiness now, and what it would report.
        let mut now_bits: Vec<i64> = Vec::with_capacity(ep.regs.len());
        let mut report: Vec<usize> = Vec::new();
        for (i, r) in ep.regs.iter().enumerate() {
            let bits = match self.fd_get(r.fd) {
                Some(f) => self
                    .engine
                    .readiness(f.h)
                    .map(readiness_bits)
                    .unwrap_or(0x8),
                None => 0,
            } & (r.events | ALWAYS);
            now_bits.push(bits);
            let due = r.events & EPOLLET == 0 || r.woken;
            if bits != 0 && due && !r.disarmed && (report.len() as i64) < max {
                report.push(i);
            }
        }
        if report.is_empty() {
            if let Some(blocked) = self.poll_blocks(wait, timeout) {
                return Ok(blocked);
            }
        }
        // Commit: a reported wake-up is consumed; one-shots fall silent.
        let mut got = Vec::new();
        if let Some(ep) = self.epolls.get_mut(&epfd) {
            for &i in &report {
                let r = &mut ep.regs[i];
                r.woken = false;
                r.disarmed = r.events & EPOLLONESHOT != 0;
                got.push((now_bits[i], r.data));
            }
        }
        let expected: Vec<&Expr> = match call.args.get(1) {
            Some(Expr::Array(items)) => items.iter().collect(),
            Some(e @ Expr::Struct(_)) => vec![e],
            _ => Vec::new(),
        };
        let mut mismatch = None;
        for (k, e) in expected.iter().enumerate() {
            let (want_events, want_data) = event_of(e)?;
            let (bits, data) = got.get(k).copied().unwrap_or((0, 0));
            if (bits, data) != (want_events, want_data) && mismatch.is_none() {
                mismatch = Some(format!(
                    "epoll_wait: event {} is {{events={}, data={data}}}, the script expects \
                     {{events={}, data={want_data}}}",
                    k + 1,
                    poll_bits(bits),
                    poll_bits(want_events)
                ));
            }
        }
        Ok(checked(got.len() as i64, mismatch))
    }

    /// Socket `h` woke up: its edge-triggered registrations may report.
    pub(crate) fn epoll_woken(&mut self, h: SocketHandle) {
        if self.epolls.is_empty() {
            return;
        }
        let fds: Vec<i64> = self
            .epolls
            .values()
            .flat_map(|ep| ep.regs.iter().map(|r| r.fd))
            .filter(|&fd| self.fd_get(fd).is_some_and(|f| f.h == h))
            .collect();
        for ep in self.epolls.values_mut() {
            for r in ep.regs.iter_mut().filter(|r| fds.contains(&r.fd)) {
                r.woken = true;
            }
        }
    }

    /// Closes an epoll descriptor; `false` if `fd` is none.
    pub(super) fn close_epoll(&mut self, fd: i64) -> bool {
        let closed = self.epolls.remove(&fd).is_some();
        for ep in self.epolls.values_mut() {
            ep.regs.retain(|r| r.fd != fd);
        }
        closed
    }
}
