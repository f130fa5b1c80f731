//! The error cases the seed documents describe, each a few BSD calls that end in
//! the error (or the behaviour) the text promises, printed the way a C program
//! would (`perror`). Host A calls, host B answers; each function returns what it
//! saw so the demo and the tests can check it.
//!
//! - 4.2BSD primer 2.3/2.4: `connect` to a port nobody listens on is refused
//!   (ECONNREFUSED); a connection request that finds the listen queue full "is
//!   ignored, not refused".
//! - 4.4BSD tutorial, binding: an address in use (EADDRINUSE); ports below 1024
//!   are reserved for the privileged (EACCES).
//! - A connected datagram socket learns of an unreachable port from the ICMP error
//!   (ECONNREFUSED on the next call).
//! - `recv` with MSG_PEEK looks at data without taking it.
//! - `shutdown(s, 1)`: no more sends; the peer reads end-of-file, and can still
//!   answer.

use std::net::Ipv4Addr;
use std::time::Duration;

use sockets::{
    Errno, PollFd, SockAddrIn, Stack, TimeVal, AF_INET, F_SETFL, MSG_PEEK, O_NONBLOCK, POLLOUT,
    SHUT_WR, SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_RCVTIMEO,
};
use stack::DropReason;

use super::say_on;

/// `perror(what)` as `host`'s program line; returns the error.
fn report(host: &'static str, what: &str, e: Errno) -> Errno {
    say_on(host, format_args!("{what}: {e}"));
    e
}

fn tcp(net: &Stack) -> Result<i32, String> {
    net.socket(AF_INET, SOCK_STREAM, 0)
        .map_err(|e| format!("socket: {e}"))
}

fn udp(net: &Stack) -> Result<i32, String> {
    net.socket(AF_INET, SOCK_DGRAM, 0)
        .map_err(|e| format!("socket: {e}"))
}

/// A's `connect` to `host`:`port`, where nothing listens: the RST answering the
/// SYN makes it ECONNREFUSED.
pub fn refused_connect(a: &Stack, host: Ipv4Addr, port: u16) -> Result<Option<Errno>, String> {
    let s = tcp(a)?;
    say_on(
        "A",
        format_args!("connect(s, {host}:{port}) with nothing listening"),
    );
    let r = a.connect(s, &SockAddrIn::new(host, port));
    let _ = a.close(s);
    Ok(r.err().map(|e| report("A", "connect", e)))
}

/// What happened to connection requests beyond a full listen queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogOutcome {
    /// Connections completed while nobody called `accept`.
    pub connected: usize,
    /// Connections still waiting (their SYNs ignored) when A gave up.
    pub waiting: usize,
    /// SYNs B dropped because the queue was full.
    pub syns_ignored: u64,
}

/// B listens with a backlog of 1 and never accepts; A connects once (that
/// connection fills the queue), then starts `tries - 1` non-blocking connects
/// and waits `wait` for them: their SYNs are ignored (not refused), so they wait,
/// to be retried.
pub fn full_backlog(
    a: &Stack,
    b: &Stack,
    host: Ipv4Addr,
    port: u16,
    tries: usize,
    wait: Duration,
) -> Result<BacklogOutcome, String> {
    let l = tcp(b)?;
    b.bind(l, &SockAddrIn::new(Ipv4Addr::UNSPECIFIED, port))
        .map_err(|e| format!("bind: {e}"))?;
    b.listen(l, 1).map_err(|e| format!("listen: {e}"))?;
    say_on("B", format_args!("listen(s, 1), and no accept"));
    let dropped_before = b
        .lock()
        .engine_ref()
        .counters()
        .drops(DropReason::TcpAcceptQueueFull);
    let mut fds = Vec::new();
    for i in 0..tries {
        let s = tcp(a)?;
        // The first connect completes and fills the queue; the others do not wait.
        if i > 0 {
            a.fcntl(s, F_SETFL, O_NONBLOCK)
                .map_err(|e| format!("fcntl: {e}"))?;
        }
        match a.connect(s, &SockAddrIn::new(host, port)) {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            Err(e) => return Err(format!("connect: {e}")),
        }
        fds.push(s);
    }
    let mut polled: Vec<PollFd> = fds
        .iter()
        .map(|&fd| PollFd {
            fd,
            events: POLLOUT,
            revents: 0,
        })
        .collect();
    // Whatever completes in `wait`; the rest are SYN-SENT, retrying.
    let deadline = std::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        for p in polled.iter_mut() {
            p.revents = 0;
        }
        let n = a
            .poll(&mut polled, left.as_millis() as i32)
            .map_err(|e| format!("poll: {e}"))?;
        if n as usize == polled.len() || left.is_zero() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let connected = polled.iter().filter(|p| p.revents & POLLOUT != 0).count();
    let syns_ignored = b
        .lock()
        .engine_ref()
        .counters()
        .drops(DropReason::TcpAcceptQueueFull)
        - dropped_before;
    say_on(
        "A",
        format_args!(
            "{tries} connects: {connected} connected, {} still waiting \
             (B ignored {syns_ignored} SYNs: its queue was full)",
            tries - connected
        ),
    );
    for s in fds {
        let _ = a.close(s);
    }
    let _ = b.close(l);
    Ok(BacklogOutcome {
        connected,
        waiting: tries - connected,
        syns_ignored,
    })
}

