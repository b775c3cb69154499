//! Writing SVG and HTML text by hand: escaping, and a few shape helpers.
//!
//! Why by hand rather than a plotting crate: the report needs stacked
//! traces, shaded phases and anchors a table can link to, all in one
//! self-contained file; a few string helpers do that with no dependency
//! and no surprises in what ends up in the page. Every piece of text that
//! came from a recording (DUT names, band names, DNS names, fault details)
//! goes through [`escape`] (`crate::xml`): a run directory is input, and a phase named
//! `<script>` must show as text, not run.

use std::fmt::Write;

/// Text from the recording, escaped (`crate::xml`: one rule with JUnit).
pub use benchctl_detect::xml::escape;

/// A string usable as an HTML id and URL fragment, one to one: ASCII
/// letters, digits and `-` kept, every other byte of the UTF-8 as `_` and
/// two hex digits. One to one, so `phone.a` and `phone-a` (`phone_2ea`,
/// `phone-a`) never share an anchor.
pub fn id(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "_{b:02x}");
        }
    }
    out
}

/// A number for a coordinate: two decimals are finer than a pixel and keep
/// the file small.
pub fn num(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.into() }
    } else {
        "0".into()
    }
}

/// An SVG document being written.
#[derive(Debug)]
pub struct Svg {
    out: String,
}

impl Svg {
    /// Start an `<svg>` of `width` x `height` pixels with `class` and an
    /// accessible `title`.
    pub fn new(width: f64, height: f64, class: &str, title: &str) -> Self {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="{}" width="{}" height="{}" viewBox="0 0 {} {}" role="img"><title>{}</title>"#,
            escape(class),
            num(width),
            num(height),
            num(width),
            num(height),
            escape(title)
        );
        Svg { out }
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str) {
        let _ = write!(
            self.out,
            r#"<rect class="{}" x="{}" y="{}" width="{}" height="{}"/>"#,
            escape(class),
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        );
    }

    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(
            self.out,
            r#"<line class="{}" x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
            escape(class),
            num(x1),
            num(y1),
            num(x2),
            num(y2)
        );
    }

    /// Text at (x, y); `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, text: &str) {
        let _ = write!(
            self.out,
            r#"<text class="{}" x="{}" y="{}" text-anchor="{}">{}</text>"#,
            escape(class),
            num(x),
            num(y),
            escape(anchor),
            escape(text)
        );
    }

    /// A path with data `d` (built from numbers only, so not escaped).
    pub fn path(&mut self, d: &str, class: &str) {
        if d.is_empty() {
            return;
        }
        let _ = write!(self.out, r#"<path class="{}" d="{}"/>"#, escape(class), d);
    }

    /// Open a group; `id` (if any) makes it a link target.
    pub fn group(&mut self, id_: Option<&str>, class: &str, tooltip: Option<&str>) {
        match id_ {
            Some(i) => {
                let _ = write!(
                    self.out,
                    r#"<g id="{}" class="{}">"#,
                    escape(i),
                    escape(class)
                );
            }
            None => {
                let _ = write!(self.out, r#"<g class="{}">"#, escape(class));
            }
        }
        if let Some(t) = tooltip {
            let _ = write!(self.out, "<title>{}</title>", escape(t));
        }
    }

    pub fn end_group(&mut self) {
        self.out.push_str("</g>");
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_recording_cannot_break_out() {
        // The escaping itself is tested in `crate::xml`; here, that every
        // piece of recording text in a figure goes through it.
        let mut svg = Svg::new(10.0, 10.0, "x\"><b", "<t>");
        svg.text(1.0, 2.0, "start", "label", "phase \"<airplane>\"");
        let out = svg.finish();
        assert!(!out.contains("<b"));
        assert!(!out.contains("<t>"));
        assert!(out.contains("phase &quot;&lt;airplane&gt;&quot;"));
    }

    #[test]
    fn ids_are_safe_fragments() {
        assert_eq!(id("phone-b 1/<x>"), "phone-b_201_2f_3cx_3e");
        assert_eq!(id("phone.a"), "phone_2ea");
        assert_eq!(id("phone_2ea"), "phone_5f2ea");
        assert_eq!(id("é"), "_c3_a9");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(1.256), "1.26");
        assert_eq!(num(f64::NAN), "0");
    }
}
