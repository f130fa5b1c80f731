//! Congestion control: the window arithmetic behind the [`CongestionControl`]
//! trait, and [`NewReno`], the RFC 5681 algorithm. [`super::cubic::Cubic`]
//! (RFC 9438, Linux's default) implements the same trait.
//!
//! Read RFC 5681 (slow start, congestion avoidance), RFC 3465 (appropriate byte
//! counting) and RFC 6928 (IW10) before touching this.
//!
//! The split, as in Linux's `tcp_congestion_ops`:
//!
//! - The loss-recovery state machine ([`super::Recovery`]) detects loss, decides
//!   when a congestion event happens, and drives `cwnd` itself during fast
//!   recovery with Proportional Rate Reduction (RFC 6937) through
//!   [`CongestionControl::set_cwnd`].
//! - A [`CongestionControl`] grows `cwnd` on ACKs outside recovery
//!   ([`CongestionControl::on_ack`]), chooses `ssthresh` on a congestion event
//!   ([`CongestionControl::on_loss`]), sets the loss window on a timeout, and
//!   restores its state when a reduction proves spurious
//!   ([`CongestionControl::undo`]).
//!
//! All sizes are in bytes; all arithmetic saturates.

use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};
use core::fmt;

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

/// What an ACK outside loss recovery tells the congestion controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckEvent {
    /// Bytes newly delivered: cumulatively acknowledged or newly SACKed.
    pub delivered: usize,
    /// The time of the ACK.
    pub now: Instant,
    /// An RTT sample taken from this ACK, if any.
    pub rtt: Option<Duration>,
    /// The smoothed RTT, once measured.
    pub srtt: Option<Duration>,
    /// The cumulative acknowledgment.
    pub ack: SeqNumber,
    /// One past the highest sequence number sent.
    pub snd_max: SeqNumber,
    /// The sender used its congestion window before this ACK (Linux's
    /// `tcp_is_cwnd_limited`, RFC 7661): an application-limited sender does
    /// not grow `cwnd`.
    pub cwnd_limited: bool,
}

/// What every controller keeps: the segment size, the two windows, and when
/// data was last sent. [`CongestionControl`]'s provided methods work on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Sender maximum segment size.
    pub smss: usize,
    /// The initial window rule.
    pub initial_window: InitialWindow,
    /// The congestion window in bytes.
    pub cwnd: usize,
    /// The slow start threshold in bytes.
    pub ssthresh: usize,
    /// Any event other than `set_mss` happened: the initial window is no
    /// longer re-derived from the MSS.
    pub started: bool,
    /// When new data was last sent.
    pub last_send: Option<Instant>,
}

impl Window {
    /// The window of a new connection with sender MSS `smss` (0 is taken as 1).
    pub fn new(smss: usize, initial_window: InitialWindow) -> Window {
        let smss = smss.max(1);
        Window {
            smss,
            initial_window,
            cwnd: initial_window.bytes(smss),
            // RFC 5681 section 3.1: "The initial value of ssthresh SHOULD be
            // set arbitrarily high (e.g., to the size of the largest possible
            // advertised window)".
            ssthresh: usize::MAX,
            started: false,
            last_send: None,
        }
    }

    /// RFC 5681 section 4.1: "a TCP SHOULD set cwnd to no more than RW before
    /// beginning transmission if the TCP has not sent data in an interval
    /// exceeding the retransmission timeout", with "RW = min(IW,cwnd)". (Linux
    /// instead halves cwnd per idle RTO, RFC 2861, down to the same floor.)
    /// Returns true if the window was restarted.
    pub fn idle_restart(&mut self, now: Instant, rto: Duration) -> bool {
        let Some(last) = self.last_send else {
            return false;
        };
        if now.saturating_duration_since(last) <= rto {
            return false;
        }
        self.cwnd = self.initial_window.bytes(self.smss).min(self.cwnd);
        true
    }
}

/// A congestion control algorithm: the arithmetic of `cwnd` and `ssthresh`.
///
/// The connection may send while the data in flight is below [`Self::cwnd`]
/// (RFC 5681 section 3, together with the receiver's window).
pub trait CongestionControl: fmt::Debug + Send {
    /// Which algorithm this is.
    fn algorithm(&self) -> CongestionAlgorithm;

    /// The window state.
    fn window(&self) -> &Window;

    /// The window state, to change.
    fn window_mut(&mut self) -> &mut Window;

