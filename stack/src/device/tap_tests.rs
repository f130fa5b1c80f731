//! Tests of the TAP device.

use super::*;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

#[test]
fn open_errors_are_one_line_and_actionable() {
    let eperm = io::Error::from_raw_os_error(libc::EPERM);
    assert_eq!(
        describe_open_error(&eperm, "tap0"),
        "permission denied: creating TAP 'tap0' needs root or CAP_NET_ADMIN"
    );
    let eacces = io::Error::from_raw_os_error(libc::EACCES);
    assert!(describe_open_error(&eacces, "x").starts_with("permission denied"));
    let ebusy = io::Error::from_raw_os_error(libc::EBUSY);
    assert_eq!(
        describe_open_error(&ebusy, "tap0"),
        "TAP 'tap0' is busy (another process has it attached)"
    );
    let enoent = io::Error::from_raw_os_error(libc::ENOENT);
    assert!(describe_open_error(&enoent, "tap0").contains("modprobe tun"));
    let other = io::Error::from_raw_os_error(libc::EIO);
    assert!(describe_open_error(&other, "tap0").starts_with("cannot open TAP 'tap0': "));
    let described = io::Error::other("already said");
    assert_eq!(describe_open_error(&described, "tap0"), "already said");
    for e in [eperm, ebusy, enoent, other] {
        assert!(!describe_open_error(&e, "tap0").contains('\n'));
    }
}

#[test]
fn bad_names_are_rejected_before_the_kernel_sees_them() {
    for bad in ["this-name-is-too-long", "a/b", "a b"] {
        let e = TapDevice::open_plain(bad, 1500).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("invalid TAP name"), "{e}");
        // The default open reports the same, not an offload failure.
        let e = TapDevice::open(bad, 1500).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("invalid TAP name"), "{e}");
    }
}

#[test]
fn timeouts_round_up_to_milliseconds() {
    assert_eq!(timeout_millis(None), -1);
    assert_eq!(timeout_millis(Some(Duration::ZERO)), 0);
    assert_eq!(timeout_millis(Some(Duration::from_micros(1))), 1);
    assert_eq!(timeout_millis(Some(Duration::from_micros(1001))), 2);
    assert_eq!(
        timeout_millis(Some(Duration::from_secs(u64::MAX))),
        libc::c_int::MAX
    );
}

// ---- Tests with a real TAP, inside a private network namespace ----
//
// The full fixture lives in the `tests` crate (tests/src/netns.rs); this is the
// minimum the device's own tests need, kept here so the stack crate stays
// self-contained.

/// A network namespace that exists for one test and is deleted on drop (also when
/// the test panics).
struct TestNetns {
    name: String,
}

impl TestNetns {
    fn create() -> Option<TestNetns> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "nstest-tap-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return None;
        }
        let ns = TestNetns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        Some(ns)
    }

    /// `ip -n NS args...`, panicking with stderr on failure.
    fn ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .output()
            .expect("running ip");
        assert!(
            out.status.success(),
            "ip {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `f` on a thread that has entered the namespace.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let ns = File::open(&path).expect("opening the netns file");
                // SAFETY: setns takes a descriptor we hold open for the call and a
                // flag; for CLONE_NEWNET it switches only the calling thread, a
                // scoped thread that ends with `f`.
                let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns: {}", io::Error::last_os_error());
                f()
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A namespace, or `None` (and a SKIPPED line) when we lack the privileges.
/// Under `NETSTACK_REQUIRE_TAP=1` a missing privilege fails the test instead.
fn netns_or_skip(test: &str) -> Option<TestNetns> {
    let ns = if std::path::Path::new("/dev/net/tun").exists() {
        TestNetns::create()
    } else {
        None
    };
    if ns.is_none() {
        assert!(
            std::env::var("NETSTACK_REQUIRE_TAP").as_deref() != Ok("1"),
            "{test}: NETSTACK_REQUIRE_TAP=1 but a TAP in a private network namespace \
             cannot be created (run as root or with CAP_NET_ADMIN + CAP_SYS_ADMIN)"
        );
        // Not eprintln!: libtest would capture it, and a skip should be seen.
        let _ = writeln!(
            io::stderr(),
            "SKIPPED {test}: needs root to create a TAP in a private network namespace"
        );
    }
    ns
}

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn arp_reply(ours: [u8; 4], their_mac: [u8; 6], theirs: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&their_mac);
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&ours);
    f.extend_from_slice(&their_mac);
    f.extend_from_slice(&theirs);
    f
}

/// Receives frames until one satisfies `pred`, waiting at most ~5 s in total.
fn receive_until(tap: &mut TapDevice, pred: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut buf = vec![0u8; 2048];
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < end {
        tap.wait(Some(Duration::from_millis(100))).unwrap();
        while let Some(n) = tap.receive(&mut buf, Instant::ZERO).unwrap() {
            if pred(&buf[..n]) {
                return buf[..n].to_vec();
            }
        }
    }
    panic!("expected frame not received within 5 s");
}

