//! netstack's socket API: the BSD calls of the seed documents, over the netstack
//! engine, so a C socket program from a networking course translates line by line.
//!
//! Two faces over one implementation (DESIGN.md "The socket API"):
//!
//! - the **BSD face**: a [`Stack`] (one network stack with its own descriptor table)
//!   whose methods are the calls — [`socket`](Stack::socket), [`bind`](Stack::bind),
//!   [`listen`](Stack::listen), [`accept`](Stack::accept),
//!   [`connect`](Stack::connect), [`sendto`](Stack::sendto),
//!   [`recvfrom`](Stack::recvfrom), [`send`](Stack::send), [`recv`](Stack::recv),
//!   [`read`](Stack::read), [`write`](Stack::write), [`shutdown`](Stack::shutdown),
//!   [`close`](Stack::close), [`getsockname`](Stack::getsockname),
//!   [`getpeername`](Stack::getpeername), [`setsockopt`](Stack::setsockopt),
//!   [`fcntl`](Stack::fcntl), [`ioctl`](Stack::ioctl),
//!   [`sockatmark`](Stack::sockatmark), [`select`](Stack::select),
//!   [`poll`](Stack::poll), and the UNIX domain inside the stack
//!   ([`socketpair`](Stack::socketpair), [`pipe`](Stack::pipe),
//!   `socket(AF_UNIX, ...)` with [`bind_un`](Stack::bind_un),
//!   [`connect_un`](Stack::connect_un), [`sendto_un`](Stack::sendto_un),
//!   [`recvfrom_un`](Stack::recvfrom_un), [`accept_un`](Stack::accept_un),
//!   [`unlink`](Stack::unlink)) — with the C constants ([`AF_INET`], [`SOCK_STREAM`],
//!   [`MSG_OOB`], [`SO_LINGER`], ...), `struct sockaddr_in` ([`SockAddrIn`]),
//!   byte-order functions ([`htons`], [`ntohs`], ...) and [`Errno`] with the BSD
//!   names and `strerror` text; `SIGURG` and `SIGPIPE` become handler functions
//!   ([`Stack::set_urgent_handler`], [`Stack::set_sigpipe_handler`]);
//! - the **std face**: [`net::TcpListener`], [`net::TcpStream`] and
//!   [`net::UdpSocket`], named and behaving like `std::net`'s.
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
//! | `s = socket(AF_INET, SOCK_STREAM, 0);` | `let s = stack.socket(AF_INET, SOCK_STREAM, 0)?;` |
//! | `listen(s, 5);` | `stack.listen(s, 5)?;` |
//! | `msgsock = accept(s, 0, 0);` / `accept(s, &from, &len)` | `let (msgsock, from) = stack.accept(s)?;` |
//! | `connect(s, (struct sockaddr *)&server, sizeof server)` | `stack.connect(s, &server)?;` |
//! | `rval = read(msgsock, buf, 1024)` (0 at end of file) | `let rval = stack.read(msgsock, &mut buf)?;` |
//! | `send(s, "X", 1, MSG_OOB)`; `recv(s, &c, 1, MSG_OOB)` | `stack.send(s, b"X", MSG_OOB)?;` `stack.recv(s, &mut c, MSG_OOB)?;` |
//! | `ioctl(s, SIOCATMARK, &yes)`; `sockatmark(s)` | `stack.ioctl(s, SIOCATMARK, &mut yes)?;` `stack.sockatmark(s)?` |
//! | `ioctl(s, FIONREAD, &n)` | `stack.ioctl(s, FIONREAD, &mut n)?;` |
//! | `struct linger l = {1, 0}; setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof l)` | `stack.setsockopt(s, SOL_SOCKET, SO_LINGER, &Linger { l_onoff: 1, l_linger: 0 })?;` |
//! | `shutdown(s, SHUT_WR)` (or `1`) | `stack.shutdown(s, SHUT_WR)?;` |
//! | `signal(SIGURG, oob); fcntl(s, F_SETOWN, getpid());` | `stack.set_urgent_handler(s, \|stack, s\| oob(stack, s))?;` |
//! | `signal(SIGPIPE, onpipe);` / `signal(SIGPIPE, SIG_IGN)` | `stack.set_sigpipe_handler(\|stack, s\| ...)` / nothing: there is no default action |
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
//! println!("Socket has port {}", ntohs(name.sin_port));
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
//! And the tutorial's stream pair: Figure 7b, "Accepting an Internet domain stream
//! connection", serving one connection of Figure 7a, "Initiating an Internet domain
//! stream connection" (on host A, in a thread). The loop that would run forever
//! stops after one connection here.
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
//!
//! // ---- Figure 7b, on host B
//! let s = &host_b;
//! /* Create socket */
//! let sock = match s.socket(AF_INET, SOCK_STREAM, 0) {
//!     Ok(sock) => sock,
//!     Err(e) => {
//!         perror("opening stream socket", e);
//!         exit(1);
//!     }
//! };
//! /* Name socket using wildcards */
//! let mut server = SockAddrIn::default();
//! server.sin_family = AF_INET as u16;
//! server.sin_addr.s_addr = INADDR_ANY;
//! server.sin_port = 0;
//! if let Err(e) = s.bind(sock, &server) {
//!     perror("binding stream socket", e);
//!     exit(1);
//! }
//! /* Find out assigned port number and print it out */
//! let server = match s.getsockname(sock) {
//!     Ok(name) => name,
//!     Err(e) => {
//!         perror("getting socket name", e);
//!         exit(1);
//!     }
//! };
//! println!("Socket has port {}", ntohs(server.sin_port));
//!
//! // ---- Figure 7a, on host A ("streamwrite 10.0.0.2 port")
//! let port = ntohs(server.sin_port);
//! let a = host_a.clone();
//! let writer = std::thread::spawn(move || {
//!     const DATA: &[u8] = b"Half a league, half a league . . .\0";
//!     /* Create socket */
//!     let sock = match a.socket(AF_INET, SOCK_STREAM, 0) {
//!         Ok(sock) => sock,
//!         Err(e) => {
//!             perror("opening stream socket", e);
//!             exit(1);
//!         }
//!     };
//!     /* Connect socket using name specified by command line. */
//!     let mut server = SockAddrIn::default();
//!     server.sin_family = AF_INET as u16;
//!     server.sin_addr.s_addr = inet_addr("10.0.0.2"); // gethostbyname(argv[1])
//!     server.sin_port = htons(port);
//!     if let Err(e) = a.connect(sock, &server) {
//!         perror("connecting stream socket", e);
//!         exit(1);
//!     }
//!     if let Err(e) = a.write(sock, DATA) {
//!         perror("writing on stream socket", e);
//!     }
//!     let _ = a.close(sock);
//! });
//!
//! // ---- Figure 7b, continued
//! /* Start accepting connections */
//! s.listen(sock, 5)?;
//! # let mut transcript = Vec::new();
//! # for _ in 0..1 {
//! let msgsock = match s.accept(sock) {
//!     Ok((msgsock, _from)) => msgsock,
//!     Err(e) => {
//!         perror("accept", e);
//!         exit(1);
//!     }
//! };
//! loop {
//!     let mut buf = [0u8; 1024]; // bzero(buf, sizeof(buf));
//!     let rval = match s.read(msgsock, &mut buf) {
//!         Ok(rval) => rval,
//!         Err(e) => {
//!             perror("reading stream message", e);
//!             break;
//!         }
//!     };
//!     if rval == 0 {
//!         println!("Ending connection");
//! #       transcript.push("Ending connection".to_string());
//!         break;
//!     }
//!     let text = buf.split(|&c| c == 0).next().unwrap_or_default(); // %s stops at NUL
//!     println!("-->{}", String::from_utf8_lossy(text));
//! #   transcript.push(format!("-->{}", String::from_utf8_lossy(text)));
//! }
//! s.close(msgsock)?;
//! # }
//! # writer.join().unwrap();
//! # assert_eq!(transcript, ["-->Half a league, half a league . . .", "Ending connection"]);
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
//! `MSG_DONTWAIT` give `EWOULDBLOCK` instead of waiting (`connect`:
//! `EINPROGRESS`, then writable when done and `SO_ERROR` says how). A [`Stack`] is
//! `Clone + Send + Sync`: share it between threads as a process shares its
//! descriptors.
//!
//! # Signals
//!
//! There are no signals in-process. The urgent-data notification (`SIGURG` after
//! `fcntl(s, F_SETOWN, getpid())`) is a handler per socket,
//! [`Stack::set_urgent_handler`], called on the stack's notifier thread as soon as
//! urgent data is announced, outside any lock (it may call the stack, even block).
//! The broken-pipe notification (`SIGPIPE`) is a handler per stack,
//! [`Stack::set_sigpipe_handler`], called in the writing thread before the write
//! returns `EPIPE`, unless `MSG_NOSIGNAL` was given. Both receive the stack and the
//! descriptor.
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
//! - `SOCK_DGRAM` with `IPPROTO_ICMP` (Linux ping sockets) is `EPROTONOSUPPORT`;
//!   `SOCK_RAW` is `EPERM` as for an unprivileged process.
//! - `SIGURG` and `SIGPIPE` are handler functions (see "Signals" above); the
//!   default action of `SIGPIPE`, ending the process, never happens.
//! - `send`/`write` on a stream socket that never connected is `ENOTCONN`, as
//!   POSIX and BSD say (Linux: `EPIPE` and `SIGPIPE`).
//! - A stream socket whose connection attempt failed cannot `connect` or `listen`
//!   again (`EINVAL`); Linux resets it to a fresh socket. Use a new socket, as
//!   portable programs do. `connect(AF_UNSPEC)` on a stream socket is
//!   `EAFNOSUPPORT` (Linux aborts the connection).
//! - `listen(s, n)` admits exactly `n` connections (half-open and established
//!   together) before `accept` makes room; Linux admits `n + 1` established ones.
//! - `shutdown(SHUT_RD)` on a listener makes `accept` fail with `EINVAL`, as in
//!   Linux, but connections keep completing into its queue until it is closed or
//!   `listen` is called again (Linux stops listening).
//! - Urgent data shows in select's except set and as `POLLPRI` from the segment
//!   that announces it; Linux waits for the urgent byte itself.
//! - `TCP_MAXSEG` takes 88..=32767; 0 (Linux: remove the clamp) is `EINVAL`.
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
//! value given; `MSG_TRUNC` on `recv` returns the datagram's real length;
//! UDP sockets never report `EISCONN` (`sendto` with an address works on a
//! connected socket, and `connect` may be called again). For streams: the
//! primer's `SOF_PREVIEW` is `MSG_PEEK`; its system limit of 5 on the `listen`
//! backlog is Linux's `somaxconn` ([`SOMAXCONN`], 128), and a request that finds
//! the queue full is ignored, not refused, as the primer says; a blocking `send`
//! returns once all of its data is queued; `SO_RCVTIMEO` also bounds `accept` and
//! `SO_SNDTIMEO` a blocking `connect` (which then says `EINPROGRESS`); the
//! urgent mark follows the BSD interpretation Linux uses (the urgent pointer
//! points past the urgent byte) and one urgent byte at a time is kept, a newer one
//! turning the older into ordinary data; `close` with `SO_LINGER` waits even on a
//! non-blocking socket. Three more, each a decision: `connect` to an association
//! that exists already (same four addresses and ports) is `EADDRNOTAVAIL`, Linux's
//! answer, where the primer says `EADDRINUSE`; `shutdown(SHUT_WR)` sends what is
//! queued and then the FIN (the primer says queued data is discarded; no stack
//! today discards it); `select` that times out returns 0, as POSIX says (the
//! primer's "-1 with `EINTR`" describes a signal, not the timeout).
//!
//! Where the seeds' literal calls fail on Linux, we take the seeds' form (this
//! face only; drill's kernel keeps Linux's answers): a flag option set with no
//! value, `setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (char *)0, 0)`, turns it on
//! (Linux: `EINVAL`); `sendto` to `INADDR_ANY` on a datagram socket broadcasts
//! (primer 5.5; Linux sends to the host itself), with `SO_BROADCAST`. The
//! primer's names are there too: `SOF_OOB`, `SOF_PREVIEW`, `SOF_DONTROUTE`,
//! [`IPPORT_RESERVED`], `SIOCSPGRP`/`SIOCGPGRP`, `SO_DEBUG` and `SO_DONTROUTE`.

