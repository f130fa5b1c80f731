//! Running scripts: one source text, one file, or every `*.pkt` under a
//! directory, with a [`ScriptResult`] per script.
//!
//! ```
//! let src = "
//! 0   socket(..., SOCK_DGRAM, IPPROTO_UDP) = 3
//! +0  bind(3, ..., ...) = 0
//! +0  < udp (10)
//! +0  recvfrom(3, ..., 100, 0, ..., ...) = 10
//! +.1 sendto(3, ..., 20, 0, ..., ...) = 20
//! +0  > udp (20)
//! ";
//! let r = drill::run_source("echo.pkt", src, &drill::RunOptions::default());
//! assert!(r.passed, "{r}");
//! assert_eq!(r.summary(), "PASS  echo.pkt  (0.10 s virtual)");
//!
//! let wrong = src.replace("> udp (20)", "> udp (21)");
//! let r = drill::run_source("echo.pkt", &wrong, &drill::RunOptions::default());
//! let f = r.failure.unwrap();
//! assert_eq!(f.line, 7);
//! assert!(f.message.contains("the UDP payload length is 20, the script expects 21"));
//! ```

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::ast::Micros;
use crate::interp::{secs, Failure, Interp, Settings};

/// How to run scripts.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Record every packet in and out, every call and every ARP exchange in
    /// [`ScriptResult::log`].
    pub verbose: bool,
    /// Options applied after the script's own option lines, as
    /// `(name, value)` without the leading `--` (`("tolerance_usecs", "10000")`).
    pub overrides: Vec<(String, String)>,
    /// Compatibility with a public corpus: shell lines and python blocks are
    /// skipped (see [`crate::compat`]); the notes go to [`ScriptResult::log`].
    pub compat: Option<crate::compat::Compat>,
    /// Names defined for `#ifdef` lines (packetdrill's `-D NAME`).
    pub defines: Vec<String>,
}

/// The outcome of one script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptResult {
    /// The script's name (its path, for files).
    pub name: String,
    /// Whether every event happened as written.
    pub passed: bool,
    /// Virtual time the script ran for, in microseconds.
    pub duration: Micros,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// The transcript, when [`RunOptions::verbose`] is set.
    pub log: Vec<String>,
    /// The reason given by a `// XFAIL: reason` line: the script documents a
    /// known bug and is expected to fail.
    pub xfail: Option<String>,
}

impl ScriptResult {
    /// Whether the outcome is the expected one: passed, or failed as an
    /// XFAIL script must.
    pub fn ok(&self) -> bool {
        self.passed != self.xfail.is_some()
    }

    /// `PASS`, `FAIL`, `XFAIL` (failed as expected) or `XPASS` (an XFAIL
    /// script passed: the bug is fixed, remove the XFAIL line).
    pub fn verdict(&self) -> &'static str {
        match (self.passed, self.xfail.is_some()) {
            (true, false) => "PASS",
            (false, false) => "FAIL",
            (false, true) => "XFAIL",
            (true, true) => "XPASS",
        }
    }

    /// One line: `PASS  name  (0.30 s virtual)`, `FAIL  name  (...)`, ...
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}  {}  ({:.2} s virtual)",
            self.verdict(),
            self.name,
            self.duration as f64 / 1e6
        );
        match (&self.xfail, self.passed) {
            (Some(why), false) => s.push_str(&format!("  known bug: {why}")),
            (Some(_), true) => s.push_str("  the known bug is fixed: remove the XFAIL line"),
            _ => {}
        }
        s
    }
}

impl fmt::Display for ScriptResult {
    /// The summary line, then the failure as `name:line: (at 0.1 s) message`
    /// with the expected and actual packet or call.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())?;
        if let Some(fail) = &self.failure {
            write!(
                f,
                "\n  {}:{}: (at {}) ",
                self.name,
                fail.line,
                secs(fail.time)
            )?;
            fail.fmt_body(f)?;
        }
        Ok(())
    }
}

/// The line of the option line `--name` in `src` (0 if not found).
fn option_line(src: &str, name: &str) -> usize {
    let flag = format!("--{name}");
    src.lines()
        .position(|l| {
            l.trim_start()
                .strip_prefix(&flag)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['=', ' ', '\t']))
        })
        .map_or(0, |i| i + 1)
}

fn failed(name: &str, failure: Failure, duration: Micros, log: Vec<String>) -> ScriptResult {
    ScriptResult {
        name: name.to_string(),
        passed: false,
        duration,
        failure: Some(failure),
        log,
        xfail: None,
    }
}

/// The reason of a `// XFAIL: reason` comment line, if the script has one.
fn xfail_reason(src: &str) -> Option<String> {
    src.lines()
        .find_map(|l| l.trim_start().strip_prefix("// XFAIL:"))
        .map(|r| r.trim().to_string())
}

