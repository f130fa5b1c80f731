//! The sans-IO engine: one stack's whole protocol state, driven by calls.
//!
//! Call order (quinn-proto's vocabulary): feed each received frame to
//! [`Engine::handle_frame`]; when [`Engine::poll_timeout`]'s deadline passes, call
//! [`Engine::handle_timeout`]; after any call, drain [`Engine::poll_transmit`] to the
//! device and [`Engine::poll_event`] to wake whoever waits on a socket. Socket
//! operations (`udp_*`, `tcp_*`, `ping_*`) are non-blocking and take `now` too.
//!
//! The engine owns one value per layer, each with its own state: `Link`
//! (Ethernet, ARP), `Ip` (IPv4, fragments, ICMP), `Udp`, `Tcp` and `Ping`. A
//! received frame goes up through them here, in [`Engine::handle_frame`]: each
//! layer's input takes a context (`now`, the frame's facts, the counters) and
//! returns what it hands on, and the engine hands it to the next layer up. A
//! layer sends by calling the layers below it; errors travel up as return
//! values (an ICMP error, an ARP failure) that the engine dispatches.
//!
//! The engine never reads a clock, a file or a global RNG (DESIGN.md invariant 1):
//! every `now` is a parameter and every random choice comes from the seeded
//! generator, so two runs with the same inputs produce the same frames.

mod tuning;

use std::net::{Ipv4Addr, SocketAddrV4};

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use crate::config::{ConfigError, StackConfig};
use crate::counters::{Counters, Stat};
use crate::cx::{Cx, FramePool, RxFacts, Tx};
use crate::device::offload::{Offloads, RxMeta, TxMeta};
use crate::error::NetError;
use crate::ip::icmp::{IcmpError, IcmpErrorKind, IcmpInput, HOST_UNREACHABLE};
use crate::ip::{Ip, Route};
use crate::link::Link;
use crate::ping::{EchoReply, Ping};
use crate::socket::{Readiness, Socket, SocketHandle, SocketOptions, SocketSet};
use crate::tcp::recovery::congestion::CongestionAlgorithm;
use crate::tcp::{RecvFlags, SendFlags, Shutdown, State, Tcp, TcpInfo};
use crate::time::Instant;
use crate::udp::{Udp, UdpRecv};
use crate::wire::{ETHERNET_HEADER_LEN, ICMP_HEADER_LEN, PROTO_ICMP, PROTO_TCP, PROTO_UDP};

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
    config: StackConfig,
    counters: Counters,
    rng: SmallRng,
    sockets: SocketSet,
    pool: FramePool,
    link: Link,
    ip: Ip,
    udp: Udp,
    tcp: Tcp,
    ping: Ping,
    /// The latest `now` given to the engine. Only calls that do no timed work
    /// (open, bind, listen, reads of a queue) take no `now`; their context
    /// carries this one.
    clock: Instant,
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

/// The transports, borrowed apart from the context a call gives them.
pub(crate) struct Transports<'a> {
    udp: &'a mut Udp,
    pub(crate) tcp: &'a mut Tcp,
    ping: &'a mut Ping,
}

impl Engine {
    /// A stack with `config`, which is validated first.
    pub fn new(config: StackConfig) -> Result<Engine, ConfigError> {
        config.validate()?;
        let mut rng = SmallRng::seed_from_u64(config.seed);
        let mut id_key = [0u8; 16];
        rng.fill_bytes(&mut id_key);
        let mut key = [0u8; 16];
        rng.fill_bytes(&mut key);
        Ok(Engine {
            link: Link::new(config.arp.clone()),
            ip: Ip::new(&config, id_key),
            udp: Udp::new(&config),
            tcp: Tcp::new(&config, key),
            ping: Ping,
            sockets: SocketSet::new(config.max_sockets),
            pool: FramePool::default(),
            counters: Counters::default(),
            rng,
            clock: Instant::ZERO,
            config,
        })
    }

    /// Replaces every secret the engine's random choices come from (the RFC 6528
    /// ISN key, the generator of ephemeral ports, IP identifications, timestamp
    /// offsets and ping identifiers) with ones derived from `secret`: what a
    /// runtime does with a secret from the operating system, so that nobody who
    /// knows the configuration can predict them. Only before the first socket:
    /// `EINVAL` after.
    pub fn set_secret(&mut self, secret: [u8; 32]) -> Result<(), NetError> {
        if self.sockets.len() > 0 {
            return Err(NetError::InvalidInput);
        }
        self.rng = SmallRng::from_seed(secret);
        let mut id_key = [0u8; 16];
        self.rng.fill_bytes(&mut id_key);
        self.ip.set_id_key(id_key);
        let mut key = [0u8; 16];
        self.rng.fill_bytes(&mut key);
        self.tcp.rekey(key);
        Ok(())
    }

