//! `--per-ip-concurrency` across the cluster: a lease on an address is a permit of this
//! worker's own semaphore for the address (so a worker never asks Redis for more than the
//! limit at once) and then an entry in the address's sorted set in Redis, taken by a script
//! that counts only unexpired entries ([`queue::Queue::try_lease`]). A worker that dies
//! holding leases frees them when they expire: after the site timeout and a margin.
//!
//! Waiting polls Redis, from 10 ms up to 200 ms apart; the engine does not count the wait
//! against the site's timeout.

use engine::polite::{Lease, Limiter, Local};
use queue::Queue;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Leases on addresses held in Redis for the whole cluster.
pub struct ClusterLimiter {
    local: Local,
    queue: Queue,
    /// Lease ids are `NAME-N`: whose they are shows in Redis.
    name: String,
    next: AtomicU64,
    ttl: Duration,
}

impl ClusterLimiter {
    /// Leases for worker `name`, each living `ttl` at most (longer than a site may take).
    pub fn new(queue: Queue, name: impl Into<String>, ttl: Duration) -> Self {
        ClusterLimiter {
            local: Local::default(),
            queue,
            name: name.into(),
            next: AtomicU64::new(0),
            ttl,
        }
    }
}

/// The Redis half of a lease: given back when dropped (in the background; if that fails,
/// it expires).
struct Held {
    queue: Queue,
    ip: String,
    id: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (queue, ip, id) = (
            self.queue.clone(),
            std::mem::take(&mut self.ip),
            std::mem::take(&mut self.id),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = queue.release_lease(&ip, &id).await {
                    tracing::debug!(ip, id, "giving a lease back: {e}; it will expire");
                }
            });
        }
    }
}

impl Limiter for ClusterLimiter {
    fn acquire(
        &self,
        ip: IpAddr,
        limit: usize,
    ) -> Pin<Box<dyn Future<Output = Lease> + Send + '_>> {
        Box::pin(async move {
            let local = self.local.permit(ip, limit).await;
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let id = format!("{}-{n}", self.name);
            let key = ip.to_string();
            let limit = u32::try_from(limit).unwrap_or(u32::MAX);
            let mut wait = Duration::from_millis(10);
            let mut failing = false;
            loop {
                match self.queue.try_lease(&key, &id, limit, self.ttl).await {
                    Ok(true) => break,
                    Ok(false) => failing = false,
                    Err(e) => {
                        if !failing {
                            tracing::warn!(ip = %key, "taking a lease on the address: {e}; retrying");
                        }
                        failing = true;
                    }
                }
                // A little spread, so waiters on one address do not ask in step.
                tokio::time::sleep(wait + Duration::from_millis(n % 7)).await;
                wait = (wait * 3 / 2).min(Duration::from_millis(200));
            }
            let held = Held {
                queue: self.queue.clone(),
                ip: key,
                id,
            };
            // Redis first, then the local permit.
            Lease::of(vec![Box::new(held) as Box<dyn Send + Sync>, local])
        })
    }
}
