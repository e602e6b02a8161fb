//! The cluster, as real processes: `redis-server`, `scan-coordinator`, several
//! `scan-worker`s and `scanctl`, scanning the simulated farm on loopback.
//!
//! Needs the binaries built first (`cargo build --workspace --bins`, as `./test.sh` does),
//! `redis-server`, ports 80/443 on loopback (root) and `openssl` for the farm.
//!
//! The plumbing tests scan a generated fleet with added latency, so a job lasts long enough
//! to kill things in the middle of it; each checks that it really did so (a kill after the
//! job ended would prove nothing, and fails the test). Short reclaim timeouts and small
//! shards keep them quick.

use farm::{Farm, Mix};
use scan_tests::cluster::{Cluster, split_csv};
use scan_tests::scan::{Lab, Observed, read_jsonl};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

/// url → (https_ok, forced_https, sorted codes), asserting one result per url.
fn verdicts(results: &[Observed]) -> BTreeMap<String, (bool, bool, BTreeSet<String>)> {
    let mut out = BTreeMap::new();
    for r in results {
        let prev = out.insert(r.url.clone(), (r.https_ok, r.forced_https, r.codes()));
        assert!(prev.is_none(), "two results for {}", r.url);
    }
    out
}

/// The urls of a CSV site list (its last column).
fn list_urls(csv: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.rsplit(',').next().unwrap().trim().to_owned())
        .collect()
}

/// Every listed site has exactly one result, and nothing else has one.
fn assert_exactly_once(results: &[Observed], csv: &std::path::Path) {
    let got = verdicts(results);
    let want = list_urls(csv);
    let have: BTreeSet<String> = got.keys().cloned().collect();
    assert_eq!(have, want, "results are not exactly the listed sites");
}

/// The cells of a report CSV, without the free-text detail column (細節).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("report CSV").iter().map(str::to_owned).collect())
        .collect();
    let detail = rows
        .first()
        .and_then(|h| h.iter().position(|c| c == "細節"));
    rows.into_iter()
        .map(|mut row| {
            if let Some(d) = detail.filter(|&d| d < row.len()) {
                row.remove(d);
            }
            row
        })
        .collect()
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// Two workers, shards of 4, two sites each at once: a job over a slow fleet lasts long
/// enough to break something in the middle of it.
fn small_cluster() -> scan_tests::cluster::Builder {
    Cluster::builder().workers(2).shard_size(4).concurrency(2)
}

/// Submit `csv` and wait until the job is under way but not done (a failure injected after
/// the job ended would prove nothing, so that fails the test). The job id.
async fn submit_mid_job(cluster: &mut Cluster, csv: &std::path::Path, what: &str) -> String {
    let job = cluster.submit(csv).await;
    let before = cluster.wait_for(&job, false, |s| n(s, "done") > 0).await;
    assert!(
        n(&before, "done") < n(&before, "total"),
        "the job ended before the {what}: {before}"
    );
    job
}

