//! `--dump hir` snapshots: how sema resolves probes (targets, context reads, the
//! raw_syscalls plan) and types expressions. The library ones use a fake host, so they
//! hold on any machine; one runs the binary against this kernel's tracefs.

mod common;

use scry::host::fake::Fake;
use scry::{parser, sema};

fn hir(src: &str) -> String {
    let ast = parser::parse(src).expect("parses");
    let options = sema::Options {
        cpid: Some(7),
        ..Default::default()
    };
    match sema::check(&ast, &Fake, &options) {
        Ok(p) => sema::print::dump(&p),
        Err(d) => panic!("{}", scry::diag::render("prog", src, &d)),
    }
}

#[test]
fn tracepoint_fields_strings_and_types() {
    insta::assert_snapshot!(hir(
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[str(args.filename)] = count(); $x = args.flags * 2; if ($x > 4 && comm != "sh") { printf("%d %s\n", $x, comm); } }
        tracepoint:sched:sched_switch { @prio[args->prev_comm] = max(args.prev_prio); }"#
    ));
}

#[test]
fn loops_maps_and_perf_events() {
    insta::assert_snapshot!(hir(
        r#"BEGIN { $i = 0; while ($i < 3) { @m[$i] = $i * 2; $i++; if ($i == 2) { continue; } } unroll(2) { @n++; } }
        profile:hz:99 { @cpus[cpu] = count(); } software:faults:10 { @f = hist(nsecs % 100); }
        interval:ms:100 { exit(); } test:t { return @n == 2 ? 0 : 1; }"#
    ));
}

#[test]
fn syscalls_served_from_raw_syscalls() {
    let specs = common::eight_syscall_tracepoints();
    let prog = format!(
        "{} {{ @[probe] = count(); }} tracepoint:syscalls:sys_exit_read {{ @r = sum(args.ret); }}",
        specs.join(",")
    );
    let r = common::run(&["--dump", "hir", "-e", &prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn strcontains_with_a_runtime_needle_needs_the_kernel_function() {
    // The fake host's kernel has no `bpf_strnstr` (Linux < 6.17): a clear error, no load.
    let src = r#"BEGIN { $n = "sh"; @ = strcontains(comm, $n); }"#;
    let ast = parser::parse(src).expect("parses");
    let Err(d) = sema::check(&ast, &Fake, &sema::Options::default()) else {
        panic!("accepted without bpf_strnstr");
    };
    let text = scry::diag::render("prog", src, &d);
    assert!(text.contains("error[E0204]"), "{text}");
    assert!(text.contains("bpf_strnstr"), "{text}");
    // A literal needle needs nothing of the kernel.
    let src = r#"BEGIN { @ = strcontains(comm, "sh"); }"#;
    let ast = parser::parse(src).expect("parses");
    assert!(sema::check(&ast, &Fake, &sema::Options::default()).is_ok());
}

#[test]
fn library_constants_from_the_host_and_rendered_types() {
    // The fake host's kernel symbols and TAI offset (`host::fake`); bswap of a constant
    // folds; rendered values keep their integer operand.
    let dump = hir(
        r#"tracepoint:syscalls:sys_enter_read { @k = kaddr("init_task"); @s = nsecs(sw_tai);
        @b = bswap((uint16)0x1234); @r = bswap(args.fd); @e[strerror(args.count)] = count();
        @n = ntop(args.fd); @m = macaddr(args.buf); @p = pton("::1"); @u = username;
        @t = strftime("%H", nsecs); @c = cgroup_path(cgroup, "unified"); }"#,
    );
    let init_task = scry::host::fake::KERNEL_SYMBOLS[1].1;
    let tai = scry::host::fake::TAI_OFFSET;
    assert!(dump.contains(&format!("int {init_task}: uint64")), "{dump}");
    assert!(dump.contains(&format!("int {tai}: uint64")), "{dump}");
    insta::assert_snapshot!(dump);
}

#[test]
fn usdt_sites_semaphores_and_typed_arguments() {
    // The fake host's app (`host::fake::USDT_SITES`): app:request has two sites with
    // their own argument specs; app:ready a semaphore; signed arguments are int64.
    insta::assert_snapshot!(hir(
        r#"usdt:/opt/fake/app:app:request { @r[arg0] = sum(arg1); } U:app:ready { @ready = count(); }
        usdt:app:lib:query { @q = max(arg0 + arg1 + arg2); }"#
    ));
}
