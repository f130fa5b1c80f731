//! Per-state tests of one connection, smoltcp style: a [`Tcb`] driven alone on
//! virtual time, segments in, segments out, timers. Grouped by state and mechanism.
//!
//! Local ISS is 1000, the remote's is 5000; options are off unless a test turns them
//! on, so segments are easy to read.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::{Notice, Out, State, Tcb, TcbParams, RECLAIM_IDLE};
use crate::config::TcpConfig;
use crate::counters::{Counters, Stat};
use crate::error::NetError;
use crate::ip::IpSend;
use crate::socket::SocketOptions;
use crate::tcp::options::{TcpOptions, Timestamps};
use crate::tcp::segment::{Flags, TcpRepr};
use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};
use crate::wire::HEADROOM;

const LOCAL: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 49500);
const REMOTE: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80);
const ISS: u32 = 1000;
const IRS: u32 = 5000;
const MSS: usize = 1460;

struct Harness {
    tcb: Tcb,
    frames: Vec<(IpSend, Vec<u8>, crate::device::offload::TxMeta)>,
    spare: Vec<Vec<u8>>,
    counters: Counters,
    challenge_acks: crate::tcp::ChallengeAckLimit,
    now: Instant,
}

/// Without the options, and without quick-ACK mode (so one segment's ACK
/// waits for the delayed-ACK timer from the start).
fn plain_config() -> TcpConfig {
    TcpConfig {
        window_scaling: false,
        timestamps: false,
        sack: false,
        quick_ack: false,
        ..TcpConfig::default()
    }
}

fn opts() -> SocketOptions {
    SocketOptions {
        recv_buffer: 64 * 1024,
        send_buffer: 64 * 1024,
        ..SocketOptions::default()
    }
}

impl Harness {
    fn new(cfg: TcpConfig, opts: SocketOptions) -> Harness {
        let p = TcbParams {
            local: LOCAL,
            remote: REMOTE,
            iss: SeqNumber(ISS),
            link_mss: MSS,
            ts_offset: 0,
            opts,
            user_mss: None,
            congestion: None,
        };
        Harness {
            tcb: Tcb::new(p, &cfg, Instant::ZERO),
            frames: Vec::new(),
            spare: Vec::new(),
            counters: Counters::default(),
            challenge_acks: crate::tcp::ChallengeAckLimit::new(1000),
            now: Instant::ZERO,
        }
    }

    fn with<R>(&mut self, f: impl FnOnce(&mut Tcb, &mut Out<'_>, Instant) -> R) -> R {
        let mut out = Out {
            frames: &mut self.frames,
            spare: &mut self.spare,
            counters: &mut self.counters,
            defer_ack: false,
            partial_checksum: false,
            tso_max: 0,
            challenge_acks: &mut self.challenge_acks,
        };
        f(&mut self.tcb, &mut out, self.now)
    }

    /// Feeds a segment from the remote.
    fn send(&mut self, seg: TcpRepr, data: &[u8]) -> Notice {
        self.with(|t, out, now| t.on_segment(now, &seg, data, out))
    }

    fn advance(&mut self, d: Duration) -> Notice {
        self.now += d;
        self.with(|t, out, now| t.on_timer(now, out))
    }

    /// Runs timers until `at`.
    fn advance_to_deadline(&mut self) -> Notice {
        let at = self.tcb.poll_at().expect("a timer is armed");
        self.now = self.now.max(at);
        self.with(|t, out, now| t.on_timer(now, out))
    }

    /// Segments the connection sent since the last call, parsed.
    fn recv(&mut self) -> Vec<(TcpRepr, Vec<u8>)> {
        self.frames
            .drain(..)
            .map(|(send, f, _)| {
                assert_eq!((send.src, send.dst), (*LOCAL.ip(), *REMOTE.ip()));
                let (r, d) =
                    TcpRepr::parse(send.src, send.dst, &f[HEADROOM..]).expect("valid segment");
                (r, d.to_vec())
            })
            .collect()
    }

    fn recv_one(&mut self) -> (TcpRepr, Vec<u8>) {
        let mut v = self.recv();
        assert_eq!(
            v.len(),
            1,
            "expected one segment, got {:?}",
            v.iter()
                .map(|(r, d)| (r.flags, r.seq, d.len()))
                .collect::<Vec<_>>()
        );
        v.remove(0)
    }

    fn recv_nothing(&mut self) {
        let v = self.recv();
        assert!(
            v.is_empty(),
            "expected nothing, got {:?}",
            v.iter()
                .map(|(r, d)| (r.flags, r.seq, r.ack, d.len()))
                .collect::<Vec<_>>()
        );
    }

    fn app_send(&mut self, data: &[u8]) -> usize {
        self.with(|t, out, now| t.send(now, data, Default::default(), out))
    }

    fn app_recv(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        let got = self.with(|t, out, now| t.recv(now, &mut buf, false, out));
        buf.truncate(got);
        buf
    }

    fn close(&mut self) -> Notice {
        self.with(|t, out, now| t.shutdown_write(now, out))
    }
}

/// A segment from the remote: seq relative to IRS, ack relative to ISS.
fn seg(flags: &str, seq: u32, ack: Option<u32>) -> TcpRepr {
    let mut f = Flags::default();
    for c in flags.chars() {
        match c {
            'S' => f.syn = true,
            'F' => f.fin = true,
            'R' => f.rst = true,
            'P' => f.psh = true,
            'U' => f.urg = true,
            _ => panic!("flag {c}"),
        }
    }
    f.ack = ack.is_some();
    TcpRepr {
        src_port: REMOTE.port(),
        dst_port: LOCAL.port(),
        seq: SeqNumber(IRS.wrapping_add(seq)),
        ack: SeqNumber(ISS.wrapping_add(ack.unwrap_or(0))),
        flags: f,
        window: 65535,
        urgent: 0,
        options: TcpOptions::default(),
    }
}

fn rel_seq(r: &TcpRepr) -> u32 {
    r.seq.0.wrapping_sub(ISS)
}

fn rel_ack(r: &TcpRepr) -> u32 {
    r.ack.0.wrapping_sub(IRS)
}

// ---------------------------------------------------------------- constructors

fn syn_sent() -> Harness {
    let mut h = Harness::new(plain_config(), opts());
    h.with(|t, out, now| t.connect(now, out));
    let (syn, _) = h.recv_one();
    assert!(syn.flags.syn && !syn.flags.ack);
    assert_eq!(rel_seq(&syn), 0);
    assert_eq!(syn.options.mss, Some(MSS as u16));
    h
}

/// An active open with `cfg` through the handshake (the SYN and the ACK
/// taken off the wire unchecked).
fn connected_with(cfg: TcpConfig) -> Harness {
    let mut h = Harness::new(cfg, opts());
    h.with(|t, out, now| t.connect(now, out));
    h.recv_one();
    let mut synack = seg("S", 0, Some(1));
    synack.options.mss = Some(MSS as u16);
    h.send(synack, b"");
    h.recv_one();
    h
}

fn established() -> Harness {
    let mut h = syn_sent();
    let mut synack = seg("S", 0, Some(1));
    synack.options.mss = Some(MSS as u16);
    h.send(synack, b"");
    let (ack, _) = h.recv_one();
    assert_eq!((rel_seq(&ack), rel_ack(&ack)), (1, 1));
    assert_eq!(h.tcb.state, State::Established);
    h
}

fn syn_received() -> Harness {
    let mut h = Harness::new(plain_config(), opts());
    let mut syn = seg("S", 0, None);
    syn.options.mss = Some(1000);
    h.with(|t, out, now| t.on_syn(now, &syn, out));
    let (sa, _) = h.recv_one();
    assert!(sa.flags.syn && sa.flags.ack);
    assert_eq!((rel_seq(&sa), rel_ack(&sa)), (0, 1));
    assert_eq!(h.tcb.state, State::SynReceived);
    h
}

fn fin_wait_1() -> Harness {
    let mut h = established();
    h.close();
    let (fin, _) = h.recv_one();
    assert!(fin.flags.fin);
    assert_eq!(h.tcb.state, State::FinWait1);
    h
}

fn fin_wait_2() -> Harness {
    let mut h = fin_wait_1();
    h.send(seg("", 1, Some(2)), b"");
    h.recv_nothing();
    assert_eq!(h.tcb.state, State::FinWait2);
    h
}

fn close_wait() -> Harness {
    let mut h = established();
    h.send(seg("F", 1, Some(1)), b"");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 2);
    assert_eq!(h.tcb.state, State::CloseWait);
    h
}

