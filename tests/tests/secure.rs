//! The secure cluster, as real processes: Redis over TLS with the ACL users of
//! `deploy/redis/users.acl`, the coordinator over mutual TLS with bearer tokens, workers
//! and `scanctl` presenting their credentials (`Cluster::builder().secure()`). And the
//! refusals: a caller without a certificate, with a wrong token, a viewer cancelling, a
//! plaintext client, and a plaintext coordinator reached with an `https://` URL.
//!
//! Addresses: 127.120.0.1 (Redis), 127.120.0.2 (coordinator), farms from 127.121.0.1.
//! Needs the binaries built (`cargo build --workspace --bins`), `redis-server` 7 built with
//! TLS, ports 80/443 on loopback (root) and `openssl` for the farm.

use farm::{Farm, Mix};
use scan_tests::cluster::Cluster;
use scan_tests::scan::Lab;
use scan_tests::secure::Identity;
use serde_json::Value;
use std::net::Ipv4Addr;
use std::time::Duration;

async fn fleet(sites: usize, first: Ipv4Addr, latency: Duration) -> Farm {
    Farm::builder()
        .fleet(sites, &Mix::national())
        .latency(latency)
        .first_address(first)
        .start()
        .await
        .expect("the farm starts")
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_completes_over_mtls_tokens_and_redis_tls_with_acl_users() {
    let farm = fleet(24, Ipv4Addr::new(127, 121, 0, 1), Duration::ZERO).await;
    let lab = Lab::new(&farm);
    let mut cluster = Cluster::builder().workers(2).secure().start(&farm).await;
    let job = cluster.submit(&lab.csv).await;
    let status = cluster.wait_done(&job).await;
    assert_eq!(n(&status, "done"), 24, "{status}");
    let results = cluster.results(&job).await;
    assert_eq!(results.len(), 24);
    let mut urls: Vec<&str> = results.iter().map(|r| r.url.as_str()).collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), 24, "one result per site");
    // Scanned, not failed: the worker's ACL user may run every command a job needs (its
    // settings, the per-address leases).
    for r in &results {
        assert!(
            !r.codes().contains("scan_failed"),
            "{}: {:?}",
            r.url,
            r.findings
        );
    }
    // Both sides really went through Redis as their ACL users, over TLS: a plaintext
    // Redis port does not exist (--port 0), and the default user is off.
    let coordinator = cluster.log("coordinator");
    assert!(
        coordinator.contains("rediss://govscan-coordinator@127.120.0.1"),
        "{coordinator}"
    );
    // Every call is logged with the caller's name: the token's, and the certificate's.
    assert!(
        coordinator.contains("caller=alice (cert admin)") && coordinator.contains("SubmitJob"),
        "{coordinator}"
    );
    // No log line holds a Redis password or a token.
    let secure = cluster.secure();
    let logs = format!("{coordinator}{}", cluster.worker_logs());
    for secret in [&secure.coordinator_password, &secure.worker_password] {
        assert!(!logs.contains(secret.as_str()), "a password in the logs");
    }
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_callers_change_nothing_until_sighup_reads_new_tokens() {
    let farm = fleet(8, Ipv4Addr::new(127, 122, 0, 1), Duration::ZERO).await;
    let lab = Lab::new(&farm);
    // No worker: the job stays running while the refused callers try their luck.
    let cluster = Cluster::builder().workers(0).secure().start(&farm).await;
    let job = cluster.submit(&lab.csv).await;
    let running = |s: &Value| s["state"] == "running" && n(s, "done") == 0;

    let refused = [
        (
            Identity::NoCertificate,
            "cancel",
            "requires a client certificate",
        ),
        (Identity::WrongToken, "cancel", "refused the credentials"),
        (Identity::Viewer, "cancel", "needs the operator role"),
        (Identity::Viewer, "delete", "needs the operator role"),
        (Identity::Plaintext, "cancel", "speaks TLS"),
    ];
    for (id, cmd, why) in refused {
        let run = cluster.scanctl_as(id, &[cmd, &job]).await;
        assert!(!run.status.success(), "{id:?} {cmd} succeeded");
        assert!(
            run.stderr.contains(why),
            "{id:?} {cmd}: expected {why:?} in {:?}",
            run.stderr
        );
        let status = cluster
            .status(&job)
            .await
            .expect("the operator reads the status");
        assert!(running(&status), "{id:?} {cmd} changed the job: {status}");
    }
    // A viewer cannot submit either; it can read.
    let list = lab.csv.to_str().unwrap();
    let run = cluster
        .scanctl_as(Identity::Viewer, &["submit", list])
        .await;
    assert!(
        !run.status.success() && run.stderr.contains("operator role"),
        "{}",
        run.stderr
    );
    let run = cluster.scanctl_as(Identity::Viewer, &["jobs"]).await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(run.stdout.matches(&job).count(), 1, "{}", run.stdout);
    assert_eq!(
        run.stdout.matches("running").count(),
        1,
        "one job, still running: {}",
        run.stdout
    );
    // The refusals are logged without the token.
    let log = cluster.log("coordinator");
    assert!(log.contains("call refused"), "{log}");
    assert!(!log.contains("wrong-"), "a token in the log");
    // SIGHUP: the token file is read again; bob, made an operator there, now may cancel.
    cluster.secure().write_tokens("operator");
    cluster.hangup_coordinator();
    cluster
        .wait_log("coordinator", "auth tokens read again")
        .await;
    let run = cluster
        .scanctl_as(Identity::Viewer, &["cancel", &job])
        .await;
    assert!(run.status.success(), "{}", run.stderr);
    let status = cluster.status(&job).await.expect("the status");
    assert_eq!(status["state"], "cancelled", "{status}");
    assert!(
        cluster
            .log("coordinator")
            .contains("method=CancelJob caller=bob (cert auditor) role=operator"),
        "{}",
        cluster.log("coordinator")
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_url_against_a_plaintext_coordinator_is_a_clear_error() {
    let farm = fleet(2, Ipv4Addr::new(127, 123, 0, 1), Duration::ZERO).await;
    let cluster = Cluster::builder().workers(0).start(&farm).await;
    let https = cluster.coordinator_url().replace("http://", "https://");
    let ca = farm.ca_pem_path().to_str().unwrap().to_owned();
    let run = scan_tests::scan::scanctl(&[
        "jobs".as_ref(),
        "--coordinator".as_ref(),
        https.as_ref(),
        "--coordinator-ca".as_ref(),
        ca.as_ref(),
    ])
    .await;
    assert!(!run.status.success());
    assert!(
        run.stderr.contains("does not speak TLS"),
        "{:?}",
        run.stderr
    );
    farm.shutdown().await;
}

#[tokio::test]
async fn a_coordinator_off_loopback_without_tls_and_callers_refuses_to_start() {
    let out = tokio::process::Command::new(scan_tests::bins::path("scan-coordinator"))
        .args(["--listen", "0.0.0.0:1", "--redis", "redis://127.120.0.1:1"])
        .env_remove("SCAN_COORDINATOR_INSECURE_NO_AUTH")
        .output()
        .await
        .expect("scan-coordinator runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not loopback") && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );
}
