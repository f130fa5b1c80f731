//! Interop with the Linux kernel over a TAP, in a private namespace: ARP, ping,
//! fragments, bad checksums, pcap capture. Skipped (with a SKIPPED line) without root,
//! except under NETSTACK_REQUIRE_TAP=1.

use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions, KERNEL_ADDR, STACK_ADDR};
use stack::wire::{checksum, ethernet, EthernetAddress, ETHERTYPE_IPV4};
use stack::DropReason;

fn received(ping_output: &str) -> u32 {
    // "3 packets transmitted, 3 received, 0% packet loss, time 2003ms"
    ping_output
        .split(',')
        .find_map(|part| {
            part.trim()
                .strip_suffix(" received")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn linux_ping_gets_three_replies_and_learns_our_mac() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let out = fx
        .exec_ok(&[
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            &STACK_ADDR.to_string(),
        ])
        .expect("ping succeeds");
    assert_eq!(received(&out), 3, "{out}");
    let neigh = fx
        .exec_ok(&["ip", "neigh", "show", &STACK_ADDR.to_string()])
        .unwrap();
    let mac = fx.config.mac.to_string();
    assert!(
        neigh.contains(&mac),
        "kernel neighbour table {neigh:?} lacks our MAC {mac}"
    );
    let c = fx.counters();
    assert_eq!(c.stat(stack::Stat::IcmpEchoReplies), 3);
}

#[test]
fn linux_ping_with_4000_bytes_is_fragmented_both_ways() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let out = fx
        .exec_ok(&[
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
            "-s",
            "4000",
            &STACK_ADDR.to_string(),
        ])
        .expect("ping succeeds");
    assert_eq!(received(&out), 2, "{out}");
    assert!(out.contains("4008 bytes from"), "{out}");
    let c = fx.counters();
    assert_eq!(c.stat(stack::Stat::Reassembled), 2);
    assert_eq!(c.stat(stack::Stat::FragsSent), 6);
}

#[test]
fn our_ping_reaches_the_kernel() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let h = fx.runtime().lock().engine().ping_open().unwrap();
    for seq in 1..=2u16 {
        let mut g = fx.runtime().lock();
        let now = g.now();
        g.engine()
            .ping_send(now, h, KERNEL_ADDR, seq, &[seq as u8; 3000])
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let reply = loop {
            match g.engine().ping_recv(h) {
                Ok(r) => break r,
                Err(stack::NetError::WouldBlock) => {
                    assert_eq!(
                        g.wait(h, Some(deadline)),
                        stack::runtime::WaitOutcome::Woken,
                        "no reply"
                    );
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!((reply.from, reply.seq), (KERNEL_ADDR, seq));
        assert_eq!(reply.payload, vec![seq as u8; 3000]);
    }
}

#[test]
fn frame_with_bad_ipv4_checksum_is_dropped_and_counted() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let kernel_mac = EthernetAddress(fx.kernel_mac().unwrap());
    // An echo request with a broken header checksum, then the same with a good one.
    let mut frame = vec![0u8; 14];
    ethernet::write_header(&mut frame, fx.config.mac, kernel_mac, ETHERTYPE_IPV4);
    let mut icmp = vec![8u8, 0, 0, 0, 0x77, 0x77, 0, 1, b'x'];
    let c = checksum::checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, (20 + icmp.len()) as u8, 0, 1, 0, 0, 64, 1, 0, 0];
    ip.extend_from_slice(&KERNEL_ADDR.octets());
    ip.extend_from_slice(&STACK_ADDR.octets());
    let c = checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&(c ^ 0x0101).to_be_bytes());
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&icmp);
    fx.inject_frame(&frame).expect("inject");
    let mut good = frame.clone();
    good[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
    fx.inject_frame(&good).expect("inject");
    // The good frame is answered; once it is, the bad one (sent first) was processed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while fx.counters().stat(stack::Stat::IcmpEchoReplies) == 0
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let c = fx.counters();
    assert_eq!(c.stat(stack::Stat::IcmpEchoReplies), 1, "{c:?}");
    assert_eq!(c.drops(DropReason::Ipv4BadChecksum), 1, "{c:?}");
}

#[test]
fn pcap_of_the_run_reads_back_in_tcpdump() {
    skip_unless_tap!();
    let dir = std::env::temp_dir().join(format!("netstack-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.pcap");
    {
        let fx = TapFixture::new(TapOptions {
            pcap: Some(path.clone()),
            ..TapOptions::default()
        })
        .expect("fixture");
        let out = fx
            .exec_ok(&[
                "ping",
                "-c",
                "2",
                "-i",
                "0.2",
                "-W",
                "2",
                &STACK_ADDR.to_string(),
            ])
            .expect("ping");
        assert_eq!(received(&out), 2, "{out}");
    } // stack stopped, capture flushed and closed
    let out = std::process::Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&path)
        .output()
        .expect("tcpdump installed");
    assert!(
        out.status.success(),
        "tcpdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let requests = text.matches("ICMP echo request").count();
    let replies = text.matches("ICMP echo reply").count();
    assert!(requests >= 2 && replies >= 2, "{text}");
    assert!(text.contains("ARP"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stopping_the_stack_releases_the_tap_and_joins_the_driver() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let out = fx
        .exec_ok(&["ping", "-c", "1", "-W", "2", &STACK_ADDR.to_string()])
        .expect("ping");
    assert_eq!(received(&out), 1, "{out}");
    let TapFixture { stack, ns, .. } = fx;
    // Dropping the last handle stops the runtime: the driver thread is joined and
    // the TAP descriptor closed, so the TAP can be attached again at once (the
    // kernel detaches asynchronously: allow it a moment).
    drop(stack);
    let reopened = ns.run(|| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match stack::device::tap::TapDevice::open_plain("tap0", 1500) {
                Ok(t) => return Ok(t),
                Err(e)
                    if e.kind() == std::io::ErrorKind::ResourceBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(e) => return Err(e),
            }
        }
    });
    assert!(reopened.is_ok(), "TAP still busy: {:?}", reopened.err());
    // Nothing answers any more.
    drop(reopened);
    let out = ns
        .exec(&["ping", "-c", "1", "-W", "1", &STACK_ADDR.to_string()])
        .unwrap();
    assert!(!out.status.success());
}
