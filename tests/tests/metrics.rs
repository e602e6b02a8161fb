//! Metrics, health and retention of the real cluster: `redis-server`, `scan-coordinator` and
//! two `scan-worker`s with `--metrics-listen`, scanning a slow simulated fleet on loopback.
//!
//! Scrapes both during and after a job and checks the counters against the job's results;
//! stops Redis and checks that the coordinator's gRPC health turns NOT_SERVING and the
//! workers' `/readyz` fails (and both recover); deletes jobs with `scanctl delete`.
//!
//! Needs the binaries built first (`cargo build --workspace --bins`, as `./test.sh` does),
//! `redis-server`, ports 80/443 on loopback (root) and `openssl` for the farm.

use farm::{Farm, Mix};
use scan_tests::cluster::{BOUND, Cluster, Scrape, http_get};
use scan_tests::scan::Lab;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// The coordinator's gRPC health for the whole server (`""`), or `None` if it does not answer.
async fn grpc_health(url: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Channel::from_shared(url.to_owned())
        .ok()?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .ok()?;
    let mut client = HealthClient::new(channel);
    let response = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(response.into_inner().status).ok()
}

/// Poll `check` every 100 ms until it holds (panics after [`BOUND`] with `what`).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + BOUND;
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The verdict label a worker counts a result under (as `worker::metrics::verdict`).
fn verdict(r: &scan_tests::scan::Observed) -> &'static str {
    if r.codes().contains("scan_failed") {
        "failed"
    } else if r.https_ok && r.forced_https {
        "forced"
    } else if r.https_ok {
        "adopted"
    } else {
        "not_adopted"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_a_job_and_health_follows_redis() {
    let farm = Farm::builder()
        .fleet(60, &Mix::national())
        .latency(Duration::from_millis(150))
        .first_address(Ipv4Addr::new(127, 150, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let lab = Lab::new(&farm);
    // A long reclaim time: no shard is scanned twice, so the counters must equal the results.
    let mut cluster = Cluster::builder()
        .workers(2)
        .shard_size(4)
        .concurrency(2)
        .reclaim_idle("60s")
        .metrics()
        .start(&farm)
        .await;
    let (coordinator, workers) = (
        cluster.coordinator_metrics(),
        [cluster.worker_metrics(0), cluster.worker_metrics(1)],
    );

    // Idle: build info, nothing queued, workers alive and ready.
    eventually("workers ready", || async move {
        workers
            .iter()
            .all(|w| http_get(*w, "/readyz").is_some_and(|(s, _)| s == 200))
    })
    .await;
    let idle = Scrape::from(coordinator);
    assert_eq!(idle.get("govscan_sites_queued"), 0.0);
    assert_eq!(
        idle.family("govscan_build_info")
            .iter()
            .filter(|(labels, v)| labels.contains(r#"program="scan-coordinator""#) && *v == 1.0)
            .count(),
        1,
        "{idle:?}"
    );
    assert_eq!(http_get(workers[0], "/healthz").map(|(s, _)| s), Some(200));

    // During the job: queued + in flight is exactly what is not done at the scrape.
    let job = cluster.submit(&lab.csv).await;
    let before = cluster.wait_for(&job, false, |s| n(s, "done") > 0).await;
    let during = Scrape::from(coordinator);
    let after = cluster.status(&job).await.expect("status");
    let total = n(&after, "total");
    assert!(
        n(&after, "done") < total,
        "the job ended before the mid-job scrape: {after}"
    );
    let outstanding =
        (during.get("govscan_sites_queued") + during.get("govscan_sites_in_flight")) as u64;
    assert!(
        outstanding >= total - n(&after, "done") && outstanding <= total - n(&before, "done"),
        "queued + in flight {outstanding} vs done {} → {} of {total}",
        n(&before, "done"),
        n(&after, "done")
    );
    assert_eq!(during.get(r#"govscan_jobs{state="running"}"#), 1.0);
    let scanning: f64 = workers
        .iter()
        .map(|w| {
            Scrape::from(*w)
                .family("govscan_sites_scanned_total")
                .iter()
                .map(|(_, v)| v)
                .sum::<f64>()
        })
        .sum();
    assert!(scanning > 0.0, "workers counted nothing mid-job");

    // After: the workers' counters add up to the job's results, verdict by verdict and code
    // by code, and nothing is left in flight or held.
    cluster.wait_done(&job).await;
    let results = cluster.results(&job).await;
    assert_eq!(results.len() as u64, total);
    let mut want_verdicts: BTreeMap<String, f64> = BTreeMap::new();
    let mut want_codes: BTreeMap<String, f64> = BTreeMap::new();
    for r in &results {
        *want_verdicts
            .entry(format!(r#"{{verdict="{}"}}"#, verdict(r)))
            .or_default() += 1.0;
        for code in r.codes() {
            *want_codes
                .entry(format!(r#"{{code="{code}"}}"#))
                .or_default() += 1.0;
        }
    }
    let mut settled = Vec::new();
    eventually("workers release every site and shard", || {
        settled = workers.iter().map(|w| Scrape::from(*w)).collect();
        let idle = settled.iter().all(|s| {
            s.get("govscan_sites_in_flight") == 0.0 && s.get("govscan_shards_held") == 0.0
        });
        async move { idle }
    })
    .await;
    let sum = |name: &str| -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for s in &settled {
            for (labels, v) in s.family(name) {
                *out.entry(labels).or_default() += v;
            }
        }
        out.retain(|_, v| *v > 0.0);
        out
    };
    assert_eq!(sum("govscan_sites_scanned_total"), want_verdicts);
    assert_eq!(sum("govscan_site_findings_total"), want_codes);
    let histogram_count: f64 = settled
        .iter()
        .map(|s| s.get("govscan_site_scan_duration_seconds_count"))
        .sum();
    assert_eq!(histogram_count, total as f64);
    let done = Scrape::from(coordinator);
    assert_eq!(done.get("govscan_sites_queued"), 0.0);
    assert_eq!(done.get("govscan_sites_in_flight"), 0.0);
    assert_eq!(done.get(r#"govscan_jobs{state="done"}"#), 1.0);
    assert_eq!(done.get("govscan_workers_active"), 2.0);
    assert_eq!(done.get("govscan_redis_up"), 1.0);
    assert_eq!(
        grpc_health(&cluster.coordinator_url()).await,
        Some(ServingStatus::Serving)
    );

    // Redis down: the coordinator's gRPC health is NOT_SERVING, its /readyz and the workers'
    // fail, /healthz still answers; all recover when Redis is back.
    cluster.redis().stop();
    let url = cluster.coordinator_url();
    eventually("gRPC health NOT_SERVING", || {
        let url = url.clone();
        async move { grpc_health(&url).await == Some(ServingStatus::NotServing) }
    })
    .await;
    for addr in [coordinator, workers[0], workers[1]] {
        eventually("/readyz fails while redis is down", || async move {
            http_get(addr, "/readyz").is_some_and(|(s, _)| s == 503)
        })
        .await;
        assert_eq!(http_get(addr, "/healthz").map(|(s, _)| s), Some(200));
    }
    let down = Scrape::from(coordinator);
    assert_eq!(down.get("govscan_redis_up"), 0.0);
    assert!(down.get("govscan_redis_errors_total") >= 1.0);
    cluster.redis().start_again();
    eventually("gRPC health SERVING again", || {
        let url = url.clone();
        async move { grpc_health(&url).await == Some(ServingStatus::Serving) }
    })
    .await;
    for addr in [coordinator, workers[0], workers[1]] {
        eventually("/readyz again", || async move {
            http_get(addr, "/readyz").is_some_and(|(s, _)| s == 200)
        })
        .await;
    }
    let errors: f64 = workers
        .iter()
        .map(|w| Scrape::from(*w).get("govscan_redis_errors_total"))
        .sum();
    assert!(errors >= 1.0, "the workers counted no Redis error");

    // Retention by hand: a running job cannot be deleted; an ended one can, and is gone.
    let running = cluster.submit(&lab.csv).await;
    let refused = cluster.scanctl(&["delete", &running]).await;
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("cancel it first"),
        "{}",
        refused.stderr
    );
    let cancel = cluster.scanctl(&["cancel", &running]).await;
    assert!(cancel.status.success(), "{}", cancel.stderr);
    for id in [&job, &running] {
        let deleted = cluster.scanctl(&["delete", id]).await;
        assert!(deleted.status.success(), "delete: {}", deleted.stderr);
        let gone = cluster.scanctl(&["status", id]).await;
        assert_eq!(gone.status.code(), Some(2), "{}", gone.stderr);
    }
    let after_delete = Scrape::from(coordinator);
    let jobs: f64 = after_delete
        .family("govscan_jobs")
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(jobs, 0.0, "{after_delete:?}");
}

/// Off loopback, plaintext metrics are refused before anything listens or connects: both
/// binaries exit saying which flags to give (the rule itself, and the TLS set-up that
/// satisfies it, are tested in `telemetry::tls`).
#[test]
fn plaintext_metrics_off_loopback_are_refused_at_start() {
    for (bin, args) in [
        (
            "scan-coordinator",
            &["--listen", "127.0.0.1:0", "--redis", "redis://127.0.0.1:1"][..],
        ),
        ("scan-worker", &["--redis", "redis://127.0.0.1:1"][..]),
    ] {
        let out = std::process::Command::new(scan_tests::bins::path(bin))
            .args(args)
            .args(["--metrics-listen", "0.0.0.0:0"])
            .env("RUST_BACKTRACE", "0")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bin} started: {stderr}");
        assert!(
            stderr.contains("refusing to serve metrics on 0.0.0.0")
                && stderr.contains("--metrics-tls-cert"),
            "{bin}: {stderr}"
        );
        assert!(!stderr.contains("serving"), "{bin} served first: {stderr}");
    }
}
