//! TCP interop with the Linux kernel over a TAP in a private namespace, both
//! directions: 100 MB transfers checked byte by byte, the same with loss injected on
//! the kernel side by nftables (more in tap_loss.rs), half-close, RST on close with unread data,
//! ECONNREFUSED, ETIMEDOUT, and the listen backlog. Skipped without root unless
//! NETSTACK_REQUIRE_TAP=1.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpStream as KernelStream};
use std::time::Duration;

use netstack_tests::netns::LossDirection;
use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions, KERNEL_ADDR, STACK_ADDR};
use netstack_tests::transfer::{
    bulk_config, linux_client_to_our_server, our_client_to_linux_server,
};
use sockets::net::{TcpListener, TcpStream};
use stack::{DropReason, Stat};

const MB: u64 = 1 << 20;
const WAIT: Option<Duration> = Some(Duration::from_secs(30));

fn fixture() -> TapFixture {
    TapFixture::new(TapOptions {
        config: bulk_config,
        ..TapOptions::default()
    })
    .expect("fixture")
}

#[test]
fn hundred_megabytes_each_way_linux_client_our_server() {
    skip_unless_tap!();
    let fx = fixture();
    linux_client_to_our_server(&fx, 100 * MB);
}

#[test]
fn hundred_megabytes_each_way_our_client_linux_server() {
    skip_unless_tap!();
    let fx = fixture();
    our_client_to_linux_server(&fx, 100 * MB);
}

fn offload_fixture() -> TapFixture {
    TapFixture::new(TapOptions {
        config: bulk_config,
        offloads: true,
        ..TapOptions::default()
    })
    .expect("fixture")
}

#[test]
fn hundred_megabytes_each_way_with_tap_offloads() {
    skip_unless_tap!();
    let fx = offload_fixture();
    linux_client_to_our_server(&fx, 100 * MB);
    our_client_to_linux_server(&fx, 100 * MB);
    // Segments larger than the MTU crossed the TAP (TSO/GRO), so far fewer frames
    // than 1500-byte segments would need.
    let c = fx.counters();
    let frames = c.stat(Stat::RxFrames) + c.stat(Stat::TxFrames);
    assert!(
        frames < 400 * MB / 1448,
        "{frames} frames for 400 MB: offloads unused? {c:?}"
    );
}

#[test]
fn transfers_survive_kernel_side_loss_with_offloads() {
    skip_unless_tap!();
    let fx = offload_fixture();
    fx.ns
        .add_loss(2, LossDirection::Both)
        .expect("nftables loss rule");
    linux_client_to_our_server(&fx, 20 * MB);
    our_client_to_linux_server(&fx, 20 * MB);
}

#[test]
fn half_close_from_linux_then_we_answer() {
    skip_unless_tap!();
    let fx = fixture();
    let listener = TcpListener::bind(&fx.stack, "0.0.0.0:5003").unwrap();
    let client = fx.ns.spawn_thread(|| -> std::io::Result<Vec<u8>> {
        let mut s = KernelStream::connect(SocketAddrV4::new(STACK_ADDR, 5003))?;
        s.write_all(b"question?")?;
        s.shutdown(Shutdown::Write)?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer)?;
        Ok(answer)
    });
    let (mut conn, _) = listener.accept().unwrap();
    let mut q = Vec::new();
    conn.read_to_end(&mut q).unwrap(); // returns at Linux's FIN
    assert_eq!(q, b"question?");
    conn.write_all(b"answer!").unwrap();
    drop(conn);
    assert_eq!(client.join().unwrap().unwrap(), b"answer!");
}

