//! Subcommands of `netstack`.

pub mod demo;
pub mod ping;
pub mod up;
