//! Listening sockets: the SYN queue and the accept queue, and a SYN's path to a
//! new connection (RFC 9293 3.10.7.2; the 4.2BSD primer's backlog rule).

use super::*;
use crate::tcp::options::{TcpOptions, Timestamps};
use crate::tcp::seq::SeqNumber;
use fast_open::SynVerdict;

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

    /// A segment for a listener (RFC 9293 3.10.7.2). `iss`: the ISN a SYN that
    /// ended a TIME-WAIT record must use (else one from the generator).
    pub(super) fn listen_input(
        &mut self,
        t: &mut Tx<'_>,
        lh: SocketHandle,
        (local, remote): (SocketAddrV4, SocketAddrV4),
        repr: &TcpRepr,
        data: &[u8],
        iss: Option<SeqNumber>,
    ) {
        let now = t.cx.now;
        if iss.is_none() {
            t.cx.counters.inc(Stat::TcpSegmentsIn);
        }
        // "First, check for a RST: an incoming RST should be ignored."
        if repr.flags.rst {
            return t.cx.counters.drop(DropReason::TcpBadSegment);
        }
        // "Second, check for an ACK: any acknowledgment is bad ... <SEQ=SEG.ACK><CTL=RST>"
        // unless it returns a SYN cookie.
        if repr.flags.ack {
            if !repr.flags.syn && self.cookie_ack(t, lh, local, remote, repr, data) {
                return;
            }
            t.cx.counters.drop(DropReason::TcpBadSegment);
            return self.reply_rst(t, local, remote, repr, data.len());
        }
        if !repr.flags.syn {
            return t.cx.counters.drop(DropReason::TcpBadSegment);
        }
        let Some(q) = self.queues(t, lh) else { return };
        // The primer's rule: a full accept queue ignores the request, it does not
        // refuse it.
        if q.accept_full {
            return t.cx.counters.drop(DropReason::TcpAcceptQueueFull);
        }
        if q.syn_full {
            if !t.cx.config.tcp.syn_cookies {
                return t.cx.counters.drop(DropReason::TcpSynQueueFull);
            }
            return self.send_cookie(t, lh, local, remote, repr, &q);
        }
        let verdict = self.fast_open_verdict(t, lh, &q.opts, (local, remote), repr, data.len());
        let iss = iss.unwrap_or_else(|| self.isn.isn(local, remote, now));
        let Some(child) = self.child(t, lh, local, remote, iss, &q) else {
            return;
        };
        let _ = self.with_tcb(t, child, |t, out| match verdict {
            SynVerdict::Accept => ((), t.on_fast_open_syn(now, repr, data, out)),
            SynVerdict::SendCookie { cookie, wrong } => {
                out.counters.inc(if wrong {
                    Stat::TcpFastOpenPassiveFail
                } else {
                    Stat::TcpFastOpenCookieSent
                });
                t.fast_open_mut().option = Some(cookie);
                t.on_syn(now, repr, out);
                ((), Notice::default())
            }
            SynVerdict::Plain => {
                t.on_syn(now, repr, out);
                ((), Notice::default())
            }
        });
    }

    /// What a SYN or a cookie needs to know of the listener `lh`.
    fn queues(&self, t: &Tx<'_>, lh: SocketHandle) -> Option<ListenerView> {
        let Ok(Socket::Tcp(s)) = t.sockets.get(lh) else {
            return None;
        };
        let TcpKind::Listen(l) = &s.kind else {
            return None;
        };
        Some(ListenerView {
            opts: s.opts,
            user_mss: s.user_mss,
            congestion: s.congestion,
            accept_full: l.accept_queue.len() >= l.backlog,
            syn_full: l.syn_queue.len() >= t.cx.config.tcp.max_syn_backlog,
            cookies_recent: l
                .last_cookie
                .is_some_and(|at| t.cx.now.saturating_duration_since(at) < cookie::RECENT),
        })
    }

    /// A new child of `lh` in the SYN queue, for the connection `local`-`remote`
    /// with our ISN `iss`.
    fn child(
        &mut self,
        t: &mut Tx<'_>,
        lh: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: SeqNumber,
        q: &ListenerView,
    ) -> Option<SocketHandle> {
        let now = t.cx.now;
        let params = TcbParams {
            local,
            remote,
            iss,
            link_mss: conn::link_mss(t.cx.config.mtu),
            ts_offset: self.isn.ts_offset(local, remote),
            opts: q.opts,
            user_mss: q.user_mss,
            congestion: q.congestion,
        };
        let tcb = Tcb::new(params, &t.cx.config.tcp, now);
        let child = match t.sockets.insert(Socket::Tcp(Box::new(TcpSocket {
            local: Some(local),
            bound: false,
            opts: q.opts,
            user_mss: q.user_mss,
            congestion: q.congestion,
            kind: TcpKind::Conn(Box::new(tcb)),
            parent: Some(lh),
            error: None,
            scheduled: None,
            orphaned: false,
        }))) {
            Ok(c) => c,
            Err(_) => {
                t.cx.counters.drop(DropReason::TcpSynQueueFull);
                return None;
            }
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
                reuse_addr: q.opts.reuse_addr,
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
        Some(child)
    }

    /// The options and window of a SYN-ACK from listener options `q`.
    fn synack_shape(t: &Tx<'_>, q: &ListenerView) -> (u16, u8, usize) {
        let cfg = &t.cx.config.tcp;
        let adv_mss = conn::advertised_mss(conn::link_mss(t.cx.config.mtu), q.user_mss);
        let (recv_cap, limit) = conn::receive_sizes(&q.opts, cfg);
        (adv_mss, conn::window_shift(limit), recv_cap.min(65535))
    }

    /// Answers a SYN with a cookie SYN-ACK (the SYN queue is full).
    fn send_cookie(
        &mut self,
        t: &mut Tx<'_>,
        lh: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        syn: &TcpRepr,
        q: &ListenerView,
    ) {
        let now = t.cx.now;
        let cfg = &t.cx.config.tcp;
        let (adv_mss, shift, window) = Self::synack_shape(t, q);
        let peer_mss = syn.options.mss.unwrap_or(536).min(adv_mss);
        let (iss, _) = cookie::make(&self.isn, local, remote, syn.seq, peer_mss, now);
        let mut options = TcpOptions {
            mss: Some(adv_mss),
            ..TcpOptions::default()
        };
        // Without timestamps the cookie cannot carry window scale or SACK.
        if let (true, Some(ts)) = (cfg.timestamps, syn.options.timestamps) {
            let peer_wscale = syn.options.window_scale.filter(|_| cfg.window_scaling);
            let sack = cfg.sack && syn.options.sack_permitted;
            let ts_now =
                (now.total_millis() as u32).wrapping_add(self.isn.ts_offset(local, remote));
            options.timestamps = Some(Timestamps {
                value: cookie::encode_ts(ts_now, peer_wscale, sack),
                echo_reply: ts.value,
            });
            options.window_scale = peer_wscale.map(|_| shift);
            options.sack_permitted = sack;
        }
        let mut out = Out::plain(
            &mut self.out,
            t.cx.pool.spare_mut(),
            t.cx.counters,
            &mut self.challenge_acks,
        );
        let (send, frame) = conn::cookie_syn_ack(
            local,
            remote,
            syn,
            iss,
            options,
            window as u16,
            &q.opts,
            &mut out,
        );
        out.frames
            .push((send, frame, crate::device::offload::TxMeta::default()));
        if let Ok(Socket::Tcp(ls)) = t.sockets.get_mut(lh) {
            if let TcpKind::Listen(l) = &mut ls.kind {
                l.last_cookie = Some(now);
            }
        }
        self.flush(t);
    }

    /// An ACK to listener `lh`: if it returns a valid SYN cookie, the connection
    /// is made (or, with the accept queue full, the ACK is ignored) and `true`
    /// comes back; `false` means it is no cookie's.
    fn cookie_ack(
        &mut self,
        t: &mut Tx<'_>,
        lh: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        ack: &TcpRepr,
        data: &[u8],
    ) -> bool {
        let now = t.cx.now;
        let Some(q) = self.queues(t, lh) else {
            return false;
        };
        if !q.cookies_recent {
            return false;
        }
        let client_isn = ack.seq - 1u32;
        let iss = ack.ack - 1u32;
        let Some(mss) = cookie::check(&self.isn, local, remote, client_isn, iss, now) else {
            t.cx.counters.drop(DropReason::TcpSynCookieInvalid);
            return false;
        };
        if q.accept_full {
            // As Linux's listen overflow: the ACK is ignored; the peer's
            // retransmission is checked again once accept makes room.
            t.cx.counters.drop(DropReason::TcpAcceptQueueFull);
            return true;
        }
        let (peer_wscale, sack, timestamps) =
            match (t.cx.config.tcp.timestamps, ack.options.timestamps) {
                (true, Some(ts)) => {
                    let (w, sack) = cookie::decode_ts(ts.echo_reply);
                    (
                        w,
                        sack,
                        Some(Timestamps {
                            value: ts.value,
                            echo_reply: 0,
                        }),
                    )
                }
                _ => (None, false, None),
            };
        // The SYN as the cookie remembers it.
        let syn = TcpRepr {
            src_port: ack.src_port,
            dst_port: ack.dst_port,
            seq: client_isn,
            ack: SeqNumber(0),
            flags: crate::tcp::segment::Flags {
                syn: true,
                ..Default::default()
            },
            window: ack.window,
            urgent: 0,
            options: TcpOptions {
                mss: Some(mss),
                window_scale: peer_wscale,
                sack_permitted: sack,
                timestamps,
                ..TcpOptions::default()
            },
        };
        let (_, _, window) = Self::synack_shape(t, &q);
        let Some(child) = self.child(t, lh, local, remote, iss, &q) else {
            return true;
        };
        t.cx.counters.inc(Stat::TcpSynCookiesValidated);
        if let Ok(Socket::Tcp(cs)) = t.sockets.get_mut(child) {
            if let Some(c) = cs.tcb_mut() {
                c.on_cookie(now, &syn, window as u16);
            }
        }
        // The ACK itself, through the connection it completes.
        t.cx.rx.input = true;
        let owed = self.with_tcb(t, child, |c, out| {
            let n = c.on_segment(now, ack, data, out);
            (c.ack_pending(), n)
        });
        t.cx.rx.input = false;
        if owed == Ok(true) && !self.ack_pending.contains(&child) {
            self.ack_pending.push(child);
        }
        true
    }
}

/// A listener's options and queue states, as a SYN or a cookie finds them.
struct ListenerView {
    opts: SocketOptions,
    user_mss: Option<u16>,
    congestion: Option<CongestionAlgorithm>,
    accept_full: bool,
    syn_full: bool,
    cookies_recent: bool,
}
