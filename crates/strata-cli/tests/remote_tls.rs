//! Mutual TLS: a CNCF registry that requires a client certificate (`http.tls.clientcas`),
//! and Docker's `/etc/docker/certs.d/HOST/client.cert` + `client.key` presenting one.

mod common;
mod remote_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Strata, busybox_tar};
use remote_support::cncf_registry_with;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").expect("ext");
    for (name, cn) in [("server", "127.0.0.1"), ("client", "strata test client")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

/// `/etc/docker/certs.d/HOST/`, removed again when the test ends, however it ends.
struct CertsDir(PathBuf);

impl Drop for CertsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_registry_requiring_client_certificates_gets_the_one_in_certs_d() {
    let certs = tempfile::tempdir().expect("tmp");
    make_certs(certs.path());
    let c = |name: &str| certs.path().join(name).display().to_string();
    let tls = format!(
        "  tls:\n    certificate: {}\n    key: {}\n    clientcas:\n      - {}\n",
        c("server.crt"),
        c("server.key"),
        c("ca.crt")
    );
    let reg = cncf_registry_with(&[], &tls);
    let host_dir = CertsDir(Path::new("/etc/docker/certs.d").join(&reg.host));
    std::fs::create_dir_all(&host_dir.0).expect("certs.d");
    std::fs::copy(certs.path().join("ca.crt"), host_dir.0.join("ca.crt")).expect("ca");

    let s = Strata::new();
    let name = format!("{}/mtls/bb:1", reg.host);
    s.ok(&["import", busybox_tar().to_str().expect("utf8"), &name]);
    // Without a client certificate the registry refuses the TLS handshake.
    s.fails(&["push", &name]);

    // Docker's file names: NAME.cert with NAME.key.
    std::fs::copy(
        certs.path().join("client.crt"),
        host_dir.0.join("client.cert"),
    )
    .expect("cert");
    let err = s.fails(&["push", &name]);
    assert!(
        err.contains("missing key client.key for client certificate client.cert"),
        "{err}"
    );
    std::fs::copy(
        certs.path().join("client.key"),
        host_dir.0.join("client.key"),
    )
    .expect("key");
    let out = s.ok(&["push", &name]);
    assert!(out.contains("digest: sha256:"), "{out}");

    let b = Strata::new();
    b.ok(&["pull", "-q", &name]);
    assert_eq!(
        b.ok(&["inspect", "--format", "{{.Id}}", &name]),
        s.ok(&["inspect", "--format", "{{.Id}}", &name])
    );
}
