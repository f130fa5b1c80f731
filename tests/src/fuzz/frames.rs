//! Frames from the wire against an engine with state worth attacking.
//!
//! The engine (host B, 10.0.0.2) holds a TCP listener on port 80, a UDP socket on
//! port 53, a connection C:40000 -> B:80 that C opened and a connection
//! B -> C:5000 that B opened (C is 10.0.0.3, played by the harness). The fuzzer's
//! bytes are a list of records: frames of several kinds (raw, IPv4 with any source
//! and destination, TCP segments placed relative to the connections' sequence
//! numbers, segments to the listener from anywhere, UDP datagrams, ICMP errors
//! quoting the connections, ARP), time passing, and socket calls. Every frame
//! carries B's MAC address and correct checksums unless the record asks otherwise,
//! so it reaches the TCP state machine. The harness answers B's ARP requests and
//! follows the sequence numbers B sends.

use std::net::{Ipv4Addr, SocketAddrV4};

use stack::tcp::{RecvFlags, SendFlags, Shutdown};
use stack::wire::checksum;
use stack::wire::tcp::TcpRepr;
use stack::{Duration, Engine, EthernetAddress, Instant, SocketHandle, StackConfig};

use super::Input;

const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const C: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
const LISTEN_PORT: u16 = 80;
const UDP_PORT: u16 = 53;
/// Records read from one input.
const MAX_RECORDS: usize = 64;
/// Frames one record may make the engine send; more is a transmit storm.
const MAX_FRAMES_PER_STEP: usize = 4096;

/// The MAC address the harness answers ARP with for `ip`.
fn mac_of(ip: Ipv4Addr) -> EthernetAddress {
    let o = ip.octets();
    EthernetAddress([0x02, 0x99, o[0], o[1], o[2], o[3]])
}

/// One TCP connection as the harness (its peer) sees it.
#[derive(Clone, Copy, Debug)]
struct Flow {
    handle: Option<SocketHandle>,
    c_port: u16,
    b_port: u16,
    /// The next sequence number B will send (from what it sent).
    b_next: u32,
    /// The last acknowledgment B sent: the next byte it expects from C.
    b_ack: u32,
    /// The end of what the harness sent on this flow.
    c_sent: u32,
    /// B's last timestamp value, for echoing.
    b_tsval: u32,
}

/// The last SYN-ACK B sent to someone other than the flows, for completing
/// handshakes (and SYN cookies).
#[derive(Clone, Copy, Debug, Default)]
struct SynAck {
    to: Option<SocketAddrV4>,
    seq: u32,
    ack: u32,
    tsval: u32,
}

struct Harness {
    e: Engine,
    now: Instant,
    listener: SocketHandle,
    udp: SocketHandle,
    flows: [Flow; 2],
    accepted: Vec<SocketHandle>,
    synack: SynAck,
    ts: u32,
    ident: u16,
}

/// Runs one fuzz input. Panics only if the engine does.
pub fn run(data: &[u8]) {
    let mut h = match Harness::new() {
        Ok(h) => h,
        Err(e) => panic!("the harness's own setup failed: {e}"),
    };
    let mut input = Input::new(data);
    let mut records = 0;
    while !input.is_empty() && records < MAX_RECORDS {
        h.record(&mut input);
        h.drain();
        records += 1;
    }
    // Let every timer run out: retransmissions, keepalives, TIME-WAIT, reassembly.
    for _ in 0..32 {
        let Some(at) = h.e.poll_timeout() else { break };
        h.now = at.max(h.now);
        h.e.handle_timeout(h.now);
        h.drain();
    }
    let limit = h.e.config().max_sockets;
    assert!(h.e.socket_count() <= limit, "sockets beyond max_sockets");
}

