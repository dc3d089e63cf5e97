//! `ADD <url>` against a tiny HTTP server the test runs on loopback: Docker's file naming,
//! mode 0600, Last-Modified as the mtime, no unpacking, the content as the cache key,
//! `--checksum`, and Docker's errors.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::Strata;
use sha2::Digest;

/// path -> (status line, extra headers, body).
type Routes = Arc<Mutex<HashMap<String, (String, Vec<String>, Vec<u8>)>>>;

struct Server {
    base: String,
    routes: Routes,
    hits: Arc<AtomicUsize>,
}

impl Server {
    /// Serves `routes` on a free loopback port until the test process ends.
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let routes: Routes = Arc::default();
        let hits = Arc::new(AtomicUsize::new(0));
        let (r, h) = (routes.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                // Skip the headers up to the blank line.
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_string();
                h.fetch_add(1, Ordering::SeqCst);
                let (status, headers, body) = r
                    .lock()
                    .expect("routes")
                    .get(&path)
                    .cloned()
                    .unwrap_or_else(|| ("404 Not Found".into(), vec![], b"nope\n".to_vec()));
                let mut response = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for h in headers {
                    response.push_str(&h);
                    response.push_str("\r\n");
                }
                response.push_str("\r\n");
                let _ = stream.write_all(response.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Server { base, routes, hits }
    }

    fn serve(&self, path: &str, headers: &[&str], body: &[u8]) {
        self.routes.lock().expect("routes").insert(
            path.to_string(),
            (
                "200 OK".into(),
                headers.iter().map(|h| h.to_string()).collect(),
                body.to_vec(),
            ),
        );
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn tar_gz_with(name: &str, content: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, name, content).expect("append");
    b.into_inner().expect("tar").finish().expect("gzip")
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Builds `dockerfile`; returns (success, stdout, stderr).
fn build(s: &Strata, dockerfile: &str, tag: &str) -> (bool, String, String) {
    let ctx = tempfile::tempdir().expect("ctx");
    fs::write(ctx.path().join("Dockerfile"), dockerfile).expect("dockerfile");
    let out = s
        .cmd()
        .args(["build", "-t", tag])
        .arg(ctx.path())
        .output()
        .expect("strata runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn in_image(s: &Strata, image: &str, script: &str) -> String {
    let script = format!("set -e; {script}");
    s.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        &script,
    ])
}

#[test]
fn add_url_names_modes_times_and_never_unpacks() {
    let srv = Server::start();
    srv.serve(
        "/files/hello.txt",
        &["Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT"],
        b"hello url\n",
    );
    let archive = tar_gz_with("inner.txt", b"inside\n");
    srv.serve("/files/arch.tar.gz", &[], &archive);
    // No name in the path: the server's Content-Disposition names it.
    srv.serve(
        "/get/?id=7",
        &["Content-Disposition: attachment; filename=\"named-by-server.bin\""],
        b"served\n",
    );
    let s = Strata::new();
    s.import_busybox("base");
    let hello = srv.url("/files/hello.txt");
    let df = format!(
        "FROM base\nADD {hello} /dl/\nADD {} /dl/\nADD {hello} /named\nADD {} /srv/\nADD --chown=7:8 --chmod=640 {hello} /owned\n",
        srv.url("/files/arch.tar.gz"),
        srv.url("/get/?id=7"),
    );
    let (ok, out, err) = build(&s, &df, "added");
    assert!(ok, "{out}{err}");
    // Docker's daemon writes an empty line after each download.
    assert!(
        out.contains(&format!("Step 2/6 : ADD {hello} /dl/\n\n ---> ")),
        "{out}"
    );
    let listing = in_image(
        &s,
        "added",
        "stat -c '%n %a %u:%g %s %Y' /dl/hello.txt /dl/arch.tar.gz /named /srv/named-by-server.bin /owned; ls /dl",
    );
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines[0], "/dl/hello.txt 600 0:0 10 1577934245", "{listing}");
    assert!(
        lines[1].starts_with(&format!("/dl/arch.tar.gz 600 0:0 {} ", archive.len())),
        "a downloaded archive stays packed: {listing}"
    );
    assert!(
        lines[1].ends_with(" 0"),
        "no Last-Modified: the epoch: {listing}"
    );
    assert_eq!(lines[2], "/named 600 0:0 10 1577934245", "{listing}");
    assert!(
        lines[3].starts_with("/srv/named-by-server.bin 600 "),
        "{listing}"
    );
    assert!(lines[4].starts_with("/owned 640 7:8 10 "), "{listing}");
    assert_eq!(&lines[5..], ["arch.tar.gz", "hello.txt"], "{listing}");

    let history = s.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "added",
    ]);
    assert!(
        history.contains(&format!(
            "/bin/sh -c #(nop) ADD {} in /dl/ \n",
            docker_url_hash("hello.txt", b"hello url\n")
        )),
        "Docker's history form for a URL, no `file:` prefix: {history}"
    );
}

