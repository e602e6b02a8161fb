//! Dates for people: Taiwan time (UTC+8, no daylight saving), minutes, plain form.
//!
//! The results carry RFC 3339 UTC timestamps (`2026-11-29T09:27:36.093957282Z`); a report
//! sent to an agency says `2026-11-29 17:27` and that it is Taiwan time. Machines (JSON)
//! keep the RFC 3339 form.

use crate::Lang;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset, macros::format_description};

const TAIWAN: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// `2026-11-29 17:27` for an instant, in Taiwan time.
pub fn taiwan(t: OffsetDateTime) -> String {
    let local = t.to_offset(TAIWAN);
    local
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_default()
}

/// [`taiwan`] of an RFC 3339 timestamp; the text as given when it does not parse.
pub fn taiwan_text(rfc3339: &str) -> String {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .map(taiwan)
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// A period in Taiwan time, saying so: `2026-11-29 17:27 – 17:31（臺灣時間）`; the second
/// date is written out only when it is another day.
pub fn period(from: &str, to: &str, lang: Lang) -> String {
    let (a, b) = (taiwan_text(from), taiwan_text(to));
    let text = if a == b {
        a
    } else if a.len() == 16 && b.len() == 16 && a[..10] == b[..10] {
        format!("{a} – {}", &b[11..])
    } else {
        format!("{a} – {b}")
    };
    match lang {
        Lang::ZhTw => format!("{text}（臺灣時間）"),
        Lang::En => format!("{text} (Taiwan time, UTC+8)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_timestamps_read_in_taiwan_time() {
        assert_eq!(
            taiwan_text("2026-11-29T09:27:36.093957282Z"),
            "2026-11-29 17:27"
        );
        // After 16:00 UTC it is already the next day in Taipei.
        assert_eq!(taiwan_text("2026-12-31T16:05:00Z"), "2027-01-01 00:05");
        assert_eq!(taiwan_text("not a time"), "not a time");
    }

    #[test]
    fn a_period_writes_the_day_once() {
        assert_eq!(
            period("2026-11-29T09:27:36Z", "2026-11-29T09:31:02Z", Lang::ZhTw),
            "2026-11-29 17:27 – 17:31（臺灣時間）"
        );
        assert_eq!(
            period("2026-11-29T15:59:00Z", "2026-11-29T16:01:00Z", Lang::En),
            "2026-11-29 23:59 – 2026-11-30 00:01 (Taiwan time, UTC+8)"
        );
    }
}
