//! The farm against real clients: a DNS query over UDP and TCP, TLS handshakes whose
//! served chains are inspected and verified against the farm's root, raw HTTP requests,
//! and `openssl s_client` for the sites rustls cannot speak to.
//!
//! Each test uses its own address range so they can run at once on ports 80/443.

use farm::{Farm, FarmSite};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use x509_parser::prelude::*;

// ---------------------------------------------------------------- DNS

async fn dns_query(server: SocketAddr, name: &str, tcp: bool) -> (ResponseCode, Vec<Ipv4Addr>) {
    let mut msg = Message::new();
    msg.set_id(4242)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(Name::from_str(name).unwrap(), RecordType::A));
    let wire = msg.to_vec().unwrap();
    let answer = if tcp {
        let mut s = TcpStream::connect(server).await.unwrap();
        s.write_all(&(wire.len() as u16).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&wire).await.unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf).await.unwrap();
        buf
    } else {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.send_to(&wire, server).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), s.recv(&mut buf))
            .await
            .expect("DNS answer")
            .unwrap();
        buf.truncate(n);
        buf
    };
    let resp = Message::from_vec(&answer).unwrap();
    assert_eq!(resp.id(), 4242);
    let ips = resp
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    (resp.response_code(), ips)
}

// ---------------------------------------------------------------- TLS

/// Accepts any chain: the tests inspect what was served.
#[derive(Debug)]
struct AcceptAnything(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn permissive_connector() -> tokio_rustls::TlsConnector {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnything(provider())))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls_connect(
    addr: SocketAddr,
    sni: &str,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, std::io::Error> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(sni.to_owned()).unwrap();
    permissive_connector().connect(name, tcp).await
}

async fn served_chain(addr: SocketAddr, sni: &str) -> Vec<CertificateDer<'static>> {
    let tls = tls_connect(addr, sni).await.expect("handshake");
    tls.get_ref().1.peer_certificates().unwrap().to_vec()
}

/// Verify a chain as a client trusting only the farm's root would.
fn verify(
    farm: &Farm,
    chain: &[CertificateDer<'static>],
    host: &str,
) -> Result<(), CertificateError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(farm.root_der().clone()).unwrap();
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let name = ServerName::try_from(host.to_owned()).unwrap();
    match verifier.verify_server_cert(&chain[0], &chain[1..], &name, &[], UnixTime::now()) {
        Ok(_) => Ok(()),
        Err(rustls::Error::InvalidCertificate(e)) => Err(e),
        Err(other) => panic!("{host}: unexpected verifier error {other}"),
    }
}

fn is_name_error(e: &CertificateError) -> bool {
    matches!(
        e,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
    )
}

// ---------------------------------------------------------------- HTTP

struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Http {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn http_exchange<S>(mut s: S, host: &str, path: &str) -> Http
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // A TLS peer may close without close_notify after the response; keep what was read.
    let _ = s.read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Http {
        status,
        headers,
        body: body.to_owned(),
    }
}

async fn http_get(addr: SocketAddr, host: &str, path: &str) -> Http {
    http_exchange(TcpStream::connect(addr).await.unwrap(), host, path).await
}

async fn https_get(addr: SocketAddr, host: &str, path: &str) -> Http {
    http_exchange(tls_connect(addr, host).await.unwrap(), host, path).await
}

fn site<'a>(farm: &'a Farm, host: &str) -> &'a FarmSite {
    farm.site(host)
        .unwrap_or_else(|| panic!("{host} is not in the farm"))
}

fn at(farm: &Farm, host: &str, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(site(farm, host).address.unwrap()), port)
}

