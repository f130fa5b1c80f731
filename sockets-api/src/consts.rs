//! The BSD constants, with their C names and Linux's values and C types (as in the
//! `libc` crate: `c_int` is `i32`, `in_addr_t` is `u32`, `short` is `i16`), so a C
//! program's constants carry over unchanged.

/// Address family: unspecified (`connect` with it dissolves a datagram association).
pub const AF_UNSPEC: i32 = 0;
/// Address family: UNIX domain (not supported: `EAFNOSUPPORT`).
pub const AF_UNIX: i32 = 1;
/// Address family: Internet (IPv4).
pub const AF_INET: i32 = 2;
/// Address family: IPv6 (not supported: `EAFNOSUPPORT`).
pub const AF_INET6: i32 = 10;
/// Protocol family: unspecified (same value as [`AF_UNSPEC`]).
pub const PF_UNSPEC: i32 = AF_UNSPEC;
/// Protocol family: UNIX domain (same value as [`AF_UNIX`]).
pub const PF_UNIX: i32 = AF_UNIX;
/// Protocol family: Internet (same value as [`AF_INET`]).
pub const PF_INET: i32 = AF_INET;

/// Socket type: reliable, sequenced byte stream (TCP).
pub const SOCK_STREAM: i32 = 1;
/// Socket type: datagrams (UDP).
pub const SOCK_DGRAM: i32 = 2;
/// Socket type: raw (not supported: `EPERM`, as for an unprivileged Linux process).
pub const SOCK_RAW: i32 = 3;
/// Socket type: reliably-delivered messages (not supported).
pub const SOCK_RDM: i32 = 4;
/// Socket type: sequenced packets (not supported).
pub const SOCK_SEQPACKET: i32 = 5;
/// Flag or'ed into the type given to `socket`: start in non-blocking mode.
pub const SOCK_NONBLOCK: i32 = 0o4000;
/// Flag or'ed into the type given to `socket`: close on exec (accepted, no effect).
pub const SOCK_CLOEXEC: i32 = 0o2000000;

/// Protocol: IP itself (`0`: "the default protocol for the type"); also the
/// `setsockopt` level of `IP_*` options.
pub const IPPROTO_IP: i32 = 0;
/// Protocol: ICMP.
pub const IPPROTO_ICMP: i32 = 1;
/// Protocol: TCP; also the `setsockopt` level of `TCP_*` options.
pub const IPPROTO_TCP: i32 = 6;
/// Protocol: UDP.
pub const IPPROTO_UDP: i32 = 17;
/// Protocol: raw IP.
pub const IPPROTO_RAW: i32 = 255;

/// The wildcard address, in host byte order (as in C: it is 0, so `htonl` does not
/// matter, but write it anyway).
pub const INADDR_ANY: u32 = 0x0000_0000;
/// The limited broadcast address 255.255.255.255, in host byte order.
pub const INADDR_BROADCAST: u32 = 0xffff_ffff;
/// The loopback address 127.0.0.1, in **host** byte order: use `htonl(INADDR_LOOPBACK)`.
pub const INADDR_LOOPBACK: u32 = 0x7f00_0001;
/// What `inet_addr` returns for a malformed address (the same bits as 255.255.255.255).
pub const INADDR_NONE: u32 = 0xffff_ffff;

