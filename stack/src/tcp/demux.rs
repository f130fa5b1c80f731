//! Segment input: checksum and header checks, then demultiplexing to a connection
//! (by its four-tuple) or a listener; ICMP errors to the connection they quote.

use super::*;

impl Engine {
    /// TCP input: demultiplex by 4-tuple, then to a listener, else answer RST.
    pub(crate) fn tcp_input(&mut self, now: Instant, ip: &Ipv4Repr, _header: &[u8], seg: &[u8]) {
        let parsed = if self.rx_checksum_verified {
            TcpRepr::parse_verified(ip.src, ip.dst, seg)
        } else {
            TcpRepr::parse(ip.src, ip.dst, seg)
        };
        let (repr, data) = match parsed {
            Ok(x) => x,
            Err(reason) => return self.counters.drop(reason),
        };
        // RFC 1122 4.2.3.10: a SYN to a broadcast address is ignored.
        if self.is_broadcast_addr(ip.dst) {
            return self.counters.drop(DropReason::TcpBadSegment);
        }
        let local = SocketAddrV4::new(ip.dst, repr.dst_port);
        let remote = SocketAddrV4::new(ip.src, repr.src_port);
        if let Some(&h) = self.tcp_conns.get(&(local, remote)) {
            // A child in SYN-RECEIVED completing its handshake while the accept queue
            // is full: ignore the ACK (Linux drops it; the SYN-ACK will be repeated).
            if let Ok(Socket::Tcp(s)) = self.sockets.get(h) {
                if let (Some(p), Some(t)) = (s.parent, s.tcb()) {
                    if t.state() == State::SynReceived
                        && repr.flags.ack
                        && !repr.flags.rst
                        && self.listener_full(p)
                    {
                        return self.counters.drop(DropReason::TcpAcceptQueueFull);
                    }
                }
            }
            self.tcp_defer_ack = true;
            let owed = self.with_tcb(now, h, |t, out| {
                let n = t.on_segment(now, &repr, data, out);
                (t.ack_pending(), n)
            });
            self.tcp_defer_ack = false;
            if owed == Ok(true) && !self.tcp_ack_pending.contains(&h) {
                self.tcp_ack_pending.push(h);
            }
            return;
        }
        if let Some(listener) = self.find_listener(local) {
            return self.tcp_listen_input(now, listener, local, remote, &repr, data.len());
        }
        self.counters.drop(DropReason::TcpNoSocket);
        self.tcp_reply_rst(now, local, remote, &repr, data.len());
    }

    pub(super) fn tcp_reply_rst(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        repr: &TcpRepr,
        data_len: usize,
    ) {
        let mut out = Out {
            frames: &mut self.tcp_out,
            spare: &mut self.spare_frames,
            counters: &mut self.counters,
            defer_ack: false,
            partial_checksum: false,
            tso_max: 0,
        };
        if let Some((send, frame)) = conn::rst_for(local, remote, repr, data_len, &mut out) {
            out.frames
                .push((send, frame, crate::wire::offload::TxMeta::default()));
        }
        self.tcp_flush(now);
    }

    /// An ICMP error about a segment we sent (RFC 1122 4.2.3.9).
    pub(crate) fn tcp_icmp_error(&mut self, now: Instant, err: IcmpError) {
        let Some(&h) = self.tcp_conns.get(&(err.local, err.remote)) else {
            return;
        };
        if let crate::ip::icmp::IcmpErrorKind::FragNeeded(mtu) = err.kind {
            let _ = self.with_tcb(now, h, |t, out| {
                t.path_mtu(now, mtu, out);
                ((), Notice::default())
            });
            return;
        }
        let hard = err.kind.is_hard() || err.reporter == self.config.addr;
        let e = err.kind.to_net_error();
        let _ = self.with_tcb(now, h, |t, _out| ((), t.icmp_error(e, hard)));
    }
}
