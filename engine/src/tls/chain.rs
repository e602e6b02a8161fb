//! Judging a served chain, in steps that each produce an observation: path building
//! (completed through AIA), name, validity, trust and constraints, algorithms. The `cert_*`
//! findings are made from these [`Observed`] facts by
//! [`verdict::chain`](crate::verdict::chain()), the one place findings are made.
//!
//! rustls-webpki builds the path and says whether it reaches a root; it stops at its first
//! error, so the judgement keeps going around it:
//! - the path is built first at `now`, then, if that fails, at the time closest to `now` at
//!   which every certificate is inside its validity, so an expired certificate does not hide
//!   whether the chain is otherwise trusted;
//! - the path is built with RSA keys from 1024 bits and SHA-1 allowed (see
//!   [`super::verifier::CHAIN_ALGS`]; each signature check is remembered across sites, so a
//!   chain shared by many sites is verified once, see [`super::memo`]), and weak signatures and keys are judged separately from
//!   what x509-parser reads, so they are reported as such and not as `cert_untrusted`;
//! - a chain webpki cannot read because of a date before 1970 (legal in RFC 5280, accepted by
//!   Chrome) gets its path checked by names, signatures and the anchor's constraints here
//!   ([`path_by_names`]);
//! - the hostname is checked on its own (subjectAltName only; wildcards match one label);
//! - an anchor's constraints (Chrome's SCT-date rules, `--root-constraint`) are checked on
//!   each path webpki finds, so a refused path lets it try another (a cross-sign to a root
//!   without constraints, as Chrome's path builder does); when every path is refused that
//!   way, the verdict is `cert_distrusted`, naming the anchor and the rule;
//! - what of a judgement holds for any host at other times ([`Settled`]: the path, trust,
//!   algorithms, the dates) is remembered per served chain by [`super::Judge`], so the sites
//!   of a shared host pay for the name check and the dates only; it is reused only while no
//!   served certificate starts or ends between the two times, and never after an AIA fetch.

use super::cert::{self};
use super::profile::{Distrust, LeafFacts, Origin};
use super::verifier::PATH_ALGS;
use super::{AiaFetch, ChainVerdict, TrustStore};
use crate::verdict;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::cell::RefCell;
use std::time::Duration;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// At most this many AIA `caIssuers` fetches per chain judged.
pub const MAX_AIA_FETCHES: usize = 3;

/// Longest chain we follow by names when no path was built.
const MAX_CHAIN_LEN: usize = 10;

/// How many names of a certificate a mismatch message lists.
const NAMES_SHOWN: usize = 8;

/// What judging a served chain observed against one store.
#[derive(Debug, Clone)]
pub(crate) enum Observed {
    /// The server sent no certificate.
    NoCertificate,
    /// The server's certificate could not be read (malformed DER).
    Unreadable,
    /// The leaf was read: what each step saw.
    Read(Box<Steps>),
}

/// The observations of the steps after reading the leaf.
#[derive(Debug, Clone)]
pub(crate) struct Steps {
    /// The trust store's name, as findings cite it.
    pub store: String,
    /// Name: why the leaf is not valid for the host, in a webmaster's words; `None` when it is.
    pub name_mismatch: Option<String>,
    pub validity: Validity,
    pub trust: Trust,
    pub algorithms: Algorithms,
}

/// Validity of every certificate below the root at `now`.
#[derive(Debug, Clone)]
pub(crate) struct Validity {
    /// Certificates past their end: which, when it ended, how long ago (seconds).
    pub expired: Vec<Lapse>,
    /// Certificates before their start: which, when it starts, how long from now (seconds).
    pub not_yet: Vec<Lapse>,
    /// The leaf's end, and the seconds left until it (negative once past).
    pub leaf_not_after: i64,
    pub leaf_left: i64,
}

/// A certificate outside its validity.
#[derive(Debug, Clone)]
pub(crate) struct Lapse {
    /// `the certificate` (the leaf) or `the intermediate certificate 'NAME'`.
    pub what: String,
    /// The date it ended or starts (Unix seconds).
    pub date: i64,
    /// How far `now` is from that date (seconds).
    pub distance: i64,
}

