//! Connecting: the URL without its password, the password handed in, TLS through rustls.
//!
//! `sslmode=disable` talks in the clear; `prefer` (PostgreSQL's default) tries TLS and falls
//! back when the server has none; `require` refuses a server without TLS. Whenever TLS is
//! used the server's certificate is verified (webpki roots plus `--db-ca-file`) for the
//! host of the URL, as `verify-full` does in libpq.

use crate::{Archive, Error};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// How long a connection (TCP, TLS and authentication) may take when the URL sets no
/// `connect_timeout`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The roots a TLS connection to the database trusts.
#[derive(Clone, Default)]
pub struct Tls {
    extra_roots: Vec<CertificateDer<'static>>,
}

impl Tls {
    /// Also trust the certificates of this PEM (a private CA, as databases often use).
    pub fn with_ca_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::Tls(format!("CA file: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Tls("CA file: no certificate in it".into()));
        }
        self.extra_roots.extend(certs);
        Ok(self)
    }

    fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &self.extra_roots {
            roots
                .add(cert.clone())
                .map_err(|e| Error::Tls(format!("CA certificate: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// Connect to the database of `url` (`postgres://user@host:port/db?sslmode=…`), with
/// `password` when the server asks for one. A password inside the URL is refused.
///
/// The connection is driven by a task of its own that ends when the [`Archive`] is dropped.
pub async fn connect(url: &str, password: Option<&str>, tls: &Tls) -> Result<Archive, Error> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| Error::Url(format!("{e}")))?;
    if config.get_password().is_some() {
        return Err(Error::PasswordInUrl);
    }
    if let Some(p) = password {
        config.password(p);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name("govscan");
    let connector = Rustls {
        config: tls.client_config()?,
    };
    let (client, connection) = config.connect(connector).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("database connection: {e}");
        }
    });
    Ok(Archive::new(client))
}

/// tokio-postgres's TLS hook, over the workspace's rustls (no OpenSSL).
#[derive(Clone)]
struct Rustls {
    config: Arc<rustls::ClientConfig>,
}

impl<S> MakeTlsConnect<S> for Rustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Connect, Self::Error> {
        Ok(Connect {
            config: self.config.clone(),
            name: ServerName::try_from(domain.to_owned())?,
        })
    }
}

struct Connect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { Ok(Stream(connector.connect(self.name, stream).await?)) })
    }
}

/// A TLS stream to the database.
pub struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM works without channel binding; `-PLUS` is not offered.
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
