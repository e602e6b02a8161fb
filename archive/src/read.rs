//! Reading the archive: the scans, trends per group computed in SQL, a scan's results, and
//! since when each failing site of a scan has been failing.
//!
//! Scans are ordered by when they started (the job's creation, or the first `scanned_at` of
//! an imported file), then by id.

use crate::{Archive, Error};
use model::SiteResult;
use report::Counts;
use time::{Date, OffsetDateTime};

/// One archived scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanInfo {
    pub id: i64,
    pub name: String,
    pub source: String,
    pub started: Option<OffsetDateTime>,
    pub finished: Option<OffsetDateTime>,
    pub archived_at: OffsetDateTime,
    pub scanner_version: String,
    pub trust_store: String,
    /// The scan's NDC figures, all groups together.
    pub counts: Counts,
}

/// The rows of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// One row per `category` (the NDC table).
    #[default]
    Category,
    /// One row per agency, its figures rolled up over its subtree as of each scan.
    Agency,
}

/// What a trend covers.
#[derive(Debug, Clone, Default)]
pub struct TrendQuery {
    pub by: GroupBy,
    /// Only this agency and every agency below it (as of each scan).
    pub agency: Option<String>,
    /// Only scans started on or after this day (Taiwan time).
    pub since: Option<Date>,
}

/// One scan's figures for one group, or its total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendRow {
    pub scan: i64,
    pub scan_name: String,
    pub started: Option<OffsetDateTime>,
    /// The group (category or agency); `None` for the scan's total row.
    pub group: Option<String>,
    pub counts: Counts,
}

/// Since when a site of a scan has been failing (not adopted or not forced), counting back
/// over the archived scans that have it until one where it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingSince {
    pub url: String,
    /// The first scan of the failing streak.
    pub scan_name: String,
    pub since: Option<OffsetDateTime>,
    /// Scans in the streak, this one included.
    pub scans: u32,
}

/// The scans selected by `since` ($1, a Taiwan-time date or NULL), with their order.
const SCANS: &str = "
sc AS (
  SELECT id, name, started, row_number() OVER (ORDER BY coalesce(started, archived_at), id) AS n
    FROM scans
   WHERE $1::date IS NULL
      OR coalesce(started, archived_at) >= ($1::date::timestamp AT TIME ZONE 'Asia/Taipei'))";

/// Per scan, each agency's parent (the first in URL order, as the report keeps it) and every
/// agency's ancestors, itself included. UNION (not ALL) ends on cycles.
const TREE: &str = "
edges AS (
  SELECT DISTINCT ON (r.scan_id, r.agency) r.scan_id, r.agency, NULLIF(r.parent, '') AS parent
    FROM results r JOIN sc ON sc.id = r.scan_id JOIN sites s ON s.id = r.site_id
   ORDER BY r.scan_id, r.agency, s.url),
anc(scan_id, agency, ancestor) AS (
  SELECT scan_id, agency, agency FROM edges
  UNION
  SELECT a.scan_id, a.agency, e.parent
    FROM anc a JOIN edges e ON e.scan_id = a.scan_id AND e.agency = a.ancestor
   WHERE e.parent IS NOT NULL)";

impl Archive {
    /// Every scan, oldest first, with its figures.
    pub async fn history(&self) -> Result<Vec<ScanInfo>, Error> {
        let rows = self
            .client
            .query(
                "SELECT sc.id, sc.name, sc.source, sc.started, sc.finished, sc.archived_at,
                        sc.scanner_version, sc.trust_store,
                        t.n, t.adopted, t.forced
                   FROM scans sc
                   CROSS JOIN LATERAL (
                     SELECT count(*) AS n,
                            count(*) FILTER (WHERE https_ok) AS adopted,
                            count(*) FILTER (WHERE forced_https) AS forced
                       FROM results r WHERE r.scan_id = sc.id) AS t
                  ORDER BY coalesce(sc.started, sc.archived_at), sc.id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(scan_info).collect())
    }

