//! TCP options: parsing and Linux-compatible emission.
//!
//! Read RFC 9293 section 3.2 (option format), RFC 7323 (window scale and
//! timestamps) and RFC 2018 (SACK) before touching this.
//!
//! Parsing is strict about lengths and lenient about content: an option whose
//! length byte is impossible (below 2, running past the end, or wrong for a
//! known kind) makes [`TcpOptions::parse`] return an error that the caller
//! counts as a drop; unknown kinds with a sane length are skipped. Nothing
//! here indexes past the input or panics.
//!
//! Emission reproduces the layout Linux uses (`tcp_options_write`), so a
//! capture of our SYN looks like one from a Linux host:
//!
//! ```text
//! SYN, all options:     mss | sackOK,TS val ecr | nop,wscale       (20 bytes)
//! SYN, no timestamps:   mss | nop,nop,sackOK    | nop,wscale       (12 bytes)
//! SYN, no SACK:         mss | nop,nop,TS        | nop,wscale       (20 bytes)
//! data/ACK with TS:     nop,nop,TS [| nop,nop,sack b1 .. b3]
//! data/ACK without TS:  [nop,nop,sack b1 .. b4]
//! ```

use super::seq::SeqNumber;
use core::fmt;

/// Largest option space a TCP header can carry: data offset 15 words minus
/// the 5-word fixed header (RFC 9293 section 3.1).
pub const MAX_OPTIONS_LEN: usize = 40;

/// Largest window-scale shift a receiver may honour.
///
/// RFC 7323 section 2.3: "If a Window Scale option is received with a
/// shift.cnt value larger than 14, the TCP SHOULD log the error but MUST use
/// 14 instead of the specified value."
pub const MAX_WINDOW_SCALE: u8 = 14;

/// Most SACK blocks a single option can carry (2 + 4 * 8 = 34 bytes of 40).
pub const MAX_SACK_BLOCKS: usize = 4;

const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WINDOW_SCALE: u8 = 3;
const KIND_SACK_PERMITTED: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TIMESTAMPS: u8 = 8;
/// TCP Fast Open cookie (RFC 7413 section 4.1.1).
const KIND_FAST_OPEN: u8 = 34;
/// Experimental option (RFC 6994); with [`FAST_OPEN_MAGIC`] the Fast Open
/// cookie as deployed before kind 34 was assigned.
const KIND_EXPERIMENTAL: u8 = 254;
/// The RFC 6994 experiment identifier of Fast Open.
const FAST_OPEN_MAGIC: u16 = 0xF989;

const LEN_MSS: u8 = 4;
const LEN_WINDOW_SCALE: u8 = 3;
const LEN_SACK_PERMITTED: u8 = 2;
const LEN_TIMESTAMPS: u8 = 10;
const LEN_SACK_BLOCK: usize = 8;

/// The RFC 7323 timestamps option (kind 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Timestamps {
    /// TSval: the sender's timestamp clock when the segment was sent.
    pub value: u32,
    /// TSecr: the most recent TSval received from the peer (0 on a SYN).
    pub echo_reply: u32,
}

/// A SACK block (RFC 2018 section 3): the sequence numbers of the first byte
/// of a received block and of the byte just after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SackBlock {
    /// Left edge: first sequence number of the block.
    pub left: SeqNumber,
    /// Right edge: sequence number immediately following the block.
    pub right: SeqNumber,
}

/// Shortest and longest Fast Open cookie (RFC 7413 section 4.1.1: 4 to 16
/// bytes, an even number).
pub const FAST_OPEN_COOKIE_MIN: usize = 4;
/// See [`FAST_OPEN_COOKIE_MIN`].
pub const FAST_OPEN_COOKIE_MAX: usize = 16;

