//! Meta-tests: deliberately wrong scripts under `tests/meta/` must FAIL, at
//! the right line, with the right message.
//!
//! Each script says what it expects in its header comments:
//!
//! ```text
//! // EXPECT-LINE: 8
//! // EXPECT: wrong outbound packet: the UDP payload length is 20, ...
//! ```
//!
//! Every `EXPECT:` text must appear in the failure as printed (message,
//! expected and actual lines).

use std::path::PathBuf;

use drill::{collect_scripts, run_script_with, RunOptions};

fn meta_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/meta")
}

#[test]
fn every_meta_script_fails_as_announced() {
    let scripts = collect_scripts(&[meta_dir()]).expect("meta directory");
    assert!(scripts.len() >= 10, "meta scripts missing");
    let mut problems = Vec::new();
    for path in &scripts {
        let src = std::fs::read_to_string(path).expect("readable");
        let line: usize = src
            .lines()
            .find_map(|l| l.strip_prefix("// EXPECT-LINE:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{}: no EXPECT-LINE header", path.display()));
        let texts: Vec<&str> = src
            .lines()
            .filter_map(|l| l.strip_prefix("// EXPECT:"))
            .map(str::trim)
            .collect();
        assert!(!texts.is_empty(), "{}: no EXPECT header", path.display());
        let r = run_script_with(path, &RunOptions::default());
        println!("{r}\n");
        let Some(f) = &r.failure else {
            problems.push(format!("{}: passed, but must fail", path.display()));
            continue;
        };
        assert!(!r.passed);
        if f.line != line {
            problems.push(format!(
                "{}: failed at line {}, expected line {line}:\n{r}",
                path.display(),
                f.line
            ));
        }
        let shown = r.to_string();
        for t in texts {
            if !shown.contains(t) {
                problems.push(format!(
                    "{}: the failure lacks {t:?}:\n{shown}",
                    path.display()
                ));
            }
        }
        // The failure names the script and the line, compiler style.
        if !shown.contains(&format!("{}:{line}: ", path.display())) {
            problems.push(format!("{}: no `file:line:` in\n{shown}", path.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
