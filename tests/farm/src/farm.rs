//! The farm itself: a builder that collects site specifications, and the running [`Farm`]
//! that owns every listener, certificate, child process and the DNS responder.

use crate::Error;
use crate::dns;
use crate::pki::{Leaf, Pki};
use crate::serve::{self, Hosts, Shared, Sni};
use crate::spec::{Cert, Expect, Plain, Reply, Routes, Secure, SiteSpec};
use hickory_server::ServerFuture;
use hickory_server::authority::Catalog;
use rustls_pki_types::CertificateDer;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The host that serves the intermediate for AIA `caIssuers`.
pub const AIA_HOST: &str = "aia.gov.test";
/// The path of the intermediate (DER) on [`AIA_HOST`].
pub const AIA_PATH: &str = "/farm-intermediate.der";

/// The small agency tree sites are spread over, so reports can roll up:
/// (agency, category, parent).
const AGENCIES: &[(&str, &str, &str)] = &[
    ("國家發展委員會", "二級機關", "行政院"),
    ("內政部", "二級機關", "行政院"),
    ("教育部", "二級機關", "行政院"),
    ("內政部警政署", "三級機關", "內政部"),
    ("教育部體育署", "三級機關", "教育部"),
    ("國家發展委員會檔案管理局", "三級機關", "國家發展委員會"),
    ("臺北市政府", "縣市政府", ""),
    ("高雄市政府", "縣市政府", ""),
];

/// One site of a running farm, with the verdict a correct scan reaches on it.
#[derive(Debug, Clone, PartialEq)]
pub struct FarmSite {
    pub host: String,
    /// The entry as written in the site list (`https://HOST/`).
    pub url: String,
    pub agency: String,
    pub category: String,
    pub parent: String,
    /// What the site does, in a few words.
    pub description: &'static str,
    pub expect: Expect,
    /// The loopback address it is served on (`None`: not in DNS).
    pub address: Option<Ipv4Addr>,
    /// Why a browser cannot judge this site as the scanner does (`None`: it can; see
    /// [`SiteSpec::not_for_browser`]).
    pub not_for_browser: Option<&'static str>,
}

/// Collects sites, then starts them all. See the crate docs.
#[derive(Debug, Clone)]
pub struct FarmBuilder {
    sites: Vec<(String, SiteSpec)>,
    http_port: u16,
    https_port: u16,
    first_address: Ipv4Addr,
    dns_bind: SocketAddr,
    now: Option<OffsetDateTime>,
    dir: Option<PathBuf>,
    latency: Duration,
    max_connections: usize,
}

/// A running farm. Dropping it stops everything; [`Farm::shutdown`] also waits.
pub struct Farm {
    sites: Vec<FarmSite>,
    dns_addr: SocketAddr,
    http_port: u16,
    https_port: u16,
    ca_pem_path: PathBuf,
    root_pem: String,
    root_der: CertificateDer<'static>,
    ct_root_der: CertificateDer<'static>,
    now: OffsetDateTime,
    shared: Shared,
    dns: Option<ServerFuture<Catalog>>,
    children: Vec<tokio::process::Child>,
    records: Vec<(String, Ipv4Addr)>,
    _dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Farm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Farm")
            .field("sites", &self.sites.len())
            .field("dns_addr", &self.dns_addr)
            .field("ca_pem_path", &self.ca_pem_path)
            .finish_non_exhaustive()
    }
}

impl Default for FarmBuilder {
    fn default() -> Self {
        FarmBuilder {
            sites: Vec::new(),
            http_port: 80,
            https_port: 443,
            first_address: Ipv4Addr::new(127, 77, 0, 1),
            dns_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            now: None,
            dir: None,
            latency: Duration::ZERO,
            max_connections: 16_384,
        }
    }
}

impl FarmBuilder {
    /// Add a site named `host` (lowercase DNS name).
    pub fn site(mut self, host: impl Into<String>, spec: SiteSpec) -> Self {
        self.sites.push((host.into().to_ascii_lowercase(), spec));
        self
    }

    /// The ports every site is served on (default 80 and 443).
    pub fn ports(mut self, http: u16, https: u16) -> Self {
        self.http_port = http;
        self.https_port = https;
        self
    }

