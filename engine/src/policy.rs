//! Which addresses the scanner may contact.
//!
//! A list of "government sites" is input the scanner does not control: a name may resolve to
//! a private network, the scanning host itself or a cloud metadata address. Such targets are
//! refused unless the scan was told to allow them (`--allow-private-targets`, for labs). The
//! check runs after every resolution: the site's own name, every redirect hop, every AIA and
//! https-copy fetch. The operator's exclusion list ([`Exclude`]) is applied at the same
//! places, before the private-address rule.

use crate::exclude::Exclude;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// The rule applied to every resolved address. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    allow_private: bool,
    exclude: Arc<Exclude>,
}

/// Why an address may not be contacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub address: IpAddr,
    /// `private`, `loopback`, `link-local`, ...; `excluded` for the operator's list.
    pub kind: &'static str,
    /// The `--exclude` entry (`ADDR/LEN`) that covers the address, when that is why.
    pub excluded_by: Option<String>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.excluded_by {
            Some(entry) => write!(
                f,
                "{} is excluded by the operator ({entry} in --exclude); not contacted",
                self.address
            ),
            None => write!(
                f,
                "{} is a {} address; not contacted (scan with --allow-private-targets to allow it)",
                self.address, self.kind
            ),
        }
    }
}

impl std::error::Error for Refused {}

impl Policy {
    pub fn new(allow_private: bool) -> Self {
        Policy {
            allow_private,
            exclude: Arc::default(),
        }
    }

    /// The same rule, with the operator's exclusion list applied first.
    pub fn with_exclude(mut self, exclude: Exclude) -> Self {
        self.exclude = Arc::new(exclude);
        self
    }

    /// The exclusion entry that covers `host` (the name or a domain above it), if any.
    pub fn excluded_host(&self, host: &str) -> Option<&str> {
        self.exclude.host(host)
    }

    /// `Ok` when `ip` may be contacted.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        if let Some(entry) = self.exclude.address(ip) {
            return Err(Refused {
                address: ip,
                kind: "excluded",
                excluded_by: Some(entry),
            });
        }
        if self.allow_private {
            return Ok(());
        }
        match non_public(ip) {
            None => Ok(()),
            Some(kind) => Err(Refused {
                address: ip,
                kind,
                excluded_by: None,
            }),
        }
    }

    /// Split `addrs` into the ones that may be contacted and the first refusal, if any.
    pub fn filter(&self, addrs: &[IpAddr]) -> (Vec<IpAddr>, Option<Refused>) {
        let mut allowed = Vec::with_capacity(addrs.len());
        let mut refused = None;
        for &ip in addrs {
            match self.check(ip) {
                Ok(()) => allowed.push(ip),
                Err(r) => {
                    refused.get_or_insert(r);
                }
            }
        }
        (allowed, refused)
    }
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let kind = match (a, b, c) {
        _ if ip.is_broadcast() => "broadcast",
        (0, _, _) => "unspecified",
        (10, _, _) => "private",
        (100, 64..=127, _) => "shared (CGNAT)",
        (127, _, _) => "loopback",
        (169, 254, _) => "link-local",
        (172, 16..=31, _) => "private",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 168, _) => "private",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    };
    Some(kind)
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // Forms that embed an IPv4 address are judged by that address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // IPv4-compatible (deprecated) ::a.b.c.d
        [0, 0, 0, 0, 0, 0, hi, lo] => return non_public_v4(embedded(hi, lo)).or(Some("reserved")),
        // NAT64 64:ff9b::a.b.c.d
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return non_public_v4(embedded(hi, lo)),
        // 6to4 2002:AABB:CCDD::
        [0x2002, hi, lo, ..] => return non_public_v4(embedded(hi, lo)),
        _ => {}
    }
    let kind = match s[0] {
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local",
        0xfc00..=0xfdff => "unique-local",
        0xff00..=0xffff => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x3fff if s[1] <= 0x0fff => "documentation",
        0x0100 if s[1..4] == [0, 0, 0] => "discard",
        _ => return None,
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_classified() {
        let cases: &[(&str, Option<&str>)] = &[
            ("8.8.8.8", None),
            ("203.66.1.1", None),
            ("1.1.1.1", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("100.64.0.1", Some("shared (CGNAT)")),
            ("100.127.255.254", Some("shared (CGNAT)")),
            ("127.0.0.1", Some("loopback")),
            ("127.8.9.10", Some("loopback")),
            ("169.254.169.254", Some("link-local")),
            ("0.0.0.0", Some("unspecified")),
            ("255.255.255.255", Some("broadcast")),
            ("224.0.0.1", Some("multicast")),
            ("192.0.2.7", Some("documentation")),
            ("198.51.100.7", Some("documentation")),
            ("203.0.113.7", Some("documentation")),
            ("240.0.0.1", Some("reserved")),
            ("2001:4860:4860::8888", None),
            ("2402:7500::1", None),
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("fe80::1", Some("link-local")),
            ("febf::1", Some("link-local")),
            ("fc00::1", Some("unique-local")),
            ("fd12:3456::1", Some("unique-local")),
            ("ff02::1", Some("multicast")),
            ("2001:db8::1", Some("documentation")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:8.8.8.8", None),
            ("::127.0.0.1", Some("loopback")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("64:ff9b::808:808", None),
            ("2002:c0a8:0101::1", Some("private")),
            ("2002:0808:0808::1", None),
        ];
        for &(addr, want) in cases {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(non_public(ip), want, "{addr}");
        }
    }

    #[test]
    fn allowing_private_targets_lets_everything_through() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(Policy::new(false).check(ip).is_err());
        assert!(Policy::new(true).check(ip).is_ok());
        let err = Policy::new(false).check(ip).unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
    }

    #[test]
    fn filter_keeps_public_addresses_and_reports_the_first_refusal() {
        let addrs: Vec<IpAddr> = ["10.0.0.1", "8.8.8.8", "127.0.0.1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let (allowed, refused) = Policy::new(false).filter(&addrs);
        assert_eq!(allowed, vec![addrs[1]]);
        assert_eq!(refused.unwrap().kind, "private");
    }

    #[test]
    fn an_excluded_network_is_refused_even_where_private_targets_are_allowed() {
        let exclude = Exclude::parse(&["127.9.0.0/16", "skip.gov.test"]).unwrap();
        let policy = Policy::new(true).with_exclude(exclude);
        let err = policy.check("127.9.1.1".parse().unwrap()).unwrap_err();
        assert_eq!(err.excluded_by.as_deref(), Some("127.9.0.0/16"));
        assert!(err.to_string().contains("excluded"), "{err}");
        assert!(policy.check("127.8.1.1".parse().unwrap()).is_ok());
        assert_eq!(
            policy.excluded_host("a.skip.gov.test"),
            Some("skip.gov.test")
        );
    }
}
