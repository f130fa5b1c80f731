//! Stack configuration: addresses, limits, timers and the seed.
//!
//! Every bound on memory lives here (invariant 4), and so does the seed from which all
//! of the engine's randomness is derived (invariant 1).

use std::net::Ipv4Addr;

use crate::tcp::recovery::congestion::CongestionAlgorithm;
use crate::time::Duration;
use crate::wire::EthernetAddress;

/// ARP cache and resolution settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ArpConfig {
    /// How long a resolved entry is trusted (Linux: about 30 s reachable, then stale).
    pub cache_ttl: Duration,
    /// Interval between requests while resolving (Linux `retrans_time_ms`: 1 s).
    pub retry_interval: Duration,
    /// Requests sent before resolution fails (Linux `mcast_solicit`: 3).
    pub max_requests: u32,
    /// Packets queued per unresolved neighbour; the oldest is dropped beyond this.
    pub pending_per_neighbor: usize,
    /// Packets queued for resolution across all neighbours.
    pub pending_total: usize,
    /// Maximum number of cache entries.
    pub max_entries: usize,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            cache_ttl: Duration::from_secs(60),
            retry_interval: Duration::from_secs(1),
            max_requests: 3,
            pending_per_neighbor: 64,
            pending_total: 1024,
            max_entries: 1024,
        }
    }
}

/// IPv4 settings.
#[derive(Clone, Debug, PartialEq)]
pub struct IpConfig {
    /// TTL of datagrams we send (never zero: RFC 1122 3.2.1.7).
    pub default_ttl: u8,
    /// How long an incomplete datagram may wait for its fragments (RFC 1122 3.3.2: 60 s
    /// to 120 s recommended; Linux uses 30 s).
    pub reassembly_timeout: Duration,
    /// Bytes all incomplete datagrams may hold together; the oldest is evicted beyond.
    pub reassembly_memory: usize,
    /// Incomplete datagrams held at once.
    pub max_reassemblies: usize,
}

impl Default for IpConfig {
    fn default() -> Self {
        IpConfig {
            default_ttl: 64,
            reassembly_timeout: Duration::from_secs(30),
            reassembly_memory: 4 * 1024 * 1024,
            max_reassemblies: 256,
        }
    }
}

/// ICMP settings.
#[derive(Clone, Debug, PartialEq)]
pub struct IcmpConfig {
    /// ICMP errors we may send per second (token bucket refill; Linux
    /// `icmp_msgs_per_sec`: 1000).
    pub errors_per_sec: u32,
    /// Token bucket size (Linux `icmp_msgs_burst`: 50).
    pub error_burst: u32,
    /// Echo replies held per ping socket.
    pub ping_queue: usize,
}

impl Default for IcmpConfig {
    fn default() -> Self {
        IcmpConfig {
            errors_per_sec: 1000,
            error_burst: 50,
            ping_queue: 64,
        }
    }
}

/// Port allocation.
#[derive(Clone, Debug, PartialEq)]
pub struct PortConfig {
    /// First ephemeral port (Linux's `ip_local_port_range`: 32768; IANA's
    /// range, RFC 6335, starts at 49152).
    pub ephemeral_first: u16,
    /// Last ephemeral port (Linux: 60999; IANA: 65535).
    pub ephemeral_last: u16,
    /// Whether binding ports below 1024 is allowed (else `EACCES`).
    pub privileged: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            // Linux's 28,232 ports rather than IANA's 16,384: a client that
            // closes first leaves each in TIME-WAIT for 60 s.
            ephemeral_first: 32768,
            ephemeral_last: 60999,
            privileged: false,
        }
    }
}

/// UDP settings.
#[derive(Clone, Debug, PartialEq)]
pub struct UdpConfig {
    /// Default receive buffer in bytes (`SO_RCVBUF`), counted as payload bytes queued.
    pub recv_buffer: usize,
    /// Largest receive buffer a socket may ask for.
    pub max_recv_buffer: usize,
    /// Default send buffer (`SO_SNDBUF`); UDP sends are immediate, this only bounds
    /// what a socket reports and accepts.
    pub send_buffer: usize,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            recv_buffer: 212_992,
            max_recv_buffer: 4 * 1024 * 1024,
            send_buffer: 212_992,
        }
    }
}

