//! Entry points for the fuzz targets (`fuzz/`, cargo-fuzz) and for the test that replays
//! their corpora: each takes arbitrary bytes and drives one parser the way a scan does.
//! A panic is a bug; what the parsers conclude is not checked here (their own tests do).

use crate::legacy::{Offer, Version};
use crate::mixed_content::{self, csp, css, entities, refresh, srcset};
use crate::tls::{aia, cert};
use rustls_pki_types::CertificateDer;
use url::Url;

/// A Strict-Transport-Security header value (`hsts::parse`).
pub fn hsts(data: &[u8]) {
    if let Ok(value) = std::str::from_utf8(data) {
        let _ = crate::hsts::parse(value);
    }
}

/// An https page: the HTML analysis (references by class, `<base>`, meta refresh, CSP meta,
/// favicon; the same as the full pass's whatever the prefilter decided), and the same bytes as text through each of its small parsers (CSS in a sheet
/// and in an attribute, `srcset`, a refresh `content`, a CSP value, attribute entities).
pub fn page(data: &[u8]) {
    let url = Url::parse("https://fuzz.gov.test/dir/page.html").expect("a valid URL");
    let analysis = mixed_content::analyze(data, &url, false, 4);
    // The prefilter may spare a page the full pass only where the full pass finds the same.
    assert_eq!(
        analysis,
        mixed_content::analyze_fully(data, &url, false, 4),
        "the scan's analysis differs from the full pass's"
    );
    for class in [
        &analysis.mixed.active,
        &analysis.mixed.passive,
        &analysis.mixed.forms,
    ] {
        assert!(class.samples.len() <= 4.min(class.count));
    }
    let text = String::from_utf8_lossy(data);
    for source in [css::Source::Sheet, css::Source::Attribute] {
        // (A reference may be longer than its text: CSS turns each NUL into U+FFFD.)
        css::references(&text, source, &mut |_, _| {});
    }
    for candidate in srcset::urls(&text) {
        assert!(!candidate.is_empty(), "an empty srcset URL from {text:?}");
    }
    let _ = refresh::parse(&text, &url);
    let _ = csp::upgrades_insecure_requests(&text);
    let _ = entities::decode_attribute(&text);
}

/// The server's first flight in answer to the legacy probe's ClientHello. The first byte
/// chooses the offer (lowest and highest version, Chrome's or the broad suites), the
/// second the length of the SNI taken from the bytes after it (the hello built for it must
/// parse); the rest is the answer.
pub fn probe_answer(data: &[u8]) {
    let [choice, sni_len, rest @ ..] = data else {
        return;
    };
    let versions = [Version::Tls10, Version::Tls11, Version::Tls12];
    let version = versions[usize::from(choice % 3)];
    let lowest = versions[usize::from((choice / 3) % 3)].min(version);
    let offer = if choice & 0x80 == 0 {
        Offer::BROAD
    } else {
        Offer::CHROME
    };
    let (sni, answer) = rest.split_at(usize::from(*sni_len).min(rest.len()));
    let sni = String::from_utf8_lossy(sni);
    let _ = crate::legacy::fuzz_answer(answer, &sni, lowest, version, offer);
}

/// A certificate as served: its description for the result and every fact the chain
/// judgment reads from it.
pub fn certificate(data: &[u8]) {
    let info = cert::describe(&CertificateDer::from(data));
    assert_eq!(info.sha256.len(), 64);
    let _ = cert::anchor_display_name(data);
    if let Some(c) = cert::parse(data) {
        let _ = cert::dns_names(&c);
        let _ = cert::common_names(&c);
        let _ = cert::short_name(&c);
        let _ = cert::is_self_issued(&c);
        let _ = cert::is_self_signed(&c);
        let _ = cert::validity_secs(&c);
        let _ = cert::ca_issuers_urls(&c);
        let _ = cert::weak_signature(&c);
        let _ = cert::weak_rsa_bits(&c);
        let _ = cert::key_description(&c);
        let _ = cert::sct_times(&c);
    }
}

/// The body of an AIA `caIssuers` URL: DER, PKCS#7 or PEM; every certificate it yields
/// parses.
pub fn aia(data: &[u8]) {
    for c in aia::certificates(data) {
        assert!(cert::parse(&c).is_some());
    }
}
