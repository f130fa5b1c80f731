//! The 4.2BSD primer's remote login pair: the client of Figure 1 (with the
//! reserved-port loop of section 5.4, as rlogin and rsh use it) and the server of
//! Figure 2 (with the SIGCHLD reaper of 5.6), speaking the rlogin protocol (RFC
//! 1282): the client sends `\0locuser\0remuser\0terminal/speed\0` from a reserved
//! port, the server answers `\0` and runs a shell on a pseudo-terminal.
//!
//! Interrupts travel as the primer describes: the client sends the signal number
//! as one out-of-band byte; the server hands the terminal's interrupt character to
//! the shell's pseudo-terminal (whose line discipline signals the foreground job)
//! and answers with an out-of-band `TIOCPKT_FLUSHWRITE` byte, on which the client
//! discards the output up to the mark, as Figure 5 does.
//!
//! A thread stands in for the server's `fork` per connection. The shell is a real
//! process on a real pseudo-terminal: util-linux `script` makes the terminal and
//! runs `sh -i` on it; reaping it when the session ends is the reaper's work.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::Sender;
use std::time::Duration;

use sockets::{
    getservbyname, htons, ntohs, Errno, FdSet, SockAddrIn, Stack, AF_INET, FD_ISSET, FD_SET,
    FD_ZERO, INADDR_ANY, IPPORT_RESERVED, MSG_OOB, SHUT_WR, SIOCATMARK, SOCK_STREAM, SOL_SOCKET,
    SO_REUSEADDR,
};

use super::fail;

/// The out-of-band byte the server sends to make the client flush its output
/// (`TIOCPKT_FLUSHWRITE`).
pub const TIOCPKT_FLUSHWRITE: u8 = 0x02;
/// `SIGINT`'s number: what the client sends out of band for an interrupt.
pub const SIGINT: u8 = 2;
/// The terminal's interrupt character (`^C`, `VINTR`).
const VINTR: u8 = 0x03;

/// Section 5.4, the remote shell server's loop: binds the highest free
/// reserved port, from `IPPORT_RESERVED - 1` down; `None` (with the message)
/// when none is free or binding fails otherwise (`EACCES` without privilege).
pub fn rresvport(net: &Stack, s: i32) -> Option<u16> {
    let mut lport = IPPORT_RESERVED - 1;
    let mut sin = SockAddrIn::default();
    sin.sin_family = AF_INET as u16;
    sin.sin_addr.s_addr = INADDR_ANY;
    loop {
        sin.sin_port = htons(lport as u16);
        match net.bind(s, &sin) {
            Ok(()) => return Some(lport as u16),
            Err(Errno::EADDRINUSE | Errno::EADDRNOTAVAIL) => {}
            Err(e) => {
                sockets::perror("socket", e);
                return None;
            }
        }
        lport -= 1;
        if lport == IPPORT_RESERVED / 2 {
            eprintln!("socket: All ports in use");
            return None;
        }
    }
}

/// What a client session saw.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The terminal output, as shown (without what an interrupt flushed).
    pub output: Vec<u8>,
    /// Bytes discarded up to the mark after the server's flush.
    pub flushed: usize,
    /// Out-of-band bytes received from the server.
    pub oob: Vec<u8>,
    /// The reserved port the client used.
    pub local_port: u16,
}

/// One step of the client's (scripted) user.
#[derive(Clone, Debug)]
pub enum Keys {
    /// Type these bytes.
    Type(Vec<u8>),
    /// Press the interrupt key.
    Interrupt,
    /// Wait this long.
    Pause(Duration),
}

/// The user at a terminal: what `input` gives, as keys (the interrupt character
/// `^C` becomes the out-of-band interrupt), until it ends.
pub fn keys_from(mut input: impl Read + Send + 'static) -> impl Iterator<Item = Keys> + Send {
    let mut pending: std::collections::VecDeque<Keys> = std::collections::VecDeque::new();
    std::iter::from_fn(move || loop {
        if let Some(k) = pending.pop_front() {
            return Some(k);
        }
        let mut buf = [0u8; 1024];
        let n = input.read(&mut buf).ok().filter(|&n| n > 0)?;
        for part in buf[..n].split_inclusive(|&b| b == VINTR) {
            match part.split_last() {
                Some((&VINTR, text)) => {
                    if !text.is_empty() {
                        pending.push_back(Keys::Type(text.to_vec()));
                    }
                    pending.push_back(Keys::Interrupt);
                }
                _ => pending.push_back(Keys::Type(part.to_vec())),
            }
        }
    })
}

