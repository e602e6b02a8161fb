//! What a JSON Lines results file says: how many sites, their verdicts, and how long each
//! took (`duration_ms`).

use crate::stats::percentile;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a correct scan says of each host: (https_ok, forced_https).
pub type Expected = BTreeMap<String, (bool, bool)>;

/// Read the farm's `expected.jsonl` (`{"host", "https_ok", "forced_https", ...}` a line).
pub fn expected(jsonl: &str) -> Expected {
    jsonl
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let flag = |k: &str| v.get(k)?.as_bool();
            Some((
                v.get("host")?.as_str()?.to_owned(),
                (flag("https_ok")?, flag("forced_https")?),
            ))
        })
        .collect()
}

/// The figures of one results file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResultStats {
    /// Result lines.
    pub sites: usize,
    pub https_ok: usize,
    pub forced_https: usize,
    /// Sites with a `timeout` finding (the fleet's silent sites end there).
    pub timeouts: usize,
    /// Sites with a `scan_failed` finding (the scanner could not finish them).
    pub scan_failed: usize,
    /// Lines that were not a JSON object (should be 0).
    pub bad_lines: usize,
    /// Sites whose https_ok or forced_https differs from the fleet's expectation (`None`
    /// without expectations).
    pub wrong: Option<usize>,
    pub p50_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub max_ms: Option<u64>,
}

/// Read a results file's text, checking verdicts against `expected` when it is not empty.
pub fn read(jsonl: &str, expected: &Expected) -> ResultStats {
    let mut s = ResultStats {
        wrong: (!expected.is_empty()).then_some(0),
        ..Default::default()
    };
    let mut durations = Vec::new();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(serde_json::Value::Object(v)) = serde_json::from_str::<serde_json::Value>(line)
        else {
            s.bad_lines += 1;
            continue;
        };
        s.sites += 1;
        let flag = |k: &str| v.get(k).and_then(serde_json::Value::as_bool) == Some(true);
        s.https_ok += usize::from(flag("https_ok"));
        s.forced_https += usize::from(flag("forced_https"));
        let host = v
            .get("host")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        if let (Some(wrong), Some(&want)) = (s.wrong.as_mut(), expected.get(host)) {
            *wrong += usize::from((flag("https_ok"), flag("forced_https")) != want);
        }
        let has = |code: &str| {
            v.get("findings")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|f| {
                    f.iter()
                        .any(|f| f.get("code").and_then(serde_json::Value::as_str) == Some(code))
                })
        };
        s.timeouts += usize::from(has("timeout"));
        s.scan_failed += usize::from(has("scan_failed"));
        if let Some(d) = v.get("duration_ms").and_then(serde_json::Value::as_u64) {
            durations.push(d);
        }
    }
    durations.sort_unstable();
    s.p50_ms = percentile(&durations, 50.0);
    s.p99_ms = percentile(&durations, 99.0);
    s.max_ms = durations.last().copied();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_verdicts_and_durations() {
        let text = r#"{"host":"a","https_ok":true,"forced_https":true,"findings":[],"duration_ms":120}
{"host":"b","https_ok":false,"forced_https":false,"findings":[{"code":"timeout","severity":"error","detail":"x"}],"duration_ms":5000}
{"host":"c","https_ok":true,"forced_https":false,"findings":[{"code":"no_https_redirect"}],"duration_ms":80}

not json
"#;
        let want = expected(
            "{\"host\":\"a\",\"https_ok\":true,\"forced_https\":true}\n\
             {\"host\":\"b\",\"https_ok\":true,\"forced_https\":true,\"codes\":[]}\n",
        );
        assert_eq!(want.len(), 2);
        let s = read(text, &want);
        assert_eq!(s.wrong, Some(1));
        assert_eq!(read(text, &Expected::new()).wrong, None);
        assert_eq!(s.sites, 3);
        assert_eq!(s.bad_lines, 1);
        assert_eq!((s.https_ok, s.forced_https, s.timeouts), (2, 1, 1));
        assert_eq!(s.scan_failed, 0);
        assert_eq!(
            (s.p50_ms, s.p99_ms, s.max_ms),
            (Some(120), Some(5000), Some(5000))
        );
    }
}
