//! `netstack bench --loss P`: goodput on a lossy link, our stack next to smoltcp 0.14
//! and next to Linux talking to Linux, measured in the same run.
//!
//! Loss is made on the kernel side by nftables (`numgen random mod 1000 < 10*P
//! drop`), on the kernel's input hook (what the stack under test sends is lost),
//! its output hook (what the kernel sends is lost), or both. The same kernel-side
//! client code reads from or writes to every peer:
//!
//! - our stack and smoltcp on the TAP of this namespace, rules on the TAP;
//! - a Linux server in a namespace of its own, joined to a second namespace by a
//!   veth pair with TSO/GSO/GRO off (a fair MTU 1500 comparison), rules on the
//!   client's end. Both namespaces are made here (names with this process id) and
//!   deleted when the run ends, also on failure.
//!
//! A drop on the output hook is a local drop to the sending kernel's TCP: the
//! segment stays queued and goes again later, not as a retransmission. That is
//! loss for ACKs, but not for data. So the data the kernel sends (when the stack
//! under test receives) is dropped where it arrives instead: by the stack's own
//! device (ours and smoltcp's, each frame with probability P), and on the Linux
//! server's input hook.
//!
//! Every kernel socket uses the congestion control `--kernel-cc` (TCP_CONGESTION).
//! Our retransmissions are split by cause from our counters, the kernel's (the
//! sender's, and both ends' over the veth pair) from `/proc/net/netstat`.

use std::io::Write;
use std::net::{SocketAddrV4, TcpListener};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use stack::{Counters, Stat};

use super::{linux, Dir, TapRun, Transfer};

/// nftables table holding the loss rules.
const TABLE: &str = "netstack_bench_loss";

/// Where packets are dropped, seen from the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LossWhere {
    /// Both ways.
    Both,
    /// Only what the stack under test sends (the kernel's input).
    ToKernel,
    /// Only what the kernel sends (its output).
    FromKernel,
}

impl LossWhere {
    /// Label for tables.
    pub fn label(self) -> &'static str {
        match self {
            LossWhere::Both => "both ways",
            LossWhere::ToKernel => "to kernel only",
            LossWhere::FromKernel => "from kernel only",
        }
    }
}

