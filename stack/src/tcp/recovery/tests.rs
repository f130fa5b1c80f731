//! The recovery state machine driven by hand: a sender of fixed-size segments,
//! ACKs built by the test, and the RFCs' expected reactions.

use super::congestion::{CongestionControl, InitialWindow, NewReno};
use super::test_util::{s, t as ms};
use super::*;

const MSS: usize = 1000;

/// A sender with `n` segments of `MSS` bytes in flight from sequence 0, sent at
/// time 0, and a Reno controller with a window of `n` segments.
struct Sender {
    rec: Recovery,
    cc: NewReno,
    snd_una: SeqNumber,
    snd_max: SeqNumber,
}

impl Sender {
    fn new(n: u32, sack: bool) -> Sender {
        let mut rec = Recovery::new(10_000, MSS);
        rec.configure(sack, MSS);
        let mut cc = NewReno::new(MSS, InitialWindow::Segments(n));
        cc.set_mss(MSS);
        for i in 0..n {
            rec.on_transmit(s(i * 1000), s(i * 1000 + 1000), ms(0), Transmit::New);
        }
        Sender {
            rec,
            cc,
            snd_una: s(0),
            snd_max: s(n * 1000),
        }
    }

    /// An ACK of `ack` with SACK blocks `[l, r)` in segment numbers, at `now`.
    fn ack(
        &mut self,
        now: Instant,
        ack: u32,
        blocks: &[(u32, u32)],
        duplicate: bool,
    ) -> Option<Duration> {
        let blocks: Vec<SackBlock> = blocks
            .iter()
            .map(|&(l, r)| SackBlock {
                left: s(l * 1000),
                right: s(r * 1000),
            })
            .collect();
        let inp = AckInput {
            now,
            ack: s(ack * 1000),
            snd_una: self.snd_una,
            snd_max: self.snd_max,
            sack_blocks: &blocks,
            duplicate,
            echo_ms: None,
            rtt: None,
            srtt: Some(Duration::from_millis(100)),
            has_unsent: true,
        };
        let out = self.rec.on_ack(&inp, &mut self.cc);
        self.snd_una = self.snd_una.max(s(ack * 1000));
        out
    }

    /// Sends what the window allows: lost segments first, then new data;
    /// returns the segment numbers sent.
    fn send(&mut self, now: Instant) -> Vec<u32> {
        let mut sent = Vec::new();
        while self.rec.in_flight() < self.cc.cwnd() {
            if let Some((start, end, cause)) = self.rec.next_retransmission() {
                self.rec
                    .on_transmit(start, end, now, Transmit::Retransmit(cause));
                sent.push(start.0 / 1000);
                continue;
            }
            let start = self.snd_max;
            self.snd_max = start + MSS;
            self.rec
                .on_transmit(start, self.snd_max, now, Transmit::New);
            sent.push(start.0 / 1000);
        }
        sent
    }
}

