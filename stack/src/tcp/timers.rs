//! The timer schedule of all connections: a heap of deadlines, lazily cleaned, and
//! the ACKs owed at the end of a batch of received frames.

use super::*;

impl Engine {
    pub(super) fn tcp_schedule(&mut self, h: SocketHandle, deadline: Option<Instant>) {
        let Some(d) = deadline else { return };
        if let Ok(Socket::Tcp(s)) = self.sockets.get_mut(h) {
            if s.scheduled.is_none_or(|old| d < old) {
                s.scheduled = Some(d);
                self.tcp_timers.push(Reverse((d, h)));
            }
        }
    }

    /// Runs due TCP timers.
    pub(crate) fn tcp_poll(&mut self, now: Instant) {
        while let Some(Reverse((t, h))) = self.tcp_timers.peek().copied() {
            if t > now {
                break;
            }
            self.tcp_timers.pop();
            let due = match self.sockets.get_mut(h) {
                Ok(Socket::Tcp(s)) => {
                    if s.scheduled == Some(t) {
                        s.scheduled = None;
                    }
                    s.tcb().is_some()
                }
                _ => false,
            };
            if due {
                let _ = self.with_tcb(now, h, |tcb, out| ((), tcb.on_timer(now, out)));
            }
        }
        // Keep the heap from growing without bound with stale entries.
        if self.tcp_timers.len() > 4 * self.sockets.len() + 64 {
            let mut live: Vec<(Instant, SocketHandle)> = Vec::new();
            for (h, s) in self.sockets.iter() {
                if let Socket::Tcp(t) = s {
                    if let Some(d) = t.tcb().and_then(Tcb::poll_at) {
                        live.push((d, h));
                    }
                }
            }
            self.tcp_timers = live.iter().map(|&x| Reverse(x)).collect();
            for (d, h) in live {
                if let Ok(Socket::Tcp(s)) = self.sockets.get_mut(h) {
                    s.scheduled = Some(d);
                }
            }
        }
    }

    /// Sends the ACKs deferred while a batch of frames was processed.
    pub(crate) fn tcp_flush_acks(&mut self, now: Instant) {
        let mut pending = std::mem::take(&mut self.tcp_ack_pending);
        for h in pending.drain(..) {
            let _ = self.with_tcb(now, h, |t, out| {
                t.flush_ack(now, out);
                ((), Notice::default())
            });
        }
        // Keep the (now empty) buffer for the next batch.
        self.tcp_ack_pending = pending;
    }

    /// The earliest TCP timer.
    pub(crate) fn tcp_poll_at(&self) -> Option<Instant> {
        self.tcp_timers.peek().map(|Reverse((t, _))| *t)
    }
}
