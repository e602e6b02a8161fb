//! A farm of simulated government sites on loopback, with real TLS, HTTP and DNS — the
//! test bed of the scanner.
//!
//! # What it is
//! Each site gets a loopback address (`127.77.x.y` by default; all of `127/8` is loopback
//! on Linux, no set-up needed) and is served on port 80 (HTTP by hyper) and port 443
//! (TLS by rustls, or a real `openssl s_server` child for old protocols and ciphers).
//! Several sites may share one address, as on shared government hosting: the certificate
//! is then chosen by SNI and the behaviour by the Host header. A real DNS responder
//! (hickory-server, UDP and TCP on `127.0.0.1:<free port>`) is authoritative for the
//! farm's zones (`gov.test`): A records for every site, NXDOMAIN for unknown names.
//! Certificates are made at start: a farm root CA (written to [`Farm::ca_pem_path`], for
//! the scanner's `--ca-file`), an intermediate, and one leaf per flaw of [`Cert`]; the
//! SHA-1 and RSA-1024 ones with the `openssl` CLI, which must be installed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), farm::Error> {
//! let farm = farm::Farm::catalog().start().await?;
//! farm.write_csv(std::path::Path::new("/tmp/sites.csv"))?;
//! // scanctl scan /tmp/sites.csv --dns-server {farm.dns_addr()} \
//! //   --ca-file {farm.ca_pem_path()} --allow-private-targets
//! for site in farm.sites() {
//!     println!("{} expects {:?}", site.host, site.expect);
//! }
//! farm.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # The catalog and the fleet
//! [`Farm::catalog`] is one site per behaviour of `CHECKS.md`, each with the exact verdict
//! ([`Expect`]) a correct scan reaches. [`FarmBuilder::fleet`] adds N cheap generated sites
//! in a national mix for benchmarks: sites share addresses and, where healthy, one
//! certificate per address.
//!
//! # The hostile farm
//! [`hostile::HostileFarm`] serves, beside the catalog, sites that attack the scanner
//! (slowloris, endless and huge bodies, giant headers, redirect storms, a redirect to a
//! port browsers refuse, edge certificate dates, bidi names), each with its expected
//! verdict, on `127.113.0.0/16`.
//!
//! # A kit for other tests
//! Tests that place their own sites (the engine's) use the farm's pieces on their own: the
//! DNS responder ([`Dns`], records added while it runs), HTTP, HTTPS and silent listeners
//! answering from [`Routes`] ([`Servers`]), `openssl s_server` children ([`s_server`]), a
//! certificate factory at a fixed date ([`certs`]), [`certified_key`], [`pem_encode`] and
//! [`aia_extension`].
//!
//! # Ports
//! Ports default to 80 and 443, which needs root (or `CAP_NET_BIND_SERVICE`). Other ports
//! can be set on the builder; the scanner's lab flags (`--http-port`/`--https-port`,
//! `Config::http_port`/`https_port`) must then match, since redirects and AIA URLs name
//! no port.
//!
//! # Ownership
//! Every server task belongs to the [`Farm`]: [`Farm::shutdown`] stops and awaits them, and
//! dropping the farm cancels them and kills the `openssl` children.

mod catalog;
pub mod certs;
mod dns;
mod farm;
mod fleet;
pub mod hostile;
mod pki;
mod serve;
mod spec;

pub use dns::Dns;
pub use farm::{Farm, FarmBuilder, FarmSite};
pub use fleet::Mix;
pub use pki::{ClusterCa, aia_extension, pem_encode};
pub use serve::{Servers, certified_key, s_server};
pub use spec::{
    Cert, Expect, ONE_YEAR, OpenSslMode, PNG, Page, Plain, Reply, Routes, Secure, SiteSpec,
};

/// Why the farm could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("certificate generation: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("openssl: {0}")]
    OpenSsl(String),
    #[error("DNS: {0}")]
    Dns(String),
    #[error("farm specification: {0}")]
    Spec(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
