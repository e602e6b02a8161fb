//! Reading the body of an AIA `caIssuers` URL: one DER certificate (`.crt`/`.cer`), a
//! certs-only PKCS#7 bundle (`.p7c`), or PEM certificates.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// At most this many certificates are taken from one body.
const MAX_CERTS_PER_BODY: usize = 8;

/// `1.2.840.113549.1.7.2` (signedData), DER-encoded OID value.
const SIGNED_DATA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const CONTEXT_0: u8 = 0xa0;

/// The certificates in an AIA body; empty when it holds none we can read.
pub(crate) fn certificates(body: &[u8]) -> Vec<CertificateDer<'static>> {
    let trimmed = body.trim_ascii_start();
    let mut certs = if trimmed.starts_with(b"-----BEGIN") {
        CertificateDer::pem_slice_iter(trimmed)
            .filter_map(Result::ok)
            .collect()
    } else if let Some(certs) = pkcs7_certificates(body) {
        certs
    } else if super::cert::parse(body).is_some() {
        vec![CertificateDer::from(body.to_vec())]
    } else {
        Vec::new()
    };
    certs.retain(|c| super::cert::parse(c).is_some());
    certs.truncate(MAX_CERTS_PER_BODY);
    certs
}

/// The `certificates` of a PKCS#7 SignedData (`ContentInfo`), or `None` if `body` is not one.
fn pkcs7_certificates(body: &[u8]) -> Option<Vec<CertificateDer<'static>>> {
    let (tag, content_info, _, _) = tlv(body)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, oid, _, rest) = tlv(content_info)?;
    if tag != OID || oid != SIGNED_DATA_OID {
        return None;
    }
    let (tag, explicit, _, _) = tlv(rest)?;
    if tag != CONTEXT_0 {
        return None;
    }
    let (tag, signed_data, _, _) = tlv(explicit)?;
    if tag != SEQUENCE {
        return None;
    }
    // version, digestAlgorithms, encapContentInfo, then [0] IMPLICIT certificates.
    let mut rest = signed_data;
    for _ in 0..3 {
        rest = tlv(rest)?.3;
    }
    let (tag, mut set, _, _) = tlv(rest)?;
    if tag != CONTEXT_0 && tag != SET {
        return Some(Vec::new());
    }
    let mut certs = Vec::new();
    while !set.is_empty() && certs.len() < MAX_CERTS_PER_BODY {
        let (tag, _, whole, next) = tlv(set)?;
        if tag == SEQUENCE {
            certs.push(CertificateDer::from(whole.to_vec()));
        }
        set = next;
    }
    Some(certs)
}

/// One DER TLV: `(tag, content, the whole TLV, what follows)`. Definite lengths only.
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some((tag, &rest[..len], &input[..header + len], &rest[len..]))
}

/// Wrap `certs` in a certs-only PKCS#7 SignedData, as CAs publish `.p7c` files (for tests).
#[cfg(test)]
pub(crate) fn pkcs7_bundle(certs: &[&[u8]]) -> Vec<u8> {
    use super::chain::der_element as wrap;
    let data_oid = wrap(OID, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01]);
    let signed_data = [
        wrap(0x02, &[1]),
        wrap(SET, &[]),
        wrap(SEQUENCE, &data_oid),
        wrap(CONTEXT_0, &certs.concat()),
        wrap(SET, &[]),
    ]
    .concat();
    let content_info = [
        wrap(OID, SIGNED_DATA_OID),
        wrap(CONTEXT_0, &wrap(SEQUENCE, &signed_data)),
    ]
    .concat();
    wrap(SEQUENCE, &content_info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_certs() -> (Vec<u8>, Vec<u8>) {
        let a = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.test".to_owned()]).unwrap();
        (a.cert.der().to_vec(), b.cert.der().to_vec())
    }

    #[test]
    fn a_der_body_is_one_certificate() {
        let (a, _) = two_certs();
        assert_eq!(certificates(&a), vec![CertificateDer::from(a.clone())]);
    }

    #[test]
    fn a_pkcs7_body_yields_every_certificate() {
        let (a, b) = two_certs();
        let bundle = pkcs7_bundle(&[&a, &b]);
        let certs = certificates(&bundle);
        assert_eq!(
            certs,
            vec![CertificateDer::from(a), CertificateDer::from(b)]
        );
    }

    #[test]
    fn a_pem_body_is_read() {
        let cert = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let certs = certificates(cert.cert.pem().as_bytes());
        assert_eq!(certs, vec![cert.cert.der().clone()]);
    }

    #[test]
    fn garbage_and_truncated_bodies_yield_nothing() {
        assert!(certificates(b"<html>not found</html>").is_empty());
        let (a, b) = two_certs();
        let bundle = pkcs7_bundle(&[&a, &b]);
        assert!(certificates(&bundle[..bundle.len() / 2]).is_empty());
        assert!(certificates(&a[..a.len() - 1]).is_empty());
        assert!(certificates(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_empty());
    }
}
