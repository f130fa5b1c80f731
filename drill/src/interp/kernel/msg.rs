//! Scatter/gather calls: `writev`, `readv`, `sendmsg` and `recvmsg`, run as
//! the `send`/`recv` of their total length. A `struct msghdr` is written
//! `{msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0}`, an iovec
//! `{..., N}` or `{iov_base=..., iov_len=N}`. `recvmsg` checks `msg_flags`
//! when the script gives a value; control messages are not supported.

use super::*;

/// Total length of an iovec array expression.
fn iov_total(e: &Expr, what: &str) -> Result<i64, String> {
    let Expr::Array(items) = e else {
        return Err(format!(
            "{what}: expected an iovec array such as [{{..., 100}}]"
        ));
    };
    let mut total = 0i64;
    for item in items {
        let Expr::Struct(fields) = item else {
            return Err(format!("{what}: expected an iovec such as {{..., 100}}"));
        };
        let len = field(fields, &["iov_len"], 1)
            .ok_or_else(|| format!("{what}: an iovec needs its length"))?;
        total = total.saturating_add(eval(len).map_err(|e| format!("{what}: {e}"))?);
    }
    Ok(total)
}

/// The fields of the `struct msghdr` argument.
fn msghdr(call: &Syscall) -> Result<&[Field], String> {
    match call.args.get(1) {
        Some(Expr::Struct(fields)) => Ok(fields),
        _ => Err("argument 2: expected a struct msghdr such as {msg_iov(1)=[{..., 100}]}".into()),
    }
}

impl Interp {
    /// `writev`/`readv`/`sendmsg`/`recvmsg` as the equivalent `send`/`recv`
    /// (same descriptor and flags, the iovecs' total as the length); for
    /// `recvmsg`, also the `msg_flags` the script expects, if it gives them.
    fn as_plain(&self, call: &Syscall) -> Result<(Syscall, Option<i64>), String> {
        let fd = arg(call, 0)?.clone();
        let mut to = None;
        let (name, total, flags, msg_flags) = match call.name.as_str() {
            "writev" | "readv" => {
                let total = iov_total(arg(call, 1)?, "argument 2")?;
                let name = if call.name == "writev" {
                    "send"
                } else {
                    "recv"
                };
                (name, total, Expr::Int(0), None)
            }
            _ => {
                let fields = msghdr(call)?;
                let iov =
                    field(fields, &["msg_iov"], 2).ok_or("argument 2: the msghdr needs msg_iov")?;
                let total = iov_total(iov, "msg_iov")?;
                if let Some(c) = field(fields, &["msg_control"], 4) {
                    if !matches!(c, Expr::Ellipsis) && c != &Expr::Array(Vec::new()) {
                        return Err(
                            "unsupported by the stack: control messages (msg_control)".into()
                        );
                    }
                }
                let flags = call.args.get(2).cloned().unwrap_or(Expr::Int(0));
                let msg_flags = match field(fields, &["msg_flags"], 6) {
                    Some(Expr::Ellipsis) | None => None,
                    Some(e) => Some(eval(e).map_err(|e| format!("msg_flags: {e}"))?),
                };
                // A sendmsg with an address is a sendto to it.
                to = field(fields, &["msg_name"], 0)
                    .filter(|_| call.name == "sendmsg")
                    .cloned();
                let name = match (call.name.as_str(), &to) {
                    ("sendmsg", Some(_)) => "sendto",
                    ("sendmsg", None) => "send",
                    _ => "recv",
                };
                (
                    name,
                    total,
                    flags,
                    msg_flags.filter(|_| call.name == "recvmsg"),
                )
            }
        };
        let mut args = vec![fd, Expr::Ellipsis, Expr::Int(total), flags];
        if let Some(to) = to {
            args.extend([to, Expr::Ellipsis]);
        }
        let plain = Syscall {
            end: call.end,
            name: name.to_string(),
            args,
            result: call.result.clone(),
        };
        Ok((plain, msg_flags))
    }

    /// Runs a scatter/gather call.
    pub(super) fn sys_vectored(
        &mut self,
        call: &Syscall,
        wait: Option<&Wait>,
    ) -> Result<Outcome, String> {
        let (plain, msg_flags) = self.as_plain(call)?;
        let out = if plain.name.starts_with("send") {
            self.sys_send(&plain, wait)?
        } else {
            self.sys_recv(&plain)?
        };
        let (
            Some(want),
            Outcome::Done(Done {
                ret: Ok(n),
                mismatch: None,
            }),
        ) = (msg_flags, &out)
        else {
            return Ok(out);
        };
        // What Linux reports on a stream or datagram read: MSG_OOB for urgent
        // data read with MSG_OOB; nothing else here.
        let got = int_arg(&plain, 3)? & sockets::constant("MSG_OOB").unwrap_or(1);
        if got == want {
            return Ok(out);
        }
        Ok(checked(
            *n,
            Some(format!(
                "msg_flags is {got:#x}, the script expects {want:#x}"
            )),
        ))
    }
}
