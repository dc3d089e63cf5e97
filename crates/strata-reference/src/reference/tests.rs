use super::*;
use proptest::prelude::*;

fn norm(s: &str) -> String {
    Reference::parse_normalized(s)
        .map(|r| r.with_default_tag().to_string())
        .unwrap_or_else(|e| format!("error: {e}"))
}

#[test]
fn normalization_matches_docker() {
    let cases = [
        ("ubuntu", "docker.io/library/ubuntu:latest"),
        ("ubuntu:22.04", "docker.io/library/ubuntu:22.04"),
        ("me/busybox:1.0", "docker.io/me/busybox:1.0"),
        ("index.docker.io/me/x", "docker.io/me/x:latest"),
        ("index.docker.io/x", "docker.io/library/x:latest"),
        ("docker.io/x", "docker.io/library/x:latest"),
        ("localhost/x", "localhost/x:latest"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
        ("localhost:5000/a/b/c:t", "localhost:5000/a/b/c:t"),
        ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest"),
        ("[::1]:5000/x", "[::1]:5000/x:latest"),
        ("Example/x", "Example/x:latest"),
        ("a/b/c", "docker.io/a/b/c:latest"),
    ];
    for (input, want) in cases {
        assert_eq!(norm(input), want, "{input}");
    }
}

#[test]
fn errors_match_docker_wording() {
    let cases = [
        (
            "Foo",
            "invalid reference format: repository name (library/Foo) must be lowercase",
        ),
        (
            "me/Foo:tag",
            "invalid reference format: repository name (me/Foo) must be lowercase",
        ),
        ("", "invalid reference format"),
        ("a:b:c", "invalid reference format"),
        ("-x", "invalid reference format"),
        ("x:.bad", "invalid reference format"),
        ("x@sha256:abc", "invalid reference format"),
        (
            "localhost:5000/A",
            "invalid reference format: repository name (A) must be lowercase",
        ),
        (
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "invalid repository name (0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef), cannot specify 64-byte hexadecimal strings",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(norm(input), format!("error: {want}"), "{input:?}");
    }
    let long = format!("{}", "a".repeat(256));
    assert_eq!(
        norm(&long),
        "error: repository name must not be more than 255 characters"
    );
}

#[test]
fn digests_and_familiar_strings() {
    let d = format!("sha256:{}", "ab".repeat(32));
    let r = Reference::parse_normalized(&format!("busybox:1@{d}")).expect("valid");
    assert_eq!(r.tag(), Some("1"));
    assert_eq!(r.digest().map(|x| x.to_string()), Some(d.clone()));
    assert_eq!(r.familiar_string(), format!("busybox:1@{d}"));
    assert_eq!(
        Reference::parse_normalized("me/x")
            .expect("valid")
            .familiar_name(),
        "me/x"
    );
    assert_eq!(
        Reference::parse_normalized("localhost:5000/x")
            .expect("valid")
            .familiar_name(),
        "localhost:5000/x"
    );
    let bad_len = format!("busybox@sha256:{}", "ab".repeat(20));
    assert_eq!(norm(&bad_len), "error: invalid checksum digest length");
}

#[test]
fn any_reference_accepts_ids() {
    let hex = "ab".repeat(32);
    assert!(matches!(ImageRef::parse(&hex), Ok(ImageRef::Id(_))));
    assert!(matches!(
        ImageRef::parse(&format!("sha256:{hex}")),
        Ok(ImageRef::Id(_))
    ));
    assert!(matches!(ImageRef::parse("abc123"), Ok(ImageRef::Named(_))));
    assert!(is_short_id_prefix("abc123"));
    assert!(!is_short_id_prefix("xyz"));
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC{0,80}") {
        let _ = Reference::parse_normalized(&s);
        let _ = ImageRef::parse(&s);
    }

    #[test]
    fn valid_names_round_trip(
        ns in "[a-z0-9]{1,8}(-[a-z0-9]{1,4})?",
        repo in "[a-z0-9]{1,8}([._][a-z0-9]{1,4})?",
        tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
    ) {
        let s = format!("{ns}/{repo}:{tag}");
        let r = Reference::parse_normalized(&s).expect("generated names are valid");
        prop_assert_eq!(r.familiar_string(), s.clone());
        let again = Reference::parse_normalized(&r.to_string()).expect("canonical form parses");
        prop_assert_eq!(again, r);
    }
}
