//! The processes of a benchmark run: spawned each in its own process group, logged to files,
//! measured from `/proc` or `/usr/bin/time -v`, and always killed — a `Proc` that is dropped
//! while its process runs kills its whole group, so an error path leaves nothing behind.

use anyhow::{Context, bail};
use bench::procfs::{self, Usage};
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A child process we own.
pub struct Proc {
    pub role: String,
    child: Child,
    done: Option<ExitStatus>,
}

impl Proc {
    /// Spawn `cmd` in a new process group, stdout to `out`, stderr to `err`.
    pub fn spawn(role: &str, cmd: &mut Command, out: &Path, err: &Path) -> anyhow::Result<Proc> {
        let stdout = File::create(out).with_context(|| format!("create {}", out.display()))?;
        let stderr = File::create(err).with_context(|| format!("create {}", err.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .with_context(|| format!("start {role}: {cmd:?}"))?;
        Ok(Proc {
            role: role.to_owned(),
            child,
            done: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU so far and peak RSS, from `/proc` (while the process runs).
    pub fn usage(&self, ticks_per_s: u64) -> anyhow::Result<Usage> {
        let pid = self.pid();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("{} (pid {pid}) is gone", self.role))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("{} (pid {pid}) is gone", self.role))?;
        procfs::from_proc(&stat, &status, ticks_per_s)
            .with_context(|| format!("unreadable /proc/{pid}/stat or status"))
    }

    /// Whether it has exited (and its status).
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        if self.done.is_none() {
            self.done = self.child.try_wait()?;
        }
        Ok(self.done)
    }

    /// Wait for it to exit, at most `limit`; `Err` on time-out (the process is then killed
    /// when dropped).
    pub fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(s) = self.exited()? {
                return Ok(s);
            }
            if start.elapsed() > limit {
                bail!("{} still running after {limit:?}", self.role);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send `signal` (`TERM`, `INT`) to the process, wait up to `grace`, then kill its group.
    pub fn stop(&mut self, signal: &str, grace: Duration) {
        if matches!(self.exited(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status();
        if self.wait(grace).is_err() {
            self.kill_group();
        }
    }

    fn kill_group(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.pid())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        self.done = self.child.wait().ok();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !matches!(self.exited(), Ok(Some(_))) {
            self.kill_group();
        } else {
            // The leader is gone; anything it left in its group goes too.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.pid())])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Clock ticks per second (`getconf CLK_TCK`), for `/proc/PID/stat`.
pub fn ticks_per_s() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Poll `ready` every 100 ms until it says yes, at most `limit`.
pub fn wait_until(
    what: &str,
    limit: Duration,
    mut ready: impl FnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        if ready()? {
            return Ok(());
        }
        if start.elapsed() > limit {
            bail!("{what}: not ready after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `redis-server` of our own: loopback, a free port, no persistence.
pub struct Redis {
    pub proc: Proc,
    pub port: u16,
    tls: Option<RedisTls>,
}

/// Redis over TLS with a password: its certificate, the CA, the password and its file.
#[derive(Clone, Debug)]
pub struct RedisTls {
    pub cert: (PathBuf, PathBuf),
    pub ca: PathBuf,
    pub password: String,
    pub password_file: PathBuf,
}

/// The TLS set-up of a `cluster-W-tls` run, as across machines: a cluster CA (the test
/// farm's [`farm::ClusterCa`]), server certificates for Redis and the coordinator, an
/// operator's client certificate for `scanctl`, and the Redis password in a file.
pub struct Secure {
    ca: PathBuf,
    redis: RedisTls,
    coordinator: (PathBuf, PathBuf),
    admin: (PathBuf, PathBuf),
}

impl Secure {
    pub fn new(dir: &Path) -> anyhow::Result<Secure> {
        let dir = dir.join("secure");
        std::fs::create_dir_all(&dir)?;
        let ca = farm::ClusterCa::new(&dir).context("the cluster CA")?;
        let loopback = [std::net::IpAddr::from([127, 0, 0, 1])];
        let mut random = [0u8; 16];
        std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut random)?;
        let password: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let password_file = dir.join("redis-password");
        std::fs::write(&password_file, format!("{password}\n"))?;
        Ok(Secure {
            redis: RedisTls {
                cert: ca
                    .server("redis", &loopback, &[])
                    .context("redis certificate")?,
                ca: ca.ca_path(),
                password,
                password_file,
            },
            coordinator: ca
                .server("coordinator", &loopback, &[])
                .context("coordinator certificate")?,
            admin: ca
                .client("admin", "admin", Some("operator"))
                .context("client certificate")?,
            ca: ca.ca_path(),
        })
    }

    pub fn redis(&self) -> RedisTls {
        self.redis.clone()
    }

    /// The coordinator's TLS flags (mutual TLS: the operator's certificate is the caller).
    pub fn coordinator_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.coordinator.0.display().to_string(),
            "--tls-key".into(),
            self.coordinator.1.display().to_string(),
            "--client-ca".into(),
            self.ca.display().to_string(),
        ]
    }

    /// The coordinator's and the workers' Redis TLS and password flags.
    pub fn redis_client_args(&self) -> Vec<String> {
        vec![
            "--redis-ca".into(),
            self.ca.display().to_string(),
            "--redis-password-file".into(),
            self.redis.password_file.display().to_string(),
        ]
    }

    /// `scanctl`'s TLS flags.
    pub fn scanctl_args(&self) -> Vec<String> {
        vec![
            "--coordinator-ca".into(),
            self.ca.display().to_string(),
            "--client-cert".into(),
            self.admin.0.display().to_string(),
            "--client-key".into(),
            self.admin.1.display().to_string(),
        ]
    }
}

impl Redis {
    /// Start it on a free loopback port; with `tls`, a TLS port only and a password (an
    /// ACL file for the default user).
    pub fn start(dir: &Path, tls: Option<RedisTls>) -> anyhow::Result<Redis> {
        let port = free_port()?;
        let mut cmd = Command::new("redis-server");
        match &tls {
            None => {
                cmd.args(["--port", &port.to_string()]);
            }
            Some(t) => {
                let acl = dir.join("users.acl");
                std::fs::write(
                    &acl,
                    format!("user default on >{} ~* &* +@all\n", t.password),
                )?;
                cmd.args(["--port", "0", "--tls-port", &port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(&t.cert.0)
                    .arg("--tls-key-file")
                    .arg(&t.cert.1)
                    .arg("--tls-ca-cert-file")
                    .arg(&t.ca)
                    .args(["--tls-auth-clients", "no"])
                    .arg("--aclfile")
                    .arg(&acl);
            }
        }
        cmd.args(["--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .arg("--dir")
            .arg(dir);
        let proc = Proc::spawn(
            "redis-server",
            &mut cmd,
            &dir.join("redis.out"),
            &dir.join("redis.err"),
        )?;
        let mut redis = Redis { proc, port, tls };
        let limit = Duration::from_secs(10);
        wait_until("redis-server", limit, || {
            if let Some(s) = redis.proc.exited()? {
                bail!("redis-server exited at start ({s}); see {}", dir.display());
            }
            Ok(redis.cli(&["PING"]).is_ok_and(|r| r.trim() == "PONG"))
        })?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("rediss://127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// Run one command through `redis-cli`, its reply as text.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut cmd = Command::new("redis-cli");
        if let Some(t) = &self.tls {
            cmd.arg("--tls")
                .arg("--cacert")
                .arg(&t.ca)
                .env("REDISCLI_AUTH", &t.password);
        }
        let out = cmd
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("redis-cli")?;
        if !out.status.success() {
            bail!(
                "redis-cli {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// Where the workspace's binaries are.
pub struct Bins {
    pub dir: PathBuf,
}

impl Bins {
    pub fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        let p = self.dir.join(name);
        if !p.is_file() {
            bail!(
                "{} not found: build the release binaries first: \
                 cargo build --release -p scanctl -p scan-coordinator -p scan-worker -p scan-farm",
                p.display()
            );
        }
        Ok(p)
    }
}
