//! The Strict-Transport-Security header (RFC 6797), parsed as Chrome and Firefox do.
//!
//! The grammar is `[directive] *(";" [directive])`, a directive being
//! `token [= (token | quoted-string)]` with optional whitespace around each part. Directive
//! names are case-insensitive; `max-age` is required and must be decimal digits (a quoted
//! value is allowed); `includeSubDomains` takes no value; `max-age` or `includeSubDomains`
//! twice makes the header invalid, as does a directive that is not well formed. Unknown
//! directives are ignored, so `preload` (not in the RFC, but read by the preload list) is
//! reported without being required to appear once.

/// A parsed Strict-Transport-Security value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hsts {
    /// `max-age` in seconds (saturated at `u64::MAX` when the header gives more digits).
    pub max_age: u64,
    pub include_subdomains: bool,
    pub preload: bool,
}

/// Why a header value is not valid HSTS (a browser then ignores it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no max-age directive")]
    MissingMaxAge,
    #[error("invalid max-age {0:?}")]
    InvalidMaxAge(String),
    #[error("directive {0:?} appears twice")]
    Duplicate(String),
    /// A directive that is not `token [= token | quoted-string]`.
    #[error("malformed directive {0:?}")]
    Malformed(String),
    /// `includeSubDomains` takes no value.
    #[error("directive {0:?} takes no value")]
    UnexpectedValue(String),
}

/// Parse a header value as a browser does.
pub fn parse(value: &str) -> Result<Hsts, Error> {
    let mut hsts = Hsts::default();
    let mut max_age_seen = false;
    let mut include_subdomains_seen = false;
    let mut rest = value;
    loop {
        let (directive, next) = directive(rest)?;
        if let Some((name, value)) = directive {
            if name.eq_ignore_ascii_case("max-age") {
                if max_age_seen {
                    return Err(Error::Duplicate(name.to_owned()));
                }
                max_age_seen = true;
                hsts.max_age = max_age(value.as_deref())?;
            } else if name.eq_ignore_ascii_case("includesubdomains") {
                if include_subdomains_seen {
                    return Err(Error::Duplicate(name.to_owned()));
                }
                if value.is_some() {
                    return Err(Error::UnexpectedValue(name.to_owned()));
                }
                include_subdomains_seen = true;
                hsts.include_subdomains = true;
            } else if name.eq_ignore_ascii_case("preload") {
                hsts.preload = true;
            }
        }
        match next {
            Some(next) => rest = next,
            None => break,
        }
    }
    if !max_age_seen {
        return Err(Error::MissingMaxAge);
    }
    Ok(hsts)
}

/// A directive: its name and value (unquoted), if any.
type Directive<'a> = Option<(&'a str, Option<String>)>;

/// Read one (possibly empty) directive from the start of `input`, up to and including the
/// `;` that ends it. Returns the directive and what follows the `;` (`None` at the end).
fn directive(input: &str) -> Result<(Directive<'_>, Option<&str>), Error> {
    let malformed = || {
        let end = input.find(';').unwrap_or(input.len());
        Error::Malformed(input[..end].trim_matches(is_space).to_owned())
    };
    let s = input.trim_start_matches(is_space);
    let name_len = s.find(|c: char| !is_token_char(c)).unwrap_or(s.len());
    let (name, s) = s.split_at(name_len);
    let s = s.trim_start_matches(is_space);
    if name.is_empty() {
        // Only an empty directive may have no name.
        return match s.strip_prefix(';') {
            Some(next) => Ok((None, Some(next))),
            None if s.is_empty() => Ok((None, None)),
            None => Err(malformed()),
        };
    }
    let (value, s) = match s.strip_prefix('=') {
        None => (None, s),
        Some(s) => {
            let s = s.trim_start_matches(is_space);
            let (value, s) = if let Some(quoted) = s.strip_prefix('"') {
                quoted_string(quoted).ok_or_else(malformed)?
            } else {
                let len = s.find(|c: char| !is_token_char(c)).unwrap_or(s.len());
                if len == 0 {
                    return Err(malformed());
                }
                (s[..len].to_owned(), &s[len..])
            };
            (Some(value), s.trim_start_matches(is_space))
        }
    };
    let directive = Some((name, value));
    match s.strip_prefix(';') {
        Some(next) => Ok((directive, Some(next))),
        None if s.is_empty() => Ok((directive, None)),
        None => Err(malformed()),
    }
}

