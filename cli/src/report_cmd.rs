//! `scanctl report` and `scanctl diff`: read per-site results, hand them to the `report`
//! crate, write the rendering to stdout or a file.
//!
//! This module owns the command line and the files; every figure and word comes from
//! `report`. Bad input (an unreadable file, a line that is not a result) is a
//! [`UsageError`](crate::UsageError) naming the file and line: exit code 2.

use crate::UsageError;
use model::SiteResult;
use report::{By, Diff, Format, Lang, Options, Render, Report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `scanctl report`: the NDC table, the agency tree, finding counts and failing sites.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// The results: JSON Lines of `scanctl scan --format jsonl`, one site a line.
    #[arg(required_unless_present = "job", conflicts_with = "job")]
    pub results: Option<PathBuf>,
    /// A cluster job instead of a file: its results are streamed from the coordinator.
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
    #[command(flatten)]
    pub coordinator: crate::cluster::Coordinator,
    /// table, csv, json or html [default: from the --output extension; else a table on a
    /// terminal, JSON otherwise]
    #[arg(long)]
    pub format: Option<Format>,
    /// zh-TW (the NDC's headings) or en.
    #[arg(long, default_value = "zh-TW")]
    pub lang: Lang,
    /// The leading table: category (the NDC table), agency (the tree rolled up along
    /// parent), findings (sites per finding code) or sites (failing sites with fixes).
    /// A CSV file holds only this table.
    #[arg(long, default_value = "category")]
    pub by: By,
    /// Only this agency and every agency below it.
    #[arg(long, value_name = "NAME")]
    pub agency: Option<String>,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `scanctl diff`: what got fixed and what broke between two scans.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// The older scan: a results file (JSON Lines), or a cluster job id with --jobs.
    pub old: String,
    /// The newer scan: a results file (JSON Lines), or a cluster job id with --jobs.
    pub new: String,
    /// OLD and NEW are job ids on the coordinator, not files.
    #[arg(long)]
    pub jobs: bool,
    #[command(flatten)]
    pub coordinator: crate::cluster::Coordinator,
    /// table, csv, json or html [default: from the --output extension; else a table on a
    /// terminal, JSON otherwise]
    #[arg(long)]
    pub format: Option<Format>,
    /// zh-TW or en.
    #[arg(long, default_value = "zh-TW")]
    pub lang: Lang,
    /// For CSV: category (figures per group, the default) or sites (one row per changed site).
    #[arg(long, default_value = "category")]
    pub by: By,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub async fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let results = load_results(&args).await?;
    let options = Options {
        agency: args.agency.clone(),
    };
    let report = Report::build(&results, &options).map_err(|e| UsageError(e.to_string()))?;
    let format = format_for(args.format, args.output.as_deref());
    let text = report.render(
        format,
        &render_options(args.lang, args.by, args.output.as_deref()),
    );
    write_out(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn diff(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let old = load_side(&args, &args.old).await?;
    let new = load_side(&args, &args.new).await?;
    let diff = Diff::between(&old, &new);
    let format = format_for(args.format, args.output.as_deref());
    let text = diff.render(
        format,
        &render_options(args.lang, args.by, args.output.as_deref()),
    );
    write_out(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// The results a report is made of: a results file, or a cluster job's results streamed
/// from the coordinator (`StreamResults` yields the same objects as the file's lines). The
/// report is built here from the per-site results either way, so a local scan and a cluster
/// job give the same report, tree and failing sites included; the coordinator's `GetReport`
/// tally (per category and per code, `scanctl status --report`) stays small for a million
/// sites, and the coordinator never holds a whole job's results in memory. A job's results
/// are streamed and each is reduced to what the report reads as it arrives, so the client
/// holds a slim summary per site, never the whole job's full results.
pub async fn load_results(args: &ReportArgs) -> anyhow::Result<Vec<SiteResult>> {
    match (&args.results, &args.job) {
        (_, Some(job)) => {
            crate::cluster::fetch_for_report(&args.coordinator.coordinator, job).await
        }
        (Some(path), None) => read_results(path),
        (None, None) => Err(UsageError(
            "scanctl report: give a results file (JSON Lines) or --job JOB".into(),
        )
        .into()),
    }
}

/// One side of a diff: a results file, or with `--jobs` a cluster job.
async fn load_side(args: &DiffArgs, side: &str) -> anyhow::Result<Vec<SiteResult>> {
    if args.jobs {
        crate::cluster::fetch_for_report(&args.coordinator.coordinator, side).await
    } else {
        read_results(Path::new(side))
    }
}

/// Read a JSON Lines results file. Empty lines are skipped; anything else that is not a
/// result stops with the file and line named.
pub fn read_results(path: &Path) -> anyhow::Result<Vec<SiteResult>> {
    let bytes = std::fs::read(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    parse_results(path, &bytes).map_err(|e| UsageError(e).into())
}

fn parse_results(path: &Path, bytes: &[u8]) -> Result<Vec<SiteResult>, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut results = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        let line = std::str::from_utf8(line)
            .map_err(|e| format!("{}: not UTF-8 ({e})", at()))?
            .trim();
        if line.is_empty() {
            continue;
        }
        let result = serde_json::from_str::<SiteResult>(line)
            .map_err(|e| format!("{}: not a site result: {e}", at()))?;
        results.push(result);
    }
    Ok(results)
}

/// The format asked for; else the one the output file's extension names; else a table on a
/// terminal and JSON otherwise (as `scanctl scan` does).
fn format_for(asked: Option<Format>, output: Option<&Path>) -> Format {
    default_format(asked, output, console::Term::stdout().is_term())
}

fn default_format(asked: Option<Format>, output: Option<&Path>, stdout_is_term: bool) -> Format {
    if let Some(f) = asked {
        return f;
    }
    let ext = output
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Format::Csv,
        Some("json") => Format::Json,
        Some("html" | "htm") => Format::Html,
        Some(_) => Format::Table,
        None if output.is_none() && !stdout_is_term => Format::Json,
        None => Format::Table,
    }
}

/// Wrap the terminal table to the terminal's width, and only when writing to a terminal.
fn render_options(lang: Lang, by: By, output: Option<&Path>) -> Render {
    let term = console::Term::stdout();
    let width = (output.is_none() && term.is_term()).then(|| term.size().1);
    Render { lang, by, width }
}

fn write_out(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())).into()),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_line_is_named_by_file_and_line() {
        let good = r#"{"url":"https://a.gov.tw/","host":"a.gov.tw","https_ok":true,"forced_https":true,"findings":[]}"#;
        let text = format!("\u{feff}{good}\r\n\n{good}\n{{\"url\": 1}}\n");
        let err = parse_results(Path::new("r.jsonl"), text.as_bytes()).unwrap_err();
        assert!(err.starts_with("r.jsonl:4: not a site result"), "{err}");
        let ok = parse_results(
            Path::new("r.jsonl"),
            format!("{good}\n\n{good}\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        let err = parse_results(Path::new("x"), b"\xff\n").unwrap_err();
        assert!(err.starts_with("x:1: not UTF-8"), "{err}");
    }

    #[test]
    fn the_format_follows_the_output_extension_then_the_terminal() {
        let f = default_format;
        assert_eq!(f(None, Some(Path::new("r.CSV")), true), Format::Csv);
        assert_eq!(f(None, Some(Path::new("r.html")), false), Format::Html);
        assert_eq!(f(None, Some(Path::new("r.txt")), false), Format::Table);
        assert_eq!(f(None, None, true), Format::Table);
        assert_eq!(f(None, None, false), Format::Json);
        assert_eq!(
            f(Some(Format::Json), Some(Path::new("r.csv")), true),
            Format::Json
        );
        assert_eq!(f(Some(Format::Table), None, false), Format::Table);
    }
}
