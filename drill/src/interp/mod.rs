//! The interpreter: runs a parsed script against a [`stack::Engine`] on
//! virtual time, playing the remote host itself.
//!
//! # Model
//!
//! * **Time** is virtual, in microseconds from the script's start. The
//!   interpreter moves it forward event by event; between events it fires the
//!   engine's timers ([`Engine::poll_timeout`]) at their exact deadlines, so a
//!   retransmission due at 1.000 s happens at 1.000 s.
//! * **The remote host** is simulated: `<` packets are built here (correct
//!   checksums, the remote MAC address) and fed to [`Engine::handle_frame`];
//!   every frame the engine sends is captured. ARP requests for the remote
//!   host (and for the gateway and any address a packet line names) are
//!   answered at once (or after `--arp_delay_usecs`) and are not script
//!   packets; every other frame is.
//! * **Outbound packets** must be matched, in order, by `>` lines. A `>` line
//!   takes the oldest captured frame, waiting (in virtual time) until its
//!   deadline for one to appear. A frame that no `>` line takes is an error:
//!   it is reported when the script moves on past its time plus the
//!   tolerance, or when the script ends.
//! * **System calls** go to a small kernel of our own (file descriptors from 3,
//!   `O_NONBLOCK`, blocking). A blocking call written `+0...0.2 accept(...)`
//!   is started at `+0`; later events run while it is blocked, and it must
//!   return at `0.2` (within the tolerance). A call without an end time must
//!   not block.
//! * **Tolerance** for an event expected at `t`: the larger of
//!   `--tolerance_usecs` (default 4000) and `--tolerance_percent` (default
//!   12.5) of the time since the previous event, as in packetdrill.
//! * **Relative times** (`+0.1`) count from the time the previous event
//!   actually happened: for a `>` line, when the packet was sent; for a
//!   blocking call, when it started.

pub mod consts;
mod kernel;
mod outbound;
mod packets;
pub mod settings;
mod tcp;
mod wire;

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use stack::{Engine, Instant};

use crate::ast::*;
use crate::print::format_micros;
pub use settings::Settings;
use wire::{Decoded, Mac};

/// How long after a missed deadline we look for the packet, to tell "late"
/// from "never sent" in the failure message.
const LOOKAHEAD_USECS: Micros = 10_000_000;
/// Timer firings one run may do (a script that runs for days of virtual time
/// with a timer every few milliseconds stops here).
const MAX_FIRINGS: u64 = 5_000_000;
/// Firings at one instant before we call the engine's timers stuck.
const MAX_SPIN: u32 = 10_000;

/// Why a script failed: where, when, and what was expected and seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based script line (0 when the failure is not about one line, such
    /// as an unreadable file).
    pub line: usize,
    /// What went wrong.
    pub message: String,
    /// The expected packet or call, in script syntax, when there is one.
    pub expected: Option<String>,
    /// The actual packet or call result, in script syntax, when there is one.
    pub actual: Option<String>,
    /// Virtual time of the failure, in microseconds from the script start.
    pub time: Micros,
}

impl std::fmt::Display for Failure {
    /// `line 12 (at 0.1 s): message`, then indented `expected:`/`actual:` lines.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} (at {}): ", self.line, secs(self.time))?;
        self.fmt_body(f)
    }
}

impl Failure {
    /// The message and the expected/actual lines.
    pub(crate) fn fmt_body(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(e) = &self.expected {
            write!(f, "\n    expected: {e}")?;
        }
        if let Some(a) = &self.actual {
            write!(f, "\n    actual:   {a}")?;
        }
        Ok(())
    }
}

/// One frame the stack sent, waiting for a `>` line.
#[derive(Debug, Clone)]
struct Captured {
    /// When the engine sent it.
    time: Micros,
    /// The decoded datagram, or why it could not be decoded.
    decoded: Result<Decoded, String>,
    /// The line of the last event run before it was sent.
    after_line: usize,
}

