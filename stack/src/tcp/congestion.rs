//! Congestion control: the window arithmetic ([`CongestionControl`],
//! implemented by [`NewReno`]) and the loss-recovery state machine that drives
//! it ([`LossRecovery`]).
//!
//! Read RFC 5681 (slow start, congestion avoidance, fast retransmit, fast
//! recovery), RFC 6582 (NewReno's partial ACKs and the `recover` variable),
//! RFC 3465 (appropriate byte counting), RFC 6928 (IW10) and RFC 3042
//! (limited transmit) before touching this.
//!
//! The split:
//!
//! - [`LossRecovery`] sees ACKs classified by the connection (new data
//!   acknowledged, or a duplicate ACK as RFC 5681 section 2 defines it),
//!   counts duplicates, keeps `recover`, and tells the connection what to
//!   (re)transmit with an [`AckAction`].
//! - A [`CongestionControl`] only sizes `cwnd` and `ssthresh` in response to
//!   events. Another algorithm (e.g. CUBIC) implements the trait and reuses
//!   [`LossRecovery`] unchanged.
//!
//! All sizes are in bytes; all arithmetic saturates.

use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};
use core::fmt;

/// How many duplicate ACKs trigger fast retransmit.
///
/// RFC 5681 section 3.2: "The fast retransmit algorithm uses the arrival of 3
/// duplicate ACKs (as defined in section 2, without any intervening ACKs
/// which move SND.UNA) as an indication that a segment has been lost."
pub const DUP_ACK_THRESHOLD: u32 = 3;

/// The initial window rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialWindow {
    /// RFC 5681 section 3.1: 2, 3 or 4 segments depending on SMSS.
    Rfc5681,
    /// RFC 6928: `min(10*MSS, max(2*MSS, 14600))`.
    Rfc6928,
    /// A fixed number of segments; Linux uses `Segments(10)`
    /// (`TCP_INIT_CWND`), independent of the MSS.
    Segments(u32),
}

impl InitialWindow {
    /// The initial window in bytes for a sender maximum segment size `smss`.
    pub fn bytes(self, smss: usize) -> usize {
        match self {
            // RFC 5681 section 3.1:
            // "If SMSS > 2190 bytes:
            //     IW = 2 * SMSS bytes and MUST NOT be more than 2 segments
            //  If (SMSS > 1095 bytes) and (SMSS <= 2190 bytes):
            //     IW = 3 * SMSS bytes and MUST NOT be more than 3 segments
            //  if SMSS <= 1095 bytes:
            //     IW = 4 * SMSS bytes and MUST NOT be more than 4 segments"
            InitialWindow::Rfc5681 => {
                let segments = if smss > 2190 {
                    2
                } else if smss > 1095 {
                    3
                } else {
                    4
                };
                smss.saturating_mul(segments)
            }
            // RFC 6928 section 2: "IW = min (10*MSS, max (2*MSS, 14600))".
            InitialWindow::Rfc6928 => smss
                .saturating_mul(10)
                .min(smss.saturating_mul(2).max(14600)),
            InitialWindow::Segments(n) => smss.saturating_mul(n as usize),
        }
    }
}

/// A congestion control algorithm: the arithmetic of `cwnd` and `ssthresh`.
///
/// Events arrive from [`LossRecovery`] (ACK-driven ones) and from the
/// connection (timeouts, transmissions, MSS changes). The connection may send
/// while `FlightSize < cwnd()` (RFC 5681 section 3, together with the
/// receiver's window).
pub trait CongestionControl: fmt::Debug + Send {
    /// The algorithm's name as Linux spells it (`TCP_CONGESTION`, `ss -ti`).
    fn name(&self) -> &'static str;

    /// The congestion window in bytes.
    fn cwnd(&self) -> usize;

    /// The slow start threshold in bytes (`usize::MAX` until the first loss).
    fn ssthresh(&self) -> usize;

    /// The sender maximum segment size changed (after the handshake, or on a
    /// path MTU change).
    fn set_mss(&mut self, mss: usize);

    /// `bytes_acked` bytes of new data were acknowledged outside fast
    /// recovery. `rtt` is a Karn-valid sample if this ACK produced one.
    ///
    /// Callers should skip this while the connection is application-limited
    /// (not using its window), as Linux does (RFC 7661).
    fn on_ack(&mut self, bytes_acked: usize, now: Instant, rtt: Option<Duration>);

    /// Fast retransmit fired: the third duplicate ACK arrived with
    /// `flight_size` bytes outstanding.
    fn on_enter_fast_recovery(&mut self, flight_size: usize);

    /// A further duplicate ACK arrived during fast recovery.
    fn on_dup_ack(&mut self);

    /// A partial ACK (RFC 6582) acknowledged `bytes_acked` bytes during fast
    /// recovery.
    fn on_partial_ack(&mut self, bytes_acked: usize);

    /// A full ACK ended fast recovery; `flight_size` bytes are still
    /// outstanding.
    fn on_exit_recovery(&mut self, flight_size: usize);

