//! The link layer: Ethernet II demultiplexing, ARP (RFC 826) and next-hop
//! resolution with a bounded queue of waiting packets.

pub mod arp;

use std::net::Ipv4Addr;

use crate::counters::{DropReason, Stat};
use crate::engine::Engine;
use crate::ip::icmp::{IcmpError, IcmpErrorKind, HOST_UNREACHABLE};
use crate::ip::Route;
use crate::time::Instant;
use crate::wire::ethernet::write_header;
use crate::wire::offload::TxMeta;
use crate::wire::{read_u16, EthernetAddress, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4};

const ARP_LEN: usize = 28;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;

impl Engine {
    /// Ethernet input: checks the destination MAC and hands the payload to ARP or IPv4.
    pub(crate) fn link_input(&mut self, now: Instant, frame: &[u8]) {
        if frame.len() < ETHERNET_HEADER_LEN {
            return self.counters.drop(DropReason::EthTruncated);
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[0..6]);
        let dst = EthernetAddress(dst);
        if dst != self.config.mac && !dst.is_broadcast() {
            return self.counters.drop(DropReason::EthNotForUs);
        }
        self.rx_link_broadcast = dst.is_broadcast();
        let payload = &frame[ETHERNET_HEADER_LEN..];
        match read_u16(frame, 12) {
            Some(ETHERTYPE_IPV4) => self.ip_input(now, payload),
            Some(ETHERTYPE_ARP) => self.arp_input(now, payload),
            _ => self.counters.drop(DropReason::EthUnknownType),
        }
        self.rx_link_broadcast = false;
    }

    /// ARP input (RFC 826 "Packet Reception").
    fn arp_input(&mut self, now: Instant, data: &[u8]) {
        let Ok(pkt) = etherparse::ArpPacketSlice::from_slice(data) else {
            return self.counters.drop(DropReason::ArpMalformed);
        };
        if pkt.hw_addr_type() != etherparse::ArpHardwareId::ETHERNET
            || pkt.proto_addr_type() != etherparse::EtherType::IPV4
            || pkt.hw_addr_size() != 6
            || pkt.proto_addr_size() != 4
        {
            return self.counters.drop(DropReason::ArpMalformed);
        }
        let op = pkt.operation().0;
        if op != ARP_REQUEST && op != ARP_REPLY {
            return self.counters.drop(DropReason::ArpMalformed);
        }
        let mut sha = [0u8; 6];
        sha.copy_from_slice(pkt.sender_hw_addr());
        let sha = EthernetAddress(sha);
        let spa = ipv4_from(pkt.sender_protocol_addr());
        let tpa = ipv4_from(pkt.target_protocol_addr());
        if !sha.is_unicast() {
            return self.counters.drop(DropReason::ArpMalformed);
        }
        let for_us = tpa == self.config.addr;
        // RFC 826: update an existing entry for the sender whatever the target; add
        // one only when we are the target. An ARP probe (sender 0.0.0.0) teaches nothing.
        if !spa.is_unspecified() && spa != self.config.addr {
            let waiting = self.arp.learn(now, spa, sha, for_us);
            if for_us || !waiting.is_empty() {
                self.counters.inc(Stat::ArpCacheUpdates);
            }
            for mut f in waiting {
                write_header(&mut f, sha, self.config.mac, ETHERTYPE_IPV4);
                self.push_frame(f);
            }
        }
        if !for_us {
            return self.counters.drop(DropReason::ArpNotForUs);
        }
        if op == ARP_REQUEST {
            let mut f = self.alloc_frame(ARP_LEN);
            f.truncate(ETHERNET_HEADER_LEN);
            write_header(&mut f, sha, self.config.mac, ETHERTYPE_ARP);
            push_arp(
                &mut f,
                ARP_REPLY,
                self.config.mac,
                self.config.addr,
                sha,
                spa,
            );
            self.counters.inc(Stat::ArpRepliesSent);
            self.push_frame(f);
        }
    }

