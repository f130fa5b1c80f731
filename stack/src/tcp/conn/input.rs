//! Segment input: RFC 9293 3.10.7 "SEGMENT ARRIVES", step by step.

use super::*;

/// The most in-order data one deferred ACK covers within a batch of received
/// frames (Linux's GRO packets are at most 64 KiB, and it acknowledges each).
const ACK_BATCH_MAX: usize = 65_536;

impl Tcb {
    /// Processes a segment for a connection past LISTEN (RFC 9293 3.10.7.3 and 3.10.7.4).
    pub(crate) fn on_segment(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        out.counters.inc(Stat::TcpSegmentsIn);
        let notice = match self.state {
            State::Closed | State::Listen => Notice::default(),
            State::SynSent => self.on_segment_syn_sent(now, seg, data, out),
            _ => self.on_segment_synchronized(now, seg, data, out),
        };
        if self.state != State::Closed {
            self.output(now, out);
            // Any segment restarts the keep-alive idle time (RFC 1122 4.2.3.6).
            if self.opts.keepalive && self.state.synchronized() && self.state != State::TimeWait {
                self.timers
                    .set(TimerKind::KeepAlive, self.last_recv + self.keep_idle());
            }
        }
        notice
    }

    /// Starts congestion control once the MSS is known (RFC 5681 3.1: after a lost
    /// SYN or SYN-ACK the initial window is one segment).
    pub(super) fn init_congestion(&mut self) {
        let segments = if self.retries > 0 {
            1
        } else {
            self.cfg.initial_window.max(1)
        };
        self.cc = self
            .cc
            .algorithm()
            .build(self.mss, InitialWindow::Segments(segments));
        self.recovery = Recovery::new(scoreboard_records(self.send_buf.capacity()), self.mss);
        self.recovery.configure(self.sack_enabled, self.mss);
    }

    /// Accepts the options of the peer's SYN.
    pub(super) fn take_syn_options(&mut self, seg: &TcpRepr) {
        // Our window's right edge starts at what the SYN-ACK/ACK will offer.
        self.rcv_adv = self.rcv_nxt + self.recv_buf.window().min(65535);
        let o = &seg.options;
        // RFC 9293 3.7.1: without the option, the send MSS is 536.
        let peer_mss = o.mss.map(|m| m as usize).filter(|&m| m > 0).unwrap_or(536);
        self.wscale_agreed = self.offered_wscale && o.window_scale.is_some();
        if self.wscale_agreed {
            self.snd_shift = o.window_scale.unwrap_or(0).min(14);
        } else {
            self.snd_shift = 0;
            self.rcv_shift = 0;
            // An unscaled window says at most 65,535 bytes: no use growing past it.
            self.autotune.limit = self.autotune.limit.min(self.recv_buf.capacity().max(65535));
        }
        self.ts_enabled = self.cfg.timestamps && o.timestamps.is_some();
        if let Some(ts) = o.timestamps {
            self.ts_recent = ts.value;
        }
        self.sack_enabled = self.cfg.sack && o.sack_permitted;
        let mut mss = peer_mss.min(self.adv_mss as usize);
        if let Some(user) = self.user_mss {
            mss = mss.min(user as usize);
        }
        if self.cfg.round_buffers_to_mss {
            self.round_buffers(mss);
        }
        if self.ts_enabled {
            mss = mss.saturating_sub(12); // TCPOLEN_TSTAMP_ALIGNED, as Linux's mss_cache
        }
        self.mss = mss.max(64);
        self.agreed_mss = self.mss;
        self.cc.set_mss(self.mss);
    }

    /// 4.4BSD's `tcp_mss`: a buffer of at least one segment grows to a whole
    /// number of `mss`-byte segments (at most the largest buffer allowed).
    fn round_buffers(&mut self, mss: usize) {
        let max = self.cfg.max_buffer;
        let round = |size: usize| {
            if mss == 0 || size < mss {
                size
            } else {
                size.div_ceil(mss).saturating_mul(mss).min(max).max(size)
            }
        };
        let recv = round(self.opts.recv_buffer);
        if recv != self.opts.recv_buffer {
            self.opts.recv_buffer = recv;
            self.recv_buf.set_limit(recv.clamp(1024, max));
        }
        let send = round(self.opts.send_buffer);
        if send != self.opts.send_buffer {
            self.opts.send_buffer = send;
            self.send_buf.set_limit(send.clamp(1024, max));
        }
    }

