//! Records the commit the engine is built from, for the provenance every result carries
//! (`scanner.commit`). `GOVSCAN_COMMIT` overrides it (packaging from a source tarball);
//! without either, it is `unknown`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GOVSCAN_COMMIT");
    let git = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.git");
    // Rebuild when HEAD moves (a commit, a checkout), not on every build.
    for file in ["HEAD", "logs/HEAD"] {
        let p = git.join(file);
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    let commit = std::env::var("GOVSCAN_COMMIT").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    });
    println!(
        "cargo:rustc-env=GOVSCAN_BUILD_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
}
