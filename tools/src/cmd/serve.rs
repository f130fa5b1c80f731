//! `netstack serve echo|discard|chargen|daytime [--udp] --port P`: the classic
//! services (RFC 862, 863, 864, 867) on our stack.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use sockets::net::UdpSocket;

use crate::iface::IfaceOpts;

/// Which service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Service {
    /// RFC 862: send back what arrives.
    Echo,
    /// RFC 863: throw away what arrives.
    Discard,
    /// RFC 864: answer with lines of characters.
    Chargen,
    /// RFC 867: answer with the date and time.
    Daytime,
}

/// Options of `netstack serve`.
#[derive(Args, Debug)]
pub struct ServeOpts {
    #[command(flatten)]
    iface: IfaceOpts,
    /// The service.
    service: Service,
    /// Serve over UDP (default: TCP).
    #[arg(long)]
    udp: bool,
    /// Port to listen on (default: the service's well-known port, which needs --privileged).
    #[arg(long)]
    port: Option<u16>,
    /// listen() backlog for TCP.
    #[arg(long, default_value_t = 5)]
    backlog: i32,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(long = "for", value_name = "SECONDS")]
    duration: Option<f64>,
}

impl Service {
    fn well_known_port(self) -> u16 {
        match self {
            Service::Echo => 7,
            Service::Discard => 9,
            Service::Chargen => 19,
            Service::Daytime => 13,
        }
    }
}

/// RFC 867 suggests "Weekday, Month Day, Year HH:MM:SS-Zone"; this is that, in UTC.
pub fn daytime_string(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!(
        "{}, {} {}, {} {:02}:{:02}:{:02}-UTC\r\n",
        WEEKDAYS[(days.rem_euclid(7)) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// RFC 864's rotating 72-character lines, starting at line `n`.
pub fn chargen_line(n: usize) -> Vec<u8> {
    let mut line: Vec<u8> = (0..72).map(|i| b' ' + ((n + i) % 95) as u8).collect();
    line.extend_from_slice(b"\r\n");
    line
}

fn serve_udp(
    net: &sockets::Stack,
    service: Service,
    port: u16,
    until: Option<std::time::Instant>,
) -> Result<(), String> {
    let sock = UdpSocket::bind(net, ("0.0.0.0", port))
        .map_err(|e| format!("bind UDP port {port}: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    eprintln!("serving {service:?} on UDP port {port}");
    let mut buf = vec![0u8; 65536];
    let mut line = 0usize;
    while until.is_none_or(|u| std::time::Instant::now() < u) {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => return Err(e.to_string()),
        };
        let reply = match service {
            Service::Echo => buf[..n].to_vec(),
            Service::Discard => continue,
            Service::Daytime => daytime_string(SystemTime::now()).into_bytes(),
            Service::Chargen => {
                // RFC 864: a datagram of 0 to 512 characters per request.
                let mut d = Vec::new();
                while d.len() + 74 <= 512 {
                    d.extend(chargen_line(line));
                    line += 1;
                }
                d
            }
        };
        if let Err(e) = sock.send_to(&reply, from) {
            eprintln!("send to {from}: {e}");
        }
    }
    Ok(())
}

/// Runs `netstack serve`.
pub fn run(o: ServeOpts) -> Result<(), String> {
    let net = o.iface.start_stack("serve")?;
    let port = o.port.unwrap_or(o.service.well_known_port());
    let until = o
        .duration
        .map(|s| std::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let (done_tx, done) = crossbeam_channel::bounded(1);
    {
        let net = net.clone();
        let (service, backlog, udp) = (o.service, o.backlog, o.udp);
        std::thread::spawn(move || {
            let result = if udp {
                serve_udp(&net, service, port, until)
            } else {
                crate::cmd::serve_tcp::serve(&net, service, port, backlog, until)
            };
            let _ = done_tx.send(result);
        });
    }
    let finished = |r: Result<Result<(), String>, _>| {
        r.unwrap_or_else(|_| Err("the server thread panicked".to_string()))
    };
    if until.is_none() {
        // Serve until SIGINT/SIGTERM, or until the server fails (a port it may
        // not bind, say): its error is the command's.
        let (signal_tx, signal) = crossbeam_channel::bounded::<()>(1);
        let _ = ctrlc::set_handler(move || {
            let _ = signal_tx.try_send(());
        });
        crossbeam_channel::select! {
            recv(signal) -> _ => return Ok(()),
            recv(done) -> r => return finished(r),
        }
    }
    finished(done.recv())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daytime_formats_known_instants() {
        assert_eq!(
            daytime_string(UNIX_EPOCH),
            "Thursday, January 1, 1970 00:00:00-UTC\r\n"
        );
        let t = UNIX_EPOCH + Duration::from_secs(1_763_677_320); // 2025-11-20 22:22:00 UTC
        assert_eq!(
            daytime_string(t),
            "Thursday, November 20, 2025 22:22:00-UTC\r\n"
        );
    }

    #[test]
    fn chargen_lines_rotate() {
        let a = chargen_line(0);
        assert_eq!(a.len(), 74);
        assert_eq!(a[0], b' ');
        assert_eq!(chargen_line(1)[0], b'!');
        assert_eq!(&a[72..], b"\r\n");
    }
}
