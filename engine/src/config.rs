//! The engine's configuration: passed in whole, never read from the environment.

use crate::tls::{ChromeVersion, RootConstraint};
use model::Browser;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::net::SocketAddr;
use std::time::Duration;

/// How the engine scans. `Config::default()` is what a national scan should use.
#[derive(Debug, Clone)]
pub struct Config {
    /// The nameserver to ask (`--dns-server`); `None` uses the system's configuration.
    pub dns_server: Option<SocketAddr>,
    /// The trust profile `https_ok` is judged by (`--trust`); the other browser's verdict is
    /// given beside it.
    pub trust: Browser,
    /// The Chrome version the `chrome` profile's constraints are evaluated for
    /// (`--chrome-version`; default: the Chrome stable the root store snapshot came with).
    pub chrome_version: ChromeVersion,
    /// Roots trusted beside the profile's (`--ca-file`), DER; every profile gets them.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Constraint sets put on roots by their SHA-256 (`--root-constraint`, labs and tests).
    pub root_constraints: Vec<RootConstraint>,
    /// Contact private, loopback and link-local addresses (`--allow-private-targets`).
    pub allow_private_targets: bool,
    /// Port of the `http://` endpoint (80; another only in a lab). A lab port stands for 80
    /// everywhere: every `http://` URL without a port (redirect hops, AIA) is contacted on it.
    pub http_port: u16,
    /// Port of the `https://` endpoint (443; another only in a lab), likewise for every
    /// `https://` URL without a port (redirect hops, https copies of mixed content).
    pub https_port: u16,
    /// Probe for TLS 1.0/1.1 support beside 1.2+ (`tls_legacy_supported`).
    pub probe_legacy: bool,
    /// Check whether the https copy of each upgradable mixed-content sample exists.
    pub check_https_copies: bool,
    /// Request the implicit `/favicon.ico` of a final page that names no icon, as Chrome
    /// does, to find a redirect from it to http (blockable mixed content).
    pub check_implicit_favicon: bool,
    /// The User-Agent sent with every request.
    pub user_agent: String,
    pub limits: Limits,
}

/// Every timer and cap; the scanner never trusts what a site sends.
#[derive(Debug, Clone)]
pub struct Limits {
    /// TCP connect, per address.
    pub connect_timeout: Duration,
    /// TLS handshake.
    pub tls_timeout: Duration,
    /// From request sent to the whole response read (headers and capped body).
    pub response_timeout: Duration,
    /// DNS resolution of one name.
    pub dns_timeout: Duration,
    /// DNS lookups in flight at once (a burst of thousands overflows UDP buffers).
    pub dns_in_flight: usize,
    /// The whole site, all steps together; past it the site ends with `timeout`.
    pub site_timeout: Duration,
    /// Response headers, bytes.
    pub max_header_bytes: usize,
    /// Response body read for meta refresh and mixed content, bytes.
    pub max_body_bytes: usize,
    /// Redirect hops followed from `http://`: 20, as Chrome (`net::URLRequest` gives up on
    /// the 21st redirect with `ERR_TOO_MANY_REDIRECTS`; the browser test checks both sides).
    pub max_redirects: usize,
    /// Redirects followed from `https://HOST/` to the page a browser shows (Chrome: 20).
    pub max_https_redirects: usize,
    /// A fetched AIA intermediate, bytes.
    pub max_aia_bytes: usize,
    /// Mixed-content samples kept per class.
    pub max_samples: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect_timeout: Duration::from_secs(5),
            tls_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(10),
            dns_timeout: Duration::from_secs(5),
            dns_in_flight: 256,
            site_timeout: Duration::from_secs(45),
            max_header_bytes: 64 * 1024,
            max_body_bytes: 2 * 1024 * 1024,
            max_redirects: 20,
            max_https_redirects: 20,
            max_aia_bytes: 64 * 1024,
            max_samples: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dns_server: None,
            trust: Browser::Chrome,
            chrome_version: ChromeVersion::snapshot(),
            extra_roots: Vec::new(),
            root_constraints: Vec::new(),
            allow_private_targets: false,
            http_port: 80,
            https_port: 443,
            probe_legacy: true,
            check_https_copies: true,
            check_implicit_favicon: true,
            user_agent: concat!("gov-https-scanner/", env!("CARGO_PKG_VERSION")).to_owned(),
            limits: Limits::default(),
        }
    }
}

