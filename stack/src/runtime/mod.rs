//! The imperative shell: owns an [`Engine`] and a [`Device`], drives them on a
//! thread with the real clock, and lets application threads wait on sockets.
//!
//! Concurrency (DESIGN.md): the engine sits behind one lock. The driver thread waits
//! on the device and the engine's next deadline (after reading the device for
//! [`crate::StackConfig::busy_poll`] past the last frame), processes every ready
//! frame in a batch, runs due timers, transmits outside the lock, and wakes the
//! application threads whose sockets changed. Application threads take the lock through a
//! [`StackGuard`], make a non-blocking engine call, and either return or wait on their
//! socket's condition variable with a deadline (after watching for a change for
//! [`crate::StackConfig::busy_poll`]). When the guard is dropped, and before the
//! thread waits, frames its calls queued are written by that thread, or they and
//! earlier deadlines it set wake the driver.

use std::collections::HashMap;
use std::io;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::device::offload as stack_meta;
use crate::device::{Device, Waker};
use crate::engine::{Engine, Event};
use crate::socket::SocketHandle;
use crate::tcp::trace::TraceEvent;
use crate::time::{Duration, Instant};

/// Frames received per batch before timers and transmits are serviced.
const RX_BATCH: usize = 64;

/// Bytes of frames a batch may hold (the storage is touched only as frames
/// fill it: a batch of 64 frames of 1,518 bytes uses the first 97 KB).
const RX_ARENA: usize = 1 << 20;

/// How long threads sleep at once, instead of busy-polling, after a watch found
/// the processors busy with other work.
const CONTENDED_BACKOFF: Duration = Duration::from_millis(100);

/// A yield that took this long gave the processor to another thread for a
/// scheduler time slice (4 ms at Linux's usual 250 Hz tick): work that wants
/// the processor for itself, not one of our threads or a peer taking its turn
/// in an exchange (those take microseconds).
const SLICE_LOST: Duration = Duration::from_millis(1);

/// Direction of a frame shown to a [`FrameObserver`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Received from the device.
    In,
    /// Sent to the device.
    Out,
}

/// Sees every frame in and out (for transcripts and `--verbose`).
pub type FrameObserver = Box<dyn FnMut(Direction, &[u8], Instant) + Send>;

/// Takes the connection trace ([`Engine::set_tcp_trace`]) as the driver collects
/// it: the events of each turn of the driver, outside the engine's lock.
pub type TraceSink = Box<dyn FnMut(&[TraceEvent]) + Send>;

/// Called under the engine lock for every socket whose readiness may have changed
/// (`urgent` when new urgent data was announced on it), after the runtime's own
/// waiters are woken: the way to wake waiters the runtime does not know, such as
/// threads blocked in the kernel on an eventfd. It must not block or take the
/// engine lock.
pub type EventHook = Box<dyn Fn(SocketHandle, bool) + Send + Sync>;

/// Events the connection trace may hold between two turns of the driver.
pub const TRACE_QUEUE: usize = 1 << 16;

/// What the driver shows to the caller besides the sockets.
#[derive(Default)]
pub struct Hooks {
    /// Sees every frame in and out.
    pub observer: Option<FrameObserver>,
    /// Takes the connection trace; the runtime turns the trace on when set.
    pub trace: Option<TraceSink>,
}

/// The real clock, as engine [`Instant`]s since the runtime started.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: std::time::Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    /// Now, in engine time.
    pub fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// The real instant of an engine instant.
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        self.start + Duration::from_micros(t.total_micros())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// What the lock protects.
pub struct State {
    engine: Engine,
    waiters: HashMap<usize, Arc<Waiter>>,
    /// Where to report [`Event::Urgent`] per socket (the in-process SIGURG; see
    /// [`StackGuard::set_urgent_notifier`]).
    urgent_notifiers: HashMap<SocketHandle, Sender<SocketHandle>>,
    /// Told of every socket event ([`StackGuard::set_event_hook`]).
    event_hook: Option<EventHook>,
    /// The deadline the driver sleeps towards; an application call that sets an
    /// earlier one must wake it.
    driver_deadline: Option<Instant>,
    driver_error: Option<String>,
    stopped: bool,
}

