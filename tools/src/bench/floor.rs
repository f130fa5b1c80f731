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
use stack::wire::checksum;

use super::linux::Peer;
use super::ours::{open_tap, STALL};
use super::{pattern, Dir, Meter, TapRun, Transfer, APP_CHUNK};

const ETH: usize = 14;
const IP: usize = 20;
const TCP: usize = 20;
const HDRS: usize = ETH + IP + TCP;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;
const PROTO_TCP: u8 = 6;
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
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

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The one connection's state.
struct Conn {
    peer_mac: [u8; 6],
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
            if self.done() && peer.is_done() {
                return Ok(());
            }
            if peer.is_done() && !self.done() {
                return Err("the kernel side ended before the transfer did".into());
            }
            if Instant::now() >= deadline {
                return Err("timed out".into());
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
        let f = &self.frame[..len];
        if len < ETH {
            return Ok(());
        }
        match be16(f, 12) {
            ETHERTYPE_ARP => self.arp(tap, len),
            ETHERTYPE_IPV4 => self.tcp_input(tap, len),
            _ => Ok(()),
        }
    }

    fn arp(&mut self, tap: &mut TapDevice, len: usize) -> Result<(), String> {
        let f = &self.frame[..len];
        // A request (op 1) for our address.
        if len < ETH + 28
            || be16(f, ETH + 6) != 1
            || f[ETH + 24..ETH + 28] != self.run.addr.0.octets()
        {
            return Ok(());
        }
        let mut r = [0u8; ETH + 28];
        r[0..6].copy_from_slice(&f[6..12]);
        r[6..12].copy_from_slice(&self.run.mac);
        r[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
        r[ETH..ETH + 6].copy_from_slice(&f[ETH..ETH + 6]); // hardware and protocol types, sizes
        r[ETH + 6..ETH + 8].copy_from_slice(&2u16.to_be_bytes());
        r[ETH + 8..ETH + 14].copy_from_slice(&self.run.mac);
        r[ETH + 14..ETH + 18].copy_from_slice(&self.run.addr.0.octets());
        r[ETH + 18..ETH + 28].copy_from_slice(&f[ETH + 8..ETH + 18]);
        tap.transmit(&r, self.clock.now())
            .map_err(|e| format!("floor: writing the TAP: {e}"))
    }

    fn tcp_input(&mut self, tap: &mut TapDevice, len: usize) -> Result<(), String> {
        let f = &self.frame[..len];
        if len < HDRS || f[ETH] != 0x45 || f[ETH + 9] != PROTO_TCP {
            return Ok(());
        }
        let total = usize::from(be16(f, ETH + 2));
        if total < IP + TCP || ETH + total > len || checksum::checksum(&f[ETH..ETH + IP]) != 0 {
            return Ok(());
        }
        let src = Ipv4Addr::new(f[ETH + 12], f[ETH + 13], f[ETH + 14], f[ETH + 15]);
        let seg = &f[ETH + IP..ETH + total];
        if !checksum::transport_ok(src, self.run.addr.0, PROTO_TCP, seg)
            || be16(seg, 2) != self.run.dir.port()
        {
            return Ok(());
        }
        let off = usize::from(seg[12] >> 4) * 4;
        if off < TCP || off > seg.len() {
            return Ok(());
        }
        let flags = seg[13];
        let seq = be32(seg, 4);
        let ack = be32(seg, 8);
        let win = u32::from(be16(seg, 14));
        if flags & SYN != 0 && flags & ACK == 0 {
            return self.syn(tap, len, src, total, off);
        }
        let Some(c) = self.conn.as_mut() else {
            return Ok(());
        };
        if flags & RST != 0 {
            return Err("floor: the kernel reset the connection".into());
        }
        if be16(seg, 0) != c.peer_port {
            return Ok(());
        }
        if flags & ACK != 0 {
            c.established = true;
            let una = c.iss1.wrapping_add(c.snd_una as u32);
            let newly = i64::from(ack.wrapping_sub(una) as i32);
            if newly > 0 && newly as u64 <= c.snd_nxt - c.snd_una {
                c.snd_una += newly as u64;
                self.dup_acks = 0;
                self.last_progress = Instant::now();
            } else if newly == 0 && c.snd_nxt != c.snd_una && seg.len() == off {
                self.dup_acks += 1;
                if self.dup_acks == 3 {
                    c.snd_nxt = c.snd_una; // go back
                }
            }
            c.snd_wnd = win << c.peer_wscale;
        }
        let data = &seg[off..];
        if !data.is_empty() || flags & FIN != 0 {
            if seq != c.rcv_nxt {
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
            if flags & FIN != 0 {
                c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
                c.fin_received = true;
                self.ack_due = true;
                if !c.fin_sent && self.run.dir == Dir::Recv {
                    c.fin_sent = true;
                    let (s, a) = (c.iss1, c.rcv_nxt);
                    c.snd_nxt = 1;
                    self.ack_due = false;
                    self.unacked_rx = 0;
                    return self.segment(tap, s, a, FIN | ACK, &[], None);
                }
            }
            if self.unacked_rx >= ACK_EVERY {
                self.send_ack(tap)?;
            }
        }
        Ok(())
    }

    fn syn(
        &mut self,
        tap: &mut TapDevice,
        len: usize,
        src: Ipv4Addr,
        total: usize,
        off: usize,
    ) -> Result<(), String> {
        let f = &self.frame[..len];
        let seg = &f[ETH + IP..ETH + total];
        let mut peer_mac = [0u8; 6];
        peer_mac.copy_from_slice(&f[6..12]);
        let (mut mss, mut wscale) = (536usize, 0u8);
        let mut o = TCP;
        while o < off {
            match seg[o] {
                0 => break,
                1 => o += 1,
                kind => {
                    let l = seg.get(o + 1).map_or(0, |&l| usize::from(l));
                    if l < 2 || o + l > off {
                        break;
                    }
                    match (kind, l) {
                        (2, 4) => mss = usize::from(be16(seg, o + 2)),
                        (3, 3) => wscale = seg[o + 2].min(14),
                        _ => {}
                    }
                    o += l;
                }
            }
        }
        let iss = 0x1000_0000u32;
        let conn = Conn {
            peer_mac,
            peer_ip: src,
            peer_port: be16(seg, 0),
            rcv_nxt: be32(seg, 4).wrapping_add(1),
            iss1: iss.wrapping_add(1),
            snd_una: 0,
            snd_nxt: 0,
            snd_wnd: 0,
            peer_wscale: wscale,
            mss: mss.min(self.run.mtu - IP - TCP),
            established: false,
            fin_received: false,
            fin_sent: false,
        };
        let ack = conn.rcv_nxt;
        self.conn = Some(conn);
        // MSS and window scale, as the only options.
        let our_mss = (self.run.mtu - IP - TCP) as u16;
        let m = our_mss.to_be_bytes();
        let opts = [2, 4, m[0], m[1], 1, 3, 3, WSCALE];
        self.segment(tap, iss, ack, SYN | ACK, &opts, None)
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
        self.segment(tap, s, a, ACK, &[], None)
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
                self.segment(tap, seq, ack, ACK | PSH, &[], Some((data, n as usize)))?;
            } else if c.snd_nxt == bytes {
                c.fin_sent = true;
                c.snd_nxt = bytes + 1;
                return self.segment(tap, seq, ack, FIN | ACK, &[], None);
            } else {
                return Ok(());
            }
        }
    }

