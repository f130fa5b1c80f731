//! Byte ring buffer for TCP send and receive queues, with memory that follows
//! the data.
//!
//! The buffer has two regions, in logical order starting at the read
//! position:
//!
//! ```text
//!  read position
//!  v
//!  [ allocated: len() bytes | unallocated: window() bytes ]
//!    ^ queued data            ^ free space; out-of-order data may be written
//!                               here ahead of the tail before it is committed
//! ```
//!
//! - Receive side: in-order data is appended with
//!   [`RingBuffer::enqueue_slice`]; out-of-order data is parked with
//!   [`RingBuffer::write_unallocated`] at its offset past the tail and
//!   committed with [`RingBuffer::enqueue_unallocated`] once the
//!   [`Assembler`] says it is contiguous. The application reads with
//!   [`RingBuffer::dequeue_slice`] or peeks with
//!   [`RingBuffer::read_allocated`] (`MSG_PEEK`). [`RingBuffer::window`] is
//!   the receive window to advertise.
//! - Send side: the application appends with [`RingBuffer::enqueue_slice`];
//!   the sender reads any unacknowledged byte (first transmission or
//!   retransmission) with [`RingBuffer::get_allocated`] or
//!   [`RingBuffer::read_allocated`], and drops acknowledged bytes with
//!   [`RingBuffer::dequeue_allocated`].
//!
//! Every operation copies at most two contiguous pieces with
//! `copy_from_slice`; there are no per-byte loops. Every length and offset is
//! clamped, so no argument can make an operation panic.
//!
//! The capacity (`SO_RCVBUF`/`SO_SNDBUF`) is a limit, not an allocation: the
//! storage starts empty, doubles (from 4 KiB) when data needs more room, and is
//! given back by [`RingBuffer::release_if_empty`] once the owner knows nothing is
//! queued or parked, as Linux charges a socket for what it queues.
//!
//! [`Assembler`]: crate::tcp::assembler::Assembler

use core::fmt;
use core::ops::Range;

/// The capacity of a buffer that still holds data cannot be changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotEmpty;

impl fmt::Display for NotEmpty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer is not empty")
    }
}

impl std::error::Error for NotEmpty {}

/// A ring buffer of bytes with a capacity limit.
#[derive(Clone)]
pub struct RingBuffer {
    /// The bytes held: at most `limit`, possibly fewer (or none).
    storage: Vec<u8>,
    /// The capacity: what may be queued.
    limit: usize,
    /// Physical index of the first allocated byte; `< storage.len()` (or 0).
    read_at: usize,
    /// Number of allocated bytes.
    len: usize,
}

/// The first allocation of a buffer.
const MIN_STORAGE: usize = 4096;

impl RingBuffer {
    /// An empty buffer of `capacity` bytes (nothing is allocated until data
    /// comes).
    pub fn new(capacity: usize) -> RingBuffer {
        RingBuffer {
            storage: Vec::new(),
            limit: capacity,
            read_at: 0,
            len: 0,
        }
    }

    /// Total size in bytes (the limit of what may be queued).
    pub fn capacity(&self) -> usize {
        self.limit
    }

    /// Bytes of storage allocated now.
    pub fn allocated(&self) -> usize {
        self.storage.len()
    }

    /// Gives the storage back if nothing is queued; the caller knows that no
    /// out-of-order data is parked past the tail either.
    pub fn release_if_empty(&mut self) {
        if self.len == 0 && !self.storage.is_empty() {
            self.storage = Vec::new();
            self.read_at = 0;
        }
    }

    /// Makes the storage cover the logical region `[0, end)` (clamped to the
    /// limit), keeping every byte held (queued or parked) in logical order.
    fn reserve(&mut self, end: usize) {
        let end = end.min(self.limit);
        let have = self.storage.len();
        if end <= have {
            return;
        }
        let size = end
            .max(MIN_STORAGE)
            .checked_next_power_of_two()
            .unwrap_or(end)
            .max(have.saturating_mul(2))
            .min(self.limit);
        let mut grown = vec![0; size];
        if have > 0 {
            let (first, second) = self.physical(0, have);
            let n = first.len();
            if let (Some(dst), Some(src)) = (grown.get_mut(..n), self.storage.get(first)) {
                dst.copy_from_slice(src);
            }
            if let (Some(dst), Some(src)) =
                (grown.get_mut(n..n + second.len()), self.storage.get(second))
            {
                dst.copy_from_slice(src);
            }
        }
        self.storage = grown;
        self.read_at = 0;
    }