/// The settings that decide a verdict, in a stable form for [`Config::settings_digest`].
#[derive(serde::Serialize)]
struct Settings<'a> {
    trust: Browser,
    chrome_version: String,
    extra_roots_sha256: Vec<String>,
    root_constraints: Vec<(String, &'a crate::tls::profile::Constraint)>,
    allow_private_targets: bool,
    http_port: u16,
    https_port: u16,
    probe_legacy: bool,
    check_https_copies: bool,
    user_agent: &'a str,
    limits_ms: [u128; 5],
    caps: [usize; 6],
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Config {
    /// A digest of every setting that can change a verdict: two scans with equal digests
    /// judged with equal settings. (The nameserver and the concurrency are left out: they
    /// change how, not what.)
    pub fn settings_digest(&self) -> String {
        let l = &self.limits;
        let settings = Settings {
            trust: self.trust,
            chrome_version: self.chrome_version.to_string(),
            extra_roots_sha256: self.extra_roots.iter().map(|r| sha256_hex(r)).collect(),
            root_constraints: self
                .root_constraints
                .iter()
                .map(|rc| {
                    let hex: String = rc.sha256.iter().map(|b| format!("{b:02x}")).collect();
                    (hex, &rc.constraint)
                })
                .collect(),
            allow_private_targets: self.allow_private_targets,
            http_port: self.http_port,
            https_port: self.https_port,
            probe_legacy: self.probe_legacy,
            check_https_copies: self.check_https_copies,
            user_agent: &self.user_agent,
            limits_ms: [
                l.connect_timeout.as_millis(),
                l.tls_timeout.as_millis(),
                l.response_timeout.as_millis(),
                l.dns_timeout.as_millis(),
                l.site_timeout.as_millis(),
            ],
            caps: [
                l.max_header_bytes,
                l.max_body_bytes,
                l.max_redirects,
                l.max_aia_bytes,
                l.max_samples,
                l.dns_in_flight,
            ],
        };
        let json = serde_json::to_vec(&settings).unwrap_or_default();
        sha256_hex(&json)[..16].to_owned()
    }

    /// What the trust profiles are built from.
    pub fn profile_options(&self) -> crate::tls::ProfileOptions {
        crate::tls::ProfileOptions {
            chrome_version: self.chrome_version,
            extra_roots: self.extra_roots.clone(),
            root_constraints: self.root_constraints.clone(),
        }
    }

    /// Read a PEM file of extra roots (`--ca-file`) into `extra_roots`.
    pub fn add_ca_file(&mut self, path: &std::path::Path) -> Result<(), crate::Error> {
        let display = path.display().to_string();
        let data = std::fs::read(path).map_err(|source| crate::Error::CaFile {
            path: display.clone(),
            source,
        })?;
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&data)
            .filter_map(Result::ok)
            .collect();
        if certs.is_empty() {
            return Err(crate::Error::CaFileEmpty(display));
        }
        self.extra_roots.extend(certs);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_digest_follows_what_changes_a_verdict() {
        let base = Config::default();
        let d = base.settings_digest();
        assert_eq!(d.len(), 16);
        assert_eq!(d, Config::default().settings_digest(), "stable");
        let other = Config {
            trust: Browser::Mozilla,
            ..Config::default()
        };
        assert_ne!(other.settings_digest(), d);
        let other = Config {
            chrome_version: "139".parse().unwrap(),
            ..Config::default()
        };
        assert_ne!(other.settings_digest(), d);
        let mut other = Config::default();
        other.limits.site_timeout = Duration::from_secs(5);
        assert_ne!(other.settings_digest(), d);
        let mut other = Config::default();
        other.extra_roots.push(CertificateDer::from(vec![1, 2, 3]));
        assert_ne!(other.settings_digest(), d);
        // How fast, not what: the nameserver is not part of it.
        let other = Config {
            dns_server: Some("127.0.0.1:53".parse().unwrap()),
            ..Config::default()
        };
        assert_eq!(other.settings_digest(), d);
    }
}
