//! Per-connection TCP timers as plain data.
//!
//! Read RFC 9293 section 3.8 and RFC 1122 section 4.2.3 before touching this.
//! A connection has a handful of timers, each either disarmed or armed with a
//! deadline. Nothing here fires anything: the engine asks
//! [`Timers::next_deadline`] for its next wake-up (the minimum over all
//! connections is what `poll_timeout` returns) and, when called back with
//! `now`, drains [`Timers::pop_expired`] and acts on each kind.

use crate::time::Instant;

/// The timers a TCP connection may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    /// Retransmission of unacknowledged data, SYN or FIN (RFC 6298 section
    /// 5; RFC 9293 section 3.8.1).
    Retransmit,
    /// Delayed acknowledgment (RFC 9293 section 3.8.6.3, RFC 1122 section
    /// 4.2.3.2: the delay must be under 0.5 s; Linux uses 40 ms to 200 ms).
    DelayedAck,
    /// Zero-window probing. RFC 9293 section 3.8.6.1: "The sending TCP peer
    /// must regularly transmit at least one octet of new data (if available),
    /// or retransmit to the receiving TCP peer even if the send window is
    /// zero".
    Persist,
    /// Keep-alive probes (`SO_KEEPALIVE`); RFC 1122 section 4.2.3.6: the
    /// interval "MUST be configurable and MUST default to no less than two
    /// hours".
    KeepAlive,
    /// Orphaned FIN-WAIT-2 timeout (Linux's `tcp_fin_timeout`, 60 s).
    FinWait2,
    /// TIME-WAIT: 2 * MSL. RFC 9293 section 3.10.7.4: "Remain in the
    /// TIME-WAIT state ... restart the 2 MSL timeout."
    TimeWait,
    /// RACK's reordering timer (RFC 8985 section 6.3): a segment may be lost
    /// once its reordering window has passed.
    RackReorder,
    /// RFC 1191 section 6.3: some time after the path MTU was lowered, try the
    /// larger segments again ("not ... more often than once every 10 minutes").
    PmtuRaise,
    /// A buffer left empty this long gives its storage back (as Linux reclaims
    /// the memory of idle sockets), so memory follows the data without
    /// reallocating on every read of a busy connection.
    Reclaim,
}

impl TimerKind {
    /// Every kind, in table order (also the tie-break order of
    /// [`Timers::pop_expired`]).
    pub const ALL: [TimerKind; 9] = [
        TimerKind::Retransmit,
        TimerKind::DelayedAck,
        TimerKind::Persist,
        TimerKind::KeepAlive,
        TimerKind::FinWait2,
        TimerKind::TimeWait,
        TimerKind::RackReorder,
        TimerKind::PmtuRaise,
        TimerKind::Reclaim,
    ];

    const fn index(self) -> usize {
        match self {
            TimerKind::Retransmit => 0,
            TimerKind::DelayedAck => 1,
            TimerKind::Persist => 2,
            TimerKind::KeepAlive => 3,
            TimerKind::FinWait2 => 4,
            TimerKind::TimeWait => 5,
            TimerKind::RackReorder => 6,
            TimerKind::PmtuRaise => 7,
            TimerKind::Reclaim => 8,
        }
    }
}

/// A table of deadlines, one slot per [`TimerKind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timers {
    deadlines: [Option<Instant>; TimerKind::ALL.len()],
}

impl Timers {
    /// A table with every timer disarmed.
    pub fn new() -> Timers {
        Timers::default()
    }

    /// Arms (or re-arms) `kind` to expire at `at`.
    pub fn set(&mut self, kind: TimerKind, at: Instant) {
        self.deadlines[kind.index()] = Some(at);
    }

    /// Arms `kind` at `at` unless it is already armed (e.g. the delayed ACK
    /// timer runs from the first unacknowledged segment, not the last).
    pub fn set_if_disarmed(&mut self, kind: TimerKind, at: Instant) {
        let slot = &mut self.deadlines[kind.index()];
        if slot.is_none() {
            *slot = Some(at);
        }
    }

    /// Disarms `kind`.
    pub fn cancel(&mut self, kind: TimerKind) {
        self.deadlines[kind.index()] = None;
    }

    /// Disarms every timer (e.g. on entering CLOSED).
    pub fn cancel_all(&mut self) {
        self.deadlines = [None; TimerKind::ALL.len()];
    }

    /// The deadline of `kind`, if armed.
    pub fn get(&self, kind: TimerKind) -> Option<Instant> {
        self.deadlines[kind.index()]
    }

    /// True if `kind` is armed.
    pub fn is_armed(&self, kind: TimerKind) -> bool {
        self.get(kind).is_some()
    }

