//! What the queue holds and hands out: job ids and states, a job's metadata and counters,
//! a shard delivered to a worker and what it still needs, and the outcome of a store.

use crate::{Error, Result, settings};
use model::{Site, SiteResult};
use std::collections::HashMap;
use std::fmt;

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

    pub(crate) fn parse(s: &str) -> Option<JobState> {
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
pub(crate) fn unreadable_site(index: u64, json: &str) -> Site {
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

/// A job's metadata and counters from the fields of its hash at `key`.
pub(crate) fn parse_job(job: &JobId, key: &str, f: &HashMap<String, String>) -> Result<JobInfo> {
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
