//! The TCP halves of `serve` and `nc`, over the BSD socket calls.
//!
//! `serve`: one listening socket with the given backlog and one thread serving
//! every connection with non-blocking calls and `poll` (so that thousands of
//! clients cost no thread each); the wait is short so that `--for` can end it.
//! RFC 862 echo sends back what arrives until the client closes; RFC 863 discard
//! reads and drops; RFC 864 chargen sends rotating 72-character lines until the
//! client closes (what the client sends is read and dropped); RFC 867 daytime sends
//! the date and time and closes.
//!
//! `nc`: standard input to the socket in one thread, the socket to standard output
//! in the calling thread. On end of file of standard input, the sending side is
//! shut down (`shutdown(SHUT_WR)`, a FIN); `nc` then ends when the peer closes, or
//! `-q` seconds later. Urgent data both ways: see [`nc_tcp`].

use std::io::{BufRead, IsTerminal, Read, Write};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sockets::{
    Errno, FdSet, PollFd, SockAddrIn, Stack, AF_INET, FD_ISSET, FD_SET, FD_ZERO, F_SETFL,
    MSG_DONTWAIT, MSG_OOB, O_NONBLOCK, POLLIN, POLLNVAL, POLLOUT, SHUT_WR, SOCK_STREAM, SOL_SOCKET,
    SO_REUSEADDR,
};

use crate::cmd::serve::{chargen_line, daytime_string, Service};

/// How often blocked loops look at the clock (for `--for` and `-q`).
const TICK: Duration = Duration::from_millis(200);

/// A listening TCP socket on `port` of every local address, with `backlog`.
fn listener(net: &Stack, port: u16, backlog: i32) -> Result<i32, String> {
    let s = net
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(|e| format!("socket: {e}"))?;
    let name = SockAddrIn::new(Ipv4Addr::UNSPECIFIED, port); // INADDR_ANY
    let r = net
        .setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &1i32)
        .map_err(|e| format!("setsockopt(SO_REUSEADDR): {e}"))
        .and_then(|()| {
            net.bind(s, &name)
                .map_err(|e| format!("bind TCP port {port}: {e}"))
        })
        .and_then(|()| {
            net.listen(s, backlog)
                .map_err(|e| format!("listen(backlog {backlog}): {e}"))
        });
    match r {
        Ok(()) => Ok(s),
        Err(e) => {
            let _ = net.close(s);
            Err(e)
        }
    }
}

fn expired(until: Option<Instant>) -> bool {
    until.is_some_and(|u| Instant::now() >= u)
}

/// Waits at most [`TICK`] (or until `until`) for `fd` to be readable.
fn readable(net: &Stack, fd: i32, until: Option<Instant>) -> Result<bool, Errno> {
    let mut ready = FdSet::new();
    FD_ZERO(&mut ready);
    FD_SET(fd, &mut ready);
    let wait = until.map_or(TICK, |u| {
        TICK.min(u.saturating_duration_since(Instant::now()))
    });
    net.select(fd + 1, Some(&mut ready), None, None, Some(wait))?;
    Ok(FD_ISSET(fd, &ready))
}

/// Serves `service` over TCP on `port` with a listen queue of `backlog`, until
/// `until` (or forever): one thread, `poll` over the listener and every
/// connection, all of them non-blocking (see [`Conn`]).
///
/// When `accept` finds no free descriptor (`EMFILE`), the server says so once,
/// leaves the connections in the listen queue, and accepts again as soon as one
/// of its connections closes, as event-driven servers do.
pub fn serve(
    net: &Stack,
    service: Service,
    port: u16,
    backlog: i32,
    until: Option<Instant>,
) -> Result<(), String> {
    let s = listener(net, port, backlog)?;
    eprintln!("serving {service:?} on TCP port {port} (backlog {backlog})");
    let result = serve_loop(net, s, service, until);
    let _ = net.close(s);
    result
}