    /// The retransmission timer expired with `flight_size` bytes outstanding.
    /// `first_timeout` is false when the same segment had already been
    /// retransmitted by the timer (the timer was backed off).
    fn on_rto_timeout(&mut self, flight_size: usize, first_timeout: bool);

    /// New data was transmitted at `now`.
    fn on_data_sent(&mut self, now: Instant);

    /// The connection is about to send after an idle period (nothing
    /// outstanding); `rto` is the current retransmission timeout.
    fn on_idle_restart(&mut self, now: Instant, rto: Duration);
}

/// NewReno congestion control: RFC 5681 with RFC 6582's fast recovery and
/// RFC 3465's byte counting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReno {
    smss: usize,
    initial_window: InitialWindow,
    cwnd: usize,
    ssthresh: usize,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew.
    bytes_acked: usize,
    /// In the slow start that follows a retransmission timeout.
    after_rto: bool,
    /// Any event other than `set_mss` happened: the initial window is no
    /// longer re-derived from the MSS.
    started: bool,
    last_send: Option<Instant>,
}

/// RFC 3465 section 2.2's limit L on the slow start increase per ACK, in
/// segments: "This document specifies that TCP implementations MAY use
/// L=2*SMSS bytes and MUST NOT use L > 2*SMSS bytes."
const ABC_LIMIT_SEGMENTS: usize = 2;

impl NewReno {
    /// A sender with maximum segment size `smss` (0 is treated as 1) and the
    /// given initial window rule.
    pub fn new(smss: usize, initial_window: InitialWindow) -> NewReno {
        let smss = smss.max(1);
        NewReno {
            smss,
            initial_window,
            cwnd: initial_window.bytes(smss),
            // RFC 5681 section 3.1: "The initial value of ssthresh SHOULD be
            // set arbitrarily high (e.g., to the size of the largest possible
            // advertised window)".
            ssthresh: usize::MAX,
            bytes_acked: 0,
            after_rto: false,
            started: false,
            last_send: None,
        }
    }

    /// The sender maximum segment size in use.
    pub fn smss(&self) -> usize {
        self.smss
    }

    /// RFC 5681 equation (4): `ssthresh = max (FlightSize / 2, 2*SMSS)`.
    fn reduced_ssthresh(&self, flight_size: usize) -> usize {
        (flight_size / 2).max(self.smss.saturating_mul(2))
    }
}

