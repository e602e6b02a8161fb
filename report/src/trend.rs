//! Trends (管考): the NDC figures of one scope scan after scan, as a table, CSV, JSON, or an
//! HTML page with one chart per group.
//!
//! The figures come from wherever the scans are kept (the archive computes them in SQL); this
//! module only holds and renders them, with the same [`Row`] and [`Ratio`](crate::Ratio) as
//! every report, so a trend's ratio is the report's ratio.
//!
//! The chart is inline SVG (no script, no external asset) made to survive a black-and-white
//! printer: adopted is a solid line with filled circles, forced a dashed line with hollow
//! squares, each labelled in words; the grid is light and the values are printed.

use crate::build::Row;
use crate::render::html::esc;
use crate::render::{Format, Render, clean};
use crate::{Counts, Lang, when};
use comfy_table::{Cell, CellAlignment};
use serde::Serialize;
use std::fmt::Write;

/// A series of scans' figures: per scan, its groups then its total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// `category` or `agency`: what the groups are.
    pub by: String,
    /// The agency the trend is limited to, if any.
    pub agency: Option<String>,
    pub rows: Vec<TrendPoint>,
}

/// One scan's figures for one group (or its total).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The scan's name.
    pub scan: String,
    /// When it started (RFC 3339), when known.
    pub started: Option<String>,
    /// The group; `None` for the scan's total row.
    pub group: Option<String>,
    #[serde(flatten)]
    pub row: Row,
}

impl TrendPoint {
    pub fn new(scan: String, started: Option<String>, group: Option<String>, c: Counts) -> Self {
        TrendPoint {
            scan,
            started,
            group,
            row: c.into(),
        }
    }
}

struct Words {
    title: &'static str,
    scan: &'static str,
    started: &'static str,
    chart_of: &'static str,
    adopted_line: &'static str,
    forced_line: &'static str,
    empty: &'static str,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::ZhTw => Words {
            title: "HTTPS導入趨勢",
            scan: "掃描",
            started: "開始時間（臺灣時間）",
            chart_of: "趨勢",
            adopted_line: "導入比率（實線、實心圓）",
            forced_line: "強制導入比率（虛線、空心方塊）",
            empty: "沒有已封存的掃描。",
        },
        Lang::En => Words {
            title: "HTTPS adoption trend",
            scan: "Scan",
            started: "Started (Taiwan time)",
            chart_of: "Trend",
            adopted_line: "adoption ratio (solid line, filled circles)",
            forced_line: "forced ratio (dashed line, hollow squares)",
            empty: "No archived scan.",
        },
    }
}

impl Trend {
    /// The group names in order of first appearance, the total (`None`) last.
    pub fn groups(&self) -> Vec<Option<&str>> {
        let mut out: Vec<Option<&str>> = Vec::new();
        for p in &self.rows {
            let g = p.group.as_deref();
            if g.is_some() && !out.contains(&g) {
                out.push(g);
            }
        }
        out.push(None);
        out
    }

    /// The points of one group (`None`: the totals), oldest first.
    pub fn series(&self, group: Option<&str>) -> Vec<&TrendPoint> {
        self.rows
            .iter()
            .filter(|p| p.group.as_deref() == group)
            .collect()
    }