    /// Number of queued (allocated) bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no bytes are queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if no free space is left.
    pub fn is_full(&self) -> bool {
        self.window() == 0
    }

    /// Free space in bytes: how much more can be enqueued (the receive window
    /// to advertise, before scaling and silly-window avoidance).
    pub fn window(&self) -> usize {
        self.limit - self.len
    }

    /// Sets the capacity (`SO_RCVBUF` / `SO_SNDBUF`). Allowed only when no
    /// bytes are queued; data parked in the unallocated region is discarded.
    pub fn set_capacity(&mut self, capacity: usize) -> Result<(), NotEmpty> {
        if self.len != 0 {
            return Err(NotEmpty);
        }
        self.limit = capacity;
        self.storage = Vec::new();
        self.read_at = 0;
        Ok(())
    }

    /// Changes the limit of a buffer that may hold bytes (`SO_SNDBUF` on a live
    /// connection): never below what is queued, which stays.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.max(self.len);
    }

    /// Discards all queued bytes.
    pub fn clear(&mut self) {
        self.read_at = 0;
        self.len = 0;
    }

    /// Physical ranges of the logical region `[start, start + len)`, measured
    /// from the read position. The caller guarantees `start + len <=
    /// storage.len()`, so the region wraps at most once.
    fn physical(&self, start: usize, len: usize) -> (Range<usize>, Range<usize>) {
        let capacity = self.storage.len();
        if len == 0 || capacity == 0 {
            return (0..0, 0..0);
        }
        // `read_at < capacity` and `start < capacity`: the sum cannot
        // overflow (a Vec is at most isize::MAX bytes).
        let mut at = self.read_at + start;
        if at >= capacity {
            at -= capacity;
        }
        let first_len = len.min(capacity - at);
        (at..at + first_len, 0..len - first_len)
    }

    /// Copies `data` into the logical region starting at `start`; the caller
    /// has clamped `data` to fit.
    fn copy_in(&mut self, start: usize, data: &[u8]) {
        let (first, second) = self.physical(start, data.len());
        let (head, tail) = data.split_at(first.len());
        if let Some(dst) = self.storage.get_mut(first) {
            dst.copy_from_slice(head);
        }
        if let Some(dst) = self.storage.get_mut(second) {
            dst.copy_from_slice(tail);
        }
    }

    /// Appends as much of `data` as fits; returns the number of bytes queued.
    pub fn enqueue_slice(&mut self, data: &[u8]) -> usize {
        let n = self.write_unallocated(0, data);
        self.enqueue_unallocated(n)
    }

    /// Removes up to `buf.len()` bytes from the front into `buf`; returns the
    /// number of bytes copied.
    pub fn dequeue_slice(&mut self, buf: &mut [u8]) -> usize {
        let n = self.read_allocated(0, buf);
        self.dequeue_allocated(n)
    }

    /// Writes `data` into free space `offset` bytes past the tail without
    /// queueing it (out-of-order data, see the module docs). Bytes beyond the
    /// free space are not written. Returns the number of bytes written.
    pub fn write_unallocated(&mut self, offset: usize, data: &[u8]) -> usize {
        let room = self.window().saturating_sub(offset);
        let n = data.len().min(room);
        if n > 0 {
            let start = self.len + offset;
            self.reserve(start + n);
            self.copy_in(start, data.get(..n).unwrap_or_default());
        }
        n
    }

    /// Queues `count` bytes of the unallocated region (written earlier with
    /// [`RingBuffer::write_unallocated`]), at most the free space. Returns the
    /// number of bytes queued.
    pub fn enqueue_unallocated(&mut self, count: usize) -> usize {
        let n = count.min(self.window());
        // Bytes never written read as zeros, as before they were allocated.
        self.reserve(self.len + n);
        self.len += n;
        n
    }

    /// Copies queued bytes starting `offset` bytes from the front into `buf`
    /// without removing them; returns the number of bytes copied (fewer than
    /// `buf.len()` if the data runs out).
    pub fn read_allocated(&self, offset: usize, buf: &mut [u8]) -> usize {
        let (first, second) = self.get_allocated(offset, buf.len());
        let n = first.len() + second.len();
        let (head, tail) = buf.split_at_mut(first.len());
        head.copy_from_slice(first);
        if let Some(dst) = tail.get_mut(..second.len()) {
            dst.copy_from_slice(second);
        }
        n
    }

    /// Up to `len` queued bytes starting `offset` bytes from the front, as at
    /// most two slices (the second is non-empty only when the data wraps
    /// around the end of the storage). Both are empty if `offset >= len()`.
    pub fn get_allocated(&self, offset: usize, len: usize) -> (&[u8], &[u8]) {
        let n = len.min(self.len.saturating_sub(offset));
        let (first, second) = self.physical(offset, n);
        (
            self.storage.get(first).unwrap_or_default(),
            self.storage.get(second).unwrap_or_default(),
        )
    }

    /// Removes up to `count` bytes from the front without copying them (data
    /// acknowledged by the peer); returns the number removed.
    ///
    /// The read position is not rewound when the buffer becomes empty:
    /// out-of-order data may be parked past the tail.
    pub fn dequeue_allocated(&mut self, count: usize) -> usize {
        let n = count.min(self.len);
        if n > 0 {
            let (first, second) = self.physical(0, n);
            self.read_at = if second.is_empty() {
                first.end % self.storage.len().max(1)
            } else {
                second.end
            };
            self.len -= n;
        }
        n
    }
}

