//! Packet-level protocol tests in packetdrill's script syntax.
//!
//! This crate holds the script language: [`parse`] turns a script into a
//! [`Script`] syntax tree ([`ast`]), and the `Display` impls in [`print`](mod@print) turn
//! packets and calls back into script text (used to show expected vs. actual
//! packets). The [`interp`] module runs a script against a [`stack::Engine`]
//! on virtual time, playing the remote host; [`run_script`] and
//! [`run_source`] are the entry points (see `GUIDE.md` for the language as the
//! interpreter understands it, the defaults and examples).
//!
//! # Supported syntax
//!
//! ```text
//! --tolerance_usecs=10000              // options first: --name=value or --name
//! /* block comments */                 // and line comments anywhere
//!
//! 0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
//! +0    setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
//! +0    bind(3, ..., ...) = 0
//! +0    listen(3, 1) = 0
//! +0    < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,TS val 100 ecr 0,nop,wscale 7>
//! +0    > S. 0:0(0) ack 1 <...>
//! +.1   < . 1:1(0) ack 1 win 257
//! +0    accept(3, ..., ...) = 4
//! +0    fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
//! +0    read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
//! +0    < P. 1:11(10) ack 1 urg 3 win 100
//! 0.3~0.4 > . 1:1(0) ack 11              // outbound packets only: ranges and *
//! +0...0.200 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 500) = 1
//! +0    < 192.0.2.1:5000 > 192.168.0.1:8080 udp (10)
//! +0    < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]
//! ```
//!
//! * **Times** (microsecond precision): absolute `0.100`, relative to the
//!   previous event `+0.1`, any time `*`, ranges `0.1~0.2` / `+0.1~+0.2`. A
//!   blocking call `+0...0.200 accept(...)` starts at `+0` and must return at
//!   `0.200`, measured on the same base as its start (see [`Syscall::end`]).
//! * **System calls**: `name(args) = result [ERRNO] [(note)]`; any name parses.
//!   Arguments are [`Expr`]s: integers (decimal, `0x` hex, negative), `...`,
//!   constants, `A|B`, strings, arrays `[1]`, structs `{l_onoff=1, l_linger=0}`
//!   and calls `htons(8080)`. An errno must be a known `E...` name after `-1`.
//! * **TCP**: `<`/`>` `[addr:port > addr:port]` flags (`FSRP.UEW`, `-` for
//!   none) `start:end(len)` then `ack N`, `win N`, `urg N` in any order, then an
//!   optional option list (`mss`, `wscale`, `sackOK`, `sack a:b ...`,
//!   `TS val N ecr N`, `nop`, `eol`). No list means no options; `<...>` means
//!   don't check (outbound only); no `win` means the window is not checked
//!   (outbound) or the default window (inbound, see `GUIDE.md`).
//! * **UDP**: `udp (len)`; ports may also follow `udp` (`udp 5000 > 8080 (10)`).
//! * **ICMP**: `icmp type [code] [mtu N] [[start:end(len)] | [udp (len)]]`.
//! * Shell (`` `...` ``) and python (`%{ ... }%`) lines are rejected with an
//!   error, as are two events on one line.
//!
//! Errors carry a line and column:
//!
//! ```
//! let err = drill::parse_named("script.pkt", "0 close(3 = 0").unwrap_err();
//! assert_eq!(err.to_string(), "script.pkt:1:11: expected ',' or ')' after arguments, found '='");
//! ```

#![forbid(unsafe_code)]

pub mod ast;
pub mod compat;
pub mod interp;
pub mod lexer;
pub mod parser;
pub mod print;
pub mod run;

pub use ast::*;
pub use compat::Compat;
pub use interp::{Failure, Settings};
pub use parser::{is_known_errno, parse, parse_named, ParseError};
pub use print::format_micros;
pub use run::{collect_scripts, run_script, run_script_with, run_source, RunOptions, ScriptResult};
