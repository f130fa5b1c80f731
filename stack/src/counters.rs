//! Counters: every dropped frame is counted with its reason, and the main events of
//! each layer are counted too. Tests assert on counters, not on logs.

use core::fmt;
use core::fmt::Write as _;

macro_rules! counter_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[doc = $doc:literal])* $variant:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[doc = $doc])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// How many values there are.
            pub const COUNT: usize = Self::ALL.len();

            /// A short snake_case name, stable for scripts and tests.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// What it counts, in a sentence (its documentation).
            pub const fn description(self) -> &'static str {
                match self {
                    $($name::$variant => concat!($($doc),*),)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

counter_enum! {
    /// Why a frame, packet or datagram was dropped.
    DropReason {
        /// Frame shorter than an Ethernet header.
        EthTruncated => "eth_truncated",
        /// Destination MAC is neither ours nor broadcast.
        EthNotForUs => "eth_not_for_us",
        /// EtherType we do not speak (IPv6, VLAN, ...).
        EthUnknownType => "eth_unknown_type",
        /// ARP packet too short or not Ethernet/IPv4.
        ArpMalformed => "arp_malformed",
        /// ARP request for an address that is not ours.
        ArpNotForUs => "arp_not_for_us",
        /// Packets that waited for ARP resolution that failed.
        ArpResolutionFailed => "arp_resolution_failed",
        /// Packet evicted from a full ARP pending queue.
        ArpPendingOverflow => "arp_pending_overflow",
        /// IPv4 header too short, bad version, bad lengths.
        Ipv4Malformed => "ipv4_malformed",
        /// IPv4 header checksum mismatch.
        Ipv4BadChecksum => "ipv4_bad_checksum",
        /// Destination address not ours.
        Ipv4NotForUs => "ipv4_not_for_us",
        /// From the wire, a source that cannot be another host's (martian): one of
        /// our addresses, 127/8 or 0/8 (RFC 1122 3.2.1.3; it would loop back to us).
        Ipv4MartianSource => "ipv4_martian_source",
        /// From the wire, a destination in 127/8: loopback stays inside the host
        /// (RFC 1122 3.2.1.3).
        Ipv4MartianDestination => "ipv4_martian_destination",
        /// Source address is broadcast or multicast (martian).
        Ipv4BadSource => "ipv4_bad_source",
        /// Protocol we do not implement (ICMP protocol-unreachable sent if allowed).
        Ipv4UnknownProtocol => "ipv4_unknown_protocol",
        /// No route to the destination (no gateway for an off-link address).
        Ipv4NoRoute => "ipv4_no_route",
        /// Datagram larger than the MTU with DF set.
        Ipv4FragNeeded => "ipv4_frag_needed",
        /// Fragment with bad offset or length (beyond 65535, not a multiple of 8).
        FragMalformed => "frag_malformed",
        /// Fragment overlapping another fragment of the same datagram (whole datagram dropped).
        FragOverlap => "frag_overlap",
        /// Exact duplicate fragment.
        FragDuplicate => "frag_duplicate",
        /// Incomplete datagram discarded after the reassembly timeout.
        FragTimeout => "frag_timeout",
        /// Incomplete datagram dropped because its fragment would take reassembly
        /// past its memory bound.
        FragMemory => "frag_memory",
        /// Fragment of a new datagram refused: the reassembly table is full (its
        /// datagram count or memory bound; as Linux's ipfrag_high_thresh, datagrams
        /// in progress are not evicted).
        FragTableFull => "frag_table_full",
        /// An ICMP error about a TCP segment that is not in flight: its quoted
        /// sequence number is outside [SND.UNA, SND.NXT) (RFC 5927 4.1; Linux's
        /// OutOfWindowIcmps). Forged errors are ignored this way.
        IcmpOutOfWindow => "icmp_out_of_window",
        /// ICMP message too short.
        IcmpMalformed => "icmp_malformed",
        /// ICMP checksum mismatch.
        IcmpBadChecksum => "icmp_bad_checksum",
        /// Echo request to a broadcast address (ignored, as Linux does by default).
        IcmpBroadcastEcho => "icmp_broadcast_echo",
        /// ICMP type we do not act on.
        IcmpUnhandledType => "icmp_unhandled_type",
        /// Echo reply no ping socket was waiting for.
        IcmpNoPingSocket => "icmp_no_ping_socket",
        /// Reply to a ping socket whose queue is full.
        IcmpPingQueueFull => "icmp_ping_queue_full",
        /// UDP header too short or length field inconsistent.
        UdpMalformed => "udp_malformed",
        /// UDP checksum mismatch.
        UdpBadChecksum => "udp_bad_checksum",
        /// No UDP socket bound to the destination port.
        UdpNoSocket => "udp_no_socket",
        /// UDP socket receive queue full.
        UdpQueueFull => "udp_queue_full",
        /// TCP segment too short or bad data offset.
        TcpMalformed => "tcp_malformed",
        /// TCP checksum mismatch.
        TcpBadChecksum => "tcp_bad_checksum",
        /// No TCP socket for the segment (answered with RST where the RFC says so).
        TcpNoSocket => "tcp_no_socket",
        /// SYN ignored because the listener's accept queue is full.
        TcpAcceptQueueFull => "tcp_accept_queue_full",
        /// SYN ignored because the listener's SYN queue is full and SYN cookies
        /// are off.
        TcpSynQueueFull => "tcp_syn_queue_full",
        /// An ACK to a listener that sent SYN cookies lately, whose cookie is
        /// forged or too old (answered with RST; Linux's SyncookiesFailed).
        TcpSynCookieInvalid => "tcp_syn_cookie_invalid",
        /// A segment whose timestamp is older than the newest one taken (RFC 7323
        /// 5.3 PAWS: an old duplicate from a wrapped sequence space); answered
        /// with an ACK (Linux's PAWSEstabRejected).
        TcpPaws => "tcp_paws",
        /// Segment failed the acceptability test (out of window).
        TcpOutOfWindow => "tcp_out_of_window",
        /// Segment dropped by a state rule (bad ACK, RST not acceptable, ...).
        TcpBadSegment => "tcp_bad_segment",
        /// Out-of-order segment that did not fit the reassembly bound.
        TcpOutOfOrderFull => "tcp_out_of_order_full",
        /// ICMP error sent without a token (rate limited).
        IcmpRateLimited => "icmp_rate_limited",
        /// The device refused or lost the frame.
        DeviceTx => "device_tx",
    }
}

counter_enum! {
    /// Events worth counting that are not drops.
    Stat {
        /// Frames received from the device.
        RxFrames => "rx_frames",
        /// Bytes received from the device.
        RxBytes => "rx_bytes",
        /// Frames handed to the device.
        TxFrames => "tx_frames",
        /// Bytes handed to the device.
        TxBytes => "tx_bytes",
        /// ARP requests sent (resolution and retries).
        ArpRequestsSent => "arp_requests_sent",
        /// ARP replies sent.
        ArpRepliesSent => "arp_replies_sent",
        /// ARP entries learned or refreshed.
        ArpCacheUpdates => "arp_cache_updates",
        /// IPv4 datagrams delivered to a transport.
        Ipv4Delivered => "ipv4_delivered",
        /// IPv4 datagrams sent.
        Ipv4Sent => "ipv4_sent",
        /// Fragments received.
        FragsReceived => "frags_received",
        /// Datagrams reassembled from fragments.
        Reassembled => "reassembled",
        /// Fragments sent.
        FragsSent => "frags_sent",
        /// Datagrams looped back to ourselves.
        Loopback => "loopback",
        /// Echo requests answered.
        IcmpEchoReplies => "icmp_echo_replies",
        /// Echo requests sent by ping sockets.
        IcmpEchoRequests => "icmp_echo_requests",
        /// ICMP errors sent (unreachable, time exceeded).
        IcmpErrorsSent => "icmp_errors_sent",
        /// ICMP errors received and passed to transports.
        IcmpErrorsReceived => "icmp_errors_received",
        /// UDP datagrams delivered to a socket.
        UdpDelivered => "udp_delivered",
        /// UDP datagrams sent.
        UdpSent => "udp_sent",
        /// TCP segments received.
        TcpSegmentsIn => "tcp_segments_in",
        /// TCP segments sent.
        TcpSegmentsOut => "tcp_segments_out",
        /// TCP segments retransmitted.
        TcpRetransmits => "tcp_retransmits",
        /// Segments retransmitted by fast recovery (RFC 6675, duplicate ACKs,
        /// NewReno partial ACKs).
        TcpRetransFastRecovery => "tcp_retrans_fast_recovery",
        /// Segments retransmitted because RACK (RFC 8985) found them lost.
        TcpRetransRack => "tcp_retrans_rack",
        /// Tail loss probes sent (RFC 8985 section 7).
        TcpLossProbes => "tcp_loss_probes",
        /// Segments retransmitted after a retransmission timeout.
        TcpRetransTimeout => "tcp_retrans_timeout",
        /// Retransmission timeouts.
        TcpTimeouts => "tcp_timeouts",
        /// Fast recovery episodes.
        TcpRecoveries => "tcp_recoveries",
        /// D-SACK blocks received (RFC 2883).
        TcpDsacksReceived => "tcp_dsacks_received",
        /// Congestion window reductions undone as spurious (RFC 3708, RFC 3522).
        TcpUndos => "tcp_undos",
        /// TCP RSTs sent.
        TcpRstSent => "tcp_rst_sent",
        /// Connections reset at `close` because `max_orphans` connections already
        /// live on alone.
        TcpOrphansReset => "tcp_orphans_reset",
        /// Orphaned connections dropped after `orphan_retries` zero-window probes.
        TcpOrphanProbesExhausted => "tcp_orphan_probes_exhausted",
        /// Challenge ACKs sent (RFC 5961: for a RST or SYN in the window, an ACK
        /// outside the acceptable range).
        TcpChallengeAcks => "tcp_challenge_acks",
        /// ACKs not sent because of a rate limit: the stack's challenge-ACK limit
        /// (RFC 5961 section 7) or a socket's limit on answering bare
        /// unacceptable segments (Linux's tcp_invalid_ratelimit).
        TcpAcksRateLimited => "tcp_acks_rate_limited",
        /// TCP connections established (active or passive).
        TcpEstablished => "tcp_established",
        /// SYN-ACKs sent with a SYN cookie because a listener's SYN queue was
        /// full (RFC 4987; Linux's SyncookiesSent).
        TcpSynCookiesSent => "tcp_syn_cookies_sent",
        /// Connections made from the ACK of a valid SYN cookie (Linux's
        /// SyncookiesRecv).
        TcpSynCookiesValidated => "tcp_syn_cookies_validated",
        /// SYNs we sent with Fast Open data (Linux's TCPFastOpenActive).
        TcpFastOpenActive => "tcp_fast_open_active",
        /// SYN-ACKs that did not acknowledge all our SYN's data: the rest went
        /// again (TCPFastOpenActiveFail).
        TcpFastOpenActiveFail => "tcp_fast_open_active_fail",
        /// Connections a listener made on their SYN's data (TCPFastOpenPassive).
        TcpFastOpenPassive => "tcp_fast_open_passive",
        /// SYNs with a wrong Fast Open cookie (TCPFastOpenPassiveFail).
        TcpFastOpenPassiveFail => "tcp_fast_open_passive_fail",
        /// Fast Open cookies sent on request (TCPFastOpenCookieReqd counts
        /// the requests).
        TcpFastOpenCookieSent => "tcp_fast_open_cookie_sent",
        /// Closed connections that entered TIME-WAIT as a compact record.
        TcpTimeWaitEntered => "tcp_time_wait_entered",
        /// Closed connections that skipped TIME-WAIT because `max_time_wait`
        /// records were held (Linux's TCPTimeWaitOverflow).
        TcpTimeWaitOverflow => "tcp_time_wait_overflow",
        /// TIME-WAIT records ended early by a RST at RCV.NXT.
        TcpTimeWaitKilled => "tcp_time_wait_killed",
        /// TIME-WAIT records ended by a new connection's SYN (RFC 6191).
        TcpTimeWaitReopened => "tcp_time_wait_reopened",
    }
}

/// All counters of one stack.
#[derive(Clone, PartialEq, Eq)]
pub struct Counters {
    drops: [u64; DropReason::COUNT],
    stats: [u64; Stat::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            drops: [0; DropReason::COUNT],
            stats: [0; Stat::COUNT],
        }
    }
}

