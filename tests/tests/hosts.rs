//! The cluster across hosts: Redis, the coordinator, the workers, the admin's `scanctl` and
//! the farm each in a network namespace of their own ([`scan_tests::netns`]), joined by a
//! bridge — TLS and authentication everywhere, as `deploy/README.md` sets it up on several
//! machines. Off loopback the coordinator refuses to start without TLS and a caller check,
//! so these runs are the secure set-up or nothing.
//!
//! Addresses: hosts 198.18.0.0/24, the farm's sites 198.19.0.0/16 (namespaces of their own:
//! nothing here touches the machine's network). Needs root and iproute2.

use farm::{Farm, FarmBuilder, Mix};
use scan_tests::cluster::Cluster;
use scan_tests::netns::Net;
use scan_tests::scan::{Lab, Observed, compare};
use scan_tests::secure::Identity;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

const SITES: &str = "198.19.0.0/16";
const FIRST_SITE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);

/// A net of `workers` worker hosts beside redis, coordinator, admin and web; the farm's
/// range served by `web`.
fn net(workers: usize) -> Arc<Net> {
    let mut names = vec!["redis", "coordinator", "admin", "web"];
    let workers: Vec<String> = (1..=workers).map(|i| format!("worker-{i}")).collect();
    names.extend(workers.iter().map(String::as_str));
    let net = Net::new(&names);
    net.serve_range("web", SITES);
    Arc::new(net)
}

