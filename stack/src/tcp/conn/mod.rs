//! One TCP connection: the transmission control block and its state machine.
//!
//! Read RFC 9293 section 3.10 ("Event Processing") before touching this: the input
//! path (`input.rs`) follows its "SEGMENT ARRIVES" steps in order (sequence check,
//! RST, SYN, ACK, URG, text, FIN), with RFC 5961's stricter RST, SYN and ACK rules.
//! `user.rs` holds the user calls and the errors they report, `timers.rs` the
//! timer events, `output.rs` what is sent. Output
//! follows RFC 9293 3.8.6 (Nagle, silly window avoidance), RFC 6298 (RTO), RFC 7323
//! (window scale and timestamps) and RFC 2018 (SACK blocks we send). Loss detection,
//! what to retransmit and the congestion window live in [`crate::tcp::recovery`]; the
//! connection tells it what was sent and what the ACKs said, and sends what it chooses.
//!
//! A `Tcb` knows nothing of the engine: segments it sends are written into an
//! `Out`, and what the owner must do (wake the user, notify a listener, free the
//! socket) comes back as `Notice`s. That keeps it testable one connection at a time.

mod ack;
mod autotune;
mod fast_open;
mod info;
pub use info::TcpInfo;
mod input;
mod output;
#[cfg(test)]
mod tests;
mod timers;
mod user;
mod validate;

pub(crate) use autotune::receive_sizes;
use autotune::Autotune;
pub(crate) use user::CloseAction;

use std::net::SocketAddrV4;

use crate::config::TcpConfig;
use crate::counters::{Counters, DropReason, Stat};
use crate::device::offload::TxMeta;
use crate::error::NetError;
use crate::ip::IpSend;
use crate::socket::SocketOptions;
use crate::tcp::assembler::Assembler;
use crate::tcp::buffer::RingBuffer;
use crate::tcp::options::{SackBlock, TcpOptions, Timestamps};
use crate::tcp::recovery::congestion::{CongestionAlgorithm, CongestionControl, InitialWindow};
use crate::tcp::recovery::scoreboard::LossCause;
use crate::tcp::recovery::{AckInput, CaState, Recovery, RecoveryStats, Transmit};
use crate::tcp::rtt::RttEstimator;
use crate::tcp::segment::{Flags, TcpRepr};
use crate::tcp::seq::SeqNumber;
use crate::tcp::timer::{TimerKind, Timers};
use crate::tcp::urgent::{UrgentRx, UrgentTx};
use crate::time::{Duration, Instant};
use crate::wire::{HEADROOM, IPV4_HEADER_LEN, PROTO_TCP, TCP_HEADER_LEN};

/// The eleven states of RFC 9293 section 3.3.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a connection request.
    Listen,
    /// SYN sent, waiting for the matching SYN.
    SynSent,
    /// SYN received and SYN sent, waiting for the ACK of our SYN.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We closed; our FIN is not yet acknowledged.
    FinWait1,
    /// We closed and our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer closed; waiting for our user to close.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Waiting 2*MSL so that the peer surely got our ACK of its FIN.
    TimeWait,
}

impl State {
    /// The name Linux's `ss` uses.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECV",
            State::Established => "ESTAB",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// True once the handshake completed (RFC 9293's "synchronized" states).
    pub fn synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }
}

/// Where a [`Tcb`] puts the segments it sends.
pub(crate) struct Out<'a> {
    /// Datagrams to send: IP parameters and a frame whose TCP segment starts at
    /// [`HEADROOM`].
    pub frames: &'a mut Vec<(IpSend, Vec<u8>, TxMeta)>,
    /// Spare buffers to build frames in.
    pub spare: &'a mut Vec<Vec<u8>>,
    /// The engine's counters.
    pub counters: &'a mut Counters,
    /// Leave a pure ACK owed for in-order data pending (`Tcb::ack_pending`), so the
    /// engine sends one ACK per batch of received frames rather than one per two
    /// segments (Linux acknowledges GRO batches the same way).
    pub defer_ack: bool,
    /// The device completes TCP checksums (checksum offload).
    pub partial_checksum: bool,
    /// Largest payload one segment may carry, cut by the device into MSS pieces
    /// (TSO); 0 when the device cannot.
    pub tso_max: usize,
    /// The stack's challenge-ACK budget (RFC 5961 section 7).
    pub challenge_acks: &'a mut crate::tcp::ChallengeAckLimit,
}

