//! 4.4BSD IPC tutorial, Figures 6a and 6b: Internet domain datagrams.

use sockets::{htons, ntohs, SockAddrIn, Stack, AF_INET, INADDR_ANY, SOCK_DGRAM};

use super::{c_str, fail};

/// The message Figure 6b sends.
pub const DATA: &str = "The sea is calm tonight, the tide is full . . .";

/// Figure 6a, "Reading Internet domain datagrams": creates a datagram socket, binds
/// it with wildcards (port 0: the system picks one), prints the port, reads one
/// datagram and prints it. `port_known` receives the port as soon as it is printed
/// (so a demo can start the sender). Returns the message read.
pub fn figure_6a_reader(net: &Stack, port_known: impl FnOnce(u16)) -> Result<String, String> {
    let mut buf = [0u8; 1024];

    // Create socket from which to read.
    let sock = net
        .socket(AF_INET, SOCK_DGRAM, 0)
        .map_err(fail("opening datagram socket"))?;
    // Create name with wildcards.
    let mut name = SockAddrIn {
        sin_family: AF_INET as u16,
        sin_port: 0,
        ..SockAddrIn::default()
    };
    name.sin_addr.s_addr = INADDR_ANY;
    net.bind(sock, &name)
        .map_err(fail("binding datagram socket"))?;
    // Find assigned port value and print it out.
    let name = net.getsockname(sock).map_err(fail("getting socket name"))?;
    super::say(format_args!("Socket has port {}", ntohs(name.sin_port)));
    port_known(ntohs(name.sin_port));
    // Read from the socket.
    if let Err(e) = net.read(sock, &mut buf) {
        sockets::perror("receiving datagram packet", e);
    }
    super::say(format_args!("-->{}", c_str(&buf)));
    let _ = net.close(sock);
    Ok(c_str(&buf))
}

/// Figure 6b, "Sending an Internet domain datagram": sends [`DATA`] (with its
/// terminating NUL, `sizeof(DATA)`) to `host`:`port` (`dgramsend hostname
/// portnumber`; the name goes through `gethostbyname`, a dotted address too).
pub fn figure_6b_sender(net: &Stack, host: &str, port: u16) -> Result<(), String> {
    // Create socket on which to send.
    let sock = net
        .socket(AF_INET, SOCK_DGRAM, 0)
        .map_err(fail("opening datagram socket"))?;
    // Construct name, with no wildcards, of the socket to send to.
    // gethostbyname returns a structure including the network address
    // of the specified host.
    let Some(hp) = net.gethostbyname(host) else {
        eprintln!("{host}: unknown host");
        let _ = net.close(sock);
        return Err(format!("{host}: unknown host")); // exit(2)
    };
    let mut name = SockAddrIn::default();
    name.sin_addr = hp.h_addr(); // bcopy(hp->h_addr, &name.sin_addr, hp->h_length);
    name.sin_family = AF_INET as u16;
    name.sin_port = htons(port);
    // Send message.
    let mut data = DATA.as_bytes().to_vec();
    data.push(0);
    if let Err(e) = net.sendto(sock, &data, 0, &name) {
        sockets::perror("sending datagram message", e);
    }
    let _ = net.close(sock);
    Ok(())
}
