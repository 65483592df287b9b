//! End-to-end runs of USDT probes on the real kernel against the workload's probes
//! (examples/workload_usdt*.c, `workload usdt N`): every argument form with exact
//! values, the semaphore, wildcards, every site of a probe, `usdt:*` with `-p`, and
//! `-l` compared with bpftrace's listing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{lines, run, workload};

/// V = 0xf7f6f5f4f3f2f1f0 cut to each width, as `%ld` prints them: u64 (as a signed
/// long), i64, u32, i32, u16, i16, u8, i8.
const WIDTHS: &str =
    "-579005069656919568 -579005069656919568 4092785136 -202182160 61936 -3600 240 -16";
/// The same as values: `print()` shows the unsigned 64-bit one as such.
const TUPLE: &str =
    "(17867739004052632048, -579005069656919568, 4092785136, -202182160, 61936, -3600, 240, -16)";

fn usdt(spec: &str) -> String {
    format!("usdt:{}:{spec}", workload())
}

/// The shared library with USDT probes that the workload loads (built by build.rs).
fn library() -> &'static str {
    match option_env!("SCRY_WORKLOAD_USDT_LIB") {
        Some(path) => path,
        None => {
            panic!("build.rs did not build the USDT library (needs sys/sdt.h: run tools/deps.sh)")
        }
    }
}

/// Runs `program` on `workload usdt N`; returns (stdout lines after the banner, the
/// banner, the workload's `usdt_enabled=` count).
fn trace(program: &str, rounds: u32) -> (Vec<String>, String, u64) {
    let cmd = format!("{} usdt {rounds}", workload());
    let r = run(&["-e", program, "-c", &cmd]);
    assert_eq!(
        r.code,
        Some(0),
        "stderr: {}\nstdout: {}",
        r.stderr,
        r.stdout
    );
    let enabled = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("usdt_enabled="))
        .unwrap_or_else(|| panic!("no usdt_enabled= in {}", r.stderr))
        .parse()
        .unwrap();
    let banner = r.stdout.lines().next().unwrap_or_default().to_string();
    (lines(&r.stdout), banner, enabled)
}

#[test]
fn constants_registers_and_stack_memory_of_every_width() {
    let program = format!(
        r#"{}, {}, {} {{ printf("%s %ld %ld %ld %ld %ld %ld %ld %ld\n", probe, arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7); print((arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7)); }}"#,
        usdt("scry:consts"),
        usdt("scry:regs"),
        usdt("scry:mem")
    );
    let (out, banner, _) = trace(&program, 2);
    assert_eq!(banner, "Attaching 3 probes...");
    let mut want = Vec::new();
    for _ in 0..2 {
        for p in ["consts", "regs", "mem"] {
            want.push(format!("{} {WIDTHS}", usdt(&format!("scry:{p}"))));
            want.push(TUPLE.to_string());
        }
    }
    assert_eq!(out, want);
}

#[test]
fn index_register_rip_relative_global_and_string_pointer() {
    let program = format!(
        r#"{} {{ @index = sum(arg0); @rounds = sum(arg1); @imin = min(arg0); }}
           {} {{ @global[arg0, arg1] = count(); }}
           {} {{ @i = sum(arg0); @neg = sum(arg1); @s[str(arg2)] = count(); @p = max(arg2 != 0); }}"#,
        usdt("scry:index"),
        usdt("scry:global"),
        usdt("scry:loop")
    );
    let (out, _, _) = trace(&program, 10);
    // Rounds 0…9: arg0 of scry:index is -(i % 8); the global holds V (unsigned).
    assert_eq!(
        out,
        [
            "@global[17867739004052632048, -7]: 10",
            "@i: 45",
            "@imin: -7",
            "@index: -29",
            "@neg: -45",
            "@p: 1",
            "@rounds: 45",
            "@s[hello usdt]: 10",
        ]
    );
}

