//! TCP on virtual time: two engines on the simulated wire.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::config::StackConfig;
use crate::counters::{DropReason, Stat};
use crate::device::impaired::ImpairmentConfig;
use crate::error::NetError;
use crate::sim::{Side, SimPair};
use crate::socket::SocketHandle;
use crate::tcp::{RecvFlags, SendFlags, Shutdown, State};
use crate::time::Duration;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn pair() -> SimPair {
    SimPair::new(
        StackConfig::new(A, 24),
        StackConfig::new(B, 24),
        Duration::from_micros(100),
    )
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

/// A listening on B:80, A connected to it; returns (client on A, server child on B).
fn connected(p: &mut SimPair) -> (SocketHandle, SocketHandle) {
    let l = p.b.tcp_open().unwrap();
    p.b.tcp_bind(l, sa(Ipv4Addr::UNSPECIFIED, 8080)).unwrap();
    p.b.tcp_listen(l, 5).unwrap();
    let c = p.a.tcp_open().unwrap();
    assert_eq!(
        p.a.tcp_connect(p.now(), c, sa(B, 8080)),
        Err(NetError::InProgress)
    );
    let mut child = None;
    assert!(p.run_until(Duration::from_secs(5), |p| {
        if child.is_none() {
            child = p.b.tcp_accept(p.now(), l).ok().map(|(h, _)| h);
        }
        child.is_some() && p.a.tcp_state(c).unwrap() == State::Established
    }));
    (c, child.unwrap())
}

#[test]
fn a_handshake_counts_each_segment_once() {
    let mut p = pair();
    connected(&mut p);
    // Client: SYN and ACK out, SYN-ACK in. Server (through its listener): SYN and
    // ACK in, SYN-ACK out.
    let (a, b) = (p.a.counters(), p.b.counters());
    assert_eq!(a.stat(Stat::TcpSegmentsOut), 2);
    assert_eq!(a.stat(Stat::TcpSegmentsIn), 1);
    assert_eq!(b.stat(Stat::TcpSegmentsIn), 2);
    assert_eq!(b.stat(Stat::TcpSegmentsOut), 1);
}

/// Moves `data` from `tx` on `from` to `rx` on the other side; returns what arrived.
fn transfer(
    p: &mut SimPair,
    a_to_b: bool,
    tx: SocketHandle,
    rx: SocketHandle,
    data: &[u8],
) -> Vec<u8> {
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let ok = p.run_until(Duration::from_secs(600), |p| {
        let now = p.now();
        let (s, r) = if a_to_b {
            (&mut p.a, &mut p.b)
        } else {
            (&mut p.b, &mut p.a)
        };
        while sent < data.len() {
            match s.tcp_send(now, tx, &data[sent..], SendFlags::default()) {
                Ok(n) => sent += n,
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("send: {e}"),
            }
        }
        loop {
            match r.tcp_recv(now, rx, &mut buf, RecvFlags::default()) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
        got.len() == data.len()
    });
    assert!(
        ok,
        "transfer stalled at {} of {} bytes at {}: tx {:?} rx {:?}",
        got.len(),
        data.len(),
        p.now(),
        if a_to_b {
            p.a.tcp_info(tx)
        } else {
            p.b.tcp_info(tx)
        },
        if a_to_b {
            p.b.tcp_info(rx)
        } else {
            p.a.tcp_info(rx)
        }
    );
    got
}

fn pattern(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[test]
fn handshake_transfer_and_graceful_close() {
    let mut p = pair();
    let (c, s) = connected(&mut p);
    assert_eq!(p.b.tcp_peer_addr(s).unwrap().map(|a| *a.ip()), Some(A));
    let data = pattern(300_000, 1);
    assert_eq!(transfer(&mut p, true, c, s, &data), data);
    let back = pattern(200_000, 2);
    assert_eq!(transfer(&mut p, false, s, c, &back), back);
    // Client closes first: FIN-WAIT-1/2, server reads EOF, closes, client TIME-WAIT.
    p.a.close(p.now(), c).unwrap();
    let mut buf = [0u8; 16];
    assert!(p.run_until(Duration::from_secs(5), |p| p.b.tcp_recv(
        p.now(),
        s,
        &mut buf,
        RecvFlags::default()
    ) == Ok(0)));
    assert_eq!(p.b.tcp_state(s).unwrap(), State::CloseWait);
    p.b.close(p.now(), s).unwrap();
    p.run_for(Duration::from_secs(1));
    assert_eq!(
        p.b.socket_count(),
        1,
        "server child freed after LAST-ACK; listener remains"
    );
    // The client's closed connection sits in TIME-WAIT for 2 MSL as a record
    // (its socket is freed at once), then goes.
    assert_eq!(p.a.socket_count(), 0);
    assert_eq!(p.a.tcp_time_wait_count(), 1);
    assert_eq!(p.a.counters().stat(Stat::TcpTimeWaitEntered), 1);
    p.run_for(Duration::from_secs(58));
    assert_eq!(p.a.tcp_time_wait_count(), 1);
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.a.tcp_time_wait_count(), 0);
    assert!(p.a.tcp_tables_empty());
    assert_eq!(p.a.counters().stat(Stat::TcpRetransmits), 0);
}

#[test]
fn connection_to_a_closed_port_is_refused() {
    let mut p = pair();
    let c = p.a.tcp_open().unwrap();
    let _ = p.a.tcp_connect(p.now(), c, sa(B, 9));
    p.run_for(Duration::from_millis(10));
    assert_eq!(p.a.tcp_state(c).unwrap(), State::Closed);
    assert_eq!(
        p.a.tcp_take_error(c).unwrap(),
        Some(NetError::ConnectionRefused)
    );
    assert_eq!(p.b.counters().drops(DropReason::TcpNoSocket), 1);
    assert_eq!(p.b.counters().stat(Stat::TcpRstSent), 1);
}

#[test]
fn transfer_survives_loss_reordering_duplication_and_corruption() {
    for seed in 0..3u64 {
        let mut p = pair();
        p.impair(
            ImpairmentConfig {
                loss: 0.05,
                duplicate: 0.01,
                reorder: 0.02,
                corrupt: 0.01,
                ..ImpairmentConfig::default()
            },
            seed,
        );
        let (c, s) = connected(&mut p);
        let data = pattern(200_000, seed as u32);
        assert_eq!(transfer(&mut p, true, c, s, &data), data, "seed {seed}");
        assert_eq!(transfer(&mut p, false, s, c, &data), data, "seed {seed}");
        p.b.tcp_shutdown(p.now(), s, Shutdown::Write).unwrap();
        p.a.close(p.now(), c).unwrap();
        p.b.close(p.now(), s).unwrap();
        p.run_for(Duration::from_secs(200));
        assert_eq!(p.a.socket_count(), 0, "seed {seed}");
        assert_eq!(p.b.socket_count(), 1, "seed {seed}");
    }
}

/// DESIGN.md testing layer 2: 50 seeds, 10 % loss plus reordering, duplication and
/// corruption, 10 MB each way, byte-identical; closes in both orders.
#[test]
fn fifty_seeds_ten_megabytes_each_way_at_ten_percent_loss() {
    for seed in 0..50u64 {
        let mut p = pair();
        p.impair(
            ImpairmentConfig {
                loss: 0.10,
                duplicate: 0.01,
                reorder: 0.02,
                corrupt: 0.01,
                ..ImpairmentConfig::default()
            },
            seed,
        );
        let (c, s) = connected(&mut p);
        let up = pattern(10_000_000, seed as u32);
        let down = pattern(10_000_000, !(seed as u32));
        assert!(
            transfer(&mut p, true, c, s, &up) == up,
            "seed {seed}: A to B differs"
        );
        assert!(
            transfer(&mut p, false, s, c, &down) == down,
            "seed {seed}: B to A differs"
        );
        // Odd seeds: the client closes first; even seeds: the server does.
        let (first, second) = if seed % 2 == 1 {
            (true, false)
        } else {
            (false, true)
        };
        for a_side in [first, second] {
            let now = p.now();
            if a_side {
                p.a.close(now, c).unwrap();
            } else {
                p.b.close(now, s).unwrap();
            }
            p.run_for(Duration::from_millis(50));
        }
        assert!(
            p.run_until(Duration::from_secs(600), |p| p.a.socket_count() == 0
                && p.b.socket_count() == 1),
            "seed {seed}: connection did not finish closing: A {} B {}",
            p.a.socket_count(),
            p.b.socket_count()
        );
    }
}

/// A peer model of Linux's receiver: every pure ACK advertises a window a little
/// smaller than the last (as a receiver does while out-of-order data fills its
/// buffer), never the same twice in a row. The TCP checksum is patched (RFC 1624).
fn linux_like_window(frame: &mut [u8]) {
    let Some(ihl) = frame.get(14).map(|b| usize::from(b & 0x0f) * 4) else {
        return;
    };
    let tcp = 14 + ihl;
    let total = frame
        .get(16..18)
        .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
    let (Some(&proto), Some(&doff)) = (frame.get(23), frame.get(tcp + 12)) else {
        return;
    };
    let payload = total.saturating_sub(ihl + usize::from(doff >> 4) * 4);
    if proto != 6 || payload > 0 || frame.len() < tcp + 20 {
        return;
    }
    let old = u16::from_be_bytes([frame[tcp + 14], frame[tcp + 15]]);
    let sum = u16::from_be_bytes([frame[tcp + 16], frame[tcp + 17]]);
    // A pseudo-random shrink from the ACK's own bytes: 1 to 64 units.
    let shrink = 1 + (u16::from(frame[tcp + 8]) ^ u16::from(frame[tcp + 11])) % 64;
    let new = old.saturating_sub(shrink).max(1);
    // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
    let mut acc = u32::from(!sum) + u32::from(!old) + u32::from(new);
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    frame[tcp + 14..tcp + 16].copy_from_slice(&new.to_be_bytes());
    frame[tcp + 16..tcp + 18].copy_from_slice(&(!(acc as u16)).to_be_bytes());
}

/// Loss recovery against a receiver whose window changes on every ACK: 50 seeds
/// at 2 % and at 10 % loss with reordering, 2 MB each, byte-identical; fast
/// recovery, RACK and probes do the repairs, timeouts cause at most 5 % (2 %
/// loss) and 25 % (10 % loss) of the retransmissions.
#[test]
fn fifty_seeds_recover_against_a_window_that_changes_on_every_ack() {
    for (loss, timeout_share) in [(0.02, 0.05), (0.10, 0.25)] {
        let (mut retrans, mut by_timeout) = (0u64, 0u64);
        for seed in 0..50u64 {
            let mut p = pair();
            p.rewrite_frames(Side::B, Box::new(linux_like_window));
            p.impair(
                ImpairmentConfig {
                    loss,
                    reorder: 0.01,
                    ..ImpairmentConfig::default()
                },
                seed,
            );
            let (c, s) = connected(&mut p);
            let data = pattern(2_000_000, seed as u32);
            assert!(
                transfer(&mut p, true, c, s, &data) == data,
                "loss {loss}, seed {seed}: data differs"
            );
            let ctr = p.a.counters();
            retrans += ctr.stat(Stat::TcpRetransmits);
            by_timeout += ctr.stat(Stat::TcpRetransTimeout);
            assert!(
                ctr.stat(Stat::TcpRetransFastRecovery) + ctr.stat(Stat::TcpRetransRack) > 0,
                "loss {loss}, seed {seed}: no fast recovery at all"
            );
        }
        assert!(
            (by_timeout as f64) <= timeout_share * retrans as f64,
            "loss {loss}: timeouts caused {by_timeout} of {retrans} retransmissions"
        );
    }
}

#[test]
fn simultaneous_open() {
    let mut p = pair();
    let a = p.a.tcp_open().unwrap();
    p.a.tcp_bind(a, sa(A, 5000)).unwrap();
    let b = p.b.tcp_open().unwrap();
    p.b.tcp_bind(b, sa(B, 6000)).unwrap();
    // Both SYNs cross on the wire (the ARP exchange first: B learns A's MAC from
    // A's request, so both SYNs leave at once).
    let _ = p.a.tcp_connect(p.now(), a, sa(B, 6000));
    let _ = p.b.tcp_connect(p.now(), b, sa(A, 5000));
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.a.tcp_state(a).unwrap()
            == State::Established
            && p.b.tcp_state(b).unwrap() == State::Established)
    );
    let data = pattern(10_000, 3);
    assert_eq!(transfer(&mut p, true, a, b, &data), data);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut p = pair();
    let (c, s) = connected(&mut p);
    let now = p.now();
    p.a.tcp_shutdown(now, c, Shutdown::Write).unwrap();
    p.b.tcp_shutdown(now, s, Shutdown::Write).unwrap();
    assert_eq!(p.a.tcp_state(c).unwrap(), State::FinWait1);
    let mut seen_closing = false;
    p.run_until(Duration::from_secs(1), |p| {
        seen_closing |= p.a.tcp_state(c).unwrap() == State::Closing;
        p.a.tcp_state(c).unwrap() == State::TimeWait
    });
    assert!(seen_closing);
    assert_eq!(p.b.tcp_state(s).unwrap(), State::TimeWait);
}

