//! Listeners on virtual time: the backlog (the 4.2BSD primer's rule), the SYN
//! queue apart from it, and SYN cookies when the SYN queue is full.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::config::StackConfig;
use crate::counters::{DropReason, Stat};
use crate::sim::SimPair;
use crate::socket::SocketHandle;
use crate::tcp::{RecvFlags, SendFlags, State};
use crate::time::Duration;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// A pair whose host B has room for `syn_queue` half-open connections per
/// listener, with SYN cookies on or off.
fn pair(syn_queue: usize, cookies: bool) -> SimPair {
    let mut b = StackConfig::new(B, 24);
    b.tcp.max_syn_backlog = syn_queue;
    b.tcp.syn_cookies = cookies;
    SimPair::new(StackConfig::new(A, 24), b, Duration::from_micros(100))
}

fn listen(p: &mut SimPair, backlog: i32) -> SocketHandle {
    let l = p.b.tcp_open().unwrap();
    p.b.tcp_bind(l, sa(Ipv4Addr::UNSPECIFIED, 80)).unwrap_err(); // reserved port
    p.b.tcp_bind(l, sa(Ipv4Addr::UNSPECIFIED, 8000)).unwrap();
    p.b.tcp_listen(l, backlog).unwrap();
    l
}

fn connect(p: &mut SimPair) -> SocketHandle {
    let c = p.a.tcp_open().unwrap();
    let _ = p.a.tcp_connect(p.now(), c, sa(B, 8000));
    c
}

fn established(p: &SimPair, clients: &[SocketHandle]) -> usize {
    clients
        .iter()
        .filter(|&&c| p.a.tcp_state(c).unwrap() == State::Established)
        .count()
}

/// Accepts until `n` connections came out of `l`.
fn accept_all(p: &mut SimPair, l: SocketHandle, n: usize) -> Vec<SocketHandle> {
    let mut accepted = Vec::new();
    assert!(p.run_until(Duration::from_secs(60), |p| {
        while let Ok((h, _)) = p.b.tcp_accept(p.now(), l) {
            accepted.push(h);
        }
        accepted.len() == n
    }));
    accepted
}

/// Closes everything and checks nothing leaks.
fn close_all(
    p: &mut SimPair,
    clients: Vec<SocketHandle>,
    servers: Vec<SocketHandle>,
    l: SocketHandle,
) {
    for c in clients {
        p.a.close(p.now(), c).unwrap();
    }
    for h in servers {
        let mut buf = [0u8; 4];
        p.run_until(Duration::from_secs(1), |p| {
            p.b.tcp_recv(p.now(), h, &mut buf, RecvFlags::default()) == Ok(0)
        });
        p.b.close(p.now(), h).unwrap();
    }
    p.b.close(p.now(), l).unwrap();
    p.run_for(Duration::from_secs(120));
    assert_eq!(p.a.socket_count(), 0);
    assert_eq!(p.b.socket_count(), 0);
    assert!(p.a.tcp_tables_empty() && p.b.tcp_tables_empty());
}

#[test]
fn a_full_accept_queue_ignores_syns_until_accept_makes_room() {
    let mut p = pair(256, true);
    let l = listen(&mut p, 2);
    // Two connect and wait for accept; three more arrive after them.
    let mut clients = vec![connect(&mut p), connect(&mut p)];
    p.run_for(Duration::from_millis(10));
    assert_eq!(established(&p, &clients), 2);
    clients.extend((0..3).map(|_| connect(&mut p)));
    p.run_for(Duration::from_millis(500));
    assert_eq!(established(&p, &clients), 2);
    assert_eq!(
        p.b.counters().stat(Stat::TcpRstSent),
        0,
        "ignored, not refused"
    );
    assert_eq!(p.b.counters().drops(DropReason::TcpAcceptQueueFull), 3);
    // Accept everything, as fast as connections arrive: the retransmitted SYNs
    // (1 s, 3 s, ...) get through.
    let accepted = accept_all(&mut p, l, 5);
    assert_eq!(established(&p, &clients), 5);
    assert_eq!(p.b.counters().stat(Stat::TcpSynCookiesSent), 0);
    close_all(&mut p, clients, accepted, l);
}

#[test]
fn half_open_connections_do_not_count_against_the_backlog() {
    let mut p = pair(256, true);
    let l = listen(&mut p, 2);
    // Five SYNs at once: all five are answered (the accept queue is empty when
    // they arrive). Two handshakes complete into the accept queue; the other
    // three ACKs find it full and are ignored, and those connections wait in
    // SYN-RECEIVED until accept makes room and their SYN-ACK is repeated.
    let clients: Vec<_> = (0..5).map(|_| connect(&mut p)).collect();
    p.run_for(Duration::from_millis(500));
    assert_eq!(established(&p, &clients), 5, "every client saw a SYN-ACK");
    assert_eq!(p.b.counters().drops(DropReason::TcpAcceptQueueFull), 3);
    assert_eq!(p.b.counters().stat(Stat::TcpEstablished), 2);
    let accepted = accept_all(&mut p, l, 5);
    assert_eq!(p.b.counters().stat(Stat::TcpEstablished), 5);
    assert_eq!(p.b.counters().stat(Stat::TcpRstSent), 0);
    close_all(&mut p, clients, accepted, l);
}

