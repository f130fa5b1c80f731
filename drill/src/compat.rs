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

/// A shell command a compatibility run set aside: the line it starts on and
/// its text (without the backticks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shell {
    /// 1-based line of the opening backtick.
    pub line: usize,
    /// The command, lines joined with newlines.
    pub text: String,
    /// The event time written before it (`+0`, `0.1`), if any: a timed
    /// command happens during the run, an untimed one before it.
    pub time: Option<String>,
}

/// The pseudo-call a timed shell command that sets sysctls becomes in
/// compatibility mode: `__sysctl("tcp_fastopen=0x1", ...) = 0`, which sets
/// them on the running stack (see [`sysctls`]).
pub const SYSCTL_CALL: &str = "__sysctl";

/// The pseudo-call a timed python block (or shell command with nothing for
/// the stack) becomes in compatibility mode: it does nothing at its time, so
/// later relative times count from it as in the script.
pub const SKIP_CALL: &str = "__skip";

/// The line that replaces a timed shell command setting `sysctls`.
pub fn sysctl_line(time: &str, sysctls: &[(String, String)]) -> String {
    let args: Vec<String> = sysctls
        .iter()
        .map(|(k, v)| format!("\"{k}={}\"", v.replace(['"', '\\'], "")))
        .collect();
    format!("{time} {SYSCTL_CALL}({}) = 0", args.join(", "))
}

