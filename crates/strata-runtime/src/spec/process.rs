//! The container's process: its argv from ENTRYPOINT/CMD and the run flags, and its
//! environment, combined the way Docker's daemon does.

use crate::error::{Result, RuntimeError};

/// Docker's default PATH, used when the image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What `run` was given about the command: `--entrypoint` (None when the flag was absent,
/// `Some("")` to reset it) and the arguments after the image name.
#[derive(Debug, Clone, Default)]
pub struct CommandOverride {
    pub entrypoint: Option<String>,
    pub args: Vec<String>,
}

/// The container's entrypoint and cmd after merging the flags into the image's, as Docker's
/// daemon stores them in `Config.Entrypoint` / `Config.Cmd`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedCommand {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

impl MergedCommand {
    /// Docker's rule: arguments after the image replace CMD; `--entrypoint` replaces ENTRYPOINT
    /// and drops the image's CMD, except that an empty `--entrypoint ""` with no arguments keeps
    /// the image's CMD.
    pub fn merge(
        image_entrypoint: &[String],
        image_cmd: &[String],
        flags: &CommandOverride,
    ) -> MergedCommand {
        let user_entrypoint: Option<Vec<String>> = flags.entrypoint.as_ref().map(|e| {
            if e.is_empty() {
                Vec::new()
            } else {
                vec![e.clone()]
            }
        });
        let mut cmd = flags.args.clone();
        let entrypoint = match user_entrypoint {
            Some(ep) if !ep.is_empty() => ep,
            Some(empty) => {
                if cmd.is_empty() {
                    cmd = image_cmd.to_vec();
                }
                empty
            }
            None => {
                if cmd.is_empty() {
                    cmd = image_cmd.to_vec();
                }
                image_entrypoint.to_vec()
            }
        };
        MergedCommand { entrypoint, cmd }
    }

    /// The process argv: ENTRYPOINT followed by CMD (a shell-form instruction is already stored
    /// as `/bin/sh -c "…"` in the image, which is what gives Docker's table its shape).
    pub fn argv(&self) -> Result<Vec<String>> {
        let argv: Vec<String> = self
            .entrypoint
            .iter()
            .chain(self.cmd.iter())
            .cloned()
            .collect();
        if argv.is_empty() {
            return Err(RuntimeError::NoCommand);
        }
        Ok(argv)
    }
}

/// Replaces `KEY=…` in `env` or appends it, like Docker's ReplaceOrAppendEnvValues. A bare
/// `KEY` (no `=`) given by the user unsets it.
pub fn replace_or_append(env: &mut Vec<String>, entries: &[String]) {
    for entry in entries {
        let key = entry.split('=').next().unwrap_or(entry);
        let position = env
            .iter()
            .position(|e| e.split('=').next().unwrap_or(e) == key);
        if !entry.contains('=') {
            if let Some(i) = position {
                env.remove(i);
            }
            continue;
        }
        match position {
            Some(i) => env[i] = entry.clone(),
            None => env.push(entry.clone()),
        }
    }
}

/// The container's stored `Config.Env`: the image's, then the user's `-e`/`--env-file`.
pub fn container_env(image_env: &[String], user_env: &[String]) -> Vec<String> {
    let mut env = image_env.to_vec();
    replace_or_append(&mut env, user_env);
    env
}

/// The process environment: PATH (Docker's default unless set), HOSTNAME, TERM with a tty,
/// the container's env, and HOME from the user's passwd entry when not set.
pub fn process_env(container_env: &[String], hostname: &str, tty: bool, home: &str) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        env.push("TERM=xterm".to_string());
    }
    replace_or_append(&mut env, container_env);
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    env
}

