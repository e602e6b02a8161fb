//! A raw ClientHello probe: which protocol versions and cipher suites a server really
//! accepts, where rustls (TLS 1.2/1.3 with modern suites only) cannot tell.
//! (Interface fixed; implementation in progress.)

use rustls_pki_types::CertificateDer;
use std::net::SocketAddr;
use std::time::Duration;

/// A protocol version the probe can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    Tls10,
    Tls11,
    Tls12,
}

impl Version {
    /// `TLSv1.0`, `TLSv1.1`, `TLSv1.2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Tls10 => "TLSv1.0",
            Version::Tls11 => "TLSv1.1",
            Version::Tls12 => "TLSv1.2",
        }
    }
}

/// What the server answered to a ClientHello offering exactly one version and the broad set
/// of cipher suites a browser (or an old one) offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The server chose this version and suite; `certificates` is the chain it sent (in the
    /// clear up to TLS 1.2), leaf first.
    Accepted {
        version: Version,
        cipher: u16,
        cipher_name: Option<String>,
        certificates: Vec<CertificateDer<'static>>,
    },
    /// The server refused (an alert, or a ServerHello for another version); the reason.
    Rejected(String),
    /// No usable answer: connect failed, timed out or the connection closed.
    NoAnswer(String),
}

/// Offer `version` to `addr` with SNI `sni`; everything bounded by `timeout`.
pub async fn probe(addr: SocketAddr, sni: &str, version: Version, timeout: Duration) -> ProbeOutcome {
    let _ = (addr, sni, version, timeout);
    ProbeOutcome::NoAnswer("legacy probe not built yet".into())
}
