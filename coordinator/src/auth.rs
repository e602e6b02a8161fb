//! Who may call the coordinator, and for what.
//!
//! A caller is known by its client certificate (mTLS: `--client-ca`) and/or by a bearer
//! token (`--auth-tokens FILE`: `TOKEN,NAME,ROLE` per line). Roles:
//!
//! | role | may call |
//! |---|---|
//! | `viewer` | `ListJobs`, `GetJob`, `WatchJob`, `StreamResults`, `GetReport` |
//! | `operator` | the viewer's calls, and `SubmitJob`, `CancelJob`, `DeleteJob` |
//!
//! With tokens, the token names the caller and gives the role (a client certificate, when
//! required too, is a second factor: its subject is logged beside the token's name). With
//! client certificates alone, the role is the certificate subject's organizational unit
//! (`OU=operator`; any other or none is `viewer`). With neither (loopback, or
//! `--insecure-no-auth`) every caller is an anonymous operator. The gRPC health service is
//! open to all: it tells whether the coordinator serves, nothing else.
//!
//! Tokens are kept as SHA-256 digests and compared in constant time; a token is never
//! logged, not even in an error about the file that holds it. [`Layer`] checks every call
//! before it reaches the service and logs it with the caller's name.

use crate::Error;
use futures::future::{Either, Ready, ready};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use subtle::ConstantTimeEq;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// The role a gRPC method needs; `None` for the open health service. Unknown methods need
/// the operator role (deny by default).
pub fn needed(path: &str) -> Option<Role> {
    if path.starts_with("/grpc.health.v1.Health/") {
        return None;
    }
    match path.strip_prefix("/govscan.v1.ScanService/") {
        Some("ListJobs" | "GetJob" | "WatchJob" | "StreamResults" | "GetReport") => {
            Some(Role::Viewer)
        }
        _ => Some(Role::Operator),
    }
}

/// Why a token file was refused (the token itself is never part of the message).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokensError {
    #[error("line {line}: expected TOKEN,NAME,ROLE")]
    Shape { line: usize },
    #[error("line {line}: the token is shorter than {MIN_TOKEN} characters")]
    Short { line: usize },
    #[error("line {line}: role {role:?} is neither viewer nor operator")]
    Role { line: usize, role: String },
    #[error("line {line}: the same token as line {first}")]
    Duplicate { line: usize, first: usize },
    #[error("no token in the file")]
    Empty,
}

/// The shortest token accepted (e.g. `openssl rand -hex 32` makes 64 characters).
pub const MIN_TOKEN: usize = 16;

struct Entry {
    digest: [u8; 32],
    name: String,
    role: Role,
}

/// The bearer tokens of `--auth-tokens`, as digests.
pub struct Tokens {
    entries: Vec<Entry>,
}

