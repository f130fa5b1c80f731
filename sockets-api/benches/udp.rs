//! UDP datagrams per second through the BSD API, between two stacks on the
//! in-memory link: a sender (the bench thread) and a receiver thread, 64-byte and
//! 1472-byte payloads (the largest that fits one Ethernet frame).
//!
//! UDP has no flow control, so the sender keeps at most `WINDOW` datagrams in
//! flight (the receiver acknowledges every `ACK_EVERY` through a channel): this
//! measures the stack's throughput, not how fast it can drop. The same scheme runs
//! over the Linux kernel's loopback (`std::net::UdpSocket` on 127.0.0.1) as the peer
//! to quote ratios against (DESIGN.md "Testing layers", 6).
//!
//! Run: `cargo bench -p netstack-sockets --bench udp -- --warm-up-time 1 --measurement-time 3`

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sockets::*;

/// Datagrams the sender may have sent beyond the last acknowledged one. Small
/// enough that the kernel peer's default receive buffer holds them all.
const WINDOW: u64 = 64;
/// The receiver acknowledges every this many datagrams.
const ACK_EVERY: u64 = 16;
/// Payload sizes: a small datagram, and the largest unfragmented one.
const SIZES: [usize; 2] = [64, 1472];
/// Datagrams the receiver gave up on (a receive timed out); reported at the end.
static LOST: AtomicU64 = AtomicU64::new(0);

/// Sends `iters` datagrams with `send` while a receiver thread takes them with
/// `recv` (false: timed out, give up), and returns the time until the last one
/// was received.
fn measure(iters: u64, mut send: impl FnMut(), mut recv: impl FnMut() -> bool + Send) -> Duration {
    let (ack_tx, ack_rx) = mpsc::channel::<Option<u64>>();
    let start = Instant::now();
    thread::scope(|scope| {
        scope.spawn(move || {
            let mut got = 0;
            while got < iters {
                if !recv() {
                    LOST.fetch_add(iters - got, Ordering::Relaxed);
                    let _ = ack_tx.send(None);
                    return;
                }
                got += 1;
                if got % ACK_EVERY == 0 || got == iters {
                    let _ = ack_tx.send(Some(got));
                }
            }
        });
        let mut acked = 0;
        for sent in 0..iters {
            while sent - acked >= WINDOW {
                match ack_rx.recv() {
                    Ok(Some(n)) => acked = n,
                    Ok(None) | Err(_) => return,
                }
            }
            send();
        }
    });
    start.elapsed()
}

/// Two stacks, a receiving socket on B with a large buffer and a sending socket on
/// A; ARP already resolved.
fn netstack_fixture() -> (Stack, Stack, i32, i32, SockAddrIn) {
    let a_addr = Ipv4Addr::new(10, 0, 0, 1);
    let b_addr = Ipv4Addr::new(10, 0, 0, 2);
    let (a, b) = Stack::memory_pair(StackConfig::new(a_addr, 24), StackConfig::new(b_addr, 24));
    let rx = b.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    b.bind(rx, &SockAddrIn::new(Ipv4Addr::UNSPECIFIED, 9000))
        .unwrap();
    b.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &(2 << 20)).unwrap();
    let tv = TimeVal {
        tv_sec: 2,
        tv_usec: 0,
    };
    b.setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    let tx = a.socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let dst = SockAddrIn::new(b_addr, 9000);
    a.sendto(tx, b"warm-up", 0, &dst).unwrap();
    b.recv(rx, &mut [0u8; 16], 0).unwrap();
    (a, b, tx, rx, dst)
}

fn bench_udp(c: &mut Criterion) {
    let mut g = c.benchmark_group("udp_datagrams");
    g.throughput(Throughput::Elements(1));
    for size in SIZES {
        let payload = vec![0x5au8; size];

        let (a, b, tx, rx, dst) = netstack_fixture();
        g.bench_with_input(
            BenchmarkId::new("netstack_memory_link", size),
            &size,
            |bench, _| {
                bench.iter_custom(|iters| {
                    let mut buf = vec![0u8; 2048];
                    measure(
                        iters,
                        || {
                            a.sendto(tx, &payload, 0, &dst).unwrap();
                        },
                        || b.recv(rx, &mut buf, 0).is_ok(),
                    )
                })
            },
        );
        drop((a, b));

        let krx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        krx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let ktx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let kdst = krx.local_addr().unwrap();
        g.bench_with_input(
            BenchmarkId::new("linux_loopback", size),
            &size,
            |bench, _| {
                bench.iter_custom(|iters| {
                    let mut buf = vec![0u8; 2048];
                    measure(
                        iters,
                        || {
                            ktx.send_to(&payload, kdst).unwrap();
                        },
                        || krx.recv(&mut buf).is_ok(),
                    )
                })
            },
        );
    }
    g.finish();
    let lost = LOST.load(Ordering::Relaxed);
    if lost > 0 {
        eprintln!("warning: {lost} datagrams were never received (receive timeouts)");
    }
}

criterion_group!(benches, bench_udp);
criterion_main!(benches);
