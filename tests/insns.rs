//! `--dump insns` snapshots of the benchmark programs: the instructions scry emits for the
//! programs whose costs the benchmark measures. A change here is a change of generated
//! code, to be reviewed (and measured) on purpose.

mod common;

use common::{run, workload};

fn insns(program: &str) -> String {
    let r = run(&["--dump", "insns", "-e", program]);
    assert_eq!(r.code, Some(0), "{program}\nstderr: {}", r.stderr);
    r.stdout
}

#[test]
fn floor() {
    insta::assert_snapshot!(insns("tracepoint:syscalls:sys_enter_getpid { }"));
}

#[test]
fn count() {
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_getpid { @ = count(); }"
    ));
}

#[test]
fn count_by_comm() {
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_getpid { @[comm] = count(); }"
    ));
}

#[test]
fn count_by_pid() {
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_getpid { @[pid] = count(); }"
    ));
}

#[test]
fn sum_by_tid() {
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_getpid { @[tid] = sum(pid); }"
    ));
}

#[test]
fn hist_of_read_size() {
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_read { @h = hist(args->count); }"
    ));
}

#[test]
fn latency_pair() {
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_getpid { @start[tid] = nsecs; } \
         tracepoint:syscalls:sys_exit_getpid /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); }"
    ));
}

#[test]
fn uprobe_count() {
    let prog = format!(
        "uprobe:{}:scry_workload_func {{ @ = count(); }}",
        workload()
    );
    insta::assert_snapshot!(insns(&prog));
}

#[test]
fn syscalls_served_from_raw_syscalls() {
    let specs = common::eight_syscall_tracepoints();
    let prog = format!(
        "{} {{ @[probe] = count(); @fd[args.fd] = sum(1); }} {} {{ @[probe] = count(); }}",
        specs[..2].join(","),
        specs[2..].join(",")
    );
    insta::assert_snapshot!(insns(&prog));
}

#[test]
fn count_by_kernel_stack() {
    // bpf_get_stack into the key buffer; a negative result adds one to the stack's slot
    // of read_errors (the failed-walk counter the runtime reports).
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_getpid { @[kstack] = count(); }"
    ));
}

#[test]
fn count_by_user_stack() {
    // The process header (pid, exec count, start time through BTF offsets), the
    // first-sight check of procs_seen with its Process event, then the stack.
    insta::assert_snapshot!(insns(
        "tracepoint:syscalls:sys_enter_getpid { @[ustack] = count(); }"
    ));
}
