//! TCP (RFC 9293). Read RFC 9293 section 3 and RFC 1122 section 4.2 before touching
//! this.
//!
//! Files by concern: [`conn`] (a connection's state machine), [`segment`] (the
//! header), [`urgent`] (urgent data and the mark), and the building blocks
//! [`seq`], [`options`], [`rtt`] (RFC 6298), [`assembler`], [`buffer`],
//! [`recovery`] (loss detection and congestion control: RFC 6675, RFC 8985, RFC 6937,
//! RFC 9438), [`isn`] (RFC 6528) and [`timer`]. The engine's side: `socket.rs` (the
//! user calls), `demux.rs` (segment input by the 4-tuple in a hash map),
//! `listener.rs` (the SYN queue and the accept queue) and `timers.rs` (the schedule
//! of all connections); this file holds the socket types and what a connection's
//! `Notice`s make the engine do.
//!
//! Listen backlog (4.2BSD primer 2.4): "If a connection request arrives with the
//! queue full, the connection is ignored, not refused": a SYN that finds the accept
//! queue full is dropped (counted), so the client's retransmitted SYN succeeds once
//! `accept` makes room. The backlog bounds the accept queue; half-open connections
//! wait in a SYN queue of their own (`max_syn_backlog`, as Linux), and when that is
//! full a SYN is answered with a SYN cookie ([`cookie`], RFC 4987) instead of
//! being queued, so a flood of spoofed SYNs cannot shut a listener.

pub mod assembler;
pub mod buffer;
pub mod conn;
pub mod cookie;
pub mod isn;
pub mod recovery;
pub mod rtt;
pub mod time_wait;
pub mod timer;
pub mod trace;
pub mod urgent;

pub use crate::wire::tcp as segment;
pub use crate::wire::tcp::{options, seq};

mod conn_table;
mod demux;
mod fast_open;
mod listener;

use conn_table::ConnTable;
use listener::listener_full;
mod socket;
mod timers;

#[cfg(test)]
mod fast_open_tests;
#[cfg(test)]
mod listener_tests;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

use rand::RngCore;

use crate::config::StackConfig;
use crate::counters::{DropReason, Stat};
use crate::cx::Tx;
use crate::device::offload::TxMeta;
use crate::error::NetError;
use crate::ip::icmp::IcmpError;
use crate::ip::{is_broadcast, route_for, IpSend, Ipv4Repr};
use crate::ports::{implicit_bind_error, overlaps, BindRules, Binding};
use crate::socket::{Readiness, Socket, SocketHandle, SocketOptions, SocketSet};
use crate::time::Duration;
use crate::time::Instant;
use crate::udp::{check_local_addr, PortTable};
use isn::IsnGenerator;
use recovery::congestion::CongestionAlgorithm;
use time_wait::TimeWaitTable;
use trace::{TraceEvent, TraceLog, TracePoint};

use conn::{CloseAction, Notice, Out, Tcb, TcbParams};
pub use conn::{State, TcpInfo};
use segment::TcpRepr;

/// Largest TCP payload of one TSO segment: what fits a 64 KiB IPv4 datagram with
/// the largest headers.
const TSO_MAX_PAYLOAD: usize = 65535 - 20 - 60;

/// Which half to shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// No more receives (`SHUT_RD`).
    Read,
    /// No more sends: FIN after the queued data (`SHUT_WR`).
    Write,
    /// Both (`SHUT_RDWR`).
    Both,
}

/// A listener's queues.
#[derive(Debug, Default)]
pub(crate) struct Listener {
    backlog: usize,
    /// Half-open children (SYN-RECEIVED).
    syn_queue: Vec<SocketHandle>,
    /// Established children waiting for `accept`.
    accept_queue: VecDeque<SocketHandle>,
    /// When this listener last answered a SYN with a cookie: only then are ACKs
    /// to it checked as cookies.
    last_cookie: Option<Instant>,
}

#[derive(Debug)]
pub(crate) enum TcpKind {
    /// Fresh or bound, not listening or connected.
    Idle,
    Listen(Listener),
    Conn(Box<Tcb>),
}

/// A TCP socket of the engine.
#[derive(Debug)]
pub(crate) struct TcpSocket {
    pub(crate) local: Option<SocketAddrV4>,
    /// Whether `local` holds a binding in the port table (children share their
    /// listener's and hold none).
    bound: bool,
    pub(crate) opts: SocketOptions,
    user_mss: Option<u16>,
    /// `TCP_CONGESTION` set on this socket (else the stack's default).
    congestion: Option<CongestionAlgorithm>,
    pub(crate) kind: TcpKind,
    /// The listener of a child not yet accepted.
    parent: Option<SocketHandle>,
    /// Error of a connection that is gone (reported once).
    error: Option<NetError>,
    /// Deadline last pushed on the timer heap.
    scheduled: Option<Instant>,
    /// A connection the user closed that lives on (counted in `Tcp::orphans`).
    orphaned: bool,
}

