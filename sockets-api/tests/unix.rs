//! The UNIX domain inside a stack: pipes, socketpairs, named datagram and stream
//! sockets, with threads in place of fork (4.4BSD tutorial, Figures 1, 3, 5a, 5b,
//! 9a, 9b), and their mixing with Internet sockets in one descriptor space.

mod common;

use std::time::Duration;

use common::*;
use sockets::*;

#[test]
fn a_pipe_carries_bytes_one_way_and_ends_at_the_last_writer() {
    let (a, _b) = pair();
    let [r, w] = a.pipe().unwrap();
    assert_eq!((r, w), (3, 4), "the lowest free descriptors");
    let writer = {
        let a = a.clone();
        std::thread::spawn(move || {
            a.write(w, b"Hi there\0").unwrap();
            a.close(w).unwrap();
        })
    };
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    loop {
        let n = a.read(r, &mut buf).unwrap();
        if n == 0 {
            break; // every writer closed
        }
        got.extend_from_slice(&buf[..n]);
    }
    writer.join().unwrap();
    assert_eq!(got, b"Hi there\0");
    // Nobody reads any more: EPIPE.
    let [r2, w2] = a.pipe().unwrap();
    a.close(r2).unwrap();
    assert_eq!(a.write(w2, b"x"), Err(Errno::EPIPE));
    // The ends are one-way.
    assert_eq!(a.read(w2, &mut buf), Err(Errno::EBADF));
    assert_eq!(a.fcntl(r, F_GETFL, 0), Ok(O_RDONLY));
}

#[test]
fn a_socketpair_talks_both_ways_between_threads() {
    let (a, _b) = pair();
    let [s0, s1] = a.socketpair(AF_UNIX, SOCK_STREAM, 0).unwrap();
    let child = {
        let a = a.clone();
        // A thread shares the descriptor table: it does not close the parent's
        // end as a forked child would.
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            let n = a.read(s1, &mut buf).unwrap();
            a.write(s1, b"The sea is calm tonight, the tide is full . . .")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        })
    };
    a.write(s0, b"Half a league, half a league . . .").unwrap();
    let mut buf = [0u8; 1024];
    let n = a.read(s0, &mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        b"The sea is calm tonight, the tide is full . . ."
    );
    assert_eq!(child.join().unwrap(), "Half a league, half a league . . .");
    assert_eq!(
        a.socketpair(AF_INET, SOCK_STREAM, 0),
        Err(Errno::EOPNOTSUPP)
    );
    // Datagram pairs keep boundaries.
    let [d0, d1] = a.socketpair(AF_UNIX, SOCK_DGRAM, 0).unwrap();
    a.send(d0, b"one", 0).unwrap();
    a.send(d0, b"two", 0).unwrap();
    assert_eq!(a.recv(d1, &mut buf, 0), Ok(3));
    assert_eq!(&buf[..3], b"one");
}

#[test]
fn named_datagrams_carry_their_senders_name_and_names_stay_until_unlinked() {
    let (a, _b) = pair();
    let rx = a.socket(AF_UNIX, SOCK_DGRAM, 0).unwrap();
    a.bind_un(rx, &SockAddrUn::new("socket")).unwrap();
    assert_eq!(a.getsockname_un(rx).unwrap().path(), "socket");
    let tx = a.socket(AF_UNIX, SOCK_DGRAM, 0).unwrap();
    a.sendto_un(tx, b"The sea is calm", 0, &SockAddrUn::new("socket"))
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = a.recvfrom_un(rx, &mut buf, 0).unwrap();
    assert_eq!(&buf[..n], b"The sea is calm");
    assert_eq!(from.path(), "", "an unnamed sender");
    // Nobody bound that name: ENOENT. The name outlives its socket.
    assert_eq!(
        a.sendto_un(tx, b"x", 0, &SockAddrUn::new("nobody")),
        Err(Errno::ENOENT)
    );
    a.close(rx).unwrap();
    assert_eq!(
        a.sendto_un(tx, b"x", 0, &SockAddrUn::new("socket")),
        Err(Errno::ECONNREFUSED)
    );
    let again = a.socket(AF_UNIX, SOCK_DGRAM, 0).unwrap();
    assert_eq!(
        a.bind_un(again, &SockAddrUn::new("socket")),
        Err(Errno::EADDRINUSE)
    );
    a.unlink("socket").unwrap();
    assert_eq!(a.unlink("socket"), Err(Errno::ENOENT));
    a.bind_un(again, &SockAddrUn::new("socket")).unwrap();
    // Out-of-band data is not part of the UNIX domain here.
    assert_eq!(a.send(tx, b"x", MSG_OOB), Err(Errno::EOPNOTSUPP));
}