fn time_wait() -> Harness {
    let mut h = fin_wait_2();
    h.send(seg("F", 1, Some(2)), b"");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 2);
    assert_eq!(h.tcb.state, State::TimeWait);
    h
}

// ---------------------------------------------------------------- SYN-SENT

#[test]
fn syn_sent_syn_ack_establishes_and_acks() {
    let h = established();
    assert_eq!(h.tcb.info().mss, MSS);
}

#[test]
fn syn_sent_rst_with_acceptable_ack_is_connection_refused() {
    let mut h = syn_sent();
    let n = h.send(seg("R", 0, Some(1)), b"");
    assert!(n.closed);
    assert_eq!(h.tcb.state, State::Closed);
    assert_eq!(h.tcb.error, Some(NetError::ConnectionRefused));
    h.recv_nothing();
}

#[test]
fn syn_sent_rst_with_bad_ack_is_ignored() {
    let mut h = syn_sent();
    h.send(seg("R", 0, Some(5)), b"");
    assert_eq!(h.tcb.state, State::SynSent);
    h.recv_nothing();
}

#[test]
fn syn_sent_bad_ack_gets_rst_with_its_ack_as_seq() {
    let mut h = syn_sent();
    h.send(seg("S", 0, Some(77)), b"");
    let (rst, _) = h.recv_one();
    assert!(rst.flags.rst && !rst.flags.ack);
    assert_eq!(rel_seq(&rst), 77);
    assert_eq!(h.tcb.state, State::SynSent);
}

#[test]
fn syn_sent_bare_syn_is_simultaneous_open() {
    let mut h = syn_sent();
    h.send(seg("S", 0, None), b"");
    let (sa, _) = h.recv_one();
    assert!(sa.flags.syn && sa.flags.ack);
    assert_eq!((rel_seq(&sa), rel_ack(&sa)), (0, 1));
    assert_eq!(h.tcb.state, State::SynReceived);
    // The peer's SYN-ACK completes it.
    h.send(seg("S", 0, Some(1)), b"");
    assert_eq!(h.tcb.state, State::Established);
}

#[test]
fn syn_sent_rto_schedule_is_exponential_then_times_out() {
    let mut h = syn_sent();
    let mut at = Vec::new();
    loop {
        let n = h.advance_to_deadline();
        if n.closed {
            break;
        }
        let (syn, _) = h.recv_one();
        assert!(syn.flags.syn);
        at.push(h.now.total_millis());
    }
    // RFC 6298: 1 s initial, doubling; Linux's six retries.
    assert_eq!(at, vec![1000, 3000, 7000, 15000, 31000, 63000]);
    assert_eq!(h.now.total_millis(), 127_000);
    assert_eq!(h.tcb.error, Some(NetError::TimedOut));
}

// ---------------------------------------------------------------- SYN-RECEIVED

#[test]
fn syn_received_ack_establishes() {
    let mut h = syn_received();
    let n = h.send(seg("", 1, Some(1)), b"");
    assert!(n.established);
    assert_eq!(h.tcb.state, State::Established);
    // Our send MSS is the peer's.
    assert_eq!(h.tcb.info().mss, 1000);
}

#[test]
fn syn_received_bad_ack_gets_rst() {
    let mut h = syn_received();
    h.send(seg("", 1, Some(9)), b"");
    let (rst, _) = h.recv_one();
    assert!(rst.flags.rst);
    assert_eq!(rel_seq(&rst), 9);
    assert_eq!(h.tcb.state, State::SynReceived);
}

#[test]
fn syn_received_retransmitted_syn_repeats_syn_ack() {
    let mut h = syn_received();
    h.send(seg("S", 0, None), b"");
    let (sa, _) = h.recv_one();
    assert!(sa.flags.syn && sa.flags.ack);
    assert_eq!(rel_seq(&sa), 0);
}

#[test]
fn syn_received_rst_in_order_closes_quietly() {
    let mut h = syn_received();
    let n = h.send(seg("R", 1, None), b"");
    assert!(n.closed);
    assert_eq!(h.tcb.error, None, "back to LISTEN: no user to tell");
}

#[test]
fn syn_received_syn_ack_retransmits_then_gives_up() {
    let mut h = syn_received();
    let mut count = 0;
    loop {
        let n = h.advance_to_deadline();
        if n.closed {
            break;
        }
        let (sa, _) = h.recv_one();
        assert!(sa.flags.syn && sa.flags.ack);
        count += 1;
    }
    assert_eq!(count, 5, "tcp_synack_retries");
}

// ---------------------------------------------------------------- ESTABLISHED: data

#[test]
fn established_data_is_delivered_and_acked_on_second_segment() {
    let mut h = established();
    let d = vec![7u8; MSS];
    h.send(seg("", 1, Some(1)), &d);
    h.recv_nothing(); // delayed
    h.send(seg("", 1 + MSS as u32, Some(1)), &d);
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 1 + 2 * MSS as u32);
    assert_eq!(h.app_recv(4 * MSS).len(), 2 * MSS);
}

