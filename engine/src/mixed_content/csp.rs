//! Content-Security-Policy, as far as mixed content goes: whether a policy says
//! `upgrade-insecure-requests`.
//!
//! With it (in an enforced policy: the `Content-Security-Policy` header or a `<meta
//! http-equiv=Content-Security-Policy>`, never `-Report-Only`), Chrome fetches every `http:`
//! subresource of the page over https, blockable ones included, and upgrades `http:` form
//! targets too (Blink's `FormSubmission`), so the page has no mixed content in Chrome.
//! `block-all-mixed-content` is obsolete (the CSP specification dropped it; Chrome ignores
//! it): blockable content is blocked and upgradable content upgraded whether or not it is
//! there, so it changes nothing here.

/// Whether a Content-Security-Policy value (one header, or a meta `content`; possibly
/// several policies separated by commas) has the `upgrade-insecure-requests` directive.
/// Directive names are case-insensitive; a value after the name does not disable it.
pub fn upgrades_insecure_requests(policy: &str) -> bool {
    policy
        .split(',')
        .flat_map(|p| p.split(';'))
        .filter_map(|directive| directive.split_ascii_whitespace().next())
        .any(|name| name.eq_ignore_ascii_case("upgrade-insecure-requests"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directive_is_found_wherever_it_is_in_the_policy() {
        let yes = [
            "upgrade-insecure-requests",
            "  Upgrade-Insecure-Requests ;",
            "default-src https: 'self'; upgrade-insecure-requests",
            "img-src *, upgrade-insecure-requests",
            "script-src 'self';upgrade-insecure-requests;object-src 'none'",
        ];
        for p in yes {
            assert!(upgrades_insecure_requests(p), "{p}");
        }
        let no = [
            "",
            "default-src https:",
            "block-all-mixed-content",
            "upgrade-insecure-requests-please",
            "default-src upgrade-insecure-requests",
            "report-uri /upgrade-insecure-requests",
        ];
        for p in no {
            assert!(!upgrades_insecure_requests(p), "{p}");
        }
    }
}
