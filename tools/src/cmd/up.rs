//! `netstack up`: bring the stack up on a TAP, answer ARP and ping, print counters.

use clap::Args;
use stack::runtime::Runtime;
use stack::Engine;

use crate::iface::{wait_for_signal, IfaceOpts};

/// Options of `netstack up`.
#[derive(Args, Debug)]
pub struct UpOpts {
    #[command(flatten)]
    iface: IfaceOpts,
    /// Stop after this many seconds (default: run until SIGINT or SIGTERM).
    #[arg(long = "for", value_name = "SECONDS")]
    duration: Option<f64>,
}

/// Runs `netstack up`.
pub fn run(o: UpOpts) -> Result<(), String> {
    let config = o.iface.config()?;
    let device = o.iface.device()?;
    let engine = Engine::new(config.clone()).map_err(|e| e.to_string())?;
    let hooks = stack::runtime::Hooks {
        observer: o.iface.observer("up"),
        trace: o.iface.trace_sink()?,
    };
    let rt = Runtime::start_with_hooks(engine, device, hooks)
        .map_err(|e| format!("cannot start the driver thread: {e}"))?;
    let net = sockets::Stack::new(rt);
    crate::cmd::stats::serve_control(&net, &o.iface.tap);
    eprintln!(
        "netstack up on {} as {}/{} ({}), MTU {}; stop with Ctrl-C",
        o.iface.tap, config.addr, config.prefix_len, config.mac, config.mtu
    );
    let limit = match o.duration {
        Some(s) if s.is_finite() && s >= 0.0 => Some(std::time::Duration::from_secs_f64(s)),
        Some(_) => return Err("--for needs a non-negative number of seconds".into()),
        None => None,
    };
    wait_for_signal(limit);
    let rt = net.runtime();
    let counters = rt.lock().engine_ref().counters().clone();
    println!("counters:");
    print!("{counters}");
    if let Some(e) = rt.driver_error() {
        return Err(e);
    }
    Ok(())
}
