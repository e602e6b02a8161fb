//! One bounded HTTP/1.1 request over one connection.
//!
//! TCP to each allowed address in turn (a connect timeout each), for `https` a rustls
//! handshake that captures the protocol, cipher and the chain as served, then a single `GET`
//! on that same connection: the https endpoint is examined with one handshake. A connection
//! can be kept open ([`Fetcher::get_kept`]) for one more request to the same origin, as a
//! browser asks for a page's `/favicon.ico` on the page's own connection. Headers are
//! capped by hyper's read buffer, the body by [`Limits::max_body_bytes`](crate::Limits) (read
//! only when it is HTML the scan will look at, and then streamed through the HTML parser of
//! [`mixed_content`] as it arrives, never held whole: the memory of a site in flight does
//! not grow with its page), the whole response by a timeout.
//!
//! Failures are data ([`Error`]), never panics: whatever a server sends ends up in a
//! [`Fetched`].

use crate::mixed_content::{self, Analysis};
use bytes::Bytes;
use futures::FutureExt;
use futures::future::FusedFuture;
use futures::future::{BoxFuture, Fuse};
use http::header::{ACCEPT, ACCEPT_ENCODING, CONNECTION, CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use http::{HeaderMap, HeaderValue, Request};
use http_body_util::{BodyExt, Empty};
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::Url;

/// hyper refuses a read buffer below this size.
const MIN_HEADER_BUFFER: usize = 8192;

/// Why a request gave no (usable) response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The name did not resolve.
    #[error("{0}")]
    Dns(crate::dns::Error),
    /// Every address the name resolved to is refused by the policy.
    #[error("{0}")]
    TargetPrivate(crate::policy::Refused),
    /// The host is on the operator's exclusion list (`--exclude`): not contacted.
    #[error("{0}")]
    Excluded(String),
    /// No address accepted the connection (refused, unreachable).
    #[error("connection failed: {0}")]
    Unreachable(String),
    /// No address answered the connection in time.
    #[error("connecting timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The TLS handshake did not finish in time.
    #[error("the TLS handshake did not finish within {0:?}")]
    TlsTimeout(Duration),
    /// The TLS handshake failed (rustls' reason).
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// No complete response head in time.
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
    /// The server answered something that is not HTTP/1.x, closed early, or sent headers
    /// past the cap.
    #[error("bad HTTP response: {0}")]
    Http(String),
}

impl Error {
    /// Whether this is one of the timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::ConnectTimeout(_)
                | Error::TlsTimeout(_)
                | Error::ResponseTimeout(_)
                | Error::Dns(crate::dns::Error::Timeout(_))
        )
    }
}

/// What the TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSession {
    /// `TLSv1.3`, `TLSv1.2`.
    pub protocol: String,
    /// IANA name, e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher: String,
    /// The chain as the server sent it, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

/// A response head and, for HTML pages with a 2xx status, what the body holds (read up to
/// the cap through the HTML parser as it arrived; the body itself is not kept).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    /// The page's mixed content, meta refresh and icon link, for a 2xx HTML page with a
    /// body; `mixed.truncated` when the body was cut at the cap (or the connection broke
    /// while reading it).
    pub page: Option<Analysis>,
}

impl Response {
    /// The first value of header `name`, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` of a 3xx response.
    pub fn location(&self) -> Option<&str> {
        if (300..400).contains(&self.status) {
            self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
        } else {
            None
        }
    }

    /// Whether the page is HTML a browser would render (or says nothing of its type).
    pub fn is_html(&self) -> bool {
        is_html(&self.headers)
    }
}

fn is_html(headers: &HeaderMap) -> bool {
    match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(ct) => {
            let ct = ct.trim_start().to_ascii_lowercase();
            ct.starts_with("text/html") || ct.starts_with("application/xhtml")
        }
    }
}

/// Everything one request showed, as far as it got.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The address the connection was made to.
    pub address: Option<SocketAddr>,
    /// For `https`, the handshake, when it succeeded.
    pub tls: Option<TlsSession>,
    pub result: Result<Response, Error>,
}

impl Fetched {
    /// A request that failed before any connection.
    pub fn failed(error: Error) -> Fetched {
        Fetched {
            address: None,
            tls: None,
            result: Err(error),
        }
    }
}

/// An https connection left open after its response was read to the end, for the next
/// request to the same origin (scheme, host, port). Dropping it closes the connection.
pub struct Kept {
    origin: url::Origin,
    sender: SendRequest<Empty<Bytes>>,
    /// Drives the connection; polled only while a request on it is in flight.
    conn: Fuse<BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Kept {
    /// Whether a request for `url` may go on this connection.
    pub fn serves(&self, url: &Url) -> bool {
        url.origin() == self.origin
    }
}

/// Whether a request leaves its connection open for another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reuse {
    Close,
    Keep,
}

