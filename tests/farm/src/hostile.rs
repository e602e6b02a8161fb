//! The hostile farm: sites that attack the scanner instead of misconfiguring HTTPS — slow,
//! endless, oversized and malformed answers, redirect storms, a redirect to a port browsers
//! refuse, certificates with edge dates and bidirectional-text names — each with the
//! verdict a scanner that holds reaches on it. (No compression bomb: the scanner asks for
//! `identity` and never inflates a body, so one cannot expand in it.)
//!
//! Beside the catalog ([`crate::Farm::catalog`]), whose sites a real server configuration
//! could produce, these are raw servers on loopback that write exactly the hostile bytes
//! (a header one byte at a time, a body that never ends), which hyper would refuse to
//! send. Each site has its own address in `127.113.0.0/16` (see [`HostileFarm::start`]),
//! its own certificate from a root made at start (written to [`HostileFarm::ca_pem_path`]),
//! and a name in the farm's DNS responder. Counters say what the scanner did to a site
//! ([`HostileFarm::requests`]): how many requests a storm drew, whether anything connected
//! to the refused port.
//!
//! Every task belongs to the farm: dropping it aborts them.

use crate::spec::Expect;
use crate::{Error, ONE_YEAR, dns};
use hickory_server::ServerFuture;
use hickory_server::authority::Catalog;
use model::Code::{self, *};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The port a hostile site redirects `http://` to: IRC, on Chrome's restricted list (and
/// bindable without root, so the farm can listen there and count who comes).
pub const UNSAFE_PORT: u16 = 6667;

/// A right-to-left override: turns the text after it around on screen.
pub const RLO: char = '\u{202e}';

/// Size of the huge page, bytes.
pub const HUGE_PAGE: usize = 100 << 20;

/// Where in the huge page an upgradable reference sits: past the first mebibyte, inside the
/// scanner's 2 MiB cap, so only a scan that reads up to its cap sees it.
pub const HUGE_PAGE_LATE_REFERENCE: usize = 3 << 19;

/// Where in the huge page a blockable reference sits: past the cap, never read.
pub const HUGE_PAGE_BEYOND_CAP: usize = 3 << 20;

/// What a hostile site does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Attack {
    /// The https response head trickles in, one byte every 200 ms, forever.
    Slowloris,
    /// The https page is chunked and never ends.
    EndlessBody,
    /// The https response sends a mebibyte of headers.
    OversizedHeaders,
    /// The https page is 100 MiB, with an `http:` image 1.5 MiB in and an `http:` script
    /// 3 MiB in.
    HugeBody,
    /// Every https URL redirects to a new one, forever.
    RedirectStorm,
    /// `http://` redirects to `http://HOST:6667/` ([`UNSAFE_PORT`]).
    UnsafePortRedirect,
    /// The certificate is valid from 1950-01-01 to 9999-12-31 (both legal in RFC 5280).
    EdgeDates,
    /// The certificate has no subjectAltName and a subject CN that starts with a
    /// right-to-left override; the site's agency name in the list carries one too.
    BidiNames,
}

impl Attack {
    pub const ALL: [Attack; 8] = [
        Attack::Slowloris,
        Attack::EndlessBody,
        Attack::OversizedHeaders,
        Attack::HugeBody,
        Attack::RedirectStorm,
        Attack::UnsafePortRedirect,
        Attack::EdgeDates,
        Attack::BidiNames,
    ];

    /// The site's name in the farm.
    pub fn host(self) -> &'static str {
        match self {
            Attack::Slowloris => "slowloris.hostile.test",
            Attack::EndlessBody => "endless.hostile.test",
            Attack::OversizedHeaders => "headers.hostile.test",
            Attack::HugeBody => "huge.hostile.test",
            Attack::RedirectStorm => "storm.hostile.test",
            Attack::UnsafePortRedirect => "unsafe-port.hostile.test",
            Attack::EdgeDates => "edge-dates.hostile.test",
            Attack::BidiNames => "bidi.hostile.test",
        }
    }

    /// The verdict a scanner that holds reaches: every attack ends as a finding (or none),
    /// within the step timeout.
    pub fn expect(self) -> Expect {
        let codes: &[Code] = match self {
            // No complete response in time: not adopted, said as a timeout.
            Attack::Slowloris => return Expect::new(false, false, &[Timeout]),
            // The page is read up to the cap and judged: the script at its top is found.
            Attack::EndlessBody => &[MixedContentActive],
            // Chrome fails with ERR_RESPONSE_HEADERS_TOO_BIG: no page.
            Attack::OversizedHeaders => return Expect::new(false, false, &[HttpsUnreachable]),
            // The image 1.5 MiB in is seen, the script past the cap is not.
            Attack::HugeBody => &[MixedContentPassive],
            // Over Chrome's 20 redirects: ERR_TOO_MANY_REDIRECTS.
            Attack::RedirectStorm => return Expect::new(false, false, &[RedirectLoop]),
            // Refused like Chrome's ERR_UNSAFE_PORT, not followed: not forced.
            Attack::UnsafePortRedirect => return Expect::adopted(&[NoHttpsRedirect]),
            // Legal dates: Chrome shows the padlock.
            Attack::EdgeDates => &[],
            // No subjectAltName: valid for no host.
            Attack::BidiNames => return Expect::new(false, false, &[CertHostnameMismatch]),
        };
        Expect::forced(codes)
    }

    /// The agency the site is listed under.
    pub fn agency(self) -> String {
        match self {
            Attack::BidiNames => format!("{RLO}關機意惡"),
            _ => "惡意網站測試".to_owned(),
        }
    }
}

