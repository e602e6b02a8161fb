//! Agency packs: what the NDC sends to each agency — one HTML page and one CSV per agency
//! subtree (made with [`Report::build`](crate::Report::build) and the agency filter), and an
//! index linking them all. This module picks the agencies and writes the index.

use crate::build::{AgencyNode, Row};
use crate::render::html::{esc, page};
use crate::{Lang, Report};
use std::fmt::Write;

/// The agencies that get a pack: every agency `level` steps below the top of the tree
/// (0: the agencies without a parent), and every agency above that level with nothing below
/// it (a city government with no sub-agency still gets its pack).
pub fn recipients(report: &Report, level: usize) -> Vec<String> {
    AgencyNode::walk(&report.tree)
        .into_iter()
        .filter(|(depth, node)| *depth == level || (*depth < level && node.children.is_empty()))
        .map(|(_, node)| node.agency.clone())
        .collect()
}

/// One pack, as the index lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub agency: String,
    /// File names, relative to the index.
    pub html: String,
    pub csv: String,
    pub row: Row,
    /// Sites not adopted or not forced.
    pub failing: usize,
}

/// A file name for an agency's pack: its position and its name, without what a file system
/// or a URL would choke on.
pub fn file_stem(position: usize, agency: &str) -> String {
    let name: String = agency
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("{:02}-{name}", position + 1)
}

/// The index page: one row per pack with its figures and links.
pub fn index(name: Option<&str>, period: Option<&str>, entries: &[Entry], lang: Lang) -> String {
    let l = lang.labels();
    let (title, pack, failing) = match lang {
        Lang::ZhTw => ("各機關報告", "報告", "未符合網站"),
        Lang::En => ("Reports per agency", "Report", "Failing sites"),
    };
    let mut body = format!("<h1>{}</h1>\n", esc(title));
    if let Some(n) = name {
        let _ = writeln!(body, "<p class=\"meta\"><strong>{}</strong></p>", esc(n));
    }
    if let Some(p) = period {
        let _ = writeln!(
            body,
            "<p class=\"meta\">{}{}{}</p>",
            esc(l.scanned),
            l.colon,
            esc(p)
        );
    }
    let _ = writeln!(
        body,
        "<div class=\"scroll\"><table><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th>\
         <th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th>{}</th></tr></thead><tbody>",
        esc(l.agency),
        esc(l.count),
        esc(l.adopted),
        esc(l.forced),
        esc(l.ratio),
        esc(failing),
        esc(pack),
    );
    for e in entries {
        let _ = writeln!(
            body,
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td><a href=\"{}\">HTML</a> · <a href=\"{}\">CSV</a></td></tr>",
            esc(&e.html),
            esc(&lang.agency_name(&e.agency)),
            e.row.counts.count,
            e.row.counts.adopted,
            e.row.counts.forced,
            esc(&e.row.ratio.to_string()),
            e.failing,
            esc(&e.html),
            esc(&e.csv),
        );
    }
    body.push_str("</tbody></table></div>\n");
    page(lang, title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(url: &str, agency: &str, parent: &str) -> model::SiteResult {
        let mut s = model::Site::parse(url).unwrap();
        s.agency = agency.into();
        s.parent = parent.into();
        model::SiteResult::for_site(&s)
    }

    #[test]
    fn packs_go_one_level_down_and_to_agencies_with_nothing_below() {
        let results = [
            site("a.gov.tw", "內政部", "行政院"),
            site("b.gov.tw", "內政部警政署", "內政部"),
            site("c.gov.tw", "教育部", "行政院"),
            site("d.gov.tw", "臺北市政府", ""),
        ];
        let report = Report::build(&results, &Default::default()).unwrap();
        let mut got = recipients(&report, 1);
        got.sort();
        assert_eq!(got, ["內政部", "教育部", "臺北市政府"]);
        let mut top = recipients(&report, 0);
        top.sort();
        assert_eq!(top, ["臺北市政府", "行政院"]);
    }

    #[test]
    fn file_names_keep_the_name_and_lose_the_separators() {
        assert_eq!(file_stem(0, "國家發展委員會"), "01-國家發展委員會");
        assert_eq!(file_stem(11, "../a/b c"), "12-___a_b_c");
    }
}
