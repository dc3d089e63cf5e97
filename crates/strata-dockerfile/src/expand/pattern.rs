//! Shell patterns in `${VAR#pat}`, `${VAR%pat}` and `${VAR/pat/repl}`: `*` and `?`
//! wildcards turned into a regular expression the way BuildKit does (no bracket
//! expressions), so leftmost-first matching gives the same results.

use crate::util::scanner_chars;
use regex::Regex;

type Res<T> = Result<T, String>;

/// BuildKit's `convertShellPatternToRegex`.
fn shell_pattern_to_regex(pattern: &str, greedy: bool, anchored: bool) -> Res<Regex> {
    let chars = scanner_chars(pattern);
    let mut out = String::with_capacity(pattern.len() + 4);
    if anchored {
        out.push('^');
    }
    let star = if greedy { ".*" } else { ".*?" };
    let mut i = 0;
    while i < chars.len() {
        let mut tok = chars[i];
        i += 1;
        match tok {
            '*' => {
                out.push_str(star);
                continue;
            }
            '?' => {
                out.push('.');
                continue;
            }
            '\\' => {
                // `\}` and `\/` only protect the ${} syntax; the escape is not part of
                // the pattern.
                if matches!(chars.get(i), Some('}' | '/')) {
                    continue;
                }
                out.push('\\');
                let next = chars.get(i).copied();
                i += 1;
                match next {
                    Some(c @ ('*' | '?' | '\\')) => tok = c,
                    other => {
                        return Err(format!(
                            "invalid escape '\\{}'",
                            other.unwrap_or('\u{FFFD}')
                        ));
                    }
                }
            }
            '[' | ']' | '{' | '}' | '.' | '+' | '(' | ')' | '|' | '^' | '$' => out.push('\\'),
            _ => {}
        }
        out.push(tok);
    }
    Regex::new(&out).map_err(|e| e.to_string())
}

fn invalid(pattern: &str, err: String) -> String {
    format!("invalid pattern ({pattern}) in substitution: {err}")
}

/// `${VAR#pattern}` / `${VAR##pattern}`.
pub(super) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Res<String> {
    let re = shell_pattern_to_regex(pattern, greedy, true).map_err(|e| invalid(pattern, e))?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_string(),
        None => value.to_string(),
    })
}

/// Reverses a pattern keeping `\x` escapes in order (`a\*c` becomes `c\*a`).
fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = vec!['\0'; chars.len()];
    let last = chars.len().saturating_sub(1);
    let mut i = 0;
    while i < chars.len() {
        let out_idx = last - i;
        if chars[i] == '\\' && i != last {
            out[out_idx - 1] = '\\';
            out[out_idx] = chars[i + 1];
            i += 2;
        } else {
            out[out_idx] = chars[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

/// `${VAR%pattern}` / `${VAR%%pattern}`: both sides reversed so a leftmost search finds
/// the shortest or longest suffix.
pub(super) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Res<String> {
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reverse(value), greedy)?;
    Ok(reverse(&trimmed))
}

/// `${VAR/pattern/replacement}` (first match, literal replacement) and
/// `${VAR//pattern/replacement}` (every match, Go regexp template expansion).
pub(super) fn replace_pattern(
    pattern: &str,
    replacement: &str,
    value: &str,
    all: bool,
) -> Res<String> {
    let re = shell_pattern_to_regex(pattern, true, false).map_err(|e| invalid(pattern, e))?;
    if all {
        return Ok(re.replace_all(value, replacement).into_owned());
    }
    Ok(match re.find(value) {
        Some(m) => format!(
            "{}{}{}",
            &value[..m.start()],
            replacement,
            &value[m.end()..]
        ),
        None => value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_suffix_trimming() {
        assert_eq!(trim_prefix("*/", "a/b/c", false).unwrap(), "b/c");
        assert_eq!(trim_prefix("*/", "a/b/c", true).unwrap(), "c");
        assert_eq!(trim_suffix("/*", "a/b/c", false).unwrap(), "a/b");
        assert_eq!(trim_suffix("/*", "a/b/c", true).unwrap(), "a");
        assert_eq!(trim_prefix("x", "abc", false).unwrap(), "abc");
        assert_eq!(trim_prefix("a?", "abc", false).unwrap(), "c");
        assert_eq!(trim_suffix(r"\*", "ab*", false).unwrap(), "ab");
    }

    #[test]
    fn replacement() {
        assert_eq!(replace_pattern("o", "0", "foo", false).unwrap(), "f0o");
        assert_eq!(replace_pattern("o", "0", "foo", true).unwrap(), "f00");
        assert_eq!(replace_pattern("*.", "", "a.b.c", false).unwrap(), "c");
    }

    #[test]
    fn bad_escape_is_an_error() {
        let err = trim_prefix(r"\a", "abc", false).unwrap_err();
        assert_eq!(
            err,
            r"invalid pattern (\a) in substitution: invalid escape '\a'"
        );
    }

    #[test]
    fn reversed_pattern_keeps_escapes() {
        assert_eq!(reverse_pattern(r"a\*c"), r"c\*a");
    }
}
