//! A real PostgreSQL for tests, one database per test.
//!
//! The machine's server on 127.0.0.1:5432 when it answers (trust auth, as CI sets it up);
//! else a server of our own: `initdb` in a temp dir and `pg_ctl start` on a free loopback
//! port, as the `postgres` user (PostgreSQL refuses to run as root), stopped when the test
//! ends. Each test gets a fresh database with a unique name, dropped at the end. The
//! binaries are found on PATH or under `/usr/lib/postgresql/*/bin`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A database that exists for one test.
pub struct TestDb {
    pub host: String,
    pub port: u16,
    pub name: String,
    server: Option<OwnServer>,
}

struct OwnServer {
    dir: tempfile::TempDir,
    pg_ctl: PathBuf,
}

impl OwnServer {
    /// `pg_ctl start|restart`, waiting until the server accepts connections.
    fn pg_ctl(&self, action: &str) {
        let out = as_postgres(
            Command::new(&self.pg_ctl)
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-w", "-l"])
                .arg(self.dir.path().join("log"))
                .arg(action),
        )
        .output()
        .unwrap_or_else(|e| panic!("pg_ctl {action}: {e}"));
        assert!(
            out.status.success(),
            "pg_ctl {action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(Command::new(&self.pg_ctl).arg("-D").arg(&data).args([
            "-m",
            "immediate",
            "-w",
            "stop",
        ]))
        .output();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.server.is_none() {
            let _ = self.psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
            );
        }
    }
}

/// The directory of the PostgreSQL server binaries.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v pg_ctl"])
        .output()
        && out.status.success()
    {
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let p = std::fs::canonicalize(&p).unwrap_or(p);
        return p.parent().map(Path::to_path_buf);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn as_postgres(cmd: &mut Command) -> &mut Command {
    // As root, run the server tools as `postgres`; as anyone else, as themselves.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        let program = cmd.get_program().to_owned();
        let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
        let mut wrapped = Command::new("runuser");
        wrapped
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        *cmd = wrapped;
    }
    cmd
}

fn reachable(host: &str, port: u16) -> bool {
    Command::new("psql")
        .args([
            "-h",
            host,
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
        ])
        .args(["-Atc", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "3")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("govscan_test_{}_{nanos}", std::process::id())
}

impl TestDb {
    /// A fresh database on the machine's server, or on a server of our own.
    pub fn create() -> TestDb {
        Self::create_with(false)
    }

    /// Always on a server of our own (for server settings a test needs, such as TLS).
    pub fn create_own() -> TestDb {
        Self::create_with(true)
    }

    fn create_with(own: bool) -> TestDb {
        let name = unique_name();
        let (host, port, server) = if !own && reachable("127.0.0.1", 5432) {
            ("127.0.0.1".to_owned(), 5432, None)
        } else {
            let (port, server) = start_own_server();
            ("127.0.0.1".to_owned(), port, Some(server))
        };
        let db = TestDb {
            host,
            port,
            name,
            server,
        };
        db.psql("postgres", &format!("CREATE DATABASE \"{}\"", db.name))
            .expect("create the test database");
        db
    }

    /// The URL the binaries take (TLS off: the machine's server has a self-signed
    /// certificate for its own name).
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@{}:{}/{}?sslmode=disable",
            self.host, self.port, self.name
        )
    }

    /// The data directory of our own server, for tests that configure it.
    pub fn own_data_dir(&self) -> Option<PathBuf> {
        self.server.as_ref().map(|s| s.dir.path().join("data"))
    }

    /// Run SQL with psql on `database`; the unaligned, tuples-only output.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = Command::new("psql")
            .args([
                "-h",
                &self.host,
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// SQL on this test's database.
    pub fn query(&self, sql: &str) -> String {
        self.psql(&self.name, sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Restart our own server (after changing its configuration).
    pub fn restart_own(&self) {
        self.server
            .as_ref()
            .expect("our own server")
            .pg_ctl("restart");
    }
}

fn start_own_server() -> (u16, OwnServer) {
    let bin = bin_dir().expect("PostgreSQL server binaries (apt-get install postgresql)");
    let dir = tempfile::Builder::new()
        .prefix("govscan-pg")
        .tempdir()
        .expect("temp dir");
    // The server runs as `postgres`: it must own its directory.
    let _ = Command::new("chown")
        .args(["-R", "postgres"])
        .arg(dir.path())
        .status();
    let data = dir.path().join("data");
    let out = as_postgres(Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
    ]))
    .output()
    .expect("initdb");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = crate::cluster::free_port();
    let conf = format!(
        "\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nfsync = off\nsynchronous_commit = off\n",
        dir.path().display()
    );
    let conf_path = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf_path).expect("postgresql.conf");
    text.push_str(&conf);
    std::fs::write(&conf_path, text).expect("postgresql.conf");
    let server = OwnServer {
        pg_ctl: bin.join("pg_ctl"),
        dir,
    };
    server.pg_ctl("start");
    (port, server)
}
