//! `netstack nc [-l] [-u] HOST PORT`: netcat over our stack. Standard input goes to
//! the socket, the socket to standard output. The TCP half is in `serve_tcp.rs`
//! ([`crate::cmd::serve_tcp::nc_tcp`]).

use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use clap::Args;
use sockets::net::UdpSocket;

use crate::iface::IfaceOpts;

/// Options of `netstack nc`.
#[derive(Args, Debug)]
pub struct NcOpts {
    #[command(flatten)]
    iface: IfaceOpts,
    /// Listen instead of connecting (then the only argument is the port).
    #[arg(short = 'l')]
    listen: bool,
    /// UDP instead of TCP.
    #[arg(short = 'u')]
    udp: bool,
    /// Send standard input lines starting with this prefix as urgent (MSG_OOB) data
    /// (TCP only): the prefix and the newline are removed and the last byte of the
    /// rest is the urgent byte ("PREFIX" + "X" sends the urgent byte X). Urgent
    /// bytes received are printed on standard error as "[OOB byte 0x..]".
    #[arg(long)]
    oob_prefix: Option<String>,
    /// After standard input ends (TCP: and its end was sent as a FIN), quit this
    /// many seconds later if the peer has not closed by then; negative: wait for
    /// the peer to close.
    #[arg(short = 'q', default_value_t = 1.0, allow_negative_numbers = true)]
    quit_after: f64,
    /// No progress bar (TCP; it is shown on standard error when standard input is
    /// not a terminal or more than 1 MiB moved, and only when standard error is a
    /// terminal).
    #[arg(long)]
    quiet: bool,
    /// Host (or, with -l, the port).
    first: String,
    /// Port.
    second: Option<u16>,
}

impl NcOpts {
    fn target(&self) -> Result<(Option<Ipv4Addr>, u16), String> {
        if self.listen {
            let port = match self.second {
                Some(p) => p,
                None => self
                    .first
                    .parse()
                    .map_err(|_| format!("bad port '{}'", self.first))?,
            };
            return Ok((None, port));
        }
        let host: Ipv4Addr = self
            .first
            .parse()
            .map_err(|_| format!("bad IPv4 address '{}'", self.first))?;
        let port = self.second.ok_or("missing PORT")?;
        Ok((Some(host), port))
    }
}

fn nc_udp(
    net: &sockets::Stack,
    host: Option<Ipv4Addr>,
    port: u16,
    quit_after: Duration,
) -> Result<(), String> {
    let sock = match host {
        Some(_) => UdpSocket::bind(net, "0.0.0.0:0"),
        None => UdpSocket::bind(net, ("0.0.0.0", port)),
    }
    .map_err(|e| e.to_string())?;
    if let Some(h) = host {
        sock.connect(SocketAddrV4::new(h, port))
            .map_err(|e| e.to_string())?;
    }
    let peer = std::sync::Arc::new(parking_lot::Mutex::new(
        host.map(|h| SocketAddr::from(SocketAddrV4::new(h, port))),
    ));
    let sender = {
        let sock = sock.try_clone().map_err(|e| e.to_string())?;
        let peer = peer.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(mut line) = line else { break };
                line.push('\n');
                let to = *peer.lock();
                match to {
                    Some(to) => {
                        if let Err(e) = sock.send_to(line.as_bytes(), to) {
                            eprintln!("nc: send: {e}");
                        }
                    }
                    None => eprintln!("nc: no peer yet (nothing received)"),
                }
            }
        })
    };
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 65536];
    let mut stdin_done_at = None;
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                if host.is_none() {
                    *peer.lock() = Some(from);
                }
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&buf[..n]);
                let _ = out.flush();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => eprintln!("nc: {e}"),
        }
        if sender.is_finished() {
            let at = *stdin_done_at.get_or_insert_with(std::time::Instant::now);
            if host.is_some() && at.elapsed() >= quit_after {
                return Ok(());
            }
        }
    }
}

/// Runs `netstack nc`.
pub fn run(o: NcOpts) -> Result<(), String> {
    let (host, port) = o.target()?;
    let net = o.iface.start_stack("nc")?;
    let quit = (o.quit_after >= 0.0).then(|| Duration::from_secs_f64(o.quit_after.min(1e6)));
    if o.udp {
        return nc_udp(&net, host, port, quit.unwrap_or(Duration::MAX));
    }
    crate::cmd::serve_tcp::nc_tcp(&net, host, port, o.oob_prefix.as_deref(), quit, o.quiet)
}
