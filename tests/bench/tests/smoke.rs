//! A smoke run of the benchmark on 100 sites: the real `scan-bench` binary drives the real
//! fleet, `scanctl scan`, Redis, the coordinator and a worker, and every figure it reports
//! must be there and consistent. Needs root (ports 80/443 on loopback), `redis-server` and
//! the workspace's binaries (`cargo build --workspace --bins`, as ./test.sh does).

use std::path::Path;
use std::process::Command;

#[test]
fn a_100_site_run_reports_every_figure_for_embedded_and_cluster() {
    let exe = Path::new(env!("CARGO_BIN_EXE_scan-bench"));
    let bin_dir = exe.parent().unwrap();
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(exe)
        .args([
            "--sites",
            "100",
            "--modes",
            "embedded,cluster-1",
            "--runs",
            "1",
        ])
        .args([
            "--latency-ms",
            "5",
            "--concurrency",
            "100",
            "--run-timeout",
            "300",
        ])
        // apart from the default range, so a benchmark run by hand does not collide
        .args(["--first-address", "127.203.0.1"])
        .arg("--bin-dir")
        .arg(bin_dir)
        .arg("--out")
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "scan-bench exited {status}");

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap())
            .unwrap();
    let rows = summary["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{summary:#}");
    for row in rows {
        let mode = row["mode"].as_str().unwrap();
        assert_eq!(row["results"], 100, "{mode}: every site has a result");
        assert_eq!(row["wrong"][0], 0.0, "{mode}: verdicts match the fleet's");
        assert!(row["sites_per_s"].as_f64().unwrap() > 0.0, "{mode}");
        assert!(
            row["cpu_s_per_1000_sites"].as_f64().unwrap() > 0.0,
            "{mode}"
        );
        assert!(row["max_rss_mb"].as_f64().unwrap() > 1.0, "{mode}");
        assert!(
            row["p99_ms"].as_f64().unwrap() >= row["p50_ms"].as_f64().unwrap(),
            "{mode}"
        );
    }
    let cluster = &rows[1];
    assert_eq!(cluster["mode"], "cluster-1");
    // each site's result is written set-if-absent, once
    assert_eq!(
        cluster["redis_calls_by_command"]["hsetnx"], 1.0,
        "{cluster:#}"
    );
    assert!(cluster["peak_rss_mb"]["worker-1"].as_f64().unwrap() > 1.0);
    assert!(cluster["peak_rss_mb"]["coordinator"].as_f64().unwrap() > 1.0);
    let md = std::fs::read_to_string(out.path().join("summary.md")).unwrap();
    assert!(
        md.contains("| embedded | 100 |") && md.contains("| cluster-1 | 100 |"),
        "{md}"
    );
}
