//! [`TcpListener`] and [`TcpStream`], named and behaving like `std::net`'s.
//!
//! Each method is the BSD call it names on the socket's descriptor. Writes pass
//! `MSG_NOSIGNAL`, as std does (Rust programs ignore `SIGPIPE`): a broken connection
//! is an `io::ErrorKind::BrokenPipe` error and never calls the stack's `SIGPIPE`
//! handler.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use super::{each_addr, v4_addrs, ToStackAddrs};
use crate::addr::SockAddrIn;
use crate::bsd::Stack;
use crate::consts::{
    AF_INET, FIONBIO, IPPROTO_IP, IPPROTO_TCP, IP_TTL, MSG_NOSIGNAL, MSG_PEEK, POLLOUT, SHUT_RD,
    SHUT_RDWR, SHUT_WR, SOCK_STREAM, SOL_SOCKET, SO_ERROR, SO_LINGER, SO_RCVTIMEO, SO_REUSEADDR,
    SO_SNDTIMEO, SO_TYPE, TCP_CA_NAME_MAX, TCP_CONGESTION, TCP_NODELAY,
};
use crate::errno::Errno;
use crate::options::Linger;
use crate::select::PollFd;

/// The backlog std's `TcpListener::bind` asks for.
const STD_BACKLOG: i32 = 128;

/// A descriptor of `stack` that is closed on drop (until handed over).
#[derive(Debug)]
struct Fd {
    stack: Stack,
    fd: i32,
}

impl Fd {
    fn new_stream(stack: &Stack) -> Result<Fd, Errno> {
        Ok(Fd {
            stack: stack.clone(),
            fd: stack.socket(AF_INET, SOCK_STREAM, 0)?,
        })
    }

    fn adopt(stack: &Stack, fd: i32) -> io::Result<Fd> {
        let mut ty = 0i32;
        stack.getsockopt(fd, SOL_SOCKET, SO_TYPE, &mut ty)?;
        if ty != SOCK_STREAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a stream socket",
            ));
        }
        Ok(Fd {
            stack: stack.clone(),
            fd,
        })
    }

    fn into_raw(mut self) -> i32 {
        // -1 tells Drop that the descriptor is no longer ours to close.
        std::mem::replace(&mut self.fd, -1)
    }

    fn try_clone(&self) -> io::Result<Fd> {
        Ok(Fd {
            stack: self.stack.clone(),
            fd: self.stack.dup(self.fd)?,
        })
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let mut on = i32::from(nonblocking);
        Ok(self.stack.ioctl(self.fd, FIONBIO, &mut on)?)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(self.stack.getsockname(self.fd)?.into()))
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        let mut v = 0i32;
        self.stack
            .getsockopt(self.fd, SOL_SOCKET, SO_ERROR, &mut v)?;
        Ok((v != 0).then(|| io::Error::from_raw_os_error(v)))
    }

    fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let v = i32::try_from(ttl).map_err(|_| io::Error::from(Errno::EINVAL))?;
        Ok(self.stack.setsockopt(self.fd, IPPROTO_IP, IP_TTL, &v)?)
    }

    fn ttl(&self) -> io::Result<u32> {
        let mut v = 0i32;
        self.stack.getsockopt(self.fd, IPPROTO_IP, IP_TTL, &mut v)?;
        Ok(v as u32)
    }

    fn set_flag(&self, level: i32, optname: i32, on: bool) -> io::Result<()> {
        Ok(self
            .stack
            .setsockopt(self.fd, level, optname, &i32::from(on))?)
    }

    fn flag(&self, level: i32, optname: i32) -> io::Result<bool> {
        let mut v = 0i32;
        self.stack.getsockopt(self.fd, level, optname, &mut v)?;
        Ok(v != 0)
    }

    fn set_timeout(&self, optname: i32, dur: Option<Duration>) -> io::Result<()> {
        super::set_timeout(&self.stack, self.fd, optname, dur)
    }

    fn timeout(&self, optname: i32) -> io::Result<Option<Duration>> {
        super::timeout(&self.stack, self.fd, optname)
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        if self.fd >= 0 {
            let _ = self.stack.close(self.fd);
        }
    }
}

/// A listening TCP socket on a [`Stack`], like `std::net::TcpListener`. Closed when
/// dropped (the connections waiting in its queue are reset).
#[derive(Debug)]
pub struct TcpListener {
    fd: Fd,
}

impl TcpListener {
    /// A listener bound to `addr` on `stack` (port 0: an ephemeral port), with a
    /// backlog of 128. As std does on Unix, it sets `SO_REUSEADDR` first (so a
    /// server can restart while old connections sit in TIME-WAIT), and tries each
    /// resolved address in turn.
    pub fn bind(stack: &Stack, addr: impl ToStackAddrs) -> io::Result<TcpListener> {
        let addrs = v4_addrs(stack, addr)?;
        each_addr(&addrs, |a| {
            let fd = Fd::new_stream(stack)?;
            stack.setsockopt(fd.fd, SOL_SOCKET, SO_REUSEADDR, &1i32)?;
            stack.bind(fd.fd, &SockAddrIn::from(a))?;
            stack.listen(fd.fd, STD_BACKLOG)?;
            Ok(TcpListener { fd })
        })
    }

