//! TCP Fast Open (RFC 7413): data on the SYN, for a client that holds a cookie
//! from the server.
//!
//! Read RFC 7413 sections 3 and 4 before touching this. The server's cookie is
//! Linux's (`__tcp_fastopen_cookie_gen_cipher`): SipHash-2-4 of the client's
//! and the server's IPv4 addresses under a 128-bit key, 8 bytes little-endian,
//! so a Linux host with the same key hands out the same cookies. The server
//! never stores a cookie: it recomputes it. The client remembers the cookie and
//! the MSS each server gave (Linux's TCP metrics cache), a bounded number of
//! servers, least recently used first out.
//!
//! The flow, as Linux's:
//! - client without a cookie: the SYN asks for one (an empty option) and
//!   carries no data; `sendto(MSG_FASTOPEN)` reports `EINPROGRESS`.
//! - client with a cookie: the SYN carries it and up to the cached MSS less 40
//!   bytes of data (room for options middleboxes add); what the SYN-ACK does
//!   not acknowledge goes again right after it. A SYN sent again after a
//!   timeout has neither data nor option.
//! - server, listener with `TCP_FASTOPEN`: a cookie request or a wrong cookie
//!   gets the right cookie in the SYN-ACK and the data is not taken; a right
//!   cookie makes the connection at once: its data is readable, the SYN-ACK
//!   acknowledges it, `accept` returns it and the server may send before the
//!   handshake completes.

use super::conn::Tcb;
use super::*;
use crate::tcp::options::FastOpenCookie;
use core::hash::Hasher;
use siphasher::sip::SipHasher24;

/// Bytes of the SYN's MSS a client leaves for options (Linux's
/// `MAX_TCP_OPTION_SPACE`).
const SYN_OPTION_ROOM: usize = 40;

/// Linux's server cookie for `client` talking to `server` under `key`.
pub(crate) fn server_cookie(key: &[u8; 16], client: Ipv4Addr, server: Ipv4Addr) -> [u8; 8] {
    let mut h = SipHasher24::new_with_key(key);
    h.write(&client.octets());
    h.write(&server.octets());
    h.finish().to_le_bytes()
}

/// A connection's Fast Open state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastOpen {
    /// The option our first SYN or SYN-ACK carries (a SYN sent again carries
    /// none, as Linux's).
    pub option: Option<FastOpenCookie>,
    /// Bytes of the send buffer our first SYN carries (client).
    pub syn_data: usize,
    /// We tried Fast Open as a client (asked for a cookie or sent one), so
    /// the SYN-ACK's cookie and MSS are worth remembering.
    pub tried: bool,
    /// What the SYN-ACK taught, for the client's cache: its cookie, if one of
    /// a valid length, and its MSS.
    pub learned: Option<(Option<FastOpenCookie>, u16)>,
    /// A connection a listener made on its SYN's data: it may be read, and may
    /// send, before the handshake completes.
    pub passive: bool,
    /// Data on the SYN was acknowledged (client) or taken (server): Linux's
    /// `TCPI_OPT_SYN_DATA`.
    pub syn_data_acked: bool,
    /// `TCP_FASTOPEN_CONNECT` with a cookie: `connect` returned at once and
    /// the SYN waits for the first send's data, up to `room` bytes of it.
    pub deferred: bool,
    /// See `deferred`.
    pub room: usize,
}

/// How a client's SYN opens: `None` asks for a cookie; else the option to
/// send (`None` without cookies) and the most data the SYN may carry.
type SynPlan = Option<(Option<FastOpenCookie>, usize)>;

impl FastOpen {
    /// An active open tries Fast Open as `plan` says: the SYN's option is
    /// set, and the room for data on the SYN comes back (`None`: the SYN
    /// only asks for a cookie).
    fn begin(&mut self, plan: SynPlan) -> Option<usize> {
        self.tried = true;
        match plan {
            None => {
                self.option = Some(FastOpenCookie::request(false));
                None
            }
            Some((cookie, room)) => {
                self.option = cookie;
                Some(room)
            }
        }
    }
}

/// What a listener does with a SYN, Fast Open-wise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SynVerdict {
    /// An ordinary handshake: the data (if any) is not taken.
    Plain,
    /// An ordinary handshake whose SYN-ACK carries `cookie`; `wrong` when
    /// the SYN had another (else it asked for one).
    SendCookie {
        /// The right cookie, in the form the SYN used.
        cookie: FastOpenCookie,
        /// The SYN carried a wrong cookie.
        wrong: bool,
    },
    /// The data is taken and the connection made at once.
    Accept,
}

