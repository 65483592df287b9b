//! The kernel probe types end to end against the workload: kprobes on syscalls served by
//! the syscall tracepoints (ply's one-liners), raw tracepoints with BTF-typed arguments,
//! hardware watchpoints with `-c` and `-p`; and what this kernel lacks (kprobes,
//! fentry) failing with the error that names it.

mod common;

use std::time::Duration;

use common::{lines, run, run_with_timeout, workload};

/// Runs `program` with `-c "workload ARGS"`; returns stdout's map lines and stderr.
fn traced(program: &str, args: &str) -> (Vec<String>, String) {
    let cmd = format!("{} {args}", workload());
    let r = run(&["-e", program, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    (lines(&r.stdout), r.stderr)
}

#[test]
fn ply_counts_syscalls_through_kprobes() {
    // ply's one-liner, filtered to the command: exactly its 37 getpid calls.
    let (out, err) = traced(
        "kprobe:SyS_* /pid == cpid/ { @[func].count() }",
        "getpid 37",
    );
    assert!(
        out.contains(&"@[__x64_sys_getpid]: 37".to_string()),
        "{out:?}"
    );
    let note: Vec<&str> = err.lines().filter(|l| l.contains("note:")).collect();
    assert_eq!(note.len(), 1, "{err}");
    assert!(
        note[0].contains("kprobe:SyS_* runs on") && note[0].contains("syscall tracepoints"),
        "{err}"
    );
    // ply 1: an indexed `$name` is the map `@name`.
    let (out, _) = traced(
        "kprobe:SyS_* /pid == cpid/ { $syscalls[func].count() }",
        "getpid 11",
    );
    assert!(
        out.contains(&"@syscalls[__x64_sys_getpid]: 11".to_string()),
        "{out:?}"
    );
}

#[test]
fn syscall_kprobes_read_arguments_and_return_values() {
    // Few points: classic tracepoints. `arg1` of openat is the path, `retval` of
    // getpid the pid; getpid has no arguments, so `arg0` reads 0.
    let (out, _) = traced(
        r#"kprobe:sys_openat /pid == cpid/ { @open[str(arg1)] = count(); }
           kretprobe:__x64_sys_getpid /pid == cpid/ { @ret[retval == cpid, probe] = count(); }
           kprobe:SyS_getpid /pid == cpid/ { @arg0[arg0] = count(); }"#,
        "opens 3",
    );
    assert!(out.contains(&"@open[/dev/null]: 3".to_string()), "{out:?}");
    assert!(out.contains(&"@open[/dev/zero]: 6".to_string()), "{out:?}");
    let (out, _) = traced(
        r#"kretprobe:__x64_sys_getpid /pid == cpid/ { @ret[retval == cpid, probe] = count(); }
           kprobe:SyS_getpid /pid == cpid/ { @arg0[arg0, func] = count(); }"#,
        "getpid 9",
    );
    assert_eq!(
        out,
        [
            "@arg0[0, __x64_sys_getpid]: 9",
            "@ret[true, kretprobe:__x64_sys_getpid]: 9"
        ]
    );
    // Many points: served from raw_syscalls, arguments read from the saved registers.
    let (out, _) = traced(
        r#"kprobe:SyS_* /pid == cpid/ { if (func == "__x64_sys_openat") { @open[str(arg1)] = count(); } }
           kretprobe:SyS_* /pid == cpid/ { if (func == "__x64_sys_getpid") { @ret[retval == cpid] = count(); } }"#,
        "opens 4",
    );
    assert!(out.contains(&"@open[/dev/null]: 4".to_string()), "{out:?}");
    assert!(out.contains(&"@open[/dev/zero]: 8".to_string()), "{out:?}");
}

#[test]
fn raw_tracepoints_read_btf_typed_arguments() {
    // sys_enter(struct pt_regs *regs, long id): getpid is syscall 39 on x86-64.
    let (out, _) = traced(
        "rawtracepoint:sys_enter /pid == cpid && args.id == 39/ { @[arg1, args.regs != 0] = count(); }",
        "getpid 23",
    );
    assert_eq!(out, ["@[39, true]: 23"]);
    // sys_exit(struct pt_regs *regs, long ret): the same returns the classic
    // tracepoint sees (getpid's, and others that return the pid, such as
    // set_tid_address's).
    let (out, _) = traced(
        "rt:sys_exit /pid == cpid && args.ret == cpid/ { @raw = count(); }
         tracepoint:raw_syscalls:sys_exit /pid == cpid && args.ret == cpid/ { @tp = count(); }",
        "getpid 5",
    );
    assert_eq!(out.len(), 2, "{out:?}");
    let n = |l: &str| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap();
    assert_eq!(n(&out[0]), n(&out[1]), "{out:?}");
    assert!(n(&out[0]) >= 5, "{out:?}");
    // sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, …):
    // pointers into the kernel, never NULL.
    let r = run(&[
        "-e",
        "rawtracepoint:sched_switch { @[args.prev != 0, args.next != 0] = count(); if (@[1, 1] >= 3) { exit(); } }",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // The keys unify with the integer keys of the read: 1, not `true`.
    let out = lines(&r.stdout);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].starts_with("@[1, 1]: "), "{out:?}");
}

#[test]
fn watchpoints_count_the_commands_writes_and_reads() {
    // `watch 6` writes the u64 at 0x10000000 6 times and reads the next one 12 times.
    let (out, _) = traced(
        r#"watchpoint:0x10000000:8:w { @w = count(); }
           w:0x10000008:8:rw { @rw = count(); @ip[reg("ip") != 0] = count(); }"#,
        "watch 6",
    );
    assert_eq!(out, ["@ip[true]: 12", "@rw: 12", "@w: 6"]);
}

#[test]
fn watchpoints_follow_the_process_given_with_p() {
    // The workload waits 800 ms before it maps and writes the page: time to attach.
    let mut child = std::process::Command::new(workload())
        .args(["watch", "4", "800"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let r = run_with_timeout(
        &[
            "-p",
            &pid,
            "-e",
            "watchpoint:0x10000000:8:w { @ = count(); }",
        ],
        Duration::from_secs(20),
    );
    child.wait().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@: 4"]);
}

#[test]
fn kprobes_and_fentry_fail_naming_what_the_kernel_lacks() {
    let r = run(&["-e", "kprobe:vfs_read { @ = count(); }"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains("CONFIG_KPROBES") && r.stderr.contains("rawtracepoint:"),
        "{}",
        r.stderr
    );
    let r = run(&["-e", "kretfunc:vfs_read { @ = count(); }"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("E0204") && r.stderr.contains("BPF_PROG_TYPE_TRACING"),
        "{}",
        r.stderr
    );
}
