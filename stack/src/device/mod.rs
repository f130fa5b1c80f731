//! Devices: where frames enter and leave the stack.
//!
//! A [`Device`] moves whole Ethernet II frames (no preamble, no FCS). It is driven by
//! one thread (the runtime's driver): `receive` never blocks, `wait` blocks until a
//! frame may be ready, the timeout passes, or another thread calls the device's
//! [`Waker`]. This module and `runtime/` are the only places that touch the OS;
//! `unsafe` is allowed here only, for the TAP ioctls, and each use is commented.

pub mod impaired;
pub mod memory;
pub mod offload;
pub mod open;
pub mod pcap;
pub mod tap;

use std::io;
use std::sync::Arc;

use crate::time::{Duration, Instant};
pub use offload::{Offloads, RxMeta, TxMeta};

/// Wakes a device's [`Device::wait`] from another thread.
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A link-layer device carrying Ethernet II frames.
pub trait Device: Send {
    /// Receives one frame into `buf` without blocking. Returns the frame length,
    /// or `Ok(None)` when no frame is ready. A frame longer than `buf` is truncated
    /// (callers size `buf` for the MTU plus the Ethernet header).
    fn receive(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>>;

    /// Transmits one frame. A device that cannot take the frame right now drops it
    /// (as a NIC with a full queue does) and returns `Ok(())`.
    fn transmit(&mut self, frame: &[u8], now: Instant) -> io::Result<()>;

    /// Blocks until a frame may be ready, `timeout` passes (`None`: no timeout), or
    /// the [`Waker`] is called. Spurious returns are allowed.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()>;

    /// A handle that interrupts [`Device::wait`] from any thread.
    fn waker(&self) -> Waker;

    /// The device's MTU: the largest IP datagram a frame can carry.
    fn mtu(&self) -> usize;

    /// The next time at which this device has work of its own (a delayed frame to
    /// release, for example), if any. The driver waits no longer than that.
    fn poll_at(&self) -> Option<Instant> {
        None
    }

    /// What this device can finish for us (checksums, segmentation). Default: none.
    fn offloads(&self) -> Offloads {
        Offloads::default()
    }

    /// Transmits a frame that may need finishing (see [`TxMeta`]). The default does
    /// the finishing in software and transmits the resulting frames.
    fn transmit_meta(&mut self, frame: &[u8], meta: TxMeta, now: Instant) -> io::Result<()> {
        transmit_finished(self, frame, meta, now)
    }

    /// A second handle on this device for transmitting from another thread (an
    /// application's, so that a send need not wake the driver), if the device can
    /// give one. Its frames and the device's own go out in whatever order their
    /// callers serialise them (the runtime holds one lock for both). Default: none,
    /// as for devices that must see every frame (capture, impairment).
    fn transmitter(&self) -> Option<Box<dyn Device>> {
        None
    }

    /// Receives one frame with what the device knows about it. The default knows
    /// nothing.
    fn receive_meta(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, RxMeta)>> {
        Ok(self.receive(buf, now)?.map(|n| (n, RxMeta::default())))
    }
}

/// Finishes `frame` in software as `meta` says and transmits the result: what a
/// device without offloads does with such a frame.
pub fn transmit_finished<D: Device + ?Sized>(
    dev: &mut D,
    frame: &[u8],
    meta: TxMeta,
    now: Instant,
) -> io::Result<()> {
    if meta.is_plain() {
        return dev.transmit(frame, now);
    }
    let mut result = Ok(());
    crate::device::offload::finish(frame, meta, |f| {
        if result.is_ok() {
            result = dev.transmit(f, now);
        }
    });
    result
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn receive(&mut self, buf: &mut [u8], now: Instant) -> io::Result<Option<usize>> {
        (**self).receive(buf, now)
    }
    fn transmit(&mut self, frame: &[u8], now: Instant) -> io::Result<()> {
        (**self).transmit(frame, now)
    }
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).wait(timeout)
    }
    fn waker(&self) -> Waker {
        (**self).waker()
    }
    fn mtu(&self) -> usize {
        (**self).mtu()
    }
    fn poll_at(&self) -> Option<Instant> {
        (**self).poll_at()
    }
    fn offloads(&self) -> Offloads {
        (**self).offloads()
    }
    fn transmit_meta(&mut self, frame: &[u8], meta: TxMeta, now: Instant) -> io::Result<()> {
        (**self).transmit_meta(frame, meta, now)
    }
    fn transmitter(&self) -> Option<Box<dyn Device>> {
        (**self).transmitter()
    }
    fn receive_meta(
        &mut self,
        buf: &mut [u8],
        now: Instant,
    ) -> io::Result<Option<(usize, RxMeta)>> {
        (**self).receive_meta(buf, now)
    }
}