/// RFC 6675 section 5 with RFC 6937: segment 0 of 20 is lost; SACKs for 1, 2
/// and 3 make it lost by `IsLost` (three SACKed segments above it) and start
/// recovery with the retransmission of 0 at once; from then on PRR sends about
/// one segment per two delivered (Reno: ssthresh = cwnd / 2) and recovery ends
/// with `cwnd = ssthresh`.
#[test]
fn is_lost_enters_recovery_and_prr_halves_the_sending_rate() {
    let mut t = Sender::new(20, true);
    t.ack(ms(100), 0, &[(1, 2)], true);
    assert_eq!(t.rec.state(), CaState::Disorder);
    // A SACKed segment left the pipe: one new segment (RFC 3042); no growth
    // without cumulative progress.
    assert_eq!(t.send(ms(100)), vec![20]);
    t.ack(ms(101), 0, &[(1, 3)], true);
    t.send(ms(101));
    t.ack(ms(102), 0, &[(1, 4)], true);
    assert_eq!(t.rec.state(), CaState::Recovery);
    assert!(t.rec.board().lost_bytes() > 0, "data is marked lost");
    assert_eq!(t.cc.ssthresh(), 10 * MSS);
    let first = t.send(ms(102));
    assert_eq!(first, vec![0], "the lost segment goes first, and alone");
    let mut sent = 0;
    for k in 4..20u32 {
        t.ack(ms(100 + k as u64), 0, &[(1, k + 1)], true);
        sent += t.send(ms(100 + k as u64)).len();
    }
    // 16 segments delivered while the pipe was above ssthresh: PRR sends 8.
    assert!((7..=9).contains(&sent), "PRR sent {sent} for 16 delivered");
    // The retransmission arrives: everything up to the highest sent is acked.
    let top = t.snd_max.0 / 1000;
    t.ack(ms(200), top, &[], false);
    assert_eq!(t.rec.state(), CaState::Open);
    assert_eq!(t.cc.cwnd(), 10 * MSS, "cwnd = ssthresh after recovery");
    assert_eq!(t.rec.stats().fast, 1);
    assert_eq!(t.rec.stats().recoveries, 1);
}

/// A Linux receiver holding out-of-order data advertises a smaller window on
/// every duplicate ACK. They are still duplicates: the third one starts fast
/// recovery (the bug RFC 5681's strict definition causes against Linux).
#[test]
fn duplicate_acks_with_a_shrinking_window_count_without_sack() {
    let mut t = Sender::new(10, false);
    for _ in 0..2 {
        t.ack(ms(100), 0, &[], true);
        assert_eq!(t.rec.state(), CaState::Disorder);
    }
    // Limited transmit (RFC 3042): each duplicate lets one new segment go.
    assert_eq!(t.send(ms(100)).len(), 2);
    t.ack(ms(101), 0, &[], true);
    assert_eq!(t.rec.state(), CaState::Recovery);
    assert_eq!(t.send(ms(101))[0], 0, "fast retransmit of the head");
    // A partial ACK (RFC 6582): the next hole is retransmitted at once.
    t.ack(ms(200), 3, &[], false);
    assert_eq!(t.rec.next_retransmission().map(|r| r.0), Some(s(3000)));
}

/// Without SACK, duplicates caused by segments sent after the retransmission
/// show that the retransmission itself was lost: it goes again, no timeout.
#[test]
fn lost_fast_retransmission_is_found_without_sack() {
    let mut t = Sender::new(6, false);
    for _ in 0..3 {
        t.ack(ms(100), 0, &[], true);
    }
    assert_eq!(t.send(ms(100))[0], 0);
    // Five segments were in flight behind it; their duplicates, then one more.
    for _ in 0..6 {
        t.ack(ms(150), 0, &[], true);
        t.send(ms(150));
    }
    let again = t.rec.stats().fast;
    assert_eq!(again, 2, "the head was retransmitted a second time");
}

/// RFC 3708: every retransmission of the episode was D-SACKed (the original
/// arrived after all): the reduction is undone.
#[test]
fn dsack_for_every_retransmission_undoes_the_reduction() {
    let mut t = Sender::new(10, true);
    let before = t.cc.cwnd();
    t.ack(ms(100), 0, &[(1, 4)], true);
    assert_eq!(t.rec.state(), CaState::Recovery);
    t.send(ms(100));
    assert!(t.cc.cwnd() < before);
    // The original of segment 0 arrives, then the retransmission: a D-SACK
    // block below the cumulative ACK.
    t.ack(ms(150), 10, &[(0, 1)], false);
    assert_eq!(t.rec.stats().dsacks, 1);
    assert_eq!(t.rec.stats().undos, 1);
    assert_eq!(t.rec.state(), CaState::Open);
    assert!(t.cc.cwnd() >= before, "cwnd restored");
}

