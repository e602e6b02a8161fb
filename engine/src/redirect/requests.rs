//! The walks' requests: what [`walk`](super::walk) asks for, answered over the network.
//! [`Hops`] answers a site's walks (resolved, policy-checked, fetched; the site's https
//! answer and every answer already given reused; pages read for their meta refresh on the
//! way); [`Subresource`] answers a subresource's redirects (the implicit `/favicon.ico`).

use super::{HopAnswer, HopFetch, meta_target};
use crate::fetch::{self, Fetched};
use crate::mixed_content::{Analysis, analyze_page};
use crate::web::Net;
use std::collections::HashMap;
use std::net::IpAddr;
use url::Url;

/// Where the implicit `/favicon.ico` of `page`'s origin, followed through its redirects
/// (at most `max_redirects`, as many as Chrome follows), steps from https to http: the https
/// URL and the http one Chrome blocks. `None` when it stays on https or fails otherwise.
pub(crate) async fn implicit_favicon(
    net: &Net,
    max_redirects: usize,
    page: &Url,
    site_host: &str,
    site_addrs: &[IpAddr],
    kept: Option<fetch::Kept>,
) -> Option<(Url, Url)> {
    let icon = page.join("/favicon.ico").ok()?;
    let mut requests = Subresource {
        net,
        site_host,
        site_addrs,
        kept: kept.filter(|k| k.serves(&icon)),
    };
    super::walk(icon, max_redirects, &mut requests)
        .await
        .downgrade
}

/// The walks' requests: resolved, policy-checked, fetched; the site's https answer and every
/// answer already given reused.
pub(crate) struct Hops<'a> {
    pub(crate) net: &'a Net,
    pub(crate) site_https: &'a Url,
    pub(crate) site_response: Option<&'a fetch::Response>,
    /// Why the site's https endpoint gave no response, when it gave none.
    pub(crate) site_error: Option<fetch::Error>,
    pub(crate) site_addrs: &'a [IpAddr],
    pub(crate) site_host: &'a str,
    /// Pages analysed on the way (meta refresh, then mixed content), by URL.
    pub(crate) pages: HashMap<Url, Analysis>,
    /// Every answer given, by URL: the walk from http:// mostly retraces the https one.
    pub(crate) answered: HashMap<Url, HopAnswer>,
    /// The first https request to each other host, for judging its endpoint.
    pub(crate) others: HashMap<String, (Url, Fetched)>,
    /// The walk's first request, made beside the https examination.
    pub(crate) prefetched: Option<(Url, Fetched)>,
    /// Each request of the walk from http:// as it is answered (the walk's own record is
    /// lost if the site times out).
    pub(crate) trail: Option<&'a mut Vec<model::Hop>>,
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
                    super::resolve_location(url, loc)
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
            .net
            .get_on_the_way(url, self.site_host, self.site_addrs)
            .await;
        self.record(url, fetched)
    }
}

/// The requests of a subresource's redirects (the implicit favicon): status and `Location`
/// only, and never an `http://` one, which Chrome blocks instead of requesting.
pub(crate) struct Subresource<'a> {
    net: &'a Net,
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
            Some(kept) => self.net.fetcher.get_on(kept, url).await,
            None => None,
        };
        let fetched = match on_kept {
            Some(f) => f,
            None => {
                self.net
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