/// Linux's quick-ACK mode: the first segments are acknowledged at once (as
/// many ACKs as half the window has segments, 2 to 16), then one segment
/// waits for the delayed-ACK timer; answering data with data (an interactive
/// exchange) ends the quick ACKs at once, and an idle gap longer than the RTO
/// starts them again.
#[test]
fn quick_acks_at_the_start_then_delayed() {
    let cfg = TcpConfig {
        quick_ack: true,
        ..plain_config()
    };
    let mut h = connected_with(cfg);
    // A 64 KiB buffer, 1460-byte segments: 16 quick ACKs.
    let mut seq = 1;
    for i in 0..16 {
        h.send(seg("", seq, Some(1)), b"x");
        seq += 1;
        let (ack, _) = h.recv_one();
        assert_eq!(rel_ack(&ack), seq, "quick ACK {i}");
    }
    h.send(seg("", seq, Some(1)), b"x");
    seq += 1;
    h.recv_nothing(); // delayed now
    h.advance(Duration::from_millis(40));
    assert_eq!(rel_ack(&h.recv_one().0), seq);
    // After an idle gap longer than the RTO: quick again.
    h.advance(Duration::from_secs(2));
    h.send(seg("", seq, Some(1)), b"x");
    seq += 1;
    assert_eq!(rel_ack(&h.recv_one().0), seq);
    // A reply within the delayed-ACK time makes the exchange interactive:
    // the next segment's ACK waits (to ride on the next reply).
    h.with(|t, out, now| t.send(now, b"reply", Default::default(), out));
    h.recv_one();
    h.send(seg("", seq, Some(6)), b"x");
    h.recv_nothing();
}

#[test]
fn delayed_ack_fires_after_timeout() {
    let mut h = established();
    h.send(seg("", 1, Some(1)), b"hello");
    h.recv_nothing();
    h.advance(Duration::from_millis(39));
    h.recv_nothing();
    h.advance(Duration::from_millis(1));
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 6);
}

#[test]
fn out_of_order_data_gets_immediate_duplicate_ack_then_fills() {
    let mut h = established();
    h.send(seg("", 11, Some(1)), b"world");
    let (dup, _) = h.recv_one();
    assert_eq!(rel_ack(&dup), 1);
    h.send(seg("", 1, Some(1)), b"hello abcd");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 16);
    assert_eq!(h.app_recv(100), b"hello abcdworld");
}

#[test]
fn overlapping_retransmission_is_trimmed() {
    let mut h = established();
    h.send(seg("", 1, Some(1)), b"abcdef");
    h.send(seg("", 4, Some(1)), b"defghi");
    assert_eq!(h.app_recv(100), b"abcdefghi");
}

#[test]
fn out_of_window_data_is_dropped_with_an_ack() {
    let mut h = established();
    h.send(seg("", 1 + 1_000_000, Some(1)), b"far away");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 1);
    assert_eq!(h.app_recv(100), b"");
    assert_eq!(
        h.counters
            .drops(crate::counters::DropReason::TcpOutOfWindow),
        1
    );
}

#[test]
fn old_duplicate_data_is_acked_not_delivered_twice() {
    let mut h = established();
    h.send(seg("", 1, Some(1)), b"abc");
    h.advance(Duration::from_millis(40));
    h.recv();
    h.send(seg("", 1, Some(1)), b"abc");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 4);
    assert_eq!(h.app_recv(100), b"abc");
}

#[test]
fn sequence_numbers_wrap_around() {
    let mut h = Harness::new(plain_config(), opts());
    let mut syn = seg("S", 0, None);
    syn.seq = SeqNumber(u32::MAX - 2);
    h.with(|t, out, now| t.on_syn(now, &syn, out));
    h.recv();
    let mut ack = seg("", 0, Some(1));
    ack.seq = SeqNumber(u32::MAX - 1);
    h.send(ack.clone(), b"");
    let mut data = ack;
    data.seq = SeqNumber(u32::MAX - 1);
    h.send(data, b"across the wrap");
    h.advance(Duration::from_millis(40));
    let (a, _) = h.recv_one();
    assert_eq!(a.ack, SeqNumber((u32::MAX - 1).wrapping_add(15)));
    assert_eq!(h.app_recv(100), b"across the wrap");
}

// ---------------------------------------------------------------- RST and RFC 5961

#[test]
fn rst_exactly_at_rcv_nxt_resets() {
    let mut h = established();
    let n = h.send(seg("R", 1, None), b"");
    assert!(n.closed);
    assert_eq!(h.tcb.error, Some(NetError::ConnectionReset));
    h.recv_nothing();
}

#[test]
fn rst_in_window_but_not_exact_gets_challenge_ack() {
    let mut h = established();
    h.send(seg("R", 100, None), b"");
    assert_eq!(h.tcb.state, State::Established);
    let (ack, _) = h.recv_one();
    assert!(ack.flags.ack && !ack.flags.rst);
    assert_eq!(rel_ack(&ack), 1);
}

/// RFC 5961 section 7: 10,000 in-window RSTs in one second draw at most the
/// stack's configured number of challenge ACKs (the per-connection limit is
/// off here, so the stack's is what holds).
#[test]
fn challenge_acks_are_limited_per_second_for_the_stack() {
    let mut h = established();
    h.challenge_acks = crate::tcp::ChallengeAckLimit::new(50);
    h.tcb.cfg.invalid_ack_interval = Duration::ZERO;
    let mut acks = 0;
    for i in 0..10_000u32 {
        h.now += Duration::from_micros(99);
        h.send(seg("R", 100 + (i % 1000), None), b"");
        acks += h.recv().len();
    }
    assert_eq!(h.tcb.state, State::Established);
    assert!(acks > 0 && acks <= 50, "{acks} challenge ACKs");
    assert_eq!(h.counters.stat(Stat::TcpChallengeAcks), acks as u64);
    assert_eq!(
        h.counters.stat(Stat::TcpAcksRateLimited),
        10_000 - acks as u64
    );
}

/// Linux's tcp_invalid_ratelimit: one connection answers bare unacceptable
/// segments (RSTs and SYNs in the window, out-of-window ACKs) at most once per
/// `invalid_ack_interval`, so two desynchronised peers cannot ACK-storm; a
/// segment with data still gets its duplicate ACK.
#[test]
fn bare_unacceptable_segments_are_answered_at_most_twice_a_second() {
    let mut h = established();
    let mut acks = 0;
    for i in 0..1000u32 {
        h.now += Duration::from_millis(1);
        let s = match i % 3 {
            0 => seg("R", 100, None),
            1 => seg("S", 1, None),
            _ => seg("", 2_000_000, Some(1)),
        };
        h.send(s, b"");
        acks += h.recv().len();
    }
    // One second at 500 ms: the first segment and one more.
    assert_eq!(acks, 2);
    assert_eq!(h.counters.stat(Stat::TcpAcksRateLimited), 998);
    // Data out of the window is always answered.
    h.send(seg("", 2_000_000, Some(1)), b"data");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 1);
}

#[test]
fn rst_out_of_window_is_dropped_silently() {
    let mut h = established();
    h.send(seg("R", 2_000_000, None), b"");
    assert_eq!(h.tcb.state, State::Established);
    h.recv_nothing();
}

#[test]
fn syn_in_established_gets_challenge_ack() {
    let mut h = established();
    h.send(seg("S", 1, None), b"");
    assert_eq!(h.tcb.state, State::Established);
    let (ack, _) = h.recv_one();
    assert!(!ack.flags.syn && !ack.flags.rst);
    assert_eq!(rel_ack(&ack), 1);
}

