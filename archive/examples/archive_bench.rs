//! The archive's benchmark (BENCHMARKS.md): archive one scan of `--sites` generated results
//! (time, database size), then `--scans` scans of `--trend-sites` sites each, and time the
//! trend queries over them, with the plan of the slowest.
//!
//! ```sh
//! cargo run --release -p scan-archive --example archive_bench -- \
//!     'postgres://postgres@127.0.0.1:5432/bench1?sslmode=disable' \
//!     'postgres://postgres@127.0.0.1:5432/bench2?sslmode=disable' 100000 20 50000
//! ```
//! Both databases must exist. SITES 0 skips the first part; scans archived by an earlier
//! run are kept, so the queries can be timed again (after a migration, say). The results are synthetic but shaped like the
//! engine's (a two-certificate chain, two redirect hops, findings, mixed-content samples).

use archive::{Archive, Begin, GroupBy, ScanMeta, Tls, TrendQuery};
use std::time::Instant;

const GROUPS: [&str; 4] = ["二級機關", "三級機關", "縣市政府", "學校"];

/// One synthetic result; `scan` shifts which sites pass, so scans differ.
fn result(i: usize, scan: usize) -> serde_json::Value {
    let ministry = i % 30;
    let agency = format!("機關{ministry:02}-{:03}", (i / 30) % 40);
    let ok = (i * 7 + scan * 13) % 10 < 7;
    let forced = ok && !(i + scan).is_multiple_of(3);
    let cert = |cn: &str, issuer: &str| {
        serde_json::json!({"subject": format!("CN={cn}"), "issuer": format!("CN={issuer}"),
            "dns_names": [cn], "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z",
            "signature_algorithm": "sha256WithRSAEncryption", "key": "RSA 2048",
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"})
    };
    let host = format!("site{i}.gov.tw");
    let mut findings = vec![
        serde_json::json!({"code": "hsts_missing", "severity": "warning",
        "detail": "no Strict-Transport-Security header on the https response"}),
    ];
    if !ok {
        findings.push(
            serde_json::json!({"code": "cert_hostname_mismatch", "severity": "error",
            "detail": format!("the certificate names www.example.gov.tw, not {host}")}),
        );
    }
    serde_json::json!({
        "url": format!("https://{host}/"), "host": host, "agency": agency,
        "category": GROUPS[i % GROUPS.len()], "parent": format!("部會{ministry:02}"),
        "https_ok": ok, "forced_https": forced, "findings": findings,
        "trust_store": "chrome-139", "scanned_at": format!("2026-{:02}-01T02:00:00Z", 1 + scan % 12),
        "duration_ms": 812, "addresses": ["203.0.113.10"],
        "https": {"address": "203.0.113.10:443", "protocol": "TLSv1.3", "cipher": "TLS13_AES_128_GCM_SHA256",
                  "chain": [cert(&format!("site{i}.gov.tw"), "GTLSCA"), cert("GTLSCA", "ePKI Root")],
                  "status": 200},
        "redirects": [{"url": format!("http://site{i}.gov.tw/"), "status": 301, "location": format!("https://site{i}.gov.tw/"), "via": "http"},
                      {"url": format!("https://site{i}.gov.tw/"), "status": 200}],
        "final_url": format!("https://site{i}.gov.tw/"),
        "browsers": {"chrome": {"ok": ok}, "mozilla": {"ok": false, "reason": "GRCA is not in Mozilla's store"}}
    })
}

async fn archive_scan(db: &mut Archive, scan: usize, sites: usize) -> std::time::Duration {
    let started = Instant::now();
    let meta = ScanMeta {
        source: format!("bench:{scan}"),
        name: format!("scan-{scan:02}"),
        fingerprint: format!("bench-{scan}"),
        started: None,
        finished: None,
        scanner_version: "bench".into(),
        settings: serde_json::json!({}),
    };
    let Begin::New(mut w) = db.begin(&meta).await.expect("begin") else {
        // Archived by an earlier run: the queries can be timed again on the same data.
        return std::time::Duration::ZERO;
    };
    for chunk in (0..sites).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<(i32, serde_json::Value)> =
            chunk.iter().map(|&i| (i as i32, result(i, scan))).collect();
        w.add(&batch).await.expect("add");
    }
    w.finish().await.expect("finish");
    started.elapsed()
}

async fn size(db: &Archive) -> String {
    let row = db
        .client()
        .query_one(
            "SELECT pg_size_pretty(pg_database_size(current_database())),
                    pg_size_pretty(pg_total_relation_size('results')),
                    pg_size_pretty(pg_total_relation_size('sites'))",
            &[],
        )
        .await
        .expect("size");
    format!(
        "database {}, results {} (with indexes and TOAST), sites {}",
        row.get::<_, String>(0),
        row.get::<_, String>(1),
        row.get::<_, String>(2)
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url1, url2, sites, scans, trend_sites] = args.as_slice() else {
        eprintln!("usage: archive_bench URL1 URL2 SITES SCANS TREND_SITES");
        std::process::exit(2);
    };
    let (sites, scans, trend_sites): (usize, usize, usize) = (
        sites.parse().unwrap(),
        scans.parse().unwrap(),
        trend_sites.parse().unwrap(),
    );
    let tls = Tls::default();

    let mut db = archive::connect(url1, None, &tls).await.expect("connect");
    db.migrate().await.expect("migrate");
    if sites > 0 {
        let took = archive_scan(&mut db, 0, sites).await;
        println!(
            "archive {sites} sites: {:.1} s ({:.0} sites/s)",
            took.as_secs_f64(),
            sites as f64 / took.as_secs_f64()
        );
        db.client()
            .batch_execute("VACUUM ANALYZE")
            .await
            .expect("vacuum");
        println!("after one scan of {sites}: {}", size(&db).await);
        let again = Instant::now();
        let meta = ScanMeta {
            source: "bench:0".into(),
            name: "scan-00".into(),
            fingerprint: "bench-0".into(),
            started: None,
            finished: None,
            scanner_version: "bench".into(),
            settings: serde_json::json!({}),
        };
        assert!(matches!(db.begin(&meta).await, Ok(Begin::Already(_))));
        println!(
            "archive the same scan again: {:.3} s (nothing written)",
            again.elapsed().as_secs_f64()
        );
    }

    let mut db = archive::connect(url2, None, &tls).await.expect("connect");
    db.migrate().await.expect("migrate");
    let all = Instant::now();
    for scan in 0..scans {
        archive_scan(&mut db, scan, trend_sites).await;
    }
    println!(
        "archive {scans} scans of {trend_sites}: {:.1} s",
        all.elapsed().as_secs_f64()
    );
    db.client()
        .batch_execute("VACUUM ANALYZE")
        .await
        .expect("vacuum");
    println!("after {scans} scans: {}", size(&db).await);
    let queries = [
        ("trend --by category", TrendQuery::default()),
        (
            "trend --by agency",
            TrendQuery {
                by: GroupBy::Agency,
                ..Default::default()
            },
        ),
        (
            "trend --agency 部會07",
            TrendQuery {
                agency: Some("部會07".into()),
                ..Default::default()
            },
        ),
    ];
    let mut slowest = (std::time::Duration::ZERO, 0);
    for (i, (what, q)) in queries.iter().enumerate() {
        // Once to warm the cache, then timed.
        db.trend(q).await.expect("trend");
        let t = Instant::now();
        let rows = db.trend(q).await.expect("trend");
        let took = t.elapsed();
        println!(
            "{what}: {} rows in {:.0} ms",
            rows.len(),
            took.as_secs_f64() * 1000.0
        );
        if took > slowest.0 {
            slowest = (took, i);
        }
    }
    let t = Instant::now();
    let history = db.history().await.expect("history");
    println!(
        "history: {} scans in {:.0} ms",
        history.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let (what, q) = &queries[slowest.1];
    println!(
        "plan of the slowest, {what}:\n{}",
        db.explain_trend(q).await.expect("explain")
    );
    let last = history.last().expect("a scan").id;
    let t = Instant::now();
    let failing = db.failing_since(last).await.expect("failing since");
    println!(
        "failing since (last scan): {} sites in {:.0} ms",
        failing.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
}