/// TCP settings. Defaults follow Linux where it has a knob of the same meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpConfig {
    /// Default send buffer (`SO_SNDBUF`).
    pub send_buffer: usize,
    /// Default receive buffer (`SO_RCVBUF`): what a connection starts with. With
    /// [`TcpConfig::moderate_rcvbuf`] it grows from there; otherwise the advertised
    /// window is at most this.
    pub recv_buffer: usize,
    /// Receive-buffer autotuning, Linux's `tcp_moderate_rcvbuf`: a connection whose
    /// user did not set `SO_RCVBUF` grows its receive buffer, once per round trip,
    /// to twice what the application read in the last one (the measured
    /// bandwidth-delay product, with room for the sender's growth), up to
    /// [`TcpConfig::max_recv_buffer_auto`]. The window scale is chosen for that
    /// limit. Memory follows the data either way: the limit is not an allocation.
    pub moderate_rcvbuf: bool,
    /// Largest receive buffer autotuning grows to (Linux's `tcp_rmem[2]`, 6 MiB).
    pub max_recv_buffer_auto: usize,
    /// Largest buffer a socket may ask for.
    pub max_buffer: usize,
    /// Maximum segment lifetime; TIME-WAIT lasts twice this (Linux: 60 s in all).
    pub msl: Duration,
    /// SYN retransmissions before `connect` fails with `ETIMEDOUT` (`tcp_syn_retries`).
    pub syn_retries: u32,
    /// SYN-ACK retransmissions before a half-open connection is dropped.
    pub synack_retries: u32,
    /// Data retransmissions before the connection fails with `ETIMEDOUT`
    /// (`tcp_retries2`).
    pub retries: u32,
    /// Initial retransmission timeout (RFC 6298: 1 s).
    pub initial_rto: Duration,
    /// Lower bound of the RTO (Linux: 200 ms).
    pub min_rto: Duration,
    /// Upper bound of the RTO (Linux: 120 s).
    pub max_rto: Duration,
    /// Delayed ACK timeout (Linux: 40 ms minimum; RFC 1122 allows up to 500 ms).
    pub delayed_ack: Duration,
    /// Idle time before keep-alive probes (`tcp_keepalive_time`: 2 h).
    pub keepalive_time: Duration,
    /// Interval between keep-alive probes (`tcp_keepalive_intvl`: 75 s).
    pub keepalive_interval: Duration,
    /// Unanswered probes before the connection is dropped (`tcp_keepalive_probes`: 9).
    pub keepalive_probes: u32,
    /// A connection whose user closed it (an orphan) gives up after this many
    /// retransmissions, or zero-window probes, without progress (Linux's
    /// `tcp_orphan_retries`, which means 8): a peer that keeps its window shut
    /// cannot pin it forever.
    pub orphan_retries: u32,
    /// Most connections closed by their user that may live on to finish (Linux's
    /// `tcp_max_orphans`); past it, a close resets the connection instead.
    pub max_orphans: usize,
    /// How long an orphaned connection may stay in FIN-WAIT-2 (`tcp_fin_timeout`).
    pub fin_timeout: Duration,
    /// Upper bound of `listen`'s backlog (`somaxconn`: 128, Linux's default before
    /// 5.4).
    pub somaxconn: u32,
    /// Half-open connections a listener may hold (`tcp_max_syn_backlog`); they do
    /// not count against the backlog, which bounds the accept queue.
    pub max_syn_backlog: usize,
    /// Connections in TIME-WAIT kept at most (Linux's `tcp_max_tw_buckets`); each
    /// is a record of about 50 bytes. Past it a closed connection skips
    /// TIME-WAIT.
    pub max_time_wait: usize,
    /// Answer SYNs with SYN cookies when the SYN queue is full (RFC 4987;
    /// Linux's `tcp_syncookies` = 1); off, such SYNs are dropped.
    pub syn_cookies: bool,
    /// Out-of-order ranges held per connection.
    pub max_ooo_ranges: usize,
    /// Offer window scaling (RFC 7323).
    pub window_scaling: bool,
    /// Round both socket buffers up to a whole number of segments when the MSS
    /// is agreed, as 4.4BSD's `tcp_mss` does and FreeBSD still does (a 65,536
    /// byte receive buffer becomes 65,700 with a 1,460-byte MSS). Linux does
    /// not; off by default.
    pub round_buffers_to_mss: bool,
    /// Advertise the whole free receive buffer on every segment, as 4.4BSD's
    /// and FreeBSD's `tcp_output` do (a window below a quarter of the buffer
    /// and below one segment is offered as zero), instead of RFC 9293's
    /// receiver silly-window avoidance, which opens the window in steps of
    /// min(buffer / 2, MSS) as Linux does. Off by default.
    pub bsd_receive_window: bool,
    /// Linux's quick-ACK mode: the first data of a connection (and data
    /// after an idle gap longer than the RTO) is acknowledged at once, for as
    /// many ACKs as half the window has segments (2 to 16), unless the
    /// exchange is interactive. Off, a lone segment waits for the delayed-ACK
    /// timer from the start, as BSD stacks do.
    pub quick_ack: bool,
    /// Offer timestamps (RFC 7323).
    pub timestamps: bool,
    /// Offer SACK (RFC 2018).
    pub sack: bool,
    /// Initial congestion window in segments (RFC 6928: 10, as Linux).
    pub initial_window: u32,
    /// Congestion control for new connections (`TCP_CONGESTION` changes it per
    /// socket); CUBIC, as Linux's `net.ipv4.tcp_congestion_control`.
    pub congestion_control: CongestionAlgorithm,
    /// Challenge ACKs per second, for the whole stack (RFC 5961 section 7; Linux's
    /// tcp_challenge_ack_limit, 1000).
    pub challenge_acks_per_sec: u32,
    /// Per connection, at most one ACK per this interval answers bare
    /// unacceptable segments (out of window, failing PAWS, challenges), so two
    /// desynchronised peers cannot ACK-storm (Linux's tcp_invalid_ratelimit,
    /// 500 ms).
    pub invalid_ack_interval: Duration,
    /// TCP Fast Open (RFC 7413): data on the SYN.
    pub fast_open: FastOpenConfig,
}

