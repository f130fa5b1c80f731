//! The annotated scripts of GUIDE.md (section 7) pass as written.

use drill::{run_source, RunOptions};

#[test]
fn guide_scripts_pass() {
    let guide = include_str!("../GUIDE.md");
    let section = guide
        .split("## 7.")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("section 7");
    let scripts: Vec<&str> = section
        .split("```text\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(scripts.len(), 3, "three annotated scripts");
    for (i, src) in scripts.iter().enumerate() {
        let r = run_source(
            &format!("GUIDE.md script {}", i + 1),
            src,
            &RunOptions {
                verbose: true,
                ..RunOptions::default()
            },
        );
        assert!(r.passed, "{r}\n{}", r.log.join("\n"));
    }
}
