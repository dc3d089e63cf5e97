use super::*;
use crate::parse;

fn one(src: &str) -> Result<Instruction, String> {
    let df = parse(src.as_bytes()).map_err(|e| e.to_string())?;
    parse_instruction(&df.nodes[0]).map_err(|e| e.to_string())
}

fn err(src: &str) -> String {
    match one(src) {
        Ok(i) => panic!("{src:?} parsed: {i:?}"),
        Err(e) => e,
    }
}

#[test]
fn from_forms() {
    assert_eq!(
        one("FROM --platform=linux/arm64 alpine:3 AS Build").unwrap(),
        Instruction::From(From {
            image: "alpine:3".into(),
            name: Some("build".into()),
            platform: Some("linux/arm64".into()),
        })
    );
    assert_eq!(
        err("FROM"),
        "dockerfile parse error on line 1: FROM requires either one or three arguments"
    );
    assert!(err("FROM a AS 1x").contains("invalid name for build stage: \"1x\""));
    assert!(err("FROM a b").contains("FROM requires either one or three arguments"));
}

#[test]
fn run_forms() {
    let Instruction::Run(run) =
        one("RUN --mount=type=cache,target=/c --network=none echo hi").unwrap()
    else {
        panic!("not run")
    };
    assert_eq!(run.cmd, ShellOrExec::Shell("echo hi".into()));
    assert_eq!(run.mounts, vec!["type=cache,target=/c"]);
    assert_eq!(run.network, "none");
    let Instruction::Run(run) = one("RUN [\"echo\", \"hi\"]").unwrap() else {
        panic!()
    };
    assert_eq!(run.cmd, ShellOrExec::Exec(vec!["echo".into(), "hi".into()]));
    assert_eq!(run.network, "default");
    assert!(err("RUN --network=bridge x").ends_with("invalid network mode \"bridge\""));
    assert!(err("RUN --mont=a x").ends_with("unknown flag: --mont (did you mean mount?)"));
    assert!(err("RUN --mount=from=$X,target=/a x").ends_with("define alias stage instead"));
}

#[test]
fn run_heredoc() {
    let Instruction::Run(run) = one("RUN <<EOF\necho a\necho b\nEOF\n").unwrap() else {
        panic!()
    };
    assert_eq!(run.cmd, ShellOrExec::Shell("<<EOF".into()));
    assert_eq!(run.heredocs.len(), 1);
    assert_eq!(run.heredocs[0].content, "echo a\necho b\n");
}

#[test]
fn copy_and_add() {
    let Instruction::Copy(c) =
        one("COPY --from=build --chown=1:2 --chmod=755 --link a b /dst/").unwrap()
    else {
        panic!()
    };
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.transfer.sources, vec!["a", "b"]);
    assert_eq!(c.transfer.dest, "/dst/");
    assert_eq!(c.transfer.chown.as_deref(), Some("1:2"));
    assert_eq!(c.transfer.chmod.as_deref(), Some("755"));
    assert!(c.transfer.link);
    let Instruction::Add(a) = one("ADD --keep-git-dir --checksum=sha256:x https://e/x /x").unwrap()
    else {
        panic!()
    };
    assert!(a.keep_git_dir);
    assert_eq!(a.checksum.as_deref(), Some("sha256:x"));
    assert!(err("COPY a").ends_with(
        "COPY requires at least two arguments, but only one was provided. Destination could not be determined"
    ));
    assert!(err("ADD --from=x a b").ends_with("unknown flag: --from"));
    assert!(
        err("COPY a <<EOF\nx\nEOF\n").ends_with("COPY cannot accept a heredoc as a destination")
    );
}

#[test]
fn copy_heredoc_sources() {
    let Instruction::Copy(c) = one("COPY <<A <<-'B' /dst/\nfoo $X\nA\n\tbar\n\tB\n").unwrap()
    else {
        panic!()
    };
    assert!(c.transfer.sources.is_empty());
    assert_eq!(c.transfer.contents.len(), 2);
    assert_eq!(c.transfer.contents[0].data, "foo $X\n");
    assert!(c.transfer.contents[0].expand);
    assert_eq!(c.transfer.contents[1].data, "bar\n");
    assert!(!c.transfer.contents[1].expand);
}

