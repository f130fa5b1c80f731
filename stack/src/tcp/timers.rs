//! The timer schedule of all connections: a heap of deadlines, lazily cleaned, and
//! the ACKs owed at the end of a batch of received frames.

use super::*;

impl Tcp {
    /// Puts `h`'s next deadline on the heap (unless an earlier one is there).
    pub(super) fn schedule(&mut self, t: &mut Tx<'_>, h: SocketHandle, deadline: Option<Instant>) {
        let Some(d) = deadline else { return };
        if let Ok(Socket::Tcp(s)) = t.sockets.get_mut(h) {
            if s.scheduled.is_none_or(|old| d < old) {
                s.scheduled = Some(d);
                self.timers.push(Reverse((d, h)));
            }
        }
    }

    /// Runs due TCP timers.
    pub(crate) fn poll(&mut self, t: &mut Tx<'_>) {
        let now = t.cx.now;
        self.time_wait.expire(now);
        while let Some(Reverse((d, h))) = self.timers.peek().copied() {
            if d > now {
                break;
            }
            self.timers.pop();
            let due = match t.sockets.get_mut(h) {
                Ok(Socket::Tcp(s)) => {
                    if s.scheduled == Some(d) {
                        s.scheduled = None;
                    }
                    s.tcb().is_some()
                }
                _ => false,
            };
            if due {
                let _ = self.with_tcb(t, h, |tcb, out| ((), tcb.on_timer(now, out)));
            }
        }
        // Keep the heap from growing without bound with stale entries.
        if self.timers.len() > 4 * t.sockets.len() + 64 {
            let mut live: Vec<(Instant, SocketHandle)> = Vec::new();
            for (h, s) in t.sockets.iter() {
                if let Socket::Tcp(s) = s {
                    if let Some(d) = s.tcb().and_then(Tcb::poll_at) {
                        live.push((d, h));
                    }
                }
            }
            self.timers = live.iter().map(|&x| Reverse(x)).collect();
            for (d, h) in live {
                if let Ok(Socket::Tcp(s)) = t.sockets.get_mut(h) {
                    s.scheduled = Some(d);
                }
            }
        }
    }

    /// Sends the ACKs deferred while a batch of frames was processed.
    pub(crate) fn flush_acks(&mut self, t: &mut Tx<'_>) {
        let now = t.cx.now;
        let mut pending = std::mem::take(&mut self.ack_pending);
        for h in pending.drain(..) {
            let _ = self.with_tcb(t, h, |t, out| {
                t.flush_ack(now, out);
                ((), Notice::default())
            });
        }
        // Keep the (now empty) buffer for the next batch.
        self.ack_pending = pending;
    }

    /// The earliest TCP timer.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        let conns = self.timers.peek().map(|Reverse((t, _))| *t);
        match (conns, self.time_wait.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
