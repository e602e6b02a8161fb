//! The catalog: one site per behaviour of `CHECKS.md`, each with the exact verdict a
//! correct scan reaches on it (see [`Expect`] for the conventions where the contract leaves
//! room).
//!
//! Sites whose ports behave alike share addresses (`shared-http`, `shared-certs`), as on
//! shared government hosting, so SNI and Host routing are exercised too. Sites with a port
//! closed, silent, or served by `openssl s_server` have an address of their own.
//!
//! Finding codes not in the catalog: `target_private` (only without
//! `--allow-private-targets`, tested separately) and `scan_failed` (the cluster's, when a
//! shard keeps failing).

use crate::farm::FarmBuilder;
use crate::spec::{Cert, Expect, OpenSslMode, PNG, Page, Plain, Reply, Routes, Secure, SiteSpec};
use model::Code::*;

const HTTP: &str = "shared-http";
const CERTS: &str = "shared-certs";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>"
    )
}

/// Add every catalog site to `b`.
pub(crate) fn catalog(b: FarmBuilder) -> FarmBuilder {
    let hsts_year = Page::home().hsts.unwrap_or_default();
    b
        // --- the healthy site and the redirect basics
        .site(
            "valid.gov.test",
            SiteSpec::healthy()
                .shared(HTTP)
                .describe("valid certificate, http 301 to https, HSTS one year")
                .expect(Expect::clean()),
        )
        .site(
            "no-redirect.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::html(page("無轉址", "http page")))),
                Secure::page(Cert::Valid, Page::home()),
            )
            .shared(HTTP)
            .describe("https works but http answers 200 without redirecting")
            .expect(Expect::adopted(&[NoHttpsRedirect])),
        )
        .site(
            "http-only.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::html(page("僅HTTP", "http only")))),
                Secure::Closed,
            )
            .describe("http answers 200, port 443 closed")
            .expect(Expect::broken(&[HttpsUnreachable, NoHttpsRedirect])),
        )
        .site(
            "https-only.gov.test",
            SiteSpec::new(Plain::Closed, Secure::page(Cert::Valid, Page::home()))
                .describe("port 80 closed, https valid with HSTS")
                .expect(Expect::adopted(&[HttpUnreachable])),
        )
        // --- certificates
        .site(
            "wrong-host.gov.test",
            SiteSpec::with_cert(Cert::For(vec!["other.gov.test".into()]))
                .shared(CERTS)
                .describe("certificate for other.gov.test")
                .expect(Expect::broken(&[CertHostnameMismatch])),
        )
        .site(
            "cn-only.gov.test",
            SiteSpec::with_cert(Cert::CommonNameOnly)
                .shared(CERTS)
                .describe("host in the subject CN only, no subjectAltName")
                .expect(Expect::broken(&[CertHostnameMismatch])),
        )
        .site(
            "a.wild.gov.test",
            SiteSpec::with_cert(Cert::For(vec!["*.wild.gov.test".into()]))
                .shared(CERTS)
                .describe("wildcard *.wild.gov.test matching one label")
                .expect(Expect::clean()),
        )
        .site(
            "a.b.wild.gov.test",
            SiteSpec::with_cert(Cert::For(vec!["*.wild.gov.test".into()]))
                .shared(CERTS)
                .describe("wildcard *.wild.gov.test on a name two labels deeper")
                .expect(Expect::broken(&[CertHostnameMismatch])),
        )
        .site(
            "expired.gov.test",
            SiteSpec::with_cert(Cert::Expired)
                .shared(CERTS)
                .describe("leaf expired ten days ago")
                .expect(Expect::broken(&[CertExpired])),
        )
        .site(
            "not-yet-valid.gov.test",
            SiteSpec::with_cert(Cert::NotYetValid)
                .shared(CERTS)
                .describe("leaf valid from ten days from now")
                .expect(Expect::broken(&[CertNotYetValid])),
        )
        .site(
            "self-signed.gov.test",
            SiteSpec::with_cert(Cert::SelfSigned)
                .shared(CERTS)
                .describe("self-signed leaf")
                .expect(Expect::broken(&[CertSelfSigned])),
        )
        .site(
            "untrusted-root.gov.test",
            SiteSpec::with_cert(Cert::UntrustedRoot)
                .shared(CERTS)
                .describe("chain ends at a root not in the CA file")
                .expect(Expect::broken(&[CertUntrusted])),
        )
        // --- a root with a Chrome-style SCT-date constraint (tests/tests/scan.rs puts
        //     `--root-constraint CT-ROOT:sctnotafter=<now - 10 days>` on it; as listed here,
        //     unconstrained, all three are adopted, as in a browser that trusts the root)
        .site(
            "ct-early.gov.test",
            SiteSpec::with_cert(Cert::CtRoot {
                sct_age_days: Some(20),
            })
            .describe("issued by the CT root, SCT dated 20 days ago")
            .expect(Expect::clean()),
        )
        .site(
            "ct-late.gov.test",
            SiteSpec::with_cert(Cert::CtRoot {
                sct_age_days: Some(1),
            })
            .describe("issued by the CT root, SCT dated yesterday")
            .expect(Expect::clean()),
        )
        .site(
            "ct-none.gov.test",
            SiteSpec::with_cert(Cert::CtRoot { sct_age_days: None })
                .describe("issued by the CT root, no SCT")
                .expect(Expect::clean()),
        )
        .site(
            "incomplete-aia.gov.test",
            SiteSpec::with_cert(Cert::NoIntermediate { aia: true })
                .shared(CERTS)
                .describe("intermediate omitted, AIA caIssuers points to it")
                .expect(Expect::forced(&[CertChainIncomplete])),
        )
        .site(
            "incomplete-no-aia.gov.test",
            SiteSpec::with_cert(Cert::NoIntermediate { aia: false })
                .shared(CERTS)
                .describe("intermediate omitted, no AIA to find it")
                .expect(Expect::broken(&[CertUntrusted, CertChainIncomplete])),
        )
        .site(
            "incomplete-unfetchable.gov.test",
            SiteSpec::with_cert(Cert::UnfetchableIntermediate)
                .shared(CERTS)
                .describe("intermediate omitted, its AIA caIssuers URL answers 404")
                .expect(Expect::broken(&[CertUntrusted, CertChainIncomplete])),
        )
        .site(
            "expiring-soon.gov.test",
            SiteSpec::with_cert(Cert::ExpiresInDays(10))
                .shared(CERTS)
                .describe("leaf expires in ten days")
                .expect(Expect::forced(&[CertExpiringSoon])),
        )
        .site(
            "weak-signature.gov.test",
            SiteSpec::with_cert(Cert::WeakSignature)
                .shared(CERTS)
                .describe("leaf signed with SHA-1 by the intermediate")
                .expect(Expect::broken(&[CertWeakSignature])),
        )
        .site(
            "weak-key.gov.test",
            SiteSpec::with_cert(Cert::WeakKey)
                .shared(CERTS)
                .describe(
                    "served chain has an RSA-1024 intermediate (Chrome still shows the padlock: it rejects RSA under 1024 bits only)",
                )
                .expect(Expect::forced(&[CertWeakKey])),
        )
        // --- protocol versions and ciphers (openssl s_server)
        .site(
            "legacy-only.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::OpenSsl {
                    cert: Cert::Valid,
                    mode: OpenSslMode::LegacyOnly,
                    page: None,
                },
            )
            .describe("openssl s_server speaking TLS 1.1 only")
            .expect(Expect::broken(&[TlsLegacyOnly])),
        )
        .site(
            "legacy-supported.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::OpenSsl {
                    cert: Cert::Valid,
                    mode: OpenSslMode::LegacyBeside12,
                    page: None,
                },
            )
            .describe("openssl s_server accepting TLS 1.0 to 1.2 (status page, no HSTS)")
            .expect(Expect::forced(&[TlsLegacySupported, HstsMissing])),
        )
        .site(
            "tls12-rsa-cbc.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::redirect(
                    301,
                    "https://{host}/index.html",
                ))),
                Secure::OpenSsl {
                    cert: Cert::Rsa,
                    mode: OpenSslMode::Tls12Cipher("AES128-SHA"),
                    page: Some(Page::home()),
                },
            )
            .path("/index.html")
            .describe(
                "TLS 1.2 with only AES128-SHA (rustls lacks it; browsers connect), page with HSTS at /index.html",
            )
            .expect(Expect::clean()),
        )
        .site(
            "tls12-ecdhe-cbc.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::redirect(
                    301,
                    "https://{host}/index.html",
                ))),
                Secure::OpenSsl {
                    cert: Cert::Rsa,
                    mode: OpenSslMode::Tls12Cipher("ECDHE-RSA-AES256-SHA"),
                    page: Some(Page::home()),
                },
            )
            .path("/index.html")
            .describe(
                "TLS 1.2 with only ECDHE-RSA-AES256-SHA (in Chrome's offer; rustls lacks it), page at /index.html",
            )
            .expect(Expect::clean()),
        )
        .site(
            "tls12-cbc-sha384.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::redirect(
                    301,
                    "https://{host}/index.html",
                ))),
                Secure::OpenSsl {
                    cert: Cert::Rsa,
                    mode: OpenSslMode::Tls12Cipher("ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES256-SHA"),
                    page: Some(Page::home()),
                },
            )
            .path("/index.html")
            .describe(
                "TLS 1.2 preferring ECDHE-RSA-AES256-SHA384 (not in Chrome's offer) over ECDHE-RSA-AES256-SHA (in it)",
            )
            .expect(Expect::clean()),
        )
        .site(
            "tls12-sha384-only.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::redirect(
                    301,
                    "https://{host}/index.html",
                ))),
                Secure::OpenSsl {
                    cert: Cert::Rsa,
                    mode: OpenSslMode::Tls12Cipher("ECDHE-RSA-AES256-SHA384"),
                    page: Some(Page::home()),
                },
            )
            .path("/index.html")
            .describe("TLS 1.2 with only ECDHE-RSA-AES256-SHA384, which Chrome does not offer")
            .expect(Expect::broken(&[TlsHandshakeFailed])),
        )
        .site(
            "not-tls.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::PlainHttp(Routes::always(Reply::html(page("非TLS", "plain http on 443")))),
            )
            .describe("port 443 answers plain HTTP, not TLS")
            .expect(Expect::broken(&[TlsHandshakeFailed])),
        )
        .site(
            "silent.gov.test",
            SiteSpec::new(Plain::to_https(), Secure::Silent)
                .describe("port 443 accepts TCP and never answers the handshake")
                .expect(Expect::broken(&[Timeout])),
        )
        // --- redirects
        .site(
            "redirect-chain.gov.test",
            SiteSpec::new(
                Plain::Serve(
                    Routes::always(Reply::not_found())
                        .at("/", Reply::redirect(301, "http://{host}/step1"))
                        .at("/step1", Reply::redirect(302, "http://{host}/step2"))
                        .at("/step2", Reply::redirect(307, "https://{host}/")),
                ),
                Secure::page(Cert::Valid, Page::home()),
            )
            .shared(HTTP)
            .describe("three http redirects (301, 302, 307) ending on https")
            .expect(Expect::clean()),
        )
        .site(
            "redirect-loop.gov.test",
            SiteSpec::new(
                Plain::Serve(
                    Routes::always(Reply::not_found())
                        .at("/", Reply::redirect(301, "http://{host}/a"))
                        .at("/a", Reply::redirect(302, "http://{host}/")),
                ),
                Secure::page(Cert::Valid, Page::home()),
            )
            .shared(HTTP)
            .describe("http / -> /a -> / forever; https itself is fine")
            .expect(Expect::adopted(&[RedirectLoop])),
        )
        .site(
            "redirect-12.gov.test",
            SiteSpec::new(Plain::Serve(long_chain(12)), Secure::page(Cert::Valid, Page::home()))
                .shared(HTTP)
                .describe("twelve http redirects, the last to https (within Chrome's 20)")
                .expect(Expect::clean()),
        )
        .site(
            "redirect-long.gov.test",
            SiteSpec::new(Plain::Serve(long_chain(45)), Secure::page(Cert::Valid, Page::home()))
                .shared(HTTP)
                // Not 21: near its limit Chrome sometimes restarts the navigation once
                // (seen in the browser test), so only a chain well past it is certain.
                .describe("45 http redirects before https (Chrome: ERR_TOO_MANY_REDIRECTS)")
                .expect(Expect::adopted(&[RedirectLoop])),
        )
        .site(
            "downgrade.gov.test",
            SiteSpec::new(
                Plain::Serve(
                    Routes::always(Reply::redirect(301, "https://{host}/"))
                        .at("/plain", Reply::html(page("降級", "plain http"))),
                ),
                Secure::Rustls {
                    cert: Cert::Valid,
                    routes: Routes::always(Reply::redirect(301, "http://{host}/plain")),
                },
            )
            .shared(HTTP)
            .describe("http -> https, whose 301 (no HSTS) sends the visitor back to http")
            .expect(Expect::broken(&[RedirectDowngrade, HstsMissing])),
        )
        .site(
            "moved.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::redirect(
                    301,
                    "https://valid.gov.test/",
                ))),
                Secure::Rustls {
                    cert: Cert::Valid,
                    routes: Routes::always(
                        Reply::redirect(301, "https://valid.gov.test/")
                            .header("strict-transport-security", &hsts_year),
                    ),
                },
            )
            .shared(HTTP)
            .describe("http and https both redirect to https://valid.gov.test/")
            .expect(Expect::clean()),
        )
        .site(
            "https-self-loop.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::Rustls {
                    cert: Cert::Valid,
                    routes: Routes::always(
                        Reply::redirect(301, "https://{host}/")
                            .header("strict-transport-security", &hsts_year),
                    ),
                },
            )
            .shared(HTTP)
            .describe("http -> https, whose 301 (with HSTS) sends the visitor to itself forever")
            .expect(Expect::broken(&[RedirectLoop])),
        )
        .site(
            "https-bad-hop.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::Rustls {
                    cert: Cert::Valid,
                    routes: Routes::always(
                        Reply::redirect(301, "https://expired.gov.test/")
                            .header("strict-transport-security", &hsts_year),
                    ),
                },
            )
            .shared(HTTP)
            .describe("https 301 (with HSTS) to https://expired.gov.test/, whose certificate expired")
            .expect(Expect::broken(&[CertExpired])),
        )
        .site(
            "meta-refresh.gov.test",
            SiteSpec::new(
                Plain::Serve(Routes::always(Reply::html(page(
                    "轉址",
                    "<meta http-equiv=\"refresh\" content=\"0; url=https://meta-refresh.gov.test/\">moving",
                )))),
                Secure::page(Cert::Valid, Page::home()),
            )
            .shared(HTTP)
            .describe("http answers 200 with <meta http-equiv=refresh content=0> to https")
            .expect(Expect::forced(&[RedirectMetaRefresh])),
        )
        // --- HSTS
        .site(
            "hsts-missing.gov.test",
            SiteSpec::serving(Page::home().hsts(None))
                .shared(HTTP)
                .describe("no Strict-Transport-Security header")
                .expect(Expect::forced(&[HstsMissing])),
        )
        .site(
            "hsts-short.gov.test",
            SiteSpec::serving(Page::home().hsts(Some("max-age=86400")))
                .shared(HTTP)
                .describe("HSTS max-age one day")
                .expect(Expect::forced(&[HstsShort])),
        )
        // --- mixed content
        .site(
            "mixed-active.gov.test",
            SiteSpec::serving(
                Page::html(page(
                    "主動混合內容",
                    "<script src=\"http://mixed-active.gov.test/app.js\"></script>",
                ))
                .with("/app.js", Reply::bytes("text/javascript", "console.log(1)")),
            )
            .shared(HTTP)
            .describe("<script src=http://...>")
            .expect(Expect::forced(&[MixedContentActive])),
        )
        .site(
            "mixed-srcset.gov.test",
            SiteSpec::serving(
                Page::html(page(
                    "srcset",
                    "<img src=\"/logo.png\" srcset=\"http://mixed-srcset.gov.test/logo-1x.png 1x\">",
                ))
                .with("/logo.png", Reply::bytes("image/png", PNG))
                .with("/logo-1x.png", Reply::bytes("image/png", PNG)),
            )
            .shared(HTTP)
            .describe(
                "<img srcset=\"http://... 1x\"> (the candidate a 1x screen loads; Chrome blocks srcset rather than upgrading)",
            )
            .expect(Expect::forced(&[MixedContentActive])),
        )
        .site(
            "mixed-passive.gov.test",
            SiteSpec::serving(
                Page::html(page(
                    "被動混合內容",
                    "<img src=\"http://mixed-passive.gov.test/logo.png\" alt=\"logo\">",
                ))
                .with("/logo.png", Reply::bytes("image/png", PNG)),
            )
            .shared(HTTP)
            .describe("<img src=http://...> whose https copy exists")
            .expect(Expect::forced(&[MixedContentPassive])),
        )
        .site(
            "mixed-passive-missing.gov.test",
            SiteSpec::serving(Page::html(page(
                "被動混合內容",
                "<img src=\"http://mixed-passive-missing.gov.test/missing.png\" alt=\"logo\">",
            )))
            .shared(HTTP)
            .describe("<img src=http://...> whose https copy is missing (404)")
            .expect(Expect::forced(&[MixedContentPassive])),
        )
        .site(
            "mixed-css.gov.test",
            SiteSpec::serving(
                Page::html(page(
                    "CSS",
                    "<style>body { background: url(http://mixed-css.gov.test/bg.png) }</style><p>css</p>",
                ))
                .with("/bg.png", Reply::bytes("image/png", PNG)),
            )
            .shared(HTTP)
            .describe("<style> background url(http://...) (an upgradable image)")
            .expect(Expect::forced(&[MixedContentPassive])),
        )
        .site(
            "csp-header.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::Rustls {
                    cert: Cert::Valid,
                    routes: csp_mixed_page("csp-header.gov.test", "", Some("content-security-policy")),
                },
            )
            .shared(HTTP)
            .describe("http <script> and <img>, Content-Security-Policy: upgrade-insecure-requests header")
            .expect(Expect::clean()),
        )
        .site(
            "csp-meta.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::Rustls {
                    cert: Cert::Valid,
                    routes: csp_mixed_page(
                        "csp-meta.gov.test",
                        "<meta http-equiv=\"Content-Security-Policy\" content=\"upgrade-insecure-requests\">",
                        None,
                    ),
                },
            )
            .shared(HTTP)
            .describe("http <script> and <img>, <meta http-equiv=Content-Security-Policy content=upgrade-insecure-requests>")
            .expect(Expect::clean()),
        )
        .site(
            "csp-report-only.gov.test",
            SiteSpec::new(
                Plain::to_https(),
                Secure::Rustls {
                    cert: Cert::Valid,
                    routes: csp_mixed_page(
                        "csp-report-only.gov.test",
                        "",
                        Some("content-security-policy-report-only"),
                    ),
                },
            )
            .shared(HTTP)
            .describe("the same page with upgrade-insecure-requests only in -Report-Only: nothing upgraded")
            .expect(Expect::forced(&[MixedContentActive, MixedContentPassive])),
        )
        .site(
            "favicon-downgrade.gov.test",
            SiteSpec::serving(
                Page::home().with("/favicon.ico", Reply::redirect(301, "http://{host}/favicon.ico")),
            )
            .shared(HTTP)
            .describe("the page names no icon; Chrome's implicit /favicon.ico redirects to http")
            .expect(Expect::forced(&[MixedContentActive])),
        )
        .site(
            "insecure-form.gov.test",
            SiteSpec::serving(Page::html(page(
                "表單",
                "<form action=\"http://insecure-form.gov.test/login\" method=\"post\"><input name=\"u\"></form>",
            )))
            .shared(HTTP)
            .describe("<form action=http://...>")
            .expect(Expect::forced(&[InsecureForm])),
        )
        .site(
            "mixed-clean.gov.test",
            SiteSpec::serving(
                Page::html(
                    "<!doctype html><html><head><base href=\"https://mixed-clean.gov.test/\">\
                     <link rel=\"stylesheet\" href=\"HTTPS://mixed-clean.gov.test/s.css\">\
                     <script src=\"//mixed-clean.gov.test/app.js\"></script></head><body>\
                     <img src=\"logo.png\"><a href=\"http://www.gov.test/\">外部連結</a>\
                     <form action=\"/search\"><input name=\"q\"></form></body></html>"
                )
                .with("/logo.png", Reply::bytes("image/png", PNG))
                .with("/s.css", Reply::bytes("text/css", "body{}"))
                .with("/app.js", Reply::bytes("text/javascript", "1")),
            )
            .shared(HTTP)
            .describe("base href, protocol-relative, relative refs and an http link: all secure")
            .expect(Expect::clean()),
        )
        // --- DNS
        .site(
            "nxdomain.gov.test",
            SiteSpec::unresolvable()
                .describe("listed but not in DNS")
                .expect(Expect::broken(&[DnsNxdomain])),
        )
        .site(
            "lame.unserved.test",
            SiteSpec::unresolvable()
                .describe("a zone the nameserver does not serve: it answers REFUSED")
                .expect(Expect::broken(&[DnsFailed])),
        )
}

