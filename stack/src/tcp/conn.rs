//! One TCP connection: the transmission control block and its state machine.
//!
//! Read RFC 9293 section 3.10 ("Event Processing") before touching this: the input
//! path below follows its "SEGMENT ARRIVES" steps in order (sequence check, RST, SYN,
//! ACK, URG, text, FIN), with RFC 5961's stricter RST, SYN and ACK rules. Output
//! follows RFC 9293 3.8.6 (Nagle, silly window avoidance), RFC 6298 (RTO), RFC 7323
//! (window scale and timestamps) and RFC 2018 (SACK blocks we send). Loss detection,
//! what to retransmit and the congestion window live in [`crate::tcp::recovery`]; this
//! file tells it what was sent and what the ACKs said, and sends what it chooses.
//!
//! A [`Tcb`] knows nothing of the engine: segments it sends are written into an
//! [`Out`], and what the owner must do (wake the user, notify a listener, free the
//! socket) comes back as [`Notice`]s. That keeps it testable one connection at a time.

use std::net::SocketAddrV4;

use crate::config::TcpConfig;
use crate::counters::{Counters, DropReason, Stat};
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
use crate::wire::offload::TxMeta;
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
}

impl Out<'_> {
    fn frame(&mut self, capacity: usize) -> Vec<u8> {
        let mut f = self.spare.pop().unwrap_or_default();
        f.clear();
        f.reserve(HEADROOM + capacity);
        f.resize(HEADROOM, 0);
        f
    }
}

/// What the owner of a [`Tcb`] must do after a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Notice {
    /// Readiness may have changed: wake the user's waiters.
    pub wake: bool,
    /// The handshake completed (a listener's child moves to the accept queue).
    pub established: bool,
    /// The connection is gone (CLOSED): an orphan can be freed.
    pub closed: bool,
    /// New urgent data was announced (the SIGURG notification).
    pub urgent: bool,
}

