//! CUBIC congestion control (RFC 9438) with HyStart++ slow start (RFC 9406):
//! Linux's default (`net.ipv4.tcp_congestion_control = cubic`).
//!
//! Read RFC 9438 sections 4.1 to 4.8 and RFC 9406 section 4 before touching
//! this. The window function is kept in segments as `f64`, as the RFC writes
//! it; `cwnd` is reported in bytes.

use super::congestion::{
    reduced, AckEvent, CongestionAlgorithm, CongestionControl, InitialWindow, Window,
};
use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// RFC 9438 section 5: "C SHOULD be set to 0.4".
const C: f64 = 0.4;
/// RFC 9438 section 4.6: "beta_cubic SHOULD be set to 0.7".
const BETA_NUM: usize = 7;
const BETA_DEN: usize = 10;
const BETA: f64 = 0.7;
/// RFC 9438 section 4.3: `alpha_cubic = 3 * (1 - beta) / (1 + beta)`.
const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

// RFC 9406 section 4.3, the constants.
const MIN_RTT_THRESH: Duration = Duration::from_millis(4);
const MAX_RTT_THRESH: Duration = Duration::from_millis(16);
const MIN_RTT_DIVISOR: u32 = 8;
const N_RTT_SAMPLE: u32 = 8;
const CSS_GROWTH_DIVISOR: usize = 4;
const CSS_ROUNDS: u32 = 5;
/// "L: ... for non-paced implementations L = 8".
const SS_LIMIT_SEGMENTS: usize = 8;

/// Where HyStart++ is (RFC 9406 section 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlowStart {
    /// Standard slow start, watching the RTT of each round.
    Standard,
    /// Conservative Slow Start after an RTT increase: slower growth for up to
    /// `CSS_ROUNDS` rounds, then congestion avoidance.
    Conservative {
        /// `cssBaselineMinRtt`.
        baseline: Duration,
        /// Rounds spent in CSS.
        rounds: u32,
    },
    /// Slow start is over (ssthresh reached, a loss, or CSS completed).
    Done,
}

/// HyStart++'s per-round RTT bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HyStart {
    phase: SlowStart,
    /// `windowEnd`: the round ends when this is acknowledged.
    window_end: Option<SeqNumber>,
    last_round_min_rtt: Option<Duration>,
    current_round_min_rtt: Option<Duration>,
    rtt_sample_count: u32,
}

impl HyStart {
    fn new() -> HyStart {
        HyStart {
            phase: SlowStart::Standard,
            window_end: None,
            last_round_min_rtt: None,
            current_round_min_rtt: None,
            rtt_sample_count: 0,
        }
    }

    /// Feeds one ACK in slow start; returns true when CSS is over and
    /// congestion avoidance must begin.
    fn on_ack(&mut self, ev: &AckEvent) -> bool {
        // "At the start of each round during standard slow start and CSS".
        let round_over = self.window_end.is_none_or(|end| ev.ack.ge(end));
        if round_over {
            self.window_end = Some(ev.snd_max);
            self.last_round_min_rtt = self.current_round_min_rtt;
            self.current_round_min_rtt = None;
            self.rtt_sample_count = 0;
            if let SlowStart::Conservative { rounds, .. } = &mut self.phase {
                *rounds += 1;
                if *rounds >= CSS_ROUNDS {
                    // "If CSS_ROUNDS rounds are complete, enter congestion
                    // avoidance by setting the ssthresh to the current cwnd."
                    self.phase = SlowStart::Done;
                    return true;
                }
            }
        }
        if let Some(rtt) = ev.rtt {
            self.current_round_min_rtt =
                Some(self.current_round_min_rtt.map_or(rtt, |m| m.min(rtt)));
            self.rtt_sample_count += 1;
        }
        if self.rtt_sample_count < N_RTT_SAMPLE {
            return false;
        }
        let (Some(cur), Some(last)) = (self.current_round_min_rtt, self.last_round_min_rtt) else {
            return false;
        };
        match self.phase {
            SlowStart::Standard => {
                // "RttThresh = max(MIN_RTT_THRESH, min(lastRoundMinRTT /
                // MIN_RTT_DIVISOR, MAX_RTT_THRESH)); if (currentRoundMinRTT >=
                // (lastRoundMinRTT + RttThresh)) { cssBaselineMinRtt =
                // currentRoundMinRTT; exit slow start and enter CSS }"
                let thresh = (last / MIN_RTT_DIVISOR).clamp(MIN_RTT_THRESH, MAX_RTT_THRESH);
                if cur >= last + thresh {
                    self.phase = SlowStart::Conservative {
                        baseline: cur,
                        rounds: 0,
                    };
                }
            }
            SlowStart::Conservative { baseline, .. } => {
                // "If currentRoundMinRTT < cssBaselineMinRtt ... the RTT
                // increase was spurious: resume slow start".
                if cur < baseline {
                    self.phase = SlowStart::Standard;
                }
            }
            SlowStart::Done => {}
        }
        false
    }