/// A running hostile farm. See the module docs.
pub struct HostileFarm {
    dns: Option<ServerFuture<Catalog>>,
    dns_addr: SocketAddr,
    addresses: HashMap<Attack, Ipv4Addr>,
    requests: HashMap<Attack, Arc<AtomicU64>>,
    unsafe_port_connections: Arc<AtomicU64>,
    ca_pem: PathBuf,
    ports: (u16, u16),
    tasks: JoinSet<()>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for HostileFarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostileFarm")
            .field("dns_addr", &self.dns_addr)
            .field("addresses", &self.addresses)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

impl HostileFarm {
    /// Start every attack on `127.113.N.x` (`net` = N), http and https on free ports of
    /// that /24 (the scanner's `--http-port`/`--https-port` must match, see
    /// [`HostileFarm::ports`]).
    pub async fn start(net: u8) -> Result<HostileFarm, Error> {
        HostileFarm::start_on(net, None).await
    }

    /// [`HostileFarm::start`] on the given (http, https) ports, e.g. 80 and 443 for a
    /// browser, which cannot be told other ports for the `https://HOST/` a site redirects
    /// to.
    pub async fn start_on(net: u8, ports: Option<(u16, u16)>) -> Result<HostileFarm, Error> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("temporary directory", e))?;
        let ca = Ca::new()?;
        let ca_pem = dir.path().join("hostile-ca.pem");
        std::fs::write(&ca_pem, ca.issuer.pem()).map_err(|e| Error::io("CA file", e))?;

        let first = Ipv4Addr::new(127, 113, net, 1);
        let bind = |port| {
            std::net::TcpListener::bind((first, port)).map_err(|e| Error::io("a free port", e))
        };
        let (probe_http, probe_https) = (bind(0)?, bind(0)?);
        let free = (
            probe_http
                .local_addr()
                .map_err(|e| Error::io("port", e))?
                .port(),
            probe_https
                .local_addr()
                .map_err(|e| Error::io("port", e))?
                .port(),
        );
        drop((probe_http, probe_https));
        let ports = ports.unwrap_or(free);

