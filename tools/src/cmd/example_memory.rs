//! `netstack example --memory NAME ...`: the program runs on host B (10.0.0.2)
//! and its partner program on host A (10.0.0.1), two stacks joined by an
//! in-memory link: no root, no TAP. A server tells its partner its port (as the
//! C programs print it); a client talks to its partner server on host A,
//! whatever host it was given.

use std::net::Ipv4Addr;
use std::sync::mpsc;

use sockets::Stack;

use crate::cmd::demo::{two_hosts, HOST_A, HOST_B, NAME_A, NAME_B};
use crate::cmd::example::Program;
use crate::examples::{dgram, ipc_notes, oob, stream};

/// What a server calls with its port once it listens.
type Listening = Box<dyn FnOnce(u16) + Send>;

/// Runs `server` on `srv` and, once it said its port, `client` on `cli`; both
/// must succeed.
fn pair(
    (srv, srv_host): (&Stack, &'static str),
    (cli, cli_host): (&Stack, &'static str),
    server: impl FnOnce(&Stack, Listening) -> Result<(), String> + Send,
    client: impl FnOnce(&Stack, u16) -> Result<(), String>,
) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        let server = s.spawn(move || {
            crate::examples::label_host(srv_host);
            server(
                srv,
                Box::new(move |port| {
                    let _ = tx.send(port);
                }),
            )
        });
        crate::examples::label_host(cli_host);
        let client = match rx.recv() {
            Ok(port) => client(cli, port),
            Err(_) => Err("the server ended before it listened".to_string()),
        };
        let server = server
            .join()
            .unwrap_or_else(|_| Err("the server panicked".to_string()));
        server.and(client)
    })
}

/// Runs `program` on host B with its partner on host A.
pub fn run(program: Program) -> Result<(), String> {
    let (a, b) = two_hosts(1, None)?;
    println!("in memory: this program on host B {HOST_B}, its partner on host A {HOST_A}");
    match program {
        Program::Rwhod {
            interval, run_for, ..
        } => {
            // The rwho port is privileged: two hosts of their own, as root.
            drop((a, b));
            let (a, b) = crate::cmd::demo::rwho_hosts()?;
            let other = std::thread::spawn(move || {
                crate::cmd::example::run_rwhod(&a, "hosta", interval, run_for)
            });
            crate::cmd::example::run_rwhod(&b, "hostb", interval, run_for)?;
            other.join().map_err(|_| "host A's rwhod failed")?
        }
        // `netstack example` runs the UNIX-domain programs and rlogin before coming here.
        Program::Rlogind { .. } | Program::RloginTo { .. } => Err(
            "rlogind and rlogin-to run over a TAP; `netstack example rlogin` runs both \
                 in memory"
                .into(),
        ),
        Program::Rlogin
        | Program::Pipe
        | Program::SlidesPipe
        | Program::SlidesFifo
        | Program::Socketpair
        | Program::UnixDgram
        | Program::UnixStream => Ok(()),
        // Servers on B, their clients on A.
        Program::DgramRecv => pair(
            (&b, "B"),
            (&a, "A"),
            |s, k| dgram::figure_6a_reader(s, k).map(drop),
            |s, port| dgram::figure_6b_sender(s, NAME_B, port),
        ),
        Program::Receiver { port } => pair(
            (&b, "B"),
            (&a, "A"),
            |s, k| {
                ipc_notes::receiver(s, port, move || k(port))
                    .map(|(m1, m2)| crate::examples::say(format_args!("{m1}\n{m2}")))
            },
            |s, _| ipc_notes::sender(s, "hello", "how are you", NAME_B, port),
        ),
        Program::StreamAccept { port, connections } => {
            let n = connections.unwrap_or(1);
            pair(
                (&b, "B"),
                (&a, "A"),
                |s, k| stream::figure_7b_acceptor(s, port, Some(n), k).map(drop),
                |s, port| (0..n).try_for_each(|_| stream::figure_7a_writer(s, NAME_B, port)),
            )
        }
        Program::StreamSelect {
            port,
            connections,
            timeout,
        } => {
            let timeout = std::time::Duration::try_from_secs_f64(timeout)
                .map_err(|_| format!("bad timeout {timeout}"))?;
            let n = connections.unwrap_or(1);
            pair(
                (&b, "B"),
                (&a, "A"),
                |s, k| {
                    stream::figure_7c_select_acceptor(s, port, Some(n), timeout, k, || {}).map(drop)
                },
                |s, port| (0..n).try_for_each(|_| stream::figure_7a_writer(s, NAME_B, port)),
            )
        }
        Program::IpcServer { port, amount } => pair(
            (&b, "B"),
            (&a, "A"),
            |s, k| ipc_notes::stream_server(s, port, amount, move || k(port)).map(drop),
            |s, _| {
                let reply = ipc_notes::stream_client(s, NAME_B, port, "hello", "there")?;
                crate::examples::say(format_args!("{}", String::from_utf8_lossy(&reply)));
                Ok(())
            },
        ),
        Program::OobServer { port } => pair(
            (&b, "B"),
            (&a, "A"),
            |s, k| oob::figure_5_server(s, port, k).map(drop),
            |s, port| oob::figure_5_client(s, HOST_B, port, 256 * 1024).map(drop),
        ),
        // Clients on B, their servers on A.
        Program::DgramSend { .. } => pair(
            (&a, "A"),
            (&b, "B"),
            |s, k| dgram::figure_6a_reader(s, k).map(drop),
            |s, port| dgram::figure_6b_sender(s, NAME_A, port),
        ),
        Program::Sender {
            machine,
            port,
            message1,
            message2,
        } => {
            // A broadcast reaches host A on the link; any other host is host A.
            let broadcast = machine
                .parse::<Ipv4Addr>()
                .is_ok_and(|m| m.is_broadcast() || m == Ipv4Addr::new(10, 0, 0, 255));
            let to = if broadcast { machine.as_str() } else { NAME_A };
            pair(
                (&a, "A"),
                (&b, "B"),
                |s, k| {
                    ipc_notes::receiver(s, port, move || k(port))
                        .map(|(m1, m2)| crate::examples::say(format_args!("{m1}\n{m2}")))
                },
                |s, _| ipc_notes::sender(s, &message1, &message2, to, port),
            )
        }
        Program::StreamWrite { port, .. } => pair(
            (&a, "A"),
            (&b, "B"),
            |s, k| stream::figure_7b_acceptor(s, port, Some(1), k).map(drop),
            |s, port| stream::figure_7a_writer(s, NAME_A, port),
        ),
        Program::IpcClient {
            port,
            message1,
            message2,
            ..
        } => pair(
            (&a, "A"),
            (&b, "B"),
            |s, k| ipc_notes::stream_server(s, port, 10, move || k(port)).map(drop),
            |s, _| {
                let reply = ipc_notes::stream_client(s, NAME_A, port, &message1, &message2)?;
                crate::examples::say(format_args!("{}", String::from_utf8_lossy(&reply)));
                Ok(())
            },
        ),
        Program::OobClient { port, bytes, .. } => pair(
            (&a, "A"),
            (&b, "B"),
            |s, k| oob::figure_5_server(s, port, k).map(drop),
            |s, port| {
                let r = oob::figure_5_client(s, HOST_A, port, bytes)?;
                crate::examples::say(format_args!(
                    "sent {} bytes, the out-of-band byte {:#04x}, then {} bytes",
                    r.sent_before, r.oob_byte, r.sent_after
                ));
                Ok(())
            },
        ),
    }
}
