//! Reading one certificate: the facts [`super::judge`] and the result need (names, dates,
//! algorithms, keys, AIA), parsed with x509-parser.

use model::CertificateInfo;
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::Oid;
use x509_parser::public_key::PublicKey;

/// RSA keys below this many bits are weak (CA/Browser Forum baseline, Chrome).
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// The smallest RSA key Chrome accepts in a chain (its path builder's minimum, and
/// `ERR_CERT_WEAK_KEY` under it): a key from this size up to [`MIN_RSA_BITS`] is reported,
/// but the browser still shows the padlock, so the chain stays trusted.
pub(crate) const BROWSER_MIN_RSA_BITS: usize = 1024;

/// `1.3.6.1.5.5.7.48.2`, the AIA access method `caIssuers`.
const CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";

/// Parse `der` as one X.509 certificate (trailing bytes are refused).
pub(crate) fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], cert)) => Some(cert),
        _ => None,
    }
}

/// Describe one certificate for the result. A certificate that does not parse is described
/// by its fingerprint only, with `subject` saying so.
pub(crate) fn describe(der: &CertificateDer<'_>) -> CertificateInfo {
    describe_known(der, &super::memo::sha256(der))
}

/// [`describe`], for a certificate whose SHA-256 is known.
pub(crate) fn describe_known(der: &[u8], fingerprint: &super::memo::Key) -> CertificateInfo {
    super::memo::description(fingerprint, || read(der, hex(fingerprint)))
}

/// [`describe`], without the memo.
fn read(der: &[u8], sha256: String) -> CertificateInfo {
    let Some(cert) = parse(der) else {
        return CertificateInfo {
            subject: "(unreadable certificate)".into(),
            sha256,
            ..CertificateInfo::default()
        };
    };
    CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        dns_names: dns_names(&cert),
        not_before: rfc3339(cert.validity().not_before.to_datetime()),
        not_after: rfc3339(cert.validity().not_after.to_datetime()),
        signature_algorithm: signature_algorithm_name(&cert.signature_algorithm.algorithm),
        key: key_description(&cert),
        sha256,
    }
}

/// The subjectAltName DNS names and IP addresses, as written.
pub(crate) fn dns_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => ip_string(bytes),
            _ => None,
        })
        .collect()
}

fn ip_string(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?).to_string()),
        _ => None,
    }
}

/// The subject's common names (only to explain a mismatch; they never count for the host).
pub(crate) fn common_names(cert: &X509Certificate<'_>) -> Vec<String> {
    cert.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
        .collect()
}

/// A short name for messages: the first CN, else the whole subject.
pub(crate) fn short_name(cert: &X509Certificate<'_>) -> String {
    common_names(cert)
        .into_iter()
        .next()
        .unwrap_or_else(|| cert.subject().to_string())
}

/// Whether issuer and subject are the same name (a root or a self-signed leaf).
pub(crate) fn is_self_issued(cert: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == cert.subject().as_raw()
}

/// Whether the certificate is self-issued and its signature verifies with its own key (or
/// uses an algorithm we cannot check, in which case the names decide).
pub(crate) fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    is_self_issued(cert)
        && !matches!(
            cert.verify_signature(None),
            Err(x509_parser::error::X509Error::SignatureVerificationError)
        )
}

/// `notBefore` and `notAfter` as Unix seconds.
pub(crate) fn validity_secs(cert: &X509Certificate<'_>) -> (i64, i64) {
    (
        cert.validity().not_before.timestamp(),
        cert.validity().not_after.timestamp(),
    )
}

/// The `caIssuers` URLs of the AIA extension.
pub(crate) fn ca_issuers_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.iter_extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in &aia.accessdescs {
                if desc.access_method.to_id_string() == CA_ISSUERS
                    && let GeneralName::URI(uri) = desc.access_location
                {
                    urls.push(uri.to_owned());
                }
            }
        }
    }
    urls
}