    /// The context of a link or IP call.
    fn cx(&mut self, now: Instant, rx: RxFacts) -> (Cx<'_>, &mut Link, &mut Ip) {
        self.clock = self.clock.max(now);
        (
            Cx::new(now, &self.config, &mut self.counters, &mut self.pool, rx),
            &mut self.link,
            &mut self.ip,
        )
    }

    /// The context of a transport call, and the transports.
    fn tx(&mut self, now: Instant, rx: RxFacts) -> (Tx<'_>, Transports<'_>) {
        self.clock = self.clock.max(now);
        (
            Tx {
                cx: Cx::new(now, &self.config, &mut self.counters, &mut self.pool, rx),
                sockets: &mut self.sockets,
                rng: &mut self.rng,
                ip: &mut self.ip,
                link: &mut self.link,
            },
            Transports {
                udp: &mut self.udp,
                tcp: &mut self.tcp,
                ping: &mut self.ping,
            },
        )
    }

    /// Runs a transport call at `now`, then the work every entry point ends
    /// with (datagrams we sent to ourselves).
    pub(crate) fn call<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Tx<'_>, Transports<'_>) -> R,
    ) -> R {
        let (mut t, l) = self.tx(now, RxFacts::default());
        let r = f(&mut t, l);
        self.after_socket_call(now);
        r
    }

    /// A transport call that does no timed work (see `clock`).
    fn untimed<R>(&mut self, f: impl FnOnce(&mut Tx<'_>, Transports<'_>) -> R) -> R {
        let (mut t, l) = self.tx(self.clock, RxFacts::default());
        f(&mut t, l)
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
    pub fn arp_entries(&self, now: Instant) -> Vec<(Ipv4Addr, crate::wire::EthernetAddress)> {
        self.link.arp().resolved(now)
    }

    /// Where `dst` goes.
    pub fn route(&self, dst: Ipv4Addr) -> Result<Route, NetError> {
        crate::ip::route(&self.config, dst)
    }

    // ------------------------------------------------------------ the device side

    /// Processes one received Ethernet frame. Never panics, whatever the bytes: a
    /// frame that is not acceptable is counted under its drop reason.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        self.handle_frame_meta(now, frame, RxMeta::default());
    }

    /// Like [`Engine::handle_frame`], with what the device knows of the frame (a
    /// checksum it verified or that was never computed is not verified again).
    pub fn handle_frame_meta(&mut self, now: Instant, frame: &[u8], meta: RxMeta) {
        self.counters.inc(Stat::RxFrames);
        self.counters.add(Stat::RxBytes, frame.len() as u64);
        let mut rx = RxFacts {
            input: true,
            from_wire: true,
            checksum_verified: meta.checksum_verified,
            link_broadcast: false,
        };
        let (mut cx, link, _) = self.cx(now, rx);
        if let Some(up) = link.input(&mut cx, frame) {
            rx.link_broadcast = up.broadcast;
            self.ip_input(now, up.payload, rx);
        }
        self.after_socket_call(now);
    }

    /// An IPv4 datagram from a frame or from the loopback queue: up through the
    /// IP layer, then to its transport.
    fn ip_input(&mut self, now: Instant, data: &[u8], rx: RxFacts) {
        let (mut cx, _, ip) = self.cx(now, rx);
        let Some(d) = ip.input(&mut cx, data) else {
            return;
        };
        let (mut t, l) = self.tx(now, rx);
        match d.repr.protocol {
            PROTO_ICMP => {
                t.cx.counters.inc(Stat::Ipv4Delivered);
                let (cx, ip, link) = t.below();
                match ip.icmp_input(cx, link, &d.repr, &d.payload) {
                    IcmpInput::Done => {}
                    IcmpInput::EchoReply { ident, seq } => {
                        let data = d.payload.get(ICMP_HEADER_LEN..).unwrap_or_default();
                        l.ping.input(&mut t, &d.repr, ident, seq, data)
                    }
                    IcmpInput::Error(err) => transport_error(&mut t, l, err),
                }
            }
            PROTO_UDP => {
                t.cx.counters.inc(Stat::Ipv4Delivered);
                l.udp.input(&mut t, &d.repr, &d.header, &d.payload);
            }
            PROTO_TCP => {
                t.cx.counters.inc(Stat::Ipv4Delivered);
                l.tcp.input(&mut t, &d.repr, &d.payload);
            }
            _ => {
                t.cx.counters
                    .drop(crate::counters::DropReason::Ipv4UnknownProtocol);
                // RFC 1122 3.2.2.1: a host SHOULD generate Protocol Unreachable.
                if !crate::ip::is_broadcast(t.cx.config, d.repr.dst) {
                    t.send_icmp_error(
                        crate::ip::icmp::DEST_UNREACHABLE,
                        crate::ip::icmp::PROTO_UNREACHABLE,
                        0,
                        &d.header,
                        &d.payload,
                    );
                }
            }
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let (mut cx, link, ip) = self.cx(now, RxFacts::default());
        let failed = link.poll(&mut cx);
        ip.poll(&mut cx, link);
        let (mut t, l) = self.tx(now, RxFacts::default());
        for frame in failed {
            // RFC 1122 2.3.2.1 / Linux: the sender learns "host unreachable".
            let quote = frame.get(ETHERNET_HEADER_LEN..).unwrap_or(&[]);
            if let Some(err) = IcmpError::from_quote(
                IcmpErrorKind::Unreachable(HOST_UNREACHABLE),
                t.cx.config.addr,
                quote,
            ) {
                transport_error(
                    &mut t,
                    Transports {
                        udp: l.udp,
                        tcp: l.tcp,
                        ping: l.ping,
                    },
                    err,
                );
            }
            t.cx.pool.recycle(frame);
        }
        l.tcp.poll(&mut t);
        self.after_socket_call(now);
    }

    /// The earliest time at which [`Engine::handle_timeout`] has work, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.ip.loopback_pending() {
            // Looped-back datagrams left over from a full batch: work is due now.
            return Some(Instant::ZERO);
        }
        [self.link.poll_at(), self.ip.poll_at(), self.tcp.poll_at()]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next frame to hand to the device. The ACKs owed at the end of a batch
    /// of received frames are sent first, at `now`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let (frame, meta) = self.poll_transmit_meta(now)?;
        if meta.is_plain() {
            return Some(frame);
        }
        // A caller that knows nothing of offloads gets finished frames.
        let pieces = crate::device::offload::finish_owned(&frame, meta, 0);
        self.pool.recycle(frame);
        let mut pieces = pieces.into_iter();
        let first = pieces.next();
        self.link.push_front_pieces(pieces);
        first
    }

    /// The next frame with what the device must finish (for devices with
    /// [`Offloads`]; see [`Engine::set_offloads`]).
    pub fn poll_transmit_meta(&mut self, now: Instant) -> Option<(Vec<u8>, TxMeta)> {
        if self.tcp.acks_pending() > 0 {
            self.call(now, |t, l| l.tcp.flush_acks(t));
        }
        self.link.pop()
    }

    /// Lets the engine hand out frames for the device to finish: TCP checksums left
    /// out, TCP segments up to 64 KiB (TSO). Frames from [`Engine::poll_transmit`]
    /// are still finished in software.
    pub fn set_offloads(&mut self, offloads: Offloads) {
        self.link.set_offloads(offloads);
    }

    /// Frames waiting for ARP to resolve their next hop.
    pub fn frames_awaiting_arp(&self) -> usize {
        self.link.arp().pending()
    }

    /// Frames waiting in [`Engine::poll_transmit`].
    pub fn pending_transmits(&self) -> usize {
        self.link.queued() + self.tcp.acks_pending()
    }

    /// Gives a transmitted frame's buffer back for reuse (optional; saves an
    /// allocation per frame).
    pub fn recycle(&mut self, buf: Vec<u8>) {
        self.pool.recycle(buf);
    }

    /// The next application-side event.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(h) = self.tcp.poll_urgent() {
            return Some(Event::Urgent(h));
        }
        self.sockets.pop_dirty().map(Event::Socket)
    }

    /// Urgent notifications (the in-process SIGURG) since the last call.
    pub fn poll_urgent(&mut self) -> Option<SocketHandle> {
        self.tcp.poll_urgent()
    }

    /// Work every entry point finishes with: datagrams we sent to ourselves.
    fn after_socket_call(&mut self, now: Instant) {
        let mut budget = LOOPBACK_BATCH;
        while budget > 0 {
            let Some(datagram) = self.ip.pop_loopback() else {
                break;
            };
            budget -= 1;
            self.ip_input(now, &datagram, RxFacts::default());
            self.pool.recycle(datagram);
        }
    }

    // ------------------------------------------------------------ sockets of any kind

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
            return self.call(now, |t, l| l.tcp.close(t, h));
        }
        match self.sockets.remove(h)? {
            Socket::Udp(u) => self.udp.release(h, &u),
            Socket::Ping(_) | Socket::Tcp(_) => {}
        }
        self.after_socket_call(now);
        Ok(())
    }

    /// The options of any socket.
    pub fn socket_options(&self, h: SocketHandle) -> Result<SocketOptions, NetError> {
        Ok(match self.sockets.get(h)? {
            Socket::Udp(u) => u.opts,
            Socket::Tcp(t) => t.options(),
            Socket::Ping(_) => SocketOptions::default(),
        })
    }

    /// Replaces the options of a socket at `now`. Buffer sizes are clamped to the
    /// configured bounds (at least 256 bytes), as Linux clamps
    /// `SO_RCVBUF`/`SO_SNDBUF`; a live connection takes the rest at once
    /// (keep-alive timers, Nagle).
    pub fn set_socket_options(
        &mut self,
        now: Instant,
        h: SocketHandle,
        mut opts: SocketOptions,
    ) -> Result<(), NetError> {
        let max = match self.sockets.get(h)? {
            Socket::Tcp(_) => self.config.tcp.max_buffer,
            _ => self.config.udp.max_recv_buffer,
        };
        if opts.recv_buffer != self.socket_options(h)?.recv_buffer {
            // SO_RCVBUF set by the user: no autotuning (Linux's SOCK_RCVBUF_LOCK).
            opts.recv_buffer_locked = true;
        }
        opts.recv_buffer = opts.recv_buffer.clamp(256, max);
        opts.send_buffer = opts.send_buffer.clamp(256, max);
        match self.sockets.get_mut(h)? {
            Socket::Udp(u) => u.opts = opts,
            Socket::Tcp(_) => self.call(now, |t, l| l.tcp.options_changed(t, h, opts))?,
            Socket::Ping(_) => return Err(NetError::NotSupported),
        }
        self.sockets.mark(h);
        Ok(())
    }

    /// Number of open sockets.
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    // ------------------------------------------------------------ UDP

    /// Opens an unbound UDP socket.
    pub fn udp_open(&mut self) -> Result<SocketHandle, NetError> {
        self.untimed(|t, _| Udp::open(t))
    }

    /// Binds to `addr` (port 0: an ephemeral port). `EINVAL` if already bound.
    pub fn udp_bind(
        &mut self,
        h: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, NetError> {
        self.untimed(|t, l| l.udp.bind(t, h, addr))
    }

    /// Sets the default destination and the only peer datagrams are accepted from.
    /// Binds an ephemeral port first if needed.
    pub fn udp_connect(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        self.call(now, |t, l| l.udp.connect(t, h, remote))
    }

    /// Dissolves the association (`connect` with `AF_UNSPEC`).
    pub fn udp_disconnect(&mut self, h: SocketHandle) -> Result<(), NetError> {
        Udp::disconnect(&mut self.sockets, h)
    }

    /// Sends one datagram to `dst`, or to the connected peer when `dst` is `None`.
    pub fn udp_send_to(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        dst: Option<SocketAddrV4>,
    ) -> Result<usize, NetError> {
        self.call(now, |t, l| l.udp.send_to(t, h, data, dst))
    }

    /// Receives one datagram into `buf` (truncating it if `buf` is short). With `peek`
    /// the datagram stays queued.
    pub fn udp_recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
        peek: bool,
    ) -> Result<UdpRecv, NetError> {
        self.untimed(|t, _| Udp::recv_from(t, h, buf, peek))
    }

    /// Local address (None while unbound).
    pub fn udp_local_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Udp::local_addr(&self.sockets, h)
    }

    /// Connected peer.
    pub fn udp_peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Udp::peer_addr(&self.sockets, h)
    }

    /// Size of the next queued datagram (0 if none).
    pub fn udp_next_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Udp::next_len(&self.sockets, h)
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn udp_take_error(&mut self, h: SocketHandle) -> Result<Option<NetError>, NetError> {
        Udp::take_error(&mut self.sockets, h)
    }

    // ------------------------------------------------------------ ping

    /// Opens a ping socket with a fresh identifier from the seeded generator.
    pub fn ping_open(&mut self) -> Result<SocketHandle, NetError> {
        self.untimed(|t, l| l.ping.open(t))
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
        self.call(now, |t, l| l.ping.send(t, h, dst, seq, payload))
    }

    /// Takes the next reply, or the pending error (host unreachable, ...).
    pub fn ping_recv(&mut self, h: SocketHandle) -> Result<EchoReply, NetError> {
        Ping::recv(&mut self.sockets, h)
    }

    // ------------------------------------------------------------ TCP

    /// Opens a TCP socket.
    pub fn tcp_open(&mut self) -> Result<SocketHandle, NetError> {
        self.untimed(|t, l| l.tcp.open(t))
    }

    /// Binds to a local address (port 0: ephemeral).
    pub fn tcp_bind(
        &mut self,
        h: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, NetError> {
        self.untimed(|t, l| l.tcp.bind(t, h, addr))
    }

    /// Starts listening with room for `backlog` connections waiting for `accept`
    /// (clamped to `somaxconn`; at least 1). Binds an ephemeral port if unbound.
    pub fn tcp_listen(&mut self, h: SocketHandle, backlog: i32) -> Result<(), NetError> {
        self.untimed(|t, l| l.tcp.listen(t, h, backlog))
    }

    /// Takes an established connection from the accept queue.
    pub fn tcp_accept(
        &mut self,
        now: Instant,
        h: SocketHandle,
    ) -> Result<(SocketHandle, SocketAddrV4), NetError> {
        self.call(now, |t, l| l.tcp.accept(t, h))
    }

    /// Starts connecting; the result comes later (writable, or an error). Returns
    /// `Err(InProgress)` when the SYN went out.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        self.call(now, |t, l| l.tcp.connect(t, h, remote))
    }

    /// Queues data to send. `Ok(n)` with `n` possibly short; `WouldBlock` when the
    /// buffer is full.
    pub fn tcp_send(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        flags: SendFlags,
    ) -> Result<usize, NetError> {
        self.call(now, |t, l| l.tcp.send(t, h, data, flags))
    }

    /// Sends at once what `TCP_CORK` or `MSG_MORE` hold back, as Linux does
    /// each time `TCP_NODELAY` is set.
    pub fn tcp_push(&mut self, now: Instant, h: SocketHandle) -> Result<(), NetError> {
        self.call(now, |t, l| l.tcp.push(t, h))
    }

    /// Reads received data (up to the urgent mark). `Ok(0)` at end of stream.
    pub fn tcp_recv(
        &mut self,
        now: Instant,
        h: SocketHandle,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<usize, NetError> {
        self.call(now, |t, l| l.tcp.recv(t, h, buf, flags))
    }

    /// Shuts down one or both halves.
    pub fn tcp_shutdown(
        &mut self,
        now: Instant,
        h: SocketHandle,
        how: Shutdown,
    ) -> Result<(), NetError> {
        self.call(now, |t, l| l.tcp.shutdown(t, h, how))
    }

    /// Aborts with a RST whatever the state.
    pub fn tcp_abort(&mut self, now: Instant, h: SocketHandle) -> Result<(), NetError> {
        self.call(now, |t, l| l.tcp.abort(t, h))
    }

    /// The state of a TCP socket (`Closed` for idle or finished ones, `Listen`).
    pub fn tcp_state(&self, h: SocketHandle) -> Result<State, NetError> {
        Tcp::state(&self.sockets, h)
    }

    /// Connection details (`None` unless connected or connecting).
    pub fn tcp_info(&self, h: SocketHandle) -> Result<Option<TcpInfo>, NetError> {
        Tcp::info(&self.sockets, h)
    }

    /// Local address.
    pub fn tcp_local_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Tcp::local_addr(&self.sockets, h)
    }

    /// Peer address, once connected (or connecting).
    pub fn tcp_peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Tcp::peer_addr(&self.sockets, h)
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn tcp_take_error(&mut self, h: SocketHandle) -> Result<Option<NetError>, NetError> {
        Tcp::take_error(&mut self.sockets, h)
    }

    /// `sockatmark`: the next byte to read is the urgent one.
    pub fn tcp_at_mark(&self, h: SocketHandle) -> Result<bool, NetError> {
        Tcp::at_mark(&self.sockets, h)
    }

    /// Bytes waiting to be read (`FIONREAD`; Linux counts up to the urgent mark).
    pub fn tcp_recv_queue_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Tcp::recv_queue_len(&self.sockets, h)
    }

    /// Starts the connection trace, keeping at most `capacity` events until they
    /// are taken ([`Engine::poll_tcp_trace`]); `None` stops it.
    pub fn set_tcp_trace(&mut self, capacity: Option<usize>) {
        self.tcp.set_trace(capacity);
    }

    /// The oldest connection-trace event not yet taken.
    pub fn poll_tcp_trace(&mut self) -> Option<crate::tcp::trace::TraceEvent> {
        self.tcp.poll_trace()
    }

    /// Trace events lost because the queue was full.
    pub fn tcp_trace_dropped(&self) -> u64 {
        self.tcp.trace_dropped()
    }

    /// Closed connections now in TIME-WAIT (held as compact records, not
    /// sockets).
    pub fn tcp_time_wait_count(&self) -> usize {
        self.tcp.time_wait_count()
    }

    /// The (local, remote) addresses of the connections in TIME-WAIT.
    pub fn tcp_time_wait_connections(&self) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        self.tcp.time_wait_connections()
    }

    /// Every open socket, with its protocol, in handle order.
    pub fn socket_handles(&self) -> Vec<(SocketHandle, crate::stats::Protocol)> {
        self.sockets
            .iter()
            .map(|(h, s)| {
                let p = match s {
                    Socket::Tcp(_) => crate::stats::Protocol::Tcp,
                    Socket::Udp(_) => crate::stats::Protocol::Udp,
                    Socket::Ping(_) => crate::stats::Protocol::Icmp,
                };
                (h, p)
            })
            .collect()
    }

    /// Bytes queued and not yet acknowledged (`SIOCOUTQ`).
    pub fn tcp_send_queue_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Tcp::send_queue_len(&self.sockets, h)
    }

    /// `TCP_MAXSEG`: clamps the MSS we advertise and use (set before connecting).
    pub fn tcp_set_maxseg(&mut self, h: SocketHandle, mss: u16) -> Result<(), NetError> {
        Tcp::set_maxseg(&mut self.sockets, h, mss)
    }

    /// `TCP_MAXSEG` as `getsockopt` reports it: the connection's MSS, or the
    /// configured clamp / the default before connecting.
    pub fn tcp_maxseg(&self, h: SocketHandle) -> Result<u16, NetError> {
        Tcp::maxseg(&self.sockets, h)
    }

    /// `TCP_CONGESTION`: the congestion control of this socket (the stack's
    /// default until set).
    pub fn tcp_congestion(&self, h: SocketHandle) -> Result<CongestionAlgorithm, NetError> {
        Tcp::congestion(&self.sockets, &self.config, h)
    }

    /// Sets `TCP_CONGESTION` for this socket: a connection switches at once
    /// (keeping its window), a socket not yet connected uses it when it is.
    pub fn tcp_set_congestion(
        &mut self,
        h: SocketHandle,
        algo: CongestionAlgorithm,
    ) -> Result<(), NetError> {
        Tcp::set_congestion(&mut self.sockets, h, algo)
    }
}

