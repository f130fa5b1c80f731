//! `netstack plot`: a known capture (a lossy transfer between two simulated
//! stacks, written as pcap) drawn as a time-sequence graph, and its connection
//! trace drawn as congestion window and RTT, checked element by element in the
//! SVG and as a PNG.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::process::Command;
use std::time::Duration as StdDuration;

use netstack_tools::plot::{self, capture, tsg, Format};
use netstack_tools::trace::{self, TraceRecord};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;
use stack::device::impaired::ImpairmentConfig;
use stack::sim::{Side, SimPair};
use stack::tcp::trace::TraceEvent;
use stack::tcp::{RecvFlags, SendFlags, State, TcpInfo};
use stack::wire::ethernet::EthernetFrame;
use stack::wire::ipv4::Ipv4Packet;
use stack::wire::tcp::TcpPacket;
use stack::{Duration, StackConfig};

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const BYTES: usize = 200_000;

struct Run {
    frames: Vec<(u64, Side, Vec<u8>)>,
    info: TcpInfo,
    events: Vec<TraceEvent>,
}

/// A sends `BYTES` to B over a wire losing 3 % of frames each way, every frame
/// recorded as sent, A's connection traced.
fn lossy_transfer() -> Run {
    let mut p = SimPair::new(
        StackConfig::new(A, 24),
        StackConfig::new(B, 24),
        Duration::from_millis(5),
    );
    p.impair(
        ImpairmentConfig {
            loss: 0.03,
            ..ImpairmentConfig::default()
        },
        7,
    );
    p.record();
    p.a.set_tcp_trace(Some(1 << 20));
    let l = p.b.tcp_open().unwrap();
    p.b.tcp_bind(l, SocketAddrV4::new(B, 5001)).unwrap();
    p.b.tcp_listen(l, 1).unwrap();
    let c = p.a.tcp_open().unwrap();
    let _ = p.a.tcp_connect(p.now(), c, SocketAddrV4::new(B, 5001));
    let data = vec![b'x'; BYTES];
    let (mut sent, mut got) = (0, 0);
    let mut s = None;
    let mut buf = vec![0u8; 65536];
    let done = p.run_until(Duration::from_secs(120), |p| {
        let now = p.now();
        s = s.or_else(|| p.b.tcp_accept(now, l).ok().map(|(h, _)| h));
        if p.a.tcp_state(c) == Ok(State::Established) && sent < BYTES {
            sent +=
                p.a.tcp_send(now, c, &data[sent..], SendFlags::default())
                    .unwrap_or(0);
            if sent == BYTES {
                p.a.close(now, c).unwrap();
            }
        }
        if let Some(s) = s {
            while let Ok(n) = p.b.tcp_recv(now, s, &mut buf, RecvFlags::default()) {
                if n == 0 {
                    break;
                }
                got += n;
            }
        }
        got == BYTES
    });
    assert!(done, "the transfer finished ({got} of {BYTES} bytes)");
    // Until A's FIN is acknowledged: nothing of A's is in flight any more.
    let finished = p.run_until(Duration::from_secs(60), |p| {
        p.a.tcp_state(c) == Ok(State::FinWait2)
    });
    assert!(finished, "A's FIN is acknowledged");
    let info = p.a.tcp_info(c).unwrap().expect("A's connection lives");
    let mut events = Vec::new();
    while let Some(e) = p.a.poll_tcp_trace() {
        events.push(e);
    }
    let frames = p
        .trace
        .take()
        .unwrap()
        .into_iter()
        .map(|(t, side, f)| (t.total_micros(), side, f))
        .collect();
    Run {
        frames,
        info,
        events,
    }
}

fn write_pcap(path: &Path, frames: &[(u64, Side, Vec<u8>)]) {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(std::fs::File::create(path).unwrap(), header).unwrap();
    for (t, _, f) in frames {
        w.write_packet(&PcapPacket::new(
            StdDuration::from_micros(1_700_000_000_000_000 + t),
            f.len() as u32,
            f,
        ))
        .unwrap();
    }
}

/// The same frames as pcapng (Wireshark's format), on an interface whose link
/// type is Ethernet.
fn write_pcapng(path: &Path, frames: &[(u64, Side, Vec<u8>)]) {
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::{
        InterfaceDescriptionBlock, InterfaceDescriptionOption,
    };
    use pcap_file::pcapng::PcapNgWriter;
    let mut w = PcapNgWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    // pcap-file writes nanoseconds: the interface says so (if_tsresol 9).
    let mut idb = InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535);
    idb.options.push(InterfaceDescriptionOption::IfTsResol(9));
    w.write_pcapng_block(idb).unwrap();
    for (t, _, f) in frames {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: StdDuration::from_micros(1_700_000_000_000_000 + t),
            original_len: f.len() as u32,
            data: std::borrow::Cow::Borrowed(f),
            options: Vec::new(),
        })
        .unwrap();
    }
}

/// Payload length of a TCP frame from A to B, if it is one.
fn payload_a_to_b(side: Side, frame: &[u8]) -> Option<usize> {
    segment_a_to_b(side, frame).map(|(len, _)| len)
}

/// Payload length and FIN flag of a TCP frame from A to B, if it is one.
fn segment_a_to_b(side: Side, frame: &[u8]) -> Option<(usize, bool)> {
    if side != Side::A {
        return None;
    }
    let eth = EthernetFrame::new_checked(frame)?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    Some((tcp.payload().len(), tcp.flags().fin))
}

