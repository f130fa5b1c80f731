//! The BSD face on stream sockets: the 4.4BSD tutorial's programs, connection
//! establishment and its errors, data transfer flags, half-close, resets, options,
//! and bad input. Each test names the behaviour it pins (Linux's answers).

// The tests build addresses field by field, as the C programs they mirror do.
#![allow(clippy::field_reassign_with_default)]

mod common;
mod tcp_common;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use sockets::*;
use tcp_common::*;

// ---------------------------------------------------------------- the tutorial

/// Figure 7a, "Initiating an Internet domain stream connection", translated line
/// by line; returns what C's `perror` would have printed, if anything.
fn figure_7a(s: &Stack, host: Ipv4Addr, port: u16) -> Result<(), String> {
    const DATA: &[u8] = b"Half a league, half a league . . .\0";
    /* Create socket */
    let sock = s
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(|e| perror_text("opening stream socket", e))?;
    /* Connect socket using name specified by command line. */
    let mut server = SockAddrIn::default();
    server.sin_family = AF_INET as u16;
    server.sin_addr = InAddr::from(host); // bcopy(hp->h_addr, &server.sin_addr, ...)
    server.sin_port = htons(port);
    if let Err(e) = s.connect(sock, &server) {
        return Err(perror_text("connecting stream socket", e));
    }
    if let Err(e) = s.write(sock, DATA) {
        return Err(perror_text("writing on stream socket", e));
    }
    s.close(sock).map_err(|e| perror_text("close", e))
}

#[test]
fn figure_7a_writers_and_figure_7b_accept_loop() {
    let (a, b) = pair();
    /* Create socket */
    let sock = b.socket(AF_INET, SOCK_STREAM, 0).unwrap();
    /* Name socket using wildcards */
    let mut server = SockAddrIn::default();
    server.sin_family = AF_INET as u16;
    server.sin_addr.s_addr = INADDR_ANY;
    server.sin_port = 0;
    b.bind(sock, &server).unwrap();
    /* Find out assigned port number and print it out */
    let server = b.getsockname(sock).unwrap();
    let port = ntohs(server.sin_port);
    assert!((32768..=60999).contains(&port), "Socket has port {port}");
    /* Start accepting connections */
    b.listen(sock, 5).unwrap();

    let a2 = a.clone();
    let writers = spawn(move || (0..2).map(|_| figure_7a(&a2, B, port)).collect::<Vec<_>>());
    let mut transcript = Vec::new();
    // "do { ... } while (TRUE)": two connections here.
    for _ in 0..2 {
        let msgsock = b.accept(sock).map(|(fd, _)| fd).expect("accept");
        safety(&b, msgsock);
        loop {
            let mut buf = [0u8; 1024]; // bzero(buf, sizeof(buf))
            let rval = b.read(msgsock, &mut buf).expect("reading stream message");
            if rval == 0 {
                transcript.push("Ending connection".to_string());
                break;
            }
            let text = buf.split(|&c| c == 0).next().unwrap_or_default();
            transcript.push(format!("-->{}", String::from_utf8_lossy(text)));
        }
        b.close(msgsock).unwrap();
    }
    assert_eq!(
        writers.recv_timeout(HANG).unwrap(),
        vec![Ok(()), Ok(())],
        "both writers ran without an error"
    );
    assert_eq!(
        transcript,
        [
            "-->Half a league, half a league . . .",
            "Ending connection",
            "-->Half a league, half a league . . .",
            "Ending connection",
        ]
    );
    b.close(sock).unwrap();
}

/// Figure 7c: `select` says when a connection waits, so `accept` never blocks.
#[test]
fn figure_7c_select_before_accept() {
    let (a, b) = pair();
    let sock = listener_on(&b, 0, 5);
    let port = port(&b, sock);
    let mut transcript = Vec::new();
    let mut a_client = None;
    while transcript.len() < 3 {
        let mut ready = FdSet::new();
        FD_ZERO(&mut ready);
        FD_SET(sock, &mut ready);
        let to = if a_client.is_none() {
            Duration::ZERO // nobody is connecting yet
        } else {
            Duration::from_secs(5)
        };
        b.select(sock + 1, Some(&mut ready), None, None, Some(to))
            .expect("select");
        if FD_ISSET(sock, &ready) {
            let (msgsock, _) = b.accept(sock).expect("accept");
            safety(&b, msgsock);
            loop {
                let mut buf = [0u8; 1024];
                let rval = b.read(msgsock, &mut buf).expect("reading stream message");
                if rval == 0 {
                    transcript.push("Ending connection".to_string());
                    break;
                }
                let text = buf.split(|&c| c == 0).next().unwrap_or_default();
                transcript.push(format!("-->{}", String::from_utf8_lossy(text)));
            }
            b.close(msgsock).unwrap();
        } else {
            transcript.push("Do something else".to_string());
            let a2 = a.clone();
            a_client = Some(spawn(move || figure_7a(&a2, B, port)));
        }
    }
    assert_eq!(a_client.unwrap().recv_timeout(HANG).unwrap(), Ok(()));
    assert_eq!(
        transcript,
        [
            "Do something else",
            "-->Half a league, half a league . . .",
            "Ending connection",
        ]
    );
}

