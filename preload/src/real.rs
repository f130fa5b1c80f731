//! The C library's own functions, found with `dlsym(RTLD_NEXT, name)`: every call
//! on a descriptor that is not a stack socket goes to them unchanged.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One resolved function pointer (0 until first use).
pub struct Real {
    name: &'static [u8],
    addr: AtomicUsize,
}

impl Real {
    /// The function `name` (NUL-terminated) of the next object in the search order.
    pub const fn new(name: &'static [u8]) -> Real {
        Real {
            name,
            addr: AtomicUsize::new(0),
        }
    }

    /// The function's address; aborts the process with a message when the C
    /// library lacks it (nothing sensible can follow).
    pub fn addr(&self) -> usize {
        let a = self.addr.load(Ordering::Relaxed);
        if a != 0 {
            return a;
        }
        // SAFETY: `name` is a NUL-terminated constant; dlsym has no other
        // precondition.
        let p = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr().cast()) };
        if p.is_null() {
            let msg = b"netstack preload: the C library has no function it must wrap\n";
            // SAFETY: writing a constant buffer to stderr, then aborting.
            unsafe {
                libc::syscall(libc::SYS_write, 2, msg.as_ptr(), msg.len());
                libc::abort();
            }
        }
        self.addr.store(p as usize, Ordering::Relaxed);
        p as usize
    }
}

/// Declares the real functions: `name: fn(args) -> ret;` gives a function
/// `real::name(args) -> ret` calling the C library's one.
macro_rules! reals {
    ($( $name:ident : fn($($arg:ident : $ty:ty),*) -> $ret:ty; )*) => {
        $(
            #[allow(non_snake_case, clippy::missing_safety_doc)]
            /// The C library's function of this name.
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                static R: Real = Real::new(concat!(stringify!($name), "\0").as_bytes());
                // SAFETY: the symbol has this C signature in glibc.
                let f: unsafe extern "C" fn($($ty),*) -> $ret =
                    unsafe { std::mem::transmute::<usize, _>(R.addr()) };
                unsafe { f($($arg),*) }
            }
        )*
    };
}

use libc::{
    c_int, c_ulong, c_void, epoll_event, fd_set, iovec, msghdr, nfds_t, off_t, pollfd, sigset_t,
    size_t, sockaddr, socklen_t, ssize_t, timespec, timeval,
};

reals! {
    socket: fn(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    bind: fn(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    listen: fn(fd: c_int, backlog: c_int) -> c_int;
    accept: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    accept4: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    connect: fn(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    read: fn(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t;
    write: fn(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t;
    readv: fn(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    writev: fn(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    recv: fn(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t;
    recvfrom: fn(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> ssize_t;
    recvmsg: fn(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    send: fn(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t;
    sendto: fn(fd: c_int, buf: *const c_void, n: size_t, flags: c_int, addr: *const sockaddr, len: socklen_t) -> ssize_t;
    sendmsg: fn(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    sendfile: fn(out: c_int, inp: c_int, off: *mut off_t, n: size_t) -> ssize_t;
    close: fn(fd: c_int) -> c_int;
    shutdown: fn(fd: c_int, how: c_int) -> c_int;
    getsockname: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    getpeername: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    getsockopt: fn(fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut socklen_t) -> c_int;
    setsockopt: fn(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: socklen_t) -> c_int;
    fcntl: fn(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
    fcntl64: fn(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
    ioctl: fn(fd: c_int, req: c_ulong, arg: *mut c_void) -> c_int;
    select: fn(n: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, t: *mut timeval) -> c_int;
    pselect: fn(n: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, t: *const timespec, mask: *const sigset_t) -> c_int;
    poll: fn(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int;
    ppoll: fn(fds: *mut pollfd, n: nfds_t, t: *const timespec, mask: *const sigset_t) -> c_int;
    epoll_ctl: fn(epfd: c_int, op: c_int, fd: c_int, ev: *mut epoll_event) -> c_int;
    epoll_pwait: fn(epfd: c_int, ev: *mut epoll_event, n: c_int, timeout: c_int, mask: *const sigset_t) -> c_int;
    dup: fn(fd: c_int) -> c_int;
    dup2: fn(fd: c_int, new: c_int) -> c_int;
    dup3: fn(fd: c_int, new: c_int, flags: c_int) -> c_int;
    fdopen: fn(fd: c_int, mode: *const libc::c_char) -> *mut libc::FILE;
}