#[test]
fn ack_of_unsent_data_is_answered_and_dropped() {
    let mut h = established();
    h.send(seg("", 1, Some(500)), b"data");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 1, "the data was not taken");
    assert_eq!(h.app_recv(10), b"");
}

// ---------------------------------------------------------------- retransmission

#[test]
fn rto_backs_off_and_resets_after_ack() {
    let mut h = established();
    h.app_send(b"x");
    let (d, _) = h.recv_one();
    assert_eq!(rel_seq(&d), 1);
    let t0 = h.now;
    h.advance_to_deadline();
    assert_eq!(h.recv_one().0.seq, d.seq);
    // The handshake's RTT sample (0 here) gave SRTT + max(200 ms, 4 RTTVAR).
    assert_eq!(
        (h.now - t0).as_millis(),
        200,
        "RTO from the handshake's sample"
    );
    h.advance_to_deadline();
    h.recv_one();
    assert_eq!((h.now - t0).as_millis(), 600, "doubled");
    // The ACK cancels the timer; the next segment uses the (backed-off, then
    // reset by a new sample) RTO.
    h.send(seg("", 1, Some(2)), b"");
    assert!(!h
        .tcb
        .timers
        .is_armed(crate::tcp::timer::TimerKind::Retransmit));
    // What remains armed is the reclaim of the now empty send buffer.
    assert_eq!(h.tcb.poll_at(), Some(h.now + RECLAIM_IDLE));
    assert_eq!(h.tcb.info().retransmits, 0);
}

#[test]
fn fast_retransmit_on_third_duplicate_ack() {
    let mut h = established();
    let data = vec![1u8; 6 * MSS];
    h.app_send(&data);
    let sent = h.recv();
    assert!(sent.len() >= 5);
    for i in 0..2 {
        h.send(seg("", 1, Some(1)), b"");
        // Limited transmit may send new data; no retransmission yet.
        assert!(h.recv().iter().all(|(r, _)| rel_seq(r) != 1), "dup {i}");
    }
    h.send(seg("", 1, Some(1)), b"");
    let out = h.recv();
    assert!(
        out.iter().any(|(r, d)| rel_seq(r) == 1 && d.len() == MSS),
        "third dup ACK retransmits the first segment"
    );
    assert!(h.counters.stat(Stat::TcpRetransmits) >= 1);
}

#[test]
fn retransmissions_give_up_with_timed_out() {
    let mut cfg = plain_config();
    cfg.retries = 3;
    let mut h = Harness::new(cfg, opts());
    h.with(|t, out, now| t.connect(now, out));
    h.recv();
    h.send(seg("S", 0, Some(1)), b"");
    h.recv();
    h.app_send(b"lost");
    h.recv();
    let mut n = Notice::default();
    for _ in 0..4 {
        n = h.advance_to_deadline();
    }
    assert!(n.closed);
    assert_eq!(h.tcb.error, Some(NetError::TimedOut));
}

// ---------------------------------------------------------------- windows

#[test]
fn zero_window_probe_with_persist_backoff() {
    let mut h = established();
    let mut w = seg("", 1, Some(1));
    w.window = 0;
    h.send(w.clone(), b"");
    h.app_send(b"blocked");
    h.recv_nothing();
    let t0 = h.now;
    h.advance_to_deadline();
    let (probe, d) = h.recv_one();
    assert_eq!((rel_seq(&probe), d.len()), (1, 1), "one byte of new data");
    let first = h.now - t0;
    // The peer still has no room: it acks nothing new.
    h.send(w, b"");
    h.recv();
    let t1 = h.now;
    h.advance_to_deadline();
    let second = h.now - t1;
    assert!(second > first, "backoff: {first:?} then {second:?}");
    let (probe2, d2) = h.recv_one();
    assert_eq!(
        (rel_seq(&probe2), d2.len()),
        (1, 1),
        "the same first byte again"
    );
    // The window opens: the rest goes.
    let mut open = seg("", 1, Some(1));
    open.window = 1000;
    h.send(open, b"");
    let out = h.recv();
    let total: usize = out.iter().map(|(_, d)| d.len()).sum();
    assert_eq!(total, 7, "the unacknowledged probe byte and the rest");
    assert_eq!(rel_seq(&out[0].0), 1);
}

/// Zero-window probes go on as long as the peer answers (RFC 1122 4.2.2.17)
/// while the user is there; an orphan gives up after `orphan_retries` (Linux's
/// tcp_orphan_retries), so a peer that keeps its window shut cannot pin a closed
/// socket forever.
#[test]
fn an_orphan_facing_a_closed_window_gives_up_after_the_probe_limit() {
    let run = |orphan: bool| {
        let mut h = established();
        let mut w = seg("", 1, Some(1));
        w.window = 0;
        h.send(w.clone(), b"");
        h.app_send(b"blocked");
        h.recv_nothing();
        if orphan {
            assert_eq!(h.tcb.close_action(false), super::CloseAction::Fin);
            h.close();
        }
        let mut probes = 0;
        for _ in 0..50 {
            let n = h.advance_to_deadline();
            probes += h.recv().len();
            if n.closed {
                assert_eq!(h.tcb.state, State::Closed);
                assert_eq!(h.counters.stat(Stat::TcpOrphanProbesExhausted), 1);
                return Some(probes);
            }
            // Answered, still without room.
            h.send(w.clone(), b"");
            h.recv();
        }
        None
    };
    assert_eq!(run(true), Some(8));
    assert_eq!(run(false), None, "a connection with its user keeps probing");
}

#[test]
fn nagle_holds_small_segments_while_data_is_unacked() {
    let mut h = established();
    h.app_send(b"a");
    assert_eq!(h.recv().len(), 1);
    h.app_send(b"b");
    h.app_send(b"c");
    h.recv_nothing();
    h.send(seg("", 1, Some(2)), b"");
    let (r, d) = h.recv_one();
    assert_eq!((rel_seq(&r), d), (2, b"bc".to_vec()));
}

#[test]
fn nodelay_sends_small_segments_at_once() {
    let mut o = opts();
    o.nodelay = true;
    let mut h = Harness::new(plain_config(), o);
    h.with(|t, out, now| t.connect(now, out));
    h.recv();
    h.send(seg("S", 0, Some(1)), b"");
    h.recv();
    h.app_send(b"a");
    h.app_send(b"b");
    assert_eq!(h.recv().len(), 2);
}

#[test]
fn window_update_after_reading_a_full_buffer() {
    let mut o = opts();
    o.recv_buffer = 8 * MSS;
    let mut h = Harness::new(plain_config(), o);
    h.with(|t, out, now| t.connect(now, out));
    h.recv();
    h.send(seg("S", 0, Some(1)), b"");
    h.recv();
    for i in 0..8u32 {
        h.send(seg("", 1 + i * MSS as u32, Some(1)), &vec![0u8; MSS]);
    }
    let last = h.recv().pop().unwrap().0;
    assert_eq!(last.window, 0, "buffer full: zero window");
    h.app_recv(8 * MSS);
    let (upd, _) = h.recv_one();
    assert_eq!(upd.window as usize, 8 * MSS);
}

// ---------------------------------------------------------------- closing

