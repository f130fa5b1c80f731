//! Host and network names on a stack: the seeds' `gethostbyname(argv[1])` and
//! `gethostbyaddr`, `gethostname`, `getnetbyname("localnet")` with
//! `inet_makeaddr`, and `h_errno` for a name nobody knows.

use std::net::Ipv4Addr;

use sockets::*;

fn pair() -> (Stack, Stack) {
    Stack::memory_pair(
        StackConfig::new(Ipv4Addr::new(10, 0, 0, 1), 24),
        StackConfig::new(Ipv4Addr::new(10, 0, 0, 2), 24),
    )
}

#[test]
fn names_given_to_a_stack_resolve_both_ways() {
    let (a, _b) = pair();
    a.add_host("hostb", &["b"], Ipv4Addr::new(10, 0, 0, 2));
    // hp = gethostbyname(argv[1]); bcopy(hp->h_addr, &server.sin_addr, hp->h_length);
    let hp = a.gethostbyname("hostb").expect("hostb is known");
    assert_eq!(hp.h_name, "hostb");
    assert_eq!(hp.h_aliases, ["b"]);
    assert_eq!((hp.h_addrtype, hp.h_length), (AF_INET, 4));
    assert_eq!(Ipv4Addr::from(hp.h_addr()), Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(
        a.gethostbyname("B").unwrap().h_name,
        "hostb",
        "aliases, any case"
    );
    let back = a
        .gethostbyaddr(&InAddr::from(Ipv4Addr::new(10, 0, 0, 2)), 4, AF_INET)
        .unwrap();
    assert_eq!(back.h_name, "hostb");
    // A dotted address is its own name.
    let lit = a.gethostbyname("10.0.0.2").unwrap();
    assert_eq!(Ipv4Addr::from(lit.h_addr()), Ipv4Addr::new(10, 0, 0, 2));
}

#[test]
fn an_unknown_host_sets_h_errno() {
    let (a, _b) = pair();
    assert!(a.gethostbyname("no-such-host.invalid").is_none());
    assert_eq!(h_errno(), HOST_NOT_FOUND);
    assert!(a
        .gethostbyaddr(&InAddr::from(Ipv4Addr::new(192, 0, 2, 1)), 4, AF_INET)
        .is_none());
    assert_eq!(h_errno(), HOST_NOT_FOUND);
    assert!(a.gethostbyaddr(&InAddr::default(), 16, AF_INET6).is_none());
    assert_eq!(h_errno(), NO_RECOVERY);
    // A success clears it.
    assert!(a.gethostbyname("10.0.0.1").is_some());
    assert_eq!(h_errno(), 0);
}

#[test]
fn a_stack_knows_its_own_name_and_network() {
    let (a, _b) = pair();
    assert_eq!(a.gethostname(), "host-10-0-0-1");
    let me = a.gethostbyname(&a.gethostname()).unwrap();
    assert_eq!(Ipv4Addr::from(me.h_addr()), Ipv4Addr::new(10, 0, 0, 1));
    a.sethostname("alpha");
    assert_eq!(a.gethostname(), "alpha");
    assert_eq!(
        a.gethostbyaddr(&InAddr::from(Ipv4Addr::new(10, 0, 0, 1)), 4, AF_INET)
            .unwrap()
            .h_name,
        "alpha"
    );
    // rwhod: np = getnetbyname("localnet"); sin.sin_addr = inet_makeaddr(np->n_net, INADDR_ANY);
    let np = a.getnetbyname("localnet").unwrap();
    assert_eq!(np.n_net, 0x0a0000);
    assert_eq!(
        Ipv4Addr::from(inet_makeaddr(np.n_net, INADDR_ANY)),
        Ipv4Addr::new(10, 0, 0, 0)
    );
    // inet_network("127.0.0.0"), from /etc/networks or the built-in table.
    assert_eq!(a.getnetbyname("loopback").unwrap().n_net, 0x7f00_0000);
    assert!(a.getnetbyname("no-such-net").is_none());
}

/// A tiny DNS server on host B (our UDP, port 5353): `hostb.example` is
/// 10.0.0.2, `www.example` a CNAME for it, every other name does not exist.
fn dns_server(b: &Stack) -> std::thread::JoinHandle<()> {
    use simple_dns::rdata::{RData, A, CNAME};
    use simple_dns::{Name, Packet, PacketFlag, ResourceRecord, CLASS, RCODE};
    let sock = net::UdpSocket::bind(b, "10.0.0.2:5353").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let Ok(q) = Packet::parse(&buf[..n]) else {
                continue;
            };
            let qname = q.questions[0].qname.to_string();
            let mut r = Packet::new_reply(q.id());
            r.set_flags(PacketFlag::RESPONSE);
            r.questions = q.questions.clone();
            let a = |name: &'static str| {
                ResourceRecord::new(
                    Name::new_unchecked(name),
                    CLASS::IN,
                    60,
                    RData::A(A {
                        address: u32::from(Ipv4Addr::new(10, 0, 0, 2)),
                    }),
                )
            };
            match qname.as_str() {
                "hostb.example" => r.answers.push(a("hostb.example")),
                "www.example" => {
                    r.answers.push(ResourceRecord::new(
                        Name::new_unchecked("www.example"),
                        CLASS::IN,
                        60,
                        RData::CNAME(CNAME(Name::new_unchecked("hostb.example"))),
                    ));
                    r.answers.push(a("hostb.example"));
                }
                "quit.example" => return,
                _ => *r.rcode_mut() = RCODE::NameError,
            }
            let _ = sock.send_to(&r.build_bytes_vec().unwrap(), from);
        }
    })
}

