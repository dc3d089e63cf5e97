//! Splitting one logical line into instruction, flags and arguments, and the
//! per-instruction argument parsers (BuildKit's `line_parsers.go`).

use super::json::{JsonError, NOT_STRING_ARRAY, parse_json_array};
use super::{Directives, Node};
use crate::util::is_go_space;

/// What a line parser produced.
#[derive(Default)]
pub(super) struct Parsed {
    pub args: Vec<String>,
    pub json: bool,
    pub child: Option<Box<Node>>,
}

type Res<T> = Result<T, String>;

/// Go's `regexp.MustCompile("[\t\v\f\r ]+").Split(s, limit)` for trimmed input.
pub(super) fn split_ws(s: &str, limit: Option<usize>) -> Vec<String> {
    let is_sep = |c: char| matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ');
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        if limit.is_some_and(|n| out.len() + 1 == n) {
            out.push(rest.to_string());
            return out;
        }
        match rest.find(is_sep) {
            None => {
                out.push(rest.to_string());
                return out;
            }
            Some(start) => {
                out.push(rest[..start].to_string());
                let after = &rest[start..];
                let end = after.find(|c: char| !is_sep(c)).unwrap_or(after.len());
                rest = &after[end..];
                if rest.is_empty() {
                    return out;
                }
            }
        }
    }
}

/// Splits a line into the instruction word, its `--flags` and the remaining arguments.
pub(super) fn split_command(line: &str) -> (String, Vec<String>, String) {
    let trimmed = line.trim_matches(is_go_space);
    let parts = split_ws(trimmed, Some(2));
    let cmd = parts.first().cloned().unwrap_or_default();
    let (args, flags) = match parts.get(1) {
        Some(rest) => extract_builder_flags(rest),
        None => (String::new(), Vec::new()),
    };
    (cmd, flags, args.trim_matches(is_go_space).to_string())
}

