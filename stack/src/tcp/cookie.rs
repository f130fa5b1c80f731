//! SYN cookies (RFC 4987 section 3.6), laid out as Linux lays them out.
//!
//! When a listener's SYN queue is full, the SYN-ACK's sequence number carries
//! what the connection needs, and nothing is kept:
//!
//! ```text
//!  31      27 26  24 23                                    0
//! +----------+------+---------------------------------------+
//! |  count   | MSS  |  keyed hash (addresses, ports, client  |
//! | (64 s)   | index|  ISN, count, MSS index)                |
//! +----------+------+---------------------------------------+
//! ```
//!
//! `count` is the time in 64-second periods, modulo 32; a cookie is good for two
//! periods after the one it was made in (Linux's `MAX_SYNCOOKIE_AGE`). The MSS is
//! the largest entry of `MSS_TABLE` not above the peer's. When the SYN carried
//! timestamps, the low six bits of the SYN-ACK's TSval carry the peer's window
//! scale (four bits, 15 for none) and SACK-permitted (one bit), and come back in
//! the ACK's TSecr (Linux's `cookie_init_timestamp`); without timestamps the
//! connection has neither window scaling nor SACK, as on Linux.
//!
//! The hash is SipHash-2-4 under the stack's secret key ([`IsnGenerator`]), so a
//! cookie cannot be forged without seeing the SYN-ACK.

use std::net::SocketAddrV4;

use crate::tcp::isn::IsnGenerator;
use crate::tcp::seq::SeqNumber;
use crate::time::{Duration, Instant};

/// The segment sizes a cookie can say (Linux's `msstab` for IPv4, widened to
/// the eight entries three bits index).
pub(crate) const MSS_TABLE: [u16; 8] = [536, 1024, 1220, 1300, 1380, 1440, 1460, 8960];

/// Length of one cookie period, in milliseconds.
const PERIOD_MS: u64 = 64_000;

/// Periods a cookie stays good after the one it was made in.
const MAX_AGE: u32 = 2;

/// How long after its last cookie a listener still takes ACKs as cookies
/// (Linux's `tcp_synq_no_recent_overflow`: twice a cookie's life).
pub(crate) const RECENT: Duration = Duration::from_secs(2 * 64 * (MAX_AGE as u64 + 1));

const HASH_DOMAIN: u8 = 2;

fn count(now: Instant) -> u32 {
    ((now.total_millis() / PERIOD_MS) % 32) as u32
}

fn hash(
    isn: &IsnGenerator,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    client_isn: SeqNumber,
    count: u32,
    mss_index: u32,
) -> u32 {
    let mut extra = [0u8; 6];
    extra[..4].copy_from_slice(&client_isn.0.to_be_bytes());
    extra[4] = count as u8;
    extra[5] = mss_index as u8;
    isn.keyed(HASH_DOMAIN, local, remote, &extra) as u32 & 0x00ff_ffff
}

/// The cookie (our ISN) for a SYN from `remote` to `local` with sequence number
/// `client_isn`, whose segment size is `mss` (the peer's, clamped to ours); also
/// the segment size the cookie records.
pub(crate) fn make(
    isn: &IsnGenerator,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    client_isn: SeqNumber,
    mss: u16,
    now: Instant,
) -> (SeqNumber, u16) {
    let index = MSS_TABLE.iter().rposition(|&m| m <= mss).unwrap_or(0);
    let c = count(now);
    let h = hash(isn, local, remote, client_isn, c, index as u32);
    (
        SeqNumber((c << 27) | ((index as u32) << 24) | h),
        MSS_TABLE[index],
    )
}

/// Checks the ACK of a cookie: `cookie` is its acknowledgment number minus one,
/// `client_isn` its sequence number minus one. The segment size the cookie
/// recorded, or `None` if the cookie is forged or too old.
pub(crate) fn check(
    isn: &IsnGenerator,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    client_isn: SeqNumber,
    cookie: SeqNumber,
    now: Instant,
) -> Option<u16> {
    let c = cookie.0 >> 27;
    let index = (cookie.0 >> 24) & 7;
    let age = count(now).wrapping_sub(c) % 32;
    if age > MAX_AGE {
        return None;
    }
    (hash(isn, local, remote, client_isn, c, index) == cookie.0 & 0x00ff_ffff)
        .then(|| MSS_TABLE[index as usize])
}

