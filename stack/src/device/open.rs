//! Opening the device a command line (or a preloaded program's environment)
//! describes: a TAP, plain or with offloads, under the impairment and capture
//! layers asked for. One place for both the `netstack` tool and the preload
//! library, so they open a link the same way and refuse the same things.

use std::path::PathBuf;

use super::impaired::{ImpairedDevice, ImpairmentConfig};
use super::pcap::PcapDevice;
use super::tap::{describe_open_error, TapDevice};
use super::Device;

/// What to open: the TAP and the layers around it.
#[derive(Clone, Debug, Default)]
pub struct LinkOptions {
    /// TAP device name.
    pub tap: String,
    /// IP MTU of the link.
    pub mtu: usize,
    /// Write every frame to this pcap file.
    pub pcap: Option<PathBuf>,
    /// Rotate the capture past this many bytes.
    pub pcap_limit: Option<u64>,
    /// Drop this fraction of frames each way (0.0 to 1.0).
    pub loss: f64,
    /// Seed of the impairment (1 when not given).
    pub seed: Option<u64>,
    /// Plain frames: no virtio-net header, checksum offload or TSO.
    pub no_offload: bool,
    /// Open a TAP in the machine's initial network namespace (refused otherwise).
    pub allow_root_netns: bool,
}

impl LinkOptions {
    /// Opens the TAP and wraps it. Returns the device and a sentence saying how
    /// frames are exchanged (for the user), or a message saying why it could not.
    pub fn open(&self) -> Result<(Box<dyn Device>, String), String> {
        if in_root_netns() && !self.allow_root_netns {
            return Err(format!(
                "refusing to use TAP '{}' in the root network namespace; run inside a private \
                 one, e.g. scripts/netns-run.sh -- netstack ... (or pass --allow-root-netns)",
                self.tap
            ));
        }
        let plain = || {
            TapDevice::open_plain(&self.tap, self.mtu)
                .map_err(|e| describe_open_error(&e, &self.tap))
        };
        let (tap, path) = if self.no_offload {
            (plain()?, "plain frames (--no-offload)".to_string())
        } else if self.loss > 0.0 {
            (
                plain()?,
                "plain frames (--loss impairs plain frames)".to_string(),
            )
        } else {
            match TapDevice::open_with_offloads(&self.tap, self.mtu) {
                Ok(t) => (
                    t,
                    "offloads: virtio-net header, checksum offload and TSO (--no-offload for \
                     plain frames)"
                        .to_string(),
                ),
                Err(e) => (
                    plain()?,
                    format!("plain frames (the kernel refused offloads: {e})"),
                ),
            }
        };
        Ok((self.wrap(Box::new(tap))?, path))
    }

    /// Wraps `dev` in the impairment and capture layers asked for.
    pub fn wrap(&self, mut dev: Box<dyn Device>) -> Result<Box<dyn Device>, String> {
        if self.loss > 0.0 {
            let cfg = ImpairmentConfig {
                loss: self.loss,
                ..ImpairmentConfig::default()
            };
            cfg.validate()?;
            dev = Box::new(ImpairedDevice::new(dev, cfg, self.seed.unwrap_or(1)));
        }
        if let Some(path) = &self.pcap {
            let pcap = match self.pcap_limit {
                Some(limit) => PcapDevice::create_rotating(dev, path, limit),
                None => PcapDevice::create(dev, path),
            };
            dev = Box::new(pcap.map_err(|e| format!("cannot write {}: {e}", path.display()))?);
        }
        Ok(dev)
    }
}

/// True when this process shares the machine's initial network namespace: that of
/// PID 1, or of PID 2 (kthreadd, always in the initial namespace) when PID 1's is not
/// readable. When neither can be read, we cannot prove we are in a private
/// namespace, so the answer is true (refuse rather than risk the root namespace).
pub fn in_root_netns() -> bool {
    let Ok(ours) = std::fs::read_link("/proc/self/ns/net") else {
        return true;
    };
    let mut known = false;
    for pid in [1, 2] {
        if let Ok(theirs) = std::fs::read_link(format!("/proc/{pid}/ns/net")) {
            known = true;
            if theirs == ours {
                return true;
            }
        }
    }
    !known
}