#[test]
fn buffer_memory_follows_the_data() {
    let mut p = pair();
    let (c, s) = connected(&mut p);
    let memory = |p: &SimPair, side: Side, h| {
        let e = match side {
            Side::A => &p.a,
            Side::B => &p.b,
        };
        e.tcp_info(h).unwrap().unwrap().buffer_memory
    };
    // A fresh connection holds no buffer storage.
    assert_eq!(memory(&p, Side::A, c), 0);
    assert_eq!(memory(&p, Side::B, s), 0);
    // 200 KB queued unread: the receiver holds about that much, not its whole
    // 256 KiB limit up front.
    let data = pattern(200_000, 3);
    assert_eq!(
        p.a.tcp_send(p.now(), c, &data, SendFlags::default()),
        Ok(200_000)
    );
    assert!(
        p.run_until(Duration::from_secs(5), |p| p.b.tcp_recv_queue_len(s)
            == Ok(200_000))
    );
    let held = memory(&p, Side::B, s);
    assert!((200_000..=262_144).contains(&held), "{held}");
    // Read it all; after a second idle every buffer is given back.
    assert_eq!(transfer_read(&mut p, s, 200_000), data);
    p.run_for(Duration::from_millis(1100));
    assert_eq!(memory(&p, Side::A, c), 0);
    assert_eq!(memory(&p, Side::B, s), 0);
}

