//! Listening sockets: the SYN queue and the accept queue, and a SYN's path to a
//! new connection (RFC 9293 3.10.7.2; the 4.2BSD primer's backlog rule).

use super::*;

pub(super) fn listener_full(sockets: &SocketSet, h: SocketHandle) -> bool {
    match sockets.get(h) {
        Ok(Socket::Tcp(s)) => match &s.kind {
            TcpKind::Listen(l) => l.accept_queue.len() >= l.backlog,
            _ => false,
        },
        _ => false,
    }
}

impl Tcp {
    /// The listener for `local`: one bound to that address, else to the wildcard.
    /// Listeners are kept per port apart from the bindings (which include every
    /// accepted connection), so a SYN costs the same with 10 or 10,000 connections.
    pub(super) fn find_listener(
        &self,
        sockets: &SocketSet,
        local: SocketAddrV4,
    ) -> Option<SocketHandle> {
        let mut best: Option<(bool, SocketHandle)> = None;
        for &h in self.listeners.get(&local.port())? {
            let Ok(Socket::Tcp(s)) = sockets.get(h) else {
                continue;
            };
            let Some(addr) = s.local.map(|l| *l.ip()) else {
                continue;
            };
            if !(addr.is_unspecified() || addr == *local.ip()) {
                continue;
            }
            let specific = !addr.is_unspecified();
            if best.is_none_or(|(sp, _)| specific && !sp) {
                best = Some((specific, h));
            }
        }
        best.map(|(_, h)| h)
    }

    /// A segment for a listener (RFC 9293 3.10.7.2).
    pub(super) fn listen_input(
        &mut self,
        t: &mut Tx<'_>,
        lh: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        repr: &TcpRepr,
        data_len: usize,
    ) {
        let now = t.cx.now;
        t.cx.counters.inc(Stat::TcpSegmentsIn);
        // "First, check for a RST: an incoming RST should be ignored."
        if repr.flags.rst {
            return t.cx.counters.drop(DropReason::TcpBadSegment);
        }
        // "Second, check for an ACK: any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>".
        if repr.flags.ack {
            t.cx.counters.drop(DropReason::TcpBadSegment);
            return self.reply_rst(t, local, remote, repr, data_len);
        }
        if !repr.flags.syn {
            return t.cx.counters.drop(DropReason::TcpBadSegment);
        }
        let (opts, user_mss, congestion, full, syn_full) = match t.sockets.get(lh) {
            Ok(Socket::Tcp(s)) => match &s.kind {
                // The backlog counts half-open and completed connections together,
                // as BSD's listen queue did: a burst of SYNs is not all answered.
                TcpKind::Listen(l) => (
                    s.opts,
                    s.user_mss,
                    s.congestion,
                    l.accept_queue.len() + l.syn_queue.len() >= l.backlog,
                    l.syn_queue.len() >= t.cx.config.tcp.max_syn_backlog,
                ),
                _ => return,
            },
            _ => return,
        };
        // The primer's rule: a full queue ignores the request, it does not refuse it.
        if full {
            return t.cx.counters.drop(DropReason::TcpAcceptQueueFull);
        }
        if syn_full {
            return t.cx.counters.drop(DropReason::TcpSynQueueFull);
        }
        let iss = self.isn.isn(local, remote, now);
        let ts_offset = t.rng.next_u32();
        let params = TcbParams {
            local,
            remote,
            iss,
            link_mss: conn::link_mss(t.cx.config.mtu),
            ts_offset,
            opts,
            user_mss,
            congestion,
        };
        let tcb = Tcb::new(params, &t.cx.config.tcp, now);
        let child = match t.sockets.insert(Socket::Tcp(Box::new(TcpSocket {
            local: Some(local),
            bound: false,
            opts,
            user_mss,
            congestion,
            kind: TcpKind::Conn(Box::new(tcb)),
            parent: Some(lh),
            error: None,
            scheduled: None,
            orphaned: false,
        }))) {
            Ok(c) => c,
            Err(_) => return t.cx.counters.drop(DropReason::TcpSynQueueFull),
        };
        self.conns.insert((local, remote), child);
        // The connection holds its port like any socket (Linux's bind bucket): once
        // the listener is gone, a connection in TIME-WAIT still keeps a plain bind
        // of the port out (EADDRINUSE without SO_REUSEADDR).
        let _ = self.ports.bind(
            local.port(),
            Binding {
                addr: *local.ip(),
                handle: child,
                reuse_addr: opts.reuse_addr,
            },
            &crate::ports::AnyShare,
            0,
        );
        if let Ok(Socket::Tcp(cs)) = t.sockets.get_mut(child) {
            cs.bound = true;
        }
        if let Ok(Socket::Tcp(ls)) = t.sockets.get_mut(lh) {
            if let TcpKind::Listen(l) = &mut ls.kind {
                l.syn_queue.push(child);
            }
        }
        let _ = self.with_tcb(t, child, |t, out| {
            t.on_syn(now, repr, out);
            ((), Notice::default())
        });
    }
}
