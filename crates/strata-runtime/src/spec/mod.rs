//! The OCI runtime bundle: `config.json` generated from the container record (itself merged
//! from the image config and the run flags), in the shape Docker's daemon gives runc.

pub mod process;
pub mod seccomp;
mod seccomp_default;
pub mod user;

use std::path::Path;

use serde_json::{Value, json};

use crate::error::Result;
use crate::record::ContainerRecord;

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Every capability the kernel knows, for `--privileged` and `--cap-add ALL`.
pub const ALL_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// `chown` → `CAP_CHOWN`; `ALL` stays `ALL`.
pub fn normalize_cap(name: &str) -> String {
    let upper = name.to_ascii_uppercase();
    if upper == "ALL" || upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

/// Docker's capability arithmetic: start from the default set (or all with `--privileged`),
/// add `--cap-add`, drop `--cap-drop`, `ALL` meaning every capability.
pub fn effective_caps(privileged: bool, add: &[String], drop: &[String]) -> Vec<String> {
    if privileged {
        return ALL_CAPS.iter().map(|c| c.to_string()).collect();
    }
    let add: Vec<String> = add.iter().map(|c| normalize_cap(c)).collect();
    let drop: Vec<String> = drop.iter().map(|c| normalize_cap(c)).collect();
    let mut caps: Vec<String> = if add.iter().any(|c| c == "ALL") {
        ALL_CAPS.iter().map(|c| c.to_string()).collect()
    } else {
        DEFAULT_CAPS.iter().map(|c| c.to_string()).collect()
    };
    if drop.iter().any(|c| c == "ALL") {
        caps.clear();
    }
    for cap in add.iter().filter(|c| *c != "ALL") {
        if !caps.contains(cap) {
            caps.push(cap.clone());
        }
    }
    caps.retain(|c| !drop.contains(c));
    caps
}

/// The capabilities this process may grant (its bounding set): `--privileged` gets all of
/// them, and a capability the host withholds cannot be given to a container.
fn host_bounding_set() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

fn host_allows(cap: &str, mask: Option<u64>) -> bool {
    let Some(mask) = mask else { return true };
    match ALL_CAPS.iter().position(|c| *c == cap) {
        Some(bit) => mask & (1u64 << bit) != 0,
        None => false,
    }
}

/// The per-container cgroup, relative to each hierarchy's root.
pub fn cgroup_path(id: &str) -> String {
    format!("/strata/{id}")
}

/// Everything the bundle needs besides the record.
pub struct BundleInputs<'a> {
    pub rootfs: &'a Path,
    pub container_dir: &'a Path,
    pub user: &'a user::ExecUser,
    pub argv: &'a [String],
    pub env: &'a [String],
    /// Resolved mounts (bind mounts and volumes): (source, destination, read-only).
    pub binds: &'a [(String, String, bool)],
}

fn mount(dest: &str, kind: &str, source: &str, options: &[&str]) -> Value {
    json!({"destination": dest, "type": kind, "source": source, "options": options})
}

