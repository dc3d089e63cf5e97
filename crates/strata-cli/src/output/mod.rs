//! Docker's output shapes: `--format` (`table`, `table TEMPLATE`, `json`, or a raw Go
//! template) over rows of named fields, aligned with Go's tabwriter settings.

pub mod template;
pub mod units;

use std::io::Write;

use serde_json::Value as Json;

use crate::commands::CliError;

/// Rows rendered with a user's `--format` or a command's default table.
pub struct Listing<'a> {
    /// The command's default table format (without the `table ` prefix).
    pub default_table: &'a str,
    /// Field name to column header, for the header row of table formats.
    pub headers: &'a [(&'a str, &'a str)],
}

impl Listing<'_> {
    pub fn print(
        &self,
        format: Option<&str>,
        quiet_format: Option<&str>,
        rows: &[Json],
    ) -> Result<(), CliError> {
        let format = format.map(str::trim).filter(|f| !f.is_empty());
        let (body, is_table) = match (quiet_format, format) {
            (Some(q), _) => (q.to_owned(), false),
            (None, None) | (None, Some("table")) => (self.default_table.to_owned(), true),
            (None, Some("json")) => ("{{json .}}".to_owned(), false),
            (None, Some(f)) => match f.strip_prefix("table") {
                Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                    (rest.trim().to_owned(), true)
                }
                _ => (f.to_owned(), false),
            },
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let refs: Vec<&Json> = rows.iter().collect();
        let tmpl = template::parse(&body, template::KeyOrder::from_json(&refs))
            .map_err(|e| CliError::new(format!("template parsing error: {e}")))?;
        let mut out = String::new();
        if is_table {
            let header: serde_json::Map<String, Json> = self
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), Json::String(v.to_string())))
                .collect();
            out.push_str(&execute(&tmpl, &Json::Object(header))?);
            out.push('\n');
        }
        for row in rows {
            out.push_str(&execute(&tmpl, row)?);
            out.push('\n');
        }
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        if is_table {
            let mut tw = tabwriter::TabWriter::new(&mut lock).minwidth(7).padding(3);
            tw.write_all(out.as_bytes())?;
            tw.flush()?;
        } else {
            lock.write_all(out.as_bytes())?;
        }
        Ok(())
    }
}

pub fn execute(tmpl: &gotmpl::Template, data: &Json) -> Result<String, CliError> {
    tmpl.execute_to_string(&template::to_value(data))
        .map_err(|e| CliError::new(format!("template: {e}")))
}

/// Writes an archive the way `save` and `export` do: to `-o FILE` through a temp file renamed
/// into place (a failure leaves no partial file), or to standard output unless it is a terminal.
pub fn write_archive(
    output: Option<&std::path::Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<(), CliError>,
) -> Result<(), CliError> {
    match output {
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let mut tmp = tempfile::Builder::new()
                .prefix(".strata-")
                .tempfile_in(dir)
                .map_err(|e| CliError::new(format!("writing {}: {e}", path.display())))?;
            {
                let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
                write(&mut w)?;
                w.flush()?;
            }
            tmp.persist(path)
                .map_err(|e| CliError::new(format!("writing {}: {}", path.display(), e.error)))?;
        }
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(CliError::new(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write(&mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}

/// `inspect --format`: one rendering per object; without a format, the JSON array Docker prints.
pub fn print_inspect(format: Option<&str>, objects: &[Json]) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format.filter(|f| !f.is_empty() && *f != "json") {
        None => {
            let text = serde_json::to_string_pretty(&Json::Array(objects.to_vec()))
                .map_err(CliError::new)?;
            writeln!(out, "{}", indent_like_docker(&text))?;
        }
        Some(f) => {
            let refs: Vec<&Json> = objects.iter().collect();
            let f = f.replace("\\t", "\t").replace("\\n", "\n");
            let tmpl = template::parse(&f, template::KeyOrder::from_json(&refs))
                .map_err(|e| CliError::new(format!("template parsing error: {e}")))?;
            for o in objects {
                writeln!(out, "{}", execute(&tmpl, o)?)?;
            }
        }
    }
    Ok(())
}

/// Docker indents inspect output with four spaces.
fn indent_like_docker(two_space: &str) -> String {
    two_space
        .lines()
        .map(|l| {
            let n = l.len() - l.trim_start_matches(' ').len();
            format!("{}{}", " ".repeat(n * 2), &l[n..])
        })
        .collect::<Vec<_>>()
        .join("\n")
}
