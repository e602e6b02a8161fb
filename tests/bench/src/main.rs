//! `scan-bench`: run the generated fleet in its own process, scan it with the embedded
//! `scanctl scan` and with the cluster (1, 2, 4 workers…), several times each, and print
//! the median figures. See `BENCHMARKS.md` for the command and what each figure means.

mod harness;
mod peers;

use anyhow::{Context, bail};
use bench::procfs;
use bench::redis_info;
use bench::summary::{self, ProcFigures, Row, Run};
use clap::Parser;
use harness::{Bins, Proc, Redis, Secure, free_port, wait_until};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "scan-bench",
    about = "The national-scale benchmark: fleet, embedded scanner, cluster"
)]
struct Args {
    /// Fleet sizes to run, e.g. `--sites 1000,10000`.
    #[arg(long, value_delimiter = ',', default_values_t = [1000usize])]
    sites: Vec<usize>,
    /// What to run: `embedded` and/or `cluster-W` (W workers; `cluster-W-tls`: with TLS on
    /// gRPC and Redis, as across machines), comma-separated; `none` (with `--peers`): only
    /// the peers.
    #[arg(long, value_delimiter = ',', default_values_t = ["embedded".to_owned(), "cluster-1".into(), "cluster-2".into(), "cluster-4".into()])]
    modes: Vec<String>,
    /// Runs of each mode; the table shows the median of each figure.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Added latency per response in the fleet, ms.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Fleet sites per thousand that accept on 443 and never answer.
    #[arg(long, default_value_t = 20)]
    silent_per_mille: u32,
    /// Fleet sites per shared address.
    #[arg(long, default_value_t = 50)]
    per_address: usize,
    /// Fleet HTML page size, bytes.
    #[arg(long, default_value_t = 30_000)]
    page_bytes: usize,
    /// First loopback address of the fleet (apart from other farms on the machine).
    #[arg(long, default_value = "127.201.0.1")]
    first_address: std::net::Ipv4Addr,
    /// Sites in flight for the whole scanner: `scanctl scan --concurrency`, and split evenly
    /// between the workers of a cluster (each gets ⌈N/W⌉), so every mode has the same load.
    #[arg(long, default_value_t = 2000)]
    concurrency: usize,
    /// Coordinator shard size (sites per shard).
    #[arg(long, default_value_t = 100)]
    shard_size: usize,
    /// DNS lookups in flight for the whole scanner, split between the workers like
    /// `--concurrency` (they all ask the fleet's one nameserver).
    #[arg(long, default_value_t = 256)]
    dns_in_flight: usize,
    /// Hard cap on shards each worker holds (`--shards-in-flight`); unset: the worker's own
    /// default (it takes shards by free scan capacity).
    #[arg(long)]
    worker_shards: Option<usize>,
    /// Scanner `--per-ip-concurrency` (sites in flight per address; 0: no limit).
    #[arg(long, default_value_t = 4)]
    per_ip_concurrency: u32,
    /// Scanner `--step-timeout` (s); unset: the scanner's default.
    #[arg(long)]
    step_timeout: Option<u64>,
    /// Scanner `--site-timeout` (s); unset: the scanner's default.
    #[arg(long)]
    site_timeout: Option<u64>,
    /// Longest a single run may take before it is abandoned (s).
    #[arg(long, default_value_t = 900)]
    run_timeout: u64,
    /// Where the workspace's release binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Output directory: summary.json, summary.md, and each run's files.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Also run the peers (tests/bench/peers/run.sh: pshtt, SSLyze) and our embedded scan on
    /// the first N sites of the fleet (0: no peers).
    #[arg(long, default_value_t = 0)]
    peers: usize,
    /// pshtt processes at once (peers/run.sh CONCURRENCY; 8 = 4 × cores was pshtt's best in
    /// the peers' sweep, see tests/bench/peers/README.md).
    #[arg(long, default_value_t = 8)]
    peers_concurrency: usize,
}

