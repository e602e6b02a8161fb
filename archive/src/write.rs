//! Writing one scan: a row in `scans` keyed by its source, its sites, one result per site.
//!
//! The whole scan is one transaction, so a scan is in the archive completely or not at all:
//! a coordinator killed half way leaves nothing, and its next start archives the job again.
//! A source already archived is not written again ([`Begin::Already`]); one archived with a
//! different fingerprint is refused ([`Error::Conflict`]).
//!
//! Rows go in as the results' JSON, in batches (`unnest` of a `jsonb[]`): every column is
//! derived from the JSON by the INSERT itself, so the stored JSON and the columns cannot
//! disagree, and a field the engine adds later is archived without a change here.

use crate::{Archive, Error};
use time::OffsetDateTime;
use tokio_postgres::Transaction;

/// What describes a scan besides its results.
#[derive(Debug, Clone)]
pub struct ScanMeta {
    /// `job:<uuid>` or `import:<name>`: what makes a second archive the same scan.
    pub source: String,
    pub name: String,
    /// The job id, or the SHA-256 of the imported file.
    pub fingerprint: String,
    /// When the scan started and finished; from the results' `scanned_at` when not given.
    pub started: Option<OffsetDateTime>,
    pub finished: Option<OffsetDateTime>,
    pub scanner_version: String,
    /// What the scan was run with (the job's label, the file's name...).
    pub settings: serde_json::Value,
}

/// What [`Archive::begin`] found.
pub enum Begin<'a> {
    /// Not archived yet: write the results, then [`Writer::finish`].
    New(Writer<'a>),
    /// Archived before with the same fingerprint: nothing to do.
    Already(i64),
}

/// How an archive ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written now: the scan's id and its number of sites.
    Archived { scan: i64, sites: u64 },
    /// It was there already; nothing changed.
    AlreadyArchived { scan: i64 },
}

impl Outcome {
    pub fn scan(&self) -> i64 {
        match *self {
            Outcome::Archived { scan, .. } | Outcome::AlreadyArchived { scan } => scan,
        }
    }
}

/// An open scan: results are added in batches inside one transaction.
pub struct Writer<'a> {
    tx: Transaction<'a>,
    scan: i64,
}

const INSERT_SITES: &str = "
INSERT INTO sites (url, host)
SELECT DISTINCT j->>'url', coalesce(j->>'host', '') FROM unnest($1::jsonb[]) AS j
ON CONFLICT (url) DO NOTHING";

const INSERT_RESULTS: &str = "
INSERT INTO results (scan_id, site_id, position, agency, category, parent, https_ok,
                     forced_https, chrome_ok, mozilla_ok, codes, cert_issuer, cert_not_after,
                     scanned_at, result)
SELECT $1, s.id, u.pos,
       coalesce(u.j->>'agency', ''), coalesce(u.j->>'category', ''),
       coalesce(u.j->>'parent', ''),
       (u.j->>'https_ok')::boolean, (u.j->>'forced_https')::boolean,
       (u.j#>>'{browsers,chrome,ok}')::boolean, (u.j#>>'{browsers,mozilla,ok}')::boolean,
       ARRAY(SELECT f->>'code' FROM jsonb_array_elements(u.j->'findings') AS f),
       u.j#>>'{https,chain,0,issuer}',
       NULLIF(u.j#>>'{https,chain,0,not_after}', '')::timestamptz,
       NULLIF(u.j->>'scanned_at', '')::timestamptz,
       u.j
  FROM unnest($2::int4[], $3::jsonb[]) AS u(pos, j)
  JOIN sites s ON s.url = u.j->>'url'
ON CONFLICT (scan_id, site_id) DO NOTHING";

const FINISH: &str = "
UPDATE scans SET
  site_count = t.n,
  started = coalesce(scans.started, t.first),
  finished = coalesce(scans.finished, t.last),
  trust_store = t.stores
FROM (SELECT count(*)::int4 AS n, min(scanned_at) AS first, max(scanned_at) AS last,
             coalesce(string_agg(DISTINCT NULLIF(result->>'trust_store', ''), ','), '') AS stores
        FROM results WHERE scan_id = $1) AS t
WHERE scans.id = $1";

impl Archive {
    /// Start archiving the scan `meta` describes, unless it is archived already.
    pub async fn begin(&mut self, meta: &ScanMeta) -> Result<Begin<'_>, Error> {
        let tx = self.client.transaction().await?;
        let inserted = tx
            .query_opt(
                "INSERT INTO scans (source, name, fingerprint, started, finished,
                                    scanner_version, settings)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (source) DO NOTHING RETURNING id",
                &[
                    &meta.source,
                    &meta.name,
                    &meta.fingerprint,
                    &meta.started,
                    &meta.finished,
                    &meta.scanner_version,
                    &meta.settings,
                ],
            )
            .await?;
        if let Some(row) = inserted {
            return Ok(Begin::New(Writer {
                tx,
                scan: row.get(0),
            }));
        }
        let row = tx
            .query_one(
                "SELECT id, fingerprint FROM scans WHERE source = $1",
                &[&meta.source],
            )
            .await?;
        let stored: String = row.get(1);
        if stored != meta.fingerprint {
            return Err(Error::Conflict {
                scan: meta.source.clone(),
                stored,
                given: meta.fingerprint.clone(),
            });
        }
        Ok(Begin::Already(row.get(0)))
    }
}

impl Writer<'_> {
    /// Add results: `(position in the list, the result's JSON)`. A site already written for
    /// this scan (a list with a URL twice) keeps its first result.
    pub async fn add(&mut self, batch: &[(i32, serde_json::Value)]) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let positions: Vec<i32> = batch.iter().map(|(p, _)| *p).collect();
        let json: Vec<&serde_json::Value> = batch.iter().map(|(_, j)| j).collect();
        self.tx.execute(INSERT_SITES, &[&json]).await?;
        self.tx
            .execute(INSERT_RESULTS, &[&self.scan, &positions, &json])
            .await?;
        Ok(())
    }

    /// Fill in the scan's figures and commit.
    pub async fn finish(self) -> Result<Outcome, Error> {
        self.tx.execute(FINISH, &[&self.scan]).await?;
        let sites: i32 = self
            .tx
            .query_one("SELECT site_count FROM scans WHERE id = $1", &[&self.scan])
            .await?
            .get(0);
        self.tx.commit().await?;
        Ok(Outcome::Archived {
            scan: self.scan,
            sites: sites as u64,
        })
    }
}