/// A TCP Fast Open option (RFC 7413): a cookie, or an empty one (a cookie
/// request) when `len` is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FastOpenCookie {
    /// The cookie bytes; only the first `len` count.
    pub bytes: [u8; FAST_OPEN_COOKIE_MAX],
    /// Cookie length: 0 (a request) or 4 to 16, even.
    pub len: u8,
    /// Sent as the experimental option (kind 254, magic 0xF989) rather than
    /// kind 34.
    pub experimental: bool,
}

impl FastOpenCookie {
    /// A cookie request: the option with no cookie.
    pub fn request(experimental: bool) -> FastOpenCookie {
        FastOpenCookie {
            experimental,
            ..FastOpenCookie::default()
        }
    }

    /// A cookie of `value`'s bytes, or `None` if its length is not one a
    /// cookie may have (odd, or outside 4..=16; RFC 7413 4.1.1).
    pub fn new(value: &[u8], experimental: bool) -> Option<FastOpenCookie> {
        let len = value.len();
        if !(FAST_OPEN_COOKIE_MIN..=FAST_OPEN_COOKIE_MAX).contains(&len) || !len.is_multiple_of(2) {
            return None;
        }
        let mut bytes = [0; FAST_OPEN_COOKIE_MAX];
        bytes[..len].copy_from_slice(value);
        Some(FastOpenCookie {
            bytes,
            len: len as u8,
            experimental,
        })
    }

    /// The cookie (empty for a request).
    pub fn value(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(FAST_OPEN_COOKIE_MAX)]
    }

    /// Bytes on the wire: kind and length (plus the magic when experimental),
    /// the cookie, and two NOPs when that leaves the header unaligned.
    fn wire_len(&self) -> usize {
        let len = self.option_len();
        (len + 3) & !3
    }

    fn option_len(&self) -> usize {
        let base = if self.experimental { 4 } else { 2 };
        base + self.value().len()
    }
}

/// Why an option list could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionsError {
    /// An option's length byte is missing, below 2, or runs past the end of
    /// the option space.
    ///
    /// RFC 9293 section 3.1: "TCP implementations MUST be prepared to handle
    /// an illegal option length (e.g., zero)" (MUST-7).
    BadLength {
        /// The option kind.
        kind: u8,
    },
    /// A known option carries a length that its definition does not allow
    /// (e.g. an MSS option of length 5, or a SACK option whose length is not
    /// 2 + 8n).
    WrongSize {
        /// The option kind.
        kind: u8,
        /// The length byte found.
        len: u8,
    },
    /// The output buffer is shorter than [`TcpOptions::buffer_len`].
    BufferTooSmall,
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::BadLength { kind } => {
                write!(f, "TCP option kind {kind}: illegal or truncated length")
            }
            OptionsError::WrongSize { kind, len } => {
                write!(f, "TCP option kind {kind}: wrong length {len}")
            }
            OptionsError::BufferTooSmall => write!(f, "buffer too small for TCP options"),
        }
    }
}

impl std::error::Error for OptionsError {}

/// The TCP options this stack understands, parsed or to be emitted.
///
/// MSS, window scale and SACK-permitted belong on SYN segments only; it is
/// the caller's business to set them only there (RFC 9293 section 3.7.1,
/// RFC 7323 section 2.2, RFC 2018 section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2). A value of 0 is passed through; the
    /// caller decides how to treat it.
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3), clamped to [`MAX_WINDOW_SCALE`].
    pub window_scale: Option<u8>,
    /// SACK-permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5), in the order they appear; `None`s are skipped on
    /// emission. The first block should be the most recent (RFC 2018
    /// section 4).
    pub sack_blocks: [Option<SackBlock>; MAX_SACK_BLOCKS],
    /// Timestamps (kind 8).
    pub timestamps: Option<Timestamps>,
    /// Fast Open cookie or cookie request (kind 34, or 254 with magic
    /// 0xF989). Parsed on every segment; only SYNs use it. A cookie of a
    /// length RFC 7413 does not allow is ignored, as Linux does.
    pub fast_open: Option<FastOpenCookie>,
}

