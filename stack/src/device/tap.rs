//! A Linux TAP device: Ethernet frames to and from the kernel.
//!
//! The TAP is opened with `IFF_TAP | IFF_NO_PI` through the `tun-tap` crate, so every
//! `read` returns exactly one Ethernet II frame and every `write` injects one. The file
//! descriptor is switched to non-blocking mode; [`TapDevice::wait`](Device::wait) polls
//! it together with an eventfd that serves as the [`Waker`].
//!
//! `TUNSETIFF` creates (or attaches to) the TAP in the network namespace of the calling
//! *thread*. Tests and demos therefore open the device on a thread that has entered a
//! private namespace (DESIGN.md, invariant 7); the descriptor stays bound to that
//! namespace whichever thread uses it afterwards.
//!
//! This is the only file of the crate that contains `unsafe` (DESIGN.md, invariant 5):
//! `fcntl`, `eventfd` and `poll` are plain libc calls (and `setns` in the tests). Each
//! block says why it is sound.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;

use tun_tap::{Iface, Mode};

use super::{Offloads, RxMeta, TxMeta};

use super::{Device, Waker};
use crate::time::{Duration, Instant};

/// The longest interface name Linux accepts (`IFNAMSIZ - 1`).
pub const MAX_NAME_LEN: usize = 15;

/// Size of `struct virtio_net_hdr` (no mergeable buffers), the prefix of every frame
/// read or written when the TAP is opened with `IFF_VNET_HDR`.
const VNET_HDR_LEN: usize = 10;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const TUN_F_CSUM: libc::c_ulong = 0x01;
const TUN_F_TSO4: libc::c_ulong = 0x02;
const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;
const VIRTIO_NET_HDR_F_DATA_VALID: u8 = 2;
const VIRTIO_NET_HDR_GSO_TCPV4: u8 = 1;

/// A TAP interface carrying Ethernet II frames, opened non-blocking.
pub struct TapDevice {
    /// The /dev/net/tun descriptor attached to the TAP.
    file: File,
    /// Opened with `IFF_VNET_HDR` and checksum + TSO offloads on.
    offload: bool,
    wake: Arc<EventFd>,
    name: String,
    mtu: usize,
    dropped: u64,
    /// The handle that opened the device (not a [`Device::transmitter`] copy):
    /// it alone turns the offloads off when dropped.
    opener: bool,
}

impl std::fmt::Debug for TapDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapDevice")
            .field("name", &self.name)
            .field("mtu", &self.mtu)
            .field("dropped", &self.dropped)
            .finish()
    }
}

impl TapDevice {
    /// Attaches to the TAP called `name`, creating it if it does not exist (creating
    /// needs root or `CAP_NET_ADMIN`), with the offloads Linux offers a TAP
    /// ([`TapDevice::open_with_offloads`]): the default, since bulk TCP then moves
    /// several times more. When the kernel refuses them, the TAP is opened for
    /// plain frames instead ([`TapDevice::open_plain`]) and a warning says why;
    /// [`TapDevice::uses_offloads`] tells which it is. An empty `name` lets the
    /// kernel pick one (`tap0`, `tap1`, ...); [`TapDevice::name`] tells which.
    ///
    /// `mtu` is what [`Device::mtu`] reports; the interface's own MTU is configured on
    /// the kernel side (`ip link set NAME mtu N`) and should match.
    ///
    /// Errors keep their [`io::ErrorKind`] and carry a one-line explanation (see
    /// [`describe_open_error`]).
    pub fn open(name: &str, mtu: usize) -> io::Result<TapDevice> {
        match Self::open_with_offloads(name, mtu) {
            Ok(t) => Ok(t),
            Err(offload_error) => {
                // Permission, a busy TAP, a bad name: the plain open says so too.
                let t = Self::open_plain(name, mtu)?;
                tracing::warn!(
                    "TAP '{}': offloads refused ({offload_error}); using plain frames",
                    t.name
                );
                Ok(t)
            }
        }
    }

