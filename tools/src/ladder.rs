//! A ladder view of a two-host transcript: one column per host and an arrow per
//! frame between them, labelled the way packetdrill scripts write segments
//! (flags, `seq:end(len)`, `ack`, `win`, with sequence numbers relative to each
//! side's first one), as textbooks draw TCP exchanges.
//!
//! ```text
//!    A 10.0.0.1                                                   B 10.0.0.2
//!         |---S 0:0(0) win 65535 <mss,sackOK,ts,ws>------------------->|
//!         |<------------S. 0:0(0) ack 1 win 65535 <mss,sackOK,ts,ws>---|
//!         |---. 1:1(0) ack 1 win 2048 <ts>--------------------------->|
//! ```

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use stack::wire::ethernet::EthernetFrame;
use stack::wire::ipv4::Ipv4Packet;
use stack::wire::tcp::options::TcpOptions;
use stack::wire::tcp::TcpPacket;
use stack::wire::{ETHERTYPE_IPV4, PROTO_TCP};

/// Width of the space between the two columns.
const WIDTH: usize = 60;
/// Indentation of the left column.
const INDENT: usize = 8;

/// Draws frames as arrows between two hosts, remembering each TCP direction's
/// first sequence number.
#[derive(Debug, Default)]
pub struct Ladder {
    isn: HashMap<(SocketAddrV4, SocketAddrV4), u32>,
}

impl Ladder {
    /// An empty ladder.
    pub fn new() -> Ladder {
        Ladder::default()
    }

    /// The line naming the two columns, each name centred over its column.
    pub fn header(left: Ipv4Addr, right: Ipv4Addr) -> String {
        let l = format!("A {left}");
        let r = format!("B {right}");
        let l_start = INDENT.saturating_sub(l.len() / 2);
        let r_start = (INDENT + WIDTH + 1).saturating_sub(r.len() / 2);
        let gap = r_start.saturating_sub(l_start + l.len()).max(1);
        format!("{:l_start$}{l}{:gap$}{r}", "", "")
    }

    /// The arrow of `frame`, sent by the left host (`left_to_right`) or the right.
    pub fn line(&mut self, left_to_right: bool, frame: &[u8]) -> String {
        let label = self.label(frame);
        let room = WIDTH.saturating_sub(4);
        let label: String = if label.chars().count() > room {
            label
                .chars()
                .take(room.saturating_sub(1))
                .chain(['~'])
                .collect()
        } else {
            label
        };
        let dashes = WIDTH.saturating_sub(label.chars().count() + 2);
        let body = if left_to_right {
            format!("|---{label}{}>|", "-".repeat(dashes.saturating_sub(2)))
        } else {
            format!("|<{}{label}---|", "-".repeat(dashes.saturating_sub(2)))
        };
        format!("{:INDENT$}{body}", "")
    }

    /// `line` (an arrow of [`Ladder::line`]) redrawn as a frame lost on the way:
    /// the head becomes an `X` short of the receiving column.
    pub fn lost(line: &str) -> String {
        if let Some(i) = line.rfind("->|") {
            format!("{}X |{}", &line[..i], &line[i + 3..])
        } else if let Some(i) = line.find("|<-") {
            format!("{}| X{}", &line[..i], &line[i + 3..])
        } else {
            line.to_string()
        }
    }

    /// What the arrow says: a TCP segment as packetdrill writes it, else the
    /// frame's one-line description.
    fn label(&mut self, frame: &[u8]) -> String {
        self.tcp_label(frame).unwrap_or_else(|| {
            // The columns say who sends to whom: drop "IP a > b: ".
            let line = stack::wire::pretty::frame(frame);
            match line
                .strip_prefix("IP ")
                .and_then(|rest| rest.split_once(": "))
            {
                Some((_, what)) => what.to_string(),
                None => line,
            }
        })
    }

