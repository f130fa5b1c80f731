//! Drawing the pictures on any `plotters` backend (SVG and PNG files).

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use super::tsg::{Bar, Step, TimeSequence};
use super::{Format, ACK, DATA, RETRANSMISSION, SACK, SYN_FIN, URGENT, WINDOW};
use crate::trace::TraceRecord;

/// Picture size in pixels.
const SIZE: (u32, u32) = (1280, 800);

type Drawn = Result<(), String>;

/// A named line of a chart: legend name, colour, points.
type Line = (&'static str, RGBColor, Vec<(f64, f64)>);

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("drawing failed: {e}")
}

/// Writes `stem`.svg and/or `stem`.png with `draw`, returning the files written.
fn write_both(
    stem: &Path,
    format: Format,
    draw_svg: impl Fn(DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
    draw_png: impl Fn(DrawingArea<BitMapBackend<'_>, Shift>) -> Drawn,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for ext in format.extensions() {
        // Not `with_extension`: the stem holds addresses with dots.
        let mut name = stem.as_os_str().to_owned();
        name.push(format!(".{ext}"));
        let path = PathBuf::from(name);
        if *ext == "svg" {
            let root = SVGBackend::new(&path, SIZE).into_drawing_area();
            draw_svg(root)?;
        } else {
            let root = BitMapBackend::new(&path, SIZE).into_drawing_area();
            draw_png(root)?;
        }
        written.push(path);
    }
    Ok(written)
}

/// Draws the time-sequence graph `g` to `stem`.svg / `stem`.png.
pub fn draw_time_sequence(
    g: &TimeSequence,
    stem: &Path,
    format: Format,
) -> Result<Vec<PathBuf>, String> {
    write_both(stem, format, |r| tsg_on(r, g), |r| tsg_on(r, g))
}

/// Draws congestion window, slow-start threshold, bytes in flight, SRTT and RTO
/// over time for one connection's trace records, with recovery episodes shaded.
pub fn draw_trace(
    title: &str,
    records: &[&TraceRecord],
    stem: &Path,
    format: Format,
) -> Result<Vec<PathBuf>, String> {
    write_both(
        stem,
        format,
        |r| trace_on(r, title, records),
        |r| trace_on(r, title, records),
    )
}

/// `lo..hi` widened a little so that marks at the edges stay visible.
fn padded(lo: f64, hi: f64) -> Range<f64> {
    let span = (hi - lo).abs().max(1e-6);
    (lo - span * 0.02)..(hi + span * 0.02)
}

/// A step line through `steps`: horizontal until the next value, then vertical.
fn stairs(steps: &[Step]) -> Vec<(f64, f64)> {
    let mut pts = Vec::with_capacity(steps.len() * 2);
    for (i, s) in steps.iter().enumerate() {
        if i > 0 {
            pts.push((s.t, steps[i - 1].y as f64));
        }
        pts.push((s.t, s.y as f64));
    }
    pts
}

fn legend_box(color: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 4), (x + 16, y + 4)], color.filled())
}

/// Draws each non-empty line of `lines` with its legend entry.
fn draw_lines<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, lines: Vec<Line>) -> Drawn
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    for (name, color, pts) in lines {
        if pts.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(legend_box(color));
    }
    Ok(())
}

/// The legend box, in one style for every picture.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, at: SeriesLabelPosition) -> Drawn
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(err)
}

