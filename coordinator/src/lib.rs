//! The coordinator: the gRPC service (`govscan.v1.ScanService`) in front of the Redis queue.
//!
//! It validates and stores a submitted list, splits it into shards and enqueues them
//! ([`queue::Queue::seal_job`]), answers progress, results and reports from Redis, and sweeps
//! for shards that exhausted their deliveries (so a shard that kills every worker still ends,
//! even when no worker is left to reclaim it). It holds no state of its own: every answer is
//! read from Redis, so it can be restarted at any moment — jobs carry on, and the new process
//! answers for them.
//!
//! With `--archive`, [`archiver`] writes every finished job to the PostgreSQL archive.
//!
//! [`serve`] takes a bound listener and a shutdown future (a test binds port 0 and runs the
//! real server); [`Error`] is the one place service errors become gRPC status codes.
//!
//! Who may call is the [`gate`]'s business: TLS, client certificates and bearer tokens
//! ([`auth`]), checked and logged for every call by a tower layer in front of the services.
//!
//! Beside the API: the gRPC health service turns `NOT_SERVING` while Redis is unreachable
//! (`health`), ended jobs expire after `retain_finished` (the sweeper runs
//! [`queue::Queue::sweep_retention`]), and [`Metrics`] serves the autoscaling signal
//! (`govscan_sites_queued`) and job counts.

pub mod archiver;
pub mod auth;
mod error;
pub mod gate;
mod health;
pub mod metrics;
mod service;

pub use error::Error;
pub use gate::{Gate, GateArgs};
pub use metrics::Metrics;
pub use service::Service;

use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use queue::{Clock, unix_ms};

/// How the coordinator runs jobs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sites per shard: the unit of delivery, retry and failure.
    pub shard_size: u64,
    /// A shard whose worker has been silent this long is given to another.
    pub reclaim_idle: Duration,
    /// After this many deliveries a shard's remaining sites get `scan_failed` results.
    pub max_deliveries: u64,
    /// The most sites one job may hold; a bigger upload is refused as it arrives.
    pub max_job_sites: u64,
    /// Progress interval for WatchJob when the client asks for none.
    pub watch_interval: Duration,
    /// A worker counts as active when it sent a heartbeat this recently.
    pub worker_window: Duration,
    /// An ended job's keys expire this long after it ended.
    pub retain_finished: Duration,
    /// How often the gRPC health status checks Redis.
    pub health_interval: Duration,
    /// How often the retention sweep runs.
    pub retention_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shard_size: 100,
            reclaim_idle: Duration::from_secs(30),
            max_deliveries: 3,
            max_job_sites: 2_000_000,
            watch_interval: Duration::from_secs(1),
            worker_window: Duration::from_secs(15),
            retain_finished: Duration::from_secs(30 * 86_400),
            health_interval: Duration::from_secs(1),
            retention_interval: Duration::from_secs(60),
        }
    }
}

/// Serve the API on `listener` (with the gRPC health service) behind `gate` until
/// `shutdown` resolves, and run the sweeper beside it.
pub async fn serve(
    listener: tokio::net::TcpListener,
    queue: queue::Queue,
    config: Config,
    clock: Clock,
    gate: Gate,
    shutdown: CancellationToken,
) -> Result<(), tonic::transport::Error> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<proto::v1::scan_service_server::ScanServiceServer<Service>>()
        .await;
    let health_task = tokio::spawn(health::follow_redis(
        health,
        queue.clone(),
        config.health_interval,
        shutdown.clone(),
    ));
    let service = Service::new(
        queue.clone(),
        config.clone(),
        clock.clone(),
        shutdown.clone(),
    );
    let sweeper = tokio::spawn(sweep(queue, config, clock, shutdown.clone()));
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = gate.tls {
        server = server.tls_config(tls)?;
    }
    let result = server
        .layer(auth::Layer(gate.policy))
        .add_service(health_service)
        .add_service(proto::v1::scan_service_server::ScanServiceServer::new(
            service,
        ))
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown.clone().cancelled_owned(),
        )
        .await;
    shutdown.cancel();
    let _ = sweeper.await;
    let _ = health_task.await;
    result
}

/// End shards that exhausted their deliveries and finish cancels a previous process left
/// half done, every `reclaim_idle / 2`.
async fn sweep(queue: queue::Queue, config: Config, clock: Clock, shutdown: CancellationToken) {
    let period =
        (config.reclaim_idle / 2).clamp(Duration::from_millis(500), Duration::from_secs(10));
    let mut last_retention: Option<tokio::time::Instant> = None;
    // The queue settings live in Redis, the one place every worker reads them (written
    // every round: a Redis that lost its data gets them back).
    let cluster = queue::ClusterSettings {
        reclaim_idle: config.reclaim_idle,
        max_deliveries: config.max_deliveries,
    };
    loop {
        if let Err(e) = queue.set_cluster_settings(&cluster).await {
            tracing::warn!("publishing the queue settings: {e}");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        let now = unix_ms(clock());
        if last_retention.is_none_or(|t| t.elapsed() >= config.retention_interval) {
            last_retention = Some(tokio::time::Instant::now());
            match queue.sweep_retention(config.retain_finished, now).await {
                Ok(swept) if swept != queue::Swept::default() => {
                    tracing::info!(?swept, "retention sweep")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("retention sweep: {e}"),
            }
        }
        if let Err(e) = queue
            .reclaim(None, config.reclaim_idle, config.max_deliveries, 100, now)
            .await
        {
            tracing::warn!("sweep: {e}");
            continue;
        }
        match queue.jobs().await {
            Ok(jobs) => {
                for job in jobs {
                    if job.state == queue::JobState::Cancelled
                        && job.done < job.total
                        && let Err(e) = queue.fill_cancelled(&job.id, now).await
                    {
                        tracing::warn!(job = %job.id, "finishing a cancel: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!("sweep: {e}"),
        }
    }
}
