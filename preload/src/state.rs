//! The process's one stack, its descriptor map and the wake-ups.
//!
//! Every stack socket is also a kernel descriptor: a non-blocking eventfd whose
//! number is the one the program sees. [`FDS`] maps that number to the stack's own
//! descriptor, lock-free, so every wrapped call on a kernel descriptor costs one
//! atomic load before it goes to the C library. Per socket ([`Rec`], keyed by the
//! engine's handle, so `dup`s share it) the wake-up state: the program's numbers
//! for it (the runtime's event hook writes to the eventfd behind them, which is
//! how `poll`, `select` and `epoll` in the kernel see stack events), the
//! eventfds of threads blocked on it ([`Blocker`]), and the `F_SETOWN` owner that
//! receives `SIGURG`.
//!
//! Lock order: the engine lock, then [`RECS`]. The event hook runs under the
//! engine lock and takes `RECS`; nothing holding `RECS` calls into the stack.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use libc::c_int;
use parking_lot::Mutex;
use sockets::{Blocker, Errno, Stack};
use stack::runtime::{Hooks, Runtime, WaitOutcome};
use stack::tcp::State;
use stack::SocketHandle;

use crate::env::Settings;
use crate::real;

/// Descriptor numbers the map covers; a stack socket never gets a number above.
pub const MAX_FD: usize = 1 << 16;

/// Program's descriptor number → stack descriptor + 1 (0: not a stack socket).
pub static FDS: [AtomicI32; MAX_FD] = [const { AtomicI32::new(0) }; MAX_FD];

/// Set in a child after `fork`: the stack (its driver thread) stayed in the parent.
pub static FORKED: AtomicBool = AtomicBool::new(false);

/// Wake-up state of one stack socket.
#[derive(Debug, Default)]
pub struct Rec {
    /// The program's descriptor numbers for it (eventfds sharing one counter).
    pub fds: Vec<c_int>,
    /// Eventfds of the threads blocked on it.
    pub waiters: Vec<c_int>,
    /// `F_SETOWN`: process (> 0) or process group (< 0) to send `SIGURG`; 0: none.
    pub owner: c_int,
    /// `poll`/`select` calls and epoll registrations watching the eventfd: the
    /// event hook writes to it only while some do.
    pub watched: u32,
}

/// The wake-up state of every stack socket.
pub static RECS: LazyLock<Mutex<HashMap<SocketHandle, Rec>>> = LazyLock::new(Mutex::default);

/// The started stack, or why it could not start (`None`: said on stderr).
static STACK: OnceLock<Option<Stack>> = OnceLock::new();

thread_local! {
    /// This thread's wait eventfd (blocking), made on first wait.
    static WAIT_FD: Cell<c_int> = const { Cell::new(-1) };
}

/// Sets C's `errno`.
pub fn set_errno(e: c_int) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// `errno` as C reads it.
pub fn get_errno() -> c_int {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() }
}

/// The stack descriptor behind `fd`, if `fd` is a stack socket.
#[inline]
pub fn stack_fd(fd: c_int) -> Option<i32> {
    let i = usize::try_from(fd).ok().filter(|&i| i < MAX_FD)?;
    match FDS[i].load(Ordering::Acquire) {
        0 => None,
        s => Some(s - 1),
    }
}

/// The stack, started on first use from the environment. `None` (with a message
/// on stderr, once) when it cannot start, or in a forked child.
pub fn stack() -> Option<&'static Stack> {
    if FORKED.load(Ordering::Relaxed) {
        return None;
    }
    STACK.get_or_init(start).as_ref()
}

/// The stack if it was started, without starting it.
pub fn started() -> Option<&'static Stack> {
    STACK.get().and_then(|s| s.as_ref())
}

fn say(msg: &str) {
    let line = format!("netstack: {msg}\n");
    // SAFETY: a valid buffer to stderr.
    unsafe { real::write(2, line.as_ptr().cast(), line.len()) };
}

/// Says on stderr why a forked child cannot use the parent's stack sockets.
pub fn forked_message(what: &str) {
    say(&format!(
        "{what}: this process was forked from the one that runs the network stack; stack \
         sockets work only in that process (a child may exec, or use kernel descriptors)"
    ));
}

fn start() -> Option<Stack> {
    match try_start() {
        Ok(s) => Some(s),
        Err(e) => {
            say(&format!("cannot start the network stack: {e}"));
            None
        }
    }
}

