//! TLS: the client configuration the engine scans with, and judging the certificate chain a
//! server sent as a browser (Chrome, Firefox) would.
//!
//! The handshake is made with [`scanning_client_config`], whose verifier accepts any chain
//! (handshake signatures are still checked), so that the engine always gets to see the
//! chain; [`judge`] then classifies it into `cert_*` findings:
//! - hostname by subjectAltName only (the subject CN never counts; a wildcard covers exactly
//!   one label) — `cert_hostname_mismatch`;
//! - a path from the leaf through the served intermediates to a root of the [`TrustStore`]
//!   (a browser's trust profile, see [`profile`]), completed through AIA `caIssuers` (at most
//!   3 fetches, through the caller's [`AiaFetch`]) when the server omitted an intermediate —
//!   `cert_untrusted`, `cert_self_signed`, `cert_chain_incomplete`; a root whose constraints
//!   (Chrome's SCT-date rules) exclude this certificate — `cert_distrusted`;
//! - validity of every certificate below the root at `now` — `cert_expired`,
//!   `cert_not_yet_valid`, and `cert_expiring_soon` for a leaf within 30 days of its end;
//! - SHA-1/MD5 signatures and RSA keys under 2048 bits below the root —
//!   `cert_weak_signature`, `cert_weak_key`.
//!
//! Several findings can hold at once (expired *and* mismatched): each is looked at on its
//! own, and a first failure does not hide the rest (see the `chain` module).

pub(crate) mod aia;
pub(crate) mod cert;
pub(crate) mod chain;
mod memo;
pub mod profile;
mod verifier;

pub use chain::MAX_AIA_FETCHES;
pub use profile::{ChromeVersion, ProfileOptions, RootConstraint, TrustStore};

use model::{CertificateInfo, Finding};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// A rustls client configuration for scanning: TLS 1.2 and 1.3, ALPN `http/1.1`, and a
/// verifier that lets the handshake complete whatever the chain (handshake signatures are
/// still checked) so that [`judge`] can examine the chain afterwards.
///
/// Built once and shared; resumption is off so every handshake shows the chain served now.
pub fn scanning_client_config() -> Arc<rustls::ClientConfig> {
    verifier::scanning_client_config()
}

/// Whether the scanner's own handshake ([`scanning_client_config`]) speaks this TLS suite:
/// when it does not, a suite only browsers speak is why rustls failed, and the legacy probe
/// decides the padlock.
pub(crate) fn speaks(suite: u16) -> bool {
    scanning_client_config()
        .crypto_provider()
        .cipher_suites
        .iter()
        .any(|s| u16::from(s.suite()) == suite)
}

/// Fetches an AIA `caIssuers` URL (DER or PKCS#7 body), bounded and policy-checked by the
/// caller's implementation. `None` when it could not be fetched.
pub trait AiaFetch: Send + Sync {
    fn fetch(&self, url: &str) -> impl Future<Output = Option<Vec<u8>>> + Send;
}

/// What the chain means for the padlock.
#[derive(Debug, Clone, Default)]
pub struct ChainVerdict {
    /// A browser would accept this chain for this host at this time.
    pub trusted: bool,
    /// `cert_*` findings (several may hold at once: expired and mismatched, say).
    pub findings: Vec<Finding>,
    /// The served chain, leaf first.
    pub served: Vec<CertificateInfo>,
    /// Intermediates fetched through AIA.
    pub fetched: Vec<CertificateInfo>,
    /// The trust anchor the chain led to, when trusted.
    pub trusted_root: Option<String>,
}

/// Judge `served` (leaf first) for `host` at `now` against `store`, completing the chain
/// through AIA where the server omitted an intermediate.
pub async fn judge(
    served: &[CertificateDer<'static>],
    host: &str,
    now: UnixTime,
    store: &TrustStore,
    aia: &impl AiaFetch,
) -> ChainVerdict {
    let (described, _) = described(served);
    let (verdict, ..) = chain::judge(described, served, host, now, store, None, aia).await;
    verdict
}

/// Judge `served` as [`judge`] does against `primary`, and again against `other` (the other
/// browser's profile) on the same completed chain: one set of AIA fetches for both.
pub async fn judge_both(
    served: &[CertificateDer<'static>],
    host: &str,
    now: UnixTime,
    primary: &TrustStore,
    other: &TrustStore,
    aia: &impl AiaFetch,
) -> (ChainVerdict, ChainVerdict) {
    let (described, _) = described(served);
    let (verdict, other_verdict, _) =
        chain::judge(described, served, host, now, primary, Some(other), aia).await;
    (verdict, other_verdict.unwrap_or_default())
}

/// Judges served chains as [`judge_both`] does against a browser's profile and the other
/// browser's, remembering what of each judgement holds for other hosts and times: sites on
/// shared hosting send the same chain, and after the first only the name and the dates are
/// judged again. Answers exactly as [`judge_both`].
pub struct Judge {
    primary: TrustStore,
    other: TrustStore,
    /// Judgements under the SHA-256 of the served certificates' fingerprints.
    settled: Mutex<memo::Generations<Arc<chain::Settled>>>,
}

impl Judge {
    /// Chains judged by `primary`, with `other`'s verdict beside.
    pub fn new(primary: TrustStore, other: TrustStore) -> Judge {
        Judge {
            primary,
            other,
            settled: Mutex::new(memo::Generations::new(4_096)),
        }
    }

    /// The profile `https_ok` is judged by.
    pub fn primary(&self) -> &TrustStore {
        &self.primary
    }

    /// The other browser's profile.
    pub fn other(&self) -> &TrustStore {
        &self.other
    }

    /// How many chains' judgements are remembered.
    pub fn remembered(&self) -> usize {
        self.settled.lock().map_or(0, |m| m.len())
    }

    /// [`judge_both`] for `served`, from what was remembered of the same chain where it holds.
    pub async fn judge(
        &self,
        served: &[CertificateDer<'static>],
        host: &str,
        now: UnixTime,
        aia: &impl AiaFetch,
    ) -> (ChainVerdict, ChainVerdict) {
        let (described, fingerprints) = described(served);
        let key = memo::sha256(fingerprints.as_flattened());
        let known = self.settled.lock().ok().and_then(|mut m| m.get(&key));
        if let (Some(settled), Some(leaf)) = (known, served.first())
            && settled.holds_at(now)
        {
            let (verdict, other) = settled.verdicts(described, leaf, host, now);
            return (verdict, other.unwrap_or_default());
        }
        let (verdict, other, settled) = chain::judge(
            described,
            served,
            host,
            now,
            &self.primary,
            Some(&self.other),
            aia,
        )
        .await;
        if let (Some(settled), Ok(mut m)) = (settled, self.settled.lock()) {
            m.insert(key, Arc::new(settled));
        }
        (verdict, other.unwrap_or_default())
    }
}

/// The served chain described for the result (the verdict's start), and its certificates'
/// SHA-256 fingerprints, each computed once.
fn described(served: &[CertificateDer<'_>]) -> (ChainVerdict, Vec<memo::Key>) {
    let fingerprints: Vec<memo::Key> = served.iter().map(|c| memo::sha256(c)).collect();
    let described = ChainVerdict {
        served: served
            .iter()
            .zip(&fingerprints)
            .map(|(c, f)| cert::describe_known(c, f))
            .collect(),
        ..ChainVerdict::default()
    };
    (described, fingerprints)
}

/// Describe one certificate for the result.
pub fn describe(der: &CertificateDer<'_>) -> CertificateInfo {
    cert::describe(der)
}