    /// A passive open: the listener hands us the peer's SYN.
    pub(crate) fn on_syn(&mut self, now: Instant, seg: &TcpRepr, out: &mut Out<'_>) {
        self.take_syn(now, seg);
        // The listener counted the SYN in `TcpSegmentsIn`.
        self.output(now, out);
    }

    /// SYN-RECEIVED from the peer's SYN: its sequence numbers, options and
    /// window.
    pub(super) fn take_syn(&mut self, now: Instant, seg: &TcpRepr) {
        self.state = State::SynReceived;
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1u32;
        self.take_syn_options(seg);
        // The SYN's window is never scaled (RFC 7323 2.2).
        self.snd_wnd = seg.window as usize;
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = self.iss;
        self.last_recv = now;
    }

    /// A passive open from a SYN cookie: the state the SYN and our SYN-ACK
    /// (`window` its window field) would have left, rebuilt from the ACK that
    /// returned the cookie (`syn`: the SYN as the cookie and the ACK describe it).
    /// The caller then feeds the ACK itself.
    pub(crate) fn on_cookie(&mut self, now: Instant, syn: &TcpRepr, window: u16) {
        self.state = State::SynReceived;
        self.irs = syn.seq;
        self.rcv_nxt = syn.seq + 1u32;
        self.rcv_adv = self.rcv_nxt + u32::from(window);
        self.take_syn_options(syn);
        self.snd_wnd = syn.window as usize;
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = syn.seq;
        self.snd_wl2 = self.iss;
        self.snd_nxt = self.iss + 1u32;
        self.snd_max = self.snd_nxt;
        self.last_recv = now;
        // Should the ACK not complete the handshake, the SYN-ACK is repeated and
        // the connection times out like any half-open one.
        self.timers
            .set_if_disarmed(TimerKind::Retransmit, now + self.rtt.rto());
    }

    pub(super) fn on_segment_syn_sent(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        // First: check the ACK bit.
        let ack_ok = seg.flags.ack && seg.ack.gt(self.iss) && seg.ack.le(self.snd_max);
        if seg.flags.ack && !ack_ok {
            // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit
            // is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
            if !seg.flags.rst {
                self.reply_rst_to(seg, 0, out);
            }
            out.counters.drop(DropReason::TcpBadSegment);
            return Notice::default();
        }
        // Second: the RST bit.
        if seg.flags.rst {
            if ack_ok {
                // "the user should be signaled 'error: connection reset'" — for a
                // connect, that is ECONNREFUSED.
                return self.fail(NetError::ConnectionRefused);
            }
            out.counters.drop(DropReason::TcpBadSegment);
            return Notice::default();
        }
        if !seg.flags.syn {
            out.counters.drop(DropReason::TcpBadSegment);
            return Notice::default();
        }
        // Fourth: the SYN bit.
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1u32;
        self.take_syn_options(seg);
        self.last_recv = now;
        if ack_ok {
            self.fast_open_synack(seg, out);
            self.snd_una = seg.ack;
            // (A SYN sent again carries no data, yet the SYN-ACK may
            // acknowledge the data of the first.)
            if self.snd_nxt.lt(seg.ack) {
                self.snd_nxt = seg.ack;
            }
            self.state = State::Established;
            self.snd_wnd = (seg.window as usize) << self.snd_shift;
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            self.on_new_ack_rtt(now, seg, None);
            self.init_congestion();
            self.retries = 0;
            self.timers.cancel(TimerKind::Retransmit);
            self.ack_now = true;
            self.ack_urgent = true;
            if self.unsent_len() > 0 {
                // Data waits to go (Linux's sk_write_pending): it carries the
                // ACK, and the exchange counts as begun at the SYN-ACK, so a
                // reply from the peer soon after is an interactive one.
                self.last_data_at = Some(now);
            }
            out.counters.inc(Stat::TcpEstablished);
            let mut notice = Notice {
                wake: true,
                established: true,
                learned: self.fo.learned.is_some(),
                ..Notice::default()
            };
            // "If there are other controls or text in the segment, then continue
            // processing at the sixth step" (RFC 9293 3.10.7.3): text on the
            // SYN-ACK is queued, and a FIN after it taken.
            if !data.is_empty() {
                notice.merge(self.accept_data(now, seg.seq + 1u32, data, out));
            }
            if seg.flags.fin && seg.seq + 1u32 + data.len() == self.rcv_nxt {
                notice.merge(self.accept_fin(now));
            }
            return notice;
        }
        // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment" and
        // queue the text for when ESTABLISHED is reached.
        if !data.is_empty() {
            let keep = data.len().min(self.recv_buf.window());
            self.syn_data = Some(data[..keep].to_vec());
        }
        self.state = State::SynReceived;
        self.snd_wnd = seg.window as usize;
        self.snd_wl1 = seg.seq;
        self.snd_nxt = self.iss;
        self.timers.cancel(TimerKind::Retransmit);
        Notice::default()
    }