impl<'a> Out<'a> {
    /// An output context for segments sent outside any connection (RSTs, SYN
    /// cookies, TIME-WAIT ACKs): no deferred ACKs, no offloads.
    pub(crate) fn plain(
        frames: &'a mut Vec<(IpSend, Vec<u8>, TxMeta)>,
        spare: &'a mut Vec<Vec<u8>>,
        counters: &'a mut Counters,
        challenge_acks: &'a mut crate::tcp::ChallengeAckLimit,
    ) -> Out<'a> {
        Out {
            frames,
            spare,
            counters,
            defer_ack: false,
            partial_checksum: false,
            tso_max: 0,
            challenge_acks,
        }
    }

    /// Emits a segment without data (`repr`, from `local` to `remote`) into a
    /// frame, counted as sent.
    pub(crate) fn bare_segment(
        &mut self,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        repr: &TcpRepr,
        ttl: u8,
        tos: u8,
    ) -> (IpSend, Vec<u8>) {
        let hlen = repr.header_len();
        let mut frame = self.frame(hlen);
        push_header_room(&mut frame, hlen);
        repr.emit(&mut frame[HEADROOM..], *local.ip(), *remote.ip(), &[]);
        self.counters.inc(Stat::TcpSegmentsOut);
        (
            IpSend {
                src: *local.ip(),
                dst: *remote.ip(),
                protocol: PROTO_TCP,
                ttl,
                tos,
                dont_frag: true,
            },
            frame,
        )
    }
}

impl Out<'_> {
    pub(crate) fn frame(&mut self, capacity: usize) -> Vec<u8> {
        let mut f = self.spare.pop().unwrap_or_default();
        f.clear();
        f.reserve(HEADROOM + capacity.max(MAX_TCP_HEADER_LEN));
        // Fixed-size zeroing, written inline (a `resize` calls memset).
        f.extend_from_slice(&[0u8; HEADROOM]);
        f
    }
}

/// The longest TCP header (data offset 15).
const MAX_TCP_HEADER_LEN: usize = 60;

/// Appends `hlen` (at most 60) zero bytes for a TCP header: a fixed-size copy
/// written inline and cut back, where `resize` would call memset for a few
/// dozen bytes on every segment.
pub(crate) fn push_header_room(frame: &mut Vec<u8>, hlen: usize) {
    let at = frame.len();
    frame.extend_from_slice(&[0u8; MAX_TCP_HEADER_LEN]);
    frame.truncate(at + hlen);
}

/// What the owner of a [`Tcb`] must do after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Notice {
    /// Readiness may have changed: wake the user's waiters.
    pub wake: bool,
    /// The handshake completed, or a listener took a SYN's data: a listener's
    /// child moves to the accept queue.
    pub established: bool,
    /// The connection is gone (CLOSED): an orphan can be freed.
    pub closed: bool,
    /// New urgent data was announced (the SIGURG notification).
    pub urgent: bool,
    /// A SYN-ACK taught a Fast Open cookie or MSS for the client's cache.
    pub learned: bool,
}

impl Notice {
    fn merge(&mut self, o: Notice) {
        self.wake |= o.wake;
        self.established |= o.established;
        self.closed |= o.closed;
        self.urgent |= o.urgent;
        self.learned |= o.learned;
    }
}

/// Per-connection parameters fixed at creation.
#[derive(Clone, Debug)]
pub(crate) struct TcbParams {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub iss: SeqNumber,
    /// Largest segment the link carries: MTU - 40.
    pub link_mss: usize,
    /// Random offset of our timestamp clock (RFC 7323 5.4).
    pub ts_offset: u32,
    pub opts: SocketOptions,
    /// User-set `TCP_MAXSEG`, if any.
    pub user_mss: Option<u16>,
    /// User-set `TCP_CONGESTION`, if any (else the stack's default).
    pub congestion: Option<CongestionAlgorithm>,
}

/// The transmission control block.
#[derive(Debug)]
pub(crate) struct Tcb {
    state: State,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    cfg: TcpConfig,
    opts: SocketOptions,

