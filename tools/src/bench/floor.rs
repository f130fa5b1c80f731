//! The floor of the plain TAP path: the least work any TCP endpoint must do per
//! frame, measured on the same TAP with the same kernel peer as the stacks.
//!
//! No stack runs here. One thread reads frames from the TAP (the same
//! non-blocking reads and `poll` waits as ours and smoltcp's single-thread loop),
//! answers ARP and the handshake, and then does only what no receiver or sender
//! can leave out:
//!
//! - receiving: verify the IPv4 and TCP checksums, copy the payload once (to where
//!   an application would read it), and ACK as our stack does (at the end of each
//!   batch of frames read, and at least every 64 KiB);
//! - sending: copy the payload once (from where an application wrote it) into a
//!   frame, compute both checksums, write the frame, and read the kernel's ACKs
//!   to keep within its window (going back to the first unacknowledged byte after
//!   three duplicate ACKs or 200 ms without progress).
//!
//! No options beyond MSS and window scale, no SACK, no timers, no
//! reassembly: an out-of-order segment is dropped and answered with a duplicate
//! ACK. What is left is the cost of the TAP itself and of the kernel's TCP on the
//! other side of it, so a stack's figure divided by this one says how close to the
//! device's limit the stack is.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use stack::device::tap::TapDevice;
use stack::device::Device;
use stack::runtime::Clock;
use stack::wire::arp::{ArpRepr, REPLY, REQUEST};
use stack::wire::ethernet::EthernetRepr;
use stack::wire::ipv4::Ipv4Repr;
use stack::wire::tcp::options::TcpOptions;
use stack::wire::tcp::seq::SeqNumber;
use stack::wire::tcp::{Flags, TcpRepr};
use stack::wire::{
    EthernetAddress, ETHERNET_HEADER_LEN as ETH, ETHERTYPE_ARP, ETHERTYPE_IPV4,
    IPV4_HEADER_LEN as IP, PROTO_TCP, TCP_HEADER_LEN as TCP,
};

use super::linux::Peer;
use super::ours::{open_tap, STALL};
use super::{pattern, Dir, Meter, TapRun, Transfer, APP_CHUNK};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
/// Our window scale (the buffer is advertised through it).
const WSCALE: u8 = 7;
/// Longest wait on the TAP before the loop looks at the clock and the kernel side.
const TICK: Duration = Duration::from_millis(50);
/// Received bytes after which an ACK goes out even within a batch.
const ACK_EVERY: u32 = 64 * 1024;
/// Frames read per batch before ACKing and sending.
const RX_BATCH: usize = 64;
/// Going back to SND.UNA after this long without progress.
const RTO: Duration = Duration::from_millis(200);

/// The one connection's state.
struct Conn {
    peer_mac: EthernetAddress,
    peer_ip: Ipv4Addr,
    peer_port: u16,
    /// Next sequence number expected from the kernel.
    rcv_nxt: u32,
    /// Our initial sequence number + 1: the sequence number of data offset 0.
    iss1: u32,
    /// First unacknowledged data offset (the FIN is at offset `bytes`).
    snd_una: u64,
    /// Next data offset to send.
    snd_nxt: u64,
    /// The kernel's window in bytes (its scale applied).
    snd_wnd: u32,
    peer_wscale: u8,
    mss: usize,
    established: bool,
    fin_received: bool,
    fin_sent: bool,
}

/// One measurement of the floor on the TAP.
pub fn run_tap(run: &TapRun) -> Result<Transfer, String> {
    let mut tap = open_tap(&run.tap, run.mtu, false)?;
    let mut floor = Floor::new(run);
    let peer = Peer::start(run.dir, run.service(), run.bytes, run.timeout.min(STALL))?;
    let deadline = Instant::now() + run.timeout;
    let ours = floor.drive(&mut tap, &peer, deadline);
    peer.settle(ours, run.dir, || floor.meter.transfer())
}

