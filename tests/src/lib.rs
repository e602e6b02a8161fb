//! Test support for the integration tests: the real binaries run as child processes
//! against the simulated farm ([`farm`]), and their output compared with what the farm
//! knows each site should get.
//!
//! The integration tests drive the binaries that `cargo build --workspace --bins` made
//! (this crate declares no binaries, so `CARGO_BIN_EXE_*` is not available): run that
//! first, as `./test.sh` does. [`bins::path`] finds them next to the test executable.

pub mod bins;
pub mod browser;
pub mod cdp;
pub mod chromium;
pub mod cluster;
pub mod netns;
pub mod pg;
pub mod scan;
pub mod secure;
