//! Chromium as the oracle: every farm site is scanned by the real `scanctl scan` and
//! visited by headless Chromium (Debian's `chromium`, driven over the DevTools protocol,
//! trusting the farm's root through its NSS database), and the two must agree on
//! `https_ok`, `forced_https` and each mixed-content class. See `scan_tests::browser`.
//!
//! Sites marked [`farm::SiteSpec::not_for_browser`] are left out, by name, with the
//! reason (a verdict resting on a Chrome Root Store constraint that Chromium does not
//! apply to an NSS-trusted root).
//!
//! Needs the binaries built first (`cargo build --workspace --bins`), ports 80/443 on
//! loopback (root), `openssl`, `chromium` and `certutil` (`libnss3-tools`): `./test.sh`
//! installs them.

use farm::{Farm, FarmSite};
use futures::StreamExt;
use scan_tests::browser::{Chromium, Verdict, Visit};
use scan_tests::scan::{Lab, Observed};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// Visits at once: each is a tab in a browser context of its own.
const TABS: usize = 4;

/// The README's table of browser cases: one row per catalog site.
const README: &str = include_str!("../../README.md");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_and_chromium_agree_on_every_farm_site() {
    let farm = Farm::catalog()
        .first_address(Ipv4Addr::new(127, 93, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let lab = Lab::new(&farm);
    let (results, browser) = tokio::join!(
        lab.scan_ok(&farm, true),
        Chromium::launch(farm.ca_pem_path(), farm.dns_records())
    );
    let browser = browser.unwrap_or_else(|e| panic!("headless Chromium: {e}"));

    let (judged, skipped): (Vec<&FarmSite>, Vec<&FarmSite>) = farm
        .sites()
        .iter()
        .partition(|s| s.not_for_browser.is_none());
    // To look at a few sites while debugging: BROWSER_SITES=host,host (the test then
    // compares only those, and says so by failing the count check below).
    let only: Vec<String> = std::env::var("BROWSER_SITES")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let judged: Vec<&FarmSite> = judged
        .into_iter()
        .filter(|s| only.is_empty() || only.contains(&s.host))
        .collect();
    for s in &skipped {
        eprintln!(
            "not compared with Chromium: {} ({})",
            s.host,
            s.not_for_browser.unwrap_or_default()
        );
    }
    let visits: Vec<(&FarmSite, Visit, Visit)> = futures::stream::iter(judged)
        .map(|site| {
            let browser = &browser;
            async move {
                let http = site.url.replacen("https://", "http://", 1);
                let https = browser.visit(&site.url).await;
                let http = browser.visit(&http).await;
                (site, https, http)
            }
        })
        .buffer_unordered(TABS)
        .collect()
        .await;
    eprintln!("browser: {}", browser.version());
    browser.close().await;

    let mut table = String::new();
    let mut disagreements = 0;
    let mut visits = visits;
    visits.sort_by(|a, b| a.0.host.cmp(&b.0.host));
    for (site, https, http) in &visits {
        let chrome = Verdict::of_browser(https, http);
        eprintln!(
            "{}\n    https: {}\n    http:  {}",
            site.host,
            https.summary(),
            http.summary()
        );
        let mine: Vec<&Observed> = results.iter().filter(|r| r.host == site.host).collect();
        let [scan] = mine.as_slice() else {
            disagreements += 1;
            let _ = writeln!(table, "{}: {} scanner results", site.host, mine.len());
            continue;
        };
        let diffs = Verdict::differences(&Verdict::of_scanner(scan), &chrome);
        if diffs.is_empty() {
            continue;
        }
        disagreements += diffs.len();
        for (field, s, c) in &diffs {
            let _ = writeln!(
                table,
                "{:32} {field:22} scanner {s:5} chromium {c:5}",
                site.host
            );
        }
        let _ = writeln!(table, "    ({})", site.description);
        let _ = writeln!(table, "    chromium https: {}", https.summary());
        let _ = writeln!(table, "    chromium http:  {}", http.summary());
        for (code, detail) in &scan.findings {
            let _ = writeln!(table, "    scanner: {code}: {detail}");
        }
    }
    assert!(
        disagreements == 0,
        "{disagreements} disagreements between the scanner and Chromium \
         (site, field, scanner, chromium):\n{table}"
    );
    assert_eq!(
        visits.len() + skipped.len(),
        farm.sites().len(),
        "every site visited or named as skipped"
    );
    farm.shutdown().await;
}

#[test]
fn the_readme_lists_every_catalog_site_the_browser_judges() {
    let rows: Vec<&str> = README
        .lines()
        .skip_while(|l| !l.contains("<!-- browser cases -->"))
        .take_while(|l| !l.contains("<!-- /browser cases -->"))
        .collect();
    assert!(!rows.is_empty(), "README has no browser cases table");
    let missing: Vec<String> = Farm::catalog()
        .specs()
        .map(|(host, _)| host.to_owned())
        .filter(|host| !rows.iter().any(|r| r.contains(&format!("`{host}`"))))
        .collect();
    assert!(
        missing.is_empty(),
        "README's browser cases table misses {missing:?}"
    );
}

/// The hostile farm's cases where Chromium's behaviour is the rule the scanner follows:
/// certificate dates from 1950 to 9999 (the padlock), a redirect to a restricted port
/// (`ERR_UNSAFE_PORT`: not forced), a certificate without subjectAltName, a mebibyte of
/// headers and a redirect storm. Scanned by `scanctl scan` and visited by Chromium on
/// ports 80/443; the two must agree. (Not visited: the slow, endless and 100 MiB pages,
/// which test the scanner's limits, not a browser rule.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanner_and_chromium_agree_on_the_hostile_sites_that_follow_a_browser_rule() {
    use farm::hostile::{Attack, HostileFarm};
    let farm = HostileFarm::start_on(9, Some((80, 443)))
        .await
        .expect("the hostile farm starts");
    let attacks = [
        Attack::EdgeDates,
        Attack::UnsafePortRedirect,
        Attack::BidiNames,
        Attack::OversizedHeaders,
        Attack::RedirectStorm,
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.jsonl");
    scan_tests::scan::scan_hostile(&farm, &attacks, "jsonl", &out, 5).await;
    let results = scan_tests::scan::read_jsonl(&out);
    let browser = Chromium::launch(farm.ca_pem_path(), &farm.dns_records())
        .await
        .unwrap_or_else(|e| panic!("headless Chromium: {e}"));
    let mut table = String::new();
    for attack in attacks {
        let host = attack.host();
        let https = browser.visit(&format!("https://{host}/")).await;
        let http = browser.visit(&format!("http://{host}/")).await;
        eprintln!(
            "{host}\n    https: {}\n    http:  {}",
            https.summary(),
            http.summary()
        );
        let scan = results
            .iter()
            .find(|r| r.host == host)
            .unwrap_or_else(|| panic!("no result for {host}"));
        let chrome = Verdict::of_browser(&https, &http);
        for (field, s, c) in Verdict::differences(&Verdict::of_scanner(scan), &chrome) {
            let _ = writeln!(
                table,
                "{host:28} {field:22} scanner {s:5} chromium {c:5}\n    https: {}\n    http:  {}\n    scanner: {:?}",
                https.summary(),
                http.summary(),
                scan.findings
            );
        }
        // The verdicts the hostile farm expects, which the scanner's own tests assert,
        // are Chromium's too.
        let want = attack.expect();
        assert_eq!(
            (chrome.https_ok, chrome.forced_https),
            (want.https_ok, want.forced_https),
            "{host}: Chromium's verdict vs the hostile farm's expectation"
        );
    }
    browser.close().await;
    assert!(table.is_empty(), "scanner vs Chromium:\n{table}");
    farm.shutdown().await;
}
