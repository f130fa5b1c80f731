//! Loss recovery: what was lost, what to retransmit, and how fast to send
//! meanwhile.
//!
//! Read RFC 6675 (SACK-based recovery), RFC 8985 (RACK-TLP), RFC 6937
//! (Proportional Rate Reduction), RFC 2883 and RFC 3708 (D-SACK and undo),
//! RFC 3522 (timestamp-based detection of spurious retransmissions), RFC 5681
//! and RFC 6582 (recovery without SACK) before touching this.
//!
//! The pieces, each in its own file:
//!
//! - [`scoreboard`]: one record per transmitted range, with send time and the
//!   SACKed / lost / retransmitted marks; the pipe (RFC 6675 `SetPipe`).
//! - [`rack`]: RACK, the time-based loss detector (finds lost retransmissions).
//! - [`congestion`] and [`cubic`]: the congestion controllers (Reno, CUBIC with
//!   HyStart++), behind one trait.
//! - `episode.rs`: declaring losses (RFC 6675 `IsLost`), entering recovery, PRR,
//!   and D-SACK and timestamp undo.
//! - `timeouts.rs`: the reordering timer, the retransmission timeout, the tail
//!   loss probe's timeout and path MTU changes.
//! - This file: the recovery state machine, shaped like Linux's
//!   `tcp_fastretrans_alert` with the same four states ([`CaState`]), the ACK
//!   processing, the RFC 6675 `NextSeg` rules (including the rescue
//!   retransmission), duplicate ACKs and NewReno partial ACKs for peers without
//!   SACK, and the tail loss probe's episode (RFC 8985 section 7.4).
//!
//! The connection ([`crate::tcp::conn`]) tells this module what it sent
//! ([`Recovery::on_transmit`]) and what came back ([`Recovery::on_ack`]), and
//! asks it what to retransmit next ([`Recovery::next_retransmission`]) and how
//! much may be in flight ([`Recovery::in_flight`] against the controller's
//! `cwnd`).

pub mod congestion;
pub mod cubic;
pub mod rack;
pub mod scoreboard;

mod episode;
mod timeouts;

use crate::tcp::options::SackBlock;
use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};

use congestion::{AckEvent, CongestionControl};
use rack::Rack;
use scoreboard::{LossCause, Scoreboard};

/// RFC 6675 section 2: "DupThresh ... 3" (also Linux's initial
/// `tcp_reordering`).
pub const DUP_THRESH: usize = 3;
/// Linux's `tcp_max_reordering`.
const MAX_REORDERING: usize = 300;
/// RFC 8985 section 7.2: "WCDelAckT ... 200 ms" (Linux adds `TCP_RTO_MIN`).
const WC_DEL_ACK: Duration = Duration::from_millis(200);
/// Added to a probe timeout with several segments out, as Linux's two jiffies
/// (`TCP_TIMEOUT_MIN`): a floor that keeps scheduling delays at either end from
/// firing probes before the ACKs they wait for could come.
const PTO_SLACK: Duration = Duration::from_millis(2);

/// The sender's congestion state, Linux's `icsk_ca_state` (as `ss -ti` and
/// `TCP_INFO` report it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaState {
    /// Nothing suspicious.
    Open,
    /// SACKs or duplicate ACKs arrived, but nothing is known lost yet.
    Disorder,
    /// Fast recovery: retransmitting what was found lost, PRR sets the pace.
    Recovery,
    /// After a retransmission timeout: everything unSACKed is presumed lost.
    Loss,
}

impl CaState {
    /// Linux's name (`TCP_CA_*`).
    pub fn name(self) -> &'static str {
        match self {
            CaState::Open => "open",
            CaState::Disorder => "disorder",
            CaState::Recovery => "recovery",
            CaState::Loss => "loss",
        }
    }

    /// The numeric value of Linux's `tcpi_ca_state`.
    pub fn linux_value(self) -> u8 {
        match self {
            CaState::Open => 0,
            CaState::Disorder => 1,
            CaState::Recovery => 3,
            CaState::Loss => 4,
        }
    }
}

