//! Round-trip time estimation and the retransmission timeout (RTO).
//!
//! Read RFC 6298 before touching this. The estimator keeps the smoothed RTT
//! (SRTT) and its variation (RTTVAR) and derives the RTO from them; it also
//! owns the exponential backoff of section 5.5.
//!
//! What the caller must do (not done here):
//!
//! - **Karn's algorithm** (RFC 6298 section 3): "RTT samples MUST NOT be made
//!   using segments that were retransmitted (and thus for which it is
//!   ambiguous whether the reply was for the first instance of the packet or
//!   a later instance)." Only call [`RttEstimator::on_sample`] for an ACK of
//!   a segment sent once, or with an RTT measured from an echoed timestamp
//!   (RFC 7323 section 4), which is unambiguous.
//! - **Sampling rate**: RFC 6298 section 3 asks for at least one RTT
//!   measurement per RTT; feeding one sample per ACK, as Linux does with
//!   timestamps, is also fine.
//! - Arming, restarting and stopping the retransmission timer (section 5).
//!
//! Linux differs from the letter of RFC 6298 in one visible way: its RTO is
//! about `SRTT + max(4 * RTTVAR, rto_min)`, i.e. the minimum acts like the
//! clock granularity G of the RFC formula rather than as a floor on the sum.
//! [`RttEstimator::linux`] reproduces that by setting G to 200 ms, which makes
//! our retransmission timing on a LAN look like a Linux host's (~200 ms plus
//! SRTT instead of a flat 200 ms).

use crate::time::Duration;

/// Linux's initial RTO (`TCP_TIMEOUT_INIT`), also RFC 6298 section 2.1's 1 s.
pub const LINUX_INITIAL_RTO: Duration = Duration::from_secs(1);
/// Linux's minimum RTO (`TCP_RTO_MIN`).
pub const LINUX_MIN_RTO: Duration = Duration::from_millis(200);
/// Linux's maximum RTO (`TCP_RTO_MAX`).
pub const LINUX_MAX_RTO: Duration = Duration::from_secs(120);
/// RFC 6298 section 5.7's RTO after a SYN was lost (Linux's
/// `TCP_TIMEOUT_FALLBACK`).
pub const SYN_LOSS_FALLBACK_RTO: Duration = Duration::from_secs(3);
/// Default clock granularity G: the engine's timers have microsecond
/// resolution, but a runtime wakes up with about millisecond precision.
pub const DEFAULT_GRANULARITY: Duration = Duration::from_millis(1);