    /// Takes ownership of descriptor `fd` of `stack`, which must be a stream socket
    /// (`InvalidInput` otherwise; `EBADF` if not open).
    pub fn from_raw_fd(stack: &Stack, fd: i32) -> io::Result<TcpListener> {
        Ok(TcpListener {
            fd: Fd::adopt(stack, fd)?,
        })
    }

    /// The descriptor, for the BSD calls of [`TcpListener::stack`].
    pub fn as_raw_fd(&self) -> i32 {
        self.fd.fd
    }

    /// Gives up ownership: the descriptor stays open and is returned.
    pub fn into_raw_fd(self) -> i32 {
        self.fd.into_raw()
    }

    /// The stack this socket lives on.
    pub fn stack(&self) -> &Stack {
        &self.fd.stack
    }

    /// The local address (with the port `bind` picked).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.local_addr()
    }

    /// Waits for a connection (unless non-blocking: `WouldBlock`) and returns it
    /// with the peer's address. The stream is blocking, whatever the listener is.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, from) = self.fd.stack.accept(self.fd.fd)?;
        let stream = TcpStream {
            fd: Fd {
                stack: self.fd.stack.clone(),
                fd,
            },
        };
        Ok((stream, SocketAddr::V4(from.into())))
    }

    /// An endless iterator over accepted connections (`accept` in a loop, as std's
    /// `incoming`).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// A second handle on the same listener (a `dup`ed descriptor).
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            fd: self.fd.try_clone()?,
        })
    }

    /// Sets or clears non-blocking mode (for `accept`).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.fd.set_nonblocking(nonblocking)
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.fd.take_error()
    }

    /// Sets the TTL of the segments of accepted connections (`IP_TTL`, 1..=255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.fd.set_ttl(ttl)
    }

    /// The TTL (`IP_TTL`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.fd.ttl()
    }
}

/// The iterator of [`TcpListener::incoming`]: never ends; each item is the result
/// of one `accept`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection on a [`Stack`], like `std::net::TcpStream`: [`Read`] and
/// [`Write`] (also through `&TcpStream`, so one thread may read while another
/// writes). Closed when dropped (gracefully: queued data is still delivered).
#[derive(Debug)]
pub struct TcpStream {
    fd: Fd,
}

impl TcpStream {
    /// Connects to `addr` from `stack`, waiting for the handshake; each resolved
    /// address is tried in turn, as std does. Errors such as `ConnectionRefused`,
    /// `TimedOut` (after the SYN retries), `HostUnreachable`.
    pub fn connect(stack: &Stack, addr: impl ToStackAddrs) -> io::Result<TcpStream> {
        each_addr(&v4_addrs(stack, addr)?, |a| {
            let fd = Fd::new_stream(stack)?;
            stack.connect(fd.fd, &SockAddrIn::from(a))?;
            Ok(TcpStream { fd })
        })
    }

