//! The std face: [`TcpListener`], [`TcpStream`] and [`UdpSocket`] with
//! `std::net`'s method names and `io::Result`s, for Rust programs that do not want
//! C style.
//!
//! It is a thin layer over the BSD calls of [`Stack`] (one implementation): each
//! method is the BSD call it names, and errors are the same errno values, as
//! `io::Error`s with the `ErrorKind` std would give (`WouldBlock`,
//! `ConnectionRefused`, `AddrInUse`, `BrokenPipe`, ...). The differences from std:
//! `bind` and `connect` take the [`Stack`] to use, host names are looked up by
//! that stack ([`ToStackAddrs`]), and only IPv4 addresses apply (IPv6 ones are
//! skipped; none at all is `InvalidInput`).
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::Ipv4Addr;
//! use sockets::net::{TcpListener, TcpStream};
//! use sockets::{Stack, StackConfig};
//!
//! # fn main() -> std::io::Result<()> {
//! let (a, b) = Stack::memory_pair(
//!     StackConfig::new(Ipv4Addr::new(10, 0, 0, 1), 24),
//!     StackConfig::new(Ipv4Addr::new(10, 0, 0, 2), 24),
//! );
//! let listener = TcpListener::bind(&b, "0.0.0.0:7777")?;
//! let server = std::thread::spawn(move || -> std::io::Result<()> {
//!     let (mut conn, _peer) = listener.accept()?;
//!     let mut line = Vec::new();
//!     conn.read_to_end(&mut line)?; // until the client shuts down writing
//!     conn.write_all(&line) // echo it back
//! });
//! let mut client = TcpStream::connect(&a, "10.0.0.2:7777")?;
//! client.write_all(b"hello, stack")?;
//! client.shutdown(std::net::Shutdown::Write)?;
//! let mut echo = String::new();
//! client.read_to_string(&mut echo)?;
//! assert_eq!(echo, "hello, stack");
//! server.join().unwrap()?;
//! # Ok(())
//! # }
//! ```

mod tcp;

pub use tcp::{Incoming, TcpListener, TcpStream};

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use crate::addr::SockAddrIn;
use crate::bsd::Stack;
use crate::consts::{
    AF_INET, IPPROTO_IP, IP_TTL, MSG_PEEK, SOCK_DGRAM, SOL_SOCKET, SO_BROADCAST, SO_ERROR,
    SO_RCVTIMEO, SO_SNDTIMEO, SO_TYPE,
};
use crate::errno::Errno;
use crate::options::TimeVal;

/// What the std face's `bind`, `connect` and `send_to` take: `std::net`'s
/// address forms, with host names looked up by the stack
/// ([`Stack::gethostbyname`]: its hosts table, then DNS over its own UDP), never
/// by the host's resolver. `"hostb:7"`, `("hostb", 7)`, `"10.0.0.2:7"`,
/// `SocketAddrV4`, `SocketAddr` (IPv6 ones are skipped) and slices of them.
pub trait ToStackAddrs {
    /// The IPv4 addresses, in order.
    fn to_stack_addrs(&self, stack: &Stack) -> io::Result<Vec<SocketAddrV4>>;
}

fn host_port(stack: &Stack, host: &str, port: u16) -> io::Result<Vec<SocketAddrV4>> {
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return Ok(vec![SocketAddrV4::new(ip, port)]);
    }
    match stack.gethostbyname(host) {
        Some(h) => Ok(h
            .h_addr_list
            .iter()
            .map(|&a| SocketAddrV4::new(a.into(), port))
            .collect()),
        None => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{host}: {}",
                crate::netdb::hstrerror(crate::netdb::h_errno())
            ),
        )),
    }
}

impl ToStackAddrs for SocketAddrV4 {
    fn to_stack_addrs(&self, _: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        Ok(vec![*self])
    }
}

impl ToStackAddrs for SocketAddr {
    fn to_stack_addrs(&self, _: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        Ok(match self {
            SocketAddr::V4(a) => vec![*a],
            SocketAddr::V6(_) => Vec::new(),
        })
    }
}

impl ToStackAddrs for (std::net::Ipv4Addr, u16) {
    fn to_stack_addrs(&self, _: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        Ok(vec![SocketAddrV4::new(self.0, self.1)])
    }
}

impl ToStackAddrs for (&str, u16) {
    fn to_stack_addrs(&self, stack: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        host_port(stack, self.0, self.1)
    }
}

impl ToStackAddrs for (String, u16) {
    fn to_stack_addrs(&self, stack: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        host_port(stack, &self.0, self.1)
    }
}

