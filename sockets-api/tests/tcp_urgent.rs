//! Urgent ("out-of-band") data between two of our stacks, with the answers Linux
//! gives for the same calls (4.2BSD primer 5.1; RFC 6093's BSD interpretation):
//! `send(MSG_OOB)`, `recv(MSG_OOB)`, `sockatmark`/`SIOCATMARK`, `SO_OOBINLINE`,
//! select's except set, `POLLPRI`, and the urgent handler that replaces `SIGURG`.

mod common;
mod tcp_common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::*;
use sockets::*;
use tcp_common::*;

/// Sends each piece with its flags, in order, and waits until all of it sits in
/// the receiver's buffer.
fn send_pieces(a: &Stack, c: i32, pieces: &[(&[u8], i32)]) {
    for (data, flags) in pieces {
        assert_eq!(a.send(c, data, *flags), Ok(data.len()));
    }
    wait_acked(a, c);
}

fn read_str(b: &Stack, s: i32) -> String {
    let mut buf = [0u8; 64];
    let n = b.read(s, &mut buf).expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn oob(b: &Stack, s: i32, flags: i32) -> Result<u8, Errno> {
    let mut byte = [0u8; 1];
    b.recv(s, &mut byte, MSG_OOB | flags).map(|n| {
        assert_eq!(n, 1);
        byte[0]
    })
}

fn except_ready(b: &Stack, s: i32) -> bool {
    let mut e = FdSet::new();
    e.insert(s);
    let n = b
        .select(
            s + 1,
            None,
            None,
            Some(&mut e),
            Some(std::time::Duration::ZERO),
        )
        .expect("select");
    n == 1 && e.contains(s)
}

#[test]
fn hello_oob_x_world_reads_as_linux_does() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    send_pieces(&a, c, &[(b"hello", 0), (b"X", MSG_OOB), (b"world", 0)]);

    assert!(except_ready(&b, s), "select's except set shows urgent data");
    assert_eq!(
        revents(&b, s, POLLPRI | POLLIN) & (POLLPRI | POLLIN),
        POLLPRI | POLLIN
    );
    assert_eq!(b.sockatmark(s), Ok(0), "data before the mark is unread");
    assert_eq!(read_str(&b, s), "hello", "a read stops at the mark");
    assert_eq!(b.sockatmark(s), Ok(1));
    let mut yes = 0;
    b.ioctl(s, SIOCATMARK, &mut yes).unwrap();
    assert_eq!(yes, 1, "SIOCATMARK agrees with sockatmark");
    assert_eq!(oob(&b, s, 0), Ok(b'X'));
    assert_eq!(
        oob(&b, s, 0),
        Err(Errno::EINVAL),
        "the byte was read already"
    );
    assert_eq!(b.sockatmark(s), Ok(1), "still at the mark after MSG_OOB");
    assert_eq!(
        read_str(&b, s),
        "world",
        "the urgent byte is not in the stream"
    );
    assert_eq!(b.sockatmark(s), Ok(0));
    assert!(!except_ready(&b, s), "nothing urgent pending any more");
}

#[test]
fn oob_send_of_several_bytes_makes_only_the_last_urgent() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    send_pieces(&a, c, &[(b"abc", MSG_OOB)]);
    assert_eq!(read_str(&b, s), "ab");
    assert_eq!(b.sockatmark(s), Ok(1));
    assert_eq!(oob(&b, s, 0), Ok(b'c'));
}

#[test]
fn oob_read_without_urgent_data_is_einval() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    assert_eq!(oob(&b, s, 0), Err(Errno::EINVAL));
    send_pieces(&a, c, &[(b"plain", 0)]);
    assert_eq!(
        oob(&b, s, 0),
        Err(Errno::EINVAL),
        "ordinary data is not urgent"
    );
    assert_eq!(oob(&b, s, MSG_DONTWAIT), Err(Errno::EINVAL));
    assert_eq!(b.sockatmark(s), Ok(0));
    assert_eq!(read_str(&b, s), "plain");
    // A socket that never connected has no urgent data either (Linux: EINVAL).
    let fresh = tcp(&b);
    assert_eq!(oob(&b, fresh, 0), Err(Errno::EINVAL));
    assert_eq!(b.sockatmark(fresh), Ok(0));
}