#[test]
fn echo_server_and_client_with_bsd_calls() {
    let (a, b) = pair();
    let l = listener_on(&b, 7007, 5);
    let b2 = b.clone();
    let server = spawn(move || {
        let (s, _) = b2.accept(l).unwrap();
        let mut buf = [0u8; 512];
        let mut echoed = 0;
        loop {
            match b2.recv(s, &mut buf, 0) {
                Ok(0) => break,
                Ok(n) => {
                    assert_eq!(b2.send(s, &buf[..n], 0), Ok(n));
                    echoed += n;
                }
                Err(e) => panic!("server recv: {e:?}"),
            }
        }
        b2.close(s).unwrap();
        echoed
    });
    let c = tcp(&a);
    safety(&a, c);
    a.connect(c, &SockAddrIn::new(B, 7007)).unwrap();
    assert_eq!(a.getpeername(c), Ok(SockAddrIn::new(B, 7007)));
    let local = a.getsockname(c).unwrap();
    assert_eq!(local.ip(), A, "connect binds the stack's address");
    assert!(local.port() >= 32768);
    for line in ["one", "two, longer", "three"] {
        assert_eq!(a.write(c, line.as_bytes()), Ok(line.len()));
        let mut buf = [0u8; 64];
        let echo = &mut buf[..line.len()];
        assert_eq!(a.recv(c, echo, MSG_WAITALL), Ok(line.len()));
        assert_eq!(echo, line.as_bytes());
    }
    a.shutdown(c, SHUT_WR).unwrap();
    assert_eq!(server.recv_timeout(HANG).unwrap(), 3 + 11 + 5);
    let mut buf = [0u8; 8];
    assert_eq!(a.read(c, &mut buf), Ok(0), "the server closed");
    a.close(c).unwrap();
}

// ---------------------------------------------------------------- connect

#[test]
fn non_blocking_connect_select_writable_and_so_error() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let c = a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    let to = SockAddrIn::new(B, port(&b, l));
    assert_eq!(a.connect(c, &to), Err(Errno::EINPROGRESS));
    assert_eq!(errno(), Errno::EINPROGRESS);
    let mut w = FdSet::new();
    w.insert(c);
    assert_eq!(a.select(c + 1, None, Some(&mut w), None, Some(HANG)), Ok(1));
    assert!(w.contains(c));
    let mut err = -1;
    assert_eq!(a.getsockopt(c, SOL_SOCKET, SO_ERROR, &mut err), Ok(4));
    assert_eq!(err, 0, "connected");
    // Linux: the first connect after completion says 0, later ones EISCONN.
    assert_eq!(a.connect(c, &to), Ok(()));
    assert_eq!(a.connect(c, &to), Err(Errno::EISCONN));
    assert!(a.getpeername(c).is_ok());

    // Refused, non-blocking: writable, then SO_ERROR says why (once).
    let r = a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    assert_eq!(
        a.connect(r, &SockAddrIn::new(B, 9)),
        Err(Errno::EINPROGRESS)
    );
    let mut p = [PollFd::new(r, POLLOUT)];
    assert_eq!(a.poll(&mut p, HANG.as_millis() as i32), Ok(1));
    assert_ne!(p[0].revents & (POLLOUT | POLLERR), 0);
    a.getsockopt(r, SOL_SOCKET, SO_ERROR, &mut err).unwrap();
    assert_eq!(Errno(err), Errno::ECONNREFUSED);
    a.getsockopt(r, SOL_SOCKET, SO_ERROR, &mut err).unwrap();
    assert_eq!(err, 0, "SO_ERROR clears the error");
    assert_eq!(a.getpeername(r), Err(Errno::ENOTCONN));
}

#[test]
fn connect_in_progress_is_ealready_and_a_silent_host_is_ehostunreach() {
    let (a, _b) = pair();
    let c = a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
    let nobody = SockAddrIn::new(NOBODY, 80);
    assert_eq!(a.connect(c, &nobody), Err(Errno::EINPROGRESS));
    assert_eq!(a.connect(c, &nobody), Err(Errno::EALREADY));
    assert_eq!(a.getpeername(c), Err(Errno::ENOTCONN));
    assert_eq!(
        a.listen(c, 5),
        Err(Errno::EINVAL),
        "connecting sockets cannot listen"
    );
    // Blocking now: the same connect waits for the outcome (no ARP answer).
    let mut off = 0;
    a.ioctl(c, FIONBIO, &mut off).unwrap();
    assert_eq!(a.connect(c, &nobody), Err(Errno::EHOSTUNREACH));
    a.close(c).unwrap();
}