/// What the interpreter knows about one TCP connection, keyed by
/// (our port, remote address, remote port).
#[derive(Debug, Clone, Copy, Default)]
struct Conn {
    /// Our initial sequence number, from our SYN or SYN-ACK.
    local_isn: Option<u32>,
    /// The sequence number the script gave our SYN or SYN-ACK (any value
    /// matches, as in packetdrill; an inbound SYN-ACK's ack is relative to it).
    script_local_isn: u32,
    /// The remote ISN, from the script's SYN or SYN-ACK. In compatibility
    /// mode later `<` sequence numbers and `>` ack numbers and SACK edges are
    /// relative to it (packetdrill's, and tcpdump's, convention); our own
    /// scripts write the remote host's numbers as they are.
    remote_isn: u32,
    /// `remote_isn` was taken from a SYN of the script.
    remote_syn: bool,
    /// Our TSval minus the script's `TS val` on the first matched `>` packet
    /// with a timestamp: added to `ecr` values of `<` packets.
    ts_offset: Option<u32>,
    /// The sequence number of the last segment we sent (for ICMP quotes).
    last_seq: Option<u32>,
    /// A RST went either way, or FINs went both ways: the next SYN starts a
    /// new connection with a new ISN.
    finished: bool,
    /// We sent a FIN.
    fin_out: bool,
    /// The script sent a FIN.
    fin_in: bool,
}

impl Conn {
    /// Notes the flags of a segment on this connection.
    fn saw(&mut self, flags: u8, outbound: bool) {
        if flags & TcpFlags::RST.0 != 0 {
            self.finished = true;
        }
        if flags & TcpFlags::FIN.0 != 0 {
            if outbound {
                self.fin_out = true;
            } else {
                self.fin_in = true;
            }
            self.finished |= self.fin_in && self.fin_out;
        }
    }
}

type ConnKey = (u16, Ipv4Addr, u16);

/// The flow that packet lines without addresses refer to.
#[derive(Debug, Clone, Copy)]
struct DefaultConn {
    /// Our port, once known (bind, connect, or the first packet we send).
    local_port: Option<u16>,
    /// The remote port.
    remote_port: u16,
    /// Whether the socket that set it is TCP (for ICMP quotes).
    tcp: bool,
    /// A `listen` succeeded since the last SYN the script sent: in
    /// compatibility mode the next SYN is a new connection from a new remote
    /// port, as packetdrill picks one for each connection it opens.
    listened: bool,
}

/// A system call that blocked and has not returned yet.
#[derive(Debug, Clone)]
struct Pending {
    line: usize,
    call: Syscall,
    start: Micros,
    end: Micros,
    tol: Micros,
    wait: kernel::Wait,
}

/// The state of one run.
pub(crate) struct Interp {
    settings: Settings,
    engine: Engine,
    local_mac: Mac,
    remote_mac: Mac,
    now: Micros,
    outq: VecDeque<Captured>,
    conns: HashMap<ConnKey, Conn>,
    def: DefaultConn,
    fds: sockets::descriptors::Descriptors<kernel::Fd>,
    epolls: kernel::Epolls,
    /// The engine work being drained came from the script's own call.
    user_call: bool,
    pending: Option<Pending>,
    arp_answer: Vec<Ipv4Addr>,
    arp_pending: Vec<(Micros, Vec<u8>)>,
    ip_id: u16,
    last_line: usize,
    verbose: bool,
    log: Vec<String>,
    firings: u64,
    spin: (Micros, u32),
}

/// Formats virtual microseconds for messages: `0.1 s`.
pub(crate) fn secs(us: Micros) -> String {
    format!("{} s", format_micros(us))
}

