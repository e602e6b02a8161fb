//! The verdict: a pure step from what the scan observed to `https_ok`, `forced_https` and
//! the findings, exactly as `CHECKS.md` defines them. No network, no clock: tested with a
//! table of observations.

mod chain;

pub(crate) use chain::chain;

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
    /// The host is on the operator's exclusion list: not resolved, not contacted.
    Excluded(String),
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
    /// rustls failed but the server accepts Chrome's TLS 1.2 offer (Chrome still shows the
    /// padlock if the chain is good): the chain the probe saw was judged, the HTTP response
    /// not checked. `cipher` is the suite chosen, `rustls` why rustls failed (a suite it
    /// lacks, or a chain it refuses, such as an RSA key under 2048 bits).
    ProbeOnly { cipher: String, rustls: String },
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

    /// Whether the TLS side earns the padlock: a handshake a browser completes (by rustls,
    /// or by the probe with Chrome's offer) and a chain it trusts for the host.
    pub fn secure(&self) -> bool {
        self.chain.as_ref().is_some_and(|c| c.trusted)
            && matches!(self.reach, Reach::Tls | Reach::ProbeOnly { .. })
    }

    /// The host of [`Endpoint::url`].
    fn host(&self) -> Option<String> {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
    }

    /// `https_ok` for this endpoint alone, when its redirects were not walked: a secure TLS
    /// side and a response that does not send the visitor back to http.
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
    /// The walk from `https://HOST/PATH` to the page a browser shows (`None`: not made, e.g.
    /// cut short; `https_ok` then rests on the endpoint's own response).
    pub https_walk: Option<Outcome>,
    /// The walk from `http://`.
    pub walk: Option<Outcome>,
    /// The https endpoints of other hosts either walk passed through or ended on, one per
    /// host, judged from the first request to each.
    pub others: Vec<Endpoint>,
    /// Mixed content on the final https page.
    pub mixed: Option<MixedContent>,
    /// The site timeout cut the scan short after this long.
    pub timed_out: Option<std::time::Duration>,
}

impl Observations {
    /// Whether every endpoint's chain is judged alike by both profiles (trust and findings):
    /// then both browsers' verdicts are the same, the common case.
    fn browsers_agree(&self) -> bool {
        let agree = |e: &Endpoint| match (&e.chain, &e.other_chain) {
            (Some(mine), Some(theirs)) => {
                mine.trusted == theirs.trusted && mine.findings == theirs.findings
            }
            _ => true,
        };
        self.https.iter().chain(&self.others).all(agree)
    }

    /// Every chain swapped for the other profile's judgement: the observations as the other
    /// browser sees them (everything else a browser sees alike). Its own inverse.
    fn swap_browsers(&mut self) {
        for e in self.https.iter_mut().chain(&mut self.others) {
            if e.other_chain.is_some() {
                std::mem::swap(&mut e.chain, &mut e.other_chain);
            }
        }
    }
}

