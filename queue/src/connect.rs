//! What it takes to reach Redis besides its URL: the TLS material for a `rediss://` URL
//! (the CA that signed the server's certificate, and a client certificate if Redis asks
//! for one) and a password kept out of the URL. The binaries read them from files
//! ([`Credentials::read`]); here they are only bytes, never printed (`Debug` says whether
//! each is set, nothing more).

use std::fmt;
use std::path::Path;

/// TLS material for `rediss://`, as PEM bytes.
#[derive(Clone, Default)]
pub struct Tls {
    /// The CA certificate(s) to verify the server with; `None`: the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate chain and its key, for a Redis with `tls-auth-clients yes`.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

/// The password and TLS material of a connection.
#[derive(Clone, Default)]
pub struct Credentials {
    /// Replaces the URL's password (which then must have none).
    pub password: Option<String>,
    pub tls: Tls,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca", &self.tls.ca_pem.is_some())
            .field("client_cert", &self.tls.client.is_some())
            .finish()
    }
}

/// The files a binary was given (`--redis-ca`, `--redis-client-cert`,
/// `--redis-client-key`, `--redis-password-file`).
#[derive(Debug, Clone, Copy, Default)]
pub struct CredentialFiles<'a> {
    pub ca: Option<&'a Path>,
    pub client_cert: Option<&'a Path>,
    pub client_key: Option<&'a Path>,
    pub password: Option<&'a Path>,
}

fn read(flag: &str, path: &Path) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{flag} {}: {e}", path.display())))
}

impl Credentials {
    /// Read the files: the password is the password file's first line (trailing spaces and
    /// the newline dropped).
    pub fn read(files: CredentialFiles<'_>) -> std::io::Result<Credentials> {
        let client = match (files.client_cert, files.client_key) {
            (Some(cert), Some(key)) => Some((
                read("--redis-client-cert", cert)?,
                read("--redis-client-key", key)?,
            )),
            (None, None) => None,
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "--redis-client-cert and --redis-client-key go together",
                ));
            }
        };
        let password = match files.password {
            Some(path) => {
                let text =
                    String::from_utf8(read("--redis-password-file", path)?).map_err(|_| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("--redis-password-file {}: not UTF-8", path.display()),
                        )
                    })?;
                let line = text.lines().next().unwrap_or("").trim_end().to_owned();
                if line.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("--redis-password-file {}: empty", path.display()),
                    ));
                }
                Some(line)
            }
            None => None,
        };
        Ok(Credentials {
            password,
            tls: Tls {
                ca_pem: files.ca.map(|p| read("--redis-ca", p)).transpose()?,
                client,
            },
        })
    }

    /// Whether any TLS material was given (then the URL must be `rediss://`).
    pub fn has_tls(&self) -> bool {
        self.tls.ca_pem.is_some() || self.tls.client.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_gives_its_first_line_and_debug_hides_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret-pw  \nignored\n").unwrap();
        let c = Credentials::read(CredentialFiles {
            password: Some(&path),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.password.as_deref(), Some("s3cret-pw"));
        assert!(!c.has_tls());
        assert!(!format!("{c:?}").contains("s3cret"));
        std::fs::write(&path, "\n").unwrap();
        assert!(
            Credentials::read(CredentialFiles {
                password: Some(&path),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "x").unwrap();
        let err = Credentials::read(CredentialFiles {
            client_cert: Some(&cert),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
    }
}
