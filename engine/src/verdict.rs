//! The verdict: a pure step from what the scan observed to `https_ok`, `forced_https` and
//! the findings, exactly as `CHECKS.md` defines them. No network, no clock: tested with a
//! table of observations.

use crate::fetch::Error as FetchError;
use crate::legacy::Version;
use crate::redirect::{End, Outcome};
use crate::tls::ChainVerdict;
use crate::{dns, hsts, policy};
use model::{Code, Finding, HopKind, MixedContent, Samples};

/// HSTS max-age a browser keeps long enough to count (one year).
pub const HSTS_MIN_MAX_AGE: u64 = 31_536_000;

/// How the site's name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dns {
    Resolved,
    Failed(dns::Error),
    /// Every address is refused by the policy.
    Refused(policy::Refused),
}

/// How far the TLS side of an https endpoint got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// No handshake: the connection (or resolution) failed, or the handshake timed out.
    Failed(FetchError),
    /// rustls failed and the probe found no TLS 1.0–1.2 either.
    HandshakeFailed { rustls: String },
    /// Only TLS 1.1 or older is accepted.
    LegacyOnly { versions: Vec<Version> },
    /// rustls completed TLS 1.2 or 1.3.
    Tls,
    /// rustls failed but the server accepts TLS 1.2 with a suite rustls does not speak (a
    /// browser still shows the padlock): the chain was judged, the HTTP response not checked.
    ProbeOnly { cipher: String },
}

/// The HTTP response over the endpoint's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Received {
        status: u16,
        /// The absolute URL a 3xx sent the visitor to.
        location: Option<String>,
        /// The first Strict-Transport-Security value, as sent.
        hsts: Option<String>,
    },
    Failed(FetchError),
    /// No request was made (no handshake, or one only the probe could complete).
    NotChecked,
}

/// One https endpoint as examined.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `https://HOST/PATH`.
    pub url: String,
    pub reach: Reach,
    /// The chain judgement by the chosen trust profile, whenever certificates were seen.
    pub chain: Option<ChainVerdict>,
    /// The same chain judged by the other browser's profile.
    pub other_chain: Option<ChainVerdict>,
    /// Legacy versions accepted beside a working TLS 1.2+.
    pub legacy_accepted: Vec<Version>,
    pub response: Response,
}

impl Endpoint {
    /// An endpoint whose examination failed before any handshake.
    pub fn failed(url: impl Into<String>, error: FetchError) -> Endpoint {
        Endpoint {
            url: url.into(),
            reach: Reach::Failed(error),
            chain: None,
            other_chain: None,
            legacy_accepted: Vec::new(),
            response: Response::NotChecked,
        }
    }

    /// `https_ok` for this endpoint.
    pub fn ok(&self) -> bool {
        let trusted = self.chain.as_ref().is_some_and(|c| c.trusted);
        let response_ok = match (&self.reach, &self.response) {
            (Reach::Tls, Response::Received { location, .. }) => !is_http(location.as_deref()),
            (Reach::ProbeOnly { .. }, _) => true,
            _ => false,
        };
        trusted && response_ok
    }
}

/// Everything the scan of one site observed. Missing parts (`None`) were not reached, e.g.
/// because the site timed out.
#[derive(Debug, Clone)]
pub struct Observations {
    pub host: String,
    pub dns: Option<Dns>,
    /// The site's https endpoint.
    pub https: Option<Endpoint>,
    /// The walk from `http://`.
    pub walk: Option<Outcome>,
    /// The https endpoint the walk ended on, when it is another host than the site's.
    pub final_endpoint: Option<Endpoint>,
    /// Mixed content on the final https page.
    pub mixed: Option<MixedContent>,
    /// The site timeout cut the scan short after this long.
    pub timed_out: Option<std::time::Duration>,
}

impl Observations {
    /// The same observations as the other browser sees them: every chain judged by the other
    /// trust profile (everything else a browser sees alike).
    pub fn as_other_browser(&self) -> Observations {
        let swap = |e: &Option<Endpoint>| {
            e.clone().map(|mut e| {
                if e.other_chain.is_some() {
                    std::mem::swap(&mut e.chain, &mut e.other_chain);
                }
                e
            })
        };
        Observations {
            https: swap(&self.https),
            final_endpoint: swap(&self.final_endpoint),
            ..self.clone()
        }
    }
}

