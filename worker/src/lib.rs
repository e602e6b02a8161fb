//! A scan worker: takes shards of sites from the Redis queue, scans them with the engine,
//! writes the results back and acknowledges the shards.
//!
//! # How it runs
//! - Shards are taken by free scan capacity, not by a fixed count: the sites of all shards
//!   held share one semaphore of `concurrency` scans, and the worker takes another shard
//!   whenever its *backlog* — sites held but not yet started (waiting for a scan permit or
//!   for their shard to load) — is below `concurrency`. So a shard stuck on one silent
//!   site holds one permit, not a slot that starves the semaphore: other shards keep every
//!   permit busy, with at most about `concurrency` + one shard of sites queued behind them.
//!   Each take asks for about enough shards to fill the backlog (estimated from the size
//!   of the last shard seen).
//! - `shards_in_flight` is a hard cap on shards held at once (bounded memory even when
//!   many shards are stuck on slow sites); its default, [`default_shards_in_flight`], is
//!   high enough that the backlog rule, not the cap, limits in practice.
//! - New shards come from [`queue::Queue::take`] (round robin between running jobs); every
//!   `reclaim_idle / 2` the worker also claims shards other workers left idle
//!   ([`queue::Queue::reclaim`]) and ends those that exhausted their deliveries.
//! - A background task sends a heartbeat and refreshes the idle time of the shards held, so
//!   a live worker's long shard is never reclaimed from under it.
//! - Each job is scanned with the settings it carries (`scanctl submit`'s flags), capped
//!   by this worker's own ([`engine::Config::for_job`]); a job without settings is scanned
//!   with the worker's flags. One engine per job, cached; all share the resolver and the
//!   per-address leases ([`ClusterLimiter`]).
//! - `--reclaim-idle` and `--max-deliveries` are the coordinator's: read from Redis
//!   ([`queue::Queue::cluster_settings`]) before each reclaim round; the worker's own
//!   values only stand in until the coordinator has published them.
//! - Results are written in batches (one round trip per batch); the last write of a shard
//!   also acknowledges it. A redelivered shard only scans sites without a result.
//! - Redis errors (a restart, a network cut) are logged and retried with backoff; nothing
//!   held is dropped while retrying.
//! - [`Metrics`] counts sites scanned by verdict, findings, scan durations, sites and shards
//!   held, Redis errors, and whether the worker is taking work (for `/readyz`).
//!
//! # Stopping
//! [`Worker::run`] stops taking shards when `stop` is cancelled, finishes the shards it
//! holds, and returns. If `abort` is cancelled too (a second signal), it returns at once
//! and the shards it held stay pending, to be reclaimed by another worker.

pub mod metrics;
pub mod polite;

pub use metrics::Metrics;
pub use polite::ClusterLimiter;

use engine::Engine;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use model::SiteResult;
use queue::{Delivery, Queue};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use queue::Clock;
use queue::unix_ms;

/// Why the worker stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("scanning engine: {0}")]
    Engine(#[from] engine::Error),
    #[error("queue: {0}")]
    Queue(#[from] queue::Error),
}

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// This worker's consumer name in the queue: unique per worker process.
    pub name: String,
    /// Sites scanned at once, across all shards held.
    pub concurrency: usize,
    /// Hard cap on shards held at once (new shards are taken by free scan capacity, see
    /// the module docs; this only bounds memory). Default [`default_shards_in_flight`].
    pub shards_in_flight: usize,
    /// Shards idle this long are claimed from their (presumably dead) holder.
    pub reclaim_idle: Duration,
    /// Deliveries after which a shard's remaining sites get `scan_failed` results.
    pub max_deliveries: u64,
    /// Longest wait for a new shard per read.
    pub poll: Duration,
    /// Results written per round trip.
    pub batch: usize,
    /// TEST-ONLY fault injection: abort the process on taking a shard holding this host
    /// (stands for "a shard that crashes its worker every time").
    pub crash_on_host: Option<String>,
}

