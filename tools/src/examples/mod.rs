//! The seed documents' example programs, translated line by line from C to our BSD
//! socket calls. Each function is one program (or one procedure of the Unix IPC
//! notes); `netstack demo` runs them between two stacks on an in-memory link, and
//! `netstack example ...` runs them over a TAP.
//!
//! The translation keeps the C shape on purpose: `socket`, `bind`, `getsockname`,
//! `sendto`, `perror` and `exit` become method calls and early returns, so a student
//! can lay the two side by side.

// The translations fill `sockaddr_in` field by field, as the C does.
#![allow(clippy::field_reassign_with_default)]

pub mod dgram;
pub mod errors;
pub mod ipc_notes;
pub mod lookup;
pub mod oob;
pub mod rlogin;
pub mod rwho;
pub mod stream;
pub mod unix;

use std::cell::Cell;
use std::fmt;

use sockets::{perror, Errno};

thread_local! {
    /// The host whose program runs on this thread, if the caller named it.
    static HOST: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Names the host whose program runs on the calling thread: the programs' lines
/// then read `[A] Socket has port ...`, so a transcript of two hosts says who
/// printed what. Unnamed, they print exactly what the C programs print.
pub fn label_host(host: &'static str) {
    HOST.with(|h| h.set(Some(host)));
}

/// Starts `f` on a thread that prints as the calling thread's host (a thread in
/// place of a forked child).
pub fn spawn_child<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let host = HOST.with(Cell::get);
    std::thread::spawn(move || {
        HOST.with(|h| h.set(host));
        f()
    })
}

/// One line of a program's output (the C `printf(...\n)`), labelled with its
/// host when the thread has one.
pub fn say(line: fmt::Arguments<'_>) {
    match HOST.with(Cell::get) {
        Some(h) => {
            for l in line.to_string().lines() {
                println!("[{h}] {l}");
            }
        }
        None => println!("{line}"),
    }
}

/// [`say`] as `host`'s line, whichever thread prints it (for a program that
/// plays both hosts' parts in turn).
pub fn say_on(host: &'static str, line: fmt::Arguments<'_>) {
    let before = HOST.with(|h| h.replace(Some(host)));
    say(line);
    HOST.with(|h| h.set(before));
}

/// What a C program does with `perror(msg); exit(1);`: report and stop.
pub fn fail(prefix: &str) -> impl FnOnce(Errno) -> String + '_ {
    move |e| {
        perror(prefix, e);
        format!("{prefix}: {e}")
    }
}

/// The C strings of the examples are NUL-terminated: `printf("%s", buf)` stops at
/// the first NUL.
pub fn c_str(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