#[test]
fn blocking_connect_errors() {
    let (a, b) = pair();
    let c = tcp(&a);
    assert_eq!(
        a.connect(c, &SockAddrIn::new(B, 9)),
        Err(Errno::ECONNREFUSED)
    );
    assert_eq!(errno(), Errno::ECONNREFUSED);
    let mut err = -1;
    a.getsockopt(c, SOL_SOCKET, SO_ERROR, &mut err).unwrap();
    assert_eq!(err, 0, "the blocking connect reported the error already");
    // The socket is spent (a departure: Linux would let it connect again).
    assert_eq!(a.connect(c, &SockAddrIn::new(B, 9)), Err(Errno::EINVAL));
    assert_eq!(a.listen(c, 5), Err(Errno::EINVAL));
    let mut buf = [0u8; 4];
    assert_eq!(
        a.read(c, &mut buf),
        Ok(0),
        "as Linux after a refused connect"
    );
    assert_eq!(a.send(c, b"x", MSG_NOSIGNAL), Err(Errno::EPIPE));
    assert_eq!(a.getpeername(c), Err(Errno::ENOTCONN));
    // No route: at once.
    let c = tcp(&a);
    assert_eq!(
        a.connect(c, &SockAddrIn::new(Ipv4Addr::new(192, 168, 7, 1), 80)),
        Err(Errno::ENETUNREACH)
    );
    // Port 0: refused, as Linux.
    let c = tcp(&a);
    assert_eq!(
        a.connect(c, &SockAddrIn::new(B, 0)),
        Err(Errno::ECONNREFUSED)
    );
    // Another family.
    let c = tcp(&a);
    let mut six = SockAddrIn::new(B, 80);
    six.sin_family = AF_INET6 as u16;
    assert_eq!(a.connect(c, &six), Err(Errno::EAFNOSUPPORT));
    assert_eq!(a.connect_raw(c, &[2, 0, 0]), Err(Errno::EINVAL));
    // SO_SNDTIMEO bounds a blocking connect: EINPROGRESS, as Linux.
    let c = tcp(&a);
    let tv = TimeVal::from_duration(Duration::from_millis(50));
    a.setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv).unwrap();
    assert_eq!(
        a.connect(c, &SockAddrIn::new(NOBODY, 80)),
        Err(Errno::EINPROGRESS)
    );
    assert_eq!(
        a.connect(c, &SockAddrIn::new(NOBODY, 80)),
        Err(Errno::EALREADY)
    );
    assert_exchange_works(&a, &b);
}

// ---------------------------------------------------------------- listen and accept

#[test]
fn listen_backlog_of_two_admits_two_until_accept_makes_room() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 2);
    let to = SockAddrIn::new(B, port(&b, l));
    let connect = || {
        let c = a.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0).unwrap();
        assert_eq!(a.connect(c, &to), Err(Errno::EINPROGRESS));
        c
    };
    let mut clients: Vec<i32> = (0..2).map(|_| connect()).collect();
    let established = |clients: &[i32]| {
        clients
            .iter()
            .filter(|&&c| revents(&a, c, POLLOUT) & POLLOUT != 0)
            .count()
    };
    wait_until("two connections", || established(&clients) >= 2);
    // Three more find the accept queue full: their SYNs are ignored, not
    // refused, for as long as nobody accepts (the retransmitted SYNs find the
    // queue full too).
    clients.extend((0..3).map(|_| connect()));
    let established = || established(&clients);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(established(), 2, "exactly the backlog got in");
    assert!(clients.iter().all(|&c| {
        let mut e = -1;
        a.getsockopt(c, SOL_SOCKET, SO_ERROR, &mut e).unwrap();
        e == 0
    }));
    assert_eq!(revents(&b, l, POLLIN), POLLIN, "the listener is readable");
    // Accepting makes room; the retransmitted SYNs get in.
    let mut accepted = Vec::new();
    for _ in 0..5 {
        let (s, from) = b.accept(l).expect("accept");
        assert_eq!(from.ip(), A);
        accepted.push(s);
    }
    wait_until("all five connected", || established() == 5);
    for (i, &c) in clients.iter().enumerate() {
        assert_eq!(a.send(c, &[i as u8], 0), Ok(1));
    }
    let mut got: Vec<u8> = accepted
        .iter()
        .map(|&s| {
            safety(&b, s);
            let mut byte = [0u8; 1];
            assert_eq!(b.read(s, &mut byte), Ok(1));
            byte[0]
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn accept_is_ewouldblock_when_non_blocking_and_inherits_options_not_o_nonblock() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    b.fcntl(l, F_SETFL, O_NONBLOCK).unwrap();
    assert_eq!(b.accept(l), Err(Errno::EWOULDBLOCK));
    assert_eq!(
        revents(&b, l, POLLIN | POLLOUT),
        0,
        "a listener is not writable"
    );
    b.setsockopt(l, SOL_SOCKET, SO_KEEPALIVE, &1i32).unwrap();
    b.setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &1i32).unwrap();
    let c = tcp(&a);
    a.connect(c, &SockAddrIn::new(B, port(&b, l))).unwrap();
    let mut r = FdSet::new();
    r.insert(l);
    assert_eq!(b.select(l + 1, Some(&mut r), None, None, Some(HANG)), Ok(1));
    let (s, _) = b.accept(l).unwrap();
    assert_eq!(
        b.fcntl(s, F_GETFL, 0),
        Ok(O_RDWR),
        "O_NONBLOCK is not inherited"
    );
    let (mut ka, mut nd) = (0, 0);
    b.getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &mut ka).unwrap();
    b.getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &mut nd).unwrap();
    assert_eq!((ka, nd), (1, 1), "options are inherited");
    let mut acc = -1;
    b.getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &mut acc)
        .unwrap();
    assert_eq!(acc, 1);
    b.getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &mut acc)
        .unwrap();
    assert_eq!(acc, 0);
    assert_eq!(b.accept(l), Err(Errno::EWOULDBLOCK));
    // accept4(SOCK_NONBLOCK) makes a non-blocking socket.
    let c2 = tcp(&a);
    a.connect(c2, &SockAddrIn::new(B, port(&b, l))).unwrap();
    b.fcntl(l, F_SETFL, 0).unwrap();
    let (s2, _) = b.accept4(l, SOCK_NONBLOCK | SOCK_CLOEXEC).unwrap();
    assert_eq!(b.fcntl(s2, F_GETFL, 0), Ok(O_RDWR | O_NONBLOCK));
    assert_eq!(b.accept4(l, 0x1234_0000), Err(Errno::EINVAL));
    let mut buf = [0u8; 4];
    assert_eq!(b.read(s2, &mut buf), Err(Errno::EWOULDBLOCK));
}

