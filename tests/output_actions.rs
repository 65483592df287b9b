//! The formatted output actions end to end: `errorf`/`warnf` with their source location,
//! `cat` and `system` in order with printf output (and their failures reported),
//! `--unsafe` gating, `signal()` reaching the workload, their JSON forms, and `%s` of
//! any value.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{lines, run, run_command, scry, workload};

/// Runs scry with stderr merged into stdout (one pipe, so the order shows).
fn merged(args: &[&str]) -> (String, Option<i32>) {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(scry())
        .args(args);
    let r = run_command(&mut cmd, Duration::from_secs(30)).unwrap();
    (r.stdout, r.code)
}

fn temp_file(name: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!("scry-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn errorf_warnf_and_cat_keep_their_order() {
    let f = temp_file("cat.txt", "line1\nline2\n");
    let prog = format!(
        r#"BEGIN {{ printf("a\n"); errorf("bad %d, %s", 10, "arg2"); warnf("so-so %d\n", 3); printf("b\n"); cat("{f}"); cat("%s.missing", "{f}"); printf("c\n"); exit(); }}"#
    );
    let (out, code) = merged(&["-e", &prog]);
    assert_eq!(code, Some(0), "{out}");
    let body: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        body[1..],
        [
            "a",
            "stdin:1:24-56: ERROR: bad 10, arg2",
            "stdin:1:58-80: WARNING: so-so 3",
            "b",
            "line1",
            "line2",
            &format!("ERROR: failed to open file '{f}.missing': No such file or directory"),
            "c",
        ],
        "{out}"
    );
    // A script names itself in the location.
    let script = temp_file("errorf.bt", "BEGIN {\n  errorf(\"x\");\n  exit();\n}\n");
    let (out, _) = merged(&[&script]);
    assert!(
        out.contains(&format!("{script}:2:3-14: ERROR: x\n")),
        "{out}"
    );
}

#[test]
fn cat_refuses_devices_and_fifos() {
    let (out, code) = merged(&[
        "-e",
        r#"BEGIN { cat("/dev/zero"); printf("done\n"); exit(); }"#,
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "ERROR: failed to open file '/dev/zero': a device, not a regular file\ndone\n"
        ),
        "{out}"
    );
    let r = run(&["-e", r#"BEGIN { cat("/proc/self/status"); exit(); }"#]);
    assert!(r.stdout.contains("\nName:\t"), "{}", r.stdout);
}

#[test]
fn system_needs_unsafe_and_runs_in_order() {
    let r = run(&["-e", r#"BEGIN { system("echo hi"); exit(); }"#]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("E0332") && r.stderr.contains("--unsafe"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    let (out, code) = merged(&[
        "--unsafe",
        "-e",
        r#"BEGIN { printf("x\n"); system("echo hi %d; sleep 0.2; echo there", 5); system("exit 3"); printf("y\n"); exit(); }"#,
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        lines(&out),
        [
            "x",
            "hi 5",
            "there",
            "ERROR: command `exit 3` exited with code 3",
            "y"
        ],
        "{out}"
    );
}

#[test]
fn signal_reaches_the_traced_process() {
    // The first call of the workload's function gets SIGUSR1, which ends the workload.
    let w = workload();
    let prog = format!(
        r#"uprobe:{w}:scry_workload_func {{ printf("call\n"); signal("SIGUSR1"); }}
        tracepoint:signal:signal_generate /args.pid == cpid/ {{ printf("sig %d\n", args.sig); }}"#
    );
    let cmd = format!("{w} func 100");
    let r = run(&["--unsafe", "-c", &cmd, "-e", &prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["call", "sig 10"], "{}", r.stdout);
    // Killed before it finished: the workload never printed its summary.
    assert!(!r.stderr.contains("elapsed_ns="), "{}", r.stderr);
    let r = run(&["-c", &cmd, "-e", &prog]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("E0332"), "{}", r.stderr);
}

#[test]
fn json_forms() {
    let f = temp_file("json.txt", "j\n");
    let prog = format!(
        r#"BEGIN {{ errorf("e %d", 1); warnf("w"); system("echo a b c"); cat("{f}"); cat("/nonexistent/y"); exit(); }}"#
    );
    let r = run(&["--unsafe", "-f", "json", "-e", &prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        out[1..6],
        [
            r#"{"type": "errorf", "msg": "e 1", "filename": "stdin", "line": 1, "col": 9}"#,
            r#"{"type": "warnf", "msg": "w", "filename": "stdin", "line": 1, "col": 28}"#,
            r#"{"type": "syscall", "data": "a b c\n"}"#,
            r#"{"type": "cat", "data": "j\n"}"#,
            r#"{"type": "error", "msg": "failed to open file '/nonexistent/y': No such file or directory"}"#,
        ],
        "{}",
        r.stdout
    );
}

#[test]
fn percent_s_prints_any_value() {
    let r = run(&[
        "-e",
        r#"BEGIN { $p = (uint8 *)0x1000; printf("%s|%s|%s|%s|%s|%4s|\n", -3, (1, "two"), 1 == 1, $p, (uint32)7, 42); exit(); }"#,
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["-3|(1, two)|true|0x1000|7|  42|"]);
}
