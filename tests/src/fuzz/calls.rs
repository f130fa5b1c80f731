//! Socket calls with any arguments, in any order, on two engines joined by a
//! simulated wire (that the input may make lossy).
//!
//! Each record is one call on host A or host B: open, bind, listen, connect,
//! accept, send, receive (with MSG_PEEK and MSG_OOB), shutdown, close, abort,
//! `setsockopt`/`getsockopt` through the shared option codec (any level, name and
//! value bytes), UDP send, receive, connect and disconnect, ping, and time passing.
//! Handles include ones already closed. The harness checks that every call
//! returns (an errno is fine) and that the results respect their arguments.

use std::net::{Ipv4Addr, SocketAddrV4};

use sockets::sockopt::{self, Timeouts};
use sockets::SocketKind;
use stack::device::impaired::ImpairmentConfig;
use stack::sim::{Side, SimPair};
use stack::tcp::{RecvFlags, SendFlags, Shutdown};
use stack::{Duration, Engine, SocketHandle, StackConfig};

use super::Input;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Calls read from one input.
const MAX_CALLS: usize = 128;
/// Sockets the harness remembers per host.
const MAX_HANDLES: usize = 32;

/// Runs one fuzz input. Panics only if the engine does, or breaks a checked rule.
pub fn run(data: &[u8]) {
    let config = |addr| {
        let mut c = StackConfig::new(addr, 24);
        c.deterministic = true;
        c.ports.privileged = true;
        c.max_sockets = 48;
        c.tcp.send_buffer = 32 * 1024;
        c.tcp.recv_buffer = 32 * 1024;
        c
    };
    let mut p = SimPair::new(config(A), config(B), Duration::from_micros(100));
    let mut handles: [Vec<(SocketHandle, SocketKind)>; 2] = [Vec::new(), Vec::new()];
    let mut input = Input::new(data);
    let mut calls = 0;
    while !input.is_empty() && calls < MAX_CALLS {
        call(&mut p, &mut handles, &mut input);
        calls += 1;
    }
    // Everything settles: no call may have left the engines spinning.
    p.run_for(Duration::from_secs(70));
    for side in [Side::A, Side::B] {
        let e = p.engine(side);
        assert!(e.socket_count() <= e.config().max_sockets);
    }
}

fn addr(i: &mut Input<'_>, own: Ipv4Addr, peer: Ipv4Addr) -> SocketAddrV4 {
    let ip = match i.u8() % 7 {
        0 | 1 => peer,
        2 => Ipv4Addr::UNSPECIFIED,
        3 => own,
        4 => Ipv4Addr::LOCALHOST,
        5 => i.pick(&[
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(10, 0, 0, 255),
            Ipv4Addr::new(10, 0, 0, 99),
        ]),
        _ => Ipv4Addr::from(i.u32()),
    };
    let port = match i.u8() % 5 {
        0 | 1 => 80,
        2 => 0,
        3 => i.pick(&[7u16, 1023, 1024, 49152, 65535]),
        _ => i.u16(),
    };
    SocketAddrV4::new(ip, port)
}

