//! Tests of the runtime: its secrets and its trace sink.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::config::StackConfig;
use crate::device::memory::MemoryLink;
use crate::error::NetError;
use crate::time::Duration;
use crate::wire::EthernetAddress;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// RFC 6528: under a runtime, the ISN of a 4-tuple is not a function of the
/// configuration: two runtimes with the same default configuration choose
/// different ones (the secret comes from the OS); `deterministic` keeps them
/// reproducible.
#[test]
fn runtimes_draw_their_secrets_from_the_os_unless_deterministic() {
    let isn = |deterministic: bool| {
        let mut cfg = StackConfig::new(A, 24);
        cfg.deterministic = deterministic;
        let (la, mut lb) = MemoryLink::pair(1500);
        let rt = Runtime::start(Engine::new(cfg).unwrap(), la).unwrap();
        {
            let mut g = rt.lock();
            let now = g.now();
            let e = g.engine();
            e.learn_neighbour(now, B, EthernetAddress([2, 0, 0, 0, 0, 0x42]));
            let s = e.tcp_open().unwrap();
            e.tcp_bind(s, SocketAddrV4::new(A, 40000)).unwrap();
            assert_eq!(
                e.tcp_connect(now, s, SocketAddrV4::new(B, 80)),
                Err(NetError::InProgress)
            );
        }
        // The SYN arrives on the other end of the link.
        let mut buf = [0u8; 1600];
        // At most 1000 waits of 10 ms: the driver sends it at once.
        for _ in 0..1000 {
            if let Some(n) = lb.receive(&mut buf, Instant::ZERO).unwrap() {
                let f = &buf[..n];
                if f.len() >= 14 + 20 + 20 && f[14 + 9] == 6 {
                    return u32::from_be_bytes([f[38], f[39], f[40], f[41]]);
                }
            }
            lb.wait(Some(Duration::from_millis(10))).unwrap();
        }
        panic!("no SYN on the link");
    };
    // RFC 6528's ISN is M + F(4-tuple, key), M a 4 µs clock, so two runs a few
    // milliseconds apart differ by little with the same key, and by anything
    // with different keys (three draws all within 2^20 of each other would
    // happen about once in four million runs).
    let near = |a: u32, b: u32| a.wrapping_sub(b).min(b.wrapping_sub(a)) < 1 << 20;
    assert!(near(isn(true), isn(true)));
    let (x, y, z) = (isn(false), isn(false), isn(false));
    assert!(!(near(x, y) && near(y, z) && near(x, z)), "{x} {y} {z}");
}

