//! `TCP_INFO`: a snapshot of a connection.

use super::*;

impl Tcb {
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
            rcv_space: self.autotune.space,
            snd_wscale: self.wscale_agreed.then_some(self.snd_shift),
            rcv_wscale: self.wscale_agreed.then_some(self.rcv_shift),
            timestamps: self.ts_enabled,
            sack: self.sack_enabled,
            syn_data: self.fo.syn_data_acked,
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
            buffer_memory: self.buffer_memory(),
        }
    }
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
    /// Bytes per round trip the receive buffer is sized for (Linux's
    /// `tcpi_rcv_space`; see [`crate::config::TcpConfig::moderate_rcvbuf`]).
    pub rcv_space: usize,
    /// Shift applied to the peer's windows (its window scale); `None` without.
    pub snd_wscale: Option<u8>,
    /// Shift applied to our windows; `None` without window scaling.
    pub rcv_wscale: Option<u8>,
    /// Timestamps are in use (RFC 7323).
    pub timestamps: bool,
    /// SACK is in use (RFC 2018).
    pub sack: bool,
    /// Data on the SYN was acknowledged or taken (`TCPI_OPT_SYN_DATA`).
    pub syn_data: bool,
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
    /// Bytes of storage the send and receive buffers hold now (they grow with
    /// what is queued and give it back when idle and empty).
    pub buffer_memory: usize,
}

impl TcpInfo {
    /// Every segment retransmitted (Linux's `tcpi_total_retrans`).
    pub fn total_retrans(&self) -> u64 {
        self.recovery.total()
    }
}
