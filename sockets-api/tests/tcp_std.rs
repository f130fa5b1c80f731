//! The std face on TCP: `sockets::net::{TcpListener, TcpStream}` behave like
//! `std::net`'s, with the same `ErrorKind`s.

mod common;
mod tcp_common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use sockets::net::{TcpListener, TcpStream, UdpSocket};
use tcp_common::{pattern, spawn, HANG};

fn v4(ip: std::net::Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// A listener on B and a connected (client on A, server on B) pair of streams.
fn streams() -> (
    sockets::Stack,
    sockets::Stack,
    TcpListener,
    TcpStream,
    TcpStream,
) {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b, "0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(&a, v4(B, port)).unwrap();
    let (server, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), v4(B, port));
    for s in [&client, &server] {
        s.set_read_timeout(Some(HANG)).unwrap();
        s.set_write_timeout(Some(HANG)).unwrap();
    }
    (a, b, listener, client, server)
}

#[test]
fn a_megabyte_each_way_at_once_arrives_byte_identical() {
    const N: usize = 1 << 20;
    let (_a, _b, _l, client, server) = streams();
    let up = pattern(N, 1);
    let down = pattern(N, 2);
    // Each side writes on one thread and reads on another (try_clone), so that
    // neither blocks the other with full buffers.
    let transfer = |s: TcpStream, out: Vec<u8>| {
        let mut writer = s.try_clone().unwrap();
        let w = spawn(move || {
            writer.write_all(&out).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let r = spawn(move || {
            let mut got = Vec::with_capacity(N);
            (&s).read_to_end(&mut got).unwrap();
            got
        });
        (w, r)
    };
    let (cw, cr) = transfer(client, up.clone());
    let (sw, sr) = transfer(server, down.clone());
    cw.recv_timeout(HANG * 3).unwrap();
    sw.recv_timeout(HANG * 3).unwrap();
    assert!(sr.recv_timeout(HANG * 3).unwrap() == up, "A to B differs");
    assert!(cr.recv_timeout(HANG * 3).unwrap() == down, "B to A differs");
}

#[test]
fn connect_errors_have_std_kinds() {
    let (a, b) = pair();
    let e = TcpStream::connect(&a, v4(B, 9)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
    // connect_timeout: a host that never answers.
    let e =
        TcpStream::connect_timeout(&a, &v4(NOBODY, 80), Duration::from_millis(100)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    let e = TcpStream::connect_timeout(&a, &v4(B, 80), Duration::ZERO).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = TcpStream::connect_timeout(&a, &v4(B, 9), HANG).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    // And one that works; the stream is blocking afterwards.
    let l = TcpListener::bind(&b, "0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let mut s = TcpStream::connect_timeout(&a, &v4(B, port), HANG).unwrap();
    let (mut t, _) = l.accept().unwrap();
    s.write_all(b"hi").unwrap();
    let mut buf = [0u8; 2];
    t.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi");
    // IPv6 only: InvalidInput; the first of several addresses that works is used.
    let e = TcpStream::connect(&a, "[::1]:80").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let addrs = [v4(B, 9), v4(B, port)];
    let s2 = TcpStream::connect(&a, &addrs[..]).unwrap();
    assert_eq!(s2.peer_addr().unwrap(), v4(B, port));
}

#[test]
fn listener_binding_accepting_and_incoming() {
    let (a, b) = pair();
    let l = TcpListener::bind(&b, (std::net::Ipv4Addr::UNSPECIFIED, 7400)).unwrap();
    assert_eq!(
        l.local_addr().unwrap(),
        v4(std::net::Ipv4Addr::UNSPECIFIED, 7400)
    );
    let e = TcpListener::bind(&b, "0.0.0.0:7400").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse, "even with SO_REUSEADDR");
    let e = TcpListener::bind(&b, "0.0.0.0:80").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    l.set_nonblocking(true).unwrap();
    assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    l.set_nonblocking(false).unwrap();
    assert!(l.take_error().unwrap().is_none());
    l.set_ttl(33).unwrap();
    assert_eq!(l.ttl().unwrap(), 33);

    let a2 = a.clone();
    let clients = spawn(move || {
        for i in 0..3u8 {
            let mut s = TcpStream::connect(&a2, "10.0.0.2:7400").unwrap();
            s.write_all(&[i; 3]).unwrap();
        }
    });
    let mut got = Vec::new();
    for stream in l.incoming().take(3) {
        let mut stream = stream.unwrap();
        assert_eq!(stream.ttl().unwrap(), 33, "inherited from the listener");
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).unwrap();
        got.push(buf);
    }
    clients.recv_timeout(HANG).unwrap();
    assert_eq!(got, vec![vec![0; 3], vec![1; 3], vec![2; 3]]);

    // Raw descriptors convert both ways; a datagram socket is refused.
    let fd = l.try_clone().unwrap().into_raw_fd();
    let back = TcpListener::from_raw_fd(&b, fd).unwrap();
    assert_eq!(back.local_addr().unwrap(), l.local_addr().unwrap());
    let u = UdpSocket::bind(&b, "0.0.0.0:0").unwrap();
    let e = TcpStream::from_raw_fd(&b, u.as_raw_fd()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        TcpListener::from_raw_fd(&b, 999)
            .unwrap_err()
            .raw_os_error(),
        Some(libc::EBADF)
    );
}

#[test]
fn stream_options_peek_timeouts_and_shutdown() {
    let (a, _b, _l, mut client, mut server) = streams();
    assert!(!client.nodelay().unwrap());
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    client.set_ttl(7).unwrap();
    assert_eq!(client.ttl().unwrap(), 7);
    assert_eq!(client.read_timeout().unwrap(), Some(HANG));
    let e = client.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(client.linger().unwrap(), None);
    client.set_linger(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(client.linger().unwrap(), Some(Duration::from_secs(3)));
    client.set_linger(None).unwrap();
    assert!(client.take_error().unwrap().is_none());

    // A read timeout expires with WouldBlock; non-blocking mode too.
    server
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        server.read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    server.set_nonblocking(true).unwrap();
    assert_eq!(
        server.read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    server.set_nonblocking(false).unwrap();
    server.set_read_timeout(Some(HANG)).unwrap();

    client.write_all(b"peekaboo").unwrap();
    let n = server.peek(&mut buf).unwrap();
    assert!(n > 0 && b"peekaboo".starts_with(&buf[..n]));
    let mut all = [0u8; 8];
    server.read_exact(&mut all).unwrap();
    assert_eq!(&all, b"peekaboo");

    // shutdown(Write): the peer reads EOF; writing again is BrokenPipe, and the
    // stack's SIGPIPE handler is not called (std passes MSG_NOSIGNAL).
    let sigpipes = Arc::new(AtomicUsize::new(0));
    let s2 = sigpipes.clone();
    a.set_sigpipe_handler(move |_: &sockets::Stack, _| {
        s2.fetch_add(1, Ordering::SeqCst);
    });
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    assert_eq!(
        client.write(b"x").unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
    assert_eq!(sigpipes.load(Ordering::SeqCst), 0);
    server.write_all(b"still open").unwrap();
    let mut back = [0u8; 10];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"still open");
    drop(server);
    assert_eq!(client.read(&mut buf).unwrap(), 0, "drop closes gracefully");
}

#[test]
fn linger_zero_resets_and_the_peer_sees_connection_reset() {
    let (_a, _b, _l, client, mut server) = streams();
    client.set_linger(Some(Duration::ZERO)).unwrap();
    drop(client);
    let mut buf = [0u8; 4];
    assert_eq!(
        server.read(&mut buf).unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    assert_eq!(
        server.write(b"x").unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
    assert!(server.peer_addr().is_err());
}

#[test]
fn a_shared_reference_reads_while_a_clone_writes() {
    let (_a, _b, _l, client, server) = streams();
    let server = Arc::new(server);
    let s2 = server.clone();
    let echo = thread::spawn(move || {
        let mut buf = [0u8; 1000];
        loop {
            let n = (&*s2).read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            (&*s2).write_all(&buf[..n]).unwrap();
        }
        s2.shutdown(Shutdown::Write).unwrap();
    });
    let mut writer = client.try_clone().unwrap();
    let data = pattern(100_000, 5);
    let d2 = data.clone();
    let w = thread::spawn(move || {
        writer.write_all(&d2).unwrap();
        writer.flush().unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    (&client).read_to_end(&mut back).unwrap_or_else(|e| {
        panic!("after {} bytes: {e}", back.len());
    });
    w.join().unwrap();
    echo.join().unwrap();
    assert!(back == data);
}

#[test]
fn tcp_info_and_congestion_on_streams() {
    let (_a, _b, _l, mut client, mut server) = streams();
    client.write_all(&[1u8; 10_000]).unwrap();
    let mut got = [0u8; 10_000];
    server.read_exact(&mut got).unwrap();
    let info = client.tcp_info().unwrap();
    assert_eq!(info.state, stack::tcp::State::Established);
    assert!(info.srtt.is_some() && info.cwnd >= info.mss);
    assert_eq!(client.congestion().unwrap(), "cubic");
    client.set_congestion("reno").unwrap();
    assert_eq!(client.congestion().unwrap(), "reno");
    assert_eq!(client.tcp_info().unwrap().congestion, "reno");
    let err = client.set_congestion("vegas").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

/// Busy polling (`StackConfig::busy_poll`) loses no wake-up: two thousand
/// one-byte exchanges, each side waiting for the other every time, complete
/// with it off, at its default and with waits that spin through whole
/// exchanges (a lost wake-up would leave a reader waiting for `HANG`).
#[test]
fn request_response_exchanges_lose_no_wake_up_with_or_without_busy_polling() {
    for busy in [0, 50, 100_000] {
        let (a, b) = pair_with(|c| c.busy_poll = Duration::from_micros(busy));
        let listener = TcpListener::bind(&b, "0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = TcpStream::connect(&a, v4(B, port)).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        for s in [&client, &server] {
            s.set_read_timeout(Some(HANG)).unwrap();
            s.set_nodelay(true).unwrap();
        }
        let echo = thread::spawn(move || {
            let mut byte = [0u8; 1];
            for _ in 0..2000 {
                server.read_exact(&mut byte)?;
                server.write_all(&[byte[0].wrapping_add(1)])?;
            }
            Ok::<_, std::io::Error>(())
        });
        let mut byte = [0u8; 1];
        for i in 0..2000u32 {
            client.write_all(&[i as u8]).unwrap();
            client.read_exact(&mut byte).unwrap();
            assert_eq!(
                byte[0],
                (i as u8).wrapping_add(1),
                "exchange {i}, busy poll {busy} us"
            );
        }
        echo.join().unwrap().unwrap();
    }
}

#[test]
fn a_busy_poll_longer_than_100_ms_is_refused() {
    let mut c = sockets::StackConfig::new(A, 24);
    c.busy_poll = Duration::from_millis(101);
    assert!(c.validate().is_err());
    c.busy_poll = Duration::from_millis(100);
    assert!(c.validate().is_ok());
}
