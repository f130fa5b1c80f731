//! The user calls on TCP sockets (the BSD calls underneath both socket faces):
//! open, bind, listen, accept, connect, send, recv, shutdown, close and the options.

use super::*;

impl Engine {
    /// Opens a TCP socket.
    pub fn tcp_open(&mut self) -> Result<SocketHandle, NetError> {
        let opts = SocketOptions {
            recv_buffer: self.config.tcp.recv_buffer,
            send_buffer: self.config.tcp.send_buffer,
            ..SocketOptions::default()
        };
        self.sockets.insert(Socket::Tcp(Box::new(TcpSocket {
            local: None,
            bound: false,
            opts,
            user_mss: None,
            congestion: None,
            kind: TcpKind::Idle,
            parent: None,
            error: None,
            scheduled: None,
        })))
    }

    /// Binds to a local address (port 0: ephemeral).
    pub fn tcp_bind(
        &mut self,
        h: SocketHandle,
        addr: SocketAddrV4,
    ) -> Result<SocketAddrV4, NetError> {
        let s = self.tcp_sock(h)?;
        if s.local.is_some() || !matches!(s.kind, TcpKind::Idle) {
            return Err(NetError::InvalidInput);
        }
        self.check_local_addr(*addr.ip(), false)?;
        let binding = Binding {
            addr: *addr.ip(),
            handle: h,
            reuse_addr: s.opts.reuse_addr,
        };
        let random = self.random_u32();
        let rules = TcpBindRules {
            sockets: &self.sockets,
        };
        let port = self
            .tcp_ports
            .bind(addr.port(), binding, &rules, random)
            .map_err(|e| {
                if e == NetError::PortsExhausted {
                    NetError::AddrInUse
                } else {
                    e
                }
            })?;
        let local = SocketAddrV4::new(*addr.ip(), port);
        let s = self.tcp_sock_mut(h)?;
        s.local = Some(local);
        s.bound = true;
        Ok(local)
    }