    /// The first address handed out (default `127.77.0.1`); the next ones follow it. Farms
    /// running at the same time need distinct ranges when they use the same ports.
    pub fn first_address(mut self, addr: Ipv4Addr) -> Self {
        self.first_address = addr;
        self
    }

    /// Where the DNS responder listens (default `127.0.0.1:0`, a free port).
    pub fn dns_bind(mut self, addr: SocketAddr) -> Self {
        self.dns_bind = addr;
        self
    }

    /// The instant certificates are dated from. Default: the clock, read once at
    /// [`start`](Self::start) — the certificates must be judged by the scanner against
    /// its own real clock, so the farm cannot use an invented one by default.
    pub fn now(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Where to write the CA file and openssl's files (default: a temporary directory
    /// removed with the farm).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Added latency before every HTTP response (benchmarks).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The most connections served at once, all listeners together (default 16384).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The sites added so far.
    pub fn specs(&self) -> impl Iterator<Item = (&str, &SiteSpec)> {
        self.sites.iter().map(|(h, s)| (h.as_str(), s))
    }

    /// Keep only the sites `keep` accepts (e.g. a subset of the catalog).
    pub fn retain(mut self, mut keep: impl FnMut(&str, &SiteSpec) -> bool) -> Self {
        self.sites.retain(|(h, s)| keep(h, s));
        self
    }

    /// Start every site and the DNS responder.
    pub async fn start(self) -> Result<Farm, Error> {
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let (tempdir, dir) = match &self.dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .map_err(|e| Error::io(format!("create {}", d.display()), e))?;
                (None, d.clone())
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("scan-farm-")
                    .tempdir()
                    .map_err(|e| Error::io("create temporary directory", e))?;
                let p = t.path().to_owned();
                (Some(t), p)
            }
        };
        let pki = Pki::new(now, &dir)?;
        let ca_pem_path = dir.join("farm-ca.pem");
        let ca_pem = format!("{}{}", pki.root.pem, pki.ct_root.pem);
        std::fs::write(&ca_pem_path, &ca_pem)
            .map_err(|e| Error::io(format!("write {}", ca_pem_path.display()), e))?;

        let plan = Plan::make(&self, &pki.intermediate.der)?;
        let shared = Shared {
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            permits: Arc::new(Semaphore::new(self.max_connections)),
            latency: self.latency,
            accepted: Default::default(),
            handshakes: Default::default(),
            open: Default::default(),
        };
        let mut farm = Farm {
            sites: Vec::new(),
            dns_addr: self.dns_bind,
            http_port: self.http_port,
            https_port: self.https_port,
            ca_pem_path,
            root_pem: ca_pem,
            root_der: pki.root.der.clone(),
            ct_root_der: pki.ct_root.der.clone(),
            now,
            shared: shared.clone(),
            dns: None,
            children: Vec::new(),
            records: Vec::new(),
            _dir: tempdir,
        };
        // From here on, an error drops `farm`, which stops what was started.
        let aia_url = if self.http_port == 80 {
            format!("http://{AIA_HOST}{AIA_PATH}")
        } else {
            format!("http://{AIA_HOST}:{}{AIA_PATH}", self.http_port)
        };

