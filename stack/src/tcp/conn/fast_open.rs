//! TCP Fast Open (RFC 7413) on a connection: data on our SYN, data taken from
//! the peer's (see `crate::tcp::fast_open` for the whole flow).

use super::*;
use crate::tcp::fast_open::FastOpen;
use crate::tcp::options::FastOpenCookie;

impl Tcb {
    pub(crate) fn fast_open_mut(&mut self) -> &mut FastOpen {
        &mut self.fo
    }

    /// A `TCP_FASTOPEN_CONNECT` connect whose SYN waits for data.
    pub(crate) fn fast_open_deferred(&self) -> bool {
        self.fo.deferred
    }

    /// A connection made on its SYN's data whose handshake has not completed
    /// (it counts against its listener's `TCP_FASTOPEN` queue).
    pub(crate) fn fast_open_waiting(&self) -> bool {
        self.fo.passive && self.state == State::SynReceived
    }

    /// Before the SYN goes: `data` rides on it (as much as the send buffer
    /// takes). Returns how much.
    pub(crate) fn queue_syn_data(&mut self, data: &[u8]) -> usize {
        let n = self.send_buf.enqueue_slice(data);
        self.fo.syn_data = n;
        n
    }

    /// Before the SYN goes: `data` to send once connected, after what the
    /// SYN carries. Returns how much the send buffer took.
    pub(crate) fn queue_after_syn(&mut self, data: &[u8]) -> usize {
        self.send_buf.enqueue_slice(data)
    }

    /// The Fast Open option of a SYN or SYN-ACK sent now (only the first
    /// one has it: `output` clears it once sent).
    pub(super) fn syn_fast_open_option(&self) -> Option<FastOpenCookie> {
        self.fo.option
    }

    /// Data bytes on the SYN sent now (only the first SYN of a client).
    pub(super) fn syn_data_len(&self) -> usize {
        if self.state == State::SynSent && self.retries == 0 {
            self.fo.syn_data
        } else {
            0
        }
    }

    /// A passive open on a SYN whose data a listener takes (its cookie was
    /// right): the data is queued, the SYN-ACK acknowledges it, and the
    /// connection may be accepted, read and written before the handshake
    /// completes. The listener counted the SYN.
    pub(crate) fn on_fast_open_syn(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data: &[u8],
        out: &mut Out<'_>,
    ) -> Notice {
        self.fo.passive = true;
        self.fo.syn_data_acked = !data.is_empty();
        self.take_syn(now, seg);
        self.init_congestion();
        let mut notice = Notice {
            established: true,
            wake: true,
            ..Notice::default()
        };
        if !data.is_empty() {
            let keep = data.len().min(self.recv_buf.window());
            notice.merge(self.accept_data(now, seg.seq + 1u32, &data[..keep], out));
        }
        out.counters.inc(Stat::TcpFastOpenPassive);
        self.output(now, out);
        notice
    }

    /// A client's SYN-ACK (`ack` acknowledges up to there): what it taught is
    /// kept for the cache, the part of our SYN's data it acknowledges leaves
    /// the send buffer, and what it does not goes again at once (Linux's
    /// `tcp_rcv_fastopen_synack`).
    pub(super) fn fast_open_synack(&mut self, seg: &TcpRepr, out: &mut Out<'_>) {
        let acked = seg.ack.saturating_distance(self.iss + 1u32);
        if acked > 0 {
            self.send_buf
                .dequeue_allocated(acked.min(self.send_buf.len()));
        }
        if !self.fo.tried {
            return;
        }
        // RFC 7413 4.1.1: a cookie is 4 to 16 bytes (the parser dropped
        // others); an empty one teaches nothing.
        let cookie = seg.options.fast_open.filter(|c| c.len > 0);
        self.fo.learned = Some((cookie, seg.options.mss.unwrap_or(0)));
        let sent = self.snd_max.saturating_distance(self.iss + 1u32);
        if sent == 0 {
            return;
        }
        if acked >= sent {
            self.fo.syn_data_acked = true;
        } else {
            // The rest of the SYN's data goes again with the handshake's ACK.
            self.snd_nxt = seg.ack;
            out.counters.inc(Stat::TcpFastOpenActiveFail);
        }
    }
}
