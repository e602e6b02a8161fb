//! The secure set-up of a [`crate::cluster::Cluster`] (`Cluster::builder().secure()`):
//! everything off the plain loopback address speaks TLS and checks who calls, as in
//! `deploy/README.md`.
//!
//! - a CA made by the farm ([`farm::ClusterCa`]), a server certificate for Redis
//!   (`127.120.0.1`) and for the coordinator (`127.120.0.2`), client certificates for an
//!   operator (`CN=admin`) and a viewer (`CN=auditor`);
//! - Redis with the repository's own `deploy/redis/tls.conf` (a TLS port only) and ACL file
//!   (`deploy/redis/users.acl`, its password digests filled in): a `govscan-coordinator`
//!   and a `govscan-worker` user, the default user off;
//! - the coordinator with `--tls-cert`, `--client-ca` and `--auth-tokens`; its Redis
//!   password and the workers' from `--redis-password-file`;
//! - `scanctl` as one of the [`Identity`]s.

use farm::ClusterCa;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// Redis's address in the secure cluster (this crate's range: 127.120.0.0/16–127.124.0.0/16).
pub const REDIS_HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 120, 0, 1));
/// The coordinator's address in the secure cluster.
pub const COORDINATOR_HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 120, 0, 2));

/// Who `scanctl` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The admin's certificate and an operator token.
    Operator,
    /// The auditor's certificate and a viewer token.
    Viewer,
    /// An operator token, but no client certificate.
    NoCertificate,
    /// The admin's certificate and a token the coordinator does not know.
    WrongToken,
    /// An `http://` URL and no TLS flags at all.
    Plaintext,
}

/// The files of the secure set-up, in one directory.
pub struct Secure {
    /// Redis's and the coordinator's addresses (their certificates name them).
    pub redis_host: IpAddr,
    pub coordinator_host: IpAddr,
    ca: ClusterCa,
    dir: PathBuf,
    redis_cert: (PathBuf, PathBuf),
    coordinator_cert: (PathBuf, PathBuf),
    admin_cert: (PathBuf, PathBuf),
    auditor_cert: (PathBuf, PathBuf),
    /// The passwords of the two Redis users (for the "never in a log" check).
    pub coordinator_password: String,
    pub worker_password: String,
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("a file of the secure set-up");
    path.to_owned()
}

