//! `tls::judge` on chains made in the test: each case says which findings a browser's view
//! of the chain implies.

use engine::tls::{AiaFetch, ChainVerdict, Judge, TrustStore, judge, judge_both};
use farm::certs::{self, Ca, DAY, Leaf, NOW_SECS, now, openssl};
use model::Code;
use rustls_pki_types::{CertificateDer, UnixTime};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// AIA bodies by URL; counts the fetches.
#[derive(Default)]
struct MapAia {
    bodies: HashMap<String, Vec<u8>>,
    fetches: AtomicUsize,
}

impl MapAia {
    fn with(mut self, url: &str, body: &[u8]) -> Self {
        self.bodies.insert(url.to_owned(), body.to_vec());
        self
    }
}

impl AiaFetch for MapAia {
    fn fetch(&self, url: &str) -> impl Future<Output = Option<Vec<u8>>> + Send {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let body = self.bodies.get(url).cloned();
        async move { body }
    }
}

fn store(root: &Ca) -> TrustStore {
    TrustStore::new(std::slice::from_ref(&root.der)).unwrap()
}

/// Mozilla's profile, the other store the remembering judge asks.
static MOZILLA: LazyLock<TrustStore> = LazyLock::new(|| TrustStore::new(&[]).unwrap());

/// `judge` at `now()`; and the remembering [`Judge`] asked twice (its first judgement, then
/// from memory where it remembered one) must answer the same, for both stores.
async fn run(served: &[CertificateDer<'static>], host: &str, store: &TrustStore) -> ChainVerdict {
    let v = judge(served, host, now(), store, &MapAia::default()).await;
    let (_, other) = judge_both(served, host, now(), store, &MOZILLA, &MapAia::default()).await;
    let remembering = Judge::new(store.clone(), MOZILLA.clone());
    for round in 0..2 {
        let (r, o) = remembering
            .judge(served, host, now(), &MapAia::default())
            .await;
        assert_eq!(format!("{r:?}"), format!("{v:?}"), "round {round}");
        assert_eq!(format!("{o:?}"), format!("{other:?}"), "round {round}");
    }
    v
}

#[tokio::test]
async fn a_remembered_judgement_answers_per_host_and_time_and_is_redone_across_a_date() {
    let p = pki();
    let end = NOW_SECS + 10 * DAY;
    let leaf = p
        .inter
        .leaf(Leaf::for_host("shared.test").valid(NOW_SECS - 30 * DAY, end));
    let served = [leaf, p.inter.der.clone()];
    let remembering = Judge::new(p.store.clone(), MOZILLA.clone());
    let at = |secs: i64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs as u64));
    let cases = [
        // The first judgement: expiring in 10 days.
        ("shared.test", NOW_SECS, 0, vec![Code::CertExpiringSoon]),
        // From memory: another host (not on the certificate), five days later.
        (
            "other.test",
            NOW_SECS + 5 * DAY,
            1,
            vec![Code::CertHostnameMismatch, Code::CertExpiringSoon],
        ),
        // Past the leaf's end: a date lies between, judged again (and remembered anew).
        ("shared.test", end + DAY, 1, vec![Code::CertExpired]),
        // Back before the end: the new memory does not hold either.
        ("shared.test", end - DAY, 1, vec![Code::CertExpiringSoon]),
    ];
    for (host, secs, remembered_before, expected) in cases {
        assert_eq!(
            remembering.remembered(),
            remembered_before,
            "{host} at {secs}"
        );
        let (r, o) = remembering
            .judge(&served, host, at(secs), &MapAia::default())
            .await;
        let v = judge(&served, host, at(secs), &p.store, &MapAia::default()).await;
        assert_eq!(codes(&r), expected, "{host} at {secs}: {:?}", r.findings);
        assert_eq!(format!("{r:?}"), format!("{v:?}"), "{host} at {secs}");
        let (_, other) = judge_both(
            &served,
            host,
            at(secs),
            &p.store,
            &MOZILLA,
            &MapAia::default(),
        )
        .await;
        assert_eq!(format!("{o:?}"), format!("{other:?}"), "{host} at {secs}");
    }
    assert_eq!(remembering.remembered(), 1);
}