/// Parses an `--env-file`: `KEY=VALUE` lines, `#` comments, blank lines skipped, and a bare
/// `KEY` taking the value from `lookup` (the caller's environment) when it has one.
pub fn parse_env_file(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains('=') {
            out.push(line.to_string());
        } else if let Some(value) = lookup(line.trim_end()) {
            out.push(format!("{}={value}", line.trim_end()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn argv(ep: &[&str], cmd: &[&str], flag_ep: Option<&str>, args: &[&str]) -> Vec<String> {
        let flags = CommandOverride {
            entrypoint: flag_ep.map(str::to_string),
            args: s(args),
        };
        MergedCommand::merge(&s(ep), &s(cmd), &flags)
            .argv()
            .unwrap_or_default()
    }

    // Docker's "Understand how CMD and ENTRYPOINT interact" table.
    #[test]
    fn docker_table_no_entrypoint() {
        assert!(argv(&[], &[], None, &[]).is_empty());
        assert_eq!(
            argv(&[], &["/bin/sh", "-c", "exec_cmd p1_cmd"], None, &[]),
            s(&["/bin/sh", "-c", "exec_cmd p1_cmd"])
        );
        assert_eq!(
            argv(&[], &["exec_cmd", "p1_cmd"], None, &[]),
            s(&["exec_cmd", "p1_cmd"])
        );
    }

    #[test]
    fn docker_table_shell_entrypoint() {
        let ep = ["/bin/sh", "-c", "exec_entry p1_entry"];
        assert_eq!(argv(&ep, &[], None, &[]), s(&ep));
        assert_eq!(
            argv(&ep, &["exec_cmd", "p1_cmd"], None, &[]),
            s(&["/bin/sh", "-c", "exec_entry p1_entry", "exec_cmd", "p1_cmd"])
        );
        assert_eq!(
            argv(&ep, &["/bin/sh", "-c", "exec_cmd p1_cmd"], None, &[]),
            s(&[
                "/bin/sh",
                "-c",
                "exec_entry p1_entry",
                "/bin/sh",
                "-c",
                "exec_cmd p1_cmd"
            ])
        );
    }

    #[test]
    fn docker_table_exec_entrypoint() {
        let ep = ["exec_entry", "p1_entry"];
        assert_eq!(argv(&ep, &[], None, &[]), s(&ep));
        assert_eq!(
            argv(&ep, &["exec_cmd", "p1_cmd"], None, &[]),
            s(&["exec_entry", "p1_entry", "exec_cmd", "p1_cmd"])
        );
        assert_eq!(
            argv(&ep, &["/bin/sh", "-c", "exec_cmd p1_cmd"], None, &[]),
            s(&["exec_entry", "p1_entry", "/bin/sh", "-c", "exec_cmd p1_cmd"])
        );
    }

    #[test]
    fn args_replace_cmd_and_flag_replaces_entrypoint() {
        assert_eq!(
            argv(&["ep"], &["c"], None, &["a", "b"]),
            s(&["ep", "a", "b"])
        );
        assert_eq!(argv(&["ep"], &["c"], Some("x"), &[]), s(&["x"]));
        assert_eq!(argv(&["ep"], &["c"], Some("x"), &["y"]), s(&["x", "y"]));
        assert_eq!(argv(&["ep"], &["c"], Some(""), &[]), s(&["c"]));
        assert_eq!(argv(&["ep"], &["c"], Some(""), &["z"]), s(&["z"]));
    }

    #[test]
    fn env_merge_order_and_defaults() {
        let cenv = container_env(&s(&["PATH=/x", "A=1"]), &s(&["A=2", "B=3"]));
        assert_eq!(cenv, s(&["PATH=/x", "A=2", "B=3"]));
        let penv = process_env(&cenv, "abc", true, "/root");
        assert_eq!(
            penv,
            s(&[
                "PATH=/x",
                "HOSTNAME=abc",
                "TERM=xterm",
                "A=2",
                "B=3",
                "HOME=/root"
            ])
        );
        let penv = process_env(&s(&["HOME=/h"]), "abc", false, "/root");
        assert_eq!(
            penv,
            s(&[&format!("PATH={DEFAULT_PATH}"), "HOSTNAME=abc", "HOME=/h"])
        );
    }

    #[test]
    fn bare_key_unsets() {
        let mut env = s(&["A=1", "B=2"]);
        replace_or_append(&mut env, &s(&["A"]));
        assert_eq!(env, s(&["B=2"]));
    }

    #[test]
    fn env_file() {
        let parsed = parse_env_file("# c\n\nA=1\nHOMEX\nB= x \n", |k| {
            (k == "HOMEX").then(|| "v".to_string())
        });
        assert_eq!(parsed, s(&["A=1", "HOMEX=v", "B= x "]));
    }

    proptest::proptest! {
        #[test]
        fn argv_is_entrypoint_then_cmd(ep in proptest::collection::vec("[a-z]{1,4}", 0..3),
                                       cmd in proptest::collection::vec("[a-z]{1,4}", 0..3)) {
            let merged = MergedCommand::merge(&ep, &cmd, &CommandOverride::default());
            let mut expected = ep.clone();
            expected.extend(cmd.clone());
            match merged.argv() {
                Ok(v) => proptest::prop_assert_eq!(v, expected),
                Err(_) => proptest::prop_assert!(expected.is_empty()),
            }
        }
    }
}
