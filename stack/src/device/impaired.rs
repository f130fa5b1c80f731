//! Seeded link impairments: loss, duplication, reordering, corruption, delay, jitter and
//! a rate limit.
//!
//! Two layers:
//!
//! - [`Impairment`] is the pure core. It reads no clock: [`Impairment::process`] takes
//!   `now` and a frame and appends the deliveries that result, each with its release
//!   time. Its only randomness is a [`StdRng`] seeded by the caller, so the same seed and
//!   the same inputs give the same outputs (with the `rand` version in `Cargo.lock`,
//!   on any platform). The deterministic simulator calls it directly on virtual time.
//! - [`ImpairedDevice`] wraps any [`Device`] with one `Impairment` per direction and a
//!   [`DelayQueue`] each, for the CLI (`--loss 0.05 --seed 7`) and tests on real time.
//!
//! What each knob does to one frame, in this order:
//!
//! 1. `loss`: the frame is dropped.
//! 2. `corrupt`: one random bit of one random byte at offset 14 or later is flipped. The
//!    Ethernet header stays intact, so the frame still reaches its host, where the IP,
//!    ICMP, UDP or TCP checksum has to catch it.
//! 3. `duplicate`: the frame is delivered twice, both copies at the same time.
//! 4. `rate_bps`: the frame is serialised behind the previous ones: it leaves no earlier
//!    than the previous frame left plus `8 * len / rate_bps` seconds (the frame's own
//!    bytes; preamble, FCS and inter-frame gap are not counted).
//! 5. `delay` + `jitter`: the frame then arrives after `delay` plus a uniform random
//!    extra in `[0, jitter]`. Jitter alone never reorders: a frame is never released
//!    before an earlier in-order frame (as on a real FIFO link).
//! 6. `reorder`: the frame is held back for [`Impairment::reorder_hold`] more, so that
//!    the frames that follow it within that time overtake it. If none follows, it is
//!    simply late. Holding is decided when the frame arrives, so `process` needs no
//!    later call to release it.
//!
//! Every frame draws the same six random numbers whatever the configuration, so the
//! frames a seed loses are the same whether or not, say, duplication is also on.

use std::collections::BTreeMap;
use std::io;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Device, Waker};
use crate::time::{Duration, Instant};

/// Frames shorter than this are never corrupted: corruption spares the Ethernet header.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// The extra time a reordered frame is held beyond its normal release
/// (plus the jitter and, with a rate limit, one full-size frame's serialisation time).
pub const REORDER_HOLD: Duration = Duration::from_millis(1);

/// The largest frame assumed when sizing the reorder hold under a rate limit.
const FULL_FRAME_LEN: u64 = 1514;

/// What an [`Impairment`] does to frames. `Default` is a perfect link.
#[derive(Clone, Debug, PartialEq)]
pub struct ImpairmentConfig {
    /// Probability in `[0, 1]` that a frame is dropped.
    pub loss: f64,
    /// Probability in `[0, 1]` that a frame is delivered twice.
    pub duplicate: f64,
    /// Probability in `[0, 1]` that a frame is held back and overtaken by the next.
    pub reorder: f64,
    /// Probability in `[0, 1]` that one bit past the Ethernet header is flipped.
    pub corrupt: f64,
    /// Fixed latency added to every frame.
    pub delay: Duration,
    /// Upper bound of a uniform random latency added on top of `delay`.
    pub jitter: Duration,
    /// Link rate in bits per second; `None` is unlimited.
    pub rate_bps: Option<u64>,
}

impl Default for ImpairmentConfig {
    fn default() -> Self {
        ImpairmentConfig {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_bps: None,
        }
    }
}

impl ImpairmentConfig {
    /// Checks the values, naming the first bad one: probabilities must be in `[0, 1]`
    /// and the rate, if any, positive.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "{name} probability must be between 0 and 1, got {p}"
                ));
            }
        }
        if self.rate_bps == Some(0) {
            return Err("rate must be at least 1 bit per second".to_string());
        }
        Ok(())
    }

    /// True if this configuration leaves frames untouched and undelayed.
    pub fn is_perfect(&self) -> bool {
        *self == ImpairmentConfig::default()
    }
}