/// Trust and constraints: what path building concluded.
#[derive(Debug, Clone)]
pub(crate) enum Trust {
    /// A path to a root of the store: the root's name, and the intermediates it used that
    /// the server omitted (name and AIA URL).
    Path {
        anchor: String,
        omitted: Vec<(String, String)>,
    },
    /// Every path reached a root whose constraints exclude this certificate: why.
    Distrusted(String),
    /// No path, and the leaf is self-signed (its name).
    SelfSigned(String),
    /// No issuer found: why, and, when the server left out the leaf's issuer, that cause.
    UnknownIssuer {
        detail: String,
        omitted: Option<String>,
    },
    /// Path building refused the chain: why, and whether another step may explain it.
    Refused { cause: Cause, detail: String },
}

/// What a refusal may stem from, when another step reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A certificate outside its validity.
    Dates,
    /// A signature algorithm not accepted.
    Algorithm,
    /// A signature that did not verify (ring checks none under 1024-bit RSA keys).
    Signature,
    Other,
}

/// Algorithms: weak signatures and keys below the root.
#[derive(Debug, Clone)]
pub(crate) struct Algorithms {
    /// Certificates signed with SHA-1 or MD5: name and algorithm.
    pub weak_signatures: Vec<(String, String)>,
    /// RSA keys under 2048 bits: bits and the certificate's name.
    pub weak_keys: Vec<(usize, String)>,
    /// The path leads to a publicly trusted root (a root of the browser's store, not
    /// `--ca-file`).
    pub public_root: bool,
}

/// A path webpki built: the intermediates it used, and the anchor's subject (as text, and
/// its raw name and key, to find it in another store).
struct Path {
    intermediates: Vec<CertificateDer<'static>>,
    anchor: String,
    anchor_subject: Vec<u8>,
    anchor_spki: Vec<u8>,
}

/// Why no path was accepted.
enum PathError {
    /// webpki found no acceptable path.
    Webpki(webpki::Error),
    /// A path reached an anchor of the store whose constraints exclude this certificate.
    Distrusted(Distrust),
}

