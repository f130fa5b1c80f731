//! Script packets and real datagrams: building `<` packets, matching `>`
//! lines against what the stack sent, and describing a sent datagram in
//! script syntax (sequence numbers relative to our ISN).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::consts::{icmp_code, icmp_code_name, icmp_is_error, icmp_type, icmp_type_name};
use super::wire::{self, Decoded, Transport};
use super::{Conn, Interp};
use crate::ast::*;

impl Interp {
    /// (source, destination) of an inbound packet line.
    fn inbound_endpoints(&self, p: &Packet) -> (SocketAddrV4, SocketAddrV4) {
        let s = &self.settings;
        match &p.addrs {
            Some(e) => (
                SocketAddrV4::new(e.src_addr.unwrap_or(s.remote_ip), e.src_port),
                SocketAddrV4::new(e.dst_addr.unwrap_or(s.local_ip), e.dst_port),
            ),
            None => (
                SocketAddrV4::new(s.remote_ip, self.def.remote_port),
                SocketAddrV4::new(s.local_ip, self.def.local_port.unwrap_or(s.bind_port)),
            ),
        }
    }

    /// The connection state for (our port, remote address, remote port).
    fn conn(&self, local_port: u16, remote: Ipv4Addr, remote_port: u16) -> Conn {
        self.conns
            .get(&(local_port, remote, remote_port))
            .copied()
            .unwrap_or_default()
    }

