//! The socket calls that create, name, connect, configure, duplicate and close:
//! on a stack socket they go to the stack, on anything else to the C library.

use std::sync::atomic::Ordering;

use libc::{c_int, c_ulong, c_void, sockaddr, socklen_t};
use sockets::{Errno, SockAddrIn, Stack};

use crate::real;
use crate::state::{self, adopt, alias, release, set_errno, stack_fd, FORKED, RECS};

/// The stack for a call on one of its sockets, or `None` (with the message) in a
/// forked child.
pub(crate) fn net_for(call: &str) -> Option<&'static Stack> {
    if FORKED.load(Ordering::Relaxed) {
        state::forked_message(call);
        return None;
    }
    state::started()
}

/// Runs `body` with the stack and the stack descriptor when `fd` is a stack
/// socket, `real` otherwise.
macro_rules! on_stack {
    ($fd:expr, $call:literal, |$net:ident, $sfd:ident| $body:expr, else $real:expr) => {
        match $crate::state::stack_fd($fd) {
            None => $real,
            Some($sfd) => match $crate::calls::net_for($call) {
                Some($net) => $body,
                None => {
                    $crate::state::set_errno(libc::EBADF);
                    -1
                }
            },
        }
    };
}
pub(crate) use on_stack;

/// C's `0` / `-1` + `errno` for a unit result.
pub(crate) fn unit(r: Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => {
            set_errno(e.raw());
            -1
        }
    }
}

/// C's count / `-1` + `errno`.
pub(crate) fn count(r: Result<usize, Errno>) -> isize {
    match r {
        Ok(n) => n as isize,
        Err(e) => {
            set_errno(e.raw());
            -1
        }
    }
}

/// The bytes of a `struct sockaddr` argument (`EFAULT` for NULL with a length).
pub(crate) unsafe fn addr_bytes<'a>(
    addr: *const sockaddr,
    len: socklen_t,
) -> Result<&'a [u8], Errno> {
    if len == 0 {
        return Ok(&[]);
    }
    if addr.is_null() {
        return Err(Errno::EFAULT);
    }
    let len = (len as usize).min(128);
    // SAFETY: the caller promises `len` readable bytes at `addr`.
    Ok(unsafe { std::slice::from_raw_parts(addr.cast::<u8>(), len) })
}

/// Stores an address for `accept`, `getsockname`, `recvfrom`: as much as the
/// caller's length allows, and the real length in it.
pub(crate) unsafe fn put_addr(addr: *mut sockaddr, len: *mut socklen_t, a: &SockAddrIn) {
    if addr.is_null() || len.is_null() {
        return;
    }
    let bytes = a.to_bytes();
    // SAFETY: the caller gave `*len` writable bytes at `addr`.
    unsafe {
        let room = (*len as usize).min(bytes.len());
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.cast::<u8>(), room);
        *len = bytes.len() as socklen_t;
    }
}

/// `socket(2)`: `AF_INET` sockets are the stack's, `AF_INET6` is refused with
/// `EAFNOSUPPORT` (programs then fall back to IPv4), other families are the
/// kernel's.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    match domain {
        libc::AF_INET6 => {
            set_errno(libc::EAFNOSUPPORT);
            -1
        }
        libc::AF_INET => {
            if FORKED.load(Ordering::Relaxed) {
                state::forked_message("socket");
                set_errno(libc::ENETDOWN);
                return -1;
            }
            let Some(net) = state::stack() else {
                set_errno(libc::ENETDOWN);
                return -1;
            };
            match net.socket(domain, ty, protocol) {
                Ok(sfd) => match adopt(net, sfd, true) {
                    Ok(fd) => fd,
                    Err(e) => {
                        set_errno(e);
                        -1
                    }
                },
                Err(e) => {
                    set_errno(e.raw());
                    -1
                }
            }
        }
        // SAFETY: forwarded unchanged.
        _ => unsafe { real::socket(domain, ty, protocol) },
    }
}

/// `bind(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    on_stack!(fd, "bind", |net, s| unit(
        // SAFETY: the caller's address and length.
        unsafe { addr_bytes(addr, len) }.and_then(|b| net.bind_raw(s, b))
    ), else unsafe { real::bind(fd, addr, len) })
}

/// `connect(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    on_stack!(fd, "connect", |net, s| unit(
        // SAFETY: the caller's address and length.
        unsafe { addr_bytes(addr, len) }.and_then(|b| net.connect_raw(s, b))
    ), else unsafe { real::connect(fd, addr, len) })
}

/// `listen(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    on_stack!(fd, "listen", |net, s| unit(net.listen(s, backlog)),
        else unsafe { real::listen(fd, backlog) })
}

unsafe fn accept_on(
    net: &Stack,
    s: i32,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    match net.accept4(s, flags) {
        Ok((ns, from)) => match adopt(net, ns, true) {
            Ok(fd) => {
                // SAFETY: the caller's buffer and length.
                unsafe { put_addr(addr, len, &from) };
                fd
            }
            Err(e) => {
                set_errno(e);
                -1
            }
        },
        Err(e) => {
            set_errno(e.raw());
            -1
        }
    }
}

