//! The scanning engine: given a [`model::Site`], decide whether a browser would show the
//! padlock on it (`https_ok`), whether `http://` sends visitors there (`forced_https`), and
//! every finding that explains why not.
//!
//! # Design
//! The engine knows nothing of gRPC, Redis or files. The worker binary, the embedded
//! `scanctl scan` and the tests all drive the same [`Engine`].
//!
//! One module per thing observed, each returning plain observations:
//! - [`policy`]: which addresses may be contacted (private, loopback and link-local
//!   targets are refused unless allowed; the operator's [`exclude`] list never), checked
//!   after every resolution;
//! - [`polite`]: at most N sites in flight against one address (a lease per site);
//! - [`dns`]: resolution through hickory, with an optional nameserver;
//! - [`fetch`]: one bounded request on one connection (TCP, then TLS with the served chain
//!   captured), every step under a timeout and every header and body under a cap;
//! - [`tls`]: judging the captured chain as a browser would (trust store, AIA completion,
//!   hostname by SAN, validity, weak signatures and keys);
//! - [`legacy`]: a raw ClientHello probe that tells what protocol versions a server really
//!   speaks, where rustls (TLS 1.2/1.3 only) cannot;
//! - [`redirect`]: the walk from `http://HOST/` through 3xx and meta refresh;
//! - [`hsts`]: the Strict-Transport-Security header;
//! - [`mixed_content`]: insecure references on the final https page, by class;
//! - [`verdict`]: a pure step that turns observations into `https_ok`, `forced_https` and
//!   findings, tested with tables; the only place findings are made (the chain's `cert_*`
//!   in `verdict/chain.rs`, from the observations of `tls/chain.rs`).
//!
//! Inside the crate, `https` probes the https endpoint (handshake, chain, response, the
//! legacy probe), `web` reaches the hosts beyond it (the walk's other hosts, AIA, https
//! copies), and [`site_task`] runs one site's scan as a task whose panic becomes a result.
//!
//! # One site
//! [`Engine::scan`] resolves the name (cached; every address policy-checked), then at once
//! examines `https://HOST/PATH` — one connection for the handshake, the chain and the HTTP
//! response; the legacy probe when rustls fails (a TLS 1.2 suite only browsers speak still
//! earns the padlock) and for TLS 1.0/1.1 still accepted — and makes the first request of
//! the walk from `http://HOST/PATH`. The walk reuses the https answer when it lands on it, and
//! an https endpoint on another host it ends on is judged from the walk's own request. Mixed
//! content is read from the final https page, each HTML page parsed once. AIA intermediates
//! and the https copies of upgradable references are fetched by one shared client whose
//! resolver applies the same policy. Everything runs under the site timeout; past it, what
//! was seen is judged and a `timeout` finding added.
//!
//! Findings are not errors: an expired certificate is a finding. [`Error`] means the engine
//! itself could not be built (bad configuration).

pub mod dns;
pub mod exclude;
pub mod fetch;
#[doc(hidden)]
pub mod fuzzing;
pub mod hsts;
pub mod legacy;
pub mod mixed_content;
pub mod policy;
pub mod polite;
pub mod redirect;
pub mod tls;
pub mod verdict;

#[cfg(feature = "cli")]
pub mod flags;

mod config;
mod engine;
mod https;
mod task;
mod web;

pub use config::{Config, DEFAULT_PER_IP_CONCURRENCY, Limits, default_user_agent};
pub use engine::Engine;
pub use task::site_task;

/// Process set-up for a scanner binary (`scanctl scan`, `scan-worker`): no transparent huge
/// pages. The allocator advises its arenas for huge pages; with thousands of sites in flight
/// the kernel then spends ~4% of the scanner's CPU zeroing 2 MiB pages freshly faulted in,
/// and small pages leave ~20 MB less resident at 2,000 sites in flight (BENCHMARKS.md,
/// "Issue 12, part 5"). A kernel that refuses changes nothing but the speed.
pub fn prefer_small_pages() -> std::io::Result<()> {
    rustix::thread::disable_transparent_huge_pages(true).map_err(std::io::Error::from)
}

/// Why an [`Engine`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("could not read CA file {path}: {source}")]
    CaFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("CA file {0} holds no usable certificate")]
    CaFileEmpty(String),
    #[error("DNS resolver: {0}")]
    Resolver(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("configuration: {0}")]
    Config(String),
}