impl TcpOptions {
    /// Parses the option bytes of a TCP header (everything between the fixed
    /// 20-byte header and the data offset).
    ///
    /// A repeated option overrides the earlier one, as in Linux. Parsing stops
    /// at End of Option List; what follows it is padding.
    pub fn parse(mut bytes: &[u8]) -> Result<TcpOptions, OptionsError> {
        let mut options = TcpOptions::default();
        // The layout nearly every segment of a connection with timestamps
        // carries, RFC 7323 Appendix A's NOP, NOP, timestamps: read at once,
        // as Linux's tcp_parse_aligned_timestamp does.
        if let [KIND_NOP, KIND_NOP, KIND_TIMESTAMPS, LEN_TIMESTAMPS, ts @ ..] = bytes {
            if ts.len() == 8 {
                options.timestamps = Some(Timestamps {
                    value: read_u32(ts, 0),
                    echo_reply: read_u32(ts, 4),
                });
                return Ok(options);
            }
        }
        // RFC 9293 section 3.1: "There are two cases for the format of an
        // option: Case 1: A single octet of option-kind. Case 2: An octet of
        // option-kind (Kind), an octet of option-length, and the actual
        // option-data octets."
        while let Some((&kind, rest)) = bytes.split_first() {
            match kind {
                KIND_EOL => break,
                KIND_NOP => {
                    bytes = rest;
                    continue;
                }
                _ => {}
            }
            let len = *rest.first().ok_or(OptionsError::BadLength { kind })?;
            // "The option-length counts the two octets of option-kind and
            // option-length as well as the option-data octets."
            if len < 2 {
                return Err(OptionsError::BadLength { kind });
            }
            let (option, remaining) = bytes
                .split_at_checked(usize::from(len))
                .ok_or(OptionsError::BadLength { kind })?;
            let data = option.get(2..).unwrap_or_default();
            bytes = remaining;
            let wrong_size = OptionsError::WrongSize { kind, len };
            match kind {
                KIND_MSS => {
                    let v: [u8; 2] = data.try_into().map_err(|_| wrong_size)?;
                    options.mss = Some(u16::from_be_bytes(v));
                }
                KIND_WINDOW_SCALE => {
                    let [shift]: [u8; 1] = data.try_into().map_err(|_| wrong_size)?;
                    // RFC 7323 section 2.3: "... MUST use 14 instead of the
                    // specified value."
                    options.window_scale = Some(shift.min(MAX_WINDOW_SCALE));
                }
                KIND_SACK_PERMITTED => {
                    if len != LEN_SACK_PERMITTED {
                        return Err(wrong_size);
                    }
                    options.sack_permitted = true;
                }
                KIND_SACK => {
                    // RFC 2018 section 3: "A SACK option that specifies n
                    // blocks will have a length of 8*n+2 bytes".
                    if data.is_empty() || data.len() % LEN_SACK_BLOCK != 0 {
                        return Err(wrong_size);
                    }
                    options.sack_blocks = [None; MAX_SACK_BLOCKS];
                    let blocks = data.chunks_exact(LEN_SACK_BLOCK);
                    for (slot, block) in options.sack_blocks.iter_mut().zip(blocks) {
                        *slot = Some(SackBlock {
                            left: SeqNumber(read_u32(block, 0)),
                            right: SeqNumber(read_u32(block, 4)),
                        });
                    }
                }
                KIND_TIMESTAMPS => {
                    if len != LEN_TIMESTAMPS {
                        return Err(wrong_size);
                    }
                    options.timestamps = Some(Timestamps {
                        value: read_u32(data, 0),
                        echo_reply: read_u32(data, 4),
                    });
                }
                KIND_FAST_OPEN => options.fast_open = parse_fast_open(data, false),
                KIND_EXPERIMENTAL
                    if data.len() >= 2 && data[..2] == FAST_OPEN_MAGIC.to_be_bytes() =>
                {
                    options.fast_open = parse_fast_open(&data[2..], true);
                }
                // RFC 9293 section 3.1: "A TCP implementation MUST be able to
                // receive a TCP Option in any segment" and RFC 1122 4.2.2.5:
                // "TCP MUST ignore without error any TCP option it does not
                // implement, assuming that the option has a length field".
                _ => {}
            }
        }
        Ok(options)
    }

