//! `RUN --mount=...` values (BuildKit's `commands_runmount.go`).

use crate::util::suggest;

/// What kind of mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// `type=bind` (the default): a path from the context or another stage.
    Bind,
    /// `type=cache`: a persistent cache directory.
    Cache,
    /// `type=tmpfs`.
    Tmpfs,
    /// `type=secret`: a build secret as a file.
    Secret,
    /// `type=ssh`: an SSH agent socket.
    Ssh,
}

impl MountType {
    /// The name used in the flag.
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// Cache sharing mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Concurrent writers share the cache.
    Shared,
    /// Each writer gets its own cache if it is in use.
    Private,
    /// Writers wait for each other.
    Locked,
}

/// One parsed `--mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount type.
    pub mount_type: MountType,
    /// `from=`: stage or image to take the source from.
    pub from: Option<String>,
    /// `source=`/`src=`.
    pub source: Option<String>,
    /// `target=`/`dst=`/`destination=`.
    pub target: Option<String>,
    /// Read-only (defaults: bind, secret and ssh read-only; cache and tmpfs writable).
    pub read_only: bool,
    /// `id=` (cache id or secret/ssh id).
    pub id: Option<String>,
    /// `sharing=` for cache mounts.
    pub sharing: Option<Sharing>,
    /// `required` for secret and ssh mounts.
    pub required: bool,
    /// `mode=` (octal).
    pub mode: Option<u32>,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `gid=`.
    pub gid: Option<u32>,
    /// `size=` for tmpfs, in bytes.
    pub size_limit: Option<i64>,
}