/// One server a client remembers.
#[derive(Clone, Copy, Debug)]
struct Entry {
    cookie: Option<FastOpenCookie>,
    mss: u16,
    used: u64,
}

/// The client's memory of servers' cookies and MSSs.
#[derive(Debug, Default)]
pub(crate) struct ClientCache {
    entries: HashMap<Ipv4Addr, Entry>,
    clock: u64,
}

impl ClientCache {
    fn get(&mut self, server: Ipv4Addr) -> Option<(Option<FastOpenCookie>, u16)> {
        self.clock += 1;
        let e = self.entries.get_mut(&server)?;
        e.used = self.clock;
        Some((e.cookie, e.mss))
    }

    /// Remembers what a SYN-ACK from `server` taught: a new valid cookie
    /// replaces the old one, an MSS always does.
    pub(crate) fn learn(
        &mut self,
        server: Ipv4Addr,
        cookie: Option<FastOpenCookie>,
        mss: u16,
        limit: usize,
    ) {
        if limit == 0 {
            return;
        }
        self.clock += 1;
        if !self.entries.contains_key(&server) && self.entries.len() >= limit {
            if let Some(old) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(a, _)| *a)
            {
                self.entries.remove(&old);
            }
        }
        let e = self.entries.entry(server).or_insert(Entry {
            cookie: None,
            mss: 0,
            used: 0,
        });
        if cookie.is_some() {
            e.cookie = cookie;
        }
        if mss > 0 {
            e.mss = mss;
        }
        e.used = self.clock;
    }
}

