//! `scanctl scan`: embedded mode. Reads a site list, scans it on this machine with the same
//! engine the workers run, shows progress, and writes one result per site.

use crate::UsageError;
use crate::output::{Format, Sink, Tally};
use anyhow::Context;
use engine::Engine;
use engine::flags::ScanFlags;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use model::sitelist::{self, SiteList};
use model::{Site, SiteResult};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

#[derive(clap::Args)]
pub struct Args {
    /// The site list: CSV `agency,category,parent,url` or one URL/host per line.
    #[arg(required_unless_present = "url", conflicts_with = "url")]
    pub file: Option<PathBuf>,

    /// Check one site and explain every finding (for a webmaster at a terminal).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Output format (default: a table on a terminal, JSON Lines otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write results to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Scan the valid lines even when some lines of the list are bad (they are listed).
    #[arg(long)]
    pub skip_invalid: bool,

    /// No progress bar (it is shown only on a terminal anyway).
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub flags: ScanFlags,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args
        .flags
        .to_config()
        .map_err(|e| UsageError(e.to_string()))?;
    let engine = Arc::new(Engine::new(config).map_err(|e| match e {
        // A flag that names what no trust profile has (`--root-constraint`): the user's.
        engine::Error::Config(_) => anyhow::Error::new(UsageError(e.to_string())),
        other => anyhow::Error::new(other).context("cannot start the scanning engine"),
    })?);
    if let Some(url) = &args.url {
        let site = Site::parse(url).map_err(|e| UsageError(format!("--url {url}: {e}")))?;
        let result = engine.scan(&site, SystemTime::now()).await;
        return explain_one(&args, result);
    }
    let path = args
        .file
        .as_ref()
        .expect("clap requires FILE without --url");
    let list = read_list(path, args.skip_invalid)?;
    let format = args
        .format
        .unwrap_or_else(|| Format::default_for(args.output.as_deref()));
    let tally = scan_list(
        engine,
        list.sites,
        args.flags.concurrency(),
        Sink::open(format, args.output.as_ref())?,
        !args.quiet,
        |_| {},
    )
    .await?;
    eprintln!("scanctl: scanned {tally}");
    Ok(ExitCode::SUCCESS)
}

/// Read and validate a site list (as a stream), telling the user about bad lines and
/// duplicates: the first [`sitelist::KEPT`] of each in full, then how many more. Bad lines
/// stop the scan unless `skip_invalid`.
pub fn read_list(path: &Path, skip_invalid: bool) -> anyhow::Result<SiteList> {
    let file = std::fs::File::open(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    let list = sitelist::read(file).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    let name = path.display();
    if list.encoding != "UTF-8" {
        eprintln!("scanctl: {name}: read as {}", list.encoding);
    }
    for d in &list.duplicates {
        eprintln!("scanctl: {name}: {d}");
    }
    if list.duplicate_count > list.duplicates.len() {
        eprintln!(
            "scanctl: {name}: … and {} more repeated entries (each site is scanned once)",
            list.duplicate_count - list.duplicates.len()
        );
    }
    for e in &list.errors {
        eprintln!("scanctl: {name}: {e}");
    }
    if list.error_count > list.errors.len() {
        eprintln!(
            "scanctl: {name}: … and {} more bad lines",
            list.error_count - list.errors.len()
        );
    }
    if list.error_count > 0 && !skip_invalid {
        return Err(UsageError(format!(
            "{name}: {} bad line(s); fix them, or pass --skip-invalid to scan the {} valid site(s)",
            list.error_count,
            list.sites.len()
        ))
        .into());
    }
    if list.sites.is_empty() {
        return Err(UsageError(format!("{name}: no valid site to scan")).into());
    }
    Ok(list)
}

/// Scan `sites` at `concurrency`, writing each result as it completes, with a live progress
/// bar on a terminal (sites done / total, rate, and how many are adopted or failing).
/// `observe` sees each result before it is written.
pub async fn scan_list(
    engine: Arc<Engine>,
    sites: Vec<Site>,
    concurrency: usize,
    mut sink: Sink,
    progress: bool,
    mut observe: impl FnMut(&SiteResult),
) -> anyhow::Result<Tally> {
    let total = sites.len();
    let bar = if progress {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} sites · {rate} · eta {eta} · {msg}",
        )
        .expect("valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} sites/s", state.per_sec());
            },
        ),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut results = engine.scan_stream(futures::stream::iter(sites), concurrency);
    while let Some(result) = results.next().await {
        tally.add(&result);
        bar.set_message(format!(
            "{} adopted · {} forced · {} timed out/failed",
            tally.adopted, tally.forced, tally.incomplete
        ));
        bar.inc(1);
        observe(&result);
        sink.push(result)?;
    }
    bar.finish_and_clear();
    sink.finish()?;
    tracing::info!(sites = total, elapsed = ?started.elapsed(), "scan complete");
    Ok(tally)
}

/// `--url`: one site, every finding explained.
fn explain_one(args: &Args, result: SiteResult) -> anyhow::Result<ExitCode> {
    let format = args.format.unwrap_or(Format::Table);
    if format != Format::Table {
        let mut sink = Sink::open(format, args.output.as_ref())?;
        sink.push(result)?;
        sink.finish()?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = crate::explain::explain(&result);
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
