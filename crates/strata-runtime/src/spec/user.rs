//! `--user` / the image's USER resolved against the container's own /etc/passwd and
//! /etc/group, with the rules of moby's user package: numeric IDs need no entry, names do.

use std::path::Path;

use crate::error::{Result, RuntimeError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
                home: f.get(5).map(|h| h.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: f.first()?.to_string(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves `spec` (`user`, `uid`, `user:group`, `uid:gid`, empty for root) from the passwd
/// and group texts of the container (empty when the files are missing).
pub fn resolve_user(spec: &str, passwd: &str, group: &str) -> Result<ExecUser> {
    let users = parse_passwd(passwd);
    let groups = parse_group(group);
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let numeric_uid = user_part.parse::<u32>().ok();
    let entry = users.iter().find(|u| match numeric_uid {
        Some(uid) => u.uid == uid,
        None => u.name == user_part,
    });
    let (uid, mut gid, home, name) = match (entry, numeric_uid) {
        (Some(e), _) => (e.uid, e.gid, e.home.clone(), Some(e.name.clone())),
        (None, Some(uid)) => (uid, 0, "/".to_string(), None),
        (None, None) => return Err(RuntimeError::UnknownUser(user_part.to_string())),
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                groups
                    .iter()
                    .find(|e| e.name == g)
                    .ok_or_else(|| RuntimeError::UnknownGroup(g.to_string()))?
                    .gid
            }
        };
    }
    let additional_gids = match (&name, group_part) {
        (Some(n), None) => groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == n) && g.gid != gid)
            .map(|g| g.gid)
            .collect(),
        _ => Vec::new(),
    };
    let home = if home.is_empty() {
        "/".to_string()
    } else {
        home
    };
    Ok(ExecUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

/// Reads the container's passwd and group files from its root filesystem and resolves `spec`.
pub fn resolve_user_in(rootfs: &Path, spec: &str) -> Result<ExecUser> {
    let read = |p: &str| std::fs::read_to_string(rootfs.join(p)).unwrap_or_default();
    resolve_user(spec, &read("etc/passwd"), &read("etc/group"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nwww:x:33:33::/var/www:/bin/sh\n";
    const GROUP: &str = "root:x:0:\ndaemon:x:1:\nwww:x:33:\nwheel:x:10:www,daemon\n";

    #[test]
    fn empty_is_root() {
        let u = resolve_user("", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
    }

    #[test]
    fn name_lookup_with_supplementary_groups() {
        let u = resolve_user("www", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (33, 33, "/var/www"));
        assert_eq!(u.additional_gids, vec![10]);
    }

    #[test]
    fn numeric_without_entry() {
        let u = resolve_user("1234:55", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1234, 55, "/"));
        let u = resolve_user("1234", PASSWD, GROUP).unwrap();
        assert_eq!(u.gid, 0);
    }

    #[test]
    fn group_by_name() {
        let u = resolve_user("daemon:wheel", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (1, 10));
        assert!(u.additional_gids.is_empty());
    }

    #[test]
    fn unknown_names_fail_with_docker_wording() {
        let e = resolve_user("nobody", PASSWD, GROUP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user nobody: no matching entries in passwd file"
        );
        let e = resolve_user("root:nogroup", PASSWD, GROUP).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find group nogroup: no matching entries in group file"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(spec in ".{0,20}", passwd in ".{0,80}", group in ".{0,80}") {
            let _ = resolve_user(&spec, &passwd, &group);
        }
    }
}