#[tokio::test]
async fn a_judgement_that_fetched_through_aia_is_not_remembered() {
    let p = pki();
    let url = "http://aia.test/inter.der";
    let leaf = p.inter.leaf(Leaf::for_host("aia.test").aia(url));
    let aia = MapAia::default().with(url, &p.inter.der);
    let remembering = Judge::new(p.store.clone(), MOZILLA.clone());
    for round in 0..2 {
        let (r, _) = remembering
            .judge(std::slice::from_ref(&leaf), "aia.test", now(), &aia)
            .await;
        assert!(r.trusted, "round {round}: {:?}", r.findings);
        assert_eq!(
            aia.fetches.load(Ordering::SeqCst),
            round + 1,
            "fetched each time"
        );
    }
    assert_eq!(remembering.remembered(), 0);
}

fn codes(v: &ChainVerdict) -> Vec<Code> {
    let mut codes: Vec<Code> = v.findings.iter().map(|f| f.code).collect();
    codes.sort();
    codes
}

fn detail(v: &ChainVerdict, code: Code) -> &str {
    &v.findings.iter().find(|f| f.code == code).unwrap().detail
}

/// A root, an intermediate under it, and the store that trusts the root.
struct Pki {
    root: Ca,
    inter: Ca,
    store: TrustStore,
}

fn pki() -> Pki {
    let root = Ca::root("Scan Test Root");
    let inter = root.intermediate("Scan Test Intermediate", None);
    let store = store(&root);
    Pki { root, inter, store }
}

#[test]
fn the_store_is_named_for_its_roots() {
    assert_eq!(TrustStore::new(&[]).unwrap().name(), "mozilla");
    assert_eq!(pki().store.name(), "mozilla+ca-file");
    let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    assert!(TrustStore::new(&[junk]).is_err());
}

#[tokio::test]
async fn a_valid_chain_to_an_extra_root_is_trusted() {
    let p = pki();
    let leaf = p.inter.leaf(Leaf::for_host("valid.test"));
    let v = run(&[leaf, p.inter.der.clone()], "valid.test", &p.store).await;
    assert_eq!(codes(&v), vec![], "{:?}", v.findings);
    assert!(v.trusted);
    assert!(
        v.trusted_root
            .as_deref()
            .unwrap()
            .contains("Scan Test Root")
    );
    assert_eq!(v.served.len(), 2);
    assert_eq!(v.served[0].dns_names, vec!["valid.test"]);
    assert_eq!(v.served[0].key, "EC P-256");
    assert_eq!(v.served[0].signature_algorithm, "ecdsa-with-SHA256");
    assert!(v.served[1].subject.contains("Scan Test Intermediate"));
    // Host names compare case-insensitively, and a trailing dot is the same name.
    let v = run(
        &[
            p.inter.leaf(Leaf::for_host("valid.test")),
            p.inter.der.clone(),
        ],
        "VALID.test.",
        &p.store,
    )
    .await;
    assert!(v.trusted, "{:?}", v.findings);
    // Without the extra root, the same chain is untrusted under Mozilla's roots.
    let mozilla = TrustStore::new(&[]).unwrap();
    let v = run(
        &[
            p.inter.leaf(Leaf::for_host("valid.test")),
            p.inter.der.clone(),
        ],
        "valid.test",
        &mozilla,
    )
    .await;
    assert_eq!(codes(&v), vec![Code::CertUntrusted]);
    assert!(detail(&v, Code::CertUntrusted).contains("mozilla"));
    assert!(!v.trusted);
    let _ = p.root;
}

/// 1950-01-01 and 9999-12-31 23:59:59 UTC: the first UTCTime and the last GeneralizedTime
/// RFC 5280 can say.
const FIRST_RFC5280_DATE: i64 = -631_152_000;
const LAST_RFC5280_DATE: i64 = 253_402_300_799;

