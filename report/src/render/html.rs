//! HTML: one self-contained page to publish (inline CSS, no scripts, no external assets, so it
//! works offline and from a file), readable on a phone and printable.
//!
//! Every string that is not a constant of this crate goes through [`esc`]: agency names, URLs
//! and finding details come from scanned sites and are untrusted.

use super::table::{codes_text, note_text, state_text};
use super::{By, signed};
use crate::build::Since;
use crate::build::{AgencyNode, FailingSite};
use crate::diff::SiteChange;
use crate::{Diff, Lang, Ratio, Report, Row, when};
use std::fmt::Write;

/// Escape text for HTML element content and quoted attribute values.
/// Invisible formatting characters (bidi overrides…) are shown as code points first
/// ([`model::text::visible`]).
pub(crate) fn esc(s: &str) -> String {
    let s = model::text::visible(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newline have no place in the page.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ok: #1a7f37; --forced: #0969da; --bad: #cf222e; --warn: #9a6700; --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans TC", "Noto Sans CJK TC", "Microsoft JhengHei", "PingFang TC", sans-serif; line-height: 1.5; color: #1f2328; background: #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; border-bottom: 2px solid var(--line); padding-bottom: .25rem; }
.meta { color: var(--muted); margin: 0; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: .4rem .6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; white-space: nowrap; }
td.n, th.n { text-align: right; white-space: nowrap; }
tr.total td { font-weight: 700; background: #f6f8fa; }
.bars { display: grid; gap: .9rem; }
.bar-row { display: grid; grid-template-columns: minmax(6rem, 12rem) 1fr minmax(9rem, auto); gap: .2rem 1rem; align-items: center; }
.bar-name { font-weight: 600; grid-row: span 2; }
.bar { height: 1.1rem; background: #eaeef2; border-radius: .2rem; overflow: hidden; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.bar span { display: block; height: 100%; background: var(--ok); -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.bar.forced span { background: var(--forced); }
.bar-value { font-size: .85rem; white-space: nowrap; font-variant-numeric: tabular-nums; }
.bar-value b { display: inline-block; min-width: 4.2em; text-align: right; }
.swatch { display: inline-block; width: .7em; height: .7em; border-radius: .15em; background: var(--ok); margin-right: .3em; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.swatch.forced { background: var(--forced); }
td.agency { white-space: nowrap; }
.depth-1 { padding-left: 1.6rem; } .depth-2 { padding-left: 2.8rem; } .depth-3 { padding-left: 4rem; } .depth-4 { padding-left: 5.2rem; } .depth-deep { padding-left: 6.4rem; }
.sev-error { color: var(--bad); font-weight: 600; } .sev-warning { color: var(--warn); font-weight: 600; } .sev-info { color: var(--muted); }
.site { border: 1px solid var(--line); border-left: 4px solid var(--bad); border-radius: .3rem; padding: .6rem .9rem; margin: 0 0 .8rem; break-inside: avoid; page-break-inside: avoid; }
.site h3 { font-size: 1rem; margin: 0; overflow-wrap: anywhere; }
.site .url { font-family: ui-monospace, "SFMono-Regular", Consolas, monospace; font-size: .9rem; overflow-wrap: anywhere; }
.site .state { margin: .2rem 0 .4rem; color: var(--muted); }
.site ul { margin: 0; padding-left: 1.2rem; }
.site li { margin: .3rem 0; }
.detail { display: block; overflow-wrap: anywhere; font-size: .9rem; color: #424a53; }
.fix { display: block; }
.fix strong { color: var(--forced); }
code { font-family: ui-monospace, "SFMono-Regular", Consolas, monospace; font-size: .85em; background: #f6f8fa; padding: 0 .2em; border-radius: .2em; }
.since { margin: 0 0 .4rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(30rem, 1fr)); gap: .5rem 1.5rem; }
figure.trend { margin: 0 0 1.2rem; break-inside: avoid; page-break-inside: avoid; }
figure.trend figcaption { font-weight: 600; }
#todo ol { padding-left: 1.4rem; } #todo li { margin: .3rem 0; }
footer { margin: 2.5rem 0 1rem; color: var(--muted); font-size: .85rem; }
@media (max-width: 40rem) {
  main { padding: .6rem; }
  h1 { font-size: 1.3rem; }
  th, td { padding: .3rem .4rem; font-size: .9rem; }
  .bar-row { grid-template-columns: 1fr auto; }
  .bar-name { grid-row: auto; grid-column: 1 / -1; }
}
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, .bar-row { break-inside: avoid; page-break-inside: avoid; }
  th, tr.total td { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
}
"#;

pub(crate) fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\
         <footer>scanctl · {}</footer>\n</main>\n</body>\n</html>\n",
        lang.tag(),
        esc(title),
        esc(lang.labels().title),
    )
}

fn ratio_cell(r: Ratio) -> String {
    format!("<td class=\"n\">{}</td>", esc(&r.to_string()))
}

fn figure_cells(row: &Row) -> String {
    format!(
        "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{}",
        row.counts.count,
        row.counts.adopted,
        row.counts.forced,
        ratio_cell(row.ratio)
    )
}

fn figure_headers(lang: Lang, first: &str) -> String {
    let l = lang.labels();
    format!(
        "<thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead>",
        esc(first),
        esc(l.count),
        esc(l.adopted),
        esc(l.forced),
        esc(l.ratio)
    )
}

fn ndc(report: &Report, lang: Lang) -> String {
    let l = lang.labels();
    let mut s = format!(
        "<section id=\"ndc\">\n<h2>{}</h2>\n<div class=\"scroll\"><table>{}<tbody>\n",
        esc(l.ndc_table),
        figure_headers(lang, l.group)
    );
    for g in &report.groups {
        let _ = writeln!(
            s,
            "<tr><td>{}</td>{}</tr>",
            esc(&lang.group_name(&g.group)),
            figure_cells(&g.row)
        );
    }
    let _ = writeln!(
        s,
        "<tr class=\"total\"><td>{}</td>{}</tr>",
        esc(l.total),
        figure_cells(&report.total)
    );
    s.push_str("</tbody></table></div>\n</section>\n");
    s
}

/// Bar width as a CSS percentage, from the exact ratio (0% for an empty group).
fn width(r: Ratio) -> String {
    let bp = r.basis_points().unwrap_or(0).min(10_000);
    format!("{}.{:02}%", bp / 100, bp % 100)
}

fn bars(report: &Report, lang: Lang) -> String {
    let l = lang.labels();
    let mut s = format!(
        "<section id=\"bars\">\n<h2>{}</h2>\n<div class=\"bars\">\n",
        esc(l.bars)
    );
    let rows = report
        .groups
        .iter()
        .map(|g| (lang.group_name(&g.group), &g.row));
    for (name, row) in rows.chain(std::iter::once((l.total.to_owned(), &report.total))) {
        let _ = writeln!(
            s,
            "<div class=\"bar-row\"><div class=\"bar-name\">{}</div>\
             <div class=\"bar\" aria-hidden=\"true\"><span style=\"width:{}\"></span></div>\
             <div class=\"bar-value\"><i class=\"swatch\"></i>{} <b>{}</b></div>\
             <div class=\"bar forced\" aria-hidden=\"true\"><span style=\"width:{}\"></span></div>\
             <div class=\"bar-value\"><i class=\"swatch forced\"></i>{} <b>{}</b></div></div>",
            esc(&name),
            width(row.ratio),
            esc(l.ratio),
            esc(&row.ratio.to_string()),
            width(row.forced_ratio),
            esc(l.forced_ratio),
            esc(&row.forced_ratio.to_string()),
        );
    }
    s.push_str("</div>\n</section>\n");
    s
}

fn tree(report: &Report, lang: Lang) -> String {
    let l = lang.labels();
    let mut s = format!(
        "<section id=\"tree\">\n<h2>{}</h2>\n<div class=\"scroll\"><table>{}<tbody>\n",
        esc(l.agency_tree),
        figure_headers(lang, l.agency)
    );
    for (depth, node) in AgencyNode::walk(&report.tree) {
        let class = match depth {
            0 => String::new(),
            1..=4 => format!(" depth-{depth}"),
            _ => " depth-deep".to_owned(),
        };
        let mark = if depth == 0 { "" } else { "└ " };
        let _ = writeln!(
            s,
            "<tr><td class=\"agency{class}\">{mark}{}</td>{}</tr>",
            esc(&lang.agency_name(&node.agency)),
            figure_cells(&node.row)
        );
    }
    s.push_str("</tbody></table></div>\n</section>\n");
    s
}

fn findings(report: &Report, lang: Lang) -> String {
    let l = lang.labels();
    let mut s = format!(
        "<section id=\"findings\">\n<h2>{}</h2>\n<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th class=\"n\">{}</th>",
        esc(l.findings),
        esc(l.code),
        esc(l.meaning),
        esc(l.severity),
        esc(l.sites)
    );
    for g in &report.groups {
        let _ = write!(
            s,
            "<th class=\"n\">{}</th>",
            esc(&lang.group_name(&g.group))
        );
    }
    s.push_str("</tr></thead><tbody>\n");
    for f in &report.findings {
        let _ = write!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"sev-{}\">{}</td><td class=\"n\">{}</td>",
            esc(f.code.as_str()),
            esc(lang.meaning(f.code)),
            f.severity.as_str(),
            esc(lang.severity(f.severity)),
            f.sites
        );
        for g in &f.per_group {
            let _ = write!(s, "<td class=\"n\">{}</td>", g.sites);
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n</section>\n");
    s
}

fn failing_site(site: &FailingSite, since: Option<&Since>, lang: Lang) -> String {
    let l = lang.labels();
    let w = words(lang);
    let since = since
        .map(|x| {
            let when = x
                .started
                .as_deref()
                .map(when::taiwan_text)
                .unwrap_or_default();
            format!(
                "<p class=\"since\"><strong>{}{}</strong>{} {} · {}</p>",
                esc(w.failing_since),
                l.colon,
                esc(&x.scan),
                esc(&when),
                esc(&(w.scans_in_a_row)(x.scans)),
            )
        })
        .unwrap_or_default();
    let mut s = format!(
        "<article class=\"site\"><h3>{} · <span class=\"url\">{}</span></h3>\
         <p class=\"state\">{}{c}{} · {}{c}{} · {}</p>{since}<ul>",
        esc(&lang.agency_name(&site.agency)),
        esc(&site.url),
        esc(l.adopted),
        esc(lang.yes_no(site.https_ok)),
        esc(l.forced),
        esc(lang.yes_no(site.forced_https)),
        esc(&lang.group_name(&site.category)),
        c = l.colon,
    );
    if site.findings.is_empty() {
        let _ = write!(s, "<li>{}</li>", esc(l.no_finding));
    }
    for f in &site.findings {
        let _ = write!(
            s,
            "<li><code>{}</code> <span class=\"sev-{}\">{}</span> {}<span class=\"detail\">{}</span>\
             <span class=\"fix\"><strong>{}{c}</strong>{}</span></li>",
            esc(f.code.as_str()),
            f.severity.as_str(),
            esc(lang.severity(f.severity)),
            esc(lang.meaning(f.code)),
            esc(&f.detail),
            esc(l.fix),
            esc(lang.fix(f.code)),
            c = l.colon,
        );
    }
    s.push_str("</ul></article>\n");
    s
}

fn failing(report: &Report, lang: Lang) -> String {
    let l = lang.labels();
    let mut s = format!(
        "<section id=\"failing\">\n<h2>{} ({})</h2>\n",
        esc(l.failing),
        report.failing.len()
    );
    if report.failing.is_empty() {
        let _ = writeln!(s, "<p>{}</p>", esc(l.none_failing));
    }
    for site in &report.failing {
        let since = report
            .history
            .as_ref()
            .and_then(|h| h.failing_since.get(&site.url));
        s.push_str(&failing_site(site, since, lang));
    }
    s.push_str("</section>\n");
    s
}

/// Sites only Chrome refuses, per group and per agency (empty when there are none).
fn chrome_only(report: &Report, lang: Lang) -> String {
    let Some(c) = report.chrome_only.as_ref().filter(|c| c.sites > 0) else {
        return String::new();
    };
    let l = lang.labels();
    let mut s = format!(
        "<section id=\"chrome-only\">\n<h2>{} ({})</h2>\n<p>{}</p>\n<div class=\"scroll\"><table><thead><tr><th>{}</th><th class=\"n\">{}</th></tr></thead><tbody>\n",
        esc(l.chrome_only),
        c.sites,
        esc(l.chrome_only_note),
        esc(l.group),
        esc(l.sites)
    );
    for g in &c.per_group {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&lang.group_name(&g.group)),
            g.sites
        );
    }
    let _ = writeln!(
        s,
        "</tbody></table></div>\n<div class=\"scroll\"><table><thead><tr><th>{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
        esc(l.agency),
        esc(l.sites)
    );
    for a in &c.per_agency {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&a.agency),
            a.sites
        );
    }
    s.push_str("</tbody></table></div>\n</section>\n");
    s
}

fn notes(report: &Report, lang: Lang) -> String {
    if report.notes.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "<section id=\"notes\">\n<h2>{}</h2>\n<ul>\n",
        esc(lang.labels().notes)
    );
    for n in &report.notes {
        let _ = writeln!(s, "<li>{}</li>", esc(&note_text(n, lang)));
    }
    s.push_str("</ul>\n</section>\n");
    s
}