/// One browser's verdict for the result: ok, and if not, the first error that takes the
/// padlock away (certificate and connection errors before the rest).
pub fn browser_verdict(v: &Verdict, store: &str) -> model::BrowserVerdict {
    let reason = (!v.https_ok)
        .then(|| {
            v.findings
                .iter()
                .filter(|f| f.severity == model::Severity::Error)
                .min_by_key(|f| padlock_rank(f.code))
        })
        .flatten();
    model::BrowserVerdict {
        ok: v.https_ok,
        code: reason.map(|f| f.code),
        reason: reason.map(|f| f.detail.clone()),
        store: store.to_owned(),
    }
}

/// Which errors explain a missing padlock first: trust before names before the rest.
fn padlock_rank(code: Code) -> u8 {
    match code {
        Code::CertDistrusted => 0,
        Code::CertUntrusted | Code::CertSelfSigned => 1,
        Code::CertExpired | Code::CertNotYetValid => 2,
        Code::CertHostnameMismatch => 3,
        Code::CertWeakSignature | Code::CertWeakKey => 4,
        Code::DnsNxdomain | Code::DnsFailed | Code::TargetPrivate => 5,
        Code::HttpsUnreachable | Code::TlsHandshakeFailed | Code::TlsLegacyOnly => 6,
        Code::Timeout => 7,
        _ => 8,
    }
}

/// The judgement of one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub https_ok: bool,
    pub forced_https: bool,
    pub findings: Vec<Finding>,
}

/// Judge the observations.
pub fn judge(o: &Observations) -> Verdict {
    let mut findings = Vec::new();
    let mut v = Verdict {
        https_ok: false,
        forced_https: false,
        findings: Vec::new(),
    };
    match &o.dns {
        Some(Dns::Resolved) => {}
        Some(Dns::Failed(e)) => findings.push(dns_finding(&o.host, e)),
        Some(Dns::Refused(r)) => findings.push(Finding::new(
            Code::TargetPrivate,
            format!(
                "{} resolves only to addresses the scanner may not contact: {r}",
                o.host
            ),
        )),
        None => {}
    }
    if o.dns == Some(Dns::Resolved) {
        if let Some(endpoint) = &o.https {
            v.https_ok = endpoint.ok();
            endpoint_findings(endpoint, "", &mut findings);
            if let Response::Received { hsts, .. } = &endpoint.response
                && let Some(f) = hsts_finding(&endpoint.url, hsts.as_deref())
            {
                findings.push(f);
            }
        }
        if let Some(walk) = &o.walk {
            v.forced_https = walk_findings(o, walk, &mut findings);
        }
        if let Some(mixed) = &o.mixed {
            mixed_findings(mixed, &mut findings);
        }
    }
    if let Some(after) = o.timed_out {
        findings.push(Finding::new(
            Code::Timeout,
            format!(
                "the scan of this site did not finish within {}s; what is reported was seen before that",
                after.as_secs()
            ),
        ));
    }
    v.findings = findings;
    v
}

fn is_http(url: Option<&str>) -> bool {
    url.and_then(|u| u.get(..7))
        .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
}

fn dns_finding(host: &str, e: &dns::Error) -> Finding {
    match e {
        dns::Error::NxDomain => Finding::new(
            Code::DnsNxdomain,
            format!("{host} does not exist in DNS (NXDOMAIN)"),
        ),
        dns::Error::NoAddresses => Finding::new(
            Code::DnsFailed,
            format!("{host} exists in DNS but has no A or AAAA record"),
        ),
        dns::Error::Timeout(d) => Finding::new(
            Code::DnsFailed,
            format!("no DNS answer for {host} within {}s", d.as_secs_f32()),
        ),
        other => Finding::new(Code::DnsFailed, format!("resolving {host}: {other}")),
    }
}

/// The finding for a request to `url` that got no response.
fn fetch_finding(url: &str, e: &FetchError, https: bool) -> Finding {
    let unreachable = if https {
        Code::HttpsUnreachable
    } else {
        Code::HttpUnreachable
    };
    match e {
        FetchError::Dns(d) => {
            let mut f = dns_finding(url, d);
            f.detail = format!("{url}: {f}", f = f.detail);
            f
        }
        FetchError::TargetPrivate(r) => Finding::new(Code::TargetPrivate, format!("{url}: {r}")),
        FetchError::Unreachable(why) => Finding::new(
            unreachable,
            format!("nothing accepts connections for {url} ({why})"),
        ),
        FetchError::ConnectTimeout(d) => Finding::new(
            unreachable,
            format!(
                "nothing answered a connection for {url} within {}s",
                d.as_secs_f32()
            ),
        ),
        FetchError::TlsTimeout(d) => Finding::new(
            Code::Timeout,
            format!(
                "the TLS handshake with {url} did not finish within {}s",
                d.as_secs_f32()
            ),
        ),
        FetchError::ResponseTimeout(d) => Finding::new(
            Code::Timeout,
            format!(
                "{url} sent no complete response within {}s",
                d.as_secs_f32()
            ),
        ),
        FetchError::Tls(why) => Finding::new(
            Code::TlsHandshakeFailed,
            format!("the TLS handshake with {url} failed: {why}"),
        ),
        FetchError::Http(why) => Finding::new(
            unreachable,
            format!("{url} accepted the connection but sent no usable HTTP response: {why}"),
        ),
    }
}

