//! `scanctl report` and `scanctl diff` end to end: the real binary on a results file in every
//! format, and the HTML page opened in headless Chromium (Debian's `chromium` package).
//!
//! The results reproduce the 2017 document's table (二級機關 31/30/19, 三級機關 116/85/52,
//! 縣市政府 22/9/3 → 96.77%, 73.28%, 40.91%, total 169/124/74 → 73.37%).
//!
//! Needs the binaries built first (`cargo build -p scanctl`; the test command does it) and
//! `/usr/bin/chromium` (`apt-get install -y chromium`); without Chromium the test fails and
//! says so. The screenshot is kept in `tests/artifacts/report.png`.

use scan_tests::chromium::{chromium, chromium_args, visible_text};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `scanctl` next to this test executable (`target/<profile>/deps/report-*`).
fn scanctl() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = profile_dir.join(format!("scanctl{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build the binaries first (cargo build -p scanctl)",
        bin.display()
    );
    bin
}

fn run(args: &[&str]) -> Output {
    Command::new(scanctl())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run scanctl")
}

fn stdout_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "scanctl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// One group of the document: the first `adopted` sites adopted, the first `forced` forced.
fn group(
    out: &mut Vec<Value>,
    category: &str,
    prefix: &str,
    parent: &str,
    n: usize,
    adopted: usize,
    forced: usize,
) {
    for i in 0..n {
        let (ok, f) = (i < adopted, i < forced);
        let findings = if !ok {
            vec![
                json!({"code": "cert_hostname_mismatch", "severity": "error",
                        "detail": format!("the certificate names other.example, not {prefix}{i}.gov.tw")}),
            ]
        } else if !f {
            vec![json!({"code": "no_https_redirect", "severity": "error",
                        "detail": "http:// answered 200 without a redirect"})]
        } else {
            vec![]
        };
        out.push(json!({
            "url": format!("https://{prefix}{i}.gov.tw/"),
            "host": format!("{prefix}{i}.gov.tw"),
            "agency": format!("{prefix}{i}"),
            "category": category,
            "parent": parent,
            "https_ok": ok,
            "forced_https": f,
            "findings": findings,
            "scanned_at": "2026-11-25T10:00:00Z",
        }));
    }
}

fn the_document() -> Vec<Value> {
    let mut v = Vec::new();
    group(&mut v, "二級機關", "second", "行政院", 31, 30, 19);
    group(&mut v, "三級機關", "third", "second0", 116, 85, 52);
    group(&mut v, "縣市政府", "city", "", 22, 9, 3);
    // A hostile detail: it must reach the page as text, never as markup.
    v[30]["findings"][0]["detail"] =
        json!("<script>document.title='pwned'</script><img src=x onerror=alert(1)>");
    v
}

