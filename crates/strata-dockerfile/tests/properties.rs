//! Property tests: the parsers never panic, and plain words expand to themselves.

use proptest::prelude::*;
use strata_dockerfile::expand::{Env, Lex};
use strata_dockerfile::ignore::IgnoreMatcher;
use strata_dockerfile::instructions::parse_stages;

/// 512 cases unless PROPTEST_CASES asks for more (for longer local runs).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

/// Dockerfile-like text: instruction words, flags, quotes, escapes, heredocs, JSON.
fn dockerfile_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("FROM".to_string()),
        Just("RUN".to_string()),
        Just("COPY".to_string()),
        Just("ENV".to_string()),
        Just("ONBUILD".to_string()),
        Just("HEALTHCHECK".to_string()),
        Just("ARG".to_string()),
        Just("--mount=type=cache,target=/x".to_string()),
        Just("--from=a".to_string()),
        Just("<<EOF".to_string()),
        Just("<<-'E'".to_string()),
        Just("EOF".to_string()),
        Just("[\"a\", \"b\"]".to_string()),
        Just("[".to_string()),
        Just("\\".to_string()),
        Just("`".to_string()),
        Just("#".to_string()),
        Just("# escape=`".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("=".to_string()),
        Just("$X".to_string()),
        "[a-z0-9 ]{0,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn parser_never_panics_on_bytes(data in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(df) = strata_dockerfile::parse(&data) {
            let _ = df.dump();
            let _ = parse_stages(&df);
        }
    }

    #[test]
    fn parser_never_panics_on_dockerfile_like_text(text in dockerfile_text()) {
        if let Ok(df) = strata_dockerfile::parse(text.as_bytes()) {
            let _ = df.dump();
            let _ = parse_stages(&df);
            for node in &df.nodes {
                prop_assert!(node.start_line >= 1 && node.end_line >= node.start_line);
            }
        }
    }

    #[test]
    fn plain_words_expand_to_themselves(word in "[^$'\"\\\\`\u{feff}]{0,40}") {
        let env = Env::from_pairs([("A", "1")]);
        for escape in ['\\', '`'] {
            let got = Lex::new(escape).process_word(&word, &env);
            prop_assert_eq!(got.as_deref(), Ok(word.as_str()));
        }
    }

    #[test]
    fn expansion_never_panics(word in "\\PC{0,40}|[${}:#%/?+\\-'\"\\\\a-c ]{0,30}") {
        let env = Env::from_pairs([("a", "abc"), ("b", ""), ("c", "x y")]);
        for escape in ['\\', '`'] {
            let lex = Lex::new(escape);
            let _ = lex.process(&word, &env);
            let mut raw = lex;
            raw.raw_quotes = true;
            raw.raw_escapes = true;
            raw.skip_unset_env = true;
            let _ = raw.process(&word, &env);
        }
    }

    #[test]
    fn dockerignore_never_panics(
        patterns in prop::collection::vec("[!*?/\\[\\]\\\\^.a-c -]{0,12}|\\PC{0,8}", 0..6),
        path in "[a-c/.*]{0,16}|\\PC{0,10}",
    ) {
        let content = patterns.join("\n");
        if let Ok(m) = IgnoreMatcher::parse(content.as_bytes()) {
            let _ = m.matches(&path);
            let _ = m.may_skip_dir(&path);
        }
        if let Ok(m) = IgnoreMatcher::new(&patterns) {
            let _ = m.matches(&path);
            let _ = m.may_skip_dir(&path);
        }
    }
}