    fn next_ip_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1);
        self.ip_id
    }

    /// Builds the IPv4 datagram of a `<` line (with the TOS byte and TTL it
    /// gives, if any).
    pub(super) fn build_inbound(&mut self, p: &Packet) -> Result<Vec<u8>, String> {
        // A SYN to a new listener (compatibility mode): a new connection.
        let mut fresh = false;
        if let (PacketProto::Tcp(t), None) = (&p.proto, &p.addrs) {
            if t.flags.contains(TcpFlags::SYN) && !t.flags.contains(TcpFlags::ACK) {
                let (src, dst) = self.inbound_endpoints(p);
                let used = self.conn(dst.port(), *src.ip(), src.port()).remote_syn;
                if self.settings.compat.is_some() && self.def.listened {
                    // packetdrill: a SYN to a new listener is a new connection,
                    // from a new port.
                    if used {
                        self.def.remote_port = self.def.remote_port.checked_add(1).unwrap_or(1024);
                    }
                    fresh = true;
                }
                self.def.listened = false;
            }
        }
        let (src, dst) = self.inbound_endpoints(p);
        let id = self.next_ip_id();
        let (proto, payload) = self.inbound_payload(p, src, dst, fresh)?;
        let tos = p.ip.tos.unwrap_or(0);
        let ttl = p.ip.ttl.unwrap_or(wire::DEFAULT_TTL);
        let mut d =
            wire::ipv4_header_with(*src.ip(), *dst.ip(), proto, id, payload.len(), tos, ttl)
                .to_vec();
        d.extend_from_slice(&payload);
        Ok(d)
    }

    /// The protocol number and transport bytes of a `<` line from `src` to
    /// `dst`; `fresh`: a SYN to a new listener, in compatibility mode.
    fn inbound_payload(
        &mut self,
        p: &Packet,
        src: SocketAddrV4,
        dst: SocketAddrV4,
        fresh: bool,
    ) -> Result<(u8, Vec<u8>), String> {
        let payload = match &p.proto {
            PacketProto::Tcp(t) => {
                let key = (dst.port(), *src.ip(), src.port());
                // packetdrill's numbering in compatibility mode: see `Conn`.
                let relative = self.settings.compat.is_some();
                let c = self.conns.entry(key).or_default();
                let syn = t.flags.contains(TcpFlags::SYN);
                // A new connection after the last one ended (strict mode), or,
                // as packetdrill sees it, a SYN to a new listener: the script
                // numbers its side afresh; our ISN changes when our next
                // SYN-ACK brings a new one.
                let new_conn = if relative { fresh } else { c.finished };
                if syn && !t.flags.contains(TcpFlags::ACK) && new_conn {
                    *c = Conn {
                        local_isn: c.local_isn,
                        ts_offset: c.ts_offset,
                        ..Conn::default()
                    };
                }
                c.saw(t.flags.0, false);
                // (Only the connection's first SYN from the script: a later
                // one is a test of the stack, not a new numbering.)
                if syn && !t.absolute && relative && !c.remote_syn {
                    c.remote_isn = t.seq_start;
                    c.remote_syn = true;
                }
                let c = *c;
                let isn = c.local_isn.unwrap_or(0);
                let Some(opts) = &t.options else {
                    return Err("'<...>' options cannot be injected".to_string());
                };
                let options = wire::encode_tcp_options(opts, c.ts_offset.unwrap_or(0), isn)?;
                // A SYN's numbers are absolute; the rest are relative to the
                // ISNs (our SYN-ACK's ack to the script's ISN for our SYN).
                let (seq, ack_offset) = match (t.absolute || !relative, syn) {
                    (true, _) => (t.seq_start, isn),
                    (false, true) => (t.seq_start, isn.wrapping_sub(c.script_local_isn)),
                    (false, false) => (t.seq_start.wrapping_add(c.remote_isn), isn),
                };
                let seg = wire::tcp_segment(&wire::TcpBuild {
                    src,
                    dst,
                    seq,
                    // (packetdrill numbers an ACK written without `ack` as 0
                    // relative to our ISN.)
                    ack: match (t.ack, relative) {
                        (Some(a), _) => a.wrapping_add(ack_offset),
                        (None, true) if t.flags.contains(TcpFlags::ACK) => ack_offset,
                        (None, _) => 0,
                    },
                    flags: t.flags.0,
                    win: t.win.unwrap_or(self.settings.default_win),
                    urg: t.urg.unwrap_or(0),
                    options,
                    payload_len: usize::from(t.len),
                });
                return Ok((wire::PROTO_TCP, seg));
            }
            PacketProto::Udp(u) => {
                return Ok((
                    wire::PROTO_UDP,
                    wire::udp_datagram(src, dst, usize::from(u.len)),
                ));
            }
            PacketProto::Icmp(i) => i,
        };
        let ty = icmp_type(&payload.icmp_type)
            .ok_or_else(|| format!("unknown ICMP type '{}'", payload.icmp_type))?;
        let code = match &payload.code {
            Some(c) => icmp_code(ty, c).ok_or_else(|| {
                format!("unknown code '{c}' for ICMP type '{}'", payload.icmp_type)
            })?,
            None => 0,
        };
        let rest = payload.mtu.map_or(0, u32::from);
        let body = if icmp_is_error(ty) {
            // The quoted datagram is one we sent: from us to the remote host.
            self.quote(dst, src, payload.quoted)
        } else {
            Vec::new()
        };
        Ok((wire::PROTO_ICMP, wire::icmp_message(ty, code, rest, &body)))
    }

    /// The IP header and transport header of a datagram we sent from `ours` to
    /// `theirs`, for an ICMP error to quote. Without an explicit quote it
    /// is the default connection's last segment (TCP) or an empty datagram.
    fn quote(&self, ours: SocketAddrV4, theirs: SocketAddrV4, q: Option<IcmpQuoted>) -> Vec<u8> {
        let c = self.conn(ours.port(), *theirs.ip(), theirs.port());
        let isn = c.local_isn.unwrap_or(0);
        let q = q.unwrap_or(if self.def.tcp {
            IcmpQuoted::Tcp {
                seq_start: c.last_seq.unwrap_or(isn).wrapping_sub(isn),
                seq_end: c.last_seq.unwrap_or(isn).wrapping_sub(isn),
                len: 0,
            }
        } else {
            IcmpQuoted::Udp { len: 0 }
        });
        let (proto, transport, payload_len) = match q {
            IcmpQuoted::Udp { len } => {
                let mut h = Vec::with_capacity(8);
                h.extend_from_slice(&ours.port().to_be_bytes());
                h.extend_from_slice(&theirs.port().to_be_bytes());
                h.extend_from_slice(&(8 + len).to_be_bytes());
                h.extend_from_slice(&[0, 0]);
                (wire::PROTO_UDP, h, 8 + usize::from(len))
            }
            IcmpQuoted::Tcp { seq_start, len, .. } => {
                let mut seg = wire::tcp_segment(&wire::TcpBuild {
                    src: ours,
                    dst: theirs,
                    seq: seq_start.wrapping_add(isn),
                    ack: 0,
                    flags: TcpFlags::ACK.0,
                    win: 0,
                    urg: 0,
                    options: Vec::new(),
                    payload_len: 0,
                });
                seg.truncate(20);
                (wire::PROTO_TCP, seg, 20 + usize::from(len))
            }
        };
        let mut body = wire::ipv4_header(*ours.ip(), *theirs.ip(), proto, 0, payload_len).to_vec();
        body.extend_from_slice(&transport);
        body
    }

    /// Checks a sent datagram against a `>` line; `Err` says what differs.
    /// Learns the default connection's port and the timestamp offset.
    pub(super) fn match_outbound(&mut self, p: &Packet, d: &Decoded) -> Result<(), String> {
        let s = &self.settings;
        let (src_ip, src_port, dst_ip, dst_port) = match &p.addrs {
            Some(e) => (
                e.src_addr.unwrap_or(s.local_ip),
                Some(e.src_port),
                e.dst_addr.unwrap_or(s.remote_ip),
                e.dst_port,
            ),
            None => (
                s.local_ip,
                self.def.local_port,
                s.remote_ip,
                self.def.remote_port,
            ),
        };
        let mismatch = |what: &str, got: String, want: String| {
            let verb = if what.ends_with("flags") { "are" } else { "is" };
            Err(format!("{what} {verb} {got}, the script expects {want}"))
        };
        if d.src != src_ip {
            return mismatch("the source address", d.src.to_string(), src_ip.to_string());
        }
        if d.dst != dst_ip {
            return mismatch(
                "the destination address",
                d.dst.to_string(),
                dst_ip.to_string(),
            );
        }
        if let Some(tos) = p.ip.tos {
            if d.tos != tos {
                return mismatch(
                    "the TOS byte",
                    format!("{:#04x}", d.tos),
                    format!("{tos:#04x}"),
                );
            }
        }
        if let Some(ttl) = p.ip.ttl {
            if d.ttl != ttl {
                return mismatch("the TTL", d.ttl.to_string(), ttl.to_string());
            }
        }
        if p.ip.not_ect && d.tos & 3 != 0 {
            return mismatch(
                "the ECN field",
                (d.tos & 3).to_string(),
                "0 (noecn)".to_string(),
            );
        }
        let check_ports = |me: &mut Interp, sp: u16, dp: u16| -> Result<(), String> {
            match src_port {
                Some(want) if want != sp => {
                    return mismatch("the source port", sp.to_string(), want.to_string())
                }
                None if p.addrs.is_none() => me.def.local_port = Some(sp),
                _ => {}
            }
            if dp != dst_port {
                return mismatch("the destination port", dp.to_string(), dst_port.to_string());
            }
            Ok(())
        };
        match (&p.proto, &d.transport) {
            (PacketProto::Tcp(t), Transport::Tcp(seg)) => {
                check_ports(self, seg.src_port, seg.dst_port)?;
                let key = (seg.src_port, d.dst, seg.dst_port);
                let c = self.conn(key.0, key.1, key.2);
                let isn = c.local_isn.unwrap_or(0);
                // Another platform pushes at other places: compare without PSH.
                let psh = if self.settings.compat.is_some() {
                    crate::ast::TcpFlags::PSH.0
                } else {
                    0
                };
                if seg.flags & !psh != t.flags.0 & !psh {
                    return mismatch(
                        "the flags",
                        TcpFlags(seg.flags).to_string(),
                        t.flags.to_string(),
                    );
                }
                let syn = seg.flags & TcpFlags::SYN.0 != 0;
                let rel = if t.absolute {
                    seg.seq
                } else if syn && self.settings.compat.is_some() {
                    // packetdrill: the script names our ISN, whatever it is.
                    t.seq_start
                } else {
                    seg.seq.wrapping_sub(isn)
                };
                if rel != t.seq_start {
                    return mismatch(
                        "the sequence number",
                        rel.to_string(),
                        t.seq_start.to_string(),
                    );
                }
                if seg.payload_len != usize::from(t.len) {
                    return mismatch(
                        "the payload length",
                        seg.payload_len.to_string(),
                        t.len.to_string(),
                    );
                }
                // Acks of the remote's data count from its ISN (a SYN-ACK's
                // is absolute).
                let remote_isn = if syn || t.absolute || self.settings.compat.is_none() {
                    0
                } else {
                    c.remote_isn
                };
                if let Some(a) = t.ack {
                    let got = seg.ack.wrapping_sub(remote_isn);
                    if got != a {
                        return mismatch("the ack number", got.to_string(), a.to_string());
                    }
                }
                if let Some(w) = t.win {
                    if seg.win != w {
                        return mismatch("the window", seg.win.to_string(), w.to_string());
                    }
                }
                if let Some(u) = t.urg {
                    if seg.urg != u {
                        return mismatch("the urgent pointer", seg.urg.to_string(), u.to_string());
                    }
                }
                let mut ts_offset = None;
                if let Some(want) = &t.options {
                    let decoded = seg
                        .options
                        .as_ref()
                        .map_err(|e| format!("the options cannot be decoded: {e}"))?;
                    // SACK edges count from the remote ISN too (a copy only
                    // when there is something to subtract).
                    let mut shifted = None;
                    if remote_isn != 0 {
                        let mut opts = decoded.clone();
                        for o in &mut opts {
                            if let TcpOptionSpec::Sack(blocks) = o {
                                for (l, r) in blocks.iter_mut() {
                                    *l = l.wrapping_sub(remote_isn);
                                    *r = r.wrapping_sub(remote_isn);
                                }
                            }
                        }
                        shifted = Some(opts);
                    }
                    let got = shifted.as_ref().unwrap_or(decoded);
                    let same = if self.settings.compat.is_some() {
                        // Another platform's layout: the same options in any
                        // order, padding aside, any window scale.
                        same_option_set(got, want, &mut ts_offset)
                    } else {
                        got.len() == want.len()
                            && got.iter().zip(want).all(|(g, w)| match (g, w) {
                                (
                                    TcpOptionSpec::Timestamp { val: gv, ecr: ge },
                                    TcpOptionSpec::Timestamp { val: wv, ecr: we },
                                ) => {
                                    ts_offset = Some(gv.wrapping_sub(*wv));
                                    ge == we
                                }
                                _ => g == w,
                            })
                    };
                    if !same {
                        return mismatch(
                            "the option list",
                            format!("<{}>", join(got)),
                            format!("<{}>", join(want)),
                        );
                    }
                }
                let c = self.conns.entry(key).or_default();
                if c.ts_offset.is_none() {
                    c.ts_offset = ts_offset;
                }
                if syn && !t.absolute {
                    c.script_local_isn = t.seq_start;
                }
                c.saw(seg.flags, true);
                Ok(())
            }
            (PacketProto::Udp(u), Transport::Udp(dg)) => {
                check_ports(self, dg.src_port, dg.dst_port)?;
                if dg.payload_len != usize::from(u.len) {
                    return mismatch(
                        "the UDP payload length",
                        dg.payload_len.to_string(),
                        u.len.to_string(),
                    );
                }
                Ok(())
            }
            (PacketProto::Icmp(i), Transport::Icmp(m)) => {
                let ty = icmp_type(&i.icmp_type)
                    .ok_or_else(|| format!("unknown ICMP type '{}' in the script", i.icmp_type))?;
                if m.ty != ty {
                    return mismatch("the ICMP type", icmp_type_name(m.ty), i.icmp_type.clone());
                }
                if let Some(code) = &i.code {
                    let want = icmp_code(ty, code).ok_or_else(|| {
                        format!(
                            "unknown code '{code}' for ICMP type '{}' in the script",
                            i.icmp_type
                        )
                    })?;
                    if m.code != want {
                        return mismatch(
                            "the ICMP code",
                            icmp_code_name(m.ty, m.code),
                            code.clone(),
                        );
                    }
                }
                if let Some(mtu) = i.mtu {
                    let got = (m.rest & 0xffff) as u16;
                    if got != mtu {
                        return mismatch("the next-hop MTU", got.to_string(), mtu.to_string());
                    }
                }
                if let Some(q) = &i.quoted {
                    let got = m
                        .quoted
                        .as_ref()
                        .ok_or("the ICMP message quotes no datagram")?;
                    match q {
                        IcmpQuoted::Udp { len } => {
                            if got.proto != wire::PROTO_UDP {
                                return mismatch(
                                    "the quoted protocol",
                                    got.proto.to_string(),
                                    "UDP (17)".to_string(),
                                );
                            }
                            if got.payload_len != Some(usize::from(*len)) {
                                return mismatch(
                                    "the quoted UDP payload length",
                                    opt(got.payload_len),
                                    len.to_string(),
                                );
                            }
                        }
                        IcmpQuoted::Tcp { seq_start, len, .. } => {
                            if got.proto != wire::PROTO_TCP {
                                return mismatch(
                                    "the quoted protocol",
                                    got.proto.to_string(),
                                    "TCP (6)".to_string(),
                                );
                            }
                            if got.seq != Some(*seq_start) {
                                return mismatch(
                                    "the quoted sequence number",
                                    opt(got.seq),
                                    seq_start.to_string(),
                                );
                            }
                            if got.payload_len != Some(usize::from(*len)) {
                                return mismatch(
                                    "the quoted payload length",
                                    opt(got.payload_len),
                                    len.to_string(),
                                );
                            }
                        }
                    }
                }
                Ok(())
            }
            (want, _) => Err(format!(
                "the stack sent {}, the script expects {}",
                proto_name(&d.transport),
                match want {
                    PacketProto::Tcp(_) => "a TCP segment",
                    PacketProto::Udp(_) => "a UDP datagram",
                    PacketProto::Icmp(_) => "an ICMP message",
                }
            )),
        }
    }

    /// A datagram the stack sent, in script syntax (`> S. 0:0(0) ack 1 ...`),
    /// with our sequence numbers relative to our ISN. Addresses are written
    /// out when they are not the default connection's, or when `explicit`.
    pub(super) fn describe(&self, d: &Decoded, explicit: bool) -> String {
        let s = &self.settings;
        let default_ips = d.src == s.local_ip && d.dst == s.remote_ip;
        let addrs = |sp: u16, dp: u16| {
            let default = !explicit
                && default_ips
                && dp == self.def.remote_port
                && self.def.local_port.is_none_or(|l| l == sp);
            (!default).then_some(Endpoints {
                src_addr: Some(d.src),
                src_port: sp,
                dst_addr: Some(d.dst),
                dst_port: dp,
            })
        };
        let packet = |addrs, proto| Packet {
            direction: Direction::Outbound,
            addrs,
            ip: IpFields::default(),
            proto,
        };
        match &d.transport {
            Transport::Tcp(seg) => {
                let c = self.conn(seg.src_port, d.dst, seg.dst_port);
                let rel = seg.seq.wrapping_sub(c.local_isn.unwrap_or(0));
                let len = seg.payload_len.min(usize::from(u16::MAX)) as u16;
                let flags = TcpFlags(seg.flags);
                let (options, note) = match &seg.options {
                    Ok(o) => (Some(o.clone()), String::new()),
                    Err(e) => (None, format!(" (options: {e})")),
                };
                let t = TcpPacket {
                    flags,
                    absolute: false,
                    seq_start: rel,
                    seq_end: rel.wrapping_add(u32::from(len)),
                    len,
                    ack: flags.contains(TcpFlags::ACK).then_some(seg.ack),
                    win: Some(seg.win),
                    urg: flags.contains(TcpFlags::URG).then_some(seg.urg),
                    options,
                };
                format!(
                    "{}{note}",
                    packet(addrs(seg.src_port, seg.dst_port), PacketProto::Tcp(t))
                )
            }
            Transport::Udp(dg) => {
                let len = dg.payload_len.min(usize::from(u16::MAX)) as u16;
                packet(
                    addrs(dg.src_port, dg.dst_port),
                    PacketProto::Udp(UdpPacket { len }),
                )
                .to_string()
            }
            Transport::Icmp(m) => {
                let quoted = m.quoted.as_ref().and_then(|q| {
                    let len = q.payload_len?.min(usize::from(u16::MAX)) as u16;
                    match q.proto {
                        wire::PROTO_UDP => Some(IcmpQuoted::Udp { len }),
                        wire::PROTO_TCP => {
                            let seq = q.seq?;
                            Some(IcmpQuoted::Tcp {
                                seq_start: seq,
                                seq_end: seq.wrapping_add(u32::from(len)),
                                len,
                            })
                        }
                        _ => None,
                    }
                });
                let i = IcmpPacket {
                    icmp_type: icmp_type_name(m.ty),
                    code: (icmp_is_error(m.ty) || m.code != 0)
                        .then(|| icmp_code_name(m.ty, m.code)),
                    mtu: (m.ty == 3 && m.code == 4).then_some((m.rest & 0xffff) as u16),
                    quoted,
                };
                let mut text = packet(None, PacketProto::Icmp(i)).to_string();
                if !default_ips {
                    text.push_str(&format!(" (IPv4 {} > {})", d.src, d.dst));
                }
                text
            }
            Transport::Other { len, note, .. } => {
                format!("> ({note}, {len} bytes, IPv4 {} > {})", d.src, d.dst)
            }
        }
    }
}

