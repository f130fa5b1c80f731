//! `poll`, `ppoll`, `select`, `pselect` over stack sockets and kernel descriptors
//! together.
//!
//! When no stack socket is among the descriptors the call goes to the C library
//! unchanged. Otherwise: drain the stack sockets' eventfds, compute their
//! readiness on the stack (without waiting), then wait in the kernel on the
//! kernel descriptors and, if no stack socket was ready, on the eventfds too (the
//! runtime's event hook writes to them on every change); woken by an eventfd
//! only, look again. Draining before looking means no change can be missed. A
//! signal ends the wait with `EINTR`, as the kernel's `poll` does.

use std::time::{Duration, Instant};

use libc::{c_int, fd_set, nfds_t, pollfd, sigset_t, timespec, timeval};
use sockets::PollFd;

use crate::calls::net_for;
use crate::real;
use crate::state::{get_errno, set_errno, stack_fd};

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// Drains a stack socket's eventfd (it is non-blocking).
pub(crate) fn drain(fd: c_int) {
    let mut b = [0u8; 8];
    // SAFETY: an 8-byte read into a valid buffer.
    unsafe { real::read(fd, b.as_mut_ptr().cast(), 8) };
}

/// Waits on `fds`, some of them stack sockets, until one is ready, `deadline`
/// passes, or a signal comes (`-1`, `EINTR`). `mask`: `ppoll`'s signal mask
/// (NULL for none).
unsafe fn mixed(fds: &mut [pollfd], deadline: Option<Instant>, mask: *const sigset_t) -> c_int {
    let stack: Vec<(usize, i32)> = fds
        .iter()
        .enumerate()
        .filter_map(|(i, p)| stack_fd(p.fd).map(|s| (i, s)))
        .collect();
    let Some(net) = net_for("poll") else {
        for &(i, _) in &stack {
            fds[i].revents = libc::POLLNVAL;
        }
        return stack.len() as c_int;
    };
    for &(i, _) in &stack {
        crate::state::watch(fds[i].fd, true);
    }
    // SAFETY: as the caller promised.
    let r = unsafe { mixed_watched(net, fds, &stack, deadline, mask) };
    for &(i, _) in &stack {
        crate::state::watch(fds[i].fd, false);
    }
    r
}

unsafe fn mixed_watched(
    net: &sockets::Stack,
    fds: &mut [pollfd],
    stack: &[(usize, i32)],
    deadline: Option<Instant>,
    mask: *const sigset_t,
) -> c_int {
    // What is asked does not change between turns: the stack's entries, and
    // where the kernel's descriptors are in `fds`.
    let mut pf: Vec<PollFd> = stack
        .iter()
        .map(|&(i, s)| PollFd::new(s, fds[i].events))
        .collect();
    let kernel_at: Vec<usize> = (0..fds.len())
        .filter(|&i| stack_fd(fds[i].fd).is_none())
        .collect();
    let mut kernel: Vec<pollfd> = Vec::with_capacity(fds.len());
    loop {
        for &(i, _) in stack {
            drain(fds[i].fd);
        }
        if let Err(e) = net.poll(&mut pf, 0) {
            set_errno(e.raw());
            return -1;
        }
        let mut ready = 0;
        for (&(i, _), p) in stack.iter().zip(&pf) {
            fds[i].revents = p.revents;
            if p.revents != 0 {
                ready += 1;
            }
        }
        kernel.clear();
        kernel.extend(kernel_at.iter().map(|&i| pollfd {
            fd: fds[i].fd,
            events: fds[i].events,
            revents: 0,
        }));
        if ready == 0 {
            for &(i, _) in stack {
                kernel.push(pollfd {
                    fd: fds[i].fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
        }
        let wait = if ready > 0 {
            Some(Duration::ZERO)
        } else {
            remaining(deadline)
        };
        let ts = wait.map(|d| timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        });
        let tsp = ts
            .as_ref()
            .map_or(std::ptr::null(), |t| t as *const timespec);
        // SAFETY: a valid array of pollfd, a timespec or NULL, the caller's mask.
        let r = unsafe { real::ppoll(kernel.as_mut_ptr(), kernel.len() as nfds_t, tsp, mask) };
        if r < 0 {
            return -1;
        }
        for (k, &i) in kernel.iter().zip(&kernel_at) {
            fds[i].revents = k.revents;
            if k.revents != 0 {
                ready += 1;
            }
        }
        if ready > 0 {
            return ready;
        }
        if wait == Some(Duration::ZERO) || deadline.is_some_and(|d| Instant::now() >= d) {
            return 0;
        }
    }
}

fn has_stack(fds: &[pollfd]) -> bool {
    fds.iter().any(|p| stack_fd(p.fd).is_some())
}

unsafe fn as_slice<'a>(fds: *mut pollfd, n: nfds_t) -> Option<&'a mut [pollfd]> {
    if fds.is_null() || n == 0 || n > 1 << 20 {
        return None;
    }
    // SAFETY: the caller's array of `n` pollfd.
    Some(unsafe { std::slice::from_raw_parts_mut(fds, n as usize) })
}

fn deadline_ms(ms: c_int) -> Option<Instant> {
    u64::try_from(ms)
        .ok()
        .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)))
}

fn deadline_ts(t: *const timespec) -> Option<Instant> {
    if t.is_null() {
        return None;
    }
    // SAFETY: the caller's timespec.
    let t = unsafe { &*t };
    let d = Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    );
    Instant::now().checked_add(d)
}