#[test]
fn fin_wait_1_to_fin_wait_2_to_time_wait_then_closed_after_2msl() {
    let mut h = time_wait();
    h.advance(Duration::from_secs(59));
    assert_eq!(h.tcb.state, State::TimeWait);
    let n = h.advance(Duration::from_secs(1));
    assert!(n.closed);
    assert_eq!(h.tcb.state, State::Closed);
}

#[test]
fn time_wait_reacks_retransmitted_fin_and_restarts_timer() {
    let mut h = time_wait();
    h.advance(Duration::from_secs(30));
    h.send(seg("F", 1, Some(2)), b"");
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 2);
    h.advance(Duration::from_secs(59));
    assert_eq!(h.tcb.state, State::TimeWait, "2 MSL restarted");
    h.advance(Duration::from_secs(1));
    assert_eq!(h.tcb.state, State::Closed);
}

#[test]
fn fin_wait_1_fin_before_ack_is_closing() {
    let mut h = fin_wait_1();
    h.send(seg("F", 1, Some(1)), b"");
    assert_eq!(h.tcb.state, State::Closing);
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 2);
    h.send(seg("", 2, Some(2)), b"");
    assert_eq!(h.tcb.state, State::TimeWait);
}

#[test]
fn fin_wait_1_fin_with_ack_goes_straight_to_time_wait() {
    let mut h = fin_wait_1();
    h.send(seg("F", 1, Some(2)), b"");
    assert_eq!(h.tcb.state, State::TimeWait);
}

#[test]
fn close_wait_close_is_last_ack_then_closed() {
    let mut h = close_wait();
    h.close();
    let (fin, _) = h.recv_one();
    assert!(fin.flags.fin);
    assert_eq!(h.tcb.state, State::LastAck);
    let n = h.send(seg("", 2, Some(2)), b"");
    assert!(n.closed);
    assert_eq!(h.tcb.state, State::Closed);
}

#[test]
fn fin_is_retransmitted() {
    let mut h = fin_wait_1();
    h.advance_to_deadline();
    let (fin, _) = h.recv_one();
    assert!(fin.flags.fin);
    assert_eq!(rel_seq(&fin), 1);
}

#[test]
fn close_in_syn_sent_closes_at_once() {
    let mut h = syn_sent();
    let n = h.close();
    assert!(n.closed);
    assert_eq!(h.tcb.state, State::Closed);
    h.recv_nothing();
}

#[test]
fn fin_queued_after_data_goes_last() {
    let mut h = established();
    h.app_send(b"bye");
    h.recv();
    h.close();
    let (fin, d) = h.recv_one();
    assert!(fin.flags.fin && d.is_empty());
    assert_eq!(rel_seq(&fin), 4);
}

// ---------------------------------------------------------------- keep-alive

#[test]
fn keepalive_probes_then_times_out() {
    let mut cfg = plain_config();
    cfg.keepalive_time = Duration::from_secs(10);
    cfg.keepalive_interval = Duration::from_secs(2);
    cfg.keepalive_probes = 3;
    let mut o = opts();
    o.keepalive = true;
    let mut h = Harness::new(cfg, o);
    h.with(|t, out, now| t.connect(now, out));
    h.recv();
    h.send(seg("S", 0, Some(1)), b"");
    h.recv();
    let mut probes = Vec::new();
    loop {
        let n = h.advance_to_deadline();
        if n.closed {
            break;
        }
        for (r, d) in h.recv() {
            assert!(d.is_empty());
            assert_eq!(rel_seq(&r), 0, "SND.NXT - 1");
            probes.push(h.now.total_millis());
        }
    }
    assert_eq!(probes, vec![10_000, 12_000, 14_000]);
    assert_eq!(h.tcb.error, Some(NetError::TimedOut));
}

#[test]
fn keepalive_answer_keeps_connection() {
    let mut cfg = plain_config();
    cfg.keepalive_time = Duration::from_secs(10);
    let mut o = opts();
    o.keepalive = true;
    let mut h = Harness::new(cfg, o);
    h.with(|t, out, now| t.connect(now, out));
    h.recv();
    h.send(seg("S", 0, Some(1)), b"");
    h.recv();
    h.advance_to_deadline();
    assert_eq!(h.recv().len(), 1);
    h.send(seg("", 1, Some(1)), b"");
    assert_eq!(h.tcb.poll_at(), Some(h.now + Duration::from_secs(10)));
}

// ---------------------------------------------------------------- options

#[test]
fn options_negotiated_from_syn_ack() {
    let cfg = TcpConfig::default();
    let mut o = opts();
    o.recv_buffer = 1 << 20;
    o.recv_buffer_locked = true;
    let mut h = Harness::new(cfg, o);
    h.with(|t, out, now| t.connect(now, out));
    let (syn, _) = h.recv_one();
    assert_eq!(
        syn.options.window_scale,
        Some(5),
        "SO_RCVBUF of 1 MiB needs a shift of 5"
    );
    assert!(syn.options.sack_permitted);
    assert!(syn.options.timestamps.is_some());
    let mut sa = seg("S", 0, Some(1));
    sa.options.mss = Some(1400);
    sa.options.window_scale = Some(7);
    sa.options.sack_permitted = true;
    sa.options.timestamps = Some(Timestamps {
        value: 42,
        echo_reply: syn.options.timestamps.unwrap().value,
    });
    h.send(sa, b"");
    let (ack, _) = h.recv_one();
    assert_eq!(ack.options.timestamps.map(|t| t.echo_reply), Some(42));
    // MSS less the 12 bytes of the timestamp option.
    assert_eq!(h.tcb.info().mss, 1388);
    // The peer's window is scaled by its shift.
    let mut w = seg("", 1, Some(1));
    w.window = 100;
    w.options.timestamps = Some(Timestamps {
        value: 43,
        echo_reply: 0,
    });
    h.send(w, b"");
    assert_eq!(h.tcb.info().snd_wnd, 100 << 7);
}

#[test]
fn without_so_rcvbuf_the_window_scale_fits_the_autotuning_limit() {
    let mut h = Harness::new(TcpConfig::default(), opts());
    h.with(|t, out, now| t.connect(now, out));
    let (syn, _) = h.recv_one();
    assert_eq!(
        syn.options.window_scale,
        Some(7),
        "6 MiB needs a shift of 7"
    );
    let cfg = TcpConfig {
        moderate_rcvbuf: false,
        ..TcpConfig::default()
    };
    let mut h = Harness::new(cfg, opts());
    h.with(|t, out, now| t.connect(now, out));
    let (syn, _) = h.recv_one();
    assert_eq!(
        syn.options.window_scale,
        Some(1),
        "SO_RCVBUF alone: 64 KiB needs 1"
    );
}

/// An established connection with window scaling (the peer's shift 7, ours as
/// the options give), its SRTT measured as 10 ms on the handshake.
fn established_scaled(o: SocketOptions) -> Harness {
    let mut h = Harness::new(TcpConfig::default(), o);
    h.with(|t, out, now| t.connect(now, out));
    h.recv_one();
    h.now += Duration::from_millis(10);
    let mut sa = seg("S", 0, Some(1));
    sa.options.mss = Some(MSS as u16);
    sa.options.window_scale = Some(7);
    h.send(sa, b"");
    h.recv();
    h
}

