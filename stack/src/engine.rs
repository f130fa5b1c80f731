//! The sans-IO engine: one stack's whole protocol state, driven by calls.
//!
//! Call order (quinn-proto's vocabulary): feed each received frame to
//! [`Engine::handle_frame`]; when [`Engine::poll_timeout`]'s deadline passes, call
//! [`Engine::handle_timeout`]; after any call, drain [`Engine::poll_transmit`] to the
//! device and [`Engine::poll_event`] to wake whoever waits on a socket. Socket
//! operations (`udp_*`, `tcp_*`, `ping_*`) are non-blocking and take `now` too.
//!
//! The engine never reads a clock, a file or a global RNG (DESIGN.md invariant 1):
//! every `now` is a parameter and every random choice comes from the seeded
//! generator, so two runs with the same inputs produce the same frames.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddrV4;

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use crate::config::{ConfigError, StackConfig};
use crate::counters::{Counters, Stat};
use crate::error::NetError;
use crate::ip::icmp::{TokenBucket, REASSEMBLY_TIME_EXCEEDED, TIME_EXCEEDED};
use crate::ip::reassembly::Reassembler;
use crate::ip::IpSend;
use crate::link::arp::ArpCache;
use crate::socket::{Readiness, Socket, SocketHandle, SocketOptions, SocketSet};
use crate::tcp::isn::IsnGenerator;
use crate::time::Instant;
use crate::udp::PortTable;
use crate::wire::offload::{Offloads, RxMeta, TxMeta};

/// Something the application side should know about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The readiness of this socket may have changed: wake its waiters.
    Socket(SocketHandle),
    /// New urgent data was announced on this TCP socket (the in-process SIGURG).
    Urgent(SocketHandle),
}

/// Most frames processed from the loopback queue in one call, so that two sockets
/// of ours bouncing datagrams at each other cannot spin forever.
const LOOPBACK_BATCH: usize = 4096;

