//! TLS for the metrics listener, so it may listen off loopback: the server's certificate,
//! and the CA of the scrapers. `/metrics` answers only a client that presented a
//! certificate that CA signed; `/healthz` and `/readyz` answer any TLS client (a load
//! balancer's health check carries no certificate) and say nothing but up/ready.
//!
//! Off loopback without TLS the listener is refused ([`MetricsTlsArgs::load`]) unless
//! `--insecure-metrics` says so: the standard of every listener here (the coordinator's
//! gRPC port has the same rule).

use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The metrics listener's TLS flags (the same in the coordinator and the worker).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct MetricsTlsArgs {
    /// Serve /metrics, /healthz and /readyz over TLS with this certificate chain (PEM);
    /// needs --metrics-tls-key and --metrics-client-ca.
    #[arg(
        long,
        env = "SCAN_METRICS_TLS_CERT",
        value_name = "PEM",
        requires_all = ["metrics_tls_key", "metrics_client_ca"]
    )]
    pub metrics_tls_cert: Option<PathBuf>,
    /// The metrics listener's private key (PEM).
    #[arg(
        long,
        env = "SCAN_METRICS_TLS_KEY",
        value_name = "PEM",
        requires = "metrics_tls_cert"
    )]
    pub metrics_tls_key: Option<PathBuf>,
    /// The scrapers' CA (PEM): /metrics answers only a client certificate it signed;
    /// /healthz and /readyz answer any TLS client.
    #[arg(
        long,
        env = "SCAN_METRICS_CLIENT_CA",
        value_name = "PEM",
        requires = "metrics_tls_cert"
    )]
    pub metrics_client_ca: Option<PathBuf>,
    /// Allow a plaintext, unauthenticated metrics listener off loopback (a test network
    /// only: anyone who reaches the port reads the metrics).
    #[arg(long, env = "SCAN_METRICS_INSECURE")]
    pub insecure_metrics: bool,
}

/// Why the metrics listener's TLS could not be set up, or why it may not listen.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{flag} {}: {source}", path.display())]
    Read {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{flag} {}: {why}", path.display())]
    Pem {
        flag: &'static str,
        path: PathBuf,
        why: String,
    },
    #[error("the metrics TLS set-up: {0}")]
    Config(String),
    #[error("--metrics-listen {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(
        "refusing to serve metrics on {addr} (off loopback) in plaintext without a check of \
         the scraper: give --metrics-tls-cert, --metrics-tls-key and --metrics-client-ca, \
         listen on 127.0.0.1, or pass --insecure-metrics"
    )]
    Exposed { addr: SocketAddr },
}

/// A loaded TLS set-up for [`crate::serve`].
#[derive(Clone, Debug)]
pub struct MetricsTls {
    pub(crate) config: Arc<rustls::ServerConfig>,
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

fn certificates(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(flag, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            flag,
            path: path.to_owned(),
            why: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            flag,
            path: path.to_owned(),
            why: "no CERTIFICATE in it".into(),
        });
    }
    Ok(certs)
}

/// A bound metrics listener and its TLS set-up: what [`crate::serve`] takes.
#[derive(Debug)]
pub struct MetricsListener {
    pub listener: tokio::net::TcpListener,
    pub tls: Option<MetricsTls>,
}

