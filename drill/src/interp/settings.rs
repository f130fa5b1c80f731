//! Run settings: the script's `--name=value` option lines (and command-line
//! overrides) with their defaults.

use std::net::Ipv4Addr;

/// Everything a run can be configured with. [`Settings::default`] holds the
/// documented defaults; [`Settings::apply`] changes one by option name.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `--local_ip`: the stack's address (default `192.168.0.1`).
    pub local_ip: Ipv4Addr,
    /// `--remote_ip`: the simulated remote host (default `192.168.0.2`).
    pub remote_ip: Ipv4Addr,
    /// `--prefix_len` (or `--netmask_ip=255.255.255.0`): the on-link prefix
    /// length of the stack's address (default 24).
    pub prefix_len: u8,
    /// `--gateway_ip`: the stack's default gateway (default none; the remote
    /// host must then be on-link).
    pub gateway: Option<Ipv4Addr>,
    /// `--mtu`: the link MTU (default 1500). `--mss=N` sets it to `N + 40`.
    pub mtu: usize,
    /// `--seed`: the stack's random seed (ISNs, ephemeral ports, IP ids);
    /// default: the stack's default for the local address.
    pub seed: Option<u64>,
    /// `--tolerance_usecs`: the minimum timing tolerance (default 4000).
    pub tolerance_usecs: u64,
    /// `--tolerance_percent`: the tolerance as a share of the time since the
    /// previous event, when that is larger (default 12.5).
    pub tolerance_percent: f64,
    /// `--bind_port`: the port `bind(fd, ..., ...)` binds (default 8080).
    pub bind_port: u16,
    /// `--connect_port`: the remote port `connect(fd, ..., ...)` connects to
    /// (default 8080).
    pub connect_port: u16,
    /// `--remote_port`: the remote host's port for connections it opens and
    /// datagrams it sends before any `connect` (default 50000).
    pub remote_port: u16,
    /// `--default_win`: the window of `<` TCP packets written without `win`
    /// (default 65535).
    pub default_win: u16,
    /// `--arp_delay_usecs`: how long the remote host takes to answer an ARP
    /// request (default 0: at once).
    pub arp_delay_usecs: u64,
    /// `--any_wait_usecs`: how long a `*` outbound packet is waited for
    /// (default 60 s).
    pub any_wait_usecs: u64,
    /// The corpus compatibility mode (`netstack drill --compat`), if any.
    pub compat: Option<crate::compat::Compat>,
    /// `--strict_segments`: in compatibility mode, a `>` line matches one
    /// segment only, never a train (see `netstack drill --compat`).
    pub strict_segments: bool,
    /// Linux sysctls (`net.ipv4.NAME`, value) a compatibility run found in
    /// the script's shell commands, applied to the stack's configuration.
    pub sysctls: Vec<(String, String)>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            local_ip: Ipv4Addr::new(192, 168, 0, 1),
            remote_ip: Ipv4Addr::new(192, 168, 0, 2),
            prefix_len: 24,
            gateway: None,
            mtu: 1500,
            seed: None,
            tolerance_usecs: 4000,
            tolerance_percent: 12.5,
            bind_port: 8080,
            connect_port: 8080,
            remote_port: 50000,
            default_win: 65535,
            arp_delay_usecs: 0,
            any_wait_usecs: 60_000_000,
            compat: None,
            strict_segments: false,
            sysctls: Vec::new(),
        }
    }
}

fn num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    let v = value.trim_matches('"');
    let parsed = if let Some(hex) = v.strip_prefix("0x") {
        u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|n| n.to_string().parse().ok())
    } else {
        v.parse().ok()
    };
    parsed.ok_or_else(|| format!("option --{name}: invalid value '{value}'"))
}

fn addr(name: &str, value: &str) -> Result<Ipv4Addr, String> {
    value
        .trim_matches('"')
        .parse()
        .map_err(|_| format!("option --{name}: invalid IPv4 address '{value}'"))
}