/// Both browsers' verdicts: the chosen profile's, and the other browser's, judged again only
/// when some chain was judged differently by its profile.
pub fn judge_both(o: &mut Observations) -> (Verdict, Verdict) {
    let mine = judge(o);
    if o.browsers_agree() {
        let theirs = mine.clone();
        return (mine, theirs);
    }
    o.swap_browsers();
    let theirs = judge(o);
    o.swap_browsers();
    (mine, theirs)
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
        Code::DnsNxdomain | Code::DnsFailed | Code::TargetPrivate | Code::TargetExcluded => 5,
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
        Some(Dns::Excluded(why)) => findings.push(Finding::new(Code::TargetExcluded, why.clone())),
        Some(Dns::Refused(r)) => findings.push(Finding::new(
            refused_code(r),
            format!(
                "{} resolves only to addresses the scanner may not contact: {r}",
                o.host
            ),
        )),
        None => {}
    }
    if o.dns == Some(Dns::Resolved) {
        if let Some(endpoint) = &o.https {
            endpoint_findings(endpoint, "", &mut findings);
            if let Response::Received { hsts, .. } = &endpoint.response
                && let Some(f) = hsts_finding(&endpoint.url, hsts.as_deref())
            {
                findings.push(f);
            }
            v.https_ok = match &o.https_walk {
                Some(walk) => {
                    let loads = https_part(o, walk, 0, &endpoint.url, &mut findings);
                    endpoint.secure() && loads
                }
                None => endpoint.ok(),
            };
        }
        if let Some(walk) = &o.walk {
            v.forced_https = walk_findings(o, walk, v.https_ok, &mut findings);
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
    // Two walks through the same host report its flaws once.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert((f.code, f.detail.clone())));
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

/// `target_excluded` for an address on the operator's list, else `target_private`.
fn refused_code(r: &policy::Refused) -> Code {
    if r.excluded_by.is_some() {
        Code::TargetExcluded
    } else {
        Code::TargetPrivate
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
        FetchError::TargetPrivate(r) => Finding::new(refused_code(r), format!("{url}: {r}")),
        FetchError::Excluded(why) => Finding::new(Code::TargetExcluded, format!("{url}: {why}")),
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

/// The walk's findings; returns `forced_https`. `https_ok` is the site's own verdict, which
/// the walk inherits when it reaches the site's https URL (that part is reported once, by
/// the https side).
fn walk_findings(o: &Observations, walk: &Outcome, https_ok: bool, out: &mut Vec<Finding>) -> bool {
    let start = walk
        .hops
        .first()
        .map_or_else(|| format!("http://{}/", o.host), |h| h.url.clone());
    // Where the walk first reaches https: the rest must load as the https side must.
    let first_https = walk
        .hops
        .iter()
        .position(|h| h.url.starts_with("https:"))
        .or_else(|| (end_is_fetched_https(&walk.end)).then_some(walk.hops.len()));
    let forced = match first_https {
        Some(k) => {
            let site_https = o.https.as_ref().map(|e| e.url.as_str());
            let url = walk
                .hops
                .get(k)
                .map_or_else(|| walk.end.url().as_str(), |h| h.url.as_str());
            if Some(url) == site_https && o.https_walk.is_none() {
                // The site's own endpoint, whose redirects were not walked (cut short): its
                // verdict, and what this walk saw after it.
                let rest = https_part(o, walk, k, &start, out);
                https_ok && rest
            } else if Some(url) == site_https {
                // The site's own https walk, already judged; only this walk's shorter hop
                // limit can end it differently.
                let https_looped = o
                    .https_walk
                    .as_ref()
                    .is_some_and(|w| matches!(w.end, End::Loop { .. }));
                if let End::Loop { url, .. } = &walk.end
                    && !https_looped
                {
                    out.push(loop_finding(&start, url, false, walk.hops.len()));
                    false
                } else {
                    https_ok
                }
            } else {
                https_part(o, walk, k, &start, out)
            }
        }
        None => {
            http_part_findings(walk, &start, out);
            false
        }
    };
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

/// Whether the walk ended on an https URL it requested (its last hop).
fn end_is_fetched_https(end: &End) -> bool {
    matches!(end, End::Reached { url, .. } | End::Failed { url, .. } if url.scheme() == "https")
}

/// The findings of a walk from `http://` that never reached https.
fn http_part_findings(walk: &Outcome, start: &str, out: &mut Vec<Finding>) {
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
            let mut f = fetch_finding(url.as_str(), error, false);
            if f.code == Code::HttpUnreachable {
                f.code = Code::NoHttpsRedirect;
                f.severity = f.code.severity();
            }
            f.detail = format!("the redirects from {start} break at {url}: {}", f.detail);
            out.push(f);
        }
        End::Loop { url, repeated } => {
            out.push(loop_finding(start, url, *repeated, walk.hops.len()));
        }
        End::BadLocation {
            url,
            location,
            reason,
        } => out.push(Finding::new(
            Code::NoHttpsRedirect,
            format!("{url} redirects to {location:?}, which a browser cannot follow ({reason})"),
        )),
        End::Reached { url, status } => {
            let detail = if walk.hops.len() <= 1 {
                format!("{start} answers {status} without sending the visitor to https")
            } else {
                format!("the redirects from {start} end at {url} ({status}) without reaching https")
            };
            out.push(Finding::new(Code::NoHttpsRedirect, detail));
        }
    }
}

fn loop_finding(start: &str, url: &url::Url, repeated: bool, hops: usize) -> Finding {
    Finding::new(
        Code::RedirectLoop,
        if repeated {
            format!(
                "the redirects from {start} come back to {url} and never end (browsers give up with ERR_TOO_MANY_REDIRECTS)"
            )
        } else {
            format!(
                "the redirects from {start} go past {} hops (next: {url}); browsers give up with ERR_TOO_MANY_REDIRECTS",
                hops.saturating_sub(1)
            )
        },
    )
}

/// Judge the part of `walk` from hop `from` on, which starts on https, as a browser loads
/// it: every https hop on a host whose TLS side is secure, no step back to http, and an end
/// that is a page (any status). Returns whether it loads with the padlock; reports what
/// stops it, except the site's own endpoint flaws (reported by [`endpoint_findings`]).
fn https_part(
    o: &Observations,
    walk: &Outcome,
    from: usize,
    start: &str,
    out: &mut Vec<Finding>,
) -> bool {
    let site = o.https.as_ref();
    let endpoint_of = |host: &str| -> Option<&Endpoint> {
        if host == o.host {
            site
        } else {
            o.others.iter().find(|e| e.host().as_deref() == Some(host))
        }
    };
    // Every https host on the way must be secure.
    let mut hosts: Vec<String> = walk.hops[from.min(walk.hops.len())..]
        .iter()
        .filter_map(|h| url::Url::parse(&h.url).ok())
        .chain(end_is_fetched_https(&walk.end).then(|| walk.end.url().clone()))
        .filter(|u| u.scheme() == "https")
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect();
    hosts.dedup();
    let mut secure = true;
    for host in &hosts {
        match endpoint_of(host) {
            Some(e) if e.secure() => {}
            Some(e) => {
                secure = false;
                if host != &o.host {
                    endpoint_findings(e, &format!("the redirect target {}: ", e.url), out);
                }
            }
            // Not judged (the site timed out): not secure, and the timeout says why.
            None => secure = false,
        }
    }
    let mut loads = secure;
    match &walk.end {
        End::Reached { .. } => {}
        End::Failed { url, error } => {
            let host = url.host_str().unwrap_or_default();
            let endpoint = (url.scheme() == "https")
                .then(|| endpoint_of(host))
                .flatten();
            match endpoint {
                // A handshake only the probe completed: a browser goes on, the scanner
                // cannot look further.
                Some(e) if matches!(e.reach, Reach::ProbeOnly { .. }) => {}
                // The endpoint's own flaws are reported with it.
                Some(e) if e.reach != Reach::Tls || site.is_some_and(|s| s.url == url.as_str()) => {
                    loads = false;
                }
                _ => {
                    loads = false;
                    if walk.downgrade.is_none() {
                        let mut f = fetch_finding(url.as_str(), error, url.scheme() == "https");
                        f.detail =
                            format!("the redirects from {start} break at {url}: {}", f.detail);
                        out.push(f);
                    }
                }
            }
        }
        End::Loop { url, repeated } => {
            loads = false;
            out.push(loop_finding(start, url, *repeated, walk.hops.len()));
        }
        End::BadLocation {
            url,
            location,
            reason,
        } => {
            loads = false;
            out.push(Finding::new(
                Code::HttpsUnreachable,
                format!(
                    "{url} redirects to {location:?}, which a browser cannot follow ({reason}): the page never loads"
                ),
            ));
        }
    }
    if let Some((from_url, to)) = &walk.downgrade {
        loads = false;
        // The site's own https endpoint sending the visitor back is already reported.
        let already = site.is_some_and(|e| {
            e.url == from_url.as_str()
                && matches!(&e.response, Response::Received { location, .. } if is_http(location.as_deref()))
        });
        if !already {
            out.push(Finding::new(
                Code::RedirectDowngrade,
                format!("on the way from {start}, {from_url} sends the visitor back to {to}"),
            ));
        }
    }
    loads
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
    if m.upgrade_insecure_requests.is_some() {
        // Chrome fetches every http:// reference of the page over https: no mixed content.
        return;
    }
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

    /// An endpoint only the probe completed a handshake with, with a good chain.
    fn probe_only() -> Endpoint {
        endpoint(
            Reach::ProbeOnly {
                cipher: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA".into(),
                rustls: "no shared suite".into(),
            },
            good_chain(),
            Response::NotChecked,
        )
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
        let mut reached = urls.first().is_some_and(|u| u.starts_with("https:"));
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
            https_walk: None,
            others: Vec::new(),
            mixed: None,
            timed_out: None,
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn each_browser_is_judged_by_its_own_chain_and_the_other_is_left_as_observed() {
        // Chrome distrusts the chain, Mozilla trusts it: two verdicts.
        let mut https = good_endpoint();
        https.chain = chain_with(Code::CertDistrusted);
        https.other_chain = good_chain();
        let mut o = obs(https, forced_walk());
        let before = format!("{o:?}");
        let (chrome, mozilla) = judge_both(&mut o);
        assert!(!chrome.https_ok);
        assert!(
            chrome
                .findings
                .iter()
                .any(|f| f.code == Code::CertDistrusted)
        );
        assert!(mozilla.https_ok && mozilla.forced_https, "{mozilla:?}");
        assert_eq!(
            format!("{o:?}"),
            before,
            "the observations are as they were"
        );
        // Both profiles judge alike: one verdict, the same for both.
        let mut agree = good_endpoint();
        agree.other_chain = good_chain();
        let (a, b) = judge_both(&mut obs(agree, forced_walk()));
        assert_eq!(a, b);
        assert!(a.https_ok);
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
                obs(probe_only(), forced_walk()),
                true,
                true,
                vec![],
            ),
            (
                "rustls refused an RSA-1024 key the probe saw: the key is the finding, not the handshake",
                obs(
                    Endpoint {
                        chain: chain_with(CertWeakKey),
                        ..probe_only()
                    },
                    forced_walk(),
                ),
                false,
                false,
                vec![CertWeakKey],
            ),
            (
                "redirect to an endpoint only the probe speaks: forced",
                obs(
                    probe_only(),
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
                    others: vec![Endpoint {
                        url: "https://www.a.gov.tw/".into(),
                        ..probe_only()
                    }],
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
                    others: vec![Endpoint {
                        url: "https://www.a.gov.tw/".into(),
                        ..endpoint(
                            Reach::LegacyOnly {
                                versions: vec![Version::Tls10],
                            },
                            None,
                            Response::NotChecked,
                        )
                    }],
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

    /// `obs` with the site's https walk.
    fn obs_https(https: Endpoint, https_walk: Outcome, walk: Outcome) -> Observations {
        Observations {
            https_walk: Some(https_walk),
            ..obs(https, walk)
        }
    }

    fn codes_of(v: &Verdict) -> Vec<Code> {
        v.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn the_https_side_must_end_at_a_page_as_in_chrome() {
        use Code::*;
        let redirecting = endpoint(
            Reach::Tls,
            good_chain(),
            received(301, Some("https://a.gov.tw/"), Some(YEAR)),
        );
        let site_loop = Outcome {
            end: End::Loop {
                url: url("https://a.gov.tw/"),
                repeated: true,
            },
            ..walk(&["https://a.gov.tw/"], HopKind::Http)
        };
        let mut www = good_endpoint();
        www.url = "https://www.a.gov.tw/".into();
        let mut www_expired = www.clone();
        www_expired.chain = chain_with(CertExpired);
        let to_www = || {
            walk(
                &["https://a.gov.tw/", "https://www.a.gov.tw/"],
                HopKind::Http,
            )
        };
        let http_to_site = || walk(&["http://a.gov.tw/", "https://a.gov.tw/"], HopKind::Http);
        let long: Vec<String> = (0..=20).map(|i| format!("https://a.gov.tw/{i}")).collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let past_limit = Outcome {
            end: End::Loop {
                url: url("https://a.gov.tw/21"),
                repeated: false,
            },
            ..walk(&long, HopKind::Http)
        };
        let cases: Vec<(&str, Observations, bool, bool, Vec<Code>)> = vec![
            (
                "https redirects to itself forever: not adopted, loop said once",
                obs_https(redirecting.clone(), site_loop, http_to_site()),
                false,
                false,
                vec![RedirectLoop],
            ),
            (
                "more than 20 https redirects",
                obs_https(redirecting.clone(), past_limit, http_to_site()),
                false,
                false,
                vec![RedirectLoop],
            ),
            (
                "https redirects to a host with a good certificate",
                Observations {
                    others: vec![www.clone()],
                    ..obs_https(redirecting.clone(), to_www(), http_to_site())
                },
                true,
                true,
                vec![],
            ),
            (
                "https redirects to a host with an expired certificate: its finding, once",
                Observations {
                    others: vec![www_expired.clone()],
                    ..obs_https(redirecting.clone(), to_www(), http_to_site())
                },
                false,
                false,
                vec![CertExpired],
            ),
            (
                "https redirects back to http",
                obs_https(
                    endpoint(
                        Reach::Tls,
                        good_chain(),
                        received(301, Some("http://a.gov.tw/plain"), Some(YEAR)),
                    ),
                    walk(
                        &["https://a.gov.tw/", "http://a.gov.tw/plain"],
                        HopKind::Http,
                    ),
                    http_to_site(),
                ),
                false,
                false,
                vec![RedirectDowngrade],
            ),
            (
                "https redirects to a hop that does not answer",
                obs_https(
                    redirecting.clone(),
                    Outcome {
                        end: End::Failed {
                            url: url("https://a.gov.tw/home"),
                            error: FetchError::ResponseTimeout(Duration::from_secs(10)),
                        },
                        ..walk(
                            &["https://a.gov.tw/", "https://a.gov.tw/home"],
                            HopKind::Http,
                        )
                    },
                    http_to_site(),
                ),
                false,
                false,
                vec![Timeout],
            ),
            (
                "an endpoint only the probe speaks: the walk stops there, adopted",
                obs_https(
                    probe_only(),
                    ended(
                        End::Failed {
                            url: url("https://a.gov.tw/"),
                            error: FetchError::Tls("no shared suite".into()),
                        },
                        0,
                    ),
                    http_to_site(),
                ),
                true,
                true,
                vec![],
            ),
            (
                "the http walk reaches another host whose https walk loops",
                Observations {
                    others: vec![www.clone()],
                    ..obs_https(
                        good_endpoint(),
                        walk(&["https://a.gov.tw/"], HopKind::Http),
                        Outcome {
                            end: End::Loop {
                                url: url("https://www.a.gov.tw/"),
                                repeated: true,
                            },
                            ..walk(
                                &["http://a.gov.tw/", "https://www.a.gov.tw/"],
                                HopKind::Http,
                            )
                        },
                    )
                },
                true,
                false,
                vec![RedirectLoop],
            ),
        ];
        for (name, o, https_ok, forced, codes) in cases {
            let v = judge(&o);
            assert_eq!(
                (v.https_ok, v.forced_https, codes_of(&v)),
                (https_ok, forced, codes),
                "{name}: {:#?}",
                v.findings
            );
        }
    }

    #[test]
    fn a_redirect_target_with_a_bad_certificate_is_named_in_the_finding() {
        let mut bad = good_endpoint();
        bad.url = "https://www.a.gov.tw/".into();
        bad.chain = chain_with(Code::CertHostnameMismatch);
        let o = Observations {
            others: vec![bad],
            ..obs_https(
                endpoint(
                    Reach::Tls,
                    good_chain(),
                    received(302, Some("https://www.a.gov.tw/"), Some(YEAR)),
                ),
                walk(
                    &["https://a.gov.tw/", "https://www.a.gov.tw/"],
                    HopKind::Http,
                ),
                walk(
                    &[
                        "http://a.gov.tw/",
                        "https://a.gov.tw/",
                        "https://www.a.gov.tw/",
                    ],
                    HopKind::Http,
                ),
            )
        };
        let v = judge(&o);
        assert!(!v.https_ok && !v.forced_https);
        assert_eq!(codes_of(&v), vec![Code::CertHostnameMismatch]);
        assert!(
            v.findings[0]
                .detail
                .starts_with("the redirect target https://www.a.gov.tw/: "),
            "{}",
            v.findings[0].detail
        );
    }

    #[test]
    fn upgrade_insecure_requests_leaves_no_mixed_content() {
        let mut o = obs(good_endpoint(), forced_walk());
        let one = Samples {
            count: 1,
            samples: vec![],
        };
        o.mixed = Some(MixedContent {
            page: "https://a.gov.tw/".into(),
            active: one.clone(),
            passive: one.clone(),
            forms: one,
            upgrade_insecure_requests: Some("Content-Security-Policy header".into()),
            ..Default::default()
        });
        let v = judge(&o);
        assert!(v.https_ok && v.forced_https);
        assert_eq!(codes_of(&v), vec![]);
        o.mixed.as_mut().unwrap().upgrade_insecure_requests = None;
        assert_eq!(
            codes_of(&judge(&o)),
            vec![
                Code::MixedContentActive,
                Code::MixedContentPassive,
                Code::InsecureForm
            ]
        );
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
        // An excluded host or address is a result that says so, never silence.
        let excluded = policy::Policy::new(true)
            .with_exclude(crate::exclude::Exclude::parse(&["203.0.113.0/24"]).unwrap())
            .check("203.0.113.9".parse().unwrap())
            .unwrap_err();
        for (dns, code) in [
            (Dns::Failed(dns::Error::NxDomain), Code::DnsNxdomain),
            (Dns::Failed(dns::Error::NoAddresses), Code::DnsFailed),
            (
                Dns::Failed(dns::Error::Timeout(Duration::from_secs(5))),
                Code::DnsFailed,
            ),
            (
                Dns::Failed(dns::Error::Failed("SERVFAIL".into())),
                Code::DnsFailed,
            ),
            (Dns::Excluded("x is excluded".into()), Code::TargetExcluded),
            (Dns::Refused(excluded), Code::TargetExcluded),
        ] {
            let o = Observations {
                host: HOST.into(),
                dns: Some(dns),
                https: None,
                walk: None,
                https_walk: None,
                others: Vec::new(),
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
            https_walk: None,
            others: Vec::new(),
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
        o.others = vec![other.clone()];
        let v = judge(&o);
        assert!(v.forced_https, "{:?}", v.findings);
        other.chain = chain_with(Code::CertHostnameMismatch);
        o.others = vec![other];
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
            upgrade_insecure_requests: None,
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
