//! `scanctl report` and `scanctl diff`: read per-site results, hand them to the `report`
//! crate, write the rendering to stdout or a file.
//!
//! This module owns the command line and the files; every figure and word comes from
//! `report`. Bad input (an unreadable file, a line that is not a result) is a
//! [`UsageError`](crate::UsageError) naming the file and line: exit code 2.

use crate::UsageError;
use crate::archive_cmd::ArchivedScan;
use model::SiteResult;
use report::{By, Diff, Format, History, Lang, Options, Render, Report};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `scanctl report`: the NDC table, the agency tree, finding counts and failing sites.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// The results: JSON Lines of `scanctl scan --format jsonl`, one site a line.
    #[arg(required_unless_present_any = ["job", "url"], conflicts_with_all = ["job", "url"])]
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
    /// An archived scan instead of a file (--db): its results, with its trend, since when
    /// each failing site fails and what changed since the scan before it.
    #[command(flatten)]
    pub db: crate::archive_cmd::Db,
    /// With --db: which scan (its name, id, or `latest`).
    #[arg(long, value_name = "NAME", requires = "url", default_value = "latest")]
    pub scan: String,
    /// The scan before this one (a results file), to say what got fixed or broke.
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    pub previous: Option<PathBuf>,
    /// The scan's name for the page's header [default: the archived scan's name, or the file's].
    #[arg(long)]
    pub name: Option<String>,
    /// One pack per agency: an HTML page and a CSV of failing sites for each agency subtree,
    /// and index.html linking them (needs --output-dir).
    #[arg(long, value_name = "agency", value_parser = ["agency"], requires = "output_dir")]
    pub split_by: Option<String>,
    /// Where the packs go.
    #[arg(long, value_name = "DIR", requires = "split_by")]
    pub output_dir: Option<PathBuf>,
    /// Which agencies get a pack: this many levels below the top of the tree (0: agencies
    /// without a parent), plus agencies above that level with nothing below them.
    #[arg(long, default_value_t = 1)]
    pub level: usize,
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
    let (results, archived, db) = match &args.db.url {
        Some(_) => {
            let db = args.db.connect(false).await?;
            let scan = ArchivedScan::load(&db, Some(args.scan.as_str())).await?;
            (Vec::new(), Some(scan), Some(db))
        }
        None => (load_results(&args).await?, None, None),
    };
    let results = match &archived {
        Some(a) => &a.results,
        None => &results,
    };
    let previous = match &args.previous {
        Some(path) => Some(read_results(path)?),
        None => None,
    };
    let name = args
        .name
        .clone()
        .or_else(|| match (&archived, &args.results) {
            (Some(a), _) => Some(a.name.clone()),
            (None, Some(path)) => path.file_name().map(|f| f.to_string_lossy().into_owned()),
            (None, None) => args.job.clone(),
        });
    // The past of one scope (everything, or an agency's subtree).
    let history_of = async |report: &Report| -> anyhow::Result<Option<History>> {
        let scoped = scope_results(results, report);
        match (&archived, &db, &previous) {
            (Some(a), Some(db), _) => Ok(Some(
                a.history(db, report.agency_filter.as_deref(), &scoped)
                    .await?,
            )),
            (_, _, Some(prev)) => Ok(Some(History {
                trend: report::Trend {
                    by: "category".into(),
                    agency: None,
                    rows: Vec::new(),
                },
                failing_since: Default::default(),
                previous: args.previous.as_ref().map(|p| p.display().to_string()),
                changes: Some(scoped_diff(prev, &scoped, report.agency_filter.is_some())),
            })),
            _ => Ok(None),
        }
    };
    if let Some(dir) = &args.output_dir {
        let full =
            Report::build(results, &Options::default()).map_err(|e| UsageError(e.to_string()))?;
        std::fs::create_dir_all(dir)
            .map_err(|e| UsageError(format!("cannot create {}: {e}", dir.display())))?;
        let mut entries = Vec::new();
        for (i, agency) in report::pack::recipients(&full, args.level)
            .into_iter()
            .enumerate()
        {
            let options = Options {
                agency: Some(agency.clone()),
            };
            let mut pack =
                Report::build(results, &options).map_err(|e| UsageError(e.to_string()))?;
            pack.name = name.clone();
            pack.history = history_of(&pack).await?;
            let stem = report::pack::file_stem(i, &agency);
            let (html, csv) = (format!("{stem}.html"), format!("{stem}.csv"));
            let render = |by| Render {
                lang: args.lang,
                by,
                width: None,
            };
            write_out(
                Some(&dir.join(&html)),
                &pack.render(Format::Html, &render(By::Category)),
            )?;
            write_out(
                Some(&dir.join(&csv)),
                &pack.render(Format::Csv, &render(By::Sites)),
            )?;
            entries.push(report::pack::Entry {
                agency,
                html,
                csv,
                row: pack.total,
                failing: pack.failing.len(),
            });
        }
        let period = match (&full.scanned_from, &full.scanned_to) {
            (Some(a), Some(b)) => Some(report::when::period(a, b, args.lang)),
            _ => None,
        };
        write_out(
            Some(&dir.join("index.html")),
            &report::pack::index(name.as_deref(), period.as_deref(), &entries, args.lang),
        )?;
        println!(
            "{} agency packs and index.html in {}",
            entries.len(),
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let options = Options {
        agency: args.agency.clone(),
    };
    let mut report = Report::build(results, &options).map_err(|e| UsageError(e.to_string()))?;
    report.name = name;
    report.history = history_of(&report).await?;
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
        (_, Some(job)) => crate::cluster::fetch_for_report(&args.coordinator, job).await,
        (Some(path), None) => read_results(path),
        (None, None) => Err(UsageError(
            "scanctl report: give a results file (JSON Lines) or --job JOB".into(),
        )
        .into()),
    }
}

