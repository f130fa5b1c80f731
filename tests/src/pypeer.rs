//! A python3 peer running inside a [`Netns`], driven line by line.
//!
//! [`Netns::exec_with_input`] writes all of stdin up front and waits for the exit;
//! interop tests that must interleave with the peer (tell it "go" once our side is
//! ready, wait until it says "sent") use a [`PyPeer`] instead: the script's stdout
//! lines arrive one at a time ([`PyPeer::expect_line`]), lines can be written to its
//! stdin at any time ([`PyPeer::send_line`]), and [`PyPeer::finish`] collects the
//! rest and checks the exit status, with stderr (a python traceback) in the error.
//!
//! ```ignore
//! let mut peer = PyPeer::spawn(&fx.ns, "import sys\nprint('ready')\nsys.stdin.readline()\nprint('bye')\n")?;
//! assert_eq!(peer.expect_line(Duration::from_secs(5))?, "ready");
//! peer.send_line("go")?;
//! assert_eq!(peer.finish(Duration::from_secs(5))?, ["bye"]);
//! ```
//!
//! The process is `ip netns exec <ns> python3 -u -c <script>` (unbuffered, so each
//! `print` arrives at once); dropping a `PyPeer` that has not finished kills it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::netns::Netns;

/// A running python3 script inside a namespace.
pub struct PyPeer {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
    /// Every stdout line received so far, for error messages.
    seen: Vec<String>,
}

impl PyPeer {
    /// Starts `script` with python3 inside `ns`.
    pub fn spawn(ns: &Netns, script: &str) -> io::Result<PyPeer> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns.name(), "python3", "-u", "-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::Builder::new()
            .name("pypeer stdout".into())
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })?;
        let stderr = std::thread::Builder::new()
            .name("pypeer stderr".into())
            .spawn(move || {
                let mut text = String::new();
                let _ = stderr.read_to_string(&mut text);
                text
            })?;
        Ok(PyPeer {
            stdin: child.stdin.take(),
            child: Some(child),
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
        })
    }

    /// The next line the script prints (without the newline), waiting at most
    /// `timeout`. If the script exits or the time runs out first, the error carries
    /// what it printed so far and its stderr.
    pub fn expect_line(&mut self, timeout: Duration) -> io::Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => {
                self.seen.push(line.clone());
                Ok(line)
            }
            Err(RecvTimeoutError::Timeout) => {
                Err(self.failure(&format!("no line from the python peer within {timeout:?}")))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(self.failure("the python peer closed its stdout"))
            }
        }
    }

    /// Writes `line` and a newline to the script's stdin.
    pub fn send_line(&mut self, line: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("the python peer's stdin is closed"))?;
        stdin.write_all(line.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()
    }

    /// Closes stdin, waits at most `timeout` for the script to exit, and returns the
    /// stdout lines not yet taken by [`PyPeer::expect_line`]. A non-zero exit status
    /// or a timeout (the script is then killed) is an error carrying stderr.
    pub fn finish(mut self, timeout: Duration) -> io::Result<Vec<String>> {
        self.stdin = None;
        let deadline = Instant::now() + timeout;
        let mut rest = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    rest.push(line);
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(self.failure(&format!(
                        "the python peer did not finish within {timeout:?}"
                    )))
                }
            }
        }
        // stdout is closed: the process is exiting.
        let mut child = self.child.take().expect("not finished twice");
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(self.failure("the python peer closed stdout but did not exit"));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        if !status.success() {
            return Err(self.failure(&format!("the python peer exited with {status}")));
        }
        Ok(rest)
    }

    /// An error describing `what`, with the lines seen so far and the script's stderr
    /// (after stopping it, so that stderr is complete).
    fn failure(&mut self, what: &str) -> io::Error {
        self.stop();
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        io::Error::other(format!(
            "{what}\n--- python stdout so far:\n{}\n--- python stderr:\n{}",
            self.seen.join("\n"),
            stderr.trim_end()
        ))
    }

    /// Kills the process (the one this value started) if it is still running.
    fn stop(&mut self) {
        self.stdin = None;
        if let Some(mut child) = self.child.take() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Drop for PyPeer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skip_unless_tap;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn lines_go_both_ways_and_finish_returns_the_rest() {
        skip_unless_tap!();
        let ns = Netns::create("nspy").unwrap();
        let script = "import sys\nprint('ready')\nprint('got', sys.stdin.readline().strip())\n\
                      print('bye')\n";
        let mut peer = PyPeer::spawn(&ns, script).unwrap();
        assert_eq!(peer.expect_line(5 * SECOND).unwrap(), "ready");
        peer.send_line("go").unwrap();
        assert_eq!(peer.finish(5 * SECOND).unwrap(), ["got go", "bye"]);
    }

    #[test]
    fn a_failing_script_reports_its_output_and_traceback() {
        skip_unless_tap!();
        let ns = Netns::create("nspy").unwrap();
        let mut peer = PyPeer::spawn(&ns, "print('before')\nraise SystemExit('broken')\n").unwrap();
        assert_eq!(peer.expect_line(5 * SECOND).unwrap(), "before");
        let err = peer.expect_line(5 * SECOND).unwrap_err().to_string();
        assert!(err.contains("closed its stdout"), "{err}");
        assert!(err.contains("before") && err.contains("broken"), "{err}");
        let peer = PyPeer::spawn(&ns, "raise SystemExit('broken')\n").unwrap();
        let err = peer.finish(5 * SECOND).unwrap_err().to_string();
        assert!(
            err.contains("exited with") && err.contains("broken"),
            "{err}"
        );
    }

    #[test]
    fn a_silent_script_times_out_and_is_killed() {
        skip_unless_tap!();
        let ns = Netns::create("nspy").unwrap();
        let mut peer = PyPeer::spawn(&ns, "import time\ntime.sleep(60)\n").unwrap();
        let started = Instant::now();
        let err = peer.expect_line(SECOND / 5).unwrap_err().to_string();
        assert!(err.contains("no line"), "{err}");
        assert!(started.elapsed() < 5 * SECOND, "killed, not waited for");
    }
}
