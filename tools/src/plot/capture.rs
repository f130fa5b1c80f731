//! Reading TCP segments out of a capture: pcap (ours, or tcpdump's on Ethernet, raw
//! IP or Linux "any" interfaces) or pcapng, grouped into connections.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddrV4;
use std::path::Path;

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;
use stack::wire::ethernet::EthernetFrame;
use stack::wire::ipv4::Ipv4Packet;
use stack::wire::tcp::options::TcpOptions;
use stack::wire::tcp::{Flags, TcpPacket};
use stack::wire::{ETHERTYPE_IPV4, PROTO_TCP};

/// One TCP segment of a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Capture time, microseconds since the capture's first frame.
    pub micros: u64,
    /// Sender.
    pub from: SocketAddrV4,
    /// Receiver.
    pub to: SocketAddrV4,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    /// Payload length (from the IP header, so a truncated capture still counts it).
    pub len: u32,
    /// Flags.
    pub flags: Flags,
    /// Window field as sent (unscaled).
    pub window: u16,
    /// Window scale offered, on a SYN.
    pub wscale: Option<u8>,
    /// SACK blocks (left, right).
    pub sacks: Vec<(u32, u32)>,
    /// Urgent pointer, when URG is set.
    pub urgent: Option<u16>,
}

impl Segment {
    /// Sequence space the segment occupies (SYN and FIN count one each).
    pub fn seq_len(&self) -> u32 {
        self.len + u32::from(self.flags.syn) + u32::from(self.flags.fin)
    }
}

/// A connection's segments in capture order; `client` is the end that sent the
/// first SYN (else the sender of the first segment seen).
#[derive(Clone, Debug)]
pub struct Connection {
    /// The end that opened the connection.
    pub client: SocketAddrV4,
    /// The other end.
    pub server: SocketAddrV4,
    /// Its segments, both directions.
    pub segments: Vec<Segment>,
}

/// What a capture held.
#[derive(Debug, Default)]
pub struct Capture {
    /// TCP connections in order of their first segment.
    pub connections: Vec<Connection>,
    /// Frames that carried no TCP segment we could read (ARP, UDP, ICMP, fragments).
    pub other_frames: usize,
}

