//! A registry that misbehaves: a blob whose bytes do not match its digest, a response cut in
//! the middle, an auth loop.

mod common;
mod remote_fake;
mod remote_support;

use std::collections::HashMap;

use common::Strata;
use remote_fake::{Fault, start};
use remote_support::{sha256_hex, tiny_config, tiny_layer, tiny_manifest};

fn image(fault: Fault) -> (remote_fake::FakeRegistry, String, String) {
    // Big enough that half of it is a real cut, not one TCP segment.
    let content: Vec<u8> = (0..400_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let (tar, gz) = tiny_layer("data.bin", &content);
    let config = tiny_config(&sha256_hex(&tar));
    let manifest = tiny_manifest(&config, &gz);
    let layer_digest = format!("sha256:{}", sha256_hex(&gz));
    let mut blobs = HashMap::new();
    blobs.insert(format!("sha256:{}", sha256_hex(&config)), config.clone());
    blobs.insert(layer_digest.clone(), gz);
    let reg = start("fake/img", manifest, blobs, layer_digest, fault);
    let id = format!("sha256:{}", sha256_hex(&config));
    (reg, id, format!("sha256:{}", sha256_hex(&tar)))
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_refused_and_nothing_is_stored() {
    let (reg, _, _) = image(Fault::WrongBlob);
    let s = Strata::new();
    let before = s.snapshot();
    let err = s.fails(&["pull", &format!("{}/fake/img", reg.host)]);
    assert!(err.contains("digest mismatch"), "{err}");
    let after = s.snapshot();
    assert_eq!(before, after, "nothing half-stored");
    assert!(s.ok(&["images", "-q"]).is_empty());
}

#[test]
fn a_cut_response_is_resumed_with_a_range_request() {
    let (reg, id, _) = image(Fault::CutFirstResponse);
    let s = Strata::new();
    let out = s.ok(&["pull", &format!("{}/fake/img", reg.host)]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(
        s.ok(&[
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{}/fake/img", reg.host)
        ])
        .trim(),
        id
    );
    let log = reg.requests.lock().expect("log").clone();
    assert!(
        log.iter()
            .any(|l| l.contains("/blobs/") && l.contains("bytes=")),
        "no ranged request in {log:?}"
    );
}

#[test]
fn an_auth_loop_stops_with_a_clear_error() {
    let (reg, _, _) = image(Fault::AuthLoop);
    let s = Strata::new();
    let cfg = remote_support::docker_config_dir();
    std::fs::write(
        cfg.path().join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"dTpw"}}}}}}"#, reg.host),
    )
    .expect("config");
    let out = s
        .cmd()
        .env("DOCKER_CONFIG", cfg.path())
        .args(["pull", &format!("{}/fake/img", reg.host)])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed repeatedly"), "{err}");
    assert!(
        !err.contains("dTpw") && !err.contains(":p"),
        "no credential in errors: {err}"
    );
}