/// Docker's history hash of a downloaded file: tarsum v1's header fields (no mtime) of a
/// root-owned 0600 regular file, then its content.
fn docker_url_hash(name: &str, content: &[u8]) -> String {
    let header = format!(
        "name{name}mode{}uid0gid0size{}typeflag0linknameunamerootgnamerootdevmajor0devminor0",
        0o100600,
        content.len()
    );
    let mut all = header.into_bytes();
    all.extend_from_slice(content);
    sha256(&all)
}

#[test]
fn url_content_is_the_cache_key() {
    let srv = Server::start();
    srv.serve("/v.txt", &[], b"version 1\n");
    let s = Strata::new();
    s.import_busybox("base");
    let df = format!("FROM base\nADD {} /v.txt\n", srv.url("/v.txt"));
    let (ok, out, err) = build(&s, &df, "v");
    assert!(ok, "{out}{err}");
    let before = srv.hits.load(Ordering::SeqCst);
    let (ok, out, err) = build(&s, &df, "v");
    assert!(ok, "{out}{err}");
    assert!(out.contains(" ---> Using cache\n"), "{out}");
    assert_eq!(
        srv.hits.load(Ordering::SeqCst),
        before + 1,
        "fetched again to compute the key"
    );
    srv.serve("/v.txt", &[], b"version 2\n");
    let (ok, out, err) = build(&s, &df, "v");
    assert!(ok, "{out}{err}");
    assert!(
        !out.contains("Using cache"),
        "new content, new layer: {out}"
    );
    assert_eq!(in_image(&s, "v", "cat /v.txt"), "version 2\n");
}

#[test]
fn checksum_is_verified() {
    let srv = Server::start();
    let body = b"pinned\n";
    srv.serve("/p.txt", &[], body);
    let url = srv.url("/p.txt");
    let s = Strata::new();
    s.import_busybox("base");
    let good = sha256(body);
    let (ok, out, err) = build(
        &s,
        &format!("FROM base\nADD --checksum=sha256:{good} {url} /p.txt\n"),
        "pinned",
    );
    assert!(ok, "{out}{err}");
    assert_eq!(in_image(&s, "pinned", "cat /p.txt"), "pinned\n");

    let wrong = "0".repeat(64);
    let (ok, out, err) = build(
        &s,
        &format!("FROM base\nADD --checksum=sha256:{wrong} {url} /p.txt\n"),
        "bad",
    );
    assert!(!ok, "{out}");
    assert!(
        err.contains(&format!(
            "ADD failed: digest mismatch sha256:{good}: sha256:{wrong}"
        )),
        "{err}"
    );
    assert!(s.run(&["inspect", "bad"]).status.code() != Some(0));

    for (df, message) in [
        (
            format!("FROM base\nADD --checksum=sha256:{good} {url} {url} /d/\n"),
            "checksum can't be specified for multiple sources",
        ),
        (
            format!("FROM base\nADD --checksum=sha256:{good} local.txt /d/\n"),
            "checksum can't be specified for non-HTTP(S) sources",
        ),
        (
            format!("FROM base\nADD --checksum=sha256:abc {url} /d/\n"),
            "invalid checksum digest format",
        ),
    ] {
        let (ok, _, err) = build(&s, &df, "bad");
        assert!(!ok);
        assert!(err.contains(message), "{df}: {err}");
    }
}

