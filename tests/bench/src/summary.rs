//! One run's figures, the median over a mode's runs, and their rendering as a terminal
//! table, Markdown and JSON.

use crate::results::ResultStats;
use crate::stats::median;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// CPU and peak RSS of one process of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcFigures {
    /// `scanctl`, `coordinator`, `worker-1`, `redis-server`, `scanctl submit`…
    pub role: String,
    pub cpu_s: f64,
    pub peak_rss_mb: f64,
}

/// Everything measured in one run of one mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// `embedded` or `cluster-W`.
    pub mode: String,
    /// Sites in the list.
    pub sites: usize,
    /// From the scan's start to its last result (end to end).
    pub wall_s: f64,
    /// The scanner's processes: `scanctl scan`, or the coordinator and the workers.
    pub scanner: Vec<ProcFigures>,
    /// Measured but not the scanner's: Redis, the `scanctl submit` client.
    pub others: Vec<ProcFigures>,
    pub results: ResultStats,
    /// `total_commands_processed` during the job (cluster only).
    pub redis_commands: Option<u64>,
    /// Calls per command during the job, scripts' inner calls included (cluster only).
    pub redis_calls: Option<BTreeMap<String, u64>>,
}

impl Run {
    pub fn sites_per_s(&self) -> f64 {
        self.sites as f64 / self.wall_s
    }
    pub fn scanner_cpu_s(&self) -> f64 {
        self.scanner.iter().map(|p| p.cpu_s).sum()
    }
    /// Scanner CPU seconds per 1,000 sites (= ms per site).
    pub fn cpu_s_per_1000(&self) -> f64 {
        self.scanner_cpu_s() * 1000.0 / self.sites as f64
    }
    /// The largest peak RSS among the scanner's processes.
    pub fn max_rss_mb(&self) -> f64 {
        self.scanner
            .iter()
            .map(|p| p.peak_rss_mb)
            .fold(0.0, f64::max)
    }
    pub fn redis_commands_per_site(&self) -> Option<f64> {
        Some(self.redis_commands? as f64 / self.sites as f64)
    }
    pub fn redis_calls_per_site(&self) -> Option<f64> {
        Some(self.redis_calls.as_ref()?.values().sum::<u64>() as f64 / self.sites as f64)
    }
}

/// The median of each figure over a mode's runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub mode: String,
    pub sites: usize,
    pub runs: usize,
    pub wall_s: f64,
    pub sites_per_s: f64,
    pub cpu_s_per_1000_sites: f64,
    /// Peak RSS per scanner role (median over runs), MB.
    pub peak_rss_mb: BTreeMap<String, f64>,
    /// The largest of them.
    pub max_rss_mb: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub redis_commands_per_site: Option<f64>,
    pub redis_calls_per_site: Option<f64>,
    /// Calls per site by command (median over runs).
    pub redis_calls_by_command: BTreeMap<String, f64>,
    /// Redis's own CPU per 1,000 sites and peak RSS (not counted as the scanner's).
    pub redis_cpu_s_per_1000_sites: Option<f64>,
    pub redis_peak_rss_mb: Option<f64>,
    /// Verdict counts of the run with the median wall time (they should not vary).
    pub https_ok: usize,
    pub forced_https: usize,
    pub timeouts: usize,
    pub scan_failed: usize,
    pub results: usize,
    /// Sites whose verdict differs from the fleet's expectation: median and worst run.
    pub wrong: Option<(f64, usize)>,
}

fn med<T>(runs: &[Run], f: impl Fn(&Run) -> T) -> T::Output
where
    T: IntoMedian,
{
    T::median(runs.iter().map(f).collect())
}

/// Figures that a median can be taken of.
trait IntoMedian: Sized {
    type Output;
    fn median(values: Vec<Self>) -> Self::Output;
}

impl IntoMedian for f64 {
    type Output = f64;
    fn median(values: Vec<f64>) -> f64 {
        median(&values).unwrap_or(f64::NAN)
    }
}

impl IntoMedian for Option<f64> {
    type Output = Option<f64>;
    fn median(values: Vec<Option<f64>>) -> Option<f64> {
        let v: Vec<f64> = values.into_iter().flatten().collect();
        median(&v)
    }
}

