//! `ADD <url>`: the classic builder downloads the URL on every build (its content is the cache
//! key), names the file after the URL path (or Content-Disposition), writes it with mode 0600
//! and the Last-Modified time, and never unpacks it. `--checksum` (BuildKit's flag) is checked
//! against the downloaded bytes. Git sources are not supported.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::digest::DynDigest;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use crate::error::{BuildError, Result};

/// Docker's name for a download whose URL and headers give none.
const UNNAMED: &str = "__unnamed__";

/// A source the classic builder fetches instead of reading from the context.
pub fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// A git repository as BuildKit recognizes one in ADD (`git@`, `git://`, `.git` URLs).
pub fn is_git(s: &str) -> bool {
    if s.starts_with("git@") || s.starts_with("git://") || s.starts_with("ssh://") {
        return true;
    }
    let without_fragment = s.split('#').next().unwrap_or(s);
    is_url(s) && without_fragment.trim_end_matches('/').ends_with(".git")
}

/// One downloaded file, kept in `dir` until the step is committed.
pub struct Download {
    pub url: String,
    pub path: PathBuf,
    /// The file name for a directory destination (`__unnamed__` when none could be found).
    pub name: String,
    /// The name came from the URL or the server (a `dest/` form needs one).
    pub named: bool,
    /// Docker's hash of the downloaded file (see `tarsum`; mode 0600, named `name`): the
    /// cache key and the history hash.
    pub hash: String,
    /// Last-Modified as Unix seconds; the epoch without one, as Docker.
    pub mtime: i64,
}

/// `--checksum` is allowed on one HTTP(S) source only (BuildKit's rules and wording).
pub fn check_checksum_use(text: &str, sources: &[String]) -> std::result::Result<Checksum, String> {
    if sources.len() != 1 {
        return Err("checksum can't be specified for multiple sources".into());
    }
    if !sources.iter().all(|s| is_url(s) && !is_git(s)) {
        return Err("checksum can't be specified for non-HTTP(S) sources".into());
    }
    Checksum::parse(text)
}

/// `--checksum=ALGO:HEX` parsed, with the algorithms BuildKit accepts.
pub struct Checksum {
    algorithm: String,
    hex: String,
}

impl Checksum {
    pub fn parse(text: &str) -> std::result::Result<Checksum, String> {
        let invalid = || format!("invalid checksum digest format: {text}");
        let (algorithm, hex) = text.split_once(':').ok_or_else(invalid)?;
        let len = match algorithm {
            "sha256" => 64,
            "sha384" => 96,
            "sha512" => 128,
            _ => return Err(format!("unsupported digest algorithm: {text}")),
        };
        if hex.len() != len || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid());
        }
        Ok(Checksum {
            algorithm: algorithm.to_string(),
            hex: hex.to_string(),
        })
    }

    fn hasher(&self) -> Box<dyn DynDigest> {
        match self.algorithm.as_str() {
            "sha384" => Box::new(Sha384::new()),
            "sha512" => Box::new(Sha512::new()),
            _ => Box::new(Sha256::new()),
        }
    }
}