/// Where the threads waiting on one socket wait.
#[derive(Default)]
struct Waiter {
    cv: Condvar,
    /// Counts the wake-ups sent for the socket: what a thread busy-polling
    /// in [`StackGuard::wait`] watches.
    changes: AtomicU64,
}

impl Waiter {
    fn wake(&self) {
        self.changes.fetch_add(1, Ordering::Release);
        self.cv.notify_all();
    }
}

/// Shared between the driver and application threads.
pub struct Shared {
    state: Mutex<State>,
    any_change: Condvar,
    /// Until when (microseconds of `clock`) no thread watches: the processors
    /// were found busy with other work.
    contended_until: AtomicU64,
    /// Turns of the driver's loop so far (not its looks at the device while
    /// busy polling): a watch that lost the processor while the driver ran lost
    /// it to our own work, not to contention.
    driver_turns: AtomicU64,
    clock: Clock,
    waker: Waker,
    /// Set with every call of `waker` by an application thread: a driver that
    /// is busy polling the device (not asleep in [`Device::wait`]) looks here.
    kicked: AtomicBool,
    stop: AtomicBool,
    /// The device's [`Device::transmitter`], if it has one: a thread leaving the
    /// engine with frames queued sends them itself instead of waking the driver.
    /// Whoever writes takes this lock before letting go of the engine's and
    /// writes after, so frames leave in the order the engine gave them.
    tx: Mutex<TxState>,
}

/// The application threads' way to the device.
struct TxState {
    device: Option<Box<dyn Device>>,
    /// Frames drained from the engine, to write once its lock is let go.
    frames: Vec<(Vec<u8>, stack_meta::TxMeta)>,
    /// Their buffers, for the engine to reuse.
    spent: Vec<Vec<u8>>,
}

/// A running stack: engine + device + driver thread. Dropping it stops the driver
/// and releases the device.
pub struct Runtime {
    shared: Arc<Shared>,
    driver: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts the driver thread for `engine` on `device`. Unless the engine's
    /// configuration is `deterministic`, its random choices (ISNs, ephemeral ports,
    /// IP identifications, timestamp offsets) are first re-keyed from a secret drawn
    /// from the operating system ([`Engine::set_secret`]; an engine that already has
    /// sockets keeps its seeded ones).
    pub fn start<D: Device + 'static>(engine: Engine, device: D) -> io::Result<Runtime> {
        Self::start_with_observer(engine, device, None)
    }

    /// Like [`Runtime::start`], with an observer that sees every frame.
    pub fn start_with_observer<D: Device + 'static>(
        engine: Engine,
        device: D,
        observer: Option<FrameObserver>,
    ) -> io::Result<Runtime> {
        Self::start_with_hooks(
            engine,
            device,
            Hooks {
                observer,
                trace: None,
            },
        )
    }

    /// Like [`Runtime::start`], with a frame observer and a trace sink.
    pub fn start_with_hooks<D: Device + 'static>(
        mut engine: Engine,
        device: D,
        hooks: Hooks,
    ) -> io::Result<Runtime> {
        if hooks.trace.is_some() {
            engine.set_tcp_trace(Some(TRACE_QUEUE));
        }
        if !engine.config().deterministic {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| io::Error::other(format!("no secret from the OS: {e}")))?;
            let _ = engine.set_secret(secret);
        }
        // The engine hands out what this device can finish (checksums, TSO).
        engine.set_offloads(device.offloads());
        // An observer must see every frame: then only the driver transmits.
        let tx = if hooks.observer.is_none() {
            device.transmitter()
        } else {
            None
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                engine,
                waiters: HashMap::new(),
                urgent_notifiers: HashMap::new(),
                event_hook: None,
                driver_deadline: None,
                driver_error: None,
                stopped: false,
            }),
            any_change: Condvar::new(),
            contended_until: AtomicU64::new(0),
            driver_turns: AtomicU64::new(0),
            clock: Clock::new(),
            waker: device.waker(),
            kicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            tx: Mutex::new(TxState {
                device: tx,
                frames: Vec::new(),
                spent: Vec::new(),
            }),
        });
        let s = shared.clone();
        let name = format!(
            "netstack-driver-{}",
            shared.state.lock().engine.config().addr
        );
        let driver = std::thread::Builder::new()
            .name(name)
            .spawn(move || drive(s, device, hooks))?;
        Ok(Runtime {
            shared,
            driver: Some(driver),
        })
    }

    /// The shared state, for the socket API's handles.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Locks the engine.
    pub fn lock(&self) -> StackGuard<'_> {
        self.shared.lock()
    }

    /// Stops the driver and waits for it; the device is released. Idempotent.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        (self.shared.waker)();
        if let Some(t) = self.driver.take() {
            let _ = t.join();
        }
        // Close the second descriptor too: the device is free for the next user.
        self.shared.tx.lock().device = None;
        let mut st = self.shared.state.lock();
        st.stopped = true;
        for w in st.waiters.values() {
            w.wake();
        }
        self.shared.any_change.notify_all();
    }

    /// Why the driver stopped on its own (a device error), if it did.
    pub fn driver_error(&self) -> Option<String> {
        self.shared.state.lock().driver_error.clone()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    /// Stops busy polling (the driver's and the watchers') for
    /// [`CONTENDED_BACKOFF`]: the processors are busy with other work.
    fn back_off(&self) {
        let quiet = self.clock.now() + CONTENDED_BACKOFF;
        self.contended_until
            .store(quiet.total_micros(), Ordering::Relaxed);
    }

    /// Locks the engine.
    pub fn lock(&self) -> StackGuard<'_> {
        StackGuard {
            shared: self,
            guard: ManuallyDrop::new(self.state.lock()),
        }
    }

    /// The runtime's clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Woken: something may have changed; check again.
    Woken,
    /// The deadline passed.
    TimedOut,
    /// The runtime is stopped; nothing will change any more.
    Stopped,
}