    /// Starts listening with room for `backlog` connections waiting for `accept`
    /// (clamped to `somaxconn`; at least 1). Binds an ephemeral port if unbound.
    pub fn tcp_listen(&mut self, h: SocketHandle, backlog: i32) -> Result<(), NetError> {
        let somaxconn = self.config.tcp.somaxconn.max(1) as usize;
        let backlog = (backlog.max(1) as usize).min(somaxconn);
        match &self.tcp_sock(h)?.kind {
            TcpKind::Listen(_) => {
                if let TcpKind::Listen(l) = &mut self.tcp_sock_mut(h)?.kind {
                    l.backlog = backlog;
                }
                return Ok(());
            }
            TcpKind::Conn(_) => return Err(NetError::InvalidInput),
            TcpKind::Idle => {}
        }
        if self.tcp_sock(h)?.local.is_none() {
            self.tcp_bind(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        // A listener may not share its port with anything overlapping (even with
        // SO_REUSEADDR on both sides).
        let s = self.tcp_sock(h)?;
        let local = s.local.ok_or(NetError::InvalidInput)?;
        let clash = self.tcp_ports.bindings(local.port()).iter().any(|b| {
            b.handle != h
                && overlaps(b.addr, *local.ip())
                && matches!(self.sockets.get(b.handle), Ok(Socket::Tcp(t)) if matches!(t.kind, TcpKind::Listen(_)) || t.tcb().is_some_and(Tcb::holds_port))
        });
        if clash {
            return Err(NetError::AddrInUse);
        }
        self.tcp_sock_mut(h)?.kind = TcpKind::Listen(Listener {
            backlog,
            ..Listener::default()
        });
        self.tcp_listeners.entry(local.port()).or_default().push(h);
        Ok(())
    }

    /// Takes an established connection from the accept queue.
    pub fn tcp_accept(
        &mut self,
        now: Instant,
        h: SocketHandle,
    ) -> Result<(SocketHandle, SocketAddrV4), NetError> {
        let s = self.tcp_sock_mut(h)?;
        let TcpKind::Listen(l) = &mut s.kind else {
            return Err(NetError::InvalidInput);
        };
        let Some(child) = l.accept_queue.pop_front() else {
            return Err(NetError::WouldBlock);
        };
        self.sockets.mark(h);
        let c = self.tcp_sock_mut(child)?;
        c.parent = None;
        let remote = c
            .tcb()
            .map(Tcb::remote)
            .ok_or(NetError::ConnectionAborted)?;
        self.sockets.mark(child);
        self.after_socket_call(now);
        Ok((child, remote))
    }

    /// Starts connecting; the result comes later (writable, or an error). Returns
    /// `Err(InProgress)` when the SYN went out.
    pub fn tcp_connect(
        &mut self,
        now: Instant,
        h: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
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
        if self.is_broadcast_addr(*remote.ip()) || remote.ip().is_multicast() {
            return Err(NetError::NetUnreachable);
        }
        self.route(*remote.ip())?;
        let src = if remote.ip().is_loopback() {
            Ipv4Addr::LOCALHOST
        } else {
            self.config.addr
        };
        let local = match self.tcp_sock(h)?.local {
            Some(l) => l,
            None => self
                .tcp_bind(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
                .map_err(|e| {
                    if e == NetError::AddrInUse {
                        NetError::PortsExhausted
                    } else {
                        e
                    }
                })?,
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
        if self.tcp_conns.contains_key(&(local, remote)) {
            return Err(NetError::AddrInUse);
        }
        let iss = self.isn.isn(local, remote, now);
        let ts_offset = self.random_u32();
        let link_mss = conn::link_mss(self.config.mtu);
        let s = self.tcp_sock(h)?;
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
        let tcb = Tcb::new(params, &self.config.tcp, now);
        let s = self.tcp_sock_mut(h)?;
        s.local = Some(local);
        s.kind = TcpKind::Conn(Box::new(tcb));
        self.tcp_conns.insert((local, remote), h);
        self.with_tcb(now, h, |t, out| {
            t.connect(now, out);
            ((), Notice::default())
        })?;
        self.after_socket_call(now);
        Err(NetError::InProgress)
    }

    /// Queues data to send. `Ok(n)` with `n` possibly short; `WouldBlock` when the
    /// buffer is full.
    pub fn tcp_send(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        flags: SendFlags,
    ) -> Result<usize, NetError> {
        let s = self.tcp_sock_mut(h)?;
        if let Some(e) = s.error.take() {
            return Err(e);
        }
        let tcb = match s.tcb_mut() {
            Some(t) => t,
            None => return Err(NetError::NotConnected),
        };
        if !tcb.check_send(data.len())? {
            return Ok(0);
        }
        let n = self.with_tcb(now, h, |t, out| {
            let n = if flags.oob {
                t.send_oob(now, data, out)
            } else {
                t.send(now, data, out)
            };
            (n, Notice::default())
        })?;
        self.after_socket_call(now);
        Ok(n)
    }

    /// Reads received data (up to the urgent mark). `Ok(0)` at end of stream.
    pub fn tcp_recv(
        &mut self,
        now: Instant,
        h: SocketHandle,
        buf: &mut [u8],
        flags: RecvFlags,
    ) -> Result<usize, NetError> {
        let s = self.tcp_sock_mut(h)?;
        let Some(tcb) = s.tcb_mut() else {
            // Idle or listening: the pending error of a failed attempt first.
            return Err(s.error.take().unwrap_or(NetError::NotConnected));
        };
        if flags.oob {
            let n = tcb.recv_oob(buf, flags.peek)?;
            if n > 0 {
                self.sockets.mark(h);
            }
            return Ok(n);
        }
        if let Some(n) = tcb.check_recv(buf.len())? {
            return Ok(n);
        }
        let n = self.with_tcb(now, h, |t, out| {
            (t.recv(now, buf, flags.peek, out), Notice::default())
        })?;
        self.sockets.mark(h);
        self.after_socket_call(now);
        Ok(n)
    }

    /// Shuts down one or both halves.
    pub fn tcp_shutdown(
        &mut self,
        now: Instant,
        h: SocketHandle,
        how: Shutdown,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        match &mut s.kind {
            TcpKind::Idle => return Err(NetError::NotConnected),
            TcpKind::Listen(_) => return Err(NetError::NotConnected),
            TcpKind::Conn(t) => t.shutdown_check(matches!(how, Shutdown::Read | Shutdown::Both))?,
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.with_tcb(now, h, |t, out| ((), t.shutdown_write(now, out)))?;
        }
        self.sockets.mark(h);
        self.after_socket_call(now);
        Ok(())
    }

    /// Closes a TCP socket (from [`Engine::close`]): a listener resets its queued
    /// connections; a connection with unread data, or with `SO_LINGER` of zero, is
    /// reset; otherwise a FIN follows the queued data and the connection finishes
    /// on its own.
    pub(crate) fn tcp_close(&mut self, now: Instant, h: SocketHandle) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        let linger_zero = s.opts.linger == Some(crate::time::Duration::ZERO);
        match &mut s.kind {
            TcpKind::Idle => {
                self.tcp_free(h);
            }
            TcpKind::Listen(l) => {
                let children: Vec<SocketHandle> = l
                    .syn_queue
                    .drain(..)
                    .chain(l.accept_queue.drain(..))
                    .collect();
                for c in children {
                    let _ = self.with_tcb(now, c, |t, out| ((), t.abort(now, out)));
                    self.tcp_free(c);
                }
                self.tcp_free(h);
            }
            TcpKind::Conn(t) => match t.close_action(linger_zero) {
                CloseAction::Free => self.tcp_free(h),
                CloseAction::Abort => self.with_tcb(now, h, |t, out| ((), t.abort(now, out)))?,
                // FIN-WAIT-2 of an orphan is bounded by fin_timeout.
                CloseAction::Fin => {
                    self.with_tcb(now, h, |t, out| ((), t.shutdown_write(now, out)))?
                }
            },
        }
        self.after_socket_call(now);
        Ok(())
    }

    /// Aborts with a RST whatever the state.
    pub fn tcp_abort(&mut self, now: Instant, h: SocketHandle) -> Result<(), NetError> {
        self.with_tcb(now, h, |t, out| ((), t.abort(now, out)))?;
        self.after_socket_call(now);
        Ok(())
    }

    /// The state of a TCP socket (`Closed` for idle or finished ones, `Listen`).
    pub fn tcp_state(&self, h: SocketHandle) -> Result<State, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(match &s.kind {
            TcpKind::Idle => State::Closed,
            TcpKind::Listen(_) => State::Listen,
            TcpKind::Conn(t) => t.state(),
        })
    }

    /// Connection details (`None` unless connected or connecting).
    pub fn tcp_info(&self, h: SocketHandle) -> Result<Option<TcpInfo>, NetError> {
        Ok(self.tcp_sock(h)?.tcb().map(Tcb::info))
    }

    /// Local address.
    pub fn tcp_local_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        Ok(self.tcp_sock(h)?.local)
    }

    /// Peer address, once connected (or connecting).
    pub fn tcp_peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(s.tcb().and_then(Tcb::peer_addr))
    }

