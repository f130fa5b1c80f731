//! Our stack on a TAP in a private namespace, the Linux kernel on the other side.
//!
//! ```text
//!   namespace nstap-<pid>-<n>
//!   kernel 10.0.0.1/24 on tap0  <==== frames ====>  our stack 10.0.0.2/24 (this process)
//! ```

use std::io;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use sockets::Stack;
use stack::device::impaired::ImpairedDevice;
use stack::device::pcap::PcapDevice;
use stack::device::tap::TapDevice;
use stack::device::Device;
use stack::runtime::Runtime;
use stack::{Engine, StackConfig};

use crate::netns::Netns;

/// The kernel's address on the TAP.
pub const KERNEL_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Our stack's address on the TAP.
pub const STACK_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The TAP's name inside the namespace.
pub const TAP_NAME: &str = "tap0";

/// Options of a [`TapFixture`].
#[derive(Debug, Clone)]
pub struct TapOptions {
    /// MTU on both sides.
    pub mtu: usize,
    /// Record a pcap of every frame to this file.
    pub pcap: Option<PathBuf>,
    /// Adjust our stack's configuration.
    pub config: fn(&mut StackConfig),
    /// Open the TAP with the virtio-net header and checksum/TSO offloads.
    pub offloads: bool,
    /// Probability that our device drops a frame it receives: loss of what the
    /// kernel sent after its transmission succeeded (an nftables drop on the
    /// kernel's output hook is a local drop that its TCP simply sends again).
    pub inbound_loss: f64,
}

impl Default for TapOptions {
    fn default() -> Self {
        TapOptions {
            mtu: 1500,
            pcap: None,
            config: |_| {},
            offloads: false,
            inbound_loss: 0.0,
        }
    }
}

/// A namespace with a TAP, the kernel at 10.0.0.1 and our stack at 10.0.0.2.
///
/// Field order matters: the stack (which holds the TAP) is dropped before the
/// namespace is deleted.
pub struct TapFixture {
    /// Our running stack, with its BSD socket API.
    pub stack: Stack,
    /// The namespace (deleted on drop, also when a test panics).
    pub ns: Netns,
    /// Our stack's configuration.
    pub config: StackConfig,
}

impl TapFixture {
    /// Creates the namespace, the TAP, the kernel-side address, and starts our stack.
    pub fn new(opts: TapOptions) -> io::Result<TapFixture> {
        let ns = Netns::create("nstap")?;
        let offloads = opts.offloads;
        let tap = ns.run(|| {
            if offloads {
                TapDevice::open_with_offloads(TAP_NAME, opts.mtu)
            } else {
                TapDevice::open_plain(TAP_NAME, opts.mtu)
            }
        })?;
        ns.configure_tap(TAP_NAME, &format!("{KERNEL_ADDR}/24"), opts.mtu)?;
        let mut config = StackConfig::new(STACK_ADDR, 24);
        config.mtu = opts.mtu;
        (opts.config)(&mut config);
        let engine = Engine::new(config.clone()).map_err(io::Error::other)?;
        // NETSTACK_TEST_PCAP_DIR records every fixture's frames, one file per
        // namespace, to look into a failure seen once.
        let pcap = opts.pcap.clone().or_else(|| {
            std::env::var_os("NETSTACK_TEST_PCAP_DIR")
                .map(|dir| PathBuf::from(dir).join(format!("{}.pcap", ns.name())))
        });
        let device: Box<dyn Device> = match &pcap {
            Some(path) => Box::new(PcapDevice::create(tap, path)?),
            None => Box::new(tap),
        };
        let device: Box<dyn Device> = if opts.inbound_loss > 0.0 {
            Box::new(ImpairedDevice::losing_received(
                device,
                opts.inbound_loss,
                0x7a9,
            ))
        } else {
            device
        };
        let runtime = Runtime::start(engine, device)?;
        Ok(TapFixture {
            stack: Stack::new(runtime),
            ns,
            config,
        })
    }

    /// Runs a command inside the namespace and returns its stdout, or an error with
    /// its stderr when it fails.
    pub fn exec_ok(&self, args: &[&str]) -> io::Result<String> {
        self.ns.exec_ok(args)
    }

    /// Sends a raw Ethernet frame from the kernel side out of the TAP (towards our
    /// stack), through an AF_PACKET socket opened by python3 inside the namespace.
    pub fn inject_frame(&self, frame: &[u8]) -> io::Result<()> {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        let script = format!(
            "import socket\ns = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n\
             s.bind(('{TAP_NAME}', 0))\ns.send(bytes.fromhex('{hex}'))\n"
        );
        self.ns.exec_ok(&["python3", "-c", &script]).map(|_| ())
    }

    /// The kernel side's MAC address.
    pub fn kernel_mac(&self) -> io::Result<[u8; 6]> {
        self.ns.mac_of(TAP_NAME)
    }

    /// A snapshot of our stack's counters.
    pub fn counters(&self) -> stack::Counters {
        self.runtime().lock().engine_ref().counters().clone()
    }

    /// Our stack's runtime.
    pub fn runtime(&self) -> &Runtime {
        self.stack.runtime()
    }
}