/// The RFC 6298 RTT estimator and RTO calculator.
///
/// Internally in microseconds; all arithmetic saturates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RttEstimator {
    /// SRTT and RTTVAR in microseconds, `None` until the first sample.
    estimate: Option<(u64, u64)>,
    /// RTO before backoff, microseconds.
    base_rto: u64,
    /// Number of consecutive backoffs since the last sample.
    backoffs: u32,
    /// Current RTO including backoff, microseconds.
    rto: u64,
    min_rto: u64,
    max_rto: u64,
    granularity: u64,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RttEstimator {
    /// An estimator with no samples yet, whose RTO is `initial_rto` clamped to
    /// `[min_rto, max_rto]`. The clock granularity G is
    /// [`DEFAULT_GRANULARITY`].
    ///
    /// If `min_rto > max_rto`, `max_rto` wins.
    ///
    /// RFC 6298 section 2.1: "Until a round-trip time (RTT) measurement has
    /// been made for a segment sent between the sender and receiver, the
    /// sender SHOULD set RTO <- 1 second".
    pub fn new(initial_rto: Duration, min_rto: Duration, max_rto: Duration) -> RttEstimator {
        let max_rto = micros(max_rto);
        let min_rto = micros(min_rto).min(max_rto);
        let rto = micros(initial_rto).clamp(min_rto, max_rto);
        RttEstimator {
            estimate: None,
            base_rto: rto,
            backoffs: 0,
            rto,
            min_rto,
            max_rto,
            granularity: micros(DEFAULT_GRANULARITY),
        }
    }

    /// Linux's defaults: initial 1 s, minimum 200 ms, maximum 120 s, and G =
    /// 200 ms so that RTO = SRTT + max(200 ms, 4 * RTTVAR) as in Linux's
    /// `tcp_rtt_estimator` / `__tcp_set_rto`.
    pub fn linux() -> RttEstimator {
        RttEstimator::new(LINUX_INITIAL_RTO, LINUX_MIN_RTO, LINUX_MAX_RTO)
            .with_granularity(LINUX_MIN_RTO)
    }

    /// Sets the clock granularity G of the RTO formula (builder style).
    pub fn with_granularity(mut self, granularity: Duration) -> RttEstimator {
        self.granularity = micros(granularity);
        self
    }

    /// Feeds one RTT measurement and recomputes the RTO, which also clears
    /// any backoff.
    ///
    /// RFC 6298 section 5: "Note that after retransmitting, once a new RTT
    /// measurement is obtained (which can only happen when new data has been
    /// sent and acknowledged), the computations outlined in Section 2 are
    /// performed, including the computation of RTO, which may result in
    /// "collapsing" RTO back down after it has been subject to exponential
    /// back off (rule 5.5).
    pub fn on_sample(&mut self, rtt: Duration) {
        let r = micros(rtt);
        let (srtt, rttvar) = match self.estimate {
            // RFC 6298 section 2.2: "When the first RTT measurement R is
            // made, the host MUST set SRTT <- R, RTTVAR <- R/2".
            None => (r, r / 2),
            // RFC 6298 section 2.3: "When a subsequent RTT measurement R' is
            // made, a host MUST set
            //     RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
            //     SRTT <- (1 - alpha) * SRTT + alpha * R'
            // The value of SRTT used in the update to RTTVAR is its value
            // before updating SRTT itself using the second assignment."
            // With alpha = 1/8 and beta = 1/4.
            Some((srtt, rttvar)) => {
                let error = srtt.abs_diff(r);
                let rttvar = rttvar.saturating_mul(3).saturating_add(error) / 4;
                let srtt = srtt.saturating_mul(7).saturating_add(r) / 8;
                (srtt, rttvar)
            }
        };
        self.estimate = Some((srtt, rttvar));
        // "RTO <- SRTT + max (G, K*RTTVAR)" with K = 4.
        let rto = srtt.saturating_add(self.granularity.max(rttvar.saturating_mul(4)));
        // RFC 6298 section 2.4: "Whenever RTO is computed, if it is less than
        // 1 second, then the RTO SHOULD be rounded up to 1 second." (We use
        // the configured minimum, 200 ms like Linux, by default.)
        // Section 2.5: "A maximum value MAY be placed on RTO provided it is at
        // least 60 seconds."
        self.base_rto = rto.clamp(self.min_rto, self.max_rto);
        self.rto = self.base_rto;
        self.backoffs = 0;
    }

    /// Doubles the RTO after the retransmission timer expired, capped at the
    /// maximum.
    ///
    /// RFC 6298 section 5.5: "The host MUST set RTO <- RTO * 2 ("back off
    /// the timer"). The maximum value discussed in (2.5) above may be used to
    /// provide an upper bound to this doubling operation."
    pub fn backoff(&mut self) {
        self.rto = self.rto.saturating_mul(2).min(self.max_rto);
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// Re-initialises the RTO when the handshake completes after a SYN or
    /// SYN-ACK was retransmitted and no RTT sample was taken.
    ///
    /// RFC 6298 section 5.7: "If the timer expires awaiting the ACK of a SYN
    /// segment and the TCP implementation is using an RTO less than 3 seconds,
    /// the RTO MUST be re-initialized to 3 seconds when data transmission
    /// begins (i.e., after the three-way handshake completes)."
    pub fn on_handshake_after_syn_loss(&mut self) {
        if self.estimate.is_none() {
            let fallback = micros(SYN_LOSS_FALLBACK_RTO).clamp(self.min_rto, self.max_rto);
            self.base_rto = self.base_rto.max(fallback);
            self.rto = self.base_rto;
            self.backoffs = 0;
        }
    }

    /// The current retransmission timeout, including backoff.
    pub fn rto(&self) -> Duration {
        Duration::from_micros(self.rto)
    }

    /// The smoothed RTT, `None` before the first sample.
    pub fn srtt(&self) -> Option<Duration> {
        self.estimate.map(|(srtt, _)| Duration::from_micros(srtt))
    }

    /// The RTT variation, `None` before the first sample.
    pub fn rttvar(&self) -> Option<Duration> {
        self.estimate
            .map(|(_, rttvar)| Duration::from_micros(rttvar))
    }

    /// How many times [`RttEstimator::backoff`] was called since the last
    /// sample (Linux's `icsk_backoff`, shown by `ss -ti` as `backoff:`).
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }
}

