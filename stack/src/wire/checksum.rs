//! The Internet checksum (RFC 1071) and the IPv4 pseudo-header (RFC 9293 3.1, RFC 768).

use std::net::Ipv4Addr;

/// Adds `data` to a running one's-complement sum (not yet folded).
///
/// The checksum of every segment is on the hot path of bulk transfer. The sum is
/// byte-order independent (RFC 1071 section 2(B)), so the bulk is added as
/// native-endian 32-bit words into 16 lanes of 64 bits (64 bytes a step; no carry
/// chain, as a 32-bit word's sum folds like its two 16-bit halves), which the compiler
/// turns into vector adds; the result is folded and swapped to network order once.
/// On x86-64 processors with AVX2 the same loop runs in 256-bit registers.
#[inline]
pub fn accumulate(sum: u64, data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= 128 && std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2 (checked above), all the function needs.
        #[allow(unsafe_code)]
        return unsafe { accumulate_avx2(sum, data) };
    }
    accumulate_lanes(sum, data)
}

/// [`accumulate_lanes`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn accumulate_avx2(sum: u64, data: &[u8]) -> u64 {
    accumulate_lanes(sum, data)
}

/// Steps between two flushes of the lanes: each step adds one 32-bit word to a
/// 64-bit lane, so 2^32 - 1 steps cannot overflow one.
const STEPS_PER_FLUSH: usize = u32::MAX as usize;

#[inline(always)]
fn accumulate_lanes(sum: u64, data: &[u8]) -> u64 {
    accumulate_lanes_flushing(sum, data, STEPS_PER_FLUSH)
}

/// [`accumulate_lanes`] with the flush interval as a parameter (tests use a small
/// one to run many flushes).
#[inline(always)]
fn accumulate_lanes_flushing(sum: u64, data: &[u8], steps_per_flush: usize) -> u64 {
    let mut native = 0u64;
    let mut rest = data;
    while rest.len() >= 64 {
        let take = (rest.len() / 64).min(steps_per_flush) * 64;
        let (block, tail) = rest.split_at(take);
        // Whole native 32-bit words widened into 64-bit lanes: a 32-bit word
        // folds to the sum of its two 16-bit halves, and a plain load and a
        // zero extension per word keep the loop short.
        let mut lanes = [0u64; 16];
        for c in block.chunks_exact(64) {
            for (k, lane) in lanes.iter_mut().enumerate() {
                *lane +=
                    u32::from_ne_bytes([c[4 * k], c[4 * k + 1], c[4 * k + 2], c[4 * k + 3]]) as u64;
            }
        }
        // 2^32 is 1 modulo 0xffff, so a lane folds to its two 32-bit halves.
        for l in lanes {
            native += (l & 0xffff_ffff) + (l >> 32);
        }
        native = (native & 0xffff_ffff) + (native >> 32);
        rest = tail;
    }
    // The tail (a header, say) four bytes at a time: a native 32-bit word folds
    // to the sum of its two 16-bit halves.
    let mut quads = rest.chunks_exact(4);
    for q in &mut quads {
        native += u32::from_ne_bytes([q[0], q[1], q[2], q[3]]) as u64;
    }
    let mut pairs = quads.remainder().chunks_exact(2);
    for p in &mut pairs {
        native += u16::from_ne_bytes([p[0], p[1]]) as u64;
    }
    // Fold the native-order sum to 16 bits, then to network order.
    let mut sum = sum + u16::from_be(fold(native)) as u64;
    // An odd last byte is the high byte of a word padded with zero.
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
    fn lanes_do_not_overflow_past_a_flush_and_both_code_paths_agree() {
        // Words of 0xffff only, more than one flush of the lanes long: every lane
        // is at its largest when it is flushed.
        let ones = vec![0xffu8; 64 * 1000 + 130];
        assert_eq!(fold(accumulate(0, &ones)), 0xffff);
        assert_eq!(fold(accumulate_lanes(0, &ones)), 0xffff);
        for flush in [1, 2, 3, 7] {
            assert_eq!(fold(accumulate_lanes_flushing(0, &ones, flush)), 0xffff);
        }
        // A lane at its largest (2^32 - 1 words of 0xffff_ffff) folds right.
        let l = u64::from(u32::MAX) * u64::from(u32::MAX);
        assert_eq!(fold((l & 0xffff_ffff) + (l >> 32)), fold(l));
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in (0..data.len()).step_by(37) {
            let d = &data[..len];
            assert_eq!(
                fold(accumulate(5, d)),
                fold(accumulate_lanes(5, d)),
                "len {len}"
            );
            assert_eq!(
                fold(accumulate(5, d)),
                fold(accumulate_lanes_flushing(5, d, 1)),
                "len {len}"
            );
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
