//! `scanctl report` and `scanctl diff`.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ReportArgs {
    pub results: Option<std::path::PathBuf>,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    pub old: String,
    pub new: String,
}

pub async fn report(_args: ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("report is not built yet")
}

pub async fn diff(_args: DiffArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("diff is not built yet")
}
