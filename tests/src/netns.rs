//! A private network namespace per test, for TAP interop tests with the Linux kernel as
//! the peer (DESIGN.md, invariant 7: TAP only inside a namespace made for the purpose).
//!
//! ```ignore
//! #[test]
//! fn kernel_pings_us() {
//!     skip_unless_tap!();
//!     let ns = Netns::create("nstest").unwrap();
//!     // TUNSETIFF creates the TAP in the namespace of the calling thread.
//!     let tap = ns.run(|| TapDevice::open_plain("tap0", 1500)).unwrap();
//!     ns.configure_tap("tap0", "10.0.0.1/24", 1500).unwrap();
//!     // ... run our stack on `tap` as 10.0.0.2, and a kernel-side peer:
//!     let peer = ns.spawn_thread(|| std::net::TcpStream::connect("10.0.0.2:7"));
//!     // ...
//! } // the namespace, the TAP, addresses and nftables rules all go away here
//! ```
//!
//! How it works: `Netns::create` runs `ip netns add`, which leaves a handle at
//! `/run/netns/<name>`. A thread joins the namespace with `setns(2)`; for a network
//! namespace that affects only the calling thread, so [`Netns::run`] and
//! [`Netns::spawn_thread`] use fresh threads. Whatever such a thread opens (a TAP, a
//! `std::net` socket) stays bound to the namespace even when used from other threads
//! later, and processes it spawns start inside it. Dropping the [`Netns`] runs
//! `ip netns del` (also during a panic's unwinding); the kernel then destroys the
//! namespace with its interfaces, addresses, routes and nftables rules once the last
//! thread and descriptor in it are gone.
//!
//! Privileges: creating namespaces and TAPs needs root (or `CAP_SYS_ADMIN` +
//! `CAP_NET_ADMIN`). Tests call [`skip_unless_tap!`](crate::skip_unless_tap) or
//! [`tap_or_skip`] first: without privileges they print a `SKIPPED` line and pass,
//! unless `NETSTACK_REQUIRE_TAP=1` (CI on a privileged runner), where they fail.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread::JoinHandle;

/// The nftables table that [`Netns::add_loss`] manages.
pub const LOSS_TABLE: &str = "netstack_loss";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace that exists as long as this value.
#[derive(Debug)]
pub struct Netns {
    name: String,
    path: PathBuf,
}

/// Which packets [`Netns::add_loss`] drops, seen from the kernel inside the namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossDirection {
    /// Packets the kernel receives (sent by our stack): the `input` hook.
    Ingress,
    /// Packets the kernel sends (to our stack): the `output` hook.
    Egress,
    /// Both.
    Both,
}

/// Runs a command, returning its stdout, or an error carrying its stderr.
fn run_ok(cmd: &mut Command) -> io::Result<String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {shown}: {e}")))?;
    check_output(&shown, out)
}

fn check_output(shown: &str, out: Output) -> io::Result<String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Moves the calling thread into the network namespace whose handle is at `path`.
// The workspace denies unsafe code outside `stack/src/device/`; this one call is the
// exception for the test fixture: std has no wrapper for setns(2).
#[allow(unsafe_code)]
fn enter(path: &Path) -> io::Result<()> {
    let ns = File::open(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot open network namespace {}: {e}", path.display()),
        )
    })?;
    // SAFETY: setns takes a descriptor (kept open by `ns` for the duration of the call)
    // and a flag; it reads no memory of ours. With CLONE_NEWNET it changes only the
    // calling thread's network namespace, which is a thread we created for this.
    let r = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if r != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("setns into {}: {e}", path.display()),
        ));
    }
    Ok(())
}

