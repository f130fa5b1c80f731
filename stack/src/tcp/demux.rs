//! Segment input: checksum and header checks, then demultiplexing to a connection
//! (by its four-tuple) or a listener; ICMP errors to the connection they quote.

use super::*;
use crate::tcp::time_wait::Verdict;

impl Tcp {
    /// TCP input: demultiplex by 4-tuple, then to a listener, else answer RST.
    pub(crate) fn input(&mut self, t: &mut Tx<'_>, ip: &Ipv4Repr, seg: &[u8]) {
        let now = t.cx.now;
        let parsed = if t.cx.rx.checksum_verified {
            TcpRepr::parse_verified(ip.src, ip.dst, seg)
        } else {
            TcpRepr::parse(ip.src, ip.dst, seg)
        };
        let (repr, data) = match parsed {
            Ok(x) => x,
            Err(reason) => return t.cx.counters.drop(reason),
        };
        // RFC 1122 4.2.3.10: a SYN to a broadcast address is ignored.
        if is_broadcast(t.cx.config, ip.dst) {
            return t.cx.counters.drop(DropReason::TcpBadSegment);
        }
        let local = SocketAddrV4::new(ip.dst, repr.dst_port);
        let remote = SocketAddrV4::new(ip.src, repr.src_port);
        if let Some(h) = self.conns.get(&(local, remote)) {
            // A child in SYN-RECEIVED completing its handshake while the accept queue
            // is full: ignore the ACK (Linux drops it; the SYN-ACK will be repeated).
            if let Ok(Socket::Tcp(s)) = t.sockets.get(h) {
                if let (Some(p), Some(c)) = (s.parent, s.tcb()) {
                    // (A Fast Open child is in the accept queue already.)
                    if c.state() == State::SynReceived
                        && !c.fast_open_waiting()
                        && repr.flags.ack
                        && !repr.flags.rst
                        && listener_full(t.sockets, p)
                    {
                        return t.cx.counters.drop(DropReason::TcpAcceptQueueFull);
                    }
                }
            }
            t.cx.rx.input = true;
            let owed = self.with_tcb(t, h, |t, out| {
                let n = t.on_segment(now, &repr, data, out);
                (t.ack_pending(), n)
            });
            t.cx.rx.input = false;
            if owed == Ok(true) && !self.ack_pending.contains(&h) {
                self.ack_pending.push(h);
            }
            return;
        }
        let mut iss = None;
        if self.time_wait.contains(&(local, remote)) {
            t.cx.counters.inc(Stat::TcpSegmentsIn);
            let mut out = Out::plain(
                &mut self.out,
                t.cx.pool.spare_mut(),
                t.cx.counters,
                &mut self.challenge_acks,
            );
            let cfg = &t.cx.config.tcp;
            let verdict = self.time_wait.input(
                now,
                (local, remote),
                &repr,
                data.len(),
                cfg.msl * 2,
                cfg.invalid_ack_interval,
                &mut out,
            );
            self.flush(t);
            match verdict {
                Verdict::Done => return,
                Verdict::Reopen(s) => iss = Some(s),
            }
        }
        if let Some(listener) = self.find_listener(t.sockets, local) {
            return self.listen_input(t, listener, (local, remote), &repr, data, iss);
        }
        t.cx.counters.drop(DropReason::TcpNoSocket);
        self.reply_rst(t, local, remote, &repr, data.len());
    }

    /// Answers a segment no connection takes with a RST (RFC 9293 3.10.7.1).
    pub(super) fn reply_rst(
        &mut self,
        t: &mut Tx<'_>,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        repr: &TcpRepr,
        data_len: usize,
    ) {
        let mut out = Out::plain(
            &mut self.out,
            t.cx.pool.spare_mut(),
            t.cx.counters,
            &mut self.challenge_acks,
        );
        if let Some((send, frame)) = conn::rst_for(local, remote, repr, data_len, &mut out) {
            out.frames
                .push((send, frame, crate::device::offload::TxMeta::default()));
        }
        self.flush(t);
    }

    /// An ICMP error about a segment we sent (RFC 1122 4.2.3.9).
    pub(crate) fn icmp_error(&mut self, t: &mut Tx<'_>, err: IcmpError) {
        let now = t.cx.now;
        let Some(h) = self.conns.get(&(err.local, err.remote)) else {
            return;
        };
        // RFC 5927 4.1: only an error about a segment in flight is believed.
        let in_flight = match (t.sockets.get(h), err.seq) {
            (Ok(Socket::Tcp(s)), Some(seq)) => s.tcb().is_some_and(|c| c.quote_in_flight(seq)),
            _ => false,
        };
        if !in_flight {
            return t.cx.counters.drop(DropReason::IcmpOutOfWindow);
        }
        if let crate::ip::icmp::IcmpErrorKind::FragNeeded(mtu) = err.kind {
            let _ = self.with_tcb(t, h, |t, out| {
                t.path_mtu(now, mtu, out);
                ((), Notice::default())
            });
            return;
        }
        let hard = err.kind.is_hard() || err.reporter == t.cx.config.addr;
        let e = err.kind.to_net_error();
        let _ = self.with_tcb(t, h, |t, _out| ((), t.icmp_error(e, hard)));
    }
}
