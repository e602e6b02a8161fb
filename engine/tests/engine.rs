//! `Engine::scan` against real servers on loopback, all the farm's: its DNS responder, which
//! the engine asks through `Config::dns_server`, its plain HTTP and HTTPS servers, and
//! certificates from `farm::certs`, each site on its own 127.77.N.x address, on ports the
//! lab chooses.
//!
//! The engine's own focused cases; the full farm of behaviours lives in `tests/farm`.

use engine::{Config, Engine, Limits};
use farm::certs::{Ca, DAY, Leaf};
use farm::{Dns, Reply, Routes, Servers};
use hickory_resolver::proto::op::{Message, MessageType};
use hickory_resolver::proto::rr::rdata::A;
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use model::{Code, HopKind, Site, SiteResult};
use rcgen::KeyPair;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};
use tokio::net::UdpSocket;

/// What a site's port answers, by path.
type Handler = Routes;

fn redirect(status: u16, to: &str) -> Handler {
    Routes::always(Reply {
        status,
        headers: vec![("Location".into(), to.to_owned())],
        body: Default::default(),
    })
}

fn page(body: &str, headers: &[(&'static str, &str)]) -> Handler {
    bytes(body.as_bytes(), headers)
}

fn bytes(body: &[u8], headers: &[(&'static str, &str)]) -> Handler {
    Routes::always(Reply {
        status: 200,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_vec().into(),
    })
}

/// Each path its handler's reply; 404 elsewhere.
fn routes(table: &[(&str, Handler)]) -> Handler {
    table
        .iter()
        .fold(Routes::always(Reply::not_found()), |routes, (path, h)| {
            routes.at(path, h.reply(path).clone())
        })
}

const HSTS_YEAR: (&str, &str) = ("Strict-Transport-Security", "max-age=31536000");
const HTML: (&str, &str) = ("Content-Type", "text/html; charset=utf-8");

/// How a site's https port behaves.
enum Https {
    /// A certificate for these names, signed by the lab CA, and a handler.
    Serve(Vec<&'static str>, Handler),
    /// A ready certificate (its own chain) and a handler.
    Config(Arc<CertifiedKey>, Handler),
    /// Accept TCP and never answer the handshake.
    Stall,
}

/// A lab: DNS, a CA, and sites on 127.77.N.x sharing one http and one https port.
struct Lab {
    net: u8,
    next: u8,
    dns: Dns,
    ca: Ca,
    http_port: u16,
    https_port: u16,
    /// Every server of the lab: counts the TCP connections accepted and the TLS handshakes
    /// completed.
    servers: Servers,
}

impl Lab {
    async fn new(net: u8) -> Lab {
        let dns = Dns::start(
            SocketAddr::from((Ipv4Addr::new(127, 77, net, 1), 0)),
            &["gov.test"],
            &[],
        )
        .await
        .unwrap();

        let ca = Ca::root(&format!("Engine Test Root {net}"));

        // The lab's ports: free on the lab's first address, so free on the others of its /24.
        let probe_http = std::net::TcpListener::bind((Ipv4Addr::new(127, 77, net, 1), 0)).unwrap();
        let probe_https = std::net::TcpListener::bind((Ipv4Addr::new(127, 77, net, 1), 0)).unwrap();
        let http_port = probe_http.local_addr().unwrap().port();
        let https_port = probe_https.local_addr().unwrap().port();
        drop((probe_http, probe_https));
        Lab {
            net,
            next: 10,
            dns,
            ca,
            http_port,
            https_port,
            servers: Servers::default(),
        }
    }

    fn config(&self) -> Config {
        Config {
            dns_server: Some(self.dns.addr()),
            extra_roots: vec![self.ca.der.clone()],
            allow_private_targets: true,
            http_port: self.http_port,
            https_port: self.https_port,
            probe_legacy: true,
            check_https_copies: true,
            limits: Limits {
                connect_timeout: Duration::from_secs(2),
                tls_timeout: Duration::from_secs(1),
                response_timeout: Duration::from_secs(3),
                dns_timeout: Duration::from_secs(2),
                site_timeout: Duration::from_secs(20),
                ..Limits::default()
            },
            ..Config::default()
        }
    }

    fn engine(&self) -> Engine {
        Engine::new(self.config()).unwrap()
    }

    /// Put `host` on the next address with the given servers.
    async fn site(&mut self, host: &str, http: Option<Handler>, https: Option<Https>) -> Ipv4Addr {
        let ip = Ipv4Addr::new(127, 77, self.net, self.next);
        self.next += 1;
        self.dns.add(host, ip).await.unwrap();
        if let Some(handler) = http {
            self.servers
                .http((ip, self.http_port).into(), handler)
                .await
                .unwrap();
        }
        let https_addr = SocketAddr::from((ip, self.https_port));
        match https {
            None => {}
            Some(Https::Serve(names, handler)) => {
                let (leaf, key) = self.ca.leaf_with_key(leaf_for(&names));
                let cert = certified(leaf, key);
                self.servers.https(https_addr, cert, handler).await.unwrap();
            }
            Some(Https::Config(cert, handler)) => {
                self.servers.https(https_addr, cert, handler).await.unwrap();
            }
            Some(Https::Stall) => {
                self.stall(ip, self.https_port).await;
            }
        }
        ip
    }

    /// Accept TCP on `ip:port` and never answer; count the connections the client closes.
    async fn stall(&self, ip: Ipv4Addr, port: u16) -> Arc<AtomicU64> {
        self.servers.silent((ip, port).into()).await.unwrap().1
    }
}

/// A leaf certificate for `names`, valid from a day ago for 200 days.
fn leaf_for(names: &[&str]) -> Leaf {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut leaf = Leaf::for_host(names[0]).valid(now - DAY, now + 200 * DAY);
    leaf.sans = names.iter().map(|n| n.to_string()).collect();
    leaf
}

/// What a server sends: exactly `leaf`, and its key.
fn certified(leaf: CertificateDer<'static>, key: KeyPair) -> Arc<CertifiedKey> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    farm::certified_key(vec![leaf], key).unwrap()
}

async fn scan(engine: &Engine, host: &str) -> SiteResult {
    let site = Site::parse(host).unwrap();
    engine.scan(&site, SystemTime::now()).await
}

fn codes(r: &SiteResult) -> Vec<Code> {
    r.codes()
}

#[tokio::test]
async fn a_valid_forced_site_is_adopted_with_one_handshake() {
    let mut lab = Lab::new(1).await;
    let ip = lab
        .site(
            "good.gov.test",
            Some(redirect(301, "https://good.gov.test/")),
            Some(Https::Serve(
                vec!["good.gov.test"],
                // The page names its icon, so Chrome asks for no implicit /favicon.ico.
                page(
                    "<html><head><link rel=icon href=/i.png></head><body>ok</body></html>",
                    &[HSTS_YEAR, HTML],
                ),
            )),
        )
        .await;
    let r = scan(&lab.engine(), "good.gov.test").await;
    assert_eq!(codes(&r), vec![], "{:#?}", r.findings);
    assert!(r.https_ok && r.forced_https);
    assert_eq!(r.addresses, vec![ip.to_string()]);
    assert_eq!(r.trust_store, "chrome+ca-file");
    let https = r.https.as_ref().unwrap();
    assert_eq!(https.protocol.as_deref(), Some("TLSv1.3"));
    assert_eq!(https.status, Some(200));
    assert_eq!(https.hsts_max_age, Some(31_536_000));
    assert_eq!(https.chain.len(), 1);
    assert!(https.legacy_protocols.is_empty());
    assert_eq!(r.redirects.len(), 2);
    assert_eq!(r.redirects[0].status, Some(301));
    assert_eq!(r.redirects[0].via, Some(HopKind::Http));
    assert_eq!(r.final_url.as_deref(), Some("https://good.gov.test/"));
    assert!(!r.scanned_at.is_empty());
    // The walk landed on the https endpoint already examined: no second handshake.
    assert_eq!(lab.servers.handshakes(), 1);
    let mixed = r.mixed_content.as_ref().unwrap();
    assert_eq!(
        mixed.active.count + mixed.passive.count + mixed.forms.count,
        0
    );
}

#[tokio::test]
async fn http_only_https_without_redirect_and_nxdomain() {
    let mut lab = Lab::new(2).await;
    lab.site("plain.gov.test", Some(page("<p>hi</p>", &[HTML])), None)
        .await;
    lab.site(
        "noredirect.gov.test",
        Some(page("<p>hi</p>", &[HTML])),
        Some(Https::Serve(
            vec!["noredirect.gov.test"],
            page("<p>hi</p>", &[HTML]),
        )),
    )
    .await;
    let engine = lab.engine();

    let r = scan(&engine, "plain.gov.test").await;
    assert_eq!(
        codes(&r),
        vec![Code::HttpsUnreachable, Code::NoHttpsRedirect],
        "{:#?}",
        r.findings
    );
    assert!(!r.https_ok && !r.forced_https);

    let r = scan(&engine, "noredirect.gov.test").await;
    assert_eq!(
        codes(&r),
        vec![Code::HstsMissing, Code::NoHttpsRedirect],
        "{:#?}",
        r.findings
    );
    assert!(r.https_ok && !r.forced_https);

    let r = scan(&engine, "missing.gov.test").await;
    assert_eq!(codes(&r), vec![Code::DnsNxdomain]);
    assert!(r.https.is_none() && r.redirects.is_empty());
}

#[tokio::test]
async fn downgrades_and_loops_are_not_forced() {
    let mut lab = Lab::new(3).await;
    lab.site(
        "down.gov.test",
        Some(routes(&[
            ("/", redirect(301, "https://down.gov.test/")),
            ("/plain", page("<p>plain</p>", &[HTML])),
        ])),
        Some(Https::Serve(
            vec!["down.gov.test"],
            Routes::always(Reply {
                status: 302,
                headers: vec![
                    ("Location".into(), "http://down.gov.test/plain".into()),
                    (
                        "Strict-Transport-Security".into(),
                        "max-age=31536000".into(),
                    ),
                ],
                body: Default::default(),
            }),
        )),
    )
    .await;
    lab.site(
        "loop.gov.test",
        Some(routes(&[
            ("/", redirect(302, "/a")),
            ("/a", redirect(302, "http://loop.gov.test/")),
        ])),
        Some(Https::Serve(
            vec!["loop.gov.test"],
            page("<p>ok</p>", &[HSTS_YEAR, HTML]),
        )),
    )
    .await;
    lab.site(
        "metadown.gov.test",
        Some(routes(&[
            ("/", redirect(301, "https://metadown.gov.test/")),
            ("/plain", page("<p>plain</p>", &[HTML])),
        ])),
        Some(Https::Serve(
            vec!["metadown.gov.test"],
            page(
                r#"<meta http-equiv="refresh" content="0;URL='http://metadown.gov.test/plain'">"#,
                &[HSTS_YEAR, HTML],
            ),
        )),
    )
    .await;
    let engine = lab.engine();

    // A delay-0 meta refresh back to http is a downgrade too.
    let r = scan(&engine, "metadown.gov.test").await;
    assert_eq!(
        codes(&r),
        vec![Code::RedirectDowngrade],
        "{:#?}",
        r.findings
    );
    assert!(!r.https_ok && !r.forced_https);
    assert_eq!(r.redirects[1].via, Some(HopKind::MetaRefresh));

    let r = scan(&engine, "down.gov.test").await;
    assert!(!r.https_ok && !r.forced_https, "{:#?}", r.findings);
    assert_eq!(
        codes(&r),
        vec![Code::RedirectDowngrade],
        "{:#?}",
        r.findings
    );
    assert_eq!(r.final_url.as_deref(), Some("http://down.gov.test/plain"));

    let r = scan(&engine, "loop.gov.test").await;
    assert_eq!(codes(&r), vec![Code::RedirectLoop], "{:#?}", r.findings);
    assert!(r.https_ok && !r.forced_https);
}

#[tokio::test]
async fn a_redirect_to_another_host_is_judged_on_that_host() {
    let mut lab = Lab::new(4).await;
    for (apex, www_names) in [
        ("apex.gov.test", vec!["www.apex.gov.test"]),
        ("wrong.gov.test", vec!["elsewhere.gov.test"]),
    ] {
        let www = format!("www.{apex}");
        lab.site(
            apex,
            Some(redirect(301, &format!("https://{www}/"))),
            Some(Https::Serve(
                vec![if apex.starts_with("apex") {
                    "apex.gov.test"
                } else {
                    "wrong.gov.test"
                }],
                page("<p>apex</p>", &[HSTS_YEAR, HTML]),
            )),
        )
        .await;
        lab.site(
            &www,
            None,
            Some(Https::Serve(
                www_names,
                page(
                    r#"<img src="http://www.apex.gov.test/a.png">"#,
                    &[HSTS_YEAR, HTML],
                ),
            )),
        )
        .await;
    }
    let engine = lab.engine();

    let r = scan(&engine, "apex.gov.test").await;
    assert!(r.https_ok && r.forced_https, "{:#?}", r.findings);
    assert_eq!(r.final_url.as_deref(), Some("https://www.apex.gov.test/"));
    // The final page is the site's www sibling: its mixed content is the site's.
    assert_eq!(
        codes(&r),
        vec![Code::MixedContentPassive],
        "{:#?}",
        r.findings
    );
    let mixed = r.mixed_content.as_ref().unwrap();
    assert_eq!(mixed.page, "https://www.apex.gov.test/");

    let r = scan(&engine, "wrong.gov.test").await;
    assert!(r.https_ok && !r.forced_https, "{:#?}", r.findings);
    let f = r
        .findings
        .iter()
        .find(|f| f.code == Code::CertHostnameMismatch)
        .expect("the target's mismatch is reported");
    assert!(
        f.detail.contains("https://www.wrong.gov.test/"),
        "{}",
        f.detail
    );
}

#[tokio::test]
async fn meta_refresh_and_mixed_content() {
    let mut lab = Lab::new(5).await;
    lab.site(
        "meta.gov.test",
        Some(page(
            r#"<html><head><meta http-equiv="refresh" content="0; url=https://meta.gov.test/"></head></html>"#,
            &[HTML],
        )),
        Some(Https::Serve(
            vec!["meta.gov.test"],
            routes(&[
                (
                    "/",
                    page(
                        r#"<html><body>
                        <script src="http://meta.gov.test/app.js"></script>
                        <img src="http://meta.gov.test/logo.png">
                        <img src="http://meta.gov.test/gone.png">
                        <form action="http://meta.gov.test/post"></form>
                        </body></html>"#,
                        &[HSTS_YEAR, HTML],
                    ),
                ),
                ("/logo.png", page("png", &[("Content-Type", "image/png")])),
            ]),
        )),
    )
    .await;
    let r = scan(&lab.engine(), "meta.gov.test").await;
    assert!(r.https_ok && r.forced_https, "{:#?}", r.findings);
    assert_eq!(
        codes(&r),
        vec![
            Code::RedirectMetaRefresh,
            Code::MixedContentActive,
            Code::MixedContentPassive,
            Code::InsecureForm
        ],
        "{:#?}",
        r.findings
    );
    assert_eq!(r.redirects[0].via, Some(HopKind::MetaRefresh));
    let mixed = r.mixed_content.as_ref().unwrap();
    let available: HashMap<&str, Option<bool>> = mixed
        .passive
        .samples
        .iter()
        .map(|s| (s.url.as_str(), s.https_available))
        .collect();
    assert_eq!(available["http://meta.gov.test/logo.png"], Some(true));
    assert_eq!(available["http://meta.gov.test/gone.png"], Some(false));
}

#[tokio::test]
async fn private_targets_are_refused_without_a_connection() {
    let mut lab = Lab::new(6).await;
    lab.site(
        "good.gov.test",
        Some(redirect(301, "https://good.gov.test/")),
        Some(Https::Serve(
            vec!["good.gov.test"],
            page("<p>ok</p>", &[HSTS_YEAR, HTML]),
        )),
    )
    .await;
    let mut config = lab.config();
    config.allow_private_targets = false;
    let engine = Engine::new(config).unwrap();
    let r = scan(&engine, "good.gov.test").await;
    assert_eq!(codes(&r), vec![Code::TargetPrivate], "{:#?}", r.findings);
    assert!(
        r.findings[0].detail.contains("loopback"),
        "{}",
        r.findings[0].detail
    );
    assert!(!r.https_ok && !r.forced_https);
    assert_eq!(lab.servers.accepted(), 0);
}

#[tokio::test]
async fn a_handshake_that_never_finishes_is_a_timeout() {
    let mut lab = Lab::new(7).await;
    lab.site(
        "stall.gov.test",
        Some(redirect(301, "https://stall.gov.test/")),
        Some(Https::Stall),
    )
    .await;
    let r = scan(&lab.engine(), "stall.gov.test").await;
    assert_eq!(codes(&r), vec![Code::Timeout], "{:#?}", r.findings);
    assert!(!r.https_ok && !r.forced_https);
}

#[tokio::test]
async fn scan_stream_returns_one_result_per_site() {
    use futures::StreamExt;
    let mut lab = Lab::new(8).await;
    for i in 0..5 {
        let host = format!("s{i}.gov.test");
        lab.site(
            &host,
            Some(redirect(301, &format!("https://{host}/"))),
            Some(Https::Serve(
                vec![Box::leak(host.clone().into_boxed_str())],
                page("<p>ok</p>", &[HSTS_YEAR, HTML]),
            )),
        )
        .await;
    }
    let engine = Arc::new(lab.engine());
    let sites: Vec<Site> = (0..5)
        .map(|i| Site::parse(&format!("s{i}.gov.test")).unwrap())
        .collect();
    let results: Vec<SiteResult> = engine
        .scan_stream(futures::stream::iter(sites), 2)
        .collect()
        .await;
    assert_eq!(results.len(), 5);
    let mut hosts: Vec<&str> = results.iter().map(|r| r.host.as_str()).collect();
    hosts.sort();
    assert_eq!(
        hosts,
        vec![
            "s0.gov.test",
            "s1.gov.test",
            "s2.gov.test",
            "s3.gov.test",
            "s4.gov.test"
        ]
    );
    assert!(
        results.iter().all(|r| r.https_ok && r.forced_https),
        "{results:#?}"
    );
}

#[tokio::test]
async fn an_omitted_intermediate_is_fetched_through_aia_as_a_browser_does() {
    let mut lab = Lab::new(9).await;
    let intermediate = lab.ca.intermediate("Engine Test Intermediate", None);
    let aia_url = "http://aia.gov.test/int.crt";
    let (leaf, key) = intermediate.leaf_with_key(leaf_for(&["partial.gov.test"]).aia(aia_url));
    lab.site(
        "aia.gov.test",
        Some(routes(&[(
            "/int.crt",
            bytes(
                &intermediate.der,
                &[("Content-Type", "application/pkix-cert")],
            ),
        )])),
        None,
    )
    .await;
    lab.site(
        "partial.gov.test",
        Some(redirect(301, "https://partial.gov.test/")),
        Some(Https::Config(
            certified(leaf, key),
            page("<p>ok</p>", &[HSTS_YEAR, HTML]),
        )),
    )
    .await;
    let r = scan(&lab.engine(), "partial.gov.test").await;
    assert_eq!(
        codes(&r),
        vec![Code::CertChainIncomplete],
        "{:#?}",
        r.findings
    );
    assert!(r.https_ok && r.forced_https);
    let https = r.https.as_ref().unwrap();
    assert_eq!(https.chain.len(), 1, "the server sent the leaf only");
    assert_eq!(https.fetched_intermediates.len(), 1);
    assert!(
        https.fetched_intermediates[0]
            .subject
            .contains("Engine Test Intermediate"),
        "{:?}",
        https.fetched_intermediates[0]
    );
}

#[tokio::test]
async fn the_site_timeout_keeps_what_was_seen_before_it() {
    let mut lab = Lab::new(10).await;
    lab.site(
        "slowwalk.gov.test",
        Some(redirect(301, "http://hang.gov.test/")),
        Some(Https::Serve(
            vec!["slowwalk.gov.test"],
            page("<p>ok</p>", &[HSTS_YEAR, HTML]),
        )),
    )
    .await;
    let hang = lab.site("hang.gov.test", None, None).await;
    let _ = lab.stall(hang, lab.http_port).await;
    let mut config = lab.config();
    // Shorter than the response timeout: the site timeout ends the stalled request.
    config.limits.site_timeout = Duration::from_millis(1500);
    let r = scan(&Engine::new(config).unwrap(), "slowwalk.gov.test").await;
    assert_eq!(codes(&r), vec![Code::Timeout], "{:#?}", r.findings);
    assert!(
        r.https_ok,
        "the https endpoint was examined before the timeout"
    );
    assert!(!r.forced_https);
    assert_eq!(r.https.as_ref().unwrap().status, Some(200));
    assert_eq!(r.redirects.len(), 1, "{:#?}", r.redirects);
    assert_eq!(r.redirects[0].status, Some(301));
    assert_eq!(
        r.redirects[0].location.as_deref(),
        Some("http://hang.gov.test/")
    );
}

/// Poll until `cond` holds; a test that waits forever fails instead.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn dropping_the_stream_aborts_the_scans_in_flight() {
    use futures::StreamExt;
    let mut lab = Lab::new(11).await;
    let mut closed = Vec::new();
    for i in 0..3 {
        let ip = lab.site(&format!("stuck{i}.gov.test"), None, None).await;
        closed.push(lab.stall(ip, lab.https_port).await);
    }
    let mut config = lab.config();
    config.limits.tls_timeout = Duration::from_secs(60);
    config.limits.site_timeout = Duration::from_secs(120);
    config.probe_legacy = false;
    let engine = Arc::new(Engine::new(config).unwrap());
    let sites: Vec<Site> = (0..3)
        .map(|i| Site::parse(&format!("stuck{i}.gov.test")).unwrap())
        .collect();
    let mut stream = Box::pin(engine.scan_stream(futures::stream::iter(sites), 3));
    // Drive the stream until every scan is stuck in its handshake.
    loop {
        tokio::select! {
            r = stream.next() => panic!("no scan can finish yet: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                if lab.servers.accepted() == 3 {
                    break;
                }
            }
        }
    }
    drop(stream);
    eventually("every stuck connection closed by the aborted scans", || {
        closed.iter().all(|c| c.load(Ordering::SeqCst) == 1)
    })
    .await;
}

/// Regression: 10,000 sites in flight sent tens of thousands of DNS queries at once, which
/// overflowed UDP buffers and turned names that exist into `dns_failed`. The resolver keeps
/// at most `in_flight` lookups (two queries each, A and AAAA) outstanding.
#[tokio::test]
async fn dns_lookups_in_flight_are_bounded() {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let server = socket.local_addr().unwrap();
    let socket = Arc::new(socket);
    let held = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let responder = {
        let (socket, held, most) = (socket.clone(), held.clone(), most.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let (socket, held, most) = (socket.clone(), held.clone(), most.clone());
                tokio::spawn(async move {
                    let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let mut reply = Message::new();
                    reply
                        .set_id(query.id())
                        .set_message_type(MessageType::Response)
                        .set_op_code(query.op_code())
                        .set_recursion_desired(query.recursion_desired());
                    for q in query.queries() {
                        reply.add_query(q.clone());
                        if q.query_type() == RecordType::A {
                            let ip = A(Ipv4Addr::new(192, 0, 2, 1));
                            reply.add_answer(Record::from_rdata(
                                q.name().clone(),
                                60,
                                RData::A(ip),
                            ));
                        }
                    }
                    held.fetch_sub(1, Ordering::SeqCst);
                    let _ = socket.send_to(&reply.to_vec().unwrap(), peer).await;
                });
            }
        })
    };
    let resolver =
        Arc::new(engine::dns::Resolver::new(Some(server), Duration::from_secs(10), 3).unwrap());
    let lookups: Vec<_> = (0..30)
        .map(|i| {
            let resolver = resolver.clone();
            tokio::spawn(async move { resolver.lookup(&format!("n{i}.burst.test")).await })
        })
        .collect();
    for lookup in lookups {
        assert_eq!(
            lookup.await.unwrap(),
            Ok(vec!["192.0.2.1".parse().unwrap()])
        );
    }
    let most = most.load(Ordering::SeqCst);
    assert!(most >= 2, "the responder saw the queries ({most} at once)");
    assert!(
        most <= 3 * 2,
        "{most} queries were outstanding at once; the limit is 3 lookups"
    );
    responder.abort();
}

/// `/` → `/1` → … → `/n` (a page): `n` https redirects.
fn https_chain(host: &str, n: usize) -> Handler {
    let hop = |i: usize| Reply {
        status: 302,
        headers: vec![
            ("Location".into(), format!("https://{host}/{}", i + 1)),
            (
                "Strict-Transport-Security".into(),
                "max-age=31536000".into(),
            ),
        ],
        body: Default::default(),
    };
    let end = Reply {
        status: 200,
        headers: vec![
            (
                "Strict-Transport-Security".into(),
                "max-age=31536000".into(),
            ),
            ("Content-Type".into(), "text/html".into()),
        ],
        body: b"<link rel=icon href=/i.png><p>end</p>".to_vec().into(),
    };
    // Any other path counts as hop 0, as `/` does.
    (1..n)
        .fold(Routes::always(hop(0)), |routes, i| {
            routes.at(&format!("/{i}"), hop(i))
        })
        .at(&format!("/{n}"), end)
}

#[tokio::test]
async fn the_https_side_must_reach_a_page_as_chrome_does() {
    let mut lab = Lab::new(20).await;
    let to_https = |host: &str| Some(redirect(301, &format!("https://{host}/")));
    let hsts_redirect = |to: &str| {
        Routes::always(Reply {
            status: 301,
            headers: vec![
                ("Location".into(), to.to_owned()),
                (
                    "Strict-Transport-Security".into(),
                    "max-age=31536000".into(),
                ),
            ],
            body: Default::default(),
        })
    };
    lab.site(
        "self-loop.gov.test",
        to_https("self-loop.gov.test"),
        Some(Https::Serve(
            vec!["self-loop.gov.test"],
            hsts_redirect("https://self-loop.gov.test/"),
        )),
    )
    .await;
    lab.site(
        "bad-hop.gov.test",
        to_https("bad-hop.gov.test"),
        Some(Https::Serve(
            vec!["bad-hop.gov.test"],
            hsts_redirect("https://mismatch.gov.test/"),
        )),
    )
    .await;
    lab.site(
        "mismatch.gov.test",
        None,
        Some(Https::Serve(
            vec!["someone-else.gov.test"],
            page("<p>x</p>", &[HSTS_YEAR, HTML]),
        )),
    )
    .await;
    lab.site(
        "twenty.gov.test",
        to_https("twenty.gov.test"),
        Some(Https::Serve(
            vec!["twenty.gov.test"],
            https_chain("twenty.gov.test", 20),
        )),
    )
    .await;
    lab.site(
        "twentyone.gov.test",
        to_https("twentyone.gov.test"),
        Some(Https::Serve(
            vec!["twentyone.gov.test"],
            https_chain("twentyone.gov.test", 21),
        )),
    )
    .await;
    let engine = lab.engine();

    // Regression: an https endpoint redirecting to itself forever was called adopted.
    let r = scan(&engine, "self-loop.gov.test").await;
    assert_eq!(codes(&r), vec![Code::RedirectLoop], "{:#?}", r.findings);
    assert!(!r.https_ok && !r.forced_https);

    let r = scan(&engine, "bad-hop.gov.test").await;
    assert_eq!(
        codes(&r),
        vec![Code::CertHostnameMismatch],
        "{:#?}",
        r.findings
    );
    assert!(!r.https_ok && !r.forced_https);
    assert!(
        r.findings[0]
            .detail
            .starts_with("the redirect target https://mismatch.gov.test/"),
        "{}",
        r.findings[0].detail
    );

    // Chrome follows 20 redirects and gives up on the 21st.
    let r = scan(&engine, "twenty.gov.test").await;
    assert!(r.https_ok, "{:#?}", r.findings);
    // From http:// the navigation counts the first http -> https hop too: 21 redirects,
    // one past Chrome's 20.
    assert_eq!(codes(&r), vec![Code::RedirectLoop], "{:#?}", r.findings);
    assert!(!r.forced_https);
    assert!(
        r.findings[0].detail.contains("past 20 hops"),
        "{}",
        r.findings[0].detail
    );
    let r = scan(&engine, "twentyone.gov.test").await;
    assert_eq!(codes(&r), vec![Code::RedirectLoop], "{:#?}", r.findings);
    assert!(!r.https_ok && !r.forced_https);
}

#[tokio::test]
async fn csp_upgrades_and_the_implicit_favicon_are_judged_as_chrome_does() {
    let mut lab = Lab::new(21).await;
    let mixed_page = "<script src=http://{h}/app.js></script><img src=http://{h}/logo.png>";
    let favicon_to_http = |host: &str, page_html: &str, headers: &[(&'static str, &str)]| {
        routes(&[
            ("/", page(&page_html.replace("{h}", host), headers)),
            (
                "/favicon.ico",
                redirect(301, &format!("http://{host}/favicon.ico")),
            ),
            ("/app.js", page("1", &[])),
            ("/logo.png", page("png", &[])),
        ])
    };
    for (host, html, headers) in [
        (
            "csp-header.gov.test",
            mixed_page,
            vec![
                HSTS_YEAR,
                HTML,
                ("Content-Security-Policy", "upgrade-insecure-requests"),
            ],
        ),
        (
            "csp-report-only.gov.test",
            mixed_page,
            vec![
                HSTS_YEAR,
                HTML,
                (
                    "Content-Security-Policy-Report-Only",
                    "upgrade-insecure-requests",
                ),
            ],
        ),
        (
            "favicon.gov.test",
            "<p>no icon named</p>",
            vec![HSTS_YEAR, HTML],
        ),
        (
            "icon-named.gov.test",
            "<link rel='shortcut icon' href=/i.png><p>icon</p>",
            vec![HSTS_YEAR, HTML],
        ),
    ] {
        lab.site(
            host,
            Some(redirect(301, &format!("https://{host}/"))),
            Some(Https::Serve(
                vec![host],
                favicon_to_http(host, html, &headers),
            )),
        )
        .await;
    }
    let engine = lab.engine();

    // upgrade-insecure-requests: Chrome fetches both over https; what was upgraded is kept.
    let r = scan(&engine, "csp-header.gov.test").await;
    assert_eq!(codes(&r), vec![], "{:#?}", r.findings);
    let mixed = r.mixed_content.as_ref().unwrap();
    assert_eq!(
        mixed.upgrade_insecure_requests.as_deref(),
        Some("Content-Security-Policy header")
    );
    assert_eq!((mixed.active.count, mixed.passive.count), (1, 1));

    // Report-Only upgrades nothing; the implicit favicon is blocked as well.
    let r = scan(&engine, "csp-report-only.gov.test").await;
    assert_eq!(
        codes(&r),
        vec![Code::MixedContentActive, Code::MixedContentPassive],
        "{:#?}",
        r.findings
    );
    assert_eq!(r.mixed_content.as_ref().unwrap().active.count, 2);

    // No icon named: Chrome asks for /favicon.ico, whose redirect to http it blocks.
    let r = scan(&engine, "favicon.gov.test").await;
    assert_eq!(
        codes(&r),
        vec![Code::MixedContentActive],
        "{:#?}",
        r.findings
    );
    assert!(r.https_ok && r.forced_https);
    let sample = &r.mixed_content.as_ref().unwrap().active.samples[0];
    assert_eq!(sample.url, "http://favicon.gov.test/favicon.ico");
    assert!(
        sample.element.contains("implicit /favicon.ico"),
        "{}",
        sample.element
    );

    // An icon named: /favicon.ico is not asked for.
    let r = scan(&engine, "icon-named.gov.test").await;
    assert_eq!(codes(&r), vec![], "{:#?}", r.findings);
}

/// Grants every lease on an address after `0`: a site queued behind others on a shared
/// host.
struct SlowLeases(Duration);

impl engine::polite::Limiter for SlowLeases {
    fn acquire(
        &self,
        _ip: std::net::IpAddr,
        _limit: usize,
    ) -> futures::future::BoxFuture<'_, engine::polite::Lease> {
        Box::pin(async move {
            tokio::time::sleep(self.0).await;
            engine::polite::Lease::free()
        })
    }
}

#[tokio::test]
async fn waiting_for_a_lease_on_the_address_is_not_the_sites_time() {
    let mut lab = Lab::new(22).await;
    lab.site(
        "queued.gov.test",
        Some(redirect(301, "https://queued.gov.test/")),
        Some(Https::Serve(
            vec!["queued.gov.test"],
            page(
                "<html><head><link rel=icon href=/i.png></head><body>ok</body></html>",
                &[HSTS_YEAR, HTML],
            ),
        )),
    )
    .await;
    let mut config = lab.config();
    config.per_ip_concurrency = 1;
    config.limits.site_timeout = Duration::from_secs(2);
    // The lease comes after 3 s, past the 2 s the site may take.
    let engine =
        Engine::with_limiter(config, Arc::new(SlowLeases(Duration::from_secs(3)))).unwrap();
    let r = scan(&engine, "queued.gov.test").await;
    assert_eq!(codes(&r), vec![], "{:#?}", r.findings);
    assert!(
        r.https_ok && r.forced_https,
        "no timeout for waiting its turn"
    );
}
