//! The queue against a real `redis-server` (started on a free port, no persistence):
//! exactly-once results, reclaim of idle shards, giving up after the delivery limit,
//! cancel, and jobs kept apart.

use model::{Code, Site, SiteResult};
use queue::{ConnectOptions, JobId, JobState, Queue};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Redis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (install the redis-server package)");
        // Owned from here: dropped (killed and reaped) on every path.
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return redis;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server did not start");
    }

    fn queue(&self) -> Queue {
        Queue::connect(
            &format!("redis://127.0.0.1:{}", self.port),
            &ConnectOptions::default(),
        )
        .unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sites(n: usize) -> Vec<Site> {
    (0..n)
        .map(|i| Site::parse(&format!("s{i}.gov.test")).unwrap())
        .collect()
}

fn ok(site: &Site) -> SiteResult {
    let mut r = SiteResult::for_site(site);
    r.https_ok = true;
    r
}

async fn job(q: &Queue, id: &str, n: usize, shard: u64) -> JobId {
    let job = JobId::parse(id).unwrap();
    q.create_job(&job, id, "", 1).await.unwrap();
    q.append_sites(&job, &sites(n)).await.unwrap();
    let info = q.seal_job(&job, shard, 2).await.unwrap();
    assert_eq!(
        (info.total, info.shards, info.state),
        (
            n as u64,
            n.div_ceil(shard as usize) as u64,
            JobState::Running
        )
    );
    job
}

const POLL: Duration = Duration::from_millis(50);

#[tokio::test]
async fn a_redelivered_shard_cannot_make_two_results_for_a_site() {
    let redis = Redis::start();
    let q = redis.queue();
    let job = job(&q, "j1", 5, 5).await;
    let d = q
        .take("a", 1, 0, POLL)
        .await
        .unwrap()
        .pop()
        .expect("a shard");
    let work = q.load(&d).await.unwrap();
    assert_eq!(work.sites.len(), 5);
    // Worker a writes two results, then "dies"; the shard goes idle and b reclaims it.
    let first: Vec<_> = work.sites[..2].iter().map(|(i, s)| (*i, ok(s))).collect();
    assert_eq!(q.store(&d, &first, false, 3).await.unwrap().written, 2);
    tokio::time::sleep(Duration::from_millis(120)).await;
    let again = q
        .reclaim(Some("b"), Duration::from_millis(100), 3, 10, 4)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].deliveries, 2);
    // b only has the three sites without a result left to scan.
    let rest = q.load(&again[0]).await.unwrap();
    assert_eq!(
        rest.sites.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    // Even if b writes all five (a stalled a wrote late, say), each site counts once.
    let all: Vec<_> = work.sites.iter().map(|(i, s)| (*i, ok(s))).collect();
    let stored = q.store(&again[0], &all, true, 5).await.unwrap();
    assert_eq!((stored.written, stored.job_finished), (3, true));
    let info = q.job(&job).await.unwrap().unwrap();
    assert_eq!(
        (info.done, info.state, info.finished_ms),
        (5, JobState::Done, 5)
    );
    assert_eq!(q.results(&job, 0, 10).await.unwrap().len(), 5);
    // A done job is no longer offered to workers.
    assert!(q.active_jobs().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_shard_past_its_delivery_limit_ends_with_scan_failed_results() {
    let redis = Redis::start();
    let q = redis.queue();
    let job = job(&q, "j2", 4, 2).await;
    let idle = Duration::from_millis(60);
    let mut held = q.take("w1", 1, 0, POLL).await.unwrap();
    assert_eq!(held.len(), 1);
    let poison = held.pop().unwrap();
    // Two more deliveries, each holder dying without a word.
    for (n, who) in [(2, "w2"), (3, "w3")] {
        tokio::time::sleep(idle * 2).await;
        let got = q.reclaim(Some(who), idle, 3, 10, 10).await.unwrap();
        assert_eq!(got.len(), 1, "delivery {n}");
        assert_eq!(
            (got[0].entry.as_str(), got[0].deliveries),
            (poison.entry.as_str(), n)
        );
    }
    // Third holder dies too: the next sweep gives the shard up instead of delivering it.
    tokio::time::sleep(idle * 2).await;
    assert!(q.reclaim(None, idle, 3, 10, 20).await.unwrap().is_empty());
    let info = q.job(&job).await.unwrap().unwrap();
    assert_eq!((info.done, info.failed), (2, 2));
    for (_, json) in q.results(&job, poison.start, 2).await.unwrap() {
        let r: SiteResult = serde_json::from_str(&json).unwrap();
        assert!(r.has(Code::ScanFailed), "{json}");
    }
    // And it is not delivered again.
    tokio::time::sleep(idle * 2).await;
    assert!(
        q.reclaim(Some("w4"), idle, 3, 10, 30)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn cancel_fills_every_missing_result_and_workers_skip_the_shards() {
    let redis = Redis::start();
    let q = redis.queue();
    let job = job(&q, "j3", 7, 3).await;
    let d = q.take("w", 1, 0, POLL).await.unwrap().pop().unwrap();
    let info = q.cancel(&job, 9).await.unwrap();
    assert_eq!(
        (info.state, info.done, info.failed),
        (JobState::Cancelled, 7, 7)
    );
    // The worker holding a shard sees the state; its late results change nothing.
    assert_eq!(q.load(&d).await.unwrap().state, JobState::Cancelled);
    let work: Vec<_> = sites(3)
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u64, ok(s)))
        .collect();
    assert_eq!(q.store(&d, &work, true, 10).await.unwrap().written, 0);
    // No more shards are handed out.
    assert!(q.take("w", 4, 0, POLL).await.unwrap().is_empty());
    // Cancelling again is harmless.
    assert_eq!(q.cancel(&job, 11).await.unwrap().state, JobState::Cancelled);
}

#[tokio::test]
async fn two_jobs_are_served_in_turn_and_kept_apart() {
    let redis = Redis::start();
    let q = redis.queue();
    let a = job(&q, "ja", 4, 1).await;
    let b = job(&q, "jb", 4, 1).await;
    let got = q.take("w", 2, 0, POLL).await.unwrap();
    let jobs: Vec<&JobId> = got.iter().map(|d| &d.job).collect();
    assert_eq!(jobs, [&a, &b], "one shard from each job");
    for d in &got {
        let w = q.load(d).await.unwrap();
        let r: Vec<_> = w.sites.iter().map(|(i, s)| (*i, ok(s))).collect();
        q.store(d, &r, true, 1).await.unwrap();
    }
    assert_eq!(q.job(&a).await.unwrap().unwrap().done, 1);
    assert_eq!(q.job(&b).await.unwrap().unwrap().done, 1);
    let listed: Vec<JobId> = q.jobs().await.unwrap().into_iter().map(|j| j.id).collect();
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn an_empty_list_is_refused_and_unknown_jobs_are_none() {
    let redis = Redis::start();
    let q = redis.queue();
    let job = JobId::parse("empty").unwrap();
    q.create_job(&job, "", "", 1).await.unwrap();
    assert!(matches!(
        q.seal_job(&job, 10, 2).await,
        Err(queue::Error::EmptyJob)
    ));
    q.discard_job(&job).await.unwrap();
    assert!(q.job(&job).await.unwrap().is_none());
    assert!(matches!(
        q.cancel(&job, 3).await,
        Err(queue::Error::UnknownJob(_))
    ));
}

/// A site record that does not parse (a corrupt or foreign write) ends as a `scan_failed`
/// result for that index, saying why; the shard's other sites load as usual — it is never a
/// shard retried forever.
#[tokio::test]
async fn an_unreadable_site_record_becomes_its_own_result_and_the_rest_loads() {
    let redis = Redis::start();
    let q = redis.queue();
    let job = job(&q, "corrupt", 4, 4).await;
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", redis.port)).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("LSET")
        .arg(format!("govscan:job:{job}:sites"))
        .arg(2)
        .arg(r#"{"url":"s2.gov.test","host":7"#)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let d = q
        .take("a", 1, 0, POLL)
        .await
        .unwrap()
        .pop()
        .expect("a shard");
    let work = q
        .load(&d)
        .await
        .expect("a bad record does not fail the load");
    let indexes: Vec<u64> = work.sites.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [0, 1, 3]);
    assert_eq!(work.unreadable.len(), 1);
    let failed = work.unreadable_results();
    assert_eq!(failed[0].0, 2);
    assert!(failed[0].1.has(Code::ScanFailed));
    assert!(
        failed[0].1.findings[0].detail.contains("could not be read"),
        "{:?}",
        failed[0].1.findings
    );
    // The whole shard stored: the job completes with one result per site.
    let mut all: Vec<_> = work.sites.iter().map(|(i, s)| (*i, ok(s))).collect();
    all.extend(failed);
    let stored = q.store(&d, &all, true, 9).await.unwrap();
    assert_eq!(stored.written, 4);
    assert!(stored.job_finished);
}

/// Every result of a job's sites, written (and the shards acknowledged) at `now`.
async fn finish(q: &Queue, job: &JobId, n: usize, now: u64) {
    while let Some(d) = q.take("w", 1, 0, POLL).await.unwrap().pop() {
        let work = q.load(&d).await.unwrap();
        let all: Vec<_> = work.sites.iter().map(|(i, s)| (*i, ok(s))).collect();
        q.store(&d, &all, true, now).await.unwrap();
    }
    let info = q.job(job).await.unwrap().unwrap();
    assert_eq!((info.state, info.done), (JobState::Done, n as u64));
}

async fn exists(redis: &Redis, key: &str) -> bool {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", redis.port)).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let n: u64 = redis::cmd("EXISTS")
        .arg(key)
        .query_async(&mut c)
        .await
        .unwrap();
    n == 1
}

async fn pttl(redis: &Redis, key: &str) -> i64 {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", redis.port)).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut c)
        .await
        .unwrap()
}

#[tokio::test]
async fn ended_jobs_expire_after_retention_and_running_ones_are_kept() {
    let redis = Redis::start();
    let q = redis.queue();
    let day = Duration::from_secs(86_400);
    let ms = |d: Duration| d.as_millis() as u64;
    let done = job(&q, "done1", 6, 3).await;
    finish(&q, &done, 6, 1_000).await;
    let running = job(&q, "run1", 4, 4).await;
    q.heartbeat("old-worker", 10).await.unwrap();
    q.heartbeat("live-worker", ms(day)).await.unwrap();

    // One day after it ended, with 30 days of retention: every key of the done job expires
    // in the 29 days left; its stream and site list are gone; the running job is untouched.
    let now = 1_000 + ms(day);
    let swept = q.sweep_retention(30 * day, now).await.unwrap();
    assert_eq!((swept.deleted, swept.expiring, swept.compacted), (0, 1, 1));
    assert_eq!(swept.heartbeats, 1, "the stale heartbeat is pruned");
    let left = pttl(&redis, "govscan:job:done1:results").await;
    assert!(left > 0 && left as u64 <= ms(29 * day), "TTL {left}");
    assert!(pttl(&redis, "govscan:job:done1").await > 0);
    assert!(!exists(&redis, "govscan:job:done1:shards").await);
    assert!(!exists(&redis, "govscan:job:done1:sites").await);
    assert_eq!(
        pttl(&redis, "govscan:job:run1").await,
        -1,
        "no TTL while running"
    );
    assert!(exists(&redis, "govscan:job:run1:shards").await);
    // The results still read back.
    assert_eq!(q.results(&done, 0, 10).await.unwrap().len(), 6);

    // Past its retention it is deleted at once and leaves the job list.
    let swept = q
        .sweep_retention(30 * day, 1_000 + ms(30 * day))
        .await
        .unwrap();
    assert_eq!(swept.deleted, 1);
    assert!(q.job(&done).await.unwrap().is_none());
    let ids: Vec<String> = q
        .jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id.to_string())
        .collect();
    assert_eq!(ids, ["run1"]);
    assert!(q.job(&running).await.unwrap().is_some());
}

#[tokio::test]
async fn delete_removes_an_ended_job_and_refuses_a_running_one() {
    let redis = Redis::start();
    let q = redis.queue();
    let running = job(&q, "del1", 3, 3).await;
    let err = q.delete_job(&running).await.unwrap_err();
    assert!(
        matches!(
            err,
            queue::Error::WrongState {
                state: JobState::Running,
                ..
            }
        ),
        "{err}"
    );
    q.cancel(&running, 5).await.unwrap();
    let info = q.delete_job(&running).await.unwrap();
    assert_eq!(info.state, JobState::Cancelled);
    for key in ["", ":sites", ":results", ":shards"] {
        assert!(
            !exists(&redis, &format!("govscan:job:del1{key}")).await,
            "{key}"
        );
    }
    assert!(q.jobs().await.unwrap().is_empty());
    assert!(matches!(
        q.delete_job(&running).await.unwrap_err(),
        queue::Error::UnknownJob(_)
    ));
}

#[tokio::test]
async fn leases_on_an_address_stop_at_the_limit_and_a_dead_holders_expire() {
    let redis = Redis::start();
    let q = redis.queue();
    let long = Duration::from_secs(60);
    assert!(q.try_lease("192.0.2.1", "w1-0", 2, long).await.unwrap());
    assert!(q.try_lease("192.0.2.1", "w2-0", 2, long).await.unwrap());
    assert!(
        !q.try_lease("192.0.2.1", "w3-0", 2, long).await.unwrap(),
        "two held: a third waits"
    );
    assert!(
        q.try_lease("192.0.2.2", "w3-0", 2, long).await.unwrap(),
        "another address is apart"
    );
    assert_eq!(q.leases("192.0.2.1").await.unwrap(), 2);
    q.release_lease("192.0.2.1", "w1-0").await.unwrap();
    assert!(q.try_lease("192.0.2.1", "w3-1", 2, long).await.unwrap());
    // A holder that died never gives its lease back: it expires.
    let short = Duration::from_millis(200);
    assert!(q.try_lease("192.0.2.3", "dead-0", 1, short).await.unwrap());
    assert!(!q.try_lease("192.0.2.3", "w1-1", 1, long).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        q.try_lease("192.0.2.3", "w1-2", 1, long).await.unwrap(),
        "an expired lease does not count"
    );
}

#[tokio::test]
async fn a_renewed_lease_outlives_its_first_ttl_and_a_lost_one_is_not_revived() {
    let redis = Redis::start();
    let q = redis.queue();
    let short = Duration::from_millis(300);
    assert!(q.try_lease("192.0.2.4", "w1-0", 1, short).await.unwrap());
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(q.renew_lease("192.0.2.4", "w1-0", short).await.unwrap());
    }
    // 600 ms after it was taken with 300 ms to live: still held, because renewed.
    assert_eq!(q.leases("192.0.2.4").await.unwrap(), 1);
    assert!(!q.try_lease("192.0.2.4", "w2-0", 1, short).await.unwrap());
    // Not renewed: it expires, another takes the slot, and a late renewal does not bring
    // the old one back over the limit.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(q.try_lease("192.0.2.4", "w2-1", 1, short).await.unwrap());
    assert!(!q.renew_lease("192.0.2.4", "w1-0", short).await.unwrap());
    assert_eq!(q.leases("192.0.2.4").await.unwrap(), 1);
    assert!(!q.renew_lease("192.0.2.9", "never", short).await.unwrap());
}

#[tokio::test]
async fn a_jobs_settings_and_the_queue_settings_are_kept_for_the_workers() {
    let redis = Redis::start();
    let q = redis.queue();
    assert_eq!(q.cluster_settings().await.unwrap(), None);
    let cluster = queue::ClusterSettings {
        reclaim_idle: Duration::from_secs(7),
        max_deliveries: 5,
    };
    q.set_cluster_settings(&cluster).await.unwrap();
    assert_eq!(q.cluster_settings().await.unwrap(), Some(cluster));

    let id = job(&q, "j-settings", 3, 3).await;
    assert_eq!(q.job(&id).await.unwrap().unwrap().settings, None);
    let settings = model::JobSettings {
        trust: model::Browser::Mozilla,
        chrome_version: None,
        ca_pem: vec!["PEM".into()],
        root_constraints: Vec::new(),
        allow_private_targets: false,
        site_timeout_secs: 30,
        step_timeout_secs: 5,
        legacy_probe: false,
        favicon_check: true,
        user_agent: "govscan/test".into(),
        per_ip_concurrency: 2,
        exclude: vec!["10.0.0.0/8".into()],
        http_port: 80,
        https_port: 443,
    };
    q.set_job_settings(&id, &settings, "0123456789abcdef")
        .await
        .unwrap();
    let info = q.job(&id).await.unwrap().unwrap();
    assert_eq!(info.settings, Some(settings));
    assert_eq!(info.settings_digest, "0123456789abcdef");
}
