//! The name of every key of the queue, under the deployment's prefix (the table is in the
//! crate docs, and in [`crate::settings`] for the cluster's settings and address leases).

use crate::{JobId, Queue};

impl Queue {
    pub(crate) fn jobs_key(&self) -> String {
        format!("{}:jobs", self.prefix)
    }
    pub(crate) fn active_key(&self) -> String {
        format!("{}:active", self.prefix)
    }
    pub(crate) fn workers_key(&self) -> String {
        format!("{}:workers", self.prefix)
    }
    pub(crate) fn job_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}", self.prefix)
    }
    pub(crate) fn sites_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}:sites", self.prefix)
    }
    pub(crate) fn results_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}:results", self.prefix)
    }
    pub(crate) fn stream_key(&self, job: &JobId) -> String {
        format!("{}:job:{job}:shards", self.prefix)
    }

    /// Every key of one job.
    pub(crate) fn job_keys(&self, job: &JobId) -> [String; 4] {
        [
            self.job_key(job),
            self.sites_key(job),
            self.results_key(job),
            self.stream_key(job),
        ]
    }

    pub(crate) fn cluster_key(&self) -> String {
        format!("{}:cluster", self.prefix)
    }

    pub(crate) fn ip_key(&self, ip: &str) -> String {
        format!("{}:ip:{ip}", self.prefix)
    }
}