/// TCP Fast Open (RFC 7413), as Linux's `net.ipv4.tcp_fastopen` and
/// `tcp_fastopen_key`.
///
/// A listener takes data on SYNs once the application sets `TCP_FASTOPEN` on
/// it (the length of its queue of connections accepted before their
/// handshake completed); a client sends data on its SYN with
/// `sendto(MSG_FASTOPEN)` once it holds a cookie from that server. Both are
/// enabled by default; Linux's default (`tcp_fastopen` = 1) leaves the server
/// side off until the administrator turns it on, here the `TCP_FASTOPEN`
/// option alone decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FastOpenConfig {
    /// Clients may send data on the SYN (Linux's bit 0x1).
    pub client: bool,
    /// Listeners may take data on the SYN (0x2).
    pub server: bool,
    /// Clients send data on the SYN without a cookie, and no cookie option
    /// (0x4).
    pub client_without_cookie: bool,
    /// Listeners take data on any SYN, cookie or not (0x200).
    pub server_without_cookie: bool,
    /// Every listener takes Fast Open SYNs with a queue of this length
    /// without the `TCP_FASTOPEN` option (0x400, the length in bits 16 and
    /// up).
    pub server_without_sockopt: Option<u32>,
    /// The cookie key (SipHash-2-4 of the client's and our address, as Linux's
    /// cookies). `None`: derived from the stack's secret.
    pub key: Option<[u8; 16]>,
    /// Servers whose cookie and MSS a client remembers (Linux keeps them in
    /// its TCP metrics cache); the least recently used goes first.
    pub cache_entries: usize,
}

impl Default for FastOpenConfig {
    fn default() -> Self {
        FastOpenConfig {
            client: true,
            server: true,
            client_without_cookie: false,
            server_without_cookie: false,
            server_without_sockopt: None,
            key: None,
            cache_entries: 1024,
        }
    }
}

impl FastOpenConfig {
    /// The configuration a Linux host has with `net.ipv4.tcp_fastopen` set to
    /// `flags` (the key and the cache size keep their defaults).
    pub fn from_linux_sysctl(flags: u32) -> FastOpenConfig {
        FastOpenConfig {
            client: flags & 0x1 != 0,
            server: flags & 0x2 != 0,
            client_without_cookie: flags & 0x4 != 0,
            server_without_cookie: flags & 0x200 != 0,
            server_without_sockopt: (flags & 0x400 != 0).then_some(flags >> 16),
            ..FastOpenConfig::default()
        }
    }