/// Leading words starting with `--` are flags (quotes and `\` are processed inside
/// them); a bare `--` ends the flags.
fn extract_builder_flags(line: &str) -> (String, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let ch = chars.get(pos).map(|c| c.1).unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_go_space(ch) {
                pos += 1;
                continue;
            }
            let next_is_dash = chars.get(pos + 1).is_some_and(|c| c.1 == '-');
            if ch != '-' || !next_is_dash {
                return (line[chars[pos].0..].to_string(), words);
            }
            phase = Phase::Word;
        }
        if at_end {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if is_go_space(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (line[chars[pos].0..].to_string(), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut ch = ch;
            if ch == '\\' {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = chars[pos].1;
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut ch = ch;
        if ch == '\\' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = chars[pos].1;
        }
        word.push(ch);
        pos += 1;
    }
    (String::new(), words)
}

/// Splits on whitespace keeping quotes and escapes in the words (they are removed later,
/// at expansion).
pub(super) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut word = String::new();
    let mut pos = 0;
    while pos <= chars.len() {
        let at_end = pos == chars.len();
        let mut ch = chars.get(pos).copied().unwrap_or('\0');
        if phase == Phase::Spaces {
            if at_end {
                break;
            }
            if is_go_space(ch) {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if at_end {
            if blank_ok || !word.is_empty() {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if is_go_space(ch) {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == chars.len() {
                    pos += 1;
                    continue; // an escape at the very end is dropped
                }
                // Unquoted: keep the escape and the escaped character, even a quote.
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == chars.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

/// ENV and LABEL: `KEY=VALUE ...` or the legacy `KEY VALUE`; arguments are
/// (key, value, separator) triples, the separator "" for the legacy form.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Res<Parsed> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok(Parsed::default());
    }
    if !words[0].contains('=') {
        let parts = split_ws(rest, Some(2));
        if parts.len() < 2 {
            return Err(format!("{key} must have two arguments"));
        }
        return Ok(Parsed {
            args: vec![parts[0].clone(), parts[1].clone(), String::new()],
            ..Parsed::default()
        });
    }
    let mut args = Vec::new();
    for word in words {
        let Some((k, v)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                crate::util::go_quote(&word)
            ));
        };
        args.extend([k.to_string(), v.to_string(), "=".to_string()]);
    }
    Ok(Parsed {
        args,
        ..Parsed::default()
    })
}

fn parse_maybe_json(rest: &str) -> Res<Parsed> {
    if rest.is_empty() {
        return Ok(Parsed::default());
    }
    match parse_json_array(rest) {
        Ok(args) => Ok(Parsed {
            args,
            json: true,
            child: None,
        }),
        Err(JsonError::NotStringArray) => Err(NOT_STRING_ARRAY.into()),
        Err(JsonError::Syntax) => Ok(Parsed {
            args: vec![rest.to_string()],
            ..Parsed::default()
        }),
    }
}

fn parse_maybe_json_to_list(rest: &str) -> Res<Parsed> {
    match parse_json_array(rest) {
        Ok(args) => Ok(Parsed {
            args,
            json: true,
            child: None,
        }),
        Err(JsonError::NotStringArray) => Err(NOT_STRING_ARRAY.into()),
        Err(JsonError::Syntax) => Ok(strings_whitespace_delimited(rest)),
    }
}

fn strings_whitespace_delimited(rest: &str) -> Parsed {
    if rest.is_empty() {
        return Parsed::default();
    }
    Parsed {
        args: split_ws(rest, None),
        ..Parsed::default()
    }
}

fn parse_health_config(rest: &str) -> Res<Parsed> {
    let sep = rest.find(is_go_space).unwrap_or(rest.len());
    if sep == 0 {
        return Ok(Parsed::default());
    }
    let after = &rest[sep..];
    let next = after
        .find(|c: char| !is_go_space(c))
        .map_or(rest.len(), |i| sep + i);
    let mut cmd = parse_maybe_json(&rest[next..])?;
    cmd.args.insert(0, rest[..sep].to_string());
    Ok(cmd)
}

/// Dispatches the argument text of instruction `cmd` (lower-cased) to its parser.
pub(super) fn parse_args(cmd: &str, rest: &str, d: &Directives) -> Res<Parsed> {
    match cmd {
        "add" | "copy" | "volume" => parse_maybe_json_to_list(rest),
        "arg" => Ok(Parsed {
            args: parse_words(rest, d.escape),
            ..Parsed::default()
        }),
        "cmd" | "entrypoint" | "run" | "shell" => parse_maybe_json(rest),
        "env" => parse_name_val(rest, "ENV", d.escape),
        "label" => parse_name_val(rest, "LABEL", d.escape),
        "expose" | "from" => Ok(strings_whitespace_delimited(rest)),
        "healthcheck" => parse_health_config(rest),
        "maintainer" | "stopsignal" | "user" | "workdir" => Ok(Parsed {
            args: if rest.is_empty() {
                vec![]
            } else {
                vec![rest.to_string()]
            },
            ..Parsed::default()
        }),
        "onbuild" => {
            if rest.is_empty() {
                return Ok(Parsed::default());
            }
            let child = super::node_from_line(rest, d, Vec::new())?;
            Ok(Parsed {
                child: Some(Box::new(child)),
                ..Parsed::default()
            })
        }
        // Unknown instructions parse (without arguments); the typed layer rejects them.
        _ => Ok(Parsed::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_extracted() {
        let (cmd, flags, args) = split_command("COPY --from=a --chown='u g' src dst");
        assert_eq!(cmd, "COPY");
        assert_eq!(flags, vec!["--from=a", "--chown=u g"]);
        assert_eq!(args, "src dst");
        let (_, flags, args) = split_command("COPY --x=1 -- --y dst");
        assert_eq!(flags, vec!["--x=1"]);
        assert_eq!(args, "--y dst");
        let (_, flags, args) = split_command("RUN --link");
        assert_eq!(flags, vec!["--link"]);
        assert_eq!(args, "");
    }

    #[test]
    fn words_keep_quotes_and_escapes() {
        assert_eq!(
            parse_words(r#"a="b c" d\ e"#, '\\'),
            vec![r#"a="b c""#, r"d\ e"]
        );
        assert_eq!(parse_words("a 'b\\' c", '\\'), vec!["a", "'b\\'", "c"]);
        assert_eq!(parse_words("x\\", '\\'), vec!["x"]);
    }

    #[test]
    fn whitespace_split() {
        assert_eq!(split_ws("a  b\tc", None), vec!["a", "b", "c"]);
        assert_eq!(split_ws("a  b\tc", Some(2)), vec!["a", "b\tc"]);
        assert_eq!(split_ws("", Some(2)), vec![""]);
    }
}
