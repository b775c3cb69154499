//! The `bench` allowlist entry: the bench side of the DUT's link, named
//! without its addresses, which only a bench knows.

use std::net::IpAddr;

use benchctl_net::{Allowlist, Entry, EntryError, expand_bench};

#[test]
fn bench_is_an_entry_of_its_own() {
    assert_eq!("bench".parse::<Entry>(), Ok(Entry::Bench));
    assert_eq!("BENCH".parse::<Entry>(), Ok(Entry::Bench));
    // A name that merely starts with it is a name.
    assert_eq!(
        "bench.example".parse::<Entry>(),
        Ok(Entry::Name("bench.example".into()))
    );
}

#[test]
fn a_list_with_bench_unexpanded_is_refused_not_misread() {
    let e = Allowlist::parse(&["gstatic.com".into(), "bench".into()]).expect_err("unexpanded");
    assert_eq!(e.reason, EntryError::BenchUnresolved);
    assert_eq!(e.entry, "bench");
}

#[test]
fn expanding_puts_the_benchs_addresses_in_its_place() {
    let bench: Vec<IpAddr> = vec![
        "198.51.100.17".parse().expect("ip"),
        "2001:db8:a::1".parse().expect("ip"),
    ];
    let entries = vec!["gstatic.com".to_string(), "bench".to_string()];
    let expanded = expand_bench(&entries, &bench);
    assert_eq!(expanded, ["gstatic.com", "198.51.100.17", "2001:db8:a::1"]);
    let list = Allowlist::parse(&expanded).expect("parses");
    assert!(list.allows_ip("198.51.100.17".parse().expect("ip")));
    assert!(list.allows_ip("2001:db8:a::1".parse().expect("ip")));
    assert_eq!(expand_bench(&entries, &[]), ["gstatic.com"]);
}
