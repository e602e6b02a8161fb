//! The workers' side of the queue: heartbeats, taking shards round robin between the
//! active jobs, reclaiming shards whose worker went quiet (and giving up on those that
//! exhausted their deliveries), loading what a shard still needs and storing its results.

use crate::types::unreadable_site;
use crate::{
    Delivery, Error, GROUP, JobId, JobState, Queue, Result, ShardWork, Stored, now_arg, scripts,
};
use model::{Code, Site, SiteResult};
use redis::streams::{StreamPendingCountReply, StreamReadOptions, StreamReadReply};
use std::collections::HashMap;
use std::time::Duration;

impl Queue {
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

    pub(crate) async fn load_range(&self, job: &JobId, start: u64, end: u64) -> Result<ShardWork> {
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

    pub(crate) async fn store_raw(
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
