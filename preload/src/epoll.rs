//! `epoll` over stack sockets and kernel descriptors together.
//!
//! The program's epoll instance is the kernel's. A stack socket added to it is
//! registered there by its eventfd, edge-triggered and tagged
//! (`data = TAG | fd`), so the kernel's `epoll_wait` wakes when the stack raises
//! an event on it; its interest and the program's `data` are kept here. Each
//! `epoll_wait` collects the kernel's events (the tags become "this socket
//! changed"), asks the stack which registered sockets are ready, and reports both;
//! it blocks in the kernel only when nothing is ready. Level-triggered entries are
//! reported while ready, `EPOLLET` ones once per change, `EPOLLONESHOT` ones once
//! until `EPOLL_CTL_MOD` re-arms them.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use libc::{c_int, epoll_event, sigset_t};
use parking_lot::Mutex;
use sockets::PollFd;

use crate::calls::net_for;
use crate::real;
use crate::state::{set_errno, stack_fd};

/// Marks a kernel event that stands for a stack socket's wake-up.
const TAG: u64 = 0x6e65_7473_0000_0000;
const TAG_MASK: u64 = 0xffff_ffff_0000_0000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    events: u32,
    data: u64,
    /// Changed since last reported (edge-triggered) / armed (one-shot).
    edge: bool,
    armed: bool,
}

/// epoll descriptor → the stack sockets registered in it.
static SETS: LazyLock<Mutex<HashMap<c_int, HashMap<c_int, Entry>>>> = LazyLock::new(Mutex::default);

/// A stack socket's number closed: drop it from every epoll instance (the
/// kernel drops its eventfd when the last number for it closes).
pub(crate) fn forget(fd: c_int) {
    for set in SETS.lock().values_mut() {
        set.remove(&fd);
    }
}

/// Stops watching the stack sockets of a closed epoll instance.
fn unwatch_all(set: HashMap<c_int, Entry>) {
    for fd in set.keys() {
        crate::state::watch(*fd, false);
    }
}

/// An epoll descriptor (or any kernel descriptor) closed.
pub(crate) fn forget_epoll(fd: c_int) {
    let gone = {
        let mut sets = SETS.lock();
        if sets.is_empty() {
            return;
        }
        sets.remove(&fd)
    };
    if let Some(set) = gone {
        unwatch_all(set);
    }
}

/// `epoll_ctl(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn epoll_ctl(
    epfd: c_int,
    op: c_int,
    fd: c_int,
    ev: *mut epoll_event,
) -> c_int {
    if stack_fd(fd).is_none() {
        return unsafe { real::epoll_ctl(epfd, op, fd, ev) };
    }
    let want = if op == libc::EPOLL_CTL_DEL {
        None
    } else if ev.is_null() {
        set_errno(libc::EFAULT);
        return -1;
    } else {
        // SAFETY: the caller's event (packed: copy the fields out).
        let e = unsafe { std::ptr::read_unaligned(ev) };
        Some((e.events, e.u64))
    };
    let mut kev = epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLET) as u32,
        u64: TAG | fd as u32 as u64,
    };
    // The kernel's registration is always the same (a MOD only checks that it
    // exists); the interest and data are kept here.
    // SAFETY: our own event for the eventfd.
    let r = unsafe { real::epoll_ctl(epfd, op, fd, &mut kev) };
    if r < 0 {
        return r;
    }
    let mut sets = SETS.lock();
    match (op, want) {
        (libc::EPOLL_CTL_DEL, _) => {
            if let Some(set) = sets.get_mut(&epfd) {
                if set.remove(&fd).is_some() {
                    crate::state::watch(fd, false);
                }
            }
        }
        (_, Some((events, data))) => {
            if op == libc::EPOLL_CTL_ADD {
                crate::state::watch(fd, true);
            }
            sets.entry(epfd).or_default().insert(
                fd,
                Entry {
                    events,
                    data,
                    edge: true,
                    armed: true,
                },
            );
        }
        _ => {}
    }
    0
}

