//! `--change` instructions of `import` and `commit`: the Dockerfile instructions Docker allows
//! there (its `validCommitCommands`), applied to an image's container config.

use std::collections::BTreeMap;

use crate::config::{ContainerConfig, Empty};
use crate::error::{Result, StoreError};

const ALLOWED: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Applies each change in order. Errors use Docker's wording and change nothing.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<()> {
    let mut next = config.clone();
    for change in changes {
        apply_one(&mut next, change.trim())?;
    }
    *config = next;
    Ok(())
}

fn apply_one(c: &mut ContainerConfig, change: &str) -> Result<()> {
    let (word, rest) = change
        .split_once(char::is_whitespace)
        .unwrap_or((change, ""));
    let instruction = word.to_ascii_uppercase();
    let rest = rest.trim();
    if !ALLOWED.contains(&instruction.as_str()) {
        // Docker's parser lower-cases instruction names before this check.
        return Err(StoreError::InvalidChange(format!(
            "{} is not a valid change command",
            instruction.to_ascii_lowercase()
        )));
    }
    let missing =
        || StoreError::InvalidChange(format!("{instruction} requires at least one argument"));
    let exactly_one =
        || StoreError::InvalidChange(format!("{instruction} requires exactly one argument"));
    match instruction.as_str() {
        "CMD" => c.cmd = Some(command_form(rest)),
        "ENTRYPOINT" => c.entrypoint = Some(command_form(rest)),
        "ENV" => {
            let env = c.env.get_or_insert_with(Vec::new);
            for (k, v) in key_values(rest, &instruction)? {
                env.retain(|e| e.split_once('=').map(|(ek, _)| ek) != Some(k.as_str()));
                env.push(format!("{k}={v}"));
            }
        }
        "LABEL" => {
            let labels = c.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in key_values(rest, &instruction)? {
                labels.insert(k, v);
            }
        }
        "EXPOSE" => {
            if rest.is_empty() {
                return Err(missing());
            }
            let ports = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in rest.split_whitespace() {
                let p = if p.contains('/') {
                    p.to_owned()
                } else {
                    format!("{p}/tcp")
                };
                ports.insert(p, Empty {});
            }
        }
        "VOLUME" => {
            let paths = json_array(rest)
                .unwrap_or_else(|| rest.split_whitespace().map(str::to_owned).collect());
            if paths.is_empty() {
                return Err(missing());
            }
            let vols = c.volumes.get_or_insert_with(BTreeMap::new);
            for p in paths {
                vols.insert(p, Empty {});
            }
        }
        "ONBUILD" => {
            if rest.is_empty() {
                return Err(missing());
            }
            c.on_build
                .get_or_insert_with(Vec::new)
                .push(rest.to_owned());
        }
        "USER" => c.user = non_empty(rest, exactly_one)?,
        "STOPSIGNAL" => c.stop_signal = non_empty(rest, exactly_one)?,
        "WORKDIR" => {
            let dir = non_empty(rest, exactly_one)?;
            c.working_dir = if dir.starts_with('/') || c.working_dir.is_empty() {
                if dir.starts_with('/') {
                    dir
                } else {
                    format!("/{dir}")
                }
            } else {
                format!("{}/{dir}", c.working_dir.trim_end_matches('/'))
            };
        }
        "HEALTHCHECK" => {
            return Err(StoreError::InvalidChange(
                "HEALTHCHECK in --change is not implemented in strata yet".into(),
            ));
        }
        _ => {
            return Err(StoreError::InvalidChange(format!(
                "{} is not a valid change command",
                instruction.to_ascii_lowercase()
            )));
        }
    }
    Ok(())
}

fn non_empty(s: &str, missing: impl Fn() -> StoreError) -> Result<String> {
    if s.is_empty() {
        Err(missing())
    } else {
        Ok(s.to_owned())
    }
}

fn json_array(s: &str) -> Option<Vec<String>> {
    if s.starts_with('[') {
        serde_json::from_str(s).ok()
    } else {
        None
    }
}

/// Exec form when the argument is a JSON string array, else shell form, as in a Dockerfile.
fn command_form(s: &str) -> Vec<String> {
    json_array(s).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), s.to_owned()])
}

/// `k=v k2="v 2"`, or the legacy `k v with spaces` form.
fn key_values(s: &str, instruction: &str) -> Result<Vec<(String, String)>> {
    let words = split_words(s);
    if words.is_empty() {
        return Err(StoreError::InvalidChange(format!(
            "{instruction} requires at least one argument"
        )));
    }
    if !words[0].contains('=') {
        let (k, v) = s.split_once(char::is_whitespace).ok_or_else(|| {
            StoreError::InvalidChange(format!("{instruction} must have two arguments"))
        })?;
        return Ok(vec![(k.to_owned(), v.trim().to_owned())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(StoreError::InvalidChange(format!(
                "{instruction} names can not be blank"
            ))),
        })
        .collect()
}

/// Splits on unquoted whitespace, removing quotes and backslash escapes.
fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    let mut in_word = false;
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(ch);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                in_word = true;
            }
            (_, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(changes: &[&str]) -> Result<ContainerConfig> {
        let mut c = ContainerConfig::default();
        apply_changes(
            &mut c,
            &changes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )?;
        Ok(c)
    }

    #[test]
    fn forms_and_values() {
        let c = apply(&[
            r#"CMD ["sh"]"#,
            "ENTRYPOINT echo hi",
            "ENV A=1 B=\"two words\"",
            "ENV C three four",
            "EXPOSE 80 53/udp",
            "WORKDIR /a",
            "WORKDIR b",
            "USER nobody",
            "LABEL x=y",
        ])
        .expect("valid");
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(
            c.entrypoint,
            Some(vec!["/bin/sh".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(
            c.env,
            Some(vec![
                "A=1".into(),
                "B=two words".into(),
                "C=three four".into()
            ])
        );
        assert!(
            c.exposed_ports
                .as_ref()
                .expect("ports")
                .contains_key("80/tcp")
        );
        assert!(
            c.exposed_ports
                .as_ref()
                .expect("ports")
                .contains_key("53/udp")
        );
        assert_eq!(c.working_dir, "/a/b");
        assert_eq!(c.user, "nobody");
    }

    #[test]
    fn disallowed_instruction_is_refused_with_docker_wording() {
        let err = apply(&["RUN echo"]).expect_err("RUN is not allowed");
        assert_eq!(err.to_string(), "run is not a valid change command");
        assert_eq!(
            apply(&["USER"]).expect_err("no user").to_string(),
            "USER requires exactly one argument"
        );
        assert_eq!(
            apply(&["ENV"]).expect_err("no env").to_string(),
            "ENV requires at least one argument"
        );
    }
}