fn transfer_read(p: &mut SimPair, s: SocketHandle, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got.len() < n {
        let k =
            p.b.tcp_recv(p.now(), s, &mut buf, RecvFlags::default())
                .unwrap();
        got.extend_from_slice(&buf[..k]);
    }
    got
}

#[test]
fn close_with_unread_data_sends_rst_and_peer_sees_reset() {
    let mut p = pair();
    let (c, s) = connected(&mut p);
    p.a.tcp_send(p.now(), c, b"unread", SendFlags::default())
        .unwrap();
    p.run_for(Duration::from_millis(10));
    p.b.close(p.now(), s).unwrap();
    p.run_for(Duration::from_millis(10));
    // One RST for the abort (a probe that crossed it may draw another from the
    // closed port).
    assert!(p.b.counters().stat(Stat::TcpRstSent) >= 1);
    let mut buf = [0u8; 8];
    assert_eq!(
        p.a.tcp_recv(p.now(), c, &mut buf, RecvFlags::default()),
        Err(NetError::ConnectionReset)
    );
    assert_eq!(
        p.a.tcp_send(p.now(), c, b"x", SendFlags::default()),
        Err(NetError::BrokenPipe)
    );
}

#[test]
fn half_close_lets_data_flow_the_other_way() {
    let mut p = pair();
    let (c, s) = connected(&mut p);
    p.a.tcp_shutdown(p.now(), c, Shutdown::Write).unwrap();
    let mut buf = [0u8; 8];
    assert!(p.run_until(Duration::from_secs(1), |p| p.b.tcp_recv(
        p.now(),
        s,
        &mut buf,
        RecvFlags::default()
    ) == Ok(0)));
    assert_eq!(
        p.a.tcp_send(p.now(), c, b"x", SendFlags::default()),
        Err(NetError::BrokenPipe)
    );
    let data = pattern(100_000, 9);
    assert_eq!(transfer(&mut p, false, s, c, &data), data);
    assert_eq!(p.a.tcp_state(c).unwrap(), State::FinWait2);
}

