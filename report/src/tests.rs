//! Unit tests of the report: results with known counts (the 2017 document's own table among
//! them), every figure in every format, the agency tree, finding counts, the diff, both
//! languages, and escaping of hostile strings.

use crate::render::{By, Format, Render};
use crate::{Diff, Lang, Note, Options, Report};
use model::{Code, Finding, SiteResult};
use serde_json::Value;

fn site(
    url: &str,
    agency: &str,
    category: &str,
    parent: &str,
    ok: bool,
    forced: bool,
    codes: &[Code],
) -> SiteResult {
    SiteResult {
        url: url.to_owned(),
        host: url
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned(),
        agency: agency.to_owned(),
        category: category.to_owned(),
        parent: parent.to_owned(),
        https_ok: ok,
        forced_https: forced,
        findings: codes
            .iter()
            .map(|&c| Finding::new(c, format!("saw {c}")))
            .collect(),
        trust_store: "mozilla".into(),
        browsers: None,
        scanner: None,
        scanned_at: String::new(),
        duration_ms: 1,
        addresses: vec![],
        https: None,
        redirects: vec![],
        final_url: None,
        mixed_content: None,
    }
}

/// `n` sites of `category`, the first `adopted` adopted and the first `forced` forced.
/// Not adopted: odd ones have a hostname mismatch, even ones an expired certificate;
/// adopted but not forced: no https redirect.
fn group(
    category: &str,
    prefix: &str,
    parent_of: impl Fn(usize) -> String,
    n: usize,
    adopted: usize,
    forced: usize,
) -> Vec<SiteResult> {
    (0..n)
        .map(|i| {
            let ok = i < adopted;
            let f = i < forced;
            let codes: &[Code] = if !ok {
                if i % 2 == 1 {
                    &[Code::CertHostnameMismatch]
                } else {
                    &[Code::CertExpired]
                }
            } else if !f {
                &[Code::NoHttpsRedirect, Code::HstsMissing]
            } else {
                &[]
            };
            site(
                &format!("https://{prefix}{i}.gov.tw/"),
                &format!("{prefix}{i}"),
                category,
                &parent_of(i),
                ok,
                f,
                codes,
            )
        })
        .collect()
}

/// The document's table: 二級機關 31/30/19, 三級機關 116/85/52, 縣市政府 22/9/3.
fn the_document() -> Vec<SiteResult> {
    let mut v = group("二級機關", "second", |_| "行政院".into(), 31, 30, 19);
    v.extend(group(
        "三級機關",
        "third",
        |i| format!("second{}", i % 31),
        116,
        85,
        52,
    ));
    v.extend(group("縣市政府", "city", |_| String::new(), 22, 9, 3));
    v
}

const DOC_ROWS: [[&str; 5]; 4] = [
    ["二級機關", "31", "30", "19", "96.77%"],
    ["三級機關", "116", "85", "52", "73.28%"],
    ["縣市政府", "22", "9", "3", "40.91%"],
    ["合計", "169", "124", "74", "73.37%"],
];

fn render(report: &Report, format: Format, lang: Lang, by: By) -> String {
    report.render(
        format,
        &Render {
            lang,
            by,
            width: None,
        },
    )
}

/// The rows of the Markdown tables in a terminal rendering, cells trimmed.
fn md_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|-"))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let body = text
        .strip_prefix('\u{feff}')
        .expect("CSV starts with a BOM");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The text of each `<td>`/`<th>` of the section `id`, row by row.