/// `send`/`recv` flag: out-of-band (urgent) data (TCP only; `EOPNOTSUPP` on datagram
/// sockets). `send` makes the last byte urgent; `recv` reads that byte.
pub const MSG_OOB: i32 = 0x01;
/// `recv` flag: look at the data (the next datagram) without removing it.
pub const MSG_PEEK: i32 = 0x02;
/// `send` flag: bypass routing (accepted, no effect: every destination is on-link or
/// via the gateway anyway).
pub const MSG_DONTROUTE: i32 = 0x04;
/// `recv` flag: return the real length of the datagram even when it was truncated
/// (Linux).
pub const MSG_TRUNC: i32 = 0x20;
/// `send`/`recv` flag: do not block for this call (`EWOULDBLOCK` instead).
pub const MSG_DONTWAIT: i32 = 0x40;
/// `send` flag: more data follows; a short TCP segment waits for it, as with
/// [`TCP_CORK`] (Linux).
pub const MSG_MORE: i32 = 0x8000;
/// `recv` flag: wait for the full amount (streams; a datagram is always whole).
pub const MSG_WAITALL: i32 = 0x100;
/// `send` flag: end of record. On a stream socket no segment carries bytes
/// from both sides of the record's end (Linux); no effect on datagrams.
pub const MSG_EOR: i32 = 0x80;
/// `send` flag: no `SIGPIPE`: the handler set with
/// [`Stack::set_sigpipe_handler`](crate::Stack::set_sigpipe_handler) is not called
/// when this call fails with `EPIPE`.
pub const MSG_NOSIGNAL: i32 = 0x4000;
/// `sendto` flag on an unconnected stream socket: connect, with the data on
/// the SYN when a Fast Open cookie from the server is known (RFC 7413; Linux).
pub const MSG_FASTOPEN: i32 = 0x2000_0000;

/// The largest `listen` backlog (Linux's default `net.core.somaxconn`; the stack's
/// `tcp.somaxconn` setting).
pub const SOMAXCONN: i32 = 128;

/// `setsockopt` level of the socket itself.
pub const SOL_SOCKET: i32 = 1;
/// `setsockopt` level of IP options (Linux's name for [`IPPROTO_IP`]).
pub const SOL_IP: i32 = IPPROTO_IP;
/// `setsockopt` level of TCP options (Linux's name for [`IPPROTO_TCP`]).
pub const SOL_TCP: i32 = IPPROTO_TCP;
/// `setsockopt` level of UDP options (Linux's name for [`IPPROTO_UDP`]).
pub const SOL_UDP: i32 = IPPROTO_UDP;
/// Allow a local address already in use, if every socket using it sets this too.
pub const SO_REUSEADDR: i32 = 2;
/// (get only) The socket type: `SOCK_DGRAM`, `SOCK_STREAM`.
pub const SO_TYPE: i32 = 3;
/// (get only) Take the pending asynchronous error (e.g. `ECONNREFUSED`), or 0.
pub const SO_ERROR: i32 = 4;
/// Allow sending to broadcast addresses.
pub const SO_BROADCAST: i32 = 6;
/// Send buffer size (Linux doubles the value given; `getsockopt` shows the double).
pub const SO_SNDBUF: i32 = 7;
/// Receive buffer size (Linux doubles the value given; `getsockopt` shows the double).
pub const SO_RCVBUF: i32 = 8;
/// Send keep-alive probes on an idle connection (TCP).
pub const SO_KEEPALIVE: i32 = 9;
/// Deliver urgent data in line (TCP).
pub const SO_OOBINLINE: i32 = 10;
/// Linger on `close` while unsent data remains (a [`Linger`](crate::Linger) value).
pub const SO_LINGER: i32 = 13;
/// Receive timeout (a [`TimeVal`](crate::TimeVal); zero: wait forever).
pub const SO_RCVTIMEO: i32 = 20;
/// Send timeout (a [`TimeVal`](crate::TimeVal); zero: wait forever).
pub const SO_SNDTIMEO: i32 = 21;
/// (get only) Whether the socket is listening.
pub const SO_ACCEPTCONN: i32 = 30;
/// (get only) The protocol: `IPPROTO_UDP`, `IPPROTO_TCP`.
pub const SO_PROTOCOL: i32 = 38;
/// (get only) The domain: `AF_INET`.
pub const SO_DOMAIN: i32 = 39;

/// `IPPROTO_IP` option: type of service byte.
pub const IP_TOS: i32 = 1;
/// `IPPROTO_IP` option: time to live of outgoing datagrams (1..=255; -1: default).
pub const IP_TTL: i32 = 2;