impl Notice {
    fn merge(&mut self, o: Notice) {
        self.wake |= o.wake;
        self.established |= o.established;
        self.closed |= o.closed;
        self.urgent |= o.urgent;
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
    pub state: State,
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    cfg: TcpConfig,
    pub opts: SocketOptions,

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

    // Receive sequence space.
    irs: SeqNumber,
    rcv_nxt: SeqNumber,
    /// Right edge of the window we advertised.
    rcv_adv: SeqNumber,
    /// Shift applied to windows we send (our window scale).
    rcv_shift: u8,
    recv_buf: RingBuffer,
    assembler: Assembler,
    /// Sequence number of a FIN that arrived ahead of missing data.
    ooo_fin: Option<SeqNumber>,
    /// The peer's FIN was received in order.
    pub fin_received: bool,

    // Options.
    mss: usize,
    adv_mss: u16,
    ts_enabled: bool,
    ts_recent: u32,
    ts_offset: u32,
    sack_enabled: bool,
    /// We offered window scaling in our SYN.
    offered_wscale: bool,
    /// Both SYNs carried window scale.
    wscale_agreed: bool,
    /// The peer acknowledged our SYN's options (the SYN-SENT side knows them).
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
    /// We opened actively (`connect`), so a RST in SYN-RECEIVED refuses the user's
    /// connection (RFC 9293 3.10.7.4, MUST-11).
    active_open: bool,
    /// The retransmission timer is armed for a tail loss probe (RFC 8985 7), not
    /// for a retransmission timeout.
    tlp_armed: bool,
    last_recv: Instant,

    // Acknowledgments we owe.
    ack_now: bool,
    /// The owed ACK must not wait for the end of the batch (out-of-order data, a
    /// hole filled, a FIN, a challenge): duplicate ACKs drive the peer's fast
    /// retransmit and must each be sent.
    ack_urgent: bool,
    /// Bytes received in order and not yet acknowledged.
    unacked_bytes: usize,

    /// Error to report (`SO_ERROR`, or on the next call).
    pub error: Option<NetError>,
    /// Soft error (an ICMP error on a synchronized connection): not reported by
    /// calls, but the reason given if the connection later times out (Linux's
    /// `sk_err_soft`).
    soft_error: Option<NetError>,
    /// The connection was reset or timed out: reads give the error, then EOF.
    pub reset: bool,
    /// `shutdown(SHUT_RD)`.
    pub rd_shut: bool,
    /// The user closed its descriptor; the connection lives on alone.
    pub orphan: bool,
    /// Urgent data we send.
    pub urg_tx: UrgentTx,
    /// Urgent data we receive.
    pub urg_rx: UrgentRx,
}

/// Most scoreboard records for a send buffer of `capacity` bytes: enough for
/// every segment of 64 bytes or more, so memory follows the buffer size.
fn scoreboard_records(capacity: usize) -> usize {
    capacity / 64 + 64
}

/// Linux's choice of window scale: the smallest shift that lets a 16-bit window
/// cover the receive buffer (RFC 7323 2.3: at most 14).
fn window_shift(buffer: usize) -> u8 {
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
        let recv_cap = p.opts.recv_buffer.clamp(1024, cfg.max_buffer);
        let send_cap = p.opts.send_buffer.clamp(1024, cfg.max_buffer);
        let link_mss = p.link_mss.max(64);
        let adv_mss = match p.user_mss {
            Some(m) => (m as usize).clamp(88, link_mss),
            None => link_mss,
        }
        .min(65535) as u16;
        let rcv_shift = if cfg.window_scaling {
            window_shift(recv_cap)
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
            irs: SeqNumber(0),
            rcv_nxt: SeqNumber(0),
            rcv_adv: SeqNumber(0),
            rcv_shift,
            recv_buf: RingBuffer::new(recv_cap),
            assembler: Assembler::new(cfg.max_ooo_ranges),
            ooo_fin: None,
            fin_received: false,
            mss,
            adv_mss,
            ts_enabled: false,
            ts_recent: 0,
            ts_offset: p.ts_offset,
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
            active_open: false,
            tlp_armed: false,
            last_recv: now,
            ack_now: false,
            ack_urgent: false,
            unacked_bytes: 0,
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

    /// Sequence number of `send_buf[0]`: the SYN occupies `iss` while unacknowledged.
    fn buf_seq(&self) -> SeqNumber {
        if self.snd_una == self.iss && !self.syn_acked() {
            self.iss + 1u32
        } else {
            self.snd_una
        }
    }

    fn syn_acked(&self) -> bool {
        self.state.synchronized() || (self.state == State::SynReceived && self.snd_una.gt(self.iss))
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

    /// Bytes readable now (up to the urgent mark when one is pending).
    pub(crate) fn readable_len(&self) -> usize {
        self.recv_buf.len()
    }

    /// Bytes queued to send and not yet acknowledged.
    pub(crate) fn send_queue_len(&self) -> usize {
        self.send_buf.len()
    }

    /// Free room in the send buffer.
    pub(crate) fn send_space(&self) -> usize {
        self.send_buf.window()
    }

    /// Capacity of the send buffer.
    pub(crate) fn send_capacity(&self) -> usize {
        self.send_buf.capacity()
    }

    /// Snapshot for `stats` and `TCP_INFO`.
    pub(crate) fn info(&self) -> TcpInfo {
        let board = self.recovery.board();
        TcpInfo {
            state: self.state,
            ca_state: self.recovery.state(),
            rto: self.rtt.rto(),
            srtt: self.rtt.srtt(),
            rttvar: self.rtt.rttvar(),
            min_rtt: self.recovery.rack().min_rtt(),
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            congestion: self.cc.name(),
            mss: self.mss,
            adv_mss: self.adv_mss as usize,
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_wnd(),
            snd_wscale: self.wscale_agreed.then_some(self.snd_shift),
            rcv_wscale: self.wscale_agreed.then_some(self.rcv_shift),
            timestamps: self.ts_enabled,
            sack: self.sack_enabled,
            unacked: self.snd_max.saturating_distance(self.snd_una),
            in_flight: self.recovery.in_flight(),
            sacked: board.sacked_bytes(),
            lost: board.lost_bytes(),
            retrans: board.retrans_bytes(),
            reordering: self.recovery.reordering(),
            retransmits: self.retries,
            recovery: *self.recovery.stats(),
            send_queue: self.send_buf.len(),
            recv_queue: self.recv_buf.len(),
        }
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
        (now.total_millis() as u32).wrapping_add(self.ts_offset)
    }

    // ------------------------------------------------------------ segment output

    /// The window field and the right edge it advertises (RFC 9293 3.8.6.2.2:
    /// the receiver avoids silly windows by opening in steps of min(buffer/2, MSS)).
    fn advertise(&mut self) -> u16 {
        let free = self.recv_buf.window();
        let current = self.rcv_wnd();
        let step = (self.recv_buf.capacity() / 2)
            .min(self.adv_mss as usize)
            .max(1);
        let wnd = if free >= current + step || free == self.recv_buf.capacity() {
            free
        } else {
            // Never shrink the window we already offered (RFC 9293 3.8.6.2.2).
            current.min(free.max(current))
        };
        let max = if self.state == State::SynSent || self.state == State::SynReceived {
            65535 // RFC 7323 2.2: the window in a SYN is never scaled.
        } else {
            65535usize << self.rcv_shift
        };
        let wnd = wnd.min(max);
        let field = if self.state == State::SynSent || self.state == State::SynReceived {
            wnd
        } else {
            wnd >> self.rcv_shift
        };
        let edge = self.rcv_nxt
            + (field
                << if self.state.synchronized() {
                    self.rcv_shift
                } else {
                    0
                });
        if edge.gt(self.rcv_adv) {
            self.rcv_adv = edge;
        }
        field.min(65535) as u16
    }

    fn options_for(&self, now: Instant, syn: bool) -> TcpOptions {
        let mut o = TcpOptions::default();
        if syn {
            o.mss = Some(self.adv_mss);
            if self.offered_wscale && (self.state == State::SynSent || self.snd_shift_known()) {
                o.window_scale = Some(self.rcv_shift);
            }
            if self.cfg.sack && (self.state == State::SynSent || self.sack_enabled) {
                o.sack_permitted = true;
            }
            if self.cfg.timestamps && (self.state == State::SynSent || self.ts_enabled) {
                o.timestamps = Some(Timestamps {
                    value: self.ts_now(now),
                    echo_reply: if self.state == State::SynSent {
                        0
                    } else {
                        self.ts_recent
                    },
                });
            }
            return o;
        }
        if self.ts_enabled {
            o.timestamps = Some(Timestamps {
                value: self.ts_now(now),
                echo_reply: self.ts_recent,
            });
        }
        if self.sack_enabled && !self.assembler.is_empty() {
            let max = if self.ts_enabled { 3 } else { 4 };
            for (slot, (start, end)) in o
                .sack_blocks
                .iter_mut()
                .zip(self.assembler.sack_blocks().take(max))
            {
                *slot = Some(SackBlock {
                    left: self.rcv_nxt + start,
                    right: self.rcv_nxt + end,
                });
            }
        }
        o
    }

    /// Whether the peer's SYN carried window scale (known after its SYN arrived).
    fn snd_shift_known(&self) -> bool {
        self.wscale_agreed
    }

    /// Builds and queues one segment: `data_len` bytes from `send_buf` at `seq`.
    fn emit(
        &mut self,
        now: Instant,
        out: &mut Out<'_>,
        mut flags: Flags,
        seq: SeqNumber,
        data_len: usize,
    ) {
        flags.ack = flags.ack || self.state != State::SynSent;
        let window = self.advertise();
        let mut repr = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq,
            ack: self.rcv_nxt,
            flags,
            window,
            urgent: 0,
            options: self.options_for(now, flags.syn),
        };
        self.urg_tx
            .decorate(&mut repr, seq, self.snd_max.max(seq + data_len));
        let hlen = repr.header_len();
        let mut frame = out.frame(hlen + data_len);
        // The header is written below; the payload is copied straight from the
        // send buffer (no zero-filling of the frame first).
        frame.resize(HEADROOM + hlen, 0);
        if data_len > 0 {
            let offset = seq.saturating_distance(self.buf_seq());
            let (a, b) = self.send_buf.get_allocated(offset, data_len);
            frame.extend_from_slice(a);
            frame.extend_from_slice(b);
        }
        let (head, payload) = frame[HEADROOM..].split_at_mut(hlen);
        let mss = self.mss_for_data();
        let meta = TxMeta {
            checksum_partial: out.partial_checksum,
            gso_size: if data_len > mss {
                mss.min(u16::MAX as usize) as u16
            } else {
                0
            },
        };
        if meta.checksum_partial {
            repr.emit_partial(head, *self.local.ip(), *self.remote.ip(), payload.len());
        } else {
            repr.emit(head, *self.local.ip(), *self.remote.ip(), payload);
        }
        out.counters.inc(Stat::TcpSegmentsOut);
        if flags.rst {
            out.counters.inc(Stat::TcpRstSent);
        }
        let send = IpSend {
            src: *self.local.ip(),
            dst: *self.remote.ip(),
            protocol: PROTO_TCP,
            ttl: self.opts.ttl,
            tos: self.opts.tos,
            // Linux sets DF on TCP (path MTU discovery).
            dont_frag: true,
        };
        out.frames.push((send, frame, meta));
        // Any segment we send carries our latest ACK.
        if flags.ack {
            self.ack_now = false;
            self.ack_urgent = false;
            self.unacked_bytes = 0;
            self.timers.cancel(TimerKind::DelayedAck);
        }
    }

    /// A RST for this connection (abort): <SEQ=SND.NXT><CTL=RST,ACK>.
    fn emit_rst(&mut self, now: Instant, out: &mut Out<'_>) {
        let seq = self.snd_nxt;
        self.emit(
            now,
            out,
            Flags {
                rst: true,
                ack: true,
                ..Flags::default()
            },
            seq,
            0,
        );
    }

    /// A bare ACK (also the challenge ACK of RFC 5961).
    fn emit_ack(&mut self, now: Instant, out: &mut Out<'_>) {
        let seq = self.snd_nxt;
        self.emit(now, out, Flags::default(), seq, 0);
    }

    fn mss_for_data(&self) -> usize {
        self.mss.max(1)
    }

    // ------------------------------------------------------------ transmission

    /// Sends `len` bytes from `seq` (and a FIN if `flags.fin`), records the
    /// transmission with loss recovery and counts it by cause.
    fn send_data(
        &mut self,
        now: Instant,
        out: &mut Out<'_>,
        flags: Flags,
        seq: SeqNumber,
        len: usize,
        why: Transmit,
    ) {
        self.emit(now, out, flags, seq, len);
        let end = seq + len + flags.fin as usize;
        if self.state.synchronized() && end.gt(seq) {
            self.recovery.on_transmit(seq, end, now, why);
        }
        // Karn's rule: a segment sent again gives no RTT sample.
        if !seq.ge(self.snd_max) && self.rtt_probe.is_some_and(|(p, _)| !p.lt(seq)) {
            self.rtt_probe = None;
        }
        match why {
            Transmit::New => {}
            Transmit::Retransmit(cause) => {
                out.counters.inc(Stat::TcpRetransmits);
                out.counters.inc(match cause {
                    LossCause::FastRecovery => Stat::TcpRetransFastRecovery,
                    LossCause::Rack => Stat::TcpRetransRack,
                    LossCause::Timeout => Stat::TcpRetransTimeout,
                });
            }
            Transmit::Probe { retransmission } => {
                out.counters.inc(Stat::TcpLossProbes);
                if retransmission {
                    out.counters.inc(Stat::TcpRetransmits);
                }
            }
        }
    }

    /// Sends the sent-before range `[start, end)` again (a FIN at its end if
    /// ours is there).
    fn resend_range(
        &mut self,
        now: Instant,
        out: &mut Out<'_>,
        start: SeqNumber,
        end: SeqNumber,
        why: Transmit,
    ) {
        let fin = self.fin_seq().is_some_and(|f| end == f + 1u32);
        let buf_seq = self.buf_seq();
        let avail = self
            .send_buf
            .len()
            .saturating_sub(start.saturating_distance(buf_seq));
        let len = end
            .saturating_distance(start)
            .saturating_sub(fin as usize)
            .min(avail);
        if len == 0 && !fin {
            return;
        }
        // PSH where the data queued ends, as on the first transmission.
        let flags = Flags {
            fin,
            psh: len > 0 && len == avail,
            ..Flags::default()
        };
        self.send_data(now, out, flags, start, len, why);
        self.timers
            .set_if_disarmed(TimerKind::Retransmit, now + self.rtt.rto());
    }

    /// Retransmits what `pick` chooses from loss recovery while the data in
    /// flight is below the congestion window (RFC 6675 section 5 step (C),
    /// Linux's `tcp_xmit_retransmit_queue`), never beyond the peer's window but
    /// for the first unacknowledged byte. Returns true if anything went.
    fn retransmit(
        &mut self,
        now: Instant,
        out: &mut Out<'_>,
        pick: fn(&mut Recovery) -> Option<(SeqNumber, SeqNumber, LossCause)>,
    ) -> bool {
        let mut sent = false;
        // Bounded: each turn sends one segment of the (bounded) scoreboard.
        for _ in 0..4096 {
            if self.recovery.in_flight() >= self.cc.cwnd() {
                break;
            }
            let Some((start, end, cause)) = pick(&mut self.recovery) else {
                break;
            };
            let wnd_end = self.snd_una + self.snd_wnd;
            if !start.lt(wnd_end) && start != self.snd_una {
                break;
            }
            self.resend_range(now, out, start, end, Transmit::Retransmit(cause));
            sent = true;
        }
        sent
    }

    /// Sends whatever the state, the windows, Nagle and the user allow.
    pub(crate) fn output(&mut self, now: Instant, out: &mut Out<'_>) {
        match self.state {
            State::Closed | State::Listen => return,
            State::SynSent | State::SynReceived => {
                if self.snd_nxt == self.iss {
                    let syn = Flags {
                        syn: true,
                        ack: self.state == State::SynReceived,
                        ..Flags::default()
                    };
                    let iss = self.iss;
                    self.emit(now, out, syn, iss, 0);
                    self.snd_nxt = self.iss + 1u32;
                    self.snd_max = self.snd_max.max(self.snd_nxt);
                    self.timers
                        .set_if_disarmed(TimerKind::Retransmit, now + self.rtt.rto());
                } else if self.ack_now && self.state == State::SynReceived {
                    self.emit_ack(now, out);
                }
                return;
            }
            State::TimeWait => {
                if self.ack_now {
                    self.emit_ack(now, out);
                }
                return;
            }
            _ => {}
        }
        // Restart after idle (RFC 5681 4.1).
        if self.snd_una == self.snd_max && !self.send_buf.is_empty() {
            self.cc.on_idle_restart(now, self.rtt.rto());
        }
        // RFC 6675 NextSeg rule (1): what is marked lost goes first.
        let mut sent_any = self.retransmit(now, out, Recovery::next_retransmission);
        let mut sent_new = false;
        loop {
            let buf_seq = self.buf_seq();
            let offset = self.snd_nxt.saturating_distance(buf_seq);
            let avail = self.send_buf.len().saturating_sub(offset);
            let in_flight = self.snd_nxt.saturating_distance(self.snd_una);
            let mss = self.mss_for_data();
            let wnd_room = self.snd_wnd.saturating_sub(in_flight);
            // The congestion window against RFC 6675's pipe: SACKed and lost
            // bytes have left the network (this is also what lets limited
            // transmit, RFC 3042, send on the first duplicate ACKs).
            let mut cwnd_room = self.cc.cwnd().saturating_sub(self.recovery.in_flight());
            if in_flight == 0 {
                cwnd_room = cwnd_room.max(mss); // never stall with nothing in flight
            }
            let max_seg = if out.tso_max > mss { out.tso_max } else { mss };
            let mut len = avail.min(max_seg).min(wnd_room).min(cwnd_room);
            if len > mss && len < avail {
                // A TSO segment ends on a segment boundary unless it carries the
                // last bytes: the device's pieces are then all full-sized.
                len -= len % mss;
            }
            let fin_here = self
                .fin_seq()
                .is_some_and(|f| self.snd_nxt + len == f && !self.snd_nxt.gt(f) && len == avail);
            if len == 0 && !fin_here {
                break;
            }
            let retransmission = self.snd_nxt.lt(self.snd_max);
            if len < mss
                && !fin_here
                && !retransmission
                && !self.urg_tx.forces_send(self.snd_nxt, len)
            {
                // Nagle (RFC 9293 3.7.4): hold a small segment while data is unacked.
                let nothing_in_flight = self.snd_nxt == self.snd_una;
                if !(self.opts.nodelay || nothing_in_flight) {
                    break;
                }
                // Sender SWS avoidance (RFC 9293 3.8.6.2.1): a window-limited small
                // segment waits unless it is at least half the largest window seen;
                // a congestion-window-limited one waits for whole segments.
                if len < avail
                    && (len == cwnd_room || len < self.max_snd_wnd / 2)
                    && !self.sws_override
                {
                    // Rule (4): "a timeout should be used to force transmission of
                    // data, overriding the SWS avoidance algorithm" (0.1-1 s): the
                    // persist timer serves, when nothing else will wake us.
                    if len == wnd_room
                        && nothing_in_flight
                        && !self.timers.is_armed(TimerKind::Persist)
                    {
                        self.timers.set(
                            TimerKind::Persist,
                            now + self
                                .rtt
                                .rto()
                                .clamp(Duration::from_millis(100), Duration::from_secs(1)),
                        );
                    }
                    break;
                }
            }
            self.sws_override = false;
            let flags = Flags {
                psh: len > 0 && len == avail,
                fin: fin_here,
                ..Flags::default()
            };
            let seq = self.snd_nxt;
            let is_new = !seq.lt(self.snd_max);
            // Bytes below SND.MAX again: only after zero-window probing (the
            // persist timer's doing).
            let why = if is_new {
                Transmit::New
            } else {
                Transmit::Retransmit(LossCause::Timeout)
            };
            self.send_data(now, out, flags, seq, len, why);
            self.snd_nxt += len + fin_here as usize;
            if self.snd_nxt.gt(self.snd_max) {
                self.snd_max = self.snd_nxt;
            }
            if is_new && self.rtt_probe.is_none() && !self.ts_enabled {
                self.rtt_probe = Some((seq, now));
            }
            self.cc.on_data_sent(now);
            if !self.tlp_armed {
                self.arm_retransmit(now, false);
            }
            sent_new |= is_new;
            self.timers.cancel(TimerKind::Persist);
            sent_any = true;
            if fin_here {
                break;
            }
        }
        // RFC 6675 NextSeg rule (2), new data, goes before rules (3) and (4).
        let unsent = (self.buf_seq() + self.send_buf.len()).gt(self.snd_nxt);
        let wnd_open = self.snd_wnd > self.snd_nxt.saturating_distance(self.snd_una);
        if self.recovery.state() == CaState::Recovery && !(unsent && wnd_open) {
            self.retransmit(now, out, Recovery::next_opportunistic);
        }
        // Zero window with data waiting and nothing in flight: probe (RFC 9293 3.8.6.1).
        let buf_end = self.buf_seq() + self.send_buf.len();
        if self.snd_wnd == 0
            && self.snd_nxt == self.snd_una
            && (buf_end.gt(self.snd_nxt) || self.fin_queued && !self.fin_sent())
            && !self.timers.is_armed(TimerKind::Persist)
        {
            self.timers.cancel(TimerKind::Retransmit);
            let backoff = self.rtt.rto() * (1u32 << self.persist_backoff.min(10));
            self.timers.set(
                TimerKind::Persist,
                now + backoff.min(self.cfg.max_rto).max(self.cfg.min_rto),
            );
        }
        if self.ack_now && !sent_any && (!out.defer_ack || self.ack_urgent) {
            self.emit_ack(now, out);
        }
        self.rearm_probe(now, sent_new);
    }

    /// The probe timeout, when RFC 8985 section 7.2 (and Linux) allow a tail
    /// loss probe now: only on an open connection before any timeout.
    fn probe_timeout(&self) -> Option<Duration> {
        if !matches!(self.state, State::Established | State::CloseWait) || self.retries > 0 {
            return None;
        }
        self.recovery.probe_timeout(self.rtt.srtt(), self.rtt.rto())
    }

    /// After sending, the probe timer: RFC 8985 7.2 "The sender SHOULD start or
    /// restart a loss probe PTO timer after transmitting new data" (the flight
    /// is larger now); and once fast recovery has retransmitted everything it
    /// marked lost, a probe may be due before the retransmission timeout armed
    /// during recovery (a lost ACK for the last data in flight then costs a
    /// probe timeout, not an RTO).
    fn rearm_probe(&mut self, now: Instant, sent_new: bool) {
        if self.tlp_armed {
            if sent_new {
                self.arm_retransmit(now, true);
            }
            return;
        }
        if !self.snd_max.gt(self.snd_una) {
            return;
        }
        let Some(pto) = self.probe_timeout() else {
            return;
        };
        let at = now + pto;
        if self
            .timers
            .get(TimerKind::Retransmit)
            .is_none_or(|d| at < d)
        {
            self.timers.set(TimerKind::Retransmit, at);
            self.tlp_armed = true;
        }
    }

    /// Arms the retransmission timer after sending data: for a tail loss probe at
    /// the probe timeout when RFC 8985 section 7.2 allows one, else for the RTO.
    fn arm_retransmit(&mut self, now: Instant, restart: bool) {
        if !restart && self.timers.is_armed(TimerKind::Retransmit) {
            return;
        }
        let pto = self.probe_timeout();
        self.tlp_armed = pto.is_some();
        self.timers
            .set(TimerKind::Retransmit, now + pto.unwrap_or(self.rtt.rto()));
    }

    /// The tail loss probe (RFC 8985 section 7.3): "If a previously unsent
    /// segment exists AND the receive window allows new data to be sent",
    /// that segment; else the last segment sent again. The peer's ACK (with
    /// SACK) then reveals a lost tail without waiting for the timeout.
    fn send_tail_loss_probe(&mut self, now: Instant, out: &mut Out<'_>) {
        self.tlp_armed = false;
        let mss = self.mss_for_data();
        let buf_seq = self.buf_seq();
        let sent = self
            .snd_max
            .saturating_distance(buf_seq)
            .min(self.send_buf.len());
        let unsent = self.send_buf.len() - sent;
        let in_flight = self.snd_max.saturating_distance(self.snd_una);
        let wnd_room = self.snd_wnd.saturating_sub(in_flight);
        if unsent > 0 && wnd_room > 0 && self.snd_nxt == self.snd_max {
            let len = unsent.min(mss).min(wnd_room);
            let seq = self.snd_max;
            let fin = self
                .fin_seq()
                .is_some_and(|f| seq + len == f && len == unsent);
            let flags = Flags {
                psh: true,
                fin,
                ..Flags::default()
            };
            self.send_data(
                now,
                out,
                flags,
                seq,
                len,
                Transmit::Probe {
                    retransmission: false,
                },
            );
            self.snd_nxt = seq + len + fin as usize;
            self.snd_max = self.snd_nxt;
            self.cc.on_data_sent(now);
        } else if self.snd_max.gt(self.snd_una) {
            let end = self.snd_max;
            let start = if in_flight > mss {
                end - mss
            } else {
                self.snd_una
            };
            self.resend_range(
                now,
                out,
                start,
                end,
                Transmit::Probe {
                    retransmission: true,
                },
            );
        }
        self.timers.set(TimerKind::Retransmit, now + self.rtt.rto());
    }

    /// A pure ACK is owed and was deferred to the end of the receive batch.
    pub(crate) fn ack_pending(&self) -> bool {
        self.ack_now
    }

    /// Sends the deferred ACK, if still owed.
    pub(crate) fn flush_ack(&mut self, now: Instant, out: &mut Out<'_>) {
        if self.ack_now && self.state != State::Closed {
            self.emit_ack(now, out);
        }
    }

    // ------------------------------------------------------------ user calls

    /// Starts an active open: the SYN goes out on the next `output`.
    pub(crate) fn connect(&mut self, now: Instant, out: &mut Out<'_>) {
        self.state = State::SynSent;
        self.active_open = true;
        self.snd_nxt = self.iss;
        self.output(now, out);
    }

    /// Queues data; returns how much fit.
    pub(crate) fn send(&mut self, now: Instant, data: &[u8], out: &mut Out<'_>) -> usize {
        let n = self.send_buf.enqueue_slice(data);
        if n > 0 && self.state.synchronized() {
            self.output(now, out);
        }
        n
    }

    /// Copies received data into `buf` (up to the urgent mark), consuming it unless
    /// `peek`. Sends a window update when reading opened the window enough.
    pub(crate) fn recv(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        peek: bool,
        out: &mut Out<'_>,
    ) -> usize {
        // At the mark with the urgent byte held out of band: the stream skips it.
        let skip = self.urg_rx.skip_at_head() as usize;
        if skip == 1 && !peek && !buf.is_empty() && !self.recv_buf.is_empty() {
            self.recv_buf.dequeue_allocated(1);
            self.urg_rx.skipped();
        }
        let skip = if peek { skip } else { 0 };
        let available = self.recv_buf.len().saturating_sub(skip);
        let limit = if skip == 1 {
            available
        } else {
            self.urg_rx.read_limit(available)
        };
        let want = buf.len().min(limit);
        let n = self.recv_buf.read_allocated(skip, &mut buf[..want]);
        if !peek && n > 0 {
            self.recv_buf.dequeue_allocated(n);
            self.urg_rx.consumed(n);
        }
        if !peek {
            // Window update (RFC 9293 3.8.6.2.2): when the window we could offer
            // grew by two segments or half the buffer, tell the peer.
            // What we could advertise: the free space, as far as the window field
            // (with our scale) can express it.
            let could = self.recv_buf.window().min(65535usize << self.rcv_shift);
            let offered = self.rcv_wnd();
            let step = (2 * self.adv_mss as usize).min(self.recv_buf.capacity() / 2);
            if self.state.synchronized() && could >= offered + step {
                self.ack_now = true;
                self.ack_urgent = true;
                self.output(now, out);
            }
        }
        n
    }

    /// Sequence number of the next byte a read returns.
    pub(crate) fn next_read_seq(&self) -> SeqNumber {
        self.rcv_nxt - (self.recv_buf.len() as u32)
    }

    /// `sockatmark`.
    pub(crate) fn at_mark(&self) -> bool {
        self.urg_rx.at_mark(self.next_read_seq())
    }

    /// Readable bytes before the mark (what a read would return, for `FIONREAD`
    /// Linux reports all queued bytes; this is for readiness).
    pub(crate) fn has_readable(&self) -> bool {
        let skip = self.urg_rx.skip_at_head() as usize;
        self.recv_buf.len() > skip
    }

    /// Queues `MSG_OOB` data: the last byte becomes urgent.
    pub(crate) fn send_oob(&mut self, now: Instant, data: &[u8], out: &mut Out<'_>) -> usize {
        let n = self.send_buf.enqueue_slice(data);
        if n > 0 {
            let end = self.buf_seq() + self.send_buf.len();
            self.urg_tx.mark(end);
            if self.state.synchronized() {
                self.output(now, out);
                // With a zero window the pointer still goes out ahead of the data
                // (BSD sends the urgent notification even when data cannot go).
                if self.snd_wnd == 0 {
                    self.ack_now = true;
                    self.ack_urgent = true;
                    self.output(now, out);
                }
            }
        }
        n
    }

    /// Asks for a FIN after the queued data (close or `shutdown(SHUT_WR)`).
    pub(crate) fn shutdown_write(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        let mut n = Notice::default();
        match self.state {
            State::SynSent | State::Closed | State::Listen => {
                self.state = State::Closed;
                n.closed = true;
                n.wake = true;
                self.timers.cancel_all();
                return n;
            }
            State::SynReceived | State::Established => self.state = State::FinWait1,
            State::CloseWait => self.state = State::LastAck,
            _ => return n,
        }
        if !self.fin_queued {
            self.fin_queued = true;
            self.fin_at = self.buf_seq() + self.send_buf.len();
            self.output(now, out);
        }
        n.wake = true;
        n
    }

    /// Aborts: sends RST if synchronized and goes to CLOSED (RFC 9293 3.10.5 ABORT).
    pub(crate) fn abort(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            self.emit_rst(now, out);
        }
        self.enter_closed();
        Notice {
            wake: true,
            closed: true,
            ..Notice::default()
        }
    }

    fn enter_closed(&mut self) {
        self.state = State::Closed;
        self.timers.cancel_all();
    }

    fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        self.timers.cancel_all();
        self.timers.set(TimerKind::TimeWait, now + self.cfg.msl * 2);
    }

