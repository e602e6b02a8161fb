//! JSON: the report data with stable English field names, plus the words of the chosen
//! language where a person reads them (`meaning` and `fix` of each finding, `text` of each
//! note). Ratios are numbers with two decimals (`96.77`), `null` for an empty group.

use super::table::note_text;
use crate::build::{AgencyNode, ChromeOnly, FailingSite, FindingCount, GroupRow, Note, Row};
use crate::{Diff, Lang, Report};
use model::{Code, Severity};
use serde::Serialize;

#[derive(Serialize)]
struct JsonReport<'a> {
    lang: &'static str,
    agency_filter: Option<&'a str>,
    scanned_from: Option<&'a str>,
    scanned_to: Option<&'a str>,
    groups: &'a [GroupRow],
    total: &'a Row,
    tree: &'a [AgencyNode],
    findings: Vec<JsonCount<'a>>,
    failing: Vec<JsonFailing<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chrome_only: Option<&'a ChromeOnly>,
    notes: Vec<JsonNote<'a>>,
}

#[derive(Serialize)]
struct JsonCount<'a> {
    #[serde(flatten)]
    count: &'a FindingCount,
    meaning: &'static str,
    fix: &'static str,
}

#[derive(Serialize)]
struct JsonFailing<'a> {
    url: &'a str,
    host: &'a str,
    agency: &'a str,
    category: &'a str,
    https_ok: bool,
    forced_https: bool,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    code: Code,
    severity: Severity,
    detail: &'a str,
    meaning: &'static str,
    fix: &'static str,
}

#[derive(Serialize)]
struct JsonNote<'a> {
    #[serde(flatten)]
    note: &'a Note,
    text: String,
}

fn failing(s: &FailingSite, lang: Lang) -> JsonFailing<'_> {
    JsonFailing {
        url: &s.url,
        host: &s.host,
        agency: &s.agency,
        category: &s.category,
        https_ok: s.https_ok,
        forced_https: s.forced_https,
        findings: s
            .findings
            .iter()
            .map(|f| JsonFinding {
                code: f.code,
                severity: f.severity,
                detail: &f.detail,
                meaning: lang.meaning(f.code),
                fix: lang.fix(f.code),
            })
            .collect(),
    }
}

pub(super) fn report(report: &Report, lang: Lang) -> String {
    let doc = JsonReport {
        lang: lang.tag(),
        agency_filter: report.agency_filter.as_deref(),
        scanned_from: report.scanned_from.as_deref(),
        scanned_to: report.scanned_to.as_deref(),
        groups: &report.groups,
        total: &report.total,
        tree: &report.tree,
        findings: report
            .findings
            .iter()
            .map(|count| JsonCount {
                count,
                meaning: lang.meaning(count.code),
                fix: lang.fix(count.code),
            })
            .collect(),
        failing: report.failing.iter().map(|s| failing(s, lang)).collect(),
        chrome_only: report.chrome_only.as_ref(),
        notes: report
            .notes
            .iter()
            .map(|note| JsonNote {
                note,
                text: note_text(note, lang),
            })
            .collect(),
    };
    pretty(&doc)
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    lang: &'static str,
    #[serde(flatten)]
    diff: &'a Diff,
}

pub(super) fn diff(d: &Diff, lang: Lang) -> String {
    pretty(&JsonDiff {
        lang: lang.tag(),
        diff: d,
    })
}

fn pretty(v: &impl Serialize) -> String {
    // Serialising plain data to a String cannot fail.
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
