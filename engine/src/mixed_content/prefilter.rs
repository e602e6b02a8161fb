//! Whether a page can hold an insecure reference at all, read from its bytes as they arrive.
//!
//! A reference is mixed content when it resolves to an `http:` URL: either it spells that
//! scheme itself or it is relative to a base that does (`<base href>`, whose value spells it
//! too: the page itself is https). The URL parser takes a scheme as letters up to a `:`,
//! case-insensitively, after removing every tab and newline; so the decoded value must hold
//! `h t t p :` with nothing but tabs, line feeds and carriage returns between them. What the
//! scanner decodes before the URL parser sees a value:
//! - the page's encoding: the parser reads only ASCII-compatible encodings, where an ASCII
//!   letter or `:` is that byte and nothing else;
//! - character references in attributes: a numeric one (`&#104;`) can be any character; the
//!   named ones are never a letter of `http`, but `&colon;` is a `:` and `&Tab;`/`&NewLine;`
//!   are a tab and a line feed;
//! - CSS escapes in `<style>` and `style` attributes (`\68 ttp`), all behind a `\`.
//!
//! So a page may refer to `http:` only if its bytes hold `&#`, or a `\`, or `http` (any case;
//! tabs, line feeds and carriage returns between the letters) followed by `:` or `&`, or
//! with a `&` between its letters. [`Prefilter`] says yes at the first such byte. It says
//! yes more often than needed (`&#39;` in text, a `\` in a script, `http:` in a link): a yes
//! costs the full analysis, a no must be certain.
//!
//! What is left to read of a page that says no: its `<base>`, `<meta>` (refresh and
//! Content-Security-Policy), `<link>` (whether it names an icon) and `<template>`
//! (inert content): [`super::Reader`] reads only those.

/// The streaming test; its state carries across chunks.
#[derive(Debug, Default, Clone)]
pub(crate) struct Prefilter {
    /// The last four bytes seen that are not a tab, line feed or carriage return, ASCII
    /// lowercased, the latest last (zero where there were none).
    tail: [u8; 4],
    /// The last byte seen was `&`.
    ampersand: bool,
}

impl Prefilter {
    /// Whether the page, read up to the end of `chunk`, may refer to an `http:` URL. Once
    /// it said yes, the answer for the rest of the page does not matter.
    ///
    /// Only `&`, `:` and `\` can make it say yes, and they are rare in a page: they are
    /// found with `memchr` and the letters before each are read back from there.
    pub(crate) fn may_refer_to_http(&mut self, chunk: &[u8]) -> bool {
        if self.ampersand && chunk.first() == Some(&b'#') {
            return true;
        }
        for at in memchr::memchr3_iter(b'&', b':', b'\\', chunk) {
            let before = self.last_significant(&chunk[..at]);
            let yes = match chunk[at] {
                b'\\' => true,
                b'&' => chunk.get(at + 1) == Some(&b'#') || ends_in_http_prefix(before, 1),
                _ => ends_in_http_prefix(before, 4),
            };
            if yes {
                return true;
            }
        }
        if let Some(&last) = chunk.last() {
            self.ampersand = last == b'&';
            self.tail = self.last_significant(chunk);
        }
        false
    }

    /// The four last bytes of what was seen before `chunk`, then `chunk`, skipping tabs, line
    /// feeds and carriage returns (the URL parser removes them), lowercased, latest last.
    fn last_significant(&self, chunk: &[u8]) -> [u8; 4] {
        let mut last = [0; 4];
        let mut found = 0;
        let significant = chunk
            .iter()
            .rev()
            .filter(|b| !matches!(b, b'\t' | b'\n' | b'\r'))
            .map(u8::to_ascii_lowercase)
            .chain(self.tail.iter().rev().copied());
        for byte in significant.take(4) {
            found += 1;
            last[4 - found] = byte;
        }
        last
    }
}

/// Whether `last` ends in the first `k` letters of `http`, for some `k` from `at_least` to 4.
fn ends_in_http_prefix(last: [u8; 4], at_least: usize) -> bool {
    (at_least..=4).any(|k| last[4 - k..] == b"http"[..k])
}

