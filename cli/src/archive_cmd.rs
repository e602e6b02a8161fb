//! The archive from the command line: `scanctl db migrate`, `import`, `history`, `trend`,
//! and what `scanctl report` needs from it (an archived scan's results and its history).
//!
//! The password comes from `--db-password-file` or `PGPASSWORD`, never from argv; a URL
//! with a password in it is refused by the archive.

use crate::UsageError;
use archive::{Archive, Begin, GroupBy, ScanMeta, Tls, TrendQuery};
use model::SiteResult;
use report::{Format, History, Lang, Render, Since, Trend, TrendPoint};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Where the archive is.
#[derive(clap::Args, Clone, Debug)]
pub struct Db {
    /// The PostgreSQL archive: postgres://USER@HOST:PORT/DB[?sslmode=require]
    /// (no password in it: use --db-password-file or PGPASSWORD).
    #[arg(long = "db", env = "SCANCTL_DB", value_name = "URL")]
    pub url: Option<String>,
    /// Read the database password from this file (its first line).
    #[arg(long, env = "SCANCTL_DB_PASSWORD_FILE", value_name = "FILE")]
    pub db_password_file: Option<PathBuf>,
    /// Also trust this CA (PEM) for TLS to the database.
    #[arg(long, env = "SCANCTL_DB_CA_FILE", value_name = "PEM")]
    pub db_ca_file: Option<PathBuf>,
}

impl Db {
    /// Connect (and with `migrate`, bring the schema up to date).
    pub async fn connect(&self, migrate: bool) -> anyhow::Result<Archive> {
        let Some(url) = &self.url else {
            return Err(UsageError("give the archive with --db URL (or SCANCTL_DB)".into()).into());
        };
        let password = match &self.db_password_file {
            Some(path) => Some(read_first_line(path)?),
            None => std::env::var("PGPASSWORD").ok(),
        };
        let mut tls = Tls::default();
        if let Some(path) = &self.db_ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
            tls = tls.with_ca_pem(&pem)?;
        }
        let mut db = archive::connect(url, password.as_deref(), &tls)
            .await
            .map_err(|e| match e {
                archive::Error::Url(_) | archive::Error::PasswordInUrl => {
                    anyhow::Error::new(UsageError(e.to_string()))
                }
                e => e.into(),
            })?;
        if migrate {
            db.migrate().await?;
        }
        Ok(db)
    }
}

fn read_first_line(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// `scanctl db …`: the archive's schema.
#[derive(clap::Subcommand)]
pub enum DbCommand {
    /// Apply the schema migrations not applied yet.
    Migrate(MigrateArgs),
}

#[derive(clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: Db,
}

/// `scanctl import FILE --db URL --name N`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The results: JSON Lines of `scanctl scan`, one site a line.
    pub results: PathBuf,
    /// The scan's name in the archive (e.g. 2026-Q4). Importing the same file under the same
    /// name again changes nothing; another file under a name already used is refused.
    #[arg(long)]
    pub name: String,
    #[command(flatten)]
    pub db: Db,
}

/// `scanctl history --db URL`.
#[derive(clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub db: Db,
    /// table, csv or json [default: a table]
    #[arg(long, default_value = "table")]
    pub format: Format,
}

