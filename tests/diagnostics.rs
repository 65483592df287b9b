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
    insta::assert_snapshot!(diag("iter:task { @ = count(); }"));
}

#[test]
fn kprobe_without_kprobes_names_what_is_missing() {
    insta::assert_snapshot!(diag("kprobe:vfs_read { @ = count(); }"));
}

#[test]
fn kprobe_matching_nothing_suggests_near_names() {
    insta::assert_snapshot!(diag("kprobe:vfs_readx { @ = count(); }"));
}

#[test]
fn fentry_refused_by_this_kernel() {
    insta::assert_snapshot!(diag("fentry:vfs_read { @ = count(); }"));
}

#[test]
fn unknown_raw_tracepoint() {
    insta::assert_snapshot!(diag("rawtracepoint:no_such_event { @ = count(); }"));
}

#[test]
fn watchpoint_without_a_process() {
    insta::assert_snapshot!(diag("watchpoint:0x10000000:8:w { @ = count(); }"));
}

#[test]
fn watchpoint_on_reads_alone() {
    insta::assert_snapshot!(diag("watchpoint:0x10000000:8:r { @ = count(); }"));
}

#[test]
fn watchpoint_bad_length() {
    insta::assert_snapshot!(diag("watchpoint:0x10000000:3:w { @ = count(); }"));
}

#[test]
fn reg_of_an_unknown_register() {
    insta::assert_snapshot!(diag(
        "rawtracepoint:sys_enter { @ = count(); } kprobe:vfs_read { @[reg(\"eip\")] = count(); }"
    ));
}

