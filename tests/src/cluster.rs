//! A cluster sandbox for the integration tests: a real `redis-server` (AOF on, so it can be
//! restarted without losing the queue), the real `scan-coordinator` and `scan-worker`
//! processes, and `scanctl` against them — all on loopback, with helpers to wait for a
//! job, kill and restart each part, and read results.
//!
//! ```no_run
//! # async fn demo(farm: &farm::Farm) {
//! use scan_tests::cluster::Cluster;
//! let mut cluster = Cluster::builder().workers(2).shard_size(3).start(farm).await;
//! let job = cluster.submit(&cluster.dir().join("sites.csv")).await;
//! let status = cluster.wait_done(&job).await;
//! # }
//! ```
//!
//! With [`Builder::secure`], TLS and authentication everywhere ([`crate::secure`]).
//!
//! Every process is killed when the [`Cluster`] is dropped. Logs go to files in the
//! cluster's temporary directory; [`Cluster::logs`] returns their tails for a failure
//! message.

use crate::netns::Net;
use crate::scan::{Observed, Run, parse_jsonl};
use crate::secure::{Identity, Secure};
use farm::Farm;
use serde_json::Value;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A generous bound on any wait, so a hung cluster fails the test instead of hanging it.
/// Not an assertion on speed.
pub const BOUND: Duration = Duration::from_secs(240);

/// A port on 127.0.0.1 nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Whether something listens on `addr`, asked from `from` (a host of `net`) or from here.
fn listening(from: Option<(&Net, &str)>, addr: SocketAddr) -> bool {
    let connect = move || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok();
    match from {
        Some((net, host)) => net.on(host, connect),
        None => connect(),
    }
}

