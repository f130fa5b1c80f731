//! The stack's configuration from the environment: the `NETSTACK_*` variables
//! `netstack run` sets from its interface options (the same names, upper-cased).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use stack::device::open::LinkOptions;
use stack::{EthernetAddress, StackConfig};

/// Everything the environment says.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Engine configuration.
    pub config: StackConfig,
    /// The link.
    pub link: LinkOptions,
    /// `NETSTACK_NAMESERVER`.
    pub nameserver: Option<SocketAddrV4>,
    /// `NETSTACK_VERBOSE`: print every frame on stderr.
    pub verbose: bool,
    /// `NETSTACK_EXIT_LINGER`: seconds the process waits at exit for its
    /// connections to deliver what they hold (default 5).
    pub exit_linger: f64,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| v != "0")
}

fn parse<T: std::str::FromStr>(name: &str, what: &str) -> Result<Option<T>, String> {
    var(name)
        .map(|v| v.parse().map_err(|_| format!("{name}={v} is not {what}")))
        .transpose()
}

pub use stack::config::parse_cidr;

impl Settings {
    /// Reads the environment.
    pub fn from_env() -> Result<Settings, String> {
        let (addr, prefix) = parse_cidr(&var("NETSTACK_ADDR").unwrap_or("10.0.0.2/24".into()))
            .map_err(|e| format!("NETSTACK_ADDR: {e}"))?;
        let mut config = StackConfig::new(addr, prefix);
        if let Some(mac) = parse::<EthernetAddress>("NETSTACK_MAC", "a MAC address")? {
            config.mac = mac;
        }
        config.gateway = parse::<Ipv4Addr>("NETSTACK_GW", "an IPv4 address")?;
        config.mtu = parse::<usize>("NETSTACK_MTU", "a number")?.unwrap_or(1500);
        let seed = parse::<u64>("NETSTACK_SEED", "a number")?;
        if let Some(seed) = seed {
            config.seed = seed;
            config.deterministic = true;
        }
        config.ports.privileged = flag("NETSTACK_PRIVILEGED");
        config.max_fds = parse::<usize>("NETSTACK_MAX_FDS", "a number")?.unwrap_or(65536);
        config.validate().map_err(|e| e.to_string())?;
        let link = LinkOptions {
            tap: var("NETSTACK_TAP").unwrap_or("tap0".into()),
            mtu: config.mtu,
            pcap: var("NETSTACK_PCAP").map(PathBuf::from),
            pcap_limit: parse::<u64>("NETSTACK_PCAP_LIMIT", "a byte count")?,
            loss: parse::<f64>("NETSTACK_LOSS", "a fraction")?.unwrap_or(0.0),
            seed,
            no_offload: flag("NETSTACK_NO_OFFLOAD"),
            allow_root_netns: flag("NETSTACK_ALLOW_ROOT_NETNS"),
        };
        let nameserver = var("NETSTACK_NAMESERVER")
            .map(|v| {
                v.parse::<SocketAddrV4>().or_else(|_| {
                    v.parse::<Ipv4Addr>()
                        .map(|ip| SocketAddrV4::new(ip, 53))
                        .map_err(|_| format!("NETSTACK_NAMESERVER={v} is not A.B.C.D[:PORT]"))
                })
            })
            .transpose()?;
        Ok(Settings {
            config,
            link,
            nameserver,
            verbose: flag("NETSTACK_VERBOSE"),
            exit_linger: parse::<f64>("NETSTACK_EXIT_LINGER", "a number of seconds")?
                .unwrap_or(5.0),
        })
    }
}
