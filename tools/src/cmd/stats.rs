//! `netstack stats`: the socket table (like `ss -tuan`, with `-i` the TCP
//! internals) and the counters (like `nstat`) of a running `netstack` on a TAP.
//!
//! Every subcommand that brings a stack up on a TAP answers on an abstract
//! UNIX-domain socket named after the TAP ([`control_name`]). Abstract names
//! belong to the network namespace, so stacks in different namespaces never
//! collide: run `netstack stats` in the namespace of the stack (for example with
//! `ip netns exec`).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

use clap::Args;
use sockets::Stack;
use stack::stats::{render, socket_table, Filter};

/// Options of `netstack stats`.
#[derive(Args, Debug)]
pub struct StatsOpts {
    /// The TAP of the stack to ask.
    #[arg(long, default_value = "tap0")]
    tap: String,
    /// TCP sockets.
    #[arg(short = 't')]
    tcp: bool,
    /// UDP sockets.
    #[arg(short = 'u')]
    udp: bool,
    /// Only listening (and unconnected UDP) sockets.
    #[arg(short = 'l')]
    listening: bool,
    /// TCP internals: RTT, RTO, windows, congestion, retransmissions.
    #[arg(short = 'i')]
    internals: bool,
    /// The counters, with the reason of every drop, instead of the sockets.
    #[arg(long)]
    counters: bool,
    /// Refresh every this many seconds until interrupted.
    #[arg(long, value_name = "SECONDS")]
    watch: Option<f64>,
}

/// The abstract socket name of the stack on `tap`.
pub fn control_name(tap: &str) -> String {
    format!("netstack-stats-{tap}")
}

/// Answers `netstack stats` for `net` on the abstract socket of `tap`, from a
/// thread of its own, for as long as the process lives. A second stack on the
/// same TAP name in the same namespace cannot take the name: it is served by the
/// first, and this one says so.
pub fn serve_control(net: &Stack, tap: &str) {
    let name = control_name(tap);
    let listener = match SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|a| UnixListener::bind_addr(&a))
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("netstack: no `netstack stats` for this stack ({name}: {e})");
            return;
        }
    };
    let net = net.clone();
    let _ = std::thread::Builder::new()
        .name("stats".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let _ = answer(&net, conn);
            }
        });
}

/// One request: a line of flags (`t`, `u`, `l`, `i`, `c`), answered with text.
fn answer(net: &Stack, conn: UnixStream) -> std::io::Result<()> {
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line)?;
    let has = |c: char| line.contains(c);
    let text = {
        let rt = net.runtime();
        let g = rt.lock();
        let e = g.engine_ref();
        if has('c') {
            e.counters().to_string()
        } else {
            let f = Filter {
                tcp: has('t'),
                udp: has('u'),
                listening: has('l'),
                internals: has('i'),
            };
            render(&socket_table(e), f)
        }
    };
    (&conn).write_all(text.as_bytes())
}

/// Runs `netstack stats`.
pub fn run(o: StatsOpts) -> Result<(), String> {
    let Some(every) = o.watch else {
        return print_once(&o);
    };
    let every = std::time::Duration::try_from_secs_f64(every)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or("--watch needs a positive number of seconds")?;
    loop {
        // Clear the terminal, then the table, as `watch` does.
        print!("\x1b[H\x1b[2J");
        print_once(&o)?;
        std::thread::sleep(every);
    }
}

fn print_once(o: &StatsOpts) -> Result<(), String> {
    let name = control_name(&o.tap);
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| e.to_string())?;
    let mut conn = UnixStream::connect_addr(&addr).map_err(|e| {
        format!(
            "no netstack on TAP '{}' in this network namespace ({e}); run `netstack stats` \
             where the stack runs (e.g. `ip netns exec NS netstack stats`)",
            o.tap
        )
    })?;
    let mut flags = String::new();
    for (on, c) in [
        (o.tcp, 't'),
        (o.udp, 'u'),
        (o.listening, 'l'),
        (o.internals, 'i'),
        (o.counters, 'c'),
    ] {
        if on {
            flags.push(c);
        }
    }
    flags.push('\n');
    conn.write_all(flags.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut text = String::new();
    conn.read_to_string(&mut text).map_err(|e| e.to_string())?;
    print!("{text}");
    Ok(())
}