#[tokio::test]
async fn validity_from_1950_to_9999_is_judged_by_its_dates_not_refused_as_unreadable() {
    // rustls-webpki refuses dates before 1970 ("BadDerTime"); Chrome accepts RFC 5280's.
    let p = pki();
    let edge = Leaf::for_host("edge.test").valid(FIRST_RFC5280_DATE, LAST_RFC5280_DATE);
    let v = run(
        &[p.inter.leaf(edge), p.inter.der.clone()],
        "edge.test",
        &p.store,
    )
    .await;
    assert_eq!(codes(&v), vec![], "{:?}", v.findings);
    assert!(v.trusted);
    assert!(
        v.trusted_root
            .as_deref()
            .unwrap()
            .contains("Scan Test Root")
    );
    assert!(
        v.served[0].not_before.starts_with("1950-01-01"),
        "{}",
        v.served[0].not_before
    );
    assert!(
        v.served[0].not_after.starts_with("9999-12-31"),
        "{}",
        v.served[0].not_after
    );

    // The same dates on a leaf that expired in 1960: expired, by its date.
    let old =
        Leaf::for_host("edge.test").valid(FIRST_RFC5280_DATE, FIRST_RFC5280_DATE + 3650 * DAY);
    let v = run(
        &[p.inter.leaf(old), p.inter.der.clone()],
        "edge.test",
        &p.store,
    )
    .await;
    assert_eq!(codes(&v), vec![Code::CertExpired], "{:?}", v.findings);

    // Checked by names, the path still needs the right issuer and a trusted root.
    let stranger = Ca::root("Stranger Root").intermediate("Scan Test Intermediate", None);
    let forged =
        stranger.leaf(Leaf::for_host("edge.test").valid(FIRST_RFC5280_DATE, LAST_RFC5280_DATE));
    let v = run(&[forged, p.inter.der.clone()], "edge.test", &p.store).await;
    assert!(
        !v.trusted,
        "a leaf another key signed is refused: {:?}",
        v.findings
    );
    assert_eq!(codes(&v), vec![Code::CertUntrusted], "{:?}", v.findings);
    let edge = Leaf::for_host("edge.test").valid(FIRST_RFC5280_DATE, LAST_RFC5280_DATE);
    let mozilla = TrustStore::new(&[]).unwrap();
    let v = run(
        &[p.inter.leaf(edge), p.inter.der.clone()],
        "edge.test",
        &mozilla,
    )
    .await;
    assert_eq!(codes(&v), vec![Code::CertUntrusted], "{:?}", v.findings);
}