        let mut farm = HostileFarm {
            dns: None,
            dns_addr: SocketAddr::from((first, 0)),
            addresses: HashMap::new(),
            requests: HashMap::new(),
            unsafe_port_connections: Arc::default(),
            ca_pem,
            ports,
            tasks: JoinSet::new(),
            _dir: dir,
        };
        let mut records = Vec::new();
        for (i, attack) in Attack::ALL.into_iter().enumerate() {
            let ip = Ipv4Addr::new(127, 113, net, 10 + i as u8);
            records.push((attack.host().to_owned(), ip));
            farm.addresses.insert(attack, ip);
            let requests = Arc::new(AtomicU64::new(0));
            farm.requests.insert(attack, Arc::clone(&requests));
            let tls = Arc::new(ca.server_config(attack)?);
            let http = listen(ip, ports.0).await?;
            let https = listen(ip, ports.1).await?;
            let host = attack.host();
            let counter = Arc::clone(&requests);
            farm.tasks.spawn(accept(http, None, move |path| {
                counter.fetch_add(1, Ordering::Relaxed);
                plain_answer(attack, host, &path)
            }));
            farm.tasks.spawn(accept(
                https,
                Some(tokio_rustls::TlsAcceptor::from(tls)),
                move |path| {
                    requests.fetch_add(1, Ordering::Relaxed);
                    secure_answer(attack, &path)
                },
            ));
            if attack == Attack::UnsafePortRedirect {
                let refused = listen(ip, UNSAFE_PORT).await?;
                let count = Arc::clone(&farm.unsafe_port_connections);
                farm.tasks.spawn(async move {
                    while let Ok((stream, _)) = refused.accept().await {
                        count.fetch_add(1, Ordering::Relaxed);
                        drop(stream);
                    }
                });
            }
        }
        let (server, dns_addr) = dns::serve(SocketAddr::from((first, 0)), &records).await?;
        farm.dns = Some(server);
        farm.dns_addr = dns_addr;
        Ok(farm)
    }

    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
    }

    /// The root every hostile certificate chains to, PEM (for `--ca-file`).
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem
    }

    /// The http and https ports.
    pub fn ports(&self) -> (u16, u16) {
        self.ports
    }

    /// Every site's name and address (for a client that resolves without DNS, e.g. a
    /// browser's `--host-resolver-rules`).
    pub fn dns_records(&self) -> Vec<(String, Ipv4Addr)> {
        Attack::ALL
            .iter()
            .map(|a| (a.host().to_owned(), self.addresses[a]))
            .collect()
    }

    pub fn address(&self, attack: Attack) -> Ipv4Addr {
        self.addresses[&attack]
    }

    /// Requests the site's servers (both ports) have read.
    pub fn requests(&self, attack: Attack) -> u64 {
        self.requests[&attack].load(Ordering::Relaxed)
    }

    /// Connections made to [`UNSAFE_PORT`] of the unsafe-port site.
    pub fn unsafe_port_connections(&self) -> u64 {
        self.unsafe_port_connections.load(Ordering::Relaxed)
    }

    /// The site list of `attacks`, CSV (`agency,category,parent,url`).
    pub fn csv(&self, attacks: &[Attack]) -> String {
        let mut out = String::from("agency,category,parent,url\n");
        for &attack in attacks {
            out.push_str(&format!(
                "{},惡意網站,,https://{}/\n",
                attack.agency(),
                attack.host()
            ));
        }
        out
    }

    pub async fn shutdown(mut self) {
        if let Some(mut dns) = self.dns.take() {
            let _ = dns.shutdown_gracefully().await;
        }
        self.tasks.shutdown().await;
    }
}

async fn listen(ip: Ipv4Addr, port: u16) -> Result<TcpListener, Error> {
    TcpListener::bind((ip, port))
        .await
        .map_err(|e| Error::io(format!("listening on {ip}:{port}"), e))
}

/// The hostile root and the certificates it issues.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Result<Ca, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Hostile Farm Root");
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        Ok(Ca { issuer })
    }

    /// The TLS configuration of an attack's site: its leaf, issued by the root.
    fn server_config(&self, attack: Attack) -> Result<rustls::ServerConfig, Error> {
        let now = OffsetDateTime::now_utc();
        let key = KeyPair::generate()?;
        let mut params = match attack {
            Attack::BidiNames => {
                let mut p = CertificateParams::new(Vec::<String>::new())?;
                p.distinguished_name
                    .push(DnType::CommonName, format!("{RLO}tset.elitsoh.idib"));
                p
            }
            _ => CertificateParams::new(vec![attack.host().to_owned()])?,
        };
        (params.not_before, params.not_after) = match attack {
            Attack::EdgeDates => (
                time::macros::datetime!(1950-01-01 00:00:00 UTC),
                time::macros::datetime!(9999-12-31 23:59:59 UTC),
            ),
            _ => (
                now - time::Duration::days(1),
                now + time::Duration::days(200),
            ),
        };
        let leaf = params.signed_by(&key, &self.issuer)?;
        let chain = vec![CertificateDer::from(leaf.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?)
    }
}

/// What a server writes for one request: bytes now, then (for the endless and slow
/// attacks) more, paced.
enum Answer {
    /// A whole response.
    Bytes(Vec<u8>),
    /// `head`, then `chunk` every `every` (zero: as fast as the reader takes it), `times`
    /// times (`None`: forever).
    Stream {
        head: Vec<u8>,
        chunk: Vec<u8>,
        every: Duration,
        times: Option<usize>,
    },
    /// The huge page, written piece by piece (never held whole).
    Huge,
}

