//! `netstack example NAME ...`: the seed documents' programs over a TAP, or with
//! `--memory` against their partner programs on a second stack in memory.

use std::net::Ipv4Addr;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::examples::{dgram, ipc_notes, oob, stream};
use crate::iface::IfaceOpts;

/// Options of `netstack example`.
#[derive(Args, Debug)]
pub struct ExampleOpts {
    #[command(flatten)]
    iface: IfaceOpts,
    /// Run in memory, no root and no TAP: this program on host B (10.0.0.2) and
    /// its partner program (the other side of the figure) on host A (10.0.0.1).
    #[arg(long)]
    memory: bool,
    #[command(subcommand)]
    program: Program,
}

/// One of the seeds' programs.
#[derive(Subcommand, Debug)]
pub(crate) enum Program {
    /// 4.4BSD tutorial Figure 6a: print our port, read one datagram, print it.
    DgramRecv,
    /// 4.4BSD tutorial Figure 6b: send one datagram to HOST PORT.
    DgramSend {
        /// Destination host: a name (`gethostbyname`: the stack's own name, /etc/hosts,
        /// DNS with --nameserver) or a dotted address.
        host: String,
        /// Destination port.
        port: u16,
    },
    /// Unix IPC notes Figure 3: receive two messages on PORT.
    Receiver {
        /// The agreed port.
        port: u16,
    },
    /// Unix IPC notes Figure 2: send two messages (broadcast allowed) to MACHINE PORT.
    Sender {
        /// Destination (a broadcast address works: the socket sets SO_BROADCAST).
        machine: String,
        /// The agreed port.
        port: u16,
        /// First message.
        #[arg(default_value = "hello")]
        message1: String,
        /// Second message.
        #[arg(default_value = "how are you")]
        message2: String,
    },
    /// 4.4BSD tutorial Figure 7a: connect to HOST PORT, write one message, close.
    StreamWrite {
        /// Destination host: a name (`gethostbyname`: the stack's own name, /etc/hosts,
        /// DNS with --nameserver) or a dotted address.
        host: String,
        /// Destination port.
        port: u16,
    },
    /// 4.4BSD tutorial Figure 7b: print our port, accept connections and print
    /// their messages.
    StreamAccept {
        /// Port to listen on (default 0: any, printed, as in the C program).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Stop after this many connections (default: never, as in the C program).
        #[arg(long)]
        connections: Option<usize>,
    },
    /// 4.4BSD tutorial Figure 7c: as stream-accept, with select() before accept
    /// and "Do something else" when nobody connected within the timeout.
    StreamSelect {
        /// Port to listen on (default 0: any, printed).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Stop after this many connections (default: never).
        #[arg(long)]
        connections: Option<usize>,
        /// select() timeout in seconds (5 in the C program).
        #[arg(long, default_value_t = stream::SELECT_TIMEOUT.as_secs_f64())]
        timeout: f64,
    },
    /// Unix IPC notes Figures 5, 6 and 9 (server): startUp(PORT),
    /// acceptConnection, readAndWrite(AMOUNT): echo what one client sends.
    IpcServer {
        /// The agreed port.
        port: u16,
        /// Bytes to read before echoing (Figure 9: 10).
        #[arg(long, default_value_t = 10)]
        amount: usize,
    },
    /// Unix IPC notes Figures 7 and 9 (client): requestConnection(HOST, PORT),
    /// writeAndRead(s, MESSAGE1, MESSAGE2); prints what came back.
    IpcClient {
        /// The server's host.
        host: String,
        /// The agreed port.
        port: u16,
        /// First message.
        #[arg(default_value = "hello")]
        message1: String,
        /// Second message.
        #[arg(default_value = "there")]
        message2: String,
    },
    /// 4.4BSD tutorial Figure 1: a pipe between a parent and its child (a thread).
    /// The UNIX-domain programs run inside one stack, no TAP needed.
    Pipe,
    /// 4.4BSD tutorial Figure 3: a socketpair between a parent and its child.
    Socketpair,
    /// The slides' unnamed pipe: the child writes two ints, the parent adds them.
    SlidesPipe,
    /// The slides' named pipe: mkfifo, the child writes two ints into it, the
    /// parent reads and adds them.
    SlidesFifo,
    /// 4.4BSD tutorial Figures 5a and 5b: UNIX-domain datagrams to the name
    /// "socket" (the reader and the sender on two threads of one stack).
    UnixDgram,
    /// 4.4BSD tutorial Figures 9a and 9b: a UNIX-domain stream connection to the
    /// name "socket" (the server accepts one connection, then unlinks the name).
    UnixStream,
    /// 4.2BSD primer Figures 1 and 2: the remote login client and server (with
    /// the reserved-port loop and the reaper) on two hosts in memory, as root:
    /// the client logs in from a reserved port, types a command, interrupts a
    /// `sleep` (the signal travels out of band; the server has the client flush
    /// to the mark), and logs out.
    Rlogin,
    /// 4.2BSD primer Figure 2 over a TAP: the remote login server on tcp/login
    /// (513, so give --privileged), serving SESSIONS connections.
    Rlogind {
        /// Connections to serve before stopping.
        #[arg(long, default_value_t = 1)]
        sessions: usize,
    },
    /// 4.2BSD primer Figure 1 over a TAP: log in to HOST's rlogind (from a
    /// reserved port: give --privileged); standard input is the keyboard (a ^C
    /// byte is the interrupt key), the session's output goes to standard output.
    RloginTo {
        /// The server's host.
        host: String,
        /// The user name to give.
        #[arg(long, default_value = "student")]
        user: String,
    },
    /// 4.2BSD primer Figures 3 and 4: the rwho server. Broadcasts this host's
    /// status to the rwho port (udp 513, so give --privileged) every INTERVAL,
    /// records what other hosts broadcast, and after --for seconds prints the
    /// ruptime table (Figure 3).
    Rwhod {
        /// Seconds between broadcasts (the C's alarm).
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
        /// Seconds to run before printing the table.
        #[arg(long = "for", default_value_t = 3.0)]
        run_for: f64,
        /// The host name to broadcast (default: the stack's, `gethostname`).
        #[arg(long)]
        hostname: Option<String>,
    },
    /// 4.2BSD primer Figure 5 (receiving side): accept one connection on PORT, read
    /// it, and on urgent data flush up to the mark and read the out-of-band byte.
    OobServer {
        /// Port to listen on (0: any, printed).
        port: u16,
    },
    /// 4.2BSD primer Figure 5 (sending side): connect to HOST PORT, write BYTES of
    /// text, then an interrupt as one out-of-band byte (SIGINT's number), then a
    /// little more.
    OobClient {
        /// The server's host.
        host: Ipv4Addr,
        /// The server's port.
        port: u16,
        /// Bytes of text before the interrupt.
        #[arg(long, default_value_t = 256 * 1024)]
        bytes: usize,
    },
}