    /// Grows `cwnd` (slow start or congestion avoidance) for an ACK that
    /// delivered data to a sender limited by its congestion window.
    fn increase(&mut self, ev: &AckEvent);

    /// A congestion event (loss detected by fast recovery, or a repaired tail
    /// loss): choose the new `ssthresh`. `cwnd` is left alone; fast recovery
    /// brings it down to `ssthresh` step by step (RFC 6937).
    fn on_loss(&mut self, now: Instant);

    /// The retransmission timer expired. `first_timeout` is false when the
    /// timer had already expired for the same data (it was backed off), in
    /// which case `ssthresh` is not reduced again (RFC 5681 section 3.1).
    fn on_rto(&mut self, now: Instant, first_timeout: bool);

    /// The last reduction was spurious (RFC 3708 D-SACK, RFC 3522 timestamps):
    /// restore `cwnd` and `ssthresh` to at least what they were before it.
    fn undo(&mut self, prior_cwnd: usize, prior_ssthresh: usize);

    /// The algorithm's name as Linux spells it (`TCP_CONGESTION`, `ss -ti`).
    fn name(&self) -> &'static str {
        self.algorithm().name()
    }

    /// An ACK delivered data outside loss recovery: grow `cwnd`, unless the
    /// sender was application-limited (RFC 7661, Linux's
    /// `tcp_is_cwnd_limited`).
    fn on_ack(&mut self, ev: &AckEvent) {
        self.window_mut().started = true;
        if ev.cwnd_limited {
            self.increase(ev);
        }
    }

    /// The congestion window in bytes.
    fn cwnd(&self) -> usize {
        self.window().cwnd
    }

    /// The slow start threshold in bytes (`usize::MAX` until the first loss).
    fn ssthresh(&self) -> usize {
        self.window().ssthresh
    }

    /// The sender maximum segment size changed (after the handshake, or on a
    /// path MTU change).
    fn set_mss(&mut self, mss: usize) {
        let w = self.window_mut();
        w.smss = mss.max(1);
        if !w.started {
            w.cwnd = w.initial_window.bytes(w.smss);
        }
    }

    /// Sets `cwnd` (Proportional Rate Reduction during recovery, and
    /// `cwnd = ssthresh` when recovery ends).
    fn set_cwnd(&mut self, cwnd: usize) {
        let w = self.window_mut();
        w.cwnd = cwnd.max(w.smss);
    }

    /// Takes over `cwnd` and `ssthresh` from another controller (the algorithm
    /// was switched on a live connection).
    fn reset_window(&mut self, cwnd: usize, ssthresh: usize) {
        let w = self.window_mut();
        w.cwnd = cwnd.max(w.smss);
        w.ssthresh = ssthresh;
        w.started = true;
    }

    /// New data was transmitted at `now`.
    fn on_data_sent(&mut self, now: Instant) {
        self.window_mut().last_send = Some(now);
    }

    /// The connection is about to send after an idle period (nothing
    /// outstanding); `rto` is the current retransmission timeout.
    fn on_idle_restart(&mut self, now: Instant, rto: Duration) {
        self.window_mut().idle_restart(now, rto);
    }
}

/// Which congestion control a connection uses (`TCP_CONGESTION`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CongestionAlgorithm {
    /// RFC 9438 CUBIC with HyStart++ (RFC 9406), Linux's default.
    #[default]
    Cubic,
    /// RFC 5681 Reno (Linux's `reno`).
    Reno,
}

impl CongestionAlgorithm {
    /// The name Linux uses for it (`net.ipv4.tcp_congestion_control`).
    pub fn name(self) -> &'static str {
        match self {
            CongestionAlgorithm::Cubic => "cubic",
            CongestionAlgorithm::Reno => "reno",
        }
    }

    /// Parses a Linux name (`cubic`, `reno`); `None` for any other.
    pub fn from_name(name: &str) -> Option<CongestionAlgorithm> {
        match name {
            "cubic" => Some(CongestionAlgorithm::Cubic),
            "reno" | "newreno" => Some(CongestionAlgorithm::Reno),
            _ => None,
        }
    }

    /// A controller of this kind for a sender of `smss` bytes.
    pub fn build(self, smss: usize, iw: InitialWindow) -> Box<dyn CongestionControl> {
        match self {
            CongestionAlgorithm::Cubic => Box::new(super::cubic::Cubic::new(smss, iw)),
            CongestionAlgorithm::Reno => Box::new(NewReno::new(smss, iw)),
        }
    }
}