fn try_start() -> Result<Stack, String> {
    let settings = Settings::from_env()?;
    let (device, path) = settings.link.open()?;
    if settings.verbose {
        say(&format!("TAP {} with {path}", settings.link.tap));
    }
    let engine = stack::Engine::new(settings.config.clone()).map_err(|e| e.to_string())?;
    let observer = settings.verbose.then(|| {
        let epoch = Instant::now();
        Box::new(move |dir, frame: &[u8], _now| {
            let arrow = match dir {
                stack::runtime::Direction::In => "<",
                stack::runtime::Direction::Out => ">",
            };
            say(&format!(
                "{:>10.6} {arrow} {}",
                epoch.elapsed().as_secs_f64(),
                stack::wire::pretty::frame(frame)
            ));
        }) as stack::runtime::FrameObserver
    });
    // The driver thread must never take the program's signals (a handler there
    // could call into the stack while the driver holds its lock): it starts with
    // every signal blocked, and inherits that mask.
    // SAFETY: plain signal-mask calls on valid sigset_t values.
    let rt = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        let rt = Runtime::start_with_hooks(
            engine,
            device,
            Hooks {
                observer,
                trace: None,
            },
        );
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        rt
    }
    .map_err(|e| format!("cannot start the driver thread: {e}"))?;
    let net = Stack::new(rt);
    net.set_nameserver(settings.nameserver);
    net.set_blocker(Arc::new(EventfdBlocker))
        .map_err(|e| e.to_string())?;
    net.lock().set_event_hook(Some(Box::new(on_event)));
    EXIT_LINGER_MS.store(
        (settings.exit_linger.max(0.0) * 1000.0).min(i32::MAX as f64) as i32,
        Ordering::Relaxed,
    );
    // SAFETY: registering plain extern "C" functions.
    unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_child));
        libc::atexit(at_exit);
    }
    Ok(net)
}

static EXIT_LINGER_MS: AtomicI32 = AtomicI32::new(5000);

extern "C" fn after_fork_child() {
    FORKED.store(true, Ordering::Relaxed);
}