/// Runs a UNIX-domain program (both of its sides, on threads of one stack in
/// memory: the UNIX domain does not leave the stack), or `None` for the others.
fn unix_program(p: &Program) -> Option<Result<(), String>> {
    use crate::examples::unix;
    let run = |f: &dyn Fn(&sockets::Stack) -> Result<(), String>| {
        let (net, _other) = sockets::Stack::memory_pair(
            stack::StackConfig::new(Ipv4Addr::new(10, 0, 0, 2), 24),
            stack::StackConfig::new(Ipv4Addr::new(10, 0, 0, 1), 24),
        );
        f(&net)
    };
    Some(match p {
        Program::Rlogin => rlogin_demo().map(|s| {
            println!(
                "\n[client used reserved port {}; out-of-band bytes from the server {:02x?}; \
                 {} bytes flushed to the mark]",
                s.local_port, s.oob, s.flushed
            );
        }),
        Program::Pipe => run(&|net| unix::figure_1_pipe(net).map(drop)),
        Program::Socketpair => run(&|net| unix::figure_3_socketpair(net).map(drop)),
        Program::SlidesPipe => run(&|net| unix::slides_pipe(net).map(drop)),
        Program::SlidesFifo => run(&|net| unix::slides_fifo(net).map(drop)),
        Program::UnixDgram => run(&|net| {
            let (tx, rx) = std::sync::mpsc::channel();
            let reader = {
                let net = net.clone();
                std::thread::spawn(move || unix::figure_5a_reader(&net, tx))
            };
            rx.recv()
                .map_err(|_| "the reader ended before it bound its name")?;
            unix::figure_5b_sender(net, unix::NAME)?;
            reader.join().map_err(|_| "the reader failed")?.map(drop)
        }),
        Program::UnixStream => run(&|net| {
            let (tx, rx) = std::sync::mpsc::channel();
            let server = {
                let net = net.clone();
                std::thread::spawn(move || unix::figure_9b_server(&net, 1, tx))
            };
            rx.recv()
                .map_err(|_| "the server ended before it bound its name")?;
            unix::figure_9a_writer(net, unix::NAME)?;
            server.join().map_err(|_| "the server failed")?.map(drop)
        }),
        _ => return None,
    })
}

/// The remote login pair on two hosts in memory (as root): rlogind on host B, a
/// scripted rlogin session from host A.
pub(crate) fn rlogin_demo() -> Result<crate::examples::rlogin::Session, String> {
    use crate::examples::rlogin::{self, Keys};
    let (a, b) = crate::cmd::demo::rwho_hosts()?;
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || rlogin::rlogind(&b, None, 1, tx));
    rx.recv()
        .map_err(|_| "rlogind ended before it listened".to_string())?;
    let pause = |ms| Keys::Pause(Duration::from_millis(ms));
    let keys = vec![
        pause(300),
        Keys::Type(b"echo hello from $(hostname) via rlogin\n".to_vec()),
        pause(300),
        Keys::Type(b"sleep 30\n".to_vec()),
        pause(500),
        Keys::Interrupt,
        pause(500),
        Keys::Type(b"echo status=$?\n".to_vec()),
        pause(300),
        Keys::Type(b"exit\n".to_vec()),
    ];
    let session = rlogin::rlogin(&a, "hostb", None, "student", keys)?;
    server.join().map_err(|_| "rlogind failed")??;
    Ok(session)
}