#[test]
fn a_named_stream_accepts_connections_and_reads_to_end_of_file() {
    let (a, _b) = pair();
    let sock = a.socket(AF_UNIX, SOCK_STREAM, 0).unwrap();
    a.bind_un(sock, &SockAddrUn::new("socket")).unwrap();
    a.listen(sock, 5).unwrap();
    assert_eq!(
        a.connect_un(
            a.socket(AF_UNIX, SOCK_STREAM, 0).unwrap(),
            &SockAddrUn::new("none")
        ),
        Err(Errno::ENOENT)
    );
    let client = {
        let a = a.clone();
        std::thread::spawn(move || {
            let s = a.socket(AF_UNIX, SOCK_STREAM, 0).unwrap();
            a.connect_un(s, &SockAddrUn::new("socket")).unwrap();
            assert_eq!(a.getpeername_un(s).unwrap().path(), "socket");
            a.write(s, b"Half a league, half a league . . .\0").unwrap();
            a.close(s).unwrap();
        })
    };
    // select before accept, as Figure 7c does, across both domains.
    let udp_fd = udp(&a);
    let mut ready = FdSet::new();
    ready.insert(sock);
    ready.insert(udp_fd);
    let n = a
        .select(
            sock.max(udp_fd) + 1,
            Some(&mut ready),
            None,
            None,
            Some(Duration::from_secs(5)),
        )
        .unwrap();
    assert_eq!(n, 1);
    assert!(ready.contains(sock));
    let (msgsock, _) = a.accept_un(sock).unwrap();
    let mut buf = [0u8; 1024];
    let mut got = Vec::new();
    loop {
        let n = a.read(msgsock, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    client.join().unwrap();
    assert_eq!(got, b"Half a league, half a league . . .\0");
    // poll says end of file (readable) and hang-up once the peer is gone.
    let mut p = [PollFd::new(msgsock, POLLIN)];
    a.poll(&mut p, 0).unwrap();
    assert_ne!(p[0].revents & POLLIN, 0);
    a.close(msgsock).unwrap();
    a.close(sock).unwrap();
    a.unlink("socket").unwrap();
}

#[test]
fn a_fifo_joins_a_writer_and_a_reader_by_name() {
    // The slides' FIFO example: mkfifo, then a child opens it for writing and
    // writes two ints, the parent opens it for reading and adds them.
    let (a, _b) = pair();
    a.mkfifo("/tmp/my-fifo").unwrap();
    assert_eq!(a.mkfifo("/tmp/my-fifo"), Err(Errno::EEXIST));
    // Nobody reads yet: a non-blocking writer cannot open.
    assert_eq!(
        a.open("/tmp/my-fifo", O_WRONLY | O_NONBLOCK),
        Err(Errno::ENXIO)
    );
    let child = {
        let a = a.clone();
        std::thread::spawn(move || {
            // Waits until the parent opens the read end.
            let fd = a.open("/tmp/my-fifo", O_WRONLY).unwrap();
            a.write(fd, &10i32.to_ne_bytes()).unwrap();
            a.write(fd, &20i32.to_ne_bytes()).unwrap();
            a.close(fd).unwrap();
        })
    };
    let fd = a.open("/tmp/my-fifo", O_RDONLY).unwrap();
    let mut x = [0u8; 4];
    let mut y = [0u8; 4];
    assert_eq!(a.read(fd, &mut x), Ok(4));
    assert_eq!(a.read(fd, &mut y), Ok(4));
    child.join().unwrap();
    assert_eq!(i32::from_ne_bytes(x) + i32::from_ne_bytes(y), 30);
    assert_eq!(a.read(fd, &mut x), Ok(0), "the writer closed");
    a.close(fd).unwrap();
    a.unlink("/tmp/my-fifo").unwrap();
    assert_eq!(a.open("/tmp/my-fifo", O_RDONLY), Err(Errno::ENOENT));
}

#[test]
fn a_fifo_reader_opens_even_when_the_writer_came_and_went() {
    // The writer may open, write and close between the reader's open and the
    // reader's look at the other end: the reader's open must still return (it
    // waits for the other end to have been opened, as Linux does).
    let (a, _b) = pair();
    for i in 0..100 {
        let path = format!("/tmp/fifo-{i}");
        a.mkfifo(&path).unwrap();
        let writer = {
            let (a, path) = (a.clone(), path.clone());
            std::thread::spawn(move || {
                let fd = a.open(&path, O_WRONLY).unwrap();
                a.write(fd, b"x").unwrap();
                a.close(fd).unwrap();
            })
        };
        // Let the writer open first and wait for a reader.
        std::thread::sleep(Duration::from_millis(3));
        let fd = a.open(&path, O_RDONLY).unwrap();
        let mut b = [0u8; 4];
        let n = a.read(fd, &mut b).unwrap();
        assert!(n <= 1);
        a.close(fd).unwrap();
        writer.join().unwrap();
        a.unlink(&path).unwrap();
    }
}