impl ToStackAddrs for str {
    fn to_stack_addrs(&self, stack: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return a.to_stack_addrs(stack);
        }
        let (host, port) = self
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid socket address"))?;
        host_port(stack, host, port)
    }
}

impl ToStackAddrs for String {
    fn to_stack_addrs(&self, stack: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        self.as_str().to_stack_addrs(stack)
    }
}

impl ToStackAddrs for [SocketAddr] {
    fn to_stack_addrs(&self, stack: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        let mut v = Vec::new();
        for a in self {
            v.extend(a.to_stack_addrs(stack)?);
        }
        Ok(v)
    }
}

impl<T: ToStackAddrs + ?Sized> ToStackAddrs for &T {
    fn to_stack_addrs(&self, stack: &Stack) -> io::Result<Vec<SocketAddrV4>> {
        (**self).to_stack_addrs(stack)
    }
}

/// The IPv4 addresses `addr` resolves to on `stack`, in order (`InvalidInput`
/// if none).
fn v4_addrs(stack: &Stack, addr: impl ToStackAddrs) -> io::Result<Vec<SocketAddrV4>> {
    let v = addr.to_stack_addrs(stack)?;
    if v.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no IPv4 address to use (netstack is IPv4 only)",
        ));
    }
    Ok(v)
}

/// Tries `f` on each address until one succeeds, as std does; the last error
/// otherwise.
fn each_addr<T>(
    addrs: &[SocketAddrV4],
    mut f: impl FnMut(SocketAddrV4) -> Result<T, Errno>,
) -> io::Result<T> {
    let mut last = Errno::EINVAL;
    for &a in addrs {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = e,
        }
    }
    Err(last.into())
}

/// A UDP socket on a [`Stack`], like `std::net::UdpSocket`. Closed when dropped.
#[derive(Debug)]
pub struct UdpSocket {
    stack: Stack,
    fd: i32,
}

impl UdpSocket {
    /// A socket bound to `addr` on `stack` (port 0: an ephemeral port). Like std,
    /// each resolved address is tried in turn.
    pub fn bind(stack: &Stack, addr: impl ToStackAddrs) -> io::Result<UdpSocket> {
        let addrs = v4_addrs(stack, addr)?;
        let fd = stack.socket(AF_INET, SOCK_DGRAM, 0)?;
        let sock = UdpSocket {
            stack: stack.clone(),
            fd,
        };
        each_addr(&addrs, |a| stack.bind(fd, &SockAddrIn::from(a)))?;
        Ok(sock)
    }

