//! Trust profiles: the roots a browser trusts, and the conditions under which it trusts them.
//!
//! - `chrome`: the Chrome Root Store (a committed snapshot, see `chrome_snapshot.rs` and
//!   `engine/tools/crs-snapshot`), each anchor with Chrome's constraint sets, evaluated for a
//!   stated Chrome version. An anchor with constraint sets is trusted for a certificate when at
//!   least one set holds entirely (Chromium's rule). The sets used today are SCT-date limits
//!   that apply from a Chrome version on: `HiPKI Root CA - G1` (Chunghwa Telecom, the
//!   government's GTLSCA) trusts only certificates with an SCT on or before 2025-07-31 from
//!   Chrome 139; `TWCA Global Root CA` only those with an SCT on or before 2026-09-14 from
//!   Chrome 153.
//! - `mozilla`: Mozilla's store as webpki-roots carries it (a root Mozilla gave a
//!   distrust-after date is left out of webpki-roots altogether).
//!
//! `--ca-file` roots join every profile, unconstrained unless `--root-constraint` gives them
//! a constraint set (as Chromium's `--test-crs-constraints` switch does for its own anchors).
//!
//! SCT dates are read from the leaf's embedded SCT list (the way nearly every publicly
//! trusted certificate carries them); SCT signatures are not verified against Chrome's log
//! list, and SCTs sent in the TLS extension or a stapled OCSP response are not read.

#[rustfmt::skip]
mod chrome_snapshot;

use model::Browser;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use std::fmt;
use std::str::FromStr;

/// Where the Chrome Root Store snapshot comes from.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotSource {
    /// The crate the data was taken from.
    pub crate_version: &'static str,
    /// Chrome's PKI Metadata component version.
    pub component_version: &'static str,
    /// The Chrome version that requested the component.
    pub browser_version: &'static str,
    /// The Chrome Root Store's own version.
    pub root_store_version: i64,
}

/// One anchor of the Chrome Root Store, as the snapshot carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChromeAnchor {
    pub sha256: &'static str,
    pub crs_root_id: Option<i32>,
    pub display_name: Option<&'static str>,
    /// Chrome enforces this anchor's own validity period (none of today's anchors).
    #[allow(dead_code)]
    pub enforce_anchor_expiry: bool,
    pub constraints: &'static [Constraint],
    pub der: &'static [u8],
}

/// One constraint set of an anchor; every condition present must hold. Field names and
/// meanings are Chromium's (`chrome_root_store.proto`); times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Constraint {
    /// Some SCT of the certificate is dated on or before this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sct_not_after_sec: Option<i64>,
    /// Every SCT of the certificate is dated after this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sct_all_after_sec: Option<i64>,
    /// Applies from this Chrome version on (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<Cow>,
    /// Applies to Chrome versions below this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_version_exclusive: Option<Cow>,
    /// Every DNS name of the leaf lies under one of these.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub permitted_dns_names: CowList,
    /// Merkle Tree Certificate indexes (never hold for an X.509 certificate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_not_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_after: Option<u64>,
    /// The leaf's notBefore is on or before this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity_starts_not_after_sec: Option<i64>,
    /// The leaf's notBefore is after this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity_starts_after_sec: Option<i64>,
}

/// A string that is either in the snapshot or given on the command line.
pub type Cow = std::borrow::Cow<'static, str>;
/// A list of names that is either in the snapshot or given on the command line.
pub type CowList = std::borrow::Cow<'static, [&'static str]>;

/// A Chrome version, `154` or `154.0.8037.97`; missing components count as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChromeVersion([u32; 4]);

impl ChromeVersion {
    /// The version the committed snapshot was requested by: the Chrome stable of the day the
    /// snapshot was taken, and the default `--chrome-version`.
    pub fn snapshot() -> ChromeVersion {
        chrome_snapshot::SOURCE
            .browser_version
            .parse()
            .expect("the snapshot's browser version parses")
    }

    /// The major version, `154`.
    pub fn major(self) -> u32 {
        self.0[0]
    }
}

