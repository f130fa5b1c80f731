//! The ARP cache and the queue of packets waiting for resolution (RFC 826,
//! RFC 1122 2.3.2).
//!
//! RFC 1122 2.3.2.2: "The link layer SHOULD save (rather than discard) at least one
//! (the latest) packet of each set of packets destined to the same unresolved IP
//! address, and transmit the saved packet when the address has been resolved." We
//! keep up to `pending_per_neighbor` packets per neighbour (dropping the oldest, as
//! Linux does) and `pending_total` in all.
//!
//! RFC 1122 2.3.2.1 asks that ARP requests to one address be limited to one per second;
//! the retry interval is configurable and defaults to that.

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;

use crate::config::ArpConfig;
use crate::time::Instant;
use crate::wire::EthernetAddress;

/// A frame waiting for its next hop to be resolved. The Ethernet destination is
/// written when the address is known.
pub type PendingFrame = Vec<u8>;

#[derive(Debug)]
enum Entry {
    Resolved {
        mac: EthernetAddress,
        expires_at: Instant,
        /// Refresh requests sent since the entry went stale.
        probes: u32,
        next_probe: Instant,
    },
    Incomplete {
        requests_sent: u32,
        next_request_at: Instant,
        queue: VecDeque<PendingFrame>,
    },
}

/// What the caller must do after [`ArpCache::enqueue`].
#[derive(Debug, PartialEq, Eq)]
pub struct Enqueued {
    /// A resolution started: the first request must be sent now.
    pub send_request: bool,
    /// Older frames dropped to keep the pending queues within their bounds.
    pub dropped: usize,
}

/// Work the cache hands back from [`ArpCache::poll`].
#[derive(Debug, Default)]
pub struct ArpPoll {
    /// Addresses to send a (re)request for.
    pub requests: Vec<Ipv4Addr>,
    /// Addresses whose resolution failed, with the frames that were waiting.
    pub failed: Vec<(Ipv4Addr, VecDeque<PendingFrame>)>,
}

/// The neighbour cache.
#[derive(Debug)]
pub struct ArpCache {
    config: ArpConfig,
    entries: HashMap<Ipv4Addr, Entry>,
    pending_total: usize,
    /// The last address [`ArpCache::resolve`] found fresh, its MAC address and
    /// expiry: a connection's frames find their next hop without hashing.
    /// Forgotten whenever the table changes.
    last: Option<(Ipv4Addr, EthernetAddress, Instant)>,
}

impl ArpCache {
    /// An empty cache.
    pub fn new(config: ArpConfig) -> ArpCache {
        ArpCache {
            config,
            entries: HashMap::new(),
            pending_total: 0,
            last: None,
        }
    }

    /// How long a stale entry stays usable while it is re-probed (Linux's
    /// STALE/DELAY/PROBE states): the time the probes take.
    fn grace(&self) -> crate::time::Duration {
        self.config.retry_interval * self.config.max_requests.max(1)
    }

    /// The MAC address of `ip` if resolved: fresh, or stale but still being
    /// re-confirmed (see [`ArpCache::refresh_due`]).
    pub fn lookup(&self, now: Instant, ip: Ipv4Addr) -> Option<EthernetAddress> {
        match self.entries.get(&ip) {
            Some(Entry::Resolved {
                mac, expires_at, ..
            }) if *expires_at + self.grace() > now => Some(*mac),
            _ => None,
        }
    }

    /// For a frame to `ip`: its MAC address (as [`ArpCache::lookup`]), and whether
    /// the entry is due to be re-confirmed now (as [`ArpCache::refresh_due`]), in
    /// one look at the table.
    pub fn resolve(&mut self, now: Instant, ip: Ipv4Addr) -> Option<(EthernetAddress, bool)> {
        if let Some((last, mac, expires_at)) = self.last {
            if last == ip && now < expires_at {
                return Some((mac, false));
            }
        }
        let grace = self.grace();
        let interval = self.config.retry_interval;
        let max = self.config.max_requests.max(1);
        match self.entries.get_mut(&ip) {
            Some(Entry::Resolved {
                mac,
                expires_at,
                probes,
                next_probe,
            }) if *expires_at + grace > now => {
                if now < *expires_at {
                    self.last = Some((ip, *mac, *expires_at));
                }
                let due = *expires_at <= now && *probes < max && *next_probe <= now;
                if due {
                    *probes += 1;
                    *next_probe = now + interval;
                }
                Some((*mac, due))
            }
            _ => None,
        }
    }