fn response(status: u16, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

fn hsts() -> (&'static str, String) {
    ("Strict-Transport-Security", format!("max-age={ONE_YEAR}"))
}

fn html() -> (&'static str, String) {
    ("Content-Type", "text/html; charset=utf-8".to_owned())
}

/// A page that names its icon (so no implicit `/favicon.ico` is asked for).
const PAGE_TOP: &str =
    "<!doctype html><html><head><link rel=icon href=/i.png><title>x</title></head><body>";

fn plain_answer(attack: Attack, host: &str, _path: &str) -> Answer {
    let to = match attack {
        Attack::UnsafePortRedirect => format!("http://{host}:{UNSAFE_PORT}/"),
        _ => format!("https://{host}/"),
    };
    Answer::Bytes(response(301, &[("Location", to)], b""))
}

fn secure_answer(attack: Attack, path: &str) -> Answer {
    let page = |body: &str| {
        Answer::Bytes(response(
            200,
            &[hsts(), html()],
            format!("{PAGE_TOP}{body}</body></html>").as_bytes(),
        ))
    };
    match attack {
        Attack::Slowloris => Answer::Stream {
            head: b"HTTP/1.1 200 OK\r\n".to_vec(),
            chunk: b"X".to_vec(),
            every: Duration::from_millis(200),
            times: None,
        },
        Attack::EndlessBody => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nStrict-Transport-Security: max-age={ONE_YEAR}\r\nContent-Type: text/html\r\n\r\n"
            );
            let first = format!("{PAGE_TOP}<script src=\"http://cdn.hostile.test/a.js\"></script>");
            let mut head = head.into_bytes();
            head.extend_from_slice(&chunked(first.as_bytes()));
            Answer::Stream {
                head,
                chunk: chunked("<p>還有更多……</p>\n".repeat(200).as_bytes()),
                every: Duration::ZERO,
                times: None,
            }
        }
        Attack::OversizedHeaders => {
            let line = format!("X-Padding: {}\r\n", "a".repeat(1000));
            let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
            head.extend_from_slice(
                format!("Strict-Transport-Security: max-age={ONE_YEAR}\r\n").as_bytes(),
            );
            Answer::Stream {
                head,
                chunk: line.into_bytes(),
                every: Duration::ZERO,
                times: Some(1024),
            }
        }
        Attack::HugeBody => Answer::Huge,
        Attack::RedirectStorm => {
            let n: u64 = path.trim_start_matches('/').parse().unwrap_or(0);
            Answer::Bytes(response(
                302,
                &[hsts(), ("Location", format!("/{}", n + 1))],
                b"",
            ))
        }
        Attack::UnsafePortRedirect | Attack::EdgeDates | Attack::BidiNames => page("<p>ok</p>"),
    }
}

/// One chunk of a chunked body.
fn chunked(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// Accept connections on `listener` and answer each request with `answer(path)`.
async fn accept<F>(listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, answer: F)
where
    F: Fn(String) -> Answer + Send + Sync + 'static,
{
    let answer = Arc::new(answer);
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let answer = Arc::clone(&answer);
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => serve(stream, &*answer).await,
                Some(a) => {
                    if let Ok(s) = a.accept(stream).await {
                        serve(s, &*answer).await;
                    }
                }
            }
        });
        // Reap finished connections as we go.
        while connections.try_join_next().is_some() {}
    }
}

async fn serve<S, F>(mut s: S, answer: &F)
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(String) -> Answer,
{
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    // Every write fails once the scanner hangs up, which ends the answer.
    match answer(path) {
        Answer::Bytes(bytes) => {
            let _ = s.write_all(&bytes).await;
        }
        Answer::Stream {
            head,
            chunk,
            every,
            times,
        } => {
            if s.write_all(&head).await.is_err() {
                return;
            }
            let mut sent = 0;
            while times.is_none_or(|t| sent < t) {
                if !every.is_zero() {
                    tokio::time::sleep(every).await;
                }
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += 1;
            }
            let _ = s.write_all(b"\r\n").await;
        }
        Answer::Huge => {
            let _ = write_huge_page(&mut s).await;
        }
    }
    let _ = s.shutdown().await;
}

/// The huge page: [`HUGE_PAGE`] bytes of ordinary paragraphs, an `http:` image at
/// [`HUGE_PAGE_LATE_REFERENCE`] and an `http:` script at [`HUGE_PAGE_BEYOND_CAP`].
async fn write_huge_page<S: AsyncWrite + Unpin>(s: &mut S) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {HUGE_PAGE}\r\nContent-Type: text/html\r\nStrict-Transport-Security: max-age={ONE_YEAR}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await?;
    let filler = "<p>本網站提供機關最新消息、業務資訊與便民服務。</p>\n".repeat(256);
    let late = "<img src=\"http://cdn.hostile.test/late.png\">";
    let beyond = "<script src=\"http://cdn.hostile.test/beyond.js\"></script>";
    let mut written = 0;
    s.write_all(PAGE_TOP.as_bytes()).await?;
    written += PAGE_TOP.len();
    let mut late_done = false;
    let mut beyond_done = false;
    while written < HUGE_PAGE {
        let piece: &str = if !late_done && written >= HUGE_PAGE_LATE_REFERENCE {
            late_done = true;
            late
        } else if !beyond_done && written >= HUGE_PAGE_BEYOND_CAP {
            beyond_done = true;
            beyond
        } else {
            &filler
        };
        let piece = &piece.as_bytes()[..piece.len().min(HUGE_PAGE - written)];
        s.write_all(piece).await?;
        written += piece.len();
    }
    Ok(())
}
