//! CSV: one table per file (chosen with [`By`]), UTF-8 with a BOM so that Excel in Taiwan
//! reads the Chinese right, CRLF line ends, headings in the chosen language.
//!
//! Cells holding strings from a scan that start with `=`, `+`, `-`, `@`, tab or CR get a
//! leading `'`, so a spreadsheet shows them as text instead of running them as a formula.

use super::{By, Render, signed};
use crate::build::AgencyNode;
use crate::diff::SiteState;
use crate::{Diff, Lang, Report, Row};

/// The byte order mark Excel needs to take a CSV file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// A string from a scan as a cell: invisible formatting characters shown as code points
/// ([`model::text::visible`]), and a leading `'` where a spreadsheet would see a formula.
pub(crate) fn untrusted(s: &str) -> String {
    let s = model::text::visible(s);
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.into_owned(),
    }
}

pub(crate) fn write(rows: Vec<Vec<String>>) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(Vec::new());
    for row in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&row);
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("{BOM}{}", String::from_utf8_lossy(&bytes))
}

fn figures(row: &Row) -> [String; 4] {
    [
        row.counts.count.to_string(),
        row.counts.adopted.to_string(),
        row.counts.forced.to_string(),
        row.ratio.to_string(),
    ]
}

pub(super) fn report(report: &Report, r: &Render) -> String {
    let lang = r.lang;
    let l = lang.labels();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let s = |x: &str| x.to_owned();
    match r.by {
        By::Category => {
            rows.push(vec![
                s(l.group),
                s(l.count),
                s(l.adopted),
                s(l.forced),
                s(l.ratio),
            ]);
            for g in &report.groups {
                let mut row = vec![untrusted(&lang.group_name(&g.group))];
                row.extend(figures(&g.row));
                rows.push(row);
            }
            let mut row = vec![s(l.total)];
            row.extend(figures(&report.total));
            rows.push(row);
        }
        By::Agency => {
            rows.push(vec![
                s(l.level),
                s(l.agency),
                s(l.parent),
                s(l.count),
                s(l.adopted),
                s(l.forced),
                s(l.ratio),
            ]);
            // The parent column: the agency one level up in the walk.
            let mut path: Vec<String> = Vec::new();
            for (depth, node) in AgencyNode::walk(&report.tree) {
                path.truncate(depth);
                let parent = path.last().cloned().unwrap_or_default();
                let name = lang.agency_name(&node.agency);
                let mut row = vec![
                    (depth + 1).to_string(),
                    untrusted(&name),
                    untrusted(&parent),
                ];
                row.extend(figures(&node.row));
                rows.push(row);
                path.push(name);
            }
        }
        By::Findings => {
            let mut header = vec![s(l.code), s(l.meaning), s(l.severity), s(l.sites)];
            header.extend(
                report
                    .groups
                    .iter()
                    .map(|g| untrusted(&lang.group_name(&g.group))),
            );
            rows.push(header);
            for f in &report.findings {
                let mut row = vec![
                    s(f.code.as_str()),
                    s(lang.meaning(f.code)),
                    s(lang.severity(f.severity)),
                    f.sites.to_string(),
                ];
                row.extend(f.per_group.iter().map(|g| g.sites.to_string()));
                rows.push(row);
            }
        }
        By::Sites => {
            rows.push(vec![
                s(l.agency),
                s(l.group),
                s(l.site),
                s(l.adopted),
                s(l.forced),
                s(l.code),
                s(l.severity),
                s(l.detail),
                s(l.fix),
            ]);
            for site in &report.failing {
                let base = [
                    untrusted(&lang.agency_name(&site.agency)),
                    untrusted(&lang.group_name(&site.category)),
                    untrusted(&site.url),
                    s(lang.yes_no(site.https_ok)),
                    s(lang.yes_no(site.forced_https)),
                ];
                if site.findings.is_empty() {
                    let mut row = base.to_vec();
                    row.extend([s(""), s(""), s(l.no_finding), s("")]);
                    rows.push(row);
                }
                for f in &site.findings {
                    let mut row = base.to_vec();
                    row.extend([
                        s(f.code.as_str()),
                        s(lang.severity(f.severity)),
                        untrusted(&f.detail),
                        s(lang.fix(f.code)),
                    ]);
                    rows.push(row);
                }
            }
        }
    }
    write(rows)
}

fn state(s: Option<SiteState>, lang: Lang) -> [String; 2] {
    match s {
        None => ["—".to_owned(), "—".to_owned()],
        Some(s) => [
            lang.yes_no(s.https_ok).to_owned(),
            lang.yes_no(s.forced_https).to_owned(),
        ],
    }
}

/// The comparison: `by` category (or agency) gives the figures per group; findings or sites
/// give one row per changed site.
pub(super) fn diff(d: &Diff, r: &Render) -> String {
    let lang = r.lang;
    let l = lang.labels();
    let s = |x: &str| x.to_owned();
    let mut rows: Vec<Vec<String>> = Vec::new();
    match r.by {
        By::Category | By::Agency => {
            rows.push(vec![
                s(l.group),
                format!("{} ({})", l.count, l.old),
                format!("{} ({})", l.count, l.new),
                format!("{} ({})", l.adopted, l.old),
                format!("{} ({})", l.adopted, l.new),
                format!("{} {}", l.adopted, l.change),
                format!("{} ({})", l.forced, l.old),
                format!("{} ({})", l.forced, l.new),
                format!("{} {}", l.forced, l.change),
                format!("{} ({})", l.ratio, l.old),
                format!("{} ({})", l.ratio, l.new),
            ]);
            let groups = d
                .groups
                .iter()
                .map(|g| (untrusted(&lang.group_name(&g.group)), g));
            for (name, g) in groups.chain(std::iter::once((s(l.total), &d.total))) {
                rows.push(vec![
                    name,
                    g.old.counts.count.to_string(),
                    g.new.counts.count.to_string(),
                    g.old.counts.adopted.to_string(),
                    g.new.counts.adopted.to_string(),
                    signed(g.adopted_change),
                    g.old.counts.forced.to_string(),
                    g.new.counts.forced.to_string(),
                    signed(g.forced_change),
                    g.old.ratio.to_string(),
                    g.new.ratio.to_string(),
                ]);
            }
        }
        By::Findings | By::Sites => {
            rows.push(vec![
                s(l.change),
                s(l.agency),
                s(l.group),
                s(l.site),
                format!("{} ({})", l.adopted, l.old),
                format!("{} ({})", l.forced, l.old),
                format!("{} ({})", l.adopted, l.new),
                format!("{} ({})", l.forced, l.new),
                l.findings_added.to_owned(),
                l.findings_removed.to_owned(),
            ]);
            for (kind, sites) in [
                (l.fixed, &d.fixed),
                (l.broke, &d.broke),
                (l.appeared, &d.appeared),
                (l.disappeared, &d.disappeared),
                (l.changed_findings, &d.changed_findings),
            ] {
                for c in sites {
                    let mut row = vec![
                        s(kind),
                        untrusted(&lang.agency_name(&c.agency)),
                        untrusted(&lang.group_name(&c.category)),
                        untrusted(&c.url),
                    ];
                    row.extend(state(c.old, lang));
                    row.extend(state(c.new, lang));
                    row.push(super::table::codes_text(&c.added));
                    row.push(super::table::codes_text(&c.removed));
                    rows.push(row);
                }
            }
        }
    }
    write(rows)
}