/// The findings of one https endpoint; `prefix` says which endpoint when it is not the
/// site's own.
fn endpoint_findings(e: &Endpoint, prefix: &str, out: &mut Vec<Finding>) {
    let start = out.len();
    match &e.reach {
        Reach::Failed(err) => out.push(fetch_finding(&e.url, err, true)),
        Reach::HandshakeFailed { rustls } => out.push(Finding::new(
            Code::TlsHandshakeFailed,
            format!(
                "the TLS handshake with {} failed ({rustls}), and the server accepts no TLS 1.0-1.2 handshake a browser would offer either",
                e.url
            ),
        )),
        Reach::LegacyOnly { versions } => {
            let names: Vec<&str> = versions.iter().map(|v| v.as_str()).collect();
            out.push(Finding::new(
                Code::TlsLegacyOnly,
                format!(
                    "{} accepts only {}, which current browsers refuse; enable TLS 1.2 and 1.3",
                    e.url,
                    names.join(" and ")
                ),
            ));
        }
        Reach::Tls | Reach::ProbeOnly { .. } => {}
    }
    if !e.legacy_accepted.is_empty() && matches!(e.reach, Reach::Tls | Reach::ProbeOnly { .. }) {
        let names: Vec<&str> = e.legacy_accepted.iter().map(|v| v.as_str()).collect();
        out.push(Finding::new(
            Code::TlsLegacySupported,
            format!(
                "{} still accepts {} beside TLS 1.2+; disable them",
                e.url,
                names.join(" and ")
            ),
        ));
    }
    if let Some(chain) = &e.chain {
        out.extend(chain.findings.iter().cloned());
        if !chain.trusted
            && !chain
                .findings
                .iter()
                .any(|f| f.severity == model::Severity::Error)
        {
            // A chain judged untrusted must say why, even if the judge gave no reason.
            out.push(Finding::new(
                Code::CertUntrusted,
                format!("the certificate chain of {} is not trusted", e.url),
            ));
        }
    } else if matches!(e.reach, Reach::Tls | Reach::ProbeOnly { .. }) {
        out.push(Finding::new(
            Code::CertUntrusted,
            format!("{} sent no certificate the scanner could judge", e.url),
        ));
    }
    if matches!(e.reach, Reach::Tls) {
        match &e.response {
            Response::Received {
                location: Some(loc),
                status,
                ..
            } if is_http(Some(loc)) => out.push(Finding::new(
                Code::RedirectDowngrade,
                format!(
                    "{} answers {status} and sends the visitor back to {loc}",
                    e.url
                ),
            )),
            Response::Failed(err) => {
                let mut f = fetch_finding(&e.url, err, true);
                if f.code == Code::HttpsUnreachable {
                    f.detail = format!(
                        "the TLS handshake with {} succeeded but no HTTP response came back: {err}",
                        e.url
                    );
                }
                out.push(f);
            }
            _ => {}
        }
    }
    if !prefix.is_empty() {
        for f in &mut out[start..] {
            f.detail = format!("{prefix}{}", f.detail);
        }
    }
}

fn hsts_finding(url: &str, value: Option<&str>) -> Option<Finding> {
    let Some(value) = value else {
        return Some(Finding::new(
            Code::HstsMissing,
            format!("{url} sends no Strict-Transport-Security header"),
        ));
    };
    match hsts::parse(value) {
        Err(e) => Some(Finding::new(
            Code::HstsMissing,
            format!(
                "the Strict-Transport-Security header of {url} ({value:?}) is invalid and ignored by browsers: {e}"
            ),
        )),
        Ok(h) if h.max_age < HSTS_MIN_MAX_AGE => Some(Finding::new(
            Code::HstsShort,
            format!(
                "Strict-Transport-Security max-age={} ({} days) on {url}; use at least {HSTS_MIN_MAX_AGE} (one year)",
                h.max_age,
                h.max_age / 86_400
            ),
        )),
        Ok(_) => None,
    }
}

