//! The 4.2BSD primer's connectionless server: Figure 4, the rwho server
//! (`rwhod`), and Figure 3, the `ruptime` table it makes possible.
//!
//! Every `interval` the server broadcasts its host's status (a BSD `struct whod`:
//! host name, boot time, load averages) to the rwho port (`getservbyname("who",
//! "udp")`, 513) of its network, sending to `INADDR_ANY` as the primer's 5.5 does;
//! its main loop receives the others' broadcasts, checks they come from the rwho
//! port and carry a sane host name, stamps them with their arrival time and keeps
//! them (in memory here, where the C writes `RWHODIR/whod.HOST`). `ruptime` prints
//! the table: up with uptime, users and load, or down when a host has not been
//! heard from for 11 minutes, as BSD's `ruptime` decides.
//!
//! The wire format is BSD's (`protocols/rwhod.h`), network byte order, so Linux's
//! rwhod and a packet capture read it: version 1, type 1, send and receive times,
//! a 32-byte host name, three load averages times 100, the boot time, and no
//! per-user entries (the stack has no logins).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use sockets::{
    getservbyname, ntohl, ntohs, SockAddrIn, Stack, AF_INET, INADDR_ANY, SOCK_DGRAM, SOL_SOCKET,
    SO_BROADCAST, SO_RCVTIMEO,
};

use super::fail;

/// `WHODVERSION`.
const WHODVERSION: u8 = 1;
/// `WHODTYPE_STATUS`.
const WHODTYPE_STATUS: u8 = 1;
/// Bytes of a `struct whod` without user entries.
pub const WHOD_HEADER: usize = 60;
/// BSD's `ruptime`: a host not heard from for this long is down.
pub const ISDOWN: Duration = Duration::from_secs(11 * 60);

/// One host's status, as a `struct whod` carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct Whod {
    /// `wd_sendtime`: seconds since 1970 when sent.
    pub send_time: u32,
    /// `wd_recvtime`: seconds since 1970 when received (set by the receiver).
    pub recv_time: u32,
    /// `wd_hostname`.
    pub hostname: String,
    /// `wd_loadav`: 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
    /// `wd_boottime`: seconds since 1970 when the host booted.
    pub boot_time: u32,
    /// Users logged in (`wd_we` entries).
    pub users: usize,
}

impl Whod {
    /// The datagram: the header, network byte order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![WHODVERSION, WHODTYPE_STATUS, 0, 0];
        v.extend(self.send_time.to_be_bytes());
        v.extend(self.recv_time.to_be_bytes());
        let mut name = [0u8; 32];
        let n = self.hostname.len().min(31);
        name[..n].copy_from_slice(&self.hostname.as_bytes()[..n]);
        v.extend(name);
        for l in self.load {
            v.extend(((l * 100.0).round().clamp(0.0, i32::MAX as f64) as u32).to_be_bytes());
        }
        v.extend(self.boot_time.to_be_bytes());
        v
    }

    /// Reads a datagram (`None` when too short or not a status message).
    pub fn parse(b: &[u8]) -> Option<Whod> {
        if b.len() < WHOD_HEADER || b[0] != WHODVERSION || b[1] != WHODTYPE_STATUS {
            return None;
        }
        let word = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let name = &b[12..44];
        let end = name.iter().position(|&c| c == 0).unwrap_or(32);
        Some(Whod {
            send_time: word(4),
            recv_time: word(8),
            hostname: String::from_utf8_lossy(&name[..end]).into_owned(),
            load: [
                f64::from(word(44)) / 100.0,
                f64::from(word(48)) / 100.0,
                f64::from(word(52)) / 100.0,
            ],
            boot_time: word(56),
            users: (b.len() - WHOD_HEADER) / 24,
        })
    }
}

/// The primer's `verify`: a host name of letters, digits, '-' and '.'.
fn verify(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
}

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// This machine's status: load averages from `/proc/loadavg`, boot time from
/// `/proc/uptime` (zeros where they cannot be read).
pub fn local_status(hostname: &str) -> Whod {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut l = load
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap_or(0.0));
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    let now = now_secs();
    Whod {
        send_time: now,
        recv_time: 0,
        hostname: hostname.to_string(),
        load: [
            l.next().unwrap_or(0.0),
            l.next().unwrap_or(0.0),
            l.next().unwrap_or(0.0),
        ],
        boot_time: now.saturating_sub(uptime as u32),
        users: 0,
    }
}

/// What rwhod learned: host name → its last status (the C's `RWHODIR` files).
pub type WhoDb = Arc<Mutex<BTreeMap<String, Whod>>>;

