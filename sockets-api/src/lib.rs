//! netstack's socket API: the BSD calls of the seed documents, over the netstack
//! engine, so a C socket program from a networking course translates line by line.
//!
//! Two faces over one implementation (DESIGN.md "The socket API"):
//!
//! - the **BSD face**: a [`Stack`] (one network stack with its own descriptor table)
//!   whose methods are the calls — [`socket`](Stack::socket), [`bind`](Stack::bind),
//!   [`connect`](Stack::connect), [`sendto`](Stack::sendto),
//!   [`recvfrom`](Stack::recvfrom), [`send`](Stack::send), [`recv`](Stack::recv),
//!   [`read`](Stack::read), [`write`](Stack::write), [`close`](Stack::close),
//!   [`getsockname`](Stack::getsockname), [`setsockopt`](Stack::setsockopt),
//!   [`fcntl`](Stack::fcntl), [`ioctl`](Stack::ioctl), [`select`](Stack::select),
//!   [`poll`](Stack::poll), [`shutdown`](Stack::shutdown) — with the C constants
//!   ([`AF_INET`], [`SOCK_DGRAM`], [`MSG_PEEK`], [`SO_BROADCAST`], ...), `struct
//!   sockaddr_in` ([`SockAddrIn`]), byte-order functions ([`htons`], [`ntohs`], ...)
//!   and [`Errno`] with the BSD names and `strerror` text;
//! - the **std face**: [`net::UdpSocket`], named and behaving like
//!   `std::net::UdpSocket`.
//!
//! # Translating C
//!
//! | C | Rust |
//! |---|---|
//! | `s = socket(AF_INET, SOCK_DGRAM, 0); if (s < 0) perror("socket");` | `let s = stack.socket(AF_INET, SOCK_DGRAM, 0)?;` or `match` + [`perror`] |
//! | `bind(s, (struct sockaddr *)&name, sizeof name)` | `stack.bind(s, &name)` ([`Stack::bind_raw`] takes bytes and a length) |
//! | `getsockname(s, &name, &len)` | `let name = stack.getsockname(s)?;` |
//! | `n = recvfrom(s, buf, sizeof buf, 0, &from, &fromlen)` | `let (n, from) = stack.recvfrom(s, &mut buf, 0)?;` |
//! | `setsockopt(s, SOL_SOCKET, SO_BROADCAST, &on, sizeof on)` | `stack.setsockopt(s, SOL_SOCKET, SO_BROADCAST, &on)` |
//! | `FD_ZERO(&r); FD_SET(s, &r); select(s + 1, &r, 0, 0, &tv)` | `FD_ZERO(&mut r); FD_SET(s, &mut r); stack.select(s + 1, Some(&mut r), None, None, Some(t))` |
//! | `errno`, `perror("x")` | the `Err(Errno)` of the call; also [`errno()`] and [`perror_last`] |
//! | `name.sin_family = AF_INET;` | `name.sin_family = AF_INET as u16;` (as with the `libc` crate) |
//!
//! Here is the 4.4BSD tutorial's Figure 6a, "Reading Internet domain datagrams",
//! on two stacks joined by an in-memory link (the part that sends it a datagram,
//! from Figure 6b, is hidden):
//!
//! ```
//! use std::net::Ipv4Addr;
//! use std::process::exit;
//! use sockets::*;
//!
//! # fn main() -> Result<(), Errno> {
//! let (host_a, host_b) = Stack::memory_pair(
//!     StackConfig::new(Ipv4Addr::new(10, 0, 0, 1), 24),
//!     StackConfig::new(Ipv4Addr::new(10, 0, 0, 2), 24),
//! );
//! let s = &host_b; // the "kernel" this program calls into
//!
//! // int sock, length; struct sockaddr_in name; char buf[1024];
//! let mut buf = [0u8; 1024];
//!
//! /* Create socket from which to read. */
//! let sock = match s.socket(AF_INET, SOCK_DGRAM, 0) {
//!     Ok(sock) => sock,
//!     Err(e) => {
//!         perror("opening datagram socket", e);
//!         exit(1);
//!     }
//! };
//! /* Create name with wildcards. */
//! let mut name = SockAddrIn::default();
//! name.sin_family = AF_INET as u16;
//! name.sin_addr.s_addr = INADDR_ANY;
//! name.sin_port = 0;
//! if let Err(e) = s.bind(sock, &name) {
//!     perror("binding datagram socket", e);
//!     exit(1);
//! }
//! /* Find assigned port value and print it out. */
//! let name = match s.getsockname(sock) {
//!     Ok(name) => name,
//!     Err(e) => {
//!         perror("getting socket name", e);
//!         exit(1);
//!     }
//! };
//! println!("Socket has port #{}", ntohs(name.sin_port));
//! # let port = ntohs(name.sin_port);
//! # let host_a2 = host_a.clone(); // host A must outlive the thread (ARP)
//! # let sender = std::thread::spawn(move || {
//! #     let host_a = host_a2;
//! #     const DATA: &[u8] = b"The sea is calm tonight, the tide is full . . .\0";
//! #     let sock = host_a.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
//! #     let mut name = SockAddrIn::default();
//! #     name.sin_family = AF_INET as u16;
//! #     name.sin_addr.s_addr = inet_addr("10.0.0.2");
//! #     name.sin_port = htons(port);
//! #     host_a.sendto(sock, DATA, 0, &name).unwrap();
//! #     host_a.close(sock).unwrap();
//! # });
//! /* Read from the socket */
//! match s.read(sock, &mut buf) {
//!     Err(e) => perror("receiving datagram packet", e),
//!     Ok(n) => println!("-->{}", String::from_utf8_lossy(&buf[..n]).trim_end_matches('\0')),
//! }
//! s.close(sock)?;
//! # sender.join().unwrap();
//! # assert!(buf.starts_with(b"The sea is calm tonight"));
//! # Ok(())
//! # }
//! ```
//!
//! # Blocking, timeouts and threads
//!
//! A blocking call waits on its socket's wake-up from the stack's driver thread (it
//! never spins), until it can complete, its `SO_RCVTIMEO`/`SO_SNDTIMEO` timeout
//! expires (`EWOULDBLOCK`), or its descriptor is closed by another thread (`EBADF`).
//! Non-blocking mode (`fcntl(O_NONBLOCK)`, `ioctl(FIONBIO)`, `SOCK_NONBLOCK`) and
//! `MSG_DONTWAIT` give `EWOULDBLOCK` instead of waiting. A [`Stack`] is `Clone +
//! Send + Sync`: share it between threads as a process shares its descriptors.
//!
//! # POSIX compatibility
//!
//! Semantics follow the seeds and, where they are silent or dated, Linux. On
//! purpose, this crate differs from Linux in these ways:
//!
//! - `close` from another thread wakes the threads blocked on that descriptor, which
//!   get `EBADF` (Linux leaves them blocked).
//! - Descriptors 0, 1 and 2 are never sockets; in `select`/`poll` they are `EBADF`
//!   / `POLLNVAL` (stdin cannot be multiplexed with these sockets).
//! - `MSG_OOB` on a datagram socket is `EOPNOTSUPP` for `recv` as well as `send`
//!   (4.4BSD's answer).
//! - `socket(AF_INET, SOCK_STREAM, 0)` is `EPROTONOSUPPORT` until TCP exists;
//!   `SOCK_DGRAM` with `IPPROTO_ICMP` (Linux ping sockets) is `EPROTONOSUPPORT`;
//!   `SOCK_RAW` is `EPERM` as for an unprivileged process.
//! - Options this stack does not implement (`SO_REUSEPORT`, `SO_RCVLOWAT`,
//!   `SO_PRIORITY`, multicast, ...) are `ENOPROTOOPT`.
//! - `connect(AF_UNSPEC)` on a datagram socket removes the peer but keeps the local
//!   address and port (Linux releases an implicitly bound port).
//! - After `shutdown(SHUT_RD)`, an empty receive queue reads as 0 bytes in
//!   non-blocking mode too (matching what `poll` reports).
//! - When the stack's driver stops (device failure), a blocking call that would
//!   wait gets `ENETDOWN`.
//!
//! Where Linux differs from the seeds, we follow Linux: `send` on an unconnected
//! datagram socket is `EDESTADDRREQ` (the primer's `ENOTCONN`); an invalid
//! `tv_usec` for `SO_RCVTIMEO` is `EDOM`; `SO_RCVBUF` and `SO_SNDBUF` double the
//! value given; `MSG_TRUNC` on `recv` returns the datagram's real length; a
//! zero-length `setsockopt(SO_REUSEADDR)` (the primer's `(char *)0, 0`) is `EINVAL`;
//! UDP sockets never report `EISCONN` (`sendto` with an address works on a
//! connected socket, and `connect` may be called again).

mod addr;
mod bsd;
mod consts;
mod errno;
mod fdtable;
mod io;
pub mod net;
mod options;
mod select;

pub use crate::addr::{
    htonl, htons, inet_addr, inet_aton, inet_ntoa, ntohl, ntohs, InAddr, SockAddrIn,
    SOCKADDR_IN_LEN,
};
pub use crate::bsd::Stack;
pub use crate::consts::*;
pub use crate::errno::{errno, perror, perror_last, perror_text, set_errno, Errno};
pub use crate::fdtable::FIRST_FD;
pub use crate::options::{Linger, OptionValue, TimeVal};
pub use crate::select::{FdSet, PollFd, FD_CLR, FD_ISSET, FD_SET, FD_ZERO};
pub use ::stack::runtime::Runtime;
pub use ::stack::StackConfig;