/// The words of the sections the archive adds (history, what to do first).
struct Words {
    scan_name: &'static str,
    scope: &'static str,
    everyone: &'static str,
    sites_in_scope: fn(u64) -> String,
    todo: &'static str,
    todo_none: &'static str,
    todo_item: fn(u64) -> String,
    trend: &'static str,
    since_previous: fn(&str) -> String,
    failing_since: &'static str,
    scans_in_a_row: fn(u32) -> String,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::ZhTw => Words {
            scan_name: "掃描名稱",
            scope: "範圍",
            everyone: "全部機關",
            sites_in_scope: |n| format!("{n} 個網站"),
            todo: "優先處理",
            todo_none: "沒有錯誤等級的問題。",
            todo_item: |n| format!("{n} 個網站"),
            trend: "歷次掃描趨勢",
            since_previous: |p| format!("與上次掃描（{p}）相比"),
            failing_since: "未符合自",
            scans_in_a_row: |n| format!("連續 {n} 次掃描"),
        },
        Lang::En => Words {
            scan_name: "Scan",
            scope: "Scope",
            everyone: "all agencies",
            sites_in_scope: |n| format!("{n} sites"),
            todo: "What to do first",
            todo_none: "No error-level finding.",
            todo_item: |n| format!("{n} sites"),
            trend: "Trend over the archived scans",
            since_previous: |p| format!("Since the previous scan ({p})"),
            failing_since: "Failing since",
            scans_in_a_row: |n| format!("{n} scans in a row"),
        },
    }
}