fn join(opts: &[TcpOptionSpec]) -> String {
    opts.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "unknown".to_string(), |v| v.to_string())
}

fn proto_name(t: &Transport) -> String {
    match t {
        Transport::Tcp(_) => "a TCP segment".to_string(),
        Transport::Udp(_) => "a UDP datagram".to_string(),
        Transport::Icmp(_) => "an ICMP message".to_string(),
        Transport::Other { note, .. } => format!("something else ({note})"),
    }
}

/// Compatibility matching of two option lists: every option of each in the
/// other, NOPs and EOLs aside, window scales of any value, timestamps by their
/// echo (their values give the offset, as in strict matching).
fn same_option_set(
    got: &[TcpOptionSpec],
    want: &[TcpOptionSpec],
    ts_offset: &mut Option<u32>,
) -> bool {
    let real = |o: &&TcpOptionSpec| !matches!(o, TcpOptionSpec::Nop | TcpOptionSpec::Eol);
    let got: Vec<&TcpOptionSpec> = got.iter().filter(real).collect();
    let want: Vec<&TcpOptionSpec> = want.iter().filter(real).collect();
    if got.len() != want.len() {
        return false;
    }
    let mut used = vec![false; got.len()];
    for w in want {
        let found = got.iter().enumerate().position(|(i, g)| {
            !used[i]
                && match (g, w) {
                    (TcpOptionSpec::WindowScale(_), TcpOptionSpec::WindowScale(_)) => true,
                    (
                        TcpOptionSpec::Timestamp { val: gv, ecr: ge },
                        TcpOptionSpec::Timestamp { val: wv, ecr: we },
                    ) => {
                        if ge == we {
                            *ts_offset = Some(gv.wrapping_sub(*wv));
                            true
                        } else {
                            false
                        }
                    }
                    _ => **g == *w,
                }
        });
        match found {
            Some(i) => used[i] = true,
            None => return false,
        }
    }
    true
}