/// Exclusive access to the engine, with the means to wait for socket changes.
pub struct StackGuard<'a> {
    shared: &'a Shared,
    /// Dropped by hand in `Drop`, before the frames drained are written.
    guard: ManuallyDrop<MutexGuard<'a, State>>,
}

impl StackGuard<'_> {
    /// The engine.
    pub fn engine(&mut self) -> &mut Engine {
        &mut self.guard.engine
    }

    /// The engine, read-only.
    pub fn engine_ref(&self) -> &Engine {
        &self.guard.engine
    }

    /// Now, in engine time.
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// True once the runtime stopped.
    pub fn is_stopped(&self) -> bool {
        self.guard.stopped
    }

    /// Converts an engine instant to a real one.
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        self.shared.clock.to_std(t)
    }

    /// Waits until `h` may have changed, or `deadline` passes. The lock is released
    /// while waiting and held again on return.
    pub fn wait(&mut self, h: SocketHandle, deadline: Option<std::time::Instant>) -> WaitOutcome {
        if self.guard.stopped {
            return WaitOutcome::Stopped;
        }
        let w = self.guard.waiters.entry(h.index()).or_default().clone();
        let seen = w.changes.load(Ordering::Acquire);
        let sent = self.send_queued();
        self.flush();
        if sent {
            if self.guard.stopped {
                return WaitOutcome::Stopped;
            }
            // Wake-ups are counted under the lock, held again here: one that
            // came while it was let go is seen now, and none can come before
            // the wait below lets it go again.
            if w.changes.load(Ordering::Acquire) != seen {
                return WaitOutcome::Woken;
            }
        }
        if let Some(outcome) = self.watch(&w.changes, deadline) {
            return outcome;
        }
        self.wait_on(&w.cv, deadline)
    }

    /// Before a wait: writes what this thread's calls queued (a request, a
    /// window update) itself, with the engine's lock let go, instead of waking
    /// the driver to write it. True when it wrote (the lock was let go
    /// meanwhile, so sockets may have changed).
    fn send_queued(&mut self) -> bool {
        let Some((tx, now)) = take_tx_turn(self.shared, &mut self.guard) else {
            return false;
        };
        MutexGuard::unlocked(&mut self.guard, || write_tx_turn(tx, now));
        true
    }

    /// Waits until any socket may have changed (for select and poll).
    pub fn wait_any(&mut self, deadline: Option<std::time::Instant>) -> WaitOutcome {
        if self.guard.stopped {
            return WaitOutcome::Stopped;
        }
        // What this thread's calls queued goes out first, from this thread; a
        // change meanwhile could not be told from none, so the caller looks
        // again (a wake-up, which callers of this wait must expect anyway).
        if self.send_queued() {
            self.flush();
            return if self.guard.stopped {
                WaitOutcome::Stopped
            } else {
                WaitOutcome::Woken
            };
        }
        self.flush();
        let shared = self.shared;
        // No busy polling here (Linux's net.core.busy_poll for select and
        // poll is 0): a caller that rescans every descriptor after each wake-up
        // would rescan at every change instead of once per batch of them.
        self.wait_on(&shared.any_change, deadline)
    }

    /// Busy polling ([`crate::StackConfig::busy_poll`]): watches `changes` (a
    /// socket's count of wake-ups) with the lock let go, so that a wake-up that
    /// comes soon is seen without the sleep and wake-up of a condition
    /// variable. `None` when nothing came and the caller must sleep.
    ///
    /// The watching thread yields the processor at each look, so that a driver
    /// or application thread with work (on a machine with fewer cores than busy
    /// threads) runs first: a pure spin would hold up the very change it waits
    /// for. A yield that loses the processor for a time slice ([`SLICE_LOST`]),
    /// or for the whole watch with neither the change nor a turn of the driver
    /// meanwhile, means other work wants the processors: watching would then
    /// cost a time slice per wait (the change seen that late, even when it came
    /// from the driver on another processor), so no thread busy-polls for
    /// [`CONTENDED_BACKOFF`].
    fn watch(
        &mut self,
        changes: &AtomicU64,
        deadline: Option<std::time::Instant>,
    ) -> Option<WaitOutcome> {
        let spin = self.guard.engine.config().busy_poll;
        let shared = self.shared;
        if spin.is_zero()
            || shared.clock.now().total_micros() < shared.contended_until.load(Ordering::Relaxed)
        {
            return None;
        }
        let seen = changes.load(Ordering::Acquire);
        let start = std::time::Instant::now();
        let until = deadline.map_or(start + spin, |d| d.min(start + spin));
        MutexGuard::unlocked(&mut self.guard, || {
            let mut now = start;
            while changes.load(Ordering::Acquire) == seen && now < until {
                let turns = shared.driver_turns.load(Ordering::Relaxed);
                std::thread::yield_now();
                let after = std::time::Instant::now();
                let lost = after - now;
                if lost >= SLICE_LOST
                    || (lost >= spin
                        && changes.load(Ordering::Acquire) == seen
                        && shared.driver_turns.load(Ordering::Relaxed) == turns)
                {
                    shared.back_off();
                    break;
                }
                now = after;
            }
        });
        if self.guard.stopped {
            return Some(WaitOutcome::Stopped);
        }
        // Wake-ups are counted under the lock: one sent after the last look is
        // seen here, and none can come between this and the caller's wait.
        if changes.load(Ordering::Acquire) != seen {
            return Some(WaitOutcome::Woken);
        }
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Some(WaitOutcome::TimedOut);
        }
        None
    }

    /// Waits on `cv` (the lock released meanwhile) until woken or `deadline`.
    fn wait_on(&mut self, cv: &Condvar, deadline: Option<std::time::Instant>) -> WaitOutcome {
        let timed_out = match deadline {
            Some(d) => cv.wait_until(&mut *self.guard, d).timed_out(),
            None => {
                cv.wait(&mut *self.guard);
                false
            }
        };
        if self.guard.stopped {
            WaitOutcome::Stopped
        } else if timed_out {
            WaitOutcome::TimedOut
        } else {
            WaitOutcome::Woken
        }
    }

    /// Wakes the waiters of `h` (e.g. after `close` from another thread).
    pub fn notify(&mut self, h: SocketHandle) {
        if let Some(w) = self.guard.waiters.get(&h.index()) {
            w.wake();
        }
        if let Some(hook) = &self.guard.event_hook {
            hook(h, false);
        }
        self.shared.any_change.notify_all();
    }

    /// Wakes every thread in [`StackGuard::wait_any`] (`select`, `poll`, and waits
    /// on state the socket layer keeps outside the engine, such as its UNIX
    /// domain).
    pub fn notify_any(&mut self) {
        self.shared.any_change.notify_all();
    }

    /// Sets (`Some`) or removes (`None`) the hook told of every socket event
    /// ([`EventHook`]), including the wake-ups [`StackGuard::notify`] sends.
    pub fn set_event_hook(&mut self, hook: Option<EventHook>) {
        self.guard.event_hook = hook;
    }

    /// Registers (`Some`) or removes (`None`) the channel that receives `h` each time
    /// new urgent data is announced on `h` ([`Event::Urgent`]: the in-process
    /// SIGURG). The send happens under the engine lock and never blocks (a full or
    /// disconnected channel loses the notification, as a pending signal merges
    /// the next one), so
    /// whoever acts on it must do so on its own thread. Remove the registration when
    /// the socket is closed; a stale handle never matches a new socket.
    pub fn set_urgent_notifier(&mut self, h: SocketHandle, tx: Option<Sender<SocketHandle>>) {
        match tx {
            Some(tx) => {
                self.guard.urgent_notifiers.insert(h, tx);
            }
            None => {
                self.guard.urgent_notifiers.remove(&h);
            }
        }
    }

    /// Wakes waiters of changed sockets, and the driver if the engine has frames to
    /// send or an earlier deadline than the driver knows.
    fn flush(&mut self) {
        notify_events(&mut self.guard, &self.shared.any_change);
        let st = &**self.guard;
        let earlier = match (st.engine.poll_timeout(), st.driver_deadline) {
            (Some(t), Some(d)) => t < d,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if st.engine.pending_transmits() > 0 || earlier {
            self.shared.kicked.store(true, Ordering::Release);
            (self.shared.waker)();
        }
    }
}

