//! The `netstack` tool's reusable parts: the seed documents' example programs
//! (so tests and other programs can run them on any [`sockets::Stack`]), and the
//! ladder view of a transcript.

pub mod examples;
pub mod ladder;
pub mod plot;
pub mod trace;
