//! The engine: one site from start to verdict, and many sites at a bounded concurrency.
//!
//! A scan resolves the name (policy-checked), examines `https://HOST/PATH` on one
//! connection (handshake, chain, response, HSTS; the legacy probe where rustls fails or to
//! find TLS 1.0/1.1 still accepted), walks from `http://HOST/PATH` (reusing the https answer
//! when the walk lands on it), reads mixed content on the final https page, and hands the
//! observations to the pure [`verdict`](crate::verdict). The whole site runs under
//! [`Limits::site_timeout`](crate::Limits); past it, what was seen is judged and a
//! `timeout` finding added.

use crate::fetch::{self, Fetched, Fetcher};
use crate::legacy::{self, Offer, ProbeOutcome, Version};
use crate::mixed_content::{self, Analysis};
use crate::policy::Policy;
use crate::polite::{Lease, Limiter};
use crate::redirect::{self, End, HopAnswer, HopFetch};
use crate::tls::{self, AiaFetch, TrustStore};
use crate::verdict::{self, Dns, Endpoint, Observations, Reach, Response};
use crate::{Config, Error, dns};
use futures::{Stream, StreamExt};
use model::{Browser, Browsers, HttpsDetails, MixedContent, Site, SiteResult};
use rustls_pki_types::UnixTime;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tokio_util::task::AbortOnDropHandle;
use url::Url;

