//! Docker's human units (go-units): decimal sizes with three significant digits, and the
//! "About an hour" style of durations.

/// go-units `HumanSizeWithPrecision(size, 3)`: what Docker's SIZE columns print.
pub fn human_size(bytes: u64) -> String {
    human_size_with_precision(bytes, 3)
}

/// go-units `HumanSize` (four significant digits), used by Docker's VirtualSize column.
pub fn human_size_precise(bytes: u64) -> String {
    human_size_with_precision(bytes, 4)
}

/// `fmt.Sprintf("%.<precision>g%s", ...)` over powers of 1000, as go-units does.
fn human_size_with_precision(bytes: u64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_format_g(size, precision), UNITS[i])
}

/// Go's `%.Ng`: N significant digits, trailing zeros removed, exponent form when the exponent
/// is below -4 or at least N (so 999.9999 kB prints as `1e+03kB`, as Docker does).
pub fn go_format_g(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let sci = format!("{:.*e}", precision.saturating_sub(1), value);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= precision as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (precision as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{value:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// go-units `HumanDuration`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds;
    if s < 1 {
        return "Less than a second".into();
    }
    if s == 1 {
        return "1 second".into();
    }
    if s < 60 {
        return format!("{s} seconds");
    }
    let minutes = s / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (s as f64 / 3600.0).round() as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", s / 3600 / 24 / 365)
}

/// "N units ago" since a moment, as Docker's CreatedSince columns print it.
pub fn since(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    match t {
        Some(t) => format!(
            "{} ago",
            human_duration((chrono::Utc::now() - t).num_seconds())
        ),
        None => "N/A".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(2_140_160), "2.14MB");
        assert_eq!(human_size(123_456_789), "123MB");
        assert_eq!(human_size(999_999), "1e+03kB");
        assert_eq!(human_size(1_500), "1.5kB");
        assert_eq!(human_size(77_800_000), "77.8MB");
    }

    #[test]
    fn durations_match_go_units() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(3 * 60), "3 minutes");
        assert_eq!(human_duration(3600 + 1200), "About an hour");
        assert_eq!(human_duration(5 * 3600), "5 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(100 * 86400), "3 months");
        assert_eq!(human_duration(800 * 86400), "2 years");
    }
}
