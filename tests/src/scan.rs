//! Running `scanctl scan` on a farm's site list and comparing its JSON Lines with each
//! farm site's [`Expect`].

use farm::{Expect, Farm, FarmSite};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

/// A generous bound on a whole scan of the catalog, so a hung scanner fails the test
/// instead of hanging it. Not an assertion on speed.
pub const SCAN_BOUND: Duration = Duration::from_secs(300);

/// One finished `scanctl` run.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Run `scanctl ARGS`, killed if it outlives [`SCAN_BOUND`].
pub async fn scanctl(args: &[&std::ffi::OsStr]) -> Run {
    scanctl_on(None, args).await
}

/// [`scanctl`] run in the network namespace `netns` (`ip netns exec`), or here.
pub async fn scanctl_on(netns: Option<&str>, args: &[&std::ffi::OsStr]) -> Run {
    let bin = crate::bins::path("scanctl");
    let mut cmd = match netns {
        Some(ns) => {
            let mut cmd = tokio::process::Command::new("ip");
            cmd.args(["netns", "exec", ns]).arg(&bin);
            cmd
        }
        None => tokio::process::Command::new(&bin),
    };
    // The scanner also reads its flags from SCAN_* variables: none may leak in from the
    // environment the tests run in, or a test of the defaults would test something else.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SCAN_") {
            cmd.env_remove(&key);
        }
    }
    let child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let out = tokio::time::timeout(SCAN_BOUND, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("scanctl {args:?} still running after {SCAN_BOUND:?}"))
        .expect("scanctl's output");
    Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A farm's site list and CA file, written to a temporary directory.
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub csv: PathBuf,
    pub output: PathBuf,
}

impl Lab {
    pub fn new(farm: &Farm) -> Lab {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let csv = dir.path().join("sites.csv");
        farm.write_csv(&csv).expect("the site list");
        let output = dir.path().join("results.jsonl");
        Lab { dir, csv, output }
    }

    /// `scanctl scan` on the farm with the lab flags, JSON Lines to [`Lab::output`];
    /// `allow_private` adds `--allow-private-targets`.
    pub async fn scan(&self, farm: &Farm, allow_private: bool) -> Run {
        self.scan_with(farm, allow_private, &[]).await
    }

    /// [`Lab::scan`] with more flags after the lab's.
    pub async fn scan_with(&self, farm: &Farm, allow_private: bool, extra: &[&str]) -> Run {
        let dns = farm.dns_addr().to_string();
        let (http_port, https_port) = farm.ports();
        let mut args: Vec<std::ffi::OsString> = vec![
            "scan".into(),
            self.csv.clone().into(),
            "--dns-server".into(),
            dns.into(),
            "--ca-file".into(),
            farm.ca_pem_path().into(),
            "--format".into(),
            "jsonl".into(),
            "--output".into(),
            self.output.clone().into(),
            "--quiet".into(),
        ];
        if allow_private {
            args.push("--allow-private-targets".into());
        }
        if http_port != 80 {
            args.extend(["--http-port".into(), http_port.to_string().into()]);
        }
        if https_port != 443 {
            args.extend(["--https-port".into(), https_port.to_string().into()]);
        }
        args.extend(extra.iter().map(std::ffi::OsString::from));
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        scanctl(&refs).await
    }

    /// [`Lab::scan`], which must exit 0; its results.
    pub async fn scan_ok(&self, farm: &Farm, allow_private: bool) -> Vec<Observed> {
        let run = self.scan(farm, allow_private).await;
        assert!(
            run.status.success(),
            "scanctl exited {}:\n{}",
            run.status,
            run.stderr
        );
        read_jsonl(&self.output)
    }
}

/// What a result line says, read loosely (unknown fields and codes are kept as text, so a
/// new code shows up in the diff instead of failing the parse).
#[derive(Debug, Clone)]
pub struct Observed {
    pub url: String,
    pub host: String,
    pub https_ok: bool,
    pub forced_https: bool,
    /// `(code, detail)` in the order given.
    pub findings: Vec<(String, String)>,
    pub raw: Value,
}

impl Observed {
    pub fn codes(&self) -> BTreeSet<String> {
        self.findings.iter().map(|(c, _)| c.clone()).collect()
    }
}

/// Parse JSON Lines results; panics with the line number on a malformed line.
pub fn parse_jsonl(text: &str) -> Vec<Observed> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let raw: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("result line {}: {e}: {line}", i + 1));
            let s = |k: &str| raw.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let b = |k: &str| {
                raw.get(k)
                    .and_then(Value::as_bool)
                    .unwrap_or_else(|| panic!("result line {}: no boolean {k}", i + 1))
            };
            let findings = raw
                .get("findings")
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("result line {}: no findings array", i + 1))
                .iter()
                .map(|f| {
                    let t = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                    (t("code"), t("detail"))
                })
                .collect();
            Observed {
                url: s("url"),
                host: s("host"),
                https_ok: b("https_ok"),
                forced_https: b("forced_https"),
                findings,
                raw,
            }
        })
        .collect()
}

/// Read a JSON Lines results file.
pub fn read_jsonl(path: &Path) -> Vec<Observed> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read results {}: {e}", path.display()));
    parse_jsonl(&text)
}

fn verdict(ok: bool, forced: bool, codes: &BTreeSet<String>) -> String {
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    format!(
        "ok={} forced={} [{}]",
        if ok { "Y" } else { "n" },
        if forced { "Y" } else { "n" },
        codes.join(" ")
    )
}

fn expected_codes(e: &Expect) -> BTreeSet<String> {
    e.codes.iter().map(|c| c.as_str().to_owned()).collect()
}

