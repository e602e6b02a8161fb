//! The listeners: HTTP/1.1 by hyper (plain, or behind rustls with the certificate chosen by
//! SNI), silent sockets that accept and never answer, and `openssl s_server` children.
//!
//! Every task is spawned on the farm's [`TaskTracker`] and stops when its
//! [`CancellationToken`] fires; every connection holds a permit of one semaphore, so the
//! farm never serves more than its connection limit at once.

use crate::Error;
use crate::spec::{OpenSslMode, Routes};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a client may take to send its request headers or finish a handshake.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// What every listener shares: the stop signal, the owner of the tasks, the connection
/// limit and the added latency.
#[derive(Clone)]
pub(crate) struct Shared {
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
    pub permits: Arc<Semaphore>,
    pub latency: Duration,
    /// Connections accepted so far, all listeners together.
    pub accepted: Arc<AtomicU64>,
    /// TLS handshakes completed so far, all HTTPS listeners together.
    pub handshakes: Arc<AtomicU64>,
    /// Connections open now and the most open at once, per address.
    pub open: Arc<OpenConnections>,
}

/// Connections open per address (all its ports together), with the most seen at once: what
/// a polite scanner must keep low.
///
/// A connection counts from its accept until the client closes it, as the kernel knows it
/// (`POLLRDHUP`: the client's FIN has arrived), not until the farm's task gets round to
/// reading the end: otherwise a client that closes one connection and opens the next at once
/// would be seen holding both.
#[derive(Debug, Default)]
pub struct OpenConnections {
    by_ip: std::sync::Mutex<HashMap<std::net::IpAddr, PerIp>>,
}

#[derive(Debug, Default)]
struct PerIp {
    /// The connections not yet dropped by the farm: an id and a duplicate of the socket's
    /// descriptor to ask the kernel about (dropped with the connection, so it never holds
    /// a socket open longer than the farm does).
    live: Vec<(u64, std::os::fd::OwnedFd)>,
    next: u64,
    max: usize,
}

/// Whether the client has closed (or reset) the connection, as far as the kernel knows.
fn client_closed(fd: &std::os::fd::OwnedFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(fd, PollFlags::RDHUP)];
    match poll(&mut fds, Some(&Timespec::default())) {
        Ok(0) => false,
        Ok(_) => fds[0]
            .revents()
            .intersects(PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR),
        Err(_) => false,
    }
}

impl OpenConnections {
    /// Count `stream` open on `ip` (with every other connection there the client still
    /// holds); `None` when its descriptor cannot be duplicated (out of descriptors).
    fn opened(self: &Arc<Self>, ip: std::net::IpAddr, stream: &TcpStream) -> Option<Open> {
        use std::os::fd::AsFd;
        let fd = stream.as_fd().try_clone_to_owned().ok()?;
        let mut map = self.by_ip.lock().expect("open lock");
        let per = map.entry(ip).or_default();
        let held = per.live.iter().filter(|(_, fd)| !client_closed(fd)).count() + 1;
        per.max = per.max.max(held);
        per.next += 1;
        per.live.push((per.next, fd));
        Some(Open {
            counter: Arc::clone(self),
            ip,
            id: per.next,
        })
    }

    fn closed(&self, ip: std::net::IpAddr, id: u64) {
        if let Some(per) = self.by_ip.lock().expect("open lock").get_mut(&ip) {
            per.live.retain(|(i, _)| *i != id);
        }
    }

    /// The most connections open at once on `ip` so far.
    pub fn max(&self, ip: std::net::IpAddr) -> usize {
        self.by_ip
            .lock()
            .expect("open lock")
            .get(&ip)
            .map_or(0, |per| per.max)
    }
}

/// Counts a connection open until dropped.
struct Open {
    counter: Arc<OpenConnections>,
    ip: std::net::IpAddr,
    id: u64,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.counter.closed(self.ip, self.id);
    }
}

/// The sites of one address, by host.
#[derive(Debug, Default)]
pub(crate) struct Hosts {
    pub by_name: HashMap<String, Routes>,
}

impl Hosts {
    /// One site's routes, whatever the Host header says.
    fn single(routes: Routes) -> Hosts {
        Hosts {
            by_name: HashMap::from([(String::new(), routes)]),
        }
    }

    fn routes(&self, host: &str) -> Option<&Routes> {
        if self.by_name.len() == 1 {
            return self.by_name.values().next();
        }
        self.by_name.get(host)
    }
}

/// Certificates of one address, chosen by SNI (the first one when SNI is absent or
/// unknown, as a shared host's default site).
#[derive(Debug)]
pub(crate) struct Sni {
    pub by_name: HashMap<String, Arc<CertifiedKey>>,
    pub default: Arc<CertifiedKey>,
}

