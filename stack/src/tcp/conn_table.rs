//! The connection table: connections by (local, remote) address, for
//! demultiplexing segments and ICMP errors.

use std::cell::Cell;
use std::collections::HashMap;
use std::net::SocketAddrV4;

use crate::socket::SocketHandle;

/// A connection's key: (local, remote).
pub(crate) type ConnKey = (SocketAddrV4, SocketAddrV4);

/// Connections by four-tuple, with a one-entry cache of the last lookup in front
/// of the hash table (4.3BSD's `tcp_last_inpcb`): the segments of a transfer
/// arrive in runs for one connection, and each finds it without hashing.
#[derive(Debug, Default)]
pub(crate) struct ConnTable {
    map: HashMap<ConnKey, SocketHandle>,
    last: Cell<Option<(ConnKey, SocketHandle)>>,
}

impl ConnTable {
    /// The connection with this four-tuple.
    pub(crate) fn get(&self, key: &ConnKey) -> Option<SocketHandle> {
        if let Some((k, h)) = self.last.get() {
            if k == *key {
                return Some(h);
            }
        }
        let h = *self.map.get(key)?;
        self.last.set(Some((*key, h)));
        Some(h)
    }

    /// True when a connection has this four-tuple.
    pub(crate) fn contains_key(&self, key: &ConnKey) -> bool {
        self.get(key).is_some()
    }

    /// Enters a connection (replacing any other with its four-tuple).
    pub(crate) fn insert(&mut self, key: ConnKey, h: SocketHandle) {
        if self.last.get().is_some_and(|(k, _)| k == key) {
            self.last.set(None);
        }
        self.map.insert(key, h);
    }

    /// Takes a connection out.
    pub(crate) fn remove(&mut self, key: &ConnKey) {
        if self.last.get().is_some_and(|(k, _)| k == *key) {
            self.last.set(None);
        }
        self.map.remove(key);
    }

    /// True when no connection is entered.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(port: u16) -> ConnKey {
        (
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80),
            SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), port),
        )
    }

    #[test]
    fn the_cache_never_answers_for_a_removed_or_replaced_connection() {
        let mut t = ConnTable::default();
        let (a, b) = (SocketHandle::for_test(1), SocketHandle::for_test(2));
        t.insert(key(1), a);
        t.insert(key(2), b);
        assert_eq!(t.get(&key(1)), Some(a));
        assert_eq!(t.get(&key(1)), Some(a));
        t.remove(&key(1));
        assert_eq!(t.get(&key(1)), None);
        assert_eq!(t.get(&key(2)), Some(b));
        t.insert(key(2), a);
        assert_eq!(t.get(&key(2)), Some(a));
        t.remove(&key(3));
        assert_eq!(t.get(&key(2)), Some(a));
        t.remove(&key(2));
        assert!(t.is_empty());
        assert!(!t.contains_key(&key(2)));
    }
}