impl Counters {
    /// Counts one drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    /// Adds `n` to a statistic.
    #[inline]
    pub fn add(&mut self, stat: Stat, n: u64) {
        self.stats[stat as usize] += n;
    }

    /// Counts one event.
    #[inline]
    pub fn inc(&mut self, stat: Stat) {
        self.add(stat, 1);
    }

    /// Drops counted for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// The value of a statistic.
    pub fn stat(&self, stat: Stat) -> u64 {
        self.stats[stat as usize]
    }

    /// All drops, whatever the reason.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Non-zero drop counters, in declaration order.
    pub fn nonzero_drops(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.drops(r)))
            .filter(|&(_, n)| n > 0)
    }

    /// Non-zero statistics, in declaration order.
    pub fn nonzero_stats(&self) -> impl Iterator<Item = (Stat, u64)> + '_ {
        Stat::ALL
            .iter()
            .map(|&s| (s, self.stat(s)))
            .filter(|&(_, n)| n > 0)
    }
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (s, n) in self.nonzero_stats() {
            m.entry(&s.name(), &n);
        }
        for (r, n) in self.nonzero_drops() {
            m.entry(&format_args!("drop.{}", r.name()), &n);
        }
        m.finish()
    }
}

impl Counters {
    /// Like the `Display` form, with what each counter counts after it.
    pub fn explained(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, name: &str, n: u64, what: &str| {
            let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
            let _ = writeln!(out, "{name:<28} {n:>8}  {what}");
        };
        for (s, n) in self.nonzero_stats() {
            line(&mut out, s.name(), n, s.description());
        }
        for (r, n) in self.nonzero_drops() {
            line(&mut out, &format!("drop.{}", r.name()), n, r.description());
        }
        out
    }
}

impl fmt::Display for Counters {
    /// One `name value` line per non-zero counter; drops are prefixed `drop.`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (s, n) in self.nonzero_stats() {
            writeln!(f, "{:<28} {n}", s.name())?;
        }
        for (r, n) in self.nonzero_drops() {
            writeln!(f, "{:<28} {n}", format!("drop.{}", r.name()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_prints_nonzero() {
        let mut c = Counters::default();
        c.drop(DropReason::Ipv4BadChecksum);
        c.drop(DropReason::Ipv4BadChecksum);
        c.inc(Stat::RxFrames);
        assert_eq!(c.drops(DropReason::Ipv4BadChecksum), 2);
        assert_eq!(c.total_drops(), 2);
        let text = c.to_string();
        assert!(text.contains("drop.ipv4_bad_checksum"), "{text}");
        assert!(text.contains("rx_frames"), "{text}");
        assert!(!text.contains("tx_frames"), "{text}");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.extend(Stat::ALL.iter().map(|s| s.name()));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
