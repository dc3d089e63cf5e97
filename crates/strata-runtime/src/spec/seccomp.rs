//! Seccomp as Docker does it: a profile in Docker's JSON format (the default one, or the
//! file given with `--security-opt seccomp=PATH`, kept compacted in `HostConfig.SecurityOpt`)
//! is turned into the OCI `linux.seccomp` for this machine: its architecture (and those it
//! can run), the rules whose capability, architecture and kernel conditions hold for this
//! container. `--privileged` and `seccomp=unconfined` mean no filter.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Result, RuntimeError};

/// Docker's `types.Seccomp`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMap>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub sub_architectures: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// The old single-name form.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub names: Vec<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub args: Vec<Arg>,
    #[serde(default)]
    pub includes: Filter,
    #[serde(default)]
    pub excludes: Filter,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

impl Arg {
    pub fn new(index: u32, value: u64, op: &str) -> Arg {
        Arg {
            index,
            value,
            value_two: 0,
            op: op.into(),
        }
    }

    /// `arg & mask == 0`: none of the mask's bits set.
    pub fn masked(index: u32, mask: u64) -> Arg {
        Arg {
            index,
            value: mask,
            value_two: 0,
            op: "SCMP_CMP_MASKED_EQ".into(),
        }
    }
}

/// A rule's `includes` / `excludes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub caps: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

const ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
];

const OPS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

fn invalid(message: String) -> RuntimeError {
    RuntimeError::InvalidSecurityOpt(message)
}

/// Parses and checks a profile given by the user (Docker's `loadProfile` errors).
pub fn parse_profile(json: &str) -> Result<Profile> {
    let profile: Profile = serde_json::from_str(json)
        .map_err(|e| invalid(format!("Decoding seccomp profile failed: {e}")))?;
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(invalid(
            "'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'".into(),
        ));
    }
    if !ACTIONS.contains(&profile.default_action.as_str()) {
        return Err(invalid(format!(
            "unrecognized seccomp action: {:?}",
            profile.default_action
        )));
    }
    for rule in &profile.syscalls {
        if !rule.name.is_empty() && !rule.names.is_empty() {
            return Err(invalid(
                "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'".into(),
            ));
        }
        if !ACTIONS.contains(&rule.action.as_str()) {
            return Err(invalid(format!(
                "unrecognized seccomp action: {:?}",
                rule.action
            )));
        }
        if let Some(arg) = rule.args.iter().find(|a| !OPS.contains(&a.op.as_str())) {
            return Err(invalid(format!(
                "unrecognized seccomp operator: {:?}",
                arg.op
            )));
        }
    }
    Ok(profile)
}

/// This machine's architecture as Go names it (the profile's `arches`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// This machine's architecture as libseccomp names it (the profile's `archMap`).
fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "SCMP_ARCH_X86_64",
        "aarch64" => "SCMP_ARCH_AARCH64",
        "x86" => "SCMP_ARCH_X86",
        "arm" => "SCMP_ARCH_ARM",
        "s390x" => "SCMP_ARCH_S390X",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "powerpc64" if cfg!(target_endian = "little") => "SCMP_ARCH_PPC64LE",
        "powerpc64" => "SCMP_ARCH_PPC64",
        "loongarch64" => "SCMP_ARCH_LOONGARCH64",
        _ => "SCMP_ARCH_NATIVE",
    }
}

/// The running kernel's (major, minor).
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    parse_version(&release).unwrap_or((0, 0))
}

fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Whether a rule applies to a container with `caps` on this machine (Docker's
/// `setupSeccomp`: every included capability needed, any excluded one rules it out).
fn applies(rule: &Rule, caps: &[String], arch: &str, kernel: (u32, u32)) -> bool {
    let has = |c: &String| caps.contains(c);
    if rule.excludes.arches.iter().any(|a| a == arch) || rule.excludes.caps.iter().any(has) {
        return false;
    }
    if !rule.includes.arches.is_empty() && !rule.includes.arches.iter().any(|a| a == arch) {
        return false;
    }
    if !rule.includes.caps.iter().all(has) {
        return false;
    }
    match rule.includes.min_kernel.as_deref().map(parse_version) {
        Some(Some(min)) => kernel >= min,
        _ => true,
    }
}

/// The OCI `linux.seccomp` of `profile` for a container with capabilities `caps`.
pub fn to_oci(profile: &Profile, caps: &[String]) -> Value {
    let native = native_arch();
    let architectures: Vec<String> = if profile.arch_map.is_empty() {
        profile.architectures.clone()
    } else {
        profile
            .arch_map
            .iter()
            .filter(|m| m.architecture == native)
            .flat_map(|m| {
                std::iter::once(m.architecture.clone()).chain(m.sub_architectures.clone())
            })
            .collect()
    };
    let (arch, kernel) = (go_arch(), kernel_version());
    let syscalls: Vec<Value> = profile
        .syscalls
        .iter()
        .filter(|r| applies(r, caps, arch, kernel))
        .map(|r| {
            let names = if r.name.is_empty() {
                r.names.clone()
            } else {
                vec![r.name.clone()]
            };
            let mut out = json!({"names": names, "action": r.action});
            if let Some(errno) = r.errno_ret {
                out["errnoRet"] = json!(errno);
            }
            if !r.args.is_empty() {
                out["args"] =
                    json!(r.args.iter().map(|a| json!({
                    "index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op,
                })).collect::<Vec<_>>());
            }
            out
        })
        .collect();
    let mut out = json!({
        "defaultAction": profile.default_action,
        "architectures": architectures,
        "syscalls": syscalls,
    });
    if let Some(errno) = profile.default_errno_ret {
        out["defaultErrnoRet"] = json!(errno);
    }
    if !profile.flags.is_empty() {
        out["flags"] = json!(profile.flags);
    }
    out
}

/// What `--security-opt` asks for seccomp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    Default,
    Unconfined,
    /// A profile's JSON, as the CLI read it from the file.
    Profile(String),
}