    /// Fails the connection with `err` (timeout, reset, ICMP hard error).
    fn fail(&mut self, err: NetError) -> Notice {
        self.error = Some(err);
        self.reset = true;
        self.enter_closed();
        Notice {
            wake: true,
            closed: true,
            ..Notice::default()
        }
    }

    /// A hard ICMP error (RFC 1122 4.2.3.9): fatal during the handshake, otherwise
    /// recorded as a soft error.
    /// ICMP "fragmentation needed" (RFC 1191): the path carries `mtu` bytes at most.
    /// Our segments have DF set, so shrink the MSS and send the lost data again.
    pub(crate) fn path_mtu(&mut self, now: Instant, mtu: u16, out: &mut Out<'_>) {
        // RFC 1191 section 5: a router that sends no MTU (old RFC 792 format) gets
        // the next plateau below the current size; 576 is a safe floor.
        let mtu = if mtu >= 68 { mtu as usize } else { 576 };
        let ts = if self.ts_enabled { 12 } else { 0 };
        let new_mss = mtu
            .saturating_sub(IPV4_HEADER_LEN + TCP_HEADER_LEN + ts)
            .max(64);
        if new_mss >= self.mss {
            return;
        }
        self.mss = new_mss;
        self.cc.set_mss(new_mss);
        // Resend what is outstanding, now in smaller segments (not a congestion
        // event: Linux's tcp_simple_retransmit).
        let max = self.snd_max;
        self.recovery.on_path_mtu(new_mss, max);
        self.rtt_probe = None;
        self.output(now, out);
    }

