//! `select` and `poll`: wait until one of several descriptors is ready.
//!
//! Both compute each socket's readiness under the engine lock and, if nothing is
//! ready, wait for any socket of the stack to change (the runtime's `wait_any`),
//! with the deadline of the timeout; they never spin. Readiness follows Linux.
//! Datagram sockets: readable when a datagram or an error is queued or after
//! `shutdown(SHUT_RD)`; writable always (UDP sends do not wait). Stream sockets
//! (`tcp_poll`): a listener is readable when a connection waits for `accept`; a
//! connection is readable when data, end of file or an error is there, writable
//! when connected with room in the send buffer (and when a non-blocking `connect`
//! ended, either way), in the except set (`POLLPRI`) while urgent data is pending;
//! `POLLRDHUP` once the peer shut down its side, `POLLHUP` when both directions are
//! shut or the connection is gone (and on a socket never connected, as Linux). An
//! error counts as readable and writable for `select`.

use std::time::Duration;

use stack::runtime::{StackGuard, WaitOutcome};
use stack::tcp::State;

use crate::bsd::Stack;
use crate::consts::{
    FD_SETSIZE, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDBAND, POLLRDHUP,
    POLLRDNORM, POLLWRBAND, POLLWRNORM,
};
use crate::errno::{track, Errno};
use crate::fdtable::{OpenFile, SocketKind, RCV_SHUTDOWN, SEND_SHUTDOWN};

const WORDS: usize = FD_SETSIZE / 64;

/// `fd_set`: a set of descriptors below [`FD_SETSIZE`] for [`Stack::select`].
/// Use it as in C with [`FD_ZERO`], [`FD_SET`], [`FD_CLR`] and [`FD_ISSET`], or with
/// the methods. Descriptors outside `0..FD_SETSIZE` are ignored (C's behaviour is
/// undefined there).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FdSet {
    bits: [u64; WORDS],
}

impl Default for FdSet {
    fn default() -> Self {
        FdSet::new()
    }
}

impl std::fmt::Debug for FdSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FdSet {
    /// An empty set.
    pub const fn new() -> FdSet {
        FdSet { bits: [0; WORDS] }
    }

    fn slot(fd: i32) -> Option<(usize, u64)> {
        let i = usize::try_from(fd).ok().filter(|&i| i < FD_SETSIZE)?;
        Some((i / 64, 1u64 << (i % 64)))
    }

    /// Adds `fd`.
    pub fn insert(&mut self, fd: i32) {
        if let Some((w, b)) = Self::slot(fd) {
            self.bits[w] |= b;
        }
    }

    /// Removes `fd`.
    pub fn remove(&mut self, fd: i32) {
        if let Some((w, b)) = Self::slot(fd) {
            self.bits[w] &= !b;
        }
    }

    /// True when `fd` is in the set.
    pub fn contains(&self, fd: i32) -> bool {
        Self::slot(fd).is_some_and(|(w, b)| self.bits[w] & b != 0)
    }

    /// Empties the set.
    pub fn clear(&mut self) {
        self.bits = [0; WORDS];
    }

    /// True when no descriptor is in the set.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// The descriptors in the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        (0..FD_SETSIZE as i32).filter(|&fd| self.contains(fd))
    }
}

/// `FD_ZERO(&set)`: empties `set`.
#[allow(non_snake_case)]
pub fn FD_ZERO(set: &mut FdSet) {
    set.clear();
}

/// `FD_SET(fd, &set)`: adds `fd` to `set`.
#[allow(non_snake_case)]
pub fn FD_SET(fd: i32, set: &mut FdSet) {
    set.insert(fd);
}

/// `FD_CLR(fd, &set)`: removes `fd` from `set`.
#[allow(non_snake_case)]
pub fn FD_CLR(fd: i32, set: &mut FdSet) {
    set.remove(fd);
}

/// `FD_ISSET(fd, &set)`: true when `fd` is in `set`.
#[allow(non_snake_case)]
pub fn FD_ISSET(fd: i32, set: &FdSet) -> bool {
    set.contains(fd)
}

