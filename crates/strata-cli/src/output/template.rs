//! Go templates for `--format`, with the functions Docker adds (`json`, `join`, `split`,
//! `lower`, `upper`, `title`, `pad`, `truncate`). Data arrives as JSON; gotmpl's maps are
//! sorted, so `json` restores the field order the data had (Docker's struct order).

use std::collections::HashMap;
use std::sync::Arc;

use gotmpl::{Template, TemplateError, Value};

/// The original key order of every object in the data, found again by the object's key set
/// (gotmpl hands `json` a sorted map, which no longer knows its order).
#[derive(Default, Clone)]
pub struct KeyOrder(Arc<HashMap<Vec<String>, Vec<String>>>);

impl KeyOrder {
    pub fn from_json(values: &[&serde_json::Value]) -> KeyOrder {
        fn walk(v: &serde_json::Value, out: &mut HashMap<Vec<String>, Vec<String>>) {
            match v {
                serde_json::Value::Object(m) => {
                    let original: Vec<String> = m.keys().cloned().collect();
                    let mut sorted = original.clone();
                    sorted.sort();
                    out.entry(sorted).or_insert(original);
                    m.values().for_each(|c| walk(c, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        let mut map = HashMap::new();
        values.iter().for_each(|v| walk(v, &mut map));
        KeyOrder(Arc::new(map))
    }

    fn order_of(&self, sorted: &[String]) -> Option<&Vec<String>> {
        self.0.get(sorted)
    }
}

pub fn to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::Uint(u),
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Value::String(s.as_str().into()),
        serde_json::Value::Array(a) => {
            Value::List(a.iter().map(to_value).collect::<Vec<_>>().into())
        }
        serde_json::Value::Object(m) => Value::Map(Arc::new(
            m.iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_value(v)))
                .collect(),
        )),
    }
}

fn to_json(v: &Value, order: &KeyOrder) -> serde_json::Value {
    match v {
        Value::Nil => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Uint(u) => (*u).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::List(l) => serde_json::Value::Array(l.iter().map(|x| to_json(x, order)).collect()),
        Value::Map(m) => {
            // BTreeMap keys are already sorted: look the original order up by them.
            let sorted: Vec<String> = m.keys().map(|k| k.to_string()).collect();
            let keys = order.order_of(&sorted).unwrap_or(&sorted);
            let mut obj = serde_json::Map::new();
            for k in keys {
                if let Some(v) = m.get(k.as_str()) {
                    obj.insert(k.clone(), to_json(v, order));
                }
            }
            serde_json::Value::Object(obj)
        }
        _ => serde_json::Value::Null,
    }
}

fn string_arg(name: &str, args: &[Value], i: usize) -> Result<String, TemplateError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        Some(other) => Ok(other.to_string()),
        None => Err(TemplateError::Exec(format!(
            "{name}: missing argument {}",
            i + 1
        ))),
    }
}

fn int_arg(name: &str, args: &[Value], i: usize) -> Result<usize, TemplateError> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok((*n).max(0) as usize),
        Some(Value::Uint(n)) => Ok(*n as usize),
        _ => Err(TemplateError::Exec(format!(
            "{name}: argument {} must be a number",
            i + 1
        ))),
    }
}

fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphanumeric() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Parses a user's format with Docker's template functions.
pub fn parse(format: &str, order: KeyOrder) -> Result<Template, TemplateError> {
    Template::new("")
        .func("json", move |args: &[Value]| {
            let v = args
                .first()
                .ok_or_else(|| TemplateError::Exec("json: missing argument".into()))?;
            Ok(Value::String(to_json(v, &order).to_string().into()))
        })
        .func("join", |args: &[Value]| {
            let sep = string_arg("join", args, 1)?;
            let items: Vec<String> = match args.first() {
                Some(Value::List(l)) => l.iter().map(|v| v.to_string()).collect(),
                Some(Value::Nil) | None => Vec::new(),
                Some(other) => vec![other.to_string()],
            };
            Ok(Value::String(items.join(&sep).into()))
        })
        .func("split", |args: &[Value]| {
            let s = string_arg("split", args, 0)?;
            let sep = string_arg("split", args, 1)?;
            Ok(Value::List(
                s.split(sep.as_str())
                    .map(|p| Value::String(p.into()))
                    .collect::<Vec<_>>()
                    .into(),
            ))
        })
        .func("lower", |args: &[Value]| {
            Ok(Value::String(
                string_arg("lower", args, 0)?.to_lowercase().into(),
            ))
        })
        .func("upper", |args: &[Value]| {
            Ok(Value::String(
                string_arg("upper", args, 0)?.to_uppercase().into(),
            ))
        })
        .func("title", |args: &[Value]| {
            Ok(Value::String(
                title_case(&string_arg("title", args, 0)?).into(),
            ))
        })
        .func("pad", |args: &[Value]| {
            let s = string_arg("pad", args, 0)?;
            let (before, after) = (int_arg("pad", args, 1)?, int_arg("pad", args, 2)?);
            Ok(Value::String(
                format!("{}{s}{}", " ".repeat(before), " ".repeat(after)).into(),
            ))
        })
        .func("truncate", |args: &[Value]| {
            let s = string_arg("truncate", args, 0)?;
            let n = int_arg("truncate", args, 1)?;
            Ok(Value::String(s.chars().take(n).collect::<String>().into()))
        })
        .parse(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(fmt: &str, data: serde_json::Value) -> String {
        let order = KeyOrder::from_json(&[&data]);
        parse(fmt, order)
            .expect("parses")
            .execute_to_string(&to_value(&data))
            .expect("runs")
    }

    #[test]
    fn docker_functions() {
        let data = serde_json::json!({"Config": {"Zeta": 1, "Alpha": [1, 2]}, "Tags": ["a:1", "b:2"], "Name": "hello world", "Size": 2140160});
        assert_eq!(
            render("{{json .Config}}", data.clone()),
            r#"{"Zeta":1,"Alpha":[1,2]}"#
        );
        assert_eq!(render("{{join .Tags \",\"}}", data.clone()), "a:1,b:2");
        assert_eq!(
            render("{{upper .Name}} {{title .Name}}", data.clone()),
            "HELLO WORLD Hello World"
        );
        assert_eq!(
            render("{{range split .Name \" \"}}[{{.}}]{{end}}", data.clone()),
            "[hello][world]"
        );
        assert_eq!(
            render("{{pad .Name 1 2}}|{{truncate .Name 5}}", data.clone()),
            " hello world  |hello"
        );
        assert_eq!(render("{{.Size}}", data), "2140160");
    }
}
