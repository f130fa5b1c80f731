//! `TCP_INFO`: a connection's state and figures in the byte layout of Linux's
//! `struct tcp_info` (`<linux/tcp.h>`), so a C program's `getsockopt(s,
//! IPPROTO_TCP, TCP_INFO, &ti, &len)` reads the fields it knows. Units are Linux's:
//! times in microseconds, windows and counts of data in segments (of the send MSS).
//!
//! Fields we do not keep (pacing rates, busy times, delivery rate, ECN) read 0.

use stack::tcp::{State, TcpInfo};

/// Size of Linux's `struct tcp_info` up to `tcpi_total_rto_time` (Linux 6.7).
pub const TCP_INFO_LEN: usize = 248;

/// `tcpi_options` bits.
const TCPI_OPT_TIMESTAMPS: u8 = 1;
const TCPI_OPT_SACK: u8 = 2;
const TCPI_OPT_WSCALE: u8 = 4;
const TCPI_OPT_SYN_DATA: u8 = 32;

/// Linux's `TCP_*` state numbers (`include/net/tcp_states.h`).
pub fn linux_state(state: State) -> u8 {
    match state {
        State::Established => 1,
        State::SynSent => 2,
        State::SynReceived => 3,
        State::FinWait1 => 4,
        State::FinWait2 => 5,
        State::TimeWait => 6,
        State::Closed => 7,
        State::CloseWait => 8,
        State::LastAck => 9,
        State::Listen => 10,
        State::Closing => 11,
    }
}

fn put_u32(b: &mut [u8], at: usize, v: u64) {
    let v = u32::try_from(v).unwrap_or(u32::MAX);
    b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The bytes of `struct tcp_info` for a connection (`None`: a socket with no
/// connection, which Linux reports as CLOSE or LISTEN with zero figures).
pub fn linux_bytes(info: Option<&TcpInfo>) -> Vec<u8> {
    let mut b = vec![0u8; TCP_INFO_LEN];
    let Some(i) = info else {
        b[0] = linux_state(State::Closed);
        return b;
    };
    let mss = i.mss.max(1) as u64;
    let segs = |bytes: usize| (bytes as u64).div_ceil(mss);
    b[0] = linux_state(i.state);
    b[1] = i.ca_state.linux_value();
    b[2] = i.retransmits.min(255) as u8;
    b[4] = i.retransmits.min(255) as u8; // tcpi_backoff
    let mut opts = 0;
    if i.timestamps {
        opts |= TCPI_OPT_TIMESTAMPS;
    }
    if i.sack {
        opts |= TCPI_OPT_SACK;
    }
    if let (Some(s), Some(r)) = (i.snd_wscale, i.rcv_wscale) {
        opts |= TCPI_OPT_WSCALE;
        b[6] = (s & 0x0f) | (r << 4);
    }
    if i.syn_data {
        opts |= TCPI_OPT_SYN_DATA;
    }
    b[5] = opts;
    put_u32(&mut b, 8, micros(i.rto));
    put_u32(&mut b, 16, i.mss as u64);
    put_u32(&mut b, 20, i.adv_mss as u64);
    put_u32(&mut b, 24, segs(i.unacked));
    put_u32(&mut b, 28, segs(i.sacked));
    put_u32(&mut b, 32, segs(i.lost));
    put_u32(&mut b, 36, segs(i.retrans));
    put_u32(&mut b, 60, (i.mss + 40) as u64); // tcpi_pmtu
    put_u32(&mut b, 64, i.rcv_wnd as u64); // tcpi_rcv_ssthresh
    put_u32(&mut b, 68, i.srtt.map_or(0, micros));
    put_u32(&mut b, 72, i.rttvar.map_or(0, micros));
    put_u32(
        &mut b,
        76,
        if i.ssthresh == usize::MAX {
            0x7fff_ffff // Linux's TCP_INFINITE_SSTHRESH
        } else {
            segs(i.ssthresh)
        },
    );
    put_u32(&mut b, 80, segs(i.cwnd));
    put_u32(&mut b, 84, i.adv_mss as u64);
    put_u32(&mut b, 88, i.reordering as u64);
    put_u32(&mut b, 100, i.total_retrans());
    put_u32(&mut b, 144, i.send_queue.saturating_sub(i.unacked) as u64); // notsent
    put_u32(&mut b, 148, i.min_rtt.map_or(0, micros));
    put_u32(&mut b, 216, i.recovery.dsacks);
    put_u32(&mut b, 220, i.recovery.reordering_events);
    put_u32(&mut b, 228, i.snd_wnd as u64);
    put_u32(&mut b, 232, i.rcv_wnd as u64);
    let rto_count = u16::try_from(i.recovery.timeouts).unwrap_or(u16::MAX);
    b[240..242].copy_from_slice(&rto_count.to_ne_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_connection_reads_as_closed() {
        let b = linux_bytes(None);
        assert_eq!(b.len(), TCP_INFO_LEN);
        assert_eq!(b[0], 7);
        assert!(b[1..].iter().all(|&x| x == 0));
    }
}