impl Row {
    /// The row of `runs`, all of one mode and size. `None` if there are none.
    pub fn of(runs: &[Run]) -> Option<Row> {
        let first = runs.first()?;
        let mut by_wall: Vec<&Run> = runs.iter().collect();
        by_wall.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
        let mid = by_wall[by_wall.len() / 2];
        let roles: std::collections::BTreeSet<&str> = runs
            .iter()
            .flat_map(|r| r.scanner.iter().map(|p| p.role.as_str()))
            .collect();
        let peak_rss_mb = roles
            .into_iter()
            .map(|role| {
                let v: Vec<f64> = runs
                    .iter()
                    .flat_map(|r| r.scanner.iter().filter(|p| p.role == role))
                    .map(|p| p.peak_rss_mb)
                    .collect();
                (role.to_owned(), median(&v).unwrap_or(f64::NAN))
            })
            .collect();
        let commands: std::collections::BTreeSet<&str> = runs
            .iter()
            .filter_map(|r| r.redis_calls.as_ref())
            .flat_map(|c| c.keys().map(String::as_str))
            .collect();
        let redis_calls_by_command = commands
            .into_iter()
            .map(|cmd| {
                let v: Vec<f64> = runs
                    .iter()
                    .map(|r| {
                        let calls = r.redis_calls.as_ref().and_then(|c| c.get(cmd)).copied();
                        calls.unwrap_or(0) as f64 / r.sites as f64
                    })
                    .collect();
                (cmd.to_owned(), median(&v).unwrap_or(f64::NAN))
            })
            .collect();
        let redis = |r: &Run| r.others.iter().find(|p| p.role == "redis-server").cloned();
        Some(Row {
            mode: first.mode.clone(),
            sites: first.sites,
            runs: runs.len(),
            wall_s: med(runs, |r| r.wall_s),
            sites_per_s: med(runs, Run::sites_per_s),
            cpu_s_per_1000_sites: med(runs, Run::cpu_s_per_1000),
            peak_rss_mb,
            max_rss_mb: med(runs, Run::max_rss_mb),
            p50_ms: med(runs, |r| r.results.p50_ms.map(|v| v as f64)),
            p99_ms: med(runs, |r| r.results.p99_ms.map(|v| v as f64)),
            redis_commands_per_site: med(runs, Run::redis_commands_per_site),
            redis_calls_per_site: med(runs, Run::redis_calls_per_site),
            redis_calls_by_command,
            redis_cpu_s_per_1000_sites: med(runs, |r| {
                redis(r).map(|p| p.cpu_s * 1000.0 / r.sites as f64)
            }),
            redis_peak_rss_mb: med(runs, |r| redis(r).map(|p| p.peak_rss_mb)),
            https_ok: mid.results.https_ok,
            forced_https: mid.results.forced_https,
            timeouts: mid.results.timeouts,
            scan_failed: mid.results.scan_failed,
            results: mid.results.sites,
            wrong: med(runs, |r| r.results.wrong.map(|w| w as f64))
                .zip(runs.iter().filter_map(|r| r.results.wrong).max()),
        })
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

const HEADER: [&str; 12] = [
    "mode",
    "sites",
    "wall s",
    "sites/s",
    "CPU s/1k sites",
    "max RSS MB",
    "p50 ms",
    "p99 ms",
    "redis cmds/site",
    "redis calls/site",
    "ok/forced/timeout/failed",
    "wrong verdicts",
];

fn cells(r: &Row) -> [String; 12] {
    [
        r.mode.clone(),
        r.sites.to_string(),
        format!("{:.1}", r.wall_s),
        format!("{:.0}", r.sites_per_s),
        format!("{:.2}", r.cpu_s_per_1000_sites),
        format!("{:.0}", r.max_rss_mb),
        opt(r.p50_ms, 0),
        opt(r.p99_ms, 0),
        opt(r.redis_commands_per_site, 2),
        opt(r.redis_calls_per_site, 2),
        format!(
            "{}/{}/{}/{} of {}",
            r.https_ok, r.forced_https, r.timeouts, r.scan_failed, r.results
        ),
        r.wrong
            .map_or_else(|| "-".to_owned(), |(m, max)| format!("{m:.0} (max {max})")),
    ]
}

/// A plain-text table for the terminal.
pub fn table(rows: &[Row]) -> String {
    let all: Vec<[String; 12]> = std::iter::once(HEADER.map(str::to_owned))
        .chain(rows.iter().map(cells))
        .collect();
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| all.iter().map(|c| c[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in all.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
        if n == 0 {
            let _ = writeln!(
                out,
                "{}",
                "-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1))
            );
        }
    }
    out
}

/// A Markdown table, plus the per-process peak RSS and the Redis command mix.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        HEADER
            .iter()
            .enumerate()
            .map(|(i, _)| if i == 0 { "---|" } else { "---:|" })
            .collect::<String>()
    );
    for r in rows {
        let _ = writeln!(out, "| {} |", cells(r).join(" | "));
    }
    let _ = writeln!(out, "\nPeak RSS per process (MB):\n");
    for r in rows {
        let procs: Vec<String> = r
            .peak_rss_mb
            .iter()
            .map(|(role, mb)| format!("{role} {mb:.0}"))
            .collect();
        let _ = writeln!(out, "- {} × {}: {}", r.mode, r.sites, procs.join(", "));
    }
    let clusters: Vec<&Row> = rows
        .iter()
        .filter(|r| r.redis_calls_per_site.is_some())
        .collect();
    if !clusters.is_empty() {
        let _ = writeln!(
            out,
            "\nRedis per site (commands executed, scripts' inner calls included):\n"
        );
        for r in clusters {
            let mix: Vec<String> = r
                .redis_calls_by_command
                .iter()
                .map(|(cmd, v)| format!("{cmd} {v:.3}"))
                .collect();
            let _ = writeln!(
                out,
                "- {} × {}: {}; redis-server CPU {} s/1k sites, peak RSS {} MB",
                r.mode,
                r.sites,
                mix.join(", "),
                opt(r.redis_cpu_s_per_1000_sites, 3),
                opt(r.redis_peak_rss_mb, 0)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wall_s: f64, worker_cpu: f64, rss: f64, p50: u64) -> Run {
        Run {
            mode: "cluster-1".into(),
            sites: 1000,
            wall_s,
            scanner: vec![
                ProcFigures {
                    role: "coordinator".into(),
                    cpu_s: 0.5,
                    peak_rss_mb: 20.0,
                },
                ProcFigures {
                    role: "worker-1".into(),
                    cpu_s: worker_cpu,
                    peak_rss_mb: rss,
                },
            ],
            others: vec![ProcFigures {
                role: "redis-server".into(),
                cpu_s: 0.2,
                peak_rss_mb: 10.0,
            }],
            results: ResultStats {
                sites: 1000,
                https_ok: 900,
                p50_ms: Some(p50),
                p99_ms: Some(p50 * 10),
                ..Default::default()
            },
            redis_commands: Some(2000),
            redis_calls: Some([("hsetnx".to_owned(), 1000), ("evalsha".to_owned(), 10)].into()),
        }
    }

    #[test]
    fn a_row_is_the_median_of_each_figure() {
        let runs = [
            run(10.0, 1.5, 100.0, 50),
            run(20.0, 0.5, 300.0, 70),
            run(12.0, 2.5, 200.0, 60),
        ];
        let row = Row::of(&runs).unwrap();
        assert_eq!(row.runs, 3);
        assert_eq!(row.wall_s, 12.0);
        assert!((row.sites_per_s - 1000.0 / 12.0).abs() < 1e-9);
        // scanner CPU = coordinator 0.5 + worker: 2.0, 1.0, 3.0 s per 1000 sites
        assert_eq!(row.cpu_s_per_1000_sites, 2.0);
        assert_eq!(row.peak_rss_mb["worker-1"], 200.0);
        assert_eq!(row.max_rss_mb, 200.0);
        assert_eq!(row.p50_ms, Some(60.0));
        assert_eq!(row.redis_commands_per_site, Some(2.0));
        assert_eq!(row.redis_calls_per_site, Some(1.01));
        assert_eq!(row.redis_calls_by_command["hsetnx"], 1.0);
        assert_eq!(row.redis_cpu_s_per_1000_sites, Some(0.2));
        assert_eq!(row.https_ok, 900);
        assert!(Row::of(&[]).is_none());

        let text = table(std::slice::from_ref(&row));
        assert!(text.lines().next().unwrap().starts_with("mode"));
        assert!(text.contains("cluster-1"));
        let md = markdown(&[row]);
        assert!(
            md.contains("| cluster-1 | 1000 | 12.0 | 83 | 2.00 | 200 |"),
            "{md}"
        );
        assert!(md.contains("hsetnx 1.000"));
    }
}
