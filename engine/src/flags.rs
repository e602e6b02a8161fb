//! The scan flags every binary that runs the engine takes (`scanctl scan`, `scanctl demo`,
//! `scan-worker`), parsed in two stages: raw flags as the user typed them, then a validated
//! [`Config`]. Each flag can also come from an environment variable (`SCAN_*`).

use crate::{Config, Error};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Flags that shape how sites are scanned.
#[derive(Debug, Clone, clap::Args)]
pub struct ScanFlags {
    /// Nameserver to ask, IP:PORT (default: the system's resolver configuration).
    #[arg(long, value_name = "IP:PORT", env = "SCAN_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,

    /// The browser whose padlock decides `https_ok`: `chrome` (the Chrome Root Store with its
    /// constraints) or `mozilla` (Firefox's store). Each result gives both verdicts.
    #[arg(
        long,
        value_name = "PROFILE",
        default_value = "chrome",
        env = "SCAN_TRUST"
    )]
    pub trust: model::Browser,

    /// The Chrome version the Chrome Root Store's constraints are evaluated for, e.g. `154`
    /// (default: the Chrome stable the bundled root store snapshot came with).
    #[arg(long, value_name = "VERSION", env = "SCAN_CHROME_VERSION")]
    pub chrome_version: Option<crate::tls::ChromeVersion>,

    /// PEM file of extra trusted roots, added to every trust profile (repeatable).
    #[arg(long, value_name = "PEM", env = "SCAN_CA_FILE")]
    pub ca_file: Vec<PathBuf>,

    /// Put a constraint set on a root by its SHA-256, as the Chrome Root Store does (labs and
    /// tests; repeatable): `SHA256HEX:sctnotafter=UNIX_SECONDS` (also `sctallafter`,
    /// `minversion`, `maxversionexclusive`, `notbeforeafter`, `notbeforenotafter`).
    #[arg(
        long,
        value_name = "SHA256:RULES",
        env = "SCAN_ROOT_CONSTRAINT",
        value_delimiter = ';'
    )]
    pub root_constraint: Vec<crate::tls::RootConstraint>,

    /// Allow private, loopback and link-local targets (labs and tests only).
    #[arg(long, env = "SCAN_ALLOW_PRIVATE_TARGETS")]
    pub allow_private_targets: bool,

    /// Sites scanned at once.
    #[arg(long, default_value_t = 256, value_name = "N", env = "SCAN_CONCURRENCY",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// Longest time one site may take, in seconds, all steps together.
    #[arg(long, default_value_t = 45, value_name = "SECS", env = "SCAN_SITE_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub site_timeout: u64,

    /// Longest time one response may take, in seconds; connects, handshakes and DNS lookups
    /// take at most the smaller of this and 5 s.
    #[arg(long, default_value_t = 10, value_name = "SECS", env = "SCAN_STEP_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub step_timeout: u64,

    /// DNS lookups in flight at once. Workers that share one nameserver should share this
    /// budget (e.g. 64 each for 4 workers): bursts beyond what the nameserver's socket
    /// buffer holds are dropped and come back as `dns_failed`.
    #[arg(long, default_value_t = 256, value_name = "N", env = "SCAN_DNS_IN_FLIGHT",
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub dns_in_flight: u32,

    /// Skip the TLS 1.0/1.1 probe (no `tls_legacy_supported` findings).
    #[arg(long, env = "SCAN_NO_LEGACY_PROBE")]
    pub no_legacy_probe: bool,

    /// Skip the implicit /favicon.ico Chrome requests on a page that names no icon (one
    /// request per such page; a redirect from it to http:// is blockable mixed content).
    #[arg(long, env = "SCAN_NO_FAVICON_CHECK")]
    pub no_favicon_check: bool,

    /// Port of the http:// endpoint (a lab setting; the rule is about port 80).
    #[arg(long, default_value_t = 80, hide = true, env = "SCAN_HTTP_PORT")]
    pub http_port: u16,

    /// Port of the https:// endpoint (a lab setting; the rule is about port 443).
    #[arg(long, default_value_t = 443, hide = true, env = "SCAN_HTTPS_PORT")]
    pub https_port: u16,
}

impl ScanFlags {
    /// The validated engine configuration these flags describe (reads the CA files).
    pub fn to_config(&self) -> Result<Config, Error> {
        let mut config = Config {
            dns_server: self.dns_server,
            allow_private_targets: self.allow_private_targets,
            http_port: self.http_port,
            https_port: self.https_port,
            probe_legacy: !self.no_legacy_probe,
            trust: self.trust,
            root_constraints: self.root_constraint.clone(),
            check_implicit_favicon: !self.no_favicon_check,
            ..Config::default()
        };
        if let Some(v) = self.chrome_version {
            config.chrome_version = v;
        }
        for path in &self.ca_file {
            config.add_ca_file(path)?;
        }
        let step = Duration::from_secs(self.step_timeout);
        config.limits.site_timeout = Duration::from_secs(self.site_timeout);
        config.limits.connect_timeout = step.min(config.limits.connect_timeout);
        config.limits.tls_timeout = step.min(config.limits.tls_timeout);
        config.limits.dns_timeout = step.min(config.limits.dns_timeout);
        config.limits.response_timeout = step;
        config.limits.dns_in_flight = self.dns_in_flight as usize;
        Ok(config)
    }

    /// Sites in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency as usize
    }
}
