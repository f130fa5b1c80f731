//! A recovery episode: when losses are declared (RFC 6675 IsLost with the observed
//! reordering), entering recovery, Proportional Rate Reduction (RFC 6937) and the
//! undo of a spurious reduction (RFC 2883/3708 D-SACK, RFC 3522 timestamps).

use super::*;

impl Recovery {
    /// RFC 5827 early retransmit for peers without SACK: with fewer than four
    /// segments outstanding and nothing new to send, `oseg - 1` duplicates.
    pub(super) fn dup_threshold(&self, has_unsent: bool) -> usize {
        let oseg = self.board.outstanding().div_ceil(self.mss);
        if oseg < 4 && !has_unsent {
            oseg.saturating_sub(1).max(1)
        } else {
            self.reordering
        }
    }

    /// RFC 6675 `IsLost`: "The routine returns true when either DupThresh
    /// discontiguous SACKed sequences have arrived above 'SeqNum' or more than
    /// (DupThresh - 1) * SMSS bytes with sequence numbers greater than 'SeqNum'
    /// have been SACKed." Marks such segments lost unless already retransmitted.
    pub(super) fn mark_is_lost(&mut self) -> usize {
        if self.board.sacked_bytes() == 0 {
            return 0;
        }
        let thresh = self.reordering;
        let mss = self.mss;
        let (mut bytes, mut segs, mut lost) = (0usize, 0usize, 0usize);
        // From the top down, counting what is SACKed above each record; marking
        // a record changes no other record, so no list of them is needed.
        for i in (0..self.board.len()).rev() {
            let Some(&s) = self.board.get(i) else {
                break;
            };
            if s.sacked {
                bytes += s.len();
                segs += s.len().div_ceil(mss);
            } else if (segs >= thresh || bytes > (thresh - 1) * mss) && !s.lost && !s.retrans {
                lost += self.board.mark_lost(i, LossCause::FastRecovery);
            }
        }
        lost
    }

    pub(super) fn enter_recovery(
        &mut self,
        una: SeqNumber,
        snd_max: SeqNumber,
        cc: &mut dyn CongestionControl,
        now: Instant,
    ) {
        self.stats.recoveries += 1;
        self.prior_cwnd = cc.cwnd();
        self.prior_ssthresh = cc.ssthresh();
        self.undo_marker = Some(una);
        self.undo_retrans = -1;
        self.retrans_stamp_ms = None;
        self.high_seq = snd_max;
        self.prr_delivered = 0;
        self.prr_out = 0;
        self.rescue_rxt = None;
        self.tlp = None;
        cc.on_loss(now);
        self.state = CaState::Recovery;
    }

    /// RFC 6937 Proportional Rate Reduction with PRR-SSRB, in whole segments as
    /// Linux's `tcp_cwnd_reduction` computes it (`prior_cwnd` standing for
    /// RecoverFS): a budget of part of a segment would only be held back by
    /// sender silly-window avoidance.
    pub(super) fn prr(
        &mut self,
        cc: &mut dyn CongestionControl,
        delivered: usize,
        newly_lost: bool,
        una_advanced: bool,
    ) {
        if delivered == 0 && self.prr_out > 0 {
            return;
        }
        let mss = self.mss;
        self.prr_delivered += delivered;
        let pipe = self.in_flight().div_ceil(mss);
        let ssthresh = (cc.ssthresh() / mss).max(1);
        let delivered_segs = delivered.div_ceil(mss);
        let prr_delivered = self.prr_delivered.div_ceil(mss);
        let prr_out = self.prr_out.div_ceil(mss);
        let sndcnt = if pipe > ssthresh {
            // "sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out"
            let recover_fs = (self.prior_cwnd / mss).max(1) as u128;
            let num = prr_delivered as u128 * ssthresh as u128 + recover_fs - 1;
            ((num / recover_fs) as usize).saturating_sub(prr_out)
        } else {
            // PRR-SSRB: "limit = MAX(prr_delivered - prr_out, DeliveredData) +
            // MSS; sndcnt = MIN(ssthresh - pipe, limit)".
            let mut limit = prr_delivered.saturating_sub(prr_out).max(delivered_segs);
            if una_advanced && !newly_lost {
                limit += 1;
            }
            (ssthresh - pipe).min(limit)
        };
        // "Force a fast retransmit upon entering fast recovery".
        let sndcnt = if self.prr_out == 0 {
            sndcnt.max(1)
        } else {
            sndcnt
        };
        cc.set_cwnd((pipe + sndcnt) * mss);
    }

    /// Linux's `tcp_may_undo`: every retransmission of the episode was D-SACKed,
    /// or the ACK echoes a timestamp older than the first retransmission (RFC
    /// 3522: the original was delivered).
    pub(super) fn may_undo(&self, echo_ms: Option<u64>) -> bool {
        self.undo_marker.is_some()
            && (self.undo_retrans == 0
                || matches!((echo_ms, self.retrans_stamp_ms), (Some(e), Some(r)) if e < r))
    }

    pub(super) fn undo(&mut self, cc: &mut dyn CongestionControl, unmark_loss: bool) {
        self.stats.undos += 1;
        cc.undo(self.prior_cwnd, self.prior_ssthresh);
        if unmark_loss {
            self.board.clear_loss_marks();
        }
        self.undo_marker = None;
        self.undo_retrans = -1;
        self.retrans_stamp_ms = None;
        if self.state == CaState::Loss || self.board.lost_bytes() == 0 {
            self.state = CaState::Open;
        }
    }
}
