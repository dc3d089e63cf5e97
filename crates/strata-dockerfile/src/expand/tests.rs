use super::*;

fn env() -> Env {
    Env::from_list([
        "A=apple",
        "EMPTY=",
        "PATHV=/usr/local/bin:/usr/bin",
        "SP=a  b",
    ])
}

fn word(s: &str) -> Result<String, String> {
    Lex::new('\\')
        .process_word(s, &env())
        .map_err(|e| e.to_string())
}

#[test]
fn substitution_forms() {
    assert_eq!(word("$A ${A}").unwrap(), "apple apple");
    assert_eq!(
        word("${X:-d} ${EMPTY:-d} ${EMPTY-d} ${X-d}").unwrap(),
        "d d  d"
    );
    assert_eq!(
        word("${A:+s} ${EMPTY:+s} ${EMPTY+s} ${X+s}").unwrap(),
        "s  s "
    );
    assert_eq!(word("${A:?} ${EMPTY?}").unwrap(), "apple ");
    assert_eq!(word("${PATHV#*:}").unwrap(), "/usr/bin");
    assert_eq!(word("${PATHV##*/}").unwrap(), "bin");
    assert_eq!(word("${PATHV%:*}").unwrap(), "/usr/local/bin");
    assert_eq!(word("${PATHV%%/bin*}").unwrap(), "/usr/local");
    assert_eq!(word("${A/p/P}").unwrap(), "aPple");
    assert_eq!(word("${A//p/P}").unwrap(), "aPPle");
    assert_eq!(
        word("${A/#a/A}").unwrap(),
        "apple",
        "no anchors: # is literal"
    );
}

#[test]
fn question_mark_errors() {
    assert_eq!(
        word("${X?}").unwrap_err(),
        "failed to process \"${X?}\": X: is not allowed to be unset"
    );
    assert_eq!(
        word("${EMPTY:?}").unwrap_err(),
        "failed to process \"${EMPTY:?}\": EMPTY: is not allowed to be empty"
    );
    assert_eq!(
        word("${X:?need X}").unwrap_err(),
        "failed to process \"${X:?need X}\": X: need X"
    );
}

#[test]
fn syntax_errors() {
    assert!(
        word("${A")
            .unwrap_err()
            .ends_with("unsupported modifier (\u{fffd}) in substitution")
    );
    assert!(
        word("${}")
            .unwrap_err()
            .ends_with("syntax error: bad substitution")
    );
    assert!(
        word("${A:-x")
            .unwrap_err()
            .ends_with("syntax error: missing '}'")
    );
    assert!(
        word("${A:=x}")
            .unwrap_err()
            .ends_with("unsupported modifier (:=) in substitution")
    );
    assert!(
        word("'abc")
            .unwrap_err()
            .ends_with("unexpected end of statement while looking for matching single-quote")
    );
    assert!(
        word("\"abc")
            .unwrap_err()
            .ends_with("unexpected end of statement while looking for matching double-quote")
    );
    assert!(
        word("${A/x}")
            .unwrap_err()
            .ends_with("syntax error: missing '/' in ${}")
    );
    assert!(
        word("${A#\\x}")
            .unwrap_err()
            .contains("invalid escape '\\x'")
    );
}

#[test]
fn quotes_and_escapes() {
    assert_eq!(word(r#"'$A' "$A" \$A"#).unwrap(), "$A apple $A");
    assert_eq!(word(r#""a\"b\\c\d""#).unwrap(), r#"a"b\c\d"#);
    let lex = Lex::new('`');
    assert_eq!(
        lex.process_word("`$A \\n \"`\"\"", &env()).unwrap(),
        "$A \\n \""
    );
}

#[test]
fn word_splitting() {
    let lex = Lex::new('\\');
    assert_eq!(
        lex.process_words("x $SP \"$SP\" ''", &env()).unwrap(),
        vec!["x", "a", "b", "a  b"]
    );
    assert_eq!(
        lex.process_words("a\\ b c", &env()).unwrap(),
        vec!["a b", "c"]
    );
}

#[test]
fn referenced_variables_are_reported() {
    let r = Lex::new('\\')
        .process("$A ${NOPE:-x} \"$EMPTY\" '$QUOTED'", &env())
        .unwrap();
    assert_eq!(r.word, "apple x  $QUOTED");
    assert_eq!(r.matched.iter().collect::<Vec<_>>(), vec!["A", "EMPTY"]);
    assert_eq!(r.unmatched.iter().collect::<Vec<_>>(), vec!["NOPE"]);
}

#[test]
fn raw_modes() {
    let mut lex = Lex::new('\\');
    lex.skip_unset_env = true;
    assert_eq!(
        lex.process_word("$A $X ${X} ${X:-d}", &env()).unwrap(),
        "apple $X ${X} ${X:-d}"
    );
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    assert_eq!(
        lex.process_word(r#"'a' "b" \c"#, &env()).unwrap(),
        r#"'a' "b" \c"#
    );
    let mut lex = Lex::new('\\');
    lex.skip_process_quotes = true;
    assert_eq!(lex.process_word("'a b'", &env()).unwrap(), "'a b'");
}