/// `poll(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn poll(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int {
    match unsafe { as_slice(fds, n) } {
        Some(s) if has_stack(s) => unsafe { mixed(s, deadline_ms(timeout), std::ptr::null()) },
        _ => unsafe { real::poll(fds, n, timeout) },
    }
}

/// glibc's fortified `poll`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn __poll_chk(
    fds: *mut pollfd,
    n: nfds_t,
    timeout: c_int,
    room: usize,
) -> c_int {
    if (n as usize).saturating_mul(std::mem::size_of::<pollfd>()) > room {
        crate::io::chk_fail();
    }
    unsafe { poll(fds, n, timeout) }
}

/// `ppoll(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    n: nfds_t,
    t: *const timespec,
    mask: *const sigset_t,
) -> c_int {
    match unsafe { as_slice(fds, n) } {
        Some(s) if has_stack(s) => unsafe { mixed(s, deadline_ts(t), mask) },
        _ => unsafe { real::ppoll(fds, n, t, mask) },
    }
}

/// glibc's fortified `ppoll`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn __ppoll_chk(
    fds: *mut pollfd,
    n: nfds_t,
    t: *const timespec,
    mask: *const sigset_t,
    room: usize,
) -> c_int {
    if (n as usize).saturating_mul(std::mem::size_of::<pollfd>()) > room {
        crate::io::chk_fail();
    }
    unsafe { ppoll(fds, n, t, mask) }
}

/// The `select` sets as `pollfd`s, with Linux's mapping (`POLLIN_SET`,
/// `POLLOUT_SET`, `POLLEX_SET`), if a stack socket is among them.
unsafe fn select_common(
    n: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    deadline: Option<Instant>,
    mask: *const sigset_t,
) -> Option<c_int> {
    let n = n.clamp(0, libc::FD_SETSIZE as c_int);
    let isset = |set: *mut fd_set, fd: c_int| {
        // SAFETY: the caller's fd_set.
        !set.is_null() && unsafe { libc::FD_ISSET(fd, set) }
    };
    let mut pf = Vec::new();
    let mut any_stack = false;
    for fd in 0..n {
        let mut ev = 0;
        if isset(r, fd) {
            ev |= libc::POLLIN;
        }
        if isset(w, fd) {
            ev |= libc::POLLOUT;
        }
        if isset(e, fd) {
            ev |= libc::POLLPRI;
        }
        if ev != 0 {
            any_stack |= stack_fd(fd).is_some();
            pf.push(pollfd {
                fd,
                events: ev,
                revents: 0,
            });
        }
    }
    if !any_stack {
        return None;
    }
    // SAFETY: our own array.
    let k = unsafe { mixed(&mut pf, deadline, mask) };
    if k < 0 {
        return Some(-1);
    }
    for set in [r, w, e] {
        if !set.is_null() {
            // SAFETY: the caller's fd_set.
            for p in &pf {
                unsafe { libc::FD_CLR(p.fd, set) };
            }
        }
    }
    let mut total = 0;
    for p in &pf {
        if p.revents & libc::POLLNVAL != 0 {
            set_errno(libc::EBADF);
            return Some(-1);
        }
        let rd = p.revents
            & (libc::POLLIN | libc::POLLRDNORM | libc::POLLRDBAND | libc::POLLHUP | libc::POLLERR)
            != 0;
        let wr =
            p.revents & (libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND | libc::POLLERR) != 0;
        let ex = p.revents & libc::POLLPRI != 0;
        for (set, bit, yes) in [
            (r, libc::POLLIN, rd),
            (w, libc::POLLOUT, wr),
            (e, libc::POLLPRI, ex),
        ] {
            if yes && p.events & bit != 0 && !set.is_null() {
                // SAFETY: as above.
                unsafe { libc::FD_SET(p.fd, set) };
                total += 1;
            }
        }
    }
    Some(total)
}

/// `select(2)`; the timeout is updated with the time left, as Linux does.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn select(
    n: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    t: *mut timeval,
) -> c_int {
    let deadline = if t.is_null() {
        None
    } else {
        // SAFETY: the caller's timeval.
        let tv = unsafe { &*t };
        if tv.tv_sec < 0 || !(0..1_000_000).contains(&tv.tv_usec) {
            return unsafe { real::select(n, r, w, e, t) };
        }
        Instant::now().checked_add(Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000))
    };
    match unsafe { select_common(n, r, w, e, deadline, std::ptr::null()) } {
        None => unsafe { real::select(n, r, w, e, t) },
        Some(k) => {
            if let (false, Some(d)) = (t.is_null(), deadline) {
                let errno = get_errno();
                let left = d.saturating_duration_since(Instant::now());
                // SAFETY: as above.
                unsafe {
                    (*t).tv_sec = left.as_secs() as libc::time_t;
                    (*t).tv_usec = left.subsec_micros() as libc::suseconds_t;
                }
                set_errno(errno);
            }
            k
        }
    }
}

/// `pselect(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn pselect(
    n: c_int,
    r: *mut fd_set,
    w: *mut fd_set,
    e: *mut fd_set,
    t: *const timespec,
    mask: *const sigset_t,
) -> c_int {
    match unsafe { select_common(n, r, w, e, deadline_ts(t), mask) } {
        None => unsafe { real::pselect(n, r, w, e, t, mask) },
        Some(k) => k,
    }
}