/// The walk's findings; returns `forced_https`.
fn walk_findings(o: &Observations, walk: &Outcome, out: &mut Vec<Finding>) -> bool {
    let start = walk
        .hops
        .first()
        .map_or_else(|| format!("http://{}/", o.host), |h| h.url.clone());
    let mut forced = false;
    match &walk.end {
        End::Failed { url, error } if walk.hops.len() <= 1 => {
            let mut f = fetch_finding(url.as_str(), error, false);
            if f.code == Code::HttpUnreachable {
                f.detail.push_str(
                    "; visitors who type the bare name get no redirect to https (not forced)",
                );
            }
            out.push(f);
        }
        End::Failed { url, error } => {
            let same_as_site = url.scheme() == "https" && url.host_str() == Some(o.host.as_str());
            let probe_only = o
                .https
                .as_ref()
                .is_some_and(|e| matches!(e.reach, Reach::ProbeOnly { .. }));
            if same_as_site && probe_only {
                // The redirect reaches an endpoint only the probe could talk to: a browser
                // shows the padlock there, and the scanner could not look further.
                forced = o.https.as_ref().is_some_and(Endpoint::ok) && walk.downgrade.is_none();
            } else if let Some(e) = o
                .final_endpoint
                .as_ref()
                .filter(|e| !same_as_site && e.url == url.as_str())
            {
                // Another host whose handshake rustls refused, examined with the probe.
                if e.ok() {
                    forced = walk.downgrade.is_none();
                } else {
                    endpoint_findings(e, &format!("the redirect target {url}: "), out);
                }
            } else if !same_as_site {
                // (The site's own https endpoint failing is already reported.)
                let mut f = fetch_finding(url.as_str(), error, url.scheme() == "https");
                if url.scheme() == "http" && f.code == Code::HttpUnreachable {
                    f.code = Code::NoHttpsRedirect;
                    f.severity = f.code.severity();
                }
                f.detail = format!("the redirects from {start} break at {url}: {}", f.detail);
                out.push(f);
            }
        }
        End::Loop { url, repeated } => out.push(Finding::new(
            Code::RedirectLoop,
            if *repeated {
                format!("the redirects from {start} come back to {url} and never end")
            } else {
                format!(
                    "the redirects from {start} go past {} hops (next: {url})",
                    walk.hops.len() - 1
                )
            },
        )),
        End::BadLocation {
            url,
            location,
            reason,
        } => out.push(Finding::new(
            Code::NoHttpsRedirect,
            format!("{url} redirects to {location:?}, which a browser cannot follow ({reason})"),
        )),
        // Sent back to http after reaching https: the downgrade below says it.
        End::Reached { url, .. } if url.scheme() == "http" && walk.downgrade.is_some() => {}
        End::Reached { url, status } if url.scheme() == "http" => {
            let detail = if walk.hops.len() <= 1 {
                format!("{start} answers {status} without sending the visitor to https")
            } else {
                format!("the redirects from {start} end at {url} ({status}) without reaching https")
            };
            out.push(Finding::new(Code::NoHttpsRedirect, detail));
        }
        End::Reached { url, .. } => {
            let same_as_site = url.host_str() == Some(o.host.as_str());
            let target_ok = if same_as_site {
                o.https.as_ref().is_some_and(Endpoint::ok)
            } else {
                match &o.final_endpoint {
                    Some(e) => {
                        if !e.ok() {
                            let prefix = format!("the redirect target {url}: ");
                            endpoint_findings(e, &prefix, out);
                        }
                        e.ok()
                    }
                    None => false,
                }
            };
            forced = target_ok && walk.downgrade.is_none();
        }
    }
    if let Some((from, to)) = &walk.downgrade {
        // The site's own https endpoint sending the visitor back is already reported.
        let already = o.https.as_ref().is_some_and(|e| {
            e.url == from.as_str()
                && matches!(&e.response, Response::Received { location, .. } if is_http(location.as_deref()))
        });
        if !already {
            out.push(Finding::new(
                Code::RedirectDowngrade,
                format!("on the way from {start}, {from} sends the visitor back to {to}"),
            ));
        }
        forced = false;
    }
    if forced && walk.upgraded_by == Some(HopKind::MetaRefresh) {
        out.push(Finding::new(
            Code::RedirectMetaRefresh,
            format!(
                "{start} reaches https only through a <meta http-equiv=refresh>; a 301 redirect is faster and also works for clients that do not read HTML"
            ),
        ));
    }
    forced
}

fn sample_list(s: &Samples) -> String {
    let list: Vec<String> = s
        .samples
        .iter()
        .map(|r| format!("{} ({})", r.url, r.element))
        .collect();
    list.join(", ")
}