    /// Number of SACK blocks present.
    pub fn sack_block_count(&self) -> usize {
        self.sack_blocks.iter().flatten().count()
    }

    /// Bytes needed by everything except SACK blocks.
    fn fixed_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamps.is_some() {
            // `sackOK,TS` or `nop,nop,TS`: 12 bytes either way.
            len += 12;
        } else if self.sack_permitted {
            // `nop,nop,sackOK`
            len += 4;
        }
        if self.window_scale.is_some() {
            // `nop,wscale`
            len += 4;
        }
        if let Some(fo) = &self.fast_open {
            len += fo.wire_len();
        }
        len
    }

    /// How many of the SACK blocks fit after the other options.
    fn emitted_sack_blocks(&self) -> usize {
        let room = MAX_OPTIONS_LEN.saturating_sub(self.fixed_len());
        // `nop,nop,kind,len` then 8 bytes per block.
        let fit = room.saturating_sub(4) / LEN_SACK_BLOCK;
        self.sack_block_count().min(fit)
    }

    /// Length in bytes of the emitted options: a multiple of 4, at most
    /// [`MAX_OPTIONS_LEN`]. SACK blocks that do not fit are left out (the
    /// first, most recent ones are kept), as Linux does: 3 blocks fit next to
    /// timestamps, 4 without.
    pub fn buffer_len(&self) -> usize {
        let blocks = self.emitted_sack_blocks();
        let sack = if blocks == 0 {
            0
        } else {
            4 + blocks * LEN_SACK_BLOCK
        };
        self.fixed_len() + sack
    }

    /// Writes the options into the start of `buf` in Linux's layout and
    /// returns the number of bytes written ([`TcpOptions::buffer_len`]).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, OptionsError> {
        self.emit_summed(buf).map(|(len, _)| len)
    }

    /// Like [`TcpOptions::emit`], and also returns the running one's-complement
    /// sum (not folded) of the written bytes as big-endian 16-bit words, the
    /// options' part of the segment's checksum (the options start at an even
    /// offset). The sum comes from the values, not from reading the bytes back:
    /// a load that spans several just-written narrower stores cannot be served
    /// from the processor's store buffer and waits for them.
    pub fn emit_summed(&self, buf: &mut [u8]) -> Result<(usize, u64), OptionsError> {
        let total = self.buffer_len();
        let out = buf.get_mut(..total).ok_or(OptionsError::BufferTooSmall)?;
        let mut w = Writer {
            buf: out,
            at: 0,
            sum: 0,
        };
        if let Some(mss) = self.mss {
            w.put(&[KIND_MSS, LEN_MSS]);
            w.put(&mss.to_be_bytes());
        }
        if let Some(ts) = self.timestamps {
            // Linux folds SACK-permitted into the two bytes of padding that
            // would otherwise precede the 10-byte timestamps option.
            if self.sack_permitted {
                w.put(&[KIND_SACK_PERMITTED, LEN_SACK_PERMITTED]);
            } else {
                w.put(&[KIND_NOP, KIND_NOP]);
            }
            w.put(&[KIND_TIMESTAMPS, LEN_TIMESTAMPS]);
            w.put(&ts.value.to_be_bytes());
            w.put(&ts.echo_reply.to_be_bytes());
        } else if self.sack_permitted {
            w.put(&[KIND_NOP, KIND_NOP, KIND_SACK_PERMITTED, LEN_SACK_PERMITTED]);
        }
        if let Some(shift) = self.window_scale {
            // RFC 7323 section 2.2: the option "MAY be sent in an initial
            // <SYN> segment"; a shift above 14 is never sent.
            w.put(&[
                KIND_NOP,
                KIND_WINDOW_SCALE,
                LEN_WINDOW_SCALE,
                shift.min(MAX_WINDOW_SCALE),
            ]);
        }
        let blocks = self.emitted_sack_blocks();
        if blocks > 0 {
            // Bounded by MAX_SACK_BLOCKS, so the cast cannot truncate.
            let len = (2 + blocks * LEN_SACK_BLOCK) as u8;
            w.put(&[KIND_NOP, KIND_NOP, KIND_SACK, len]);
            for block in self.sack_blocks.iter().flatten().take(blocks) {
                w.put(&block.left.0.to_be_bytes());
                w.put(&block.right.0.to_be_bytes());
            }
        }
        // Linux writes the cookie last (`tcp_options_write`).
        if let Some(fo) = &self.fast_open {
            let len = fo.option_len() as u8;
            if fo.experimental {
                w.put(&[KIND_EXPERIMENTAL, len]);
                w.put(&FAST_OPEN_MAGIC.to_be_bytes());
            } else {
                w.put(&[KIND_FAST_OPEN, len]);
            }
            w.put(fo.value());
            if fo.wire_len() > fo.option_len() {
                w.put(&[KIND_NOP, KIND_NOP]);
            }
        }
        debug_assert_eq!(w.at, total);
        Ok((total, w.sum))
    }
}

