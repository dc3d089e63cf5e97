//! Keeps a network's bridge up between containers, as docker0 stays up. netavark removes a
//! bridge, and recreates it with its iptables chains, whenever its last container leaves and
//! the next one comes; that made every `run --rm` on the bridge pay for both (about 0.35 s of
//! 0.42 s here). A veth pair with one end enslaved to the bridge (`sk…`/`sp…`, the
//! host's kernel may lack `dummy` links) counts as an attached link, so the bridge and its
//! rules stay until `network rm` takes the keeper away (`netavark::forget`).

use std::process::{Command, Stdio};

/// `br-0123456789ab` → `sk0123456789ab`, `strata0` → `sk-strata0` (15 characters at most).
fn names(bridge: &str) -> (String, String) {
    let stem = match bridge.strip_prefix("br-") {
        Some(id) => id.to_string(),
        None => format!("-{bridge}"),
    };
    let stem: String = stem.chars().take(13).collect();
    (format!("sk{stem}"), format!("sp{stem}"))
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Attaches the keeper to `bridge` unless it is there. Failures only cost speed: logged.
pub fn ensure(bridge: &str) {
    let (keeper, peer) = names(bridge);
    if std::path::Path::new("/sys/class/net")
        .join(&keeper)
        .exists()
    {
        return;
    }
    let ok = ip(&[
        "link", "add", &keeper, "type", "veth", "peer", "name", &peer,
    ]) && ip(&["link", "set", &keeper, "master", bridge]);
    if !ok {
        tracing::debug!("could not attach a keeper link to {bridge}");
        let _ = ip(&["link", "del", &keeper]);
    }
}

/// Deletes the keeper (both ends of the pair go together).
pub fn remove(bridge: &str) {
    let (keeper, _) = names(bridge);
    if std::path::Path::new("/sys/class/net")
        .join(&keeper)
        .exists()
    {
        let _ = ip(&["link", "del", &keeper]);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_fit_linux_interface_names() {
        assert_eq!(super::names("br-0123456789ab").0, "sk0123456789ab");
        assert_eq!(
            super::names("strata0"),
            ("sk-strata0".into(), "sp-strata0".into())
        );
        assert!(super::names("averyveryverylongname").0.len() <= 15);
    }
}