/// Splits one `--security-opt` as Docker does: `key=value`, or the old `key:value`.
fn split_opt(opt: &str) -> Result<(&str, &str)> {
    if let Some(kv) = opt.split_once('=') {
        return Ok(kv);
    }
    if opt == "no-new-privileges" {
        return Ok((opt, "true"));
    }
    opt.split_once(':')
        .ok_or_else(|| invalid(format!("Invalid --security-opt: {opt:?}")))
}

/// Checks the `--security-opt`s the runtime supports (seccomp, no-new-privileges) and says
/// which seccomp profile they select.
pub fn from_security_opts(opts: &[String]) -> Result<Seccomp> {
    let mut seccomp = Seccomp::Default;
    for opt in opts {
        let (key, value) = split_opt(opt)?;
        match key {
            "seccomp" if value == "unconfined" => seccomp = Seccomp::Unconfined,
            "seccomp" => {
                parse_profile(value)?;
                seccomp = Seccomp::Profile(value.to_string());
            }
            // Containers always run with no_new_privs unless --privileged.
            "no-new-privileges" if value == "true" => {}
            "no-new-privileges" if value == "false" => {}
            "no-new-privileges" => {
                return Err(invalid(format!("invalid --security-opt 2: {opt:?}")));
            }
            _ => return Err(invalid(format!("invalid --security-opt 2: {opt:?}"))),
        }
    }
    Ok(seccomp)
}

/// The `linux.seccomp` of a container, or None for no filter.
pub fn for_container(
    privileged: bool,
    security_opts: &[String],
    caps: &[String],
) -> Result<Option<Value>> {
    if privileged {
        return Ok(None);
    }
    Ok(match from_security_opts(security_opts)? {
        Seccomp::Unconfined => None,
        Seccomp::Default => Some(to_oci(&super::seccomp_default::profile(), caps)),
        Seccomp::Profile(json) => Some(to_oci(&parse_profile(&json)?, caps)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn allowed(spec: &Value) -> Vec<String> {
        spec["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "SCMP_ACT_ALLOW" && r.get("args").is_none())
            .flat_map(|r| r["names"].as_array().unwrap().clone())
            .map(|n| n.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn default_profile_depends_on_capabilities() {
        let profile = super::super::seccomp_default::profile();
        let plain = to_oci(&profile, &caps(super::super::DEFAULT_CAPS));
        assert_eq!(plain["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(plain["defaultErrnoRet"], 1);
        let names = allowed(&plain);
        assert!(names.contains(&"read".to_string()));
        assert!(
            names.contains(&"chroot".to_string()),
            "CAP_SYS_CHROOT is default"
        );
        for blocked in ["mount", "unshare", "keyctl", "setns", "reboot"] {
            assert!(!names.contains(&blocked.to_string()), "{blocked}");
        }
        // clone limited by its flags, clone3 answers ENOSYS.
        let rules = plain["syscalls"].as_array().unwrap();
        assert!(
            rules
                .iter()
                .any(|r| r["names"][0] == "clone3" && r["errnoRet"] == 38)
        );
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(
                plain["architectures"],
                json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
            );
            assert!(names.contains(&"arch_prctl".to_string()));
        }

        let admin = to_oci(&profile, &caps(&["CAP_SYS_ADMIN"]));
        let names = allowed(&admin);
        assert!(names.contains(&"mount".to_string()) && names.contains(&"unshare".to_string()));
        let rules = admin["syscalls"].as_array().unwrap();
        assert!(
            !rules
                .iter()
                .any(|r| r["names"][0] == "clone3" && r["action"] == "SCMP_ACT_ERRNO")
        );
    }

    #[test]
    fn security_opts_follow_docker() {
        let opts = |list: &[&str]| from_security_opts(&caps(list));
        assert_eq!(opts(&[]).unwrap(), Seccomp::Default);
        assert_eq!(opts(&["seccomp=unconfined"]).unwrap(), Seccomp::Unconfined);
        assert_eq!(opts(&["seccomp:unconfined"]).unwrap(), Seccomp::Unconfined);
        let json = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        assert!(matches!(
            opts(&[&format!("seccomp={json}")]).unwrap(),
            Seccomp::Profile(_)
        ));
        assert!(
            opts(&["seccomp={bad"])
                .unwrap_err()
                .to_string()
                .starts_with("Decoding seccomp profile failed")
        );
        assert_eq!(
            opts(&["apparmor"]).unwrap_err().to_string(),
            "Invalid --security-opt: \"apparmor\""
        );
        assert!(for_container(true, &[], &[]).unwrap().is_none());
        assert_eq!(parse_version("6.1.0-18-amd64\n"), Some((6, 1)));
    }
}
