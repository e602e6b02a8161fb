//! Text from scanned sites and site lists, made safe to show to a person.
//!
//! Certificate names, agency names, URLs and finding details are chosen by whoever runs a
//! site or writes a list. Invisible formatting characters among them (Unicode category Cf:
//! the bidirectional embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069,
//! zero-width spaces and joiners U+200B–U+200F, the byte order mark U+FEFF, soft hyphens…)
//! can reorder or hide what a reader sees — a right-to-left override turns `gov.tw` around
//! in a finding. [`visible`] is the one place they are neutralised: every human-facing
//! output (the HTML report, terminal tables, CSV) passes untrusted text through it. JSON
//! keeps the text as it was, for machines.

use std::borrow::Cow;
use std::fmt::Write;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether `c` is an invisible formatting character (Unicode category Cf).
pub fn is_invisible_format(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
}

/// `text` with every invisible formatting character shown as its code point, `<U+202E>`:
/// the text keeps its order, and the reader sees that the character was there.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_invisible_format) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_invisible_format(c) {
            let _ = write!(out, "<U+{:04X}>", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_invisible_format_characters_are_shown_not_obeyed() {
        let bidi = [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}',
        ];
        let zero_width = [
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{feff}',
        ];
        for c in bidi
            .into_iter()
            .chain(zero_width)
            .chain(['\u{ad}', '\u{2060}', '\u{e0041}'])
        {
            let text = format!("www.{c}gov.tw");
            let shown = visible(&text);
            assert!(!shown.contains(c), "{:04X} survives", u32::from(c));
            assert_eq!(shown, format!("www.<U+{:04X}>gov.tw", u32::from(c)));
        }
        assert_eq!(
            visible("\u{202e}wt.vog.www"),
            "<U+202E>wt.vog.www",
            "an override is named where it stood"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "行政院 https://www.ey.gov.tw/",
            "a\tb\nc",
            "مرحبا",
            "naïve — ok",
            "",
        ] {
            assert!(
                matches!(visible(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }
}