/// `IPPROTO_TCP` option: disable Nagle's algorithm (TCP sockets only).
pub const TCP_NODELAY: i32 = 1;
/// `IPPROTO_TCP` option: maximum segment size (TCP sockets only).
pub const TCP_MAXSEG: i32 = 2;
/// (get only) `IPPROTO_TCP` option: the connection's state and figures, Linux's
/// `struct tcp_info` (see [`crate::tcp_info`] for the typed form).
pub const TCP_INFO: i32 = 11;
/// `IPPROTO_TCP` option: the congestion control algorithm by name (`"cubic"`,
/// `"reno"`; up to 16 bytes, NUL-padded on read; an unknown name is `ENOENT`).
pub const TCP_CONGESTION: i32 = 13;
/// `IPPROTO_TCP` option: hold segments shorter than the MSS until the option
/// is cleared (at most about 200 ms, as Linux).
pub const TCP_CORK: i32 = 3;
/// `IPPROTO_TCP` option: SYN retransmissions before `connect` gives up
/// (1..=127; Linux).
pub const TCP_SYNCNT: i32 = 7;
/// `IPPROTO_TCP` option: seconds of idle time before keep-alive probes (1..=32767).
pub const TCP_KEEPIDLE: i32 = 4;
/// `IPPROTO_TCP` option: seconds between keep-alive probes (1..=32767).
pub const TCP_KEEPINTVL: i32 = 5;
/// `IPPROTO_TCP` option: unanswered keep-alive probes before the connection is
/// dropped (1..=127).
pub const TCP_KEEPCNT: i32 = 6;
/// `IPPROTO_TCP` option: milliseconds sent data may stay unacknowledged before
/// the connection is dropped with `ETIMEDOUT` (RFC 5482; 0: off).
pub const TCP_USER_TIMEOUT: i32 = 18;
/// `IPPROTO_TCP` option: bytes queued but not yet sent above which `send`
/// waits, and writability is reported only below half of it (0: no limit).
pub const TCP_NOTSENT_LOWAT: i32 = 25;
/// `IPPROTO_TCP` option on a listener: take data on SYNs that carry a right
/// Fast Open cookie (RFC 7413); the value is how many such connections may
/// wait for their handshake (0: off).
pub const TCP_FASTOPEN: i32 = 23;
/// `IPPROTO_TCP` option (0 or 1): with a Fast Open cookie for the server,
/// `connect` returns at once and the SYN leaves with the first `send`'s data
/// (Linux); without one, `connect` is a plain one that asks for a cookie.
pub const TCP_FASTOPEN_CONNECT: i32 = 30;
/// `IPPROTO_TCP` option: Fast Open without cookies (0 or 1): a listener takes
/// data on any SYN, a client sends data on its SYN without a cookie.
pub const TCP_FASTOPEN_NO_COOKIE: i32 = 34;
/// Longest congestion control name (Linux's `TCP_CA_NAME_MAX`).
pub const TCP_CA_NAME_MAX: usize = 16;

/// `fcntl` command: get the descriptor flags (`FD_CLOEXEC`).
pub const F_GETFD: i32 = 1;
/// `fcntl` command: set the descriptor flags (`FD_CLOEXEC`; accepted, no effect).
pub const F_SETFD: i32 = 2;
/// `fcntl` command: get the file status flags (`O_RDWR`, `O_NONBLOCK`).
pub const F_GETFL: i32 = 3;
/// `fcntl` command: set the file status flags (only `O_NONBLOCK` changes anything).
pub const F_SETFL: i32 = 4;
/// Descriptor flag: close on exec.
pub const FD_CLOEXEC: i32 = 1;
/// File status flag: open for reading only.
pub const O_RDONLY: i32 = 0o0;
/// File status flag: open for writing only.
pub const O_WRONLY: i32 = 0o1;
/// File status flag: open for reading and writing (sockets always are).
pub const O_RDWR: i32 = 0o2;
/// File status flag: non-blocking mode.
pub const O_NONBLOCK: i32 = 0o4000;
/// File status flag: the old name of [`O_NONBLOCK`].
pub const O_NDELAY: i32 = O_NONBLOCK;