/// Figure 1, the remote login client: looks up `login/tcp` and `host`, binds a
/// reserved port (5.4), connects, sends the rlogin handshake, then types `keys`
/// while showing what comes back, until the server closes. `port` overrides the
/// service's port.
pub fn rlogin(
    net: &Stack,
    host: &str,
    port: Option<u16>,
    user: &str,
    keys: impl IntoIterator<Item = Keys, IntoIter: Send + 'static>,
) -> Result<Session, String> {
    let keys = keys.into_iter();
    let Some(sp) = getservbyname("login", Some("tcp")) else {
        eprintln!("rlogin: tcp/login: unknown service");
        return Err("tcp/login: unknown service".into()); // exit(1)
    };
    let Some(hp) = net.gethostbyname(host) else {
        eprintln!("rlogin: {host}: unknown host");
        return Err(format!("{host}: unknown host")); // exit(2)
    };
    let mut sin = SockAddrIn::default();
    sin.sin_addr = hp.h_addr();
    sin.sin_family = hp.h_addrtype as u16;
    sin.sin_port = port.map_or(sp.s_port, htons);
    let s = net
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(fail("rlogin: socket"))?; // exit(3)
    let Some(local_port) = rresvport(net, s) else {
        let _ = net.close(s);
        return Err("rlogin: no reserved port".into());
    };
    net.connect(s, &sin).map_err(fail("rlogin: connect"))?; // exit(5)
                                                            // The protocol: "\0" locuser "\0" remuser "\0" terminal/speed "\0".
    let hello = format!("\0{user}\0{user}\0dumb/38400\0");
    net.write(s, hello.as_bytes())
        .map_err(fail("rlogin: write"))?;
    let mut ok = [1u8; 1];
    match net.read(s, &mut ok) {
        Ok(1) if ok[0] == 0 => {}
        Ok(_) => {
            let mut why = [0u8; 256];
            let n = net.read(s, &mut why).unwrap_or(0);
            let _ = net.close(s);
            return Err(format!(
                "rlogin: refused: {}",
                String::from_utf8_lossy(&why[..n]).trim()
            ));
        }
        Err(e) => return Err(fail("rlogin: read")(e)),
    }
    let typist = {
        let net = net.clone();
        std::thread::spawn(move || {
            for k in keys {
                let r = match k {
                    Keys::Type(bytes) => net.write(s, &bytes).map(drop),
                    // The primer: the client "sends an out of band message to the
                    // server process", the signal number as its data.
                    Keys::Interrupt => net.send(s, &[SIGINT], MSG_OOB).map(drop),
                    Keys::Pause(d) => {
                        std::thread::sleep(d);
                        Ok(())
                    }
                };
                if r.is_err() {
                    break;
                }
            }
        })
    };
    let mut session = read_session(net, s)?;
    session.local_port = local_port;
    let _ = typist.join();
    let _ = net.close(s);
    Ok(session)
}

/// The client's reader: shows the data; on urgent data (select's except set),
/// Figure 5: discards up to the mark, then reads the out-of-band byte.
fn read_session(net: &Stack, rem: i32) -> Result<Session, String> {
    let mut session = Session::default();
    let mut buf = [0u8; 4096];
    let (mut ready, mut urgent) = (FdSet::new(), FdSet::new());
    loop {
        FD_ZERO(&mut ready);
        FD_SET(rem, &mut ready);
        FD_ZERO(&mut urgent);
        FD_SET(rem, &mut urgent);
        net.select(rem + 1, Some(&mut ready), None, Some(&mut urgent), None)
            .map_err(fail("rlogin: select"))?;
        if FD_ISSET(rem, &urgent) {
            // oob(): flush to the mark, then take the byte.
            loop {
                let mut mark = 0;
                net.ioctl(rem, SIOCATMARK, &mut mark)
                    .map_err(fail("ioctl"))?;
                if mark != 0 {
                    break;
                }
                match net.read(rem, &mut buf) {
                    Ok(0) => return Ok(session),
                    Ok(n) => session.flushed += n,
                    Err(e) => return Err(fail("rlogin: read")(e)),
                }
            }
            let mut b = [0u8; 1];
            match net.recv(rem, &mut b, MSG_OOB) {
                Ok(1) => session.oob.push(b[0]),
                Ok(_) | Err(Errno::EWOULDBLOCK) | Err(Errno::EINVAL) => {}
                Err(e) => return Err(fail("rlogin: recv")(e)),
            }
            continue;
        }
        if !FD_ISSET(rem, &ready) {
            continue;
        }
        match net.read(rem, &mut buf) {
            Ok(0) => return Ok(session),
            Ok(n) => {
                session.output.extend_from_slice(&buf[..n]);
                let _ = std::io::stdout().write_all(&buf[..n]);
                let _ = std::io::stdout().flush();
            }
            Err(Errno::ECONNRESET) => return Ok(session),
            Err(e) => return Err(fail("rlogin: read")(e)),
        }
    }
}