/// Builds the runtime spec (`config.json`) as JSON.
pub fn build_spec(record: &ContainerRecord, inputs: &BundleInputs<'_>) -> Result<Value> {
    let host = &record.host_config;
    let mut caps = effective_caps(
        host.privileged,
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
    );
    let mask = host_bounding_set();
    caps.retain(|c| host_allows(c, mask));
    let host_network = host.network_mode == "host";
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if host.userns_mode == "auto" {
        // Made by the monitor first (see `userns`): joined, so libcontainer writes no maps.
        let path = crate::userns::path_for(&record.id);
        namespaces.insert(0, json!({"type": "user", "path": path.to_string_lossy()}));
    }
    if !host_network {
        // A namespace prepared by `network::join` (or another container's) is joined by path.
        let key = &record.network_settings.sandbox_key;
        if key.is_empty() {
            namespaces.push(json!({"type": "network"}));
        } else {
            namespaces.push(json!({"type": "network", "path": key}));
        }
    }
    let mut mounts = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
    ];
    // Without its own network namespace a container may not mount a new sysfs; Docker then
    // binds the host's, read-only.
    if host_network {
        mounts.push(mount(
            "/sys",
            "bind",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        ));
    } else {
        mounts.push(mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ));
    }
    mounts.push(mount(
        "/dev/mqueue",
        "mqueue",
        "mqueue",
        &["nosuid", "noexec", "nodev"],
    ));
    mounts.push(mount(
        "/dev/shm",
        "tmpfs",
        "shm",
        &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    ));
    for file in ["resolv.conf", "hostname", "hosts"] {
        let source = inputs.container_dir.join(file);
        mounts.push(mount(
            &format!("/etc/{file}"),
            "bind",
            &source.to_string_lossy(),
            &["rbind", "rprivate"],
        ));
    }
    for (source, dest, ro) in inputs.binds {
        let mut options = vec!["rbind", "rprivate"];
        if *ro {
            options.push("ro");
        }
        mounts.push(mount(dest, "bind", source, &options));
    }

    let mut resources = serde_json::Map::new();
    let mut memory = serde_json::Map::new();
    if host.memory > 0 {
        memory.insert("limit".into(), json!(host.memory));
    }
    // memsw on v1; libcgroups turns it into memory.swap.max (swap alone) on v2, where a
    // swap limit without a memory limit is refused: unlimited is the default there anyway.
    if host.memory > 0 && host.memory_swap != 0 {
        memory.insert("swap".into(), json!(host.memory_swap));
    }
    if host.memory_reservation > 0 {
        memory.insert("reservation".into(), json!(host.memory_reservation));
    }
    if !memory.is_empty() {
        resources.insert("memory".into(), Value::Object(memory));
    }
    let mut cpu = serde_json::Map::new();
    if host.cpu_shares > 0 {
        cpu.insert("shares".into(), json!(host.cpu_shares));
    }
    if host.nano_cpus > 0 {
        let period: i64 = 100_000;
        cpu.insert("period".into(), json!(period));
        cpu.insert(
            "quota".into(),
            json!(host.nano_cpus * period / 1_000_000_000),
        );
    }
    if !cpu.is_empty() {
        resources.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(limit) = host.pids_limit.filter(|l| *l > 0) {
        resources.insert("pids".into(), json!({"limit": limit}));
    }
    resources.insert(
        "devices".into(),
        if host.privileged {
            json!([{"allow": true, "access": "rwm"}])
        } else {
            default_device_rules()
        },
    );

    let cwd = if record.config.working_dir.is_empty() {
        "/".to_string()
    } else {
        record.config.working_dir.clone()
    };
    let mut linux = json!({
        "namespaces": namespaces,
        "cgroupsPath": cgroup_path(&record.id),
        "resources": resources,
    });
    if host.userns_mode == "auto" {
        // The namespace is joined by path; the maps are stated too (runc insists on them).
        let r = crate::userns::IdRange::for_host();
        linux["uidMappings"] = json!([{"containerID": 0, "hostID": r.uid, "size": r.size}]);
        linux["gidMappings"] = json!([{"containerID": 0, "hostID": r.gid, "size": r.size}]);
    }
    if let Some(filter) = seccomp::for_container(
        host.privileged,
        host.security_opt.as_deref().unwrap_or_default(),
        &caps,
    )? {
        linux["seccomp"] = filter;
    }
    if !host.privileged {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
    }
    Ok(json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": record.config.tty,
            "user": {
                "uid": inputs.user.uid,
                "gid": inputs.user.gid,
                "additionalGids": inputs.user.additional_gids,
            },
            "args": inputs.argv,
            "env": inputs.env,
            "cwd": cwd,
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
            },
            "noNewPrivileges": !host.privileged,
        },
        "root": {"path": inputs.rootfs, "readonly": host.readonly_rootfs},
        "hostname": record.config.hostname,
        "mounts": mounts,
        "linux": linux,
    }))
}

/// runc's default device allow-list (the ones Docker's default spec allows).
fn default_device_rules() -> Value {
    json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
        {"allow": true, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
        {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
        {"allow": true, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
        {"allow": true, "type": "c", "major": 136, "access": "rwm"},
        {"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
    ])
}

#[cfg(test)]
mod tests;
