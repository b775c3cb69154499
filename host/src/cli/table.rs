//! Plain aligned text tables for the terminal (no colours: CI logs and
//! `less` show them as they are).

/// Render rows under headers, columns padded to their widest cell.
pub fn render(indent: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
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
}