/// Feeds `rounds` round trips of data, each a window's worth the application
/// reads at once (the sender fills whatever we offer); returns the buffer sizes.
fn bulk_rounds(h: &mut Harness, rounds: usize) -> Vec<usize> {
    let mut seq = 1u32;
    let mut sizes = Vec::new();
    for _ in 0..rounds {
        let offered = h.tcb.info().rcv_wnd;
        let mut sent = 0;
        while sent + MSS <= offered {
            h.send(seg("", seq, Some(1)), &[1u8; MSS]);
            seq += MSS as u32;
            sent += MSS;
        }
        h.now += Duration::from_millis(10);
        while !h.app_recv(1 << 20).is_empty() {}
        h.recv();
        sizes.push(h.tcb.buffer_options().0);
    }
    sizes
}

#[test]
fn autotuning_grows_the_receive_buffer_with_what_the_application_reads() {
    let mut h = established_scaled(opts());
    let start = h.tcb.buffer_options().0;
    assert_eq!(start, 64 * 1024);
    let sizes = bulk_rounds(&mut h, 12);
    let limit = TcpConfig::default().max_recv_buffer_auto;
    assert!(
        sizes.windows(2).all(|w| w[0] <= w[1]),
        "never shrinks: {sizes:?}"
    );
    assert!(sizes[0] > start, "grew after one round trip: {sizes:?}");
    assert_eq!(*sizes.last().unwrap(), limit, "up to the limit: {sizes:?}");
    assert!(h.tcb.info().rcv_wnd > start, "and the window with it");
    assert!(h.tcb.info().rcv_space > 0);
}

#[test]
fn so_rcvbuf_turns_autotuning_off() {
    let mut o = opts();
    o.recv_buffer_locked = true;
    let mut h = established_scaled(o);
    let sizes = bulk_rounds(&mut h, 6);
    assert!(sizes.iter().all(|&s| s == 64 * 1024), "{sizes:?}");
    // Set on a live connection, it stops the growth where it is.
    let mut h = established_scaled(opts());
    bulk_rounds(&mut h, 2);
    let mut o = h.tcb.opts;
    o.recv_buffer_locked = true;
    let now = h.now;
    h.tcb.apply_options(now, &o);
    let at = h.tcb.buffer_options().0;
    let sizes = bulk_rounds(&mut h, 4);
    assert!(sizes.iter().all(|&s| s == at), "{at} then {sizes:?}");
}

/// Feeds segments as one batch of received frames (ACKs may wait for its end),
/// then ends the batch as the engine does.
fn send_batch(h: &mut Harness, segs: &[(TcpRepr, Vec<u8>)]) {
    for (seg, data) in segs {
        h.with(|t, out, now| {
            out.defer_ack = true;
            t.on_segment(now, seg, data, out)
        });
    }
    h.with(|t, out, now| t.flush_ack(now, out));
}

/// `n` in-order full segments from relative sequence 1.
fn in_order(n: u32) -> Vec<(TcpRepr, Vec<u8>)> {
    (0..n)
        .map(|i| (seg("", 1 + i * MSS as u32, Some(1)), vec![1u8; MSS]))
        .collect()
}

/// Takes a new connection out of quick-ACK mode with 40 segments, one at a
/// time, read by the application; returns how many were sent.
fn past_quick_acks(h: &mut Harness) -> u32 {
    for (i, (sg, d)) in in_order(40).iter().enumerate() {
        h.send(sg.clone(), d);
        if i % 2 == 1 {
            while !h.app_recv(1 << 20).is_empty() {}
            h.recv();
        }
    }
    40
}

#[test]
fn in_order_data_in_one_batch_is_acknowledged_per_64_kib() {
    let mut o = opts();
    o.recv_buffer = 1 << 20;
    o.recv_buffer_locked = true;
    // From the start (quick-ACK mode) and once past it.
    for quick in [true, false] {
        let mut h = established_scaled(o);
        let base = if quick { 0 } else { past_quick_acks(&mut h) };
        let offered = h.tcb.info().rcv_wnd;
        assert!(offered >= 400 * MSS, "a window of {offered}");
        let segs: Vec<_> = in_order(base + 100).split_off(base as usize);
        send_batch(&mut h, &segs);
        let acks: Vec<u32> = h.recv().iter().map(|(a, _)| rel_ack(a)).collect();
        // 45 segments are the first to pass 64 KiB.
        let at = |n: u32| 1 + (base + n) * MSS as u32;
        assert_eq!(
            acks,
            vec![at(45), at(90), at(100)],
            "quick-ACK mode: {quick}"
        );
    }
}

#[test]
fn a_batch_that_fills_a_small_window_is_acknowledged_once() {
    let mut o = opts();
    o.recv_buffer = 32 * 1024;
    o.recv_buffer_locked = true;
    let mut h = established_scaled(o);
    let base = past_quick_acks(&mut h);
    let offered = h.tcb.info().rcv_wnd;
    let n = (offered / MSS) as u32;
    assert!(n >= 8, "a window of {offered}");
    // An ACK before the batch's end would not move the window's right edge
    // (nothing was read): one ACK, at the end.
    let end = 1 + (base + n) * MSS as u32;
    send_batch(&mut h, &in_order(base + n).split_off(base as usize));
    let acks: Vec<u32> = h.recv().iter().map(|(a, _)| rel_ack(a)).collect();
    assert_eq!(acks, vec![end], "a window of {offered}");
    // Reading it all opens the window: the update goes at once.
    while !h.app_recv(1 << 20).is_empty() {}
    let updates: Vec<u32> = h.recv().iter().map(|(a, _)| rel_ack(a)).collect();
    assert_eq!(updates, vec![end]);
}

#[test]
fn with_the_read_side_shut_data_is_discarded_in_order_only() {
    let mut h = established_scaled(opts());
    h.tcb.sack_enabled = true;
    h.tcb.shutdown_check(true).unwrap();
    // Segment 2 before segment 1: held for its hole, not acknowledged past it.
    h.send(seg("", 1 + MSS as u32, Some(1)), &[2u8; MSS]);
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 1, "the ACK stays at the hole");
    let block = ack.options.sack_blocks[0].expect("a SACK block for segment 2");
    assert_eq!(block.right - block.left, MSS as i32);
    // The hole filled: both acknowledged, and discarded unread.
    h.send(seg("", 1, Some(1)), &[1u8; MSS]);
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 1 + 2 * MSS as u32);
    assert!(ack.options.sack_blocks[0].is_none(), "{:?}", ack.options);
    assert_eq!(h.tcb.readable_len(), 0);
    assert!(h.app_recv(1 << 20).is_empty());
}

