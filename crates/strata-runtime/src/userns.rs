//! `--userns=auto`: the container's root is an unprivileged range of host ids. The monitor
//! makes the user namespace itself (bound at `/run/strata/userns/<id>` like a network
//! namespace), because libcontainer enters a new user namespace before it joins the others and
//! would then be refused the network namespace netavark plumbed; with the namespace made first,
//! the network namespace is made inside it and the OCI spec names both by path. The image's
//! layers and the container's upper dir are seen through idmapped mounts of that namespace, so
//! files stay owned by 0 on disk (diff, commit and export see what they always see) while the
//! container's root, host uid 100000, owns them inside.

use std::ffi::CString;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, RuntimeError};

pub const USERNS_DIR: &str = "/run/strata/userns";

/// The host ids the container's 0..size map to: `/etc/subuid` and `/etc/subgid` entries for the
/// user `strata`, else 100000 and 65536 ids (Docker's `dockremap` default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub uid: u32,
    pub gid: u32,
    pub size: u32,
}

fn sub_range(file: &str) -> Option<(u32, u32)> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == "strata").then_some(())?;
        Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
    })
}

impl IdRange {
    pub fn for_host() -> IdRange {
        let (uid, size) = sub_range("/etc/subuid").unwrap_or((100_000, 65_536));
        let (gid, gsize) = sub_range("/etc/subgid").unwrap_or((uid, size));
        IdRange {
            uid,
            gid,
            size: size.min(gsize),
        }
    }
}

pub fn path_for(container_id: &str) -> PathBuf {
    Path::new(USERNS_DIR).join(container_id)
}

fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| RuntimeError::Other(format!("pipe: {e}")))
}

fn bind(source: &Path, target: &Path) -> Result<()> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    let _ = fs::remove_file(target);
    fs::File::create(target).at(target)?;
    rustix::mount::mount_bind(source, target)
        .map_err(|e| RuntimeError::Other(format!("bind {}: {e}", target.display())))
}

/// Makes a user namespace mapping `range` and binds it at `path`.
pub fn create(path: &Path, range: IdRange) -> Result<()> {
    remove(path);
    let (ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    // SAFETY: the child only makes raw system calls on descriptors made before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(RuntimeError::io("fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: unshare/write/read/_exit with valid descriptors and buffers.
        unsafe {
            let ok = libc::unshare(libc::CLONE_NEWUSER) == 0;
            let byte = [u8::from(ok)];
            libc::write(ready_w.as_raw_fd(), byte.as_ptr().cast(), 1);
            let mut buf = [0u8; 1];
            libc::read(go_r.as_raw_fd(), buf.as_mut_ptr().cast(), 1);
            libc::_exit(0);
        }
    }
    drop(ready_w);
    drop(go_r);
    let mut ready = [0u8; 1];
    let unshared = fs::File::from(ready_r).read_exact(&mut ready).is_ok() && ready[0] == 1;
    let result = if unshared {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        fs::write(
            proc.join("uid_map"),
            format!("0 {} {}\n", range.uid, range.size),
        )
        .at(proc.join("uid_map"))
        .and_then(|()| {
            fs::write(
                proc.join("gid_map"),
                format!("0 {} {}\n", range.gid, range.size),
            )
            .at(proc.join("gid_map"))
        })
        .and_then(|()| bind(&proc.join("ns/user"), path))
    } else {
        Err(RuntimeError::Other(
            "user namespaces are not available on this host".into(),
        ))
    };
    let _ = fs::File::from(go_w).write_all(b"x");
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if result.is_err() {
        remove(path);
    }
    result
}

/// Unbinds and deletes a user namespace file; nothing if it is not there.
pub fn remove(path: &Path) {
    let _ = rustix::mount::unmount(path, rustix::mount::UnmountFlags::DETACH);
    let _ = fs::remove_file(path);
}

/// Mounts `src` at `dst` seen through the user namespace at `userns`: a file owned by 0 on
/// disk belongs to the namespace's root (open_tree, mount_setattr with MOUNT_ATTR_IDMAP,
/// move_mount).
pub fn idmapped_clone(src: &Path, dst: &Path, userns: &Path) -> Result<()> {
    fs::create_dir_all(dst).at(dst)?;
    let ns = fs::File::open(userns).at(userns)?;
    let cstr = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| RuntimeError::Other(format!("bad path {}", p.display())))
    };
    let (src_c, dst_c) = (cstr(src)?, cstr(dst)?);
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
    // SAFETY: open_tree with a valid path; the result is a new descriptor we own.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            src_c.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(RuntimeError::io(src, std::io::Error::last_os_error()));
    }
    // SAFETY: fd was just returned by open_tree.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr: [u64; 4] = [MOUNT_ATTR_IDMAP, 0, 0, ns.as_raw_fd() as u64];
    // SAFETY: mount_setattr on our tree descriptor with a struct mount_attr of the given size.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            attr.as_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    if rc != 0 {
        return Err(RuntimeError::Mount(format!(
            "idmapped mount of {}: {} (the kernel or file system may not support idmapped mounts)",
            src.display(),
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: move_mount of our tree descriptor onto an existing directory.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            dst_c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if rc != 0 {
        return Err(RuntimeError::io(dst, std::io::Error::last_os_error()));
    }
    Ok(())
}