    // Send sequence space (RFC 9293 3.3.1).
    iss: SeqNumber,
    snd_una: SeqNumber,
    snd_nxt: SeqNumber,
    /// Highest sequence number sent (snd_nxt goes back on a retransmission timeout).
    snd_max: SeqNumber,
    snd_wnd: usize,
    max_snd_wnd: usize,
    snd_wl1: SeqNumber,
    snd_wl2: SeqNumber,
    /// Shift applied to windows the peer sends (its window scale).
    snd_shift: u8,
    send_buf: RingBuffer,
    /// The user asked for a FIN after the buffered data.
    fin_queued: bool,
    /// Its sequence number (fixed when queued: no data may follow it).
    fin_at: SeqNumber,
    /// Ends of records (`MSG_EOR`) not yet acknowledged, oldest first: no
    /// segment crosses one.
    records: std::collections::VecDeque<SeqNumber>,

    // Receive sequence space.
    irs: SeqNumber,
    rcv_nxt: SeqNumber,
    /// Right edge of the window we advertised.
    rcv_adv: SeqNumber,
    /// Shift applied to windows we send (our window scale).
    rcv_shift: u8,
    recv_buf: RingBuffer,
    /// Receive-buffer autotuning (dynamic right-sizing).
    autotune: Autotune,
    assembler: Assembler,
    /// Sequence number of a FIN that arrived ahead of missing data.
    ooo_fin: Option<SeqNumber>,
    /// Text that came on the SYN of a simultaneous open, delivered once
    /// ESTABLISHED is reached (RFC 9293 3.10.7.3).
    syn_data: Option<Vec<u8>>,
    /// TCP Fast Open (RFC 7413): data on our SYN, or taken from the peer's.
    fo: crate::tcp::fast_open::FastOpen,
    /// A duplicate segment's range, reported once as the first SACK block of
    /// the next ACK (D-SACK, RFC 2883).
    dsack: std::cell::Cell<Option<(SeqNumber, SeqNumber)>>,
    /// The peer's FIN was received in order.
    fin_received: bool,

    // Options.
    mss: usize,
    /// The MSS agreed in the handshake: what a raised path MTU gives back.
    agreed_mss: usize,
    adv_mss: u16,
    ts_enabled: bool,
    ts_recent: u32,
    /// When `ts_recent` was last taken (RFC 7323 5.5: it is forgotten after 24
    /// days without one).
    ts_recent_at: Instant,
    ts_offset: u32,
    /// The last timestamp value sent: the next is never older, even when callers'
    /// clocks disagree (the peer's PAWS test would drop it).
    ts_sent: u32,
    sack_enabled: bool,
    /// We offered window scaling in our SYN.
    offered_wscale: bool,
    /// Both SYNs carried window scale.
    wscale_agreed: bool,
    /// User-set `TCP_MAXSEG`: caps the MSS we advertise and the one we use.
    user_mss: Option<u16>,

    // Timers and retransmission.
    timers: Timers,
    rtt: RttEstimator,
    rtt_probe: Option<(SeqNumber, Instant)>,
    /// Consecutive retransmission timeouts without progress.
    retries: u32,
    cc: Box<dyn CongestionControl>,
    /// Loss detection and recovery: scoreboard, RACK-TLP, PRR, undo.
    recovery: Recovery,
    persist_backoff: u32,
    keepalive_sent: u32,
    /// Zero-window probes (bytes beyond the window) are outstanding.
    probing: bool,
    /// The override timeout of sender SWS avoidance fired: send what the window
    /// allows even if it is a small segment (RFC 9293 3.8.6.2.1).
    sws_override: bool,
    /// The last send had `MSG_MORE`: short segments wait as when corked.
    more: bool,
    /// Send what `TCP_CORK`/`MSG_MORE` hold, once (`TCP_NODELAY` turned on).
    push: bool,
    /// When SND.UNA last moved, or data went out with nothing in flight: the
    /// start of the wait that `TCP_USER_TIMEOUT` bounds.
    una_since: Instant,
    /// We opened actively (`connect`), so a RST in SYN-RECEIVED refuses the user's
    /// connection (RFC 9293 3.10.7.4, MUST-11).
    active_open: bool,
    /// The retransmission timer is armed for a tail loss probe (RFC 8985 7), not
    /// for a retransmission timeout.
    tlp_armed: bool,
    /// A tail loss probe went out and neither new data nor an ACK of new data
    /// has followed: the RTO, not another probe, is next (RFC 8985 7.3).
    probe_spent: bool,
    last_recv: Instant,