#[test]
fn accept_gives_emfile_without_losing_the_connection() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let c = tcp(&a);
    a.connect(c, &SockAddrIn::new(B, port(&b, l))).unwrap();
    b.set_fd_limit(l as usize + 1);
    assert_eq!(b.accept(l), Err(Errno::EMFILE));
    b.set_fd_limit(1024);
    let (s, _) = b.accept(l).expect("the connection waited");
    a.write(c, b"ok").unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(b.recv(s, &mut buf, MSG_WAITALL), Ok(2));
}

// ---------------------------------------------------------------- data

#[test]
fn peek_waitall_and_fionread() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    let mut n = -1;
    b.ioctl(s, FIONREAD, &mut n).unwrap();
    assert_eq!(n, 0);
    a.write(c, b"hello world").unwrap();
    wait_acked(&a, c);
    b.ioctl(s, FIONREAD, &mut n).unwrap();
    assert_eq!(n, 11);
    let mut buf = [0u8; 64];
    assert_eq!(b.recv(s, &mut buf[..5], MSG_PEEK), Ok(5));
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(b.recv(s, &mut buf, MSG_PEEK), Ok(11));
    assert_eq!(
        b.recv(s, &mut buf[..6], 0),
        Ok(6),
        "peeked data is still there"
    );
    assert_eq!(&buf[..6], b"hello ");
    b.ioctl(s, FIONREAD, &mut n).unwrap();
    assert_eq!(n, 5);

    // MSG_WAITALL collects pieces sent apart, until the buffer is full.
    let b2 = b.clone();
    let waiter = spawn(move || {
        let mut buf = [0u8; 15];
        b2.recv(s, &mut buf, MSG_WAITALL).map(|n| buf[..n].to_vec())
    });
    let_it_block();
    a.write(c, b", and ").unwrap();
    let_it_block();
    a.write(c, b"more").unwrap();
    assert_eq!(
        waiter.recv_timeout(HANG).unwrap(),
        Ok(b"world, and more".to_vec())
    );
    // Asking for more than will come: WAITALL ends at end of file with what it has.
    a.write(c, b"!tail").unwrap();
    a.shutdown(c, SHUT_WR).unwrap();
    let mut big = [0u8; 100];
    assert_eq!(b.recv(s, &mut big, MSG_WAITALL), Ok(5));
    assert_eq!(&big[..5], b"!tail");
    assert_eq!(b.recv(s, &mut big, MSG_WAITALL), Ok(0));
    // MSG_WAITALL | MSG_DONTWAIT: what is there, never waiting.
    assert_eq!(b.recv(s, &mut big, MSG_WAITALL | MSG_DONTWAIT), Ok(0));
}

#[test]
fn msg_dontwait_and_non_blocking_reads_and_writes() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(s, &mut buf, MSG_DONTWAIT), Err(Errno::EWOULDBLOCK));
    assert_eq!(revents(&b, s, POLLIN | POLLOUT), POLLOUT);
    // Fill the pipe without the peer reading: a non-blocking send ends with a
    // partial count or EWOULDBLOCK, never blocking.
    a.fcntl(c, F_SETFL, O_NONBLOCK).unwrap();
    let chunk = vec![7u8; 65536];
    let mut queued = 0usize;
    let mut would_block = false;
    for _ in 0..200 {
        match a.send(c, &chunk, 0) {
            Ok(n) => queued += n,
            Err(Errno::EAGAIN) => {
                would_block = true;
                break;
            }
            Err(e) => panic!("send: {e:?}"),
        }
    }
    assert!(would_block, "the buffers filled up after {queued} bytes");
    assert_eq!(revents(&a, c, POLLOUT), 0, "not writable while full");
    // The reader drains everything; the writer becomes writable again.
    a.shutdown(c, SHUT_WR).unwrap();
    assert_eq!(read_to_end(&b, s).len(), queued);
}

#[test]
fn shutdown_wr_is_a_half_close() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    a.write(c, b"request").unwrap();
    a.shutdown(c, SHUT_WR).unwrap();
    assert_eq!(read_to_end(&b, s), b"request", "then end of file");
    assert_eq!(
        revents(&b, s, POLLIN | POLLRDHUP | POLLOUT),
        POLLIN | POLLRDHUP | POLLOUT,
        "the peer's FIN: readable (EOF) and POLLRDHUP, still writable"
    );
    let mut buf = [0u8; 8];
    assert_eq!(b.read(s, &mut buf), Ok(0), "EOF again");
    // The other direction still works.
    assert_eq!(b.write(s, b"reply"), Ok(5));
    let mut got = [0u8; 5];
    assert_eq!(a.recv(c, &mut got, MSG_WAITALL), Ok(5));
    assert_eq!(&got, b"reply");
    assert_eq!(a.write(c, b"more"), Err(Errno::EPIPE));
    b.close(s).unwrap();
    assert_eq!(a.read(c, &mut buf), Ok(0));
    wait_until("POLLHUP once both sides closed", || {
        revents(&a, c, POLLIN) & POLLHUP != 0
    });
}

