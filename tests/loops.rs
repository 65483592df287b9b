//! Loops that run in callbacks, end to end against the workload: `for ($kv : @map)` in
//! tracepoint probes (reading the probe's context and variables inside the callback),
//! map loops printing mid-run, ranges with run-time bounds, and the report of a range
//! too long for `bpf_loop`.

mod common;

use common::{lines, run, workload};

#[test]
fn map_loop_in_a_tracepoint_reads_context_and_variables() {
    // Ten getpid calls: each call iterates the three entries of @seen, reading the
    // tracepoint's syscall number and a variable of the probe inside the callback.
    let cmd = format!("{} getpid 10", workload());
    let prog = r#"
        BEGIN { @seen[1] = 10; @seen[2] = 20; @seen[3] = 30; }
        tracepoint:syscalls:sys_enter_getpid /pid == cpid/ {
            $calls = 0;
            for ($kv : @seen) { $calls++; @nr[args.__syscall_nr] = count(); @sum += $kv.1; }
            @loops[$calls] = count();
        }
        END { clear(@seen); }"#;
    let r = run(&["-e", prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = lines(&r.stdout);
    // getpid is system call 39 on x86-64.
    assert_eq!(
        out,
        ["@loops[3]: 10", "@nr[39]: 30", "@sum: 600"],
        "{out:?}"
    );
}

#[test]
fn map_loop_output_in_order_with_printf() {
    let prog = r#"BEGIN {
        @m["b"] = 2; @m["a"] = 1;
        printf("start\n");
        $n = 0;
        for ($kv : @m) { printf("%s=%d\n", $kv.0, $kv.1); $n += $kv.1; }
        printf("total %d of %d\n", $n, len(@m));
        clear(@m);
        exit();
    }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut out = lines(&r.stdout);
    assert_eq!(out.first().map(String::as_str), Some("start"), "{out:?}");
    assert_eq!(
        out.last().map(String::as_str),
        Some("total 3 of 2"),
        "{out:?}"
    );
    // Entries come in the kernel's hash order.
    let mut entries: Vec<String> = out.drain(1..3).collect();
    entries.sort();
    assert_eq!(entries, ["a=1", "b=2"]);
}

#[test]
fn ranges_with_bounds_from_the_trace() {
    // The workload's 5 `read`s of 13 bytes each: a range over the byte count each time.
    let cmd = format!("{} read 5 13", workload());
    let prog = r#"tracepoint:syscalls:sys_exit_read /pid == cpid && args.ret == 13/ {
        for ($i : 0..args.ret) { @bytes = count(); }
        for ($i : args.ret..0) { @never = count(); }
    }"#;
    let r = run(&["-e", prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = lines(&r.stdout);
    assert_eq!(out, ["@bytes: 65"], "{out:?}");
}

#[test]
fn a_range_too_long_for_bpf_loop_is_reported() {
    let prog = "BEGIN { $n = 0; $end = 10000000; for ($i : 0..$end) { $n++; } print($n); for ($j : 0..100) { $n++; } print($n); }";
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["0", "100"]);
    assert!(
        r.stderr.contains(
            "WARNING: line 1: `for ($i : 0..$end) { $n++; }`: the range was longer than 8388608 values once; the loop ran no iteration then"
        ),
        "{}",
        r.stderr
    );
    let j = run(&["-f", "json", "-e", prog]);
    assert_eq!(j.code, Some(0), "{}", j.stderr);
    assert!(
        j.stdout.lines().any(|l| l
            == r#"{"type": "loop_errors", "data": {"line": 1, "expr": "for ($i : 0..$end) { $n++; }", "count": 1}}"#),
        "{}",
        j.stdout
    );
}
