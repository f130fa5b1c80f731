//! The retransmission queue's bookkeeping: one record per transmitted range of
//! sequence space above SND.UNA, with its send time and its SACK, loss and
//! retransmission marks (Linux's `TCPCB_SACKED_ACKED`, `TCPCB_LOST` and
//! `TCPCB_SACKED_RETRANS` on each skb).
//!
//! Read RFC 6675 section 2-4 (the scoreboard, `IsLost`, `SetPipe`) and RFC 8985
//! section 6.1 (per-segment send times) before touching this.
//!
//! The records cover `[SND.UNA, SND.MAX)` without gaps, in sequence order. A
//! record is split where a SACK block or a retransmission starts or ends inside
//! it; the number of records is bounded. At the bound, a SACK block's split is
//! refused (the block is then taken only where it covers whole records), while
//! a transmission is always recorded exactly: two neighbouring records are
//! merged to make room (see `Scoreboard::make_room`), so what the scoreboard
//! says went is what went. Byte totals of the marks are kept up to date so
//! that the pipe is O(1).

use std::collections::VecDeque;

use crate::tcp::seq::SeqNumber;
use crate::time::Instant;

/// Why a segment was marked lost (and so why it is retransmitted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LossCause {
    /// RFC 6675 `IsLost` (enough SACKed data above it), or duplicate ACKs and
    /// NewReno partial ACKs without SACK: fast recovery.
    FastRecovery,
    /// RFC 8985 RACK: a segment sent later was delivered, and this one's
    /// reordering window passed.
    Rack,
    /// The retransmission timer expired.
    Timeout,
}

/// One transmitted range of sequence space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First sequence number.
    pub start: SeqNumber,
    /// One past the last sequence number (a FIN counts as one).
    pub end: SeqNumber,
    /// The time of the latest (re)transmission.
    pub xmit: Instant,
    /// The receiver SACKed it.
    pub sacked: bool,
    /// Marked lost and not SACKed since.
    pub lost: bool,
    /// Why it was marked lost.
    pub cause: LossCause,
    /// A retransmission of it is in flight (not SACKed, not marked lost since).
    pub retrans: bool,
    /// It was retransmitted at least once (its ACK is then ambiguous).
    pub ever_retrans: bool,
}

impl Segment {
    /// Its length in sequence space.
    pub fn len(&self) -> usize {
        self.end.saturating_distance(self.start)
    }

    /// True for an empty range (never stored).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The per-segment scoreboard.
#[derive(Clone, Debug)]
pub struct Scoreboard {
    segs: VecDeque<Segment>,
    /// Most records kept; splits beyond it are refused.
    max_records: usize,
    sacked: usize,
    lost: usize,
    retrans: usize,
    /// Highest SACKed sequence number (end of the highest SACKed record).
    high_sacked: Option<SeqNumber>,
}

impl Scoreboard {
    /// Gives back the memory of an empty scoreboard.
    pub fn shrink_if_empty(&mut self) {
        if self.segs.is_empty() {
            self.segs = VecDeque::new();
        }
    }

    /// An empty scoreboard of at most `max_records` records.
    pub fn new(max_records: usize) -> Scoreboard {
        Scoreboard {
            segs: VecDeque::new(),
            max_records: max_records.max(16),
            sacked: 0,
            lost: 0,
            retrans: 0,
            high_sacked: None,
        }
    }

    /// The records, in sequence order.
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &Segment> + ExactSizeIterator {
        self.segs.iter()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.segs.len()
    }

    /// True when nothing is outstanding.
    pub fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// One past the highest sequence number recorded.
    pub fn end(&self) -> Option<SeqNumber> {
        self.segs.back().map(|s| s.end)
    }

    /// The lowest sequence number recorded (SND.UNA).
    pub fn start(&self) -> Option<SeqNumber> {
        self.segs.front().map(|s| s.start)
    }

    /// Bytes outstanding: `SND.MAX - SND.UNA`.
    pub fn outstanding(&self) -> usize {
        match (self.start(), self.end()) {
            (Some(s), Some(e)) => e.saturating_distance(s),
            _ => 0,
        }
    }

