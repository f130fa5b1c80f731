//! The in-process forms of `SIGURG` and `SIGPIPE`.
//!
//! A C program learns of urgent data from `SIGURG` (after `fcntl(s, F_SETOWN,
//! getpid())`, 4.2BSD primer 5.1 and 5.6) and of writing to a broken connection
//! from `SIGPIPE`. A library cannot send signals to its host process, so here both
//! are functions registered with the [`Stack`]:
//!
//! - [`Stack::set_urgent_handler`] (per socket, like `F_SETOWN` + `signal(SIGURG,
//!   f)`): called as soon as new urgent data is announced on the connection, before
//!   the urgent byte is read (or has even arrived), on the stack's notifier thread,
//!   never under the engine lock, so it may call the stack, even blocking calls
//!   (the primer's Figure 5 reads up to the mark inside its handler).
//! - [`Stack::set_sigpipe_handler`] (per stack, like `signal(SIGPIPE, f)`): called
//!   in the writing thread, just before the write that failed returns `EPIPE`,
//!   unless the call passed `MSG_NOSIGNAL`. Without a handler nothing happens: the
//!   default action of `SIGPIPE` (ending the process) is never taken.
//!
//! The runtime reports each urgent announcement through a channel
//! (`StackGuard::set_urgent_notifier`) under the engine lock; one notifier thread
//! per stack, started with the first handler, receives them and calls the handler
//! of the descriptor that names the socket.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};

use crossbeam_channel::{Receiver, Sender};

/// Urgent announcements waiting for the notifier thread, at most.
const SIGURG_QUEUE: usize = 256;
use parking_lot::Mutex;
use stack::SocketHandle;

use crate::bsd::{Inner, Stack};
use crate::errno::{track, Errno};
use crate::fdtable::SignalHandler;

/// A stack's signal state.
#[derive(Default)]
pub(crate) struct Signals {
    /// The `SIGPIPE` handler.
    sigpipe: Mutex<Option<SignalHandler>>,
    /// The sending side of the notifier thread's channel, once it runs.
    urgent_tx: Mutex<Option<Sender<SocketHandle>>>,
}

impl Stack {
    /// Calls `handler(&stack, fd)` each time new urgent data (`MSG_OOB`) is
    /// announced on the stream socket `fd`: the in-process form of `fcntl(fd,
    /// F_SETOWN, getpid())` plus `signal(SIGURG, handler)`.
    ///
    /// The handler runs on the stack's notifier thread (one per stack), not under
    /// any lock, as soon as a segment announces the urgent data: before the urgent
    /// byte is read, typically before it even arrived. Like a signal handler it is
    /// asynchronous; unlike one, it may do anything, including blocking calls on
    /// the stack (it delays later notifications of the stack meanwhile). Each new
    /// urgent pointer is one call; the notifier does not coalesce them, but a
    /// handler should not rely on the count (signals do not queue either).
    ///
    /// Replaces an earlier handler of the same socket; [`Stack::clear_urgent_handler`]
    /// removes it, and so does closing the socket. Accepted sockets do not inherit it
    /// (as `F_SETOWN` is not inherited on Linux). A panicking handler is contained
    /// (the notifier thread goes on). Allowed on any socket; only stream sockets
    /// have urgent data. Errors: `EBADF`; `EAGAIN` if the notifier thread cannot be
    /// started.
    pub fn set_urgent_handler<F>(&self, fd: i32, handler: F) -> Result<(), Errno>
    where
        F: Fn(&Stack, i32) + Send + Sync + 'static,
    {
        track(self.set_urgent_handler_inner(fd, Some(Arc::new(handler))))
    }

    /// Removes the urgent-data handler of `fd` (`fcntl(fd, F_SETOWN, 0)`).
    pub fn clear_urgent_handler(&self, fd: i32) -> Result<(), Errno> {
        track(self.set_urgent_handler_inner(fd, None))
    }

