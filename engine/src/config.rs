//! The engine's configuration: passed in whole, never read from the environment.

use crate::exclude::Exclude;
use crate::tls::{ChromeVersion, RootConstraint};
use model::{Browser, JobSettings};
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
    /// The User-Agent sent with every request (`--user-agent`; default
    /// [`default_user_agent`]).
    pub user_agent: String,
    /// Sites in flight against one IP address at once (`--per-ip-concurrency`); 0: no limit.
    pub per_ip_concurrency: usize,
    /// Hosts and networks never contacted (`--exclude`): their sites get `target_excluded`.
    pub exclude: Exclude,
    pub limits: Limits,
}

/// The User-Agent that names the project and, when the operator gives one
/// (`--contact-url`), where a site's webmaster can ask about the scan:
/// `govscan/VERSION (+URL; HTTPS compliance scan)`.
pub fn default_user_agent(contact_url: Option<&str>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match contact_url {
        Some(url) => format!("govscan/{version} (+{url}; HTTPS compliance scan)"),
        None => format!("govscan/{version} (HTTPS compliance scan)"),
    }
}

/// Sites per IP address at once when no flag says otherwise.
pub const DEFAULT_PER_IP_CONCURRENCY: usize = 4;

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
            user_agent: default_user_agent(None),
            per_ip_concurrency: DEFAULT_PER_IP_CONCURRENCY,
            exclude: Exclude::default(),
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
    check_implicit_favicon: bool,
    user_agent: &'a str,
    exclude: Vec<String>,
    limits_ms: [u128; 5],
    caps: [usize; 5],
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
    /// judged with equal settings. (The nameserver, the concurrency, the DNS budget and the
    /// per-address limit are left out: they change how, not what.)
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
            check_implicit_favicon: self.check_implicit_favicon,
            user_agent: &self.user_agent,
            exclude: self.exclude.canonical(),
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

    /// Add the roots of a PEM text (`--ca-file`'s contents) to `extra_roots`; `name` says
    /// where it came from in the error.
    pub fn add_ca_pem(&mut self, pem: &[u8], name: &str) -> Result<(), crate::Error> {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
            .filter_map(Result::ok)
            .collect();
        if certs.is_empty() {
            return Err(crate::Error::CaFileEmpty(name.to_owned()));
        }
        self.extra_roots.extend(certs);
        Ok(())
    }

    /// Take every setting a job carries from `job`, as they are (an embedded scan's flags,
    /// or a job on top of a worker's configuration before [`Config::for_job`] caps it).
    pub fn apply(&mut self, job: &JobSettings) -> Result<(), crate::Error> {
        let bad = |what: &str, e: String| crate::Error::Config(format!("{what}: {e}"));
        self.trust = job.trust;
        self.chrome_version = match &job.chrome_version {
            Some(v) => v.parse().map_err(|e| bad("chrome version", e))?,
            None => ChromeVersion::snapshot(),
        };
        self.extra_roots.clear();
        for (i, pem) in job.ca_pem.iter().enumerate() {
            self.add_ca_pem(pem.as_bytes(), &format!("CA file #{}", i + 1))?;
        }
        self.root_constraints = job
            .root_constraints
            .iter()
            .map(|c| c.parse().map_err(|e| bad("root constraint", e)))
            .collect::<Result<_, _>>()?;
        self.allow_private_targets = job.allow_private_targets;
        self.probe_legacy = job.legacy_probe;
        self.check_implicit_favicon = job.favicon_check;
        self.user_agent.clone_from(&job.user_agent);
        self.per_ip_concurrency = job.per_ip_concurrency as usize;
        self.exclude = Exclude::parse(&job.exclude).map_err(|e| bad("exclude", e.to_string()))?;
        self.http_port = job.http_port;
        self.https_port = job.https_port;
        let step = std::time::Duration::from_secs(job.step_timeout_secs.max(1));
        let defaults = Limits::default();
        self.limits.site_timeout = std::time::Duration::from_secs(job.site_timeout_secs.max(1));
        self.limits.connect_timeout = step.min(defaults.connect_timeout);
        self.limits.tls_timeout = step.min(defaults.tls_timeout);
        self.limits.dns_timeout = step.min(defaults.dns_timeout);
        self.limits.response_timeout = step;
        Ok(())
    }

    /// The configuration a worker configured as `self` scans a job with: the job's settings,
    /// never wider than the worker's own. Private targets only where the worker allows them
    /// (elsewhere such sites get `target_private`); every timeout and the per-address limit
    /// at most the worker's; the worker's exclusions added to the job's. The nameserver and
    /// DNS budget stay the worker's.
    pub fn for_job(&self, job: &JobSettings) -> Result<Config, crate::Error> {
        let mut c = self.clone();
        c.apply(job)?;
        c.allow_private_targets &= self.allow_private_targets;
        let (l, w) = (&mut c.limits, &self.limits);
        l.site_timeout = l.site_timeout.min(w.site_timeout);
        l.connect_timeout = l.connect_timeout.min(w.connect_timeout);
        l.tls_timeout = l.tls_timeout.min(w.tls_timeout);
        l.dns_timeout = l.dns_timeout.min(w.dns_timeout);
        l.response_timeout = l.response_timeout.min(w.response_timeout);
        c.per_ip_concurrency = match (c.per_ip_concurrency, self.per_ip_concurrency) {
            (0, w) => w,
            (j, 0) => j,
            (j, w) => j.min(w),
        };
        c.exclude.extend(&self.exclude);
        Ok(c)
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
        let other = Config {
            per_ip_concurrency: 1,
            ..Config::default()
        };
        assert_eq!(other.settings_digest(), d, "politeness is how, not what");
        let other = Config {
            exclude: Exclude::parse(&["example.gov.tw"]).unwrap(),
            ..Config::default()
        };
        assert_ne!(other.settings_digest(), d);
    }

    fn job() -> JobSettings {
        JobSettings {
            trust: Browser::Mozilla,
            chrome_version: None,
            ca_pem: Vec::new(),
            root_constraints: Vec::new(),
            allow_private_targets: true,
            site_timeout_secs: 90,
            step_timeout_secs: 3,
            legacy_probe: false,
            favicon_check: true,
            user_agent: "lab".into(),
            per_ip_concurrency: 0,
            exclude: vec!["job.gov.test".into()],
            http_port: 80,
            https_port: 443,
        }
    }

    #[test]
    fn a_job_never_widens_what_the_worker_allows() {
        let mut worker = Config::default();
        worker.limits.site_timeout = Duration::from_secs(30);
        worker.exclude = Exclude::parse(&["10.9.0.0/16"]).unwrap();
        let c = worker.for_job(&job()).unwrap();
        assert_eq!(c.trust, Browser::Mozilla, "the job's own settings");
        assert!(!c.probe_legacy);
        assert_eq!(c.user_agent, "lab");
        assert!(
            !c.allow_private_targets,
            "private targets stay the worker's to allow"
        );
        assert_eq!(c.limits.site_timeout, Duration::from_secs(30), "capped");
        assert_eq!(
            c.limits.response_timeout,
            Duration::from_secs(3),
            "narrower is fine"
        );
        assert_eq!(c.limits.connect_timeout, Duration::from_secs(3));
        assert_eq!(
            c.per_ip_concurrency, DEFAULT_PER_IP_CONCURRENCY,
            "no job limit: the worker's"
        );
        assert!(
            c.exclude.host("job.gov.test").is_some()
                && c.exclude.address("10.9.1.1".parse().unwrap()).is_some()
        );
        let mut lower = job();
        lower.per_ip_concurrency = 2;
        assert_eq!(worker.for_job(&lower).unwrap().per_ip_concurrency, 2);
        let allowing = Config {
            allow_private_targets: true,
            ..Config::default()
        };
        assert!(allowing.for_job(&job()).unwrap().allow_private_targets);
        let mut bad = job();
        bad.root_constraints = vec!["nothex".into()];
        assert!(matches!(worker.for_job(&bad), Err(crate::Error::Config(_))));
    }
}
