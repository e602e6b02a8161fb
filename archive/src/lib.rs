//! The scan archive: PostgreSQL as the system of record of every scan (管考, follow-up scan
//! after scan).
//!
//! - [`connect`]: a connection from a URL, the password handed in separately (the binaries
//!   read it from a file or the environment, never from argv), TLS through rustls when the
//!   URL asks for it (`sslmode=require`).
//! - [`migrate`]: the versioned schema (`migrations/NNNN_*.sql`), applied once each, in order,
//!   under an advisory lock so two processes starting together do not race.
//! - [`Archive::begin`]: one scan's results, in one transaction, keyed by its source (a
//!   cluster job id, or an import name): archiving the same source again changes nothing.
//! - [`Archive::history`], [`Archive::trend`], [`Archive::site_history`]: the scans, the NDC
//!   figures of each scan per group (computed in SQL: nothing the size of a scan is loaded),
//!   and for a scan's failing sites since when they have been failing.
//!
//! The figures are [`report::Counts`], so a trend's ratio is rounded by the same function as
//! every report's.

mod connect;
mod migrate;
mod read;
mod write;

pub use connect::{Tls, connect};
pub use migrate::{MIGRATIONS, Migration};
pub use read::{FailingSince, GroupBy, ScanInfo, TrendQuery, TrendRow};
pub use write::{Begin, Outcome, ScanMeta, Writer};

/// Why the archive could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL does not parse.
    #[error("database URL: {0}")]
    Url(String),
    /// The URL carries a password: it would end up in argv, logs and shell history.
    #[error(
        "the database URL carries a password; give it in a file (--db-password-file) or in PGPASSWORD instead"
    )]
    PasswordInUrl,
    /// TLS set-up failed (CA file unreadable or not PEM).
    #[error("TLS to the database: {0}")]
    Tls(String),
    /// PostgreSQL said no, or the connection failed.
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The source was archived before with different content.
    #[error(
        "{scan:?} is already archived with different content (fingerprint {stored}, now {given}); import it under another name"
    )]
    Conflict {
        scan: String,
        stored: String,
        given: String,
    },
    /// No scan with this name or id.
    #[error("no archived scan {0:?}")]
    UnknownScan(String),
    /// A stored result that is not a site result.
    #[error("stored result of {url}: {error}")]
    BadResult { url: String, error: String },
}

/// A connected archive.
pub struct Archive {
    client: tokio_postgres::Client,
}

impl Archive {
    /// Wrap a connected client (see [`connect`]).
    pub fn new(client: tokio_postgres::Client) -> Self {
        Archive { client }
    }

    /// The client, for queries the archive has no method for (benchmarks, EXPLAIN).
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.client
    }

    /// Apply the migrations not applied yet; returns the versions applied now.
    pub async fn migrate(&mut self) -> Result<Vec<i32>, Error> {
        migrate::apply(&mut self.client).await
    }
}