    /// The trend in `format`. CSV starts with a UTF-8 BOM.
    pub fn render(&self, format: Format, r: &Render) -> String {
        match format {
            Format::Table => self.table(r),
            Format::Csv => self.csv(r.lang),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
                s.push('\n');
                s
            }
            Format::Html => self.html(r.lang),
        }
    }

    fn group_label(&self, group: Option<&str>, lang: Lang) -> String {
        match group {
            None => lang.labels().total.to_owned(),
            Some(g) if self.by == "agency" => lang.agency_name(g),
            Some(g) => lang.group_name(g),
        }
    }

    fn headers(&self, lang: Lang) -> Vec<&'static str> {
        let l = lang.labels();
        let w = words(lang);
        let group = if self.by == "agency" {
            l.agency
        } else {
            l.group
        };
        vec![
            w.scan, w.started, group, l.count, l.adopted, l.forced, l.ratio,
        ]
    }

    fn started(p: &TrendPoint) -> String {
        p.started
            .as_deref()
            .map(when::taiwan_text)
            .unwrap_or_default()
    }

    fn table(&self, r: &Render) -> String {
        let mut t = crate::render::table::new_table(r);
        t.set_header(self.headers(r.lang));
        let num = |n: String| Cell::new(n).set_alignment(CellAlignment::Right);
        for p in &self.rows {
            t.add_row(vec![
                Cell::new(clean(&p.scan)),
                Cell::new(Self::started(p)),
                Cell::new(clean(&self.group_label(p.group.as_deref(), r.lang))),
                num(p.row.counts.count.to_string()),
                num(p.row.counts.adopted.to_string()),
                num(p.row.counts.forced.to_string()),
                num(p.row.ratio.to_string()),
            ]);
        }
        format!("# {}\n\n{t}\n", words(r.lang).title)
    }

    fn csv(&self, lang: Lang) -> String {
        use crate::render::csv::untrusted;
        let mut rows = vec![
            self.headers(lang)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>(),
        ];
        for p in &self.rows {
            rows.push(vec![
                untrusted(&p.scan),
                Self::started(p),
                untrusted(&self.group_label(p.group.as_deref(), lang)),
                p.row.counts.count.to_string(),
                p.row.counts.adopted.to_string(),
                p.row.counts.forced.to_string(),
                p.row.ratio.to_string(),
            ]);
        }
        crate::render::csv::write(rows)
    }

    /// One chart per group, then the table.
    pub fn charts_html(&self, lang: Lang) -> String {
        let mut s = String::from("<div class=\"charts\">\n");
        for g in self.groups() {
            let points: Vec<(String, Row)> = self
                .series(g)
                .into_iter()
                .map(|p| (p.scan.clone(), p.row))
                .collect();
            s.push_str(&chart(&self.group_label(g, lang), &points, lang));
        }
        s.push_str("</div>\n");
        s
    }

    fn html(&self, lang: Lang) -> String {
        let w = words(lang);
        let mut body = format!("<h1>{}</h1>\n", esc(w.title));
        if let Some(a) = &self.agency {
            let l = lang.labels();
            let _ = writeln!(
                body,
                "<p class=\"meta\">{}{}{}</p>",
                esc(l.filter),
                l.colon,
                esc(a)
            );
        }
        if self.rows.is_empty() {
            let _ = writeln!(body, "<p>{}</p>", esc(w.empty));
        }
        body.push_str("<section id=\"charts\">\n");
        if !self.rows.is_empty() {
            body.push_str(&self.charts_html(lang));
        }
        body.push_str(
            "</section>\n<section id=\"trend-table\"><div class=\"scroll\"><table><thead><tr>",
        );
        for h in self.headers(lang) {
            let _ = write!(body, "<th>{}</th>", esc(h));
        }
        body.push_str("</tr></thead><tbody>\n");
        for p in &self.rows {
            let class = if p.group.is_none() {
                " class=\"total\""
            } else {
                ""
            };
            let _ = writeln!(
                body,
                "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&p.scan),
                esc(&Self::started(p)),
                esc(&self.group_label(p.group.as_deref(), lang)),
                p.row.counts.count,
                p.row.counts.adopted,
                p.row.counts.forced,
                esc(&p.row.ratio.to_string()),
            );
        }
        body.push_str("</tbody></table></div></section>\n");
        crate::render::html::page(lang, w.title, &body)
    }
}

