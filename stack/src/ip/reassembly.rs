//! IPv4 fragment reassembly (RFC 791 section 3.2, RFC 815, RFC 1122 3.3.2).
//!
//! Datagrams are keyed by (source, destination, protocol, identification) in a hash
//! map, and ordered by age in a second index, so lookup, expiry and the next
//! deadline cost O(1) or O(log n) however many datagrams are held. Each held
//! datagram records the byte ranges received so far. Bounds (invariant 4): a timeout
//! per datagram (RFC 1122 3.3.2: "If the reassembly timeout expires, the partially
//! reassembled datagram MUST be discarded"), a cap on held bytes across all datagrams,
//! and a cap on datagrams held. A full table refuses fragments of new datagrams and
//! evicts nothing, as Linux's `ipfrag_high_thresh` does: a flood of fragments cannot
//! flush datagrams already in progress, and a datagram that would take the table
//! past its memory bound is the one dropped.
//!
//! Overlap policy: an exact duplicate of a received fragment is ignored; any other
//! overlap discards the whole datagram, as Linux does since the "FragmentSmack" fixes
//! (and as RFC 5722 requires for IPv6), so overlapping fragments can never rewrite
//! bytes already accepted.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use crate::counters::DropReason;
use crate::time::{Duration, Instant};

/// Largest IPv4 payload: 65535 minus the minimum header.
pub const MAX_PAYLOAD: usize = 65535 - 20;

/// Identifies the datagram a fragment belongs to (RFC 791).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FragmentKey {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol number.
    pub protocol: u8,
    /// Identification field.
    pub ident: u16,
}

/// A reassembled datagram.
#[derive(Debug, PartialEq, Eq)]
pub struct Reassembled {
    /// The header of the first fragment (offset zero), options included.
    pub header: Vec<u8>,
    /// The whole payload.
    pub payload: Vec<u8>,
}

/// A datagram discarded on timeout, for the ICMP time-exceeded message RFC 792 asks
/// for ("code 1 ... fragment reassembly time exceeded") when the first fragment came.
#[derive(Debug)]
pub struct Expired {
    /// Its key.
    pub key: FragmentKey,
    /// Header and first bytes of the offset-zero fragment, if it arrived.
    pub first_fragment: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Partial {
    created: Instant,
    data: Vec<u8>,
    /// Received ranges, sorted, non-overlapping: (start, end) byte offsets.
    ranges: Vec<(usize, usize)>,
    /// Payload length, once the last fragment (MF clear) arrived.
    total: Option<usize>,
    /// Header of the offset-zero fragment plus up to 8 payload bytes.
    first: Option<Vec<u8>>,
    header: Vec<u8>,
}

/// What a held datagram costs besides its bytes (charged so that many tiny
/// fragments are not free).
const PARTIAL_OVERHEAD: usize = 128;

impl Partial {
    fn footprint(&self) -> usize {
        self.data.len() + PARTIAL_OVERHEAD + self.ranges.len() * 16
    }

    fn complete(&self) -> bool {
        match self.total {
            Some(total) => self.ranges.len() == 1 && self.ranges[0] == (0, total),
            None => false,
        }
    }
}

/// The reassembly table.
#[derive(Debug)]
pub struct Reassembler {
    timeout: Duration,
    memory_limit: usize,
    max_datagrams: usize,
    memory_used: usize,
    partials: HashMap<FragmentKey, Partial>,
    /// The same datagrams, oldest first.
    by_age: BTreeSet<(Instant, FragmentKey)>,
}

/// One received fragment.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// Which datagram.
    pub key: FragmentKey,
    /// Offset of this fragment's payload, in bytes.
    pub offset: usize,
    /// More-fragments flag.
    pub more: bool,
    /// The fragment's IP header, options included.
    pub header: &'a [u8],
    /// The fragment's payload.
    pub payload: &'a [u8],
}

impl Reassembler {
    /// An empty table.
    pub fn new(timeout: Duration, memory_limit: usize, max_datagrams: usize) -> Reassembler {
        Reassembler {
            timeout,
            memory_limit,
            max_datagrams: max_datagrams.max(1),
            memory_used: 0,
            partials: HashMap::new(),
            by_age: BTreeSet::new(),
        }
    }