impl FromStr for ChromeVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = [0u32; 4];
        let pieces: Vec<&str> = s.trim().split('.').collect();
        if pieces.is_empty() || pieces.len() > 4 {
            return Err(format!(
                "{s:?} is not a Chrome version (e.g. 154 or 154.0.8037.97)"
            ));
        }
        for (slot, piece) in parts.iter_mut().zip(&pieces) {
            *slot = piece.parse().map_err(|_| {
                format!("{s:?} is not a Chrome version (e.g. 154 or 154.0.8037.97)")
            })?;
        }
        Ok(ChromeVersion(parts))
    }
}

impl fmt::Display for ChromeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        if (b, c, d) == (0, 0, 0) {
            write!(f, "{a}")
        } else {
            write!(f, "{a}.{b}.{c}.{d}")
        }
    }
}

/// A constraint set put on an anchor of the chrome profile by its SHA-256
/// (`--root-constraint`, as Chromium's `--test-crs-constraints` switch), for labs and tests: `SHA256HEX:sctnotafter=UNIX_SECONDS`, with any of `sctnotafter`, `sctallafter`,
/// `minversion`, `maxversionexclusive`, `notbeforeafter`, `notbeforenotafter` (the last
/// two on the leaf's notBefore), comma-separated. Repeated for one root, the sets are
/// alternatives (one must hold), as in the Chrome Root Store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootConstraint {
    pub sha256: [u8; 32],
    pub constraint: Constraint,
}

impl FromStr for RootConstraint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (hash, rules) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?}: expected SHA256HEX:key=value[,key=value…]"))?;
        let sha256 = parse_sha256(hash)?;
        let mut c = Constraint::default();
        for rule in rules.split(',').filter(|r| !r.is_empty()) {
            let (key, value) = rule
                .split_once('=')
                .ok_or_else(|| format!("{rule:?}: expected key=value"))?;
            let secs = || {
                value
                    .parse::<i64>()
                    .map_err(|_| format!("{key}={value:?}: expected Unix seconds"))
            };
            let version = || {
                value
                    .parse::<ChromeVersion>()
                    .map(|_| Cow::Owned(value.to_owned()))
            };
            match key.to_ascii_lowercase().as_str() {
                "sctnotafter" => c.sct_not_after_sec = Some(secs()?),
                "sctallafter" => c.sct_all_after_sec = Some(secs()?),
                "minversion" => c.min_version = Some(version()?),
                "maxversionexclusive" => c.max_version_exclusive = Some(version()?),
                "notbeforenotafter" => c.validity_starts_not_after_sec = Some(secs()?),
                "notbeforeafter" => c.validity_starts_after_sec = Some(secs()?),
                other => {
                    return Err(format!(
                        "unknown constraint {other:?} (expected sctnotafter, sctallafter, minversion, maxversionexclusive, notbeforeafter or notbeforenotafter)"
                    ));
                }
            }
        }
        if c == Constraint::default() {
            return Err(format!("{s:?} names no constraint"));
        }
        Ok(RootConstraint {
            sha256,
            constraint: c,
        })
    }
}

fn parse_sha256(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim().replace(':', "");
    if hex.len() != 64 {
        return Err(format!(
            "{hex:?} is not a SHA-256 (64 hex digits) of a root certificate"
        ));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| format!("{hex:?} is not hexadecimal"))?;
    }
    Ok(out)
}

/// The webpki-root-certs release the `mozilla` profile is built from (Cargo.toml pins it).
const MOZILLA_STORE_VERSION: &str = "1.0.11";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a trust profile is built from.
#[derive(Debug, Clone)]
pub struct ProfileOptions {
    /// The Chrome version the `chrome` profile's constraints are evaluated for.
    pub chrome_version: ChromeVersion,
    /// `--ca-file` roots, DER.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// `--root-constraint` sets.
    pub root_constraints: Vec<RootConstraint>,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            chrome_version: ChromeVersion::snapshot(),
            extra_roots: Vec::new(),
            root_constraints: Vec::new(),
        }
    }
}

/// Where an anchor of a profile comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    ChromeRootStore,
    Mozilla,
    CaFile,
}

