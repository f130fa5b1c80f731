//! Turns script text into tokens with positions.
//!
//! The lexer is context free. Numbers are kept as raw text (`0.100`,
//! `192.0.2.1`, `0x802`) and interpreted by the parser, which knows whether it
//! wants a time, an integer or an address. A dot starts a number only when a
//! digit follows, so `0...0.200` is `0`, `...`, `0.200` and `S.` is `S`, `.`.
//!
//! Errors that make further lexing meaningless (an unterminated comment or
//! string, a shell or python line) end the token stream with a
//! [`TokenKind::Error`], so the parser still reports any earlier syntax error
//! first.

use crate::parser::ParseError;

/// A token kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// Digits, letters and inner dots starting with a digit or `.digit`:
    /// `0`, `.1`, `0.100`, `0x802`, `192.0.2.1`.
    Number(String),
    /// `[A-Za-z_][A-Za-z0-9_]*`.
    Ident(String),
    /// A string literal with escapes resolved.
    Str(String),
    /// `--name` or `--name=value`.
    OptionLine {
        /// The name without `--`.
        name: String,
        /// The value, empty when there is no `=`.
        value: String,
    },
    /// `...`.
    Ellipsis,
    /// One of `( ) [ ] { } < > , = | : + - * ~ .`.
    Punct(char),
    /// Any other character; the parser reports it if it reaches it.
    Unknown(char),
    /// A lexical error that ends the stream.
    Error(ParseError),
    /// End of input.
    Eof,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: TokenKind,
    /// 1-based line of the first character.
    pub line: usize,
    /// 1-based column (in characters) of the first character.
    pub col: usize,
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset just past the last character.
    pub end: usize,
    /// 1-based column just past the last character (same line: tokens never
    /// span lines).
    pub end_col: usize,
}

const PUNCT: &[char] = &[
    '(', ')', '[', ']', '{', '}', '<', '>', ',', '=', '|', ':', '+', '-', '*', '~', '.',
];

struct Lexer<'a> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    line: usize,
    col: usize,
    /// Line of the last token and whether it was an option: `--` starts an
    /// option only at the start of a line or after another option.
    last: Option<(usize, bool)>,
}