fn wait_for_port(
    from: Option<(&Net, &str)>,
    host: IpAddr,
    port: u16,
    what: &str,
    child: &mut Child,
) {
    let addr = SocketAddr::new(host, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !listening(from, addr) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on {port}: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
}

fn wait_exit(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("child status") {
            return status;
        }
        assert!(Instant::now() < deadline, "{what} did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn log_file(path: &Path) -> Stdio {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("a log file");
    Stdio::from(file)
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A `redis-server` child on a free port, persisting to an append-only file in `dir`.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    host: IpAddr,
    /// Listening flags instead of `--port PORT --bind 127.0.0.1` (TLS: [`Secure::redis_args`]).
    listen: Option<Vec<OsString>>,
    /// Across hosts: Redis runs on the host `redis` of this net.
    net: Option<Arc<Net>>,
}

impl Redis {
    /// Start it and wait until it accepts connections.
    pub fn start(dir: &Path) -> Redis {
        Redis::start_on(dir, LOCALHOST, None, None)
    }

    fn start_on(dir: &Path, host: IpAddr, secure: Option<&Secure>, net: Option<Arc<Net>>) -> Redis {
        let port = free_port();
        let mut redis = Redis {
            child: None,
            port,
            dir: dir.to_owned(),
            host,
            listen: secure.map(|s| s.redis_args(port)),
            net,
        };
        redis.spawn();
        redis
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let plain: Vec<OsString> = vec![
            "--port".into(),
            port.into(),
            "--bind".into(),
            "127.0.0.1".into(),
        ];
        let mut child = match &self.net {
            Some(net) => net.command("redis", "redis-server"),
            None => Command::new("redis-server"),
        };
        let mut child = child
            .args(self.listen.as_ref().unwrap_or(&plain))
            .args(["--save", "", "--appendonly", "yes"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(log_file(&self.dir.join("redis.log")))
            .stderr(log_file(&self.dir.join("redis.log")))
            .spawn()
            .expect("redis-server (install the redis-server package)");
        let from = self.net.as_deref().map(|n| (n, "admin"));
        wait_for_port(from, self.host, self.port, "redis-server", &mut child);
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stop it (SIGTERM: it writes the AOF and exits) and start it again on the same port
    /// and files, waiting `down` in between.
    pub fn restart(&mut self, down: Duration) {
        self.stop();
        std::thread::sleep(down);
        self.spawn();
    }

    /// Stop it (SIGTERM: it writes the AOF and exits); [`Redis::start_again`] brings it back.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child);
            wait_exit(&mut child, "redis-server");
        }
    }

    /// Start it again on the same port and files after [`Redis::stop`].
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis-server is running");
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How to start a [`Cluster`].
#[derive(Debug, Clone)]
pub struct Builder {
    workers: usize,
    shard_size: u64,
    reclaim_idle: String,
    max_deliveries: u64,
    concurrency: u32,
    shards_in_flight: usize,
    crash_on_host: Option<String>,
    metrics: bool,
    archive: Option<String>,
    secure: bool,
    max_job_sites: Option<u64>,
    /// More flags for every worker (e.g. `--per-ip-concurrency 2`).
    worker_flags: Vec<String>,
    /// Workers started without `--allow-private-targets`.
    forbid_private: bool,
    /// Across hosts ([`Builder::across`]).
    net: Option<Arc<Net>>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            workers: 2,
            shard_size: 4,
            reclaim_idle: "2s".into(),
            max_deliveries: 3,
            concurrency: 8,
            shards_in_flight: 2,
            crash_on_host: None,
            metrics: false,
            archive: None,
            secure: false,
            max_job_sites: None,
            worker_flags: Vec::new(),
            forbid_private: false,
            net: None,
        }
    }
}

impl Builder {
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }
    pub fn shard_size(mut self, n: u64) -> Self {
        self.shard_size = n;
        self
    }
    pub fn reclaim_idle(mut self, d: &str) -> Self {
        self.reclaim_idle = d.into();
        self
    }
    pub fn max_deliveries(mut self, n: u64) -> Self {
        self.max_deliveries = n;
        self
    }
    pub fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = n;
        self
    }
    pub fn shards_in_flight(mut self, n: usize) -> Self {
        self.shards_in_flight = n;
        self
    }
    /// The coordinator and every worker serve `--metrics-listen` on a free port
    /// ([`Cluster::coordinator_metrics`], [`Cluster::worker_metrics`]).
    pub fn metrics(mut self) -> Self {
        self.metrics = true;
        self
    }
    /// Every worker also gets `flags`.
    pub fn worker_flags(mut self, flags: &[&str]) -> Self {
        self.worker_flags
            .extend(flags.iter().map(|f| (*f).to_owned()));
        self
    }
    /// Workers that do not allow private targets (the farm is on loopback: a job asking
    /// for them there gets `target_private` on every site).
    pub fn forbid_private_targets(mut self) -> Self {
        self.forbid_private = true;
        self
    }
    /// Workers abort on taking a shard holding `host` (their test-only fault injection).
    pub fn crash_on_host(mut self, host: &str) -> Self {
        self.crash_on_host = Some(host.into());
        self
    }

    /// The coordinator archives finished jobs into this PostgreSQL database (every second).
    pub fn archive(mut self, url: &str) -> Self {
        self.archive = Some(url.into());
        self
    }
    /// The coordinator's `--max-job-sites`.
    pub fn max_job_sites(mut self, n: u64) -> Self {
        self.max_job_sites = Some(n);
        self
    }

    /// TLS and authentication everywhere ([`crate::secure`]): Redis over TLS with its ACL
    /// users, the coordinator over mTLS with tokens; `scanctl` as [`Identity::Operator`].
    pub fn secure(mut self) -> Self {
        self.secure = true;
        self
    }

    /// Every part on its own host of `net` (secure: off loopback the coordinator wants TLS
    /// and a caller check): Redis on `redis`, the coordinator on `coordinator`, the workers
    /// in turn on the hosts named `worker…`, and `scanctl` on `admin`. The farm is the
    /// caller's, served from a host of the same net.
    pub fn across(mut self, net: Arc<Net>) -> Self {
        self.net = Some(net);
        self.secure()
    }

    /// Start Redis, the coordinator and the workers, scanning `farm`.
    pub async fn start(self, farm: &Farm) -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let secure = self.secure.then(|| match &self.net {
            Some(net) => Secure::for_hosts(
                dir.path(),
                net.addr("redis").into(),
                net.addr("coordinator").into(),
            ),
            None => Secure::new(dir.path()),
        });
        let redis = match &secure {
            Some(s) => Redis::start_on(dir.path(), s.redis_host, Some(s), self.net.clone()),
            None => Redis::start(dir.path()),
        };
        let (http_port, https_port) = farm.ports();
        let mut cluster = Cluster {
            coordinator: None,
            coordinator_port: free_port(),
            coordinator_metrics_port: free_port(),
            workers: Vec::new(),
            worker_metrics_ports: Vec::new(),
            spawned: 0,
            scan_flags: vec![
                "--dns-server".into(),
                farm.dns_addr().to_string().into(),
                "--ca-file".into(),
                farm.ca_pem_path().into(),
                "--allow-private-targets".into(),
                "--http-port".into(),
                http_port.to_string().into(),
                "--https-port".into(),
                https_port.to_string().into(),
            ],
            options: self.clone(),
            redis,
            secure,
            dir,
        };
        cluster.start_coordinator();
        for _ in 0..self.workers {
            cluster.add_worker();
        }
        cluster
    }
}