impl MetricsTlsArgs {
    /// Bind `addr` (`--metrics-listen`) and set up its TLS, refusing a plaintext listener
    /// off loopback: done before anything else listens or connects.
    pub async fn bind(&self, addr: &str) -> Result<MetricsListener, TlsError> {
        let bind_error = |source| TlsError::Bind {
            addr: addr.to_owned(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(bind_error)?;
        let tls = self.load(listener.local_addr().map_err(bind_error)?)?;
        Ok(MetricsListener { listener, tls })
    }

    /// The TLS set-up for a listener on `addr`: `None` for plaintext (allowed on loopback,
    /// or off it with `--insecure-metrics`).
    pub fn load(&self, addr: SocketAddr) -> Result<Option<MetricsTls>, TlsError> {
        let (Some(cert), Some(key), Some(ca)) = (
            &self.metrics_tls_cert,
            &self.metrics_tls_key,
            &self.metrics_client_ca,
        ) else {
            if addr.ip().is_loopback() || self.insecure_metrics {
                return Ok(None);
            }
            return Err(TlsError::Exposed { addr });
        };
        let chain = certificates("--metrics-tls-cert", cert)?;
        let key_pem = read("--metrics-tls-key", key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
            flag: "--metrics-tls-key",
            path: key.clone(),
            why: format!("no private key in it ({e})"),
        })?;
        let mut roots = rustls::RootCertStore::empty();
        for c in certificates("--metrics-client-ca", ca)? {
            roots
                .add(c)
                .map_err(|e| TlsError::Config(format!("--metrics-client-ca: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(MetricsTls {
            config: Arc::new(config),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_loopback_plaintext_metrics_are_refused_unless_insecure() {
        let args = MetricsTlsArgs::default();
        assert!(
            args.load("127.0.0.1:9100".parse().unwrap())
                .unwrap()
                .is_none()
        );
        assert!(args.load("[::1]:9100".parse().unwrap()).unwrap().is_none());
        let err = args.load("0.0.0.0:9100".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("--metrics-tls-cert"), "{err}");
        let insecure = MetricsTlsArgs {
            insecure_metrics: true,
            ..MetricsTlsArgs::default()
        };
        assert!(
            insecure
                .load("0.0.0.0:9100".parse().unwrap())
                .unwrap()
                .is_none()
        );
    }

    use crate::{Endpoints, registry, serve};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_util::sync::CancellationToken;

    /// GET `path` over TLS (trusting `ca`), with `client` (certificate, key) when given:
    /// the response, or `None` when the handshake or the connection failed.
    async fn get(
        addr: SocketAddr,
        ca: &Path,
        client: Option<&(PathBuf, PathBuf)>,
        path: &str,
    ) -> Option<String> {
        let mut roots = rustls::RootCertStore::empty();
        for c in certificates("ca", ca).unwrap() {
            roots.add(c).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match client {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    certificates("cert", cert).unwrap(),
                    PrivateKeyDer::from_pem_file(key).unwrap(),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
        let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .ok()?;
        tls.write_all(
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .ok()?;
        let mut out = String::new();
        tls.read_to_string(&mut out).await.ok()?;
        (!out.is_empty()).then_some(out)
    }

    #[tokio::test]
    async fn over_tls_metrics_want_a_scrapers_certificate_and_health_does_not() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["ca", "other"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let ca = farm::ClusterCa::new(&dir.path().join("ca")).unwrap();
        let other = farm::ClusterCa::new(&dir.path().join("other")).unwrap();
        let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let (cert, key) = ca.server("metrics", &[ip], &[]).unwrap();
        let scraper = ca.client("prometheus", "prometheus", None).unwrap();
        let stranger = other.client("stranger", "prometheus", None).unwrap();
        let args = MetricsTlsArgs {
            metrics_tls_cert: Some(cert),
            metrics_tls_key: Some(key),
            metrics_client_ca: Some(ca.ca_path()),
            insecure_metrics: false,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tls = args.load(addr).unwrap();
        assert!(tls.is_some());
        let endpoints = Endpoints {
            registry: Arc::new(registry()),
            refresh: None,
            ready: Arc::new(|| Box::pin(async { Ok(()) })),
        };
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, endpoints, tls, shutdown.clone()));
        let ca_pem = ca.ca_path();

        let metrics = get(addr, &ca_pem, Some(&scraper), "/metrics")
            .await
            .unwrap();
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        let anonymous = get(addr, &ca_pem, None, "/metrics").await.unwrap();
        assert!(anonymous.starts_with("HTTP/1.1 403"), "{anonymous}");
        for path in ["/healthz", "/readyz"] {
            let health = get(addr, &ca_pem, None, path).await.unwrap();
            assert!(health.starts_with("HTTP/1.1 200"), "{path}: {health}");
        }
        // A certificate of another CA: the handshake fails, nothing is served.
        assert!(
            get(addr, &ca_pem, Some(&stranger), "/healthz")
                .await
                .is_none()
        );
        // Plaintext HTTP to the TLS port gets no HTTP answer.
        let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
        plain
            .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = plain.read_to_end(&mut out).await;
        assert!(!String::from_utf8_lossy(&out).contains("HTTP/1.1 200"));
        shutdown.cancel();
        server.await.unwrap();
    }
}