/// Expands variables in a mount field value.
pub type Expander<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Go's `encoding/csv` reading one record: `,`-separated, `"` quoting with `""`.
fn read_csv_record(s: &str) -> Result<Vec<String>, String> {
    if s.is_empty() {
        return Err("EOF".into());
    }
    let chars: Vec<char> = s.chars().collect();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        let mut field = String::new();
        if chars.get(i) == Some(&'"') {
            let start_col = i + 1;
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(format!(
                            "parse error on line 1, column {start_col}: extraneous or missing \" in quoted-field"
                        ));
                    }
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        field.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        match chars.get(i) {
                            None | Some(',' | '\n' | '\r') => break,
                            Some(_) => {
                                return Err(format!(
                                    "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                                    i + 1
                                ));
                            }
                        }
                    }
                    Some(c) => {
                        field.push(*c);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(&c) = chars.get(i) {
                if c == ',' || c == '\n' || c == '\r' {
                    break;
                }
                if c == '"' {
                    return Err(format!(
                        "parse error on line 1, column {}: bare \" in non-quoted-field",
                        i + 1
                    ));
                }
                field.push(c);
                i += 1;
            }
        }
        fields.push(field);
        match chars.get(i) {
            Some(',') => i += 1,
            _ => return Ok(fields),
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn parse_u32(v: &str, radix: u32) -> Option<u32> {
    if v.is_empty() || !v.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(v, radix).ok()
}

/// docker/go-units `RAMInBytes`: `64m`, `1.5GiB`, `512 kb` (binary multiples).
pub(crate) fn ram_in_bytes(v: &str) -> Option<i64> {
    let num_len = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, rest) = v.split_at(num_len);
    if num.is_empty()
        || !num.starts_with(|c: char| c.is_ascii_digit())
        || num.ends_with('.')
        || num.contains("..")
    {
        return None;
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let mut chars = rest.chars().peekable();
    let mut mult: f64 = 1.0;
    if let Some(&c) = chars.peek() {
        let power = match c.to_ascii_lowercase() {
            'k' => Some(1),
            'm' => Some(2),
            'g' => Some(3),
            't' => Some(4),
            'p' => Some(5),
            _ => None,
        };
        if let Some(p) = power {
            mult = 1024f64.powi(p);
            chars.next();
        }
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        chars.next();
    }
    if chars.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        chars.next();
    }
    if chars.next().is_some() {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    Some((n * mult) as i64)
}

/// Parses one `--mount` value. Without an expander (at parse time) only the syntax
/// and `from=` are checked, as BuildKit defers the rest until variables are known.
pub fn parse_mount(value: &str, expander: Option<Expander<'_>>) -> Result<Mount, String> {
    let fields = read_csv_record(value).map_err(|e| format!("failed to parse csv mounts: {e}"))?;
    let mut m = Mount {
        mount_type: MountType::Bind,
        from: None,
        source: None,
        target: None,
        read_only: false,
        id: None,
        sharing: None,
        required: false,
        mode: None,
        uid: None,
        gid: None,
        size_limit: None,
    };
    let mut ro_auto = true;
    for field in &fields {
        let (key, raw_value) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v)),
            None => (field.to_lowercase(), None),
        };
        let Some(raw_value) = raw_value else {
            if expander.is_none() {
                continue;
            }
            match key.as_str() {
                "readonly" | "ro" => {
                    m.read_only = true;
                    ro_auto = false;
                }
                "readwrite" | "rw" => {
                    m.read_only = false;
                    ro_auto = false;
                }
                "required" if matches!(m.mount_type, MountType::Secret | MountType::Ssh) => {
                    m.required = true;
                }
                "required" => {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.mount_type.as_str()
                    ));
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let v = match expander {
            Some(expand) => expand(raw_value)?,
            None if key == "from" => {
                let chars: Vec<char> = raw_value.chars().collect();
                if chars.windows(2).any(|w| w[0] == '$') {
                    return Err(format!(
                        "'{key}' doesn't support variable expansion, define alias stage instead"
                    ));
                }
                raw_value.to_string()
            }
            None => continue,
        };
        let invalid_value = || format!("invalid value for {key}: {v}");
        let unexpected =
            |t: MountType| format!("unexpected key '{key}' for mount type '{}'", t.as_str());
        match key.as_str() {
            "type" => {
                m.mount_type = match v.to_lowercase().as_str() {
                    "bind" => MountType::Bind,
                    "cache" => MountType::Cache,
                    "tmpfs" => MountType::Tmpfs,
                    "secret" => MountType::Secret,
                    "ssh" => MountType::Ssh,
                    _ => {
                        let mut msg =
                            format!("unsupported mount type {}", crate::util::go_quote(&v));
                        if let Some(s) =
                            suggest(&v, &["bind", "cache", "tmpfs", "secret", "ssh"], true)
                        {
                            msg.push_str(&format!(" (did you mean {s}?)"));
                        }
                        return Err(msg);
                    }
                };
            }
            "from" => m.from = Some(v),
            "source" | "src" => m.source = Some(v),
            "target" | "dst" | "destination" => m.target = Some(v),
            "readonly" | "ro" => {
                m.read_only = parse_bool(&v).ok_or_else(invalid_value)?;
                ro_auto = false;
            }
            "readwrite" | "rw" => {
                m.read_only = !parse_bool(&v).ok_or_else(invalid_value)?;
                ro_auto = false;
            }
            "required" => match m.mount_type {
                MountType::Secret | MountType::Ssh => {
                    m.required = parse_bool(&v).ok_or_else(invalid_value)?;
                }
                t => return Err(unexpected(t)),
            },
            "size" => match m.mount_type {
                MountType::Tmpfs => {
                    m.size_limit = Some(ram_in_bytes(&v).ok_or_else(invalid_value)?)
                }
                t => return Err(unexpected(t)),
            },
            "id" => m.id = Some(v),
            "sharing" => {
                m.sharing = Some(match v.to_lowercase().as_str() {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    "locked" => Sharing::Locked,
                    _ => {
                        return Err(format!(
                            "unsupported sharing value {}",
                            crate::util::go_quote(&v)
                        ));
                    }
                });
            }
            "mode" => {
                m.mode =
                    Some(parse_u32(&v, 8).ok_or_else(|| format!("invalid value {v} for mode"))?)
            }
            "uid" => {
                m.uid = Some(parse_u32(&v, 10).ok_or_else(|| format!("invalid value {v} for uid"))?)
            }
            "gid" => {
                m.gid = Some(parse_u32(&v, 10).ok_or_else(|| format!("invalid value {v} for gid"))?)
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    validate(&mut m, ro_auto)?;
    Ok(m)
}

fn validate(m: &mut Mount, ro_auto: bool) -> Result<(), String> {
    let t = m.mount_type;
    if !matches!(t, MountType::Secret | MountType::Ssh | MountType::Cache) {
        for (name, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return Err(format!(
                    "{name} not allowed for {} type mounts",
                    crate::util::go_quote(t.as_str())
                ));
            }
        }
    }
    if ro_auto {
        m.read_only = !matches!(t, MountType::Cache | MountType::Tmpfs);
    }
    if t == MountType::Secret {
        if m.from.is_some() {
            return Err("secret mount should not have a from".into());
        }
        if m.sharing.is_some() {
            return Err("secret mount should not define sharing".into());
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() {
            return Err("invalid secret mount. one of source, target required".into());
        }
        if m.source.is_some() && m.id.is_some() {
            return Err("both source and id can't be set".into());
        }
    }
    if m.sharing.is_some() && t != MountType::Cache {
        return Err(format!(
            "invalid cache sharing set for {} mount",
            t.as_str()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(s: &str) -> Result<String, String> {
        Ok(s.to_string())
    }

    fn full(v: &str) -> Result<Mount, String> {
        parse_mount(v, Some(&identity))
    }

    #[test]
    fn cache_and_bind_mounts() {
        let m = full("type=cache,target=/root/.cache,id=x,sharing=locked,mode=0755,uid=1").unwrap();
        assert_eq!(m.mount_type, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(
            (m.sharing, m.mode, m.uid, m.read_only),
            (Some(Sharing::Locked), Some(0o755), Some(1), false)
        );
        let m = full("target=/src,from=build,rw").unwrap();
        assert_eq!(
            (m.mount_type, m.read_only, m.from.as_deref()),
            (MountType::Bind, false, Some("build"))
        );
        assert!(full("target=/src").unwrap().read_only);
        let m = full("type=tmpfs,target=/t,size=64m").unwrap();
        assert_eq!(m.size_limit, Some(64 * 1024 * 1024));
        let m = full("\"type=secret\",id=tok,required").unwrap();
        assert!(m.required && m.read_only);
    }

    #[test]
    fn mount_errors() {
        assert_eq!(
            full("type=foo").unwrap_err(),
            "unsupported mount type \"foo\""
        );
        assert_eq!(
            full("type=cahce").unwrap_err(),
            "unsupported mount type \"cahce\" (did you mean cache?)"
        );
        assert_eq!(
            full("target=/a,mode=0700").unwrap_err(),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            full("type=secret").unwrap_err(),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            full("bogus=1").unwrap_err(),
            "unexpected key 'bogus' in 'bogus=1'"
        );
        assert_eq!(
            full("target=/a,noval").unwrap_err(),
            "invalid field 'noval' must be a key=value pair"
        );
        assert_eq!(
            full("target=/a,sharing=shared").unwrap_err(),
            "invalid cache sharing set for bind mount"
        );
        assert_eq!(
            full("type=cache,uid=x").unwrap_err(),
            "invalid value x for uid"
        );
        assert!(
            full("a\"b")
                .unwrap_err()
                .starts_with("failed to parse csv mounts: parse error")
        );
        assert_eq!(
            parse_mount("from=$X,target=/a", None).unwrap_err(),
            "'from' doesn't support variable expansion, define alias stage instead"
        );
        assert!(parse_mount("type=$T,target=/a", None).is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(ram_in_bytes("1k"), Some(1024));
        assert_eq!(ram_in_bytes("1.5 GiB"), Some(1610612736));
        assert_eq!(ram_in_bytes("10"), Some(10));
        assert_eq!(ram_in_bytes("x"), None);
    }
}
