//! What one simulated site does: its two endpoints, its certificate, and the verdict a
//! correct scan must reach on it.
//!
//! A [`SiteSpec`] is plain data; the farm turns it into listeners, certificates and DNS
//! records when it starts.

use bytes::Bytes;
use model::Code;
use std::sync::Arc;

/// One year, in seconds: the HSTS max-age every healthy farm site sends.
pub const ONE_YEAR: u64 = 31_536_000;

/// The behaviour of one site and the verdict a correct scan reaches on it.
#[derive(Debug, Clone)]
pub struct SiteSpec {
    pub(crate) http: Plain,
    pub(crate) https: Secure,
    pub(crate) in_dns: bool,
    pub(crate) shared: Option<String>,
    pub(crate) expect: Expect,
    pub(crate) description: &'static str,
    pub(crate) agency: Option<(String, String, String)>,
    pub(crate) path: String,
    pub(crate) not_for_browser: Option<&'static str>,
}

/// What `http://HOST/` (port 80 of the site's address) does.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Plain {
    /// Nothing listens: connections are refused.
    Closed,
    /// Accepts connections and never answers.
    Silent,
    /// Answers by path.
    Serve(Routes),
}

/// What `https://HOST/` (port 443 of the site's address) does.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Secure {
    /// Nothing listens: connections are refused.
    Closed,
    /// Accepts TCP connections and never finishes (never starts) the handshake.
    Silent,
    /// TLS 1.2/1.3 by rustls with `cert`, then HTTP/1.1 by `routes`.
    Rustls { cert: Cert, routes: Routes },
    /// Plain HTTP on the https port (a common misconfiguration): no TLS at all.
    PlainHttp(Routes),
    /// A real `openssl s_server` child process (needs the `openssl` binary), for what
    /// rustls cannot serve: old protocol versions and old cipher suites. Without `page` it
    /// answers every request with its `-www` status page (no HSTS); with one, it serves
    /// that page (and its HSTS header) in `-HTTP` mode at the site's path only — openssl
    /// cannot serve a file at `/`, so such a site is listed with a path
    /// ([`SiteSpec::path`]).
    OpenSsl {
        cert: Cert,
        mode: OpenSslMode,
        page: Option<Page>,
    },
}

/// The protocol and cipher set of an `openssl s_server` site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenSslMode {
    /// TLS 1.1 only (`-tls1_1`, `SECLEVEL=0`).
    LegacyOnly,
    /// TLS 1.0 to 1.2 (`SECLEVEL=0`): legacy accepted beside 1.2.
    LegacyBeside12,
    /// TLS 1.2 with only the given OpenSSL cipher list (e.g. `AES128-SHA`, which rustls
    /// lacks), the server's order preferred (`-serverpref`).
    Tls12Cipher(&'static str),
}

/// The certificate a TLS endpoint presents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cert {
    /// For the site's host, issued by the farm's intermediate, served with the intermediate.
    /// Sites sharing an address with `Valid` share one certificate listing all their names.
    Valid,
    /// Like `Valid`, but for these subjectAltNames instead of the host (wrong host,
    /// wildcards).
    For(Vec<String>),
    /// The host in the subject CN only, no subjectAltName.
    CommonNameOnly,
    /// Past its notAfter.
    Expired,
    /// Before its notBefore.
    NotYetValid,
    /// Valid now, expiring in this many days.
    ExpiresInDays(i64),
    /// The leaf signs itself.
    SelfSigned,
    /// Issued by a second root that is not in the farm's CA file (the root is served).
    UntrustedRoot,
    /// Issued straight by the farm's second trusted root (the "CT root"), served alone, with
    /// an embedded SCT dated `sct_age_days` before now (`None`: no SCT). Adopted as it is;
    /// `cert_distrusted` when a scan puts an SCT-date constraint on that root.
    CtRoot { sct_age_days: Option<i64> },
    /// The server sends the leaf alone; `aia` says whether the leaf carries an AIA
    /// `caIssuers` URL where the farm serves the intermediate.
    NoIntermediate { aia: bool },
    /// The server sends the leaf alone; its AIA `caIssuers` URL answers 404, so no client
    /// can complete the chain.
    UnfetchableIntermediate,
    /// Signed with SHA-1 by the intermediate (made with the `openssl` CLI).
    WeakSignature,
    /// An EC leaf under an RSA-1024 intermediate (made with the `openssl` CLI).
    WeakKey,
    /// An RSA-2048 leaf (made with the `openssl` CLI), for RSA key exchange suites.
    Rsa,
}