/// One anchor of a profile, for judging and for `scanctl trust list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AnchorInfo {
    /// The anchor's subject (CN, or O when it has no CN).
    pub name: String,
    /// SHA-256 of the certificate, hex.
    pub sha256: String,
    pub origin: Origin,
    /// Chrome's root id, for Chrome Root Store anchors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crs_root_id: Option<i32>,
    /// Alternative constraint sets; empty: trusted unconditionally.
    pub constraints: Vec<Constraint>,
}

/// The roots a chain must lead to, and what each one's trust is limited to.
#[derive(Clone)]
pub struct TrustStore {
    browser: Browser,
    name: String,
    version: String,
    chrome_version: ChromeVersion,
    pub(super) anchors: Vec<TrustAnchor<'static>>,
    info: Vec<AnchorInfo>,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("anchors", &self.anchors.len())
            .finish()
    }
}

impl TrustStore {
    /// Mozilla's roots plus `extra_roots`; an extra root that is not a readable certificate
    /// is an error.
    pub fn new(extra_roots: &[CertificateDer<'static>]) -> Result<Self, crate::Error> {
        TrustStore::profile(
            Browser::Mozilla,
            &ProfileOptions {
                extra_roots: extra_roots.to_vec(),
                ..ProfileOptions::default()
            },
        )
    }

    /// The trust profile of `browser`, with the extra roots and constraints of `options`.
    pub fn profile(browser: Browser, options: &ProfileOptions) -> Result<Self, crate::Error> {
        let mut anchors = Vec::new();
        let mut info = Vec::new();
        let version = match browser {
            Browser::Chrome => {
                for a in chrome_snapshot::ANCHORS {
                    let der = CertificateDer::from(a.der);
                    let anchor = webpki::anchor_from_trusted_cert(&der).map_err(|e| {
                        crate::Error::Tls(format!("Chrome Root Store anchor {}: {e}", a.sha256))
                    })?;
                    anchors.push(anchor.to_owned());
                    info.push(AnchorInfo {
                        name: a
                            .display_name
                            .map_or_else(|| super::cert::anchor_display_name(a.der), str::to_owned),
                        sha256: a.sha256.to_owned(),
                        origin: Origin::ChromeRootStore,
                        crs_root_id: a.crs_root_id,
                        constraints: a.constraints.to_vec(),
                    });
                }
                let s = chrome_snapshot::SOURCE;
                format!(
                    "Chrome Root Store v{} (PKI Metadata {}, {}), as Chrome {}",
                    s.root_store_version,
                    s.component_version,
                    s.crate_version,
                    options.chrome_version
                )
            }
            Browser::Mozilla => {
                for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
                    let anchor = webpki::anchor_from_trusted_cert(der)
                        .map_err(|e| crate::Error::Tls(format!("Mozilla root: {e}")))?;
                    anchors.push(anchor.to_owned());
                    info.push(AnchorInfo {
                        name: super::cert::anchor_display_name(der),
                        sha256: hex(&super::cert::sha256(der)),
                        origin: Origin::Mozilla,
                        crs_root_id: None,
                        constraints: Vec::new(),
                    });
                }
                format!(
                    "Mozilla root store (webpki-root-certs {MOZILLA_STORE_VERSION}, {} roots)",
                    anchors.len()
                )
            }
        };
        for (i, der) in options.extra_roots.iter().enumerate() {
            let anchor = webpki::anchor_from_trusted_cert(der).map_err(|e| {
                crate::Error::Tls(format!(
                    "extra root #{} is not a usable certificate: {e}",
                    i + 1
                ))
            })?;
            anchors.push(anchor.to_owned());
            info.push(AnchorInfo {
                name: super::cert::anchor_display_name(der),
                sha256: hex(&super::cert::sha256(der)),
                origin: Origin::CaFile,
                crs_root_id: None,
                constraints: Vec::new(),
            });
        }
        // A lab constraint stands for a Chrome Root Store constraint: it applies to the chrome
        // profile only, replaces the store's own sets for that root, and several for one root
        // are alternatives.
        let mut replaced: Vec<String> = Vec::new();
        let lab_constraints = match browser {
            Browser::Chrome => options.root_constraints.as_slice(),
            Browser::Mozilla => &[],
        };
        for rc in lab_constraints {
            let wanted = hex(&rc.sha256);
            let mut matched = false;
            for a in info.iter_mut().filter(|a| a.sha256 == wanted) {
                if !replaced.contains(&wanted) {
                    a.constraints.clear();
                }
                a.constraints.push(rc.constraint.clone());
                matched = true;
            }
            if matched {
                replaced.push(wanted);
            } else {
                return Err(crate::Error::Config(format!(
                    "--root-constraint {wanted}: no root with that SHA-256 in the chrome profile or the --ca-file roots"
                )));
            }
        }
        let extra = if options.extra_roots.is_empty() {
            ""
        } else {
            "+ca-file"
        };
        Ok(TrustStore {
            browser,
            name: format!("{}{extra}", browser.as_str()),
            version,
            chrome_version: options.chrome_version,
            anchors,
            info,
        })
    }