/// The results of a report's scope: all of them, or those of the agencies of its subtree.
fn scope_results(results: &[SiteResult], report: &Report) -> Vec<SiteResult> {
    if report.agency_filter.is_none() {
        return results.to_vec();
    }
    let agencies: HashSet<&str> = report::AgencyNode::walk(&report.tree)
        .into_iter()
        .map(|(_, n)| n.agency.as_str())
        .collect();
    results
        .iter()
        .filter(|r| agencies.contains(r.agency.as_str()))
        .cloned()
        .collect()
}

/// What changed between `previous` and `current` (a scope's results); with `scoped`, only
/// the previous scan's sites of the scope's agencies count (a site moved to another
/// agency leaves this scope).
pub fn scoped_diff(previous: &[SiteResult], current: &[SiteResult], scoped: bool) -> Diff {
    if !scoped {
        return Diff::between(previous, current);
    }
    let agencies: HashSet<&str> = current.iter().map(|r| r.agency.as_str()).collect();
    let previous: Vec<SiteResult> = previous
        .iter()
        .filter(|r| agencies.contains(r.agency.as_str()))
        .cloned()
        .collect();
    Diff::between(&previous, current)
}

/// One side of a diff: a results file, or with `--jobs` a cluster job.
async fn load_side(args: &DiffArgs, side: &str) -> anyhow::Result<Vec<SiteResult>> {
    if args.jobs {
        crate::cluster::fetch_for_report(&args.coordinator, side).await
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
    parse_lines(path, bytes, |line| {
        serde_json::from_str::<SiteResult>(line).map_err(|e| format!("not a site result: {e}"))
    })
}

/// Each non-empty line of a JSON Lines file (a BOM allowed) through `parse`; the first
/// failure names the file and line.
pub fn parse_lines<T>(
    path: &Path,
    bytes: &[u8],
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let at = || format!("{}:{}", path.display(), i + 1);
        let line = std::str::from_utf8(line)
            .map_err(|e| format!("{}: not UTF-8 ({e})", at()))?
            .trim();
        if line.is_empty() {
            continue;
        }
        out.push(parse(line).map_err(|e| format!("{}: {e}", at()))?);
    }
    Ok(out)
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

pub fn write_out(output: Option<&Path>, text: &str) -> anyhow::Result<()> {
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