/// The verdict a correct scan reaches on a site.
///
/// Conventions the catalog follows (where `CHECKS.md` leaves room):
/// - HSTS is judged on any https response that came back over a completed handshake, a
///   redirect included (`CHECKS.md`: "no Strict-Transport-Security on the https
///   response"); no response, no HSTS finding. The farm gives every site whose behaviour
///   is not about HSTS a one-year header, so certificate flaws stand alone;
/// - mixed content is judged on the final https page of an adopted site;
/// - every code appears at most once per site;
/// - a self-signed leaf is `cert_self_signed`, not also `cert_untrusted`; a chain missing
///   its intermediate that no AIA fetch completes is `cert_untrusted` (the verdict) and
///   `cert_chain_incomplete` (the cause);
/// - `https://HOST/` must end at a page as in Chrome (at most 20 redirects, each hop's host
///   with a valid certificate): a loop is `redirect_loop`, a hop to a host with a bad
///   certificate that host's `cert_*` finding, once;
/// - a redirect walk that never reaches an end (loop, or over 20 hops, as Chrome) is `redirect_loop`
///   alone; an https page that sends the visitor to http is `redirect_downgrade` alone;
/// - `http://` redirecting to an https endpoint that is broken is not `no_https_redirect`
///   (the redirect is there), just not forced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub https_ok: bool,
    pub forced_https: bool,
    /// Exactly the codes a correct scan reports, order-insensitive.
    pub codes: Vec<Code>,
}

impl Expect {
    pub fn new(https_ok: bool, forced_https: bool, codes: &[Code]) -> Self {
        Expect {
            https_ok,
            forced_https,
            codes: codes.to_vec(),
        }
    }

    /// Adopted, forced, no findings.
    pub fn clean() -> Self {
        Expect::new(true, true, &[])
    }

    /// Adopted and forced, with these findings.
    pub fn forced(codes: &[Code]) -> Self {
        Expect::new(true, true, codes)
    }

    /// Adopted, not forced, with these findings.
    pub fn adopted(codes: &[Code]) -> Self {
        Expect::new(true, false, codes)
    }

    /// Not adopted, not forced, with these findings.
    pub fn broken(codes: &[Code]) -> Self {
        Expect::new(false, false, codes)
    }

    /// The codes sorted, for comparisons.
    pub fn sorted_codes(&self) -> Vec<Code> {
        let mut c = self.codes.clone();
        c.sort();
        c
    }
}

impl SiteSpec {
    /// A site with the given endpoints. Defaults: in DNS, its own address, expected clean.
    pub fn new(http: Plain, https: Secure) -> Self {
        SiteSpec {
            http,
            https,
            in_dns: true,
            shared: None,
            expect: Expect::clean(),
            description: "",
            agency: None,
            path: "/".to_owned(),
            not_for_browser: None,
        }
    }

    /// The healthy site: `http://` answers 301 to `https://HOST/`, which serves a page with
    /// a one-year HSTS header under a valid certificate.
    pub fn healthy() -> Self {
        SiteSpec::new(Plain::to_https(), Secure::page(Cert::Valid, Page::home()))
    }

    /// A healthy site except for its certificate.
    pub fn with_cert(cert: Cert) -> Self {
        SiteSpec::new(Plain::to_https(), Secure::page(cert, Page::home()))
    }

    /// A healthy certificate and redirect, serving this page (with one-year HSTS).
    pub fn serving(page: Page) -> Self {
        SiteSpec::new(Plain::to_https(), Secure::page(Cert::Valid, page))
    }

    /// A name listed but absent from DNS (NXDOMAIN).
    pub fn unresolvable() -> Self {
        let mut s = SiteSpec::new(Plain::Closed, Secure::Closed);
        s.in_dns = false;
        s
    }

    /// Share one address with every other site of the same `group` (shared hosting): the
    /// certificate is chosen by SNI and the behaviour by the Host header. Sites of a group
    /// must agree on which ports are open, and serve with rustls.
    pub fn shared(mut self, group: impl Into<String>) -> Self {
        self.shared = Some(group.into());
        self
    }