/// One group's chart: the adoption and forced ratios of each scan, 0–100%.
pub(crate) fn chart(title: &str, points: &[(String, Row)], lang: Lang) -> String {
    const W: f64 = 640.0;
    const H: f64 = 266.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 24.0;
    const TOP: f64 = 60.0;
    const BOTTOM: f64 = 44.0;
    let w = words(lang);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = points.len();
    let x = |i: usize| {
        if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y = |bp: u64| TOP + plot_h * (1.0 - bp.min(10_000) as f64 / 10_000.0);
    let mut s = format!(
        "<figure class=\"trend\"><figcaption>{} · {}</figcaption>\n\
         <svg viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"{} {}\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"12\">\n",
        esc(title),
        esc(w.chart_of),
        esc(title),
        esc(w.chart_of)
    );
    // Grid and axis labels.
    for pct in [0u64, 25, 50, 75, 100] {
        let yy = y(pct * 100);
        let _ = writeln!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{yy:.1}\" x2=\"{:.1}\" y2=\"{yy:.1}\" stroke=\"#bbb\" stroke-width=\"0.6\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333\">{pct}%</text>",
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    // Legend: the line styles in words.
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" y1=\"12\" x2=\"{:.1}\" y2=\"12\" stroke=\"#000\" stroke-width=\"2\"/>\
         <circle cx=\"{:.1}\" cy=\"12\" r=\"3.5\" fill=\"#000\"/>\
         <text x=\"{:.1}\" y=\"16\" fill=\"#000\">{}</text>\
         <line x1=\"{LEFT}\" y1=\"30\" x2=\"{:.1}\" y2=\"30\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\
         <rect x=\"{:.1}\" y=\"26.5\" width=\"7\" height=\"7\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\"/>\
         <text x=\"{:.1}\" y=\"34\" fill=\"#000\">{}</text>",
        LEFT + 28.0,
        LEFT + 14.0,
        LEFT + 36.0,
        esc(w.adopted_line),
        LEFT + 28.0,
        LEFT + 10.5,
        LEFT + 36.0,
        esc(w.forced_line),
    );
    let line = |pick: &dyn Fn(&Row) -> u64| -> String {
        points
            .iter()
            .enumerate()
            .map(|(i, (_, r))| format!("{:.1},{:.1}", x(i), y(pick(r))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let adopted = |r: &Row| r.ratio.basis_points().unwrap_or(0);
    let forced = |r: &Row| r.forced_ratio.basis_points().unwrap_or(0);
    let _ = writeln!(
        s,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\"/>\
         <polyline points=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
        line(&adopted),
        line(&forced)
    );
    for (i, (name, r)) in points.iter().enumerate() {
        let (xa, ya, yf) = (x(i), y(adopted(r)), y(forced(r)));
        let label: String = name.chars().take(14).collect();
        // The first label reads rightwards from its point, the last leftwards: neither
        // runs into the axis or off the chart.
        let anchor = match i {
            0 if n > 1 => "start",
            i if n > 1 && i == n - 1 => "end",
            _ => "middle",
        };
        let _ = writeln!(
            s,
            "<circle cx=\"{xa:.1}\" cy=\"{ya:.1}\" r=\"4\" fill=\"#000\"><title>{} {}</title></circle>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"8\" height=\"8\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"><title>{} {}</title></rect>\
             <text x=\"{xa:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#000\" font-weight=\"bold\">{}</text>\
             <text x=\"{xa:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\" fill=\"#333\">{}</text>",
            esc(name),
            esc(&r.ratio.to_string()),
            xa - 4.0,
            yf - 4.0,
            esc(name),
            esc(&r.forced_ratio.to_string()),
            ya - 8.0,
            esc(&r.ratio.to_string()),
            H - BOTTOM + 18.0,
            esc(&label),
        );
    }
    s.push_str("</svg></figure>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trend() -> Trend {
        let p = |scan: &str, g: Option<&str>, n, a, f| {
            TrendPoint::new(
                scan.into(),
                Some("2026-11-29T02:00:00Z".into()),
                g.map(str::to_owned),
                Counts {
                    count: n,
                    adopted: a,
                    forced: f,
                },
            )
        };
        Trend {
            by: "category".into(),
            agency: None,
            rows: vec![
                p("Q3", Some("二級機關"), 32, 1, 0),
                p("Q3", None, 32, 1, 0),
                p("Q4", Some("二級機關"), 32, 16, 8),
                p("Q4", None, 32, 16, 8),
            ],
        }
    }

    #[test]
    fn every_format_uses_the_reports_ratio_and_taiwan_time() {
        let t = trend();
        let r = Render::default();
        let table = t.render(Format::Table, &r);
        assert!(
            table.contains("3.13%") && table.contains("50.00%"),
            "{table}"
        );
        assert!(table.contains("2026-11-29 10:00"), "{table}");
        let csv = t.render(Format::Csv, &r);
        assert!(csv.starts_with('\u{feff}'));
        assert!(
            csv.contains("Q3,2026-11-29 10:00,二級機關,32,1,0,3.13%"),
            "{csv}"
        );
        let json: serde_json::Value = serde_json::from_str(&t.render(Format::Json, &r)).unwrap();
        assert_eq!(json["rows"][0]["ratio"], 3.13);
        assert_eq!(json["rows"][1]["group"], serde_json::Value::Null);
    }

    #[test]
    fn the_chart_has_one_figure_per_group_and_both_line_styles() {
        let html = trend().render(Format::Html, &Render::default());
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("stroke-dasharray=\"6 4\""));
        // The adoption ratio is printed at each point: 3.13% then 50.00%.
        assert!(html.contains(">3.13%</text>") && html.contains(">50.00%</text>"));
        assert!(!html.contains("<script"));
    }
}
