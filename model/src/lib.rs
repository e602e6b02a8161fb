//! The domain model of the HTTPS compliance scanner.
//!
//! Everything that crosses a boundary between parts of the system is defined here: the
//! [`Site`] a user lists, the [`SiteResult`] a scan produces for it, and the [`Finding`]s
//! that explain a verdict. The scanning engine, the Redis queue, the gRPC API, the reports
//! and the CLI all speak these types; none of them depends on the others' machinery.
//!
//! The finding codes ([`Code`]) are a stable contract (`shared/spec/CHECKS.md`): reports,
//! diffs and tests use them, so codes are added, never renamed.

pub mod finding;
pub mod result;
pub mod settings;
pub mod site;
pub mod sitelist;
pub mod text;

pub use finding::{Code, Finding, Severity};
pub use result::*;
pub use settings::JobSettings;
pub use site::{Site, SiteError};