#[cfg(test)]
mod tests {
    use super::Prefilter;

    fn says(page: &str) -> bool {
        Prefilter::default().may_refer_to_http(page.as_bytes())
    }

    /// The same page fed a byte at a time: the state crosses chunk boundaries.
    fn says_bytewise(page: &str) -> bool {
        let mut p = Prefilter::default();
        page.as_bytes()
            .iter()
            .any(|b| p.may_refer_to_http(std::slice::from_ref(b)))
    }

    /// The rule of the module docs, a byte at a time: what [`Prefilter`] must answer.
    fn oracle(page: &[u8]) -> bool {
        let mut matched = 0;
        let mut ampersand = false;
        for &byte in page {
            let after_ampersand = std::mem::replace(&mut ampersand, byte == b'&');
            match byte {
                b'\\' => return true,
                b'#' if after_ampersand => return true,
                b'&' if matched > 0 => return true,
                b':' if matched == 4 => return true,
                b'\t' | b'\n' | b'\r' => continue,
                _ => {}
            }
            matched = if b"http"
                .get(matched)
                .is_some_and(|c| byte.eq_ignore_ascii_case(c))
            {
                matched + 1
            } else {
                usize::from(byte.eq_ignore_ascii_case(&b'h'))
            };
        }
        false
    }

    #[test]
    fn it_answers_as_the_rule_on_random_pages_cut_anywhere() {
        const ALPHABET: &[u8] = b"hHtTpP&#:\\\t\n\rx; s";
        let mut next = super::super::pseudo_random(0x9E37_79B9_7F4A_7C15);
        let (mut yes, mut no) = (0, 0);
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            let page: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let expected = oracle(&page);
            let mut prefilter = Prefilter::default();
            let mut said = false;
            let mut rest = &page[..];
            while !rest.is_empty() {
                let cut = 1 + (next() as usize) % rest.len();
                said |= prefilter.may_refer_to_http(&rest[..cut]);
                rest = &rest[cut..];
            }
            assert_eq!(said, expected, "{:?}", String::from_utf8_lossy(&page));
            if expected { yes += 1 } else { no += 1 }
        }
        // Both answers were exercised.
        assert!(yes > 1_000 && no > 1_000, "{yes} yes, {no} no");
    }

    #[test]
    fn every_spelling_of_the_http_scheme_says_yes() {
        for page in [
            r#"<img src="http://a.test/x.png">"#,
            r#"<img src="HTTP://a.test/x.png">"#,
            r#"<img src="HtTp://a.test/x.png">"#,
            "<img src=\"h\tt\ntp\r:a.test/x.png\">",
            "<img src=\"http\t:a.test/x.png\">",
            r#"<img src="http&colon;//a.test/x.png">"#,
            r#"<img src="http&#58;//a.test/x.png">"#,
            r#"<img src="&#104;ttp://a.test/x.png">"#,
            r#"<img src="h&Tab;ttp://a.test/x.png">"#,
            r#"<img src="htt&NewLine;p://a.test/x.png">"#,
            r#"<div style="background:url(\68ttp://a.test/x.png)">"#,
            r#"<base href="http://a.test/"><img src="x.png">"#,
            r#"<p>&#39;quoted&#39;</p>"#,
            "hhttp:",
            "httphttp:",
        ] {
            assert!(says(page), "{page:?}");
            assert!(says_bytewise(page), "{page:?} byte by byte");
        }
    }

    #[test]
    fn pages_with_only_https_and_relative_references_say_no() {
        for page in [
            r#"<img src="/logo.png"><a href="https://a.test/">x</a>"#,
            r#"<meta http-equiv="X-UA-Compatible" content="IE=edge">"#,
            r#"<link rel="icon" href="//cdn.test/i.ico"><p>&amp; &nbsp; HTTPS</p>"#,
            "<p>http</p><p>htt p:</p><p>http-equiv</p>",
            "本網站提供機關最新消息",
        ] {
            assert!(!says(page), "{page:?}");
            assert!(!says_bytewise(page), "{page:?} byte by byte");
        }
    }
}
