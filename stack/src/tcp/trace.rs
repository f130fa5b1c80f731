//! The connection trace: one event each time a connection's state, congestion
//! window, slow-start threshold, RTT estimate, retransmission timeout or
//! congestion state changes, so that a run can be drawn afterwards (cwnd and RTT
//! over time, recovery episodes). Off unless asked for; when on, the events wait
//! in a bounded queue for the runtime to take them, and what does not fit is
//! counted, not kept.

use std::collections::VecDeque;
use std::net::SocketAddrV4;

use super::conn::{State, Tcb};
use super::recovery::CaState;
use crate::time::{Duration, Instant};

/// A connection's variables as the trace records them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracePoint {
    /// Connection state.
    pub state: State,
    /// Congestion state (Linux's `tcpi_ca_state`).
    pub ca_state: CaState,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow-start threshold, bytes (`usize::MAX` until the first loss).
    pub ssthresh: usize,
    /// Smoothed RTT, once measured.
    pub srtt: Option<Duration>,
    /// RTT variation, once measured.
    pub rttvar: Option<Duration>,
    /// Retransmission timeout.
    pub rto: Duration,
    /// Bytes in flight (RFC 6675 pipe); recorded, but a change alone is no event.
    pub in_flight: usize,
    /// Segments retransmitted so far; recorded, not a trigger.
    pub total_retrans: u64,
    /// Recovery episodes entered so far (fast recovery and timeouts).
    pub recoveries: u64,
}

impl TracePoint {
    /// The point of `tcb` now.
    pub(crate) fn of(tcb: &Tcb) -> TracePoint {
        let info = tcb.info();
        TracePoint {
            state: info.state,
            ca_state: info.ca_state,
            cwnd: info.cwnd,
            ssthresh: info.ssthresh,
            srtt: info.srtt,
            rttvar: info.rttvar,
            rto: info.rto,
            in_flight: info.in_flight,
            total_retrans: info.total_retrans(),
            recoveries: info.recovery.recoveries + info.recovery.timeouts,
        }
    }

    /// True when `self` differs from `before` in a traced variable.
    fn changed_from(&self, before: &TracePoint) -> bool {
        self.state != before.state
            || self.ca_state != before.ca_state
            || self.cwnd != before.cwnd
            || self.ssthresh != before.ssthresh
            || self.srtt != before.srtt
            || self.rto != before.rto
    }
}

/// One change of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// When it happened (engine time).
    pub at: Instant,
    /// Our end of the connection.
    pub local: SocketAddrV4,
    /// The peer's end.
    pub remote: SocketAddrV4,
    /// The connection's variables after the change.
    pub point: TracePoint,
}

/// The queue of trace events waiting for the runtime.
#[derive(Debug)]
pub(crate) struct TraceLog {
    events: VecDeque<TraceEvent>,
    capacity: usize,
    dropped: u64,
}

impl TraceLog {
    /// A log holding at most `capacity` events.
    pub(crate) fn new(capacity: usize) -> TraceLog {
        TraceLog {
            events: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    /// Records `after` if it differs from `before`.
    pub(crate) fn record(&mut self, at: Instant, tcb: &Tcb, before: TracePoint, after: TracePoint) {
        if !after.changed_from(&before) {
            return;
        }
        if self.events.len() >= self.capacity {
            self.dropped += 1;
            return;
        }
        self.events.push_back(TraceEvent {
            at,
            local: tcb.local(),
            remote: tcb.remote(),
            point: after,
        });
    }

    /// The oldest event waiting.
    pub(crate) fn pop(&mut self) -> Option<TraceEvent> {
        self.events.pop_front()
    }

    /// Events that did not fit.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}
