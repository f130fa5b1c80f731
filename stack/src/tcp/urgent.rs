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

    /// Sets URG and the pointer on a segment starting at `seq` (Linux's
    /// `tcp_options_write` rule: the pointer is relative to the segment and must fit
    /// 16 bits; beyond that 0xffff announces "urgent data ahead").
    pub(crate) fn decorate(&self, repr: &mut TcpRepr, seq: SeqNumber, _len: usize) {
        let Some(up) = self.pointer else { return };
        if !seq.lt(up) || repr.flags.syn {
            return;
        }
        let dist = up.saturating_distance(seq);
        repr.flags.urg = true;
        repr.urgent = dist.min(0xffff) as u16;
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
    /// A segment announced urgent data ending before `end`. Returns true when this is
    /// new urgent data (the SIGURG moment): a pointer beyond the current one.
    pub(crate) fn announce(&mut self, end: SeqNumber, rcv_nxt: SeqNumber, inline: bool) -> bool {
        // A pointer at or before data already received into a mark we know is old.
        if self.pointer.is_some_and(|p| !end.gt(p)) {
            return false;
        }
        // The urgent byte (end - 1) must not be data we already passed.
        if (end - 1u32).lt(rcv_nxt) && self.pointer.is_none() && end != rcv_nxt {
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

    /// `sockatmark`: the next byte to read is the urgent one.
    pub(crate) fn at_mark(&self) -> bool {
        self.mark == Some(0)
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