#[test]
fn connect_times_out_after_syn_retries_with_exponential_backoff() {
    let mut cfg = StackConfig::new(A, 24);
    cfg.tcp.syn_retries = 3;
    let mut p = SimPair::new(cfg, StackConfig::new(B, 24), Duration::from_micros(100));
    p.impair(
        ImpairmentConfig {
            loss: 1.0,
            ..ImpairmentConfig::default()
        },
        1,
    );
    // Loss is total: even ARP fails; use a resolved neighbour so the SYNs go out.
    p.a.learn_neighbour(p.now(), B, p.b.config().mac);
    p.record();
    let c = p.a.tcp_open().unwrap();
    let _ = p.a.tcp_connect(p.now(), c, sa(B, 8080));
    p.run_until(Duration::from_secs(60), |p| {
        p.a.tcp_state(c).unwrap() == State::Closed
    });
    assert_eq!(p.a.tcp_take_error(c).unwrap(), Some(NetError::TimedOut));
    let syn_times: Vec<u64> = p
        .trace
        .as_ref()
        .unwrap()
        .iter()
        .map(|(t, _, _)| t.total_millis())
        .collect();
    // Initial SYN and three retries: 0, 1, 3, 7 s; failure at 15 s.
    assert_eq!(syn_times, vec![0, 1000, 3000, 7000]);
    assert_eq!(p.now().total_millis(), 15000);
}

