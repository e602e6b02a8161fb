//! `scanctl demo`: the simulated farm, scanned for real.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("demo is not built yet")
}
