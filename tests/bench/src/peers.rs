//! The peers (pshtt, SSLyze) on the same fleet, in the same run, through the scripts of
//! `tests/bench/peers/` (`setup.sh` installs them into their own venvs, `make_hosts.py`
//! writes the fleet's names as a hosts file, `run.sh` runs and times them offline,
//! `normalize.py` turns every tool's output into comparable verdicts).
//!
//! Our side of the comparison is one embedded scan of the same subset, so throughput and CPU
//! per site are compared on the same sites, at the same time of the run.

use crate::harness::Proc;
use crate::{Ctx, embedded};
use anyhow::{Context, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One tool's figures on the subset.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub tool: String,
    pub wall_s: f64,
    pub cpu_s: f64,
    pub sites_per_s: f64,
    pub cpu_s_per_1000_sites: f64,
    pub max_rss_mb: f64,
    pub concurrency: String,
    /// Sites whose https_ok / forced_https match the fleet's expected (browser) verdict,
    /// over the sites the tool determined that field for.
    pub https_ok_agrees: Option<(usize, usize)>,
    pub forced_https_agrees: Option<(usize, usize)>,
}

/// The side-by-side figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub sites: usize,
    pub tools: Vec<Tool>,
    /// Hosts where a peer's verdict differs from ours: (peer, field) → hosts (first 20).
    pub differences: BTreeMap<String, Vec<serde_json::Value>>,
}

impl Figures {
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "Peers on the same {} sites (ratios: ours ÷ theirs for throughput, theirs ÷ ours for CPU):\n\n",
            self.sites
        );
        out.push_str("| tool | concurrency | wall s | sites/s | CPU s/1k sites | max RSS MB | our throughput × | their CPU/site ÷ ours | https_ok = browser | forced = browser |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let ours = self.tools.iter().find(|t| t.tool == "ours");
        let frac =
            |a: Option<(usize, usize)>| a.map_or("-".to_owned(), |(k, n)| format!("{k}/{n}"));
        for t in &self.tools {
            let (x, c) = match ours {
                Some(o) if t.tool != "ours" => (
                    format!("{:.1}", o.sites_per_s / t.sites_per_s),
                    format!("{:.1}", t.cpu_s_per_1000_sites / o.cpu_s_per_1000_sites),
                ),
                _ => ("-".into(), "-".into()),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {x} | {c} | {} | {} |",
                t.tool,
                t.concurrency,
                t.wall_s,
                t.sites_per_s,
                t.cpu_s_per_1000_sites,
                t.max_rss_mb,
                frac(t.https_ok_agrees),
                frac(t.forced_https_agrees)
            );
        }
        for (k, rows) in &self.differences {
            let _ = writeln!(
                out,
                "\n{k}: {} differences, e.g. {}",
                rows.len(),
                rows.iter()
                    .take(3)
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        out
    }
}

fn script(name: &str) -> anyhow::Result<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("peers")
        .join(name);
    if !here.is_file() {
        bail!(
            "{} is missing (the peers' scripts have not landed)",
            here.display()
        );
    }
    Ok(here)
}

/// Run a helper command to completion within `limit`, output to `dir/NAME.{out,err}`.
fn run_logged(name: &str, cmd: &mut Command, dir: &Path, limit: Duration) -> anyhow::Result<()> {
    let out = dir.join(format!("{name}.out"));
    let mut p = Proc::spawn(name, cmd, &out, &dir.join(format!("{name}.err")))?;
    let status = p.wait(limit)?;
    if !status.success() {
        bail!(
            "{name} failed ({status}); see {}",
            dir.join(format!("{name}.err")).display()
        );
    }
    Ok(())
}