fn html_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .expect("section");
    let end = start + html[start..].find("</section>").unwrap();
    html[start..end]
        .split("<tr")
        .skip(1)
        .map(|tr| {
            tr.split("<t")
                .skip(1)
                .filter(|c| c.starts_with('d') || c.starts_with('h'))
                .map(|c| {
                    let inner = &c[c.find('>').unwrap() + 1..];
                    let inner = &inner[..inner.find("</t").unwrap_or(inner.len())];
                    strip_tags(inner)
                })
                .collect()
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

#[test]
fn the_documents_table_has_its_figures() {
    let report = Report::build(&the_document(), &Options::default()).unwrap();
    let figures: Vec<(String, u64, u64, u64, String)> = report
        .groups
        .iter()
        .map(|g| {
            (
                g.group.clone(),
                g.row.counts.count,
                g.row.counts.adopted,
                g.row.counts.forced,
                g.row.ratio.to_string(),
            )
        })
        .collect();
    assert_eq!(
        figures,
        vec![
            ("二級機關".into(), 31, 30, 19, "96.77%".into()),
            ("三級機關".into(), 116, 85, 52, "73.28%".into()),
            ("縣市政府".into(), 22, 9, 3, "40.91%".into()),
        ]
    );
    assert_eq!(
        (
            report.total.counts.count,
            report.total.counts.adopted,
            report.total.counts.forced
        ),
        (169, 124, 74)
    );
    assert_eq!(report.total.ratio.to_string(), "73.37%");
}

#[test]
fn terminal_table_carries_every_figure_in_both_languages() {
    let report = Report::build(&the_document(), &Options::default()).unwrap();
    let zh = render(&report, Format::Table, Lang::ZhTw, By::Category);
    let rows = md_rows(&zh);
    assert_eq!(
        rows[0],
        ["機關類別", "數量", "已導入HTTPS", "強制導入", "導入比率"]
    );
    for (i, expected) in DOC_ROWS.iter().enumerate() {
        assert_eq!(rows[i + 1], expected, "{zh}");
    }
    // Columns line up although the headings are Chinese (two columns per character).
    let widths: Vec<usize> = zh
        .lines()
        .filter(|l| l.starts_with('|'))
        .take(6)
        .map(|l| {
            l.chars()
                .map(|c| if c > '\u{2000}' && c != '—' { 2 } else { 1 })
                .sum()
        })
        .collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "{zh}");

    let en = render(&report, Format::Table, Lang::En, By::Category);
    let rows = md_rows(&en);
    assert_eq!(
        rows[0],
        [
            "Group",
            "Count",
            "HTTPS adopted",
            "HTTPS forced",
            "Adoption ratio"
        ]
    );
    assert_eq!(rows[4], ["Total", "169", "124", "74", "73.37%"]);
    assert_eq!(rows[1], ["二級機關", "31", "30", "19", "96.77%"]);
    assert!(en.contains("Failing sites and fixes"));
    assert!(en.contains("re-issue a certificate that covers the domain"));
    assert!(zh.contains("重新申請與網域相符的憑證"));
}

#[test]
fn csv_has_a_bom_and_exact_cells() {
    let report = Report::build(&the_document(), &Options::default()).unwrap();
    let zh = render(&report, Format::Csv, Lang::ZhTw, By::Category);
    assert!(zh.starts_with('\u{feff}'));
    assert!(zh.contains("\r\n"));
    let rows = csv_rows(&zh);
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0],
        ["機關類別", "數量", "已導入HTTPS", "強制導入", "導入比率"]
    );
    for (i, expected) in DOC_ROWS.iter().enumerate() {
        assert_eq!(rows[i + 1], expected);
    }
    let en = csv_rows(&render(&report, Format::Csv, Lang::En, By::Category));
    assert_eq!(
        en[0],
        [
            "Group",
            "Count",
            "HTTPS adopted",
            "HTTPS forced",
            "Adoption ratio"
        ]
    );
    assert_eq!(en[4], ["Total", "169", "124", "74", "73.37%"]);

    // The failing sites, one row per finding, with the fix.
    let sites = csv_rows(&render(&report, Format::Csv, Lang::En, By::Sites));
    assert_eq!(sites[0][5..], ["Code", "Severity", "Detail", "Fix"]);
    // 45 not adopted (one finding each) + 50 adopted but not forced (two findings each).
    assert_eq!(sites.len(), 1 + 45 + 50 * 2);
    let mismatch = sites
        .iter()
        .find(|r| r[5] == "cert_hostname_mismatch")
        .unwrap();
    assert_eq!(mismatch[8], "re-issue a certificate that covers the domain");
    assert_eq!(mismatch[3], "no");
}

#[test]
fn json_has_stable_fields_and_every_figure() {
    let report = Report::build(&the_document(), &Options::default()).unwrap();
    for lang in [Lang::ZhTw, Lang::En] {
        let v: Value =
            serde_json::from_str(&render(&report, Format::Json, lang, By::Category)).unwrap();
        assert_eq!(v["lang"], lang.tag());
        let groups = v["groups"].as_array().unwrap();
        let expected = [
            ("二級機關", 31, 30, 19, 96.77),
            ("三級機關", 116, 85, 52, 73.28),
            ("縣市政府", 22, 9, 3, 40.91),
        ];
        for (g, (name, count, adopted, forced, ratio)) in groups.iter().zip(expected) {
            assert_eq!(g["group"], name);
            assert_eq!(g["count"], count);
            assert_eq!(g["adopted"], adopted);
            assert_eq!(g["forced"], forced);
            assert_eq!(g["ratio"].as_f64(), Some(ratio));
        }
        assert_eq!(v["total"]["count"], 169);
        assert_eq!(v["total"]["adopted"], 124);
        assert_eq!(v["total"]["forced"], 74);
        assert_eq!(v["total"]["ratio"].as_f64(), Some(73.37));
        // The first failing site is adopted but not forced: its error comes first.
        let f = &v["failing"][0]["findings"];
        assert_eq!(v["failing"][0]["url"], "https://second19.gov.tw/");
        assert_eq!(f[0]["code"], "no_https_redirect");
        assert_eq!(f[0]["fix"], lang.fix(Code::NoHttpsRedirect));
        assert_eq!(f[1]["code"], "hsts_missing");
        assert_eq!(f[1]["severity"], "warning");
        assert_eq!(f[1]["meaning"], lang.meaning(Code::HstsMissing));
    }
}