impl Config {
    /// Defaults for a worker named `name` scanning `concurrency` sites at once.
    pub fn new(name: impl Into<String>, concurrency: usize) -> Self {
        Config {
            name: name.into(),
            concurrency: concurrency.max(1),
            shards_in_flight: default_shards_in_flight(concurrency),
            reclaim_idle: Duration::from_secs(30),
            max_deliveries: 3,
            poll: Duration::from_secs(2),
            batch: 50,
            crash_on_host: None,
        }
    }
}

/// The default cap on shards held for a worker scanning `concurrency` sites at once:
/// `max(4, concurrency / 4)`. Not the limit in practice (the backlog rule is): it only
/// bounds memory when very many held shards are each stuck on a slow site.
pub fn default_shards_in_flight(concurrency: usize) -> usize {
    (concurrency / 4).max(4)
}

/// How many shards to ask the queue for now: none while the backlog (sites held but not
/// started) already fills `concurrency` or no slot under the cap is free; otherwise about
/// enough shards of `shard_size` sites to fill the backlog, at least one, at most `free_slots`.
pub fn shards_wanted(
    concurrency: usize,
    backlog: usize,
    free_slots: usize,
    shard_size: usize,
) -> usize {
    if free_slots == 0 || backlog >= concurrency {
        return 0;
    }
    (concurrency - backlog)
        .div_ceil(shard_size.max(1))
        .clamp(1, free_slots)
}

/// Sites held but not started yet, across all shards held; `room` is notified whenever it
/// drops or a shard is released, so the take loop can look again.
#[derive(Default)]
struct Backlog {
    sites: AtomicUsize,
    room: Notify,
}

/// One shard's part of the [`Backlog`]: added when the shard is taken, removed site by site
/// as scans start, and whatever is left when the shard ends (done, skipped or aborted).
struct Pending {
    backlog: Arc<Backlog>,
    left: usize,
}

impl Pending {
    fn new(backlog: &Arc<Backlog>, sites: usize) -> Self {
        backlog.sites.fetch_add(sites, Ordering::SeqCst);
        Pending {
            backlog: Arc::clone(backlog),
            left: sites,
        }
    }

    /// `n` of this shard's sites no longer wait (started, or found already done).
    fn release(&mut self, n: usize) {
        let n = n.min(self.left);
        if n > 0 {
            self.left -= n;
            self.backlog.sites.fetch_sub(n, Ordering::SeqCst);
            self.backlog.room.notify_one();
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.release(self.left);
        // The shard's slot is free too.
        self.backlog.room.notify_one();
    }
}

/// Engines kept for jobs seen lately (each job's settings built once).
const ENGINES_KEPT: usize = 16;

/// A worker: the engine, two queue handles (one for blocking reads) and its configuration.
pub struct Worker {
    /// Built from the worker's own flags: the defaults and limits of every job's engine.
    engine: Arc<Engine>,
    /// Engines for jobs' settings, by job.
    engines: Mutex<HashMap<queue::JobId, Arc<Engine>>>,
    /// The queue settings in force: the coordinator's once read, else the worker's.
    queue_settings: Mutex<queue::ClusterSettings>,
    /// For blocking reads of new shards only (they hold the connection while waiting).
    reader: Queue,
    /// For everything else.
    queue: Queue,
    config: Config,
    clock: Clock,
    metrics: Metrics,
}

/// Shards this worker holds, by stream entry, for the heartbeat to refresh.
type Held = Arc<Mutex<HashMap<String, Delivery>>>;

impl Worker {
    pub fn new(
        engine: Arc<Engine>,
        reader: Queue,
        queue: Queue,
        config: Config,
        clock: Clock,
    ) -> Self {
        let queue_settings = Mutex::new(queue::ClusterSettings {
            reclaim_idle: config.reclaim_idle,
            max_deliveries: config.max_deliveries,
        });
        Worker {
            engine,
            engines: Mutex::default(),
            queue_settings,
            reader,
            queue,
            config,
            clock,
            metrics: Metrics::default(),
        }
    }