/// Runs script text `src` called `name`. A script with a `// XFAIL: reason`
/// comment line is expected to fail (see [`ScriptResult::ok`]).
pub fn run_source(name: &str, src: &str, opts: &RunOptions) -> ScriptResult {
    let selected = match crate::compat::conditionals(src, &opts.defines) {
        Ok(s) => s,
        Err((line, message)) => {
            let r = failed(name, setup_failure(line, message), 0, Vec::new());
            return ScriptResult {
                xfail: xfail_reason(src),
                ..r
            };
        }
    };
    let substituted = crate::compat::substitute(&selected, &opts.defines);
    let src = substituted.as_str();
    if opts.compat.is_some() {
        let (prepared, mut notes, shells) = crate::compat::prepare(src);
        // The sysctls the script's shell commands set (a script they run is
        // read next to the script file): those of a timed command become a
        // call at its time, the others configure the stack.
        let dir = Path::new(name).parent().filter(|d| d.is_dir());
        let mut lines: Vec<String> = prepared.lines().map(str::to_string).collect();
        let mut sysctls: Vec<(usize, String, String)> = Vec::new();
        for sh in &shells {
            let set = crate::compat::sysctls(&sh.text, dir);
            match &sh.time {
                Some(time) => {
                    if let Some(l) = lines.get_mut(sh.line - 1) {
                        *l = if set.is_empty() {
                            format!("{time} {}() = 0", crate::compat::SKIP_CALL)
                        } else {
                            crate::compat::sysctl_line(time, &set)
                        };
                    }
                }
                None => sysctls.extend(set.into_iter().map(|(k, v)| (sh.line, k, v))),
            }
        }
        let prepared = lines.join("\n") + "\n";
        let mut r = run_checked(name, &prepared, opts, &sysctls, &mut notes);
        let mut log: Vec<String> = notes.into_iter().map(|n| format!("note: {n}")).collect();
        log.append(&mut r.log);
        r.log = log;
        r.xfail = xfail_reason(src);
        return r;
    }
    ScriptResult {
        xfail: xfail_reason(src),
        ..run_checked(name, src, opts, &[], &mut Vec::new())
    }
}

fn setup_failure(line: usize, message: String) -> Failure {
    Failure {
        line,
        message,
        expected: None,
        actual: None,
        time: 0,
    }
}

/// Parses and runs `src`. `sysctls` (line, name, value): Linux settings from
/// the script's shell commands; those before the first event configure the
/// stack, the others are noted in `notes` as not applied.
fn run_checked(
    name: &str,
    src: &str,
    opts: &RunOptions,
    sysctls: &[(usize, String, String)],
    notes: &mut Vec<String>,
) -> ScriptResult {
    let script = match crate::parse(src) {
        Ok(s) => s,
        Err(e) => {
            return failed(
                name,
                setup_failure(
                    e.line,
                    format!("syntax error at column {}: {}", e.column, e.message),
                ),
                0,
                Vec::new(),
            )
        }
    };
    let mut settings = Settings {
        compat: opts.compat,
        ..Settings::default()
    };
    if opts.compat == Some(crate::compat::Compat::Linux) {
        // packetdrill's own defaults: its remote host is 192.0.2.1, reached
        // over the tun device whatever the address (every address on-link).
        settings.remote_ip = std::net::Ipv4Addr::new(192, 0, 2, 1);
        settings.prefix_len = 0;
    }
    for (k, v) in &script.options {
        if let Err(m) = settings.apply(k, v) {
            return failed(name, setup_failure(option_line(src, k), m), 0, Vec::new());
        }
    }
    let first_event = script.events.first().map_or(usize::MAX, |e| e.line);
    for (line, k, v) in sysctls {
        if *line > first_event {
            notes.push(format!(
                "line {line}: sysctl {k}={v} not applied (only settings made before the first event are)"
            ));
        } else if !settings.sysctl(k, v) {
            notes.push(format!(
                "line {line}: sysctl {k}={v} has no counterpart here: ignored"
            ));
        }
    }
    for (k, v) in &opts.overrides {
        if let Err(m) = settings.apply(k, v) {
            return failed(
                name,
                setup_failure(0, format!("command line: {m}")),
                0,
                Vec::new(),
            );
        }
    }
    let mut interp = match Interp::new(settings, &script, opts.verbose) {
        Ok(i) => i,
        Err(m) => return failed(name, setup_failure(0, m), 0, Vec::new()),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| interp.run(&script)));
    let outcome = match outcome {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(setup_failure(
                0,
                format!("panic while running the script: {what}"),
            ))
        }
    };
    let duration = interp.now();
    let log = interp.take_log();
    match outcome {
        Ok(()) => ScriptResult {
            name: name.to_string(),
            passed: true,
            duration,
            failure: None,
            log,
            xfail: None,
        },
        Err(f) => failed(name, f, duration, log),
    }
}

/// Runs the script file at `path` with default options.
pub fn run_script(path: impl AsRef<Path>) -> ScriptResult {
    run_script_with(path, &RunOptions::default())
}

/// Runs the script file at `path`.
pub fn run_script_with(path: impl AsRef<Path>, opts: &RunOptions) -> ScriptResult {
    let path = path.as_ref();
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(src) => run_source(&name, &src, opts),
        Err(e) => failed(
            &name,
            setup_failure(0, format!("cannot read: {e}")),
            0,
            Vec::new(),
        ),
    }
}

/// The scripts named by `paths`: files as given, directories searched
/// recursively for `*.pkt` files (sorted by path).
pub fn collect_scripts<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PathBuf>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
            let p = entry.path();
            if p.is_dir() {
                walk(&p, &mut found)?;
            } else if p.extension().is_some_and(|x| x == "pkt") {
                found.push(p);
            }
        }
        found.sort();
        out.extend(found);
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.to_path_buf());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    Ok(out)
}
