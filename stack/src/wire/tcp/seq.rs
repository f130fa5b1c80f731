//! TCP sequence numbers and their modular arithmetic.
//!
//! Read RFC 9293 section 3.4 before touching this. Sequence numbers live in a
//! circle of 2^32 values, so "less than" only means something for two numbers
//! less than 2^31 apart. That is why [`SeqNumber`] deliberately implements
//! neither `Ord` nor `PartialOrd`: a total order would silently give wrong
//! answers across the wrap (and break sorting and `BTreeMap`s that rely on
//! transitivity). Compare with [`SeqNumber::lt`], [`SeqNumber::le`],
//! [`SeqNumber::gt`], [`SeqNumber::ge`] or [`SeqNumber::compare`] instead.
//!
//! All arithmetic is wrapping; nothing here can panic, whatever the input.

use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, AddAssign, Sub, SubAssign};

/// A TCP sequence (or acknowledgment) number, compared modulo 2^32.
///
/// RFC 9293 section 3.4: "It is essential to remember that the actual sequence
/// number space is finite, though very large. This space ranges from 0 to
/// 2^32 - 1. Since the space is finite, all arithmetic dealing with sequence
/// numbers must be performed modulo 2^32."
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The sequence number with the raw value `value`.
    pub const fn new(value: u32) -> SeqNumber {
        SeqNumber(value)
    }

    /// The raw 32-bit value, as carried on the wire.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// The signed distance `self - other`, interpreted in the half of the
    /// circle that makes it shortest: positive when `self` is after `other`.
    ///
    /// When the two numbers are exactly 2^31 apart the answer is `i32::MIN`
    /// (the comparison is undefined there, as in every TCP).
    pub const fn signed_distance(self, other: SeqNumber) -> i32 {
        // Reinterpreting the modular difference as two's complement is the
        // classic `(int)(a - b) < 0` test of BSD and Linux (`before()`).
        self.0.wrapping_sub(other.0) as i32
    }

    /// How far `self` is ahead of `base`, going forward around the circle:
    /// `(self - base) mod 2^32`. Always in `0..2^32`.
    ///
    /// This is the offset of `self` within a window that starts at `base`.
    pub const fn offset_from(self, base: SeqNumber) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// `self < other` modulo 2^32 (RFC 9293 section 3.4's "=<" family).
    pub const fn lt(self, other: SeqNumber) -> bool {
        self.signed_distance(other) < 0
    }

    /// `self <= other` modulo 2^32.
    pub const fn le(self, other: SeqNumber) -> bool {
        self.signed_distance(other) <= 0
    }

    /// `self > other` modulo 2^32.
    pub const fn gt(self, other: SeqNumber) -> bool {
        self.signed_distance(other) > 0
    }

    /// `self >= other` modulo 2^32.
    pub const fn ge(self, other: SeqNumber) -> bool {
        self.signed_distance(other) >= 0
    }

    /// The modular ordering of `self` relative to `other`.
    ///
    /// Not transitive over the whole circle; use it only for numbers that are
    /// known to lie within 2^31 of each other (e.g. inside one window).
    pub const fn compare(self, other: SeqNumber) -> Ordering {
        let d = self.signed_distance(other);
        if d < 0 {
            Ordering::Less
        } else if d > 0 {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    }

    /// The later of two sequence numbers (modulo 2^32).
    pub const fn max(self, other: SeqNumber) -> SeqNumber {
        if self.lt(other) {
            other
        } else {
            self
        }
    }

    /// The earlier of two sequence numbers (modulo 2^32).
    pub const fn min(self, other: SeqNumber) -> SeqNumber {
        if self.gt(other) {
            other
        } else {
            self
        }
    }

    /// `max(self - other, 0)` as a byte count: how many bytes `self` is ahead
    /// of `other`, or zero if it is not ahead.
    pub const fn saturating_distance(self, other: SeqNumber) -> usize {
        let d = self.signed_distance(other);
        if d > 0 {
            d as usize
        } else {
            0
        }
    }

    /// `start <= self < start + len` modulo 2^32.
    ///
    /// This is the building block of RFC 9293 section 3.4's acceptability
    /// tests ("RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND"). An empty window
    /// (`len == 0`) contains nothing; the special cases for zero-length
    /// segments and zero windows are the caller's business. A `len` of 2^32 or
    /// more contains every sequence number.
    pub fn in_window(self, start: SeqNumber, len: usize) -> bool {
        // The forward offset is < 2^32, so widening to u64 cannot overflow
        // and a `len` beyond 2^32 simply covers the whole circle.
        u64::from(self.offset_from(start)) < len as u64
    }

    /// `start <= self <= end` modulo 2^32 (both bounds inclusive), the
    /// "SND.UNA < SEG.ACK =< SND.NXT" style of RFC 9293 section 3.4 test with
    /// the caller choosing the bounds.
    pub const fn in_range_inclusive(self, start: SeqNumber, end: SeqNumber) -> bool {
        self.offset_from(start) <= end.offset_from(start)
    }
}

