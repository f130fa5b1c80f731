//! `netstack example NAME ...`: the seed documents' programs over a TAP.

use std::net::Ipv4Addr;

use clap::{Args, Subcommand};

use crate::examples::{dgram, ipc_notes};
use crate::iface::IfaceOpts;

/// Options of `netstack example`.
#[derive(Args, Debug)]
pub struct ExampleOpts {
    #[command(flatten)]
    iface: IfaceOpts,
    #[command(subcommand)]
    program: Program,
}

#[derive(Subcommand, Debug)]
enum Program {
    /// 4.4BSD tutorial Figure 6a: print our port, read one datagram, print it.
    DgramRecv,
    /// 4.4BSD tutorial Figure 6b: send one datagram to HOST PORT.
    DgramSend {
        /// Destination host.
        host: Ipv4Addr,
        /// Destination port.
        port: u16,
    },
    /// Unix IPC notes Figure 3: receive two messages on PORT.
    Receiver {
        /// The agreed port.
        port: u16,
    },
    /// Unix IPC notes Figure 2: send two messages (broadcast allowed) to MACHINE PORT.
    Sender {
        /// Destination (a broadcast address works: the socket sets SO_BROADCAST).
        machine: Ipv4Addr,
        /// The agreed port.
        port: u16,
        /// First message.
        #[arg(default_value = "hello")]
        message1: String,
        /// Second message.
        #[arg(default_value = "how are you")]
        message2: String,
    },
}

/// Runs `netstack example`.
pub fn run(o: ExampleOpts) -> Result<(), String> {
    let net = o.iface.start_stack("ex")?;
    match o.program {
        Program::DgramRecv => dgram::figure_6a_reader(&net, |_| {}).map(|_| ()),
        Program::DgramSend { host, port } => dgram::figure_6b_sender(&net, host, port),
        Program::Receiver { port } => ipc_notes::receiver(&net, port, || {}).map(|(m1, m2)| {
            println!("{m1}\n{m2}");
        }),
        Program::Sender {
            machine,
            port,
            message1,
            message2,
        } => ipc_notes::sender(&net, &message1, &message2, machine, port),
    }?;
    // Let the last frames leave before the stack stops.
    std::thread::sleep(std::time::Duration::from_millis(100));
    Ok(())
}
