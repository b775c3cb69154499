//! Plain aligned text tables for the terminal (no colours: CI logs and
//! `less` show them as they are).

/// The widest a cell is shown: text from a file may be any length (a
/// 70,000-character `model`), and a table must stay a table.
pub const MAX_CELL: usize = 200;

/// Render rows under headers, columns padded to their widest cell. Cells
/// are cut to [`MAX_CELL`] characters and made safe for a terminal
/// (`text::terminal_safe`).
pub fn render(indent: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| {
                    super::text::terminal_safe(&super::text::cut(cell, MAX_CELL)).into_owned()
                })
                .collect()
        })
        .collect();
    let rows = &rows;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::from(indent);
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_columns() {
        let t = super::render(
            "  ",
            &["NAME", "KIND"],
            &[
                vec!["relays".into(), "sim".into()],
                vec!["x".into(), "serial-relay".into()],
            ],
        );
        assert_eq!(t, "  NAME    KIND\n  relays  sim\n  x       serial-relay\n");
    }

    /// A cell of 65,536 characters or more used to panic the formatter
    /// ("Formatting argument out of range"): it is cut.
    #[test]
    fn huge_cells_are_cut_not_fatal() {
        let huge = "m".repeat(70_000);
        let t = super::render("", &["MODEL", "X"], &[vec![huge, "y".into()]]);
        assert!(t.lines().all(|l| l.chars().count() < 300), "{}", t.len());
        assert!(t.contains("more characters"));
    }
}
