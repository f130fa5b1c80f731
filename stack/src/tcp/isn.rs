//! Initial sequence numbers, RFC 6528.
//!
//! Read RFC 6528 section 3 and RFC 9293 section 3.4.1 before touching this.
//! The ISN combines a clock (so that successive incarnations of one
//! connection use increasing numbers, protecting against old duplicates) with
//! a keyed hash of the connection identifier (so that an off-path attacker
//! cannot predict the ISN of a connection from those of others).
//!
//! The engine never reads a clock: the caller passes `now`. The secret key is
//! drawn from the configuration's seed, and replaced by a runtime with one from
//! the operating system (`Engine::set_secret`). The same key, tuple and time give
//! the same ISN, which is what makes simulations reproducible. The same key also
//! keys timestamp offsets and SYN cookies.

use crate::tcp::seq::SeqNumber;
use crate::time::Instant;
use core::fmt;
use core::hash::Hasher;
use siphasher::sip::SipHasher24;
use std::net::SocketAddrV4;

/// RFC 6528 ISN generator, keyed with a 128-bit secret.
#[derive(Clone)]
pub struct IsnGenerator {
    key: [u8; 16],
}

impl IsnGenerator {
    /// A generator using `secret_key`.
    ///
    /// RFC 6528 section 3: "the secret key should be of a reasonable length.
    /// Key lengths of 128 bits should be adequate." The key should be drawn
    /// from the stack's seeded RNG at start-up and never change for the life
    /// of the stack, or ISNs of new incarnations may go backwards.
    pub fn new(secret_key: [u8; 16]) -> IsnGenerator {
        IsnGenerator { key: secret_key }
    }

    /// The ISN for a connection from `local` to `remote` opened at `now`.
    ///
    /// RFC 9293 section 3.4.1 (after RFC 6528 section 3): "ISN = M +
    /// F(localip, localport, remoteip, remoteport, secretkey) where M is the
    /// 4 microsecond timer, and F() is a pseudorandom function (PRF) of the
    /// connection's identifying parameters ... F() MUST NOT be computable
    /// from the outside (MUST-9)". F is SipHash-2-4 (a keyed PRF) truncated
    /// to 32 bits.
    pub fn isn(&self, local: SocketAddrV4, remote: SocketAddrV4, now: Instant) -> SeqNumber {
        // The 4 microsecond timer, modulo 2^32 (it wraps every ~4.77 hours).
        let m = (now.total_micros() / 4) as u32;
        SeqNumber(m.wrapping_add(self.connection_hash(local, remote)))
    }

    /// F(): SipHash-2-4 of the connection identifier, truncated to 32 bits.
    fn connection_hash(&self, local: SocketAddrV4, remote: SocketAddrV4) -> u32 {
        self.keyed(0, local, remote, &[]) as u32
    }

    /// The offset of a connection's timestamp clock (RFC 7323 5.4): a keyed hash
    /// of its addresses, as Linux's `secure_tcp_ts_off`, so that the clock of a
    /// connection can be known again without state (SYN cookies).
    pub fn ts_offset(&self, local: SocketAddrV4, remote: SocketAddrV4) -> u32 {
        self.keyed(1, local, remote, &[]) as u32
    }

    /// SipHash-2-4 under the key of `domain` (so the uses never share a
    /// value), the connection identifier and `extra`.
    pub(crate) fn keyed(
        &self,
        domain: u8,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        extra: &[u8],
    ) -> u64 {
        let mut id = [0u8; 12];
        id[0..4].copy_from_slice(&local.ip().octets());
        id[4..6].copy_from_slice(&local.port().to_be_bytes());
        id[6..10].copy_from_slice(&remote.ip().octets());
        id[10..12].copy_from_slice(&remote.port().to_be_bytes());
        let mut hasher = SipHasher24::new_with_key(&self.key);
        if domain != 0 {
            hasher.write_u8(domain);
        }
        hasher.write(&id);
        hasher.write(extra);
        hasher.finish()
    }
}