    /// `chrome` or `mozilla`, with `+ca-file` when extra roots were given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The browser whose trust this profile stands for.
    pub fn browser(&self) -> Browser {
        self.browser
    }

    /// The store and its version, as results state it.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The Chrome version constraints are evaluated for.
    pub fn chrome_version(&self) -> ChromeVersion {
        self.chrome_version
    }

    /// Every anchor, with its constraints (`scanctl trust list`).
    pub fn anchors(&self) -> &[AnchorInfo] {
        &self.info
    }

    /// The anchor a verified path ended at, by its subject and key.
    pub(super) fn anchor_info(&self, anchor: &TrustAnchor<'_>) -> Option<&AnchorInfo> {
        self.matching(
            anchor.subject.as_ref(),
            anchor.subject_public_key_info.as_ref(),
        )
        .next()
    }

    /// Where the anchor with this subject and key comes from (`None`: not in this store).
    pub(super) fn anchor_origin(&self, subject: &[u8], spki: &[u8]) -> Option<Origin> {
        self.matching(subject, spki).next().map(|info| info.origin)
    }

    /// Whether the store holds the anchor with this subject and key, without constraints.
    pub(super) fn trusts_unconditionally(&self, subject: &[u8], spki: &[u8]) -> bool {
        self.matching(subject, spki)
            .any(|info| info.constraints.is_empty())
    }