    /// Connects to `addr`, giving up after `timeout` (`TimedOut`, as std; a zero
    /// timeout is `InvalidInput`). Made with a non-blocking `connect` and `poll`.
    pub fn connect_timeout(
        stack: &Stack,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        let a = v4_addrs(stack, *addr)?[0];
        let fd = Fd::new_stream(stack)?;
        fd.set_nonblocking(true)?;
        match stack.connect(fd.fd, &SockAddrIn::from(a)) {
            Ok(()) => {}
            Err(Errno::EINPROGRESS) => {
                let deadline = Instant::now().checked_add(timeout);
                loop {
                    let left = deadline.map_or(Duration::MAX, |d| {
                        d.saturating_duration_since(Instant::now())
                    });
                    if left.is_zero() {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "connection timed out",
                        ));
                    }
                    // Rounded up, so that the loop never spins on a sub-millisecond
                    // remainder.
                    let ms = left.as_micros().div_ceil(1000);
                    let ms = i32::try_from(ms).unwrap_or(i32::MAX);
                    let mut pfd = [PollFd::new(fd.fd, POLLOUT)];
                    if stack.poll(&mut pfd, ms)? > 0 {
                        break;
                    }
                }
                if let Some(e) = fd.take_error()? {
                    return Err(e);
                }
                // Writable without an error: connected (a second connect says so).
                match stack.connect(fd.fd, &SockAddrIn::from(a)) {
                    Ok(()) | Err(Errno::EISCONN) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
        fd.set_nonblocking(false)?;
        Ok(TcpStream { fd })
    }

    /// Takes ownership of descriptor `fd` of `stack`, which must be a stream socket
    /// (`InvalidInput` otherwise; `EBADF` if not open).
    pub fn from_raw_fd(stack: &Stack, fd: i32) -> io::Result<TcpStream> {
        Ok(TcpStream {
            fd: Fd::adopt(stack, fd)?,
        })
    }

    /// The descriptor, for the BSD calls of [`TcpStream::stack`].
    pub fn as_raw_fd(&self) -> i32 {
        self.fd.fd
    }

    /// Gives up ownership: the descriptor stays open and is returned.
    pub fn into_raw_fd(self) -> i32 {
        self.fd.into_raw()
    }

    /// The stack this socket lives on.
    pub fn stack(&self) -> &Stack {
        &self.fd.stack
    }

    /// The peer's address (`NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::V4(
            self.fd.stack.getpeername(self.fd.fd)?.into(),
        ))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd.local_addr()
    }

    /// Shuts down reading, writing (a FIN: the peer reads end of file), or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let how = match how {
            Shutdown::Read => SHUT_RD,
            Shutdown::Write => SHUT_WR,
            Shutdown::Both => SHUT_RDWR,
        };
        Ok(self.fd.stack.shutdown(self.fd.fd, how)?)
    }

    /// A second handle on the same connection (a `dup`ed descriptor): both read
    /// and write it; it closes when both are dropped.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            fd: self.fd.try_clone()?,
        })
    }

    /// Reads without removing the data from the queue (`MSG_PEEK`).
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fd.stack.recv(self.fd.fd, buf, MSG_PEEK)?)
    }

    /// Sets the read timeout (`None`: wait forever). A zero duration is an
    /// `InvalidInput` error, as in std. An expired timeout is `WouldBlock`.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.fd.set_timeout(SO_RCVTIMEO, dur)
    }

    /// Sets the write timeout (`None`: wait forever).
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.fd.set_timeout(SO_SNDTIMEO, dur)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.fd.timeout(SO_RCVTIMEO)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.fd.timeout(SO_SNDTIMEO)
    }

    /// Sets or clears `TCP_NODELAY` (no Nagle delay for small writes).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.fd.set_flag(IPPROTO_TCP, TCP_NODELAY, nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.fd.flag(IPPROTO_TCP, TCP_NODELAY)
    }

    /// `TCP_INFO`: the connection's state, RTT, congestion window, data in
    /// flight, SACKed and lost bytes, and retransmissions by cause.
    pub fn tcp_info(&self) -> io::Result<stack::tcp::TcpInfo> {
        Ok(self.fd.stack.tcp_info(self.fd.fd)?)
    }

    /// Sets `TCP_CONGESTION` (`"cubic"` or `"reno"`); an unknown name is
    /// `NotFound` (`ENOENT`).
    pub fn set_congestion(&self, name: &str) -> io::Result<()> {
        Ok(self
            .fd
            .stack
            .setsockopt(self.fd.fd, IPPROTO_TCP, TCP_CONGESTION, name.as_bytes())?)
    }

    /// The congestion control algorithm in use (`TCP_CONGESTION`).
    pub fn congestion(&self) -> io::Result<String> {
        let mut name = [0u8; TCP_CA_NAME_MAX];
        let n = self
            .fd
            .stack
            .getsockopt(self.fd.fd, IPPROTO_TCP, TCP_CONGESTION, &mut name[..])?;
        let name = &name[..n];
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Ok(String::from_utf8_lossy(&name[..end]).into_owned())
    }

    /// Sets `SO_LINGER` (as std's unstable `set_linger`): `Some(d)` makes drop
    /// wait up to `d` (whole seconds) for the data to be acknowledged;
    /// `Some(Duration::ZERO)` makes drop reset the connection; `None` is the
    /// default graceful close in the background.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let l = Linger {
            l_onoff: linger.is_some().into(),
            l_linger: linger.map_or(0, |d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX)),
        };
        Ok(self
            .fd
            .stack
            .setsockopt(self.fd.fd, SOL_SOCKET, SO_LINGER, &l)?)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        let mut l = Linger::default();
        self.fd
            .stack
            .getsockopt(self.fd.fd, SOL_SOCKET, SO_LINGER, &mut l)?;
        Ok((l.l_onoff != 0).then(|| Duration::from_secs(u64::from(l.l_linger as u32))))
    }

    /// Sets the TTL of outgoing segments (`IP_TTL`, 1..=255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.fd.set_ttl(ttl)
    }

    /// The TTL of outgoing segments.
    pub fn ttl(&self) -> io::Result<u32> {
        self.fd.ttl()
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.fd.take_error()
    }

    /// Sets or clears non-blocking mode (reads and writes then give `WouldBlock`
    /// instead of waiting).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.fd.set_nonblocking(nonblocking)
    }

    fn recv_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fd.stack.recv(self.fd.fd, buf, 0)?)
    }

    fn send_all(&self, buf: &[u8]) -> io::Result<usize> {
        Ok(self.fd.stack.send(self.fd.fd, buf, MSG_NOSIGNAL)?)
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_some(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_some(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let buf = bufs
            .iter_mut()
            .find(|b| !b.is_empty())
            .map_or(&mut [][..], |b| &mut **b);
        self.recv_some(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_all(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_all(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let buf = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.send_all(buf)
    }

    /// Nothing to flush: a write returns once its bytes are queued in the stack.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
