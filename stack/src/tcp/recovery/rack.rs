//! RACK, the time-based loss detector of RFC 8985 section 6.
//!
//! Read RFC 8985 sections 3 and 6 before touching this. The idea: "if a segment
//! was sent before another segment that has been delivered, and it has not been
//! delivered within a reordering window of that time, it is lost". Because it
//! reasons with send times, it finds lost retransmissions too, which duplicate
//! ACK counting never can (Linux: `net/ipv4/tcp_recovery.c`).

use super::scoreboard::{LossCause, Scoreboard, Segment};
use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// RFC 8985 section 6.2 step 4: "RACK.reo_wnd_persist ... 16".
const REO_WND_PERSIST: u32 = 16;

/// The RACK state of one connection (RFC 8985 section 6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rack {
    /// `RACK.xmit_ts` and `RACK.end_seq`: the most recently sent segment that
    /// has been delivered.
    xmit: Option<(Instant, SeqNumber)>,
    /// `RACK.rtt`: the RTT of that segment.
    rtt: Duration,
    /// `RACK.min_RTT`.
    min_rtt: Option<Duration>,
    /// `RACK.fack`: the highest end sequence delivered.
    fack: Option<SeqNumber>,
    /// `RACK.reordering_seen`.
    reordering_seen: bool,
    /// `RACK.reo_wnd_mult`.
    reo_wnd_mult: u32,
    /// `RACK.dsack_round`: a D-SACK round is in progress until this is acked.
    dsack_round: Option<SeqNumber>,
    /// `RACK.reo_wnd_persist`.
    reo_wnd_persist: u32,
}

impl Default for Rack {
    fn default() -> Self {
        Rack::new()
    }
}

/// RFC 8985 section 6.2 step 2, `RACK_sent_after(t1, seq1, t2, seq2)`.
pub fn sent_after(t1: Instant, seq1: SeqNumber, t2: Instant, seq2: SeqNumber) -> bool {
    t1 > t2 || (t1 == t2 && seq1.gt(seq2))
}

impl Rack {
    /// Fresh state.
    pub fn new() -> Rack {
        Rack {
            xmit: None,
            rtt: Duration::ZERO,
            min_rtt: None,
            fack: None,
            reordering_seen: false,
            reo_wnd_mult: 1,
            dsack_round: None,
            reo_wnd_persist: REO_WND_PERSIST,
        }
    }