impl CongestionControl for NewReno {
    fn name(&self) -> &'static str {
        "reno"
    }

    fn cwnd(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn set_mss(&mut self, mss: usize) {
        self.smss = mss.max(1);
        if !self.started {
            self.cwnd = self.initial_window.bytes(self.smss);
        }
    }

    fn on_ack(&mut self, bytes_acked: usize, _now: Instant, _rtt: Option<Duration>) {
        self.started = true;
        if self.cwnd < self.ssthresh {
            // RFC 5681 section 3.1: "During slow start, a TCP increments cwnd
            // by at most SMSS bytes for each ACK received that cumulatively
            // acknowledges new data", relaxed by RFC 3465 section 2.2:
            // "cwnd += min (N, L*SMSS)". Following an RTO, RFC 3465 section
            // 2.3 has L = 1*SMSS, because ACKs then may cover many segments
            // the receiver already held.
            let limit = if self.after_rto {
                1
            } else {
                ABC_LIMIT_SEGMENTS
            };
            let increase = bytes_acked.min(self.smss.saturating_mul(limit));
            self.cwnd = self.cwnd.saturating_add(increase);
        } else {
            self.after_rto = false;
            // RFC 5681 section 3.1: "The RECOMMENDED way to increase cwnd
            // during congestion avoidance is to count the number of bytes
            // that have been acknowledged by ACKs for new data." RFC 3465
            // section 2.1 spells it out: once bytes_acked reaches cwnd,
            // subtract cwnd from it and grow cwnd by one SMSS.
            self.bytes_acked = self.bytes_acked.saturating_add(bytes_acked);
            if self.bytes_acked >= self.cwnd {
                self.bytes_acked -= self.cwnd;
                self.cwnd = self.cwnd.saturating_add(self.smss);
            }
        }
    }

    fn on_enter_fast_recovery(&mut self, flight_size: usize) {
        self.started = true;
        // RFC 5681 section 3.2 steps 2 and 3: "When the third duplicate ACK
        // is received, a TCP MUST set ssthresh to no more than the value given
        // in equation (4)" ... "The lost segment starting at SND.UNA MUST be
        // retransmitted and cwnd set to ssthresh plus 3*SMSS. This
        // artificially "inflates" the congestion window by the number of
        // segments (three) that have left the network and which the receiver
        // has buffered."
        self.ssthresh = self.reduced_ssthresh(flight_size);
        self.cwnd = self
            .ssthresh
            .saturating_add(self.smss.saturating_mul(DUP_ACK_THRESHOLD as usize));
        self.bytes_acked = 0;
        self.after_rto = false;
    }

    fn on_dup_ack(&mut self) {
        // RFC 5681 section 3.2 step 4: "For each additional duplicate ACK
        // received (after the third), cwnd MUST be incremented by SMSS."
        self.cwnd = self.cwnd.saturating_add(self.smss);
    }

    fn on_partial_ack(&mut self, bytes_acked: usize) {
        // RFC 6582 section 3.2 step 3, partial acknowledgments: "Deflate the
        // congestion window by the amount of new data acknowledged by the
        // Cumulative Acknowledgment field. If the partial ACK acknowledges at
        // least one SMSS of new data, then add back SMSS bytes to the
        // congestion window."
        self.cwnd = self.cwnd.saturating_sub(bytes_acked);
        if bytes_acked >= self.smss {
            self.cwnd = self.cwnd.saturating_add(self.smss);
        }
        // Never below one segment, so that the retransmission can go out.
        self.cwnd = self.cwnd.max(self.smss);
    }

    fn on_exit_recovery(&mut self, flight_size: usize) {
        // RFC 6582 section 3.2 step 3 (full acknowledgment): "Set cwnd to
        // either (1) min (ssthresh, max(FlightSize, SMSS) + SMSS) or (2)
        // ssthresh". Option (1) avoids a burst when little is in flight.
        let cap = flight_size.max(self.smss).saturating_add(self.smss);
        self.cwnd = self.ssthresh.min(cap);
        self.bytes_acked = 0;
    }

    fn on_rto_timeout(&mut self, flight_size: usize, first_timeout: bool) {
        self.started = true;
        // RFC 5681 section 3.1: "When a TCP sender detects segment loss
        // using the retransmission timer and the given segment has not yet
        // been resent by way of the retransmission timer, the value of
        // ssthresh MUST be set to no more than the value given in equation
        // (4)" ... "Furthermore, upon a timeout (as specified in [RFC2988])
        // cwnd MUST be set to no more than the loss window, LW, which equals
        // 1 full-sized segment".
        if first_timeout {
            self.ssthresh = self.reduced_ssthresh(flight_size);
        }
        self.cwnd = self.smss;
        self.bytes_acked = 0;
        self.after_rto = true;
    }

    fn on_data_sent(&mut self, now: Instant) {
        self.last_send = Some(now);
    }

    fn on_idle_restart(&mut self, now: Instant, rto: Duration) {
        // RFC 5681 section 4.1: "a TCP SHOULD set cwnd to no more than RW
        // before beginning transmission if the TCP has not sent data in an
        // interval exceeding the retransmission timeout." with
        // "RW = min(IW,cwnd)". (Linux instead halves cwnd per idle RTO,
        // RFC 2861, down to the same floor.)
        let Some(last) = self.last_send else {
            return;
        };
        if now.saturating_duration_since(last) > rto {
            let restart = self.initial_window.bytes(self.smss).min(self.cwnd);
            self.cwnd = restart;
            self.bytes_acked = 0;
        }
    }
}

/// What the connection should do after [`LossRecovery`] processed an ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckAction {
    /// Nothing special; send whatever the windows allow.
    None,
    /// First or second duplicate ACK: RFC 3042 allows sending one previously
    /// unsent segment, if the receiver's window allows and the flight size
    /// stays within `cwnd + 2*SMSS`.
    LimitedTransmit,
    /// Third duplicate ACK: retransmit the first unacknowledged segment now
    /// (fast retransmit); fast recovery has begun.
    FastRetransmit,
    /// Partial ACK during fast recovery: retransmit the first unacknowledged
    /// segment; restart the retransmission timer if `restart_timer`.
    ///
    /// RFC 6582 section 3.2 step 3: "For the first partial ACK that arrives
    /// during fast recovery, also reset the retransmit timer." (the
    /// "Impatient" variant).
    RetransmitPartial {
        /// Whether this is the first partial ACK of this recovery.
        restart_timer: bool,
    },
}

/// RFC 5681 / RFC 6582 loss recovery: duplicate ACK counting, fast
/// retransmit, and NewReno fast recovery with the `recover` variable.
///
/// RFC 6582 section 6: "the acknowledgment "ack_number" covers more than
/// recover when ack_number - 1 > recover; i.e., at least one byte more of
/// data is acknowledged beyond the highest byte that was outstanding when
/// fast retransmit was last entered." Fast retransmit is entered only for
/// such ACKs, so duplicate ACKs caused by go-back-N retransmissions after a
/// timeout (which carry `recover + 1`) do not halve the window again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LossRecovery {
    dup_acks: u32,
    /// RFC 6582's `recover`: the highest sequence number transmitted when
    /// fast retransmit or the last timeout happened (inclusive).
    recover: SeqNumber,
    /// Whether `recover` still gates entry to fast retransmit. Cleared once
    /// an ACK covers more than `recover` outside recovery, after which the
    /// comparison is never needed again; this also keeps a stale `recover`
    /// from being compared across a sequence wrap (RFC 6582 section 6:
    /// "the state variable recover may also need to be updated in order to
    /// continue to permit possible entry into fast recovery").
    recover_guard: bool,
    in_fast_recovery: bool,
    seen_partial_ack: bool,
}