/// Repeated SACK blocks (window updates carry them) are not D-SACKs.
#[test]
fn repeated_blocks_are_not_dsack() {
    let mut t = Sender::new(10, true);
    t.ack(ms(100), 0, &[(2, 3)], true);
    t.ack(ms(101), 0, &[(2, 3)], false);
    assert_eq!(t.rec.stats().dsacks, 0);
}

/// RFC 8985 section 3.3: a lost retransmission is found by RACK when data
/// sent after it is SACKed, without a timeout.
#[test]
fn rack_finds_a_lost_retransmission() {
    let mut t = Sender::new(10, true);
    t.ack(ms(100), 0, &[(1, 4)], true);
    assert_eq!(t.send(ms(100))[0], 0);
    // Later segments (sent at 100 ms) are SACKed at 201 ms; segment 0's
    // retransmission (sent at 100 ms, before them) is not.
    t.ack(ms(201), 0, &[(1, 11)], true);
    assert_eq!(t.rec.next_retransmission().map(|r| r.0), Some(s(0)));
    assert_eq!(t.rec.state(), CaState::Recovery);
}

/// RFC 8985 6.2: when the most recently sent segment delivered is a
/// retransmission, original segments above it were sent before it, and RACK
/// finds them lost too (once their time is up).
#[test]
fn rack_finds_originals_above_a_delivered_retransmission() {
    let mut t = Sender::new(10, true);
    t.ack(ms(100), 0, &[(1, 4)], true);
    assert_eq!(t.send(ms(100))[0], 0);
    // The retransmission of 0 arrives (with 4 held): everything below 5 is
    // acknowledged at 210 ms; 5..10, sent at 0, are not.
    t.ack(ms(210), 5, &[], false);
    assert_eq!(t.rec.state(), CaState::Recovery);
    assert_eq!(t.rec.next_retransmission().map(|r| r.0), Some(s(5000)));
}

/// The SACK blocks of an ACK measure an RTT from the oldest record they newly
/// cover (Linux's sack_rtt_us), never from a retransmitted one (Karn).
#[test]
fn sack_blocks_measure_the_rtt_of_what_they_newly_cover() {
    let mut t = Sender::new(10, true);
    let blocks = |l: u32, r: u32| {
        [SackBlock {
            left: s(l * 1000),
            right: s(r * 1000),
        }]
    };
    assert_eq!(
        t.rec.sack_rtt(&blocks(2, 5), ms(100)),
        Some(Duration::from_millis(100))
    );
    t.ack(ms(100), 0, &[(2, 5)], true);
    // Already SACKed: nothing new to measure.
    assert_eq!(t.rec.sack_rtt(&blocks(2, 5), ms(120)), None);
    // A retransmitted record measures nothing; the others still do.
    t.rec.on_transmit(
        s(5000),
        s(6000),
        ms(110),
        Transmit::Retransmit(LossCause::Rack),
    );
    assert_eq!(t.rec.sack_rtt(&blocks(5, 6), ms(130)), None);
    assert_eq!(
        t.rec.sack_rtt(&blocks(5, 7), ms(130)),
        Some(Duration::from_millis(130))
    );
    // After repeated timeouts the SACKs are forgotten; reported again, the
    // old records would measure the whole wait: they measure nothing.
    let (una, max) = (t.snd_una, t.snd_max);
    t.rec.on_rto(ms(400), una, max, true, &mut t.cc);
    assert_eq!(t.rec.sack_rtt(&blocks(2, 5), ms(1400)), None);
}

/// In fast recovery, once every segment marked lost has been retransmitted,
/// a tail loss probe may be armed: a lost retransmission sent last is then
/// found after 2 SRTT, not after the RTO.
#[test]
fn a_probe_is_armed_once_every_lost_segment_went_again() {
    let mut t = Sender::new(10, true);
    let srtt = Some(Duration::from_millis(10));
    let rto = Duration::from_millis(300);
    t.ack(ms(100), 0, &[(1, 10)], true);
    assert_eq!(t.rec.state(), CaState::Recovery);
    assert_eq!(t.rec.probe_timeout(srtt, rto), None, "the head waits to go");
    assert_eq!(t.send(ms(100))[0], 0);
    assert!(t.rec.probe_timeout(srtt, rto).is_some());
}

