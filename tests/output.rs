//! The output seam end to end: `-f json` messages, and events the ring buffer had no
//! room for counted in the kernel and reported (text and JSON), with `exit()` never lost.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{lines, run, scry, workload};

#[test]
fn json_messages_one_per_line() {
    let prog = r#"BEGIN { printf("hi %d\n", 5); @m["a"] = 2; @m["b"] = 1;
        @h = hist(5); @h = hist(100); @s = stats(3); @a[1, "x"] = avg(4); @c = count(); exit(); }"#;
    let r = run(&["-f", "json", "-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let want = [
        r#"{"type": "attached_probes", "count": 1, "data": {"probes": 1}}"#,
        r#"{"type": "printf", "data": "hi 5\n"}"#,
        r#"{"type": "stats", "data": {"@a": {"1,x": 4}}}"#,
        r#"{"type": "map", "data": {"@c": 1}}"#,
        r#"{"type": "hist", "data": {"@h": [{"min": 4, "max": 7, "count": 1},{"min": 8, "max": 15, "count": 0},{"min": 16, "max": 31, "count": 0},{"min": 32, "max": 63, "count": 0},{"min": 64, "max": 127, "count": 1}]}}"#,
        r#"{"type": "map", "data": {"@m": {"b": 1, "a": 2}}}"#,
        r#"{"type": "stats", "data": {"@s": {"count": 1, "average": 3, "total": 3}}}"#,
    ];
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want);
}

/// Runs `args` with stdout unread until the workload has finished (its `elapsed_ns=`
/// line on stderr, when `wait_workload`) and `stall` more, then reads everything: the ring buffer fills while
/// scry waits on the pipe. Waiting for the workload, not a fixed time, keeps this true
/// on a loaded machine, where starting scry alone can take a while.
fn stalled(args: &[&str], stall: Duration, wait_workload: bool) -> (String, String, Option<i32>) {
    use std::io::BufRead;
    let mut child = Command::new(scry())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scry");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let se = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut err = String::new();
        for line in std::io::BufReader::new(se).lines() {
            let line = line.unwrap_or_default();
            if line.contains("elapsed_ns=") {
                let _ = done_tx.send(());
            }
            err.push_str(&line);
            err.push('\n');
        }
        err
    });
    if wait_workload {
        let _ = done_rx.recv_timeout(Duration::from_secs(60));
    }
    std::thread::sleep(stall);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let err = err_reader.join().unwrap();
    let status = child.wait().unwrap();
    (out, err, status.code())
}

#[test]
fn events_the_ring_buffer_drops_are_counted_exactly() {
    const N: u64 = 200_000;
    let cmd = format!("{} getpid {N}", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { printf("%d\n", 1); }"#;
    let (out, err, code) = stalled(&["-e", prog, "-c", &cmd], Duration::from_millis(200), true);
    assert_eq!(code, Some(0), "stderr: {err}");
    let printed = out.lines().filter(|l| *l == "1").count() as u64;
    let lost: u64 = err
        .lines()
        .find_map(|l| {
            l.strip_prefix("Lost ")?
                .strip_suffix(" events")?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    assert!(
        lost > 0,
        "the stalled pipe must overflow the ring buffer: {err}"
    );
    assert_eq!(printed + lost, N, "printed {printed}, lost {lost}");
}

#[test]
fn lost_events_in_json_and_exit_is_never_lost() {
    // The command floods the ring buffer (nobody reads: stdout stalls), then makes the
    // getppid() whose probe calls exit(), then sleeps 30 s. The exit() event finds the
    // buffer full; scry must stop anyway, long before the sleep ends.
    let cmd = format!("{} flood 200000", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { printf("%d\n", 1); }
        tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { exit(); }"#;
    let start = std::time::Instant::now();
    let (out, err, code) = stalled(
        &["-f", "json", "-e", prog, "-c", &cmd],
        Duration::from_secs(2),
        false,
    );
    assert_eq!(code, Some(0), "stderr: {err}");
    assert!(start.elapsed() < Duration::from_secs(20), "exit() was lost");
    let last = out.lines().last().unwrap_or("");
    assert!(
        last.starts_with(r#"{"type": "lost_events", "count": "#),
        "last line: {last}"
    );
}

#[test]
fn tuples_print_as_bpftrace_prints_them() {
    let prog = r#"BEGIN { @v = (7, "seven"); @w[1] = ((int8)-1, (uint16)65535); @n[(1, 2)] = (3, (4, "x")); exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        common::lines(&r.stdout),
        [
            "@n[1, 2]: (3, (4, x))",
            "@v: (7, seven)",
            "@w[1]: (-1, 65535)"
        ]
    );
    let r = run(&["-f", "json", "-e", prog]);
    assert!(
        r.stdout
            .contains(r#"{"type": "map", "data": {"@n": {"1,2": [3,[4,"x"]]}}}"#),
        "{}",
        r.stdout
    );
}

#[test]
fn print_values_in_text_and_json() {
    let prog = r#"BEGIN { print(5); print("a b"); print((1, "x", (int8)-3)); print((uint8 *)16); print(false); exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        lines(&r.stdout),
        ["5", "a b", "(1, x, -3)", "0x10", "false"]
    );
    let r = run(&["-f", "json", "-e", prog]);
    let values: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains(r#""type": "value""#))
        .collect();
    assert_eq!(
        values,
        [
            r#"{"type": "value", "data": 5}"#,
            r#"{"type": "value", "data": "a b"}"#,
            r#"{"type": "value", "data": [1,"x",-3]}"#,
            r#"{"type": "value", "data": 16}"#,
            r#"{"type": "value", "data": false}"#,
        ]
    );
}

#[test]
fn updates_of_a_full_map_are_counted_and_reported() {
    // Ten getpid calls, each a new key; the maps hold 4 entries: 6 updates of each map
    // find it full, and nothing says so but this report.
    let cmd = format!("{} getpid 10", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_getpid /pid == cpid/ {
        @k[@i] = 1; @c[@i] = count(); @i++; }"#;
    let r = run(&["--max-map-keys", "4", "-e", prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        lines(&r.stdout)
            .iter()
            .filter(|l| l.starts_with("@k[") || l.starts_with("@c["))
            .count(),
        8
    );
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("WARNING"))
        .collect();
    assert_eq!(
        warnings,
        [
            "WARNING: map @c was full (4 entries): 6 updates of new keys were dropped; raise the limit with --max-map-keys",
            "WARNING: map @k was full (4 entries): 6 updates of new keys were dropped; raise the limit with --max-map-keys",
        ]
    );
    let r = run(&["-f", "json", "--max-map-keys", "4", "-e", prog, "-c", &cmd]);
    assert!(
        r.stdout.contains(
            r#"{"type": "map_full", "data": {"map": "@k", "capacity": 4, "dropped": 6}}"#
        ),
        "{}",
        r.stdout
    );
    // BPFTRACE_MAX_MAP_KEYS does the same; a bad value is a diagnostic.
    let out = std::process::Command::new(scry())
        .args(["-e", prog, "-c", &cmd])
        .env("BPFTRACE_MAX_MAP_KEYS", "4")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("map @k was full (4 entries)"));
    let r = run(&["--max-map-keys", "0", "-e", prog]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("error[E0504]"), "{}", r.stderr);
}
