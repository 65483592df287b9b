//! `-l` / `-lv` against the kernel's own lists, which each test reads itself: tracefs's
//! `available_events` and `format` files, the BTF functions `bpftool` dumps, the
//! kernel's function list (`available_filter_functions`, else `/proc/kallsyms`), the
//! workload's symbols as `nm` prints them and its mappings in `/proc/PID/maps`; and
//! `--max-probes` gating before anything is attached.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use common::run;

/// scry's stdout for `args`, which must succeed with nothing on stderr.
fn listed(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, Some(0), "scry {args:?} failed: {}", r.stderr);
    assert!(r.stderr.is_empty(), "scry {args:?} warned: {}", r.stderr);
    r.stdout
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(String::from).collect()
}

/// Sorted byte-wise and without duplicates, as bpftrace prints each kind.
fn sorted(v: impl IntoIterator<Item = String>) -> Vec<String> {
    v.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
}

/// tracefs, as /proc/mounts has it (scry mounts it at /sys/kernel/tracing when absent).
fn tracefs() -> PathBuf {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    mounts
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(2) == Some(&"tracefs")).then(|| PathBuf::from(f[1]))
        })
        .unwrap_or_else(|| PathBuf::from("/sys/kernel/tracing"))
}

/// Every `category:name` of available_events.
fn available_events() -> Vec<String> {
    // Listing once makes sure tracefs is mounted before the test reads it.
    listed(&["-l", "tracepoint:sched:sched_switch"]);
    let text = std::fs::read_to_string(tracefs().join("available_events")).unwrap();
    sorted(text.lines().map(String::from))
}

#[test]
fn syscall_tracepoints_are_the_syscalls_lines_of_available_events() {
    let want: Vec<String> = available_events()
        .into_iter()
        .filter(|e| e.starts_with("syscalls:"))
        .map(|e| format!("tracepoint:{e}"))
        .collect();
    assert!(want.len() > 100, "{} syscall tracepoints", want.len());
    assert_eq!(lines(&listed(&["-l", "tracepoint:syscalls:*"])), want);
    // `t:` and ply's `cat/name` spell the same.
    assert_eq!(lines(&listed(&["-l", "t:syscalls/*"])), want);
}

#[test]
fn every_tracepoint_with_its_format_fields() {
    let events = available_events();
    let mut want = Vec::new();
    for e in &events {
        let (c, n) = e.split_once(':').unwrap();
        want.push(format!("tracepoint:{e}"));
        let format =
            std::fs::read_to_string(tracefs().join("events").join(c).join(n).join("format"))
                .unwrap();
        // bpftrace's rule: the fields after the first empty line (the common ones
        // come before it), each `field:DECL;`.
        for l in format.lines().skip_while(|l| !l.is_empty()) {
            if let Some(rest) = l.strip_prefix("\tfield:") {
                want.push(format!("    {}", &rest[..rest.find(';').unwrap()]));
            }
        }
    }
    let got = lines(&listed(&["-lv", "tracepoint:*"]));
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    let openat = listed(&["-l", "-v", "tracepoint:syscalls:sys_enter_openat"]);
    assert!(openat.contains("\n    const char * filename\n"), "{openat}");
}

