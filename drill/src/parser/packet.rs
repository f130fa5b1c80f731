//! Packet lines: endpoints, TCP flags, sequence ranges, TCP options, UDP and
//! ICMP.

use super::*;

impl Parser<'_> {
    // ---- packets ------------------------------------------------------------

    pub(super) fn packet(&mut self) -> PResult<Packet> {
        let dir_tok = self.advance();
        let direction = if dir_tok.kind == TokenKind::Punct('<') {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let ip = self.ip_fields()?;
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
        if matches!(self.peek().kind, TokenKind::Unknown('/')) && self.on_same_line() {
            return Err(self.err_at(
                self.peek(),
                "unsupported by the stack: TCP over UDP encapsulation ('/udp(...)')",
            ));
        }
        Ok(Packet {
            direction,
            addrs,
            ip,
            proto,
        })
    }

    /// `[noecn]` and `(tos N, ttl N)` after the direction, in either order.
    fn ip_fields(&mut self) -> PResult<IpFields> {
        let mut ip = IpFields::default();
        loop {
            if self.is_punct('[') {
                self.advance();
                let t = self.advance();
                match &t.kind {
                    TokenKind::Ident(w) if w == "noecn" => ip.not_ect = true,
                    TokenKind::Ident(w)
                        if matches!(w.as_str(), "ect0" | "ect1" | "ect01" | "ce") =>
                    {
                        return Err(self.err_at(&t, "unsupported by the stack: ECN (RFC 3168)"))
                    }
                    _ => return Err(self.err_at(&t, "expected noecn, ect0, ect1, ect01 or ce")),
                }
                self.expect_punct(']', "']' after the ECN codepoint")?;
            } else if self.is_punct('(') {
                self.advance();
                loop {
                    let t = self.advance();
                    match &t.kind {
                        TokenKind::Ident(w) if w == "tos" => ip.tos = Some(self.u8("TOS byte")?),
                        TokenKind::Ident(w) if w == "ttl" => ip.ttl = Some(self.u8("TTL")?),
                        TokenKind::Ident(w)
                            if matches!(w.as_str(), "class" | "hlim" | "flowlabel") =>
                        {
                            return Err(self.err_at(&t, "unsupported by the stack: IPv6"))
                        }
                        _ => return Err(self.err_at(&t, "expected tos or ttl in '(...)'")),
                    }
                    if self.is_punct(',') {
                        self.advance();
                    } else {
                        break;
                    }
                }
                self.expect_punct(')', "')' after the IP header fields")?;
            } else {
                return Ok(ip);
            }
        }
    }

    pub(super) fn endpoint(&mut self) -> PResult<(Option<Ipv4Addr>, u16)> {
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

    pub(super) fn endpoints(&mut self) -> PResult<Endpoints> {
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

    pub(super) fn tcp_flags(&mut self) -> PResult<TcpFlags> {
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
    pub(super) fn seq_range(&mut self) -> PResult<(u32, u32, u16)> {
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

    pub(super) fn tcp(&mut self, direction: Direction) -> PResult<TcpPacket> {
        let flags = self.tcp_flags()?;
        let (seq_start, seq_end, len) = self.seq_range()?;
        let absolute = matches!(self.peek().kind, TokenKind::Unknown('!')) && self.on_same_line();
        if absolute {
            self.advance();
        }
        let mut pkt = TcpPacket {
            flags,
            absolute,
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

    pub(super) fn tcp_options(
        &mut self,
        direction: Direction,
    ) -> PResult<Option<Vec<TcpOptionSpec>>> {
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

    pub(super) fn tcp_option(&mut self) -> PResult<TcpOptionSpec> {
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
            "FO" | "FOEXP" => {
                // The cookie, if any: hexadecimal digits, one token.
                let mut cookie = Vec::new();
                let next = self.peek().clone();
                if let TokenKind::Number(text) | TokenKind::Ident(text) = &next.kind {
                    if !text.len().is_multiple_of(2) || !text.chars().all(|c| c.is_ascii_hexdigit()) {
                        return Err(self.err_at(
                            &next,
                            format!("Fast Open cookie '{text}': an even number of hexadecimal digits"),
                        ));
                    }
                    cookie = (0..text.len())
                        .step_by(2)
                        .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
                        .collect();
                    self.advance();
                }
                if cookie.len() > 38 {
                    return Err(self.err_at(&next, "a Fast Open cookie longer than a TCP header has room for"));
                }
                TcpOptionSpec::FastOpen {
                    cookie,
                    experimental: name == "FOEXP",
                }
            }
            "md5" => {
                return Err(self.err_at(&t, "unsupported by the stack: TCP MD5 signatures (RFC 2385)"))
            }
            other => {
                return Err(self.err_at(
                    &t,
                    format!(
                        "unknown TCP option '{other}' (expected mss, wscale, sackOK, sack, TS, FO, FOEXP, nop or eol)"
                    ),
                ))
            }
        })
    }

    pub(super) fn icmp(&mut self) -> PResult<IcmpPacket> {
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
