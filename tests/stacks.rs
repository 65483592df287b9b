//! Stacks end to end: `kstack`/`ustack` in every mode, as map keys, in tuples, in
//! `printf` and `print`, symbolized (demangled) against the workload's known call chain
//! `main → scry_stack_outer → scry_stack_middle → scry_stack_leaf`, after the workload
//! exited.

mod common;

use common::{body, run, workload};

/// The address of `symbol` in the workload's ELF symbol table (`nm`).
fn elf_address(symbol: &str) -> u64 {
    let out = std::process::Command::new("nm")
        .arg(workload())
        .output()
        .expect("nm runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.ends_with(&format!(" {symbol}")))
        .unwrap_or_else(|| panic!("{symbol} in the workload"));
    u64::from_str_radix(line.split(' ').next().unwrap(), 16).unwrap()
}

/// The traced binary's path as the kernel names it (`/proc/PID/maps`).
fn workload_path() -> String {
    std::fs::canonicalize(workload())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn user_stacks_name_the_call_chain_after_the_process_exited() {
    // The maps print after the -c command exited: its mappings were recorded when the
    // program first saw it.
    let w = workload();
    let prog = format!(
        "uprobe:{w}:scry_stack_leaf {{ @[ustack(3)] = count(); @perf[ustack(perf, 3)] = count(); \
         @raw[ustack(raw, 3)] = count(); @t[ustack(1), comm] = count(); }}"
    );
    let r = run(&["-e", &prog, "-c", &format!("{w} stack 7 100")]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = body(&r.stdout);
    assert!(
        out.contains(
            "@[\n    scry_stack_leaf+0\n    scry_stack_middle+9\n    scry_stack_outer+9\n]: 7\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("@t[\n    scry_stack_leaf+0\n, workload]: 7\n"),
        "{out}"
    );
    // raw: the addresses, one per line, unindented; they lie as far apart as the
    // symbols in the ELF file say (the binary is loaded at a random base).
    let raw: Vec<u64> = out
        .split("@raw[\n")
        .nth(1)
        .expect("@raw printed")
        .lines()
        .take(3)
        .map(|l| u64::from_str_radix(l, 16).expect("a hex address"))
        .collect();
    let base = raw[0] - elf_address("scry_stack_leaf");
    assert_eq!(raw[1] - base, elf_address("scry_stack_middle") + 9);
    assert_eq!(raw[2] - base, elf_address("scry_stack_outer") + 9);
    // perf: a tab, the address, the symbol and the object.
    let path = workload_path();
    let perf = format!(
        "@perf[\n\t{:x} scry_stack_leaf+0 ({path})\n\t{:x} scry_stack_middle+9 ({path})\n\t{:x} scry_stack_outer+9 ({path})\n]: 7\n",
        raw[0], raw[1], raw[2]
    );
    assert!(out.contains(&perf), "want\n{perf}\nin\n{out}");
}

#[test]
fn stacks_print_with_printf_and_print() {
    let w = workload();
    let prog = format!(
        "uprobe:{w}:scry_stack_leaf {{ printf(\"<%s>\\n\", ustack(2)); print(ustack(1)); }}"
    );
    let r = run(&["-e", &prog, "-c", &format!("{w} stack 1 100")]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(
        body(&r.stdout),
        "<\n        scry_stack_leaf+0\n        scry_stack_middle+9\n>\n\n        scry_stack_leaf+0\n\n\n"
    );
}

#[test]
fn kernel_stacks_of_a_syscall_hold_its_entry_path() {
    // `faults` calls getppid exactly twice.
    let w = workload();
    let prog = "tracepoint:syscalls:sys_enter_getppid /pid == cpid/ { @[kstack] = count(); \
                @perf[kstack(perf)] = count(); @raw[kstack(raw, 2)] = count(); }";
    let r = run(&["-e", prog, "-c", &format!("{w} faults 1")]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = body(&r.stdout);
    let key = out
        .split("@[\n")
        .nth(1)
        .unwrap()
        .split("]: 2\n")
        .next()
        .unwrap();
    let frames: Vec<&str> = key.lines().collect();
    assert!(
        frames
            .iter()
            .all(|f| f.starts_with("    ") && f.contains('+')),
        "{out}"
    );
    assert!(
        frames
            .iter()
            .any(|f| f.trim().starts_with("do_syscall_64+")),
        "{out}"
    );
    assert!(
        frames
            .last()
            .unwrap()
            .trim()
            .starts_with("entry_SYSCALL_64"),
        "{out}"
    );
    let perf = out.split("@perf[\n").nth(1).expect("@perf");
    for line in perf.lines().take_while(|l| !l.starts_with(']')) {
        let (addr, sym) = line.strip_prefix('\t').unwrap().split_once(' ').unwrap();
        assert!(
            u64::from_str_radix(addr, 16).unwrap() >= 0xffff_0000_0000_0000,
            "{line}"
        );
        assert!(sym.contains('+'), "{line}");
    }
    let raw = out.split("@raw[\n").nth(1).expect("@raw");
    let raw: Vec<&str> = raw.lines().take_while(|l| !l.starts_with(']')).collect();
    assert_eq!(raw.len(), 2, "{out}");
    assert!(
        raw.iter().all(|a| u64::from_str_radix(a, 16).is_ok()),
        "{out}"
    );
}

#[test]
fn cpp_and_rust_frames_are_demangled() {
    let w = workload();
    let prog = format!(
        "uprobe:{w}:_ZN4scry8Workload4tickEm, uprobe:{w}:rust:\"workload::probes::tick\" \
         {{ @[ustack(1)] = count(); }}"
    );
    let r = run(&["-e", &prog, "-c", &format!("{w} mangled 3 100")]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = body(&r.stdout);
    assert!(
        out.contains("@[\n    scry::Workload::tick(unsigned long)+0\n]: 3\n"),
        "{out}"
    );
    assert!(
        out.contains("@[\n    workload::probes::tick+0\n]: 3\n"),
        "{out}"
    );
}

#[test]
fn stack_keys_in_json_are_their_text() {
    let w = workload();
    let prog = format!("uprobe:{w}:scry_stack_leaf {{ @[ustack(2), 5] = count(); }}");
    let r = run(&["-f", "json", "-e", &prog, "-c", &format!("{w} stack 2 100")]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(
        r.stdout.contains(
            r#"{"type": "map", "data": {"@": {"\n    scry_stack_leaf+0\n    scry_stack_middle+9\n,5": 2}}}"#
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn the_stack_mode_comes_from_the_environment() {
    let w = workload();
    let prog = format!("uprobe:{w}:scry_stack_leaf {{ @[ustack(1)] = count(); }}");
    let cmd = format!("{w} stack 1 100");
    let mut c = std::process::Command::new(common::scry());
    c.args(["-e", &prog, "-c", &cmd])
        .env("BPFTRACE_STACK_MODE", "raw");
    let r = common::run_command(&mut c, std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = body(&r.stdout);
    let line = out.split("@[\n").nth(1).unwrap().lines().next().unwrap();
    assert!(u64::from_str_radix(line, 16).is_ok(), "{out}");
    c.env("BPFTRACE_STACK_MODE", "fancy");
    let r = common::run_command(&mut c, std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("error[E0511]"), "{}", r.stderr);
}

#[test]
fn a_user_stack_in_begin_is_scrys_own_and_says_so() {
    let r = run(&["-e", "BEGIN { @[ustack(1)] = count(); exit(); }"]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(
        r.stderr
            .starts_with("warning[E0342]: `BEGIN` runs in scry itself"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("]: 1\n"), "{}", r.stdout);
}

#[test]
fn symbols_of_addresses_and_the_caller() {
    let w = workload();
    let prog = format!(
        "uprobe:{w}:scry_stack_leaf {{ printf(\"%s %s %s\\n\", usym(reg(\"ip\")), caller, \
         ksym(kaddr(\"vfs_read\") + 3)); @[caller, usym(reg(\"ip\"))] = count(); @k = ksym(1); }}"
    );
    let r = run(&["-e", &prog, "-c", &format!("{w} stack 2 100")]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert_eq!(
        body(&r.stdout),
        "scry_stack_leaf scry_stack_middle vfs_read\n\
         scry_stack_leaf scry_stack_middle vfs_read\n\n\
         @[scry_stack_middle, scry_stack_leaf]: 2\n\n@k: 0x1\n\n"
    );
}

#[test]
fn folded_stacks_and_a_flame_graph_of_the_call_chain() {
    let w = workload();
    let svg = std::env::temp_dir().join(format!("scry-flame-{}.svg", std::process::id()));
    let prog = format!(
        "uprobe:{w}:scry_stack_leaf {{ @[ustack(3), comm] = count(); @n = count(); }} \
         tracepoint:syscalls:sys_enter_exit_group /pid == cpid/ {{ @k[kstack(2)] = count(); }}"
    );
    let r = run(&[
        "-f",
        "folded",
        "--flamegraph",
        svg.to_str().unwrap(),
        "-e",
        &prog,
        "-c",
        &format!("{w} stack 7 100"),
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    // Parsed back: root (comm) first, then the user frames outermost first; kernel
    // frames carry `_[k]`; maps without stacks print as text.
    let out = body(&r.stdout);
    let folded: Vec<(&str, u64)> = out
        .lines()
        .filter(|l| l.contains(';'))
        .map(|l| {
            let (stack, n) = l.rsplit_once(' ').unwrap();
            (stack, n.parse().unwrap())
        })
        .collect();
    assert!(
        folded.contains(&(
            "workload;scry_stack_outer;scry_stack_middle;scry_stack_leaf",
            7
        )),
        "{out}"
    );
    // The kernel stack of the workload's one exit_group: two frames, innermost last.
    let kernel = folded
        .iter()
        .find(|(s, _)| s.ends_with("_[k]"))
        .expect("@k folded");
    assert_eq!(kernel.0.matches("_[k]").count(), 2, "{out}");
    assert_eq!(kernel.1, 1, "{out}");
    assert!(out.contains("\n@n: 7\n"), "{out}");
    // The SVG is well-formed XML naming the workload's functions with their counts.
    let text = std::fs::read_to_string(&svg).unwrap();
    let parsed = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
        ])
        .arg(&svg)
        .status()
        .expect("python3 runs");
    assert!(parsed.success(), "the SVG does not parse");
    for f in ["scry_stack_outer", "scry_stack_middle", "scry_stack_leaf"] {
        assert!(
            text.contains(&format!("<title>{f} (7 samples, ")),
            "{f} missing"
        );
    }
    std::fs::remove_file(&svg).unwrap();
}

#[test]
fn a_flame_graph_needs_a_map_keyed_by_a_stack() {
    let r = run(&[
        "--flamegraph",
        "/tmp/never.svg",
        "-e",
        "BEGIN { @[pid] = count(); exit(); }",
    ]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.starts_with("error[E0512]"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(!std::path::Path::new("/tmp/never.svg").exists());
}

#[test]
fn a_profile_of_a_busy_command_makes_a_flame_graph_in_one_command() {
    // The seed's workflow: sample a command's stacks at 999 Hz while it spins for
    // 300 ms, flame graph at exit. ply's `stack` is the kernel stack.
    let w = workload();
    let svg = std::env::temp_dir().join(format!("scry-profile-{}.svg", std::process::id()));
    let r = run(&[
        "--flamegraph",
        svg.to_str().unwrap(),
        "-e",
        "profile:hz:999 /pid == cpid/ { @[stack, ustack] = count(); }",
        "-c",
        &format!("{w} spin 300"),
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let text = std::fs::read_to_string(&svg).unwrap();
    std::fs::remove_file(&svg).unwrap();
    // Most samples land in the spinning main (the workload keeps frame pointers): its
    // share, which does not depend on how much CPU the machine gave the command.
    let main = text
        .split("<title>workload::main (")
        .nth(1)
        .expect("workload::main in the graph");
    let (samples, rest) = main.split_once(" samples, ").unwrap();
    let share: f64 = rest.split('%').next().unwrap().parse().unwrap();
    assert!(
        samples.replace(',', "").parse::<u64>().unwrap() >= 10,
        "{main:.80}"
    );
    assert!(share >= 50.0, "workload::main has {share}% of the samples");
}

#[test]
fn stacks_a_full_table_cannot_keep_are_counted_never_shown_wrong() {
    // 16 calls, each through a distinct chain of call sites (4 levels of two each),
    // into a stack table of 4 (--max-map-keys 4, one stack expression): 4 stacks are
    // kept and printed with their frames, 12 count as empty and are reported.
    let w = workload();
    let prog = format!("uprobe:{w}:scry_stack_leaf {{ printf(\"[%s]\\n\", ustack(6)); }}");
    let r = run(&[
        "--max-map-keys",
        "4",
        "-e",
        &prog,
        "-c",
        &format!("{w} stacks 16 4 100"),
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = body(&r.stdout);
    let stacks: Vec<&str> = out
        .split('[')
        .skip(1)
        .map(|s| s.split(']').next().unwrap())
        .collect();
    assert_eq!(stacks.len(), 16, "{out}");
    let kept: Vec<&&str> = stacks
        .iter()
        .filter(|s| s.contains("scry_stack_leaf+"))
        .collect();
    assert_eq!(kept.len(), 4, "{out}");
    assert!(
        kept.iter()
            .all(|s| s.matches("scry_stack_fan+").count() == 5),
        "{out}"
    );
    assert_eq!(stacks.iter().filter(|s| **s == "\n").count(), 12, "{out}");
    assert!(
        r.stderr
            .contains("`ustack(6)`: 12 stacks could not be kept"),
        "{}",
        r.stderr
    );
    let json = run(&[
        "-f",
        "json",
        "--max-map-keys",
        "4",
        "-e",
        &prog,
        "-c",
        &format!("{w} stacks 16 4 100"),
    ]);
    assert_eq!(json.code, Some(0), "stderr: {}", json.stderr);
    let want = r#"{"type": "stack_errors", "data": {"line": 1, "expr": "ustack(6)", "count": 12}}"#;
    assert!(json.stdout.contains(want), "{}", json.stdout);
}
