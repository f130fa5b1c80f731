//! Blocking calls, select and poll across threads. No assertion is about speed:
//! timeouts only bound waits that must end, and a 50 ms timeout is asserted to
//! expire, never to be short.

mod common;

use std::net::Ipv4Addr;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::*;
use sockets::*;

const ANY: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
/// Bounds a wait that must end, so a broken wake-up fails the test instead of
/// hanging it.
const HANG: Duration = Duration::from_secs(20);

/// Runs `f` on a thread; returns a receiver of its result.
fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// Gives a spawned thread a moment to reach its blocking call. Correctness does
/// not depend on it: the tests pass whether the thread blocked first or not.
fn let_it_block() {
    thread::sleep(Duration::from_millis(30));
}

#[test]
fn blocking_recvfrom_waits_for_a_datagram_from_another_thread() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7000);
    let b2 = b.clone();
    let got = spawn(move || {
        let mut buf = [0u8; 32];
        b2.recvfrom(rx, &mut buf, 0)
            .map(|(n, from)| (buf[..n].to_vec(), from.ip()))
    });
    let_it_block();
    send_once(&a, b"wake up", SockAddrIn::new(B, 7000));
    assert_eq!(
        got.recv_timeout(HANG).expect("recvfrom never returned"),
        Ok((b"wake up".to_vec(), A))
    );
}

#[test]
fn close_from_another_thread_wakes_a_blocked_recvfrom_with_ebadf() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7001);
    let b2 = b.clone();
    let got = spawn(move || {
        let mut buf = [0u8; 8];
        b2.recvfrom(rx, &mut buf, 0).map(|(n, _)| n)
    });
    let_it_block();
    b.close(rx).unwrap();
    assert_eq!(
        got.recv_timeout(HANG).expect("close did not wake recvfrom"),
        Err(Errno::EBADF)
    );
    // The port was released and the stack still works.
    bound(&b, ANY, 7001);
    assert_exchange_works(&a, &b);
}

#[test]
fn closing_one_of_two_descriptors_wakes_only_its_own_waiter() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7002);
    let other = b.dup(rx).unwrap();
    let b2 = b.clone();
    let on_closed = spawn(move || b2.recv(rx, &mut [0u8; 8], 0));
    let b3 = b.clone();
    let on_other = spawn(move || {
        let mut buf = [0u8; 8];
        b3.recv(other, &mut buf, 0).map(|n| buf[..n].to_vec())
    });
    let_it_block();
    b.close(rx).unwrap();
    assert_eq!(
        on_closed.recv_timeout(HANG).expect("not woken"),
        Err(Errno::EBADF)
    );
    // The socket is still open through the other descriptor, whose reader still
    // waits and gets the next datagram.
    send_once(&a, b"for dup", SockAddrIn::new(B, 7002));
    assert_eq!(
        on_other.recv_timeout(HANG).expect("not woken"),
        Ok(b"for dup".to_vec())
    );
}

#[test]
fn a_reused_descriptor_number_does_not_confuse_a_woken_waiter() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7003);
    let b2 = b.clone();
    let got = spawn(move || b2.recv(rx, &mut [0u8; 8], 0));
    let_it_block();
    // Close and immediately reopen: the new socket gets the same number.
    b.close(rx).unwrap();
    let again = bound(&b, ANY, 7004);
    assert_eq!(again, rx);
    assert_eq!(
        got.recv_timeout(HANG).expect("not woken"),
        Err(Errno::EBADF)
    );
    assert_exchange_works(&a, &b);
}

#[test]
fn shutdown_rd_from_another_thread_wakes_a_blocked_reader_with_eof() {
    let (_a, b) = pair();
    let rx = bound(&b, ANY, 7005);
    let b2 = b.clone();
    let got = spawn(move || b2.recv(rx, &mut [0u8; 8], 0));
    let_it_block();
    assert_eq!(
        b.shutdown(rx, SHUT_RD),
        Err(Errno::ENOTCONN),
        "Linux reports it, and does it"
    );
    assert_eq!(
        got.recv_timeout(HANG).expect("shutdown did not wake recv"),
        Ok(0)
    );
}

