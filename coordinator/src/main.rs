//! `scan-coordinator`: the cluster's gRPC front. Every flag is also an environment variable.

use anyhow::Context;
use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// The coordinator of the scan cluster: takes jobs over gRPC, shards them into Redis,
/// tracks progress and serves results and reports.
#[derive(Parser)]
#[command(name = "scan-coordinator", version)]
struct Args {
    /// Address to serve gRPC on.
    #[arg(
        long,
        env = "SCAN_COORDINATOR_LISTEN",
        default_value = "127.0.0.1:50051"
    )]
    listen: String,
    /// The Redis holding the queue (redis://[USER:PASSWORD@]host:port[/db]; rediss:// for TLS).
    #[arg(
        long,
        env = "SCAN_COORDINATOR_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis: String,
    /// Read the Redis URL from this file instead (its first line not starting with #): for
    /// a URL with a password, e.g. a systemd credential (`LoadCredential=`, `%d/redis-url`).
    #[arg(long, env = "SCAN_COORDINATOR_REDIS_FILE", value_name = "FILE")]
    redis_file: Option<std::path::PathBuf>,
    /// The Redis password, from this file (its first line), for a URL without one.
    #[arg(
        long,
        env = "SCAN_COORDINATOR_REDIS_PASSWORD_FILE",
        value_name = "FILE"
    )]
    redis_password_file: Option<std::path::PathBuf>,
    /// Verify a rediss:// server with this CA certificate (PEM) instead of the system's roots.
    #[arg(long, env = "SCAN_COORDINATOR_REDIS_CA", value_name = "PEM")]
    redis_ca: Option<std::path::PathBuf>,
    /// A client certificate (PEM) for a Redis that requires one (tls-auth-clients yes).
    #[arg(long, env = "SCAN_COORDINATOR_REDIS_CLIENT_CERT", value_name = "PEM")]
    redis_client_cert: Option<std::path::PathBuf>,
    /// The key (PEM) of --redis-client-cert.
    #[arg(long, env = "SCAN_COORDINATOR_REDIS_CLIENT_KEY", value_name = "PEM")]
    redis_client_key: Option<std::path::PathBuf>,
    /// Sites per shard.
    #[arg(long, env = "SCAN_COORDINATOR_SHARD_SIZE", default_value_t = 100)]
    shard_size: u64,
    /// A shard whose worker has been silent this long is delivered again (e.g. 30s).
    #[arg(long, env = "SCAN_COORDINATOR_RECLAIM_IDLE", default_value = "30s", value_parser = queue::parse_duration)]
    reclaim_idle: Duration,
    /// Deliveries of a shard before its remaining sites get `scan_failed` results.
    #[arg(long, env = "SCAN_COORDINATOR_MAX_DELIVERIES", default_value_t = 3)]
    max_deliveries: u64,
    /// The most sites one job may hold: a bigger list is refused (split it into several jobs).
    #[arg(
        long,
        env = "SCAN_COORDINATOR_MAX_JOB_SITES",
        default_value_t = 2_000_000
    )]
    max_job_sites: u64,
    /// Keep an ended (done or cancelled) job's results this long after it ended, then let
    /// its keys expire (e.g. 30d, 12h; `scanctl delete JOB` removes one at once).
    #[arg(long, env = "SCAN_COORDINATOR_RETAIN_FINISHED", default_value = "30d", value_parser = queue::parse_duration)]
    retain_finished: Duration,
    /// Serve Prometheus metrics at /metrics (and /healthz, /readyz) on this address, e.g.
    /// 127.0.0.1:9100 (off loopback: with --metrics-tls-cert …). Off by default.
    #[arg(
        long,
        env = "SCAN_COORDINATOR_METRICS_LISTEN",
        value_name = "HOST:PORT"
    )]
    metrics_listen: Option<String>,
    #[command(flatten)]
    metrics_tls: telemetry::MetricsTlsArgs,
    /// Redis key prefix (several deployments can share one Redis).
    #[arg(long, env = "SCAN_COORDINATOR_REDIS_PREFIX", default_value = "govscan")]
    redis_prefix: String,
    #[command(flatten)]
    archive: coordinator::archiver::ArchiveArgs,
    #[command(flatten)]
    gate: coordinator::GateArgs,
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
    let args = Args::parse();
    anyhow::ensure!(args.shard_size >= 1, "--shard-size must be at least 1");
    anyhow::ensure!(
        args.max_deliveries >= 1,
        "--max-deliveries must be at least 1"
    );
    // Before anything listens: off loopback, TLS and a check of every caller.
    let gate = args.gate.load()?;
    for addr in tokio::net::lookup_host(&args.listen)
        .await
        .with_context(|| format!("--listen {}", args.listen))?
    {
        gate.check_exposure(addr, args.gate.insecure_no_auth)?;
    }
    // The metrics listener too (off loopback: TLS, /metrics for the scrapers' certificates).
    let metrics = match &args.metrics_listen {
        Some(addr) => Some(args.metrics_tls.bind(addr).await?),
        None => None,
    };
    let archive = args
        .archive
        .settings(std::env::var("PGPASSWORD").ok())
        .map_err(anyhow::Error::msg)?;
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
    let redis = queue::choose_url(&args.redis, args.redis_file.as_deref())?;
    let shown = queue::redact(&redis);
    let queue =
        queue::Queue::connect(&redis, &options).with_context(|| format!("redis URL {shown:?}"))?;
    if let Err(e) = queue.ping().await {
        tracing::warn!(
            "redis at {} does not answer yet ({e}); serving anyway, requests will fail until it does",
            shown
        );
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        redis = %shown,
        tls = gate.tls.is_some(),
        client_certs = args.gate.client_ca.is_some(),
        tokens = args.gate.auth_tokens.is_some(),
        "coordinator serving"
    );
    let config = coordinator::Config {
        shard_size: args.shard_size,
        reclaim_idle: args.reclaim_idle,
        max_deliveries: args.max_deliveries,
        max_job_sites: args.max_job_sites,
        retain_finished: args.retain_finished,
        ..Default::default()
    };
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        signal.cancel();
    });
    tokio::spawn(reload_on_hangup(gate.clone(), shutdown.clone()));
    let clock: coordinator::Clock = Arc::new(SystemTime::now);
    if let Some(telemetry::MetricsListener {
        listener: metrics_listener,
        tls,
    }) = metrics
    {
        let local = metrics_listener.local_addr()?;
        tracing::info!(listen = %local, tls = tls.is_some(), "serving /metrics, /healthz, /readyz");
        let endpoints = coordinator::Metrics::default().endpoints(
            env!("CARGO_PKG_VERSION"),
            queue.clone(),
            config.worker_window,
            Arc::clone(&clock),
        );
        tokio::spawn(telemetry::serve(
            metrics_listener,
            endpoints,
            tls,
            shutdown.clone(),
        ));
    }
    let archiver = archive.map(|settings| {
        tokio::spawn(coordinator::archiver::run(
            queue.clone(),
            settings,
            shutdown.clone(),
        ))
    });
    coordinator::serve(listener, queue, config, clock, gate, shutdown).await?;
    if let Some(task) = archiver {
        let _ = task.await;
    }
    Ok(())
}

/// SIGHUP: read the --auth-tokens file again (a broken file keeps the tokens in force).
async fn reload_on_hangup(gate: coordinator::Gate, shutdown: CancellationToken) {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .expect("SIGHUP handler");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hup.recv() => {}
        }
        match gate.reload_tokens() {
            Ok(Some(n)) => tracing::info!(tokens = n, "SIGHUP: auth tokens read again"),
            Ok(None) => tracing::info!("SIGHUP: no --auth-tokens to read again"),
            Err(e) => tracing::error!("SIGHUP: {e}; the tokens in force stay"),
        }
    }
}

async fn wait_for_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