/// The chain as completed: the served intermediates plus what AIA brought.
struct Completion {
    pool: Vec<CertificateDer<'static>>,
    fetched: Vec<(String, CertificateDer<'static>)>,
    aia_trouble: Option<String>,
}

/// Judge `served` against `store`, and against `other` too when given, on one completed
/// chain (the AIA fetches are made once, while `store` finds no issuer). The third value is
/// what of the judgement holds for another host at another time ([`Settled`]), when it may
/// be remembered: every served certificate readable, and no AIA fetch made (what a fetch
/// brings may change). `described` is the served chain described for the result.
pub(crate) async fn judge(
    described: ChainVerdict,
    served: &[CertificateDer<'static>],
    host: &str,
    now: UnixTime,
    store: &TrustStore,
    other: Option<&TrustStore>,
    aia: &impl AiaFetch,
) -> (ChainVerdict, Option<ChainVerdict>, Option<Settled>) {
    let unread = |observed: Observed| {
        let verdict = conclude(described.clone(), &observed);
        let copy = other.map(|_| verdict.clone());
        (verdict, copy, None)
    };
    let Some(leaf_der) = served.first() else {
        return unread(Observed::NoCertificate);
    };
    let Some(leaf) = cert::parse(leaf_der) else {
        return unread(Observed::Unreadable);
    };
    let facts = LeafFacts {
        sct_times: cert::sct_times(&leaf),
        not_before: cert::validity_secs(&leaf).0,
        dns_names: cert::dns_names(&leaf),
    };
    let (completion, path) = complete(leaf_der, &served[1..], now, store, &facts, aia).await;

    // The other store holds the anchor this path reached, without constraints: it accepts
    // the same path, and the judgement is the same (the common case: one path build).
    let same_for_other = match (&path, other) {
        (Ok(p), Some(o)) => o.trusts_unconditionally(&p.anchor_subject, &p.anchor_spki),
        _ => false,
    };
    let judged = |store: &TrustStore, path: Result<Path, PathError>| {
        let settled = settle(leaf_der, &leaf, store, &completion, path);
        let verdict = settled.verdict(described.clone(), leaf_der, host, now);
        (verdict, settled)
    };
    let other_judged = other.filter(|_| !same_for_other).map(|o| {
        let other_path = build_path(leaf_der, &completion.pool, now, o, &facts);
        judged(o, other_path)
    });
    let (mut verdict, settled) = judged(store, path);
    verdict.fetched = completion
        .fetched
        .iter()
        .map(|(_, c)| cert::describe(c))
        .collect();
    let (other_verdict, other_settled) = match other_judged {
        Some((mut v, s)) => {
            v.fetched.clone_from(&verdict.fetched);
            (Some(v), Some(s))
        }
        None => (same_for_other.then(|| verdict.clone()), None),
    };
    let bounds: Option<Vec<i64>> = served
        .iter()
        .map(|c| cert::parse(c).map(|c| cert::validity_secs(&c)))
        .map(|v| v.map(|(nb, na)| [nb, na]))
        .collect::<Option<Vec<_>>>()
        .map(|v| v.concat());
    let remembered = match bounds {
        Some(bounds) if completion.fetched.is_empty() && completion.aia_trouble.is_none() => {
            Some(Settled {
                at: secs(now),
                bounds,
                primary: settled,
                other: match (other, other_settled) {
                    (None, _) => OtherJudged::NotAsked,
                    (Some(_), None) => OtherJudged::AsPrimary,
                    (Some(_), Some(judged)) => OtherJudged::Own(judged),
                },
            })
        }
        _ => None,
    };
    (verdict, other_verdict, remembered)
}

/// What a chain's judgement against a store and the other is, apart from the host and the
/// time: the path (or why there is none), the trust, the algorithms, and the dates of the
/// certificates below the root. Path building depends on the time only through the served
/// certificates' validity dates (`bounds`): it is the same at any time from which no such
/// date lies between it and `at`. The name is checked, and the dates read, per site.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    at: i64,
    bounds: Vec<i64>,
    primary: Judged,
    other: OtherJudged,
}

/// The other store's part of [`Settled`].
#[derive(Debug, Clone)]
enum OtherJudged {
    /// No other store was asked.
    NotAsked,
    /// It holds the primary's anchor without constraints: it concludes as the primary.
    AsPrimary,
    Own(Judged),
}

/// One store's part of [`Settled`].
#[derive(Debug, Clone)]
struct Judged {
    store: String,
    trust: Trust,
    algorithms: Algorithms,
    dated: Dated,
}

/// The validity dates of the certificates below the root (leaf first): what each is called
/// in a finding, its start and end (Unix seconds).
#[derive(Debug, Clone)]
struct Dated {
    below_root: Vec<(String, i64, i64)>,
    leaf_not_after: i64,
}

impl Settled {
    /// Whether the judgement holds at `now`: no served certificate starts or ends between
    /// the time it was made and `now` (a second either side, for the comparisons' edges).
    pub(crate) fn holds_at(&self, now: UnixTime) -> bool {
        let now = secs(now);
        let (from, to) = (
            self.at.min(now).saturating_sub(1),
            self.at.max(now).saturating_add(1),
        );
        !self.bounds.iter().any(|b| (from..=to).contains(b))
    }

