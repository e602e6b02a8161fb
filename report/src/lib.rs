//! Reports: what the NDC publishes and what agencies act on, from per-site scan results.
//!
//! This crate is pure: functions from `&[SiteResult]` to report data, and from report data to
//! text. It knows nothing of files, gRPC, Redis or the command line, so a local scan's results
//! and a cluster job's give the same report.
//!
//! - [`Report::build`] makes the NDC table per `category` (count 數量, HTTPS adopted
//!   已導入HTTPS, forced 強制導入, adoption ratio 導入比率, and the total 合計), the agency tree
//!   rolled up along `parent` (optionally only one agency's subtree), the number of sites per
//!   finding code (the document's error types first) and the failing sites.
//! - [`Diff::between`] compares two scans: the change per group, and the sites that got fixed,
//!   broke, appeared or disappeared, with the finding codes each gained or lost.
//! - [`render`] writes either as a terminal table, CSV (UTF-8 with a BOM, for Excel), JSON
//!   (stable English field names) or, for the report, one self-contained HTML page, in
//!   Traditional Chinese ([`Lang::ZhTw`]) or English ([`Lang::En`]); [`Lang::fix`] says what
//!   to do about each finding code in plain words.
//!
//! Ratios are exact fractions rounded half up to two decimals of the percentage (see
//! [`ratio`]); the 2017 document printed 73.3% and 73.4% where the tool prints 73.28% and
//! 73.37%.

pub mod build;
pub mod diff;
pub mod lang;
pub mod pack;
pub mod ratio;
pub mod render;
pub mod tally;
pub mod trend;
pub mod when;

pub use build::{
    AgencyNode, AgencySites, ChromeOnly, Error, FailingSite, FindingCount, GroupRow, GroupSites,
    History, Note, Options, Report, Row, Since,
};
pub use diff::{Diff, GroupChange, SiteChange};
pub use lang::{Lang, UnknownLang};
pub use ratio::{Counts, Ratio};
pub use render::{By, Format, Render};
pub use tally::Tally;
pub use trend::{Trend, TrendPoint};

#[cfg(test)]
mod tests;
