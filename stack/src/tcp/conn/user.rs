//! User calls on one connection and the errors they report.

use super::*;
use crate::socket::Readiness;
use crate::tcp::urgent::OobState;

/// The smallest path MTU an ICMP "fragmentation needed" may set (Linux's
/// `net.ipv4.route.min_pmtu`: 512 bytes of data and two 20-byte headers).
const MIN_PMTU: usize = 552;

/// How long a lowered path MTU is kept before the larger segments are tried
/// again (RFC 1191 section 6.3: 10 minutes).
const PMTU_RAISE_AFTER: Duration = Duration::from_secs(600);

/// What closing the user's descriptor does to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CloseAction {
    /// Nothing left to do: free the socket.
    Free,
    /// Reset the connection (unread data, `SO_LINGER` of zero, or a SYN in flight).
    Abort,
    /// Send a FIN after the queued data; the connection finishes on its own.
    Fin,
}

/// What a user call may do now, and the errors it reports (Linux's errnos).
impl Tcb {
    /// The connection's state.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// Our address.
    pub(crate) fn local(&self) -> SocketAddrV4 {
        self.local
    }

    /// The peer's address.
    pub(crate) fn remote(&self) -> SocketAddrV4 {
        self.remote
    }

    /// The user closed its descriptor: the connection lives on alone.
    /// What TIME-WAIT keeps of this connection once its user closed it (see
    /// [`crate::tcp::time_wait`]).
    pub(crate) fn time_wait_record(&self, now: Instant) -> crate::tcp::time_wait::TimeWait {
        let window = self.rcv_adv.saturating_distance(self.rcv_nxt) >> self.rcv_shift;
        crate::tcp::time_wait::TimeWait {
            snd_nxt: self.snd_max,
            rcv_nxt: self.rcv_nxt,
            ts_recent: self.ts_recent,
            ts_offset: self.ts_offset,
            expires: self
                .timers
                .get(TimerKind::TimeWait)
                .unwrap_or(now + self.cfg.msl * 2),
            last_ack: self.last_invalid_ack,
            window: window.min(65535) as u16,
            ts_enabled: self.ts_enabled,
            ttl: self.opts.ttl,
            tos: self.opts.tos,
        }
    }

    pub(crate) fn is_orphan(&self) -> bool {
        self.orphan
    }

    /// The connection holds its port against a new listener (TIME-WAIT and CLOSED
    /// ones do not).
    pub(crate) fn holds_port(&self) -> bool {
        !matches!(self.state, State::TimeWait | State::Closed)
    }

    /// What `poll` reports for the connection.
    pub(crate) fn readiness(&self) -> Readiness {
        let closed = self.state == State::Closed;
        let sync = self.state.synchronized();
        let space = self.send_space();
        let can_send = matches!(self.state, State::Established | State::CloseWait)
            || self.fast_open_waiting()
            || self.fast_open_deferred();
        Readiness {
            readable: self.has_readable()
                || self.fin_received
                || self.reset
                || closed
                || self.rd_shut,
            writable: (can_send
                && space > 0
                && space * 2 >= self.send_queue_len().min(self.send_capacity())
                && self
                    .opts
                    .notsent_lowat
                    .is_none_or(|l| self.unsent_len() * 2 < l as usize))
                || closed
                || self.error.is_some()
                || (sync && !can_send),
            urgent: self.urg_rx.pending(),
            error: self.error.is_some(),
            hangup: closed
                || (self.fin_received
                    && matches!(
                        self.state,
                        State::TimeWait | State::LastAck | State::Closing
                    )),
        }
    }

    /// The error of `connect` on a socket that already has a connection:
    /// `EALREADY` while the handshake runs, `EISCONN` once connected, and for a
    /// failed attempt its error (or the socket's `pending`).
    pub(crate) fn connect_error(&self, pending: Option<NetError>) -> NetError {
        match self.state {
            // (A deferred Fast Open connect is connected, as far as connect
            // is concerned: Linux's EISCONN.)
            State::SynSent if self.fo.deferred => NetError::IsConnected,
            State::SynSent | State::SynReceived => NetError::Already,
            State::Closed => self.error.or(pending).unwrap_or(NetError::InvalidInput),
            _ => NetError::IsConnected,
        }
    }