#[test]
fn download_failures_and_git_sources_give_clear_errors() {
    let srv = Server::start();
    let s = Strata::new();
    s.import_busybox("base");
    let missing = srv.url("/missing.txt");
    let (ok, _, err) = build(&s, &format!("FROM base\nADD {missing} /x\n"), "bad");
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "ADD failed: failed to GET {missing} with status 404 Not Found: nope"
        )),
        "{err}"
    );

    srv.serve("/dir/", &[], b"index\n");
    let dir_url = srv.url("/dir/");
    let (ok, _, err) = build(&s, &format!("FROM base\nADD {dir_url} /x/\n"), "bad");
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "ADD failed: cannot determine filename for source {dir_url}"
        )),
        "{err}"
    );
    // With a file destination no name is needed.
    let (ok, out, err) = build(&s, &format!("FROM base\nADD {dir_url} /index\n"), "idx");
    assert!(ok, "{out}{err}");

    let (ok, _, err) = build(
        &s,
        "FROM base\nADD https://github.com/moby/moby.git#v20.10.0 /src\n",
        "bad",
    );
    assert!(!ok);
    assert!(err.contains("git repositories"), "{err}");
    let (ok, _, err) = build(
        &s,
        &format!("FROM base\nADD --keep-git-dir=true {dir_url} /src\n"),
        "bad",
    );
    assert!(!ok);
    assert!(err.contains("ADD --keep-git-dir is not supported"), "{err}");
    let (ok, _, err) = build(&s, &format!("FROM base\nCOPY {missing} /x\n"), "bad");
    assert!(!ok);
    assert!(err.contains("source can't be a URL for COPY"), "{err}");
}

#[test]
fn add_url_matches_dockers_classic_builder() {
    if !common::docker_available() {
        eprintln!("docker info failed: skipping add_url_matches_dockers_classic_builder");
        return;
    }
    let srv = Server::start();
    srv.serve(
        "/files/hello.txt",
        &["Last-Modified: Thu, 02 Jan 2020 03:04:05 GMT"],
        b"hello url\n",
    );
    srv.serve(
        "/files/arch.tar.gz",
        &[],
        &tar_gz_with("inner.txt", b"in\n"),
    );
    let hello = srv.url("/files/hello.txt");
    let dockerfile = format!(
        "FROM BASE\nADD {hello} /dl/\nADD {} /dl/\nADD {hello} /named\nADD {hello} /new/sub/\nADD --chown=7:8 {hello} /owned\n",
        srv.url("/files/arch.tar.gz")
    );
    let script = "stat -c '%n %a %u:%g %s %Y' /dl/hello.txt /dl/arch.tar.gz /named /new/sub/hello.txt /owned; ls -a /dl";
    let ctx = tempfile::tempdir().expect("ctx");

    let base = common::unique("strata-add-url-base");
    let tag = common::unique("strata-add-url");
    common::docker(&["import", busybox_path().as_str(), &base]);
    fs::write(
        ctx.path().join("Dockerfile"),
        dockerfile.replace("BASE", &base),
    )
    .expect("dockerfile");
    let out = std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .arg(ctx.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docker_files =
        common::docker(&["run", "--rm", "--network", "none", &tag, "sh", "-c", script]);
    let docker_history =
        common::docker(&["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tag]);
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &tag, &base])
        .output();

    let s = Strata::new();
    s.import_busybox("base");
    let (ok, out, err) = build(&s, &dockerfile.replace("BASE", "base"), "added");
    assert!(ok, "{out}{err}");
    let strata_files = in_image(&s, "added", script);
    let strata_history = s.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "added",
    ]);

    // The archive's mtime is when the server answered: compare all but that field.
    let without_archive_time = |listing: &str| {
        listing
            .lines()
            .map(|l| {
                if l.starts_with("/dl/arch.tar.gz ") {
                    l.rsplit_once(' ').map_or(l, |(head, _)| head).to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        without_archive_time(&strata_files),
        without_archive_time(&docker_files)
    );
    let added = |h: &str| -> Vec<String> {
        h.lines()
            .filter(|l| l.contains(" ADD "))
            // Exact, hashes included: strata computes Docker's (see strata-builder's tarsum.rs).
            .map(str::to_string)
            .collect()
    };
    assert_eq!(added(&strata_history), added(&docker_history));
}

fn busybox_path() -> String {
    common::busybox_tar().to_str().expect("utf8").to_string()
}
