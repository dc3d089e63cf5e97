//! Node to typed instruction, with BuildKit's checks and messages (`instructions/parse.go`).

use super::duration::parse_go_duration;
use super::flags::Flags;
use super::mount::parse_mount;
use super::*;
use crate::error::ParseError;
use crate::parser::{Dockerfile, parse_heredoc};
use crate::util::{go_quote, suggest};
use std::sync::LazyLock;

type Res<T> = Result<T, String>;

const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}

fn exactly_one(cmd: &str) -> String {
    format!("{cmd} requires exactly one argument")
}

/// The arguments BuildKit's `nodeArgs` gives: ONBUILD's trigger name and arguments.
fn node_args(node: &Node) -> Vec<String> {
    let mut args = node.args.clone();
    if let Some(child) = &node.trigger {
        args.push(child.instruction.clone());
        args.extend(node_args(child));
    }
    args
}

/// Joins shell-form arguments (BuildKit's `handleJSONArgs`).
fn shell_or_exec(args: &[String], json: bool) -> ShellOrExec {
    if json {
        ShellOrExec::Exec(args.to_vec())
    } else {
        ShellOrExec::Shell(args.join(" "))
    }
}

/// Converts one node. Errors carry the node's lines.
pub fn parse_instruction(node: &Node) -> Result<Instruction, ParseError> {
    parse_node(node).map_err(|m| ParseError::new(node.start_line, node.end_line, m))
}