/// A page loading `http://{host}/app.js` and `http://{host}/logo.png` (both served over
/// https too), with `head` in its `<head>` and `upgrade-insecure-requests` in the header
/// named `csp_header`, if any.
fn csp_mixed_page(host: &str, head: &str, csp_header: Option<&str>) -> Routes {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">{head}<title>CSP</title></head><body>\
         <script src=\"http://{host}/app.js\"></script><img src=\"http://{host}/logo.png\" alt=\"logo\"></body></html>"
    );
    let mut reply = Reply::html(html).header(
        "strict-transport-security",
        &format!("max-age={}; includeSubDomains", crate::spec::ONE_YEAR),
    );
    if let Some(name) = csp_header {
        reply = reply.header(name, "upgrade-insecure-requests");
    }
    Routes::always(Reply::not_found())
        .at("/", reply)
        .at("/app.js", Reply::bytes("text/javascript", "console.log(1)"))
        .at("/logo.png", Reply::bytes("image/png", PNG))
}

/// `/` → `/hop/1` → … → `/hop/{n-1}` → `https://{host}/`: `n` redirects.
fn long_chain(n: usize) -> Routes {
    let mut routes =
        Routes::always(Reply::not_found()).at("/", Reply::redirect(301, "http://{host}/hop/1"));
    for i in 1..n {
        let next = if i + 1 < n {
            format!("http://{{host}}/hop/{}", i + 1)
        } else {
            "https://{host}/".to_owned()
        };
        routes = routes.at(&format!("/hop/{i}"), Reply::redirect(302, &next));
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_chain_has_the_requested_number_of_redirects() {
        let routes = long_chain(12);
        let mut path = "/".to_owned();
        let mut hops = 0;
        loop {
            let reply = routes.reply(&path);
            let loc = &reply.headers[0].1;
            hops += 1;
            if loc.starts_with("https://") {
                break;
            }
            path = loc.trim_start_matches("http://{host}").to_owned();
        }
        assert_eq!(hops, 12);
    }

    #[test]
    fn the_catalog_covers_every_code_that_loopback_can_produce() {
        let b = catalog(FarmBuilder::default());
        let seen: std::collections::BTreeSet<_> = b
            .specs()
            .flat_map(|(_, s)| s.expected().codes.clone())
            .collect();
        for &code in model::Code::ALL {
            // Produced by scans with other flags or in the cluster: target_private (without
            // --allow-private-targets), scan_failed (a shard that keeps failing),
            // cert_distrusted (the ct-* sites under --root-constraint, tests/tests/scan.rs),
            // target_excluded (the same under --exclude, tests/tests/scan.rs).
            let impossible = matches!(
                code,
                TargetPrivate | ScanFailed | CertDistrusted | TargetExcluded
            );
            assert_eq!(seen.contains(&code), !impossible, "{code} coverage");
        }
    }
}