/// The body of a quoted-string (after the opening quote): its unescaped value and what
/// follows the closing quote; `None` when it never closes.
fn quoted_string(input: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &input[i + 1..])),
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

fn max_age(value: Option<&str>) -> Result<u64, Error> {
    let value = value.unwrap_or_default();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidMaxAge(value.to_owned()));
    }
    // Browsers clamp an over-long max-age rather than reject it.
    Ok(value.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// RFC 7230 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(max_age: u64, include_subdomains: bool, preload: bool) -> Result<Hsts, Error> {
        Ok(Hsts {
            max_age,
            include_subdomains,
            preload,
        })
    }

    #[test]
    fn parses_like_a_browser() {
        let cases: &[(&str, Result<Hsts, Error>)] = &[
            ("max-age=31536000", ok(31_536_000, false, false)),
            (
                "max-age=63072000; includeSubDomains; preload",
                ok(63_072_000, true, true),
            ),
            ("MAX-AGE=10;INCLUDESUBDOMAINS", ok(10, true, false)),
            (
                "  max-age = 300 ;  includeSubDomains  ",
                ok(300, true, false),
            ),
            ("\tmax-age=5\t", ok(5, false, false)),
            ("max-age=\"31536000\"", ok(31_536_000, false, false)),
            ("max-age=\"3\\1\"", ok(31, false, false)),
            ("max-age=0", ok(0, false, false)),
            ("max-age=86400", ok(86_400, false, false)),
            ("max-age=0031536000", ok(31_536_000, false, false)),
            (
                "max-age=99999999999999999999999999",
                ok(u64::MAX, false, false),
            ),
            (";;max-age=1;;", ok(1, false, false)),
            ("max-age=1; foo=bar; baz; qux=\"a;b\"", ok(1, false, false)),
            ("preload; max-age=1; preload", ok(1, false, true)),
            ("includeSubDomains; max-age=7", ok(7, true, false)),
            ("", Err(Error::MissingMaxAge)),
            ("   ", Err(Error::MissingMaxAge)),
            ("includeSubDomains; preload", Err(Error::MissingMaxAge)),
            ("maxage=100", Err(Error::MissingMaxAge)),
            ("max-age", Err(Error::InvalidMaxAge(String::new()))),
            ("max-age=", Err(Error::Malformed("max-age=".into()))),
            ("max-age=\"\"", Err(Error::InvalidMaxAge(String::new()))),
            ("max-age=-1", Err(Error::InvalidMaxAge("-1".into()))),
            ("max-age=+1", Err(Error::InvalidMaxAge("+1".into()))),
            ("max-age=1.5", Err(Error::InvalidMaxAge("1.5".into()))),
            ("max-age=abc", Err(Error::InvalidMaxAge("abc".into()))),
            (
                "max-age=1; max-age=2",
                Err(Error::Duplicate("max-age".into())),
            ),
            (
                "max-age=1; includeSubDomains; includesubdomains",
                Err(Error::Duplicate("includesubdomains".into())),
            ),
            (
                "max-age=1; includeSubDomains=yes",
                Err(Error::UnexpectedValue("includeSubDomains".into())),
            ),
            ("max-age=1 2", Err(Error::Malformed("max-age=1 2".into()))),
            ("max-age=\"1", Err(Error::Malformed("max-age=\"1".into()))),
            (
                "max-age=1, max-age=2",
                Err(Error::Malformed("max-age=1, max-age=2".into())),
            ),
            ("max age=1", Err(Error::Malformed("max age=1".into()))),
            ("=1; max-age=1", Err(Error::Malformed("=1".into()))),
            ("max-age=1; \u{7f}", Err(Error::Malformed("\u{7f}".into()))),
        ];
        for (value, want) in cases {
            assert_eq!(&parse(value), want, "header {value:?}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "\"",
            "\\",
            "max-age=\"\\",
            "max-age=\"\\\"",
            "é=ü; max-age=1",
            "max-age=１２",
            "\0\0\0",
            ";=;=;",
        ];
        for input in inputs {
            assert!(parse(input).is_err(), "{input:?}");
        }
        // Every prefix of a well-formed header, cut at any char boundary.
        let header = "max-age=\"31536000\"; includeSubDomains; preload; ext=\"x\\\"y\"";
        for (i, _) in header.char_indices() {
            let _ = parse(&header[..i]);
        }
    }
}