impl fmt::Debug for IsnGenerator {
    /// Never prints the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsnGenerator").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const KEY: [u8; 16] = *b"0123456789abcdef";

    fn addr(a: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, a), port)
    }

    #[test]
    fn deterministic() {
        let a = IsnGenerator::new(KEY);
        let b = IsnGenerator::new(KEY);
        let t = Instant::from_millis(1234);
        assert_eq!(
            a.isn(addr(1, 80), addr(2, 40000), t),
            b.isn(addr(1, 80), addr(2, 40000), t)
        );
    }

    #[test]
    fn depends_on_every_tuple_field_and_the_key() {
        let g = IsnGenerator::new(KEY);
        let t = Instant::from_secs(5);
        let base = g.isn(addr(1, 80), addr(2, 40000), t);
        assert_ne!(base, g.isn(addr(3, 80), addr(2, 40000), t));
        assert_ne!(base, g.isn(addr(1, 81), addr(2, 40000), t));
        assert_ne!(base, g.isn(addr(1, 80), addr(4, 40000), t));
        assert_ne!(base, g.isn(addr(1, 80), addr(2, 40001), t));
        // Direction matters: swapping ends gives another ISN.
        assert_ne!(base, g.isn(addr(2, 40000), addr(1, 80), t));
        let other = IsnGenerator::new([7; 16]);
        assert_ne!(base, other.isn(addr(1, 80), addr(2, 40000), t));
    }

    #[test]
    fn advances_with_the_4_microsecond_clock() {
        let g = IsnGenerator::new(KEY);
        let t0 = Instant::from_secs(100);
        let isn0 = g.isn(addr(1, 80), addr(2, 40000), t0);
        let isn1 = g.isn(
            addr(1, 80),
            addr(2, 40000),
            t0 + crate::time::Duration::from_micros(4),
        );
        let isn2 = g.isn(
            addr(1, 80),
            addr(2, 40000),
            t0 + crate::time::Duration::from_secs(1),
        );
        assert_eq!(isn1 - isn0, 1);
        assert_eq!(isn2 - isn0, 250_000);
        assert!(isn2.gt(isn0));
        // Sub-tick differences do not move the ISN.
        let isn3 = g.isn(
            addr(1, 80),
            addr(2, 40000),
            t0 + crate::time::Duration::from_micros(3),
        );
        assert_eq!(isn3, isn0);
    }

    #[test]
    fn hash_is_siphash_2_4_of_the_tuple() {
        // F for a fixed tuple is the low 32 bits of SipHash-2-4 over
        // localip | localport | remoteip | remoteport, big-endian.
        let g = IsnGenerator::new(KEY);
        let mut h = SipHasher24::new_with_key(&KEY);
        h.write(&[10, 0, 0, 1, 0, 80, 10, 0, 0, 2, 0x9c, 0x40]);
        let expected = h.finish() as u32;
        assert_eq!(
            g.isn(addr(1, 80), addr(2, 40000), Instant::ZERO),
            SeqNumber(expected)
        );
    }

    #[test]
    fn debug_hides_key() {
        let shown = format!("{:?}", IsnGenerator::new(KEY));
        assert!(!shown.contains("48"), "{shown}");
        assert_eq!(shown, "IsnGenerator { .. }");
    }

    proptest! {
        #[test]
        fn monotonic_over_short_intervals(port in any::<u16>(), start in 0u64..(1 << 40), dt in 4u64..4_000_000) {
            let g = IsnGenerator::new(KEY);
            let t0 = Instant::from_micros(start);
            let a = g.isn(addr(1, port), addr(2, 443), t0);
            let b = g.isn(addr(1, port), addr(2, 443), Instant::from_micros(start + dt));
            prop_assert!(b.gt(a));
        }
    }
}
