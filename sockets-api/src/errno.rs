//! `Errno`: the error of every BSD call, with the BSD names, Linux's numbers and
//! glibc's `strerror` text.
//!
//! This is the one place where engine errors ([`NetError`]) become errno values
//! (STYLE.md "errors in layers"), and where errno values become `std::io::Error`
//! (through `from_raw_os_error`, so `ErrorKind` is what std would give for the same
//! failure of a kernel socket).
//!
//! Like C's `errno`, the last error of a failed call on this thread is also kept:
//! [`errno()`] reads it, [`perror_last`] prints it.

use std::cell::Cell;
use std::fmt;

use stack::NetError;

/// A BSD error number (Linux values), e.g. [`Errno::ECONNREFUSED`].
///
/// `Display` gives glibc's `strerror` text ("Connection refused"); [`Errno::name`]
/// gives the symbolic name ("ECONNREFUSED").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($( $(#[$doc:meta])* $name:ident = $value:expr, $text:expr; )*) => {
        impl Errno {
            $( $(#[$doc])* pub const $name: Errno = Errno($value); )*

            /// The symbolic name ("ECONNREFUSED"), or "E?" followed by the number for a
            /// value this crate does not know.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $( $value => stringify!($name), )*
                    _ => "E?",
                }
            }

            /// glibc's `strerror` text for this error.
            pub fn strerror(self) -> &'static str {
                match self.0 {
                    $( $value => $text, )*
                    _ => "Unknown error",
                }
            }

            /// Every error this crate names, in numeric order.
            pub const ALL: &'static [Errno] = &[$( Errno::$name, )*];
        }
    };
}

errnos! {
    /// Operation not permitted.
    EPERM = 1, "Operation not permitted";
    /// No such file or directory (`TCP_CONGESTION` with an unknown algorithm).
    ENOENT = 2, "No such file or directory";
    /// Interrupted system call: only from a [`Blocker`](crate::Blocker) whose
    /// wait a signal handler interrupted (in-process there are no signals).
    EINTR = 4, "Interrupted system call";
    /// Input/output error (an engine error this crate does not know yet).
    EIO = 5, "Input/output error";
    /// No such device or address (opening a FIFO's write end, non-blocking, with
    /// no reader).
    ENXIO = 6, "No such device or address";
    /// Bad file descriptor: the descriptor is not open (or was closed while a call
    /// waited on it).
    EBADF = 9, "Bad file descriptor";
    /// Resource temporarily unavailable: the call would block (`EWOULDBLOCK`), a
    /// timeout expired, or no ephemeral port was free for an implicit bind.
    EAGAIN = 11, "Resource temporarily unavailable";
    /// Cannot allocate memory.
    ENOMEM = 12, "Cannot allocate memory";
    /// Permission denied: reserved port without privilege, broadcast without
    /// `SO_BROADCAST`.
    EACCES = 13, "Permission denied";
    /// Bad address (never produced: Rust references are always valid).
    EFAULT = 14, "Bad address";
    /// Device or resource busy (a [`Blocker`](crate::Blocker) is set already).
    EBUSY = 16, "Device or resource busy";
    /// File exists (`mkfifo` on a name that is taken).
    EEXIST = 17, "File exists";
    /// Invalid argument.
    EINVAL = 22, "Invalid argument";
    /// Too many open files in system.
    ENFILE = 23, "Too many open files in system";
    /// Too many open files: the descriptor table or the engine's socket table is full.
    EMFILE = 24, "Too many open files";
    /// Inappropriate ioctl for device: unknown `ioctl` request.
    ENOTTY = 25, "Inappropriate ioctl for device";
    /// Broken pipe: sending after `shutdown(SHUT_WR)`, or on a connection that is
    /// gone (after its reset was reported).
    EPIPE = 32, "Broken pipe";
    /// Numerical argument out of domain: a `timeval` with `tv_usec` outside
    /// 0..1000000 given to `SO_RCVTIMEO`/`SO_SNDTIMEO` (as Linux answers).
    EDOM = 33, "Numerical argument out of domain";
    /// Function not implemented.
    ENOSYS = 38, "Function not implemented";
    /// Socket operation on non-socket (never produced: every descriptor here is a
    /// socket).
    ENOTSOCK = 88, "Socket operation on non-socket";
    /// Destination address required: `send`/`write` on an unconnected datagram socket.
    EDESTADDRREQ = 89, "Destination address required";
    /// Message too long: a datagram larger than 65507 bytes.
    EMSGSIZE = 90, "Message too long";
    /// Protocol wrong type for socket.
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    /// Protocol not available: unknown socket option or level; an ICMP protocol
    /// unreachable.
    ENOPROTOOPT = 92, "Protocol not available";
    /// Protocol not supported: a protocol that does not fit the socket type.
    EPROTONOSUPPORT = 93, "Protocol not supported";
    /// Socket type not supported.
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    /// Operation not supported (e.g. `MSG_OOB` on a datagram socket).
    EOPNOTSUPP = 95, "Operation not supported";
    /// Protocol family not supported.
    EPFNOSUPPORT = 96, "Protocol family not supported";
    /// Address family not supported by protocol: a family other than `AF_INET`.
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    /// Address already in use.
    EADDRINUSE = 98, "Address already in use";
    /// Cannot assign requested address: the address is not one of this stack's.
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    /// Network is down: the stack's driver stopped, nothing will arrive any more.
    ENETDOWN = 100, "Network is down";
    /// Network is unreachable.
    ENETUNREACH = 101, "Network is unreachable";
    /// Network dropped connection on reset.
    ENETRESET = 102, "Network dropped connection on reset";
    /// Software caused connection abort.
    ECONNABORTED = 103, "Software caused connection abort";
    /// Connection reset by peer.
    ECONNRESET = 104, "Connection reset by peer";
    /// No buffer space available.
    ENOBUFS = 105, "No buffer space available";
    /// Transport endpoint is already connected.
    EISCONN = 106, "Transport endpoint is already connected";
    /// Transport endpoint is not connected.
    ENOTCONN = 107, "Transport endpoint is not connected";
    /// Cannot send after transport endpoint shutdown.
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    /// Connection timed out.
    ETIMEDOUT = 110, "Connection timed out";
    /// Connection refused (for UDP: an ICMP port unreachable came back to a
    /// connected socket).
    ECONNREFUSED = 111, "Connection refused";
    /// Host is down.
    EHOSTDOWN = 112, "Host is down";
    /// No route to host (ARP got no answer, or ICMP said so).
    EHOSTUNREACH = 113, "No route to host";
    /// Operation already in progress.
    EALREADY = 114, "Operation already in progress";
    /// Operation now in progress.
    EINPROGRESS = 115, "Operation now in progress";
}