        for (i, addr) in plan.addresses.iter().enumerate() {
            let ip = IpAddr::V4(addr.ip);
            // Port 80.
            match &addr.http {
                Kind::Closed => {}
                Kind::Silent => {
                    serve::silent(serve::bind((ip, self.http_port).into()).await?, &shared);
                }
                Kind::Serve(hosts) => serve::http(
                    serve::bind((ip, self.http_port).into()).await?,
                    Arc::new(Hosts {
                        by_name: hosts.clone(),
                    }),
                    &shared,
                ),
                Kind::OpenSsl(..) | Kind::PlainHttp(_) => {
                    return Err(Error::Spec("port 80 is never TLS".into()));
                }
            }
            // Port 443.
            let https_addr = SocketAddr::from((ip, self.https_port));
            match &addr.https {
                Kind::Closed => {}
                Kind::Silent => {
                    serve::silent(serve::bind(https_addr).await?, &shared);
                }
                Kind::Serve(hosts) => {
                    let sni = certificates(&pki, &addr.certs, &aia_url)?;
                    serve::https(
                        serve::bind(https_addr).await?,
                        sni,
                        Arc::new(Hosts {
                            by_name: hosts.clone(),
                        }),
                        &shared,
                    );
                }
                Kind::PlainHttp(hosts) => serve::http(
                    serve::bind(https_addr).await?,
                    Arc::new(Hosts {
                        by_name: hosts.clone(),
                    }),
                    &shared,
                ),
                Kind::OpenSsl(host, cert, mode, page) => {
                    let leaf = pki.issue(cert, std::slice::from_ref(host), &aia_url)?;
                    let files = pki.files_for(&leaf, &format!("s_server-{i}"))?;
                    let log = dir.join(format!("s_server-{i}.log"));
                    let docroot = match page {
                        Some((path, page)) => Some(openssl_docroot(
                            &dir.join(format!("s_server-{i}")),
                            path,
                            page,
                        )?),
                        None => None,
                    };
                    let child =
                        serve::openssl_server(https_addr, *mode, &files, &log, docroot.as_deref())
                            .await?;
                    farm.children.push(child);
                }
            }
        }

        let mut records: Vec<(String, Ipv4Addr)> = plan
            .sites
            .iter()
            .filter_map(|s| s.address.map(|a| (s.host.clone(), a)))
            .collect();
        records.push((AIA_HOST.to_owned(), plan.addresses[0].ip));
        let (server, dns_addr) = dns::serve(self.dns_bind, &records).await?;
        farm.dns = Some(server);
        farm.dns_addr = dns_addr;
        farm.records = records;
        farm.sites = plan.sites;
        tracing::info!(
            sites = farm.sites.len(),
            addresses = plan.addresses.len(),
            %dns_addr,
            "farm started"
        );
        Ok(farm)
    }
}

/// A directory for `openssl s_server -HTTP` holding `page` as a complete HTTP response at
/// `path` (which must name a file, not `/`).
fn openssl_docroot(dir: &Path, path: &str, page: &crate::spec::Page) -> Result<PathBuf, Error> {
    let file = path.trim_start_matches('/');
    if file.is_empty() || file.contains("..") || file.contains('?') {
        return Err(Error::Spec(format!(
            "openssl can serve a page only at a file path, not {path:?}"
        )));
    }
    let target = dir.join(file);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
    }
    let mut head = String::from("HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n");
    if let Some(h) = &page.hsts {
        head.push_str(&format!("Strict-Transport-Security: {h}\r\n"));
    }
    head.push_str("\r\n");
    let response = [head.as_bytes(), &page.html].concat();
    std::fs::write(&target, response)
        .map_err(|e| Error::io(format!("write {}", target.display()), e))?;
    Ok(dir.to_owned())
}

/// Issue the certificates of one address: one leaf per kind of [`Cert`], listing every
/// name of the address that wants that kind (a healthy shared host has one certificate for
/// all its sites; a fleet address needs a handful, not one per site). A CN-only
/// certificate names one host, so those are one per site.
fn certificates(pki: &Pki, certs: &[(String, Cert)], aia_url: &str) -> Result<Sni, Error> {
    let load = |leaf: Leaf| serve::certified_key(leaf.chain, leaf.key);
    let mut groups: Vec<(&Cert, Vec<String>)> = Vec::new();
    for (host, cert) in certs {
        match groups.iter_mut().find(|(c, _)| *c == cert) {
            Some((_, names)) if *cert != Cert::CommonNameOnly => names.push(host.clone()),
            _ => groups.push((cert, vec![host.clone()])),
        }
    }
    let mut by_name = HashMap::new();
    let mut default = None;
    for (cert, names) in groups {
        let key = load(pki.issue(cert, &names, aia_url)?)?;
        for h in names {
            by_name.insert(h, key.clone());
        }
        default.get_or_insert(key);
    }
    let default = default.ok_or_else(|| Error::Spec("an https address without sites".into()))?;
    Ok(Sni { by_name, default })
}