impl Netns {
    /// Creates a namespace named `<prefix>-<pid>-<n>` (unique in this process, and
    /// across processes by the pid) with its loopback interface up.
    pub fn create(prefix: &str) -> io::Result<Netns> {
        if prefix.is_empty() || prefix.contains(['/', '\0']) || prefix.contains(char::is_whitespace)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid namespace prefix {prefix:?}"),
            ));
        }
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        run_ok(Command::new("ip").args(["netns", "add", &name]))?;
        // From here on, Drop deletes it, also if bringing lo up fails.
        let ns = Netns {
            path: Path::new("/run/netns").join(&name),
            name,
        };
        run_ok(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]))?;
        Ok(ns)
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's handle, `/run/netns/<name>`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a new thread inside the namespace and returns its result. A panic
    /// in `f` is propagated; failing to enter the namespace panics.
    ///
    /// Open TAPs (`TUNSETIFF` acts in the calling thread's namespace) and kernel-side
    /// sockets (`std::net`) here; they stay in the namespace afterwards.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match self.try_run(f) {
            Ok(v) => v,
            Err(e) => panic!("cannot enter network namespace {}: {e}", self.name),
        }
    }

    /// Like [`Netns::run`], but failing to enter the namespace is an error.
    pub fn try_run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let path = self.path.as_path();
        std::thread::scope(|s| {
            let thread = std::thread::Builder::new()
                .name(format!("netns {}", self.name))
                .spawn_scoped(s, move || {
                    enter(path)?;
                    Ok(f())
                })?;
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Starts `f` on a new thread inside the namespace, for long-running kernel-side
    /// peers (a `std::net` server, say). The thread panics if it cannot enter the
    /// namespace; `join` reports that. The namespace lives on while the thread does,
    /// even if this `Netns` is dropped first.
    pub fn spawn_thread<T, F>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let path = self.path.clone();
        let name = self.name.clone();
        std::thread::Builder::new()
            .name(format!("netns {name}"))
            .spawn(move || {
                if let Err(e) = enter(&path) {
                    panic!("cannot enter network namespace {name}: {e}");
                }
                f()
            })
            .expect("spawning a thread")
    }

    /// Runs `args[0]` with arguments `args[1..]` inside the namespace
    /// (`ip netns exec <name> args...`) and returns its output, whatever its status.
    pub fn exec(&self, args: &[&str]) -> io::Result<Output> {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdin(Stdio::null())
            .output()
    }

    /// Like [`Netns::exec`], but a non-zero exit is an error carrying stderr; returns
    /// stdout.
    pub fn exec_ok(&self, args: &[&str]) -> io::Result<String> {
        let out = self.exec(args)?;
        check_output(&format!("ip netns exec {} {args:?}", self.name), out)
    }

    /// Runs `args` inside the namespace with `input` on stdin; a non-zero exit is an
    /// error carrying stderr.
    pub fn exec_with_input(&self, args: &[&str], input: &str) -> io::Result<String> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let written = child
            .stdin
            .take()
            .map_or(Ok(()), |mut stdin| stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output()?;
        let shown = format!("ip netns exec {} {args:?}", self.name);
        let stdout = check_output(&shown, out)?;
        written?;
        Ok(stdout)
    }

    /// Sets the MTU of interface `tap` (already in the namespace), brings it up and
    /// gives the kernel side the address `kernel_addr_cidr` (like `10.0.0.1/24`).
    pub fn configure_tap(&self, tap: &str, kernel_addr_cidr: &str, mtu: usize) -> io::Result<()> {
        let mtu = mtu.to_string();
        run_ok(Command::new("ip").args(["-n", &self.name, "link", "set", tap, "mtu", &mtu, "up"]))?;
        run_ok(Command::new("ip").args([
            "-n",
            &self.name,
            "addr",
            "add",
            kernel_addr_cidr,
            "dev",
            tap,
        ]))?;
        Ok(())
    }

    /// The MAC address of interface `dev` in the namespace.
    pub fn mac_of(&self, dev: &str) -> io::Result<[u8; 6]> {
        let text = run_ok(Command::new("ip").args(["-n", &self.name, "-br", "link", "show", dev]))?;
        let bad = || io::Error::other(format!("no MAC address for {dev} in {text:?}"));
        let field = text.split_whitespace().nth(2).ok_or_else(bad)?;
        let bytes: Vec<u8> = field
            .split(':')
            .map(|h| u8::from_str_radix(h, 16))
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        bytes.try_into().map_err(|_| bad())
    }

    /// Makes the kernel in the namespace drop `percent`% (0..=100) of IP packets at
    /// random, in `direction`, with nftables (`numgen random mod 100 < N drop`, in table
    /// `inet netstack_loss`; loopback traffic and ARP are spared). Replaces any earlier
    /// loss rules. Errors if the rules do not load (no `nft`, no nf_tables support).
    ///
    /// Note that a kernel-side UDP or ICMP sender sees `EPERM` from `send` for a
    /// datagram dropped on egress; TCP treats it as loss and retransmits.
    pub fn add_loss(&self, percent: u32, direction: LossDirection) -> io::Result<()> {
        if percent > 100 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("loss must be 0..=100 percent, got {percent}"),
            ));
        }
        // `numgen random mod 100` yields 0..=99, so `< 100` would not load: 100% is a
        // plain drop, and 0% no rule at all.
        let rule = |iface: &str| match percent {
            0 => String::new(),
            100 => format!("    meta {iface} != \"lo\" counter drop\n"),
            p => format!("    meta {iface} != \"lo\" numgen random mod 100 < {p} counter drop\n"),
        };
        let chain = |name: &str, iface: &str| {
            format!(
                "  chain {name} {{\n    type filter hook {name} priority filter; policy accept;\n{}  }}\n",
                rule(iface)
            )
        };
        let mut script = format!(
            "table inet {LOSS_TABLE}\ndelete table inet {LOSS_TABLE}\ntable inet {LOSS_TABLE} {{\n"
        );
        if matches!(direction, LossDirection::Ingress | LossDirection::Both) {
            script += &chain("input", "iifname");
        }
        if matches!(direction, LossDirection::Egress | LossDirection::Both) {
            script += &chain("output", "oifname");
        }
        script += "}\n";
        self.exec_with_input(&["nft", "-f", "-"], &script)
            .map_err(|e| io::Error::new(e.kind(), format!("loading nftables loss rules: {e}")))?;
        Ok(())
    }

    /// Removes the rules of [`Netns::add_loss`], if any.
    pub fn clear_loss(&self) -> io::Result<()> {
        let script = format!("table inet {LOSS_TABLE}\ndelete table inet {LOSS_TABLE}\n");
        self.exec_with_input(&["nft", "-f", "-"], &script).map(drop)
    }

    /// Packets dropped so far by [`Netns::add_loss`]'s rules: `(ingress, egress)`.
    pub fn loss_counters(&self) -> io::Result<(u64, u64)> {
        let text = self.exec_ok(&["nft", "list", "table", "inet", LOSS_TABLE])?;
        let mut counts = (0, 0);
        let mut chain = "";
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("chain ") {
                chain = rest.split_whitespace().next().unwrap_or("");
            }
            let mut words = line.split_whitespace().skip_while(|w| *w != "packets");
            if let Some(n) = words.nth(1).and_then(|n| n.parse::<u64>().ok()) {
                match chain {
                    "input" => counts.0 += n,
                    "output" => counts.1 += n,
                    _ => {}
                }
            }
        }
        Ok(counts)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let out = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: ip netns del {} failed: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("warning: cannot run ip netns del {}: {e}", self.name),
        }
    }
}