#[test]
fn close_with_unread_data_resets_the_linux_peer() {
    skip_unless_tap!();
    let fx = fixture();
    let listener = TcpListener::bind(&fx.stack, "0.0.0.0:5004").unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let client = fx.ns.spawn_thread(move || -> std::io::Result<()> {
        let mut s = KernelStream::connect(SocketAddrV4::new(STACK_ADDR, 5004))?;
        s.set_read_timeout(WAIT)?;
        s.write_all(b"you will not read this")?;
        rx.recv().ok();
        let mut buf = [0u8; 16];
        match s.read(&mut buf) {
            Err(e) => Err(e),
            Ok(n) => Err(std::io::Error::other(format!(
                "read returned {n}, not a reset"
            ))),
        }
    });
    let (conn, _) = listener.accept().unwrap();
    // Wait until the data is in our receive buffer, then close without reading.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while fx.counters().stat(Stat::TcpSegmentsIn) < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    drop(conn);
    std::thread::sleep(Duration::from_millis(50));
    tx.send(()).unwrap();
    let err = client.join().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert!(fx.counters().stat(Stat::TcpRstSent) >= 1);
}

#[test]
fn connecting_to_a_closed_linux_port_is_refused() {
    skip_unless_tap!();
    let fx = fixture();
    let err = TcpStream::connect(&fx.stack, SocketAddrV4::new(KERNEL_ADDR, 5999)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn connecting_to_a_silent_address_times_out() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions {
        config: |c| c.tcp.syn_retries = 2,
        ..TapOptions::default()
    })
    .expect("fixture");
    // The kernel answers ARP but drops every TCP segment: a silent host.
    fx.ns
        .exec_with_input(
            &["nft", "-f", "-"],
            "table inet silent {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 6000 drop\n }\n}\n",
        )
        .expect("nft rule");
    let err = TcpStream::connect(&fx.stack, SocketAddrV4::new(KERNEL_ADDR, 6000)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert_eq!(fx.counters().stat(Stat::TcpRetransmits), 2);
}

#[test]
fn backlog_of_two_lets_two_linux_clients_in_and_ignores_the_others_until_accept() {
    skip_unless_tap!();
    let fx = fixture();
    let listener = fx
        .stack
        .socket(sockets::AF_INET, sockets::SOCK_STREAM, 0)
        .unwrap();
    fx.stack
        .bind(
            listener,
            &sockets::SockAddrIn::new(std::net::Ipv4Addr::UNSPECIFIED, 5005),
        )
        .unwrap();
    fx.stack.listen(listener, 2).unwrap();
    let clients: Vec<_> = (0..5)
        .map(|i| {
            fx.ns.spawn_thread(move || -> std::io::Result<Vec<u8>> {
                // Staggered, so the first two are queued before the others arrive.
                std::thread::sleep(Duration::from_millis(100 * i));
                let mut s = KernelStream::connect(SocketAddrV4::new(STACK_ADDR, 5005))?;
                s.set_read_timeout(WAIT)?;
                let mut greeting = Vec::new();
                s.read_to_end(&mut greeting)?;
                Ok(greeting)
            })
        })
        .collect();
    // No accept for a while: two complete, the others' SYNs are ignored.
    std::thread::sleep(Duration::from_millis(800));
    let c = fx.counters();
    assert!(c.drops(DropReason::TcpAcceptQueueFull) >= 3, "{c:?}");
    assert_eq!(c.stat(Stat::TcpRstSent), 0, "ignored, not refused: {c:?}");
    assert_eq!(c.stat(Stat::TcpEstablished), 2, "{c:?}");
    // Accept them all (the others get in with their retransmitted SYNs).
    for _ in 0..5 {
        let (fd, _peer) = fx.stack.accept(listener).unwrap();
        fx.stack.write(fd, b"welcome").unwrap();
        fx.stack.close(fd).unwrap();
    }
    for c in clients {
        assert_eq!(c.join().unwrap().unwrap(), b"welcome");
    }
    fx.stack.close(listener).unwrap();
    // Our side closed first: our connections sit in TIME-WAIT, nothing else remains.
    let rt = fx.runtime();
    let g = rt.lock();
    let e = g.engine_ref();
    assert_eq!(e.counters().stat(Stat::TcpEstablished), 5);
    assert!(
        e.socket_count() <= 5,
        "only TIME-WAIT orphans may remain: {}",
        e.socket_count()
    );
}