/// `struct pollfd`: one descriptor for [`Stack::poll`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PollFd {
    /// The descriptor; a negative one is skipped (its `revents` is 0).
    pub fd: i32,
    /// Events of interest (`POLLIN`, `POLLOUT`, `POLLPRI`, ...).
    pub events: i16,
    /// Events that happened, written by `poll` (`POLLERR`, `POLLHUP` and `POLLNVAL`
    /// are reported whether asked for or not).
    pub revents: i16,
}

impl PollFd {
    /// A `pollfd` for `fd` and `events`, with `revents` cleared.
    pub fn new(fd: i32, events: i16) -> PollFd {
        PollFd {
            fd,
            events,
            revents: 0,
        }
    }
}

/// Linux's `POLLIN_SET`, `POLLOUT_SET`, `POLLEX_SET`: which poll bits make a
/// descriptor ready for each of select's sets.
const SELECT_READ: i16 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const SELECT_WRITE: i16 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const SELECT_EXCEPT: i16 = POLLPRI;

impl Stack {
    /// The poll bits of one socket now.
    fn poll_mask(g: &StackGuard<'_>, file: &OpenFile) -> Result<i16, Errno> {
        let r = g.engine_ref().readiness(file.handle)?;
        let shut = file.shutdown_bits();
        let mut m = 0;
        if r.readable || shut & RCV_SHUTDOWN != 0 {
            m |= POLLIN | POLLRDNORM;
        }
        if shut & RCV_SHUTDOWN != 0 {
            m |= POLLRDHUP;
        }
        if file.kind == SocketKind::Tcp {
            // Linux sets RCV_SHUTDOWN when the peer's FIN arrives and both bits
            // when the connection dies, so POLLRDHUP (with POLLIN) follows.
            let peer_done = match g.engine_ref().tcp_state(file.handle)? {
                State::CloseWait | State::LastAck | State::Closing | State::TimeWait => true,
                State::Closed => g.engine_ref().tcp_info(file.handle)?.is_some(),
                _ => false,
            };
            if peer_done {
                m |= POLLRDHUP | POLLIN | POLLRDNORM;
            }
        }
        if r.writable {
            m |= POLLOUT | POLLWRNORM | POLLWRBAND;
        }
        if r.urgent {
            m |= POLLPRI | POLLRDBAND;
        }
        if r.error {
            m |= POLLERR;
        }
        if r.hangup || shut == RCV_SHUTDOWN | SEND_SHUTDOWN {
            m |= POLLHUP;
        }
        Ok(m)
    }

    /// `select(nfds, &readfds, &writefds, &exceptfds, &timeout)`.
    ///
    /// Looks at descriptors `0..nfds` of the given sets; `None` for a set is C's
    /// null pointer. `timeout`: `None` blocks until something is ready,
    /// `Some(Duration::ZERO)` polls, otherwise waits at most that long. Returns the
    /// number of ready descriptors (counted once per set they are in; 0 when the
    /// timeout expired) and rewrites the sets to hold only the ready ones, as C
    /// does. Errors: `nfds < 0` `EINVAL`; a descriptor in a set that is not open
    /// (here 0, 1 and 2 are never open) `EBADF`, and then the sets are left as they
    /// were.
    pub fn select(
        &self,
        nfds: i32,
        readfds: Option<&mut FdSet>,
        writefds: Option<&mut FdSet>,
        exceptfds: Option<&mut FdSet>,
        timeout: Option<Duration>,
    ) -> Result<i32, Errno> {
        track(self.select_inner(nfds, readfds, writefds, exceptfds, timeout))
    }