    fn growth_divisor(&self) -> usize {
        match self.phase {
            SlowStart::Conservative { .. } => CSS_GROWTH_DIVISOR,
            _ => 1,
        }
    }
}

/// CUBIC (RFC 9438) with HyStart++ (RFC 9406).
#[derive(Clone, Debug, PartialEq)]
pub struct Cubic {
    w: Window,
    /// Fractional growth not yet added to `cwnd`, in bytes.
    carry: f64,
    /// `W_max`, in segments: the window before the last reduction.
    w_max: f64,
    /// `W_max` before the last reduction, restored by an undo.
    prior_w_max: f64,
    /// `t = 0` of the current congestion avoidance epoch.
    epoch_start: Option<Instant>,
    /// `K`, in seconds.
    k: f64,
    /// The window the cubic function heads for at `t = K`, in segments.
    origin: f64,
    /// `W_est`, the Reno-friendly estimate, in segments.
    w_est: f64,
    hystart: HyStart,
}

impl Cubic {
    /// A sender with maximum segment size `smss` and the given initial window.
    pub fn new(smss: usize, initial_window: InitialWindow) -> Cubic {
        Cubic {
            w: Window::new(smss, initial_window),
            carry: 0.0,
            w_max: 0.0,
            prior_w_max: 0.0,
            epoch_start: None,
            k: 0.0,
            origin: 0.0,
            w_est: 0.0,
            hystart: HyStart::new(),
        }
    }

    fn segments(&self) -> f64 {
        self.w.cwnd as f64 / self.w.smss as f64
    }

    /// RFC 9438 equation (1): `W_cubic(t) = C * (t - K)^3 + W_max`.
    fn w_cubic(&self, t: f64) -> f64 {
        C * (t - self.k).powi(3) + self.origin
    }

    fn grow(&mut self, bytes: f64) {
        self.carry += bytes.max(0.0);
        let whole = self.carry.floor();
        self.carry -= whole;
        self.w.cwnd = self.w.cwnd.saturating_add(whole as usize);
    }

    fn congestion_avoidance(&mut self, ev: &AckEvent) {
        let cwnd_segs = self.segments().max(1.0);
        let start = match self.epoch_start {
            Some(s) => s,
            None => {
                // RFC 9438 section 4.2 and 4.8: a new epoch starts with the
                // first ACK of congestion avoidance.
                self.epoch_start = Some(ev.now);
                if cwnd_segs < self.w_max {
                    // Equation (2): K = cubic_root((W_max - cwnd_epoch) / C).
                    self.k = ((self.w_max - cwnd_segs) / C).cbrt();
                    self.origin = self.w_max;
                } else {
                    self.k = 0.0;
                    self.origin = cwnd_segs;
                }
                self.w_est = cwnd_segs;
                ev.now
            }
        };
        let t = ev.now.saturating_duration_since(start).as_secs_f64();
        let rtt = ev
            .srtt
            .or(ev.rtt)
            .unwrap_or(Duration::from_millis(100))
            .as_secs_f64();
        let acked_segs = ev.delivered as f64 / self.w.smss as f64;
        // Section 4.3, the Reno-friendly region: "W_est = W_est + alpha_cubic *
        // segments_acked / cwnd"; alpha becomes 1 once W_est reaches W_max.
        let alpha = if self.w_est >= self.w_max { 1.0 } else { ALPHA };
        self.w_est += alpha * acked_segs / cwnd_segs;
        if self.w_cubic(t) < self.w_est {
            // "cwnd SHOULD be set to W_est".
            let target = (self.w_est * self.w.smss as f64) as usize;
            if target > self.w.cwnd {
                self.w.cwnd = target;
            }
            return;
        }
        // Sections 4.4 and 4.5: target = W_cubic(t + RTT), bounded to
        // [cwnd, 1.5 * cwnd]; "cwnd SHOULD be incremented by (target - cwnd) /
        // cwnd for each received new ACK" (per acknowledged segment here).
        let target = self.w_cubic(t + rtt).clamp(cwnd_segs, 1.5 * cwnd_segs);
        let inc = (target - cwnd_segs) / cwnd_segs * acked_segs;
        self.grow(inc * self.w.smss as f64);
    }
}

