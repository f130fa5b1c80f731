//! ACK processing (RFC 9293 3.10.7.4, "fifth, check the ACK field"): the send
//! sequence space and window, RTT samples, and the hand-off to loss recovery.

use super::*;

impl Tcb {
    /// Processes an acceptable ACK (RFC 9293 3.10.7.4 "fifth"); loss detection and
    /// the congestion window are [`Recovery::on_ack`]'s.
    pub(super) fn process_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data_len: usize,
        out: &mut Out<'_>,
    ) -> Notice {
        let mut notice = Notice::default();
        let ack = seg.ack;
        let wnd = (seg.window as usize) << self.snd_shift;
        let prior_una = self.snd_una;
        // RFC 5681 section 2 defines a duplicate ACK with an unchanged window;
        // a Linux receiver shrinks its window on nearly every ACK while it holds
        // out-of-order data, so, like Linux (FLAG_NOT_DUP), only a window that
        // opens makes an ACK not a duplicate.
        let duplicate = ack == self.snd_una
            && data_len == 0
            && !seg.flags.syn
            && !seg.flags.fin
            && self.snd_max.gt(self.snd_una)
            && wnd <= self.snd_wnd;
        let mut blocks = [SackBlock::default(); 4];
        let mut n = 0;
        if self.sack_enabled {
            // Linux's tcp_is_sackblock_valid: a block reaching past what was
            // sent, or reversed, is discarded whole (a receiver cannot hold
            // bytes never sent; trimming it would believe the rest).
            for b in seg.options.sack_blocks.iter().flatten() {
                if b.right.gt(self.snd_max) || !b.left.lt(b.right) {
                    continue;
                }
                blocks[n] = *b;
                n += 1;
            }
        }
        // Before the blocks mark the scoreboard.
        let sack_rtt = if n > 0 {
            self.recovery.sack_rtt(&blocks[..n], now)
        } else {
            None
        };
        let mut rtt = None;
        if ack.gt(self.snd_una) {
            // Data bytes acknowledged (the SYN and FIN occupy sequence space too).
            let buf_seq = self.buf_seq();
            let data_acked = ack.saturating_distance(buf_seq).min(self.send_buf.len());
            self.send_buf.dequeue_allocated(data_acked);
            if self.send_buf.is_empty() && self.send_buf.allocated() > 0 {
                self.timers.set(TimerKind::Reclaim, now + RECLAIM_IDLE);
            }
            self.snd_una = ack;
            self.forget_acked_records();
            self.una_since = now;
            if self.snd_nxt.lt(ack) {
                self.snd_nxt = ack;
            }
            self.urg_tx.acked(ack);
            rtt = self.on_new_ack_rtt(now, seg, sack_rtt);
            self.retries = 0;
            self.persist_backoff = 0;
            notice.wake = true;
        } else if let Some(r) = sack_rtt {
            self.rtt.on_sample(r);
            rtt = Some(r);
        }
        let buf_end = self.buf_seq() + self.send_buf.len();
        let input = AckInput {
            now,
            ack,
            snd_una: prior_una,
            snd_max: self.snd_max,
            sack_blocks: &blocks[..n],
            duplicate,
            echo_ms: self.echo_sent_ms(now, seg),
            rtt,
            srtt: self.rtt.srtt(),
            has_unsent: buf_end.gt(self.snd_max),
        };
        let before = *self.recovery.stats();
        let reorder_timeout = self.recovery.on_ack(&input, self.cc.as_mut());
        if self.recovery.stats() != &before {
            count_recovery_events(&before, self.recovery.stats(), out);
        }
        match reorder_timeout {
            Some(t) => self.timers.set(TimerKind::RackReorder, now + t),
            None => self.timers.cancel(TimerKind::RackReorder),
        }
        if ack.gt(prior_una) {
            self.probe_spent = false;
            if self.snd_una == self.snd_max {
                self.timers.cancel(TimerKind::Retransmit);
                self.tlp_armed = false;
            } else {
                // RFC 6298 5.3: restart the timer when new data is acknowledged.
                self.arm_retransmit(now, true);
            }
        }
        // Window update (RFC 9293 3.10.7.4: SND.WL1/SND.WL2 rule).
        if self.snd_wl1.lt(seg.seq) || (self.snd_wl1 == seg.seq && self.snd_wl2.le(ack)) {
            let opened = wnd > self.snd_wnd;
            self.snd_wnd = wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
            if opened {
                self.timers.cancel(TimerKind::Persist);
                if self.probing {
                    // Probe bytes sent into the zero window were dropped by the peer
                    // unless acknowledged: send them again as ordinary data.
                    self.probing = false;
                    self.snd_nxt = self.snd_una;
                }
                if self.snd_nxt.gt(self.snd_una)
                    && self.snd_wnd > 0
                    && !self.timers.is_armed(TimerKind::Retransmit)
                {
                    self.timers.set(TimerKind::Retransmit, now + self.rtt.rto());
                }
                notice.wake = true;
            }
        }
        // State changes that the ACK of our FIN brings.
        if self.fin_acked() {
            match self.state {
                State::FinWait1 => {
                    self.state = State::FinWait2;
                    if self.orphan {
                        self.timers
                            .set(TimerKind::FinWait2, now + self.cfg.fin_timeout);
                    }
                    notice.wake = true;
                }
                State::Closing => {
                    self.enter_time_wait(now);
                    notice.wake = true;
                }
                State::LastAck => {
                    self.enter_closed();
                    notice.closed = true;
                    notice.wake = true;
                }
                _ => {}
            }
        }
        notice
    }

    /// RTT sample, as Linux takes it: from the send time of the oldest segment
    /// the ACK newly covers (microsecond-precise; never from a retransmitted one,
    /// Karn's rule), else from what its SACK blocks newly cover (`sack_rtt`),
    /// else from the timestamp echo (millisecond ticks), else from the timed
    /// segment.
    pub(super) fn on_new_ack_rtt(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        sack_rtt: Option<Duration>,
    ) -> Option<Duration> {
        let timed = match self.rtt_probe {
            Some((seq, at)) if seg.ack.gt(seq) => {
                self.rtt_probe = None;
                Some(now.saturating_duration_since(at))
            }
            _ => None,
        };
        let sample = if let Some(r) = self.recovery.ack_rtt(seg.ack, now) {
            Some(r)
        } else if let Some(r) = sack_rtt {
            Some(r)
        } else if self.ts_enabled {
            seg.options.timestamps.and_then(|ts| {
                let ms = self.ts_now(now).wrapping_sub(ts.echo_reply);
                (ts.echo_reply != 0 && ms < 60_000).then(|| Duration::from_millis(ms as u64))
            })
        } else {
            timed
        };
        if let Some(r) = sample {
            self.rtt.on_sample(r);
        }
        sample
    }

    /// When the segment whose timestamp `seg` echoes was sent, in ms of the
    /// engine clock (RFC 7323's TSecr read back through our timestamp clock).
    pub(super) fn echo_sent_ms(&self, now: Instant, seg: &TcpRepr) -> Option<u64> {
        if !self.ts_enabled {
            return None;
        }
        let ts = seg.options.timestamps?;
        if ts.echo_reply == 0 {
            return None;
        }
        let age = self.ts_now(now).wrapping_sub(ts.echo_reply) as u64;
        (age < 60_000).then(|| now.total_millis().saturating_sub(age))
    }

    /// RACK's reordering timer expired: look for lost segments again.
    pub(super) fn on_reorder_timeout(&mut self, now: Instant, out: &mut Out<'_>) {
        if !self.state.synchronized() {
            return;
        }
        let before = *self.recovery.stats();
        let srtt = self.rtt.srtt();
        let max = self.snd_max;
        if let Some(t) = self
            .recovery
            .on_reorder_timeout(now, srtt, max, self.cc.as_mut())
        {
            self.timers.set(TimerKind::RackReorder, now + t);
        }
        count_recovery_events(&before, self.recovery.stats(), out);
        self.output(now, out);
    }

    /// In-order data arrived at `now`: Linux's `tcp_event_data_recv`. The
    /// first data, or data after a gap longer than the RTO, (re)starts
    /// quick-ACK mode, for as many ACKs as half the window has segments (2
    /// to 16).
    pub(super) fn note_data_arrival(&mut self, now: Instant) {
        let gap = self
            .last_data_at
            .map(|at| now.saturating_duration_since(at));
        if self.cfg.quick_ack && gap.is_none_or(|g| g > self.rtt.rto()) {
            let n = (self.rcv_wnd() / (2 * self.mss.max(1))).clamp(2, 16);
            self.quick_acks = self.quick_acks.max(n as u8);
        }
        self.last_data_at = Some(now);
    }

    /// A segment carrying an ACK is sent now with `data_len` bytes: one quick
    /// ACK fewer, and data sent within the delayed-ACK time of the last data
    /// received makes the exchange interactive (Linux's
    /// `tcp_event_ack_sent` and `tcp_event_data_sent`).
    pub(super) fn note_ack_sent(&mut self, now: Instant, data_len: usize) {
        self.quick_acks = self.quick_acks.saturating_sub(1);
        if data_len > 0
            && self
                .last_data_at
                .is_some_and(|at| now.saturating_duration_since(at) < self.cfg.delayed_ack)
        {
            self.pingpong = true;
        }
    }
}
