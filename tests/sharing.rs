//! One program per distinct body: the points of a wildcard share a program and tell
//! themselves apart by the attach cookie; programs on one point run in source order;
//! `-p` limits every probe to the process; the `-c` command is invisible until it
//! execs and dies with scry.

mod common;

use common::{lines, run, workload};

#[test]
fn a_wildcard_shares_one_program_and_names_each_point() {
    let w = workload();
    let prog = format!(
        "uprobe:{w}:scry_workload_f* {{ @[probe, func] = count(); printf(\"%s\\n\", func); }}"
    );
    // One program for both points (scry_workload_framed and scry_workload_func).
    let insns = run(&["--dump", "insns", "-e", &prog]);
    assert_eq!(insns.code, Some(0), "{}", insns.stderr);
    let programs = insns
        .stdout
        .lines()
        .filter(|l| l.starts_with("prog "))
        .count();
    assert_eq!(programs, 1, "{}", insns.stdout);
    let cmd = format!("{w} func 3");
    let r = run(&["-e", &prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = lines(&r.stdout);
    assert_eq!(
        out,
        [
            "scry_workload_func",
            "scry_workload_func",
            "scry_workload_func",
            &format!("@[uprobe:{w}:scry_workload_func, scry_workload_func]: 3"),
        ],
        "{out:?}"
    );
    let cmd = format!("{w} framed 2");
    let r = run(&["-e", &prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        lines(&r.stdout).last().map(String::as_str),
        Some(format!("@[uprobe:{w}:scry_workload_framed, scry_workload_framed]: 2").as_str())
    );
}

#[test]
fn programs_on_one_point_run_in_source_order() {
    let w = workload();
    let prog = format!(
        "uprobe:{w}:scry_workload_func {{ printf(\"first\\n\"); }}
         uprobe:{w}:scry_workload_func {{ printf(\"second\\n\"); }}
         uprobe:{w}:scry_workload_f* {{ printf(\"third %s\\n\", func); }}
         tracepoint:syscalls:sys_enter_getppid /pid == cpid/ {{ printf(\"tp first\\n\"); }}
         tracepoint:syscalls:sys_enter_getppid /pid == cpid/ {{ printf(\"tp second\\n\"); }}"
    );
    let cmd = format!("{w} func 2");
    let r = run(&["-e", &prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let calls: Vec<String> = lines(&r.stdout)
        .into_iter()
        .filter(|l| !l.starts_with("tp"))
        .collect();
    assert_eq!(
        calls,
        [
            "first",
            "second",
            "third scry_workload_func",
            "first",
            "second",
            "third scry_workload_func"
        ]
    );
}

#[test]
fn a_function_uprobes_refuse_is_left_out_of_wildcards() {
    let w = workload();
    // scry_workload_locked starts with a `lock` prefix.
    let r = run(&[
        "-e",
        &format!("uprobe:{w}:scry_workload_l* {{ @ = count(); }}"),
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(r.stderr.contains("error[E0201]"), "{}", r.stderr);
    let r = run(&[
        "-e",
        &format!("uprobe:{w}:scry_workload_locked {{ @ = count(); }}"),
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stderr.contains("error[E0225]") && r.stderr.contains("lock prefix"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_held_command_makes_no_system_call_of_its_own_before_exec() {
    // Every read of the command, by size: its 64 of 5 bytes, and the dynamic loader's
    // (832 and 1024 here); the hold used to add one 1-byte read.
    let cmd = format!("{} read 64 5", workload());
    let r = run(&[
        "-e",
        "tracepoint:syscalls:sys_enter_read /pid == cpid/ { @[args.count] = count(); }",
        "-c",
        &cmd,
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = lines(&r.stdout);
    assert!(out.contains(&"@[5]: 64".to_string()), "{out:?}");
    assert!(!out.iter().any(|l| l.starts_with("@[1]:")), "{out:?}");
}

#[test]
fn p_limits_tracepoints_to_the_process() {
    let w = workload();
    // The traced process sleeps until scry has attached, then makes 7 getpid calls; a
    // second process makes 50 at the same time.
    let mut traced = std::process::Command::new(&w)
        .args(["late", "7", "600"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut other = std::process::Command::new(&w)
        .args(["late", "50", "700"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = traced.id().to_string();
    let r = run(&[
        "-p",
        &pid,
        "-e",
        "tracepoint:syscalls:sys_enter_getpid { @ = count(); }",
    ]);
    traced.wait().unwrap();
    other.wait().unwrap();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@: 7"]);
}

#[test]
fn p_of_no_process_is_an_error_before_anything_runs() {
    let r = run(&["-p", "999999999", "-e", "BEGIN { printf(\"ran\\n\"); }"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(r.stderr.contains("error[E0508]"), "{}", r.stderr);
}

#[test]
fn the_command_dies_with_scry() {
    let cmd = format!("{} sleep 20000", workload());
    let mut scry = std::process::Command::new(common::scry())
        .args(["-e", "interval:s:30 { exit(); }", "-c", &cmd])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Find the command: scry's child.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let child = loop {
        let children =
            std::fs::read_to_string(format!("/proc/{}/task/{}/children", scry.id(), scry.id()))
                .unwrap_or_default();
        if let Some(c) = children.split_whitespace().next() {
            break c.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no child appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    scry.kill().unwrap();
    scry.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{child}/stat")).exists() {
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        // A zombie waiting for init to reap it is gone as far as running goes.
        if stat.split(") ").nth(1).is_some_and(|s| s.starts_with('Z')) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the command outlived scry"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn demangled_cpp_and_rust_names() {
    let w = workload();
    let prog = format!(
        "uprobe:{w}:rust:\"workload::probes::*\" {{ @r[func] = count(); }}
         uprobe:{w}:cpp:\"scry::Workload::tick\" {{ @c[func] = sum(arg0); }}"
    );
    let cmd = format!("{w} mangled 4");
    let r = run(&["-e", &prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        lines(&r.stdout),
        [
            "@c[scry::Workload::tick]: 6",
            "",
            "@r[workload::probes::tick]: 4"
        ]
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
    );
}

#[test]
fn offsets_must_start_instructions() {
    let w = workload();
    // scry_workload_framed: push rbp (1 byte); mov rbp, rsp (3); lea (5); pop; ret.
    let ok = run(&[
        "-e",
        &format!("uprobe:{w}:scry_workload_framed+4 {{ @ = count(); }}"),
        "-c",
        &format!("{w} framed 3"),
    ]);
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert_eq!(lines(&ok.stdout), ["@: 3"]);
    for (spec, text) in [
        ("scry_workload_framed+2", "is inside an instruction"),
        ("scry_workload_framed+100", "is past the end"),
    ] {
        let r = run(&["-e", &format!("uprobe:{w}:{spec} {{ @ = count(); }}")]);
        assert_eq!(r.code, Some(1), "{spec}: {}", r.stdout);
        assert!(
            r.stderr.contains("error[E0226]") && r.stderr.contains(text),
            "{spec}: {}",
            r.stderr
        );
    }
}

#[test]
fn p_finds_a_library_by_name_among_the_process_mappings() {
    use std::io::{BufRead, BufReader, Write};
    // The workload dlopens libscry_usdt.so from the build directory, which is no system
    // library directory: only its mappings say where it is.
    let mut w = std::process::Command::new(workload())
        .args(["usdt-wait", "3"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has loaded the library.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !std::fs::read_to_string(format!("/proc/{}/maps", w.id()))
        .unwrap_or_default()
        .contains("libscry_usdt")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the library never loaded"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut scry = std::process::Command::new(common::scry())
        .args([
            "-p",
            &w.id().to_string(),
            "-e",
            "uprobe:scry_usdt:scry_usdt_lib_run { @[func] = count(); }",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(scry.stdout.take().unwrap());
    let mut banner = String::new();
    out.read_line(&mut banner).unwrap();
    assert_eq!(banner, "Attaching 1 probe...\n");
    w.stdin.take().unwrap().write_all(b"go\n").unwrap();
    w.wait().unwrap();
    scry.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(lines(&rest), ["@[scry_usdt_lib_run]: 1"]);
}

/// The workload's symbols whose names contain `part`, from `nm`.
fn symbols_containing(w: &str, part: &str) -> Vec<String> {
    let out = std::process::Command::new("nm").arg(w).output().unwrap();
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|n| n.contains(part))
        .map(String::from)
        .collect();
    names.sort();
    names
}

#[test]
fn rust_symbols_of_600_bytes_are_named_whole() {
    let w = workload();
    let names = symbols_containing(&w, "scry_long_symbol_");
    let target = names
        .iter()
        .find(|n| n.contains("target_function"))
        .unwrap();
    let other = names.iter().find(|n| n.contains("other_function")).unwrap();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(target.len() >= 583 && other.len() >= 583, "{names:?}");
    // Both points share one program that reads its names by cookie, `func` and
    // `probe` alike, at a --max-strlen far below their length.
    let prog = format!(
        "uprobe:{w}:*scry_long_symbol_* {{ @[func] = count(); }}
         uretprobe:{w}:*scry_long_symbol_* {{ @r[probe] = count(); }}"
    );
    let cmd = format!("{w} long 7");
    let r = run(&["--max-strlen", "64", "-e", &prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout.starts_with("Attaching 4 probes...\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines(&r.stdout),
        [
            format!("@[{target}]: 7"),
            format!("@[{other}]: 14"),
            format!("@r[uretprobe:{w}:{target}]: 7"),
            format!("@r[uretprobe:{w}:{other}]: 14"),
        ]
    );
    // One point alone: its own program, its name a constant.
    let prog = format!("uprobe:{w}:*scry_long_symbol_target* {{ @[func] = count(); }}");
    let r = run(&["-e", &prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), [format!("@[{target}]: 7")]);
}