    /// `RACK.min_RTT`, once measured.
    pub fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt
    }

    /// `RACK.rtt`.
    pub fn rtt(&self) -> Duration {
        self.rtt
    }

    /// Reordering was observed on this connection.
    pub fn reordering_seen(&self) -> bool {
        self.reordering_seen
    }

    /// `RACK.fack`.
    pub fn fack(&self) -> Option<SeqNumber> {
        self.fack
    }

    /// A segment was delivered (cumulatively acknowledged or newly SACKed) by an
    /// ACK at `now`; `echo_before_xmit` is true when the ACK's timestamp echo is
    /// older than the segment's latest transmission (the ACK is for an earlier
    /// copy). RFC 8985 section 6.2 steps 2 and 3. Returns true if the segment
    /// was delivered out of order (reordering).
    pub fn on_delivered(&mut self, seg: &Segment, now: Instant, echo_before_xmit: bool) -> bool {
        let rtt = now.saturating_duration_since(seg.xmit);
        // Step 2: "If Segment.retransmitted is TRUE and ACK.ts_option.echo_reply
        // < Segment.xmit_ts: Return" and "If Segment.retransmitted is TRUE and
        // rtt < RACK.min_RTT: Return" (the ACK is probably for the original).
        // An ACK at the very instant of a retransmission cannot be for it either
        // (with a zero minimum RTT the second test never holds).
        let ambiguous = seg.ever_retrans
            && (echo_before_xmit || rtt.is_zero() || self.min_rtt.is_some_and(|m| rtt < m));
        if !ambiguous {
            if !seg.ever_retrans {
                self.min_rtt = Some(self.min_rtt.map_or(rtt, |m| m.min(rtt)));
            }
            let newer = match self.xmit {
                None => true,
                Some((t, e)) => sent_after(seg.xmit, seg.end, t, e),
            };
            if newer {
                self.rtt = rtt;
                self.xmit = Some((seg.xmit, seg.end));
            }
        }
        // Step 3: "If Segment.end_seq > RACK.fack: RACK.fack = Segment.end_seq
        // Else if Segment.end_seq < RACK.fack AND Segment.retransmitted is
        // FALSE: RACK.reordering_seen = TRUE".
        match self.fack {
            Some(f) if seg.end.lt(f) => {
                if !seg.ever_retrans {
                    self.reordering_seen = true;
                    return true;
                }
            }
            _ => self.fack = Some(seg.end),
        }
        false
    }

    /// A D-SACK arrived (RFC 8985 section 6.2 step 4): widen the reordering
    /// window once per round trip.
    pub fn on_dsack(&mut self, snd_una: SeqNumber, snd_max: SeqNumber) {
        if self.dsack_round.is_some_and(|r| snd_una.lt(r)) {
            return;
        }
        self.dsack_round = Some(snd_max);
        self.reo_wnd_mult = self.reo_wnd_mult.saturating_add(1).min(64);
        self.reo_wnd_persist = REO_WND_PERSIST;
    }

    /// A recovery episode ended: "Else if exiting Fast or RTO recovery:
    /// RACK.reo_wnd_persist = RACK.reo_wnd_persist - 1; If
    /// RACK.reo_wnd_persist <= 0: RACK.reo_wnd_mult = 1".
    pub fn on_recovery_exit(&mut self) {
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_mult = 1;
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// `RACK.reo_wnd` (RFC 8985 section 6.2 step 4): zero when no reordering
    /// was seen and the sender is in recovery or at least `dup_thresh` segments
    /// are SACKed; otherwise `min(RACK.min_RTT / 4 * reo_wnd_mult, SRTT)`.
    pub fn reo_wnd(
        &self,
        srtt: Option<Duration>,
        in_recovery: bool,
        sacked_segments: usize,
        dup_thresh: usize,
    ) -> Duration {
        if !self.reordering_seen && (in_recovery || sacked_segments >= dup_thresh) {
            return Duration::ZERO;
        }
        let base = self.min_rtt.unwrap_or(Duration::ZERO) / 4 * self.reo_wnd_mult;
        match srtt {
            Some(s) => base.min(s),
            None => base,
        }
    }

    /// RFC 8985 section 6.2 step 5, `RACK_detect_loss`: marks lost every
    /// segment sent before the RACK segment whose reordering window has passed.
    /// Returns the bytes newly marked and, if some segment may still be lost
    /// later, when to look again (the reordering timer).
    pub fn detect_loss(
        &self,
        board: &mut Scoreboard,
        now: Instant,
        reo_wnd: Duration,
    ) -> (usize, Option<Duration>) {
        let Some((rack_xmit, rack_end)) = self.xmit else {
            return (0, None);
        };
        let mut lost = 0;
        let mut timeout: Option<Duration> = None;
        let deadline = self.rtt + reo_wnd;
        for i in 0..board.len() {
            let Some(s) = board.get(i).copied() else {
                break;
            };
            // Lost and waiting for its retransmission, or SACKed: skip.
            if s.sacked || (s.lost && !s.retrans) {
                continue;
            }
            // Only segments sent before the RACK segment. Records never
            // retransmitted went out in sequence order: past the RACK end, the
            // first one sent no earlier than the RACK segment ends the search
            // (when that segment is a retransmission, the originals above it
            // were sent before it and are candidates).
            if !s.ever_retrans && !s.start.lt(rack_end) && s.xmit >= rack_xmit {
                break;
            }
            if !sent_after(rack_xmit, rack_end, s.xmit, s.end) {
                continue;
            }
            // "remaining = Segment.xmit_ts + RACK.rtt + RACK.reo_wnd - Now()"
            let elapsed = now.saturating_duration_since(s.xmit);
            // A segment sent at this very instant has not been overtaken, whatever
            // the estimates say (a zero RTT and window would resend it on every
            // ACK of the instant).
            if elapsed >= deadline && !elapsed.is_zero() {
                lost += board.mark_lost(i, LossCause::Rack);
            } else {
                // Rounded up to the clock's microsecond, so that the timer never
                // fires a hair early and finds the same segment not yet due.
                let remaining =
                    ceil_micros(deadline.saturating_sub(elapsed)).max(Duration::from_micros(1));
                timeout = Some(timeout.map_or(remaining, |t| t.max(remaining)));
            }
        }
        (lost, timeout)
    }
}

