//! Character references in attribute values (`lol_html` hands values over undecoded), decoded
//! as the HTML tokenizer does in an attribute: numeric references in full (with the
//! Windows-1252 remapping of 0x80–0x9F), and the named references that matter in URLs —
//! ASCII punctuation (`&amp;`, `&colon;`, `&sol;`...), `&nbsp;`, `&copy;`, `&reg;` — with the
//! legacy semicolon-less forms (`&amp` followed by an alphanumeric or `=` stays as written).
//! Other named references (there are two thousand, none of them ASCII) are left as written.

use std::borrow::Cow;

/// `value` with its character references decoded.
pub fn decode_attribute(value: &str) -> Cow<'_, str> {
    if !value.contains('&') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp + 1..];
        match numeric(rest).or_else(|| named(rest)) {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `#123;` or `#x7B;` (the `;` optional) at the start of `s`: the character and the length
/// read.
fn numeric(s: &str) -> Option<(char, usize)> {
    let body = s.strip_prefix('#')?;
    let (radix, digits_at) = match body.as_bytes().first() {
        Some(b'x' | b'X') => (16, 2),
        _ => (10, 1),
    };
    let digits = s[digits_at..]
        .bytes()
        .take_while(|b| (*b as char).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    let code = s[digits_at..digits_at + digits].bytes().fold(0u32, |n, b| {
        let d = (b as char).to_digit(radix).unwrap_or(0);
        n.saturating_mul(radix).saturating_add(d)
    });
    let mut len = digits_at + digits;
    if s[len..].starts_with(';') {
        len += 1;
    }
    let c = match code {
        0x80..=0x9f => WINDOWS_1252[(code - 0x80) as usize],
        0 => '\u{fffd}',
        code => char::from_u32(code).unwrap_or('\u{fffd}'),
    };
    Some((c, len))
}

/// The longest named reference at the start of `s`.
fn named(s: &str) -> Option<(char, usize)> {
    let (name, c) = NAMED
        .iter()
        .filter(|(name, _)| s.starts_with(name))
        .max_by_key(|(name, _)| name.len())?;
    if !name.ends_with(';') {
        // In an attribute, a legacy reference without `;` followed by an alphanumeric or
        // `=` is text (`?a=1&copy=2` keeps its `&copy`).
        let next = s[name.len()..].chars().next();
        if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '=') {
            return None;
        }
    }
    Some((*c, name.len()))
}

/// What `&#128;` to `&#159;` mean (the HTML standard's table; unassigned codes stay).
const WINDOWS_1252: [char; 32] = [
    '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}', '\u{178}',
];

/// The named references decoded, as the standard spells them (with `;`, or legacy without).
const NAMED: &[(&str, char)] = &[
    ("amp;", '&'),
    ("amp", '&'),
    ("AMP;", '&'),
    ("AMP", '&'),
    ("lt;", '<'),
    ("lt", '<'),
    ("LT;", '<'),
    ("LT", '<'),
    ("gt;", '>'),
    ("gt", '>'),
    ("GT;", '>'),
    ("GT", '>'),
    ("quot;", '"'),
    ("quot", '"'),
    ("QUOT;", '"'),
    ("QUOT", '"'),
    ("nbsp;", '\u{a0}'),
    ("nbsp", '\u{a0}'),
    ("copy;", '©'),
    ("copy", '©'),
    ("COPY;", '©'),
    ("COPY", '©'),
    ("reg;", '®'),
    ("reg", '®'),
    ("REG;", '®'),
    ("REG", '®'),
    ("apos;", '\''),
    ("Tab;", '\t'),
    ("NewLine;", '\n'),
    ("excl;", '!'),
    ("num;", '#'),
    ("dollar;", '$'),
    ("percnt;", '%'),
    ("lpar;", '('),
    ("rpar;", ')'),
    ("ast;", '*'),
    ("midast;", '*'),
    ("plus;", '+'),
    ("comma;", ','),
    ("period;", '.'),
    ("sol;", '/'),
    ("colon;", ':'),
    ("semi;", ';'),
    ("equals;", '='),
    ("quest;", '?'),
    ("commat;", '@'),
    ("lsqb;", '['),
    ("lbrack;", '['),
    ("bsol;", '\\'),
    ("rsqb;", ']'),
    ("rbrack;", ']'),
    ("Hat;", '^'),
    ("lowbar;", '_'),
    ("UnderBar;", '_'),
    ("grave;", '`'),
    ("DiacriticalGrave;", '`'),
    ("lcub;", '{'),
    ("lbrace;", '{'),
    ("verbar;", '|'),
    ("vert;", '|'),
    ("VerticalLine;", '|'),
    ("rcub;", '}'),
    ("rbrace;", '}'),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_an_attribute_value() {
        let cases = [
            ("http://a.test/x", "http://a.test/x"),
            ("/q?a=1&amp;b=2", "/q?a=1&b=2"),
            ("/q?a=1&amp&b=2", "/q?a=1&&b=2"),
            ("/q?a=1&ampb=2", "/q?a=1&ampb=2"),
            ("/q?a=1&amp=2", "/q?a=1&amp=2"),
            ("/q?a=1&copy=2", "/q?a=1&copy=2"),
            ("/q?a=1&copy;=2", "/q?a=1©=2"),
            ("http&#58;//a", "http://a"),
            ("http&#x3A;//a", "http://a"),
            ("http&#X3a//a", "http://a"),
            ("&#104;ttp&colon;&sol;&sol;a", "http://a"),
            (
                "&#0;&#xD800;&#x110000;&#99999999999999;",
                "\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
            ),
            ("&#128;&#x9F;", "\u{20ac}\u{178}"),
            ("&#;&#x;&;&unknown;&", "&#;&#x;&;&unknown;&"),
            ("&lt&gt;&quot&apos;", "<>\"'"),
            ("&amp;amp;", "&amp;"),
            ("é&amp;ü", "é&ü"),
        ];
        for (value, want) in cases {
            assert_eq!(decode_attribute(value), want, "value {value:?}");
        }
    }
}