fn parse_node(node: &Node) -> Res<Instruction> {
    let args = node_args(node);
    let mut flags = Flags::new(&node.flags);
    let name = node.name();
    Ok(match name.as_str() {
        "env" => {
            flags.parse()?;
            Instruction::Env(key_values(&args, "ENV")?)
        }
        "label" => {
            flags.parse()?;
            Instruction::Label(key_values(&args, "LABEL")?)
        }
        "maintainer" => {
            let arg = single(&args, "MAINTAINER")?;
            flags.parse()?;
            Instruction::Maintainer(arg)
        }
        "add" => parse_add(node, &args, flags)?,
        "copy" => parse_copy(node, &args, flags)?,
        "from" => parse_from(&args, flags)?,
        "onbuild" => parse_onbuild(node, &args, flags)?,
        "workdir" => {
            let arg = single(&args, "WORKDIR")?;
            flags.parse()?;
            Instruction::Workdir(arg)
        }
        "run" => parse_run(node, &args, flags)?,
        "cmd" => {
            flags.parse()?;
            Instruction::Cmd(shell_or_exec(&args, node.json))
        }
        "entrypoint" => {
            flags.parse()?;
            Instruction::Entrypoint(shell_or_exec(&args, node.json))
        }
        "healthcheck" => parse_healthcheck(node, &args, flags)?,
        "expose" => {
            if args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            flags.parse()?;
            let mut ports = args;
            ports.sort();
            Instruction::Expose(ports)
        }
        "user" => {
            let arg = single(&args, "USER")?;
            flags.parse()?;
            Instruction::User(arg)
        }
        "volume" => {
            if args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            flags.parse()?;
            let mut volumes = Vec::new();
            for v in args {
                let v = v.trim_matches(char::is_whitespace);
                if v.is_empty() {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                volumes.push(v.to_string());
            }
            Instruction::Volume(volumes)
        }
        // BuildKit does not look at STOPSIGNAL's flags.
        "stopsignal" => Instruction::StopSignal(single(&args, "STOPSIGNAL")?),
        "arg" => parse_arg(&args)?,
        "shell" => {
            flags.parse()?;
            if args.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Instruction::Shell(args)
        }
        _ => {
            let mut msg = format!("unknown instruction: {}", node.instruction);
            if let Some(s) = suggest(&node.instruction, &INSTRUCTIONS, false) {
                msg.push_str(&format!(" (did you mean {s}?)"));
            }
            return Err(msg);
        }
    })
}

fn single(args: &[String], cmd: &str) -> Res<String> {
    match args {
        [one] => Ok(one.clone()),
        _ => Err(exactly_one(cmd)),
    }
}

fn key_values(args: &[String], cmd: &str) -> Res<Vec<KeyValue>> {
    if args.is_empty() {
        return Err(at_least_one(cmd));
    }
    if !args.len().is_multiple_of(3) {
        return Err(format!("Bad input to {cmd}, too many arguments"));
    }
    args.chunks(3)
        .map(|kv| {
            if kv[0].is_empty() {
                return Err(format!("{cmd} names can not be blank"));
            }
            Ok(KeyValue {
                key: kv[0].clone(),
                value: kv[1].clone(),
                legacy: kv[2].is_empty(),
            })
        })
        .collect()
}

fn parse_arg(args: &[String]) -> Res<Instruction> {
    if args.is_empty() {
        return Err(at_least_one("ARG"));
    }
    let mut defs = Vec::new();
    for arg in args {
        defs.push(match arg.split_once('=') {
            Some(("", _)) => return Err("ARG names can not be blank".into()),
            Some((k, v)) => ArgDef {
                name: k.to_string(),
                default: Some(v.to_string()),
            },
            None => ArgDef {
                name: arg.clone(),
                default: None,
            },
        });
    }
    Ok(Instruction::Arg(defs))
}

fn transfer(node: &Node, args: &[String], cmd: &str, flags: &Flags<'_>) -> Res<Transfer> {
    let (dest, sources) = args.split_last().ok_or_else(|| at_least_one(cmd))?;
    if parse_heredoc(dest).ok().flatten().is_some() {
        return Err(format!("{cmd} cannot accept a heredoc as a destination"));
    }
    let mut paths = Vec::new();
    let mut contents = Vec::new();
    for src in sources {
        match parse_heredoc(src).ok().flatten() {
            Some(doc) => {
                let found = node.heredocs.iter().rev().find(|h| h.name == doc.name);
                let data = found.map(|h| h.content.clone()).unwrap_or_default();
                let data = if doc.chomp {
                    crate::chomp_content(&data)
                } else {
                    data
                };
                contents.push(SourceContent {
                    path: doc.name,
                    data,
                    expand: doc.expand,
                });
            }
            None => paths.push(src.clone()),
        }
    }
    Ok(Transfer {
        sources: paths,
        contents,
        dest: dest.clone(),
        chown: flags.string("chown"),
        chmod: flags.string("chmod"),
        link: flags.bool("link"),
    })
}

fn no_destination(cmd: &str) -> String {
    format!(
        "{cmd} requires at least two arguments, but only one was provided. Destination could not be determined"
    )
}

fn parse_add(node: &Node, args: &[String], mut flags: Flags<'_>) -> Res<Instruction> {
    if args.len() < 2 {
        return Err(no_destination("ADD"));
    }
    flags.add_string("chown", "");
    flags.add_string("chmod", "");
    flags.add_bool("link");
    flags.add_bool("keep-git-dir");
    flags.add_string("checksum", "");
    flags.parse()?;
    Ok(Instruction::Add(Add {
        transfer: transfer(node, args, "ADD", &flags)?,
        keep_git_dir: flags.bool("keep-git-dir"),
        checksum: flags.string("checksum"),
    }))
}

fn parse_copy(node: &Node, args: &[String], mut flags: Flags<'_>) -> Res<Instruction> {
    if args.len() < 2 {
        return Err(no_destination("COPY"));
    }
    flags.add_string("chown", "");
    flags.add_string("from", "");
    flags.add_string("chmod", "");
    flags.add_bool("link");
    flags.parse()?;
    Ok(Instruction::Copy(Copy {
        transfer: transfer(node, args, "COPY", &flags)?,
        from: flags.string("from"),
    }))
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn parse_from(args: &[String], mut flags: Flags<'_>) -> Res<Instruction> {
    let name = match args {
        [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
            let lower = name.to_lowercase();
            if !valid_stage_name(&lower) {
                return Err(format!(
                    "invalid name for build stage: {}, name can't start with a number or contain symbols",
                    go_quote(name)
                ));
            }
            Some(lower)
        }
        [_] => None,
        _ => return Err("FROM requires either one or three arguments".into()),
    };
    flags.add_string("platform", "");
    flags.parse()?;
    Ok(Instruction::From(From {
        image: args[0].clone(),
        name,
        platform: flags.string("platform"),
    }))
}

static ONBUILD_PREFIX: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?i)^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*")
        .unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

fn parse_onbuild(node: &Node, args: &[String], mut flags: Flags<'_>) -> Res<Instruction> {
    let Some(child) = node.trigger.as_deref() else {
        return Err(at_least_one("ONBUILD"));
    };
    flags.parse()?;
    let trigger = args[0].trim_matches(char::is_whitespace).to_uppercase();
    match trigger.as_str() {
        "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
        "MAINTAINER" | "FROM" => {
            return Err(format!("{trigger} isn't allowed as an ONBUILD trigger"));
        }
        _ => {}
    }
    let mut expression = ONBUILD_PREFIX.replace(&node.original, "").into_owned();
    for doc in &node.heredocs {
        expression.push('\n');
        expression.push_str(&doc.content);
        expression.push_str(&doc.name);
    }
    let mut trigger_node = child.clone();
    trigger_node.heredocs = node.heredocs.clone();
    Ok(Instruction::Onbuild(Box::new(Onbuild {
        expression,
        trigger: trigger_node,
    })))
}

fn parse_run(node: &Node, args: &[String], mut flags: Flags<'_>) -> Res<Instruction> {
    flags.add_strings("mount");
    flags.add_string("network", "default");
    flags.parse()?;
    let mounts = flags.strings("mount");
    for m in &mounts {
        parse_mount(m, None)?;
    }
    let network = flags.string("network").unwrap_or_default();
    if !matches!(network.as_str(), "default" | "none" | "host") {
        return Err(format!("invalid network mode {}", go_quote(&network)));
    }
    Ok(Instruction::Run(Run {
        cmd: shell_or_exec(args, node.json),
        heredocs: node.heredocs.clone(),
        mounts,
        network,
        flags_used: flags.used(),
    }))
}

/// A duration flag: empty means zero; otherwise at least 1ms unless exactly zero.
fn interval(flags: &Flags<'_>, name: &str) -> Res<Duration> {
    let Some(value) = flags.string(name) else {
        return Ok(Duration::ZERO);
    };
    let (negative, d) = parse_go_duration(&value)?;
    if d.is_zero() {
        return Ok(d);
    }
    if negative || d < Duration::from_millis(1) {
        return Err(format!(
            "Interval {} cannot be less than 1ms",
            go_quote(name)
        ));
    }
    Ok(d)
}

fn parse_healthcheck(node: &Node, args: &[String], mut flags: Flags<'_>) -> Res<Instruction> {
    let Some((typ, rest)) = args.split_first() else {
        return Err(at_least_one("HEALTHCHECK"));
    };
    let typ = typ.to_uppercase();
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(Instruction::Healthcheck(Healthcheck {
            test: vec![typ],
            interval: Duration::ZERO,
            timeout: Duration::ZERO,
            start_period: Duration::ZERO,
            start_interval: Duration::ZERO,
            retries: 0,
        }));
    }
    for name in [
        "interval",
        "timeout",
        "start-period",
        "start-interval",
        "retries",
    ] {
        flags.add_string(name, "");
    }
    flags.parse()?;
    if typ != "CMD" {
        return Err(format!(
            "Unknown type {} in HEALTHCHECK (try CMD)",
            go_quote(&typ)
        ));
    }
    if rest.is_empty() {
        return Err("Missing command after HEALTHCHECK CMD".into());
    }
    let test = if node.json {
        std::iter::once("CMD".to_string())
            .chain(rest.iter().cloned())
            .collect()
    } else {
        vec!["CMD-SHELL".to_string(), rest.join(" ")]
    };
    let retries = match flags.string("retries") {
        None => 0,
        Some(r) => {
            let n = parse_go_int32(&r)?;
            if n < 0 {
                return Err(format!("--retries cannot be negative ({n})"));
            }
            n
        }
    };
    Ok(Instruction::Healthcheck(Healthcheck {
        test,
        interval: interval(&flags, "interval")?,
        timeout: interval(&flags, "timeout")?,
        start_period: interval(&flags, "start-period")?,
        start_interval: interval(&flags, "start-interval")?,
        retries,
    }))
}

