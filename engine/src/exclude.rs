//! Hosts and networks the operator never wants contacted (`--exclude FILE`): a site whose
//! host or address is listed gets a `target_excluded` result, never silence.
//!
//! One entry a line (`#` starts a comment): a host name, which also covers its subdomains
//! (`example.gov.tw` excludes `www.example.gov.tw`), an address, or a network in CIDR form
//! (`203.0.113.0/24`, `2001:db8::/32`). The policy applies the list after every resolution,
//! like the private-address rule: the site's own name, redirect hops, AIA and https copies.

use std::net::IpAddr;

/// The exclusion list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclude {
    /// Lowercase, without a trailing dot.
    hosts: Vec<String>,
    /// Network address (masked) and prefix length.
    nets: Vec<(IpAddr, u8)>,
}

/// An entry that is neither a host name nor an address or network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exclusion entry {entry:?}: {why}")]
pub struct BadEntry {
    pub entry: String,
    pub why: String,
}

impl Exclude {
    /// The entries of an exclusion file's text (blank lines and `#` comments skipped).
    pub fn lines(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim())
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Build the list from its entries.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Exclude, BadEntry> {
        let mut out = Exclude::default();
        for entry in entries {
            out.add(entry.as_ref())?;
        }
        Ok(out)
    }

    fn add(&mut self, entry: &str) -> Result<(), BadEntry> {
        let bad = |why: &str| BadEntry {
            entry: entry.to_owned(),
            why: why.to_owned(),
        };
        let e = entry.trim();
        if let Some((addr, len)) = e.split_once('/') {
            let ip: IpAddr = addr.parse().map_err(|_| bad("not an address before '/'"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len: u8 = len
                .parse()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| bad("the prefix length is not a number within the address"))?;
            self.nets.push((mask(ip, len), len));
        } else if let Ok(ip) = e
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            self.nets.push((ip, if ip.is_ipv4() { 32 } else { 128 }));
        } else {
            let host = e.trim_end_matches('.').to_ascii_lowercase();
            let host = host.strip_prefix("*.").unwrap_or(&host).to_owned();
            let valid = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
            if !valid {
                return Err(bad("not a host name, address or CIDR network"));
            }
            self.hosts.push(host);
        }
        Ok(())
    }

    /// Add every entry of `other`.
    pub fn extend(&mut self, other: &Exclude) {
        self.hosts.extend(other.hosts.iter().cloned());
        self.nets.extend(other.nets.iter().copied());
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }

    /// The entry that excludes `host` (the name or a domain above it), if any.
    pub fn host(&self, host: &str) -> Option<&str> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts
            .iter()
            .find(|e| {
                host == **e
                    || host
                        .strip_suffix(e.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            })
            .map(String::as_str)
    }

    /// The network that excludes `ip`, written `ADDR/LEN`, if any.
    pub fn address(&self, ip: IpAddr) -> Option<String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets
            .iter()
            .find(|(net, len)| net.is_ipv4() == ip.is_ipv4() && mask(ip, *len) == *net)
            .map(|(net, len)| format!("{net}/{len}"))
    }

    /// Every entry in a stable order, for the settings digest.
    pub fn canonical(&self) -> Vec<String> {
        let mut all: Vec<String> = self.hosts.clone();
        all.extend(self.nets.iter().map(|(n, l)| format!("{n}/{l}")));
        all.sort();
        all.dedup();
        all
    }
}

fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            IpAddr::V6((bits & m).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_cover_their_subdomains_and_networks_their_addresses() {
        let text = "# never scan these\nexample.gov.tw\n*.lab.gov.tw.\n203.0.113.0/24 # a range\n2001:db8::/32\n198.51.100.7\n";
        let x = Exclude::parse(&Exclude::lines(text)).unwrap();
        assert_eq!(x.host("example.gov.tw"), Some("example.gov.tw"));
        assert_eq!(x.host("WWW.Example.gov.tw."), Some("example.gov.tw"));
        assert_eq!(
            x.host("notexample.gov.tw"),
            None,
            "a label boundary, not a suffix"
        );
        assert_eq!(x.host("a.lab.gov.tw"), Some("lab.gov.tw"));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            x.address(ip("203.0.113.200")).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(x.address(ip("203.0.114.1")), None);
        assert_eq!(
            x.address(ip("::ffff:203.0.113.9")).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            x.address(ip("2001:db8:1::5")).as_deref(),
            Some("2001:db8::/32")
        );
        assert_eq!(
            x.address(ip("198.51.100.7")).as_deref(),
            Some("198.51.100.7/32")
        );
        assert_eq!(x.address(ip("198.51.100.8")), None);
    }

    #[test]
    fn a_bad_entry_is_refused_by_name() {
        let err = Exclude::parse(&["10.0.0.0/33"]).unwrap_err();
        assert_eq!(err.entry, "10.0.0.0/33");
        assert!(Exclude::parse(&["http://x/"]).is_err());
        assert!(Exclude::parse::<&str>(&[]).unwrap().is_empty());
    }
}
