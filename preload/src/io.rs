//! Data transfer: `read`, `write`, `send*`, `recv*`, the vectored forms,
//! `sendfile`, glibc's fortified variants and `fdopen`. A send that fails with
//! `EPIPE` raises `SIGPIPE` in the calling thread unless `MSG_NOSIGNAL` is given,
//! as Linux does.

use std::io::{IoSlice, IoSliceMut};

use libc::{c_char, c_int, c_void, iovec, msghdr, off_t, size_t, sockaddr, socklen_t, ssize_t};
use sockets::msg::MsgHdr;
use sockets::{Errno, SockAddrIn};

use crate::calls::{addr_bytes, count, on_stack, put_addr};
use crate::real;
use crate::state::set_errno;

/// Linux's largest single transfer (`MAX_RW_COUNT`).
const MAX_RW: usize = 0x7fff_f000;

fn sent(r: Result<usize, Errno>, flags: c_int) -> ssize_t {
    if r == Err(Errno::EPIPE) && flags & libc::MSG_NOSIGNAL == 0 {
        // SAFETY: raise has no preconditions.
        unsafe { libc::raise(libc::SIGPIPE) };
    }
    count(r)
}

unsafe fn buf<'a>(p: *const c_void, n: size_t) -> Result<&'a [u8], Errno> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller's buffer of `n` bytes (bounded as Linux bounds it).
    Ok(unsafe { std::slice::from_raw_parts(p.cast(), n.min(MAX_RW)) })
}

unsafe fn buf_mut<'a>(p: *mut c_void, n: size_t) -> Result<&'a mut [u8], Errno> {
    if n == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: as above, writable.
    Ok(unsafe { std::slice::from_raw_parts_mut(p.cast(), n.min(MAX_RW)) })
}

/// `read(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn read(fd: c_int, p: *mut c_void, n: size_t) -> ssize_t {
    on_stack!(fd, "read", |net, s| count(
        unsafe { buf_mut(p, n) }.and_then(|b| net.read(s, b))
    ), else unsafe { real::read(fd, p, n) })
}

/// glibc's fortified `read`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn __read_chk(fd: c_int, p: *mut c_void, n: size_t, room: size_t) -> ssize_t {
    if n > room {
        chk_fail();
    }
    unsafe { read(fd, p, n) }
}

/// `write(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn write(fd: c_int, p: *const c_void, n: size_t) -> ssize_t {
    on_stack!(fd, "write", |net, s| sent(
        unsafe { buf(p, n) }.and_then(|b| net.write(s, b)), 0
    ), else unsafe { real::write(fd, p, n) })
}

/// `recv(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, p: *mut c_void, n: size_t, flags: c_int) -> ssize_t {
    on_stack!(fd, "recv", |net, s| count(
        unsafe { buf_mut(p, n) }.and_then(|b| net.recv(s, b, flags))
    ), else unsafe { real::recv(fd, p, n, flags) })
}

/// glibc's fortified `recv`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    p: *mut c_void,
    n: size_t,
    room: size_t,
    flags: c_int,
) -> ssize_t {
    if n > room {
        chk_fail();
    }
    unsafe { recv(fd, p, n, flags) }
}

/// `recvfrom(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    p: *mut c_void,
    n: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> ssize_t {
    on_stack!(fd, "recvfrom", |net, s| {
        match unsafe { buf_mut(p, n) }.and_then(|b| net.recvfrom(s, b, flags)) {
            Ok((k, from)) => {
                // Linux leaves the address alone on a stream socket.
                if from != SockAddrIn::default() {
                    unsafe { put_addr(addr, len, &from) };
                } else if !len.is_null() && !addr.is_null() {
                    unsafe { *len = 0 };
                }
                k as ssize_t
            }
            Err(e) => count(Err(e)),
        }
    }, else unsafe { real::recvfrom(fd, p, n, flags, addr, len) })
}

/// glibc's fortified `recvfrom`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    p: *mut c_void,
    n: size_t,
    room: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> ssize_t {
    if n > room {
        chk_fail();
    }
    unsafe { recvfrom(fd, p, n, flags, addr, len) }
}

/// `send(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, p: *const c_void, n: size_t, flags: c_int) -> ssize_t {
    on_stack!(fd, "send", |net, s| sent(
        unsafe { buf(p, n) }.and_then(|b| net.send(s, b, flags)), flags
    ), else unsafe { real::send(fd, p, n, flags) })
}

/// `sendto(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    p: *const c_void,
    n: size_t,
    flags: c_int,
    addr: *const sockaddr,
    len: socklen_t,
) -> ssize_t {
    on_stack!(fd, "sendto", |net, s| {
        let r = unsafe { buf(p, n) }.and_then(|b| {
            if addr.is_null() {
                net.send(s, b, flags)
            } else {
                unsafe { addr_bytes(addr, len) }.and_then(|a| net.sendto_raw(s, b, flags, a))
            }
        });
        sent(r, flags)
    }, else unsafe { real::sendto(fd, p, n, flags, addr, len) })
}

