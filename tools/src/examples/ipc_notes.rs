//! Notes on Interprocess Communication in Unix (Dollimore): the datagram `sender`
//! and `receiver` procedures (Figures 2 and 3) with `setBroadcast` (Figure 4), and
//! the stream procedures: the server's `startUp` and `acceptConnection` (Figure 5)
//! and `readAndWrite` (Figure 6), the client's `requestConnection` and
//! `writeAndRead` (Figure 7), run in the order of Figure 9 by [`stream_server`] and
//! [`stream_client`].
//!
//! The C procedures `exit()` on a failed `accept` or `connect`; here they return
//! the error instead.

use sockets::{
    htonl, htons, ntohs, perror, SockAddrIn, Stack, AF_INET, INADDR_ANY, SOCK_DGRAM, SOCK_STREAM,
    SOL_SOCKET, SO_BROADCAST,
};

/// Largest message the receiver takes (the notes' `SIZE`).
pub const SIZE: usize = 1024;

/// Figure 4: turn on broadcasting.
pub fn set_broadcast(net: &Stack, s: i32) -> Result<(), String> {
    let arg: i32 = 1;
    if let Err(e) = net.setsockopt(s, SOL_SOCKET, SO_BROADCAST, &arg) {
        perror("setsockopt SO_BROADCAST---", e);
        return Err(format!("setsockopt SO_BROADCAST: {e}"));
    }
    Ok(())
}

/// `makeLocalSA`: any local address, any port.
pub fn make_local_sa() -> SockAddrIn {
    let mut sa = SockAddrIn::default();
    sa.sin_family = AF_INET as u16;
    sa.sin_port = htons(0);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa
}

/// `makeDestSA`: the address of `hostname` (through `gethostbyname`) and the
/// agreed port; an unknown name prints "Unknown host name" (the C then exits).
pub fn make_dest_sa(net: &Stack, hostname: &str, port: u16) -> Result<SockAddrIn, String> {
    let mut sa = SockAddrIn::default();
    sa.sin_family = AF_INET as u16;
    let Some(host) = net.gethostbyname(hostname) else {
        super::say(format_args!("Unknown host name"));
        return Err(format!("{hostname}: unknown host")); // exit(-1)
    };
    sa.sin_addr = host.h_addr();
    sa.sin_port = htons(port);
    Ok(sa)
}

/// `makeReceiverSA`: any local address, the agreed port.
pub fn make_receiver_sa(port: u16) -> SockAddrIn {
    let mut sa = SockAddrIn::default();
    sa.sin_family = AF_INET as u16;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa
}

/// Figure 2: send two messages to `machine`:`port` (a broadcast address works too:
/// the socket has `SO_BROADCAST`).
pub fn sender(
    net: &Stack,
    message1: &str,
    message2: &str,
    machine: &str,
    port: u16,
) -> Result<(), String> {
    let s = match net.socket(AF_INET, SOCK_DGRAM, 0) {
        Ok(s) => s,
        Err(e) => {
            perror("socket failed", e);
            return Err(e.to_string());
        }
    };
    set_broadcast(net, s)?; // see Section 2.7
    let my_socket_address = make_local_sa();
    if let Err(e) = net.bind(s, &my_socket_address) {
        perror("Bind failed\n", e);
        let _ = net.close(s);
        return Err(e.to_string());
    }
    let your_socket_address = match make_dest_sa(net, machine, port) {
        Ok(sa) => sa,
        Err(e) => {
            let _ = net.close(s);
            return Err(e);
        }
    };
    if let Err(e) = net.sendto(s, message1.as_bytes(), 0, &your_socket_address) {
        // Sic: the notes' C says "Send 2 failed" for both messages.
        perror("Send 2 failed\n", e);
    }
    if let Err(e) = net.sendto(s, message2.as_bytes(), 0, &your_socket_address) {
        perror("Send 2 failed\n", e);
    }
    let _ = net.close(s);
    Ok(())
}

/// Figure 3: receive two messages through `port`; prints who sent them (Figure 3's
/// `printSA`). `bound` is told once the socket is bound (so the sender may start).
pub fn receiver(net: &Stack, port: u16, bound: impl FnOnce()) -> Result<(String, String), String> {
    let mut message1 = [0u8; SIZE];
    let mut message2 = [0u8; SIZE];
    let s = net.socket(AF_INET, SOCK_DGRAM, 0).map_err(|e| {
        perror("socket failed", e);
        e.to_string()
    })?;
    let my_socket_address = make_receiver_sa(port);
    if let Err(e) = net.bind(s, &my_socket_address) {
        perror("Bind failed\n", e);
        let _ = net.close(s);
        return Err(e.to_string());
    }
    bound();
    let (n1, a) = net.recvfrom(s, &mut message1, 0).map_err(|e| {
        perror("Receive 1", e);
        e.to_string()
    })?;
    print_sa(&a);
    let (n2, a) = net.recvfrom(s, &mut message2, 0).map_err(|e| {
        perror("Receive 2", e);
        e.to_string()
    })?;
    print_sa(&a);
    let _ = net.close(s);
    Ok((
        String::from_utf8_lossy(&message1[..n1]).into_owned(),
        String::from_utf8_lossy(&message2[..n2]).into_owned(),
    ))
}

/// Figure 3 of the notes, `printSA`.
pub fn print_sa(sa: &SockAddrIn) {
    super::say(format_args!(
        "sa = {}, {}, {}",
        sa.sin_family,
        sockets::inet_ntoa(sa.sin_addr),
        ntohs(sa.sin_port)
    ));
}