#[test]
fn closing_a_listener_resets_its_queued_connections() {
    let mut p = pair();
    let l = p.b.tcp_open().unwrap();
    p.b.tcp_bind(l, sa(Ipv4Addr::UNSPECIFIED, 8100)).unwrap();
    p.b.tcp_listen(l, 4).unwrap();
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let c = p.a.tcp_open().unwrap();
            let _ = p.a.tcp_connect(p.now(), c, sa(B, 8100));
            c
        })
        .collect();
    p.run_for(Duration::from_millis(50));
    assert!(clients
        .iter()
        .all(|&c| p.a.tcp_state(c).unwrap() == State::Established));
    // Never accepted: closing the listener resets them (Linux's inet_csk_listen_stop).
    p.b.close(p.now(), l).unwrap();
    p.run_for(Duration::from_millis(50));
    for c in clients {
        assert_eq!(p.a.tcp_state(c).unwrap(), State::Closed);
        assert_eq!(
            p.a.tcp_take_error(c).unwrap(),
            Some(NetError::ConnectionReset)
        );
    }
    assert_eq!(p.b.socket_count(), 0, "nothing leaks");
}

#[test]
fn connect_to_a_host_that_does_not_answer_arp_is_host_unreachable() {
    let mut p = pair();
    let c = p.a.tcp_open().unwrap();
    let _ =
        p.a.tcp_connect(p.now(), c, sa(Ipv4Addr::new(10, 0, 0, 99), 80));
    assert!(
        p.run_until(Duration::from_secs(10), |p| p.a.tcp_state(c).unwrap()
            == State::Closed)
    );
    assert_eq!(
        p.a.tcp_take_error(c).unwrap(),
        Some(NetError::HostUnreachable)
    );
    assert_eq!(
        p.now(),
        crate::time::Instant::from_secs(3),
        "after three ARP requests"
    );
}