/// Splits `src` into tokens. The last token is always [`TokenKind::Eof`] or
/// [`TokenKind::Error`].
pub fn tokenize(src: &str) -> Vec<Token> {
    let mut lx = Lexer {
        src,
        chars: src.char_indices().collect(),
        i: 0,
        line: 1,
        col: 1,
        last: None,
    };
    let mut out = Vec::new();
    loop {
        let tok = lx.next_token();
        lx.last = Some((tok.line, matches!(tok.kind, TokenKind::OptionLine { .. })));
        let done = matches!(tok.kind, TokenKind::Eof | TokenKind::Error(_));
        out.push(tok);
        if done {
            return out;
        }
    }
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.i).map_or(self.src.len(), |&(o, _)| o)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn error_at(&self, line: usize, col: usize, message: impl Into<String>) -> Token {
        let off = self.offset();
        Token {
            kind: TokenKind::Error(ParseError::new(line, col, message)),
            line,
            col,
            start: off,
            end: off,
            end_col: col,
        }
    }

    /// Skips whitespace and comments; returns an error token for an
    /// unterminated block comment.
    fn skip_trivia(&mut self) -> Option<Token> {
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while let Some(c) = self.peek(0) {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let (line, col) = (self.line, self.col);
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(0), self.peek(1)) {
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            (Some(_), _) => {
                                self.bump();
                            }
                            (None, _) => {
                                return Some(self.error_at(
                                    line,
                                    col,
                                    "unterminated comment: '/*' has no matching '*/'",
                                ));
                            }
                        }
                    }
                }
                _ => return None,
            }
        }
    }

    fn next_token(&mut self) -> Token {
        if let Some(err) = self.skip_trivia() {
            return err;
        }
        let (line, col, start) = (self.line, self.col, self.offset());
        let Some(c) = self.peek(0) else {
            return Token {
                kind: TokenKind::Eof,
                line,
                col,
                start,
                end: start,
                end_col: col,
            };
        };
        let kind = match c {
            '`' => {
                return self.error_at(line, col, "shell command lines (`...`) are not supported");
            }
            '%' if self.peek(1) == Some('{') => {
                return self.error_at(
                    line,
                    col,
                    "python code blocks (%{ ... }%) are not supported",
                );
            }
            '"' => match self.string(line, col) {
                Ok(s) => TokenKind::Str(s),
                Err(e) => return e,
            },
            '-' if self.peek(1) == Some('-')
                && self.last.is_none_or(|(l, opt)| l != line || opt) =>
            {
                match self.option_line(line, col) {
                    Ok(k) => k,
                    Err(e) => return e,
                }
            }
            '.' if self.peek(1) == Some('.') && self.peek(2) == Some('.') => {
                self.bump();
                self.bump();
                self.bump();
                TokenKind::Ellipsis
            }
            c if c.is_ascii_digit()
                || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                TokenKind::Number(self.number())
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut s = String::new();
                while let Some(c) = self.peek(0) {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        s.push(c);
                        self.bump();
                    } else {
                        break;
                    }
                }
                TokenKind::Ident(s)
            }
            c if PUNCT.contains(&c) => {
                self.bump();
                TokenKind::Punct(c)
            }
            c => {
                self.bump();
                TokenKind::Unknown(c)
            }
        };
        Token {
            kind,
            line,
            col,
            start,
            end: self.offset(),
            end_col: self.col,
        }
    }

    fn number(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek(0) {
            let more = c.is_ascii_alphanumeric()
                || c == '_'
                || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit()));
            if !more {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    /// Reads a `"..."` literal; the opening quote is at the current position.
    fn string(&mut self, line: usize, col: usize) -> Result<String, Token> {
        self.bump();
        let mut s = String::new();
        loop {
            let (eline, ecol) = (self.line, self.col);
            match self.bump() {
                None | Some('\n') => {
                    return Err(self.error_at(line, col, "unterminated string literal"));
                }
                Some('"') => return Ok(s),
                Some('\\') => {
                    let esc = self.bump();
                    match esc {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some('0') => s.push('\0'),
                        Some('\\') => s.push('\\'),
                        Some('"') => s.push('"'),
                        Some('\'') => s.push('\''),
                        Some('x') => {
                            let hex: String = (0..2).filter_map(|_| self.hex_digit()).collect();
                            match u8::from_str_radix(&hex, 16) {
                                Ok(b) if hex.len() == 2 => s.push(char::from(b)),
                                _ => {
                                    return Err(self.error_at(
                                        eline,
                                        ecol,
                                        "expected two hex digits after '\\x'",
                                    ))
                                }
                            }
                        }
                        other => {
                            let shown = match other {
                                Some(c) if !c.is_control() => format!("'\\{c}'"),
                                _ => "'\\'".to_string(),
                            };
                            return Err(self.error_at(
                                eline,
                                ecol,
                                format!("unknown escape {shown} in string literal"),
                            ));
                        }
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    fn hex_digit(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        if c.is_ascii_hexdigit() {
            self.bump();
            Some(c)
        } else {
            None
        }
    }

    /// Reads `--name[=value]`; the first `-` is at the current position.
    fn option_line(&mut self, line: usize, col: usize) -> Result<TokenKind, Token> {
        self.bump();
        self.bump();
        let mut name = String::new();
        while let Some(c) = self.peek(0) {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                name.push(c);
                self.bump();
            } else {
                break;
            }
        }
        if name.is_empty() {
            return Err(self.error_at(line, col, "expected an option name after '--'"));
        }
        let mut value = String::new();
        if self.peek(0) == Some('=') {
            self.bump();
            if self.peek(0) == Some('"') {
                let (l, c) = (self.line, self.col);
                value = self.string(l, c)?;
            } else {
                while let Some(c) = self.peek(0) {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    self.bump();
                }
            }
        }
        Ok(TokenKind::OptionLine { name, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        tokenize(src).into_iter().map(|t| t.kind).collect()
    }

    fn num(s: &str) -> TokenKind {
        TokenKind::Number(s.to_string())
    }

    #[test]
    fn blocking_time_splits_around_ellipsis() {
        assert_eq!(
            kinds("+0...0.200"),
            vec![
                TokenKind::Punct('+'),
                num("0"),
                TokenKind::Ellipsis,
                num("0.200"),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn flags_and_leading_dot_numbers() {
        assert_eq!(
            kinds("+.1 S. . 192.0.2.1:80"),
            vec![
                TokenKind::Punct('+'),
                num(".1"),
                TokenKind::Ident("S".into()),
                TokenKind::Punct('.'),
                TokenKind::Punct('.'),
                num("192.0.2.1"),
                TokenKind::Punct(':'),
                num("80"),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn comments_and_positions() {
        let toks = tokenize("/* a\n b */ x // y\n  z");
        assert_eq!((toks[0].line, toks[0].col), (2, 7));
        assert_eq!((toks[1].line, toks[1].col, toks[1].end_col), (3, 3, 4));
    }

    #[test]
    fn options_and_strings() {
        assert_eq!(
            kinds(r#"--mss=1000 --v --d="a b" "x\n\"y\x41""#),
            vec![
                TokenKind::OptionLine {
                    name: "mss".into(),
                    value: "1000".into()
                },
                TokenKind::OptionLine {
                    name: "v".into(),
                    value: String::new()
                },
                TokenKind::OptionLine {
                    name: "d".into(),
                    value: "a b".into()
                },
                TokenKind::Str("x\n\"yA".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn double_dash_is_an_option_only_at_line_start() {
        assert_eq!(
            kinds("--a=1 --b\n0 x -- y"),
            vec![
                TokenKind::OptionLine {
                    name: "a".into(),
                    value: "1".into()
                },
                TokenKind::OptionLine {
                    name: "b".into(),
                    value: String::new()
                },
                num("0"),
                TokenKind::Ident("x".into()),
                TokenKind::Punct('-'),
                TokenKind::Punct('-'),
                TokenKind::Ident("y".into()),
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn errors_end_the_stream() {
        let toks = tokenize("a /* never closed");
        match &toks.last().map(|t| &t.kind) {
            Some(TokenKind::Error(e)) => assert_eq!((e.line, e.column), (1, 3)),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            tokenize("`ls`").last().map(|t| &t.kind),
            Some(TokenKind::Error(_))
        ));
    }
}
