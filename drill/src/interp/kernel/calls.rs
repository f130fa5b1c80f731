//! The socket calls: socket, bind, listen, accept, connect, read/write and their
//! send/recv forms, close, shutdown, poll, getsockname/getpeername.

use super::*;

impl Interp {
    /// POLLRDHUP (with POLLIN) once the peer's FIN came, as Linux sets
    /// RCV_SHUTDOWN then (and when the connection dies).
    fn read_hangup_bits(&self, f: &Fd) -> i64 {
        use stack::tcp::State as S;
        if f.kind != Kind::Tcp {
            return 0;
        }
        let peer_done = match self.engine.tcp_state(f.h) {
            Ok(S::CloseWait | S::LastAck | S::Closing | S::TimeWait) => true,
            Ok(S::Closed) => matches!(self.engine.tcp_info(f.h), Ok(Some(_))),
            _ => false,
        };
        if peer_done {
            0x2000 | 0x1 | 0x40
        } else {
            0
        }
    }

    pub(super) fn sys_socket(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let domain = opt_int(call, 0, 2)?;
        if domain != 2 {
            return Ok(errno("EAFNOSUPPORT"));
        }
        let ty = int_arg(call, 1)?;
        let nonblocking = ty & 0o4000 != 0;
        let proto = opt_int(call, 2, 0)?;
        let kind = match ty & !(0o4000 | 0o2000000) {
            2 if proto == 0 || proto == 17 => Kind::Udp,
            1 if proto == 0 || proto == 6 => Kind::Tcp,
            1 | 2 => return Ok(errno("EPROTONOSUPPORT")),
            _ => return Ok(errno("ESOCKTNOSUPPORT")),
        };
        let h = match kind {
            Kind::Udp => self.engine.udp_open(),
            Kind::Tcp => tcp::open(&mut self.engine),
        };
        let h = match h {
            Ok(h) => h,
            Err(e) => return Ok(net(e)),
        };
        let fd = Fd {
            kind,
            h,
            nonblocking,
        };
        Ok(match self.new_fd(fd, call) {
            Ok(fd) => ok(fd),
            Err(e) => e,
        })
    }

