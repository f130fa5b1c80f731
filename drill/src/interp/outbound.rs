//! Outbound packets: a `>` line takes the oldest frame the stack sent (a train
//! of them for a TSO super-segment in compatibility mode), checks it and its
//! time; frames no line takes are errors, or notes in compatibility mode.

use super::*;

impl Interp {
    pub(super) fn outbound(
        &mut self,
        ev: &Event,
        p: &Packet,
        base: Micros,
        lo: Micros,
        hi: Micros,
        any: bool,
    ) -> Result<(), Failure> {
        let tol = if any { 0 } else { self.tolerance(lo, base) };
        let deadline = if any {
            self.now.saturating_add(self.settings.any_wait_usecs)
        } else {
            hi.saturating_add(tol)
        };
        // In compatibility mode a TSO super-segment of the script matches a
        // train of smaller segments: each piece is matched in turn.
        let mut cur = p.clone();
        loop {
            while self.outq.is_empty() {
                if self.now >= deadline {
                    return Err(self.missing(ev, &cur, lo, hi, tol, deadline));
                }
                self.step(deadline)?;
            }
            let Some(c) = self.outq.pop_front() else {
                return Err(self.fail(ev.line, "internal error: empty capture queue"));
            };
            self.last_line = ev.line;
            let d = match &c.decoded {
                Ok(d) => d.clone(),
                Err(e) => {
                    return Err(Failure {
                        line: ev.line,
                        message: format!("the stack sent a malformed packet: {e}"),
                        expected: Some(cur.to_string()),
                        actual: None,
                        time: c.time,
                    })
                }
            };
            // packetdrill looks only at the connection under test: in
            // compatibility mode another connection's segment is passed over.
            if let (Some(_), None, Some(port), wire::Transport::Tcp(seg)) = (
                self.settings.compat,
                &p.addrs,
                self.def.local_port,
                &d.transport,
            ) {
                if seg.src_port != port {
                    let shown = self.describe(&d, true);
                    self.note_at(c.time, || {
                        format!("{shown} (another connection's, passed over)")
                    });
                    continue;
                }
            }
            let piece = self.tso_piece(&cur, &d);
            let want = piece.as_ref().map_or(&cur, |(head, _)| head);
            if let Err(why) = self.match_outbound(want, &d) {
                let addressing = why.contains("address is") || why.contains("port is");
                return Err(Failure {
                    line: ev.line,
                    message: format!("wrong outbound packet: {why}"),
                    expected: Some(want.to_string()),
                    actual: Some(self.describe(&d, p.addrs.is_some() || addressing)),
                    time: c.time,
                });
            }
            if !any && (c.time.saturating_add(tol) < lo || c.time > hi.saturating_add(tol)) {
                let early = c.time < lo;
                return Err(Failure {
                    line: ev.line,
                    message: format!(
                        "timing error: expected the outbound packet at {} but it was sent at {} ({}; tolerance {})",
                        when(lo, hi),
                        secs(c.time),
                        if early { "early" } else { "late" },
                        secs(tol)
                    ),
                    expected: Some(want.to_string()),
                    actual: Some(self.describe(&d, p.addrs.is_some())),
                    time: c.time,
                });
            }
            let shown = self.describe(&d, p.addrs.is_some());
            self.note_at(c.time, || shown);
            match piece {
                Some((_, rest)) => cur = rest,
                None => return Ok(()),
            }
        }
    }