/// The errors of the report, worst first (severity, then sites), each with its fix.
fn todo(report: &Report, lang: Lang) -> String {
    let w = words(lang);
    let mut errors: Vec<&crate::FindingCount> = report
        .findings
        .iter()
        .filter(|f| f.severity == model::Severity::Error)
        .collect();
    errors.sort_by_key(|f| std::cmp::Reverse(f.sites));
    let mut s = format!("<section id=\"todo\">\n<h2>{}</h2>\n", esc(w.todo));
    if errors.is_empty() {
        let _ = writeln!(s, "<p>{}</p>", esc(w.todo_none));
    } else {
        s.push_str("<ol>\n");
        for f in errors.iter().take(5) {
            let _ = writeln!(
                s,
                "<li><strong>{}</strong> <code>{}</code> · {}<span class=\"fix\">{}</span></li>",
                esc(lang.meaning(f.code)),
                esc(f.code.as_str()),
                esc(&(w.todo_item)(f.sites)),
                esc(lang.fix(f.code)),
            );
        }
        s.push_str("</ol>\n");
    }
    s.push_str("</section>\n");
    s
}

/// The trend charts and the changes since the previous scan, when the archive gave them.
fn history(report: &Report, lang: Lang) -> String {
    let Some(h) = &report.history else {
        return String::new();
    };
    let l = lang.labels();
    let w = words(lang);
    let mut s = String::new();
    if !h.trend.rows.is_empty() {
        let _ = writeln!(
            s,
            "<section id=\"trend\">\n<h2>{}</h2>\n{}</section>",
            esc(w.trend),
            h.trend.charts_html(lang)
        );
    }
    if let (Some(prev), Some(d)) = (&h.previous, &h.changes) {
        let _ = writeln!(
            s,
            "<section id=\"changes\">\n<h2>{}</h2>",
            esc(&(w.since_previous)(prev))
        );
        for (title, sites) in [
            (l.fixed, &d.fixed),
            (l.broke, &d.broke),
            (l.appeared, &d.appeared),
            (l.disappeared, &d.disappeared),
        ] {
            s.push_str(&site_changes(title, sites, lang));
        }
        s.push_str("</section>\n");
    }
    s
}