fn digest(token: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl Tokens {
    /// Parse `TOKEN,NAME,ROLE` lines; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Tokens, TokensError> {
        let mut entries: Vec<(usize, Entry)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let raw = raw.trim();
            if raw.is_empty() || raw.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
            let [token, name, role] = fields[..] else {
                return Err(TokensError::Shape { line });
            };
            if name.is_empty() {
                return Err(TokensError::Shape { line });
            }
            if token.len() < MIN_TOKEN {
                return Err(TokensError::Short { line });
            }
            let role = Role::parse(role).ok_or_else(|| TokensError::Role {
                line,
                role: role.to_owned(),
            })?;
            let digest = digest(token.as_bytes());
            if let Some((first, _)) = entries.iter().find(|(_, e)| e.digest == digest) {
                return Err(TokensError::Duplicate {
                    line,
                    first: *first,
                });
            }
            entries.push((
                line,
                Entry {
                    digest,
                    name: name.to_owned(),
                    role,
                },
            ));
        }
        if entries.is_empty() {
            return Err(TokensError::Empty);
        }
        Ok(Tokens {
            entries: entries.into_iter().map(|(_, e)| e).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The name and role of `presented`. Every entry is compared, in constant time, on
    /// digests of equal length: how long this takes says nothing about the tokens.
    pub fn find(&self, presented: &[u8]) -> Option<(&str, Role)> {
        let presented = digest(presented);
        let mut found = None;
        for e in &self.entries {
            if bool::from(e.digest.ct_eq(&presented)) {
                found = Some((e.name.as_str(), e.role));
            }
        }
        found
    }
}

/// Who called, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name and/or `cert CN`, or `anonymous`.
    pub name: String,
    pub role: Role,
}

/// The checks of every call: the tokens (re-readable) and whether client certificates are
/// required (then the TLS layer has verified one before any call).
pub struct Policy {
    tokens: Option<RwLock<Arc<Tokens>>>,
    client_certs: bool,
}

impl Policy {
    pub fn new(tokens: Option<Tokens>, client_certs: bool) -> Policy {
        Policy {
            tokens: tokens.map(|t| RwLock::new(Arc::new(t))),
            client_certs,
        }
    }

    /// Whether any caller is checked at all.
    pub fn authenticates(&self) -> bool {
        self.tokens.is_some() || self.client_certs
    }

    /// Replace the tokens (SIGHUP); `false` when the policy has none to replace.
    pub fn replace_tokens(&self, tokens: Tokens) -> bool {
        match &self.tokens {
            Some(lock) => {
                *lock.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tokens);
                true
            }
            None => false,
        }
    }

    /// Check a call: who it is, and whether its role allows `path`.
    pub fn check(
        &self,
        path: &str,
        authorization: Option<&[u8]>,
        peer_certs: Option<&[tonic::transport::CertificateDer<'static>]>,
    ) -> Result<Caller, tonic::Status> {
        let Some(needed) = needed(path) else {
            return Ok(Caller {
                name: "anonymous".into(),
                role: Role::Viewer,
            });
        };
        let cert = if self.client_certs {
            let subject = peer_certs
                .and_then(|c| c.first())
                .and_then(|der| Subject::of(der))
                .ok_or_else(|| Error::Unauthenticated("no client certificate".into()))?;
            Some(subject)
        } else {
            None
        };
        let caller = match (&self.tokens, cert) {
            (Some(lock), cert) => {
                let tokens = Arc::clone(&lock.read().unwrap_or_else(|e| e.into_inner()));
                let presented = authorization
                    .and_then(|v| v.strip_prefix(b"Bearer "))
                    .ok_or_else(|| {
                        Error::Unauthenticated(
                            "this coordinator needs a bearer token (scanctl --token-file)".into(),
                        )
                    })?;
                let (name, role) = tokens
                    .find(presented)
                    .ok_or_else(|| Error::Unauthenticated("unknown token".into()))?;
                let name = match cert {
                    Some(c) => format!("{name} (cert {})", c.common_name),
                    None => name.to_owned(),
                };
                Caller { name, role }
            }
            (None, Some(cert)) => Caller {
                name: format!("cert {}", cert.common_name),
                role: cert.role,
            },
            (None, None) => Caller {
                name: "anonymous".into(),
                role: Role::Operator,
            },
        };
        if caller.role < needed {
            return Err(Error::PermissionDenied(format!(
                "{} is a {}: {} needs the {} role",
                caller.name,
                caller.role.as_str(),
                method_name(path),
                needed.as_str()
            ))
            .into());
        }
        Ok(caller)
    }
}

fn method_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What the coordinator reads of a client certificate.
struct Subject {
    common_name: String,
    role: Role,
}

impl Subject {
    fn of(der: &[u8]) -> Option<Subject> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or("(no CN)")
            .to_owned();
        let role = if subject
            .iter_organizational_unit()
            .any(|ou| ou.as_str().ok() == Some("operator"))
        {
            Role::Operator
        } else {
            Role::Viewer
        };
        Some(Subject { common_name, role })
    }
}

