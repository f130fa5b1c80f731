//! Urgent data and the out-of-band mark (RFC 9293 3.8.5, RFC 6093; the 4.2BSD
//! primer section 5.1).
//!
//! We use the BSD interpretation that Linux uses by default: the urgent pointer
//! points one past the last urgent byte (RFC 6093 section 2 describes the split).
//! Sending `MSG_OOB` marks the last byte of the call as urgent; every segment sent
//! while that byte is unacknowledged carries URG with the pointer (as Linux does, up
//! to 64 KiB ahead of the segment).
//!
//! Receiving: the urgent byte is held apart (unless `SO_OOBINLINE`), a read never
//! crosses the mark, and `sockatmark` is true when the next byte to read is the
//! urgent one. A newer urgent pointer replaces an older mark, whose byte then reads
//! as normal data (as on Linux).

use crate::tcp::buffer::RingBuffer;
use crate::tcp::segment::TcpRepr;
use crate::tcp::seq::SeqNumber;

/// Sender side.
#[derive(Debug, Default, Clone)]
pub(crate) struct UrgentTx {
    /// One past the urgent byte, while it is unacknowledged.
    pointer: Option<SeqNumber>,
}

impl UrgentTx {
    /// `MSG_OOB` data was queued ending just before `end`.
    pub(crate) fn mark(&mut self, end: SeqNumber) {
        self.pointer = Some(end);
    }

    /// Sets URG and the pointer on a segment starting at `seq`, by Linux's rule
    /// (`tcp_options_write`): the pointer relative to the segment when it fits 16
    /// bits; 0xffff ("urgent data further on") only when the data sent so far ends
    /// within 64 KiB of the segment (so the receiver never sees a false mark);
    /// otherwise no URG yet.
    pub(crate) fn decorate(&self, repr: &mut TcpRepr, seq: SeqNumber, snd_nxt: SeqNumber) {
        let Some(up) = self.pointer else { return };
        if !seq.lt(up) || repr.flags.syn {
            return;
        }
        let dist = up.saturating_distance(seq);
        if dist < 0x1_0000 {
            repr.flags.urg = true;
            repr.urgent = dist as u16;
        } else if (seq + 0xffffu32).gt(snd_nxt) {
            repr.flags.urg = true;
            repr.urgent = 0xffff;
        }
    }

    /// True when urgent data must go out now even if Nagle would hold it (the
    /// urgent notification is sent ahead of the data, as BSD does).
    pub(crate) fn forces_send(&self, snd_nxt: SeqNumber, len: usize) -> bool {
        len > 0 && self.pointer.is_some_and(|up| snd_nxt.lt(up))
    }

    /// The peer acknowledged up to `ack`: urgent mode ends when it passes the pointer.
    pub(crate) fn acked(&mut self, ack: SeqNumber) {
        if self.pointer.is_some_and(|up| !ack.lt(up)) {
            self.pointer = None;
        }
    }
}

/// What `recv(MSG_OOB)` finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OobState {
    /// No urgent data, or it was already read: `EINVAL`.
    None,
    /// Announced by the pointer, byte not arrived yet: `EWOULDBLOCK`.
    Pending,
    /// The byte is here.
    Byte(u8),
    /// `SO_OOBINLINE`: the byte is in the stream: `EINVAL`.
    Inline,
}

/// Receiver side.
#[derive(Debug, Default, Clone)]
pub(crate) struct UrgentRx {
    /// The announced pointer: one past the urgent byte.
    pointer: Option<SeqNumber>,
    /// Offset from the read head of the urgent byte, once it is in the buffer.
    mark: Option<usize>,
    /// The byte is held apart (not `SO_OOBINLINE`): reads skip it at the mark.
    out_of_band: bool,
    /// The out-of-band byte, until read with `MSG_OOB`.
    byte: Option<u8>,
    /// The byte was already read with `MSG_OOB`.
    byte_read: bool,
    /// A normal read went past the mark.
    passed: bool,
}

impl UrgentRx {
    /// A segment announced urgent data ending before `end` (the urgent byte is
    /// `end - 1`). Returns true when this is new urgent data (the SIGURG moment).
    /// Linux's `tcp_check_urg`: ignore a byte the reader already passed (`next_read`
    /// is the sequence number of the next byte to read), a byte already received
    /// (no replay), and a pointer not newer than the current one.
    pub(crate) fn announce(
        &mut self,
        end: SeqNumber,
        rcv_nxt: SeqNumber,
        next_read: SeqNumber,
        inline: bool,
    ) -> bool {
        let urgent = end - 1u32;
        if next_read.gt(urgent) || urgent.lt(rcv_nxt) {
            return false;
        }
        if self.pointer.is_some_and(|p| !end.gt(p)) {
            return false;
        }
        self.pointer = Some(end);
        self.mark = None;
        self.byte = None;
        self.byte_read = false;
        self.passed = false;
        self.out_of_band = !inline;
        true
    }