    /// Takes ownership of descriptor `fd` of `stack`, which must be a datagram
    /// socket (`InvalidInput` otherwise; `EBADF` if not open).
    pub fn from_raw_fd(stack: &Stack, fd: i32) -> io::Result<UdpSocket> {
        let mut ty = 0i32;
        stack.getsockopt(fd, SOL_SOCKET, SO_TYPE, &mut ty)?;
        if ty != SOCK_DGRAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a datagram socket",
            ));
        }
        Ok(UdpSocket {
            stack: stack.clone(),
            fd,
        })
    }

    /// The descriptor, for the BSD calls of [`UdpSocket::stack`].
    pub fn as_raw_fd(&self) -> i32 {
        self.fd
    }

    /// Gives up ownership: the descriptor stays open and is returned.
    pub fn into_raw_fd(mut self) -> i32 {
        // -1 tells Drop that the descriptor is no longer ours to close.
        std::mem::replace(&mut self.fd, -1)
    }

    /// The stack this socket lives on.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// Sends `buf` to `addr` (the first address it resolves to); returns the bytes
    /// sent.
    pub fn send_to(&self, buf: &[u8], addr: impl ToStackAddrs) -> io::Result<usize> {
        let to = v4_addrs(&self.stack, addr)?[0];
        Ok(self.stack.sendto(self.fd, buf, 0, &SockAddrIn::from(to))?)
    }

    /// Receives one datagram (truncated to `buf`); returns its length and sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.stack.recvfrom(self.fd, buf, 0)?;
        Ok((n, SocketAddr::V4(from.into())))
    }

    /// Like [`UdpSocket::recv_from`], leaving the datagram queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.stack.recvfrom(self.fd, buf, MSG_PEEK)?;
        Ok((n, SocketAddr::V4(from.into())))
    }

    /// Sets the peer: `send`/`recv` then talk to it only. Each resolved address is
    /// tried in turn.
    pub fn connect(&self, addr: impl ToStackAddrs) -> io::Result<()> {
        each_addr(&v4_addrs(&self.stack, addr)?, |a| {
            self.stack.connect(self.fd, &SockAddrIn::from(a))
        })
    }

    /// Sends to the connected peer (`EDESTADDRREQ` if there is none).
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.stack.send(self.fd, buf, 0)?)
    }

    /// Receives one datagram (from the connected peer, if connected).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.stack.recv(self.fd, buf, 0)?)
    }

    /// Like [`UdpSocket::recv`], leaving the datagram queued.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.stack.recv(self.fd, buf, MSG_PEEK)?)
    }

    /// Sets or clears non-blocking mode.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let mut on = i32::from(nonblocking);
        Ok(self.stack.ioctl(self.fd, crate::consts::FIONBIO, &mut on)?)
    }

    fn set_timeout(&self, optname: i32, dur: Option<Duration>) -> io::Result<()> {
        set_timeout(&self.stack, self.fd, optname, dur)
    }

    fn timeout(&self, optname: i32) -> io::Result<Option<Duration>> {
        timeout(&self.stack, self.fd, optname)
    }

    /// Sets the receive timeout (`None`: wait forever). A zero duration is an
    /// `InvalidInput` error, as in std.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.set_timeout(SO_RCVTIMEO, dur)
    }

    /// Sets the send timeout (`None`: wait forever).
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.set_timeout(SO_SNDTIMEO, dur)
    }

    /// The receive timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.timeout(SO_RCVTIMEO)
    }

    /// The send timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.timeout(SO_SNDTIMEO)
    }

    /// Allows or forbids sending to broadcast addresses (`SO_BROADCAST`).
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        Ok(self
            .stack
            .setsockopt(self.fd, SOL_SOCKET, SO_BROADCAST, &i32::from(broadcast))?)
    }

    /// Whether sending to broadcast addresses is allowed.
    pub fn broadcast(&self) -> io::Result<bool> {
        let mut v = 0i32;
        self.stack
            .getsockopt(self.fd, SOL_SOCKET, SO_BROADCAST, &mut v)?;
        Ok(v != 0)
    }

    /// Sets the TTL of outgoing datagrams (`IP_TTL`, 1..=255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let v = i32::try_from(ttl).map_err(|_| io::Error::from(Errno::EINVAL))?;
        Ok(self.stack.setsockopt(self.fd, IPPROTO_IP, IP_TTL, &v)?)
    }

    /// The TTL of outgoing datagrams.
    pub fn ttl(&self) -> io::Result<u32> {
        let mut v = 0i32;
        self.stack.getsockopt(self.fd, IPPROTO_IP, IP_TTL, &mut v)?;
        Ok(v as u32)
    }

    /// The local address (0.0.0.0:0 while unbound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(self.stack.getsockname(self.fd)?.into()))
    }

    /// The connected peer (`NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(self.stack.getpeername(self.fd)?.into()))
    }

    /// Takes the pending error (`SO_ERROR`), e.g. `ConnectionRefused` after an ICMP
    /// port unreachable on a connected socket.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let mut v = 0i32;
        self.stack
            .getsockopt(self.fd, SOL_SOCKET, SO_ERROR, &mut v)?;
        Ok((v != 0).then(|| io::Error::from_raw_os_error(v)))
    }

    /// A second handle on the same socket (a `dup`ed descriptor): both send and
    /// receive on it; it closes when both are dropped.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            stack: self.stack.clone(),
            fd: self.stack.dup(self.fd)?,
        })
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        if self.fd >= 0 {
            let _ = self.stack.close(self.fd);
        }
    }
}

/// `SO_RCVTIMEO`/`SO_SNDTIMEO` from an `Option<Duration>`, with std's rules.
pub(crate) fn set_timeout(
    stack: &Stack,
    fd: i32,
    optname: i32,
    dur: Option<Duration>,
) -> io::Result<()> {
    if dur == Some(Duration::ZERO) {
        // std's message and kind for the same mistake.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        ));
    }
    let tv = dur.map(TimeVal::from_duration).unwrap_or_default();
    Ok(stack.setsockopt(fd, SOL_SOCKET, optname, &tv)?)
}

/// `SO_RCVTIMEO`/`SO_SNDTIMEO` as an `Option<Duration>` (zero: none).
pub(crate) fn timeout(stack: &Stack, fd: i32, optname: i32) -> io::Result<Option<Duration>> {
    let mut tv = TimeVal::default();
    stack.getsockopt(fd, SOL_SOCKET, optname, &mut tv)?;
    Ok(tv.to_duration().filter(|d| !d.is_zero()))
}