/// `ioctl` request: bytes of the next datagram (or of data queued, on a stream).
pub const FIONREAD: u64 = 0x541b;
/// `ioctl` request: set (non-zero argument) or clear non-blocking mode.
pub const FIONBIO: u64 = 0x5421;
/// `ioctl` request: whether the read pointer is at the urgent mark (TCP).
pub const SIOCATMARK: u64 = 0x8905;
/// `ioctl` request: bytes in the send queue not yet acknowledged (TCP).
pub const SIOCOUTQ: u64 = TIOCOUTQ;
/// `ioctl` request: the same number as [`SIOCOUTQ`].
pub const TIOCOUTQ: u64 = 0x5411;
/// `ioctl` request: the same number as [`FIONREAD`].
pub const SIOCINQ: u64 = FIONREAD;

/// `poll` event: data to read.
pub const POLLIN: i16 = 0x001;
/// `poll` event: urgent data to read.
pub const POLLPRI: i16 = 0x002;
/// `poll` event: writing will not block.
pub const POLLOUT: i16 = 0x004;
/// `poll` event (always reported): an error is pending.
pub const POLLERR: i16 = 0x008;
/// `poll` event (always reported): hung up.
pub const POLLHUP: i16 = 0x010;
/// `poll` event (always reported): the descriptor is not open.
pub const POLLNVAL: i16 = 0x020;
/// `poll` event: normal data to read (reported with `POLLIN`).
pub const POLLRDNORM: i16 = 0x040;
/// `poll` event: priority data to read.
pub const POLLRDBAND: i16 = 0x080;
/// `poll` event: normal data may be written (reported with `POLLOUT`).
pub const POLLWRNORM: i16 = 0x100;
/// `poll` event: priority data may be written.
pub const POLLWRBAND: i16 = 0x200;
/// `poll` event: the peer shut down writing, or we shut down reading (Linux).
pub const POLLRDHUP: i16 = 0x2000;

/// `shutdown`: no more receptions.
pub const SHUT_RD: i32 = 0;
/// `shutdown`: no more transmissions.
pub const SHUT_WR: i32 = 1;
/// `shutdown`: neither.
pub const SHUT_RDWR: i32 = 2;

/// Ports below this are reserved for privileged programs (4.2BSD primer 5.4).
pub const IPPORT_RESERVED: i32 = 1024;
/// Ports below this are not handed out as ephemeral ports in 4.2BSD.
pub const IPPORT_USERRESERVED: i32 = 5000;
/// 4.2BSD's name for [`MSG_OOB`] (the primer's "SOF_OOB").
pub const SOF_OOB: i32 = MSG_OOB;
/// 4.2BSD's name for [`MSG_PEEK`] ("SOF_PREVIEW").
pub const SOF_PREVIEW: i32 = MSG_PEEK;
/// 4.2BSD's name for [`MSG_DONTROUTE`] ("SOF_DONTROUTE").
pub const SOF_DONTROUTE: i32 = MSG_DONTROUTE;
/// `SO_DEBUG`: record debugging information (kept and reported, as Linux does).
pub const SO_DEBUG: i32 = 1;
/// `SO_DONTROUTE`: send only to hosts on the attached network (no gateway).
pub const SO_DONTROUTE: i32 = 5;
/// `ioctl` request: set the process group that receives `SIGURG` (Linux's value).
pub const SIOCSPGRP: u64 = 0x8902;
/// `ioctl` request: get the process group set with [`SIOCSPGRP`].
pub const SIOCGPGRP: u64 = 0x8904;
/// `fcntl` command: set the owner that receives `SIGURG`.
pub const F_SETOWN: i32 = 8;
/// `fcntl` command: get the owner set with [`F_SETOWN`].
pub const F_GETOWN: i32 = 9;