#[test]
fn frames_flow_both_ways_with_the_kernel() {
    let Some(ns) = netns_or_skip("tap::frames_flow_both_ways_with_the_kernel") else {
        return;
    };
    // The default open takes the kernel's offloads.
    let default = ns.run(|| TapDevice::open("tap0", 1500)).unwrap();
    assert!(default.uses_offloads());
    assert!(default.offloads().tso && default.offloads().tx_checksum);
    drop(default);
    let mut tap = ns.run(|| TapDevice::open_plain("tap0", 1500)).unwrap();
    assert!(!tap.uses_offloads() && !tap.offloads().tso);
    assert_eq!(tap.name(), "tap0");
    assert_eq!(tap.mtu(), 1500);
    // The TAP exists in the namespace only.
    assert!(ns.ip(&["link", "show", "tap0"]).contains("tap0"));
    assert!(!Command::new("ip")
        .args(["link", "show", "tap0"])
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap()
        .stdout
        .windows(4)
        .any(|w| w == b"tap0"));
    ns.ip(&["link", "set", "tap0", "up"]);
    ns.ip(&["addr", "add", "10.77.0.1/24", "dev", "tap0"]);
    let mac_line = ns.ip(&["-br", "link", "show", "tap0"]);
    let kernel_mac: Vec<u8> = mac_line
        .split_whitespace()
        .nth(2)
        .unwrap()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    let kernel_mac: [u8; 6] = kernel_mac.try_into().unwrap();

    // The kernel sends a datagram to 10.77.0.2: first it asks who has 10.77.0.2.
    let sock = ns.run(|| std::net::UdpSocket::bind("10.77.0.1:0")).unwrap();
    sock.send_to(b"hello tap", "10.77.0.2:9").unwrap();
    let arp = receive_until(&mut tap, |f| {
        f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[38..42] == [10, 77, 0, 2]
    });
    assert_eq!(&arp[0..6], &[0xff; 6], "ARP request is broadcast");
    assert_eq!(&arp[6..12], &kernel_mac);

    // We answer; the kernel then delivers the queued datagram to our MAC.
    tap.transmit(
        &arp_reply([10, 77, 0, 2], kernel_mac, [10, 77, 0, 1]),
        Instant::ZERO,
    )
    .unwrap();
    let udp = receive_until(&mut tap, |f| {
        f.len() >= 42 && f[12..14] == [0x08, 0x00] && f[23] == 17
    });
    assert_eq!(&udp[0..6], &OUR_MAC);
    assert_eq!(&udp[30..34], &[10, 77, 0, 2]);
    assert_eq!(&udp[42..], b"hello tap");
    assert_eq!(tap.dropped(), 0);
}

#[test]
fn a_second_open_of_an_attached_tap_is_busy_and_waker_interrupts_wait() {
    let Some(ns) = netns_or_skip("tap::a_second_open_of_an_attached_tap_is_busy") else {
        return;
    };
    let mut tap = ns.run(|| TapDevice::open_plain("tap1", 1500)).unwrap();
    let e = ns.run(|| TapDevice::open_plain("tap1", 1500)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "TAP 'tap1' is busy (another process has it attached)"
    );

    // Nothing arrives on a TAP that is down: wait returns by timeout...
    let t0 = std::time::Instant::now();
    tap.wait(Some(Duration::from_millis(30))).unwrap();
    assert!(t0.elapsed() >= std::time::Duration::from_millis(30));
    let mut buf = [0u8; 2048];
    assert_eq!(tap.receive(&mut buf, Instant::ZERO).unwrap(), None);
    // ... and a frame sent while it is down is dropped and counted, not an error.
    tap.transmit(&[0xff; 60], Instant::ZERO).unwrap();
    assert_eq!(tap.dropped(), 1);

    // ... or by the waker, from another thread, long before the timeout.
    let wake = tap.waker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        wake();
    });
    let t0 = std::time::Instant::now();
    tap.wait(Some(Duration::from_secs(10))).unwrap();
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    t.join().unwrap();
    // The wake-up was consumed: the next wait times out again.
    tap.wait(Some(Duration::from_millis(1))).unwrap();

    // A waker that outlives the device is harmless.
    let wake = tap.waker();
    drop(tap);
    wake();
    // Once the first handle is closed the TAP can be attached again (the kernel
    // tears the old attachment down asynchronously: allow it a moment).
    let again = ns.run(|| {
        let mut tries = 0;
        loop {
            match TapDevice::open_plain("tap1", 1500) {
                Err(e) if e.kind() == io::ErrorKind::ResourceBusy && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    });
    assert!(again.is_ok(), "{:?}", again.err());
}