impl Settings {
    /// Applies one option (`name` without the leading `--`). Unknown names and
    /// bad values are errors naming the option.
    pub fn apply(&mut self, name: &str, value: &str) -> Result<(), String> {
        match name {
            "local_ip" => self.local_ip = addr(name, value)?,
            "remote_ip" => self.remote_ip = addr(name, value)?,
            "gateway_ip" => self.gateway = Some(addr(name, value)?),
            "prefix_len" => {
                let p: u8 = num(name, value)?;
                if p > 32 {
                    return Err(format!("option --{name}: {p} is more than 32"));
                }
                self.prefix_len = p;
            }
            "netmask_ip" => {
                let m = u32::from(addr(name, value)?);
                if m.leading_ones() + m.trailing_zeros() != 32 {
                    return Err(format!("option --{name}: {value} is not a netmask"));
                }
                self.prefix_len = m.leading_ones() as u8;
            }
            "mtu" => self.mtu = num(name, value)?,
            "mss" => {
                let mss: usize = num(name, value)?;
                // google/packetdrill's --mss is the segment size of the
                // (GRO) super-packets it injects, not the link's MTU.
                if self.compat != Some(crate::compat::Compat::Linux) {
                    self.mtu = mss.saturating_add(40);
                }
            }
            "seed" => self.seed = Some(num(name, value)?),
            "tolerance_usecs" => self.tolerance_usecs = num(name, value)?,
            "tolerance_percent" => {
                let p: f64 = num(name, value)?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("option --{name}: {value} is not within 0..100"));
                }
                self.tolerance_percent = p;
            }
            "bind_port" => self.bind_port = num(name, value)?,
            "connect_port" => self.connect_port = num(name, value)?,
            "remote_port" => self.remote_port = num(name, value)?,
            "default_win" => self.default_win = num(name, value)?,
            "arp_delay_usecs" => self.arp_delay_usecs = num(name, value)?,
            "any_wait_usecs" => self.any_wait_usecs = num(name, value)?,
            "strict_segments" => self.strict_segments = true,
            // Linux sysctls with a counterpart in the stack's configuration.
            "tcp_fastopen" | "tcp_fastopen_key" => {
                if !self.sysctl(name, value.trim_matches('"')) {
                    return Err(format!("option --{name}: invalid value '{value}'"));
                }
            }
            // packetdrill's interpolation of `<` TS ecr values: ours are
            // always translated by the offset the first `>` TS val gives.
            "tcp_ts_ecr_scaled" => {}
            // The tick of the timestamp clock of the host under test: our
            // TS val is never compared, only its presence and TS ecr.
            "tcp_ts_tick_usecs" => {
                let _: u64 = num(name, value)?;
            }
            "udp_encapsulation" => {
                return Err(format!(
                    "option --{name}: unsupported by the stack: TCP over UDP encapsulation"
                ))
            }
            "ip_version" => {
                if value.trim_matches('"') != "ipv4" {
                    return Err(format!("option --{name}: only ipv4 is supported"));
                }
            }
            _ => {
                return Err(format!(
                    "unknown option --{name} (known: local_ip, remote_ip, gateway_ip, prefix_len, \
                     netmask_ip, mtu, mss, seed, tolerance_usecs, tolerance_percent, bind_port, \
                     connect_port, remote_port, default_win, arp_delay_usecs, any_wait_usecs, \
                     strict_segments, tcp_ts_tick_usecs, tcp_ts_ecr_scaled, ip_version, tcp_fastopen, \
                     tcp_fastopen_key)"
                ))
            }
        }
        Ok(())
    }

    /// Records the Linux sysctl `net.ipv4.NAME` = `value` if the stack has
    /// a counterpart for it (see [`apply_sysctl`]); `false` if not.
    pub fn sysctl(&mut self, name: &str, value: &str) -> bool {
        let mut probe = stack::StackConfig::new(self.local_ip, self.prefix_len);
        if !apply_sysctl(&mut probe, name, value) {
            return false;
        }
        self.sysctls.push((name.to_string(), value.to_string()));
        true
    }

    /// The stack configuration for these settings.
    pub fn stack_config(&self) -> Result<stack::StackConfig, String> {
        let mut c = stack::StackConfig::new(self.local_ip, self.prefix_len);
        // A corpus expects its platform's socket buffer defaults (what
        // getsockopt reports and what windows start from).
        match self.compat {
            Some(crate::compat::Compat::FreeBsd) => {
                c.tcp.recv_buffer = 65536; // net.inet.tcp.recvspace
                c.tcp.send_buffer = 32768; // net.inet.tcp.sendspace
                c.tcp.round_buffers_to_mss = true; // tcp_mss()
                c.tcp.bsd_receive_window = true; // tcp_output()
                c.tcp.quick_ack = false; // tcp_input(): no quick-ACK mode
            }
            Some(crate::compat::Compat::Linux) => {
                c.tcp.recv_buffer = 131_072; // tcp_rmem[1]
                c.tcp.send_buffer = 16_384; // tcp_wmem[1]
            }
            None => {}
        }
        for (k, v) in &self.sysctls {
            apply_sysctl(&mut c, k, v);
        }
        c.gateway = self.gateway;
        c.mtu = self.mtu;
        if let Some(seed) = self.seed {
            c.seed = seed;
        }
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// Sets the part of `c` that Linux's sysctl `net.ipv4.NAME` = `value`
/// controls; `false` for a name the stack has no counterpart for, or a value
/// it cannot read.
pub fn apply_sysctl(c: &mut stack::StackConfig, name: &str, value: &str) -> bool {
    let int = |v: &str| -> Option<u64> {
        let v = v.trim();
        match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => v.parse().ok(),
        }
    };
    let triple = |v: &str| -> Option<[usize; 3]> {
        let n: Vec<usize> = v
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        n.try_into().ok()
    };
    let t = &mut c.tcp;
    match name {
        "tcp_timestamps" => int(value).map(|v| t.timestamps = v != 0),
        "tcp_sack" => int(value).map(|v| t.sack = v != 0),
        "tcp_window_scaling" => int(value).map(|v| t.window_scaling = v != 0),
        "tcp_syncookies" => int(value).map(|v| t.syn_cookies = v != 0),
        "tcp_moderate_rcvbuf" => int(value).map(|v| t.moderate_rcvbuf = v != 0),
        "tcp_syn_retries" => int(value).map(|v| t.syn_retries = v.min(255) as u32),
        "tcp_synack_retries" => int(value).map(|v| t.synack_retries = v.min(255) as u32),
        "tcp_fastopen" => int(value).map(|v| {
            let key = t.fast_open.key;
            t.fast_open = stack::config::FastOpenConfig::from_linux_sysctl(v as u32);
            t.fast_open.key = key;
        }),
        "tcp_fastopen_key" => {
            stack::config::FastOpenConfig::parse_linux_key(value).map(|k| t.fast_open.key = Some(k))
        }
        // min, default, max: a connection starts with the default; the
        // receive side grows up to the max.
        "tcp_wmem" => triple(value).map(|[_, d, _]| t.send_buffer = d.clamp(1024, t.max_buffer)),
        "tcp_rmem" => triple(value).map(|[_, d, m]| {
            t.recv_buffer = d.clamp(1024, t.max_buffer);
            t.max_recv_buffer_auto = m.clamp(t.recv_buffer, t.max_buffer);
        }),
        _ => None,
    }
    .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let mut s = Settings::default();
        s.apply("mss", "1000").unwrap();
        assert_eq!(s.mtu, 1040);
        s.apply("netmask_ip", "255.255.0.0").unwrap();
        assert_eq!(s.prefix_len, 16);
        assert!(s.apply("netmask_ip", "255.0.255.0").is_err());
        s.apply("tolerance_usecs", "10000").unwrap();
        assert_eq!(s.tolerance_usecs, 10000);
        assert!(s
            .apply("bogus", "1")
            .unwrap_err()
            .contains("unknown option --bogus"));
        assert!(s.apply("bind_port", "70000").is_err());
        assert!(s.stack_config().is_ok());
    }
}
