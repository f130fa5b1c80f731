//! TCP Fast Open between two engines on virtual time: the cookie exchange,
//! data on the SYN taken before the handshake completes, and the fallbacks.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::config::StackConfig;
use crate::counters::Stat;
use crate::error::NetError;
use crate::sim::SimPair;
use crate::socket::SocketHandle;
use crate::tcp::{RecvFlags, SendFlags, State};
use crate::time::Duration;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const SERVER: SocketAddrV4 = SocketAddrV4::new(B, 8000);

/// A pair 10 ms apart whose host B listens on port 8000, with `TCP_FASTOPEN`
/// set to `queue` (0: not set).
fn pair(queue: u32) -> (SimPair, SocketHandle) {
    let mut p = SimPair::new(
        StackConfig::new(A, 24),
        StackConfig::new(B, 24),
        Duration::from_millis(5),
    );
    let l = p.b.tcp_open().unwrap();
    p.b.tcp_bind(l, SERVER).unwrap();
    p.b.tcp_listen(l, 8).unwrap();
    let mut o = p.b.socket_options(l).unwrap();
    o.fast_open = queue;
    p.b.set_socket_options(p.now(), l, o).unwrap();
    (p, l)
}

fn read_all(p: &mut SimPair, h: SocketHandle) -> Vec<u8> {
    let mut buf = [0u8; 4096];
    match p.b.tcp_recv(p.now(), h, &mut buf, RecvFlags::default()) {
        Ok(n) => buf[..n].to_vec(),
        Err(_) => Vec::new(),
    }
}

/// The first connection asks for a cookie; the next carries its data on the
/// SYN, which the server reads before the handshake completes.
#[test]
fn the_second_connection_sends_data_on_its_syn() {
    let (mut p, l) = pair(4);
    let c = p.a.tcp_open().unwrap();
    let now = p.now();
    assert_eq!(
        p.a.tcp_connect_fast_open(now, c, Some(SERVER), b"first", false),
        Err(NetError::InProgress),
        "no cookie yet: the SYN only asks for one"
    );
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.tcp_state(c)
        == Ok(State::Established)));
    assert_eq!(p.b.counters().stat(Stat::TcpFastOpenCookieSent), 1);
    assert_eq!(p.b.counters().stat(Stat::TcpFastOpenPassive), 0);
    let mut s1 = None;
    assert!(p.run_until(Duration::from_secs(1), |p| {
        s1 = p.b.tcp_accept(p.now(), l).ok().map(|(h, _)| h);
        s1.is_some()
    }));
    let s1 = s1.unwrap();
    assert!(!p.a.tcp_info(c).unwrap().unwrap().syn_data);

    let c2 = p.a.tcp_open().unwrap();
    let now = p.now();
    assert_eq!(
        p.a.tcp_connect_fast_open(now, c2, Some(SERVER), b"hello", false),
        Ok(5)
    );
    // Half a round trip later the SYN is there: the server's connection is
    // made, accepted and read before the client has even seen the SYN-ACK.
    p.run_for(Duration::from_millis(6));
    let (s2, _) = p.b.tcp_accept(p.now(), l).expect("accepted on the SYN");
    assert_eq!(p.b.tcp_state(s2), Ok(State::SynReceived));
    assert_eq!(read_all(&mut p, s2), b"hello");
    // And may answer at once.
    let now = p.now();
    assert_eq!(p.b.tcp_send(now, s2, b"world", SendFlags::default()), Ok(5));
    assert!(p.run_until(Duration::from_secs(1), |p| {
        p.a.tcp_recv_queue_len(c2) == Ok(5) && p.b.tcp_state(s2) == Ok(State::Established)
    }));
    assert!(p.a.tcp_info(c2).unwrap().unwrap().syn_data);
    assert!(p.b.tcp_info(s2).unwrap().unwrap().syn_data);
    assert_eq!(p.a.counters().stat(Stat::TcpFastOpenActive), 1);
    assert_eq!(p.b.counters().stat(Stat::TcpFastOpenPassive), 1);
    assert_eq!(p.a.counters().stat(Stat::TcpRetransmits), 0);
    for h in [s1, s2] {
        p.b.close(p.now(), h).unwrap();
    }
}

