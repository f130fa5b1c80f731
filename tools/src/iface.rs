//! The interface options every subcommand shares, and building a device from them.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::Args;
use stack::device::open::LinkOptions;
use stack::device::Device;
use stack::runtime::{Direction, FrameObserver};
use stack::{EthernetAddress, StackConfig};

/// `--tap NAME --addr A.B.C.D/P [--gw ADDR] [--mac MAC] [--mtu N] [--pcap FILE] [--loss P --seed N]`.
#[derive(Args, Debug, Clone)]
pub struct IfaceOpts {
    /// TAP device to attach to (created if it does not exist and we may create it).
    #[arg(long, default_value = "tap0")]
    pub tap: String,
    /// Our address and prefix length, e.g. 10.0.0.2/24.
    #[arg(long, default_value = "10.0.0.2/24", value_parser = parse_cidr)]
    pub addr: (Ipv4Addr, u8),
    /// Default gateway for off-link destinations.
    #[arg(long)]
    pub gw: Option<Ipv4Addr>,
    /// Our MAC address (default: derived from the address, locally administered).
    #[arg(long)]
    pub mac: Option<EthernetAddress>,
    /// IP MTU of the link.
    #[arg(long, default_value_t = 1500)]
    pub mtu: usize,
    /// Write every frame in and out to this pcap file (opens in tcpdump and Wireshark).
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Bound the capture: past this size (KiB, MiB, GiB suffixes) the file becomes
    /// FILE.1 and a new one starts, so about twice this much is kept.
    #[arg(long, requires = "pcap", value_parser = crate::bench::parse_size)]
    pub pcap_limit: Option<u64>,
    /// Nameserver for host names the stack's table does not hold (`gethostbyname`
    /// asks it over our own UDP, port 53 unless given: 10.0.0.1 or 10.0.0.1:5353).
    #[arg(long, value_parser = parse_nameserver)]
    pub nameserver: Option<std::net::SocketAddrV4>,
    /// Write the connection trace to this file: one JSON line per change of a
    /// connection's state, cwnd, ssthresh, RTT, RTO or congestion state (draw it
    /// with `netstack plot --trace FILE`).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Drop this fraction of frames in each direction (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Make the run reproducible: the stack's random choices (ISNs, ports, IP ids)
    /// and the impairment come from this seed. Without it the stack draws its
    /// secrets from the operating system, as it must on a link an attacker can
    /// reach, and the impairment uses seed 1.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Allow binding ports below 1024.
    #[arg(long)]
    pub privileged: bool,
    /// Exchange plain frames with the TAP: no virtio-net header, checksum offload
    /// or TSO (which are used by default, and never with --loss).
    #[arg(long)]
    pub no_offload: bool,
    /// Most descriptors the socket layer hands out (`ulimit -n`).
    #[arg(long, default_value_t = 65536)]
    pub max_fds: usize,
    /// Microseconds a thread blocked on one socket (not in select or poll)
    /// watches for a change, and the driver reads the device after a frame,
    /// before they sleep (Linux's net.core.busy_read and busy_poll); 0 turns
    /// busy polling off.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(0..=100_000))]
    pub busy_poll_us: u64,
    /// Print every frame in and out.
    #[arg(long, short)]
    pub verbose: bool,
    /// Run on a TAP in the root network namespace (normally refused: use
    /// scripts/netns-run.sh, which makes a private namespace for the TAP).
    #[arg(long)]
    pub allow_root_netns: bool,
}

/// Parses `A.B.C.D` or `A.B.C.D:PORT` (port 53 by default).
pub fn parse_nameserver(s: &str) -> Result<std::net::SocketAddrV4, String> {
    if let Ok(a) = s.parse::<std::net::SocketAddrV4>() {
        return Ok(a);
    }
    let ip: Ipv4Addr = s
        .parse()
        .map_err(|_| format!("bad nameserver '{s}' (A.B.C.D or A.B.C.D:PORT)"))?;
    Ok(std::net::SocketAddrV4::new(ip, 53))
}

