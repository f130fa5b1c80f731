//! An in-memory Ethernet link: two endpoints joined by crossbeam channels.
//!
//! No privileges needed; two stacks in one process talk over it. Each direction is a
//! bounded channel; a frame sent into a full channel is dropped (and counted), as a
//! NIC with a full transmit ring would.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use super::{Device, Waker};
use crate::time::{Duration, Instant};

/// Default number of frames each direction of a memory link buffers.
pub const DEFAULT_QUEUE_FRAMES: usize = 4096;

/// One end of an in-memory link. Create a pair with [`MemoryLink::pair`].
pub struct MemoryLink {
    tx: Sender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    wake_tx: Sender<()>,
    wake_rx: Receiver<()>,
    mtu: usize,
    dropped: Arc<AtomicU64>,
    spare: Vec<Vec<u8>>,
}

impl MemoryLink {
    /// Two connected endpoints with the given MTU and the default queue length.
    pub fn pair(mtu: usize) -> (MemoryLink, MemoryLink) {
        Self::pair_with_queue(mtu, DEFAULT_QUEUE_FRAMES)
    }

    /// Two connected endpoints, each direction buffering at most `queue_frames`.
    pub fn pair_with_queue(mtu: usize, queue_frames: usize) -> (MemoryLink, MemoryLink) {
        let (a_tx, b_rx) = bounded(queue_frames.max(1));
        let (b_tx, a_rx) = bounded(queue_frames.max(1));
        (Self::end(a_tx, a_rx, mtu), Self::end(b_tx, b_rx, mtu))
    }

    fn end(tx: Sender<Vec<u8>>, rx: Receiver<Vec<u8>>, mtu: usize) -> MemoryLink {
        let (wake_tx, wake_rx) = bounded(1);
        MemoryLink {
            tx,
            rx,
            wake_tx,
            wake_rx,
            mtu,
            dropped: Arc::new(AtomicU64::new(0)),
            spare: Vec::new(),
        }
    }

    /// Frames this end could not send because the peer's queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Device for MemoryLink {
    fn receive(&mut self, buf: &mut [u8], _now: Instant) -> io::Result<Option<usize>> {
        match self.rx.try_recv() {
            Ok(frame) => {
                let n = frame.len().min(buf.len());
                buf[..n].copy_from_slice(&frame[..n]);
                if self.spare.len() < 64 {
                    self.spare.push(frame);
                }
                Ok(Some(n))
            }
            Err(_) => Ok(None),
        }
    }

    fn transmit(&mut self, frame: &[u8], _now: Instant) -> io::Result<()> {
        let mut owned = self.spare.pop().unwrap_or_default();
        owned.clear();
        owned.extend_from_slice(frame);
        match self.tx.try_send(owned) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        }
    }

    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if !self.rx.is_empty() {
            return Ok(());
        }
        // `ready` only reports readiness: a frame stays in the channel for `receive`.
        let mut sel = crossbeam_channel::Select::new();
        sel.recv(&self.rx);
        let i_wake = sel.recv(&self.wake_rx);
        let ready = match timeout {
            Some(t) => sel.ready_timeout(t).ok(),
            None => Some(sel.ready()),
        };
        if ready == Some(i_wake) {
            let _ = self.wake_rx.try_recv();
        }
        Ok(())
    }

    fn waker(&self) -> Waker {
        let tx = self.wake_tx.clone();
        Arc::new(move || {
            let _ = tx.try_send(());
        })
    }

    fn mtu(&self) -> usize {
        self.mtu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cross_the_link_and_overflow_is_counted() {
        let (mut a, mut b) = MemoryLink::pair_with_queue(1500, 2);
        let now = Instant::ZERO;
        a.transmit(&[1, 2, 3], now).unwrap();
        a.transmit(&[4, 5], now).unwrap();
        a.transmit(&[6], now).unwrap();
        assert_eq!(a.dropped(), 1);
        let mut buf = [0u8; 16];
        assert_eq!(b.receive(&mut buf, now).unwrap(), Some(3));
        assert_eq!(&buf[..3], &[1, 2, 3]);
        assert_eq!(b.receive(&mut buf, now).unwrap(), Some(2));
        assert_eq!(b.receive(&mut buf, now).unwrap(), None);
    }

    #[test]
    fn waker_interrupts_wait() {
        let (mut a, _b) = MemoryLink::pair(1500);
        let wake = a.waker();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            wake();
        });
        // Without the waker the wait would last its whole timeout.
        let t0 = std::time::Instant::now();
        a.wait(Some(Duration::from_secs(10))).unwrap();
        assert!(t0.elapsed() < std::time::Duration::from_secs(10));
        t.join().unwrap();
    }
}