/// pshtt and SSLyze on the first `n` sites of the fleet in `fleet_dir`, and ours beside them.
pub fn run(ctx: &Ctx, fleet_dir: &Path, out: &Path, n: usize) -> anyhow::Result<Figures> {
    std::fs::create_dir_all(out)?;
    let csv = std::fs::read_to_string(fleet_dir.join("sites.csv"))?;
    let subset: Vec<&str> = csv.lines().take(n + 1).collect();
    let n = subset.len() - 1;
    let subset_csv = out.join("sites.csv");
    std::fs::write(&subset_csv, subset.join("\n") + "\n")?;

    let ten_min = Duration::from_secs(600);
    eprintln!("peers: setup.sh (installs pshtt and SSLyze into target/peers-venv once)…");
    run_logged(
        "setup",
        Command::new("bash").arg(script("setup.sh")?),
        out,
        Duration::from_secs(1200),
    )?;

    eprintln!("peers: ours on the same {n} sites…");
    let ours_dir = out.join("ours");
    std::fs::create_dir_all(&ours_dir)?;
    let ours = embedded(ctx, &subset_csv, n, &ours_dir)?;

    let hosts = out.join("hosts");
    let mut cmd = Command::new("python3");
    cmd.arg(script("make_hosts.py")?)
        .args(["--dns", &ctx.dns, "--www"])
        .arg(&subset_csv);
    run_logged("make_hosts", &mut cmd, out, ten_min)?;
    std::fs::rename(out.join("make_hosts.out"), &hosts)?;

    eprintln!("peers: run.sh (pshtt, SSLyze) on {n} sites…");
    let peers_out = out.join("peers");
    let mut cmd = Command::new("bash");
    cmd.arg(script("run.sh")?)
        .arg(&hosts)
        .arg(&subset_csv)
        .arg(&ctx.ca)
        .arg(&peers_out)
        .arg(ctx.args.peers_concurrency.to_string());
    run_logged(
        "run",
        &mut cmd,
        out,
        Duration::from_secs(ctx.args.run_timeout.max(1800)),
    )?;

    let times: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(peers_out.join("times.json"))?)
            .context("peers times.json")?;
    let expected = &ctx.expected;
    let normalize = script("normalize.py")?;
    let verdicts = |tool: &str, file: &Path| -> anyhow::Result<PathBuf> {
        let mut cmd = Command::new("python3");
        cmd.arg(&normalize).arg(tool).arg(file);
        run_logged(&format!("normalize-{tool}"), &mut cmd, out, ten_min)?;
        Ok(out.join(format!("normalize-{tool}.out")))
    };
    let ours_v = verdicts("ours", &ours_dir.join("results.jsonl"))?;
    let mut tools = vec![Tool {
        tool: "ours".into(),
        wall_s: ours.wall_s,
        cpu_s: ours.scanner_cpu_s(),
        sites_per_s: ours.sites_per_s(),
        cpu_s_per_1000_sites: ours.cpu_s_per_1000(),
        max_rss_mb: ours.max_rss_mb(),
        concurrency: format!("{} sites in flight", ctx.args.concurrency),
        https_ok_agrees: agreement(&ours_v, expected, "https_ok"),
        forced_https_agrees: agreement(&ours_v, expected, "forced_https"),
    }];
    let mut differences = BTreeMap::new();
    for tool in ["pshtt", "sslyze"] {
        let Some(t) = times.get(tool) else { continue };
        let f = |k: &str| {
            t.get(k)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        let v = verdicts(tool, &peers_out.join(format!("{tool}.json")))?;
        tools.push(Tool {
            tool: tool.into(),
            wall_s: f("wall_s"),
            cpu_s: f("cpu_s"),
            sites_per_s: f("sites_per_s"),
            cpu_s_per_1000_sites: f("cpu_s_per_1000_sites"),
            max_rss_mb: f("max_rss_kb") / 1024.0,
            concurrency: t
                .get("concurrency")
                .and_then(|c| c.as_str())
                .unwrap_or("")
                .into(),
            https_ok_agrees: agreement(&v, expected, "https_ok"),
            forced_https_agrees: agreement(&v, expected, "forced_https"),
        });
        let mut cmd = Command::new("python3");
        cmd.arg(&normalize).arg("diff").arg(&ours_v).arg(&v);
        let name = format!("diff-{tool}");
        run_logged(&name, &mut cmd, out, ten_min)?;
        let rows: Vec<serde_json::Value> =
            std::fs::read_to_string(out.join(format!("{name}.out")))?
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
        differences.insert(format!("ours vs {tool}"), rows);
    }
    Ok(Figures {
        sites: n,
        tools,
        differences,
    })
}

/// (sites agreeing with the expectation on `field`, sites where the tool gave a verdict).
fn agreement(
    verdicts: &Path,
    expected: &bench::results::Expected,
    field: &str,
) -> Option<(usize, usize)> {
    if expected.is_empty() {
        return None;
    }
    let text = std::fs::read_to_string(verdicts).ok()?;
    let (mut agree, mut total) = (0, 0);
    for v in text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        let (Some(host), Some(got)) = (
            v.get("host").and_then(|h| h.as_str()),
            v.get(field).and_then(|f| f.as_bool()),
        ) else {
            continue;
        };
        let Some(&(ok, forced)) = expected.get(host) else {
            continue;
        };
        let want = if field == "https_ok" { ok } else { forced };
        total += 1;
        agree += usize::from(got == want);
    }
    Some((agree, total))
}