/// What one port of one address runs.
#[derive(Debug)]
enum Kind {
    Closed,
    Silent,
    Serve(HashMap<String, Routes>),
    /// Host, certificate, mode, and the (path, page) served in `-HTTP` mode.
    OpenSsl(
        String,
        Cert,
        crate::spec::OpenSslMode,
        Option<(String, crate::spec::Page)>,
    ),
    /// Plain HTTP where TLS is expected.
    PlainHttp(HashMap<String, Routes>),
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Closed => "closed",
            Kind::Silent => "silent",
            Kind::Serve(_) => "served",
            Kind::OpenSsl(..) => "openssl",
            Kind::PlainHttp(_) => "plain",
        }
    }
}

struct Address {
    ip: Ipv4Addr,
    http: Kind,
    https: Kind,
    /// The rustls certificates of this address, by host.
    certs: Vec<(String, Cert)>,
}

/// Addresses and sites, decided before anything starts.
struct Plan {
    addresses: Vec<Address>,
    sites: Vec<FarmSite>,
}

fn nth_address(first: Ipv4Addr, n: usize) -> Result<Ipv4Addr, Error> {
    // Skip .0 and .255 in the last octet, so no address looks like a network or broadcast.
    let base = u32::from(first);
    let mut a = base;
    let mut left = n;
    while left > 0 || matches!(a & 0xff, 0 | 255) {
        a = a
            .checked_add(1)
            .ok_or_else(|| Error::Spec("ran out of addresses".into()))?;
        if !matches!(a & 0xff, 0 | 255) {
            left = left.saturating_sub(1);
        }
    }
    let ip = Ipv4Addr::from(a);
    if !farm_range(ip) || !farm_range(first) {
        return Err(Error::Spec(format!(
            "{n} addresses from {first} leave 127.0.0.0/8 and 198.18.0.0/15"
        )));
    }
    Ok(ip)
}

/// Where a farm may serve: loopback, or RFC 2544's benchmarking range 198.18.0.0/15 (never
/// a real site; the test hosts of network namespaces use it).
fn farm_range(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 127 || (a == 198 && (b & 0xfe) == 18)
}

impl Plan {
    fn make(b: &FarmBuilder, intermediate: &[u8]) -> Result<Plan, Error> {
        let mut addresses: Vec<Address> = Vec::new();
        let mut next_ip = {
            let mut cursor = b.first_address;
            move || -> Result<Ipv4Addr, Error> {
                let ip = nth_address(cursor, 0)?;
                cursor = nth_address(ip, 1)?;
                Ok(ip)
            }
        };
        // The AIA server first.
        let intermediate = Reply::bytes("application/pkix-cert", intermediate.to_vec());
        addresses.push(Address {
            ip: next_ip()?,
            http: Kind::Serve(HashMap::from([(
                AIA_HOST.to_owned(),
                Routes::always(Reply::not_found()).at(AIA_PATH, intermediate),
            )])),
            https: Kind::Closed,
            certs: Vec::new(),
        });
        let mut groups: BTreeMap<String, usize> = BTreeMap::new();
        let mut sites = Vec::with_capacity(b.sites.len());
        let mut seen = std::collections::HashSet::new();
        for (i, (host, spec)) in b.sites.iter().enumerate() {
            if !seen.insert(host.clone()) || host == AIA_HOST {
                return Err(Error::Spec(format!("site {host} listed twice")));
            }
            let (agency, category, parent) = match &spec.agency {
                Some((a, c, p)) => (a.clone(), c.clone(), p.clone()),
                None => {
                    let (a, c, p) = AGENCIES[i % AGENCIES.len()];
                    (a.to_owned(), c.to_owned(), p.to_owned())
                }
            };
            let mut site = FarmSite {
                host: host.clone(),
                url: format!("https://{host}{}", spec.path),
                agency,
                category,
                parent,
                description: spec.description,
                expect: spec.expect.clone(),
                address: None,
                not_for_browser: spec.not_for_browser,
            };
            if !spec.in_dns {
                sites.push(site);
                continue;
            }
            let index = match &spec.shared {
                Some(g) if groups.contains_key(g) => groups[g],
                other => {
                    addresses.push(Address {
                        ip: next_ip()?,
                        http: Kind::Closed,
                        https: Kind::Closed,
                        certs: Vec::new(),
                    });
                    let idx = addresses.len() - 1;
                    if let Some(g) = other {
                        groups.insert(g.clone(), idx);
                    }
                    idx
                }
            };
            let addr = &mut addresses[index];
            let first = addr.certs.is_empty()
                && matches!(addr.http, Kind::Closed)
                && matches!(addr.https, Kind::Closed);
            site.address = Some(addr.ip);
            place_http(&mut addr.http, &spec.http, host, first)?;
            match &spec.https {
                Secure::Closed => check_same(&addr.https, "closed", host, first)?,
                Secure::Silent => {
                    check_same(&addr.https, "silent", host, first)?;
                    addr.https = Kind::Silent;
                }
                Secure::Rustls { cert, routes } => {
                    check_same(&addr.https, "served", host, first)?;
                    if !matches!(addr.https, Kind::Serve(_)) {
                        addr.https = Kind::Serve(HashMap::new());
                    }
                    if let Kind::Serve(h) = &mut addr.https {
                        h.insert(host.clone(), routes.clone());
                    }
                    addr.certs.push((host.clone(), cert.clone()));
                }
                Secure::PlainHttp(routes) => {
                    if !first {
                        return Err(Error::Spec(format!(
                            "{host}: plain http on the https port needs an address of its own"
                        )));
                    }
                    addr.https = Kind::PlainHttp(HashMap::from([(host.clone(), routes.clone())]));
                }
                Secure::OpenSsl { cert, mode, page } => {
                    if !first {
                        return Err(Error::Spec(format!(
                            "{host}: an openssl site needs an address of its own"
                        )));
                    }
                    let page = page.as_ref().map(|p| (spec.path.clone(), p.clone()));
                    addr.https = Kind::OpenSsl(host.clone(), cert.clone(), *mode, page);
                }
            }
            sites.push(site);
        }
        Ok(Plan { addresses, sites })
    }
}

