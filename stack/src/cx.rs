//! What the engine hands a layer on each call: the time, the configuration, the
//! counters, the frame pool and the facts of the frame being processed
//! ([`Cx`]); a transport also gets the socket table, the seeded generator and
//! the layers below it ([`Tx`]), so it sends by calling down, never up.
//!
//! Nothing here is remembered between calls: every entry point of the engine
//! builds its context from its own `now` and drops it when it returns.

use rand::rngs::SmallRng;

use crate::config::StackConfig;
use crate::counters::Counters;
use crate::device::offload::{Offloads, TxMeta};
use crate::error::NetError;
use crate::ip::{IpSend, Ipv4Repr};
use crate::link::Link;
use crate::socket::SocketSet;
use crate::time::Instant;
use crate::wire::HEADROOM;

/// Most spare frame buffers kept for reuse.
const POOL_MAX: usize = 256;

/// Largest buffer worth keeping (a TSO segment with its headers).
const POOL_MAX_CAPACITY: usize = 65536 + 64;

/// Frame buffers for reuse, so a steady flow allocates nothing per frame.
#[derive(Debug, Default)]
pub(crate) struct FramePool {
    spare: Vec<Vec<u8>>,
}

impl FramePool {
    /// A frame buffer with room for the Ethernet and IPv4 headers; the transport
    /// writes from [`HEADROOM`] on.
    pub(crate) fn alloc(&mut self, payload_capacity: usize) -> Vec<u8> {
        let mut buf = self.take();
        buf.reserve(HEADROOM + payload_capacity);
        buf.resize(HEADROOM, 0);
        buf
    }

    /// An empty buffer (a spare one if there is one).
    pub(crate) fn take(&mut self) -> Vec<u8> {
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf
    }

    /// Takes a buffer back for reuse.
    pub(crate) fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < POOL_MAX && buf.capacity() <= POOL_MAX_CAPACITY {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// The spare buffers themselves (a connection builds its segments in them).
    pub(crate) fn spare_mut(&mut self) -> &mut Vec<Vec<u8>> {
        &mut self.spare
    }
}

/// Facts about the received frame being processed (all false for a user call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxFacts {
    /// The frame came in on a received batch: TCP may owe its ACK to the end of
    /// the batch instead of sending it at once.
    pub input: bool,
    /// The datagram came from the wire (not from our own loopback queue).
    pub from_wire: bool,
    /// The device verified (or never computed) the transport checksum.
    pub checksum_verified: bool,
    /// The frame was a link-layer broadcast (RFC 1122 3.2.2: no ICMP errors
    /// about those).
    pub link_broadcast: bool,
}

/// The context of a call to the link or IP layer.
pub(crate) struct Cx<'a> {
    /// Now.
    pub now: Instant,
    /// The stack's configuration.
    pub config: &'a StackConfig,
    /// The engine's counters.
    pub counters: &'a mut Counters,
    /// Frame buffers.
    pub pool: &'a mut FramePool,
    /// The received frame's facts.
    pub rx: RxFacts,
}

impl<'a> Cx<'a> {
    /// A context at `now` for a frame with facts `rx` (default for a user call).
    pub(crate) fn new(
        now: Instant,
        config: &'a StackConfig,
        counters: &'a mut Counters,
        pool: &'a mut FramePool,
        rx: RxFacts,
    ) -> Cx<'a> {
        Cx {
            now,
            config,
            counters,
            pool,
            rx,
        }
    }
}

/// The context of a call to a transport (UDP, TCP, ping): a [`Cx`] plus the
/// socket table, the seeded generator, and the IP and link layers to send through.
pub(crate) struct Tx<'a> {
    /// What every layer call gets.
    pub cx: Cx<'a>,
    /// The socket table.
    pub sockets: &'a mut SocketSet,
    /// The seeded generator (ephemeral ports, ping identifiers).
    pub rng: &'a mut SmallRng,
    /// The IP layer below.
    pub ip: &'a mut crate::ip::Ip,
    /// The link layer below it.
    pub link: &'a mut Link,
}

impl<'a> Tx<'a> {
    /// The context of a call to the layers below, and those layers.
    pub(crate) fn below(&mut self) -> (&mut Cx<'a>, &mut crate::ip::Ip, &mut Link) {
        (&mut self.cx, self.ip, self.link)
    }

    /// What the device finishes for us.
    pub(crate) fn offloads(&self) -> Offloads {
        self.link.offloads()
    }

    /// Sends the datagram whose payload is `frame[HEADROOM..]` (see
    /// [`crate::ip::Ip::output`]).
    pub(crate) fn send(&mut self, send: IpSend, frame: Vec<u8>) -> Result<(), NetError> {
        self.send_meta(send, frame, TxMeta::default())
    }

    /// [`Tx::send`] for a frame the device may finish (checksum, TSO).
    pub(crate) fn send_meta(
        &mut self,
        send: IpSend,
        frame: Vec<u8>,
        meta: TxMeta,
    ) -> Result<(), NetError> {
        let (cx, ip, link) = self.below();
        ip.output(cx, link, send, frame, meta)
    }

    /// Sends an ICMP error about a datagram we received, following RFC 1122
    /// 3.2.2's rules on when not to (see [`crate::ip::Ip::send_icmp_error`]).
    pub(crate) fn send_icmp_error(
        &mut self,
        ty: u8,
        code: u8,
        rest: u32,
        orig_header: &[u8],
        orig_payload: &[u8],
    ) {
        let (cx, ip, link) = self.below();
        ip.send_icmp_error(cx, link, ty, code, rest, orig_header, orig_payload);
    }
}

/// A datagram handed up by the IP layer: its header fields, its header bytes and
/// its payload (borrowed from the frame, or owned when it was reassembled).
pub(crate) struct Datagram<'d> {
    /// The validated header.
    pub repr: Ipv4Repr,
    /// The header's bytes (options included).
    pub header: std::borrow::Cow<'d, [u8]>,
    /// The payload.
    pub payload: std::borrow::Cow<'d, [u8]>,
}