impl CongestionControl for Cubic {
    fn algorithm(&self) -> CongestionAlgorithm {
        CongestionAlgorithm::Cubic
    }

    fn window(&self) -> &Window {
        &self.w
    }

    fn window_mut(&mut self) -> &mut Window {
        &mut self.w
    }

    fn increase(&mut self, ev: &AckEvent) {
        if self.w.cwnd < self.w.ssthresh {
            if self.hystart.phase != SlowStart::Done && self.hystart.on_ack(ev) {
                self.w.ssthresh = self.w.cwnd;
                return;
            }
            // RFC 9406 section 4.2: "cwnd = cwnd + min(N, L * SMSS)", divided
            // by CSS_GROWTH_DIVISOR in CSS.
            let n =
                ev.delivered.min(self.w.smss * SS_LIMIT_SEGMENTS) / self.hystart.growth_divisor();
            let room = self.w.ssthresh - self.w.cwnd;
            self.w.cwnd = self.w.cwnd.saturating_add(n.min(room));
            if n <= room {
                return;
            }
            // The rest of this ACK counts toward congestion avoidance.
            let rest = AckEvent {
                delivered: n - room,
                ..*ev
            };
            self.congestion_avoidance(&rest);
            return;
        }
        self.congestion_avoidance(ev);
    }

    fn on_loss(&mut self, _now: Instant) {
        self.w.started = true;
        self.hystart.phase = SlowStart::Done;
        let cwnd_segs = self.segments();
        self.prior_w_max = self.w_max;
        // Section 4.7, fast convergence: "if cwnd < W_max and fast
        // convergence is enabled, further reduce W_max: W_max = cwnd * (1 +
        // beta_cubic) / 2", else "W_max = cwnd".
        self.w_max = if cwnd_segs < self.w_max {
            cwnd_segs * (1.0 + BETA) / 2.0
        } else {
            cwnd_segs
        };
        // Section 4.6: "ssthresh = cwnd * beta_cubic", at least two segments.
        self.w.ssthresh = reduced(self.w.cwnd, BETA_NUM, BETA_DEN, self.w.smss);
        self.epoch_start = None;
        self.carry = 0.0;
    }

    fn on_rto(&mut self, now: Instant, first_timeout: bool) {
        if first_timeout {
            self.on_loss(now);
        }
        // Section 4.8: "cwnd = 1 * SMSS" after a timeout; the epoch restarts
        // when congestion avoidance resumes.
        self.w.cwnd = self.w.smss;
        self.epoch_start = None;
        self.w.started = true;
    }

    fn undo(&mut self, prior_cwnd: usize, prior_ssthresh: usize) {
        // Section 4.9: "restore ... W_max ... to the values prior to the
        // congestion event".
        self.w.cwnd = self.w.cwnd.max(prior_cwnd);
        self.w.ssthresh = self.w.ssthresh.max(prior_ssthresh);
        self.w_max = self.w_max.max(self.prior_w_max);
        self.epoch_start = None;
    }

    fn reset_window(&mut self, cwnd: usize, ssthresh: usize) {
        self.w.cwnd = cwnd.max(self.w.smss);
        self.w.ssthresh = ssthresh;
        self.w.started = true;
        self.epoch_start = None;
        if ssthresh < usize::MAX {
            self.hystart.phase = SlowStart::Done;
        }
    }

