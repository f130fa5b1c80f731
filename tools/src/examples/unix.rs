//! 4.4BSD IPC tutorial, the UNIX-domain figures: 1 (a pipe), 3 (a socketpair),
//! 5a and 5b (UNIX-domain datagrams), 9a and 9b (UNIX-domain streams).
//!
//! A thread stands in for `fork`. Parent and child then share one descriptor
//! table, so the C's `close` of the other side's end (which in C acts on the
//! child's copy) is left out: the end is still the other thread's.

use std::sync::mpsc::Sender;

use sockets::{SockAddrUn, Stack, AF_UNIX, SOCK_DGRAM, SOCK_STREAM};

use super::{c_str, fail};

/// What Figure 1's child writes.
pub const PIPE_DATA: &str = "Bright star, would I were steadfast as thou art . . .";
/// What Figure 3's child writes.
pub const DATA1: &str = "In Xanadu, did Kublai Khan . . .";
/// What Figure 3's parent writes back.
pub const DATA2: &str = "A stately pleasure dome decree . . .";
/// The name Figures 5a and 9b bind.
pub const NAME: &str = "socket";
/// What Figure 5b sends.
pub const DGRAM_DATA: &str = "The sea is calm tonight, the tide is full . . .";
/// What Figure 9a writes.
pub const STREAM_DATA: &str = "Half a league, half a league . . .";

