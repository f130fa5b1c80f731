//! A capturing wrapper: every frame received or transmitted is written to a pcap file
//! (`LINKTYPE_ETHERNET`, microsecond timestamps) that tcpdump and Wireshark open.
//!
//! Timestamps are `wall-clock epoch + now`: the `now` passed to `receive`/`transmit`
//! (microseconds since the runtime's epoch, or virtual time in a simulation) added to
//! the wall-clock time of [`Instant::ZERO`], which defaults to the moment the device was
//! created and can be set with [`PcapDevice::set_epoch`].
//!
//! Output is buffered and flushed whenever the driver is about to block in
//! [`Device::wait`], at least every [`FLUSH_INTERVAL`] of `now`, and on drop, so the file
//! can be read while the stack runs. Capture is best effort: the first write error
//! stops it (the device keeps working) and is kept for [`PcapDevice::error`].

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use super::{Device, Waker};
use crate::time::{Duration, Instant};

/// Longest frame stored whole (libpcap's maximum snapshot length); longer frames are
/// cut, their original length kept.
pub const SNAPLEN: u32 = 262_144;

/// Buffered output is flushed at least this often (in the `now` of the frames).
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

type Sink = BufWriter<Box<dyn Write + Send>>;

/// The pcap writer's output: shared so the device can flush it (the `pcap-file`
/// writer does not expose its inner writer).
struct SharedSink(Arc<Mutex<Sink>>);

impl Write for SharedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.lock().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().flush()
    }
}

/// Wraps a [`Device`] and records its traffic in pcap format.
pub struct PcapDevice<D: Device> {
    inner: D,
    writer: Option<PcapWriter<SharedSink>>,
    sink: Arc<Mutex<Sink>>,
    /// Wall-clock time of `Instant::ZERO`, as time since the Unix epoch.
    epoch: Duration,
    captured: u64,
    error: Option<io::Error>,
    last_flush: Option<Instant>,
    unflushed: bool,
    /// Bytes in the current file.
    bytes: u64,
    /// With a size limit: the file's path and the limit (see
    /// [`PcapDevice::create_rotating`]).
    rotation: Option<(PathBuf, u64)>,
}

/// Bytes of the pcap file header.
const FILE_HEADER_LEN: u64 = 24;

/// Bytes of a record header.
const RECORD_HEADER_LEN: u64 = 16;