fn call(p: &mut SimPair, handles: &mut [Vec<(SocketHandle, SocketKind)>; 2], i: &mut Input<'_>) {
    let op = i.u8();
    let side = if op & 0x80 == 0 { Side::A } else { Side::B };
    let (own, peer) = match side {
        Side::A => (A, B),
        Side::B => (B, A),
    };
    let now = p.now();
    let list = &mut handles[usize::from(side == Side::B)];
    let pick = |i: &mut Input<'_>, list: &Vec<(SocketHandle, SocketKind)>| {
        (!list.is_empty()).then(|| list[usize::from(i.u8()) % list.len()])
    };
    let e: &mut Engine = p.engine(side);
    match op % 24 {
        0 | 1 => {
            let h = if op & 1 == 0 {
                e.tcp_open().map(|h| (h, SocketKind::Tcp))
            } else {
                e.udp_open().map(|h| (h, SocketKind::Udp))
            };
            if let Ok(h) = h {
                if list.len() >= MAX_HANDLES {
                    list.remove(0);
                }
                list.push(h);
            }
        }
        2 | 3 => {
            let Some((h, kind)) = pick(i, list) else {
                return;
            };
            let a = addr(i, own, peer);
            let r = match kind {
                SocketKind::Tcp => e.tcp_bind(h, a),
                SocketKind::Udp => e.udp_bind(h, a),
            };
            if let Ok(bound) = r {
                assert!(
                    a.port() == 0 || bound.port() == a.port(),
                    "bound {bound} for {a}"
                );
            }
        }
        4 => {
            let Some((h, _)) = pick(i, list) else { return };
            let backlog = i32::from(i.u8() as i8);
            let _ = e.tcp_listen(h, backlog);
        }
        5 | 6 => {
            let Some((h, kind)) = pick(i, list) else {
                return;
            };
            let a = addr(i, own, peer);
            let _ = match kind {
                SocketKind::Tcp => e.tcp_connect(now, h, a),
                SocketKind::Udp => e.udp_connect(now, h, a),
            };
        }
        7 => {
            let Some((h, _)) = pick(i, list) else { return };
            if let Ok((c, _)) = e.tcp_accept(now, h) {
                if list.len() >= MAX_HANDLES {
                    list.remove(0);
                }
                list.push((c, SocketKind::Tcp));
            }
        }
        8 | 9 => {
            let Some((h, kind)) = pick(i, list) else {
                return;
            };
            let len = usize::from(i.u16()) % 20_000;
            let data = vec![0x5a; len];
            match kind {
                SocketKind::Tcp => {
                    if let Ok(n) = e.tcp_send(
                        now,
                        h,
                        &data,
                        SendFlags {
                            oob: i.bit(),
                            more: i.bit(),
                            // (From the length: no input byte more, so the
                            // corpus keeps its meaning.)
                            eor: len % 3 == 0,
                        },
                    ) {
                        assert!(n <= len, "sent {n} of {len}");
                    }
                }
                SocketKind::Udp => {
                    let to = if i.bit() {
                        None
                    } else {
                        Some(addr(i, own, peer))
                    };
                    let _ = e.udp_send_to(now, h, &data, to);
                }
            }
        }
        10 | 11 => {
            let Some((h, kind)) = pick(i, list) else {
                return;
            };
            let mut buf = vec![0u8; usize::from(i.u16()) % 20_000];
            match kind {
                SocketKind::Tcp => {
                    let flags = RecvFlags {
                        peek: i.bit(),
                        oob: i.bit(),
                    };
                    if let Ok(n) = e.tcp_recv(now, h, &mut buf, flags) {
                        assert!(n <= buf.len(), "received {n} into {}", buf.len());
                    }
                }
                SocketKind::Udp => {
                    if let Ok(r) = e.udp_recv_from(h, &mut buf, i.bit()) {
                        assert!(r.copied <= buf.len() && r.copied <= r.len);
                    }
                }
            }
        }
        12 => {
            let Some((h, _)) = pick(i, list) else { return };
            let how = i.pick(&[Shutdown::Read, Shutdown::Write, Shutdown::Both]);
            let _ = e.tcp_shutdown(now, h, how);
        }
        13 => {
            let Some((h, _)) = pick(i, list) else { return };
            let _ = e.close(now, h);
        }
        14 => {
            let Some((h, _)) = pick(i, list) else { return };
            let _ = e.tcp_abort(now, h);
        }
        15 | 16 => {
            let Some((h, kind)) = pick(i, list) else {
                return;
            };
            let level = i.pick(&[1i32, 6, 0, 17, 255, -1]);
            let name = i32::from(i.u8() % 64);
            let len = usize::from(i.u8() % 24);
            let val = i.bytes(len).to_vec();
            let _ = sockopt::set(e, now, h, kind, level, name, &val);
        }
        17 => {
            let Some((h, kind)) = pick(i, list) else {
                return;
            };
            let level = i.pick(&[1i32, 6, 0, 17, 255]);
            let name = i32::from(i.u8() % 64);
            let optlen = usize::from(i.u16() % 512);
            if let Ok(v) = sockopt::get(e, h, kind, level, name, optlen, Timeouts::default()) {
                assert!(
                    v.len() <= optlen.max(4),
                    "{} bytes for optlen {optlen}",
                    v.len()
                );
            }
        }
        18 => {
            let Some((h, _)) = pick(i, list) else { return };
            let _ = e.udp_disconnect(h);
            let _ = e.readiness(h);
            let _ = e.tcp_info(h);
            let _ = e.tcp_take_error(h);
            let _ = e.udp_take_error(h);
            let _ = e.tcp_at_mark(h);
            let _ = e.tcp_recv_queue_len(h);
            let _ = e.tcp_send_queue_len(h);
        }
        19 => {
            if let Ok(h) = e.ping_open() {
                let to = addr(i, own, peer);
                let len = usize::from(i.u16() % 9000);
                let _ = e.ping_send(now, h, *to.ip(), i.u16(), &vec![1; len]);
                let _ = e.ping_recv(h);
                let _ = e.close(now, h);
            }
        }
        20 => {
            if i.bit() {
                p.impair(
                    ImpairmentConfig {
                        loss: f64::from(i.u8() % 32) / 100.0,
                        duplicate: f64::from(i.u8() % 8) / 100.0,
                        reorder: f64::from(i.u8() % 8) / 100.0,
                        ..ImpairmentConfig::default()
                    },
                    u64::from(i.u16()),
                );
            } else {
                p.impair(ImpairmentConfig::default(), 0);
            }
        }
        _ => {
            let d = match i.u8() % 3 {
                0 => Duration::from_micros(u64::from(i.u16())),
                1 => Duration::from_millis(u64::from(i.u16())),
                _ => Duration::from_secs(u64::from(i.u8())),
            };
            p.run_for(d);
        }
    }
    for side in [Side::A, Side::B] {
        let e = p.engine(side);
        while e.poll_event().is_some() {}
        while e.poll_urgent().is_some() {}
    }
}
