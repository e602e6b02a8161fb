//! Politeness: at most N sites in flight against one IP address (`--per-ip-concurrency`).
//!
//! A site takes a [`Lease`] on its address after its name resolves (the first allowed
//! address: the one its connections go to) and holds it until its scan ends; while it holds
//! it, its connections to that address are made one at a time, so N leases mean at most N
//! connections on the address. Waiting for a lease is not part of the site's timeout: the
//! site's clock starts again when it has one (see [`Engine::scan`](crate::Engine::scan)).
//!
//! The engine asks a [`Limiter`]: [`Local`] (per-address semaphores, what an embedded scan
//! uses) or one the worker provides that also takes a lease in Redis, so the limit holds
//! across the cluster.

use futures::future::BoxFuture;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A right to scan one site against one address; dropping it gives it back.
pub struct Lease {
    _held: Vec<Box<dyn Send + Sync>>,
}

impl Lease {
    /// A lease that holds nothing (no limit).
    pub fn free() -> Lease {
        Lease { _held: Vec::new() }
    }

    /// A lease made of parts, given back in order when dropped.
    pub fn of(parts: Vec<Box<dyn Send + Sync>>) -> Lease {
        Lease { _held: parts }
    }
}

/// Hands out leases on addresses.
pub trait Limiter: Send + Sync {
    /// Wait for a lease on `ip`, with at most `limit` (at least 1) held at once.
    fn acquire(&self, ip: IpAddr, limit: usize) -> BoxFuture<'_, Lease>;
}

/// A semaphore per address and limit.
type Semaphores = Arc<Mutex<HashMap<(IpAddr, usize), Arc<Semaphore>>>>;

/// Per-address semaphores in this process (one per address and limit: jobs with different
/// limits each get theirs). A semaphore is dropped when nobody holds or waits for it, so a
/// national scan keeps only the addresses in flight.
#[derive(Default)]
pub struct Local {
    by_ip: Semaphores,
}

/// A permit of [`Local`]; forgets the address's semaphore when it was the last user.
struct LocalPermit {
    permit: Option<OwnedSemaphorePermit>,
    key: (IpAddr, usize),
    by_ip: Semaphores,
}

impl Drop for LocalPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut map = self.by_ip.lock().expect("limiter lock");
        if map
            .get(&self.key)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            map.remove(&self.key);
        }
    }
}

impl Local {
    /// Addresses with a semaphore now (held or waited for).
    pub fn addresses(&self) -> usize {
        self.by_ip.lock().expect("limiter lock").len()
    }

    /// Wait for a permit on `ip` (`limit` is the size of the semaphore made for it).
    pub async fn permit(&self, ip: IpAddr, limit: usize) -> Box<dyn Send + Sync> {
        let semaphore = Arc::clone(
            self.by_ip
                .lock()
                .expect("limiter lock")
                .entry((ip, limit))
                .or_insert_with(|| Arc::new(Semaphore::new(limit.max(1)))),
        );
        let permit = semaphore
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        Box::new(LocalPermit {
            permit: Some(permit),
            key: (ip, limit),
            by_ip: Arc::clone(&self.by_ip),
        })
    }
}

impl Limiter for Local {
    fn acquire(&self, ip: IpAddr, limit: usize) -> BoxFuture<'_, Lease> {
        Box::pin(async move { Lease::of(vec![self.permit(ip, limit).await]) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn at_most_n_leases_per_address_and_idle_addresses_are_forgotten() {
        let local = Local::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = local.acquire(a, 2).await;
        let second = local.acquire(a, 2).await;
        // A third on `a` waits; another address does not.
        let other = tokio::time::timeout(Duration::from_secs(5), local.acquire(b, 2)).await;
        assert!(other.is_ok());
        drop(other);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), local.acquire(a, 2))
                .await
                .is_err(),
            "a third lease on one address must wait"
        );
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), local.acquire(a, 2))
            .await
            .expect("a lease given back lets the next one in");
        drop((second, third));
        assert_eq!(local.addresses(), 0, "no semaphore kept for idle addresses");
    }
}