/// A slow fleet: every HTTP response waits `latency`, so a job takes a while.
async fn slow_fleet(sites: usize, first: Ipv4Addr) -> Farm {
    Farm::builder()
        .fleet(sites, &Mix::national())
        .latency(Duration::from_millis(150))
        .first_address(first)
        .start()
        .await
        .expect("the farm starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_results_equal_scanctl_scan_results() {
    let farm = Farm::catalog()
        .first_address(Ipv4Addr::new(127, 100, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let lab = Lab::new(&farm);
    let run = lab.scan(&farm, true).await;
    assert!(
        run.status.success(),
        "scanctl scan: {}\n{}",
        run.status,
        run.stderr
    );
    let local = verdicts(&read_jsonl(&lab.output));

    let mut cluster = Cluster::builder()
        .workers(2)
        .shard_size(3)
        .start(&farm)
        .await;
    let run = cluster
        .scanctl(&[
            "submit",
            lab.csv.to_str().unwrap(),
            "--name",
            "catalog",
            "--wait",
        ])
        .await;
    assert!(
        run.status.success(),
        "submit --wait: {}\n{}\n{}",
        run.status,
        run.stderr,
        cluster.logs()
    );
    let job = run.stdout.trim().to_owned();
    let status = cluster.wait_done(&job).await;
    assert_eq!(n(&status, "done"), n(&status, "total"));
    assert_eq!(n(&status, "total") as usize, farm.sites().len());
    let results = cluster.results(&job).await;
    assert_exactly_once(&results, &lab.csv);
    let remote = verdicts(&results);
    for (url, want) in &local {
        assert_eq!(
            remote.get(url),
            Some(want),
            "{url}: cluster vs scanctl scan"
        );
    }
    assert_eq!(remote.len(), local.len());
    // The coordinator's aggregate agrees with the results.
    let report = &cluster.report(&job).await["report"];
    let adopted = local.values().filter(|v| v.0).count() as u64;
    let forced = local.values().filter(|v| v.1).count() as u64;
    assert_eq!(
        (
            n(report, "count"),
            n(report, "adopted"),
            n(report, "forced")
        ),
        (local.len() as u64, adopted, forced),
        "{report}"
    );
    let per_category: u64 = report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| n(c, "count"))
        .sum();
    assert_eq!(per_category, local.len() as u64);
    let mut codes: BTreeMap<String, u64> = BTreeMap::new();
    for (_, _, c) in local.values() {
        for code in c {
            *codes.entry(code.clone()).or_default() += 1;
        }
    }
    let reported: BTreeMap<String, u64> = report["codes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(reported, codes);

    // `scanctl report --job` gives the same full report as `scanctl report FILE` on the
    // local scan: NDC table, agency tree, finding counts and failing sites.
    let output = lab.output.to_str().unwrap();
    for by in ["category", "agency", "sites"] {
        let from_job = cluster
            .scanctl(&["report", "--job", &job, "--format", "csv", "--by", by])
            .await;
        assert!(
            from_job.status.success(),
            "report --job: {}",
            from_job.stderr
        );
        let args = ["report", output, "--format", "csv", "--by", by].map(std::ffi::OsStr::new);
        let from_file = scan_tests::scan::scanctl(&args).await;
        assert!(
            from_file.status.success(),
            "report FILE: {}",
            from_file.stderr
        );
        // The details hold relative times ("valid only from … (in 10 days)") that may tick
        // between the two scans: compare every other column.
        let (job_rows, file_rows) = (csv_rows(&from_job.stdout), csv_rows(&from_file.stdout));
        assert!(job_rows.len() > 3, "{}", from_job.stdout);
        assert_eq!(job_rows, file_rows, "report --by {by}: job vs file");
    }
    let diff = cluster
        .scanctl(&["diff", "--jobs", &job, &job, "--format", "json"])
        .await;
    assert!(diff.status.success(), "diff --jobs: {}", diff.stderr);
    let diff: Value = serde_json::from_str(&diff.stdout).expect("diff JSON");
    assert_eq!(diff["fixed"].as_array().map(Vec::len), Some(0), "{diff}");
    assert_eq!(diff["broke"].as_array().map(Vec::len), Some(0), "{diff}");
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_no_site_and_duplicates_none() {
    let farm = slow_fleet(80, Ipv4Addr::new(127, 101, 0, 1)).await;
    let lab = Lab::new(&farm);
    let mut cluster = small_cluster().start(&farm).await;
    let job = submit_mid_job(&mut cluster, &lab.csv, "kill").await;
    // Kill it while it holds a shard (the assertion on reclaim below checks it did).
    cluster.wait_log("worker-1", "scanning a shard").await;
    cluster.kill_worker(0);
    let status = cluster.wait_done(&job).await;
    assert_eq!(n(&status, "done"), 80);
    let results = cluster.results(&job).await;
    assert_exactly_once(&results, &lab.csv);
    // The dead worker's shards were claimed by the other and scanned again, not given up.
    assert!(
        cluster.worker_logs().contains("reclaimed a shard"),
        "no shard was reclaimed from the killed worker:\n{}",
        cluster.logs()
    );
    assert_eq!(n(&status, "failed"), 0, "{status}\n{}", cluster.logs());
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_with_sigterm_finishes_its_shards_and_exits_0() {
    let farm = slow_fleet(40, Ipv4Addr::new(127, 108, 0, 1)).await;
    let lab = Lab::new(&farm);
    // A long reclaim idle: if the stopped worker left a shard behind, the job would wait.
    let mut cluster = small_cluster().reclaim_idle("10m").start(&farm).await;
    let job = submit_mid_job(&mut cluster, &lab.csv, "stop").await;
    cluster.wait_log("worker-1", "scanning a shard").await;
    let exit = cluster.stop_worker(0);
    assert!(exit.success(), "SIGTERM exit: {exit}\n{}", cluster.logs());
    assert!(
        cluster
            .log("worker-1")
            .contains("finishing the shards held")
    );
    assert!(
        !cluster.log("worker-1").contains("held=0"),
        "the worker held no shard when stopped:\n{}",
        cluster.logs()
    );
    let status = cluster.wait_done(&job).await;
    assert_eq!((n(&status, "done"), n(&status, "failed")), (40, 0));
    assert_exactly_once(&cluster.results(&job).await, &lab.csv);
    assert!(
        !cluster.worker_logs().contains("reclaimed a shard"),
        "{}",
        cluster.logs()
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_killed_and_restarted_mid_job_loses_nothing() {
    let farm = slow_fleet(60, Ipv4Addr::new(127, 102, 0, 1)).await;
    let lab = Lab::new(&farm);
    let mut cluster = small_cluster().start(&farm).await;
    let job = submit_mid_job(&mut cluster, &lab.csv, "kill").await;
    // A `scanctl watch` follows the job across the restart.
    let watch_log = cluster.dir().join("watch.err");
    let mut watch = tokio::process::Command::new(scan_tests::bins::path("scanctl"))
        .args(["watch", &job, "--coordinator", &cluster.coordinator_url()])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&watch_log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("scanctl watch");
    while !std::fs::read_to_string(&watch_log)
        .unwrap()
        .contains("scanctl: job")
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.kill_coordinator();
    // While it is down, scanctl says so clearly (exit 1).
    let down = cluster.scanctl(&["status", &job]).await;
    assert_eq!(down.status.code(), Some(1), "{}", down.stderr);
    assert!(
        down.stderr.contains("cannot reach the coordinator"),
        "{}",
        down.stderr
    );
    cluster.start_coordinator();
    let status = cluster.wait_done(&job).await;
    assert_eq!(n(&status, "done"), 60);
    let watched = tokio::time::timeout(scan_tests::cluster::BOUND, watch.wait())
        .await
        .expect("scanctl watch ends when the job is done")
        .unwrap();
    let watch_text = std::fs::read_to_string(&watch_log).unwrap();
    assert!(watched.success(), "scanctl watch: {watched}\n{watch_text}");
    assert!(watch_text.contains("reconnecting"), "{watch_text}");
    assert_exactly_once(&cluster.results(&job).await, &lab.csv);
    let listed = cluster.scanctl(&["jobs"]).await;
    assert!(listed.stdout.contains(&job), "{}", listed.stdout);
    // SIGTERM: a graceful exit.
    assert!(cluster.stop_coordinator().success());
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_job_everyone_reconnects_and_the_job_completes() {
    let farm = slow_fleet(60, Ipv4Addr::new(127, 103, 0, 1)).await;
    let lab = Lab::new(&farm);
    let mut cluster = small_cluster().start(&farm).await;
    let job = submit_mid_job(&mut cluster, &lab.csv, "restart").await;
    cluster.redis().restart(Duration::from_secs(2));
    let status = cluster.wait_done(&job).await;
    assert_eq!(n(&status, "done"), 60);
    assert_exactly_once(&cluster.results(&job).await, &lab.csv);
    // The workers lived through it: they saw Redis go, retried, and did not exit.
    assert!(cluster.exited_workers().is_empty(), "{}", cluster.logs());
    assert!(
        cluster.worker_logs().contains("redis unavailable"),
        "the workers never noticed the restart:\n{}",
        cluster.logs()
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_that_crashes_every_worker_ends_as_failed_results_not_a_loop() {
    let farm = Farm::catalog()
        .first_address(Ipv4Addr::new(127, 104, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let lab = Lab::new(&farm);
    let poison = farm.sites()[5].host.clone();
    let mut cluster = Cluster::builder()
        .workers(2)
        .shard_size(3)
        .shards_in_flight(1)
        .reclaim_idle("1s")
        .max_deliveries(3)
        .crash_on_host(&poison)
        .start(&farm)
        .await;
    let job = cluster.submit(&lab.csv).await;
    // Workers that abort are restarted, as systemd would.
    let status = cluster.wait_for(&job, true, |s| s["state"] == "done").await;
    let results = cluster.results(&job).await;
    assert_exactly_once(&results, &lab.csv);
    let given_up: Vec<&Observed> = results
        .iter()
        .filter(|r| {
            r.findings
                .iter()
                .any(|(c, d)| c == "scan_failed" && d.contains("delivered 3 times"))
        })
        .collect();
    assert!(
        given_up.iter().any(|r| r.host == poison),
        "the poison site's result: {given_up:?}"
    );
    // Only the poison shard was given up (one shard held per worker): at most shard_size.
    assert!(given_up.len() <= 3, "{} sites given up", given_up.len());
    assert_eq!(n(&status, "failed") as usize, given_up.len());
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_jobs_at_once_stay_separate() {
    let farm = slow_fleet(40, Ipv4Addr::new(127, 105, 0, 1)).await;
    let lab = Lab::new(&farm);
    let parts = split_csv(&lab.csv, lab.dir.path(), 2);
    let mut cluster = Cluster::builder()
        .workers(2)
        .shard_size(3)
        .start(&farm)
        .await;
    let a = cluster.submit(&parts[0]).await;
    let b = cluster.submit(&parts[1]).await;
    assert_ne!(a, b);
    let sa = cluster.wait_done(&a).await;
    let sb = cluster.wait_done(&b).await;
    assert_eq!(n(&sa, "total") + n(&sb, "total"), 40);
    assert_exactly_once(&cluster.results(&a).await, &parts[0]);
    assert_exactly_once(&cluster.results(&b).await, &parts[1]);
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_remaining_shards_of_a_job() {
    let farm = slow_fleet(30, Ipv4Addr::new(127, 106, 0, 1)).await;
    let lab = Lab::new(&farm);
    // No worker yet: nothing of the job is scanned before the cancel.
    let mut cluster = Cluster::builder()
        .workers(0)
        .shard_size(3)
        .start(&farm)
        .await;
    let cancelled = cluster.submit(&lab.csv).await;
    let run = cluster.scanctl(&["cancel", &cancelled]).await;
    assert!(run.status.success(), "{}", run.stderr);
    // Now workers come, and a second job is queued behind the cancelled one's shards.
    cluster.add_worker();
    cluster.add_worker();
    let after = cluster.submit(&lab.csv).await;
    cluster.wait_done(&after).await;
    let status = cluster
        .status(&cancelled)
        .await
        .expect("status of the cancelled job");
    assert_eq!(status["state"], "cancelled", "{status}");
    assert_eq!(
        (n(&status, "done"), n(&status, "failed")),
        (30, 30),
        "{status}"
    );
    let results = cluster.results(&cancelled).await;
    assert_exactly_once(&results, &lab.csv);
    for r in &results {
        assert_eq!(
            r.codes(),
            BTreeSet::from(["scan_failed".to_owned()]),
            "{}: scanned after the cancel",
            r.url
        );
        assert!(r.findings[0].1.contains("cancelled"), "{:?}", r.findings);
    }
    // `watch` of a cancelled job ends at once, and says so with exit 1.
    let watch = cluster.scanctl(&["watch", &cancelled]).await;
    assert_eq!(watch.status.code(), Some(1), "{}", watch.stderr);
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_job_ids_and_bad_lists_are_clear_usage_errors() {
    let farm = Farm::catalog()
        .first_address(Ipv4Addr::new(127, 107, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let cluster = Cluster::builder().workers(0).start(&farm).await;
    let run = cluster
        .scanctl(&["status", "0192f0c4-0000-7000-8000-000000000000"])
        .await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("no job"), "{}", run.stderr);
    let run = cluster.scanctl(&["results", "not a job"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    let bad = cluster.dir().join("bad.txt");
    std::fs::write(&bad, "good.gov.test\nftp://bad.gov.test/\n").unwrap();
    let run = cluster.scanctl(&["submit", bad.to_str().unwrap()]).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no job id for a rejected list: {}",
        run.stdout
    );
    let listed = cluster.scanctl(&["jobs"]).await;
    assert!(listed.status.success());
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_over_max_job_sites_is_refused_with_a_clear_error() {
    let farm = Farm::catalog()
        .retain(|host, _| host == "valid.gov.test")
        .first_address(Ipv4Addr::new(127, 117, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let cluster = Cluster::builder()
        .workers(0)
        .max_job_sites(3)
        .start(&farm)
        .await;
    let list = |n: usize| {
        let path = cluster.dir().join(format!("{n}.txt"));
        let text: String = (0..n).map(|i| format!("s{i}.gov.test\n")).collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    let four = list(4);
    let run = cluster.scanctl(&["submit", four.to_str().unwrap()]).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    for needle in ["more than 3 sites", "--max-job-sites 3", "split it"] {
        assert!(
            run.stderr.contains(needle),
            "no {needle:?} in {}",
            run.stderr
        );
    }
    assert!(run.stdout.is_empty(), "no job id: {}", run.stdout);
    let listed = cluster.scanctl(&["jobs"]).await;
    assert!(listed.status.success(), "{}", listed.stderr);
    assert!(
        !listed.stdout.contains("4.txt"),
        "the refused upload left no job: {}",
        listed.stdout
    );
    let three = list(3);
    let run = cluster.scanctl(&["submit", three.to_str().unwrap()]).await;
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("3 sites"), "{}", run.stderr);
    farm.shutdown().await;
}