/// The weak signature algorithm this certificate is signed with, if any (MD2/MD4/MD5/SHA-1).
pub(crate) fn weak_signature(cert: &X509Certificate<'_>) -> Option<String> {
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let weak = matches!(
        oid.as_str(),
        "1.2.840.113549.1.1.2" // md2WithRSAEncryption
            | "1.2.840.113549.1.1.3" // md4WithRSAEncryption
            | "1.2.840.113549.1.1.4" // md5WithRSAEncryption
            | "1.2.840.113549.1.1.5" // sha1WithRSAEncryption
            | "1.3.14.3.2.29" // sha1WithRSA (OIW)
            | "1.2.840.10045.4.1" // ecdsa-with-SHA1
            | "1.2.840.10040.4.3" // dsa-with-sha1
    );
    weak.then(|| signature_algorithm_name(&cert.signature_algorithm.algorithm))
}

/// The RSA key size when it is under [`MIN_RSA_BITS`].
pub(crate) fn weak_rsa_bits(cert: &X509Certificate<'_>) -> Option<usize> {
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size();
            (bits < MIN_RSA_BITS).then_some(bits)
        }
        _ => None,
    }
}

/// `RSA 2048`, `EC P-256`, `Ed25519`, ...
pub(crate) fn key_description(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.3.101.112" => return "Ed25519".into(),
        "1.3.101.113" => return "Ed448".into(),
        _ => {}
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "EC P-256".into(),
                Some("1.3.132.0.34") => "EC P-384".into(),
                Some("1.3.132.0.35") => "EC P-521".into(),
                Some(other) => format!("EC {other}"),
                None => "EC".into(),
            }
        }
        Ok(PublicKey::DSA(y)) => format!("DSA {}", y.len() * 8),
        _ => format!("unknown key ({alg})"),
    }
}

/// The conventional name of a signature algorithm, or its dotted OID.
pub(crate) fn signature_algorithm_name(oid: &Oid<'_>) -> String {
    let id = oid.to_id_string();
    let name = match id.as_str() {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.3" => "md4WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        _ => return id,
    };
    name.to_owned()
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// `2025-01-31` for a Unix time, for messages.
pub(crate) fn day(secs: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => secs.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-256 of a certificate's DER.
pub(crate) fn sha256(der: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The name an anchor is listed under: its subject CN, else its O, else the whole subject.
pub(crate) fn anchor_display_name(der: &[u8]) -> String {
    let Some(cert) = parse(der) else {
        return "(unreadable certificate)".into();
    };
    if let Some(cn) = common_names(&cert).into_iter().next() {
        return cn;
    }
    cert.subject()
        .iter_organization()
        .next()
        .and_then(|o| o.as_str().ok())
        .map_or_else(|| cert.subject().to_string(), str::to_owned)
}

/// The timestamps of the SCTs embedded in a certificate (RFC 6962 SCT list extension), in
/// Unix seconds; empty when it carries none or the list does not parse.
pub(crate) fn sct_times(cert: &X509Certificate<'_>) -> Vec<i64> {
    cert.extensions()
        .iter()
        .filter_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SCT(list) => Some(list),
            _ => None,
        })
        .flatten()
        .map(|sct| i64::try_from(sct.timestamp / 1000).unwrap_or(i64::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_reads_names_dates_algorithms_and_fingerprint() {
        let mut params =
            rcgen::CertificateParams::new(vec!["www.a.test".into(), "a.test".into()]).unwrap();
        params.not_before = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        params.not_after = OffsetDateTime::from_unix_timestamp(1_798_761_600).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "www.a.test");
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        let info = describe(&der);
        assert_eq!(info.subject, "CN=www.a.test");
        assert_eq!(info.issuer, "CN=www.a.test");
        assert_eq!(info.dns_names, vec!["www.a.test", "a.test"]);
        assert_eq!(info.not_before, "2026-01-01T00:00:00Z");
        assert_eq!(info.not_after, "2027-01-01T00:00:00Z");
        assert_eq!(info.signature_algorithm, "ecdsa-with-SHA384");
        assert_eq!(info.key, "EC P-384");
        assert_eq!(info.sha256.len(), 64);
        assert_eq!(
            info.sha256,
            hex(ring::digest::digest(&ring::digest::SHA256, &der).as_ref())
        );
        assert_eq!(day(1_767_225_600), "2026-01-01");
        let cert = parse(&der).unwrap();
        assert!(is_self_signed(&cert));
        assert_eq!(weak_signature(&cert), None);
        assert_eq!(weak_rsa_bits(&cert), None);
    }
}
