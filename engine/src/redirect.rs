//! The walk from `http://HOST/PATH`: 3xx responses with a `Location` and `<meta
//! http-equiv=refresh>` with delay 0, followed as a browser would, at most
//! [`Limits::max_redirects`](crate::Limits) hops, with loops and downgrades (an https URL
//! sending the visitor back to http) recorded.
//!
//! Like Chrome, the walk refuses to go to a port on Chrome's restricted list
//! ([`RESTRICTED_PORTS`]: SMTP, SSH, IRC…): such a hop ends the walk with
//! [`End::BadLocation`] naming `ERR_UNSAFE_PORT`, and nothing is requested there.
//!
//! The walk itself knows no network: it asks a [`HopFetch`] for each URL, so the logic is
//! tested with a table of canned answers and the engine plugs in real requests (reusing the
//! https endpoint it has already examined).

mod requests;

pub(crate) use requests::{Hops, implicit_favicon};

use crate::fetch;
use crate::mixed_content::Analysis;
use model::{Hop, HopKind};
use std::collections::HashSet;
use std::future::Future;
use url::Url;

/// What one request of the walk answered.
#[derive(Debug, Clone, Default)]
pub struct HopAnswer {
    /// The status, `None` when the request failed.
    pub status: Option<u16>,
    /// The `Location` header of a 3xx response, as sent.
    pub location: Option<String>,
    /// The target of a delay-0 meta refresh on an HTML page (already resolved).
    pub meta_refresh: Option<Url>,
    /// Why no response came back.
    pub error: Option<fetch::Error>,
}

/// Answers the walk's requests.
pub trait HopFetch {
    fn fetch(&mut self, url: &Url) -> impl Future<Output = HopAnswer> + Send;
}

/// How the walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// A response that sends the visitor nowhere further.
    Reached { url: Url, status: u16 },
    /// A request got no response.
    Failed { url: Url, error: fetch::Error },
    /// A URL came back (`repeated`), or the hop limit was passed.
    Loop { url: Url, repeated: bool },
    /// A `Location` that cannot be followed (unparsable, or not http/https).
    BadLocation {
        url: Url,
        location: String,
        reason: String,
    },
}

impl End {
    /// The URL the walk stopped at.
    pub fn url(&self) -> &Url {
        match self {
            End::Reached { url, .. }
            | End::Failed { url, .. }
            | End::Loop { url, .. }
            | End::BadLocation { url, .. } => url,
        }
    }
}

/// The whole walk.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// One entry per request made.
    pub hops: Vec<Hop>,
    pub end: End,
    /// The first step from an https URL back to an http one, after the walk reached https.
    pub downgrade: Option<(Url, Url)>,
    /// How the walk first went from http to https.
    pub upgraded_by: Option<HopKind>,
}

/// Where a delay-0 meta refresh sends the visitor (not the page itself).
pub(crate) fn meta_target(analysis: &Analysis, url: &Url) -> Option<Url> {
    analysis
        .meta_refresh
        .as_ref()
        .filter(|m| m.delay == 0)
        .and_then(|m| m.url.clone())
        .filter(|u| u != url)
}

/// Resolve a `Location` value against the URL it was sent from, as a browser does.
pub fn resolve_location(base: &Url, location: &str) -> Result<Url, String> {
    let location = location.trim();
    if location.is_empty() {
        return Err("empty Location".into());
    }
    let url = base.join(location).map_err(|e| e.to_string())?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!("scheme {other:?} is not followed")),
    }
}

/// The ports Chrome refuses to connect to for http and https, whatever the page asks
/// (`kRestrictedPorts` in Chromium's `net/base/port_util.cc`, the Fetch standard's "bad
/// ports" plus 0 and 10080): a navigation or redirect there fails with `ERR_UNSAFE_PORT`.
pub const RESTRICTED_PORTS: &[u16] = &[
    0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101,
    102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427,
    465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990,
    993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
    6669, 6697, 10080,
];