pub(super) fn report(report: &Report, lang: Lang, by: By) -> String {
    let l = lang.labels();
    let w = words(lang);
    let mut body = format!("<h1>{}</h1>\n", esc(l.title));
    if let Some(name) = &report.name {
        let _ = writeln!(
            body,
            "<p class=\"meta\">{}{}<strong>{}</strong></p>",
            esc(w.scan_name),
            l.colon,
            esc(name)
        );
    }
    let _ = writeln!(
        body,
        "<p class=\"meta\">{}{}{} · {}</p>",
        esc(w.scope),
        l.colon,
        esc(report.agency_filter.as_deref().unwrap_or(w.everyone)),
        esc(&(w.sites_in_scope)(report.total.counts.count)),
    );
    if let Some(when) = super::scanned(report, lang) {
        let _ = writeln!(
            body,
            "<p class=\"meta\">{}{}{}</p>",
            esc(l.scanned),
            l.colon,
            esc(&when)
        );
    }
    if let Some(a) = &report.agency_filter {
        let _ = writeln!(
            body,
            "<p class=\"meta\">{}{}{}</p>",
            esc(l.filter),
            l.colon,
            esc(a)
        );
    }
    body.push_str(&todo(report, lang));
    let (ndc, bars, tree, findings, failing) = (
        ndc(report, lang),
        bars(report, lang),
        tree(report, lang),
        findings(report, lang),
        failing(report, lang),
    );
    let order = match by {
        By::Category => [ndc, bars, tree, findings, failing],
        By::Agency => [tree, ndc, bars, findings, failing],
        By::Findings => [findings, ndc, bars, tree, failing],
        By::Sites => [failing, ndc, bars, tree, findings],
    };
    for (i, section) in order.into_iter().enumerate() {
        body.push_str(&section);
        if i == 0 && matches!(by, By::Category | By::Agency) {
            body.push_str(&chrome_only(report, lang));
        }
        if i == 0 {
            body.push_str(&history(report, lang));
        }
    }
    body.push_str(&notes(report, lang));
    page(lang, l.title, &body)
}

