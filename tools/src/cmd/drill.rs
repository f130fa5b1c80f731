//! `netstack drill FILE_OR_DIR... [--verbose] [-o NAME=VALUE]...`: run
//! packet-level test scripts (packetdrill syntax) against the stack on
//! virtual time. See `drill/GUIDE.md`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

/// Options of `netstack drill`.
#[derive(Args, Debug)]
pub struct DrillOpts {
    /// Script files, or directories searched recursively for `*.pkt`.
    #[arg(required = true, value_name = "FILE_OR_DIR")]
    pub paths: Vec<PathBuf>,
    /// Print every packet in and out, every call and every ARP exchange.
    #[arg(short, long)]
    pub verbose: bool,
    /// Override a script option for every script, e.g. `-o tolerance_usecs=10000`
    /// (repeatable; names as in the scripts' `--name=value` lines).
    #[arg(short = 'o', long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,
    /// Run scripts of a public corpus (`linux`: google/packetdrill, `freebsd`:
    /// FreeBSD's tcp-testsuite): their shell lines and python blocks are
    /// skipped with a note (shown with --verbose). Our own scripts run strict.
    #[arg(long, value_name = "linux|freebsd")]
    pub compat: Option<drill::Compat>,
    /// Define NAME for the scripts' `#ifdef NAME` lines (repeatable); with
    /// `NAME=VALUE`, every whole word NAME in the script is replaced by VALUE,
    /// as packetdrill's -D does.
    #[arg(short = 'D', long = "define", value_name = "NAME[=VALUE]")]
    pub defines: Vec<String>,
}

/// Runs the scripts, printing one line per script (and the failure details);
/// an error if any script failed (scripts marked `// XFAIL: reason` must fail,
/// and count as failed if they pass).
pub fn run(o: DrillOpts) -> Result<(), String> {
    let mut overrides = Vec::new();
    for opt in &o.options {
        let opt = opt.trim_start_matches("--");
        let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
        overrides.push((name.to_string(), value.to_string()));
    }
    let opts = drill::RunOptions {
        verbose: o.verbose,
        overrides,
        compat: o.compat,
        defines: o.defines,
    };
    let scripts = drill::collect_scripts(&o.paths)?;
    if scripts.is_empty() {
        return Err("no *.pkt scripts found".to_string());
    }
    let (mut failed, mut known) = (0, 0);
    let mut out = std::io::stdout().lock();
    // A reader that went away (`netstack drill dir | head`) ends the run
    // quietly, as Unix filters do.
    macro_rules! say {
        ($($arg:tt)*) => {
            if writeln!(out, $($arg)*).is_err() {
                return Ok(());
            }
        };
    }
    for path in &scripts {
        let r = drill::run_script_with(path, &opts);
        if o.verbose {
            for line in &r.log {
                say!("    {line}");
            }
        }
        if r.ok() && r.xfail.is_some() {
            // A known bug, failing as documented: one line is enough.
            say!("{}", r.summary());
        } else {
            say!("{r}");
        }
        if !r.ok() {
            failed += 1;
        } else if r.xfail.is_some() {
            known += 1;
        }
    }
    let total = scripts.len();
    say!(
        "{} passed, {known} known bugs (XFAIL), {failed} failed",
        total - failed - known
    );
    if failed > 0 {
        return Err(format!("{failed} of {total} scripts failed"));
    }
    Ok(())
}