impl<D: Device> PcapDevice<D> {
    /// Wraps `inner`, capturing into a new file at `path` (truncated if it exists).
    pub fn create(inner: D, path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create pcap file '{}': {e}", path.display()),
            )
        })?;
        Self::new(inner, file)
    }

    /// Like [`PcapDevice::create`], with the capture bounded: when the file at
    /// `path` reaches `limit` bytes it becomes `path` with `.1` appended (replacing
    /// the previous one) and a new file starts, so at most about twice `limit`
    /// bytes are kept (tcpdump's `-C` with `-W 2`).
    pub fn create_rotating(inner: D, path: impl AsRef<Path>, limit: u64) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut dev = Self::create(inner, &path)?;
        dev.rotation = Some((path, limit.max(FILE_HEADER_LEN + RECORD_HEADER_LEN)));
        Ok(dev)
    }

    /// The previous file of a rotating capture at `path`.
    pub fn rotated_path(path: &Path) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(".1");
        PathBuf::from(p)
    }

    /// Starts a new file: the current one (full) becomes the `.1` file.
    fn rotate(&mut self) -> io::Result<()> {
        let Some((path, _)) = self.rotation.clone() else {
            return Ok(());
        };
        self.unflushed = true;
        self.flush()?;
        self.writer = None;
        std::fs::rename(&path, Self::rotated_path(&path))?;
        let boxed: Box<dyn Write + Send> = Box::new(File::create(&path)?);
        self.sink = Arc::new(Mutex::new(BufWriter::new(boxed)));
        self.writer = Some(
            PcapWriter::with_header(SharedSink(Arc::clone(&self.sink)), header())
                .map_err(pcap_to_io)?,
        );
        self.sink.lock().flush()?;
        self.bytes = FILE_HEADER_LEN;
        Ok(())
    }

    /// Wraps `inner`, capturing into `writer` (buffered here; no need to pass a
    /// `BufWriter`). Fails if the pcap file header cannot be written.
    pub fn new(inner: D, writer: impl Write + Send + 'static) -> io::Result<Self> {
        let boxed: Box<dyn Write + Send> = Box::new(writer);
        let sink = Arc::new(Mutex::new(BufWriter::new(boxed)));
        let writer =
            PcapWriter::with_header(SharedSink(Arc::clone(&sink)), header()).map_err(pcap_to_io)?;
        sink.lock().flush()?;
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Ok(PcapDevice {
            inner,
            writer: Some(writer),
            sink,
            epoch,
            captured: 0,
            error: None,
            last_flush: None,
            unflushed: false,
            bytes: FILE_HEADER_LEN,
            rotation: None,
        })
    }

    /// Sets the wall-clock time that corresponds to [`Instant::ZERO`] (by default,
    /// the moment this device was created). Times before 1970 count as 1970.
    pub fn set_epoch(&mut self, wall_clock_at_zero: SystemTime) {
        self.epoch = wall_clock_at_zero
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
    }

    /// Frames written to the capture so far.
    pub fn captured(&self) -> u64 {
        self.captured
    }

    /// The write error that stopped the capture, if one did.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Writes buffered records out. A failure stops the capture and is returned.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.writer.is_none() || !self.unflushed {
            return Ok(());
        }
        self.unflushed = false;
        let r = self.sink.lock().flush();
        if let Err(e) = r {
            let copy = io::Error::new(e.kind(), e.to_string());
            self.stop(e);
            return Err(copy);
        }
        Ok(())
    }

    fn capture(&mut self, frame: &[u8], now: Instant) {
        if self.writer.is_none() {
            return;
        }
        let kept = frame.len().min(SNAPLEN as usize);
        let record = RECORD_HEADER_LEN + kept as u64;
        // A record that would take the file past its limit starts the next file.
        if self
            .rotation
            .as_ref()
            .is_some_and(|(_, limit)| self.bytes > FILE_HEADER_LEN && self.bytes + record > *limit)
        {
            if let Err(e) = self.rotate() {
                return self.stop(e);
            }
        }
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        let timestamp = self.epoch + Duration::from_micros(now.total_micros());
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let packet = PcapPacket::new(timestamp, orig_len, &frame[..kept]);
        if let Err(e) = writer.write_packet(&packet) {
            self.stop(pcap_to_io(e));
            return;
        }
        self.captured += 1;
        self.unflushed = true;
        self.bytes += record;
        let last = *self.last_flush.get_or_insert(now);
        if now.saturating_duration_since(last) >= FLUSH_INTERVAL {
            self.last_flush = Some(now);
            let _ = self.flush();
        }
    }

    fn stop(&mut self, e: io::Error) {
        self.writer = None;
        self.error.get_or_insert(e);
    }
}

/// The header of every file we write.
fn header() -> PcapHeader {
    PcapHeader {
        snaplen: SNAPLEN,
        datalink: DataLink::ETHERNET,
        ts_resolution: TsResolution::MicroSecond,
        endianness: Endianness::native(),
        ..PcapHeader::default()
    }
}

fn pcap_to_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

impl<D: Device> Drop for PcapDevice<D> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl<D: Device> Device for PcapDevice<D> {
    fn receive(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        let got = self.inner.receive(buf, now)?;
        if let Some(n) = got {
            self.capture(&buf[..n], now);
        }
        Ok(got)
    }

    fn transmit(&mut self, frame: &[u8], now: Instant) -> io::Result<()> {
        // Captured as handed to the device, like tcpdump sees outgoing packets before
        // the driver queue (a frame the inner device then drops is still recorded).
        self.capture(frame, now);
        self.inner.transmit(frame, now)
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        // The driver is idle: a good moment to make the capture readable.
        let _ = self.flush();
        self.inner.wait(timeout)
    }

    fn waker(&self) -> Waker {
        self.inner.waker()
    }

    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_at(&self) -> Option<Instant> {
        self.inner.poll_at()
    }

