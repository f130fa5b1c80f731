//! Prints syntax trees back in script syntax.
//!
//! Every AST type implements [`Display`]; the output parses back to the same
//! tree (`parse(print(x)) == x`, up to [`Event::line`], whitespace and comments).
//! The interpreter uses this to show an expected packet next to the packet the
//! stack actually sent:
//!
//! ```
//! use drill::ast::*;
//! let p = Packet {
//!     direction: Direction::Outbound,
//!     addrs: None,
//!     ip: IpFields::default(),
//!     proto: PacketProto::Tcp(TcpPacket {
//!         flags: TcpFlags::SYN | TcpFlags::ACK,
//!         absolute: false,
//!         seq_start: 0,
//!         seq_end: 0,
//!         len: 0,
//!         ack: Some(1),
//!         win: Some(65535),
//!         urg: None,
//!         options: Some(vec![
//!             TcpOptionSpec::Mss(1460),
//!             TcpOptionSpec::SackPermitted,
//!             TcpOptionSpec::Timestamp { val: 1, ecr: 100 },
//!             TcpOptionSpec::Nop,
//!             TcpOptionSpec::WindowScale(7),
//!         ]),
//!     }),
//! };
//! assert_eq!(
//!     p.to_string(),
//!     "> S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 1 ecr 100,nop,wscale 7>"
//! );
//! ```

use std::fmt::{self, Display, Formatter, Write as _};

use crate::ast::*;

/// Formats microseconds as seconds the way scripts write them: `0`, `0.1`,
/// `1.000250`-style values without trailing zeros (`1.00025`).
pub fn format_micros(us: Micros) -> String {
    let (secs, frac) = (us / 1_000_000, us % 1_000_000);
    if frac == 0 {
        secs.to_string()
    } else {
        let f = format!("{frac:06}");
        format!("{secs}.{}", f.trim_end_matches('0'))
    }
}

/// Writes `s` as a double-quoted literal with the escapes the lexer reads.
fn write_quoted(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            // Control characters are all below U+0100, so \xNN covers them.
            c if c.is_control() => write!(f, "\\x{:02x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

fn write_list<T: Display>(f: &mut Formatter<'_>, items: &[T], sep: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for Script {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.options {
            write!(f, "--{name}")?;
            if value.starts_with('"') || value.contains(char::is_whitespace) {
                f.write_char('=')?;
                write_quoted(f, value)?;
            } else if !value.is_empty() {
                write!(f, "={value}")?;
            }
            f.write_char('\n')?;
        }
        for event in &self.events {
            writeln!(f, "{event}")?;
        }
        Ok(())
    }
}

impl Display for Event {
    /// `+0...0.2 accept(3, ..., ...) = 4`, `+0.1 > . 1:1(0) ack 1`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.time)?;
        if let EventKind::Syscall(Syscall { end: Some(end), .. }) = &self.kind {
            write!(f, "...{}", format_micros(*end))?;
        }
        write!(f, " {}", self.kind)
    }
}

impl Display for EventTime {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match *self {
            EventTime::Absolute(t) => f.write_str(&format_micros(t)),
            EventTime::Relative(t) => write!(f, "+{}", format_micros(t)),
            EventTime::Any => f.write_char('*'),
            EventTime::AbsoluteRange { start, end } => {
                write!(f, "{}~{}", format_micros(start), format_micros(end))
            }
            EventTime::RelativeRange { start, end } => {
                write!(f, "+{}~+{}", format_micros(start), format_micros(end))
            }
        }
    }
}

impl Display for EventKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            EventKind::Syscall(s) => s.fmt(f),
            EventKind::Packet(p) => p.fmt(f),
        }
    }
}

impl Display for Syscall {
    /// The call without its time stamp or blocking end time:
    /// `connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        write_list(f, &self.args, ", ")?;
        write!(f, ") = {}", self.result)
    }
}

impl Display for SyscallResult {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)?;
        if let Some(errno) = &self.errno {
            write!(f, " {errno}")?;
        }
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Ellipsis => f.write_str("..."),
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Ident(s) => f.write_str(s),
            Expr::Str(s) => write_quoted(f, s),
            Expr::Or(ops) => write_list(f, ops, "|"),
            Expr::Array(items) => {
                f.write_char('[')?;
                write_list(f, items, ", ")?;
                f.write_char(']')
            }
            Expr::Struct(fields) => {
                f.write_char('{')?;
                write_list(f, fields, ", ")?;
                f.write_char('}')
            }
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                write_list(f, args, ", ")?;
                f.write_char(')')
            }
        }
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            write!(f, "{name}=")?;
        }
        write!(f, "{}", self.value)
    }
}

impl Display for Direction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char(match self {
            Direction::Inbound => '<',
            Direction::Outbound => '>',
        })
    }
}

