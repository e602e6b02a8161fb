//! Metrics and health over HTTP, for the coordinator and the workers (`--metrics-listen`).
//!
//! One small HTTP/1 server per process answers three paths:
//! - `GET /metrics`: the process's [`Registry`] in the Prometheus text format (names
//!   prefixed `govscan_`, units in the names). A `refresh` hook runs first, so gauges read
//!   from Redis (the coordinator's queued sites) are current at each scrape.
//! - `GET /healthz`: 200 while the process serves at all (liveness).
//! - `GET /readyz`: 200 when the `ready` check passes (Redis reachable, taking work), 503
//!   with the reason otherwise (readiness).
//!
//! Off loopback the listener speaks TLS and `/metrics` wants the scraper's client
//! certificate ([`tls`]).
//!
//! The registry is built by the caller and passed in: no global recorder, so a test can run
//! two servers in one process. Every connection is bounded in time ([`REQUEST_TIMEOUT`]) and
//! in number ([`MAX_CONNECTIONS`]).

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

pub mod tls;
pub use tls::{MetricsListener, MetricsTls, MetricsTlsArgs, TlsError};

/// The metric name prefix.
pub const PREFIX: &str = "govscan";
/// Longest a scrape or probe may take, refresh and readiness check included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 32;

/// A registry whose metric names start with `govscan_`.
pub fn registry() -> Registry {
    Registry::with_prefix(PREFIX)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    program: String,
    version: String,
}

/// Register `govscan_build_info{program, version} 1`.
pub fn register_build_info(registry: &mut Registry, program: &str, version: &str) {
    let family = Family::<BuildLabels, Gauge>::default();
    family
        .get_or_create(&BuildLabels {
            program: program.to_owned(),
            version: version.to_owned(),
        })
        .set(1);
    registry.register(
        "build_info",
        "The program and its version (always 1)",
        family,
    );
}

/// Runs before each scrape (e.g. reads gauges from Redis).
pub type Refresh = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;
/// The readiness check: `Err(reason)` makes `/readyz` answer 503 with the reason.
pub type Ready = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// What the server exposes.
#[derive(Clone)]
pub struct Endpoints {
    pub registry: Arc<Registry>,
    pub refresh: Option<Refresh>,
    pub ready: Ready,
}

/// Serve `/metrics`, `/healthz` and `/readyz` on `listener` until `shutdown`: over TLS
/// with `tls` (`/metrics` then only for a client certificate of the scrapers' CA), else
/// in plaintext.
pub async fn serve(
    listener: tokio::net::TcpListener,
    endpoints: Endpoints,
    tls: Option<MetricsTls>,
    shutdown: CancellationToken,
) {
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.config));
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => return,
            p = Arc::clone(&permits).acquire_owned() => p.expect("never closed"),
        };
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("metrics listener: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let endpoints = endpoints.clone();
        let shutdown = shutdown.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let served = async {
                match acceptor {
                    None => connection(stream, endpoints, true).await,
                    Some(acceptor) => {
                        let Ok(Ok(stream)) =
                            tokio::time::timeout(REQUEST_TIMEOUT, acceptor.accept(stream)).await
                        else {
                            return;
                        };
                        // The verifier checked any certificate presented: one is there only
                        // when the scrapers' CA signed it.
                        let scraper = stream.get_ref().1.peer_certificates().is_some();
                        connection(stream, endpoints, scraper).await;
                    }
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::timeout(REQUEST_TIMEOUT * 3, served) => {}
            }
            drop(permit);
        });
    }
}

/// Serve one connection; `scraper`: the caller may read `/metrics`.
async fn connection<IO>(io: IO, endpoints: Endpoints, scraper: bool)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let endpoints = endpoints.clone();
        async move { Ok::<_, std::convert::Infallible>(answer(&endpoints, req, scraper).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

async fn answer<B>(endpoints: &Endpoints, req: Request<B>, scraper: bool) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            PLAIN,
            "GET only\n".to_owned(),
        );
    }
    match req.uri().path() {
        "/metrics" if !scraper => text(
            StatusCode::FORBIDDEN,
            PLAIN,
            "/metrics needs a client certificate of the scrapers' CA\n".to_owned(),
        ),
        "/metrics" => {
            if let Some(refresh) = &endpoints.refresh
                && tokio::time::timeout(REQUEST_TIMEOUT, refresh())
                    .await
                    .is_err()
            {
                tracing::warn!("metrics refresh took longer than {REQUEST_TIMEOUT:?}");
            }
            let mut body = String::new();
            match prometheus_client::encoding::text::encode(&mut body, &endpoints.registry) {
                Ok(()) => text(
                    StatusCode::OK,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    body,
                ),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, PLAIN, format!("{e}\n")),
            }
        }
        "/healthz" => text(StatusCode::OK, PLAIN, "ok\n".to_owned()),
        "/readyz" => match tokio::time::timeout(REQUEST_TIMEOUT, (endpoints.ready)()).await {
            Ok(Ok(())) => text(StatusCode::OK, PLAIN, "ready\n".to_owned()),
            Ok(Err(why)) => text(StatusCode::SERVICE_UNAVAILABLE, PLAIN, format!("{why}\n")),
            Err(_) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                PLAIN,
                "readiness check timed out\n".to_owned(),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            PLAIN,
            "/metrics, /healthz or /readyz\n".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::counter::Counter;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn metrics_health_and_readiness_are_served() {
        let mut reg = registry();
        register_build_info(&mut reg, "scan-test", "1.2.3");
        let hits = Counter::<u64>::default();
        reg.register("hits", "Hits", hits.clone());
        let refreshed = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let endpoints = Endpoints {
            registry: Arc::new(reg),
            refresh: Some({
                let (refreshed, hits) = (Arc::clone(&refreshed), hits.clone());
                Arc::new(move || {
                    let (refreshed, hits) = (Arc::clone(&refreshed), hits.clone());
                    Box::pin(async move {
                        hits.inc();
                        refreshed.store(true, Ordering::SeqCst);
                    })
                })
            }),
            ready: {
                let ready = Arc::clone(&ready);
                Arc::new(move || {
                    let ok = ready.load(Ordering::SeqCst);
                    Box::pin(async move { if ok { Ok(()) } else { Err("redis down".into()) } })
                })
            },
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, endpoints, None, shutdown.clone()));

        let m = get(addr, "/metrics").await;
        assert!(m.starts_with("HTTP/1.1 200"), "{m}");
        assert!(
            m.contains(r#"govscan_build_info{program="scan-test",version="1.2.3"} 1"#),
            "{m}"
        );
        assert!(m.contains("govscan_hits_total 1"), "refresh ran first: {m}");
        assert!(refreshed.load(Ordering::SeqCst));
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
        let r = get(addr, "/readyz").await;
        assert!(
            r.starts_with("HTTP/1.1 503") && r.contains("redis down"),
            "{r}"
        );
        ready.store(true, Ordering::SeqCst);
        assert!(get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
        assert!(get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
        shutdown.cancel();
        server.await.unwrap();
    }
}