/// A Fast Open option's data: a cookie request (empty) or a cookie of a
/// length RFC 7413 allows; anything else is ignored (`None`), as Linux's
/// `tcp_parse_fastopen_option` does.
fn parse_fast_open(cookie: &[u8], experimental: bool) -> Option<FastOpenCookie> {
    if cookie.is_empty() {
        Some(FastOpenCookie::request(experimental))
    } else {
        FastOpenCookie::new(cookie, experimental)
    }
}

/// Reads a big-endian u32 at `at`, or 0 if out of bounds (callers check
/// lengths first, so the fallback is never observed).
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at.saturating_add(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

/// Appends to a buffer sized by `buffer_len`.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
    /// The written bytes as big-endian 16-bit words, summed.
    sum: u64,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.at + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.at..end) {
            dst.copy_from_slice(bytes);
        }
        for (i, &b) in bytes.iter().enumerate() {
            // A byte at an even offset is the high byte of its word.
            let shift = if (self.at + i).is_multiple_of(2) {
                8
            } else {
                0
            };
            self.sum += u64::from(b) << shift;
        }
        self.at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(left: u32, right: u32) -> SackBlock {
        SackBlock {
            left: SeqNumber(left),
            right: SeqNumber(right),
        }
    }

    fn emit_vec(options: &TcpOptions) -> Vec<u8> {
        let mut buf = vec![0xAA; MAX_OPTIONS_LEN];
        let n = options.emit(&mut buf).unwrap();
        assert_eq!(n, options.buffer_len());
        buf.truncate(n);
        buf
    }

    fn linux_syn() -> TcpOptions {
        TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some(Timestamps {
                value: 0x0102_0304,
                echo_reply: 0,
            }),
            ..TcpOptions::default()
        }
    }

    // A SYN as captured from Linux: mss 1460,sackOK,TS val .. ecr 0,nop,wscale 7
    const LINUX_SYN_BYTES: [u8; 20] = [
        2, 4, 0x05, 0xb4, // mss 1460
        4, 2, // sackOK
        8, 10, 1, 2, 3, 4, 0, 0, 0, 0, // TS
        1, 3, 3, 7, // nop, wscale 7
    ];

    #[test]
    fn parses_linux_syn() {
        let options = TcpOptions::parse(&LINUX_SYN_BYTES).unwrap();
        assert_eq!(options, linux_syn());
    }

    #[test]
    fn emits_linux_syn_layout() {
        assert_eq!(emit_vec(&linux_syn()), LINUX_SYN_BYTES);
    }

    #[test]
    fn fast_open_layouts_are_linuxs() {
        // SYN without timestamps and a 4-byte cookie:
        // mss 1460,nop,nop,sackOK,nop,wscale 7,FO abcd1234,nop,nop
        let mut o = TcpOptions {
            timestamps: None,
            fast_open: FastOpenCookie::new(&[0xab, 0xcd, 0x12, 0x34], false),
            ..linux_syn()
        };
        let bytes = emit_vec(&o);
        assert_eq!(&bytes[12..], [34, 6, 0xab, 0xcd, 0x12, 0x34, 1, 1]);
        assert_eq!(TcpOptions::parse(&bytes).unwrap(), o);
        // A cookie request takes FO,nop,nop; the experimental form kind 254
        // with the magic and no padding for an 8-byte cookie.
        o.fast_open = Some(FastOpenCookie::request(false));
        assert_eq!(&emit_vec(&o)[12..], [34, 2, 1, 1]);
        o.fast_open = FastOpenCookie::new(&[7; 8], true);
        let bytes = emit_vec(&o);
        assert_eq!(&bytes[12..16], [254, 12, 0xf9, 0x89]);
        assert_eq!(bytes.len(), 24);
        assert_eq!(TcpOptions::parse(&bytes).unwrap(), o);
        // Lengths RFC 7413 does not allow are ignored, not errors.
        for bad in [
            &[34u8, 4, 1, 2][..],
            &[34, 5, 1, 2, 3],
            &[34, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ] {
            assert_eq!(TcpOptions::parse(bad).unwrap().fast_open, None);
        }
    }

    #[test]
    fn emits_syn_without_timestamps() {
        let options = TcpOptions {
            timestamps: None,
            ..linux_syn()
        };
        // mss 1460,nop,nop,sackOK,nop,wscale 7
        assert_eq!(
            emit_vec(&options),
            [2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7]
        );
    }

    #[test]
    fn emits_syn_without_sack() {
        let options = TcpOptions {
            sack_permitted: false,
            ..linux_syn()
        };
        assert_eq!(
            emit_vec(&options),
            [2, 4, 0x05, 0xb4, 1, 1, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7]
        );
    }

    #[test]
    fn emits_ack_with_timestamps_and_sack() {
        let options = TcpOptions {
            timestamps: Some(Timestamps {
                value: 5,
                echo_reply: 6,
            }),
            sack_blocks: [Some(block(100, 200)), Some(block(300, 400)), None, None],
            ..TcpOptions::default()
        };
        let bytes = emit_vec(&options);
        assert_eq!(
            bytes,
            [
                1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, // nop,nop,TS
                1, 1, 5, 18, // nop,nop,sack 2 blocks
                0, 0, 0, 100, 0, 0, 0, 200, 0, 0, 1, 44, 0, 0, 1, 144,
            ]
        );
        assert_eq!(TcpOptions::parse(&bytes).unwrap(), options);
    }

    #[test]
    fn sack_blocks_are_capped_by_space() {
        let all = [
            Some(block(1, 2)),
            Some(block(3, 4)),
            Some(block(5, 6)),
            Some(block(7, 8)),
        ];
        let without_ts = TcpOptions {
            sack_blocks: all,
            ..TcpOptions::default()
        };
        assert_eq!(without_ts.buffer_len(), 36);
        assert_eq!(
            TcpOptions::parse(&emit_vec(&without_ts)).unwrap(),
            without_ts
        );

        let with_ts = TcpOptions {
            timestamps: Some(Timestamps::default()),
            ..without_ts
        };
        assert_eq!(with_ts.buffer_len(), 40);
        let parsed = TcpOptions::parse(&emit_vec(&with_ts)).unwrap();
        // The fourth (oldest) block is dropped.
        assert_eq!(parsed.sack_blocks, [all[0], all[1], all[2], None]);
    }

    #[test]
    fn none_sack_slots_are_skipped() {
        let options = TcpOptions {
            sack_blocks: [None, Some(block(1, 2)), None, Some(block(3, 4))],
            ..TcpOptions::default()
        };
        let parsed = TcpOptions::parse(&emit_vec(&options)).unwrap();
        assert_eq!(
            parsed.sack_blocks,
            [Some(block(1, 2)), Some(block(3, 4)), None, None]
        );
    }

    #[test]
    fn empty_options() {
        let options = TcpOptions::default();
        assert_eq!(options.buffer_len(), 0);
        assert_eq!(options.emit(&mut []), Ok(0));
        assert_eq!(TcpOptions::parse(&[]), Ok(options));
    }

    #[test]
    fn emit_into_short_buffer_fails() {
        let mut buf = [0u8; 19];
        assert_eq!(
            linux_syn().emit(&mut buf),
            Err(OptionsError::BufferTooSmall)
        );
    }

    #[test]
    fn window_scale_is_clamped_to_14() {
        let options = TcpOptions::parse(&[1, 3, 3, 15]).unwrap();
        assert_eq!(options.window_scale, Some(14));
        let options = TcpOptions::parse(&[1, 3, 3, 255]).unwrap();
        assert_eq!(options.window_scale, Some(14));
        let options = TcpOptions::parse(&[1, 3, 3, 14]).unwrap();
        assert_eq!(options.window_scale, Some(14));
        // Never emitted above 14 either.
        let bytes = emit_vec(&TcpOptions {
            window_scale: Some(20),
            ..TcpOptions::default()
        });
        assert_eq!(bytes, [1, 3, 3, 14]);
    }

    #[test]
    fn eol_stops_parsing() {
        // MSS, EOL, then garbage that would be an error if parsed.
        let options = TcpOptions::parse(&[2, 4, 0, 100, 0, 2, 0, 0xff]).unwrap();
        assert_eq!(options.mss, Some(100));
        assert_eq!(options.window_scale, None);
    }

    #[test]
    fn unknown_options_are_skipped() {
        // kind 30 (MPTCP) length 6, then MSS.
        let bytes = [30, 6, 1, 2, 3, 4, 2, 4, 0x02, 0x18];
        let options = TcpOptions::parse(&bytes).unwrap();
        assert_eq!(options.mss, Some(536));
    }

    #[test]
    fn later_options_override_earlier_ones() {
        let options = TcpOptions::parse(&[2, 4, 0, 1, 2, 4, 0, 2]).unwrap();
        assert_eq!(options.mss, Some(2));
    }

    #[test]
    fn bad_lengths_are_errors() {
        let cases: &[(&[u8], OptionsError)] = &[
            (&[2], OptionsError::BadLength { kind: 2 }),
            (&[2, 0], OptionsError::BadLength { kind: 2 }),
            (&[2, 1, 0, 0], OptionsError::BadLength { kind: 2 }),
            (&[2, 5, 0, 0], OptionsError::BadLength { kind: 2 }),
            (&[99, 9, 0], OptionsError::BadLength { kind: 99 }),
            (&[1, 1, 99], OptionsError::BadLength { kind: 99 }),
            (
                &[2, 5, 0, 0, 0],
                OptionsError::WrongSize { kind: 2, len: 5 },
            ),
            (&[3, 4, 7, 0], OptionsError::WrongSize { kind: 3, len: 4 }),
            (&[4, 3, 0], OptionsError::WrongSize { kind: 4, len: 3 }),
            (&[5, 2], OptionsError::WrongSize { kind: 5, len: 2 }),
            (
                &[5, 9, 0, 0, 0, 0, 0, 0, 0],
                OptionsError::WrongSize { kind: 5, len: 9 },
            ),
            (
                &[8, 8, 0, 0, 0, 0, 0, 0],
                OptionsError::WrongSize { kind: 8, len: 8 },
            ),
        ];
        for (bytes, err) in cases {
            assert_eq!(TcpOptions::parse(bytes), Err(*err), "{bytes:?}");
        }
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            OptionsError::WrongSize { kind: 2, len: 5 }.to_string(),
            "TCP option kind 2: wrong length 5"
        );
    }

    fn arb_options() -> impl Strategy<Value = TcpOptions> {
        let block = (any::<u32>(), any::<u32>()).prop_map(|(l, r)| block(l, r));
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(0u8..=MAX_WINDOW_SCALE),
            any::<bool>(),
            proptest::collection::vec(block, 0..=MAX_SACK_BLOCKS),
            proptest::option::of((any::<u32>(), any::<u32>())),
            proptest::option::of((
                proptest::sample::select(vec![0usize, 4, 6, 8, 10, 12, 14, 16]),
                any::<[u8; FAST_OPEN_COOKIE_MAX]>(),
                any::<bool>(),
            )),
        )
            .prop_map(|(mss, ws, sack_ok, blocks, ts, fo)| {
                let mut sack_blocks = [None; MAX_SACK_BLOCKS];
                for (slot, b) in sack_blocks.iter_mut().zip(blocks) {
                    *slot = Some(b);
                }
                TcpOptions {
                    mss,
                    window_scale: ws,
                    sack_permitted: sack_ok,
                    sack_blocks,
                    timestamps: ts.map(|(value, echo_reply)| Timestamps { value, echo_reply }),
                    fast_open: fo.map(|(len, bytes, exp)| match len {
                        0 => FastOpenCookie::request(exp),
                        n => FastOpenCookie::new(&bytes[..n], exp).unwrap_or_default(),
                    }),
                }
            })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = TcpOptions::parse(&bytes);
        }

        #[test]
        fn arbitrary_options_shaped_bytes_never_panic(
            parts in proptest::collection::vec((0u8..10, 0u8..12, proptest::collection::vec(any::<u8>(), 0..10)), 0..8)
        ) {
            let mut bytes = Vec::new();
            for (kind, len, data) in parts {
                bytes.push(kind);
                bytes.push(len);
                bytes.extend(data);
            }
            let _ = TcpOptions::parse(&bytes);
        }

        #[test]
        fn round_trip(options in arb_options()) {
            let len = options.buffer_len();
            prop_assert!(len <= MAX_OPTIONS_LEN);
            prop_assert_eq!(len % 4, 0);
            let mut buf = [0u8; MAX_OPTIONS_LEN];
            prop_assert_eq!(options.emit(&mut buf), Ok(len));
            // The sum handed back is the sum of the bytes written.
            let (_, sum) = options.emit_summed(&mut buf).unwrap();
            prop_assert_eq!(
                crate::wire::checksum::fold(sum),
                crate::wire::checksum::fold(crate::wire::checksum::accumulate(0, &buf[..len]))
            );
            let parsed = TcpOptions::parse(&buf[..len]).unwrap();
            prop_assert_eq!(parsed.mss, options.mss);
            prop_assert_eq!(parsed.window_scale, options.window_scale);
            prop_assert_eq!(parsed.sack_permitted, options.sack_permitted);
            prop_assert_eq!(parsed.timestamps, options.timestamps);
            prop_assert_eq!(parsed.fast_open, options.fast_open);
            // The emitted SACK blocks are a prefix of the requested ones.
            let sent: Vec<_> = options.sack_blocks.iter().flatten().copied().collect();
            let got: Vec<_> = parsed.sack_blocks.iter().flatten().copied().collect();
            prop_assert!(sent.starts_with(&got));
            // Blocks are left out only when one more would not fit (with
            // the option's own four bytes when none went).
            let header = if got.is_empty() { 4 } else { 0 };
            prop_assert!(got.len() == sent.len() || len + header + LEN_SACK_BLOCK > MAX_OPTIONS_LEN);
        }
    }
}
