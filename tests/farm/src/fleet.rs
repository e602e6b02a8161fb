//! The fleet: N cheap generated sites in the mix a real country has, for benchmarks.
//!
//! Sites are named `s000001.fleet.gov.test`, … and packed onto shared addresses
//! ([`Mix::per_address`] each), grouped by what their ports do. Healthy sites of an address
//! share one certificate listing all their names, so a fleet of 10,000 needs a few hundred
//! certificates, not 10,000. Behaviours are assigned deterministically (site `i` always
//! gets the same one), so runs compare.

use crate::farm::FarmBuilder;
use crate::spec::{Cert, Expect, PNG, Page, Plain, Reply, Routes, Secure, SiteSpec};
use model::Code::*;

/// Shares of each behaviour, in sites per thousand; the rest are healthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    pub no_redirect: u32,
    pub mismatch: u32,
    pub expired: u32,
    pub incomplete_chain: u32,
    pub mixed_content: u32,
    pub http_only: u32,
    /// Accept on 443 and never answer.
    pub silent: u32,
    /// Sites per shared address.
    pub per_address: usize,
    /// Size of the HTML page every https site serves, bytes (realistic pages are 20–100 kB).
    pub page_bytes: usize,
}

impl Mix {
    /// Mostly healthy, the rest spread over the common findings, 2% silent.
    pub fn national() -> Self {
        Mix {
            no_redirect: 80,
            mismatch: 30,
            expired: 20,
            incomplete_chain: 30,
            mixed_content: 60,
            http_only: 30,
            silent: 20,
            per_address: 50,
            page_bytes: 30_000,
        }
    }

    /// Every site healthy, all `sites` on one address (a shared host), small pages: what a
    /// per-address limit is measured on.
    pub fn shared_host(sites: usize) -> Self {
        Mix {
            no_redirect: 0,
            mismatch: 0,
            expired: 0,
            incomplete_chain: 0,
            mixed_content: 0,
            http_only: 0,
            silent: 0,
            per_address: sites,
            page_bytes: 2_000,
        }
    }
}

impl Default for Mix {
    fn default() -> Self {
        Mix::national()
    }
}

#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Healthy,
    NoRedirect,
    Mismatch,
    Expired,
    IncompleteChain,
    MixedContent,
    HttpOnly,
    Silent,
}

impl Behaviour {
    /// Sites of one class share addresses (their ports behave alike).
    fn class(self) -> &'static str {
        match self {
            Behaviour::HttpOnly => "http-only",
            Behaviour::Silent => "silent",
            _ => "web",
        }
    }
}

fn pick(mix: &Mix, i: usize) -> Behaviour {
    // Spread each behaviour evenly through the fleet: slot in a 1000-cycle, scrambled so
    // neighbours differ.
    let slot = ((i as u64 * 7919) % 1000) as u32;
    let table = [
        (mix.no_redirect, Behaviour::NoRedirect),
        (mix.mismatch, Behaviour::Mismatch),
        (mix.expired, Behaviour::Expired),
        (mix.incomplete_chain, Behaviour::IncompleteChain),
        (mix.mixed_content, Behaviour::MixedContent),
        (mix.http_only, Behaviour::HttpOnly),
        (mix.silent, Behaviour::Silent),
    ];
    let mut upto = 0;
    for (share, b) in table {
        upto += share;
        if slot < upto {
            return b;
        }
    }
    Behaviour::Healthy
}

/// A page of about `bytes` bytes, with `extra` inside the body.
fn sized_page(bytes: usize, extra: &str) -> String {
    let mut body = String::with_capacity(bytes + 256);
    body.push_str("<!doctype html><html><head><meta charset=\"utf-8\"><title>機關網站</title>");
    body.push_str("<link rel=\"stylesheet\" href=\"/site.css\"></head><body>");
    body.push_str(extra);
    let para = "<p>本網站提供機關最新消息、業務資訊與便民服務。<a href=\"/news\">最新消息</a> <img src=\"/logo.png\" alt=\"\"></p>\n";
    while body.len() < bytes {
        body.push_str(para);
    }
    body.push_str("</body></html>");
    body
}