/// Why a segment is being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmit {
    /// New data (or a FIN) for the first time.
    New,
    /// A retransmission of data marked lost, or chosen by RFC 6675 `NextSeg`.
    Retransmit(LossCause),
    /// A tail loss probe (RFC 8985 section 7.3); `retransmission` if it carried
    /// old data.
    Probe {
        /// The probe repeated the last segment rather than sending new data.
        retransmission: bool,
    },
}

/// Retransmissions and recovery events of one connection, by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    /// Segments retransmitted by fast recovery (RFC 6675 `IsLost` and
    /// `NextSeg`, duplicate ACKs, NewReno partial ACKs, rescue).
    pub fast: u64,
    /// Segments retransmitted because RACK found them lost.
    pub rack: u64,
    /// Tail loss probes sent (new data or a retransmission).
    pub tlp: u64,
    /// Segments retransmitted after a retransmission timeout.
    pub timeout: u64,
    /// Fast recovery episodes entered.
    pub recoveries: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// D-SACK blocks received.
    pub dsacks: u64,
    /// Reductions undone as spurious (D-SACK or timestamps).
    pub undos: u64,
    /// Reordering events observed.
    pub reordering_events: u64,
}

impl RecoveryStats {
    /// Every retransmitted segment (probes that repeat data included).
    pub fn total(&self) -> u64 {
        self.fast + self.rack + self.tlp + self.timeout
    }
}

/// What an ACK carried, as the connection saw it.
#[derive(Clone, Copy, Debug)]
pub struct AckInput<'a> {
    /// Arrival time.
    pub now: Instant,
    /// The cumulative acknowledgment (already validated).
    pub ack: SeqNumber,
    /// SND.UNA before this ACK.
    pub snd_una: SeqNumber,
    /// One past the highest sequence number sent.
    pub snd_max: SeqNumber,
    /// The SACK blocks in the order they arrived (empty without SACK).
    pub sack_blocks: &'a [SackBlock],
    /// RFC 5681 section 2's duplicate ACK, relaxed as Linux does: no data, no
    /// SYN or FIN, acknowledges SND.UNA with data outstanding, and does not
    /// open the window (a window that shrinks while the receiver holds
    /// out-of-order data still counts).
    pub duplicate: bool,
    /// When the segment whose timestamp this ACK echoes was sent, in ms of the
    /// connection's clock (`None` without timestamps).
    pub echo_ms: Option<u64>,
    /// A Karn-valid RTT sample from this ACK.
    pub rtt: Option<Duration>,
    /// The smoothed RTT.
    pub srtt: Option<Duration>,
    /// New data waits to be sent (for RFC 5827 early retransmit).
    pub has_unsent: bool,
}

/// The loss recovery state of one connection.
#[derive(Clone, Debug)]
pub struct Recovery {
    board: Scoreboard,
    rack: Rack,
    state: CaState,
    sack: bool,
    mss: usize,
    /// Linux's `high_seq`, RFC 6675's `RecoveryPoint`: recovery ends when it is
    /// acknowledged.
    high_seq: SeqNumber,
    /// Duplicate ACKs counted (peers without SACK).
    dup_acks: usize,
    /// The duplicate-ACK threshold, raised when reordering is seen (Linux's
    /// `tp->reordering`).
    reordering: usize,
    // Proportional Rate Reduction (RFC 6937).
    prr_delivered: usize,
    prr_out: usize,
    prior_cwnd: usize,
    prior_ssthresh: usize,
    // Undo (RFC 3708, RFC 3522): the episode's start, the retransmissions not
    // yet shown spurious by D-SACK (-1: none made), the time of the first one.
    undo_marker: Option<SeqNumber>,
    undo_retrans: i64,
    retrans_stamp_ms: Option<u64>,
    /// RFC 6675 `RescueRxt`.
    rescue_rxt: Option<SeqNumber>,
    /// RFC 8985 `TLP.end_seq` and whether the probe was a retransmission.
    tlp: Option<(SeqNumber, bool)>,
    /// Without SACK, after retransmitting the head: the duplicate ACKs that
    /// segments already in flight may still cause, and those counted since.
    /// More than that means the retransmission was lost.
    reno_rxt: Option<(usize, usize)>,
    /// The latest retransmission timeout. Without SACK, what was last sent
    /// before it has left the network in the Loss state: delivered and held
    /// beyond a hole, or lost (see [`Recovery::in_flight`]).
    timeout_at: Option<Instant>,
    stats: RecoveryStats,
}

