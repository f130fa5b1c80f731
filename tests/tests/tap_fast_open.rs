//! TCP Fast Open (RFC 7413) with the Linux kernel over a TAP in a private
//! namespace, both ways: the first connection gets a cookie, the second
//! carries its request on the SYN. Counted on both sides (our counters, the
//! kernel's TcpExt counters of the namespace). Skipped without root unless
//! NETSTACK_REQUIRE_TAP=1.

use std::io::{self, Read, Write};
use std::net::{SocketAddrV4, TcpListener as KernelListener, TcpStream as KernelStream};
use std::os::fd::{AsRawFd, FromRawFd};

use netstack_tests::skip_unless_tap;
use netstack_tests::tap::{TapFixture, TapOptions, KERNEL_ADDR, STACK_ADDR};
use sockets::{SockAddrIn, AF_INET, IPPROTO_TCP, MSG_FASTOPEN, SOCK_STREAM, TCP_FASTOPEN};
use stack::Stat;

const REQUEST: &[u8] = b"GET / over a fast open";

fn fixture() -> TapFixture {
    let fx = TapFixture::new(TapOptions::default()).expect("fixture");
    // The namespace's kernel: Fast Open client and server (Linux's default is
    // the client only).
    fx.ns
        .exec_ok(&["sysctl", "-q", "-w", "net.ipv4.tcp_fastopen=3"])
        .expect("sysctl");
    fx
}

/// A TcpExt counter of the namespace's kernel (`/proc/net/netstat`).
fn kernel_counter(fx: &TapFixture, name: &str) -> u64 {
    let text = fx
        .ns
        .exec_ok(&["cat", "/proc/net/netstat"])
        .expect("netstat");
    let lines: Vec<&str> = text.lines().collect();
    for pair in lines.chunks(2) {
        let [names, values] = pair else { continue };
        if !names.starts_with("TcpExt:") {
            continue;
        }
        for (n, v) in names.split_whitespace().zip(values.split_whitespace()) {
            if n == name {
                return v.parse().expect("a number");
            }
        }
    }
    panic!("no TcpExt counter {name}");
}

/// A kernel client's `sendto(MSG_FASTOPEN)` of `REQUEST`, then the whole reply.
/// (The standard library has no `sendto` on streams: libc, hence `unsafe`.)
#[allow(unsafe_code)]
fn kernel_fast_open_client(port: u16) -> io::Result<Vec<u8>> {
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(STACK_ADDR).to_be(),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: a new socket, owned by the stream built from it; `addr` and
    // `REQUEST` outlive the call.
    let mut stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = KernelStream::from_raw_fd(fd);
        let n = libc::sendto(
            fd,
            REQUEST.as_ptr().cast(),
            REQUEST.len(),
            libc::MSG_FASTOPEN,
            std::ptr::addr_of!(addr).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if n != REQUEST.len() as isize {
            return Err(io::Error::last_os_error());
        }
        stream
    };
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(reply)
}

#[test]
fn linux_client_sends_its_second_request_on_the_syn_to_our_server() {
    skip_unless_tap!();
    let fx = fixture();
    let s = &fx.stack;
    let l = s.socket(AF_INET, SOCK_STREAM, 0).unwrap();
    s.setsockopt(l, IPPROTO_TCP, TCP_FASTOPEN, &5i32).unwrap();
    s.bind(l, &SockAddrIn::new(std::net::Ipv4Addr::UNSPECIFIED, 5101))
        .unwrap();
    s.listen(l, 5).unwrap();
    for round in 0..2 {
        let client = fx.ns.spawn_thread(|| kernel_fast_open_client(5101));
        let (fd, _) = s.accept(l).unwrap();
        let mut got = Vec::new();
        while got.len() < REQUEST.len() {
            let mut buf = [0u8; 256];
            let n = s.read(fd, &mut buf).unwrap();
            assert!(n > 0, "round {round}: end of stream before the request");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, REQUEST);
        s.write(fd, format!("reply {round}").as_bytes()).unwrap();
        s.close(fd).unwrap();
        assert_eq!(
            client.join().unwrap().unwrap(),
            format!("reply {round}").as_bytes()
        );
    }
    s.close(l).unwrap();
    let c = fx.counters();
    assert_eq!(c.stat(Stat::TcpFastOpenCookieSent), 1, "{c:?}");
    assert_eq!(c.stat(Stat::TcpFastOpenPassive), 1, "{c:?}");
    assert_eq!(kernel_counter(&fx, "TCPFastOpenActive"), 1);
}

/// `TCP_FASTOPEN` on a kernel listener (no standard library call for it).
#[allow(unsafe_code)]
fn kernel_fast_open_listener(port: u16) -> io::Result<KernelListener> {
    let l = KernelListener::bind(SocketAddrV4::new(KERNEL_ADDR, port))?;
    let qlen: libc::c_int = 5;
    // SAFETY: a valid descriptor and an int option.
    let r = unsafe {
        libc::setsockopt(
            l.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_FASTOPEN,
            std::ptr::addr_of!(qlen).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(l)
}

#[test]
fn our_client_sends_its_second_request_on_the_syn_to_a_linux_server() {
    skip_unless_tap!();
    let fx = fixture();
    let (listening, ready) = std::sync::mpsc::channel::<()>();
    let server = fx.ns.spawn_thread(move || -> io::Result<()> {
        let l = kernel_fast_open_listener(5102)?;
        let _ = listening.send(());
        for round in 0..2 {
            let (mut c, _) = l.accept()?;
            let mut got = vec![0u8; REQUEST.len()];
            c.read_exact(&mut got)?;
            if got != REQUEST {
                return Err(io::Error::other(format!("round {round}: {got:?}")));
            }
            c.write_all(format!("reply {round}").as_bytes())?;
        }
        Ok(())
    });
    ready.recv().expect("the Linux server listens");
    let s = &fx.stack;
    let to = SockAddrIn::new(KERNEL_ADDR, 5102);
    for round in 0..2 {
        let fd = s.socket(AF_INET, SOCK_STREAM, 0).unwrap();
        let sent = s.sendto(fd, REQUEST, MSG_FASTOPEN, &to).unwrap();
        assert_eq!(
            sent,
            REQUEST.len(),
            "round {round}: a blocking sendto sends it all"
        );
        let mut reply = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = s.read(fd, &mut buf).unwrap();
            if n == 0 {
                break;
            }
            reply.extend_from_slice(&buf[..n]);
        }
        assert_eq!(reply, format!("reply {round}").as_bytes());
        s.close(fd).unwrap();
    }
    server.join().unwrap().unwrap();
    let c = fx.counters();
    assert_eq!(c.stat(Stat::TcpFastOpenActive), 1, "{c:?}");
    assert_eq!(kernel_counter(&fx, "TCPFastOpenPassive"), 1);
    assert!(kernel_counter(&fx, "TCPFastOpenCookieReqd") >= 1);
}
