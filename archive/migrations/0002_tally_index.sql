-- 0002: a covering index for the tallies. `results` rows carry the full JSON (~2 kB each), so
-- a trend that read the table would read every scan's JSON; with this index PostgreSQL
-- answers count/adopted/forced per scan and group from the index alone (an index-only scan,
-- once VACUUM — or autovacuum after the inserts — has marked the pages all-visible).
-- Keyed by agency too, so an agency's subtree is found per scan without reading the others.
CREATE INDEX results_tally ON results (scan_id, agency)
    INCLUDE (category, parent, site_id, https_ok, forced_https);
