//! End-to-end runs of the `scry` binary on the real kernel against the deterministic
//! workload (examples/workload.rs). Needs root and BPF; asserts exact values.

mod common;

use common::{body, lines, run, workload};

/// Runs `prog` with `-c cmd` and asserts that it succeeded.
fn traced(prog: &str, cmd: &str) -> common::Run {
    let r = run(&["-e", prog, "-c", cmd]);
    assert_eq!(r.code, Some(0), "{prog}\nstderr: {}", r.stderr);
    r
}

#[test]
fn counts_exactly_the_getpid_calls_of_the_command() {
    let cmd = format!("{} getpid 1000", workload());
    let r = run(&[
        "-e",
        "tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { @[comm] = count(); }",
        "-c",
        &cmd,
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@[workload]: 1000"]);
    assert!(
        r.stdout.starts_with("Attaching 1 probe...\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn sums_a_tracepoint_argument() {
    let cmd = format!("{} write 100 7", workload());
    let prog = "t:syscalls:sys_enter_write /pid == cpid && args.count == 7/ { @bytes = sum(args.count); @calls[args->count] = count(); }";
    let r = traced(prog, &cmd);
    assert_eq!(lines(&r.stdout), ["@bytes: 700", "@calls[7]: 100"]);
}

#[test]
fn printf_formats_integers_and_strings() {
    let prog = r#"BEGIN { printf("hello %d %s|%5d|%-4s|%x|%c|%u|%lu\n", 42, "str", 7, "ab", 255, 65, -1, -1); exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(
        lines(&r.stdout),
        ["hello 42 str|    7|ab  |ff|A|4294967295|18446744073709551615"]
    );
}

#[test]
fn interval_fires_and_end_reads_maps() {
    let prog =
        "interval:ms:20 { @i++; if (@i == 3) { exit(); } } END { printf(\"end %d\\n\", @i); }";
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["end 3", "@i: 3"]);
}

#[test]
fn maps_sorted_by_name_entries_by_value() {
    let prog = r#"BEGIN { @b["x"] = 3; @b["y"] = 1; @b["z"] = 2; @a = 7; @c[1, "one"] = count(); @c[2, "two"] = count(); @c[2, "two"] = count(); exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(
        lines(&r.stdout),
        [
            "@a: 7",
            "@b[y]: 1",
            "@b[z]: 2",
            "@b[x]: 3",
            "@c[1, one]: 1",
            "@c[2, two]: 2"
        ]
    );
}

#[test]
fn variables_ternaries_and_arithmetic() {
    let prog = r#"BEGIN { $x = 10; $y = $x * 3 - 4; $s = $y > 20 ? "big" : "small"; printf("%d %s %d %d\n", $y, $s, -7 / 2, $y % 7); if ($s == "big" && !($y == 0)) { @ok = 1; } exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["26 big -3 5", "@ok: 1"]);
}

#[test]
fn string_comparison_in_predicate() {
    let cmd = format!("{} getpid 50", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_getpid /comm == "workload" && pid == cpid/ { @n = count(); } tracepoint:syscalls:sys_enter_getpid /comm != "workload" && pid == cpid/ { @wrong = count(); }"#;
    let r = traced(prog, &cmd);
    assert_eq!(lines(&r.stdout), ["@n: 50"]);
}

#[test]
fn exit_stops_the_program() {
    let r = run(&[
        "-e",
        "BEGIN { printf(\"a\\n\"); exit(); printf(\"b\\n\"); }",
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["a"]);
}

#[test]
fn script_file_with_shebang() {
    let dir = std::env::temp_dir().join(format!("scry-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hello.bt");
    std::fs::write(
        &path,
        "#!/usr/bin/env scry\n// a comment\nBEGIN { printf(\"from file\\n\"); exit(); }\n",
    )
    .unwrap();
    let r = run(&[path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["from file"]);
}

#[test]
fn pid_flag_exits_when_the_process_exits() {
    let mut sleeper = std::process::Command::new(workload())
        .args(["sleep", "300"])
        .spawn()
        .unwrap();
    let pid = sleeper.id().to_string();
    let r = run(&["-e", "interval:ms:10 { @ticks = count(); }", "-p", &pid]);
    sleeper.wait().unwrap();
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = lines(&r.stdout);
    assert_eq!(out.len(), 1, "{out:?}");
    let ticks: u64 = out[0]
        .strip_prefix("@ticks: ")
        .expect("a @ticks line")
        .parse()
        .unwrap();
    assert!((5..=40).contains(&ticks), "ticks = {ticks}");
}

#[test]
fn sigint_prints_maps_and_exits() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(common::scry())
        // The interval keeps it running (a program of BEGIN alone ends after BEGIN).
        .args([
            "-e",
            "BEGIN { @started = 1; printf(\"ready\\n\"); } interval:s:60 { exit(); }",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("ready") {
        use std::io::Read;
        let n = stdout.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "scry ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // SAFETY: sending a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut rest = String::new();
    use std::io::Read;
    stdout.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{status:?}");
    assert!(rest.contains("@started: 1"), "{rest}");
}

#[test]
fn dump_insns_lists_source_and_instructions() {
    let r = run(&[
        "--dump",
        "insns",
        "-e",
        "tracepoint:syscalls:sys_enter_getpid /pid == 42/ { @[comm] = count(); }",
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = r.stdout;
    assert!(out.starts_with("prog p0_tp (tracepoint/syscalls/sys_enter_getpid):\n; pid == 42\n   0: call bpf_get_current_pid_tgid#14\n"), "{out}");
    assert!(out.contains("; @[comm] = count()\n"), "{out}");
    assert!(out.contains("call bpf_map_lookup_elem#1"), "{out}");
    assert!(out.trim_end().ends_with("exit"), "{out}");
}

#[test]
fn dump_ast_prints_the_tree() {
    let r = run(&["--dump", "ast", "-e", "BEGIN { @x = 1 + 2; }"]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(
        r.stdout,
        "probe BEGIN @0..21\n  block @6..21\n    assign = @8..18\n      map @x @8..10\n      binary + @13..18\n        int 1 @13..14\n        int 2 @17..18\n"
    );
}

#[test]
fn emit_elf_writes_an_object_bpftool_reads() {
    let path = std::env::temp_dir().join(format!("scry-emit-{}.o", std::process::id()));
    let r = run(&[
        "--emit-elf",
        path.to_str().unwrap(),
        "-e",
        "BEGIN { @c[comm] = count(); exit(); }",
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let dump = std::process::Command::new("bpftool")
        .args(["btf", "dump", "file", path.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(text.contains("VAR 'm0_c' type_id="), "{text}");
    assert!(text.contains("DATASEC '.maps'"), "{text}");
    assert!(text.contains("FUNC 'p0_begin'"), "{text}");
}

#[test]
fn help_and_version() {
    let r = run(&["--help"]);
    assert_eq!(r.code, Some(0));
    assert!(
        r.stdout.contains("-e <PROGRAM>") && r.stdout.contains("-c <CMD>"),
        "{}",
        r.stdout
    );
    let r = run(&["-V"]);
    assert_eq!(
        r.stdout.trim(),
        format!("scry {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn missing_command_is_a_clear_error() {
    let r = run(&["-e", "BEGIN { exit(); }", "-c", "/nonexistent/tool --flag"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .contains("`/nonexistent/tool` does not exist or is not executable"),
        "{}",
        r.stderr
    );
}

#[test]
fn wildcard_tracepoints_attach_and_count() {
    let cmd = format!("{} getpid 30", workload());
    let prog = "tracepoint:syscalls:sys_enter_getp*id /pid == cpid/ { @[probe] = count(); }";
    let r = traced(prog, &cmd);
    assert!(
        r.stdout.starts_with("Attaching 3 probes..."),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines(&r.stdout),
        ["@[tracepoint:syscalls:sys_enter_getpid]: 30"]
    );
}

#[test]
fn process_builtins_have_sane_values() {
    let prog = r#"BEGIN { printf("%d %d %d %d %d\n", uid, gid, pid == tid, nsecs > 0, cpu < 4096); exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    assert_eq!(lines(&r.stdout), [format!("{uid} {gid} 1 1 1")]);
}

#[test]
fn signed_tracepoint_fields_and_comparisons() {
    // sys_exit_getpid's `ret` is a signed long: the pid, positive; sums are exact.
    let cmd = format!("{} getpid 20", workload());
    let prog = "t:syscalls:sys_exit_getpid /pid == cpid/ { @pos = sum(args.ret > 0); @neg = sum(args.ret < 0 ? 1 : 0); @n = count(); }";
    let r = traced(prog, &cmd);
    assert_eq!(lines(&r.stdout), ["@n: 20", "@neg: 0", "@pos: 20"]);
}

#[test]
fn untouched_maps_are_not_printed_and_zero_sums_are() {
    let prog =
        "BEGIN { @zero = sum(0); if (0) { @never = count(); @never_sum = sum(1); } exit(); }";
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@zero: 0"]);
}

#[test]
fn many_tracepoints_detach_in_parallel_and_exit() {
    // Six or more tracepoints take the threaded detach path.
    let cmd = format!("{} getpid 5", workload());
    let r = run(&[
        "-e",
        "tracepoint:syscalls:sys_enter_getp* /pid == cpid/ { @[probe] = count(); }",
        "-c",
        &cmd,
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let attached: usize = r
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("probe count");
    assert!(attached >= 4, "{}", r.stdout);
    assert_eq!(
        lines(&r.stdout),
        ["@[tracepoint:syscalls:sys_enter_getpid]: 5"]
    );
}

/// Writes of 0..100 bytes: every aggregation over a known distribution.
#[test]
fn aggregations_over_a_known_distribution() {
    let cmd = format!("{} writes 100", workload());
    let prog = "t:syscalls:sys_enter_write /pid == cpid && args.fd > 2/ {
        @h = hist(args.count); @l = lhist(args.count, 10, 50, 10);
        @k[args.count % 2] = hist(args.count);
        @a = avg(args.count); @s = stats(args.count); @mn = min(args.count); @mx = max(args.count);
        @mk[args.count % 3] = max(args.count); @nk[args.count % 3] = min(args.count);
        @ak[args.count % 2] = avg(args.count); @neg = min(0 - args.count); @q = quantize(args.count); }";
    let r = traced(prog, &cmd);
    // 0..100 in power-of-two buckets, for both `hist` and ply's `quantize`.
    let pow2 = "[0]                    1 |@                                                   |
[1]                    1 |@                                                   |
[2, 4)                 2 |@@                                                  |
[4, 8)                 4 |@@@@@                                               |
[8, 16)                8 |@@@@@@@@@@@                                         |
[16, 32)              16 |@@@@@@@@@@@@@@@@@@@@@@@                             |
[32, 64)              32 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@      |
[64, 128)             36 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
";
    let expected = format!(
        "
@a: 49

@ak[0]: 49
@ak[1]: 50

@h: 
{pow2}
@k[0]: 
[0]                    1 |@@                                                  |
[1]                    0 |                                                    |
[2, 4)                 1 |@@                                                  |
[4, 8)                 2 |@@@@@                                               |
[8, 16)                4 |@@@@@@@@@@@                                         |
[16, 32)               8 |@@@@@@@@@@@@@@@@@@@@@@@                             |
[32, 64)              16 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@      |
[64, 128)             18 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@k[1]: 
[1]                    1 |@@                                                  |
[2, 4)                 1 |@@                                                  |
[4, 8)                 2 |@@@@@                                               |
[8, 16)                4 |@@@@@@@@@@@                                         |
[16, 32)               8 |@@@@@@@@@@@@@@@@@@@@@@@                             |
[32, 64)              16 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@      |
[64, 128)             18 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@l: 
(..., 10)             10 |@@@@@@@@@@                                          |
[10, 20)              10 |@@@@@@@@@@                                          |
[20, 30)              10 |@@@@@@@@@@                                          |
[30, 40)              10 |@@@@@@@@@@                                          |
[40, 50)              10 |@@@@@@@@@@                                          |
[50, ...)             50 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

@mk[1]: 97
@mk[2]: 98
@mk[0]: 99

@mn: 0

@mx: 99

@neg: -99

@nk[0]: 0
@nk[1]: 1
@nk[2]: 2

@q: 
{pow2}
@s: count 100, average 49, total 4950

"
    );
    assert_eq!(body(&r.stdout), expected);
}

/// The latency idiom: a timestamp per thread, read, subtracted and deleted.
#[test]
fn latency_pair_with_delete() {
    let cmd = format!("{} read 50", workload());
    // The reading probe comes first: maps are global, whatever the source order.
    let prog = "t:syscalls:sys_exit_read /pid == cpid && @start[tid]/ {
            @lat = hist(nsecs - @start[tid]); @n = count(); @neg = min(nsecs - @start[tid]);
            delete(@start[tid]); }
        t:syscalls:sys_enter_read /pid == cpid/ { @start[tid] = nsecs; }";
    let r = traced(prog, &cmd);
    let out = body(&r.stdout);
    // Every read was timed (at least the workload's 50), no timestamp is left behind,
    // and no latency is negative.
    let n: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("@n: "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no @n in {out}"));
    assert!(n >= 50, "{out}");
    assert!(!out.contains("@start["), "{out}");
    let total: u64 = out
        .lines()
        .skip_while(|l| !l.starts_with("@lat:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l[16..24].trim().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, n, "{out}");
    assert!(!out.contains("(..., 0)"), "{out}");
    let min: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("@neg: "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(min > 0, "{out}");
}

/// Bucket selection computed in BPF (a variable defeats constant folding) against the
/// reference: every value lands in exactly the bucket whose label contains it.
#[test]
fn histogram_buckets_computed_in_bpf() {
    let values: [i64; 14] = [
        -5,
        0,
        1,
        2,
        3,
        1023,
        1024,
        (1 << 32) - 1,
        1 << 32,
        (1 << 40) + 7,
        1 << 62,
        i64::MAX,
        -1,
        65535,
    ];
    let mut prog = String::from("BEGIN { $z = 0; ");
    for v in values {
        prog += &format!("@h[{v}] = hist($z + {v}); @l[{v}] = lhist($z + {v}, -1000, 2000, 500); ");
    }
    prog += "exit(); }";
    let r = run(&["-e", &prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = body(&r.stdout);
    let label_of = |map: &str, v: i64| -> String {
        let head = format!("@{map}[{v}]: ");
        let mut it = out.lines().skip_while(|l| *l != head).skip(1);
        let row = it.next().unwrap_or_else(|| panic!("no {head} in {out}"));
        assert!(
            it.next().is_none_or(str::is_empty),
            "one bucket for {v}: {out}"
        );
        row[..16].trim().to_string()
    };
    let expect_hist = |v: i64| -> String {
        match v {
            ..0 => "(..., 0)".into(),
            0 => "[0]".into(),
            1 => "[1]".into(),
            _ => {
                let b = 63 - v.leading_zeros();
                let fmt = |n: u128| {
                    let mut n = n;
                    let mut k = 0;
                    while n.is_multiple_of(1024) && k < 6 {
                        n /= 1024;
                        k += 1;
                    }
                    format!("{n}{}", ["", "K", "M", "G", "T", "P", "E"][k])
                };
                format!("[{}, {})", fmt(1u128 << b), fmt(1u128 << (b + 1)))
            }
        }
    };
    let expect_lhist = |v: i64| -> String {
        match v {
            ..-1000 => "(..., -1000)".into(),
            2000.. => "[2000, ...)".into(),
            _ => {
                let lo = -1000 + (v + 1000) / 500 * 500;
                format!("[{lo}, {})", lo + 500)
            }
        }
    };
    for v in values {
        assert_eq!(label_of("h", v), expect_hist(v), "hist({v})");
        assert_eq!(label_of("l", v), expect_lhist(v), "lhist({v})");
    }
}

/// uprobe and uretprobe on the workload's function: exact counts, argument and return
/// value sums (f(x) = 3x + 1), `func`, and a wildcard over the binary's symbols.
#[test]
fn uprobes_count_arguments_and_return_values() {
    let w = workload();
    let cmd = format!("{w} func 1000");
    let prog = format!(
        "uprobe:{w}:scry_workload_func {{ @calls[func] = count(); @args = sum(arg0); }}
         uretprobe:{w}:scry_workload_func {{ @ret = sum(retval); @big = max(retval); }}
         u:{w}:scry_workload_fun* {{ @wild = count(); }}"
    );
    let r = traced(&prog, &cmd);
    assert!(
        r.stdout.starts_with("Attaching 3 probes..."),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines(&r.stdout),
        [
            "@args: 499500",
            "@big: 2998",
            "@calls[scry_workload_func]: 1000",
            "@ret: 1499500",
            "@wild: 1000"
        ]
    );
}

/// A library named without a path, with the uprobe limited to the -c command.
#[test]
fn uprobe_on_a_library_by_name() {
    let w = workload();
    // `read` goes through libc's read(); only the command's 20 calls are seen.
    let cmd = format!("{w} read 20");
    let r = run(&[
        "-e",
        "uprobe:libc:read /arg2 == 1/ { @ = count(); }",
        "-c",
        &cmd,
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@: 20"]);
}

/// Eight or more syscall tracepoints of one direction run from the `raw_syscalls`
/// dispatcher: counts, `probe`, entry arguments (read from pt_regs) and return values
/// must be exactly what the classic tracepoints give.
#[test]
fn syscall_tracepoints_served_from_raw_syscalls() {
    let cmd = format!("{} write 100 7", workload());
    let fd_calls = [
        "read",
        "write",
        "close",
        "newfstat",
        "fsync",
        "fdatasync",
        "fchdir",
        "lseek",
        "ftruncate",
        "flock",
    ];
    let specs: Vec<String> = fd_calls
        .iter()
        .map(|c| format!("t:syscalls:sys_enter_{c}"))
        .collect();
    let prog = format!(
        "{} /pid == cpid/ {{ @[probe, args.fd] = count(); }}
         t:syscalls:sys_exit_* /pid == cpid && args.ret == 7/ {{ @ret[probe] = count(); }}
         t:syscalls:sys_enter_getpid /pid == cpid/ {{ @classic = count(); }}",
        specs.join(", ")
    );
    let dump = run(&["--dump", "insns", "-e", &prog, "-c", &cmd]);
    assert!(dump.stdout.contains("sys_enter_tails"), "{}", dump.stdout);
    assert!(dump.stdout.contains("sys_exit_tails"), "{}", dump.stdout);
    let r = traced(&prog, &cmd);
    let out = lines(&r.stdout);
    assert!(
        out.contains(&"@[tracepoint:syscalls:sys_enter_write, 3]: 100".to_string()),
        "{out:?}"
    );
    assert!(
        out.contains(&"@ret[tracepoint:syscalls:sys_exit_write]: 100".to_string()),
        "{out:?}"
    );
    assert!(!out.iter().any(|l| l.starts_with("@classic")), "{out:?}");
}

/// Builtins used several times share one helper call; each still gets its own part.
#[test]
fn repeated_builtins_keep_their_values() {
    let cmd = format!("{} getpid 10", workload());
    let prog = "t:syscalls:sys_enter_getpid /pid == cpid && tid == cpid/ {
        @[pid == cpid, tid == cpid, uid, gid, uid + gid, cpu == cpu] = count(); }";
    let r = traced(prog, &cmd);
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    assert_eq!(
        lines(&r.stdout),
        [format!(
            "@[true, true, {uid}, {gid}, {}, true]: 10",
            uid + gid
        )]
    );
}

/// Four threads on two CPUs hit the same keys at once, new keys included: per-CPU
/// aggregation loses nothing.
#[test]
fn aggregations_exact_under_concurrency() {
    let cmd = format!("{} threads 50000 4", workload());
    let prog = "t:syscalls:sys_enter_getpid /pid == cpid/ {
        @n = count(); @k[pid] = count(); @s[comm] = sum(2); @h[1] = hist(5); @a[1] = avg(4); }";
    let r = traced(prog, &cmd);
    let out = lines(&r.stdout);
    assert!(out.contains(&"@n: 200000".to_string()), "{out:?}");
    assert!(
        out.iter()
            .any(|l| l.starts_with("@k[") && l.ends_with("]: 200000")),
        "{out:?}"
    );
    assert!(out.contains(&"@s[workload]: 400000".to_string()), "{out:?}");
    assert!(out.contains(&"@a[1]: 4".to_string()), "{out:?}");
    assert!(
        out.iter()
            .any(|l| l.starts_with("[4, 8)") && l.contains(" 200000 |")),
        "{out:?}"
    );
}

/// A function behind an `endbr64` landing pad is probed past it (emulated `push`, not a
/// single-stepped pad): arguments and return values are unchanged, every call counted once.
#[test]
fn uprobes_past_a_landing_pad() {
    let w = workload();
    let cmd = format!("{w} cet 1000");
    let prog = format!(
        "uprobe:{w}:scry_workload_cet {{ @calls = count(); @args = sum(arg0); }}
         uretprobe:{w}:scry_workload_cet {{ @ret = sum(retval); }}"
    );
    let r = traced(&prog, &cmd);
    assert_eq!(
        lines(&r.stdout),
        ["@args: 499500", "@calls: 1000", "@ret: 1499500"]
    );
    // The probe really sits past the pad; functions without one are probed at entry.
    let b = scry::host::elf::read(&w).unwrap();
    let skip = |name: &str| b.funcs.iter().find(|f| f.name == name).unwrap().entry_skip;
    assert_eq!(skip("scry_workload_cet"), 4);
    assert_eq!(skip("scry_workload_framed"), 0);
    assert_eq!(skip("scry_workload_func"), 0);
}

/// A map entry read twice is looked up once, but never across a change of the map.
#[test]
fn repeated_map_reads_see_every_change() {
    let prog = r#"BEGIN { @x = 1; $a = @x + @x; @x = 5; $b = @x; if (@x == 5) { @x = 7; }
        $c = @x; @x = @x ? @x + 1 : 0; $d = @x; delete(@x); $e = @x;
        printf("%d %d %d %d %d\n", $a, $b, $c, $d, $e); exit(); }"#;
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(lines(&r.stdout), ["2 5 7 8 0"]);
    let dump = run(&["--dump", "insns", "-e", prog]);
    // Lookups in @x: the map load (`r1 = map[m0_x]`) right before the call.
    let listing: Vec<&str> = dump.stdout.lines().collect();
    let lookups = listing
        .windows(4)
        .filter(|w| {
            w[0].ends_with("r1 = map[m0_x]") && w[3].ends_with("call bpf_map_lookup_elem#1")
        })
        .count();
    // One lookup for `@x + @x`, then one after each of the four changes; the `if`
    // condition and the ternary reuse the value read just before them.
    assert_eq!(lookups, 5, "{}", dump.stdout);
}