/// Makes requests. Built once by the engine.
pub struct Fetcher {
    tls: tokio_rustls::TlsConnector,
    user_agent: HeaderValue,
    limits: crate::Limits,
}

impl Fetcher {
    pub fn new(
        tls: Arc<rustls::ClientConfig>,
        user_agent: &str,
        limits: crate::Limits,
    ) -> Result<Fetcher, crate::Error> {
        let user_agent = HeaderValue::from_str(user_agent)
            .map_err(|e| crate::Error::Config(format!("invalid User-Agent: {e}")))?;
        Ok(Fetcher {
            tls: tokio_rustls::TlsConnector::from(tls),
            user_agent,
            limits,
        })
    }

    /// `GET url` from the first of `addrs` (already resolved and allowed) that accepts a
    /// connection on `port`.
    pub async fn get(&self, url: &Url, addrs: &[IpAddr], port: u16) -> Fetched {
        self.get_with(url, addrs, port, Reuse::Close).await.0
    }

    /// [`get`](Self::get), keeping an https connection open when its response was read to
    /// the end, for [`get_on`](Self::get_on).
    pub async fn get_kept(
        &self,
        url: &Url,
        addrs: &[IpAddr],
        port: u16,
    ) -> (Fetched, Option<Kept>) {
        self.get_with(url, addrs, port, Reuse::Keep).await
    }

    /// `GET url` on a kept connection; `None` when the server closed it in the meantime (the
    /// caller then opens a new one, as a browser does).
    pub async fn get_on(&self, kept: Kept, url: &Url) -> Option<Fetched> {
        let Kept {
            origin: _,
            mut sender,
            mut conn,
        } = kept;
        let ready = async {
            tokio::select! {
                r = sender.ready() => r.is_ok(),
                () = &mut conn => false,
            }
        };
        let timeout = self.limits.response_timeout;
        if !tokio::time::timeout(timeout, ready).await.unwrap_or(false) {
            return None;
        }
        let request = self.request_for(url, Reuse::Close).ok()?;
        let result = tokio::time::timeout(timeout, self.send(&mut sender, &mut conn, request, url))
            .await
            .unwrap_or(Err(Error::ResponseTimeout(timeout)))
            .map(|(response, _)| response);
        Some(Fetched {
            address: None,
            tls: None,
            result,
        })
    }

