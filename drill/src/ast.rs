//! The syntax tree of a packet script.
//!
//! Everything here is plain data produced by [`crate::parse`] and printed back
//! by the [`Display`](std::fmt::Display) impls in [`crate::print`](mod@crate::print). Numbers keep
//! the width of the wire field they describe (`win` is a `u16`, sequence numbers
//! are `u32`) so the parser can report out-of-range values with a position.

use std::net::Ipv4Addr;

/// A duration or instant in microseconds of script time.
pub type Micros = u64;

/// A whole parsed script.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Script {
    /// Option lines at the top (`--mss=1000` gives `("mss", "1000")`), in order.
    /// An option written without `=` has an empty value.
    pub options: Vec<(String, String)>,
    /// The timed events, in script order.
    pub events: Vec<Event>,
}

impl Script {
    /// The value of the last option called `name` (without the leading `--`).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One timed line of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// 1-based line of the event's time stamp.
    pub line: usize,
    /// When the event happens.
    pub time: EventTime,
    /// What happens.
    pub kind: EventKind,
}

/// The time stamp that starts every event, in microseconds.
///
/// Relative times count from the time of the previous event. The parser only
/// accepts [`EventTime::Any`] and the range forms on outbound (`>`) packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTime {
    /// `0.100`: this many microseconds after the start of the script.
    Absolute(Micros),
    /// `+0.1`: this many microseconds after the previous event.
    Relative(Micros),
    /// `*`: any time (outbound packets only).
    Any,
    /// `0.1~0.2`: an absolute window, `start <= end` (outbound packets only).
    AbsoluteRange {
        /// Earliest time.
        start: Micros,
        /// Latest time.
        end: Micros,
    },
    /// `+0.1~+0.2`: a window relative to the previous event, `start <= end`
    /// (outbound packets only).
    RelativeRange {
        /// Earliest offset.
        start: Micros,
        /// Latest offset.
        end: Micros,
    },
}

/// The action of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A system call made by the script and its expected result.
    Syscall(Syscall),
    /// A packet injected into (`<`) or expected from (`>`) the stack.
    Packet(Packet),
}

/// A system call line: `name(args) = result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// For a blocking call written `+0...0.200 accept(...)`, the time the call
    /// must return (`0.200` here). It is measured on the same base as the
    /// event's start time: from the previous event when the start is
    /// [`EventTime::Relative`], from the script start when it is
    /// [`EventTime::Absolute`]. `None` for an ordinary, non-blocking call.
    pub end: Option<Micros>,
    /// The call's name, as written (`accept`, `setsockopt`, ...).
    pub name: String,
    /// The arguments, in order.
    pub args: Vec<Expr>,
    /// The expected result.
    pub result: SyscallResult,
}

/// The right-hand side of a system call: `= 4`, `= -1 EAGAIN (text)`, `= ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallResult {
    /// The expected return value; [`Expr::Ellipsis`] means "don't check".
    pub value: Expr,
    /// The expected errno name (a known Linux errno such as `EINPROGRESS`);
    /// only allowed when `value` is `-1`.
    pub errno: Option<String>,
    /// The free text in parentheses after the result, whitespace-normalised.
    pub note: Option<String>,
}

/// An argument or result expression of a system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `...`: let the interpreter fill the value in / don't check it.
    Ellipsis,
    /// An integer literal, decimal or `0x` hex, possibly negative.
    Int(i64),
    /// A symbolic constant such as `SOCK_STREAM` or `O_NONBLOCK`.
    Ident(String),
    /// A string literal (adjacent literals are concatenated).
    Str(String),
    /// `A|B|C`: bitwise or of at least two operands, none of them an `Or`.
    Or(Vec<Expr>),
    /// `[1]`, `[{fd=3, events=POLLIN}]`: an array (or pointer to int).
    Array(Vec<Expr>),
    /// `{l_onoff=1, l_linger=0}`: a struct with named or positional fields.
    Struct(Vec<Field>),
    /// `htons(8080)`, `inet_addr("192.0.2.1")`: a function-like expression.
    /// The name is written directly before `(` with no space.
    Call {
        /// The function's name.
        name: String,
        /// Its arguments.
        args: Vec<Expr>,
    },
}

/// One field of an [`Expr::Struct`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `Some("l_onoff")` for `l_onoff=1`, `None` for a positional field.
    pub name: Option<String>,
    /// The field's value.
    pub value: Expr,
}

impl Field {
    /// A named field `name=value`.
    pub fn named(name: impl Into<String>, value: Expr) -> Self {
        Field {
            name: Some(name.into()),
            value,
        }
    }
}

/// Which way a packet goes, seen from the stack under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `<`: injected by the script (remote to us).
    Inbound,
    /// `>`: expected from the stack (us to remote).
    Outbound,
}

/// Explicit addresses and ports: `192.0.2.1:5000 > 192.168.0.1:8080`, or
/// ports only: `5000 > 8080`. Source first, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// Source address, if written.
    pub src_addr: Option<Ipv4Addr>,
    /// Source port.
    pub src_port: u16,
    /// Destination address, if written.
    pub dst_addr: Option<Ipv4Addr>,
    /// Destination port.
    pub dst_port: u16,
}

