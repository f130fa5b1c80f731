//! setsockopt and getsockopt (through the socket layer's shared codec), fcntl
//! and ioctl.

use super::*;

impl Interp {
    pub(super) fn sys_setsockopt(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let level = int_arg(call, 1)?;
        let name = int_arg(call, 2)?;
        let mut bytes = option_bytes(arg(call, 3)?)?;
        // C hands the kernel `optlen` bytes of the value.
        if let Some(len) = call.args.get(4).filter(|e| !matches!(e, Expr::Ellipsis)) {
            let len = usize::try_from(eval(len)?).map_err(|_| "optlen must be >= 0")?;
            bytes.resize(len.min(MAX_BUF), 0);
        }
        let (Ok(level), Ok(name)) = (i32::try_from(level), i32::try_from(name)) else {
            return Ok(errno("ENOPROTOOPT"));
        };
        // The descriptor's own timeouts are not modelled: the engine's options are.
        let now = self.instant();
        Ok(
            match sockopt::set(
                &mut self.engine,
                now,
                f.h,
                f.kind.into(),
                level,
                name,
                &bytes,
            ) {
                Ok(_) => ok(0),
                Err(e) => errno(e.name()),
            },
        )
    }

    pub(super) fn sys_getsockopt(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (_, Some(f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let level = int_arg(call, 1)?;
        let name = int_arg(call, 2)?;
        let value = arg(call, 3)?;
        let optlen = match call.args.get(4) {
            Some(Expr::Ellipsis) | None => 64,
            Some(e) => usize::try_from(eval(e)?).map_err(|_| "optlen must be >= 0")?,
        };
        let (Ok(level), Ok(name)) = (i32::try_from(level), i32::try_from(name)) else {
            return Ok(errno("ENOPROTOOPT"));
        };
        let got = match sockopt::get(
            &mut self.engine,
            f.h,
            f.kind.into(),
            level,
            name,
            optlen.min(MAX_BUF),
            sockopt::Timeouts::default(),
        ) {
            Ok(b) => b,
            Err(e) => return Ok(errno(e.name())),
        };
        if let Some(fields) = struct_fields(value) {
            // `struct linger`: each field the script names is compared.
            let word = |i: usize| {
                got.get(i * 4..i * 4 + 4).map_or(0, |w| {
                    i64::from(i32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
                })
            };
            let mut mismatch = None;
            for (names, pos) in [(["l_onoff"], 0), (["l_linger"], 1)] {
                if let Some(e) = field(fields, &names, pos) {
                    let want = eval(e)?;
                    let have = word(pos);
                    if want != have && mismatch.is_none() {
                        mismatch = Some(format!(
                            "getsockopt {}: {} is {have}, the script expects {want}",
                            if level == 1 && name == 13 {
                                "SO_LINGER"
                            } else {
                                ""
                            },
                            names[0]
                        ));
                    }
                }
            }
            return Ok(checked(0, mismatch));
        }
        // An int (or the single byte Linux gives a short buffer).
        let got = match got.len() {
            0 => 0,
            1..=3 => i64::from(got[0]),
            _ => i64::from(i32::from_ne_bytes([got[0], got[1], got[2], got[3]])),
        };
        let mismatch = match value {
            Expr::Ellipsis => None,
            e => {
                let want = eval(e).map_err(|m| format!("option value: {m}"))?;
                // An int written as its unsigned bits (`[0xffffffff]`) is -1.
                let same =
                    want == got || (want > i64::from(i32::MAX) && want as u32 as i32 as i64 == got);
                (!same).then(|| {
                    let show = |v: i64| match (level, name) {
                        (1, 4) => match errno_name(v) {
                            Some(n) => format!("{v} ({n})"),
                            None => v.to_string(),
                        },
                        _ => v.to_string(),
                    };
                    format!(
                        "getsockopt: the value is {}, the script expects {}",
                        show(got),
                        show(want)
                    )
                })
            }
        };
        Ok(checked(0, mismatch))
    }

    pub(super) fn sys_fcntl(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (fd, Some(mut f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let cmd = int_arg(call, 1)?;
        Ok(match cmd {
            3 => ok(2 | if f.nonblocking { 0o4000 } else { 0 }),
            4 => {
                f.nonblocking = int_arg(call, 2)? & 0o4000 != 0;
                self.fd_set(fd, f);
                ok(0)
            }
            1 | 2 => ok(0),
            _ => errno("EINVAL"),
        })
    }

    pub(super) fn sys_ioctl(&mut self, call: &Syscall) -> Result<Outcome, String> {
        let (fd, Some(mut f)) = self.fd_at(call, 0)? else {
            return Ok(errno("EBADF"));
        };
        let req = int_arg(call, 1)?;
        let got = match req {
            0x5421 => {
                f.nonblocking = int_arg(call, 2)? != 0;
                self.fd_set(fd, f);
                return Ok(ok(0));
            }
            0x541b => match f.kind {
                Kind::Udp => self.engine.udp_next_len(f.h),
                Kind::Tcp => tcp::recv_queue_len(&self.engine, f.h),
            },
            0x5411 => match f.kind {
                Kind::Udp => Ok(0),
                Kind::Tcp => tcp::send_queue_len(&self.engine, f.h),
            },
            0x8905 => match f.kind {
                Kind::Udp => return Ok(errno("EINVAL")),
                Kind::Tcp => tcp::at_mark(&self.engine, f.h).map(usize::from),
            },
            _ => return Ok(errno("EINVAL")),
        };
        let got = match got {
            Ok(v) => v as i64,
            Err(e) => return Ok(net(e)),
        };
        let mismatch = match call.args.get(2) {
            None | Some(Expr::Ellipsis) => None,
            Some(e) => {
                let want = eval(e).map_err(|m| format!("argument 3: {m}"))?;
                (want != got)
                    .then(|| format!("ioctl: the value is {got}, the script expects {want}"))
            }
        };
        Ok(checked(0, mismatch))
    }
}