/// A running cluster. Everything it started dies with it.
pub struct Cluster {
    redis: Redis,
    coordinator: Option<Child>,
    coordinator_port: u16,
    coordinator_metrics_port: u16,
    /// (name, process); `None` once killed or exited and reaped.
    workers: Vec<(String, Option<Child>)>,
    /// Each worker's `--metrics-listen` port (with [`Builder::metrics`]).
    worker_metrics_ports: Vec<u16>,
    spawned: usize,
    scan_flags: Vec<OsString>,
    options: Builder,
    secure: Option<Secure>,
    dir: tempfile::TempDir,
}

/// A command for one of the workspace binaries (on `host` of `net`, across hosts), with
/// no `SCAN*` variable leaking in.
fn command(name: &str, on: Option<(&Net, &str)>) -> Command {
    let bin = crate::bins::path(name);
    let mut cmd = match on {
        Some((net, host)) => net.command(host, bin),
        None => Command::new(bin),
    };
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SCAN") {
            cmd.env_remove(&key);
        }
    }
    cmd.stdin(Stdio::null());
    cmd
}

impl Cluster {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The cluster's temporary directory (logs, Redis files; a place for site lists).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn coordinator_url(&self) -> String {
        match &self.secure {
            Some(_) => format!(
                "https://{}:{}",
                self.coordinator_host(),
                self.coordinator_port
            ),
            None => format!("http://127.0.0.1:{}", self.coordinator_port),
        }
    }

    /// The secure set-up's files and passwords (with [`Builder::secure`]).
    pub fn secure(&self) -> &Secure {
        self.secure
            .as_ref()
            .expect("a cluster started with .secure()")
    }

    fn coordinator_host(&self) -> IpAddr {
        match &self.secure {
            Some(s) => s.coordinator_host,
            None => LOCALHOST,
        }
    }

    /// Across hosts: the net and the host `role` (`coordinator`, …) runs on.
    fn on<'a>(&'a self, host: &'a str) -> Option<(&'a Net, &'a str)> {
        self.options.net.as_deref().map(|net| (net, host))
    }

    /// The net the cluster runs across ([`Builder::across`]).
    pub fn net(&self) -> Option<&Net> {
        self.options.net.as_deref()
    }

    /// The coordinator's and the workers' Redis URL and flags.
    fn redis_flags(&self, worker: bool) -> Vec<OsString> {
        let port = self.redis.port;
        match &self.secure {
            Some(s) if worker => [
                vec!["--redis".into(), s.worker_redis(port).into()],
                s.worker_args(),
            ]
            .concat(),
            Some(s) => [
                vec!["--redis".into(), s.coordinator_redis(port).into()],
                s.coordinator_args(),
            ]
            .concat(),
            None => vec!["--redis".into(), self.redis.url().into()],
        }
    }

    pub fn redis(&mut self) -> &mut Redis {
        &mut self.redis
    }

    /// The coordinator's `--metrics-listen` address (with [`Builder::metrics`]).
    pub fn coordinator_metrics(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.coordinator_metrics_port))
    }

    /// Worker `i`'s `--metrics-listen` address (with [`Builder::metrics`]).
    pub fn worker_metrics(&self, i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.worker_metrics_ports[i]))
    }

    /// Start the coordinator (again) on its port and wait until it listens.
    pub fn start_coordinator(&mut self) {
        assert!(self.coordinator.is_none(), "the coordinator is running");
        let log = self.dir().join("coordinator.log");
        let mut cmd = command("scan-coordinator", self.on("coordinator"));
        if let Some(url) = &self.options.archive {
            cmd.args(["--archive", url, "--archive-interval", "1s"]);
        }
        if let Some(n) = self.options.max_job_sites {
            cmd.args(["--max-job-sites", &n.to_string()]);
        }
        let mut child = cmd
            .args([
                "--listen",
                &SocketAddr::new(self.coordinator_host(), self.coordinator_port).to_string(),
            ])
            .args(self.redis_flags(false))
            .args(["--shard-size", &self.options.shard_size.to_string()])
            .args(["--reclaim-idle", &self.options.reclaim_idle])
            .args(["--max-deliveries", &self.options.max_deliveries.to_string()])
            .args(
                self.options
                    .metrics
                    .then(|| {
                        [
                            "--metrics-listen".to_owned(),
                            format!("127.0.0.1:{}", self.coordinator_metrics_port),
                        ]
                    })
                    .into_iter()
                    .flatten(),
            )
            .stdout(log_file(&log))
            .stderr(log_file(&log))
            .spawn()
            .expect("scan-coordinator");
        wait_for_port(
            self.on("admin"),
            self.coordinator_host(),
            self.coordinator_port,
            "scan-coordinator",
            &mut child,
        );
        self.coordinator = Some(child);
    }

    /// `kill -9` the coordinator.
    pub fn kill_coordinator(&mut self) {
        if let Some(mut child) = self.coordinator.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGHUP the coordinator (it reads its `--auth-tokens` file again).
    pub fn hangup_coordinator(&self) {
        let child = self
            .coordinator
            .as_ref()
            .expect("the coordinator is running");
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// SIGTERM the coordinator and return how it exited.
    pub fn stop_coordinator(&mut self) -> std::process::ExitStatus {
        let mut child = self.coordinator.take().expect("the coordinator is running");
        terminate(&mut child);
        wait_exit(&mut child, "scan-coordinator")
    }

    /// Start one more worker; returns its index.
    pub fn add_worker(&mut self) -> usize {
        self.spawned += 1;
        let name = format!("worker-{}", self.spawned);
        let log = self.dir().join(format!("{name}.log"));
        let host = self.options.net.as_ref().map(|net| {
            let hosts = net.hosts_named("worker");
            assert!(!hosts.is_empty(), "a host named worker… in the net");
            hosts[(self.spawned - 1) % hosts.len()].name.clone()
        });
        let mut cmd = command("scan-worker", host.as_deref().and_then(|h| self.on(h)));
        cmd.args(self.redis_flags(true))
            .args(["--name", &name])
            .args(["--concurrency", &self.options.concurrency.to_string()])
            .args([
                "--shards-in-flight",
                &self.options.shards_in_flight.to_string(),
            ])
            .args(["--reclaim-idle", &self.options.reclaim_idle])
            .args(["--max-deliveries", &self.options.max_deliveries.to_string()])
            .args(
                self.scan_flags
                    .iter()
                    .filter(|f| !(self.options.forbid_private && *f == "--allow-private-targets")),
            )
            .args(&self.options.worker_flags)
            .stdout(log_file(&log))
            .stderr(log_file(&log));
        if let Some(host) = &self.options.crash_on_host {
            cmd.env("SCAN_WORKER_CRASH_ON_HOST", host);
        }
        let metrics_port = free_port();
        if self.options.metrics {
            cmd.args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")]);
        }
        let child = cmd.spawn().expect("scan-worker");
        self.workers.push((name, Some(child)));
        self.worker_metrics_ports.push(metrics_port);
        self.workers.len() - 1
    }

    /// `kill -9` worker `i`.
    pub fn kill_worker(&mut self, i: usize) {
        if let Some(mut child) = self.workers[i].1.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM worker `i` and return how it exited.
    pub fn stop_worker(&mut self, i: usize) -> std::process::ExitStatus {
        let mut child = self.workers[i].1.take().expect("the worker is running");
        terminate(&mut child);
        wait_exit(&mut child, "scan-worker")
    }

    /// Workers that exited on their own since the last call (reaped), as (index, status).
    pub fn exited_workers(&mut self) -> Vec<(usize, std::process::ExitStatus)> {
        let mut out = Vec::new();
        for (i, (_, slot)) in self.workers.iter_mut().enumerate() {
            if let Some(child) = slot
                && let Ok(Some(status)) = child.try_wait()
            {
                out.push((i, status));
                *slot = None;
            }
        }
        out
    }

    /// The settings a job of this lab carries (`scanctl submit` takes them as `scanctl
    /// scan` does): the farm's CA, private targets, the farm's ports. The nameserver is
    /// the workers' own.
    pub fn job_flags(&self) -> Vec<std::ffi::OsString> {
        let mut flags = self.scan_flags.clone();
        if let Some(i) = flags.iter().position(|f| f == "--dns-server") {
            flags.drain(i..i + 2);
        }
        flags
    }

    /// `scanctl ARGS` against this cluster's coordinator (a secure cluster's: as
    /// [`Identity::Operator`]); `scanctl submit` carries the lab's [`Cluster::job_flags`]
    /// before the caller's own.
    pub async fn scanctl(&self, args: &[&str]) -> Run {
        self.scanctl_as(Identity::Operator, args).await
    }

    /// `scanctl ARGS` against this cluster's coordinator as `id` (a secure cluster's;
    /// otherwise `id` is ignored).
    pub async fn scanctl_as(&self, id: Identity, args: &[&str]) -> Run {
        let mut full: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        if args.first() == Some(&"submit") {
            full.splice(1..1, self.job_flags());
        }
        match &self.secure {
            Some(s) => full.extend(s.scanctl_args(id, self.coordinator_port)),
            None => full.extend(["--coordinator".into(), self.coordinator_url().into()]),
        }
        let refs: Vec<&std::ffi::OsStr> = full.iter().map(|a| a.as_os_str()).collect();
        let netns = self.net().map(|net| net.host("admin").netns.as_str());
        crate::scan::scanctl_on(netns, &refs).await
    }

    /// `scanctl submit FILE`: the job id it printed.
    pub async fn submit(&self, list: &Path) -> String {
        let list = list.to_str().expect("a UTF-8 path");
        let run = self.scanctl(&["submit", list]).await;
        assert!(
            run.status.success(),
            "scanctl submit: {}\n{}",
            run.status,
            run.stderr
        );
        let id = run.stdout.trim().to_owned();
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "submit prints the job id alone: {:?}",
            run.stdout
        );
        id
    }

    /// `scanctl status JOB --json`, or `None` when it fails (coordinator down...).
    pub async fn status(&self, job: &str) -> Option<Value> {
        let run = self.scanctl(&["status", job, "--json"]).await;
        if !run.status.success() {
            return None;
        }
        serde_json::from_str(run.stdout.trim()).ok()
    }

    /// `scanctl status JOB --json --report`: the status with the aggregate under `report`.
    pub async fn report(&self, job: &str) -> Value {
        let run = self.scanctl(&["status", job, "--json", "--report"]).await;
        assert!(
            run.status.success(),
            "scanctl status --report: {}",
            run.stderr
        );
        serde_json::from_str(run.stdout.trim()).expect("status JSON")
    }

    /// Poll the status until `pred` holds (panics after [`BOUND`], with the logs).
    /// With `respawn`, workers that died are replaced (as systemd's `Restart=always`).
    pub async fn wait_for(
        &mut self,
        job: &str,
        respawn: bool,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + BOUND;
        loop {
            if respawn {
                for _ in self.exited_workers() {
                    self.add_worker();
                }
            }
            if let Some(status) = self.status(job).await
                && pred(&status)
            {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} did not reach the expected state; last status {:?}\n{}",
                self.status(job).await,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until the job is done (not cancelled).
    pub async fn wait_done(&mut self, job: &str) -> Value {
        self.wait_for(job, false, |s| s["state"] == "done").await
    }

    /// `scanctl results JOB --format jsonl`, parsed.
    pub async fn results(&self, job: &str) -> Vec<Observed> {
        let run = self.scanctl(&["results", job, "--format", "jsonl"]).await;
        assert!(
            run.status.success(),
            "scanctl results: {}\n{}",
            run.status,
            run.stderr
        );
        parse_jsonl(&run.stdout)
    }

    /// The whole log of `name` (`coordinator`, `redis`, `worker-1`, ...).
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Wait until the log of `name` contains `needle` (panics after [`BOUND`]).
    pub async fn wait_log(&self, name: &str, needle: &str) {
        let deadline = Instant::now() + BOUND;
        while !self.log(name).contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{name} never logged {needle:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every worker's log, concatenated.
    pub fn worker_logs(&self) -> String {
        self.workers.iter().map(|(n, _)| self.log(n)).collect()
    }

    /// The last lines of every log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut names = vec!["coordinator".to_owned(), "redis".to_owned()];
        names.extend(self.workers.iter().map(|(n, _)| n.clone()));
        for name in names {
            let path = self.dir().join(format!("{name}.log"));
            out.push_str(&format!("---- {name}\n{}\n", tail(&path, 15)));
        }
        out
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, slot) in &mut self.workers {
            if let Some(child) = slot {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        self.kill_coordinator();
    }
}

/// Split a farm CSV (header + rows) into lists: every row whose position `i` gives
/// `pick(i)` goes to that list. Returns the paths written, under `dir`.
pub fn split_csv(csv: &Path, dir: &Path, parts: usize) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(csv).expect("the site list");
    let mut lines = text.lines();
    let header = lines.next().expect("a header line");
    let mut bodies = vec![String::new(); parts];
    for (i, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
        bodies[i % parts].push_str(line);
        bodies[i % parts].push('\n');
    }
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let path = dir.join(format!("part-{i}.csv"));
            std::fs::write(&path, format!("{header}\n{body}")).expect("a list part");
            path
        })
        .collect()
}

/// `GET path` over HTTP/1.1 from `addr`: the status code and the body; `None` when nothing
/// answers. Bounded by a 10 s timeout per step.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// A Prometheus text exposition, by series (`name{labels}` exactly as exposed) → value.
#[derive(Debug, Clone, Default)]
pub struct Scrape(pub std::collections::BTreeMap<String, f64>);

impl Scrape {
    /// `GET /metrics` from `addr` (panics unless it answers 200).
    pub fn from(addr: SocketAddr) -> Scrape {
        let (status, body) = http_get(addr, "/metrics").expect("/metrics answers");
        assert_eq!(status, 200, "/metrics: {body}");
        Scrape::parse(&body)
    }

    pub fn parse(text: &str) -> Scrape {
        Scrape(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                .filter_map(|l| {
                    let (series, value) = l.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// The value of one series (0 when absent: Prometheus counters start when first used).
    pub fn get(&self, series: &str) -> f64 {
        self.0.get(series).copied().unwrap_or(0.0)
    }

    /// Every series of metric `name` with its labels text (`{verdict="forced"}`).
    pub fn family(&self, name: &str) -> Vec<(String, f64)> {
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(name)?;
                (rest.is_empty() || rest.starts_with('{')).then(|| (rest.to_owned(), *v))
            })
            .collect()
    }
}