impl Drop for StackGuard<'_> {
    fn drop(&mut self) {
        // Frames queued: send them from this thread when the device allows (no
        // driver wake-up, a context switch, on the way out), written after the
        // engine's lock is let go so that the driver goes on meanwhile.
        let turn = take_tx_turn(self.shared, &mut self.guard);
        self.flush();
        // SAFETY: `guard` is never used after this: this is the StackGuard's drop.
        #[allow(unsafe_code)]
        unsafe {
            ManuallyDrop::drop(&mut self.guard)
        };
        if let Some((tx, now)) = turn {
            write_tx_turn(tx, now);
        }
    }
}

/// The application threads' turn at the device: the transmit lock, held from
/// before the engine's lock is let go until the frames drained are written.
type TxTurn<'a> = (MutexGuard<'a, TxState>, Instant);

/// Drains the frames the engine queued, if an application thread may write
/// them (the device gave a [`Device::transmitter`]), for writing once the
/// engine's lock is let go: the [`TxTurn`] holds the transmit lock, taken
/// before the engine's is let go, so that frames leave in the engine's order.
fn take_tx_turn<'a>(shared: &'a Shared, st: &mut State) -> Option<TxTurn<'a>> {
    if st.engine.pending_transmits() == 0 {
        return None;
    }
    let mut tx = shared.tx.lock();
    tx.device.as_ref()?;
    let TxState { frames, spent, .. } = &mut *tx;
    for b in spent.drain(..) {
        st.engine.recycle(b);
    }
    let now = shared.clock.now();
    while let Some(f) = st.engine.poll_transmit_meta(now) {
        frames.push(f);
    }
    Some((tx, now))
}