impl Display for Endpoints {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(a) = self.src_addr {
            write!(f, "{a}:")?;
        }
        write!(f, "{} > ", self.src_port)?;
        if let Some(a) = self.dst_addr {
            write!(f, "{a}:")?;
        }
        write!(f, "{}", self.dst_port)
    }
}

impl Display for Packet {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.direction)?;
        if self.ip.not_ect {
            write!(f, " [noecn]")?;
        }
        match (self.ip.tos, self.ip.ttl) {
            (Some(tos), Some(ttl)) => write!(f, " (tos {tos:#04x}, ttl {ttl})")?,
            (Some(tos), None) => write!(f, " (tos {tos:#04x})")?,
            (None, Some(ttl)) => write!(f, " (ttl {ttl})")?,
            (None, None) => {}
        }
        if let Some(addrs) = &self.addrs {
            write!(f, " {addrs}")?;
        }
        write!(f, " {}", self.proto)
    }
}

impl Display for PacketProto {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PacketProto::Tcp(t) => t.fmt(f),
            PacketProto::Udp(u) => u.fmt(f),
            PacketProto::Icmp(i) => i.fmt(f),
        }
    }
}

impl Display for TcpFlags {
    /// Letters in the order `FSRPUEW` followed by `.` for ACK; `-` for none.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if *self == TcpFlags::NONE {
            return f.write_char('-');
        }
        for (c, flag) in FLAG_LETTERS {
            if self.contains(flag) {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

impl Display for TcpPacket {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}:{}({}){}",
            self.flags,
            self.seq_start,
            self.seq_end,
            self.len,
            if self.absolute { "!" } else { "" }
        )?;
        if let Some(ack) = self.ack {
            write!(f, " ack {ack}")?;
        }
        if let Some(win) = self.win {
            write!(f, " win {win}")?;
        }
        if let Some(urg) = self.urg {
            write!(f, " urg {urg}")?;
        }
        match &self.options {
            None => f.write_str(" <...>"),
            Some(opts) if opts.is_empty() => Ok(()),
            Some(opts) => {
                f.write_str(" <")?;
                write_list(f, opts, ",")?;
                f.write_char('>')
            }
        }
    }
}

impl Display for TcpOptionSpec {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TcpOptionSpec::Nop => f.write_str("nop"),
            TcpOptionSpec::Eol => f.write_str("eol"),
            TcpOptionSpec::Mss(v) => write!(f, "mss {v}"),
            TcpOptionSpec::WindowScale(v) => write!(f, "wscale {v}"),
            TcpOptionSpec::SackPermitted => f.write_str("sackOK"),
            TcpOptionSpec::Sack(blocks) => {
                f.write_str("sack")?;
                for (l, r) in blocks {
                    write!(f, " {l}:{r}")?;
                }
                Ok(())
            }
            TcpOptionSpec::Timestamp { val, ecr } => write!(f, "TS val {val} ecr {ecr}"),
            TcpOptionSpec::FastOpen {
                cookie,
                experimental,
            } => {
                f.write_str(if *experimental { "FOEXP" } else { "FO" })?;
                if !cookie.is_empty() {
                    f.write_str(" ")?;
                    for b in cookie {
                        write!(f, "{b:02x}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl Display for UdpPacket {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "udp ({})", self.len)
    }
}

impl Display for IcmpPacket {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "icmp {}", self.icmp_type)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(mtu) = self.mtu {
            write!(f, " mtu {mtu}")?;
        }
        if let Some(q) = &self.quoted {
            write!(f, " [{q}]")?;
        }
        Ok(())
    }
}

impl Display for IcmpQuoted {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            IcmpQuoted::Tcp {
                seq_start,
                seq_end,
                len,
            } => write!(f, "{seq_start}:{seq_end}({len})"),
            IcmpQuoted::Udp { len } => write!(f, "udp ({len})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_format() {
        assert_eq!(format_micros(0), "0");
        assert_eq!(format_micros(100_000), "0.1");
        assert_eq!(format_micros(1_000_250), "1.00025");
        assert_eq!(format_micros(3_000_000), "3");
    }

    #[test]
    fn expr_format() {
        let e = Expr::Array(vec![Expr::Struct(vec![
            Field::named("fd", Expr::Int(3)),
            Field::named(
                "events",
                Expr::Or(vec![
                    Expr::Ident("POLLIN".into()),
                    Expr::Ident("POLLOUT".into()),
                ]),
            ),
        ])]);
        assert_eq!(e.to_string(), "[{fd=3, events=POLLIN|POLLOUT}]");
        assert_eq!(
            Expr::Str("a\"\\\n\x01".into()).to_string(),
            r#""a\"\\\n\x01""#
        );
    }
}