impl ResolvesServerCert for Sni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let by_name = hello
            .server_name()
            .and_then(|n| self.by_name.get(&n.to_ascii_lowercase()));
        Some(by_name.unwrap_or(&self.default).clone())
    }
}

pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("bind {addr}"), e))
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, Error> {
    listener
        .local_addr()
        .map_err(|e| Error::io("address of a listener", e))
}

/// Accept connections until cancelled, handing each to `handle` with a permit held.
fn accept_loop<F, Fut>(listener: TcpListener, shared: &Shared, handle: F)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let s = shared.clone();
    let ip = listener.local_addr().map(|a| a.ip()).ok();
    shared.tracker.spawn(async move {
        loop {
            // Accept first, then wait for a permit: an idle listener holds none, so a farm
            // with more listeners than its connection limit still serves every address.
            let stream = tokio::select! {
                _ = s.cancel.cancelled() => return,
                r = listener.accept() => match r {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!("farm accept on {:?}: {e}", listener.local_addr());
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let open = ip.and_then(|ip| s.open.opened(ip, &stream));
            let permit = tokio::select! {
                _ = s.cancel.cancelled() => return,
                p = s.permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            s.accepted.fetch_add(1, Ordering::Relaxed);
            let fut = handle(stream);
            let cancel = s.cancel.clone();
            s.tracker.spawn(async move {
                let _permit = permit;
                let _open = open;
                tokio::select! {
                    _ = cancel.cancelled() => {}
                    _ = fut => {}
                }
            });
        }
    });
}

/// Serve plain HTTP on `listener`.
pub(crate) fn http(listener: TcpListener, hosts: Arc<Hosts>, shared: &Shared) {
    let latency = shared.latency;
    accept_loop(listener, shared, move |stream| {
        let hosts = hosts.clone();
        async move { serve_http(stream, hosts, latency).await }
    });
}

/// Serve HTTPS (rustls, certificate by SNI) on `listener`.
pub(crate) fn https(listener: TcpListener, sni: Sni, hosts: Arc<Hosts>, shared: &Shared) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_no_client_auth().with_cert_resolver(Arc::new(sni)));
    let config = match config {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::error!("farm TLS config: {e}");
            return;
        }
    };
    let acceptor = TlsAcceptor::from(config);
    let latency = shared.latency;
    let handshakes = shared.handshakes.clone();
    accept_loop(listener, shared, move |stream| {
        let hosts = hosts.clone();
        let acceptor = acceptor.clone();
        let handshakes = handshakes.clone();
        async move {
            match tokio::time::timeout(CLIENT_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    handshakes.fetch_add(1, Ordering::Relaxed);
                    serve_http(tls, hosts, latency).await
                }
                Ok(Err(e)) => tracing::debug!("farm handshake: {e}"),
                Err(_) => tracing::debug!("farm handshake timed out"),
            }
        }
    });
}

/// Accept connections and never answer; read and discard until the client gives up.
/// Returns the count of connections the client closed.
pub(crate) fn silent(listener: TcpListener, shared: &Shared) -> Arc<AtomicU64> {
    let closed: Arc<AtomicU64> = Arc::default();
    let count = closed.clone();
    accept_loop(listener, shared, move |mut stream| {
        let closed = closed.clone();
        async move {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            closed.fetch_add(1, Ordering::SeqCst);
        }
    });
    count
}

/// Listeners for tests that place their sites themselves (the engine's): plain HTTP and
/// HTTPS answering from one site's [`Routes`], and silent sockets, each on an address the
/// caller picks. Counts the connections accepted and the handshakes completed; its tasks
/// stop when it is dropped.
pub struct Servers {
    shared: Shared,
}

impl Default for Servers {
    fn default() -> Self {
        Servers {
            shared: Shared {
                cancel: CancellationToken::new(),
                tracker: TaskTracker::new(),
                permits: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
                latency: Duration::ZERO,
                accepted: Arc::default(),
                handshakes: Arc::default(),
                open: Arc::default(),
            },
        }
    }
}

impl Servers {
    /// Plain HTTP on `addr` (port 0: a free port); where it listens.
    pub async fn http(&self, addr: SocketAddr, routes: Routes) -> Result<SocketAddr, Error> {
        let listener = bind(addr).await?;
        let addr = local_addr(&listener)?;
        http(listener, Arc::new(Hosts::single(routes)), &self.shared);
        Ok(addr)
    }

    /// HTTPS (TLS 1.2 and 1.3) on `addr`, sending `cert` whatever the SNI; where it listens.
    pub async fn https(
        &self,
        addr: SocketAddr,
        cert: Arc<CertifiedKey>,
        routes: Routes,
    ) -> Result<SocketAddr, Error> {
        let listener = bind(addr).await?;
        let addr = local_addr(&listener)?;
        let sni = Sni {
            by_name: HashMap::new(),
            default: cert,
        };
        https(listener, sni, Arc::new(Hosts::single(routes)), &self.shared);
        Ok(addr)
    }