/// The caller's `iovec` array (`EINVAL` for a count outside 0..=1024, Linux's
/// `UIO_MAXIOV`; `EFAULT` for NULL).
unsafe fn iovecs<'a>(iov: *const iovec, n: c_int) -> Result<&'a [iovec], Errno> {
    if !(0..=1024).contains(&n) {
        return Err(Errno::EINVAL);
    }
    if n == 0 {
        return Ok(&[]);
    }
    if iov.is_null() {
        return Err(Errno::EFAULT);
    }
    // SAFETY: the caller's array of `n` iovecs.
    Ok(unsafe { std::slice::from_raw_parts(iov, n as usize) })
}

unsafe fn slices<'a>(iov: *const iovec, n: c_int) -> Result<Vec<IoSlice<'a>>, Errno> {
    unsafe { iovecs(iov, n) }?
        .iter()
        // SAFETY: each iovec a readable buffer.
        .map(|io| unsafe { buf(io.iov_base, io.iov_len) }.map(IoSlice::new))
        .collect()
}

unsafe fn slices_mut<'a>(iov: *const iovec, n: c_int) -> Result<Vec<IoSliceMut<'a>>, Errno> {
    unsafe { iovecs(iov, n) }?
        .iter()
        // SAFETY: each iovec a writable buffer.
        .map(|io| unsafe { buf_mut(io.iov_base, io.iov_len) }.map(IoSliceMut::new))
        .collect()
}

/// `readv(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    on_stack!(fd, "readv", |net, s| count(
        unsafe { slices_mut(iov, n) }.and_then(|mut v| net.readv(s, &mut v))
    ), else unsafe { real::readv(fd, iov, n) })
}

/// `writev(2)`.
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t {
    on_stack!(fd, "writev", |net, s| sent(
        unsafe { slices(iov, n) }.and_then(|v| net.writev(s, &v)), 0
    ), else unsafe { real::writev(fd, iov, n) })
}

/// `sendmsg(2)`: `msg_name` and `msg_iov`; control data is refused
/// (`EOPNOTSUPP`: the stack passes no ancillary data).
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    on_stack!(fd, "sendmsg", |net, s| {
        let r = (|| {
            if msg.is_null() {
                return Err(Errno::EFAULT);
            }
            // SAFETY: the caller's msghdr.
            let m = unsafe { &*msg };
            if m.msg_controllen > 0 {
                return Err(Errno::EOPNOTSUPP);
            }
            let iov = unsafe { slices(m.msg_iov, m.msg_iovlen as c_int) }?;
            let name = if m.msg_name.is_null() || m.msg_namelen == 0 {
                None
            } else {
                Some(SockAddrIn::from_bytes(unsafe {
                    addr_bytes(m.msg_name.cast(), m.msg_namelen)
                }?)?)
            };
            net.sendmsg(s, &MsgHdr { msg_name: name, msg_iov: &iov }, flags)
        })();
        sent(r, flags)
    }, else unsafe { real::sendmsg(fd, msg, flags) })
}

/// `recvmsg(2)`: fills `msg_name`, the buffers and `msg_flags` (`MSG_TRUNC`);
/// no control data (`msg_controllen` becomes 0).
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    on_stack!(fd, "recvmsg", |net, s| {
        if msg.is_null() {
            return count(Err(Errno::EFAULT));
        }
        // SAFETY: the caller's msghdr.
        let m = unsafe { &mut *msg };
        let r = unsafe { slices_mut(m.msg_iov, m.msg_iovlen as c_int) }
            .and_then(|mut v| net.recvmsg(s, &mut v, flags));
        match r {
            Ok(got) => {
                if !m.msg_name.is_null() {
                    if got.msg_name != SockAddrIn::default() {
                        unsafe { put_addr(m.msg_name.cast(), &mut m.msg_namelen, &got.msg_name) };
                    } else {
                        m.msg_namelen = 0;
                    }
                }
                m.msg_controllen = 0;
                m.msg_flags = got.msg_flags;
                got.len as ssize_t
            }
            Err(e) => count(Err(e)),
        }
    }, else unsafe { real::recvmsg(fd, msg, flags) })
}