/// Compare every farm site with its result. `Ok(())` when all agree and every site has
/// exactly one result; otherwise a table (site, expected, got) of the disagreements, with
/// the findings' details of each, and the sites without a result or with several.
pub fn compare(sites: &[FarmSite], results: &[Observed]) -> Result<(), String> {
    let mut table = String::new();
    let mut bad = 0;
    let width = sites.iter().map(|s| s.host.len()).max().unwrap_or(4).max(4);
    for site in sites {
        let mine: Vec<&Observed> = results.iter().filter(|r| r.host == site.host).collect();
        let want = verdict(
            site.expect.https_ok,
            site.expect.forced_https,
            &expected_codes(&site.expect),
        );
        let got = match mine.as_slice() {
            [one] => one,
            [] => {
                bad += 1;
                let _ = writeln!(
                    table,
                    "{:width$}  want {want}\n{:width$}  got  NO RESULT",
                    site.host, ""
                );
                continue;
            }
            many => {
                bad += 1;
                let _ = writeln!(
                    table,
                    "{:width$}  {} results for one site",
                    site.host,
                    many.len()
                );
                continue;
            }
        };
        let got_codes = got.codes();
        let agree = got.https_ok == site.expect.https_ok
            && got.forced_https == site.expect.forced_https
            && got_codes == expected_codes(&site.expect)
            && got.findings.len() == got_codes.len();
        if agree {
            continue;
        }
        bad += 1;
        let _ = writeln!(
            table,
            "{:width$}  want {want}\n{:width$}  got  {}   ({})",
            site.host,
            "",
            verdict(got.https_ok, got.forced_https, &got_codes),
            site.description
        );
        for (code, detail) in &got.findings {
            let _ = writeln!(table, "{:width$}       - {code}: {detail}", "");
        }
    }
    let known: BTreeSet<&str> = sites.iter().map(|s| s.host.as_str()).collect();
    for r in results.iter().filter(|r| !known.contains(r.host.as_str())) {
        bad += 1;
        let _ = writeln!(table, "unexpected result for {} ({})", r.host, r.url);
    }
    if bad == 0 {
        Ok(())
    } else {
        Err(format!(
            "{bad} of {} sites judged differently from the farm's expectations:\n{table}",
            sites.len()
        ))
    }
}

/// `scanctl scan` of the hostile farm's `attacks` (its DNS, root, ports; private targets
/// allowed, no legacy probe), written in `format` to `out`, with a `step_timeout`-second step
/// timeout; asserts that scanctl succeeded.
pub async fn scan_hostile(
    farm: &farm::hostile::HostileFarm,
    attacks: &[farm::hostile::Attack],
    format: &str,
    out: &Path,
    step_timeout: u32,
) {
    let list = out.with_extension("list.csv");
    std::fs::write(&list, farm.csv(attacks)).expect("the hostile list");
    let (http, https) = farm.ports();
    let args: Vec<String> = vec![
        "scan".into(),
        list.display().to_string(),
        "--format".into(),
        format.into(),
        "--output".into(),
        out.display().to_string(),
        "--dns-server".into(),
        farm.dns_addr().to_string(),
        "--ca-file".into(),
        farm.ca_pem_path().display().to_string(),
        "--allow-private-targets".into(),
        "--http-port".into(),
        http.to_string(),
        "--https-port".into(),
        https.to_string(),
        "--step-timeout".into(),
        step_timeout.to_string(),
        "--site-timeout".into(),
        "30".into(),
        "--no-legacy-probe".into(),
        "--quiet".into(),
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let run = scanctl(&args).await;
    assert!(run.status.success(), "scanctl failed: {}", run.stderr);
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Code;

    fn site(host: &str, expect: Expect) -> FarmSite {
        FarmSite {
            host: host.into(),
            url: format!("https://{host}/"),
            agency: String::new(),
            category: String::new(),
            parent: String::new(),
            description: "test",
            expect,
            address: None,
            not_for_browser: None,
        }
    }

    const LINES: &str = r#"{"url":"https://a.gov.test/","host":"a.gov.test","https_ok":true,"forced_https":true,"findings":[]}
{"url":"https://b.gov.test/","host":"b.gov.test","https_ok":false,"forced_https":false,"findings":[{"code":"cert_expired","severity":"error","detail":"expired 10 days ago"},{"code":"cert_brand_new","severity":"info","detail":"x"}]}
"#;

    #[test]
    fn agreeing_results_compare_equal() {
        let results = parse_jsonl(LINES);
        let sites = [site("a.gov.test", Expect::clean())];
        assert_eq!(compare(&sites, &results[..1]), Ok(()));
    }

    #[test]
    fn disagreements_and_unknown_codes_are_shown_with_details() {
        let results = parse_jsonl(LINES);
        let sites = [
            site("a.gov.test", Expect::clean()),
            site("b.gov.test", Expect::broken(&[Code::CertExpired])),
            site("c.gov.test", Expect::clean()),
        ];
        let err = compare(&sites, &results).unwrap_err();
        assert!(err.starts_with("2 of 3 sites"), "{err}");
        assert!(err.contains("cert_brand_new: x"), "{err}");
        assert!(
            err.contains("c.gov.test") && err.contains("NO RESULT"),
            "{err}"
        );
        assert!(!err.contains("a.gov.test  want"), "{err}");
    }

    #[test]
    fn a_site_reported_twice_or_a_stray_result_is_a_failure() {
        let mut results = parse_jsonl(LINES);
        results.push(results[0].clone());
        let sites = [site("a.gov.test", Expect::clean())];
        let err = compare(&sites, &results).unwrap_err();
        assert!(err.contains("2 results for one site"), "{err}");
        assert!(err.contains("unexpected result for b.gov.test"), "{err}");
    }
}