/// RFC 6675 section 5.1 after a timeout: everything unSACKed is lost, SACKed
/// data is not sent again, the window is one segment.
#[test]
fn timeout_marks_unsacked_data_lost_and_keeps_sacks() {
    let mut t = Sender::new(10, true);
    t.ack(ms(100), 0, &[(5, 7)], true);
    t.rec
        .on_rto(ms(400), t.snd_una, t.snd_max, false, &mut t.cc);
    assert_eq!(t.rec.state(), CaState::Loss);
    assert_eq!(t.cc.cwnd(), MSS);
    assert_eq!(t.rec.board().lost_bytes(), 8 * MSS);
    assert_eq!(t.send(ms(400)), vec![0]);
    t.ack(ms(500), 1, &[(5, 7)], false);
    let sent = t.send(ms(500));
    assert_eq!(sent, vec![1, 2], "slow start, lowest lost first");
    assert_eq!(t.rec.stats().timeout, 3);
}

/// Without SACK, after a timeout whose retransmission is answered by an ACK
/// that jumps past data the receiver held (NewReno's one hole per partial ACK
/// from then on): the segments sent before the timeout have left the network,
/// so the window opens for the next hole and new data. Counted as in flight,
/// they held the window shut until the next, backed-off, timeout, once per
/// hole (a 50 s stall against Linux with SACK and timestamps off).
#[test]
fn timeout_without_sack_then_a_jumping_ack_keeps_sending() {
    let mut t = Sender::new(20, false);
    t.rec
        .on_rto(ms(400), t.snd_una, t.snd_max, false, &mut t.cc);
    assert_eq!(t.send(ms(400)), vec![0]);
    // The receiver held 1..10: the ACK jumps to 10, past the retransmission.
    t.ack(ms(500), 10, &[], false);
    assert_eq!(t.rec.state(), CaState::Loss);
    let sent = t.send(ms(500));
    assert_eq!(
        sent.first(),
        Some(&10),
        "the next hole goes at once: {sent:?}"
    );
    assert!(
        sent.len() >= 2,
        "slow start sends more than the hole: {sent:?}"
    );
    assert!(
        !sent.contains(&11),
        "what the receiver may hold beyond the hole is not resent: {sent:?}"
    );
}

/// RFC 8985 section 7.2: the probe timeout is 2 SRTT, plus the worst-case
/// delayed ACK with a single segment in flight, and never beyond the RTO.
#[test]
fn probe_timeout_rules() {
    let srtt = Some(Duration::from_millis(20));
    let rto = Duration::from_millis(300);
    let one = Sender::new(1, true);
    assert_eq!(
        one.rec.probe_timeout(srtt, rto),
        Some(Duration::from_millis(240))
    );
    let many = Sender::new(5, true);
    assert_eq!(
        many.rec.probe_timeout(srtt, rto),
        Some(Duration::from_millis(42))
    );
    assert_eq!(
        many.rec.probe_timeout(srtt, Duration::from_millis(30)),
        Some(Duration::from_millis(30))
    );
    let no_sack = Sender::new(5, false);
    assert_eq!(no_sack.rec.probe_timeout(srtt, rto), None);
}

