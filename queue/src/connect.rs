//! How to reach Redis: [`Queue::connect`] with [`ConnectOptions`], and what it takes besides
//! the URL: the TLS material for a `rediss://` URL (the CA that signed the server's
//! certificate, and a client certificate if Redis asks for one) and a password kept out of
//! the URL. The binaries read them from files
//! ([`Credentials::read`]); here they are only bytes, never printed (`Debug` says whether
//! each is set, nothing more).

use crate::{Error, Queue, Result};
use redis::aio::ConnectionManagerConfig;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Key prefix (several deployments can share one Redis).
    pub prefix: String,
    /// The longest a command may take before it fails (a blocking read adds its block time).
    pub response_timeout: Duration,
    /// The longest a connection attempt may take.
    pub connect_timeout: Duration,
    /// A password kept out of the URL, and TLS material for a `rediss://` URL.
    pub credentials: Credentials,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            prefix: "govscan".into(),
            response_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            credentials: Credentials::default(),
        }
    }
}
impl Queue {
    /// A handle that connects lazily and reconnects by itself: it never fails because
    /// Redis is down right now (commands fail instead, and [`Error::is_transient`] says so).
    ///
    /// A `rediss://` URL speaks TLS, verified with the credentials' CA (else the system's
    /// roots); TLS material with a plain `redis://` URL is an error, never a silent
    /// downgrade.
    pub fn connect(url: &str, options: &ConnectOptions) -> Result<Queue> {
        use redis::IntoConnectionInfo;
        let mut info = url.into_connection_info()?;
        let tls = matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. });
        if let Some(password) = &options.credentials.password {
            if info.redis_settings().password().is_some() {
                return Err(Error::Config(
                    "a password both in the Redis URL and in a password file".into(),
                ));
            }
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = if tls {
            let creds = &options.credentials.tls;
            redis::Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: creds
                        .client
                        .as_ref()
                        .map(|(cert, key)| redis::ClientTlsConfig {
                            client_cert: cert.clone(),
                            client_key: key.clone(),
                        }),
                    root_cert: creds.ca_pem.clone(),
                },
            )?
        } else if options.credentials.has_tls() {
            return Err(Error::Config(
                "TLS files (--redis-ca, --redis-client-cert) need a rediss:// URL".into(),
            ));
        } else {
            redis::Client::open(info)?
        };
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(options.response_timeout))
            .set_connection_timeout(Some(options.connect_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(2));
        let conn = client.get_connection_manager_lazy(config)?;
        Ok(Queue {
            conn,
            prefix: options.prefix.clone(),
        })
    }
}

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
