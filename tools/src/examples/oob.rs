//! 4.2BSD IPC primer, section 5.1 and Figure 5: "Flushing terminal i/o on receipt of
//! out of band data", as a pair of programs.
//!
//! In remote login, the server streams the output of the remote programs to the
//! client, which copies it to the terminal. When the user types an interrupt, the
//! output already on its way is no longer wanted: an out-of-band byte (the signal
//! number, as rlogin sends it) goes with `send(MSG_OOB)`, the receiver gets
//! `SIGURG`, and its handler, Figure 5's `oob()`, reads and discards everything up
//! to the mark (`ioctl(SIOCATMARK)` says 1 when the next read would return data
//! sent after the out-of-band byte), then reads the byte itself with
//! `recv(MSG_OOB)`.
//!
//! - [`figure_5_client`] plays the side that produces the output and the interrupt:
//!   it writes many lines of text, then one out-of-band byte, then a little more.
//! - [`figure_5_server`] plays the side that copies output and gets the interrupt:
//!   its main loop reads the stream (rlogin's reader, which would copy it to the
//!   terminal), and Figure 5's `oob()` is registered with
//!   [`Stack::set_urgent_handler`], the in-process `signal(SIGURG, oob)` +
//!   `fcntl(rem, F_SETOWN, getpid())`.
//!
//! The handler runs on the stack's notifier thread, not on the reader's. A signal
//! handler runs while the interrupted program waits; here a mutex gives the same
//! effect: the handler holds it while it flushes, and the reader only reads while
//! holding it (and only without waiting, after `select` said there is something,
//! so it never holds it for long). When the reader's `select` shows urgent data
//! pending (its except set) it does not read on, which could pass the mark, but
//! waits for the handler.
//!
//! One more departure from the C: Figure 5's `read` inside the loop blocks. On this
//! stack the mark is known only once the urgent byte itself has arrived, and a read
//! that waits at the very place of a byte announced but not yet arrived would step
//! over it when it comes (a read at the mark skips the out-of-band byte). So the
//! loop waits in `select` for something to read (at most 50 ms), asks
//! `SIOCATMARK` again, and only then reads, without waiting.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use sockets::{
    htons, ntohs, perror, Errno, FdSet, SockAddrIn, Stack, AF_INET, FD_ISSET, FD_SET, FD_ZERO,
    INADDR_ANY, MSG_DONTWAIT, MSG_OOB, SHUT_WR, SIOCATMARK, SOCK_STREAM,
};

use super::fail;

/// Figure 5's `BUFSIZ`.
pub const BUFSIZ: usize = 8192;

/// The out-of-band byte the client sends: the signal number, as rlogin's client
/// sends it for an interrupt (`SIGINT`, 2).
pub const INTERRUPT: u8 = libc::SIGINT as u8;

/// What the client writes after the out-of-band byte.
pub const AFTER_INTERRUPT: &str = "^C\nremote shell: interrupted, prompt is back\n$ ";

/// How long the reader waits for the handler once it sees urgent data pending,
/// before it concludes that no "signal" is coming (the handler was registered
/// after the urgent data was announced) and flushes itself.
const HANDLER_GRACE: Duration = Duration::from_secs(2);

/// How long the flushing loop waits in `select` before asking `SIOCATMARK` again.
const MARK_POLL: Duration = Duration::from_millis(50);

/// The server's report of one interrupted transfer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OobSummary {
    /// Bytes the reader read (and would have shown) before the interrupt.
    pub read_before: usize,
    /// Bytes `oob()` discarded up to the mark.
    pub flushed: usize,
    /// The out-of-band byte, if `recv(MSG_OOB)` got it.
    pub oob_byte: Option<u8>,
    /// Everything read after the mark, until the client closed.
    pub after_mark: Vec<u8>,
    /// How many times the urgent handler ran ("signals" delivered).
    pub signals: usize,
}

/// The client's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientReport {
    /// Bytes written before the out-of-band byte.
    pub sent_before: usize,
    /// The out-of-band byte.
    pub oob_byte: u8,
    /// Bytes written after it.
    pub sent_after: usize,
}

/// `count` bytes of "remote output": numbered lines of text.
pub fn remote_output(count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count + 80);
    let mut line = 0u32;
    while out.len() < count {
        out.extend_from_slice(
            format!("{line:06} the output of a remote program, on its way to the terminal\n")
                .as_bytes(),
        );
        line += 1;
    }
    out.truncate(count);
    out
}