    fn on_idle_restart(&mut self, now: Instant, rto: Duration) {
        if self.w.idle_restart(now, rto) {
            // Section 5.8: the epoch does not count idle time.
            self.epoch_start = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSS: usize = 1000;

    fn ev(now_ms: u64, delivered: usize, rtt_ms: Option<u64>, ack: u32, snd_max: u32) -> AckEvent {
        AckEvent {
            delivered,
            now: Instant::from_millis(now_ms),
            rtt: rtt_ms.map(Duration::from_millis),
            srtt: Some(Duration::from_millis(rtt_ms.unwrap_or(100))),
            ack: SeqNumber(ack),
            snd_max: SeqNumber(snd_max),
            cwnd_limited: true,
        }
    }

    #[test]
    fn loss_reduces_by_beta_and_remembers_w_max() {
        let mut c = Cubic::new(MSS, InitialWindow::Segments(100));
        c.on_loss(Instant::ZERO);
        assert_eq!(c.ssthresh(), 70 * MSS);
        assert!((c.w_max - 100.0).abs() < 1e-9);
        // A second loss below W_max: fast convergence.
        c.set_cwnd(80 * MSS);
        c.on_loss(Instant::ZERO);
        assert!((c.w_max - 80.0 * 1.7 / 2.0).abs() < 1e-9);
        assert_eq!(c.ssthresh(), 56 * MSS);
    }

    #[test]
    fn window_regrows_to_w_max_at_k() {
        // RFC 9438 equation (2): K = cbrt(W_max * (1 - beta) / C); with
        // W_max = 100 segments, K = cbrt(75) = 4.217 s.
        let mut c = Cubic::new(MSS, InitialWindow::Segments(100));
        c.on_loss(Instant::ZERO);
        c.set_cwnd(c.ssthresh());
        // A long RTT, so that the cubic region (not the Reno-friendly one)
        // sets the pace.
        let rtt = 100u64;
        let mut now = 0;
        let mut at_k = None;
        while now < 10_000 {
            now += rtt;
            // One ACK per RTT for the whole window.
            let d = c.cwnd();
            c.on_ack(&ev(now, d, Some(rtt), 0, 0));
            if at_k.is_none() && c.cwnd() >= 100 * MSS {
                at_k = Some(now);
            }
        }
        let k_ms = at_k.expect("cwnd reached W_max") as f64;
        assert!(
            (3900.0..4400.0).contains(&k_ms),
            "W_max regained at {k_ms} ms"
        );
        assert!(c.cwnd() > 100 * MSS, "convex growth past W_max");
    }

    #[test]
    fn slow_start_grows_by_delivered_bytes_up_to_l() {
        let mut c = Cubic::new(MSS, InitialWindow::Segments(10));
        c.on_ack(&ev(1, 2 * MSS, None, 0, 0));
        assert_eq!(c.cwnd(), 12 * MSS);
        c.on_ack(&ev(2, 20 * MSS, None, 0, 0));
        assert_eq!(c.cwnd(), 20 * MSS, "at most L = 8 segments per ACK");
    }

    #[test]
    fn hystart_enters_css_on_rtt_increase_then_congestion_avoidance() {
        let mut c = Cubic::new(MSS, InitialWindow::Segments(10));
        let mut seq = 0u32;
        let mut now = 0u64;
        // Round 1 at 20 ms, round 2 at 40 ms (an increase of more than 4 ms).
        for (round, rtt) in [(0, 20u64), (1, 40)] {
            let end = seq + 100_000;
            for i in 0..10u32 {
                now += 1;
                let ack = if i == 0 && round > 0 { seq + 1 } else { seq };
                c.on_ack(&ev(now, MSS, Some(rtt), ack, end));
            }
            seq = end;
        }
        assert!(matches!(c.hystart.phase, SlowStart::Conservative { .. }));
        let before = c.cwnd();
        c.on_ack(&ev(now + 1, 4 * MSS, Some(40), seq - 5, seq));
        assert_eq!(c.cwnd() - before, MSS, "CSS grows at a quarter of the rate");
        // Five more rounds at the same RTT end CSS.
        for _ in 0..5 {
            let end = seq + 100_000;
            c.on_ack(&ev(now + 2, MSS, Some(40), seq + 1, end));
            seq = end;
        }
        assert_eq!(c.hystart.phase, SlowStart::Done);
        assert_eq!(c.ssthresh(), c.cwnd());
    }

    #[test]
    fn undo_restores_window_and_w_max() {
        let mut c = Cubic::new(MSS, InitialWindow::Segments(50));
        c.on_loss(Instant::ZERO);
        c.set_cwnd(c.ssthresh());
        c.undo(50 * MSS, usize::MAX);
        assert_eq!(c.cwnd(), 50 * MSS);
        assert_eq!(c.ssthresh(), usize::MAX);
    }

    #[test]
    fn rto_sets_one_segment() {
        let mut c = Cubic::new(MSS, InitialWindow::Segments(10));
        c.on_rto(Instant::ZERO, true);
        assert_eq!(c.cwnd(), MSS);
        assert_eq!(c.ssthresh(), 7 * MSS);
        c.on_rto(Instant::ZERO, false);
        assert_eq!(c.ssthresh(), 7 * MSS);
    }
}