/// The TSval of a cookie's SYN-ACK: our clock `ts_now` with its low six bits
/// replaced by the peer's options, never ahead of the clock.
pub(crate) fn encode_ts(ts_now: u32, peer_wscale: Option<u8>, sack: bool) -> u32 {
    let options = u32::from(peer_wscale.map_or(0xf, |w| w.min(14))) | (u32::from(sack) << 4);
    let v = (ts_now & !0x3f) | options;
    if v.wrapping_sub(ts_now) as i32 > 0 {
        v.wrapping_sub(64)
    } else {
        v
    }
}

/// The peer's window scale and SACK-permitted, from the TSecr of a cookie's ACK.
pub(crate) fn decode_ts(tsecr: u32) -> (Option<u8>, bool) {
    let w = (tsecr & 0xf) as u8;
    ((w != 0xf).then_some(w.min(14)), tsecr & 0x10 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn ends() -> (SocketAddrV4, SocketAddrV4) {
        (
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 80),
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 40000),
        )
    }

    #[test]
    fn a_cookie_checks_for_its_life_and_not_after() {
        let g = IsnGenerator::new([3; 16]);
        let (l, r) = ends();
        let made = Instant::from_secs(1000);
        let (cookie, mss) = make(&g, l, r, SeqNumber(77), 1460, made);
        assert_eq!(mss, 1460);
        for later in [0, 1, 63, 64, 127, 128] {
            let at = made + Duration::from_secs(later);
            assert_eq!(
                check(&g, l, r, SeqNumber(77), cookie, at),
                Some(1460),
                "+{later} s"
            );
        }
        let late = made + Duration::from_secs(64 * 3 + 63);
        assert_eq!(check(&g, l, r, SeqNumber(77), cookie, late), None);
    }

    #[test]
    fn a_cookie_is_bound_to_the_tuple_the_client_isn_and_the_key() {
        let g = IsnGenerator::new([3; 16]);
        let (l, r) = ends();
        let now = Instant::from_secs(5);
        let (cookie, _) = make(&g, l, r, SeqNumber(77), 1400, now);
        assert_eq!(check(&g, l, r, SeqNumber(77), cookie, now), Some(1380));
        assert_eq!(check(&g, l, r, SeqNumber(78), cookie, now), None);
        let other = SocketAddrV4::new(*r.ip(), 40001);
        assert_eq!(check(&g, l, other, SeqNumber(77), cookie, now), None);
        let g2 = IsnGenerator::new([4; 16]);
        assert_eq!(check(&g2, l, r, SeqNumber(77), cookie, now), None);
        assert_eq!(check(&g, l, r, SeqNumber(77), cookie + 1u32, now), None);
    }

    #[test]
    fn small_segment_sizes_take_the_smallest_entry() {
        let g = IsnGenerator::new([3; 16]);
        let (l, r) = ends();
        assert_eq!(make(&g, l, r, SeqNumber(1), 100, Instant::ZERO).1, 536);
    }

    proptest! {
        #[test]
        fn timestamp_options_round_trip(ts in any::<u32>(), w in proptest::option::of(0u8..15), sack: bool) {
            let v = encode_ts(ts, w, sack);
            prop_assert_eq!(decode_ts(v), (w, sack));
            // Never ahead of the clock, and at most 64 ticks behind.
            prop_assert!(ts.wrapping_sub(v) < 64);
        }

        #[test]
        fn forged_cookies_fail(cookie in any::<u32>(), isn in any::<u32>()) {
            let g = IsnGenerator::new([9; 16]);
            let (l, r) = ends();
            let now = Instant::from_secs(10_000);
            let (real, _) = make(&g, l, r, SeqNumber(isn), 1460, now);
            prop_assume!(real.0 != cookie);
            // A random cookie passes with probability 2^-24 per (count, index)
            // pair; proptest's 256 cases never hit it with this key.
            prop_assert_eq!(check(&g, l, r, SeqNumber(isn), SeqNumber(cookie), now), None);
        }
    }
}
