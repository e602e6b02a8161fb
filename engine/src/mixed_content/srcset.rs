//! The URLs of a `srcset` attribute, split as the HTML standard's "parse a srcset
//! attribute" does: candidates separated by commas, each a URL followed by optional
//! descriptors (`2x`, `300w`), where a comma inside parentheses does not end a candidate and a
//! URL may itself hold commas (only trailing commas end it).

/// The candidate URLs of `srcset`, in order.
pub fn urls(srcset: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut rest = srcset;
    loop {
        rest = rest.trim_start_matches(|c: char| is_space(c) || c == ',');
        if rest.is_empty() {
            return urls;
        }
        let end = rest.find(is_space).unwrap_or(rest.len());
        let (url, after) = rest.split_at(end);
        if let Some(url) = url.strip_suffix(',') {
            // Trailing commas end the candidate; it has no descriptors.
            urls.push(url.trim_end_matches(','));
            rest = after;
            continue;
        }
        urls.push(url);
        rest = skip_descriptors(after);
    }
}

/// Skip the descriptors of one candidate, up to and including the comma that ends it.
fn skip_descriptors(input: &str) -> &str {
    let mut in_parens = false;
    for (i, c) in input.char_indices() {
        match c {
            '(' => in_parens = true,
            ')' => in_parens = false,
            ',' if !in_parens => return &input[i + 1..],
            _ => {}
        }
    }
    ""
}

/// ASCII whitespace as HTML defines it.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_candidates_as_the_standard_does() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("  ,, ", &[]),
            ("a.png", &["a.png"]),
            ("a.png 1x, b.png 2x", &["a.png", "b.png"]),
            ("a.png 100w,b.png 200w", &["a.png", "b.png"]),
            ("a.png,b.png", &["a.png,b.png"]),
            ("a.png, b.png", &["a.png", "b.png"]),
            ("a.png,, b.png", &["a.png", "b.png"]),
            (
                "\n\ta.png 1x,\n\thttp://x/b.png 2x\n",
                &["a.png", "http://x/b.png"],
            ),
            ("a.png foo(1, 2) 1x, b.png", &["a.png", "b.png"]),
            (
                "data:image/png;base64,AAAA 1x, b.png 2x",
                &["data:image/png;base64,AAAA", "b.png"],
            ),
            ("a.png 1x b.png 2x", &["a.png"]),
            ("a.png (unclosed, b.png", &["a.png"]),
        ];
        for (srcset, want) in cases {
            assert_eq!(&urls(srcset), want, "srcset {srcset:?}");
        }
    }
}
