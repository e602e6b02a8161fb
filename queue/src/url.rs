//! The Redis URL as the binaries take it: from a flag, or from a file (a systemd credential,
//! `LoadCredential=`) so a password never appears in argv or an environment file; and
//! redacted for logs.

use std::path::Path;

/// The URL in `path`: its first line that is neither empty nor a `#` comment.
pub fn read_url_file(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} holds no Redis URL", path.display()),
            )
        })
}

/// The Redis URL a binary was given: the one in `file` when there is one
/// ([`read_url_file`]), else `flag`.
pub fn choose_url(flag: &str, file: Option<&Path>) -> std::io::Result<String> {
    match file {
        Some(path) => read_url_file(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("--redis-file {}: {e}", path.display()))
        }),
        None => Ok(flag.to_owned()),
    }
}

/// `url` with its password replaced by `***` (the user stays: `rediss://worker:***@host`),
/// for logs and error messages. Userinfo without a `:` is a user name (the password then
/// comes from `--redis-password-file`) and is shown.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some(("", _)) => format!("{scheme}://***@{}", &rest[at + 1..]),
        Some((user, _)) => format!("{scheme}://{user}:***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("redis://:s3cret@10.0.0.5:6379/0"),
            "redis://***@10.0.0.5:6379/0"
        );
        assert_eq!(redact("redis://user:pw@h:1"), "redis://user:***@h:1");
        assert_eq!(
            redact("rediss://worker:p@ss:w0rd@redis.internal:6380"),
            "rediss://worker:***@redis.internal:6380"
        );
        assert_eq!(
            redact("rediss://govscan-worker@h:1"),
            "rediss://govscan-worker@h:1"
        );
        assert_eq!(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn the_first_url_line_of_a_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redis-url");
        std::fs::write(&path, "# the queue\n\n  redis://:pw@h:6379 \n").unwrap();
        assert_eq!(read_url_file(&path).unwrap(), "redis://:pw@h:6379");
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(read_url_file(&path).is_err());
    }
}
