//! Durations as lab people write them: `250ms`, `3s`, `1.5s`, `90s`, `15m`,
//! `1h30m`. A bare number is refused: "3" could be seconds or minutes, and a
//! relay held off for 3 minutes instead of 3 seconds is a lost hour.

use std::time::Duration;

/// Parse a duration; the error says what was expected.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. `3s`, `500ms`, `15m`".into());
    }
    if s.contains(char::is_whitespace) {
        return Err(format!(
            "`{text}` has a space in it; write durations without, e.g. `1h30m`"
        ));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "`{text}` is not a duration; write a number and a unit, e.g. `3s`, `500ms`, `15m`"
            ));
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("`{}` in `{text}` is not a number", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let seconds_per_unit = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "`{text}` has no unit; write `{text}s` for seconds (units: ms, s, m, h)"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}` (units: ms, s, m, h)"
                ));
            }
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 366.0 * 86400.0 {
        return Err(format!("`{text}` is longer than a year"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Format a duration the way `parse` reads it back (`3s`, `1m30s`, `250ms`).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    // Under a minute with a fraction of a second: milliseconds or decimal seconds.
    if ms < 60_000 && !ms.is_multiple_of(1000) {
        return if ms < 1000 {
            format!("{ms}ms")
        } else {
            format!("{}s", ms as f64 / 1000.0)
        };
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// Serialize a duration as seconds (f64), for `--json` output.
pub mod serde_secs {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// `Option<Duration>` as seconds or null.
pub mod serde_secs_opt {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lab_durations() {
        assert_eq!(parse("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 90s "), Ok(Duration::from_secs(90)));
    }

    #[test]
    fn refuses_ambiguous_or_broken_durations() {
        assert!(parse("3").unwrap_err().contains("has no unit"));
        assert!(parse("3 s").unwrap_err().contains("has a space"));
        assert!(parse("3sec").unwrap_err().contains("unknown unit `sec`"));
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("s").unwrap_err().contains("not a duration"));
        assert!(parse("1..2s").unwrap_err().contains("not a number"));
        assert!(
            parse("9999999h")
                .unwrap_err()
                .contains("longer than a year")
        );
    }

    #[test]
    fn formats_round_trip() {
        for text in ["3s", "250ms", "1.5s", "15m", "1h30m", "2h", "1m5s"] {
            let d = parse(text).expect("valid");
            assert_eq!(format(d), text);
            assert_eq!(parse(&format(d)), Ok(d));
        }
    }
}