    /// Parses a key written as Linux's `tcp_fastopen_key` sysctl shows it:
    /// four 32-bit hexadecimal words joined by dashes.
    pub fn parse_linux_key(text: &str) -> Option<[u8; 16]> {
        let words: Vec<&str> = text.trim().split('-').collect();
        if words.len() != 4 {
            return None;
        }
        let mut key = [0u8; 16];
        for (chunk, w) in key.chunks_exact_mut(4).zip(words) {
            // Linux stores each word little-endian (`cpu_to_le32`).
            chunk.copy_from_slice(&u32::from_str_radix(w, 16).ok()?.to_le_bytes());
        }
        Some(key)
    }
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            moderate_rcvbuf: true,
            max_recv_buffer_auto: 6 * 1024 * 1024,
            max_buffer: 16 * 1024 * 1024,
            msl: Duration::from_secs(30),
            syn_retries: 6,
            synack_retries: 5,
            retries: 15,
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            delayed_ack: Duration::from_millis(40),
            keepalive_time: Duration::from_secs(7200),
            keepalive_interval: Duration::from_secs(75),
            keepalive_probes: 9,
            orphan_retries: 8,
            max_orphans: 4096,
            fin_timeout: Duration::from_secs(60),
            somaxconn: 128,
            max_syn_backlog: 256,
            syn_cookies: true,
            max_time_wait: 262_144,
            max_ooo_ranges: 64,
            window_scaling: true,
            round_buffers_to_mss: false,
            bsd_receive_window: false,
            quick_ack: true,
            timestamps: true,
            sack: true,
            initial_window: 10,
            congestion_control: CongestionAlgorithm::Cubic,
            challenge_acks_per_sec: 1000,
            invalid_ack_interval: Duration::from_millis(500),
            fast_open: FastOpenConfig::default(),
        }
    }
}

/// Error from [`StackConfig::validate`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid stack configuration: {0}")]
pub struct ConfigError(pub String);

/// Everything a stack needs to know about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct StackConfig {
    /// Our MAC address.
    pub mac: EthernetAddress,
    /// Our IPv4 address.
    pub addr: Ipv4Addr,
    /// Prefix length of the on-link network.
    pub prefix_len: u8,
    /// Default gateway for off-link destinations.
    pub gateway: Option<Ipv4Addr>,
    /// IP MTU of the link (1500 on Ethernet).
    pub mtu: usize,
    /// Seed of every random choice (ISNs, ports, IP ids, timestamp offsets) of an
    /// engine on its own (simulations, drill, tests). Under a [`Runtime`](crate::runtime::Runtime)
    /// the choices come from a secret the runtime draws from the operating system
    /// instead, unless `deterministic` is set: anyone who knows a seed could
    /// predict them.
    pub seed: u64,
    /// Keep every random choice derived from `seed`, also under a runtime (a
    /// reproducible demo or capture; never on a link an attacker can reach).
    pub deterministic: bool,
    /// Maximum number of sockets.
    pub max_sockets: usize,
    /// Descriptors the BSD socket layer hands out (its `ulimit -n`): enough for
    /// tens of thousands of connections. `select` only sees descriptors below
    /// `FD_SETSIZE` (1024), as in C; `poll` sees them all.
    pub max_fds: usize,
    /// Under a runtime, busy polling: how long a thread blocked in a call on
    /// one socket (`recv`, `send`, `accept`, `connect`; not `select` or `poll`)
    /// watches for a change before it sleeps (Linux's `net.core.busy_read`,
    /// there 0 by default), and how long the driver goes on reading the device
    /// after a frame before it sleeps (Linux's `net.core.busy_poll`). Waking a
    /// sleeping thread costs tens of microseconds on an idle core, more than a
    /// request/response exchange over a TAP takes; each thread spends at most
    /// this much processor time per wait, yielding the processor at each look,
    /// and all stop for 100 ms when a look finds the processors busy with
    /// other work. Zero turns it off.
    pub busy_poll: Duration,
    /// ARP.
    pub arp: ArpConfig,
    /// IPv4.
    pub ip: IpConfig,
    /// ICMP.
    pub icmp: IcmpConfig,
    /// Ports.
    pub ports: PortConfig,
    /// UDP.
    pub udp: UdpConfig,
    /// TCP.
    pub tcp: TcpConfig,
}

