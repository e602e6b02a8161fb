//! One site's scan as a task of its own: a panic in it becomes that site's `scan_failed`
//! result instead of losing the site. The embedded scanner ([`Engine::scan_stream`]) and the
//! worker both run every site this way.
//!
//! [`Engine::scan_stream`]: crate::Engine::scan_stream

use model::{Site, SiteResult};
use std::future::Future;
use tokio_util::task::AbortOnDropHandle;

/// Spawn `scan`, the scan of `site`, on its own task now; the returned future gives its
/// result, or, if the scan panicked, the site's `scan_failed` result. Dropping the returned
/// future aborts the scan.
pub fn site_task<F>(site: Site, scan: F) -> impl Future<Output = SiteResult> + Send + 'static
where
    F: Future<Output = SiteResult> + Send + 'static,
{
    let task = AbortOnDropHandle::new(tokio::spawn(scan));
    async move {
        task.await.unwrap_or_else(|e| {
            SiteResult::failed(&site, format!("the scanner failed on this site: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_scan_becomes_the_sites_failed_result() {
        let site = Site::parse("a.gov.test").unwrap();
        let fine = SiteResult::for_site(&site);
        let ok = site_task(site.clone(), async move { fine }).await;
        assert_eq!(ok.host, site.host);
        assert!(ok.findings.is_empty());

        let failed = site_task(site.clone(), async { panic!("boom") }).await;
        assert_eq!(failed.host, site.host);
        assert_eq!(failed.codes(), [model::Code::ScanFailed]);
        let detail = &failed.findings[0].detail;
        assert!(
            detail.starts_with("the scanner failed on this site: "),
            "{detail}"
        );
        assert!(detail.contains("boom"), "{detail}");
    }
}
