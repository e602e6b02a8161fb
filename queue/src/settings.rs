//! What the cluster shares besides the work: each job's scan settings, the queue settings
//! every worker follows, and the per-address leases of `--per-ip-concurrency`.
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:job:ID` fields `settings`, `settings_digest` | hash fields | the job's [`JobSettings`] (JSON) and their digest |
//! | `P:cluster` | hash | `reclaim_idle_ms`, `max_deliveries`: written by the coordinator, read by workers |
//! | `P:ip:ADDR` | sorted set | lease id → expiry (unix ms, Redis's clock) of the sites in flight against ADDR |
//!
//! A lease is taken by a script that first drops expired leases, so a worker that died
//! holding one blocks its address for at most the lease's time to live; the key itself
//! expires with its last lease.

use crate::{Error, JobId, Queue, Result, scripts};
use model::JobSettings;
use std::collections::HashMap;
use std::time::Duration;

/// The queue settings every worker follows (the coordinator's `--reclaim-idle` and
/// `--max-deliveries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterSettings {
    pub reclaim_idle: Duration,
    pub max_deliveries: u64,
}

impl Queue {
    /// Store a job's settings and their digest (before the job is sealed).
    pub async fn set_job_settings(
        &self,
        job: &JobId,
        settings: &JobSettings,
        digest: &str,
    ) -> Result<()> {
        let json = serde_json::to_string(settings).expect("settings always serialise");
        let mut conn = self.conn.clone();
        redis::cmd("HSET")
            .arg(self.job_key(job))
            .arg("settings")
            .arg(json)
            .arg("settings_digest")
            .arg(digest)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// Publish the queue settings workers follow.
    pub async fn set_cluster_settings(&self, s: &ClusterSettings) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("HSET")
            .arg(self.cluster_key())
            .arg("reclaim_idle_ms")
            .arg(s.reclaim_idle.as_millis() as u64)
            .arg("max_deliveries")
            .arg(s.max_deliveries)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// The queue settings the coordinator published, `None` before it did.
    pub async fn cluster_settings(&self) -> Result<Option<ClusterSettings>> {
        let mut conn = self.conn.clone();
        let f: HashMap<String, u64> = redis::cmd("HGETALL")
            .arg(self.cluster_key())
            .query_async(&mut conn)
            .await?;
        Ok(match (f.get("reclaim_idle_ms"), f.get("max_deliveries")) {
            (Some(&ms), Some(&n)) if ms > 0 && n > 0 => Some(ClusterSettings {
                reclaim_idle: Duration::from_millis(ms),
                max_deliveries: n,
            }),
            _ => None,
        })
    }

    /// Try to take lease `id` on address `ip`, held by at most `limit` at once, for `ttl`.
    /// `false`: `limit` leases are held; ask again later.
    pub async fn try_lease(&self, ip: &str, id: &str, limit: u32, ttl: Duration) -> Result<bool> {
        let mut conn = self.conn.clone();
        let got: u64 = scripts::LEASE
            .key(self.ip_key(ip))
            .arg(id)
            .arg(limit.max(1))
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok(got == 1)
    }

    /// Make lease `id` on `ip` expire `ttl` from now: `false` when it is no longer held (it
    /// expired, e.g. while Redis could not be reached).
    pub async fn renew_lease(&self, ip: &str, id: &str, ttl: Duration) -> Result<bool> {
        let mut conn = self.conn.clone();
        let renewed: u64 = scripts::RENEW_LEASE
            .key(self.ip_key(ip))
            .arg(id)
            .arg(ttl.as_millis().max(1) as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok(renewed == 1)
    }

    /// Give lease `id` on `ip` back.
    pub async fn release_lease(&self, ip: &str, id: &str) -> Result<()> {
        let mut conn = self.conn.clone();
        redis::cmd("ZREM")
            .arg(self.ip_key(ip))
            .arg(id)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    /// Leases held on `ip` now (expired ones not counted).
    pub async fn leases(&self, ip: &str) -> Result<u64> {
        let mut conn = self.conn.clone();
        let (secs, micros): (u64, u64) = redis::cmd("TIME").query_async(&mut conn).await?;
        let now_ms = secs * 1000 + micros / 1000;
        Ok(redis::cmd("ZCOUNT")
            .arg(self.ip_key(ip))
            .arg(format!("({now_ms}"))
            .arg("+inf")
            .query_async(&mut conn)
            .await?)
    }
}

/// A job's settings from its hash fields: `None` when it has none (submitted by an older
/// `scanctl`: the workers' own flags decide).
pub(crate) fn parse_settings(
    key: &str,
    f: &HashMap<String, String>,
) -> Result<(Option<JobSettings>, String)> {
    let digest = f.get("settings_digest").cloned().unwrap_or_default();
    match f.get("settings").filter(|s| !s.is_empty()) {
        None => Ok((None, digest)),
        Some(json) => serde_json::from_str(json)
            .map(|s| (Some(s), digest))
            .map_err(|e| Error::Corrupt {
                key: key.to_owned(),
                why: format!("settings: {e}"),
            }),
    }
}