#[cfg(test)]
impl Engine {
    /// Teaches the ARP cache a neighbour (tests that inject frames by hand).
    pub(crate) fn learn_neighbour(
        &mut self,
        now: Instant,
        ip: Ipv4Addr,
        mac: crate::wire::EthernetAddress,
    ) {
        self.link.learn(now, ip, mac);
    }

    /// Memory the datagrams queued on UDP socket `h` hold.
    pub(crate) fn udp_queued_memory(&self, h: SocketHandle) -> usize {
        match self.sockets.get(h) {
            Ok(Socket::Udp(u)) => u.queued_memory(),
            _ => 0,
        }
    }

    /// Entries in the ARP cache.
    pub(crate) fn link_entries(&self) -> usize {
        self.link.arp().len()
    }

    /// No TCP connection, binding or listener is left.
    pub(crate) fn tcp_tables_empty(&self) -> bool {
        self.tcp.tables_empty()
    }
}

/// Passes an ICMP error (received, or generated locally when ARP fails) to the
/// transport that sent the quoted datagram.
fn transport_error(t: &mut Tx<'_>, l: Transports<'_>, err: IcmpError) {
    match err.protocol {
        PROTO_UDP => l.udp.icmp_error(t, err),
        PROTO_TCP => l.tcp.icmp_error(t, err),
        PROTO_ICMP => l.ping.icmp_error(t, err),
        _ => {}
    }
}