fn tsg_on<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, g: &TimeSequence) -> Drawn {
    root.fill(&WHITE).map_err(err)?;
    let bars = g
        .data
        .iter()
        .chain(&g.retransmissions)
        .chain(&g.syn_fin)
        .chain(&g.sacks);
    let steps = g.acks.iter().chain(&g.window).chain(&g.urgent);
    let ts = bars.clone().map(|b| b.t).chain(steps.clone().map(|s| s.t));
    let (t0, t1) = ts.fold((f64::MAX, f64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let ys = bars
        .flat_map(|b| [b.lo, b.hi])
        .chain(steps.map(|s| s.y))
        .map(|y| y as f64);
    let (y0, y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
    let (t0, t1, y0, y1) = if t0 > t1 {
        (0.0, 1.0, 0.0, 1.0)
    } else {
        (t0, t1, y0, y1)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: time-sequence graph", g.title()),
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(100)
        .build_cartesian_2d(padded(t0, t1), padded(y0, y1))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("sequence offset from the ISN (bytes)")
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(err)?;
    let steps_series = [
        (&g.window, WINDOW, "receive window (ACK + window)"),
        (&g.acks, ACK, "cumulative ACK"),
    ];
    for (steps, color, name) in steps_series {
        if steps.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(stairs(steps), color.stroke_width(1)))
            .map_err(err)?
            .label(name)
            .legend(legend_box(color));
    }
    let bar_series: [(&Vec<Bar>, RGBColor, &str); 4] = [
        (&g.sacks, SACK, "SACK block"),
        (&g.data, DATA, "data segment"),
        (&g.retransmissions, RETRANSMISSION, "retransmission"),
        (&g.syn_fin, SYN_FIN, "SYN / FIN"),
    ];
    for (bars, color, name) in bar_series {
        if bars.is_empty() {
            continue;
        }
        chart
            .draw_series(bars.iter().map(|b| {
                PathElement::new(
                    vec![(b.t, b.lo as f64), (b.t, b.hi as f64)],
                    color.stroke_width(2),
                )
            }))
            .map_err(err)?
            .label(name)
            .legend(legend_box(color));
    }
    if !g.urgent.is_empty() {
        chart
            .draw_series(
                g.urgent
                    .iter()
                    .map(|u| Circle::new((u.t, u.y as f64), 5, URGENT.filled())),
            )
            .map_err(err)?
            .label("urgent byte (URG)")
            .legend(legend_box(URGENT));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(err)
}

/// Spans of time (start, end, state) a trace spends outside `Open`.
fn episodes(records: &[&TraceRecord]) -> Vec<(f64, f64, &'static str)> {
    let mut out = Vec::new();
    let mut open: Option<(f64, &'static str)> = None;
    let end = records.last().map_or(0.0, |r| r.t);
    for r in records {
        let state = match r.ca_state.as_str() {
            "Recovery" => Some("Recovery"),
            "Loss" => Some("Loss"),
            _ => None,
        };
        match (open, state) {
            (Some((t, s)), Some(n)) if s != n => {
                out.push((t, r.t, s));
                open = Some((r.t, n));
            }
            (Some((t, s)), None) => {
                out.push((t, r.t, s));
                open = None;
            }
            (None, Some(n)) => open = Some((r.t, n)),
            _ => {}
        }
    }
    if let Some((t, s)) = open {
        out.push((t, end, s));
    }
    out
}

fn trace_on<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    records: &[&TraceRecord],
) -> Drawn {
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 24)).map_err(err)?;
    let (top, bottom) = root.split_vertically(SIZE.1 as f64 * 0.55);
    let t0 = records.first().map_or(0.0, |r| r.t);
    let t1 = records.last().map_or(1.0, |r| r.t).max(t0 + 1e-3);
    let kib = |b: u64| b as f64 / 1024.0;
    let ymax = records
        .iter()
        .flat_map(|r| [kib(r.cwnd), kib(r.in_flight), r.ssthresh.map_or(0.0, kib)])
        .fold(1.0, f64::max);
    let mut cw = ChartBuilder::on(&top)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(padded(t0, t1), 0.0..ymax * 1.05)
        .map_err(err)?;
    cw.configure_mesh()
        .x_desc("time (s)")
        .y_desc("KiB")
        .draw()
        .map_err(err)?;
    let shades = [
        ("Recovery", RGBColor(0xff, 0xd8, 0xa0)),
        ("Loss", RGBColor(0xff, 0xb0, 0xb0)),
    ];
    for (name, color) in shades {
        let spans: Vec<_> = episodes(records)
            .into_iter()
            .filter(|e| e.2 == name)
            .collect();
        if spans.is_empty() {
            continue;
        }
        cw.draw_series(spans.iter().map(|&(a, b, _)| {
            Rectangle::new([(a, 0.0), (b, ymax * 1.05)], color.mix(0.6).filled())
        }))
        .map_err(err)?
        .label(if name == "Loss" {
            "after a timeout (Loss)"
        } else {
            "fast recovery (Recovery)"
        })
        .legend(legend_box(color));
    }
    let line = |f: &dyn Fn(&TraceRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        let mut pts = Vec::new();
        let mut last: Option<f64> = None;
        for r in records {
            let v = f(r);
            if let (Some(prev), Some(_)) = (last, v) {
                pts.push((r.t, prev));
            }
            if let Some(v) = v {
                pts.push((r.t, v));
            }
            last = v.or(last);
        }
        pts
    };
    let window_lines = vec![
        ("cwnd", DATA, line(&|r| Some(kib(r.cwnd)))),
        ("ssthresh", RETRANSMISSION, line(&|r| r.ssthresh.map(kib))),
        ("in flight", ACK, line(&|r| Some(kib(r.in_flight)))),
    ];
    draw_lines(&mut cw, window_lines)?;
    legend(&mut cw, SeriesLabelPosition::UpperRight)?;

    // RTT and RTO differ by orders of magnitude on a LAN: a log scale shows both.
    let positive = |v: f64| v.max(0.001);
    let (rmin, rmax) = records
        .iter()
        .flat_map(|r| [r.srtt_ms.map(positive), Some(positive(r.rto_ms))])
        .flatten()
        .fold((f64::MAX, 0.001f64), |(a, b), v| (a.min(v), b.max(v)));
    let rmin = if rmin > rmax { 0.001 } else { rmin };
    let mut rt = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(padded(t0, t1), (rmin * 0.8..rmax * 1.25).log_scale())
        .map_err(err)?;
    rt.configure_mesh()
        .x_desc("time (s)")
        .y_desc("ms (log scale)")
        .draw()
        .map_err(err)?;
    let rtt_lines = vec![
        ("smoothed RTT", DATA, line(&|r| r.srtt_ms.map(positive))),
        ("RTO", RETRANSMISSION, line(&|r| Some(positive(r.rto_ms)))),
    ];
    draw_lines(&mut rt, rtt_lines)?;
    legend(&mut rt, SeriesLabelPosition::UpperRight)?;
    root.present().map_err(err)
}