impl Recovery {
    /// Fresh state for a connection whose scoreboard holds at most
    /// `max_records` records.
    pub fn new(max_records: usize, mss: usize) -> Recovery {
        Recovery {
            board: Scoreboard::new(max_records),
            rack: Rack::new(),
            state: CaState::Open,
            sack: false,
            mss: mss.max(1),
            high_seq: SeqNumber(0),
            dup_acks: 0,
            reordering: DUP_THRESH,
            prr_delivered: 0,
            prr_out: 0,
            prior_cwnd: 0,
            prior_ssthresh: 0,
            undo_marker: None,
            undo_retrans: -1,
            retrans_stamp_ms: None,
            rescue_rxt: None,
            tlp: None,
            reno_rxt: None,
            timeout_at: None,
            stats: RecoveryStats::default(),
        }
    }

    /// Gives back the scoreboard's memory when nothing is in flight.
    pub fn reclaim(&mut self) {
        self.board.shrink_if_empty();
    }

    /// Sets the negotiated parameters: SACK on or off, the sender MSS.
    pub fn configure(&mut self, sack: bool, mss: usize) {
        self.sack = sack;
        self.mss = mss.max(1);
    }

    /// The congestion state.
    pub fn state(&self) -> CaState {
        self.state
    }

    /// True in fast recovery or after a timeout.
    pub fn in_recovery(&self) -> bool {
        matches!(self.state, CaState::Recovery | CaState::Loss)
    }

    /// Counters by cause.
    pub fn stats(&self) -> &RecoveryStats {
        &self.stats
    }

    /// The RTT an ACK up to `ack` measures from the send times (Linux's
    /// `seq_rtt_us`): `now` minus the send time of the oldest record it newly
    /// acknowledges bytes of (wholly or in part: a record may hold a burst),
    /// microsecond-precise; `None` if one of them was ever retransmitted
    /// (Karn's rule) or none is newly acknowledged.
    pub fn ack_rtt(&self, ack: SeqNumber, now: Instant) -> Option<Duration> {
        let mut oldest = None;
        for s in self.board.segments() {
            if !s.start.lt(ack) {
                break;
            }
            if s.ever_retrans {
                return None;
            }
            if !s.sacked && oldest.is_none() {
                oldest = Some(s.xmit);
            }
        }
        oldest.map(|x| now.saturating_duration_since(x))
    }

    /// The RTT the SACK blocks of an ACK measure, as Linux takes it when the
    /// cumulative ACK gives none (`sack_rtt_us`): `now` minus the send time of
    /// the oldest record they newly cover bytes of (wholly or in part: a
    /// record may hold a burst) that was never retransmitted. In
    /// recovery the cumulative ACK stays at a hole, often for many round
    /// trips; without timestamps these are then the only samples, and the
    /// only way out of a backed-off RTO (RFC 6298 5.7 collapses it on one).
    /// After a timeout, records sent before it measure nothing: the timeout
    /// may have forgotten their SACKs (RFC 2018 section 8), and the receiver
    /// reporting them again would measure the whole wait.
    pub fn sack_rtt(&self, blocks: &[SackBlock], now: Instant) -> Option<Duration> {
        let stale = match (self.state, self.timeout_at) {
            (CaState::Loss, Some(at)) => Some(at),
            _ => None,
        };
        let mut oldest: Option<Instant> = None;
        for b in blocks {
            for s in self.board.overlapping(b.left, b.right) {
                let before_timeout = stale.is_some_and(|at| s.xmit < at);
                if !(s.sacked || s.ever_retrans || before_timeout) {
                    oldest = Some(oldest.map_or(s.xmit, |o| o.min(s.xmit)));
                }
            }
        }
        oldest.map(|x| now.saturating_duration_since(x))
    }