impl TcpSocket {
    fn tcb(&self) -> Option<&Tcb> {
        match &self.kind {
            TcpKind::Conn(t) => Some(t),
            _ => None,
        }
    }

    fn tcb_mut(&mut self) -> Option<&mut Tcb> {
        match &mut self.kind {
            TcpKind::Conn(t) => Some(t),
            _ => None,
        }
    }

    /// The socket's options, with the buffer sizes its connection uses.
    pub(crate) fn options(&self) -> SocketOptions {
        let mut o = self.opts;
        if let Some(t) = self.tcb() {
            (o.recv_buffer, o.send_buffer) = t.buffer_options();
        }
        o
    }

    pub(crate) fn readiness(&self) -> Readiness {
        match &self.kind {
            TcpKind::Idle => Readiness {
                error: self.error.is_some(),
                // Linux: poll on a fresh socket reports POLLOUT|POLLHUP.
                writable: true,
                hangup: true,
                ..Readiness::default()
            },
            TcpKind::Listen(l) => Readiness {
                readable: !l.accept_queue.is_empty(),
                ..Readiness::default()
            },
            TcpKind::Conn(t) => {
                let mut r = t.readiness();
                r.error |= self.error.is_some();
                r
            }
        }
    }
}

/// TCP's binding rule (Linux `inet_csk_bind_conflict`): overlapping addresses
/// conflict unless both set `SO_REUSEADDR` and the existing socket is not listening;
/// a connection in TIME-WAIT yields to a socket that sets `SO_REUSEADDR`.
struct TcpBindRules<'a> {
    sockets: &'a SocketSet,
    time_wait: &'a TimeWaitTable,
}

impl BindRules for TcpBindRules<'_> {
    fn may_share(&self, existing: &Binding, new: &Binding) -> bool {
        if !overlaps(existing.addr, new.addr) {
            return true;
        }
        let kind = match self.sockets.get(existing.handle) {
            Ok(Socket::Tcp(t)) => &t.kind,
            _ => return true, // stale binding
        };
        match kind {
            TcpKind::Listen(_) => false,
            TcpKind::Conn(t) if t.state() == State::TimeWait => new.reuse_addr,
            _ => existing.reuse_addr && new.reuse_addr,
        }
    }

    fn time_wait(&self, port: u16, addr: Ipv4Addr) -> bool {
        self.time_wait.holds(port, addr)
    }
}

/// Flags of [`crate::Engine::tcp_send`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendFlags {
    /// `MSG_OOB`: the last byte is urgent.
    pub oob: bool,
    /// `MSG_MORE`: more data follows; a short segment waits for it as with
    /// `TCP_CORK` (until a send without the flag, or a timeout).
    pub more: bool,
    /// `MSG_EOR`: the data ends a record. No segment carries bytes from both
    /// sides of a record's end (Linux's, for `MSG_EOR` sends).
    pub eor: bool,
}

/// Flags of [`crate::Engine::tcp_recv`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecvFlags {
    /// `MSG_PEEK`.
    pub peek: bool,
    /// `MSG_OOB`.
    pub oob: bool,
}

/// The TCP layer's state: port bindings, the demultiplexing tables, the timer
/// schedule, and what connections owe (segments to send, ACKs at the end of a
/// batch, urgent notifications). The sockets live in the engine's socket table.
#[derive(Debug)]
pub(crate) struct Tcp {
    ports: PortTable,
    /// Connections by (local, remote): O(1) demultiplexing.
    conns: ConnTable,
    /// Listening sockets by port.
    listeners: HashMap<u16, Vec<SocketHandle>>,
    /// Connection deadlines (lazily cleaned: stale entries are skipped).
    timers: BinaryHeap<Reverse<(Instant, SocketHandle)>>,
    isn: IsnGenerator,
    /// Segments connections produced, sent after each call.
    out: Vec<(IpSend, Vec<u8>, TxMeta)>,
    urgent_events: VecDeque<SocketHandle>,
    /// Connections owing a pure ACK, sent when the batch of received frames ends.
    ack_pending: Vec<SocketHandle>,
    /// Challenge ACKs the stack may still send (RFC 5961 section 7).
    challenge_acks: ChallengeAckLimit,
    /// Connections closed by their user and still finishing (Linux's orphans).
    orphans: usize,
    /// Closed connections in TIME-WAIT, as compact records.
    time_wait: TimeWaitTable,
    /// The connection trace, when one is asked for.
    trace: Option<TraceLog>,
    /// Servers' Fast Open cookies and MSSs (client side).
    fast_open: fast_open::ClientCache,
}

