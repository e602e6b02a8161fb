//! The Strict-Transport-Security header (RFC 6797).
//! (Interface fixed; implementation in progress.)

/// A parsed Strict-Transport-Security value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Hsts {
    /// `max-age` in seconds.
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
}

/// Parse a header value as a browser does.
pub fn parse(value: &str) -> Result<Hsts, Error> {
    let _ = value;
    Err(Error::MissingMaxAge)
}
