//! The fuzz corpora (`fuzz/corpus/<target>`, minimised with `cargo fuzz cmin`) and the
//! inputs fuzzing once failed on (`fuzz/regressions/<target>`) replayed through the same
//! entry points the fuzz targets call, in a plain `cargo test`: without cargo-fuzz or its
//! instrumented build, every path the corpus reaches stays panic-free.

use std::path::PathBuf;

fn replay(target: &str, entry: fn(&[u8])) {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = fuzz.join("corpus").join(target);
    let regressions = fuzz.join("regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("{}: {e}", corpus.display()))
        .chain(std::fs::read_dir(&regressions).into_iter().flatten())
        .map(|f| f.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", corpus.display());
    for path in files {
        let data = std::fs::read(&path).unwrap();
        if std::panic::catch_unwind(|| entry(&data)).is_err() {
            panic!("{} fails", path.display());
        }
    }
}

#[test]
fn sitelist_corpus() {
    replay("sitelist", model::sitelist::fuzz);
}

#[test]
fn page_corpus() {
    replay("page", engine::fuzzing::page);
}

#[test]
fn probe_answer_corpus() {
    replay("probe_answer", engine::fuzzing::probe_answer);
}

#[test]
fn certificate_corpus() {
    replay("certificate", engine::fuzzing::certificate);
}

#[test]
fn aia_corpus() {
    replay("aia", engine::fuzzing::aia);
}

#[test]
fn hsts_corpus() {
    replay("hsts", engine::fuzzing::hsts);
}
