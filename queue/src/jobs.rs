//! The coordinator's side of the queue: a job is created, its list uploaded, sealed into
//! shards, read back (state, counters, results), cancelled or discarded.

use crate::types::parse_job;
use crate::{BATCH, Error, GROUP, JobId, JobInfo, JobState, Queue, Result, now_arg, scripts};
use model::{Site, SiteResult};
use std::collections::HashMap;

impl Queue {
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
            .del(&self.job_keys(job))
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
}
