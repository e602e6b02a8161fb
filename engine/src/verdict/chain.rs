//! The `cert_*` findings of a served chain, made from what the chain's judgement observed
//! ([`Observed`]), and whether a browser accepts the chain.

use crate::tls::cert::{self, day};
use crate::tls::chain::{Cause, Observed, Trust};
use model::{Code, Finding, Severity};

/// A leaf expiring within this many seconds gets `cert_expiring_soon`.
const EXPIRING_SOON_SECS: i64 = 30 * 86_400;

/// Whether a browser accepts the chain, and its findings (several may hold at once: each
/// step is looked at on its own).
pub(crate) fn chain(observed: &Observed) -> (bool, Vec<Finding>) {
    let steps = match observed {
        Observed::NoCertificate => {
            return (
                false,
                vec![Finding::new(
                    Code::CertUntrusted,
                    "the server sent no certificate",
                )],
            );
        }
        Observed::Unreadable => {
            return (
                false,
                vec![Finding::new(
                    Code::CertUntrusted,
                    "the server's certificate could not be read (malformed DER)",
                )],
            );
        }
        Observed::Read(steps) => steps,
    };
    let mut findings = Vec::new();

    // Name.
    if let Some(detail) = &steps.name_mismatch {
        findings.push(Finding::new(Code::CertHostnameMismatch, detail.clone()));
    }

    // Validity of every certificate below the root.
    let validity = &steps.validity;
    if !validity.expired.is_empty() {
        let expired: Vec<String> = validity
            .expired
            .iter()
            .map(|l| {
                format!(
                    "{} expired on {} ({} ago)",
                    l.what,
                    day(l.date),
                    days(l.distance)
                )
            })
            .collect();
        findings.push(Finding::new(Code::CertExpired, expired.join("; ")));
    }
    if !validity.not_yet.is_empty() {
        let not_yet: Vec<String> = validity
            .not_yet
            .iter()
            .map(|l| {
                format!(
                    "{} is valid only from {} (in {}); check the server's clock and the certificate's dates",
                    l.what,
                    day(l.date),
                    days(l.distance)
                )
            })
            .collect();
        findings.push(Finding::new(Code::CertNotYetValid, not_yet.join("; ")));
    }

    // Under 1024 bits Chrome refuses any chain. Under 2048 it refuses a chain to a publicly
    // trusted root (a root of the browser's store, its "known root" rule), but shows the
    // padlock under a locally trusted root (`--ca-file`; the browser test holds this against
    // Chromium): there the key is reported, not fatal.
    let algorithms = &steps.algorithms;
    let public_root = algorithms.public_root;
    let refused_key = algorithms.weak_keys.iter().any(|(bits, _)| {
        *bits < cert::BROWSER_MIN_RSA_BITS || (public_root && *bits < cert::MIN_RSA_BITS)
    });

    // Trust and constraints.
    match &steps.trust {
        Trust::Path { omitted, .. } => {
            if !omitted.is_empty() {
                let missing: Vec<String> = omitted
                    .iter()
                    .map(|(name, url)| format!("'{name}' (browsers fetch it from {url})"))
                    .collect();
                findings.push(Finding::new(
                    Code::CertChainIncomplete,
                    format!(
                        "the server does not send the intermediate certificate {}; clients that do not fetch it fail — add it to the chain the server sends",
                        missing.join(" and ")
                    ),
                ));
            }
        }
        Trust::Distrusted(detail) => {
            findings.push(Finding::new(Code::CertDistrusted, detail.clone()));
        }
        Trust::SelfSigned(name) => {
            findings.push(Finding::new(
                Code::CertSelfSigned,
                format!(
                    "the certificate is self-signed ('{name}' issued it to itself) and is not in the {} trust store; install a certificate from a publicly trusted CA",
                    steps.store
                ),
            ));
        }
        // A refusal another step explains is reported there.
        Trust::Refused {
            cause: Cause::Dates,
            ..
        } if !validity.expired.is_empty() || !validity.not_yet.is_empty() => {}
        Trust::Refused {
            cause: Cause::Algorithm,
            ..
        } if !algorithms.weak_signatures.is_empty() => {}
        // ring checks no RSA signature under 1024 bits: the key is the cause, said below.
        Trust::Refused {
            cause: Cause::Signature,
            ..
        } if refused_key => {}
        Trust::UnknownIssuer { detail, omitted } => {
            findings.push(Finding::new(Code::CertUntrusted, detail.clone()));
            // The cause beside the verdict, when it is the server's omission.
            if let Some(detail) = omitted {
                findings.push(Finding::new(Code::CertChainIncomplete, detail.clone()));
            }
        }
        Trust::Refused { detail, .. } => {
            findings.push(Finding::new(Code::CertUntrusted, detail.clone()));
        }
    }

    // Algorithms.
    if !algorithms.weak_signatures.is_empty() {
        let weak: Vec<String> = algorithms
            .weak_signatures
            .iter()
            .map(|(name, alg)| format!("'{name}' is signed with {alg}"))
            .collect();
        findings.push(Finding::new(
            Code::CertWeakSignature,
            format!(
                "{}; browsers reject SHA-1 and MD5 signatures — reissue with SHA-256",
                weak.join("; ")
            ),
        ));
    }
    if !algorithms.weak_keys.is_empty() {
        let list: Vec<String> = algorithms
            .weak_keys
            .iter()
            .map(|(bits, name)| {
                format!(
                    "'{name}' has a {bits}-bit RSA key (at least {} bits are required)",
                    cert::MIN_RSA_BITS
                )
            })
            .collect();
        let effect = if refused_key && public_root {
            format!(
                "browsers refuse RSA keys under {} bits in a publicly trusted chain",
                cert::MIN_RSA_BITS
            )
        } else if refused_key {
            format!(
                "browsers refuse RSA keys under {} bits",
                cert::BROWSER_MIN_RSA_BITS
            )
        } else {
            "browsers still accept it, but CAs may no longer issue such keys".to_owned()
        };
        findings.push(Finding::new(
            Code::CertWeakKey,
            format!("{}; {effect}", list.join("; ")),
        ));
    }

    // The leaf's end, near.
    if (0..=EXPIRING_SOON_SECS).contains(&validity.leaf_left) {
        findings.push(Finding::new(
            Code::CertExpiringSoon,
            format!(
                "the certificate expires on {}, in {}; renew it",
                day(validity.leaf_not_after),
                days(validity.leaf_left)
            ),
        ));
    }

    let trusted = !findings
        .iter()
        .any(|f| f.severity == Severity::Error && (f.code != Code::CertWeakKey || refused_key));
    (trusted, findings)
}