/// The stack's challenge-ACK limit (RFC 5961 section 7, as Linux's
/// `tcp_challenge_ack_limit`): at most `limit` in a one-second window that opens
/// with the first one.
#[derive(Debug)]
pub(crate) struct ChallengeAckLimit {
    limit: u32,
    window: Option<Instant>,
    sent: u32,
}

impl ChallengeAckLimit {
    /// A limit of `limit` challenge ACKs a second.
    pub(crate) fn new(limit: u32) -> ChallengeAckLimit {
        ChallengeAckLimit {
            limit,
            window: None,
            sent: 0,
        }
    }

    /// Takes one if the window has room at `now`.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        if self
            .window
            .is_none_or(|start| now >= start + Duration::from_secs(1))
        {
            self.window = Some(now);
            self.sent = 0;
        }
        if self.sent >= self.limit {
            return false;
        }
        self.sent += 1;
        true
    }
}

fn sock(sockets: &SocketSet, h: SocketHandle) -> Result<&TcpSocket, NetError> {
    match sockets.get(h)? {
        Socket::Tcp(t) => Ok(t),
        _ => Err(NetError::NotSupported),
    }
}

fn sock_mut(sockets: &mut SocketSet, h: SocketHandle) -> Result<&mut TcpSocket, NetError> {
    match sockets.get_mut(h)? {
        Socket::Tcp(t) => Ok(t),
        _ => Err(NetError::NotSupported),
    }
}

impl Tcp {
    /// A TCP layer with the port range of `config` and the ISN key `isn_key`
    /// (RFC 6528's secret).
    pub(crate) fn new(config: &StackConfig, isn_key: [u8; 16]) -> Tcp {
        Tcp {
            ports: PortTable::new(&config.ports),
            conns: ConnTable::default(),
            listeners: HashMap::new(),
            timers: BinaryHeap::new(),
            isn: IsnGenerator::new(isn_key),
            out: Vec::new(),
            urgent_events: VecDeque::new(),
            ack_pending: Vec::new(),
            challenge_acks: ChallengeAckLimit::new(config.tcp.challenge_acks_per_sec),
            orphans: 0,
            time_wait: TimeWaitTable::default(),
            fast_open: fast_open::ClientCache::default(),
            trace: None,
        }
    }

    /// Starts (`Some(capacity)`) or stops (`None`) the connection trace.
    pub(crate) fn set_trace(&mut self, capacity: Option<usize>) {
        self.trace = capacity.map(TraceLog::new);
    }

    /// The oldest trace event waiting, if the trace is on.
    pub(crate) fn poll_trace(&mut self) -> Option<TraceEvent> {
        self.trace.as_mut()?.pop()
    }

    /// Trace events that did not fit in the queue.
    pub(crate) fn trace_dropped(&self) -> u64 {
        self.trace.as_ref().map_or(0, TraceLog::dropped)
    }

    /// No connection, binding or listener is left.
    #[cfg(test)]
    pub(crate) fn tables_empty(&self) -> bool {
        self.conns.is_empty()
            && self.ports.is_empty()
            && self.listeners.values().all(Vec::is_empty)
            && self.time_wait.len() == 0
    }

    /// Connections in TIME-WAIT held as records.
    pub(crate) fn time_wait_count(&self) -> usize {
        self.time_wait.len()
    }