    /// Bytes currently held (buffers plus overhead).
    pub fn memory_used(&self) -> usize {
        self.memory_used
    }

    /// Datagrams currently incomplete.
    pub fn len(&self) -> usize {
        self.partials.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.partials.is_empty()
    }

    /// Adds a fragment. Returns the whole datagram when this fragment completes it;
    /// a fragment of a new datagram finding the table full is `FragTableFull`.
    pub fn add(
        &mut self,
        now: Instant,
        frag: Fragment<'_>,
    ) -> Result<Option<Reassembled>, DropReason> {
        let start = frag.offset;
        let end = start + frag.payload.len();
        // RFC 791: every fragment but the last carries a multiple of 8 bytes.
        if (frag.more && !frag.payload.len().is_multiple_of(8)) || end > MAX_PAYLOAD {
            return Err(DropReason::FragMalformed);
        }
        if frag.payload.is_empty() && frag.more {
            return Err(DropReason::FragMalformed);
        }
        if !self.partials.contains_key(&frag.key) {
            if self.partials.len() >= self.max_datagrams
                || self.memory_used + PARTIAL_OVERHEAD > self.memory_limit
            {
                return Err(DropReason::FragTableFull);
            }
            self.partials.insert(
                frag.key,
                Partial {
                    created: now,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                    first: None,
                    header: Vec::new(),
                },
            );
            self.by_age.insert((now, frag.key));
            self.memory_used += PARTIAL_OVERHEAD;
        }
        match self.insert(frag, start, end) {
            Err(DropReason::FragDuplicate) => Err(DropReason::FragDuplicate),
            Err(reason) => {
                self.remove(&frag.key);
                Err(reason)
            }
            Ok(()) => {
                if self.memory_used > self.memory_limit {
                    // Past the bound: this datagram goes, not the others.
                    self.remove(&frag.key);
                    return Err(DropReason::FragMemory);
                }
                if !self.partials.get(&frag.key).is_some_and(Partial::complete) {
                    return Ok(None);
                }
                let Some(p) = self.remove(&frag.key) else {
                    return Ok(None);
                };
                let total = p.total.unwrap_or(0);
                let mut payload = p.data;
                payload.truncate(total);
                Ok(Some(Reassembled {
                    header: p.header,
                    payload,
                }))
            }
        }
    }