/// Reno congestion control: RFC 5681 slow start and congestion avoidance with
/// RFC 3465's byte counting; `ssthresh = max(cwnd / 2, 2 * SMSS)` on a loss (as
/// Linux's `tcp_reno_ssthresh`, which halves the window rather than the flight).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReno {
    w: Window,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew.
    bytes_acked: usize,
    /// In the slow start that follows a retransmission timeout.
    after_rto: bool,
}

/// RFC 3465 section 2.2's limit L on the slow start increase per ACK, in
/// segments: "This document specifies that TCP implementations MAY use
/// L=2*SMSS bytes and MUST NOT use L > 2*SMSS bytes."
const ABC_LIMIT_SEGMENTS: usize = 2;

impl NewReno {
    /// A sender with maximum segment size `smss` (0 is treated as 1) and the
    /// given initial window rule.
    pub fn new(smss: usize, initial_window: InitialWindow) -> NewReno {
        NewReno {
            w: Window::new(smss, initial_window),
            bytes_acked: 0,
            after_rto: false,
        }
    }

    /// The sender maximum segment size in use.
    pub fn smss(&self) -> usize {
        self.w.smss
    }
}

/// `max(cwnd * num / den, 2 * SMSS)`: the multiplicative decrease with RFC 5681
/// equation (4)'s floor.
pub(crate) fn reduced(cwnd: usize, num: usize, den: usize, smss: usize) -> usize {
    (cwnd / den)
        .saturating_mul(num)
        .saturating_add((cwnd % den).saturating_mul(num) / den)
        .max(smss.saturating_mul(2))
}

impl CongestionControl for NewReno {
    fn algorithm(&self) -> CongestionAlgorithm {
        CongestionAlgorithm::Reno
    }

    fn window(&self) -> &Window {
        &self.w
    }

    fn window_mut(&mut self) -> &mut Window {
        &mut self.w
    }

    fn increase(&mut self, ev: &AckEvent) {
        if self.w.cwnd < self.w.ssthresh {
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
            let increase = ev.delivered.min(self.w.smss.saturating_mul(limit));
            self.w.cwnd = self.w.cwnd.saturating_add(increase);
        } else {
            self.after_rto = false;
            // RFC 5681 section 3.1: "The RECOMMENDED way to increase cwnd
            // during congestion avoidance is to count the number of bytes
            // that have been acknowledged by ACKs for new data." RFC 3465
            // section 2.1 spells it out: once bytes_acked reaches cwnd,
            // subtract cwnd from it and grow cwnd by one SMSS.
            self.bytes_acked = self.bytes_acked.saturating_add(ev.delivered);
            if self.bytes_acked >= self.w.cwnd {
                self.bytes_acked -= self.w.cwnd;
                self.w.cwnd = self.w.cwnd.saturating_add(self.w.smss);
            }
        }
    }

    fn on_loss(&mut self, _now: Instant) {
        self.w.started = true;
        self.w.ssthresh = reduced(self.w.cwnd, 1, 2, self.w.smss);
        self.bytes_acked = 0;
        self.after_rto = false;
    }

    fn on_rto(&mut self, _now: Instant, first_timeout: bool) {
        self.w.started = true;
        // RFC 5681 section 3.1: "When a TCP sender detects segment loss
        // using the retransmission timer and the given segment has not yet
        // been resent by way of the retransmission timer, the value of
        // ssthresh MUST be set to no more than the value given in equation
        // (4)" ... "Furthermore, upon a timeout (as specified in [RFC2988])
        // cwnd MUST be set to no more than the loss window, LW, which equals
        // 1 full-sized segment".
        if first_timeout {
            self.w.ssthresh = reduced(self.w.cwnd, 1, 2, self.w.smss);
        }
        self.w.cwnd = self.w.smss;
        self.bytes_acked = 0;
        self.after_rto = true;
    }

    fn undo(&mut self, prior_cwnd: usize, prior_ssthresh: usize) {
        self.w.cwnd = self.w.cwnd.max(prior_cwnd);
        self.w.ssthresh = self.w.ssthresh.max(prior_ssthresh);
        self.after_rto = false;
    }

