//! The coordinator's front door: its TLS and client-authentication flags, read into a
//! [`Gate`] (server TLS configuration and the [`Policy`] of every call), and the rule that
//! anything listening off loopback speaks TLS and checks who calls.

use crate::auth::{Policy, Tokens, TokensError};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// Longest a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The flags (`SCAN_COORDINATOR_*` environment variables too). Key and token files are
/// read, never logged.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct GateArgs {
    /// Serve gRPC over TLS with this certificate chain (PEM, leaf first).
    #[arg(
        long,
        env = "SCAN_COORDINATOR_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(
        long,
        env = "SCAN_COORDINATOR_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Require a client certificate issued by this CA (PEM): mutual TLS. Needs --tls-cert.
    /// Without --auth-tokens, a certificate whose subject has OU=operator may submit, cancel
    /// and delete; any other is a viewer.
    #[arg(
        long,
        env = "SCAN_COORDINATOR_CLIENT_CA",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub client_ca: Option<PathBuf>,
    /// Bearer tokens, one `TOKEN,NAME,ROLE` per line (ROLE: viewer or operator); re-read on
    /// SIGHUP. Every call then needs one (scanctl --token-file).
    #[arg(long, env = "SCAN_COORDINATOR_AUTH_TOKENS", value_name = "FILE")]
    pub auth_tokens: Option<PathBuf>,
    /// Serve a non-loopback --listen without TLS and client authentication (anyone who
    /// reaches the port may submit, read and cancel). For a private test network only.
    #[arg(long, env = "SCAN_COORDINATOR_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
}

/// Why the gate could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    #[error("{flag} {}: {source}", path.display())]
    Read {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--auth-tokens {}: {source}", path.display())]
    Tokens {
        path: PathBuf,
        #[source]
        source: TokensError,
    },
    #[error(
        "refusing to serve {addr} (not loopback) {why}: give --tls-cert/--tls-key and \
         --client-ca and/or --auth-tokens, or --insecure-no-auth to accept anyone"
    )]
    Exposed { addr: SocketAddr, why: &'static str },
}

/// The server TLS configuration (if any) and the policy of every call.
#[derive(Clone)]
pub struct Gate {
    pub tls: Option<ServerTlsConfig>,
    pub policy: Arc<Policy>,
    tokens_file: Option<PathBuf>,
}

impl Gate {
    /// No TLS, no checks: every caller is an anonymous operator (loopback).
    pub fn open() -> Gate {
        Gate {
            tls: None,
            policy: Arc::new(Policy::new(None, false)),
            tokens_file: None,
        }
    }

    /// Check that serving on `addr` is allowed: off loopback, TLS and a check of the
    /// caller (client certificates or tokens) are required, unless `insecure`.
    pub fn check_exposure(&self, addr: SocketAddr, insecure: bool) -> Result<(), GateError> {
        if addr.ip().is_loopback() || insecure {
            return Ok(());
        }
        let why = match (self.tls.is_some(), self.policy.authenticates()) {
            (true, true) => return Ok(()),
            (false, false) => "with neither TLS nor client authentication",
            (false, true) => "without TLS (tokens would cross the network in clear)",
            (true, false) => "without client authentication (anyone could submit and cancel)",
        };
        Err(GateError::Exposed { addr, why })
    }

    /// Read the token file again (SIGHUP). Returns how many tokens are now in force;
    /// on an error the tokens in force stay.
    pub fn reload_tokens(&self) -> Result<Option<usize>, GateError> {
        let Some(path) = &self.tokens_file else {
            return Ok(None);
        };
        let tokens = read_tokens(path)?;
        let n = tokens.len();
        self.policy.replace_tokens(tokens);
        Ok(Some(n))
    }
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, GateError> {
    std::fs::read(path).map_err(|source| GateError::Read {
        flag,
        path: path.to_owned(),
        source,
    })
}

fn read_tokens(path: &Path) -> Result<Tokens, GateError> {
    let text = String::from_utf8_lossy(&read("--auth-tokens", path)?).into_owned();
    Tokens::parse(&text).map_err(|source| GateError::Tokens {
        path: path.to_owned(),
        source,
    })
}

impl GateArgs {
    /// Read the files the flags name.
    pub fn load(&self) -> Result<Gate, GateError> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                let identity =
                    Identity::from_pem(read("--tls-cert", cert)?, read("--tls-key", key)?);
                let mut tls = ServerTlsConfig::new()
                    .identity(identity)
                    .timeout(HANDSHAKE_TIMEOUT);
                if let Some(ca) = &self.client_ca {
                    tls = tls.client_ca_root(Certificate::from_pem(read("--client-ca", ca)?));
                }
                Some(tls)
            }
            _ => None,
        };
        let tokens = self.auth_tokens.as_deref().map(read_tokens).transpose()?;
        Ok(Gate {
            tls,
            policy: Arc::new(Policy::new(tokens, self.client_ca.is_some())),
            tokens_file: self.auth_tokens.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn off_loopback_an_open_coordinator_refuses_to_start() {
        let open = Gate::open();
        assert!(open.check_exposure(addr("127.0.0.1:50051"), false).is_ok());
        assert!(open.check_exposure(addr("[::1]:50051"), false).is_ok());
        let err = open
            .check_exposure(addr("0.0.0.0:50051"), false)
            .unwrap_err();
        assert!(err.to_string().contains("--insecure-no-auth"), "{err}");
        assert!(open.check_exposure(addr("10.0.0.5:50051"), true).is_ok());
    }

    #[test]
    fn tokens_without_tls_are_not_enough_off_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "0123456789abcdef0123,alice,operator\n").unwrap();
        let gate = GateArgs {
            auth_tokens: Some(path.clone()),
            ..Default::default()
        }
        .load()
        .unwrap();
        let err = gate
            .check_exposure(addr("10.0.0.5:50051"), false)
            .unwrap_err();
        assert!(err.to_string().contains("without TLS"), "{err}");
        assert!(gate.check_exposure(addr("127.0.0.1:1"), false).is_ok());
        // A broken file on reload keeps the tokens in force.
        std::fs::write(&path, "short,alice,operator\n").unwrap();
        assert!(gate.reload_tokens().is_err());
        assert!(
            gate.policy
                .check(
                    "/govscan.v1.ScanService/CancelJob",
                    Some(&b"Bearer 0123456789abcdef0123"[..]),
                    None
                )
                .is_ok()
        );
    }
}
