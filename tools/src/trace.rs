//! The connection trace as a file: one JSON object per line, each a change of one
//! connection (state, congestion window, slow-start threshold, RTT, RTO,
//! congestion state), written by `--trace FILE` and drawn by `netstack plot --trace`.
//!
//! ```text
//! {"t":0.001234,"local":"10.0.0.2:7","remote":"10.0.0.1:40000","state":"ESTABLISHED","ca_state":"Open","cwnd":14600,"ssthresh":null,"srtt_ms":0.21,"rttvar_ms":0.1,"rto_ms":200.0,"in_flight":0,"retrans":0,"recoveries":0}
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::SocketAddrV4;
use std::path::Path;

use serde::{Deserialize, Serialize};
use stack::runtime::TraceSink;
use stack::tcp::trace::TraceEvent;
use stack::time::Duration;

/// One line of a trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Seconds since the stack started.
    pub t: f64,
    /// Our end of the connection.
    pub local: SocketAddrV4,
    /// The peer's end.
    pub remote: SocketAddrV4,
    /// Connection state, as `ss` names it (`ESTABLISHED`, `FIN-WAIT-1`, ...).
    pub state: String,
    /// Congestion state: `Open`, `Disorder`, `Recovery` or `Loss`.
    pub ca_state: String,
    /// Congestion window, bytes.
    pub cwnd: u64,
    /// Slow-start threshold, bytes; `null` before the first loss.
    pub ssthresh: Option<u64>,
    /// Smoothed RTT, milliseconds; `null` before the first sample.
    pub srtt_ms: Option<f64>,
    /// RTT variation, milliseconds.
    pub rttvar_ms: Option<f64>,
    /// Retransmission timeout, milliseconds.
    pub rto_ms: f64,
    /// Bytes in flight.
    pub in_flight: u64,
    /// Segments retransmitted so far.
    pub retrans: u64,
    /// Recovery episodes (fast recovery and timeouts) so far.
    pub recoveries: u64,
}

fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

impl TraceRecord {
    /// The record of an engine event.
    pub fn from_event(e: &TraceEvent) -> TraceRecord {
        let p = &e.point;
        TraceRecord {
            t: e.at.total_micros() as f64 / 1e6,
            local: e.local,
            remote: e.remote,
            state: p.state.name().to_string(),
            ca_state: format!("{:?}", p.ca_state),
            cwnd: p.cwnd as u64,
            ssthresh: (p.ssthresh != usize::MAX).then_some(p.ssthresh as u64),
            srtt_ms: p.srtt.map(ms),
            rttvar_ms: p.rttvar.map(ms),
            rto_ms: ms(p.rto),
            in_flight: p.in_flight as u64,
            retrans: p.total_retrans,
            recoveries: p.recoveries,
        }
    }
}

/// A sink writing the trace to `path` (created or truncated), flushed after each
/// turn of the driver so the file is whole whenever the program stops.
pub fn file_sink(path: &Path) -> Result<TraceSink, String> {
    let file =
        File::create(path).map_err(|e| format!("cannot write trace {}: {e}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut failed = false;
    Ok(Box::new(move |events: &[TraceEvent]| {
        if failed {
            return;
        }
        let mut write = || -> std::io::Result<()> {
            for e in events {
                serde_json::to_writer(&mut out, &TraceRecord::from_event(e))?;
                out.write_all(b"\n")?;
            }
            out.flush()
        };
        if let Err(e) = write() {
            eprintln!("netstack: writing the trace failed: {e}; the trace stops here");
            failed = true;
        }
    }))
}

/// Reads a trace file; a line that is not a record is an error naming the line.
pub fn read(path: &Path) -> Result<Vec<TraceRecord>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut records = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: TraceRecord = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{}: not a trace record: {e}", path.display(), i + 1))?;
        records.push(r);
    }
    Ok(records)
}
