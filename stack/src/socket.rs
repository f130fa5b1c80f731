//! The engine's socket table: generational handles into a slab, readiness, and the
//! set of sockets whose readiness changed since the runtime last looked.

use crate::error::NetError;
use crate::ping::PingSocket;
use crate::udp::UdpSocket;

/// Names one socket of one engine. Handles are never reused while the socket is
/// open; a stale handle (socket closed) is [`NetError::BadHandle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketHandle {
    index: u32,
    generation: u32,
}

impl SocketHandle {
    /// The slot index (small, dense): useful as a key in per-socket side tables.
    pub fn index(self) -> usize {
        self.index as usize
    }

    /// A handle made up for a unit test.
    #[cfg(test)]
    pub(crate) fn for_test(index: u32) -> SocketHandle {
        SocketHandle {
            index,
            generation: 0,
        }
    }
}

/// What a socket can do now, for select/poll and for waking blocked callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    /// A read (or accept) would not block.
    pub readable: bool,
    /// A write would not block.
    pub writable: bool,
    /// Urgent data is pending (select's except set, POLLPRI).
    pub urgent: bool,
    /// An error is pending (`SO_ERROR` non-zero).
    pub error: bool,
    /// The connection is closed in both directions, or reset.
    pub hangup: bool,
}

/// Per-socket options (`setsockopt` level `SOL_SOCKET`, `IPPROTO_IP`, `IPPROTO_TCP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// `SO_REUSEADDR`.
    pub reuse_addr: bool,
    /// `SO_BROADCAST`.
    pub broadcast: bool,
    /// `SO_KEEPALIVE`.
    pub keepalive: bool,
    /// `SO_OOBINLINE`.
    pub oob_inline: bool,
    /// `SO_LINGER`: `None` off, `Some(d)` on with that time.
    pub linger: Option<crate::time::Duration>,
    /// `SO_RCVBUF` in bytes (for a connection with autotuning, its current size).
    pub recv_buffer: usize,
    /// The user set `SO_RCVBUF`: the receive buffer keeps that size, without
    /// autotuning (Linux's `SOCK_RCVBUF_LOCK`). Set by
    /// [`crate::Engine::set_socket_options`] when the size changes.
    pub recv_buffer_locked: bool,
    /// `SO_SNDBUF` in bytes.
    pub send_buffer: usize,
    /// `IP_TTL` (0: the stack's default).
    pub ttl: u8,
    /// `IP_TOS`.
    pub tos: u8,
    /// `TCP_NODELAY`.
    pub nodelay: bool,
    /// `SO_DEBUG` (kept and reported, as Linux does; nothing reads it).
    pub debug: bool,
    /// `SO_DONTROUTE`: only destinations on the attached network, no gateway
    /// (`ENETUNREACH` otherwise).
    pub dont_route: bool,
    /// `TCP_KEEPIDLE`: idle time before the first keep-alive probe (`None`:
    /// the stack's `keepalive_time`).
    pub keep_idle: Option<crate::time::Duration>,
    /// `TCP_KEEPINTVL`: time between keep-alive probes (`None`: the stack's).
    pub keep_interval: Option<crate::time::Duration>,
    /// `TCP_KEEPCNT`: unanswered probes before the connection is dropped
    /// (`None`: the stack's).
    pub keep_count: Option<u32>,
    /// `TCP_USER_TIMEOUT` (RFC 5482): how long sent data may stay
    /// unacknowledged before the connection is dropped with `ETIMEDOUT`
    /// (`None`: the retransmission limits decide).
    pub user_timeout: Option<crate::time::Duration>,
    /// `TCP_NOTSENT_LOWAT`: `send` waits while this many bytes or more are
    /// queued but not yet sent, and the socket polls writable only below half
    /// of it, as in Linux (`None`: no limit).
    pub notsent_lowat: Option<u32>,
    /// `TCP_CORK`: hold segments shorter than the MSS until uncorked, at most
    /// for one retransmission timeout (Linux's 200 ms ceiling).
    pub cork: bool,
    /// `TCP_FASTOPEN` on a listener: how many connections accepted on their
    /// SYN's data may wait for their handshake to complete (0: Fast Open off
    /// for this listener).
    pub fast_open: u32,
    /// `TCP_FASTOPEN_NO_COOKIE`: a listener takes data on any SYN; a client
    /// sends data on its SYN without a cookie.
    pub fast_open_no_cookie: bool,
    /// `TCP_FASTOPEN_CONNECT`: `connect` returns at once and the SYN leaves
    /// with the first `send`'s data (when a cookie is known).
    pub fast_open_connect: bool,
    /// `TCP_SYNCNT`: SYN retransmissions before `connect` gives up (`None`:
    /// the stack's `syn_retries`).
    pub syn_count: Option<u8>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            reuse_addr: false,
            broadcast: false,
            keepalive: false,
            oob_inline: false,
            linger: None,
            recv_buffer: 212_992,
            recv_buffer_locked: false,
            send_buffer: 212_992,
            ttl: 0,
            tos: 0,
            nodelay: false,
            debug: false,
            dont_route: false,
            keep_idle: None,
            keep_interval: None,
            keep_count: None,
            user_timeout: None,
            notsent_lowat: None,
            cork: false,
            fast_open: 0,
            fast_open_no_cookie: false,
            fast_open_connect: false,
            syn_count: None,
        }
    }
}

