//! `scan-worker`: takes shards from the Redis queue and scans them. The scan flags are those
//! of `scanctl scan` (environment `SCAN_*`): the defaults and limits of the jobs' own
//! settings; the worker's own flags read `SCAN_WORKER_*`.

use anyhow::Context;
use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// mimalloc: allocation-heavy work (TLS, HTML parsing) is ~20% malloc/free with the
/// system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A worker of the scan cluster: takes shards of sites from Redis, scans them, writes the
/// results back. SIGTERM: stop taking work, finish what is held, exit 0 (a second SIGTERM
/// exits at once and leaves the shards held to be reclaimed).
#[derive(Parser)]
#[command(name = "scan-worker", version)]
struct Args {
    /// The Redis holding the queue (redis://[USER:PASSWORD@]host:port[/db]; rediss:// for TLS).
    #[arg(
        long,
        env = "SCAN_WORKER_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis: String,
    /// Read the Redis URL from this file instead (its first line not starting with #): for
    /// a URL with a password, e.g. a systemd credential (`LoadCredential=`, `%d/redis-url`).
    #[arg(long, env = "SCAN_WORKER_REDIS_FILE", value_name = "FILE")]
    redis_file: Option<std::path::PathBuf>,
    /// The Redis password, from this file (its first line), for a URL without one.
    #[arg(long, env = "SCAN_WORKER_REDIS_PASSWORD_FILE", value_name = "FILE")]
    redis_password_file: Option<std::path::PathBuf>,
    /// Verify a rediss:// server with this CA certificate (PEM) instead of the system's roots.
    #[arg(long, env = "SCAN_WORKER_REDIS_CA", value_name = "PEM")]
    redis_ca: Option<std::path::PathBuf>,
    /// A client certificate (PEM) for a Redis that requires one (tls-auth-clients yes).
    #[arg(long, env = "SCAN_WORKER_REDIS_CLIENT_CERT", value_name = "PEM")]
    redis_client_cert: Option<std::path::PathBuf>,
    /// The key (PEM) of --redis-client-cert.
    #[arg(long, env = "SCAN_WORKER_REDIS_CLIENT_KEY", value_name = "PEM")]
    redis_client_key: Option<std::path::PathBuf>,
    /// This worker's name in the queue (default: HOSTNAME-PID); unique per process.
    #[arg(long, env = "SCAN_WORKER_NAME")]
    name: Option<String>,
    /// Hard cap on shards held at once (default: max(4, concurrency/4)). Shards are taken
    /// while fewer than --concurrency of the sites held wait to start; this only bounds memory.
    #[arg(long, env = "SCAN_WORKER_SHARDS_IN_FLIGHT")]
    shards_in_flight: Option<usize>,
    /// Claim shards another worker left idle this long (e.g. 30s). The coordinator's value
    /// (published in Redis) replaces it once read: this only stands in until then.
    #[arg(long, env = "SCAN_WORKER_RECLAIM_IDLE", default_value = "30s", value_parser = queue::parse_duration)]
    reclaim_idle: Duration,
    /// Deliveries of a shard before its remaining sites get `scan_failed` results. Like
    /// --reclaim-idle, replaced by the coordinator's value once read.
    #[arg(long, env = "SCAN_WORKER_MAX_DELIVERIES", default_value_t = 3)]
    max_deliveries: u64,
    /// Redis key prefix (must match the coordinator's).
    #[arg(long, env = "SCAN_WORKER_REDIS_PREFIX", default_value = "govscan")]
    redis_prefix: String,
    /// Serve Prometheus metrics at /metrics, and /healthz and /readyz, on this address
    /// (e.g. 127.0.0.1:9101; off loopback: with --metrics-tls-cert …). Off by default.
    #[arg(long, env = "SCAN_WORKER_METRICS_LISTEN", value_name = "HOST:PORT")]
    metrics_listen: Option<String>,
    #[command(flatten)]
    metrics_tls: telemetry::MetricsTlsArgs,
    /// TEST-ONLY fault injection: abort the process when taking a shard that holds this
    /// host. Stands for "a shard that crashes its worker every time". Never set in production.
    #[arg(long, env = "SCAN_WORKER_CRASH_ON_HOST", hide = true)]
    crash_on_host: Option<String>,
    #[command(flatten)]
    scan: engine::flags::ScanFlags,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCAN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = engine::prefer_small_pages() {
        tracing::debug!(error = %e, "transparent huge pages stay on");
    }
    let args = Args::parse();
    let engine_config = args.scan.to_config().context("scan flags")?;
    let name = args.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into());
        format!("{host}-{}", std::process::id())
    });
    let mut config = worker::Config::new(name, args.scan.concurrency());
    if let Some(n) = args.shards_in_flight {
        config.shards_in_flight = n.max(1);
    }
    config.reclaim_idle = args.reclaim_idle;
    config.max_deliveries = args.max_deliveries.max(1);
    config.crash_on_host = args.crash_on_host.clone();
    // Before connecting: the metrics listener (off loopback: TLS, /metrics for the
    // scrapers' certificates).
    let metrics = match &args.metrics_listen {
        Some(addr) => Some(args.metrics_tls.bind(addr).await?),
        None => None,
    };
    let credentials = queue::Credentials::read(queue::CredentialFiles {
        ca: args.redis_ca.as_deref(),
        client_cert: args.redis_client_cert.as_deref(),
        client_key: args.redis_client_key.as_deref(),
        password: args.redis_password_file.as_deref(),
    })?;
    let options = queue::ConnectOptions {
        prefix: args.redis_prefix.clone(),
        credentials,
        ..Default::default()
    };
    let reader_options = queue::ConnectOptions {
        response_timeout: options.response_timeout + config.poll,
        ..options.clone()
    };
    let redis = queue::choose_url(&args.redis, args.redis_file.as_deref())?;
    let shown = queue::redact(&redis);
    let reader = queue::Queue::connect(&redis, &reader_options)
        .with_context(|| format!("redis URL {shown:?}"))?;
    let queue =
        queue::Queue::connect(&redis, &options).with_context(|| format!("redis URL {shown:?}"))?;
    tracing::info!(name = %config.name, redis = %shown, "connecting");
    // Leases renewed while their sites are in flight; a dead worker's expire in LEASE_TTL.
    let limiter = worker::ClusterLimiter::new(
        queue.clone(),
        config.name.clone(),
        worker::polite::LEASE_TTL,
    );
    let engine = Arc::new(
        engine::Engine::with_limiter(engine_config, Arc::new(limiter))
            .context("cannot start the scanning engine")?,
    );

    let stop = CancellationToken::new();
    let abort = CancellationToken::new();
    {
        let (stop, abort) = (stop.clone(), abort.clone());
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            let mut signals = 0;
            loop {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                signals += 1;
                if signals == 1 {
                    tracing::info!(
                        "signal: finishing the shards held, then exiting (signal again to exit now)"
                    );
                    stop.cancel();
                } else {
                    tracing::warn!("second signal: exiting now; held shards will be reclaimed");
                    abort.cancel();
                }
            }
        });
    }
    let clock: worker::Clock = Arc::new(SystemTime::now);
    let worker = worker::Worker::new(engine, reader, queue.clone(), config, clock);
    let metrics_stop = CancellationToken::new();
    if let Some(telemetry::MetricsListener { listener, tls }) = metrics {
        let local = listener.local_addr()?;
        tracing::info!(listen = %local, tls = tls.is_some(), "serving /metrics, /healthz, /readyz");
        let endpoints = worker.metrics().endpoints(env!("CARGO_PKG_VERSION"), queue);
        tokio::spawn(telemetry::serve(
            listener,
            endpoints,
            tls,
            metrics_stop.clone(),
        ));
    }
    let result = worker.run(stop, abort).await;
    metrics_stop.cancel();
    result?;
    Ok(())
}
