//! `libnetstack_preload.so`: unmodified programs on a netstack stack.
//!
//! Loaded with `LD_PRELOAD` (which `netstack run` sets), the library takes over
//! the socket calls of a dynamically linked program: `AF_INET` stream and datagram
//! sockets live on one netstack stack per process, started on the first `socket`
//! call from the `NETSTACK_*` environment (TAP, address, gateway, MTU, capture,
//! loss, seed: see [`mod@env`]). Everything else (files, pipes, `AF_UNIX`, the
//! terminal) goes to the C library untouched; `AF_INET6` sockets are refused
//! with `EAFNOSUPPORT` so programs fall back to IPv4.
//!
//! - **Descriptors.** A stack socket is also a kernel descriptor, an eventfd, and
//!   the program sees the eventfd's number: numbers never collide with files
//!   opened later, and `poll`, `select` and `epoll` wait on stack sockets and
//!   kernel descriptors in one call ([`wait`], [`epoll`]). See [`state`].
//! - **Blocking and signals.** A blocking call waits in the kernel on a per-thread
//!   eventfd, so a signal handler interrupts it as it would a kernel socket call:
//!   restarted under `SA_RESTART`, `EINTR` otherwise (always `EINTR` with a
//!   timeout). Urgent data announced on a socket sends `SIGURG` to the owner set
//!   with `F_SETOWN` or `SIOCSPGRP`; a send failing with `EPIPE` raises `SIGPIPE`
//!   unless `MSG_NOSIGNAL`. The stack's driver thread blocks every signal.
//! - **fork and exec.** The stack runs in the process that started it. A forked
//!   child may close the sockets it inherited (only its own numbers close), use
//!   kernel descriptors, and exec; any other call on a stack socket, or a new
//!   `AF_INET` socket, fails (`EBADF`, `ENETDOWN`) with a message on stderr.
//!   Stack sockets are close-on-exec: they do not survive exec.
//! - **Exit.** At `exit`, open sockets are closed and the process waits (at most
//!   `NETSTACK_EXIT_LINGER` seconds, default 5) until its connections delivered
//!   what they hold, as the kernel would after the process ended.
//!
//! Not covered: calls glibc makes internally (its DNS resolver's sockets go to the
//! kernel; stdio is handled apart: `fdopen` on a stack socket, and `dup2` of one onto
//! 0, 1 or 2, give streams through this library), statically linked programs (they
//! cannot be preloaded; `netstack.h` is for programs linking the library), ancillary
//! data.
#![allow(unsafe_code)]
#![allow(clippy::missing_safety_doc)]

pub mod abi;
pub mod calls;
pub mod env;
pub mod epoll;
pub mod io;
pub mod real;
pub mod state;
pub mod wait;
