//! The engine: one site from start to verdict, and many sites at a bounded concurrency.
//!
//! A scan resolves the name (policy-checked), examines `https://HOST/PATH` on one
//! connection (handshake, chain, response, HSTS; the legacy probe where rustls fails or to
//! find TLS 1.0/1.1 still accepted), walks from `http://HOST/PATH` (reusing the https answer
//! when the walk lands on it), reads mixed content on the final https page, and hands the
//! observations to the pure [`verdict`](crate::verdict). The whole site runs under
//! [`Limits::site_timeout`](crate::Limits); past it, what was seen is judged and a
//! `timeout` finding added.

use crate::fetch::Fetcher;
use crate::https::{Examiner, no_response_reason};
use crate::mixed_content::{self, asks_for_implicit_favicon, same_site};
use crate::policy::Policy;
use crate::polite::{Lease, Limiter};
use crate::redirect::{self, End, Hops};
use crate::tls::{self, TrustStore};
use crate::verdict::{self, Endpoint, Observations};
use crate::web::Net;
use crate::{Config, Error, dns};
use futures::{Stream, StreamExt};
use model::{Browser, Browsers, HttpsDetails, Site, SiteResult};
use rustls_pki_types::UnixTime;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use url::Url;

/// Scans sites. Cheap to share: clone the `Arc` it lives in.
pub struct Engine {
    config: Config,
    /// Resolver, address policy, fetcher and web client: how hosts are contacted.
    net: Net,
    /// Chains judged by the profile `https_ok` is judged by (`--trust`), with the other
    /// browser's verdict beside.
    judge: tls::Judge,
    /// Which scanner, with which settings: stamped on every result.
    provenance: model::Scanner,
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
            Arc::clone(&self.net.resolver),
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
        let net = Net::new(&config, resolver, policy, fetcher)?;
        Ok(Engine {
            config,
            net,
            judge: tls::Judge::new(store, other_store),
            provenance,
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
                // On the heap: the examination's state is most of a site's, and only the
                // sites past their lookup and lease need it.
                let examined = Box::pin(self.run(site, now, &allowed, lease.is_some(), &mut state));
                if tokio::time::timeout(left, examined).await.is_err() {
                    state.obs.timed_out = Some(limit);
                }
                drop(lease);
            }
        }
        let (v, other) = verdict::judge_both(&mut state.obs);
        let mut result = SiteResult::for_site(site);
        let mine = verdict::browser_verdict(&v, self.judge.primary().version());
        let theirs = verdict::browser_verdict(&other, self.judge.other().version());
        result.browsers = Some(match self.judge.primary().browser() {
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
        result.trust_store = self.judge.primary().name().to_owned();
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
        let name = self.net.resolve_site(&site.host).await;
        state.obs.dns = name.dns;
        state.addresses = name.addresses;
        name.allowed
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
        let examiner = self.examiner();
        let https = examiner.examine(&https_url, &site.host, &allowed, now, true);
        let http = self
            .net
            .fetcher
            .get(&http_url, &allowed, self.net.port_of(&http_url));
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
            net: &self.net,
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
        let examiner = &examiner;
        let judged = others.into_iter().map(|(host, (url, fetched))| async move {
            examiner.other_endpoint(&url, &host, &fetched, now).await
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
                        redirect::implicit_favicon(
                            &self.net,
                            self.config.limits.max_https_redirects,
                            &page,
                            &site.host,
                            &allowed,
                            None,
                        )
                        .await
                    }
                }
            {
                mixed_content::add_implicit_favicon(
                    &mut mixed,
                    &from,
                    &to,
                    self.config.limits.max_samples,
                );
            }
            if self.config.check_https_copies {
                self.net.check_https_copies(&mut mixed, one_at_a_time).await;
            }
            state.obs.mixed = Some(mixed);
        }
    }

    /// The https endpoint's probe, with what it needs of the engine.
    fn examiner(&self) -> Examiner<'_> {
        Examiner {
            net: &self.net,
            config: &self.config,
            judge: &self.judge,
        }
    }

    /// Which scanner, with which settings, judges: what every result carries.
    pub fn provenance(&self) -> &model::Scanner {
        &self.provenance
    }

    /// The trust profiles: the one `https_ok` is judged by, and the other browser's.
    pub fn trust_stores(&self) -> (&TrustStore, &TrustStore) {
        (self.judge.primary(), self.judge.other())
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
                crate::site_task(site, async move {
                    engine.scan(&task_site, SystemTime::now()).await
                })
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

#[cfg(test)]
mod tests {
    use super::*;

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
