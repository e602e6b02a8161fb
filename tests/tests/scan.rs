//! `scanctl scan` — the real binary, as a child process — against the simulated farm:
//! every catalog site must come out exactly as a browser would judge it.
//!
//! Needs the binaries built first (`cargo build --workspace --bins`, as `./test.sh` does),
//! ports 80/443 on loopback (root), and the `openssl` binary.

use farm::Farm;
use model::Code;
use scan_tests::scan::{Lab, compare, read_jsonl};
use std::net::Ipv4Addr;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_farm_site_is_judged_as_a_browser_would() {
    let farm = Farm::catalog()
        .first_address(Ipv4Addr::new(127, 90, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let results = Lab::new(&farm).scan_ok(&farm, true).await;
    assert_eq!(results.len(), farm.sites().len(), "one result per site");
    if let Err(table) = compare(farm.sites(), &results) {
        panic!("{table}");
    }
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_allow_private_targets_no_farm_site_is_contacted() {
    let farm = Farm::catalog()
        // Without the openssl sites, whose children the farm's connection count cannot
        // see, the count below covers every listener.
        .retain(|_, s| {
            s.expected()
                .codes
                .iter()
                .all(|c| !matches!(c, Code::TlsLegacyOnly | Code::TlsLegacySupported))
        })
        .retain(|h, _| !h.starts_with("tls12-"))
        .first_address(Ipv4Addr::new(127, 91, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let results = Lab::new(&farm).scan_ok(&farm, false).await;
    assert_eq!(results.len(), farm.sites().len(), "one result per site");
    for site in farm.sites() {
        let r = results
            .iter()
            .find(|r| r.host == site.host)
            .unwrap_or_else(|| panic!("no result for {}", site.host));
        let codes = r.codes();
        if site.address.is_none() {
            // Not in DNS: nothing to refuse, the name does not resolve.
            let want: std::collections::BTreeSet<String> = site
                .expect
                .codes
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect();
            assert_eq!(codes, want, "{}", site.host);
            continue;
        }
        assert!(
            codes.contains("target_private"),
            "{} resolved to a loopback address and must be refused: {codes:?}",
            site.host
        );
        assert!(!r.https_ok && !r.forced_https, "{}", site.host);
    }
    assert_eq!(
        farm.connections_accepted(),
        0,
        "a refused private target must not be contacted at all"
    );
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_fleet_on_lab_ports_is_judged_as_expected() {
    // The benchmark's fleet in small: shared addresses, shared certificates, silent sites,
    // and ports other than 80/443 (the scanner's --http-port/--https-port must follow).
    let mix = farm::Mix {
        per_address: 20,
        page_bytes: 8_000,
        ..farm::Mix::national()
    };
    let farm = Farm::builder()
        .fleet(150, &mix)
        .first_address(Ipv4Addr::new(127, 92, 0, 1))
        .ports(8080, 8443)
        .start()
        .await
        .expect("the fleet starts");
    let results = Lab::new(&farm).scan_ok(&farm, true).await;
    if let Err(table) = compare(farm.sites(), &results) {
        panic!("{table}");
    }
    farm.shutdown().await;
}

/// Chrome asks for a page's `/favicon.ico` on the page's own connection (keep-alive), and so
/// does the scanner: checking the implicit favicon costs a request, not a connection and a
/// TLS handshake. The favicon that redirects to http is still found (mixed content).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_implicit_favicon_is_asked_for_on_the_pages_connection() {
    let farm = Farm::catalog()
        .retain(|h, _| h == "valid.gov.test" || h == "favicon-downgrade.gov.test")
        .first_address(Ipv4Addr::new(127, 94, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    assert_eq!(farm.sites().len(), 2);
    let lab = Lab::new(&farm);
    let mut accepted = Vec::new();
    for extra in [&["--no-favicon-check"][..], &[]] {
        let before = farm.connections_accepted();
        let run = lab.scan_with(&farm, true, extra).await;
        assert!(run.status.success(), "scanctl: {}", run.stderr);
        accepted.push(farm.connections_accepted() - before);
        let results = read_jsonl(&lab.output);
        let downgrade = results
            .iter()
            .find(|r| r.host == "favicon-downgrade.gov.test")
            .expect("a result");
        assert_eq!(
            downgrade.codes().contains("mixed_content_active"),
            extra.is_empty(),
            "the favicon's redirect to http is found only when checked: {:?}",
            downgrade.codes()
        );
    }
    assert_eq!(
        accepted[0], accepted[1],
        "connections without the favicon check, and with it: the favicon must ride the page's connection"
    );
    farm.shutdown().await;
}

/// Chrome's SCT-date rule (the one that distrusts recent HiPKI and TWCA Global certificates),
/// put on the farm's CT root with `--root-constraint` as Chromium's `--test-crs-constraints`
/// does: a certificate whose SCT is dated after the cutoff, or that has none, is
/// `cert_distrusted` in Chrome and still adopted in Firefox; one dated before it is adopted in
/// both. Without the constraint, all three are adopted (the first test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sct_date_constraint_on_a_root_distrusts_what_chrome_distrusts() {
    let farm = Farm::catalog()
        .retain(|h, _| h.starts_with("ct-"))
        .first_address(Ipv4Addr::new(127, 93, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    assert_eq!(farm.sites().len(), 3, "the catalog's ct-* sites");
    let cutoff = (farm.now() - time::Duration::days(10)).unix_timestamp();
    let rule = format!("{}:sctnotafter={cutoff}", farm.ct_root_sha256());
    let verdicts = |results: &[scan_tests::scan::Observed], host: &str| {
        let r = results
            .iter()
            .find(|r| r.host == host)
            .unwrap_or_else(|| panic!("no result for {host}"));
        let browser = |b: &str| r.raw["browsers"][b]["ok"].as_bool();
        (
            r.https_ok,
            r.codes(),
            browser("chrome"),
            browser("mozilla"),
            r.clone(),
        )
    };
    let distrusted: std::collections::BTreeSet<String> = ["cert_distrusted".to_owned()].into();

    // Chrome's profile (the default) with the rule.
    let lab = Lab::new(&farm);
    let run = lab
        .scan_with(&farm, true, &["--root-constraint", &rule])
        .await;
    assert!(run.status.success(), "scanctl: {}", run.stderr);
    let results = read_jsonl(&lab.output);
    assert_eq!(results.len(), 3);
    let (ok, codes, chrome, mozilla, _) = verdicts(&results, "ct-early.gov.test");
    assert!(ok, "an SCT before the cutoff satisfies the rule: {codes:?}");
    assert_eq!((chrome, mozilla), (Some(true), Some(true)));
    for host in ["ct-late.gov.test", "ct-none.gov.test"] {
        let (ok, codes, chrome, mozilla, r) = verdicts(&results, host);
        assert!(!ok, "{host} must not be adopted in Chrome");
        assert_eq!(codes, distrusted, "{host}");
        assert_eq!((chrome, mozilla), (Some(false), Some(true)), "{host}");
        assert_eq!(
            r.raw["browsers"]["chrome"]["code"].as_str(),
            Some("cert_distrusted"),
            "{host}"
        );
        let detail = &r.findings[0].1;
        assert!(
            detail.contains("Gov Test Farm CT Root CA") && detail.contains("SCT"),
            "{host}: the detail names the anchor and the rule: {detail}"
        );
    }
    // Every result says which scanner and settings judged it.
    let scanner = &results[0].raw["scanner"];
    assert_eq!(scanner["schema"].as_u64(), Some(2), "{scanner}");
    assert_eq!(scanner["version"].as_str(), Some(env!("CARGO_PKG_VERSION")));
    assert!(
        scanner["trust_store"]
            .as_str()
            .is_some_and(|s| s.starts_with("Chrome Root Store v")),
        "{scanner}"
    );
    let chrome_digest = scanner["settings_digest"].as_str().unwrap().to_owned();
    assert_eq!(chrome_digest.len(), 16);
    assert!(
        results
            .iter()
            .all(|r| r.raw["scanner"]["settings_digest"] == chrome_digest.as_str()),
        "one scan, one set of settings"
    );
    let (_, _, _, _, late) = verdicts(&results, "ct-late.gov.test");
    assert!(
        late.findings[0].1.contains("earliest SCT is dated"),
        "the late SCT's date is named"
    );
    let (_, _, _, _, none) = verdicts(&results, "ct-none.gov.test");
    assert!(
        none.findings[0].1.contains("no SCT"),
        "a missing SCT is named"
    );

    // Firefox's profile decides https_ok; Chrome's verdict still says no.
    let lab = Lab::new(&farm);
    let run = lab
        .scan_with(
            &farm,
            true,
            &["--root-constraint", &rule, "--trust", "mozilla"],
        )
        .await;
    assert!(run.status.success(), "scanctl: {}", run.stderr);
    let results = read_jsonl(&lab.output);
    let (ok, codes, chrome, mozilla, r) = verdicts(&results, "ct-late.gov.test");
    assert!(
        ok && codes.is_empty(),
        "adopted in Mozilla's eyes: {codes:?}"
    );
    assert_eq!((chrome, mozilla), (Some(false), Some(true)));
    assert_eq!(r.raw["trust_store"].as_str(), Some("mozilla+ca-file"));
    assert_ne!(
        r.raw["scanner"]["settings_digest"].as_str(),
        Some(chrome_digest.as_str()),
        "another trust profile, another settings digest"
    );

    // A constraint on a root no profile carries is a usage error, not a silent no-op.
    let lab = Lab::new(&farm);
    let bogus = format!("{}:sctnotafter=1", "ab".repeat(32));
    let run = lab
        .scan_with(&farm, true, &["--root-constraint", &bogus])
        .await;
    assert_eq!(run.status.code(), Some(2), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("--root-constraint"), "{}", run.stderr);
    farm.shutdown().await;
}
