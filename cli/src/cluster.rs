//! `scanctl submit|status|watch|results|jobs|cancel`: the cluster, through a coordinator.

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Submit a site list to the coordinator (prints the job id).
    Submit(SubmitArgs),
}

#[derive(clap::Args)]
pub struct SubmitArgs {
    pub file: std::path::PathBuf,
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Submit(_) => anyhow::bail!("the cluster commands are not built yet"),
    }
}