    // Acknowledgments we owe.
    ack_now: bool,
    /// The owed ACK must not wait for the end of the batch (out-of-order data, a
    /// hole filled, a FIN, a challenge): duplicate ACKs drive the peer's fast
    /// retransmit and must each be sent.
    ack_urgent: bool,
    /// Bytes received in order and not yet acknowledged.
    unacked_bytes: usize,
    /// Linux's quick-ACK mode: while some remain, data is acknowledged at
    /// once, not after the delayed-ACK time (the first data of a connection,
    /// and after an idle gap longer than the RTO).
    quick_acks: u8,
    /// We answered data with data within the delayed-ACK time: an
    /// interactive exchange, whose ACKs ride on the replies (Linux's
    /// pingpong mode; quick ACKs wait then).
    pingpong: bool,
    /// When in-order data last arrived (`None`: never; Linux's `lrcvtime`).
    last_data_at: Option<Instant>,
    /// SACK compression, as Linux's: RCV.NXT when the duplicate ACKs were
    /// counted, how many of them went at once, and how many out-of-order
    /// segments wait for the one at the end of the batch.
    dupacks_at: SeqNumber,
    dupacks_sent: u8,
    compressed: u8,
    /// When we last answered a bare unacceptable segment (Linux's
    /// `last_oow_ack_time`).
    last_invalid_ack: Option<Instant>,

    /// Error to report (`SO_ERROR`, or on the next call).
    error: Option<NetError>,
    /// Soft error (an ICMP error on a synchronized connection): not reported by
    /// calls, but the reason given if the connection later times out (Linux's
    /// `sk_err_soft`).
    soft_error: Option<NetError>,
    /// The connection was reset or timed out: reads give the error, then EOF.
    reset: bool,
    /// `shutdown(SHUT_RD)`.
    rd_shut: bool,
    /// The user closed its descriptor; the connection lives on alone.
    orphan: bool,
    /// Urgent data we send.
    urg_tx: UrgentTx,
    /// Urgent data we receive.
    urg_rx: UrgentRx,
}

/// How long an empty buffer keeps its storage (see [`TimerKind::Reclaim`]).
pub(crate) const RECLAIM_IDLE: Duration = Duration::from_secs(1);

/// Most scoreboard records for a send buffer of `capacity` bytes: enough for
/// every segment of 64 bytes or more, so memory follows the buffer size.
fn scoreboard_records(capacity: usize) -> usize {
    capacity / 64 + 64
}

/// Our timestamp clock (RFC 7323): milliseconds, offset per connection.
fn ts_clock(now: Instant, offset: u32) -> u32 {
    (now.total_millis() as u32).wrapping_add(offset)
}

/// Linux's choice of window scale: the smallest shift that lets a 16-bit window
/// cover the receive buffer (RFC 7323 2.3: at most 14).
pub(crate) fn window_shift(buffer: usize) -> u8 {
    let mut shift = 0u8;
    while shift < 14 && (65535usize << shift) < buffer {
        shift += 1;
    }
    shift
}