/// At exit, as the kernel does for a process's sockets: close what is open, then
/// give the connections a bounded time to deliver what they hold and their FIN.
extern "C" fn at_exit() {
    if FORKED.load(Ordering::Relaxed) {
        return;
    }
    let Some(net) = started() else { return };
    for (i, slot) in FDS.iter().enumerate() {
        let s = slot.swap(0, Ordering::AcqRel);
        if s != 0 {
            let _ = net.close(s - 1);
            // SAFETY: the eventfd behind a stack socket's number.
            unsafe { real::close(i as c_int) };
        }
    }
    let until =
        Instant::now() + Duration::from_millis(EXIT_LINGER_MS.load(Ordering::Relaxed) as u64);
    while Instant::now() < until && sending(net) {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// True while a connection still has data or a FIN to deliver, or a frame
/// (a datagram sent just before exit) waits for ARP or for the device.
fn sending(net: &Stack) -> bool {
    let g = net.lock();
    let e = g.engine_ref();
    if e.frames_awaiting_arp() > 0 || e.pending_transmits() > 0 {
        return true;
    }
    e.socket_handles().into_iter().any(|(h, _)| {
        matches!(
            e.tcp_state(h),
            Ok(State::FinWait1 | State::Closing | State::LastAck | State::SynSent)
        ) || (matches!(e.tcp_state(h), Ok(State::Established | State::CloseWait))
            && e.tcp_send_queue_len(h).unwrap_or(0) > 0)
    })
}

/// The runtime's event hook: wake whatever waits on `h` in the kernel.
fn on_event(h: SocketHandle, urgent: bool) {
    let recs = RECS.lock();
    let Some(rec) = recs.get(&h) else { return };
    let one = 1u64.to_ne_bytes();
    if rec.watched > 0 {
        if let Some(&fd) = rec.fds.first() {
            // SAFETY: `fd` is open (removed from `fds` before it is closed).
            unsafe { real::write(fd, one.as_ptr().cast(), 8) };
        }
    }
    for &w in &rec.waiters {
        // SAFETY: a waiting thread's eventfd, open while registered.
        unsafe { real::write(w, one.as_ptr().cast(), 8) };
    }
    if urgent && rec.owner != 0 {
        // SAFETY: kill with a pid or negated process group.
        unsafe { libc::kill(rec.owner, libc::SIGURG) };
    }
}

/// Starts (`true`) or ends watching the eventfd behind stack socket number `fd`
/// (see [`Rec::watched`]). Call before looking at the socket's readiness.
pub fn watch(fd: c_int, on: bool) {
    let (Some(s), Some(net)) = (stack_fd(fd), started()) else {
        return;
    };
    let Ok(h) = net.socket_handle(s) else { return };
    let mut recs = RECS.lock();
    if let Some(rec) = recs.get_mut(&h) {
        rec.watched = if on {
            rec.watched.saturating_add(1)
        } else {
            rec.watched.saturating_sub(1)
        };
    }
}

/// Registers a new stack socket under the program's number `fd`.
pub fn adopt(net: &Stack, sfd: i32, cloexec: bool) -> Result<c_int, c_int> {
    let mut flags = libc::EFD_NONBLOCK;
    if cloexec {
        flags |= libc::EFD_CLOEXEC;
    }
    // SAFETY: eventfd has no preconditions.
    let fd = unsafe { libc::eventfd(0, flags) };
    if fd < 0 {
        let e = get_errno();
        let _ = net.close(sfd);
        return Err(e);
    }
    alias(net, fd, sfd).inspect_err(|_| {
        // SAFETY: our own eventfd.
        unsafe { real::close(fd) };
        let _ = net.close(sfd);
    })?;
    Ok(fd)
}

/// Forgets the program's number `fd` (a stack socket): closes the stack's
/// descriptor (unless in a forked child) and the eventfd.
pub fn release(fd: c_int) -> c_int {
    let Some(i) = usize::try_from(fd).ok().filter(|&i| i < MAX_FD) else {
        return 0;
    };
    let s = FDS[i].swap(0, Ordering::AcqRel);
    if s == 0 {
        return 0;
    }
    let mut r = 0;
    if let Some(net) = started().filter(|_| !FORKED.load(Ordering::Relaxed)) {
        let h = net.socket_handle(s - 1).ok();
        if let Some(h) = h {
            let mut recs = RECS.lock();
            if let Some(rec) = recs.get_mut(&h) {
                rec.fds.retain(|&f| f != fd);
                if rec.fds.is_empty() {
                    recs.remove(&h);
                }
            }
        }
        crate::epoll::forget(fd);
        if let Err(e) = net.close(s - 1) {
            r = e.raw();
        }
    }
    r
}

/// Makes `fd` (already an eventfd dup of a stack socket's) a name for stack
/// descriptor `sfd` too.
pub fn alias(net: &Stack, fd: c_int, sfd: i32) -> Result<(), c_int> {
    if fd as usize >= MAX_FD {
        return Err(libc::EMFILE);
    }
    let h = net.socket_handle(sfd).map_err(|e| e.raw())?;
    RECS.lock().entry(h).or_default().fds.push(fd);
    FDS[fd as usize].store(sfd + 1, Ordering::Release);
    Ok(())
}

/// Blocking calls wait in the kernel, on the thread's own eventfd, so that a
/// signal interrupts them as it would a kernel socket call: a blocking `read` of
/// the eventfd when there is no timeout (the kernel restarts it after a handler
/// installed with `SA_RESTART`, and gives `EINTR` otherwise), `poll` with one
/// (always `EINTR`, as Linux gives for a socket with `SO_RCVTIMEO`).
struct EventfdBlocker;

fn wait_fd() -> c_int {
    WAIT_FD.with(|c| {
        if c.get() < 0 {
            // SAFETY: eventfd then a dup above the low numbers programs expect.
            unsafe {
                let fd = libc::eventfd(0, libc::EFD_CLOEXEC);
                if fd >= 0 {
                    let high = real::fcntl(fd, libc::F_DUPFD_CLOEXEC, 900);
                    if high >= 0 {
                        real::close(fd);
                        c.set(high);
                    } else {
                        c.set(fd);
                    }
                }
            }
        }
        c.get()
    })
}

impl Blocker for EventfdBlocker {
    fn prepare(&self, h: SocketHandle) {
        let w = wait_fd();
        if w >= 0 {
            RECS.lock().entry(h).or_default().waiters.push(w);
        }
    }

    fn wait(&self, _h: SocketHandle, deadline: Option<Instant>) -> Result<WaitOutcome, Errno> {
        let w = wait_fd();
        if w < 0 {
            // No eventfd: wait a little and look again.
            std::thread::sleep(Duration::from_millis(1));
            return Ok(WaitOutcome::Woken);
        }
        let mut buf = [0u8; 8];
        match deadline {
            None => {
                // SAFETY: reading 8 bytes into a valid buffer.
                let n = unsafe { real::read(w, buf.as_mut_ptr().cast(), 8) };
                if n < 0 && get_errno() == libc::EINTR {
                    return Err(Errno::EINTR);
                }
                Ok(WaitOutcome::Woken)
            }
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                let ms = c_int::try_from(left.as_millis().max(1)).unwrap_or(c_int::MAX);
                let mut p = libc::pollfd {
                    fd: w,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                let n = unsafe { real::poll(&mut p, 1, ms) };
                if n < 0 && get_errno() == libc::EINTR {
                    return Err(Errno::EINTR);
                }
                if n > 0 {
                    // SAFETY: readable, so this read does not block.
                    unsafe { real::read(w, buf.as_mut_ptr().cast(), 8) };
                    return Ok(WaitOutcome::Woken);
                }
                if Instant::now() >= d {
                    Ok(WaitOutcome::TimedOut)
                } else {
                    Ok(WaitOutcome::Woken)
                }
            }
        }
    }

    fn finish(&self, h: SocketHandle) {
        let w = wait_fd();
        let mut recs = RECS.lock();
        if let Some(rec) = recs.get_mut(&h) {
            if let Some(i) = rec.waiters.iter().position(|&x| x == w) {
                rec.waiters.swap_remove(i);
            }
            if rec.fds.is_empty() && rec.waiters.is_empty() {
                recs.remove(&h);
            }
        }
    }
}