/// With a trace sink, the driver hands over each connection change: a SYN
/// sent makes the connection's first event (SYN-SENT, RTO one second), and the
/// sink gets it outside the engine's lock.
#[test]
fn the_driver_hands_the_connection_trace_to_its_sink() {
    let events: Arc<Mutex<Vec<TraceEvent>>> = Arc::default();
    let seen = events.clone();
    let hooks = Hooks {
        observer: None,
        trace: Some(Box::new(move |e: &[TraceEvent]| {
            seen.lock().extend_from_slice(e)
        })),
    };
    let (la, _lb) = MemoryLink::pair(1500);
    let mut rt =
        Runtime::start_with_hooks(Engine::new(StackConfig::new(A, 24)).unwrap(), la, hooks)
            .unwrap();
    {
        let mut g = rt.lock();
        let now = g.now();
        let e = g.engine();
        e.learn_neighbour(now, B, EthernetAddress([2, 0, 0, 0, 0, 0x42]));
        let s = e.tcp_open().unwrap();
        let _ = e.tcp_connect(now, s, SocketAddrV4::new(B, 80));
    }
    // At most 1000 waits of 10 ms: the timer of the connection's RTO or
    // the stop hands the events over.
    for _ in 0..1000 {
        if !events.lock().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    rt.stop();
    let events = events.lock();
    let first = events.first().expect("an event for the connection");
    assert_eq!(first.remote, SocketAddrV4::new(B, 80));
    assert_eq!(first.point.state, crate::tcp::State::SynSent);
    assert_eq!(first.point.rto, Duration::from_secs(1));
}

/// The driver's busy polling: after a frame it looks at the device again for
/// `busy_poll`, and stops at once when an application thread asks for it, a
/// timer is due, the processors are busy, or polling is off.
#[test]
fn the_driver_polls_only_within_the_spin_after_a_frame_and_yields_to_requests() {
    let spin = Duration::from_micros(50);
    let base = Poll {
        since_frame: Some(Duration::from_micros(10)),
        spin,
        contended: false,
        kicked: false,
        timer_due: false,
    };
    assert!(base.keep_polling());
    let stops = [
        Poll {
            since_frame: Some(spin),
            ..base
        },
        Poll {
            since_frame: None,
            ..base
        },
        Poll {
            spin: Duration::ZERO,
            ..base
        },
        Poll {
            contended: true,
            ..base
        },
        Poll {
            kicked: true,
            ..base
        },
        Poll {
            timer_due: true,
            ..base
        },
    ];
    for p in stops {
        assert!(!p.keep_polling(), "{p:?}");
    }
}

/// Blocking helpers for the tests below: each waits on the socket (so the
/// runtime's waits run) and fails the test at `deadline`.
fn listen_on(rt: &Runtime, port: u16) -> SocketHandle {
    let mut g = rt.lock();
    let e = g.engine();
    let l = e.tcp_open().unwrap();
    e.tcp_bind(l, SocketAddrV4::new(B, port)).unwrap();
    e.tcp_listen(l, 1).unwrap();
    l
}

fn accept_on(
    g: &mut StackGuard<'_>,
    l: SocketHandle,
    deadline: std::time::Instant,
) -> SocketHandle {
    loop {
        let now = g.now();
        match g.engine().tcp_accept(now, l) {
            Ok((c, _)) => return c,
            Err(NetError::WouldBlock) => {
                assert_ne!(g.wait(l, Some(deadline)), WaitOutcome::TimedOut)
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn connect_to(g: &mut StackGuard<'_>, port: u16) -> SocketHandle {
    let now = g.now();
    let c = g.engine().tcp_open().unwrap();
    assert_eq!(
        g.engine().tcp_connect(now, c, SocketAddrV4::new(B, port)),
        Err(NetError::InProgress)
    );
    c
}

fn send_all(g: &mut StackGuard<'_>, c: SocketHandle, data: &[u8], deadline: std::time::Instant) {
    let mut sent = 0;
    while sent < data.len() {
        let now = g.now();
        match g
            .engine()
            .tcp_send(now, c, &data[sent..], crate::tcp::SendFlags::default())
        {
            Ok(n) => sent += n,
            Err(NetError::WouldBlock) | Err(NetError::NotConnected) => {
                assert_ne!(g.wait(c, Some(deadline)), WaitOutcome::TimedOut)
            }
            Err(e) => panic!("send: {e}"),
        }
    }
}

/// Receives exactly `buf.len()` bytes, or fewer if the peer closes first;
/// returns how many came.
fn recv_exact(
    g: &mut StackGuard<'_>,
    c: SocketHandle,
    buf: &mut [u8],
    deadline: std::time::Instant,
) -> usize {
    let mut got = 0;
    while got < buf.len() {
        let now = g.now();
        match g
            .engine()
            .tcp_recv(now, c, &mut buf[got..], crate::tcp::RecvFlags::default())
        {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(NetError::WouldBlock) => {
                assert_ne!(g.wait(c, Some(deadline)), WaitOutcome::TimedOut)
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
    got
}

/// A request/response exchange between two runtimes, one of which sends only
/// through its driver (a frame observer is set): every reply arrives, while the
/// drivers poll between frames and the application's frames are handed to the
/// polling driver.
#[test]
fn request_response_works_while_the_drivers_busy_poll() {
    let (la, lb) = MemoryLink::pair(1500);
    let cfg = |addr| {
        let mut c = StackConfig::new(addr, 24);
        c.busy_poll = std::time::Duration::from_millis(5);
        Engine::new(c).unwrap()
    };
    let seen = Arc::new(AtomicU64::new(0));
    let counted = seen.clone();
    let observer: FrameObserver = Box::new(move |_, _, _| {
        counted.fetch_add(1, Ordering::Relaxed);
    });
    let a = Runtime::start_with_observer(cfg(A), la, Some(observer)).unwrap();
    let b = Runtime::start(cfg(B), lb).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let listener = listen_on(&b, 7007);
    // B echoes every byte back until A closes.
    let server = std::thread::spawn(move || {
        let mut g = b.lock();
        let conn = accept_on(&mut g, listener, deadline);
        let mut byte = [0u8; 1];
        while recv_exact(&mut g, conn, &mut byte, deadline) == 1 {
            send_all(&mut g, conn, &byte, deadline);
        }
        let now = g.now();
        g.engine().close(now, conn).unwrap();
        drop(g);
        b
    });
    let mut g = a.lock();
    let client = connect_to(&mut g, 7007);
    for i in 0..200u8 {
        send_all(&mut g, client, &[i], deadline);
        let mut got = [0u8; 1];
        assert_eq!(recv_exact(&mut g, client, &mut got, deadline), 1);
        assert_eq!(got[0], i);
    }
    let now = g.now();
    g.engine().close(now, client).unwrap();
    drop(g);
    let _b = server.join().unwrap();
    // Every request, reply and ACK went through A's driver.
    assert!(seen.load(Ordering::Relaxed) >= 400);
}

/// One end of an in-memory link that, like a TAP, gives a second handle for
/// application threads to transmit on, and notes which thread wrote each frame.
struct TaggedLink {
    tx: crossbeam_channel::Sender<Vec<u8>>,
    rx: crossbeam_channel::Receiver<Vec<u8>>,
    writers: Arc<Mutex<Vec<String>>>,
}

impl TaggedLink {
    fn pair() -> (TaggedLink, TaggedLink) {
        let (a_tx, b_rx) = crossbeam_channel::unbounded();
        let (b_tx, a_rx) = crossbeam_channel::unbounded();
        let end = |tx, rx| TaggedLink {
            tx,
            rx,
            writers: Arc::default(),
        };
        (end(a_tx, a_rx), end(b_tx, b_rx))
    }
}

impl Device for TaggedLink {
    fn receive(&mut self, buf: &mut [u8], _now: Instant) -> io::Result<Option<usize>> {
        Ok(self.rx.try_recv().ok().map(|f| {
            let n = f.len().min(buf.len());
            buf[..n].copy_from_slice(&f[..n]);
            n
        }))
    }
    fn transmit(&mut self, frame: &[u8], _now: Instant) -> io::Result<()> {
        let me = std::thread::current().name().unwrap_or("").to_string();
        self.writers.lock().push(me);
        let _ = self.tx.send(frame.to_vec());
        Ok(())
    }
    /// Returns within a millisecond at most: spurious returns are allowed, so
    /// the waker need not interrupt anything.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.rx.is_empty() {
            let most = std::time::Duration::from_millis(1);
            std::thread::sleep(timeout.map_or(most, |t| t.min(most)));
        }
        Ok(())
    }
    fn waker(&self) -> Waker {
        Arc::new(|| {})
    }
    fn mtu(&self) -> usize {
        1500
    }
    fn transmitter(&self) -> Option<Box<dyn Device>> {
        Some(Box::new(TaggedLink {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            writers: self.writers.clone(),
        }))
    }
}

/// A thread that queued frames and then waits (here: data sent, then a wait
/// for the answer, with the engine's lock held throughout as a blocking
/// call holds it) writes them itself before it waits, instead of waking
/// the driver to write them.
#[test]
fn a_thread_that_waits_first_writes_what_its_calls_queued() {
    let (la, lb) = TaggedLink::pair();
    let writers = la.writers.clone();
    let a = Runtime::start(Engine::new(StackConfig::new(A, 24)).unwrap(), la).unwrap();
    let b = Runtime::start(Engine::new(StackConfig::new(B, 24)).unwrap(), lb).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let listener = listen_on(&b, 7007);
    let app = std::thread::Builder::new()
        .name("the-application".into())
        .spawn(move || {
            let mut g = a.lock();
            let c = connect_to(&mut g, 7007);
            // The segment with "ping" is queued; waiting for the answer writes it.
            send_all(&mut g, c, b"ping", deadline);
            let mut got = [0u8; 4];
            assert_eq!(recv_exact(&mut g, c, &mut got, deadline), 4);
            assert_eq!(&got, b"pong");
            drop(g);
            a
        })
        .unwrap();
    let mut g = b.lock();
    let conn = accept_on(&mut g, listener, deadline);
    let mut buf = [0u8; 4];
    assert_eq!(recv_exact(&mut g, conn, &mut buf, deadline), 4);
    assert_eq!(&buf, b"ping");
    send_all(&mut g, conn, b"pong", deadline);
    drop(g);
    let _a = app.join().unwrap();
    // A's frames: the SYN (written by the application when it waited for the
    // connection), the handshake's ACK (the driver's, on the SYN-ACK), the data
    // segment, and the ACK of the answer. The SYN and the data were written by
    // the application thread.
    let writers = writers.lock().clone();
    let by_app = writers.iter().filter(|w| *w == "the-application").count();
    assert!(by_app >= 2, "frames written by: {writers:?}");
}