/// Descriptors an [`FdSet`](crate::FdSet) can hold (and the default descriptor limit,
/// like `ulimit -n`).
pub const FD_SETSIZE: usize = 1024;

/// The constants above by their C names, with their values (for programs that
/// read constants by name, such as packet scripts).
macro_rules! named {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), $name as i64)),*]
    };
}

/// Every socket-call constant by its C name.
pub const NAMED: &[(&str, i64)] = named![
    IPPORT_RESERVED,
    IPPORT_USERRESERVED,
    SOF_OOB,
    SOF_PREVIEW,
    SOF_DONTROUTE,
    SO_DEBUG,
    SO_DONTROUTE,
    SIOCSPGRP,
    SIOCGPGRP,
    F_SETOWN,
    F_GETOWN,
    AF_UNSPEC,
    AF_UNIX,
    AF_INET,
    AF_INET6,
    PF_UNSPEC,
    PF_UNIX,
    PF_INET,
    SOCK_STREAM,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_RDM,
    SOCK_SEQPACKET,
    SOCK_NONBLOCK,
    SOCK_CLOEXEC,
    IPPROTO_IP,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPPROTO_RAW,
    INADDR_ANY,
    INADDR_BROADCAST,
    INADDR_LOOPBACK,
    INADDR_NONE,
    MSG_OOB,
    MSG_PEEK,
    MSG_DONTROUTE,
    MSG_TRUNC,
    MSG_DONTWAIT,
    MSG_EOR,
    MSG_WAITALL,
    MSG_NOSIGNAL,
    MSG_MORE,
    MSG_FASTOPEN,
    SOMAXCONN,
    SOL_SOCKET,
    SOL_IP,
    SOL_TCP,
    SOL_UDP,
    SO_REUSEADDR,
    SO_TYPE,
    SO_ERROR,
    SO_BROADCAST,
    SO_SNDBUF,
    SO_RCVBUF,
    SO_KEEPALIVE,
    SO_OOBINLINE,
    SO_LINGER,
    SO_RCVTIMEO,
    SO_SNDTIMEO,
    SO_ACCEPTCONN,
    SO_PROTOCOL,
    SO_DOMAIN,
    IP_TOS,
    IP_TTL,
    TCP_NODELAY,
    TCP_MAXSEG,
    TCP_INFO,
    TCP_CONGESTION,
    TCP_CORK,
    TCP_KEEPIDLE,
    TCP_KEEPINTVL,
    TCP_KEEPCNT,
    TCP_SYNCNT,
    TCP_USER_TIMEOUT,
    TCP_NOTSENT_LOWAT,
    TCP_FASTOPEN,
    TCP_FASTOPEN_CONNECT,
    TCP_FASTOPEN_NO_COOKIE,
    F_GETFD,
    F_SETFD,
    F_GETFL,
    F_SETFL,
    FD_CLOEXEC,
    O_RDONLY,
    O_WRONLY,
    O_RDWR,
    O_NONBLOCK,
    O_NDELAY,
    FIONREAD,
    SIOCINQ,
    SIOCOUTQ,
    TIOCOUTQ,
    FIONBIO,
    SIOCATMARK,
    POLLIN,
    POLLPRI,
    POLLOUT,
    POLLERR,
    POLLHUP,
    POLLNVAL,
    POLLRDNORM,
    POLLRDBAND,
    POLLWRNORM,
    POLLWRBAND,
    POLLRDHUP,
    SHUT_RD,
    SHUT_WR,
    SHUT_RDWR,
];

/// The value of the socket-call constant named `name` (C's name, e.g. "SO_LINGER").
pub fn constant(name: &str) -> Option<i64> {
    NAMED.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}
