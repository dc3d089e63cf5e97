use super::*;

fn m(patterns: &[&str]) -> IgnoreMatcher {
    IgnoreMatcher::new(patterns).unwrap()
}

#[test]
fn reading_the_file() {
    let content =
        "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    assert_eq!(
        read_patterns(content.as_bytes()),
        vec![
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path",
            "!",
            "!"
        ]
    );
    assert_eq!(
        read_patterns(b"\xEF\xBB\xBFa\r\n ./b/../c/ \n  # not a comment"),
        vec!["a", "c", "# not a comment"]
    );
    assert_eq!(
        IgnoreMatcher::parse(b"a\n!\n").unwrap_err(),
        IgnoreError::IllegalExclusion
    );
}

#[test]
fn single_patterns() {
    // (pattern, path, matches the path itself, matches via a parent)
    let cases: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**/", "file", true),
        ("**", "dir/file", true),
        ("**/**", "dir/file", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/dir2/file", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("**/foo/bar", "foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("a\\\\", "a\\", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "ab", false),
        ("*", "fileutils.go", true),
        ("*.go", "fileutils.go", true),
        ("a*/b", "a/c/b", false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
        ("a*b?c*x", "abxbbxdbxebxczzx", true),
        ("a?b", "a☺b", true),
        ("[a-ζ]*", "α", true),
        ("a?b", "a/b", false),
        ("[\\]a]", "]", true),
        ("[x\\-]", "-", true),
        ("docs", "docs/README.md", true),
    ];
    let mut failures = Vec::new();
    for (pattern, path, want) in cases {
        if m(&[pattern]).matches(path) != *want {
            failures.push(format!("{pattern:?} vs {path:?}: want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exceptions_and_order() {
    assert!(m(&["!fileutils.go", "*.go"]).matches("fileutils.go"));
    assert!(!m(&["*.go", "!fileutils.go"]).matches("fileutils.go"));
    assert!(!m(&["docs", "!docs/README.md"]).matches("docs/README.md"));
    assert!(!m(&["docs/", "!docs/README.md"]).matches("docs/README.md"));
    assert!(!m(&["docs/*", "!docs/README.md"]).matches("docs/README.md"));
    assert!(!m(&["**", "!util/docker/web"]).matches("util/docker/web/foo"));
    assert!(m(&["**", "!util/docker/web", "util/docker/web/foo"]).matches("util/docker/web/foo"));
    assert!(
        !m(&["**", "!dist/*.whl"])
            .matches("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl")
    );
    assert!(!m(&["*.go"]).matches("."));
    assert!(!m(&[]).matches("any/path"));
}

#[test]
fn bad_patterns() {
    for bad in ["[", "[]a]", "[-]", "[x-]", "\\", "[a-b-c]", "[^bc", "a["] {
        assert!(
            matches!(
                IgnoreMatcher::new(&[bad]),
                Err(IgnoreError::BadPattern { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(
        IgnoreMatcher::new(&["!"]).unwrap_err(),
        IgnoreError::IllegalExclusion
    );
    assert!(
        IgnoreMatcher::new(&["", "  "])
            .unwrap()
            .patterns()
            .is_empty()
    );
    assert!(
        IgnoreMatcher::new(&["docs", "  !docs/README.md  "])
            .unwrap()
            .has_exclusions()
    );
}

#[test]
fn directory_skipping() {
    let mm = m(&[
        "node_modules",
        "build",
        "!build/keep",
        "cache",
        "!**/important",
    ]);
    assert!(mm.may_skip_dir("node_modules"));
    assert!(!mm.may_skip_dir("build"), "an exception inside build");
    assert!(!mm.may_skip_dir("src"), "not excluded at all");
    // Docker skips even though `!**/important` could match inside.
    assert!(mm.may_skip_dir("cache"));
    assert!(m(&["a/b"]).may_skip_dir("a/b"));
    assert!(!m(&["a/*", "!a/b/c"]).may_skip_dir("a/b"));
}
