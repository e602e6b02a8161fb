//! `scanctl submit|status|watch|results|jobs|cancel|delete`: the cluster, through a
//! coordinator.
//!
//! Results are streamed: `results` writes each as it arrives (JSON Lines and CSV hold
//! nothing), and `report --job` / `diff --jobs` keep only what a report reads of each site
//! ([`for_report`]), so a client reads a national job in bounded memory.
//!
//! Output discipline: what a script needs goes to stdout (the job id alone for `submit`,
//! results for `results`); progress and messages go to stderr. Exit codes follow `main`:
//! 2 for input errors and unknown jobs, 1 when the coordinator cannot be reached or the job
//! was cancelled, 0 otherwise.

use crate::UsageError;
pub use crate::connect::Coordinator;
use crate::connect::connect;
use crate::output::{Format, Sink};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use model::SiteResult;
use proto::v1;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Sites per SubmitJob message.
const CHUNK: usize = 1000;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Submit a site list to the cluster; prints the job id alone on stdout.
    Submit(SubmitArgs),
    /// A job's progress now.
    Status(StatusArgs),
    /// Follow a job's progress live; exits 0 when it is done.
    Watch(JobArgs),
    /// A job's per-site results (JSON Lines: the same objects as `scanctl scan`).
    Results(ResultsArgs),
    /// Every job the coordinator knows, newest first.
    Jobs(Coordinator),
    /// Cancel a job: its sites not scanned yet get a `scan_failed` "job cancelled" result.
    Cancel(JobArgs),
    /// Delete an ended job and its results from the cluster now (a running job: cancel it
    /// first). Ended jobs are otherwise kept for the coordinator's --retain-finished.
    Delete(JobArgs),
}

#[derive(clap::Args)]
pub struct SubmitArgs {
    /// The site list: CSV `agency,category,parent,url` or one URL/host per line.
    pub file: PathBuf,
    /// A name for the job (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
    /// A free-form label kept with the job.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Follow the job with a live progress bar until it is done.
    #[arg(long)]
    pub wait: bool,
    /// Submit the valid lines even when some lines of the list are bad (they are listed).
    #[arg(long)]
    pub skip_invalid: bool,
    /// How the job's sites are judged: the flags of `scanctl scan`, carried by the job
    /// (files read here) and applied by every worker, capped by the worker's own limits.
    #[command(flatten)]
    pub settings: engine::flags::SettingsFlags,
    #[command(flatten)]
    pub coordinator: Coordinator,
}

#[derive(clap::Args)]
pub struct JobArgs {
    /// The job id `scanctl submit` printed.
    pub job: String,
    #[command(flatten)]
    pub coordinator: Coordinator,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    /// The job id `scanctl submit` printed.
    pub job: String,
    /// One JSON object instead of a line of text (for scripts).
    #[arg(long)]
    pub json: bool,
    /// Add the aggregate of the results so far: per category and per finding code.
    #[arg(long)]
    pub report: bool,
    #[command(flatten)]
    pub coordinator: Coordinator,
}