/// RFC 6582 section 6: `ack - 1 > recover`.
fn covers_more_than(ack: SeqNumber, recover: SeqNumber) -> bool {
    (ack - 1u32).gt(recover)
}

impl LossRecovery {
    /// State for a connection whose initial send sequence number is `iss`.
    ///
    /// RFC 6582 section 3.2 step 1 initialises recover to the ISS. Taken
    /// literally, that would stop fast retransmit from repairing the first
    /// data segment (its duplicate ACKs carry ISS + 1, which does not cover
    /// more than ISS). There is no earlier episode to guard against, so the
    /// guard starts disarmed, and the first segment is repaired like any
    /// other (as Linux and BSD do).
    pub fn new(iss: SeqNumber) -> LossRecovery {
        LossRecovery {
            dup_acks: 0,
            recover: iss,
            recover_guard: false,
            in_fast_recovery: false,
            seen_partial_ack: false,
        }
    }

    /// True between fast retransmit and the full ACK (or an RTO).
    pub fn in_fast_recovery(&self) -> bool {
        self.in_fast_recovery
    }

    /// Consecutive duplicate ACKs seen.
    pub fn dup_acks(&self) -> u32 {
        self.dup_acks
    }

    /// The highest sequence number transmitted when fast retransmit or the
    /// last retransmission timeout happened (the ISS before either).
    pub fn recover(&self) -> SeqNumber {
        self.recover
    }

    /// A duplicate ACK as defined in RFC 5681 section 2 arrived (acknowledges
    /// SND.UNA, carries no data, no SYN/FIN, unchanged window, with data
    /// outstanding). `snd_max` is one past the highest sequence number sent
    /// and `flight_size` the bytes outstanding.
    pub fn on_duplicate_ack(
        &mut self,
        cc: &mut dyn CongestionControl,
        ack: SeqNumber,
        snd_max: SeqNumber,
        flight_size: usize,
    ) -> AckAction {
        self.on_duplicate_ack_with_threshold(cc, ack, snd_max, flight_size, DUP_ACK_THRESHOLD)
    }

    /// Like [`LossRecovery::on_duplicate_ack`] with another duplicate-ACK
    /// threshold: RFC 5827's early retransmit lowers it to one less than the
    /// number of outstanding segments when fewer than four are outstanding and no
    /// new data can be sent ("ER_thresh = oseg - 1").
    pub fn on_duplicate_ack_with_threshold(
        &mut self,
        cc: &mut dyn CongestionControl,
        ack: SeqNumber,
        snd_max: SeqNumber,
        flight_size: usize,
        threshold: u32,
    ) -> AckAction {
        let threshold = threshold.clamp(1, DUP_ACK_THRESHOLD);
        if self.in_fast_recovery {
            // RFC 5681 section 3.2 step 4, via RFC 6582 section 3.2 step 3
            // ("if any duplicate ACKs subsequently arrive, execute step 4 of
            // Section 3.2 of [RFC5681]").
            cc.on_dup_ack();
            return AckAction::None;
        }
        self.dup_acks = self.dup_acks.saturating_add(1);
        if self.dup_acks < threshold {
            // RFC 3042 section 2: Limited Transmit "calls for a TCP sender to
            // transmit new data upon the arrival of the first two consecutive
            // duplicate ACKs" when the receiver's window allows it and the
            // outstanding data stays within cwnd plus 2 segments.
            return AckAction::LimitedTransmit;
        }
        if self.dup_acks > threshold {
            // Fast retransmit was declined for this run of duplicates.
            return AckAction::None;
        }
        // RFC 6582 section 3.2 step 2: "When the third duplicate ACK is
        // received, the TCP sender first checks the value of recover to see
        // if the Cumulative Acknowledgment field covers more than recover. If
        // so, the value of recover is incremented to the value of the
        // highest sequence number transmitted by the TCP so far. The TCP then
        // enters fast retransmit (step 2 of Section 3.2 of [RFC5681]). If
        // not, the TCP does not enter fast retransmit and does not reset
        // ssthresh." (We do not implement the optional ACK heuristics.)
        if self.recover_guard && !covers_more_than(ack, self.recover) {
            return AckAction::None;
        }
        self.recover = snd_max - 1u32;
        self.recover_guard = true;
        self.in_fast_recovery = true;
        self.seen_partial_ack = false;
        cc.on_enter_fast_recovery(flight_size);
        AckAction::FastRetransmit
    }

