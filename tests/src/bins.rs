//! Locating the workspace's binaries (`scanctl`, `scan-worker`, `scan-coordinator`,
//! `scan-farm`) from the running test executable.

use std::path::{Path, PathBuf};

/// The profile directory the running test was built into (`target/debug` or
/// `target/release`): test executables live in its `deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// The path of the workspace binary `name`.
///
/// # Panics
/// When it was not built, with the command that builds it: a test cannot build it itself,
/// since the running `cargo test` holds the build directory's lock.
pub fn path(name: &str) -> PathBuf {
    let exe = format!("{name}{}", std::env::consts::EXE_SUFFIX);
    let candidate = profile_dir().join(&exe);
    if candidate.is_file() {
        return candidate;
    }
    panic!(
        "{} not found: build the binaries first with `cargo build --workspace --bins` \
         (./test.sh does), then run the tests with the same profile",
        candidate.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_dir_holds_this_test_executable() {
        let dir = profile_dir();
        let exe = std::env::current_exe().unwrap();
        assert!(
            exe.starts_with(&dir),
            "{} under {}",
            exe.display(),
            dir.display()
        );
        assert!(!dir.ends_with("deps"));
    }
}
