//! Text from files (bench.toml, scenarios, run directories, captures) as a
//! terminal may show it. A file is input: an escape sequence in a DUT's
//! `model` or a DNS name would move the cursor, retitle the window or hide
//! what follows, and a bidirectional override would show a name other
//! than the one it is. Such characters are written as escapes (`\u{1b}`);
//! newlines and tabs stay. Everything benchctl prints for people passes
//! through here (`Context::print`, the error line, the log's fields, the
//! tables); JSON output escapes control characters by itself.

use std::borrow::Cow;

/// Whether a character must not reach a terminal as it is.
fn unsafe_for_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        // Bidirectional embeddings, overrides and isolates.
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character a terminal would act on escaped.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_for_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_for_terminal(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters of `text`, the cut marked with an ellipsis
/// (and, when much was left out, how much): a table cell or a log line
/// stays readable whatever a file holds.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    let len = text.chars().count();
    if len <= max {
        return Cow::Borrowed(text);
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    let left_out = len - kept.chars().count();
    if left_out < 1000 {
        Cow::Owned(format!("{kept}…"))
    } else {
        Cow::Owned(format!("{kept}… ({left_out} more characters)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_overrides_are_shown_not_obeyed() {
        assert_eq!(
            terminal_safe("phone\u{1b}]0;pwned\u{7}"),
            "phone\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(terminal_safe("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(terminal_safe("line\n\ttab"), "line\n\ttab");
        assert!(matches!(terminal_safe("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal_safe("cr\rhides"), "cr\\u{d}hides");
    }

    #[test]
    fn long_text_is_cut_with_a_count() {
        let long = "x".repeat(70_000);
        let c = cut(&long, 100);
        assert!(c.starts_with(&"x".repeat(99)));
        assert!(c.ends_with("… (69901 more characters)"), "{c}");
        assert_eq!(cut("short", 100), "short");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