    /// An ACK acknowledged `bytes_acked` bytes of new data (SND.UNA advanced
    /// to `ack`); `flight_size` is what remains outstanding after it, `rtt` a
    /// Karn-valid sample if any.
    pub fn on_new_ack(
        &mut self,
        cc: &mut dyn CongestionControl,
        ack: SeqNumber,
        bytes_acked: usize,
        flight_size: usize,
        now: Instant,
        rtt: Option<Duration>,
    ) -> AckAction {
        // RFC 5681 section 3.2: duplicates count "without any intervening
        // ACKs which move SND.UNA".
        self.dup_acks = 0;
        if !self.in_fast_recovery {
            if self.recover_guard && covers_more_than(ack, self.recover) {
                self.recover_guard = false;
            }
            cc.on_ack(bytes_acked, now, rtt);
            return AckAction::None;
        }
        // RFC 6582 section 3.2 step 3, full acknowledgments: "If this ACK
        // acknowledges all of the data up to and including recover, then the
        // ACK acknowledges all the intermediate segments sent between the
        // original transmission of the lost segment and the receipt of the
        // third duplicate ACK." ... "Exit the fast recovery procedure."
        if ack.gt(self.recover) {
            self.in_fast_recovery = false;
            cc.on_exit_recovery(flight_size);
            return AckAction::None;
        }
        // Partial acknowledgments: "If this ACK does *not* acknowledge all of
        // the data up to and including recover, then this is a partial ACK.
        // In this case, retransmit the first unacknowledged segment." ...
        // "Do not exit the fast recovery procedure".
        cc.on_partial_ack(bytes_acked);
        let restart_timer = !self.seen_partial_ack;
        self.seen_partial_ack = true;
        AckAction::RetransmitPartial { restart_timer }
    }