impl Interp {
    /// A fresh stack configured by `settings`, and the addresses the remote
    /// host answers ARP for.
    pub(crate) fn new(
        settings: Settings,
        script: &Script,
        verbose: bool,
    ) -> Result<Interp, String> {
        let config = settings.stack_config()?;
        let local_mac = config.mac.0;
        let mut remote_mac: Mac = [0x02, 0x64, 0x72, 0x69, 0x6c, 0x6c];
        if remote_mac == local_mac {
            remote_mac[5] ^= 1;
        }
        let engine = Engine::new(config).map_err(|e| e.to_string())?;
        let mut arp_answer = vec![settings.remote_ip];
        arp_answer.extend(settings.gateway);
        for ev in &script.events {
            if let EventKind::Packet(Packet { addrs: Some(e), .. }) = &ev.kind {
                arp_answer.extend(e.src_addr);
                arp_answer.extend(e.dst_addr);
            }
        }
        arp_answer.retain(|a| *a != settings.local_ip);
        arp_answer.sort();
        arp_answer.dedup();
        let def = DefaultConn {
            local_port: None,
            remote_port: settings.remote_port,
            listened: false,
            tcp: false,
        };
        Ok(Interp {
            settings,
            engine,
            local_mac,
            remote_mac,
            now: 0,
            outq: VecDeque::new(),
            conns: HashMap::new(),
            def,
            fds: sockets::descriptors::Descriptors::default(),
            epolls: kernel::Epolls::new(),
            user_call: false,
            pending: None,
            arp_answer,
            arp_pending: Vec::new(),
            ip_id: 0,
            last_line: 0,
            verbose,
            log: Vec::new(),
            firings: 0,
            spin: (0, 0),
        })
    }

    /// The current virtual time.
    pub(crate) fn now(&self) -> Micros {
        self.now
    }