impl Tcp {
    /// The key of our server cookies.
    fn fast_open_key(&self, cfg: &crate::config::TcpConfig) -> [u8; 16] {
        cfg.fast_open.key.unwrap_or_else(|| {
            let zero = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&self.isn.keyed(3, zero, zero, b"tfo0").to_le_bytes());
            key[8..].copy_from_slice(&self.isn.keyed(3, zero, zero, b"tfo1").to_le_bytes());
            key
        })
    }

    /// Linux's `tcp_try_fastopen`: what listener `lh`, whose socket options
    /// are `opts`, does with `syn` (which carries `data_len` bytes) from
    /// `remote` to `local`.
    pub(super) fn fast_open_verdict(
        &self,
        t: &Tx<'_>,
        lh: SocketHandle,
        opts: &SocketOptions,
        (local, remote): (SocketAddrV4, SocketAddrV4),
        syn: &TcpRepr,
        data_len: usize,
    ) -> SynVerdict {
        let cfg = &t.cx.config.tcp.fast_open;
        let queue = if opts.fast_open > 0 {
            opts.fast_open
        } else {
            cfg.server_without_sockopt.unwrap_or(0)
        };
        let option = syn.options.fast_open;
        if !cfg.server || queue == 0 || (data_len == 0 && option.is_none()) {
            return SynVerdict::Plain;
        }
        // Connections made on their SYN that still wait for their handshake.
        let waiting = match t.sockets.get(lh) {
            Ok(Socket::Tcp(s)) => match &s.kind {
                TcpKind::Listen(l) => l
                    .accept_queue
                    .iter()
                    .filter(|&&c| {
                        matches!(t.sockets.get(c), Ok(Socket::Tcp(cs))
                            if cs.tcb().is_some_and(|c| c.fast_open_waiting()))
                    })
                    .count(),
                _ => return SynVerdict::Plain,
            },
            _ => return SynVerdict::Plain,
        };
        if waiting >= queue as usize {
            return SynVerdict::Plain;
        }
        if cfg.server_without_cookie || opts.fast_open_no_cookie {
            return SynVerdict::Accept;
        }
        let Some(option) = option else {
            return SynVerdict::Plain;
        };
        let right = server_cookie(
            &self.fast_open_key(&t.cx.config.tcp),
            *remote.ip(),
            *local.ip(),
        );
        if option.value() == right {
            return SynVerdict::Accept;
        }
        SynVerdict::SendCookie {
            cookie: FastOpenCookie::new(&right, option.experimental).unwrap_or_default(),
            wrong: option.len > 0,
        }
    }

    /// Connects `h` to `remote` with `data` on the SYN (`sendto` with
    /// `MSG_FASTOPEN`). See [`crate::Engine::tcp_connect_fast_open`].
    pub(super) fn connect_fast_open(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        remote: Option<SocketAddrV4>,
        data: &[u8],
        queue_rest: bool,
    ) -> Result<usize, NetError> {
        if !t.cx.config.tcp.fast_open.client {
            return Err(NetError::NotSupported);
        }
        let s = sock(t.sockets, h)?;
        if let Some(c) = s.tcb() {
            // A deferred connect's SYN goes with this data; connecting
            // already: Linux's EALREADY; connected: the flag means nothing more.
            if c.fast_open_deferred() {
                return self.send_deferred(t, h, data, queue_rest);
            }
            if matches!(c.state(), State::SynSent | State::SynReceived) {
                return Err(NetError::Already);
            }
            return self.send(t, h, data, SendFlags::default());
        }
        let remote = remote.ok_or(NetError::DestAddrRequired)?;
        let plan = self.syn_data_plan(t, h, remote)?;
        let (mut on_syn, mut queued) = (0, 0);
        self.connect_with(t, h, remote, |tcb: &mut Tcb| {
            if let Some(room) = tcb.fast_open_mut().begin(plan) {
                on_syn = tcb.queue_syn_data(&data[..data.len().min(room)]);
            }
            queued = on_syn;
            if queue_rest {
                queued += tcb.queue_after_syn(&data[on_syn..]);
            }
        })?;
        if on_syn > 0 {
            t.cx.counters.inc(Stat::TcpFastOpenActive);
        }
        if queued == 0 {
            return Err(NetError::InProgress);
        }
        Ok(queued)
    }

    /// Whether `h`'s SYN to `remote` may carry data: `None` (ask for a
    /// cookie first) or the option to send (`None` without cookies) and how
    /// many bytes of data: the server's cached MSS (else the link's, and at
    /// most `TCP_MAXSEG`) less 40, at most the send buffer.
    fn syn_data_plan(
        &mut self,
        t: &Tx<'_>,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<SynPlan, NetError> {
        let cfg = &t.cx.config.tcp.fast_open;
        let s = sock(t.sockets, h)?;
        let no_cookie = cfg.client_without_cookie || s.opts.fast_open_no_cookie;
        let known = self.fast_open.get(*remote.ip());
        let link_mss =
            conn::link_mss(t.cx.config.mtu).min(s.user_mss.map_or(usize::MAX, usize::from));
        let (cookie, mss) = match known {
            _ if no_cookie => (None, known.map_or(0, |(_, m)| m)),
            Some((Some(cookie), mss)) => (Some(cookie), mss),
            _ => return Ok(None),
        };
        let mss = if mss == 0 {
            link_mss
        } else {
            link_mss.min(usize::from(mss))
        };
        let room = mss.saturating_sub(SYN_OPTION_ROOM).min(s.opts.send_buffer);
        Ok(Some((cookie, room)))
    }

    /// `connect` with `TCP_FASTOPEN_CONNECT` (Linux's): with a cookie (or
    /// none needed) it returns at once and the SYN leaves with the first
    /// send's data; without, the SYN asks for a cookie, as a plain connect.
    pub(super) fn connect_deferred(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        if !t.cx.config.tcp.fast_open.client {
            self.connect_with(t, h, remote, |_| {})?;
            return Err(NetError::InProgress);
        }
        let plan = self.syn_data_plan(t, h, remote)?;
        self.connect_with(t, h, remote, |tcb: &mut Tcb| {
            let fo = tcb.fast_open_mut();
            if let Some(room) = fo.begin(plan) {
                fo.deferred = true;
                fo.room = room;
            }
        })?;
        match plan {
            Some(_) => Ok(()),
            None => Err(NetError::InProgress),
        }
    }

    /// The first send on a deferred Fast Open connect: its data rides on the
    /// SYN, which goes now. Returns the bytes it carries (`InProgress` for
    /// none), or with `queue_rest` (a blocking caller) all it queued.
    pub(super) fn send_deferred(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        data: &[u8],
        queue_rest: bool,
    ) -> Result<usize, NetError> {
        let now = t.cx.now;
        let n = self.with_tcb(t, h, |tcb, out| {
            let room = tcb.fast_open_mut().room;
            let mut n = tcb.queue_syn_data(&data[..data.len().min(room)]);
            if queue_rest {
                n += tcb.queue_after_syn(&data[n..]);
            }
            tcb.fast_open_mut().deferred = false;
            tcb.output(now, out);
            (n, Notice::default())
        })?;
        if n == 0 {
            // A SYN without data (Linux's answer to an empty send).
            return Err(NetError::InProgress);
        }
        t.cx.counters.inc(Stat::TcpFastOpenActive);
        Ok(n)
    }

    /// After a call on a connection: a SYN-ACK's cookie and MSS go into the
    /// client's cache.
    pub(super) fn learn_fast_open(&mut self, t: &mut Tx<'_>, h: SocketHandle) {
        let limit = t.cx.config.tcp.fast_open.cache_entries;
        let Ok(Socket::Tcp(s)) = t.sockets.get_mut(h) else {
            return;
        };
        let Some(tcb) = s.tcb_mut() else { return };
        let remote = *tcb.remote().ip();
        if let Some((cookie, mss)) = tcb.fast_open_mut().learned.take() {
            self.fast_open.learn(remote, cookie, mss, limit);
        }
    }
}

