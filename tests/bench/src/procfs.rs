//! A process's own accounting: `/proc/PID/stat` (CPU), `/proc/PID/status` (peak RSS) and
//! the report of GNU `/usr/bin/time -v`.

/// CPU time and peak memory of one process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// User + system CPU seconds.
    pub cpu_s: f64,
    /// Peak resident set size, kB (`VmHWM`, or time's "Maximum resident set size").
    pub peak_rss_kb: u64,
}

/// User and system CPU time from `/proc/PID/stat`, in clock ticks (fields 14 and 15).
/// The command name (field 2) may hold spaces and parentheses, so fields are counted from
/// the last `)`.
pub fn stat_ticks(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3 (state): utime is field 14, the 12th from here.
    let utime = fields.nth(11)?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// `VmHWM` (peak RSS) from `/proc/PID/status`, kB.
pub fn vm_hwm_kb(status: &str) -> Option<u64> {
    status_kb(status, "VmHWM:")
}

/// `VmRSS` (current RSS) from `/proc/PID/status`, kB.
pub fn vm_rss_kb(status: &str) -> Option<u64> {
    status_kb(status, "VmRSS:")
}

fn status_kb(status: &str, label: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(label))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The usage of a process from its `/proc` files, `ticks_per_s` being `getconf CLK_TCK`.
pub fn from_proc(stat: &str, status: &str, ticks_per_s: u64) -> Option<Usage> {
    let (u, s) = stat_ticks(stat)?;
    Some(Usage {
        cpu_s: (u + s) as f64 / ticks_per_s.max(1) as f64,
        peak_rss_kb: vm_hwm_kb(status)?,
    })
}

/// What GNU `time -v` reports on a command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeReport {
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_kb: u64,
    pub exit_status: i32,
}

impl TimeReport {
    pub fn usage(&self) -> Usage {
        Usage {
            cpu_s: self.user_s + self.sys_s,
            peak_rss_kb: self.max_rss_kb,
        }
    }
}

/// Parse the output of `/usr/bin/time -v -o FILE`. A command killed by a signal has
/// `Command terminated by signal N` and no exit status line: its status is `128 + N`.
pub fn parse_time_v(text: &str) -> Option<TimeReport> {
    let field = |label: &str| -> Option<&str> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.trim_start_matches(':').trim())
    };
    let signal = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Command terminated by signal "))
        .and_then(|n| n.trim().parse::<i32>().ok());
    let exit_status = match field("Exit status") {
        Some(s) => s.parse().ok()?,
        None => 128 + signal?,
    };
    Some(TimeReport {
        user_s: field("User time (seconds)")?.parse().ok()?,
        sys_s: field("System time (seconds)")?.parse().ok()?,
        max_rss_kb: field("Maximum resident set size (kbytes)")?.parse().ok()?,
        exit_status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (scan worker) (x)) S 1 4242 4242 0 -1 4194560 1538 0 0 0 \
                        250 75 0 0 20 0 9 0 123456 1000000 2000 18446744073709551615";

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        assert_eq!(stat_ticks(STAT), Some((250, 75)));
        assert_eq!(stat_ticks("12 (x) S 1 2"), None);
    }

    #[test]
    fn usage_from_proc_files() {
        let status =
            "Name:\tscan-worker\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n";
        assert_eq!(vm_hwm_kb(status), Some(123_456));
        assert_eq!(vm_rss_kb(status), Some(100_000));
        assert_eq!(
            from_proc(STAT, status, 100),
            Some(Usage {
                cpu_s: 3.25,
                peak_rss_kb: 123_456
            })
        );
        assert_eq!(from_proc(STAT, "Name:\tx\n", 100), None);
    }

    #[test]
    fn gnu_time_report() {
        let text = "\tCommand being timed: \"scanctl scan x\"\n\
                    \tUser time (seconds): 12.34\n\
                    \tSystem time (seconds): 1.66\n\
                    \tPercent of CPU this job got: 95%\n\
                    \tMaximum resident set size (kbytes): 204800\n\
                    \tExit status: 0\n";
        let r = parse_time_v(text).unwrap();
        assert_eq!(r.exit_status, 0);
        assert_eq!(r.max_rss_kb, 204_800);
        assert!((r.usage().cpu_s - 14.0).abs() < 1e-9);

        let killed = "\tCommand terminated by signal 9\n\
                      \tUser time (seconds): 0.10\n\
                      \tSystem time (seconds): 0.00\n\
                      \tMaximum resident set size (kbytes): 1000\n";
        assert_eq!(parse_time_v(killed).unwrap().exit_status, 137);
        assert_eq!(parse_time_v("garbage"), None);
    }
}