impl StackConfig {
    /// A configuration with defaults for everything but the address; the MAC address
    /// is derived from the address so two stacks on one link differ.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> StackConfig {
        let seed = u32::from(addr) as u64;
        StackConfig {
            mac: EthernetAddress::local_from_seed(seed),
            addr,
            prefix_len,
            gateway: None,
            mtu: 1500,
            seed,
            deterministic: false,
            max_sockets: 65536,
            max_fds: 65536,
            busy_poll: Duration::from_micros(50),
            arp: ArpConfig::default(),
            ip: IpConfig::default(),
            icmp: IcmpConfig::default(),
            ports: PortConfig::default(),
            udp: UdpConfig::default(),
            tcp: TcpConfig::default(),
        }
    }

    /// The network mask.
    pub fn netmask(&self) -> Ipv4Addr {
        let bits = self.prefix_len.min(32) as u32;
        let mask = if bits == 0 {
            0
        } else {
            u32::MAX << (32 - bits)
        };
        Ipv4Addr::from(mask)
    }

    /// The directed broadcast address of the on-link network.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !u32::from(self.netmask()))
    }

    /// True when `dst` is on the local network.
    pub fn is_on_link(&self, dst: Ipv4Addr) -> bool {
        let m = u32::from(self.netmask());
        u32::from(dst) & m == u32::from(self.addr) & m
    }

    /// Checks the configuration for values the engine cannot work with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |s: &str| Err(ConfigError(s.to_string()));
        if self.prefix_len > 32 {
            return err("prefix length must be 0..=32");
        }
        if self.busy_poll > Duration::from_millis(100) {
            return err("busy poll must be at most 100 ms");
        }
        if self.addr.is_unspecified() || self.addr.is_broadcast() || self.addr.is_multicast() {
            return err("address must be a unicast address");
        }
        if !(68..=65535).contains(&self.mtu) {
            return err("MTU must be 68..=65535 (RFC 791 minimum 68)");
        }
        if !self.mac.is_unicast() {
            return err("MAC address must be unicast");
        }
        if let Some(gw) = self.gateway {
            if !self.is_on_link(gw) {
                return err("gateway must be on the local network");
            }
        }
        if self.ip.default_ttl == 0 {
            return err("TTL must not be zero (RFC 1122 3.2.1.7)");
        }
        if self.ports.ephemeral_first > self.ports.ephemeral_last || self.ports.ephemeral_first == 0
        {
            return err("ephemeral port range must be non-empty and exclude 0");
        }
        if self.tcp.send_buffer == 0 || self.tcp.recv_buffer == 0 || self.tcp.max_ooo_ranges == 0 {
            return err("TCP buffers and out-of-order ranges must be non-zero");
        }
        if self.tcp.min_rto.is_zero() || self.tcp.min_rto > self.tcp.max_rto {
            return err("TCP RTO bounds must satisfy 0 < min <= max");
        }
        if self.max_sockets == 0 {
            return err("max_sockets must be at least 1");
        }
        Ok(())
    }
}

/// Parses `A.B.C.D/P` (prefix 24 when absent), as the command line and the
/// preload library's environment write an address.
pub fn parse_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let (a, p) = s.split_once('/').unwrap_or((s, "24"));
    let addr: Ipv4Addr = a.parse().map_err(|_| format!("bad IPv4 address '{a}'"))?;
    let prefix: u8 = p.parse().map_err(|_| format!("bad prefix length '{p}'"))?;
    if prefix > 32 {
        return Err(format!("prefix length {prefix} is over 32"));
    }
    Ok((addr, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_validation() {
        let mut c = StackConfig::new(Ipv4Addr::new(10, 0, 0, 2), 24);
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(10, 0, 0, 255));
        assert!(c.is_on_link(Ipv4Addr::new(10, 0, 0, 77)));
        assert!(!c.is_on_link(Ipv4Addr::new(10, 0, 1, 1)));
        assert!(c.validate().is_ok());
        c.gateway = Some(Ipv4Addr::new(192, 168, 0, 1));
        assert!(c.validate().is_err());
        c.gateway = None;
        c.mtu = 40;
        assert!(c.validate().is_err());
        c.mtu = 1500;
        c.ip.default_ttl = 0;
        assert!(c.validate().is_err());
    }
}