struct Floor<'a> {
    run: &'a TapRun,
    clock: Clock,
    conn: Option<Conn>,
    /// Where received payload is copied (an application's buffer).
    sink: Vec<u8>,
    sink_at: usize,
    /// The bytes an application would have written.
    source: Vec<u8>,
    meter: Meter,
    unacked_rx: u32,
    ack_due: bool,
    dup_acks: u32,
    last_progress: Instant,
    frame: Vec<u8>,
    out: Vec<u8>,
}

impl<'a> Floor<'a> {
    fn new(run: &'a TapRun) -> Floor<'a> {
        Floor {
            run,
            clock: Clock::new(),
            conn: None,
            sink: vec![0; APP_CHUNK],
            sink_at: 0,
            source: pattern(APP_CHUNK + 65536),
            meter: Meter::default(),
            unacked_rx: 0,
            ack_due: false,
            dup_acks: 0,
            last_progress: Instant::now(),
            frame: vec![0; run.mtu + ETH + 4],
            out: vec![0; run.mtu + ETH],
        }
    }

    fn done(&self) -> bool {
        match self.run.dir {
            Dir::Recv => self.conn.as_ref().is_some_and(|c| c.fin_received),
            // The kernel side measures and ends the run; all that is asked of
            // the sender is to have sent everything and its FIN.
            Dir::Send => self.conn.as_ref().is_some_and(|c| c.fin_sent),
        }
    }

    fn drive(&mut self, tap: &mut TapDevice, peer: &Peer, deadline: Instant) -> Result<(), String> {
        loop {
            let now = self.clock.now();
            let mut n = 0;
            while n < RX_BATCH {
                let len = match tap.receive(&mut self.frame, now) {
                    Ok(Some(len)) => len,
                    Ok(None) => break,
                    Err(e) => return Err(format!("floor: reading the TAP: {e}")),
                };
                n += 1;
                self.input(tap, len)?;
            }
            if self.ack_due || self.unacked_rx > 0 {
                self.send_ack(tap)?;
            }
            if self.run.dir == Dir::Send {
                self.output(tap)?;
            }
            if let Some(over) = peer.run_over(self.done(), deadline) {
                return over;
            }
            if n == 0 {
                let sending =
                    self.run.dir == Dir::Send && self.conn.as_ref().is_some_and(|c| c.established);
                let wait = if sending { RTO / 4 } else { TICK };
                tap.wait(Some(wait))
                    .map_err(|e| format!("floor: waiting on the TAP: {e}"))?;
            }
        }
    }

    fn input(&mut self, tap: &mut TapDevice, len: usize) -> Result<(), String> {
        let Some(eth) = EthernetRepr::parse(&self.frame[..len]) else {
            return Ok(());
        };
        match eth.ethertype {
            ETHERTYPE_ARP => self.arp(tap, len),
            ETHERTYPE_IPV4 => self.tcp_input(tap, eth.src, len),
            _ => Ok(()),
        }
    }

    /// Answers an ARP request for our address.
    fn arp(&mut self, tap: &mut TapDevice, len: usize) -> Result<(), String> {
        let ours = self.run.addr.0;
        let Ok(a) = ArpRepr::parse(&self.frame[ETH..len]) else {
            return Ok(());
        };
        if a.operation != REQUEST || a.target_ip != ours {
            return Ok(());
        }
        let mac = EthernetAddress(self.run.mac);
        let mut r = vec![0u8; ETH];
        EthernetRepr {
            dst: a.sender_hw,
            src: mac,
            ethertype: ETHERTYPE_ARP,
        }
        .emit(&mut r);
        ArpRepr {
            operation: REPLY,
            sender_hw: mac,
            sender_ip: ours,
            target_hw: a.sender_hw,
            target_ip: a.sender_ip,
        }
        .emit(&mut r);
        tap.transmit(&r, self.clock.now())
            .map_err(|e| format!("floor: writing the TAP: {e}"))
    }

    fn tcp_input(
        &mut self,
        tap: &mut TapDevice,
        peer_mac: EthernetAddress,
        len: usize,
    ) -> Result<(), String> {
        // Both parsers verify their checksums.
        let f = &self.frame[ETH..len];
        let Ok(ip) = Ipv4Repr::parse(f) else {
            return Ok(());
        };
        if ip.protocol != PROTO_TCP || ip.is_fragment() || ip.dst != self.run.addr.0 {
            return Ok(());
        }
        let Some(Ok((seg, data))) = f
            .get(ip.header_len..ip.total_len)
            .map(|s| TcpRepr::parse(ip.src, ip.dst, s))
        else {
            return Ok(());
        };
        if seg.dst_port != self.run.dir.port() {
            return Ok(());
        }
        if seg.flags.syn && !seg.flags.ack {
            return self.syn(tap, peer_mac, ip.src, &seg);
        }
        let Some(c) = self.conn.as_mut() else {
            return Ok(());
        };
        if seg.flags.rst {
            return Err("floor: the kernel reset the connection".into());
        }
        if seg.src_port != c.peer_port {
            return Ok(());
        }
        if seg.flags.ack {
            c.established = true;
            let una = c.iss1.wrapping_add(c.snd_una as u32);
            let newly = i64::from(seg.ack.0.wrapping_sub(una) as i32);
            if newly > 0 && newly as u64 <= c.snd_nxt - c.snd_una {
                c.snd_una += newly as u64;
                self.dup_acks = 0;
                self.last_progress = Instant::now();
            } else if newly == 0 && c.snd_nxt != c.snd_una && data.is_empty() {
                self.dup_acks += 1;
                if self.dup_acks == 3 {
                    c.snd_nxt = c.snd_una; // go back
                }
            }
            c.snd_wnd = u32::from(seg.window) << c.peer_wscale;
        }
        if !data.is_empty() || seg.flags.fin {
            if seg.seq.0 != c.rcv_nxt {
                self.ack_due = true;
                return Ok(());
            }
            if !data.is_empty() {
                let n = data.len();
                let room = self.sink.len() - self.sink_at;
                let first = n.min(room);
                self.sink[self.sink_at..self.sink_at + first].copy_from_slice(&data[..first]);
                self.sink[..n - first].copy_from_slice(&data[first..]);
                self.sink_at = (self.sink_at + n) % self.sink.len();
                c.rcv_nxt = c.rcv_nxt.wrapping_add(n as u32);
                self.unacked_rx += n as u32;
                self.meter.arrived(n);
            }
            if seg.flags.fin {
                c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
                c.fin_received = true;
                self.ack_due = true;
                if !c.fin_sent && self.run.dir == Dir::Recv {
                    c.fin_sent = true;
                    let (s, a) = (c.iss1, c.rcv_nxt);
                    c.snd_nxt = 1;
                    self.ack_due = false;
                    self.unacked_rx = 0;
                    return self.segment(tap, s, a, FIN | ACK, None);
                }
            }
            if self.unacked_rx >= ACK_EVERY {
                self.send_ack(tap)?;
            }
        }
        Ok(())
    }

    /// Takes the kernel's SYN and answers with a SYN-ACK.
    fn syn(
        &mut self,
        tap: &mut TapDevice,
        peer_mac: EthernetAddress,
        peer_ip: Ipv4Addr,
        seg: &TcpRepr,
    ) -> Result<(), String> {
        let iss = 0x1000_0000u32;
        let most = self.run.mtu - IP - TCP;
        let conn = Conn {
            peer_mac,
            peer_ip,
            peer_port: seg.src_port,
            rcv_nxt: seg.seq.0.wrapping_add(1),
            iss1: iss.wrapping_add(1),
            snd_una: 0,
            snd_nxt: 0,
            snd_wnd: 0,
            peer_wscale: seg.options.window_scale.unwrap_or(0),
            mss: seg.options.mss.map_or(536, usize::from).min(most),
            established: false,
            fin_received: false,
            fin_sent: false,
        };
        let ack = conn.rcv_nxt;
        self.conn = Some(conn);
        self.segment(tap, iss, ack, SYN | ACK, None)
    }

    /// The receive window we advertise: the buffer, scaled.
    fn window(&self, syn: bool) -> u16 {
        let w = self.run.buffer;
        if syn {
            w.min(65535) as u16
        } else {
            (w >> WSCALE).min(65535) as u16
        }
    }

    fn send_ack(&mut self, tap: &mut TapDevice) -> Result<(), String> {
        self.ack_due = false;
        self.unacked_rx = 0;
        let Some(c) = self.conn.as_ref() else {
            return Ok(());
        };
        let (s, a) = (c.iss1.wrapping_add(c.snd_nxt as u32), c.rcv_nxt);
        self.segment(tap, s, a, ACK, None)
    }

    /// Sends what the kernel's window allows, then the FIN.
    fn output(&mut self, tap: &mut TapDevice) -> Result<(), String> {
        let bytes = self.run.bytes;
        let buffer = self.run.buffer as u64;
        loop {
            let Some(c) = self.conn.as_mut() else {
                return Ok(());
            };
            if !c.established {
                return Ok(());
            }
            if c.snd_nxt != c.snd_una && self.last_progress.elapsed() >= RTO {
                c.snd_nxt = c.snd_una;
                self.last_progress = Instant::now();
            }
            let (seq, ack) = (c.iss1.wrapping_add(c.snd_nxt as u32), c.rcv_nxt);
            if c.snd_nxt < bytes {
                let n = (c.mss as u64).min(bytes - c.snd_nxt);
                if c.snd_nxt + n > c.snd_una + u64::from(c.snd_wnd).min(buffer) {
                    return Ok(());
                }
                let data = c.snd_nxt;
                c.snd_nxt += n;
                self.segment(tap, seq, ack, ACK | PSH, Some((data, n as usize)))?;
            } else if c.snd_nxt == bytes {
                c.fin_sent = true;
                c.snd_nxt = bytes + 1;
                return self.segment(tap, seq, ack, FIN | ACK, None);
            } else {
                return Ok(());
            }
        }
    }

    /// Writes one segment, with `payload` (data offset, length) bytes of the
    /// application's data; a SYN carries our MSS and window scale, the only
    /// options the floor uses.
    fn segment(
        &mut self,
        tap: &mut TapDevice,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: Option<(u64, usize)>,
    ) -> Result<(), String> {
        let Some(c) = self.conn.as_ref() else {
            return Ok(());
        };
        let (data_at, payload) = payload.unwrap_or((0, 0));
        let flags = Flags::from_byte(flags);
        let options = if flags.syn {
            TcpOptions {
                mss: Some((self.run.mtu - IP - TCP) as u16),
                window_scale: Some(WSCALE),
                ..TcpOptions::default()
            }
        } else {
            TcpOptions::default()
        };
        let ours = self.run.addr.0;
        let tcp = TcpRepr {
            src_port: self.run.dir.port(),
            dst_port: c.peer_port,
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags,
            window: self.window(flags.syn),
            urgent: 0,
            options,
        };
        let hlen = tcp.header_len();
        let total = IP + hlen + payload;
        let f = &mut self.out[..ETH + total];
        EthernetRepr {
            dst: c.peer_mac,
            src: EthernetAddress(self.run.mac),
            ethertype: ETHERTYPE_IPV4,
        }
        .emit(f);
        Ipv4Repr {
            src: ours,
            dst: c.peer_ip,
            protocol: PROTO_TCP,
            ttl: 64,
            tos: 0,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
            header_len: IP,
            total_len: total,
        }
        .emit(&mut f[ETH..]);
        let (head, body) = f[ETH + IP..].split_at_mut(hlen);
        // The application's bytes for this offset: one copy.
        let at = (data_at % APP_CHUNK as u64) as usize;
        body.copy_from_slice(&self.source[at..at + payload]);
        tcp.emit(head, ours, c.peer_ip, body);
        tap.transmit(&self.out[..ETH + total], self.clock.now())
            .map_err(|e| format!("floor: writing the TAP: {e}"))
    }
}