/// One network stack's protocol state. See the module documentation for the call
/// order.
pub struct Engine {
    pub(crate) config: StackConfig,
    pub(crate) counters: Counters,
    rng: SmallRng,
    pub(crate) arp: ArpCache,
    pub(crate) reassembler: Reassembler,
    pub(crate) icmp_tokens: TokenBucket,
    pub(crate) ip_ident: u16,
    pub(crate) sockets: SocketSet,
    pub(crate) udp_ports: PortTable,
    pub(crate) tcp_ports: PortTable,
    /// Connections by (local, remote): O(1) demultiplexing.
    pub(crate) tcp_conns: HashMap<(SocketAddrV4, SocketAddrV4), SocketHandle>,
    /// Listening sockets by port.
    pub(crate) tcp_listeners: HashMap<u16, Vec<SocketHandle>>,
    /// Connection deadlines (lazily cleaned: stale entries are skipped).
    pub(crate) tcp_timers: BinaryHeap<Reverse<(Instant, SocketHandle)>>,
    pub(crate) isn: IsnGenerator,
    pub(crate) tcp_out: Vec<(IpSend, Vec<u8>, TxMeta)>,
    pub(crate) urgent_events: VecDeque<SocketHandle>,
    /// Connections owing a pure ACK, sent at the next `poll_transmit` (one ACK per
    /// batch of received frames).
    pub(crate) tcp_ack_pending: Vec<SocketHandle>,
    /// True while a received segment is processed (ACKs may be deferred).
    pub(crate) tcp_defer_ack: bool,
    tx_queue: VecDeque<(Vec<u8>, TxMeta)>,
    /// What the device finishes for us (set by the runtime from the device).
    pub(crate) offloads: Offloads,
    /// The frame being processed had its transport checksum verified (or left out)
    /// by the device.
    pub(crate) rx_checksum_verified: bool,
    pub(crate) spare_frames: Vec<Vec<u8>>,
    pub(crate) loopback: VecDeque<Vec<u8>>,
    /// Whether the frame being processed was a link-layer broadcast (RFC 1122 3.2.2:
    /// no ICMP errors about those).
    pub(crate) rx_link_broadcast: bool,
    /// The latest `now` seen (for calls that take none, such as option changes).
    pub(crate) last_now: Instant,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("addr", &self.config.addr)
            .field("mac", &self.config.mac)
            .field("sockets", &self.sockets.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A stack with `config`, which is validated first.
    pub fn new(config: StackConfig) -> Result<Engine, ConfigError> {
        config.validate()?;
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let ip_ident = rng.next_u32() as u16;
        let udp_ports = PortTable::new(&config.ports);
        let tcp_ports = PortTable::new(&config.ports);
        let mut key = [0u8; 16];
        rng.fill_bytes(&mut key);
        Ok(Engine {
            arp: ArpCache::new(config.arp.clone()),
            reassembler: Reassembler::new(
                config.ip.reassembly_timeout,
                config.ip.reassembly_memory,
                config.ip.max_reassemblies,
            ),
            icmp_tokens: TokenBucket::new(config.icmp.errors_per_sec, config.icmp.error_burst),
            sockets: SocketSet::new(config.max_sockets),
            counters: Counters::default(),
            rng,
            ip_ident,
            udp_ports,
            tcp_ports,
            tcp_conns: HashMap::new(),
            tcp_listeners: HashMap::new(),
            tcp_timers: BinaryHeap::new(),
            isn: IsnGenerator::new(key),
            tcp_out: Vec::new(),
            urgent_events: VecDeque::new(),
            tcp_ack_pending: Vec::new(),
            tcp_defer_ack: false,
            tx_queue: VecDeque::new(),
            offloads: Offloads::default(),
            rx_checksum_verified: false,
            spare_frames: Vec::new(),
            loopback: VecDeque::new(),
            rx_link_broadcast: false,
            last_now: Instant::ZERO,
            config,
        })
    }

    /// The configuration the stack runs with.
    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    /// All counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Resolved ARP entries (for `stats`).
    pub fn arp_entries(
        &self,
        now: Instant,
    ) -> Vec<(std::net::Ipv4Addr, crate::wire::EthernetAddress)> {
        self.arp.resolved(now)
    }

    /// Processes one received Ethernet frame. Never panics, whatever the bytes: a
    /// frame that is not acceptable is counted under its drop reason.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.last_now = self.last_now.max(now);
        self.counters.inc(Stat::RxFrames);
        self.counters.add(Stat::RxBytes, frame.len() as u64);
        self.link_input(now, frame);
        self.after_socket_call(now);
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.arp_poll(now);
        self.tcp_poll(now);
        for expired in self.reassembler.expire(now) {
            self.counters.drop(crate::counters::DropReason::FragTimeout);
            // RFC 792: time exceeded, code 1, if the first fragment was received.
            if let Some(first) = expired.first_fragment {
                let hlen =
                    ((first.first().copied().unwrap_or(0x45) & 0x0f) as usize * 4).min(first.len());
                let (h, p) = first.split_at(hlen);
                self.send_icmp_error(now, TIME_EXCEEDED, REASSEMBLY_TIME_EXCEEDED, 0, h, p);
            }
        }
        self.after_socket_call(now);
    }

