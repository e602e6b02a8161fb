//! `scanctl demo`: the main job end to end on a machine with no internet. Starts the
//! simulated government site farm in-process (real DNS, real TLS, real HTTP on loopback),
//! scans it with the real engine exactly as `scanctl scan` would, prints the per-site
//! table, and checks every verdict against what the farm knows each site should get.

use crate::output::{Format, Sink};
use crate::scan::scan_list;
use anyhow::Context;
use engine::{Config, Engine};
use model::{Code, Site, SiteResult};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// Output format (default: a table on a terminal, JSON Lines otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Write results to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the farm's site list (CSV) and root CA here, to rerun with `scanctl scan`.
    #[arg(long, value_name = "DIR")]
    pub write_list: Option<PathBuf>,

    /// Sites scanned at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,

    /// Ports the farm serves http and https on (80 and 443 need root).
    #[arg(long, num_args = 2, value_names = ["HTTP", "HTTPS"], default_values_t = [80, 443])]
    pub ports: Vec<u16>,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (http_port, https_port) = (args.ports[0], args.ports[1]);
    let farm = farm::Farm::catalog()
        .ports(http_port, https_port)
        .start()
        .await
        .with_context(|| {
            format!(
                "cannot start the simulated farm on ports {http_port}/{https_port} of 127.77.0.0/16 \
                 (ports under 1024 need root; try --ports 8080 8443)"
            )
        })?;
    eprintln!(
        "scanctl: demo farm up: {} sites, DNS on {}, root CA {}",
        farm.sites().len(),
        farm.dns_addr(),
        farm.ca_pem_path().display()
    );
    if let Some(dir) = &args.write_list {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        farm.write_csv(&dir.join("sites.csv"))?;
        std::fs::write(dir.join("ca.pem"), farm.root_pem())?;
        eprintln!("scanctl: wrote {0}/sites.csv and {0}/ca.pem", dir.display());
    }

    let config = Config {
        dns_server: Some(farm.dns_addr()),
        extra_roots: farm.root_ders(),
        allow_private_targets: true,
        http_port,
        https_port,
        ..Config::default()
    };
    let engine = Arc::new(Engine::new(config)?);
    let mut expected = HashMap::new();
    let mut sites = Vec::new();
    for fs in farm.sites() {
        let mut site = Site::parse(&fs.url).with_context(|| format!("farm site {}", fs.url))?;
        site.agency.clone_from(&fs.agency);
        site.category.clone_from(&fs.category);
        site.parent.clone_from(&fs.parent);
        expected.insert(fs.url.clone(), fs);
        sites.push(site);
    }
    let format = args
        .format
        .unwrap_or_else(|| Format::default_for(args.output.as_deref()));
    let mut surprises = Vec::new();
    let tally = scan_list(
        engine,
        sites,
        args.concurrency,
        Sink::open(format, args.output.as_ref())?,
        !args.quiet,
        |r| {
            if let Some(fs) = expected.get(&r.url)
                && let Some(why) = surprise(r, &fs.expect)
            {
                surprises.push(format!("{} ({}): {why}", r.url, fs.description));
            }
        },
    )
    .await?;
    eprintln!("scanctl: scanned {tally}");
    if surprises.is_empty() {
        eprintln!(
            "scanctl: every one of the {} sites was judged as the farm expects",
            tally.done
        );
    } else {
        eprintln!(
            "scanctl: {} site(s) judged differently from what the farm expects:",
            surprises.len()
        );
        for s in &surprises {
            eprintln!("  {s}");
        }
    }
    farm.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// How `r` differs from what the farm expects, if it does.
fn surprise(r: &SiteResult, expect: &farm::Expect) -> Option<String> {
    let got: BTreeSet<Code> = r.codes().into_iter().collect();
    let want: BTreeSet<Code> = expect.codes.iter().copied().collect();
    if r.https_ok == expect.https_ok && r.forced_https == expect.forced_https && got == want {
        return None;
    }
    let list = |s: &BTreeSet<Code>| s.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" ");
    Some(format!(
        "adopted {} (expected {}), forced {} (expected {}), findings [{}] (expected [{}])",
        r.https_ok,
        expect.https_ok,
        r.forced_https,
        expect.forced_https,
        list(&got),
        list(&want)
    ))
}
