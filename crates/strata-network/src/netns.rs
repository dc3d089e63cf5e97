//! Persistent network namespaces: a namespace kept alive by a bind mount of its
//! `/proc/<pid>/ns/net` onto a file, like `ip netns add`, so it exists before the container's
//! processes (netavark configures it first) and after them (teardown needs it).

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, NetworkError, Result};

/// Where container namespaces are bound.
pub const NETNS_DIR: &str = "/run/strata/netns";

pub fn path_for(container_id: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(container_id)
}

/// Makes a new network namespace bound at `path` (replacing a stale one). With `owner`, the
/// namespace belongs to that user namespace (a bound `/proc/PID/ns/user`): the child joins it
/// first, so a container in that user namespace may join this network namespace.
pub fn create(path: &Path, owner: Option<&Path>) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    remove(path)?;
    fs::File::create(path).at(path)?;
    let owner_fd = match owner {
        Some(p) => Some(fs::File::open(p).at(p)?),
        None => None,
    };
    let mut lo: libc::ifreq = unsafe_zeroed_ifreq();
    for (dst, src) in lo.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    let mut ready = [0 as libc::c_int; 2];
    let mut go = [0 as libc::c_int; 2];
    // SAFETY: pipe2 with valid arrays of two ints.
    let piped = unsafe {
        libc::pipe2(ready.as_mut_ptr(), libc::O_CLOEXEC) == 0
            && libc::pipe2(go.as_mut_ptr(), libc::O_CLOEXEC) == 0
    };
    if !piped {
        let _ = fs::remove_file(path);
        return Err(NetworkError::io(path, std::io::Error::last_os_error()));
    }
    // A forked child unshares, so the caller's own namespaces never change; between fork and
    // _exit it makes only raw system calls on memory prepared before the fork. The parent
    // binds the namespace: a child inside another user namespace may not mount.
    // SAFETY: fork, then async-signal-safe calls only in the child.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let _ = fs::remove_file(path);
        return Err(NetworkError::io(path, std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: plain system calls with valid descriptors, buffers and a zeroed ifreq.
        unsafe {
            let joined = match &owner_fd {
                Some(f) => libc::setns(f.as_raw_fd(), libc::CLONE_NEWUSER) == 0,
                None => true,
            };
            let ok = joined && libc::unshare(libc::CLONE_NEWNET) == 0 && loopback_up(&mut lo);
            let byte = [u8::from(ok)];
            libc::write(ready[1], byte.as_ptr().cast(), 1);
            let mut buf = [0u8; 1];
            libc::read(go[0], buf.as_mut_ptr().cast(), 1);
            libc::_exit(0);
        }
    }
    let mut byte = [0u8; 1];
    // SAFETY: reading one byte from our pipe, then closing the ends we own.
    let child_ok = unsafe {
        libc::close(ready[1]);
        libc::close(go[0]);
        libc::read(ready[0], byte.as_mut_ptr().cast(), 1) == 1 && byte[0] == 1
    };
    let source = format!("/proc/{pid}/ns/net");
    let bound = child_ok && rustix::mount::mount_bind(source.as_str(), path).is_ok();
    // SAFETY: releasing the child and reaping it.
    unsafe {
        libc::write(go[1], b"x".as_ptr().cast(), 1);
        libc::close(go[1]);
        libc::close(ready[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
    if !bound {
        let _ = fs::remove_file(path);
        return Err(NetworkError::Other(format!(
            "cannot create network namespace {}",
            path.display()
        )));
    }
    Ok(())
}

fn unsafe_zeroed_ifreq() -> libc::ifreq {
    // SAFETY: ifreq is a plain C struct for which all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
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
    // Not mounted (or already gone) is fine: the file is removed either way.
    let _ = rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH);
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetworkError::io(path, e)),
    }
}
