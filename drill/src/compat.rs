//! Compatibility with public packetdrill corpora (`netstack drill --compat`):
//! what their scripts hold that is about the machine under test, not about TCP,
//! is set aside before parsing, line numbers kept.
//!
//! - `` `command` `` lines (sysctls, interface and host-cache setup) are
//!   skipped; each becomes a note.
//! - `%{ python }%` blocks (assertions on Linux's `tcp_info`, FreeBSD's
//!   `TCPI_*` states) are skipped, also across lines; each becomes a note.
//!
//! The strict mode, without `--compat`, keeps refusing both: our own scripts
//! must not depend on them. [`conditionals`] (`#ifdef` lines) applies in
//! both modes, as in packetdrill.

/// Which corpus a script was written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compat {
    /// google/packetdrill's `gtests/net` (Linux as the system under test).
    Linux,
    /// FreeBSD's tcp-testsuite.
    FreeBsd,
}

impl std::str::FromStr for Compat {
    type Err = String;
    fn from_str(s: &str) -> Result<Compat, String> {
        match s {
            "linux" => Ok(Compat::Linux),
            "freebsd" => Ok(Compat::FreeBsd),
            _ => Err(format!(
                "unknown compatibility mode '{s}' (linux or freebsd)"
            )),
        }
    }
}

/// A skipped construct that may span lines.
#[derive(Clone, Copy)]
enum Block {
    /// `` `command` ``, ended by its closing backtick.
    Shell,
    /// `%{ python }%`.
    Python,
}

impl Block {
    fn end(self) -> &'static str {
        match self {
            Block::Shell => "`",
            Block::Python => "}%",
        }
    }

    fn note(self, start: usize, end: usize) -> String {
        match self {
            Block::Shell => format!("lines {start}-{end}: shell command skipped"),
            Block::Python => format!("line {start}: python block skipped"),
        }
    }
}

/// The script with shell lines and python blocks blanked out (the same number
/// of lines), and a note per thing skipped.
pub fn prepare(src: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(src.len());
    let mut notes = Vec::new();
    // A shell command or python block that goes on over lines: what ends it,
    // and the line it began on.
    let mut open: Option<(Block, usize)> = None;
    for (i, line) in src.lines().enumerate() {
        let n = i + 1;
        if let Some((block, start)) = open {
            if line.contains(block.end()) {
                open = None;
                notes.push(block.note(start, n));
            }
            out.push('\n');
            continue;
        }
        let code = line.split("//").next().unwrap_or("");
        if let Some(at) = code.find("%{") {
            if !code[at..].contains("}%") {
                open = Some((Block::Python, n));
            } else {
                notes.push(format!("line {n}: python block skipped"));
            }
            out.push('\n');
            continue;
        }
        if code.matches('`').count() == 1 {
            open = Some((Block::Shell, n));
            out.push('\n');
            continue;
        }
        if code.contains('`') {
            let cmd = code
                .split('`')
                .nth(1)
                .unwrap_or("")
                .trim()
                .chars()
                .take(60)
                .collect::<String>();
            notes.push(format!("line {n}: shell command skipped: {cmd}"));
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, notes)
}

/// packetdrill's conditional lines: `#ifdef NAME`, `#ifndef NAME`, `#else`
/// and `#endif` (nested), with the names given by `-D` defined. Lines left
/// out and the directives themselves become empty lines, so line numbers stay.
/// An unbalanced directive is an error at its line.
pub fn conditionals(src: &str, defines: &[String]) -> Result<String, (usize, String)> {
    if !src.lines().any(|l| l.trim_start().starts_with('#')) {
        return Ok(src.to_string());
    }
    let mut out = String::with_capacity(src.len());
    // Per open block: (line, whether it is taken, whether its parent is).
    let mut stack: Vec<(usize, bool, bool)> = Vec::new();
    let active = |stack: &[(usize, bool, bool)]| stack.last().is_none_or(|&(_, on, up)| on && up);
    for (i, line) in src.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        let mut words = t.split_whitespace();
        match words.next() {
            Some(d @ ("#ifdef" | "#ifndef")) => {
                let Some(name) = words.next() else {
                    return Err((n, format!("{d} needs a name")));
                };
                let defined = defines.iter().any(|x| x == name);
                let up = active(&stack);
                stack.push((n, defined == (d == "#ifdef"), up));
            }
            Some("#else") => match stack.last_mut() {
                Some(top) => top.1 = !top.1,
                None => return Err((n, "#else without #ifdef".to_string())),
            },
            Some("#endif") => {
                if stack.pop().is_none() {
                    return Err((n, "#endif without #ifdef".to_string()));
                }
            }
            _ => {
                if active(&stack) {
                    out.push_str(line);
                }
            }
        }
        out.push('\n');
    }
    match stack.last() {
        Some(&(line, ..)) => Err((line, "#ifdef without #endif".to_string())),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_and_python_blocks_go_line_numbers_stay() {
        let src = "0 `sysctl -w x=1`\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                   +0 %{ assert tcpi_state == 1 }%\n+0 %{\nprint(1)\n}%\n+0 close(3) = 0\n\
                   +0 `tc qdisc add dev tun0\nroot fq`\n";
        let (out, notes) = prepare(src);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[7..9], ["", ""]);
        assert_eq!(lines[0], "");
        assert!(lines[1].contains("socket("));
        assert_eq!(lines[2..6], ["", "", "", ""]);
        assert!(lines[6].contains("close(3)"));
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(notes[0].contains("sysctl -w x=1"));
        assert_eq!("freebsd".parse::<Compat>(), Ok(Compat::FreeBsd));
        assert!("bsd".parse::<Compat>().is_err());
    }

    #[test]
    fn conditionals_keep_line_numbers_and_nest() {
        let src = "a\n#ifdef X\nb\n#ifndef Y\nc\n#else\nd\n#endif\n#else\ne\n#endif\nf\n";
        let x = conditionals(src, &["X".to_string()]).unwrap();
        assert_eq!(
            x.lines().collect::<Vec<_>>(),
            ["a", "", "b", "", "c", "", "", "", "", "", "", "f"]
        );
        let none = conditionals(src, &[]).unwrap();
        assert_eq!(
            none.lines().filter(|l| !l.is_empty()).collect::<Vec<_>>(),
            ["a", "e", "f"]
        );
        assert_eq!(conditionals("#ifdef X\n", &[]).unwrap_err().0, 1);
        assert_eq!(conditionals("x\n#endif\n", &[]).unwrap_err().0, 2);
    }
}