fn serve_loop(net: &Stack, s: i32, service: Service, until: Option<Instant>) -> Result<(), String> {
    net.fcntl(s, F_SETFL, O_NONBLOCK)
        .map_err(|e| format!("fcntl(O_NONBLOCK): {e}"))?;
    let chargen = chargen_stream();
    let mut conns: Vec<Conn> = Vec::new();
    let mut pfds: Vec<PollFd> = Vec::new();
    let mut buf = vec![0u8; IO_SIZE];
    let mut out_of_fds = false;
    let mut said_out_of_fds = false;
    let result = loop {
        if expired(until) {
            break Ok(());
        }
        pfds.clear();
        pfds.push(PollFd::new(if out_of_fds { -1 } else { s }, POLLIN));
        pfds.extend(conns.iter().map(|c| PollFd::new(c.fd, c.interest(service))));
        let wait = until.map_or(TICK, |u| {
            TICK.min(u.saturating_duration_since(Instant::now()))
        });
        if let Err(e) = net.poll(&mut pfds, wait.as_millis() as i32) {
            break Err(format!("poll: {e}"));
        }
        if pfds[0].revents & POLLIN != 0 {
            loop {
                match net.accept(s) {
                    Ok((fd, from)) => {
                        tracing::info!(
                            "{service:?}: connection from {}",
                            from.to_socket_addr()
                                .map_or_else(|_| "?".into(), |a| a.to_string())
                        );
                        if net.fcntl(fd, F_SETFL, O_NONBLOCK).is_err() {
                            let _ = net.close(fd);
                            continue;
                        }
                        conns.push(Conn::new(fd, service));
                    }
                    Err(Errno::EWOULDBLOCK | Errno::ECONNABORTED) => break,
                    Err(Errno::EMFILE | Errno::ENFILE) => {
                        out_of_fds = true;
                        if !said_out_of_fds {
                            eprintln!(
                                "serve: out of descriptors with {} connections open (see \
                                 --max-fds); new connections wait in the listen queue",
                                conns.len()
                            );
                            said_out_of_fds = true;
                        }
                        break;
                    }
                    Err(e) => return Err(format!("accept: {e}")),
                }
            }
        }
        let before = conns.len();
        let mut i = 0;
        conns.retain_mut(|c| {
            i += 1;
            let revents = pfds.get(i).map_or(0, |p| p.revents);
            let keep = revents == 0 || c.step(net, service, revents, &mut buf, &chargen);
            if !keep {
                let _ = net.close(c.fd);
            }
            keep
        });
        if conns.len() < before {
            out_of_fds = false;
        }
    };
    for c in conns {
        let _ = net.close(c.fd);
    }
    result
}

/// Bytes read or written per call.
const IO_SIZE: usize = 64 * 1024;

/// RFC 864's stream: line `n` holds 72 characters starting with the `n`-th
/// printable one, so the pattern repeats after 95 lines. Precomputed once and
/// long enough that a write of [`IO_SIZE`] bytes from any point of the cycle is
/// one slice.
fn chargen_stream() -> Vec<u8> {
    let cycle = 95 * 74;
    let mut v = Vec::with_capacity(IO_SIZE + cycle);
    let mut n = 0;
    while v.len() < IO_SIZE + cycle {
        v.extend(chargen_line(n % 95));
        n += 1;
    }
    v
}

/// One client of the server.
struct Conn {
    fd: i32,
    /// Echo: what was read and is not yet written back. Daytime: the reply.
    pending: Vec<u8>,
    /// How much of `pending` went out.
    sent: usize,
    /// Chargen: where in the cycle the next write starts.
    offset: usize,
    /// Chargen: the client shut its sending side; the lines go on (as inetd's
    /// chargen, which never reads) until it closes or resets.
    peer_done: bool,
}