    /// The scoreboard.
    pub fn board(&self) -> &Scoreboard {
        &self.board
    }

    /// RACK's state.
    pub fn rack(&self) -> &Rack {
        &self.rack
    }

    /// The duplicate-ACK threshold in use (3, raised by observed reordering).
    pub fn reordering(&self) -> usize {
        self.reordering
    }

    /// Bytes in flight (RFC 6675 pipe; without SACK each duplicate ACK counts
    /// one segment as having left the network, as Linux's emulated SACK does).
    ///
    /// Without SACK in the Loss state, only what was sent since the timeout is
    /// in flight. Everything older was marked lost by it; once an ACK jumps
    /// past the retransmissions the marks go (the receiver holds data beyond
    /// the hole, which go-back-N would send again for nothing), but the old
    /// segments are no more in the network than when they were marked.
    pub fn in_flight(&self) -> usize {
        if let (false, CaState::Loss, Some(at)) = (self.sack, self.state, self.timeout_at) {
            return self
                .board
                .segments()
                .filter(|s| s.xmit >= at)
                .map(|s| {
                    let here = !(s.sacked || s.lost) as usize + s.retrans as usize;
                    s.len() * here
                })
                .sum();
        }
        let pipe = self.board.pipe();
        if self.sack {
            return pipe;
        }
        let left = self.dup_acks.saturating_mul(self.mss).min(
            self.board
                .outstanding()
                .saturating_sub(self.board.lost_bytes()),
        );
        pipe.saturating_sub(left)
    }

    /// Records a transmission of `[start, end)` (a FIN counts one).
    pub fn on_transmit(&mut self, start: SeqNumber, end: SeqNumber, now: Instant, why: Transmit) {
        let len = end.saturating_distance(start);
        let rexmit = self.board.on_transmit(start, end, now);
        if self.state == CaState::Recovery {
            self.prr_out += len;
        }
        let segs = len.div_ceil(self.mss) as u64;
        match why {
            Transmit::New => {}
            Transmit::Retransmit(cause) => {
                if !self.sack && self.board.start() == Some(start) {
                    let in_flight_after = self.board.outstanding().saturating_sub(len);
                    self.reno_rxt = Some((in_flight_after.div_ceil(self.mss), 0));
                }
                match cause {
                    LossCause::FastRecovery => self.stats.fast += segs,
                    LossCause::Rack => self.stats.rack += segs,
                    LossCause::Timeout => self.stats.timeout += segs,
                }
                self.note_retransmission(now, segs);
            }
            Transmit::Probe { retransmission } => {
                self.stats.tlp += 1;
                if retransmission && rexmit > 0 {
                    self.note_retransmission(now, segs);
                }
                self.tlp = Some((end, retransmission));
            }
        }
    }

    fn note_retransmission(&mut self, now: Instant, segs: u64) {
        if self.undo_marker.is_some() {
            self.undo_retrans = self.undo_retrans.max(0) + segs as i64;
        }
        if self.retrans_stamp_ms.is_none() {
            self.retrans_stamp_ms = Some(now.total_millis());
        }
    }

    /// The next segment to retransmit (RFC 6675 `NextSeg` rule 1, as Linux's
    /// `tcp_xmit_retransmit_queue`): the lowest one marked lost and not
    /// retransmitted since, at most one MSS long. Returns its range and cause.
    pub fn next_retransmission(&mut self) -> Option<(SeqNumber, SeqNumber, LossCause)> {
        let i = self.board.first_lost_unsent()?;
        let end = self.board.limit(i, self.mss)?;
        let s = self.board.get(i)?;
        Some((s.start, end, s.cause))
    }