    /// Takes the pending error (`SO_ERROR`).
    pub fn tcp_take_error(&mut self, h: SocketHandle) -> Result<Option<NetError>, NetError> {
        let s = self.tcp_sock_mut(h)?;
        if let Some(e) = s.error.take() {
            return Ok(Some(e));
        }
        Ok(s.tcb_mut().and_then(Tcb::take_error))
    }

    /// `sockatmark`: the next byte to read is the urgent one.
    pub fn tcp_at_mark(&self, h: SocketHandle) -> Result<bool, NetError> {
        Ok(self.tcp_sock(h)?.tcb().is_some_and(Tcb::at_mark))
    }

    /// Bytes waiting to be read (`FIONREAD`; Linux counts up to the urgent mark).
    pub fn tcp_recv_queue_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Ok(self.tcp_sock(h)?.tcb().map_or(0, Tcb::recv_queue_len))
    }

    /// Bytes queued and not yet acknowledged (`SIOCOUTQ`).
    pub fn tcp_send_queue_len(&self, h: SocketHandle) -> Result<usize, NetError> {
        Ok(self.tcp_sock(h)?.tcb().map_or(0, Tcb::send_queue_len))
    }

    /// `TCP_MAXSEG`: clamps the MSS we advertise and use (set before connecting).
    pub fn tcp_set_maxseg(&mut self, h: SocketHandle, mss: u16) -> Result<(), NetError> {
        if !(88..=32767).contains(&mss) {
            return Err(NetError::InvalidInput);
        }
        self.tcp_sock_mut(h)?.user_mss = Some(mss);
        Ok(())
    }

    /// `TCP_CONGESTION`: the congestion control of this socket (the stack's
    /// default until set).
    pub fn tcp_congestion(&self, h: SocketHandle) -> Result<CongestionAlgorithm, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(s.tcb()
            .map(Tcb::congestion)
            .or(s.congestion)
            .unwrap_or(self.config.tcp.congestion_control))
    }

    /// Sets `TCP_CONGESTION` for this socket: a connection switches at once
    /// (keeping its window), a socket not yet connected uses it when it is.
    pub fn tcp_set_congestion(
        &mut self,
        h: SocketHandle,
        algo: CongestionAlgorithm,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        s.congestion = Some(algo);
        if let Some(t) = s.tcb_mut() {
            t.set_congestion(algo);
        }
        Ok(())
    }

    /// `TCP_MAXSEG` as `getsockopt` reports it: the connection's MSS, or the
    /// configured clamp / the default before connecting.
    pub fn tcp_maxseg(&self, h: SocketHandle) -> Result<u16, NetError> {
        let s = self.tcp_sock(h)?;
        Ok(s.tcb()
            .and_then(Tcb::maxseg)
            .unwrap_or(s.user_mss.unwrap_or(536)))
    }

    /// Applies changed options to a live connection (keep-alive, buffers before
    /// the connection exists).
    pub(crate) fn tcp_options_changed(
        &mut self,
        now: Instant,
        h: SocketHandle,
        opts: SocketOptions,
    ) -> Result<(), NetError> {
        let s = self.tcp_sock_mut(h)?;
        s.opts = opts;
        if let Some(t) = s.tcb_mut() {
            t.apply_options(now, &opts);
            let deadline = t.poll_at();
            s.scheduled = None;
            self.tcp_schedule(h, deadline);
            // Nagle off may release held data.
            let _ = self.with_tcb(now, h, |t, out| {
                t.output(now, out);
                ((), Notice::default())
            });
        }
        Ok(())
    }

    /// Urgent notifications (the in-process SIGURG) since the last call.
    pub fn poll_urgent(&mut self) -> Option<SocketHandle> {
        self.urgent_events.pop_front()
    }
}
