//! Retention: what keeps Redis from growing forever.
//!
//! - A job that ended (`done` or `cancelled`) keeps its results for a retention period
//!   counted from its end (`scan-coordinator --retain-finished`, 30 days by default): every
//!   key of the job gets a TTL of `finished + retain - now`, set again at each sweep, so the
//!   keys expire in Redis itself even while no coordinator runs. A job past its retention is
//!   deleted at once.
//! - Once a job is complete, its shard stream (with the consumer group, its consumers and
//!   pending entries) and its site list are deleted: the results hold everything a report
//!   needs. This waits [`SETTLE`] after the end so no worker's blocking read is still on it.
//! - Ids in the job index whose job hash is gone (expired) are removed from the index.
//! - Worker heartbeats older than [`HEARTBEAT_KEEP`] are removed.
//! - [`Queue::delete_job`] deletes one ended job now (`scanctl delete`).

use crate::{Error, JobId, JobInfo, Queue, Result};
use std::time::Duration;

/// How long after a job ends its stream and site list are kept.
pub const SETTLE: Duration = Duration::from_secs(60);
/// Heartbeats older than this are pruned from the worker set.
pub const HEARTBEAT_KEEP: Duration = Duration::from_secs(3600);

/// What one retention sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Jobs deleted because their retention ran out.
    pub deleted: u64,
    /// Jobs whose keys carry a TTL now.
    pub expiring: u64,
    /// Complete jobs whose stream and site list were dropped in this sweep.
    pub compacted: u64,
    /// Index entries of jobs that had already expired, removed.
    pub forgotten: u64,
    /// Stale worker heartbeats removed.
    pub heartbeats: u64,
}

impl Queue {
    /// Delete an ended job and all its keys now. A job still submitting or running is
    /// refused ([`Error::WrongState`]: cancel it first); an unknown job is
    /// [`Error::UnknownJob`].
    pub async fn delete_job(&self, job: &JobId) -> Result<JobInfo> {
        let info = self
            .job(job)
            .await?
            .ok_or_else(|| Error::UnknownJob(job.clone()))?;
        if !info.state.is_final() {
            return Err(Error::WrongState {
                job: job.clone(),
                state: info.state,
                expected: "done or cancelled (cancel it first)",
            });
        }
        self.discard_job(job).await?;
        Ok(info)
    }

    /// One retention sweep at `now_ms`: see the module docs. Idempotent.
    pub async fn sweep_retention(&self, retain: Duration, now_ms: u64) -> Result<Swept> {
        let mut swept = Swept::default();
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.jobs_key())
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        let jobs = self.jobs().await?;
        let known: std::collections::HashSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        let gone: Vec<&String> = ids
            .iter()
            .filter(|id| !known.contains(id.as_str()))
            .collect();
        if !gone.is_empty() {
            swept.forgotten = gone.len() as u64;
            redis::cmd("ZREM")
                .arg(self.jobs_key())
                .arg(&gone)
                .query_async::<()>(&mut conn)
                .await?;
        }
        let retain_ms = retain.as_millis() as u64;
        let settle_ms = SETTLE.as_millis() as u64;
        for info in jobs {
            if !info.state.is_final() || info.finished_ms == 0 {
                continue;
            }
            let expires = info.finished_ms.saturating_add(retain_ms);
            if expires <= now_ms {
                self.discard_job(&info.id).await?;
                swept.deleted += 1;
                continue;
            }
            let mut pipe = redis::pipe();
            let complete = info.done >= info.total;
            if complete && info.finished_ms.saturating_add(settle_ms) <= now_ms {
                let dropped: u64 = redis::cmd("DEL")
                    .arg(self.stream_key(&info.id))
                    .arg(self.sites_key(&info.id))
                    .query_async(&mut conn)
                    .await?;
                swept.compacted += u64::from(dropped > 0);
            }
            for key in self.job_keys(&info.id) {
                pipe.pexpire(key, (expires - now_ms) as i64).ignore();
            }
            pipe.query_async::<()>(&mut conn).await?;
            swept.expiring += 1;
        }
        let stale = now_ms.saturating_sub(HEARTBEAT_KEEP.as_millis() as u64);
        swept.heartbeats = redis::cmd("ZREMRANGEBYSCORE")
            .arg(self.workers_key())
            .arg("-inf")
            .arg(format!("({stale}"))
            .query_async(&mut conn)
            .await?;
        Ok(swept)
    }
}