    /// The verdicts for `host` at `now` (see [`Settled::holds_at`]), with the served chain
    /// described in `described`.
    pub(crate) fn verdicts(
        &self,
        described: ChainVerdict,
        leaf_der: &CertificateDer<'_>,
        host: &str,
        now: UnixTime,
    ) -> (ChainVerdict, Option<ChainVerdict>) {
        let verdict = self.primary.verdict(described.clone(), leaf_der, host, now);
        let other = match &self.other {
            OtherJudged::NotAsked => None,
            OtherJudged::AsPrimary => Some(verdict.clone()),
            OtherJudged::Own(judged) => Some(judged.verdict(described, leaf_der, host, now)),
        };
        (verdict, other)
    }
}

impl Judged {
    /// The steps for `host` at `now`, and the verdict they make.
    fn verdict(
        &self,
        mut verdict: ChainVerdict,
        leaf_der: &CertificateDer<'_>,
        host: &str,
        now: UnixTime,
    ) -> ChainVerdict {
        if let Trust::Path { anchor, .. } = &self.trust {
            verdict.trusted_root = Some(anchor.clone());
        }
        let observed = Observed::Read(Box::new(Steps {
            store: self.store.clone(),
            name_mismatch: name_mismatch(leaf_der, host),
            validity: validity(&self.dated, secs(now)),
            algorithms: self.algorithms.clone(),
            trust: self.trust.clone(),
        }));
        conclude(verdict, &observed)
    }
}

fn secs(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

/// The verdict's findings and padlock, made from the observations.
fn conclude(mut verdict: ChainVerdict, observed: &Observed) -> ChainVerdict {
    let (trusted, findings) = verdict::chain(observed);
    verdict.trusted = trusted;
    verdict.findings = findings;
    verdict
}

/// Path building, completed through AIA when the server omitted an issuer: the completed
/// pool and the path (or why there is none) against `store`.
async fn complete(
    leaf_der: &CertificateDer<'static>,
    served: &[CertificateDer<'static>],
    now: UnixTime,
    store: &TrustStore,
    facts: &LeafFacts,
    aia: &impl AiaFetch,
) -> (Completion, Result<Path, PathError>) {
    let mut completion = Completion {
        pool: served.to_vec(),
        fetched: Vec::new(),
        aia_trouble: None,
    };
    let mut path = build_path(leaf_der, &completion.pool, now, store, facts);
    if matches!(path, Err(PathError::Webpki(webpki::Error::UnknownIssuer))) {
        let Completion {
            pool,
            fetched,
            aia_trouble,
        } = &mut completion;
        let mut tried: Vec<String> = Vec::new();
        for _ in 0..MAX_AIA_FETCHES {
            let chain = name_chain(leaf_der, pool);
            let Some(end) = chain.last().and_then(|c| cert::parse(c)) else {
                break;
            };
            if cert::is_self_issued(&end) {
                break;
            }
            let Some(url) = cert::ca_issuers_urls(&end)
                .into_iter()
                .find(|u| !tried.contains(u))
            else {
                break;
            };
            tried.push(url.clone());
            let Some(body) = aia.fetch(&url).await else {
                *aia_trouble = Some(format!("fetching it from {url} failed"));
                break;
            };
            let new: Vec<_> = super::aia::certificates(&body)
                .into_iter()
                .filter(|c| c != leaf_der && !pool.contains(c))
                .collect();
            if new.is_empty() {
                *aia_trouble = Some(format!("{url} held no usable certificate"));
                break;
            }
            for c in new {
                pool.push(c.clone());
                fetched.push((url.clone(), c));
            }
            path = build_path(leaf_der, pool, now, store, facts);
            if !matches!(path, Err(PathError::Webpki(webpki::Error::UnknownIssuer))) {
                break;
            }
        }
    }
    (completion, path)
}

/// The steps after path building, for one store, that do not depend on the host or the
/// time: trust, algorithms, and the dates validity is judged from.
fn settle(
    leaf_der: &CertificateDer<'static>,
    leaf: &X509Certificate<'_>,
    store: &TrustStore,
    completion: &Completion,
    path: Result<Path, PathError>,
) -> Judged {
    let chain = below_root(leaf_der, &completion.pool, &path);
    let parsed: Vec<X509Certificate<'_>> = chain.iter().filter_map(|c| cert::parse(c)).collect();
    Judged {
        store: store.name().to_owned(),
        dated: dated(&parsed, leaf),
        algorithms: algorithms(&parsed, store, &path),
        trust: trust(leaf_der, leaf, store, completion, path),
    }
}

/// The certificates below the root: the built path, or else the chain by names.
fn below_root(
    leaf_der: &CertificateDer<'static>,
    pool: &[CertificateDer<'static>],
    path: &Result<Path, PathError>,
) -> Vec<CertificateDer<'static>> {
    match path {
        Ok(p) => std::iter::once(leaf_der.clone())
            .chain(p.intermediates.iter().cloned())
            .collect(),
        Err(_) => {
            let mut chain = name_chain(leaf_der, pool);
            if chain.len() > 1
                && chain
                    .last()
                    .and_then(|c| cert::parse(c))
                    .is_some_and(|c| cert::is_self_issued(&c))
            {
                chain.pop();
            }
            chain
        }
    }
}

/// The dates of every certificate below the root (`parsed`, leaf first).
fn dated(parsed: &[X509Certificate<'_>], leaf: &X509Certificate<'_>) -> Dated {
    let below_root = parsed
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (not_before, not_after) = cert::validity_secs(c);
            let what = if i == 0 {
                "the certificate".to_owned()
            } else {
                format!("the intermediate certificate '{}'", cert::short_name(c))
            };
            (what, not_before, not_after)
        })
        .collect();
    Dated {
        below_root,
        leaf_not_after: cert::validity_secs(leaf).1,
    }
}

/// Validity of every certificate below the root at `now_secs`.
fn validity(dated: &Dated, now_secs: i64) -> Validity {
    let mut expired = Vec::new();
    let mut not_yet = Vec::new();
    for (what, not_before, not_after) in &dated.below_root {
        if now_secs > *not_after {
            expired.push(Lapse {
                what: what.clone(),
                date: *not_after,
                distance: now_secs - not_after,
            });
        } else if now_secs < *not_before {
            not_yet.push(Lapse {
                what: what.clone(),
                date: *not_before,
                distance: not_before - now_secs,
            });
        }
    }
    Validity {
        expired,
        not_yet,
        leaf_not_after: dated.leaf_not_after,
        leaf_left: dated.leaf_not_after - now_secs,
    }
}

/// Weak signatures and RSA keys below the root, and whether the path leads to a publicly
/// trusted root (where browsers refuse keys they accept under a local one).
fn algorithms(
    parsed: &[X509Certificate<'_>],
    store: &TrustStore,
    path: &Result<Path, PathError>,
) -> Algorithms {
    Algorithms {
        weak_signatures: parsed
            .iter()
            .filter_map(|c| cert::weak_signature(c).map(|alg| (cert::short_name(c), alg)))
            .collect(),
        weak_keys: parsed
            .iter()
            .filter_map(|c| cert::weak_rsa_bits(c).map(|bits| (bits, cert::short_name(c))))
            .collect(),
        public_root: match path {
            Ok(p) => store
                .anchor_origin(&p.anchor_subject, &p.anchor_spki)
                .is_some_and(|o| o != Origin::CaFile),
            Err(_) => false,
        },
    }
}

/// Trust and constraints: the path, or why there is none.
fn trust(
    leaf_der: &CertificateDer<'static>,
    leaf: &X509Certificate<'_>,
    store: &TrustStore,
    completion: &Completion,
    path: Result<Path, PathError>,
) -> Trust {
    let Completion {
        pool,
        fetched,
        aia_trouble,
    } = completion;
    match path {
        Ok(p) => Trust::Path {
            omitted: fetched
                .iter()
                .filter(|(_, c)| p.intermediates.contains(c))
                .map(|(url, c)| {
                    let name = cert::parse(c).map_or_else(String::new, |c| cert::short_name(&c));
                    (name, url.clone())
                })
                .collect(),
            anchor: p.anchor,
        },
        Err(PathError::Distrusted(d)) => Trust::Distrusted(d.detail()),
        Err(_) if cert::is_self_signed(leaf) => Trust::SelfSigned(cert::short_name(leaf)),
        Err(PathError::Webpki(webpki::Error::UnknownIssuer)) => Trust::UnknownIssuer {
            detail: unknown_issuer_detail(leaf_der, pool, store, aia_trouble.as_deref()),
            omitted: omitted_issuer(leaf, pool, fetched, aia_trouble.as_deref()),
        },
        Err(PathError::Webpki(e)) => Trust::Refused {
            cause: match &e {
                webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                    Cause::Dates
                }
                e if is_unsupported_algorithm(e) => Cause::Algorithm,
                webpki::Error::InvalidSignatureForPublicKey => Cause::Signature,
                _ => Cause::Other,
            },
            detail: rejection_detail(&e),
        },
    }
}

/// Build a path from `leaf` through `pool` to a root of `store` whose constraints accept the
/// leaf (webpki tries the other paths when one is refused): at `now`, and if that fails, at
/// the time closest to `now` when every certificate is valid.
fn build_path(
    leaf: &CertificateDer<'static>,
    pool: &[CertificateDer<'static>],
    now: UnixTime,
    store: &TrustStore,
    facts: &LeafFacts,
) -> Result<Path, PathError> {
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(PathError::Webpki)?;
    let attempt = |time: UnixTime| {
        let refused: RefCell<Option<Distrust>> = RefCell::new(None);
        let constraints = |path: &webpki::VerifiedPath<'_>| {
            store.check(path.anchor(), facts).map_err(|d| {
                refused.borrow_mut().get_or_insert(d);
                webpki::Error::CertDistrusted
            })
        };
        let built = ee
            .verify_for_usage(
                PATH_ALGS,
                &store.anchors,
                pool,
                time,
                webpki::KeyUsage::server_auth(),
                None,
                Some(&constraints),
            )
            .map(|p| Path {
                intermediates: p
                    .intermediate_certificates()
                    .map(|c| c.der().into_owned())
                    .collect(),
                anchor: anchor_name(p.anchor().subject.as_ref()),
                anchor_subject: p.anchor().subject.as_ref().to_vec(),
                anchor_spki: p.anchor().subject_public_key_info.as_ref().to_vec(),
            });
        built.map_err(|e| match refused.into_inner() {
            Some(d) => PathError::Distrusted(d),
            None => PathError::Webpki(e),
        })
    };
    match attempt(now) {
        Ok(path) => Ok(path),
        Err(PathError::Webpki(webpki::Error::BadDerTime)) => {
            path_by_names(leaf, pool, store, facts)
        }
        Err(first) => match validity_time(now, leaf, pool) {
            Some(t) if t != now => attempt(t),
            _ => Err(first),
        },
    }
}

/// The path for a chain rustls-webpki cannot read: it refuses every date before 1970
/// (`BadDerTime`), where RFC 5280 allows 1950 to 9999 and Chrome accepts them. The path is
/// the chain by names up to the first certificate an anchor of `store` issued: each
/// signature must verify with its issuer's key (x509-parser, with ring), each issuer must
/// be a CA, and the anchor's constraints must hold. Validity is judged from the dates
/// themselves afterwards, as for every chain ([`assess`]). A date x509-parser cannot read
/// either keeps webpki's refusal.
fn path_by_names(
    leaf: &CertificateDer<'static>,
    pool: &[CertificateDer<'static>],
    store: &TrustStore,
    facts: &LeafFacts,
) -> Result<Path, PathError> {
    let chain = name_chain(leaf, pool);
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .map(|c| cert::parse(c))
        .collect::<Option<_>>()
        .ok_or(PathError::Webpki(webpki::Error::BadDerTime))?;
    for (i, c) in parsed.iter().enumerate() {
        if i > 0 && !c.is_ca() {
            return Err(PathError::Webpki(webpki::Error::EndEntityUsedAsCa));
        }
        let issuer = der_content(c.issuer().as_raw());
        let issued = |a: &&rustls_pki_types::TrustAnchor<'static>| {
            let subject: &[u8] = a.subject.as_ref();
            Some(subject) == issuer
        };
        for anchor in store.anchors.iter().filter(issued) {
            let spki = der_sequence(anchor.subject_public_key_info.as_ref());
            let Ok((_, key)) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&spki) else {
                continue;
            };
            if c.verify_signature(Some(&key)).is_ok() {
                store.check(anchor, facts).map_err(PathError::Distrusted)?;
                return Ok(Path {
                    intermediates: chain[1..=i].to_vec(),
                    anchor: anchor_name(anchor.subject.as_ref()),
                    anchor_subject: anchor.subject.as_ref().to_vec(),
                    anchor_spki: anchor.subject_public_key_info.as_ref().to_vec(),
                });
            }
        }
        let Some(issuer) = parsed.get(i + 1) else {
            break;
        };
        if c.verify_signature(Some(issuer.public_key())).is_err() {
            return Err(PathError::Webpki(
                webpki::Error::InvalidSignatureForPublicKey,
            ));
        }
    }
    Err(PathError::Webpki(webpki::Error::UnknownIssuer))
}

/// The content of a DER element (its tag and length stripped).
fn der_content(tlv: &[u8]) -> Option<&[u8]> {
    let first = *tlv.get(1)?;
    let start = if first < 0x80 {
        2
    } else {
        2 + usize::from(first & 0x7f)
    };
    tlv.get(start..)
}

/// `content` as a DER SEQUENCE.
fn der_sequence(content: &[u8]) -> Vec<u8> {
    der_element(0x30, content)
}

/// `content` as the DER element `tag`.
pub(super) fn der_element(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut der = vec![tag];
    let len = content.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        der.push(0x80 | (4 - skip) as u8);
        der.extend_from_slice(&bytes[skip..]);
    }
    der.extend_from_slice(content);
    der
}

