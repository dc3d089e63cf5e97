//! BuildKit's own test vectors (shared/conformance, see its README). Every case is
//! checked and all failures are reported by name, not just the first.

use std::fs;
use std::path::{Path, PathBuf};
use strata_dockerfile::expand::{Env, Lex};

fn vectors() -> Option<PathBuf> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance"
    ));
    if dir.is_dir() {
        Some(dir.to_path_buf())
    } else {
        println!(
            "skipping: conformance vectors not found at {}",
            dir.display()
        );
        None
    }
}

fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn report(kind: &str, passed: usize, failures: Vec<String>) {
    println!("{kind}: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{kind} failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn dockerfile_testfiles_render_their_result() {
    let Some(root) = vectors() else { return };
    let (mut passed, mut failures) = (0, Vec::new());
    for dir in case_dirs(&root.join("dockerfile/testfiles")) {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let input = fs::read(dir.join("Dockerfile")).unwrap_or_default();
        let expected = fs::read_to_string(dir.join("result")).unwrap_or_default();
        match strata_dockerfile::parse(&input) {
            Ok(df) if df.dump() == expected.trim_end() => passed += 1,
            Ok(df) => failures.push(format!(
                "{name}:\n--- want\n{expected}\n--- got\n{}",
                df.dump()
            )),
            Err(e) => failures.push(format!("{name}: unexpected error: {e}")),
        }
    }
    assert!(passed > 0, "no test files found");
    report("dockerfile testfiles", passed, failures);
}

#[test]
fn dockerfile_negative_testfiles_fail() {
    let Some(root) = vectors() else { return };
    let (mut passed, mut failures) = (0, Vec::new());
    for dir in case_dirs(&root.join("dockerfile/testfiles-negative")) {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let input = fs::read(dir.join("Dockerfile")).unwrap_or_default();
        match strata_dockerfile::parse(&input) {
            Err(_) => passed += 1,
            Ok(df) => failures.push(format!("{name}: parsed but must fail:\n{}", df.dump())),
        }
    }
    assert!(passed > 0, "no negative test files found");
    report("dockerfile negative testfiles", passed, failures);
}

#[test]
fn shell_env_var_rows() {
    let Some(root) = vectors() else { return };
    let text = fs::read_to_string(root.join("dockerfile/shell/envVarTest")).unwrap_or_default();
    let env = Env::from_list(["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="]);
    let lex = Lex::new('\\');
    let (mut passed, mut failures) = (0, Vec::new());
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim_start_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 3, "envVarTest line {}: {line:?}", n + 1);
        let (platform, source, expected) = (parts[0].trim(), parts[1].trim(), parts[2].trim());
        if platform == "W" {
            continue;
        }
        let got = lex.process_word(source, &env);
        let ok = match (&got, expected) {
            (Err(_), "error") => true,
            (Ok(word), want) if want != "error" => word == want,
            _ => false,
        };
        if ok {
            passed += 1;
        } else {
            failures.push(format!(
                "line {} {source:?}: want {expected:?}, got {got:?}",
                n + 1
            ));
        }
    }
    report("envVarTest rows", passed, failures);
}

#[test]
fn shell_words_rows() {
    let Some(root) = vectors() else { return };
    let text = fs::read_to_string(root.join("dockerfile/shell/wordsTest")).unwrap_or_default();
    let mut envs: Vec<String> = Vec::new();
    let lex = Lex::new('\\');
    let (mut passed, mut failures) = (0, Vec::new());
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("ENV ") {
            envs.push(rest.trim_start_matches(' ').to_string());
            continue;
        }
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 2, "wordsTest line {}: {line:?}", n + 1);
        let source = parts[0].trim();
        let expected: Vec<String> = parts[1]
            .trim_start_matches(' ')
            .split(',')
            .map(str::to_string)
            .collect();
        let got = lex
            .process_words(source, &Env::from_list(&envs))
            .unwrap_or_else(|_| vec!["error".to_string()]);
        if got == expected {
            passed += 1;
        } else {
            failures.push(format!(
                "line {} {source:?}: want {expected:?}, got {got:?}",
                n + 1
            ));
        }
    }
    report("wordsTest rows", passed, failures);
}
