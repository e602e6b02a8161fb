//! `scan-bench`: the national-scale benchmark of the scanner (see `BENCHMARKS.md`).
//!
//! The binary starts a generated fleet (`scan-farm --fleet N`) as its own process, then runs
//! the embedded `scanctl scan` and the cluster (own `redis-server`, `scan-coordinator`,
//! 1/2/4 `scan-worker`s, `scanctl submit --wait`) against it, several times, and measures
//! each run from the outside: wall time, CPU and peak RSS of the scanner processes, time per
//! site from the results' `duration_ms`, and Redis commands per site.
//!
//! This library holds the pure parts, each tested without processes:
//! - [`procfs`]: reading `/proc/PID/stat`, `/proc/PID/status` and `/usr/bin/time -v` output;
//! - [`redis_info`]: `INFO stats` / `INFO commandstats` and their difference;
//! - [`results`]: what a JSON Lines results file says (count, verdicts, durations);
//! - [`stats`]: median and percentiles;
//! - [`summary`]: one run's figures, the median over runs, and the table / Markdown / JSON.

pub mod procfs;
pub mod redis_info;
pub mod results;
pub mod stats;
pub mod summary;
