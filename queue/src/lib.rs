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
//!
//! # Modules
//! `types` (job ids and states, deliveries, what a shard needs), `keys` (the name of every
//! key above), `jobs` (the coordinator's side: create, upload, seal, read, cancel),
//! `shards` (the workers' side: heartbeat, take, reclaim, load, store), `settings`,
//! `retention`, `connect` (how to reach Redis), `scripts` (the Lua the round trips run) and
//! `flags` (the duration flags of the coordinator and the worker).

mod clock;
mod connect;
mod flags;
mod jobs;
mod keys;
mod retention;
mod scripts;
mod settings;
mod shards;
mod types;
mod url;

pub use clock::{Clock, unix_ms};
pub use connect::{ConnectOptions, CredentialFiles, Credentials, Tls};
pub use flags::parse_duration;
pub use retention::{HEARTBEAT_KEEP, SETTLE, Swept};
pub use settings::ClusterSettings;
pub use types::{Delivery, JobId, JobInfo, JobState, ShardWork, Stored};
pub use url::{choose_url, read_url_file, redact};

use redis::aio::ConnectionManager;
use std::fmt;

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

/// A time argument of a script or a hash field: unix milliseconds as text.
fn now_arg(now_ms: u64) -> String {
    now_ms.to_string()
}

impl Queue {
    /// Is Redis answering?
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}
