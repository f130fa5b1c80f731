//! 4.4BSD IPC tutorial, Figures 7a, 7b and 7c: Internet domain stream connections.
//!
//! Figure 7a connects and writes one message; Figure 7b accepts connections in an
//! endless loop and prints what each one sends; Figure 7c does the same but first
//! asks `select` whether a connection is waiting, doing "something else" when none
//! came within five seconds.
//!
//! Departures from the C, all marked where they happen: the endless loops of 7b and
//! 7c stop after a given number of connections (`None`: never, as in C), so that the
//! demo and the tests can run them; the listening port may be given (0, the C
//! program's wildcard, picks one); `port_known` is told the port once `listen` was
//! called (so a writer started then cannot be refused); an error that the C loop
//! would meet again and again (a failing `accept`, `select` or `read`) ends the
//! program instead of spinning; and the lines printed are also returned.

use std::time::Duration;

use sockets::{
    htons, ntohs, perror, FdSet, SockAddrIn, Stack, AF_INET, FD_ISSET, FD_SET, FD_ZERO, INADDR_ANY,
    SOCK_STREAM,
};

use super::{c_str, fail};

/// The message Figure 7a writes.
pub const DATA: &str = "Half a league, half a league . . .";

/// The timeout of Figure 7c's `select` (`to.tv_sec = 5`).
pub const SELECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Figure 7a, "Initiating an Internet domain stream connection" (`streamwrite
/// hostname portnumber`): connects to `host`:`port`, writes [`DATA`] with its
/// terminating NUL (`sizeof(DATA)`), and closes; `host` goes through
/// `gethostbyname` (a dotted address too).
pub fn figure_7a_writer(net: &Stack, host: &str, port: u16) -> Result<(), String> {
    // Create socket
    let sock = net
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(fail("opening stream socket"))?;
    // Connect socket using name specified by command line.
    let mut server = SockAddrIn::default();
    server.sin_family = AF_INET as u16;
    let Some(hp) = net.gethostbyname(host) else {
        eprintln!("{host}: unknown host");
        let _ = net.close(sock);
        return Err(format!("{host}: unknown host")); // exit(2)
    };
    server.sin_addr = hp.h_addr(); // bcopy(hp->h_addr, &server.sin_addr, hp->h_length);
    server.sin_port = htons(port);

    if let Err(e) = net.connect(sock, &server) {
        let _ = net.close(sock); // exit(1) closes it in C
        return Err(fail("connecting stream socket")(e));
    }
    let mut data = DATA.as_bytes().to_vec();
    data.push(0);
    if let Err(e) = net.write(sock, &data) {
        perror("writing on stream socket", e);
    }
    let _ = net.close(sock);
    Ok(())
}

/// The common start of Figures 7b and 7c: a stream socket named with wildcards
/// (`port` 0 in the C), its port printed, listening with a backlog of 5. Returns
/// the socket and its port.
fn named_listener(net: &Stack, port: u16) -> Result<(i32, u16), String> {
    // Create socket
    let sock = net
        .socket(AF_INET, SOCK_STREAM, 0)
        .map_err(fail("opening stream socket"))?;
    // Name socket using wildcards
    let mut server = SockAddrIn::default();
    server.sin_family = AF_INET as u16;
    server.sin_addr.s_addr = INADDR_ANY;
    server.sin_port = htons(port); // 0 in the C program
    if let Err(e) = net.bind(sock, &server) {
        let _ = net.close(sock);
        return Err(fail("binding stream socket")(e));
    }
    // Find out assigned port number and print it out
    let server = match net.getsockname(sock) {
        Ok(name) => name,
        Err(e) => {
            let _ = net.close(sock);
            return Err(fail("getting socket name")(e));
        }
    };
    super::say(format_args!("Socket has port {}", ntohs(server.sin_port)));

    // Start accepting connections
    if let Err(e) = net.listen(sock, 5) {
        // The C program ignores listen's result; its accept would then fail.
        let _ = net.close(sock);
        return Err(fail("listen")(e));
    }
    Ok((sock, ntohs(server.sin_port)))
}

/// Prints a line and keeps it for the caller.
fn say(transcript: &mut Vec<String>, line: String) {
    super::say(format_args!("{line}"));
    transcript.push(line);
}