    fn queue_settings(&self) -> queue::ClusterSettings {
        *self.queue_settings.lock().expect("settings lock")
    }

    /// Follow the queue settings the coordinator published (kept when Redis does not say).
    async fn refresh_queue_settings(&self) {
        match self.queue.cluster_settings().await {
            Ok(Some(s)) => {
                let mut current = self.queue_settings.lock().expect("settings lock");
                if *current != s {
                    tracing::info!(reclaim_idle = ?s.reclaim_idle, max_deliveries = s.max_deliveries, "queue settings from the coordinator");
                    *current = s;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("reading the queue settings: {e}"),
        }
    }

    /// The engine that scans `job`: its settings on this worker's limits, built once.
    /// `Err`: the settings cannot be used (say why in each site's result).
    async fn engine_for(&self, job: &queue::JobId) -> Result<Arc<Engine>, String> {
        if let Some(e) = self.engines.lock().expect("engines lock").get(job) {
            return Ok(Arc::clone(e));
        }
        let info = self
            .retry_transient("reading a job's settings", || self.queue.job(job))
            .await
            .map_err(|e| format!("its settings could not be read: {e}"))?;
        let engine = match info.and_then(|i| i.settings) {
            None => Arc::clone(&self.engine),
            Some(settings) => {
                let config = self
                    .engine
                    .config()
                    .for_job(&settings)
                    .map_err(|e| format!("its settings cannot be used: {e}"))?;
                let engine = self
                    .engine
                    .derive(config)
                    .map_err(|e| format!("its settings cannot be used: {e}"))?;
                tracing::info!(job = %job, settings_digest = %engine.provenance().settings_digest, "scanning a job with its settings");
                Arc::new(engine)
            }
        };
        let mut engines = self.engines.lock().expect("engines lock");
        if engines.len() >= ENGINES_KEPT {
            engines.clear();
        }
        engines.insert(job.clone(), Arc::clone(&engine));
        Ok(engine)
    }

    /// The worker's metrics (clones count into the same ones): register them to serve them.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    fn now_ms(&self) -> u64 {
        unix_ms((self.clock)())
    }

    /// Take and scan shards until `stop`; then finish what is held (unless `abort`).
    pub async fn run(self, stop: CancellationToken, abort: CancellationToken) -> Result<(), Error> {
        let this = Arc::new(self);
        let scans = Arc::new(Semaphore::new(this.config.concurrency));
        let slots = Arc::new(Semaphore::new(this.config.shards_in_flight.max(1)));
        let held: Held = Arc::default();
        let backlog: Arc<Backlog> = Arc::default();
        // The size of the last shard seen, to estimate how many shards fill the backlog.
        let mut shard_size = 1usize;
        let mut shards = JoinSet::new();
        let beat_stop = CancellationToken::new();
        let beat = tokio::spawn(Arc::clone(&this).heartbeat(Arc::clone(&held), beat_stop.clone()));

        let mut last_reclaim: Option<tokio::time::Instant> = None;
        let mut backoff = Backoff::new(this.metrics.clone());
        let mut rotation = 0usize;
        tracing::info!(worker = %this.config.name, concurrency = this.config.concurrency, "worker started");
        while !stop.is_cancelled() {
            // Reap finished shard tasks (a panic there is a bug: log it, keep going).
            while let Some(done) = shards.try_join_next() {
                if let Err(e) = done {
                    tracing::error!("a shard task failed: {e}");
                }
            }
            // Take shards by free scan capacity: only while the sites held but not started
            // are fewer than the scans the semaphore can run (and under the cap on shards).
            let free = shards_wanted(
                this.config.concurrency,
                backlog.sites.load(Ordering::SeqCst),
                slots.available_permits(),
                shard_size,
            );
            if free == 0 {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = backlog.room.notified() => continue,
                    _ = slots.acquire() => continue,
                }
            }
            let mut got = Vec::new();
            let reclaim_every =
                (this.queue_settings().reclaim_idle / 2).max(Duration::from_millis(200));
            if last_reclaim.is_none_or(|t| t.elapsed() >= reclaim_every) {
                last_reclaim = Some(tokio::time::Instant::now());
                this.refresh_queue_settings().await;
                let queue_settings = this.queue_settings();
                match this
                    .queue
                    .reclaim(
                        Some(&this.config.name),
                        queue_settings.reclaim_idle,
                        queue_settings.max_deliveries,
                        free,
                        this.now_ms(),
                    )
                    .await
                {
                    Ok(d) => got = d,
                    Err(e) => {
                        this.metrics.set_taking(false);
                        backoff.failed("reclaiming idle shards", &e, &stop).await;
                        continue;
                    }
                }
            }
            if got.is_empty() {
                let taken = tokio::select! {
                    _ = stop.cancelled() => break,
                    r = this.reader.take(&this.config.name, free, rotation, this.config.poll) => r,
                };
                rotation = rotation.wrapping_add(1);
                match taken {
                    Ok(d) => got = d,
                    Err(e) => {
                        this.metrics.set_taking(false);
                        backoff.failed("taking shards", &e, &stop).await;
                        continue;
                    }
                }
            }
            backoff.succeeded();
            this.metrics.set_taking(!stop.is_cancelled());
            for d in got {
                let sites = usize::try_from(d.end.saturating_sub(d.start)).unwrap_or(usize::MAX);
                shard_size = sites.max(1);
                let permit = Arc::clone(&slots)
                    .acquire_owned()
                    .await
                    .expect("the slot semaphore is never closed");
                held.lock()
                    .expect("held lock")
                    .insert(d.entry.clone(), d.clone());
                this.metrics.shard_taken();
                let worker = Arc::clone(&this);
                let scans = Arc::clone(&scans);
                let held = Arc::clone(&held);
                let abort = abort.clone();
                let mut pending = Pending::new(&backlog, sites);
                shards.spawn(async move {
                    let entry = d.entry.clone();
                    tokio::select! {
                        _ = abort.cancelled() => {}
                        _ = worker.process(d, scans, &mut pending) => {}
                    }
                    held.lock().expect("held lock").remove(&entry);
                    worker.metrics.shard_released();
                    drop(permit);
                    // Last: its drop wakes the take loop, which then sees the slot free.
                    drop(pending);
                });
            }
        }
        this.metrics.set_taking(false);
        tracing::info!(
            held = shards.len(),
            "stopping: no new shards; finishing the shards held"
        );
        while let Some(done) = shards.join_next().await {
            if let Err(e) = done {
                tracing::error!("a shard task failed: {e}");
            }
        }
        beat_stop.cancel();
        let _ = beat.await;
        tracing::info!("worker stopped");
        Ok(())
    }