fn check_same(current: &Kind, wanted: &str, host: &str, first: bool) -> Result<(), Error> {
    if first || current.name() == wanted {
        Ok(())
    } else {
        Err(Error::Spec(format!(
            "{host} shares an address whose port is {} but wants it {wanted}",
            current.name()
        )))
    }
}

fn place_http(current: &mut Kind, plain: &Plain, host: &str, first: bool) -> Result<(), Error> {
    match plain {
        Plain::Closed => check_same(current, "closed", host, first),
        Plain::Silent => {
            check_same(current, "silent", host, first)?;
            *current = Kind::Silent;
            Ok(())
        }
        Plain::Serve(routes) => {
            check_same(current, "served", host, first)?;
            if !matches!(current, Kind::Serve(_)) {
                *current = Kind::Serve(HashMap::new());
            }
            if let Kind::Serve(h) = current {
                h.insert(host.to_owned(), routes.clone());
            }
            Ok(())
        }
    }
}

impl Farm {
    /// An empty builder.
    pub fn builder() -> FarmBuilder {
        FarmBuilder::default()
    }

    /// A builder preloaded with one site per behaviour of `CHECKS.md`, each with its
    /// expected verdict.
    pub fn catalog() -> FarmBuilder {
        crate::catalog::catalog(FarmBuilder::default())
    }

