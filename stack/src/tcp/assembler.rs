//! Out-of-order reception: which byte ranges past the next expected byte have
//! arrived.
//!
//! Read RFC 9293 section 3.10.7.4 (segment processing, "Segments with higher
//! beginning sequence numbers SHOULD be held for later processing") and RFC
//! 2018 section 4 (which blocks to report in SACK) before touching this.
//!
//! The [`Assembler`] tracks only *where* data is; the bytes themselves are
//! written ahead of the tail of the receive [`RingBuffer`] with
//! [`RingBuffer::write_unallocated`]. Offsets are relative to the next
//! expected byte (RCV.NXT). The usual receive path is:
//!
//! ```text
//! offset = SEG.SEQ - RCV.NXT             (after trimming to the window)
//! rx_buffer.write_unallocated(offset, payload)
//! assembler.add(offset, payload.len())?  (Err: count a drop, send a dup ACK)
//! n = assembler.remove_front()           (bytes now in order)
//! rx_buffer.enqueue_unallocated(n); RCV.NXT += n
//! ```
//!
//! Memory is bounded: at most `max_ranges` disjoint ranges are held. A segment
//! that would need one more is rejected, except data at offset 0 (in-order
//! data is always accepted; the caller removes it at once).
//!
//! [`RingBuffer`]: crate::tcp::buffer::RingBuffer
//! [`RingBuffer::write_unallocated`]: crate::tcp::buffer::RingBuffer::write_unallocated

use core::fmt;

/// A held range: `[start, end)` relative to the next expected byte, and when
/// it was last extended by an arriving segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: usize,
    end: usize,
    /// Larger is more recent; unique among held ranges.
    touched: u64,
}

/// A segment was not recorded because it would need more ranges than the
/// assembler may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyRanges;

impl fmt::Display for TooManyRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "too many out-of-order ranges")
    }
}

impl std::error::Error for TooManyRanges {}

/// A bounded set of disjoint, non-adjacent byte ranges received out of order.
#[derive(Clone, Debug)]
pub struct Assembler {
    /// Sorted by `start`, disjoint and non-adjacent (touching ranges merge).
    ranges: Vec<Range>,
    max_ranges: usize,
    clock: u64,
}

impl Assembler {
    /// An empty assembler holding at most `max_ranges` ranges that do not
    /// start at offset 0. Linux has no such limit (it bounds the out-of-order
    /// queue by memory); a few dozen ranges is plenty in practice.
    pub fn new(max_ranges: usize) -> Assembler {
        Assembler {
            // +1 for a transient range at offset 0.
            ranges: Vec::with_capacity(max_ranges.saturating_add(1).min(64)),
            max_ranges,
            clock: 0,
        }
    }