impl Tcb {
    /// A connection in `state` (SYN-SENT for an active open, SYN-RECEIVED for a
    /// passive one; the caller then feeds the SYN or sends ours).
    pub(crate) fn new(p: TcbParams, cfg: &TcpConfig, now: Instant) -> Tcb {
        let (recv_cap, rcv_limit) = receive_sizes(&p.opts, cfg);
        let send_cap = p.opts.send_buffer.clamp(1024, cfg.max_buffer);
        let adv_mss = advertised_mss(p.link_mss, p.user_mss);
        let rcv_shift = if cfg.window_scaling {
            window_shift(rcv_limit)
        } else {
            0
        };
        let mss = 536.min(adv_mss as usize);
        let iw = InitialWindow::Segments(cfg.initial_window.max(1));
        let algo = p.congestion.unwrap_or(cfg.congestion_control);
        Tcb {
            state: State::Closed,
            local: p.local,
            remote: p.remote,
            opts: p.opts,
            iss: p.iss,
            snd_una: p.iss,
            snd_nxt: p.iss,
            snd_max: p.iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: SeqNumber(0),
            snd_shift: 0,
            send_buf: RingBuffer::new(send_cap),
            fin_queued: false,
            fin_at: SeqNumber(0),
            records: std::collections::VecDeque::new(),
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            rcv_shift,
            recv_buf: RingBuffer::new(recv_cap),
            // Linux starts from the initial window's worth (10 segments).
            autotune: Autotune::new(rcv_limit, 10 * adv_mss as usize, now),
            assembler: Assembler::new(cfg.max_ooo_ranges),
            ooo_fin: None,
            dsack: std::cell::Cell::new(None),
            syn_data: None,
            fo: Default::default(),
            fin_received: false,
            mss,
            agreed_mss: mss,
            adv_mss,
            ts_enabled: false,
            ts_recent: 0,
            ts_recent_at: now,
            ts_offset: p.ts_offset,
            ts_sent: ts_clock(now, p.ts_offset),
            sack_enabled: false,
            offered_wscale: cfg.window_scaling,
            wscale_agreed: false,
            user_mss: p.user_mss,
            timers: Timers::new(),
            rtt: RttEstimator::new(cfg.initial_rto, cfg.min_rto, cfg.max_rto),
            rtt_probe: None,
            retries: 0,
            cc: algo.build(mss, iw),
            recovery: Recovery::new(scoreboard_records(send_cap), mss),
            persist_backoff: 0,
            keepalive_sent: 0,
            probing: false,
            sws_override: false,
            more: false,
            push: false,
            una_since: now,
            active_open: false,
            tlp_armed: false,
            probe_spent: false,
            last_recv: now,
            ack_now: false,
            ack_urgent: false,
            unacked_bytes: 0,
            quick_acks: 0,
            pingpong: false,
            last_data_at: None,
            dupacks_at: SeqNumber(0),
            dupacks_sent: 0,
            compressed: 0,
            last_invalid_ack: None,
            error: None,
            soft_error: None,
            reset: false,
            rd_shut: false,
            orphan: false,
            urg_tx: UrgentTx::default(),
            urg_rx: UrgentRx::default(),
            cfg: cfg.clone(),
        }
    }

    // ------------------------------------------------------------ accessors

    /// Sequence number of `send_buf[0]`: the SYN occupies `iss` until SND.UNA
    /// passes it (also while an ACK that completes the handshake is taken).
    fn buf_seq(&self) -> SeqNumber {
        if self.snd_una == self.iss {
            self.iss + 1u32
        } else {
            self.snd_una
        }
    }

    /// Sequence number of our FIN, if the user asked for one.
    fn fin_seq(&self) -> Option<SeqNumber> {
        self.fin_queued.then_some(self.fin_at)
    }

    fn fin_sent(&self) -> bool {
        self.fin_seq().is_some_and(|f| self.snd_max.gt(f))
    }

    fn fin_acked(&self) -> bool {
        self.fin_seq().is_some_and(|f| self.snd_una.gt(f))
    }

    /// The window we may still receive into: the advertised right edge.
    fn rcv_wnd(&self) -> usize {
        self.rcv_adv.saturating_distance(self.rcv_nxt)
    }

    /// Bytes in the receive buffer. The urgent mark is not applied here: callers
    /// that read or report (`recv`, `recv_queue_len`) stop at it.
    pub(crate) fn readable_len(&self) -> usize {
        self.recv_buf.len()
    }

    /// Bytes queued to send and not yet acknowledged.
    pub(crate) fn send_queue_len(&self) -> usize {
        self.send_buf.len()
    }

    /// Bytes queued but never sent (`TCP_NOTSENT_LOWAT` counts them).
    pub(crate) fn unsent_len(&self) -> usize {
        let sent = self.snd_max.saturating_distance(self.buf_seq());
        self.send_buf.len().saturating_sub(sent)
    }

    /// Free room in the send buffer.
    pub(crate) fn send_space(&self) -> usize {
        self.send_buf.window()
    }

    /// Capacity of the send buffer.
    pub(crate) fn send_capacity(&self) -> usize {
        self.send_buf.capacity()
    }

    /// The congestion control algorithm in use.
    pub(crate) fn congestion(&self) -> CongestionAlgorithm {
        self.cc.algorithm()
    }

