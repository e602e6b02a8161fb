//! The https endpoint, probed: one connection for the handshake, the served chain and the
//! HTTP response (with HSTS and the page); the legacy ClientHello probe where rustls fails
//! (a TLS 1.2 suite only browsers speak still earns the padlock) and to find TLS 1.0/1.1
//! still accepted; the chain judged by both browsers' profiles. What it sees is an
//! [`Endpoint`] observation for the [`verdict`](crate::verdict), and the result's
//! [`HttpsDetails`].

use crate::Config;
use crate::fetch::{self, Fetched};
use crate::legacy::{self, Offer, ProbeOutcome, Version};
use crate::mixed_content::{Analysis, analyze_page, asks_for_implicit_favicon};
use crate::redirect::{self, meta_target};
use crate::tls;
use crate::verdict::{Endpoint, Reach, Response};
use crate::web::Net;
use model::HttpsDetails;
use rustls_pki_types::UnixTime;
use std::net::{IpAddr, SocketAddr};
use url::Url;

/// Examines https endpoints: what the engine lends it.
pub(crate) struct Examiner<'a> {
    pub(crate) net: &'a Net,
    pub(crate) config: &'a Config,
    /// The profile `https_ok` is judged by, and the other browser's.
    pub(crate) judge: &'a tls::Judge,
}

/// What examining an https endpoint saw.
pub(crate) struct Examined {
    pub(crate) endpoint: Endpoint,
    pub(crate) details: HttpsDetails,
    pub(crate) response: Option<fetch::Response>,
    /// The page, when it is 2xx HTML.
    pub(crate) analysis: Option<Analysis>,
    /// The implicit `/favicon.ico` of the page's origin, already asked for on the page's
    /// connection (the site's own endpoint): where it steps down to http, if it does.
    pub(crate) favicon: Option<(url::Origin, Option<(Url, Url)>)>,
}

impl Examiner<'_> {
    /// Examine an https endpoint: one connection for the handshake and the response; the
    /// legacy probe where rustls fails, and (when `probe_legacy`) for TLS 1.0/1.1 still
    /// accepted.
    pub(crate) async fn examine(
        &self,
        url: &Url,
        host: &str,
        addrs: &[IpAddr],
        now: UnixTime,
        probe_legacy: bool,
    ) -> Examined {
        let port = self.net.port_of(url);
        // The site's own page may be followed by its `/favicon.ico`, on the same connection.
        let (fetched, kept) = if probe_legacy && self.config.check_implicit_favicon {
            self.net.fetcher.get_kept(url, addrs, port).await
        } else {
            (self.net.fetcher.get(url, addrs, port).await, None)
        };
        // Read once here; the walk and the mixed-content step reuse it.
        let analysis = fetched.result.as_ref().ok().and_then(analyze_page);
        // A page that names no icon: Chrome asks for its origin's /favicon.ico on the page's
        // connection. Asked now, before anything else connects to the address, and the
        // connection closed (one connection at a time per site on a leased address).
        let favicon = match (kept, &analysis) {
            (Some(kept), Some(a)) if asks_for_implicit_favicon(a) => Some((
                url.origin(),
                redirect::implicit_favicon(
                    self.net,
                    self.config.limits.max_https_redirects,
                    url,
                    host,
                    addrs,
                    Some(kept),
                )
                .await,
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
                        details.cipher = Some(if tls::speaks(cipher) {
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

    /// The https endpoint of another host met on the way, judged once: from the walk's own
    /// request, or, where rustls refused the handshake, with the probe. `None` when neither
    /// applies.
    pub(crate) async fn other_endpoint(
        &self,
        url: &Url,
        host: &str,
        fetched: &Fetched,
        now: UnixTime,
    ) -> Option<Endpoint> {
        if fetched.tls.is_some() {
            Some(self.endpoint_from_walk(url, host, fetched, now).await)
        } else if let Err(fetch::Error::Tls(_)) = &fetched.result {
            let addrs = self.net.addresses_of(host).await.ok()?;
            Some(self.examine(url, host, &addrs, now, false).await.endpoint)
        } else {
            None
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
        self.judge.judge(served, host, now, &self.net.web).await
    }
}

/// Why an examined endpoint gave no HTTP response, as the walk reports it.
pub(crate) fn no_response_reason(e: &Endpoint) -> Option<fetch::Error> {
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