#[test]
fn names_not_in_the_table_are_asked_of_the_nameserver_over_our_udp() {
    let (a, b) = pair();
    let server = dns_server(&b);
    a.set_resolver(Some(resolver::ResolverConfig {
        nameserver: "10.0.0.2:5353".parse().unwrap(),
        timeout: std::time::Duration::from_secs(2),
        attempts: 2,
    }));
    let hp = a
        .gethostbyname("hostb.example")
        .expect("the server knows it");
    assert_eq!(Ipv4Addr::from(hp.h_addr()), Ipv4Addr::new(10, 0, 0, 2));
    assert_eq!(hp.h_name, "hostb.example");
    let www = a.gethostbyname("www.example").unwrap();
    assert_eq!(
        www.h_name, "hostb.example",
        "the canonical name, after the CNAME"
    );
    assert_eq!(www.h_aliases, ["www.example"]);
    assert!(a.gethostbyname("nope.example").is_none());
    assert_eq!(h_errno(), HOST_NOT_FOUND);
    // The table still comes first.
    a.add_host("hostb.example", &[], Ipv4Addr::new(10, 0, 0, 99));
    let local = a.gethostbyname("hostb.example").unwrap();
    assert_eq!(Ipv4Addr::from(local.h_addr()), Ipv4Addr::new(10, 0, 0, 99));
    let _ = a.gethostbyname("quit.example");
    server.join().unwrap();
    // Nobody serves DNS any more: the port unreachable ends each attempt, and
    // the lookup fails with TRY_AGAIN.
    assert!(a.gethostbyname("later.example").is_none());
    assert_eq!(h_errno(), TRY_AGAIN);
}

