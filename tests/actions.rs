//! Runtime actions that travel as events and run in order with printf output:
//! `print(@m[, top[, div]])`, `clear(@m)`, `zero(@m)`, `exit(code)`, and a program of
//! BEGIN and END only ending after BEGIN.

mod common;

use common::{lines, run, workload};

#[test]
fn print_clear_and_zero_run_in_order_with_printf() {
    // Ten getpid calls; every call counts into @n, the fifth prints, clears and zeroes.
    let cmd = format!("{} getpid 10", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_getpid /pid == cpid/ {
        @n[1] = count(); @i++;
        if (@i == 5) { printf("before\n"); print(@n); @z[7] = 3; zero(@z); print(@z); clear(@n); printf("after\n"); }
    }"#;
    let r = run(&["-e", prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = lines(&r.stdout);
    // The print shows the map when userspace reads the event: at least the first five
    // calls; the clear then leaves what came after it.
    assert_eq!(out[0], "before", "{out:?}");
    let first: u64 = out[1]
        .strip_prefix("@n[1]: ")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!((5..=10).contains(&first), "{out:?}");
    assert_eq!(out[2..4], ["@z[7]: 0", "after"], "{out:?}");
    // At exit: @i, what the clear left of @n (at most the five later calls), @z.
    let exit = &out[4..];
    assert_eq!(exit.first().map(String::as_str), Some("@i: 10"), "{out:?}");
    assert_eq!(exit.last().map(String::as_str), Some("@z[7]: 0"), "{out:?}");
    if let Some(left) = exit.iter().find_map(|l| l.strip_prefix("@n[1]: ")) {
        assert!(left.parse::<u64>().unwrap() <= 5, "{out:?}");
    }
}

#[test]
fn print_top_and_div() {
    let prog = r#"BEGIN { @m[1] = 10; @m[2] = 30; @m[3] = 20; @m[4] = 5; exit(); }
        END { print(@m, 2); print(@m, 0, 10); clear(@m); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        lines(&r.stdout),
        [
            "@m[3]: 20",
            "@m[2]: 30",
            "@m[4]: 0",
            "@m[1]: 1",
            "@m[3]: 2",
            "@m[2]: 3"
        ]
    );
}

#[test]
fn exit_code_is_scrys_exit_status() {
    let r = run(&["-e", "BEGIN { exit(3); }"]);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    let r = run(&["-e", "BEGIN { $c = 256 + 7; exit($c); }"]);
    assert_eq!(r.code, Some(7), "{}", r.stderr);
    let cmd = format!("{} getpid 3", workload());
    let r = run(&[
        "-e",
        "tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @++; if (@ == 2) { exit(42); } }",
        "-c",
        &cmd,
    ]);
    assert_eq!(r.code, Some(42), "{}", r.stderr);
}

#[test]
fn begin_and_end_only_ends_after_begin() {
    // Nothing attached and no process to wait for: END runs and the maps print.
    let r = run(&[
        "-e",
        "BEGIN { @a = 1; printf(\"hi\\n\"); } END { printf(\"end\\n\"); }",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["hi", "end", "@a: 1"]);
}

#[test]
fn delete_of_an_unkeyed_map_resets_it() {
    // An unkeyed count() is a per-CPU array a probe cannot empty on other CPUs: scry
    // empties it, as clear() does; bpftrace 0.17 left `@c: 0`, the newest prints nothing.
    let cmd = format!("{} getpid 4", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @c = count(); @s = 5; @k[1] = 1; }
        END { delete(@c); delete(@s); delete(@k, 1); @after = 1; }"#;
    let r = run(&["-e", prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@after: 1"]);
}

#[test]
fn time_prints_the_wall_clock_in_order() {
    let prog =
        r#"BEGIN { printf("a\n"); time(); time("%Y-%m-%d|%f|%%\n"); printf("b\n"); exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = lines(&r.stdout);
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!((out[0].as_str(), out[3].as_str()), ("a", "b"));
    let hms: Vec<&str> = out[1].split(':').collect();
    assert!(
        hms.len() == 3 && hms.iter().all(|p| p.len() == 2 && p.parse::<u8>().is_ok()),
        "{out:?}"
    );
    let parts: Vec<&str> = out[2].split('|').collect();
    assert_eq!(parts.len(), 3, "{out:?}");
    assert!(
        parts[0].starts_with("20") && parts[0].len() == 10,
        "{out:?}"
    );
    assert!(
        parts[1].len() == 6 && parts[1].parse::<u32>().is_ok(),
        "{out:?}"
    );
    assert_eq!(parts[2], "%");
    let r = run(&["-f", "json", "-e", r#"BEGIN { time("%%"); exit(); }"#]);
    assert!(
        r.stdout.contains(r#"{"type": "time", "data": "%"}"#),
        "{}",
        r.stdout
    );
}