    /// RFC 6675 `NextSeg` rules 3 and 4, for when nothing is lost and no new
    /// data can go: an unSACKed segment below the highest SACK that was not
    /// retransmitted (not when reordering was seen: it would be spurious), else
    /// once per recovery the rescue retransmission of the highest unSACKed
    /// segment. Only in fast recovery.
    pub fn next_opportunistic(&mut self) -> Option<(SeqNumber, SeqNumber, LossCause)> {
        let mss = self.mss;
        if self.state != CaState::Recovery || !self.sack {
            return None;
        }
        let high = self.board.high_sacked();
        if let Some(high) = high.filter(|_| !self.rack.reordering_seen()) {
            // Rule 3.
            let found = self
                .board
                .segments()
                .position(|s| !s.sacked && !s.retrans && !s.lost && s.start.lt(high));
            if let Some(i) = found {
                let end = self.board.limit(i, mss)?;
                let s = self.board.get(i)?;
                return Some((s.start, end, LossCause::FastRecovery));
            }
        }
        // Rule 4: "If HighACK is greater than RescueRxt (or RescueRxt is
        // undefined), then one segment of upto SMSS octets that MUST include the
        // highest outstanding unSACKed sequence number SHOULD be returned, and
        // RescueRxt set to RecoveryPoint."
        let una = self.board.start()?;
        if self.rescue_rxt.is_some_and(|r| !una.gt(r)) {
            return None;
        }
        // Of the flight outstanding when recovery began (up to RecoveryPoint):
        // data sent since is new, not a tail to rescue.
        let point = self.high_seq;
        let i = self
            .board
            .segments()
            .rposition(|s| !s.sacked && !s.retrans && s.end.le(point))?;
        let s = *self.board.get(i)?;
        // The last `mss` bytes of it.
        let start = if s.len() > mss { s.end - mss } else { s.start };
        self.rescue_rxt = Some(self.high_seq);
        Some((start, s.end, LossCause::FastRecovery))
    }