#[test]
fn shutdown_rd_and_rdwr_wake_readers_and_end_reads() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    let b2 = b.clone();
    let reader = spawn(move || {
        let mut buf = [0u8; 8];
        b2.read(s, &mut buf)
    });
    let_it_block();
    b.shutdown(s, SHUT_RD).unwrap();
    assert_eq!(reader.recv_timeout(HANG).unwrap(), Ok(0));
    assert_ne!(revents(&b, s, POLLRDHUP) & POLLRDHUP, 0);
    b.shutdown(s, SHUT_RDWR).unwrap();
    assert_ne!(revents(&b, s, 0) & POLLHUP, 0);
    assert_eq!(b.write(s, b"x"), Err(Errno::EPIPE));
    let mut buf = [0u8; 8];
    assert_eq!(a.read(c, &mut buf), Ok(0), "the peer got our FIN");
    assert_eq!(b.shutdown(s, 7), Err(Errno::EINVAL));
}

#[test]
fn close_with_unread_data_resets_the_peer() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    a.write(c, b"never read").unwrap();
    wait_acked(&a, c);
    b.close(s).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(a.read(c, &mut buf), Err(Errno::ECONNRESET));
    assert_eq!(a.read(c, &mut buf), Ok(0), "then end of file");
    assert_eq!(a.send(c, b"x", MSG_NOSIGNAL), Err(Errno::EPIPE));
    assert_ne!(revents(&a, c, 0) & POLLHUP, 0);
}

#[test]
fn so_linger_zero_aborts_with_rst() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    a.setsockopt(c, SOL_SOCKET, SO_LINGER, &l).unwrap();
    let mut back = Linger::default();
    assert_eq!(a.getsockopt(c, SOL_SOCKET, SO_LINGER, &mut back), Ok(8));
    assert_eq!(back, l);
    let rst_before = a
        .lock()
        .engine_ref()
        .counters()
        .stat(stack::Stat::TcpRstSent);
    a.close(c).unwrap();
    assert_eq!(
        a.lock()
            .engine_ref()
            .counters()
            .stat(stack::Stat::TcpRstSent),
        rst_before + 1
    );
    let mut buf = [0u8; 8];
    assert_eq!(b.read(s, &mut buf), Err(Errno::ECONNRESET));
    // The reset is first reported, then writing is EPIPE.
    assert_eq!(b.send(s, b"x", MSG_NOSIGNAL), Err(Errno::EPIPE));
}

/// The handle's TCP state, if the engine still has the socket.
fn state_of(s: &Stack, h: stack::SocketHandle) -> Option<stack::tcp::State> {
    s.lock().engine_ref().tcp_state(h).ok()
}

#[test]
fn so_linger_with_a_time_waits_until_everything_is_acknowledged() {
    use stack::tcp::State;
    const TOTAL: usize = 200_000;
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    // A small receive window: the data cannot all be acknowledged until read.
    b.setsockopt(l, SOL_SOCKET, SO_RCVBUF, &2048i32).unwrap();

    // Without linger, close returns at once, data still unacknowledged.
    let (c, s) = connect_to(&a, &b, l);
    assert_eq!(a.write(c, &pattern(TOTAL, 1)), Ok(TOTAL));
    let h = a.socket_handle(c).unwrap();
    a.close(c).unwrap();
    assert_eq!(state_of(&a, h), Some(State::FinWait1));
    assert_eq!(read_to_end(&b, s), pattern(TOTAL, 1), "delivered anyway");

    // With linger, close returns once the FIN is acknowledged.
    let (c, s) = connect_to(&a, &b, l);
    let linger = Linger {
        l_onoff: 1,
        l_linger: 60,
    };
    a.setsockopt(c, SOL_SOCKET, SO_LINGER, &linger).unwrap();
    assert_eq!(a.write(c, &pattern(TOTAL, 2)), Ok(TOTAL));
    let b2 = b.clone();
    let reader = spawn(move || {
        let_it_block();
        read_to_end(&b2, s)
    });
    let h = a.socket_handle(c).unwrap();
    a.close(c).unwrap();
    assert!(
        matches!(
            state_of(&a, h),
            None | Some(State::FinWait2 | State::TimeWait)
        ),
        "close returned in {:?}",
        state_of(&a, h)
    );
    assert_eq!(reader.recv_timeout(HANG).unwrap(), pattern(TOTAL, 2));

    // Lingering from CLOSE-WAIT: LAST-ACK, then the connection is gone.
    let (c, s) = connect_to(&a, &b, l);
    b.close(s).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(a.read(c, &mut buf), Ok(0));
    a.setsockopt(c, SOL_SOCKET, SO_LINGER, &linger).unwrap();
    let h = a.socket_handle(c).unwrap();
    assert_eq!(a.close(c), Ok(()));
    assert_eq!(state_of(&a, h), None, "the FIN was acknowledged");

    // The linger time passing ends the wait too (close still returns 0).
    let (c, _s) = connect_to(&a, &b, l);
    let linger = Linger {
        l_onoff: 1,
        l_linger: 1,
    };
    a.setsockopt(c, SOL_SOCKET, SO_LINGER, &linger).unwrap();
    assert_eq!(a.write(c, &pattern(TOTAL, 3)), Ok(TOTAL));
    let h = a.socket_handle(c).unwrap();
    assert_eq!(a.close(c), Ok(()));
    assert_eq!(state_of(&a, h), Some(State::FinWait1), "nobody read");
}