    /// List the site with this path (`https://HOST/PATH`): both endpoints are examined
    /// there. Default `/`.
    pub fn path(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    /// Mark a site a browser cannot judge as the scanner does, and say why — e.g. a verdict
    /// that rests on a Chrome Root Store constraint put on the farm's root with
    /// `--root-constraint`: Chromium applies its `--test-crs-constraints` only to Root
    /// Store anchors, not to a root trusted through the NSS database, so the browser
    /// oracle (`tests/tests/browser.rs`) skips such a site and names it with the reason.
    pub fn not_for_browser(mut self, why: &'static str) -> Self {
        self.not_for_browser = Some(why);
        self
    }

    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    pub fn describe(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// The agency that owns the site, its reporting category and the agency above it.
    pub fn agency(
        mut self,
        agency: impl Into<String>,
        category: impl Into<String>,
        parent: impl Into<String>,
    ) -> Self {
        self.agency = Some((agency.into(), category.into(), parent.into()));
        self
    }

    pub fn expected(&self) -> &Expect {
        &self.expect
    }
}

impl Plain {
    /// Every path answers `301 Location: https://HOST/` (the host of the request).
    pub fn to_https() -> Self {
        static TO_HTTPS: std::sync::OnceLock<Routes> = std::sync::OnceLock::new();
        Plain::Serve(
            TO_HTTPS
                .get_or_init(|| Routes::always(Reply::redirect(301, "https://{host}/")))
                .clone(),
        )
    }
}

impl Secure {
    /// rustls with `cert`, every path serving `page` (one-year HSTS unless the page says).
    pub fn page(cert: Cert, page: Page) -> Self {
        Secure::Rustls {
            cert,
            routes: page.into_routes(),
        }
    }
}

/// An HTML page with its HSTS header and any extra paths (images and the like).
#[derive(Debug, Clone)]
pub struct Page {
    /// The HTML (shared, cheap to clone: a fleet serves one page from many sites).
    pub html: Bytes,
    /// The Strict-Transport-Security value sent, if any.
    pub hsts: Option<String>,
    /// Other paths the https endpoint answers.
    pub extra: Vec<(String, Reply)>,
}

impl Page {
    /// A plain home page with one-year HSTS.
    pub fn home() -> Self {
        Page::html(
            "<!doctype html><html><head><title>政府網站</title></head><body><h1>歡迎</h1></body></html>",
        )
    }

    /// This HTML, with one-year HSTS.
    pub fn html(html: impl Into<Bytes>) -> Self {
        Page {
            html: html.into(),
            hsts: Some(format!("max-age={ONE_YEAR}; includeSubDomains")),
            extra: Vec::new(),
        }
    }

    pub fn hsts(mut self, value: Option<&str>) -> Self {
        self.hsts = value.map(str::to_owned);
        self
    }

    pub fn with(mut self, path: &str, reply: Reply) -> Self {
        self.extra.push((path.to_owned(), reply));
        self
    }

    /// The routes of this page: `/` and the extra paths, 404 elsewhere.
    pub fn into_routes(self) -> Routes {
        let mut page = Reply::html(self.html);
        if let Some(h) = &self.hsts {
            page = page.header("strict-transport-security", h);
        }
        let mut routes = Routes::always(Reply::not_found()).at("/", page);
        for (path, reply) in self.extra {
            routes = routes.at(&path, reply);
        }
        routes
    }
}

/// Replies by exact path (query ignored), with a fallback. Cheap to clone: clones share
/// one table (a fleet gives thousands of sites the same routes).
#[derive(Debug, Clone)]
pub struct Routes(Arc<Table>);

#[derive(Debug, Clone)]
struct Table {
    exact: Vec<(String, Reply)>,
    fallback: Reply,
}

impl Routes {
    /// Every path gets `reply`.
    pub fn always(reply: Reply) -> Self {
        Routes(Arc::new(Table {
            exact: Vec::new(),
            fallback: reply,
        }))
    }

    /// `path` gets `reply` (the last one given for a path wins).
    pub fn at(mut self, path: &str, reply: Reply) -> Self {
        let table = Arc::make_mut(&mut self.0);
        table.exact.retain(|(p, _)| p != path);
        table.exact.push((path.to_owned(), reply));
        self
    }

    /// What `path` gets.
    pub fn reply(&self, path: &str) -> &Reply {
        self.0
            .exact
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, r)| r)
            .unwrap_or(&self.0.fallback)
    }
}

/// One HTTP response. `{host}` in a header value is replaced by the request's host.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Reply {
    pub fn redirect(status: u16, location: &str) -> Self {
        Reply {
            status,
            headers: vec![("location".into(), location.into())],
            body: Bytes::from_static(b"moved"),
        }
    }

    pub fn html(body: impl Into<Bytes>) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
            body: body.into(),
        }
    }

    pub fn bytes(content_type: &str, body: impl Into<Bytes>) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn not_found() -> Self {
        Reply {
            status: 404,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: Bytes::from_static(b"not found"),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A tiny PNG (1x1), for image paths.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0x00, 0x00,
    0x01, 0x01, 0x00, 0x05, 0x18, 0xd8, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
