//! Reaching the coordinator: `http://` (plaintext, for a coordinator on loopback) or
//! `https://` (TLS, verified with `--coordinator-ca` or the public roots), a client
//! certificate for mutual TLS, and a bearer token read from a file or the environment —
//! never from the command line. A scheme that does not match what the server speaks is an
//! error that says so, never a silent downgrade; a token is never sent in clear off
//! loopback.

use crate::UsageError;
use proto::v1::scan_service_client::ScanServiceClient;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// The environment variable that may hold the token itself (e.g. from a secret store).
pub const TOKEN_ENV: &str = "SCANCTL_TOKEN";

/// How to reach the coordinator (every command that talks to it takes these).
#[derive(clap::Args, Clone, Debug)]
pub struct Coordinator {
    /// The coordinator's gRPC address: http://HOST:PORT (plaintext, loopback) or
    /// https://HOST:PORT (TLS).
    #[arg(
        long,
        env = "SCANCTL_COORDINATOR",
        default_value = "http://127.0.0.1:50051",
        value_name = "URL"
    )]
    pub coordinator: String,
    /// Verify an https:// coordinator with this CA certificate (PEM) instead of the
    /// public roots.
    #[arg(long, env = "SCANCTL_COORDINATOR_CA", value_name = "PEM")]
    pub coordinator_ca: Option<PathBuf>,
    /// A client certificate (PEM) for a coordinator that requires one (mutual TLS).
    #[arg(
        long,
        env = "SCANCTL_CLIENT_CERT",
        value_name = "PEM",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// The key (PEM) of --client-cert.
    #[arg(
        long,
        env = "SCANCTL_CLIENT_KEY",
        value_name = "PEM",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
    /// A file whose first line is the bearer token (or the token itself in SCANCTL_TOKEN).
    #[arg(long, env = "SCANCTL_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// The client every cluster command uses: the token rides on each call.
