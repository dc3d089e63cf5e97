//! Go `path/filepath` behaviour the matcher depends on (Unix flavour).

/// Go's `filepath.Clean`: lexical shortening of a slash path.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(last) if *last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Dir`.
pub(crate) fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".into(),
    }
}

/// Whether `filepath.Match` accepts `pattern` (no `ErrBadPattern`): escapes need a
/// following character and character classes must be complete and well formed.
pub(crate) fn is_valid_glob(pattern: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return false;
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    let Some(next) = class_char(&chars, i) else {
                        return false;
                    };
                    i = next;
                    if chars.get(i) == Some(&'-') {
                        let Some(next) = class_char(&chars, i + 1) else {
                            return false;
                        };
                        i = next;
                    }
                    ranges += 1;
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// Go's `getEsc`: one (possibly escaped) class character; returns the index after it,
/// or `None` for a malformed class (which includes running off the end).
fn class_char(chars: &[char], mut i: usize) -> Option<usize> {
    match chars.get(i) {
        None | Some('-' | ']') => return None,
        Some('\\') => {
            i += 1;
            chars.get(i)?;
        }
        Some(_) => {}
    }
    i += 1;
    if i >= chars.len() {
        return None;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_like_go() {
        for (input, want) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("./a//b/", "a/b"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/../..", ".."),
            ("/", "/"),
            ("!foo/../bar", "bar"),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
        assert_eq!(dir("a/b/c"), "a/b");
        assert_eq!(dir("a"), ".");
    }

    #[test]
    fn glob_validity_like_filepath_match() {
        for good in [
            "abc", "a[b-d]e", "[\\]a]", "[\\-]", "[x\\-]", "a\\*b", "[^a]", "*[a-ζ]",
        ] {
            assert!(is_valid_glob(good), "{good}");
        }
        for bad in [
            "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[",
        ] {
            assert!(!is_valid_glob(bad), "{bad}");
        }
    }
}
