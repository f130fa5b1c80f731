//! Replays the kept fuzz corpora (`fuzz/corpus/TARGET/`) and the inputs that once
//! crashed (`fuzz/regressions/TARGET/`) through the fuzz harnesses, so that every
//! `cargo test` re-checks what the fuzzers found.

use std::fs;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_file() {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no corpus for fuzz target {target}: fuzz/corpus/{target}/ should hold one"
    );
    for f in &files {
        let data = fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let result = std::panic::catch_unwind(|| run(&data));
        assert!(result.is_ok(), "fuzz input {} fails again", f.display());
    }
}

#[test]
fn frames_corpus_replays() {
    replay("frames", netstack_tests::fuzz::frames::run);
}

#[test]
fn calls_corpus_replays() {
    replay("calls", netstack_tests::fuzz::calls::run);
}

#[test]
fn script_corpus_replays() {
    replay("script", netstack_tests::fuzz::script::run);
}