    /// The DNS responder (UDP and TCP), for `--dns-server`.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
    }

    /// The farm's root CA as a PEM file, for `--ca-file`.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem_path
    }

    /// The farm's trusted roots, PEM: what [`Farm::ca_pem_path`] holds (the main root,
    /// then the CT root).
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The farm's main root CA, DER.
    pub fn root_der(&self) -> &CertificateDer<'static> {
        &self.root_der
    }

    /// Every root the farm's sites need trusted, DER (for an in-process engine's extra
    /// roots): the main root and the CT root.
    pub fn root_ders(&self) -> Vec<CertificateDer<'static>> {
        vec![self.root_der.clone(), self.ct_root_der.clone()]
    }

    /// The CT root's SHA-256, hex: what `--root-constraint` names to put an SCT-date rule
    /// on the `ct-*` sites.
    pub fn ct_root_sha256(&self) -> String {
        ring::digest::digest(&ring::digest::SHA256, &self.ct_root_der)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The time the farm's certificates were made against.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The ports sites are served on: (http, https).
    pub fn ports(&self) -> (u16, u16) {
        (self.http_port, self.https_port)
    }

    /// Connections the farm's own listeners accepted so far (HTTP, HTTPS, silent; not the
    /// `openssl s_server` children nor DNS) — to prove a scan contacted nothing.
    pub fn connections_accepted(&self) -> u64 {
        self.shared
            .accepted
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The most connections that were open at once on `ip` (its HTTP and HTTPS ports
    /// together; not the `openssl s_server` children), counted by the farm from accept to
    /// the end of serving each.
    pub fn max_open_connections(&self, ip: std::net::IpAddr) -> usize {
        self.shared.open.max(ip)
    }

    /// Every name the farm's DNS answers, with its address: the sites in DNS and the
    /// farm's own AIA host (for a client that resolves without DNS, e.g. a browser's
    /// `--host-resolver-rules`).
    pub fn dns_records(&self) -> &[(String, Ipv4Addr)] {
        &self.records
    }

    pub fn sites(&self) -> &[FarmSite] {
        &self.sites
    }

    pub fn site(&self, host: &str) -> Option<&FarmSite> {
        self.sites.iter().find(|s| s.host == host)
    }

    /// Write the site list as CSV (`agency,category,parent,url`).
    pub fn write_csv(&self, path: &Path) -> Result<(), Error> {
        let io = |e: csv::Error| Error::io(format!("write {}", path.display()), e.into());
        let mut w = csv::Writer::from_path(path).map_err(io)?;
        w.write_record(["agency", "category", "parent", "url"])
            .map_err(io)?;
        for s in &self.sites {
            w.write_record([&s.agency, &s.category, &s.parent, &s.url])
                .map_err(io)?;
        }
        w.flush()
            .map_err(|e| Error::io(format!("write {}", path.display()), e))
    }

    /// Write what a correct scan reports on each site, one JSON object a line:
    /// `{"host", "url", "https_ok", "forced_https", "codes": [...]}` (for benchmarks that
    /// check the scanner's verdicts, not only its speed).
    pub fn write_expectations(&self, path: &Path) -> Result<(), Error> {
        let mut out = String::new();
        for s in &self.sites {
            let codes: Vec<&str> = s.expect.sorted_codes().iter().map(|c| c.as_str()).collect();
            let line = serde_json::json!({
                "host": s.host,
                "url": s.url,
                "https_ok": s.expect.https_ok,
                "forced_https": s.expect.forced_https,
                "codes": codes,
                "description": s.description,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|e| Error::io(format!("write {}", path.display()), e))
    }

    /// Stop every server and wait for their tasks to end.
    pub async fn shutdown(mut self) {
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        if let Some(mut dns) = self.dns.take()
            && let Err(e) = dns.shutdown_gracefully().await
        {
            tracing::debug!("farm DNS shutdown: {e}");
        }
        for child in &mut self.children {
            let _ = child.kill().await;
        }
        self.shared.tracker.wait().await;
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        // Tasks see the token and end; the DNS server's tasks are aborted with it; the
        // openssl children are killed on drop.
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        if let Some(dns) = &self.dns {
            dns.shutdown_token().cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_skip_network_and_broadcast_octets() {
        let first = Ipv4Addr::new(127, 77, 0, 1);
        assert_eq!(nth_address(first, 0).unwrap(), first);
        assert_eq!(
            nth_address(first, 253).unwrap(),
            Ipv4Addr::new(127, 77, 0, 254)
        );
        assert_eq!(
            nth_address(first, 254).unwrap(),
            Ipv4Addr::new(127, 77, 1, 1)
        );
        assert_eq!(
            nth_address(Ipv4Addr::new(127, 77, 0, 0), 0).unwrap(),
            Ipv4Addr::new(127, 77, 0, 1)
        );
        assert!(nth_address(Ipv4Addr::new(127, 255, 255, 254), 5).is_err());
        assert!(nth_address(Ipv4Addr::new(198, 19, 0, 1), 5).is_ok());
        assert!(nth_address(Ipv4Addr::new(198, 19, 255, 254), 5).is_err());
        assert!(nth_address(Ipv4Addr::new(10, 0, 0, 1), 0).is_err());
    }
}
