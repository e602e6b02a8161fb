//! Renderings of a [`Report`] and a [`Diff`]: terminal table, CSV, JSON and HTML.
//!
//! Every string that comes from a scan (agency names, URLs, finding details) is untrusted: the
//! HTML page escapes it, the terminal table drops control characters (no escape sequences
//! reach the terminal), all three show invisible formatting characters such as bidi
//! overrides as code points (`<U+202E>`, [`model::text::visible`]), and CSV cells that a spreadsheet would read as a formula are quoted
//! with a leading `'`.

pub(crate) mod csv;
pub(crate) mod html;
mod json;
pub(crate) mod table;

use crate::{Diff, Lang, Report};
use std::fmt;
use std::str::FromStr;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Html,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "unknown format {other:?} (use table, csv, json or html)"
            )),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html => "html",
        })
    }
}

/// Which table leads a table or HTML rendering, and the one table a CSV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum By {
    /// The NDC table, one row per `category`.
    #[default]
    Category,
    /// The agency tree, rolled up along `parent`.
    Agency,
    /// Sites per finding code, overall and per group.
    Findings,
    /// The failing sites, one row per finding, with the fix.
    Sites,
}

impl FromStr for By {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "category" | "group" => Ok(By::Category),
            "agency" | "tree" => Ok(By::Agency),
            "findings" | "finding" => Ok(By::Findings),
            "sites" | "failing" => Ok(By::Sites),
            other => Err(format!(
                "unknown grouping {other:?} (use category, agency, findings or sites)"
            )),
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct Render {
    pub lang: Lang,
    pub by: By,
    /// For the terminal table: wrap the tables to this many columns (`None`: never wrap).
    pub width: Option<u16>,
}

impl Report {
    /// The report in `format`. CSV starts with a UTF-8 BOM.
    pub fn render(&self, format: Format, r: &Render) -> String {
        match format {
            Format::Table => table::report(self, r),
            Format::Csv => csv::report(self, r),
            Format::Json => json::report(self, r.lang),
            Format::Html => html::report(self, r.lang, r.by),
        }
    }
}

impl Diff {
    /// The comparison in `format` (`by` does not apply). CSV starts with a UTF-8 BOM.
    pub fn render(&self, format: Format, r: &Render) -> String {
        match format {
            Format::Table => table::diff(self, r),
            Format::Csv => csv::diff(self, r),
            Format::Json => json::diff(self, r.lang),
            Format::Html => html::diff(self, r.lang),
        }
    }
}

/// A string from a scan, made safe for a terminal: control characters become spaces,
/// invisible formatting characters (bidi overrides…) show as code points
/// ([`model::text::visible`]).
pub(crate) fn clean(s: &str) -> String {
    model::text::visible(s)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// When the scan ran, in Taiwan time: one time, or the first and last.
pub(crate) fn scanned(report: &Report, lang: Lang) -> Option<String> {
    match (&report.scanned_from, &report.scanned_to) {
        (Some(from), Some(to)) => Some(crate::when::period(from, to, lang)),
        _ => None,
    }
}

/// A signed change, `+3`, `-1` or `0`.
pub(crate) fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}
