//! Notes on Interprocess Communication in Unix (Dollimore): the datagram `sender`
//! and `receiver` procedures (Figures 2 and 3) with `setBroadcast` (Figure 4).

use std::net::Ipv4Addr;

use sockets::{
    htonl, htons, ntohs, perror, SockAddrIn, Stack, AF_INET, INADDR_ANY, SOCK_DGRAM, SOL_SOCKET,
    SO_BROADCAST,
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

/// `makeDestSA`: the agreed address and port (`gethostbyname` replaced by an address).
pub fn make_dest_sa(machine: Ipv4Addr, port: u16) -> SockAddrIn {
    let mut sa = SockAddrIn::new(machine, 0);
    sa.sin_family = AF_INET as u16;
    sa.sin_port = htons(port);
    sa
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
    machine: Ipv4Addr,
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
    let your_socket_address = make_dest_sa(machine, port);
    if let Err(e) = net.sendto(s, message1.as_bytes(), 0, &your_socket_address) {
        perror("Send 1 failed\n", e);
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
    println!(
        "sa = {}, {}, {}",
        sa.sin_family,
        sockets::inet_ntoa(sa.sin_addr),
        ntohs(sa.sin_port)
    );
}