#[test]
fn a_full_syn_queue_answers_with_cookies_that_make_whole_connections() {
    let mut p = pair(1, true);
    let l = listen(&mut p, 8);
    let clients: Vec<_> = (0..3).map(|_| connect(&mut p)).collect();
    let accepted = accept_all(&mut p, l, 3);
    assert_eq!(established(&p, &clients), 3);
    let c = p.b.counters();
    assert_eq!(c.stat(Stat::TcpSynCookiesSent), 2, "{c:?}");
    assert_eq!(c.stat(Stat::TcpSynCookiesValidated), 2, "{c:?}");
    assert_eq!(c.drops(DropReason::TcpSynQueueFull), 0);
    // The cookie carried the options: window scale, SACK, timestamps, MSS.
    for &h in &accepted {
        let info = p.b.tcp_info(h).unwrap().unwrap();
        assert!(info.sack && info.timestamps, "{info:?}");
        assert!(
            info.snd_wscale.is_some() && info.rcv_wscale.is_some(),
            "{info:?}"
        );
        assert_eq!(info.mss, 1460 - 12, "{info:?}");
    }
    // And data flows both ways on every connection.
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for (&c, &s) in clients.iter().zip(&accepted) {
        let mut sent = 0;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        assert!(p.run_until(Duration::from_secs(60), |p| {
            let now = p.now();
            if sent < data.len() {
                sent +=
                    p.a.tcp_send(now, c, &data[sent..], SendFlags::default())
                        .unwrap_or(0);
            }
            while let Ok(n) = p.b.tcp_recv(now, s, &mut buf, RecvFlags::default()) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            got.len() == data.len()
        }));
        assert_eq!(got, data);
        assert_eq!(
            p.b.tcp_send(p.now(), s, b"back", SendFlags::default()),
            Ok(4)
        );
        let mut back = [0u8; 4];
        assert!(p.run_until(Duration::from_secs(5), |p| {
            p.a.tcp_recv(p.now(), c, &mut back, RecvFlags::default()) == Ok(4)
        }));
        assert_eq!(&back, b"back");
    }
    close_all(&mut p, clients, accepted, l);
}

#[test]
fn without_timestamps_a_cookie_connection_has_no_window_scale_or_sack() {
    let mut a = StackConfig::new(A, 24);
    a.tcp.timestamps = false;
    let mut b = StackConfig::new(B, 24);
    b.tcp.max_syn_backlog = 0;
    let mut p = SimPair::new(a, b, Duration::from_micros(100));
    let l = listen(&mut p, 8);
    let clients = vec![connect(&mut p)];
    let accepted = accept_all(&mut p, l, 1);
    assert_eq!(p.b.counters().stat(Stat::TcpSynCookiesValidated), 1);
    let info = p.b.tcp_info(accepted[0]).unwrap().unwrap();
    assert!(!info.sack && !info.timestamps, "{info:?}");
    assert_eq!((info.snd_wscale, info.rcv_wscale), (None, None), "{info:?}");
    let client = p.a.tcp_info(clients[0]).unwrap().unwrap();
    assert_eq!(
        (client.snd_wscale, client.rcv_wscale),
        (None, None),
        "{client:?}"
    );
    close_all(&mut p, clients, accepted, l);
}

#[test]
fn with_cookies_off_a_full_syn_queue_drops_syns() {
    let mut p = pair(1, false);
    let l = listen(&mut p, 8);
    let clients: Vec<_> = (0..3).map(|_| connect(&mut p)).collect();
    p.run_for(Duration::from_millis(500));
    assert_eq!(established(&p, &clients), 1);
    assert_eq!(p.b.counters().drops(DropReason::TcpSynQueueFull), 2);
    assert_eq!(p.b.counters().stat(Stat::TcpSynCookiesSent), 0);
    // Their retransmitted SYNs get in one by one.
    let accepted = accept_all(&mut p, l, 3);
    close_all(&mut p, clients, accepted, l);
}

#[test]
fn a_cookie_ack_with_the_accept_queue_full_waits_for_room() {
    let mut p = pair(0, true);
    let l = listen(&mut p, 1);
    // Both SYNs find the accept queue empty and get cookies; the first ACK fills
    // the accept queue, so the second is ignored (not refused).
    let first = connect(&mut p);
    let second = connect(&mut p);
    p.run_for(Duration::from_millis(10));
    assert_eq!(established(&p, &[first, second]), 2);
    assert_eq!(p.b.counters().stat(Stat::TcpSynCookiesValidated), 1);
    assert_eq!(p.b.counters().drops(DropReason::TcpAcceptQueueFull), 1);
    assert_eq!(p.b.counters().stat(Stat::TcpRstSent), 0);
    // The second client speaks; its data, retransmitted until the accept queue
    // has room, carries the cookie again and makes the connection.
    assert_eq!(
        p.a.tcp_send(p.now(), second, b"hi", SendFlags::default()),
        Ok(2)
    );
    p.run_for(Duration::from_millis(100));
    assert!(p.b.counters().drops(DropReason::TcpAcceptQueueFull) >= 2);
    let mut accepted = accept_all(&mut p, l, 1);
    accepted.extend(accept_all(&mut p, l, 1));
    let mut buf = [0u8; 2];
    assert!(p.run_until(Duration::from_secs(5), |p| {
        p.b.tcp_recv(p.now(), accepted[1], &mut buf, RecvFlags::default()) == Ok(2)
    }));
    assert_eq!(&buf, b"hi");
    assert_eq!(p.b.counters().stat(Stat::TcpSynCookiesValidated), 2);
    close_all(&mut p, vec![first, second], accepted, l);
}
