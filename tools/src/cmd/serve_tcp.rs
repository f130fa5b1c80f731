//! The TCP halves of `serve` and `nc`, over the TCP socket API.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::cmd::serve::Service;

/// Serves `service` over TCP on `port`.
pub fn serve(
    _net: &sockets::Stack,
    _service: Service,
    _port: u16,
    _backlog: i32,
    _until: Option<std::time::Instant>,
) -> Result<(), String> {
    Err("TCP services need the TCP socket API, which is being added; use --udp".into())
}

/// netcat over TCP.
pub fn nc_tcp(
    _net: &sockets::Stack,
    _host: Option<Ipv4Addr>,
    _port: u16,
    _oob_prefix: Option<&str>,
    _quit: Duration,
) -> Result<(), String> {
    Err("TCP netcat needs the TCP socket API, which is being added; use -u".into())
}