#[test]
fn epipe_after_shutdown_calls_the_sigpipe_handler_unless_msg_nosignal() {
    let (a, b) = pair();
    let (c, _s, _l) = connected(&a, &b);
    let calls = Arc::new(AtomicUsize::new(0));
    let last_fd = Arc::new(AtomicI32::new(-1));
    let (calls2, last2) = (calls.clone(), last_fd.clone());
    a.set_sigpipe_handler(move |_: &Stack, fd| {
        calls2.fetch_add(1, Ordering::SeqCst);
        last2.store(fd, Ordering::SeqCst);
    });
    a.shutdown(c, SHUT_WR).unwrap();
    assert_eq!(a.write(c, b"x"), Err(Errno::EPIPE));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(last_fd.load(Ordering::SeqCst), c);
    assert_eq!(a.send(c, b"x", MSG_NOSIGNAL), Err(Errno::EPIPE));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "MSG_NOSIGNAL: no call");
    assert_eq!(a.send(c, b"x", MSG_DONTWAIT), Err(Errno::EPIPE));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    a.clear_sigpipe_handler();
    assert_eq!(a.write(c, b"x"), Err(Errno::EPIPE));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
fn after_a_peer_reset_send_gives_econnreset_then_epipe() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    let calls = Arc::new(AtomicUsize::new(0));
    let calls2 = calls.clone();
    a.set_sigpipe_handler(move |_: &Stack, _| {
        calls2.fetch_add(1, Ordering::SeqCst);
    });
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    b.setsockopt(s, SOL_SOCKET, SO_LINGER, &l).unwrap();
    b.close(s).unwrap();
    wait_until("the reset arrived", || revents(&a, c, 0) & POLLERR != 0);
    assert_eq!(a.write(c, b"x"), Err(Errno::ECONNRESET));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no SIGPIPE for ECONNRESET");
    assert_eq!(a.write(c, b"x"), Err(Errno::EPIPE));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------- options

#[test]
fn stream_options_round_trip() {
    let (a, _b) = pair();
    let s = tcp(&a);
    let mut v = -1;
    a.getsockopt(s, SOL_SOCKET, SO_TYPE, &mut v).unwrap();
    assert_eq!(v, SOCK_STREAM);
    a.getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &mut v).unwrap();
    assert_eq!(v, IPPROTO_TCP);
    a.getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &mut v).unwrap();
    assert_eq!(v, 0);
    for opt in [SO_KEEPALIVE, SO_OOBINLINE, SO_REUSEADDR] {
        a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
        assert_eq!(v, 0, "option {opt} starts off");
        a.setsockopt(s, SOL_SOCKET, opt, &1i32).unwrap();
        a.getsockopt(s, SOL_SOCKET, opt, &mut v).unwrap();
        assert_eq!(v, 1, "option {opt}");
    }
    a.getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &mut v).unwrap();
    assert_eq!(v, 0);
    a.setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &1i32).unwrap();
    a.getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &mut v).unwrap();
    assert_eq!(v, 1);
    a.getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mut v).unwrap();
    assert_eq!(v, 536, "Linux's default before connecting");
    a.setsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &1000i32).unwrap();
    a.getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mut v).unwrap();
    assert_eq!(v, 1000);
    a.setsockopt(s, SOL_SOCKET, SO_RCVBUF, &10_000i32).unwrap();
    a.getsockopt(s, SOL_SOCKET, SO_RCVBUF, &mut v).unwrap();
    assert_eq!(v, 20_000, "doubled, as Linux");
    a.setsockopt(s, SOL_SOCKET, SO_SNDBUF, &30_000i32).unwrap();
    a.getsockopt(s, SOL_SOCKET, SO_SNDBUF, &mut v).unwrap();
    assert_eq!(v, 60_000);
    let mut l = Linger::default();
    a.getsockopt(s, SOL_SOCKET, SO_LINGER, &mut l).unwrap();
    assert_eq!(l, Linger::default());
    let on = Linger {
        l_onoff: 1,
        l_linger: 5,
    };
    a.setsockopt(s, SOL_SOCKET, SO_LINGER, &on).unwrap();
    a.getsockopt(s, SOL_SOCKET, SO_LINGER, &mut l).unwrap();
    assert_eq!(l, on);
}

#[test]
fn tcp_maxseg_clamps_the_connections_segments() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let c = tcp(&a);
    a.setsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &600i32).unwrap();
    a.connect(c, &SockAddrIn::new(B, port(&b, l))).unwrap();
    let (s, _) = b.accept(l).unwrap();
    let mut v = 0;
    a.getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mut v).unwrap();
    assert!(v <= 600 && v > 500, "client MSS {v}");
    b.getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &mut v).unwrap();
    assert!(v <= 600 && v > 500, "the server uses the client's MSS: {v}");
}