/// A packet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Injected or expected.
    pub direction: Direction,
    /// Explicit endpoints; `None` means the script's default connection.
    pub addrs: Option<Endpoints>,
    /// IP header fields the line gives (none: not checked, defaults injected).
    pub ip: IpFields,
    /// The transport part.
    pub proto: PacketProto,
}

/// IP header fields of a packet line, written after the direction:
/// `(tos 0x20)`, `(ttl 64)`, `(tos 0x20, ttl 64)`, `[noecn]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpFields {
    /// The whole TOS byte (DSCP and ECN bits).
    pub tos: Option<u8>,
    /// The time to live.
    pub ttl: Option<u8>,
    /// `[noecn]`: the ECN field is Not-ECT (zero).
    pub not_ect: bool,
}

/// The transport part of a packet line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PacketProto {
    /// A TCP segment.
    Tcp(TcpPacket),
    /// `udp (N)`: a UDP datagram with N payload bytes.
    Udp(UdpPacket),
    /// `icmp type [code] [mtu N] [[quoted]]`.
    Icmp(IcmpPacket),
}

/// A set of TCP header flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No flags (written `-` on its own).
    pub const NONE: TcpFlags = TcpFlags(0);
    /// `F`.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// `S`.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// `R`.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// `P`.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// `.`.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// `U`.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// `E` (ECN echo).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// `W` (congestion window reduced).
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// Whether every flag in `other` is set in `self`.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The flags' script letter, for a single flag.
    pub fn letter(self) -> Option<char> {
        FLAG_LETTERS
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(c, _)| *c)
    }

    /// The flag for a script letter.
    pub fn from_letter(c: char) -> Option<TcpFlags> {
        FLAG_LETTERS.iter().find(|(l, _)| *l == c).map(|(_, f)| *f)
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

/// Flag letters in the order they are printed (`.` last: `S.`, `FP.`).
pub(crate) const FLAG_LETTERS: [(char, TcpFlags); 8] = [
    ('F', TcpFlags::FIN),
    ('S', TcpFlags::SYN),
    ('R', TcpFlags::RST),
    ('P', TcpFlags::PSH),
    ('U', TcpFlags::URG),
    ('E', TcpFlags::ECE),
    ('W', TcpFlags::CWR),
    ('.', TcpFlags::ACK),
];

/// A TCP segment: `S. 0:0(0) ack 1 win 65535 <mss 1460>`.
///
/// Sequence and acknowledgment numbers are as written; whether they are
/// relative to the initial sequence numbers is the interpreter's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket {
    /// Header flags.
    pub flags: TcpFlags,
    /// `start:end(len)!`: the numbers are absolute, not relative to the
    /// connection's initial sequence number (a reset answering a SYN).
    pub absolute: bool,
    /// First sequence number (`start` of `start:end(len)`).
    pub seq_start: u32,
    /// `end` of `start:end(len)`; always `seq_start + len`.
    pub seq_end: u32,
    /// Payload length.
    pub len: u16,
    /// `ack N`, if written.
    pub ack: Option<u32>,
    /// `win N`; `None` (not written) means "don't check" on outbound packets.
    pub win: Option<u16>,
    /// `urg N` (the urgent pointer), if written.
    pub urg: Option<u16>,
    /// The option list. `Some(vec![])` when no `<...>` list is written (the
    /// segment has no options); `None` for a literal `<...>`, meaning "don't
    /// check options" (outbound packets only).
    pub options: Option<Vec<TcpOptionSpec>>,
}

/// One TCP option in a `<...>` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOptionSpec {
    /// `nop`.
    Nop,
    /// `eol`.
    Eol,
    /// `mss N`.
    Mss(u16),
    /// `wscale N`.
    WindowScale(u8),
    /// `sackOK`.
    SackPermitted,
    /// `sack a:b c:d ...`: one or more blocks `(left, right)`.
    Sack(Vec<(u32, u32)>),
    /// `TS val N ecr N`.
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
    /// `FO [hex]` (kind 34) or `FOEXP [hex]` (kind 254, magic 0xF989): a
    /// TCP Fast Open cookie, or a cookie request when empty (RFC 7413).
    FastOpen {
        /// The cookie bytes (empty: a request).
        cookie: Vec<u8>,
        /// The experimental form.
        experimental: bool,
    },
}

/// `udp (N)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpPacket {
    /// Payload length.
    pub len: u16,
}

/// `icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpPacket {
    /// The type name as written (`unreachable`, `echo_request`, ...).
    pub icmp_type: String,
    /// The code name as written (`port_unreachable`, `frag_needed`, ...).
    pub code: Option<String>,
    /// `mtu N` (next-hop MTU of a "fragmentation needed" message).
    pub mtu: Option<u16>,
    /// The quoted packet that caused the error, `[...]`.
    pub quoted: Option<IcmpQuoted>,
}

/// The offending packet quoted inside an ICMP error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpQuoted {
    /// `[start:end(len)]`: a TCP segment.
    Tcp {
        /// First sequence number.
        seq_start: u32,
        /// `seq_start + len`.
        seq_end: u32,
        /// Payload length.
        len: u16,
    },
    /// `[udp (N)]`: a UDP datagram with N payload bytes.
    Udp {
        /// Payload length.
        len: u16,
    },
}