/// What every run of one fleet shares.
struct Ctx<'a> {
    args: &'a Args,
    bins: Bins,
    ticks: u64,
    csv: PathBuf,
    ca: PathBuf,
    dns: String,
    farm: &'a Proc,
    /// The fleet's expected verdicts (empty if the farm wrote none).
    expected: bench::results::Expected,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.runs == 0 || args.sites.contains(&0) {
        bail!("--runs and --sites must be positive");
    }
    let modes: Vec<&String> = args.modes.iter().filter(|m| *m != "none").collect();
    for m in &modes {
        parse_mode(m)?;
    }
    std::fs::create_dir_all(&args.out)?;
    let out = std::path::absolute(&args.out)?;
    let bins = Bins {
        dir: std::path::absolute(&args.bin_dir)?,
    };
    for b in ["scanctl", "scan-coordinator", "scan-worker", "scan-farm"] {
        bins.path(b)?;
    }
    let machine = machine();
    eprintln!("machine: {machine}");

    let mut rows = Vec::new();
    let mut all_runs = Vec::new();
    let mut peer_figures = Vec::new();
    for &n in &args.sites {
        let fleet_dir = out.join(format!("fleet-{n}"));
        std::fs::create_dir_all(&fleet_dir)?;
        eprintln!("fleet of {n}: starting scan-farm…");
        let (farm, dns) = start_fleet(&args, &bins, n, &fleet_dir)?;
        let ctx = Ctx {
            args: &args,
            bins: Bins {
                dir: bins.dir.clone(),
            },
            ticks: harness::ticks_per_s(),
            csv: fleet_dir.join("sites.csv"),
            ca: fleet_dir.join("farm-ca.pem"),
            dns,
            farm: &farm,
            expected: bench::results::expected(
                &std::fs::read_to_string(fleet_dir.join("expected.jsonl")).unwrap_or_default(),
            ),
        };
        for &mode in &modes {
            let mut runs = Vec::new();
            for k in 1..=args.runs {
                let dir = out.join(format!("{n}/{mode}/run-{k}"));
                std::fs::create_dir_all(&dir)?;
                let run = match parse_mode(mode)? {
                    None => embedded(&ctx, &ctx.csv, n, &dir)?,
                    Some(c) => cluster(&ctx, c, n, &dir)?,
                };
                eprintln!(
                    "{mode} × {n} run {k}: {:.1} s, {:.0} sites/s, CPU {:.2} s/1k sites, max RSS {:.0} MB, p50 {:?} ms, p99 {:?} ms, {} results",
                    run.wall_s,
                    run.sites_per_s(),
                    run.cpu_s_per_1000(),
                    run.max_rss_mb(),
                    run.results.p50_ms,
                    run.results.p99_ms,
                    run.results.sites
                );
                std::fs::write(dir.join("run.json"), serde_json::to_string_pretty(&run)?)?;
                runs.push(run);
            }
            rows.extend(Row::of(&runs));
            all_runs.extend(runs);
        }
        if args.peers > 0 {
            match peers::run(
                &ctx,
                &fleet_dir,
                &out.join(format!("{n}/peers")),
                args.peers,
            ) {
                Ok(p) => peer_figures.push(p),
                Err(e) => eprintln!("peers: {e:#}"),
            }
        }
        drop(ctx);
        let mut farm = farm;
        farm.stop("INT", Duration::from_secs(30));
    }

    let table = summary::table(&rows);
    println!("{table}");
    let mut md = format!(
        "Machine: {machine}\n\nCommand: `scan-bench {}`\n\n",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    md.push_str(&summary::markdown(&rows));
    for p in &peer_figures {
        md.push('\n');
        md.push_str(&p.markdown());
    }
    std::fs::write(out.join("summary.md"), &md)?;
    let json = serde_json::json!({
        "machine": machine,
        "args": std::env::args().skip(1).collect::<Vec<_>>(),
        "rows": rows,
        "runs": all_runs,
        "peers": peer_figures,
    });
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    eprintln!(
        "wrote {} and summary.json",
        out.join("summary.md").display()
    );
    Ok(())
}

/// How a cluster run is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClusterMode {
    workers: usize,
    /// `cluster-W-tls`: gRPC over mutual TLS, Redis over TLS with a password.
    tls: bool,
}

