//! Expressions: system call arguments and results (integers, constants, `A|B`,
//! arrays, structs, function-like forms).

use super::*;

impl Parser<'_> {
    // ---- expressions --------------------------------------------------------

    /// Comma-separated expressions up to `close` (the opening bracket has been
    /// consumed).
    pub(super) fn expr_list(&mut self, close: char, what: &str) -> PResult<Vec<Expr>> {
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

    pub(super) fn expr(&mut self) -> PResult<Expr> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(self.err_at(self.peek(), "expression nested too deeply"))
        } else {
            self.or_expr()
        };
        self.depth -= 1;
        r
    }

    pub(super) fn or_expr(&mut self) -> PResult<Expr> {
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

    pub(super) fn primary(&mut self) -> PResult<Expr> {
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

    pub(super) fn int_error(&self, tok: &Token, s: &str) -> ParseError {
        if is_number_literal(s) {
            self.err_at(tok, format!("integer {s} is out of range"))
        } else {
            self.err_at(tok, format!("invalid integer '{s}'"))
        }
    }

    /// With `name(...)=` ahead, the number of tokens up to and with the `=`.
    fn annotated_name_len(&self) -> Option<usize> {
        let mut depth = 0usize;
        for i in 1.. {
            match &self.peek_at(i).kind {
                TokenKind::Punct('(') => depth += 1,
                TokenKind::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        return (self.peek_at(i + 1).kind == TokenKind::Punct('='))
                            .then_some(i + 2);
                    }
                }
                TokenKind::Eof => return None,
                _ => {}
            }
            if i > 64 {
                return None;
            }
        }
        None
    }

    pub(super) fn struct_fields(&mut self) -> PResult<Expr> {
        let mut fields = Vec::new();
        if self.is_punct('}') {
            self.advance();
            return Ok(Expr::Struct(fields));
        }
        loop {
            let named = match (&self.peek().kind, &self.peek_at(1).kind) {
                (TokenKind::Ident(n), TokenKind::Punct('=')) => Some((n.clone(), 2)),
                // `msg_iov(1)=[...]`, `msg_name(...)=...`: a count or `...`
                // after the name, which the value itself gives.
                (TokenKind::Ident(n), TokenKind::Punct('(')) => {
                    self.annotated_name_len().map(|len| (n.clone(), len))
                }
                _ => None,
            };
            if let Some((_, len)) = &named {
                for _ in 0..*len {
                    self.advance();
                }
            }
            let named = named.map(|(n, _)| n);
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
}