    /// The verbose transcript (empty unless verbose).
    pub(crate) fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }

    pub(crate) fn instant(&self) -> Instant {
        Instant::from_micros(self.now)
    }

    fn note(&mut self, text: impl FnOnce() -> String) {
        self.note_at(self.now, text);
    }

    fn note_at(&mut self, at: Micros, text: impl FnOnce() -> String) {
        if self.verbose {
            let t = format!("{:>10.6}", at as f64 / 1e6);
            self.log.push(format!("{t} {}", text()));
        }
    }

    fn fail(&self, line: usize, message: impl Into<String>) -> Failure {
        Failure {
            line,
            message: message.into(),
            expected: None,
            actual: None,
            time: self.now,
        }
    }

    /// Tolerance for something expected at `expected` when the previous
    /// event happened at `base`.
    fn tolerance(&self, expected: Micros, base: Micros) -> Micros {
        let gap = expected.saturating_sub(base) as f64;
        let dynamic = (gap * self.settings.tolerance_percent / 100.0) as Micros;
        self.settings.tolerance_usecs.max(dynamic)
    }

    /// Runs every event, then the end-of-script checks.
    pub(crate) fn run(&mut self, script: &Script) -> Result<(), Failure> {
        for ev in &script.events {
            self.event(ev)?;
        }
        self.finish_pending()?;
        if let Some(c) = self.outq.pop_front() {
            if self.settings.compat.is_some() {
                // packetdrill lets packets the script does not list go by.
                self.tolerate(&c);
                while let Some(c) = self.outq.pop_front() {
                    self.tolerate(&c);
                }
                return Ok(());
            }
            return Err(self.unexpected(&c));
        }
        Ok(())
    }

    fn event(&mut self, ev: &Event) -> Result<(), Failure> {
        let base = self.now;
        let (lo, hi, any) = match ev.time {
            EventTime::Absolute(t) => (t, t, false),
            EventTime::Relative(d) => (base.saturating_add(d), base.saturating_add(d), false),
            EventTime::Any => (base, base, true),
            EventTime::AbsoluteRange { start, end } => (start, end, false),
            EventTime::RelativeRange { start, end } => {
                (base.saturating_add(start), base.saturating_add(end), false)
            }
        };
        match &ev.kind {
            EventKind::Packet(p) if p.direction == Direction::Outbound => {
                self.outbound(ev, p, base, lo, hi, any)
            }
            EventKind::Packet(p) => {
                self.start_at(ev, base, lo, "inbound packet")?;
                self.last_line = ev.line;
                self.inbound(ev, p)
            }
            EventKind::Syscall(call) => {
                self.finish_pending()?;
                self.start_at(ev, base, lo, "system call")?;
                self.last_line = ev.line;
                self.syscall(ev, call, base)
            }
        }
    }

    /// Moves time to `t` for an inbound packet or a call, checking that no
    /// sent packet went unmatched and that the event is not late.
    fn start_at(&mut self, ev: &Event, base: Micros, t: Micros, what: &str) -> Result<(), Failure> {
        let tol = self.tolerance(t, base);
        self.advance_to(t)?;
        while let Some(c) = self.outq.front() {
            if c.time.saturating_add(self.settings.tolerance_usecs) >= t {
                break;
            }
            let c = c.clone();
            if self.settings.compat.is_none() {
                return Err(self.unexpected(&c));
            }
            self.outq.pop_front();
            self.tolerate(&c);
        }
        if self.now > t.saturating_add(tol) {
            return Err(self.fail(
                ev.line,
                format!(
                    "timing error: expected the {what} at {} but the script could only get to it at {} (tolerance {})",
                    secs(t),
                    secs(self.now),
                    secs(tol)
                ),
            ));
        }
        Ok(())
    }

    fn inbound(&mut self, ev: &Event, p: &Packet) -> Result<(), Failure> {
        let datagram = self.build_inbound(p).map_err(|m| self.fail(ev.line, m))?;
        self.note(|| format!("{p}"));
        let frame = wire::ethernet(
            self.local_mac,
            self.remote_mac,
            wire::ETHERTYPE_IPV4,
            &datagram,
        );
        let now = self.instant();
        self.engine.handle_frame(now, &frame);
        self.after_engine_call()
    }

    /// Waits for a blocked call to return (or to miss its deadline).
    fn finish_pending(&mut self) -> Result<(), Failure> {
        while let Some(p) = &self.pending {
            let limit = p.end.saturating_add(p.tol).saturating_add(1);
            self.step(limit)?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ time

    /// The next moment something is due: an engine timer, a delayed ARP
    /// reply, or a blocked call's timeout or deadline.
    fn next_deadline(&self) -> Option<Micros> {
        let engine = self.engine.poll_timeout().map(Instant::total_micros);
        let arp = self.arp_pending.iter().map(|(t, _)| *t).min();
        let pending = self.pending.as_ref().map(|p| {
            let give_up = p.end.saturating_add(p.tol).saturating_add(1);
            p.wait.deadline().map_or(give_up, |d| d.min(give_up))
        });
        [engine, arp, pending].into_iter().flatten().min()
    }

    /// Fires everything due up to and including `target`, then sets the
    /// clock to `target`: when an event at `t` runs, every timer due by `t`
    /// has fired.
    fn advance_to(&mut self, target: Micros) -> Result<(), Failure> {
        while let Some(d) = self.next_deadline() {
            if d <= target {
                self.fire(d)?;
            } else {
                break;
            }
        }
        self.now = self.now.max(target);
        Ok(())
    }

    /// Fires the next thing due if it is due by `limit`, else moves the clock
    /// to `limit`.
    fn step(&mut self, limit: Micros) -> Result<(), Failure> {
        match self.next_deadline() {
            Some(d) if d <= limit => self.fire(d),
            _ => {
                self.now = self.now.max(limit);
                Ok(())
            }
        }
    }

    fn fire(&mut self, at: Micros) -> Result<(), Failure> {
        self.now = self.now.max(at);
        self.firings += 1;
        if self.spin.0 == self.now {
            self.spin.1 += 1;
        } else {
            self.spin = (self.now, 0);
        }
        if self.spin.1 > MAX_SPIN {
            return Err(self.fail(
                self.last_line,
                format!(
                    "the stack's timers keep firing at {} without time moving on",
                    secs(self.now)
                ),
            ));
        }
        if self.firings > MAX_FIRINGS {
            return Err(self.fail(
                self.last_line,
                format!("more than {MAX_FIRINGS} timer firings; the script runs too long"),
            ));
        }
        let now = self.instant();
        if self.engine.poll_timeout().is_some_and(|d| d <= now) {
            self.engine.handle_timeout(now);
        }
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.arp_pending)
            .into_iter()
            .partition(|(t, _)| *t <= self.now);
        self.arp_pending = later;
        for (_, frame) in due {
            self.engine.handle_frame(now, &frame);
        }
        self.after_engine_call()
    }

    /// After any engine call: capture what it sent, retry a blocked call.
    fn after_engine_call(&mut self) -> Result<(), Failure> {
        self.drain();
        self.poll_pending()
    }

    /// Takes every frame the engine queued: ARP is answered and swallowed,
    /// everything else is captured for `>` lines.
    fn drain(&mut self) {
        // Wake-ups are for threads waiting on sockets (and for edge-triggered
        // epoll registrations); blocked calls here are retried after every
        // engine call anyway.
        while let Some(ev) = self.engine.poll_event() {
            if let (stack::Event::Socket(h), false) = (ev, self.user_call) {
                self.epoll_woken(h);
            }
        }
        while self.engine.poll_urgent().is_some() {}
        let mut budget = 1_000_000u32;
        let now = self.instant();
        while let Some(frame) = self.engine.poll_transmit(now) {
            budget -= 1;
            self.capture(&frame);
            self.engine.recycle(frame);
            if budget == 0 {
                break;
            }
        }
    }

    fn capture(&mut self, frame: &[u8]) {
        let push = |me: &mut Interp, decoded: Result<Decoded, String>| {
            me.outq.push_back(Captured {
                time: me.now,
                decoded,
                after_line: me.last_line,
            });
        };
        if frame.len() < wire::ETH_HDR {
            return push(
                self,
                Err(format!("runt Ethernet frame of {} bytes", frame.len())),
            );
        }
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        let payload = &frame[wire::ETH_HDR..];
        match ethertype {
            wire::ETHERTYPE_ARP => self.arp(payload),
            wire::ETHERTYPE_IPV4 => {
                let dst_mac = &frame[0..6];
                let mut decoded = wire::decode_ipv4(payload);
                if let Ok(d) = &decoded {
                    let broadcast = d.dst.is_broadcast()
                        || d.dst == self.engine.config().broadcast()
                        || d.dst.is_multicast();
                    if dst_mac != self.remote_mac && !broadcast {
                        decoded = Err(format!(
                            "sent to MAC address {} instead of the remote host's {}",
                            mac_str(dst_mac),
                            mac_str(&self.remote_mac)
                        ));
                    }
                }
                if let Ok(d) = &decoded {
                    self.learn(d);
                }
                push(self, decoded);
            }
            other => push(
                self,
                Err(format!("non-IPv4 frame with EtherType 0x{other:04x}")),
            ),
        }
    }

    /// The remote host's ARP behaviour.
    fn arp(&mut self, payload: &[u8]) {
        let Some(arp) = wire::parse_arp(payload) else {
            self.note(|| "(malformed ARP frame ignored)".to_string());
            return;
        };
        if arp.oper != 1 {
            return;
        }
        if !self.arp_answer.contains(&arp.target_ip) {
            self.note(|| format!("(ARP who-has {}: not answered)", arp.target_ip));
            return;
        }
        let reply = wire::arp_reply(
            self.remote_mac,
            arp.target_ip,
            arp.sender_mac,
            arp.sender_ip,
        );
        let delay = self.settings.arp_delay_usecs;
        self.note(|| {
            format!(
                "(ARP who-has {}: answered after {})",
                arp.target_ip,
                secs(delay)
            )
        });
        if delay == 0 {
            let now = self.instant();
            self.engine.handle_frame(now, &reply);
        } else {
            self.arp_pending
                .push((self.now.saturating_add(delay), reply));
        }
    }

    /// Learns ISNs and the last sequence number from a segment we sent.
    fn learn(&mut self, d: &Decoded) {
        if let wire::Transport::Tcp(s) = &d.transport {
            let c = self
                .conns
                .entry((s.src_port, d.dst, s.dst_port))
                .or_default();
            // Every SYN or SYN-ACK we send carries our ISN. A different one
            // on the same ports is a new connection (for example after
            // TIME-WAIT): relearn it, and the timestamp offset with it.
            if s.flags & TcpFlags::SYN.0 != 0 && c.local_isn != Some(s.seq) {
                if c.local_isn.is_some() {
                    c.ts_offset = None;
                }
                c.local_isn = Some(s.seq);
            }
            c.last_seq = Some(s.seq);
        }
    }
}

fn mac_str(m: &[u8]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
