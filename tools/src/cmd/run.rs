//! `netstack run [interface options] -- PROGRAM ARGS...`: runs an unmodified
//! program with its `AF_INET` sockets on our stack, through the preload library
//! (`libnetstack_preload.so`): the options become `NETSTACK_*` environment
//! variables, the library is put in `LD_PRELOAD`, and the program is executed in
//! place of this process.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::iface::{in_root_netns, IfaceOpts};

/// Options of `netstack run`.
#[derive(Args, Debug)]
pub struct RunOpts {
    #[command(flatten)]
    iface: IfaceOpts,
    /// Seconds the program waits at exit for its connections to deliver what they
    /// hold (the kernel would go on after the process ended; the stack cannot).
    #[arg(long, default_value_t = 5.0)]
    exit_linger: f64,
    /// The preload library (default: libnetstack_preload.so beside this
    /// executable, or $NETSTACK_PRELOAD).
    #[arg(long)]
    preload: Option<PathBuf>,
    /// The program and its arguments (after `--`).
    #[arg(trailing_var_arg = true, required = true, allow_hyphen_values = true)]
    program: Vec<OsString>,
}

/// The library beside the running executable (cargo builds both into one
/// directory), or the one named.
fn find_library(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("NETSTACK_PRELOAD").map(PathBuf::from))
    {
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("preload library {} does not exist", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    for cand in [
        dir.join("libnetstack_preload.so"),
        dir.join("../libnetstack_preload.so"),
    ] {
        if cand.is_file() {
            return cand
                .canonicalize()
                .map_err(|e| format!("{}: {e}", cand.display()));
        }
    }
    Err(format!(
        "no libnetstack_preload.so beside {}; build it with `cargo build --release -p \
         netstack-preload` (or give --preload FILE)",
        exe.display()
    ))
}

/// The environment the preload library reads, from the options.
pub fn environment(o: &IfaceOpts, exit_linger: f64) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("NETSTACK_TAP", o.tap.clone()),
        ("NETSTACK_ADDR", format!("{}/{}", o.addr.0, o.addr.1)),
        ("NETSTACK_MTU", o.mtu.to_string()),
        ("NETSTACK_LOSS", o.loss.to_string()),
        ("NETSTACK_MAX_FDS", o.max_fds.to_string()),
        ("NETSTACK_EXIT_LINGER", exit_linger.to_string()),
    ];
    let mut put = |k: &'static str, v: Option<String>| env.push((k, v.unwrap_or_default()));
    put("NETSTACK_GW", o.gw.map(|g| g.to_string()));
    put("NETSTACK_MAC", o.mac.map(|m| m.to_string()));
    put(
        "NETSTACK_PCAP",
        o.pcap.as_ref().map(|p| p.display().to_string()),
    );
    put("NETSTACK_PCAP_LIMIT", o.pcap_limit.map(|l| l.to_string()));
    put("NETSTACK_NAMESERVER", o.nameserver.map(|n| n.to_string()));
    put("NETSTACK_SEED", o.seed.map(|s| s.to_string()));
    put("NETSTACK_PRIVILEGED", o.privileged.then(|| "1".into()));
    put("NETSTACK_NO_OFFLOAD", o.no_offload.then(|| "1".into()));
    put("NETSTACK_VERBOSE", o.verbose.then(|| "1".into()));
    put(
        "NETSTACK_ALLOW_ROOT_NETNS",
        o.allow_root_netns.then(|| "1".into()),
    );
    env
}

/// Runs the subcommand: only returns on an error.
pub fn run(o: RunOpts) -> Result<(), String> {
    if o.iface.trace.is_some() {
        return Err(
            "--trace is not available with `run` (the preload library writes no \
                    connection trace); use --pcap"
                .into(),
        );
    }
    o.iface.config()?;
    if in_root_netns() && !o.iface.allow_root_netns {
        return Err(format!(
            "refusing to use TAP '{}' in the root network namespace; run inside a private \
             one, e.g. scripts/netns-run.sh -- netstack run ... (or pass --allow-root-netns)",
            o.iface.tap
        ));
    }
    let lib = find_library(o.preload.as_deref())?;
    let (program, args) = o.program.split_first().ok_or("no program to run")?;
    let mut preload = lib.into_os_string();
    if let Some(old) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
        preload.push(":");
        preload.push(old);
    }
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env("LD_PRELOAD", preload);
    for (k, v) in environment(&o.iface, o.exit_linger) {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let e = cmd.exec();
    Err(format!("cannot run {}: {e}", program.to_string_lossy()))
}