#[test]
fn semaphore_is_set_while_attached() {
    // Traced: the kernel counts the semaphore up, so the workload fires the probe.
    let (out, _, enabled) = trace(
        &format!(
            "{} {{ @hit = count(); @sum = sum(arg0); }}",
            usdt("scry_guarded:hit")
        ),
        10,
    );
    assert_eq!(enabled, 10);
    assert_eq!(out, ["@hit: 10", "@sum: 45"]);
    // Not traced (another probe of the same binary is): the semaphore stays 0.
    let (out, _, enabled) = trace(&format!("{} {{ @l = count(); }}", usdt("scry:loop")), 10);
    assert_eq!(enabled, 0);
    assert_eq!(out, ["@l: 10"]);
}

#[test]
fn arguments_beside_an_unreadable_one_work() {
    // scry:float's arg0 is a double (`8f@%rax`): E0213 where used, but arg1 reads.
    let (out, _, _) = trace(&format!("{} {{ @ = sum(arg1); }}", usdt("scry:float")), 10);
    assert_eq!(out, ["@: 45"]);
}

#[test]
fn failed_memory_reads_are_counted() {
    // scry:fault's argument is an int32 at address 16: each read fails, reads as 0 and
    // is reported at exit where the program read it.
    let cmd = format!("{} usdt 4", workload());
    let r = run(&[
        "-e",
        &format!("{} {{ @ = sum(arg0); @n = count(); }}", usdt("scry:fault")),
        "-c",
        &cmd,
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@: 0", "@n: 4"]);
    assert!(
        r.stderr
            .contains("WARNING: line 1: `arg0`: reading memory failed 4 times"),
        "{}",
        r.stderr
    );
}

#[test]
fn wildcards_and_every_site() {
    // scry:twice is one probe at two sites (inlined twice): both are attached, each
    // with its own constant argument.
    let (out, banner, enabled) = trace(&format!("{} {{ @[probe] = count(); }}", usdt("*:*")), 5);
    assert_eq!(banner, "Attaching 11 probes...");
    assert_eq!(enabled, 5);
    let w = workload();
    let want: Vec<String> = [
        ("scry:consts", 5),
        ("scry:fault", 5),
        ("scry:float", 5),
        ("scry:global", 5),
        ("scry:index", 5),
        ("scry:loop", 5),
        ("scry:mem", 5),
        ("scry:regs", 5),
        ("scry_guarded:hit", 5),
        ("scry:twice", 10),
    ]
    .iter()
    .map(|(p, n)| format!("@[usdt:{w}:{p}]: {n}"))
    .collect();
    assert_eq!(out, want);
    // A provider left out (or empty), wildcards in names.
    let (out, banner, _) = trace(
        &format!(
            "{} {{ @t[arg0] = count(); }} {} {{ @h = count(); }} {} {{ @r = count(); }}",
            usdt("twice"),
            usdt(":h*"),
            usdt("scry:re?s")
        ),
        3,
    );
    assert_eq!(banner, "Attaching 4 probes...");
    assert_eq!(out, ["@h: 3", "@r: 3", "@t[1]: 3", "@t[2]: 3"]);
}

#[test]
fn every_object_of_a_pid() {
    // The workload waits for a line on stdin, sent once scry has attached.
    let mut w = Command::new(workload())
        .args(["usdt-wait", "10"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = w.id().to_string();
    let mut scry = Command::new(common::scry())
        .args([
            "-p",
            &pid,
            "-e",
            "usdt:*:scry:loop { @l = count(); @s = sum(arg0); } usdt:*:*:hit { @h = count(); } usdt:twice { @t = count(); } usdt:*:scry_lib:* { @lib = sum(arg0); }",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(scry.stdout.take().unwrap());
    let mut banner = String::new();
    out.read_line(&mut banner).unwrap();
    // The library's probe comes from the process's mappings (it was loaded with dlopen).
    assert_eq!(banner, "Attaching 5 probes...\n");
    w.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let status = w.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut w.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        status.success() && err.contains("usdt_enabled=10\n"),
        "{err}"
    );
    // scry exits when the process does.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while scry.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "scry did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(
        lines(&rest),
        ["@h: 10", "@l: 10", "@lib: 45", "@s: 45", "@t: 20"]
    );
}

#[test]
fn listing_matches_bpftrace() {
    let w = workload();
    let r = run(&["-l", &format!("usdt:{w}:*")]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let want: Vec<String> = [
        "scry:consts",
        "scry:fault",
        "scry:float",
        "scry:global",
        "scry:index",
        "scry:loop",
        "scry:mem",
        "scry:regs",
        "scry:twice",
        "scry_guarded:hit",
    ]
    .iter()
    .map(|p| format!("usdt:{w}:{p}"))
    .collect();
    assert_eq!(r.stdout.lines().collect::<Vec<_>>(), want);
    // bpftrace 0.17 lists the same lines for an absolute path (`-lv` adds nothing).
    for args in [vec!["-l"], vec!["-lv"]] {
        let pattern = format!("usdt:{w}:*");
        let mut all = args.clone();
        all.push(&pattern);
        let theirs = Command::new(std::env::var("BPFTRACE").unwrap_or("bpftrace".into()))
            .args(&all)
            .output()
            .expect("bpftrace runs (tools/deps.sh installs it)");
        let ours = Command::new(common::scry()).args(&all).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{args:?}"
        );
    }
    // Patterns over providers and names.
    let r = run(&["-l", &format!("usdt:{w}:scry:*o*")]);
    assert_eq!(
        r.stdout,
        format!(
            "usdt:{w}:scry:consts\nusdt:{w}:scry:float\nusdt:{w}:scry:global\nusdt:{w}:scry:loop\n"
        )
    );
    let r = run(&["-l", &format!("U:{w}:*:hit")]);
    assert_eq!(r.stdout, format!("usdt:{w}:scry_guarded:hit\n"));
}

#[test]
fn a_library_loaded_later() {
    // Attached before the command runs; the kernel places the probe when the workload
    // loads the library with dlopen().
    let program = format!(
        "usdt:{}:scry_lib:call {{ @c = count(); @i = sum(arg0); @neg = sum(arg1); }}",
        library()
    );
    let (out, _, _) = trace(&program, 7);
    assert_eq!(out, ["@c: 7", "@i: 21", "@neg: -21"]);
}

#[test]
fn binaries_found_as_uprobes_find_them() {
    // A library name and a command in $PATH resolve as for uprobes; neither has notes.
    for (spec, shown) in [("libc", "libc.so"), ("true", "/true")] {
        let r = run(&["-e", &format!("usdt:{spec}:p:n {{ }}")]);
        assert_eq!(r.code, Some(1));
        assert!(r.stderr.contains("error[E0212]"), "{}", r.stderr);
        assert!(r.stderr.contains(shown), "{}", r.stderr);
    }
}

#[test]
fn listing_a_pid() {
    let mut w = Command::new(workload())
        .args(["usdt-wait", "1"])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = w.id().to_string();
    // The process has loaded its library once it waits on stdin; give it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = run(&["-l", "usdt:*:scry*:*a*", "-p", &pid]);
        if r.stdout.contains("scry_lib") || std::time::Instant::now() > deadline {
            break r;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let all = run(&["-l", "usdt:*", "-p", &pid]);
    w.stdin.take().unwrap().write_all(b"\n").unwrap();
    w.wait().unwrap();
    let w = workload();
    let lib = library();
    assert_eq!(
        r.stdout,
        format!(
            "usdt:{lib}:scry_lib:call\nusdt:{w}:scry:fault\nusdt:{w}:scry:float\nusdt:{w}:scry:global\n"
        ),
        "{}",
        r.stderr
    );
    // Every object's probes: the executable's 10 and the library's one.
    assert_eq!(all.stdout.lines().count(), 11, "{}", all.stdout);
}
