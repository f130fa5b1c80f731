//! The link layer: Ethernet II demultiplexing, ARP (RFC 826) and next-hop
//! resolution with a bounded queue of waiting packets.

pub mod arp;

use arp::ArpCache;

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::config::ArpConfig;
use crate::counters::{DropReason, Stat};
use crate::cx::Cx;
use crate::device::offload::{Offloads, TxMeta};
use crate::ip::Route;
use crate::time::Instant;
use crate::wire::arp::{self as arp_wire, ArpRepr};
use crate::wire::ethernet::{write_header, EthernetFrame};
use crate::wire::{EthernetAddress, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4};

/// The link layer's state: the ARP cache with its waiting packets, the queue of
/// frames for the device, and what the device finishes for us.
#[derive(Debug)]
pub(crate) struct Link {
    arp: ArpCache,
    tx_queue: VecDeque<(Vec<u8>, TxMeta)>,
    offloads: Offloads,
}

/// What a received frame carries up, once the link layer is done with it.
pub(crate) struct LinkInput<'f> {
    /// The IPv4 datagram.
    pub payload: &'f [u8],
    /// The frame was a link-layer broadcast.
    pub broadcast: bool,
}

impl Link {
    /// A link layer with an empty ARP cache bounded by `config`.
    pub(crate) fn new(config: ArpConfig) -> Link {
        Link {
            arp: ArpCache::new(config),
            tx_queue: VecDeque::new(),
            offloads: Offloads::default(),
        }
    }

    /// What the device finishes for us.
    pub(crate) fn offloads(&self) -> Offloads {
        self.offloads
    }

    /// Sets what the device finishes for us.
    pub(crate) fn set_offloads(&mut self, offloads: Offloads) {
        self.offloads = offloads;
    }

    /// The ARP cache (read-only, for views).
    pub(crate) fn arp(&self) -> &ArpCache {
        &self.arp
    }

    /// The next frame for the device.
    pub(crate) fn pop(&mut self) -> Option<(Vec<u8>, TxMeta)> {
        self.tx_queue.pop_front()
    }

    /// Frames waiting for the device.
    pub(crate) fn queued(&self) -> usize {
        self.tx_queue.len()
    }

    /// Puts finished frames at the head of the queue, in order (the pieces of a
    /// frame finished in software for a caller that knows no offloads).
    pub(crate) fn push_front_pieces(&mut self, pieces: impl Iterator<Item = Vec<u8>>) {
        for (i, p) in pieces.enumerate() {
            self.tx_queue.insert(i, (p, TxMeta::default()));
        }
    }

    /// Queues a frame for the device.
    fn push(&mut self, cx: &mut Cx<'_>, frame: Vec<u8>, meta: TxMeta) {
        cx.counters.inc(Stat::TxFrames);
        cx.counters.add(Stat::TxBytes, frame.len() as u64);
        self.tx_queue.push_back((frame, meta));
    }

    /// Ethernet input: checks the destination MAC, answers ARP, and hands an
    /// IPv4 payload up.
    pub(crate) fn input<'f>(&mut self, cx: &mut Cx<'_>, frame: &'f [u8]) -> Option<LinkInput<'f>> {
        let Some(eth) = EthernetFrame::new_checked(frame) else {
            cx.counters.drop(DropReason::EthTruncated);
            return None;
        };
        let dst = eth.dst();
        if dst != cx.config.mac && !dst.is_broadcast() {
            cx.counters.drop(DropReason::EthNotForUs);
            return None;
        }
        let payload = &frame[ETHERNET_HEADER_LEN..];
        match eth.ethertype() {
            ETHERTYPE_IPV4 => Some(LinkInput {
                payload,
                broadcast: dst.is_broadcast(),
            }),
            ETHERTYPE_ARP => {
                self.arp_input(cx, payload);
                None
            }
            _ => {
                cx.counters.drop(DropReason::EthUnknownType);
                None
            }
        }
    }

