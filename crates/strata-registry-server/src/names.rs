//! Repository names and tags as the distribution spec defines them. A name that passes these
//! checks is a safe relative storage path: no empty, `.` or `..` component, no absolute path.
//!
//! ```text
//! name      := component ('/' component)*      (at most 255 characters)
//! component := [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
//! tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! ```

pub const MAX_NAME_LEN: usize = 255;

/// A repository name as the spec allows it in `/v2/<name>/…`.
pub fn is_valid_name(name: &str) -> bool {
    // The grammar is strata-reference's: one definition for the CLI and the registry.
    !name.is_empty() && name.len() <= MAX_NAME_LEN && strata_reference::is_repository_path(name)
}

/// A tag (the `<reference>` of a manifest URL when it is not a digest).
pub fn is_valid_tag(tag: &str) -> bool {
    strata_reference::is_tag(tag)
}

/// An upload session id: the server makes them as UUIDs; anything else is refused before it can
/// become a path.
pub fn is_valid_upload_id(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok() && id.len() == 36
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_spec_names() {
        for n in [
            "a",
            "library/busybox",
            "a/b/c",
            "my-app",
            "a__b",
            "a.b",
            "a---b",
            "0x/y",
        ] {
            assert!(is_valid_name(n), "{n}");
        }
    }

    #[test]
    fn rejects_bad_names_and_traversal() {
        for n in [
            "", "A", "a/", "/a", "a//b", "..", "../etc", "a/../b", "a/./b", ".a", "a-", "_a",
            "a_-b", "a b", "a%2fb", "a\\b",
        ] {
            assert!(!is_valid_name(n), "{n}");
        }
        assert!(!is_valid_name(&"a".repeat(256)));
        assert!(is_valid_name(&"a".repeat(255)));
    }

    #[test]
    fn tags() {
        assert!(is_valid_tag("latest"));
        assert!(is_valid_tag("v1.0-rc_1"));
        assert!(is_valid_tag(&"a".repeat(128)));
        assert!(!is_valid_tag(&"a".repeat(129)));
        assert!(!is_valid_tag(".hidden"));
        assert!(!is_valid_tag("-x"));
        assert!(!is_valid_tag("a/b"));
        assert!(!is_valid_tag(""));
    }

    #[test]
    fn upload_ids() {
        assert!(is_valid_upload_id(&uuid::Uuid::new_v4().to_string()));
        assert!(!is_valid_upload_id("../../x"));
    }

    proptest! {
        #[test]
        fn valid_names_are_safe_paths(name in "[a-z0-9._/-]{1,40}") {
            if is_valid_name(&name) {
                prop_assert!(!name.starts_with('/'));
                prop_assert!(name.split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
            }
        }

        #[test]
        fn generated_names_are_valid(parts in proptest::collection::vec("[a-z0-9]{1,5}([._-][a-z0-9]{1,5})?", 1..4)) {
            let name = parts.join("/");
            prop_assert!(is_valid_name(&name));
        }

        #[test]
        fn tags_never_contain_slashes(tag in "\\PC{0,20}") {
            if is_valid_tag(&tag) {
                prop_assert!(!tag.contains('/'));
                prop_assert!(!tag.starts_with('.') && !tag.starts_with('-'));
            }
        }
    }
}