    pub(super) fn sys_bind(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let default = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.settings.bind_port);
        let addr_expr = arg(call, 1)?;
        let Some(addr) = sockaddr(addr_expr, default)? else {
            return Ok(errno("EAFNOSUPPORT"));
        };
        let r = match f.kind {
            Kind::Udp => self.engine.udp_bind(f.h, addr),
            Kind::Tcp => tcp::bind(&mut self.engine, f.h, addr),
        };
        match r {
            Ok(local) => {
                if matches!(addr_expr, Expr::Ellipsis) || self.def.local_port.is_none() {
                    self.def.local_port = Some(local.port());
                    self.def.tcp = f.kind == Kind::Tcp;
                }
                Ok(ok(0))
            }
            Err(e) => Ok(net(e)),
        }
    }

    pub(super) fn sys_listen(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let backlog = opt_int(call, 1, 128)?;
        if f.kind == Kind::Udp {
            return Ok(errno("EOPNOTSUPP"));
        }
        Ok(match tcp::listen(&mut self.engine, f.h, backlog) {
            Ok(()) => {
                self.def.listened = true;
                ok(0)
            }
            Err(e) => net(e),
        })
    }

    pub(super) fn sys_accept(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let flags = if call.name == "accept4" {
            opt_int(call, 3, 0)?
        } else {
            0
        };
        if f.kind == Kind::Udp {
            return Ok(errno("EOPNOTSUPP"));
        }
        let now = self.now_instant();
        match tcp::accept(&mut self.engine, now, f.h) {
            Ok((child, peer)) => {
                let fd = Fd {
                    kind: Kind::Tcp,
                    h: child,
                    nonblocking: flags & 0o4000 != 0,
                };
                let fd = match self.new_fd(fd, call) {
                    Ok(fd) => fd,
                    Err(e) => return Ok(e),
                };
                let mismatch = check_sockaddr("accept", call.args.get(1), peer)?;
                Ok(checked(fd, mismatch))
            }
            Err(NetError::WouldBlock) => Ok(Self::would_block(&f, false)),
            Err(e) => Ok(net(e)),
        }
    }

    pub(super) fn sys_connect(
        &mut self,
        call: &Syscall,
        wait: Option<&Wait>,
    ) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        if wait == Some(&Wait::Connect) {
            return Ok(self.connect_status(&f));
        }
        let default = SocketAddrV4::new(self.settings.remote_ip, self.settings.connect_port);
        let addr_expr = arg(call, 1)?;
        let dst = sockaddr(addr_expr, default)?;
        let now = self.now_instant();
        let is_default = matches!(addr_expr, Expr::Ellipsis);
        match (f.kind, dst) {
            (Kind::Udp, None) => Ok(match self.engine.udp_disconnect(f.h) {
                Ok(()) => ok(0),
                Err(e) => net(e),
            }),
            (Kind::Udp, Some(a)) => match self.engine.udp_connect(now, f.h, a) {
                Ok(()) => {
                    self.learn_connect(&f, a, is_default);
                    Ok(ok(0))
                }
                Err(e) => Ok(net(e)),
            },
            (Kind::Tcp, None) => Ok(errno("EAFNOSUPPORT")),
            (Kind::Tcp, Some(a)) => {
                let r = tcp::connect(&mut self.engine, now, f.h, a);
                if matches!(r, Ok(()) | Err(NetError::InProgress)) {
                    self.learn_connect(&f, a, is_default);
                }
                Ok(match r {
                    Ok(()) => ok(0),
                    Err(NetError::InProgress) if f.nonblocking => errno("EINPROGRESS"),
                    Err(NetError::InProgress) => Outcome::Blocked(Wait::Connect),
                    Err(e) => net(e),
                })
            }
        }
    }

    /// `sendto(MSG_FASTOPEN)` on a TCP socket not yet connected: connect with
    /// the data on the SYN (`None`: the socket is connected, a plain send).
    fn fast_open_sendto(
        &mut self,
        call: &Syscall,
        f: &Fd,
        data: &[u8],
        dontwait: bool,
    ) -> Result<Option<Outcome>, String> {
        match self.engine.tcp_state(f.h) {
            // (A deferred connect's SYN is for this send: the engine says.)
            Ok(stack::tcp::State::SynSent | stack::tcp::State::SynReceived) => {
                let now = self.now_instant();
                return Ok(Some(
                    match self
                        .engine
                        .tcp_connect_fast_open(now, f.h, None, data, false)
                    {
                        Ok(n) if f.nonblocking || dontwait => ok(n as i64),
                        Ok(n) => Outcome::Blocked(Wait::Write {
                            done: n,
                            connecting: true,
                        }),
                        Err(e) => net(e),
                    },
                ));
            }
            Ok(stack::tcp::State::Closed)
                if !matches!(self.engine.tcp_peer_addr(f.h), Ok(Some(_))) => {}
            _ => return Ok(None),
        }
        let default = SocketAddrV4::new(self.settings.remote_ip, self.settings.connect_port);
        let addr_expr = arg(call, 4)?;
        let Some(dst) = sockaddr(addr_expr, default)? else {
            // Linux: an AF_UNSPEC address is refused.
            return Ok(Some(errno("EOPNOTSUPP")));
        };
        let now = self.now_instant();
        let nonblocking = f.nonblocking || dontwait;
        let r = self
            .engine
            .tcp_connect_fast_open(now, f.h, Some(dst), data, !nonblocking);
        if matches!(r, Ok(_) | Err(NetError::InProgress)) {
            self.learn_connect(f, dst, matches!(addr_expr, Expr::Ellipsis));
        }
        Ok(Some(match r {
            Ok(n) if nonblocking => ok(n as i64),
            // Blocking (Linux): the call waits for the connection, then sends
            // the rest.
            Ok(n) => Outcome::Blocked(Wait::Write {
                done: n,
                connecting: true,
            }),
            Err(NetError::InProgress) if nonblocking => errno("EINPROGRESS"),
            Err(NetError::InProgress) => Outcome::Blocked(Wait::Write {
                done: 0,
                connecting: true,
            }),
            Err(e) => net(e),
        }))
    }

    /// After `connect`: the default connection becomes this one.
    pub(super) fn learn_connect(&mut self, f: &Fd, remote: SocketAddrV4, is_default: bool) {
        if !is_default && self.def.local_port.is_some() {
            return;
        }
        if *remote.ip() == self.settings.remote_ip {
            self.def.remote_port = remote.port();
        }
        if let Ok(Some(local)) = self.local_addr(f) {
            self.def.local_port = Some(local.port());
        }
        self.def.tcp = f.kind == Kind::Tcp;
    }

    /// Whether a blocking TCP connect has finished.
    pub(super) fn connect_status(&mut self, f: &Fd) -> Outcome {
        match tcp::take_error(&mut self.engine, f.h) {
            Ok(Some(e)) => return net(e),
            Err(e) => return net(e),
            Ok(None) => {}
        }
        match tcp::connected(&self.engine, f.h) {
            Ok(true) => ok(0),
            Ok(false) => match self.engine.readiness(f.h) {
                Ok(r) if r.hangup && !r.writable => errno("ECONNREFUSED"),
                Ok(_) => Outcome::Blocked(Wait::Connect),
                Err(e) => net(e),
            },
            Err(e) => net(e),
        }
    }

    pub(super) fn sys_recv(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let len = len_arg(call, 2)?;
        // Data to copy into a null buffer: EFAULT, as Linux's copy fails.
        if null_arg(call, 1) && len > 0 && self.engine.readiness(f.h).is_ok_and(|r| r.readable) {
            return Ok(errno("EFAULT"));
        }
        let flags = if call.name == "read" {
            0
        } else {
            opt_int(call, 3, 0)?
        };
        let (oob, peek, trunc, dontwait) = (
            flags & 1 != 0,
            flags & 2 != 0,
            flags & 0x20 != 0,
            flags & 0x40 != 0,
        );
        let mut buf = vec![0u8; len];
        match f.kind {
            Kind::Udp => match self.engine.udp_recv_from(f.h, &mut buf, peek) {
                Ok(r) => {
                    let n = if trunc { r.len } else { r.copied };
                    let mismatch = if call.name == "recvfrom" {
                        check_sockaddr("recvfrom", call.args.get(4), r.from)?
                    } else {
                        None
                    };
                    Ok(checked(n as i64, mismatch))
                }
                Err(NetError::WouldBlock) => Ok(Self::would_block(&f, dontwait)),
                Err(e) => Ok(net(e)),
            },
            Kind::Tcp => {
                let now = self.now_instant();
                match tcp::recv(&mut self.engine, now, f.h, &mut buf, peek, oob) {
                    Ok(n) => Ok(ok(n as i64)),
                    Err(NetError::WouldBlock) => Ok(Self::would_block(&f, dontwait)),
                    Err(e) => Ok(net(e)),
                }
            }
        }
    }

    pub(super) fn sys_send(
        &mut self,
        call: &Syscall,
        wait: Option<&Wait>,
    ) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let data = data_arg(call, 1, 2)?;
        // A null buffer cannot be read from: EFAULT, as Linux's copy fails.
        if null_arg(call, 1) && !data.is_empty() && wait.is_none() {
            return Ok(errno("EFAULT"));
        }
        let flags = if call.name == "write" {
            0
        } else {
            opt_int(call, 3, 0)?
        };
        let (oob, dontwait) = (flags & 1 != 0, flags & 0x40 != 0);
        let now = self.now_instant();
        let fast_open = flags & i64::from(sockets::MSG_FASTOPEN) != 0;
        if fast_open && call.name == "sendto" && f.kind == Kind::Tcp && wait.is_none() {
            if let Some(out) = self.fast_open_sendto(call, &f, &data, dontwait)? {
                return Ok(out);
            }
        }
        match f.kind {
            Kind::Udp => {
                let dst = if call.name == "sendto" {
                    let default = SocketAddrV4::new(self.settings.remote_ip, self.def.remote_port);
                    match call.args.get(4) {
                        Some(e) => sockaddr(e, default)?,
                        None => None,
                    }
                } else {
                    None
                };
                match self.engine.udp_send_to(now, f.h, &data, dst) {
                    Ok(n) => {
                        if self.def.local_port.is_none() {
                            if let Ok(Some(local)) = self.engine.udp_local_addr(f.h) {
                                self.def.local_port = Some(local.port());
                                self.def.tcp = false;
                            }
                        }
                        Ok(ok(n as i64))
                    }
                    Err(NetError::WouldBlock) => Ok(Self::would_block(&f, dontwait)),
                    Err(e) => Ok(net(e)),
                }
            }
            Kind::Tcp => {
                use stack::tcp::State as S;
                let state = self.engine.tcp_state(f.h);
                let (done, connecting) = match wait {
                    // (Once established, it is an ordinary write.)
                    Some(Wait::Write { done, connecting }) => (
                        *done,
                        *connecting && matches!(state, Ok(S::SynSent | S::SynReceived | S::Closed)),
                    ),
                    _ => (0, state == Ok(S::SynSent)),
                };
                let rest = data.get(done..).unwrap_or(&[]);
                // A send that starts a deferred Fast Open connect (its SYN
                // carries the data) blocks until the connection is made.
                let deferred = wait.is_none() && connecting;
                let flags = stack::tcp::SendFlags {
                    oob,
                    more: flags & i64::from(sockets::MSG_MORE) != 0,
                    eor: flags & i64::from(sockets::MSG_EOR) != 0,
                };
                // A blocking send on a deferred Fast Open connect queues all it
                // can with the SYN's data (the ACK of the SYN-ACK then rides
                // on it, as Linux's pending writer's does).
                let sent = if deferred && !(f.nonblocking || dontwait) {
                    match self
                        .engine
                        .tcp_connect_fast_open(now, f.h, None, rest, true)
                    {
                        Err(NetError::Already) => {
                            tcp::send(&mut self.engine, now, f.h, rest, flags)
                        }
                        r => r,
                    }
                } else {
                    tcp::send(&mut self.engine, now, f.h, rest, flags)
                };
                match sent {
                    Ok(n) => {
                        let total = done + n;
                        if (total < data.len() || deferred) && !(f.nonblocking || dontwait) {
                            Ok(Outcome::Blocked(Wait::Write {
                                done: total,
                                connecting,
                            }))
                        } else {
                            Ok(ok(total as i64))
                        }
                    }
                    Err(NetError::WouldBlock) if done > 0 && (f.nonblocking || dontwait) => {
                        Ok(ok(done as i64))
                    }
                    Err(NetError::WouldBlock) if f.nonblocking || dontwait => Ok(errno("EAGAIN")),
                    Err(NetError::WouldBlock) => {
                        Ok(Outcome::Blocked(Wait::Write { done, connecting }))
                    }
                    // A handshake that failed never carried the data queued
                    // for it (a blocking Fast Open send): the error, as Linux.
                    Err(e) if connecting => Ok(net(e)),
                    Err(e) if done > 0 => {
                        let _ = e;
                        Ok(ok(done as i64))
                    }
                    Err(e) => Ok(net(e)),
                }
            }
        }
    }

    pub(super) fn sys_close(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (fd, f) = self.fd_at(call, 0)?;
        if self.close_epoll(fd) {
            return Ok(ok(0));
        }
        let Some(f) = f else {
            return Ok(errno("EBADF"));
        };
        let _ = i32::try_from(fd).map(|fd| self.fds.remove(fd));
        let now = self.now_instant();
        Ok(match self.engine.close(now, f.h) {
            Ok(()) => ok(0),
            Err(e) => net(e),
        })
    }

    pub(super) fn sys_shutdown(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let how = int_arg(call, 1)?;
        if !(0..=2).contains(&how) {
            return Ok(errno("EINVAL"));
        }
        let now = self.now_instant();
        Ok(match f.kind {
            Kind::Udp => match self.engine.udp_peer_addr(f.h) {
                Ok(Some(_)) => ok(0),
                Ok(None) => errno("ENOTCONN"),
                Err(e) => net(e),
            },
            Kind::Tcp => match tcp::shutdown(&mut self.engine, now, f.h, how) {
                Ok(()) => ok(0),
                Err(e) => net(e),
            },
        })
    }

    pub(super) fn sys_poll(
        &mut self,
        call: &Syscall,
        wait: Option<&Wait>,
    ) -> Result<Outcome, String> {
        let Expr::Array(entries) = arg(call, 0)? else {
            return Err("the first argument must be an array of {fd=..., events=...}".to_string());
        };
        let timeout = opt_int(call, 2, -1)?;
        let mut ready = 0;
        let mut mismatch = None;
        let mut expected = Vec::new();
        let mut actual = Vec::new();
        for e in entries {
            let Expr::Struct(fields) = e else {
                return Err(format!("poll entry '{e}' is not a struct"));
            };
            let fd = field(fields, &["fd"], 0)
                .map(eval)
                .transpose()?
                .ok_or("poll entry without fd")?;
            let events = field(fields, &["events"], 1)
                .map(eval)
                .transpose()?
                .unwrap_or(0);
            let want = match field(fields, &["revents"], 2) {
                None | Some(Expr::Ellipsis) => None,
                Some(e) => Some(eval(e)?),
            };
            let revents = match self.fd_get(fd) {
                None => 0x20,
                Some(f) => match self.engine.readiness(f.h) {
                    Ok(r) => {
                        (readiness_bits(r) | self.read_hangup_bits(&f)) & (events | 0x8 | 0x10)
                    }
                    Err(_) => 0x20,
                },
            };
            if revents != 0 {
                ready += 1;
            }
            expected.push((fd, want));
            actual.push(revents);
        }
        if ready == 0 {
            if let Some(blocked) = self.poll_blocks(wait, timeout) {
                return Ok(blocked);
            }
        }
        for ((fd, want), got) in expected.iter().zip(&actual) {
            if let Some(want) = want {
                if *want != *got && mismatch.is_none() {
                    mismatch = Some(format!(
                        "poll: fd {fd} has revents {}, the script expects {}",
                        poll_bits(*got),
                        poll_bits(*want)
                    ));
                }
            }
        }
        Ok(checked(ready, mismatch))
    }

    /// A `poll`-like wait with nothing ready and `timeout_ms` (negative:
    /// forever): blocked until its deadline, or `None` once that has passed
    /// (or at once for a timeout of 0).
    pub(super) fn poll_blocks(&self, wait: Option<&Wait>, timeout_ms: i64) -> Option<Outcome> {
        let deadline = match wait {
            Some(Wait::Poll { deadline }) => {
                if deadline.is_some_and(|d| self.now >= d) {
                    return None;
                }
                *deadline
            }
            _ if timeout_ms == 0 => return None,
            _ => (timeout_ms >= 0).then(|| {
                self.now
                    .saturating_add((timeout_ms as u64).saturating_mul(1000))
            }),
        };
        Some(Outcome::Blocked(Wait::Poll { deadline }))
    }

    pub(super) fn sys_sockname(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let peer = call.name == "getpeername";
        let r = match (f.kind, peer) {
            (Kind::Udp, false) => self.engine.udp_local_addr(f.h),
            (Kind::Udp, true) => self.engine.udp_peer_addr(f.h),
            (Kind::Tcp, false) => tcp::local_addr(&self.engine, f.h),
            (Kind::Tcp, true) => tcp::peer_addr(&self.engine, f.h),
        };
        match r {
            Ok(Some(a)) => Ok(checked(0, check_sockaddr(&call.name, call.args.get(1), a)?)),
            Ok(None) if peer => Ok(errno("ENOTCONN")),
            Ok(None) => {
                let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
                Ok(checked(
                    0,
                    check_sockaddr(&call.name, call.args.get(1), any)?,
                ))
            }
            Err(e) => Ok(net(e)),
        }
    }
}