/// Every combination of the eight flag bits, to a listener, to an established
/// connection, to a closed port and to a connection in SYN-SENT: the RFC's answer
/// or a counted drop, never a panic, and the established connection still works.
#[test]
fn every_flag_combination_is_handled() {
    use crate::tcp::segment::{Flags, TcpRepr};
    use crate::tcp::seq::SeqNumber;
    use crate::wire::{ethernet, EthernetAddress, ETHERTYPE_IPV4, HEADROOM};
    let mut p = pair();
    let (c, s) = connected(&mut p);
    let listener_port = 8080;
    let a_mac = p.a.config().mac;
    let b_mac = p.b.config().mac;
    let client_port = p.a.tcp_local_addr(c).unwrap().unwrap().port();
    for bits in 0u16..=255 {
        for (dst_port, seq) in [
            (listener_port, 1000u32),
            (9, 5),
            (listener_port, 0xffff_fff0),
        ] {
            let repr = TcpRepr {
                src_port: if dst_port == listener_port && seq == 0xffff_fff0 {
                    client_port
                } else {
                    40000 + bits
                },
                dst_port,
                seq: SeqNumber(seq),
                ack: SeqNumber(seq.wrapping_mul(7)),
                flags: Flags::from_byte(bits as u8),
                window: 1000,
                urgent: 3,
                options: Default::default(),
            };
            let data = if bits % 3 == 0 {
                &b"payload"[..]
            } else {
                &[][..]
            };
            let mut f = vec![0u8; HEADROOM + 20];
            f.extend_from_slice(data);
            let (head, payload) = f[HEADROOM..].split_at_mut(20);
            repr.emit(head, A, B, payload);
            let send = crate::ip::IpSend {
                src: A,
                dst: B,
                protocol: 6,
                ttl: 64,
                tos: 0,
                dont_frag: true,
            };
            let len = f.len() - 14;
            crate::ip::write_header(&mut f[14..], &send, 1, len, 0, false);
            ethernet::write_header(&mut f, b_mac, a_mac, ETHERTYPE_IPV4);
            let now = p.now();
            p.b.handle_frame(now, &f);
            while p.b.poll_transmit(now).is_some() {}
        }
        let _ = EthernetAddress::BROADCAST;
    }
    // The connection survived (or was legitimately reset by an exact RST); if it is
    // alive, data still flows.
    if p.b.tcp_state(s).unwrap() == State::Established
        && p.a.tcp_state(c).unwrap() == State::Established
    {
        let data = pattern(10_000, 5);
        assert_eq!(transfer(&mut p, true, c, s, &data), data);
    }
    let counters = p.b.counters();
    assert!(counters.stat(Stat::TcpSegmentsIn) > 0);
    assert!(counters.drops(DropReason::TcpNoSocket) > 0);
}