/// `now` moved into the window where the leaf and every candidate intermediate are valid
/// (or, if there is none, the leaf's own window).
fn validity_time(
    now: UnixTime,
    leaf: &CertificateDer<'_>,
    pool: &[CertificateDer<'_>],
) -> Option<UnixTime> {
    let leaf_window = cert::parse(leaf).map(|c| cert::validity_secs(&c))?;
    let mut window = leaf_window;
    for c in pool.iter().filter_map(|c| cert::parse(c)) {
        let (nb, na) = cert::validity_secs(&c);
        window = (window.0.max(nb), window.1.min(na));
    }
    if window.0 > window.1 {
        window = leaf_window;
    }
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let t = now_secs.clamp(window.0, window.1.max(window.0));
    let t = u64::try_from(t).ok()?;
    Some(UnixTime::since_unix_epoch(Duration::from_secs(t)))
}

/// The chain by names: the leaf, then the issuer of each certificate among `pool`, until a
/// self-issued certificate or an issuer that is missing.
fn name_chain(
    leaf: &CertificateDer<'static>,
    pool: &[CertificateDer<'static>],
) -> Vec<CertificateDer<'static>> {
    let mut chain = vec![leaf.clone()];
    while chain.len() < MAX_CHAIN_LEN {
        let Some(current) = chain.last().and_then(|c| cert::parse(c)) else {
            break;
        };
        if cert::is_self_issued(&current) {
            break;
        }
        let issuer = current.issuer().as_raw();
        let next = pool.iter().find(|c| {
            !chain.contains(c) && cert::parse(c).is_some_and(|p| p.subject().as_raw() == issuer)
        });
        match next {
            Some(c) => chain.push(c.clone()),
            None => break,
        }
    }
    chain
}

/// Why the leaf is not valid for `host`, in a webmaster's words; `None` when it is.
fn name_mismatch(leaf_der: &CertificateDer<'_>, host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let Ok(server_name) = ServerName::try_from(host.as_str()) else {
        return Some(format!(
            "'{host}' is not a name a certificate can be valid for"
        ));
    };
    // A leaf webpki cannot read is reported by the path check.
    let ee = webpki::EndEntityCert::try_from(leaf_der).ok()?;
    if ee.verify_is_valid_for_subject_name(&server_name).is_ok() {
        return None;
    }
    let leaf = cert::parse(leaf_der)?;
    let leaf = &leaf;
    let names = cert::dns_names(leaf);
    if names.is_empty() {
        let cns = cert::common_names(leaf);
        return Some(match cns.first() {
            Some(cn) => format!(
                "the certificate has no subjectAltName; browsers ignore its subject CN '{cn}', so it is valid for no host — reissue it with {host} in subjectAltName"
            ),
            None => format!(
                "the certificate names no host at all; reissue it with {host} in subjectAltName"
            ),
        });
    }
    let mut shown = names
        .iter()
        .take(NAMES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_SHOWN {
        shown.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
    }
    Some(format!(
        "the certificate is valid for {shown}, not for {host} (a wildcard covers exactly one label)"
    ))
}

/// The `cert_untrusted` detail when no issuer was found.
fn unknown_issuer_detail(
    leaf: &CertificateDer<'static>,
    pool: &[CertificateDer<'static>],
    store: &TrustStore,
    aia_trouble: Option<&str>,
) -> String {
    let chain = name_chain(leaf, pool);
    let Some(end) = chain.last().and_then(|c| cert::parse(c)) else {
        return "no path to a trusted root".into();
    };
    if chain.len() > 1 && cert::is_self_issued(&end) {
        return format!(
            "the chain ends at the root '{}', which is not in the {} trust store",
            cert::short_name(&end),
            store.name()
        );
    }
    let what = if chain.len() == 1 {
        "the certificate".to_owned()
    } else {
        format!("the intermediate '{}'", cert::short_name(&end))
    };
    let fetch = match aia_trouble {
        Some(trouble) => format!("; {trouble}"),
        None if cert::ca_issuers_urls(&end).is_empty() => {
            "; it names no AIA caIssuers URL to fetch it from, so the server must send it".into()
        }
        None => String::new(),
    };
    format!(
        "{what} was issued by '{}', which the server did not send and which is not in the {} trust store{fetch}",
        end.issuer(),
        store.name()
    )
}

/// The `cert_chain_incomplete` detail when the server sent nothing that issued its leaf and
/// no issuer could be found (not fetched through AIA, or none named): the intermediate is
/// missing. Publicly trusted CAs never issue server certificates from a root directly, so
/// a leaf whose issuer the server does not send lacks an intermediate, and sending it is
/// the fix. (A chain that ends at a served intermediate whose issuer is unknown lacks a
/// root instead: that is plain `cert_untrusted`.)
fn omitted_issuer(
    leaf: &X509Certificate<'_>,
    pool: &[CertificateDer<'static>],
    fetched: &[(String, CertificateDer<'static>)],
    aia_trouble: Option<&str>,
) -> Option<String> {
    if cert::is_self_issued(leaf) {
        return None;
    }
    let issuer = leaf.issuer().as_raw();
    let issued_leaf =
        |c: &CertificateDer<'_>| cert::parse(c).is_some_and(|p| p.subject().as_raw() == issuer);
    // What the server sent: the pool but what AIA brought.
    let sent = pool
        .iter()
        .filter(|c| !fetched.iter().any(|(_, f)| f == *c))
        .any(&issued_leaf);
    if sent {
        return None;
    }
    let why = if pool.iter().any(issued_leaf) {
        "browsers fetch it through AIA, but the chain still fails above it".to_owned()
    } else {
        match aia_trouble {
            Some(trouble) => format!("browsers cannot fetch it either ({trouble})"),
            None if cert::ca_issuers_urls(leaf).is_empty() => {
                "the certificate names no AIA caIssuers URL to fetch it from".to_owned()
            }
            None => "it could not be completed through AIA".to_owned(),
        }
    };
    Some(format!(
        "the server sends no intermediate certificate: the issuer of its certificate, '{}', is missing and {why} — add the intermediate to the chain the server sends",
        leaf.issuer()
    ))
}

fn is_unsupported_algorithm(e: &webpki::Error) -> bool {
    #[allow(deprecated)]
    let legacy = matches!(e, webpki::Error::UnsupportedSignatureAlgorithm);
    legacy
        || matches!(
            e,
            webpki::Error::UnsupportedSignatureAlgorithmContext(_)
                | webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        )
}

/// The `cert_untrusted` detail for webpki's other refusals.
fn rejection_detail(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::CaUsedAsEndEntity => {
            "the server presents a CA certificate as its own certificate".into()
        }
        E::EndEntityUsedAsCa => {
            "a certificate that is not a CA signed another certificate in the chain".into()
        }
        E::RequiredEkuNotFoundContext(_) => {
            "the certificate is not meant for TLS servers (its extendedKeyUsage lacks serverAuth)"
                .into()
        }
        E::InvalidSignatureForPublicKey => {
            "a signature in the chain does not verify with its issuer's key".into()
        }
        E::NameConstraintViolation => "the certificate violates its CA's name constraints".into(),
        E::PathLenConstraintViolated => "the chain violates a CA's path length limit".into(),
        E::CertDistrusted => "the chain uses a CA key browsers have distrusted".into(),
        e if is_unsupported_algorithm(e) => {
            "a certificate in the chain uses a signature algorithm browsers do not accept".into()
        }
        other => format!("the chain was rejected ({other})"),
    }
}

/// A trust anchor's subject (the content of its Name) as text.
fn anchor_name(subject: &[u8]) -> String {
    match X509Name::from_der(&der_sequence(subject)) {
        Ok((_, name)) => name.to_string(),
        Err(_) => "(unreadable name)".into(),
    }
}
