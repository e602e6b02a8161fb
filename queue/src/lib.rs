//! The Redis work queue of the cluster: jobs, shards, deliveries and per-site results.
//!
//! # Design
//! Everything a job is lives in Redis, so the coordinator keeps no state of its own and a
//! restart of it loses nothing. Keys, under a prefix (`govscan` by default):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:jobs` | sorted set | every job id, scored by creation time (listing) |
//! | `P:active` | set | the jobs workers take shards from (state `running`) |
//! | `P:job:ID` | hash | name, label, state, total, shards, counters (`done`, `failed`, `taken`), times |
//! | `P:job:ID:sites` | list | the site list, one JSON [`model::Site`] per entry, in list order |
//! | `P:job:ID:shards` | stream + group `workers` | one entry per shard: `shard`, `start`, `end` |
//! | `P:job:ID:results` | hash | site index → result JSON, written set-if-absent |
//! | `P:workers` | sorted set | worker name → last heartbeat (unix ms) |
//!
//! Job settings, the cluster's queue settings and per-address leases: see [`settings`].
//!
//! Ended jobs expire after a retention period, and heartbeats of workers long gone are
//! pruned: see [`Queue::sweep_retention`] and [`Queue::delete_job`].
//!
//! **Why streams with a consumer group** (and not lists with `BLMOVE`): a stream's pending
//! entries list records, per delivered shard, who holds it, for how long, and how many times
//! it was delivered. That is exactly what recovery needs: a shard held by a dead worker goes
//! idle and is claimed again (`XPENDING … IDLE` + `XCLAIM`), and the delivery count bounds
//! how often. Lists would need all of that rebuilt by hand. One stream per job keeps jobs
//! apart: a worker reads all active jobs' streams in one `XREADGROUP`, round-robin, so a
//! small job submitted during a national scan is not stuck behind it.
//!
//! **Delivery is at least once; results are exactly once.** A shard may be scanned twice
//! (its worker stalled past the idle timeout, or died after writing some results), but a
//! result is stored with `HSETNX` inside a Lua script that also counts it, so each site has
//! one result and `done` counts each site once. A redelivered shard only scans the sites
//! that have no result yet.
//!
//! **Round trips are per shard, not per site**: a worker reads a shard's missing sites in one
//! script ([`Queue::load`]), writes results in batches with one script call per batch
//! ([`Queue::store`]), the last call also acknowledging the shard.
//!
//! # Failure cases
//! - *A worker dies* (crash, `kill -9`, machine lost): its shards stay pending and go idle
//!   (a live worker refreshes the idle time of what it holds, [`Queue::touch`]). After the
//!   reclaim idle time (30 s by default), any worker or the coordinator claims them
//!   ([`Queue::reclaim`]); results already written stay, the rest is scanned again.
//! - *A shard kills every worker that takes it*: each claim counts a delivery; a shard found
//!   idle after `max_deliveries` deliveries (3 by default) is not delivered again: every site
//!   of it without a result gets a `scan_failed` result saying so, and it is acknowledged.
//!   Never a silent loss, never an endless loop.
//! - *The coordinator dies*: nothing is lost; workers go on; a new coordinator reads the same
//!   keys. A list whose upload was cut stays in state `submitting` and is never enqueued.
//! - *Redis restarts*: with AOF (`appendonly yes`) the jobs, streams, pending entries and
//!   results survive; clients reconnect (`ConnectionManager`) and retry. Without persistence,
//!   jobs in Redis are lost — run Redis with AOF.
//! - *A job is cancelled*: its state becomes `cancelled`, it leaves the active set, every
//!   site without a result gets a `scan_failed` "job cancelled" result, and workers
//!   acknowledge its shards without scanning them. A worker scanning a shard at that moment
//!   finishes it, but its results are dropped (the sites already have theirs).
//!
//! Nothing here reads the clock or the environment: times are passed in as unix
//! milliseconds.

mod clock;
mod connect;
mod retention;
mod scripts;
mod settings;
mod url;

