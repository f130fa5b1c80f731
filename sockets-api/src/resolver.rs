//! The stub resolver behind [`Stack::gethostbyname`](crate::Stack::gethostbyname):
//! an `A` query (RFC 1035) sent over the stack's own UDP to the nameserver set
//! with [`Stack::set_nameserver`](crate::Stack::set_nameserver), recursion
//! desired, retried on timeout. The answer must come from the server (the socket
//! is connected to it), carry the query's random ID and repeat its question;
//! anything else is ignored while the wait lasts.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QCLASS, QTYPE, RCODE, TYPE};

use crate::bsd::Stack;
use crate::net::UdpSocket;
use crate::netdb::{HOST_NOT_FOUND, NO_DATA, NO_RECOVERY, TRY_AGAIN};

/// Where and how patiently to ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolverConfig {
    /// The nameserver.
    pub nameserver: SocketAddrV4,
    /// Wait for an answer this long per attempt.
    pub timeout: Duration,
    /// Attempts before giving up with `TRY_AGAIN`.
    pub attempts: u32,
}

impl ResolverConfig {
    /// `nameserver` with glibc's defaults (5 s per attempt, 2 attempts).
    pub fn new(nameserver: SocketAddrV4) -> ResolverConfig {
        ResolverConfig {
            nameserver,
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

/// What an `A` lookup found: the canonical name (after CNAMEs) and the addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub canonical: String,
    pub addrs: Vec<Ipv4Addr>,
}

/// The query for `name` with `id`.
pub(crate) fn query(name: &str, id: u16) -> Result<Vec<u8>, i32> {
    let qname = Name::new(name).map_err(|_| HOST_NOT_FOUND)?;
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    p.questions.push(Question::new(
        qname,
        QTYPE::TYPE(TYPE::A),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    p.build_bytes_vec().map_err(|_| NO_RECOVERY)
}

/// Reads an answer to the query `id` for `name`: `None` if it is not one (wrong
/// ID or question, not a response, unparsable), else the result.
pub(crate) fn answer(data: &[u8], name: &str, id: u16) -> Option<Result<Answer, i32>> {
    let p = Packet::parse(data).ok()?;
    if p.id() != id || !p.has_flags(PacketFlag::RESPONSE) {
        return None;
    }
    let q = p.questions.first()?;
    if !q
        .qname
        .to_string()
        .eq_ignore_ascii_case(name.trim_end_matches('.'))
    {
        return None;
    }
    match p.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => return Some(Err(HOST_NOT_FOUND)),
        RCODE::ServerFailure => return Some(Err(TRY_AGAIN)),
        _ => return Some(Err(NO_RECOVERY)),
    }
    // Follow the CNAME chain from the name asked (a few links at most).
    let mut canonical = name.trim_end_matches('.').to_string();
    for _ in 0..8 {
        let next = p.answers.iter().find_map(|rr| match &rr.rdata {
            RData::CNAME(c) if rr.name.to_string().eq_ignore_ascii_case(&canonical) => {
                Some(c.0.to_string())
            }
            _ => None,
        });
        match next {
            Some(n) => canonical = n,
            None => break,
        }
    }
    let addrs: Vec<Ipv4Addr> = p
        .answers
        .iter()
        .filter(|rr| rr.name.to_string().eq_ignore_ascii_case(&canonical))
        .filter_map(|rr| match &rr.rdata {
            RData::A(a) => Some(Ipv4Addr::from(a.address)),
            _ => None,
        })
        .collect();
    if addrs.is_empty() {
        return Some(Err(NO_DATA));
    }
    Some(Ok(Answer { canonical, addrs }))
}

/// Asks `cfg.nameserver` for the addresses of `name` over `stack`'s UDP.
/// Errors are `h_errno` values.
pub(crate) fn lookup(stack: &Stack, cfg: &ResolverConfig, name: &str) -> Result<Answer, i32> {
    let sock = UdpSocket::bind(stack, "0.0.0.0:0").map_err(|_| NO_RECOVERY)?;
    sock.connect(cfg.nameserver).map_err(|_| NO_RECOVERY)?;
    let mut buf = vec![0u8; 1500];
    for _ in 0..cfg.attempts.max(1) {
        let mut id = [0u8; 2];
        getrandom::fill(&mut id).map_err(|_| NO_RECOVERY)?;
        let id = u16::from_be_bytes(id);
        let q = query(name, id)?;
        if sock.send(&q).is_err() {
            continue;
        }
        let deadline = Instant::now() + cfg.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if sock.set_read_timeout(Some(left)).is_err() {
                return Err(NO_RECOVERY);
            }
            match sock.recv(&mut buf) {
                Ok(n) => {
                    if let Some(r) = answer(&buf[..n], name, id) {
                        return r;
                    }
                }
                // A timeout ends this attempt; a refusal (ICMP port unreachable)
                // too: nobody serves DNS there right now.
                Err(_) => break,
            }
        }
    }
    Err(TRY_AGAIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::rdata::{A, CNAME};
    use simple_dns::ResourceRecord;

    fn reply(id: u16, name: &str, rcode: RCODE, answers: Vec<ResourceRecord<'_>>) -> Vec<u8> {
        let mut p = Packet::new_reply(id);
        *p.rcode_mut() = rcode;
        p.questions.push(Question::new(
            Name::new_unchecked(name),
            QTYPE::TYPE(TYPE::A),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        p.answers = answers;
        p.build_bytes_vec().unwrap()
    }

    #[test]
    fn answers_are_matched_and_read() {
        let q = Packet::parse(&query("www.example", 7).unwrap())
            .unwrap()
            .id();
        assert_eq!(q, 7);
        let cname = ResourceRecord::new(
            Name::new_unchecked("www.example"),
            CLASS::IN,
            60,
            RData::CNAME(CNAME(Name::new_unchecked("host.example"))),
        );
        let a = ResourceRecord::new(
            Name::new_unchecked("host.example"),
            CLASS::IN,
            60,
            RData::A(A {
                address: u32::from(Ipv4Addr::new(10, 0, 0, 9)),
            }),
        );
        let r = reply(7, "www.example", RCODE::NoError, vec![cname, a]);
        assert_eq!(
            answer(&r, "www.example", 7),
            Some(Ok(Answer {
                canonical: "host.example".into(),
                addrs: vec![Ipv4Addr::new(10, 0, 0, 9)],
            }))
        );
        // Another ID or another question is not the answer.
        assert_eq!(answer(&r, "www.example", 8), None);
        assert_eq!(answer(&r, "other.example", 7), None);
        assert_eq!(answer(b"junk", "www.example", 7), None);
        let nx = reply(9, "nope.example", RCODE::NameError, vec![]);
        assert_eq!(answer(&nx, "nope.example", 9), Some(Err(HOST_NOT_FOUND)));
        let empty = reply(9, "nope.example", RCODE::NoError, vec![]);
        assert_eq!(answer(&empty, "nope.example", 9), Some(Err(NO_DATA)));
        let fail = reply(9, "nope.example", RCODE::ServerFailure, vec![]);
        assert_eq!(answer(&fail, "nope.example", 9), Some(Err(TRY_AGAIN)));
    }
}