    /// The anchors with this subject and key, in store order.
    fn matching<'s, 'k>(
        &'s self,
        subject: &'k [u8],
        spki: &'k [u8],
    ) -> impl Iterator<Item = &'s AnchorInfo> + use<'s, 'k> {
        self.anchors
            .iter()
            .zip(&self.info)
            .filter(move |(a, _)| {
                a.subject.as_ref() == subject && a.subject_public_key_info.as_ref() == spki
            })
            .map(|(_, info)| info)
    }

    /// Whether this profile's constraints let `anchor` vouch for `leaf`; `Err` says why not.
    pub(super) fn check(&self, anchor: &TrustAnchor<'_>, leaf: &LeafFacts) -> Result<(), Distrust> {
        match self.anchor_info(anchor) {
            Some(info) if !info.constraints.is_empty() => {
                evaluate(&info.constraints, leaf, self.chrome_version).map_err(|rule| Distrust {
                    anchor: info.name.clone(),
                    rule,
                    browser: self.browser,
                    chrome_version: self.chrome_version,
                    earliest_sct: leaf.sct_times.iter().min().copied(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// What the constraints look at in the leaf.
#[derive(Debug, Clone, Default)]
pub struct LeafFacts {
    /// Timestamps of the embedded SCTs, Unix seconds.
    pub sct_times: Vec<i64>,
    /// The leaf's notBefore, Unix seconds.
    pub not_before: i64,
    /// The leaf's DNS names (subjectAltName).
    pub dns_names: Vec<String>,
}

/// Why an anchor's constraints exclude a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distrust {
    /// The anchor's name.
    pub anchor: String,
    /// The first condition that failed in the constraint set that applies.
    pub rule: Rule,
    pub browser: Browser,
    pub chrome_version: ChromeVersion,
    /// The earliest SCT of the certificate, Unix seconds.
    pub earliest_sct: Option<i64>,
}

/// One condition of a constraint set that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// No SCT at all, and the set limits SCT dates.
    NoSct,
    /// No SCT on or before the date.
    SctNotAfter(i64),
    /// Some SCT on or before the date.
    SctAllAfter(i64),
    /// Leaf names outside the permitted names.
    DnsNames(Vec<String>),
    /// notBefore after the date.
    ValidityStartsNotAfter(i64),
    /// notBefore on or before the date.
    ValidityStartsAfter(i64),
    /// A Merkle Tree Certificate index constraint (an X.509 certificate never meets it).
    MtcOnly,
    /// No constraint set applies to this Chrome version.
    Version,
}

/// Chromium's rule: the anchor vouches for the certificate when at least one set holds in
/// full. The failure reported is that of the first set whose version range includes
/// `version` (the rule in force for this browser).
pub fn evaluate(sets: &[Constraint], leaf: &LeafFacts, version: ChromeVersion) -> Result<(), Rule> {
    if sets.is_empty() {
        return Ok(());
    }
    let mut first_failure = None;
    for set in sets {
        if !version_applies(set, version) {
            continue;
        }
        match holds(set, leaf) {
            Ok(()) => return Ok(()),
            Err(rule) => {
                first_failure.get_or_insert(rule);
            }
        }
    }
    Err(first_failure.unwrap_or(Rule::Version))
}

fn version_applies(set: &Constraint, version: ChromeVersion) -> bool {
    let parse = |v: &Option<Cow>| v.as_deref().and_then(|v| v.parse::<ChromeVersion>().ok());
    if let Some(min) = parse(&set.min_version)
        && version < min
    {
        return false;
    }
    if let Some(max) = parse(&set.max_version_exclusive)
        && version >= max
    {
        return false;
    }
    true
}

fn holds(set: &Constraint, leaf: &LeafFacts) -> Result<(), Rule> {
    if set.index_not_after.is_some() || set.index_after.is_some() {
        return Err(Rule::MtcOnly);
    }
    if let Some(limit) = set.sct_not_after_sec {
        if leaf.sct_times.is_empty() {
            return Err(Rule::NoSct);
        }
        if !leaf.sct_times.iter().any(|&t| t <= limit) {
            return Err(Rule::SctNotAfter(limit));
        }
    }
    if let Some(limit) = set.sct_all_after_sec {
        if leaf.sct_times.is_empty() {
            return Err(Rule::NoSct);
        }
        if !leaf.sct_times.iter().all(|&t| t > limit) {
            return Err(Rule::SctAllAfter(limit));
        }
    }
    if !set.permitted_dns_names.is_empty() {
        let outside: Vec<String> = leaf
            .dns_names
            .iter()
            .filter(|n| !set.permitted_dns_names.iter().any(|p| within(n, p)))
            .cloned()
            .collect();
        if !outside.is_empty() {
            return Err(Rule::DnsNames(outside));
        }
    }
    if let Some(limit) = set.validity_starts_not_after_sec
        && leaf.not_before > limit
    {
        return Err(Rule::ValidityStartsNotAfter(limit));
    }
    if let Some(limit) = set.validity_starts_after_sec
        && leaf.not_before <= limit
    {
        return Err(Rule::ValidityStartsAfter(limit));
    }
    Ok(())
}

/// `name` equals `subtree` or lies below it (name-constraint matching of DNS names).
fn within(name: &str, subtree: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let subtree = subtree
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    name == subtree || name.ends_with(&format!(".{subtree}"))
}

impl Distrust {
    /// The `cert_distrusted` detail: the anchor, the rule, the certificate's date.
    pub fn detail(&self) -> String {
        let who = match self.browser {
            Browser::Chrome => format!("Chrome {}", self.chrome_version.major()),
            Browser::Mozilla => "Firefox".to_owned(),
        };
        let sct = match self.earliest_sct {
            Some(t) => format!("its earliest SCT is dated {}", when(t)),
            None => "it carries no SCT (Certificate Transparency timestamp)".to_owned(),
        };
        let rule = match &self.rule {
            Rule::NoSct => {
                "trusts it only for certificates whose SCTs meet a date limit".to_owned()
            }
            Rule::SctNotAfter(t) => format!(
                "trusts it only for certificates with an SCT dated on or before {}",
                when(*t)
            ),
            Rule::SctAllAfter(t) => format!(
                "trusts it only for certificates whose SCTs are all dated after {}",
                when(*t)
            ),
            Rule::DnsNames(names) => {
                return format!(
                    "the chain ends at '{}', which {who} trusts only for certain domains; {} lie outside them",
                    self.anchor,
                    names.join(", ")
                );
            }
            Rule::ValidityStartsNotAfter(t) => {
                return format!(
                    "the chain ends at '{}', which {who} trusts only for certificates issued (notBefore) on or before {}; this one was issued later",
                    self.anchor,
                    when(*t)
                );
            }
            Rule::ValidityStartsAfter(t) => {
                return format!(
                    "the chain ends at '{}', which {who} trusts only for certificates issued (notBefore) after {}",
                    self.anchor,
                    when(*t)
                );
            }
            Rule::MtcOnly | Rule::Version => {
                return format!(
                    "the chain ends at '{}', which {who} no longer trusts for certificates like this one",
                    self.anchor
                );
            }
        };
        format!(
            "the chain ends at '{}', which {who} {rule}; {sct} — reissue the certificate from a CA {who} trusts",
            self.anchor
        )
    }
}

/// `2025-07-31 23:59:59 UTC`.
fn when(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs).map_or_else(
        |_| format!("{secs} (Unix time)"),
        |t| {
            let f = time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            );
            t.format(&f).unwrap_or_default()
        },
    )
}

/// Where the committed Chrome Root Store snapshot comes from.
pub fn snapshot_source() -> SnapshotSource {
    chrome_snapshot::SOURCE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ChromeVersion {
        s.parse().unwrap()
    }

    fn hipki() -> Vec<Constraint> {
        vec![
            Constraint {
                sct_not_after_sec: Some(1_754_006_399),
                min_version: Some("139".into()),
                ..Constraint::default()
            },
            Constraint {
                max_version_exclusive: Some("139".into()),
                ..Constraint::default()
            },
        ]
    }

    fn leaf(scts: &[i64]) -> LeafFacts {
        LeafFacts {
            sct_times: scts.to_vec(),
            not_before: 1_700_000_000,
            dns_names: vec!["www.example.gov.tw".into()],
        }
    }

    #[test]
    fn versions_parse_and_order() {
        assert!(v("139") < v("153.0.8010.0"));
        assert!(v("153.0.8010.0") <= v("153.0.8010.0"));
        assert!(v("153") < v("153.0.8010.0"));
        assert!(v("154.0.8037.97") > v("153.0.8010.0"));
        assert_eq!(v("154").to_string(), "154");
        assert!("15x".parse::<ChromeVersion>().is_err());
        assert!("1.2.3.4.5".parse::<ChromeVersion>().is_err());
        assert!("".parse::<ChromeVersion>().is_err());
    }

    #[test]
    fn hipki_rule_by_sct_date_and_version() {
        let before = 1_754_006_399;
        let after = before + 86_400;
        // Chrome 154: the SCT-date set applies.
        assert_eq!(evaluate(&hipki(), &leaf(&[before]), v("154")), Ok(()));
        assert_eq!(
            evaluate(&hipki(), &leaf(&[after]), v("154")),
            Err(Rule::SctNotAfter(before))
        );
        // One early SCT is enough, as in Chrome.
        assert_eq!(
            evaluate(&hipki(), &leaf(&[after, before]), v("154")),
            Ok(())
        );
        assert_eq!(evaluate(&hipki(), &leaf(&[]), v("154")), Err(Rule::NoSct));
        // Chrome 138: the unconstrained set applies.
        assert_eq!(evaluate(&hipki(), &leaf(&[after]), v("138")), Ok(()));
        assert_eq!(evaluate(&hipki(), &leaf(&[]), v("138")), Ok(()));
    }

    #[test]
    fn sct_all_after_dns_and_validity_rules() {
        let set = |c: Constraint| vec![c];
        let all_after = set(Constraint {
            sct_all_after_sec: Some(100),
            ..Constraint::default()
        });
        assert_eq!(evaluate(&all_after, &leaf(&[101, 200]), v("154")), Ok(()));
        assert_eq!(
            evaluate(&all_after, &leaf(&[100, 200]), v("154")),
            Err(Rule::SctAllAfter(100))
        );
        let dns = set(Constraint {
            permitted_dns_names: std::borrow::Cow::Borrowed(&["gov.tw"]),
            ..Constraint::default()
        });
        assert_eq!(evaluate(&dns, &leaf(&[]), v("154")), Ok(()));
        let mut other = leaf(&[]);
        other.dns_names.push("evil.example".into());
        assert_eq!(
            evaluate(&dns, &other, v("154")),
            Err(Rule::DnsNames(vec!["evil.example".into()]))
        );
        let starts = set(Constraint {
            validity_starts_not_after_sec: Some(1_600_000_000),
            ..Constraint::default()
        });
        assert_eq!(
            evaluate(&starts, &leaf(&[]), v("154")),
            Err(Rule::ValidityStartsNotAfter(1_600_000_000))
        );
        let mtc = set(Constraint {
            index_after: Some(5),
            ..Constraint::default()
        });
        assert_eq!(evaluate(&mtc, &leaf(&[]), v("154")), Err(Rule::MtcOnly));
        // A set for other versions only: nothing applies.
        let old = set(Constraint {
            max_version_exclusive: Some("100".into()),
            ..Constraint::default()
        });
        assert_eq!(evaluate(&old, &leaf(&[]), v("154")), Err(Rule::Version));
    }

    #[test]
    fn root_constraint_flag_parses() {
        let hash = "f015ce3cc239bfef064be9f1d2c417e1a0264a0a94be1f0c8d121864eb6949cc";
        let rc: RootConstraint = format!("{hash}:sctnotafter=1754006399").parse().unwrap();
        assert_eq!(rc.constraint.sct_not_after_sec, Some(1_754_006_399));
        assert_eq!(hex(&rc.sha256), hash);
        let rc: RootConstraint = format!("{}:minversion=139,sctnotafter=5", hash.to_uppercase())
            .parse()
            .unwrap();
        assert_eq!(rc.constraint.min_version.as_deref(), Some("139"));
        for bad in [
            "nothex:sctnotafter=1".to_owned(),
            hash.to_owned(),
            format!("{hash}:"),
            format!("{hash}:sctnotafter=soon"),
            format!("{hash}:bogus=1"),
            format!("{hash}:minversion=x"),
        ] {
            assert!(
                bad.parse::<RootConstraint>().is_err(),
                "{bad} should be refused"
            );
        }
    }

    #[test]
    fn the_chrome_profile_carries_the_taiwan_rules() {
        let chrome = TrustStore::profile(Browser::Chrome, &ProfileOptions::default()).unwrap();
        let find = |name: &str| chrome.anchors().iter().find(|a| a.name == name).cloned();
        let hipki = find("HiPKI Root CA - G1").expect("HiPKI is a Chrome anchor");
        assert!(hipki.constraints.iter().any(|c| {
            c.sct_not_after_sec == Some(1_754_006_399) && c.min_version.as_deref() == Some("139")
        }));
        let twca = find("TWCA Global Root CA").expect("TWCA Global is a Chrome anchor");
        assert!(
            twca.constraints
                .iter()
                .any(|c| c.sct_not_after_sec.is_some() && c.min_version.is_some())
        );
        assert!(
            chrome
                .anchors()
                .iter()
                .all(|a| !a.name.contains("ePKI Root Certification Authority")),
            "ePKI is no Chrome anchor"
        );
        let mozilla = TrustStore::profile(Browser::Mozilla, &ProfileOptions::default()).unwrap();
        let hipki = mozilla
            .anchors()
            .iter()
            .find(|a| a.name == "HiPKI Root CA - G1")
            .expect("Mozilla carries HiPKI");
        assert!(hipki.constraints.is_empty());
        assert_eq!(chrome.name(), "chrome");
        assert_eq!(mozilla.name(), "mozilla");
        assert!(chrome.version().contains("as Chrome 154.0.8037.97"));
    }

    #[test]
    fn an_unknown_root_constraint_hash_is_refused_for_chrome() {
        let options = ProfileOptions {
            root_constraints: vec![RootConstraint {
                sha256: [7; 32],
                constraint: Constraint {
                    sct_not_after_sec: Some(1),
                    ..Constraint::default()
                },
            }],
            ..ProfileOptions::default()
        };
        assert!(TrustStore::profile(Browser::Chrome, &options).is_err());
    }
}
