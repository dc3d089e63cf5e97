//! Facts about host processes read from /proc, used to tell a live monitor or container
//! process from a dead one whose pid was reused.

/// The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or None
/// when the process does not exist.
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: skip past its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); start time is field 22.
    let state = fields.first()?;
    if *state == "Z" || *state == "X" {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether `pid` is alive and is the same process that had `expected_start` as start time.
pub fn is_same_process(pid: i32, expected_start: u64) -> bool {
    start_time(pid).is_some_and(|t| expected_start == 0 || t == expected_start)
}

/// Seconds since boot for a start time in clock ticks.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_stable() {
        let pid = std::process::id() as i32;
        let t = start_time(pid).expect("own stat");
        assert!(is_same_process(pid, t));
        assert!(!is_same_process(pid, t + 1));
        assert!(start_time(-1).is_none());
    }
}
