//! Arguments as scripts write them: integer expressions and constants, socket
//! addresses, buffers, option values, poll bits.

use super::*;

/// The value of an argument expression: integers, constants, `A|B`,
/// `htons(N)`, and `[N]` (a pointer to an int).
pub(crate) fn eval(e: &Expr) -> Result<i64, String> {
    match e {
        Expr::Int(v) => Ok(*v),
        Expr::Ident(n) => constant(n).ok_or_else(|| match unsupported_feature(n) {
            Some(what) => format!("unsupported by the stack: {n} ({what})"),
            None => format!("unknown constant '{n}'"),
        }),
        Expr::Or(ops) => ops.iter().try_fold(0i64, |acc, o| Ok(acc | eval(o)?)),
        Expr::Call { name, args }
            if matches!(name.as_str(), "htons" | "htonl" | "ntohs" | "ntohl") =>
        {
            match args.as_slice() {
                [x] => eval(x),
                _ => Err(format!("{name}() takes one argument")),
            }
        }
        Expr::Array(items) if items.len() == 1 => eval(&items[0]),
        Expr::Ellipsis => Err("'...' where a value is needed".to_string()),
        other => Err(format!("'{other}' is not an integer value")),
    }
}

/// Options and flags of Linux or FreeBSD that scripts use for features this
/// stack does not have, with the feature's name.
fn unsupported_feature(name: &str) -> Option<&'static str> {
    Some(match name {
        "TCP_FASTOPEN_KEY" => "per-listener TCP Fast Open keys",
        "SO_ZEROCOPY" | "MSG_ZEROCOPY" | "TCP_ZEROCOPY_RECEIVE" => "zero-copy transmission",
        "SO_TIMESTAMPING" | "SO_TIMESTAMP" | "SO_TIMESTAMPNS" => "packet timestamping",
        "TCP_INQ" => "the TCP_CM_INQ control message",
        "TCP_MD5SIG" | "TCP_MD5SIG_EXT" => "TCP MD5 signatures, RFC 2385",
        "TCP_REPAIR" | "TCP_REPAIR_QUEUE" | "TCP_REPAIR_OPTIONS" | "TCP_QUEUE_SEQ" => {
            "connection repair"
        }
        "TCP_NOOPT" => "FreeBSD's option-less SYN",
        "TCP_KEEPINIT" => "FreeBSD's connection establishment timeout",
        "IP_MTU_DISCOVER" => "per-socket path MTU discovery modes",
        "IP_FREEBIND" => "binding non-local addresses",
        "SO_MAX_PACING_RATE"
        | "TCP_RACK_PACE_MAX_SEG"
        | "TCP_RACK_PACE_RATE_SS"
        | "TCP_RACK_PACE_ALWAYS" => "pacing",
        "TCP_REMOTE_UDP_ENCAPS_PORT" => "TCP over UDP encapsulation",
        "TCP_LOG" | "TCP_LOGBUF" | "TCP_LOGID" | "TCP_LOGDUMP" => "FreeBSD's black-box log",
        "TCP_FUNCTION_BLK" => "FreeBSD's alternate TCP stacks",
        _ => return None,
    })
}

pub(super) fn arg(call: &Syscall, i: usize) -> Result<&Expr, String> {
    call.args
        .get(i)
        .ok_or_else(|| format!("needs at least {} arguments", i + 1))
}

pub(super) fn int_arg(call: &Syscall, i: usize) -> Result<i64, String> {
    eval(arg(call, i)?).map_err(|e| format!("argument {}: {e}", i + 1))
}

/// An optional integer argument (absent or `...` gives `default`).
pub(super) fn opt_int(call: &Syscall, i: usize, default: i64) -> Result<i64, String> {
    match call.args.get(i) {
        None | Some(Expr::Ellipsis) => Ok(default),
        Some(e) => eval(e).map_err(|e| format!("argument {}: {e}", i + 1)),
    }
}

pub(super) fn field<'a>(fields: &'a [Field], names: &[&str], pos: usize) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|f| f.name.as_deref().is_some_and(|n| names.contains(&n)))
        .or_else(|| fields.get(pos).filter(|f| f.name.is_none()))
        .map(|f| &f.value)
}

/// The fields of a struct value, written `{...}` or `[{...}]`.
pub(super) fn struct_fields(e: &Expr) -> Option<&[Field]> {
    match e {
        Expr::Struct(fs) => Some(fs),
        Expr::Array(items) => match items.as_slice() {
            [Expr::Struct(fs)] => Some(fs),
            _ => None,
        },
        _ => None,
    }
}

/// An option value as C's bytes: `{l_onoff=N, l_linger=N}` is a `struct
/// linger`, `{tv_sec=N, tv_usec=N}` a `struct timeval`, a string its bytes
/// (`TCP_CONGESTION`), anything else an `int`.
pub(super) fn option_bytes(value: &Expr) -> Result<Vec<u8>, String> {
    if let Some(fields) = struct_fields(value) {
        let get = |names: &[&str], pos: usize| -> Result<i64, String> {
            field(fields, names, pos)
                .map(eval)
                .transpose()
                .map(|v| v.unwrap_or(0))
        };
        let named = |n: &str| fields.iter().any(|f| f.name.as_deref() == Some(n));
        if named("tv_sec") || named("tv_usec") {
            let mut b = get(&["tv_sec"], 0)?.to_ne_bytes().to_vec();
            b.extend_from_slice(&get(&["tv_usec"], 1)?.to_ne_bytes());
            return Ok(b);
        }
        let mut b = (get(&["l_onoff"], 0)? as i32).to_ne_bytes().to_vec();
        b.extend_from_slice(&(get(&["l_linger"], 1)? as i32).to_ne_bytes());
        return Ok(b);
    }
    if let Expr::Str(s) = value {
        return Ok(s.as_bytes().to_vec());
    }
    let v = eval(value).map_err(|e| format!("option value: {e}"))?;
    Ok((v as i32).to_ne_bytes().to_vec())
}

