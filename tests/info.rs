//! `--info`: each line checked against a fact this test finds out itself (procfs and
//! sysfs files, `bpftool`'s BTF dump, a perf event it opens, bpftrace 0.17's own
//! `--info`), and the layout bpftrace's newest prints.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::run;

/// The report, and its `name: value` pairs by section.
fn info() -> (String, BTreeMap<(String, String), String>) {
    let r = run(&["--info"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut pairs = BTreeMap::new();
    let mut section = String::new();
    for line in r.stdout.lines() {
        if line.is_empty() {
            continue;
        }
        let Some(body) = line.strip_prefix("  ") else {
            section = line.to_string();
            continue;
        };
        // Two pairs to a line, the first padded to 35 columns, as bpftrace tabulates.
        let cells = if line.len() > 35 && line.as_bytes()[34] == b' ' && section != "System" {
            vec![line[..35].trim(), line[35..].trim()]
        } else {
            vec![body.trim()]
        };
        for cell in cells {
            let (name, value) = cell
                .split_once(": ")
                .unwrap_or_else(|| panic!("not `name: value`: {cell:?} in {line:?}"));
            pairs.insert((section.clone(), name.to_string()), value.to_string());
        }
    }
    (r.stdout, pairs)
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn get<'a>(pairs: &'a BTreeMap<(String, String), String>, section: &str, name: &str) -> &'a str {
    pairs
        .get(&(section.to_string(), name.to_string()))
        .unwrap_or_else(|| panic!("no `{name}` in {section}: {pairs:?}"))
}

fn exists(path: &str) -> bool {
    std::path::Path::new(path).exists()
}

/// Opens (disabled) and closes a perf event of `type_`/`config` on CPU 0.
fn perf_event_opens(type_: u32, config: u64) -> bool {
    let mut attr = [0u64; 17];
    attr[0] = type_ as u64 | (136u64 << 32);
    attr[1] = config;
    attr[5] = 1;
    // SAFETY: a valid, fully initialised perf_event_attr of the declared size.
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), -1, 0, -1, 8u64) };
    if fd >= 0 {
        // SAFETY: the fd was just opened here.
        unsafe { libc::close(fd as i32) };
    }
    fd >= 0
}

#[test]
fn system_and_build_lines() {
    let (_, pairs) = info();
    let read = |p: &str| std::fs::read_to_string(p).unwrap().trim().to_string();
    let os = format!(
        "{} {} {}",
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
        read("/proc/sys/kernel/version")
    );
    assert_eq!(get(&pairs, "System", "OS"), os);
    assert_eq!(get(&pairs, "System", "Arch"), std::env::consts::ARCH);
    assert_eq!(
        get(&pairs, "Build", "version"),
        format!("v{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn kernel_features_as_the_machine_has_them() {
    let (text, pairs) = info();
    let f = |n| get(&pairs, "Kernel features", n);
    assert_eq!(f("btf"), yes(exists("/sys/kernel/btf/vmlinux")));
    let modules = std::fs::read_dir("/sys/kernel/btf")
        .map(|d| d.flatten().any(|e| e.file_name() != "vmlinux"))
        .unwrap_or(false);
    assert_eq!(f("module btf"), yes(modules));
    assert_eq!(
        f("uprobe refcount"),
        yes(exists(
            "/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset"
        ))
    );
    // The verifier's limit has been BPF_COMPLEXITY_LIMIT_INSNS (one million) since 5.2.
    assert_eq!(f("Instruction limit"), "1000000");
    // bpf_strnstr is a kfunc when vmlinux BTF has a FUNC of that name.
    let dump = Command::new("bpftool")
        .args(["btf", "dump", "file", "/sys/kernel/btf/vmlinux"])
        .output()
        .expect("bpftool runs (tools/deps.sh installs it)");
    let has = String::from_utf8_lossy(&dump.stdout).contains("FUNC 'bpf_strnstr'");
    assert_eq!(f("kfunc bpf_strnstr"), yes(has));
    // Every helper scry calls exists on a kernel this new (the ring buffer is 5.8,
    // lookup_percpu_elem 5.19); the section lists each once.
    for h in [
        "probe_read_user",
        "probe_read_kernel_str",
        "ringbuf_reserve",
        "get_attach_cookie",
        "loop",
        "for_each_map_elem",
        "lookup_percpu_elem",
    ] {
        assert_eq!(get(&pairs, "Kernel helpers", h), "yes", "{h}\n{text}");
    }
    assert_eq!(f("ringbuf"), "yes");
}

#[test]
fn probe_types_as_the_kernel_offers_them() {
    let (text, pairs) = info();
    let p = |n| get(&pairs, "Probe types", n);
    // kprobes and uprobes attach through their PMUs.
    assert_eq!(
        p("kprobe"),
        yes(exists("/sys/bus/event_source/devices/kprobe"))
    );
    assert_eq!(
        p("uprobe"),
        yes(exists("/sys/bus/event_source/devices/uprobe"))
    );
    assert_eq!(p("perf_event"), yes(perf_event_opens(1, 0)));
    assert_eq!(p("hardware (PMU)"), yes(perf_event_opens(0, 0)));
    assert_eq!(p("tracepoint"), "yes");
    assert_eq!(p("rawtracepoint"), "yes");
    // Where bpftrace 0.17 probes the same thing the same way, the answers agree.
    let bpftrace = Command::new("bpftrace").arg("--info").output();
    if let Ok(out) = bpftrace {
        let theirs = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let value = |name: &str| {
            theirs.lines().find_map(|l| {
                l.trim()
                    .strip_prefix(&format!("{name}: "))
                    .map(|v| v.trim().to_string())
            })
        };
        assert_eq!(
            value("kprobe_multi").as_deref(),
            Some(p("kprobe_multi")),
            "{text}"
        );
        // 0.17's `kfunc` is whether an fentry program loads.
        assert_eq!(value("kfunc").as_deref(), Some(p("fentry")), "{text}");
    }
    // A kernel without kprobes has neither multi links nor sessions.
    if p("kprobe") == "no" {
        assert_eq!(p("kprobe_multi"), "no");
        assert_eq!(p("kprobe_session"), "no");
    }
}

#[test]
fn layout_is_bpftraces() {
    let (text, _) = info();
    let sections: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(' '))
        .collect();
    assert_eq!(
        sections,
        [
            "System",
            "Build",
            "Kernel helpers",
            "Kernel features",
            "Probe types"
        ]
    );
    // Sections end with an empty line; pairs are indented by two.
    assert!(text.ends_with("\n\n"));
    for l in text.lines().filter(|l| l.starts_with(' ')) {
        assert!(l.starts_with("  ") && !l.starts_with("   "), "{l:?}");
    }
}