    /// The connections in TIME-WAIT.
    pub(crate) fn time_wait_connections(&self) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        self.time_wait.keys()
    }

    /// Replaces the ISN key (before any connection exists).
    pub(crate) fn rekey(&mut self, isn_key: [u8; 16]) {
        self.isn = IsnGenerator::new(isn_key);
    }

    /// Connections owe ACKs to be sent at the end of the batch.
    pub(crate) fn acks_pending(&self) -> usize {
        self.ack_pending.len()
    }

    /// Runs `f` on `h`'s connection with an output context, then sends what it
    /// produced and acts on the notice.
    fn with_tcb<R>(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        f: impl FnOnce(&mut Tcb, &mut Out<'_>) -> (R, Notice),
    ) -> Result<R, NetError> {
        let offloads = t.offloads();
        let (r, notice) = {
            let Ok(Socket::Tcp(sock)) = t.sockets.get_mut(h) else {
                return Err(NetError::BadHandle);
            };
            let Some(tcb) = sock.tcb_mut() else {
                return Err(NetError::NotConnected);
            };
            let before = self.trace.as_ref().map(|_| TracePoint::of(tcb));
            let mut out = Out {
                frames: &mut self.out,
                spare: t.cx.pool.spare_mut(),
                counters: t.cx.counters,
                defer_ack: t.cx.rx.input,
                partial_checksum: offloads.tx_checksum,
                tso_max: if offloads.tso { TSO_MAX_PAYLOAD } else { 0 },
                challenge_acks: &mut self.challenge_acks,
            };
            let r = f(tcb, &mut out);
            if let (Some(log), Some(before)) = (self.trace.as_mut(), before) {
                log.record(t.cx.now, tcb, before, TracePoint::of(tcb));
            }
            r
        };
        self.flush(t);
        self.after(t, h, notice);
        Ok(r)
    }

    /// Sends the segments connections queued.
    fn flush(&mut self, t: &mut Tx<'_>) {
        let mut frames = std::mem::take(&mut self.out);
        for (send, frame, meta) in frames.drain(..) {
            let _ = t.send_meta(send, frame, meta);
        }
        self.out = frames;
    }

    /// Acts on what a connection reported: wake-ups, the accept queue, freeing,
    /// the timer schedule.
    fn after(&mut self, t: &mut Tx<'_>, h: SocketHandle, notice: Notice) {
        if notice.wake {
            t.sockets.mark(h);
        }
        if notice.urgent {
            self.urgent_events.push_back(h);
        }
        let (parent, orphan, closed, deadline) = match t.sockets.get(h) {
            Ok(Socket::Tcp(s)) => match s.tcb() {
                Some(t) => (
                    s.parent,
                    t.is_orphan(),
                    t.state() == State::Closed,
                    t.poll_at(),
                ),
                None => return,
            },
            _ => return,
        };
        if notice.learned {
            self.learn_fast_open(t, h);
        }
        if let Some(p) = parent {
            if notice.established && !closed {
                if let Ok(Socket::Tcp(ps)) = t.sockets.get_mut(p) {
                    if let TcpKind::Listen(l) = &mut ps.kind {
                        // (A Fast Open child is queued at its SYN: once only.)
                        if let Some(i) = l.syn_queue.iter().position(|&c| c == h) {
                            l.syn_queue.remove(i);
                            l.accept_queue.push_back(h);
                        }
                    }
                }
                t.sockets.mark(p);
            }
            if closed {
                // A child that died before accept: the listener forgets it,
                // unless it is queued for accept already: then it stays, as in
                // Linux (accept returns it, with its data and its error).
                let mut queued = false;
                if let Ok(Socket::Tcp(ps)) = t.sockets.get_mut(p) {
                    if let TcpKind::Listen(l) = &mut ps.kind {
                        queued = l.accept_queue.contains(&h);
                        if !queued {
                            l.syn_queue.retain(|&c| c != h);
                        }
                    }
                }
                if !queued {
                    self.free(t, h);
                    return;
                }
            }
        }
        if closed && orphan {
            self.free(t, h);
            return;
        }
        // A closed connection in TIME-WAIT has finished its work: it becomes a
        // compact record and its socket is freed (Linux's timewait sock); it no
        // longer counts against max_orphans.
        let time_wait = match t.sockets.get(h) {
            Ok(Socket::Tcp(s)) => s.tcb().and_then(|c| {
                (c.is_orphan() && c.state() == State::TimeWait)
                    .then(|| ((c.local(), c.remote()), c.time_wait_record(t.cx.now)))
            }),
            _ => None,
        };
        if let Some((key, record)) = time_wait {
            self.free(t, h);
            if self
                .time_wait
                .insert(key, record, t.cx.config.tcp.max_time_wait)
            {
                t.cx.counters.inc(Stat::TcpTimeWaitEntered);
            } else {
                t.cx.counters.inc(Stat::TcpTimeWaitOverflow);
            }
            return;
        }
        if closed {
            // The user still holds the socket: keep it, out of the demux table.
            self.unhash(t, h);
            return;
        }
        self.schedule(t, h, deadline);
    }

    fn unhash(&mut self, t: &mut Tx<'_>, h: SocketHandle) {
        if let Ok(Socket::Tcp(s)) = t.sockets.get(h) {
            if let Some(t) = s.tcb() {
                let key = (t.local(), t.remote());
                if self.conns.get(&key) == Some(h) {
                    self.conns.remove(&key);
                }
            }
        }
    }

    /// Frees a TCP socket: demux entry, port binding, slot.
    fn free(&mut self, t: &mut Tx<'_>, h: SocketHandle) {
        self.unhash(t, h);
        if let Ok(Socket::Tcp(s)) = t.sockets.get(h) {
            if let (TcpKind::Listen(_), Some(l)) = (&s.kind, s.local) {
                if let Some(v) = self.listeners.get_mut(&l.port()) {
                    v.retain(|&x| x != h);
                    if v.is_empty() {
                        self.listeners.remove(&l.port());
                    }
                }
            }
        }
        if let Ok(Socket::Tcp(s)) = t.sockets.get(h) {
            if s.orphaned {
                self.orphans -= 1;
            }
            if s.bound {
                if let Some(l) = s.local {
                    self.ports.unbind(l.port(), h);
                }
            }
        }
        let _ = t.sockets.remove(h);
    }
}
