//! Text from a recording into XML and HTML documents (the JUnit file, the
//! report's SVG and HTML): one escaping rule for both, so a DUT, phase or
//! DNS name shows the same wherever it lands.
//!
//! Every piece of text that came from a run directory is input: a phase
//! named `<script>` must show as text, and a control character in a
//! corrupted name must not make the whole document unreadable (XML 1.0
//! forbids C0 controls other than tab, line feed and carriage return, and
//! the non-characters U+FFFE and U+FFFF).

/// Escape `text` for element content and for attribute values in double or
/// single quotes. `'` becomes `&#39;` (read alike by XML and every HTML);
/// a forbidden control character becomes U+FFFD, so that something visibly
/// stood there.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_forbidden_controls_do_not_survive() {
        assert_eq!(
            escape("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(
            escape("a\u{0}b\nc\r\td\u{1b}"),
            "a\u{FFFD}b\nc\r\td\u{FFFD}"
        );
        // What XML allows passes as it is.
        assert_eq!(
            escape("phone-b · LTE B3 ↑ 1747.5 MHz"),
            "phone-b · LTE B3 ↑ 1747.5 MHz"
        );
    }
}
