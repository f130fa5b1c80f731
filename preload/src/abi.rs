//! The explicit C ABI (`include/netstack.h`): every wrapped call also under a
//! `netstack_` name, for programs that link the library on purpose
//! (`cc prog.c -lnetstack_preload`) and want to say which calls are the stack's.
//! They behave exactly as the wrapped calls: a stack socket goes to the stack,
//! anything else to the C library. [`netstack_start`] starts the stack at once
//! (otherwise the first `AF_INET` socket does).

use libc::{
    c_int, c_ulong, c_void, fd_set, iovec, msghdr, nfds_t, pollfd, size_t, sockaddr, socklen_t,
    ssize_t, timeval,
};

use crate::{calls, io, wait};

macro_rules! aliases {
    ($( $alias:ident => $path:path : fn($($arg:ident : $ty:ty),*) -> $ret:ty; )*) => {
        $(
            /// The call of the same name without the prefix (see the header).
            ///
            /// # Safety
            /// A C call.
            #[no_mangle]
            pub unsafe extern "C" fn $alias($($arg: $ty),*) -> $ret {
                unsafe { $path($($arg),*) }
            }
        )*
    };
}

aliases! {
    netstack_socket => calls::socket: fn(domain: c_int, ty: c_int, protocol: c_int) -> c_int;
    netstack_bind => calls::bind: fn(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    netstack_listen => calls::listen: fn(fd: c_int, backlog: c_int) -> c_int;
    netstack_accept => calls::accept: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    netstack_accept4 => calls::accept4: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    netstack_connect => calls::connect: fn(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    netstack_shutdown => calls::shutdown: fn(fd: c_int, how: c_int) -> c_int;
    netstack_close => calls::close: fn(fd: c_int) -> c_int;
    netstack_getsockname => calls::getsockname: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    netstack_getpeername => calls::getpeername: fn(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    netstack_setsockopt => calls::setsockopt: fn(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: socklen_t) -> c_int;
    netstack_getsockopt => calls::getsockopt: fn(fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut socklen_t) -> c_int;
    netstack_fcntl => calls::fcntl: fn(fd: c_int, cmd: c_int, arg: c_ulong) -> c_int;
    netstack_ioctl => calls::ioctl: fn(fd: c_int, req: c_ulong, arg: *mut c_void) -> c_int;
    netstack_sockatmark => calls::sockatmark: fn(fd: c_int) -> c_int;
    netstack_dup => calls::dup: fn(fd: c_int) -> c_int;
    netstack_dup2 => calls::dup2: fn(fd: c_int, new: c_int) -> c_int;
    netstack_read => io::read: fn(fd: c_int, p: *mut c_void, n: size_t) -> ssize_t;
    netstack_write => io::write: fn(fd: c_int, p: *const c_void, n: size_t) -> ssize_t;
    netstack_readv => io::readv: fn(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    netstack_writev => io::writev: fn(fd: c_int, iov: *const iovec, n: c_int) -> ssize_t;
    netstack_recv => io::recv: fn(fd: c_int, p: *mut c_void, n: size_t, flags: c_int) -> ssize_t;
    netstack_recvfrom => io::recvfrom: fn(fd: c_int, p: *mut c_void, n: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> ssize_t;
    netstack_recvmsg => io::recvmsg: fn(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    netstack_send => io::send: fn(fd: c_int, p: *const c_void, n: size_t, flags: c_int) -> ssize_t;
    netstack_sendto => io::sendto: fn(fd: c_int, p: *const c_void, n: size_t, flags: c_int, addr: *const sockaddr, len: socklen_t) -> ssize_t;
    netstack_sendmsg => io::sendmsg: fn(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    netstack_poll => wait::poll: fn(fds: *mut pollfd, n: nfds_t, timeout: c_int) -> c_int;
    netstack_select => wait::select: fn(n: c_int, r: *mut fd_set, w: *mut fd_set, e: *mut fd_set, t: *mut timeval) -> c_int;
}

/// Starts the stack now, from the `NETSTACK_*` environment: 0, or -1 with a
/// message on stderr when it cannot start (or in a forked child).
#[no_mangle]
pub extern "C" fn netstack_start() -> c_int {
    if crate::state::stack().is_some() {
        0
    } else {
        crate::state::set_errno(libc::ENETDOWN);
        -1
    }
}

/// 1 when `fd` is a stack socket, 0 otherwise.
#[no_mangle]
pub extern "C" fn netstack_is_socket(fd: c_int) -> c_int {
    crate::state::stack_fd(fd).is_some().into()
}
