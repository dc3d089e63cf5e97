//! Go's `time.ParseDuration`, which HEALTHCHECK durations go through.

use crate::util::go_quote;
use std::time::Duration;

fn invalid(orig: &str) -> String {
    format!("time: invalid duration {}", go_quote(orig))
}

/// Parses a Go duration string. Negative values are returned as `Err` only by the
/// caller's minimum check; here they come back as `(true, magnitude)`.
pub(crate) fn parse_go_duration(orig: &str) -> Result<(bool, Duration), String> {
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next().filter(|c| *c == '-' || *c == '+') {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok((false, Duration::ZERO));
    }
    if s.is_empty() {
        return Err(invalid(orig));
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid(orig));
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int: u128 = if int_len == 0 {
            0
        } else {
            s[..int_len].parse().map_err(|_| invalid(orig))?
        };
        s = &s[int_len..];
        let mut frac = 0u128;
        let mut scale = 1u128;
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            for b in rest[..frac_len].bytes().take(18) {
                frac = frac * 10 + u128::from(b - b'0');
                scale *= 10;
            }
            s = &rest[frac_len..];
            if int_len == 0 && frac_len == 0 {
                return Err(invalid(orig));
            }
        } else if int_len == 0 {
            return Err(invalid(orig));
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(orig)
                ));
            }
        };
        total = int
            .checked_mul(nanos)
            .and_then(|v| v.checked_add(frac * nanos / scale))
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| invalid(orig))?;
        if total > i64::MAX as u128 + u128::from(neg) {
            return Err(invalid(orig));
        }
    }
    let secs = (total / 1_000_000_000) as u64;
    let sub = (total % 1_000_000_000) as u32;
    Ok((neg && total > 0, Duration::new(secs, sub)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("5s").unwrap(),
            (false, Duration::from_secs(5))
        );
        assert_eq!(
            parse_go_duration("1m30s").unwrap().1,
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_go_duration("1.5h").unwrap().1,
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("300ms").unwrap().1,
            Duration::from_millis(300)
        );
        assert_eq!(parse_go_duration("0").unwrap().1, Duration::ZERO);
        assert_eq!(
            parse_go_duration("-2s").unwrap(),
            (true, Duration::from_secs(2))
        );
        assert_eq!(
            parse_go_duration(".5s").unwrap().1,
            Duration::from_millis(500)
        );
    }

    #[test]
    fn go_duration_errors() {
        assert_eq!(
            parse_go_duration("1x").unwrap_err(),
            r#"time: unknown unit "x" in duration "1x""#
        );
        assert_eq!(
            parse_go_duration("5").unwrap_err(),
            r#"time: missing unit in duration "5""#
        );
        assert_eq!(
            parse_go_duration("abc").unwrap_err(),
            r#"time: invalid duration "abc""#
        );
        assert_eq!(
            parse_go_duration("").unwrap_err(),
            r#"time: invalid duration """#
        );
        assert_eq!(
            parse_go_duration(".s").unwrap_err(),
            r#"time: invalid duration ".s""#
        );
    }
}