pub type Client = ScanServiceClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer TOKEN` (marked sensitive: never indexed by HPACK).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

fn read(flag: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| UsageError(format!("{flag} {}: {e}", path.display())).into())
}

impl Coordinator {
    /// The token: the first line of --token-file, else SCANCTL_TOKEN.
    fn token(&self) -> anyhow::Result<Option<String>> {
        let token = match &self.token_file {
            Some(path) => {
                let text = String::from_utf8_lossy(&read("--token-file", path)?).into_owned();
                Some(text.lines().next().unwrap_or("").trim().to_owned())
            }
            None => std::env::var(TOKEN_ENV).ok().map(|t| t.trim().to_owned()),
        };
        match token {
            Some(t) if t.is_empty() => {
                Err(UsageError("the token (--token-file or SCANCTL_TOKEN) is empty".into()).into())
            }
            t => Ok(t),
        }
    }

    fn tls(&self) -> anyhow::Result<ClientTlsConfig> {
        let mut tls = ClientTlsConfig::new();
        tls = match &self.coordinator_ca {
            Some(ca) => tls.ca_certificate(Certificate::from_pem(read("--coordinator-ca", ca)?)),
            None => tls.with_webpki_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            tls = tls.identity(Identity::from_pem(
                read("--client-cert", cert)?,
                read("--client-key", key)?,
            ));
        }
        Ok(tls)
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Connect to the coordinator, with a clear message when it is not there or speaks
/// another protocol than the URL says.
pub async fn connect(c: &Coordinator) -> anyhow::Result<Client> {
    let url = &c.coordinator;
    let uri: tonic::codegen::http::Uri = url
        .parse()
        .map_err(|e| UsageError(format!("--coordinator {url:?} is not a URL: {e}")))?;
    let host = uri.host().unwrap_or_default().to_owned();
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(UsageError(format!(
                "--coordinator {url:?}: use http://HOST:PORT or https://HOST:PORT"
            ))
            .into());
        }
    };
    if !tls && (c.coordinator_ca.is_some() || c.client_cert.is_some()) {
        return Err(UsageError(format!(
            "--coordinator-ca/--client-cert are for TLS, but {url} is plaintext: use https://"
        ))
        .into());
    }
    let token = c.token()?;
    if token.is_some() && !tls && !is_loopback(&host) {
        return Err(UsageError(format!(
            "refusing to send a token in clear to {host}: use an https:// coordinator URL"
        ))
        .into());
    }
    let bearer = match token {
        Some(t) => {
            let mut v: MetadataValue<Ascii> = format!("Bearer {t}")
                .parse()
                .map_err(|_| UsageError("the token holds characters a header cannot".into()))?;
            v.set_sensitive(true);
            Some(v)
        }
        None => None,
    };
    let mut endpoint = Channel::from_shared(url.to_owned())
        .map_err(|e| UsageError(format!("--coordinator {url:?} is not a URL: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(3600));
    if tls {
        endpoint = endpoint.tls_config(c.tls()?)?;
    }
    let channel = match endpoint.connect().await {
        Ok(channel) => channel,
        Err(e) => return Err(unreachable(c, &e)),
    };
    Ok(ScanServiceClient::with_interceptor(channel, Bearer(bearer))
        .max_decoding_message_size(64 * 1024 * 1024))
}

/// Every message of an error's chain, joined.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(next) = cause {
        out.push_str(": ");
        out.push_str(&next.to_string());
        cause = next.source();
    }
    out
}

/// The innermost error text ("connection refused"), not tonic's "transport error".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    // "Connection refused (os error 111)" → "connection refused"
    let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => text,
    }
}

/// What a TLS failure means for the user, from the error chain's text.
fn tls_hint(c: &Coordinator, text: &str) -> Option<String> {
    let t = text.to_lowercase();
    let url = &c.coordinator;
    if t.contains("certificaterequired") || t.contains("certificate required") {
        Some(format!(
            "the coordinator at {url} requires a client certificate (--client-cert, --client-key)"
        ))
    } else if t.contains("unknownca")
        || t.contains("badcertificate")
        || t.contains("bad certificate")
        || t.contains("certificateunknown")
    {
        Some(format!(
            "the coordinator at {url} did not accept the client certificate (not issued by its --client-ca?)"
        ))
    } else if t.contains("invalid peer certificate") {
        Some(format!(
            "the coordinator at {url} presented a certificate that cannot be verified ({}): \
             is --coordinator-ca the CA that issued it, and does it name the URL's host?",
            root_cause_text(text)
        ))
    } else if c.coordinator.starts_with("https:")
        && (t.contains("corrupt message")
            || t.contains("invalidcontenttype")
            || t.contains("tls handshake eof"))
    {
        Some(format!(
            "the coordinator at {url} does not speak TLS (a plaintext server?): \
             refusing to fall back to plaintext"
        ))
    } else {
        None
    }
}

fn root_cause_text(chain: &str) -> &str {
    chain.rsplit(": ").next().unwrap_or(chain)
}

/// Does something at `host:port` answer an HTTP/2 preface with a TLS record? Only asked
/// on a failure's path (blocking, bounded by 3 s per step).
fn speaks_tls(authority: &str) -> bool {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let probe = || -> Option<bool> {
        let addr = authority.to_socket_addrs().ok()?.next()?;
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").ok()?;
        let mut head = [0u8; 2];
        s.read_exact(&mut head).ok()?;
        // A TLS record: alert (21) or handshake (22), version 3.x.
        Some(matches!(head, [21 | 22, 3]))
    };
    probe().unwrap_or(false)
}

/// A TLS handshake with the coordinator as `c` configures it, then a read: a server that
/// refuses the client (no certificate, one it does not trust) says so with an alert that
/// the gRPC connection may have lost in a race with its own shutdown. The error text, or
/// `None` when the handshake and the read went through (or timed out). Only asked on a
/// failure's path, on a thread of its own (bounded by 3 s per step).
fn tls_probe(c: &Coordinator) -> Option<String> {
    let c = c.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(tls_probe_async(&c))
    })
    .join()
    .ok()
    .flatten()
}

async fn tls_probe_async(c: &Coordinator) -> Option<String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let step = Duration::from_secs(3);
    let uri: tonic::codegen::http::Uri = c.coordinator.parse().ok()?;
    let host = uri
        .host()?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let mut roots = rustls::RootCertStore::empty();
    match &c.coordinator_ca {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path).ok()? {
                roots.add(cert.ok()?).ok()?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let mut config = match (&c.client_cert, &c.client_key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .ok()?
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            builder
                .with_client_auth_cert(chain, PrivateKeyDer::from_pem_file(key).ok()?)
                .ok()?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::time::timeout(step, tokio::net::TcpStream::connect((host.as_str(), port)))
        .await
        .ok()?
        .ok()?;
    let name = ServerName::try_from(host).ok()?;
    let mut tls = match tokio::time::timeout(step, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return Some(e.to_string()),
        Err(_) => return None,
    };
    if let Err(e) = tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await {
        return Some(e.to_string());
    }
    let mut buf = [0u8; 64];
    match tokio::time::timeout(step, tls.read(&mut buf)).await {
        Ok(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}

/// A failure to reach the coordinator, explained.
fn unreachable(c: &Coordinator, e: &(dyn std::error::Error + 'static)) -> anyhow::Error {
    let url = &c.coordinator;
    let text = chain(e);
    if let Some(hint) = tls_hint(c, &text) {
        return anyhow::anyhow!(hint);
    }
    probe_hint(c).unwrap_or_else(|| {
        anyhow::anyhow!("cannot reach the coordinator at {url}: {}", root_cause(e))
    })
}

/// For an http:// URL: a TLS server there gets a message saying so. For an https:// one:
/// what a TLS handshake of our own and a read tell ([`tls_probe`]).
fn probe_hint(c: &Coordinator) -> Option<anyhow::Error> {
    let url = &c.coordinator;
    if url.starts_with("https:") {
        let text = tls_probe(c)?;
        return tls_hint(c, &text).map(|hint| anyhow::anyhow!(hint));
    }
    let authority = url.strip_prefix("http://")?.split('/').next()?;
    speaks_tls(authority).then(|| {
        anyhow::anyhow!(
            "the coordinator at {url} speaks TLS: use https://{authority} (with --coordinator-ca)"
        )
    })
}

/// A failed call that never reached the service (refused credentials, TLS, transport),
/// explained; `None` for the service's own answers.
pub fn explain(c: &Coordinator, status: &tonic::Status) -> Option<anyhow::Error> {
    let url = &c.coordinator;
    match status.code() {
        tonic::Code::Unauthenticated => Some(anyhow::anyhow!(
            "the coordinator at {url} refused the credentials: {}",
            status.message()
        )),
        tonic::Code::PermissionDenied => Some(anyhow::anyhow!(
            "the coordinator at {url} refused: {}",
            status.message()
        )),
        tonic::Code::Unavailable
        | tonic::Code::Unknown
        | tonic::Code::Internal
        | tonic::Code::Cancelled => {
            let text = match std::error::Error::source(status) {
                Some(source) => format!("{}: {}", status.message(), chain(source)),
                None => status.message().to_owned(),
            };
            if let Some(hint) = tls_hint(c, &text) {
                return Some(anyhow::anyhow!(hint));
            }
            probe_hint(c)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in ["127.0.0.1", "127.120.0.9", "localhost", "[::1]", "::1"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["10.0.0.5", "coordinator.internal", "[2001:db8::1]"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn tls_failures_are_told_in_words() {
        let c = |url: &str| Coordinator {
            coordinator: url.into(),
            coordinator_ca: None,
            client_cert: None,
            client_key: None,
            token_file: None,
        };
        let https = c("https://h:1");
        assert!(
            tls_hint(
                &https,
                "transport error: received fatal alert: CertificateRequired"
            )
            .unwrap()
            .contains("requires a client certificate")
        );
        assert!(
            tls_hint(
                &https,
                "error: received corrupt message of type InvalidContentType"
            )
            .unwrap()
            .contains("does not speak TLS")
        );
        assert!(
            tls_hint(&https, "invalid peer certificate: UnknownIssuer")
                .unwrap()
                .contains("--coordinator-ca")
        );
        assert!(tls_hint(&https, "connection refused").is_none());
    }
}
