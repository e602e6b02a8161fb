//! The result of scanning one site: the verdicts, the findings, and the details behind them.
//!
//! Serialised as one JSON object per site (JSON Lines). The top-level fields required by
//! `CHECKS.md` come first; the details are optional and grow over time (add fields, never
//! rename them).

use crate::finding::{Code, Finding};
use crate::site::Site;
use serde::{Deserialize, Serialize};

/// One site's result: the JSON Lines object of `CHECKS.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteResult {
    pub url: String,
    pub host: String,
    #[serde(default)]
    pub agency: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub parent: String,
    /// HTTPS adopted: a browser would show the padlock on `https://HOST/`.
    pub https_ok: bool,
    /// HTTPS forced: `http://HOST/` sends the visitor to an adopted https URL.
    pub forced_https: bool,
    pub findings: Vec<Finding>,
    /// The trust profile that judged `https_ok` (`chrome`, `mozilla`, with `+ca-file` when
    /// extra roots were given).
    #[serde(default)]
    pub trust_store: String,
    /// Each browser's verdict on the padlock: Chrome (the programme's yardstick) and Firefox
    /// (Mozilla's store), with the store version that judged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browsers: Option<Browsers>,
    /// Which scanner, with which settings, judged this site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner: Option<Scanner>,
    /// When the scan of this site started (RFC 3339, UTC).
    #[serde(default)]
    pub scanned_at: String,
    /// How long the scan of this site took.
    #[serde(default)]
    pub duration_ms: u64,
    /// The addresses the name resolved to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// What the https endpoint showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<HttpsDetails>,
    /// The walk from `http://HOST/PATH`, one entry per request made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<Hop>,
    /// Where the walk from `http://` ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    /// Insecure references found on the final https page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed_content: Option<MixedContent>,
}

impl SiteResult {
    /// An empty, not-adopted result for `site`, to be filled by a scan.
    pub fn for_site(site: &Site) -> Self {
        SiteResult {
            url: site.url.clone(),
            host: site.host.clone(),
            agency: site.agency.clone(),
            category: site.category.clone(),
            parent: site.parent.clone(),
            https_ok: false,
            forced_https: false,
            findings: Vec::new(),
            trust_store: String::new(),
            browsers: None,
            scanner: None,
            scanned_at: String::new(),
            duration_ms: 0,
            addresses: Vec::new(),
            https: None,
            redirects: Vec::new(),
            final_url: None,
            mixed_content: None,
        }
    }

    /// A result that says the scanner could not examine `site`, and why.
    pub fn failed(site: &Site, why: impl Into<String>) -> Self {
        let mut r = SiteResult::for_site(site);
        r.findings.push(Finding::new(Code::ScanFailed, why));
        r
    }

    /// Whether a finding with `code` is present.
    pub fn has(&self, code: Code) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    /// The finding codes, in order, for comparisons and tables.
    pub fn codes(&self) -> Vec<Code> {
        self.findings.iter().map(|f| f.code).collect()
    }
}

/// The version of this result's JSON form: bumped when a field changes meaning (fields are
/// only ever added). 2: `browsers`, `scanner`, the trust profiles.
pub const RESULT_SCHEMA: u32 = 2;

/// Provenance: which scanner, with which settings, judged a site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scanner {
    /// The scanner's version (`0.1.0`).
    pub version: String,
    /// The commit it was built from (`unknown` when built outside a git checkout).
    pub commit: String,
    /// [`RESULT_SCHEMA`] of the result.
    pub schema: u32,
    /// The trust store and its version that decided `https_ok`.
    pub trust_store: String,
    /// SHA-256 (hex, first 16 digits) of the scan settings: trust profile, Chrome version,
    /// extra roots, constraints, ports, probes, timeouts and caps, User-Agent. Equal digests,
    /// equal settings.
    pub settings_digest: String,
}

/// A browser whose padlock the scanner judges by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Browser {
    /// Chrome: the Chrome Root Store with its constraints, for a stated Chrome version.
    Chrome,
    /// Firefox: Mozilla's root store.
    Mozilla,
}

impl Browser {
    pub const ALL: [Browser; 2] = [Browser::Chrome, Browser::Mozilla];

