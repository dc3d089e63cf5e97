//! Docker's memory flags as its daemon checks and completes them: `--memory`,
//! `--memory-swap` (memory plus swap; -1 unlimited; twice the memory when not given) and
//! `--memory-reservation` (the soft limit).

use crate::cgroups;
use crate::error::{Result, RuntimeError};

/// Docker's `linuxMinMemory`.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// The limits to record and apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimits {
    pub memory: i64,
    pub swap: i64,
    pub reservation: i64,
}

/// Whether the kernel accounts swap per cgroup (v1 `memory.memsw.*`, v2 `memory.swap.max`).
pub fn swap_limit_supported() -> bool {
    let root = std::path::Path::new(cgroups::CGROUP_ROOT);
    if !cgroups::is_unified() {
        return root.join("memory/memory.memsw.limit_in_bytes").exists();
    }
    // The root cgroup has no swap file; any child with one shows the controller works.
    std::fs::read_dir(root)
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .any(|e| e.path().join("memory.swap.max").exists())
        })
        .unwrap_or(false)
}

/// Checks the flags in the daemon's order, with its messages, and fills in the swap default.
/// Without swap accounting the swap limit becomes -1, as Docker does after its warning.
pub fn resolve(
    memory: i64,
    swap: i64,
    reservation: i64,
    swap_supported: bool,
) -> Result<MemoryLimits> {
    let fail = |m: &str| Err(RuntimeError::InvalidResources(m.to_string()));
    if memory != 0 && memory < MIN_MEMORY {
        return fail("Minimum memory limit allowed is 6MB");
    }
    let mut swap = swap;
    if memory > 0 && swap != -1 && !swap_supported {
        swap = -1;
    }
    if memory > 0 && swap > 0 && swap < memory {
        return fail("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if memory == 0 && swap > 0 {
        return fail(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        );
    }
    if reservation > 0 && reservation < MIN_MEMORY {
        return fail("Minimum memory reservation allowed is 6MB");
    }
    if memory > 0 && reservation > 0 && memory < reservation {
        return fail(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    if memory > 0 && swap == 0 {
        swap = memory * 2;
    }
    Ok(MemoryLimits {
        memory,
        swap,
        reservation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 1024 * 1024;

    #[test]
    fn docker_rules() {
        let ok = |m, s, r| resolve(m, s, r, true).unwrap();
        assert_eq!(ok(64 * M, 0, 0).swap, 128 * M);
        assert_eq!(ok(64 * M, -1, 0).swap, -1);
        assert_eq!(ok(64 * M, 64 * M, 0).swap, 64 * M);
        assert_eq!(ok(0, -1, 0).swap, -1);
        assert_eq!(ok(0, 0, 32 * M).reservation, 32 * M);
        assert_eq!(resolve(64 * M, 0, 0, false).unwrap().swap, -1);
        let err = |m, s, r| resolve(m, s, r, true).unwrap_err().to_string();
        assert!(err(64 * M, 32 * M, 0).starts_with("Minimum memoryswap limit"));
        assert!(err(0, 32 * M, 0).starts_with("You should always set the Memory limit"));
        assert!(err(64 * M, 0, 100 * M).starts_with("Minimum memory limit can not be less"));
        assert_eq!(err(3 * M, 0, 0), "Minimum memory limit allowed is 6MB");
        assert_eq!(err(0, 0, M), "Minimum memory reservation allowed is 6MB");
    }
}
