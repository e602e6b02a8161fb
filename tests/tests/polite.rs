//! Polite scanning and jobs that carry their settings, through the real binaries:
//! `--per-ip-concurrency` counted by the farm (not by the scanner) on a shared host, in
//! the cluster (four workers, leases in Redis) and embedded; `--exclude`; a job's settings
//! reaching the worker that scans it, and a job that cannot widen what its worker allows.
//!
//! Loopback addresses 127.125.0.0/16–127.129.0.0/16.

use farm::{Farm, FarmBuilder, Mix};
use scan_tests::cluster::Cluster;
use scan_tests::scan::{Lab, Observed, read_jsonl};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// 50 healthy sites on one address (a shared host), each response 30 ms late.
fn shared_host(first: Ipv4Addr) -> FarmBuilder {
    Farm::builder()
        .fleet(50, &Mix::shared_host(50))
        .latency(Duration::from_millis(30))
        .first_address(first)
}

/// The one address every site of `farm` is on.
fn the_address(farm: &Farm) -> IpAddr {
    let ip = farm.sites()[0].address.expect("in DNS");
    assert!(
        farm.sites().iter().all(|s| s.address == Some(ip)),
        "every site on one address"
    );
    IpAddr::V4(ip)
}

/// `scanctl submit LIST EXTRA…` (with the lab's job settings): the job id.
async fn submit(cluster: &Cluster, list: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["submit", list.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    let run = cluster.scanctl(&args).await;
    assert!(
        run.status.success(),
        "scanctl submit: {}\n{}\n{}",
        run.status,
        run.stderr,
        cluster.logs()
    );
    run.stdout.trim().to_owned()
}

/// The shared host scanned by four workers, `--per-ip-concurrency per_ip` on the workers
/// and the job: the most connections the farm saw open at once on the address, and the
/// results.
async fn shared_host_in_a_cluster(first: Ipv4Addr, per_ip: &str) -> (usize, Vec<Observed>) {
    let farm = shared_host(first).start().await.expect("the farm starts");
    let ip = the_address(&farm);
    let mut cluster = Cluster::builder()
        .workers(4)
        .concurrency(16)
        .shard_size(5)
        .shards_in_flight(4)
        .worker_flags(&["--per-ip-concurrency", per_ip])
        .start(&farm)
        .await;
    let list = cluster.dir().join("shared.csv");
    farm.write_csv(&list).expect("the site list");
    let job = submit(&cluster, &list, &["--per-ip-concurrency", per_ip]).await;
    cluster.wait_done(&job).await;
    let results = cluster.results(&job).await;
    assert_eq!(results.len(), 50, "one result per site\n{}", cluster.logs());
    let max = farm.max_open_connections(ip);
    farm.shutdown().await;
    (max, results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_keep_to_two_sites_at_a_time_on_a_shared_host() {
    let (max, results) = shared_host_in_a_cluster(Ipv4Addr::new(127, 125, 0, 1), "2").await;
    for r in &results {
        // Waiting for a lease is not the site's time: nobody times out waiting its turn.
        assert!(r.https_ok && r.forced_https, "{}: {:?}", r.host, r.findings);
    }
    // Two sites in flight, each making its connections to the address one at a time (the
    // implicit favicon is asked for on the page's connection before anything else
    // connects). The farm counts a connection open until the client's close reaches its
    // kernel (not until its own task reads the end), so a lease handed over right after a
    // close is not seen as an overlap.
    assert!(
        (1..=2).contains(&max),
        "at most 2 connections at once on the shared address, the farm saw {max}"
    );
    // The control: the same fleet without the limit is hit much harder, so the count above
    // can fail.
    let (max, _) = shared_host_in_a_cluster(Ipv4Addr::new(127, 126, 0, 1), "0").await;
    assert!(
        max > 2,
        "without --per-ip-concurrency the farm should see more than 2 connections at once, saw {max}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_scan_keeps_to_the_limit_and_excluded_sites_say_so() {
    let farm = shared_host(Ipv4Addr::new(127, 129, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let ip = the_address(&farm);
    let lab = Lab::new(&farm);
    let exclude = lab.dir.path().join("exclude.txt");
    std::fs::write(&exclude, "# never contacted\ns000007.fleet.gov.test\n").unwrap();
    let exclude = exclude.to_str().unwrap();
    let run = lab
        .scan_with(
            &farm,
            true,
            &[
                "--per-ip-concurrency",
                "2",
                "--exclude",
                exclude,
                "--concurrency",
                "64",
            ],
        )
        .await;
    assert!(run.status.success(), "scanctl scan: {}", run.stderr);
    let results = read_jsonl(&lab.output);
    assert_eq!(results.len(), 50);
    for r in &results {
        if r.host == "s000007.fleet.gov.test" {
            let codes: Vec<_> = r.codes().into_iter().collect();
            assert_eq!(codes, ["target_excluded"], "{:?}", r.findings);
            assert!(!r.https_ok && !r.forced_https);
        } else {
            assert!(r.https_ok && r.forced_https, "{}: {:?}", r.host, r.findings);
        }
    }
    // As in the cluster test: at most 2 connections at once.
    let max = farm.max_open_connections(ip);
    assert!(
        (1..=2).contains(&max),
        "embedded: the farm saw {max} at once"
    );

    // A network: every site on it is excluded, and nothing is contacted.
    let before = farm.connections_accepted();
    std::fs::write(lab.dir.path().join("net.txt"), "127.129.0.0/16\n").unwrap();
    let net = lab.dir.path().join("net.txt");
    let run = lab
        .scan_with(&farm, true, &["--exclude", net.to_str().unwrap()])
        .await;
    assert!(run.status.success(), "scanctl scan: {}", run.stderr);
    let results = read_jsonl(&lab.output);
    assert_eq!(results.len(), 50);
    for r in &results {
        assert!(
            r.codes().contains("target_excluded"),
            "{}: {:?}",
            r.host,
            r.findings
        );
    }
    assert_eq!(
        farm.connections_accepted(),
        before,
        "an excluded network is not contacted"
    );
    farm.shutdown().await;
}

fn digest(v: &Value) -> &str {
    v["scanner"]["settings_digest"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_scanned_with_the_settings_it_carries() {
    let farm = Farm::catalog()
        .retain(|h, _| matches!(h, "legacy-supported.gov.test" | "valid.gov.test"))
        .first_address(Ipv4Addr::new(127, 127, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    // The worker probes for TLS 1.0/1.1 (no --no-legacy-probe).
    let mut cluster = Cluster::builder().workers(1).start(&farm).await;
    let list = cluster.dir().join("sites.csv");
    farm.write_csv(&list).expect("the site list");
    let legacy = |results: &[Observed]| {
        results
            .iter()
            .find(|r| r.host == "legacy-supported.gov.test")
            .expect("a result")
            .codes()
            .contains("tls_legacy_supported")
    };

    let quiet = submit(&cluster, &list, &["--no-legacy-probe"]).await;
    cluster.wait_done(&quiet).await;
    let status = cluster.status(&quiet).await.expect("status");
    let settings = &status["settings"];
    assert_eq!(settings["legacy_probe"], false, "{status}");
    assert!(
        settings["ca_pem"][0]
            .as_str()
            .is_some_and(|p| p.contains("BEGIN CERTIFICATE")),
        "the settings in full, the CA's contents included: {status}"
    );
    let job_digest = status["settings_digest"].as_str().unwrap_or_default();
    assert_eq!(job_digest.len(), 16, "{status}");
    let results = cluster.results(&quiet).await;
    assert_eq!(results.len(), 2);
    assert!(!legacy(&results), "the job turned the legacy probe off");
    for r in &results {
        assert_eq!(digest(&r.raw), job_digest, "{}: the job's digest", r.host);
    }

    // The control: the same list without the flag, on the same worker.
    let probing = submit(&cluster, &list, &[]).await;
    cluster.wait_done(&probing).await;
    let status = cluster.status(&probing).await.expect("status");
    let results = cluster.results(&probing).await;
    assert!(legacy(&results), "the probe is on by default");
    let other = status["settings_digest"].as_str().unwrap_or_default();
    assert_ne!(other, job_digest);
    assert!(results.iter().all(|r| digest(&r.raw) == other));
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cannot_widen_what_its_worker_allows() {
    let farm = Farm::catalog()
        .retain(|h, _| matches!(h, "valid.gov.test" | "hsts-missing.gov.test"))
        .first_address(Ipv4Addr::new(127, 128, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let mut cluster = Cluster::builder()
        .workers(1)
        .forbid_private_targets()
        .start(&farm)
        .await;
    let list = cluster.dir().join("sites.csv");
    farm.write_csv(&list).expect("the site list");
    // The job asks for private targets (the lab's job flags do); the worker does not allow
    // them.
    let job = submit(&cluster, &list, &[]).await;
    cluster.wait_done(&job).await;
    let status = cluster.status(&job).await.expect("status");
    assert_eq!(
        status["settings"]["allow_private_targets"], true,
        "{status}"
    );
    let results = cluster.results(&job).await;
    assert_eq!(results.len(), 2);
    for r in &results {
        assert!(
            r.codes().contains("target_private"),
            "{}: {:?}",
            r.host,
            r.findings
        );
        assert!(!r.https_ok);
    }
    assert_eq!(farm.connections_accepted(), 0, "nothing contacted");
    farm.shutdown().await;
}