    /// Switches congestion control (`TCP_CONGESTION`), keeping the window
    /// (Linux's `tcp_reinit_congestion_control`).
    pub(crate) fn set_congestion(&mut self, algo: CongestionAlgorithm) {
        if algo == self.cc.algorithm() {
            return;
        }
        let (cwnd, ssthresh) = (self.cc.cwnd(), self.cc.ssthresh());
        let mut cc = algo.build(
            self.mss,
            InitialWindow::Segments(self.cfg.initial_window.max(1)),
        );
        if self.state.synchronized() {
            cc.reset_window(cwnd, ssthresh);
        }
        self.cc = cc;
    }

    /// The next timer deadline.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    fn ts_now(&self, now: Instant) -> u32 {
        ts_clock(now, self.ts_offset)
    }

    /// The timestamp value for a segment sent at `now`: the clock, but never
    /// older than the last one sent (RFC 7323 5.3: values must be monotonic).
    fn ts_to_send(&mut self, now: Instant) -> u32 {
        let t = self.ts_now(now);
        if (t.wrapping_sub(self.ts_sent) as i32) > 0 {
            self.ts_sent = t;
        }
        self.ts_sent
    }
}

/// Adds the recovery events between two snapshots to the engine's counters.
fn count_recovery_events(before: &RecoveryStats, after: &RecoveryStats, out: &mut Out<'_>) {
    out.counters
        .add(Stat::TcpRecoveries, after.recoveries - before.recoveries);
    out.counters
        .add(Stat::TcpDsacksReceived, after.dsacks - before.dsacks);
    out.counters.add(Stat::TcpUndos, after.undos - before.undos);
}

/// The RST that answers `seg` when no connection (or an unacceptable one) exists
/// (RFC 9293 3.10.7.1): `<SEQ=SEG.ACK><CTL=RST>` if it had an ACK, else
/// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`. `None` for a RST.
pub(crate) fn rst_for(
    local: SocketAddrV4,
    remote: SocketAddrV4,
    seg: &TcpRepr,
    data_len: usize,
    out: &mut Out<'_>,
) -> Option<(IpSend, Vec<u8>)> {
    if seg.flags.rst {
        return None;
    }
    let repr = if seg.flags.ack {
        TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            seq: seg.ack,
            flags: Flags {
                rst: true,
                ..Flags::default()
            },
            ..TcpRepr::default()
        }
    } else {
        TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            seq: SeqNumber(0),
            ack: seg.seq + seg.seq_len(data_len),
            flags: Flags {
                rst: true,
                ack: true,
                ..Flags::default()
            },
            ..TcpRepr::default()
        }
    };
    out.counters.inc(Stat::TcpRstSent);
    // TTL 0: the stack's default.
    Some(out.bare_segment(local, remote, &repr, 0, 0))
}

/// The MSS a link of `mtu` carries (IPv4 and TCP headers without options).
/// The SYN-ACK that carries a SYN cookie `iss` in answer to `syn`, with
/// `options` and window field `window`; the listener keeps nothing of it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn cookie_syn_ack(
    local: SocketAddrV4,
    remote: SocketAddrV4,
    syn: &TcpRepr,
    iss: SeqNumber,
    options: TcpOptions,
    window: u16,
    opts: &SocketOptions,
    out: &mut Out<'_>,
) -> (IpSend, Vec<u8>) {
    let repr = TcpRepr {
        src_port: local.port(),
        dst_port: remote.port(),
        seq: iss,
        ack: syn.seq + 1u32,
        flags: Flags {
            syn: true,
            ack: true,
            ..Flags::default()
        },
        window,
        urgent: 0,
        options,
    };
    out.counters.inc(Stat::TcpSynCookiesSent);
    out.bare_segment(local, remote, &repr, opts.ttl, opts.tos)
}

/// The MSS to advertise: what the link carries (MTU minus the headers, RFC 9293
/// 3.7.1: 32 on a 72-byte MTU), lowered by `TCP_MAXSEG` (taken as at least 88,
/// Linux's floor for it, but never above the link's).
pub(crate) fn advertised_mss(link_mss: usize, user_mss: Option<u16>) -> u16 {
    let link = link_mss.max(1);
    match user_mss {
        Some(m) => (m as usize).max(88).min(link),
        None => link,
    }
    .min(65535) as u16
}

pub(crate) fn link_mss(mtu: usize) -> usize {
    mtu.saturating_sub(IPV4_HEADER_LEN + TCP_HEADER_LEN)
}
