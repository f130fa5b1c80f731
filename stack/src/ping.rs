//! ICMP echo ("ping") sockets: send echo requests, receive the matching replies.
//! Used by `netstack ping` and the demo; like Linux's unprivileged ICMP sockets, a
//! socket owns an identifier and sees only replies carrying it.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::counters::{DropReason, Stat};
use crate::engine::Engine;
use crate::error::NetError;
use crate::ip::icmp::{IcmpError, ECHO_REQUEST};
use crate::ip::{IpSend, Ipv4Repr};
use crate::socket::{Readiness, Socket, SocketHandle};
use crate::time::Instant;
use crate::wire::{checksum, read_u16, HEADROOM, PROTO_ICMP};

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

impl Engine {
    fn ping_mut(&mut self, h: SocketHandle) -> Result<&mut PingSocket, NetError> {
        match self.sockets.get_mut(h)? {
            Socket::Ping(p) => Ok(p),
            _ => Err(NetError::NotSupported),
        }
    }

    /// Opens a ping socket with a fresh identifier from the seeded generator.
    pub fn ping_open(&mut self) -> Result<SocketHandle, NetError> {
        let ident = loop {
            let id: u16 = self.random_u32() as u16;
            let taken = self
                .sockets
                .iter()
                .any(|(_, s)| matches!(s, Socket::Ping(p) if p.ident == id));
            if !taken {
                break id;
            }
        };
        let cap = self.config.icmp.ping_queue;
        self.sockets
            .insert(Socket::Ping(PingSocket::new(ident, cap)))
    }

    /// Sends an echo request with sequence number `seq` and `payload`.
    pub fn ping_send(
        &mut self,
        now: Instant,
        h: SocketHandle,
        dst: Ipv4Addr,
        seq: u16,
        payload: &[u8],
    ) -> Result<(), NetError> {
        let ident = self.ping_mut(h)?.ident;
        if payload.len() > 65507 {
            return Err(NetError::MessageTooLong);
        }
        let mut frame = self.alloc_frame(8 + payload.len());
        frame.extend_from_slice(&[ECHO_REQUEST, 0, 0, 0]);
        frame.extend_from_slice(&ident.to_be_bytes());
        frame.extend_from_slice(&seq.to_be_bytes());
        frame.extend_from_slice(payload);
        let c = checksum::checksum(&frame[HEADROOM..]);
        frame[HEADROOM + 2..HEADROOM + 4].copy_from_slice(&c.to_be_bytes());
        let send = IpSend {
            src: self.config.addr,
            dst,
            protocol: PROTO_ICMP,
            ttl: 0,
            tos: 0,
            dont_frag: false,
        };
        self.ip_send(now, send, frame)?;
        self.counters.inc(Stat::IcmpEchoRequests);
        self.after_socket_call(now);
        Ok(())
    }

    /// Takes the next reply, or the pending error (host unreachable, ...).
    pub fn ping_recv(&mut self, h: SocketHandle) -> Result<EchoReply, NetError> {
        let p = self.ping_mut(h)?;
        if let Some(e) = p.error.take() {
            return Err(e);
        }
        p.replies.pop_front().ok_or(NetError::WouldBlock)
    }

    pub(crate) fn ping_input(&mut self, now: Instant, ip: &Ipv4Repr, msg: &[u8]) {
        let ident = read_u16(msg, 4).unwrap_or(0);
        let seq = read_u16(msg, 6).unwrap_or(0);
        let target = self
            .sockets
            .iter()
            .find(|(_, s)| matches!(s, Socket::Ping(p) if p.ident == ident))
            .map(|(h, _)| h);
        let Some(h) = target else {
            return self.counters.drop(DropReason::IcmpNoPingSocket);
        };
        if let Ok(Socket::Ping(p)) = self.sockets.get_mut(h) {
            if p.replies.len() >= p.capacity {
                return self.counters.drop(DropReason::IcmpPingQueueFull);
            }
            p.replies.push_back(EchoReply {
                from: ip.src,
                seq,
                ttl: ip.ttl,
                payload: msg[8..].to_vec(),
                at: now,
            });
            self.sockets.mark(h);
        }
    }

    pub(crate) fn ping_icmp_error(&mut self, _now: Instant, err: IcmpError) {
        let Some(ident) = err.echo_ident else { return };
        let target = self
            .sockets
            .iter()
            .find(|(_, s)| matches!(s, Socket::Ping(p) if p.ident == ident))
            .map(|(h, _)| h);
        if let Some(h) = target {
            if let Ok(Socket::Ping(p)) = self.sockets.get_mut(h) {
                p.error = Some(err.kind.to_net_error());
            }
            self.sockets.mark(h);
        }
    }
}
