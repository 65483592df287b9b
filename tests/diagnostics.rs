//! One snapshot per diagnostic the binary can print for bad input: the exact stderr text,
//! exit code 1, and nothing attached (the program never reaches the kernel).

mod common;

use common::run;

fn diag(program: &str) -> String {
    let r = run(&["-e", program]);
    assert_eq!(
        r.code,
        Some(1),
        "expected failure for {program:?}; stdout: {}",
        r.stdout
    );
    assert!(r.stdout.is_empty(), "nothing may run: {}", r.stdout);
    r.stderr
}

#[test]
fn unknown_probe_type() {
    insta::assert_snapshot!(diag("bogus:x { }"));
}

#[test]
fn unsupported_probe_type_names_alternative() {
    insta::assert_snapshot!(diag("kprobe:do_sys_open { @ = count(); }"));
}

#[test]
fn unknown_tracepoint() {
    insta::assert_snapshot!(diag(
        "tracepoint:syscalls:sys_enter_nonexistent { @ = count(); }"
    ));
}

#[test]
fn wildcard_matching_nothing() {
    insta::assert_snapshot!(diag("tracepoint:nosuchcat:* { @ = count(); }"));
}

#[test]
fn unknown_builtin() {
    insta::assert_snapshot!(diag("BEGIN { @[pidd] = count(); }"));
}

#[test]
fn unknown_field() {
    insta::assert_snapshot!(diag(
        "tracepoint:syscalls:sys_enter_getpid { @[args.fd] = count(); }"
    ));
}

#[test]
fn args_outside_tracepoint() {
    insta::assert_snapshot!(diag("BEGIN { @[args.fd] = count(); }"));
}

#[test]
fn wrong_argument_count() {
    insta::assert_snapshot!(diag("BEGIN { @ = count(1); }"));
}

#[test]
fn printf_argument_count() {
    insta::assert_snapshot!(diag(r#"BEGIN { printf("%d %d\n", 1); }"#));
}

#[test]
fn type_mismatch() {
    insta::assert_snapshot!(diag(r#"BEGIN { @x = comm + 1; }"#));
}

#[test]
fn map_used_inconsistently() {
    insta::assert_snapshot!(diag(r#"BEGIN { @m[1] = 1; @m["a"] = 2; }"#));
}

#[test]
fn unknown_function() {
    insta::assert_snapshot!(diag("BEGIN { frobnicate(); }"));
}

#[test]
fn unterminated_string() {
    insta::assert_snapshot!(diag(r#"BEGIN { printf("oops); }"#));
}

#[test]
fn stray_character() {
    insta::assert_snapshot!(diag("BEGIN { @x = 1 ` 2; }"));
}

#[test]
fn cpid_without_command() {
    insta::assert_snapshot!(diag("BEGIN { @ = cpid; }"));
}

#[test]
fn undefined_variable() {
    insta::assert_snapshot!(diag("BEGIN { @ = $nope; }"));
}

#[test]
fn bad_lhist_bounds() {
    insta::assert_snapshot!(diag("BEGIN { @ = lhist(1, 10, 0, 1); }"));
}

#[test]
fn uprobe_binary_missing() {
    insta::assert_snapshot!(diag("uprobe:/nonexistent/binary:main { @ = count(); }"));
}

#[test]
fn register_argument_outside_uprobe() {
    insta::assert_snapshot!(diag("BEGIN { @ = arg0; }"));
}

#[test]
fn probe_type_not_implemented_yet() {
    insta::assert_snapshot!(diag("rawtracepoint:sched_switch { }"));
}

#[test]
fn unknown_software_event_lists_the_valid_ones() {
    insta::assert_snapshot!(diag("software:page-fault { @ = count(); }"));
}

#[test]
fn profile_rate_of_zero() {
    insta::assert_snapshot!(diag("profile:hz:0 { @ = count(); }"));
}

#[test]
fn break_outside_a_loop() {
    insta::assert_snapshot!(diag("BEGIN { if (1) { break; } }"));
}

#[test]
fn unroll_count_out_of_range() {
    insta::assert_snapshot!(diag("BEGIN { unroll(0) { @x = 1; } }"));
}
