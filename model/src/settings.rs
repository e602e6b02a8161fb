//! The settings a job carries: everything that shapes how its sites are judged, resolved
//! by `scanctl submit` from the same flags `scanctl scan` takes, stored with the job and
//! applied by every worker that scans it (a worker's own flags only cap them, see
//! `engine::Config::with_job`).
//!
//! Plain data: the engine validates and builds from it; the proto crate carries it.

use crate::Browser;
use serde::{Deserialize, Serialize};

/// A job's scan settings, every field resolved (no "the worker decides").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSettings {
    /// The browser whose padlock decides `https_ok` (`--trust`).
    pub trust: Browser,
    /// The Chrome version the Chrome Root Store's constraints are evaluated for
    /// (`--chrome-version`); `None`: the version the bundled snapshot came with.
    pub chrome_version: Option<String>,
    /// Extra trusted roots (`--ca-file`): the PEM texts themselves, not paths.
    pub ca_pem: Vec<String>,
    /// Constraint sets put on roots (`--root-constraint`), as written on the command line.
    pub root_constraints: Vec<String>,
    /// The job asks to contact private, loopback and link-local targets. Granted only by a
    /// worker that allows them itself; elsewhere such sites get `target_private`.
    pub allow_private_targets: bool,
    /// The whole site, seconds (`--site-timeout`; a worker caps it at its own).
    pub site_timeout_secs: u64,
    /// One response, seconds (`--step-timeout`; a worker caps it at its own).
    pub step_timeout_secs: u64,
    /// The TLS 1.0/1.1 probe (`--no-legacy-probe` turns it off).
    pub legacy_probe: bool,
    /// The implicit `/favicon.ico` request (`--no-favicon-check` turns it off).
    pub favicon_check: bool,
    /// The User-Agent sent with every request (`--user-agent`, `--contact-url`).
    pub user_agent: String,
    /// Sites in flight against one IP address across the cluster (`--per-ip-concurrency`;
    /// 0: no limit; a worker caps it at its own).
    pub per_ip_concurrency: u32,
    /// Hosts and CIDRs never contacted (`--exclude`, the file's entries); a worker adds
    /// its own.
    pub exclude: Vec<String>,
    /// Port of `http://` (a lab setting; 80).
    pub http_port: u16,
    /// Port of `https://` (a lab setting; 443).
    pub https_port: u16,
}