#[test]
fn tcp_info_reports_the_connection_in_linux_layout() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    assert_eq!(a.write(c, &[7u8; 50_000]).unwrap(), 50_000);
    let mut got = vec![0u8; 50_000];
    let mut n = 0;
    while n < got.len() {
        n += b.read(s, &mut got[n..]).unwrap();
    }
    wait_acked(&a, c);
    // The driver thread runs between the two reads: the window read in the
    // bytes is the typed one before or after.
    let before = a.tcp_info(c).unwrap();
    let mut raw = [0u8; 300];
    let len = a
        .getsockopt(c, IPPROTO_TCP, TCP_INFO, &mut raw[..])
        .unwrap();
    let typed = a.tcp_info(c).unwrap();
    assert_eq!(len, tcp_info::TCP_INFO_LEN);
    assert_eq!(raw[0], 1, "tcpi_state: TCP_ESTABLISHED");
    assert_eq!(raw[1], 0, "tcpi_ca_state: open");
    let u32_at = |at: usize| u32::from_ne_bytes(raw[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(16) as usize, typed.mss, "tcpi_snd_mss");
    let cwnd = u32_at(80) as usize;
    assert!(
        [before.cwnd, typed.cwnd]
            .map(|w| w.div_ceil(typed.mss))
            .contains(&cwnd),
        "tcpi_snd_cwnd {cwnd}: {} then {} bytes",
        before.cwnd,
        typed.cwnd
    );
    // tcpi_rtt in microseconds, as the typed srtt (timestamps measure in
    // milliseconds: on this link it may well be 0).
    let rtt = u128::from(u32_at(68));
    assert!(
        [before.srtt, typed.srtt]
            .map(|d| d.map_or(0, |d| d.as_micros()))
            .contains(&rtt),
        "tcpi_rtt {rtt}: {:?} then {:?}",
        before.srtt,
        typed.srtt
    );
    assert_eq!(u32_at(24), 0, "nothing unacknowledged");
    assert_eq!(typed.congestion, "cubic");
    assert!(typed.sack && typed.timestamps);
    // A short buffer gets the first bytes, as the kernel truncates.
    let mut short = [0u8; 8];
    assert_eq!(
        a.getsockopt(c, IPPROTO_TCP, TCP_INFO, &mut short[..])
            .unwrap(),
        8
    );
    // No connection: ENOTCONN in the typed form; datagram sockets have none.
    let idle = tcp(&a);
    assert_eq!(a.tcp_info(idle).unwrap_err(), Errno::ENOTCONN);
    let u = a.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    assert_eq!(a.tcp_info(u).unwrap_err(), Errno::ENOPROTOOPT);
}

