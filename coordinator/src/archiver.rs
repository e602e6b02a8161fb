//! Archiving finished jobs into PostgreSQL (`scan-coordinator --archive URL`).
//!
//! A task beside the server looks for jobs that are done every `--archive-interval` and
//! writes each one's results to the archive (one transaction per job, keyed `job:<id>`).
//! It keeps no state that matters: a job archived before is recognised by the database, so
//! a restart, a second coordinator or a second pass over the same job changes nothing. When
//! the database is away the task logs it and tries again on the next round; the queue keeps
//! the results until then.

use archive::{Archive, Begin, ScanMeta, Tls};
use queue::{JobInfo, JobState, Queue};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// Results read from Redis and written to PostgreSQL per round trip.
const BATCH: u64 = 1000;

/// The archive flags of `scan-coordinator`.
#[derive(Debug, Clone, clap::Args)]
pub struct ArchiveArgs {
    /// Archive every finished job into this PostgreSQL database
    /// (postgres://USER@HOST:PORT/DB[?sslmode=require]; no password in it).
    #[arg(long, env = "SCAN_COORDINATOR_ARCHIVE", value_name = "URL")]
    pub archive: Option<String>,
    /// The database password, read from this file (else from PGPASSWORD).
    #[arg(
        long,
        env = "SCAN_COORDINATOR_ARCHIVE_PASSWORD_FILE",
        value_name = "FILE"
    )]
    pub archive_password_file: Option<PathBuf>,
    /// Also trust this CA (PEM) for TLS to the database.
    #[arg(long, env = "SCAN_COORDINATOR_ARCHIVE_CA_FILE", value_name = "PEM")]
    pub archive_ca_file: Option<PathBuf>,
    /// How often to look for finished jobs to archive.
    #[arg(long, env = "SCAN_COORDINATOR_ARCHIVE_INTERVAL", default_value = "5s", value_parser = queue::parse_duration)]
    pub archive_interval: Duration,
}

/// Where and how to archive, validated.
#[derive(Clone)]
pub struct Settings {
    pub url: String,
    pub password: Option<String>,
    pub tls: Tls,
    pub interval: Duration,
}

impl ArchiveArgs {
    /// The settings, with the password and CA files read; `None` without `--archive`.
    /// `env_password` is PGPASSWORD as the binary read it.
    pub fn settings(&self, env_password: Option<String>) -> Result<Option<Settings>, String> {
        let Some(url) = &self.archive else {
            return Ok(None);
        };
        let password = match &self.archive_password_file {
            Some(path) => Some(read_password(path)?),
            None => env_password,
        };
        let mut tls = Tls::default();
        if let Some(path) = &self.archive_ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            tls = tls.with_ca_pem(&pem).map_err(|e| e.to_string())?;
        }
        Ok(Some(Settings {
            url: url.clone(),
            password,
            tls,
            interval: self.archive_interval,
        }))
    }
}

/// A password file's first line.
pub fn read_password(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// Archive finished jobs until `shutdown`.
pub async fn run(queue: Queue, settings: Settings, shutdown: CancellationToken) {
    let mut db: Option<Archive> = None;
    // Jobs known to be in the archive, so that each round asks the database only about new ones.
    let mut archived: HashSet<String> = HashSet::new();
    loop {
        if db.is_none() {
            db = connect(&settings).await;
        }
        if let Some(archive) = db.as_mut()
            && let Err(e) = round(&queue, archive, &mut archived, &shutdown).await
        {
            tracing::warn!("archive: {e}; retrying in {:?}", settings.interval);
            db = None;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(settings.interval) => {}
        }
    }
}

async fn connect(settings: &Settings) -> Option<Archive> {
    match archive::connect(&settings.url, settings.password.as_deref(), &settings.tls).await {
        Ok(mut a) => match a.migrate().await {
            Ok(applied) => {
                if !applied.is_empty() {
                    tracing::info!(?applied, "archive: schema migrated");
                }
                Some(a)
            }
            Err(e) => {
                tracing::warn!("archive: migrating the schema: {e}");
                None
            }
        },
        Err(e) => {
            tracing::warn!("archive: cannot connect: {e}");
            None
        }
    }
}

/// One pass: archive every done job not archived yet.
async fn round(
    queue: &Queue,
    db: &mut Archive,
    archived: &mut HashSet<String>,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let jobs = queue
        .jobs()
        .await
        .map_err(|e| format!("listing jobs: {e}"))?;
    for job in jobs {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        let id = job.id.to_string();
        if job.state != JobState::Done || archived.contains(&id) {
            continue;
        }
        archive_job(queue, db, &job).await?;
        archived.insert(id);
    }
    Ok(())
}

/// Write one job's results, unless the archive has it already.
pub async fn archive_job(queue: &Queue, db: &mut Archive, job: &JobInfo) -> Result<(), String> {
    let id = job.id.to_string();
    let meta = ScanMeta {
        source: format!("job:{id}"),
        name: if job.name.is_empty() {
            id.clone()
        } else {
            job.name.clone()
        },
        fingerprint: id.clone(),
        started: time_of(job.created_ms),
        finished: time_of(job.finished_ms),
        scanner_version: env!("CARGO_PKG_VERSION").to_owned(),
        settings: serde_json::json!({ "job": id, "label": job.label, "sites": job.total }),
    };
    let mut writer = match db.begin(&meta).await.map_err(|e| e.to_string())? {
        Begin::Already(_) => return Ok(()),
        Begin::New(w) => w,
    };
    let mut from = 0;
    while from < job.total {
        let page = queue
            .results(&job.id, from, BATCH)
            .await
            .map_err(|e| format!("reading results of {id}: {e}"))?;
        let mut batch = Vec::with_capacity(page.len());
        for (index, json) in page {
            let value: serde_json::Value = serde_json::from_str(&json)
                .map_err(|e| format!("stored result {index} of {id}: {e}"))?;
            batch.push((i32::try_from(index).unwrap_or(i32::MAX), value));
        }
        writer.add(&batch).await.map_err(|e| e.to_string())?;
        from += BATCH;
    }
    let outcome = writer.finish().await.map_err(|e| e.to_string())?;
    tracing::info!(job = %id, name = %job.name, ?outcome, "archived");
    Ok(())
}

fn time_of(unix_ms: u64) -> Option<OffsetDateTime> {
    if unix_ms == 0 {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000).ok()
}