impl crate::Engine {
    /// `sendto(MSG_FASTOPEN)` (RFC 7413): connects `h` to `remote` with
    /// `data` on the SYN when a cookie from that server is known (or none is
    /// needed): `Ok(n)` for the bytes the SYN carries, at most the server's
    /// MSS less 40. Without a cookie the SYN asks for one and carries nothing,
    /// and the call reports `InProgress` (send the data once connected). With
    /// `queue_rest` (a blocking caller, which waits for the connection
    /// anyway), what the SYN does not carry is queued too, to go once
    /// connected, as Linux's blocking `sendto` does, and `Ok` counts it. On a
    /// socket that has its connection it needs no `remote`: the first send of
    /// a deferred connect (`TCP_FASTOPEN_CONNECT`) puts its data on the SYN
    /// (`queue_rest` as above), while connecting it is `Already`, connected a
    /// plain send. `DestAddrRequired` without `remote` on an unconnected
    /// socket; `NotSupported` when the stack's client side of Fast Open is off.
    pub fn tcp_connect_fast_open(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: Option<SocketAddrV4>,
        data: &[u8],
        queue_rest: bool,
    ) -> Result<usize, NetError> {
        self.call(now, |t, l| {
            l.tcp.connect_fast_open(t, h, remote, data, queue_rest)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_linuxs() {
        // packetdrill's gtests give these cookies for Linux with the keys set
        // by their scripts (`tcp_fastopen_key`).
        let cases = [
            (
                "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4",
                [192, 0, 2, 1],
                [192, 168, 0, 1],
                0x3021_b9d8_8901_7eeb_u64,
            ),
            (
                "a0bf63f7-ed803d81-cd641d30-cebc4a90",
                [10, 248, 0, 2],
                [192, 168, 0, 2],
                0x00ab_aaab_e8e9_54c2,
            ),
        ];
        for (key, client, server, cookie) in cases {
            let key = crate::config::FastOpenConfig::parse_linux_key(key).unwrap();
            let c = server_cookie(&key, Ipv4Addr::from(client), Ipv4Addr::from(server));
            assert_eq!(c, cookie.to_be_bytes());
        }
    }

    #[test]
    fn the_cache_is_bounded_and_keeps_cookies() {
        let mut c = ClientCache::default();
        let a = Ipv4Addr::new(10, 0, 0, 1);
        let cookie = FastOpenCookie::new(&[1, 2, 3, 4], false);
        c.learn(a, cookie, 1000, 2);
        // A SYN-ACK without a valid cookie keeps the old one; its MSS counts.
        c.learn(a, None, 940, 2);
        assert_eq!(c.get(a), Some((cookie, 940)));
        c.learn(Ipv4Addr::new(10, 0, 0, 2), None, 500, 2);
        c.get(a);
        c.learn(Ipv4Addr::new(10, 0, 0, 3), None, 500, 2);
        assert_eq!(c.entries.len(), 2);
        assert!(
            c.get(a).is_some(),
            "the least recently used went, not the last used"
        );
        assert!(c.get(Ipv4Addr::new(10, 0, 0, 2)).is_none());
    }
}