    /// Like [`TapDevice::open`], for plain Ethernet frames: no virtio-net header,
    /// every checksum computed in software, no segment over the MTU (what a
    /// frame-level test or an impaired link wants).
    pub fn open_plain(name: &str, mtu: usize) -> io::Result<TapDevice> {
        check_name(name)?;
        let annotate = |e: io::Error| io::Error::new(e.kind(), describe_open_error(&e, name));
        let iface = Iface::without_packet_info(name, Mode::Tap).map_err(annotate)?;
        let tap_name = iface.name().to_string();
        // SAFETY: `into_raw_fd` hands over sole ownership of the open descriptor,
        // which the File then owns and closes.
        let file = unsafe { File::from_raw_fd(iface.into_raw_fd()) };
        // A TAP that lives on (made by `ip tuntap add`) keeps the offloads an earlier
        // user enabled: the kernel would go on handing over 64 KiB segments with
        // their checksums left out. Plain frames need them off.
        // SAFETY: TUNSETOFFLOAD takes its argument by value; no memory is passed.
        if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETOFFLOAD as _, 0 as libc::c_ulong) } < 0 {
            tracing::warn!(
                "TAP '{tap_name}': could not turn offloads off: {}",
                io::Error::last_os_error()
            );
        }
        Self::finish_open(file, tap_name, mtu, false, name)
    }

    fn finish_open(
        file: File,
        tap_name: String,
        mtu: usize,
        offload: bool,
        name: &str,
    ) -> io::Result<TapDevice> {
        let annotate = |e: io::Error| io::Error::new(e.kind(), describe_open_error(&e, name));
        set_nonblocking(file.as_raw_fd()).map_err(annotate)?;
        let wake = Arc::new(EventFd::new().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("creating the eventfd for TAP '{name}': {e}"),
            )
        })?);
        Ok(TapDevice {
            name: tap_name,
            file,
            offload,
            wake,
            mtu,
            dropped: 0,
            opener: true,
        })
    }

    /// The TAP with the offloads Linux offers it, or an error: every frame is
    /// prefixed by a virtio-net header (`IFF_VNET_HDR`), the kernel may hand us TCP
    /// segments up to 64 KiB with their checksums left out (`TUNSETOFFLOAD` with
    /// `TUN_F_CSUM | TUN_F_TSO4`), and we may hand it the same, which it cuts into
    /// MTU-sized segments (TSO). Far fewer frames cross the device for bulk TCP.
    pub fn open_with_offloads(name: &str, mtu: usize) -> io::Result<TapDevice> {
        check_name(name)?;
        let annotate = |e: io::Error| io::Error::new(e.kind(), describe_open_error(&e, name));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .map_err(annotate)?;
        let fd = file.as_raw_fd();
        let mut ifr = [0u8; 40];
        ifr[..name.len()].copy_from_slice(name.as_bytes());
        let flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
        ifr[16..18].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: `fd` is our open /dev/net/tun descriptor; TUNSETIFF reads and
        // writes a `struct ifreq` (40 bytes on Linux: a 16-byte NUL-padded name and
        // a 24-byte union whose first member is the short flags), which `ifr` is.
        if unsafe { libc::ioctl(fd, TUNSETIFF as _, ifr.as_mut_ptr()) } < 0 {
            return Err(annotate(io::Error::last_os_error()));
        }
        let end = ifr[..16].iter().position(|&b| b == 0).unwrap_or(16);
        let tap_name = String::from_utf8_lossy(&ifr[..end]).into_owned();
        // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned long of
        // TUN_F_* flags); no memory is passed.
        if unsafe { libc::ioctl(fd, TUNSETOFFLOAD as _, TUN_F_CSUM | TUN_F_TSO4) } < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("TAP '{tap_name}': enabling checksum and TSO offloads: {e}"),
            ));
        }
        Self::finish_open(file, tap_name, mtu, true, name)
    }

    /// True when frames carry the virtio-net header with checksum offload and TSO.
    pub fn uses_offloads(&self) -> bool {
        self.offload
    }

    /// The interface's name as the kernel knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Frames dropped by [`Device::transmit`] because the kernel could not take them
    /// (`EAGAIN`, `ENOBUFS`) or the interface was down (`EIO`).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Turns an error from opening a TAP into one line a user can act on.
///
/// Errors without an OS error code (already described, for example) are returned as
/// their `Display` text.
pub fn describe_open_error(e: &io::Error, name: &str) -> String {
    let Some(code) = e.raw_os_error() else {
        return e.to_string();
    };
    match code {
        libc::EPERM | libc::EACCES => {
            format!("permission denied: creating TAP '{name}' needs root or CAP_NET_ADMIN")
        }
        libc::EBUSY => format!("TAP '{name}' is busy (another process has it attached)"),
        libc::ENOENT | libc::ENODEV | libc::ENXIO => format!(
            "cannot open /dev/net/tun for TAP '{name}': the tun driver is missing (try `modprobe tun`)"
        ),
        libc::EINVAL => format!(
            "invalid TAP '{name}': the name is taken by a device that is not a TAP (a TUN?) or is malformed"
        ),
        libc::EEXIST => format!("TAP '{name}': an interface of that name already exists"),
        libc::EMFILE | libc::ENFILE => {
            format!("cannot open TAP '{name}': too many open files")
        }
        _ => format!("cannot open TAP '{name}': {e}"),
    }
}

