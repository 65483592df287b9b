//! Positional parameters: `$1`…`$N` as integers or (with `str()`) strings, `$#`, inside
//! probe specs, after `-e PROGRAM`, after a script file, and after `--`.

mod common;

use common::{lines, run, workload};

#[test]
fn parameters_as_integers_strings_and_count() {
    let r = run(&[
        "-e",
        r#"BEGIN { printf("%d %d %s [%s] %d %d\n", $1 + 1, $#, str($2), str($9), $3, $9); exit(); }"#,
        "41",
        "hello",
        "0x10",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // A missing parameter is 0, or "" through str(), as bpftrace's newest.
    assert_eq!(lines(&r.stdout), ["42 3 hello [] 16 0"]);
    let r = run(&[
        "-e",
        r#"BEGIN { printf("%d %d\n", $1, $#); exit(); }"#,
        "--",
        "-5",
    ]);
    assert_eq!(lines(&r.stdout), ["-5 1"], "{}", r.stderr);
}

#[test]
fn parameters_of_a_script_and_inside_probe_specs() {
    let dir = std::env::temp_dir().join(format!("scry-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("count.bt");
    std::fs::write(
        &script,
        "#!/usr/bin/env scry\nuprobe:$1:scry_workload_func /pid == cpid/ { @[str($2)] = count(); }\n",
    )
    .unwrap();
    let w = workload();
    let cmd = format!("{w} func 7");
    let r = run(&["-c", &cmd, script.to_str().unwrap(), &w, "calls"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@[calls]: 7"]);
    // Options may follow the script and its parameters, as getopt lets bpftrace's;
    // after `--` everything is a parameter, even what looks like an option.
    let r = run(&[script.to_str().unwrap(), &w, "-c", &cmd, "calls"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@[calls]: 7"]);
    let r = run(&[script.to_str().unwrap(), "-c", &cmd, "--", &w, "-x"]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@[-x]: 7"]);
}

#[test]
fn bad_parameters_are_diagnostics() {
    let r = run(&["-e", "BEGIN { @ = $1; }", "abc"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .contains("error[E0313]: positional parameter `$1` is `abc`"),
        "{}",
        r.stderr
    );
    let r = run(&["-e", "uprobe:$1:f { }"]);
    assert!(
        r.stderr
            .contains("error[E0313]: `uprobe:$1:f` needs positional parameter `$1`"),
        "{}",
        r.stderr
    );
    let r = run(&["-e", "BEGIN { @ = $0; }"]);
    assert!(
        r.stderr
            .contains("error[E0313]: positional parameters start at `$1`"),
        "{}",
        r.stderr
    );
}
