//! Findings: what a scan observed that matters to a webmaster, with a stable code.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $sev:ident; )*) => {
        /// A finding code from `CHECKS.md`. The string form is the stable contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in the order of the table in `CHECKS.md` (new codes last).
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable string form, e.g. `cert_expired`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The severity the contract gives this code.
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }
        }

        impl FromStr for Code {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(Code::$variant), )*
                    other => Err(UnknownCode(other.to_owned())),
                }
            }
        }
    };
}

codes! {
    /// The name does not exist.
    DnsNxdomain = "dns_nxdomain", Error;
    /// Resolution failed or timed out.
    DnsFailed = "dns_failed", Error;
    /// Nothing answers on port 80.
    HttpUnreachable = "http_unreachable", Warning;
    /// Nothing answers on port 443.
    HttpsUnreachable = "https_unreachable", Error;
    /// A connection or response took longer than allowed.
    Timeout = "timeout", Error;
    /// The handshake failed for another reason.
    TlsHandshakeFailed = "tls_handshake_failed", Error;
    /// The server speaks only TLS 1.1 or older.
    TlsLegacyOnly = "tls_legacy_only", Error;
    /// TLS 1.0/1.1 still accepted beside 1.2+.
    TlsLegacySupported = "tls_legacy_supported", Warning;
    /// The certificate is not valid for the host (the document's error type 1).
    CertHostnameMismatch = "cert_hostname_mismatch", Error;
    /// Past notAfter.
    CertExpired = "cert_expired", Error;
    /// Before notBefore.
    CertNotYetValid = "cert_not_yet_valid", Error;
    /// The leaf signs itself.
    CertSelfSigned = "cert_self_signed", Error;
    /// The chain ends at a root outside the trust store.
    CertUntrusted = "cert_untrusted", Error;
    /// The server omits an intermediate (browsers fetch it; other clients fail).
    CertChainIncomplete = "cert_chain_incomplete", Warning;
    /// SHA-1/MD5 signature below the root.
    CertWeakSignature = "cert_weak_signature", Error;
    /// RSA key under 2048 bits.
    CertWeakKey = "cert_weak_key", Error;
    /// Expires within 30 days.
    CertExpiringSoon = "cert_expiring_soon", Warning;
    /// `http://` answers without sending the visitor to https.
    NoHttpsRedirect = "no_https_redirect", Error;
    /// An https URL redirects to http.
    RedirectDowngrade = "redirect_downgrade", Error;
    /// The redirects never end (loop or over the hop limit).
    RedirectLoop = "redirect_loop", Error;
    /// Forced only by a meta refresh, not an HTTP redirect.
    RedirectMetaRefresh = "redirect_meta_refresh", Info;
    /// No Strict-Transport-Security on the https response.
    HstsMissing = "hsts_missing", Warning;
    /// HSTS max-age under one year.
    HstsShort = "hsts_short", Warning;
    /// Blockable http subresources: the browser blocks them (error type 2).
    MixedContentActive = "mixed_content_active", Error;
    /// Upgradable http subresources: auto-upgraded, broken if no https copy (error type 2).
    MixedContentPassive = "mixed_content_passive", Warning;
    /// A form posts to http.
    InsecureForm = "insecure_form", Error;
    /// The name resolves to a private, loopback or link-local address and the scan was not
    /// told to allow those (added: the scanner refuses such targets by default).
    TargetPrivate = "target_private", Error;
    /// The scanner could not finish this site (a shard that kept failing, a cancelled job);
    /// the detail says why. Added so that no site ever vanishes without a result.
    ScanFailed = "scan_failed", Error;
    /// The chain ends at an anchor the browser still carries, but whose constraints exclude
    /// this certificate (Chrome's SCT-date rules, a version-limited trust).
    CertDistrusted = "cert_distrusted", Error;
    /// The operator excluded the site's host or address (`--exclude`): it was not
    /// contacted. Added so that an excluded site still has a result that says so.
    TargetExcluded = "target_excluded", Error;
}

/// A string that is not one of the finding codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding code {0:?}")]
pub struct UnknownCode(pub String);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding on a site: `{code, severity, detail}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// What was seen, in words a webmaster can act on.
    pub detail: String,
}

impl Finding {
    /// A finding with the contract's severity for `code`.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Finding {
            code,
            severity: code.severity(),
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_string_form() {
        for &code in Code::ALL {
            assert_eq!(code.as_str().parse::<Code>(), Ok(code));
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
        assert!("cert_bogus".parse::<Code>().is_err());
    }

    #[test]
    fn severities_follow_the_contract() {
        assert_eq!(Code::CertExpired.severity(), Severity::Error);
        assert_eq!(Code::HttpUnreachable.severity(), Severity::Warning);
        assert_eq!(Code::RedirectMetaRefresh.severity(), Severity::Info);
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
    }
}