    /// A scan by id, or the latest of that name; `latest` (or nothing) for the newest scan.
    pub async fn find_scan(&self, which: Option<&str>) -> Result<ScanInfo, Error> {
        let scans = self.history().await?;
        let found = match which {
            None | Some("latest") => scans.last(),
            Some(w) => scans
                .iter()
                .rev()
                .find(|s| s.name == w || s.id.to_string() == w || s.source == w),
        };
        found
            .cloned()
            .ok_or_else(|| Error::UnknownScan(which.unwrap_or("latest").to_owned()))
    }

    /// The scan archived before `scan` in the history's order.
    pub async fn previous_scan(&self, scan: i64) -> Result<Option<ScanInfo>, Error> {
        let scans = self.history().await?;
        let at = scans.iter().position(|s| s.id == scan);
        Ok(at.and_then(|i| i.checked_sub(1)).map(|i| scans[i].clone()))
    }

    /// A scan's results, in list order, as they were archived.
    pub async fn results(&self, scan: i64) -> Result<Vec<SiteResult>, Error> {
        let rows = self
            .client
            .query(
                "SELECT s.url, r.result FROM results r JOIN sites s ON s.id = r.site_id
                  WHERE r.scan_id = $1 ORDER BY r.position, s.url",
                &[&scan],
            )
            .await?;
        rows.into_iter()
            .map(|row| {
                let url: String = row.get(0);
                let json: serde_json::Value = row.get(1);
                serde_json::from_value(json).map_err(|e| Error::BadResult {
                    url,
                    error: e.to_string(),
                })
            })
            .collect()
    }

    /// Count, adopted and forced per scan and group, and each scan's total, as a series
    /// (oldest scan first; in a scan the groups, then the total). Aggregated by PostgreSQL:
    /// the rows returned are one per scan and group, whatever the number of sites.
    pub async fn trend(&self, q: &TrendQuery) -> Result<Vec<TrendRow>, Error> {
        let sql = trend_sql(q);
        let rows = self.client.query(&sql, &[&q.since, &q.agency]).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let total: bool = row.get(4);
                TrendRow {
                    scan: row.get(0),
                    scan_name: row.get(1),
                    started: row.get(2),
                    group: if total { None } else { row.get(3) },
                    counts: counts(row.get(5), row.get(6), row.get(7)),
                }
            })
            .collect())
    }

    /// PostgreSQL's plan of [`Archive::trend`]'s query, run (EXPLAIN ANALYZE, BUFFERS).
    pub async fn explain_trend(&self, q: &TrendQuery) -> Result<String, Error> {
        let sql = format!("EXPLAIN (ANALYZE, BUFFERS) {}", trend_sql(q));
        let rows = self.client.query(&sql, &[&q.since, &q.agency]).await?;
        Ok(rows
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// For every failing site of `scan`: since which scan it has been failing.
    pub async fn failing_since(&self, scan: i64) -> Result<Vec<FailingSince>, Error> {
        let rows = self
            .client
            .query(
                "WITH o AS (
                   SELECT id, name, started,
                          row_number() OVER (ORDER BY coalesce(started, archived_at), id) AS n
                     FROM scans),
                 f AS (SELECT site_id FROM results
                        WHERE scan_id = $1 AND NOT (https_ok AND forced_https)),
                 h AS (SELECT r.site_id, o.n, (r.https_ok AND r.forced_https) AS ok
                         FROM results r JOIN o ON o.id = r.scan_id JOIN f USING (site_id)
                        WHERE o.n <= (SELECT n FROM o WHERE id = $1)),
                 streak AS (
                   SELECT site_id, min(n) AS n, count(*) AS scans
                     FROM (SELECT h.*, max(n) FILTER (WHERE ok) OVER (PARTITION BY site_id) AS last_ok
                             FROM h) AS x
                    WHERE n > coalesce(last_ok, 0)
                    GROUP BY site_id)
                 SELECT s.url, o.name, o.started, streak.scans
                   FROM streak JOIN o ON o.n = streak.n JOIN sites s ON s.id = streak.site_id
                  ORDER BY s.url",
                &[&scan],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| FailingSince {
                url: row.get(0),
                scan_name: row.get(1),
                since: row.get(2),
                scans: u32::try_from(row.get::<_, i64>(3)).unwrap_or(u32::MAX),
            })
            .collect())
    }
}