impl From<u32> for SeqNumber {
    fn from(value: u32) -> SeqNumber {
        SeqNumber(value)
    }
}

impl From<SeqNumber> for u32 {
    fn from(seq: SeqNumber) -> u32 {
        seq.0
    }
}

/// Truncates a byte count to the sequence space: `n mod 2^32`.
///
/// Adding `n mod 2^32` is exactly adding `n` modulo 2^32, so this is the
/// correct modular operation, not a lossy one.
const fn usize_mod_2_32(n: usize) -> u32 {
    n as u32
}

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;
    /// Advances by `rhs` bytes, wrapping modulo 2^32.
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(usize_mod_2_32(rhs)))
    }
}

impl Add<u32> for SeqNumber {
    type Output = SeqNumber;
    /// Advances by `rhs`, wrapping modulo 2^32.
    fn add(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl AddAssign<u32> for SeqNumber {
    fn add_assign(&mut self, rhs: u32) {
        *self = *self + rhs;
    }
}

impl Sub<usize> for SeqNumber {
    type Output = SeqNumber;
    /// Goes back by `rhs` bytes, wrapping modulo 2^32.
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(usize_mod_2_32(rhs)))
    }
}

impl Sub<u32> for SeqNumber {
    type Output = SeqNumber;
    /// Goes back by `rhs`, wrapping modulo 2^32.
    fn sub(self, rhs: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs))
    }
}

impl SubAssign<usize> for SeqNumber {
    fn sub_assign(&mut self, rhs: usize) {
        *self = *self - rhs;
    }
}

impl SubAssign<u32> for SeqNumber {
    fn sub_assign(&mut self, rhs: u32) {
        *self = *self - rhs;
    }
}