/// The script with shell lines and python blocks blanked out (the same number
/// of lines), a note per thing skipped, and the shell commands.
pub fn prepare(src: &str) -> (String, Vec<String>, Vec<Shell>) {
    let mut out = String::with_capacity(src.len());
    let mut notes = Vec::new();
    let mut shells: Vec<Shell> = Vec::new();
    // A shell command or python block that goes on over lines: what ends it,
    // and the line it began on.
    let mut open: Option<(Block, usize)> = None;
    for (i, line) in src.lines().enumerate() {
        let n = i + 1;
        if let Some((block, start)) = open {
            if let (Block::Shell, Some(last)) = (block, shells.last_mut()) {
                last.text.push('\n');
                last.text.push_str(line.split('`').next().unwrap_or(""));
            }
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
            // Its time still counts: the next relative time starts there.
            let time = code[..at].trim();
            if !time.is_empty() {
                out.push_str(&format!("{time} {SKIP_CALL}() = 0"));
            }
            out.push('\n');
            continue;
        }
        if code.matches('`').count() == 1 {
            open = Some((Block::Shell, n));
            shells.push(Shell {
                line: n,
                text: code.split('`').nth(1).unwrap_or("").to_string(),
                time: shell_time(code),
            });
            out.push('\n');
            continue;
        }
        if code.contains('`') {
            let text = code.split('`').nth(1).unwrap_or("");
            shells.push(Shell {
                line: n,
                text: text.to_string(),
                time: shell_time(code),
            });
            let cmd = text.trim().chars().take(60).collect::<String>();
            notes.push(format!("line {n}: shell command skipped: {cmd}"));
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, notes, shells)
}

/// The event time before a shell command's backtick, if any.
fn shell_time(code: &str) -> Option<String> {
    let before = code.split('`').next().unwrap_or("").trim();
    (!before.is_empty()).then(|| before.to_string())
}

/// The Linux sysctls (`net.ipv4.NAME`, as `(NAME, value)`) a shell command
/// sets: `sysctl [-q|-w] net.ipv4.NAME=VALUE ...`, packetdrill's
/// `set_sysctls.py /proc/sys/net/ipv4/NAME=VALUE ...`, and the `sysctl` lines
/// of a `*.sh` script the command runs (read, never run, relative to `dir`).
/// Quotes are removed and `$((a*b))` products computed, as the shell would.
pub fn sysctls(command: &str, dir: Option<&std::path::Path>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for word in shell_words(&command.replace("\\\n", " ")) {
        let setting = word
            .strip_prefix("net.ipv4.")
            .or_else(|| word.strip_prefix("/proc/sys/net/ipv4/"));
        if let Some((name, value)) = setting.and_then(|s| s.split_once('=')) {
            out.push((name.to_string(), value.to_string()));
        } else if word.ends_with(".sh") {
            if let Some(text) = dir.and_then(|d| std::fs::read_to_string(d.join(&word)).ok()) {
                for line in text
                    .lines()
                    .filter(|l| l.trim_start().starts_with("sysctl"))
                {
                    out.extend(sysctls(line, None));
                }
            }
        }
    }
    out
}

/// Splits a command into words as a shell would for plain words and quotes;
/// `$((...))` products of integers are computed.
fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars().peekable();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (_, '$') if chars.peek() == Some(&'(') => {
                let mut expr = String::new();
                let mut depth = 0;
                for c in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => expr.push(c),
                    }
                }
                let product = expr
                    .split('*')
                    .map(|f| f.trim().parse::<u64>().ok())
                    .try_fold(1u64, |acc, f| f.map(|f| acc.saturating_mul(f)));
                cur.push_str(&product.map_or(expr, |p| p.to_string()));
                in_word = true;
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// packetdrill's `-D NAME=VALUE`: every whole-word `NAME` in `src` becomes
/// `VALUE` (a name without a value is only defined, for `#ifdef`).
pub fn substitute(src: &str, defines: &[String]) -> String {
    let mut out = src.to_string();
    for (name, value) in defines.iter().filter_map(|d| d.split_once('=')) {
        if name.is_empty() || !out.contains(name) {
            continue;
        }
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut replaced = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(name) {
            let before = rest[..at].chars().next_back();
            let after = rest[at + name.len()..].chars().next();
            replaced.push_str(&rest[..at]);
            if before.is_some_and(word) || after.is_some_and(word) {
                replaced.push_str(name);
            } else {
                replaced.push_str(value);
            }
            rest = &rest[at + name.len()..];
        }
        replaced.push_str(rest);
        out = replaced;
    }
    out
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
                let defined = defines.iter().any(|x| x.split('=').next() == Some(name));
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
        let (out, notes, shells) = prepare(src);
        assert_eq!(shells.len(), 2);
        assert_eq!(shells[1].line, 8);
        assert_eq!(shells[1].text, "tc qdisc add dev tun0\nroot fq");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[7..9], ["", ""]);
        assert_eq!(lines[0], "");
        assert!(lines[1].contains("socket("));
        // A timed python block keeps its time, as a call that does nothing.
        assert_eq!(lines[2..6], ["+0 __skip() = 0", "+0 __skip() = 0", "", ""]);
        assert!(lines[6].contains("close(3)"));
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(notes[0].contains("sysctl -w x=1"));
        assert_eq!("freebsd".parse::<Compat>(), Ok(Compat::FreeBsd));
        assert!("bsd".parse::<Compat>().is_err());
    }

    #[test]
    fn defines_with_values_are_substituted() {
        let d = ["TFO_COOKIE=abcd".to_string(), "X".to_string()];
        assert_eq!(
            substitute("<FO TFO_COOKIE,nop> TFO_COOKIEX", &d),
            "<FO abcd,nop> TFO_COOKIEX"
        );
        assert_eq!(
            conditionals("#ifdef TFO_COOKIE\na\n#endif\n", &d).unwrap(),
            "\na\n\n"
        );
    }

    #[test]
    fn sysctls_are_read_from_commands() {
        let cmd = "../../common/defaults.sh\n ../common/set_sysctls.py \\\n \
                   /proc/sys/net/ipv4/tcp_wmem=\"4096 50000 4194304\" \
                   /proc/sys/net/ipv4/tcp_fastopen=0x202";
        assert_eq!(
            sysctls(cmd, None),
            [
                ("tcp_wmem".to_string(), "4096 50000 4194304".to_string()),
                ("tcp_fastopen".to_string(), "0x202".to_string())
            ]
        );
        assert_eq!(
            sysctls(
                "sysctl -q net.ipv4.tcp_rmem=\"4096 540000 $((15*1024*1024))\"",
                None
            ),
            [("tcp_rmem".to_string(), "4096 540000 15728640".to_string())]
        );
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