/// `sendfile(2)` to a stack socket: the file's bytes read with the C library and
/// written to the stack (from `*off`, which advances, or from the file's offset).
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn sendfile(out: c_int, inp: c_int, off: *mut off_t, n: size_t) -> ssize_t {
    on_stack!(out, "sendfile", |net, s| {
        let mut chunk = vec![0u8; n.clamp(1, 1 << 16)];
        let mut total = 0usize;
        while total < n {
            let want = (n - total).min(chunk.len());
            // SAFETY: reading into our own buffer.
            let got = unsafe {
                if off.is_null() {
                    real::read(inp, chunk.as_mut_ptr().cast(), want)
                } else {
                    libc::pread(inp, chunk.as_mut_ptr().cast(), want, *off)
                }
            };
            if got < 0 {
                return if total > 0 { total as ssize_t } else { -1 };
            }
            if got == 0 {
                break;
            }
            match net.write(s, &chunk[..got as usize]) {
                Ok(k) => {
                    total += k;
                    if !off.is_null() {
                        unsafe { *off += k as off_t };
                    }
                    if k < got as usize {
                        if off.is_null() {
                            // Put the unsent rest back for the next read.
                            unsafe { libc::lseek(inp, -((got as usize - k) as off_t), libc::SEEK_CUR) };
                        }
                        break;
                    }
                }
                Err(e) if total == 0 => return sent(Err(e), 0),
                Err(_) => break,
            }
        }
        total as ssize_t
    }, else unsafe { real::sendfile(out, inp, off, n) })
}

/// glibc's `__chk_fail`: a fortified call's buffer was smaller than its length.
pub(crate) fn chk_fail() -> ! {
    let msg = b"*** buffer overflow detected ***: terminated\n";
    // SAFETY: write then abort, as glibc does.
    unsafe {
        real::write(2, msg.as_ptr().cast(), msg.len());
        libc::abort()
    }
}

/// glibc's `cookie_io_functions_t`.
#[repr(C)]
struct CookieIo {
    read: Option<unsafe extern "C" fn(*mut c_void, *mut c_char, size_t) -> ssize_t>,
    write: Option<unsafe extern "C" fn(*mut c_void, *const c_char, size_t) -> ssize_t>,
    seek: Option<unsafe extern "C" fn(*mut c_void, *mut i64, c_int) -> c_int>,
    close: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
}

extern "C" {
    fn fopencookie(cookie: *mut c_void, mode: *const c_char, funcs: CookieIo) -> *mut libc::FILE;
}

unsafe extern "C" fn cookie_read(c: *mut c_void, p: *mut c_char, n: size_t) -> ssize_t {
    unsafe { read(c as usize as c_int, p.cast(), n) }
}

unsafe extern "C" fn cookie_write(c: *mut c_void, p: *const c_char, n: size_t) -> ssize_t {
    let r = unsafe { write(c as usize as c_int, p.cast(), n) };
    // A stdio write function reports failure as 0.
    r.max(0)
}

unsafe extern "C" fn cookie_close(c: *mut c_void) -> c_int {
    unsafe { crate::calls::close(c as usize as c_int) }
}

extern "C" {
    static mut stdin: *mut libc::FILE;
    static mut stdout: *mut libc::FILE;
    static mut stderr: *mut libc::FILE;
}

/// After `dup2(sock, n)` for `n` in 0..=2: the C library's `stdin`, `stdout` or
/// `stderr` becomes a stream over descriptor `n` through this library, so that
/// `printf`, `fgets` and friends reach the socket (glibc's streams write with its
/// internal `write`, which the library cannot see). The old stream is flushed and
/// left open; buffering is as glibc gives a socket (full; `stderr` unbuffered).
pub(crate) unsafe fn stdio_onto(n: c_int) {
    let mode: &[u8] = if n == 0 { b"r\0" } else { b"w\0" };
    let funcs = CookieIo {
        read: Some(cookie_read),
        write: Some(cookie_write),
        seek: None,
        close: None,
    };
    // SAFETY: the cookie is the descriptor number; the globals are glibc's.
    unsafe {
        let f = fopencookie(n as usize as *mut c_void, mode.as_ptr().cast(), funcs);
        if f.is_null() {
            return;
        }
        match n {
            0 => stdin = f,
            1 => {
                libc::fflush(stdout);
                stdout = f;
            }
            _ => {
                libc::fflush(stderr);
                libc::setvbuf(f, std::ptr::null_mut(), libc::_IONBF, 0);
                stderr = f;
            }
        }
    }
}

/// `fdopen(3)`: on a stack socket, a stdio stream whose reads and writes go to
/// the stack (`fileno` of it gives -1; `fclose` closes the socket).
///
/// # Safety
/// A C call.
#[no_mangle]
pub unsafe extern "C" fn fdopen(fd: c_int, mode: *const c_char) -> *mut libc::FILE {
    if crate::state::stack_fd(fd).is_none() {
        return unsafe { real::fdopen(fd, mode) };
    }
    let funcs = CookieIo {
        read: Some(cookie_read),
        write: Some(cookie_write),
        seek: None,
        close: Some(cookie_close),
    };
    // SAFETY: the cookie is the descriptor number, read back by the functions.
    let f = unsafe { fopencookie(fd as usize as *mut c_void, mode, funcs) };
    if f.is_null() {
        set_errno(libc::ENOMEM);
    }
    f
}
