//! Bulk transfers between our stack and the Linux kernel, checked byte by byte: a
//! pattern both sides compute from the offset, so neither keeps the data.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpListener as KernelListener, TcpStream as KernelStream};
use std::time::Duration;

use sockets::net::{TcpListener, TcpStream};

use crate::tap::{TapFixture, KERNEL_ADDR, STACK_ADDR};

/// Socket buffers of 1 MiB each way: bulk transfers are not window-limited.
pub fn bulk_config(c: &mut stack::StackConfig) {
    c.tcp.send_buffer = 1 << 20;
    c.tcp.recv_buffer = 1 << 20;
}

/// How long a blocked read may wait before the transfer counts as stuck.
pub const WAIT: Option<Duration> = Some(Duration::from_secs(30));

/// The byte at offset `i` of every test stream.
pub fn pattern_byte(i: u64) -> u8 {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((x >> 56) as u8) ^ (i as u8)
}

fn fill(buf: &mut [u8], offset: u64) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = pattern_byte(offset + k as u64);
    }
}

/// Writes `total` bytes of the pattern.
pub fn send_pattern(w: &mut impl Write, total: u64) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut sent = 0u64;
    while sent < total {
        let n = (total - sent).min(buf.len() as u64) as usize;
        fill(&mut buf[..n], sent);
        w.write_all(&buf[..n])?;
        sent += n as u64;
    }
    w.flush()
}

/// Reads to EOF and checks every byte against the pattern; returns the count.
pub fn recv_pattern(r: &mut impl Read) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(got);
        }
        for (k, &b) in buf[..n].iter().enumerate() {
            let at = got + k as u64;
            if b != pattern_byte(at) {
                return Err(std::io::Error::other(format!("byte {at} differs")));
            }
        }
        got += n as u64;
    }
}

/// A Linux client sends `bytes` to our server on port 5001, then our server sends
/// `bytes` back on the same connection (after the client's half-close). Panics
/// unless both directions arrive whole and intact.
pub fn linux_client_to_our_server(fx: &TapFixture, bytes: u64) {
    let listener = TcpListener::bind(&fx.stack, "0.0.0.0:5001").unwrap();
    let client = fx.ns.spawn_thread(move || -> std::io::Result<u64> {
        let mut s = KernelStream::connect(SocketAddrV4::new(STACK_ADDR, 5001))?;
        s.set_read_timeout(WAIT)?;
        send_pattern(&mut s, bytes)?;
        s.shutdown(Shutdown::Write)?;
        recv_pattern(&mut s)
    });
    let (mut conn, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip(), std::net::IpAddr::V4(KERNEL_ADDR));
    conn.set_read_timeout(WAIT).unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(recv_pattern(&mut conn).unwrap(), bytes, "Linux to us");
    let t1 = std::time::Instant::now();
    send_pattern(&mut conn, bytes).unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    let back = client.join().unwrap().expect("client side");
    assert_eq!(back, bytes, "us to Linux");
    eprintln!(
        "{bytes} bytes Linux to us in {:?}, us to Linux in {:?}",
        t1 - t0,
        t1.elapsed()
    );
}

/// Our client sends `bytes` to a Linux server on port 5002 that sends `bytes` back
/// after our half-close. Panics unless both directions arrive whole and intact.
pub fn our_client_to_linux_server(fx: &TapFixture, bytes: u64) {
    let listener = fx
        .ns
        .run(|| KernelListener::bind(SocketAddrV4::new(KERNEL_ADDR, 5002)))
        .unwrap();
    let server = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut s, _) = listener.accept()?;
        s.set_read_timeout(WAIT)?;
        let got = recv_pattern(&mut s)?;
        send_pattern(&mut s, bytes)?;
        s.shutdown(Shutdown::Write)?;
        Ok(got)
    });
    let mut conn = TcpStream::connect(&fx.stack, SocketAddrV4::new(KERNEL_ADDR, 5002)).unwrap();
    conn.set_read_timeout(WAIT).unwrap();
    send_pattern(&mut conn, bytes).unwrap();
    conn.shutdown(Shutdown::Write).unwrap();
    assert_eq!(recv_pattern(&mut conn).unwrap(), bytes, "Linux to us");
    assert_eq!(
        server.join().unwrap().expect("server side"),
        bytes,
        "us to Linux"
    );
}