    /// True when a stale entry for `ip` should be re-confirmed with a request now
    /// (at most one per retry interval, `max_requests` in all); traffic keeps using
    /// the old address meanwhile, as Linux does.
    pub fn refresh_due(&mut self, now: Instant, ip: Ipv4Addr) -> bool {
        self.resolve(now, ip).is_some_and(|(_, due)| due)
    }

    /// Number of entries (resolved or not).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Frames waiting for resolution, in all.
    pub fn pending(&self) -> usize {
        self.pending_total
    }

    /// Resolved entries, for display (`stats`).
    pub fn resolved(&self, now: Instant) -> Vec<(Ipv4Addr, EthernetAddress)> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .filter_map(|(ip, e)| match e {
                Entry::Resolved {
                    mac, expires_at, ..
                } if *expires_at > now => Some((*ip, *mac)),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    /// Records `ip` at `mac`. With `create` false only an existing entry is updated
    /// (RFC 826's merge rule for packets not addressed to us). Returns the frames that
    /// were waiting for this address, to be sent now.
    pub fn learn(
        &mut self,
        now: Instant,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        create: bool,
    ) -> VecDeque<PendingFrame> {
        self.last = None;
        let expires_at = now + self.config.cache_ttl;
        match self.entries.get_mut(&ip) {
            Some(entry) => {
                let old = std::mem::replace(
                    entry,
                    Entry::Resolved {
                        mac,
                        expires_at,
                        probes: 0,
                        next_probe: expires_at,
                    },
                );
                match old {
                    Entry::Incomplete { queue, .. } => {
                        self.pending_total -= queue.len();
                        queue
                    }
                    Entry::Resolved { .. } => VecDeque::new(),
                }
            }
            None => {
                // A new entry only while there is room: an entry made because
                // someone asked for us never pushes out a resolution in progress.
                if create && self.make_room(now) {
                    self.entries.insert(
                        ip,
                        Entry::Resolved {
                            mac,
                            expires_at,
                            probes: 0,
                            next_probe: expires_at,
                        },
                    );
                }
                VecDeque::new()
            }
        }
    }

    /// Queues `frame` for `ip`, which did not resolve through [`ArpCache::lookup`].
    pub fn enqueue(&mut self, now: Instant, ip: Ipv4Addr, frame: PendingFrame) -> Enqueued {
        self.last = None;
        let fresh = !matches!(self.entries.get(&ip), Some(Entry::Incomplete { .. }));
        let mut dropped = 0;
        if fresh {
            self.entries.remove(&ip);
            dropped += self.make_room_for_resolution(now);
            self.entries.insert(
                ip,
                Entry::Incomplete {
                    requests_sent: 1,
                    next_request_at: now + self.config.retry_interval,
                    queue: VecDeque::new(),
                },
            );
        }
        // Make room in the global bound by dropping the oldest frame of this
        // neighbour first, then of any other.
        let per = self.config.pending_per_neighbor.max(1);
        let total = self.config.pending_total.max(1);
        if let Some(Entry::Incomplete { queue, .. }) = self.entries.get_mut(&ip) {
            while queue.len() >= per {
                queue.pop_front();
                self.pending_total -= 1;
                dropped += 1;
            }
        }
        while self.pending_total >= total {
            // The neighbour with the longest queue gives up its oldest frame (lowest
            // address on a tie, so the choice does not depend on hash order).
            let victim = self
                .entries
                .iter()
                .filter_map(|(vip, e)| match e {
                    Entry::Incomplete { queue, .. } if !queue.is_empty() => {
                        Some((queue.len(), std::cmp::Reverse(*vip)))
                    }
                    _ => None,
                })
                .max()
                .map(|(_, std::cmp::Reverse(vip))| vip);
            match victim.and_then(|v| self.entries.get_mut(&v)) {
                Some(Entry::Incomplete { queue, .. }) => {
                    queue.pop_front();
                    self.pending_total -= 1;
                    dropped += 1;
                }
                _ => break,
            }
        }
        if let Some(Entry::Incomplete { queue, .. }) = self.entries.get_mut(&ip) {
            queue.push_back(frame);
            self.pending_total += 1;
        }
        Enqueued {
            send_request: fresh,
            dropped,
        }
    }

    /// True when a resolution for `ip` is under way.
    pub fn is_resolving(&self, ip: Ipv4Addr) -> bool {
        matches!(self.entries.get(&ip), Some(Entry::Incomplete { .. }))
    }

    /// Advances timers: retries due requests, fails resolutions that used all their
    /// requests, and forgets expired entries.
    pub fn poll(&mut self, now: Instant) -> ArpPoll {
        self.last = None;
        let mut out = ArpPoll::default();
        let max = self.config.max_requests.max(1);
        let interval = self.config.retry_interval;
        let mut failed = Vec::new();
        let grace = self.grace();
        self.entries.retain(|ip, e| match e {
            Entry::Resolved { expires_at, .. } => *expires_at + grace > now,
            Entry::Incomplete {
                requests_sent,
                next_request_at,
                ..
            } => {
                if *next_request_at > now {
                    return true;
                }
                if *requests_sent >= max {
                    failed.push(*ip);
                    return true; // removed below, so its queue can be handed back
                }
                *requests_sent += 1;
                *next_request_at = now + interval;
                out.requests.push(*ip);
                true
            }
        });
        for ip in failed {
            if let Some(Entry::Incomplete { queue, .. }) = self.entries.remove(&ip) {
                self.pending_total -= queue.len();
                out.failed.push((ip, queue));
            }
        }
        out.requests.sort();
        out.failed.sort_by_key(|(ip, _)| *ip);
        out
    }

    /// The next time [`ArpCache::poll`] has work: a retry or a failure.
    /// Expiry of resolved entries is lazy and does not wake the stack.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|e| match e {
                Entry::Incomplete {
                    next_request_at, ..
                } => Some(*next_request_at),
                Entry::Resolved { .. } => None,
            })
            .min()
    }

    /// Makes room for one more entry within `max_entries`, evicting an expired
    /// entry or else the resolved one closest to expiry. A resolution in progress
    /// is never evicted here (its frames are waiting): false when every entry is
    /// one, and there is no room.
    fn make_room(&mut self, now: Instant) -> bool {
        self.last = None;
        if self.entries.len() < self.config.max_entries.max(1) {
            return true;
        }
        let victim = self
            .entries
            .iter()
            .filter_map(|(ip, e)| match e {
                Entry::Resolved { expires_at, .. } => Some((*expires_at <= now, *expires_at, *ip)),
                Entry::Incomplete { .. } => None,
            })
            .max_by_key(|(expired, at, ip)| {
                (*expired, std::cmp::Reverse(*at), std::cmp::Reverse(*ip))
            })
            .map(|(_, _, ip)| ip);
        match victim {
            Some(ip) => {
                self.entries.remove(&ip);
                true
            }
            None => false,
        }
    }

    /// Like [`ArpCache::make_room`] for a resolution of our own: when every entry
    /// is a resolution in progress, the one furthest along (its next request due
    /// first, lowest address on a tie) gives way, and its waiting frames are
    /// dropped. Returns how many.
    fn make_room_for_resolution(&mut self, now: Instant) -> usize {
        if self.make_room(now) {
            return 0;
        }
        let victim = self
            .entries
            .iter()
            .filter_map(|(ip, e)| match e {
                Entry::Incomplete {
                    next_request_at, ..
                } => Some((*next_request_at, *ip)),
                Entry::Resolved { .. } => None,
            })
            .min()
            .map(|(_, ip)| ip);
        match victim.and_then(|ip| self.entries.remove(&ip)) {
            Some(Entry::Incomplete { queue, .. }) => {
                self.pending_total -= queue.len();
                queue.len()
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn ip(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, n)
    }
    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 9]);

    fn cache() -> ArpCache {
        ArpCache::new(ArpConfig {
            cache_ttl: Duration::from_secs(60),
            retry_interval: Duration::from_secs(1),
            max_requests: 3,
            pending_per_neighbor: 3,
            pending_total: 5,
            max_entries: 4,
        })
    }

    #[test]
    fn resolution_flushes_queue() {
        let mut c = cache();
        let t = Instant::ZERO;
        assert_eq!(c.lookup(t, ip(1)), None);
        assert!(c.enqueue(t, ip(1), vec![1]).send_request);
        assert_eq!(
            c.enqueue(t, ip(1), vec![2]),
            Enqueued {
                send_request: false,
                dropped: 0
            }
        );
        assert_eq!(c.pending(), 2);
        let q = c.learn(t + Duration::from_millis(5), ip(1), MAC, false);
        assert_eq!(q, VecDeque::from(vec![vec![1], vec![2]]));
        assert_eq!(c.pending(), 0);
        assert_eq!(c.lookup(t, ip(1)), Some(MAC));
    }

    #[test]
    fn retries_then_fails_after_max_requests() {
        let mut c = cache();
        let t = Instant::ZERO;
        c.enqueue(t, ip(1), vec![1]);
        assert_eq!(c.next_deadline(), Some(Instant::from_secs(1)));
        // Nothing due before the interval.
        let p = c.poll(Instant::from_millis(999));
        assert!(p.requests.is_empty() && p.failed.is_empty());
        // Requests 2 and 3 at 1 s and 2 s.
        assert_eq!(c.poll(Instant::from_secs(1)).requests, vec![ip(1)]);
        assert_eq!(c.poll(Instant::from_secs(2)).requests, vec![ip(1)]);
        // At 3 s the third request has gone unanswered for an interval: failure.
        let p = c.poll(Instant::from_secs(3));
        assert!(p.requests.is_empty());
        assert_eq!(p.failed.len(), 1);
        assert_eq!(p.failed[0].0, ip(1));
        assert_eq!(p.failed[0].1.len(), 1);
        assert_eq!(c.pending(), 0);
        assert!(c.is_empty());
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn entries_go_stale_are_reprobed_then_expire() {
        let mut c = cache();
        c.learn(Instant::ZERO, ip(1), MAC, true);
        assert_eq!(c.lookup(Instant::from_secs(59), ip(1)), Some(MAC));
        assert!(!c.refresh_due(Instant::from_secs(59), ip(1)));
        // Stale: still used, and re-probed once per second, three times.
        assert_eq!(c.lookup(Instant::from_secs(60), ip(1)), Some(MAC));
        assert!(c.refresh_due(Instant::from_secs(60), ip(1)));
        assert!(!c.refresh_due(Instant::from_millis(60_500), ip(1)));
        assert!(c.refresh_due(Instant::from_secs(61), ip(1)));
        assert_eq!(
            c.resolve(Instant::from_millis(61_200), ip(1)),
            Some((MAC, false))
        );
        assert!(c.refresh_due(Instant::from_secs(62), ip(1)));
        assert!(!c.refresh_due(Instant::from_secs(63), ip(1)));
        // Unanswered: gone after the grace period.
        assert_eq!(c.lookup(Instant::from_secs(63), ip(1)), None);
        c.poll(Instant::from_secs(63));
        assert!(c.is_empty());
        // An answer refreshes it.
        c.learn(Instant::ZERO, ip(2), MAC, true);
        assert!(c.refresh_due(Instant::from_secs(60), ip(2)));
        c.learn(Instant::from_secs(60), ip(2), MAC, false);
        assert_eq!(c.lookup(Instant::from_secs(119), ip(2)), Some(MAC));
        assert!(!c.refresh_due(Instant::from_secs(119), ip(2)));
    }

    #[test]
    fn a_changed_address_is_seen_at_once_through_the_last_lookup() {
        let mut c = cache();
        let other = EthernetAddress([2, 0, 0, 0, 0, 7]);
        c.learn(Instant::ZERO, ip(1), MAC, true);
        assert_eq!(c.resolve(Instant::from_secs(1), ip(1)), Some((MAC, false)));
        assert_eq!(c.resolve(Instant::from_secs(2), ip(1)), Some((MAC, false)));
        c.learn(Instant::from_secs(3), ip(1), other, false);
        assert_eq!(
            c.resolve(Instant::from_secs(4), ip(1)),
            Some((other, false))
        );
        // Past its expiry the entry is looked at again (and re-probed).
        assert_eq!(
            c.resolve(Instant::from_secs(63), ip(1)),
            Some((other, true))
        );
    }

    #[test]
    fn merge_rule_does_not_create() {
        let mut c = cache();
        c.learn(Instant::ZERO, ip(1), MAC, false);
        assert!(c.is_empty());
        c.learn(Instant::ZERO, ip(1), MAC, true);
        let other = EthernetAddress([2, 0, 0, 0, 0, 7]);
        c.learn(Instant::ZERO, ip(1), other, false);
        assert_eq!(c.lookup(Instant::ZERO, ip(1)), Some(other));
    }

    #[test]
    fn pending_queue_is_bounded_per_neighbour_and_in_total() {
        let mut c = cache();
        let t = Instant::ZERO;
        for i in 0..3 {
            c.enqueue(t, ip(1), vec![i]);
        }
        assert_eq!(c.enqueue(t, ip(1), vec![3]).dropped, 1);
        assert_eq!(c.pending(), 3);
        c.enqueue(t, ip(2), vec![10]);
        c.enqueue(t, ip(2), vec![11]);
        assert_eq!(c.pending(), 5);
        // Total bound of 5 reached: a new frame evicts an old one somewhere.
        let e = c.enqueue(t, ip(3), vec![20]);
        assert!(e.send_request);
        assert_eq!(e.dropped, 1);
        assert_eq!(c.pending(), 5);
        // The longest queue, ip(1)'s, gave up its oldest frame (frame 0 was already
        // dropped by the per-neighbour bound, so frame 1 went).
        let q = c.learn(t, ip(1), MAC, false);
        assert_eq!(q, VecDeque::from(vec![vec![2], vec![3]]));
    }

    #[test]
    fn cache_size_is_bounded() {
        let mut c = cache();
        for n in 1..=10 {
            c.learn(Instant::from_secs(n as u64), ip(n), MAC, true);
        }
        assert!(c.len() <= 4);
        // The newest survives; the oldest was evicted.
        assert!(c.lookup(Instant::from_secs(10), ip(10)).is_some());
        assert!(c.lookup(Instant::from_secs(10), ip(1)).is_none());
    }

    #[test]
    fn resolutions_in_progress_are_bounded_too() {
        let mut c = cache();
        let now = Instant::ZERO;
        // Six resolutions for a cache of four: the oldest give way, with their frames.
        let mut dropped = 0;
        for n in 1..=6 {
            dropped += c
                .enqueue(now + Duration::from_millis(n as u64), ip(n), vec![n])
                .dropped;
        }
        assert_eq!(c.len(), 4);
        assert_eq!(dropped, 2);
        assert_eq!(c.pending(), 4);
        assert!(!c.is_resolving(ip(1)) && c.is_resolving(ip(6)));
        // Requests for us from new senders find no room: nothing is pushed out.
        for n in 10..200 {
            let _ = c.learn(now, ip(n), MAC, true);
        }
        assert_eq!(c.len(), 4);
        assert!((3..=6).all(|n| c.is_resolving(ip(n))));
    }
}