pub use stack::config::parse_cidr;

pub use stack::device::open::in_root_netns;

impl IfaceOpts {
    /// The stack configuration these options describe.
    pub fn config(&self) -> Result<StackConfig, String> {
        let mut c = StackConfig::new(self.addr.0, self.addr.1);
        if let Some(mac) = self.mac {
            c.mac = mac;
        }
        c.gateway = self.gw;
        c.mtu = self.mtu;
        if let Some(seed) = self.seed {
            c.seed = seed;
            c.deterministic = true;
        }
        c.ports.privileged = self.privileged;
        c.max_fds = self.max_fds;
        c.busy_poll = std::time::Duration::from_micros(self.busy_poll_us);
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// The link these options describe.
    pub fn link(&self) -> LinkOptions {
        LinkOptions {
            tap: self.tap.clone(),
            mtu: self.mtu,
            pcap: self.pcap.clone(),
            pcap_limit: self.pcap_limit,
            loss: self.loss,
            seed: self.seed,
            no_offload: self.no_offload,
            allow_root_netns: self.allow_root_netns,
        }
    }

    /// Opens the TAP and wraps it as the options say.
    pub fn device(&self) -> Result<Box<dyn Device>, String> {
        let (dev, path) = self.link().open()?;
        eprintln!("netstack: TAP {} with {path}", self.tap);
        Ok(dev)
    }

    /// Brings our stack up on the TAP and returns its socket API.
    pub fn start_stack(&self, label: &'static str) -> Result<sockets::Stack, String> {
        let config = self.config()?;
        let device = self.device()?;
        let engine = stack::Engine::new(config).map_err(|e| e.to_string())?;
        let hooks = stack::runtime::Hooks {
            observer: self.observer(label),
            trace: self.trace_sink()?,
        };
        let rt = stack::runtime::Runtime::start_with_hooks(engine, device, hooks)
            .map_err(|e| format!("cannot start the driver thread: {e}"))?;
        let net = sockets::Stack::new(rt);
        net.set_nameserver(self.nameserver);
        crate::cmd::stats::serve_control(&net, &self.tap);
        Ok(net)
    }

    /// The trace writer for `--trace`, if asked.
    pub fn trace_sink(&self) -> Result<Option<stack::runtime::TraceSink>, String> {
        self.trace
            .as_deref()
            .map(netstack_tools::trace::file_sink)
            .transpose()
    }

    /// The frame printer for `--verbose`, if asked.
    pub fn observer(&self, label: &'static str) -> Option<FrameObserver> {
        self.verbose.then(|| printer(label, true))
    }
}

/// An observer printing each frame in one line, tcpdump style, with the time since
/// the observer was made.
pub fn printer(label: &'static str, both_directions: bool) -> FrameObserver {
    printer_since(label, both_directions, std::time::Instant::now())
}

/// Like [`printer`], with times measured from `epoch` (so that several stacks'
/// transcripts share one time line).
pub fn printer_since(
    label: &'static str,
    both_directions: bool,
    epoch: std::time::Instant,
) -> FrameObserver {
    Box::new(move |dir, frame, _now| {
        if dir == Direction::In && !both_directions {
            return;
        }
        let arrow = match dir {
            Direction::In => "<",
            Direction::Out => ">",
        };
        println!(
            "{:>10.6} {label} {arrow} {}",
            epoch.elapsed().as_secs_f64(),
            stack::wire::pretty::frame(frame)
        );
    })
}

/// Blocks until SIGINT or SIGTERM, or until `limit` passes.
pub fn wait_for_signal(limit: Option<std::time::Duration>) {
    let (tx, rx) = crossbeam_channel::bounded::<()>(1);
    let _ = ctrlc::set_handler(move || {
        let _ = tx.try_send(());
    });
    match limit {
        Some(d) => {
            let _ = rx.recv_timeout(d);
        }
        None => {
            let _ = rx.recv();
        }
    }
}
