//! A running stack's socket table, as `ss -tuan` shows the kernel's: protocol,
//! state, queues, local and peer address, and for TCP its internals (`ss -i`).
//! `netstack stats` prints it; [`socket_table`] builds it from an engine.

use std::fmt::Write;
use std::net::SocketAddrV4;

use crate::engine::Engine;
use crate::tcp::{State, TcpInfo};

/// A socket's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP echo (ping sockets).
    Icmp,
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct SocketRow {
    /// The protocol.
    pub protocol: Protocol,
    /// `ss`'s state name: LISTEN, ESTAB, SYN-SENT, TIME-WAIT, ... (UNCONN for UDP).
    pub state: &'static str,
    /// Bytes waiting to be read (0 for a listener).
    pub recv_q: usize,
    /// Bytes not yet acknowledged (0 for a listener).
    pub send_q: usize,
    /// Local address, if bound.
    pub local: Option<SocketAddrV4>,
    /// Peer address, if connected.
    pub peer: Option<SocketAddrV4>,
    /// TCP internals.
    pub info: Option<TcpInfo>,
}

/// `ss`'s name of a TCP state.
fn state_name(s: State) -> &'static str {
    match s {
        State::Closed => "CLOSE",
        State::Listen => "LISTEN",
        State::SynSent => "SYN-SENT",
        State::SynReceived => "SYN-RECV",
        State::Established => "ESTAB",
        State::FinWait1 => "FIN-WAIT-1",
        State::FinWait2 => "FIN-WAIT-2",
        State::CloseWait => "CLOSE-WAIT",
        State::Closing => "CLOSING",
        State::LastAck => "LAST-ACK",
        State::TimeWait => "TIME-WAIT",
    }
}

/// Every socket of `e`, and its connections in TIME-WAIT.
pub fn socket_table(e: &Engine) -> Vec<SocketRow> {
    let mut rows = Vec::new();
    for (h, protocol) in e.socket_handles() {
        let row = match protocol {
            Protocol::Tcp => {
                let state = e.tcp_state(h).unwrap_or(State::Closed);
                SocketRow {
                    protocol,
                    state: state_name(state),
                    recv_q: e.tcp_recv_queue_len(h).unwrap_or(0),
                    send_q: e.tcp_send_queue_len(h).unwrap_or(0),
                    local: e.tcp_local_addr(h).ok().flatten(),
                    peer: e.tcp_peer_addr(h).ok().flatten(),
                    info: e.tcp_info(h).ok().flatten(),
                }
            }
            Protocol::Udp => SocketRow {
                protocol,
                state: if e.udp_peer_addr(h).ok().flatten().is_some() {
                    "ESTAB"
                } else {
                    "UNCONN"
                },
                recv_q: e.udp_next_len(h).unwrap_or(0),
                send_q: 0,
                local: e.udp_local_addr(h).ok().flatten(),
                peer: e.udp_peer_addr(h).ok().flatten(),
                info: None,
            },
            Protocol::Icmp => SocketRow {
                protocol,
                state: "UNCONN",
                recv_q: 0,
                send_q: 0,
                local: None,
                peer: None,
                info: None,
            },
        };
        rows.push(row);
    }
    for (local, peer) in e.tcp_time_wait_connections() {
        rows.push(SocketRow {
            protocol: Protocol::Tcp,
            state: "TIME-WAIT",
            recv_q: 0,
            send_q: 0,
            local: Some(local),
            peer: Some(peer),
            info: None,
        });
    }
    rows
}

/// Which rows and columns to print.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter {
    /// TCP sockets (`-t`); with neither `tcp` nor `udp`, both.
    pub tcp: bool,
    /// UDP sockets (`-u`).
    pub udp: bool,
    /// Only listening sockets (`-l`).
    pub listening: bool,
    /// TCP internals under each connection (`-i`).
    pub internals: bool,
}

fn addr(a: Option<SocketAddrV4>) -> String {
    a.map_or_else(|| "*:*".to_string(), |a| a.to_string())
}