/// `scanctl trend --db URL`.
#[derive(clap::Args)]
pub struct TrendArgs {
    #[command(flatten)]
    pub db: Db,
    /// One row per scan and category (the NDC table), or per agency (rolled up).
    #[arg(long, default_value = "category", value_parser = ["category", "agency"])]
    pub by: String,
    /// Only this agency and every agency below it.
    #[arg(long, value_name = "NAME")]
    pub agency: Option<String>,
    /// Only scans started on or after this day (YYYY-MM-DD, Taiwan time).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<time::Date>,
    /// table, csv, json or html [default: from the --output extension, else a table]
    #[arg(long)]
    pub format: Option<Format>,
    /// zh-TW or en.
    #[arg(long, default_value = "zh-TW")]
    pub lang: Lang,
    /// Write here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_date(s: &str) -> Result<time::Date, String> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|e| format!("{s:?} is not a date YYYY-MM-DD ({e})"))
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let mut db = args.db.connect(false).await?;
    let applied = db.migrate().await?;
    if applied.is_empty() {
        println!("schema up to date");
    } else {
        println!("applied migrations {applied:?}");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.results)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", args.results.display())))?;
    let rows = parse_values(&args.results, &bytes).map_err(UsageError)?;
    let fingerprint = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let mut db = args.db.connect(true).await?;
    let meta = ScanMeta {
        source: format!("import:{}", args.name),
        name: args.name.clone(),
        fingerprint,
        started: None,
        finished: None,
        scanner_version: env!("CARGO_PKG_VERSION").to_owned(),
        settings: serde_json::json!({ "file": args.results.display().to_string() }),
    };
    match db.begin(&meta).await? {
        Begin::Already(id) => {
            println!(
                "scan {:?} (id {id}) was archived before from the same file: nothing changed",
                args.name
            );
        }
        Begin::New(mut writer) => {
            for chunk in rows.chunks(1000) {
                writer.add(chunk).await?;
            }
            let outcome = writer.finish().await?;
            if let archive::Outcome::Archived { scan, sites } = outcome {
                println!("archived scan {:?} (id {scan}): {sites} sites", args.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every line of a results file as JSON (kept whole: fields this build does not know, such
/// as per-browser verdicts, are archived too), each checked to be a site result.
fn parse_values(path: &Path, bytes: &[u8]) -> Result<Vec<(i32, serde_json::Value)>, String> {
    let mut position = 0;
    crate::report_cmd::parse_lines(path, bytes, |line| {
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        serde_json::from_value::<SiteResult>(value.clone())
            .map_err(|e| format!("not a site result: {e}"))?;
        position += 1;
        Ok((position - 1, value))
    })
}

fn rfc3339(t: Option<OffsetDateTime>) -> Option<String> {
    t.and_then(|t| t.format(&Rfc3339).ok())
}

pub async fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let db = args.db.connect(false).await?;
    let scans = db.history().await?;
    let when = |t: Option<OffsetDateTime>| t.map(report::when::taiwan).unwrap_or_default();
    match args.format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = scans
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "id": s.id, "name": s.name, "source": s.source,
                        "started": rfc3339(s.started), "finished": rfc3339(s.finished),
                        "count": s.counts.count, "adopted": s.counts.adopted,
                        "forced": s.counts.forced, "ratio": s.counts.ratio(),
                        "trust_store": s.trust_store, "scanner_version": s.scanner_version,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        format => {
            let header = [
                "id",
                "name",
                "started (Taiwan)",
                "finished (Taiwan)",
                "count",
                "adopted",
                "forced",
                "ratio",
                "source",
            ];
            let rows: Vec<Vec<String>> = scans
                .iter()
                .map(|s| {
                    vec![
                        s.id.to_string(),
                        s.name.clone(),
                        when(s.started),
                        when(s.finished),
                        s.counts.count.to_string(),
                        s.counts.adopted.to_string(),
                        s.counts.forced.to_string(),
                        s.counts.ratio().to_string(),
                        s.source.clone(),
                    ]
                })
                .collect();
            if format == Format::Csv {
                let mut w = csv::Writer::from_writer(std::io::stdout().lock());
                w.write_record(header)?;
                for r in rows {
                    w.write_record(r)?;
                }
                w.flush()?;
            } else {
                let mut t = comfy_table::Table::new();
                t.load_preset(comfy_table::presets::ASCII_MARKDOWN);
                t.set_header(header);
                for r in rows {
                    t.add_row(r);
                }
                println!("{t}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The trend of `agency`'s subtree (or everything), over the scans up to `until` (an id).
pub async fn trend_of(
    db: &Archive,
    by: GroupBy,
    agency: Option<&str>,
    since: Option<time::Date>,
    until: Option<i64>,
) -> anyhow::Result<Trend> {
    let rows = db
        .trend(&TrendQuery {
            by,
            agency: agency.map(str::to_owned),
            since,
        })
        .await?;
    // Scans after `until` are cut off: a report of an older scan shows the trend up to it.
    let cut = until.and_then(|id| rows.iter().rposition(|r| r.scan == id));
    let rows = match cut {
        Some(last) => &rows[..=last],
        None => &rows[..],
    };
    Ok(Trend {
        by: match by {
            GroupBy::Category => "category".into(),
            GroupBy::Agency => "agency".into(),
        },
        agency: agency.map(str::to_owned),
        rows: rows
            .iter()
            .map(|r| {
                TrendPoint::new(
                    r.scan_name.clone(),
                    rfc3339(r.started),
                    r.group.clone(),
                    r.counts,
                )
            })
            .collect(),
    })
}

pub async fn trend(args: TrendArgs) -> anyhow::Result<ExitCode> {
    let db = args.db.connect(false).await?;
    let by = if args.by == "agency" {
        GroupBy::Agency
    } else {
        GroupBy::Category
    };
    let trend = trend_of(&db, by, args.agency.as_deref(), args.since, None).await?;
    let format = args.format.unwrap_or_else(|| {
        match args
            .output
            .as_deref()
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
        {
            Some("csv") => Format::Csv,
            Some("json") => Format::Json,
            Some("html" | "htm") => Format::Html,
            _ => Format::Table,
        }
    });
    let text = trend.render(
        format,
        &Render {
            lang: args.lang,
            ..Default::default()
        },
    );
    crate::report_cmd::write_out(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// An archived scan for `scanctl report --db`: its name, results, and the past of
/// `scope` (an agency's subtree, or everything) up to it.
pub struct ArchivedScan {
    pub id: i64,
    pub name: String,
    pub results: Vec<SiteResult>,
    pub previous: Option<(String, Vec<SiteResult>)>,
    failing_since: BTreeMap<String, Since>,
}

impl ArchivedScan {
    pub async fn load(db: &Archive, which: Option<&str>) -> anyhow::Result<ArchivedScan> {
        let scan = db
            .find_scan(which)
            .await
            .map_err(|e| UsageError(e.to_string()))?;
        let results = db.results(scan.id).await?;
        let previous = match db.previous_scan(scan.id).await? {
            Some(p) => Some((p.name.clone(), db.results(p.id).await?)),
            None => None,
        };
        let failing_since = db
            .failing_since(scan.id)
            .await?
            .into_iter()
            .map(|f| {
                (
                    f.url,
                    Since {
                        scan: f.scan_name,
                        started: rfc3339(f.since),
                        scans: f.scans,
                    },
                )
            })
            .collect();
        Ok(ArchivedScan {
            id: scan.id,
            name: scan.name,
            results,
            previous,
            failing_since,
        })
    }

    /// The history of one scope: the trend (from SQL), since when its failing sites fail,
    /// and what changed since the previous scan among `current` (the scope's results).
    pub async fn history(
        &self,
        db: &Archive,
        agency: Option<&str>,
        current: &[SiteResult],
    ) -> anyhow::Result<History> {
        let trend = trend_of(db, GroupBy::Category, agency, None, Some(self.id)).await?;
        Ok(History {
            trend,
            failing_since: self.failing_since.clone(),
            previous: self.previous.as_ref().map(|(n, _)| n.clone()),
            changes: self
                .previous
                .as_ref()
                .map(|(_, prev)| crate::report_cmd::scoped_diff(prev, current, agency.is_some())),
        })
    }
}