    /// The earliest armed deadline: when the engine must be called back.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// The armed timers whose deadline is at or before `now`, in table order.
    /// They stay armed; see [`Timers::pop_expired`].
    pub fn expired(&self, now: Instant) -> impl Iterator<Item = TimerKind> + '_ {
        TimerKind::ALL
            .into_iter()
            .filter(move |&kind| self.get(kind).is_some_and(|at| at <= now))
    }

    /// Disarms and returns the expired timer with the earliest deadline (ties
    /// broken in table order), or `None` if none has expired:
    ///
    /// ```text
    /// while let Some(kind) = timers.pop_expired(now) { ... }
    /// ```
    pub fn pop_expired(&mut self, now: Instant) -> Option<TimerKind> {
        let kind = TimerKind::ALL
            .into_iter()
            .filter_map(|kind| self.get(kind).map(|at| (at, kind)))
            .filter(|&(at, _)| at <= now)
            .min()
            .map(|(_, kind)| kind)?;
        self.cancel(kind);
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn empty_table() {
        let mut t = Timers::new();
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.pop_expired(ms(u64::MAX / 1000)), None);
        assert_eq!(t.expired(ms(1000)).count(), 0);
        for kind in TimerKind::ALL {
            assert!(!t.is_armed(kind));
        }
    }

    #[test]
    fn next_deadline_is_the_minimum() {
        let mut t = Timers::new();
        t.set(TimerKind::KeepAlive, ms(7_200_000));
        t.set(TimerKind::Retransmit, ms(1000));
        t.set(TimerKind::DelayedAck, ms(40));
        assert_eq!(t.next_deadline(), Some(ms(40)));
        t.cancel(TimerKind::DelayedAck);
        assert_eq!(t.next_deadline(), Some(ms(1000)));
        assert_eq!(t.get(TimerKind::DelayedAck), None);
    }

    #[test]
    fn set_rearms() {
        let mut t = Timers::new();
        t.set(TimerKind::Retransmit, ms(1000));
        t.set(TimerKind::Retransmit, ms(3000));
        assert_eq!(t.get(TimerKind::Retransmit), Some(ms(3000)));
        assert_eq!(t.next_deadline(), Some(ms(3000)));
    }

    #[test]
    fn set_if_disarmed_keeps_existing_deadline() {
        let mut t = Timers::new();
        t.set_if_disarmed(TimerKind::DelayedAck, ms(40));
        t.set_if_disarmed(TimerKind::DelayedAck, ms(80));
        assert_eq!(t.get(TimerKind::DelayedAck), Some(ms(40)));
    }

    #[test]
    fn expired_includes_deadline_equal_to_now() {
        let mut t = Timers::new();
        t.set(TimerKind::Persist, ms(500));
        t.set(TimerKind::TimeWait, ms(60_000));
        assert_eq!(t.expired(ms(499)).count(), 0);
        assert_eq!(t.expired(ms(500)).collect::<Vec<_>>(), [TimerKind::Persist]);
        // Non-consuming.
        assert!(t.is_armed(TimerKind::Persist));
    }

    #[test]
    fn pop_expired_in_deadline_order() {
        let mut t = Timers::new();
        t.set(TimerKind::TimeWait, ms(10));
        t.set(TimerKind::Retransmit, ms(30));
        t.set(TimerKind::DelayedAck, ms(10));
        t.set(TimerKind::KeepAlive, ms(50));
        let now = ms(40);
        let mut fired = Vec::new();
        while let Some(kind) = t.pop_expired(now) {
            fired.push(kind);
        }
        // Ties (both at 10 ms) in table order.
        assert_eq!(
            fired,
            [
                TimerKind::DelayedAck,
                TimerKind::TimeWait,
                TimerKind::Retransmit
            ]
        );
        assert_eq!(t.next_deadline(), Some(ms(50)));
        assert!(t.is_armed(TimerKind::KeepAlive));
    }

    #[test]
    fn pop_expired_at_exact_deadline() {
        let mut t = Timers::new();
        t.set(TimerKind::Retransmit, ms(200));
        assert_eq!(t.pop_expired(ms(199)), None);
        assert!(t.is_armed(TimerKind::Retransmit));
        assert_eq!(t.pop_expired(ms(200)), Some(TimerKind::Retransmit));
        assert!(!t.is_armed(TimerKind::Retransmit));
        assert_eq!(t.pop_expired(ms(200)), None);
    }

    #[test]
    fn cancel_all() {
        let mut t = Timers::new();
        for (i, kind) in TimerKind::ALL.into_iter().enumerate() {
            t.set(kind, ms(i as u64));
        }
        assert_eq!(t.expired(ms(100)).count(), TimerKind::ALL.len());
        t.cancel_all();
        assert_eq!(t.next_deadline(), None);
    }

    #[test]
    fn every_kind_has_its_own_slot() {
        let mut t = Timers::new();
        for (i, kind) in TimerKind::ALL.into_iter().enumerate() {
            t.set(kind, ms(i as u64 + 1));
        }
        for (i, kind) in TimerKind::ALL.into_iter().enumerate() {
            assert_eq!(t.get(kind), Some(ms(i as u64 + 1)));
        }
    }
}
