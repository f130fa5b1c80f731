//! Runs every script of the packet-level corpus (`tests/drill/` at the
//! workspace root) against the stack; any failure fails the test, with the
//! script's transcript.
//!
//! A script whose header has a line `// XFAIL: reason` documents a known
//! stack bug: it must fail (the test fails if it passes, so the marker is
//! removed once the bug is fixed).

use std::path::PathBuf;

use drill::{collect_scripts, run_script_with, RunOptions};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/drill")
}

#[test]
fn corpus_passes() {
    let scripts = collect_scripts(&[corpus_dir()]).expect("corpus directory");
    assert!(
        !scripts.is_empty(),
        "no scripts under {}",
        corpus_dir().display()
    );
    let verbose = RunOptions {
        verbose: true,
        ..RunOptions::default()
    };
    let mut problems = Vec::new();
    for path in &scripts {
        let r = run_script_with(path, &verbose);
        println!("{}", r.summary());
        if !r.ok() {
            problems.push(format!("{r}\n  transcript:\n    {}", r.log.join("\n    ")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