/// The `(name, FUNC_PROTO parameter names)` of BTF functions whose name starts with
/// `prefix`, from `bpftool btf dump`.
fn btf_functions(prefix: &str) -> Vec<(String, Vec<String>)> {
    let out = Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .expect("bpftool runs (tools/deps.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    // `[12] FUNC 'name' type_id=11 linkage=static`; the prototype `[11] FUNC_PROTO …`
    // lists its parameters on the lines after it: `\t'prev' type_id=115`.
    let mut protos: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut current: Option<String> = None;
    let mut funcs = Vec::new();
    for l in text.lines() {
        if let Some(p) = l.strip_prefix('\t') {
            if let Some(id) = &current {
                let name = p.split('\'').nth(1).unwrap_or_default().to_string();
                protos.get_mut(id).unwrap().push(name);
            }
            continue;
        }
        current = None;
        let id = l
            .split(']')
            .next()
            .unwrap_or_default()
            .trim_start_matches('[')
            .to_string();
        if l.contains("] FUNC_PROTO ") {
            protos.insert(id.clone(), Vec::new());
            current = Some(id);
        } else if l.contains("] FUNC '") {
            let name = l.split('\'').nth(1).unwrap_or_default().to_string();
            let ty = l.split("type_id=").nth(1).unwrap_or_default();
            let ty = ty.split_whitespace().next().unwrap_or_default().to_string();
            if let Some(rest) = name.strip_prefix(prefix) {
                funcs.push((rest.to_string(), ty));
            }
        }
    }
    funcs
        .into_iter()
        .map(|(n, ty)| (n, protos.get(&ty).cloned().unwrap_or_default()))
        .collect()
}

#[test]
fn raw_tracepoints_are_the_btf_stubs() {
    let mut stubs = btf_functions("__probestub_");
    stubs.extend(btf_functions("__traceiter_"));
    let want = sorted(
        stubs
            .iter()
            .map(|(n, _)| format!("rawtracepoint:vmlinux:{n}")),
    );
    assert!(want.len() > 100, "{} raw tracepoints", want.len());
    assert_eq!(lines(&listed(&["-l", "rawtracepoint:*"])), want);
    assert_eq!(lines(&listed(&["-l", "rt:vmlinux:*"])), want);
    // -v: the stub's parameters after `void *__data`, each `TYPE NAME`.
    let (_, params) = stubs.iter().find(|(n, _)| n == "sched_switch").unwrap();
    let got = lines(&listed(&["-lv", "rawtracepoint:sched_switch"]));
    assert_eq!(got[0], "rawtracepoint:vmlinux:sched_switch");
    let names: Vec<&str> = got[1..]
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(names, params[1..]);
    assert!(
        got.contains(&"    struct task_struct * prev".to_string()),
        "{got:?}"
    );
}

/// The kernel's probeable functions as scry documents reading them.
fn kernel_functions() -> Vec<String> {
    if let Ok(text) = std::fs::read_to_string(tracefs().join("available_filter_functions")) {
        return sorted(
            text.lines()
                .filter_map(|l| Some(l.split_whitespace().next()?.to_string())),
        );
    }
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap();
    sorted(text.lines().filter_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let name = *f.get(2)?;
        // Loaded BPF programs and ftrace trampolines come and go with other tracers.
        if f.get(3)
            .is_some_and(|m| *m == "[bpf]" || *m == "[__builtin__ftrace]")
        {
            return None;
        }
        let padding = name.starts_with("__pfx_") || name.starts_with("__cfi_");
        let function = matches!(f[1], "t" | "T") && !padding && !name.contains(".cold");
        (function && !name.contains(".part.")).then(|| name.to_string())
    }))
}

#[test]
fn kprobe_targets_are_the_kernels_functions() {
    let funcs = kernel_functions();
    let want: Vec<String> = funcs.iter().map(|f| format!("kprobe:{f}")).collect();
    assert!(want.len() > 1000, "{} kernel functions", want.len());
    assert_eq!(lines(&listed(&["-l", "kprobe:*"])), want);
    let vfs: Vec<String> = funcs
        .iter()
        .filter(|f| f.starts_with("vfs_"))
        .map(|f| format!("kretprobe:{f}"))
        .collect();
    assert_eq!(lines(&listed(&["-l", "kr:vfs_*"])), vfs);
    // -v: BTF's prototype, integer and pointer arguments numbered.
    assert_eq!(
        lines(&listed(&["-lv", "kprobe:vfs_read,kretprobe:vfs_read"])),
        [
            "kprobe:vfs_read",
            "    struct file * arg0",
            "    char * arg1",
            "    size_t arg2",
            "    loff_t * arg3",
            "kretprobe:vfs_read",
            "    ssize_t retval",
        ]
    );
}

#[test]
fn a_pattern_without_a_probe_type_searches_every_kernel_kind() {
    let events = available_events();
    let want_tp: Vec<String> = events
        .iter()
        .filter(|e| e.ends_with(":sched_switch"))
        .map(|e| format!("tracepoint:{e}"))
        .collect();
    let got = lines(&listed(&["-l", "sched_switch"]));
    // Kinds in name order: kprobe, rawtracepoint, tracepoint.
    let kprobes: Vec<String> = kernel_functions()
        .into_iter()
        .filter(|f| f == "sched_switch")
        .map(|f| format!("kprobe:{f}"))
        .collect();
    let mut want = kprobes;
    want.push("rawtracepoint:vmlinux:sched_switch".into());
    want.extend(want_tp);
    assert_eq!(got, want);
    // Everything: each kernel kind, and no user-space one without -p.
    let all = listed(&["-l"]);
    let count = |p: &str| all.lines().filter(|l| l.starts_with(p)).count();
    assert_eq!(count("tracepoint:"), events.len());
    assert_eq!(count("kprobe:"), kernel_functions().len());
    assert_eq!(count("software:"), lines(&listed(&["-l", "s:*"])).len());
    assert_eq!(count("hardware:"), lines(&listed(&["-l", "h:*"])).len());
    assert_eq!(count("uprobe:"), 0);
    assert_eq!(listed(&["-l", "*"]), all);
}