/// Linux's tcp_max_orphans: at most that many connections closed by their user
/// live on to finish; past it, `close` resets the connection instead.
#[test]
fn closes_beyond_max_orphans_reset_the_connection() {
    let mut a_cfg = StackConfig::new(A, 24);
    a_cfg.tcp.max_orphans = 3;
    let mut p = SimPair::new(a_cfg, StackConfig::new(B, 24), Duration::from_micros(100));
    let l = p.b.tcp_open().unwrap();
    p.b.tcp_bind(l, sa(Ipv4Addr::UNSPECIFIED, 8080)).unwrap();
    p.b.tcp_listen(l, 10).unwrap();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let c = p.a.tcp_open().unwrap();
            let _ = p.a.tcp_connect(p.now(), c, sa(B, 8080));
            c
        })
        .collect();
    assert!(
        p.run_until(Duration::from_secs(5), |p| clients.iter().all(|&c| p
            .a
            .tcp_state(c)
            .unwrap()
            == State::Established))
    );
    // Nothing gets through any more: FINs stay unacknowledged, orphans live on.
    p.impair(
        ImpairmentConfig {
            loss: 1.0,
            ..Default::default()
        },
        1,
    );
    for &c in &clients {
        p.a.close(p.now(), c).unwrap();
    }
    assert_eq!(p.a.counters().stat(Stat::TcpOrphansReset), 3);
    assert_eq!(p.a.socket_count(), 3, "three orphans live on");
    // They give up after orphan_retries retransmissions: nothing is left.
    p.run_for(Duration::from_secs(600));
    assert_eq!(p.a.socket_count(), 0);
}

/// Sends `bytes` from A's `c` to B's `s`, B reading as it comes; true once all
/// arrived within `limit` of virtual time.
fn bulk(p: &mut SimPair, c: SocketHandle, s: SocketHandle, bytes: usize, limit: Duration) -> bool {
    let data = vec![7u8; bytes];
    let (mut sent, mut got) = (0, 0);
    let mut buf = vec![0u8; 1 << 20];
    p.run_until(limit, |p| {
        let now = p.now();
        if sent < data.len() {
            sent +=
                p.a.tcp_send(now, c, &data[sent..], SendFlags::default())
                    .unwrap_or(0);
        }
        while let Ok(n) = p.b.tcp_recv(now, s, &mut buf, RecvFlags::default()) {
            if n == 0 {
                break;
            }
            got += n;
        }
        got == data.len()
    })
}

/// Two stacks with the default configuration: a bulk transfer over a 2 ms path
/// grows the receiver's buffer past its starting size (autotuning), never past
/// the limit; a socket whose user set SO_RCVBUF keeps it.
#[test]
fn receive_buffers_autotune_unless_set() {
    for set in [false, true] {
        let mut p = SimPair::new(
            StackConfig::new(A, 24),
            StackConfig::new(B, 24),
            Duration::from_millis(1),
        );
        let (c, s) = connected(&mut p);
        let start = p.b.socket_options(s).unwrap().recv_buffer;
        if set {
            let mut o = p.b.socket_options(s).unwrap();
            o.recv_buffer = start;
            o.recv_buffer_locked = true;
            let now = p.now();
            p.b.set_socket_options(now, s, o).unwrap();
        }
        assert!(bulk(&mut p, c, s, 8 << 20, Duration::from_secs(30)));
        let size = p.b.socket_options(s).unwrap().recv_buffer;
        let limit = crate::config::TcpConfig::default().max_recv_buffer_auto;
        if set {
            assert_eq!(size, start, "SO_RCVBUF keeps its size");
        } else {
            assert!(size > start && size <= limit, "{start} grew to {size}");
        }
    }
}

/// RTT samples come from the send times of the segments an ACK covers, to the
/// microsecond (Linux's seq RTT), not from timestamp echoes in millisecond ticks:
/// on a 600 us path the smoothed RTT is 600 us and a little more (the bulk
/// transfer's own queue), where millisecond echoes would give 0 or 1 ms samples.
#[test]
fn rtt_samples_are_microsecond_precise_on_a_fast_path() {
    let mut p = SimPair::new(
        StackConfig::new(A, 24),
        StackConfig::new(B, 24),
        Duration::from_micros(300),
    );
    let (c, s) = connected(&mut p);
    assert!(bulk(&mut p, c, s, 200_000, Duration::from_secs(10)));
    let info = p.a.tcp_info(c).unwrap().unwrap();
    assert!(info.timestamps, "timestamps in use: {info:?}");
    let srtt = info.srtt.unwrap().as_micros();
    assert!((550..=900).contains(&srtt), "srtt {srtt} us");
}