/// The inner loop of Figures 7b and 7c: read and print messages until the
/// connection ends, then close it.
fn print_messages(net: &Stack, msgsock: i32, transcript: &mut Vec<String>) {
    let mut buf = [0u8; 1024];
    loop {
        buf.fill(0); // bzero(buf, sizeof(buf));
        let rval = match net.read(msgsock, &mut buf) {
            Ok(rval) => rval,
            Err(e) => {
                perror("reading stream message", e);
                break; // Figure 7b's loop (while rval != 0) would read again forever
            }
        };
        if rval == 0 {
            say(transcript, "Ending connection".to_string());
            break; // } while (rval != 0);
        }
        // printf("-->%s\n", buf): stops at the first NUL
        say(transcript, format!("-->{}", c_str(&buf)));
    }
    let _ = net.close(msgsock);
}

/// Figure 7b, "Accepting an Internet domain stream connection": binds a stream
/// socket with wildcards (`port` 0, as in C; another port if given), prints its
/// port, listens, and accepts connections one after the other, printing every
/// message (`-->...`) until each connection ends (`Ending connection`).
///
/// The C loop never ends; this one returns after `connections` connections
/// (`None`: never), closing the listening socket. `port_known` receives the port
/// once the socket listens. Returns the lines printed after the port.
pub fn figure_7b_acceptor(
    net: &Stack,
    port: u16,
    connections: Option<usize>,
    port_known: impl FnOnce(u16),
) -> Result<Vec<String>, String> {
    let mut transcript = Vec::new();
    let (sock, port) = named_listener(net, port)?;
    port_known(port);
    let mut served = 0;
    // do { ... } while (TRUE);
    while connections.is_none_or(|n| served < n) {
        let msgsock = match net.accept(sock) {
            Ok((msgsock, _from)) => msgsock, // accept(sock, 0, 0)
            Err(e) => {
                perror("accept", e);
                let _ = net.close(sock);
                return Err(format!("accept: {e}")); // the C loop would retry forever
            }
        };
        print_messages(net, msgsock, &mut transcript);
        served += 1;
    }
    // Since this program has an infinite loop, the socket "sock" is never
    // explicitly closed. However, all sockets will be closed automatically when a
    // process is killed or terminates normally. (This one does stop, so it closes.)
    let _ = net.close(sock);
    Ok(transcript)
}

/// Figure 7c, "Using select() to check for pending connections": as Figure 7b, but
/// before each `accept` it waits at most `timeout` ([`SELECT_TIMEOUT`], 5 s, in
/// the C program) in `select` for a connection, printing `Do something else` (and
/// calling `on_idle`) when none came.
///
/// Stops after `connections` connections (`None`: never); `port_known` receives
/// the port once the socket listens. Returns the lines printed after the port.
pub fn figure_7c_select_acceptor(
    net: &Stack,
    port: u16,
    connections: Option<usize>,
    timeout: Duration,
    port_known: impl FnOnce(u16),
    mut on_idle: impl FnMut(),
) -> Result<Vec<String>, String> {
    let mut transcript = Vec::new();
    let mut ready = FdSet::new();
    let (sock, port) = named_listener(net, port)?;
    port_known(port);
    let mut served = 0;
    // do { ... } while (TRUE);
    while connections.is_none_or(|n| served < n) {
        FD_ZERO(&mut ready);
        FD_SET(sock, &mut ready);
        let to = timeout; // to.tv_sec = 5;
        if let Err(e) = net.select(sock + 1, Some(&mut ready), None, None, Some(to)) {
            perror("select", e);
            let _ = net.close(sock);
            return Err(format!("select: {e}")); // C: continue (and fail again)
        }
        if FD_ISSET(sock, &ready) {
            let msgsock = match net.accept(sock) {
                Ok((msgsock, _from)) => msgsock, // accept(sock, (struct sockaddr *)0, (int *)0)
                Err(e) => {
                    perror("accept", e);
                    let _ = net.close(sock);
                    return Err(format!("accept: {e}"));
                }
            };
            print_messages(net, msgsock, &mut transcript);
            served += 1;
        } else {
            say(&mut transcript, "Do something else".to_string());
            on_idle();
        }
    }
    let _ = net.close(sock);
    Ok(transcript)
}
