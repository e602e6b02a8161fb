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
    let lab = Lab::new(&farm);
    let run = lab.scan(&farm, true).await;
    assert!(
        run.status.success(),
        "scanctl exited {}:\n{}",
        run.status,
        run.stderr
    );
    let results = read_jsonl(&lab.output);
    assert_eq!(
        results.len(),
        farm.sites().len(),
        "one result per site; stderr:\n{}",
        run.stderr
    );
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
    let lab = Lab::new(&farm);
    let run = lab.scan(&farm, false).await;
    assert!(
        run.status.success(),
        "scanctl exited {}:\n{}",
        run.status,
        run.stderr
    );
    let results = read_jsonl(&lab.output);
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
    let lab = Lab::new(&farm);
    let run = lab.scan(&farm, true).await;
    assert!(
        run.status.success(),
        "scanctl exited {}:\n{}",
        run.status,
        run.stderr
    );
    let results = read_jsonl(&lab.output);
    if let Err(table) = compare(farm.sites(), &results) {
        panic!("{table}");
    }
    farm.shutdown().await;
}
