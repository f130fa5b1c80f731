//! The user calls on TCP sockets (the BSD calls underneath both socket faces):
//! open, bind, listen, accept, connect, send, recv, shutdown, close and the options.

use super::*;

impl Tcp {
    /// Opens a TCP socket.
    pub(crate) fn open(&mut self, t: &mut Tx<'_>) -> Result<SocketHandle, NetError> {
        let opts = SocketOptions {
            recv_buffer: t.cx.config.tcp.recv_buffer,
            send_buffer: t.cx.config.tcp.send_buffer,
            ..SocketOptions::default()
        };
        t.sockets.insert(Socket::Tcp(Box::new(TcpSocket {
            local: None,
            bound: false,
            opts,
            user_mss: None,
            congestion: None,
            kind: TcpKind::Idle,
            parent: None,
            error: None,
            scheduled: None,
            orphaned: false,
        })))
    }

    /// Binds to a local address (port 0: ephemeral).
    pub(crate) fn bind(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, NetError> {
        let s = sock(t.sockets, h)?;
        if s.local.is_some() || !matches!(s.kind, TcpKind::Idle) {
            return Err(NetError::InvalidInput);
        }
        check_local_addr(t.cx.config, *addr.ip(), false)?;
        let binding = Binding {
            addr: *addr.ip(),
            handle: h,
            reuse_addr: s.opts.reuse_addr,
        };
        let random = t.rng.next_u32();
        let rules = TcpBindRules {
            sockets: t.sockets,
            time_wait: &self.time_wait,
        };
        let local = self.ports.bind_addr(addr, binding, &rules, random)?;
        let s = sock_mut(t.sockets, h)?;
        s.local = Some(local);
        s.bound = true;
        Ok(local)
    }

    /// Starts listening with room for `backlog` connections waiting for `accept`
    /// (clamped to `somaxconn`; at least 1). Binds an ephemeral port if unbound.
    pub(crate) fn listen(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        backlog: i32,
    ) -> Result<(), NetError> {
        let somaxconn = t.cx.config.tcp.somaxconn.max(1) as usize;
        let backlog = (backlog.max(1) as usize).min(somaxconn);
        match &sock(t.sockets, h)?.kind {
            TcpKind::Listen(_) => {
                if let TcpKind::Listen(l) = &mut sock_mut(t.sockets, h)?.kind {
                    l.backlog = backlog;
                }
                return Ok(());
            }
            TcpKind::Conn(_) => return Err(NetError::InvalidInput),
            TcpKind::Idle => {}
        }
        if sock(t.sockets, h)?.local.is_none() {
            self.bind(t, h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        // A listener may not share its port with another listener overlapping
        // it, nor with a connection unless both set SO_REUSEADDR (Linux's
        // `inet_csk_bind_conflict` when listening: a server restarted with
        // SO_REUSEADDR listens again while its old connections live on).
        let s = sock(t.sockets, h)?;
        let local = s.local.ok_or(NetError::InvalidInput)?;
        let reuse = s.opts.reuse_addr;
        let clash = self.ports.bindings(local.port()).iter().any(|b| {
            b.handle != h
                && overlaps(b.addr, *local.ip())
                && match t.sockets.get(b.handle) {
                    Ok(Socket::Tcp(t)) => match &t.kind {
                        TcpKind::Listen(_) => true,
                        _ => t.tcb().is_some_and(Tcb::holds_port) && !(reuse && b.reuse_addr),
                    },
                    _ => false,
                }
        });
        if clash {
            return Err(NetError::AddrInUse);
        }
        sock_mut(t.sockets, h)?.kind = TcpKind::Listen(Listener {
            backlog,
            ..Listener::default()
        });
        self.listeners.entry(local.port()).or_default().push(h);
        Ok(())
    }

    /// Takes an established connection from the accept queue.
    pub(crate) fn accept(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
    ) -> Result<(SocketHandle, SocketAddrV4), NetError> {
        let s = sock_mut(t.sockets, h)?;
        let TcpKind::Listen(l) = &mut s.kind else {
            return Err(NetError::InvalidInput);
        };
        let Some(child) = l.accept_queue.pop_front() else {
            return Err(NetError::WouldBlock);
        };
        t.sockets.mark(h);
        let c = sock_mut(t.sockets, child)?;
        c.parent = None;
        let remote = c
            .tcb()
            .map(Tcb::remote)
            .ok_or(NetError::ConnectionAborted)?;
        t.sockets.mark(child);
        Ok((child, remote))
    }

    /// Starts connecting; the result comes later (writable, or an error). Returns
    /// `Err(InProgress)` when the SYN went out.
    pub(crate) fn connect(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        let fast_open = matches!(sock(t.sockets, h)?.kind, TcpKind::Idle)
            && sock(t.sockets, h)?.opts.fast_open_connect;
        if fast_open {
            return self.connect_deferred(t, h, remote);
        }
        self.connect_with(t, h, remote, |_| {})?;
        Err(NetError::InProgress)
    }

    /// An active open of `h` to `remote`; `prepare` sees the new connection
    /// before its SYN is sent. `Ok` once the SYN is on its way.
    pub(super) fn connect_with(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        remote: SocketAddrV4,
        prepare: impl FnOnce(&mut Tcb),
    ) -> Result<(), NetError> {
        let now = t.cx.now;
        let s = sock_mut(t.sockets, h)?;
        match &s.kind {
            TcpKind::Listen(_) => return Err(NetError::InvalidInput),
            TcpKind::Conn(t) => return Err(t.connect_error(s.error)),
            TcpKind::Idle => {}
        }
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        if remote.port() == 0 || remote.ip().is_unspecified() {
            return Err(NetError::ConnectionRefused);
        }
        if is_broadcast(t.cx.config, *remote.ip()) || remote.ip().is_multicast() {
            return Err(NetError::NetUnreachable);
        }
        let dont_route = sock(t.sockets, h)?.opts.dont_route;
        route_for(t.cx.config, *remote.ip(), dont_route)?;
        let src = if remote.ip().is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            t.cx.config.addr
        };
        let local = match sock(t.sockets, h)?.local {
            Some(l) => l,
            None => self
                .bind(t, h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
                .map_err(implicit_bind_error)?,
        };
        let local = SocketAddrV4::new(
            if local.ip().is_unspecified() {
                src
            } else {
                *local.ip()
            },
            local.port(),
        );
        // Association uniqueness (4.2BSD primer 5.4): the full 4-tuple is unique,
        // whatever SO_REUSEADDR says.
        if self.conns.contains_key(&(local, remote)) || self.time_wait.contains(&(local, remote)) {
            return Err(NetError::AddrInUse);
        }
        let iss = self.isn.isn(local, remote, now);
        let ts_offset = self.isn.ts_offset(local, remote);
        let link_mss = conn::link_mss(t.cx.config.mtu);
        let s = sock(t.sockets, h)?;
        let params = TcbParams {
            local,
            remote,
            iss,
            link_mss,
            ts_offset,
            opts: s.opts,
            user_mss: s.user_mss,
            congestion: s.congestion,
        };
        let mut tcb = Tcb::new(params, &t.cx.config.tcp, now);
        prepare(&mut tcb);
        let s = sock_mut(t.sockets, h)?;
        s.local = Some(local);
        s.kind = TcpKind::Conn(Box::new(tcb));
        self.conns.insert((local, remote), h);
        self.with_tcb(t, h, |t, out| {
            t.connect(now, out);
            ((), Notice::default())
        })
    }

    /// Queues data to send. `Ok(n)` with `n` possibly short; `WouldBlock` when the
    /// buffer is full.
    pub(crate) fn send(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        data: &[u8],
        flags: SendFlags,
    ) -> Result<usize, NetError> {
        let now = t.cx.now;
        let s = sock_mut(t.sockets, h)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let tcb = match s.tcb_mut() {
            Some(t) => t,
            None => return Err(NetError::NotConnected),
        };
        if tcb.fast_open_deferred() {
            return self.send_deferred(t, h, data, false);
        }
        if !tcb.check_send(data.len())? {
            return Ok(0);
        }
        let n = self.with_tcb(t, h, |t, out| {
            let n = if flags.oob {
                t.send_oob(now, data, out)
            } else {
                t.send(now, data, flags, out)
            };
            (n, Notice::default())
        })?;
        Ok(n)
    }

    /// Sends what corking holds back, once (see [`crate::Engine::tcp_push`]).
    pub(crate) fn push(&mut self, t: &mut Tx<'_>, h: SocketHandle) -> Result<(), NetError> {
        let now = t.cx.now;
        if sock_mut(t.sockets, h)?.tcb_mut().is_none() {
            return Ok(());
        }
        self.with_tcb(t, h, |t, out| {
            t.push_now(now, out);
            ((), Notice::default())
        })
    }

    /// Reads received data (up to the urgent mark). `Ok(0)` at end of stream.
    pub(crate) fn recv(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<usize, NetError> {
        let now = t.cx.now;
        let s = sock_mut(t.sockets, h)?;
        let Some(tcb) = s.tcb_mut() else {
            // Idle or listening: the pending error of a failed attempt first.
            return Err(s.error.take().unwrap_or(NetError::NotConnected));
        };
        if flags.oob {
            let n = tcb.recv_oob(buf, flags.peek)?;
            if n > 0 {
                t.sockets.mark(h);
            }
            return Ok(n);
        }
        if let Some(n) = tcb.check_recv(buf.len())? {
            return Ok(n);
        }
        let n = self.with_tcb(t, h, |t, out| {
            (t.recv(now, buf, flags.peek, out), Notice::default())
        })?;
        t.sockets.mark(h);
        Ok(n)
    }

    /// Shuts down one or both halves.
    pub(crate) fn shutdown(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        how: Shutdown,
    ) -> Result<(), NetError> {
        let now = t.cx.now;
        let s = sock_mut(t.sockets, h)?;
        match &mut s.kind {
            TcpKind::Idle => return Err(NetError::NotConnected),
            TcpKind::Listen(_) => return Err(NetError::NotConnected),
            TcpKind::Conn(t) => t.shutdown_check(matches!(how, Shutdown::Read | Shutdown::Both))?,
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.with_tcb(t, h, |t, out| ((), t.shutdown_write(now, out)))?;
        }
        t.sockets.mark(h);
        Ok(())
    }

    /// Closes a TCP socket (from [`Engine::close`]): a listener resets its queued
    /// connections; a connection with unread data, or with `SO_LINGER` of zero, is
    /// reset; otherwise a FIN follows the queued data and the connection finishes
    /// on its own.
    pub(crate) fn close(&mut self, t: &mut Tx<'_>, h: SocketHandle) -> Result<(), NetError> {
        let now = t.cx.now;
        let s = sock_mut(t.sockets, h)?;
        let linger_zero = s.opts.linger == Some(crate::time::Duration::ZERO);
        match &mut s.kind {
            TcpKind::Idle => {
                self.free(t, h);
            }
            TcpKind::Listen(l) => {
                let children: Vec<SocketHandle> = l
                    .syn_queue
                    .drain(..)
                    .chain(l.accept_queue.drain(..))
                    .collect();
                for c in children {
                    let _ = self.with_tcb(t, c, |t, out| ((), t.abort(now, out)));
                    self.free(t, c);
                }
                self.free(t, h);
            }
            TcpKind::Conn(c) => match c.close_action(linger_zero) {
                CloseAction::Free => self.free(t, h),
                CloseAction::Abort => self.with_tcb(t, h, |t, out| ((), t.abort(now, out)))?,
                // Too many connections already live on alone (Linux's
                // tcp_max_orphans): this one is reset instead of finishing.
                CloseAction::Fin if self.orphans >= t.cx.config.tcp.max_orphans => {
                    t.cx.counters.inc(Stat::TcpOrphansReset);
                    self.with_tcb(t, h, |t, out| ((), t.abort(now, out)))?
                }
                // FIN-WAIT-2 of an orphan is bounded by fin_timeout.
                CloseAction::Fin => {
                    self.orphans += 1;
                    if let Ok(s) = sock_mut(t.sockets, h) {
                        s.orphaned = true;
                    }
                    self.with_tcb(t, h, |t, out| ((), t.shutdown_write(now, out)))?
                }
            },
        }
        Ok(())
    }

    /// Aborts with a RST whatever the state.
    pub(crate) fn abort(&mut self, t: &mut Tx<'_>, h: SocketHandle) -> Result<(), NetError> {
        let now = t.cx.now;
        self.with_tcb(t, h, |t, out| ((), t.abort(now, out)))?;
        Ok(())
    }

    /// The state of a TCP socket (`Closed` for idle or finished ones, `Listen`).
    pub(crate) fn state(sockets: &SocketSet, h: SocketHandle) -> Result<State, NetError> {
        let s = sock(sockets, h)?;
        Ok(match &s.kind {
            TcpKind::Idle => State::Closed,
            TcpKind::Listen(_) => State::Listen,
            TcpKind::Conn(t) => t.state(),
        })
    }

    /// Connection details (`None` unless connected or connecting).
    pub(crate) fn info(sockets: &SocketSet, h: SocketHandle) -> Result<Option<TcpInfo>, NetError> {
        Ok(sock(sockets, h)?.tcb().map(Tcb::info))
    }

    /// Local address.
    pub(crate) fn local_addr(
        sockets: &SocketSet,
        h: SocketHandle,
    ) -> Result<Option<SocketAddrV4>, NetError> {
        Ok(sock(sockets, h)?.local)
    }

    /// Peer address, once connected (or connecting).
    pub(crate) fn peer_addr(
        sockets: &SocketSet,
        h: SocketHandle,
    ) -> Result<Option<SocketAddrV4>, NetError> {
        let s = sock(sockets, h)?;
        Ok(s.tcb().and_then(Tcb::peer_addr))
    }

    /// Takes the pending error (`SO_ERROR`).
    pub(crate) fn take_error(
        sockets: &mut SocketSet,
        h: SocketHandle,
    ) -> Result<Option<NetError>, NetError> {
        let s = sock_mut(sockets, h)?;
        if let Some(e) = s.error.take() {
            return Ok(Some(e));
        }
        Ok(s.tcb_mut().and_then(Tcb::take_error))
    }

    /// `sockatmark`: the next byte to read is the urgent one.
    pub(crate) fn at_mark(sockets: &SocketSet, h: SocketHandle) -> Result<bool, NetError> {
        Ok(sock(sockets, h)?.tcb().is_some_and(Tcb::at_mark))
    }

    /// Bytes waiting to be read (`FIONREAD`; Linux counts up to the urgent mark).
    pub(crate) fn recv_queue_len(sockets: &SocketSet, h: SocketHandle) -> Result<usize, NetError> {
        Ok(sock(sockets, h)?.tcb().map_or(0, Tcb::recv_queue_len))
    }

    /// Bytes queued and not yet acknowledged (`SIOCOUTQ`).
    pub(crate) fn send_queue_len(sockets: &SocketSet, h: SocketHandle) -> Result<usize, NetError> {
        Ok(sock(sockets, h)?.tcb().map_or(0, Tcb::send_queue_len))
    }

    /// `TCP_MAXSEG`: clamps the MSS we advertise and use (set before connecting).
    pub(crate) fn set_maxseg(
        sockets: &mut SocketSet,
        h: SocketHandle,
        mss: u16,
    ) -> Result<(), NetError> {
        if !(88..=32767).contains(&mss) {
            return Err(NetError::InvalidInput);
        }
        sock_mut(sockets, h)?.user_mss = Some(mss);
        Ok(())
    }

    /// `TCP_CONGESTION`: the congestion control of this socket (the stack's
    /// default until set).
    pub(crate) fn congestion(
        sockets: &SocketSet,
        config: &StackConfig,
        h: SocketHandle,
    ) -> Result<CongestionAlgorithm, NetError> {
        let s = sock(sockets, h)?;
        Ok(s.tcb()
            .map(Tcb::congestion)
            .or(s.congestion)
            .unwrap_or(config.tcp.congestion_control))
    }

    /// Sets `TCP_CONGESTION` for this socket: a connection switches at once
    /// (keeping its window), a socket not yet connected uses it when it is.
    pub(crate) fn set_congestion(
        sockets: &mut SocketSet,
        h: SocketHandle,
        algo: CongestionAlgorithm,
    ) -> Result<(), NetError> {
        let s = sock_mut(sockets, h)?;
        s.congestion = Some(algo);
        if let Some(t) = s.tcb_mut() {
            t.set_congestion(algo);
        }
        Ok(())
    }

    /// `TCP_MAXSEG` as `getsockopt` reports it: the connection's MSS, or the
    /// configured clamp / the default before connecting.
    pub(crate) fn maxseg(sockets: &SocketSet, h: SocketHandle) -> Result<u16, NetError> {
        let s = sock(sockets, h)?;
        Ok(s.tcb()
            .and_then(Tcb::maxseg)
            .unwrap_or(s.user_mss.unwrap_or(536)))
    }

    /// Applies changed options to a live connection (keep-alive, buffers before
    /// the connection exists).
    pub(crate) fn options_changed(
        &mut self,
        t: &mut Tx<'_>,
        h: SocketHandle,
        opts: SocketOptions,
    ) -> Result<(), NetError> {
        let now = t.cx.now;
        let s = sock_mut(t.sockets, h)?;
        s.opts = opts;
        if let Some(c) = s.tcb_mut() {
            c.apply_options(now, &opts);
            let deadline = c.poll_at();
            s.scheduled = None;
            self.schedule(t, h, deadline);
            // Nagle off may release held data.
            let _ = self.with_tcb(t, h, |t, out| {
                t.output(now, out);
                ((), Notice::default())
            });
        }
        Ok(())
    }

    /// Urgent notifications (the in-process SIGURG) since the last call.
    pub(crate) fn poll_urgent(&mut self) -> Option<SocketHandle> {
        self.urgent_events.pop_front()
    }
}