    /// In-order data advanced the stream by `advanced` bytes up to `rcv_nxt`: if the
    /// urgent byte arrived, record where it is and take a copy of it.
    pub(crate) fn on_data(&mut self, buf: &mut RingBuffer, rcv_nxt: SeqNumber, advanced: usize) {
        let Some(p) = self.pointer else { return };
        if self.mark.is_some() {
            return;
        }
        let urgent = p - 1u32;
        let start = rcv_nxt - (advanced as u32);
        if !urgent.lt(rcv_nxt) || urgent.lt(start) {
            return;
        }
        // Offset of the urgent byte from the read head.
        let from_end = rcv_nxt.saturating_distance(urgent);
        let offset = buf.len().saturating_sub(from_end);
        let mut b = [0u8; 1];
        if buf.read_allocated(offset, &mut b) == 1 {
            self.mark = Some(offset);
            if self.out_of_band {
                self.byte = Some(b[0]);
            }
        }
    }

    /// How many of `available` bytes a read may take: never across the mark.
    pub(crate) fn read_limit(&self, available: usize) -> usize {
        match self.mark {
            Some(m) if m > 0 => m.min(available),
            Some(0) if self.out_of_band => 0, // the skipped byte is handled by `skip`
            _ => available,
        }
    }

    /// True when a read at the head must first drop the out-of-band byte.
    pub(crate) fn skip_at_head(&self) -> bool {
        self.mark == Some(0) && self.out_of_band
    }

    /// The reader consumed `n` bytes from the head (or the out-of-band byte).
    pub(crate) fn consumed(&mut self, n: usize) {
        match self.mark {
            Some(m) if m >= n => self.mark = Some(m - n),
            Some(_) => {
                // Passed the mark: no more mark (the pointer stays to ignore repeats).
                self.mark = None;
                self.out_of_band = false;
                self.passed = true;
            }
            None => {}
        }
    }

    /// The out-of-band byte was skipped at the head by a normal read.
    pub(crate) fn skipped(&mut self) {
        // Linux (tcp_recvmsg): once the reader's copy point passes the urgent byte,
        // the urgent data is forgotten; a later MSG_OOB read is EINVAL.
        self.mark = None;
        self.out_of_band = false;
        self.byte = None;
        self.passed = true;
    }

    /// `sockatmark`: the next byte to read (sequence number `next_read`) is the
    /// urgent one, arrived or only announced (Linux: `urg_seq == copied_seq`).
    pub(crate) fn at_mark(&self, next_read: SeqNumber) -> bool {
        if self.mark.is_some() {
            return self.mark == Some(0);
        }
        !self.passed && self.pointer.is_some_and(|p| next_read == p - 1u32)
    }

    /// Urgent data is pending (select's except set, POLLPRI): announced, and neither
    /// read out of band nor read past.
    pub(crate) fn pending(&self) -> bool {
        self.pointer.is_some() && !self.byte_read && !self.passed
    }

    /// What `recv(MSG_OOB)` sees.
    pub(crate) fn oob(&self, inline: bool) -> OobState {
        if inline {
            return OobState::Inline;
        }
        match (self.pointer, self.byte, self.byte_read) {
            (_, _, true) | (None, _, _) => OobState::None,
            (Some(_), Some(b), false) => OobState::Byte(b),
            (Some(_), None, false) if self.mark.is_none() && self.out_of_band => OobState::Pending,
            _ => OobState::None,
        }
    }

    /// `recv(MSG_OOB)` without `MSG_PEEK` took the byte.
    pub(crate) fn take_oob(&mut self) {
        self.byte_read = true;
        self.byte = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decorated(up: u32, seq: u32, snd_nxt: u32) -> (bool, u16) {
        let mut tx = UrgentTx::default();
        tx.mark(SeqNumber(up));
        let mut r = TcpRepr::default();
        tx.decorate(&mut r, SeqNumber(seq), SeqNumber(snd_nxt));
        (r.flags.urg, r.urgent)
    }

    #[test]
    fn pointer_rules_match_linux() {
        // Within 64 KiB: the exact offset.
        assert_eq!(decorated(1_000, 0, 2_000), (true, 1_000));
        // Far ahead, and the data sent so far also ends far ahead: no URG yet.
        assert_eq!(decorated(200_000, 0, 150_000), (false, 0));
        // Far ahead, but what was sent ends within 64 KiB of the segment: 0xffff.
        assert_eq!(decorated(200_000, 0, 60_000), (true, 0xffff));
        // The segment starts at or past the pointer: nothing to announce.
        assert_eq!(decorated(1_000, 1_000, 2_000), (false, 0));
        // Across the sequence-number wrap.
        assert_eq!(decorated(10, u32::MAX - 9, 20), (true, 20));
    }

    #[test]
    fn receiver_ignores_old_replayed_and_non_newer_pointers() {
        let mut rx = UrgentRx::default();
        let s = SeqNumber;
        assert!(rx.announce(s(110), s(100), s(100), false), "new");
        assert!(
            !rx.announce(s(110), s(100), s(100), false),
            "the same again"
        );
        assert!(!rx.announce(s(105), s(100), s(100), false), "older");
        assert!(rx.announce(s(120), s(100), s(100), false), "newer");
        let mut rx = UrgentRx::default();
        assert!(
            !rx.announce(s(90), s(100), s(95), false),
            "byte already received"
        );
        assert!(
            !rx.announce(s(100), s(100), s(100), false),
            "byte already read past"
        );
        assert!(!rx.at_mark(s(100)));
        assert!(rx.announce(s(101), s(100), s(100), false));
        assert!(rx.at_mark(s(100)), "announced byte is next: at the mark");
    }
}
