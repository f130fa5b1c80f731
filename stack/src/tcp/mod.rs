//! TCP (RFC 9293). Read RFC 9293 section 3 and RFC 1122 4.2 before touching this.
//!
//! This module holds TCP's building blocks, each in its own file and unit-tested on
//! its own: sequence-number arithmetic ([`seq`]), options ([`options`]), the RFC 6298
//! retransmission timer estimator ([`rtt`]), out-of-order tracking ([`assembler`]),
//! socket buffers ([`buffer`]), congestion control behind a trait ([`congestion`]),
//! RFC 6528 initial sequence numbers ([`isn`]) and timers as data ([`timer`]). The
//! connection state machine, listener queues and the engine glue come with the TCP
//! issue; until then a segment to us is counted as `tcp_no_socket` and dropped.

pub mod assembler;
pub mod buffer;
pub mod congestion;
pub mod isn;
pub mod options;
pub mod rtt;
pub mod seq;
pub mod timer;
