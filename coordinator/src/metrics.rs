//! What the coordinator exposes at `--metrics-listen` (names as scraped, prefix `govscan_`),
//! read from Redis at each scrape:
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `sites_queued` | gauge | sites in shards no worker has taken yet, **across all jobs**: the autoscaling signal |
//! | `sites_in_flight` | gauge | sites taken by a worker and without a result yet, across all jobs |
//! | `jobs{state}` | gauge | jobs by state (`submitting`, `running`, `done`, `cancelled`) |
//! | `workers_active` | gauge | workers that sent a heartbeat within the coordinator's window |
//! | `redis_up` | gauge | 1 when the last scrape could read Redis, else 0 |
//! | `redis_errors_total` | counter | failed Redis reads while scraping |
//!
//! `/readyz` is ready while Redis answers a `PING`.

use crate::{Clock, unix_ms};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use queue::{JobState, Queue};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

const STATES: [JobState; 4] = [
    JobState::Submitting,
    JobState::Running,
    JobState::Done,
    JobState::Cancelled,
];

/// The coordinator's metrics. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics {
    jobs: Family<StateLabel, Gauge>,
    queued: Gauge,
    in_flight: Gauge,
    workers: Gauge,
    redis_up: Gauge,
    redis_errors: Counter,
}

/// Sums over jobs: (sites queued, sites in flight, jobs per state in [`STATES`] order).
fn totals(jobs: &[queue::JobInfo]) -> (u64, u64, [u64; 4]) {
    let mut by_state = [0u64; 4];
    let (mut queued, mut in_flight) = (0, 0);
    for job in jobs {
        if let Some(i) = STATES.iter().position(|s| *s == job.state) {
            by_state[i] += 1;
        }
        // Only running jobs have work left for workers (a cancelled job's shards are
        // acknowledged without scanning; a submitting one is not enqueued yet).
        if job.state == JobState::Running {
            queued += job.queued();
            in_flight += job.in_flight();
        }
    }
    (queued, in_flight, by_state)
}

impl Metrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "sites_queued",
            "Sites in shards no worker has taken yet, across all running jobs",
            self.queued.clone(),
        );
        registry.register(
            "sites_in_flight",
            "Sites taken by a worker and without a result yet, across all running jobs",
            self.in_flight.clone(),
        );
        registry.register("jobs", "Jobs by state", self.jobs.clone());
        registry.register(
            "workers_active",
            "Workers that sent a heartbeat recently",
            self.workers.clone(),
        );
        registry.register(
            "redis_up",
            "1 when the last scrape could read Redis",
            self.redis_up.clone(),
        );
        registry.register(
            "redis_errors",
            "Failed Redis reads while scraping",
            self.redis_errors.clone(),
        );
    }

    /// Read the gauges from Redis now.
    pub async fn refresh(&self, queue: &Queue, worker_window: Duration, now_ms: u64) {
        let jobs = match queue.jobs().await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!("metrics: reading jobs: {e}");
                self.redis_errors.inc();
                self.redis_up.set(0);
                return;
            }
        };
        let (queued, in_flight, by_state) = totals(&jobs);
        self.queued.set(queued as i64);
        self.in_flight.set(in_flight as i64);
        for (state, n) in STATES.iter().zip(by_state) {
            self.jobs
                .get_or_create(&StateLabel {
                    state: state.as_str(),
                })
                .set(n as i64);
        }
        let since = now_ms.saturating_sub(worker_window.as_millis() as u64);
        match queue.active_workers(since).await {
            Ok(n) => {
                self.workers.set(n as i64);
                self.redis_up.set(1);
            }
            Err(e) => {
                tracing::warn!("metrics: reading workers: {e}");
                self.redis_errors.inc();
                self.redis_up.set(0);
            }
        }
    }

    /// What `--metrics-listen` serves.
    pub fn endpoints(
        &self,
        version: &str,
        queue: Queue,
        worker_window: Duration,
        clock: Clock,
    ) -> telemetry::Endpoints {
        let mut registry = telemetry::registry();
        telemetry::register_build_info(&mut registry, "scan-coordinator", version);
        self.register(&mut registry);
        let (metrics, q) = (self.clone(), queue.clone());
        telemetry::Endpoints {
            registry: Arc::new(registry),
            refresh: Some(Arc::new(move || {
                let (metrics, q, clock) = (metrics.clone(), q.clone(), Arc::clone(&clock));
                Box::pin(async move { metrics.refresh(&q, worker_window, unix_ms(clock())).await })
            })),
            ready: Arc::new(move || {
                let queue = queue.clone();
                Box::pin(async move {
                    queue
                        .ping()
                        .await
                        .map_err(|e| format!("redis does not answer: {e}"))
                })
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, total: u64, taken: u64, done: u64) -> queue::JobInfo {
        queue::JobInfo {
            id: queue::JobId::parse("j").unwrap(),
            name: String::new(),
            label: String::new(),
            state,
            total,
            shards: 1,
            done,
            failed: 0,
            taken,
            created_ms: 0,
            finished_ms: 0,
            settings: None,
            settings_digest: String::new(),
        }
    }

    #[test]
    fn queued_sites_add_up_over_running_jobs_only() {
        let jobs = [
            job(JobState::Running, 100, 30, 10),
            job(JobState::Running, 50, 0, 0),
            job(JobState::Done, 20, 20, 20),
            job(JobState::Cancelled, 40, 10, 40),
            job(JobState::Submitting, 0, 0, 0),
        ];
        let (queued, in_flight, by_state) = totals(&jobs);
        assert_eq!((queued, in_flight), (70 + 50, 20));
        assert_eq!(by_state, [1, 2, 1, 1]);
    }
}
