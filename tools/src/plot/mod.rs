//! Pictures of a run, drawn with `plotters`: time-sequence graphs of the TCP
//! connections in a capture ([`tsg`]), and congestion window and RTT over time
//! from a connection trace ([`crate::trace`]). Each picture is written as SVG and
//! PNG.
//!
//! Colours are fixed so that a reader (and a test) can tell the marks apart: data
//! [`DATA`], retransmissions [`RETRANSMISSION`], the ACK line [`ACK`], the window
//! line [`WINDOW`], SACK blocks [`SACK`], urgent data [`URGENT`], SYN and FIN
//! [`SYN_FIN`].

pub mod capture;
mod charts;
pub mod tsg;

use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::style::RGBColor;

pub use charts::{draw_time_sequence, draw_trace};

/// Data segments sent for the first time.
pub const DATA: RGBColor = RGBColor(0x00, 0x00, 0xc8);
/// Retransmitted data.
pub const RETRANSMISSION: RGBColor = RGBColor(0xdc, 0x00, 0x00);
/// The receiver's cumulative ACK.
pub const ACK: RGBColor = RGBColor(0x00, 0x8c, 0x00);
/// The right edge of the receiver's window.
pub const WINDOW: RGBColor = RGBColor(0xc8, 0xa0, 0x00);
/// SACK blocks.
pub const SACK: RGBColor = RGBColor(0x96, 0x00, 0xc8);
/// Urgent data.
pub const URGENT: RGBColor = RGBColor(0xff, 0x78, 0x00);
/// SYN and FIN.
pub const SYN_FIN: RGBColor = RGBColor(0x00, 0x00, 0x00);

/// Which pictures to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// SVG only.
    Svg,
    /// PNG only.
    Png,
    /// Both.
    Both,
}

impl Format {
    /// The file extensions this format writes.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Svg => &["svg"],
            Format::Png => &["png"],
            Format::Both => &["svg", "png"],
        }
    }
}

/// Where the usual TrueType fonts live on Linux distributions.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
];

static FONT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Loads the font the pictures' text is drawn in: `explicit`, else
/// `NETSTACK_FONT`, else the first usual system font found. Once per process.
pub fn load_font(explicit: Option<&Path>) -> Result<(), String> {
    FONT.get_or_init(|| {
        let path = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("NETSTACK_FONT").map(PathBuf::from))
            .or_else(|| {
                FONT_CANDIDATES
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                "no TrueType font found for the pictures' text: install one (Debian: \
                 apt-get install fonts-dejavu-core) or name one with --font FILE"
                    .to_string()
            })?;
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("cannot read font {}: {e}", path.display()))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
            .map_err(|_| format!("{} is not a TrueType font", path.display()))?;
        Ok(path)
    })
    .clone()
    .map(|_| ())
}

/// A file-name-safe name of a socket address (`10.0.0.1_7`).
pub fn addr_name(a: SocketAddrV4) -> String {
    format!("{}_{}", a.ip(), a.port())
}