/// Runs rwhod for `run_for` seconds, then prints ruptime's table.
pub(crate) fn run_rwhod(
    net: &sockets::Stack,
    hostname: &str,
    interval: f64,
    run_for: f64,
) -> Result<(), String> {
    use crate::examples::rwho;
    let interval = Duration::try_from_secs_f64(interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or("--interval needs a positive number of seconds")?;
    let run_for = Duration::try_from_secs_f64(run_for).map_err(|_| "bad --for")?;
    let db = rwho::WhoDb::default();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let daemon = {
        let (net, db, stop) = (net.clone(), db.clone(), stop.clone());
        let hostname = hostname.to_string();
        std::thread::spawn(move || rwho::rwhod(&net, &hostname, interval, db, stop))
    };
    std::thread::sleep(run_for);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    daemon.join().map_err(|_| "rwhod failed")??;
    for line in rwho::ruptime_now(&db) {
        println!("{line}");
    }
    Ok(())
}

/// Runs `netstack example`.
pub fn run(o: ExampleOpts) -> Result<(), String> {
    if let Some(r) = unix_program(&o.program) {
        return r;
    }
    if o.memory {
        return crate::cmd::example_memory::run(o.program);
    }
    let net = o.iface.start_stack("ex")?;
    match o.program {
        Program::DgramRecv => dgram::figure_6a_reader(&net, |_| {}).map(|_| ()),
        Program::DgramSend { host, port } => dgram::figure_6b_sender(&net, &host, port),
        Program::Receiver { port } => ipc_notes::receiver(&net, port, || {}).map(|(m1, m2)| {
            println!("{m1}\n{m2}");
        }),
        Program::Sender {
            machine,
            port,
            message1,
            message2,
        } => ipc_notes::sender(&net, &message1, &message2, &machine, port),
        Program::StreamWrite { host, port } => stream::figure_7a_writer(&net, &host, port),
        Program::StreamAccept { port, connections } => {
            stream::figure_7b_acceptor(&net, port, connections, |_| {}).map(drop)
        }
        Program::StreamSelect {
            port,
            connections,
            timeout,
        } => {
            let timeout = Duration::try_from_secs_f64(timeout)
                .map_err(|_| format!("bad timeout {timeout}"))?;
            stream::figure_7c_select_acceptor(&net, port, connections, timeout, |_| {}, || {})
                .map(drop)
        }
        Program::IpcServer { port, amount } => {
            ipc_notes::stream_server(&net, port, amount, || {}).map(drop)
        }
        Program::IpcClient {
            host,
            port,
            message1,
            message2,
        } => ipc_notes::stream_client(&net, &host, port, &message1, &message2).map(|reply| {
            println!("{}", String::from_utf8_lossy(&reply));
        }),
        Program::OobServer { port } => oob::figure_5_server(&net, port, |_| {}).map(drop),
        Program::Rlogind { sessions } => {
            let (tx, _rx) = std::sync::mpsc::channel();
            crate::examples::rlogin::rlogind(&net, None, sessions, tx)
        }
        Program::RloginTo { host, user } => {
            let keys = crate::examples::rlogin::keys_from(std::io::stdin());
            crate::examples::rlogin::rlogin(&net, &host, None, &user, keys).map(drop)
        }
        Program::Rwhod {
            interval,
            run_for,
            hostname,
        } => {
            let hostname = hostname.unwrap_or_else(|| net.gethostname());
            run_rwhod(&net, &hostname, interval, run_for)
        }
        // Handled above, in memory.
        Program::Rlogin
        | Program::Pipe
        | Program::Socketpair
        | Program::SlidesPipe
        | Program::SlidesFifo
        | Program::UnixDgram
        | Program::UnixStream => Ok(()),
        Program::OobClient { host, port, bytes } => oob::figure_5_client(&net, host, port, bytes)
            .map(|r| {
                println!(
                    "sent {} bytes, the out-of-band byte {:#04x}, then {} bytes",
                    r.sent_before, r.oob_byte, r.sent_after
                );
            }),
    }?;
    // Let the last frames leave (a FIN, its acknowledgment; a datagram still
    // waiting for ARP on a busy machine) before the stack stops.
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..300 {
        let idle = {
            let rt = net.runtime();
            let g = rt.lock();
            let e = g.engine_ref();
            e.pending_transmits() == 0 && e.frames_awaiting_arp() == 0
        };
        if idle {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