impl Conn {
    fn new(fd: i32, service: Service) -> Conn {
        let pending = match service {
            Service::Daytime => daytime_string(SystemTime::now()).into_bytes(),
            _ => Vec::new(),
        };
        Conn {
            fd,
            pending,
            sent: 0,
            offset: 0,
            peer_done: false,
        }
    }

    fn owes(&self) -> bool {
        self.sent < self.pending.len()
    }

    /// What to wait for: input unless a reply is owed (echo stops reading until
    /// its client takes what it sent, so the client's window does the flow
    /// control), output while something is owed.
    fn interest(&self, service: Service) -> i16 {
        match service {
            Service::Echo if self.owes() => POLLOUT,
            Service::Echo | Service::Discard => POLLIN,
            Service::Chargen if self.peer_done => POLLOUT,
            Service::Chargen => POLLIN | POLLOUT,
            Service::Daytime => POLLOUT | POLLIN,
        }
    }

    /// Serves what `poll` reported; false when the connection is done.
    fn step(
        &mut self,
        net: &Stack,
        service: Service,
        revents: i16,
        buf: &mut [u8],
        chargen: &[u8],
    ) -> bool {
        if revents & POLLNVAL != 0 {
            return false;
        }
        match service {
            Service::Echo => {
                if !self.owes() {
                    match net.read(self.fd, buf) {
                        Ok(0) => return false,
                        Ok(n) => {
                            self.pending.clear();
                            self.pending.extend_from_slice(&buf[..n]);
                            self.sent = 0;
                        }
                        Err(Errno::EWOULDBLOCK) => {}
                        Err(_) => return false,
                    }
                }
                self.flush(net)
            }
            Service::Discard => self.drain(net, buf),
            Service::Chargen => {
                if !self.peer_done && !self.drain(net, buf) {
                    // End of input, or an error the write below reports.
                    self.peer_done = true;
                }
                let cycle = 95 * 74;
                let end = (self.offset + IO_SIZE).min(chargen.len());
                match net.write(self.fd, &chargen[self.offset..end]) {
                    Ok(n) => {
                        self.offset = (self.offset + n) % cycle;
                        true
                    }
                    Err(Errno::EWOULDBLOCK) => true,
                    Err(_) => false,
                }
            }
            Service::Daytime => {
                if !self.flush(net) {
                    return false;
                }
                if self.owes() {
                    return true;
                }
                // Sent: read what the client may have sent (so that closing is a
                // FIN, not a reset for unread data), then close.
                let _ = self.drain(net, buf);
                false
            }
        }
    }

    /// Writes what is owed; false on an error. An idle connection keeps no
    /// buffer.
    fn flush(&mut self, net: &Stack) -> bool {
        while self.owes() {
            match net.write(self.fd, &self.pending[self.sent..]) {
                Ok(n) => self.sent += n,
                Err(Errno::EWOULDBLOCK) => return true,
                Err(_) => return false,
            }
        }
        self.pending = Vec::new();
        self.sent = 0;
        true
    }

    /// Reads and drops what is queued; false at the end of the stream or on an
    /// error.
    fn drain(&mut self, net: &Stack, buf: &mut [u8]) -> bool {
        loop {
            match net.read(self.fd, buf) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(Errno::EWOULDBLOCK) => return true,
                Err(_) => return false,
            }
        }
    }
}

// ------------------------------------------------------------------------ nc

/// Total bytes after which `nc` shows its progress bar even with a terminal on
/// standard input.
const PROGRESS_AFTER: u64 = 1 << 20;

