//! The terminal rendering: Markdown-style tables (comfy-table measures CJK characters as two
//! columns, so Chinese headings line up), which also paste into a README as they are.

use super::{By, Render, clean, signed};
use crate::build::{AgencyNode, Note};
use crate::diff::{SiteChange, SiteState};
use crate::{Diff, Lang, Report};
use comfy_table::{Cell, CellAlignment, ColumnConstraint, ContentArrangement, Table, presets};
use std::fmt::Write;

pub(crate) fn new_table(r: &Render) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN);
    match r.width {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

/// Keep these columns as wide as their content when the table wraps to the terminal: only
/// the long free-text columns (details, fixes, meanings) wrap.
fn unwrapped(t: &mut Table, columns: impl IntoIterator<Item = usize>) {
    for i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

fn num(n: impl ToString) -> Cell {
    Cell::new(n.to_string()).set_alignment(CellAlignment::Right)
}

fn figures(row: &crate::Row) -> Vec<Cell> {
    vec![
        num(row.counts.count),
        num(row.counts.adopted),
        num(row.counts.forced),
        num(row.ratio),
    ]
}

pub(super) fn ndc_table(report: &Report, r: &Render) -> Table {
    let l = r.lang.labels();
    let mut t = new_table(r);
    t.set_header(vec![l.group, l.count, l.adopted, l.forced, l.ratio]);
    for g in &report.groups {
        let mut row = vec![Cell::new(clean(&r.lang.group_name(&g.group)))];
        row.extend(figures(&g.row));
        t.add_row(row);
    }
    let mut row = vec![Cell::new(l.total)];
    row.extend(figures(&report.total));
    t.add_row(row);
    unwrapped(&mut t, 0..5);
    t
}

fn tree_table(report: &Report, r: &Render) -> Table {
    let l = r.lang.labels();
    let mut t = new_table(r);
    t.set_header(vec![l.agency, l.count, l.adopted, l.forced, l.ratio]);
    for (depth, node) in AgencyNode::walk(&report.tree) {
        let name = clean(&r.lang.agency_name(&node.agency));
        let indented = if depth == 0 {
            name
        } else {
            format!("{}└ {name}", "  ".repeat(depth - 1))
        };
        let mut row = vec![Cell::new(indented)];
        row.extend(figures(&node.row));
        t.add_row(row);
    }
    unwrapped(&mut t, 0..5);
    t
}

fn findings_table(report: &Report, r: &Render) -> Table {
    let l = r.lang.labels();
    let mut t = new_table(r);
    let mut header = vec![
        l.code.to_owned(),
        l.meaning.to_owned(),
        l.severity.to_owned(),
        l.sites.to_owned(),
    ];
    header.extend(
        report
            .groups
            .iter()
            .map(|g| clean(&r.lang.group_name(&g.group))),
    );
    t.set_header(header);
    for f in &report.findings {
        let mut row = vec![
            Cell::new(f.code.as_str()),
            Cell::new(r.lang.meaning(f.code)),
            Cell::new(r.lang.severity(f.severity)),
            num(f.sites),
        ];
        row.extend(f.per_group.iter().map(|g| num(g.sites)));
        t.add_row(row);
    }
    let columns = 4 + report.groups.len();
    unwrapped(&mut t, (0..columns).filter(|&i| i != 1));
    t
}

/// The failing sites as a Markdown list: one heading per site, one item per finding with its
/// detail and fix. Long details and fixes read better as text the terminal wraps than as
/// table cells squeezed to its width.
fn failing_list(report: &Report, r: &Render) -> String {
    let lang = r.lang;
    let l = lang.labels();
    let c = l.colon;
    let mut out = String::new();
    for s in &report.failing {
        let _ = writeln!(
            out,
            "### {} · {}
{}{c}{} · {}{c}{} · {}
",
            clean(&lang.agency_name(&s.agency)),
            clean(&s.url),
            l.adopted,
            lang.yes_no(s.https_ok),
            l.forced,
            lang.yes_no(s.forced_https),
            clean(&lang.group_name(&s.category)),
        );
        if s.findings.is_empty() {
            let _ = writeln!(out, "- {}", l.no_finding);
        }
        for f in &s.findings {
            let _ = writeln!(
                out,
                "- `{}` ({}) {}
  {}{c}{}
  {}{c}{}",
                f.code.as_str(),
                lang.severity(f.severity),
                lang.meaning(f.code),
                l.detail,
                clean(&f.detail),
                l.fix,
                lang.fix(f.code),
            );
        }
        out.push('\n');
    }
    out
}

pub(super) fn note_text(n: &Note, lang: Lang) -> String {
    match (n, lang) {
        (Note::ParentCycle { cycle, broken_at }, Lang::ZhTw) => format!(
            "上級機關形成循環（{}），已將「{}」視為最上層機關。",
            cycle.join(" → "),
            broken_at
        ),
        (Note::ParentCycle { cycle, broken_at }, Lang::En) => format!(
            "The parent links form a cycle ({}); {} was taken as a top-level agency.",
            cycle.join(" → "),
            broken_at
        ),
        (
            Note::ConflictingParent {
                agency,
                kept,
                ignored,
            },
            Lang::ZhTw,
        ) => format!("「{agency}」的網站填了不同的上級機關：採用「{kept}」，忽略「{ignored}」。"),
        (
            Note::ConflictingParent {
                agency,
                kept,
                ignored,
            },
            Lang::En,
        ) => {
            format!("Sites of {agency} name different parents: {kept} was kept, {ignored} ignored.")
        }
    }
}

/// Sites only Chrome refuses, per group and per agency; `None` when there are none.
fn chrome_only(report: &Report, r: &Render) -> Option<String> {
    let c = report.chrome_only.as_ref().filter(|c| c.sites > 0)?;
    let l = r.lang.labels();
    let mut t = new_table(r);
    t.set_header(vec![Cell::new(l.group), Cell::new(l.sites)]);
    for g in &c.per_group {
        t.add_row(vec![Cell::new(clean(&g.group)), num(g.sites)]);
    }
    t.add_row(vec![Cell::new(l.total), num(c.sites)]);
    let mut a = new_table(r);
    a.set_header(vec![Cell::new(l.agency), Cell::new(l.sites)]);
    for s in &c.per_agency {
        a.add_row(vec![Cell::new(clean(&s.agency)), num(s.sites)]);
    }
    Some(format!(
        "{}\n\n{}\n\n{}",
        l.chrome_only_note,
        t.trim_fmt(),
        a.trim_fmt()
    ))
}

pub(super) fn report(report: &Report, r: &Render) -> String {
    let l = r.lang.labels();
    let mut out = String::new();
    let _ = writeln!(out, "# {}", l.title);
    if let Some(when) = super::scanned(report, r.lang) {
        let _ = writeln!(out, "{}: {}", l.scanned, clean(&when));
    }
    if let Some(a) = &report.agency_filter {
        let _ = writeln!(out, "{}: {}", l.filter, clean(a));
    }
    let sections: Vec<(&str, String)> = {
        let ndc = (l.ndc_table, ndc_table(report, r).trim_fmt());
        let tree = (l.agency_tree, tree_table(report, r).trim_fmt());
        let findings = (l.findings, findings_table(report, r).trim_fmt());
        let failing = if report.failing.is_empty() {
            (l.failing, l.none_failing.to_owned())
        } else {
            (l.failing, failing_list(report, r).trim_end().to_owned())
        };
        let mut sections = match r.by {
            By::Category => vec![ndc, findings, failing],
            By::Agency => vec![tree, findings, failing],
            By::Findings => vec![findings, ndc],
            By::Sites => vec![failing, ndc],
        };
        if let Some(text) = chrome_only(report, r)
            && matches!(r.by, By::Category | By::Agency)
        {
            sections.insert(1, (l.chrome_only, text));
        }
        sections
    };
    for (title, text) in sections {
        let _ = writeln!(out, "\n## {title}\n\n{text}");
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out, "\n## {}\n", l.notes);
        for n in &report.notes {
            let _ = writeln!(out, "- {}", clean(&note_text(n, r.lang)));
        }
    }
    out
}

pub(super) fn state_text(s: Option<SiteState>, lang: Lang) -> String {
    let l = lang.labels();
    match s {
        None => "—".to_owned(),
        Some(s) => format!(
            "{} {} / {} {}",
            l.adopted,
            lang.yes_no(s.https_ok),
            l.forced,
            lang.yes_no(s.forced_https)
        ),
    }
}

pub(super) fn codes_text(codes: &[model::Code]) -> String {
    codes
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn diff(d: &Diff, r: &Render) -> String {
    let lang = r.lang;
    let l = lang.labels();
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", l.diff_title);
    let mut t = new_table(r);
    t.set_header(vec![
        l.group.to_owned(),
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
    let rows = d.groups.iter().map(|g| (lang.group_name(&g.group), g));
    for (name, g) in rows.chain(std::iter::once((l.total.to_owned(), &d.total))) {
        t.add_row(vec![
            Cell::new(clean(&name)),
            num(g.old.counts.count),
            num(g.new.counts.count),
            num(g.old.counts.adopted),
            num(g.new.counts.adopted),
            num(signed(g.adopted_change)),
            num(g.old.counts.forced),
            num(g.new.counts.forced),
            num(signed(g.forced_change)),
            num(g.old.ratio),
            num(g.new.ratio),
        ]);
    }
    let _ = writeln!(out, "{}", t.trim_fmt());
    for (title, sites) in [
        (l.fixed, &d.fixed),
        (l.broke, &d.broke),
        (l.appeared, &d.appeared),
        (l.disappeared, &d.disappeared),
        (l.changed_findings, &d.changed_findings),
    ] {
        let _ = writeln!(out, "\n## {title} ({})\n", sites.len());
        if sites.is_empty() {
            let _ = writeln!(out, "{}", l.nothing);
            continue;
        }
        let _ = writeln!(out, "{}", sites_table(sites, r).trim_fmt());
    }
    out
}

fn sites_table(sites: &[SiteChange], r: &Render) -> Table {
    let lang = r.lang;
    let l = lang.labels();
    let mut t = new_table(r);
    t.set_header(vec![
        l.agency.to_owned(),
        l.site.to_owned(),
        l.old.to_owned(),
        l.new.to_owned(),
        l.findings_added.to_owned(),
        l.findings_removed.to_owned(),
    ]);
    for s in sites {
        t.add_row(vec![
            clean(&lang.agency_name(&s.agency)),
            clean(&s.url),
            state_text(s.old, lang),
            state_text(s.new, lang),
            codes_text(&s.added),
            codes_text(&s.removed),
        ]);
    }
    t
}
