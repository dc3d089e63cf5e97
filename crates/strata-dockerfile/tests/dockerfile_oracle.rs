//! Differential test against the real Docker engine's classic builder: for Dockerfiles
//! that only use syntax both it and BuildKit understand (metadata instructions on
//! `scratch`, so a build succeeds exactly when the file is valid), strata must accept
//! exactly the files docker accepts. Skips without docker.

use std::process::Command;

const CASES: &[(&str, &str)] = &[
    (
        "env-forms",
        "FROM scratch\nENV a=b c=\"d e\"\nENV f g h\nLABEL x=y\n",
    ),
    ("env-no-value", "FROM scratch\nENV PATH\n"),
    ("unknown-instruction", "FROM scratch\nXYZZY a\n"),
    (
        "backtick-escape",
        "# escape=`\nFROM scratch\nENV a=b `\n  c=d\n",
    ),
    ("bad-escape", "# escape=x\nFROM scratch\nLABEL a=b\n"),
    ("non-string-json", "FROM scratch\nCMD [\"a\", 1]\n"),
    ("single-quote-json-is-shell", "FROM scratch\nCMD ['a']\n"),
    ("env-before-from", "ENV a=b\nFROM scratch\nLABEL a=b\n"),
    ("meta-arg", "ARG X=1\nFROM scratch\nLABEL a=$X\n"),
    (
        "healthcheck-bad-unit",
        "FROM scratch\nHEALTHCHECK --interval=1x CMD a\n",
    ),
    (
        "healthcheck-ok",
        "FROM scratch\nHEALTHCHECK --interval=5s --timeout=2s --retries=2 CMD a\n",
    ),
    (
        "healthcheck-none-args",
        "FROM scratch\nHEALTHCHECK NONE x\n",
    ),
    ("healthcheck-type", "FROM scratch\nHEALTHCHECK FOO a\n"),
    ("copy-unknown-flag", "FROM scratch\nCOPY --bogus=1 a b\n"),
    ("onbuild-chain", "FROM scratch\nONBUILD ONBUILD CMD a\n"),
    ("onbuild-from", "FROM scratch\nONBUILD FROM x\n"),
    ("onbuild-ok", "FROM scratch\nONBUILD RUN echo hi\n"),
    ("shell-not-json", "FROM scratch\nSHELL /bin/sh\n"),
    ("shell-json", "FROM scratch\nSHELL [\"/bin/sh\", \"-c\"]\n"),
    ("expose-empty", "FROM scratch\nEXPOSE\n"),
    ("label-missing-equals", "FROM scratch\nLABEL a=b c\n"),
    ("empty-continuation", "FROM scratch\nWORKDIR /a \\\n\n /b\n"),
    ("bad-stage-name", "FROM scratch AS 1bad\nLABEL a=b\n"),
    ("stage-name", "FROM scratch AS Good.name-1\nLABEL a=b\n"),
    ("user-with-space", "FROM scratch\nUSER a b\n"),
    ("volume-empty", "FROM scratch\nVOLUME [\"\"]\n"),
    ("stopsignal-empty", "FROM scratch\nSTOPSIGNAL\n"),
    ("maintainer", "FROM scratch\nMAINTAINER me\n"),
    (
        "exec-with-trailing",
        "FROM scratch\nENTRYPOINT [\"a\"] extra\n",
    ),
    ("arg-empty", "FROM scratch\nARG\n"),
    (
        "duplicate-directive",
        "# escape=\\\n# escape=`\nFROM scratch\nLABEL a=b\n",
    ),
    (
        "directive-after-comment",
        "# hi\n# escape=x\nFROM scratch\nLABEL a=b\n",
    ),
    (
        "comment-in-continuation",
        "FROM scratch\nLABEL a=b \\\n# note\n  c=d\n",
    ),
    ("case-insensitive", "from scratch\nlabel a=b\nEnv c=d\n"),
    ("from-too-many", "FROM scratch a b c\n"),
    ("workdir-empty", "FROM scratch\nWORKDIR\n"),
    ("cmd-flag", "FROM scratch\nCMD --x=1 a\n"),
    ("env-blank-name", "FROM scratch\nENV =b\n"),
    ("continuation-at-eof", "FROM scratch\nLABEL a=b \\"),
    ("only-comments", "# nothing\n\n"),
];

#[test]
fn acceptance_matches_docker() {
    if Command::new("docker")
        .arg("info")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        println!("skipping: docker info failed, no oracle");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let tag = format!("strata-dockerfile-oracle:{}", std::process::id());
    let mut failures = Vec::new();
    for (name, content) in CASES {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("Dockerfile"), content).expect("write");
        let out = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", &tag])
            .arg(&dir)
            .output()
            .expect("docker build");
        let docker_ok = out.status.success();
        let ours = strata_dockerfile::instructions::parse_file(content.as_bytes());
        if docker_ok != ours.is_ok() {
            failures.push(format!(
                "{name}: docker {} ({}), strata {:?}",
                if docker_ok { "accepted" } else { "rejected" },
                String::from_utf8_lossy(&out.stderr).trim(),
                ours.map(|_| ()),
            ));
        }
    }
    let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
    println!("{} cases, {} disagreements", CASES.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