mod addr;
pub mod addrinfo;
mod bsd;
mod consts;
pub mod descriptors;
mod errno;
mod fdtable;
mod io;
pub mod msg;
pub mod net;
pub mod netdb;
mod options;
pub mod resolver;
mod select;
mod signals;
pub mod sockopt;
mod stream;
pub mod tcp_info;
mod unix;

pub use crate::addr::{
    htonl, htons, inet_addr, inet_aton, inet_ntoa, ntohl, ntohs, InAddr, SockAddrIn, SockAddrUn,
    SOCKADDR_IN_LEN, UNIX_PATH_MAX,
};
pub use crate::bsd::{Blocker, Stack};
pub use crate::consts::*;
pub use crate::errno::{errno, perror, perror_last, perror_text, set_errno, Errno};
pub use crate::fdtable::{SignalHandler, SocketKind, FIRST_FD};
pub use crate::netdb::{
    endprotoent, endservent, getprotobyname, getprotobynumber, getprotoent, getservbyname,
    getservbyport, getservent, h_errno, herror, hstrerror, inet_lnaof, inet_makeaddr, inet_netof,
    setprotoent, setservent, HostEnt, NetEnt, ProtoEnt, ServEnt, HOST_NOT_FOUND, NO_DATA,
    NO_RECOVERY, TRY_AGAIN,
};
pub use crate::options::{Linger, OptionValue, TimeVal};
pub use crate::select::{FdSet, PollFd, FD_CLR, FD_ISSET, FD_SET, FD_ZERO};
pub use ::stack::runtime::Runtime;
pub use ::stack::StackConfig;