    pub(crate) fn icmp_error(&mut self, err: NetError, hard: bool) -> Notice {
        // Linux (tcp_v4_err): during the handshake an unreachable kills the attempt;
        // on a synchronized connection it is only remembered as a soft error.
        if matches!(self.state, State::SynSent | State::SynReceived) && hard {
            return self.fail(err);
        }
        self.soft_error = Some(err);
        Notice::default()
    }

    // ------------------------------------------------------------ timers

    /// Runs the timers due at `now`.
    pub(crate) fn on_timer(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        let mut notice = Notice::default();
        while let Some(kind) = self.timers.pop_expired(now) {
            match kind {
                TimerKind::Retransmit => notice.merge(self.on_retransmit_timeout(now, out)),
                TimerKind::DelayedAck => {
                    if self.state.synchronized() || self.state == State::SynReceived {
                        self.ack_now = true;
                        self.ack_urgent = true;
                        self.output(now, out);
                    }
                }
                TimerKind::Persist if self.snd_wnd > 0 => {
                    // The SWS override timeout: send the small window-limited segment.
                    self.sws_override = true;
                    self.output(now, out);
                    self.sws_override = false;
                }
                TimerKind::Persist => {
                    // RFC 9293 3.8.6.1: probe the zero window with one byte.
                    self.persist_backoff = self.persist_backoff.saturating_add(1);
                    // Every probe carries the first unacknowledged byte: a byte the
                    // peer dropped for lack of room is offered again, never a new one
                    // further beyond the window.
                    if self.probing {
                        self.snd_nxt = self.snd_una;
                    }
                    let buf_seq = self.buf_seq();
                    let offset = self.snd_nxt.saturating_distance(buf_seq);
                    if self.snd_wnd == 0 && self.send_buf.len() > offset {
                        let seq = self.snd_nxt;
                        self.probing = true;
                        self.emit(now, out, Flags::default(), seq, 1);
                        self.snd_nxt += 1u32;
                        if self.snd_nxt.gt(self.snd_max) {
                            self.snd_max = self.snd_nxt;
                        }
                    }
                    let backoff = self.rtt.rto() * (1u32 << self.persist_backoff.min(10));
                    let at = now + backoff.min(self.cfg.max_rto).max(self.cfg.min_rto);
                    if self.snd_wnd == 0 {
                        self.timers.set(TimerKind::Persist, at);
                    }
                }
                TimerKind::KeepAlive => notice.merge(self.on_keepalive(now, out)),
                TimerKind::RackReorder => self.on_reorder_timeout(now, out),
                TimerKind::TimeWait | TimerKind::FinWait2 => {
                    self.enter_closed();
                    notice.closed = true;
                    notice.wake = true;
                }
            }
        }
        self.arm_keepalive(now);
        notice
    }

