//! The `content` of `<meta http-equiv=refresh>`, read by the HTML standard's "shared
//! declarative refresh steps": a delay (digits, then any digits and dots), then optionally
//! `;` or `,`, then optionally `url=` (any case, spaces around `=`), then the URL, possibly
//! quoted. A missing URL reloads the page; anything else malformed makes no refresh.

use super::MetaRefresh;
use url::Url;

/// Parse `content`, resolving the URL against `base`; `None` when a browser would not
/// refresh at all.
pub fn parse(content: &str, base: &Url) -> Option<MetaRefresh> {
    let s = content.trim_start_matches(is_space);
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (time, s) = s.split_at(digits);
    if time.is_empty() && !s.starts_with('.') {
        return None;
    }
    let delay = time.bytes().fold(0u32, |n, b| {
        n.saturating_mul(10).saturating_add(u32::from(b - b'0'))
    });
    let reload = MetaRefresh { delay, url: None };
    let s = s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if s.is_empty() {
        return Some(reload);
    }
    if !s.starts_with([';', ',']) && !s.starts_with(is_space) {
        return None;
    }
    let s = s.trim_start_matches(is_space);
    let s = s.strip_prefix([';', ',']).unwrap_or(s);
    let s = s.trim_start_matches(is_space);
    if s.is_empty() {
        return Some(reload);
    }
    let url = strip_url_label(s);
    let url = match url.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let inner = &url[1..];
            inner.find(quote).map_or(inner, |end| &inner[..end])
        }
        _ => url,
    };
    // The URL parser trims surrounding whitespace and control characters itself.
    let url = base.join(url).ok()?;
    Some(MetaRefresh {
        delay,
        url: Some(url),
    })
}

/// `url` `=` (any case, whitespace around `=`) before the URL, if present.
fn strip_url_label(s: &str) -> &str {
    let Some(label) = s.get(..3) else {
        return s;
    };
    if !label.eq_ignore_ascii_case("url") {
        return s;
    }
    match s[3..].trim_start_matches(is_space).strip_prefix('=') {
        Some(url) => url.trim_start_matches(is_space),
        None => s,
    }
}

/// ASCII whitespace as HTML defines it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_refresh_as_browsers_do() {
        let base = Url::parse("https://a.gov.test/dir/page.html").unwrap();
        let to = |delay: u32, url: &str| {
            Some(MetaRefresh {
                delay,
                url: Some(Url::parse(url).unwrap()),
            })
        };
        let reload = |delay: u32| Some(MetaRefresh { delay, url: None });
        let cases: &[(&str, Option<MetaRefresh>)] = &[
            ("0; url=https://b.test/", to(0, "https://b.test/")),
            ("0;url=https://b.test/", to(0, "https://b.test/")),
            ("0;URL=https://b.test/x", to(0, "https://b.test/x")),
            ("0; Url = 'https://b.test/q'", to(0, "https://b.test/q")),
            (
                "0; url=\"https://b.test/d\" trailing",
                to(0, "https://b.test/d"),
            ),
            (
                "0; url='https://b.test/unclosed",
                to(0, "https://b.test/unclosed"),
            ),
            (
                "  5 ;  url=next.html  ",
                to(5, "https://a.gov.test/dir/next.html"),
            ),
            ("3, /root", to(3, "https://a.gov.test/root")),
            ("0 http://b.test/", to(0, "http://b.test/")),
            ("0;http://b.test/", to(0, "http://b.test/")),
            ("0.5; url=x", to(0, "https://a.gov.test/dir/x")),
            (".5; url=x", to(0, "https://a.gov.test/dir/x")),
            ("1.9.9;url=x", to(1, "https://a.gov.test/dir/x")),
            ("0; urlfoo", to(0, "https://a.gov.test/dir/urlfoo")),
            ("0; url", to(0, "https://a.gov.test/dir/url")),
            (
                "99999999999; url=x",
                to(u32::MAX, "https://a.gov.test/dir/x"),
            ),
            ("0", reload(0)),
            ("10", reload(10)),
            ("10;", reload(10)),
            ("10 ; ", reload(10)),
            ("", None),
            ("   ", None),
            ("url=https://b.test/", None),
            ("-1; url=x", None),
            ("0x; url=x", None),
            ("0; url=http://[bad", None),
        ];
        for (content, want) in cases {
            assert_eq!(&parse(content, &base), want, "content {content:?}");
        }
    }

    #[test]
    fn garbage_does_not_panic() {
        let base = Url::parse("https://a.test/").unwrap();
        for content in [
            "0;é",
            "0; u",
            "0; ur",
            "0; uré",
            "0; '",
            "0; \"",
            "\u{0}",
            "0;\u{fffd}=x",
        ] {
            let _ = parse(content, &base);
        }
    }
}