#[test]
fn so_rcvtimeo_expires_on_a_blocking_socket_and_data_beats_it() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7006);
    let tv = TimeVal {
        tv_sec: 0,
        tv_usec: 50_000,
    };
    b.setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(rx, &mut buf, 0), Err(Errno::EWOULDBLOCK));
    // With a long timeout, a datagram from another thread arrives first.
    b.setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &TimeVal::from_duration(HANG))
        .unwrap();
    let a2 = a.clone();
    let sender = spawn(move || {
        let_it_block();
        send_once(&a2, b"in time", SockAddrIn::new(B, 7006));
    });
    assert_eq!(b.recv(rx, &mut buf, 0), Ok(7));
    sender.recv().unwrap();
}

#[test]
fn msg_dontwait_never_waits_even_on_a_blocking_socket() {
    let (a, b) = pair();
    let rx = bound(&b, ANY, 7007);
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(rx, &mut buf, MSG_DONTWAIT), Err(Errno::EWOULDBLOCK));
    assert_eq!(
        b.fcntl(rx, F_GETFL, 0),
        Ok(O_RDWR),
        "the socket itself stays blocking"
    );
    send_once(&a, b"now", SockAddrIn::new(B, 7007));
    safety_timeout(&b, rx);
    assert_eq!(b.recv(rx, &mut buf, MSG_PEEK), Ok(3));
    assert_eq!(b.recv(rx, &mut buf, MSG_DONTWAIT), Ok(3));
}

// ---------------------------------------------------------------- select

#[test]
fn select_times_out_with_zero_and_empties_the_sets() {
    let (_a, b) = pair();
    let rx = bound(&b, ANY, 7100);
    let mut r = FdSet::new();
    FD_SET(rx, &mut r);
    assert_eq!(
        b.select(
            rx + 1,
            Some(&mut r),
            None,
            None,
            Some(Duration::from_millis(50))
        ),
        Ok(0)
    );
    assert!(!FD_ISSET(rx, &r), "select rewrote the set");
    FD_SET(rx, &mut r);
    assert_eq!(
        b.select(rx + 1, Some(&mut r), None, None, Some(Duration::ZERO)),
        Ok(0),
        "zero timeout polls"
    );
    // nfds limits what is looked at: rx is writable, but beyond nfds.
    FD_SET(rx, &mut r);
    let mut w = r;
    assert_eq!(
        b.select(rx, Some(&mut r), Some(&mut w), None, Some(Duration::ZERO)),
        Ok(0)
    );
    assert!(r.is_empty() && w.is_empty());
}

#[test]
fn select_returns_the_socket_that_became_readable() {
    let (a, b) = pair();
    let socks = [
        bound(&b, ANY, 7101),
        bound(&b, ANY, 7102),
        bound(&b, ANY, 7103),
    ];
    let nfds = socks.iter().max().unwrap() + 1;
    let a2 = a.clone();
    let sender = spawn(move || {
        let_it_block();
        send_once(&a2, b"second", SockAddrIn::new(B, 7102));
    });
    let mut r = FdSet::new();
    let mut e = FdSet::new();
    for &s in &socks {
        FD_SET(s, &mut r);
        FD_SET(s, &mut e);
    }
    // No timeout: blocks until the datagram arrives.
    assert_eq!(
        b.select(nfds, Some(&mut r), None, Some(&mut e), None),
        Ok(1)
    );
    assert_eq!(r.iter().collect::<Vec<_>>(), vec![socks[1]]);
    assert!(e.is_empty(), "no urgent data on UDP");
    sender.recv().unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(socks[1], &mut buf, MSG_DONTWAIT), Ok(6));

    // Read and write sets together: every UDP socket is writable; each ready
    // descriptor counts once per set.
    send_once(&a, b"first", SockAddrIn::new(B, 7101));
    safety_timeout(&b, socks[0]);
    assert_eq!(
        b.recv(socks[0], &mut buf, MSG_PEEK),
        Ok(5),
        "wait for it to arrive"
    );
    let mut r = FdSet::new();
    let mut w = FdSet::new();
    for &s in &socks {
        FD_SET(s, &mut r);
        FD_SET(s, &mut w);
    }
    assert_eq!(
        b.select(nfds, Some(&mut r), Some(&mut w), None, Some(Duration::ZERO)),
        Ok(4),
        "one readable + three writable"
    );
    assert_eq!(r.iter().collect::<Vec<_>>(), vec![socks[0]]);
    assert_eq!(w.iter().collect::<Vec<_>>(), socks.to_vec());
}