/// Figure 5, `startUp`: a stream socket bound to the agreed port on any local
/// address, listening with room for 5 requests. Returns the socket (`s2` in
/// Figure 9).
pub fn start_up(net: &Stack, server_port: u16) -> Result<i32, String> {
    let s = net.socket(AF_INET, SOCK_STREAM, 0).map_err(|e| {
        perror("socket failed", e);
        e.to_string()
    })?;
    let server_socket_address = make_receiver_sa(server_port);
    if let Err(e) = net.bind(s, &server_socket_address) {
        perror("Bind failed\n", e);
        // The C procedure goes on to listen on an unbound socket; stop here instead.
        let _ = net.close(s);
        return Err(format!("bind: {e}"));
    }
    if let Err(e) = net.listen(s, 5) {
        perror("listen", e);
        let _ = net.close(s);
        return Err(format!("listen: {e}"));
    }
    Ok(s)
}

/// Figure 5, `acceptConnection`: the server accepts a connection through a new
/// socket that it returns (`s3` in Figure 9). On failure the C procedure closes
/// `s` and exits; this one closes `s` and returns the error.
pub fn accept_connection(net: &Stack, s: i32) -> Result<i32, String> {
    match net.accept(s) {
        Ok((s_new, _client_socket_address)) => Ok(s_new),
        Err(e) => {
            perror("Accept fails:\n", e);
            let _ = net.close(s);
            Err(format!("accept: {e}"))
        }
    }
}

/// Figure 6, `readAndWrite`: the server receives `amount` bytes (fewer if the
/// client ends the connection first) and sends them all back via the same
/// connection, prints `wrote N`, and closes `s`. Returns the bytes echoed.
pub fn read_and_write(net: &Stack, s: i32, amount: usize) -> Result<Vec<u8>, String> {
    let mut buf = [0u8; SIZE];
    let mut n_read = 0;
    if amount > SIZE {
        // The C procedure reports this and overruns its buffer; stop instead.
        eprintln!("Amount too much");
        let _ = net.close(s);
        return Err(format!("amount {amount} is more than SIZE ({SIZE})"));
    }
    while n_read < amount {
        // read(s, p, amount - nRead), p = buf + nRead
        match net.read(s, &mut buf[n_read..amount]) {
            Err(e) => {
                perror("Receive", e);
                break; // the C loop would call read again, and fail again
            }
            Ok(0) => break,
            Ok(n) => n_read += n,
        }
    }
    match net.write(s, &buf[..n_read]) {
        Err(e) => perror("Send2 failed\n", e),
        Ok(n) => super::say(format_args!("wrote {n}")),
    }
    let _ = net.close(s);
    Ok(buf[..n_read].to_vec())
}

/// Figure 7, `requestConnection`: a stream socket connected to the server's
/// agreed port (`connect` binds it to a local address by itself). Returns the
/// socket (`s1` in Figure 9).
pub fn request_connection(
    net: &Stack,
    server_machine: &str,
    server_port: u16,
) -> Result<i32, String> {
    let s = net.socket(AF_INET, SOCK_STREAM, 0).map_err(|e| {
        perror("socket failed", e);
        e.to_string()
    })?;
    let server_socket_address = match make_dest_sa(net, server_machine, server_port) {
        Ok(sa) => sa,
        Err(e) => {
            let _ = net.close(s);
            return Err(e);
        }
    };
    if let Err(e) = net.connect(s, &server_socket_address) {
        perror("Connect fails:\n", e);
        let _ = net.close(s);
        return Err(format!("connect: {e}"));
    }
    Ok(s)
}

/// Figure 7, `writeAndRead`: sends two messages (`len1`, `len2` in C are the
/// slices' lengths), then reads replies until the server ends the connection, and
/// closes `s`. The C procedure reads each reply into the same buffer and drops it;
/// this one returns everything read.
pub fn write_and_read(
    net: &Stack,
    s: i32,
    message1: &[u8],
    message2: &[u8],
) -> Result<Vec<u8>, String> {
    let mut buf = [0u8; SIZE];
    let mut replies = Vec::new();
    if let Err(e) = net.write(s, message1) {
        perror("Send", e);
    }
    if let Err(e) = net.write(s, message2) {
        perror("Send", e);
    }
    // do { n = read(s, buf, SIZE) ... } while (n > 0);
    loop {
        match net.read(s, &mut buf) {
            Err(e) => {
                perror("Receive", e);
                break;
            }
            Ok(0) => break,
            Ok(n) => replies.extend_from_slice(&buf[..n]),
        }
    }
    let _ = net.close(s);
    Ok(replies)
}

/// Figure 9, the server's column: `s2 = startUp(AGREED_PORT); s3 =
/// acceptConnection(s2); readAndWrite(s3, amount); close(s2)`. `listening` is
/// told once `s2` listens (so the client may start). Returns the bytes echoed.
pub fn stream_server(
    net: &Stack,
    agreed_port: u16,
    amount: usize,
    listening: impl FnOnce(),
) -> Result<Vec<u8>, String> {
    let s2 = start_up(net, agreed_port)?;
    listening();
    let s3 = accept_connection(net, s2)?;
    let echoed = read_and_write(net, s3, amount);
    let _ = net.close(s2);
    echoed
}

/// Figure 9, the client's column: `s1 = requestConnection(machine, AGREED_PORT);
/// writeAndRead(s1, "hello", "there", 5, 5)` (the messages are arguments here).
/// Returns what the server sent back.
pub fn stream_client(
    net: &Stack,
    machine: &str,
    agreed_port: u16,
    message1: &str,
    message2: &str,
) -> Result<Vec<u8>, String> {
    let s1 = request_connection(net, machine, agreed_port)?;
    write_and_read(net, s1, message1.as_bytes(), message2.as_bytes())
}
