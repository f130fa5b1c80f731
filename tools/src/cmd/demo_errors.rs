//! The demo's last sections: the seeds' error cases between the two hosts, and a
//! lost segment with its retransmission drawn as a ladder on virtual time.

use std::cell::Cell;
use std::net::SocketAddrV4;
use std::rc::Rc;
use std::time::Duration as StdDuration;

use netstack_tools::examples::errors;
use netstack_tools::ladder::Ladder;
use sockets::{Errno, Stack};
use stack::sim::{Side, SimPair};
use stack::tcp::{RecvFlags, SendFlags, State};
use stack::wire::ethernet::EthernetFrame;
use stack::wire::ipv4::Ipv4Packet;
use stack::wire::tcp::TcpPacket;
use stack::{Duration, StackConfig};

use super::demo::{banner, check, HOST_A, HOST_B};

/// Section 9: ECONNREFUSED, a full backlog, EADDRINUSE, EACCES, ECONNREFUSED on
/// connected UDP, MSG_PEEK and half-close.
pub fn error_section(a: &Stack, b: &Stack, failures: &mut Vec<String>) -> Result<(), String> {
    banner("9. the seeds' error cases: what the calls return when things go wrong");
    let is = |r: Option<Errno>, e: Errno| r == Some(e);

    println!(
        "-- 4.2BSD primer 2.3: a connect to a port nobody listens on is refused (B sends RST)"
    );
    let r = errors::refused_connect(a, HOST_B, 7999)?;
    check(
        "connect: ECONNREFUSED",
        is(r, Errno::ECONNREFUSED),
        failures,
    );

    println!("-- 4.2BSD primer 2.4: \"if a connection request arrives with the queue full, the");
    println!("   connection is ignored, not refused\"");
    let o = errors::full_backlog(a, b, HOST_B, 7998, 3, StdDuration::from_millis(300))?;
    check(
        "a full listen queue ignores SYNs: the waiting connects are not refused",
        o.connected >= 1 && o.waiting >= 1 && o.syns_ignored >= 1,
        failures,
    );

    println!("-- binding: an address already bound");
    let r = errors::address_in_use(b, 7997)?;
    check("bind: EADDRINUSE", is(r, Errno::EADDRINUSE), failures);

    println!("-- binding: ports below 1024 are reserved");
    let r = errors::reserved_port(b, 79)?;
    check("bind: EACCES", is(r, Errno::EACCES), failures);

    println!("-- a connected datagram socket hears the ICMP port unreachable");
    let r = errors::refused_datagram(a, HOST_B, 7996)?;
    check(
        "recv on connected UDP: ECONNREFUSED",
        is(r, Errno::ECONNREFUSED),
        failures,
    );

    println!("-- MSG_PEEK and shutdown(s, 1) on one connection");
    let s = errors::peek_and_half_close(a, b, HOST_B, 7995)?;
    check(
        "MSG_PEEK leaves the data; after shutdown the peer reads EOF and can still answer",
        s.peeked == b"peekaboo"
            && s.read == s.peeked
            && s.eof_after_shutdown
            && s.answer_after_shutdown == b"bye",
        failures,
    );
    Ok(())
}

/// True when `frame`'s TCP checksum is wrong (a frame the demo spoiled, which
/// the receiver drops).
fn spoiled(frame: &[u8]) -> bool {
    let Some(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
        return false;
    };
    TcpPacket::new_checked(ip.payload()).is_ok_and(|t| !t.checksum_ok(ip.src(), ip.dst()))
}

/// Section 10: handshake, four segments of which the second is lost, its
/// retransmission, and the teardown, as a ladder (virtual time, 10 ms each way).
pub fn retransmission_section(failures: &mut Vec<String>) -> Result<(), String> {
    banner("10. a lost segment and its retransmission, drawn as a ladder");
    println!("Virtual time, 10 ms each way. A sends 4 segments of 1000 bytes; the link spoils");
    println!("the second (B drops it: bad checksum, 'X'). B's ACKs say what it has (SACK);");
    println!("A resends the hole, then both close.");
    let (a_addr, b_addr) = (HOST_A, HOST_B);
    let mut ca = StackConfig::new(a_addr, 24);
    let mut cb = StackConfig::new(b_addr, 24);
    ca.deterministic = true;
    cb.deterministic = true;
    // MSS 1012: with the timestamp option, 1000 bytes of data per segment.
    ca.mtu = 1052;
    cb.mtu = 1052;
    let mut p = SimPair::new(ca, cb, Duration::from_millis(10));
    // Spoil A's second data segment, once.
    let seen = Rc::new(Cell::new(0u32));
    let count = seen.clone();
    p.rewrite_frames(
        Side::A,
        Box::new(move |f: &mut [u8]| {
            let data = f.len() > 14 + 20 + 32 + 100;
            if data {
                count.set(count.get() + 1);
                if count.get() == 2 {
                    let last = f.len() - 1;
                    f[last] ^= 0xff;
                }
            }
        }),
    );
    p.record();
    let l = p.b.tcp_open().map_err(|e| e.to_string())?;
    p.b.tcp_bind(l, SocketAddrV4::new(b_addr, 8000))
        .map_err(|e| e.to_string())?;
    p.b.tcp_listen(l, 1).map_err(|e| e.to_string())?;
    let c = p.a.tcp_open().map_err(|e| e.to_string())?;
    let _ = p.a.tcp_connect(p.now(), c, SocketAddrV4::new(b_addr, 8000));
    let data = vec![b'x'; 4000];
    let (mut sent, mut got, mut closed_b) = (0, 0, false);
    let mut s = None;
    let mut buf = vec![0u8; 8192];
    let done = p.run_until(Duration::from_secs(30), |p| {
        let now = p.now();
        s = s.or_else(|| p.b.tcp_accept(now, l).ok().map(|(h, _)| h));
        if p.a.tcp_state(c) == Ok(State::Established) && sent < data.len() {
            sent +=
                p.a.tcp_send(now, c, &data[sent..], SendFlags::default())
                    .unwrap_or(0);
            if sent == data.len() {
                let _ = p.a.close(now, c);
            }
        }
        if let Some(s) = s {
            while let Ok(n) = p.b.tcp_recv(now, s, &mut buf, RecvFlags::default()) {
                if n == 0 {
                    if !closed_b {
                        let _ = p.b.close(now, s);
                        closed_b = true;
                    }
                    break;
                }
                got += n;
            }
        }
        closed_b && p.a.tcp_time_wait_count() == 1
    });
    p.run_for(Duration::from_millis(50));
    let mut ladder = Ladder::new();
    println!("{:8}{}", "", Ladder::header(a_addr, b_addr));
    let mut lost = 0;
    for (t, side, frame) in p.trace.take().unwrap_or_default() {
        if frame.get(12..14) != Some(&[0x08, 0x00]) {
            continue; // ARP
        }
        let mut line = ladder.line(side == Side::A, &frame);
        if spoiled(&frame) {
            lost += 1;
            line = Ladder::lost(&line);
        }
        println!("{:>7.3} {line}", t.total_micros() as f64 / 1e6);
    }
    check(
        "the lost segment was sent again and B received all 4000 bytes",
        done && got == data.len() && lost == 1 && seen.get() >= 5,
        failures,
    );
    Ok(())
}
