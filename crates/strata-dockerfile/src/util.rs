//! Small helpers that reproduce Go standard-library behaviour the reference implementation
//! relies on (quoting, whitespace classes, text/scanner's BOM handling).

/// Go's `unicode.IsSpace`: the Unicode White_Space property, which Rust's
/// `char::is_whitespace` implements as well.
pub(crate) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `unicode.IsLetter` (general category L). Rust's Alphabetic property is a close
/// superset; the two agree on ASCII and on the scripts Dockerfiles use in practice.
pub(crate) fn is_go_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// Go's `unicode.IsDigit` (general category Nd), approximated for non-ASCII characters.
pub(crate) fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// The characters of `s` as Go's `text/scanner` yields them: a byte-order mark at the very
/// start is skipped.
pub(crate) fn scanner_chars(s: &str) -> Vec<char> {
    let s = s.strip_prefix('\u{FEFF}').unwrap_or(s);
    s.chars().collect()
}

/// Go's `strconv.Quote` (also what `%q` prints for a string).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII
/// space. Approximated without general-category tables: controls, non-ASCII spaces,
/// format characters, private use and noncharacters are not printable.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format_or_private = matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF | 0xE0000..=0xE007F);
    let noncharacter = (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE;
    !(format_or_private || noncharacter)
}

/// Levenshtein distance, used for "did you mean" suggestions.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// BuildKit's `suggest.WrapError`: the closest option (distance < 3) to append as
/// " (did you mean X?)", in the case style of `value` when matching case-insensitively.
pub(crate) fn suggest(value: &str, options: &[&str], case_sensitive: bool) -> Option<String> {
    let val = if case_sensitive {
        value.to_string()
    } else {
        value.to_lowercase()
    };
    let mut best: Option<String> = None;
    let mut min = 3;
    for opt in options {
        let opt = if case_sensitive {
            opt.to_string()
        } else {
            opt.to_lowercase()
        };
        if opt == val {
            return None;
        }
        let d = levenshtein(&val, &opt);
        if d < min {
            min = d;
            best = Some(if case_sensitive {
                opt
            } else if value == value.to_lowercase() {
                opt.to_lowercase()
            } else if value == value.to_uppercase() {
                opt.to_uppercase()
            } else {
                opt
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{0}"), r#""\x00""#);
        assert_eq!(go_quote("♥☃한"), "\"♥☃한\"");
        assert_eq!(go_quote("\t\n"), r#""\t\n""#);
        assert_eq!(go_quote("\u{a0}"), r#""\u00a0""#);
    }

    #[test]
    fn suggestion_follows_case() {
        assert_eq!(
            suggest("FORM", &["FROM", "RUN"], false).as_deref(),
            Some("FROM")
        );
        assert_eq!(
            suggest("form", &["FROM", "RUN"], false).as_deref(),
            Some("from")
        );
        assert_eq!(suggest("xyzzy", &["FROM", "RUN"], false), None);
        assert_eq!(suggest("run", &["FROM", "RUN"], false), None);
    }
}