/// `embedded` → None, `cluster-W` → W workers in plaintext, `cluster-W-tls` → with TLS.
fn parse_mode(m: &str) -> anyhow::Result<Option<ClusterMode>> {
    if m == "embedded" {
        return Ok(None);
    }
    let (rest, tls) = match m.strip_suffix("-tls") {
        Some(rest) => (rest, true),
        None => (m, false),
    };
    match rest.strip_prefix("cluster-").map(str::parse::<usize>) {
        Some(Ok(workers)) if workers > 0 => Ok(Some(ClusterMode { workers, tls })),
        _ => bail!(
            "unknown mode {m:?}: embedded, cluster-W (W workers, e.g. cluster-2) or \
             cluster-W-tls (TLS on gRPC and Redis)"
        ),
    }
}

/// nproc, CPU model and memory, in one line.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or_else(
            || "?".into(),
            |kb| format!("{:.1} GiB", kb as f64 / 1048576.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {mem} RAM, Linux {}",
        kernel.trim()
    )
}

/// Start `scan-farm --fleet n` and wait until it serves; its DNS address.
fn start_fleet(args: &Args, bins: &Bins, n: usize, dir: &Path) -> anyhow::Result<(Proc, String)> {
    let mut cmd = Command::new(bins.path("scan-farm")?);
    cmd.args(["--fleet", &n.to_string()])
        .args(["--latency-ms", &args.latency_ms.to_string()])
        .args(["--silent-per-mille", &args.silent_per_mille.to_string()])
        .args(["--per-address", &args.per_address.to_string()])
        .args(["--page-bytes", &args.page_bytes.to_string()])
        .args(["--first-address", &args.first_address.to_string()])
        .arg("--dir")
        .arg(dir)
        .env("RUST_LOG", "warn");
    let stdout = dir.join("farm.out");
    let mut farm = Proc::spawn("scan-farm", &mut cmd, &stdout, &dir.join("farm.err"))?;
    let started = Instant::now();
    wait_until("scan-farm", Duration::from_secs(600), || {
        if let Some(s) = farm.exited()? {
            bail!(
                "scan-farm exited ({s}); see {}",
                dir.join("farm.err").display()
            );
        }
        Ok(std::fs::read_to_string(&stdout)?.contains("serving until"))
    })?;
    let text = std::fs::read_to_string(&stdout)?;
    let dns = text
        .lines()
        .find_map(|l| l.strip_prefix("dns:"))
        .map(|v| v.trim().to_owned())
        .context("scan-farm printed no dns: line")?;
    eprintln!(
        "fleet of {n} serving (started in {:.1} s), DNS {dns}",
        started.elapsed().as_secs_f64()
    );
    Ok((farm, dns))
}

/// The settings a job carries: `scanctl submit` takes them, and `scanctl scan` and
/// `scan-worker` too (for the worker: its defaults and limits).
fn job_flags(ctx: &Ctx) -> Vec<String> {
    let mut f = vec![
        "--ca-file".to_owned(),
        ctx.ca.display().to_string(),
        "--allow-private-targets".into(),
        "--per-ip-concurrency".into(),
        ctx.args.per_ip_concurrency.to_string(),
    ];
    if let Some(s) = ctx.args.step_timeout {
        f.extend(["--step-timeout".into(), s.to_string()]);
    }
    if let Some(s) = ctx.args.site_timeout {
        f.extend(["--site-timeout".into(), s.to_string()]);
    }
    f
}

/// The scan flags shared by `scanctl scan` and `scan-worker`, for one of `processes`
/// scanner processes.
fn scan_flags(ctx: &Ctx, processes: usize) -> Vec<String> {
    let mut f = job_flags(ctx);
    f.extend([
        "--dns-server".to_owned(),
        ctx.dns.clone(),
        "--concurrency".into(),
        ctx.args.concurrency.div_ceil(processes.max(1)).to_string(),
        "--dns-in-flight".into(),
        ctx.args
            .dns_in_flight
            .div_ceil(processes.max(1))
            .to_string(),
    ]);
    f
}

fn figures(role: &str, u: procfs::Usage) -> ProcFigures {
    ProcFigures {
        role: role.to_owned(),
        cpu_s: u.cpu_s,
        peak_rss_mb: u.peak_rss_kb as f64 / 1024.0,
    }
}

/// The fleet's CPU used during `f` (it shares the machine with the scanner).
fn with_farm_cpu<T>(ctx: &Ctx, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, f64)> {
    let before = ctx.farm.usage(ctx.ticks)?.cpu_s;
    let t = f()?;
    let after = ctx.farm.usage(ctx.ticks)?.cpu_s;
    Ok((t, after - before))
}

