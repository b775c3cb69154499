//! Config errors that say where (`file:line:col`), what is wrong and, where we
//! can tell, what would be right.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column (in characters) of the offending text; 0 when
    /// the problem has no place in the file (e.g. it could not be read).
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.col,
                self.message
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in one file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Collects errors against one source text, turning byte spans into places.
#[derive(Debug)]
pub struct Diagnostics<'a> {
    path: &'a Path,
    source: &'a str,
    errors: Vec<(usize, ConfigError)>,
    /// Built on the first place asked for: a scenario places every step.
    lines: std::cell::OnceCell<LineIndex>,
}

impl<'a> Diagnostics<'a> {
    pub fn new(path: &'a Path, source: &'a str) -> Self {
        Diagnostics {
            path,
            source,
            errors: Vec::new(),
            lines: std::cell::OnceCell::new(),
        }
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    pub fn error_with_help(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(help.into()));
    }

    fn push(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        let (line, col) = self.place(span.start);
        self.errors.push((
            span.start,
            ConfigError {
                path: self.path.to_path_buf(),
                line,
                col,
                message,
                help,
            },
        ));
    }

    /// Line and column of a byte offset in the source.
    pub fn place(&self, offset: usize) -> (usize, usize) {
        self.lines
            .get_or_init(|| LineIndex::new(self.source))
            .place(self.source, offset)
    }

    pub fn finish(mut self) -> Result<(), ConfigErrors> {
        if self.errors.is_empty() {
            return Ok(());
        }
        self.errors.sort_by_key(|(offset, _)| *offset);
        // Steps shared by several DUTs are checked once per DUT: the same
        // mistake at the same place is one error, said once.
        let mut kept: Vec<(usize, ConfigError)> = Vec::with_capacity(self.errors.len());
        for (at, e) in self.errors {
            // Sorted by place: only errors at the same place can repeat it.
            let same_place = kept.iter().rev().take_while(|(a, _)| *a == at);
            if !same_place.clone().any(|(_, k)| *k == e) {
                kept.push((at, e));
            }
        }
        Err(ConfigErrors(kept.into_iter().map(|(_, e)| e).collect()))
    }
}

/// Where each line of a source starts, so that placing an offset costs a
/// binary search rather than a scan from the start of the file (a
/// scenario of 200,000 steps placed each step in quadratic time).
#[derive(Debug)]
struct LineIndex {
    /// Byte offset of each line's first byte, and whether the line is all
    /// ASCII (then its column is its byte offset: no counting).
    starts: Vec<(usize, bool)>,
}

impl LineIndex {
    fn new(source: &str) -> Self {
        let mut starts = Vec::new();
        let mut start = 0;
        for line in source.split_inclusive('\n') {
            starts.push((start, line.is_ascii()));
            start += line.len();
        }
        if starts.is_empty() || source.ends_with('\n') {
            starts.push((start, true));
        }
        LineIndex { starts }
    }

    /// 1-based line and character column of a byte offset.
    fn place(&self, source: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(source.len());
        let line = self.starts.partition_point(|&(start, _)| start <= offset);
        let (start, ascii) = self.starts[line.max(1) - 1];
        let col = if ascii {
            offset - start
        } else {
            source
                .get(start..offset)
                .map_or(offset - start, |s| s.chars().count())
        };
        (line.max(1), col + 1)
    }
}

/// 1-based line and character column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The known name closest to `wrong`, if it is close enough to be a typo.
pub fn did_you_mean<'k>(wrong: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(wrong, k), k))
        .filter(|(dist, k)| *dist <= 2.max(k.len() / 3))
        // On a tie, a name the typo is the start of: `power.of` is more
        // likely a short `power.off` than a mistyped `power.on`.
        .min_by_key(|(dist, k)| (*dist, !k.starts_with(wrong)))
        .map(|(_, k)| k)
}

/// Add a "did you mean" to serde's unknown-field and unknown-variant messages,
/// which have a fixed shape: "unknown field `x`, expected one of `a`, `b`".
pub fn explain_serde_message(message: &str) -> (String, Option<String>) {
    for (prefix, what) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        let Some(rest) = message.strip_prefix(prefix) else {
            continue;
        };
        let Some((wrong, expected)) = rest.split_once('`') else {
            break;
        };
        // toml's value deserializer appends "\nin `kind`": not a choice.
        let expected = expected.lines().next().unwrap_or(expected);
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let list = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match did_you_mean(wrong, known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`? (valid: {list})"),
            None if known.is_empty() => "this table takes no keys".to_string(),
            None => format!("valid: {list}"),
        };
        return (format!("unknown {what} `{wrong}`"), Some(help));
    }
    (message.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_one_based_characters() {
        let src = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_col(src, 10), (2, 4));
    }

    #[test]
    fn the_line_index_places_as_a_scan_does() {
        for src in [
            "",
            "\n",
            "\n\n",
            "a",
            "a = 1\nbé = \"x\"\n",
            "x\r\ny\n  é\u{1F600}z",
            "é",
        ] {
            let index = LineIndex::new(src);
            for (offset, _) in src.char_indices().chain([(src.len(), ' ')]) {
                assert_eq!(
                    index.place(src, offset),
                    line_col(src, offset),
                    "{src:?} at {offset}"
                );
            }
            assert_eq!(
                index.place(src, src.len() + 5),
                line_col(src, src.len() + 5)
            );
        }
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("chanels", ["channels", "kind"]),
            Some("channels")
        );
        assert_eq!(
            did_you_mean("phone-c", ["phone-a", "phone-b"]),
            Some("phone-a")
        );
        assert_eq!(did_you_mean("zzz", ["channels", "kind"]), None);
    }

    #[test]
    fn explains_serde_unknown_field() {
        let (msg, help) =
            explain_serde_message("unknown field `chanels`, expected one of `kind`, `channels`");
        assert_eq!(msg, "unknown key `chanels`");
        assert_eq!(
            help.as_deref(),
            Some("did you mean `channels`? (valid: `kind`, `channels`)")
        );
        let (msg, help) = explain_serde_message("invalid type: integer `3`, expected a string");
        assert_eq!(msg, "invalid type: integer `3`, expected a string");
        assert_eq!(help, None);
    }
}