/// Refuses names the kernel would reject or truncate.
fn check_name(name: &str) -> io::Result<()> {
    if name.len() > MAX_NAME_LEN || name.contains(['/', '\0']) || name.contains(char::is_whitespace)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid TAP name '{name}': at most {MAX_NAME_LEN} bytes, no '/', NUL or spaces"
            ),
        ));
    }
    Ok(())
}

fn set_nonblocking(fd: libc::c_int) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we own (held open by `Iface` for the
    // duration of the call) read and write an integer flag word; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A non-blocking eventfd: the [`Waker`] writes to it, `wait` polls and drains it.
/// Shared by `Arc` so that a waker outliving the device never writes to a closed
/// (and possibly reused) descriptor; the fd is closed when the last user drops it.
struct EventFd {
    file: File,
}

impl EventFd {
    fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes no pointers; it returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by eventfd, is open, and nothing else owns it;
        // the OwnedFd (inside the File) becomes its only owner and closes it on drop.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(EventFd {
            file: File::from(owned),
        })
    }

    fn signal(&self) {
        // An eventfd write adds to a 64-bit counter; it fails only if the counter would
        // overflow, in which case a wake-up is pending anyway.
        let _ = (&self.file).write(&1u64.to_ne_bytes());
    }

    fn drain(&self) {
        let mut buf = [0u8; 8];
        let _ = (&self.file).read(&mut buf);
    }
}

fn timeout_millis(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            // Round up so that `wait` never returns before the deadline it was given.
            let ms = t.as_micros().div_ceil(1000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

fn is_would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::EAGAIN)
}

impl Drop for TapDevice {
    fn drop(&mut self) {
        if self.offload && self.opener {
            // The offload features stay on the (persistent) interface: clear them so
            // the next user that opens it without a virtio-net header does not get
            // frames it cannot read.
            // SAFETY: TUNSETOFFLOAD takes its argument by value; the descriptor is
            // still open (the File closes it after this).
            unsafe {
                libc::ioctl(
                    self.file.as_raw_fd(),
                    TUNSETOFFLOAD as _,
                    0 as libc::c_ulong,
                )
            };
        }
    }
}

impl TapDevice {
    /// `readv` of the virtio-net header and the frame (offload mode).
    fn read_vnet(&mut self, buf: &mut [u8]) -> io::Result<Option<(usize, RxMeta)>> {
        let mut hdr = [0u8; VNET_HDR_LEN];
        let iov = [
            libc::iovec {
                iov_base: hdr.as_mut_ptr().cast(),
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            },
        ];
        loop {
            // SAFETY: both iovecs point at live, writable buffers of the stated
            // lengths, borrowed mutably for the duration of the call.
            let n = unsafe { libc::readv(self.file.as_raw_fd(), iov.as_ptr(), 2) };
            if n >= 0 {
                let n = n as usize;
                if n < VNET_HDR_LEN {
                    return Ok(Some((0, RxMeta::default())));
                }
                let flags = hdr[0];
                let meta = RxMeta {
                    checksum_verified: flags
                        & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)
                        != 0,
                };
                return Ok(Some((n - VNET_HDR_LEN, meta)));
            }
            let e = io::Error::last_os_error();
            if is_would_block(&e) {
                return Ok(None);
            }
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(io::Error::new(
                    e.kind(),
                    format!("reading from TAP '{}': {e}", self.name),
                ));
            }
        }
    }

    /// `writev` of a virtio-net header describing `meta` and the frame.
    fn write_vnet(&mut self, frame: &[u8], meta: TxMeta) -> io::Result<()> {
        let mut hdr = [0u8; VNET_HDR_LEN];
        let ip = 14;
        let ihl = frame.get(ip).map_or(20, |v| ((v & 0x0f) as usize) * 4);
        let tcp = ip + ihl;
        if meta.checksum_partial {
            // The device computes the checksum from csum_start to the end of the
            // frame and stores it at csum_start + csum_offset (TCP: 16).
            hdr[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
            hdr[6..8].copy_from_slice(&(tcp as u16).to_ne_bytes());
            hdr[8..10].copy_from_slice(&16u16.to_ne_bytes());
        }
        if meta.gso_size > 0 {
            let thl = frame.get(tcp + 12).map_or(20, |v| ((v >> 4) as usize) * 4);
            hdr[1] = VIRTIO_NET_HDR_GSO_TCPV4;
            hdr[2..4].copy_from_slice(&((tcp + thl) as u16).to_ne_bytes());
            hdr[4..6].copy_from_slice(&meta.gso_size.to_ne_bytes());
        }
        let iov = [
            libc::iovec {
                iov_base: hdr.as_ptr() as *mut libc::c_void,
                iov_len: hdr.len(),
            },
            libc::iovec {
                iov_base: frame.as_ptr() as *mut libc::c_void,
                iov_len: frame.len(),
            },
        ];
        loop {
            // SAFETY: both iovecs point at live buffers of the stated lengths; writev
            // only reads them (the casts to *mut are what the C signature wants).
            let n = unsafe { libc::writev(self.file.as_raw_fd(), iov.as_ptr(), 2) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN | libc::ENOBUFS | libc::EIO) => {
                    self.dropped += 1;
                    return Ok(());
                }
                _ => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("writing to TAP '{}': {e}", self.name),
                    ))
                }
            }
        }
    }
}

