//! Timer events of one connection: retransmission, persist, keep-alive, TIME-WAIT.

use super::*;

impl Tcb {
    /// Runs the timers due at `now`.
    pub(crate) fn on_timer(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        let mut notice = Notice::default();
        while let Some(kind) = self.timers.pop_expired(now) {
            match kind {
                TimerKind::Retransmit => notice.merge(self.on_retransmit_timeout(now, out)),
                TimerKind::DelayedAck => {
                    // A delayed ACK went unanswered by data: the exchange is
                    // not interactive (Linux leaves pingpong mode).
                    self.pingpong = false;
                    if self.state.synchronized() || self.state == State::SynReceived {
                        self.ack_now = true;
                        self.ack_urgent = true;
                        self.output(now, out);
                    }
                }
                TimerKind::Persist if self.snd_wnd > 0 => {
                    // The SWS override timeout: send the small window-limited segment.
                    self.sws_override = true;
                    self.output(now, out);
                    self.sws_override = false;
                }
                TimerKind::Persist => {
                    // RFC 1122 4.2.2.17 keeps probing as long as the peer answers,
                    // but only for a user who is still there: an orphan gives up
                    // (Linux's tcp_probe_timer on a dead socket).
                    if self.orphan && self.persist_backoff >= self.cfg.orphan_retries {
                        out.counters.inc(Stat::TcpOrphanProbesExhausted);
                        return self.fail(NetError::TimedOut);
                    }
                    // RFC 9293 3.8.6.1: probe the zero window with one byte.
                    self.persist_backoff = self.persist_backoff.saturating_add(1);
                    // Every probe carries the first unacknowledged byte: a byte the
                    // peer dropped for lack of room is offered again, never a new one
                    // further beyond the window.
                    if self.probing {
                        self.snd_nxt = self.snd_una;
                    }
                    let buf_seq = self.buf_seq();
                    let offset = self.snd_nxt.saturating_distance(buf_seq);
                    if self.snd_wnd == 0 && self.send_buf.len() > offset {
                        let seq = self.snd_nxt;
                        self.probing = true;
                        self.emit(now, out, Flags::default(), seq, 1);
                        self.snd_nxt += 1u32;
                        if self.snd_nxt.gt(self.snd_max) {
                            self.snd_max = self.snd_nxt;
                        }
                    }
                    let backoff = self.rtt.rto() * (1u32 << self.persist_backoff.min(10));
                    let at = now + backoff.min(self.cfg.max_rto).max(self.cfg.min_rto);
                    if self.snd_wnd == 0 {
                        self.timers.set(TimerKind::Persist, at);
                    }
                }
                TimerKind::KeepAlive => notice.merge(self.on_keepalive(now, out)),
                TimerKind::RackReorder => self.on_reorder_timeout(now, out),
                TimerKind::PmtuRaise => {
                    // RFC 1191 6.3: back to the segment size of the handshake; if
                    // the path still cannot carry it, a router says so again.
                    if self.mss < self.agreed_mss {
                        self.mss = self.agreed_mss;
                        self.cc.set_mss(self.mss);
                        self.recovery.configure(self.sack_enabled, self.mss);
                    }
                }
                TimerKind::Reclaim => self.reclaim(),
                TimerKind::TimeWait | TimerKind::FinWait2 => {
                    self.enter_closed();
                    notice.closed = true;
                    notice.wake = true;
                }
            }
        }
        self.arm_keepalive(now);
        notice
    }

