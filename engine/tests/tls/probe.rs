//! `legacy::probe` and `tls::scanning_client_config` against real servers on 127.0.0.1, the
//! farm's: `openssl s_server` child processes (TLS 1.1 only; TLS 1.2 with AES128-SHA only),
//! a rustls server (TLS 1.2/1.3), and a listener that never answers.

use engine::legacy::{Offer, ProbeOutcome, Version, probe, probe_offer};
use engine::tls::{self, TrustStore};
use farm::certs::{self, Ca, Leaf, openssl};
use farm::{Reply, Routes, Servers};
use model::Code;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(5);

/// An `openssl s_server -www` child (the farm's), killed when dropped.
struct SServer {
    _child: tokio::process::Child,
    addr: SocketAddr,
}

impl SServer {
    async fn start(dir: &Path, args: &[&str]) -> SServer {
        let port = StdListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let args: Vec<&str> = std::iter::once("-www")
            .chain(args.iter().copied())
            .collect();
        let child = farm::s_server(addr, &args, Some(dir), &dir.join("s_server.log"))
            .await
            .unwrap_or_else(|e| panic!("openssl s_server {args:?}: {e}"));
        SServer {
            _child: child,
            addr,
        }
    }
}

/// A rustls server (TLS 1.2 and 1.3, the farm's) serving `chain`, until the handle is
/// dropped.
struct RustlsServer {
    addr: SocketAddr,
    _servers: Servers,
}

async fn rustls_server(chain: Vec<CertificateDer<'static>>, key: &rcgen::KeyPair) -> RustlsServer {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let servers = Servers::default();
    let addr = servers
        .https(
            "127.0.0.1:0".parse().unwrap(),
            farm::certified_key(chain, key).unwrap(),
            Routes::always(Reply::not_found()),
        )
        .await
        .unwrap();
    RustlsServer {
        addr,
        _servers: servers,
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[tokio::test]
async fn a_tls11_only_server_accepts_tls11_and_refuses_tls12() {
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Probe Root");
    let inter = root.intermediate("Probe Intermediate", None);
    let (leaf, key) = inter.leaf_with_key(Leaf::for_host("legacy.test"));
    write(dir.path(), "c.pem", &farm::pem_encode("CERTIFICATE", &leaf));
    write(dir.path(), "chain.pem", &inter.pem());
    write(dir.path(), "k.pem", &key.serialize_pem());
    let server = SServer::start(
        dir.path(),
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-cert_chain",
            "chain.pem",
            "-tls1_1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
    )
    .await;

    let outcome = probe(server.addr, "legacy.test", Version::Tls11, TIMEOUT).await;
    let ProbeOutcome::Accepted {
        version,
        cipher_name,
        certificates,
        ..
    } = outcome
    else {
        panic!("TLS 1.1 not accepted: {outcome:?}");
    };
    assert_eq!(version, Version::Tls11);
    assert!(cipher_name.is_some());
    assert_eq!(certificates, vec![leaf, inter.der.clone()]);

    let outcome = probe(server.addr, "legacy.test", Version::Tls12, TIMEOUT).await;
    assert!(matches!(outcome, ProbeOutcome::Rejected(_)), "{outcome:?}");
}

#[tokio::test]
async fn an_aes128_sha_only_server_is_found_where_rustls_fails() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "90",
            "-subj",
            "/CN=rsa-kx.test",
            "-addext",
            "subjectAltName=DNS:rsa-kx.test",
        ],
    );
    let cert = certs::read_pem_cert(&d.join("c.pem"));
    let server = SServer::start(
        d,
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-tls1_2",
            "-cipher",
            "AES128-SHA",
        ],
    )
    .await;

    let outcome = probe(server.addr, "rsa-kx.test", Version::Tls12, TIMEOUT).await;
    assert_eq!(
        outcome,
        ProbeOutcome::Accepted {
            version: Version::Tls12,
            cipher: 0x002f,
            cipher_name: Some("TLS_RSA_WITH_AES_128_CBC_SHA".into()),
            certificates: vec![cert.clone()],
        }
    );

    // rustls cannot complete this handshake: that is why the probe exists.
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(tls::scanning_client_config());
    let name = ServerName::try_from("rsa-kx.test").unwrap();
    assert!(connector.connect(name, tcp).await.is_err());

    // The chain the probe saw can be judged: here, a self-signed certificate.
    let store = TrustStore::new(&[]).unwrap();
    let v = tls::judge(&[cert], "rsa-kx.test", UnixTime::now(), &store, &NoAia).await;
    assert_eq!(
        v.findings.iter().map(|f| f.code).collect::<Vec<_>>(),
        vec![Code::CertSelfSigned]
    );
}

struct NoAia;

impl tls::AiaFetch for NoAia {
    async fn fetch(&self, _url: &str) -> Option<Vec<u8>> {
        None
    }
}