    /// In compatibility mode, a TCP line with more payload than the segment
    /// sent (a Linux or FreeBSD TSO super-segment, `1:5001(5000)`) splits
    /// into the part the segment should be and the rest, still expected. A
    /// FIN belongs to the last piece.
    fn tso_piece(&self, want: &Packet, got: &wire::Decoded) -> Option<(Packet, Packet)> {
        if self.settings.compat.is_none() || self.settings.strict_segments {
            return None;
        }
        let (PacketProto::Tcp(t), wire::Transport::Tcp(seg)) = (&want.proto, &got.transport) else {
            return None;
        };
        let n = u16::try_from(seg.payload_len).ok()?;
        if n == 0 || n >= t.len {
            return None;
        }
        let mut head = t.clone();
        head.len = n;
        head.seq_end = head.seq_start.wrapping_add(u32::from(n));
        head.flags = TcpFlags(head.flags.0 & !TcpFlags::FIN.0);
        let mut rest = t.clone();
        rest.seq_start = head.seq_end;
        rest.len = t.len - n;
        let with = |proto| Packet {
            proto: PacketProto::Tcp(proto),
            ..want.clone()
        };
        Some((with(head), with(rest)))
    }

    /// The failure for a `>` line whose packet did not come by `deadline`;
    /// looks further ahead to say whether it came late or not at all.
    fn missing(
        &mut self,
        ev: &Event,
        p: &Packet,
        lo: Micros,
        hi: Micros,
        tol: Micros,
        deadline: Micros,
    ) -> Failure {
        self.pending = None;
        let horizon = deadline.saturating_add(LOOKAHEAD_USECS);
        while self.outq.is_empty() && self.now < horizon {
            if self.step(horizon).is_err() {
                break;
            }
        }
        // The look-ahead is not part of the run: report the time of the deadline.
        let looked_until = std::mem::replace(&mut self.now, deadline);
        let base = Failure {
            line: ev.line,
            message: String::new(),
            expected: Some(p.to_string()),
            actual: None,
            time: deadline,
        };
        let Some(c) = self.outq.pop_front() else {
            return Failure {
                message: format!(
                    "missing outbound packet: expected at {}, not sent by {} (nor by {})",
                    when(lo, hi),
                    secs(deadline),
                    secs(looked_until)
                ),
                ..base
            };
        };
        let d = match c.decoded {
            Ok(d) => d,
            Err(e) => {
                return Failure {
                    message: format!(
                        "missing outbound packet: expected at {}, not sent by {}; at {} the stack sent a malformed packet: {e}",
                        when(lo, hi),
                        secs(deadline),
                        secs(c.time)
                    ),
                    ..base
                }
            }
        };
        let verdict = self.match_outbound(p, &d);
        let actual = Some(self.describe(&d, p.addrs.is_some() || verdict.is_err()));
        match verdict {
            Ok(()) => Failure {
                message: format!(
                    "timing error: expected the outbound packet at {} but it was sent at {} (late; tolerance {})",
                    when(lo, hi),
                    secs(c.time),
                    secs(tol)
                ),
                actual,
                time: c.time,
                ..base
            },
            Err(why) => Failure {
                message: format!(
                    "missing outbound packet: expected at {}, not sent by {}; the next packet, sent at {}, differs: {why}",
                    when(lo, hi),
                    secs(deadline),
                    secs(c.time)
                ),
                actual,
                ..base
            },
        }
    }

    /// Compatibility mode: an outbound packet no line lists goes by, noted.
    pub(super) fn tolerate(&mut self, c: &Captured) {
        let what = match &c.decoded {
            Ok(d) => self.describe(d, false),
            Err(e) => format!("(malformed: {e})"),
        };
        let (line, at) = (c.after_line, secs(c.time));
        self.log.push(format!(
            "note: an outbound packet no line lists, sent at {at} after line {line}, \
             tolerated: {what}"
        ));
    }

    pub(super) fn unexpected(&self, c: &Captured) -> Failure {
        let actual = match &c.decoded {
            Ok(d) => self.describe(d, false),
            Err(e) => format!("(malformed: {e})"),
        };
        Failure {
            line: c.after_line,
            message: format!(
                "unexpected outbound packet: the stack sent it at {}, after line {}, and no '>' line expects it",
                secs(c.time),
                c.after_line
            ),
            expected: None,
            actual: Some(actual),
            time: c.time,
        }
    }
}

fn when(lo: Micros, hi: Micros) -> String {
    if lo == hi {
        secs(lo)
    } else {
        format!("{}~{}", format_micros(lo), secs(hi))
    }
}