/// The farm, served from the host `web` (its DNS on web's own address).
struct WebFarm {
    farm: Option<Farm>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl WebFarm {
    async fn start(net: &Net, builder: FarmBuilder) -> WebFarm {
        let runtime = net.runtime("web");
        let dns = SocketAddr::new(IpAddr::V4(net.addr("web")), 53);
        let farm = runtime
            .spawn(builder.first_address(FIRST_SITE).dns_bind(dns).start())
            .await
            .expect("the farm's start task")
            .expect("the farm starts on web");
        WebFarm {
            farm: Some(farm),
            runtime: Some(runtime),
        }
    }

    fn farm(&self) -> &Farm {
        self.farm.as_ref().expect("the farm")
    }

    async fn shutdown(mut self) {
        if let Some(farm) = self.farm.take() {
            farm.shutdown().await;
        }
    }
}

impl Drop for WebFarm {
    fn drop(&mut self) {
        drop(self.farm.take());
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("no {key} in {v}"))
}

/// The job ids `scanctl jobs` lists (the UUIDs in its table).
async fn jobs(cluster: &Cluster) -> Vec<String> {
    let run = cluster.scanctl(&["jobs"]).await;
    assert!(run.status.success(), "scanctl jobs: {}", run.stderr);
    run.stdout
        .split(|c: char| c.is_whitespace() || c == '│')
        .filter(|t| t.len() == 36 && t.matches('-').count() == 4)
        .map(str::to_owned)
        .collect()
}

fn assert_refused(what: &str, run: &scan_tests::scan::Run) {
    assert!(
        !run.status.success(),
        "{what} should be refused: {}",
        run.stdout
    );
    assert!(!run.stderr.trim().is_empty(), "{what}: no error printed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_hosts_a_job_loses_nothing_when_a_worker_dies_and_refused_callers_change_nothing() {
    let net = net(2);
    let web = WebFarm::start(
        &net,
        Farm::builder()
            .fleet(60, &Mix::national())
            .latency(Duration::from_millis(150)),
    )
    .await;
    let farm = web.farm();
    let lab = Lab::new(farm);
    // The default per-address limit (4): worker-1 dies holding leases on the fleet's
    // addresses, which free themselves within the lease's 20 s (renewed while held).
    let mut cluster = Cluster::builder()
        .workers(2)
        .shard_size(4)
        .concurrency(4)
        .across(net.clone())
        .start(farm)
        .await;
    let list = lab.csv.to_str().unwrap();
    let run = cluster.scanctl(&["submit", list]).await;
    assert!(run.status.success(), "submit: {}", run.stderr);
    let job = run.stdout.trim().to_owned();

    // Refused while the job runs, and nothing changes: no certificate, a wrong token, a
    // viewer cancelling, a plaintext client.
    let refused = [
        (Identity::NoCertificate, vec!["submit", list]),
        (Identity::WrongToken, vec!["submit", list]),
        (Identity::WrongToken, vec!["status", &job, "--json"]),
        (Identity::Viewer, vec!["cancel", &job]),
        (Identity::Plaintext, vec!["jobs"]),
    ];
    for (id, args) in &refused {
        let run = cluster.scanctl_as(*id, args).await;
        assert_refused(&format!("{id:?} {}", args[0]), &run);
    }
    // The viewer may read.
    let run = cluster
        .scanctl_as(Identity::Viewer, &["status", &job, "--json"])
        .await;
    assert!(run.status.success(), "a viewer reads: {}", run.stderr);
    assert_eq!(
        jobs(&cluster).await,
        std::slice::from_ref(&job),
        "no job was added"
    );

    // A worker killed while it holds a shard.
    cluster.wait_log("worker-1", "scanning a shard").await;
    cluster.kill_worker(0);
    let status = cluster.wait_done(&job).await;
    assert_eq!(n(&status, "done"), 60, "{status}");
    assert_eq!(
        status["state"], "done",
        "the viewer's cancel changed nothing"
    );
    let results: Vec<Observed> = cluster.results(&job).await;
    compare(farm.sites(), &results).unwrap_or_else(|table| {
        panic!(
            "results across hosts vs the farm's expectations:\n{table}\n{}",
            cluster.logs()
        )
    });
    assert!(
        cluster.worker_logs().contains("reclaimed a shard"),
        "the killed worker's shard was reclaimed by the other host:\n{}",
        cluster.logs()
    );

    // They really were on other hosts, over TLS as the ACL users.
    let coordinator = cluster.log("coordinator");
    assert!(
        coordinator.contains(&format!(
            "rediss://govscan-coordinator@{}",
            net.addr("redis")
        )),
        "{coordinator}"
    );
    assert!(
        coordinator.contains(&net.addr("admin").to_string()),
        "the coordinator logs the admin host's calls: {coordinator}"
    );
    // No log line holds a Redis password or a token.
    let secure = cluster.secure();
    let logs = format!(
        "{coordinator}{}{}",
        cluster.worker_logs(),
        cluster.log("redis")
    );
    for secret in [&secure.coordinator_password, &secure.worker_password] {
        assert!(!logs.contains(secret.as_str()), "a password in the logs");
    }
    drop(cluster);
    web.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_hosts_four_workers_keep_to_two_connections_on_a_shared_address() {
    let net = net(4);
    let web = WebFarm::start(
        &net,
        Farm::builder()
            .fleet(50, &Mix::shared_host(50))
            .latency(Duration::from_millis(30)),
    )
    .await;
    let farm = web.farm();
    let lab = Lab::new(farm);
    let mut cluster = Cluster::builder()
        .workers(4)
        .concurrency(16)
        .shard_size(5)
        .shards_in_flight(4)
        .worker_flags(&["--per-ip-concurrency", "2"])
        .across(net.clone())
        .start(farm)
        .await;
    let run = cluster
        .scanctl(&[
            "submit",
            lab.csv.to_str().unwrap(),
            "--per-ip-concurrency",
            "2",
        ])
        .await;
    assert!(run.status.success(), "submit: {}", run.stderr);
    let job = run.stdout.trim().to_owned();
    cluster.wait_done(&job).await;
    let results = cluster.results(&job).await;
    compare(farm.sites(), &results).unwrap_or_else(|table| panic!("{table}"));
    // Counted by the farm on the shared address, as the kernel saw the clients' closes.
    let ip = farm.sites()[0].address.expect("in DNS");
    assert!(
        farm.sites().iter().all(|s| s.address == Some(ip)),
        "one address"
    );
    let max = farm.max_open_connections(IpAddr::V4(ip));
    assert!(
        (1..=2).contains(&max),
        "four workers on four hosts, --per-ip-concurrency 2: the farm saw {max} at once"
    );
    drop(cluster);
    web.shutdown().await;
}