#[test]
fn tcp_congestion_is_set_by_name_per_socket_and_inherited() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    let mut name = [0u8; TCP_CA_NAME_MAX];
    let n = b
        .getsockopt(l, IPPROTO_TCP, TCP_CONGESTION, &mut name[..])
        .unwrap();
    assert_eq!(n, TCP_CA_NAME_MAX);
    assert_eq!(&name[..6], b"cubic\0", "the stack's default, NUL-padded");
    b.setsockopt(l, IPPROTO_TCP, TCP_CONGESTION, &b"reno\0"[..])
        .unwrap();
    assert_eq!(
        b.setsockopt(l, IPPROTO_TCP, TCP_CONGESTION, &b"bbr"[..])
            .unwrap_err(),
        Errno::ENOENT
    );
    let (c, s) = connect_to(&a, &b, l);
    assert_eq!(
        b.tcp_info(s).unwrap().congestion,
        "reno",
        "accepted: the listener's"
    );
    assert_eq!(a.tcp_info(c).unwrap().congestion, "cubic");
    // A live connection switches at once, keeping its window.
    let before = a.tcp_info(c).unwrap().cwnd;
    a.setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, &b"reno"[..])
        .unwrap();
    let after = a.tcp_info(c).unwrap();
    assert_eq!((after.congestion, after.cwnd), ("reno", before));
    let u = a.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    assert_eq!(
        a.setsockopt(u, IPPROTO_TCP, TCP_CONGESTION, &b"reno"[..])
            .unwrap_err(),
        Errno::ENOPROTOOPT
    );
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_calls_on_stream_sockets_get_linux_errors() {
    let (a, b) = pair();
    let s = tcp(&a);
    let mut buf = [0u8; 8];
    // Unconnected.
    assert_eq!(a.send(s, b"x", 0), Err(Errno::ENOTCONN));
    assert_eq!(a.write(s, b""), Err(Errno::ENOTCONN));
    assert_eq!(a.recv(s, &mut buf, 0), Err(Errno::ENOTCONN));
    assert_eq!(a.read(s, &mut buf), Err(Errno::ENOTCONN));
    assert_eq!(a.getpeername(s), Err(Errno::ENOTCONN));
    assert_eq!(a.shutdown(s, SHUT_WR), Err(Errno::ENOTCONN));
    assert_eq!(a.accept(s), Err(Errno::EINVAL), "not listening");
    assert_eq!(
        a.getsockname(s),
        Ok(SockAddrIn::new(Ipv4Addr::UNSPECIFIED, 0))
    );
    let mut n = 0;
    assert_eq!(a.ioctl(s, FIONREAD, &mut n), Ok(()));
    assert_eq!(n, 0);
    assert_eq!(
        revents(&a, s, POLLIN | POLLOUT),
        POLLOUT | POLLHUP,
        "a fresh stream socket polls POLLOUT|POLLHUP, as Linux"
    );
    // Binding.
    a.bind(s, &SockAddrIn::new(A, 6000)).unwrap();
    assert_eq!(a.bind(s, &SockAddrIn::new(A, 6001)), Err(Errno::EINVAL));
    let t = tcp(&a);
    assert_eq!(a.bind(t, &SockAddrIn::new(A, 6000)), Err(Errno::EADDRINUSE));
    assert_eq!(a.bind(t, &SockAddrIn::new(A, 80)), Err(Errno::EACCES));
    assert_eq!(
        a.bind(t, &SockAddrIn::new(NOBODY, 6002)),
        Err(Errno::EADDRNOTAVAIL)
    );
    // Listening.
    a.listen(s, -1).unwrap();
    a.listen(s, 3).unwrap();
    assert_eq!(a.ioctl(s, FIONREAD, &mut n), Err(Errno::EINVAL));
    assert_eq!(a.ioctl(s, SIOCOUTQ, &mut n), Err(Errno::EINVAL));
    assert_eq!(a.recv(s, &mut buf, 0), Err(Errno::ENOTCONN));
    assert_eq!(a.send(s, b"x", 0), Err(Errno::ENOTCONN));
    assert_eq!(a.connect(s, &SockAddrIn::new(B, 6000)), Err(Errno::EISCONN));
    assert_eq!(a.shutdown(s, SHUT_WR), Ok(()), "a no-op on a listener");
    let u = tcp(&a);
    a.bind(u, &SockAddrIn::new(ANY, 6000)).unwrap_err();
    // Datagram sockets cannot listen or accept.
    let d = udp(&a);
    assert_eq!(a.listen(d, 5), Err(Errno::EOPNOTSUPP));
    assert_eq!(a.accept(d), Err(Errno::EOPNOTSUPP));
    assert_eq!(a.sockatmark(d), Err(Errno::ENOTTY));
    assert_eq!(a.listen(999, 5), Err(Errno::EBADF));
    assert_eq!(a.accept(999), Err(Errno::EBADF));

    // Connected: EISCONN, EINVAL for listen.
    let (c, srv, _l) = connected(&a, &b);
    assert_eq!(a.connect(c, &SockAddrIn::new(B, 1234)), Err(Errno::EISCONN));
    assert_eq!(a.listen(c, 5), Err(Errno::EINVAL));
    assert_eq!(b.listen(srv, 5), Err(Errno::EINVAL), "accepted sockets too");
    assert_eq!(a.accept(c), Err(Errno::EINVAL));
    assert_eq!(a.bind(c, &SockAddrIn::new(A, 6100)), Err(Errno::EINVAL));

    // Bad option values.
    for bad in [0i32, 10, 87, 32768, -1] {
        assert_eq!(
            a.setsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &bad),
            Err(Errno::EINVAL),
            "TCP_MAXSEG {bad}"
        );
    }
    assert_eq!(
        a.setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &[1u8, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        a.setsockopt(c, SOL_SOCKET, SO_LINGER, &1i32),
        Err(Errno::EINVAL),
        "SO_LINGER needs a whole struct linger"
    );
    assert_eq!(
        a.setsockopt(c, IPPROTO_TCP, 999, &1i32),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        a.getsockopt(c, IPPROTO_TCP, 999, &mut n),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        a.setsockopt(c, IPPROTO_UDP, 1, &1i32),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(a.ioctl(c, 0xdead, &mut n), Err(Errno::ENOTTY));
    assert_eq!(a.recv(c, &mut buf, MSG_OOB), Err(Errno::EINVAL));
    assert_eq!(a.send(c, b"", 0), Ok(0));
    assert_eq!(a.recv(c, &mut [], 0), Ok(0));

    // Nothing broke: a new connection works, both ways.
    let (c, s, _l) = connected(&a, &b);
    a.write(c, b"fine").unwrap();
    assert_eq!(b.recv(s, &mut buf[..4], MSG_WAITALL), Ok(4));
    b.write(s, b"good").unwrap();
    assert_eq!(a.recv(c, &mut buf[..4], MSG_WAITALL), Ok(4));
    assert_exchange_works(&a, &b);
}

#[test]
fn reuseaddr_lets_a_server_restart_while_time_wait_lingers() {
    let (a, b) = pair();
    let l = listener_on(&b, 7100, 5);
    let (c, s) = connect_to(&a, &b, l);
    // The server closes first: its side goes to TIME-WAIT.
    b.close(s).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(a.read(c, &mut buf), Ok(0));
    a.close(c).unwrap();
    b.close(l).unwrap();
    let again = tcp(&b);
    b.setsockopt(again, SOL_SOCKET, SO_REUSEADDR, &1i32)
        .unwrap();
    wait_until("rebind with SO_REUSEADDR", || {
        b.bind(again, &SockAddrIn::new(ANY, 7100)).is_ok()
    });
    b.listen(again, 5).unwrap();
    let (c, _s) = connect_to(&a, &b, again);
    assert!(a.getpeername(c).is_ok());
}

/// Linux (`inet_csk_bind_conflict` sees TIME-WAIT buckets): without
/// `SO_REUSEADDR`, the port of a connection in TIME-WAIT cannot be bound again.
#[test]
fn without_reuseaddr_time_wait_keeps_the_port() {
    let (a, b) = pair();
    let l = listener_on(&b, 7101, 5);
    let (c, s) = connect_to(&a, &b, l);
    b.close(s).unwrap(); // the server closes first: TIME-WAIT on its side
    let mut buf = [0u8; 4];
    assert_eq!(a.read(c, &mut buf), Ok(0));
    a.close(c).unwrap();
    b.close(l).unwrap();
    let again = tcp(&b);
    assert_eq!(
        b.bind(again, &SockAddrIn::new(ANY, 7101)),
        Err(Errno::EADDRINUSE)
    );
}
