//! A deterministic two-host simulation on virtual time: two engines joined by a
//! virtual wire, optionally impaired (seeded loss, duplication, reordering,
//! corruption, delay). No threads, no clock: [`SimPair::step`] jumps to the next
//! event. Tests drive sockets directly on the engines between steps.
//!
//! quinn-proto's `Pair` is the model: a step cap instead of wall-clock timeouts, loss
//! by dropping queued frames, fixed seeds.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::config::StackConfig;
use crate::device::impaired::{Impairment, ImpairmentConfig};
use crate::engine::Engine;
use crate::time::{Duration, Instant};

/// Which host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The first host.
    A,
    /// The second host.
    B,
}

/// A frame in flight.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    release: Instant,
    seq: u64,
    frame: Vec<u8>,
}

/// One direction of the wire.
struct Wire {
    impairment: Option<Impairment>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    scratch: Vec<(Instant, Vec<u8>)>,
}

impl Wire {
    fn new(impairment: Option<Impairment>) -> Wire {
        Wire {
            impairment,
            in_flight: BinaryHeap::new(),
            scratch: Vec::new(),
        }
    }
}

/// Two engines on a virtual wire.
pub struct SimPair {
    /// Host A.
    pub a: Engine,
    /// Host B.
    pub b: Engine,
    now: Instant,
    latency: Duration,
    ab: Wire,
    ba: Wire,
    seq: u64,
    /// Every frame put on the wire, with its time and sender (when recording).
    pub trace: Option<Vec<(Instant, Side, Vec<u8>)>>,
    /// Rewrites each frame a host sends before it goes on the wire (a peer model:
    /// e.g. a receiver that changes its window the way Linux's does).
    rewrite: [Option<FrameRewrite>; 2],
}

/// A function that may change a frame on its way onto the wire.
pub type FrameRewrite = Box<dyn FnMut(&mut [u8])>;

impl SimPair {
    /// Two engines on a perfect wire with one-way `latency`.
    pub fn new(a: StackConfig, b: StackConfig, latency: Duration) -> SimPair {
        SimPair {
            a: Engine::new(a).expect("valid config for host A"),
            b: Engine::new(b).expect("valid config for host B"),
            now: Instant::ZERO,
            latency,
            ab: Wire::new(None),
            ba: Wire::new(None),
            seq: 0,
            trace: None,
            rewrite: [None, None],
        }
    }

    /// Passes every frame `side` sends through `f` first.
    pub fn rewrite_frames(&mut self, side: Side, f: FrameRewrite) {
        self.rewrite[side as usize] = Some(f);
    }

    /// Impairs both directions (independent seeded streams).
    pub fn impair(&mut self, config: ImpairmentConfig, seed: u64) {
        self.ab.impairment = Some(Impairment::new(config.clone(), seed));
        self.ba.impairment = Some(Impairment::new(config, seed ^ 0x9e37_79b9_7f4a_7c15));
    }

    /// Starts recording every frame into [`SimPair::trace`].
    pub fn record(&mut self) {
        self.trace = Some(Vec::new());
    }

    /// Virtual now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The engine of `side`.
    pub fn engine(&mut self, side: Side) -> &mut Engine {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn collect(&mut self) {
        let now = self.now;
        for side in [Side::A, Side::B] {
            loop {
                let (engine, wire) = match side {
                    Side::A => (&mut self.a, &mut self.ab),
                    Side::B => (&mut self.b, &mut self.ba),
                };
                let Some(mut frame) = engine.poll_transmit(now) else {
                    break;
                };
                if let Some(f) = self.rewrite[side as usize].as_mut() {
                    f(&mut frame);
                }
                if let Some(t) = self.trace.as_mut() {
                    t.push((self.now, side, frame.clone()));
                }
                let arrive = self.now + self.latency;
                match wire.impairment.as_mut() {
                    Some(imp) => {
                        imp.process(arrive, frame, &mut wire.scratch);
                        for (release, frame) in wire.scratch.drain(..) {
                            self.seq += 1;
                            wire.in_flight.push(Reverse(InFlight {
                                release,
                                seq: self.seq,
                                frame,
                            }));
                        }
                    }
                    None => {
                        self.seq += 1;
                        wire.in_flight.push(Reverse(InFlight {
                            release: arrive,
                            seq: self.seq,
                            frame,
                        }));
                    }
                }
            }
        }
    }

    /// The next time anything happens.
    pub fn next_event(&mut self) -> Option<Instant> {
        self.collect();
        [
            self.ab.in_flight.peek().map(|r| r.0.release),
            self.ba.in_flight.peek().map(|r| r.0.release),
            self.a.poll_timeout(),
            self.b.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances to the next event and processes everything due then. Returns false
    /// when nothing at all is scheduled.
    pub fn step(&mut self) -> bool {
        let Some(t) = self.next_event() else {
            return false;
        };
        self.now = self.now.max(t);
        let now = self.now;
        while self.ab.in_flight.peek().is_some_and(|r| r.0.release <= now) {
            if let Some(Reverse(f)) = self.ab.in_flight.pop() {
                self.b.handle_frame(now, &f.frame);
            }
        }
        while self.ba.in_flight.peek().is_some_and(|r| r.0.release <= now) {
            if let Some(Reverse(f)) = self.ba.in_flight.pop() {
                self.a.handle_frame(now, &f.frame);
            }
        }
        if self.a.poll_timeout().is_some_and(|d| d <= now) {
            self.a.handle_timeout(now);
        }
        if self.b.poll_timeout().is_some_and(|d| d <= now) {
            self.b.handle_timeout(now);
        }
        self.collect();
        true
    }

    /// Steps until `done` holds, at most `limit` of virtual time from now. Returns
    /// whether `done` held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut SimPair) -> bool,
    ) -> bool {
        let end = self.now + limit;
        loop {
            if done(self) {
                return true;
            }
            match self.next_event() {
                Some(t) if t <= end => {
                    self.step();
                }
                _ => {
                    self.now = self.now.max(end);
                    return done(self);
                }
            }
        }
    }

    /// Steps through everything scheduled within `d`, then sets the clock to now + d.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }
}
