//! dnsmasq (Debian package dnsmasq-base) as the nameserver on the kernel's side
//! of a test's TAP: no upstream, no `/etc/hosts`, answers only what the test
//! gives it. Stopped by its PID when dropped.

use std::io;
use std::process::{Child, Command, Stdio};

use crate::netns::Netns;

/// A running dnsmasq in a test's namespace.
#[derive(Debug)]
pub struct Dnsmasq(Child);

impl Dnsmasq {
    /// Starts dnsmasq in `ns`, listening on `listen` (port 53), answering each
    /// `(name, address)` of `hosts` and "no such name" for the rest of `domain`.
    pub fn start(
        ns: &Netns,
        listen: &str,
        domain: &str,
        hosts: &[(&str, &str)],
    ) -> io::Result<Dnsmasq> {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            ns.name(),
            "dnsmasq",
            "--keep-in-foreground",
        ])
        .args([
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--pid-file=",
            "--user=root",
        ])
        .arg(format!("--listen-address={listen}"))
        .arg(format!("--local=/{domain}/"));
        for (name, addr) in hosts {
            cmd.arg(format!("--address=/{name}/{addr}"));
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Dnsmasq(child))
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
