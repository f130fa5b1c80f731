//! A hand-written recursive-descent parser over the tokens of [`crate::lexer`].
//!
//! Newlines are not tokens, but the parser uses token lines for two rules:
//! one event per line (anything after a complete event on the same line is an
//! error), and the optional tails of a line (a TCP option list, an errno, a
//! note, TCP fields) must start on that line. Errors that find the next token
//! on a later line are reported at the end of the current line.

mod expr;
mod packet;

use std::fmt;
use std::net::Ipv4Addr;

use crate::ast::*;
use crate::lexer::{tokenize, Token, TokenKind};

/// A syntax error with its 1-based position.
///
/// Displayed as `file:line:column: message` when a file name is attached
/// (see [`ParseError::with_file`] and [`parse_named`]), `line:column: message`
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong, e.g. `expected ')' after arguments, found ';'`.
    pub message: String,
    /// The script's name, if known.
    pub file: Option<String>,
}

impl ParseError {
    /// An error at `line:column` with no file name.
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError {
            line,
            column,
            message: message.into(),
            file: None,
        }
    }

    /// The same error, attributed to the script `file`.
    pub fn with_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole script.
pub fn parse(source: &str) -> Result<Script, ParseError> {
    Parser::new(source).script()
}

/// Parses a whole script, attributing errors to `file`.
pub fn parse_named(file: &str, source: &str) -> Result<Script, ParseError> {
    parse(source).map_err(|e| e.with_file(file))
}

/// Deepest nesting of `[`, `{` and calls in an expression.
const MAX_DEPTH: usize = 32;

/// Errno names accepted after a `-1` result (Linux names and aliases).
const KNOWN_ERRNOS: &[&str] = &[
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "EWOULDBLOCK",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "EDEADLOCK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "ENOTSUP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
    "ENOKEY",
    "EKEYEXPIRED",
    "EKEYREVOKED",
    "EKEYREJECTED",
    "EOWNERDEAD",
    "ENOTRECOVERABLE",
    "ERFKILL",
    "EHWPOISON",
];

/// Whether `name` is an errno name the parser accepts (`EINPROGRESS`, ...).
pub fn is_known_errno(name: &str) -> bool {
    KNOWN_ERRNOS.contains(&name)
}

type PResult<T> = Result<T, ParseError>;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
}

fn describe(t: &Token) -> String {
    match &t.kind {
        TokenKind::Number(s) | TokenKind::Ident(s) => format!("'{s}'"),
        TokenKind::Str(_) => "a string".to_string(),
        TokenKind::OptionLine { name, .. } => format!("option '--{name}'"),
        TokenKind::Ellipsis => "'...'".to_string(),
        TokenKind::Punct(c) => format!("'{c}'"),
        TokenKind::Unknown(c) => format!("character {c:?}"),
        TokenKind::Error(e) => e.message.clone(),
        TokenKind::Eof => "end of file".to_string(),
    }
}

/// Parses a time literal (`0`, `.1`, `0.100`, `2.5`) into microseconds.
fn parse_micros(s: &str) -> Result<Micros, String> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !(digits(int) || (int.is_empty() && frac.is_some())) {
        return Err(format!("invalid time '{s}'"));
    }
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse()
            .map_err(|_| format!("time '{s}' is too large"))?
    };
    let mut us = whole
        .checked_mul(1_000_000)
        .ok_or_else(|| format!("time '{s}' is too large"))?;
    if let Some(frac) = frac {
        if !digits(frac) {
            return Err(format!("invalid time '{s}'"));
        }
        if frac.len() > 6 {
            return Err(format!(
                "time '{s}' is more precise than a microsecond (at most 6 decimals)"
            ));
        }
        let scaled: u64 = format!("{frac:0<6}")
            .parse()
            .map_err(|_| format!("invalid time '{s}'"))?;
        us = us
            .checked_add(scaled)
            .ok_or_else(|| format!("time '{s}' is too large"))?;
    }
    Ok(us)
}

