//! Reaching hosts other than the site's own https endpoint, each policy-checked after its
//! resolution: the hosts met on the walks ([`Net`]: resolved, checked, fetched with the
//! scanning [`Fetcher`]), and the engine's own HTTP client ([`WebClient`]) for AIA
//! `caIssuers` and the https copies of upgradable mixed-content references.

use crate::fetch::{self, Fetched, Fetcher};
use crate::policy::Policy;
use crate::tls::AiaFetch;
use crate::verdict::Dns;
use crate::{Config, Error, dns};
use futures::StreamExt;
use model::MixedContent;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use url::Url;

/// AIA answers kept across sites (many sites share a CA).
const AIA_CACHE_ENTRIES: usize = 256;
/// A failed AIA fetch is remembered this long, so a dead URL is not asked for by every site
/// of its CA at once. Short: a failure makes every site of that CA look untrusted while it
/// is remembered, so a passing one (a lost DNS answer under load, seen at 10,000 sites in
/// flight) must not stick.
const AIA_FAILURE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// What resolving a site's own name saw.
#[derive(Default)]
pub(crate) struct Name {
    /// What the verdict is told (`None`: the name resolved to nothing).
    pub(crate) dns: Option<Dns>,
    /// Every address the name resolved to.
    pub(crate) addresses: Vec<IpAddr>,
    /// The addresses that may be contacted; `None` when there are none.
    pub(crate) allowed: Option<Vec<IpAddr>>,
}

/// How the engine contacts hosts: the name resolver, the address policy, the scanning
/// fetcher on the configured ports, and the web client.
pub(crate) struct Net {
    pub(crate) resolver: Arc<dns::Resolver>,
    pub(crate) policy: Policy,
    pub(crate) fetcher: Fetcher,
    pub(crate) web: WebClient,
    http_port: u16,
    https_port: u16,
}

impl Net {
    pub(crate) fn new(
        config: &Config,
        resolver: Arc<dns::Resolver>,
        policy: Policy,
        fetcher: Fetcher,
    ) -> Result<Net, Error> {
        let web = WebClient::new(config, Arc::clone(&resolver), policy.clone())?;
        Ok(Net {
            resolver,
            policy,
            fetcher,
            web,
            http_port: config.http_port,
            https_port: config.https_port,
        })
    }

    /// Resolve the site's own name and policy-check its addresses: the DNS observation, and
    /// the addresses that may be contacted.
    pub(crate) async fn resolve_site(&self, host: &str) -> Name {
        let mut name = Name::default();
        if let Some(entry) = self.policy.excluded_host(host) {
            name.dns = Some(Dns::Excluded(format!(
                "{host} is excluded by the operator ({entry} in --exclude); not contacted"
            )));
            return name;
        }
        let addrs = match self.resolver.lookup(host).await {
            Ok(a) => a,
            Err(e) => {
                name.dns = Some(Dns::Failed(e));
                return name;
            }
        };
        name.addresses = addrs.clone();
        let (allowed, refused) = self.policy.filter(&addrs);
        if allowed.is_empty() {
            name.dns = refused.map(Dns::Refused);
            return name;
        }
        name.dns = Some(Dns::Resolved);
        name.allowed = Some(allowed);
        name
    }

    /// GET `url`, met on the way from a site (`site_host`, already resolved to `site_addrs`):
    /// another host is resolved and policy-checked first.
    pub(crate) async fn get_on_the_way(
        &self,
        url: &Url,
        site_host: &str,
        site_addrs: &[IpAddr],
    ) -> Fetched {
        let host = url.host_str().unwrap_or_default();
        let addrs = if host == site_host {
            Ok(site_addrs.to_vec())
        } else {
            self.addresses_of(host).await
        };
        match addrs {
            Ok(addrs) => self.fetcher.get(url, &addrs, self.port_of(url)).await,
            Err(e) => Fetched::failed(e),
        }
    }

    /// Resolve and policy-check a host met on the way.
    pub(crate) async fn addresses_of(&self, host: &str) -> Result<Vec<IpAddr>, fetch::Error> {
        if let Some(entry) = self.policy.excluded_host(host) {
            return Err(fetch::Error::Excluded(format!(
                "{host} is excluded by the operator ({entry} in --exclude); not contacted"
            )));
        }
        let addrs = self
            .resolver
            .lookup(host)
            .await
            .map_err(fetch::Error::Dns)?;
        let (allowed, refused) = self.policy.filter(&addrs);
        match (allowed.is_empty(), refused) {
            (true, Some(r)) => Err(fetch::Error::TargetPrivate(r)),
            (true, None) => Err(fetch::Error::Dns(dns::Error::NoAddresses)),
            (false, _) => Ok(allowed),
        }
    }

    /// The port a URL is contacted on: its own, or the configured one for its scheme.
    pub(crate) fn port_of(&self, url: &Url) -> u16 {
        port_of(url, self.http_port, self.https_port)
    }

    /// Whether the https copy of each upgradable sample answers (often on the site's own
    /// host: one at a time when the site holds a lease on its address).
    pub(crate) async fn check_https_copies(&self, mixed: &mut MixedContent, one_at_a_time: bool) {
        let checks = mixed
            .passive
            .samples
            .iter()
            .map(|r| self.web.https_copy_exists(&r.url));
        let answers: Vec<bool> = if one_at_a_time {
            futures::stream::iter(checks).then(|f| f).collect().await
        } else {
            futures::future::join_all(checks).await
        };
        for (r, ok) in mixed.passive.samples.iter_mut().zip(answers) {
            r.https_available = Some(ok);
        }
    }
}