/// `d` rounded up to a whole microsecond (the engine clock's resolution).
fn ceil_micros(d: Duration) -> Duration {
    Duration::from_micros(u64::try_from(d.as_nanos().div_ceil(1000)).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tcp::recovery::test_util::{s, t};

    fn delivered(rack: &mut Rack, b: &mut Scoreboard, l: u32, r: u32, now: Instant) {
        let mut segs = Vec::new();
        b.on_sack(s(l), s(r), |x| segs.push(*x));
        for x in &segs {
            rack.on_delivered(x, now, false);
        }
    }

    /// RFC 8985 section 3.4, example 1: segments P1, P2, P3 sent at once; P2
    /// and P3 are SACKed; P1 is lost once one RTT has passed since it was
    /// sent (with reo_wnd zero), not before.
    #[test]
    fn rfc_8985_example_one_lost_first_segment() {
        let mut b = Scoreboard::new(100);
        for i in 0..3u32 {
            b.on_transmit(s(i * 100), s(i * 100 + 100), t(0));
        }
        let mut rack = Rack::new();
        // The ACK of P2 and P3 arrives after one RTT of 100 ms.
        delivered(&mut rack, &mut b, 100, 300, t(100));
        assert_eq!(rack.rtt(), Duration::from_millis(100));
        assert!(!rack.reordering_seen());
        // Same send time: P1 "was sent before" P3 by the sequence tie-break.
        let (lost, timer) = rack.detect_loss(&mut b, t(100), Duration::ZERO);
        assert_eq!((lost, timer), (100, None));
        assert!(b.get(0).unwrap().lost);
    }

    /// With a reordering window, the loss is declared only when it passes: the
    /// caller arms the reordering timer for the time returned.
    #[test]
    fn reordering_window_defers_loss_and_gives_the_timer() {
        let mut b = Scoreboard::new(100);
        b.on_transmit(s(0), s(100), t(0));
        b.on_transmit(s(100), s(200), t(10));
        let mut rack = Rack::new();
        delivered(&mut rack, &mut b, 100, 200, t(110));
        let wnd = Duration::from_millis(25);
        let (lost, timer) = rack.detect_loss(&mut b, t(110), wnd);
        // P1 sent at 0: deadline 0 + 100 + 25 = 125; now 110: 15 ms left.
        assert_eq!((lost, timer), (0, Some(Duration::from_millis(15))));
        let (lost, timer) = rack.detect_loss(&mut b, t(125), wnd);
        assert_eq!((lost, timer), (100, None));
    }

    /// RFC 8985 section 3.3: a lost retransmission is detected when a segment
    /// sent after it is delivered, without a timeout.
    #[test]
    fn lost_retransmission_is_found() {
        let mut b = Scoreboard::new(100);
        for i in 0..4u32 {
            b.on_transmit(s(i * 100), s(i * 100 + 100), t(0));
        }
        let mut rack = Rack::new();
        delivered(&mut rack, &mut b, 100, 200, t(100));
        rack.detect_loss(&mut b, t(100), Duration::ZERO);
        assert!(b.get(0).unwrap().lost);
        // Retransmit P1 at 100, send new P5 at 101; P5 is SACKed at 201 but
        // P1's retransmission is not: it is lost too.
        b.on_transmit(s(0), s(100), t(100));
        b.on_transmit(s(400), s(500), t(101));
        delivered(&mut rack, &mut b, 400, 500, t(201));
        let (lost, _) = rack.detect_loss(&mut b, t(201), Duration::ZERO);
        assert!(lost >= 100);
        let p1 = b.get(0).unwrap();
        assert!(p1.lost && !p1.retrans, "the retransmission is marked lost");
    }

    #[test]
    fn reordering_is_seen_when_a_lower_original_is_delivered_late() {
        let mut b = Scoreboard::new(100);
        b.on_transmit(s(0), s(100), t(0));
        b.on_transmit(s(100), s(200), t(1));
        let mut rack = Rack::new();
        delivered(&mut rack, &mut b, 100, 200, t(50));
        assert!(!rack.reordering_seen());
        delivered(&mut rack, &mut b, 0, 100, t(51));
        assert!(rack.reordering_seen());
        assert_eq!(rack.fack(), Some(s(200)));
    }

    /// A reordering window with a fraction of a microsecond: the timer is due
    /// on the clock's next tick or later, never at the same instant.
    #[test]
    fn remaining_time_is_rounded_up_to_the_clock() {
        let mut b = Scoreboard::new(100);
        b.on_transmit(s(0), s(100), Instant::from_micros(0));
        b.on_transmit(s(100), s(200), Instant::from_micros(10));
        let mut rack = Rack::new();
        delivered(&mut rack, &mut b, 100, 200, Instant::from_micros(1010));
        let wnd = Duration::from_nanos(250);
        let now = Instant::from_micros(1000);
        let (_, timer) = rack.detect_loss(&mut b, now, wnd);
        let at = now + timer.expect("timer");
        assert!(at > now);
        let (lost, _) = rack.detect_loss(&mut b, at, wnd);
        assert_eq!(lost, 100);
    }

    #[test]
    fn reo_wnd_rules() {
        let mut rack = Rack::new();
        rack.min_rtt = Some(Duration::from_millis(40));
        let srtt = Some(Duration::from_millis(50));
        assert_eq!(rack.reo_wnd(srtt, true, 0, 3), Duration::ZERO);
        assert_eq!(rack.reo_wnd(srtt, false, 3, 3), Duration::ZERO);
        assert_eq!(rack.reo_wnd(srtt, false, 1, 3), Duration::from_millis(10));
        rack.reordering_seen = true;
        assert_eq!(rack.reo_wnd(srtt, true, 5, 3), Duration::from_millis(10));
        // A D-SACK doubles it, once per round trip; SRTT caps it.
        rack.on_dsack(s(0), s(1000));
        rack.on_dsack(s(10), s(2000));
        assert_eq!(rack.reo_wnd(srtt, true, 5, 3), Duration::from_millis(20));
        for _ in 0..10 {
            rack.on_dsack(s(3000), s(3000));
        }
        assert_eq!(rack.reo_wnd(srtt, true, 5, 3), Duration::from_millis(50));
        for _ in 0..REO_WND_PERSIST {
            rack.on_recovery_exit();
        }
        assert_eq!(rack.reo_wnd(srtt, true, 5, 3), Duration::from_millis(10));
    }

    /// On a link with no delay (an RTT of zero), segments retransmitted at one
    /// instant are not lost again at that instant: an ACK arriving with them
    /// is for the originals (it moves nothing), and nothing sent now can have
    /// been overtaken now. Otherwise every ACK of the instant would send them
    /// again, and a peer answering each would double the traffic each round.
    #[test]
    fn a_retransmission_is_not_lost_at_the_instant_it_is_sent() {
        let mut b = Scoreboard::new(100);
        let t0 = Instant::from_micros(500);
        for i in 0..4u32 {
            b.on_transmit(s(i * 100), s(i * 100 + 100), t0);
        }
        let mut rack = Rack::new();
        // An RTT of zero: the last segment SACKed at the instant it was sent.
        delivered(&mut rack, &mut b, 300, 400, t0);
        let (lost, _) = rack.detect_loss(&mut b, t0, Duration::ZERO);
        assert_eq!(lost, 0, "nothing is overtaken in no time");
        let t1 = Instant::from_micros(501);
        let (lost, _) = rack.detect_loss(&mut b, t1, Duration::ZERO);
        assert_eq!(lost, 300);
        // Retransmitted at t1; an ACK at t1 SACKs the first again (its original):
        // RACK keeps the older reference, and nothing is lost again at t1.
        for i in 0..3u32 {
            b.on_transmit(s(i * 100), s(i * 100 + 100), t1);
        }
        delivered(&mut rack, &mut b, 0, 100, t1);
        let (lost, timer) = rack.detect_loss(&mut b, t1, Duration::ZERO);
        assert_eq!(
            lost, 0,
            "the retransmissions of this instant stay in flight"
        );
        assert!(timer.is_none_or(|d| !d.is_zero()), "{timer:?}");
    }
}