/// `nc`'s progress on standard error: bytes sent and received, and the rate.
///
/// Shown from the start when standard input is not a terminal (a file or a pipe
/// is being sent), otherwise once more than [`PROGRESS_AFTER`] bytes moved; never
/// with `--quiet`, and never when standard error is not a terminal (indicatif
/// draws nothing then).
struct Progress {
    bar: ProgressBar,
    sent: AtomicU64,
    received: AtomicU64,
    shown: AtomicBool,
    quiet: bool,
    /// Held while reading and printing the urgent byte, by the handler or the
    /// reader: the reader cannot find the byte gone (and end the program) before
    /// the handler that took it printed it.
    oob: parking_lot::Mutex<()>,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        let bar = ProgressBar::hidden();
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {msg} ({binary_bytes_per_sec})",
        ) {
            bar.set_style(style);
        }
        let p = Progress {
            bar,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            shown: AtomicBool::new(false),
            quiet,
            oob: parking_lot::Mutex::new(()),
        };
        if !std::io::stdin().is_terminal() {
            p.show();
        }
        p
    }

    fn show(&self) {
        if !self.quiet && !self.shown.swap(true, Ordering::Relaxed) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    fn add(&self, sent: usize, received: usize) {
        let s = self.sent.fetch_add(sent as u64, Ordering::Relaxed) + sent as u64;
        let r = self.received.fetch_add(received as u64, Ordering::Relaxed) + received as u64;
        if s + r > PROGRESS_AFTER {
            self.show();
        }
        self.bar.inc((sent + received) as u64);
        self.bar.set_message(format!(
            "sent {}, received {}",
            HumanBytes(s),
            HumanBytes(r)
        ));
    }

    /// Runs `f` with the bar out of the way (for lines on the terminal).
    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    fn finish(&self) {
        self.bar.abandon();
    }
}

/// Reads the urgent byte, if it is there and not read yet, and prints it on
/// standard error. Returns false when there is none to wait for (none announced,
/// or already read), true when it was announced but has not arrived.
fn take_oob(net: &Stack, fd: i32, progress: &Progress) -> bool {
    let _taking = progress.oob.lock();
    let mut byte = [0u8; 1];
    match net.recv(fd, &mut byte, MSG_OOB) {
        Ok(1) => {
            progress.suspend(|| eprintln!("[OOB byte {:#04x}]", byte[0]));
            false
        }
        Err(Errno::EWOULDBLOCK) => true,
        _ => false,
    }
}