/// AIA answers kept across sites (many sites share a CA).
const AIA_CACHE_ENTRIES: usize = 256;
/// A failed AIA fetch is remembered this long, so a dead URL is not asked for by every site
/// of its CA at once. Short: a failure makes every site of that CA look untrusted while it
/// is remembered, so a passing one (a lost DNS answer under load, seen at 10,000 sites in
/// flight) must not stick.
const AIA_FAILURE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether rustls (the scanner's own handshake) speaks this TLS suite.
fn rustls_speaks(suite: u16) -> bool {
    tls::scanning_client_config()
        .crypto_provider()
        .cipher_suites
        .iter()
        .any(|s| u16::from(s.suite()) == suite)
}

/// Scans sites. Cheap to share: clone the `Arc` it lives in.
pub struct Engine {
    config: Config,
    resolver: Arc<dns::Resolver>,
    policy: Policy,
    /// The profile `https_ok` is judged by (`--trust`).
    store: TrustStore,
    /// The other browser's profile, for its verdict beside.
    other_store: TrustStore,
    /// Which scanner, with which settings: stamped on every result.
    provenance: model::Scanner,
    fetcher: Fetcher,
    web: WebClient,
    /// Leases on addresses (`--per-ip-concurrency`).
    limiter: Arc<dyn Limiter>,
}

impl Engine {
    /// Build the resolver, trust store and TLS configuration once; the per-address limit
    /// is kept in this process ([`polite::Local`](crate::polite::Local)).
    pub fn new(config: Config) -> Result<Engine, Error> {
        Engine::with_limiter(config, Arc::new(crate::polite::Local::default()))
    }

    /// An engine whose per-address leases come from `limiter` (a worker's, which also
    /// holds them in Redis for the whole cluster).
    pub fn with_limiter(config: Config, limiter: Arc<dyn Limiter>) -> Result<Engine, Error> {
        let resolver = Arc::new(dns::Resolver::new(
            config.dns_server,
            config.limits.dns_timeout,
            config.limits.dns_in_flight,
        )?);
        Engine::build(config, resolver, limiter)
    }

    /// An engine for other settings (a job's) that shares this one's resolver (its cache
    /// and DNS budget) and per-address leases.
    pub fn derive(&self, config: Config) -> Result<Engine, Error> {
        Engine::build(
            config,
            Arc::clone(&self.resolver),
            Arc::clone(&self.limiter),
        )
    }

    fn build(
        config: Config,
        resolver: Arc<dns::Resolver>,
        limiter: Arc<dyn Limiter>,
    ) -> Result<Engine, Error> {
        let policy = Policy::new(config.allow_private_targets).with_exclude(config.exclude.clone());
        let options = config.profile_options();
        let other = match config.trust {
            Browser::Chrome => Browser::Mozilla,
            Browser::Mozilla => Browser::Chrome,
        };
        let store = TrustStore::profile(config.trust, &options)?;
        let other_store = TrustStore::profile(other, &options)?;
        let provenance = model::Scanner {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            commit: env!("GOVSCAN_BUILD_COMMIT").to_owned(),
            schema: model::RESULT_SCHEMA,
            trust_store: store.version().to_owned(),
            settings_digest: config.settings_digest(),
        };
        let fetcher = Fetcher::new(
            tls::scanning_client_config(),
            &config.user_agent,
            config.limits.clone(),
        )?;
        let web = WebClient::new(&config, Arc::clone(&resolver), policy.clone())?;
        Ok(Engine {
            config,
            resolver,
            policy,
            store,
            other_store,
            provenance,
            fetcher,
            web,
            limiter,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Scan one site. Never fails: whatever the site does ends up as findings.
    /// `now` is the time certificates are judged against.
    ///
    /// The site timeout covers resolving the name and examining the site, not the wait for
    /// a lease on its address (`--per-ip-concurrency`) in between: a site queued behind
    /// others on a shared host is not judged `timeout` for waiting its turn. `duration_ms`
    /// leaves the wait out too.
    pub async fn scan(&self, site: &Site, now: SystemTime) -> SiteResult {
        let started = Instant::now();
        let mut waited = std::time::Duration::ZERO;
        let mut state = State::new(site);
        let limit = self.config.limits.site_timeout;
        match tokio::time::timeout(limit, self.resolve(site, &mut state)).await {
            Err(_) => state.obs.timed_out = Some(limit),
            Ok(None) => {}
            Ok(Some(allowed)) => {
                let wait_from = Instant::now();
                let lease = self.lease(&allowed).await;
                waited = wait_from.elapsed();
                let left = limit.saturating_sub(started.elapsed().saturating_sub(waited));
                let examined = self.run(site, now, &allowed, lease.is_some(), &mut state);
                if tokio::time::timeout(left, examined).await.is_err() {
                    state.obs.timed_out = Some(limit);
                }
                drop(lease);
            }
        }
        let (v, other) = verdict::judge_both(&mut state.obs);
        let mut result = SiteResult::for_site(site);
        let mine = verdict::browser_verdict(&v, self.store.version());
        let theirs = verdict::browser_verdict(&other, self.other_store.version());
        result.browsers = Some(match self.store.browser() {
            Browser::Chrome => Browsers {
                chrome: mine,
                mozilla: theirs,
            },
            Browser::Mozilla => Browsers {
                chrome: theirs,
                mozilla: mine,
            },
        });
        result.https_ok = v.https_ok;
        result.forced_https = v.forced_https;
        result.findings = v.findings;
        result.trust_store = self.store.name().to_owned();
        result.scanner = Some(self.provenance.clone());
        result.scanned_at = time::OffsetDateTime::from(now)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        result.duration_ms =
            u64::try_from(started.elapsed().saturating_sub(waited).as_millis()).unwrap_or(u64::MAX);
        result.addresses = state.addresses.iter().map(IpAddr::to_string).collect();
        result.https = state.details;
        match state.obs.walk {
            Some(walk) => {
                result.final_url = Some(walk.end.url().to_string());
                result.redirects = walk.hops;
            }
            None => result.redirects = state.trail,
        }
        result.mixed_content = state.obs.mixed;
        tracing::debug!(
            host = %site.host,
            https_ok = result.https_ok,
            forced_https = result.forced_https,
            findings = result.findings.len(),
            ms = result.duration_ms,
            "scanned"
        );
        result
    }

    /// Step 1, the name: the addresses that may be contacted, or `None` when there are
    /// none (what was seen is in `state`).
    async fn resolve(&self, site: &Site, state: &mut State) -> Option<Vec<IpAddr>> {
        if let Some(entry) = self.policy.excluded_host(&site.host) {
            state.obs.dns = Some(Dns::Excluded(format!(
                "{} is excluded by the operator ({entry} in --exclude); not contacted",
                site.host
            )));
            return None;
        }
        let addrs = match self.resolver.lookup(&site.host).await {
            Ok(a) => a,
            Err(e) => {
                state.obs.dns = Some(Dns::Failed(e));
                return None;
            }
        };
        state.addresses = addrs.clone();
        let (allowed, refused) = self.policy.filter(&addrs);
        if allowed.is_empty() {
            if let Some(r) = refused {
                state.obs.dns = Some(Dns::Refused(r));
            }
            return None;
        }
        state.obs.dns = Some(Dns::Resolved);
        Some(allowed)
    }

    /// A lease on the address the site's connections go to (the first allowed one), when
    /// a per-address limit is set.
    async fn lease(&self, allowed: &[IpAddr]) -> Option<Lease> {
        let limit = self.config.per_ip_concurrency;
        match allowed.first() {
            Some(&ip) if limit > 0 => Some(self.limiter.acquire(ip, limit).await),
            _ => None,
        }
    }

    /// Steps 2 to 5, everything after the name. `one_at_a_time`: the site holds a lease on its
    /// address, so its connections there are made one after another (N leases, at most N
    /// connections on the address).
    async fn run(
        &self,
        site: &Site,
        now: SystemTime,
        allowed: &[IpAddr],
        one_at_a_time: bool,
        state: &mut State,
    ) {
        let now = UnixTime::since_unix_epoch(
            now.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
        );
        let allowed = allowed.to_vec();

        // 2. The https endpoint, on one connection.
        let https_url = site.https_url();
        // The first http request does not depend on it: both at once, unless polite.
        let http_url = site.http_url();
        let https = self.examine_https(&https_url, &site.host, &allowed, now, true);
        let http = self
            .fetcher
            .get(&http_url, &allowed, self.port_of(&http_url));
        let (examined, first_hop) = if one_at_a_time {
            let examined = https.await;
            (examined, http.await)
        } else {
            futures::join!(https, http)
        };
        state.details = Some(examined.details);
        state.obs.https = Some(examined.endpoint);
        let favicon = examined.favicon;
        let site_page = examined.response;
        let mut pages = HashMap::new();
        if let Some(a) = examined.analysis {
            pages.insert(https_url.clone(), a);
        }

        // 3. The walks: from https:// to the page a browser shows (at most 20 redirects, as
        // Chrome), then from http://; both reuse the https answer and each other's requests.
        let mut hops = Hops {
            engine: self,
            site_https: &https_url,
            site_response: site_page.as_ref(),
            site_error: state.obs.https.as_ref().and_then(no_response_reason),
            site_addrs: &allowed,
            site_host: &site.host,
            pages,
            answered: HashMap::new(),
            others: HashMap::new(),
            prefetched: Some((http_url.clone(), first_hop)),
            trail: None,
        };
        let https_walk = redirect::walk(
            https_url.clone(),
            self.config.limits.max_https_redirects,
            &mut hops,
        )
        .await;
        let https_end = https_walk.end.clone();
        state.obs.https_walk = Some(https_walk);
        hops.trail = Some(&mut state.trail);
        let walk = redirect::walk(http_url, self.config.limits.max_redirects, &mut hops).await;
        let Hops {
            mut pages, others, ..
        } = hops;
        let end = walk.end.clone();
        state.obs.walk = Some(walk);

        // 4. The https endpoints of other hosts met on the way, each judged once: from the
        // walk's own request, or, where rustls refused the handshake, with the probe.
        let judged = others.into_iter().map(|(host, (url, fetched))| async move {
            if fetched.tls.is_some() {
                Some(self.endpoint_from_walk(&url, &host, &fetched, now).await)
            } else if let Err(fetch::Error::Tls(_)) = &fetched.result {
                let addrs = self.addresses_of(&host).await.ok()?;
                Some(
                    self.examine_https(&url, &host, &addrs, now, false)
                        .await
                        .endpoint,
                )
            } else {
                None
            }
        });
        let judged: Vec<Option<Endpoint>> = if one_at_a_time {
            futures::stream::iter(judged).then(|f| f).collect().await
        } else {
            futures::future::join_all(judged).await
        };
        state.obs.others = judged.into_iter().flatten().collect();

        // 5. Mixed content on the final https page: where the walk from http:// ends, else
        // where the https side ends, else the site's own https answer.
        let final_page = [&end, &https_end].into_iter().find_map(|end| match end {
            End::Reached { url, status }
                if url.scheme() == "https"
                    && (200..300).contains(status)
                    && same_site(url.host_str().unwrap_or_default(), &site.host) =>
            {
                pages.remove(url)
            }
            _ => None,
        });
        let analysis = final_page.or_else(|| pages.remove(&https_url));
        if let Some(a) = analysis {
            let asks_for_favicon = asks_for_implicit_favicon(&a);
            let mut mixed = a.mixed;
            // A page that names no icon makes Chrome request its origin's /favicon.ico; a
            // redirect from there to http:// is blocked as mixed content, like an icon link.
            if self.config.check_implicit_favicon
                && asks_for_favicon
                && let Ok(page) = Url::parse(&mixed.page)
                && let Some((from, to)) = match favicon {
                    Some((origin, answer)) if origin == page.origin() => answer,
                    _ => {
                        self.implicit_favicon(&page, &site.host, &allowed, None)
                            .await
                    }
                }
            {
                mixed.active.count += 1;
                if mixed.active.samples.len() < self.config.limits.max_samples {
                    mixed.active.samples.push(model::Reference {
                        url: to.to_string(),
                        element: format!("implicit /favicon.ico, redirected from {from}"),
                        https_available: None,
                    });
                }
            }
            if self.config.check_https_copies {
                self.check_https_copies(&mut mixed, one_at_a_time).await;
            }
            state.obs.mixed = Some(mixed);
        }
    }

    /// Examine an https endpoint: one connection for the handshake and the response; the
    /// legacy probe where rustls fails, and (when `probe_legacy`) for TLS 1.0/1.1 still
    /// accepted.
    async fn examine_https(
        &self,
        url: &Url,
        host: &str,
        addrs: &[IpAddr],
        now: UnixTime,
        probe_legacy: bool,
    ) -> Examined {
        let port = self.port_of(url);
        // The site's own page may be followed by its `/favicon.ico`, on the same connection.
        let (fetched, kept) = if probe_legacy && self.config.check_implicit_favicon {
            self.fetcher.get_kept(url, addrs, port).await
        } else {
            (self.fetcher.get(url, addrs, port).await, None)
        };
        // Read once here; the walk and the mixed-content step reuse it.
        let analysis = fetched.result.as_ref().ok().and_then(analyze_page);
        // A page that names no icon: Chrome asks for its origin's /favicon.ico on the page's
        // connection. Asked now, before anything else connects to the address, and the
        // connection closed (one connection at a time per site on a leased address).
        let favicon = match (kept, &analysis) {
            (Some(kept), Some(a)) if asks_for_implicit_favicon(a) => Some((
                url.origin(),
                self.implicit_favicon(url, host, addrs, Some(kept)).await,
            )),
            _ => None,
        };
        let mut details = HttpsDetails {
            address: fetched.address.map(|a| a.to_string()),
            ..Default::default()
        };
        let mut endpoint = Endpoint::failed(url.as_str(), fetch::Error::Http(String::new()));
        let tls_timeout = self.config.limits.tls_timeout;
        let Fetched {
            address,
            tls: session,
            result,
        } = fetched;

        match (session, result, address) {
            (Some(session), result, address) => {
                details.protocol = Some(session.protocol.clone());
                details.cipher = Some(session.cipher.clone());
                // The chain judgement and the legacy probes wait on different servers.
                let legacy = async {
                    match address {
                        Some(addr) if probe_legacy && self.config.probe_legacy => {
                            self.legacy_versions(addr, host).await
                        }
                        _ => Vec::new(),
                    }
                };
                let ((chain, other_chain), legacy) =
                    futures::join!(self.judge_chain(&session.chain, host, now), legacy);
                endpoint.reach = Reach::Tls;
                endpoint.legacy_accepted = legacy;
                fill_chain(&mut details, &chain);
                endpoint.chain = Some(chain);
                endpoint.other_chain = Some(other_chain);
                let response = match result {
                    Ok(r) => r,
                    Err(e) => {
                        endpoint.response = Response::Failed(e);
                        return self.finish(endpoint, details, None);
                    }
                };
                details.status = Some(response.status);
                let hsts = response
                    .header("strict-transport-security")
                    .map(str::to_owned);
                details.hsts.clone_from(&hsts);
                details.hsts_max_age = hsts
                    .as_deref()
                    .and_then(|v| crate::hsts::parse(v).ok())
                    .map(|h| h.max_age);
                // Where the response sends the visitor: a 3xx, or a delay-0 meta refresh.
                let location = match response.location() {
                    Some(loc) => Some(
                        redirect::resolve_location(url, loc)
                            .map_or_else(|_| loc.to_owned(), |u| u.to_string()),
                    ),
                    None => analysis
                        .as_ref()
                        .and_then(|a| meta_target(a, url))
                        .map(|u| u.to_string()),
                };
                endpoint.response = Response::Received {
                    status: response.status,
                    location,
                    hsts,
                };
                let mut examined = self.finish(endpoint, details, Some(response));
                examined.analysis = analysis;
                examined.favicon = favicon;
                examined
            }
            (None, Err(fetch::Error::Tls(rustls)), Some(addr)) => {
                // rustls refused: speak to the server as Chrome does.
                match legacy::probe_offer(addr, host, Version::Tls12, Offer::CHROME, tls_timeout)
                    .await
                {
                    ProbeOutcome::Accepted {
                        cipher,
                        cipher_name,
                        certificates,
                        ..
                    } => {
                        let name = cipher_name.unwrap_or_else(|| format!("0x{cipher:04x}"));
                        details.protocol = Some("TLSv1.2".into());
                        details.cipher = Some(if rustls_speaks(cipher) {
                            // Not the suite: the chain (an RSA key under 2048 bits, say)
                            // is what rustls refused, and the judgement below says so.
                            format!(
                                "{name} (chosen for Chrome's offer; this scanner's own handshake failed: {rustls}; the HTTP response was not checked)"
                            )
                        } else {
                            format!(
                                "{name} (Chrome offers it; this scanner does not speak it, so the HTTP response was not checked)"
                            )
                        });
                        let (chain, other_chain) = self.judge_chain(&certificates, host, now).await;
                        fill_chain(&mut details, &chain);
                        endpoint.chain = Some(chain);
                        endpoint.other_chain = Some(other_chain);
                        endpoint.reach = Reach::ProbeOnly {
                            cipher: name,
                            rustls,
                        };
                        if probe_legacy && self.config.probe_legacy {
                            endpoint.legacy_accepted = self.legacy_versions(addr, host).await;
                        }
                        details.legacy_protocols = names(&endpoint.legacy_accepted);
                        self.finish(endpoint, details, None)
                    }
                    _ => {
                        // Chrome's offer is refused: what does the server speak instead?
                        endpoint.reach = match legacy::probe(
                            addr,
                            host,
                            Version::Tls12,
                            tls_timeout,
                        )
                        .await
                        {
                            ProbeOutcome::Accepted {
                                cipher,
                                cipher_name,
                                ..
                            } => {
                                let name = cipher_name.unwrap_or_else(|| format!("0x{cipher:04x}"));
                                Reach::HandshakeFailed {
                                    rustls: format!(
                                        "{rustls}; over TLS 1.2 the server accepts only suites Chrome does not offer, such as {name}"
                                    ),
                                }
                            }
                            _ => {
                                let legacy = self.legacy_versions(addr, host).await;
                                if legacy.is_empty() {
                                    Reach::HandshakeFailed { rustls }
                                } else {
                                    details.legacy_protocols = names(&legacy);
                                    Reach::LegacyOnly { versions: legacy }
                                }
                            }
                        };
                        self.finish(endpoint, details, None)
                    }
                }
            }
            (None, Err(e), _) => {
                endpoint.reach = Reach::Failed(e);
                self.finish(endpoint, details, None)
            }
            (None, Ok(_), _) => {
                // A plain-text answer on an https URL cannot happen with this fetcher.
                endpoint.reach = Reach::Failed(fetch::Error::Tls("no TLS session".into()));
                self.finish(endpoint, details, None)
            }
        }
    }

    fn finish(
        &self,
        endpoint: Endpoint,
        mut details: HttpsDetails,
        response: Option<fetch::Response>,
    ) -> Examined {
        if details.legacy_protocols.is_empty() {
            details.legacy_protocols = names(&endpoint.legacy_accepted);
        }
        Examined {
            endpoint,
            details,
            response,
            analysis: None,
            favicon: None,
        }
    }

    /// The legacy versions (TLS 1.1, 1.0) the server still accepts. One hello offering "up
    /// to 1.1" answers for both on the usual server, which refuses it; only a server that
    /// picks 1.1 is asked again about 1.0, to list it.
    async fn legacy_versions(&self, addr: SocketAddr, host: &str) -> Vec<Version> {
        let t = self.config.limits.tls_timeout;
        match legacy::probe_up_to(addr, host, Version::Tls11, t).await {
            ProbeOutcome::Accepted {
                version: Version::Tls11,
                ..
            } => {
                let mut accepted = vec![Version::Tls11];
                if let ProbeOutcome::Accepted {
                    version: Version::Tls10,
                    ..
                } = legacy::probe(addr, host, Version::Tls10, t).await
                {
                    accepted.push(Version::Tls10);
                }
                accepted
            }
            ProbeOutcome::Accepted {
                version: Version::Tls10,
                ..
            } => vec![Version::Tls10],
            _ => Vec::new(),
        }
    }

    /// The https endpoint the walk ended on (another host): judged from the walk's own
    /// request, no second connection.
    async fn endpoint_from_walk(
        &self,
        url: &Url,
        host: &str,
        fetched: &Fetched,
        now: UnixTime,
    ) -> Endpoint {
        let mut endpoint = Endpoint::failed(url.as_str(), fetch::Error::Http(String::new()));
        if let Some(session) = &fetched.tls {
            endpoint.reach = Reach::Tls;
            let (chain, other_chain) = self.judge_chain(&session.chain, host, now).await;
            endpoint.chain = Some(chain);
            endpoint.other_chain = Some(other_chain);
            endpoint.response = match &fetched.result {
                Ok(r) => Response::Received {
                    status: r.status,
                    location: None,
                    hsts: r.header("strict-transport-security").map(str::to_owned),
                },
                Err(e) => Response::Failed(e.clone()),
            };
        }
        endpoint
    }

    /// Judge a served chain by the chosen profile and by the other browser's.
    async fn judge_chain(
        &self,
        served: &[rustls_pki_types::CertificateDer<'static>],
        host: &str,
        now: UnixTime,
    ) -> (tls::ChainVerdict, tls::ChainVerdict) {
        tls::judge_both(served, host, now, &self.store, &self.other_store, &self.web).await
    }

    /// Which scanner, with which settings, judges: what every result carries.
    pub fn provenance(&self) -> &model::Scanner {
        &self.provenance
    }

    /// The trust profiles: the one `https_ok` is judged by, and the other browser's.
    pub fn trust_stores(&self) -> (&TrustStore, &TrustStore) {
        (&self.store, &self.other_store)
    }

    /// Where the implicit `/favicon.ico` of `page`'s origin, followed through its redirects
    /// (at most as many as Chrome follows), steps from https to http: the https URL and the
    /// http one Chrome blocks. `None` when it stays on https or fails otherwise.
    async fn implicit_favicon(
        &self,
        page: &Url,
        site_host: &str,
        site_addrs: &[IpAddr],
        kept: Option<fetch::Kept>,
    ) -> Option<(Url, Url)> {
        let icon = page.join("/favicon.ico").ok()?;
        let mut requests = Subresource {
            engine: self,
            site_host,
            site_addrs,
            kept: kept.filter(|k| k.serves(&icon)),
        };
        redirect::walk(icon, self.config.limits.max_https_redirects, &mut requests)
            .await
            .downgrade
    }

    /// GET `url`, met on the way from a site (`site_host`, already resolved to `site_addrs`):
    /// another host is resolved and policy-checked first.
    async fn get_on_the_way(&self, url: &Url, site_host: &str, site_addrs: &[IpAddr]) -> Fetched {
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
    async fn addresses_of(&self, host: &str) -> Result<Vec<IpAddr>, fetch::Error> {
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
    fn port_of(&self, url: &Url) -> u16 {
        port_of(url, self.config.http_port, self.config.https_port)
    }

    /// Whether the https copy of each upgradable sample answers (often on the site's own
    /// host: one at a time when the site holds a lease on its address).
    async fn check_https_copies(&self, mixed: &mut MixedContent, one_at_a_time: bool) {
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

    /// Scan a stream of sites with at most `concurrency` in flight at once, each on its own
    /// task; results come out in completion order. Memory stays bounded by `concurrency`.
    pub fn scan_stream<S>(
        self: Arc<Self>,
        sites: S,
        concurrency: usize,
    ) -> impl Stream<Item = SiteResult> + Send
    where
        S: Stream<Item = Site> + Send + 'static,
    {
        sites
            .map(move |site| {
                let engine = Arc::clone(&self);
                let task_site = site.clone();
                // Owned by the stream: dropping it aborts the scans in flight.
                let task = AbortOnDropHandle::new(tokio::spawn(async move {
                    engine.scan(&task_site, SystemTime::now()).await
                }));
                async move {
                    // A panic in one site's scan must not lose the site: it becomes a result.
                    task.await.unwrap_or_else(|e| {
                        SiteResult::failed(&site, format!("the scanner failed on this site: {e}"))
                    })
                }
            })
            .buffer_unordered(concurrency.max(1))
    }
}

/// What the scan of one site has seen so far; survives the site timeout.
struct State {
    obs: Observations,
    addresses: Vec<IpAddr>,
    details: Option<HttpsDetails>,
    /// The walk's requests as they are made, for a walk the site timeout cut short.
    trail: Vec<model::Hop>,
}

impl State {
    fn new(site: &Site) -> State {
        State {
            obs: Observations {
                host: site.host.clone(),
                dns: None,
                https: None,
                https_walk: None,
                walk: None,
                others: Vec::new(),
                mixed: None,
                timed_out: None,
            },
            addresses: Vec::new(),
            details: None,
            trail: Vec::new(),
        }
    }
}

struct Examined {
    endpoint: Endpoint,
    details: HttpsDetails,
    response: Option<fetch::Response>,
    /// The page, when it is 2xx HTML.
    analysis: Option<Analysis>,
    /// The implicit `/favicon.ico` of the page's origin, already asked for on the page's
    /// connection (the site's own endpoint): where it steps down to http, if it does.
    favicon: Option<(url::Origin, Option<(Url, Url)>)>,
}

/// A 2xx HTML page as the fetcher read it (meta refresh, mixed content), with the
/// Content-Security-Policy header's `upgrade-insecure-requests`; `None` for anything else.
fn analyze_page(response: &fetch::Response) -> Option<Analysis> {
    let mut analysis = response.page.clone()?;
    let upgrade = response
        .headers
        .get_all("content-security-policy")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(mixed_content::csp::upgrades_insecure_requests);
    if upgrade {
        analysis.mixed.upgrade_insecure_requests =
            Some(mixed_content::UPGRADE_BY_HEADER.to_owned());
    }
    Some(analysis)
}

/// Whether Chrome asks for the page's implicit `/favicon.ico`: the page names no icon, and
/// no `upgrade-insecure-requests` would send it over https anyway.
fn asks_for_implicit_favicon(a: &Analysis) -> bool {
    !a.icon_linked && a.mixed.upgrade_insecure_requests.is_none()
}

/// Where a delay-0 meta refresh sends the visitor (not the page itself).
fn meta_target(analysis: &Analysis, url: &Url) -> Option<Url> {
    analysis
        .meta_refresh
        .as_ref()
        .filter(|m| m.delay == 0)
        .and_then(|m| m.url.clone())
        .filter(|u| u != url)
}

/// Why an examined endpoint gave no HTTP response, as the walk reports it.
fn no_response_reason(e: &Endpoint) -> Option<fetch::Error> {
    match (&e.reach, &e.response) {
        (_, Response::Failed(err)) | (Reach::Failed(err), _) => Some(err.clone()),
        (Reach::HandshakeFailed { rustls }, _) => Some(fetch::Error::Tls(rustls.clone())),
        (Reach::LegacyOnly { versions }, _) => Some(fetch::Error::Tls(format!(
            "the server accepts only {}",
            names(versions).join(" and ")
        ))),
        (Reach::ProbeOnly { cipher, rustls }, _) => Some(fetch::Error::Tls(format!(
            "this scanner's handshake failed ({rustls}); the server accepts Chrome's TLS 1.2 offer ({cipher})"
        ))),
        (Reach::Tls, _) => None,
    }
}

fn fill_chain(details: &mut HttpsDetails, chain: &tls::ChainVerdict) {
    details.chain.clone_from(&chain.served);
    details.fetched_intermediates.clone_from(&chain.fetched);
    details.trusted_root.clone_from(&chain.trusted_root);
}

fn names(versions: &[Version]) -> Vec<String> {
    versions.iter().map(|v| v.as_str().to_owned()).collect()
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

/// Whether `other` is the site itself or its `www.`/apex sibling.
fn same_site(other: &str, host: &str) -> bool {
    other == host
        || other.strip_prefix("www.") == Some(host)
        || host.strip_prefix("www.") == Some(other)
}

/// The walks' requests: resolved, policy-checked, fetched; the site's https answer and every
/// answer already given reused.
struct Hops<'a> {
    engine: &'a Engine,
    site_https: &'a Url,
    site_response: Option<&'a fetch::Response>,
    /// Why the site's https endpoint gave no response, when it gave none.
    site_error: Option<fetch::Error>,
    site_addrs: &'a [IpAddr],
    site_host: &'a str,
    /// Pages analysed on the way (meta refresh, then mixed content), by URL.
    pages: HashMap<Url, Analysis>,
    /// Every answer given, by URL: the walk from http:// mostly retraces the https one.
    answered: HashMap<Url, HopAnswer>,
    /// The first https request to each other host, for judging its endpoint.
    others: HashMap<String, (Url, Fetched)>,
    /// The walk's first request, made beside the https examination.
    prefetched: Option<(Url, Fetched)>,
    /// Each request of the walk from http:// as it is answered (the walk's own record is
    /// lost if the site times out).
    trail: Option<&'a mut Vec<model::Hop>>,
}

impl Hops<'_> {
    /// The answer of a request made for a walk; the first https one to another host is kept.
    fn record(&mut self, url: &Url, fetched: Fetched) -> HopAnswer {
        let answer = match &fetched.result {
            Ok(r) => self.answer(url, r),
            Err(e) => HopAnswer {
                error: Some(e.clone()),
                ..Default::default()
            },
        };
        if url.scheme() == "https"
            && let Some(host) = url.host_str()
            && host != self.site_host
            && !self.others.contains_key(host)
        {
            self.others.insert(host.to_owned(), (url.clone(), fetched));
        }
        answer
    }

    fn answer(&mut self, url: &Url, response: &fetch::Response) -> HopAnswer {
        let mut answer = HopAnswer {
            status: Some(response.status),
            location: response.location().map(str::to_owned),
            ..Default::default()
        };
        if answer.location.is_none() {
            if !self.pages.contains_key(url)
                && let Some(a) = analyze_page(response)
            {
                self.pages.insert(url.clone(), a);
            }
            answer.meta_refresh = self.pages.get(url).and_then(|a| meta_target(a, url));
        }
        answer
    }
}

impl HopFetch for Hops<'_> {
    async fn fetch(&mut self, url: &Url) -> HopAnswer {
        let answer = self.request(url).await;
        let (location, via) = match (&answer.location, &answer.meta_refresh) {
            (Some(loc), _) => (
                Some(
                    redirect::resolve_location(url, loc)
                        .map_or_else(|_| loc.clone(), |u| u.to_string()),
                ),
                Some(model::HopKind::Http),
            ),
            (None, Some(meta)) => (Some(meta.to_string()), Some(model::HopKind::MetaRefresh)),
            (None, None) => (None, None),
        };
        if let Some(trail) = self.trail.as_mut() {
            trail.push(model::Hop {
                url: url.to_string(),
                status: answer.status,
                location,
                via,
                error: answer.error.as_ref().map(ToString::to_string),
            });
        }
        answer
    }
}

impl Hops<'_> {
    async fn request(&mut self, url: &Url) -> HopAnswer {
        if let Some(answer) = self.answered.get(url) {
            return answer.clone();
        }
        let answer = self.first_request(url).await;
        self.answered.insert(url.clone(), answer.clone());
        answer
    }

    async fn first_request(&mut self, url: &Url) -> HopAnswer {
        if url == self.site_https {
            return match self.site_response {
                Some(r) => self.answer(url, r),
                // The https endpoint was already examined and gave no response.
                None => HopAnswer {
                    error: Some(self.site_error.clone().unwrap_or_else(|| {
                        fetch::Error::Http("the https endpoint gave no HTTP response".into())
                    })),
                    ..Default::default()
                },
            };
        }
        if let Some((first, fetched)) = self.prefetched.take()
            && first == *url
        {
            return self.record(url, fetched);
        }
        let fetched = self
            .engine
            .get_on_the_way(url, self.site_host, self.site_addrs)
            .await;
        self.record(url, fetched)
    }
}

/// The requests of a subresource's redirects (the implicit favicon): status and `Location`
/// only, and never an `http://` one, which Chrome blocks instead of requesting.
struct Subresource<'a> {
    engine: &'a Engine,
    site_host: &'a str,
    site_addrs: &'a [IpAddr],
    /// The page's connection, for the first request when it is to the page's origin.
    kept: Option<fetch::Kept>,
}

impl HopFetch for Subresource<'_> {
    async fn fetch(&mut self, url: &Url) -> HopAnswer {
        if url.scheme() != "https" {
            return HopAnswer {
                error: Some(fetch::Error::Http(
                    "not requested: a browser blocks it as mixed content".into(),
                )),
                ..Default::default()
            };
        }
        let on_kept = match self.kept.take().filter(|k| k.serves(url)) {
            Some(kept) => self.engine.fetcher.get_on(kept, url).await,
            None => None,
        };
        let fetched = match on_kept {
            Some(f) => f,
            None => {
                self.engine
                    .get_on_the_way(url, self.site_host, self.site_addrs)
                    .await
            }
        };
        match fetched.result {
            Ok(r) => HopAnswer {
                status: Some(r.status),
                location: r.location().map(str::to_owned),
                ..Default::default()
            },
            Err(e) => HopAnswer {
                error: Some(e),
                ..Default::default()
            },
        }
    }
}

/// The engine's own HTTP client for AIA `caIssuers` and https-copy checks: reqwest with a
/// policy-checking resolver, no redirects, timeouts and a body cap.
struct WebClient {
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

    #[test]
    fn the_www_sibling_is_the_same_site_and_other_hosts_are_not() {
        assert!(same_site("a.gov.tw", "a.gov.tw"));
        assert!(same_site("www.a.gov.tw", "a.gov.tw"));
        assert!(same_site("a.gov.tw", "www.a.gov.tw"));
        assert!(!same_site("b.gov.tw", "a.gov.tw"));
        assert!(!same_site("www.b.a.gov.tw", "a.gov.tw"));
        assert!(!same_site("wwwa.gov.tw", "a.gov.tw"));
    }

    #[test]
    fn an_engine_builds_with_a_lab_nameserver_and_refuses_a_bad_user_agent() {
        let config = Config {
            dns_server: Some("127.0.0.1:53".parse().unwrap()),
            ..Config::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        assert!(Engine::new(config.clone()).is_ok());
        let bad = Config {
            user_agent: "bad\nagent".into(),
            ..config
        };
        assert!(matches!(Engine::new(bad), Err(Error::Config(_))));
    }
}