    /// The earliest time at which [`Engine::handle_timeout`] has work, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.loopback.is_empty() {
            // Looped-back datagrams left over from a full batch: work is due now.
            return Some(Instant::ZERO);
        }
        [
            self.arp.next_deadline(),
            self.reassembler.next_deadline(),
            self.tcp_poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next frame to hand to the device.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let (frame, meta) = self.poll_transmit_meta()?;
        if meta.is_plain() {
            return Some(frame);
        }
        // A caller that knows nothing of offloads gets finished frames.
        let pieces = crate::wire::offload::finish_owned(&frame, meta, 0);
        self.recycle(frame);
        let mut pieces = pieces.into_iter();
        let first = pieces.next();
        for (i, p) in pieces.enumerate() {
            self.tx_queue.insert(i, (p, TxMeta::default()));
        }
        first
    }

    /// The next frame with what the device must finish (for devices with
    /// [`Offloads`]; see [`Engine::set_offloads`]).
    pub fn poll_transmit_meta(&mut self) -> Option<(Vec<u8>, TxMeta)> {
        if !self.tcp_ack_pending.is_empty() {
            let now = self.last_now;
            self.tcp_flush_acks(now);
        }
        self.tx_queue.pop_front()
    }

    /// Lets the engine hand out frames for the device to finish: TCP checksums left
    /// out, TCP segments up to 64 KiB (TSO). Frames from [`Engine::poll_transmit`]
    /// are still finished in software.
    pub fn set_offloads(&mut self, offloads: Offloads) {
        self.offloads = offloads;
    }

    /// Like [`Engine::handle_frame`], with what the device knows of the frame (a
    /// checksum it verified or that was never computed is not verified again).
    pub fn handle_frame_meta(&mut self, now: Instant, frame: &[u8], meta: RxMeta) {
        self.rx_checksum_verified = meta.checksum_verified;
        self.handle_frame(now, frame);
        self.rx_checksum_verified = false;
    }

    /// Frames waiting in [`Engine::poll_transmit`].
    pub fn pending_transmits(&self) -> usize {
        self.tx_queue.len() + self.tcp_ack_pending.len()
    }

    /// Gives a transmitted frame's buffer back for reuse (optional; saves an
    /// allocation per frame).
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare_frames.len() < 256 && buf.capacity() <= 65536 + 64 {
            buf.clear();
            self.spare_frames.push(buf);
        }
    }

    /// The next application-side event.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(h) = self.urgent_events.pop_front() {
            return Some(Event::Urgent(h));
        }
        self.sockets.pop_dirty().map(Event::Socket)
    }

    /// What `h` can do now.
    pub fn readiness(&self, h: SocketHandle) -> Result<Readiness, NetError> {
        Ok(match self.sockets.get(h)? {
            Socket::Ping(p) => p.readiness(),
            Socket::Udp(u) => u.readiness(),
            Socket::Tcp(t) => t.readiness(),
        })
    }

    /// Closes a socket of any kind.
    pub fn close(&mut self, now: Instant, h: SocketHandle) -> Result<(), NetError> {
        if let Socket::Tcp(_) = self.sockets.get(h)? {
            return self.tcp_close(now, h);
        }
        match self.sockets.remove(h)? {
            Socket::Udp(u) => self.udp_release(h, &u),
            Socket::Ping(_) | Socket::Tcp(_) => {}
        }
        self.after_socket_call(now);
        Ok(())
    }

    /// The options of any socket.
    pub fn socket_options(&self, h: SocketHandle) -> Result<SocketOptions, NetError> {
        Ok(match self.sockets.get(h)? {
            Socket::Udp(u) => u.opts,
            Socket::Tcp(t) => t.opts,
            Socket::Ping(_) => SocketOptions::default(),
        })
    }

    /// Replaces the options of a socket. Buffer sizes are clamped to the configured
    /// bounds (at least 256 bytes), as Linux clamps `SO_RCVBUF`/`SO_SNDBUF`.
    pub fn set_socket_options(
        &mut self,
        h: SocketHandle,
        mut opts: SocketOptions,
    ) -> Result<(), NetError> {
        let max = match self.sockets.get(h)? {
            Socket::Tcp(_) => self.config.tcp.max_buffer,
            _ => self.config.udp.max_recv_buffer,
        };
        opts.recv_buffer = opts.recv_buffer.clamp(256, max);
        opts.send_buffer = opts.send_buffer.clamp(256, max);
        match self.sockets.get_mut(h)? {
            Socket::Udp(u) => u.opts = opts,
            Socket::Tcp(_) => {
                // Options apply to the live connection (keep-alive timers, Nagle);
                // buffer sizes only to connections made after.
                let now = self.last_now;
                self.tcp_options_changed(now, h, opts)?;
            }
            Socket::Ping(_) => return Err(NetError::NotSupported),
        }
        self.sockets.mark(h);
        Ok(())
    }

    /// Number of open sockets.
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    /// A uniformly random u32 from the seeded generator.
    pub(crate) fn random_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    /// Queues a complete frame for the device.
    pub(crate) fn push_frame(&mut self, frame: Vec<u8>) {
        self.push_frame_meta(frame, TxMeta::default());
    }

    /// Queues a frame that may need finishing by the device.
    pub(crate) fn push_frame_meta(&mut self, frame: Vec<u8>, meta: TxMeta) {
        self.counters.inc(Stat::TxFrames);
        self.counters.add(Stat::TxBytes, frame.len() as u64);
        self.tx_queue.push_back((frame, meta));
    }

    /// Work every entry point finishes with: datagrams we sent to ourselves.
    pub(crate) fn after_socket_call(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
        let mut budget = LOOPBACK_BATCH;
        while budget > 0 {
            let Some(datagram) = self.loopback.pop_front() else {
                break;
            };
            budget -= 1;
            self.ip_input(now, &datagram);
            self.recycle(datagram);
        }
    }
}