pub use clock::{Clock, unix_ms};
pub use connect::{CredentialFiles, Credentials, Tls};
pub use retention::{HEARTBEAT_KEEP, SETTLE, Swept};
pub use settings::ClusterSettings;
pub use url::{choose_url, read_url_file, redact};

use model::{Code, Site, SiteResult};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamPendingCountReply, StreamReadOptions, StreamReadReply};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// The consumer group every worker belongs to, on every job's stream.
const GROUP: &str = "workers";
/// Sites written to Redis per round trip when storing a list or filling results.
const BATCH: usize = 1000;

/// What went wrong talking to the queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("no job {0}")]
    UnknownJob(JobId),
    #[error("{0:?} is not a job id (letters, digits and '-', at most 64)")]
    InvalidJobId(String),
    #[error("the site list is empty")]
    EmptyJob,
    #[error("job {job} is {state}, not {expected}")]
    WrongState {
        job: JobId,
        state: JobState,
        expected: &'static str,
    },
    #[error("corrupt data in redis at {key}: {why}")]
    Corrupt { key: String, why: String },
    #[error("redis connection settings: {0}")]
    Config(String),
}

impl Error {
    /// Whether retrying later may help (Redis unreachable or restarting).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Redis(e) => {
                e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_timeout()
                    || matches!(
                        e.kind(),
                        redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
                    )
                    || e.to_string().contains("LOADING")
            }
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A job id: letters, digits and `-` (the coordinator uses UUIDv7).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    pub fn parse(s: &str) -> Result<JobId> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(JobId(s.to_owned()))
        } else {
            Err(Error::InvalidJobId(s.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// The list is being uploaded; not enqueued yet.
    Submitting,
    /// Enqueued; workers take its shards.
    Running,
    /// Every site has its result.
    Done,
    /// Cancelled; sites not scanned before have a `scan_failed` result.
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Submitting => "submitting",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<JobState> {
        Some(match s {
            "submitting" => JobState::Submitting,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "cancelled" => JobState::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobState::Done | JobState::Cancelled)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job's metadata and counters, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub id: JobId,
    pub name: String,
    pub label: String,
    pub state: JobState,
    /// Sites in the list (known once the upload ended).
    pub total: u64,
    pub shards: u64,
    /// Sites with a result.
    pub done: u64,
    /// Sites whose result is `scan_failed`.
    pub failed: u64,
    /// Sites in shards a worker has taken at least once.
    pub taken: u64,
    pub created_ms: u64,
    /// 0 while not final.
    pub finished_ms: u64,
    /// The scan settings the job carries (`None`: submitted without; workers' flags decide).
    pub settings: Option<model::JobSettings>,
    /// The digest of those settings, as every result of the job should carry it.
    pub settings_digest: String,
}

impl JobInfo {
    /// Sites in shards no worker has taken yet.
    pub fn queued(&self) -> u64 {
        self.total.saturating_sub(self.taken.max(self.done))
    }

    /// Sites taken and without a result yet.
    pub fn in_flight(&self) -> u64 {
        self.total
            .saturating_sub(self.done)
            .saturating_sub(self.queued())
    }
}

/// One delivery of a shard to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub job: JobId,
    /// The stream entry id, for acknowledging.
    pub entry: String,
    pub shard: u64,
    /// Site indexes `[start, end)`.
    pub start: u64,
    pub end: u64,
    /// How many times this shard has been delivered, this one included.
    pub deliveries: u64,
}

/// What a delivered shard still needs.
#[derive(Debug, Clone)]
pub struct ShardWork {
    pub state: JobState,
    /// The sites of the shard without a result yet, with their index.
    pub sites: Vec<(u64, Site)>,
    /// Site records of the shard that do not parse (a corrupt or foreign record): each
    /// becomes a `scan_failed` result saying why, and the rest of the shard is scanned.
    pub unreadable: Vec<(u64, Site, String)>,
}

impl ShardWork {
    /// `scan_failed` results for the records that do not parse.
    pub fn unreadable_results(&self) -> Vec<(u64, SiteResult)> {
        self.unreadable
            .iter()
            .map(|(i, site, why)| {
                (
                    *i,
                    SiteResult::failed(
                        site,
                        format!(
                            "not scanned: the site's record in the queue could not be read ({why}); submit the site again"
                        ),
                    ),
                )
            })
            .collect()
    }
}

/// What can be told of a site record that does not parse: its url and host if those fields
/// are readable, else its index.
fn unreadable_site(index: u64, json: &str) -> Site {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let text = |k: &str| {
        value
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(|s| s.chars().take(256).collect::<String>())
    };
    Site {
        url: text("url").unwrap_or_else(|| format!("(unreadable site record #{index})")),
        host: text("host").unwrap_or_default(),
        path: "/".into(),
        agency: text("agency").unwrap_or_default(),
        category: text("category").unwrap_or_default(),
        parent: text("parent").unwrap_or_default(),
    }
}

/// The outcome of a [`Queue::store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    /// Results that were new (not already written by an earlier delivery).
    pub written: u64,
    /// Of those, `scan_failed` ones.
    pub failed: u64,
    /// Whether this write completed the job.
    pub job_finished: bool,
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Key prefix (several deployments can share one Redis).
    pub prefix: String,
    /// The longest a command may take before it fails (a blocking read adds its block time).
    pub response_timeout: Duration,
    /// The longest a connection attempt may take.
    pub connect_timeout: Duration,
    /// A password kept out of the URL, and TLS material for a `rediss://` URL.
    pub credentials: Credentials,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            prefix: "govscan".into(),
            response_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            credentials: Credentials::default(),
        }
    }
}