#[test]
fn reg_without_registers() {
    insta::assert_snapshot!(diag(
        "rawtracepoint:sys_enter { @[reg(\"ip\")] = count(); }"
    ));
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
    insta::assert_snapshot!(diag("asyncwatchpoint:0x10000000:8:w { }"));
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

#[test]
fn too_much_stack_points_at_the_expression() {
    insta::assert_snapshot!(diag(
        "BEGIN { @x = 1; printf(\"%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d \\n\", pid * 1, pid * 2, pid * 3, pid * 4, pid * 5, pid * 6, pid * 7, pid * 8, pid * 9, pid * 10, pid * 11, pid * 12, pid * 13, pid * 14, pid * 15, pid * 16, pid * 17, pid * 18, pid * 19, pid * 20, pid * 21, pid * 22, pid * 23, pid * 24, pid * 25, pid * 26, pid * 27, pid * 28, pid * 29, pid * 30, pid * 31, pid * 32, pid * 33, pid * 34, pid * 35, pid * 36, pid * 37, pid * 38, pid * 39, pid * 40, pid * 41, pid * 42, pid * 43, pid * 44, pid * 45, pid * 46, pid * 47, pid * 48, pid * 49, pid * 50, pid * 51, pid * 52, pid * 53, pid * 54, pid * 55, pid * 56, pid * 57, pid * 58, pid * 59, pid * 60, pid * 61, pid * 62, pid * 63, pid * 64, pid * 65, pid * 66, pid * 67, pid * 68, pid * 69, pid * 70, pid * 71, pid * 72, pid * 73, pid * 74, pid * 75, pid * 76, pid * 77, pid * 78, pid * 79); exit(); }"
    ));
}

#[test]
fn str_of_a_non_pointer() {
    // A string is its own `str()`; with a length it would need reading again.
    insta::assert_snapshot!(diag("BEGIN { printf(\"%s\\n\", str(comm, 4)); }"));
}

#[test]
fn string_compared_with_an_integer() {
    insta::assert_snapshot!(diag("BEGIN { if (comm == 1) { exit(); } }"));
}

#[test]
fn tuple_index_out_of_range() {
    insta::assert_snapshot!(diag("BEGIN { $t = (1, \"a\"); @x = $t.2; }"));
}

#[test]
fn buf_of_a_pointer_without_length() {
    insta::assert_snapshot!(diag("BEGIN { printf(\"%r\\n\", buf(0)); }"));
}

#[test]
fn buffer_conversion_of_an_integer() {
    insta::assert_snapshot!(diag("BEGIN { printf(\"%rh\\n\", 5); }"));
}

#[test]
fn cast_to_an_unknown_type() {
    insta::assert_snapshot!(diag("BEGIN { @x = (int128)5; }"));
}

#[test]
fn cast_to_a_structure() {
    insta::assert_snapshot!(diag("BEGIN { @x = *(struct task_struct *)0; }"));
}

#[test]
fn dereference_of_an_integer() {
    insta::assert_snapshot!(diag("BEGIN { @x = *pid; }"));
}

#[test]
fn dereference_of_a_void_pointer() {
    insta::assert_snapshot!(diag("BEGIN { @x = *(void *)0; }"));
}

#[test]
fn negative_pointer_index() {
    insta::assert_snapshot!(diag("BEGIN { $i = -1; @x = ((uint8 *)0)[$i]; }"));
}

#[test]
fn pointer_multiplied() {
    insta::assert_snapshot!(diag("BEGIN { @x = (uint8 *)0 * 2; }"));
}

fn diag_with(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(
        r.code,
        Some(1),
        "expected failure for {args:?}; stdout: {}",
        r.stdout
    );
    assert!(r.stdout.is_empty(), "nothing may run: {}", r.stdout);
    r.stderr
}

#[test]
fn strings_beyond_scratch_memory() {
    // Raising max_strlen keeps programs that fit working; one that no longer fits is a
    // diagnostic, never a panic or a verifier rejection.
    insta::assert_snapshot!(diag_with(&[
        "--max-strlen",
        "8192",
        "-e",
        "BEGIN { @[str(0), comm, str(0)] = count(); @v[pid] = str(0); }"
    ]));
}

#[test]
fn printf_record_too_large() {
    insta::assert_snapshot!(diag_with(&[
        "--max-strlen",
        "16384",
        "-e",
        "BEGIN { printf(\"%s %s %s\\n\", str(0), str(0), str(0)); }"
    ]));
}

#[test]
fn print_top_not_a_literal() {
    insta::assert_snapshot!(diag("BEGIN { @m[1] = 2; $n = 1; print(@m, $n); }"));
}

#[test]
fn clear_of_a_map_entry() {
    insta::assert_snapshot!(diag("BEGIN { @m[1] = 2; clear(@m[1]); }"));
}

#[test]
fn printf_floating_point_conversion() {
    insta::assert_snapshot!(diag("BEGIN { printf(\"%5.2f\\n\", 1); }"));
}

#[test]
fn system_without_unsafe() {
    insta::assert_snapshot!(diag("BEGIN { system(\"echo %d\", 1); }"));
}

/// Like [`diag`], with `--unsafe`.
fn unsafe_diag(program: &str) -> String {
    let r = run(&["--unsafe", "-e", program]);
    assert_eq!(r.code, Some(1), "expected failure for {program:?}");
    assert!(r.stdout.is_empty(), "nothing may run: {}", r.stdout);
    r.stderr
}

#[test]
fn unknown_signal_name() {
    insta::assert_snapshot!(unsafe_diag(
        "tracepoint:syscalls:sys_enter_getpid { signal(\"SIGFOO\"); }"
    ));
}

#[test]
fn signal_in_begin() {
    insta::assert_snapshot!(unsafe_diag("BEGIN { signal(\"KILL\"); }"));
}

#[test]
fn for_over_an_entry_not_a_map() {
    insta::assert_snapshot!(diag(
        "BEGIN { @m[1] = 2; for ($kv : @m[1]) { printf(\"%d\\n\", 1); } }"
    ));
}

#[test]
fn for_over_per_cpu_aggregation() {
    insta::assert_snapshot!(diag(
        "BEGIN { @m[1] = hist(2); for ($kv : @m) { print($kv.1); } }"
    ));
}

#[test]
fn loop_variable_shadows() {
    insta::assert_snapshot!(diag("BEGIN { $i = 1; for ($i : 0..3) { print($i); } }"));
}

#[test]
fn let_twice() {
    insta::assert_snapshot!(diag("BEGIN { let $x = 1; if (1) { let $x = 2; } }"));
}

#[test]
fn let_literal_out_of_range() {
    insta::assert_snapshot!(diag("BEGIN { let $a: uint16 = -1; print($a); }"));
}

#[test]
fn let_unknown_type() {
    insta::assert_snapshot!(diag("BEGIN { let $a: int128 = 1; }"));
}

#[test]
fn let_type_mismatch() {
    insta::assert_snapshot!(diag("BEGIN { let $a: uint16 = \"str\"; }"));
}

#[test]
fn variable_out_of_its_block() {
    insta::assert_snapshot!(diag("BEGIN { for ($i : 0..3) { } print($i); }"));
}

#[test]
fn len_of_a_histogram() {
    insta::assert_snapshot!(diag("BEGIN { @h[1] = hist(1); print(len(@h)); }"));
}

#[test]
fn unknown_time_conversion() {
    insta::assert_snapshot!(diag("BEGIN { time(\"at %Q\"); }"));
}

#[test]
fn pton_of_a_bad_address() {
    insta::assert_snapshot!(diag("BEGIN { print(ntop(pton(\"10.0.0\"))); }"));
}

#[test]
fn ntop_of_an_unknown_family() {
    insta::assert_snapshot!(diag("BEGIN { print(ntop(3, 0x0100007f)); }"));
}

#[test]
fn ntop_of_a_string() {
    insta::assert_snapshot!(diag("BEGIN { print(ntop(comm)); }"));
}

#[test]
fn strftime_of_a_negative_timestamp() {
    insta::assert_snapshot!(diag("BEGIN { print(strftime(\"%H\", -5)); }"));
}

#[test]
fn strftime_unknown_conversion() {
    insta::assert_snapshot!(diag("BEGIN { print(strftime(\"%H:%Q\", nsecs)); }"));
}

#[test]
fn kaddr_of_an_unknown_symbol() {
    insta::assert_snapshot!(diag("BEGIN { @ = kaddr(\"no_such_kernel_symbol\"); }"));
}

#[test]
fn kaddr_of_a_variable() {
    insta::assert_snapshot!(diag("BEGIN { $s = \"init_task\"; @ = kaddr($s); }"));
}

#[test]
fn uaddr_outside_uprobes() {
    insta::assert_snapshot!(diag("BEGIN { @ = uaddr(\"main\"); }"));
}

#[test]
fn uaddr_of_an_unknown_symbol() {
    let program = format!(
        // The spec on a line of its own: the workload's path (which differs from
        // checkout to checkout) moves no column of the diagnostic.
        "uprobe:{}:scry_workload_func\n{{ @ = uaddr(\"no_such_symbol\"); }}",
        common::workload()
    );
    let text = diag(&program).replace(&common::workload(), "WORKLOAD");
    insta::assert_snapshot!(text);
}

#[test]
fn bswap_of_a_string() {
    insta::assert_snapshot!(diag("BEGIN { print(bswap(comm)); }"));
}

#[test]
fn macaddr_too_short() {
    insta::assert_snapshot!(diag("BEGIN { print(macaddr(pton(\"1.2.3.4\"))); }"));
}

#[test]
fn rendered_value_in_arithmetic() {
    insta::assert_snapshot!(diag("BEGIN { @ = strerror(2) + 1; }"));
}

#[test]
fn uprobe_on_a_lock_prefixed_instruction() {
    let program = format!(
        "uprobe:{}:scry_workload_locked\n{{ @ = count(); }}",
        common::workload()
    );
    insta::assert_snapshot!(machine_free(&diag(&program)));
}

/// A diagnostic about the workload with what differs from build to build (its path,
/// the carets under it, its addresses) replaced.
fn machine_free(text: &str) -> String {
    let text = text.replace(&common::workload(), "WORKLOAD");
    let mut out = String::new();
    for line in text.lines() {
        let mut l = String::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '^' {
                while chars.peek() == Some(&'^') {
                    chars.next();
                }
                l.push_str("^^^");
            } else if c == '0' && chars.peek() == Some(&'x') {
                chars.next();
                while chars.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    chars.next();
                }
                l.push_str("0xADDR");
            } else {
                l.push(c);
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn uprobe_inside_an_instruction() {
    let program = format!(
        "uprobe:{}:scry_workload_framed+2\n{{ @ = count(); }}",
        common::workload()
    );
    insta::assert_snapshot!(machine_free(&diag(&program)));
}

#[test]
fn p_of_no_process() {
    let r = run(&["-p", "999999999", "-e", "BEGIN { }"]);
    assert_eq!(r.code, Some(1));
    insta::assert_snapshot!(r.stderr);
}

#[test]
fn unknown_probe_type_suggests_the_closest() {
    insta::assert_snapshot!(diag("tracepiont:syscalls:sys_enter_read { }"));
}

#[test]
fn unknown_tracepoint_suggests_near_names() {
    insta::assert_snapshot!(diag("tracepoint:syscalls:sys_enter_opnat { }"));
}

#[test]
fn uprobe_function_suggests_near_names() {
    let program = format!("uprobe:{}:scry_workload_fnuc {{ }}", common::workload());
    let text = diag(&program).replace(&common::workload(), "WORKLOAD");
    // The underline's length follows the workload's path, which differs from checkout
    // to checkout: one caret stands for it.
    let text: String = text
        .split_inclusive('\n')
        .map(|l| match (l.find('^'), l.rfind('^')) {
            (Some(a), Some(b)) => format!("{}^{}", &l[..a], &l[b + 1..]),
            _ => l.to_string(),
        })
        .collect();
    insta::assert_snapshot!(text);
}

#[test]
fn more_points_than_max_probes() {
    insta::assert_snapshot!(diag_with(&[
        "--max-probes",
        "2",
        "-e",
        "BEGIN { } tracepoint:syscalls:sys_enter_exit* { }",
    ]));
}

#[test]
fn max_probes_out_of_range() {
    insta::assert_snapshot!(diag_with(&["--max-probes", "0", "-e", "BEGIN { }"]));
}

#[test]
fn listing_an_unknown_probe_type() {
    insta::assert_snapshot!(diag_with(&["-l", "tracepoint:sched:*,sofware:*"]));
}

#[test]
fn listing_every_uprobe_without_a_process() {
    insta::assert_snapshot!(diag_with(&["-l", "uprobe:*"]));
}

#[test]
fn listing_the_uprobes_of_a_missing_process() {
    insta::assert_snapshot!(diag_with(&["-l", "uprobe:*", "-p", "4194303"]));
}

/// A USDT diagnostic with the workload as `$1` (so no column depends on its path),
/// its path in messages shown as WORKLOAD.
fn usdt_diag(program: &str) -> String {
    let w = common::workload();
    diag_with(&["-e", program, &w]).replace(&w, "WORKLOAD")
}

#[test]
fn usdt_probe_not_found_suggests_the_nearest() {
    insta::assert_snapshot!(usdt_diag("usdt:$1:scry:lop { @ = count(); }"));
}

#[test]
fn usdt_argument_beyond_the_probes() {
    insta::assert_snapshot!(usdt_diag("usdt:$1:scry:twice { @ = arg1; }"));
}

#[test]
fn usdt_star_without_pid() {
    insta::assert_snapshot!(diag("usdt:*:scry:loop { @ = count(); }"));
}

#[test]
fn usdt_binary_without_notes() {
    insta::assert_snapshot!(diag("usdt:/bin/true:p:n { @ = count(); }"));
}

#[test]
fn usdt_unreadable_argument() {
    insta::assert_snapshot!(usdt_diag("usdt:$1:scry:float { @ = arg0; }"));
}

#[test]
fn usdt_process_unreadable() {
    // Beyond the largest pid_max (2^22): no such process.
    insta::assert_snapshot!(diag_with(&[
        "-p",
        "4194304",
        "-e",
        "usdt:*:scry:loop { @ = count(); }"
    ]));
}

#[test]
fn nesting_deeper_than_the_limit() {
    let program = format!("BEGIN {{ @ = {}1; }}", "!".repeat(1001));
    let text = diag(&program);
    // The source line is 1,000 characters of `!`: keep the message and help.
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("error") || l.contains("= help"))
        .collect();
    insta::assert_snapshot!(kept.join("\n"));
}

#[test]
fn a_jump_beyond_bpfs_reach() {
    let body: String = (0..5000).map(|i| format!("@a{} = {i}; ", i % 10)).collect();
    let text = diag(&format!("BEGIN {{ if (pid) {{ {body} }} }}"));
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("error") || l.contains("= help"))
        .collect();
    insta::assert_snapshot!(kept.join("\n"));
}

#[test]
fn printf_width_beyond_the_limit() {
    insta::assert_snapshot!(diag("BEGIN { printf(\"%.9999999999d\\n\", 1); }"));
}

#[test]
fn more_maps_than_a_program_may_use() {
    let body: String = (0..70).map(|i| format!("@m{i} = {i}; ")).collect();
    let text = diag(&format!("BEGIN {{ {body} }}"));
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("error") || l.contains("= help"))
        .collect();
    insta::assert_snapshot!(kept.join("\n"));
}

#[test]
fn a_stack_mode_that_does_not_exist() {
    insta::assert_snapshot!(diag("BEGIN { @[kstack(fancy, 3)] = count(); }"));
}

#[test]
fn a_stack_deeper_than_the_kernel_records() {
    insta::assert_snapshot!(diag("BEGIN { @[ustack(500)] = count(); }"));
}

#[test]
fn a_stack_depth_that_is_not_a_literal() {
    insta::assert_snapshot!(diag("BEGIN { @[kstack(perf, pid)] = count(); }"));
}

#[test]
fn caller_outside_a_function_entry() {
    insta::assert_snapshot!(diag(
        "tracepoint:syscalls:sys_enter_getpid { @[caller] = count(); }"
    ));
}
