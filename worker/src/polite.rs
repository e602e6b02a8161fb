//! `--per-ip-concurrency` across the cluster: a lease on an address is a permit of this
//! worker's own semaphore for the address (so a worker never asks Redis for more than the
//! limit at once) and then an entry in the address's sorted set in Redis, taken by a script
//! that counts only unexpired entries ([`queue::Queue::try_lease`]). A lease lives
//! [`LEASE_TTL`] and is renewed every quarter of it while its site is in flight, so a worker
//! that dies holding leases frees them within [`LEASE_TTL`], however long its sites may take.
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

/// How long a lease lives without renewal: how long a dead worker's leases block their
/// addresses. Renewed every quarter of it; Redis unreachable that long lets a live worker's
/// leases lapse (its sites go on: politeness yields to finishing the scan).
pub const LEASE_TTL: Duration = Duration::from_secs(20);

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
    /// Leases for worker `name`, each living `ttl` unless renewed ([`LEASE_TTL`]).
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

/// The Redis half of a lease: renewed while held, given back when dropped (in the
/// background; if that fails, it expires).
struct Held {
    queue: Queue,
    ip: String,
    id: String,
    _renewing: tokio_util::task::AbortOnDropHandle<()>,
}

/// Renew lease `id` on `ip` every quarter of `ttl` until aborted (when the lease is dropped).
async fn renew(queue: Queue, ip: String, id: String, ttl: Duration) {
    loop {
        tokio::time::sleep(ttl / 4).await;
        match queue.renew_lease(&ip, &id, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    ip,
                    id,
                    "a lease on the address expired before its site ended"
                );
                return;
            }
            Err(e) => tracing::debug!(ip, id, "renewing a lease: {e}; retrying"),
        }
    }
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
            let renewing =
                tokio::spawn(renew(self.queue.clone(), key.clone(), id.clone(), self.ttl));
            let held = Held {
                queue: self.queue.clone(),
                ip: key,
                id,
                _renewing: tokio_util::task::AbortOnDropHandle::new(renewing),
            };
            // Redis first, then the local permit.
            Lease::of(vec![Box::new(held) as Box<dyn Send + Sync>, local])
        })
    }
}