/// What an [`Impairment`] has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImpairmentStats {
    /// Frames given to [`Impairment::process`].
    pub frames: u64,
    /// Frames dropped.
    pub lost: u64,
    /// Frames delivered twice (each counts once here).
    pub duplicated: u64,
    /// Frames with a flipped bit.
    pub corrupted: u64,
    /// Frames held back to be overtaken.
    pub reordered: u64,
}

/// The pure, seeded impairment core. See the module docs for what it does.
#[derive(Clone, Debug)]
pub struct Impairment {
    config: ImpairmentConfig,
    rng: StdRng,
    /// When the (rate-limited) link finishes sending the last frame.
    link_free_at: Instant,
    /// Release time of the last in-order frame (jitter never reorders).
    last_release: Instant,
    stats: ImpairmentStats,
}

/// Clamps a probability into `[0, 1]`; NaN becomes 0.
fn clamp_probability(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// Time to serialise `len` bytes at `rate_bps`, rounded up to a microsecond.
fn serialisation_time(len: u64, rate_bps: u64) -> Duration {
    let bits = u128::from(len) * 8;
    let micros = (bits * 1_000_000).div_ceil(u128::from(rate_bps.max(1)));
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

impl Impairment {
    /// An impairment with `config` and its random choices seeded by `seed`.
    ///
    /// Out-of-range values are clamped (probabilities to `[0, 1]`, a zero rate to
    /// 1 bit/s); call [`ImpairmentConfig::validate`] first to report them instead.
    pub fn new(config: ImpairmentConfig, seed: u64) -> Impairment {
        let config = ImpairmentConfig {
            loss: clamp_probability(config.loss),
            duplicate: clamp_probability(config.duplicate),
            reorder: clamp_probability(config.reorder),
            corrupt: clamp_probability(config.corrupt),
            rate_bps: config.rate_bps.map(|r| r.max(1)),
            ..config
        };
        Impairment {
            config,
            rng: StdRng::seed_from_u64(seed),
            link_free_at: Instant::ZERO,
            last_release: Instant::ZERO,
            stats: ImpairmentStats::default(),
        }
    }

    /// The configuration in effect (after clamping).
    pub fn config(&self) -> &ImpairmentConfig {
        &self.config
    }

    /// Counters of what has been done so far.
    pub fn stats(&self) -> ImpairmentStats {
        self.stats
    }

    /// How much longer than its normal release a reordered frame is held: long enough
    /// that a frame arriving at the same time overtakes it despite jitter and rate.
    pub fn reorder_hold(&self) -> Duration {
        let full_frame = self
            .config
            .rate_bps
            .map_or(Duration::ZERO, |r| serialisation_time(FULL_FRAME_LEN, r));
        REORDER_HOLD + self.config.jitter + full_frame
    }

    /// Impairs one frame arriving at `now`, appending zero, one or two
    /// `(release time, frame)` deliveries to `out`. Release times are never before
    /// `now`. Deliveries from successive calls are not necessarily appended in release
    /// order (that is what reordering is): keep them ordered by release time, frames
    /// with equal times in the order they were appended (a [`DelayQueue`] does this).
    pub fn process(&mut self, now: Instant, mut frame: Vec<u8>, out: &mut Vec<(Instant, Vec<u8>)>) {
        // Always draw the same numbers, so each knob's pattern is independent of the
        // others (see the module docs).
        let lose = self.rng.random::<f64>() < self.config.loss;
        let corrupt = self.rng.random::<f64>() < self.config.corrupt;
        let corrupt_at: u64 = self.rng.random();
        let duplicate = self.rng.random::<f64>() < self.config.duplicate;
        let reorder = self.rng.random::<f64>() < self.config.reorder;
        let jitter_draw: u64 = self.rng.random();

        self.stats.frames += 1;
        if lose {
            self.stats.lost += 1;
            return;
        }
        if corrupt && frame.len() > ETHERNET_HEADER_LEN {
            let span = (frame.len() - ETHERNET_HEADER_LEN) as u64;
            // `corrupt_at % span < span <= frame.len()`, so the cast cannot truncate.
            let byte = ETHERNET_HEADER_LEN + ((corrupt_at >> 3) % span) as usize;
            frame[byte] ^= 1 << (corrupt_at & 7);
            self.stats.corrupted += 1;
        }

        let mut departs = now;
        if let Some(rate) = self.config.rate_bps {
            departs = now.max(self.link_free_at) + serialisation_time(frame.len() as u64, rate);
            self.link_free_at = departs;
        }
        let jitter_us = u64::try_from(self.config.jitter.as_micros()).unwrap_or(u64::MAX);
        let jitter = match jitter_us {
            0 => Duration::ZERO,
            u64::MAX => Duration::from_micros(jitter_draw),
            j => Duration::from_micros(jitter_draw % (j + 1)),
        };
        let mut release = (departs + self.config.delay + jitter).max(self.last_release);
        if reorder {
            release += self.reorder_hold();
            self.stats.reordered += 1;
        } else {
            self.last_release = release;
        }

        if duplicate {
            self.stats.duplicated += 1;
            out.push((release, frame.clone()));
        }
        out.push((release, frame));
    }
}

/// Frames waiting for their release time, earliest first; frames with equal release
/// times leave in the order they were pushed.
#[derive(Clone, Debug, Default)]
pub struct DelayQueue {
    frames: BTreeMap<(Instant, u64), Vec<u8>>,
    next_seq: u64,
}

impl DelayQueue {
    /// An empty queue.
    pub fn new() -> DelayQueue {
        DelayQueue::default()
    }

    /// Adds a frame to be released at `release`.
    pub fn push(&mut self, release: Instant, frame: Vec<u8>) {
        self.frames.insert((release, self.next_seq), frame);
        self.next_seq += 1;
    }

    /// Removes and returns the earliest frame if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Vec<u8>> {
        let entry = self.frames.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        Some(entry.remove())
    }

    /// The earliest release time, if any frame is waiting.
    pub fn next_release(&self) -> Option<Instant> {
        self.frames.first_key_value().map(|(k, _)| k.0)
    }

    /// Number of frames waiting.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True if no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// Default bound on the frames an [`ImpairedDevice`] holds per direction.
pub const DEFAULT_QUEUE_LIMIT: usize = 4096;

/// Wraps a [`Device`], impairing transmitted frames with one [`Impairment`] and
/// received frames with another (seeded `seed + 1`).
///
/// Delayed frames wait in a [`DelayQueue`] per direction (at most
/// [`DEFAULT_QUEUE_LIMIT`] each; beyond that frames are dropped and counted, see
/// [`ImpairedDevice::queue_dropped`]). Due transmitted frames are handed to the inner
/// device on every `receive` and `transmit` call; due received frames are returned by
/// `receive`. [`Device::poll_at`] reports the next release and [`Device::wait`] never
/// sleeps past it.
pub struct ImpairedDevice<D: Device> {
    inner: D,
    tx: Impairment,
    rx: Impairment,
    tx_queue: DelayQueue,
    rx_queue: DelayQueue,
    deliveries: Vec<(Instant, Vec<u8>)>,
    queue_limit: usize,
    queue_dropped: u64,
    /// The last `now` we were given and the wall-clock moment we got it: lets `wait`
    /// (which is not given `now`) know how far away the next release is.
    clock: Option<(Instant, std::time::Instant)>,
}

impl<D: Device> ImpairedDevice<D> {
    /// Impairs both directions of `inner` with the same `config`.
    pub fn new(inner: D, config: ImpairmentConfig, seed: u64) -> Self {
        Self::with_configs(inner, config.clone(), config, seed)
    }

    /// Drops each received frame with probability `loss` and leaves transmitted
    /// ones alone: loss on the link after the peer's transmission succeeded.
    pub fn losing_received(inner: D, loss: f64, seed: u64) -> Self {
        let rx = ImpairmentConfig {
            loss,
            ..ImpairmentConfig::default()
        };
        Self::with_configs(inner, ImpairmentConfig::default(), rx, seed)
    }

    /// Impairs transmitted frames with `tx` (seeded `seed`) and received frames with
    /// `rx` (seeded `seed + 1`).
    pub fn with_configs(inner: D, tx: ImpairmentConfig, rx: ImpairmentConfig, seed: u64) -> Self {
        ImpairedDevice {
            inner,
            tx: Impairment::new(tx, seed),
            rx: Impairment::new(rx, seed.wrapping_add(1)),
            tx_queue: DelayQueue::new(),
            rx_queue: DelayQueue::new(),
            deliveries: Vec::new(),
            queue_limit: DEFAULT_QUEUE_LIMIT,
            queue_dropped: 0,
            clock: None,
        }
    }

    /// Sets the per-direction bound on held frames (at least 1).
    pub fn set_queue_limit(&mut self, frames: usize) {
        self.queue_limit = frames.max(1);
    }

    /// What the transmit-side impairment has done.
    pub fn tx_stats(&self) -> ImpairmentStats {
        self.tx.stats()
    }

    /// What the receive-side impairment has done.
    pub fn rx_stats(&self) -> ImpairmentStats {
        self.rx.stats()
    }

    /// Frames dropped because a direction's queue was full.
    pub fn queue_dropped(&self) -> u64 {
        self.queue_dropped
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    fn observe(&mut self, now: Instant) {
        self.clock = Some((now, std::time::Instant::now()));
    }

    fn enqueue(
        deliveries: &mut Vec<(Instant, Vec<u8>)>,
        queue: &mut DelayQueue,
        limit: usize,
        dropped: &mut u64,
    ) {
        for (release, frame) in deliveries.drain(..) {
            if queue.len() < limit {
                queue.push(release, frame);
            } else {
                *dropped += 1;
            }
        }
    }

    fn release_tx(&mut self, now: Instant) -> io::Result<()> {
        while let Some(frame) = self.tx_queue.pop_due(now) {
            self.inner.transmit(&frame, now)?;
        }
        Ok(())
    }
}

impl<D: Device> Device for ImpairedDevice<D> {
    fn receive(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        self.observe(now);
        self.release_tx(now)?;
        // Take everything the inner device has (as far as the queue allows), so that
        // reordering and delay act on the real arrival times.
        while self.rx_queue.len() < self.queue_limit {
            let Some(n) = self.inner.receive(buf, now)? else {
                break;
            };
            self.rx
                .process(now, buf[..n].to_vec(), &mut self.deliveries);
            Self::enqueue(
                &mut self.deliveries,
                &mut self.rx_queue,
                self.queue_limit,
                &mut self.queue_dropped,
            );
        }
        Ok(self.rx_queue.pop_due(now).map(|frame| {
            let n = frame.len().min(buf.len());
            buf[..n].copy_from_slice(&frame[..n]);
            n
        }))
    }

    fn transmit(&mut self, frame: &[u8], now: Instant) -> io::Result<()> {
        self.observe(now);
        self.release_tx(now)?;
        self.tx.process(now, frame.to_vec(), &mut self.deliveries);
        Self::enqueue(
            &mut self.deliveries,
            &mut self.tx_queue,
            self.queue_limit,
            &mut self.queue_dropped,
        );
        self.release_tx(now)
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut timeout = timeout;
        if let (Some(next), Some((seen, at))) = (self.poll_at(), self.clock) {
            let now = seen + at.elapsed();
            let until = next.saturating_duration_since(now);
            if until.is_zero() {
                return Ok(());
            }
            timeout = Some(timeout.map_or(until, |t| t.min(until)));
        }
        self.inner.wait(timeout)
    }

    fn waker(&self) -> Waker {
        self.inner.waker()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_at(&self) -> Option<Instant> {
        [
            self.tx_queue.next_release(),
            self.rx_queue.next_release(),
            self.inner.poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[cfg(test)]
#[path = "impaired_tests.rs"]
mod tests;