/// Writes the frames of a [`TxTurn`] (the engine's lock let go meanwhile).
fn write_tx_turn(mut tx: MutexGuard<'_, TxState>, now: Instant) {
    let TxState {
        device,
        frames,
        spent,
    } = &mut *tx;
    if let Some(dev) = device {
        for (f, meta) in frames.drain(..) {
            if let Err(e) = dev.transmit_meta(&f, meta, now) {
                tracing::warn!("device transmit failed: {e}");
            }
            spent.push(f);
        }
    }
}

/// Asks the C allocator (glibc) to serve allocations of 64 KiB and more with
/// mappings of their own, so that a socket buffer given back returns its memory
/// to the operating system at once instead of staying in the heap: resident
/// memory then follows what the connections hold. Process-wide, so a program
/// chooses it (the `netstack` binary does); elsewhere than glibc it does nothing.
pub fn return_large_frees_to_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only changes the allocator's parameters; it takes plain
    // integers and any value is valid (a bad one is refused with 0).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
    }
}

fn notify_events(st: &mut State, any: &Condvar) {
    let mut any_event = false;
    while let Some(event) = st.engine.poll_event() {
        any_event = true;
        let (h, urgent) = match event {
            Event::Socket(h) => (h, false),
            Event::Urgent(h) => {
                if let Some(tx) = st.urgent_notifiers.get(&h) {
                    let _ = tx.try_send(h);
                }
                (h, true)
            }
        };
        if let Some(w) = st.waiters.get(&h.index()) {
            w.wake();
        }
        if let Some(hook) = &st.event_hook {
            hook(h, urgent);
        }
    }
    if any_event {
        any.notify_all();
    }
}

