//! `gethostbyname` through our stack's UDP to a real nameserver: dnsmasq (Debian
//! package dnsmasq-base) on the kernel's side of the TAP, in the test's own
//! namespace.

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_tests::dnsmasq::Dnsmasq;
use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions, KERNEL_ADDR};
use sockets::{h_errno, HOST_NOT_FOUND};

#[test]
fn gethostbyname_asks_a_real_nameserver_over_our_udp() {
    skip_unless_tap!();
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    let _dns = Dnsmasq::start(&fx.ns, "10.0.0.1", "test", &[("hostk.test", "10.0.0.77")])
        .expect("dnsmasq (Debian package dnsmasq-base)");
    fx.stack
        .set_nameserver(Some(SocketAddrV4::new(KERNEL_ADDR, 53)));
    // dnsmasq binds in a moment: a refused first try is TRY_AGAIN; retry a while.
    let mut hp = None;
    for _ in 0..50 {
        hp = fx.stack.gethostbyname("hostk.test");
        if hp.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let hp = hp.expect("dnsmasq answers hostk.test");
    assert_eq!(Ipv4Addr::from(hp.h_addr()), Ipv4Addr::new(10, 0, 0, 77));
    assert_eq!(hp.h_name, "hostk.test");
    assert!(fx.stack.gethostbyname("nothere.test").is_none());
    assert_eq!(h_errno(), HOST_NOT_FOUND);
    // The queries went over our stack's UDP.
    let c = fx.counters();
    assert!(c.stat(stack::Stat::UdpSent) >= 2, "{c:?}");
}