/// `<polyline>` elements drawn in `color`.
fn polylines(svg: &str, color: plotters::style::RGBColor) -> usize {
    let stroke = format!("stroke=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
    svg.split('<')
        .filter(|e| e.starts_with("polyline") && e.contains(&stroke))
        .count()
}

fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[test]
fn a_lossy_transfer_as_a_time_sequence_graph() {
    plot::load_font(None).expect("a TrueType font (fonts-dejavu-core)");
    let run = lossy_transfer();
    let dir = std::env::temp_dir().join(format!("netstack-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("lossy.pcap");
    write_pcap(&pcap, &run.frames);

    // What the sender put on the wire, counted from the frames themselves, and
    // what it retransmitted, by its own count.
    let data_frames = run
        .frames
        .iter()
        .filter_map(|(_, side, f)| payload_a_to_b(*side, f))
        .filter(|&n| n > 0)
        .count();
    let retransmitted = run.info.total_retrans() as usize;
    assert!(retransmitted > 0, "3 % loss makes A retransmit");

    let cap = capture::read(&pcap).unwrap();
    assert_eq!(cap.connections.len(), 1);
    let conn = &cap.connections[0];
    assert_eq!(conn.client, SocketAddrV4::new(A, conn.client.port()));
    assert_eq!(conn.server, SocketAddrV4::new(B, 5001));
    let graphs = tsg::of_connection(conn);
    assert_eq!(graphs.len(), 1, "only A sends data");
    let g = &graphs[0];
    // The same capture as pcapng reads the same.
    let pcapng = dir.join("lossy.pcapng");
    write_pcapng(&pcapng, &run.frames);
    let ng = capture::read(&pcapng).unwrap();
    assert_eq!(ng.connections.len(), 1);
    assert_eq!(ng.connections[0].segments, conn.segments);
    assert_eq!(g.data.len() + g.retransmissions.len(), data_frames);
    // The stack also counts a FIN sent again alone; the graph's
    // retransmissions are of data.
    let bare_fins = run
        .frames
        .iter()
        .filter_map(|(_, side, f)| segment_a_to_b(*side, f))
        .filter(|&(n, fin)| fin && n == 0)
        .count();
    let fin_first_with_data = run
        .frames
        .iter()
        .filter_map(|(_, side, f)| segment_a_to_b(*side, f))
        .find(|&(_, fin)| fin)
        .is_some_and(|(n, _)| n > 0);
    let bare_fin_retransmissions = bare_fins - usize::from(!fin_first_with_data && bare_fins > 0);
    assert_eq!(
        g.retransmissions.len() + bare_fin_retransmissions,
        retransmitted
    );
    assert!(!g.sacks.is_empty(), "B reports its out-of-order data");
    let top = g.data.iter().map(|b| b.hi).max().unwrap();
    assert_eq!(
        top,
        BYTES as i64 + 1,
        "offsets count from the ISN (SYN is 0)"
    );
    assert_eq!(
        g.acks.last().unwrap().y,
        BYTES as i64 + 2,
        "FIN acknowledged"
    );

    let written = plot::draw_time_sequence(g, &dir.join("lossy-tsg"), Format::Both).unwrap();
    assert_eq!(written.len(), 2);
    let svg = std::fs::read_to_string(dir.join("lossy-tsg.svg")).unwrap();
    assert_eq!(
        polylines(&svg, plot::DATA),
        data_frames - g.retransmissions.len(),
        "one mark per data segment sent once"
    );
    assert_eq!(
        polylines(&svg, plot::RETRANSMISSION),
        g.retransmissions.len(),
        "one red mark per retransmission of data"
    );
    assert_eq!(polylines(&svg, plot::SACK), g.sacks.len());
    assert_eq!(polylines(&svg, plot::ACK), 1, "the ACK line");
    assert_eq!(polylines(&svg, plot::WINDOW), 1, "the window line");
    assert!(svg.contains("retransmission"), "the legend names them");
    assert_eq!(png_size(&dir.join("lossy-tsg.png")), (1280, 800));

    // The trace of the same run: written as JSON lines, read back, drawn.
    assert!(!run.events.is_empty());
    let records: Vec<TraceRecord> = run.events.iter().map(TraceRecord::from_event).collect();
    let last = records.last().unwrap();
    assert_eq!(last.retrans, retransmitted as u64);
    assert!(last.recoveries > 0);
    assert!(records.iter().any(|r| r.ca_state == "Recovery"));
    let jsonl = dir.join("lossy.jsonl");
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&jsonl, text).unwrap();
    let back = trace::read(&jsonl).unwrap();
    assert_eq!(back, records);
    let refs: Vec<&TraceRecord> = back.iter().collect();
    plot::draw_trace("trace", &refs, &dir.join("lossy-cwnd"), Format::Both).unwrap();
    let svg = std::fs::read_to_string(dir.join("lossy-cwnd.svg")).unwrap();
    assert!(svg.contains("cwnd") && svg.contains("smoothed RTT"));
    assert!(
        svg.contains("fast recovery"),
        "recovery episodes are shaded"
    );
    assert_eq!(png_size(&dir.join("lossy-cwnd.png")), (1280, 800));

    // The command line draws the same files and says what it drew.
    let out = Command::new(env!("CARGO_BIN_EXE_netstack"))
        .args(["plot", "--format", "svg", "--out"])
        .arg(dir.join("cli"))
        .arg(&pcap)
        .arg("--trace")
        .arg(&jsonl)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!(
            "{} data segments, {} retransmitted",
            data_frames,
            g.retransmissions.len()
        )),
        "{stdout}"
    );
    let svgs = std::fs::read_dir(dir.join("cli")).unwrap().count();
    assert_eq!(svgs, 2, "one time-sequence graph and one trace picture");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn plot_reports_unreadable_input() {
    let out = Command::new(env!("CARGO_BIN_EXE_netstack"))
        .args(["plot", "/nonexistent/capture.pcap"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read /nonexistent/capture.pcap"),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("netstack-plot-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netstack"))
        .arg("plot")
        .arg(&junk)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a readable capture"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
