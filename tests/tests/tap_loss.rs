//! Loss recovery against the Linux kernel: 20 MB each way over a TAP with 2 % of
//! packets dropped by nftables in both directions on the kernel side, with the
//! kernel's SACK and timestamps each on and off (sysctls of the test's private
//! namespace). Every byte is checked, and our counters must show that fast recovery,
//! RACK and tail loss probes, not retransmission timeouts, did the repair work.
//! Skipped without root unless NETSTACK_REQUIRE_TAP=1.

use netstack_tests::netns::LossDirection;
use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions};
use netstack_tests::transfer::{linux_client_to_our_server, our_client_to_linux_server};
use stack::Stat;

const MB: u64 = 1 << 20;

fn bulk_config(c: &mut stack::StackConfig) {
    c.tcp.send_buffer = 1 << 20;
    c.tcp.recv_buffer = 1 << 20;
}

/// 20 MB each way at 2 % loss each way with the kernel's `tcp_sack` and
/// `tcp_timestamps` as given; asserts integrity and the share of timeouts.
fn lossy_transfers(sack: bool, timestamps: bool) {
    let fx = TapFixture::new(TapOptions {
        config: bulk_config,
        ..TapOptions::default()
    })
    .expect("fixture");
    fx.ns
        .exec_ok(&[
            "sysctl",
            "-qw",
            &format!("net.ipv4.tcp_sack={}", sack as u8),
        ])
        .expect("sysctl tcp_sack");
    fx.ns
        .exec_ok(&[
            "sysctl",
            "-qw",
            &format!("net.ipv4.tcp_timestamps={}", timestamps as u8),
        ])
        .expect("sysctl tcp_timestamps");
    fx.ns
        .add_loss(2, LossDirection::Both)
        .expect("nftables loss rule");
    linux_client_to_our_server(&fx, 20 * MB);
    our_client_to_linux_server(&fx, 20 * MB);

    let (dropped_in, dropped_out) = fx.ns.loss_counters().unwrap();
    assert!(
        dropped_in > 100 && dropped_out > 100,
        "nftables dropped only {dropped_in} in, {dropped_out} out"
    );
    let c = fx.counters();
    let retransmits = c.stat(Stat::TcpRetransmits);
    let by_timeout = c.stat(Stat::TcpRetransTimeout);
    let by_cause = c.stat(Stat::TcpRetransFastRecovery)
        + c.stat(Stat::TcpRetransRack)
        + c.stat(Stat::TcpRetransTimeout);
    eprintln!(
        "sack={sack} timestamps={timestamps}: {retransmits} retransmissions: fast recovery {}, \
         RACK {}, timeout {by_timeout}, probes {} ({} timeouts, {} recoveries, {} undos)",
        c.stat(Stat::TcpRetransFastRecovery),
        c.stat(Stat::TcpRetransRack),
        c.stat(Stat::TcpLossProbes),
        c.stat(Stat::TcpTimeouts),
        c.stat(Stat::TcpRecoveries),
        c.stat(Stat::TcpUndos),
    );
    assert!(
        retransmits >= dropped_out / 2,
        "we sent {retransmits} retransmissions for {dropped_in} segments lost on the way in"
    );
    assert!(
        by_cause <= retransmits,
        "causes add up to at most the total"
    );
    assert!(
        by_timeout * 20 <= retransmits,
        "timeouts caused {by_timeout} of {retransmits} retransmissions (more than 5 %)"
    );
    if sack {
        assert!(
            c.stat(Stat::TcpRetransRack) + c.stat(Stat::TcpRetransFastRecovery) > 0,
            "SACK-based recovery did the work"
        );
    }
}

#[test]
fn loss_both_ways_sack_and_timestamps() {
    skip_unless_tap!();
    lossy_transfers(true, true);
}

#[test]
fn loss_both_ways_sack_without_timestamps() {
    skip_unless_tap!();
    lossy_transfers(true, false);
}

#[test]
fn loss_both_ways_timestamps_without_sack() {
    skip_unless_tap!();
    lossy_transfers(false, true);
}

#[test]
fn loss_both_ways_neither_sack_nor_timestamps() {
    skip_unless_tap!();
    lossy_transfers(false, false);
}
