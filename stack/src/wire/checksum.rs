//! The Internet checksum (RFC 1071) and the IPv4 pseudo-header (RFC 9293 3.1, RFC 768).

use std::net::Ipv4Addr;

/// Adds `data` to a running one's-complement sum (not yet folded).
///
/// The checksum of every segment is on the hot path of bulk transfer. The sum is
/// byte-order independent (RFC 1071 section 2(B)), so the bulk is added as
/// native-endian 32-bit words into four 64-bit accumulators, with no carry chain
/// (2^32 words fit before any could overflow), which the compiler vectorises; the
/// result is folded and swapped to network order once.
#[inline]
pub fn accumulate(sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(16);
    let mut acc = [0u64; 4];
    for c in &mut chunks {
        for (k, a) in acc.iter_mut().enumerate() {
            let w = u32::from_ne_bytes([c[4 * k], c[4 * k + 1], c[4 * k + 2], c[4 * k + 3]]);
            *a += w as u64;
        }
    }
    let native = acc[0] as u128 + acc[1] as u128 + acc[2] as u128 + acc[3] as u128;
    // Fold the native-order sum to 16 bits, then to network order.
    let mut folded = native;
    while folded > 0xffff {
        folded = (folded & 0xffff) + (folded >> 16);
    }
    let mut sum = sum + u16::from_be(folded as u16) as u64;
    // The tail (fewer than 16 bytes, starting at an even offset) in network order.
    let rest = chunks.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        sum += u16::from_be_bytes([p[0], p[1]]) as u64;
    }
    if let [last] = pairs.remainder() {
        sum += (*last as u64) << 8;
    }
    sum
}

/// Adds `data` to a running sum as if it started at byte `offset` of the summed
/// message: an odd offset swaps the bytes of each 16-bit word (RFC 1071's byte-order
/// independence), so a payload can be summed apart from its header.
#[inline]
pub fn accumulate_at(sum: u64, data: &[u8], offset: usize) -> u64 {
    if offset.is_multiple_of(2) {
        return accumulate(sum, data);
    }
    let part = fold(accumulate(0, data));
    sum + part.swap_bytes() as u64
}

/// Folds a running sum to 16 bits (not complemented).
#[inline]
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The Internet checksum of `data`: the complement of the folded sum.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(accumulate(0, data))
}

/// The running sum of the IPv4 pseudo-header for a transport checksum.
#[inline]
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: usize) -> u64 {
    let s = src.octets();
    let d = dst.octets();
    let mut sum = 0u64;
    sum += u16::from_be_bytes([s[0], s[1]]) as u64;
    sum += u16::from_be_bytes([s[2], s[3]]) as u64;
    sum += u16::from_be_bytes([d[0], d[1]]) as u64;
    sum += u16::from_be_bytes([d[2], d[3]]) as u64;
    sum += protocol as u64;
    sum += (length as u64) & 0xffff;
    sum
}

/// The transport checksum (UDP, TCP) over pseudo-header and `segment` (whose own
/// checksum field must be zero when computing, or hold the value when verifying).
pub fn transport(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> u16 {
    !fold(accumulate(
        pseudo_header(src, dst, protocol, segment.len()),
        segment,
    ))
}

/// True when `segment` (checksum field included) verifies against the pseudo-header.
pub fn transport_ok(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, segment: &[u8]) -> bool {
    transport(src, dst, protocol, segment) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(accumulate(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_lengths_and_chunk_boundaries_agree_with_naive_sum() {
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            let d = &data[..len];
            let mut naive = 0u32;
            for p in d.chunks(2) {
                let w = if p.len() == 2 {
                    u16::from_be_bytes([p[0], p[1]])
                } else {
                    (p[0] as u16) << 8
                };
                naive += w as u32;
            }
            while naive > 0xffff {
                naive = (naive & 0xffff) + (naive >> 16);
            }
            assert_eq!(fold(accumulate(0, d)), naive as u16, "len {len}");
        }
    }

    #[test]
    fn verifying_a_header_with_its_checksum_gives_zero() {
        // A real IPv4 header (from a capture) with checksum 0xb861.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&hdr), 0);
    }
}
