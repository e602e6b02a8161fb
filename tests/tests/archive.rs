//! The PostgreSQL archive, end to end: a farm scanned by the cluster with
//! `scan-coordinator --archive`, a second scan made from the first with four changes (a site
//! fixed, a site broken, a site added, one removed) and imported with `scanctl import`, then
//! `history`, `trend`, `diff` and the agency packs read back — the packs in headless Chromium.
//!
//! Against a real PostgreSQL (see [`scan_tests::pg`]): the machine's on 127.0.0.1:5432, or
//! one started for the test. Needs the binaries built first, as `./test.sh` does.

use farm::Farm;
use scan_tests::chromium::{chromium, chromium_args, visible_text};
use scan_tests::cluster::Cluster;
use scan_tests::pg::TestDb;
use scan_tests::scan::Run;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration, Instant};

async fn scanctl(args: &[&str]) -> Run {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    scan_tests::scan::scanctl(&args).await
}

async fn ok(args: &[&str]) -> String {
    let run = scanctl(args).await;
    assert!(
        run.status.success(),
        "scanctl {args:?}: {}\n{}",
        run.status,
        run.stderr
    );
    run.stdout
}

/// Every row of the archive in a stable text form: what "the same rows" means.
fn rows(db: &TestDb) -> String {
    db.query(
        "SELECT coalesce(string_agg(x, E'\\n' ORDER BY x), '') FROM (
           SELECT concat_ws('|', sc.source, sc.name, sc.fingerprint, sc.site_count,
                            s.url, r.position, r.agency, r.category, r.https_ok,
                            r.forced_https, r.codes::text, r.result::text) AS x
             FROM results r JOIN scans sc ON sc.id = r.scan_id JOIN sites s ON s.id = r.site_id
         ) AS t",
    )
}

/// `group → (count, adopted, forced, ratio text)` of a figure list in JSON.
type Cells = BTreeMap<String, (u64, u64, u64, String)>;

fn cell(v: &Value) -> (u64, u64, u64, String) {
    let ratio = match &v["ratio"] {
        Value::Null => "—".to_owned(),
        r => format!("{:.2}%", r.as_f64().unwrap()),
    };
    (
        v["count"].as_u64().unwrap(),
        v["adopted"].as_u64().unwrap(),
        v["forced"].as_u64().unwrap(),
        ratio,
    )
}

/// The NDC table of `scanctl report FILE --format json`.
async fn file_cells(path: &Path) -> Cells {
    let text = ok(&["report", path.to_str().unwrap(), "--format", "json"]).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut out: Cells = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["group"].as_str().unwrap().to_owned(), cell(g)))
        .collect();
    out.insert("(total)".into(), cell(&v["total"]));
    out
}

