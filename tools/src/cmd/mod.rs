//! Subcommands of `netstack`.

pub mod bench;
pub mod bench_peer;
pub mod bench_rr;
pub mod bench_scale;
pub mod demo;
pub mod demo_errors;
pub mod drill;
pub mod example;
pub mod example_memory;
pub mod nc;
pub mod ping;
pub mod plot;
pub mod run;
pub mod serve;
pub mod serve_tcp;
pub mod stats;
pub mod up;