/// The client: connects to `host`:`port`, writes `output_bytes` bytes of
/// [`remote_output`], then the interrupt as one out-of-band byte
/// (`send(s, &sig, 1, MSG_OOB)`), then [`AFTER_INTERRUPT`]; then shuts down its
/// sending side, waits until the server closes, and closes.
pub fn figure_5_client(
    net: &Stack,
    host: Ipv4Addr,
    port: u16,
    output_bytes: usize,
) -> Result<ClientReport, String> {
    let s = net
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(fail("opening stream socket"))?;
    let server = SockAddrIn::new(host, port);
    if let Err(e) = net.connect(s, &server) {
        let _ = net.close(s);
        return Err(fail("connecting stream socket")(e));
    }
    let result = client_body(net, s, output_bytes);
    let _ = net.close(s);
    result
}

fn client_body(net: &Stack, s: i32, output_bytes: usize) -> Result<ClientReport, String> {
    // The remote programs write their output...
    let output = remote_output(output_bytes);
    let mut sent_before = 0;
    for chunk in output.chunks(BUFSIZ) {
        let n = net
            .write(s, chunk)
            .map_err(fail("writing on stream socket"))?;
        sent_before += n;
        if n < chunk.len() {
            return Err(format!("short write ({n} of {} bytes)", chunk.len()));
        }
    }
    // ...the user types an interrupt: the signal number goes as out-of-band data.
    let sig = [INTERRUPT];
    net.send(s, &sig, MSG_OOB)
        .map_err(fail("sending out of band data"))?;
    // The shell goes on after the interrupt.
    let n = net
        .write(s, AFTER_INTERRUPT.as_bytes())
        .map_err(fail("writing on stream socket"))?;
    // Not in the primer: end the sending side and wait for the server to close,
    // so that everything was delivered before this program (and its stack) ends.
    net.shutdown(s, SHUT_WR).map_err(fail("shutdown"))?;
    let mut rest = [0u8; 256];
    while net
        .read(s, &mut rest)
        .map_err(fail("reading stream message"))?
        > 0
    {}
    Ok(ClientReport {
        sent_before,
        oob_byte: INTERRUPT,
        sent_after: n,
    })
}

/// The state the reader and the handler share (the mutex makes the handler run
/// "while the reader is interrupted").
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    handled: Condvar,
}

#[derive(Default)]
struct State {
    summary: OobSummary,
    /// `oob()` finished (or failed): data read from now on is after the mark.
    done: bool,
    /// Why `oob()` failed, if it did.
    error: Option<String>,
}

/// The server: listens on `port` (0: any) of every local address, tells
/// `listening` the port, accepts one connection, and reads it to the end while
/// Figure 5's `oob()` handles the interrupt. Prints and returns the summary.
pub fn figure_5_server(
    net: &Stack,
    port: u16,
    listening: impl FnOnce(u16),
) -> Result<OobSummary, String> {
    let sock = net
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(fail("opening stream socket"))?;
    let mut name = SockAddrIn::default();
    name.sin_family = AF_INET as u16;
    name.sin_addr.s_addr = INADDR_ANY;
    name.sin_port = htons(port);
    let listened = net
        .bind(sock, &name)
        .map_err(fail("binding stream socket"))
        .and_then(|()| net.listen(sock, 5).map_err(fail("listen")))
        .and_then(|()| net.getsockname(sock).map_err(fail("getting socket name")));
    let name = match listened {
        Ok(name) => name,
        Err(e) => {
            let _ = net.close(sock);
            return Err(e);
        }
    };
    super::say(format_args!("Socket has port {}", ntohs(name.sin_port)));
    listening(ntohs(name.sin_port));
    let accepted = net.accept(sock);
    let _ = net.close(sock);
    let (rem, _from) = accepted.map_err(fail("accept"))?;
    let summary = receive_with_oob(net, rem);
    let _ = net.close(rem);
    let summary = summary?;
    super::say(format_args!(
        "reader: {} bytes of output before the interrupt",
        summary.read_before
    ));
    match summary.oob_byte {
        Some(b) => super::say(format_args!(
            "oob(): flushed {} bytes up to the mark; out-of-band byte {b:#04x}{}",
            summary.flushed,
            if b == INTERRUPT { " (SIGINT)" } else { "" }
        )),
        None => super::say(format_args!(
            "oob(): flushed {} bytes; no out-of-band byte",
            summary.flushed
        )),
    }
    super::say(format_args!(
        "reader: {} bytes after the mark: {:?}",
        summary.after_mark.len(),
        String::from_utf8_lossy(&summary.after_mark)
    ));
    Ok(summary)
}

