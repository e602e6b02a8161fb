//! `scanctl`: the one command NDC staff and webmasters use.
//!
//! - `scanctl scan FILE` / `scanctl scan --url URL`: scan on this machine (embedded mode, no
//!   Redis), with the same engine the workers run.
//! - `scanctl demo`: start the simulated site farm in-process and scan it, end to end.
//! - `scanctl submit|status|watch|results|jobs|cancel|delete`: the cluster, through a coordinator.
//! - `scanctl report|diff`: the NDC tables, the agency tree, findings and fixes; agency packs.
//! - `scanctl trust list`: the anchors and constraints of a trust profile.
//! - `scanctl import|history|trend|db migrate`: the PostgreSQL archive, scan after scan.
//!
//! Exit codes: 0 when the work completed (whatever the findings), 2 for usage or input
//! errors, 1 for anything else that stopped the command.

mod archive_cmd;
mod cluster;
mod connect;
#[cfg(feature = "demo")]
mod demo;
mod explain;
mod output;
mod report_cmd;
mod scan;
mod trust;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc: allocation-heavy work (TLS, HTML parsing) is ~20% malloc/free with the
/// system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "scanctl",
    version,
    about = "Scan government websites for HTTPS compliance (NDC rules)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a site list (or one --url) on this machine, without a cluster.
    Scan(scan::Args),
    /// Start the simulated government site farm in-process and scan it end to end.
    #[cfg(feature = "demo")]
    Demo(demo::Args),
    #[command(flatten)]
    Cluster(cluster::Command),
    /// The NDC report of a results file or a cluster job: table, CSV, JSON or HTML.
    Report(Box<report_cmd::ReportArgs>),
    /// Compare two scans: what got fixed, what broke.
    Diff(report_cmd::DiffArgs),
    /// The trust profiles scans are judged by (Chrome Root Store, Mozilla).
    #[command(subcommand)]
    Trust(trust::Command),
    /// Archive a results file in PostgreSQL as a named scan (again: nothing changes).
    Import(archive_cmd::ImportArgs),
    /// The archived scans, oldest first, with their figures.
    History(archive_cmd::HistoryArgs),
    /// The NDC figures scan after scan, per category or agency (computed in PostgreSQL).
    Trend(archive_cmd::TrendArgs),
    /// The archive's schema.
    #[command(subcommand)]
    Db(archive_cmd::DbCommand),
}

/// An error the user caused (bad flag, unreadable or malformed input): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SCANCTL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = engine::prefer_small_pages() {
        tracing::debug!(error = %e, "transparent huge pages stay on");
    }
    let outcome = match cli.command {
        Command::Scan(args) => scan::run(args).await,
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args).await,
        Command::Cluster(cmd) => cluster::run(cmd).await,
        Command::Report(args) => report_cmd::report(*args).await,
        Command::Diff(args) => report_cmd::diff(args).await,
        Command::Trust(cmd) => trust::run(cmd),
        Command::Import(args) => archive_cmd::import(args).await,
        Command::History(args) => archive_cmd::history(args).await,
        Command::Trend(args) => archive_cmd::trend(args).await,
        Command::Db(archive_cmd::DbCommand::Migrate(args)) => archive_cmd::migrate(args).await,
    };
    match outcome {
        Ok(code) => code,
        // A reader that stopped early (`scanctl trust list | head`) is not a failure.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let usage = e.downcast_ref::<UsageError>().is_some();
            eprintln!("scanctl: {e:#}");
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