impl Harness {
    fn new() -> Result<Harness, String> {
        let mut config = StackConfig::new(B, 24);
        config.deterministic = true;
        config.ports.privileged = true;
        config.tcp.send_buffer = 16 * 1024;
        config.tcp.recv_buffer = 16 * 1024;
        config.tcp.max_syn_backlog = 16;
        let mut e = Engine::new(config).map_err(|e| format!("setup step 1: {e:?}"))?;
        let now = Instant::ZERO;
        let listener = e.tcp_open().map_err(|e| format!("setup step 2: {e:?}"))?;
        e.tcp_bind(
            listener,
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, LISTEN_PORT),
        )
        .map_err(|e| format!("setup step 3: {e:?}"))?;
        e.tcp_listen(listener, 4)
            .map_err(|e| format!("setup step 4: {e:?}"))?;
        let udp = e.udp_open().map_err(|e| format!("setup step 5: {e:?}"))?;
        e.udp_bind(udp, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, UDP_PORT))
            .map_err(|e| format!("setup step 6: {e:?}"))?;
        let flow = Flow {
            handle: None,
            c_port: 40000,
            b_port: LISTEN_PORT,
            b_next: 0,
            b_ack: 0,
            c_sent: 0,
            b_tsval: 0,
        };
        let mut h = Harness {
            e,
            now,
            listener,
            udp,
            flows: [
                flow,
                Flow {
                    c_port: 5000,
                    b_port: 0,
                    ..flow
                },
            ],
            accepted: Vec::new(),
            synack: SynAck::default(),
            ts: 1000,
            ident: 1,
        };
        // Passive open: C's SYN, B's SYN-ACK, C's ACK.
        let syn_opts = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        h.send_tcp(
            C,
            40000,
            LISTEN_PORT,
            999,
            0,
            0x02,
            64240,
            0,
            &syn_opts,
            &[],
        );
        h.drain();
        let ack = h.flows[0].b_next;
        h.flows[0].c_sent = 1000;
        h.send_tcp_flow(0, 1000, ack, 0x10, 0, &[]);
        h.drain();
        let (conn, _) =
            h.e.tcp_accept(h.now, listener)
                .map_err(|e| format!("setup step 7: {e:?}"))?;
        h.flows[0].handle = Some(conn);
        // Active open: B's SYN, C's SYN-ACK, B's ACK.
        let active = h.e.tcp_open().map_err(|e| format!("setup step 8: {e:?}"))?;
        // A non-blocking connect: EINPROGRESS, the SYN is queued.
        let _ = h.e.tcp_connect(h.now, active, SocketAddrV4::new(C, 5000));
        h.flows[1].handle = Some(active);
        let b_port =
            h.e.tcp_local_addr(active)
                .map_err(|e| format!("setup step 10: {e:?}"))?
                .ok_or("no local address")?
                .port();
        h.flows[1].b_port = b_port;
        h.drain();
        let ack = h.flows[1].b_next;
        h.flows[1].c_sent = 70_000;
        h.send_tcp(C, 5000, b_port, 69_999, ack, 0x12, 64240, 0, &syn_opts, &[]);
        h.drain();
        Ok(h)
    }

    fn record(&mut self, i: &mut Input<'_>) {
        match i.u8() % 10 {
            0 => self.raw_frame(i),
            1 => self.ipv4(i),
            2 | 3 => self.flow_segment(i),
            4 => self.listener_segment(i),
            5 => self.udp_datagram(i),
            6 => self.icmp_error(i),
            7 => self.time_passes(i),
            8 => self.socket_call(i),
            _ => self.arp(i),
        }
    }

    /// Sends everything the engine has queued, answering ARP and following the
    /// flows' sequence numbers.
    fn drain(&mut self) {
        let mut frames = 0;
        while let Some(f) = self.e.poll_transmit(self.now) {
            frames += 1;
            assert!(frames <= MAX_FRAMES_PER_STEP, "transmit storm");
            self.observe(&f);
            self.e.recycle(f);
        }
        while self.e.poll_event().is_some() {}
        while self.e.poll_urgent().is_some() {}
    }

    fn observe(&mut self, f: &[u8]) {
        if f.len() < 14 {
            return;
        }
        match u16::from_be_bytes([f[12], f[13]]) {
            0x0806 if f.len() >= 42 && f[21] == 1 => {
                let target = Ipv4Addr::new(f[38], f[39], f[40], f[41]);
                if target != B && (target.octets()[..3] == [10, 0, 0]) {
                    self.arp_frame(2, target, mac_of(target), B);
                }
            }
            0x0800 if f.len() >= 34 && f[23] == 6 => {
                let ihl = usize::from(f[14] & 0x0f) * 4;
                let dst = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
                let Some(seg) = f.get(14 + ihl..) else { return };
                let Ok((t, data)) = TcpRepr::parse_verified(B, dst, seg) else {
                    return;
                };
                let end = t.seq.0.wrapping_add(t.seq_len(data.len()) as u32);
                let tsval = t.options.timestamps.map(|t| t.value).unwrap_or(0);
                let flow = self
                    .flows
                    .iter_mut()
                    .find(|fl| dst == C && t.dst_port == fl.c_port && t.src_port == fl.b_port);
                if let Some(fl) = flow {
                    if end.wrapping_sub(fl.b_next) as i32 > 0 || fl.b_next == 0 {
                        fl.b_next = end;
                    }
                    if t.flags.ack {
                        fl.b_ack = t.ack.0;
                    }
                    fl.b_tsval = tsval;
                } else if t.flags.syn && t.flags.ack {
                    self.synack = SynAck {
                        to: Some(SocketAddrV4::new(dst, t.dst_port)),
                        seq: t.seq.0,
                        ack: t.ack.0,
                        tsval,
                    };
                }
            }
            _ => {}
        }
    }

    fn deliver(&mut self, frame: &[u8]) {
        self.e.handle_frame(self.now, frame);
    }

    /// An Ethernet frame from `src_mac` to B.
    fn ethernet(src_mac: EthernetAddress, ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mac = Self::b_mac();
        let mut f = Vec::with_capacity(14 + payload.len());
        f.extend_from_slice(&mac.0);
        f.extend_from_slice(&src_mac.0);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn b_mac() -> EthernetAddress {
        StackConfig::new(B, 24).mac
    }

    /// An IPv4 datagram with a correct header checksum (unless `corrupt`).
    #[allow(clippy::too_many_arguments)]
    fn ipv4_frame(
        &mut self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        frag: u16,
        ttl: u8,
        payload: &[u8],
        corrupt: bool,
    ) -> Vec<u8> {
        self.ident = self.ident.wrapping_add(1);
        let total = (20 + payload.len()).min(usize::from(u16::MAX)) as u16;
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[4..6].copy_from_slice(&self.ident.to_be_bytes());
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip[8] = ttl;
        ip[9] = protocol;
        ip[12..16].copy_from_slice(&src.octets());
        ip[16..20].copy_from_slice(&dst.octets());
        let mut sum = checksum::checksum(&ip);
        if corrupt {
            sum ^= 0x5555;
        }
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut body = ip.to_vec();
        body.extend_from_slice(payload);
        Self::ethernet(mac_of(src), 0x0800, &body)
    }

    /// Delivers a TCP segment with a correct checksum, from `src` to B.
    #[allow(clippy::too_many_arguments)]
    fn send_tcp(
        &mut self,
        src: Ipv4Addr,
        src_port: u16,
        dst_port: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        urgent: u16,
        options: &[u8],
        data: &[u8],
    ) {
        let n = options.len().min(40);
        let opt_len = n.div_ceil(4) * 4;
        let mut s = vec![0u8; 20 + opt_len];
        s[0..2].copy_from_slice(&src_port.to_be_bytes());
        s[2..4].copy_from_slice(&dst_port.to_be_bytes());
        s[4..8].copy_from_slice(&seq.to_be_bytes());
        s[8..12].copy_from_slice(&ack.to_be_bytes());
        s[12] = ((20 + opt_len) as u8 / 4) << 4;
        s[13] = flags;
        s[14..16].copy_from_slice(&window.to_be_bytes());
        s[18..20].copy_from_slice(&urgent.to_be_bytes());
        s[20..20 + n].copy_from_slice(&options[..n]);
        s.extend_from_slice(data);
        let sum = checksum::transport(src, B, 6, &s);
        s[16..18].copy_from_slice(&sum.to_be_bytes());
        let f = self.ipv4_frame(src, B, 6, 0x4000, 64, &s, false);
        self.deliver(&f);
    }

    /// A segment on flow `k` with a timestamp option.
    fn send_tcp_flow(&mut self, k: usize, seq: u32, ack: u32, flags: u8, urgent: u16, data: &[u8]) {
        self.ts = self.ts.wrapping_add(1);
        let fl = self.flows[k];
        let mut opts = [1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
        opts[4..8].copy_from_slice(&self.ts.to_be_bytes());
        opts[8..12].copy_from_slice(&fl.b_tsval.to_be_bytes());
        self.send_tcp(
            C, fl.c_port, fl.b_port, seq, ack, flags, 502, urgent, &opts, data,
        );
        let end = seq.wrapping_add(data.len() as u32);
        if end.wrapping_sub(self.flows[k].c_sent) as i32 > 0 {
            self.flows[k].c_sent = end;
        }
    }

    fn arp_frame(
        &mut self,
        op: u16,
        sender: Ipv4Addr,
        sender_mac: EthernetAddress,
        target: Ipv4Addr,
    ) {
        let mut a = vec![0, 1, 8, 0, 6, 4];
        a.extend_from_slice(&op.to_be_bytes());
        a.extend_from_slice(&sender_mac.0);
        a.extend_from_slice(&sender.octets());
        a.extend_from_slice(&(if op == 2 { Self::b_mac().0 } else { [0; 6] }));
        a.extend_from_slice(&target.octets());
        let f = Self::ethernet(sender_mac, 0x0806, &a);
        self.deliver(&f);
    }

    fn source(i: &mut Input<'_>) -> Ipv4Addr {
        match i.u8() % 8 {
            0..=2 => C,
            3 => B,
            4 => Ipv4Addr::new(127, 0, 0, 1),
            5 => Ipv4Addr::new(10, 0, 0, i.u8()),
            6 => i.pick(&[
                Ipv4Addr::BROADCAST,
                Ipv4Addr::new(224, 0, 0, 1),
                Ipv4Addr::UNSPECIFIED,
            ]),
            _ => Ipv4Addr::from(i.u32()),
        }
    }

    fn raw_frame(&mut self, i: &mut Input<'_>) {
        let len = usize::from(i.u16() % 1600);
        let mut f = i.bytes(len).to_vec();
        if f.len() >= 6 && i.bit() {
            f[..6].copy_from_slice(&Self::b_mac().0);
        }
        self.deliver(&f);
    }

    fn ipv4(&mut self, i: &mut Input<'_>) {
        let src = Self::source(i);
        let dst = match i.u8() % 6 {
            0..=2 => B,
            3 => Ipv4Addr::new(127, 0, 0, 1),
            4 => Ipv4Addr::new(10, 0, 0, 255),
            _ => Ipv4Addr::from(i.u32()),
        };
        let protocol = i.pick(&[1u8, 6, 17, 2, 0, 255]);
        let frag = if i.bit() { i.u16() } else { 0 };
        let ttl = i.u8();
        let corrupt = i.u8() == 0xff;
        let len = usize::from(i.u16() % 1480);
        let payload = i.bytes(len).to_vec();
        let f = self.ipv4_frame(src, dst, protocol, frag, ttl, &payload, corrupt);
        self.deliver(&f);
    }

    fn flow_segment(&mut self, i: &mut Input<'_>) {
        let k = usize::from(i.u8() & 1);
        let fl = self.flows[k];
        let base = if i.bit() { fl.c_sent } else { fl.b_ack };
        let seq = base.wrapping_add(i.i16() as i32 as u32);
        let ack_delta = i.i16() as i32;
        let ack = fl.b_next.wrapping_add(ack_delta as u32);
        let flags = i.u8();
        let urgent = i.u16();
        let len = usize::from(i.u16() % 2048);
        let data: Vec<u8> = (0..len).map(|n| n as u8).collect();
        if i.bit() {
            // The common shape: timestamps, window 502 (scaled by 2^7).
            self.send_tcp_flow(k, seq, ack, flags, urgent, &data);
        } else {
            let window = i.u16();
            let opt_len = usize::from(i.u8() % 41);
            let opts = i.bytes(opt_len).to_vec();
            self.send_tcp(
                C, fl.c_port, fl.b_port, seq, ack, flags, window, urgent, &opts, &data,
            );
        }
    }

    fn listener_segment(&mut self, i: &mut Input<'_>) {
        if i.bit() {
            // Complete the last handshake B answered (a SYN cookie, perhaps).
            let Some(to) = self.synack.to else { return };
            let s = self.synack;
            let mut opts = [1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
            opts[4..8].copy_from_slice(&self.ts.to_be_bytes());
            opts[8..12].copy_from_slice(&s.tsval.wrapping_add(u32::from(i.u8() % 2)).to_be_bytes());
            let ack = s.seq.wrapping_add(1).wrapping_add(u32::from(i.u8() % 2));
            let opts: &[u8] = if i.bit() { &opts } else { &[] };
            let flags = i.pick(&[0x10u8, 0x18, 0x11, 0x14, 0x12]);
            let len = usize::from(i.u8());
            let data = vec![b'x'; len];
            self.send_tcp(
                *to.ip(),
                to.port(),
                LISTEN_PORT,
                s.ack,
                ack,
                flags,
                502,
                0,
                opts,
                &data,
            );
            return;
        }
        let src = match i.u8() % 4 {
            0 => C,
            1 | 2 => Ipv4Addr::new(10, 0, 0, i.u8()),
            _ => Self::source(i),
        };
        let src_port = i.u16();
        let dst_port = if i.u8() < 224 { LISTEN_PORT } else { i.u16() };
        let seq = i.u32();
        let ack = i.u32();
        let flags = if i.u8() < 160 { 0x02 } else { i.u8() };
        let window = i.u16();
        let opt_len = usize::from(i.u8() % 41);
        let opts = i.bytes(opt_len).to_vec();
        let len = usize::from(i.u8());
        let data = vec![b'y'; len];
        self.send_tcp(
            src, src_port, dst_port, seq, ack, flags, window, 0, &opts, &data,
        );
    }

    fn udp_datagram(&mut self, i: &mut Input<'_>) {
        let src = Self::source(i);
        let src_port = i.u16();
        let dst_port = if i.u8() < 192 { UDP_PORT } else { i.u16() };
        let len = usize::from(i.u16() % 1472);
        let data = i.bytes(len).to_vec();
        let mut u = Vec::with_capacity(8 + data.len());
        u.extend_from_slice(&src_port.to_be_bytes());
        u.extend_from_slice(&dst_port.to_be_bytes());
        u.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(&data);
        if i.bit() {
            let sum = checksum::transport(src, B, 17, &u);
            u[6..8].copy_from_slice(&(if sum == 0 { 0xffff } else { sum }).to_be_bytes());
        }
        let f = self.ipv4_frame(src, B, 17, 0, 64, &u, false);
        self.deliver(&f);
    }

    fn icmp_error(&mut self, i: &mut Input<'_>) {
        let (kind, code) = i.pick(&[
            (3u8, 0u8),
            (3, 1),
            (3, 2),
            (3, 3),
            (3, 4),
            (3, 13),
            (11, 0),
            (12, 0),
            (4, 0),
            (5, 1),
            (0, 0),
            (8, 0),
        ]);
        let k = usize::from(i.u8() & 1);
        let fl = self.flows[k];
        let seq = fl.b_next.wrapping_add(i.i16() as i32 as u32);
        let mtu = i.u16();
        // The quote: B's IP header and the first 8 bytes of its TCP header.
        let mut quote = [0u8; 28];
        quote[0] = 0x45;
        quote[2..4].copy_from_slice(&40u16.to_be_bytes());
        quote[8] = 64;
        quote[9] = if i.u8() < 240 { 6 } else { 17 };
        quote[12..16].copy_from_slice(&B.octets());
        quote[16..20].copy_from_slice(&C.octets());
        quote[20..22].copy_from_slice(&fl.b_port.to_be_bytes());
        quote[22..24].copy_from_slice(&fl.c_port.to_be_bytes());
        quote[24..28].copy_from_slice(&seq.to_be_bytes());
        let mut m = vec![kind, code, 0, 0, 0, 0];
        m.extend_from_slice(&mtu.to_be_bytes());
        m.extend_from_slice(&quote);
        let sum = checksum::checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
        let src = if i.bit() {
            C
        } else {
            Ipv4Addr::new(10, 0, 0, 1)
        };
        let f = self.ipv4_frame(src, B, 1, 0, 64, &m, false);
        self.deliver(&f);
    }

    fn time_passes(&mut self, i: &mut Input<'_>) {
        let step = match i.u8() % 4 {
            0 => Duration::from_micros(u64::from(i.u16())),
            1 => Duration::from_millis(u64::from(i.u16())),
            2 => Duration::from_secs(u64::from(i.u16() % 4000)),
            _ => match self.e.poll_timeout() {
                Some(at) if at > self.now => at - self.now,
                _ => Duration::from_millis(1),
            },
        };
        self.now += step;
        self.e.handle_timeout(self.now);
    }

    fn pick_socket(&mut self, i: &mut Input<'_>) -> Option<SocketHandle> {
        match i.u8() % 4 {
            0 | 1 => self.flows[usize::from(i.u8() & 1)].handle,
            2 => {
                let n = self.accepted.len();
                (n > 0).then(|| self.accepted[usize::from(i.u8()) % n])
            }
            _ => Some(self.listener),
        }
    }

    fn socket_call(&mut self, i: &mut Input<'_>) {
        let now = self.now;
        match i.u8() % 9 {
            0 => {
                let Some(h) = self.pick_socket(i) else { return };
                let len = usize::from(i.u16() % 8_000);
                let data = vec![b'd'; len];
                let _ = self.e.tcp_send(
                    now,
                    h,
                    &data,
                    SendFlags {
                        oob: i.bit(),
                        more: i.bit(),
                        // (From the length: the corpus keeps its meaning.)
                        eor: len % 3 == 0,
                    },
                );
            }
            1 => {
                let Some(h) = self.pick_socket(i) else { return };
                let mut buf = vec![0u8; usize::from(i.u16() % 8_000)];
                let flags = RecvFlags {
                    peek: i.bit(),
                    oob: i.bit(),
                };
                if let Ok(n) = self.e.tcp_recv(now, h, &mut buf, flags) {
                    assert!(n <= buf.len(), "recv returned more than the buffer");
                }
            }
            2 => {
                let Some(h) = self.pick_socket(i) else { return };
                let how = i.pick(&[Shutdown::Read, Shutdown::Write, Shutdown::Both]);
                let _ = self.e.tcp_shutdown(now, h, how);
            }
            3 => {
                let Some(h) = self.pick_socket(i) else { return };
                let _ = self.e.close(now, h);
            }
            4 => {
                let Some(h) = self.pick_socket(i) else { return };
                let _ = self.e.tcp_abort(now, h);
            }
            5 => {
                if let Ok((h, _)) = self.e.tcp_accept(now, self.listener) {
                    if self.accepted.len() < 64 {
                        self.accepted.push(h);
                    }
                }
            }
            6 => {
                let mut buf = [0u8; 2048];
                let _ = self.e.udp_recv_from(self.udp, &mut buf, i.bit());
            }
            7 => {
                let len = usize::from(i.u16() % 9000);
                let data = vec![b'u'; len];
                let to = SocketAddrV4::new(if i.bit() { C } else { Self::source(i) }, i.u16());
                let _ = self.e.udp_send_to(now, self.udp, &data, Some(to));
            }
            _ => {
                let Some(h) = self.pick_socket(i) else { return };
                let _ = self.e.readiness(h);
                let _ = self.e.tcp_info(h);
                let _ = self.e.tcp_at_mark(h);
                let _ = self.e.tcp_take_error(h);
            }
        }
    }

    fn arp(&mut self, i: &mut Input<'_>) {
        let op = i.pick(&[1u16, 2, 3]);
        let sender = if i.bit() {
            Ipv4Addr::new(10, 0, 0, i.u8())
        } else {
            Self::source(i)
        };
        let mac = EthernetAddress([i.u8() & 0xfe, i.u8(), i.u8(), i.u8(), i.u8(), i.u8()]);
        let target = if i.bit() { B } else { Ipv4Addr::from(i.u32()) };
        self.arp_frame(op, sender, mac, target);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_reaches_established_on_both_flows() {
        let h = Harness::new().unwrap_or_else(|e| panic!("{e}"));
        for fl in h.flows {
            let s = h.e.tcp_state(fl.handle.expect("handle")).expect("state");
            assert_eq!(s, stack::tcp::State::Established, "{fl:?}");
        }
    }

    #[test]
    fn a_data_record_is_delivered_in_order() {
        let mut h = Harness::new().unwrap_or_else(|e| panic!("{e}"));
        let seq = h.flows[0].b_ack;
        let ack = h.flows[0].b_next;
        h.send_tcp_flow(0, seq, ack, 0x18, 0, b"hello");
        h.drain();
        let conn = h.flows[0].handle.expect("handle");
        let mut buf = [0u8; 16];
        let n =
            h.e.tcp_recv(h.now, conn, &mut buf, RecvFlags::default())
                .expect("recv");
        assert_eq!(&buf[..n], b"hello");
    }
}
