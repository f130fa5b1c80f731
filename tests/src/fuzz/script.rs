//! The packet-script parser on any text.
//!
//! Whatever the text, parsing returns; an error points at a line and column inside
//! the text; a script that parses prints back to text that parses to the same
//! events and options.

use drill::{parse, EventKind, EventTime, Script};

/// Runs one fuzz input. Panics only if the parser does, or breaks a checked rule.
pub fn run(data: &[u8]) {
    let src = String::from_utf8_lossy(data);
    match parse(&src) {
        Ok(script) => {
            let printed = script.to_string();
            let again = match parse(&printed) {
                Ok(s) => s,
                Err(e) => panic!("printed script does not parse: {e}\n--- printed ---\n{printed}"),
            };
            assert_eq!(
                events(&again),
                events(&script),
                "printing changed the events\n{printed}"
            );
            assert_eq!(
                again.options, script.options,
                "printing changed the options"
            );
        }
        Err(e) => {
            let lines: Vec<&str> = src.split('\n').collect();
            assert!(
                e.line >= 1 && e.line <= lines.len(),
                "error line out of the text: {e}"
            );
            let width = lines[e.line - 1].chars().count();
            assert!(
                e.column >= 1 && e.column <= width + 1,
                "error column out of the line: {e}"
            );
        }
    }
}

fn events(s: &Script) -> Vec<(EventTime, EventKind)> {
    s.events.iter().map(|e| (e.time, e.kind.clone())).collect()
}
