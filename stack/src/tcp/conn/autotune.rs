//! Receive-buffer autotuning (dynamic right-sizing, Linux's
//! `tcp_rcv_space_adjust`): once per round trip, how much the application read
//! decides how large the receive buffer may grow.

use super::*;

/// The receive buffer a connection with options `opts` starts with, and the most
/// autotuning may grow it to (the same, when the user set `SO_RCVBUF` or
/// autotuning is off).
pub(crate) fn receive_sizes(opts: &SocketOptions, cfg: &TcpConfig) -> (usize, usize) {
    let start = opts.recv_buffer.clamp(1024, cfg.max_buffer);
    let limit = if cfg.moderate_rcvbuf && !opts.recv_buffer_locked {
        cfg.max_recv_buffer_auto.max(start)
    } else {
        start
    };
    (start, limit)
}

/// Autotuning state, as Linux's `rcvq_space`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Autotune {
    /// The most the buffer may grow to (its starting size when locked).
    pub limit: usize,
    /// Bytes read per round trip that the buffer is sized for.
    pub space: usize,
    /// Bytes the application read since `since`.
    copied: usize,
    /// When the current measurement began.
    since: Instant,
}

impl Autotune {
    /// Sized first for `space` bytes per round trip (Linux: the initial window).
    pub fn new(limit: usize, space: usize, now: Instant) -> Autotune {
        Autotune {
            limit,
            space,
            copied: 0,
            since: now,
        }
    }

    /// The application read `n` bytes at `now`. Once a round trip (`rtt`) has
    /// passed since the measurement began, and it read more than the buffer is
    /// sized for, the new buffer size: twice that, plus room for the sender to
    /// keep growing (it may double its rate in the next round trip), within the
    /// limit, and only if more than `capacity`. The buffer never shrinks.
    pub fn on_read(
        &mut self,
        n: usize,
        now: Instant,
        rtt: Duration,
        capacity: usize,
        mss: usize,
    ) -> Option<usize> {
        if self.limit <= capacity {
            return None; // SO_RCVBUF was set, or as large as it may get
        }
        self.copied = self.copied.saturating_add(n);
        if now.saturating_duration_since(self.since) < rtt.max(Duration::from_micros(1)) {
            return None;
        }
        let copied = std::mem::take(&mut self.copied);
        self.since = now;
        if copied <= self.space {
            return None;
        }
        let mut window = copied.saturating_mul(2).saturating_add(16 * mss);
        if let Some(grow) = window
            .saturating_mul(copied - self.space)
            .checked_div(self.space)
        {
            window = window.saturating_add(grow.saturating_mul(2));
        }
        self.space = copied;
        let size = window.min(self.limit);
        (size > capacity).then_some(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn grows_once_a_round_trip_and_only_up_to_the_limit() {
        let t0 = Instant::ZERO;
        let mut a = Autotune::new(16 << 20, 14_600, t0);
        // Within the first round trip: nothing yet.
        assert_eq!(a.on_read(50_000, t0 + MS / 2, MS, 65_536, 1460), None);
        // A round trip later, 100,000 read in it: 2 x 100,000 + 16 MSS, plus the
        // sender's growth from 14,600 (about 5.8 times as much again, twice).
        let size = a.on_read(50_000, t0 + MS, MS, 65_536, 1460).unwrap();
        assert!(size > 2_000_000 && size < 16 << 20, "{size}");
        assert_eq!(a.space, 100_000);
        // Reading less than the buffer is sized for changes nothing.
        assert_eq!(a.on_read(10_000, t0 + 3 * MS, MS, size, 1460), None);
        // Much more: capped at the limit.
        assert_eq!(
            a.on_read(900_000, t0 + 5 * MS, MS, size, 1460),
            Some(16 << 20)
        );
        assert_eq!(a.on_read(900_000, t0 + 7 * MS, MS, 16 << 20, 1460), None);
    }

    #[test]
    fn a_locked_buffer_never_grows() {
        let mut a = Autotune::new(65_536, 14_600, Instant::ZERO);
        assert_eq!(
            a.on_read(1 << 20, Instant::ZERO + MS, MS, 65_536, 1460),
            None
        );
    }
}