/// Two urgent sends before the reader looks: the second mark replaces the first,
/// whose byte becomes ordinary data (Linux).
#[test]
fn a_second_urgent_byte_replaces_the_first_mark() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    send_pieces(
        &a,
        c,
        &[
            (b"aa", 0),
            (b"X", MSG_OOB),
            (b"bb", 0),
            (b"Y", MSG_OOB),
            (b"cc", 0),
        ],
    );
    assert_eq!(read_str(&b, s), "aaXbb");
    assert_eq!(b.sockatmark(s), Ok(1));
    assert_eq!(read_str(&b, s), "cc", "the urgent byte Y is skipped");
}

/// Linux: once a read went past the urgent byte without `MSG_OOB`, it is gone
/// (`tcp_recvmsg` clears `urg_data`): `recv(MSG_OOB)` says `EINVAL` and select's
/// except set is no longer ready.
#[test]
fn the_urgent_byte_is_gone_once_a_read_went_past_it() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    send_pieces(
        &a,
        c,
        &[
            (b"aa", 0),
            (b"X", MSG_OOB),
            (b"bb", 0),
            (b"Y", MSG_OOB),
            (b"cc", 0),
        ],
    );
    assert_eq!(read_str(&b, s), "aaXbb");
    assert_eq!(read_str(&b, s), "cc");
    assert_eq!(oob(&b, s, 0), Err(Errno::EINVAL));
    assert!(!except_ready(&b, s));
    assert_eq!(b.sockatmark(s), Ok(0));

    // The same with one urgent byte never read out of band.
    send_pieces(&a, c, &[(b"hello", 0), (b"X", MSG_OOB), (b"world", 0)]);
    assert_eq!(read_str(&b, s), "hello");
    assert_eq!(read_str(&b, s), "world");
    assert_eq!(oob(&b, s, 0), Err(Errno::EINVAL));
    assert!(!except_ready(&b, s));
}

#[test]
fn so_oobinline_keeps_the_urgent_byte_in_the_stream() {
    let (a, b) = pair();
    let l = listener_on(&b, 0, 5);
    // Set on the listener: the accepted socket inherits it.
    b.setsockopt(l, SOL_SOCKET, SO_OOBINLINE, &1i32).unwrap();
    let (c, s) = connect_to(&a, &b, l);
    let mut on = 0;
    b.getsockopt(s, SOL_SOCKET, SO_OOBINLINE, &mut on).unwrap();
    assert_eq!(on, 1, "inherited from the listener");
    send_pieces(&a, c, &[(b"hello", 0), (b"X", MSG_OOB), (b"world", 0)]);
    assert_eq!(b.sockatmark(s), Ok(0));
    assert_eq!(read_str(&b, s), "hello");
    assert_eq!(b.sockatmark(s), Ok(1));
    assert_eq!(read_str(&b, s), "Xworld");
    assert_eq!(b.sockatmark(s), Ok(0));
    assert_eq!(oob(&b, s, 0), Err(Errno::EINVAL));
}

#[test]
fn msg_peek_leaves_the_urgent_byte_for_the_next_oob_read() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    send_pieces(&a, c, &[(b"hello", 0), (b"X", MSG_OOB)]);
    assert_eq!(oob(&b, s, MSG_PEEK), Ok(b'X'));
    assert_eq!(oob(&b, s, MSG_PEEK), Ok(b'X'));
    assert_eq!(oob(&b, s, 0), Ok(b'X'));
    assert_eq!(oob(&b, s, 0), Err(Errno::EINVAL));
    assert_eq!(read_str(&b, s), "hello");
}