/// Without `TCP_FASTOPEN` on the listener, data on a SYN is not taken: the
/// SYN-ACK acknowledges the SYN only, and the client sends the data again.
#[test]
fn a_listener_without_the_option_ignores_syn_data() {
    let (mut p, l) = pair(4);
    // Learn a cookie first, then turn the server side off.
    let c = p.a.tcp_open().unwrap();
    let _ =
        p.a.tcp_connect_fast_open(p.now(), c, Some(SERVER), b"", false);
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.tcp_state(c)
        == Ok(State::Established)));
    let mut o = p.b.socket_options(l).unwrap();
    o.fast_open = 0;
    p.b.set_socket_options(p.now(), l, o).unwrap();

    let c2 = p.a.tcp_open().unwrap();
    assert_eq!(
        p.a.tcp_connect_fast_open(p.now(), c2, Some(SERVER), b"again", false),
        Ok(5)
    );
    let mut got = Vec::new();
    assert!(p.run_until(Duration::from_secs(2), |p| {
        if let Ok((s, _)) = p.b.tcp_accept(p.now(), l) {
            got.push(s);
        }
        got.len() == 2 && p.b.tcp_recv_queue_len(got[1]) == Ok(5)
    }));
    assert_eq!(p.b.counters().stat(Stat::TcpFastOpenPassive), 0);
    assert_eq!(p.a.counters().stat(Stat::TcpFastOpenActiveFail), 1);
    assert!(!p.a.tcp_info(c2).unwrap().unwrap().syn_data);
}

/// A wrong cookie is answered with the right one and the data is not taken;
/// a SYN lost on the way goes again without data or option.
#[test]
fn a_wrong_cookie_gets_the_right_one() {
    let (mut p, l) = pair(4);
    let c = p.a.tcp_open().unwrap();
    let _ =
        p.a.tcp_connect_fast_open(p.now(), c, Some(SERVER), b"", false);
    assert!(p.run_until(Duration::from_secs(1), |p| p.a.tcp_state(c)
        == Ok(State::Established)));
    // The server's key changes (as after a restart): the cached cookie is wrong.
    let mut b = p.b.config().clone();
    b.tcp.fast_open.key = Some([7; 16]);
    let mut p2 = SimPair::new(StackConfig::new(A, 24), b, Duration::from_millis(5));
    std::mem::swap(&mut p2.a, &mut p.a);
    let l2 = p2.b.tcp_open().unwrap();
    p2.b.tcp_bind(l2, SERVER).unwrap();
    p2.b.tcp_listen(l2, 8).unwrap();
    let mut o = p2.b.socket_options(l2).unwrap();
    o.fast_open = 4;
    p2.b.set_socket_options(p2.now(), l2, o).unwrap();
    let _ = l;

    let c2 = p2.a.tcp_open().unwrap();
    assert_eq!(
        p2.a.tcp_connect_fast_open(p2.now(), c2, Some(SERVER), b"data", false),
        Ok(4)
    );
    assert!(p2.run_until(Duration::from_secs(2), |p| p.a.tcp_state(c2)
        == Ok(State::Established)));
    assert_eq!(p2.b.counters().stat(Stat::TcpFastOpenPassiveFail), 1);
    assert_eq!(p2.b.counters().stat(Stat::TcpFastOpenPassive), 0);
    // The new cookie is kept: the next SYN's data is taken.
    let c3 = p2.a.tcp_open().unwrap();
    assert_eq!(
        p2.a.tcp_connect_fast_open(p2.now(), c3, Some(SERVER), b"more", false),
        Ok(4)
    );
    p2.run_for(Duration::from_millis(6));
    assert_eq!(p2.b.counters().stat(Stat::TcpFastOpenPassive), 1);
}