impl Errno {
    /// Operation would block: the same number as [`Errno::EAGAIN`], as on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;

    /// Operation not supported on socket: the same number as [`Errno::EOPNOTSUPP`].
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The number (Linux's value).
    pub fn raw(self) -> i32 {
        self.0
    }
}

impl From<NetError> for Errno {
    fn from(e: NetError) -> Errno {
        match e {
            NetError::BadHandle => Errno::EBADF,
            NetError::NotSupported => Errno::EOPNOTSUPP,
            NetError::InvalidInput => Errno::EINVAL,
            NetError::AddrInUse => Errno::EADDRINUSE,
            NetError::AddrNotAvailable => Errno::EADDRNOTAVAIL,
            // Linux: connect/sendto with no free ephemeral port give EAGAIN; the
            // engine maps bind's exhaustion to AddrInUse before it gets here.
            NetError::PortsExhausted => Errno::EAGAIN,
            NetError::PermissionDenied => Errno::EACCES,
            NetError::WouldBlock => Errno::EAGAIN,
            NetError::NotConnected => Errno::ENOTCONN,
            NetError::IsConnected => Errno::EISCONN,
            NetError::Already => Errno::EALREADY,
            NetError::InProgress => Errno::EINPROGRESS,
            NetError::DestAddrRequired => Errno::EDESTADDRREQ,
            NetError::MessageTooLong => Errno::EMSGSIZE,
            NetError::NetUnreachable => Errno::ENETUNREACH,
            NetError::HostUnreachable => Errno::EHOSTUNREACH,
            NetError::ConnectionRefused => Errno::ECONNREFUSED,
            NetError::ConnectionReset => Errno::ECONNRESET,
            NetError::ConnectionAborted => Errno::ECONNABORTED,
            NetError::TimedOut => Errno::ETIMEDOUT,
            NetError::BrokenPipe => Errno::EPIPE,
            NetError::NoBuffers => Errno::ENOBUFS,
            NetError::TooManySockets => Errno::EMFILE,
            NetError::ProtocolUnreachable => Errno::ENOPROTOOPT,
            // NetError is non_exhaustive: a variant added later without a mapping
            // here is an I/O error rather than a panic.
            _ => Errno::EIO,
        }
    }
}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> std::io::Error {
        std::io::Error::from_raw_os_error(e.0)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.strerror() {
            "Unknown error" => write!(f, "Unknown error {}", self.0),
            text => f.write_str(text),
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            "E?" => write!(f, "Errno({})", self.0),
            name => f.write_str(name),
        }
    }
}

impl std::error::Error for Errno {}

thread_local! {
    static LAST_ERRNO: Cell<Errno> = const { Cell::new(Errno(0)) };
}

/// The error of the last failed BSD call on this thread (C's `errno`); `Errno(0)`
/// if none failed yet. Successful calls leave it unchanged, as in C.
pub fn errno() -> Errno {
    LAST_ERRNO.with(Cell::get)
}

/// Records `e` as this thread's [`errno()`]. Every BSD call of this crate does this
/// on failure.
pub fn set_errno(e: Errno) {
    LAST_ERRNO.with(|c| c.set(e));
}

/// Records the error of a failing call and passes the result on.
pub(crate) fn track<T>(r: Result<T, Errno>) -> Result<T, Errno> {
    if let Err(e) = r {
        set_errno(e);
    }
    r
}

/// The text `perror` prints: `"prefix: text"` (just the text when `prefix` is empty).
pub fn perror_text(prefix: &str, e: Errno) -> String {
    if prefix.is_empty() {
        e.to_string()
    } else {
        format!("{prefix}: {e}")
    }
}

/// Prints `"prefix: text"` to standard error, as C's `perror` does, for the error
/// `e`.
pub fn perror(prefix: &str, e: Errno) {
    eprintln!("{}", perror_text(prefix, e));
}

/// Prints `"prefix: text"` for this thread's last error ([`errno()`]): the closest
/// form of C's `perror(prefix)`.
pub fn perror_last(prefix: &str) {
    perror(prefix, errno());
}