#[test]
fn html_shows_every_figure_in_both_languages() {
    let report = Report::build(&the_document(), &Options::default()).unwrap();
    let zh = render(&report, Format::Html, Lang::ZhTw, By::Category);
    assert!(zh.starts_with("<!DOCTYPE html>\n<html lang=\"zh-TW\">"));
    assert!(zh.contains("<meta name=\"viewport\""));
    assert!(zh.contains("@media print"));
    assert!(
        !zh.contains("<script") && !zh.contains("src=") && !zh.contains("href="),
        "self-contained"
    );
    let rows = html_rows(&zh, "ndc");
    assert_eq!(
        rows[0],
        ["機關類別", "數量", "已導入HTTPS", "強制導入", "導入比率"]
    );
    for (i, expected) in DOC_ROWS.iter().enumerate() {
        assert_eq!(rows[i + 1], expected);
    }
    // The bars are as wide as the ratios.
    assert!(zh.contains("style=\"width:96.77%\""));
    assert!(zh.contains("style=\"width:73.37%\""));
    assert!(zh.contains("重新申請與網域相符的憑證"));

    let en = render(&report, Format::Html, Lang::En, By::Category);
    assert!(en.contains("<html lang=\"en\">"));
    let rows = html_rows(&en, "ndc");
    assert_eq!(
        rows[0],
        [
            "Group",
            "Count",
            "HTTPS adopted",
            "HTTPS forced",
            "Adoption ratio"
        ]
    );
    assert_eq!(rows[4], ["Total", "169", "124", "74", "73.37%"]);
    assert!(en.contains("re-issue a certificate that covers the domain"));
}

/// 行政院 (only a parent) → 教育部 (2 sites) → 國立臺灣大學 (3) and 國立政治大學 (1);
/// 行政院 → 內政部 (1); 臺北市政府 (2) at the top.
fn three_levels() -> Vec<SiteResult> {
    vec![
        site(
            "https://moe.gov.tw/",
            "教育部",
            "二級機關",
            "行政院",
            true,
            true,
            &[],
        ),
        site(
            "https://edu.tw/",
            "教育部",
            "二級機關",
            "行政院",
            true,
            false,
            &[Code::NoHttpsRedirect],
        ),
        site(
            "https://ntu.edu.tw/",
            "國立臺灣大學",
            "三級機關",
            "教育部",
            true,
            true,
            &[],
        ),
        site(
            "https://lib.ntu.edu.tw/",
            "國立臺灣大學",
            "三級機關",
            "教育部",
            false,
            false,
            &[Code::CertHostnameMismatch],
        ),
        site(
            "https://med.ntu.edu.tw/",
            "國立臺灣大學",
            "三級機關",
            "教育部",
            true,
            true,
            &[Code::HstsMissing],
        ),
        site(
            "https://nccu.edu.tw/",
            "國立政治大學",
            "三級機關",
            "教育部",
            false,
            false,
            &[Code::CertExpired],
        ),
        site(
            "https://moi.gov.tw/",
            "內政部",
            "二級機關",
            "行政院",
            true,
            true,
            &[],
        ),
        site(
            "https://gov.taipei/",
            "臺北市政府",
            "縣市政府",
            "",
            true,
            false,
            &[Code::MixedContentPassive],
        ),
        site(
            "https://tcg.gov.taipei/",
            "臺北市政府",
            "縣市政府",
            "",
            false,
            false,
            &[Code::MixedContentActive, Code::HstsMissing],
        ),
    ]
}

fn tree_figures(report: &Report) -> Vec<(usize, String, u64, u64, u64, u64)> {
    crate::AgencyNode::walk(&report.tree)
        .into_iter()
        .map(|(d, n)| {
            (
                d,
                n.agency.clone(),
                n.own.count,
                n.row.counts.count,
                n.row.counts.adopted,
                n.row.counts.forced,
            )
        })
        .collect()
}

