//! The 4.2BSD primer's `gethostbynameandnet` (section 3.2): when `gethostbyname`'s
//! first match will not do, walk the host data base with `gethostent` for the
//! entry of that name on a given network.

use sockets::{inet_netof, HostEnt, Stack, AF_INET};

/// The host called `name` (or an alias) whose address is on network `net` (a
/// network number as `inet_netof` gives it), or `None`.
pub fn gethostbynameandnet(s: &Stack, name: &str, net: u32) -> Option<HostEnt> {
    let mut found = None;
    s.sethostent(0);
    while let Some(hp) = s.gethostent() {
        if hp.h_addrtype != AF_INET {
            continue;
        }
        if name != hp.h_name && !hp.h_aliases.iter().any(|a| a == name) {
            continue;
        }
        // found:
        if inet_netof(hp.h_addr()) == net {
            found = Some(hp);
            break;
        }
    }
    s.endhostent(0);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use sockets::StackConfig;
    use std::net::Ipv4Addr;

    #[test]
    fn the_entry_on_the_asked_network_is_found_not_the_first() {
        let (a, _b) = Stack::memory_pair(
            StackConfig::new(Ipv4Addr::new(10, 0, 0, 1), 24),
            StackConfig::new(Ipv4Addr::new(10, 0, 0, 2), 24),
        );
        // A host on two networks: gethostbyname gives the first entry.
        a.add_host("gateway", &[], Ipv4Addr::new(10, 0, 0, 254));
        a.add_host("gateway", &["gw-lab"], Ipv4Addr::new(192, 168, 7, 1));
        assert_eq!(
            Ipv4Addr::from(a.gethostbyname("gateway").unwrap().h_addr()),
            Ipv4Addr::new(10, 0, 0, 254)
        );
        // Class C 192.168.7 is network 0xc0a807; class A 10 is network 10.
        let hp = gethostbynameandnet(&a, "gateway", 0xc0_a8_07).unwrap();
        assert_eq!(Ipv4Addr::from(hp.h_addr()), Ipv4Addr::new(192, 168, 7, 1));
        let hp = gethostbynameandnet(&a, "gw-lab", 0xc0_a8_07).unwrap();
        assert_eq!(hp.h_name, "gateway");
        assert_eq!(
            Ipv4Addr::from(gethostbynameandnet(&a, "gateway", 10).unwrap().h_addr()),
            Ipv4Addr::new(10, 0, 0, 254)
        );
        assert!(gethostbynameandnet(&a, "gateway", 172).is_none());
    }
}
