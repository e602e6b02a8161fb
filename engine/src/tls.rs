//! Judging the certificate chain a server sent, as a browser would.
//! (Interface fixed; implementation in progress.)

use model::{CertificateInfo, Finding};
use rustls_pki_types::{CertificateDer, UnixTime};
use std::future::Future;
use std::sync::Arc;

/// The roots a chain must lead to: Mozilla's (webpki-roots) plus any `--ca-file` roots.
pub struct TrustStore {
    name: &'static str,
}

impl TrustStore {
    pub fn new(extra_roots: &[CertificateDer<'static>]) -> Result<Self, crate::Error> {
        Ok(TrustStore {
            name: if extra_roots.is_empty() { "mozilla" } else { "mozilla+ca-file" },
        })
    }

    /// `mozilla`, or `mozilla+ca-file` when extra roots were given.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A rustls client configuration for scanning: TLS 1.2 and 1.3, ALPN `http/1.1`, and a
/// verifier that lets the handshake complete whatever the chain (handshake signatures are
/// still checked) so that [`judge`] can examine the chain afterwards.
pub fn scanning_client_config() -> Arc<rustls::ClientConfig> {
    unimplemented!("tls::scanning_client_config")
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
    let _ = (served, host, now, store, aia);
    ChainVerdict::default()
}

/// Describe one certificate for the result.
pub fn describe(der: &CertificateDer<'_>) -> CertificateInfo {
    let _ = der;
    CertificateInfo::default()
}