/// Why Chrome refuses to go to `url`: its port is restricted (`ERR_UNSAFE_PORT`).
pub fn refused_port(url: &Url) -> Option<String> {
    let port = url.port_or_known_default()?;
    RESTRICTED_PORTS.binary_search(&port).ok().map(|_| {
        format!(
            "ERR_UNSAFE_PORT: browsers refuse to connect to port {port}, a port of another protocol"
        )
    })
}

/// Walk from `start`, following at most `max_redirects` redirects.
pub async fn walk(start: Url, max_redirects: usize, fetcher: &mut impl HopFetch) -> Outcome {
    let mut hops: Vec<Hop> = Vec::new();
    let mut seen: HashSet<Url> = HashSet::new();
    let mut downgrade = None;
    let mut upgraded_by = None;
    let mut reached_https = start.scheme() == "https";
    let mut url = start;
    loop {
        seen.insert(url.clone());
        let answer = fetcher.fetch(&url).await;
        let mut hop = Hop {
            url: url.to_string(),
            status: answer.status,
            location: None,
            via: None,
            error: None,
        };
        let (next, via) = match (answer.status, answer.error) {
            (Some(status), _) => {
                let target = match (answer.location, answer.meta_refresh) {
                    (Some(location), _) => {
                        let next = resolve_location(&url, &location);
                        (next, location, HopKind::Http)
                    }
                    (None, Some(next)) => {
                        (Ok(next.clone()), next.to_string(), HopKind::MetaRefresh)
                    }
                    (None, None) => {
                        hops.push(hop);
                        return Outcome {
                            hops,
                            end: End::Reached { url, status },
                            downgrade,
                            upgraded_by,
                        };
                    }
                };
                let (next, location, via) = target;
                let next = next.and_then(|n| refused_port(&n).map_or(Ok(n), Err));
                match next {
                    Ok(next) => (next, via),
                    Err(reason) => {
                        hop.error = Some(format!("{location:?}: {reason}"));
                        hops.push(hop);
                        let end = End::BadLocation {
                            url,
                            location,
                            reason,
                        };
                        return Outcome {
                            hops,
                            end,
                            downgrade,
                            upgraded_by,
                        };
                    }
                }
            }
            (None, error) => {
                let error = error.unwrap_or_else(|| fetch::Error::Http("no response".into()));
                hop.error = Some(error.to_string());
                hops.push(hop);
                return Outcome {
                    hops,
                    end: End::Failed { url, error },
                    downgrade,
                    upgraded_by,
                };
            }
        };
        hop.location = Some(next.to_string());
        hop.via = Some(via);
        hops.push(hop);

        if url.scheme() == "https"
            && next.scheme() == "http"
            && reached_https
            && downgrade.is_none()
        {
            downgrade = Some((url.clone(), next.clone()));
        }
        if next.scheme() == "https" && !reached_https {
            reached_https = true;
            upgraded_by = Some(via);
        }
        let repeated = seen.contains(&next);
        if repeated || hops.len() > max_redirects {
            return Outcome {
                hops,
                end: End::Loop {
                    url: next,
                    repeated,
                },
                downgrade,
                upgraded_by,
            };
        }
        url = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Canned answers by URL; anything else is refused.
    struct Table(HashMap<String, HopAnswer>, Vec<String>);

    impl HopFetch for Table {
        async fn fetch(&mut self, url: &Url) -> HopAnswer {
            self.1.push(url.to_string());
            self.0.get(url.as_str()).cloned().unwrap_or(HopAnswer {
                error: Some(fetch::Error::Unreachable("refused".into())),
                ..Default::default()
            })
        }
    }

    fn redirect(status: u16, to: &str) -> HopAnswer {
        HopAnswer {
            status: Some(status),
            location: Some(to.into()),
            ..Default::default()
        }
    }

    fn page(status: u16) -> HopAnswer {
        HopAnswer {
            status: Some(status),
            ..Default::default()
        }
    }

    fn meta(to: &str) -> HopAnswer {
        HopAnswer {
            status: Some(200),
            meta_refresh: Some(Url::parse(to).unwrap()),
            ..Default::default()
        }
    }

    fn run(table: &[(&str, HopAnswer)], max: usize) -> (Outcome, Vec<String>) {
        let mut t = Table(
            table
                .iter()
                .map(|(u, a)| (u.to_string(), a.clone()))
                .collect(),
            Vec::new(),
        );
        let start = Url::parse(table[0].0).unwrap();
        let outcome = futures::executor::block_on(walk(start, max, &mut t));
        (outcome, t.1)
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = Url::parse("http://a.gov.tw/dir/page?x=1").unwrap();
        let cases = [
            ("https://a.gov.tw/", "https://a.gov.tw/"),
            ("/root", "http://a.gov.tw/root"),
            ("next", "http://a.gov.tw/dir/next"),
            ("//b.gov.tw/x", "http://b.gov.tw/x"),
            ("  https://A.GOV.TW/Y  ", "https://a.gov.tw/Y"),
            ("?y=2", "http://a.gov.tw/dir/page?y=2"),
        ];
        for (loc, want) in cases {
            assert_eq!(
                resolve_location(&base, loc).unwrap().as_str(),
                want,
                "{loc}"
            );
        }
        assert!(resolve_location(&base, "").is_err());
        assert!(resolve_location(&base, "ftp://a.gov.tw/").is_err());
        assert!(resolve_location(&base, "javascript:alert(1)").is_err());
    }

    #[test]
    fn a_redirect_to_https_is_followed_to_the_end() {
        let (o, asked) = run(
            &[
                ("http://a.gov.tw/", redirect(301, "https://a.gov.tw/")),
                ("https://a.gov.tw/", redirect(302, "/home")),
                ("https://a.gov.tw/home", page(200)),
            ],
            10,
        );
        assert_eq!(asked.len(), 3);
        assert_eq!(
            o.end,
            End::Reached {
                url: Url::parse("https://a.gov.tw/home").unwrap(),
                status: 200
            }
        );
        assert_eq!(o.upgraded_by, Some(HopKind::Http));
        assert_eq!(o.downgrade, None);
        assert_eq!(o.hops[0].status, Some(301));
        assert_eq!(o.hops[0].location.as_deref(), Some("https://a.gov.tw/"));
        assert_eq!(o.hops[0].via, Some(HopKind::Http));
        assert_eq!(o.hops[2].via, None);
    }

    #[test]
    fn a_url_seen_before_is_a_loop() {
        let (o, asked) = run(
            &[
                ("http://a.gov.tw/", redirect(302, "https://a.gov.tw/")),
                ("https://a.gov.tw/", redirect(302, "http://a.gov.tw/")),
            ],
            10,
        );
        assert_eq!(asked.len(), 2, "the repeated URL is not fetched again");
        assert!(matches!(o.end, End::Loop { repeated: true, .. }));
        let (from, to) = o.downgrade.unwrap();
        assert_eq!(
            (from.as_str(), to.as_str()),
            ("https://a.gov.tw/", "http://a.gov.tw/")
        );
    }

    #[test]
    fn more_hops_than_allowed_is_a_loop() {
        let mut table = Vec::new();
        let urls: Vec<String> = (0..6).map(|i| format!("http://a.gov.tw/{i}")).collect();
        for i in 0..5 {
            table.push((urls[i].as_str(), redirect(302, &urls[i + 1])));
        }
        table.push((urls[5].as_str(), page(200)));
        let (o, _) = run(&table, 5);
        assert!(
            matches!(o.end, End::Reached { status: 200, .. }),
            "{:?}",
            o.end
        );
        let (o, asked) = run(&table, 4);
        assert_eq!(asked.len(), 5);
        assert!(matches!(
            o.end,
            End::Loop {
                repeated: false,
                ..
            }
        ));
    }

    #[test]
    fn meta_refresh_counts_as_a_hop_and_is_recorded_as_such() {
        let (o, _) = run(
            &[
                ("http://a.gov.tw/", meta("https://a.gov.tw/")),
                ("https://a.gov.tw/", page(200)),
            ],
            10,
        );
        assert_eq!(o.upgraded_by, Some(HopKind::MetaRefresh));
        assert_eq!(o.hops[0].via, Some(HopKind::MetaRefresh));
        assert!(matches!(o.end, End::Reached { .. }));
    }

    #[test]
    fn a_redirect_still_wins_over_a_meta_refresh_and_failures_end_the_walk() {
        let mut both = redirect(302, "https://b.gov.tw/");
        both.meta_refresh = Some(Url::parse("https://c.gov.tw/").unwrap());
        let (o, asked) = run(&[("http://a.gov.tw/", both)], 10);
        assert_eq!(asked, vec!["http://a.gov.tw/", "https://b.gov.tw/"]);
        match &o.end {
            End::Failed { url, error } => {
                assert_eq!(url.as_str(), "https://b.gov.tw/");
                assert!(matches!(error, fetch::Error::Unreachable(_)));
            }
            other => panic!("{other:?}"),
        }
        assert!(o.hops[1].error.is_some());
    }

    #[test]
    fn https_to_http_after_https_is_a_downgrade_even_when_it_ends_on_https() {
        let (o, _) = run(
            &[
                ("http://a.gov.tw/", redirect(301, "https://a.gov.tw/")),
                ("https://a.gov.tw/", redirect(301, "http://www.a.gov.tw/")),
                (
                    "http://www.a.gov.tw/",
                    redirect(301, "https://www.a.gov.tw/"),
                ),
                ("https://www.a.gov.tw/", page(200)),
            ],
            10,
        );
        assert!(matches!(o.end, End::Reached { status: 200, .. }));
        let (from, to) = o.downgrade.unwrap();
        assert_eq!(from.as_str(), "https://a.gov.tw/");
        assert_eq!(to.as_str(), "http://www.a.gov.tw/");
    }

    #[test]
    fn a_redirect_to_a_port_chrome_restricts_is_refused_not_followed() {
        for (from, to) in [
            (redirect(301, "http://a.gov.tw:25/"), "http://a.gov.tw:25/"),
            (
                redirect(302, "https://a.gov.tw:22/x"),
                "https://a.gov.tw:22/x",
            ),
            (meta("https://a.gov.tw:6667/"), "https://a.gov.tw:6667/"),
        ] {
            let (o, asked) = run(&[("http://a.gov.tw/", from), (to, page(200))], 10);
            assert_eq!(asked, vec!["http://a.gov.tw/"], "{to} is never requested");
            match &o.end {
                End::BadLocation {
                    location, reason, ..
                } => {
                    assert_eq!(location, to);
                    assert!(reason.starts_with("ERR_UNSAFE_PORT"), "{reason}");
                }
                other => panic!("{to}: {other:?}"),
            }
            assert!(
                o.hops[0]
                    .error
                    .as_deref()
                    .unwrap()
                    .contains("ERR_UNSAFE_PORT")
            );
            assert_eq!(o.upgraded_by, None, "{to}: refused, so never reached");
        }
        // Ports of the web are followed, the usual ones and lab ones alike.
        let (o, _) = run(
            &[
                ("http://a.gov.tw/", redirect(301, "https://a.gov.tw:8443/")),
                ("https://a.gov.tw:8443/", page(200)),
            ],
            10,
        );
        assert!(matches!(o.end, End::Reached { status: 200, .. }));
    }

    #[test]
    fn the_restricted_port_list_is_sorted_and_spares_the_web_ports() {
        assert!(RESTRICTED_PORTS.windows(2).all(|w| w[0] < w[1]));
        for port in [80, 443, 8080, 8443] {
            assert!(RESTRICTED_PORTS.binary_search(&port).is_err(), "{port}");
        }
        let url = Url::parse("http://a.gov.tw:443/").unwrap();
        assert_eq!(refused_port(&url), None);
    }

    #[test]
    fn an_unusable_location_ends_the_walk() {
        let (o, _) = run(
            &[("http://a.gov.tw/", redirect(302, "mailto:x@a.gov.tw"))],
            10,
        );
        assert!(matches!(o.end, End::BadLocation { .. }));
        assert!(o.hops[0].error.is_some());
    }
}