    /// Heartbeat and refresh the shards held, until `stop`.
    async fn heartbeat(self: Arc<Self>, held: Held, stop: CancellationToken) {
        loop {
            let every = (self.queue_settings().reclaim_idle / 3)
                .clamp(Duration::from_millis(200), Duration::from_secs(5));
            let list: Vec<Delivery> = held.lock().expect("held lock").values().cloned().collect();
            let now = self.now_ms();
            if let Err(e) = self.queue.heartbeat(&self.config.name, now).await {
                self.metrics.redis_error();
                tracing::warn!("heartbeat: {e}");
            } else if let Err(e) = self.queue.touch(&self.config.name, &list).await {
                self.metrics.redis_error();
                tracing::warn!("refreshing held shards: {e}");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Scan one delivered shard and write its results; retries Redis until it answers.
    async fn process(&self, d: Delivery, scans: Arc<Semaphore>, pending: &mut Pending) {
        let work = match self
            .retry_transient("reading a shard", || self.queue.load(&d))
            .await
        {
            Ok(work) => work,
            // Not Redis being away: retrying cannot help. The shard stays pending, is
            // reclaimed and, past --max-deliveries, ends as scan_failed results.
            Err(e) => {
                tracing::error!(job = %d.job, shard = d.shard, "cannot read the shard, leaving it to redelivery: {e}");
                return;
            }
        };
        // Sites that already have a result (a redelivered shard) never wait for a scan.
        pending.release(pending.left.saturating_sub(work.sites.len()));
        if let Some(host) = &self.config.crash_on_host
            && work.sites.iter().any(|(_, s)| &s.host == host)
        {
            tracing::error!(job = %d.job, shard = d.shard, host, "TEST-ONLY fault injection: aborting on this shard");
            std::process::abort();
        }
        if work.state != queue::JobState::Running {
            tracing::info!(job = %d.job, shard = d.shard, state = %work.state, "skipping a shard of a job that is not running");
            self.retry("acknowledging a skipped shard", || {
                self.queue.store(&d, &[], true, self.now_ms())
            })
            .await;
            return;
        }
        let engine = match self.engine_for(&d.job).await {
            Ok(engine) => engine,
            Err(why) => {
                tracing::error!(job = %d.job, shard = d.shard, "not scanning the shard: {why}");
                let mut results = work.unreadable_results();
                results.extend(work.sites.iter().map(|(i, site)| {
                    let why = format!("not scanned: the job's settings: {why}");
                    (*i, SiteResult::failed(site, why))
                }));
                self.retry("writing results and acknowledging", || {
                    self.queue.store(&d, &results, true, self.now_ms())
                })
                .await;
                return;
            }
        };
        tracing::info!(job = %d.job, shard = d.shard, sites = work.sites.len(), deliveries = d.deliveries, "scanning a shard");
        // A record that does not parse ends as its own result; the rest is scanned.
        let mut batch: Vec<(u64, SiteResult)> = work.unreadable_results();
        // Each site on its own task (a panic becomes the site's result); dropping the set
        // aborts the scans in flight.
        let mut tasks = FuturesUnordered::new();
        for (index, site) in work.sites {
            let permit = Arc::clone(&scans)
                .acquire_owned()
                .await
                .expect("the scan semaphore is never closed");
            pending.release(1);
            let engine = Arc::clone(&engine);
            let now = (self.clock)();
            let metrics = self.metrics.clone();
            let task_site = site.clone();
            let scan = engine::site_task(site, async move {
                metrics.site_started();
                let started = std::time::Instant::now();
                let result = engine.scan(&task_site, now).await;
                metrics.site_ended();
                metrics.scanned(&result, started.elapsed());
                drop(permit);
                result
            });
            tasks.push(async move { (index, scan.await) });
        }
        while let Some((index, result)) = tasks.next().await {
            batch.push((index, result));
            if batch.len() >= self.config.batch && !tasks.is_empty() {
                let full = std::mem::take(&mut batch);
                self.retry("writing results", || {
                    self.queue.store(&d, &full, false, self.now_ms())
                })
                .await;
            }
        }
        let stored = self
            .retry("writing results and acknowledging", || {
                self.queue.store(&d, &batch, true, self.now_ms())
            })
            .await;
        if stored.job_finished {
            tracing::info!(job = %d.job, "job complete");
        }
    }

    /// Run `op` until it succeeds or fails for a reason other than Redis being unreachable
    /// (that error is returned: retrying cannot help).
    async fn retry_transient<T, F, Fut>(&self, what: &str, op: F) -> Result<T, queue::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, queue::Error>>,
    {
        self.retry_while(what, op, queue::Error::is_transient).await
    }

    /// Run `op` until it succeeds, backing off on errors (Redis restarting, network cut).
    async fn retry<T, F, Fut>(&self, what: &str, op: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, queue::Error>>,
    {
        let mut op = op;
        loop {
            // Every error is retried: the only way out is success.
            if let Ok(v) = self.retry_while(what, &mut op, |_| true).await {
                return v;
            }
        }
    }

    /// Run `op` until it succeeds or fails with an error `retryable` refuses, backing off
    /// between tries.
    async fn retry_while<T, F, Fut>(
        &self,
        what: &str,
        mut op: F,
        retryable: impl Fn(&queue::Error) -> bool,
    ) -> Result<T, queue::Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, queue::Error>>,
    {
        let mut backoff = Backoff::new(self.metrics.clone());
        loop {
            match op().await {
                Ok(v) => {
                    if backoff.failures > 0 {
                        tracing::info!("{what}: redis answers again");
                    }
                    return Ok(v);
                }
                Err(e) if retryable(&e) => {
                    backoff.failed(what, &e, &CancellationToken::new()).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Exponential backoff between 100 ms and 5 s, logging and counting each failure.
struct Backoff {
    failures: u32,
    metrics: Metrics,
}

impl Backoff {
    fn new(metrics: Metrics) -> Self {
        Backoff {
            failures: 0,
            metrics,
        }
    }

    async fn failed(&mut self, what: &str, e: &queue::Error, stop: &CancellationToken) {
        self.failures += 1;
        self.metrics.redis_error();
        let delay =
            Duration::from_millis(100 * 2u64.pow(self.failures.min(6))).min(Duration::from_secs(5));
        if e.is_transient() {
            tracing::warn!("{what}: redis unavailable ({e}); retrying in {delay:?}");
        } else {
            tracing::error!("{what}: {e}; retrying in {delay:?}");
        }
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::sleep(delay) => {}
        }
    }

    fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!("redis answers again");
        }
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_stuck_on_one_slow_site_does_not_stop_taking() {
        // concurrency 10, one shard of 10 sites held: 9 done, 1 silent site still scanning.
        // Nothing waits to start, so the worker asks for more (a count of shards held would
        // have stopped at this one shard until the silent site timed out).
        let backlog: Arc<Backlog> = Arc::default();
        let mut stuck = Pending::new(&backlog, 10);
        let waiting = || backlog.sites.load(Ordering::SeqCst);
        assert_eq!(
            shards_wanted(10, waiting(), 7, 10),
            0,
            "10 sites wait to start"
        );
        stuck.release(10); // all 10 started: 9 finished, 1 still holds a scan permit
        assert_eq!(waiting(), 0);
        assert_eq!(shards_wanted(10, waiting(), 7, 10), 1);
        assert_eq!(shards_wanted(10, 0, 7, 2), 5);
    }

    #[test]
    fn backlog_and_cap_bound_the_shards_taken() {
        assert_eq!(
            shards_wanted(10, 10, 5, 10),
            0,
            "backlog fills the semaphore"
        );
        assert_eq!(shards_wanted(10, 25, 5, 10), 0);
        assert_eq!(shards_wanted(10, 0, 0, 10), 0, "cap on shards held reached");
        assert_eq!(
            shards_wanted(500, 0, 3, 100),
            3,
            "never more than the free slots"
        );
        assert_eq!(
            shards_wanted(500, 450, 100, 100),
            1,
            "at least one when there is room"
        );
        assert_eq!(shards_wanted(1, 0, 4, 0), 1);
        assert_eq!(default_shards_in_flight(1), 4);
        assert_eq!(default_shards_in_flight(2000), 500);
    }

    #[tokio::test]
    async fn an_ended_shard_gives_back_its_backlog_and_wakes_the_taker() {
        let backlog: Arc<Backlog> = Arc::default();
        let mut a = Pending::new(&backlog, 4);
        let b = Pending::new(&backlog, 3);
        assert_eq!(backlog.sites.load(Ordering::SeqCst), 7);
        a.release(1);
        a.release(100); // never more than it holds
        assert_eq!(backlog.sites.load(Ordering::SeqCst), 3);
        drop(a);
        drop(b); // an aborted or skipped shard: its unstarted sites leave the backlog
        assert_eq!(backlog.sites.load(Ordering::SeqCst), 0);
        // The wake-up is stored for the take loop even if it was not yet waiting.
        tokio::time::timeout(Duration::from_secs(5), backlog.room.notified())
            .await
            .expect("the take loop is woken");
    }
}
