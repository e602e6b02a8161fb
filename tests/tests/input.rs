//! Bad input gets a clear answer from the real `scanctl scan`: an unreadable file, malformed
//! lines (named by number), Big5, duplicates, a URL with a port or a path, an IDN host, and
//! a file in no encoding it can read. Exit code 2 for input errors, never a crash.

use encoding_rs::BIG5;
use farm::Farm;
use std::ffi::OsStr;
use std::net::Ipv4Addr;

fn args<'a>(a: &'a [&'a str]) -> Vec<&'a OsStr> {
    a.iter().map(OsStr::new).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_file_is_a_usage_error() {
    let run = scan_tests::scan::scanctl(&args(&["scan", "/nonexistent/sites.csv"])).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot read /nonexistent/sites.csv"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_named_and_stop_the_scan_unless_skipped() {
    let farm = Farm::catalog()
        .retain(|host, _| host == "valid.gov.test" || host == "nxdomain.gov.test")
        .first_address(Ipv4Addr::new(127, 110, 0, 1))
        .start()
        .await
        .expect("the farm starts");
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("sites.csv");
    std::fs::write(
        &list,
        "agency,category,parent,url\n\
         國家發展委員會,二級機關,,https://valid.gov.test/\n\
         甲,三級機關,國家發展委員會,https://valid.gov.test:8443/\n\
         乙,三級機關,國家發展委員會,ftp://valid.gov.test/\n\
         丙,三級機關\n\
         丁,三級機關,國家發展委員會,valid.gov.test\n\
         戊,三級機關,國家發展委員會,http://valid.gov.test/portal/\n\
         己,縣市政府,,https://測試.gov.test/\n",
    )
    .unwrap();
    let dns = farm.dns_addr().to_string();
    let ca = farm.ca_pem_path().to_str().unwrap().to_owned();
    let out = dir.path().join("out.jsonl");
    let base = [
        "scan",
        list.to_str().unwrap(),
        "--dns-server",
        &dns,
        "--ca-file",
        &ca,
        "--allow-private-targets",
        "--format",
        "jsonl",
        "-o",
        out.to_str().unwrap(),
    ];

    let run = scan_tests::scan::scanctl(&args(&base)).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    for needle in [
        "line 3: port 8443 is not part of the check",
        "line 4: scheme \"ftp\" is not scanned",
        "line 5: expected 4 fields as in the header, found 2",
        "line 6: valid.gov.test repeats line 2; scanned once",
        "3 bad line(s)",
        "--skip-invalid",
    ] {
        assert!(
            run.stderr.contains(needle),
            "no {needle:?} in:\n{}",
            run.stderr
        );
    }
    assert!(!out.exists() || std::fs::read_to_string(&out).unwrap().is_empty());

    let mut skip = base.to_vec();
    skip.push("--skip-invalid");
    let run = scan_tests::scan::scanctl(&args(&skip)).await;
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    let results = scan_tests::scan::read_jsonl(&out);
    let urls: Vec<&str> = results.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        results.len(),
        3,
        "one result per distinct valid site: {urls:?}"
    );
    let by_url = |u: &str| {
        results
            .iter()
            .find(|r| r.url == u)
            .unwrap_or_else(|| panic!("no {u}"))
    };
    assert!(by_url("https://valid.gov.test/").https_ok);
    // A path is examined on both endpoints.
    assert_eq!(
        by_url("http://valid.gov.test/portal/").host,
        "valid.gov.test"
    );
    // An IDN host is scanned by its ASCII form (not in the farm's DNS: NXDOMAIN).
    let idn = by_url("https://測試.gov.test/");
    assert!(idn.host.starts_with("xn--"), "{}", idn.host);
    assert!(idn.codes().contains("dns_nxdomain"), "{:?}", idn.codes());
    farm.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big5_lists_are_decoded_and_undecodable_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big5 = dir.path().join("big5.csv");
    let (bytes, _, unmappable) =
        BIG5.encode("agency,category,parent,url\n臺北市政府,縣市政府,,https://nowhere.gov.test/\n");
    assert!(!unmappable);
    std::fs::write(&big5, &bytes).unwrap();
    let out = dir.path().join("out.jsonl");
    // The nameserver is a closed loopback port: the name fails fast, nothing leaves the host.
    let run = scan_tests::scan::scanctl(&args(&[
        "scan",
        big5.to_str().unwrap(),
        "--dns-server",
        "127.0.0.1:9",
        "--step-timeout",
        "1",
        "--format",
        "jsonl",
        "-o",
        out.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("read as Big5"), "{}", run.stderr);
    let results = scan_tests::scan::read_jsonl(&out);
    assert_eq!(results.len(), 1);
    let raw: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw["agency"], "臺北市政府");
    assert_eq!(raw["category"], "縣市政府");

    let garbage = dir.path().join("garbage.csv");
    std::fs::write(&garbage, b"a.gov.test\n\xff\xfe\xfd\xfc not text\n").unwrap();
    let run = scan_tests::scan::scanctl(&args(&["scan", garbage.to_str().unwrap()])).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("neither UTF-8 nor Big5 (first undecodable byte on line 2)"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_single_line_list_is_named_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("one-line.txt");
    // 16 MiB without a line break (the case was 1 GB).
    std::fs::write(&list, "x".repeat(16 << 20)).unwrap();
    let run = scan_tests::scan::scanctl(&args(&["scan", list.to_str().unwrap()])).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 1: 16777216 bytes long, over the 8 KiB a line of a site list may take"),
        "{}",
        &run.stderr[..run.stderr.len().min(2000)]
    );
    assert!(
        run.stderr.len() < 1024,
        "{} bytes on stderr: {}",
        run.stderr.len(),
        &run.stderr[..run.stderr.len().min(2000)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_junk_prints_the_first_errors_and_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("junk.txt");
    let junk: String = (0..100_000)
        .map(|i| format!("<junk {i}> {}\n", "z".repeat(200)))
        .collect();
    std::fs::write(&list, junk).unwrap();
    let run = scan_tests::scan::scanctl(&args(&["scan", list.to_str().unwrap()])).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.len() <= 25,
        "{} lines on stderr, first: {:?}",
        lines.len(),
        &lines[..lines.len().min(5)]
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains(": line ")).count(),
        20,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 20: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("… and 99980 more bad lines"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("100000 bad line(s)"), "{}", run.stderr);
    // Each error quotes a bounded prefix of its entry.
    assert!(
        lines.iter().all(|l| l.chars().count() < 300),
        "{}",
        run.stderr
    );
}