/// A command under `/usr/bin/time -v -o TIMEFILE`.
fn timed(time_file: &Path, program: &Path) -> Command {
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v").arg("-o").arg(time_file).arg(program);
    cmd
}

fn read_time(path: &Path) -> anyhow::Result<procfs::TimeReport> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    procfs::parse_time_v(&text)
        .with_context(|| format!("unreadable time report {}", path.display()))
}

/// One run of the embedded scanner over `csv` (`n` sites).
fn embedded(ctx: &Ctx, csv: &Path, n: usize, dir: &Path) -> anyhow::Result<Run> {
    let time_file = dir.join("scanctl.time");
    let results = dir.join("results.jsonl");
    let mut cmd = timed(&time_file, &ctx.bins.path("scanctl")?);
    cmd.arg("scan")
        .arg(csv)
        .args(scan_flags(ctx, 1))
        .args(["--format", "jsonl", "-q", "-o"])
        .arg(&results);
    let limit = Duration::from_secs(ctx.args.run_timeout);
    let ((wall, status), farm_cpu) = with_farm_cpu(ctx, || {
        let start = Instant::now();
        let mut p = Proc::spawn(
            "scanctl",
            &mut cmd,
            &dir.join("scanctl.out"),
            &dir.join("scanctl.err"),
        )?;
        let status = p.wait(limit)?;
        Ok((start.elapsed().as_secs_f64(), status))
    })?;
    if !status.success() {
        bail!(
            "scanctl scan failed ({status}); see {}",
            dir.join("scanctl.err").display()
        );
    }
    let t = read_time(&time_file)?;
    Ok(Run {
        mode: "embedded".into(),
        sites: n,
        wall_s: wall,
        scanner: vec![figures("scanctl", t.usage())],
        others: vec![ProcFigures {
            role: "scan-farm".into(),
            cpu_s: farm_cpu,
            peak_rss_mb: ctx.farm.usage(ctx.ticks)?.peak_rss_kb as f64 / 1024.0,
        }],
        results: bench::results::read(&std::fs::read_to_string(&results)?, &ctx.expected),
        redis_commands: None,
        redis_calls: None,
    })
}