#[test]
fn env_label_arg() {
    assert_eq!(
        one("ENV a=b c=\"d e\"").unwrap(),
        Instruction::Env(vec![
            KeyValue {
                key: "a".into(),
                value: "b".into(),
                legacy: false
            },
            KeyValue {
                key: "c".into(),
                value: "\"d e\"".into(),
                legacy: false
            },
        ])
    );
    assert_eq!(
        one("ENV a b c").unwrap(),
        Instruction::Env(vec![KeyValue {
            key: "a".into(),
            value: "b c".into(),
            legacy: true
        }])
    );
    assert!(err("ENV a").ends_with("ENV must have two arguments"));
    assert!(err("ENV =b").ends_with("ENV names can not be blank"));
    assert!(err("ENV a=b c").contains("Syntax error - can't find = in \"c\""));
    assert!(err("LABEL").ends_with("LABEL requires at least one argument"));
    assert_eq!(
        one("ARG a b=c").unwrap(),
        Instruction::Arg(vec![
            ArgDef {
                name: "a".into(),
                default: None
            },
            ArgDef {
                name: "b".into(),
                default: Some("c".into())
            },
        ])
    );
    assert!(err("ARG").ends_with("ARG requires at least one argument"));
    assert!(err("ARG =x").ends_with("ARG names can not be blank"));
}

#[test]
fn healthcheck() {
    let Instruction::Healthcheck(h) =
        one("HEALTHCHECK --interval=5s --timeout=3s --start-period=1m --start-interval=2s --retries=3 CMD curl -f x").unwrap()
    else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD-SHELL", "curl -f x"]);
    assert_eq!(h.interval, Duration::from_secs(5));
    assert_eq!(h.timeout, Duration::from_secs(3));
    assert_eq!(h.start_period, Duration::from_secs(60));
    assert_eq!(h.start_interval, Duration::from_secs(2));
    assert_eq!(h.retries, 3);
    let Instruction::Healthcheck(h) = one("HEALTHCHECK CMD [\"a\", \"b\"]").unwrap() else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD", "a", "b"]);
    let Instruction::Healthcheck(h) = one("HEALTHCHECK none").unwrap() else {
        panic!()
    };
    assert_eq!(h.test, vec!["NONE"]);
    assert!(err("HEALTHCHECK NONE x").ends_with("HEALTHCHECK NONE takes no arguments"));
    assert!(err("HEALTHCHECK").ends_with("HEALTHCHECK requires at least one argument"));
    assert!(err("HEALTHCHECK CMD").ends_with("Missing command after HEALTHCHECK CMD"));
    assert!(err("HEALTHCHECK FOO x").ends_with("Unknown type \"FOO\" in HEALTHCHECK (try CMD)"));
    assert!(
        err("HEALTHCHECK --interval=1x CMD a")
            .ends_with("time: unknown unit \"x\" in duration \"1x\"")
    );
    assert!(
        err("HEALTHCHECK --interval=5 CMD a").ends_with("time: missing unit in duration \"5\"")
    );
    assert!(
        err("HEALTHCHECK --timeout=1us CMD a")
            .ends_with("Interval \"timeout\" cannot be less than 1ms")
    );
    assert!(err("HEALTHCHECK --retries=-1 CMD a").ends_with("--retries cannot be negative (-1)"));
    assert!(
        err("HEALTHCHECK --retries=x CMD a")
            .ends_with("strconv.ParseInt: parsing \"x\": invalid syntax")
    );
}