/// The stack sockets of `epfd` that are ready now, as events (at most `room`).
fn stack_ready(epfd: c_int, room: usize, out: &mut Vec<epoll_event>) {
    let Some(net) = net_for("epoll_wait") else {
        return;
    };
    let entries: Vec<(c_int, i32, Entry)> = {
        let sets = SETS.lock();
        let Some(set) = sets.get(&epfd) else { return };
        set.iter()
            .filter(|(_, e)| e.armed)
            .filter(|(_, e)| e.events & libc::EPOLLET as u32 == 0 || e.edge)
            .filter_map(|(&fd, e)| stack_fd(fd).map(|s| (fd, s, *e)))
            .collect()
    };
    if entries.is_empty() {
        return;
    }
    let mut pf: Vec<PollFd> = entries
        .iter()
        .map(|&(_, s, e)| PollFd::new(s, (e.events & 0xffff) as i16))
        .collect();
    if net.poll(&mut pf, 0).is_err() {
        return;
    }
    let mut sets = SETS.lock();
    let Some(set) = sets.get_mut(&epfd) else {
        return;
    };
    for (&(fd, _, e), p) in entries.iter().zip(&pf) {
        let Some(cur) = set.get_mut(&fd) else {
            continue;
        };
        if cur.events & libc::EPOLLET as u32 != 0 {
            // Looked at: the next report needs a new change.
            cur.edge = false;
        }
        if p.revents == 0 || out.len() >= room {
            if p.revents != 0 {
                cur.edge = true; // not reported for lack of room: keep it
            }
            continue;
        }
        if e.events & libc::EPOLLONESHOT as u32 != 0 {
            cur.armed = false;
        }
        out.push(epoll_event {
            events: p.revents as u16 as u32,
            u64: e.data,
        });
    }
}

unsafe fn wait(
    epfd: c_int,
    evs: *mut epoll_event,
    max: c_int,
    timeout: c_int,
    mask: *const sigset_t,
) -> c_int {
    let has_stack = SETS.lock().get(&epfd).is_some_and(|s| !s.is_empty());
    if !has_stack || evs.is_null() || max <= 0 {
        return unsafe { real::epoll_pwait(epfd, evs, max, timeout, mask) };
    }
    let room = max as usize;
    let deadline = u64::try_from(timeout)
        .ok()
        .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
    let mut kbuf: Vec<epoll_event> = vec![epoll_event { events: 0, u64: 0 }; room];
    let mut out: Vec<epoll_event> = Vec::with_capacity(room);
    let mut first = true;
    loop {
        let ms = if first {
            0
        } else {
            match deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    c_int::try_from(left.as_millis()).unwrap_or(c_int::MAX)
                }
            }
        };
        // SAFETY: our own buffer of `room` events.
        let k = unsafe { real::epoll_pwait(epfd, kbuf.as_mut_ptr(), max, ms, mask) };
        if k < 0 {
            return -1;
        }
        out.clear();
        {
            let mut sets = SETS.lock();
            let set = sets.entry(epfd).or_default();
            for e in &kbuf[..k as usize] {
                let e = *e;
                let data = e.u64;
                if data & TAG_MASK == TAG {
                    let fd = (data & 0xffff_ffff) as c_int;
                    if let Some(ent) = set.get_mut(&fd) {
                        ent.edge = true;
                    }
                    crate::wait::drain(fd);
                } else {
                    out.push(e);
                }
            }
        }
        stack_ready(epfd, room, &mut out);
        if !out.is_empty() {
            let n = out.len().min(room);
            // SAFETY: the caller's array of `max` events.
            unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), evs, n) };
            return n as c_int;
        }
        let expired = if first {
            timeout == 0
        } else {
            k == 0 || deadline.is_some_and(|d| Instant::now() >= d)
        };
        if expired {
            return 0;
        }
        first = false;
    }
}

/// `epoll_wait(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn epoll_wait(
    epfd: c_int,
    evs: *mut epoll_event,
    max: c_int,
    timeout: c_int,
) -> c_int {
    unsafe { wait(epfd, evs, max, timeout, std::ptr::null()) }
}

/// `epoll_pwait(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn epoll_pwait(
    epfd: c_int,
    evs: *mut epoll_event,
    max: c_int,
    timeout: c_int,
    mask: *const sigset_t,
) -> c_int {
    unsafe { wait(epfd, evs, max, timeout, mask) }
}