/// One run of the cluster: own Redis, a coordinator, `workers` workers, `scanctl submit --wait`;
/// with `tls`, as across machines (mutual TLS on gRPC, Redis over TLS with a password).
fn cluster(ctx: &Ctx, mode: ClusterMode, n: usize, dir: &Path) -> anyhow::Result<Run> {
    let ClusterMode { workers, tls } = mode;
    let secure = tls.then(|| Secure::new(dir)).transpose()?;
    let redis = Redis::start(dir, secure.as_ref().map(Secure::redis))?;
    let grpc_port = free_port()?;
    let coordinator_url = match &secure {
        Some(_) => format!("https://127.0.0.1:{grpc_port}"),
        None => format!("http://127.0.0.1:{grpc_port}"),
    };
    // scanctl's connection flags, after the subcommand's own.
    let client: Vec<String> = [
        vec!["--coordinator".to_owned(), coordinator_url.clone()],
        secure
            .as_ref()
            .map(Secure::scanctl_args)
            .unwrap_or_default(),
    ]
    .concat();
    let redis_flags: Vec<String> = [
        vec!["--redis".to_owned(), redis.url()],
        secure
            .as_ref()
            .map(Secure::redis_client_args)
            .unwrap_or_default(),
    ]
    .concat();
    let mut cmd = Command::new(ctx.bins.path("scan-coordinator")?);
    cmd.args(["--listen", &format!("127.0.0.1:{grpc_port}")])
        .args(&redis_flags)
        .args(
            secure
                .as_ref()
                .map(Secure::coordinator_args)
                .unwrap_or_default(),
        )
        .args(["--shard-size", &ctx.args.shard_size.to_string()]);
    let mut coordinator = Proc::spawn(
        "coordinator",
        &mut cmd,
        &dir.join("coordinator.out"),
        &dir.join("coordinator.err"),
    )?;
    let scanctl = ctx.bins.path("scanctl")?;
    wait_until("coordinator", Duration::from_secs(30), || {
        if let Some(s) = coordinator.exited()? {
            bail!(
                "coordinator exited ({s}); see {}",
                dir.join("coordinator.err").display()
            );
        }
        Ok(Command::new(&scanctl)
            .arg("jobs")
            .args(&client)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()?
            .success())
    })?;
    let mut pool = Vec::new();
    for w in 1..=workers {
        let role = format!("worker-{w}");
        let mut cmd = Command::new(ctx.bins.path("scan-worker")?);
        cmd.args(&redis_flags)
            .args(["--name", &format!("bench-{role}")])
            .args(scan_flags(ctx, workers));
        if let Some(cap) = ctx.args.worker_shards {
            cmd.args(["--shards-in-flight", &cap.to_string()]);
        }
        pool.push(Proc::spawn(
            &role,
            &mut cmd,
            &dir.join(format!("{role}.out")),
            &dir.join(format!("{role}.err")),
        )?);
    }
    wait_until("workers", Duration::from_secs(30), || {
        for p in &mut pool {
            if let Some(s) = p.exited()? {
                bail!("{} exited ({s}); see {}", p.role, dir.display());
            }
        }
        let beating: usize = redis
            .cli(&["ZCARD", "govscan:workers"])?
            .trim()
            .parse()
            .unwrap_or(0);
        Ok(beating >= workers)
    })?;

    let before = redis.cli(&["INFO", "everything"])?;
    let time_file = dir.join("submit.time");
    let mut cmd = timed(&time_file, &scanctl);
    cmd.arg("submit")
        .arg(&ctx.csv)
        .args(job_flags(ctx))
        .arg("--wait")
        .args(&client);
    let limit = Duration::from_secs(ctx.args.run_timeout);
    let ((wall, status), farm_cpu) = with_farm_cpu(ctx, || {
        let start = Instant::now();
        let mut p = Proc::spawn(
            "scanctl submit",
            &mut cmd,
            &dir.join("submit.out"),
            &dir.join("submit.err"),
        )?;
        let status = p.wait(limit)?;
        Ok((start.elapsed().as_secs_f64(), status))
    })?;
    if !status.success() {
        bail!(
            "scanctl submit failed ({status}); see {}",
            dir.join("submit.err").display()
        );
    }
    let after = redis.cli(&["INFO", "everything"])?;
    // Measured before anything else runs: the job is done.
    let mut scanner = vec![figures("coordinator", coordinator.usage(ctx.ticks)?)];
    for p in &pool {
        scanner.push(figures(&p.role, p.usage(ctx.ticks)?));
    }
    let redis_usage = redis.proc.usage(ctx.ticks)?;
    let job = std::fs::read_to_string(dir.join("submit.out"))?
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .context("scanctl submit printed no job id")?
        .to_owned();
    let results = dir.join("results.jsonl");
    let got = Command::new(&scanctl)
        .args(["results", &job, "--format", "jsonl"])
        .args(&client)
        .arg("-o")
        .arg(&results)
        .status()?;
    if !got.success() {
        bail!("scanctl results {job} failed ({got})");
    }
    for p in &mut pool {
        p.stop("TERM", Duration::from_secs(20));
    }
    coordinator.stop("TERM", Duration::from_secs(10));
    let mut redis = redis;
    redis.proc.stop("TERM", Duration::from_secs(10));

    // The `INFO` that took the first snapshot is counted in the second.
    let commands = redis_info::total_commands(&after)
        .zip(redis_info::total_commands(&before))
        .map(|(a, b)| a.saturating_sub(b + 1));
    let calls = redis_info::calls_delta(
        &redis_info::command_calls(&before),
        &redis_info::command_calls(&after),
        &["info"],
    );
    Ok(Run {
        mode: format!("cluster-{workers}{}", if tls { "-tls" } else { "" }),
        sites: n,
        wall_s: wall,
        scanner,
        others: vec![
            figures("redis-server", redis_usage),
            figures("scanctl submit", read_time(&time_file)?.usage()),
            ProcFigures {
                role: "scan-farm".into(),
                cpu_s: farm_cpu,
                peak_rss_mb: ctx.farm.usage(ctx.ticks)?.peak_rss_kb as f64 / 1024.0,
            },
        ],
        results: bench::results::read(&std::fs::read_to_string(&results)?, &ctx.expected),
        redis_commands: commands,
        redis_calls: Some(calls),
    })
}