    /// The retransmission timer expired. `snd_max` is one past the highest
    /// sequence number sent (before the caller rewinds SND.NXT to SND.UNA);
    /// `first_timeout` as in [`CongestionControl::on_rto_timeout`].
    ///
    /// RFC 6582 section 3.2 step 4: "After a retransmit timeout, record the
    /// value of the highest sequence number transmitted in the variable
    /// recover, and exit the fast recovery procedure if applicable."
    pub fn on_retransmit_timeout(
        &mut self,
        cc: &mut dyn CongestionControl,
        snd_max: SeqNumber,
        flight_size: usize,
        first_timeout: bool,
    ) {
        self.recover = snd_max - 1u32;
        self.recover_guard = true;
        self.in_fast_recovery = false;
        self.dup_acks = 0;
        cc.on_rto_timeout(flight_size, first_timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;
    const T0: Instant = Instant::ZERO;

    fn reno() -> NewReno {
        NewReno::new(MSS, InitialWindow::Segments(10))
    }

    #[test]
    fn initial_windows() {
        assert_eq!(InitialWindow::Rfc5681.bytes(536), 2144);
        assert_eq!(InitialWindow::Rfc5681.bytes(1095), 4380);
        assert_eq!(InitialWindow::Rfc5681.bytes(1096), 3288);
        assert_eq!(InitialWindow::Rfc5681.bytes(1460), 4380);
        assert_eq!(InitialWindow::Rfc5681.bytes(2190), 6570);
        assert_eq!(InitialWindow::Rfc5681.bytes(2191), 4382);
        assert_eq!(InitialWindow::Rfc5681.bytes(8960), 17920);
        assert_eq!(InitialWindow::Rfc6928.bytes(1460), 14600);
        assert_eq!(InitialWindow::Rfc6928.bytes(1448), 14480);
        assert_eq!(InitialWindow::Rfc6928.bytes(536), 5360);
        assert_eq!(InitialWindow::Rfc6928.bytes(8960), 17920);
        assert_eq!(InitialWindow::Rfc6928.bytes(4000), 14600);
        assert_eq!(InitialWindow::Segments(10).bytes(8960), 89600);
        assert_eq!(InitialWindow::Segments(10).bytes(usize::MAX), usize::MAX);
    }

    #[test]
    fn new_sender() {
        let cc = reno();
        assert_eq!(cc.cwnd(), 10_000);
        assert_eq!(cc.ssthresh(), usize::MAX);
        assert_eq!(cc.name(), "reno");
        assert_eq!(NewReno::new(0, InitialWindow::Segments(1)).smss(), 1);
    }

    #[test]
    fn set_mss_rederives_initial_window_until_started() {
        let mut cc = NewReno::new(536, InitialWindow::Rfc5681);
        assert_eq!(cc.cwnd(), 2144);
        cc.set_mss(1460);
        assert_eq!(cc.cwnd(), 4380);
        cc.on_ack(1460, T0, None);
        cc.set_mss(1000);
        assert_eq!(cc.smss(), 1000);
        assert_eq!(cc.cwnd(), 4380 + 1460);
    }

    #[test]
    fn slow_start_with_byte_counting() {
        let mut cc = reno();
        // An ACK for one segment: +1 SMSS.
        cc.on_ack(1000, T0, None);
        assert_eq!(cc.cwnd(), 11_000);
        // A delayed ACK for two segments: +2 SMSS (L = 2).
        cc.on_ack(2000, T0, None);
        assert_eq!(cc.cwnd(), 13_000);
        // A stretch ACK for five segments: capped at L = 2 SMSS.
        cc.on_ack(5000, T0, None);
        assert_eq!(cc.cwnd(), 15_000);
        // A small ACK: + bytes acked.
        cc.on_ack(10, T0, None);
        assert_eq!(cc.cwnd(), 15_010);
    }

    #[test]
    fn congestion_avoidance_grows_one_mss_per_window() {
        let mut cc = reno();
        cc.on_rto_timeout(8000, true); // ssthresh = 4000, cwnd = 1000
        assert_eq!(cc.ssthresh(), 4000);
        // Slow start after RTO: L = 1 SMSS.
        cc.on_ack(2000, T0, None);
        assert_eq!(cc.cwnd(), 2000);
        cc.on_ack(2000, T0, None);
        cc.on_ack(2000, T0, None);
        assert_eq!(cc.cwnd(), 4000);
        // cwnd == ssthresh: congestion avoidance.
        cc.on_ack(3000, T0, None);
        assert_eq!(cc.cwnd(), 4000);
        cc.on_ack(1000, T0, None); // bytes_acked = 4000 >= cwnd
        assert_eq!(cc.cwnd(), 5000);
        cc.on_ack(4999, T0, None);
        assert_eq!(cc.cwnd(), 5000);
        cc.on_ack(1, T0, None);
        assert_eq!(cc.cwnd(), 6000);
    }

    #[test]
    fn congestion_avoidance_carries_excess_bytes() {
        let mut cc = reno();
        cc.on_enter_fast_recovery(8000);
        cc.on_exit_recovery(8000); // cwnd = min(4000, 9000) = 4000
        assert_eq!(cc.cwnd(), 4000);
        cc.on_ack(6000, T0, None); // +1 SMSS, 2000 carried over
        assert_eq!(cc.cwnd(), 5000);
        cc.on_ack(3000, T0, None); // 5000 >= 5000
        assert_eq!(cc.cwnd(), 6000);
    }

    #[test]
    fn fast_recovery_window_arithmetic() {
        let mut cc = reno();
        cc.on_enter_fast_recovery(20_000);
        // ssthresh = max(10000, 2000); cwnd = ssthresh + 3 SMSS.
        assert_eq!(cc.ssthresh(), 10_000);
        assert_eq!(cc.cwnd(), 13_000);
        cc.on_dup_ack();
        cc.on_dup_ack();
        assert_eq!(cc.cwnd(), 15_000);
        // Partial ACK of 3000: deflate by 3000, add back 1 SMSS.
        cc.on_partial_ack(3000);
        assert_eq!(cc.cwnd(), 13_000);
        // Partial ACK of exactly one SMSS: deflate by it, add it back.
        cc.on_partial_ack(1000);
        assert_eq!(cc.cwnd(), 13_000);
        // Partial ACK below one SMSS: deflate only.
        cc.on_partial_ack(500);
        assert_eq!(cc.cwnd(), 12_500);
        // Full ACK with 2000 outstanding: min(10000, 2000 + 1000).
        cc.on_exit_recovery(2000);
        assert_eq!(cc.cwnd(), 3000);
        assert_eq!(cc.ssthresh(), 10_000);
    }

    #[test]
    fn exit_recovery_with_large_flight_uses_ssthresh() {
        let mut cc = reno();
        cc.on_enter_fast_recovery(20_000);
        cc.on_exit_recovery(15_000);
        assert_eq!(cc.cwnd(), 10_000);
    }

    #[test]
    fn ssthresh_floor_is_two_segments() {
        let mut cc = reno();
        cc.on_enter_fast_recovery(1500);
        assert_eq!(cc.ssthresh(), 2000);
        assert_eq!(cc.cwnd(), 5000);
        let mut cc = reno();
        cc.on_rto_timeout(0, true);
        assert_eq!(cc.ssthresh(), 2000);
    }

    #[test]
    fn partial_ack_never_deflates_below_one_segment() {
        let mut cc = reno();
        cc.on_enter_fast_recovery(4000); // cwnd = 5000
                                         // Sub-SMSS partial ACKs deflate without adding back.
        for _ in 0..6 {
            cc.on_partial_ack(999);
        }
        assert_eq!(cc.cwnd(), MSS);
    }

    #[test]
    fn rto_sets_loss_window_and_keeps_ssthresh_on_repeat() {
        let mut cc = reno();
        cc.on_rto_timeout(30_000, true);
        assert_eq!(cc.cwnd(), 1000);
        assert_eq!(cc.ssthresh(), 15_000);
        // The backed-off timer fires again: ssthresh is not reduced again.
        cc.on_rto_timeout(1000, false);
        assert_eq!(cc.cwnd(), 1000);
        assert_eq!(cc.ssthresh(), 15_000);
    }

    #[test]
    fn idle_restart() {
        let mut cc = reno();
        // Never sent: nothing to restart.
        cc.on_idle_restart(Instant::from_secs(10), Duration::from_secs(1));
        assert_eq!(cc.cwnd(), 10_000);
        for _ in 0..10 {
            cc.on_ack(2000, T0, None);
        }
        assert_eq!(cc.cwnd(), 30_000);
        cc.on_data_sent(Instant::from_secs(1));
        // Idle for exactly one RTO: not "exceeding".
        cc.on_idle_restart(Instant::from_secs(2), Duration::from_secs(1));
        assert_eq!(cc.cwnd(), 30_000);
        cc.on_idle_restart(Instant::from_millis(2001), Duration::from_secs(1));
        assert_eq!(cc.cwnd(), 10_000);
        // RW = min(IW, cwnd): a small cwnd is not raised.
        cc.on_rto_timeout(4000, true);
        cc.on_idle_restart(Instant::from_secs(60), Duration::from_secs(1));
        assert_eq!(cc.cwnd(), 1000);
    }

    // ---- LossRecovery ----

    fn seq(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    #[test]
    fn three_dup_acks_trigger_fast_retransmit() {
        let mut cc = reno();
        let mut lr = LossRecovery::new(seq(1000));
        let una = seq(1001);
        let max = seq(21_001);
        assert_eq!(
            lr.on_duplicate_ack(&mut cc, una, max, 20_000),
            AckAction::LimitedTransmit
        );
        assert_eq!(
            lr.on_duplicate_ack(&mut cc, una, max, 20_000),
            AckAction::LimitedTransmit
        );
        assert_eq!(cc.cwnd(), 10_000);
        assert_eq!(
            lr.on_duplicate_ack(&mut cc, una, max, 20_000),
            AckAction::FastRetransmit
        );
        assert!(lr.in_fast_recovery());
        assert_eq!(lr.recover(), seq(21_000));
        assert_eq!(cc.ssthresh(), 10_000);
        assert_eq!(cc.cwnd(), 13_000);
        // Further duplicates inflate.
        assert_eq!(
            lr.on_duplicate_ack(&mut cc, una, max, 20_000),
            AckAction::None
        );
        assert_eq!(cc.cwnd(), 14_000);
    }

    #[test]
    fn new_ack_resets_dup_ack_count() {
        let mut cc = reno();
        let mut lr = LossRecovery::new(seq(0));
        lr.on_duplicate_ack(&mut cc, seq(1), seq(10_001), 10_000);
        lr.on_duplicate_ack(&mut cc, seq(1), seq(10_001), 10_000);
        assert_eq!(lr.dup_acks(), 2);
        lr.on_new_ack(&mut cc, seq(1001), 1000, 9000, T0, None);
        assert_eq!(lr.dup_acks(), 0);
        assert_eq!(cc.cwnd(), 11_000);
        assert_eq!(
            lr.on_duplicate_ack(&mut cc, seq(1001), seq(10_001), 9000),
            AckAction::LimitedTransmit
        );
    }

    #[test]
    fn partial_then_full_ack() {
        let mut cc = reno();
        let mut lr = LossRecovery::new(seq(0));
        for _ in 0..3 {
            lr.on_duplicate_ack(&mut cc, seq(1), seq(20_001), 20_000);
        }
        assert_eq!(lr.recover(), seq(20_000));
        assert_eq!(cc.cwnd(), 13_000);
        // Partial ACK covering 5000 bytes.
        assert_eq!(
            lr.on_new_ack(&mut cc, seq(5001), 5000, 15_000, T0, None),
            AckAction::RetransmitPartial {
                restart_timer: true
            }
        );
        assert_eq!(cc.cwnd(), 9000);
        assert!(lr.in_fast_recovery());
        // Duplicates after a partial ACK still inflate.
        lr.on_duplicate_ack(&mut cc, seq(5001), seq(20_001), 15_000);
        assert_eq!(cc.cwnd(), 10_000);
        // Second partial ACK: no timer restart.
        assert_eq!(
            lr.on_new_ack(&mut cc, seq(10_001), 5000, 10_000, T0, None),
            AckAction::RetransmitPartial {
                restart_timer: false
            }
        );
        assert_eq!(cc.cwnd(), 6000);
        // An ACK up to recover exactly is still partial.
        assert!(matches!(
            lr.on_new_ack(&mut cc, seq(20_000), 9999, 1, T0, None),
            AckAction::RetransmitPartial { .. }
        ));
        // Full ACK: everything through recover.
        assert_eq!(
            lr.on_new_ack(&mut cc, seq(20_001), 1, 0, T0, None),
            AckAction::None
        );
        assert!(!lr.in_fast_recovery());
        // min(ssthresh = 10000, max(0, SMSS) + SMSS)
        assert_eq!(cc.cwnd(), 2000);
    }

    #[test]
    fn dup_acks_not_beyond_recover_do_not_reenter() {
        let mut cc = reno();
        let mut lr = LossRecovery::new(seq(0));
        // An RTO with data sent up to 30_000.
        lr.on_retransmit_timeout(&mut cc, seq(30_001), 30_000, true);
        assert_eq!(lr.recover(), seq(30_000));
        assert_eq!(cc.ssthresh(), 15_000);
        let three_dups = |lr: &mut LossRecovery, cc: &mut NewReno, ack: u32| {
            (0..3)
                .map(|_| lr.on_duplicate_ack(cc, seq(ack), seq(40_001), 1000))
                .last()
        };
        // Duplicates for data sent before the timeout: no second reduction.
        assert_eq!(three_dups(&mut lr, &mut cc, 10_001), Some(AckAction::None));
        lr.on_new_ack(&mut cc, seq(30_000), 19_999, 1, T0, None);
        assert_eq!(three_dups(&mut lr, &mut cc, 30_000), Some(AckAction::None));
        // Not even at recover + 1: go-back-N retransmissions of data the
        // receiver already holds produce exactly these duplicates.
        lr.on_new_ack(&mut cc, seq(30_001), 1, 0, T0, None);
        assert_eq!(three_dups(&mut lr, &mut cc, 30_001), Some(AckAction::None));
        assert!(!lr.in_fast_recovery());
        assert_eq!(cc.ssthresh(), 15_000);
        // Once an ACK covers more than recover, a new loss is handled.
        lr.on_new_ack(&mut cc, seq(31_001), 1000, 9000, T0, None);
        assert_eq!(
            three_dups(&mut lr, &mut cc, 31_001),
            Some(AckAction::FastRetransmit)
        );
        assert_eq!(lr.recover(), seq(40_000));
    }

    #[test]
    fn full_ack_exit_keeps_the_guard_until_an_ack_passes_recover() {
        let mut cc = reno();
        let mut lr = LossRecovery::new(seq(0));
        for _ in 0..3 {
            lr.on_duplicate_ack(&mut cc, seq(1), seq(10_001), 10_000);
        }
        lr.on_new_ack(&mut cc, seq(10_001), 10_000, 0, T0, None);
        assert!(!lr.in_fast_recovery());
        for _ in 0..3 {
            assert_ne!(
                lr.on_duplicate_ack(&mut cc, seq(10_001), seq(20_001), 10_000),
                AckAction::FastRetransmit
            );
        }
        lr.on_new_ack(&mut cc, seq(10_002), 1, 9999, T0, None);
        for _ in 0..2 {
            lr.on_duplicate_ack(&mut cc, seq(10_002), seq(20_001), 9999);
        }
        assert_eq!(
            lr.on_duplicate_ack(&mut cc, seq(10_002), seq(20_001), 9999),
            AckAction::FastRetransmit
        );
    }

    #[test]
    fn stale_recover_does_not_block_after_wrap() {
        let mut cc = reno();
        let mut lr = LossRecovery::new(seq(0));
        lr.on_retransmit_timeout(&mut cc, seq(1001), 1000, true);
        lr.on_new_ack(&mut cc, seq(2001), 2000, 0, T0, None);
        // More than 2^31 bytes later, `recover` would compare as "after" the
        // ACK; the cleared guard keeps fast retransmit available.
        let far = seq(2001) + (1u32 << 31) + 10u32;
        lr.on_new_ack(&mut cc, far, 1000, 5000, T0, None);
        for _ in 0..2 {
            lr.on_duplicate_ack(&mut cc, far, far + 5000u32, 5000);
        }
        assert_eq!(
            lr.on_duplicate_ack(&mut cc, far, far + 5000u32, 5000),
            AckAction::FastRetransmit
        );
    }

    #[test]
    fn rto_exits_fast_recovery() {
        let mut cc = reno();
        let mut lr = LossRecovery::new(seq(0));
        for _ in 0..3 {
            lr.on_duplicate_ack(&mut cc, seq(1), seq(20_001), 20_000);
        }
        assert!(lr.in_fast_recovery());
        lr.on_retransmit_timeout(&mut cc, seq(25_001), 25_000, true);
        assert!(!lr.in_fast_recovery());
        assert_eq!(lr.recover(), seq(25_000));
        assert_eq!(cc.cwnd(), MSS);
        assert_eq!(cc.ssthresh(), 12_500);
        assert_eq!(lr.dup_acks(), 0);
    }

    #[test]
    fn recovery_across_sequence_wrap() {
        let mut cc = reno();
        let iss = seq(u32::MAX - 5000);
        let mut lr = LossRecovery::new(iss);
        let una = iss + 1u32;
        let max = una + 20_000u32; // wrapped
        for _ in 0..3 {
            lr.on_duplicate_ack(&mut cc, una, max, 20_000);
        }
        assert!(lr.in_fast_recovery());
        assert_eq!(lr.recover(), max - 1u32);
        assert!(matches!(
            lr.on_new_ack(&mut cc, una + 10_000u32, 10_000, 10_000, T0, None),
            AckAction::RetransmitPartial { .. }
        ));
        assert_eq!(
            lr.on_new_ack(&mut cc, max, 10_000, 0, T0, None),
            AckAction::None
        );
        assert!(!lr.in_fast_recovery());
    }

    #[test]
    fn trait_is_object_safe() {
        let mut boxed: Box<dyn CongestionControl> = Box::new(reno());
        boxed.on_ack(1000, T0, Some(Duration::from_millis(1)));
        assert_eq!(boxed.cwnd(), 11_000);
    }
}