fn trend_sql(q: &TrendQuery) -> String {
    // Without an agency the tree is never evaluated (a CTE nobody reads is not run); with
    // one, the subtree is one uncorrelated set PostgreSQL hashes once (a per-row subquery
    // over the tree made a 1M-row trend take minutes).
    let subtree = if q.agency.is_some() {
        "(r.scan_id, r.agency) IN (SELECT scan_id, agency FROM anc WHERE ancestor = $2)"
    } else {
        "$2::text IS NULL"
    };
    match q.by {
            GroupBy::Category => format!(
                "WITH RECURSIVE {SCANS}, {TREE},
                 g AS (
                   SELECT r.scan_id, r.category AS grp, GROUPING(r.category) AS is_total,
                          count(*) AS n,
                          count(*) FILTER (WHERE r.https_ok) AS adopted,
                          count(*) FILTER (WHERE r.forced_https) AS forced,
                          min(s.url) AS first_url
                     FROM results r JOIN sc ON sc.id = r.scan_id JOIN sites s ON s.id = r.site_id
                    WHERE {subtree}
                    GROUP BY GROUPING SETS ((r.scan_id, r.category), (r.scan_id)))
                 SELECT sc.id, sc.name, sc.started, g.grp, g.is_total = 1, g.n, g.adopted, g.forced
                   FROM g JOIN sc ON sc.id = g.scan_id
                  ORDER BY sc.n, g.is_total,
                           array_position(ARRAY['二級機關','三級機關','縣市政府'], g.grp) NULLS LAST,
                           g.first_url"
            ),
            GroupBy::Agency => format!(
                "WITH RECURSIVE {SCANS}, {TREE},
                 per AS (
                   SELECT r.scan_id, a.ancestor AS grp,
                          count(*) AS n,
                          count(*) FILTER (WHERE r.https_ok) AS adopted,
                          count(*) FILTER (WHERE r.forced_https) AS forced
                     FROM results r JOIN sc ON sc.id = r.scan_id
                     JOIN anc a ON a.scan_id = r.scan_id AND a.agency = r.agency
                    WHERE {subtree}
                    GROUP BY r.scan_id, a.ancestor),
                 tot AS (
                   SELECT r.scan_id, count(*) AS n,
                          count(*) FILTER (WHERE r.https_ok) AS adopted,
                          count(*) FILTER (WHERE r.forced_https) AS forced
                     FROM results r JOIN sc ON sc.id = r.scan_id
                    WHERE {subtree}
                    GROUP BY r.scan_id),
                 g AS (
                   SELECT scan_id, grp, false AS is_total, n, adopted, forced FROM per
                    WHERE $2::text IS NULL OR (per.scan_id, grp) IN
                          (SELECT scan_id, agency FROM anc WHERE ancestor = $2)
                   UNION ALL
                   SELECT scan_id, NULL, true, n, adopted, forced FROM tot)
                 SELECT sc.id, sc.name, sc.started, g.grp, g.is_total, g.n, g.adopted, g.forced
                   FROM g JOIN sc ON sc.id = g.scan_id
                  ORDER BY sc.n, g.is_total, g.n DESC, g.grp"
            ),
        }
}

fn counts(n: i64, adopted: i64, forced: i64) -> Counts {
    let u = |x: i64| u64::try_from(x).unwrap_or(0);
    Counts {
        count: u(n),
        adopted: u(adopted),
        forced: u(forced),
    }
}

fn scan_info(row: &tokio_postgres::Row) -> ScanInfo {
    ScanInfo {
        id: row.get(0),
        name: row.get(1),
        source: row.get(2),
        started: row.get(3),
        finished: row.get(4),
        archived_at: row.get(5),
        scanner_version: row.get(6),
        trust_store: row.get(7),
        counts: counts(row.get(8), row.get(9), row.get(10)),
    }
}