/// The table as `ss -tuan` prints it (with `-i`, a line of TCP internals under
/// each connection).
pub fn render(rows: &[SocketRow], f: Filter) -> String {
    let both = !f.tcp && !f.udp;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<6}{:<11}{:>8} {:>8} {:<22}{:<22}",
        "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    );
    for r in rows {
        let shown = match r.protocol {
            Protocol::Tcp => both || f.tcp,
            Protocol::Udp => both || f.udp,
            Protocol::Icmp => both,
        };
        if !shown || (f.listening && r.state != "LISTEN" && r.state != "UNCONN") {
            continue;
        }
        let netid = match r.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        };
        let _ = writeln!(
            out,
            "{netid:<6}{:<11}{:>8} {:>8} {:<22}{:<22}",
            r.state,
            r.recv_q,
            r.send_q,
            addr(r.local),
            addr(r.peer)
        );
        if let (true, Some(i)) = (f.internals, &r.info) {
            let ms = |d: Option<crate::Duration>| {
                d.map_or_else(|| "-".into(), |d| format!("{:.3}", d.as_secs_f64() * 1e3))
            };
            let _ = writeln!(
                out,
                "\t {} wscale:{},{} rto:{:.0} rtt:{}/{} mss:{} cwnd:{} ssthresh:{} \
                 unacked:{} retrans:{}/{} sack:{} ts:{} snd_wnd:{} rcv_wnd:{} bufmem:{}",
                i.congestion,
                i.snd_wscale.map_or("-".into(), |w| w.to_string()),
                i.rcv_wscale.map_or("-".into(), |w| w.to_string()),
                i.rto.as_secs_f64() * 1e3,
                ms(i.srtt),
                ms(i.rttvar),
                i.mss,
                i.cwnd / i.mss.max(1),
                // Linux shows the initial, infinite threshold as none.
                if i.ssthresh >= u32::MAX as usize {
                    "-".to_string()
                } else {
                    (i.ssthresh / i.mss.max(1)).to_string()
                },
                i.unacked,
                i.retransmits,
                i.total_retrans(),
                i.sack,
                i.timestamps,
                i.snd_wnd,
                i.rcv_wnd,
                i.buffer_memory,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimPair;
    use crate::{Duration, StackConfig};
    use std::net::Ipv4Addr;

    #[test]
    fn the_table_shows_a_listener_a_connection_and_a_udp_socket() {
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 2);
        let mut p = SimPair::new(
            StackConfig::new(a, 24),
            StackConfig::new(b, 24),
            Duration::from_micros(100),
        );
        let l = p.b.tcp_open().unwrap();
        p.b.tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 8000))
            .unwrap();
        p.b.tcp_listen(l, 4).unwrap();
        let u = p.b.udp_open().unwrap();
        p.b.udp_bind(u, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5353))
            .unwrap();
        let c = p.a.tcp_open().unwrap();
        let _ = p.a.tcp_connect(p.now(), c, SocketAddrV4::new(b, 8000));
        p.run_for(Duration::from_millis(10));
        let rows = socket_table(&p.b);
        let text = render(
            &rows,
            Filter {
                internals: true,
                ..Filter::default()
            },
        );
        assert!(
            text.contains("tcp   LISTEN            0        0 0.0.0.0:8000"),
            "{text}"
        );
        assert!(text.contains("tcp   ESTAB"), "{text}");
        assert!(text.contains("10.0.0.1:"), "{text}");
        assert!(
            text.contains("udp   UNCONN            0        0 0.0.0.0:5353"),
            "{text}"
        );
        assert!(text.contains("cubic wscale:"), "{text}");
        let listening = render(
            &rows,
            Filter {
                tcp: true,
                listening: true,
                ..Filter::default()
            },
        );
        assert!(
            !listening.contains("ESTAB") && !listening.contains("udp"),
            "{listening}"
        );
    }
}