impl Sub<SeqNumber> for SeqNumber {
    type Output = i32;
    /// The signed distance, see [`SeqNumber::signed_distance`].
    fn sub(self, rhs: SeqNumber) -> i32 {
        self.signed_distance(rhs)
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqNumber({})", self.0)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HALF: u32 = 1 << 31;

    fn s(v: u32) -> SeqNumber {
        SeqNumber(v)
    }

    #[test]
    fn comparisons_across_the_wrap() {
        let before = s(u32::MAX - 10);
        let after = s(5);
        assert!(before.lt(after));
        assert!(before.le(after));
        assert!(after.gt(before));
        assert!(after.ge(before));
        assert!(!after.lt(before));
        assert!(!before.gt(after));
        assert_eq!(before.compare(after), Ordering::Less);
        assert_eq!(after.compare(before), Ordering::Greater);
        assert_eq!(after.compare(after), Ordering::Equal);
        assert!(after.le(after) && after.ge(after));
        assert!(!after.lt(after) && !after.gt(after));
    }

    #[test]
    fn max_and_min_across_the_wrap() {
        let before = s(u32::MAX);
        let after = s(0);
        assert_eq!(before.max(after), after);
        assert_eq!(after.max(before), after);
        assert_eq!(before.min(after), before);
        assert_eq!(after.min(before), before);
    }

    #[test]
    fn addition_wraps() {
        assert_eq!(s(u32::MAX) + 1usize, s(0));
        assert_eq!(s(u32::MAX - 1) + 3u32, s(1));
        // usize beyond 2^32 wraps around the circle rather than panicking.
        assert_eq!(s(7) + ((1usize << 32) + 3), s(10));
        assert_eq!(s(0) - 1usize, s(u32::MAX));
        assert_eq!(s(2) - 5u32, s(u32::MAX - 2));
        let mut x = s(u32::MAX);
        x += 2usize;
        assert_eq!(x, s(1));
        x -= 2u32;
        assert_eq!(x, s(u32::MAX));
    }

    #[test]
    fn distances() {
        assert_eq!(s(3) - s(u32::MAX), 4);
        assert_eq!(s(u32::MAX) - s(3), -4);
        assert_eq!(s(3).offset_from(s(u32::MAX)), 4);
        assert_eq!(s(u32::MAX).offset_from(s(3)), u32::MAX - 3);
        assert_eq!(s(3).saturating_distance(s(u32::MAX)), 4);
        assert_eq!(s(u32::MAX).saturating_distance(s(3)), 0);
        assert_eq!(s(HALF) - s(0), i32::MIN);
    }

    #[test]
    fn window_membership() {
        let start = s(u32::MAX - 1);
        assert!(start.in_window(start, 1));
        assert!(!start.in_window(start, 0));
        assert!(s(0).in_window(start, 3));
        assert!(!s(1).in_window(start, 3));
        assert!(!s(u32::MAX - 2).in_window(start, 3));
        // A window of 2^32 or more covers everything.
        assert!(s(u32::MAX - 2).in_window(start, 1usize << 32));
        assert!(s(u32::MAX - 2).in_window(start, usize::MAX));
    }

    #[test]
    fn inclusive_range() {
        let una = s(u32::MAX - 1);
        let nxt = s(2);
        assert!(una.in_range_inclusive(una, nxt));
        assert!(nxt.in_range_inclusive(una, nxt));
        assert!(s(0).in_range_inclusive(una, nxt));
        assert!(!s(3).in_range_inclusive(una, nxt));
        assert!(!s(u32::MAX - 2).in_range_inclusive(una, nxt));
    }

    #[test]
    fn formatting() {
        assert_eq!(format!("{}", s(42)), "42");
        assert_eq!(format!("{:?}", s(42)), "SeqNumber(42)");
        assert_eq!(u32::from(SeqNumber::from(9)), 9);
        assert_eq!(SeqNumber::new(9).value(), 9);
    }

    proptest! {
        #[test]
        fn forward_distance_orders(a in any::<u32>(), d in 1u32..HALF) {
            let x = s(a);
            let y = x + d;
            prop_assert!(x.lt(y));
            prop_assert!(x.le(y));
            prop_assert!(y.gt(x));
            prop_assert!(y.ge(x));
            prop_assert!(!y.lt(x));
            prop_assert!(!x.gt(y));
            prop_assert_eq!(x.max(y), y);
            prop_assert_eq!(x.min(y), x);
            prop_assert_eq!(y - x, d as i32);
            prop_assert_eq!(x - y, -(d as i32));
            prop_assert_eq!(y.saturating_distance(x), d as usize);
            prop_assert_eq!(x.saturating_distance(y), 0);
        }

        #[test]
        fn add_then_sub_is_identity(a in any::<u32>(), n in any::<usize>()) {
            let x = s(a);
            prop_assert_eq!((x + n) - n, x);
            prop_assert_eq!(((x + n) - x) as u32, n as u32);
        }

        #[test]
        fn in_window_matches_offsets(start in any::<u32>(), off in any::<u32>(), len in 0usize..(1usize << 33)) {
            let st = s(start);
            let x = st + off;
            prop_assert_eq!(x.in_window(st, len), (off as u64) < len as u64);
        }

        #[test]
        fn window_near_the_wrap(off in 0u32..64, len in 1usize..64) {
            // Windows that straddle 2^32 behave like any other window.
            let st = s(u32::MAX - 31);
            prop_assert_eq!((st + off).in_window(st, len), (off as usize) < len);
            prop_assert_eq!((st - 1u32).in_window(st, len), false);
        }
    }
}