/// True if this process can create a network namespace and a TAP inside it. Tried
/// once (creating and deleting a probe namespace) and remembered.
pub fn tap_privileged() -> bool {
    static PRIVILEGED: OnceLock<bool> = OnceLock::new();
    *PRIVILEGED.get_or_init(|| {
        if !Path::new("/dev/net/tun").exists() {
            return false;
        }
        let Ok(ns) = Netns::create("nsprobe") else {
            return false;
        };
        ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "probe0"])
            .is_ok()
    })
}

/// True if `NETSTACK_REQUIRE_TAP=1`: TAP tests must run, not skip.
pub fn require_tap() -> bool {
    std::env::var("NETSTACK_REQUIRE_TAP").is_ok_and(|v| v == "1")
}

/// Decides whether the TAP test `test_name` can run. If not, prints
/// `SKIPPED <test>: ...` to stderr and returns false; under `NETSTACK_REQUIRE_TAP=1`
/// it panics instead.
pub fn tap_or_skip(test_name: &str) -> bool {
    if tap_privileged() {
        return true;
    }
    if require_tap() {
        panic!(
            "{test_name}: NETSTACK_REQUIRE_TAP=1, but this process cannot create a TAP in a \
             private network namespace (run as root, or with CAP_SYS_ADMIN and CAP_NET_ADMIN, \
             with /dev/net/tun, iproute2 and nftables installed)"
        );
    }
    // Written to the stderr handle, not with eprintln!: libtest captures the macros'
    // output of passing tests, and a skip should be seen.
    let _ = writeln!(
        io::stderr(),
        "SKIPPED {test_name}: needs root to create a TAP in a private network namespace"
    );
    false
}