#[test]
fn the_agency_tree_rolls_up_along_parent() {
    let report = Report::build(&three_levels(), &Options::default()).unwrap();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        tree_figures(&report),
        vec![
            (0, s("行政院"), 0, 7, 5, 4),
            (1, s("教育部"), 2, 6, 4, 3),
            (2, s("國立臺灣大學"), 3, 3, 2, 2),
            (2, s("國立政治大學"), 1, 1, 0, 0),
            (1, s("內政部"), 1, 1, 1, 1),
            (0, s("臺北市政府"), 2, 2, 1, 0),
        ]
    );
    assert!(report.notes.is_empty());

    // Rendered as a tree in every format.
    let table = md_rows(&render(&report, Format::Table, Lang::ZhTw, By::Agency));
    assert_eq!(
        table[0],
        ["機關", "數量", "已導入HTTPS", "強制導入", "導入比率"]
    );
    assert_eq!(table[1], ["行政院", "7", "5", "4", "71.43%"]);
    assert_eq!(table[3], ["└ 國立臺灣大學", "3", "2", "2", "66.67%"]);
    let csv = csv_rows(&render(&report, Format::Csv, Lang::En, By::Agency));
    assert_eq!(
        csv[0],
        [
            "Level",
            "Agency",
            "Parent",
            "Count",
            "HTTPS adopted",
            "HTTPS forced",
            "Adoption ratio"
        ]
    );
    assert_eq!(
        csv[3],
        ["3", "國立臺灣大學", "教育部", "3", "2", "2", "66.67%"]
    );
    assert_eq!(csv[5], ["2", "內政部", "行政院", "1", "1", "1", "100.00%"]);
    let html = render(&report, Format::Html, Lang::En, By::Agency);
    let rows = html_rows(&html, "tree");
    assert_eq!(rows[2], ["└ 教育部", "6", "4", "3", "66.67%"]);
    assert!(html.find("id=\"tree\"").unwrap() < html.find("id=\"ndc\"").unwrap());
    let v: Value =
        serde_json::from_str(&render(&report, Format::Json, Lang::En, By::Agency)).unwrap();
    assert_eq!(v["tree"][0]["agency"], "行政院");
    assert_eq!(v["tree"][0]["count"], 7);
    assert_eq!(v["tree"][0]["own"]["count"], 0);
    assert_eq!(
        v["tree"][0]["children"][0]["children"][0]["agency"],
        "國立臺灣大學"
    );
}

#[test]
fn an_agency_filter_keeps_only_its_subtree() {
    let options = Options {
        agency: Some("教育部".into()),
    };
    let report = Report::build(&three_levels(), &options).unwrap();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        tree_figures(&report),
        vec![
            (0, s("教育部"), 2, 6, 4, 3),
            (1, s("國立臺灣大學"), 3, 3, 2, 2),
            (1, s("國立政治大學"), 1, 1, 0, 0),
        ]
    );
    let groups: Vec<_> = report
        .groups
        .iter()
        .map(|g| (g.group.as_str(), g.row.counts.count))
        .collect();
    assert_eq!(groups, [("二級機關", 2), ("三級機關", 4)]);
    assert_eq!(report.total.counts.count, 6);
    assert_eq!(report.failing.len(), 3);
    assert!(report.failing.iter().all(|f| f.agency != "臺北市政府"));
    let text = render(&report, Format::Table, Lang::ZhTw, By::Category);
    assert!(text.contains("篩選機關: 教育部"));

    let err = Report::build(
        &three_levels(),
        &Options {
            agency: Some("教育".into()),
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no agency named \"教育\" in the results (did you mean 教育部?)"
    );
}

#[test]
fn parent_cycles_and_missing_parents_do_not_break_the_tree() {
    let results = vec![
        site("https://a.gov.tw/", "A", "g", "B", true, true, &[]),
        site("https://b.gov.tw/", "B", "g", "C", true, false, &[]),
        site("https://c.gov.tw/", "C", "g", "A", false, false, &[]),
        site("https://d.gov.tw/", "D", "g", "D", true, true, &[]),
        site("https://e.gov.tw/", "E", "g", "Nowhere", true, true, &[]),
        site("https://e2.gov.tw/", "E", "g", "Elsewhere", true, true, &[]),
    ];
    let report = Report::build(&results, &Options::default()).unwrap();
    let figures = tree_figures(&report);
    // Every site counted exactly once among the roots.
    let roots: u64 = figures.iter().filter(|f| f.0 == 0).map(|f| f.3).sum();
    assert_eq!(roots, 6);
    // The cycle B → C → A → B is cut at the agency seen first (B, as A's parent).
    assert!(report.notes.contains(&Note::ParentCycle {
        cycle: vec!["B".into(), "C".into(), "A".into(), "B".into()],
        broken_at: "B".into(),
    }));
    assert!(report.notes.contains(&Note::ParentCycle {
        cycle: vec!["D".into(), "D".into()],
        broken_at: "D".into()
    }));
    assert!(report.notes.contains(&Note::ConflictingParent {
        agency: "E".into(),
        kept: "Nowhere".into(),
        ignored: "Elsewhere".into(),
    }));
    // A parent that is no agency of the results is a root of its own.
    assert!(figures.contains(&(0, "Nowhere".into(), 0, 2, 2, 2)));
    assert!(figures.contains(&(0, "B".into(), 1, 3, 2, 1)));
    let text = render(&report, Format::Table, Lang::En, By::Agency);
    assert!(text.contains(
        "The parent links form a cycle (B → C → A → B); B was taken as a top-level agency."
    ));
    let zh = render(&report, Format::Html, Lang::ZhTw, By::Agency);
    assert!(zh.contains("上級機關形成循環（B → C → A → B）"));
    let v: Value =
        serde_json::from_str(&render(&report, Format::Json, Lang::En, By::Agency)).unwrap();
    let cycle = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "parent_cycle")
        .unwrap();
    assert_eq!(cycle["broken_at"], "B");
    assert!(
        cycle["text"]
            .as_str()
            .unwrap()
            .starts_with("The parent links form a cycle")
    );
}