    /// Sends <SEQ=SEG.ACK><CTL=RST> in reply to a segment whose ACK acknowledges
    /// something never sent, in SYN-SENT or SYN-RECEIVED (RFC 9293 3.10.7.3 and
    /// 3.10.7.4; a synchronized connection answers an unacceptable segment with an
    /// ACK instead). [`rst_for`] picks <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> for
    /// a segment without ACK.
    pub(super) fn reply_rst_to(&mut self, seg: &TcpRepr, data_len: usize, out: &mut Out<'_>) {
        if let Some((send, frame)) = rst_for(self.local, self.remote, seg, data_len, out) {
            out.frames.push((send, frame, TxMeta::default()));
        }
    }

    pub(super) fn on_segment_synchronized(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        let mut notice = Notice::default();
        let seg_len = seg.seq_len(data.len());

        // Simultaneous open (RFC 9293 figure 8, step 6): the peer's SYN-ACK repeats
        // the SYN we already took and acknowledges ours. Linux's
        // tcp_validate_incoming lets exactly this segment through.
        if self.state == State::SynReceived
            && seg.flags.syn
            && seg.flags.ack
            && !seg.flags.rst
            && seg.seq + 1u32 == self.rcv_nxt
            && seg.ack == self.snd_nxt
        {
            let mut pure = seg.clone();
            pure.flags.syn = false;
            pure.seq = self.rcv_nxt;
            return self.on_segment_synchronized(now, &pure, &[], out);
        }

        // RFC 7323 5.3 R1 (PAWS): a segment whose timestamp is older than
        // TS.Recent is an old duplicate: not acceptable, answered with an ACK.
        if self.paws_rejects(now, seg, data.len()) {
            out.counters.drop(DropReason::TcpPaws);
            self.invalid_ack(now, seg, data.len(), out);
            return notice;
        }

        // First: check the sequence number (RFC 9293 3.10.7.4, the four cases).
        let wnd = self.rcv_wnd().max(if self.state == State::SynReceived {
            1
        } else {
            0
        });
        let acceptable = if seg_len == 0 {
            if wnd == 0 {
                seg.seq == self.rcv_nxt
            } else {
                seg.seq.in_window(self.rcv_nxt, wnd)
            }
        } else if wnd == 0 {
            false
        } else {
            seg.seq.in_window(self.rcv_nxt, wnd)
                || (seg.seq + (seg_len - 1)).in_window(self.rcv_nxt, wnd)
        };
        // A retransmitted FIN in TIME-WAIT: acknowledge it and restart the 2 MSL
        // timeout (RFC 9293 3.10.7.4, TIME-WAIT under "eighth").
        if self.state == State::TimeWait
            && seg.flags.fin
            && !seg.flags.rst
            && seg.seq + seg_len == self.rcv_nxt
        {
            self.ack_now = true;
            self.ack_urgent = true;
            self.timers.set(TimerKind::TimeWait, now + self.cfg.msl * 2);
            return notice;
        }
        // "If the RCV.WND is zero, no segments will be acceptable, but special
        // allowance should be made to accept valid ACKs, URGs, and RSTs": a segment
        // at RCV.NXT is processed without its text (and FIN), then acknowledged.
        if !acceptable && wnd == 0 && seg.seq == self.rcv_nxt && (seg_len > 0) && !seg.flags.syn {
            let mut bare = seg.clone();
            bare.flags.fin = false;
            bare.flags.psh = false;
            out.counters.drop(DropReason::TcpOutOfWindow);
            let n = self.on_segment_synchronized(now, &bare, &[], out);
            self.ack_now = true;
            self.ack_urgent = true;
            return n;
        }
        if !acceptable {
            // "If an incoming segment is not acceptable, an acknowledgment should be
            // sent in reply (unless the RST bit is set, if so drop the segment)".
            out.counters.drop(DropReason::TcpOutOfWindow);
            if !seg.flags.rst {
                // A retransmitted SYN of the handshake we are in: repeat the SYN-ACK
                // (echoing the new timestamp, as Linux does).
                if self.state == State::SynReceived && seg.flags.syn && seg.seq == self.irs {
                    self.snd_nxt = self.iss;
                    if let Some(ts) = seg.options.timestamps {
                        self.take_ts_recent(now, ts.value);
                    }
                    self.ack_now = true;
                    self.ack_urgent = true;
                } else if seg.flags.syn {
                    self.challenge_ack(now, seg, data.len(), out);
                } else {
                    // Old data again: report it as a duplicate (RFC 2883 4.1.1,
                    // Linux's tcp_send_dupack).
                    self.note_old_duplicate(seg.seq, data.len());
                    self.invalid_ack(now, seg, data.len(), out);
                }
            }
            return notice;
        }
        // RFC 7323 4.3: remember the newest timestamp of a segment at the left
        // edge of the window (the one to echo).
        if self.ts_enabled {
            if let Some(ts) = seg.options.timestamps {
                if seg.seq.le(self.rcv_nxt) && (ts.value.wrapping_sub(self.ts_recent) as i32) >= 0 {
                    self.take_ts_recent(now, ts.value);
                }
            }
        }
        self.last_recv = now;
        self.keepalive_sent = 0;

        // Second: the RST bit (RFC 5961 3.2).
        if seg.flags.rst {
            if seg.seq != self.rcv_nxt {
                // In the window but not exact: challenge ACK.
                self.challenge_ack(now, seg, data.len(), out);
                out.counters.drop(DropReason::TcpBadSegment);
                return notice;
            }
            return match self.state {
                State::SynReceived if self.active_open => {
                    // "If this connection was initiated with an active OPEN (i.e.,
                    // came from SYN-SENT state), then the connection was refused".
                    self.fail(NetError::ConnectionRefused)
                }
                // A connection made on its SYN's data is already the user's
                // (Linux: accept returns it, reads give its data, then the error).
                State::SynReceived if self.fo.passive => self.fail(NetError::ConnectionReset),
                State::SynReceived => {
                    // From a passive open: back to LISTEN, i.e. this child disappears.
                    self.enter_closed();
                    Notice {
                        closed: true,
                        ..Notice::default()
                    }
                }
                State::Closing | State::LastAck | State::TimeWait => {
                    self.enter_closed();
                    Notice {
                        closed: true,
                        wake: true,
                        ..Notice::default()
                    }
                }
                // Linux's tcp_reset: after the peer's FIN, a reset breaks only the
                // sending side (EPIPE); reading still ends at the FIN.
                State::CloseWait => self.fail(NetError::BrokenPipe),
                _ => self.fail(NetError::ConnectionReset),
            };
        }

        // Fourth: the SYN bit (RFC 5961 4.2: challenge ACK in synchronized states).
        if seg.flags.syn {
            if self.state == State::SynReceived && seg.seq == self.irs {
                self.snd_nxt = self.iss; // repeat our SYN-ACK
                return notice;
            }
            self.challenge_ack(now, seg, data.len(), out);
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }

        // Fifth: the ACK field.
        if !seg.flags.ack {
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }
        if self.state == State::SynReceived {
            if seg.ack.gt(self.snd_una) && seg.ack.le(self.snd_max) {
                self.state = State::Established;
                self.snd_wnd = (seg.window as usize) << self.snd_shift;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = seg.ack;
                if !self.fo.passive {
                    // (A Fast Open connection has sent with its window already.)
                    self.init_congestion();
                }
                self.retries = 0;
                notice.established = true;
                notice.wake = true;
                out.counters.inc(Stat::TcpEstablished);
                // The text that came on the peer's SYN (a simultaneous open) is
                // delivered now, ahead of this segment's.
                if let Some(early) = self.syn_data.take() {
                    notice.merge(self.accept_data(now, self.irs + 1u32, &early, out));
                }
                // The ACK also acknowledges our SYN: fall through to the common code.
            } else {
                // "<SEQ=SEG.ACK><CTL=RST>".
                self.reply_rst_to(seg, data.len(), out);
                out.counters.drop(DropReason::TcpBadSegment);
                return notice;
            }
        }
        // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
        if seg.ack.gt(self.snd_max) {
            self.invalid_ack(now, seg, data.len(), out);
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }
        let oldest_ok = self.snd_una - (self.max_snd_wnd.max(1) as u32);
        if seg.ack.lt(oldest_ok) {
            self.challenge_ack(now, seg, data.len(), out);
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }
        notice.merge(self.process_ack(now, seg, data.len(), out));
        if self.state == State::Closed {
            return notice;
        }

        // Sixth: the URG bit.
        if seg.flags.urg
            && matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            )
        {
            let urg_end = seg.seq + (seg.urgent as usize);
            let next_read = self.next_read_seq();
            if self
                .urg_rx
                .announce(urg_end, self.rcv_nxt, next_read, self.opts.oob_inline)
            {
                notice.urgent = true;
                notice.wake = true;
            }
        }

