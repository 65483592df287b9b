//! What sema accepts, the verifier accepts: every sample program of the suite (the
//! differential cases, the self-tests, the benchmark programs) is compiled and loaded
//! into the kernel — loaded, not attached — and must pass the verifier.

mod common;

use std::path::Path;

use scry::host::system::System;
use scry::{codegen, parser, sema};

fn programs() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["tests/differential", "tests/self"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "bt"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            out.push((
                f.strip_prefix(root).unwrap().display().to_string(),
                text.replace("@WORKLOAD@", &common::workload()),
            ));
        }
    }
    let w = common::workload();
    for (i, p) in [
        "tracepoint:syscalls:sys_enter_getpid { @[comm] = count(); }".to_string(),
        "tracepoint:syscalls:sys_enter_read { @h = hist(args->count); }".to_string(),
        "tracepoint:syscalls:sys_enter_getpid { @start[tid] = nsecs; } tracepoint:syscalls:sys_exit_getpid /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); }".to_string(),
        format!("uprobe:{w}:scry_workload_cet {{ @ = count(); }}"),
        format!(r#"uprobe:{w}:scry_workload_func {{ @c = count(); if (@c > 2) {{ signal("SIGUSR1"); signal(arg0 & 15); }} errorf("%d %s", @c, (1, comm)); system("echo %d", pid); cat("/proc/%d/stat", pid); }}"#),
        "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }".to_string(),
        "profile:hz:99 { @[cpu] = count(); } software:faults:1 { @f = count(); } interval:ms:10 { exit(); }".to_string(),
        // Stacks in every program type they reach: perf events, tracepoints, raw
        // tracepoints, uprobes (each stack's table insert, collision check and process
        // report), BEGIN; several of them and of two depths in one program.
        format!(
            "profile:hz:99 {{ @[kstack, ustack, comm] = count(); }} software:faults:1 {{ @f[ustack(5)] = count(); }} \
             tracepoint:syscalls:sys_enter_read {{ @r[kstack(perf, 3), ustack] = sum(args.count); printf(\"%s\", kstack(3)); }} \
             rawtracepoint:sched_switch {{ @s[kstack] = count(); }} \
             uprobe:{w}:scry_stack_leaf {{ @u[ustack, caller, usym(reg(\"ip\"))] = count(); print(ustack(raw, 2)); }} \
             BEGIN {{ @b[kstack(1), ksym(kaddr(\"vfs_read\"))] = count(); }}"
        ),
        r#"tracepoint:syscalls:sys_enter_openat { @[str(args.filename)] = count(); printf("%s\n", str(args.filename, 32)); }"#.to_string(),
        format!(
            r#"uprobe:{w}:scry_workload_func {{ @[ntop(arg0 & 0xff, arg1), macaddr(arg2), strerror(arg3)] = count();
                @u = uaddr("scry_workload_func"); @s = strftime("%H:%M:%S.%f", nsecs); $t = (username, ntop(pton("::1")));
                @c[cgroup_path(cgroup), $t] = bswap((uint32)arg0); printf("%s %s\n", macaddr(buf(arg4, 8)), $t.1); }}"#
        ),
        format!(
            r#"usdt:{w}:scry:consts, usdt:{w}:scry:regs, usdt:{w}:scry:mem {{ @[arg0, arg1, arg2, arg3] = sum(arg4 + arg5 + arg6 + arg7); }}
               usdt:{w}:scry:index, usdt:{w}:scry:global {{ @m = max(arg0 + arg1); printf("%ld %s\n", arg0, probe); }}
               usdt:{w}:scry:loop {{ @s[str(arg2)] = sum(arg1); }} usdt:{w}:*:hit {{ @h = count(); }} usdt:{w}:scry:float {{ @f = arg1; }}"#
        ),
        r#"tracepoint:sock:inet_sock_set_state { @[ntop(args.saddr), ntop(args.family, args.daddr_v6), bswap(args.sport)] = count(); }"#.to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        out.push((format!("bench program {i}"), p));
    }
    out
}

#[test]
fn every_sample_program_passes_the_verifier() {
    let host = System::new();
    let options = sema::Options {
        cpid: Some(1),
        allow_unsafe: true,
        ..Default::default()
    };
    let mut failures = Vec::new();
    let list = programs();
    assert!(list.len() >= 60, "{} programs", list.len());
    for (name, text) in &list {
        let ast = parser::parse(text)
            .unwrap_or_else(|d| panic!("{name}: {}", scry::diag::render(name, text, &d)));
        let hir = sema::check(&ast, &host, &options)
            .unwrap_or_else(|d| panic!("{name}: {}", scry::diag::render(name, text, &d)));
        let artifact = codegen::lower(&hir)
            .unwrap_or_else(|d| panic!("{name}: {}", scry::diag::render(name, text, &d)))
            .artifact();
        let mut builder = libbpf_rs::ObjectBuilder::default();
        let open = builder
            .open_memory(&artifact.object)
            .expect("libbpf opens it");
        if let Err(e) = open.load() {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(failures.is_empty(), "rejected:\n{}", failures.join("\n"));
}
