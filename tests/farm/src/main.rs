//! `scan-farm`: run the simulated site farm until Ctrl-C, for manual runs and benchmarks.
//!
//! Starts the catalog (one site per behaviour) or a generated fleet, writes `sites.csv`,
//! `farm-ca.pem` and `expected.jsonl` (each site's correct verdict) to `--dir`, prints the DNS address and the scan command, and serves.

use anyhow::Context;
use clap::Parser;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "Run the simulated government site farm on loopback until Ctrl-C")]
struct Args {
    /// Serve a generated fleet of N sites (national mix) instead of the catalog.
    #[arg(long)]
    fleet: Option<usize>,
    /// Fleet: sites per shared address.
    #[arg(long, default_value_t = 50)]
    per_address: usize,
    /// Fleet: HTML page size in bytes.
    #[arg(long, default_value_t = 30_000)]
    page_bytes: usize,
    /// Fleet: sites per thousand that accept on 443 and never answer.
    #[arg(long)]
    silent_per_mille: Option<u32>,
    /// Added latency per HTTP response, milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Directory for sites.csv, farm-ca.pem and openssl's files (created if missing).
    #[arg(long, default_value = "farm-out")]
    dir: PathBuf,
    /// Where the DNS responder listens (port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    dns: SocketAddr,
    /// First loopback address handed to sites.
    #[arg(long, default_value = "127.77.0.1")]
    first_address: Ipv4Addr,
    /// Port of the http endpoints (the scanner's --http-port must match if not 80).
    #[arg(long, default_value_t = 80)]
    http_port: u16,
    /// Port of the https endpoints (the scanner's --https-port must match if not 443).
    #[arg(long, default_value_t = 443)]
    https_port: u16,
    /// Most connections served at once.
    #[arg(long, default_value_t = 16_384)]
    max_connections: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let builder = match args.fleet {
        Some(n) => {
            let mut mix = farm::Mix::national();
            mix.per_address = args.per_address;
            mix.page_bytes = args.page_bytes;
            if let Some(s) = args.silent_per_mille {
                mix.silent = s;
            }
            farm::Farm::builder().fleet(n, &mix)
        }
        None => farm::Farm::catalog(),
    };
    let farm = builder
        .dir(&args.dir)
        .dns_bind(args.dns)
        .first_address(args.first_address)
        .ports(args.http_port, args.https_port)
        .latency(Duration::from_millis(args.latency_ms))
        .max_connections(args.max_connections)
        .start()
        .await
        .context("starting the farm")?;

    let csv = args.dir.join("sites.csv");
    farm.write_csv(&csv)
        .with_context(|| format!("writing {}", csv.display()))?;
    let expected = args.dir.join("expected.jsonl");
    farm.write_expectations(&expected)
        .with_context(|| format!("writing {}", expected.display()))?;
    let mut ports = String::new();
    if args.http_port != 80 {
        ports.push_str(&format!(" --http-port {}", args.http_port));
    }
    if args.https_port != 443 {
        ports.push_str(&format!(" --https-port {}", args.https_port));
    }
    println!("sites:      {}", farm.sites().len());
    println!("dns:        {}", farm.dns_addr());
    println!("site list:  {}", csv.display());
    println!("ca file:    {}", farm.ca_pem_path().display());
    println!("expected:   {}", expected.display());
    println!(
        "scan with:  scanctl scan {} --dns-server {} --ca-file {} --allow-private-targets{ports}",
        csv.display(),
        farm.dns_addr(),
        farm.ca_pem_path().display()
    );
    println!("serving until Ctrl-C or SIGTERM");

    // Ctrl-C or SIGTERM (a benchmark script stopping the fleet): shut down cleanly, so the
    // openssl children die with the farm (after a SIGKILL they would outlive it).
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        _ = term.recv() => {}
    }
    farm.shutdown().await;
    Ok(())
}