    fn insert(&mut self, frag: Fragment<'_>, start: usize, end: usize) -> Result<(), DropReason> {
        let p = self
            .partials
            .get_mut(&frag.key)
            .ok_or(DropReason::FragMalformed)?;
        let before = p.footprint();
        if !frag.more {
            // The last fragment fixes the length; a second, different end is bogus.
            if p.total.is_some_and(|t| t != end) {
                return Err(DropReason::FragMalformed);
            }
            if p.ranges.last().is_some_and(|&(_, e)| e > end) {
                return Err(DropReason::FragMalformed);
            }
        } else if p.total.is_some_and(|t| end > t) {
            return Err(DropReason::FragMalformed);
        }
        // Overlap check against the sorted ranges.
        for &(s, e) in &p.ranges {
            if s == start && e == end {
                return Err(DropReason::FragDuplicate);
            }
            if start < e && s < end {
                return Err(DropReason::FragOverlap);
            }
        }
        if !frag.more {
            p.total = Some(end);
        }
        if p.data.len() < end {
            p.data.resize(end, 0);
        }
        p.data[start..end].copy_from_slice(frag.payload);
        let pos = p.ranges.partition_point(|&(s, _)| s < start);
        p.ranges.insert(pos, (start, end));
        // Merge adjacent ranges.
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(p.ranges.len());
        for &(s, e) in &p.ranges {
            match merged.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => merged.push((s, e)),
            }
        }
        p.ranges = merged;
        if start == 0 {
            p.header = frag.header.to_vec();
            let mut first = frag.header.to_vec();
            first.extend_from_slice(&frag.payload[..frag.payload.len().min(8)]);
            p.first = Some(first);
        }
        let after = p.footprint();
        self.memory_used = self.memory_used + after - before;
        Ok(())
    }

    fn remove(&mut self, key: &FragmentKey) -> Option<Partial> {
        let p = self.partials.remove(key)?;
        self.by_age.remove(&(p.created, *key));
        self.memory_used = self.memory_used.saturating_sub(p.footprint());
        Some(p)
    }

    /// Discards datagrams older than the timeout, oldest first.
    pub fn expire(&mut self, now: Instant) -> Vec<Expired> {
        let mut expired = Vec::new();
        while let Some(&(created, key)) = self.by_age.first() {
            if created + self.timeout > now {
                break;
            }
            match self.remove(&key) {
                Some(p) => expired.push(Expired {
                    key,
                    first_fragment: p.first,
                }),
                None => {
                    self.by_age.remove(&(created, key));
                }
            }
        }
        expired
    }

    /// When the oldest held datagram times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.by_age
            .first()
            .map(|&(created, _)| created + self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: FragmentKey = FragmentKey {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 0, 0, 2),
        protocol: 17,
        ident: 7,
    };
    const HDR: [u8; 20] = [0x45; 20];

    fn frag(offset: usize, more: bool, payload: &[u8]) -> Fragment<'_> {
        Fragment {
            key: KEY,
            offset,
            more,
            header: &HDR,
            payload,
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    fn table() -> Reassembler {
        Reassembler::new(Duration::from_secs(30), 1 << 20, 16)
    }

    /// Splits `d` into 8-aligned pieces of `size` and feeds them in `order`.
    fn feed(r: &mut Reassembler, d: &[u8], size: usize, order: &[usize]) -> Option<Reassembled> {
        let pieces: Vec<(usize, &[u8])> = d
            .chunks(size)
            .enumerate()
            .map(|(i, c)| (i * size, c))
            .collect();
        let mut out = None;
        for &i in order {
            let (off, c) = pieces[i];
            let more = off + c.len() < d.len();
            let r = r.add(Instant::ZERO, frag(off, more, c)).unwrap();
            assert!(out.is_none() || r.is_none());
            if r.is_some() {
                out = r;
            }
        }
        out
    }

    #[test]
    fn reassembles_in_every_order() {
        let d = data(4000);
        let orders: [&[usize]; 4] = [&[0, 1, 2], &[2, 1, 0], &[1, 2, 0], &[2, 0, 1]];
        for order in orders {
            let mut r = table();
            let out = feed(&mut r, &d, 1480, order).expect("complete");
            assert_eq!(out.payload, d, "order {order:?}");
            assert_eq!(out.header, HDR.to_vec());
            assert!(r.is_empty());
            assert_eq!(r.memory_used(), 0);
        }
    }

    #[test]
    fn incomplete_until_last_piece() {
        let d = data(3000);
        let mut r = table();
        assert!(feed(&mut r, &d, 1000, &[0, 2]).is_none());
        assert_eq!(r.len(), 1);
        assert!(feed(&mut r, &d, 1000, &[1]).is_some());
    }

    #[test]
    fn exact_duplicate_is_ignored_overlap_drops_datagram() {
        let d = data(2400);
        let mut r = table();
        r.add(Instant::ZERO, frag(0, true, &d[..800])).unwrap();
        assert_eq!(
            r.add(Instant::ZERO, frag(0, true, &d[..800])),
            Err(DropReason::FragDuplicate)
        );
        assert_eq!(r.len(), 1, "a duplicate keeps the datagram");
        // Overlap: 400..1200 overlaps 0..800.
        assert_eq!(
            r.add(Instant::ZERO, frag(400, true, &d[400..1200])),
            Err(DropReason::FragOverlap)
        );
        assert!(r.is_empty(), "an overlap discards the datagram");
        assert_eq!(r.memory_used(), 0);
    }

    #[test]
    fn malformed_fragments() {
        let mut r = table();
        let d = data(100);
        // Not a multiple of 8 with MF set.
        assert_eq!(
            r.add(Instant::ZERO, frag(0, true, &d[..13])),
            Err(DropReason::FragMalformed)
        );
        // Beyond 65535.
        assert_eq!(
            r.add(Instant::ZERO, frag(65528, false, &d[..16])),
            Err(DropReason::FragMalformed)
        );
        // Data past a known end.
        r.add(Instant::ZERO, frag(0, false, &d[..16]))
            .map(|x| assert!(x.is_some()))
            .unwrap();
        r.add(Instant::ZERO, frag(16, false, &d[..16])).unwrap();
        assert_eq!(
            r.add(Instant::ZERO, frag(32, true, &d[..16])),
            Err(DropReason::FragMalformed)
        );
    }

    #[test]
    fn timeout_discards_and_reports_first_fragment() {
        let mut r = table();
        let d = data(16);
        r.add(Instant::from_secs(1), frag(0, true, &d[..8]))
            .unwrap();
        assert_eq!(r.next_deadline(), Some(Instant::from_secs(31)));
        assert!(r.expire(Instant::from_secs(30)).is_empty());
        let ex = r.expire(Instant::from_secs(31));
        assert_eq!(ex.len(), 1);
        let first = ex[0].first_fragment.as_ref().unwrap();
        assert_eq!(first.len(), 20 + 8);
        assert!(r.is_empty());
        assert_eq!(r.memory_used(), 0);
        assert_eq!(r.next_deadline(), None);
    }

    #[test]
    fn the_memory_bound_drops_the_growing_datagram_not_the_others() {
        let mut r = Reassembler::new(Duration::from_secs(30), 10_000, 100);
        let d = data(4000);
        let frag = |ident: u16, offset: usize, more: bool, payload: &'static [u8]| Fragment {
            key: FragmentKey { ident, ..KEY },
            offset,
            more,
            header: &HDR,
            payload,
        };
        let d: &'static [u8] = d.leak();
        let mut held = Vec::new();
        for ident in 0..5u16 {
            match r.add(
                Instant::from_millis(ident as u64),
                frag(ident, 0, true, &d[..4000]),
            ) {
                Ok(None) => held.push(ident),
                Err(e) => assert!(
                    e == DropReason::FragMemory || e == DropReason::FragTableFull,
                    "{e:?}"
                ),
                Ok(Some(_)) => unreachable!(),
            }
            assert!(r.memory_used() <= 10_000, "bound held after {ident}");
        }
        // The first two fit and stay; the later ones were refused.
        assert_eq!(held, vec![0, 1]);
        // The datagrams in progress still complete.
        for ident in held {
            let whole = r.add(Instant::from_millis(10), frag(ident, 4000, false, &d[..8]));
            assert_eq!(whole.unwrap().unwrap().payload.len(), 4008);
        }
        // A single datagram larger than the bound is refused outright.
        let big: &'static [u8] = data(16_000).leak();
        assert_eq!(
            r.add(Instant::ZERO, frag(99, 0, true, big)),
            Err(DropReason::FragMemory)
        );
        assert_eq!(r.memory_used(), 0);
    }

    #[test]
    fn datagram_count_is_bounded_and_a_flood_does_not_flush_work_in_progress() {
        let mut r = Reassembler::new(Duration::from_secs(30), 1 << 20, 3);
        let d = data(16);
        let frag = |ident: u16, offset: usize, more: bool, payload: &[u8]| {
            // Copy so that the closure's borrow ends with the call.
            (FragmentKey { ident, ..KEY }, offset, more, payload.to_vec())
        };
        let mut refused = 0;
        for ident in 0..10u16 {
            let (key, offset, more, payload) = frag(ident, 0, true, &d[..8]);
            let f = Fragment {
                key,
                offset,
                more,
                header: &HDR,
                payload: &payload,
            };
            match r.add(Instant::from_millis(ident as u64), f) {
                Ok(None) => {}
                Err(DropReason::FragTableFull) => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(r.len(), 3);
        assert_eq!(refused, 7);
        // The first three (in progress before the flood) complete.
        for ident in 0..3u16 {
            let (key, offset, more, payload) = frag(ident, 8, false, &d[8..]);
            let f = Fragment {
                key,
                offset,
                more,
                header: &HDR,
                payload: &payload,
            };
            assert!(r.add(Instant::from_millis(20), f).unwrap().is_some());
        }
        assert!(r.is_empty());
        assert_eq!(r.next_deadline(), None);
    }
}
