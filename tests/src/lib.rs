//! Shared fixtures for netstack's integration tests.
//!
//! - [`netns`]: a private network namespace per test (TAP tests never touch the root
//!   namespace), with helpers to run kernel-side peers inside it.
//! - [`tap`]: our stack on a TAP inside such a namespace, with the Linux kernel as
//!   the peer on the other side.
//! - [`pypeer`]: a python3 peer inside a namespace, driven line by line (stdin and
//!   stdout) while the test interleaves with it.
//! - [`transfer`]: bulk transfers with Linux, checked byte by byte.
//! - [`procfs`]: a process's resident memory.
//! - [`fuzz`]: the fuzz harnesses, shared by the cargo-fuzz targets in `fuzz/` and
//!   the corpus replay test.

pub mod dnsmasq;
pub mod fuzz;
pub mod netns;
pub mod procfs;
pub mod pypeer;
pub mod tap;
pub mod transfer;
