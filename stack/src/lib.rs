//! netstack's protocol engine: a userspace TCP/UDP/IPv4 stack.
//!
//! Layers (see DESIGN.md): [`wire`] (formats), [`link`] (Ethernet, ARP), [`ip`] (IPv4,
//! fragments, ICMP), [`udp`], `tcp`, the sans-IO [`Engine`] facade, [`device`]s, and
//! the [`runtime`] that drives an engine on a thread with the real clock.
//!
//! The engine is sans-IO: it never reads a clock or an unseeded random generator and
//! never touches the OS, so every test can run on virtual time. Only `device` and
//! `runtime` touch the OS.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod config;
pub mod counters;
mod cx;
pub mod device;
pub mod engine;
pub mod error;
pub mod ip;
pub mod link;
pub mod ping;
pub mod ports;
pub mod runtime;
pub mod sim;
pub mod socket;
pub mod stats;
pub mod tcp;
pub mod time;
pub mod udp;
pub mod wire;

#[cfg(test)]
mod engine_tests;

pub use config::StackConfig;
pub use counters::{Counters, DropReason, Stat};
pub use engine::{Engine, Event};
pub use error::NetError;
pub use ping::EchoReply;
pub use socket::{Readiness, SocketHandle, SocketOptions};
pub use time::{Duration, Instant};
pub use wire::EthernetAddress;
