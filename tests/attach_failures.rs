//! A probe that cannot be attached is E0601 with the kernel's reason, whatever the
//! mechanism: the errno named, and for perf events `perf_event_open`'s. Each failure
//! here is real on an x86-64 machine: nothing is faked.

mod common;

use common::{run, workload};

/// Runs `program` (with `extra` arguments first) and returns its stderr, which must be
/// one E0601 for `probe`, nothing attached.
fn attach_error(extra: &[&str], program: &str, probe: &str) -> String {
    let mut args = extra.to_vec();
    args.extend(["-e", program]);
    let r = run(&args);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("Attaching"), "{}", r.stdout);
    let head = format!("error[E0601]: cannot attach {probe}: ");
    assert!(r.stderr.starts_with(&head), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "help: nothing stays attached: every probe attached before this one was detached"
        ),
        "{}",
        r.stderr
    );
    r.stderr[head.len()..].lines().next().unwrap().to_string()
}

#[test]
fn a_uprobe_on_an_instruction_the_kernel_cannot_probe() {
    // scry_trap_hlt starts with `hlt`; the kernel analyses it when a mapping process
    // exists (here a sleeping workload, given with -p) and refuses it.
    let w = workload();
    let mut sleeper = std::process::Command::new(&w)
        .args(["sleep", "20000"])
        .spawn()
        .unwrap();
    let pid = sleeper.id().to_string();
    // The workload must have mapped itself before scry looks.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let probe = format!("uprobe:{w}:scry_trap_hlt");
    let reason = attach_error(
        &["-p", &pid],
        &format!("{probe} {{ @ = count(); }}"),
        &probe,
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let offset = symbol_offset(&w, "scry_trap_hlt");
    assert_eq!(
        reason,
        format!(
            "uprobe at offset 0x{offset:x} of {w}: failed to attach uprobe: not supported for this probe (ENOTSUPP): the kernel's uprobes cannot probe the instruction there"
        )
    );
}

/// The file offset of `name` in the ELF file `path` (its address less its section's,
/// plus the section's offset), from `nm` and `readelf`.
fn symbol_offset(path: &str, name: &str) -> u64 {
    let out = std::process::Command::new("nm").arg(path).output().unwrap();
    let nm = String::from_utf8_lossy(&out.stdout);
    let addr = nm
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (a, _, n) = (f.next()?, f.next()?, f.next()?);
            (n == name).then(|| u64::from_str_radix(a, 16).unwrap())
        })
        .unwrap_or_else(|| panic!("{name} not in {path}"));
    let out = std::process::Command::new("readelf")
        .args(["-lW", path])
        .output()
        .unwrap();
    let segments = String::from_utf8_lossy(&out.stdout);
    // The LOAD segment holding the address: offset = addr - vaddr + file offset.
    segments
        .lines()
        .filter(|l| l.trim_start().starts_with("LOAD"))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let num = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
            let (off, vaddr, memsz) = (num(f[1]), num(f[2]), num(f[5]));
            (vaddr <= addr && addr < vaddr + memsz).then_some(addr - vaddr + off)
        })
        .unwrap()
}

#[test]
fn a_watchpoint_on_an_address_the_kernel_refuses() {
    // The last page below the x86-64 user address limit: a breakpoint there reaches
    // past it, which the kernel refuses.
    let cmd = format!("{} watch 1", workload());
    let reason = attach_error(
        &["-c", &cmd],
        "watchpoint:0x7ffffffff000:8:x { @ = count(); }",
        "watchpoint:0x7ffffffff000:8:x",
    );
    assert_eq!(
        reason,
        "hardware breakpoint at 0x7ffffffff000: perf_event_open failed: Invalid argument (EINVAL)"
    );
}

#[test]
fn more_watchpoints_than_debug_registers() {
    // x86-64 has four debug registers: four watchpoints on one task attach, a fifth
    // does not.
    let cmd = format!("{} watch 3", workload());
    let watch = |n: u64| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "watchpoint:0x{:x}:8:rw {{ @w{i} = count(); }} ",
                    0x1000_0000 + 8 * i
                )
            })
            .collect()
    };
    let r = run(&["-c", &cmd, "-e", &watch(4)]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    // `watch 3` writes the first u64 3 times and reads the second 6 times.
    assert_eq!(common::lines(&r.stdout), ["@w0: 3", "@w1: 6"]);
    let reason = attach_error(&["-c", &cmd], &watch(5), "watchpoint:0x10000020:8:rw");
    assert_eq!(
        reason,
        "hardware breakpoint at 0x10000020: perf_event_open failed: No space left on device (ENOSPC) (every debug register is in use: x86-64 has four)"
    );
}

#[test]
fn a_sampling_rate_above_the_kernels_limit() {
    let max: u64 = std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let hz = max * 10;
    let probe = format!("profile:hz:{hz}");
    let reason = attach_error(&[], &format!("{probe} {{ @ = count(); }}"), &probe);
    assert_eq!(
        reason,
        format!(
            "perf_event_open on CPU 0 failed: Invalid argument (EINVAL): {hz} Hz is above the kernel's limit of {max} samples a second (sysctl kernel.perf_event_max_sample_rate)"
        )
    );
}

#[test]
fn a_kprobe_without_kprobes_in_the_kernel() {
    // This kernel is built without CONFIG_KPROBES (the diagnostics snapshot shows the
    // whole message); a kernel with them would attach.
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists() {
        let r = run(&["-e", "kprobe:vfs_read { exit(); }"]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        return;
    }
    let reason = attach_error(&[], "kprobe:vfs_read { @ = count(); }", "kprobe:vfs_read");
    assert!(
        reason.starts_with("this kernel has no kprobes (it was built without CONFIG_KPROBES"),
        "{reason}"
    );
}
