//! login / logout and authenticated push and pull against the CNCF registry with htpasswd.

mod common;
mod remote_support;

use std::process::Stdio;

use common::{Strata, busybox_tar};
use remote_support::{cncf_registry, docker_config_dir};

fn with_config(
    s: &Strata,
    cfg: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> std::process::Output {
    let mut c = s.cmd();
    c.env("DOCKER_CONFIG", cfg).args(args);
    if stdin.is_some() {
        c.stdin(Stdio::piped());
    }
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn login_validates_stores_and_logout_removes() {
    let reg = cncf_registry(&[("alice", "wonderland")]);
    let s = Strata::new();
    let cfg = docker_config_dir();
    let name = format!("{}/alice/bb:v1", reg.host);
    s.ok(&["import", busybox_tar().to_str().expect("utf8"), &name]);

    // Anonymous push is refused with a clear error.
    let out = with_config(&s, cfg.path(), &["push", &name], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unauthorized") || err.contains("denied"),
        "{err}"
    );

    // A wrong password: clear error, nothing written.
    let out = with_config(
        &s,
        cfg.path(),
        &["login", &reg.host, "-u", "alice", "--password-stdin"],
        Some("wrong\n"),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401 Unauthorized"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password is never printed: {err}"
    );
    assert!(
        !cfg.path().join("config.json").exists(),
        "no credential written on failure"
    );

    // The right one.
    let out = with_config(
        &s,
        cfg.path(),
        &["login", &reg.host, "-u", "alice", "--password-stdin"],
        Some("wonderland\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Login Succeeded"));
    let text = std::fs::read_to_string(cfg.path().join("config.json")).expect("config written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    // base64("alice:wonderland")
    assert_eq!(
        v["auths"][&reg.host]["auth"], "YWxpY2U6d29uZGVybGFuZA==",
        "{text}"
    );

    // Authenticated push and pull.
    let out = with_config(&s, cfg.path(), &["push", &name], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = Strata::new();
    let out = with_config(&t, cfg.path(), &["pull", &name], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Logout.
    let out = with_config(&s, cfg.path(), &["logout", &reg.host], None);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Removing login credentials for {}\n", reg.host)
    );
    let text = std::fs::read_to_string(cfg.path().join("config.json")).expect("config");
    assert!(!text.contains("YWxpY2U"), "{text}");
    let out = with_config(&s, cfg.path(), &["logout", &reg.host], None);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Not logged in to {}\n", reg.host)
    );
    // Without credentials, pulling fails again.
    let u = Strata::new();
    let out = with_config(&u, cfg.path(), &["pull", &name], None);
    assert!(!out.status.success());
}

#[test]
fn login_goes_through_a_credential_helper_when_configured() {
    let reg = cncf_registry(&[("bob", "builder")]);
    let s = Strata::new();
    let cfg = docker_config_dir();
    // A helper that keeps secrets in a file, speaking the docker-credential protocol.
    let bin = cfg.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let store = cfg.path().join("helper-store");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in\n store) cat > {store} ;;\n get) read server; if [ -f {store} ]; then sed 's/\"ServerURL\"/\"X\"/' {store}; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n erase) rm -f {store} ;;\nesac\n",
        store = store.display()
    );
    let helper = bin.join("docker-credential-testfile");
    std::fs::write(&helper, script).expect("helper");
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&helper).expect("meta").permissions(),
        0o755,
    );
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::fs::write(
        cfg.path().join("config.json"),
        r#"{"credsStore":"testfile"}"#,
    )
    .expect("config");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = s.cmd();
    c.env("DOCKER_CONFIG", cfg.path())
        .env("PATH", &path)
        .args(["login", &reg.host, "-u", "bob", "-p", "builder"]);
    let out = c.output().expect("login");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = std::fs::read_to_string(cfg.path().join("config.json")).expect("config");
    assert!(
        !config.contains("builder") && !config.contains("Ym9i"),
        "secret stays in the helper: {config}"
    );
    assert!(
        std::fs::read_to_string(&store)
            .expect("helper store")
            .contains("builder")
    );
    let name = format!("{}/bob/bb:v1", reg.host);
    s.ok(&["import", busybox_tar().to_str().expect("utf8"), &name]);
    let out = s
        .cmd()
        .env("DOCKER_CONFIG", cfg.path())
        .env("PATH", &path)
        .args(["push", &name])
        .output()
        .expect("push");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
