//! Errors of engine socket operations.
//!
//! One enum for every operation: the sockets-api crate maps each to its BSD errno
//! (`EADDRINUSE`, `EHOSTUNREACH`, ...) in one place.

/// Why a socket operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The handle does not name an open socket (`EBADF`).
    #[error("bad socket handle")]
    BadHandle,
    /// The operation does not apply to this kind of socket (`EOPNOTSUPP`).
    #[error("operation not supported on this socket")]
    NotSupported,
    /// Argument out of range or call in the wrong state (`EINVAL`).
    #[error("invalid argument")]
    InvalidInput,
    /// Address and port already taken (`EADDRINUSE`).
    #[error("address already in use")]
    AddrInUse,
    /// The local address is not one of ours (`EADDRNOTAVAIL`).
    #[error("cannot assign requested address")]
    AddrNotAvailable,
    /// No ephemeral port is free (`EAGAIN` on Linux for connect, `EADDRINUSE` for bind).
    #[error("no ephemeral port available")]
    PortsExhausted,
    /// Reserved port without privilege, or broadcast without `SO_BROADCAST` (`EACCES`).
    #[error("permission denied")]
    PermissionDenied,
    /// Nothing to do without blocking (`EWOULDBLOCK`).
    #[error("operation would block")]
    WouldBlock,
    /// The socket is not connected (`ENOTCONN`).
    #[error("socket is not connected")]
    NotConnected,
    /// The socket is already connected (`EISCONN`).
    #[error("socket is already connected")]
    IsConnected,
    /// A connection attempt is under way (`EALREADY`).
    #[error("operation already in progress")]
    Already,
    /// A non-blocking connect started (`EINPROGRESS`).
    #[error("operation now in progress")]
    InProgress,
    /// No destination address (`EDESTADDRREQ`).
    #[error("destination address required")]
    DestAddrRequired,
    /// Datagram too large (`EMSGSIZE`).
    #[error("message too long")]
    MessageTooLong,
    /// No route to the network (`ENETUNREACH`).
    #[error("network is unreachable")]
    NetUnreachable,
    /// The host did not answer ARP, or ICMP said so (`EHOSTUNREACH`).
    #[error("no route to host")]
    HostUnreachable,
    /// The peer refused (`ECONNREFUSED`).
    #[error("connection refused")]
    ConnectionRefused,
    /// The peer reset the connection (`ECONNRESET`).
    #[error("connection reset by peer")]
    ConnectionReset,
    /// The connection was aborted locally (`ECONNABORTED`).
    #[error("connection aborted")]
    ConnectionAborted,
    /// Retransmissions or keep-alives went unanswered (`ETIMEDOUT`).
    #[error("connection timed out")]
    TimedOut,
    /// Writing after shutdown or after the peer reset (`EPIPE`).
    #[error("broken pipe")]
    BrokenPipe,
    /// A configured bound was reached (socket table full: `EMFILE`/`ENOBUFS`).
    #[error("no buffer space available")]
    NoBuffers,
    /// Too many sockets (`EMFILE`).
    #[error("too many open sockets")]
    TooManySockets,
    /// Protocol unreachable reported by ICMP (`ENOPROTOOPT` on Linux).
    #[error("protocol not available")]
    ProtocolUnreachable,
}