/// A handle on the queue. Cheap to clone (one multiplexed, auto-reconnecting connection).
///
/// Blocking reads ([`Queue::take`]) hold the connection while they wait: a worker uses one
/// `Queue` for them and another for everything else.
#[derive(Clone)]
pub struct Queue {
    conn: ConnectionManager,
    prefix: String,
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn now_arg(now_ms: u64) -> String {
    now_ms.to_string()
}

impl Queue {
    /// A handle that connects lazily and reconnects by itself: it never fails because
    /// Redis is down right now (commands fail instead, and [`Error::is_transient`] says so).
    ///
    /// A `rediss://` URL speaks TLS, verified with the credentials' CA (else the system's
    /// roots); TLS material with a plain `redis://` URL is an error, never a silent
    /// downgrade.
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<Queue> {
        use redis::IntoConnectionInfo;
        let mut info = url.into_connection_info()?;
        let tls = matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. });
        if let Some(password) = &options.credentials.password {
            if info.redis_settings().password().is_some() {
                return Err(Error::Config(
                    "a password both in the Redis URL and in a password file".into(),
                ));
            }
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = if tls {
            let creds = &options.credentials.tls;
            redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: creds
                        .client
                        .as_ref()
                        .map(|(cert, key)| redis::ClientTlsConfig {
                            client_cert: cert.clone(),
                            client_key: key.clone(),
                        }),
                    root_cert: creds.ca_pem.clone(),
                },
            )?
        } else if options.credentials.has_tls() {
            return Err(Error::Config(
                "TLS files (--redis-ca, --redis-client-cert) need a rediss:// URL".into(),
            ));
        } else {
            redis::Client::open(info)?
        };
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_connection_timeout(Some(options.connect_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = client.get_connection_manager_lazy(config)?;
        Ok(Queue {
            conn,
            prefix: options.prefix.clone(),
        })
    }

    // ----- keys -----

    fn jobs_key(&self) -> String {
        format!("{}:jobs", self.prefix)
    }
    fn active_key(&self) -> String {
        format!("{}:active", self.prefix)
    }
    fn workers_key(&self) -> String {
        format!("{}:workers", self.prefix)
    }
    fn job_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}", self.prefix)
    }
    fn sites_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}:sites", self.prefix)
    }
    fn results_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}:results", self.prefix)
    }
    fn stream_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}:shards", self.prefix)
    }

    /// Is Redis answering?
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    // ----- jobs: the coordinator's side -----

    /// Record a new job in state `submitting`.
    pub async fn create_job(
        &self,
        job: &JobId,
        name: &str,
        label: &str,
        now_ms: u64,
    ) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .hset_multiple(
                self.job_key(job),
                &[
                    ("name", name.to_owned()),
                    ("label", label.to_owned()),
                    ("state", JobState::Submitting.as_str().to_owned()),
                    ("total", "0".to_owned()),
                    ("shards", "0".to_owned()),
                    ("done", "0".to_owned()),
                    ("failed", "0".to_owned()),
                    ("taken", "0".to_owned()),
                    ("created_ms", now_arg(now_ms)),
                    ("finished_ms", "0".to_owned()),
                ],
            )
            .ignore()
            .zadd(self.jobs_key(), job.as_str(), now_ms)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// Append sites to a job being submitted, in list order.
    pub async fn append_sites(&self, job: &JobId, sites: &[Site]) -> Result<()> {
        let mut conn = self.conn.clone();
        for chunk in sites.chunks(BATCH) {
            let json: Vec<String> = chunk
                .iter()
                .map(|s| serde_json::to_string(s).expect("a site always serialises"))
                .collect();
            redis::cmd("RPUSH")
                .arg(self.sites_key(job))
                .arg(json)
                .query_async::<()>(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// End the upload: split the list into shards of `shard_size` sites, enqueue them and
    /// make the job `running`.
    pub async fn seal_job(&self, job: &JobId, shard_size: u64, now_ms: u64) -> Result<JobInfo> {
        let shard_size = shard_size.max(1);
        let mut conn = self.conn.clone();
        let info = self
            .job(job)
            .await?
            .ok_or_else(|| Error::UnknownJob(job.clone()))?;
        if info.state != JobState::Submitting {
            return Err(Error::WrongState {
                job: job.clone(),
                state: info.state,
                expected: "submitting",
            });
        }
        let total: u64 = redis::cmd("LLEN")
            .arg(self.sites_key(job))
            .query_async(&mut conn)
            .await?;
        if total == 0 {
            return Err(Error::EmptyJob);
        }
        let stream = self.stream_key(job);
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        if let Err(e) = created
            && e.code() != Some("BUSYGROUP")
        {
            return Err(e.into());
        }
        let shards = total.div_ceil(shard_size);
        let mut shard = 0;
        while shard < shards {
            let mut pipe = redis::pipe();
            for s in shard..(shard + BATCH as u64).min(shards) {
                let start = s * shard_size;
                let end = (start + shard_size).min(total);
                pipe.xadd(
                    &stream,
                    "*",
                    &[("shard", s), ("start", start), ("end", end)],
                )
                .ignore();
            }
            pipe.query_async::<()>(&mut conn).await?;
            shard += BATCH as u64;
        }
        redis::pipe()
            .hset_multiple(
                self.job_key(job),
                &[
                    ("total", total),
                    ("shards", shards),
                    ("shard_size", shard_size),
                ],
            )
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        self.transition(job, &[JobState::Submitting], JobState::Running, now_ms)
            .await?;
        self.job(job)
            .await?
            .ok_or_else(|| Error::UnknownJob(job.clone()))
    }

    /// Forget a job entirely (an upload that failed validation).
    pub async fn discard_job(&self, job: &JobId) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::pipe()
            .del(&[
                self.job_key(job),
                self.sites_key(job),
                self.results_key(job),
                self.stream_key(job),
            ])
            .ignore()
            .zrem(self.jobs_key(), job.as_str())
            .ignore()
            .srem(self.active_key(), job.as_str())
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn transition(
        &self,
        job: &JobId,
        from: &[JobState],
        to: JobState,
        now_ms: u64,
    ) -> Result<Option<JobState>> {
        let mut conn = self.conn.clone();
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let had: String = scripts::TRANSITION
            .key(self.job_key(job))
            .key(self.active_key())
            .arg(from.join(","))
            .arg(to.as_str())
            .arg(job.as_str())
            .arg(now_arg(now_ms))
            .invoke_async(&mut conn)
            .await?;
        Ok(JobState::parse(&had))
    }

    /// A job's metadata and counters; `None` when there is no such job.
    pub async fn job(&self, job: &JobId) -> Result<Option<JobInfo>> {
        let mut conn = self.conn.clone();
        let key = self.job_key(job);
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut conn)
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        parse_job(job, &key, &fields).map(Some)
    }

    /// Every job, newest first.
    pub async fn jobs(&self) -> Result<Vec<JobInfo>> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZREVRANGE")
            .arg(self.jobs_key())
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HGETALL").arg(format!("{}:job:{id}", self.prefix));
            }
            let all: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
            for (id, fields) in chunk.iter().zip(all) {
                if fields.is_empty() {
                    continue;
                }
                let job = JobId::parse(id)?;
                let key = self.job_key(&job);
                out.push(parse_job(&job, &key, &fields)?);
            }
        }
        Ok(out)
    }

    /// Cancel a job: state `cancelled`, and a `scan_failed` "job cancelled" result for every
    /// site without one. A job already done or cancelled is returned as it is.
    pub async fn cancel(&self, job: &JobId, now_ms: u64) -> Result<JobInfo> {
        let had = self
            .transition(
                job,
                &[JobState::Submitting, JobState::Running],
                JobState::Cancelled,
                now_ms,
            )
            .await?;
        if had.is_none() {
            return Err(Error::UnknownJob(job.clone()));
        }
        self.fill_cancelled(job, now_ms).await?;
        self.job(job)
            .await?
            .ok_or_else(|| Error::UnknownJob(job.clone()))
    }

    /// Give every site of a cancelled job without a result its "job cancelled" result
    /// (idempotent: the coordinator repeats it after a restart for cancels it did not
    /// finish).
    pub async fn fill_cancelled(&self, job: &JobId, now_ms: u64) -> Result<()> {
        let Some(info) = self.job(job).await? else {
            return Err(Error::UnknownJob(job.clone()));
        };
        if info.state != JobState::Cancelled {
            return Ok(());
        }
        let total = self.site_count(job).await?;
        let mut start = 0;
        while start < total {
            let end = (start + BATCH as u64).min(total);
            let work = self.load_range(job, start, end).await?;
            let results: Vec<(u64, SiteResult)> = work
                .sites
                .iter()
                .map(|(i, site)| {
                    (
                        *i,
                        SiteResult::failed(site, "not scanned: the job was cancelled"),
                    )
                })
                .collect();
            self.store_raw(job, None, &results, now_ms).await?;
            start = end;
        }
        Ok(())
    }

    async fn site_count(&self, job: &JobId) -> Result<u64> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("LLEN")
            .arg(self.sites_key(job))
            .query_async(&mut conn)
            .await?)
    }

    /// Up to `count` results from site index `from`, as stored JSON with their index
    /// (missing ones, not written yet, are skipped).
    pub async fn results(&self, job: &JobId, from: u64, count: u64) -> Result<Vec<(u64, String)>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let indexes: Vec<u64> = (from..from + count).collect();
        let values: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.results_key(job))
            .arg(&indexes)
            .query_async(&mut conn)
            .await?;
        Ok(indexes
            .into_iter()
            .zip(values)
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect())
    }

    /// How many workers sent a heartbeat since `since_ms`.
    pub async fn active_workers(&self, since_ms: u64) -> Result<u64> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("ZCOUNT")
            .arg(self.workers_key())
            .arg(since_ms)
            .arg("+inf")
            .query_async(&mut conn)
            .await?)
    }

    // ----- shards: the workers' side -----

    /// Say this worker is alive.
    pub async fn heartbeat(&self, worker: &str, now_ms: u64) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("ZADD")
            .arg(self.workers_key())
            .arg(now_ms)
            .arg(worker)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// The jobs workers take shards from.
    pub async fn active_jobs(&self) -> Result<Vec<JobId>> {
        let mut conn = self.conn.clone();
        let mut ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.active_key())
            .query_async(&mut conn)
            .await?;
        ids.sort();
        ids.iter().map(|s| JobId::parse(s)).collect()
    }

    /// Take up to `max` new shards for `consumer`, at most one per job, from the active
    /// jobs starting at `rotation` (round robin between jobs), waiting up to `block` for one
    /// to arrive. Holds the connection while it waits.
    pub async fn take(
        &self,
        consumer: &str,
        max: usize,
        rotation: usize,
        block: Duration,
    ) -> Result<Vec<Delivery>> {
        let jobs = self.active_jobs().await?;
        if jobs.is_empty() || max == 0 {
            tokio::time::sleep(block).await;
            return Ok(Vec::new());
        }
        let n = jobs.len();
        let chosen: Vec<&JobId> = (0..n.min(max)).map(|i| &jobs[(rotation + i) % n]).collect();
        let keys: Vec<String> = chosen.iter().map(|j| self.stream_key(j)).collect();
        let ids: Vec<&str> = keys.iter().map(|_| ">").collect();
        let options = StreamReadOptions::default()
            .group(GROUP, consumer)
            .count(1)
            .block(block.as_millis() as usize);
        let mut conn = self.conn.clone();
        let reply: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREADGROUP")
            .arg(&options)
            .arg("STREAMS")
            .arg(&keys)
            .arg(&ids)
            .query_async(&mut conn)
            .await;
        let reply = match reply {
            Ok(r) => r,
            // A job finished and its stream went away between SMEMBERS and XREADGROUP, or
            // while the read was blocked (retention dropped it).
            Err(e) if matches!(e.code(), Some("NOGROUP" | "UNBLOCKED")) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            let Some(job) = chosen
                .iter()
                .find(|j| self.stream_key(j) == key.key)
                .map(|j| (*j).clone())
            else {
                continue;
            };
            for entry in key.ids {
                out.push(delivery(&job, &key.key, &entry.id, &entry.map, 1)?);
            }
        }
        if !out.is_empty() {
            let mut pipe = redis::pipe();
            for d in &out {
                pipe.cmd("HINCRBY")
                    .arg(self.job_key(&d.job))
                    .arg("taken")
                    .arg(d.end - d.start)
                    .ignore();
            }
            pipe.query_async::<()>(&mut conn).await?;
        }
        Ok(out)
    }

    /// Recover shards whose holder went quiet for `min_idle`: those delivered fewer than
    /// `max_deliveries` times are claimed for `consumer` (when given) and returned; those
    /// delivered `max_deliveries` times are ended — every site without a result gets a
    /// `scan_failed` result — and acknowledged. At most `limit` shards per job per call.
    pub async fn reclaim(
        &self,
        consumer: Option<&str>,
        min_idle: Duration,
        max_deliveries: u64,
        limit: usize,
        now_ms: u64,
    ) -> Result<Vec<Delivery>> {
        let mut out = Vec::new();
        let idle_ms = min_idle.as_millis() as u64;
        for job in self.active_jobs().await? {
            let stream = self.stream_key(&job);
            let mut conn = self.conn.clone();
            let pending: redis::RedisResult<StreamPendingCountReply> = redis::cmd("XPENDING")
                .arg(&stream)
                .arg(GROUP)
                .arg("IDLE")
                .arg(idle_ms)
                .arg("-")
                .arg("+")
                .arg(limit)
                .query_async(&mut conn)
                .await;
            let pending = match pending {
                Ok(p) => p,
                Err(e) if e.code() == Some("NOGROUP") => continue,
                Err(e) => return Err(e.into()),
            };
            for p in pending.ids {
                let delivered = p.times_delivered as u64;
                if delivered >= max_deliveries {
                    self.dead_letter(&job, &p.id, delivered, now_ms).await?;
                    continue;
                }
                let Some(consumer) = consumer else { continue };
                // XCLAIM re-checks the idle time, so two claimers cannot both get it.
                let claimed: redis::streams::StreamClaimReply = redis::cmd("XCLAIM")
                    .arg(&stream)
                    .arg(GROUP)
                    .arg(consumer)
                    .arg(idle_ms)
                    .arg(&p.id)
                    .query_async(&mut conn)
                    .await?;
                for entry in claimed.ids {
                    tracing::info!(
                        job = %job, entry = %entry.id, from = %p.consumer, deliveries = delivered + 1,
                        "reclaimed a shard its worker left idle"
                    );
                    out.push(delivery(
                        &job,
                        &stream,
                        &entry.id,
                        &entry.map,
                        delivered + 1,
                    )?);
                }
            }
        }
        Ok(out)
    }

    async fn dead_letter(
        &self,
        job: &JobId,
        entry: &str,
        delivered: u64,
        now_ms: u64,
    ) -> Result<()> {
        let mut conn = self.conn.clone();
        let stream = self.stream_key(job);
        let entries: Vec<redis::streams::StreamId> = {
            let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                .arg(&stream)
                .arg(entry)
                .arg(entry)
                .query_async(&mut conn)
                .await?;
            reply.ids
        };
        let Some(e) = entries.first() else {
            // The entry is gone: nothing to fail; just clear it from the pending list.
            redis::cmd("XACK")
                .arg(&stream)
                .arg(GROUP)
                .arg(entry)
                .query_async::<()>(&mut conn)
                .await?;
            return Ok(());
        };
        let d = delivery(job, &stream, &e.id, &e.map, delivered)?;
        let work = self.load(&d).await?;
        let why = format!(
            "not scanned: the shard holding this site was delivered {delivered} times and each worker that took it stopped before finishing (crash, kill or stall)"
        );
        let mut results: Vec<(u64, SiteResult)> = work
            .sites
            .iter()
            .map(|(i, site)| (*i, SiteResult::failed(site, why.clone())))
            .collect();
        results.extend(work.unreadable_results());
        tracing::warn!(job = %job, entry, delivered, sites = results.len(), "shard given up: writing scan_failed results");
        self.store(&d, &results, true, now_ms).await?;
        Ok(())
    }

    /// Refresh the idle time of shards this worker holds, so they are not reclaimed while
    /// it works on them (does not count as a delivery).
    pub async fn touch(&self, consumer: &str, held: &[Delivery]) -> Result<()> {
        if held.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for d in held {
            pipe.cmd("XCLAIM")
                .arg(self.stream_key(&d.job))
                .arg(GROUP)
                .arg(consumer)
                .arg(0)
                .arg(&d.entry)
                .arg("JUSTID")
                .ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    /// The job's state and the sites of the shard that have no result yet (one round trip).
    pub async fn load(&self, d: &Delivery) -> Result<ShardWork> {
        self.load_range(&d.job, d.start, d.end).await
    }

    async fn load_range(&self, job: &JobId, start: u64, end: u64) -> Result<ShardWork> {
        let mut conn = self.conn.clone();
        let raw: Vec<String> = scripts::LOAD
            .key(self.job_key(job))
            .key(self.sites_key(job))
            .key(self.results_key(job))
            .arg(start)
            .arg(end)
            .invoke_async(&mut conn)
            .await?;
        let key = self.sites_key(job);
        let corrupt = |why: String| Error::Corrupt {
            key: key.clone(),
            why,
        };
        let mut it = raw.into_iter();
        let state = it.next().unwrap_or_default();
        let state = JobState::parse(&state).ok_or_else(|| Error::UnknownJob(job.clone()))?;
        let mut sites = Vec::new();
        let mut unreadable = Vec::new();
        while let (Some(index), Some(json)) = (it.next(), it.next()) {
            // The script reads indexes it counted itself: one that does not parse means the
            // script and this code disagree, not a bad record.
            let index: u64 = index
                .parse()
                .map_err(|_| corrupt(format!("index {index:?}")))?;
            match serde_json::from_str::<Site>(&json) {
                Ok(site) => sites.push((index, site)),
                Err(e) => {
                    tracing::error!(key = %key, index, "unreadable site record: {e}");
                    unreadable.push((index, unreadable_site(index, &json), e.to_string()));
                }
            }
        }
        Ok(ShardWork {
            state,
            sites,
            unreadable,
        })
    }

    /// Store results of a delivered shard (set-if-absent: a result already written by an
    /// earlier delivery stays) and, with `ack`, acknowledge the shard — one round trip.
    pub async fn store(
        &self,
        d: &Delivery,
        results: &[(u64, SiteResult)],
        ack: bool,
        now_ms: u64,
    ) -> Result<Stored> {
        self.store_raw(&d.job, ack.then_some(d.entry.as_str()), results, now_ms)
            .await
    }

    async fn store_raw(
        &self,
        job: &JobId,
        ack: Option<&str>,
        results: &[(u64, SiteResult)],
        now_ms: u64,
    ) -> Result<Stored> {
        let mut conn = self.conn.clone();
        let mut invocation = scripts::STORE.prepare_invoke();
        invocation
            .key(self.job_key(job))
            .key(self.results_key(job))
            .key(self.stream_key(job))
            .key(self.active_key())
            .arg(now_arg(now_ms))
            .arg(ack.unwrap_or(""))
            .arg(GROUP)
            .arg(job.as_str());
        for (index, result) in results {
            let failed = if result.has(Code::ScanFailed) {
                "1"
            } else {
                "0"
            };
            let json = serde_json::to_string(result).expect("a site result always serialises");
            invocation.arg(*index).arg(failed).arg(json);
        }
        let (written, failed, finished): (u64, u64, u64) =
            invocation.invoke_async(&mut conn).await?;
        Ok(Stored {
            written,
            failed,
            job_finished: finished == 1,
        })
    }
}

fn delivery(
    job: &JobId,
    stream: &str,
    id: &str,
    map: &HashMap<String, redis::Value>,
    deliveries: u64,
) -> Result<Delivery> {
    let field = |name: &str| -> Result<u64> {
        map.get(name)
            .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok())
            .ok_or_else(|| Error::Corrupt {
                key: format!("{stream} {id}"),
                why: format!("field {name} missing or not a number"),
            })
    };
    Ok(Delivery {
        job: job.clone(),
        entry: id.to_owned(),
        shard: field("shard")?,
        start: field("start")?,
        end: field("end")?,
        deliveries,
    })
}