impl Default for RttEstimator {
    /// [`RttEstimator::linux`].
    fn default() -> RttEstimator {
        RttEstimator::linux()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn rfc_estimator() -> RttEstimator {
        RttEstimator::new(ms(1000), ms(200), ms(120_000))
    }

    #[test]
    fn initial_rto_before_samples() {
        let e = rfc_estimator();
        assert_eq!(e.rto(), ms(1000));
        assert_eq!(e.srtt(), None);
        assert_eq!(e.rttvar(), None);
        assert_eq!(e.backoffs(), 0);
    }

    #[test]
    fn initial_rto_is_clamped() {
        assert_eq!(RttEstimator::new(ms(10), ms(200), ms(500)).rto(), ms(200));
        assert_eq!(RttEstimator::new(ms(900), ms(200), ms(500)).rto(), ms(500));
        // min above max: max wins.
        assert_eq!(RttEstimator::new(ms(900), ms(800), ms(500)).rto(), ms(500));
    }

    #[test]
    fn first_sample() {
        let mut e = rfc_estimator();
        e.on_sample(ms(100));
        // SRTT = 100, RTTVAR = 50, RTO = 100 + max(1, 200) = 300.
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), Some(ms(50)));
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn subsequent_samples_use_alpha_and_beta() {
        let mut e = rfc_estimator();
        e.on_sample(ms(100));
        e.on_sample(ms(180));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 180| = 37.5 + 20 = 57.5
        // SRTT   = 7/8 * 100 + 1/8 * 180 = 87.5 + 22.5 = 110
        // RTO    = 110 + 4 * 57.5 = 340
        assert_eq!(e.rttvar(), Some(Duration::from_micros(57_500)));
        assert_eq!(e.srtt(), Some(ms(110)));
        assert_eq!(e.rto(), ms(340));

        e.on_sample(ms(30));
        // RTTVAR = 3/4 * 57.5 + 1/4 * |110 - 30| = 43.125 + 20 = 63.125
        // SRTT   = 7/8 * 110 + 1/8 * 30 = 96.25 + 3.75 = 100
        // RTO    = 100 + 252.5 = 352.5
        assert_eq!(e.rttvar(), Some(Duration::from_micros(63_125)));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rto(), Duration::from_micros(352_500));
    }

    #[test]
    fn rto_is_clamped_to_minimum() {
        let mut e = rfc_estimator();
        e.on_sample(Duration::from_micros(400));
        // 400 us + 4 * 200 us = 1.2 ms, raised to 200 ms.
        assert_eq!(e.rto(), ms(200));
        assert_eq!(e.srtt(), Some(Duration::from_micros(400)));
    }

    #[test]
    fn rto_is_clamped_to_maximum() {
        let mut e = rfc_estimator();
        e.on_sample(ms(100_000));
        assert_eq!(e.rto(), ms(120_000));
    }

    #[test]
    fn granularity_dominates_small_variance() {
        let mut e = RttEstimator::new(ms(1000), ms(1), ms(60_000)).with_granularity(ms(50));
        e.on_sample(ms(10));
        // SRTT = 10, RTTVAR = 5, RTO = 10 + max(50, 20) = 60.
        assert_eq!(e.rto(), ms(60));
    }

    #[test]
    fn linux_profile_adds_rto_min_to_srtt() {
        let mut e = RttEstimator::linux();
        assert_eq!(e.rto(), ms(1000));
        e.on_sample(Duration::from_micros(300));
        // 300 us + max(200 ms, 600 us) = 200.3 ms, like Linux on a LAN.
        assert_eq!(e.rto(), Duration::from_micros(200_300));
        assert_eq!(RttEstimator::default(), RttEstimator::linux());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let mut e = RttEstimator::new(ms(1000), ms(200), ms(5000));
        e.backoff();
        assert_eq!(e.rto(), ms(2000));
        e.backoff();
        assert_eq!(e.rto(), ms(4000));
        e.backoff();
        assert_eq!(e.rto(), ms(5000));
        e.backoff();
        assert_eq!(e.rto(), ms(5000));
        assert_eq!(e.backoffs(), 4);
    }

    #[test]
    fn new_sample_resets_backoff() {
        let mut e = rfc_estimator();
        e.on_sample(ms(100));
        e.backoff();
        e.backoff();
        assert_eq!(e.rto(), ms(1200));
        e.on_sample(ms(100));
        // RTTVAR = 3/4 * 50 = 37.5, SRTT = 100, RTO = 100 + 150 = 250.
        assert_eq!(e.rto(), ms(250));
        assert_eq!(e.backoffs(), 0);
    }

    #[test]
    fn syn_loss_fallback() {
        let mut e = RttEstimator::linux();
        e.backoff();
        assert_eq!(e.rto(), ms(2000));
        e.on_handshake_after_syn_loss();
        assert_eq!(e.rto(), ms(3000));
        assert_eq!(e.backoffs(), 0);

        // With a sample already taken, the estimate stands.
        let mut e = RttEstimator::linux();
        e.on_sample(ms(10));
        let rto = e.rto();
        e.on_handshake_after_syn_loss();
        assert_eq!(e.rto(), rto);
    }

    proptest! {
        #[test]
        fn rto_always_within_bounds(samples in proptest::collection::vec(0u64..200_000_000, 1..50), backoffs in 0u32..40) {
            let mut e = rfc_estimator();
            for s in samples {
                e.on_sample(Duration::from_micros(s));
                prop_assert!(e.rto() >= ms(200) && e.rto() <= ms(120_000));
            }
            for _ in 0..backoffs {
                e.backoff();
                prop_assert!(e.rto() >= ms(200) && e.rto() <= ms(120_000));
            }
        }

        #[test]
        fn constant_rtt_converges(rtt_ms in 1u64..10_000) {
            let mut e = rfc_estimator();
            for _ in 0..200 {
                e.on_sample(ms(rtt_ms));
            }
            prop_assert_eq!(e.srtt(), Some(ms(rtt_ms)));
        }

        #[test]
        fn extreme_samples_do_not_panic(s in any::<u64>()) {
            let mut e = rfc_estimator();
            e.on_sample(Duration::from_secs(s));
            e.on_sample(Duration::MAX);
            e.on_sample(Duration::ZERO);
            prop_assert!(e.rto() <= ms(120_000));
        }
    }
}