/// The receiving side on the connected socket `rem`: registers `oob()` as the
/// urgent handler, then reads until the peer closes. Returns the summary.
pub fn receive_with_oob(net: &Stack, rem: i32) -> Result<OobSummary, String> {
    let shared = Arc::new(Shared::default());
    // signal(SIGURG, oob); fcntl(rem, F_SETOWN, getpid());
    {
        let shared = shared.clone();
        net.set_urgent_handler(rem, move |net, rem| {
            let mut st = shared.state.lock();
            st.summary.signals += 1;
            if !st.done {
                oob(net, rem, &mut st);
                shared.handled.notify_all();
            }
        })
        .map_err(fail("fcntl F_SETOWN"))?;
    }
    let result = reader(net, rem, &shared);
    let _ = net.clear_urgent_handler(rem);
    result?;
    let st = shared.state.lock();
    match &st.error {
        Some(e) => Err(e.clone()),
        None => Ok(st.summary.clone()),
    }
}

/// rlogin's reader: copies the connection's data (to the terminal, here: counts
/// it) until the peer closes, leaving the urgent data to `oob()`.
fn reader(net: &Stack, rem: i32, shared: &Shared) -> Result<(), String> {
    let mut buf = [0u8; BUFSIZ];
    let mut ready = FdSet::new();
    let mut urgent = FdSet::new();
    loop {
        let done = shared.state.lock().done;
        FD_ZERO(&mut ready);
        FD_SET(rem, &mut ready);
        FD_ZERO(&mut urgent);
        if !done {
            FD_SET(rem, &mut urgent);
        }
        let timeout = Some(Duration::from_millis(200));
        net.select(rem + 1, Some(&mut ready), None, Some(&mut urgent), timeout)
            .map_err(fail("select"))?;
        let mut st = shared.state.lock();
        if FD_ISSET(rem, &urgent) && !st.done {
            // Urgent data is pending: the "signal" is on its way. Reading on could
            // pass the mark; let the handler run first.
            let timed_out = shared
                .handled
                .wait_while_for(&mut st, |st| !st.done, HANDLER_GRACE)
                .timed_out();
            if timed_out {
                // No signal came (the handler was registered after the urgent data
                // was announced): flush as the handler would.
                oob(net, rem, &mut st);
            }
            continue;
        }
        if !FD_ISSET(rem, &ready) {
            continue;
        }
        match net.recv(rem, &mut buf, MSG_DONTWAIT) {
            Ok(0) => return Ok(()),
            Ok(n) if st.done => st.summary.after_mark.extend_from_slice(&buf[..n]),
            Ok(n) => st.summary.read_before += n,
            Err(Errno::EWOULDBLOCK) => {}
            Err(e) => return Err(fail("reading stream message")(e)),
        }
    }
}

/// Figure 5, `oob()`: on receipt of out-of-band data, discard the output up to the
/// mark, then read the out-of-band byte. Called with the reader "interrupted" (its
/// lock held).
fn oob(net: &Stack, rem: i32, st: &mut State) {
    // int out = 1+1; char waste[BUFSIZ], mark;
    let mut waste = [0u8; BUFSIZ];
    let mut mark: i32 = 0;
    let mut ready = FdSet::new();

    // signal(SIGURG, oob): the handler stays registered.
    // flush local terminal input and output: ioctl(1, TIOCFLUSH, (char *)&out);
    // (no terminal here, and the reader keeps nothing buffered)
    st.done = true;
    loop {
        // Wait until there is something to read (see the module notes).
        FD_ZERO(&mut ready);
        FD_SET(rem, &mut ready);
        if let Err(e) = net.select(rem + 1, Some(&mut ready), None, None, Some(MARK_POLL)) {
            perror("select", e);
            st.error = Some(format!("select: {e}"));
            return;
        }
        if let Err(e) = net.ioctl(rem, SIOCATMARK, &mut mark) {
            perror("ioctl", e);
            st.error = Some(format!("ioctl(SIOCATMARK): {e}"));
            break;
        }
        if mark != 0 {
            break;
        }
        if !FD_ISSET(rem, &ready) {
            continue;
        }
        // (void) read(rem, waste, sizeof (waste));
        match net.recv(rem, &mut waste, MSG_DONTWAIT) {
            Ok(0) => {
                st.error = Some("the connection ended before the out-of-band mark".into());
                return;
            }
            Ok(n) => st.summary.flushed += n,
            Err(Errno::EWOULDBLOCK) => {}
            Err(e) => {
                perror("read", e);
                st.error = Some(format!("read: {e}"));
                return;
            }
        }
    }
    // recv(rem, &mark, 1, SOF_OOB);
    let mut byte = [0u8; 1];
    match net.recv(rem, &mut byte, MSG_OOB) {
        Ok(1) => st.summary.oob_byte = Some(byte[0]),
        Ok(_) => st.error = Some("recv(MSG_OOB) returned no byte".into()),
        Err(e) => {
            perror("recv", e);
            st.error = Some(format!("recv(MSG_OOB): {e}"));
        }
    }
    // ... (rlogin goes on to act on the signal)
}