impl fmt::Debug for RingBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuffer")
            .field("capacity", &self.capacity())
            .field("allocated", &self.allocated())
            .field("read_at", &self.read_at)
            .field("len", &self.len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn empty_buffer() {
        let mut b = RingBuffer::new(8);
        assert!(b.is_empty());
        assert!(!b.is_full());
        assert_eq!(b.window(), 8);
        assert_eq!(b.capacity(), 8);
        let mut out = [0u8; 4];
        assert_eq!(b.dequeue_slice(&mut out), 0);
        assert_eq!(b.get_allocated(0, 4), (&[][..], &[][..]));
    }

    #[test]
    fn enqueue_dequeue() {
        let mut b = RingBuffer::new(8);
        assert_eq!(b.enqueue_slice(b"hello"), 5);
        assert_eq!(b.len(), 5);
        assert_eq!(b.window(), 3);
        let mut out = [0u8; 3];
        assert_eq!(b.dequeue_slice(&mut out), 3);
        assert_eq!(&out, b"hel");
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn enqueue_stops_when_full() {
        let mut b = RingBuffer::new(4);
        assert_eq!(b.enqueue_slice(b"abcdef"), 4);
        assert!(b.is_full());
        assert_eq!(b.enqueue_slice(b"x"), 0);
        let mut out = [0u8; 8];
        assert_eq!(b.dequeue_slice(&mut out), 4);
        assert_eq!(&out[..4], b"abcd");
    }

    #[test]
    fn wraps_around() {
        let mut b = RingBuffer::new(8);
        b.enqueue_slice(b"abcdef");
        b.dequeue_allocated(5);
        assert_eq!(b.enqueue_slice(b"ghijklm"), 7);
        assert!(b.is_full());
        let (first, second) = b.get_allocated(0, 8);
        assert_eq!(first, b"fgh");
        assert_eq!(second, b"ijklm");
        let mut out = [0u8; 8];
        assert_eq!(b.read_allocated(0, &mut out), 8);
        assert_eq!(&out, b"fghijklm");
        assert_eq!(b.read_allocated(2, &mut out[..3]), 3);
        assert_eq!(&out[..3], b"hij");
        assert_eq!(b.dequeue_slice(&mut out), 8);
        assert_eq!(&out, b"fghijklm");
        assert!(b.is_empty());
    }

    #[test]
    fn read_allocated_past_end() {
        let mut b = RingBuffer::new(8);
        b.enqueue_slice(b"abc");
        let mut out = [0u8; 8];
        assert_eq!(b.read_allocated(1, &mut out), 2);
        assert_eq!(&out[..2], b"bc");
        assert_eq!(b.read_allocated(3, &mut out), 0);
        assert_eq!(b.read_allocated(usize::MAX, &mut out), 0);
        assert_eq!(b.get_allocated(usize::MAX, usize::MAX), (&[][..], &[][..]));
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn out_of_order_write_then_commit() {
        let mut b = RingBuffer::new(10);
        b.enqueue_slice(b"ab");
        // "ef" arrives before "cd".
        assert_eq!(b.write_unallocated(2, b"ef"), 2);
        assert_eq!(b.len(), 2);
        assert_eq!(b.write_unallocated(0, b"cd"), 2);
        assert_eq!(b.enqueue_unallocated(4), 4);
        let mut out = [0u8; 6];
        assert_eq!(b.dequeue_slice(&mut out), 6);
        assert_eq!(&out, b"abcdef");
    }

    #[test]
    fn out_of_order_data_survives_draining_the_queue() {
        let mut b = RingBuffer::new(8);
        b.enqueue_slice(b"abc");
        b.write_unallocated(2, b"xy");
        let mut out = [0u8; 3];
        b.dequeue_slice(&mut out);
        assert!(b.is_empty());
        b.write_unallocated(0, b"de");
        b.enqueue_unallocated(4);
        let mut out = [0u8; 4];
        assert_eq!(b.dequeue_slice(&mut out), 4);
        assert_eq!(&out, b"dexy");
    }

    #[test]
    fn write_unallocated_is_clamped_to_free_space() {
        let mut b = RingBuffer::new(8);
        b.enqueue_slice(b"abcd");
        assert_eq!(b.write_unallocated(2, b"xyz"), 2);
        assert_eq!(b.write_unallocated(4, b"x"), 0);
        assert_eq!(b.write_unallocated(usize::MAX, b"x"), 0);
        assert_eq!(b.enqueue_unallocated(100), 4);
        assert!(b.is_full());
        let mut out = [0u8; 8];
        b.read_allocated(0, &mut out);
        assert_eq!(&out[6..], b"xy");
    }

    #[test]
    fn write_unallocated_wraps() {
        let mut b = RingBuffer::new(8);
        b.enqueue_slice(b"abcdef");
        b.dequeue_allocated(6);
        // read_at = 6; writing 5 bytes at offset 1 covers physical 7, 0..4.
        assert_eq!(b.write_unallocated(1, b"12345"), 5);
        assert_eq!(b.write_unallocated(0, b"0"), 1);
        b.enqueue_unallocated(6);
        assert_eq!(b.get_allocated(0, 6), (&b"01"[..], &b"2345"[..]));
    }

    #[test]
    fn dequeue_allocated_clamps() {
        let mut b = RingBuffer::new(4);
        b.enqueue_slice(b"ab");
        assert_eq!(b.dequeue_allocated(usize::MAX), 2);
        assert!(b.is_empty());
        assert_eq!(b.dequeue_allocated(1), 0);
    }

    #[test]
    fn dequeue_to_exact_end_wraps_read_position() {
        let mut b = RingBuffer::new(4);
        b.enqueue_slice(b"abcd");
        assert_eq!(b.dequeue_allocated(4), 4);
        b.enqueue_slice(b"wxyz");
        assert_eq!(b.get_allocated(0, 4), (&b"wxyz"[..], &b""[..]));
    }

    #[test]
    fn capacity_changes_only_when_empty() {
        let mut b = RingBuffer::new(4);
        b.enqueue_slice(b"a");
        assert_eq!(b.set_capacity(16), Err(NotEmpty));
        assert_eq!(b.capacity(), 4);
        b.clear();
        assert_eq!(b.set_capacity(16), Ok(()));
        assert_eq!(b.capacity(), 16);
        assert_eq!(b.enqueue_slice(&[7; 20]), 16);
    }

    #[test]
    fn zero_capacity() {
        let mut b = RingBuffer::new(0);
        assert!(b.is_full());
        assert!(b.is_empty());
        assert_eq!(b.enqueue_slice(b"a"), 0);
        assert_eq!(b.write_unallocated(0, b"a"), 0);
        assert_eq!(b.enqueue_unallocated(1), 0);
        assert_eq!(b.dequeue_allocated(1), 0);
        let mut out = [0u8; 1];
        assert_eq!(b.read_allocated(0, &mut out), 0);
    }

    #[test]
    fn storage_follows_the_data() {
        let mut b = RingBuffer::new(256 * 1024);
        assert_eq!(b.allocated(), 0);
        assert_eq!(b.window(), 256 * 1024);
        b.enqueue_slice(b"hello");
        assert_eq!(b.allocated(), 4096);
        b.enqueue_slice(&[7u8; 10_000]);
        assert_eq!(b.allocated(), 16384);
        let mut out = vec![0u8; 10_005];
        assert_eq!(b.dequeue_slice(&mut out), 10_005);
        assert_eq!(&out[..5], b"hello");
        assert!(out[5..].iter().all(|&x| x == 7));
        b.release_if_empty();
        assert_eq!(b.allocated(), 0);
        // Never past the limit.
        let mut small = RingBuffer::new(5000);
        small.enqueue_slice(&[1u8; 6000]);
        assert_eq!((small.len(), small.allocated()), (5000, 5000));
    }

    #[test]
    fn growing_keeps_wrapped_and_parked_bytes_in_order() {
        let mut b = RingBuffer::new(1 << 20);
        b.enqueue_slice(&[1u8; 3000]);
        b.dequeue_allocated(2500);
        // Wraps in the 4 KiB storage.
        b.enqueue_slice(&[2u8; 3000]);
        // Parked out of order past the tail, beyond the storage: it grows.
        assert_eq!(b.write_unallocated(5000, b"later"), 5);
        assert!(b.allocated() >= 8192);
        let mut out = vec![0u8; 3500];
        assert_eq!(b.read_allocated(0, &mut out), 3500);
        assert!(out[..500].iter().all(|&x| x == 1) && out[500..].iter().all(|&x| x == 2));
        // Fill the hole; the parked bytes are still there.
        assert_eq!(b.write_unallocated(0, &[3u8; 5000]), 5000);
        assert_eq!(b.enqueue_unallocated(5005), 5005);
        let mut all = vec![0u8; 8505];
        assert_eq!(b.dequeue_slice(&mut all), 8505);
        assert_eq!(&all[8500..], b"later");
    }

    #[test]
    fn debug_does_not_dump_contents() {
        let b = RingBuffer::new(4);
        assert_eq!(
            format!("{b:?}"),
            "RingBuffer { capacity: 4, allocated: 0, read_at: 0, len: 0 }"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Enqueue(Vec<u8>),
        Dequeue(usize),
        Discard(usize),
        Peek(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Enqueue),
            (0usize..40).prop_map(Op::Dequeue),
            (0usize..40).prop_map(Op::Discard),
            (0usize..40, 0usize..40).prop_map(|(o, l)| Op::Peek(o, l)),
        ]
    }

    proptest! {
        /// Against a VecDeque model.
        #[test]
        fn matches_vecdeque_model(capacity in 0usize..33, ops in proptest::collection::vec(op(), 0..60)) {
            let mut b = RingBuffer::new(capacity);
            let mut model: VecDeque<u8> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Enqueue(data) => {
                        let n = b.enqueue_slice(&data);
                        prop_assert_eq!(n, data.len().min(capacity - model.len()));
                        model.extend(&data[..n]);
                    }
                    Op::Dequeue(k) => {
                        let mut out = vec![0u8; k];
                        let n = b.dequeue_slice(&mut out);
                        let expected: Vec<u8> = model.drain(..k.min(model.len())).collect();
                        prop_assert_eq!(&out[..n], &expected[..]);
                    }
                    Op::Discard(k) => {
                        let n = b.dequeue_allocated(k);
                        prop_assert_eq!(n, k.min(model.len()));
                        model.drain(..n);
                    }
                    Op::Peek(offset, len) => {
                        let (x, y) = b.get_allocated(offset, len);
                        let got: Vec<u8> = x.iter().chain(y).copied().collect();
                        let expected: Vec<u8> = model.iter().skip(offset).take(len).copied().collect();
                        prop_assert_eq!(got, expected);
                    }
                }
                prop_assert_eq!(b.len(), model.len());
                prop_assert_eq!(b.window(), capacity - model.len());
            }
        }

        /// Writing segments out of order into the unallocated region, then
        /// committing, yields the original stream.
        #[test]
        fn unallocated_writes_reassemble(capacity in 1usize..64, prefix in 0usize..64, order in proptest::collection::vec(any::<u16>(), 8)) {
            let mut b = RingBuffer::new(capacity);
            let prefix = prefix % capacity;
            // Move the read position so writes wrap.
            b.enqueue_slice(&vec![0; prefix]);
            b.dequeue_allocated(prefix);
            let stream: Vec<u8> = (0..capacity).map(|i| i as u8).collect();
            let chunk = capacity.div_ceil(8);
            let mut chunks: Vec<usize> = (0..8).collect();
            chunks.sort_by_key(|&i| order[i]);
            for i in chunks {
                let start = (i * chunk).min(capacity);
                let end = ((i + 1) * chunk).min(capacity);
                prop_assert_eq!(b.write_unallocated(start, &stream[start..end]), end - start);
            }
            prop_assert_eq!(b.enqueue_unallocated(capacity), capacity);
            let mut out = vec![0u8; capacity];
            prop_assert_eq!(b.dequeue_slice(&mut out), capacity);
            prop_assert_eq!(out, stream);
        }
    }
}