    /// Processes an acceptable ACK (after the connection moved SND.UNA).
    /// Returns when to run RACK's reordering timer, if some segment may still be
    /// found lost once its reordering window passes.
    pub fn on_ack(
        &mut self,
        inp: &AckInput<'_>,
        cc: &mut dyn CongestionControl,
    ) -> Option<Duration> {
        let prior_in_flight = self.in_flight();
        let una_advanced = inp.ack.gt(inp.snd_una);
        let echo_ms = inp.echo_ms;
        let now = inp.now;

        // D-SACK (RFC 2883 section 4): a first block below the cumulative ACK,
        // or inside the second block.
        let mut blocks = inp.sack_blocks;
        let mut dsack_tlp = false;
        if let Some(b0) = blocks.first() {
            let inside_second = blocks
                .get(1)
                .is_some_and(|b1| !b0.left.lt(b1.left) && !b0.right.gt(b1.right));
            // (A first block that merely repeats what is SACKed already is no
            // D-SACK: window updates carry the current blocks again.)
            if b0.left.lt(inp.ack) || inside_second {
                self.stats.dsacks += 1;
                self.rack.on_dsack(inp.snd_una, inp.snd_max);
                let segs = b0.right.saturating_distance(b0.left).div_ceil(self.mss) as i64;
                if let Some(marker) = self.undo_marker {
                    if self.undo_retrans > 0 && b0.right.gt(marker) {
                        self.undo_retrans -= segs.min(self.undo_retrans);
                    }
                }
                if let Some((end, true)) = self.tlp {
                    dsack_tlp = (end - 1u32).in_range_inclusive(b0.left, b0.right - 1u32);
                }
                if b0.left.lt(inp.ack) {
                    blocks = &blocks[1..];
                }
            }
        }

        // Cumulative acknowledgment, then the SACK blocks: each delivered
        // segment updates RACK (RFC 8985 section 6.2 steps 1-3).
        let mss = self.mss;
        let mut delivered = 0;
        let mut reorder_timeout = None;
        let mut reordered_low: Option<SeqNumber> = None;
        {
            // Nothing above SND.UNA was delivered before: no record of this
            // cumulative ACK can have been overtaken (RACK.fack), and records
            // never retransmitted were sent in sequence order, so the last of
            // them alone decides RACK.xmit_ts, RACK.rtt and min_RTT (the
            // common case, one RACK update per ACK instead of one per record).
            let in_order = self.rack.fack().is_none_or(|f| f.le(inp.snd_una));
            let rack = &mut self.rack;
            let mut on_seg = |s: &scoreboard::Segment| {
                if s.sacked {
                    return; // delivered before, when it was SACKed
                }
                let before = echo_ms.is_some_and(|e| e < s.xmit.total_millis());
                if rack.on_delivered(s, now, before) {
                    reordered_low =
                        Some(reordered_low.map_or(s.start, |l: SeqNumber| l.min(s.start)));
                }
            };
            let mut newest: Option<scoreboard::Segment> = None;
            delivered += self.board.on_cumulative_ack(inp.ack, |s| {
                if in_order && !s.ever_retrans {
                    if !s.sacked {
                        newest = Some(*s);
                    }
                } else {
                    if let Some(n) = newest.take() {
                        on_seg(&n);
                    }
                    on_seg(s);
                }
            });
            if let Some(n) = newest {
                on_seg(&n);
            }
            for b in blocks {
                delivered += self.board.on_sack(b.left, b.right, &mut on_seg);
            }
        }
        if let (Some(low), Some(fack)) = (reordered_low, self.rack.fack()) {
            // Linux's tcp_check_sack_reordering: raise the threshold to the
            // distance the late segment was overtaken by.
            self.stats.reordering_events += 1;
            let metric = fack.saturating_distance(low);
            if metric > self.reordering * mss {
                self.reordering = metric.div_ceil(mss).min(MAX_REORDERING);
            }
        }

        // Duplicate ACKs without SACK (Linux's emulated SACK): each one counts a
        // segment as delivered, so the cumulative ACK that follows does not
        // count it again.
        if !self.sack {
            if una_advanced {
                self.reno_rxt = None;
                let acked_segs = inp.ack.saturating_distance(inp.snd_una).div_ceil(mss);
                let counted = self.dup_acks.min(acked_segs);
                delivered = delivered.saturating_sub(counted * mss);
                self.dup_acks = if self.state == CaState::Recovery {
                    self.dup_acks - counted
                } else {
                    0
                };
            } else if inp.duplicate {
                if let Some((_, seen)) = &mut self.reno_rxt {
                    *seen += 1;
                }
                // Never more than what is outstanding.
                let cap = self.board.outstanding().div_ceil(mss);
                if self.dup_acks < cap {
                    self.dup_acks += 1;
                    delivered += mss;
                }
            }
        }

        // The tail loss probe's episode (RFC 8985 section 7.4, Linux's
        // tcp_process_tlp_ack).
        if let Some((end, retrans)) = self.tlp {
            if !inp.ack.lt(end) || dsack_tlp {
                self.tlp = None;
                if retrans
                    && !dsack_tlp
                    && inp.ack.gt(end)
                    && matches!(self.state, CaState::Open | CaState::Disorder)
                {
                    // The probe repaired a loss: reduce as for one (in recovery
                    // the window is being reduced already).
                    cc.on_loss(now);
                    cc.set_cwnd(cc.ssthresh());
                }
            } else if retrans && !una_advanced && inp.duplicate && delivered == 0 {
                // A pure duplicate: original and probe both arrived.
                self.tlp = None;
            }
        }

        // Loss detection.
        let mut newly_lost = 0;
        if self.sack {
            newly_lost += self.mark_is_lost();
            let sacked_segs = self.board.sacked_bytes() / mss;
            let reo = self
                .rack
                .reo_wnd(inp.srtt, self.in_recovery(), sacked_segs, self.reordering);
            let (lost, timeout) = self.rack.detect_loss(&mut self.board, now, reo);
            newly_lost += lost;
            reorder_timeout = timeout;
        }

        // State changes (Linux's tcp_fastretrans_alert).
        let acked_past_recovery = !inp.ack.lt(self.high_seq);
        let state_before = self.state;
        match self.state {
            CaState::Loss => {
                if una_advanced && self.may_undo(echo_ms) {
                    self.undo(cc, true);
                } else if acked_past_recovery {
                    self.state = CaState::Open;
                    self.rack.on_recovery_exit();
                } else if !self.sack
                    && una_advanced
                    && self.board.get(0).is_some_and(|h| !h.ever_retrans)
                {
                    // The ACK jumped past everything retransmitted so far: the
                    // receiver holds data beyond the hole, which go-back-N would
                    // send again for nothing. The new head was sent before the
                    // timeout and is lost; for the rest, fall back to NewReno's
                    // one hole per partial ACK (RFC 6582).
                    self.board.clear_loss_marks();
                    newly_lost += self.board.mark_head_lost(mss, LossCause::Timeout);
                }
            }
            CaState::Recovery => {
                if acked_past_recovery {
                    if self.may_undo(echo_ms) {
                        self.undo(cc, false);
                    } else {
                        // Linux's tcp_end_cwnd_reduction.
                        if cc.ssthresh() < usize::MAX {
                            cc.set_cwnd(cc.ssthresh());
                        }
                        self.state = CaState::Open;
                    }
                    self.dup_acks = 0;
                    self.rack.on_recovery_exit();
                } else {
                    if !self.sack && una_advanced {
                        // RFC 6582 partial ACK: the next hole is lost too.
                        newly_lost += self.board.mark_head_lost(mss, LossCause::FastRecovery);
                    }
                    if let Some((expected, seen)) = self.reno_rxt {
                        if seen > expected {
                            // More duplicates than the segments in flight behind
                            // the retransmission of the head could cause: some
                            // came from data sent after it, which arrived while
                            // the retransmission did not. It was lost as well.
                            self.reno_rxt = None;
                            newly_lost += self.board.mark_lost(0, LossCause::FastRecovery);
                        }
                    }
                    if self.undo_retrans == 0 && self.undo_marker.is_some() {
                        // Every retransmission so far was a duplicate: stop
                        // reducing (tcp_try_undo_dsack).
                        self.undo(cc, false);
                    }
                }
            }
            CaState::Open | CaState::Disorder => {
                if self.undo_retrans == 0 && self.undo_marker.is_some() {
                    self.undo(cc, false);
                }
                if !self.sack && self.dup_acks >= self.dup_threshold(inp.has_unsent) {
                    newly_lost += self.board.mark_head_lost(mss, LossCause::FastRecovery);
                }
                if self.board.lost_bytes() > 0 {
                    self.enter_recovery(inp.snd_una.max(inp.ack), inp.snd_max, cc, now);
                } else {
                    self.state = if self.board.sacked_bytes() > 0 || self.dup_acks > 0 {
                        CaState::Disorder
                    } else {
                        CaState::Open
                    };
                }
            }
        }

        // Congestion window: PRR in recovery, growth otherwise.
        if self.state == CaState::Recovery {
            self.prr(cc, delivered, newly_lost > 0, una_advanced);
        } else if delivered > 0
            && state_before != CaState::Recovery
            && (una_advanced || self.reordering > DUP_THRESH)
        {
            // As Linux's tcp_may_raise_cwnd: grow on in-order delivery (RFC
            // 5681), on any delivery once reordering is known to be high. (The
            // ACK that ends recovery leaves cwnd at ssthresh, RFC 6937.)
            let cwnd = cc.cwnd();
            let limited = if cwnd < cc.ssthresh() {
                prior_in_flight.saturating_mul(2) >= cwnd
            } else {
                prior_in_flight + 3 * mss >= cwnd
            };
            cc.on_ack(&AckEvent {
                delivered,
                now,
                rtt: inp.rtt,
                srtt: inp.srtt,
                ack: inp.ack,
                snd_max: inp.snd_max,
                cwnd_limited: limited,
            });
        }
        reorder_timeout
    }
}

#[cfg(test)]
mod tests;

/// Shorthands for the recovery tests.
#[cfg(test)]
mod test_util {
    use crate::tcp::seq::SeqNumber;
    use crate::time::Instant;

    /// Sequence number `n`.
    pub fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    /// `ms` milliseconds after time zero.
    pub fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }
}