/// `DATA` with its terminating NUL (`sizeof(DATA)`).
fn with_nul(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Figure 1, "Use of a pipe": the child writes [`PIPE_DATA`] into the pipe, the
/// parent reads and prints it. Returns what the parent read.
pub fn figure_1_pipe(net: &Stack) -> Result<String, String> {
    // Create a pipe.
    let sockets = net.pipe().map_err(fail("opening stream socket pair"))?;
    let child = {
        let net = net.clone();
        super::spawn_child(move || {
            // This is the child. It writes a message to its parent.
            if let Err(e) = net.write(sockets[1], &with_nul(PIPE_DATA)) {
                sockets::perror("writing message", e);
            }
            let _ = net.close(sockets[1]);
        })
    };
    // This is still the parent. It reads the child's message.
    let mut buf = [0u8; 1024];
    if let Err(e) = net.read(sockets[0], &mut buf) {
        sockets::perror("reading message", e);
    }
    super::say(format_args!("-->{}", c_str(&buf)));
    let _ = net.close(sockets[0]);
    let _ = child.join();
    Ok(c_str(&buf))
}

/// Figure 3, "Use of a socketpair": the child writes [`DATA1`] and reads the
/// answer, the parent reads it and writes [`DATA2`]; each prints what it read.
/// Returns (what the parent read, what the child read).
pub fn figure_3_socketpair(net: &Stack) -> Result<(String, String), String> {
    let sockets = net
        .socketpair(AF_UNIX, SOCK_STREAM, 0)
        .map_err(fail("opening stream socket pair"))?;
    let child = {
        let net = net.clone();
        super::spawn_child(move || {
            // This is the child.
            let mut buf = [0u8; 1024];
            if let Err(e) = net.write(sockets[0], &with_nul(DATA1)) {
                sockets::perror("writing stream message", e);
            }
            if let Err(e) = net.read(sockets[0], &mut buf) {
                sockets::perror("reading stream message", e);
            }
            super::say(format_args!("-->{}", c_str(&buf)));
            let _ = net.close(sockets[0]);
            c_str(&buf)
        })
    };
    // This is the parent.
    let mut buf = [0u8; 1024];
    if let Err(e) = net.read(sockets[1], &mut buf) {
        sockets::perror("reading stream message", e);
    }
    super::say(format_args!("-->{}", c_str(&buf)));
    if let Err(e) = net.write(sockets[1], &with_nul(DATA2)) {
        sockets::perror("writing stream message", e);
    }
    let _ = net.close(sockets[1]);
    let child_read = child.join().map_err(|_| "the child failed".to_string())?;
    Ok((c_str(&buf), child_read))
}

/// Figure 5a, "Reading UNIX domain datagrams": binds [`NAME`], prints it, reads
/// one datagram, prints it, closes and unlinks the name. `bound` is told when the
/// name exists. Returns the message.
pub fn figure_5a_reader(net: &Stack, bound: Sender<()>) -> Result<String, String> {
    let mut buf = [0u8; 1024];
    // Create socket from which to read.
    let sock = net
        .socket(AF_UNIX, SOCK_DGRAM, 0)
        .map_err(fail("opening datagram socket"))?;
    // Create name.
    let name = SockAddrUn::new(NAME); // sun_family = AF_UNIX; strcpy(sun_path, NAME)
    net.bind_un(sock, &name)
        .map_err(fail("binding name to datagram socket"))?;
    super::say(format_args!("socket -->{NAME}"));
    let _ = bound.send(());
    // Read from the socket.
    if let Err(e) = net.read(sock, &mut buf) {
        sockets::perror("receiving datagram packet", e);
    }
    super::say(format_args!("-->{}", c_str(&buf)));
    let _ = net.close(sock);
    let _ = net.unlink(NAME);
    Ok(c_str(&buf))
}

/// Figure 5b, "Sending a UNIX domain datagram": sends [`DGRAM_DATA`] to the name
/// `path` (`udgramsend pathname`).
pub fn figure_5b_sender(net: &Stack, path: &str) -> Result<(), String> {
    // Create socket on which to send.
    let sock = net
        .socket(AF_UNIX, SOCK_DGRAM, 0)
        .map_err(fail("opening datagram socket"))?;
    // Construct name of socket to send to.
    let name = SockAddrUn::new(path);
    // Send message.
    if let Err(e) = net.sendto_un(sock, &with_nul(DGRAM_DATA), 0, &name) {
        sockets::perror("sending datagram message", e);
    }
    let _ = net.close(sock);
    Ok(())
}

/// Figure 9a, "Initiating a UNIX domain stream connection": connects to `path`
/// and writes [`STREAM_DATA`] (`ustreamwrite pathname`).
pub fn figure_9a_writer(net: &Stack, path: &str) -> Result<(), String> {
    // Create socket.
    let sock = net
        .socket(AF_UNIX, SOCK_STREAM, 0)
        .map_err(fail("opening stream socket"))?;
    // Connect socket using name specified by command line.
    let server = SockAddrUn::new(path);
    if let Err(e) = net.connect_un(sock, &server) {
        let _ = net.close(sock);
        return Err(fail("connecting stream socket")(e));
    }
    if let Err(e) = net.write(sock, &with_nul(STREAM_DATA)) {
        sockets::perror("writing on stream socket", e);
    }
    // The C program exits here, which closes the socket.
    let _ = net.close(sock);
    Ok(())
}

/// Figure 9b, "Accepting a UNIX domain stream connection": binds [`NAME`],
/// prints it, accepts connections and prints their messages; after
/// `connections` connections (the C loops forever) it closes and unlinks the
/// name, as the C's unreached last lines say. Returns the messages.
pub fn figure_9b_server(
    net: &Stack,
    connections: usize,
    bound: Sender<()>,
) -> Result<Vec<String>, String> {
    let mut messages = Vec::new();
    // Create socket.
    let sock = net
        .socket(AF_UNIX, SOCK_STREAM, 0)
        .map_err(fail("opening stream socket"))?;
    // Name socket using file system name.
    let server = SockAddrUn::new(NAME);
    net.bind_un(sock, &server)
        .map_err(fail("binding stream socket"))?;
    super::say(format_args!("Socket has name {}", server.path()));
    // Start accepting connections.
    let _ = net.listen(sock, 5);
    let _ = bound.send(());
    for _ in 0..connections {
        let msgsock = match net.accept(sock) {
            Ok((s, _)) => s,
            Err(e) => {
                sockets::perror("accept", e);
                continue;
            }
        };
        loop {
            let mut buf = [0u8; 1024]; // bzero(buf, sizeof(buf))
            match net.read(msgsock, &mut buf) {
                Err(e) => {
                    sockets::perror("reading stream message", e);
                    break;
                }
                Ok(0) => {
                    super::say(format_args!("Ending connection"));
                    break;
                }
                Ok(_) => {
                    super::say(format_args!("-->{}", c_str(&buf)));
                    messages.push(c_str(&buf));
                }
            }
        }
        let _ = net.close(msgsock);
    }
    let _ = net.close(sock);
    let _ = net.unlink(NAME);
    Ok(messages)
}

/// The slides' "Unix Unnamed Pipes" example: the child writes two ints into a
/// pipe, the parent reads them and prints `x + y = 30`. Returns the sum.
pub fn slides_pipe(net: &Stack) -> Result<i32, String> {
    let fd = net.pipe().map_err(fail("pipe"))?; // if (pipe(fd) < 0) // handle error...
    let child = super::spawn_child({
        let net = net.clone();
        move || {
            // child process
            let (x, y) = (10i32, 20i32);
            let _ = net.write(fd[1], &x.to_ne_bytes());
            let _ = net.write(fd[1], &y.to_ne_bytes());
            let _ = net.close(fd[1]);
        }
    });
    // parent process
    let (mut x, mut y) = ([0u8; 4], [0u8; 4]);
    net.read(fd[0], &mut x).map_err(fail("read"))?;
    net.read(fd[0], &mut y).map_err(fail("read"))?;
    let _ = net.close(fd[0]);
    let _ = child.join();
    let sum = i32::from_ne_bytes(x) + i32::from_ne_bytes(y);
    super::say(format_args!("x + y = {sum}"));
    Ok(sum)
}

/// The FIFO the slides name.
pub const FIFO_PATH: &str = "/tmp/my-fifo";

/// The slides' "Named Pipes (aka FIFO)" example: `mkfifo`, then the child opens
/// the FIFO for writing and writes two ints, the parent opens it for reading and
/// prints `x + y = 30` (the FIFO is in the stack's name space; it is unlinked at
/// the end, which the slides leave out). Returns the sum.
pub fn slides_fifo(net: &Stack) -> Result<i32, String> {
    net.mkfifo(FIFO_PATH).map_err(fail("mkfifo"))?;
    let child = super::spawn_child({
        let net = net.clone();
        move || {
            // child process
            let (x, y) = (10i32, 20i32);
            if let Ok(fd) = net.open(FIFO_PATH, sockets::O_WRONLY) {
                let _ = net.write(fd, &x.to_ne_bytes());
                let _ = net.write(fd, &y.to_ne_bytes());
                let _ = net.close(fd);
            }
        }
    });
    // parent process
    let (mut x, mut y) = ([0u8; 4], [0u8; 4]);
    let fd = net
        .open(FIFO_PATH, sockets::O_RDONLY)
        .map_err(fail("open"))?;
    net.read(fd, &mut x).map_err(fail("read"))?;
    net.read(fd, &mut y).map_err(fail("read"))?;
    let _ = net.close(fd);
    let _ = child.join();
    let _ = net.unlink(FIFO_PATH);
    let sum = i32::from_ne_bytes(x) + i32::from_ne_bytes(y);
    super::say(format_args!("x + y = {sum}"));
    Ok(sum)
}