        // Seventh: the segment text.
        if !data.is_empty() {
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    if self.orphan {
                        // Data for a descriptor that was closed: Linux answers RST.
                        self.emit_rst(now, out);
                        let n = self.fail(NetError::ConnectionReset);
                        return n;
                    }
                    notice.merge(self.accept_data(now, seg.seq, data, out));
                }
                _ => {}
            }
        }

        // Eighth: the FIN bit.
        if seg.flags.fin {
            let fin_seq = seg.seq + data.len();
            if fin_seq == self.rcv_nxt {
                notice.merge(self.accept_fin(now));
            } else if fin_seq.gt(self.rcv_nxt) {
                self.ooo_fin = Some(fin_seq);
                // An out-of-order segment, if only a FIN: a duplicate ACK at once
                // (RFC 5681 4.2), as for out-of-order data.
                self.ack_now = true;
                self.ack_urgent = true;
            }
        }
        notice
    }

    /// Data from `seq` on that starts below RCV.NXT: its old part, up to RCV.NXT,
    /// is the first SACK block of the next ACK (D-SACK, RFC 2883 4.1.1).
    fn note_old_duplicate(&self, seq: SeqNumber, len: usize) {
        if len > 0 && seq.lt(self.rcv_nxt) {
            let old = self.rcv_nxt.saturating_distance(seq).min(len);
            self.dsack.set(Some((seq, seq + old)));
        }
    }

    /// Stores in-window data; advances RCV.NXT over what became contiguous.
    pub(super) fn accept_data(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        let mut notice = Notice::default();
        let old_duplicate = seq.lt(self.rcv_nxt) && !data.is_empty();
        // Trim what we already have; report it as a duplicate (RFC 2883 4.1.1).
        let (seq, data) = if seq.lt(self.rcv_nxt) {
            let skip = self.rcv_nxt.saturating_distance(seq);
            self.note_old_duplicate(seq, data.len());
            if skip >= data.len() {
                self.ack_now = true;
                self.ack_urgent = true;
                return notice;
            }
            (self.rcv_nxt, &data[skip..])
        } else {
            (seq, data)
        };
        let offset = seq.saturating_distance(self.rcv_nxt);
        let room = self.recv_buf.window();
        if offset >= room {
            out.counters.drop(DropReason::TcpOutOfWindow);
            self.ack_now = true;
            self.ack_urgent = true;
            return notice;
        }
        let data = &data[..data.len().min(room - offset)];
        // A hole being filled (in whole or in part): acknowledge at once (RFC
        // 5681 4.2), even when the segment covers what was queued out of order.
        let had_holes = !self.assembler.is_empty();
        // What is already held out of order is a duplicate too (RFC 2883 4.1.2,
        // 4.2.1), also when the segment fills the hole below it; the part below
        // RCV.NXT, if any, was reported first.
        if let Some((start, end)) = self.assembler.first_overlap(offset, data.len()) {
            if !old_duplicate {
                self.dsack
                    .set(Some((self.rcv_nxt + start, self.rcv_nxt + end)));
            }
        }
        if offset == 0 {
            let n = self.recv_buf.enqueue_slice(data);
            let _ = self.assembler.add(0, n);
            let advanced = self.assembler.remove_front();
            let extra = advanced.saturating_sub(n);
            if extra > 0 {
                self.recv_buf.enqueue_unallocated(extra);
            }
            self.rcv_nxt += advanced;
            self.urg_rx
                .on_data(&mut self.recv_buf, self.rcv_nxt, advanced);
            if self.rd_shut {
                // Read side shut: what arrives in order is acknowledged and
                // discarded, as 4.4BSD's tcp_reass frees it (the user will never
                // read it). Out-of-order data waits for its hole like any other,
                // so the ACK never claims a byte that did not come.
                let queued = self.recv_buf.len();
                self.recv_buf.dequeue_allocated(queued);
                self.urg_rx.consumed(queued);
            }
            notice.wake = true;
            self.unacked_bytes += advanced;
            self.note_data_arrival(now);
            if had_holes || extra > 0 {
                // Filling a hole: acknowledge at once (RFC 5681 4.2).
                self.ack_now = true;
                self.ack_urgent = true;
            } else if (self.quick_acks > 0 && !self.pingpong)
                || self.unacked_bytes >= 2 * self.mss.max(536)
            {
                // Quick-ACK mode, as Linux's: the sender's window grows from
                // every ACK at the start, so none waits. Otherwise "an ACK SHOULD
                // be generated for at least every second full-sized segment"
                // (RFC 5681 4.2). Within one batch of received frames the ACK
                // waits for the batch's end, as Linux acknowledges a GRO batch:
                // one ACK for at most 64 KiB. (An earlier ACK would not move the
                // window's right edge: the window offered is all the free space,
                // which only the application's reads enlarge.)
                self.ack_now = true;
                if self.unacked_bytes >= ACK_BATCH_MAX {
                    self.ack_urgent = true;
                }
            } else {
                self.timers
                    .set_if_disarmed(TimerKind::DelayedAck, now + self.cfg.delayed_ack);
            }
            if let Some(f) = self.ooo_fin {
                if f == self.rcv_nxt {
                    self.ooo_fin = None;
                    notice.merge(self.accept_fin(now));
                }
            }
        } else {
            let written = self.recv_buf.write_unallocated(offset, data);
            if self.assembler.add(offset, written).is_err() {
                out.counters.drop(DropReason::TcpOutOfOrderFull);
            }
            // Out-of-order: a duplicate ACK at once (RFC 5681 4.2), with SACK
            // blocks. With SACK, as Linux (tcp_comp_sack_nr): the first three for
            // a hole go at once, which is what the sender's fast retransmit needs;
            // later ones are compressed into the ACK at the end of the batch of
            // frames being read, at most 44 segments apart. The sender learns the
            // same from the SACK blocks, and we save a transmission per segment
            // while a hole is open.
            self.ack_now = true;
            if self.dupacks_at != self.rcv_nxt {
                self.dupacks_at = self.rcv_nxt;
                self.dupacks_sent = 0;
            }
            if !self.sack_enabled || self.dupacks_sent < 3 {
                self.dupacks_sent = self.dupacks_sent.saturating_add(1);
                self.ack_urgent = true;
            } else {
                self.compressed = self.compressed.saturating_add(1);
                if self.compressed >= 44 {
                    self.ack_urgent = true;
                }
            }
        }
        notice
    }

    pub(super) fn accept_fin(&mut self, now: Instant) -> Notice {
        self.rcv_nxt += 1u32;
        self.fin_received = true;
        self.ack_now = true;
        self.ack_urgent = true;
        match self.state {
            State::SynReceived | State::Established => self.state = State::CloseWait,
            State::FinWait1 => {
                if self.fin_acked() {
                    self.enter_time_wait(now);
                } else {
                    self.state = State::Closing;
                }
            }
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
        Notice {
            wake: true,
            ..Notice::default()
        }
    }
}