#[test]
fn simple_instructions() {
    assert_eq!(
        one("CMD echo hi").unwrap(),
        Instruction::Cmd(ShellOrExec::Shell("echo hi".into()))
    );
    assert_eq!(
        one("ENTRYPOINT []").unwrap(),
        Instruction::Entrypoint(ShellOrExec::Exec(vec![]))
    );
    assert_eq!(
        one("WORKDIR /a b").unwrap(),
        Instruction::Workdir("/a b".into())
    );
    assert_eq!(one("USER u:g").unwrap(), Instruction::User("u:g".into()));
    assert_eq!(
        one("STOPSIGNAL SIGKILL").unwrap(),
        Instruction::StopSignal("SIGKILL".into())
    );
    assert_eq!(
        one("MAINTAINER me").unwrap(),
        Instruction::Maintainer("me".into())
    );
    assert_eq!(
        one("EXPOSE 80 443/tcp 22").unwrap(),
        Instruction::Expose(vec!["22".into(), "443/tcp".into(), "80".into()])
    );
    assert_eq!(
        one("VOLUME [\"/a\", \"/b\"]").unwrap(),
        Instruction::Volume(vec!["/a".into(), "/b".into()])
    );
    assert!(err("VOLUME [\"\"]").ends_with("VOLUME specified can not be an empty string"));
    assert_eq!(
        one("SHELL [\"/bin/bash\", \"-c\"]").unwrap(),
        Instruction::Shell(vec!["/bin/bash".into(), "-c".into()])
    );
    assert!(err("SHELL /bin/bash").ends_with("SHELL requires the arguments to be in JSON form"));
    assert!(err("WORKDIR").ends_with("WORKDIR requires exactly one argument"));
    assert!(err("EXPOSE").ends_with("EXPOSE requires at least one argument"));
    assert!(err("CMD --foo x").ends_with("unknown flag: --foo"));
}

#[test]
fn onbuild() {
    let Instruction::Onbuild(o) = one("ONBUILD RUN echo hi").unwrap() else {
        panic!()
    };
    assert_eq!(o.expression, "RUN echo hi");
    assert_eq!(
        o.trigger_instruction().unwrap(),
        Instruction::Run(Run {
            cmd: ShellOrExec::Shell("echo hi".into()),
            heredocs: vec![],
            mounts: vec![],
            network: "default".into(),
            flags_used: vec![],
        })
    );
    assert!(
        err("ONBUILD ONBUILD RUN x")
            .ends_with("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    );
    assert!(err("ONBUILD FROM x").ends_with("FROM isn't allowed as an ONBUILD trigger"));
    assert!(err("ONBUILD").ends_with("ONBUILD requires at least one argument"));
}

#[test]
fn unknown_instruction() {
    assert_eq!(
        err("XYZZY bar"),
        "dockerfile parse error on line 1: unknown instruction: XYZZY"
    );
    assert!(err("FOO bar").ends_with("unknown instruction: FOO (did you mean FROM?)"));
    let df = parse(b"FROM a\nRUN x\nFORM b\n").unwrap();
    let e = parse_stages(&df).unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(e.message, "unknown instruction: FORM (did you mean FROM?)");
    let df = parse(b"FROM a\nrunn x\n").unwrap();
    assert_eq!(
        parse_stages(&df).unwrap_err().message,
        "unknown instruction: runn (did you mean run?)"
    );
}

#[test]
fn stages_and_meta_args() {
    let df = parse(b"ARG V=1\nFROM a:$V AS one\nRUN x\nFROM one\nARG Y\nCOPY --from=one /a /b\n")
        .unwrap();
    let s = parse_stages(&df).unwrap();
    assert_eq!(
        s.meta_args,
        vec![ArgDef {
            name: "V".into(),
            default: Some("1".into())
        }]
    );
    assert_eq!(s.stages.len(), 2);
    assert_eq!(s.stages[0].base_name, "a:$V");
    assert_eq!(s.stages[0].commands.len(), 1);
    assert_eq!(s.stages[1].commands.len(), 2);
    assert_eq!(s.stages[1].commands[1].start_line, 6);
    let df = parse(b"ARG A\nENV x=y\nFROM a\n").unwrap();
    let e = parse_stages(&df).unwrap_err();
    assert_eq!(
        e.to_string(),
        "dockerfile parse error on line 2: no build stage in current context"
    );
}