#[tokio::test]
async fn a_rustls_server_refuses_tls11_and_accepts_tls12() {
    let root = Ca::root("Rustls Root");
    let inter = root.intermediate("Rustls Intermediate", None);
    let (leaf, key) = inter.leaf_with_key(Leaf::for_host("modern.test"));
    let server = rustls_server(vec![leaf.clone(), inter.der.clone()], &key).await;

    let outcome = probe(server.addr, "modern.test", Version::Tls11, TIMEOUT).await;
    assert!(
        matches!(&outcome, ProbeOutcome::Rejected(why) if why.contains("protocol_version")),
        "{outcome:?}"
    );
    let outcome = probe(server.addr, "modern.test", Version::Tls10, TIMEOUT).await;
    assert!(matches!(outcome, ProbeOutcome::Rejected(_)), "{outcome:?}");

    let outcome = probe(server.addr, "modern.test", Version::Tls12, TIMEOUT).await;
    let ProbeOutcome::Accepted {
        version,
        cipher,
        certificates,
        ..
    } = outcome
    else {
        panic!("TLS 1.2 not accepted: {outcome:?}");
    };
    assert_eq!(version, Version::Tls12);
    assert!(
        [0xc02b, 0xc02c, 0xcca9].contains(&cipher),
        "an ECDHE-ECDSA AEAD suite: {cipher:#x}"
    );
    assert_eq!(certificates, vec![leaf.clone(), inter.der.clone()]);

    // The scanning client completes the handshake whatever the chain, and sees it.
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(tls::scanning_client_config());
    let tls_stream = connector
        .connect(ServerName::try_from("modern.test").unwrap(), tcp)
        .await
        .expect("handshake with an untrusted chain completes");
    let (_, conn) = tls_stream.get_ref();
    assert_eq!(
        conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(
        conn.peer_certificates().unwrap(),
        &[leaf, inter.der.clone()]
    );
    assert!(Arc::ptr_eq(
        &tls::scanning_client_config(),
        &tls::scanning_client_config()
    ));
}

#[tokio::test]
async fn a_certificate_message_over_several_records_is_reassembled_within_the_cap() {
    let root = Ca::root("Big Root");
    let inter = root.intermediate("Big Intermediate", None);
    let (leaf, key) = inter.leaf_with_key(Leaf::for_host("big.test"));
    // About 20 KiB of chain: more than one 16 KiB record.
    let chain: Vec<_> = std::iter::once(leaf.clone())
        .chain(std::iter::repeat_n(inter.der.clone(), 40))
        .collect();
    let server = rustls_server(chain.clone(), &key).await;
    let outcome = probe(server.addr, "big.test", Version::Tls12, TIMEOUT).await;
    let ProbeOutcome::Accepted { certificates, .. } = outcome else {
        panic!("not accepted: {outcome:?}");
    };
    assert_eq!(certificates, chain);

    // Past the 128 KiB cap the probe stops reading and says so.
    let huge: Vec<_> = std::iter::once(leaf)
        .chain(std::iter::repeat_n(inter.der.clone(), 400))
        .collect();
    let server = rustls_server(huge, &key).await;
    let outcome = probe(server.addr, "big.test", Version::Tls12, TIMEOUT).await;
    assert!(matches!(outcome, ProbeOutcome::NoAnswer(_)), "{outcome:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_no_answer() {
    let holder = Servers::default();
    let (addr, _) = holder.silent("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let outcome = probe(
        addr,
        "silent.test",
        Version::Tls12,
        Duration::from_millis(300),
    )
    .await;
    assert!(
        matches!(&outcome, ProbeOutcome::NoAnswer(why) if why.contains("no answer within")),
        "{outcome:?}"
    );
    drop(holder);

    // Nothing listening at all: also no answer, not a rejection.
    let closed = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let outcome = probe(closed, "closed.test", Version::Tls12, TIMEOUT).await;
    assert!(matches!(outcome, ProbeOutcome::NoAnswer(_)), "{outcome:?}");
}

/// One hello offering "TLS 1.0 up to 1.1" finds either legacy version: the server picks the
/// highest it speaks. A TLS 1.0-only server answers 1.0; a 1.1-only one answers 1.1; a
/// modern server refuses.
#[tokio::test]
async fn one_hello_up_to_tls11_finds_either_legacy_version() {
    use engine::legacy::probe_up_to;
    let dir = tempfile::tempdir().unwrap();
    let root = Ca::root("Range Root");
    let (leaf, key) = root.leaf_with_key(Leaf::for_host("range.test"));
    write(dir.path(), "c.pem", &farm::pem_encode("CERTIFICATE", &leaf));
    write(dir.path(), "k.pem", &key.serialize_pem());
    for (flag, want) in [("-tls1", Version::Tls10), ("-tls1_1", Version::Tls11)] {
        let server = SServer::start(
            dir.path(),
            &[
                "-cert",
                "c.pem",
                "-key",
                "k.pem",
                flag,
                "-cipher",
                "DEFAULT:@SECLEVEL=0",
            ],
        )
        .await;
        let outcome = probe_up_to(server.addr, "range.test", Version::Tls11, TIMEOUT).await;
        assert!(
            matches!(&outcome, ProbeOutcome::Accepted { version, .. } if *version == want),
            "{flag}: {outcome:?}"
        );
        // The exact probe of the other version is refused: the range found what exists.
        let other = if want == Version::Tls10 {
            Version::Tls11
        } else {
            Version::Tls10
        };
        let outcome = probe(server.addr, "range.test", other, TIMEOUT).await;
        assert!(
            !matches!(outcome, ProbeOutcome::Accepted { .. }),
            "{flag}: {outcome:?}"
        );
    }
    let modern = rustls_server(vec![leaf], &key).await;
    let outcome = probe_up_to(modern.addr, "range.test", Version::Tls11, TIMEOUT).await;
    assert!(
        !matches!(outcome, ProbeOutcome::Accepted { .. }),
        "{outcome:?}"
    );
}

/// A self-signed RSA certificate of `bits` for `host` in `dir` (`c.pem`, `k.pem`).
fn self_signed_rsa(dir: &Path, host: &str, bits: u32) -> CertificateDer<'static> {
    let key = format!("rsa:{bits}");
    let subject = format!("/CN={host}");
    let san = format!("subjectAltName=DNS:{host}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", &key, "-nodes", "-keyout", "k.pem", "-out", "c.pem",
            "-days", "90", "-subj", &subject, "-addext", &san,
        ],
    );
    certs::read_pem_cert(&dir.join("c.pem"))
}