    /// The configured range limit.
    pub fn max_ranges(&self) -> usize {
        self.max_ranges
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Number of disjoint ranges held.
    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Forgets everything (e.g. when the connection is reset).
    pub fn clear(&mut self) {
        self.ranges.clear();
    }

    /// Records that `len` bytes arrived at `offset` bytes past the next
    /// expected byte. Overlapping and adjacent ranges are merged; duplicates
    /// are harmless. An empty segment changes nothing.
    ///
    /// Returns `Err(TooManyRanges)` (and records nothing) if the data would
    /// need a new range while `max_ranges` ranges not starting at 0 are
    /// already held.
    pub fn add(&mut self, offset: usize, len: usize) -> Result<(), TooManyRanges> {
        let start = offset;
        let end = offset.saturating_add(len);
        if end == start {
            // Empty (or entirely beyond usize::MAX, which no window reaches).
            return Ok(());
        }
        // First range that ends at or after `start` (could touch or overlap),
        // and one past the last range that starts at or before `end`.
        let first = self.ranges.partition_point(|r| r.end < start);
        let last = self.ranges.partition_point(|r| r.start <= end);
        self.clock = self.clock.wrapping_add(1);
        let touched = self.clock;
        if first < last {
            // Merge [first, last) and the new range into one.
            let merged_start = self.ranges.get(first).map_or(start, |r| r.start.min(start));
            let merged_end = self.ranges.get(last - 1).map_or(end, |r| r.end.max(end));
            self.ranges.drain(first + 1..last);
            if let Some(r) = self.ranges.get_mut(first) {
                *r = Range {
                    start: merged_start,
                    end: merged_end,
                    touched,
                };
            }
            return Ok(());
        }
        let front_held = self.ranges.first().is_some_and(|r| r.start == 0);
        let held_past_front = self.ranges.len() - usize::from(front_held);
        if start != 0 && held_past_front >= self.max_ranges {
            return Err(TooManyRanges);
        }
        self.ranges.insert(
            first,
            Range {
                start,
                end,
                touched,
            },
        );
        Ok(())
    }

    /// If data is held at offset 0, removes that range and returns its length
    /// (the bytes that are now in order); all other ranges move down by that
    /// amount, as the next expected byte advances. Returns 0 otherwise.
    pub fn remove_front(&mut self) -> usize {
        let len = match self.ranges.first() {
            Some(r) if r.start == 0 => r.end,
            _ => return 0,
        };
        self.ranges.remove(0);
        for r in &mut self.ranges {
            // Ranges are non-adjacent, so every other range starts after
            // `len`; saturating keeps this panic-free regardless.
            r.start = r.start.saturating_sub(len);
            r.end = r.end.saturating_sub(len);
        }
        len
    }

    /// The first part of `offset..offset + len` already held, as `(start,
    /// end)` offsets: what a segment duplicates (its D-SACK block, RFC 2883).
    pub fn first_overlap(&self, offset: usize, len: usize) -> Option<(usize, usize)> {
        let end = offset.saturating_add(len);
        let i = self.ranges.partition_point(|r| r.end <= offset);
        let r = self.ranges.get(i)?;
        (r.start < end).then(|| (r.start.max(offset), r.end.min(end)))
    }

    /// True when a held range contains `offset`.
    pub fn contains(&self, offset: usize) -> bool {
        let i = self.ranges.partition_point(|r| r.end <= offset);
        self.ranges.get(i).is_some_and(|r| r.start <= offset)
    }

    /// The held ranges as `(start, end)` offsets, most recently extended
    /// first: the order of blocks in a SACK option.
    ///
    /// RFC 2018 section 4: "The first SACK block (i.e., the one immediately
    /// following the kind and length fields in the option) MUST specify the
    /// contiguous block of data containing the segment which triggered this
    /// ACK" and "The SACK option SHOULD be filled out by repeating the most
    /// recently reported SACK blocks".
    pub fn sack_blocks(&self) -> SackBlocks<'_> {
        SackBlocks {
            ranges: &self.ranges,
            below: None,
        }
    }

    /// The held ranges as `(start, end)` offsets in increasing order.
    pub fn ranges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.ranges.iter().map(|r| (r.start, r.end))
    }
}

/// Iterator over held ranges, most recent first; see
/// [`Assembler::sack_blocks`].
#[derive(Clone, Debug)]
pub struct SackBlocks<'a> {
    ranges: &'a [Range],
    /// Only ranges touched before this stamp remain to be yielded.
    below: Option<u64>,
}

