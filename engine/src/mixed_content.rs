//! Mixed content: insecure references on an https page, classified by request destination
//! as the Mixed Content specification and Chrome do; and the page's meta refresh.
//! (Interface fixed; implementation in progress.)

use model::MixedContent;
use url::Url;

/// A `<meta http-equiv=refresh>` found in a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaRefresh {
    /// Seconds before the refresh.
    pub delay: u32,
    /// Where it goes, resolved against the document base; `None` reloads the page itself.
    pub url: Option<Url>,
}

/// What one HTML page holds that the scan cares about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// Counts and up to `max_samples` samples per class (`https_available` left `None`).
    pub mixed: MixedContent,
    /// The first meta refresh, if any.
    pub meta_refresh: Option<MetaRefresh>,
}

/// Analyse `html` (already capped by the caller; `truncated` says whether it was cut), served
/// at `page_url`. Never fails: malformed HTML is read as a browser would, as far as it goes.
pub fn analyze(html: &[u8], page_url: &Url, truncated: bool, max_samples: usize) -> Analysis {
    let _ = (html, max_samples);
    Analysis {
        mixed: MixedContent {
            page: page_url.to_string(),
            truncated,
            ..Default::default()
        },
        meta_refresh: None,
    }
}