/// Two sockets of B bind the same UDP port: the second gets EADDRINUSE.
pub fn address_in_use(b: &Stack, port: u16) -> Result<Option<Errno>, String> {
    let s1 = udp(b)?;
    let s2 = udp(b)?;
    let name = SockAddrIn::new(Ipv4Addr::UNSPECIFIED, port);
    b.bind(s1, &name).map_err(|e| format!("bind: {e}"))?;
    say_on(
        "B",
        format_args!("bind(s1, 0.0.0.0:{port}) then bind(s2, 0.0.0.0:{port})"),
    );
    let r = b.bind(s2, &name);
    let _ = (b.close(s1), b.close(s2));
    Ok(r.err().map(|e| report("B", "bind", e)))
}

/// An unprivileged bind of a reserved port (below 1024): EACCES.
pub fn reserved_port(b: &Stack, port: u16) -> Result<Option<Errno>, String> {
    let s = tcp(b)?;
    say_on(
        "B",
        format_args!("bind(s, 0.0.0.0:{port}) without privilege"),
    );
    let r = b.bind(s, &SockAddrIn::new(Ipv4Addr::UNSPECIFIED, port));
    let _ = b.close(s);
    Ok(r.err().map(|e| report("B", "bind", e)))
}

/// A connected UDP socket sends to a port nobody has bound; the ICMP port
/// unreachable that answers makes the next `recv` fail with ECONNREFUSED.
pub fn refused_datagram(a: &Stack, host: Ipv4Addr, port: u16) -> Result<Option<Errno>, String> {
    let s = udp(a)?;
    a.connect(s, &SockAddrIn::new(host, port))
        .map_err(|e| format!("connect: {e}"))?;
    // Not forever: a second at most (SO_RCVTIMEO).
    a.setsockopt(
        s,
        SOL_SOCKET,
        SO_RCVTIMEO,
        &TimeVal::from_duration(Duration::from_secs(1)),
    )
    .map_err(|e| format!("setsockopt: {e}"))?;
    say_on(
        "A",
        format_args!("connected UDP: send(s, \"anyone?\") to {host}:{port}, then recv(s)"),
    );
    a.send(s, b"anyone?", 0).map_err(|e| format!("send: {e}"))?;
    let mut buf = [0u8; 64];
    let r = a.recv(s, &mut buf, 0);
    let _ = a.close(s);
    Ok(r.err().map(|e| report("A", "recv", e)))
}

/// `read`s until `limit` bytes came or end of file.
fn read_up_to(net: &Stack, fd: i32, limit: usize) -> Result<Vec<u8>, String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < limit {
        let n = net.read(fd, &mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

/// What the stream cases saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOutcome {
    /// What `recv(MSG_PEEK)` returned.
    pub peeked: Vec<u8>,
    /// What the `read` after it returned.
    pub read: Vec<u8>,
    /// The `read` after A's `shutdown(s, 1)` returned 0 (end of file).
    pub eof_after_shutdown: bool,
    /// What A read after its own shutdown: B's answer.
    pub answer_after_shutdown: Vec<u8>,
}

/// On one connection: A writes a message and shuts its sending side; B peeks at
/// the message (MSG_PEEK), reads it (the same bytes again), reads end-of-file,
/// and answers; A, which can no longer send, still reads the answer.
pub fn peek_and_half_close(
    a: &Stack,
    b: &Stack,
    host: Ipv4Addr,
    port: u16,
) -> Result<StreamOutcome, String> {
    let l = tcp(b)?;
    b.bind(l, &SockAddrIn::new(Ipv4Addr::UNSPECIFIED, port))
        .map_err(|e| format!("bind: {e}"))?;
    b.listen(l, 1).map_err(|e| format!("listen: {e}"))?;
    let c = tcp(a)?;
    a.connect(c, &SockAddrIn::new(host, port))
        .map_err(|e| format!("connect: {e}"))?;
    let (s, _) = b.accept(l).map_err(|e| format!("accept: {e}"))?;
    a.write(c, b"peekaboo").map_err(|e| format!("write: {e}"))?;
    a.shutdown(c, SHUT_WR)
        .map_err(|e| format!("shutdown: {e}"))?;
    say_on("A", format_args!("write(s, \"peekaboo\"); shutdown(s, 1)"));
    let mut buf = [0u8; 64];
    let n = b
        .recv(s, &mut buf, MSG_PEEK)
        .map_err(|e| format!("recv: {e}"))?;
    let peeked = buf[..n].to_vec();
    say_on(
        "B",
        format_args!(
            "recv(s, MSG_PEEK) = {n}: \"{}\"",
            String::from_utf8_lossy(&peeked)
        ),
    );
    let read = read_up_to(b, s, peeked.len())?;
    say_on(
        "B",
        format_args!(
            "read(s) = {}: \"{}\" (the same bytes: the peek left them)",
            read.len(),
            String::from_utf8_lossy(&read)
        ),
    );
    let eof = b.read(s, &mut buf).map_err(|e| format!("read: {e}"))?;
    say_on(
        "B",
        format_args!("read(s) = {eof}: end of file, A sends no more"),
    );
    b.write(s, b"bye").map_err(|e| format!("write: {e}"))?;
    say_on("B", format_args!("write(s, \"bye\"); close(s)"));
    let _ = b.close(s);
    let answer = read_up_to(a, c, usize::MAX)?;
    say_on(
        "A",
        format_args!(
            "read(s) = \"{}\" after its own shutdown, then end of file",
            String::from_utf8_lossy(&answer)
        ),
    );
    let _ = (a.close(c), b.close(l));
    Ok(StreamOutcome {
        peeked,
        read,
        eof_after_shutdown: eof == 0,
        answer_after_shutdown: answer,
    })
}
