use super::*;

fn dump(src: &str) -> String {
    match parse(src.as_bytes()) {
        Ok(df) => df.dump(),
        Err(e) => panic!("{src:?}: {e}"),
    }
}

fn error(src: &str) -> ParseError {
    match parse(src.as_bytes()) {
        Ok(df) => panic!("{src:?} parsed: {}", df.dump()),
        Err(e) => e,
    }
}

#[test]
fn directives_at_the_top() {
    let df =
        parse(b"# syntax=docker/dockerfile:1\n# check=skip=all\n#escape=`\nFROM a\nRUN x `\n  y\n")
            .unwrap();
    assert_eq!(df.escape, '`');
    assert_eq!(df.syntax(), Some("docker/dockerfile:1"));
    let names: Vec<_> = df.directives.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["syntax", "check", "escape"]);
    assert_eq!(df.dump(), "(from \"a\")\n(run \"x   y\")");
    // After any other line, directives are plain comments.
    let df = parse(b"# hello\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(df.escape, '\\');
    let df = parse(b"\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(df.escape, '\\');
    let df = parse(b"# unknown=x\n# escape=`\nFROM a\n").unwrap();
    assert_eq!(df.escape, '\\');
    let df = parse(b"# ESCAPE = `  \nFROM a\n").unwrap();
    assert_eq!(df.escape, '`');
}

#[test]
fn directive_errors() {
    let e = error("# escape=x\nFROM a\n");
    assert_eq!(e.message, "invalid escape token 'x' does not match ` or \\");
    assert_eq!(e.line, 1);
    let e = error("# syntax=a\n# syntax=b\nFROM a\n");
    assert_eq!(e.message, "only one syntax parser directive can be used");
    assert_eq!(e.line, 2);
}

#[test]
fn comments_and_blank_lines() {
    assert_eq!(
        dump("  # indented comment\n\nFROM a # not a comment\n"),
        "(from \"a\" \"#\" \"not\" \"a\" \"comment\")"
    );
    let df = parse(b"# the base\nFROM a\n").unwrap();
    assert_eq!(df.nodes[0].comments, vec!["the base"]);
}

#[test]
fn continuations() {
    assert_eq!(
        dump("RUN a \\\n  b \\\n# comment\n  c\n"),
        "(run \"a   b   c\")"
    );
    assert_eq!(dump("RUN a \\"), "(run \"a\")");
    assert_eq!(
        dump("RUN a\\\\\nRUN b\n"),
        "(run \"a\\\\\\\\\")\n(run \"b\")"
    );
    let df = parse(b"RUN a \\\n\n  b\n").unwrap();
    assert_eq!(df.dump(), "(run \"a   b\")");
    assert_eq!(df.warnings.len(), 1);
    assert!(
        df.warnings[0]
            .message
            .starts_with("Empty continuation line found in: RUN a")
    );
    let df = parse(b"FROM a\nRUN x \\\n y \\\n z\nRUN w\n").unwrap();
    assert_eq!((df.nodes[1].start_line, df.nodes[1].end_line), (2, 4));
    assert_eq!((df.nodes[2].start_line, df.nodes[2].end_line), (5, 5));
    assert_eq!(df.nodes[1].original, "RUN x  y  z");
}

#[test]
fn exec_and_shell_form() {
    assert_eq!(dump("CMD [\"a\", \"b\"]"), "(cmd \"a\" \"b\")");
    assert_eq!(dump("CMD ['a']"), "(cmd \"['a']\")");
    assert_eq!(dump("COPY [\"a b\", \"c\"]"), "(copy \"a b\" \"c\")");
    assert_eq!(
        dump("COPY [\"a b\", \"c\""),
        "(copy \"[\\\"a\" \"b\\\",\" \"\\\"c\\\"\")"
    );
    assert!(
        parse(b"FROM a\nCMD [\"a\", 1]\n")
            .unwrap_err()
            .message
            .contains("arrays must be comprised of strings only")
    );
    let df = parse(b"RUN [\"a\"]\nRUN a\n").unwrap();
    assert!(df.nodes[0].json && !df.nodes[1].json);
}

#[test]
fn flags_and_case() {
    assert_eq!(
        dump("run --mount=type=secret,id=x --network=none echo"),
        "(run [\"--mount=type=secret,id=x\" \"--network=none\"] \"echo\")"
    );
    let df = parse(b"copy --link a b").unwrap();
    assert_eq!(df.nodes[0].instruction, "copy");
    assert_eq!(df.nodes[0].name(), "copy");
    assert_eq!(
        dump("HEALTHCHECK --interval=1s CMD [\"a\"]"),
        "(healthcheck [\"--interval=1s\"] \"CMD\" \"a\")"
    );
}

#[test]
fn env_and_label_forms() {
    assert_eq!(dump("ENV a b c"), "(env \"a\" \"b c\" \"\")");
    assert_eq!(
        dump("ENV a=1 b=\"2 3\""),
        "(env \"a\" \"1\" \"=\" \"b\" \"\\\"2 3\\\"\" \"=\")"
    );
    assert_eq!(
        dump("LABEL \"a b\"=c"),
        "(label \"\\\"a b\\\"\" \"c\" \"=\")"
    );
    assert_eq!(error("ENV a").message, "ENV must have two arguments");
    assert!(
        error("LABEL a=b c")
            .message
            .starts_with("Syntax error - can't find = in \"c\"")
    );
    assert_eq!(dump("ARG a b=c"), "(arg \"a\" \"b=c\")");
}

#[test]
fn onbuild_nesting() {
    assert_eq!(dump("ONBUILD RUN echo hi"), "(onbuild (run \"echo hi\"))");
    assert_eq!(
        dump("ONBUILD COPY --from=x a b"),
        "(onbuild (copy [\"--from=x\"] \"a\" \"b\"))"
    );
    assert_eq!(dump("ONBUILD"), "(onbuild)");
}

#[test]
fn heredocs() {
    let df = parse(b"FROM a\nRUN <<EOF\necho $X\nEOF\nRUN b\n").unwrap();
    let run = &df.nodes[1];
    assert_eq!(run.args, vec!["<<EOF"]);
    assert_eq!(run.heredocs.len(), 1);
    assert_eq!(run.heredocs[0].content, "echo $X\n");
    assert!(run.heredocs[0].expand);
    assert_eq!((run.start_line, run.end_line), (2, 4));
    assert_eq!(df.nodes[2].start_line, 5);

    let df = parse(b"RUN <<-A 3<<\"B\" cat\n\tone\n\tA\ntwo\nB\n").unwrap();
    let docs = &df.nodes[0].heredocs;
    assert_eq!(docs.len(), 2);
    assert_eq!(
        (
            docs[0].name.as_str(),
            docs[0].chomp,
            docs[0].content.as_str()
        ),
        ("A", true, "\tone\n")
    );
    assert_eq!(docs[0].chomped_content(), "one\n");
    assert_eq!(
        (
            docs[1].name.as_str(),
            docs[1].expand,
            docs[1].file_descriptor
        ),
        ("B", false, 3)
    );
    assert_eq!(docs[1].content, "two\n");

    let df = parse(b"COPY <<EOF /dst\nhello\nEOF\n").unwrap();
    assert_eq!(df.nodes[0].heredocs[0].content, "hello\n");

    // Exec form never starts heredocs.
    let df = parse(b"RUN [\"<<EOF\"]\nEOF\n").unwrap();
    assert!(df.nodes[0].heredocs.is_empty());
    assert_eq!(df.nodes.len(), 2);

    let df = parse(b"ONBUILD RUN <<EOF\nx\nEOF\n").unwrap();
    assert_eq!(df.nodes[0].heredocs.len(), 1);

    let e = error("FROM a\nRUN <<EOF\nno end\n");
    assert_eq!(e.message, "unterminated heredoc");
    assert_eq!((e.line, e.end_line), (2, 3));
}

#[test]
fn empty_files_fail() {
    assert_eq!(error("").message, "file with no instructions");
    assert_eq!(
        error("# only\n\n   \n").message,
        "file with no instructions"
    );
}

#[test]
fn long_lines_fail() {
    let long = format!("RUN {}\n", "a".repeat(70_000));
    assert!(
        error(&long)
            .message
            .starts_with("dockerfile line greater than max allowed size")
    );
}

#[test]
fn bom_and_crlf() {
    assert_eq!(
        dump("\u{feff}FROM a\r\nRUN b \\\r\n c\r\n"),
        "(from \"a\")\n(run \"b  c\")"
    );
}

#[test]
fn empty_continuation_warnings_name_the_instruction() {
    let src = "\nFROM alpine:3.6\n\nRUN something \\\n\n    following \\\n\n    more\n\nRUN another \\\n\n    thing\nRUN non-indented \\\n# this is a comment\n   after-comment\n\nRUN indented \\\n    # this is an indented comment\n    comment\n\t";
    let df = parse(src.as_bytes()).unwrap();
    assert_eq!(df.warnings.len(), 2);
    assert!(
        df.warnings[0]
            .message
            .contains("RUN something     following     more")
    );
    assert!(df.warnings[1].message.contains("RUN another     thing"));
    assert_eq!(df.warnings[0].line, 8);
    assert_eq!(df.nodes[3].args, vec!["non-indented    after-comment"]);
    assert_eq!(df.nodes[4].args, vec!["indented     comment"]);
}

#[test]
fn non_ascii_words() {
    assert_eq!(line::parse_words("àöû", '\\'), vec!["àöû"]);
    assert_eq!(
        line::parse_words("föo bàr \"âbc xÿz\"", '\\'),
        vec!["föo", "bàr", "\"âbc xÿz\""]
    );
}
