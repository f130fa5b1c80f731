//! `netstack plot`: pictures of a run. From a capture (ours from `--pcap`, or
//! tcpdump's), a time-sequence graph per connection and direction; from a
//! connection trace (`--trace` of `up`, `serve`, `nc`, `example`), congestion
//! window and RTT over time per connection. SVG and PNG.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use netstack_tools::plot::{self, capture, tsg, Format};
use netstack_tools::trace::{self, TraceRecord};

/// Picture formats on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    /// SVG only.
    Svg,
    /// PNG only.
    Png,
    /// SVG and PNG.
    Both,
}

/// `netstack plot [CAPTURE] [--trace FILE] [--out DIR] [--format F] [--font FILE]`.
#[derive(Args, Debug)]
#[command(arg_required_else_help = true)]
pub struct PlotOpts {
    /// A capture (pcap or pcapng: `--pcap` of any subcommand, or tcpdump -w):
    /// one time-sequence graph per connection and direction that carried data.
    pub capture: Option<PathBuf>,
    /// A connection trace (`--trace` of up, serve, nc or example): congestion
    /// window, slow-start threshold, bytes in flight, SRTT and RTO over time,
    /// recovery episodes shaded, one picture per connection.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Directory for the pictures (created if missing).
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
    /// Which files to write.
    #[arg(long, value_enum, default_value_t = FormatArg::Both)]
    pub format: FormatArg,
    /// TrueType font for the text (default: NETSTACK_FONT, else DejaVu Sans or
    /// another usual system font).
    #[arg(long)]
    pub font: Option<PathBuf>,
    /// Only the connection with this number (as listed, from 1).
    #[arg(long)]
    pub connection: Option<usize>,
}

/// Runs `netstack plot`.
pub fn run(o: PlotOpts) -> Result<(), String> {
    if o.capture.is_none() && o.trace.is_none() {
        return Err("nothing to plot: give a capture file, --trace FILE, or both".into());
    }
    let format = match o.format {
        FormatArg::Svg => Format::Svg,
        FormatArg::Png => Format::Png,
        FormatArg::Both => Format::Both,
    };
    plot::load_font(o.font.as_deref())?;
    std::fs::create_dir_all(&o.out)
        .map_err(|e| format!("cannot create {}: {e}", o.out.display()))?;
    if let Some(path) = &o.capture {
        plot_capture(path, &o, format)?;
    }
    if let Some(path) = &o.trace {
        plot_trace(path, &o, format)?;
    }
    Ok(())
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map_or("plot".into(), |s| s.to_string_lossy().into_owned())
}

fn plot_capture(path: &Path, o: &PlotOpts, format: Format) -> Result<(), String> {
    let cap = capture::read(path)?;
    if cap.connections.is_empty() {
        return Err(format!(
            "{}: no TCP segments in {} frames",
            path.display(),
            cap.other_frames
        ));
    }
    pick(o.connection, cap.connections.len())?;
    let stem = stem_of(path);
    for (i, c) in cap.connections.iter().enumerate() {
        if o.connection.is_some_and(|n| n != i + 1) {
            continue;
        }
        println!(
            "connection {}: {} <-> {}, {} segments",
            i + 1,
            c.client,
            c.server,
            c.segments.len()
        );
        for g in tsg::of_connection(c) {
            let (Some(s), Some(r)) = (g.sender, g.receiver) else {
                continue;
            };
            let file = o.out.join(format!(
                "{stem}-{}-tsg-{}-to-{}",
                i + 1,
                plot::addr_name(s),
                plot::addr_name(r)
            ));
            let written = plot::draw_time_sequence(&g, &file, format)?;
            println!(
                "  {s} -> {r}: {} data segments, {} retransmitted, {} SACK blocks, {} urgent: {}",
                g.data.len() + g.retransmissions.len(),
                g.retransmissions.len(),
                g.sacks.len(),
                g.urgent.len(),
                names(&written)
            );
        }
    }
    Ok(())
}

fn plot_trace(path: &Path, o: &PlotOpts, format: Format) -> Result<(), String> {
    let records = trace::read(path)?;
    let mut conns: BTreeMap<(SocketAddrV4, SocketAddrV4), Vec<&TraceRecord>> = BTreeMap::new();
    let mut order: Vec<(SocketAddrV4, SocketAddrV4)> = Vec::new();
    for r in &records {
        let key = (r.local, r.remote);
        if !conns.contains_key(&key) {
            order.push(key);
        }
        conns.entry(key).or_default().push(r);
    }
    if order.is_empty() {
        return Err(format!("{}: the trace has no records", path.display()));
    }
    pick(o.connection, order.len())?;
    let stem = stem_of(path);
    for (i, key) in order.iter().enumerate() {
        if o.connection.is_some_and(|n| n != i + 1) {
            continue;
        }
        let recs = &conns[key];
        let title = format!("{} \u{2192} {}: congestion window and RTT", key.0, key.1);
        let file = o.out.join(format!(
            "{stem}-{}-cwnd-{}-{}",
            i + 1,
            plot::addr_name(key.0),
            plot::addr_name(key.1)
        ));
        let written = plot::draw_trace(&title, recs, &file, format)?;
        let last = recs.last().map_or((0, 0), |r| (r.retrans, r.recoveries));
        println!(
            "connection {}: {} <-> {}, {} changes, {} retransmissions, {} recovery episodes: {}",
            i + 1,
            key.0,
            key.1,
            recs.len(),
            last.0,
            last.1,
            names(&written)
        );
    }
    Ok(())
}

fn pick(connection: Option<usize>, n: usize) -> Result<(), String> {
    match connection {
        Some(c) if c == 0 || c > n => Err(format!(
            "--connection {c}: the input has connections 1 to {n}"
        )),
        _ => Ok(()),
    }
}

fn names(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
