//! The scan flags every binary that runs the engine takes (`scanctl scan`, `scanctl demo`,
//! `scan-worker`), parsed in two stages: raw flags as the user typed them, then a validated
//! [`Config`]. Each flag can also come from an environment variable (`SCAN_*`).
//!
//! [`SettingsFlags`] are the settings a job carries (`scanctl submit` takes exactly these,
//! resolved into a [`model::JobSettings`]); [`ScanFlags`] adds what belongs to the machine
//! that scans (nameserver, concurrency, DNS budget).

use crate::exclude::Exclude;
use crate::{Config, Error};
use model::JobSettings;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The settings that shape how a job's sites are judged: the same for an embedded scan and
/// a job (`scanctl submit`), where the worker's own flags only cap them.
#[derive(Debug, Clone, clap::Args)]
pub struct SettingsFlags {
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

    /// PEM file of extra trusted roots, added to every trust profile (repeatable). A job
    /// carries the file's contents.
    #[arg(long, value_name = "PEM", env = "SCAN_CA_FILE")]
    pub ca_file: Vec<PathBuf>,

    /// Put a constraint set on a root by its SHA-256, as the Chrome Root Store does (labs and
    /// tests; repeatable): `SHA256HEX:sctnotafter=UNIX_SECONDS` (also `sctallafter`,
    /// `minversion`, `maxversionexclusive`, `notbeforeafter`, `notbeforenotafter`).
    #[arg(
        long,
        value_name = "SHA256:RULES",
        env = "SCAN_ROOT_CONSTRAINT",
        value_delimiter = ';',
        value_parser = root_constraint
    )]
    pub root_constraint: Vec<String>,

    /// Allow private, loopback and link-local targets (labs and tests only). On a job, a
    /// request: granted only by workers that allow them themselves.
    #[arg(long, env = "SCAN_ALLOW_PRIVATE_TARGETS")]
    pub allow_private_targets: bool,

    /// Longest time one site may take, in seconds, all steps together (waiting for a
    /// per-address lease not included).
    #[arg(long, default_value_t = 45, value_name = "SECS", env = "SCAN_SITE_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub site_timeout: u64,

    /// Longest time one response may take, in seconds; connects, handshakes and DNS lookups
    /// take at most the smaller of this and 5 s.
    #[arg(long, default_value_t = 10, value_name = "SECS", env = "SCAN_STEP_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub step_timeout: u64,

    /// Skip the TLS 1.0/1.1 probe (no `tls_legacy_supported` findings).
    #[arg(long, env = "SCAN_NO_LEGACY_PROBE")]
    pub no_legacy_probe: bool,

    /// Skip the implicit /favicon.ico Chrome requests on a page that names no icon (one
    /// request per such page; a redirect from it to http:// is blockable mixed content).
    #[arg(long, env = "SCAN_NO_FAVICON_CHECK")]
    pub no_favicon_check: bool,

    /// At most N sites in flight against one IP address (across the whole cluster for a
    /// job; a site's connections to its address are then made one at a time); 0: no limit.
    #[arg(long, default_value_t = crate::DEFAULT_PER_IP_CONCURRENCY as u32, value_name = "N",
          env = "SCAN_PER_IP_CONCURRENCY",
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub per_ip_concurrency: u32,

    /// The User-Agent of every request (default: `govscan/VERSION (+CONTACT_URL; HTTPS
    /// compliance scan)`).
    #[arg(long, value_name = "TEXT", env = "SCAN_USER_AGENT")]
    pub user_agent: Option<String>,

    /// Where a webmaster who sees the scan in their logs can find out about it, named in
    /// the default User-Agent (e.g. `https://scan.example.gov.tw/`).
    #[arg(long, value_name = "URL", env = "SCAN_CONTACT_URL")]
    pub contact_url: Option<String>,

    /// File of hosts (and their subdomains), addresses and CIDR networks never contacted,
    /// one a line (`#` comments); their sites get a `target_excluded` result. A job carries
    /// the entries; a worker adds its own.
    #[arg(long, value_name = "FILE", env = "SCAN_EXCLUDE")]
    pub exclude: Option<PathBuf>,

    /// Port of the http:// endpoint (a lab setting; the rule is about port 80).
    #[arg(long, default_value_t = 80, hide = true, env = "SCAN_HTTP_PORT")]
    pub http_port: u16,

    /// Port of the https:// endpoint (a lab setting; the rule is about port 443).
    #[arg(long, default_value_t = 443, hide = true, env = "SCAN_HTTPS_PORT")]
    pub https_port: u16,
}