    fn on_retransmit_timeout(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        if self.snd_una == self.snd_max && self.state.synchronized() {
            self.tlp_armed = false;
            return Notice::default();
        }
        if self.tlp_armed {
            self.send_tail_loss_probe(now, out);
            return Notice::default();
        }
        self.retries += 1;
        let limit = match self.state {
            State::SynSent => self.cfg.syn_retries,
            State::SynReceived => self.cfg.synack_retries,
            _ => self.cfg.retries,
        };
        if self.retries > limit {
            // RFC 9293 3.8.3 / RFC 1122 4.2.3.5: R2 exceeded: the connection is dead.
            // The reason is the last soft error if any (Linux `tcp_write_err`).
            let err = self.soft_error.unwrap_or(NetError::TimedOut);
            return self.fail(err);
        }
        self.rtt.backoff();
        self.rtt_probe = None; // Karn's rule.
        self.timers.set(TimerKind::Retransmit, now + self.rtt.rto());
        if self.state.synchronized() {
            // Everything unSACKed is presumed lost and goes again, oldest first,
            // from a one-segment window (RFC 6298 5.4, RFC 6675 5.1); the
            // retransmissions are chosen by `output` from the loss marks.
            out.counters.inc(Stat::TcpTimeouts);
            let (una, max) = (self.snd_una, self.snd_max);
            self.recovery
                .on_rto(now, una, max, self.retries > 1, self.cc.as_mut());
            self.timers.cancel(TimerKind::RackReorder);
        } else {
            // The SYN (or SYN-ACK) again.
            self.snd_nxt = self.iss;
            out.counters.inc(Stat::TcpRetransmits);
            out.counters.inc(Stat::TcpRetransTimeout);
        }
        self.output(now, out);
        Notice::default()
    }

    fn arm_keepalive(&mut self, now: Instant) {
        if self.opts.keepalive && self.state.synchronized() && self.state != State::TimeWait {
            if !self.timers.is_armed(TimerKind::KeepAlive) {
                let at = self.last_recv + self.cfg.keepalive_time;
                self.timers.set(TimerKind::KeepAlive, at.max(now));
            }
        } else {
            self.timers.cancel(TimerKind::KeepAlive);
        }
    }

    fn on_keepalive(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        let idle = now.saturating_duration_since(self.last_recv);
        if idle < self.cfg.keepalive_time {
            self.keepalive_sent = 0;
            self.timers.set(
                TimerKind::KeepAlive,
                self.last_recv + self.cfg.keepalive_time,
            );
            return Notice::default();
        }
        if self.keepalive_sent >= self.cfg.keepalive_probes {
            return self.fail(NetError::TimedOut);
        }
        // RFC 1122 4.2.3.6: a probe is a segment with SEG.SEQ = SND.NXT-1 and no data.
        self.keepalive_sent += 1;
        let seq = self.snd_una - 1u32;
        self.emit(now, out, Flags::default(), seq, 0);
        self.timers
            .set(TimerKind::KeepAlive, now + self.cfg.keepalive_interval);
        Notice::default()
    }

    /// Keep-alive turned on or off by the user.
    pub(crate) fn options_changed(&mut self, now: Instant) {
        self.timers.cancel(TimerKind::KeepAlive);
        self.arm_keepalive(now);
    }

    // ------------------------------------------------------------ segment input

    /// Processes a segment for a connection past LISTEN (RFC 9293 3.10.7.3 and 3.10.7.4).
    pub(crate) fn on_segment(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        out.counters.inc(Stat::TcpSegmentsIn);
        let notice = match self.state {
            State::Closed | State::Listen => Notice::default(),
            State::SynSent => self.on_segment_syn_sent(now, seg, out),
            _ => self.on_segment_synchronized(now, seg, data, out),
        };
        if self.state != State::Closed {
            self.output(now, out);
            // Any segment restarts the keep-alive idle time (RFC 1122 4.2.3.6).
            if self.opts.keepalive && self.state.synchronized() && self.state != State::TimeWait {
                self.timers.set(
                    TimerKind::KeepAlive,
                    self.last_recv + self.cfg.keepalive_time,
                );
            }
        }
        notice
    }

    /// Starts congestion control once the MSS is known (RFC 5681 3.1: after a lost
    /// SYN or SYN-ACK the initial window is one segment).
    fn init_congestion(&mut self) {
        let segments = if self.retries > 0 {
            1
        } else {
            self.cfg.initial_window.max(1)
        };
        self.cc = self
            .cc
            .algorithm()
            .build(self.mss, InitialWindow::Segments(segments));
        self.recovery = Recovery::new(scoreboard_records(self.send_buf.capacity()), self.mss);
        self.recovery.configure(self.sack_enabled, self.mss);
    }