#[test]
fn sack_blocks_beyond_what_was_sent_or_reversed_are_ignored() {
    use crate::tcp::options::SackBlock;
    let mut h = established_scaled(opts());
    h.tcb.sack_enabled = true;
    h.app_send(&[7u8; 4 * MSS]);
    let sent = h.recv();
    assert_eq!(sent.len(), 4);
    let at = |n: usize| SeqNumber(ISS.wrapping_add(1 + (n * MSS) as u32));
    let ack_with = |h: &mut Harness, left: SeqNumber, right: SeqNumber| {
        let mut a = seg("", 1, Some(1));
        a.options.sack_blocks[0] = Some(SackBlock { left, right });
        h.send(a, b"");
        h.tcb.info().sacked
    };
    // Ending past SND.MAX (a receiver claiming data never sent), and reversed
    // (Linux's tcp_is_sackblock_valid): nothing is marked.
    assert_eq!(ack_with(&mut h, at(2), at(10)), 0);
    assert_eq!(ack_with(&mut h, at(3), at(2)), 0);
    // A block within the flight is taken.
    assert_eq!(ack_with(&mut h, at(2), at(3)), MSS);
}

#[test]
fn with_sack_duplicate_acks_after_the_third_wait_for_the_batch_end() {
    let mut h = established_scaled(opts());
    // established_scaled's SYN-ACK offers no SACK: agree on it here.
    h.tcb.sack_enabled = true;
    // Segment 1 is lost; 2..=13 arrive out of order in one batch.
    let segs: Vec<(TcpRepr, Vec<u8>)> = (1..13u32)
        .map(|i| (seg("", 1 + i * MSS as u32, Some(1)), vec![1u8; MSS]))
        .collect();
    send_batch(&mut h, &segs);
    let acks = h.recv();
    assert_eq!(acks.len(), 4, "three at once, one at the batch's end");
    assert!(acks.iter().all(|(a, _)| rel_ack(a) == 1));
    let last = acks.last().unwrap().0.options.sack_blocks[0].unwrap();
    assert_eq!(
        last.right - last.left,
        12 * MSS as i32,
        "the end one reports all"
    );
    // Without SACK every duplicate goes at once (the sender counts them).
    let mut h = established_scaled(opts());
    h.tcb.sack_enabled = false;
    send_batch(&mut h, &segs);
    assert_eq!(h.recv().len(), 12);
}

#[test]
fn timestamp_values_never_go_backwards() {
    let mut h = Harness::new(TcpConfig::default(), opts());
    h.now += Duration::from_millis(500);
    h.with(|t, out, now| t.connect(now, out));
    let (syn, _) = h.recv_one();
    let first = syn.options.timestamps.unwrap().value;
    let mut sa = seg("S", 0, Some(1));
    sa.options.timestamps = Some(Timestamps {
        value: 7,
        echo_reply: first,
    });
    sa.options.sack_permitted = true;
    h.send(sa, b"");
    h.recv();
    // Another caller whose clock reads earlier (an application thread that took
    // the time before the driver did) sends data: its stamp is not older.
    h.now = Instant::from_micros(h.now.total_micros() - 300_000);
    h.app_send(b"data");
    let (s, _) = h.recv_one();
    assert_eq!(s.options.timestamps.map(|t| t.value), Some(first));
    h.now += Duration::from_millis(310);
    h.app_send(b"more");
    let later = h
        .recv()
        .into_iter()
        .filter_map(|(s, _)| s.options.timestamps)
        .map(|t| t.value);
    assert!(later.into_iter().all(|v| v == first.wrapping_add(10)));
}

#[test]
fn no_window_scale_without_the_peers_option() {
    let mut o = opts();
    o.recv_buffer = 1 << 20;
    let mut h = Harness::new(TcpConfig::default(), o);
    h.with(|t, out, now| t.connect(now, out));
    h.recv();
    h.send(seg("S", 0, Some(1)), b"");
    let (ack, _) = h.recv_one();
    assert_eq!(ack.window, 65535, "unscaled, capped");
    assert_eq!(ack.options, TcpOptions::default());
}

// ---------------------------------------------------------------- urgent data

fn oob_send(h: &mut Harness, data: &[u8]) -> usize {
    h.with(|t, out, now| t.send_oob(now, data, out))
}

#[test]
fn urgent_pointer_points_one_past_the_urgent_byte() {
    let mut h = established();
    oob_send(&mut h, b"abc");
    let (s, d) = h.recv_one();
    assert_eq!(d, b"abc");
    assert!(s.flags.urg);
    assert_eq!(s.urgent, 3, "BSD interpretation: seq + 3 is one past 'c'");
}

#[test]
fn urgent_mode_lasts_until_the_pointer_is_acknowledged() {
    let mut h = established();
    h.app_send(b"0123456789");
    h.recv();
    oob_send(&mut h, b"X");
    // Nagle would hold "X" (data unacked): urgent data goes anyway.
    let (s, d) = h.recv_one();
    assert_eq!(d, b"X");
    assert!(s.flags.urg);
    assert_eq!(s.urgent, 1);
    // A retransmission of the segment carries URG too.
    h.advance_to_deadline();
    let segs = h.recv();
    assert!(
        segs.iter().all(|(s, _)| s.flags.urg),
        "retransmission keeps URG"
    );
    // Once everything is acknowledged, URG stops.
    h.send(seg("", 1, Some(12)), b"");
    h.app_send(b"more");
    let (s, _) = h.recv_one();
    assert!(!s.flags.urg);
}

#[test]
fn urgent_notification_goes_out_with_a_zero_window() {
    let mut h = established();
    let mut w = seg("", 1, Some(1));
    w.window = 0;
    h.send(w, b"");
    oob_send(&mut h, b"!");
    let (s, d) = h.recv_one();
    assert!(d.is_empty(), "no data fits");
    assert!(
        s.flags.urg,
        "the urgent pointer is announced ahead of the data"
    );
    assert_eq!(s.urgent, 1);
}

fn urgent_seg(seq: u32, urg: u16) -> TcpRepr {
    let mut s = seg("U", seq, Some(1));
    s.urgent = urg;
    s
}

fn oob_read(h: &mut Harness) -> crate::tcp::urgent::OobState {
    h.tcb.urg_rx.oob(h.tcb.opts.oob_inline)
}

#[test]
fn receiver_takes_the_urgent_byte_out_of_the_stream() {
    use crate::tcp::urgent::OobState;
    let mut h = established();
    // "hello" then urgent "X" then "world" in one segment: pointer 6 = one past X.
    let n = h.send(urgent_seg(1, 6), b"helloXworld");
    assert!(n.urgent, "new urgent data is announced");
    assert!(h.tcb.urg_rx.pending());
    assert!(!h.tcb.at_mark());
    assert_eq!(h.app_recv(100), b"hello", "a read stops at the mark");
    assert!(h.tcb.at_mark());
    assert_eq!(oob_read(&mut h), OobState::Byte(b'X'));
    h.tcb.urg_rx.take_oob();
    assert_eq!(oob_read(&mut h), OobState::None);
    assert!(h.tcb.at_mark());
    assert_eq!(h.app_recv(100), b"world");
    assert!(!h.tcb.at_mark());
}