/// What the driver knows, having found no frame on the device, when it decides
/// whether to look again (busy polling) or to take the engine's lock and then
/// sleep in [`Device::wait`].
///
/// A sleeping driver is woken by the kernel when the next frame comes: on an
/// idle core that costs tens of microseconds, more than a request/response
/// exchange over a TAP takes. So after a frame, for
/// [`crate::StackConfig::busy_poll`], the driver reads the device again,
/// yielding the processor between looks, as a thread blocked on a socket
/// watches for its wake-up (Linux's `net.core.busy_poll` does the same for a
/// NIC's queue). It stops sooner when an application thread asks for it
/// (frames only the driver may send, an earlier deadline), when a timer is
/// due, or when the processors are busy with other work.
#[derive(Clone, Copy, Debug)]
struct Poll {
    /// Time since the last frame came, if the driver has not slept since.
    since_frame: Option<Duration>,
    /// The configured busy-polling time.
    spin: Duration,
    /// Polling is off for a while: a look found the processors busy.
    contended: bool,
    /// An application thread asked for the driver.
    kicked: bool,
    /// The engine's next deadline has passed.
    timer_due: bool,
}

impl Poll {
    /// Look at the device again, without taking the lock?
    fn keep_polling(&self) -> bool {
        !self.spin.is_zero()
            && !self.contended
            && !self.kicked
            && !self.timer_due
            && self.since_frame.is_some_and(|t| t < self.spin)
    }
}