#[tokio::test]
async fn a_certificate_for_another_host_is_a_mismatch() {
    let p = pki();
    let leaf = p.inter.leaf(Leaf::for_host("www.other.test"));
    let v = run(&[leaf, p.inter.der.clone()], "www.site.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertHostnameMismatch]);
    let d = detail(&v, Code::CertHostnameMismatch);
    assert!(
        d.contains("www.other.test") && d.contains("www.site.test"),
        "{d}"
    );
    assert!(!v.trusted);
    assert!(
        v.trusted_root.is_some(),
        "the chain itself still leads to the root"
    );
}

#[tokio::test]
async fn a_common_name_without_subject_alt_name_does_not_count() {
    let p = pki();
    let spec = Leaf {
        sans: vec![],
        ..Leaf::for_host("cn-only.test")
    };
    let v = run(
        &[p.inter.leaf(spec), p.inter.der.clone()],
        "cn-only.test",
        &p.store,
    )
    .await;
    assert_eq!(codes(&v), vec![Code::CertHostnameMismatch]);
    assert!(detail(&v, Code::CertHostnameMismatch).contains("subject CN 'cn-only.test'"));
}

#[tokio::test]
async fn a_wildcard_matches_exactly_one_label() {
    let p = pki();
    let leaf = p.inter.leaf(Leaf::for_host("*.a.test"));
    let served = [leaf, p.inter.der.clone()];
    for (host, ok) in [("x.a.test", true), ("y.x.a.test", false), ("a.test", false)] {
        let v = run(&served, host, &p.store).await;
        let expected = if ok {
            vec![]
        } else {
            vec![Code::CertHostnameMismatch]
        };
        assert_eq!(codes(&v), expected, "host {host}");
        assert_eq!(v.trusted, ok, "host {host}");
    }
}

#[tokio::test]
async fn expired_not_yet_valid_and_expiring_soon() {
    let p = pki();
    let expired = p
        .inter
        .leaf(Leaf::for_host("old.test").valid(NOW_SECS - 400 * DAY, NOW_SECS - 10 * DAY));
    let v = run(
        &[expired.clone(), p.inter.der.clone()],
        "old.test",
        &p.store,
    )
    .await;
    assert_eq!(
        codes(&v),
        vec![Code::CertExpired],
        "no untrusted: the chain is otherwise fine"
    );
    assert!(
        detail(&v, Code::CertExpired).contains("2026-02-19"),
        "{:?}",
        v.findings
    );
    assert!(v.trusted_root.is_some());

    // Expired and mismatched at once: both are reported.
    let v = run(&[expired, p.inter.der.clone()], "new.test", &p.store).await;
    assert_eq!(
        codes(&v),
        vec![Code::CertHostnameMismatch, Code::CertExpired]
    );

    let future = p
        .inter
        .leaf(Leaf::for_host("future.test").valid(NOW_SECS + 5 * DAY, NOW_SECS + 300 * DAY));
    let v = run(&[future, p.inter.der.clone()], "future.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertNotYetValid]);
    assert!(!v.trusted);

    let soon = p
        .inter
        .leaf(Leaf::for_host("soon.test").valid(NOW_SECS - 80 * DAY, NOW_SECS + 10 * DAY));
    let v = run(&[soon, p.inter.der.clone()], "soon.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertExpiringSoon]);
    assert!(detail(&v, Code::CertExpiringSoon).contains("10 days"));
    assert!(v.trusted, "a warning does not take the padlock away");
}

#[tokio::test]
async fn an_expired_intermediate_is_reported() {
    let p = pki();
    let old_inter = p.root.intermediate_valid(
        "Old Intermediate",
        None,
        NOW_SECS - 900 * DAY,
        NOW_SECS - DAY,
    );
    let leaf = old_inter
        .leaf(Leaf::for_host("site.test").valid(NOW_SECS - 300 * DAY, NOW_SECS + 60 * DAY));
    let v = run(&[leaf, old_inter.der.clone()], "site.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertExpired]);
    assert!(detail(&v, Code::CertExpired).contains("intermediate certificate 'Old Intermediate'"));
}

#[tokio::test]
async fn a_self_signed_leaf() {
    let p = pki();
    let leaf = Leaf::for_host("self.test").self_signed();
    let v = run(std::slice::from_ref(&leaf), "self.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertSelfSigned]);
    assert!(!v.trusted);
    // The same certificate installed as a root (--ca-file) is trusted.
    let trusting = TrustStore::new(std::slice::from_ref(&leaf)).unwrap();
    let v = run(&[leaf], "self.test", &trusting).await;
    assert_eq!(codes(&v), vec![], "{:?}", v.findings);
}

#[tokio::test]
async fn a_chain_to_an_unknown_root_is_untrusted() {
    let p = pki();
    let other = Ca::root("Unknown Root");
    let inter = other.intermediate("Unknown Intermediate", None);
    let leaf = inter.leaf(Leaf::for_host("site.test"));
    let v = run(
        &[leaf.clone(), inter.der.clone(), other.der.clone()],
        "site.test",
        &p.store,
    )
    .await;
    assert_eq!(codes(&v), vec![Code::CertUntrusted]);
    assert!(
        detail(&v, Code::CertUntrusted).contains("ends at the root 'Unknown Root'"),
        "{:?}",
        v.findings
    );
    assert!(v.trusted_root.is_none());

    let v = run(&[leaf, inter.der.clone()], "site.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertUntrusted]);
    assert!(detail(&v, Code::CertUntrusted).contains("Unknown Root"));
}

#[tokio::test]
async fn a_missing_intermediate_is_fetched_through_aia() {
    let root = Ca::root("AIA Root");
    let inter = root.intermediate("AIA Intermediate", None);
    let leaf = inter.leaf(Leaf::for_host("aia.test").aia("http://pki.test/inter.crt"));
    let store = store(&root);

    // DER body.
    let aia = MapAia::default().with("http://pki.test/inter.crt", &inter.der);
    let v = judge(std::slice::from_ref(&leaf), "aia.test", now(), &store, &aia).await;
    assert_eq!(
        codes(&v),
        vec![Code::CertChainIncomplete],
        "{:?}",
        v.findings
    );
    assert!(v.trusted);
    assert_eq!(v.fetched.len(), 1);
    assert!(v.fetched[0].subject.contains("AIA Intermediate"));
    let d = detail(&v, Code::CertChainIncomplete);
    assert!(
        d.contains("AIA Intermediate") && d.contains("http://pki.test/inter.crt"),
        "{d}"
    );

    // PKCS#7 (certs-only) body, as made by openssl crl2pkcs7.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("inter.pem"), inter.pem()).unwrap();
    openssl(
        dir.path(),
        &[
            "crl2pkcs7",
            "-nocrl",
            "-certfile",
            "inter.pem",
            "-outform",
            "DER",
            "-out",
            "inter.p7c",
        ],
    );
    let p7c = std::fs::read(dir.path().join("inter.p7c")).unwrap();
    let aia = MapAia::default().with("http://pki.test/inter.crt", &p7c);
    let v = judge(std::slice::from_ref(&leaf), "aia.test", now(), &store, &aia).await;
    assert_eq!(
        codes(&v),
        vec![Code::CertChainIncomplete],
        "{:?}",
        v.findings
    );

    // The fetch fails: untrusted, and the detail says why.
    let aia = MapAia::default();
    let v = judge(std::slice::from_ref(&leaf), "aia.test", now(), &store, &aia).await;
    assert_eq!(
        codes(&v),
        vec![Code::CertUntrusted, Code::CertChainIncomplete]
    );
    assert!(
        detail(&v, Code::CertUntrusted)
            .contains("fetching it from http://pki.test/inter.crt failed")
    );
    // The cause beside the verdict: the server omits the intermediate.
    let d = detail(&v, Code::CertChainIncomplete);
    assert!(
        d.contains("cannot fetch it") && d.contains("add the intermediate"),
        "{d}"
    );
    assert_eq!(aia.fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_missing_intermediate_without_aia_is_untrusted_and_incomplete() {
    let p = pki();
    let leaf = p.inter.leaf(Leaf::for_host("lonely.test"));
    let aia = MapAia::default();
    let v = judge(&[leaf], "lonely.test", now(), &p.store, &aia).await;
    assert_eq!(
        codes(&v),
        vec![Code::CertUntrusted, Code::CertChainIncomplete]
    );
    assert!(detail(&v, Code::CertChainIncomplete).contains("no AIA caIssuers URL"));
    let d = detail(&v, Code::CertUntrusted);
    assert!(
        d.contains("Scan Test Intermediate") && d.contains("no AIA"),
        "{d}"
    );
    assert_eq!(aia.fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn aia_completion_stops_after_three_fetches() {
    // root → i1 → i2 → i3 → i4 → leaf, each naming its issuer by AIA; the server sends only
    // the leaf. Completing it takes four fetches: more than allowed.
    let root = Ca::root("Deep Root");
    let i1 = root.intermediate("I1", None);
    let i2 = i1.intermediate("I2", Some("http://pki.test/i1"));
    let i3 = i2.intermediate("I3", Some("http://pki.test/i2"));
    let i4 = i3.intermediate("I4", Some("http://pki.test/i3"));
    let leaf = i4.leaf(Leaf::for_host("deep.test").aia("http://pki.test/i4"));
    let aia = MapAia::default()
        .with("http://pki.test/i1", &i1.der)
        .with("http://pki.test/i2", &i2.der)
        .with("http://pki.test/i3", &i3.der)
        .with("http://pki.test/i4", &i4.der);
    let v = judge(
        std::slice::from_ref(&leaf),
        "deep.test",
        now(),
        &store(&root),
        &aia,
    )
    .await;
    assert_eq!(aia.fetches.load(Ordering::SeqCst), 3);
    assert_eq!(
        codes(&v),
        vec![Code::CertUntrusted, Code::CertChainIncomplete]
    );
    assert_eq!(v.fetched.len(), 3);
    // Sending one more intermediate makes it fit in the budget.
    let aia = MapAia {
        fetches: AtomicUsize::new(0),
        ..aia
    };
    let v = judge(
        &[leaf, i4.der.clone()],
        "deep.test",
        now(),
        &store(&root),
        &aia,
    )
    .await;
    assert_eq!(
        codes(&v),
        vec![Code::CertChainIncomplete],
        "{:?}",
        v.findings
    );
    assert_eq!(aia.fetches.load(Ordering::SeqCst), 3);
}

/// An RSA root made by openssl, with its key, in `dir` (`root.pem`, `root.key`).
fn openssl_root(dir: &std::path::Path) -> CertificateDer<'static> {
    certs::server_ext(dir, "weak.test");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "30",
            "-subj",
            "/CN=OpenSSL Test Root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    certs::read_pem_cert(&dir.join("root.pem"))
}

#[tokio::test]
async fn a_sha1_signature_is_weak_not_untrusted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = openssl_root(d);
    openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=weak.test",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-sha1",
            "-days",
            "100",
            "-extfile",
            "server.cnf",
            "-out",
            "leaf.pem",
        ],
    );
    let leaf = certs::read_pem_cert(&d.join("leaf.pem"));
    let store = TrustStore::new(&[root]).unwrap();
    let v = judge(
        &[leaf],
        "weak.test",
        UnixTime::now(),
        &store,
        &MapAia::default(),
    )
    .await;
    assert_eq!(codes(&v), vec![Code::CertWeakSignature], "{:?}", v.findings);
    assert!(detail(&v, Code::CertWeakSignature).contains("sha1WithRSAEncryption"));
    assert_eq!(v.served[0].signature_algorithm, "sha1WithRSAEncryption");
    assert!(!v.trusted);
    assert!(
        v.trusted_root
            .as_deref()
            .unwrap()
            .contains("OpenSSL Test Root"),
        "otherwise trusted"
    );
}

/// A chain whose intermediate has an RSA key of `bits`, judged.
async fn with_rsa_intermediate(bits: &str) -> ChainVerdict {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = openssl_root(d);
    openssl(d, &["genrsa", "-out", "inter.key", bits]);
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "inter.key",
            "-out",
            "inter.csr",
            "-subj",
            "/CN=Weak Intermediate",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "inter.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-sha256",
            "-days",
            "200",
            "-extfile",
            "ca.cnf",
            "-out",
            "inter.pem",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=weak.test",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "inter.pem",
            "-CAkey",
            "inter.key",
            "-CAcreateserial",
            "-sha256",
            "-days",
            "100",
            "-extfile",
            "server.cnf",
            "-out",
            "leaf.pem",
        ],
    );
    let leaf = certs::read_pem_cert(&d.join("leaf.pem"));
    let inter = certs::read_pem_cert(&d.join("inter.pem"));
    let store = TrustStore::new(&[root]).unwrap();
    judge(
        &[leaf, inter],
        "weak.test",
        UnixTime::now(),
        &store,
        &MapAia::default(),
    )
    .await
}

#[tokio::test]
async fn an_rsa_1024_intermediate_is_a_weak_key_that_browsers_still_accept() {
    // Chrome's floor is 1024 bits (the browser test checks it against Chromium): the key
    // is reported, the chain stays trusted.
    let v = with_rsa_intermediate("1024").await;
    assert_eq!(codes(&v), vec![Code::CertWeakKey], "{:?}", v.findings);
    let d = detail(&v, Code::CertWeakKey);
    assert!(
        d.contains("'Weak Intermediate' has a 1024-bit RSA key"),
        "{d}"
    );
    assert!(d.contains("browsers still accept it"), "{d}");
    assert_eq!(v.served[1].key, "RSA 1024");
    assert!(v.trusted_root.is_some());
    assert!(v.trusted);
}

#[tokio::test]
async fn an_rsa_key_under_1024_bits_is_refused() {
    let v = with_rsa_intermediate("768").await;
    assert_eq!(codes(&v), vec![Code::CertWeakKey], "{:?}", v.findings);
    let d = detail(&v, Code::CertWeakKey);
    assert!(
        d.contains("768-bit") && d.contains("browsers refuse"),
        "{d}"
    );
    assert!(!v.trusted);
}

#[tokio::test]
async fn no_certificate_or_garbage_is_untrusted() {
    let p = pki();
    let v = run(&[], "x.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertUntrusted]);
    let v = run(&[CertificateDer::from(vec![1, 2, 3])], "x.test", &p.store).await;
    assert_eq!(codes(&v), vec![Code::CertUntrusted]);
    assert_eq!(v.served[0].subject, "(unreadable certificate)");
}

/// The chrome profile with `roots` as extra roots and an SCT-date rule (that no certificate
/// here meets: they carry no SCT) on `constrained`.
fn chrome_with_rule(roots: &[&Ca], constrained: &Ca) -> TrustStore {
    use engine::tls::profile::Constraint;
    use engine::tls::{ProfileOptions, RootConstraint};
    let sha: [u8; 32] = ring_sha256(&constrained.der);
    TrustStore::profile(
        model::Browser::Chrome,
        &ProfileOptions {
            extra_roots: roots.iter().map(|r| r.der.clone()).collect(),
            root_constraints: vec![RootConstraint {
                sha256: sha,
                constraint: Constraint {
                    sct_not_after_sec: Some(NOW_SECS - 30 * DAY),
                    ..Constraint::default()
                },
            }],
            ..ProfileOptions::default()
        },
    )
    .unwrap()
}

fn ring_sha256(der: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, der).as_ref());
    out
}

/// A path refused by an anchor's constraints lets the path builder try another: a cross-sign
/// to an unconstrained root keeps the site trusted, as in Chrome; without it, the verdict is
/// `cert_distrusted`, naming the anchor, and the other profile (Mozilla's, where the rule
/// does not apply) still trusts it.
#[tokio::test]
async fn a_distrusted_anchor_yields_to_a_cross_signed_path_and_is_named_otherwise() {
    let old = Ca::root("Old Constrained Root");
    let new = Ca::root("New Root");
    let (inter, crossed) = Ca::cross_signed("Cross-signed Intermediate", &[&old, &new]);
    let leaf = inter.leaf(Leaf::for_host("cross.test"));
    let chrome = chrome_with_rule(&[&old, &new], &old);

    let only_old = [leaf.clone(), crossed[0].clone()];
    let v = run(&only_old, "cross.test", &chrome).await;
    assert_eq!(codes(&v), [Code::CertDistrusted]);
    assert!(!v.trusted);
    let d = detail(&v, Code::CertDistrusted);
    assert!(
        d.contains("Old Constrained Root") && d.contains("no SCT"),
        "{d}"
    );

    let both = [leaf.clone(), crossed[0].clone(), crossed[1].clone()];
    let v = run(&both, "cross.test", &chrome).await;
    assert!(v.trusted, "the path through the new root: {:?}", v.findings);
    assert!(
        v.trusted_root
            .as_deref()
            .is_some_and(|r| r.contains("New Root")),
        "{:?}",
        v.trusted_root
    );

    // Judged by both profiles at once: Mozilla's has no rule on the old root.
    let mozilla = TrustStore::new(&[old.der.clone(), new.der.clone()]).unwrap();
    let (c, m) = engine::tls::judge_both(
        &only_old,
        "cross.test",
        now(),
        &chrome,
        &mozilla,
        &MapAia::default(),
    )
    .await;
    assert_eq!(codes(&c), [Code::CertDistrusted]);
    assert!(m.trusted && m.findings.is_empty(), "{:?}", m.findings);
}