/// The running test's name: libtest names the thread after the test, except when it
/// runs tests on the main thread, where `fallback` is used.
#[doc(hidden)]
pub fn current_test_name(fallback: &str) -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => fallback.to_string(),
    }
}

/// Returns from the enclosing test (after printing a `SKIPPED` line) unless TAP tests
/// can run; see [`tap_or_skip`]. `skip_unless_tap!()` names the test after the current
/// thread; `skip_unless_tap!("name")` names it explicitly.
#[macro_export]
macro_rules! skip_unless_tap {
    () => {
        if !$crate::netns::tap_or_skip(&$crate::netns::current_test_name(concat!(
            module_path!(),
            ":",
            line!()
        ))) {
            return;
        }
    };
    ($name:expr) => {
        if !$crate::netns::tap_or_skip($name) {
            return;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn listed(name: &str) -> bool {
        let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name))
    }

    fn root_has_link(dev: &str) -> bool {
        Command::new("ip")
            .args(["link", "show", dev])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    #[test]
    fn names_are_unique_and_the_namespace_goes_away_on_drop() {
        skip_unless_tap!();
        let a = Netns::create("nstest").unwrap();
        let b = Netns::create("nstest").unwrap();
        assert_ne!(a.name(), b.name());
        let pid = std::process::id().to_string();
        assert!(a.name().starts_with(&format!("nstest-{pid}-")));
        assert!(listed(a.name()) && listed(b.name()));
        assert!(a.path().exists());
        let (name_a, name_b) = (a.name().to_string(), b.name().to_string());
        drop(a);
        assert!(!listed(&name_a));
        assert!(listed(&name_b));
        drop(b);
        assert!(!listed(&name_b));
    }

    #[test]
    fn the_namespace_goes_away_when_a_test_panics() {
        skip_unless_tap!();
        let mut name = String::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let ns = Netns::create("nstest").unwrap();
            name = ns.name().to_string();
            assert!(listed(&name));
            ns.run(|| panic!("deliberate panic inside the namespace"));
        }));
        assert!(result.is_err());
        assert!(!name.is_empty());
        assert!(!listed(&name), "{name} survived the panic");
    }

    #[test]
    fn run_executes_inside_the_namespace() {
        skip_unless_tap!();
        let ns = Netns::create("nstest").unwrap();
        let ns_inode = std::fs::metadata(ns.path()).unwrap().ino();
        let (thread_inode, links) = ns.run(|| {
            let inode = std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino();
            // Processes spawned from the thread start in the namespace too.
            let links = run_ok(Command::new("ip").args(["-o", "link", "show"])).unwrap();
            (inode, links)
        });
        assert_eq!(thread_inode, ns_inode);
        let root_inode = std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino();
        assert_ne!(
            root_inode, ns_inode,
            "the caller's thread stays where it was"
        );
        let names: Vec<&str> = links.lines().filter_map(|l| l.split(": ").nth(1)).collect();
        assert_eq!(names, vec!["lo"]);
        assert!(links.contains("UP"), "lo is up: {links}");
        // A result comes back, and so does a kernel socket made inside.
        let sock = ns.run(|| std::net::UdpSocket::bind("127.0.0.1:0")).unwrap();
        assert!(sock.local_addr().unwrap().port() != 0);
        // Failing to enter is an error with try_run.
        let ghost = Netns {
            name: "nstest-does-not-exist".into(),
            path: PathBuf::from("/run/netns/nstest-does-not-exist"),
        };
        assert!(ghost.try_run(|| ()).is_err());
        std::mem::forget(ghost);
    }

    #[test]
    fn a_tap_made_inside_is_visible_inside_only() {
        skip_unless_tap!();
        let ns = Netns::create("nstest").unwrap();
        let tap = format!("nst{}", std::process::id() % 100_000);
        ns.run(|| run_ok(Command::new("ip").args(["tuntap", "add", "mode", "tap", "name", &tap])))
            .unwrap();
        assert!(ns
            .exec_ok(&["ip", "link", "show", &tap])
            .unwrap()
            .contains(&tap));
        assert!(!root_has_link(&tap));
        ns.configure_tap(&tap, "10.99.0.1/24", 1400).unwrap();
        let shown = ns.exec_ok(&["ip", "addr", "show", &tap]).unwrap();
        assert!(shown.contains("mtu 1400"), "{shown}");
        assert!(shown.contains("10.99.0.1/24"), "{shown}");
        assert_eq!(ns.mac_of(&tap).unwrap().len(), 6);
        // exec_ok reports failures with stderr.
        let e = ns
            .exec_ok(&["ip", "link", "show", "nosuchdev0"])
            .unwrap_err();
        assert!(e.to_string().contains("nosuchdev0"), "{e}");
        assert!(!ns.exec(&["false"]).unwrap().status.success());
        drop(ns);
        assert!(!root_has_link(&tap));
    }

    #[test]
    fn spawned_threads_live_in_the_namespace() {
        skip_unless_tap!();
        let ns = Netns::create("nstest").unwrap();
        let ns_inode = std::fs::metadata(ns.path()).unwrap().ino();
        let listener = ns
            .run(|| std::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ns.spawn_thread(move || {
            let (mut conn, _) = listener.accept().unwrap();
            std::io::Write::write_all(&mut conn, b"hi").unwrap();
            std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
        });
        let got = ns.run(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            let mut buf = String::new();
            std::io::Read::read_to_string(&mut c, &mut buf).unwrap();
            buf
        });
        assert_eq!(got, "hi");
        assert_eq!(server.join().unwrap(), ns_inode);
    }

    #[test]
    fn loss_rules_load_and_drop_packets() {
        skip_unless_tap!();
        let ns = Netns::create("nstest").unwrap();
        assert!(ns.add_loss(101, LossDirection::Both).is_err());
        ns.add_loss(0, LossDirection::Both).unwrap();
        ns.add_loss(5, LossDirection::Both).unwrap();
        let rules = ns
            .exec_ok(&["nft", "list", "table", "inet", LOSS_TABLE])
            .unwrap();
        assert!(
            rules.contains("chain input") && rules.contains("chain output"),
            "{rules}"
        );
        assert!(rules.contains("numgen random mod 100 < 5"), "{rules}");
        assert_eq!(ns.loss_counters().unwrap(), (0, 0));

        // Replace with 100% egress loss, and watch it drop kernel-sent datagrams: a TAP
        // with a static neighbour, so nothing waits for ARP.
        ns.add_loss(100, LossDirection::Egress).unwrap();
        let rules = ns
            .exec_ok(&["nft", "list", "table", "inet", LOSS_TABLE])
            .unwrap();
        assert!(!rules.contains("chain input"), "{rules}");
        ns.exec_ok(&["ip", "tuntap", "add", "mode", "tap", "name", "lossy0"])
            .unwrap();
        ns.configure_tap("lossy0", "10.98.0.1/24", 1500).unwrap();
        ns.exec_ok(&[
            "ip",
            "neigh",
            "add",
            "10.98.0.2",
            "lladdr",
            "02:00:00:00:00:02",
            "dev",
            "lossy0",
        ])
        .unwrap();
        let refused = ns.run(|| {
            let sock = std::net::UdpSocket::bind("10.98.0.1:0").unwrap();
            (0..10)
                .filter(|_| sock.send_to(b"x", "10.98.0.2:9").is_err())
                .count()
        });
        // Netfilter drops on output make the kernel's send fail with EPERM.
        assert_eq!(refused, 10);
        assert_eq!(ns.loss_counters().unwrap(), (0, 10));
        // Loopback is spared.
        ns.run(|| {
            let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            a.send_to(b"x", a.local_addr().unwrap()).unwrap();
        });
        ns.clear_loss().unwrap();
        ns.clear_loss().unwrap();
        assert!(ns
            .exec_ok(&["nft", "list", "table", "inet", LOSS_TABLE])
            .is_err());
    }

    #[test]
    fn bad_prefixes_are_rejected_and_privilege_checks_agree() {
        assert!(Netns::create("a/b").is_err());
        assert!(Netns::create("").is_err());
        // We are either privileged, or skipping says so (not under REQUIRE_TAP).
        if !require_tap() || tap_privileged() {
            assert_eq!(tap_or_skip("netns::self_check"), tap_privileged());
        }
        assert_eq!(
            current_test_name("fallback"),
            "netns::tests::bad_prefixes_are_rejected_and_privilege_checks_agree"
        );
    }
}