    /// ARP input (RFC 826 "Packet Reception").
    fn arp_input(&mut self, cx: &mut Cx<'_>, data: &[u8]) {
        let pkt = match ArpRepr::parse(data) {
            Ok(p) => p,
            Err(reason) => return cx.counters.drop(reason),
        };
        let (sha, spa) = (pkt.sender_hw, pkt.sender_ip);
        if !sha.is_unicast() {
            return cx.counters.drop(DropReason::ArpMalformed);
        }
        let (mac, addr) = (cx.config.mac, cx.config.addr);
        let for_us = pkt.target_ip == addr;
        // RFC 826: update an existing entry for the sender whatever the target; add
        // one only when we are the target. An ARP probe (sender 0.0.0.0) teaches nothing.
        if !spa.is_unspecified() && spa != addr {
            let waiting = self.arp.learn(cx.now, spa, sha, for_us);
            if for_us || !waiting.is_empty() {
                cx.counters.inc(Stat::ArpCacheUpdates);
            }
            for mut f in waiting {
                write_header(&mut f, sha, mac, ETHERTYPE_IPV4);
                self.push(cx, f, TxMeta::default());
            }
        }
        if !for_us {
            return cx.counters.drop(DropReason::ArpNotForUs);
        }
        if pkt.operation == arp_wire::REQUEST {
            let reply = ArpRepr {
                operation: arp_wire::REPLY,
                sender_hw: mac,
                sender_ip: addr,
                target_hw: sha,
                target_ip: spa,
            };
            self.send_arp(cx, sha, reply);
            cx.counters.inc(Stat::ArpRepliesSent);
        }
    }

    /// Sends an ARP packet to `dst`.
    fn send_arp(&mut self, cx: &mut Cx<'_>, dst: EthernetAddress, arp: ArpRepr) {
        let mut f = cx.pool.alloc(arp_wire::PACKET_LEN);
        f.truncate(ETHERNET_HEADER_LEN);
        write_header(&mut f, dst, cx.config.mac, ETHERTYPE_ARP);
        arp.emit(&mut f);
        self.push(cx, f, TxMeta::default());
    }

    /// Broadcasts an ARP request for `ip`.
    fn send_arp_request(&mut self, cx: &mut Cx<'_>, ip: Ipv4Addr) {
        let request = ArpRepr {
            operation: arp_wire::REQUEST,
            sender_hw: cx.config.mac,
            sender_ip: cx.config.addr,
            target_hw: EthernetAddress([0; 6]),
            target_ip: ip,
        };
        self.send_arp(cx, EthernetAddress::BROADCAST, request);
        cx.counters.inc(Stat::ArpRequestsSent);
    }

    /// Sends an IPv4 frame (headers from byte 14 on written) to `route`'s next
    /// hop, resolving it first if needed; a frame the device would finish is
    /// finished in software before it waits for ARP. Loopback is the IP layer's.
    pub(crate) fn output(
        &mut self,
        cx: &mut Cx<'_>,
        route: Route,
        mut frame: Vec<u8>,
        meta: TxMeta,
    ) {
        let mac = cx.config.mac;
        let next_hop = match route {
            Route::Broadcast => {
                write_header(&mut frame, EthernetAddress::BROADCAST, mac, ETHERTYPE_IPV4);
                return self.push(cx, frame, meta);
            }
            Route::Loopback => {
                debug_assert!(false, "loopback datagrams never reach the link layer");
                return cx.pool.recycle(frame);
            }
            Route::NextHop(ip) => ip,
        };
        if let Some((dst, refresh)) = self.arp.resolve(cx.now, next_hop) {
            write_header(&mut frame, dst, mac, ETHERTYPE_IPV4);
            self.push(cx, frame, meta);
            if refresh {
                self.send_arp_request(cx, next_hop);
            }
            return;
        }
        if !meta.is_plain() {
            // The pending queue holds plain frames: finish this one in software.
            let pieces = crate::device::offload::finish_owned(&frame, meta, 0);
            cx.pool.recycle(frame);
            for p in pieces {
                self.output(cx, route, p, TxMeta::default());
            }
            return;
        }
        let outcome = self.arp.enqueue(cx.now, next_hop, frame);
        for _ in 0..outcome.dropped {
            cx.counters.drop(DropReason::ArpPendingOverflow);
        }
        if outcome.send_request {
            self.send_arp_request(cx, next_hop);
        }
    }

    /// ARP timers: retries, and the frames whose next hop could not be resolved
    /// (each counted). The caller reports them to their senders as host
    /// unreachable (RFC 1122 2.3.2.1, as Linux does) and recycles them.
    pub(crate) fn poll(&mut self, cx: &mut Cx<'_>) -> Vec<Vec<u8>> {
        let work = self.arp.poll(cx.now);
        for ip in work.requests {
            self.send_arp_request(cx, ip);
        }
        let mut failed = Vec::new();
        for (_ip, frames) in work.failed {
            for frame in frames {
                cx.counters.drop(DropReason::ArpResolutionFailed);
                failed.push(frame);
            }
        }
        failed
    }

    /// Teaches the ARP cache a neighbour.
    #[cfg(test)]
    pub(crate) fn learn(&mut self, now: Instant, ip: Ipv4Addr, mac: EthernetAddress) {
        let _ = self.arp.learn(now, ip, mac, true);
    }

    /// When [`Link::poll`] has work.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.arp.next_deadline()
    }
}