/// Figure 4, the rwho server: binds the rwho port on `INADDR_ANY` of the
/// `localnet` network, broadcasts `hostname`'s status every `interval` (the C's
/// `onalrm`) and records every valid status it receives in `db`, until `stop`.
pub fn rwhod(
    net: &Stack,
    hostname: &str,
    interval: Duration,
    db: WhoDb,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let Some(sp) = getservbyname("who", Some("udp")) else {
        eprintln!("rwhod: udp/who: unknown service");
        return Err("udp/who: unknown service".into()); // exit(1)
    };
    let mut sin = SockAddrIn::default();
    sin.sin_family = AF_INET as u16;
    // The primer writes `net = getnetbyname("localnet"); sin.sin_addr =
    // inet_makeaddr(INADDR_ANY, net);`, the wildcard on the local network; bound
    // to the wildcard, the socket hears the broadcasts, which is what it means.
    sin.sin_addr.s_addr = INADDR_ANY;
    sin.sin_port = sp.s_port;
    let s = net
        .socket(AF_INET, SOCK_DGRAM, 0)
        .map_err(fail("rwhod: socket"))?;
    net.bind(s, &sin).map_err(fail("rwhod: bind"))?;
    net.setsockopt(s, SOL_SOCKET, SO_BROADCAST, &1i32)
        .map_err(fail("rwhod: setsockopt SO_BROADCAST"))?;
    // The C wakes in recvfrom by SIGALRM; here a receive timeout plays the alarm.
    let tick = interval.min(Duration::from_millis(200));
    net.setsockopt(
        s,
        SOL_SOCKET,
        SO_RCVTIMEO,
        &sockets::TimeVal::from_duration(tick),
    )
    .map_err(fail("rwhod: setsockopt SO_RCVTIMEO"))?;
    let onalrm = |net: &Stack| {
        let wd = local_status(hostname);
        // Primer 5.5: a broadcast is a datagram to INADDR_ANY.
        let mut dst = SockAddrIn::default();
        dst.sin_family = AF_INET as u16;
        dst.sin_addr.s_addr = INADDR_ANY;
        dst.sin_port = sp.s_port;
        if let Err(e) = net.sendto(s, &wd.to_bytes(), 0, &dst) {
            sockets::perror("rwhod: sendto", e);
        }
    };
    onalrm(net);
    let mut last = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        if last.elapsed() >= interval {
            onalrm(net);
            last = std::time::Instant::now();
        }
        let (cc, from) = match net.recvfrom(s, &mut buf, 0) {
            Ok(r) => r,
            Err(sockets::Errno::EAGAIN | sockets::Errno::EINTR) => continue,
            Err(e) => {
                sockets::perror("rwhod: recv", e);
                continue;
            }
        };
        if from.sin_port != sp.s_port {
            eprintln!("rwhod: {}: bad from port", ntohs(from.sin_port));
            continue;
        }
        let Some(mut wd) = Whod::parse(&buf[..cc]) else {
            continue;
        };
        if !verify(&wd.hostname) {
            eprintln!(
                "rwhod: malformed host name from {:x}",
                ntohl(from.sin_addr.s_addr)
            );
            continue;
        }
        wd.recv_time = now_secs();
        db.lock().insert(wd.hostname.clone(), wd);
    }
    let _ = net.close(s);
    Ok(())
}

/// `days+hh:mm` or `hh:mm`, as ruptime prints a time span.
fn span(secs: u32) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (h, m) = (rest / 3600, rest % 3600 / 60);
    if days > 0 {
        format!("{days}+{h:02}:{m:02}")
    } else {
        format!("{h:2}:{m:02}")
    }
}

/// Figure 3, `ruptime`'s output: one line per host, sorted by name, at `now`
/// (seconds since 1970).
pub fn ruptime(db: &BTreeMap<String, Whod>, now: u32) -> Vec<String> {
    db.values()
        .map(|w| {
            let silent = now.saturating_sub(w.recv_time);
            if u64::from(silent) > ISDOWN.as_secs() {
                format!("{:<12}down  {}", w.hostname, span(silent))
            } else {
                format!(
                    "{:<12}up    {},  {} users, load {:.2}, {:.2}, {:.2}",
                    w.hostname,
                    span(w.send_time.saturating_sub(w.boot_time)),
                    w.users,
                    w.load[0],
                    w.load[1],
                    w.load[2]
                )
            }
        })
        .collect()
}

/// `ruptime` now.
pub fn ruptime_now(db: &WhoDb) -> Vec<String> {
    ruptime(&db.lock(), now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whod_round_trips_in_bsd_layout() {
        let w = Whod {
            send_time: 1_000_000,
            recv_time: 0,
            hostname: "hosta".into(),
            load: [1.15, 1.39, 0.5],
            boot_time: 900_000,
            users: 0,
        };
        let b = w.to_bytes();
        assert_eq!(b.len(), WHOD_HEADER);
        assert_eq!(&b[..4], &[1, 1, 0, 0]);
        assert_eq!(&b[12..17], b"hosta");
        assert_eq!(u32::from_be_bytes([b[44], b[45], b[46], b[47]]), 115);
        assert_eq!(Whod::parse(&b), Some(w));
        assert_eq!(Whod::parse(&b[..40]), None);
    }

    #[test]
    fn ruptime_prints_figure_3_lines() {
        let mut db = BTreeMap::new();
        db.insert(
            "cad".to_string(),
            Whod {
                send_time: 1_000_000,
                recv_time: 1_000_000,
                hostname: "cad".into(),
                load: [4.67, 5.13, 4.59],
                boot_time: 1_000_000 - (2 * 86_400 + 12 * 3600 + 4 * 60),
                users: 8,
            },
        );
        db.insert(
            "ernie".to_string(),
            Whod {
                send_time: 900_000,
                recv_time: 900_000,
                hostname: "ernie".into(),
                load: [0.0; 3],
                boot_time: 0,
                users: 0,
            },
        );
        let lines = ruptime(&db, 1_000_000);
        assert_eq!(
            lines[0],
            "cad         up    2+12:04,  8 users, load 4.67, 5.13, 4.59"
        );
        assert!(
            lines[1].starts_with("ernie       down  1+03:46"),
            "{}",
            lines[1]
        );
        assert!(verify("calder") && !verify("bad host") && !verify(""));
    }
}