    /// Accepts the options of the peer's SYN.
    fn take_syn_options(&mut self, seg: &TcpRepr) {
        // Our window's right edge starts at what the SYN-ACK/ACK will offer.
        self.rcv_adv = self.rcv_nxt + self.recv_buf.window().min(65535);
        let o = &seg.options;
        // RFC 9293 3.7.1: without the option, the send MSS is 536.
        let peer_mss = o.mss.map(|m| m as usize).filter(|&m| m > 0).unwrap_or(536);
        self.wscale_agreed = self.offered_wscale && o.window_scale.is_some();
        if self.wscale_agreed {
            self.snd_shift = o.window_scale.unwrap_or(0).min(14);
        } else {
            self.snd_shift = 0;
            self.rcv_shift = 0;
        }
        self.ts_enabled = self.cfg.timestamps && o.timestamps.is_some();
        if let Some(ts) = o.timestamps {
            self.ts_recent = ts.value;
        }
        self.sack_enabled = self.cfg.sack && o.sack_permitted;
        let mut mss = peer_mss.min(self.adv_mss as usize);
        if let Some(user) = self.user_mss {
            mss = mss.min(user as usize);
        }
        if self.ts_enabled {
            mss = mss.saturating_sub(12); // TCPOLEN_TSTAMP_ALIGNED, as Linux's mss_cache
        }
        self.mss = mss.max(64);
        self.cc.set_mss(self.mss);
    }

