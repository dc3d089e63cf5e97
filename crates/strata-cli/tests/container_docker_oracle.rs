//! Differential checks against the real Docker engine: the same fixture image with the same
//! ENTRYPOINT/CMD instructions must give the same process output and exit codes.

mod common;

use common::{Strata, docker_available};

fn run_both(s: &Strata, image: &str, args: &[&str]) -> ((i32, String), (i32, String)) {
    let mut strata_args = vec!["run", "--rm"];
    strata_args.extend_from_slice(args);
    let ours = s.run(
        &strata_args
            .iter()
            .map(|a| a.replace("{IMG}", image))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let mut docker_args = vec![
        "run".to_string(),
        "--rm".to_string(),
        "--network".to_string(),
        "none".to_string(),
    ];
    docker_args.extend(args.iter().map(|a| a.replace("{IMG}", image)));
    let theirs = std::process::Command::new("docker")
        .args(&docker_args)
        .output()
        .expect("docker runs");
    (
        (
            ours.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&ours.stdout).into_owned(),
        ),
        (
            theirs.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&theirs.stdout).into_owned(),
        ),
    )
}

#[test]
fn entrypoint_cmd_table_and_exit_codes_match_docker() {
    if !docker_available() {
        println!("skipping: docker is not available");
        return;
    }
    let s = Strata::new();
    let tar = common::busybox_tar();
    let tar = tar.to_str().unwrap();
    let images: &[(&str, &[&str])] = &[
        (
            "exec-ep",
            &[r#"ENTRYPOINT ["echo", "ep"]"#, r#"CMD ["c1", "c2"]"#],
        ),
        ("shell-ep", &["ENTRYPOINT echo shell-ep", r#"CMD ["c1"]"#]),
        ("shell-cmd", &["CMD echo from shell $((1+1))"]),
        (
            "workdir-user",
            &[
                "WORKDIR /tmp/wd",
                "USER daemon",
                "ENV A=image B=image",
                r#"CMD ["sh", "-c", "echo $A $B $(pwd) $(id -u)"]"#,
            ],
        ),
    ];
    let mut docker_names = Vec::new();
    for (name, changes) in images {
        let tag = format!("{}:{}", common::unique("oracle"), name);
        let mut args = vec!["import".to_string()];
        for c in *changes {
            args.push("-c".into());
            args.push(c.to_string());
        }
        args.push(tar.to_string());
        args.push(tag.clone());
        s.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let out = std::process::Command::new("docker")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        docker_names.push(tag);
    }
    let cases: &[(usize, &[&str])] = &[
        (0, &["{IMG}"]),
        (0, &["{IMG}", "x", "y"]),
        (0, &["--entrypoint", "echo", "{IMG}"]),
        (0, &["--entrypoint", "echo", "{IMG}", "z"]),
        (1, &["{IMG}"]),
        (1, &["{IMG}", "ignored"]),
        (2, &["{IMG}"]),
        (2, &["{IMG}", "sh", "-c", "exit 3"]),
        (2, &["{IMG}", "no-such-binary"]),
        (2, &["{IMG}", "/etc/passwd"]),
        (3, &["{IMG}"]),
        (3, &["-e", "B=flag", "-w", "/", "-u", "0", "{IMG}"]),
    ];
    for (image, args) in cases {
        let (ours, theirs) = run_both(&s, &docker_names[*image], args);
        assert_eq!(
            ours, theirs,
            "strata vs docker for {args:?} on {}",
            docker_names[*image]
        );
    }
    for name in docker_names {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &name])
            .output();
    }
}
