//! Programs of the kernel probe types pass the verifier here, loaded but not attached:
//! kprobes (the kernel loads BPF_PROG_TYPE_KPROBE programs even without
//! CONFIG_KPROBES; only attaching needs it), raw tracepoints with BTF-typed arguments,
//! watchpoints. fentry/fexit, which this kernel refuses to load, are checked as objects
//! (section names, the attach BTF ids scry's own BTF reader finds against libbpf's).

mod common;

use scry::host::Host;
use scry::host::fake::Fake;
use scry::host::system::System;
use scry::{codegen, parser, sema};

fn object(text: &str, host: &dyn Host) -> Vec<u8> {
    let options = sema::Options {
        cpid: Some(1),
        ..Default::default()
    };
    let ast =
        parser::parse(text).unwrap_or_else(|d| panic!("{}", scry::diag::render("p", text, &d)));
    let hir = sema::check(&ast, host, &options)
        .unwrap_or_else(|d| panic!("{}", scry::diag::render("p", text, &d)));
    codegen::lower(&hir)
        .unwrap_or_else(|d| panic!("{}", scry::diag::render("p", text, &d)))
        .artifact()
        .object
}

#[test]
fn kernel_probe_programs_pass_the_verifier() {
    let host = System::new();
    let programs = [
        r#"kprobe:vfs_read { @[arg0, arg5, func, probe, reg("ip"), reg("sp")] = count(); printf("%s\n", str(arg1)); }"#,
        "kretprobe:vfs_read { @ = hist(retval); @f[func] = count(); }",
        "kprobe:vfs_read+4 { @ = count(); }",
        "k:vfs_read* { @[probe, func] = count(); } kr:vfs_write { @s = sum(retval); }",
        "kprobe:SyS_* { @[func] = count(); } kretprobe:SyS_* { @r[func] = hist(retval); }",
        "kprobe:sys_openat { @[str(arg1), arg3] = count(); } kretprobe:sys_getpid { @s = sum(retval); }",
        "rawtracepoint:sched_switch { @[args.preempt, args.prev_state, args.prev != 0] = count(); @n[*(uint32 *)args.next] = count(); }",
        "rt:sys_enter { @[args.id, arg0 != 0] = count(); } rt:sys_exit { @r = hist(args.ret); }",
        "rawtracepoint:sched_* { @[probe] = count(); }",
        r#"watchpoint:0x10000000:8:w { @[reg("ip"), comm] = count(); } w:0x10000008:4:rw { @c = count(); }"#,
    ];
    let mut failures = Vec::new();
    for text in programs {
        let elf = object(text, &host);
        let mut builder = libbpf_rs::ObjectBuilder::default();
        let open = builder.open_memory(&elf).expect("libbpf opens it");
        if let Err(e) = open.load() {
            failures.push(format!("{text}: {e}"));
        }
    }
    assert!(failures.is_empty(), "rejected:\n{}", failures.join("\n"));
}

#[test]
fn fentry_objects_and_btf_ids() {
    // The fake kernel has trampolines; the object names the function in its sections.
    let elf = object(
        "fentry:vfs_read { @[args.count, func] = count(); } fexit:vfs_read { @r = hist(retval); @c = sum(args.count); }",
        &Fake,
    );
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let open = builder.open_memory(&elf).expect("libbpf opens it");
    let sections: Vec<String> = open
        .progs()
        .map(|p| p.section().to_string_lossy().into_owned())
        .collect();
    assert_eq!(sections, ["fentry/vfs_read", "fexit/vfs_read"]);
    // scry's BTF reader finds the ids libbpf does in the real vmlinux BTF.
    let host = System::new();
    let ours = host.btf().expect("vmlinux BTF");
    let theirs = libbpf_rs::btf::Btf::from_vmlinux().expect("libbpf reads vmlinux BTF");
    for name in ["vfs_read", "do_sys_openat2", "schedule"] {
        let f = ours.function(name).unwrap_or_else(|| panic!("{name}"));
        let want = theirs
            .type_by_name::<libbpf_rs::btf::types::Func>(name)
            .map(|f| u32::from(f.type_id()));
        assert_eq!(Some(f.id), want, "{name}");
    }
    let read = ours.function("vfs_read").unwrap();
    let params: Vec<(&str, &str)> = read
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.c_type.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("file", "struct file *"),
            ("buf", "char *"),
            ("count", "size_t"),
            ("pos", "long long int *")
        ]
    );
    assert_eq!(read.ret.unwrap().c_type, "ssize_t");
    // Raw tracepoints: names from the event class's function.
    let switch: Vec<String> = ours
        .tracepoint("sched_switch")
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(switch[..3], ["preempt", "prev", "next"]);
}