#[test]
fn findings_are_counted_per_code_the_documents_types_first() {
    let report = Report::build(&three_levels(), &Options::default()).unwrap();
    let counts: Vec<(Code, u64, Vec<u64>)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.code,
                f.sites,
                f.per_group.iter().map(|g| g.sites).collect(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            (Code::CertHostnameMismatch, 1, vec![0, 1, 0]),
            (Code::MixedContentActive, 1, vec![0, 0, 1]),
            (Code::MixedContentPassive, 1, vec![0, 0, 1]),
            (Code::CertExpired, 1, vec![0, 1, 0]),
            (Code::NoHttpsRedirect, 1, vec![1, 0, 0]),
            (Code::HstsMissing, 2, vec![0, 1, 1]),
        ]
    );
    let table = md_rows(&render(&report, Format::Table, Lang::ZhTw, By::Findings));
    assert_eq!(
        table[0],
        [
            "代碼",
            "說明",
            "嚴重度",
            "網站數",
            "二級機關",
            "三級機關",
            "縣市政府"
        ]
    );
    assert_eq!(
        table[1],
        [
            "cert_hostname_mismatch",
            "SSL憑證主體與網域不符",
            "錯誤",
            "1",
            "0",
            "1",
            "0"
        ]
    );
    assert_eq!(
        table[6],
        ["hsts_missing", "未設定 HSTS", "警告", "2", "0", "1", "1"]
    );
    let v: Value =
        serde_json::from_str(&render(&report, Format::Json, Lang::ZhTw, By::Findings)).unwrap();
    assert_eq!(v["findings"][5]["code"], "hsts_missing");
    assert_eq!(v["findings"][5]["sites"], 2);
    assert_eq!(v["findings"][5]["per_group"][2]["group"], "縣市政府");
    assert_eq!(v["findings"][5]["per_group"][2]["sites"], 1);
    assert_eq!(v["findings"][0]["fix"], "重新申請與網域相符的憑證");
    let csv = csv_rows(&render(&report, Format::Csv, Lang::En, By::Findings));
    assert_eq!(
        csv[6],
        [
            "hsts_missing",
            "no Strict-Transport-Security header",
            "warning",
            "2",
            "0",
            "1",
            "1"
        ]
    );
    let html = html_rows(
        &render(&report, Format::Html, Lang::En, By::Category),
        "findings",
    );
    assert_eq!(
        html[1][..4],
        [
            "cert_hostname_mismatch",
            "the certificate does not match the domain",
            "error",
            "1"
        ]
    );

    // Failing sites: not adopted or not forced, by group, agency and URL, each with its fix
    // (國立政治大學 sorts before 國立臺灣大學).
    let failing: Vec<&str> = report.failing.iter().map(|f| f.url.as_str()).collect();
    assert_eq!(
        failing,
        [
            "https://edu.tw/",
            "https://nccu.edu.tw/",
            "https://lib.ntu.edu.tw/",
            "https://gov.taipei/",
            "https://tcg.gov.taipei/"
        ]
    );
    let en = render(&report, Format::Table, Lang::En, By::Sites);
    assert!(
        en.contains(
            "### 國立臺灣大學 · https://lib.ntu.edu.tw/\n\
         HTTPS adopted: no · HTTPS forced: no · 三級機關\n\n\
         - `cert_hostname_mismatch` (error) the certificate does not match the domain\n  \
         Detail: saw cert_hostname_mismatch\n  \
         Fix: re-issue a certificate that covers the domain\n"
        ),
        "{en}"
    );
    // Errors before warnings within a site.
    let tcg = &en[en.find("https://tcg.gov.taipei/").unwrap()..];
    assert!(tcg.find("mixed_content_active").unwrap() < tcg.find("hsts_missing").unwrap());
    let zh = render(&report, Format::Table, Lang::ZhTw, By::Sites);
    assert!(
        zh.contains("已導入HTTPS：否 · 強制導入：否 · 三級機關"),
        "{zh}"
    );
    assert!(zh.contains("修正方式：重新申請與網域相符的憑證"), "{zh}");
}

#[test]
fn empty_groups_show_a_dash_never_nan() {
    let report = Report::build(&[], &Options::default()).unwrap();
    assert_eq!(
        md_rows(&render(&report, Format::Table, Lang::ZhTw, By::Category))[1],
        ["合計", "0", "0", "0", "—"]
    );
    assert_eq!(
        csv_rows(&render(&report, Format::Csv, Lang::En, By::Category))[1],
        ["Total", "0", "0", "0", "—"]
    );
    let v: Value =
        serde_json::from_str(&render(&report, Format::Json, Lang::En, By::Category)).unwrap();
    assert_eq!(v["total"]["ratio"], Value::Null);
    let html = render(&report, Format::Html, Lang::En, By::Category);
    assert_eq!(html_rows(&html, "ndc")[1], ["Total", "0", "0", "0", "—"]);
    for format in [Format::Table, Format::Csv, Format::Json, Format::Html] {
        assert!(!render(&report, format, Lang::En, By::Category).contains("NaN"));
    }
}

