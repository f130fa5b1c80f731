//! Recovery driven by timers: the RACK reordering timer (RFC 8985 6.3), the
//! retransmission timeout, the tail loss probe's timeout (RFC 8985 7.2), and a
//! path MTU change.

use super::*;

impl Recovery {
    /// RACK's reordering timer expired (RFC 8985 section 6.3): look for losses
    /// again; enter recovery if some are found. Returns when to look again.
    pub fn on_reorder_timeout(
        &mut self,
        now: Instant,
        srtt: Option<Duration>,
        snd_max: SeqNumber,
        cc: &mut dyn CongestionControl,
    ) -> Option<Duration> {
        if !self.sack || self.board.is_empty() {
            return None;
        }
        let sacked_segs = self.board.sacked_bytes() / self.mss;
        let reo = self
            .rack
            .reo_wnd(srtt, self.in_recovery(), sacked_segs, self.reordering);
        let (lost, timeout) = self.rack.detect_loss(&mut self.board, now, reo);
        if lost > 0 && matches!(self.state, CaState::Open | CaState::Disorder) {
            let una = self.board.start().unwrap_or(snd_max);
            self.enter_recovery(una, snd_max, cc, now);
            self.prr(cc, 0, true, false);
        }
        timeout
    }

    /// The retransmission timer expired (RFC 6298 section 5.4-5.6, RFC 6675
    /// section 5.1, Linux's `tcp_enter_loss`): everything unSACKed is presumed
    /// lost and is retransmitted in order from a one-segment window.
    /// `backed_off` is true when this data had timed out before.
    pub fn on_rto(
        &mut self,
        now: Instant,
        snd_una: SeqNumber,
        snd_max: SeqNumber,
        backed_off: bool,
        cc: &mut dyn CongestionControl,
    ) {
        self.stats.timeouts += 1;
        self.timeout_at = Some(now);
        let new_episode = matches!(self.state, CaState::Open | CaState::Disorder)
            || !self.high_seq.gt(snd_una)
            || (self.state == CaState::Loss && !backed_off);
        if new_episode {
            self.prior_cwnd = cc.cwnd();
            self.prior_ssthresh = cc.ssthresh();
            self.undo_marker = Some(snd_una);
            self.undo_retrans = -1;
            self.retrans_stamp_ms = None;
        }
        // A state already reduced (fast recovery) is not reduced again.
        cc.on_rto(now, new_episode && self.state != CaState::Recovery);
        // RFC 2018 section 8: the receiver may have reneged. Linux assumes so
        // when the first unacknowledged segment is SACKed; after repeated
        // timeouts, trust no SACK information.
        let head_sacked = self.board.get(0).is_some_and(|s| s.sacked);
        if head_sacked || backed_off {
            self.board.clear_sacks();
        }
        self.board.mark_all_lost(LossCause::Timeout);
        self.high_seq = snd_max;
        self.dup_acks = 0;
        self.tlp = None;
        self.state = CaState::Loss;
    }

    /// The path MTU fell to fit segments of `mss` (RFC 1191): everything
    /// unSACKed is resent in smaller segments, without a congestion response
    /// (Linux's `tcp_simple_retransmit`).
    pub fn on_path_mtu(&mut self, mss: usize, snd_max: SeqNumber) {
        self.mss = mss.max(1);
        if self.board.mark_all_lost(LossCause::Timeout) > 0 && self.state != CaState::Loss {
            self.high_seq = snd_max;
            self.undo_marker = None;
            self.state = CaState::Loss;
        }
    }

    /// The probe timeout for a tail loss probe (RFC 8985 section 7.2), or
    /// `None` when no probe may be scheduled: SACK is needed (as in Linux), the
    /// sender must be in the Open state, and no probe may be outstanding.
    pub fn probe_timeout(&self, srtt: Option<Duration>, rto: Duration) -> Option<Duration> {
        // RFC 8985 section 7.2 arms the probe only in the Open state. In fast
        // recovery with nothing waiting for its retransmission, a lost ACK for
        // the last data in flight, or a lost retransmission sent last (RACK
        // needs a later segment delivered to find it), otherwise costs a whole
        // RTO (at least 200 ms): probe there too.
        let quiet_recovery =
            self.state == CaState::Recovery && self.board.first_lost_unsent().is_none();
        if !self.sack
            || !(matches!(self.state, CaState::Open | CaState::Disorder) || quiet_recovery)
            || self.tlp.is_some()
        {
            return None;
        }
        let pto = match srtt {
            // "PTO = 2 * SRTT; if FlightSize is one segment, PTO += WCDelAckT"
            Some(s) => {
                let one = self.board.outstanding() <= self.mss;
                s * 2 + if one { WC_DEL_ACK } else { PTO_SLACK }
            }
            None => Duration::from_secs(1),
        };
        Some(pto.min(rto))
    }

    /// A tail loss probe is outstanding.
    pub fn probe_outstanding(&self) -> bool {
        self.tlp.is_some()
    }
}
