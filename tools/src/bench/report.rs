//! Plain-text tables for the benchmark's results.

use super::Transfer;

/// A measurement cell: a transfer, or why there is none.
pub type Cell = Result<Transfer, String>;

/// Formats a cell as Gbit/s with two decimals, or `failed`.
pub fn gbps(c: &Cell) -> String {
    match c {
        Ok(t) => format!("{:.2}", t.gbps()),
        Err(_) => "failed".into(),
    }
}

/// `a / b` as `1.23x`, or `-` when either is missing.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// The better (faster) of several cells, with its label.
pub fn best<'a, L: Copy>(cells: impl IntoIterator<Item = (L, &'a Cell)>) -> Option<(L, f64)> {
    cells
        .into_iter()
        .filter_map(|(l, c)| c.as_ref().ok().map(|t| (l, t.gbps())))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// A table with a header row; every column is left-aligned and padded to its widest
/// cell.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(header: &[&str]) -> Table {
        Table {
            rows: vec![header.iter().map(|s| s.to_string()).collect()],
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table, each line indented by two spaces.
    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (n, row) in self.rows.iter().enumerate() {
            let mut line = String::from("  ");
            for (i, cell) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if n == 0 {
                let total: usize = widths.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
                out.push_str(&format!("  {}\n", "-".repeat(total)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["a", "bbb"]);
        t.row(vec!["long".into(), "x".into()]);
        assert_eq!(t.render(), "  a     bbb\n  ---------\n  long  x\n");
    }

    #[test]
    fn best_and_ratio() {
        let fast: Cell = Ok(Transfer {
            bytes: 250_000_000,
            elapsed: Duration::from_secs(1),
        });
        let slow: Cell = Ok(Transfer {
            bytes: 125_000_000,
            elapsed: Duration::from_secs(1),
        });
        let bad: Cell = Err("x".into());
        let b = best([(1, &slow), (2, &fast), (3, &bad)]).unwrap();
        assert_eq!(b.0, 2);
        assert_eq!(ratio(Some(b.1), Some(1.0)), "2.00x");
        assert_eq!(ratio(None, Some(1.0)), "-");
        assert_eq!(gbps(&bad), "failed");
    }
}