#[test]
fn hostile_strings_are_escaped_in_html_and_neutralised_elsewhere() {
    let mut hostile = site(
        "https://evil.gov.tw/\"><img src=x onerror=alert(1)>",
        "<b>機關</b>",
        "<i>group</i>",
        "",
        false,
        false,
        &[],
    );
    hostile.findings.push(Finding::new(
        Code::CertHostnameMismatch,
        "<script>alert('x')</script> & \u{1b}[31mred",
    ));
    hostile.findings.push(Finding::new(
        Code::NoHttpsRedirect,
        "=HYPERLINK(\"http://x\")",
    ));
    let report = Report::build(&[hostile], &Options::default()).unwrap();
    for lang in [Lang::ZhTw, Lang::En] {
        let html = render(&report, Format::Html, lang, By::Category);
        assert!(!html.contains("<script"), "raw script in the page");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>機關"));
        assert!(!html.contains("<i>group"));
        assert!(
            html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; \u{fffd}[31mred")
        );
        assert!(html.contains("&lt;b&gt;機關&lt;/b&gt;"));
        assert!(html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    }
    let table = render(&report, Format::Table, Lang::En, By::Category);
    assert!(
        !table.contains('\u{1b}'),
        "no escape sequence reaches the terminal"
    );
    let csv = csv_rows(&render(&report, Format::Csv, Lang::En, By::Sites));
    assert_eq!(csv[2][7], "'=HYPERLINK(\"http://x\")");
}

#[test]
fn bidi_overrides_and_invisible_characters_reach_no_human_facing_output() {
    // A right-to-left override from a certificate's names would show "gov.tw" reversed and
    // reorder the rest of the finding; zero-width and isolate characters hide text.
    let rlo = "\u{202e}";
    let mut hostile = site(
        "https://a\u{200b}.gov.tw/",
        "機關\u{2067}甲\u{2069}",
        "二級\u{feff}機關",
        "",
        false,
        false,
        &[],
    );
    hostile.findings.push(Finding::new(
        Code::CertHostnameMismatch,
        format!("the certificate is valid for {rlo}wt.vog.live, not a.gov.tw"),
    ));
    let invisible = ['\u{202e}', '\u{200b}', '\u{2067}', '\u{2069}', '\u{feff}'];
    let report = Report::build(std::slice::from_ref(&hostile), &Options::default()).unwrap();
    let diff = Diff::between(&[], std::slice::from_ref(&hostile));
    for lang in [Lang::ZhTw, Lang::En] {
        for by in [By::Category, By::Agency, By::Findings, By::Sites] {
            for format in [Format::Html, Format::Table, Format::Csv] {
                let mut out = render(&report, format, lang, by);
                out.push_str(&diff.render(
                    format,
                    &Render {
                        lang,
                        by,
                        width: None,
                    },
                ));
                // The CSV's own BOM opens the file; none may come from the data.
                let out = out.replace(crate::render::csv::BOM, "");
                for c in invisible {
                    assert!(
                        !out.contains(c),
                        "U+{:04X} in {format:?} {by:?} {lang:?}",
                        u32::from(c)
                    );
                }
            }
        }
        let html = render(&report, Format::Html, lang, By::Sites);
        assert!(
            html.contains("&lt;U+202E&gt;wt.vog.live"),
            "the override is named"
        );
    }
    let table = render(&report, Format::Table, Lang::En, By::Sites);
    assert!(table.contains("<U+202E>wt.vog.live"));
    let csv = csv_rows(&render(&report, Format::Csv, Lang::En, By::Sites));
    assert!(
        csv.iter()
            .flatten()
            .any(|c| c.contains("<U+202E>wt.vog.live"))
    );
}

fn old_and_new() -> (Vec<SiteResult>, Vec<SiteResult>) {
    let old = vec![
        site(
            "https://a.gov.tw/",
            "A",
            "二級機關",
            "",
            false,
            false,
            &[Code::CertExpired],
        ),
        site(
            "https://b.gov.tw/",
            "B",
            "二級機關",
            "",
            true,
            false,
            &[Code::NoHttpsRedirect],
        ),
        site("https://c.gov.tw/", "C", "三級機關", "", true, true, &[]),
        site(
            "https://d.gov.tw/",
            "D",
            "三級機關",
            "",
            true,
            true,
            &[Code::HstsMissing],
        ),
        site("https://gone.gov.tw/", "G", "縣市政府", "", true, true, &[]),
    ];
    let new = vec![
        site("https://a.gov.tw/", "A", "二級機關", "", true, true, &[]),
        site("https://b.gov.tw/", "B", "二級機關", "", true, true, &[]),
        site(
            "https://c.gov.tw/",
            "C",
            "三級機關",
            "",
            false,
            false,
            &[Code::CertHostnameMismatch],
        ),
        site(
            "https://d.gov.tw/",
            "D",
            "三級機關",
            "",
            true,
            true,
            &[Code::HstsShort],
        ),
        site(
            "https://new.gov.tw/",
            "N",
            "三級機關",
            "",
            false,
            false,
            &[Code::HttpsUnreachable],
        ),
    ];
    (old, new)
}

#[test]
fn the_diff_finds_fixed_broke_appeared_and_disappeared() {
    let (old, new) = old_and_new();
    let d = Diff::between(&old, &new);
    let urls = |v: &[crate::SiteChange]| v.iter().map(|c| c.url.clone()).collect::<Vec<_>>();
    assert_eq!(urls(&d.fixed), ["https://a.gov.tw/", "https://b.gov.tw/"]);
    assert_eq!(urls(&d.broke), ["https://c.gov.tw/"]);
    assert_eq!(urls(&d.appeared), ["https://new.gov.tw/"]);
    assert_eq!(urls(&d.disappeared), ["https://gone.gov.tw/"]);
    assert_eq!(urls(&d.changed_findings), ["https://d.gov.tw/"]);
    assert_eq!(d.fixed[0].removed, [Code::CertExpired]);
    assert_eq!(d.broke[0].added, [Code::CertHostnameMismatch]);
    assert_eq!(d.changed_findings[0].added, [Code::HstsShort]);
    assert_eq!(d.changed_findings[0].removed, [Code::HstsMissing]);

    let g: Vec<_> = d
        .groups
        .iter()
        .map(|g| {
            (
                g.group.as_str(),
                g.count_change,
                g.adopted_change,
                g.forced_change,
            )
        })
        .collect();
    assert_eq!(
        g,
        [
            ("二級機關", 0, 1, 2),
            ("三級機關", 1, -1, -1),
            ("縣市政府", -1, -1, -1)
        ]
    );
    assert_eq!(
        (d.total.old.counts.adopted, d.total.new.counts.adopted),
        (4, 3)
    );
    assert_eq!(d.groups[2].new.ratio.to_string(), "—");

    let r = |lang, by| Render {
        lang,
        by,
        width: None,
    };
    let zh = d.render(Format::Table, &r(Lang::ZhTw, By::Category));
    let rows = md_rows(&zh);
    assert_eq!(
        rows[1],
        [
            "二級機關",
            "2",
            "2",
            "1",
            "2",
            "+1",
            "0",
            "2",
            "+2",
            "50.00%",
            "100.00%"
        ]
    );
    assert_eq!(
        rows[3],
        [
            "縣市政府",
            "1",
            "0",
            "1",
            "0",
            "-1",
            "1",
            "0",
            "-1",
            "100.00%",
            "—"
        ]
    );
    assert_eq!(rows[4][0], "合計");
    assert!(zh.contains("## 已改善 (2)") && zh.contains("## 退步 (1)"));
    assert!(zh.contains("## 新增網站 (1)") && zh.contains("## 移除網站 (1)"));
    let en = d.render(Format::Table, &r(Lang::En, By::Category));
    assert!(en.contains("## fixed (2)") && en.contains("## broke (1)"));

    let csv = csv_rows(&d.render(Format::Csv, &r(Lang::En, By::Category)));
    assert_eq!(
        csv[2],
        [
            "三級機關",
            "2",
            "3",
            "2",
            "1",
            "-1",
            "2",
            "1",
            "-1",
            "100.00%",
            "33.33%"
        ]
    );
    let sites = csv_rows(&d.render(Format::Csv, &r(Lang::En, By::Sites)));
    assert_eq!(
        sites[1],
        [
            "fixed",
            "A",
            "二級機關",
            "https://a.gov.tw/",
            "no",
            "no",
            "yes",
            "yes",
            "",
            "cert_expired"
        ]
    );
    assert_eq!(sites[4][0], "appeared");
    assert_eq!(sites[4][4], "—");

    let v: Value =
        serde_json::from_str(&d.render(Format::Json, &r(Lang::En, By::Category))).unwrap();
    assert_eq!(v["broke"][0]["url"], "https://c.gov.tw/");
    assert_eq!(v["broke"][0]["old"]["https_ok"], true);
    assert_eq!(v["broke"][0]["new"]["https_ok"], false);
    assert_eq!(v["groups"][0]["adopted_change"], 1);
    assert_eq!(v["disappeared"][0]["new"], Value::Null);
    let html = d.render(Format::Html, &r(Lang::En, By::Category));
    assert!(html.contains("<html lang=\"en\">") && html.contains("fixed (2)"));
}

#[test]
fn the_documents_groups_come_first_in_its_order() {
    let results = vec![
        site("https://a/", "A", "縣市政府", "", true, true, &[]),
        site("https://b/", "B", "國營事業", "", true, true, &[]),
        site(
            "https://c/",
            "C",
            "二級機關",
            "",
            false,
            false,
            &[Code::CertExpired],
        ),
        site("https://d/", "D", "", "", true, false, &[]),
    ];
    let report = Report::build(&results, &Options::default()).unwrap();
    let groups: Vec<&str> = report.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(groups, ["二級機關", "縣市政府", "國營事業", ""]);
    let expired = &report.findings[0];
    assert_eq!(
        expired
            .per_group
            .iter()
            .map(|g| g.sites)
            .collect::<Vec<_>>(),
        [1, 0, 0, 0]
    );
    let rows = md_rows(&render(&report, Format::Table, Lang::En, By::Category));
    assert_eq!(rows[4], ["(uncategorised)", "1", "1", "0", "100.00%"]);
    let d = Diff::between(&results[2..], &results[..2]);
    let groups: Vec<&str> = d.groups.iter().map(|g| g.group.as_str()).collect();
    assert_eq!(groups, ["二級機關", "縣市政府", "", "國營事業"]);
}

/// Regression: a local scan writes results as they complete and a cluster job by index, and
/// `scanctl report --job` must equal `scanctl report FILE` on the same sites.
#[test]
fn the_report_does_not_depend_on_the_order_of_the_results() {
    for results in [the_document(), three_levels()] {
        let mut reversed = results.clone();
        reversed.reverse();
        let mut rotated = results.clone();
        rotated.rotate_left(results.len() / 3);
        let options = Options::default();
        let json = |r: &[SiteResult]| {
            let report = Report::build(r, &options).unwrap();
            [By::Category, By::Agency, By::Sites].map(|by| {
                render(&report, Format::Json, Lang::ZhTw, by)
                    + &render(&report, Format::Csv, Lang::En, by)
            })
        };
        assert_eq!(json(&results), json(&reversed));
        assert_eq!(json(&results), json(&rotated));
    }
}

/// Sites that fail only in Chrome are counted per group and per agency; results without
/// both verdicts (an older scanner's) leave the section out.
#[test]
fn sites_failing_only_in_chrome_are_counted_per_group_and_agency() {
    use model::{BrowserVerdict, Browsers};
    let verdicts = |chrome: bool, mozilla: bool, code: Option<Code>| Browsers {
        chrome: BrowserVerdict {
            ok: chrome,
            code,
            reason: code.map(|c| format!("saw {c}")),
            store: "Chrome Root Store".into(),
        },
        mozilla: BrowserVerdict {
            ok: mozilla,
            code: None,
            reason: None,
            store: "Mozilla".into(),
        },
    };
    let mut results = vec![
        site(
            "https://a.gov.tw/",
            "甲部",
            "二級機關",
            "",
            false,
            false,
            &[Code::CertDistrusted],
        ),
        site(
            "https://b.gov.tw/",
            "甲部",
            "二級機關",
            "",
            false,
            false,
            &[Code::CertDistrusted],
        ),
        site(
            "https://c.gov.tw/",
            "乙署",
            "三級機關",
            "甲部",
            false,
            false,
            &[Code::CertUntrusted],
        ),
        site(
            "https://d.gov.tw/",
            "乙署",
            "三級機關",
            "甲部",
            true,
            true,
            &[],
        ),
        site(
            "https://e.gov.tw/",
            "丙市",
            "縣市政府",
            "",
            false,
            false,
            &[Code::CertExpired],
        ),
    ];
    let browsers = [
        verdicts(false, true, Some(Code::CertDistrusted)),
        verdicts(false, true, Some(Code::CertDistrusted)),
        verdicts(false, true, Some(Code::CertUntrusted)),
        verdicts(true, true, None),
        verdicts(false, false, Some(Code::CertExpired)),
    ];
    let old = Report::build(&results, &Options::default()).unwrap();
    assert_eq!(old.chrome_only, None, "no browsers field, no section");
    for (r, b) in results.iter_mut().zip(browsers) {
        r.browsers = Some(b);
    }
    let report = Report::build(&results, &Options::default()).unwrap();
    let c = report.chrome_only.clone().expect("the section");
    assert_eq!((c.sites, c.distrusted), (3, 2));
    let per_group: Vec<(&str, u64)> = c
        .per_group
        .iter()
        .map(|g| (g.group.as_str(), g.sites))
        .collect();
    assert_eq!(
        per_group,
        [("二級機關", 2), ("三級機關", 1), ("縣市政府", 0)]
    );
    let per_agency: Vec<(&str, u64)> = c
        .per_agency
        .iter()
        .map(|a| (a.agency.as_str(), a.sites))
        .collect();
    assert_eq!(per_agency, [("甲部", 2), ("乙署", 1)]);
    for lang in [Lang::ZhTw, Lang::En] {
        let table = render(&report, Format::Table, lang, By::Category);
        assert!(table.contains(lang.labels().chrome_only), "{table}");
        let html = render(&report, Format::Html, lang, By::Category);
        assert!(html.contains("id=\"chrome-only\""), "{lang:?}");
        let json = render(&report, Format::Json, lang, By::Category);
        assert!(json.contains("\"chrome_only\""), "{lang:?}");
    }
    let plain = render(&old, Format::Table, Lang::En, By::Category);
    assert!(!plain.contains(Lang::En.labels().chrome_only));
}
