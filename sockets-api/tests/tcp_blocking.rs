//! Blocking stream calls across threads: wake-ups by data, by `close` and
//! `shutdown` from another thread, and the `SO_RCVTIMEO`/`SO_SNDTIMEO` timeouts.
//! No assertion is about speed: timeouts only bound waits that must end, and a
//! short timeout is asserted to expire, never to be short.

mod common;
mod tcp_common;

use std::time::Duration;

use common::*;
use sockets::*;
use tcp_common::*;

#[test]
fn close_from_another_thread_wakes_a_blocked_recv() {
    let (a, b) = pair();
    let (_c, s, _l) = connected(&a, &b);
    let b2 = b.clone();
    let reader = spawn(move || {
        let mut buf = [0u8; 8];
        b2.recv(s, &mut buf, 0)
    });
    let_it_block();
    b.close(s).unwrap();
    assert_eq!(
        reader.recv_timeout(HANG).expect("recv never woke"),
        Err(Errno::EBADF)
    );
}

#[test]
fn close_from_another_thread_wakes_a_blocked_accept() {
    let (_a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let b2 = b.clone();
    let acceptor = spawn(move || b2.accept(l).map(|(fd, _)| fd));
    let_it_block();
    b.close(l).unwrap();
    assert_eq!(
        acceptor.recv_timeout(HANG).expect("accept never woke"),
        Err(Errno::EBADF)
    );
}

#[test]
fn shutdown_of_a_listener_wakes_accept_with_einval() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let b2 = b.clone();
    let acceptor = spawn(move || b2.accept(l).map(|(fd, _)| fd));
    let_it_block();
    b.shutdown(l, SHUT_RD).unwrap();
    assert_eq!(acceptor.recv_timeout(HANG).unwrap(), Err(Errno::EINVAL));
    // listen again: accepting works again.
    b.listen(l, 5).unwrap();
    let (c, s) = connect_to(&a, &b, l);
    a.write(c, b"y").unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(b.read(s, &mut buf), Ok(1));
}

#[test]
fn blocking_accept_and_recv_wake_for_a_client_thread() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let port = port(&b, l);
    let a2 = a.clone();
    let client = spawn(move || {
        let_it_block();
        let c = tcp(&a2);
        a2.connect(c, &SockAddrIn::new(B, port)).unwrap();
        let_it_block();
        a2.write(c, b"late").unwrap();
        a2.close(c).unwrap();
    });
    let (s, _) = b.accept(l).expect("accept");
    safety(&b, s);
    assert_eq!(read_to_end(&b, s), b"late");
    client.recv_timeout(HANG).unwrap();
}

#[test]
fn so_rcvtimeo_bounds_recv_and_accept() {
    let (a, b) = pair();
    let (c, s, l) = connected(&a, &b);
    let tv = TimeVal::from_duration(Duration::from_millis(50));
    b.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    b.setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(s, &mut buf, 0), Err(Errno::EWOULDBLOCK));
    assert_eq!(b.recv(s, &mut buf, MSG_WAITALL), Err(Errno::EWOULDBLOCK));
    assert_eq!(b.accept(l), Err(Errno::EWOULDBLOCK));
    // With some data, MSG_WAITALL returns what came before the timeout.
    a.write(c, b"abc").unwrap();
    wait_acked(&a, c);
    assert_eq!(b.recv(s, &mut buf, MSG_WAITALL), Ok(3));
    // Data beats the timeout.
    let tv = TimeVal::from_duration(HANG);
    b.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    let b2 = b.clone();
    let reader = spawn(move || {
        let mut buf = [0u8; 8];
        b2.recv(s, &mut buf, 0).map(|n| buf[..n].to_vec())
    });
    let_it_block();
    a.write(c, b"now").unwrap();
    assert_eq!(reader.recv_timeout(HANG).unwrap(), Ok(b"now".to_vec()));
}

#[test]
fn a_blocking_send_waits_for_room_and_so_sndtimeo_gives_a_partial_count() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    // Much more than the buffers hold: a blocking send waits until the reader
    // makes room, then returns the whole count.
    let data = pattern(3 << 20, 9);
    let b2 = b.clone();
    let reader = spawn(move || {
        let_it_block();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65536];
        while got.len() < 3 << 20 {
            match b2.read(s, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    });
    assert_eq!(a.write(c, &data), Ok(data.len()));
    assert!(reader.recv_timeout(HANG).unwrap() == data);

    // Nobody reads now: SO_SNDTIMEO ends the send with what was queued (more
    // than the receive buffer's autotuning limit and the send buffer hold).
    let tv = TimeVal::from_duration(Duration::from_millis(100));
    a.setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv).unwrap();
    let more = pattern(16 << 20, 3);
    let n = a.write(c, &more).expect("a partial count");
    assert!(n > 0 && n < more.len(), "partial send of {n}");
    assert_eq!(a.write(c, &more), Err(Errno::EWOULDBLOCK), "still full");
}

#[test]
fn close_from_another_thread_wakes_a_blocked_send_and_connect() {
    let (a, b) = pair();
    let (c, _s, _l) = connected(&a, &b);
    let a2 = a.clone();
    let writer = spawn(move || a2.write(c, &vec![1u8; 8 << 20]));
    let_it_block();
    a.close(c).unwrap();
    // Some bytes were queued before the close: the count, as Linux returns
    // after an interruption; or EBADF if none were.
    match writer.recv_timeout(HANG).expect("send never woke") {
        Ok(n) => assert!(n > 0 && n < 8 << 20),
        Err(e) => assert_eq!(e, Errno::EBADF),
    }

    let c = tcp(&a);
    let a2 = a.clone();
    let connector = spawn(move || a2.connect(c, &SockAddrIn::new(NOBODY, 80)));
    let_it_block();
    a.close(c).unwrap();
    assert_eq!(
        connector.recv_timeout(HANG).expect("connect never woke"),
        Err(Errno::EBADF)
    );
}

#[test]
fn select_and_poll_wake_for_a_connection_data_and_hangup() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let port = port(&b, l);
    let a2 = a.clone();
    let client = spawn(move || {
        let_it_block();
        let c = tcp(&a2);
        a2.connect(c, &SockAddrIn::new(B, port)).unwrap();
        c
    });
    let mut r = FdSet::new();
    r.insert(l);
    assert_eq!(b.select(l + 1, Some(&mut r), None, None, None), Ok(1));
    let (s, _) = b.accept(l).unwrap();
    let c = client.recv_timeout(HANG).unwrap();
    let a2 = a.clone();
    let closer = spawn(move || {
        let_it_block();
        a2.write(c, b"bye").unwrap();
        a2.close(c).unwrap();
    });
    let mut p = [PollFd::new(s, POLLIN | POLLRDHUP)];
    assert_eq!(b.poll(&mut p, -1), Ok(1));
    assert_ne!(p[0].revents & POLLIN, 0);
    closer.recv_timeout(HANG).unwrap();
    wait_until("POLLRDHUP after the peer's FIN", || {
        revents(&b, s, POLLRDHUP) & POLLRDHUP != 0
    });
    safety(&b, s);
    assert_eq!(read_to_end(&b, s), b"bye");
}
