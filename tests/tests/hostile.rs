//! `scanctl scan` against the hostile farm (`farm::hostile`): sites that attack the scanner.
//! Each attack must end as its expected verdict — within the step timeout, nothing
//! followed that a browser refuses — and no hostile text may reach a human-facing output.

use farm::hostile::{Attack, HostileFarm, RLO, UNSAFE_PORT};
use scan_tests::scan::{scan_hostile, scanctl};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::Path;

/// `scanctl scan` of `attacks` with a 3 s step timeout, written in `format` to `out`.
async fn scan(farm: &HostileFarm, attacks: &[Attack], format: &str, out: &Path) {
    scan_hostile(farm, attacks, format, out, 3).await;
}

/// `attacks` scanned to `dir/results.jsonl`; the results by host.
async fn scan_jsonl(farm: &HostileFarm, attacks: &[Attack], dir: &Path) -> HashMap<String, Value> {
    let out = dir.join("results.jsonl");
    scan(farm, attacks, "jsonl", &out).await;
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["host"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

fn codes(v: &Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn detail<'a>(v: &'a Value, code: &str) -> &'a str {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .and_then(|f| f["detail"].as_str())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_site_ends_as_its_expected_finding() {
    let farm = HostileFarm::start(1).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let results = scan_jsonl(&farm, &Attack::ALL, dir.path()).await;
    let mut wrong = Vec::new();
    for attack in Attack::ALL {
        let r = &results[attack.host()];
        let expect = attack.expect();
        let want: BTreeSet<String> = expect.codes.iter().map(|c| c.as_str().to_owned()).collect();
        let got = (
            r["https_ok"].as_bool(),
            r["forced_https"].as_bool(),
            codes(r),
        );
        if got
            != (
                Some(expect.https_ok),
                Some(expect.forced_https),
                want.clone(),
            )
        {
            wrong.push(format!(
                "{attack:?}: want https_ok={} forced={} {want:?}, got {got:?}: {:#}",
                expect.https_ok, expect.forced_https, r["findings"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Slow and endless answers end at the step timeout, not the site's.
    for attack in [Attack::Slowloris, Attack::EndlessBody, Attack::HugeBody] {
        let ms = results[attack.host()]["duration_ms"].as_u64().unwrap();
        assert!(ms < 25_000, "{attack:?} took {ms} ms");
    }
    // The endless and huge pages are read up to the cap, and say they were cut.
    for attack in [Attack::EndlessBody, Attack::HugeBody] {
        let mixed = &results[attack.host()]["mixed_content"];
        assert_eq!(mixed["truncated"], true, "{attack:?}: {mixed:#}");
    }
    let huge = &results[Attack::HugeBody.host()]["mixed_content"];
    assert_eq!(
        huge["passive"]["samples"][0]["url"], "http://cdn.hostile.test/late.png",
        "the image 1.5 MiB into the page is found: {huge:#}"
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_a_restricted_port_is_refused_as_chrome_does_and_never_connected() {
    let farm = HostileFarm::start(2).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let attacks = [Attack::UnsafePortRedirect, Attack::RedirectStorm];
    let results = scan_jsonl(&farm, &attacks, dir.path()).await;
    let r = &results[Attack::UnsafePortRedirect.host()];
    let why = detail(r, "no_https_redirect");
    assert!(why.contains("ERR_UNSAFE_PORT"), "{why}");
    assert!(why.contains(&format!(":{UNSAFE_PORT}/")), "{why}");
    assert_eq!(
        farm.unsafe_port_connections(),
        0,
        "nothing connects to the port"
    );
    // The redirect storm is cut at Chrome's limit: a bounded number of requests.
    let storm = farm.requests(Attack::RedirectStorm);
    assert!(
        (20..=45).contains(&storm),
        "{storm} requests to the redirect storm"
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_dates_from_1950_to_9999_are_judged_by_their_values() {
    let farm = HostileFarm::start(3).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let results = scan_jsonl(&farm, &[Attack::EdgeDates], dir.path()).await;
    let r = &results[Attack::EdgeDates.host()];
    assert_eq!(r["https_ok"], true, "{:#}", r["findings"]);
    let leaf = &r["https"]["chain"][0];
    for (field, day) in [("not_before", "1950-01-01"), ("not_after", "9999-12-31")] {
        let date = leaf[field].as_str().unwrap();
        assert!(date.starts_with(day), "{field}: {leaf:#}");
    }
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bidi_override_from_a_certificate_or_a_list_reaches_no_report() {
    let farm = HostileFarm::start(4).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let results = scan_jsonl(&farm, &[Attack::BidiNames], dir.path()).await;
    let r = &results[Attack::BidiNames.host()];
    // JSON keeps what the site sent, for machines.
    assert!(detail(r, "cert_hostname_mismatch").contains(RLO));
    assert!(r["agency"].as_str().unwrap().contains(RLO));
    let jsonl = dir.path().join("results.jsonl");
    let mut outputs = Vec::new();
    for (format, lang) in [
        ("html", "en"),
        ("html", "zh-TW"),
        ("csv", "en"),
        ("table", "en"),
    ] {
        for by in ["category", "agency", "sites"] {
            let run = scanctl(&[
                OsStr::new("report"),
                jsonl.as_os_str(),
                OsStr::new("--format"),
                OsStr::new(format),
                OsStr::new("--lang"),
                OsStr::new(lang),
                OsStr::new("--by"),
                OsStr::new(by),
            ])
            .await;
            assert!(run.status.success(), "report: {}", run.stderr);
            outputs.push((format!("report {format} {lang} {by}"), run.stdout));
        }
    }
    // `scanctl scan`'s own CSV and table.
    for format in ["csv", "table"] {
        let out = dir.path().join(format!("results.{format}"));
        scan(&farm, &[Attack::BidiNames], format, &out).await;
        outputs.push((
            format!("scan {format}"),
            std::fs::read_to_string(&out).unwrap(),
        ));
    }
    for (what, text) in &outputs {
        assert!(!text.contains(RLO), "{what} carries U+202E:\n{text}");
    }
    // Where the agency or the finding is printed, the override shows as a code point.
    for (what, text) in &outputs {
        let prints_names = what.starts_with("report html")
            || what.starts_with("report table")
            || what == "report csv en sites"
            || what.starts_with("scan");
        if prints_names {
            assert!(text.contains("U+202E"), "{what}:\n{text}");
        }
    }
    farm.shutdown().await;
}