fn site_changes(title: &str, sites: &[SiteChange], lang: Lang) -> String {
    let l = lang.labels();
    let mut s = format!("<section>\n<h2>{} ({})</h2>\n", esc(title), sites.len());
    if sites.is_empty() {
        let _ = writeln!(s, "<p>{}</p>\n</section>", esc(l.nothing));
        return s;
    }
    let _ = write!(
        s,
        "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(l.agency),
        esc(l.site),
        esc(l.old),
        esc(l.new),
        esc(l.findings_added),
        esc(l.findings_removed)
    );
    for c in sites {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td class=\"url\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&lang.agency_name(&c.agency)),
            esc(&c.url),
            esc(&state_text(c.old, lang)),
            esc(&state_text(c.new, lang)),
            esc(&codes_text(&c.added)),
            esc(&codes_text(&c.removed)),
        );
    }
    s.push_str("</tbody></table></div>\n</section>\n");
    s
}

pub(super) fn diff(d: &Diff, lang: Lang) -> String {
    let l = lang.labels();
    let mut body = format!(
        "<h1>{}</h1>\n<section>\n<div class=\"scroll\"><table><thead><tr><th>{}</th>",
        esc(l.diff_title),
        esc(l.group)
    );
    for (what, change) in [
        (l.count, false),
        (l.adopted, true),
        (l.forced, true),
        (l.ratio, false),
    ] {
        let _ = write!(
            body,
            "<th class=\"n\">{} ({})</th><th class=\"n\">{} ({})</th>",
            esc(what),
            esc(l.old),
            esc(what),
            esc(l.new)
        );
        if change {
            let _ = write!(body, "<th class=\"n\">{} {}</th>", esc(what), esc(l.change));
        }
    }
    body.push_str("</tr></thead><tbody>\n");
    let rows = d.groups.iter().map(|g| (lang.group_name(&g.group), g, ""));
    for (name, g, class) in rows.chain(std::iter::once((
        l.total.to_owned(),
        &d.total,
        " class=\"total\"",
    ))) {
        let _ = writeln!(
            body,
            "<tr{class}><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{}{}</tr>",
            esc(&name),
            g.old.counts.count,
            g.new.counts.count,
            g.old.counts.adopted,
            g.new.counts.adopted,
            signed(g.adopted_change),
            g.old.counts.forced,
            g.new.counts.forced,
            signed(g.forced_change),
            ratio_cell(g.old.ratio),
            ratio_cell(g.new.ratio),
        );
    }
    body.push_str("</tbody></table></div>\n</section>\n");
    for (title, sites) in [
        (l.fixed, &d.fixed),
        (l.broke, &d.broke),
        (l.appeared, &d.appeared),
        (l.disappeared, &d.disappeared),
        (l.changed_findings, &d.changed_findings),
    ] {
        body.push_str(&site_changes(title, sites, lang));
    }
    page(lang, l.diff_title, &body)
}