#[test]
fn getaddrinfo_and_getnameinfo() {
    use sockets::addrinfo::*;
    let (a, _b) = pair();
    a.add_host("hostb", &["b"], Ipv4Addr::new(10, 0, 0, 2));
    // A client's call: connect to "hostb" "login" over TCP.
    let hints = AddrInfo {
        ai_family: AF_UNSPEC,
        ai_socktype: SOCK_STREAM,
        ai_flags: AI_CANONNAME,
        ..AddrInfo::default()
    };
    let res = a
        .getaddrinfo(Some("b"), Some("login"), Some(&hints))
        .unwrap();
    assert_eq!(res.len(), 1);
    assert_eq!(
        res[0].ai_addr,
        SockAddrIn::new(Ipv4Addr::new(10, 0, 0, 2), 513)
    );
    assert_eq!(
        (res[0].ai_socktype, res[0].ai_protocol),
        (SOCK_STREAM, IPPROTO_TCP)
    );
    assert_eq!(res[0].ai_canonname.as_deref(), Some("hostb"));
    // No socket type: one entry per type the service exists for ("who" is UDP).
    let who = a.getaddrinfo(Some("10.0.0.2"), Some("who"), None).unwrap();
    assert_eq!(who.len(), 1);
    assert_eq!(who[0].ai_socktype, SOCK_DGRAM);
    let both = a.getaddrinfo(Some("10.0.0.2"), Some("7"), None).unwrap();
    assert_eq!(both.len(), 2);
    // A server's call: the wildcard.
    let passive = AddrInfo {
        ai_flags: AI_PASSIVE,
        ai_socktype: SOCK_STREAM,
        ..AddrInfo::default()
    };
    let srv = a.getaddrinfo(None, Some("8080"), Some(&passive)).unwrap();
    assert_eq!(srv[0].ai_addr, SockAddrIn::new(Ipv4Addr::UNSPECIFIED, 8080));
    // Errors.
    assert_eq!(
        a.getaddrinfo(Some("nohost"), Some("80"), None),
        Err(EAI_NONAME)
    );
    assert_eq!(a.getaddrinfo(None, None, None), Err(EAI_NONAME));
    assert_eq!(
        a.getaddrinfo(Some("hostb"), Some("nosuchservice"), None),
        Err(EAI_SERVICE)
    );
    let v6 = AddrInfo {
        ai_family: AF_INET6,
        ..AddrInfo::default()
    };
    assert_eq!(
        a.getaddrinfo(Some("hostb"), Some("80"), Some(&v6)),
        Err(EAI_FAMILY)
    );
    let numeric = AddrInfo {
        ai_flags: AI_NUMERICHOST,
        ..AddrInfo::default()
    };
    assert_eq!(
        a.getaddrinfo(Some("hostb"), Some("80"), Some(&numeric)),
        Err(EAI_NONAME)
    );
    // And back.
    let sa = SockAddrIn::new(Ipv4Addr::new(10, 0, 0, 2), 513);
    assert_eq!(a.getnameinfo(&sa, 0), Ok(("hostb".into(), "login".into())));
    assert_eq!(
        a.getnameinfo(&sa, NI_DGRAM),
        Ok(("hostb".into(), "who".into()))
    );
    assert_eq!(
        a.getnameinfo(&sa, NI_NUMERICHOST | NI_NUMERICSERV),
        Ok(("10.0.0.2".into(), "513".into()))
    );
    let unknown = SockAddrIn::new(Ipv4Addr::new(192, 0, 2, 1), 40000);
    assert_eq!(
        a.getnameinfo(&unknown, 0),
        Ok(("192.0.2.1".into(), "40000".into()))
    );
    assert_eq!(a.getnameinfo(&unknown, NI_NAMEREQD), Err(EAI_NONAME));
}

/// The std face resolves names through the stack, not the host's resolver.
#[test]
fn the_std_face_connects_by_name() {
    use std::io::{Read, Write};
    let (a, b) = pair();
    a.add_host("hostb", &[], Ipv4Addr::new(10, 0, 0, 2));
    let listener = net::TcpListener::bind(&b, "0.0.0.0:7100").unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut c, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf).unwrap();
            c.write_all(&buf).unwrap();
        }
    });
    for mut c in [
        net::TcpStream::connect(&a, "hostb:7100").unwrap(),
        net::TcpStream::connect(&a, ("hostb", 7100)).unwrap(),
    ] {
        c.write_all(b"hello").unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"hello");
    }
    server.join().unwrap();
    let e = net::TcpStream::connect(&a, "nohost.invalid:7").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert!(e.to_string().contains("Unknown host"), "{e}");
    let e = net::TcpStream::connect(&a, "no port").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    // UDP too.
    let rx = net::UdpSocket::bind(&b, "0.0.0.0:7101").unwrap();
    let tx = net::UdpSocket::bind(&a, "0.0.0.0:0").unwrap();
    tx.send_to(b"ping", "hostb:7101").unwrap();
    let mut buf = [0u8; 8];
    rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let (n, _) = rx.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"ping");
}

#[test]
fn the_network_data_base_answers_by_name_number_and_walk() {
    let (a, _b) = pair();
    // localnet is the stack's own network: 10.0.0.0/24 is network 0x0a0000.
    let local = a.getnetbyname("localnet").unwrap();
    assert_eq!(local.n_net, 0x0a_00_00);
    assert_eq!(
        a.getnetbynumber(0x0a_00_00, AF_INET).map(|n| n.n_name),
        Some("localnet".to_string())
    );
    assert!(a.getnetbynumber(0x0a_00_00, AF_INET6).is_none());
    a.setnetent(0);
    let all: Vec<String> = std::iter::from_fn(|| a.getnetent())
        .map(|n| n.n_name)
        .collect();
    assert_eq!(all.first().map(String::as_str), Some("localnet"));
    assert!(all.iter().any(|n| n == "loopback"), "{all:?}");
    a.endnetent();
}