fn nft(netns: Option<&str>, script: &str) -> Result<(), String> {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "nft", "-f", "-"]);
            c
        }
        None => {
            let mut c = Command::new("nft");
            c.args(["-f", "-"]);
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft (is the nftables package installed?): {e}"))?;
    child
        .stdin
        .take()
        .ok_or("nft: no stdin")?
        .write_all(script.as_bytes())
        .map_err(|e| format!("nft: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "nft failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Installs the loss rules on `iface` (in `netns`, or this namespace), replacing
/// earlier ones; `percent` in 0.1 steps (0: no rules, the loss-free baseline).
pub fn set_loss(
    netns: Option<&str>,
    iface: &str,
    percent: f64,
    at: LossWhere,
) -> Result<(), String> {
    let per_mille = (percent * 10.0).round() as u32;
    if !(0.0..100.0).contains(&percent) || per_mille >= 1000 {
        return Err(format!("loss {percent} % out of range (0 to 99.9)"));
    }
    if per_mille == 0 {
        // The loss-free baseline of the same run.
        clear_loss(netns);
        return Ok(());
    }
    let chain = |hook: &str, dir: &str| {
        format!(
            "  chain {hook} {{\n    type filter hook {hook} priority filter; policy accept;\n    \
             meta {dir} \"{iface}\" numgen random mod 1000 < {per_mille} counter drop\n  }}\n"
        )
    };
    let mut script =
        format!("table inet {TABLE}\ndelete table inet {TABLE}\ntable inet {TABLE} {{\n");
    if matches!(at, LossWhere::Both | LossWhere::ToKernel) {
        script += &chain("input", "iifname");
    }
    if matches!(at, LossWhere::Both | LossWhere::FromKernel) {
        script += &chain("output", "oifname");
    }
    script += "}\n";
    nft(netns, &script)
}

/// Removes the loss rules (ignoring their absence).
pub fn clear_loss(netns: Option<&str>) {
    let _ = nft(
        netns,
        &format!("table inet {TABLE}\ndelete table inet {TABLE}\n"),
    );
}

/// Sets the kernel's `net.ipv4.tcp_sack` in `netns` (or this namespace).
pub fn set_kernel_sack(netns: Option<&str>, on: bool) -> Result<(), String> {
    set_sysctl(netns, "net.ipv4.tcp_sack", if on { "1" } else { "0" })
}

fn set_sysctl(netns: Option<&str>, key: &str, value: &str) -> Result<(), String> {
    let setting = format!("{key}={value}");
    match netns {
        Some(ns) => ip(&["netns", "exec", ns, "sysctl", "-qw", &setting]).map(drop),
        None => {
            let out = Command::new("sysctl")
                .args(["-qw", &setting])
                .output()
                .map_err(|e| format!("cannot run sysctl (procps): {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "sysctl {setting}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        }
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Two namespaces joined by a veth pair: a Linux server in `server`, the
/// kernel-side client in `client`. Deleted on drop.
pub struct Veth {
    /// The server's namespace.
    pub server: String,
    /// The client's namespace (where the loss rules go).
    pub client: String,
    /// The server's address.
    pub server_addr: std::net::Ipv4Addr,
    /// Congestion control of both ends (TCP_CONGESTION); `None`: the default.
    congestion: Option<String>,
}

/// The client's end of the veth pair.
pub const VETH_CLIENT_IF: &str = "vb";

/// The server's end of the veth pair.
pub const VETH_SERVER_IF: &str = "va";

impl Veth {
    /// Makes the namespaces and the link (MTU `mtu`, offloads off); both ends'
    /// sockets use the congestion control `congestion` (the kernel's default if `None`).
    pub fn new(mtu: usize, congestion: Option<&str>) -> Result<Veth, String> {
        let id = std::process::id();
        let v = Veth {
            server: format!("nsbench-{id}-a"),
            client: format!("nsbench-{id}-b"),
            server_addr: std::net::Ipv4Addr::new(10, 77, 0, 1),
            congestion: congestion.map(str::to_string),
        };
        ip(&["netns", "add", &v.server])?;
        ip(&["netns", "add", &v.client])?;
        let mtu = mtu.to_string();
        let steps: [&[&str]; 8] = [
            &[
                "-n", &v.server, "link", "add", "va", "type", "veth", "peer", "name", "vb",
                "netns", &v.client,
            ],
            &["-n", &v.server, "addr", "add", "10.77.0.1/24", "dev", "va"],
            &["-n", &v.client, "addr", "add", "10.77.0.2/24", "dev", "vb"],
            &["-n", &v.server, "link", "set", "va", "mtu", &mtu, "up"],
            &["-n", &v.client, "link", "set", "vb", "mtu", &mtu, "up"],
            &["-n", &v.server, "link", "set", "lo", "up"],
            &["-n", &v.client, "link", "set", "lo", "up"],
            &[
                "netns", "exec", &v.server, "ethtool", "-K", "va", "tso", "off", "gso", "off",
                "gro", "off",
            ],
        ];
        for s in steps {
            ip(s)?;
        }
        ip(&[
            "netns", "exec", &v.client, "ethtool", "-K", "vb", "tso", "off", "gso", "off", "gro",
            "off",
        ])?;
        Ok(v)
    }

    /// One transfer between the kernel-side client (in `client`) and a Linux
    /// server (in `server`), measured where the bytes arrive.
    pub fn run(&self, dir: Dir, bytes: u64, stall: Duration) -> Result<Transfer, String> {
        let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
        let exe = exe.to_string_lossy().into_owned();
        let service = format!("{}:{}", self.server_addr, dir.port());
        let dir_arg = match dir {
            Dir::Send => "send",
            Dir::Recv => "recv",
        };
        let bytes_s = bytes.to_string();
        let stall_s = stall.as_secs().max(1).to_string();
        let server = Command::new("ip")
            .args(["netns", "exec", &self.server, &exe, "bench-peer", "serve"])
            .args([
                "--at", &service, "--dir", dir_arg, "--bytes", &bytes_s, "--stall", &stall_s,
            ])
            .args(self.congestion.iter().flat_map(|c| ["--cc", c.as_str()]))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the Linux server: {e}"))?;
        let client = Command::new("ip")
            .args(["netns", "exec", &self.client, &exe, "bench-peer", "client"])
            .args([
                "--at", &service, "--dir", dir_arg, "--bytes", &bytes_s, "--stall", &stall_s,
            ])
            .args(self.congestion.iter().flat_map(|c| ["--cc", c.as_str()]))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start the kernel-side client: {e}"));
        let server = server
            .wait_with_output()
            .map_err(|e| format!("Linux server: {e}"))?;
        let client = client?;
        let measured = match dir {
            Dir::Send => &client,
            Dir::Recv => &server,
        };
        for (who, out) in [("client", &client), ("server", &server)] {
            if !out.status.success() {
                return Err(format!(
                    "veth {who}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        parse_measurement(&String::from_utf8_lossy(&measured.stdout))
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.server]);
        let _ = ip(&["netns", "del", &self.client]);
    }
}

/// The line a measuring `bench-peer` prints.
fn measurement_line(t: &Transfer) -> String {
    format!("measured {} bytes in {} ns", t.bytes, t.elapsed.as_nanos())
}

fn parse_measurement(out: &str) -> Result<Transfer, String> {
    let line = out
        .lines()
        .find(|l| l.starts_with("measured "))
        .ok_or_else(|| format!("no measurement in {out:?}"))?;
    let w: Vec<&str> = line.split_whitespace().collect();
    let bytes = w.get(1).and_then(|b| b.parse().ok());
    let nanos: Option<u64> = w.get(4).and_then(|n| n.parse().ok());
    match (bytes, nanos) {
        (Some(bytes), Some(n)) => Ok(Transfer {
            bytes,
            elapsed: Duration::from_nanos(n),
        }),
        _ => Err(format!("bad measurement line {line:?}")),
    }
}

/// `netstack bench-peer serve`: one Linux server connection at `at` (source or
/// discard, as `dir` says from the server's side), with the same transfer loops
/// as the kernel-side client; prints the measurement when it receives.
pub fn peer_serve(at: SocketAddrV4, dir: Dir, bytes: u64, stall: Duration) -> Result<(), String> {
    let l = TcpListener::bind(at).map_err(|e| format!("bind {at}: {e}"))?;
    let (s, _) = l.accept().map_err(|e| format!("accept: {e}"))?;
    let s = linux::ticking(s)?;
    let cancel = AtomicBool::new(false);
    match dir {
        Dir::Send => {
            linux::write_stream(s, bytes, stall, &cancel)?;
        }
        Dir::Recv => {
            let t = linux::read_stream(s, bytes, stall, &cancel)?;
            println!("{}", measurement_line(&t));
        }
    }
    Ok(())
}

/// `netstack bench-peer client`: the kernel-side client of every measurement,
/// here against the Linux server; prints the measurement when it receives.
pub fn peer_client(at: SocketAddrV4, dir: Dir, bytes: u64, stall: Duration) -> Result<(), String> {
    let cancel = AtomicBool::new(false);
    let s = linux::connect(at, &cancel)?;
    match dir {
        Dir::Send => {
            let t = linux::read_stream(s, bytes, stall, &cancel)?;
            println!("{}", measurement_line(&t));
        }
        Dir::Recv => {
            linux::write_stream(s, bytes, stall, &cancel)?;
        }
    }
    Ok(())
}

/// Our retransmissions by cause, from the stack's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Causes {
    /// All retransmitted segments.
    pub total: u64,
    /// By fast recovery (RFC 6675, duplicate ACKs).
    pub fast: u64,
    /// By RACK.
    pub rack: u64,
    /// Tail loss probes sent.
    pub tlp: u64,
    /// After timeouts.
    pub rto: u64,
}

impl Causes {
    /// Reads the causes from counters.
    pub fn from_counters(c: &Counters) -> Causes {
        Causes {
            total: c.stat(Stat::TcpRetransmits),
            fast: c.stat(Stat::TcpRetransFastRecovery),
            rack: c.stat(Stat::TcpRetransRack),
            tlp: c.stat(Stat::TcpLossProbes),
            rto: c.stat(Stat::TcpRetransTimeout),
        }
    }

    /// `fast/rack/tlp/rto (rto % of all)`.
    pub fn render(&self) -> String {
        let share = if self.total == 0 {
            0.0
        } else {
            self.rto as f64 * 100.0 / self.total as f64
        };
        format!(
            "{}/{}/{}/{} ({share:.1} %)",
            self.fast, self.rack, self.tlp, self.rto
        )
    }
}

/// Linux's retransmissions over the veth pair, from the kernel's counters in both
/// namespaces (`/proc/net/netstat` and `/proc/net/snmp`, as `nstat` reads them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinuxCauses {
    /// All retransmitted segments (`RetransSegs`).
    pub total: u64,
    /// In fast recovery, RACK's marks included (`TCPFastRetrans`).
    pub fast: u64,
    /// Tail loss probes (`TCPLossProbes`).
    pub tlp: u64,
    /// Retransmission timeouts, as events (`TCPTimeouts`).
    pub timeouts: u64,
}

impl LinuxCauses {
    fn between(before: &KernelCounters, after: &KernelCounters) -> LinuxCauses {
        let d = |k: &str| {
            after
                .get(k)
                .copied()
                .unwrap_or(0)
                .saturating_sub(before.get(k).copied().unwrap_or(0))
        };
        LinuxCauses {
            total: d("Tcp:RetransSegs"),
            fast: d("TcpExt:TCPFastRetrans"),
            tlp: d("TcpExt:TCPLossProbes"),
            timeouts: d("TcpExt:TCPTimeouts"),
        }
    }

    /// `fast/tlp/timeouts of total`.
    pub fn render(&self) -> String {
        format!(
            "{}/{}/{} of {}",
            self.fast, self.tlp, self.timeouts, self.total
        )
    }
}

/// The kernel's TCP counters of one namespace, keyed `Section:Name`.
type KernelCounters = std::collections::HashMap<String, u64>;

/// Reads the counters of namespace `ns`, or of this process's namespace.
fn kernel_counters(ns: Option<&str>) -> Result<KernelCounters, String> {
    let text = match ns {
        Some(ns) => ip(&[
            "netns",
            "exec",
            ns,
            "cat",
            "/proc/net/netstat",
            "/proc/net/snmp",
        ])?,
        None => {
            let read = |f| std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"));
            read("/proc/net/netstat")? + &read("/proc/net/snmp")?
        }
    };
    Ok(parse_counters(&text))
}

/// `/proc/net/netstat` and `/proc/net/snmp` hold pairs of lines: `Section: names...`
/// then `Section: values...`.
fn parse_counters(text: &str) -> KernelCounters {
    let mut out = KernelCounters::new();
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks_exact(2) {
        let (Some((sec, names)), Some((sec2, values))) =
            (pair[0].split_once(':'), pair[1].split_once(':'))
        else {
            continue;
        };
        if sec != sec2 {
            continue;
        }
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            if let Ok(v) = v.parse::<u64>() {
                *out.entry(format!("{sec}:{n}")).or_default() += v;
            }
        }
    }
    out
}

impl Veth {
    /// [`Veth::run`], with Linux's retransmissions by cause during the transfer.
    pub fn run_counted(
        &self,
        dir: Dir,
        bytes: u64,
        stall: Duration,
    ) -> Result<(Transfer, LinuxCauses), String> {
        let both = || -> Result<KernelCounters, String> {
            let mut c = kernel_counters(Some(&self.server))?;
            for (k, v) in kernel_counters(Some(&self.client))? {
                *c.entry(k).or_default() += v;
            }
            Ok(c)
        };
        let before = both()?;
        let t = self.run(dir, bytes, stall)?;
        Ok((t, LinuxCauses::between(&before, &both()?)))
    }
}

/// One of our measurements under loss, with the causes of our retransmissions
/// and of the kernel's in this namespace (the sender when our stack receives).
pub fn ours(run: &TapRun) -> Result<(Transfer, Causes, LinuxCauses), String> {
    let before = kernel_counters(None)?;
    let (t, c) = super::ours::run_runtime_counted(run)?;
    let kernel = LinuxCauses::between(&before, &kernel_counters(None)?);
    Ok((t, Causes::from_counters(&c), kernel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_counters_parse_by_section() {
        let text = "TcpExt: TCPFastRetrans TCPTimeouts\nTcpExt: 7 2\n\
                    Ip: Forwarding\nIp: 1\nTcp: RtoMin RetransSegs\nTcp: 200 9\n";
        let c = parse_counters(text);
        assert_eq!(c.get("TcpExt:TCPTimeouts"), Some(&2));
        assert_eq!(c.get("Tcp:RetransSegs"), Some(&9));
        let zero = KernelCounters::new();
        let l = LinuxCauses::between(&zero, &c);
        assert_eq!((l.total, l.fast, l.tlp, l.timeouts), (9, 7, 0, 2));
    }

    #[test]
    fn measurement_lines_round_trip() {
        let t = Transfer {
            bytes: 1234,
            elapsed: Duration::from_nanos(5678),
        };
        assert_eq!(parse_measurement(&measurement_line(&t)).unwrap(), t);
        assert!(parse_measurement("nothing").is_err());
    }
}