    fn tcp_label(&mut self, frame: &[u8]) -> Option<String> {
        let eth = EthernetFrame::new_checked(frame)?;
        if eth.ethertype() != ETHERTYPE_IPV4 {
            return None;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
        if ip.protocol() != PROTO_TCP || ip.frag_offset() != 0 {
            return None;
        }
        let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
        let flags = tcp.flags();
        let from = SocketAddrV4::new(ip.src(), tcp.src_port());
        let to = SocketAddrV4::new(ip.dst(), tcp.dst_port());
        let seq = tcp.seq().0;
        if flags.syn {
            self.isn.insert((from, to), seq);
        }
        let base = *self.isn.entry((from, to)).or_insert(seq);
        let len = tcp.payload().len();
        let rel = seq.wrapping_sub(base);
        let mut s = flags.letters();
        s.push_str(&format!(" {rel}:{}({len})", rel.wrapping_add(len as u32)));
        if flags.ack {
            let ack = tcp.ack().0;
            let peer = self.isn.get(&(to, from)).copied().unwrap_or(ack);
            s.push_str(&format!(" ack {}", ack.wrapping_sub(peer)));
        }
        s.push_str(&format!(" win {}", tcp.window()));
        // Option names only, to keep arrows short.
        let o = TcpOptions::parse(tcp.options()).unwrap_or_default();
        let names: Vec<&str> = [
            (o.mss.is_some(), "mss"),
            (o.sack_permitted, "sackOK"),
            (o.timestamps.is_some(), "ts"),
            (o.window_scale.is_some(), "ws"),
            (o.sack_blocks.iter().any(Option::is_some), "sack"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if !names.is_empty() {
            s.push_str(&format!(" <{}>", names.join(",")));
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stack::sim::{Side, SimPair};
    use stack::tcp::State;
    use stack::{Duration, StackConfig};

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    #[test]
    fn a_handshake_and_a_close_as_a_ladder() {
        let mut p = SimPair::new(
            StackConfig::new(A, 24),
            StackConfig::new(B, 24),
            Duration::from_micros(100),
        );
        p.record();
        let l = p.b.tcp_open().unwrap();
        p.b.tcp_bind(l, SocketAddrV4::new(B, 8000)).unwrap();
        p.b.tcp_listen(l, 1).unwrap();
        let c = p.a.tcp_open().unwrap();
        let _ = p.a.tcp_connect(p.now(), c, SocketAddrV4::new(B, 8000));
        let mut s = None;
        assert!(p.run_until(Duration::from_secs(1), |p| {
            s = s.or_else(|| p.b.tcp_accept(p.now(), l).ok().map(|(h, _)| h));
            s.is_some() && p.a.tcp_state(c) == Ok(State::Established)
        }));
        p.a.close(p.now(), c).unwrap();
        p.run_for(Duration::from_millis(10));
        let mut ladder = Ladder::new();
        let lines: Vec<String> = p
            .trace
            .take()
            .unwrap_or_default()
            .iter()
            .filter(|(_, _, f)| f.get(12..14) == Some(&[0x08, 0x00]))
            .map(|(_, side, f)| ladder.line(*side == Side::A, f))
            .collect();
        let expected = [
            "        |---S 0:0(0) win 65535 <mss,sackOK,ts,ws>------------------->|",
            "        |<------------S. 0:0(0) ack 1 win 65535 <mss,sackOK,ts,ws>---|",
            "        |---. 1:1(0) ack 1 win 2048 <ts>---------------------------->|",
            "        |---F. 1:1(0) ack 1 win 2048 <ts>--------------------------->|",
            "        |<----------------------------. 1:1(0) ack 2 win 2048 <ts>---|",
        ];
        assert_eq!(lines, expected);
        assert_eq!(
            Ladder::lost(expected[0]),
            "        |---S 0:0(0) win 65535 <mss,sackOK,ts,ws>------------------X |"
        );
        assert_eq!(
            Ladder::lost(expected[1]),
            "        | X-----------S. 0:0(0) ack 1 win 65535 <mss,sackOK,ts,ws>---|"
        );
        assert_eq!(Ladder::lost(expected[0]).len(), expected[0].len());
        assert!(
            lines
                .iter()
                .all(|l| l.chars().count() == INDENT + WIDTH + 2),
            "{lines:#?}"
        );
    }
}
