//! Instruction flags with BuildKit's `BFlags` rules and wording.

use crate::util::suggest;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Bool(bool),
    Str(String),
    Strings(Vec<String>),
}

/// The flags one instruction accepts, filled in by [`Flags::parse`].
pub(crate) struct Flags<'a> {
    args: &'a [String],
    defs: Vec<(&'static str, Value)>,
    used: Vec<&'static str>,
}

impl<'a> Flags<'a> {
    pub fn new(args: &'a [String]) -> Self {
        Flags {
            args,
            defs: Vec::new(),
            used: Vec::new(),
        }
    }

    pub fn add_bool(&mut self, name: &'static str) {
        self.defs.push((name, Value::Bool(false)));
    }

    pub fn add_string(&mut self, name: &'static str, default: &str) {
        self.defs.push((name, Value::Str(default.to_string())));
    }

    pub fn add_strings(&mut self, name: &'static str) {
        self.defs.push((name, Value::Strings(Vec::new())));
    }

    /// Checks the given flags against the declared ones.
    pub fn parse(&mut self) -> Result<(), String> {
        for a in self.args {
            if a == "--" {
                return Ok(());
            }
            let Some(stripped) = a.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {a}"));
            };
            let (name, value) = match stripped.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (stripped, None),
            };
            let flag_name = format!("--{name}");
            let Some(idx) = self.defs.iter().position(|(n, _)| *n == name) else {
                let names: Vec<&str> = self.defs.iter().map(|(n, _)| *n).collect();
                let mut msg = format!("unknown flag: {flag_name}");
                if let Some(m) = suggest(name, &names, true) {
                    msg.push_str(&format!(" (did you mean {m}?)"));
                }
                return Err(msg);
            };
            let def_name = self.defs[idx].0;
            let is_strings = matches!(self.defs[idx].1, Value::Strings(_));
            if self.used.contains(&def_name) && !is_strings {
                return Err(format!("duplicate flag specified: {flag_name}"));
            }
            self.used.push(def_name);
            match &mut self.defs[idx].1 {
                Value::Bool(b) => {
                    if value == Some("") {
                        return Err(format!("missing a value on flag: {flag_name}"));
                    }
                    match value.map(str::to_lowercase).as_deref() {
                        None | Some("true") => *b = true,
                        Some("false") => *b = false,
                        Some(_) => {
                            return Err(format!(
                                "expecting boolean value for flag {flag_name}, not: {}",
                                value.unwrap_or_default()
                            ));
                        }
                    }
                }
                Value::Str(s) => match value {
                    None => return Err(format!("missing a value on flag: {flag_name}")),
                    Some(v) => *s = v.to_string(),
                },
                Value::Strings(list) => match value {
                    None => return Err(format!("missing a value on flag: {flag_name}")),
                    Some(v) => list.push(v.to_string()),
                },
            }
        }
        Ok(())
    }

    fn value(&self, name: &str) -> Option<&Value> {
        self.defs.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.value(name), Some(Value::Bool(true)))
    }

    /// The value, or `None` when it is empty (BuildKit treats "" as not set).
    pub fn string(&self, name: &str) -> Option<String> {
        match self.value(name) {
            Some(Value::Str(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.value(name) {
            Some(Value::Strings(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    /// Names of the flags given, in order of first use.
    pub fn used(&self) -> Vec<String> {
        self.used.iter().map(|s| s.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<(bool, Option<String>, Vec<String>), String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut f = Flags::new(&args);
        f.add_bool("link");
        f.add_string("from", "");
        f.add_strings("mount");
        f.parse()?;
        Ok((f.bool("link"), f.string("from"), f.strings("mount")))
    }

    #[test]
    fn values() {
        assert_eq!(
            parse(&["--link", "--from=a"]).unwrap(),
            (true, Some("a".into()), vec![])
        );
        assert!(!parse(&["--link=FALSE"]).unwrap().0);
        assert_eq!(
            parse(&["--mount=a", "--mount=b"]).unwrap().2,
            vec!["a", "b"]
        );
        assert!(!parse(&["--", "--bogus"]).unwrap().0);
    }

    #[test]
    fn errors_use_buildkit_wording() {
        assert_eq!(
            parse(&["--form=x"]).unwrap_err(),
            "unknown flag: --form (did you mean from?)"
        );
        assert_eq!(parse(&["--zzzzzz"]).unwrap_err(), "unknown flag: --zzzzzz");
        assert_eq!(
            parse(&["--from=a", "--from=b"]).unwrap_err(),
            "duplicate flag specified: --from"
        );
        assert_eq!(
            parse(&["--from"]).unwrap_err(),
            "missing a value on flag: --from"
        );
        assert_eq!(
            parse(&["--link="]).unwrap_err(),
            "missing a value on flag: --link"
        );
        assert_eq!(
            parse(&["--link=yes"]).unwrap_err(),
            "expecting boolean value for flag --link, not: yes"
        );
        assert_eq!(parse(&["-x"]).unwrap_err(), "arg should start with -- : -x");
    }
}
