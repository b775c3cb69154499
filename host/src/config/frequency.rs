//! Frequencies as written on datasheets and band plans: `868MHz`,
//! `2.437GHz`, `433920kHz`. The shield works in whole kHz.

/// Parse a frequency into kHz; the error says what was expected.
pub fn parse_khz(text: &str) -> Result<u32, String> {
    let s = text.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(|| {
        format!("`{text}` has no unit; write e.g. `868MHz`, `2.437GHz`, `433920kHz`")
    })?;
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{number}` in `{text}` is not a number"))?;
    let khz_per_unit = match unit {
        "kHz" | "khz" => 1.0,
        "MHz" | "mhz" => 1e3,
        "GHz" | "ghz" => 1e6,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}` (kHz, MHz, GHz)"
            ));
        }
    };
    let khz = value * khz_per_unit;
    if !(khz >= 1.0 && khz <= f64::from(u32::MAX)) {
        return Err(format!("`{text}` is outside 1 kHz to 4 THz"));
    }
    if (khz - khz.round()).abs() > 1e-6 {
        return Err(format!("`{text}` is not a whole number of kHz"));
    }
    Ok(khz.round() as u32)
}

/// Format kHz back for people as band plans write them: `1747.5MHz`,
/// `2437MHz`, `868MHz`, and GHz only for round values (`2.4GHz`).
pub fn format_khz(khz: u32) -> String {
    if khz >= 1_000_000 && khz.is_multiple_of(100_000) {
        format!("{}GHz", f64::from(khz) / 1e6)
    } else if khz >= 1000 {
        format!("{}MHz", f64::from(khz) / 1e3)
    } else {
        format!("{khz}kHz")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_band_plan_frequencies() {
        assert_eq!(parse_khz("868MHz"), Ok(868_000));
        assert_eq!(parse_khz("1747.5MHz"), Ok(1_747_500));
        assert_eq!(parse_khz("2.437GHz"), Ok(2_437_000));
        assert_eq!(parse_khz("433920kHz"), Ok(433_920));
        assert!(parse_khz("868").unwrap_err().contains("no unit"));
        assert!(parse_khz("868Hz").unwrap_err().contains("unknown unit"));
        assert!(
            parse_khz("868.0001MHz")
                .unwrap_err()
                .contains("whole number")
        );
    }

    #[test]
    fn formats_back() {
        for f in [
            "1747.5MHz",
            "868MHz",
            "2437MHz",
            "433.92MHz",
            "2.4GHz",
            "5.8GHz",
        ] {
            assert_eq!(format_khz(parse_khz(f).expect("valid")), f);
        }
        assert_eq!(format_khz(parse_khz("2.437GHz").expect("valid")), "2437MHz");
    }
}