impl Device for TapDevice {
    fn offloads(&self) -> Offloads {
        Offloads {
            tx_checksum: self.offload,
            tso: self.offload,
        }
    }

    fn receive_meta(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, RxMeta)>> {
        if self.offload {
            return self.read_vnet(buf);
        }
        Ok(self.receive(buf, now)?.map(|n| (n, RxMeta::default())))
    }

    fn transmit_meta(&mut self, frame: &[u8], meta: TxMeta, now: Instant) -> io::Result<()> {
        if self.offload {
            return self.write_vnet(frame, meta);
        }
        super::transmit_finished(self, frame, meta, now)
    }

    /// A duplicate of the descriptor, writing frames as this device does.
    fn transmitter(&self) -> Option<Box<dyn Device>> {
        let file = self.file.try_clone().ok()?;
        Some(Box::new(TapDevice {
            file,
            offload: self.offload,
            wake: self.wake.clone(),
            name: self.name.clone(),
            mtu: self.mtu,
            dropped: 0,
            opener: false,
        }))
    }

    fn receive(&mut self, buf: &mut [u8], _now: Instant) -> io::Result<Option<usize>> {
        if self.offload {
            // Callers that ignore metadata still get correct frames: a checksum the
            // kernel left out is completed here.
            let got = self.read_vnet(buf)?;
            if let Some((n, meta)) = got {
                if meta.checksum_verified {
                    crate::device::offload::complete_checksum(&mut buf[..n]);
                }
            }
            return Ok(got.map(|(n, _)| n));
        }
        loop {
            match (&self.file).read(buf) {
                Ok(n) => return Ok(Some(n)),
                Err(e) if is_would_block(&e) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("reading from TAP '{}': {e}", self.name),
                    ))
                }
            }
        }
    }

    fn transmit(&mut self, frame: &[u8], _now: Instant) -> io::Result<()> {
        if self.offload {
            return self.write_vnet(frame, TxMeta::default());
        }
        loop {
            match (&self.file).write(frame) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A full queue, or an interface that is down (the kernel answers EIO):
                // the frame is lost on the wire, as with a NIC without carrier.
                Err(e)
                    if is_would_block(&e)
                        || matches!(e.raw_os_error(), Some(libc::ENOBUFS | libc::EIO)) =>
                {
                    self.dropped += 1;
                    return Ok(());
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("writing to TAP '{}': {e}", self.name),
                    ))
                }
            }
        }
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut fds = [
            libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: self.wake.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let mut remaining = timeout;
        loop {
            // SAFETY: `fds` is a valid, initialised array of two pollfd structs that
            // lives across the call, and its length is passed as nfds; both
            // descriptors are owned by `self` and open for the whole call.
            let r = unsafe {
                libc::poll(
                    fds.as_mut_ptr(),
                    fds.len() as libc::nfds_t,
                    timeout_millis(remaining),
                )
            };
            if r >= 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(io::Error::new(
                    e.kind(),
                    format!("polling TAP '{}': {e}", self.name),
                ));
            }
            remaining = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        }
        if fds[1].revents & libc::POLLIN != 0 {
            self.wake.drain();
        }
        Ok(())
    }

    fn waker(&self) -> Waker {
        let wake = Arc::clone(&self.wake);
        Arc::new(move || wake.signal())
    }

    fn mtu(&self) -> usize {
        self.mtu
    }
}

#[cfg(test)]
#[path = "tap_tests.rs"]
mod tests;