    fn select_inner(
        &self,
        nfds: i32,
        readfds: Option<&mut FdSet>,
        writefds: Option<&mut FdSet>,
        exceptfds: Option<&mut FdSet>,
        timeout: Option<Duration>,
    ) -> Result<i32, Errno> {
        if nfds < 0 {
            return Err(Errno::EINVAL);
        }
        let n = nfds.min(FD_SETSIZE as i32);
        let wanted = [
            readfds.as_deref().copied().unwrap_or_default(),
            writefds.as_deref().copied().unwrap_or_default(),
            exceptfds.as_deref().copied().unwrap_or_default(),
        ];
        let masks = [SELECT_READ, SELECT_WRITE, SELECT_EXCEPT];
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let mut timed_out = false;
        let mut g = self.lock();
        let ready = loop {
            let mut ready = [FdSet::new(); 3];
            let mut count = 0;
            {
                let fds = self.fds();
                for fd in 0..n {
                    if !wanted.iter().any(|s| s.contains(fd)) {
                        continue;
                    }
                    let m = match fds.get_unix(fd) {
                        Ok(u) => self.unix_poll_mask(&u),
                        Err(_) => {
                            let file = fds.get(fd)?;
                            Self::poll_mask(&g, &file).map_err(|_| Errno::EBADF)?
                        }
                    };
                    for k in 0..3 {
                        if wanted[k].contains(fd) && m & masks[k] != 0 {
                            ready[k].insert(fd);
                            count += 1;
                        }
                    }
                }
            }
            if count > 0 || timed_out || timeout == Some(Duration::ZERO) {
                break (ready, count);
            }
            match g.wait_any(deadline) {
                WaitOutcome::Woken => {}
                WaitOutcome::TimedOut => timed_out = true,
                WaitOutcome::Stopped => return Err(Errno::ENETDOWN),
            }
        };
        drop(g);
        let (sets, count) = ready;
        for (set, out) in [readfds, writefds, exceptfds].into_iter().zip(sets) {
            if let Some(set) = set {
                *set = out;
            }
        }
        Ok(count)
    }

    /// `poll(fds, nfds, timeout)`: waits until one of `fds` has one of its `events`
    /// (or an error, hang-up, or is not open: `POLLNVAL`). `timeout_ms` negative
    /// blocks, 0 polls, else waits at most that many milliseconds. Writes each
    /// `revents` and returns the number of entries with non-zero `revents` (0 on
    /// timeout). Negative descriptors are skipped.
    pub fn poll(&self, fds: &mut [PollFd], timeout_ms: i32) -> Result<i32, Errno> {
        track(self.poll_inner(fds, timeout_ms))
    }

    fn poll_inner(&self, pfds: &mut [PollFd], timeout_ms: i32) -> Result<i32, Errno> {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        let mut timed_out = false;
        let mut g = self.lock();
        loop {
            let mut count = 0;
            {
                let fds = self.fds();
                for p in pfds.iter_mut() {
                    p.revents = 0;
                    if p.fd < 0 {
                        continue;
                    }
                    let m = match (fds.get(p.fd), fds.get_unix(p.fd)) {
                        (Ok(file), _) => Self::poll_mask(&g, &file).unwrap_or(POLLNVAL),
                        (_, Ok(u)) => self.unix_poll_mask(&u),
                        _ => POLLNVAL,
                    };
                    p.revents = m & (p.events | POLLERR | POLLHUP | POLLNVAL);
                    if p.revents != 0 {
                        count += 1;
                    }
                }
            }
            if count > 0 || timed_out || timeout == Some(Duration::ZERO) {
                return Ok(count);
            }
            match g.wait_any(deadline) {
                WaitOutcome::Woken => {}
                WaitOutcome::TimedOut => timed_out = true,
                WaitOutcome::Stopped => return Err(Errno::ENETDOWN),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fd_set_macros_behave_like_c() {
        let mut s = FdSet::new();
        FD_ZERO(&mut s);
        assert!(s.is_empty());
        FD_SET(3, &mut s);
        FD_SET(1023, &mut s);
        FD_SET(1024, &mut s); // ignored
        FD_SET(-1, &mut s); // ignored
        assert!(FD_ISSET(3, &s) && FD_ISSET(1023, &s));
        assert!(!FD_ISSET(4, &s) && !FD_ISSET(1024, &s) && !FD_ISSET(-1, &s));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![3, 1023]);
        FD_CLR(3, &mut s);
        assert_eq!(format!("{s:?}"), "{1023}");
    }
}
