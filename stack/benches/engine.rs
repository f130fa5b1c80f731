//! Engine frame processing: an ICMP echo request in, the reply out, on the in-memory
//! path (no device, no runtime). `cargo bench -p netstack-stack --bench engine`.

use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use stack::ip::{write_header, IpSend};
use stack::wire::{checksum, ethernet, EthernetAddress, ETHERTYPE_IPV4, HEADROOM};
use stack::{Engine, Instant, StackConfig};

const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

fn echo_request_frame(engine: &Engine, payload_len: usize) -> Vec<u8> {
    let mut icmp = vec![8u8, 0, 0, 0, 0x12, 0x34, 0, 1];
    icmp.extend((0..payload_len).map(|i| i as u8));
    let c = checksum::checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut f = vec![0u8; HEADROOM];
    f.extend_from_slice(&icmp);
    let send = IpSend {
        src: PEER,
        dst: US,
        protocol: 1,
        ttl: 64,
        tos: 0,
        dont_frag: false,
    };
    write_header(&mut f[14..], &send, 1, 20 + icmp.len(), 0, false);
    ethernet::write_header(&mut f, engine.config().mac, PEER_MAC, ETHERTYPE_IPV4);
    f
}

/// An engine that already knows the peer's MAC (learned from its ARP request).
fn engine() -> Engine {
    let mut e = Engine::new(StackConfig::new(US, 24)).expect("config");
    let mut arp = vec![0u8; 14];
    ethernet::write_header(&mut arp, EthernetAddress::BROADCAST, PEER_MAC, 0x0806);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&PEER_MAC.0);
    arp.extend_from_slice(&PEER.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&US.octets());
    e.handle_frame(Instant::ZERO, &arp);
    while let Some(f) = e.poll_transmit(Instant::ZERO) {
        e.recycle(f);
    }
    e
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("icmp_echo");
    for payload in [56usize, 1472] {
        let mut e = engine();
        let frame = echo_request_frame(&e, payload);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("request_in_reply_out_{payload}B"), |b| {
            let mut t = 0u64;
            b.iter(|| {
                t += 1;
                e.handle_frame(Instant::from_micros(t), &frame);
                let reply = e.poll_transmit(Instant::from_micros(t)).expect("reply");
                debug_assert_eq!(reply[34], 0);
                e.recycle(reply);
            })
        });
    }
    group.finish();

    // The whole datagram path including fragmentation and reassembly: a 4000-byte
    // echo arrives in three fragments and leaves in three.
    let mut e = engine();
    let whole = echo_request_frame(&e, 4000);
    let mut frags = Vec::new();
    {
        let ip = &whole[14..];
        let payload = &ip[20..];
        let mut off = 0;
        while off < payload.len() {
            let len = 1480.min(payload.len() - off);
            let mut f = vec![0u8; HEADROOM];
            f.extend_from_slice(&payload[off..off + len]);
            let send = IpSend {
                src: PEER,
                dst: US,
                protocol: 1,
                ttl: 64,
                tos: 0,
                dont_frag: false,
            };
            write_header(
                &mut f[14..],
                &send,
                9,
                20 + len,
                off,
                off + len < payload.len(),
            );
            ethernet::write_header(&mut f, e.config().mac, PEER_MAC, ETHERTYPE_IPV4);
            frags.push(f);
            off += len;
        }
    }
    c.bench_function("icmp_echo/fragmented_4000B_in_and_out", |b| {
        let mut t = 0u64;
        b.iter_batched(
            || (),
            |_| {
                t += 1;
                for f in &frags {
                    e.handle_frame(Instant::from_micros(t), f);
                }
                while let Some(r) = e.poll_transmit(Instant::from_micros(t)) {
                    e.recycle(r);
                }
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, echo);
criterion_main!(benches);