/// `accept(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    on_stack!(fd, "accept", |net, s| unsafe { accept_on(net, s, addr, len, 0) },
        else unsafe { real::accept(fd, addr, len) })
}

/// `accept4(2)`: `SOCK_NONBLOCK` and `SOCK_CLOEXEC` (stack sockets are always
/// close-on-exec).
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    on_stack!(fd, "accept4", |net, s| unsafe { accept_on(net, s, addr, len, flags) },
        else unsafe { real::accept4(fd, addr, len, flags) })
}

/// `shutdown(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    on_stack!(fd, "shutdown", |net, s| unit(net.shutdown(s, how)),
        else unsafe { real::shutdown(fd, how) })
}

/// `close(2)`: a stack socket's descriptor closes on the stack (the connection
/// closes when its last descriptor does), then its eventfd.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    if stack_fd(fd).is_none() {
        crate::epoll::forget_epoll(fd);
        // SAFETY: forwarded unchanged.
        return unsafe { real::close(fd) };
    }
    let e = release(fd);
    // SAFETY: the eventfd behind the stack socket.
    let r = unsafe { real::close(fd) };
    if e != 0 {
        set_errno(e);
        return -1;
    }
    r
}

/// `getsockname(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    on_stack!(fd, "getsockname", |net, s| match net.getsockname(s) {
        Ok(a) if addr.is_null() || len.is_null() => { let _ = a; set_errno(libc::EFAULT); -1 }
        // SAFETY: the caller's buffer.
        Ok(a) => { unsafe { put_addr(addr, len, &a) }; 0 }
        Err(e) => { set_errno(e.raw()); -1 }
    }, else unsafe { real::getsockname(fd, addr, len) })
}

/// `getpeername(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    on_stack!(fd, "getpeername", |net, s| match net.getpeername(s) {
        Ok(a) if addr.is_null() || len.is_null() => { let _ = a; set_errno(libc::EFAULT); -1 }
        // SAFETY: the caller's buffer.
        Ok(a) => { unsafe { put_addr(addr, len, &a) }; 0 }
        Err(e) => { set_errno(e.raw()); -1 }
    }, else unsafe { real::getpeername(fd, addr, len) })
}

/// `setsockopt(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    on_stack!(fd, "setsockopt", |net, s| {
        // SAFETY: the caller's option bytes.
        match unsafe { addr_bytes(val.cast(), len) } {
            Ok(b) => unit(net.setsockopt(s, level, name, b)),
            Err(e) => unit(Err(e)),
        }
    }, else unsafe { real::setsockopt(fd, level, name, val, len) })
}

/// `getsockopt(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    on_stack!(fd, "getsockopt", |net, s| {
        if len.is_null() || (val.is_null() && unsafe { *len } > 0) {
            set_errno(libc::EFAULT);
            return -1;
        }
        // SAFETY: `*len` writable bytes at `val`.
        let out = unsafe { std::slice::from_raw_parts_mut(val.cast::<u8>(), (*len as usize).min(4096)) };
        match net.getsockopt(s, level, name, out) {
            // SAFETY: checked above.
            Ok(n) => { unsafe { *len = n as socklen_t }; 0 }
            Err(e) => { set_errno(e.raw()); -1 }
        }
    }, else unsafe { real::getsockopt(fd, level, name, val, len) })
}

fn set_owner(net: &Stack, s: i32, owner: c_int) -> c_int {
    match net.socket_handle(s) {
        Ok(h) => {
            RECS.lock().entry(h).or_default().owner = owner;
            0
        }
        Err(e) => unit(Err(e)),
    }
}

fn get_owner(net: &Stack, s: i32) -> c_int {
    match net.socket_handle(s) {
        Ok(h) => RECS.lock().get(&h).map_or(0, |r| r.owner),
        Err(e) => unit(Err(e)),
    }
}

/// `dup` of stack socket `fd` onto a kernel number `new` made by `make`.
fn dup_onto(net: &Stack, s: i32, make: impl FnOnce() -> c_int) -> c_int {
    let ns = match net.dup(s) {
        Ok(ns) => ns,
        Err(e) => return unit(Err(e)),
    };
    let new = make();
    if new < 0 {
        let _ = net.close(ns);
        return -1;
    }
    match alias(net, new, ns) {
        Ok(()) => new,
        Err(e) => {
            let _ = net.close(ns);
            // SAFETY: the number just made.
            unsafe { real::close(new) };
            set_errno(e);
            -1
        }
    }
}

unsafe fn fcntl_any(fd: c_int, cmd: c_int, arg: c_ulong, wide: bool) -> c_int {
    let forward = || {
        // SAFETY: forwarded unchanged.
        unsafe {
            if wide {
                real::fcntl64(fd, cmd, arg)
            } else {
                real::fcntl(fd, cmd, arg)
            }
        }
    };
    on_stack!(fd, "fcntl", |net, s| match cmd {
        libc::F_GETFD | libc::F_SETFD => forward(),
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => dup_onto(net, s, || unsafe {
            real::fcntl(fd, libc::F_DUPFD_CLOEXEC, arg)
        }),
        libc::F_SETOWN => set_owner(net, s, arg as c_int),
        libc::F_GETOWN => get_owner(net, s),
        _ => match net.fcntl(s, cmd, arg as c_int) {
            Ok(v) => v,
            Err(e) => unit(Err(e)),
        },
    }, else forward())
}