    /// A socket on `addr` that accepts and never answers: where it listens, and the count
    /// of its connections the client closed.
    pub async fn silent(&self, addr: SocketAddr) -> Result<(SocketAddr, Arc<AtomicU64>), Error> {
        let listener = bind(addr).await?;
        let addr = local_addr(&listener)?;
        Ok((addr, silent(listener, &self.shared)))
    }

    /// Connections accepted so far, every listener together.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// TLS handshakes completed so far, every HTTPS listener together.
    pub fn handshakes(&self) -> u64 {
        self.shared.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

/// A certificate chain (leaf first) and its key, as a server sends them.
pub fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, Error> {
    let key = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key)?;
    Ok(Arc::new(CertifiedKey::new(chain, key)))
}

async fn serve_http<S>(stream: S, hosts: Arc<Hosts>, latency: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let hosts = hosts.clone();
        async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            Ok::<_, Infallible>(respond(&req, &hosts))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(CLIENT_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = conn.await {
        tracing::debug!("farm connection: {e}");
    }
}

/// The host a request is for: the Host header (or the URI's), lowercase, port and trailing
/// dot removed.
fn request_host<B>(req: &Request<B>) -> String {
    let raw = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or("");
    let host = raw.rsplit_once(':').map(|(h, _)| h).unwrap_or(raw);
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn respond<B>(req: &Request<B>, hosts: &Hosts) -> Response<Full<Bytes>> {
    let host = request_host(req);
    let Some(routes) = hosts.routes(&host) else {
        let mut r = Response::new(Full::new(Bytes::from_static(b"no such site here")));
        *r.status_mut() = StatusCode::MISDIRECTED_REQUEST;
        return r;
    };
    let reply = routes.reply(req.uri().path());
    let mut resp = Response::new(Full::new(reply.body.clone()));
    *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    for (name, value) in &reply.headers {
        let value = value.replace("{host}", &host);
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
    resp
}

/// A running `openssl s_server -www` on `addr`, killed when dropped.
pub(crate) async fn openssl_server(
    addr: SocketAddr,
    mode: OpenSslMode,
    files: &(std::path::PathBuf, std::path::PathBuf, std::path::PathBuf),
    log: &Path,
    docroot: Option<&Path>,
) -> Result<tokio::process::Child, Error> {
    let mut args: Vec<std::ffi::OsString> = vec!["-quiet".into()];
    // With a docroot, files there are complete HTTP responses.
    args.push(if docroot.is_some() { "-HTTP" } else { "-www" }.into());
    args.extend([
        "-cert".into(),
        files.0.clone().into(),
        "-cert_chain".into(),
        files.1.clone().into(),
        "-key".into(),
        files.2.clone().into(),
    ]);
    let mode_args: Vec<String> = match mode {
        OpenSslMode::LegacyOnly => vec![
            "-tls1_1".into(),
            "-cipher".into(),
            "DEFAULT:@SECLEVEL=0".into(),
        ],
        OpenSslMode::LegacyBeside12 => [
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ]
        .map(String::from)
        .to_vec(),
        OpenSslMode::Tls12Cipher(c) => vec![
            "-tls1_2".into(),
            "-serverpref".into(),
            "-cipher".into(),
            format!("{c}:@SECLEVEL=0"),
        ],
    };
    args.extend(mode_args.into_iter().map(Into::into));
    s_server(addr, &args, docroot, log).await
}

/// A running `openssl s_server -accept ADDR ARGS`, started in `dir` (for relative file
/// names) with its stderr in `log`, once it listens; killed when dropped.
pub async fn s_server<A: AsRef<std::ffi::OsStr>>(
    addr: SocketAddr,
    args: &[A],
    dir: Option<&Path>,
    log: &Path,
) -> Result<tokio::process::Child, Error> {
    let accept = addr.to_string();
    let mut cmd = tokio::process::Command::new("openssl");
    cmd.args(["s_server", "-accept", &accept]).args(args);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let log_file = std::fs::File::create(log)
        .map_err(|e| Error::io(format!("create {}", log.display()), e))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Error::OpenSsl(format!(
            "cannot run openssl s_server (is openssl installed?): {e}"
        ))
    })?;
    // Wait until it listens (bounded), or report why it died.
    for _ in 0..400 {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(Error::OpenSsl(format!(
                "openssl s_server on {addr} exited ({status}): {}",
                log.trim()
            )));
        }
        if TcpStream::connect(addr).await.is_ok() {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(Error::OpenSsl(format!(
        "openssl s_server on {addr} did not start listening"
    )))
}
