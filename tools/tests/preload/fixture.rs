//! A namespace with TAPs, the preload library, the seeds' C programs compiled with
//! `cc`, and processes that are stopped (by PID) when the test ends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use netstack_tests::netns::Netns;

pub const BIN: &str = env!("CARGO_BIN_EXE_netstack");

/// How long a test waits for a line from a program before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

static N: AtomicU32 = AtomicU32::new(0);

/// The preload library of this build (beside the binary, or in deps/ for a test
/// build).
pub fn library() -> PathBuf {
    let dir = Path::new(BIN).parent().unwrap();
    for p in [
        dir.join("libnetstack_preload.so"),
        dir.join("deps/libnetstack_preload.so"),
    ] {
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "no libnetstack_preload.so beside {BIN}: run the tests with `cargo test --workspace` \
         (which builds the preload library)"
    );
}

/// A running program whose stdout lines arrive on a channel.
pub struct Proc {
    pub child: Child,
    lines: Receiver<String>,
    err_lines: Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Proc {
    /// The next line of stdout (panics after [`PATIENCE`]).
    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(l) => l,
            Err(_) => {
                let _ = self.child.kill();
                let err = self.stderr.take().map(|t| t.join().unwrap_or_default());
                panic!("no line from the program; stderr: {err:?}");
            }
        }
    }

    /// The next line of stderr (panics after [`PATIENCE`]).
    pub fn err_line(&mut self) -> String {
        match self.err_lines.recv_timeout(PATIENCE) {
            Ok(l) => l,
            Err(_) => {
                let _ = self.child.kill();
                panic!("no line on the program's stderr");
            }
        }
    }

    /// Waits for the program to end (killing it after [`PATIENCE`]) and returns
    /// its remaining stdout lines and its stderr.
    pub fn finish(mut self) -> (Vec<String>, String, Option<i32>) {
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(l) => rest.push(l),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(_) => {
                    let _ = self.child.kill();
                    break;
                }
            }
        }
        let status = self.child.wait().ok().and_then(|s| s.code());
        let err = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        (rest, err, status)
    }

    /// Stops the program (SIGTERM to its PID) and returns what it printed since.
    pub fn stop(mut self) -> (Vec<String>, String) {
        // SIGTERM to the process we started, by its PID.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let (lines, err, _) = {
            let _ = self.child.wait();
            let mut rest = Vec::new();
            while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
                rest.push(l);
            }
            let err = self
                .stderr
                .take()
                .map(|t| t.join().unwrap_or_default())
                .unwrap_or_default();
            (rest, err, ())
        };
        (lines, err)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The world of one test.
pub struct World {
    pub ns: Netns,
    pub dir: PathBuf,
}

impl World {
    /// A namespace with `taps` TAPs (tap0...; on a bridge when more than one) and
    /// the kernel at 10.0.0.1/24.
    pub fn new(taps: usize) -> World {
        let ns = Netns::create("preload").expect("namespace");
        let ip = |args: &[&str]| {
            let out = Command::new("ip")
                .args(["-n", ns.name()])
                .args(args)
                .output()
                .expect("ip");
            assert!(out.status.success(), "ip {args:?}: {out:?}");
        };
        if taps > 1 {
            ip(&["link", "add", "br0", "type", "bridge"]);
            for i in 0..taps {
                let t = format!("tap{i}");
                ip(&["tuntap", "add", "mode", "tap", "name", &t]);
                ip(&["link", "set", &t, "master", "br0", "up"]);
            }
            ip(&["link", "set", "br0", "up"]);
            ip(&["addr", "add", "10.0.0.1/24", "dev", "br0"]);
        } else {
            ip(&["tuntap", "add", "mode", "tap", "name", "tap0"]);
            ns.configure_tap("tap0", "10.0.0.1/24", 1500).expect("tap");
        }
        let dir = std::env::temp_dir().join(format!(
            "netstack-preload-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        World { ns, dir }
    }

    /// Compiles a C file with `cc` into the world's directory; returns the path.
    pub fn cc(&self, source: &Path) -> String {
        let name = source.file_stem().unwrap().to_string_lossy().to_string();
        let out = self.dir.join(&name);
        let r = Command::new("cc")
            .arg("-O1")
            .arg("-o")
            .arg(&out)
            .arg(source)
            .output()
            .expect("cc (install gcc)");
        assert!(r.status.success(), "cc {}: {r:?}", source.display());
        out.to_string_lossy().to_string()
    }

    /// Compiles one of examples/c/.
    pub fn seed(&self, name: &str) -> String {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/c")
            .join(format!("{name}.c"));
        self.cc(&src)
    }

    /// `args` run by the kernel, inside the namespace, stdout line-buffered.
    pub fn kernel(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns.name(), "stdbuf", "-oL"])
            .args(args);
        c
    }

    /// `args` run over `netstack run` on `tap` as `addr`.
    pub fn stack_on(&self, tap: &str, addr: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.ns.name(), "stdbuf", "-oL", BIN, "run"])
            .args(["--tap", tap, "--addr", addr, "--preload"])
            .arg(library())
            .arg("--")
            .args(args);
        c
    }

    /// `args` over `netstack run` on tap0 as 10.0.0.2.
    pub fn stack(&self, args: &[&str]) -> Command {
        self.stack_on("tap0", "10.0.0.2/24", args)
    }

    /// Starts `cmd` with stdout read line by line.
    pub fn spawn(&self, mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let (etx, err_lines) = channel();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            for l in BufReader::new(&mut err).lines().map_while(Result::ok) {
                let _ = etx.send(l.clone());
                s.push_str(&l);
                s.push('\n');
            }
            s
        });
        Proc {
            child,
            lines,
            err_lines,
            stderr: Some(stderr),
        }
    }

    /// Runs `cmd` to its end (with [`PATIENCE`] as the bound).
    pub fn output(&self, cmd: Command) -> (Vec<String>, String, Option<i32>) {
        self.spawn(cmd).finish()
    }

    /// Waits until something in the namespace listens on TCP `port`.
    pub fn wait_listen(&self, addr: &str, port: u16) {
        let want = format!("{addr}:{port}");
        for _ in 0..300 {
            let out = self.ns.exec(&["ss", "-Htln"]).expect("ss");
            if String::from_utf8_lossy(&out.stdout).contains(&want) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("nothing listens on {want}");
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Replaces the port a program printed ("Socket has port 40123") with N.
pub fn without_port(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l.strip_prefix("Socket has port ") {
            Some(_) => "Socket has port N".to_string(),
            None => l.clone(),
        })
        .collect()
}

/// The port in "Socket has port 40123".
pub fn port_of(line: &str) -> String {
    line.strip_prefix("Socket has port ")
        .unwrap_or_else(|| panic!("not a port line: {line:?}"))
        .trim()
        .to_string()
}