    /// Broadcasts an ARP request for `ip`.
    pub(crate) fn send_arp_request(&mut self, ip: Ipv4Addr) {
        let mut f = self.alloc_frame(ARP_LEN);
        f.truncate(ETHERNET_HEADER_LEN);
        write_header(
            &mut f,
            EthernetAddress::BROADCAST,
            self.config.mac,
            ETHERTYPE_ARP,
        );
        push_arp(
            &mut f,
            ARP_REQUEST,
            self.config.mac,
            self.config.addr,
            EthernetAddress([0; 6]),
            ip,
        );
        self.counters.inc(Stat::ArpRequestsSent);
        self.push_frame(f);
    }

    /// Sends an IPv4 frame (headers from byte 14 on written) to `route`'s next hop,
    /// resolving it first if needed.
    pub(crate) fn link_send(&mut self, now: Instant, route: Route, frame: Vec<u8>) {
        self.link_send_meta(now, route, frame, TxMeta::default());
    }

    /// [`Engine::link_send`] for a frame that may need finishing by the device.
    pub(crate) fn link_send_meta(
        &mut self,
        now: Instant,
        route: Route,
        mut frame: Vec<u8>,
        meta: TxMeta,
    ) {
        let next_hop = match route {
            Route::Broadcast => {
                write_header(
                    &mut frame,
                    EthernetAddress::BROADCAST,
                    self.config.mac,
                    ETHERTYPE_IPV4,
                );
                return self.push_frame_meta(frame, meta);
            }
            Route::Loopback => {
                // Our own input verifies checksums: finish in software first.
                if meta.is_plain() {
                    frame.drain(..ETHERNET_HEADER_LEN);
                    self.loopback.push_back(frame);
                } else {
                    let pieces =
                        crate::wire::offload::finish_owned(&frame, meta, ETHERNET_HEADER_LEN);
                    self.loopback.extend(pieces);
                    self.recycle(frame);
                }
                return;
            }
            Route::NextHop(ip) => ip,
        };
        if let Some(mac) = self.arp.lookup(now, next_hop) {
            write_header(&mut frame, mac, self.config.mac, ETHERTYPE_IPV4);
            self.push_frame_meta(frame, meta);
            if self.arp.refresh_due(now, next_hop) {
                self.send_arp_request(next_hop);
            }
            return;
        }
        if !meta.is_plain() {
            // The pending queue holds plain frames: finish this one in software.
            let pieces = crate::wire::offload::finish_owned(&frame, meta, 0);
            self.recycle(frame);
            for p in pieces {
                self.link_send_meta(now, route, p, TxMeta::default());
            }
            return;
        }
        let outcome = self.arp.enqueue(now, next_hop, frame);
        for _ in 0..outcome.dropped {
            self.counters.drop(DropReason::ArpPendingOverflow);
        }
        if outcome.send_request {
            self.send_arp_request(next_hop);
        }
    }

    /// ARP timers: retries, and failures reported to the senders as host unreachable.
    pub(crate) fn arp_poll(&mut self, now: Instant) {
        let work = self.arp.poll(now);
        for ip in work.requests {
            self.send_arp_request(ip);
        }
        for (_ip, frames) in work.failed {
            for frame in frames {
                self.counters.drop(DropReason::ArpResolutionFailed);
                // RFC 1122 2.3.2.1 / Linux: the sender learns "host unreachable".
                let quote = frame.get(ETHERNET_HEADER_LEN..).unwrap_or(&[]);
                if let Some(err) = IcmpError::from_quote(
                    IcmpErrorKind::Unreachable(HOST_UNREACHABLE),
                    self.config.addr,
                    quote,
                ) {
                    self.transport_error(now, err);
                }
                self.recycle(frame);
            }
        }
    }
}

fn ipv4_from(b: &[u8]) -> Ipv4Addr {
    match b {
        [a, b, c, d] => Ipv4Addr::new(*a, *b, *c, *d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

fn push_arp(
    f: &mut Vec<u8>,
    op: u16,
    sha: EthernetAddress,
    spa: Ipv4Addr,
    tha: EthernetAddress,
    tpa: Ipv4Addr,
) {
    f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha.0);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha.0);
    f.extend_from_slice(&tpa.octets());
}