    fn set_urgent_handler_inner(
        &self,
        fd: i32,
        handler: Option<SignalHandler>,
    ) -> Result<(), Errno> {
        let file = self.file(fd)?;
        let tx = match handler {
            Some(_) => Some(self.urgent_sender()?),
            None => None,
        };
        let mut g = self.lock();
        // Checked under the engine lock, which `close` holds while it removes the
        // registration: a socket closed meanwhile keeps none.
        if !self.fds().names(fd, &file) {
            return Err(Errno::EBADF);
        }
        file.set_urgent_handler(handler);
        g.set_urgent_notifier(file.handle, tx);
        Ok(())
    }

    /// The notifier thread's channel, starting the thread the first time.
    fn urgent_sender(&self) -> Result<Sender<SocketHandle>, Errno> {
        let mut slot = self.inner.signals.urgent_tx.lock();
        if let Some(tx) = slot.as_ref() {
            return Ok(tx.clone());
        }
        // Bounded: like a standard signal, announcements that come while many are
        // pending are merged (lost), so a peer's flood of urgent data cannot grow
        // memory while a handler is slow.
        let (tx, rx) = crossbeam_channel::bounded(SIGURG_QUEUE);
        let weak = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name(format!("netstack-sigurg-{}", self.addr()))
            .spawn(move || notify_urgent(rx, weak))
            .map_err(|_| Errno::EAGAIN)?;
        *slot = Some(tx.clone());
        Ok(tx)
    }

    /// Calls `handler(&stack, fd)` in the writing thread whenever a write on a
    /// stream socket of this stack is about to fail with `EPIPE` (after
    /// `shutdown(SHUT_WR)`, after `close` by the peer was followed by its reset, or
    /// after a reset was reported), unless the call passed `MSG_NOSIGNAL`: the
    /// in-process form of `signal(SIGPIPE, handler)`. The call then returns `EPIPE`
    /// as usual. Replaces an earlier handler.
    ///
    /// Without a handler nothing happens (as if `SIGPIPE` were ignored, which is
    /// what Rust programs do anyway); the process is never ended. The std face
    /// ([`TcpStream`](crate::net::TcpStream)) always passes `MSG_NOSIGNAL`, as
    /// `std::net` does.
    pub fn set_sigpipe_handler<F>(&self, handler: F)
    where
        F: Fn(&Stack, i32) + Send + Sync + 'static,
    {
        *self.inner.signals.sigpipe.lock() = Some(Arc::new(handler));
    }

    /// Removes the `SIGPIPE` handler (`signal(SIGPIPE, SIG_IGN)`).
    pub fn clear_sigpipe_handler(&self) {
        *self.inner.signals.sigpipe.lock() = None;
    }

    /// Delivers "`SIGPIPE`" for a write on `fd` (call with no lock held).
    pub(crate) fn raise_sigpipe(&self, fd: i32) {
        let handler = self.inner.signals.sigpipe.lock().clone();
        if let Some(handler) = handler {
            handler(self, fd);
        }
    }
}

/// The notifier thread: turns the runtime's urgent notifications into handler
/// calls. Ends when the stack is gone (the channel disconnects when the runtime and
/// the stack drop their senders).
fn notify_urgent(rx: Receiver<SocketHandle>, stack: Weak<Inner>) {
    while let Ok(h) = rx.recv() {
        let Some(inner) = stack.upgrade() else { return };
        let stack = Stack { inner };
        let target = stack
            .fds()
            .iter()
            .find(|(_, f)| f.handle == h)
            .and_then(|(fd, f)| f.urgent_handler().map(|handler| (fd, handler)));
        if let Some((fd, handler)) = target {
            if catch_unwind(AssertUnwindSafe(|| handler(&stack, fd))).is_err() {
                tracing::warn!("the urgent-data handler of descriptor {fd} panicked");
            }
        }
    }
}