/// One scan's rows of `scanctl trend --format json`.
fn trend_cells(trend: &Value, scan: &str) -> Cells {
    trend["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["scan"] == scan)
        .map(|r| {
            let g = r["group"].as_str().unwrap_or("(total)").to_owned();
            (g, cell(r))
        })
        .collect()
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_lines(path: &Path, lines: &[Value]) {
    let text: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Make a result adopted and forced (`ok`), or neither, with these findings.
fn set_verdict(result: &mut Value, ok: bool, findings: Value) {
    result["https_ok"] = json!(ok);
    result["forced_https"] = json!(ok);
    result["findings"] = findings;
}

/// Wait until the coordinator has archived `n` scans (bounded; not an assertion on speed).
async fn wait_archived(db: &TestDb, n: usize, cluster: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let have: usize = db
            .query("SELECT count(*) FROM scans")
            .trim()
            .parse()
            .unwrap_or(0);
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the coordinator did not archive the job\n{}",
            cluster.log("coordinator")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_scans_archived_give_history_trend_diff_and_agency_packs() {
    let db = TestDb::create();
    let url = db.url();
    let farm = Farm::catalog()
        .first_address(Ipv4Addr::new(127, 110, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("sites.csv");
    farm.write_csv(&csv).unwrap();

    // Scan 1: a cluster job, archived by the coordinator when it finishes.
    let mut cluster = Cluster::builder()
        .workers(2)
        .shard_size(8)
        .archive(&url)
        .start(&farm)
        .await;
    let job = cluster
        .scanctl(&["submit", csv.to_str().unwrap(), "--name", "2026-Q3"])
        .await
        .stdout
        .trim()
        .to_owned();
    cluster.wait_done(&job).await;
    wait_archived(&db, 1, &cluster).await;
    // The engine's per-browser verdicts are columns of every archived result.
    assert_eq!(
        db.query("SELECT count(*) FROM results WHERE chrome_ok IS NULL OR mozilla_ok IS NULL")
            .trim(),
        "0"
    );
    let first = dir.path().join("q3.jsonl");
    let run = cluster
        .scanctl(&["results", &job, "--format", "jsonl"])
        .await;
    assert!(run.status.success(), "{}", run.stderr);
    std::fs::write(&first, &run.stdout).unwrap();
    assert!(
        !cluster.logs().contains("password"),
        "nothing about passwords in the logs"
    );

    // One tally: the job report, the file report and the database trend agree cell by cell.
    let job_report = &cluster.report(&job).await["report"];
    let mut from_job: Cells = job_report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["category"].as_str().unwrap().to_owned(), cell(c)))
        .collect();
    from_job.insert("(total)".into(), cell(job_report));
    let from_file = file_cells(&first).await;
    let trend: Value =
        serde_json::from_str(&ok(&["trend", "--db", &url, "--format", "json"]).await).unwrap();
    let from_db = trend_cells(&trend, "2026-Q3");
    assert_eq!(from_job, from_file, "job report vs file report");
    assert_eq!(from_db, from_file, "database trend vs file report");
    // The group order is the report's too.
    let job_order: Vec<&str> = job_report["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    let db_order: Vec<&str> = trend["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["scan"] == "2026-Q3" && !r["group"].is_null())
        .map(|r| r["group"].as_str().unwrap())
        .collect();
    assert_eq!(job_order, db_order);

    // Archiving the same job again (a restarted coordinator) leaves the same rows.
    let before = rows(&db);
    assert!(before.lines().count() == farm.sites().len(), "{before}");
    cluster.kill_coordinator();
    cluster.start_coordinator();
    cluster.wait_log("coordinator", "coordinator serving").await;
    tokio::time::sleep(Duration::from_secs(3)).await; // three archive rounds
    assert_eq!(
        rows(&db),
        before,
        "a second archive of the job changed rows"
    );

    // Scan 2: the first with four changes, imported from a file.
    let mut lines = read_lines(&first);
    let failing = lines
        .iter()
        .position(|r| r["https_ok"] == false && r["agency"] != "")
        .unwrap();
    let fixed_url = lines[failing]["url"].as_str().unwrap().to_owned();
    set_verdict(&mut lines[failing], true, json!([]));
    let passing = lines
        .iter()
        .position(|r| r["https_ok"] == true && r["forced_https"] == true)
        .unwrap();
    let broken_url = lines[passing]["url"].as_str().unwrap().to_owned();
    lines[passing]["https_ok"] = json!(false);
    lines[passing]["forced_https"] = json!(false);
    lines[passing]["findings"] =
        json!([{"code": "cert_expired", "severity": "error", "detail": "expired yesterday"}]);
    let removed = lines
        .iter()
        .position(|r| r["url"] != fixed_url.as_str() && r["url"] != broken_url.as_str())
        .unwrap();
    let removed_url = lines.remove(removed)["url"].as_str().unwrap().to_owned();
    let mut added = lines[0].clone();
    added["url"] = json!("https://new-site.gov.test/");
    added["host"] = json!("new-site.gov.test");
    added["https_ok"] = json!(false);
    added["forced_https"] = json!(false);
    added["findings"] =
        json!([{"code": "dns_nxdomain", "severity": "error", "detail": "no such name"}]);
    lines.push(added);
    for l in &mut lines {
        l["scanned_at"] = json!("2030-01-15T02:00:00Z");
        // The engine's per-browser verdicts (a field this build does not know) are archived.
        l["browsers"] =
            json!({"chrome": {"ok": l["https_ok"]}, "mozilla": {"ok": false, "reason": "test"}});
    }
    let second = dir.path().join("q4.jsonl");
    write_lines(&second, &lines);
    let import = [
        "import",
        second.to_str().unwrap(),
        "--db",
        &url,
        "--name",
        "2026-Q4",
    ];
    let out = ok(&import).await;
    assert!(out.contains("archived scan"), "{out}");
    let after_import = rows(&db);
    let again = ok(&import).await;
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(rows(&db), after_import, "a second import changed rows");
    // Another file under a used name is refused, and changes nothing.
    let refused = scanctl(&[
        "import",
        first.to_str().unwrap(),
        "--db",
        &url,
        "--name",
        "2026-Q4",
    ])
    .await;
    assert!(
        !refused.status.success() && refused.stderr.contains("already archived"),
        "{}",
        refused.stderr
    );
    assert_eq!(rows(&db), after_import);
    assert_eq!(
        db.query(&format!(
            "SELECT r.chrome_ok, r.mozilla_ok FROM results r JOIN sites s ON s.id = r.site_id
              JOIN scans sc ON sc.id = r.scan_id WHERE sc.name = '2026-Q4' AND s.url = '{fixed_url}'"
        ))
        .trim(),
        "t|f"
    );

    // History: both scans, in order.
    let history: Value =
        serde_json::from_str(&ok(&["history", "--db", &url, "--format", "json"]).await).unwrap();
    let names: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["2026-Q3", "2026-Q4"]);

    // The trend of the second scan is its file report, and moves by exactly the changes.
    let trend: Value =
        serde_json::from_str(&ok(&["trend", "--db", &url, "--format", "json"]).await).unwrap();
    assert_eq!(trend_cells(&trend, "2026-Q4"), file_cells(&second).await);
    let total = |scan: &str| trend_cells(&trend, scan)["(total)"].clone();
    let (q3, q4) = (total("2026-Q3"), total("2026-Q4"));
    let removed_line = read_lines(&first)
        .into_iter()
        .find(|l| l["url"] == removed_url.as_str())
        .unwrap();
    let b = |v: &Value| u64::from(v.as_bool().unwrap());
    // count: one added, one removed; adopted: +1 fixed, -1 broken, minus the removed one's.
    assert_eq!(q4.0, q3.0);
    assert_eq!(q4.1, q3.1 + 1 - 1 - b(&removed_line["https_ok"]));
    // forced: the fixed site was not forced before (it was not adopted), the broken one was.
    assert_eq!(q4.2, q3.2 + 1 - 1 - b(&removed_line["forced_https"]));
    // By agency, rolled up: 行政院 holds its three ministries' sites.
    let by_agency: Value = serde_json::from_str(
        &ok(&["trend", "--db", &url, "--by", "agency", "--format", "json"]).await,
    )
    .unwrap();
    let agency_count = |name: &str| -> u64 {
        by_agency["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["scan"] == "2026-Q3" && r["group"] == name)
            .map(|r| r["count"].as_u64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(
        agency_count("行政院"),
        ["國家發展委員會", "內政部", "教育部"]
            .iter()
            .map(|a| agency_count(a))
            .sum::<u64>()
    );

    // The diff of the two files says exactly the four changes.
    let diff: Value = serde_json::from_str(
        &ok(&[
            "diff",
            first.to_str().unwrap(),
            second.to_str().unwrap(),
            "--format",
            "json",
        ])
        .await,
    )
    .unwrap();
    let urls = |k: &str| -> Vec<String> {
        diff[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["url"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(urls("fixed"), [fixed_url.as_str()]);
    assert_eq!(urls("broke"), [broken_url.as_str()]);
    assert_eq!(urls("appeared"), ["https://new-site.gov.test/"]);
    assert_eq!(urls("disappeared"), [removed_url.as_str()]);

    // Agency packs of the archived second scan: one page and one CSV per agency, an index.
    let packs = dir.path().join("packs");
    let out = ok(&[
        "report",
        "--db",
        &url,
        "--scan",
        "2026-Q4",
        "--split-by",
        "agency",
        "--output-dir",
        packs.to_str().unwrap(),
        "--lang",
        "zh-TW",
    ])
    .await;
    assert!(out.contains("agency packs"), "{out}");
    let index = std::fs::read_to_string(packs.join("index.html")).unwrap();
    // The farm's tree: three ministries under 行政院, two city governments on their own.
    for agency in [
        "國家發展委員會",
        "內政部",
        "教育部",
        "臺北市政府",
        "高雄市政府",
    ] {
        assert!(index.contains(agency), "index lacks {agency}");
    }
    let mut htmls: Vec<_> = std::fs::read_dir(&packs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html") && !p.ends_with("index.html"))
        .collect();
    htmls.sort();
    assert_eq!(htmls.len(), 5, "{htmls:?}");
    for h in &htmls {
        assert!(
            h.with_extension("csv").exists(),
            "no CSV beside {}",
            h.display()
        );
    }
    // The pack of the agency whose site got fixed says so, and its failing sites say since when.
    let fixed_agency = read_lines(&first)
        .into_iter()
        .find(|l| l["url"] == fixed_url.as_str())
        .unwrap()["agency"]
        .as_str()
        .unwrap()
        .to_owned();
    let fixed_pack = htmls
        .iter()
        .find(|p| std::fs::read_to_string(p).unwrap().contains(&fixed_url))
        .expect("a pack shows the fixed site");
    let profile = tempfile::tempdir().unwrap();
    let mut args = chromium_args(profile.path());
    args.extend([
        "--dump-dom".to_owned(),
        format!("file://{}", fixed_pack.display()),
    ]);
    let dom = chromium(&args);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let text = visible_text(&String::from_utf8_lossy(&dom.stdout));
    for needle in [
        "與上次掃描（2026-Q3）相比",
        "已改善",
        &fixed_url,
        "優先處理",
        "歷次掃描趨勢",
        "2026-Q4",
        "臺灣時間",
    ] {
        assert!(
            text.contains(needle),
            "the pack of {fixed_agency} lacks {needle:?}:\n{text}"
        );
    }
    assert!(
        text.contains("未符合自"),
        "failing sites say since when:\n{text}"
    );
    assert!(
        !text.contains("T02:00:00"),
        "dates are in plain Taiwan time:\n{text}"
    );
    let artifacts = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    for (page, png) in [
        (fixed_pack.clone(), "agency-pack.png"),
        (packs.join("index.html"), "agency-index.png"),
    ] {
        let mut args = chromium_args(profile.path());
        args.extend([
            format!("--screenshot={}", artifacts.join(png).display()),
            "--window-size=1000,1400".to_owned(),
            format!("file://{}", page.display()),
        ]);
        let shot = chromium(&args);
        assert!(
            shot.status.success(),
            "{}",
            String::from_utf8_lossy(&shot.stderr)
        );
        assert!(std::fs::metadata(artifacts.join(png)).unwrap().len() > 10_000);
    }
    // The trend page, for the README.
    let trend_html = dir.path().join("trend.html");
    ok(&[
        "trend",
        "--db",
        &url,
        "--output",
        trend_html.to_str().unwrap(),
    ])
    .await;
    let mut args = chromium_args(profile.path());
    args.extend([
        format!("--screenshot={}", artifacts.join("trend.png").display()),
        "--window-size=900,1300".to_owned(),
        format!("file://{}", trend_html.display()),
    ]);
    assert!(chromium(&args).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_is_refused_without_being_printed() {
    let run = scanctl(&[
        "history",
        "--db",
        "postgres://govscan:s3cret-pw@127.0.0.1:5432/x",
    ])
    .await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("password"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret-pw") && !run.stdout.contains("s3cret-pw"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once() {
    let db = TestDb::create();
    let first = ok(&["db", "migrate", "--db", &db.url()]).await;
    assert!(first.contains("applied migrations [1, 2]"), "{first}");
    let second = ok(&["db", "migrate", "--db", &db.url()]).await;
    assert!(second.contains("up to date"), "{second}");
    assert_eq!(
        db.query("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations")
            .trim(),
        "1,2"
    );
}

/// A CA and a server certificate for 127.0.0.1, made with the `openssl` command.
fn tls_files(dir: &Path) {
    let sh = |script: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=govscan test db CA' 2>/dev/null",
    );
    sh(
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1' 2>/dev/null",
    );
    sh(
        "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf && \
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext.cnf 2>/dev/null",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_postgresql_is_verified() {
    let db = TestDb::create_own();
    let data = db.own_data_dir().unwrap();
    tls_files(&data);
    let _ = std::process::Command::new("chown")
        .args(["postgres", "server.key", "server.pem"])
        .current_dir(&data)
        .status();
    let _ = std::process::Command::new("chmod")
        .args(["600", "server.key"])
        .current_dir(&data)
        .status();
    let conf = data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nssl = on\nssl_cert_file = 'server.pem'\nssl_key_file = 'server.key'\n");
    std::fs::write(&conf, text).unwrap();
    // TCP connections without TLS are refused by the server: only TLS gets in.
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap();
    db.restart_own();
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/{}?sslmode=require",
        db.port, db.name
    );
    let ca = data.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let out = ok(&["db", "migrate", "--db", &url, "--db-ca-file", ca]).await;
    assert!(out.contains("applied migrations"), "{out}");
    // Without the CA the server's certificate is not trusted, and nothing is sent.
    let refused = scanctl(&["history", "--db", &url]).await;
    assert!(!refused.status.success());
    assert!(
        refused.stderr.to_lowercase().contains("certificate"),
        "{}",
        refused.stderr
    );
    // In the clear, the server says no.
    let plain = format!(
        "postgres://postgres@127.0.0.1:{}/{}?sslmode=disable",
        db.port, db.name
    );
    assert!(!scanctl(&["history", "--db", &plain]).await.status.success());
}