#[test]
fn select_on_a_descriptor_closed_by_another_thread_gives_ebadf() {
    let (_a, b) = pair();
    let rx = bound(&b, ANY, 7104);
    let b2 = b.clone();
    let got = spawn(move || {
        let mut r = FdSet::new();
        FD_SET(rx, &mut r);
        b2.select(rx + 1, Some(&mut r), None, None, None)
    });
    let_it_block();
    b.close(rx).unwrap();
    assert_eq!(
        got.recv_timeout(HANG).expect("close did not wake select"),
        Err(Errno::EBADF)
    );
}

// ---------------------------------------------------------------- poll

#[test]
fn poll_times_out_reports_writable_and_wakes_on_data() {
    let (a, b) = pair();
    let s1 = bound(&b, ANY, 7200);
    let s2 = bound(&b, ANY, 7201);
    let mut p = [
        PollFd::new(s1, POLLIN),
        PollFd::new(s2, POLLIN),
        PollFd::new(-1, POLLIN),
    ];
    assert_eq!(b.poll(&mut p, 50), Ok(0));
    assert!(p.iter().all(|p| p.revents == 0));
    assert_eq!(b.poll(&mut p, 0), Ok(0));
    let mut w = [PollFd::new(s1, POLLOUT | POLLIN)];
    assert_eq!(b.poll(&mut w, -1), Ok(1));
    assert_eq!(w[0].revents, POLLOUT);

    let a2 = a.clone();
    let sender = spawn(move || {
        let_it_block();
        send_once(&a2, b"two", SockAddrIn::new(B, 7201));
    });
    assert_eq!(b.poll(&mut p, -1), Ok(1));
    assert_eq!([p[0].revents, p[1].revents, p[2].revents], [0, POLLIN, 0]);
    sender.recv().unwrap();

    // A closed descriptor is POLLNVAL, reported without being asked for.
    b.close(s1).unwrap();
    let mut p = [PollFd::new(s1, 0), PollFd::new(s2, POLLIN)];
    assert_eq!(b.poll(&mut p, -1), Ok(2));
    assert_eq!([p[0].revents, p[1].revents], [POLLNVAL, POLLIN]);
}

#[test]
fn poll_reports_pollerr_for_a_refused_connected_socket() {
    let (a, _b) = pair();
    let c = udp(&a);
    a.connect(c, &SockAddrIn::new(B, 9)).unwrap();
    a.send(c, b"x", 0).unwrap();
    let mut p = [PollFd::new(c, 0)];
    assert_eq!(a.poll(&mut p, HANG.as_millis() as i32), Ok(1));
    assert_eq!(
        p[0].revents, POLLERR,
        "POLLERR is reported even when not asked for"
    );
    let mut err = 0;
    a.getsockopt(c, SOL_SOCKET, SO_ERROR, &mut err).unwrap();
    assert_eq!(Errno(err), Errno::ECONNREFUSED);
}

#[test]
fn many_threads_share_one_stack() {
    let (a, b) = pair();
    // Resolve ARP first: datagrams queued while it resolves may be dropped beyond
    // the pending queue's bound, as in any stack.
    assert_exchange_works(&a, &b);
    let rx = bound(&b, ANY, 7300);
    safety_timeout(&b, rx);
    let senders: Vec<_> = (0..4u8)
        .map(|t| {
            let a = a.clone();
            spawn(move || {
                let s = udp(&a);
                for i in 0..25u8 {
                    a.sendto(s, &[t, i], 0, &SockAddrIn::new(B, 7300)).unwrap();
                }
                a.close(s).unwrap();
            })
        })
        .collect();
    let mut seen = [[false; 25]; 4];
    for _ in 0..100 {
        let mut buf = [0u8; 2];
        assert_eq!(b.recv(rx, &mut buf, 0), Ok(2));
        seen[buf[0] as usize][buf[1] as usize] = true;
    }
    assert!(seen.iter().all(|s| s.iter().all(|x| *x)));
    for s in senders {
        s.recv().unwrap();
    }
}