/// `3 days`, `1 day`, `5 hours`.
fn days(secs: i64) -> String {
    let d = secs / 86_400;
    match d {
        0 => format!("{} hours", secs / 3_600),
        1 => "1 day".into(),
        d => format!("{d} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::chain::{Algorithms, Lapse, Steps, Validity};

    const YEAR: i64 = 365 * 86_400;

    fn steps(trust: Trust) -> Steps {
        Steps {
            store: "Chrome Root Store".into(),
            name_mismatch: None,
            validity: Validity {
                expired: Vec::new(),
                not_yet: Vec::new(),
                leaf_not_after: 2 * YEAR,
                leaf_left: YEAR,
            },
            trust,
            algorithms: Algorithms {
                weak_signatures: Vec::new(),
                weak_keys: Vec::new(),
                public_root: true,
            },
        }
    }

    fn path() -> Trust {
        Trust::Path {
            anchor: "CN=Root".into(),
            omitted: Vec::new(),
        }
    }

    fn refused(cause: Cause) -> Trust {
        Trust::Refused {
            cause,
            detail: "refused".into(),
        }
    }

    fn codes(s: Steps) -> (bool, Vec<Code>) {
        let (trusted, findings) = chain(&Observed::Read(Box::new(s)));
        (trusted, findings.iter().map(|f| f.code).collect())
    }

    #[test]
    fn each_observation_makes_its_findings_and_the_padlock_follows_the_errors() {
        let expired = |mut s: Steps| {
            s.validity.expired.push(Lapse {
                what: "the certificate".into(),
                date: 0,
                distance: 3 * 86_400,
            });
            s
        };
        let weak_key = |bits, public_root| {
            let mut s = steps(path());
            s.algorithms.weak_keys.push((bits, "leaf".into()));
            s.algorithms.public_root = public_root;
            s
        };
        let weak_signature = |mut s: Steps| {
            s.algorithms
                .weak_signatures
                .push(("leaf".into(), "SHA-1".into()));
            s
        };
        let mismatch = |mut s: Steps| {
            s.name_mismatch = Some("not for this host".into());
            s
        };
        let soon = |mut s: Steps| {
            s.validity.leaf_left = 10 * 86_400;
            s
        };
        let cases: Vec<(&str, Steps, bool, Vec<Code>)> = vec![
            ("a path, nothing else", steps(path()), true, vec![]),
            (
                "a name mismatch",
                mismatch(steps(path())),
                false,
                vec![Code::CertHostnameMismatch],
            ),
            (
                "a refusal for dates, explained by the expiry",
                expired(steps(refused(Cause::Dates))),
                false,
                vec![Code::CertExpired],
            ),
            (
                "a refusal for dates with no date seen",
                steps(refused(Cause::Dates)),
                false,
                vec![Code::CertUntrusted],
            ),
            (
                "a refusal for the algorithm, explained by a weak signature",
                weak_signature(steps(refused(Cause::Algorithm))),
                false,
                vec![Code::CertWeakSignature],
            ),
            (
                "a 1024-bit key under a public root",
                weak_key(1024, true),
                false,
                vec![Code::CertWeakKey],
            ),
            (
                "a 1024-bit key under a local root",
                weak_key(1024, false),
                true,
                vec![Code::CertWeakKey],
            ),
            (
                "a 512-bit key anywhere",
                weak_key(512, false),
                false,
                vec![Code::CertWeakKey],
            ),
            (
                "expiring soon is a warning",
                soon(steps(path())),
                true,
                vec![Code::CertExpiringSoon],
            ),
            (
                "an unknown issuer the server omitted",
                steps(Trust::UnknownIssuer {
                    detail: "unknown".into(),
                    omitted: Some("omitted".into()),
                }),
                false,
                vec![Code::CertUntrusted, Code::CertChainIncomplete],
            ),
            (
                "several at once, in order",
                soon(weak_signature(mismatch(steps(Trust::SelfSigned(
                    "leaf".into(),
                ))))),
                false,
                vec![
                    Code::CertHostnameMismatch,
                    Code::CertSelfSigned,
                    Code::CertWeakSignature,
                    Code::CertExpiringSoon,
                ],
            ),
        ];
        for (name, s, trusted, expected) in cases {
            assert_eq!(codes(s), (trusted, expected), "{name}");
        }
        assert_eq!(
            chain(&Observed::NoCertificate).1[0].code,
            Code::CertUntrusted
        );
        assert!(!chain(&Observed::Unreadable).0);
    }

    #[test]
    fn durations_read_as_hours_or_days() {
        assert_eq!(days(5 * 3_600), "5 hours");
        assert_eq!(days(86_400), "1 day");
        assert_eq!(days(3 * 86_400 + 5), "3 days");
    }
}
