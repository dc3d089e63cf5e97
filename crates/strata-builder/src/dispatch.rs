//! One instruction: variables expanded as the classic builder expands them, the runConfig
//! changed, and the step committed with Docker's history text.

use std::collections::{BTreeMap, BTreeSet};

use strata_dockerfile::expand::{ExpandError, Lex};
use strata_dockerfile::instructions::{Command, Healthcheck, Instruction, ShellOrExec};
use strata_store::config::{self, Empty};

use crate::Event;
use crate::builder::{Builder, StageState, arg_comment};
use crate::error::{BuildError, Result};
use crate::gofmt::{go_duration, plain_slice, quote_rune, quote_slice};

impl Builder<'_> {
    pub fn dispatch(&mut self, st: &mut StageState, cmd: &Command) -> Result<()> {
        let line = cmd.start_line;
        let mut ins = cmd.instruction.clone();
        let env = st.expansion_env();
        let lex = Lex::new(self.escape);
        let mut used = BTreeSet::new();
        {
            let mut f = |w: &str| -> std::result::Result<String, ExpandError> {
                let e = lex.process(w, &env)?;
                used.extend(e.matched);
                Ok(e.word)
            };
            ins.expand_words(&mut f)
                .map_err(|e| BuildError::step(line, e.to_string()))?;
            let mut raw = Lex::new('\\');
            raw.skip_process_quotes = true;
            let mut g = |w: &str| -> std::result::Result<String, ExpandError> {
                let e = raw.process(w, &env)?;
                used.extend(e.matched);
                Ok(e.word)
            };
            ins.expand_heredoc_contents(&mut g)
                .map_err(|e| BuildError::step(line, e.to_string()))?;
        }
        let allowed: BTreeMap<String, String> = st
            .args
            .filter_allowed(&st.config.env.clone().unwrap_or_default())
            .into_iter()
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        let used_args: BTreeMap<String, String> = used
            .iter()
            .filter_map(|n| allowed.get(n).map(|v| (n.clone(), v.clone())))
            .collect();
        for n in &used {
            st.args.mark_referenced(n);
        }
        match ins {
            Instruction::From(_) => Err(BuildError::step(line, "FROM inside a stage")),
            Instruction::Env(kvs) => {
                let env = st.config.env.get_or_insert_with(Vec::new);
                let mut comment = String::from("ENV");
                for kv in kvs {
                    let entry = format!("{}={}", kv.key, kv.value);
                    comment.push(' ');
                    comment.push_str(&entry);
                    match env
                        .iter_mut()
                        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == kv.key)
                    {
                        Some(slot) => *slot = entry,
                        None => env.push(entry),
                    }
                }
                self.commit_nop(st, &comment, used_args)
            }
            Instruction::Label(kvs) => {
                let labels = st.config.labels.get_or_insert_with(BTreeMap::new);
                let mut comment = String::from("LABEL");
                for kv in kvs {
                    comment.push_str(&format!(" {}={}", kv.key, kv.value));
                    labels.insert(kv.key, kv.value);
                }
                self.commit_nop(st, &comment, used_args)
            }
            Instruction::Arg(defs) => {
                for d in &defs {
                    st.args.declare(&d.name, d.default.clone());
                }
                let comment = arg_comment(&defs);
                self.commit_nop(st, &comment, used_args)
            }
            Instruction::Maintainer(m) => {
                st.author = m.clone();
                self.commit_nop(st, &format!("MAINTAINER {m}"), used_args)
            }
            Instruction::User(u) => {
                st.config.user = u.clone();
                self.commit_nop(st, &format!("USER {u}"), used_args)
            }
            Instruction::StopSignal(s) => {
                if !is_valid_signal(&s) {
                    return Err(BuildError::step(line, format!("Invalid signal: {s}")));
                }
                st.config.stop_signal = s.clone();
                self.commit_nop(st, &format!("STOPSIGNAL {s}"), used_args)
            }
            Instruction::Volume(vs) => {
                let vols = st.config.volumes.get_or_insert_with(BTreeMap::new);
                for v in &vs {
                    if v.trim().is_empty() {
                        return Err(BuildError::step(
                            line,
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    vols.insert(v.clone(), Empty {});
                }
                self.commit_nop(st, &format!("VOLUME {}", plain_slice(&vs)), used_args)
            }
            Instruction::Expose(ports) => {
                let mut words = Vec::new();
                for p in &ports {
                    let e = lex
                        .process(p, &env)
                        .map_err(|e| BuildError::step(line, e.to_string()))?;
                    words.extend(e.words);
                }
                let exposed = st.config.exposed_ports.get_or_insert_with(BTreeMap::new);
                for w in &words {
                    for p in parse_port_spec(w).map_err(|m| BuildError::step(line, m))? {
                        exposed.insert(p, Empty {});
                    }
                }
                self.commit_nop(st, &format!("EXPOSE {}", words.join(" ")), used_args)
            }
            Instruction::Shell(sh) => {
                st.config.shell = Some(sh.clone());
                self.commit_nop(st, &format!("SHELL {}", plain_slice(&sh)), used_args)
            }
            Instruction::Onbuild(o) => {
                st.config
                    .on_build
                    .get_or_insert_with(Vec::new)
                    .push(o.expression.clone());
                self.commit_nop(st, &format!("ONBUILD {}", o.expression), used_args)
            }
            Instruction::Cmd(c) => {
                let cmd = resolve_cmd_line(st, &c);
                if !cmd.is_empty() || matches!(c, ShellOrExec::Shell(_)) {
                    st.cmd_set = true;
                }
                st.config.cmd = Some(cmd.clone());
                st.config.args_escaped = false;
                self.commit_nop(st, &format!("CMD {}", quote_slice(&cmd)), used_args)
            }
            Instruction::Entrypoint(c) => {
                let cmd = resolve_cmd_line(st, &c);
                st.config.entrypoint = Some(cmd.clone());
                st.config.args_escaped = false;
                if !st.cmd_set {
                    st.config.cmd = None;
                }
                self.commit_nop(st, &format!("ENTRYPOINT {}", quote_slice(&cmd)), used_args)
            }
            Instruction::Healthcheck(h) => {
                if let Some(old) = st.config.healthcheck.as_ref().and_then(|h| h.test.clone())
                    && old.first().map(String::as_str) != Some("NONE")
                    && !old.is_empty()
                {
                    let text = format!(
                        "Note: overriding previous HEALTHCHECK: {}",
                        plain_slice(&old)
                    );
                    self.progress.event(Event::Note { text: &text });
                }
                let comment = healthcheck_comment(&h);
                st.config.healthcheck = Some(config::Healthcheck {
                    test: Some(h.test.clone()),
                    interval: h.interval.as_nanos() as i64,
                    timeout: h.timeout.as_nanos() as i64,
                    start_period: h.start_period.as_nanos() as i64,
                    start_interval: h.start_interval.as_nanos() as i64,
                    retries: i64::from(h.retries),
                });
                self.commit_nop(st, &comment, used_args)
            }
            Instruction::Workdir(w) => self.workdir(st, &w, used_args),
            Instruction::Copy(c) => {
                let from = match &c.from {
                    Some(f) => Some(self.expand(st, f)?),
                    None => None,
                };
                self.copy(
                    st,
                    "COPY",
                    &c.transfer,
                    from.as_deref(),
                    false,
                    None,
                    used_args,
                    line,
                )
            }
            Instruction::Add(a) => {
                if a.keep_git_dir {
                    return Err(BuildError::step(
                        line,
                        "ADD --keep-git-dir is not supported: strata's builder does not add git repositories",
                    ));
                }
                let checksum = a.checksum.as_deref().filter(|c| !c.is_empty());
                self.copy(
                    st,
                    "ADD",
                    &a.transfer,
                    None,
                    true,
                    checksum,
                    used_args,
                    line,
                )
            }
            Instruction::Run(r) => self.run(st, &r, line),
        }
    }
}

/// Shell form through the stage's shell, exec form as is (`resolveCmdLine`).
pub fn resolve_cmd_line(st: &StageState, c: &ShellOrExec) -> Vec<String> {
    match c {
        ShellOrExec::Shell(s) => {
            let mut v = st.shell();
            v.push(s.clone());
            v
        }
        ShellOrExec::Exec(v) => v.clone(),
    }
}

/// `HEALTHCHECK %q` of Docker 20.10's HealthConfig: `&{["CMD" "x"] "0s" "0s" "0s" '\x00'}`.
fn healthcheck_comment(h: &Healthcheck) -> String {
    format!(
        "HEALTHCHECK &{{{} {} {} {} {}}}",
        quote_slice(&h.test),
        strata_dockerfile::go_quote(&go_duration(h.interval)),
        strata_dockerfile::go_quote(&go_duration(h.timeout)),
        strata_dockerfile::go_quote(&go_duration(h.start_period)),
        quote_rune(i64::from(h.retries))
    )
}

/// `nat.ParsePortSpecs` for EXPOSE: `80`, `80/udp`, `8000-8002/tcp`.
fn parse_port_spec(spec: &str) -> std::result::Result<Vec<String>, String> {
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    let ports = ports.rsplit(':').next().unwrap_or(ports);
    let bad = || format!("Invalid containerPort: {spec}");
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(format!("Invalid range specified for the Port: {spec}"));
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

fn is_valid_signal(s: &str) -> bool {
    if let Ok(n) = s.parse::<u32>() {
        return (1..=64).contains(&n);
    }
    let name = s.strip_prefix("SIG").unwrap_or(s);
    const NAMES: [&str; 34] = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "UNUSED", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
    ];
    NAMES.contains(&name)
        || name == "XFSZ"
        || name.starts_with("RTMIN")
        || name.starts_with("RTMAX")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn port_specs() {
        assert_eq!(parse_port_spec("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(parse_port_spec("53/UDP").unwrap(), vec!["53/udp"]);
        assert_eq!(
            parse_port_spec("8000-8002").unwrap(),
            vec!["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        assert!(parse_port_spec("http").is_err());
    }

    #[test]
    fn healthcheck_history_text() {
        let h = Healthcheck {
            test: vec!["CMD-SHELL".into(), "true".into()],
            interval: Duration::from_secs(300),
            timeout: Duration::from_secs(3),
            start_period: Duration::ZERO,
            start_interval: Duration::ZERO,
            retries: 3,
        };
        assert_eq!(
            healthcheck_comment(&h),
            r#"HEALTHCHECK &{["CMD-SHELL" "true"] "5m0s" "3s" "0s" '\x03'}"#
        );
    }

    #[test]
    fn signals() {
        assert!(is_valid_signal("SIGKILL") && is_valid_signal("TERM") && is_valid_signal("9"));
        assert!(!is_valid_signal("SIGFOO") && !is_valid_signal("0"));
    }
}