    pub(super) fn on_retransmit_timeout(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        if self.snd_una == self.snd_max && self.state.synchronized() {
            self.tlp_armed = false;
            return Notice::default();
        }
        if self.tlp_armed {
            self.send_tail_loss_probe(now, out);
            return Notice::default();
        }
        // TCP_USER_TIMEOUT (RFC 5482): sent data unacknowledged for that long
        // ends the connection, whatever the retry count.
        let user_left = self.user_timeout_left(now);
        if user_left == Some(Duration::ZERO) {
            return self.fail(self.soft_error.unwrap_or(NetError::TimedOut));
        }
        self.retries += 1;
        let limit = match self.state {
            State::SynSent => self.opts.syn_count.map_or(self.cfg.syn_retries, u32::from),
            State::SynReceived => self.cfg.synack_retries,
            _ if self.orphan => self.cfg.orphan_retries.min(self.cfg.retries),
            _ => self.cfg.retries,
        };
        if self.retries > limit {
            // RFC 9293 3.8.3 / RFC 1122 4.2.3.5: R2 exceeded: the connection is dead.
            // The reason is the last soft error if any (Linux `tcp_write_err`).
            let err = self.soft_error.unwrap_or(NetError::TimedOut);
            return self.fail(err);
        }
        self.rtt.backoff();
        self.rtt_probe = None; // Karn's rule.
                               // With TCP_USER_TIMEOUT, the next expiry comes no later than the end
                               // of the user's wait (Linux's tcp_clamp_rto_to_user_timeout).
        let rto = match user_left {
            Some(left) => self.rtt.rto().min(left.max(Duration::from_millis(1))),
            None => self.rtt.rto(),
        };
        self.timers.set(TimerKind::Retransmit, now + rto);
        if self.state.synchronized() {
            // Everything unSACKed is presumed lost and goes again, oldest first,
            // from a one-segment window (RFC 6298 5.4, RFC 6675 5.1); the
            // retransmissions are chosen by `output` from the loss marks.
            out.counters.inc(Stat::TcpTimeouts);
            let (una, max) = (self.snd_una, self.snd_max);
            self.recovery
                .on_rto(now, una, max, self.retries > 1, self.cc.as_mut());
            self.timers.cancel(TimerKind::RackReorder);
        } else {
            // The SYN (or SYN-ACK) again.
            self.snd_nxt = self.iss;
            out.counters.inc(Stat::TcpRetransmits);
            out.counters.inc(Stat::TcpRetransTimeout);
        }
        self.output(now, out);
        Notice::default()
    }

    pub(super) fn arm_keepalive(&mut self, now: Instant) {
        if self.opts.keepalive && self.state.synchronized() && self.state != State::TimeWait {
            if !self.timers.is_armed(TimerKind::KeepAlive) {
                let at = self.last_recv + self.keep_idle();
                self.timers.set(TimerKind::KeepAlive, at.max(now));
            }
        } else {
            self.timers.cancel(TimerKind::KeepAlive);
        }
    }

    pub(super) fn on_keepalive(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        let idle = now.saturating_duration_since(self.last_recv);
        if idle < self.keep_idle() {
            self.keepalive_sent = 0;
            self.timers
                .set(TimerKind::KeepAlive, self.last_recv + self.keep_idle());
            return Notice::default();
        }
        if self.keepalive_sent >= self.opts.keep_count.unwrap_or(self.cfg.keepalive_probes) {
            return self.fail(NetError::TimedOut);
        }
        // RFC 1122 4.2.3.6: a probe is a segment with SEG.SEQ = SND.NXT-1 and no data.
        self.keepalive_sent += 1;
        let seq = self.snd_una - 1u32;
        self.emit(now, out, Flags::default(), seq, 0);
        self.timers
            .set(TimerKind::KeepAlive, now + self.keep_interval());
        Notice::default()
    }

    /// What remains of `TCP_USER_TIMEOUT` for the data unacknowledged since
    /// `una_since` (`None` without the option or before the handshake ends).
    fn user_timeout_left(&self, now: Instant) -> Option<Duration> {
        let limit = self.opts.user_timeout?;
        self.state
            .synchronized()
            .then(|| (self.una_since + limit).saturating_duration_since(now))
    }

    /// `TCP_KEEPIDLE`, or the stack's idle time.
    pub(super) fn keep_idle(&self) -> Duration {
        self.opts.keep_idle.unwrap_or(self.cfg.keepalive_time)
    }

    /// `TCP_KEEPINTVL`, or the stack's probe interval.
    fn keep_interval(&self) -> Duration {
        self.opts
            .keep_interval
            .unwrap_or(self.cfg.keepalive_interval)
    }

    /// Keep-alive turned on or off by the user.
    pub(crate) fn options_changed(&mut self, now: Instant) {
        self.timers.cancel(TimerKind::KeepAlive);
        self.arm_keepalive(now);
    }
}