/// netcat over TCP: connects to `host`:`port`, or with `host` `None` listens on
/// `port` and accepts one connection; then copies standard input to the socket and
/// the socket to standard output.
///
/// - Urgent data out: with `oob_prefix`, standard input is read line by line, and
///   a line starting with the prefix is sent with `MSG_OOB`: the prefix and the
///   line's newline are removed, and the **last byte** of what remains is the
///   urgent byte (the bytes before it go as ordinary data in the same send). So
///   with `--oob-prefix '!'`, the line `!X` sends the single urgent byte `X`.
/// - Urgent data in: an urgent handler (the in-process `SIGURG`) reads the urgent
///   byte as soon as it arrives and prints `[OOB byte 0x..]` on standard error,
///   apart from the data; should the byte come later than its announcement, the
///   reader takes it when it reaches the mark.
/// - End: on end of file of standard input, `shutdown(SHUT_WR)`; then `nc` ends
///   when the peer closes, or `quit` later (`None`: only when the peer closes).
///   It also ends when the peer closes first.
/// - Progress: a bar on standard error (see [`Progress`]), unless `quiet`.
pub fn nc_tcp(
    net: &Stack,
    host: Option<Ipv4Addr>,
    port: u16,
    oob_prefix: Option<&str>,
    quit: Option<Duration>,
    quiet: bool,
) -> Result<(), String> {
    let fd = match host {
        Some(h) => {
            let fd = net
                .socket(AF_INET, SOCK_STREAM, 0)
                .map_err(|e| format!("socket: {e}"))?;
            if let Err(e) = net.connect(fd, &SockAddrIn::new(h, port)) {
                let _ = net.close(fd);
                return Err(format!("connect to {h}:{port}: {e}"));
            }
            fd
        }
        None => {
            let l = listener(net, port, 1)?;
            let accepted = net.accept(l);
            let _ = net.close(l);
            let (fd, from) = accepted.map_err(|e| format!("accept: {e}"))?;
            if let Ok(from) = from.to_socket_addr() {
                eprintln!("nc: connection from {from}");
            }
            fd
        }
    };
    let progress = Arc::new(Progress::new(quiet));
    {
        let progress = progress.clone();
        net.set_urgent_handler(fd, move |net, fd| {
            // Announced before it arrived: look again for a while; the reader
            // takes it at the mark otherwise.
            for _ in 0..50 {
                if !take_oob(net, fd, &progress) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .map_err(|e| format!("urgent handler: {e}"))?;
    }
    let sender = {
        let net = net.clone();
        let progress = progress.clone();
        let prefix = oob_prefix.map(|p| p.as_bytes().to_vec());
        std::thread::spawn(move || {
            let r = send_stdin(&net, fd, prefix.as_deref(), &progress);
            if let Err(e) = &r {
                progress.suspend(|| eprintln!("nc: {e}"));
            }
            let _ = net.shutdown(fd, SHUT_WR);
        })
    };
    let result = receive_to_stdout(net, fd, &sender, quit, &progress);
    progress.finish();
    let _ = net.close(fd);
    result
}

/// Standard input to the socket.
fn send_stdin(
    net: &Stack,
    fd: i32,
    oob_prefix: Option<&[u8]>,
    progress: &Progress,
) -> Result<(), String> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let send = |data: &[u8], flags: i32| -> Result<(), String> {
        let n = net
            .send(fd, data, flags)
            .map_err(|e| format!("send: {e}"))?;
        progress.add(n, 0);
        if n < data.len() {
            return Err(format!("short send ({n} of {} bytes)", data.len()));
        }
        Ok(())
    };
    match oob_prefix {
        None => {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(format!("standard input: {e}")),
                };
                send(&buf[..n], 0)?;
            }
        }
        Some(prefix) => {
            let mut line = Vec::new();
            loop {
                line.clear();
                match input.read_until(b'\n', &mut line) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(format!("standard input: {e}")),
                }
                match line.strip_prefix(prefix) {
                    Some(urgent) => {
                        let urgent = urgent.strip_suffix(b"\n").unwrap_or(urgent);
                        if !urgent.is_empty() {
                            send(urgent, MSG_OOB)?;
                        }
                    }
                    None => send(&line, 0)?,
                }
            }
        }
    }
}

/// The socket to standard output, until the peer closes, or `quit` after the
/// sender finished.
fn receive_to_stdout(
    net: &Stack,
    fd: i32,
    sender: &std::thread::JoinHandle<()>,
    quit: Option<Duration>,
    progress: &Progress,
) -> Result<(), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut stdin_done_at: Option<Instant> = None;
    let stdout = std::io::stdout();
    let to_terminal = stdout.is_terminal();
    loop {
        let ready = readable(net, fd, None).map_err(|e| format!("select: {e}"))?;
        // At the mark the urgent byte is here: take it before a read steps over
        // it. (Asked after select, so that data which made the socket readable is
        // before any byte still to come: a read cannot step over it.)
        if net.sockatmark(fd) == Ok(1) {
            take_oob(net, fd, progress);
        }
        if ready {
            match net.recv(fd, &mut buf, MSG_DONTWAIT) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    let write = || {
                        let mut out = stdout.lock();
                        out.write_all(&buf[..n]).and_then(|()| out.flush())
                    };
                    let written = if to_terminal {
                        progress.suspend(write)
                    } else {
                        write()
                    };
                    if let Err(e) = written {
                        return Err(format!("standard output: {e}"));
                    }
                    progress.add(0, n);
                }
                Err(Errno::EWOULDBLOCK) => {}
                Err(e) => return Err(format!("recv: {e}")),
            }
        }
        if sender.is_finished() {
            let at = *stdin_done_at.get_or_insert_with(Instant::now);
            if quit.is_some_and(|q| at.elapsed() >= q) {
                return Ok(());
            }
        }
    }
}