/// RFC 8985 section 7.4: a probe that retransmitted the tail and is then
/// acknowledged beyond it (no D-SACK) repaired a loss: the window is reduced.
#[test]
fn probe_that_repairs_a_loss_reduces_the_window() {
    let mut t = Sender::new(4, true);
    let before = t.cc.cwnd();
    t.rec.on_transmit(
        s(3000),
        s(4000),
        ms(50),
        Transmit::Probe {
            retransmission: true,
        },
    );
    assert!(t.rec.probe_outstanding());
    // New data went out after the probe, then an ACK covers all of it.
    t.rec.on_transmit(s(4000), s(5000), ms(51), Transmit::New);
    t.snd_max = s(5000);
    t.ack(ms(100), 5, &[], false);
    assert!(!t.rec.probe_outstanding());
    assert!(t.cc.cwnd() < before);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// An event the recovery state machine may see.
    #[derive(Clone, Debug)]
    enum Ev {
        Send(u32),
        Ack {
            ack: u32,
            blocks: Vec<(u32, u32)>,
            duplicate: bool,
            echo: Option<u64>,
        },
        Retransmit,
        Rto,
        Reorder,
    }

    fn ev() -> impl Strategy<Value = Ev> {
        prop_oneof![
            (1u32..4000).prop_map(Ev::Send),
            (
                0u32..60_000,
                proptest::collection::vec((0u32..60_000, 0u32..60_000), 0..5),
                any::<bool>(),
                proptest::option::of(0u64..10_000),
            )
                .prop_map(|(ack, blocks, duplicate, echo)| Ev::Ack {
                    ack,
                    blocks,
                    duplicate,
                    echo
                }),
            Just(Ev::Retransmit),
            Just(Ev::Rto),
            Just(Ev::Reorder),
        ]
    }

    proptest! {
        /// Any ACKs (any SACK blocks, D-SACKs, stale or impossible numbers),
        /// sends, timeouts and reordering timers: no panic, a consistent
        /// scoreboard, a congestion window of at least one segment.
        #[test]
        fn any_events_keep_recovery_sane(
            sack in any::<bool>(),
            base in any::<u32>(),
            evs in proptest::collection::vec(ev(), 1..120),
        ) {
            let mut rec = Recovery::new(64, MSS);
            rec.configure(sack, MSS);
            let mut cc = super::super::cubic::Cubic::new(MSS, InitialWindow::Segments(10));
            let (mut una, mut max) = (s(base), s(base));
            for (k, e) in evs.into_iter().enumerate() {
                let now = Instant::from_millis(k as u64 * 3);
                match e {
                    Ev::Send(n) => {
                        rec.on_transmit(max, max + n, now, Transmit::New);
                        max += n;
                    }
                    Ev::Ack { ack, blocks, duplicate, echo } => {
                        let ack = s(base) + ack;
                        // The connection passes only ACKs in [SND.UNA, SND.MAX].
                        let ack = if ack.lt(una) || ack.gt(max) { una } else { ack };
                        let blocks: Vec<SackBlock> = blocks
                            .iter()
                            .map(|&(l, r)| SackBlock { left: s(base) + l, right: s(base) + r })
                            .collect();
                        let inp = AckInput {
                            now,
                            ack,
                            snd_una: una,
                            snd_max: max,
                            sack_blocks: &blocks,
                            duplicate: duplicate && ack == una,
                            echo_ms: echo,
                            rtt: None,
                            srtt: Some(Duration::from_millis(5)),
                            has_unsent: true,
                        };
                        rec.on_ack(&inp, &mut cc);
                        una = ack;
                    }
                    Ev::Retransmit => {
                        if let Some((a, b, cause)) = rec.next_retransmission() {
                            rec.on_transmit(a, b, now, Transmit::Retransmit(cause));
                        } else if let Some((a, b, cause)) = rec.next_opportunistic() {
                            rec.on_transmit(a, b, now, Transmit::Retransmit(cause));
                        }
                    }
                    Ev::Rto => rec.on_rto(now, una, max, k % 2 == 0, &mut cc),
                    Ev::Reorder => {
                        rec.on_reorder_timeout(now, Some(Duration::from_millis(5)), max, &mut cc);
                    }
                }
                rec.board().check();
                prop_assert!(cc.cwnd() >= MSS);
                prop_assert!(rec.in_flight() <= 2 * rec.board().outstanding());
            }
        }
    }
}
