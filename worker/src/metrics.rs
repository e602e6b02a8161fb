//! What a worker counts, for `--metrics-listen` (names as scraped, prefix `govscan_`):
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `sites_scanned_total{verdict}` | counter | sites scanned, by `forced` (adopted and forced), `adopted` (not forced), `not_adopted`, `failed` (`scan_failed`) |
//! | `site_findings_total{code}` | counter | scanned sites with at least one finding of `code` |
//! | `site_scan_duration_seconds` | histogram | one site's scan, all steps |
//! | `sites_in_flight` | gauge | sites being scanned now |
//! | `shards_held` | gauge | shards taken and not yet acknowledged |
//! | `redis_errors_total` | counter | failed Redis calls (each retry counts) |
//!
//! Plus whether the worker is taking work, for `/readyz`.

use model::{Code, SiteResult};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

/// Scan durations' histogram buckets, in seconds (a site takes at most `--site-timeout`, 45 s
/// by default).
const BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 45.0, 90.0];

/// The worker's metrics. Cheap to clone; clones count into the same metrics.
#[derive(Clone)]
pub struct Metrics {
    scanned: Family<VerdictLabel, Counter>,
    findings: Family<CodeLabel, Counter>,
    duration: Histogram,
    in_flight: Gauge,
    shards_held: Gauge,
    redis_errors: Counter,
    taking: Arc<AtomicBool>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            scanned: Family::default(),
            findings: Family::default(),
            duration: Histogram::new(BUCKETS.iter().copied()),
            in_flight: Gauge::default(),
            shards_held: Gauge::default(),
            redis_errors: Counter::default(),
            taking: Arc::default(),
        }
    }
}

/// The verdict label of a result.
pub fn verdict(r: &SiteResult) -> &'static str {
    if r.has(Code::ScanFailed) {
        "failed"
    } else if r.https_ok && r.forced_https {
        "forced"
    } else if r.https_ok {
        "adopted"
    } else {
        "not_adopted"
    }
}

impl Metrics {
    /// Add these metrics to `registry` (a registry with the `govscan` prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "sites_scanned",
            "Sites scanned, by verdict (forced, adopted, not_adopted, failed)",
            self.scanned.clone(),
        );
        registry.register(
            "site_findings",
            "Scanned sites with at least one finding of this code",
            self.findings.clone(),
        );
        registry.register_with_unit(
            "site_scan_duration",
            "Time to scan one site, all steps",
            Unit::Seconds,
            self.duration.clone(),
        );
        registry.register(
            "sites_in_flight",
            "Sites being scanned now",
            self.in_flight.clone(),
        );
        registry.register(
            "shards_held",
            "Shards taken and not yet acknowledged",
            self.shards_held.clone(),
        );
        registry.register(
            "redis_errors",
            "Failed Redis calls (each retry counts)",
            self.redis_errors.clone(),
        );
    }

    /// A site's scan ended with `result` after `took`.
    pub(crate) fn scanned(&self, result: &SiteResult, took: Duration) {
        self.scanned
            .get_or_create(&VerdictLabel {
                verdict: verdict(result),
            })
            .inc();
        let mut codes = result.codes();
        codes.sort();
        codes.dedup();
        for code in codes {
            self.findings
                .get_or_create(&CodeLabel {
                    code: code.as_str(),
                })
                .inc();
        }
        self.duration.observe(took.as_secs_f64());
    }

    pub(crate) fn site_started(&self) {
        self.in_flight.inc();
    }

    pub(crate) fn site_ended(&self) {
        self.in_flight.dec();
    }

    pub(crate) fn shard_taken(&self) {
        self.shards_held.inc();
    }

    pub(crate) fn shard_released(&self) {
        self.shards_held.dec();
    }

    pub(crate) fn redis_error(&self) {
        self.redis_errors.inc();
    }

    pub(crate) fn set_taking(&self, taking: bool) {
        self.taking.store(taking, Ordering::SeqCst);
    }

    /// Whether the worker's loop is taking work now (its last Redis read succeeded and it
    /// was not told to stop).
    pub fn taking(&self) -> bool {
        self.taking.load(Ordering::SeqCst)
    }

    /// What `--metrics-listen` serves: these metrics and the build info at `/metrics`;
    /// `/readyz` ready while the worker takes work and Redis answers a `PING`.
    pub fn endpoints(&self, version: &str, queue: queue::Queue) -> telemetry::Endpoints {
        let mut registry = telemetry::registry();
        telemetry::register_build_info(&mut registry, "scan-worker", version);
        self.register(&mut registry);
        let metrics = self.clone();
        telemetry::Endpoints {
            registry: Arc::new(registry),
            refresh: None,
            ready: Arc::new(move || {
                let (metrics, queue) = (metrics.clone(), queue.clone());
                Box::pin(async move {
                    queue
                        .ping()
                        .await
                        .map_err(|e| format!("redis does not answer: {e}"))?;
                    if metrics.taking() {
                        Ok(())
                    } else {
                        Err("not taking work (starting, stopping or redis failing)".to_owned())
                    }
                })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_and_codes_are_counted_once_per_site() {
        let site = model::Site::parse("a.gov.tw").unwrap();
        let m = Metrics::default();
        let mut reg = telemetry::registry();
        m.register(&mut reg);
        let mut ok = SiteResult::for_site(&site);
        ok.https_ok = true;
        ok.forced_https = true;
        m.scanned(&ok, Duration::from_millis(30));
        let mut failed = SiteResult::failed(&site, "x");
        failed
            .findings
            .push(model::Finding::new(Code::ScanFailed, "again"));
        m.scanned(&failed, Duration::from_secs(3));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        assert!(
            text.contains(r#"govscan_sites_scanned_total{verdict="forced"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"govscan_sites_scanned_total{verdict="failed"} 1"#));
        assert!(text.contains(r#"govscan_site_findings_total{code="scan_failed"} 1"#));
        assert!(text.contains("govscan_site_scan_duration_seconds_count 2"));
    }
}
