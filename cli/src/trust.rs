//! `scanctl trust list`: every anchor of a trust profile with its SHA-256 and constraints, so
//! an operator can see what judged a scan.

use anyhow::Result;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use engine::tls::profile::{AnchorInfo, Constraint, ProfileOptions};
use engine::tls::{ChromeVersion, TrustStore};
use model::Browser;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// List the anchors of a trust profile with their SHA-256 and constraints.
    List(ListArgs),
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// The profile: `chrome` (Chrome Root Store) or `mozilla`.
    #[arg(long, default_value = "chrome", env = "SCAN_TRUST")]
    trust: Browser,
    /// The Chrome version whose constraints are stated in the header (default: the
    /// snapshot's Chrome stable).
    #[arg(long, value_name = "VERSION", env = "SCAN_CHROME_VERSION")]
    chrome_version: Option<ChromeVersion>,
    /// `table` or `jsonl` (one anchor a line: name, sha256, origin, constraints).
    #[arg(long, default_value = "table", value_parser = ["table", "jsonl"])]
    format: String,
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::List(args) => list(&args),
    }
}

fn list(args: &ListArgs) -> Result<ExitCode> {
    let mut options = ProfileOptions::default();
    if let Some(v) = args.chrome_version {
        options.chrome_version = v;
    }
    let store = TrustStore::profile(args.trust, &options)?;
    let mut out = std::io::stdout().lock();
    if args.format == "jsonl" {
        for anchor in store.anchors() {
            serde_json::to_writer(&mut out, anchor)?;
            writeln!(out)?;
        }
    } else {
        writeln!(
            out,
            "{} — {} anchors",
            store.version(),
            store.anchors().len()
        )?;
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["anchor", "sha256", "constraints"]);
        for anchor in store.anchors() {
            table.add_row([
                anchor.name.clone(),
                anchor.sha256.clone(),
                constraints(anchor),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `sct ≤ 2025-07-31 23:59:59 UTC from Chrome 139 | before Chrome 139: none`.
fn constraints(anchor: &AnchorInfo) -> String {
    anchor
        .constraints
        .iter()
        .map(constraint)
        .collect::<Vec<_>>()
        .join(" | ")
}

fn constraint(c: &Constraint) -> String {
    let mut parts = Vec::new();
    let day = |secs: i64| {
        time::OffsetDateTime::from_unix_timestamp(secs).map_or_else(
            |_| secs.to_string(),
            |t| {
                t.format(time::macros::format_description!("[year]-[month]-[day]"))
                    .unwrap_or_default()
            },
        )
    };
    if let Some(t) = c.sct_not_after_sec {
        parts.push(format!("an SCT on or before {}", day(t)));
    }
    if let Some(t) = c.sct_all_after_sec {
        parts.push(format!("all SCTs after {}", day(t)));
    }
    if !c.permitted_dns_names.is_empty() {
        parts.push(format!("names under {}", c.permitted_dns_names.join(", ")));
    }
    if let Some(t) = c.validity_starts_not_after_sec {
        parts.push(format!("issued on or before {}", day(t)));
    }
    if let Some(t) = c.validity_starts_after_sec {
        parts.push(format!("issued after {}", day(t)));
    }
    if c.index_after.is_some() || c.index_not_after.is_some() {
        parts.push("Merkle Tree Certificates only".into());
    }
    if parts.is_empty() {
        parts.push("trusted".into());
    }
    let mut s = parts.join(", ");
    match (&c.min_version, &c.max_version_exclusive) {
        (Some(min), Some(max)) => s.push_str(&format!(" (Chrome {min} to before {max})")),
        (Some(min), None) => s.push_str(&format!(" (from Chrome {min})")),
        (None, Some(max)) => s.push_str(&format!(" (before Chrome {max})")),
        (None, None) => {}
    }
    s
}