pub(super) fn ip_expr(e: &Expr) -> Result<Ipv4Addr, String> {
    // The socket layer's address codec: C's inet_aton rules ("10.1" is 10.0.0.1).
    let dotted = |s: &str| {
        let mut a = sockets::InAddr::default();
        (sockets::inet_aton(s, &mut a) == 1).then(|| Ipv4Addr::from(a))
    };
    match e {
        Expr::Call { name, args } if name == "inet_addr" => match args.as_slice() {
            [Expr::Str(s)] => {
                dotted(s).ok_or_else(|| format!("inet_addr(\"{s}\"): not an IPv4 address"))
            }
            _ => Err("inet_addr() takes one string".to_string()),
        },
        Expr::Str(s) => dotted(s).ok_or_else(|| format!("\"{s}\" is not an IPv4 address")),
        other => Ok(Ipv4Addr::from(eval(other)? as u32)),
    }
}

/// A `struct sockaddr_in` argument; `...` is `default`; `None` for
/// `AF_UNSPEC`.
pub(super) fn sockaddr(e: &Expr, default: SocketAddrV4) -> Result<Option<SocketAddrV4>, String> {
    match e {
        Expr::Ellipsis => Ok(Some(default)),
        Expr::Struct(fields) => {
            let family = match field(fields, &["sa_family", "sin_family"], 0) {
                Some(f) => eval(f)?,
                None => 2,
            };
            if family == 0 {
                return Ok(None);
            }
            if family != 2 {
                return Err(format!("address family {family} is not AF_INET"));
            }
            let port = match field(fields, &["sin_port"], 1) {
                Some(p) => {
                    u16::try_from(eval(p)?).map_err(|_| "sin_port out of range".to_string())?
                }
                None => default.port(),
            };
            let addr = match field(fields, &["sin_addr"], 2) {
                Some(a) => ip_expr(a)?,
                None => *default.ip(),
            };
            Ok(Some(SocketAddrV4::new(addr, port)))
        }
        // packetdrill's shorthand for a struct whose family is AF_UNSPEC.
        Expr::Ident(name) if name == "AF_UNSPEC" => Ok(None),
        other => Err(format!("'{other}' is not a socket address")),
    }
}

/// Compares a returned address with a script's `struct sockaddr_in`
/// (fields that are not written are not checked).
pub(super) fn check_sockaddr(
    what: &str,
    e: Option<&Expr>,
    got: SocketAddrV4,
) -> Result<Option<String>, String> {
    let Some(Expr::Struct(fields)) = e else {
        return Ok(None);
    };
    if let Some(p) = field(fields, &["sin_port"], 1) {
        let want = eval(p)?;
        if want != i64::from(got.port()) {
            return Ok(Some(format!(
                "{what}: the port is {}, the script expects {want}",
                got.port()
            )));
        }
    }
    if let Some(a) = field(fields, &["sin_addr"], 2) {
        let want = ip_expr(a)?;
        if want != *got.ip() {
            return Ok(Some(format!(
                "{what}: the address is {}, the script expects {want}",
                got.ip()
            )));
        }
    }
    Ok(None)
}

/// The bytes of a write: a string literal's bytes or zeros, `len` long.
pub(super) fn data_arg(call: &Syscall, buf: usize, len: usize) -> Result<Vec<u8>, String> {
    let len = usize::try_from(int_arg(call, len)?)
        .map_err(|_| "negative length".to_string())?
        .min(MAX_BUF);
    let mut data = match arg(call, buf)? {
        Expr::Str(s) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    data.resize(len, 0);
    Ok(data)
}

/// Whether argument `i` is a null pointer (`NULL`): a C program's buffer the
/// kernel cannot copy to or from (EFAULT).
pub(super) fn null_arg(call: &Syscall, i: usize) -> bool {
    matches!(call.args.get(i), Some(Expr::Ident(n)) if n == "NULL")
}

pub(super) fn len_arg(call: &Syscall, i: usize) -> Result<usize, String> {
    Ok(usize::try_from(int_arg(call, i)?)
        .map_err(|_| "negative length".to_string())?
        .min(MAX_BUF))
}

pub(super) fn poll_bits(v: i64) -> String {
    if v == 0 {
        return "0".to_string();
    }
    let mut names: Vec<String> = crate::interp::consts::poll_names()
        .filter(|(_, b)| v & b != 0)
        .map(|(n, _)| n.to_string())
        .collect();
    let known = crate::interp::consts::poll_names().fold(0, |a, (_, b)| a | b);
    if v & !known != 0 {
        names.push(format!("0x{:x}", v & !known));
    }
    names.join("|")
}

pub(super) fn readiness_bits(r: Readiness) -> i64 {
    let mut b = 0;
    if r.readable {
        b |= 0x1 | 0x40;
    }
    if r.writable {
        b |= 0x4 | 0x100;
    }
    if r.urgent {
        b |= 0x2;
    }
    if r.error {
        b |= 0x8;
    }
    if r.hangup {
        b |= 0x10;
    }
    b
}

/// The call as written, with `ret` as its result (for messages).
pub(super) fn with_result(call: &Syscall, ret: &Result<i64, &'static str>) -> String {
    let result = match ret {
        Ok(v) => SyscallResult {
            value: Expr::Int(*v),
            errno: None,
            note: None,
        },
        Err(e) => SyscallResult {
            value: Expr::Int(-1),
            errno: Some(e.to_string()),
            note: Some(errno_text(e).to_string()),
        },
    };
    Syscall {
        result,
        ..call.clone()
    }
    .to_string()
}