/// `--root-constraint` is kept as written (a job carries it); checked here.
fn root_constraint(s: &str) -> Result<String, String> {
    s.parse::<crate::tls::RootConstraint>()?;
    Ok(s.to_owned())
}

impl SettingsFlags {
    /// The settings as a job carries them: the CA and exclusion files read, every default
    /// resolved.
    pub fn to_settings(&self) -> Result<JobSettings, Error> {
        let mut ca_pem = Vec::with_capacity(self.ca_file.len());
        for path in &self.ca_file {
            let display = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| Error::CaFile {
                path: display.clone(),
                source,
            })?;
            // Refuse an empty file here, by its name, rather than on every worker.
            Config::default().add_ca_pem(text.as_bytes(), &display)?;
            ca_pem.push(text);
        }
        let exclude = match &self.exclude {
            None => Vec::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::Config(format!("cannot read --exclude {}: {e}", path.display()))
                })?;
                let entries = Exclude::lines(&text);
                Exclude::parse(&entries)
                    .map_err(|e| Error::Config(format!("--exclude {}: {e}", path.display())))?;
                entries
            }
        };
        Ok(JobSettings {
            trust: self.trust,
            chrome_version: self.chrome_version.map(|v| v.to_string()),
            ca_pem,
            root_constraints: self.root_constraint.clone(),
            allow_private_targets: self.allow_private_targets,
            site_timeout_secs: self.site_timeout,
            step_timeout_secs: self.step_timeout,
            legacy_probe: !self.no_legacy_probe,
            favicon_check: !self.no_favicon_check,
            user_agent: self
                .user_agent
                .clone()
                .unwrap_or_else(|| crate::default_user_agent(self.contact_url.as_deref())),
            per_ip_concurrency: self.per_ip_concurrency,
            exclude,
            http_port: self.http_port,
            https_port: self.https_port,
        })
    }
}

/// Flags that shape how sites are scanned: a job's settings and the machine's own.
#[derive(Debug, Clone, clap::Args)]
pub struct ScanFlags {
    #[command(flatten)]
    pub settings: SettingsFlags,

    /// Nameserver to ask, IP:PORT (default: the system's resolver configuration).
    #[arg(long, value_name = "IP:PORT", env = "SCAN_DNS_SERVER")]
    pub dns_server: Option<SocketAddr>,

    /// Sites scanned at once.
    #[arg(long, default_value_t = 256, value_name = "N", env = "SCAN_CONCURRENCY",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// DNS lookups in flight at once. Workers that share one nameserver should share this
    /// budget (e.g. 64 each for 4 workers): bursts beyond what the nameserver's socket
    /// buffer holds are dropped and come back as `dns_failed`.
    #[arg(long, default_value_t = 256, value_name = "N", env = "SCAN_DNS_IN_FLIGHT",
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub dns_in_flight: u32,
}

impl ScanFlags {
    /// The validated engine configuration these flags describe (reads the CA and exclusion
    /// files).
    pub fn to_config(&self) -> Result<Config, Error> {
        let mut config = Config {
            dns_server: self.dns_server,
            ..Config::default()
        };
        config.apply(&self.settings.to_settings()?)?;
        config.limits.dns_in_flight = self.dns_in_flight as usize;
        Ok(config)
    }

    /// Sites in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency as usize
    }
}