fn parse_job(job: &JobId, key: &str, f: &HashMap<String, String>) -> Result<JobInfo> {
    let num = |name: &str| -> u64 { f.get(name).and_then(|v| v.parse().ok()).unwrap_or(0) };
    let state = f.get("state").map(String::as_str).unwrap_or("");
    let state = JobState::parse(state).ok_or_else(|| Error::Corrupt {
        key: key.to_owned(),
        why: format!("state {state:?}"),
    })?;
    let (settings, settings_digest) = settings::parse_settings(key, f)?;
    Ok(JobInfo {
        settings,
        settings_digest,
        id: job.clone(),
        name: f.get("name").cloned().unwrap_or_default(),
        label: f.get("label").cloned().unwrap_or_default(),
        state,
        total: num("total"),
        shards: num("shards"),
        done: num("done"),
        failed: num("failed"),
        taken: num("taken"),
        created_ms: num("created_ms"),
        finished_ms: num("finished_ms"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_checked() {
        assert!(JobId::parse("0192f0c4-7b1e-7000-8000-000000000000").is_ok());
        assert!(JobId::parse("").is_err());
        assert!(JobId::parse("a:b").is_err());
        assert!(JobId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn queued_and_in_flight_add_up_to_what_is_not_done() {
        let mut info = JobInfo {
            id: JobId::parse("j").unwrap(),
            name: String::new(),
            label: String::new(),
            state: JobState::Running,
            total: 100,
            shards: 10,
            done: 15,
            failed: 1,
            taken: 30,
            created_ms: 0,
            finished_ms: 0,
            settings: None,
            settings_digest: String::new(),
        };
        assert_eq!((info.queued(), info.in_flight()), (70, 15));
        // Cancel fills results for sites never taken: nothing queued or in flight.
        info.done = 100;
        assert_eq!((info.queued(), info.in_flight()), (0, 0));
    }
}

/// Parse a duration flag: `30s`, `500ms`, `2m`, `1h`, `30d`, or bare seconds (`30`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 30s, 500ms, 2m)"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86_400.0,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use ms, s, m, h or d)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_duration("2 weeks").is_err());
        assert!(parse_duration("").is_err());
    }
}