    async fn get_with(
        &self,
        url: &Url,
        addrs: &[IpAddr],
        port: u16,
        reuse: Reuse,
    ) -> (Fetched, Option<Kept>) {
        let (tcp, address) = match self.connect(addrs, port).await {
            Ok(c) => c,
            Err(e) => return (Fetched::failed(e), None),
        };
        let host = url.host_str().unwrap_or_default();
        if url.scheme() != "https" {
            let (result, _) = self.request(tcp, url, Reuse::Close).await;
            let fetched = Fetched {
                address: Some(address),
                tls: None,
                result,
            };
            return (fetched, None);
        }
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let server_name = match ServerName::try_from(name.to_owned()) {
            Ok(n) => n,
            Err(e) => {
                let fetched = Fetched {
                    address: Some(address),
                    tls: None,
                    result: Err(Error::Tls(format!(
                        "{name:?} is not a valid server name: {e}"
                    ))),
                };
                return (fetched, None);
            }
        };
        let timeout = self.limits.tls_timeout;
        let stream = match tokio::time::timeout(timeout, self.tls.connect(server_name, tcp)).await {
            Err(_) => Err(Error::TlsTimeout(timeout)),
            Ok(Err(e)) => Err(Error::Tls(tls_reason(&e))),
            Ok(Ok(s)) => Ok(s),
        };
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                let fetched = Fetched {
                    address: Some(address),
                    tls: None,
                    result: Err(e),
                };
                return (fetched, None);
            }
        };
        let conn = stream.get_ref().1;
        let session = TlsSession {
            protocol: match conn.protocol_version() {
                Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
                Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
                Some(v) => format!("{v:?}"),
                None => String::new(),
            },
            cipher: conn
                .negotiated_cipher_suite()
                .map(|s| {
                    let suite = s.suite();
                    suite
                        .as_str()
                        .map_or_else(|| format!("{suite:?}"), str::to_owned)
                })
                .unwrap_or_default(),
            chain: conn
                .peer_certificates()
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
        };
        let (result, kept) = self.request(stream, url, reuse).await;
        let fetched = Fetched {
            address: Some(address),
            tls: Some(session),
            result,
        };
        (fetched, kept)
    }

    async fn connect(&self, addrs: &[IpAddr], port: u16) -> Result<(TcpStream, SocketAddr), Error> {
        let timeout = self.limits.connect_timeout;
        let mut last = None;
        for &ip in addrs {
            let addr = SocketAddr::new(ip, port);
            match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    let _ = tcp.set_nodelay(true);
                    return Ok((tcp, addr));
                }
                Ok(Err(e)) => last = Some(Error::Unreachable(format!("{addr}: {e}"))),
                Err(_) => {
                    if last.is_none() {
                        last = Some(Error::ConnectTimeout(timeout));
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Unreachable("no address to connect to".into())))
    }

    /// One `GET` on an established connection, bounded by the response timeout; with
    /// [`Reuse::Keep`], the connection back when the response was read to its end.
    async fn request<S>(
        &self,
        io: S,
        url: &Url,
        reuse: Reuse,
    ) -> (Result<Response, Error>, Option<Kept>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let timeout = self.limits.response_timeout;
        tokio::time::timeout(timeout, self.exchange(io, url, reuse))
            .await
            .unwrap_or((Err(Error::ResponseTimeout(timeout)), None))
    }

    async fn exchange<S>(
        &self,
        io: S,
        url: &Url,
        reuse: Reuse,
    ) -> (Result<Response, Error>, Option<Kept>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut builder = hyper::client::conn::http1::Builder::new();
        builder.max_buf_size(self.limits.max_header_bytes.max(MIN_HEADER_BUFFER));
        let (mut sender, conn) = match builder.handshake::<_, Empty<Bytes>>(TokioIo::new(io)).await
        {
            Ok(c) => c,
            Err(e) => return (Err(Error::Http(e.to_string())), None),
        };
        let request = match self.request_for(url, reuse) {
            Ok(r) => r,
            Err(e) => return (Err(e), None),
        };
        let mut conn = async move {
            let _ = conn.await;
        }
        .boxed()
        .fuse();
        let result = self.send(&mut sender, &mut conn, request, url).await;
        match result {
            Ok((response, true)) if reuse == Reuse::Keep && !conn.is_terminated() => {
                let kept = Kept {
                    origin: url.origin(),
                    sender,
                    conn,
                };
                (Ok(response), Some(kept))
            }
            other => (other.map(|(response, _)| response), None),
        }
    }

    /// The request for `url`, saying whether the connection closes after it.
    fn request_for(&self, url: &Url, reuse: Reuse) -> Result<Request<Empty<Bytes>>, Error> {
        let mut target = url.path().to_owned();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let mut host = url.host_str().unwrap_or_default().to_owned();
        if let Some(port) = url.port() {
            host = format!("{host}:{port}");
        }
        let mut request = Request::get(target)
            .header(HOST, host)
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .header(ACCEPT_ENCODING, "identity");
        if reuse == Reuse::Close {
            request = request.header(CONNECTION, "close");
        }
        request
            .body(Empty::new())
            .map_err(|e| Error::Http(format!("could not form the request: {e}")))
    }

    /// Send `request` for `url` and read its response (a 2xx HTML page through the parser, up
    /// to the cap),
    /// driving the connection meanwhile; whether the body was read to its end.
    async fn send(
        &self,
        sender: &mut SendRequest<Empty<Bytes>>,
        conn: &mut Fuse<BoxFuture<'static, ()>>,
        request: Request<Empty<Bytes>>,
        url: &Url,
    ) -> Result<(Response, bool), Error> {
        let max_body = self.limits.max_body_bytes;
        let max_samples = self.limits.max_samples;
        let work = async move {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| Error::Http(e.to_string()))?;
            let status = response.status().as_u16();
            let (parts, mut body) = response.into_parts();
            let mut page = None;
            let mut read_to_end = false;
            // Only a 2xx HTML page is read, chunk by chunk through the parser: the scan looks
            // for meta refresh and mixed content, and holds no page whole.
            if (200..300).contains(&status) && is_html(&parts.headers) {
                let mut reader = mixed_content::Reader::new(url, max_samples);
                let mut truncated = false;
                while let Some(frame) = body.frame().await {
                    let Ok(frame) = frame else {
                        truncated = true;
                        break;
                    };
                    let Ok(chunk) = frame.into_data() else {
                        continue;
                    };
                    let room = max_body - reader.bytes_read();
                    if chunk.len() > room {
                        reader.write(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    reader.write(&chunk);
                }
                if reader.bytes_read() > 0 {
                    page = Some(reader.finish(truncated));
                }
                read_to_end = !truncated;
            }
            let response = Response {
                status,
                headers: parts.headers,
                page,
            };
            // An unread body leaves the connection unusable for another request.
            Ok((response, read_to_end || body.is_end_stream()))
        };
        tokio::pin!(work);
        // Drive the connection and the exchange together; when the connection ends first,
        // the exchange sees its end (a response already read, or an error).
        tokio::select! {
            result = &mut work => result,
            () = conn => work.await,
        }
    }
}

/// rustls' error as a webmaster-readable reason.
fn tls_reason(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
    }
}
