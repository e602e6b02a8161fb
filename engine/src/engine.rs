//! The engine: one site from start to verdict, and many sites at a bounded concurrency.

use crate::{Config, Error};
use futures::{Stream, StreamExt};
use model::{Site, SiteResult};
use std::sync::Arc;
use std::time::SystemTime;

/// Scans sites. Cheap to share: clone the `Arc` it lives in.
pub struct Engine {
    config: Config,
}

impl Engine {
    /// Build the resolver, trust store and TLS configuration once.
    pub fn new(config: Config) -> Result<Engine, Error> {
        Ok(Engine { config })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Scan one site. Never fails: whatever the site does ends up as findings.
    /// `now` is the time certificates are judged against.
    pub async fn scan(&self, site: &Site, now: SystemTime) -> SiteResult {
        let _ = now;
        SiteResult::failed(site, "engine not built yet")
    }

    /// Scan a stream of sites with at most `concurrency` in flight at once, each on its own
    /// task; results come out in completion order. Memory stays bounded by `concurrency`.
    pub fn scan_stream<S>(
        self: Arc<Self>,
        sites: S,
        concurrency: usize,
    ) -> impl Stream<Item = SiteResult> + Send
    where
        S: Stream<Item = Site> + Send + 'static,
    {
        sites
            .map(move |site| {
                let engine = Arc::clone(&self);
                let task_site = site.clone();
                let task = tokio::spawn(async move { engine.scan(&task_site, SystemTime::now()).await });
                async move {
                    // A panic in one site's scan must not lose the site: it becomes a result.
                    task.await.unwrap_or_else(|e| {
                        SiteResult::failed(&site, format!("the scanner failed on this site: {e}"))
                    })
                }
            })
            .buffer_unordered(concurrency.max(1))
    }
}