/// `fcntl(2)` on a stack socket: `F_GETFL`/`F_SETFL` (`O_NONBLOCK`),
/// `F_SETOWN`/`F_GETOWN` (who gets `SIGURG`), `F_DUPFD`/`F_DUPFD_CLOEXEC`,
/// `F_GETFD`/`F_SETFD` (the kernel's close-on-exec flag).
///
/// # Safety
/// A C call (the variadic argument is read as one machine word, as the x86-64
/// and AArch64 calling conventions pass it).
#[no_mangle]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    unsafe { fcntl_any(fd, cmd, arg, false) }
}

/// `fcntl64`: as [`fcntl`].
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    unsafe { fcntl_any(fd, cmd, arg, true) }
}

/// `ioctl(2)` on a stack socket: `FIONREAD`, `FIONBIO`, `SIOCATMARK`,
/// `SIOCOUTQ`, `SIOCSPGRP`/`FIOSETOWN` and `SIOCGPGRP`/`FIOGETOWN` (as
/// `F_SETOWN`/`F_GETOWN`, Linux's meaning), `FIOCLEX`/`FIONCLEX`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, req: c_ulong, arg: *mut c_void) -> c_int {
    const SIOCSPGRP: c_ulong = 0x8902;
    const SIOCGPGRP: c_ulong = 0x8904;
    const FIOSETOWN: c_ulong = 0x8901;
    const FIOGETOWN: c_ulong = 0x8903;
    on_stack!(fd, "ioctl", |net, s| {
        let p = arg.cast::<c_int>();
        match req {
            libc::FIOCLEX | libc::FIONCLEX => unsafe { real::ioctl(fd, req, arg) },
            _ if p.is_null() => { set_errno(libc::EFAULT); -1 }
            // SAFETY: an int argument, as these requests take.
            SIOCSPGRP | FIOSETOWN => set_owner(net, s, unsafe { *p }),
            SIOCGPGRP | FIOGETOWN => { let o = get_owner(net, s); unsafe { *p = o }; 0 }
            _ => {
                // SAFETY: as above.
                let mut v = unsafe { *p };
                match net.ioctl(s, req, &mut v) {
                    Ok(()) => { unsafe { *p = v }; 0 }
                    Err(e) => unit(Err(e)),
                }
            }
        }
    }, else unsafe { real::ioctl(fd, req, arg) })
}

/// `sockatmark(3)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn sockatmark(fd: c_int) -> c_int {
    on_stack!(fd, "sockatmark", |net, s| match net.sockatmark(s) {
        Ok(v) => v,
        Err(e) => unit(Err(e)),
    }, else {
        let mut v: c_int = 0;
        // SAFETY: SIOCATMARK writes one int.
        if unsafe { real::ioctl(fd, 0x8905, (&mut v as *mut c_int).cast()) } < 0 { -1 } else { v }
    })
}

/// `dup(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    on_stack!(fd, "dup", |net, s| dup_onto(net, s, || unsafe {
        real::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0)
    }), else unsafe { real::dup(fd) })
}

unsafe fn dup_to(fd: c_int, new: c_int, flags: c_int, three: bool) -> c_int {
    if fd == new {
        if three {
            set_errno(libc::EINVAL);
            return -1;
        }
        // SAFETY: dup2(fd, fd) checks fd and changes nothing.
        return unsafe { real::dup2(fd, new) };
    }
    match stack_fd(fd) {
        None => {
            // SAFETY: forwarded; a stack socket at `new` is closed by it.
            let r = unsafe {
                if three {
                    real::dup3(fd, new, flags)
                } else {
                    real::dup2(fd, new)
                }
            };
            if r >= 0 && stack_fd(new).is_some() {
                release(new);
            }
            r
        }
        Some(s) => {
            let Some(net) = net_for("dup2") else {
                set_errno(libc::EBADF);
                return -1;
            };
            // `new` stops being what it was (perhaps another stack socket).
            release(new);
            // SAFETY: the eventfd onto `new`, close-on-exec (stack sockets do
            // not survive exec).
            let r = dup_onto(net, s, || unsafe { real::dup3(fd, new, libc::O_CLOEXEC) });
            if r >= 0 && (0..=2).contains(&new) {
                // SAFETY: swaps the C library's standard stream for `new`.
                unsafe { crate::io::stdio_onto(new) };
            }
            r
        }
    }
}

/// `dup2(2)`: onto 0 and 1 makes a stack socket the standard input and output
/// (inetd style) for `read` and `write`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn dup2(fd: c_int, new: c_int) -> c_int {
    unsafe { dup_to(fd, new, 0, false) }
}

/// `dup3(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn dup3(fd: c_int, new: c_int, flags: c_int) -> c_int {
    unsafe { dup_to(fd, new, flags, true) }
}