fn sha256_hex(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random secret of 32 hex characters.
fn secret() -> String {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file of the repository's `deploy/`.
pub fn deploy_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

impl Secure {
    /// Make the CA, certificates, tokens, passwords and the ACL file under `dir`, for Redis
    /// on [`REDIS_HOST`] and the coordinator on [`COORDINATOR_HOST`].
    pub fn new(dir: &Path) -> Secure {
        Secure::for_hosts(dir, REDIS_HOST, COORDINATOR_HOST)
    }

    /// [`Secure::new`] for Redis on `redis_host` and the coordinator on `coordinator_host`.
    pub fn for_hosts(dir: &Path, redis_host: IpAddr, coordinator_host: IpAddr) -> Secure {
        let dir = dir.join("secure");
        std::fs::create_dir_all(&dir).expect("the secure directory");
        let ca = ClusterCa::new(&dir).expect("the cluster CA");
        let redis_cert = ca
            .server("redis", &[redis_host], &["redis.govscan.test"])
            .expect("redis certificate");
        let coordinator_cert = ca
            .server(
                "coordinator",
                &[coordinator_host],
                &["coordinator.govscan.test"],
            )
            .expect("coordinator certificate");
        let admin_cert = ca
            .client("admin", "admin", Some("operator"))
            .expect("admin certificate");
        let auditor_cert = ca
            .client("auditor", "auditor", None)
            .expect("auditor certificate");
        let secure = Secure {
            redis_host,
            coordinator_host,
            coordinator_password: secret(),
            worker_password: secret(),
            ca,
            dir,
            redis_cert,
            coordinator_cert,
            admin_cert,
            auditor_cert,
        };
        let acl = std::fs::read_to_string(deploy_file("redis/users.acl"))
            .expect("deploy/redis/users.acl");
        let acl = acl
            .replace(
                "COORDINATOR_PASSWORD_SHA256",
                &sha256_hex(&secure.coordinator_password),
            )
            .replace(
                "WORKER_PASSWORD_SHA256",
                &sha256_hex(&secure.worker_password),
            );
        write(&secure.dir.join("users.acl"), &acl);
        write(
            &secure.dir.join("coordinator-redis-password"),
            &format!("{}\n", secure.coordinator_password),
        );
        write(
            &secure.dir.join("worker-redis-password"),
            &format!("{}\n", secure.worker_password),
        );
        secure.write_tokens("viewer");
        for id in [Identity::Operator, Identity::Viewer, Identity::WrongToken] {
            write(&secure.token_file(id), &format!("{}\n", secure.token(id)));
        }
        secure
    }

    /// Write the coordinator's `--auth-tokens` file: alice an operator, bob (the
    /// [`Identity::Viewer`] token) with `bob_role`. The coordinator reads it again on SIGHUP.
    pub fn write_tokens(&self, bob_role: &str) {
        write(
            &self.dir.join("tokens"),
            &format!(
                "# TOKEN,NAME,ROLE\n{},alice,operator\n{},bob,{bob_role}\n",
                self.token(Identity::Operator),
                self.token(Identity::Viewer)
            ),
        );
    }

    /// The tokens are derived from the Redis passwords (random per run).
    fn token(&self, id: Identity) -> String {
        match id {
            Identity::Viewer => format!("viewer-{}", self.worker_password),
            Identity::WrongToken => format!("wrong-{}", self.worker_password),
            _ => format!("operator-{}", self.coordinator_password),
        }
    }

    fn token_file(&self, id: Identity) -> PathBuf {
        self.dir.join(format!("{id:?}.token").to_lowercase())
    }

    /// `redis-server` arguments: the repository's `deploy/redis/tls.conf` (TLS only, no
    /// plaintext port; the ACL file), its addresses and file paths replaced by this set-up's.
    pub fn redis_args(&self, port: u16) -> Vec<OsString> {
        vec![
            deploy_file("redis/tls.conf").into(),
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string().into(),
            "--bind".into(),
            self.redis_host.to_string().into(),
            "--tls-cert-file".into(),
            self.redis_cert.0.clone().into(),
            "--tls-key-file".into(),
            self.redis_cert.1.clone().into(),
            "--tls-ca-cert-file".into(),
            self.ca.ca_path().into(),
            "--aclfile".into(),
            self.dir.join("users.acl").into(),
        ]
    }

    /// The coordinator's Redis URL (no password: that is in a file).
    pub fn coordinator_redis(&self, port: u16) -> String {
        format!("rediss://govscan-coordinator@{}:{port}", self.redis_host)
    }

    /// A worker's Redis URL (no password: that is in a file).
    pub fn worker_redis(&self, port: u16) -> String {
        format!("rediss://govscan-worker@{}:{port}", self.redis_host)
    }

    /// The coordinator's flags: TLS, client certificates, tokens, Redis TLS and password.
    pub fn coordinator_args(&self) -> Vec<OsString> {
        vec![
            "--tls-cert".into(),
            self.coordinator_cert.0.clone().into(),
            "--tls-key".into(),
            self.coordinator_cert.1.clone().into(),
            "--client-ca".into(),
            self.ca.ca_path().into(),
            "--auth-tokens".into(),
            self.dir.join("tokens").into(),
            "--redis-ca".into(),
            self.ca.ca_path().into(),
            "--redis-password-file".into(),
            self.dir.join("coordinator-redis-password").into(),
        ]
    }

    /// A worker's flags: Redis TLS and password.
    pub fn worker_args(&self) -> Vec<OsString> {
        vec![
            "--redis-ca".into(),
            self.ca.ca_path().into(),
            "--redis-password-file".into(),
            self.dir.join("worker-redis-password").into(),
        ]
    }

    /// The coordinator's URL and `scanctl`'s TLS flags as `id`.
    pub fn scanctl_args(&self, id: Identity, port: u16) -> Vec<OsString> {
        let host = self.coordinator_host;
        if id == Identity::Plaintext {
            return vec![
                "--coordinator".into(),
                format!("http://{host}:{port}").into(),
            ];
        }
        let mut args: Vec<OsString> = vec![
            "--coordinator".into(),
            format!("https://{host}:{port}").into(),
            "--coordinator-ca".into(),
            self.ca.ca_path().into(),
            "--token-file".into(),
            self.token_file(match id {
                Identity::NoCertificate => Identity::Operator,
                other => other,
            })
            .into(),
        ];
        let cert = match id {
            Identity::NoCertificate => None,
            Identity::Viewer => Some(&self.auditor_cert),
            _ => Some(&self.admin_cert),
        };
        if let Some((cert, key)) = cert {
            args.extend([
                "--client-cert".into(),
                cert.clone().into(),
                "--client-key".into(),
                key.clone().into(),
            ]);
        }
        args
    }
}