/// Figure 2, the remote login server: looks up `login/tcp` (or uses `port`),
/// binds it with `SO_REUSEADDR` set the primer's way, listens, and serves
/// `sessions` connections, each on a thread of its own (the C forks) running
/// [`doit`]; then reaps them (the primer's SIGCHLD reaper) and returns.
/// `listening` receives the port once connections can come.
pub fn rlogind(
    net: &Stack,
    port: Option<u16>,
    sessions: usize,
    listening: Sender<u16>,
) -> Result<(), String> {
    let Some(sp) = getservbyname("login", Some("tcp")) else {
        eprintln!("rlogind: tcp/login: unknown service");
        return Err("tcp/login: unknown service".into());
    };
    let mut sin = SockAddrIn::default();
    sin.sin_family = AF_INET as u16;
    sin.sin_addr.s_addr = INADDR_ANY;
    sin.sin_port = port.map_or(sp.s_port, htons);
    let f = net
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(fail("rlogind: socket"))?;
    // setsockopt(f, SOL_SOCKET, SO_REUSEADDR, (char *)0, 0): the primer's form.
    net.setsockopt(f, SOL_SOCKET, SO_REUSEADDR, &[][..])
        .map_err(fail("rlogind: setsockopt"))?;
    net.bind(f, &sin).map_err(fail("rlogind: bind"))?;
    net.listen(f, 5).map_err(fail("rlogind: listen"))?;
    let _ = listening.send(ntohs(sin.sin_port));
    let mut children = Vec::new();
    while children.len() < sessions {
        let (g, from) = match net.accept(f) {
            Ok(r) => r,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                sockets::perror("rlogind: accept", e);
                continue;
            }
        };
        // if (fork() == 0) { close(f); doit(g, &from); } close(g);
        let net2 = net.clone();
        children.push(std::thread::spawn(move || doit(&net2, g, from)));
    }
    // reaper(): while (wait3(&status, WNOHANG, 0) > 0);
    for c in children {
        if let Ok(Err(e)) = c.join() {
            eprintln!("rlogind: {e}");
        }
    }
    let _ = net.close(f);
    Ok(())
}

/// One session: checks the client's reserved port, reads the handshake,
/// answers, runs the shell on a pseudo-terminal and relays until either side
/// ends.
pub fn doit(net: &Stack, f: i32, from: SockAddrIn) -> Result<(), String> {
    let result = session(net, f, from);
    let _ = net.close(f);
    result
}