/// Parses a decimal or `0x` hex unsigned integer literal.
fn parse_uint(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(hex, 16).ok()
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn is_number_literal(s: &str) -> bool {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .map_or(s.bytes().all(|b| b.is_ascii_digit()), |h| {
            h.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            toks: tokenize(src),
            pos: 0,
            depth: 0,
        }
    }

    // ---- token access -------------------------------------------------------

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> &Token {
        let last = self.toks.len() - 1;
        &self.toks[(self.pos + n).min(last)]
    }

    fn advance(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn prev(&self) -> Option<&Token> {
        self.pos.checked_sub(1).and_then(|i| self.toks.get(i))
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().kind == TokenKind::Punct(c)
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(&self.peek().kind, TokenKind::Ident(s) if s == word)
    }

    /// Whether the next token starts on the line where the previous one ended.
    fn on_same_line(&self) -> bool {
        let t = self.peek();
        !matches!(t.kind, TokenKind::Eof | TokenKind::Error(_))
            && self.prev().is_none_or(|p| p.line == t.line)
    }

    // ---- errors -------------------------------------------------------------

    fn err_at(&self, t: &Token, message: impl Into<String>) -> ParseError {
        ParseError::new(t.line, t.col, message)
    }

    /// "expected WHAT, found X", placed at X, or at the end of the line when X
    /// is on a later line. A pending lexical error wins.
    fn expected(&self, what: &str) -> ParseError {
        let t = self.peek();
        if let TokenKind::Error(e) = &t.kind {
            return e.clone();
        }
        match self.prev() {
            Some(p) if matches!(t.kind, TokenKind::Eof) || p.line != t.line => {
                let found = if matches!(t.kind, TokenKind::Eof) {
                    "end of file"
                } else {
                    "end of line"
                };
                ParseError::new(p.line, p.end_col, format!("expected {what}, found {found}"))
            }
            _ => self.err_at(t, format!("expected {what}, found {}", describe(t))),
        }
    }

    /// "expected WHAT, found X", placed at X even on a later line (for the
    /// start of an event, which is expected on a new line).
    fn expected_here(&self, what: &str) -> ParseError {
        let t = self.peek();
        match &t.kind {
            TokenKind::Error(e) => e.clone(),
            _ => self.err_at(t, format!("expected {what}, found {}", describe(t))),
        }
    }

    fn expect_punct(&mut self, c: char, what: &str) -> PResult<Token> {
        if self.is_punct(c) {
            Ok(self.advance())
        } else {
            Err(self.expected(what))
        }
    }

    fn expect_keyword(&mut self, word: &str, what: &str) -> PResult<Token> {
        if self.is_ident(word) {
            Ok(self.advance())
        } else {
            Err(self.expected(what))
        }
    }

    fn expect_number(&mut self, what: &str) -> PResult<(Token, String)> {
        if let TokenKind::Number(s) = &self.peek().kind {
            let s = s.clone();
            Ok((self.advance(), s))
        } else {
            Err(self.expected(what))
        }
    }

    /// An unsigned integer no larger than `max`.
    fn uint(&mut self, what: &str, max: u64) -> PResult<u64> {
        let (tok, s) = self.expect_number(what)?;
        match parse_uint(&s) {
            Some(v) if v <= max => Ok(v),
            Some(_) => Err(self.err_at(&tok, format!("{what} {s} is out of range (0..={max})"))),
            None if is_number_literal(&s) => {
                Err(self.err_at(&tok, format!("{what} {s} is out of range (0..={max})")))
            }
            None => Err(self.err_at(&tok, format!("invalid {what} '{s}'"))),
        }
    }

    fn u32(&mut self, what: &str) -> PResult<u32> {
        self.uint(what, u32::MAX.into())
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn u16(&mut self, what: &str) -> PResult<u16> {
        self.uint(what, u16::MAX.into())
            .map(|v| u16::try_from(v).unwrap_or(u16::MAX))
    }

    fn u8(&mut self, what: &str) -> PResult<u8> {
        self.uint(what, u8::MAX.into())
            .map(|v| u8::try_from(v).unwrap_or(u8::MAX))
    }

    fn time_value(&mut self, what: &str) -> PResult<(Token, Micros)> {
        let (tok, s) = self.expect_number(what)?;
        let us = parse_micros(&s).map_err(|m| self.err_at(&tok, m))?;
        Ok((tok, us))
    }

    // ---- script and events --------------------------------------------------

    fn script(&mut self) -> PResult<Script> {
        let mut script = Script::default();
        while let TokenKind::OptionLine { name, value } = &self.peek().kind {
            script.options.push((name.clone(), value.clone()));
            self.advance();
        }
        loop {
            let t = self.peek();
            match &t.kind {
                TokenKind::Eof => return Ok(script),
                TokenKind::Error(e) => return Err(e.clone()),
                TokenKind::OptionLine { name, .. } => {
                    return Err(self.err_at(
                        t,
                        format!("option '--{name}' must come before the first event"),
                    ))
                }
                _ => {}
            }
            let event = self.event()?;
            script.events.push(event);
            let t = self.peek();
            if let TokenKind::Error(e) = &t.kind {
                return Err(e.clone());
            }
            if self.on_same_line() {
                return Err(self.err_at(
                    t,
                    format!(
                        "unexpected {} after the end of the event (one event per line)",
                        describe(t)
                    ),
                ));
            }
        }
    }

    fn event(&mut self) -> PResult<Event> {
        let time_tok = self.peek().clone();
        let time = self.event_time()?;
        let t = self.peek();
        let kind = match &t.kind {
            TokenKind::Punct('<') | TokenKind::Punct('>') => EventKind::Packet(self.packet()?),
            TokenKind::Ident(_) | TokenKind::Ellipsis => EventKind::Syscall(self.syscall(time)?),
            _ => {
                return Err(
                    self.expected("a packet ('<' or '>') or a system call after the event time")
                )
            }
        };
        let outbound = matches!(
            &kind,
            EventKind::Packet(Packet {
                direction: Direction::Outbound,
                ..
            })
        );
        if !outbound {
            match time {
                EventTime::Any => {
                    return Err(self.err_at(
                        &time_tok,
                        "'*' (any time) is only allowed on outbound '>' packets",
                    ))
                }
                EventTime::AbsoluteRange { .. } | EventTime::RelativeRange { .. } => {
                    return Err(self.err_at(
                        &time_tok,
                        "time ranges are only allowed on outbound '>' packets",
                    ))
                }
                _ => {}
            }
        }
        Ok(Event {
            line: time_tok.line,
            time,
            kind,
        })
    }

    fn event_time(&mut self) -> PResult<EventTime> {
        let what = "an event time such as 0, 0.100, +0.1 or *";
        match &self.peek().kind {
            TokenKind::Punct('*') => {
                self.advance();
                Ok(EventTime::Any)
            }
            TokenKind::Punct('+') => {
                self.advance();
                let (_, start) = self.time_value("a time after '+'")?;
                if !self.is_punct('~') {
                    return Ok(EventTime::Relative(start));
                }
                self.advance();
                if !self.is_punct('+') {
                    return Err(
                        self.expected("'+' after '~' (a relative range is written +0.1~+0.2)")
                    );
                }
                self.advance();
                let (tok, end) = self.time_value("the end of the time range")?;
                if end < start {
                    return Err(self.err_at(&tok, "time range is backwards (end before start)"));
                }
                Ok(EventTime::RelativeRange { start, end })
            }
            TokenKind::Number(_) => {
                let (_, start) = self.time_value(what)?;
                if !self.is_punct('~') {
                    return Ok(EventTime::Absolute(start));
                }
                self.advance();
                if self.is_punct('+') {
                    return Err(self.err_at(
                        self.peek(),
                        "a time range must be all absolute (0.1~0.2) or all relative (+0.1~+0.2)",
                    ));
                }
                let (tok, end) = self.time_value("the end of the time range")?;
                if end < start {
                    return Err(self.err_at(&tok, "time range is backwards (end before start)"));
                }
                Ok(EventTime::AbsoluteRange { start, end })
            }
            _ => Err(self.expected_here(what)),
        }
    }

    // ---- system calls -------------------------------------------------------

    fn syscall(&mut self, time: EventTime) -> PResult<Syscall> {
        let mut end = None;
        if self.peek().kind == TokenKind::Ellipsis {
            self.advance();
            let (tok, e) = self.time_value("the return time of a blocking call after '...'")?;
            let start = match time {
                EventTime::Absolute(s) | EventTime::Relative(s) => s,
                _ => 0,
            };
            if e < start {
                return Err(self.err_at(
                    &tok,
                    "a blocking call cannot return before it starts (end time < start time)",
                ));
            }
            end = Some(e);
        }
        let name = match &self.peek().kind {
            TokenKind::Ident(n) => n.clone(),
            _ => return Err(self.expected("a system call name")),
        };
        self.advance();
        self.expect_punct('(', &format!("'(' after '{name}'"))?;
        let args = self.expr_list(')', "arguments")?;
        self.expect_punct(
            '=',
            &format!("'=' and the expected result after {name}(...)"),
        )?;
        let result = self.syscall_result()?;
        Ok(Syscall {
            end,
            name,
            args,
            result,
        })
    }

    fn syscall_result(&mut self) -> PResult<SyscallResult> {
        let value_tok = self.peek().clone();
        let value = self.expr()?;
        let mut errno = None;
        if self.on_same_line() {
            if let TokenKind::Ident(name) = &self.peek().kind {
                let name = name.clone();
                let tok = self.advance();
                let looks_like_errno = name.len() > 1
                    && name.starts_with('E')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !looks_like_errno {
                    return Err(self.err_at(
                        &tok,
                        format!("expected an errno name such as EAGAIN after the result, found '{name}'"),
                    ));
                }
                if !is_known_errno(&name) {
                    return Err(self.err_at(&tok, format!("unknown errno '{name}'")));
                }
                if value != Expr::Int(-1) {
                    return Err(self.err_at(
                        &value_tok,
                        format!("an errno ({name}) can only follow a -1 result"),
                    ));
                }
                errno = Some(name);
            } else if let TokenKind::Number(n) = &self.peek().kind {
                return Err(self.err_at(
                    self.peek(),
                    format!("expected an errno name such as EAGAIN after the result, found '{n}'"),
                ));
            }
        }
        let mut note = None;
        if self.on_same_line() && self.is_punct('(') {
            note = Some(self.note()?);
        }
        Ok(SyscallResult { value, errno, note })
    }

    /// `( free text )` on one line, with balanced inner parentheses; returns the
    /// text with whitespace runs collapsed. (A note may not run onto the next line:
    /// a `//` comment in it would hide its `)` once printed on one line.)
    fn note(&mut self) -> PResult<String> {
        let open = self.advance();
        let mut depth = 1usize;
        loop {
            let t = self.peek().clone();
            match &t.kind {
                TokenKind::Error(e) => return Err(e.clone()),
                TokenKind::Eof => {
                    return Err(self.err_at(&open, "unterminated note: '(' has no matching ')'"))
                }
                _ if t.line != open.line => {
                    return Err(self.err_at(
                        &open,
                        "unterminated note: '(' has no matching ')' on its line",
                    ))
                }
                TokenKind::Punct('(') => depth += 1,
                TokenKind::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        self.advance();
                        let raw = self.src.get(open.end..t.start).unwrap_or("");
                        return Ok(raw.split_whitespace().collect::<Vec<_>>().join(" "));
                    }
                }
                _ => {}
            }
            self.advance();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_ends_on_its_line() {
        let e = parse("0 close(3) = 0 (a // b\n)\n").unwrap_err();
        assert!(e.message.contains("on its line"), "{e}");
        assert!(parse("0 close(3) = 0 (see (RFC 793))\n").is_ok());
    }

    #[test]
    fn micros() {
        assert_eq!(parse_micros("0"), Ok(0));
        assert_eq!(parse_micros(".1"), Ok(100_000));
        assert_eq!(parse_micros("0.100"), Ok(100_000));
        assert_eq!(parse_micros("2.000001"), Ok(2_000_001));
        assert_eq!(parse_micros("12"), Ok(12_000_000));
        assert!(parse_micros("0.0000001").is_err());
        assert!(parse_micros("1.2.3").is_err());
        assert!(parse_micros("0x10").is_err());
        assert!(parse_micros("99999999999999999999").is_err());
    }

    #[test]
    fn uints() {
        assert_eq!(parse_uint("0x802"), Some(0x802));
        assert_eq!(parse_uint("65535"), Some(65535));
        assert_eq!(parse_uint("12a"), None);
        assert_eq!(parse_uint("0x"), None);
    }

    #[test]
    fn error_display() {
        let e = ParseError::new(12, 7, "expected ')' after arguments");
        assert_eq!(e.to_string(), "12:7: expected ')' after arguments");
        assert_eq!(
            e.with_file("script.pkt").to_string(),
            "script.pkt:12:7: expected ')' after arguments"
        );
    }
}
