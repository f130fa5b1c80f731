//! ICMP echo ("ping") sockets: send echo requests, receive the matching replies.
//! Used by `netstack ping` and the demo; like Linux's unprivileged ICMP sockets, a
//! socket owns an identifier and sees only replies carrying it.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::counters::{DropReason, Stat};
use crate::cx::Tx;
use crate::error::NetError;
use crate::ip::icmp::IcmpError;
use crate::ip::{IpSend, Ipv4Repr};
use crate::socket::{Readiness, Socket, SocketHandle, SocketSet};
use crate::time::Instant;
use crate::wire::icmpv4::IcmpRepr;
use crate::wire::{HEADROOM, PROTO_ICMP};
use rand::RngCore;

/// One echo reply received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EchoReply {
    /// Who answered.
    pub from: Ipv4Addr,
    /// Sequence number.
    pub seq: u16,
    /// TTL of the reply.
    pub ttl: u8,
    /// Payload (the data after the 8-byte ICMP header).
    pub payload: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

/// State of a ping socket.
#[derive(Debug)]
pub(crate) struct PingSocket {
    pub(crate) ident: u16,
    replies: VecDeque<EchoReply>,
    capacity: usize,
    error: Option<NetError>,
}

impl PingSocket {
    pub(crate) fn new(ident: u16, capacity: usize) -> PingSocket {
        PingSocket {
            ident,
            replies: VecDeque::new(),
            capacity: capacity.max(1),
            error: None,
        }
    }

    pub(crate) fn readiness(&self) -> Readiness {
        Readiness {
            readable: !self.replies.is_empty() || self.error.is_some(),
            writable: true,
            error: self.error.is_some(),
            ..Readiness::default()
        }
    }
}

/// The ping layer: echo sockets over ICMP. It keeps no state of its own (each
/// socket holds its identifier); the engine owns one for symmetry with the
/// other transports.
#[derive(Debug, Default)]
pub(crate) struct Ping;

fn sock_mut(sockets: &mut SocketSet, h: SocketHandle) -> Result<&mut PingSocket, NetError> {
    match sockets.get_mut(h)? {
        Socket::Ping(p) => Ok(p),
        _ => Err(NetError::NotSupported),
    }
}

/// The ping socket using `ident`, if any.
fn by_ident(sockets: &SocketSet, ident: u16) -> Option<SocketHandle> {
    sockets
        .iter()
        .find(|(_, s)| matches!(s, Socket::Ping(p) if p.ident == ident))
        .map(|(h, _)| h)
}

impl Ping {
    /// Opens a ping socket with a fresh identifier from the seeded generator.
    pub(crate) fn open(&mut self, t: &mut Tx<'_>) -> Result<SocketHandle, NetError> {
        let ident = loop {
            let id: u16 = t.rng.next_u32() as u16;
            if by_ident(t.sockets, id).is_none() {
                break id;
            }
        };
        let cap = t.cx.config.icmp.ping_queue;
        t.sockets.insert(Socket::Ping(PingSocket::new(ident, cap)))
    }

    /// Sends an echo request with sequence number `seq` and `payload`.
    pub(crate) fn send(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        dst: Ipv4Addr,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), NetError> {
        let ident = sock_mut(t.sockets, h)?.ident;
        if payload.len() > 65507 {
            return Err(NetError::MessageTooLong);
        }
        let request = IcmpRepr::EchoRequest {
            ident,
            seq,
            data: payload,
        };
        let mut frame = t.cx.pool.alloc(request.len());
        request.emit(&mut frame, HEADROOM);
        let send = IpSend {
            src: t.cx.config.addr,
            dst,
            protocol: PROTO_ICMP,
            ttl: 0,
            tos: 0,
            dont_frag: false,
        };
        t.send(send, frame)?;
        t.cx.counters.inc(Stat::IcmpEchoRequests);
        Ok(())
    }

    /// Takes the next reply, or the pending error (host unreachable, ...).
    pub(crate) fn recv(sockets: &mut SocketSet, h: SocketHandle) -> Result<EchoReply, NetError> {
        let p = sock_mut(sockets, h)?;
        if let Some(e) = p.error.take() {
            return Err(e);
        }
        p.replies.pop_front().ok_or(NetError::WouldBlock)
    }

    /// An echo reply: queued on the socket whose identifier it carries.
    pub(crate) fn input(
        &mut self,
        t: &mut Tx<'_>,
        ip: &Ipv4Repr,
        ident: u16,
        seq: u16,
        data: &[u8],
    ) {
        let Some(h) = by_ident(t.sockets, ident) else {
            return t.cx.counters.drop(DropReason::IcmpNoPingSocket);
        };
        if let Ok(Socket::Ping(p)) = t.sockets.get_mut(h) {
            if p.replies.len() >= p.capacity {
                return t.cx.counters.drop(DropReason::IcmpPingQueueFull);
            }
            p.replies.push_back(EchoReply {
                from: ip.src,
                seq,
                ttl: ip.ttl,
                payload: data.to_vec(),
                at: t.cx.now,
            });
            t.sockets.mark(h);
        }
    }

    /// An ICMP error about an echo request: the socket reports it.
    pub(crate) fn icmp_error(&mut self, t: &mut Tx<'_>, err: IcmpError) {
        let Some(ident) = err.echo_ident else { return };
        if let Some(h) = by_ident(t.sockets, ident) {
            if let Ok(Socket::Ping(p)) = t.sockets.get_mut(h) {
                p.error = Some(err.kind.to_net_error());
            }
            t.sockets.mark(h);
        }
    }
}