impl Iterator for SackBlocks<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        // Selection by decreasing stamp: O(n) per item, no allocation; n is
        // small and a SACK option holds at most 4 blocks.
        let below = self.below;
        let next = self
            .ranges
            .iter()
            .filter(|r| below.is_none_or(|b| r.touched < b))
            .max_by_key(|r| r.touched)?;
        self.below = Some(next.touched);
        Some((next.start, next.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ranges(a: &Assembler) -> Vec<(usize, usize)> {
        a.ranges().collect()
    }

    fn sacks(a: &Assembler) -> Vec<(usize, usize)> {
        a.sack_blocks().collect()
    }

    #[test]
    fn empty() {
        let mut a = Assembler::new(4);
        assert!(a.is_empty());
        assert_eq!(a.remove_front(), 0);
        assert_eq!(sacks(&a), []);
        assert_eq!(a.add(10, 0), Ok(()));
        assert!(a.is_empty());
    }

    #[test]
    fn in_order_data() {
        let mut a = Assembler::new(4);
        a.add(0, 100).unwrap();
        assert_eq!(a.remove_front(), 100);
        assert!(a.is_empty());
    }

    #[test]
    fn hole_then_fill() {
        let mut a = Assembler::new(4);
        a.add(100, 50).unwrap();
        assert_eq!(a.remove_front(), 0);
        assert_eq!(ranges(&a), [(100, 150)]);
        a.add(0, 100).unwrap();
        assert_eq!(a.remove_front(), 150);
        assert!(a.is_empty());
    }

    #[test]
    fn remove_front_shifts_remaining_ranges() {
        let mut a = Assembler::new(4);
        a.add(20, 10).unwrap();
        a.add(50, 10).unwrap();
        a.add(0, 10).unwrap();
        assert_eq!(a.remove_front(), 10);
        assert_eq!(ranges(&a), [(10, 20), (40, 50)]);
    }

    #[test]
    fn overlapping_and_adjacent_ranges_merge() {
        let mut a = Assembler::new(8);
        a.add(10, 10).unwrap(); // [10,20)
        a.add(30, 10).unwrap(); // [30,40)
        a.add(50, 10).unwrap(); // [50,60)
        a.add(20, 10).unwrap(); // adjacent on both sides: [10,40)
        assert_eq!(ranges(&a), [(10, 40), (50, 60)]);
        a.add(35, 20).unwrap(); // overlaps both: [10,60)
        assert_eq!(ranges(&a), [(10, 60)]);
        a.add(12, 3).unwrap(); // duplicate inside
        assert_eq!(ranges(&a), [(10, 60)]);
        a.add(5, 100).unwrap(); // covers everything
        assert_eq!(ranges(&a), [(5, 105)]);
    }

    #[test]
    fn range_limit() {
        let mut a = Assembler::new(2);
        a.add(10, 5).unwrap();
        a.add(30, 5).unwrap();
        assert_eq!(a.add(50, 5), Err(TooManyRanges));
        assert_eq!(ranges(&a), [(10, 15), (30, 35)]);
        // Extending an existing range needs no new slot.
        a.add(35, 5).unwrap();
        a.add(15, 15).unwrap();
        assert_eq!(ranges(&a), [(10, 40)]);
        a.add(50, 5).unwrap();
        assert_eq!(a.range_count(), 2);
    }

    #[test]
    fn in_order_data_is_accepted_when_full() {
        let mut a = Assembler::new(1);
        a.add(10, 5).unwrap();
        a.add(0, 5).unwrap();
        assert_eq!(a.range_count(), 2);
        assert_eq!(a.remove_front(), 5);
        assert_eq!(ranges(&a), [(5, 10)]);
        // Zero ranges allowed: only in-order data.
        let mut a = Assembler::new(0);
        assert_eq!(a.add(1, 1), Err(TooManyRanges));
        a.add(0, 1).unwrap();
        assert_eq!(a.remove_front(), 1);
        assert_eq!(a.max_ranges(), 0);
    }

    #[test]
    fn sack_order_is_most_recent_first() {
        let mut a = Assembler::new(8);
        a.add(10, 5).unwrap();
        a.add(30, 5).unwrap();
        a.add(50, 5).unwrap();
        assert_eq!(sacks(&a), [(50, 55), (30, 35), (10, 15)]);
        // Extending the oldest block makes it the first.
        a.add(15, 5).unwrap();
        assert_eq!(sacks(&a), [(10, 20), (50, 55), (30, 35)]);
        // Merging two blocks: the merged block is the most recent.
        a.add(35, 15).unwrap();
        assert_eq!(sacks(&a), [(30, 55), (10, 20)]);
    }

    #[test]
    fn contains() {
        let mut a = Assembler::new(4);
        a.add(10, 5).unwrap();
        assert!(!a.contains(9));
        assert!(a.contains(10));
        assert!(a.contains(14));
        assert!(!a.contains(15));
        a.clear();
        assert!(!a.contains(10));
    }

    #[test]
    fn huge_offsets_saturate() {
        let mut a = Assembler::new(4);
        a.add(usize::MAX - 1, 10).unwrap();
        assert_eq!(ranges(&a), [(usize::MAX - 1, usize::MAX)]);
        a.add(usize::MAX, 10).unwrap();
        assert_eq!(a.range_count(), 1);
    }

    proptest! {
        /// Against a bitmap model: the assembler holds exactly the bytes
        /// added, in sorted, disjoint, non-adjacent ranges.
        #[test]
        fn matches_bitmap_model(segments in proptest::collection::vec((0usize..200, 0usize..30), 0..40)) {
            let mut a = Assembler::new(64);
            let mut model = [false; 1024];
            let mut delivered = 0usize;
            for (offset, len) in segments {
                // Offsets are relative to the current front.
                a.add(offset, len).unwrap();
                for b in &mut model[delivered + offset..delivered + offset + len] {
                    *b = true;
                }
                let n = a.remove_front();
                let expected = model[delivered..].iter().take_while(|&&b| b).count();
                prop_assert_eq!(n, expected);
                delivered += n;
                let mut prev_end = None;
                for (s, e) in a.ranges() {
                    prop_assert!(s < e);
                    prop_assert!(s > 0);
                    if let Some(p) = prev_end { prop_assert!(s > p); }
                    prev_end = Some(e);
                }
                for i in 0..300 {
                    prop_assert_eq!(a.contains(i), model[delivered + i]);
                }
                let mut sorted: Vec<_> = a.sack_blocks().collect();
                prop_assert_eq!(sorted.len(), a.range_count());
                sorted.sort_unstable();
                prop_assert_eq!(sorted, ranges(&a));
            }
        }

        /// The receive path of the module docs: segments of a stream arrive
        /// in any order, duplicated and overlapping, the application reads
        /// now and then; it reads back exactly the stream.
        #[test]
        fn reassembles_with_ring_buffer(
            order in proptest::collection::vec((any::<u16>(), 0usize..3), 16),
            capacity in 64usize..200,
        ) {
            use crate::tcp::buffer::RingBuffer;
            let stream: Vec<u8> = (0..160u32).map(|i| (i * 7) as u8).collect();
            // 16 segments of 10 bytes, some extended to overlap the next.
            let mut segments: Vec<(usize, usize, u16)> = order
                .iter()
                .enumerate()
                .map(|(i, &(key, extra))| (i * 10, (10 + extra * 5).min(160 - i * 10), key))
                .collect();
            segments.sort_by_key(|&(_, _, key)| key);
            let mut rx = RingBuffer::new(capacity);
            let mut asm = Assembler::new(8);
            let mut rcv_nxt = 0usize; // stream offset of the next expected byte
            let mut read = Vec::new();
            let mut pending = segments.clone();
            let mut rounds = 0;
            while read.len() < stream.len() && rounds < 100 {
                rounds += 1;
                let mut retry = Vec::new();
                for (start, len, key) in pending {
                    let end = start + len;
                    if end <= rcv_nxt {
                        continue; // old duplicate
                    }
                    // Trim the front to RCV.NXT and the back to the window.
                    let from = start.max(rcv_nxt);
                    let offset = from - rcv_nxt;
                    let written = rx.write_unallocated(offset, &stream[from..end]);
                    if written < end - from || asm.add(offset, written).is_err() {
                        retry.push((start, len, key)); // "retransmitted" later
                        if written == 0 { continue; }
                    }
                    let n = asm.remove_front();
                    prop_assert_eq!(rx.enqueue_unallocated(n), n);
                    rcv_nxt += n;
                }
                // The application reads half of what is queued.
                let mut buf = vec![0u8; rx.len().div_ceil(2).max(1)];
                let n = rx.dequeue_slice(&mut buf);
                read.extend_from_slice(&buf[..n]);
                pending = retry;
                if pending.is_empty() {
                    let mut rest = vec![0u8; rx.len()];
                    let n = rx.dequeue_slice(&mut rest);
                    read.extend_from_slice(&rest[..n]);
                }
            }
            prop_assert_eq!(read, stream);
        }

        #[test]
        fn never_exceeds_limit(max in 0usize..6, segments in proptest::collection::vec((0usize..1000, 1usize..20), 0..60)) {
            let mut a = Assembler::new(max);
            for (offset, len) in segments {
                let before = ranges(&a);
                match a.add(offset, len) {
                    Ok(()) => {}
                    Err(TooManyRanges) => prop_assert_eq!(ranges(&a), before),
                }
                let front = usize::from(a.ranges().next().is_some_and(|(s, _)| s == 0));
                prop_assert!(a.range_count() - front <= max);
            }
        }
    }
}