#[tokio::test]
async fn chromes_offer_gets_the_cbc_suite_chrome_gets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    self_signed_rsa(d, "cbc.test", 2048);
    let cert_args = ["-cert", "c.pem", "-key", "k.pem", "-tls1_2", "-serverpref"];
    // Prefers ECDHE-RSA-AES256-SHA384 (which Chrome does not offer), also speaks
    // ECDHE-RSA-AES256-SHA.
    let both = SServer::start(
        d,
        &[
            &cert_args[..],
            &["-cipher", "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA"],
        ]
        .concat(),
    )
    .await;
    let chosen = |o: ProbeOutcome| match o {
        ProbeOutcome::Accepted { cipher, .. } => Some(cipher),
        _ => None,
    };
    let chrome = probe_offer(
        both.addr,
        "cbc.test",
        Version::Tls12,
        Offer::CHROME,
        TIMEOUT,
    )
    .await;
    assert_eq!(
        chosen(chrome),
        Some(0xc014),
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
    );
    let broad = probe(both.addr, "cbc.test", Version::Tls12, TIMEOUT).await;
    assert_eq!(
        chosen(broad),
        Some(0xc028),
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"
    );

    // Only ECDHE-RSA-AES256-SHA384: Chrome's offer is refused (as Chrome is), the broad
    // one tells what the server speaks.
    let only = SServer::start(
        d,
        &[&cert_args[..], &["-cipher", "ECDHE-RSA-AES256-SHA384"]].concat(),
    )
    .await;
    let chrome = probe_offer(
        only.addr,
        "cbc.test",
        Version::Tls12,
        Offer::CHROME,
        TIMEOUT,
    )
    .await;
    assert!(
        matches!(&chrome, ProbeOutcome::Rejected(why) if why.contains("handshake_failure")),
        "{chrome:?}"
    );
    let broad = probe(only.addr, "cbc.test", Version::Tls12, TIMEOUT).await;
    assert_eq!(chosen(broad), Some(0xc028));
}

#[tokio::test]
async fn an_rsa_1024_server_accepts_chromes_offer_and_its_key_is_the_finding() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cert = self_signed_rsa(d, "rsa1024.test", 1024);
    let server = SServer::start(
        d,
        &[
            "-cert",
            "c.pem",
            "-key",
            "k.pem",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
    )
    .await;
    // rustls refuses the handshake signature of a 1024-bit key...
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let connector = tokio_rustls::TlsConnector::from(tls::scanning_client_config());
    let name = ServerName::try_from("rsa1024.test").unwrap();
    assert!(connector.connect(name, tcp).await.is_err());
    // ...though the server takes Chrome's offer with a suite rustls speaks: the suite is not
    // the problem, the key is, and the chain judgement says so.
    let outcome = probe_offer(
        server.addr,
        "rsa1024.test",
        Version::Tls12,
        Offer::CHROME,
        TIMEOUT,
    )
    .await;
    let ProbeOutcome::Accepted {
        cipher,
        certificates,
        ..
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(cipher, 0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(certificates, vec![cert.clone()]);
    let store = TrustStore::new(&[]).unwrap();
    let v = tls::judge(
        &certificates,
        "rsa1024.test",
        UnixTime::now(),
        &store,
        &NoAia,
    )
    .await;
    let weak = v.findings.iter().find(|f| f.code == Code::CertWeakKey);
    assert!(
        weak.is_some_and(|f| f.detail.contains("1024-bit RSA key")),
        "{:?}",
        v.findings
    );
}