fn drive<D: Device>(shared: Arc<Shared>, mut device: D, hooks: Hooks) {
    let Hooks {
        mut observer,
        mut trace,
    } = hooks;
    let mut traced: Vec<TraceEvent> = Vec::new();
    let mtu = device.mtu();
    // Room for the largest IPv4 datagram: a device with offloads hands over TCP
    // segments up to 64 KiB.
    let max_frame = mtu.max(65535) + 14 + 4;
    let mut arena = vec![0u8; RX_ARENA + max_frame];
    let mut frames: Vec<(usize, usize, stack_meta::RxMeta)> = Vec::with_capacity(RX_BATCH);
    let mut outgoing: Vec<(Vec<u8>, stack_meta::TxMeta)> = Vec::new();
    let mut spent: Vec<Vec<u8>> = Vec::new();
    // Busy polling: when the last frame came, how long to look for the next
    // one before sleeping (the engine's `busy_poll`, read at each turn), and
    // the engine's next deadline.
    let mut last_frame: Option<std::time::Instant> = None;
    let mut spin = Duration::ZERO;
    let mut deadline: Option<Instant> = None;
    while !shared.stop.load(Ordering::SeqCst) {
        // The batch is read before the engine's lock is taken: the system
        // calls do not hold up application threads that use the engine
        // meanwhile (a reader copying out what the last batch brought).
        let read_at = shared.clock.now();
        let mut used = 0;
        let mut failed = None;
        frames.clear();
        while frames.len() < RX_BATCH && arena.len() - used >= max_frame {
            match device.receive_meta(&mut arena[used..used + max_frame], read_at) {
                Ok(Some((n, meta))) => {
                    frames.push((used, n, meta));
                    used += n;
                }
                Ok(None) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let batch_full = frames.len() == RX_BATCH || arena.len() - used < max_frame;
        if !frames.is_empty() {
            last_frame = Some(std::time::Instant::now());
        } else if failed.is_none() {
            let at = shared.clock.now();
            let poll = Poll {
                since_frame: last_frame.map(|t| t.elapsed()),
                spin,
                contended: at.total_micros() < shared.contended_until.load(Ordering::Relaxed),
                kicked: shared.kicked.load(Ordering::Acquire),
                timer_due: deadline.is_some_and(|d| d <= at),
            };
            if poll.keep_polling() {
                // Yielding lets an application thread with work on this
                // processor go first (its reply is what the next frame
                // answers). A yield that lost a time slice found the
                // processors busy with other work: polling would then cost a
                // time slice per frame.
                let before = std::time::Instant::now();
                std::thread::yield_now();
                if before.elapsed() >= SLICE_LOST {
                    shared.back_off();
                }
                continue;
            }
            // The spin is over: the next frame wakes the driver from its wait.
            last_frame = None;
        }
        // A turn: frames to hand over, or timers, or the sleep after a spin.
        shared.driver_turns.fetch_add(1, Ordering::Relaxed);
        shared.kicked.store(false, Ordering::Release);
        let now;
        let tx_turn;
        {
            let mut st = shared.state.lock();
            // Read the clock under the lock: an application thread that held it
            // before us used an earlier instant, so the timestamps (TSval) of the
            // segments the engine emits never go backwards (the peer's PAWS test
            // would drop the later-sent, earlier-stamped one).
            now = shared.clock.now();
            for b in spent.drain(..) {
                st.engine.recycle(b);
            }
            for &(at, n, meta) in &frames {
                let frame = &arena[at..at + n];
                if let Some(obs) = observer.as_mut() {
                    obs(Direction::In, frame, now);
                }
                st.engine.handle_frame_meta(now, frame, meta);
            }
            if let Some(e) = failed {
                st.driver_error = Some(format!("device receive failed: {e}"));
                tracing::error!("device receive failed: {e}");
                shared.stop.store(true, Ordering::SeqCst);
            }
            if st.engine.poll_timeout().is_some_and(|t| t <= now) {
                st.engine.handle_timeout(now);
            }
            while let Some(f) = st.engine.poll_transmit_meta(now) {
                outgoing.push(f);
            }
            notify_events(&mut st, &shared.any_change);
            if trace.is_some() {
                while let Some(e) = st.engine.poll_tcp_trace() {
                    traced.push(e);
                }
            }
            deadline = st.engine.poll_timeout();
            st.driver_deadline = deadline;
            spin = st.engine.config().busy_poll;
            // Taken before the engine's lock is let go: an application thread
            // sending what the engine queues next writes after these frames.
            tx_turn = (!outgoing.is_empty()).then(|| shared.tx.lock());
        }
        for (f, meta) in outgoing.drain(..) {
            if let Some(obs) = observer.as_mut() {
                obs(Direction::Out, &f, now);
            }
            if let Err(e) = device.transmit_meta(&f, meta, now) {
                tracing::warn!("device transmit failed: {e}");
            }
            spent.push(f);
        }
        drop(tx_turn);
        if let Some(sink) = trace.as_mut().filter(|_| !traced.is_empty()) {
            sink(&traced);
            traced.clear();
        }
        if batch_full {
            continue; // more frames are probably waiting
        }
        if last_frame.is_some() && !spin.is_zero() {
            continue; // busy polling: look for the next frame before sleeping
        }
        let wake_at = [deadline, device.poll_at()].into_iter().flatten().min();
        let timeout = wake_at.map(|t| t.saturating_duration_since(shared.clock.now()));
        if timeout == Some(Duration::ZERO) {
            continue;
        }
        if let Err(e) = device.wait(timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::warn!("device wait failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
    let mut st = shared.state.lock();
    st.stopped = true;
    for w in st.waiters.values() {
        w.wake();
    }
    shared.any_change.notify_all();
    if let Some(sink) = trace.as_mut() {
        while let Some(e) = st.engine.poll_tcp_trace() {
            traced.push(e);
        }
        sink(&traced);
    }
    drop(st);
    drop(device);
}

#[cfg(test)]
mod tests;