/// The protocol state behind a handle.
#[derive(Debug)]
pub(crate) enum Socket {
    Ping(PingSocket),
    Udp(UdpSocket),
    Tcp(Box<crate::tcp::TcpSocket>),
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    socket: Option<Socket>,
    dirty: bool,
}

/// All sockets of an engine.
#[derive(Debug, Default)]
pub(crate) struct SocketSet {
    slots: Vec<Slot>,
    free: Vec<u32>,
    open: usize,
    max: usize,
    dirty: Vec<SocketHandle>,
    /// Sockets removed since the last look: their waiters must still be woken
    /// (to find the handle gone).
    freed: Vec<SocketHandle>,
}

impl SocketSet {
    pub(crate) fn new(max: usize) -> SocketSet {
        SocketSet {
            max,
            ..SocketSet::default()
        }
    }

    pub(crate) fn insert(&mut self, socket: Socket) -> Result<SocketHandle, NetError> {
        if self.open >= self.max {
            return Err(NetError::TooManySockets);
        }
        self.open += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.socket = Some(socket);
            slot.dirty = false;
            return Ok(SocketHandle {
                index,
                generation: slot.generation,
            });
        }
        let index = u32::try_from(self.slots.len()).map_err(|_| NetError::TooManySockets)?;
        self.slots.push(Slot {
            generation: 0,
            socket: Some(socket),
            dirty: false,
        });
        Ok(SocketHandle {
            index,
            generation: 0,
        })
    }

    pub(crate) fn get(&self, h: SocketHandle) -> Result<&Socket, NetError> {
        match self.slots.get(h.index as usize) {
            Some(Slot {
                generation,
                socket: Some(s),
                ..
            }) if *generation == h.generation => Ok(s),
            _ => Err(NetError::BadHandle),
        }
    }

    pub(crate) fn get_mut(&mut self, h: SocketHandle) -> Result<&mut Socket, NetError> {
        match self.slots.get_mut(h.index as usize) {
            Some(Slot {
                generation,
                socket: Some(s),
                ..
            }) if *generation == h.generation => Ok(s),
            _ => Err(NetError::BadHandle),
        }
    }

    pub(crate) fn remove(&mut self, h: SocketHandle) -> Result<Socket, NetError> {
        let slot = self
            .slots
            .get_mut(h.index as usize)
            .filter(|s| s.generation == h.generation && s.socket.is_some())
            .ok_or(NetError::BadHandle)?;
        let socket = slot.socket.take().ok_or(NetError::BadHandle)?;
        slot.generation = slot.generation.wrapping_add(1);
        slot.dirty = false;
        self.free.push(h.index);
        if self.freed.len() < 4096 {
            self.freed.push(h);
        }
        self.open -= 1;
        Ok(socket)
    }

    /// Marks a socket's readiness as possibly changed.
    pub(crate) fn mark(&mut self, h: SocketHandle) {
        if let Some(slot) = self.slots.get_mut(h.index as usize) {
            if slot.generation == h.generation && slot.socket.is_some() && !slot.dirty {
                slot.dirty = true;
                self.dirty.push(h);
            }
        }
    }

    /// Takes the next socket marked since the last call.
    pub(crate) fn pop_dirty(&mut self) -> Option<SocketHandle> {
        if let Some(h) = self.freed.pop() {
            return Some(h);
        }
        while let Some(h) = self.dirty.pop() {
            if let Some(slot) = self.slots.get_mut(h.index as usize) {
                if slot.generation == h.generation && slot.dirty {
                    slot.dirty = false;
                    return Some(h);
                }
            }
        }
        None
    }

    pub(crate) fn len(&self) -> usize {
        self.open
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (SocketHandle, &Socket)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| {
            s.socket.as_ref().map(|sock| {
                (
                    SocketHandle {
                        index: i as u32,
                        generation: s.generation,
                    },
                    sock,
                )
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_are_rejected_and_bound_holds() {
        let mut s = SocketSet::new(2);
        let a = s.insert(Socket::Ping(PingSocket::new(1, 4))).unwrap();
        let b = s.insert(Socket::Ping(PingSocket::new(2, 4))).unwrap();
        assert_eq!(
            s.insert(Socket::Ping(PingSocket::new(3, 4))).unwrap_err(),
            NetError::TooManySockets
        );
        s.remove(a).unwrap();
        assert_eq!(s.get(a).unwrap_err(), NetError::BadHandle);
        let c = s.insert(Socket::Ping(PingSocket::new(3, 4))).unwrap();
        assert_eq!(c.index(), a.index());
        assert_ne!(c, a);
        assert!(s.get(a).is_err());
        s.mark(b);
        s.mark(b);
        // The removed socket is reported once (its waiters must wake), then b once.
        assert_eq!(s.pop_dirty(), Some(a));
        assert_eq!(s.pop_dirty(), Some(b));
        assert_eq!(s.pop_dirty(), None);
        assert_eq!(s.len(), 2);
    }
}
