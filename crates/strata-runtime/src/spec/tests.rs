use std::path::Path;

use super::*;
use crate::record::{Bookkeeping, ContainerConfig, ContainerState, HostConfig};

fn record(host: HostConfig) -> ContainerRecord {
    ContainerRecord {
        id: "a".repeat(64),
        created: chrono::Utc::now(),
        path: "sh".into(),
        args: vec![],
        state: ContainerState::default(),
        image: "sha256:x".into(),
        name: "/n".into(),
        restart_count: 0,
        driver: "overlay2".into(),
        config: ContainerConfig {
            hostname: "aaaaaaaaaaaa".into(),
            ..Default::default()
        },
        host_config: host,
        mounts: vec![],
        network_settings: Default::default(),
        strata: Bookkeeping::default(),
    }
}

fn build(host: HostConfig) -> Value {
    let user = user::ExecUser {
        uid: 0,
        gid: 0,
        additional_gids: vec![],
        home: "/root".into(),
    };
    let argv = vec!["sh".to_string()];
    let inputs = BundleInputs {
        rootfs: Path::new("/r"),
        container_dir: Path::new("/c"),
        user: &user,
        argv: &argv,
        env: &[],
        binds: &[("/h".into(), "/data".into(), true)],
    };
    build_spec(&record(host), &inputs).unwrap()
}

#[test]
fn default_spec_is_docker_shaped() {
    let spec = build(HostConfig {
        network_mode: "none".into(),
        ..Default::default()
    });
    assert_eq!(spec["hostname"], "aaaaaaaaaaaa");
    assert_eq!(spec["process"]["noNewPrivileges"], true);
    assert_eq!(
        spec["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .len(),
        14
    );
    let ns: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(ns, ["pid", "ipc", "uts", "mount", "network"]);
    assert!(
        spec["linux"]["maskedPaths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "/proc/kcore")
    );
    let mounts = spec["mounts"].as_array().unwrap();
    let hostname = mounts
        .iter()
        .find(|m| m["destination"] == "/etc/hostname")
        .unwrap();
    assert_eq!(hostname["source"], "/c/hostname");
    let data = mounts.iter().find(|m| m["destination"] == "/data").unwrap();
    assert!(
        data["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "ro")
    );
    assert_eq!(
        spec["linux"]["cgroupsPath"],
        format!("/strata/{}", "a".repeat(64))
    );
}

#[test]
fn host_network_shares_netns_and_binds_sys() {
    let spec = build(HostConfig {
        network_mode: "host".into(),
        ..Default::default()
    });
    let ns = spec["linux"]["namespaces"].as_array().unwrap();
    assert!(!ns.iter().any(|n| n["type"] == "network"));
    let sys = spec["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/sys")
        .unwrap();
    assert_eq!(sys["type"], "bind");
}

#[test]
fn resources_from_flags() {
    let spec = build(HostConfig {
        network_mode: "none".into(),
        memory: 64 << 20,
        nano_cpus: 1_500_000_000,
        cpu_shares: 512,
        pids_limit: Some(50),
        ..Default::default()
    });
    let r = &spec["linux"]["resources"];
    assert_eq!(r["memory"]["limit"], 64 << 20);
    assert_eq!(r["cpu"]["quota"], 150_000);
    assert_eq!(r["cpu"]["period"], 100_000);
    assert_eq!(r["cpu"]["shares"], 512);
    assert_eq!(r["pids"]["limit"], 50);
}

#[test]
fn capability_arithmetic() {
    let caps = effective_caps(false, &["NET_ADMIN".into()], &["chown".into()]);
    assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
    assert!(!caps.contains(&"CAP_CHOWN".to_string()));
    assert_eq!(
        effective_caps(false, &[], &["ALL".into()]),
        Vec::<String>::new()
    );
    assert_eq!(effective_caps(true, &[], &[]).len(), ALL_CAPS.len());
    let privileged = build(HostConfig {
        privileged: true,
        network_mode: "none".into(),
        ..Default::default()
    });
    assert!(privileged["linux"]["maskedPaths"].is_null());
    assert_eq!(privileged["process"]["noNewPrivileges"], false);
}