/// The tower layer in front of every service: checks each call with the [`Policy`] and
/// logs it (method, caller, peer), never its credentials.
#[derive(Clone)]
pub struct Layer(pub Arc<Policy>);

impl<S> tower::Layer<S> for Layer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            policy: Arc::clone(&self.0),
        }
    }
}

/// The service [`Layer`] makes.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    policy: Arc<Policy>,
}

fn peer<B>(
    req: &http::Request<B>,
) -> (Option<SocketAddr>, Option<&TlsConnectInfo<TcpConnectInfo>>) {
    let ext = req.extensions();
    match ext.get::<TlsConnectInfo<TcpConnectInfo>>() {
        Some(tls) => (tls.get_ref().remote_addr(), Some(tls)),
        None => (
            ext.get::<TcpConnectInfo>().and_then(|i| i.remote_addr()),
            None,
        ),
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for Guard<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<S::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path().to_owned();
        let (addr, tls) = peer(&req);
        let certs = tls.and_then(|t| t.peer_certs());
        let authorization = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let peer = addr.map(|a| a.to_string()).unwrap_or_default();
        match self
            .policy
            .check(&path, authorization, certs.as_ref().map(|c| c.as_slice()))
        {
            Ok(caller) => {
                if needed(&path).is_some() {
                    tracing::info!(method = %method_name(&path), caller = %caller.name, role = %caller.role.as_str(), %peer, "call");
                }
                Either::Left(self.inner.call(req))
            }
            Err(status) => {
                tracing::warn!(method = %method_name(&path), %peer, refused = %status.message(), "call refused");
                Either::Right(ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: &str = "op-0123456789abcdef";
    const VIEW: &str = "view-0123456789abcdef";

    fn tokens() -> Tokens {
        Tokens::parse(&format!(
            "# who may call\n{OP},alice,operator\n\n {VIEW} , bob , viewer\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_token_file_names_each_caller_and_role() {
        let t = tokens();
        assert_eq!(t.len(), 2);
        assert_eq!(t.find(OP.as_bytes()), Some(("alice", Role::Operator)));
        assert_eq!(t.find(VIEW.as_bytes()), Some(("bob", Role::Viewer)));
        assert_eq!(t.find(b"op-0123456789abcdeX"), None);
        assert_eq!(t.find(b""), None);
    }

    #[test]
    fn bad_token_files_are_refused_without_showing_the_token() {
        let err = |text: &str| Tokens::parse(text).err().unwrap();
        assert_eq!(err("x,y\n"), TokensError::Shape { line: 1 });
        assert_eq!(err("short,alice,viewer\n"), TokensError::Short { line: 1 });
        assert_eq!(
            err(&format!("{OP},alice,admin")),
            TokensError::Role {
                line: 1,
                role: "admin".into()
            }
        );
        assert_eq!(
            err(&format!("{OP},alice,operator\n{OP},eve,viewer")),
            TokensError::Duplicate { line: 2, first: 1 }
        );
        assert_eq!(err("# nothing\n"), TokensError::Empty);
        let shown = err(&format!("{OP},,operator")).to_string();
        assert!(!shown.contains(OP), "{shown}");
    }

    #[test]
    fn methods_need_the_role_of_what_they_do() {
        let s = |m: &str| format!("/govscan.v1.ScanService/{m}");
        for m in [
            "ListJobs",
            "GetJob",
            "WatchJob",
            "StreamResults",
            "GetReport",
        ] {
            assert_eq!(needed(&s(m)), Some(Role::Viewer), "{m}");
        }
        for m in ["SubmitJob", "CancelJob", "DeleteJob", "SomethingNew"] {
            assert_eq!(needed(&s(m)), Some(Role::Operator), "{m}");
        }
        assert_eq!(needed("/grpc.health.v1.Health/Check"), None);
        assert_eq!(needed("/other.Service/Call"), Some(Role::Operator));
    }

    #[test]
    fn tokens_decide_who_calls_and_what_they_may_do() {
        let policy = Policy::new(Some(tokens()), false);
        let cancel = "/govscan.v1.ScanService/CancelJob";
        let get = "/govscan.v1.ScanService/GetJob";
        let bearer = |t: &str| format!("Bearer {t}").into_bytes();
        let code = |r: Result<Caller, tonic::Status>| r.err().map(|s| s.code());
        assert_eq!(
            policy
                .check(cancel, Some(bearer(OP).as_slice()), None)
                .unwrap(),
            Caller {
                name: "alice".into(),
                role: Role::Operator
            }
        );
        assert!(
            policy
                .check(get, Some(bearer(VIEW).as_slice()), None)
                .is_ok()
        );
        assert_eq!(
            code(policy.check(cancel, Some(bearer(VIEW).as_slice()), None)),
            Some(tonic::Code::PermissionDenied)
        );
        assert_eq!(
            code(policy.check(get, Some(bearer("wrong-0123456789abcdef").as_slice()), None)),
            Some(tonic::Code::Unauthenticated)
        );
        assert_eq!(
            code(policy.check(get, None, None)),
            Some(tonic::Code::Unauthenticated)
        );
        assert!(
            policy
                .check("/grpc.health.v1.Health/Check", None, None)
                .is_ok()
        );
        // SIGHUP: the new file replaces the old one.
        let new = Tokens::parse(&format!("{VIEW},bob,operator")).unwrap();
        assert!(policy.replace_tokens(new));
        assert!(
            policy
                .check(cancel, Some(bearer(VIEW).as_slice()), None)
                .is_ok()
        );
        assert_eq!(
            code(policy.check(get, Some(bearer(OP).as_slice()), None)),
            Some(tonic::Code::Unauthenticated)
        );
    }

    fn certificate(cn: &str, ou: Option<&str>) -> tonic::transport::CertificateDer<'static> {
        let mut p = rcgen::CertificateParams::default();
        p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        if let Some(ou) = ou {
            p.distinguished_name
                .push(rcgen::DnType::OrganizationalUnitName, ou);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn with_client_certificates_alone_the_subject_names_the_caller_and_its_role() {
        let policy = Policy::new(None, true);
        let cancel = "/govscan.v1.ScanService/CancelJob";
        let admin = [certificate("admin", Some("operator"))];
        let auditor = [certificate("auditor", Some("audit"))];
        assert_eq!(
            policy.check(cancel, None, Some(&admin[..])).unwrap(),
            Caller {
                name: "cert admin".into(),
                role: Role::Operator
            }
        );
        let refused = policy.check(cancel, None, Some(&auditor[..])).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert!(
            refused.message().contains("cert auditor is a viewer"),
            "{refused:?}"
        );
        assert!(
            policy
                .check("/govscan.v1.ScanService/GetJob", None, Some(&auditor[..]))
                .is_ok()
        );
        // With tokens too, the token decides the role; the certificate is named beside it.
        let policy = Policy::new(Some(tokens()), true);
        let caller = policy
            .check(
                cancel,
                Some(format!("Bearer {VIEW}").as_bytes()),
                Some(&admin[..]),
            )
            .unwrap_err();
        assert!(
            caller.message().contains("bob (cert admin) is a viewer"),
            "{caller:?}"
        );
    }

    #[test]
    fn without_any_check_callers_are_anonymous_operators() {
        let policy = Policy::new(None, false);
        assert!(!policy.authenticates());
        let caller = policy
            .check("/govscan.v1.ScanService/DeleteJob", None, None)
            .unwrap();
        assert_eq!(caller.role, Role::Operator);
        // Client certificates required, none seen: refused.
        let policy = Policy::new(None, true);
        assert_eq!(
            policy
                .check("/govscan.v1.ScanService/GetJob", None, None)
                .unwrap_err()
                .code(),
            tonic::Code::Unauthenticated
        );
    }
}