    fn on_idle_restart(&mut self, now: Instant, rto: Duration) {
        if self.w.idle_restart(now, rto) {
            self.bytes_acked = 0;
        }
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

    fn ack(delivered: usize) -> AckEvent {
        AckEvent {
            delivered,
            now: T0,
            rtt: None,
            srtt: None,
            ack: SeqNumber(0),
            snd_max: SeqNumber(0),
            cwnd_limited: true,
        }
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
        assert_eq!(InitialWindow::Segments(10).bytes(1460), 14600);
    }

    #[test]
    fn set_mss_rederives_initial_window_until_started() {
        let mut r = NewReno::new(536, InitialWindow::Segments(10));
        assert_eq!(r.cwnd(), 5360);
        r.set_mss(1460);
        assert_eq!(r.cwnd(), 14600);
        r.on_ack(&ack(1460));
        r.set_mss(1000);
        assert_eq!(r.cwnd(), 14600 + 1460, "no longer re-derived once started");
        assert_eq!(r.smss(), 1000);
    }

    #[test]
    fn slow_start_with_byte_counting() {
        let mut r = reno();
        r.on_ack(&ack(500));
        assert_eq!(r.cwnd(), 10_500);
        // L = 2 SMSS per ACK.
        r.on_ack(&ack(5000));
        assert_eq!(r.cwnd(), 12_500);
    }

    #[test]
    fn application_limited_acks_do_not_grow_cwnd() {
        let mut r = reno();
        let mut ev = ack(2000);
        ev.cwnd_limited = false;
        r.on_ack(&ev);
        assert_eq!(r.cwnd(), 10_000);
    }

    #[test]
    fn congestion_avoidance_grows_one_mss_per_window() {
        let mut r = reno();
        r.on_loss(T0);
        assert_eq!(r.ssthresh(), 5000);
        r.set_cwnd(5000);
        for _ in 0..4 {
            r.on_ack(&ack(1000));
            assert_eq!(r.cwnd(), 5000);
        }
        r.on_ack(&ack(1000));
        assert_eq!(r.cwnd(), 6000);
    }

    #[test]
    fn ssthresh_floor_is_two_segments() {
        let mut r = reno();
        r.set_cwnd(1500);
        r.on_loss(T0);
        assert_eq!(r.ssthresh(), 2 * MSS);
    }

    #[test]
    fn rto_sets_loss_window_and_keeps_ssthresh_on_repeat() {
        let mut r = reno();
        r.on_rto(T0, true);
        assert_eq!((r.cwnd(), r.ssthresh()), (MSS, 5000));
        r.on_rto(T0, false);
        assert_eq!((r.cwnd(), r.ssthresh()), (MSS, 5000));
        // After a timeout, slow start counts at most one SMSS per ACK.
        r.on_ack(&ack(3000));
        assert_eq!(r.cwnd(), 2 * MSS);
    }

    #[test]
    fn undo_restores_the_prior_window() {
        let mut r = reno();
        let (c, s) = (r.cwnd(), r.ssthresh());
        r.on_loss(T0);
        r.set_cwnd(r.ssthresh());
        r.undo(c, s);
        assert_eq!((r.cwnd(), r.ssthresh()), (c, s));
    }

    #[test]
    fn idle_restart() {
        let mut r = reno();
        for _ in 0..10 {
            r.on_ack(&ack(2000));
        }
        assert_eq!(r.cwnd(), 30_000);
        r.on_data_sent(T0);
        r.on_idle_restart(T0 + Duration::from_millis(500), Duration::from_secs(1));
        assert_eq!(r.cwnd(), 30_000, "not idle long enough");
        r.on_idle_restart(T0 + Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(r.cwnd(), 10_000, "restart window = IW");
    }

    #[test]
    fn reduced_is_exact_for_large_windows() {
        assert_eq!(reduced(10_000, 7, 10, MSS), 7000);
        assert_eq!(reduced(usize::MAX, 1, 2, MSS), usize::MAX / 2);
        assert_eq!(reduced(3, 7, 10, 1), 2);
    }

    #[test]
    fn algorithm_names_round_trip() {
        for a in [CongestionAlgorithm::Cubic, CongestionAlgorithm::Reno] {
            assert_eq!(CongestionAlgorithm::from_name(a.name()), Some(a));
            assert_eq!(a.build(MSS, InitialWindow::Segments(10)).name(), a.name());
        }
        assert_eq!(CongestionAlgorithm::from_name("bbr"), None);
        assert_eq!(CongestionAlgorithm::default(), CongestionAlgorithm::Cubic);
    }
}