fn write_jsonl(path: &Path, results: &[Value]) {
    let text: String = results.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

const ZH_ROWS: [[&str; 5]; 5] = [
    ["機關類別", "數量", "已導入HTTPS", "強制導入", "導入比率"],
    ["二級機關", "31", "30", "19", "96.77%"],
    ["三級機關", "116", "85", "52", "73.28%"],
    ["縣市政府", "22", "9", "3", "40.91%"],
    ["合計", "169", "124", "74", "73.37%"],
];

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

#[test]
fn report_renders_the_documents_table_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    write_jsonl(&results, &the_document());
    let results = results.to_str().unwrap();

    // Terminal table, zh-TW (the default language).
    let table = stdout_ok(&["report", results, "--format", "table"]);
    let rows = md_rows(&table);
    for (i, expected) in ZH_ROWS.iter().enumerate() {
        assert_eq!(rows[i], expected, "{table}");
    }
    assert!(table.contains("重新申請與網域相符的憑證"));
    let en = stdout_ok(&["report", results, "--format", "table", "--lang", "en"]);
    assert_eq!(
        md_rows(&en)[0],
        [
            "Group",
            "Count",
            "HTTPS adopted",
            "HTTPS forced",
            "Adoption ratio"
        ]
    );
    assert_eq!(md_rows(&en)[4], ["Total", "169", "124", "74", "73.37%"]);

    // Not a terminal and no --format: JSON, as `scanctl scan` does.
    let piped: Value = serde_json::from_str(&stdout_ok(&["report", results])).unwrap();
    assert_eq!(piped["total"]["count"], 169);

    // CSV: UTF-8 with a BOM, CRLF, exact cells.
    let csv = stdout_ok(&["report", results, "--format", "csv"]);
    let body = csv.strip_prefix('\u{feff}').expect("CSV starts with a BOM");
    let cells: Vec<Vec<&str>> = body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(cells.len(), 5);
    for (row, expected) in cells.iter().zip(ZH_ROWS) {
        assert_eq!(row, &expected);
    }

    // JSON.
    let v: Value = serde_json::from_str(&stdout_ok(&[
        "report", results, "--format", "json", "--lang", "en",
    ]))
    .unwrap();
    assert_eq!(v["lang"], "en");
    let figures: Vec<(String, u64, u64, u64, f64)> = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .chain(std::iter::once(&v["total"]))
        .map(|g| {
            (
                g["group"].as_str().unwrap_or("total").to_owned(),
                g["count"].as_u64().unwrap(),
                g["adopted"].as_u64().unwrap(),
                g["forced"].as_u64().unwrap(),
                g["ratio"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        figures,
        vec![
            ("二級機關".into(), 31, 30, 19, 96.77),
            ("三級機關".into(), 116, 85, 52, 73.28),
            ("縣市政府".into(), 22, 9, 3, 40.91),
            ("total".into(), 169, 124, 74, 73.37),
        ]
    );
    assert_eq!(v["failing"].as_array().unwrap().len(), 45 + 50);

    // The agency tree and the filter.
    let tree = md_rows(&stdout_ok(&[
        "report", results, "--format", "table", "--by", "agency", "--lang", "en",
    ]));
    assert_eq!(tree[1], ["行政院", "147", "115", "71", "78.23%"]);
    assert_eq!(tree[2], ["└ second0", "117", "86", "53", "73.50%"]);
    let sub = md_rows(&stdout_ok(&[
        "report", results, "--format", "table", "--agency", "second0", "--lang", "en",
    ]));
    assert_eq!(sub[1], ["二級機關", "1", "1", "1", "100.00%"]);
    assert_eq!(sub[2], ["三級機關", "116", "85", "52", "73.28%"]);
    assert_eq!(sub[3], ["Total", "117", "86", "53", "73.50%"]);

    // --output with the format from the extension.
    let out_csv = dir.path().join("report.csv");
    stdout_ok(&["report", results, "--output", out_csv.to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(&out_csv)
            .unwrap()
            .starts_with("\u{feff}機關類別,數量")
    );
}

#[test]
fn bad_input_is_a_usage_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let mut text: String = the_document()[..2]
        .iter()
        .map(|r| format!("{r}\n"))
        .collect();
    text.push_str("{\"url\": \"https://x.gov.tw/\", \"https_ok\": \"maybe\"}\n");
    std::fs::write(&path, text).unwrap();
    let out = run(&["report", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:", path.display())), "{err}");

    let missing = dir.path().join("missing.jsonl");
    let out = run(&["report", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read"),
        "{out:?}"
    );

    let good = dir.path().join("good.jsonl");
    write_jsonl(&good, &the_document());
    let out = run(&[
        "report",
        good.to_str().unwrap(),
        "--agency",
        "no such agency",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no agency named \"no such agency\""));
}

#[test]
fn diff_tells_what_got_fixed_and_what_broke() {
    let dir = tempfile::tempdir().unwrap();
    let old = the_document();
    let mut new = old.clone();
    // second30 gets fixed; second0 breaks; city21 disappears; a new site appears.
    new[30]["https_ok"] = json!(true);
    new[30]["forced_https"] = json!(true);
    new[30]["findings"] = json!([]);
    new[0]["forced_https"] = json!(false);
    new[0]["findings"] =
        json!([{"code": "no_https_redirect", "severity": "error", "detail": "200"}]);
    new.pop();
    let mut extra = the_document()[0].clone();
    extra["url"] = json!("https://new.gov.tw/");
    new.push(extra);
    let (o, n) = (dir.path().join("old.jsonl"), dir.path().join("new.jsonl"));
    write_jsonl(&o, &old);
    write_jsonl(&n, &new);
    let (o, n) = (o.to_str().unwrap(), n.to_str().unwrap());

    let table = stdout_ok(&["diff", o, n, "--format", "table", "--lang", "en"]);
    let rows = md_rows(&table);
    assert_eq!(
        rows[1],
        [
            "二級機關",
            "31",
            "32",
            "30",
            "32",
            "+2",
            "19",
            "20",
            "+1",
            "96.77%",
            "100.00%"
        ],
        "{table}"
    );
    assert!(
        table.contains("## fixed (1)") && table.contains("## broke (1)"),
        "{table}"
    );
    assert!(
        table.contains("## appeared (1)") && table.contains("## disappeared (1)"),
        "{table}"
    );

    let v: Value = serde_json::from_str(&stdout_ok(&["diff", o, n, "--format", "json"])).unwrap();
    assert_eq!(v["fixed"][0]["url"], "https://second30.gov.tw/");
    assert_eq!(v["fixed"][0]["removed"], json!(["cert_hostname_mismatch"]));
    assert_eq!(v["broke"][0]["url"], "https://second0.gov.tw/");
    assert_eq!(v["broke"][0]["added"], json!(["no_https_redirect"]));
    assert_eq!(v["disappeared"][0]["url"], "https://city21.gov.tw/");
    assert_eq!(v["appeared"][0]["url"], "https://new.gov.tw/");

    let csv = stdout_ok(&["diff", o, n, "--format", "csv", "--by", "sites"]);
    assert!(csv.starts_with("\u{feff}增減,機關"), "{csv}");
    assert!(csv.contains("已改善,second30,二級機關,https://second30.gov.tw/,否,否,是,是,,cert_hostname_mismatch\r\n"), "{csv}");
}

#[test]
fn the_html_report_reads_right_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results.jsonl");
    write_jsonl(&results, &the_document());
    let page = dir.path().join("report.html");
    let out = run(&[
        "report",
        results.to_str().unwrap(),
        "--format",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script"),
        "the hostile detail reached the page as markup"
    );

    let url = format!("file://{}", page.display());
    let profile = tempfile::tempdir().unwrap();
    let mut args = chromium_args(profile.path());
    args.extend(["--dump-dom".to_owned(), url.clone()]);
    let dump = chromium(&args);
    assert!(
        dump.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dom = String::from_utf8(dump.stdout).expect("UTF-8 DOM");
    assert!(dom.contains("<html lang=\"zh-TW\">"), "{dom:.300}");
    // Nothing ran: the title is ours and no element came from the hostile detail.
    assert!(dom.contains("<title>政府網站導入 HTTPS 現況</title>"));
    assert!(!dom.contains("<script") && !dom.contains("<img"));

    let text = visible_text(&dom);
    let words: Vec<&str> = text.split_whitespace().collect();
    // The NDC table reads in order: each row's cells follow one another.
    for row in ZH_ROWS {
        assert!(
            words.windows(5).any(|w| w == row),
            "row {row:?} not in the visible text:\n{text}"
        );
    }
    assert!(text.contains("重新申請與網域相符的憑證"));
    assert!(
        text.contains("<script>document.title='pwned'</script>"),
        "the hostile detail shows as text"
    );

    // English too.
    let page_en = dir.path().join("report-en.html");
    stdout_ok(&[
        "report",
        results.to_str().unwrap(),
        "--lang",
        "en",
        "--output",
        page_en.to_str().unwrap(),
    ]);
    let mut args = chromium_args(profile.path());
    args.extend([
        "--dump-dom".to_owned(),
        format!("file://{}", page_en.display()),
    ]);
    let dom = String::from_utf8(chromium(&args).stdout).unwrap();
    let text = visible_text(&dom);
    assert!(dom.contains("<html lang=\"en\">"));
    assert!(
        text.contains("Total 169 124 74 73.37%") || {
            let w: Vec<&str> = text.split_whitespace().collect();
            w.windows(5)
                .any(|w| w == ["Total", "169", "124", "74", "73.37%"])
        },
        "{text}"
    );
    assert!(text.contains("re-issue a certificate that covers the domain"));

    // A screenshot for people to look at, kept as an artifact.
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let png = artifacts.join("report.png");
    let _ = std::fs::remove_file(&png);
    let mut args = chromium_args(profile.path());
    args.extend([
        format!("--screenshot={}", png.display()),
        "--window-size=1280,2000".to_owned(),
        "--hide-scrollbars".to_owned(),
        url,
    ]);
    let shot = chromium(&args);
    assert!(
        shot.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
}