fn session(net: &Stack, f: i32, from: SockAddrIn) -> Result<(), String> {
    if i32::from(ntohs(from.sin_port)) >= IPPORT_RESERVED {
        let _ = net.write(f, b"\x01Permission denied.\n");
        return Err(format!(
            "connection from unreserved port {}",
            ntohs(from.sin_port)
        ));
    }
    // Four NUL-terminated fields: "", locuser, remuser, terminal/speed.
    let mut fields = Vec::new();
    let mut cur = Vec::new();
    let mut b = [0u8; 1];
    while fields.len() < 4 {
        match net.read(f, &mut b) {
            Ok(1) if b[0] == 0 => fields.push(std::mem::take(&mut cur)),
            Ok(1) if cur.len() < 256 => cur.push(b[0]),
            Ok(1) => return Err("handshake field too long".into()),
            _ => return Err("the client left during the handshake".into()),
        }
    }
    let term = String::from_utf8_lossy(&fields[3]);
    let term = term.split('/').next().unwrap_or("dumb").to_string();
    let mut shell = Command::new("script")
        // A server started in the background may have SIGINT ignored, which the
        // shell would inherit and could not undo: env puts it back.
        .args([
            "-q",
            "-f",
            "-e",
            "-c",
            "env --default-signal=INT,QUIT sh -i",
            "/dev/null",
        ])
        .env("TERM", term)
        .env("PS1", "$ ")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start a shell on a pseudo-terminal (script): {e}"))?;
    net.write(f, b"\0").map_err(fail("rlogind: write"))?;
    let mut to_shell = shell.stdin.take().ok_or("no shell input")?;
    let mut from_shell = shell.stdout.take().ok_or("no shell output")?;
    // The shell's output to the client.
    let output = {
        let net = net.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from_shell.read(&mut buf) {
                if n == 0 || net.write(f, &buf[..n]).is_err() {
                    break;
                }
            }
            // The shell ended: the session is over.
            let _ = net.shutdown(f, SHUT_WR);
        })
    };
    // The client's keys to the shell; an out-of-band signal becomes the
    // terminal's interrupt character, and the client is told to flush.
    let mut buf = [0u8; 4096];
    let (mut ready, mut urgent) = (FdSet::new(), FdSet::new());
    loop {
        FD_ZERO(&mut ready);
        FD_SET(f, &mut ready);
        FD_ZERO(&mut urgent);
        FD_SET(f, &mut urgent);
        if net
            .select(
                f + 1,
                Some(&mut ready),
                None,
                Some(&mut urgent),
                Some(Duration::from_millis(200)),
            )
            .is_err()
        {
            break;
        }
        if output.is_finished() {
            break;
        }
        if FD_ISSET(f, &urgent) {
            let mut mark = 0;
            let _ = net.ioctl(f, SIOCATMARK, &mut mark);
            if mark != 0 {
                let mut sig = [0u8; 1];
                if let Ok(1) = net.recv(f, &mut sig, MSG_OOB) {
                    if sig[0] == SIGINT {
                        let _ = to_shell.write_all(&[VINTR]);
                        let _ = to_shell.flush();
                        let _ = net.send(f, &[TIOCPKT_FLUSHWRITE], MSG_OOB);
                    }
                }
                continue;
            }
        }
        if !FD_ISSET(f, &ready) {
            continue;
        }
        match net.read(f, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to_shell.write_all(&buf[..n]).is_err() {
                    break;
                }
                let _ = to_shell.flush();
            }
        }
    }
    drop(to_shell);
    let _ = shell.kill();
    let _ = output.join();
    // The reaper's wait.
    let _ = shell.wait();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockets::StackConfig;
    use std::net::Ipv4Addr;

    #[test]
    fn rresvport_walks_down_past_ports_in_use_and_needs_privilege() {
        let mut ca = StackConfig::new(Ipv4Addr::new(10, 0, 0, 1), 24);
        ca.ports.privileged = true;
        let cb = StackConfig::new(Ipv4Addr::new(10, 0, 0, 2), 24);
        let (a, b) = Stack::memory_pair(ca, cb);
        let first = a.socket(AF_INET, SOCK_STREAM, 0).unwrap();
        assert_eq!(rresvport(&a, first), Some(1023));
        // 1023 is taken (EADDRINUSE): the loop goes on to 1022.
        let second = a.socket(AF_INET, SOCK_STREAM, 0).unwrap();
        assert_eq!(rresvport(&a, second), Some(1022));
        // Without privilege the first bind says EACCES, and the loop stops.
        let s = b.socket(AF_INET, SOCK_STREAM, 0).unwrap();
        assert_eq!(rresvport(&b, s), None);
    }

    #[test]
    fn the_interrupt_key_becomes_an_out_of_band_key() {
        let keys: Vec<String> = keys_from(std::io::Cursor::new(b"ls\n\x03more".to_vec()))
            .map(|k| format!("{k:?}"))
            .collect();
        assert_eq!(
            keys,
            [
                "Type([108, 115, 10])",
                "Interrupt",
                "Type([109, 111, 114, 101])"
            ]
        );
    }
}
