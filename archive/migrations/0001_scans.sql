-- 0001: scans, sites, results; the latest result per site and the per-scan group tallies.
--
-- Every derived column of `results` is computed from the stored JSON at insert time by the
-- archive's INSERT, so a field the engine adds later (per-browser verdicts) is in `result`
-- from the first day and can become a column without re-importing anything.

CREATE TABLE scans (
    id              bigserial PRIMARY KEY,
    -- What was archived: 'job:<uuid>' for a cluster job, 'import:<name>' for a file.
    source          text NOT NULL UNIQUE,
    name            text NOT NULL,
    -- SHA-256 of the imported file, or the job id: a second archive of the same source must
    -- carry the same fingerprint (else it is refused, never merged).
    fingerprint     text NOT NULL,
    started         timestamptz,
    finished        timestamptz,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    scanner_version text NOT NULL,
    settings        jsonb NOT NULL DEFAULT '{}'::jsonb,
    trust_store     text NOT NULL DEFAULT '',
    site_count      integer NOT NULL DEFAULT 0
);
CREATE INDEX scans_order ON scans (started, id);

-- A site's stable identity: its normalised URL (the site list's entry, as `model` writes it).
CREATE TABLE sites (
    id   bigserial PRIMARY KEY,
    url  text NOT NULL UNIQUE,
    host text NOT NULL
);

CREATE TABLE results (
    scan_id        bigint NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    site_id        bigint NOT NULL REFERENCES sites (id),
    -- The site's place in the list (job index or file line order).
    position       integer NOT NULL,
    -- The agency tree as of this scan.
    agency         text NOT NULL,
    category       text NOT NULL,
    parent         text NOT NULL,
    https_ok       boolean NOT NULL,
    forced_https   boolean NOT NULL,
    -- Per-browser verdicts, when the result carries them (`browsers.chrome.ok`, ...).
    chrome_ok      boolean,
    mozilla_ok     boolean,
    codes          text[] NOT NULL,
    cert_issuer    text,
    cert_not_after timestamptz,
    scanned_at     timestamptz,
    result         jsonb NOT NULL,
    PRIMARY KEY (scan_id, site_id)
);
CREATE INDEX results_site ON results (site_id, scan_id);

-- The latest archived result of every site (scans ordered by start, then id).
CREATE VIEW latest_results AS
SELECT DISTINCT ON (r.site_id)
       s.url, s.host, sc.name AS scan_name, sc.started AS scan_started, r.*
  FROM results r
  JOIN scans sc ON sc.id = r.scan_id
  JOIN sites s ON s.id = r.site_id
 ORDER BY r.site_id, sc.started DESC NULLS LAST, sc.id DESC;

-- The NDC table of every scan: one row per group, and the total with grp NULL.
CREATE VIEW scan_group_tallies AS
SELECT r.scan_id,
       r.category AS grp,
       count(*) AS count,
       count(*) FILTER (WHERE r.https_ok) AS adopted,
       count(*) FILTER (WHERE r.forced_https) AS forced
  FROM results r
 GROUP BY GROUPING SETS ((r.scan_id, r.category), (r.scan_id));