    /// Whether `send` of `len` bytes may queue data now: `Ok(false)` for nothing
    /// to queue, else the error it reports (a pending error first; `EWOULDBLOCK`
    /// during the handshake or with a full buffer; `EPIPE` after our FIN or a
    /// reset; `ENOTCONN` on a closed connection that was not reset).
    pub(crate) fn check_send(&mut self, len: usize) -> Result<bool, NetError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.state {
            State::SynReceived if self.fo.passive => {}
            State::SynSent | State::SynReceived => return Err(NetError::WouldBlock),
            State::Established | State::CloseWait => {}
            State::Closed if !self.reset => return Err(NetError::NotConnected),
            _ => return Err(NetError::BrokenPipe),
        }
        if len == 0 {
            return Ok(false);
        }
        if self.send_space() == 0 {
            return Err(NetError::WouldBlock);
        }
        if self
            .opts
            .notsent_lowat
            .is_some_and(|l| self.unsent_len() >= l as usize)
        {
            return Err(NetError::WouldBlock);
        }
        Ok(true)
    }

    /// Whether `recv` into `len` bytes may read data now: `Ok(None)` to go on,
    /// `Ok(Some(0))` for end of stream or an empty buffer, else the error
    /// (`EWOULDBLOCK` during the handshake or with nothing to read; a reset's
    /// error once, then end of stream).
    pub(crate) fn check_recv(&mut self, len: usize) -> Result<Option<usize>, NetError> {
        if self.state == State::SynSent || (self.state == State::SynReceived && !self.fo.passive) {
            return Err(NetError::WouldBlock);
        }
        if len == 0 {
            return Ok(Some(0));
        }
        if self.has_readable() {
            return Ok(None);
        }
        // After the peer's FIN, reading ends there even if a reset came later
        // (its error is for the next send, as in Linux).
        if self.fin_received {
            return Ok(Some(0));
        }
        if self.reset {
            return match self.error.take() {
                Some(e) => Err(e),
                None => Ok(Some(0)),
            };
        }
        if self.fin_received || self.rd_shut || self.state == State::Closed {
            return Ok(Some(0));
        }
        Err(NetError::WouldBlock)
    }

    /// `recv(MSG_OOB)`: the out-of-band byte, if one is waiting and not inline
    /// (`EINVAL` when there is none or it is inline, `EWOULDBLOCK` when it is
    /// announced and not yet here).
    pub(crate) fn recv_oob(&mut self, buf: &mut [u8], peek: bool) -> Result<usize, NetError> {
        match self.urg_rx.oob(self.opts.oob_inline) {
            OobState::Byte(b) => {
                let Some(first) = buf.first_mut() else {
                    return Ok(0);
                };
                *first = b;
                if !peek {
                    self.urg_rx.take_oob();
                }
                Ok(1)
            }
            OobState::Pending => Err(NetError::WouldBlock),
            OobState::None | OobState::Inline => Err(NetError::InvalidInput),
        }
    }

    /// `shutdown`: checks the state (`ENOTCONN` before a connection attempt) and
    /// takes the read half away if asked.
    pub(crate) fn shutdown_check(&mut self, read: bool) -> Result<(), NetError> {
        if !self.state.synchronized()
            && self.state != State::SynSent
            && self.state != State::SynReceived
        {
            return Err(NetError::NotConnected);
        }
        if read {
            self.rd_shut = true;
        }
        Ok(())
    }

    /// The user closes its descriptor: the connection becomes an orphan, and the
    /// answer says how it ends. Unread data means the peer's data was lost, so it
    /// is told with a RST (RFC 2525 2.17, as Linux does); so is `SO_LINGER` of zero.
    pub(crate) fn close_action(&mut self, linger_zero: bool) -> CloseAction {
        self.orphan = true;
        if self.state == State::Closed {
            CloseAction::Free
        } else if linger_zero || self.readable_len() > 0 || self.state == State::SynSent {
            CloseAction::Abort
        } else {
            CloseAction::Fin
        }
    }

    /// `getpeername`: the peer, once connected (and after a clean close).
    pub(crate) fn peer_addr(&self) -> Option<SocketAddrV4> {
        (self.state.synchronized() || self.state == State::Closed && !self.reset)
            .then_some(self.remote)
    }

    /// Takes the pending error (`SO_ERROR`).
    pub(crate) fn take_error(&mut self) -> Option<NetError> {
        self.error.take()
    }

    /// Bytes `FIONREAD` reports (Linux counts up to the urgent mark).
    pub(crate) fn recv_queue_len(&self) -> usize {
        let skip = self.urg_rx.skip_at_head() as usize;
        self.urg_rx
            .read_limit(self.readable_len().saturating_sub(skip))
    }

    /// `SO_RCVBUF` and `SO_SNDBUF` as the connection has them (rounded to whole
    /// segments with [`TcpConfig::round_buffers_to_mss`]).
    pub(crate) fn buffer_options(&self) -> (usize, usize) {
        (self.opts.recv_buffer, self.opts.send_buffer)
    }

    /// The MSS in use, once synchronized (`TCP_MAXSEG`).
    pub(crate) fn maxseg(&self) -> Option<u16> {
        self.state
            .synchronized()
            .then(|| self.mss.min(u16::MAX as usize) as u16)
    }

    /// Takes the socket options that apply to a live connection (keep-alive,
    /// Nagle, inline urgent data, linger, TTL, TOS, and `SO_SNDBUF`, which
    /// bounds what later writes may queue, as Linux applies it; `SO_RCVBUF` only
    /// sizes connections made later, so an advertised window never shrinks).
    pub(crate) fn apply_options(&mut self, now: Instant, opts: &SocketOptions) {
        if opts.send_buffer != self.opts.send_buffer {
            self.opts.send_buffer = opts.send_buffer;
            self.send_buf
                .set_limit(opts.send_buffer.clamp(1024, self.cfg.max_buffer));
        }
        // The receive buffer keeps the size it has; SO_RCVBUF set now stops it
        // from growing further.
        if opts.recv_buffer_locked {
            self.autotune.limit = self.recv_buf.capacity();
        }
        self.opts = SocketOptions {
            recv_buffer: self.opts.recv_buffer,
            ..*opts
        };
        self.options_changed(now);
    }

    /// Receive-buffer autotuning: `n` bytes were read at `now` (see
    /// [`Autotune::on_read`]); the round trip is the smoothed RTT.
    fn rcv_space_adjust(&mut self, n: usize, now: Instant) {
        let Some(rtt) = self.rtt.srtt() else {
            return;
        };
        let capacity = self.recv_buf.capacity();
        if let Some(size) = self
            .autotune
            .on_read(n, now, rtt, capacity, self.adv_mss as usize)
        {
            self.recv_buf.set_limit(size);
            self.opts.recv_buffer = size;
        }
    }

    /// Sends what `TCP_CORK` or `MSG_MORE` hold back.
    pub(crate) fn push_now(&mut self, now: Instant, out: &mut Out<'_>) {
        if self.state.synchronized() {
            self.push = true;
            self.output(now, out);
        }
    }

    /// Starts an active open: the SYN goes out on the next `output`.
    pub(crate) fn connect(&mut self, now: Instant, out: &mut Out<'_>) {
        self.state = State::SynSent;
        self.active_open = true;
        self.snd_nxt = self.iss;
        self.output(now, out);
    }

    /// Queues data; returns how much fit.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        data: &[u8],
        flags: crate::tcp::SendFlags,
        out: &mut Out<'_>,
    ) -> usize {
        self.more = flags.more;
        let n = self.send_buf.enqueue_slice(data);
        if flags.eor && n == data.len() && n > 0 {
            // The record ends where this data does.
            let end = self.buf_seq() + self.send_buf.len();
            self.mark_record_end(end);
        }
        if n > 0 && (self.state.synchronized() || self.fast_open_waiting()) {
            self.output(now, out);
        }
        n
    }

    /// The reclaim timer: buffers still empty give their storage back (the
    /// receive buffer only when nothing is parked out of order), and so does an
    /// empty scoreboard.
    pub(super) fn reclaim(&mut self) {
        self.send_buf.release_if_empty();
        if self.assembler.is_empty() {
            self.recv_buf.release_if_empty();
        }
        self.recovery.reclaim();
    }

    /// Bytes of buffer storage this connection holds now.
    pub(crate) fn buffer_memory(&self) -> usize {
        self.send_buf.allocated() + self.recv_buf.allocated()
    }

    /// Copies received data into `buf` (up to the urgent mark), consuming it unless
    /// `peek`. Sends a window update when reading opened the window enough.
    pub(crate) fn recv(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        peek: bool,
        out: &mut Out<'_>,
    ) -> usize {
        // At the mark with the urgent byte held out of band: the stream skips it.
        let skip = self.urg_rx.skip_at_head() as usize;
        if skip == 1 && !peek && !buf.is_empty() && !self.recv_buf.is_empty() {
            self.recv_buf.dequeue_allocated(1);
            self.urg_rx.skipped();
        }
        let skip = if peek { skip } else { 0 };
        let available = self.recv_buf.len().saturating_sub(skip);
        let limit = if skip == 1 {
            available
        } else {
            self.urg_rx.read_limit(available)
        };
        let want = buf.len().min(limit);
        let n = self.recv_buf.read_allocated(skip, &mut buf[..want]);
        if !peek && n > 0 {
            self.recv_buf.dequeue_allocated(n);
            self.urg_rx.consumed(n);
            self.rcv_space_adjust(n, now);
            if self.recv_buf.is_empty() && self.recv_buf.allocated() > 0 {
                self.timers.set(TimerKind::Reclaim, now + RECLAIM_IDLE);
            }
        }
        if !peek {
            // Window update (RFC 9293 3.8.6.2.2). What we could advertise: the
            // free space, as far as the window field (with our scale) can
            // express it. As Linux (tcp_cleanup_rbuf): only when what is left
            // of the offered window is at most half the largest we could
            // offer, and the read at least doubles it; BSD's rule (with
            // `bsd_receive_window`): when it grew by two segments or half the
            // buffer.
            let largest = self.recv_buf.capacity().min(65535usize << self.rcv_shift);
            let could = self.recv_buf.window().min(65535usize << self.rcv_shift);
            let offered = self.rcv_wnd();
            let update = if self.cfg.bsd_receive_window {
                let step = (2 * self.adv_mss as usize).min(self.recv_buf.capacity() / 2);
                could >= offered + step
            } else {
                2 * offered <= largest && could >= 2 * offered && could > offered
            };
            if self.state.synchronized() && update {
                self.ack_now = true;
                self.ack_urgent = true;
                self.output(now, out);
            }
        }
        n
    }

    /// Sequence number of the next byte a read returns.
    pub(crate) fn next_read_seq(&self) -> SeqNumber {
        self.rcv_nxt - (self.recv_buf.len() as u32)
    }

    /// `sockatmark`.
    pub(crate) fn at_mark(&self) -> bool {
        self.urg_rx.at_mark(self.next_read_seq())
    }

    /// Readable bytes before the mark (what a read would return, for `FIONREAD`
    /// Linux reports all queued bytes; this is for readiness).
    pub(crate) fn has_readable(&self) -> bool {
        let skip = self.urg_rx.skip_at_head() as usize;
        self.recv_buf.len() > skip
    }

    /// Queues `MSG_OOB` data: the last byte becomes urgent.
    pub(crate) fn send_oob(&mut self, now: Instant, data: &[u8], out: &mut Out<'_>) -> usize {
        let n = self.send_buf.enqueue_slice(data);
        if n > 0 {
            let end = self.buf_seq() + self.send_buf.len();
            self.urg_tx.mark(end);
            if self.state.synchronized() {
                self.output(now, out);
                // With a zero window the pointer still goes out ahead of the data
                // (BSD sends the urgent notification even when data cannot go).
                if self.snd_wnd == 0 {
                    self.ack_now = true;
                    self.ack_urgent = true;
                    self.output(now, out);
                }
            }
        }
        n
    }

    /// Asks for a FIN after the queued data (close or `shutdown(SHUT_WR)`).
    pub(crate) fn shutdown_write(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        let mut n = Notice::default();
        match self.state {
            State::SynSent | State::Closed | State::Listen => {
                self.state = State::Closed;
                n.closed = true;
                n.wake = true;
                self.timers.cancel_all();
                return n;
            }
            State::SynReceived | State::Established => self.state = State::FinWait1,
            State::CloseWait => self.state = State::LastAck,
            _ => return n,
        }
        if !self.fin_queued {
            self.fin_queued = true;
            self.fin_at = self.buf_seq() + self.send_buf.len();
            self.output(now, out);
        }
        n.wake = true;
        n
    }

    /// Aborts: sends RST if synchronized and goes to CLOSED (RFC 9293 3.10.5 ABORT).
    pub(crate) fn abort(&mut self, now: Instant, out: &mut Out<'_>) -> Notice {
        if matches!(
            self.state,
            State::SynReceived
                | State::Established
                | State::FinWait1
                | State::FinWait2
                | State::CloseWait
        ) {
            self.emit_rst(now, out);
        }
        self.enter_closed();
        Notice {
            wake: true,
            closed: true,
            ..Notice::default()
        }
    }

    pub(super) fn enter_closed(&mut self) {
        self.state = State::Closed;
        self.timers.cancel_all();
    }

    pub(super) fn enter_time_wait(&mut self, now: Instant) {
        self.state = State::TimeWait;
        self.timers.cancel_all();
        self.timers.set(TimerKind::TimeWait, now + self.cfg.msl * 2);
    }

    /// Fails the connection with `err` (timeout, reset, ICMP hard error).
    pub(super) fn fail(&mut self, err: NetError) -> Notice {
        self.error = Some(err);
        self.reset = true;
        self.enter_closed();
        Notice {
            wake: true,
            closed: true,
            ..Notice::default()
        }
    }

    /// A hard ICMP error (RFC 1122 4.2.3.9): fatal during the handshake, otherwise
    /// recorded as a soft error.
    /// ICMP "fragmentation needed" (RFC 1191): the path carries `mtu` bytes at most.
    /// Our segments have DF set, so shrink the MSS and send the lost data again.
    pub(crate) fn path_mtu(&mut self, now: Instant, mtu: u16, out: &mut Out<'_>) {
        // RFC 1191 section 5: a router that sends no MTU (old RFC 792 format) gets
        // the next plateau below the current size; 576 is a safe floor. A smaller
        // MTU is not believed below 552 (Linux's min_pmtu): a forged "fragmentation
        // needed" must not cut the path to a trickle.
        let mtu = if mtu >= 68 {
            (mtu as usize).max(MIN_PMTU)
        } else {
            576
        };
        if self.state == State::SynSent {
            // Our SYN carried data (Fast Open) too big for the path: the SYN
            // goes again at once without it, offering the MSS the path allows
            // (Linux's tcp_v4_mtu_reduced); the data follows the handshake.
            let path_mss = mtu.saturating_sub(IPV4_HEADER_LEN + TCP_HEADER_LEN);
            if self.fo.syn_data > 0 && self.snd_max.gt(self.iss + 1u32) {
                self.adv_mss = self.adv_mss.min(path_mss.clamp(64, 65535) as u16);
                self.fo.syn_data = 0;
                self.snd_nxt = self.iss;
                self.rtt_probe = None;
                out.counters.inc(Stat::TcpRetransmits);
                self.output(now, out);
            }
            return;
        }
        let ts = if self.ts_enabled { 12 } else { 0 };
        let new_mss = mtu
            .saturating_sub(IPV4_HEADER_LEN + TCP_HEADER_LEN + ts)
            .max(64);
        if new_mss >= self.mss {
            return;
        }
        self.mss = new_mss;
        self.cc.set_mss(new_mss);
        self.timers
            .set(TimerKind::PmtuRaise, now + PMTU_RAISE_AFTER);
        // Resend what is outstanding, now in smaller segments (not a congestion
        // event: Linux's tcp_simple_retransmit).
        let max = self.snd_max;
        self.recovery.on_path_mtu(new_mss, max);
        self.rtt_probe = None;
        self.output(now, out);
    }

    /// True when an ICMP error quoting sequence number `seq` can be about a
    /// segment of ours in flight: SND.UNA =< seq < SND.NXT (RFC 5927 4.1).
    pub(crate) fn quote_in_flight(&self, seq: u32) -> bool {
        let seq = SeqNumber(seq);
        seq.ge(self.snd_una) && seq.lt(self.snd_max)
    }

    pub(crate) fn icmp_error(&mut self, err: NetError, hard: bool) -> Notice {
        // A half-open connection of a listener (not yet the user's): dropped
        // silently, as Linux's tcp_req_err does for an unreachable network
        // or host, a time exceeded or a parameter problem (accept must not
        // report network errors, says POSIX).
        if self.state == State::SynReceived && !self.active_open && !self.fo.passive {
            self.enter_closed();
            return Notice {
                closed: true,
                ..Notice::default()
            };
        }
        // Linux (tcp_v4_err): during the handshake an unreachable kills the attempt;
        // on a synchronized connection it is only remembered as a soft error.
        if matches!(self.state, State::SynSent | State::SynReceived) && hard {
            return self.fail(err);
        }
        // A connection made on its SYN's data, before its handshake completes:
        // any error about its SYN-ACK ends it (Linux's tcp_v4_err in SYN-RECV).
        if self.fast_open_waiting() {
            return self.fail(err);
        }
        self.soft_error = Some(err);
        Notice::default()
    }
}
