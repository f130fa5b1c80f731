//! The TCP halves of `serve` and `nc`, over the BSD socket calls.
//!
//! `serve`: one listening socket with the given backlog; `select` with a short
//! timeout before each `accept` (so that `--for` can end it), and one thread per
//! connection, as the classic inetd-style servers fork one process per client.
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
    Errno, FdSet, SockAddrIn, Stack, TimeVal, AF_INET, FD_ISSET, FD_SET, FD_ZERO, MSG_DONTWAIT,
    MSG_OOB, SHUT_WR, SOCK_STREAM, SOL_SOCKET, SO_RCVTIMEO, SO_REUSEADDR, SO_SNDTIMEO,
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
/// `until` (or forever). Each connection gets its own thread.
pub fn serve(
    net: &Stack,
    service: Service,
    port: u16,
    backlog: i32,
    until: Option<Instant>,
) -> Result<(), String> {
    let s = listener(net, port, backlog)?;
    eprintln!("serving {service:?} on TCP port {port} (backlog {backlog})");
    let mut workers: Vec<std::thread::JoinHandle<()>> = Vec::new();
    let result = loop {
        if expired(until) {
            break Ok(());
        }
        match readable(net, s, until) {
            Ok(false) => {}
            Ok(true) => match net.accept(s) {
                Ok((fd, from)) => {
                    tracing::info!(
                        "{service:?}: connection from {}",
                        from.to_socket_addr()
                            .map_or_else(|_| "?".into(), |a| a.to_string())
                    );
                    let conn_net = net.clone();
                    let spawned = std::thread::Builder::new()
                        .name(format!("{service:?}-{fd}").to_lowercase())
                        .spawn(move || {
                            if let Err(e) = serve_connection(&conn_net, fd, service, until) {
                                tracing::info!("{service:?} connection: {e}");
                            }
                            let _ = conn_net.close(fd);
                        });
                    match spawned {
                        Ok(h) => workers.push(h),
                        Err(e) => {
                            eprintln!("serve: cannot start a thread: {e}");
                            let _ = net.close(fd);
                        }
                    }
                }
                Err(Errno::EWOULDBLOCK | Errno::ECONNABORTED) => {}
                Err(e) => break Err(format!("accept: {e}")),
            },
            Err(e) => break Err(format!("select: {e}")),
        }
        workers.retain(|h| !h.is_finished());
    };
    let _ = net.close(s);
    for h in workers {
        let _ = h.join();
    }
    result
}

/// One client of `service` on the connected socket `fd` (closed by the caller).
fn serve_connection(
    net: &Stack,
    fd: i32,
    service: Service,
    until: Option<Instant>,
) -> Result<(), Errno> {
    // Blocking calls wake up every TICK to look at the clock.
    let tick = TimeVal::from_duration(TICK);
    net.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick)?;
    net.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tick)?;
    let mut buf = vec![0u8; 64 * 1024];
    match service {
        Service::Echo | Service::Discard => loop {
            if expired(until) {
                return Ok(());
            }
            match net.read(fd, &mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) if service == Service::Echo => write_all(net, fd, &buf[..n], until)?,
                Ok(_) => {}
                Err(Errno::EWOULDBLOCK) => {}
                Err(e) => return Err(e),
            }
        },
        Service::Chargen => {
            let mut line = 0usize;
            loop {
                if expired(until) {
                    return Ok(());
                }
                // What the client sends is read and dropped.
                drain(net, fd, &mut buf);
                let mut batch = Vec::with_capacity(64 * 74);
                for _ in 0..64 {
                    batch.extend(chargen_line(line));
                    line += 1;
                }
                write_all(net, fd, &batch, until)?;
            }
        }
        Service::Daytime => {
            write_all(net, fd, daytime_string(SystemTime::now()).as_bytes(), until)?;
            // Read what the client may have sent, so that closing is a FIN, not a
            // reset for unread data.
            drain(net, fd, &mut buf);
            Ok(())
        }
    }
}

/// Reads and drops whatever is queued, without waiting.
fn drain(net: &Stack, fd: i32, buf: &mut [u8]) {
    while let Ok(n) = net.recv(fd, buf, MSG_DONTWAIT) {
        if n == 0 {
            break;
        }
    }
}

/// Writes all of `data`, going on after send timeouts until `until`.
fn write_all(net: &Stack, fd: i32, mut data: &[u8], until: Option<Instant>) -> Result<(), Errno> {
    while !data.is_empty() {
        if expired(until) {
            return Err(Errno::ETIMEDOUT);
        }
        match net.write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::EWOULDBLOCK) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
