//! A site: one entry of the input list, normalised so every part of the system agrees on
//! what is scanned.

use serde::{Deserialize, Serialize};
use url::Url;

/// One site to scan, as listed by the user and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Site {
    /// The entry as the user wrote it (trimmed); the identity of the site in results.
    pub url: String,
    /// The host in ASCII form (IDN labels as punycode), lowercase, no trailing dot.
    pub host: String,
    /// The path examined on both endpoints, `/` unless the entry lists one (query kept).
    pub path: String,
    /// The agency that owns the site (may be empty for a plain list).
    #[serde(default)]
    pub agency: String,
    /// The reporting group (二級機關, 三級機關, 縣市政府, ...).
    #[serde(default)]
    pub category: String,
    /// The agency above `agency`, empty at the top of the tree.
    #[serde(default)]
    pub parent: String,
}

/// Why an entry is not a site the scanner can examine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SiteError {
    #[error("the entry is empty")]
    Empty,
    #[error("{0:?} is not a valid URL or host name: {1}")]
    Invalid(String, String),
    #[error("scheme {0:?} is not scanned: list an http:// or https:// URL, or a bare host")]
    Scheme(String),
    #[error(
        "port {0} is not part of the check: the rule is about http:// on port 80 and https:// on 443; list the host without the port"
    )]
    Port(u16),
    #[error("{0} is an IP address: list the site's host name, which its certificate must match")]
    IpAddress(String),
    #[error("a user name or password in the URL is not allowed")]
    Credentials,
    #[error("{0:?} is not a host name a browser can reach (it needs at least one dot)")]
    NotAHostName(String),
}

impl Site {
    /// Parse one entry (`https://www.ey.gov.tw/`, `moe.gov.tw`, `http://x.gov.tw/portal/`).
    /// IDN hosts are converted to their ASCII form.
    pub fn parse(entry: &str) -> Result<Site, SiteError> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err(SiteError::Empty);
        }
        let with_scheme = if entry.contains("://") {
            entry.to_owned()
        } else {
            format!("http://{entry}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| SiteError::Invalid(excerpt(entry), e.to_string()))?;
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(SiteError::Scheme(excerpt(other))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SiteError::Credentials);
        }
        if let Some(port) = url.port() {
            return Err(SiteError::Port(port));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => return Err(SiteError::IpAddress(ip.to_string())),
            Some(url::Host::Ipv6(ip)) => return Err(SiteError::IpAddress(ip.to_string())),
            None => return Err(SiteError::Invalid(excerpt(entry), "no host".into())),
        };
        if !host.contains('.') || host.split('.').any(str::is_empty) {
            return Err(SiteError::NotAHostName(excerpt(&host)));
        }
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(Site {
            url: entry.to_owned(),
            host,
            path,
            agency: String::new(),
            category: String::new(),
            parent: String::new(),
        })
    }

    /// `http://HOST/PATH`, the endpoint whose redirect is examined.
    pub fn http_url(&self) -> Url {
        self.endpoint("http")
    }

    /// `https://HOST/PATH`, the endpoint whose certificate and page are examined.
    pub fn https_url(&self) -> Url {
        self.endpoint("https")
    }

    fn endpoint(&self, scheme: &str) -> Url {
        Url::parse(&format!("{scheme}://{}{}", self.host, self.path))
            .expect("a parsed site always forms a valid URL")
    }

    /// The key under which duplicates are recognised: host and path.
    pub fn dedup_key(&self) -> (String, String) {
        (self.host.clone(), self.path.clone())
    }
}

/// Characters of a bad entry an error quotes.
pub const QUOTED_CHARS: usize = 80;

/// At most [`QUOTED_CHARS`] of `text`, marked with `…` where cut: an error quotes enough of
/// a bad entry to find it, never a whole junk line.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_hosts_and_urls_normalise_to_host_and_path() {
        let s = Site::parse(" moe.gov.tw ").unwrap();
        assert_eq!((s.host.as_str(), s.path.as_str()), ("moe.gov.tw", "/"));
        let s = Site::parse("https://WWW.EY.gov.tw/").unwrap();
        assert_eq!(s.host, "www.ey.gov.tw");
        let s = Site::parse("http://example.gov.tw/portal/?a=1").unwrap();
        assert_eq!(s.path, "/portal/?a=1");
        assert_eq!(s.https_url().as_str(), "https://example.gov.tw/portal/?a=1");
        assert_eq!(s.url, "http://example.gov.tw/portal/?a=1");
    }

    #[test]
    fn idn_hosts_become_punycode() {
        let s = Site::parse("https://總統府.tw/").unwrap();
        assert_eq!(s.host, "xn--mxt499dqra.tw");
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        assert_eq!(Site::parse("  "), Err(SiteError::Empty));
        assert_eq!(
            Site::parse("https://a.gov.tw:8443/"),
            Err(SiteError::Port(8443))
        );
        assert!(Site::parse("https://a.gov.tw:443/").is_ok());
        assert_eq!(
            Site::parse("ftp://a.gov.tw/"),
            Err(SiteError::Scheme("ftp".into()))
        );
        assert!(matches!(
            Site::parse("10.0.0.1"),
            Err(SiteError::IpAddress(_))
        ));
        assert!(matches!(
            Site::parse("localhost"),
            Err(SiteError::NotAHostName(_))
        ));
        assert!(matches!(
            Site::parse("http://a b.gov.tw/"),
            Err(SiteError::Invalid(..))
        ));
        assert_eq!(
            Site::parse("https://u:p@a.gov.tw/"),
            Err(SiteError::Credentials)
        );
    }
}