#[derive(clap::Args)]
pub struct ResultsArgs {
    /// The job id `scanctl submit` printed.
    pub job: String,
    /// Output format (default: a table on a terminal, JSON Lines otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write results to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub coordinator: Coordinator,
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Submit(args) => submit(args).await,
        Command::Status(args) => {
            let c = &args.coordinator;
            let mut client = connect(c).await?;
            let status = client
                .get_job(v1::GetJobRequest {
                    job_id: args.job.clone(),
                })
                .await
                .map_err(|s| rpc_error(s, c, &args.job))?
                .into_inner();
            let report = if args.report {
                Some(
                    client
                        .get_report(v1::GetReportRequest {
                            job_id: args.job.clone(),
                        })
                        .await
                        .map_err(|s| rpc_error(s, c, &args.job))?
                        .into_inner(),
                )
            } else {
                None
            };
            if args.json {
                let mut json = status_json(&status);
                if let Some(r) = &report {
                    json["report"] = report_json(r);
                }
                println!("{json}");
            } else {
                println!("{}", describe(&status));
                if let Some(r) = &report {
                    println!("{}", report_table(r));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch(args) => watch(&args.coordinator, &args.job, true).await,
        Command::Results(args) => results(args).await,
        Command::Jobs(args) => jobs(&args).await,
        Command::Cancel(args) => {
            let mut client = connect(&args.coordinator).await?;
            let status = client
                .cancel_job(v1::CancelJobRequest {
                    job_id: args.job.clone(),
                })
                .await
                .map_err(|s| rpc_error(s, &args.coordinator, &args.job))?
                .into_inner();
            eprintln!("scanctl: {}", describe(&status));
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete(args) => {
            let c = &args.coordinator;
            let mut client = connect(c).await?;
            let status = client
                .delete_job(v1::DeleteJobRequest {
                    job_id: args.job.clone(),
                })
                .await
                .map_err(|s| match s.code() {
                    tonic::Code::FailedPrecondition => UsageError(format!(
                        "job {} is not ended: cancel it first ({})",
                        args.job,
                        s.message()
                    ))
                    .into(),
                    _ => rpc_error(s, c, &args.job),
                })?
                .into_inner();
            eprintln!(
                "scanctl: deleted job {} ({}, {} results)",
                status.job_id, status.name, status.done
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A failed RPC in words, as a usage error (exit 2) when the job id is wrong.
fn rpc_error(status: tonic::Status, c: &Coordinator, job: &str) -> anyhow::Error {
    if let Some(e) = crate::connect::explain(c, &status) {
        return e;
    }
    let url = &c.coordinator;
    match status.code() {
        tonic::Code::NotFound => {
            UsageError(format!("no job {job:?} at the coordinator {url}")).into()
        }
        tonic::Code::InvalidArgument => UsageError(status.message().to_owned()).into(),
        tonic::Code::Unavailable => {
            anyhow::anyhow!(
                "cannot reach the coordinator at {url}: {}",
                status.message()
            )
        }
        _ => anyhow::anyhow!("the coordinator at {url} answered: {}", status.message()),
    }
}

async fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let list = crate::scan::read_list(&args.file, args.skip_invalid)?;
    let settings = args
        .settings
        .to_settings()
        .map_err(|e| UsageError(e.to_string()))?;
    // The digest every result scanned with these settings carries (as `scanctl scan`
    // computes it: the same flags give the same digest).
    let mut config = engine::Config::default();
    config
        .apply(&settings)
        .map_err(|e| UsageError(e.to_string()))?;
    let settings_digest = config.settings_digest();
    let c = &args.coordinator;
    let mut client = connect(c).await?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let header = v1::SubmitJobRequest {
        part: Some(v1::submit_job_request::Part::Header(v1::JobHeader {
            name,
            options: Some(v1::JobOptions {
                label: args.label.clone(),
            }),
            settings: Some(v1::ScanSettings::from(&settings)),
            settings_digest,
        })),
    };
    let total = list.sites.len();
    // Built lazily: only one chunk of wire messages exists at a time.
    let sites = std::sync::Arc::new(list.sites);
    let chunks = total.div_ceil(CHUNK);
    let messages =
        futures::stream::iter(std::iter::once(header).chain((0..chunks).map(move |i| {
            v1::SubmitJobRequest {
                part: Some(v1::submit_job_request::Part::Sites(v1::SiteChunk {
                    sites: sites[i * CHUNK..((i + 1) * CHUNK).min(sites.len())]
                        .iter()
                        .map(v1::Site::from)
                        .collect(),
                })),
            }
        })));
    let response = client
        .submit_job(messages)
        .await
        .map_err(|s| rpc_error(s, c, ""))?
        .into_inner();
    println!("{}", response.job_id);
    eprintln!(
        "scanctl: job {} submitted: {} sites in {} shards",
        response.job_id, response.sites, response.shards
    );
    debug_assert_eq!(response.sites as usize, total);
    if args.wait {
        return watch(c, &response.job_id, true).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Follow a job until it ends: a progress bar on a terminal, a line per update otherwise.
async fn watch(c: &Coordinator, job: &str, bar: bool) -> anyhow::Result<ExitCode> {
    let url = &c.coordinator;
    let mut stream = open_watch(c, job).await?;
    let terminal = bar && console::Term::stderr().is_term();
    let progress = if terminal {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} sites · {msg}",
        )
        .expect("valid template"),
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let mut last: Option<v1::JobStatus> = None;
    loop {
        match stream.message().await {
            Ok(Some(status)) => {
                progress.set_length(status.total);
                progress.set_position(status.done);
                progress.set_message(format!(
                    "{:.1}/s · {} in flight · {} queued · {} failed · {} workers",
                    status.rate,
                    status.in_flight,
                    status.queued,
                    status.failed,
                    status.workers_active
                ));
                if !terminal {
                    eprintln!("scanctl: {}", describe(&status));
                }
                last = Some(status);
            }
            Ok(None) => break,
            // The coordinator went away mid-watch (a restart): the job goes on without it,
            // so reconnect for a while rather than give up.
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
                ) =>
            {
                progress.suspend(|| {
                    eprintln!(
                        "scanctl: lost the coordinator at {url} ({}); reconnecting",
                        status.message()
                    )
                });
                stream = reconnect_watch(c, job).await?;
            }
            Err(status) => {
                progress.abandon();
                return Err(rpc_error(status, c, job));
            }
        }
    }
    progress.finish_and_clear();
    let Some(last) = last else {
        anyhow::bail!("the coordinator at {url} ended the watch without any progress");
    };
    let state = v1::JobState::try_from(last.state).unwrap_or(v1::JobState::Unspecified);
    eprintln!("scanctl: {}", describe(&last));
    match state {
        v1::JobState::Done => Ok(ExitCode::SUCCESS),
        v1::JobState::Cancelled => {
            eprintln!("scanctl: job {job} was cancelled");
            Ok(ExitCode::from(1))
        }
        _ => anyhow::bail!(
            "the watch of job {job} ended while it was {}",
            state.label()
        ),
    }
}

async fn open_watch(c: &Coordinator, job: &str) -> anyhow::Result<tonic::Streaming<v1::JobStatus>> {
    let mut client = connect(c).await?;
    Ok(client
        .watch_job(v1::WatchJobRequest {
            job_id: job.to_owned(),
            interval_ms: 0,
        })
        .await
        .map_err(|s| rpc_error(s, c, job))?
        .into_inner())
}

/// Reopen a watch, retrying every second for up to two minutes.
async fn reconnect_watch(
    c: &Coordinator,
    job: &str,
) -> anyhow::Result<tonic::Streaming<v1::JobStatus>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        match open_watch(c, job).await {
            Ok(stream) => return Ok(stream),
            Err(e)
                if tokio::time::Instant::now() < deadline
                    && e.downcast_ref::<UsageError>().is_none() =>
            {
                tracing::debug!("reconnecting: {e:#}");
            }
            Err(e) => return Err(e),
        }
    }
}

async fn results(args: ResultsArgs) -> anyhow::Result<ExitCode> {
    let format = args
        .format
        .unwrap_or_else(|| Format::default_for(args.output.as_deref()));
    let mut sink = Sink::open(format, args.output.as_ref())?;
    let mut n = 0;
    for_each_result(&args.coordinator, &args.job, |result| {
        n += 1;
        sink.push(result)
    })
    .await?;
    sink.finish()?;
    eprintln!("scanctl: {n} results of job {}", args.job);
    Ok(ExitCode::SUCCESS)
}

/// Hand every result of a cluster job so far to `each`, in list order, as it arrives
/// (one result decoded at a time).
pub async fn for_each_result(
    c: &Coordinator,
    job: &str,
    mut each: impl FnMut(SiteResult) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let url = &c.coordinator;
    let mut client = connect(c).await?;
    let mut stream = client
        .stream_results(v1::StreamResultsRequest {
            job_id: job.to_owned(),
        })
        .await
        .map_err(|s| rpc_error(s, c, job))?
        .into_inner();
    while let Some(wire) = stream.message().await.map_err(|s| rpc_error(s, c, job))? {
        let r = proto::IndexedResult::try_from(wire)
            .with_context(|| format!("a result of job {job} from {url}"))?;
        each(r.result)?;
    }
    Ok(())
}

/// Every result of a cluster job so far, in list order, each reduced to what a report or
/// a diff reads ([`for_report`]): `report --job` and `diff --jobs`.
pub async fn fetch_for_report(c: &Coordinator, job: &str) -> anyhow::Result<Vec<SiteResult>> {
    let mut out = Vec::new();
    for_each_result(c, job, |r| {
        out.push(for_report(r));
        Ok(())
    })
    .await?;
    Ok(out)
}

/// A result without the observations behind its verdicts (addresses, TLS details and
/// chain, redirect hops, mixed-content samples): the identity, verdicts, findings and
/// scan time that reports and diffs are built from. About a tenth of the full result.
pub fn for_report(mut r: SiteResult) -> SiteResult {
    r.addresses = Vec::new();
    r.https = None;
    r.redirects = Vec::new();
    r.final_url = None;
    r.mixed_content = None;
    r.findings.shrink_to_fit();
    r
}

async fn jobs(c: &Coordinator) -> anyhow::Result<ExitCode> {
    let mut client = connect(c).await?;
    let list = client
        .list_jobs(v1::ListJobsRequest {})
        .await
        .map_err(|s| rpc_error(s, c, ""))?
        .into_inner();
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["job", "name", "state", "done", "total", "failed", "created"]);
    for j in &list.jobs {
        let state = v1::JobState::try_from(j.state).unwrap_or(v1::JobState::Unspecified);
        table.add_row([
            j.job_id.clone(),
            j.name.clone(),
            state.label().to_owned(),
            j.done.to_string(),
            j.total.to_string(),
            j.failed.to_string(),
            unix_ms_text(j.created_unix_ms),
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

fn unix_ms_text(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The status as one JSON object, field names as in the proto.
fn status_json(s: &v1::JobStatus) -> serde_json::Value {
    let state = v1::JobState::try_from(s.state).unwrap_or(v1::JobState::Unspecified);
    serde_json::json!({
        "job_id": s.job_id,
        "name": s.name,
        "label": s.label,
        "state": state.label(),
        "total": s.total,
        "queued": s.queued,
        "in_flight": s.in_flight,
        "done": s.done,
        "failed": s.failed,
        "rate": s.rate,
        "workers_active": s.workers_active,
        "shards": s.shards,
        "created_unix_ms": s.created_unix_ms,
        "finished_unix_ms": s.finished_unix_ms,
        // The job's settings in full (null for a job submitted without).
        "settings": s
            .settings
            .clone()
            .and_then(|w| model::JobSettings::try_from(w).ok()),
        "settings_digest": s.settings_digest,
    })
}

/// The aggregate as JSON: `{count, adopted, forced, ratio, categories: [...], codes: {code: sites}}`.
fn report_json(r: &v1::Report) -> serde_json::Value {
    let categories: Vec<serde_json::Value> = r
        .categories
        .iter()
        .map(|c| {
            serde_json::json!({
                "category": c.category, "count": c.count, "adopted": c.adopted, "forced": c.forced,
                "ratio": report::Ratio::new(c.adopted, c.count),
            })
        })
        .collect();
    let codes: serde_json::Map<String, serde_json::Value> = r
        .codes
        .iter()
        .map(|c| (c.code.clone(), c.sites.into()))
        .collect();
    serde_json::json!({
        "count": r.count, "adopted": r.adopted, "forced": r.forced,
        "ratio": report::Ratio::new(r.adopted, r.count),
        "categories": categories, "codes": codes,
    })
}

/// The aggregate as a terminal table: per category, then a total row.
fn report_table(r: &v1::Report) -> comfy_table::Table {
    // The report crate's ratio: the same rounding as `scanctl report` and `scanctl trend`.
    let ratio = |a: u64, n: u64| report::Ratio::new(a, n).to_string();
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["category", "count", "adopted", "forced", "adoption"]);
    for c in &r.categories {
        table.add_row([
            c.category.clone(),
            c.count.to_string(),
            c.adopted.to_string(),
            c.forced.to_string(),
            ratio(c.adopted, c.count),
        ]);
    }
    table.add_row([
        "total".to_owned(),
        r.count.to_string(),
        r.adopted.to_string(),
        r.forced.to_string(),
        ratio(r.adopted, r.count),
    ]);
    table
}

/// One line: `job ID (name): running · 120/300 done · 3 failed · 40 in flight · ...`.
fn describe(s: &v1::JobStatus) -> String {
    let state = v1::JobState::try_from(s.state).unwrap_or(v1::JobState::Unspecified);
    format!(
        "job {} ({}): {} · {}/{} done · {} failed · {} in flight · {} queued · {:.1} sites/s · {} workers",
        s.job_id,
        s.name,
        state.label(),
        s.done,
        s.total,
        s.failed,
        s.in_flight,
        s.queued,
        s.rate,
        s.workers_active
    )
}