#[test]
fn urgent_pointer_beyond_the_segment_announces_before_the_byte_arrives() {
    use crate::tcp::urgent::OobState;
    let mut h = established();
    // Pointer 10 with 5 bytes: the urgent byte (offset 9) is still to come.
    let n = h.send(urgent_seg(1, 10), b"hello");
    assert!(n.urgent);
    assert_eq!(
        oob_read(&mut h),
        OobState::Pending,
        "EWOULDBLOCK until it arrives"
    );
    assert!(!h.tcb.at_mark(), "the mark is nine bytes ahead");
    // The same pointer repeated: no second notification.
    let n = h.send(urgent_seg(6, 5), b"1234");
    assert!(!n.urgent);
    // Read up to the announced mark: sockatmark is 1 before the byte arrives (Linux).
    assert_eq!(h.app_recv(100), b"hello1234");
    assert!(h.tcb.at_mark());
    let n = h.send(urgent_seg(10, 1), b"Zrest");
    assert!(!n.urgent);
    assert_eq!(oob_read(&mut h), OobState::Byte(b'Z'));
    assert!(h.tcb.at_mark());
    assert_eq!(h.app_recv(100), b"rest");
}

#[test]
fn advancing_pointer_makes_the_older_urgent_byte_normal_data() {
    use crate::tcp::urgent::OobState;
    let mut h = established();
    h.send(urgent_seg(1, 3), b"aaX");
    let n = h.send(urgent_seg(4, 3), b"bbY");
    assert!(n.urgent, "a newer pointer is new urgent data");
    h.send(seg("", 7, Some(1)), b"cc");
    assert_eq!(h.app_recv(100), b"aaXbb");
    assert!(h.tcb.at_mark());
    assert_eq!(
        oob_read(&mut h),
        OobState::Byte(b'Y'),
        "at the mark, Y is there"
    );
    assert_eq!(h.app_recv(100), b"cc");
    assert_eq!(
        oob_read(&mut h),
        OobState::None,
        "read past the mark: EINVAL, as Linux"
    );
}

#[test]
fn oobinline_keeps_the_byte_in_the_stream_but_the_mark_stops_reads() {
    use crate::tcp::urgent::OobState;
    let mut o = opts();
    o.oob_inline = true;
    let mut h = Harness::new(plain_config(), o);
    h.with(|t, out, now| t.connect(now, out));
    h.recv();
    h.send(seg("S", 0, Some(1)), b"");
    h.recv();
    h.send(urgent_seg(1, 6), b"helloXworld");
    assert!(!h.tcb.at_mark());
    assert_eq!(h.app_recv(100), b"hello");
    assert!(h.tcb.at_mark());
    assert_eq!(oob_read(&mut h), OobState::Inline, "EINVAL");
    assert_eq!(h.app_recv(100), b"Xworld");
    assert!(!h.tcb.at_mark());
}

#[test]
fn urgent_pointer_beyond_the_window_is_remembered_not_harmful() {
    use crate::tcp::urgent::OobState;
    let mut h = established();
    // A pointer 60000 bytes ahead: announced (SIGURG), byte far away.
    let n = h.send(urgent_seg(1, 60000), b"abc");
    assert!(n.urgent);
    assert_eq!(oob_read(&mut h), OobState::Pending);
    assert_eq!(h.app_recv(100), b"abc", "normal data reads normally");
}

/// RFC 6582 without SACK: after the fast retransmission, a partial ACK makes
/// the next hole go at once (no timeout), even while new data waits.
#[test]
fn partial_ack_retransmits_the_next_hole_at_once() {
    let mut h = established();
    h.app_send(&vec![3u8; 30 * MSS]);
    let first = h.recv();
    let n = first.len() as u32;
    assert!(n >= 10, "initial window sent: {n}");
    // Segments 0 and 4 are lost; the others cause duplicate ACKs.
    for _ in 0..(n - 2) {
        h.send(seg("", 1, Some(1)), b"");
    }
    let out = h.recv();
    assert!(
        out.iter().any(|(r, d)| rel_seq(r) == 1 && d.len() == MSS),
        "fast retransmission of segment 0"
    );
    // Its ACK stops at the next hole: segment 4 goes at once.
    h.send(seg("", 1, Some(1 + 4 * MSS as u32)), b"");
    let out = h.recv();
    assert!(
        out.iter().any(|(r, _)| rel_seq(r) == 1 + 4 * MSS as u32),
        "the next hole goes at once: {:?}",
        out.iter()
            .map(|(r, d)| (rel_seq(r), d.len()))
            .collect::<Vec<_>>()
    );
}

// ------------------------------------------------------------ BSD buffer rules

/// 4.4BSD's `tcp_mss` (`TcpConfig::round_buffers_to_mss`): both buffers round
/// up to whole segments of the agreed MSS; off, they stay as set.
#[test]
fn buffers_round_up_to_whole_segments_when_asked() {
    for (round, want) in [(true, (65_700, 33_580)), (false, (65_536, 32_768))] {
        let cfg = TcpConfig {
            round_buffers_to_mss: round,
            ..plain_config()
        };
        let o = SocketOptions {
            recv_buffer: 65_536,
            send_buffer: 32_768,
            ..SocketOptions::default()
        };
        let mut h = Harness::new(cfg, o);
        h.with(|t, out, now| t.connect(now, out));
        h.recv_one();
        let mut synack = seg("S", 0, Some(1));
        synack.options.mss = Some(MSS as u16);
        h.send(synack, b"");
        assert_eq!(h.tcb.buffer_options(), want, "rounding {round}");
    }
}

/// BSD's receive window (`TcpConfig::bsd_receive_window`) offers all the free
/// buffer on every segment; RFC 9293's receiver SWS avoidance (the default)
/// keeps the right edge until it can move by a segment.
#[test]
fn bsd_receive_window_offers_all_free_space() {
    for (bsd, want) in [(true, 65_536 - 99), (false, 65_535 - 99)] {
        let cfg = TcpConfig {
            bsd_receive_window: bsd,
            ..plain_config()
        };
        let mut h = connected_with(cfg);
        h.send(seg("", 1, Some(1)), &[1u8; 99]);
        h.advance_to_deadline(); // the delayed ACK
        let (ack, _) = h.recv_one();
        assert_eq!(
            (rel_ack(&ack), usize::from(ack.window)),
            (100, want),
            "bsd {bsd}"
        );
    }
}

/// A connection made on its SYN's data (Fast Open) that gets the peer's FIN
/// with the ACK of our SYN-ACK: established and closing at once, the FIN
/// acknowledged.
#[test]
fn fast_open_child_takes_a_fin_that_completes_the_handshake() {
    let mut h = Harness::new(plain_config(), opts());
    let mut syn = seg("S", 0, None);
    syn.options.mss = Some(1460);
    h.with(|t, out, now| t.on_fast_open_syn(now, &syn, b"0123456789", out));
    let (sa, _) = h.recv_one();
    assert_eq!(rel_ack(&sa), 11);
    h.now += Duration::from_millis(100);
    h.send(seg("F", 11, Some(1)), b"");
    assert_eq!(h.tcb.state, State::CloseWait);
    let (ack, _) = h.recv_one();
    assert_eq!(rel_ack(&ack), 12);
}
