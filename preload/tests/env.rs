//! The environment the preload library reads.

use netstack_preload::env::{parse_cidr, Settings};

#[test]
fn cidr_parses_and_rejects() {
    assert_eq!(parse_cidr("10.1.2.3/16").unwrap().1, 16);
    assert_eq!(parse_cidr("10.1.2.3").unwrap().1, 24);
    assert!(parse_cidr("10.1.2/8").is_err());
    assert!(parse_cidr("10.1.2.3/33").is_err());
}

#[test]
fn defaults_without_variables() {
    // The test binary's environment has no NETSTACK_ADDR unless a user set one.
    if std::env::var_os("NETSTACK_ADDR").is_some() {
        return;
    }
    let s = Settings::from_env().unwrap();
    assert_eq!(s.config.addr.to_string(), "10.0.0.2");
    assert_eq!(s.link.mtu, 1500);
    assert!((s.exit_linger - 5.0).abs() < 1e-9);
}