/// `openssl s_client` with these protocol/cipher flags; the negotiated protocol, if any.
async fn openssl_client(addr: SocketAddr, host: &str, flags: &[&str]) -> Option<String> {
    let out = tokio::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            host,
        ])
        .args(flags)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("openssl s_client runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Protocol  : "))
        .map(str::to_owned)
        .filter(|_| text.contains("Cipher is") && !text.contains("Cipher is (NONE)"))
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_serves_every_behaviour_it_promises() {
    let farm = Farm::catalog()
        .first_address(Ipv4Addr::new(127, 78, 0, 1))
        .start()
        .await
        .expect("farm starts");
    let dns = farm.dns_addr();

    // DNS: every listed site resolves to its address over UDP and TCP, except the
    // NXDOMAIN one; the AIA host resolves too.
    for s in farm.sites() {
        let fqdn = format!("{}.", s.host);
        let (code, ips) = dns_query(dns, &fqdn, false).await;
        match s.address {
            Some(a) => {
                assert_eq!(code, ResponseCode::NoError, "{}", s.host);
                assert_eq!(ips, vec![a], "{}", s.host);
            }
            None if s.host.ends_with(".gov.test") => {
                assert_eq!(code, ResponseCode::NXDomain, "{}", s.host);
                assert!(ips.is_empty());
            }
            None => {
                assert_eq!(code, ResponseCode::Refused, "{}", s.host);
                assert!(ips.is_empty());
            }
        }
    }
    let (code, ips) = dns_query(dns, "valid.gov.test.", true).await;
    assert_eq!(
        (code, ips),
        (
            ResponseCode::NoError,
            vec![site(&farm, "valid.gov.test").address.unwrap()]
        )
    );
    let (code, _) = dns_query(dns, "nxdomain.gov.test.", true).await;
    assert_eq!(code, ResponseCode::NXDomain);
    let (code, _) = dns_query(dns, "lame.unserved.test.", false).await;
    assert_eq!(
        code,
        ResponseCode::Refused,
        "a zone the farm does not serve"
    );
    let (code, aia) = dns_query(dns, "aia.gov.test.", false).await;
    assert_eq!(code, ResponseCode::NoError);
    assert_eq!(aia.len(), 1);

    // Shared hosting: sites of a group share an address; openssl sites have their own.
    assert_eq!(
        site(&farm, "valid.gov.test").address,
        site(&farm, "hsts-short.gov.test").address
    );
    assert_eq!(
        site(&farm, "expired.gov.test").address,
        site(&farm, "wrong-host.gov.test").address
    );
    let legacy = site(&farm, "legacy-only.gov.test").address;
    assert_eq!(
        farm.sites().iter().filter(|s| s.address == legacy).count(),
        1
    );

    // Certificates, verified as a client trusting only the farm root would.
    let tls = |h: &str| at(&farm, h, 443);
    let chain = served_chain(tls("valid.gov.test"), "valid.gov.test").await;
    assert_eq!(chain.len(), 2, "leaf and intermediate");
    assert_eq!(verify(&farm, &chain, "valid.gov.test"), Ok(()));
    let chain = served_chain(tls("a.wild.gov.test"), "a.wild.gov.test").await;
    assert_eq!(verify(&farm, &chain, "a.wild.gov.test"), Ok(()));
    for host in [
        "wrong-host.gov.test",
        "cn-only.gov.test",
        "a.b.wild.gov.test",
    ] {
        let chain = served_chain(tls(host), host).await;
        let err = verify(&farm, &chain, host).expect_err(host);
        assert!(is_name_error(&err), "{host}: {err:?}");
    }
    let chain = served_chain(tls("cn-only.gov.test"), "cn-only.gov.test").await;
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    assert!(leaf.subject_alternative_name().unwrap().is_none(), "no SAN");
    assert_eq!(
        leaf.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "cn-only.gov.test"
    );
    let chain = served_chain(tls("expired.gov.test"), "expired.gov.test").await;
    let err = verify(&farm, &chain, "expired.gov.test").unwrap_err();
    assert!(
        matches!(
            err,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{err:?}"
    );
    let chain = served_chain(tls("not-yet-valid.gov.test"), "not-yet-valid.gov.test").await;
    let err = verify(&farm, &chain, "not-yet-valid.gov.test").unwrap_err();
    assert!(
        matches!(
            err,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }
        ),
        "{err:?}"
    );

    let chain = served_chain(tls("self-signed.gov.test"), "self-signed.gov.test").await;
    assert_eq!(chain.len(), 1);
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    assert_eq!(leaf.subject(), leaf.issuer(), "self-signed");
    assert_eq!(
        verify(&farm, &chain, "self-signed.gov.test"),
        Err(CertificateError::UnknownIssuer)
    );

    let chain = served_chain(tls("untrusted-root.gov.test"), "untrusted-root.gov.test").await;
    assert_eq!(chain.len(), 2, "leaf and the rogue root");
    assert_eq!(
        verify(&farm, &chain, "untrusted-root.gov.test"),
        Err(CertificateError::UnknownIssuer)
    );

    // Incomplete chain: the leaf alone; with AIA the intermediate is fetchable and completes it.
    let chain = served_chain(tls("incomplete-aia.gov.test"), "incomplete-aia.gov.test").await;
    assert_eq!(chain.len(), 1);
    assert_eq!(
        verify(&farm, &chain, "incomplete-aia.gov.test"),
        Err(CertificateError::UnknownIssuer)
    );
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    let url =
        leaf.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityInfoAccess(aia) => aia.accessdescs.iter().find_map(|d| {
                    match (&d.access_location, d.access_method.to_id_string().as_str()) {
                        (GeneralName::URI(u), "1.3.6.1.5.5.7.48.2") => Some(u.to_string()),
                        _ => None,
                    }
                }),
                _ => None,
            })
            .expect("an AIA caIssuers URL");
    let url = url.strip_prefix("http://").unwrap();
    let (aia_host, aia_path) = url.split_once('/').unwrap();
    assert_eq!(aia_host, "aia.gov.test");
    let fetched = http_get(
        SocketAddr::new(IpAddr::V4(aia[0]), 80),
        aia_host,
        &format!("/{aia_path}"),
    )
    .await;
    assert_eq!(fetched.status, 200);
    let mut raw = Vec::new();
    {
        // The body is DER: fetch it again as bytes.
        let mut s = TcpStream::connect(SocketAddr::new(IpAddr::V4(aia[0]), 80))
            .await
            .unwrap();
        s.write_all(
            format!("GET /{aia_path} HTTP/1.1\r\nHost: {aia_host}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        s.read_to_end(&mut raw).await.unwrap();
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut completed = chain.clone();
    completed.push(CertificateDer::from(raw[split..].to_vec()));
    assert_eq!(verify(&farm, &completed, "incomplete-aia.gov.test"), Ok(()));

    let chain = served_chain(
        tls("incomplete-no-aia.gov.test"),
        "incomplete-no-aia.gov.test",
    )
    .await;
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    assert_eq!(chain.len(), 1);
    assert!(leaf.extensions().iter().all(|e| !matches!(
        e.parsed_extension(),
        ParsedExtension::AuthorityInfoAccess(_)
    )));

    let chain = served_chain(tls("expiring-soon.gov.test"), "expiring-soon.gov.test").await;
    assert_eq!(verify(&farm, &chain, "expiring-soon.gov.test"), Ok(()));
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    let left = leaf.validity().time_to_expiration().expect("not expired");
    assert!(
        left < ::time::Duration::days(30) && left > ::time::Duration::days(5),
        "{left}"
    );

    let chain = served_chain(tls("weak-signature.gov.test"), "weak-signature.gov.test").await;
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    assert_eq!(
        leaf.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.10045.4.1",
        "ecdsa-with-SHA1"
    );
    assert!(leaf.subject_alternative_name().unwrap().is_some());

    let chain = served_chain(tls("weak-key.gov.test"), "weak-key.gov.test").await;
    assert_eq!(chain.len(), 2);
    let (_, inter) = X509Certificate::from_der(&chain[1]).unwrap();
    match inter.public_key().parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => assert_eq!(rsa.key_size(), 1024),
        other => panic!("weak-key intermediate key: {other:?}"),
    }
    // The RSA-1024 intermediate is issued by the farm root: only the key is weak.
    let (_, leaf) = X509Certificate::from_der(&chain[0]).unwrap();
    assert_eq!(leaf.issuer(), inter.subject());

    // HTTP behaviours.
    let http = |h: &str| at(&farm, h, 80);
    let r = http_get(http("valid.gov.test"), "valid.gov.test", "/").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("https://valid.gov.test/"));
    let r = https_get(tls("valid.gov.test"), "valid.gov.test", "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    let r = https_get(tls("hsts-short.gov.test"), "hsts-short.gov.test", "/").await;
    assert_eq!(r.header("strict-transport-security"), Some("max-age=86400"));
    let r = https_get(tls("hsts-missing.gov.test"), "hsts-missing.gov.test", "/").await;
    assert_eq!(
        (r.status, r.header("strict-transport-security")),
        (200, None)
    );
    let r = http_get(http("no-redirect.gov.test"), "no-redirect.gov.test", "/").await;
    assert_eq!((r.status, r.header("location")), (200, None));
    let r = http_get(
        http("redirect-chain.gov.test"),
        "redirect-chain.gov.test",
        "/step2",
    )
    .await;
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some("https://redirect-chain.gov.test/"))
    );
    let r = http_get(
        http("redirect-loop.gov.test"),
        "redirect-loop.gov.test",
        "/a",
    )
    .await;
    assert_eq!(r.header("location"), Some("http://redirect-loop.gov.test/"));
    let r = https_get(tls("downgrade.gov.test"), "downgrade.gov.test", "/").await;
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("http://downgrade.gov.test/plain"))
    );
    let r = http_get(http("moved.gov.test"), "moved.gov.test", "/").await;
    assert_eq!(r.header("location"), Some("https://valid.gov.test/"));
    let r = http_get(http("meta-refresh.gov.test"), "meta-refresh.gov.test", "/").await;
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains("http-equiv=\"refresh\" content=\"0; url=https://meta-refresh.gov.test/\"")
    );
    let r = https_get(tls("mixed-active.gov.test"), "mixed-active.gov.test", "/").await;
    assert!(
        r.body
            .contains("<script src=\"http://mixed-active.gov.test/app.js\">")
    );
    let r = https_get(
        tls("mixed-passive.gov.test"),
        "mixed-passive.gov.test",
        "/logo.png",
    )
    .await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/png"))
    );
    let r = https_get(
        tls("mixed-passive-missing.gov.test"),
        "mixed-passive-missing.gov.test",
        "/missing.png",
    )
    .await;
    assert_eq!(r.status, 404);
    // A host the shared address does not serve.
    let r = http_get(http("valid.gov.test"), "unknown.gov.test", "/").await;
    assert_eq!(r.status, 421);

    // Closed ports.
    assert!(
        TcpStream::connect(http("https-only.gov.test"))
            .await
            .is_err()
    );
    assert!(TcpStream::connect(tls("http-only.gov.test")).await.is_err());
    let r = http_get(http("http-only.gov.test"), "http-only.gov.test", "/").await;
    assert_eq!(r.status, 200);

    // Plain HTTP on 443: a TLS client fails, a plain request gets a page.
    assert!(
        tls_connect(tls("not-tls.gov.test"), "not-tls.gov.test")
            .await
            .is_err()
    );
    let r = http_get(tls("not-tls.gov.test"), "not-tls.gov.test", "/").await;
    assert_eq!(r.status, 200);

    // The silent site accepts TCP and never answers a ClientHello.
    let res = tokio::time::timeout(
        Duration::from_secs(2),
        tls_connect(tls("silent.gov.test"), "silent.gov.test"),
    )
    .await;
    assert!(res.is_err(), "the handshake must not finish");

    // openssl s_server sites: what rustls can and cannot do, and what openssl can.
    let legacy = tls("legacy-only.gov.test");
    assert!(
        tls_connect(legacy, "legacy-only.gov.test").await.is_err(),
        "rustls cannot speak TLS 1.1"
    );
    assert_eq!(
        openssl_client(
            legacy,
            "legacy-only.gov.test",
            &["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]
        )
        .await
        .as_deref(),
        Some("TLSv1.1")
    );
    let both = tls("legacy-supported.gov.test");
    assert_eq!(
        openssl_client(
            both,
            "legacy-supported.gov.test",
            &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]
        )
        .await
        .as_deref(),
        Some("TLSv1")
    );
    let r = https_get(both, "legacy-supported.gov.test", "/").await;
    assert_eq!(r.status, 200, "TLS 1.2 by rustls works and -www answers");
    let chain = served_chain(both, "legacy-supported.gov.test").await;
    assert_eq!(verify(&farm, &chain, "legacy-supported.gov.test"), Ok(()));
    let cbc = tls("tls12-rsa-cbc.gov.test");
    assert!(
        tls_connect(cbc, "tls12-rsa-cbc.gov.test").await.is_err(),
        "rustls lacks AES128-SHA"
    );
    assert_eq!(
        site(&farm, "tls12-rsa-cbc.gov.test").url,
        "https://tls12-rsa-cbc.gov.test/index.html"
    );
    let page = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | openssl s_client -quiet -connect {cbc} -servername tls12-rsa-cbc.gov.test -tls1_2 -cipher 'AES128-SHA:@SECLEVEL=0' 2>/dev/null"
        ))
        .output()
        .await
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.starts_with("HTTP/1.0 200 OK\r\n"), "{page}");
    assert!(
        page.contains("Strict-Transport-Security: max-age=31536000"),
        "{page}"
    );
    assert_eq!(
        openssl_client(
            cbc,
            "tls12-rsa-cbc.gov.test",
            &["-tls1_2", "-cipher", "AES128-SHA:@SECLEVEL=0"]
        )
        .await
        .as_deref(),
        Some("TLSv1.2")
    );

    assert!(
        farm.connections_accepted() > 20,
        "the farm counts what it served"
    );

    // Shutdown stops the listeners.
    let valid = tls("valid.gov.test");
    farm.shutdown().await;
    assert!(TcpStream::connect(valid).await.is_err());
    assert!(
        TcpStream::connect(legacy).await.is_err(),
        "openssl child killed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_writes_a_site_list_with_an_agency_tree() {
    let dir = tempfile::tempdir().unwrap();
    let farm = Farm::catalog()
        .retain(|h, _| {
            h.starts_with("valid.") || h.starts_with("nxdomain.") || h.starts_with("expired.")
        })
        .first_address(Ipv4Addr::new(127, 79, 0, 1))
        .dir(dir.path())
        .start()
        .await
        .unwrap();
    let csv = dir.path().join("sites.csv");
    farm.write_csv(&csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("agency,category,parent,url"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().any(|r| r.ends_with(",https://valid.gov.test/")));
    assert!(rows.iter().any(|r| r.contains("二級機關")));
    assert!(farm.ca_pem_path().starts_with(dir.path()));
    let pem = std::fs::read_to_string(farm.ca_pem_path()).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(pem, farm.root_pem());
    let expected = dir.path().join("expected.jsonl");
    farm.write_expectations(&expected).unwrap();
    let text = std::fs::read_to_string(&expected).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(
        text.lines()
            .any(|l| l.contains(r#""host":"expired.gov.test""#)
                && l.contains(r#""codes":["cert_expired"]"#)
                && l.contains(r#""https_ok":false"#)),
        "{text}"
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_packs_sites_onto_shared_addresses_with_shared_certificates() {
    let mix = farm::Mix {
        per_address: 25,
        page_bytes: 5_000,
        ..farm::Mix::national()
    };
    let farm = Farm::builder()
        .fleet(300, &mix)
        .first_address(Ipv4Addr::new(127, 80, 0, 1))
        .ports(8080, 8443)
        .start()
        .await
        .unwrap();
    assert_eq!(farm.sites().len(), 300);
    let addresses: std::collections::HashSet<_> =
        farm.sites().iter().filter_map(|s| s.address).collect();
    assert!(
        addresses.len() <= 300 / 25 + 4,
        "{} addresses",
        addresses.len()
    );
    let healthy: Vec<&FarmSite> = farm
        .sites()
        .iter()
        .filter(|s| s.description == "healthy")
        .collect();
    assert!(healthy.len() > 200);
    let (a, b) = (
        healthy[0],
        healthy
            .iter()
            .find(|s| s.address == healthy[0].address && s.host != healthy[0].host)
            .unwrap(),
    );
    let port = |s: &FarmSite, p| SocketAddr::new(IpAddr::V4(s.address.unwrap()), p);
    let ca = served_chain(port(a, 8443), &a.host).await;
    let cb = served_chain(port(b, 8443), &b.host).await;
    assert_eq!(
        ca[0], cb[0],
        "one certificate for the healthy sites of an address"
    );
    assert_eq!(verify(&farm, &ca, &b.host), Ok(()));
    let r = https_get(port(a, 8443), &a.host, "/").await;
    assert_eq!(r.status, 200);
    assert!(r.body.len() >= 5_000);
    let r = http_get(port(b, 8080), &b.host, "/").await;
    assert_eq!(
        r.header("location"),
        Some(format!("https://{}/", b.host).as_str())
    );
    let (code, ips) = dns_query(farm.dns_addr(), &format!("{}.", b.host), false).await;
    assert_eq!(
        (code, ips),
        (ResponseCode::NoError, vec![b.address.unwrap()])
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_limit_below_the_listener_count_still_serves_every_address() {
    // Regression: listeners used to take a permit before accepting, so with fewer permits
    // than listeners some addresses never answered.
    let farm = Farm::builder()
        .site("one.gov.test", farm::SiteSpec::healthy())
        .site("two.gov.test", farm::SiteSpec::healthy())
        .site("three.gov.test", farm::SiteSpec::healthy())
        .max_connections(1)
        .first_address(Ipv4Addr::new(127, 81, 0, 1))
        .start()
        .await
        .unwrap();
    for s in farm.sites() {
        let addr = SocketAddr::new(IpAddr::V4(s.address.unwrap()), 80);
        let r = tokio::time::timeout(Duration::from_secs(20), http_get(addr, &s.host, "/"))
            .await
            .unwrap_or_else(|_| panic!("{} never answered", s.host));
        assert_eq!(r.status, 301, "{}", s.host);
    }
    farm.shutdown().await;
}

/// A fleet bigger than one zone may hold is split into a zone per host (hickory's in-memory
/// authority is linear in its records): every name still resolves, over UDP and TCP, and a
/// name the farm does not serve is still NXDOMAIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fleet_still_answers_every_name_and_nxdomain() {
    let farm = Farm::builder()
        .fleet(1500, &farm::Mix::national())
        .first_address(Ipv4Addr::new(127, 112, 0, 1))
        .ports(18080, 18443)
        .start()
        .await
        .expect("the farm starts");
    let dns = farm.dns_addr();
    for site in farm.sites().iter().step_by(97) {
        let (code, addrs) = dns_query(dns, &site.host, false).await;
        assert_eq!(code, ResponseCode::NoError, "{}", site.host);
        assert_eq!(Some(addrs[0]), site.address, "{}", site.host);
    }
    let last = &farm.sites()[farm.sites().len() - 1];
    assert_eq!(
        dns_query(dns, &last.host, true).await.1.first().copied(),
        last.address
    );
    let missing = format!("www.{}", farm.sites()[0].host);
    assert_eq!(
        dns_query(dns, &missing, false).await.0,
        ResponseCode::NXDomain
    );
    let parent_missing = last.host.replacen(|c: char| c.is_ascii_digit(), "9", 3);
    if farm.site(&parent_missing).is_none() {
        assert_eq!(
            dns_query(dns, &parent_missing, false).await.0,
            ResponseCode::NXDomain
        );
    }
    farm.shutdown().await;
}
