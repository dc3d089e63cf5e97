//! Persistent network namespaces: a namespace kept alive by a bind mount of its
//! `/proc/<pid>/ns/net` onto a file, like `ip netns add`, so it exists before the container's
//! processes (netavark configures it first) and after them (teardown needs it).

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, NetworkError, Result};

/// Where container namespaces are bound.
pub const NETNS_DIR: &str = "/run/strata/netns";

pub fn path_for(container_id: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(container_id)
}

/// Makes a new network namespace bound at `path` (replacing a stale one).
pub fn create(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    remove(path)?;
    fs::File::create(path).at(path)?;
    let target = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| NetworkError::Other(format!("bad path {}", path.display())))?;
    let source = c"/proc/self/ns/net";
    let mut lo: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in lo.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // A forked child unshares, so the caller's own namespace never changes; between fork and
    // _exit it makes only raw system calls on memory prepared before the fork.
    // SAFETY: fork, then async-signal-safe calls only in the child.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let _ = fs::remove_file(path);
        return Err(NetworkError::io(path, std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: plain system calls with valid NUL-terminated strings and a zeroed ifreq.
        unsafe {
            let ok = libc::unshare(libc::CLONE_NEWNET) == 0
                && loopback_up(&mut lo)
                && libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ) == 0;
            libc::_exit(if ok { 0 } else { 1 });
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid status pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    if waited != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let _ = fs::remove_file(path);
        return Err(NetworkError::Other(format!(
            "cannot create network namespace {}",
            path.display()
        )));
    }
    Ok(())
}

/// Brings `lo` up, as Docker does for every network namespace (even `--network none`).
///
/// # Safety
/// Called in the forked child: raw system calls only.
unsafe fn loopback_up(lo: &mut libc::ifreq) -> bool {
    // SAFETY: socket/ioctl/close on a descriptor we own, with a valid ifreq.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return false;
        }
        let mut ok = libc::ioctl(fd, libc::SIOCGIFFLAGS, lo as *mut libc::ifreq) == 0;
        if ok {
            lo.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            ok = libc::ioctl(fd, libc::SIOCSIFFLAGS, lo as *mut libc::ifreq) == 0;
        }
        libc::close(fd);
        ok
    }
}

/// Unmounts and deletes a namespace file; nothing if it is not there.
pub fn remove(path: &Path) -> Result<()> {
    let Ok(target) = CString::new(path.as_os_str().as_bytes()) else {
        return Ok(());
    };
    // SAFETY: umount2 with a valid NUL-terminated path; failure (not mounted) is fine.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetworkError::io(path, e)),
    }
}
