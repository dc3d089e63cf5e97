//! `run` flags checked against Docker's behaviour: `-a` (attach only the named streams).

mod common;

use common::Strata;

fn out(s: &Strata, args: &[&str]) -> (i32, String, String) {
    let o = s.run(args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const BOTH: &str = "echo out; echo err >&2; exit 3";

#[test]
fn attach_shows_only_the_named_streams() {
    let s = Strata::new();
    s.import_busybox("busybox:local");
    let run = |attach: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(attach);
        args.extend(["busybox:local", "sh", "-c", BOTH]);
        out(&s, &args)
    };
    assert_eq!(run(&["-a", "stdout"]), (3, "out\n".into(), String::new()));
    assert_eq!(run(&["-a", "STDERR"]), (3, String::new(), "err\n".into()));
    assert_eq!(
        run(&["-a", "stderr", "-a", "Stdout"]),
        (3, "out\n".into(), "err\n".into())
    );
    assert_eq!(run(&["-a", "stdin"]), (3, String::new(), String::new()));

    let (code, _, err) = run(&["-a", "foo"]);
    assert_eq!(code, 125);
    assert!(
        err.contains(
            "invalid argument \"foo\" for \"-a, --attach\" flag: valid streams are STDIN, STDOUT and STDERR"
        ),
        "{err}"
    );
    let (code, _, err) = run(&["-d", "-a", "stdout"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("conflicting options: cannot specify both --attach and --detach"),
        "{err}"
    );

    // Config.Attach* as Docker records them.
    let inspect = |args: &[&str]| {
        let mut a = vec!["create"];
        a.extend_from_slice(args);
        a.extend(["busybox:local", "true"]);
        let id = s.ok(&a);
        let f = "{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}} {{.Config.OpenStdin}} {{.Config.StdinOnce}}";
        let shown = s.ok(&["inspect", "--format", f, id.trim()]);
        s.ok(&["rm", id.trim()]);
        shown.trim().to_string()
    };
    assert_eq!(inspect(&["-a", "stderr"]), "false false true false false");
    assert_eq!(
        inspect(&["-i", "-a", "stdout"]),
        "true true false true true"
    );
    assert_eq!(inspect(&["-a", "stdin"]), "true false false false false");
    assert_eq!(inspect(&[]), "false true true false false");
}
