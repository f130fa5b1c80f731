//! TCP demultiplexing cost against the number of connections: one data segment in,
//! its ACK out, with 10 and with 10,000 established connections on the stack.
//! `cargo bench -p netstack-stack --bench demux`. The per-segment times should be
//! about equal (the 4-tuple lookup is a hash map, not a scan).

use std::net::{Ipv4Addr, SocketAddrV4};

use criterion::{criterion_group, criterion_main, Criterion};
use stack::tcp::{RecvFlags, SendFlags};
use stack::{Engine, Instant, NetError, SocketHandle, StackConfig};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn pump(from: &mut Engine, to: &mut Engine, now: Instant) {
    while let Some(f) = from.poll_transmit(now) {
        to.handle_frame(now, &f);
        from.recycle(f);
    }
}

/// Two engines with `n` connections from A to B; returns the pairs of handles.
fn connected(n: usize) -> (Engine, Engine, Vec<(SocketHandle, SocketHandle)>) {
    let cfg = |addr| {
        let mut c = StackConfig::new(addr, 24);
        c.tcp.somaxconn = 65535;
        c.tcp.max_syn_backlog = 65535;
        c.tcp.send_buffer = 4096;
        c.tcp.recv_buffer = 4096;
        c
    };
    let mut a = Engine::new(cfg(A)).expect("config");
    let mut b = Engine::new(cfg(B)).expect("config");
    let now = Instant::ZERO;
    let l = b.tcp_open().expect("socket");
    b.tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80))
        .expect_err("reserved");
    b.tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 8080))
        .expect("bind");
    b.tcp_listen(l, 65535).expect("listen");
    let mut pairs = Vec::with_capacity(n);
    for _ in 0..n {
        let c = a.tcp_open().expect("socket");
        let mut o = a.socket_options(c).expect("options");
        o.nodelay = true;
        a.set_socket_options(now, c, o).expect("nodelay");
        match a.tcp_connect(now, c, SocketAddrV4::new(B, 8080)) {
            Err(NetError::InProgress) | Ok(()) => {}
            Err(e) => panic!("connect: {e}"),
        }
        for _ in 0..3 {
            pump(&mut a, &mut b, now);
            pump(&mut b, &mut a, now);
        }
        let (s, _) = b.tcp_accept(now, l).expect("accepted");
        pairs.push((c, s));
    }
    (a, b, pairs)
}

fn demux(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp_demux");
    // (connections, connections the traffic touches)
    for (n, touched) in [(10usize, 10usize), (10_000, 1), (10_000, 10_000)] {
        let (mut a, mut b, mut pairs) = connected(n);
        pairs.truncate(touched);
        let mut i = 0usize;
        let mut t = 1u64;
        let mut buf = [0u8; 16];
        group.bench_function(
            format!("segment_in_ack_out_{n}_connections_{touched}_active"),
            |bench| {
                bench.iter(|| {
                    let (cl, sv) = pairs[i % pairs.len()];
                    i = i.wrapping_add(7919);
                    // A millisecond per segment: delayed ACKs fire as they would.
                    t += 1000;
                    let now = Instant::from_micros(t);
                    a.tcp_send(now, cl, b"x", SendFlags::default())
                        .expect("send");
                    pump(&mut a, &mut b, now);
                    b.tcp_recv(now, sv, &mut buf, RecvFlags::default())
                        .expect("recv");
                    for e in [&mut a, &mut b] {
                        if e.poll_timeout().is_some_and(|d| d <= now) {
                            e.handle_timeout(now);
                        }
                        while e.poll_event().is_some() {}
                    }
                    pump(&mut b, &mut a, now);
                    pump(&mut a, &mut b, now);
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, demux);
criterion_main!(benches);