/// Fetches `url` into `dir`, verifying `checksum` when given. Errors are worded as Docker's
/// (`failed to GET URL with status 404 Not Found: BODY`), without the `ADD failed: ` prefix.
pub fn download(url: &str, dir: &Path, checksum: Option<&Checksum>) -> Result<Download> {
    let fail = |m: String| BuildError::Other(m);
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(None)
        .build()
        .map_err(|e| fail(format!("creating an HTTP client: {e}")))?;
    let mut resp = client
        .get(url)
        .send()
        .map_err(|e| fail(format!("Get \"{url}\": {}", error_chain(&e))))?;
    let status = resp.status();
    if !status.is_success() {
        let mut body = Vec::new();
        let _ = resp.by_ref().take(64 << 10).read_to_end(&mut body);
        let status_text = format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or_default()
        );
        return Err(fail(format!(
            "failed to GET {url} with status {}: {}",
            status_text.trim_end(),
            String::from_utf8_lossy(&body).trim()
        )));
    }
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let from_server = header("content-disposition").and_then(|d| disposition_filename(&d));
    let mtime = header("last-modified")
        .and_then(|t| chrono::DateTime::parse_from_rfc2822(&t).ok())
        .map_or(0, |t| t.timestamp().max(0));
    let found = url_filename(url).or(from_server);
    let named = found.is_some();
    let name = found.unwrap_or_else(|| UNNAMED.to_string());
    let path = dir.join("download");
    let mut file = fs::File::create(&path).map_err(BuildError::io("creating", &path))?;
    let mut hasher = Sha256::new();
    let mut verify = checksum.map(Checksum::hasher);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = resp
            .read(&mut buf)
            .map_err(|e| fail(format!("reading {url}: {e}")))?;
        if n == 0 {
            break;
        }
        sha2::Digest::update(&mut hasher, &buf[..n]);
        if let Some(v) = verify.as_mut() {
            v.update(&buf[..n]);
        }
        file.write_all(&buf[..n])
            .map_err(BuildError::io("writing", &path))?;
    }
    file.sync_all().map_err(BuildError::io("writing", &path))?;
    let sha256 = hex::encode(sha2::Digest::finalize(hasher));
    // Docker writes the download with mode 0600 and hashes it as a file of that name.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
        .map_err(BuildError::io("chmod", &path))?;
    let hash = crate::tarsum::entry_hash(&path, &name, crate::tarsum::Owner::AsOnDisk)?;
    if let (Some(c), Some(v)) = (checksum, verify) {
        let actual = format!("{}:{}", c.algorithm, hex::encode(v.finalize()));
        let expected = format!("{}:{}", c.algorithm, c.hex);
        if actual != expected {
            return Err(fail(format!("digest mismatch {actual}: {expected}")));
        }
    }
    tracing::debug!(url, sha256 = %sha256, mtime, "downloaded an ADD source");
    Ok(Download {
        url: url.to_string(),
        path,
        name,
        named,
        hash,
        mtime,
    })
}

/// reqwest's error and its causes, as one line (Go prints the whole chain too).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The last segment of the URL's path, percent-decoded (Go's `u.Path` is decoded); none when
/// the path is empty or ends with `/`.
fn url_filename(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let path = parsed.path();
    if path.is_empty() || path.ends_with('/') {
        return None;
    }
    let last = path.rsplit('/').next()?;
    let decoded = percent_decode(last);
    (!decoded.is_empty() && decoded != "." && decoded != "..").then_some(decoded)
}

/// `filename` of `Content-Disposition: attachment; filename="x.tgz"`, base name only.
fn disposition_filename(header: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        if v.is_empty() || v.ends_with('/') {
            return None;
        }
        let base = v.rsplit('/').next()?;
        (!base.is_empty() && base != "." && base != "..").then(|| base.to_string())
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_the_url_path_then_the_server() {
        assert_eq!(
            url_filename("http://h/a/b%20c.txt?x=1").as_deref(),
            Some("b c.txt")
        );
        assert_eq!(url_filename("http://h/a/"), None);
        assert_eq!(url_filename("http://h"), None);
        assert_eq!(
            disposition_filename("attachment; filename=\"dir/x.tgz\"").as_deref(),
            Some("x.tgz")
        );
        assert_eq!(disposition_filename("inline"), None);
    }

    #[test]
    fn git_sources_are_recognized() {
        assert!(is_git("https://github.com/moby/moby.git"));
        assert!(is_git("https://github.com/moby/moby.git#v1.0"));
        assert!(is_git("git@github.com:moby/moby.git"));
        assert!(!is_git("https://example.com/file.tar.gz"));
    }

    #[test]
    fn checksums_are_validated() {
        let hex = "a".repeat(64);
        assert!(Checksum::parse(&format!("sha256:{hex}")).is_ok());
        assert!(Checksum::parse("sha256:abc").is_err());
        assert!(
            Checksum::parse(&format!("md5:{hex}"))
                .err()
                .is_some_and(|e| e.contains("unsupported digest algorithm"))
        );
    }
}