/// Go's `strconv.ParseInt(s, 10, 32)` with its error wording.
fn parse_go_int32(s: &str) -> Res<i32> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse::<i32>().map_err(|_| {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    })
}

/// Converts a whole file: meta ARGs, then one stage per FROM.
pub fn parse_stages(dockerfile: &Dockerfile) -> Result<Stages, ParseError> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut meta_args = Vec::new();
    for node in &dockerfile.nodes {
        let instruction = parse_instruction(node)?;
        match instruction {
            Instruction::Arg(defs) if stages.is_empty() => meta_args.extend(defs),
            Instruction::From(from) => stages.push(Stage {
                base_name: from.image,
                name: from.name,
                platform: from.platform,
                commands: Vec::new(),
                start_line: node.start_line,
                original: node.original.trim_matches(char::is_whitespace).to_string(),
            }),
            instruction => {
                let Some(stage) = stages.last_mut() else {
                    return Err(ParseError::new(
                        node.start_line,
                        node.end_line,
                        "no build stage in current context",
                    ));
                };
                stage.commands.push(Command {
                    instruction,
                    start_line: node.start_line,
                    end_line: node.end_line,
                    original: node.original.clone(),
                });
            }
        }
    }
    Ok(Stages { meta_args, stages })
}

/// Parses a Dockerfile and converts it to stages in one call: the whole of Docker's
/// front end, so unknown instructions and instruction errors fail here too.
pub fn parse_file(data: &[u8]) -> Result<(Dockerfile, Stages), ParseError> {
    let dockerfile = crate::parse(data)?;
    let stages = parse_stages(&dockerfile)?;
    Ok((dockerfile, stages))
}