    /// Bytes SACKed.
    pub fn sacked_bytes(&self) -> usize {
        self.sacked
    }

    /// Bytes marked lost and not SACKed.
    pub fn lost_bytes(&self) -> usize {
        self.lost
    }

    /// Bytes of retransmissions in flight.
    pub fn retrans_bytes(&self) -> usize {
        self.retrans
    }

    /// The highest SACKed sequence number (RFC 6675 "HighSACK" + 1).
    pub fn high_sacked(&self) -> Option<SeqNumber> {
        self.high_sacked
    }

    /// RFC 6675 `SetPipe`, as Linux's `tcp_packets_in_flight` counts it in
    /// bytes: every byte outstanding, less the SACKed and the lost ones, plus
    /// the retransmissions in flight.
    pub fn pipe(&self) -> usize {
        (self.outstanding() + self.retrans).saturating_sub(self.sacked + self.lost)
    }

    fn forget(&mut self, s: &Segment) {
        let n = s.len();
        if s.sacked {
            self.sacked -= n;
        } else {
            if s.lost {
                self.lost -= n;
            }
            if s.retrans {
                self.retrans -= n;
            }
        }
    }

    fn count(&mut self, s: &Segment) {
        let n = s.len();
        if s.sacked {
            self.sacked += n;
        } else {
            if s.lost {
                self.lost += n;
            }
            if s.retrans {
                self.retrans += n;
            }
        }
    }

    /// Changes the marks of record `i` through `f`, keeping the byte totals
    /// true. Returns the record as it is now.
    fn update(&mut self, i: usize, f: impl FnOnce(&mut Segment)) -> Segment {
        let mut s = self.segs[i];
        self.forget(&s);
        f(&mut s);
        self.count(&s);
        self.segs[i] = s;
        s
    }

    /// The records that hold bytes of `[left, right)`, in order.
    pub fn overlapping(
        &self,
        left: SeqNumber,
        right: SeqNumber,
    ) -> impl Iterator<Item = &Segment> + '_ {
        let from = match self.start() {
            Some(first) if left.lt(first) => 0,
            _ => self.index_of(left).unwrap_or(self.segs.len()),
        };
        self.segs
            .range(from..)
            .take_while(move |s| s.start.lt(right))
    }

    /// Index of the first record marked lost whose retransmission has not
    /// gone yet (RFC 6675 NextSeg rule 1's candidate), if any.
    pub fn first_lost_unsent(&self) -> Option<usize> {
        if self.lost == 0 {
            return None;
        }
        self.segs
            .iter()
            .position(|s| s.lost && !s.retrans && !s.sacked)
    }