    /// A passive open: the listener hands us the peer's SYN.
    pub(crate) fn on_syn(&mut self, now: Instant, seg: &TcpRepr, out: &mut Out<'_>) {
        self.state = State::SynReceived;
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1u32;
        self.take_syn_options(seg);
        // The SYN's window is never scaled (RFC 7323 2.2).
        self.snd_wnd = seg.window as usize;
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = self.iss;
        self.last_recv = now;
        out.counters.inc(Stat::TcpSegmentsIn);
        self.output(now, out);
    }

    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpRepr, out: &mut Out<'_>) -> Notice {
        // First: check the ACK bit.
        let ack_ok = seg.flags.ack && seg.ack.gt(self.iss) && seg.ack.le(self.snd_max);
        if seg.flags.ack && !ack_ok {
            // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit
            // is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
            if !seg.flags.rst {
                self.reply_rst_to(seg, 0, out);
            }
            out.counters.drop(DropReason::TcpBadSegment);
            return Notice::default();
        }
        // Second: the RST bit.
        if seg.flags.rst {
            if ack_ok {
                // "the user should be signaled 'error: connection reset'" — for a
                // connect, that is ECONNREFUSED.
                return self.fail(NetError::ConnectionRefused);
            }
            out.counters.drop(DropReason::TcpBadSegment);
            return Notice::default();
        }
        if !seg.flags.syn {
            out.counters.drop(DropReason::TcpBadSegment);
            return Notice::default();
        }
        // Fourth: the SYN bit.
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1u32;
        self.take_syn_options(seg);
        self.last_recv = now;
        if ack_ok {
            self.snd_una = seg.ack;
            self.state = State::Established;
            self.snd_wnd = (seg.window as usize) << self.snd_shift;
            self.max_snd_wnd = self.snd_wnd;
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = seg.ack;
            self.on_new_ack_rtt(now, seg);
            self.init_congestion();
            self.retries = 0;
            self.timers.cancel(TimerKind::Retransmit);
            self.ack_now = true;
            self.ack_urgent = true;
            out.counters.inc(Stat::TcpEstablished);
            return Notice {
                wake: true,
                established: true,
                ..Notice::default()
            };
        }
        // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment".
        self.state = State::SynReceived;
        self.snd_wnd = seg.window as usize;
        self.snd_wl1 = seg.seq;
        self.snd_nxt = self.iss;
        self.timers.cancel(TimerKind::Retransmit);
        Notice::default()
    }

    /// Sends <SEQ=SEG.ACK><CTL=RST> (or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>)
    /// in reply to an unacceptable segment.
    fn reply_rst_to(&mut self, seg: &TcpRepr, data_len: usize, out: &mut Out<'_>) {
        if let Some((send, frame)) = rst_for(self.local, self.remote, seg, data_len, out) {
            out.frames.push((send, frame, TxMeta::default()));
        }
    }

    fn on_segment_synchronized(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        let mut notice = Notice::default();
        let seg_len = seg.seq_len(data.len());

        // Simultaneous open (RFC 9293 figure 8, step 6): the peer's SYN-ACK repeats
        // the SYN we already took and acknowledges ours. Linux's
        // tcp_validate_incoming lets exactly this segment through.
        if self.state == State::SynReceived
            && seg.flags.syn
            && seg.flags.ack
            && !seg.flags.rst
            && seg.seq + 1u32 == self.rcv_nxt
            && seg.ack == self.snd_nxt
        {
            let mut pure = seg.clone();
            pure.flags.syn = false;
            pure.seq = self.rcv_nxt;
            return self.on_segment_synchronized(now, &pure, &[], out);
        }

        // First: check the sequence number (RFC 9293 3.10.7.4, the four cases).
        let wnd = self.rcv_wnd().max(if self.state == State::SynReceived {
            1
        } else {
            0
        });
        let acceptable = if seg_len == 0 {
            if wnd == 0 {
                seg.seq == self.rcv_nxt
            } else {
                seg.seq.in_window(self.rcv_nxt, wnd)
            }
        } else if wnd == 0 {
            false
        } else {
            seg.seq.in_window(self.rcv_nxt, wnd)
                || (seg.seq + (seg_len - 1)).in_window(self.rcv_nxt, wnd)
        };
        // A retransmitted FIN in TIME-WAIT: acknowledge it and restart the 2 MSL
        // timeout (RFC 9293 3.10.7.4, TIME-WAIT under "eighth").
        if self.state == State::TimeWait
            && seg.flags.fin
            && !seg.flags.rst
            && seg.seq + seg_len == self.rcv_nxt
        {
            self.ack_now = true;
            self.ack_urgent = true;
            self.timers.set(TimerKind::TimeWait, now + self.cfg.msl * 2);
            return notice;
        }
        // "If the RCV.WND is zero, no segments will be acceptable, but special
        // allowance should be made to accept valid ACKs, URGs, and RSTs": a segment
        // at RCV.NXT is processed without its text (and FIN), then acknowledged.
        if !acceptable && wnd == 0 && seg.seq == self.rcv_nxt && (seg_len > 0) && !seg.flags.syn {
            let mut bare = seg.clone();
            bare.flags.fin = false;
            bare.flags.psh = false;
            out.counters.drop(DropReason::TcpOutOfWindow);
            let n = self.on_segment_synchronized(now, &bare, &[], out);
            self.ack_now = true;
            self.ack_urgent = true;
            return n;
        }
        if !acceptable {
            // "If an incoming segment is not acceptable, an acknowledgment should be
            // sent in reply (unless the RST bit is set, if so drop the segment)".
            out.counters.drop(DropReason::TcpOutOfWindow);
            if !seg.flags.rst {
                // A retransmitted SYN of the handshake we are in: repeat the SYN-ACK
                // (echoing the new timestamp, as Linux does).
                if self.state == State::SynReceived && seg.flags.syn && seg.seq == self.irs {
                    self.snd_nxt = self.iss;
                    if let Some(ts) = seg.options.timestamps {
                        self.ts_recent = ts.value;
                    }
                }
                self.ack_now = true;
                self.ack_urgent = true;
            }
            return notice;
        }
        // PAWS-lite (RFC 7323 5): remember the newest timestamp of in-window segments.
        if self.ts_enabled {
            if let Some(ts) = seg.options.timestamps {
                if seg.seq.le(self.rcv_nxt) && (ts.value.wrapping_sub(self.ts_recent) as i32) >= 0 {
                    self.ts_recent = ts.value;
                }
            }
        }
        self.last_recv = now;
        self.keepalive_sent = 0;

        // Second: the RST bit (RFC 5961 3.2).
        if seg.flags.rst {
            if seg.seq != self.rcv_nxt {
                // In the window but not exact: challenge ACK.
                self.ack_now = true;
                self.ack_urgent = true;
                out.counters.drop(DropReason::TcpBadSegment);
                return notice;
            }
            return match self.state {
                State::SynReceived if self.active_open => {
                    // "If this connection was initiated with an active OPEN (i.e.,
                    // came from SYN-SENT state), then the connection was refused".
                    self.fail(NetError::ConnectionRefused)
                }
                State::SynReceived => {
                    // From a passive open: back to LISTEN, i.e. this child disappears.
                    self.enter_closed();
                    Notice {
                        closed: true,
                        ..Notice::default()
                    }
                }
                State::Closing | State::LastAck | State::TimeWait => {
                    self.enter_closed();
                    Notice {
                        closed: true,
                        wake: true,
                        ..Notice::default()
                    }
                }
                _ => self.fail(NetError::ConnectionReset),
            };
        }

        // Fourth: the SYN bit (RFC 5961 4.2: challenge ACK in synchronized states).
        if seg.flags.syn {
            if self.state == State::SynReceived && seg.seq == self.irs {
                self.snd_nxt = self.iss; // repeat our SYN-ACK
                return notice;
            }
            self.ack_now = true;
            self.ack_urgent = true;
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }

        // Fifth: the ACK field.
        if !seg.flags.ack {
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }
        if self.state == State::SynReceived {
            if seg.ack.gt(self.snd_una) && seg.ack.le(self.snd_max) {
                self.state = State::Established;
                self.snd_wnd = (seg.window as usize) << self.snd_shift;
                self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = seg.ack;
                self.init_congestion();
                self.retries = 0;
                notice.established = true;
                notice.wake = true;
                out.counters.inc(Stat::TcpEstablished);
                // The ACK also acknowledges our SYN: fall through to the common code.
            } else {
                // "<SEQ=SEG.ACK><CTL=RST>".
                self.reply_rst_to(seg, data.len(), out);
                out.counters.drop(DropReason::TcpBadSegment);
                return notice;
            }
        }
        // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
        if seg.ack.gt(self.snd_max) {
            self.ack_now = true;
            self.ack_urgent = true;
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }
        let oldest_ok = self.snd_una - (self.max_snd_wnd.max(1) as u32);
        if seg.ack.lt(oldest_ok) {
            self.ack_now = true;
            self.ack_urgent = true;
            out.counters.drop(DropReason::TcpBadSegment);
            return notice;
        }
        notice.merge(self.process_ack(now, seg, data.len(), out));
        if self.state == State::Closed {
            return notice;
        }

        // Sixth: the URG bit.
        if seg.flags.urg
            && matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            )
        {
            let urg_end = seg.seq + (seg.urgent as usize);
            let next_read = self.next_read_seq();
            if self
                .urg_rx
                .announce(urg_end, self.rcv_nxt, next_read, self.opts.oob_inline)
            {
                notice.urgent = true;
                notice.wake = true;
            }
        }

        // Seventh: the segment text.
        if !data.is_empty() {
            match self.state {
                State::Established | State::FinWait1 | State::FinWait2 => {
                    if self.orphan {
                        // Data for a descriptor that was closed: Linux answers RST.
                        self.emit_rst(now, out);
                        let n = self.fail(NetError::ConnectionReset);
                        return n;
                    }
                    notice.merge(self.accept_data(now, seg.seq, data, out));
                }
                _ => {}
            }
        }

        // Eighth: the FIN bit.
        if seg.flags.fin {
            let fin_seq = seg.seq + data.len();
            if fin_seq == self.rcv_nxt {
                notice.merge(self.accept_fin(now));
            } else if fin_seq.gt(self.rcv_nxt) {
                self.ooo_fin = Some(fin_seq);
            }
        }
        notice
    }

    /// Processes an acceptable ACK (RFC 9293 3.10.7.4 "fifth"); loss detection and
    /// the congestion window are [`Recovery::on_ack`]'s.
    fn process_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data_len: usize,
        out: &mut Out<'_>,
    ) -> Notice {
        let mut notice = Notice::default();
        let ack = seg.ack;
        let wnd = (seg.window as usize) << self.snd_shift;
        let prior_una = self.snd_una;
        // RFC 5681 section 2 defines a duplicate ACK with an unchanged window;
        // a Linux receiver shrinks its window on nearly every ACK while it holds
        // out-of-order data, so, like Linux (FLAG_NOT_DUP), only a window that
        // opens makes an ACK not a duplicate.
        let duplicate = ack == self.snd_una
            && data_len == 0
            && !seg.flags.syn
            && !seg.flags.fin
            && self.snd_max.gt(self.snd_una)
            && wnd <= self.snd_wnd;
        let mut rtt = None;
        if ack.gt(self.snd_una) {
            // Data bytes acknowledged (the SYN and FIN occupy sequence space too).
            let buf_seq = self.buf_seq();
            let data_acked = ack.saturating_distance(buf_seq).min(self.send_buf.len());
            self.send_buf.dequeue_allocated(data_acked);
            self.snd_una = ack;
            if self.snd_nxt.lt(ack) {
                self.snd_nxt = ack;
            }
            self.urg_tx.acked(ack);
            rtt = self.on_new_ack_rtt(now, seg);
            self.retries = 0;
            self.persist_backoff = 0;
            notice.wake = true;
        }
        let mut blocks = [SackBlock::default(); 4];
        let mut n = 0;
        if self.sack_enabled {
            for b in seg.options.sack_blocks.iter().flatten() {
                blocks[n] = *b;
                n += 1;
            }
        }
        let buf_end = self.buf_seq() + self.send_buf.len();
        let input = AckInput {
            now,
            ack,
            snd_una: prior_una,
            snd_max: self.snd_max,
            sack_blocks: &blocks[..n],
            duplicate,
            echo_ms: self.echo_sent_ms(now, seg),
            rtt,
            srtt: self.rtt.srtt(),
            has_unsent: buf_end.gt(self.snd_max),
        };
        let before = *self.recovery.stats();
        let reorder_timeout = self.recovery.on_ack(&input, self.cc.as_mut());
        if self.recovery.stats() != &before {
            count_recovery_events(&before, self.recovery.stats(), out);
        }
        match reorder_timeout {
            Some(t) => self.timers.set(TimerKind::RackReorder, now + t),
            None => self.timers.cancel(TimerKind::RackReorder),
        }
        if ack.gt(prior_una) {
            if self.snd_una == self.snd_max {
                self.timers.cancel(TimerKind::Retransmit);
                self.tlp_armed = false;
            } else {
                // RFC 6298 5.3: restart the timer when new data is acknowledged.
                self.arm_retransmit(now, true);
            }
        }
        // Window update (RFC 9293 3.10.7.4: SND.WL1/SND.WL2 rule).
        if self.snd_wl1.lt(seg.seq) || (self.snd_wl1 == seg.seq && self.snd_wl2.le(ack)) {
            let opened = wnd > self.snd_wnd;
            self.snd_wnd = wnd;
            self.max_snd_wnd = self.max_snd_wnd.max(wnd);
            self.snd_wl1 = seg.seq;
            self.snd_wl2 = ack;
            if opened {
                self.timers.cancel(TimerKind::Persist);
                if self.probing {
                    // Probe bytes sent into the zero window were dropped by the peer
                    // unless acknowledged: send them again as ordinary data.
                    self.probing = false;
                    self.snd_nxt = self.snd_una;
                }
                if self.snd_nxt.gt(self.snd_una)
                    && self.snd_wnd > 0
                    && !self.timers.is_armed(TimerKind::Retransmit)
                {
                    self.timers.set(TimerKind::Retransmit, now + self.rtt.rto());
                }
                notice.wake = true;
            }
        }
        // State changes that the ACK of our FIN brings.
        if self.fin_acked() {
            match self.state {
                State::FinWait1 => {
                    self.state = State::FinWait2;
                    if self.orphan {
                        self.timers
                            .set(TimerKind::FinWait2, now + self.cfg.fin_timeout);
                    }
                    notice.wake = true;
                }
                State::Closing => {
                    self.enter_time_wait(now);
                    notice.wake = true;
                }
                State::LastAck => {
                    self.enter_closed();
                    notice.closed = true;
                    notice.wake = true;
                }
                _ => {}
            }
        }
        notice
    }

    /// RTT sample from the timestamp echo, or from the timed segment (Karn's rule:
    /// never from a retransmitted one).
    fn on_new_ack_rtt(&mut self, now: Instant, seg: &TcpRepr) -> Option<Duration> {
        let sample = if self.ts_enabled {
            seg.options.timestamps.and_then(|ts| {
                let ms = self.ts_now(now).wrapping_sub(ts.echo_reply);
                (ts.echo_reply != 0 && ms < 60_000).then(|| Duration::from_millis(ms as u64))
            })
        } else {
            match self.rtt_probe {
                Some((seq, at)) if seg.ack.gt(seq) => {
                    self.rtt_probe = None;
                    Some(now.saturating_duration_since(at))
                }
                _ => None,
            }
        };
        if let Some(r) = sample {
            self.rtt.on_sample(r);
        }
        sample
    }

    /// When the segment whose timestamp `seg` echoes was sent, in ms of the
    /// engine clock (RFC 7323's TSecr read back through our timestamp clock).
    fn echo_sent_ms(&self, now: Instant, seg: &TcpRepr) -> Option<u64> {
        if !self.ts_enabled {
            return None;
        }
        let ts = seg.options.timestamps?;
        if ts.echo_reply == 0 {
            return None;
        }
        let age = self.ts_now(now).wrapping_sub(ts.echo_reply) as u64;
        (age < 60_000).then(|| now.total_millis().saturating_sub(age))
    }

    /// RACK's reordering timer expired: look for lost segments again.
    fn on_reorder_timeout(&mut self, now: Instant, out: &mut Out<'_>) {
        if !self.state.synchronized() {
            return;
        }
        let before = *self.recovery.stats();
        let srtt = self.rtt.srtt();
        let max = self.snd_max;
        if let Some(t) = self
            .recovery
            .on_reorder_timeout(now, srtt, max, self.cc.as_mut())
        {
            self.timers.set(TimerKind::RackReorder, now + t);
        }
        count_recovery_events(&before, self.recovery.stats(), out);
        self.output(now, out);
    }

    /// Stores in-window data; advances RCV.NXT over what became contiguous.
    fn accept_data(
        &mut self,
        now: Instant,
        seq: SeqNumber,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        let mut notice = Notice::default();
        // Trim what we already have.
        let (seq, data) = if seq.lt(self.rcv_nxt) {
            let skip = self.rcv_nxt.saturating_distance(seq);
            if skip >= data.len() {
                self.ack_now = true;
                self.ack_urgent = true;
                return notice;
            }
            (self.rcv_nxt, &data[skip..])
        } else {
            (seq, data)
        };
        if self.rd_shut {
            // Read side shut: acknowledge and discard (the user will never read it).
            self.rcv_nxt = seq + data.len();
            self.rcv_adv = self.rcv_adv.max(self.rcv_nxt);
            self.ack_now = true;
            self.ack_urgent = true;
            return notice;
        }
        let offset = seq.saturating_distance(self.rcv_nxt);
        let room = self.recv_buf.window();
        if offset >= room {
            out.counters.drop(DropReason::TcpOutOfWindow);
            self.ack_now = true;
            self.ack_urgent = true;
            return notice;
        }
        let data = &data[..data.len().min(room - offset)];
        if offset == 0 {
            let n = self.recv_buf.enqueue_slice(data);
            let _ = self.assembler.add(0, n);
            let advanced = self.assembler.remove_front();
            let extra = advanced.saturating_sub(n);
            if extra > 0 {
                self.recv_buf.enqueue_unallocated(extra);
            }
            self.rcv_nxt += advanced;
            self.urg_rx
                .on_data(&mut self.recv_buf, self.rcv_nxt, advanced);
            notice.wake = true;
            self.unacked_bytes += advanced;
            if !self.assembler.is_empty() || extra > 0 {
                // Filling a hole: acknowledge at once (RFC 5681 4.2).
                self.ack_now = true;
                self.ack_urgent = true;
            } else if self.unacked_bytes >= 2 * self.mss.max(536) {
                // "an ACK SHOULD be generated for at least every second full-sized
                // segment" (RFC 5681 4.2). Within one batch of received frames the
                // ACK may be deferred to the batch's end, but never past eight
                // segments: a single ACK for a whole window would make its loss
                // cost a retransmission timeout.
                self.ack_now = true;
                if self.unacked_bytes >= 8 * self.mss.max(536) {
                    self.ack_urgent = true;
                }
            } else {
                self.timers
                    .set_if_disarmed(TimerKind::DelayedAck, now + self.cfg.delayed_ack);
            }
            if let Some(f) = self.ooo_fin {
                if f == self.rcv_nxt {
                    self.ooo_fin = None;
                    notice.merge(self.accept_fin(now));
                }
            }
        } else {
            let written = self.recv_buf.write_unallocated(offset, data);
            if self.assembler.add(offset, written).is_err() {
                out.counters.drop(DropReason::TcpOutOfOrderFull);
            }
            // Out-of-order: a duplicate ACK at once (RFC 5681 4.2), with SACK blocks.
            self.ack_now = true;
            self.ack_urgent = true;
        }
        notice
    }

    fn accept_fin(&mut self, now: Instant) -> Notice {
        self.rcv_nxt += 1u32;
        self.fin_received = true;
        self.ack_now = true;
        self.ack_urgent = true;
        match self.state {
            State::SynReceived | State::Established => self.state = State::CloseWait,
            State::FinWait1 => {
                if self.fin_acked() {
                    self.enter_time_wait(now);
                } else {
                    self.state = State::Closing;
                }
            }
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
        Notice {
            wake: true,
            ..Notice::default()
        }
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

/// A snapshot of a connection, like Linux's `tcp_info` (what `ss -ti` shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpInfo {
    /// State.
    pub state: State,
    /// Congestion state (Linux's `tcpi_ca_state`).
    pub ca_state: CaState,
    /// Retransmission timeout.
    pub rto: Duration,
    /// Smoothed RTT, once measured.
    pub srtt: Option<Duration>,
    /// RTT variation, once measured.
    pub rttvar: Option<Duration>,
    /// Smallest RTT seen (RACK's `min_RTT`).
    pub min_rtt: Option<Duration>,
    /// Congestion window in bytes.
    pub cwnd: usize,
    /// Slow-start threshold in bytes (`usize::MAX` until the first loss).
    pub ssthresh: usize,
    /// The congestion control algorithm (`TCP_CONGESTION`).
    pub congestion: &'static str,
    /// Send MSS.
    pub mss: usize,
    /// MSS we advertised.
    pub adv_mss: usize,
    /// Peer's window in bytes.
    pub snd_wnd: usize,
    /// Our advertised window in bytes.
    pub rcv_wnd: usize,
    /// Shift applied to the peer's windows (its window scale); `None` without.
    pub snd_wscale: Option<u8>,
    /// Shift applied to our windows; `None` without window scaling.
    pub rcv_wscale: Option<u8>,
    /// Timestamps are in use (RFC 7323).
    pub timestamps: bool,
    /// SACK is in use (RFC 2018).
    pub sack: bool,
    /// Bytes sent and not cumulatively acknowledged (SND.MAX - SND.UNA).
    pub unacked: usize,
    /// Bytes in flight (RFC 6675 pipe).
    pub in_flight: usize,
    /// Bytes SACKed by the peer.
    pub sacked: usize,
    /// Bytes marked lost, not yet repaired.
    pub lost: usize,
    /// Bytes of retransmissions in flight.
    pub retrans: usize,
    /// The duplicate-ACK threshold (3, raised by observed reordering).
    pub reordering: usize,
    /// Consecutive retransmission timeouts (Linux's `tcpi_retransmits`).
    pub retransmits: u32,
    /// Retransmissions and recovery events by cause.
    pub recovery: RecoveryStats,
    /// Bytes in the send buffer.
    pub send_queue: usize,
    /// Bytes in the receive buffer.
    pub recv_queue: usize,
}

impl TcpInfo {
    /// Every segment retransmitted (Linux's `tcpi_total_retrans`).
    pub fn total_retrans(&self) -> u64 {
        self.recovery.total()
    }
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
    let mut frame = out.frame(TCP_HEADER_LEN);
    frame.resize(HEADROOM + TCP_HEADER_LEN, 0);
    repr.emit(&mut frame[HEADROOM..], *local.ip(), *remote.ip(), &[]);
    out.counters.inc(Stat::TcpRstSent);
    out.counters.inc(Stat::TcpSegmentsOut);
    Some((
        IpSend {
            src: *local.ip(),
            dst: *remote.ip(),
            protocol: PROTO_TCP,
            ttl: 0,
            tos: 0,
            dont_frag: true,
        },
        frame,
    ))
}

/// The MSS a link of `mtu` carries (IPv4 and TCP headers without options).
pub(crate) fn link_mss(mtu: usize) -> usize {
    mtu.saturating_sub(IPV4_HEADER_LEN + TCP_HEADER_LEN)
}