/// The port `url` is contacted on: its own, or the configured one for its scheme (80 and 443
/// outside a lab).
pub(crate) fn port_of(url: &Url, http_port: u16, https_port: u16) -> u16 {
    url.port().unwrap_or(if url.scheme() == "https" {
        https_port
    } else {
        http_port
    })
}

/// The engine's own HTTP client for AIA `caIssuers` and https-copy checks: reqwest with a
/// policy-checking resolver, no redirects, timeouts and a body cap.
pub(crate) struct WebClient {
    client: reqwest::Client,
    policy: Policy,
    http_port: u16,
    https_port: u16,
    max_aia_bytes: usize,
    aia_cache: Mutex<HashMap<String, AiaEntry>>,
}

/// A cached AIA answer (`None`: the fetch failed) and when it was fetched.
type AiaEntry = (Option<Arc<Vec<u8>>>, Instant);

/// reqwest's resolver: ours, with the policy applied to every answer.
struct PolicyResolver {
    resolver: Arc<dns::Resolver>,
    policy: Policy,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = Arc::clone(&self.resolver);
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if let Some(entry) = policy.excluded_host(&host) {
                return Err(format!("{host}: excluded by the operator ({entry})").into());
            }
            let addrs = resolver.lookup(&host).await?;
            let (allowed, refused) = policy.filter(&addrs);
            if allowed.is_empty() {
                return Err(match refused {
                    Some(r) => Box::new(r) as Box<dyn std::error::Error + Send + Sync>,
                    None => Box::new(dns::Error::NoAddresses),
                });
            }
            let addrs: reqwest::dns::Addrs =
                Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

impl WebClient {
    fn new(config: &Config, resolver: Arc<dns::Resolver>, policy: Policy) -> Result<Self, Error> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let (_, _) = roots.add_parsable_certificates(config.extra_roots.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let limits = &config.limits;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .dns_resolver(Arc::new(PolicyResolver {
                resolver,
                policy: policy.clone(),
            }))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.response_timeout)
            .http1_only()
            .no_proxy()
            .user_agent(config.user_agent.clone())
            // An idle pooled connection is a connection on some address too: none kept
            // under a per-address limit (AIA answers are cached anyway).
            .pool_max_idle_per_host(if config.per_ip_concurrency > 0 { 0 } else { 2 })
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(WebClient {
            client,
            policy,
            http_port: config.http_port,
            https_port: config.https_port,
            max_aia_bytes: limits.max_aia_bytes,
            aia_cache: Mutex::new(HashMap::new()),
        })
    }

    /// `url` with the lab port filled in, when its host may be contacted; `None` otherwise.
    fn prepare(&self, url: &str) -> Option<Url> {
        let mut url = Url::parse(url).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        match url.host()? {
            url::Host::Ipv4(ip) => self.policy.check(IpAddr::V4(ip)).ok()?,
            url::Host::Ipv6(ip) => self.policy.check(IpAddr::V6(ip)).ok()?,
            url::Host::Domain(host) => {
                if self.policy.excluded_host(host).is_some() {
                    return None;
                }
            }
        }
        if url.port().is_none() {
            let port = port_of(&url, self.http_port, self.https_port);
            url.set_port(Some(port)).ok()?;
        }
        Some(url)
    }

    /// GET `url`, the body up to `cap` bytes; `None` on any failure or past the cap.
    async fn get_capped(&self, url: Url, cap: usize) -> Option<Vec<u8>> {
        let mut response = self.client.get(url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            if body.len() + chunk.len() > cap {
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        Some(body)
    }

    /// Whether the https copy of an http reference answers with a success status.
    async fn https_copy_exists(&self, reference: &str) -> bool {
        let Ok(mut url) = Url::parse(reference) else {
            return false;
        };
        if url.scheme() != "http" || url.set_scheme("https").is_err() {
            return false;
        }
        // As a browser upgrading it: port 80 becomes 443 (the lab's ports likewise).
        if url.port() == Some(self.http_port) || url.port() == Some(80) {
            let _ = url.set_port(None);
        }
        let Some(url) = self.prepare(url.as_str()) else {
            return false;
        };
        match self.client.get(url).send().await {
            Ok(r) => r.status().is_success(),
            Err(_) => false,
        }
    }
}

impl AiaFetch for WebClient {
    async fn fetch(&self, url: &str) -> Option<Vec<u8>> {
        if let Some((hit, when)) = self.aia_cache.lock().ok()?.get(url)
            && (hit.is_some() || when.elapsed() < AIA_FAILURE_TTL)
        {
            return hit.as_deref().cloned();
        }
        let prepared = self.prepare(url)?;
        let body = self.get_capped(prepared, self.max_aia_bytes).await;
        if let Ok(mut cache) = self.aia_cache.lock() {
            if cache.len() >= AIA_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(url.to_owned(), (body.clone().map(Arc::new), Instant::now()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_a_port_use_the_configured_one_for_their_scheme() {
        let cases = [
            ("http://a.gov.tw/", 80),
            ("https://a.gov.tw/", 443),
            ("http://a.gov.tw:8080/", 8080),
            ("https://a.gov.tw:8443/x", 8443),
        ];
        for (url, port) in cases {
            assert_eq!(port_of(&Url::parse(url).unwrap(), 80, 443), port, "{url}");
        }
        assert_eq!(
            port_of(&Url::parse("https://a.gov.tw/").unwrap(), 8080, 8443),
            8443
        );
        assert_eq!(
            port_of(&Url::parse("http://a.gov.tw/").unwrap(), 8080, 8443),
            8080
        );
    }
}