fn mixed_findings(m: &MixedContent, out: &mut Vec<Finding>) {
    let cut = if m.truncated {
        " (the page was read only up to the size cap)"
    } else {
        ""
    };
    if m.active.count > 0 {
        out.push(Finding::new(
            Code::MixedContentActive,
            format!(
                "{} blockable http:// subresource(s) on {}{cut}, which browsers block: {}",
                m.active.count,
                m.page,
                sample_list(&m.active)
            ),
        ));
    }
    if m.passive.count > 0 {
        let checked: Vec<bool> = m
            .passive
            .samples
            .iter()
            .filter_map(|r| r.https_available)
            .collect();
        let copies = if checked.is_empty() {
            String::new()
        } else {
            let yes = checked.iter().filter(|&&b| b).count();
            if yes == checked.len() {
                format!("; the https copy exists for all {yes} checked: change http:// to https://")
            } else {
                format!(
                    "; the https copy exists for {yes} of {} checked, the others break when browsers upgrade them",
                    checked.len()
                )
            }
        };
        out.push(Finding::new(
            Code::MixedContentPassive,
            format!(
                "{} upgradable http:// image/audio/video reference(s) on {}{cut}: {}{copies}",
                m.passive.count,
                m.page,
                sample_list(&m.passive)
            ),
        ));
    }
    if m.forms.count > 0 {
        out.push(Finding::new(
            Code::InsecureForm,
            format!(
                "{} form(s) on {}{cut} post to http://: {}",
                m.forms.count,
                m.page,
                sample_list(&m.forms)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redirect::{End, Outcome};
    use model::{Hop, Reference};
    use std::time::Duration;
    use url::Url;

    const HOST: &str = "a.gov.tw";

    fn good_chain() -> Option<ChainVerdict> {
        Some(ChainVerdict {
            trusted: true,
            ..Default::default()
        })
    }

    fn chain_with(code: Code) -> Option<ChainVerdict> {
        Some(ChainVerdict {
            trusted: code.severity() != model::Severity::Error,
            findings: vec![Finding::new(code, "x")],
            ..Default::default()
        })
    }

    fn received(status: u16, location: Option<&str>, hsts: Option<&str>) -> Response {
        Response::Received {
            status,
            location: location.map(str::to_owned),
            hsts: hsts.map(str::to_owned),
        }
    }

    const YEAR: &str = "max-age=31536000";

    fn endpoint(reach: Reach, chain: Option<ChainVerdict>, response: Response) -> Endpoint {
        Endpoint {
            url: format!("https://{HOST}/"),
            reach,
            chain,
            other_chain: None,
            legacy_accepted: Vec::new(),
            response,
        }
    }

    fn good_endpoint() -> Endpoint {
        endpoint(Reach::Tls, good_chain(), received(200, None, Some(YEAR)))
    }

    /// A walk through `urls`; each but the last redirects (by `via`) to the next; the last
    /// answers 200.
    fn walk(urls: &[&str], via: HopKind) -> Outcome {
        let mut hops = Vec::new();
        let mut downgrade = None;
        let mut upgraded_by = None;
        let mut reached = false;
        for (i, u) in urls.iter().enumerate() {
            let next = urls.get(i + 1);
            hops.push(Hop {
                url: u.to_string(),
                status: Some(if next.is_some() { 301 } else { 200 }),
                location: next.map(|n| n.to_string()),
                via: next.map(|_| via),
                error: None,
            });
            if let Some(n) = next {
                if u.starts_with("https:")
                    && n.starts_with("http:")
                    && reached
                    && downgrade.is_none()
                {
                    downgrade = Some((Url::parse(u).unwrap(), Url::parse(n).unwrap()));
                }
                if n.starts_with("https:") && !reached {
                    reached = true;
                    upgraded_by = Some(via);
                }
            }
        }
        Outcome {
            hops,
            end: End::Reached {
                url: Url::parse(urls.last().unwrap()).unwrap(),
                status: 200,
            },
            downgrade,
            upgraded_by,
        }
    }

    fn ended(end: End, hops: usize) -> Outcome {
        Outcome {
            hops: (0..hops)
                .map(|i| Hop {
                    url: format!("http://{HOST}/{i}"),
                    status: None,
                    location: None,
                    via: None,
                    error: None,
                })
                .collect(),
            end,
            downgrade: None,
            upgraded_by: None,
        }
    }

    fn forced_walk() -> Outcome {
        walk(&["http://a.gov.tw/", "https://a.gov.tw/"], HopKind::Http)
    }

    fn obs(https: Endpoint, walk: Outcome) -> Observations {
        Observations {
            host: HOST.into(),
            dns: Some(Dns::Resolved),
            https: Some(https),
            walk: Some(walk),
            final_endpoint: None,
            mixed: None,
            timed_out: None,
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_table_of_observations_gives_the_contract_verdicts() {
        use Code::*;
        let unreachable = FetchError::Unreachable("refused".into());
        let cases: Vec<(&str, Observations, bool, bool, Vec<Code>)> = vec![
            (
                "valid and forced",
                obs(good_endpoint(), forced_walk()),
                true,
                true,
                vec![],
            ),
            (
                "https without redirect",
                obs(good_endpoint(), walk(&["http://a.gov.tw/"], HopKind::Http)),
                true,
                false,
                vec![NoHttpsRedirect],
            ),
            (
                "http only: 443 closed",
                obs(
                    endpoint(
                        Reach::Failed(unreachable.clone()),
                        None,
                        Response::NotChecked,
                    ),
                    walk(&["http://a.gov.tw/"], HopKind::Http),
                ),
                false,
                false,
                vec![HttpsUnreachable, NoHttpsRedirect],
            ),
            (
                "port 80 closed: not forced, http_unreachable only",
                obs(
                    good_endpoint(),
                    ended(
                        End::Failed {
                            url: url("http://a.gov.tw/"),
                            error: unreachable.clone(),
                        },
                        1,
                    ),
                ),
                true,
                false,
                vec![HttpUnreachable],
            ),
            (
                "expired: redirect reaches a non-adopted endpoint",
                obs(
                    endpoint(
                        Reach::Tls,
                        chain_with(CertExpired),
                        received(200, None, Some(YEAR)),
                    ),
                    forced_walk(),
                ),
                false,
                false,
                vec![CertExpired],
            ),
            (
                "chain incomplete but completed through AIA: adopted, warned",
                obs(
                    endpoint(
                        Reach::Tls,
                        chain_with(CertChainIncomplete),
                        received(200, None, Some(YEAR)),
                    ),
                    forced_walk(),
                ),
                true,
                true,
                vec![CertChainIncomplete],
            ),
            (
                "https endpoint downgrades",
                obs(
                    endpoint(
                        Reach::Tls,
                        good_chain(),
                        received(301, Some("http://a.gov.tw/"), Some(YEAR)),
                    ),
                    walk(&["http://a.gov.tw/"], HopKind::Http),
                ),
                false,
                false,
                vec![RedirectDowngrade, NoHttpsRedirect],
            ),
            (
                "downgrade on the way, even ending on https",
                obs(
                    good_endpoint(),
                    walk(
                        &[
                            "http://a.gov.tw/",
                            "https://a.gov.tw/x",
                            "http://a.gov.tw/y",
                            "https://a.gov.tw/",
                        ],
                        HopKind::Http,
                    ),
                ),
                true,
                false,
                vec![RedirectDowngrade],
            ),
            (
                "loop",
                obs(
                    good_endpoint(),
                    ended(
                        End::Loop {
                            url: url("http://a.gov.tw/"),
                            repeated: true,
                        },
                        2,
                    ),
                ),
                true,
                false,
                vec![RedirectLoop],
            ),
            (
                "forced only by meta refresh",
                obs(
                    good_endpoint(),
                    walk(
                        &["http://a.gov.tw/", "https://a.gov.tw/"],
                        HopKind::MetaRefresh,
                    ),
                ),
                true,
                true,
                vec![RedirectMetaRefresh],
            ),
            (
                "hsts missing",
                obs(
                    endpoint(Reach::Tls, good_chain(), received(200, None, None)),
                    forced_walk(),
                ),
                true,
                true,
                vec![HstsMissing],
            ),
            (
                "hsts invalid counts as missing",
                obs(
                    endpoint(
                        Reach::Tls,
                        good_chain(),
                        received(200, None, Some("max-age=soon")),
                    ),
                    forced_walk(),
                ),
                true,
                true,
                vec![HstsMissing],
            ),
            (
                "hsts short",
                obs(
                    endpoint(
                        Reach::Tls,
                        good_chain(),
                        received(200, None, Some("max-age=86400")),
                    ),
                    forced_walk(),
                ),
                true,
                true,
                vec![HstsShort],
            ),
            (
                "legacy only",
                obs(
                    endpoint(
                        Reach::LegacyOnly {
                            versions: vec![Version::Tls10],
                        },
                        None,
                        Response::NotChecked,
                    ),
                    forced_walk(),
                ),
                false,
                false,
                vec![TlsLegacyOnly],
            ),
            (
                "TLS 1.2 with a suite only the probe speaks: adopted",
                obs(
                    endpoint(
                        Reach::ProbeOnly {
                            cipher: "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
                        },
                        good_chain(),
                        Response::NotChecked,
                    ),
                    forced_walk(),
                ),
                true,
                true,
                vec![],
            ),
            (
                "redirect to an endpoint only the probe speaks: forced",
                obs(
                    endpoint(
                        Reach::ProbeOnly {
                            cipher: "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
                        },
                        good_chain(),
                        Response::NotChecked,
                    ),
                    ended(
                        End::Failed {
                            url: url("https://a.gov.tw/"),
                            error: FetchError::Tls("not spoken".into()),
                        },
                        2,
                    ),
                ),
                true,
                true,
                vec![],
            ),
            (
                "redirect to another host only the probe speaks: forced",
                Observations {
                    final_endpoint: Some(Endpoint {
                        url: "https://www.a.gov.tw/".into(),
                        ..endpoint(
                            Reach::ProbeOnly {
                                cipher: "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
                            },
                            good_chain(),
                            Response::NotChecked,
                        )
                    }),
                    ..obs(
                        good_endpoint(),
                        ended(
                            End::Failed {
                                url: url("https://www.a.gov.tw/"),
                                error: FetchError::Tls("not spoken".into()),
                            },
                            2,
                        ),
                    )
                },
                true,
                true,
                vec![],
            ),
            (
                "redirect to another host that speaks only TLS 1.0",
                Observations {
                    final_endpoint: Some(Endpoint {
                        url: "https://www.a.gov.tw/".into(),
                        ..endpoint(
                            Reach::LegacyOnly {
                                versions: vec![Version::Tls10],
                            },
                            None,
                            Response::NotChecked,
                        )
                    }),
                    ..obs(
                        good_endpoint(),
                        ended(
                            End::Failed {
                                url: url("https://www.a.gov.tw/"),
                                error: FetchError::Tls("protocol version".into()),
                            },
                            2,
                        ),
                    )
                },
                true,
                false,
                vec![TlsLegacyOnly],
            ),
            (
                "handshake failure",
                obs(
                    endpoint(
                        Reach::HandshakeFailed {
                            rustls: "peer sent no certificates".into(),
                        },
                        None,
                        Response::NotChecked,
                    ),
                    forced_walk(),
                ),
                false,
                false,
                vec![TlsHandshakeFailed],
            ),
            (
                "handshake never finishes",
                obs(
                    endpoint(
                        Reach::Failed(FetchError::TlsTimeout(Duration::from_secs(5))),
                        None,
                        Response::NotChecked,
                    ),
                    forced_walk(),
                ),
                false,
                false,
                vec![Timeout],
            ),
            (
                "https answers TLS but no HTTP",
                obs(
                    endpoint(
                        Reach::Tls,
                        good_chain(),
                        Response::Failed(FetchError::ResponseTimeout(Duration::from_secs(10))),
                    ),
                    forced_walk(),
                ),
                false,
                false,
                vec![Timeout],
            ),
        ];
        for (name, o, https_ok, forced, codes) in cases {
            let v = judge(&o);
            let got: Vec<Code> = v.findings.iter().map(|f| f.code).collect();
            assert_eq!(
                (v.https_ok, v.forced_https, &got),
                (https_ok, forced, &codes),
                "{name}: {:#?}",
                v.findings
            );
            for f in &v.findings {
                assert_eq!(f.severity, f.code.severity(), "{name}");
                assert!(!f.detail.is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn legacy_support_beside_tls12_is_a_warning_only() {
        let mut e = good_endpoint();
        e.legacy_accepted = vec![Version::Tls11, Version::Tls10];
        let v = judge(&obs(e, forced_walk()));
        assert!(v.https_ok && v.forced_https);
        assert_eq!(v.findings.len(), 1);
        assert_eq!(v.findings[0].code, Code::TlsLegacySupported);
        assert!(
            v.findings[0].detail.contains("TLSv1.1 and TLSv1.0"),
            "{}",
            v.findings[0].detail
        );
    }

    #[test]
    fn dns_failures_stop_the_verdict_there() {
        for (e, code) in [
            (dns::Error::NxDomain, Code::DnsNxdomain),
            (dns::Error::NoAddresses, Code::DnsFailed),
            (dns::Error::Timeout(Duration::from_secs(5)), Code::DnsFailed),
            (dns::Error::Failed("SERVFAIL".into()), Code::DnsFailed),
        ] {
            let o = Observations {
                host: HOST.into(),
                dns: Some(Dns::Failed(e)),
                https: None,
                walk: None,
                final_endpoint: None,
                mixed: None,
                timed_out: None,
            };
            let v = judge(&o);
            assert_eq!((v.https_ok, v.forced_https), (false, false));
            assert_eq!(
                v.findings.iter().map(|f| f.code).collect::<Vec<_>>(),
                vec![code]
            );
        }
        let refused = policy::Policy::new(false)
            .check("10.0.0.1".parse().unwrap())
            .unwrap_err();
        let o = Observations {
            host: HOST.into(),
            dns: Some(Dns::Refused(refused)),
            https: None,
            walk: None,
            final_endpoint: None,
            mixed: None,
            timed_out: None,
        };
        let v = judge(&o);
        assert_eq!(v.findings[0].code, Code::TargetPrivate);
        assert!(v.findings[0].detail.contains("10.0.0.1"));
    }

    #[test]
    fn a_redirect_to_another_host_is_forced_only_if_that_host_is_adopted() {
        let w = walk(
            &["http://a.gov.tw/", "https://www.a.gov.tw/"],
            HopKind::Http,
        );
        let mut o = obs(good_endpoint(), w);
        // Not judged (e.g. cut short): not forced.
        assert!(!judge(&o).forced_https);
        let mut other = good_endpoint();
        other.url = "https://www.a.gov.tw/".into();
        o.final_endpoint = Some(other.clone());
        let v = judge(&o);
        assert!(v.forced_https, "{:?}", v.findings);
        other.chain = chain_with(Code::CertHostnameMismatch);
        o.final_endpoint = Some(other);
        let v = judge(&o);
        assert!(!v.forced_https);
        let f = v
            .findings
            .iter()
            .find(|f| f.code == Code::CertHostnameMismatch)
            .unwrap();
        assert!(
            f.detail
                .starts_with("the redirect target https://www.a.gov.tw/"),
            "{}",
            f.detail
        );
    }

    #[test]
    fn mixed_content_is_reported_by_class_with_samples() {
        let sample = |u: &str, el: &str, avail: Option<bool>| Reference {
            url: u.into(),
            element: el.into(),
            https_available: avail,
        };
        let mixed = MixedContent {
            page: "https://a.gov.tw/".into(),
            truncated: false,
            active: Samples {
                count: 3,
                samples: vec![sample("http://cdn.x/a.js", "script src", None)],
            },
            passive: Samples {
                count: 2,
                samples: vec![
                    sample("http://a.gov.tw/a.png", "img src", Some(true)),
                    sample("http://b.gov.tw/b.png", "img src", Some(false)),
                ],
            },
            forms: Samples {
                count: 1,
                samples: vec![sample("http://a.gov.tw/post", "form action", None)],
            },
        };
        let mut o = obs(good_endpoint(), forced_walk());
        o.mixed = Some(mixed);
        let v = judge(&o);
        assert!(
            v.https_ok && v.forced_https,
            "mixed content does not change the verdicts"
        );
        let codes: Vec<Code> = v.findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![
                Code::MixedContentActive,
                Code::MixedContentPassive,
                Code::InsecureForm
            ]
        );
        assert!(v.findings[0].detail.contains("http://cdn.x/a.js"));
        assert!(v.findings[0].detail.starts_with("3 "));
        assert!(
            v.findings[1].detail.contains("1 of 2 checked"),
            "{}",
            v.findings[1].detail
        );
    }

    #[test]
    fn a_timed_out_site_reports_timeout_and_what_was_seen() {
        let mut o = obs(good_endpoint(), forced_walk());
        o.walk = None;
        o.timed_out = Some(Duration::from_secs(45));
        let v = judge(&o);
        assert!(v.https_ok);
        assert!(!v.forced_https);
        assert_eq!(
            v.findings.iter().map(|f| f.code).collect::<Vec<_>>(),
            vec![Code::Timeout]
        );
    }

    #[test]
    fn a_broken_hop_to_another_host_is_reported_with_the_chain() {
        let o = obs(
            good_endpoint(),
            ended(
                End::Failed {
                    url: url("https://www.a.gov.tw/"),
                    error: FetchError::Unreachable("refused".into()),
                },
                2,
            ),
        );
        let v = judge(&o);
        assert!(!v.forced_https);
        assert_eq!(v.findings[0].code, Code::HttpsUnreachable);
        assert!(
            v.findings[0]
                .detail
                .contains("break at https://www.a.gov.tw/")
        );
    }
}
