//! Checks an arriving segment must pass beyond the sequence test, and the answers
//! to those that fail: PAWS (RFC 7323 5.3), and the rate limits on ACKs that
//! answer unacceptable segments (RFC 5961 section 7; Linux's
//! tcp_invalid_ratelimit).

use super::*;

/// Timestamp ticks a segment may lag TS.Recent and still pass PAWS (Linux's
/// TCP_PAWS_WINDOW).
const PAWS_WINDOW: i32 = 1;

/// After this long without a new TS.Recent it is no longer trusted (RFC 7323 5.5:
/// 24 days, before a 1 ms timestamp clock could wrap half its space).
const PAWS_IDLE: Duration = Duration::from_secs(24 * 24 * 3600);

impl Tcb {
    /// Takes `value` as TS.Recent at `now`.
    pub(super) fn take_ts_recent(&mut self, now: Instant, value: u32) {
        self.ts_recent = value;
        self.ts_recent_at = now;
    }

    /// PAWS (RFC 7323 5.3 R1, as Linux's `tcp_paws_discard`): true for a segment
    /// with a timestamp older than TS.Recent by more than one tick, unless it is a
    /// RST, TS.Recent is older than 24 days (5.5), or it is a pure duplicate ACK
    /// (Linux's disordered ACK: ACKs may be reordered without harm).
    pub(super) fn paws_rejects(&self, now: Instant, seg: &TcpRepr, data_len: usize) -> bool {
        let Some(ts) = seg.options.timestamps.filter(|_| self.ts_enabled) else {
            return false;
        };
        if seg.flags.rst || (self.ts_recent.wrapping_sub(ts.value) as i32) <= PAWS_WINDOW {
            return false;
        }
        if now >= self.ts_recent_at + PAWS_IDLE {
            return false;
        }
        let disordered_ack = data_len == 0
            && !seg.flags.syn
            && !seg.flags.fin
            && seg.flags.ack
            && seg.seq == self.rcv_nxt
            && seg.ack == self.snd_una;
        !disordered_ack
    }

    /// Answers an unacceptable segment with an ACK, unless the segment is bare
    /// (no data, no FIN) and this connection answered one less than
    /// `invalid_ack_interval` ago: Linux's `tcp_oow_rate_limited`, which keeps two
    /// desynchronised peers from ACK-storming while data still gets its
    /// duplicate ACK at once.
    pub(super) fn invalid_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        len: usize,
        out: &mut Out<'_>,
    ) {
        self.answer_unacceptable(now, seg, len, out, false);
    }

    /// A challenge ACK (RFC 5961 sections 3.2, 4.2 and 5.2) for `seg`, within
    /// this connection's limit on bare segments and the stack's (section 7: at
    /// most `challenge_acks_per_sec`).
    pub(super) fn challenge_ack(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        len: usize,
        out: &mut Out<'_>,
    ) {
        self.answer_unacceptable(now, seg, len, out, true);
    }

    pub(super) fn answer_unacceptable(
        &mut self,
        now: Instant,
        seg: &TcpRepr,
        data_len: usize,
        out: &mut Out<'_>,
        challenge: bool,
    ) {
        let bare = data_len == 0 && !seg.flags.fin;
        if (bare && !self.invalid_ack_allowed(now)) || (challenge && !out.challenge_acks.take(now))
        {
            out.counters.inc(Stat::TcpAcksRateLimited);
            return;
        }
        if challenge {
            out.counters.inc(Stat::TcpChallengeAcks);
        }
        self.ack_now = true;
        self.ack_urgent = true;
    }

    /// Whether an answer to an unacceptable segment may go out now (and if so,
    /// the time is noted).
    pub(super) fn invalid_ack_allowed(&mut self, now: Instant) -> bool {
        let interval = self.cfg.invalid_ack_interval;
        if self.last_invalid_ack.is_some_and(|t| now < t + interval) {
            return false;
        }
        self.last_invalid_ack = Some(now);
        true
    }
}