#[test]
fn perf_events_and_units_list_as_specs_that_work() {
    // The events and aliases docs/language.md's table gives, each `software:NAME:`.
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md")).unwrap();
    let documented = |kind: &str| -> Vec<String> {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{kind}:EVENT")))
            .unwrap();
        let events = row.rsplit('|').nth(1).unwrap();
        let events = &events[events.find(':').unwrap()..];
        sorted(
            events
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|e| format!("{kind}:{e}:")),
        )
    };
    let sw = lines(&listed(&["-l", "software:*"]));
    assert_eq!(sw, documented("software"));
    assert_eq!(
        lines(&listed(&["-l", "hardware:*"])),
        documented("hardware")
    );
    for spec in &sw {
        let r = run(&["--dump", "hir", "-e", &format!("{spec} {{ }}")]);
        assert_eq!(r.code, Some(0), "{spec}: {}", r.stderr);
    }
    assert_eq!(
        lines(&listed(&["-l", "interval:*,p:h*"])),
        [
            "interval:hz:",
            "interval:ms:",
            "interval:s:",
            "interval:us:",
            "profile:hz:"
        ]
    );
    assert_eq!(lines(&listed(&["-l", "BEGIN:,end:*"])), ["BEGIN", "END"]);
}

#[test]
fn uprobe_functions_are_the_binarys_symbols() {
    let w = common::workload();
    let out = Command::new("nm").arg(&w).output().expect("nm runs");
    let want = sorted(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && matches!(f[1], "T" | "t") && f[2].starts_with("scry_workload_"))
                    .then(|| format!("uprobe:{w}:{}", f[2]))
            }),
    );
    assert!(want.len() >= 3, "{want:?}");
    assert_eq!(
        lines(&listed(&["-l", &format!("uprobe:{w}:scry_workload_*")])),
        want
    );
}

#[test]
fn uprobes_of_every_object_a_process_maps() {
    let w = common::workload();
    let mut child = Command::new(&w)
        .args(["sleep", "5000"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    // The objects the process maps code from, once the loader has mapped libc.
    let objects = || -> BTreeSet<String> {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        maps.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() >= 6 && f[1].contains('x') && f[5].starts_with('/'))
                    .then(|| f[5].to_string())
            })
            .collect()
    };
    let start = std::time::Instant::now();
    while !objects().iter().any(|o| o.contains("libc")) && start.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let got = listed(&["-l", "uprobe:*", "-p", &pid]);
    let mapped = objects();
    let _ = child.kill();
    let _ = child.wait();
    let seen: BTreeSet<String> = got
        .lines()
        .map(|l| {
            l.strip_prefix("uprobe:")
                .unwrap()
                .rsplit_once(':')
                .unwrap()
                .0
                .to_string()
        })
        .collect();
    assert_eq!(seen, mapped);
    assert!(
        got.contains(&format!("uprobe:{w}:scry_workload_func\n")),
        "{got}"
    );
    assert!(
        got.lines()
            .any(|l| l.contains("libc") && l.ends_with(":malloc"))
    );
}

#[test]
fn a_program_lists_what_its_probes_attach_to() {
    let exits: Vec<String> = available_events()
        .into_iter()
        .filter(|e| e.starts_with("syscalls:sys_enter_exit"))
        .map(|e| format!("tracepoint:{e}"))
        .collect();
    let mut want = exits.clone();
    want.push("software:cpu-clock:".into());
    let got = listed(&[
        "-l",
        "-e",
        "BEGIN { } tracepoint:syscalls:sys_enter_exit*, s:cpu-clock:1000 { @ = count(); } END { }",
    ]);
    assert_eq!(lines(&got), want);
}

#[test]
fn max_probes_is_checked_before_anything_attaches() {
    let events = available_events().len();
    // bpftrace's default, 1024, is fewer than this kernel's tracepoints.
    assert!(events > 1024);
    let r = run(&["-e", "tracepoint:*:* { @ = count(); }"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "error[E0220]: the program has {events} attach points, more than --max-probes allows (1024)"
        )),
        "{}",
        r.stderr
    );
    // Exactly the count passes; one fewer does not; the flag wins over the environment.
    let exact = events.to_string();
    let fewer = (events - 1).to_string();
    let hir = |args: &[&str]| run(args).code;
    let prog = ["--dump", "hir", "-e", "tracepoint:*:* { }"];
    assert_eq!(
        hir(&[&["--max-probes", &exact][..], &prog].concat()),
        Some(0)
    );
    assert_eq!(
        hir(&[&["--max-probes", &fewer][..], &prog].concat()),
        Some(1)
    );
    let env = |value: &str, extra: &[&str]| {
        let mut c = Command::new(common::scry());
        c.env("BPFTRACE_MAX_PROBES", value).args(extra).args(prog);
        c.output().unwrap().status.code()
    };
    assert_eq!(env(&exact, &[]), Some(0));
    assert_eq!(env(&fewer, &[]), Some(1));
    assert_eq!(env(&fewer, &["--max-probes", &exact]), Some(0));
}