    /// Writes one segment: `options` after the header, and `payload` (data offset,
    /// length) bytes of the application's data.
    fn segment(
        &mut self,
        tap: &mut TapDevice,
        seq: u32,
        ack: u32,
        flags: u8,
        options: &[u8],
        payload: Option<(u64, usize)>,
    ) -> Result<(), String> {
        let (data_at, payload) = payload.unwrap_or((0, 0));
        let Some(c) = self.conn.as_ref() else {
            return Ok(());
        };
        let window = self.window(flags & SYN != 0);
        let tcp_len = TCP + options.len() + payload;
        let total = IP + tcp_len;
        let f = &mut self.out[..ETH + total];
        f[0..6].copy_from_slice(&c.peer_mac);
        f[6..12].copy_from_slice(&self.run.mac);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let ip = &mut f[ETH..ETH + IP];
        ip[0] = 0x45;
        ip[1] = 0;
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&[0, 0]);
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = PROTO_TCP;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip[12..16].copy_from_slice(&self.run.addr.0.octets());
        ip[16..20].copy_from_slice(&c.peer_ip.octets());
        let sum = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let t = &mut f[ETH + IP..];
        t[0..2].copy_from_slice(&self.run.dir.port().to_be_bytes());
        t[2..4].copy_from_slice(&c.peer_port.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[12] = (((TCP + options.len()) / 4) as u8) << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&window.to_be_bytes());
        t[16..20].copy_from_slice(&[0, 0, 0, 0]);
        t[TCP..TCP + options.len()].copy_from_slice(options);
        if payload > 0 {
            // The application's bytes for this sequence number: one copy.
            let at = (data_at % APP_CHUNK as u64) as usize;
            t[TCP..TCP + payload].copy_from_slice(&self.source[at..at + payload]);
        }
        let sum = checksum::transport(self.run.addr.0, c.peer_ip, PROTO_TCP, &t[..tcp_len]);
        t[16..18].copy_from_slice(&sum.to_be_bytes());
        tap.transmit(&self.out[..ETH + total], self.clock.now())
            .map_err(|e| format!("floor: writing the TAP: {e}"))
    }
}