impl FarmBuilder {
    /// Add `n` generated sites in the proportions of `mix`.
    pub fn fleet(mut self, n: usize, mix: &Mix) -> Self {
        let per = mix.per_address.max(1);
        let healthy = Page::html(sized_page(mix.page_bytes, ""))
            .with("/logo.png", Reply::bytes("image/png", PNG));
        let mixed = Page::html(sized_page(
            mix.page_bytes,
            "<script src=\"http://cdn.fleet.gov.test/app.js\"></script>",
        ))
        .with("/logo.png", Reply::bytes("image/png", PNG));
        let http_page = Routes::always(Reply::html(sized_page(mix.page_bytes.min(4096), "")));
        // Built once and shared by every site of a kind.
        let healthy = healthy.into_routes();
        let mixed = mixed.into_routes();
        let https = |cert: Cert, routes: &Routes| Secure::Rustls {
            cert,
            routes: routes.clone(),
        };
        let mut counts: std::collections::HashMap<&'static str, usize> = Default::default();
        for i in 0..n {
            let b = pick(mix, i);
            let seen = counts.entry(b.class()).or_default();
            let group = format!("fleet-{}-{}", b.class(), *seen / per);
            *seen += 1;
            let (spec, expect, description) = match b {
                Behaviour::Healthy => (
                    SiteSpec::new(Plain::to_https(), https(Cert::Valid, &healthy)),
                    Expect::clean(),
                    "healthy",
                ),
                Behaviour::NoRedirect => (
                    SiteSpec::new(
                        Plain::Serve(http_page.clone()),
                        https(Cert::Valid, &healthy),
                    ),
                    Expect::adopted(&[NoHttpsRedirect]),
                    "no redirect",
                ),
                Behaviour::Mismatch => (
                    SiteSpec::new(
                        Plain::to_https(),
                        https(Cert::For(vec!["www.other.gov.test".into()]), &healthy),
                    ),
                    Expect::broken(&[CertHostnameMismatch]),
                    "hostname mismatch",
                ),
                Behaviour::Expired => (
                    SiteSpec::new(Plain::to_https(), https(Cert::Expired, &healthy)),
                    Expect::broken(&[CertExpired]),
                    "expired",
                ),
                Behaviour::IncompleteChain => (
                    SiteSpec::new(
                        Plain::to_https(),
                        https(Cert::NoIntermediate { aia: true }, &healthy),
                    ),
                    Expect::forced(&[CertChainIncomplete]),
                    "incomplete chain (AIA)",
                ),
                Behaviour::MixedContent => (
                    SiteSpec::new(Plain::to_https(), https(Cert::Valid, &mixed)),
                    Expect::forced(&[MixedContentActive]),
                    "mixed content (script)",
                ),
                Behaviour::HttpOnly => (
                    SiteSpec::new(Plain::Serve(http_page.clone()), Secure::Closed),
                    Expect::broken(&[HttpsUnreachable, NoHttpsRedirect]),
                    "http only",
                ),
                Behaviour::Silent => (
                    SiteSpec::new(Plain::to_https(), Secure::Silent),
                    Expect::broken(&[Timeout]),
                    "silent on 443",
                ),
            };
            self = self.site(
                format!("s{:06}.fleet.gov.test", i + 1),
                spec.shared(group).expect(expect).describe(description),
            );
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_national_mix_is_mostly_healthy_and_deterministic() {
        let mix = Mix::national();
        let healthy = (0..1000)
            .filter(|&i| matches!(pick(&mix, i), Behaviour::Healthy))
            .count();
        assert_eq!(healthy, 1000 - 270);
        assert_eq!(
            format!("{:?}", pick(&mix, 17)),
            format!("{:?}", pick(&mix, 17))
        );
    }
}
