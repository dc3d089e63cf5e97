//! Reading the container's cgroup (created by the runtime from `linux.cgroupsPath`): OOM kills
//! for `OOMKilled`, and the freezer for pause/unpause.

use std::path::PathBuf;

use crate::spec::cgroup_path;

pub(crate) const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Whether the host uses the unified (v2) hierarchy only.
pub fn is_unified() -> bool {
    std::path::Path::new(CGROUP_ROOT)
        .join("cgroup.controllers")
        .exists()
}

/// The container's directory in the hierarchy of `controller` (v1) or the unified one (v2).
pub fn controller_dir(id: &str, controller: &str) -> PathBuf {
    let rel = cgroup_path(id);
    let rel = rel.trim_start_matches('/');
    if is_unified() {
        PathBuf::from(CGROUP_ROOT).join(rel)
    } else {
        PathBuf::from(CGROUP_ROOT).join(controller).join(rel)
    }
}

fn counter(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or(0)
}

/// How many processes the kernel's OOM killer killed in the container's cgroup.
pub fn oom_kills(id: &str) -> u64 {
    let dir = controller_dir(id, "memory");
    let file = if is_unified() {
        dir.join("memory.events")
    } else {
        dir.join("memory.oom_control")
    };
    std::fs::read_to_string(file)
        .map(|t| counter(&t, "oom_kill "))
        .unwrap_or(0)
}

/// The pids of every process in the container (for `top` and `kill --all`).
pub fn pids(id: &str) -> Vec<i32> {
    let file = controller_dir(id, "pids").join("cgroup.procs");
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Freezes (`true`) or thaws the container's processes: the cgroup freezer, which pause and
/// commit need.
pub fn set_frozen(id: &str, frozen: bool) -> std::io::Result<()> {
    if is_unified() {
        let file = controller_dir(id, "").join("cgroup.freeze");
        std::fs::write(file, if frozen { "1" } else { "0" })
    } else {
        let file = controller_dir(id, "freezer").join("freezer.state");
        std::fs::write(file, if frozen { "FROZEN" } else { "THAWED" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters() {
        assert_eq!(
            counter("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill "),
            3
        );
        assert_eq!(counter("low 0\noom 1\noom_kill 1\n", "oom_kill "), 1);
        assert_eq!(counter("", "oom_kill "), 0);
    }
}