    fn offloads(&self) -> super::Offloads {
        self.inner.offloads()
    }

    fn transmit_meta(&mut self, frame: &[u8], meta: super::TxMeta, now: Instant) -> io::Result<()> {
        // Captured as handed to the device: an offloaded segment shows as one large
        // frame with a partial checksum, as tcpdump shows it on a Linux host with TSO.
        self.capture(frame, now);
        self.inner.transmit_meta(frame, meta, now)
    }

    fn receive_meta(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, super::RxMeta)>> {
        let got = self.inner.receive_meta(buf, now)?;
        if let Some((n, _)) = got {
            self.capture(&buf[..n], now);
        }
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::memory::MemoryLink;
    use pcap_file::pcap::PcapReader;

    fn frame(i: u8, len: usize) -> Vec<u8> {
        // An ARP request "who has 10.0.0.i", padded to `len` (tcpdump prints one line).
        let mac = [0x02, 0, 0, 0, 0, i];
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[10, 0, 0, 200, 0, 0, 0, 0, 0, 0, 10, 0, 0, i]);
        f.resize(len, 0);
        f
    }

    fn temp_path(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("netstack-pcap-{}-{tag}.pcap", std::process::id()))
    }

    /// Reads every record of a pcap file.
    fn records(path: &Path) -> Vec<Vec<u8>> {
        let mut r = PcapReader::new(File::open(path).unwrap()).unwrap();
        let mut v = Vec::new();
        while let Some(p) = r.next_packet() {
            v.push(p.unwrap().data.to_vec());
        }
        v
    }

    #[test]
    fn a_rotating_capture_keeps_two_files_within_the_limit() {
        let path = temp_path("rotate");
        let old = PcapDevice::<MemoryLink>::rotated_path(&path);
        let (a, _b) = MemoryLink::pair(1500);
        let limit = 10_000u64;
        let mut dev = PcapDevice::create_rotating(a, &path, limit).unwrap();
        for i in 0..100u8 {
            dev.transmit(&frame(i, 1000), Instant::from_millis(u64::from(i)))
                .unwrap();
        }
        dev.flush().unwrap();
        assert!(dev.error().is_none());
        assert_eq!(dev.captured(), 100);
        for p in [&path, &old] {
            let len = std::fs::metadata(p).unwrap().len();
            assert!(len <= limit, "{} is {len} bytes", p.display());
        }
        // The newest frames are in the current file, the ones before in `.1`;
        // both are complete pcap files.
        let (now, before) = (records(&path), records(&old));
        assert_eq!(now.last().unwrap()[41], 99);
        assert_eq!(before.last().unwrap()[41] + 1, now.first().unwrap()[41]);
        drop(dev);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&old);
    }

    #[test]
    fn frames_both_ways_are_captured_in_order_and_tcpdump_reads_them() {
        let path = temp_path("both");
        let (a, mut b) = MemoryLink::pair(1500);
        let mut dev = PcapDevice::create(a, &path).unwrap();
        dev.set_epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        // Transmit 3 frames, receive 2 from the peer.
        for i in 0..3u8 {
            let t = Instant::from_millis(u64::from(i) * 10);
            dev.transmit(&frame(i, 60 + usize::from(i)), t).unwrap();
        }
        b.transmit(&frame(10, 100), Instant::ZERO).unwrap();
        b.transmit(&frame(11, 1514), Instant::ZERO).unwrap();
        let mut buf = [0u8; 2048];
        assert_eq!(
            dev.receive(&mut buf, Instant::from_millis(40)).unwrap(),
            Some(100)
        );
        assert_eq!(
            dev.receive(&mut buf, Instant::from_millis(50)).unwrap(),
            Some(1514)
        );
        assert_eq!(
            dev.receive(&mut buf, Instant::from_millis(60)).unwrap(),
            None
        );
        // The peer got what we sent.
        assert_eq!(b.receive(&mut buf, Instant::ZERO).unwrap(), Some(60));
        assert_eq!(dev.captured(), 5);

        // Readable while the device is still alive (flushed when idle).
        dev.wait(Some(Duration::ZERO)).unwrap();
        let expected = [
            (frame(0, 60), 0),
            (frame(1, 61), 10),
            (frame(2, 62), 20),
            (frame(10, 100), 40),
            (frame(11, 1514), 50),
        ];
        let check = |path: &Path| {
            let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
            let header = reader.header();
            assert_eq!(header.datalink, DataLink::ETHERNET);
            assert_eq!(header.ts_resolution, TsResolution::MicroSecond);
            let mut n = 0;
            while let Some(p) = reader.next_packet() {
                let p = p.unwrap();
                let (data, ms) = &expected[n];
                assert_eq!(&p.data[..], &data[..]);
                assert_eq!(p.orig_len as usize, data.len());
                assert_eq!(
                    p.timestamp,
                    Duration::from_secs(1_700_000_000) + Duration::from_millis(*ms)
                );
                n += 1;
            }
            assert_eq!(n, expected.len());
        };
        check(&path);
        drop(dev);
        check(&path);

        if let Ok(out) = std::process::Command::new("tcpdump")
            .arg("-r")
            .arg(&path)
            .arg("-nn")
            .output()
        {
            assert!(
                out.status.success(),
                "tcpdump failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let lines = String::from_utf8_lossy(&out.stdout).lines().count();
            assert_eq!(lines, expected.len());
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn records_are_flushed_periodically_without_wait() {
        let path = temp_path("periodic");
        let (a, _b) = MemoryLink::pair(1500);
        let mut dev = PcapDevice::create(a, &path).unwrap();
        let count = |path: &Path| {
            let mut r = PcapReader::new(File::open(path).unwrap()).unwrap();
            let mut n = 0;
            while let Some(p) = r.next_packet() {
                p.unwrap();
                n += 1;
            }
            n
        };
        dev.transmit(&frame(1, 60), Instant::from_millis(0))
            .unwrap();
        dev.transmit(&frame(2, 60), Instant::from_millis(150))
            .unwrap();
        assert_eq!(count(&path), 2);
        drop(dev);
        let _ = std::fs::remove_file(&path);
    }

    /// A writer that accepts `budget` bytes and then fails.
    struct Failing {
        budget: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.budget == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = buf.len().min(self.budget);
            self.budget -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_stops_capture_but_not_the_device() {
        let (a, mut b) = MemoryLink::pair(1500);
        let mut dev = PcapDevice::new(
            a,
            Failing {
                budget: 24 + 16 + 60,
            },
        )
        .unwrap();
        dev.transmit(&frame(1, 60), Instant::ZERO).unwrap();
        dev.flush().unwrap();
        assert!(dev.error().is_none());
        dev.transmit(&frame(2, 60), Instant::ZERO).unwrap();
        assert!(dev.flush().is_err());
        assert_eq!(dev.error().unwrap().to_string(), "disk full");
        // Still forwarding.
        dev.transmit(&frame(3, 60), Instant::ZERO).unwrap();
        let mut buf = [0u8; 128];
        let mut got = 0;
        while b.receive(&mut buf, Instant::ZERO).unwrap().is_some() {
            got += 1;
        }
        assert_eq!(got, 3);
        assert_eq!(dev.captured(), 2);
        dev.wait(Some(Duration::ZERO)).unwrap();
    }

    #[test]
    fn oversized_frames_are_cut_to_the_snaplen() {
        let (a, _b) = MemoryLink::pair(300_000);
        let sink = Arc::new(Mutex::new(Vec::new()));
        struct Shared(Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut dev = PcapDevice::new(a, Shared(Arc::clone(&sink))).unwrap();
        dev.transmit(&frame(1, 300_000), Instant::ZERO).unwrap();
        drop(dev);
        let bytes = sink.lock().clone();
        // Global header (24 bytes), then the record header: ts_sec, ts_usec, incl_len,
        // orig_len in native byte order.
        let field = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!(field(16), SNAPLEN);
        assert_eq!(field(24 + 8), SNAPLEN);
        assert_eq!(field(24 + 12), 300_000);
        assert_eq!(bytes.len(), 24 + 16 + SNAPLEN as usize);
    }
}
