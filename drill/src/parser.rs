//! A hand-written recursive-descent parser over the tokens of [`crate::lexer`].
//!
//! Newlines are not tokens, but the parser uses token lines for two rules:
//! one event per line (anything after a complete event on the same line is an
//! error), and the optional tails of a line (a TCP option list, an errno, a
//! note, TCP fields) must start on that line. Errors that find the next token
//! on a later line are reported at the end of the current line.

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

    /// `( free text )`, with balanced inner parentheses; returns the text with
    /// whitespace runs collapsed.
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

    // ---- expressions --------------------------------------------------------

    /// Comma-separated expressions up to `close` (the opening bracket has been
    /// consumed).
    fn expr_list(&mut self, close: char, what: &str) -> PResult<Vec<Expr>> {
        let mut items = Vec::new();
        if self.is_punct(close) {
            self.advance();
            return Ok(items);
        }
        loop {
            items.push(self.expr()?);
            if self.is_punct(',') {
                self.advance();
            } else if self.is_punct(close) {
                self.advance();
                return Ok(items);
            } else {
                return Err(self.expected(&format!("',' or '{close}' after {what}")));
            }
        }
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(self.err_at(self.peek(), "expression nested too deeply"))
        } else {
            self.or_expr()
        };
        self.depth -= 1;
        r
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let first = self.primary()?;
        if !self.is_punct('|') {
            return Ok(first);
        }
        let mut operands = vec![first];
        while self.is_punct('|') {
            self.advance();
            operands.push(self.primary()?);
        }
        Ok(Expr::Or(operands))
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        match &t.kind {
            TokenKind::Ellipsis => {
                self.advance();
                Ok(Expr::Ellipsis)
            }
            TokenKind::Punct('-') => {
                self.advance();
                let (tok, s) = self.expect_number("a number after '-'")?;
                let mag = parse_uint(&s).ok_or_else(|| self.int_error(&tok, &s))?;
                let v = 0i64
                    .checked_sub_unsigned(mag)
                    .ok_or_else(|| self.err_at(&tok, format!("integer -{s} is out of range")))?;
                Ok(Expr::Int(v))
            }
            TokenKind::Number(s) => {
                self.advance();
                let v = parse_uint(s).ok_or_else(|| self.int_error(&t, s))?;
                let v = i64::try_from(v)
                    .map_err(|_| self.err_at(&t, format!("integer {s} is out of range")))?;
                Ok(Expr::Int(v))
            }
            TokenKind::Str(s) => {
                let mut s = s.clone();
                self.advance();
                while let TokenKind::Str(more) = &self.peek().kind {
                    s.push_str(more);
                    self.advance();
                }
                Ok(Expr::Str(s))
            }
            TokenKind::Ident(name) => {
                self.advance();
                let next = self.peek();
                if next.kind == TokenKind::Punct('(') && next.start == t.end {
                    self.advance();
                    let args = self.expr_list(')', "arguments")?;
                    Ok(Expr::Call {
                        name: name.clone(),
                        args,
                    })
                } else {
                    Ok(Expr::Ident(name.clone()))
                }
            }
            TokenKind::Punct('[') => {
                self.advance();
                Ok(Expr::Array(self.expr_list(']', "array element")?))
            }
            TokenKind::Punct('{') => {
                self.advance();
                self.struct_fields()
            }
            _ => Err(self.expected("an expression")),
        }
    }

    fn int_error(&self, tok: &Token, s: &str) -> ParseError {
        if is_number_literal(s) {
            self.err_at(tok, format!("integer {s} is out of range"))
        } else {
            self.err_at(tok, format!("invalid integer '{s}'"))
        }
    }

    fn struct_fields(&mut self) -> PResult<Expr> {
        let mut fields = Vec::new();
        if self.is_punct('}') {
            self.advance();
            return Ok(Expr::Struct(fields));
        }
        loop {
            let named = match (&self.peek().kind, &self.peek_at(1).kind) {
                (TokenKind::Ident(n), TokenKind::Punct('=')) => Some(n.clone()),
                _ => None,
            };
            if named.is_some() {
                self.advance();
                self.advance();
            }
            let value = self.expr()?;
            fields.push(Field { name: named, value });
            if self.is_punct(',') {
                self.advance();
            } else if self.is_punct('}') {
                self.advance();
                return Ok(Expr::Struct(fields));
            } else {
                return Err(self.expected("',' or '}' after struct field"));
            }
        }
    }

    // ---- packets ------------------------------------------------------------

    fn packet(&mut self) -> PResult<Packet> {
        let dir_tok = self.advance();
        let direction = if dir_tok.kind == TokenKind::Punct('<') {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let mut addrs = None;
        if matches!(self.peek().kind, TokenKind::Number(_)) {
            addrs = Some(self.endpoints()?);
        }
        let proto = if self.is_ident("udp") {
            self.advance();
            if matches!(self.peek().kind, TokenKind::Number(_)) {
                if addrs.is_some() {
                    return Err(self.err_at(self.peek(), "ports are already given before 'udp'"));
                }
                addrs = Some(self.endpoints()?);
            }
            self.expect_punct('(', "'(' and the UDP payload length after 'udp'")?;
            let len = self.u16("UDP payload length")?;
            self.expect_punct(')', "')' after the UDP payload length")?;
            PacketProto::Udp(UdpPacket { len })
        } else if self.is_ident("icmp") {
            self.advance();
            PacketProto::Icmp(self.icmp()?)
        } else {
            PacketProto::Tcp(self.tcp(direction)?)
        };
        Ok(Packet {
            direction,
            addrs,
            proto,
        })
    }

    fn endpoint(&mut self) -> PResult<(Option<Ipv4Addr>, u16)> {
        let t = self.peek().clone();
        if let TokenKind::Number(s) = &t.kind {
            if s.contains('.') {
                self.advance();
                let addr: Ipv4Addr = s
                    .parse()
                    .map_err(|_| self.err_at(&t, format!("invalid IPv4 address '{s}'")))?;
                self.expect_punct(':', "':' and a port after the address")?;
                let port = self.u16("port")?;
                return Ok((Some(addr), port));
            }
        }
        Ok((None, self.u16("port")?))
    }

    fn endpoints(&mut self) -> PResult<Endpoints> {
        let (src_addr, src_port) = self.endpoint()?;
        self.expect_punct('>', "'>' between the source and destination ports")?;
        let (dst_addr, dst_port) = self.endpoint()?;
        Ok(Endpoints {
            src_addr,
            src_port,
            dst_addr,
            dst_port,
        })
    }

    fn tcp_flags(&mut self) -> PResult<TcpFlags> {
        let first = self.peek().clone();
        let flag_tok = |k: &TokenKind| {
            matches!(
                k,
                TokenKind::Ident(_) | TokenKind::Punct('.') | TokenKind::Punct('-')
            )
        };
        if !flag_tok(&first.kind) {
            return Err(self.expected("TCP flags (such as S, S., P., F., R or .), 'udp' or 'icmp'"));
        }
        // Flags are one word, but `S.` lexes as `S` `.`: glue adjacent tokens.
        let mut text = String::new();
        let mut end = first.start;
        while flag_tok(&self.peek().kind) && self.peek().start == end {
            let t = self.advance();
            end = t.end;
            text.push_str(self.src.get(t.start..t.end).unwrap_or(""));
        }
        if text == "-" {
            return Ok(TcpFlags::NONE);
        }
        let mut flags = TcpFlags::NONE;
        for (i, c) in text.chars().enumerate() {
            let col = first.col + i;
            let flag = match c {
                '-' => {
                    return Err(ParseError::new(
                        first.line,
                        col,
                        "'-' (no flags) cannot be combined with other flags",
                    ))
                }
                c => TcpFlags::from_letter(c).ok_or_else(|| {
                    ParseError::new(
                        first.line,
                        col,
                        format!("unknown TCP flag '{c}' (expected F, S, R, P, U, E, W or .)"),
                    )
                })?,
            };
            if flags.contains(flag) {
                return Err(ParseError::new(
                    first.line,
                    col,
                    format!("duplicate TCP flag '{c}'"),
                ));
            }
            flags |= flag;
        }
        Ok(flags)
    }

    /// `start:end(len)`; returns (start, end, len) after checking end-start==len.
    fn seq_range(&mut self) -> PResult<(u32, u32, u16)> {
        let start_tok = self.peek().clone();
        let start = self.u32("sequence number")?;
        self.expect_punct(':', "':' in start:end(length)")?;
        let end = self.u32("end sequence number")?;
        self.expect_punct('(', "'(' and the payload length in start:end(length)")?;
        let len = self.u16("payload length")?;
        self.expect_punct(')', "')' after the payload length")?;
        if end < start {
            return Err(self.err_at(
                &start_tok,
                format!("sequence range {start}:{end} ends before it starts"),
            ));
        }
        if u64::from(end) - u64::from(start) != u64::from(len) {
            return Err(self.err_at(
                &start_tok,
                format!(
                    "sequence range {start}:{end} covers {} bytes but the length is ({len})",
                    end - start
                ),
            ));
        }
        Ok((start, end, len))
    }

    fn tcp(&mut self, direction: Direction) -> PResult<TcpPacket> {
        let flags = self.tcp_flags()?;
        let (seq_start, seq_end, len) = self.seq_range()?;
        let mut pkt = TcpPacket {
            flags,
            seq_start,
            seq_end,
            len,
            ack: None,
            win: None,
            urg: None,
            options: Some(Vec::new()),
        };
        while self.on_same_line() {
            let t = self.peek().clone();
            match &t.kind {
                TokenKind::Ident(f) if f == "ack" || f == "win" || f == "urg" => {
                    self.advance();
                    let dup = match f.as_str() {
                        "ack" => pkt.ack.replace(self.u32("ack number")?).is_some(),
                        "win" => pkt.win.replace(self.u16("window")?).is_some(),
                        _ => pkt.urg.replace(self.u16("urgent pointer")?).is_some(),
                    };
                    if dup {
                        return Err(self.err_at(&t, format!("duplicate '{f}' field")));
                    }
                }
                TokenKind::Ident(f) => {
                    return Err(self.err_at(
                        &t,
                        format!("unknown TCP field '{f}' (expected ack, win, urg or <options>)"),
                    ))
                }
                TokenKind::Punct('<') => {
                    pkt.options = self.tcp_options(direction)?;
                    break;
                }
                _ => break,
            }
        }
        Ok(pkt)
    }

    fn tcp_options(&mut self, direction: Direction) -> PResult<Option<Vec<TcpOptionSpec>>> {
        let open = self.advance();
        if self.peek().kind == TokenKind::Ellipsis {
            self.advance();
            self.expect_punct('>', "'>' after '<...'")?;
            if direction == Direction::Inbound {
                return Err(self.err_at(
                    &open,
                    "'<...>' (don't check options) is only allowed on outbound '>' packets",
                ));
            }
            return Ok(None);
        }
        let mut opts = Vec::new();
        if self.is_punct('>') {
            self.advance();
            return Ok(Some(opts));
        }
        loop {
            opts.push(self.tcp_option()?);
            if self.is_punct(',') {
                self.advance();
            } else if self.is_punct('>') {
                self.advance();
                return Ok(Some(opts));
            } else {
                return Err(self.expected("',' or '>' in the TCP option list"));
            }
        }
    }

    fn tcp_option(&mut self) -> PResult<TcpOptionSpec> {
        let t = self.peek().clone();
        let TokenKind::Ident(name) = &t.kind else {
            return Err(self.expected("a TCP option (mss, wscale, sackOK, sack, TS, nop, eol)"));
        };
        self.advance();
        Ok(match name.as_str() {
            "nop" => TcpOptionSpec::Nop,
            "eol" => TcpOptionSpec::Eol,
            "sackOK" => TcpOptionSpec::SackPermitted,
            "mss" => TcpOptionSpec::Mss(self.u16("mss")?),
            "wscale" => TcpOptionSpec::WindowScale(self.u8("wscale")?),
            "sack" => {
                let mut blocks = Vec::new();
                loop {
                    let left = self.u32("SACK block start")?;
                    self.expect_punct(':', "':' in SACK block start:end")?;
                    let right = self.u32("SACK block end")?;
                    blocks.push((left, right));
                    if !matches!(self.peek().kind, TokenKind::Number(_)) {
                        break;
                    }
                }
                TcpOptionSpec::Sack(blocks)
            }
            "TS" => {
                self.expect_keyword("val", "'val' after 'TS'")?;
                let val = self.u32("TS val")?;
                self.expect_keyword("ecr", "'ecr' after the TS val")?;
                let ecr = self.u32("TS ecr")?;
                TcpOptionSpec::Timestamp { val, ecr }
            }
            other => {
                return Err(self.err_at(
                    &t,
                    format!(
                        "unknown TCP option '{other}' (expected mss, wscale, sackOK, sack, TS, nop or eol)"
                    ),
                ))
            }
        })
    }

    fn icmp(&mut self) -> PResult<IcmpPacket> {
        let icmp_type = match &self.peek().kind {
            TokenKind::Ident(s) if self.on_same_line() => s.clone(),
            _ => return Err(self.expected("an ICMP type such as 'unreachable'")),
        };
        self.advance();
        let mut pkt = IcmpPacket {
            icmp_type,
            code: None,
            mtu: None,
            quoted: None,
        };
        if self.on_same_line() {
            if let TokenKind::Ident(s) = &self.peek().kind {
                if s != "mtu" {
                    pkt.code = Some(s.clone());
                    self.advance();
                }
            }
        }
        if self.on_same_line() && self.is_ident("mtu") {
            self.advance();
            pkt.mtu = Some(self.u16("mtu")?);
        }
        if self.on_same_line() && self.is_punct('[') {
            self.advance();
            if self.is_ident("udp") {
                self.advance();
                self.expect_punct('(', "'(' and the UDP payload length after 'udp'")?;
                let len = self.u16("UDP payload length")?;
                self.expect_punct(')', "')' after the UDP payload length")?;
                pkt.quoted = Some(IcmpQuoted::Udp { len });
            } else {
                let (seq_start, seq_end, len) = self.seq_range()?;
                pkt.quoted = Some(IcmpQuoted::Tcp {
                    seq_start,
                    seq_end,
                    len,
                });
            }
            self.expect_punct(']', "']' after the quoted packet")?;
        }
        Ok(pkt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