    /// Index of the record holding `seq`, if any.
    fn index_of(&self, seq: SeqNumber) -> Option<usize> {
        let first = self.start()?;
        let off = seq.saturating_distance(first);
        if seq.lt(first) || off >= self.outstanding() {
            return None;
        }
        // Records are contiguous and ordered: binary search on offsets.
        let (mut lo, mut hi) = (0usize, self.segs.len());
        while lo + 1 < hi {
            let mid = (lo + hi) / 2;
            if self.segs[mid].start.saturating_distance(first) <= off {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }

    /// Splits the record holding `seq` so that a record starts at `seq`.
    /// Returns false if that needs a split the record bound refuses.
    fn split_at(&mut self, seq: SeqNumber) -> bool {
        self.split(seq, None)
    }

    /// Splits the record holding `seq` so that a record starts at `seq`, at
    /// the record bound first merging two neighbours (never at a boundary in
    /// `keep`). Always succeeds.
    fn split_at_making_room(&mut self, seq: SeqNumber, keep: &[SeqNumber]) {
        let done = self.split(seq, Some(keep));
        debug_assert!(done, "a split with room made cannot be refused");
    }

    fn split(&mut self, seq: SeqNumber, make_room: Option<&[SeqNumber]>) -> bool {
        let Some(i) = self.index_of(seq) else {
            return true; // outside: nothing to split
        };
        let s = self.segs[i];
        if s.start == seq {
            return true;
        }
        if self.segs.len() >= self.max_records {
            let Some(keep) = make_room else {
                return false;
            };
            self.make_room(keep, seq);
            if self.segs.len() >= self.max_records {
                return false;
            }
            // The record holding `seq` may have moved, or grown.
            return self.split(seq, None);
        }
        let mut left = s;
        left.end = seq;
        let mut right = s;
        right.start = seq;
        self.segs[i] = left;
        self.segs.insert(i + 1, right);
        true
    }

    /// Merges two neighbouring records into one, to make room for a split at
    /// the record bound. Two with the same marks are merged if there are any
    /// (only the earlier send time is lost, which at most delays RACK);
    /// otherwise the highest pair, its marks joined so that nothing is taken
    /// for more than it is: SACKed or lost only if both were, a retransmission
    /// in flight if either was. The record boundaries at `keep` and at `seq`'s
    /// record's start stay.
    fn make_room(&mut self, keep: &[SeqNumber], seq: SeqNumber) {
        let n = self.segs.len();
        if n < 2 {
            return;
        }
        let held = self.index_of(seq).map(|i| self.segs[i].start);
        let free = |j: usize, segs: &VecDeque<Segment>| {
            let at = segs[j].end;
            !keep.contains(&at) && held != Some(at)
        };
        let alike = |a: &Segment, b: &Segment| {
            a.sacked == b.sacked
                && (a.sacked
                    || (a.lost == b.lost
                        && a.retrans == b.retrans
                        && a.ever_retrans == b.ever_retrans
                        && (!a.lost || a.cause == b.cause)))
        };
        let pick = (0..n - 1)
            .rev()
            .find(|&j| free(j, &self.segs) && alike(&self.segs[j], &self.segs[j + 1]))
            .or_else(|| (0..n - 1).rev().find(|&j| free(j, &self.segs)));
        let Some(j) = pick else {
            return;
        };
        let (a, b) = (self.segs[j], self.segs[j + 1]);
        self.forget(&a);
        self.forget(&b);
        let sacked = a.sacked && b.sacked;
        let lost = !sacked && a.lost && b.lost;
        let merged = Segment {
            start: a.start,
            end: b.end,
            xmit: a.xmit.max(b.xmit),
            sacked,
            lost,
            cause: if a.lost { a.cause } else { b.cause },
            retrans: !sacked && (a.retrans || b.retrans),
            ever_retrans: a.ever_retrans || b.ever_retrans,
        };
        self.count(&merged);
        self.segs[j] = merged;
        self.segs.remove(j + 1);
        if a.sacked != b.sacked {
            // A SACK mark given up: the highest one may have gone with it.
            self.high_sacked = self.segs.iter().rev().find(|s| s.sacked).map(|s| s.end);
        }
    }

    /// Records a transmission of `[start, end)` at `now`: new data is appended,
    /// a retransmission marks the records it covers, split to its exact ends
    /// (Linux keeps the loss mark and adds the retransmission mark). Returns
    /// the bytes sent again that were not SACKed.
    pub fn on_transmit(&mut self, start: SeqNumber, end: SeqNumber, now: Instant) -> usize {
        if !start.lt(end) {
            return 0;
        }
        let tail = self.end();
        let mut rexmit = 0;
        if let Some(tail) = tail.filter(|t| start.lt(*t)) {
            let stop = end.min(tail);
            let first = self.start().filter(|f| start.lt(*f)).unwrap_or(start);
            self.split_at_making_room(first, &[]);
            self.split_at_making_room(stop, &[first]);
            let mut i = self.index_of(first).unwrap_or(self.segs.len());
            while i < self.segs.len() && self.segs[i].start.lt(stop) {
                let s = self.segs[i];
                if !s.sacked {
                    self.update(i, |s| {
                        s.xmit = now;
                        s.retrans = true;
                        s.ever_retrans = true;
                    });
                    rexmit += s.len();
                }
                i += 1;
            }
        }
        let new_from = match tail {
            Some(t) if t.gt(start) => t,
            _ => start,
        };
        if new_from.lt(end) {
            // A gap (should not happen) is closed by starting afresh there.
            if tail.is_some_and(|t| t != new_from) {
                self.clear();
            }
            let seg = Segment {
                start: new_from,
                end,
                xmit: now,
                sacked: false,
                lost: false,
                cause: LossCause::FastRecovery,
                retrans: false,
                ever_retrans: false,
            };
            // Append, merging with the previous record when it is an untouched
            // piece of the same flight (same send time): fewer records. At the
            // record bound, merge with any untouched previous record (its send
            // time becomes the newer one, which only makes RACK wait longer),
            // or make room.
            let full = self.segs.len() >= self.max_records;
            match self.segs.back_mut() {
                Some(b)
                    if b.end == new_from
                        && (b.xmit == now || full)
                        && !b.sacked
                        && !b.lost
                        && !b.retrans
                        && !b.ever_retrans =>
                {
                    b.end = end;
                    b.xmit = now;
                }
                _ => {
                    if full {
                        self.make_room(&[], new_from);
                    }
                    self.segs.push_back(seg);
                }
            }
        }
        rexmit
    }

    /// Removes what the cumulative ACK `una` covers. `each` sees every record
    /// (or part) removed, with its marks as they were. Returns the bytes removed
    /// that were not SACKed before (newly delivered).
    pub fn on_cumulative_ack(&mut self, una: SeqNumber, mut each: impl FnMut(&Segment)) -> usize {
        let mut delivered = 0;
        // Always possible: split only removes bytes, it can go over the bound by
        // one record, which is popped at once.
        if let Some(i) = self.index_of(una) {
            let s = self.segs[i];
            if s.start != una {
                let mut left = s;
                left.end = una;
                let mut right = s;
                right.start = una;
                self.segs[i] = left;
                self.segs.insert(i + 1, right);
            }
        }
        while let Some(s) = self.segs.front().copied() {
            if !s.end.le(una) {
                break;
            }
            self.segs.pop_front();
            self.forget(&s);
            if !s.sacked {
                delivered += s.len();
            }
            each(&s);
        }
        if self.segs.is_empty() || self.high_sacked.is_some_and(|h| h.le(una)) {
            self.high_sacked = None;
        }
        delivered
    }

    /// Marks `[left, right)` SACKed. `each` sees every newly SACKed record as
    /// it was before (not yet SACKed).
    /// Returns the newly SACKed bytes.
    pub fn on_sack(
        &mut self,
        left: SeqNumber,
        right: SeqNumber,
        mut each: impl FnMut(&Segment),
    ) -> usize {
        let (Some(first), Some(last)) = (self.start(), self.end()) else {
            return 0;
        };
        let (left, right) = (left.max(first), right.min(last));
        if !left.lt(right) {
            return 0;
        }
        let _ = self.split_at(left);
        let _ = self.split_at(right);
        let mut newly = 0;
        let mut i = self.index_of(left).unwrap_or(self.segs.len());
        while i < self.segs.len() && self.segs[i].start.lt(right) {
            let s = self.segs[i];
            if !s.sacked && !s.start.lt(left) && s.end.le(right) {
                each(&s);
                self.update(i, |s| {
                    s.sacked = true;
                    s.lost = false;
                    s.retrans = false;
                });
                newly += s.len();
                if self.high_sacked.is_none_or(|h| s.end.gt(h)) {
                    self.high_sacked = Some(s.end);
                }
            }
            i += 1;
        }
        newly
    }

    /// True if every record in `[left, right)` is SACKed.
    #[cfg(test)]
    pub fn is_sacked(&self, left: SeqNumber, right: SeqNumber) -> bool {
        let Some(i) = self.index_of(left) else {
            return false;
        };
        self.segs
            .iter()
            .skip(i)
            .take_while(|s| s.start.lt(right))
            .all(|s| s.sacked)
    }

    /// Marks record `i` lost (a lost retransmission loses its retransmission
    /// mark). Returns the bytes newly marked.
    pub fn mark_lost(&mut self, i: usize, cause: LossCause) -> usize {
        let Some(s) = self.segs.get(i) else {
            return 0;
        };
        if s.sacked || (s.lost && !s.retrans) {
            return 0;
        }
        self.update(i, |s| {
            s.lost = true;
            s.retrans = false;
            s.cause = cause;
        })
        .len()
    }

    /// Marks the first `len` bytes of the head lost, splitting the head when
    /// the bound allows (duplicate ACKs and partial ACKs without SACK).
    pub fn mark_head_lost(&mut self, len: usize, cause: LossCause) -> usize {
        let Some(first) = self.start() else {
            return 0;
        };
        let _ = self.split_at(first + len);
        self.mark_lost(0, cause)
    }

    /// Marks every record not SACKed lost (a retransmission timeout, RFC 6675
    /// section 5.1). Returns the bytes newly marked.
    pub fn mark_all_lost(&mut self, cause: LossCause) -> usize {
        (0..self.segs.len()).map(|i| self.mark_lost(i, cause)).sum()
    }

    /// Forgets every SACK mark (the receiver reneged, RFC 2018 section 8).
    pub fn clear_sacks(&mut self) {
        for i in 0..self.segs.len() {
            if self.segs[i].sacked {
                self.update(i, |s| s.sacked = false);
            }
        }
        self.high_sacked = None;
    }

    /// Takes back loss marks from records not retransmitted since (a spurious
    /// loss detection was undone).
    pub fn clear_loss_marks(&mut self) {
        for i in 0..self.segs.len() {
            if self.segs[i].lost {
                self.update(i, |s| s.lost = false);
            }
        }
    }

    /// The record at `i`.
    pub fn get(&self, i: usize) -> Option<&Segment> {
        self.segs.get(i)
    }

    /// Splits so that record `i` is at most `len` long; returns its new end.
    pub fn limit(&mut self, i: usize, len: usize) -> Option<SeqNumber> {
        let s = *self.segs.get(i)?;
        if s.len() > len {
            let _ = self.split_at(s.start + len);
        }
        self.segs.get(i).map(|s| s.end)
    }

    /// Drops every record (the connection is gone, or a gap was found).
    pub fn clear(&mut self) {
        self.segs.clear();
        self.sacked = 0;
        self.lost = 0;
        self.retrans = 0;
        self.high_sacked = None;
    }

    /// Checks the byte totals against the records (tests).
    #[cfg(test)]
    pub fn check(&self) {
        let mut t = Scoreboard::new(self.max_records);
        for s in &self.segs {
            t.count(s);
        }
        assert_eq!(
            (t.sacked, t.lost, t.retrans),
            (self.sacked, self.lost, self.retrans)
        );
        for w in self.segs.iter().collect::<Vec<_>>().windows(2) {
            assert_eq!(w[0].end, w[1].start, "records are contiguous");
        }
        assert!(self.segs.iter().all(|s| !s.is_empty()));
        assert!(
            self.segs.len() <= self.max_records,
            "the record bound holds"
        );
        let high = self.segs.iter().rev().find(|s| s.sacked).map(|s| s.end);
        assert!(high.is_none() || self.high_sacked.is_some_and(|h| !h.lt(high.unwrap())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tcp::recovery::test_util::{s, t};

    /// Ten segments of 100 bytes sent at 1 ms intervals from sequence 1000.
    fn ten() -> Scoreboard {
        let mut b = Scoreboard::new(1000);
        for i in 0..10u32 {
            b.on_transmit(s(1000 + i * 100), s(1100 + i * 100), t(i as u64));
        }
        b
    }

    #[test]
    fn pipe_follows_rfc_6675_setpipe() {
        let mut b = ten();
        assert_eq!(b.pipe(), 1000);
        // SACK 300..600: pipe excludes SACKed bytes.
        assert_eq!(b.on_sack(s(1300), s(1600), |_| {}), 300);
        assert_eq!(b.pipe(), 700);
        assert_eq!(b.high_sacked(), Some(s(1600)));
        // Mark the first segment lost: it leaves the pipe ...
        assert_eq!(b.mark_lost(0, LossCause::FastRecovery), 100);
        assert_eq!(b.pipe(), 600);
        // ... and its retransmission puts it back.
        assert_eq!(b.on_transmit(s(1000), s(1100), t(20)), 100);
        assert_eq!(b.pipe(), 700);
        b.check();
    }

    #[test]
    fn cumulative_ack_removes_and_reports_delivered_bytes() {
        let mut b = ten();
        b.on_sack(s(1200), s(1300), |_| {});
        let mut seen = 0;
        // ACK to 1350: 1000..1200 new, 1200..1300 was SACKed, 1300..1350 new.
        let d = b.on_cumulative_ack(s(1350), |_| seen += 1);
        assert_eq!(d, 250);
        assert_eq!(seen, 4);
        assert_eq!(b.start(), Some(s(1350)));
        assert_eq!(b.outstanding(), 650);
        b.check();
    }

    #[test]
    fn sack_splits_records_at_block_edges() {
        let mut b = Scoreboard::new(1000);
        b.on_transmit(s(0), s(1000), t(0)); // one TSO segment
        assert_eq!(b.len(), 1);
        assert_eq!(b.on_sack(s(250), s(500), |_| {}), 250);
        assert_eq!(b.len(), 3);
        assert!(b.is_sacked(s(250), s(500)));
        assert!(!b.is_sacked(s(200), s(500)));
        b.check();
    }

    #[test]
    fn record_bound_refuses_splits() {
        let mut b = Scoreboard::new(16);
        b.on_transmit(s(0), s(10_000), t(0));
        for i in 0..100u32 {
            b.on_sack(s(i * 100 + 10), s(i * 100 + 20), |_| {});
        }
        assert!(b.len() <= 16);
        b.check();
    }

    #[test]
    fn at_the_bound_a_partial_retransmission_is_recorded_exactly() {
        let mut b = Scoreboard::new(16);
        // 16 records of 1,000 bytes, all lost.
        for i in 0..16u32 {
            b.on_transmit(s(i * 1000), s(i * 1000 + 1000), t(u64::from(i)));
        }
        assert_eq!(b.len(), 16);
        for i in 0..16 {
            b.mark_lost(i, LossCause::Timeout);
        }
        assert_eq!(b.first_lost_unsent(), Some(0));
        // The path now carries 500 bytes: two records alike elsewhere are
        // merged to make room for the split at 500.
        assert_eq!(b.on_transmit(s(0), s(500), t(100)), 500);
        assert_eq!(b.len(), 16);
        assert_eq!(b.retrans_bytes(), 500);
        assert_eq!(b.lost_bytes(), 16_000);
        // The rest of the record is picked next, from where the part ended.
        let next = b.first_lost_unsent().and_then(|i| b.get(i)).copied();
        assert_eq!(next.map(|s| (s.start, s.end)), Some((s(500), s(1000))));
        b.check();
    }

    #[test]
    fn at_the_bound_with_no_records_alike_a_retransmission_is_still_recorded() {
        let mut b = Scoreboard::new(16);
        for i in 0..16u32 {
            b.on_transmit(s(i * 1000), s(i * 1000 + 1000), t(u64::from(i)));
        }
        // SACKed and lost records alternate: no two neighbours are alike.
        for i in (1..16u32).step_by(2) {
            b.on_sack(s(i * 1000), s(i * 1000 + 1000), |_| {});
        }
        for i in (0..16).step_by(2) {
            b.mark_lost(i, LossCause::Rack);
        }
        assert_eq!(b.len(), 16);
        assert_eq!(b.high_sacked(), Some(s(16_000)));
        // The middle 300 bytes of the first hole go again.
        assert_eq!(b.on_transmit(s(200), s(500), t(100)), 300);
        assert!(b.len() <= 16);
        let sent: Vec<_> = b.overlapping(s(200), s(500)).copied().collect();
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].start, sent[0].end), (s(200), s(500)));
        assert!(sent[0].retrans && sent[0].xmit == t(100));
        // Two splits: the highest records gave up two SACK marks to make room
        // (they count as in flight, never as delivered).
        assert_eq!(b.high_sacked(), Some(s(12_000)));
        assert_eq!(b.sacked_bytes(), 6_000);
        b.check();
    }

    #[test]
    fn at_the_bound_new_data_joins_the_last_record() {
        let mut b = Scoreboard::new(16);
        for i in 0..100u32 {
            b.on_transmit(s(i * 10), s(i * 10 + 10), t(i as u64));
        }
        assert_eq!(b.len(), 16);
        assert_eq!(b.outstanding(), 1000);
        b.check();
    }

    #[test]
    fn new_data_from_one_burst_merges_into_one_record() {
        let mut b = Scoreboard::new(1000);
        b.on_transmit(s(0), s(100), t(0));
        b.on_transmit(s(100), s(200), t(0));
        b.on_transmit(s(200), s(300), t(1));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn rto_marks_everything_unsacked_lost() {
        let mut b = ten();
        b.on_sack(s(1500), s(1600), |_| {});
        b.on_transmit(s(1000), s(1100), t(30));
        assert_eq!(b.mark_all_lost(LossCause::Timeout), 900);
        assert_eq!(b.pipe(), 0);
        assert_eq!(b.retrans_bytes(), 0, "lost retransmissions lose the mark");
        b.clear_sacks();
        assert_eq!(b.sacked_bytes(), 0);
        b.check();
    }

    use proptest::prelude::*;

    /// One thing a peer or the sender can do to the scoreboard.
    #[derive(Clone, Debug)]
    enum Op {
        Send(u32),
        Resend(u32, u32),
        Sack(u32, u32),
        Ack(u32),
        Lose(u8),
        Rto,
        Renege,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u32..5000).prop_map(Op::Send),
            (0u32..20_000, 1u32..3000).prop_map(|(a, l)| Op::Resend(a, l)),
            (0u32..40_000, 0u32..40_000).prop_map(|(a, b)| Op::Sack(a, b)),
            (0u32..40_000).prop_map(Op::Ack),
            any::<u8>().prop_map(Op::Lose),
            Just(Op::Rto),
            Just(Op::Renege),
        ]
    }

    proptest! {
        /// Whatever blocks and ACKs arrive (inside, outside, overlapping,
        /// backwards) and whatever is sent: no panic, the records stay
        /// contiguous and start at SND.UNA, the byte totals match the marks.
        #[test]
        fn any_operations_keep_the_scoreboard_consistent(
            base in any::<u32>(),
            ops in proptest::collection::vec(op(), 1..80),
        ) {
            let mut b = Scoreboard::new(16);
            let mut end = s(base);
            let mut una = s(base);
            for (k, o) in ops.into_iter().enumerate() {
                let now = t(k as u64);
                match o {
                    Op::Send(n) => {
                        b.on_transmit(end, end + n, now);
                        end += n;
                    }
                    Op::Resend(a, l) => {
                        let start = una + a;
                        if start.lt(end) {
                            let stop = (start + l).min(end);
                            b.on_transmit(start, stop, now);
                            // Recorded exactly: records end at both edges, and
                            // every byte between not SACKed is marked sent now.
                            prop_assert!(b.segments().any(|s| s.start == start));
                            prop_assert!(b.segments().any(|s| s.end == stop));
                            for r in b.overlapping(start, stop) {
                                prop_assert!(r.sacked || (r.retrans && r.xmit == now));
                            }
                        }
                    }
                    Op::Sack(l, r) => {
                        b.on_sack(s(base) + l, s(base) + r, |_| {});
                    }
                    Op::Ack(a) => {
                        let ack = (s(base) + a).min(end);
                        if ack.gt(una) {
                            b.on_cumulative_ack(ack, |_| {});
                            una = ack;
                        }
                    }
                    Op::Lose(i) => {
                        b.mark_lost(usize::from(i) % (b.len() + 1), LossCause::Rack);
                    }
                    Op::Rto => {
                        b.mark_all_lost(LossCause::Timeout);
                    }
                    Op::Renege => b.clear_sacks(),
                }
                b.check();
                prop_assert!(b.pipe() <= 2 * b.outstanding());
                if let Some(start) = b.start() {
                    prop_assert_eq!(start, una);
                }
            }
        }
    }

    #[test]
    fn head_loss_without_sack_splits_one_mss() {
        let mut b = Scoreboard::new(1000);
        b.on_transmit(s(0), s(1000), t(0));
        assert_eq!(b.mark_head_lost(100, LossCause::FastRecovery), 100);
        assert_eq!(b.lost_bytes(), 100);
        b.check();
    }
}