#[test]
fn the_urgent_handler_runs_before_the_byte_is_read() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    b.set_urgent_handler(s, move |stack: &Stack, fd| {
        // Like a SIGURG handler: look at the socket without reading the byte.
        let _ = tx.lock().unwrap().send((fd, stack.sockatmark(fd)));
    })
    .unwrap();
    assert_eq!(a.send(c, b"data!", MSG_OOB), Ok(5));
    let (fd, at_mark) = rx.recv_timeout(HANG).expect("no urgent notification");
    assert_eq!(fd, s);
    assert_eq!(at_mark, Ok(0), "the handler runs before anything is read");
    // The byte is still there to be read.
    wait_acked(&a, c);
    assert_eq!(read_str(&b, s), "data");
    assert_eq!(oob(&b, s, 0), Ok(b'!'));
    // Ordinary data does not call it; a cleared handler is not called.
    b.clear_urgent_handler(s).unwrap();
    assert_eq!(a.send(c, b"Z", MSG_OOB), Ok(1));
    wait_acked(&a, c);
    assert_eq!(oob(&b, s, 0), Ok(b'Z'));
    assert!(rx.try_recv().is_err(), "no call after clear_urgent_handler");
    assert_eq!(
        b.set_urgent_handler(999, |_: &Stack, _| {}),
        Err(Errno::EBADF)
    );
}

/// The primer's Figure 5, "Flushing terminal i/o on receipt of out of band data",
/// as the urgent handler: read and discard up to the mark, then read the byte.
#[test]
fn figure_5_handler_flushes_up_to_the_mark() {
    let (a, b) = pair();
    let (c, rem, _l) = connected(&a, &b);
    let seen = Arc::new(Mutex::new(None));
    let (done_tx, done) = mpsc::channel();
    let done_tx = Mutex::new(done_tx);
    let seen2 = seen.clone();
    b.set_urgent_handler(rem, move |s: &Stack, rem| {
        let mut waste = [0u8; 1024];
        let mut flushed = 0;
        loop {
            match s
                .ioctl(rem, SIOCATMARK, &mut 0)
                .and_then(|_| s.sockatmark(rem))
            {
                Err(e) => {
                    perror("ioctl", e);
                    break;
                }
                Ok(1) => break,
                Ok(_) => {}
            }
            flushed += s.read(rem, &mut waste).unwrap_or(0);
        }
        let mut mark = [0u8; 1];
        let r = s.recv(rem, &mut mark, MSG_OOB).map(|_| mark[0]);
        *seen2.lock().unwrap() = Some((flushed, r));
        let _ = done_tx.lock().unwrap().send(());
    })
    .unwrap();
    // The "remote login client": output, then the interrupt as urgent data.
    a.send(c, &[b'.'; 3000], 0).unwrap();
    a.send(c, b"\x03", MSG_OOB).unwrap();
    done.recv_timeout(HANG).expect("the handler never finished");
    assert_eq!(*seen.lock().unwrap(), Some((3000, Ok(0x03))));
}

#[test]
fn poll_reports_pollpri_until_the_byte_is_read() {
    let (a, b) = pair();
    let (c, s, _l) = connected(&a, &b);
    assert_eq!(revents(&b, s, POLLPRI), 0);
    a.send(c, b"!", MSG_OOB).unwrap();
    // Blocking poll for POLLPRI alone: wakes when the urgent data is announced.
    let mut p = [PollFd::new(s, POLLPRI)];
    assert_eq!(b.poll(&mut p, HANG.as_millis() as i32), Ok(1));
    assert_eq!(p[0].revents, POLLPRI);
    wait_acked(&a, c);
    assert_eq!(oob(&b, s, 0), Ok(b'!'));
    assert_eq!(revents(&b, s, POLLPRI), 0);
}
