//! Redis's own counters: `INFO stats` and `INFO commandstats`, before and after a job.
//!
//! Two figures per site come out of them:
//! - *commands* (`total_commands_processed`): what clients sent, one per round trip
//!   (a pipeline of k commands counts k); an `EVALSHA` counts once however much it does;
//! - *calls* (the sum over `commandstats`): every command executed, including those a Lua
//!   script runs with `redis.call` — the work Redis does.

use std::collections::BTreeMap;

/// The `key:value` lines of an `INFO` reply (sections and comments skipped).
pub fn fields(info: &str) -> BTreeMap<String, String> {
    info.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `total_commands_processed` from `INFO stats`.
pub fn total_commands(info: &str) -> Option<u64> {
    fields(info).get("total_commands_processed")?.parse().ok()
}

/// Calls per command from `INFO commandstats`
/// (`cmdstat_xadd:calls=3,usec=12,usec_per_call=4.00,...`); subcommands keep their
/// `cmd|sub` names.
pub fn command_calls(info: &str) -> BTreeMap<String, u64> {
    fields(info)
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("cmdstat_")?.to_owned();
            let calls = v
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name, calls))
        })
        .collect()
}

/// `after - before` per command, dropping commands whose count did not change and those in
/// `ignore` (the benchmark's own `info` calls).
pub fn calls_delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    ignore: &[&str],
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(k, _)| !ignore.contains(&k.as_str()))
        .filter_map(|(k, &a)| {
            let d = a.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# Commandstats\r\n\
        cmdstat_ping:calls=4,usec=2,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_info:calls=1,usec=30,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_xreadgroup:calls=10,usec=100,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n";
    const AFTER: &str = "# Commandstats\r\n\
        cmdstat_ping:calls=4,usec=2,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_info:calls=3,usec=90,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_xreadgroup:calls=25,usec=250,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_hsetnx:calls=100,usec=50,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_client|setinfo:calls=2,usec=1,usec_per_call=0.50,rejected_calls=0,failed_calls=0\r\n";

    #[test]
    fn commandstats_delta_ignores_unchanged_and_own_commands() {
        let d = calls_delta(&command_calls(BEFORE), &command_calls(AFTER), &["info"]);
        let want: BTreeMap<String, u64> =
            [("client|setinfo", 2), ("hsetnx", 100), ("xreadgroup", 15)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
        assert_eq!(d, want);
    }

    #[test]
    fn total_commands_from_info_stats() {
        let info = "# Stats\r\ntotal_connections_received:5\r\ntotal_commands_processed:1234\r\n";
        assert_eq!(total_commands(info), Some(1234));
        assert_eq!(total_commands("# Stats\r\n"), None);
    }
}
