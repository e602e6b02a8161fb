//! Writing per-site results: JSON Lines (the contract of `CHECKS.md`), CSV for
//! spreadsheets, and a readable table for a terminal. Used by `scanctl scan`, `scanctl demo`
//! and `scanctl results`.

use anyhow::Context;
use comfy_table::{Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use model::text::visible;
use model::{Severity, SiteResult};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How per-site results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per site, per line.
    Jsonl,
    /// CSV, UTF-8 with BOM (Excel in Taiwan opens it right).
    Csv,
    /// A table for reading at a terminal.
    Table,
}

impl Format {
    /// The format to use when the user did not choose: a table for a person at a terminal,
    /// JSON Lines for a pipe or a file.
    pub fn default_for(output: Option<&Path>) -> Format {
        if output.is_none() && console::Term::stdout().is_term() {
            Format::Table
        } else {
            Format::Jsonl
        }
    }
}

/// Where results go: stdout or a file, written as they arrive where the format allows.
pub struct Sink {
    format: Format,
    out: Box<dyn Write + Send>,
    held: Vec<SiteResult>,
    wrote_header: bool,
}

impl Sink {
    pub fn open(format: Format, output: Option<&PathBuf>) -> anyhow::Result<Sink> {
        let out: Box<dyn Write + Send> = match output {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot write {}", path.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        Ok(Sink {
            format,
            out,
            held: Vec::new(),
            wrote_header: false,
        })
    }

    /// Write (or, for a table, hold) one result.
    pub fn push(&mut self, result: SiteResult) -> anyhow::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &result)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => {
                if !self.wrote_header {
                    self.out.write_all("\u{feff}".as_bytes())?;
                    self.out
                        .write_all(csv_line(&CSV_HEADER.map(str::to_owned)).as_bytes())?;
                    self.wrote_header = true;
                }
                self.out
                    .write_all(csv_line(&csv_fields(&result)).as_bytes())?;
            }
            Format::Table => self.held.push(result),
        }
        Ok(())
    }

    /// Write what was held and flush.
    pub fn finish(mut self) -> anyhow::Result<()> {
        if self.format == Format::Table {
            self.held.sort_by(|a, b| {
                (&a.category, &a.agency, &a.host).cmp(&(&b.category, &b.agency, &b.host))
            });
            writeln!(self.out, "{}", table(&self.held))?;
        }
        self.out.flush()?;
        Ok(())
    }
}

const CSV_HEADER: [&str; 9] = [
    "url",
    "host",
    "agency",
    "category",
    "parent",
    "https_ok",
    "forced_https",
    "findings",
    "worst_severity",
];

/// A site's row; the names from the list and the URL with invisible formatting characters
/// shown as code points ([`model::text::visible`]).
fn csv_fields(r: &SiteResult) -> [String; 9] {
    let shown = |s: &str| visible(s).into_owned();
    [
        shown(&r.url),
        shown(&r.host),
        shown(&r.agency),
        shown(&r.category),
        shown(&r.parent),
        r.https_ok.to_string(),
        r.forced_https.to_string(),
        codes(r),
        worst(r).map_or("", Severity::as_str).to_owned(),
    ]
}

fn csv_line(fields: &[String]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(fields)
        .expect("writing CSV to memory cannot fail");
    String::from_utf8(w.into_inner().expect("in-memory writer")).expect("fields are UTF-8")
}

fn codes(r: &SiteResult) -> String {
    r.findings
        .iter()
        .map(|f| f.code.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn worst(r: &SiteResult) -> Option<Severity> {
    r.findings.iter().map(|f| f.severity).max()
}

/// The per-site table: one row per site, verdicts and finding codes (names and URLs through
/// [`visible`]).
pub fn table(results: &[SiteResult]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["site", "agency", "adopted", "forced", "findings"]);
    for r in results {
        let mark = |ok: bool| {
            if ok {
                Cell::new("yes").fg(Color::Green)
            } else {
                Cell::new("no").fg(Color::Red)
            }
        };
        let findings = Cell::new(codes(r));
        let findings = match worst(r) {
            Some(Severity::Error) => findings.fg(Color::Red),
            Some(Severity::Warning) => findings.fg(Color::Yellow),
            _ => findings,
        };
        t.add_row(vec![
            Cell::new(visible(&r.url)),
            Cell::new(visible(&r.agency)),
            mark(r.https_ok),
            mark(r.forced_https),
            findings,
        ]);
    }
    t
}

/// Counts for the closing summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub done: usize,
    pub adopted: usize,
    pub forced: usize,
    /// Sites the scanner could not finish (`scan_failed`) or that timed out.
    pub incomplete: usize,
}

impl Tally {
    pub fn add(&mut self, r: &SiteResult) {
        self.done += 1;
        self.adopted += usize::from(r.https_ok);
        self.forced += usize::from(r.forced_https);
        self.incomplete +=
            usize::from(r.has(model::Code::ScanFailed) || r.has(model::Code::Timeout));
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sites: {} HTTPS adopted, {} forced, {} timed out or failed",
            self.done, self.adopted, self.forced, self.incomplete
        )
    }
}