    /// `chrome`, `mozilla`.
    pub fn as_str(self) -> &'static str {
        match self {
            Browser::Chrome => "chrome",
            Browser::Mozilla => "mozilla",
        }
    }
}

impl std::fmt::Display for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Browser {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "chrome" => Ok(Browser::Chrome),
            "mozilla" | "firefox" => Ok(Browser::Mozilla),
            other => Err(format!(
                "unknown trust profile {other:?} (expected chrome or mozilla)"
            )),
        }
    }
}

/// Both browsers' verdicts on one site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Browsers {
    pub chrome: BrowserVerdict,
    pub mozilla: BrowserVerdict,
}

impl Browsers {
    pub fn get(&self, browser: Browser) -> &BrowserVerdict {
        match browser {
            Browser::Chrome => &self.chrome,
            Browser::Mozilla => &self.mozilla,
        }
    }

    /// Fails in Chrome although Firefox shows the padlock: the sites Chrome's own rules (its
    /// root store and constraints) take out.
    pub fn fails_only_in_chrome(&self) -> bool {
        !self.chrome.ok && self.mozilla.ok
    }
}

/// Whether one browser shows the padlock on the site, and if not, why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BrowserVerdict {
    /// This browser would show `https://HOST/` as secure (the site's `https_ok` under its
    /// trust profile).
    pub ok: bool,
    /// The first error that takes the padlock away in this browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The store and version that judged it, e.g. `Chrome Root Store v40, as Chrome 154`.
    #[serde(default)]
    pub store: String,
}

/// The https endpoint: TLS, certificate chain, response and HSTS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpsDetails {
    /// The address connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `TLSv1.3`, `TLSv1.2`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher: Option<String>,
    /// Legacy protocol versions the server still accepts (`TLSv1.0`, `TLSv1.1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legacy_protocols: Vec<String>,
    /// The chain as the server sent it, leaf first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<CertificateInfo>,
    /// Intermediates fetched through AIA caIssuers because the server omitted them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetched_intermediates: Vec<CertificateInfo>,
    /// The root the chain led to, when it was trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_root: Option<String>,
    /// HTTP status of the response on the https endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The Strict-Transport-Security header as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts: Option<String>,
    /// The HSTS max-age in seconds, when the header parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts_max_age: Option<u64>,
}

/// What a certificate says, for a webmaster to compare with what they installed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// RFC 3339.
    pub not_before: String,
    /// RFC 3339.
    pub not_after: String,
    /// `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, ...
    pub signature_algorithm: String,
    /// `RSA 2048`, `EC P-256`, ...
    pub key: String,
    /// SHA-256 of the DER, hex.
    #[serde(default)]
    pub sha256: String,
}

/// One request of the redirect walk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    pub url: String,
    /// The HTTP status, absent when no response came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Where this hop sent the visitor, absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `http` for a 3xx redirect, `meta_refresh` for `<meta http-equiv=refresh>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<HopKind>,
    /// Why the request failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How a hop redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopKind {
    Http,
    MetaRefresh,
}

/// Insecure references on the final https page, per class of `CHECKS.md`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MixedContent {
    /// The page that was read.
    pub page: String,
    /// Whether the body was cut at the size cap (references past it were not seen).
    #[serde(default)]
    pub truncated: bool,
    /// Blockable subresources (scripts, stylesheets, fonts, frames, srcset, favicons...).
    pub active: Samples,
    /// Upgradable subresources (img src, CSS images, audio, video).
    pub passive: Samples,
    /// Forms whose action is http.
    pub forms: Samples,
    /// Where the page's Content-Security-Policy says `upgrade-insecure-requests` (the header
    /// or a `<meta http-equiv>`), if it does: browsers then fetch every reference above over
    /// https, so they are what was upgraded, not mixed content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_insecure_requests: Option<String>,
}

/// A count and a few example references.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    pub count: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Reference>,
}

/// One insecure reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub url: String,
    /// Where it was found: `img src`, `script src`, `style url()`, `form action`...
    pub element: String,
    /// For upgradable content: whether the https copy answered (`None`: not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_available: Option<bool>,
}