/// Reads the TCP connections of the capture at `path`, frame by frame.
pub fn read(path: &Path) -> Result<Capture, String> {
    let mut file = BufReader::new(
        File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
    );
    let magic = file
        .fill_buf()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let pcapng = magic.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]);
    let bad = |e: pcap_file::PcapError| format!("{}: not a readable capture: {e}", path.display());
    let mut builder = Builder::default();
    if pcapng {
        let mut r = PcapNgReader::new(file).map_err(bad)?;
        // Each interface's link type and timestamp unit.
        let mut links: Vec<(DataLink, Option<u8>)> = Vec::new();
        while let Some(block) = r.next_block() {
            match block.map_err(bad)? {
                Block::SectionHeader(_) => links.clear(),
                Block::InterfaceDescription(i) => {
                    let resol = i.options.iter().find_map(|o| match o {
                        InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                        _ => None,
                    });
                    links.push((i.linktype, resol));
                }
                Block::EnhancedPacket(p) => {
                    let (link, resol) = links
                        .get(p.interface_id as usize)
                        .copied()
                        .unwrap_or((DataLink::ETHERNET, None));
                    // pcap-file hands over the raw count as nanoseconds.
                    let raw = p.timestamp.as_nanos();
                    builder.frame(micros_of(raw, resol), link, &p.data);
                }
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(file).map_err(bad)?;
        let link = r.header().datalink;
        while let Some(p) = r.next_packet() {
            let p = p.map_err(bad)?;
            builder.frame(p.timestamp.as_micros() as u64, link, &p.data);
        }
    }
    Ok(builder.capture)
}

/// Groups segments into connections as the frames come.
#[derive(Default)]
struct Builder {
    capture: Capture,
    start: Option<u64>,
    index: HashMap<(SocketAddrV4, SocketAddrV4), usize>,
}

impl Builder {
    fn frame(&mut self, t: u64, link: DataLink, data: &[u8]) {
        let start = *self.start.get_or_insert(t);
        let capture = &mut self.capture;
        let Some(mut seg) = ipv4_of(link, data).and_then(segment) else {
            capture.other_frames += 1;
            return;
        };
        seg.micros = t.saturating_sub(start);
        let key = if seg.from < seg.to {
            (seg.from, seg.to)
        } else {
            (seg.to, seg.from)
        };
        let i = *self.index.entry(key).or_insert_with(|| {
            // A connection is named after whoever sent its first segment, unless
            // that was a SYN-ACK.
            let (client, server) = if seg.flags.syn && seg.flags.ack {
                (seg.to, seg.from)
            } else {
                (seg.from, seg.to)
            };
            capture.connections.push(Connection {
                client,
                server,
                segments: Vec::new(),
            });
            capture.connections.len() - 1
        });
        capture.connections[i].segments.push(seg);
    }
}

/// A pcapng timestamp in microseconds: `raw` units of the interface's
/// `if_tsresol` (10^-n s, or 2^-n s with the high bit set; 10^-6 when absent).
fn micros_of(raw: u128, resol: Option<u8>) -> u64 {
    let micros = match resol {
        None | Some(6) => raw,
        Some(r) if r & 0x80 != 0 => (raw * 1_000_000) >> u32::from(r & 0x7f).min(127),
        Some(r) if r < 6 => raw * 10u128.pow(6 - u32::from(r)),
        Some(r) => raw / 10u128.pow(u32::from(r.min(38)) - 6),
    };
    u64::try_from(micros).unwrap_or(u64::MAX)
}

/// The IPv4 packet inside a frame of link type `link`.
fn ipv4_of(link: DataLink, data: &[u8]) -> Option<&[u8]> {
    match link {
        DataLink::ETHERNET => {
            let eth = EthernetFrame::new_checked(data)?;
            (eth.ethertype() == ETHERTYPE_IPV4).then(|| &data[14..])
        }
        DataLink::RAW | DataLink::IPV4 => Some(data),
        // Linux cooked capture (tcpdump -i any): 16 bytes, protocol at 14.
        DataLink::LINUX_SLL => (data.get(14..16)? == [0x08, 0x00]).then(|| &data[16..]),
        // Version 2: 20 bytes, protocol first.
        DataLink::LINUX_SLL2 => (data.get(0..2)? == [0x08, 0x00]).then(|| &data[20..]),
        _ => None,
    }
}

fn segment(ip: &[u8]) -> Option<Segment> {
    let ip = Ipv4Packet::new_checked(ip).ok()?;
    if ip.protocol() != PROTO_TCP || ip.frag_offset() != 0 || ip.more_frags() {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let flags = tcp.flags();
    let len = ip
        .total_len()
        .saturating_sub(ip.header_len() + tcp.header_len()) as u32;
    let opts = TcpOptions::parse(tcp.options()).unwrap_or_default();
    Some(Segment {
        micros: 0,
        from: SocketAddrV4::new(ip.src(), tcp.src_port()),
        to: SocketAddrV4::new(ip.dst(), tcp.dst_port()),
        seq: tcp.seq().0,
        ack: flags.ack.then(|| tcp.ack().0),
        len,
        flags,
        window: tcp.window(),
        wscale: if flags.syn { opts.window_scale } else { None },
        sacks: opts
            .sack_blocks
            .iter()
            .flatten()
            .map(|b| (b.left.0, b.right.0))
            .collect(),
        urgent: flags.urg.then(|| tcp.urgent()),
    })
}

#[cfg(test)]
mod tests {
    use super::micros_of;

    #[test]
    fn pcapng_timestamp_units() {
        assert_eq!(
            micros_of(1_500_000, None),
            1_500_000,
            "microseconds by default"
        );
        assert_eq!(micros_of(1_500_000_000, Some(9)), 1_500_000, "nanoseconds");
        assert_eq!(micros_of(15, Some(1)), 1_500_000, "tenths");
        assert_eq!(micros_of(3 << 20, Some(0x80 | 20)), 3_000_000, "2^-20 s");
    }
}
