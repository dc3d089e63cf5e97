//! Transfers whose connection breaks in the middle, through a proxy in front of `strata
//! registry serve`: an upload continues from the offset the registry reports for its session
//! (not from a new session), a download continues with a ranged request.

mod common;
mod remote_support;

use std::sync::Arc;

use common::Strata;
use remote_support::proxy::{self, Cut};
use remote_support::{sha256_hex, strata_registry};
use strata_reference::Digest;
use strata_registry_client::{HostSettings, ProgressFn, Registry};

/// Bytes that gzip cannot shrink, so a layer of them stays above the monolithic-upload limit.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 11) as u8
        })
        .collect()
}

/// An image with one layer of `len` incompressible bytes, imported as `name`.
fn import_noise(s: &Strata, name: &str, len: usize) {
    let dir = tempfile::tempdir().expect("tmp");
    let (tar, _) = remote_support::tiny_layer("noise.bin", &noise(len, 7));
    let path = dir.path().join("layer.tar");
    std::fs::write(&path, tar).expect("tar");
    s.ok(&["import", path.to_str().expect("utf8"), name]);
}

fn upload_id(line: &str) -> Option<&str> {
    let path = line.split_whitespace().nth(1)?;
    let rest = path.split("/blobs/uploads/").nth(1)?;
    Some(rest.split(['?', '/']).next().unwrap_or(rest)).filter(|id| !id.is_empty())
}

#[test]
fn a_chunked_upload_cut_mid_chunk_continues_from_the_registrys_offset() {
    let reg = strata_registry();
    // Six 1 MiB chunks; the connection breaks in the fourth, after three were accepted.
    let proxy = proxy::start(&reg.host, Cut::Upload(3 * (1 << 20) + (1 << 19)));
    let dir = tempfile::tempdir().expect("tmp");
    let blob = noise(6 << 20, 3);
    let path = dir.path().join("blob");
    std::fs::write(&path, &blob).expect("blob");
    let digest = Digest::parse(&format!("sha256:{}", sha256_hex(&blob))).expect("digest");

    let registry = Registry::connect(&proxy.host, &HostSettings::default(), None)
        .expect("connect")
        .with_chunk_size(1 << 20);
    let progress: ProgressFn = Arc::new(|_, _| {});
    registry
        .upload_blob(
            "resume/blob",
            &path,
            &digest,
            blob.len() as u64,
            None,
            &progress,
        )
        .expect("the upload survives the cut");
    assert!(
        proxy.cut_done.load(std::sync::atomic::Ordering::SeqCst),
        "the proxy broke a connection"
    );
    assert_eq!(
        registry.blob_exists("resume/blob", &digest).expect("HEAD"),
        Some(blob.len() as u64)
    );

    let log = proxy.requests.lock().expect("log").clone();
    let patches: Vec<&String> = log.iter().filter(|l| l.starts_with("PATCH ")).collect();
    let starts: Vec<&str> = patches
        .iter()
        .filter_map(|l| l.split("Content-Range: ").nth(1))
        .map(|r| r.split('-').next().unwrap_or(""))
        .collect();
    // The fourth chunk is sent twice (cut, then again from the registry's offset); nothing
    // before it is sent again.
    assert_eq!(
        starts,
        [
            "0", "1048576", "2097152", "3145728", "3145728", "4194304", "5242880"
        ],
        "{log:#?}"
    );
    let cut_at = log
        .iter()
        .rposition(|l| l.contains("Content-Range: 3145728-"))
        .expect("resent chunk");
    assert!(
        log[..cut_at]
            .iter()
            .any(|l| l.starts_with("GET ") && upload_id(l).is_some()),
        "the upload's status was asked before resuming: {log:#?}"
    );
    let sessions: std::collections::HashSet<&str> =
        patches.iter().filter_map(|l| upload_id(l)).collect();
    assert_eq!(sessions.len(), 1, "one upload session: {log:#?}");
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("POST ") && l.contains("/blobs/uploads/"))
            .count(),
        1,
        "no new session: {log:#?}"
    );
}

#[test]
fn a_push_whose_connection_breaks_mid_blob_resumes_and_succeeds() {
    let reg = strata_registry();
    let proxy = proxy::start(&reg.host, Cut::Upload(3 << 20));
    let s = Strata::new();
    let name = format!("{}/resume/push:1", proxy.host);
    import_noise(&s, &name, 6 << 20);
    let out = s
        .cmd()
        .args(["--log-level", "debug", "push", &name])
        .output()
        .expect("runs");
    let log = proxy.requests.lock().expect("log").clone();
    assert!(
        out.status.success(),
        "{}\n{log:#?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.contains("digest: sha256:"), "{out}");
    assert!(proxy.cut_done.load(std::sync::atomic::Ordering::SeqCst));

    let log = proxy.requests.lock().expect("log").clone();
    let layer_session = log
        .iter()
        .find(|l| l.starts_with("PATCH "))
        .and_then(|l| upload_id(l))
        .expect("a chunked upload");
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET ") && upload_id(l) == Some(layer_session)),
        "status of the broken upload asked: {log:#?}"
    );
    assert!(
        log.iter()
            .filter(|l| l.starts_with("PATCH "))
            .all(|l| upload_id(l) == Some(layer_session)),
        "the same session continued: {log:#?}"
    );

    // What arrived is the image: pulled straight from the registry it has the same ID.
    let id = s.ok(&["inspect", "--format", "{{.Id}}", &name]);
    let b = Strata::new();
    let direct = format!("{}/resume/push:1", reg.host);
    b.ok(&["pull", "-q", &direct]);
    assert_eq!(b.ok(&["inspect", "--format", "{{.Id}}", &direct]), id);
}

#[test]
fn a_pull_whose_connection_breaks_mid_blob_resumes_with_a_range_request() {
    let reg = strata_registry();
    let a = Strata::new();
    let direct = format!("{}/resume/pull:1", reg.host);
    import_noise(&a, &direct, 3 << 20);
    a.ok(&["push", "-q", &direct]);
    let id = a.ok(&["inspect", "--format", "{{.Id}}", &direct]);

    let proxy = proxy::start(&reg.host, Cut::Download(1 << 20));
    let b = Strata::new();
    let name = format!("{}/resume/pull:1", proxy.host);
    let out = b.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert!(proxy.cut_done.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(b.ok(&["inspect", "--format", "{{.Id}}", &name]), id);
    let log = proxy.requests.lock().expect("log").clone();
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET ") && l.contains("/blobs/") && l.contains("Range: bytes=")),
        "no ranged request: {log:#?}"
    );
    // Only the cut blob is asked for again, and only from where it broke.
    assert!(
        !log.iter().any(|l| l.contains("Range: bytes=0-")),
        "{log:#?}"
    );
}
