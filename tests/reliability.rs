//! Bad inputs and hostile surroundings: files that are not regular files, a reader that
//! stops reading, huge programs.

mod common;

use common::{run, scry};
use std::io::{BufRead, BufReader};

#[test]
fn a_closed_output_pipe_is_a_quiet_exit() {
    let mut child = std::process::Command::new(scry())
        .args(["-e", "interval:ms:1 { printf(\"x\\n\"); }"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "Attaching 1 probe...\n");
    drop(out);
    let status = child.wait_with_output().unwrap();
    assert_eq!(status.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&status.stderr), "");
}

#[test]
fn only_regular_files_are_read() {
    let dir = std::env::temp_dir().join(format!("scry-reliability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let fifo = fifo.to_str().unwrap().to_string();
    // A FIFO as the program file and as a probed binary: errors at once, no hang.
    let r = run(&[&fifo]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    let r = run(&["-e", &format!("uprobe:{fifo}:f {{ }}")]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("error[E0206]") && r.stderr.contains("FIFO"),
        "{}",
        r.stderr
    );
    // /dev/zero: no endless read.
    let r = run(&["/dev/zero"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    let r = run(&["-e", "uprobe:/dev/zero:f { }"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("error[E0206]"), "{}", r.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_hundred_thousand_statements_compile() {
    let body: String = (0..100_000)
        .map(|i| format!("$x{} = {i}; ", i % 50))
        .collect();
    let file = std::env::temp_dir().join(format!("scry-big-{}.bt", std::process::id()));
    std::fs::write(&file, format!("BEGIN {{ {body} exit(); }}")).unwrap();
    let r = run(&["--dump", "insns", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// Sends `sig` to `child` once it has attached (its first stdout line).
fn signal_after_attach(
    child: &mut std::process::Child,
    sig: i32,
) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("Attaching"), "{line}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, sig) };
    out
}

#[test]
fn every_stop_signal_prints_the_maps() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        let mut child = std::process::Command::new(scry())
            .args(["-e", "BEGIN { @b = 1; } interval:ms:5 { @c = count(); }"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = signal_after_attach(&mut child, sig);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "signal {sig}");
        assert!(rest.contains("@b: 1"), "signal {sig}: {rest}");
    }
}

#[test]
fn a_stop_signal_ends_scry_even_when_nobody_reads_its_output() {
    // A reader that never reads: scry's writes block once the pipe is full.
    let mut child = std::process::Command::new(scry())
        .args([
            "-e",
            "interval:ms:1 { printf(\"%s\\n\", \"a line long enough to fill a pipe soon, again and again\"); }",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = signal_after_attach(&mut child, 0);
    // Let the pipe fill (64 KiB at ~60 bytes a millisecond).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let start = std::time::Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = start + std::time::Duration::from_secs(5);
    while child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "scry did not stop");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        start.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    drop(out);
}

#[test]
fn any_nesting_is_compiled_or_refused_never_a_crash() {
    let forms = |n: usize| {
        [
            format!("BEGIN {{ @ = {}1; }}", "!".repeat(n)),
            format!("BEGIN {{ @ = {}; }}", vec!["1"; n].join("+")),
            format!(
                "BEGIN {{ {}@ = 1;{} }}",
                "if (pid) { ".repeat(n),
                " }".repeat(n)
            ),
            format!("BEGIN {{ @ = {}0; }}", "pid ? 1 : ".repeat(n)),
        ]
    };
    let file = std::env::temp_dir().join(format!("scry-deep-{}.bt", std::process::id()));
    for (n, ok) in [(500, true), (100_000, false)] {
        for program in forms(n) {
            std::fs::write(&file, &program).unwrap();
            let r = run(&["--dump", "hir", file.to_str().unwrap()]);
            if ok {
                assert_eq!(r.code, Some(0), "{}…: {}", &program[..40], r.stderr);
            } else {
                assert_eq!(r.code, Some(1), "{}…", &program[..40]);
                assert!(r.stderr.contains("error[E0006]"), "{}", r.stderr);
            }
        }
    }
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn thousands_of_programs_load_in_bounded_memory() {
    // A verifier log buffer is allocated only for a program that fails to load: three
    // thousand BEGIN probes once took 3 GiB for theirs.
    let file = std::env::temp_dir().join(format!("scry-begins-{}.bt", std::process::id()));
    let program: String = (0..3000)
        .map(|i| format!("BEGIN {{ @a = {i}; }} "))
        .collect();
    std::fs::write(&file, program).unwrap();
    let out = std::process::Command::new(common::workload())
        .args(["rss", scry().to_str().unwrap(), "--max-probes", "5000"])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("status=0"), "{err}");
    let kb: u64 = err
        .split_whitespace()
        .find_map(|w| w.strip_prefix("maxrss_kb="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(kb < 300_000, "{kb} kB");
}

#[test]
fn without_privileges_the_missing_capabilities_are_named() {
    // A copy nobody may run, wherever the build directory is.
    let dir = std::env::temp_dir().join(format!("scry-unprivileged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("scry");
    std::fs::copy(scry(), &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&bin)
        .args([
            "-e",
            "tracepoint:syscalls:sys_enter_getpid { @ = count(); }",
        ])
        .output()
        .expect("setpriv (util-linux) runs");
    let _ = std::fs::remove_dir_all(&dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[E0510]: tracing needs privileges this process lacks: CAP_BPF, CAP_PERFMON, CAP_DAC_OVERRIDE")
            && err.contains("help: run scry as root"),
        "{err}"
    );
}

#[test]
fn open_file_needs_are_checked_before_anything_is_loaded() {
    let probes: String = (1..=100)
        .map(|i| format!("interval:ms:{i} {{ @a = count(); }} "))
        .collect();
    let program = format!("{probes} interval:ms:50 {{ exit(); }}");
    let under = |limit: &str| {
        std::process::Command::new("prlimit")
            .arg(format!("--nofile={limit}"))
            .arg(scry())
            .args(["-e", &program])
            .output()
            .expect("prlimit (util-linux) runs")
    };
    // A hard limit too low: refused, with the need and the limit named.
    let out = under("200:200");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[E0605]: this run needs about 371 open files (101 programs, 4 maps, 202 perf events and links) but the limit is 200\n")
            && err.contains("help: raise the limit (`ulimit -n`"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Attaching"));
    // A low soft limit under a high hard one is raised: the run works.
    let out = under("100:4096");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_map_the_kernel_cannot_allocate_is_named_with_its_size() {
    // 16,777,216 preallocated entries of a 16 KiB string key and a u64: 256 GiB, more
    // memory than the machine has, which the kernel refuses at once (ENOMEM).
    let r = run(&[
        "--max-map-keys",
        "16777216",
        "--max-strlen",
        "16384",
        "-e",
        "BEGIN { @names[str(0)] = 1; exit(); }",
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stderr.starts_with(
            "error[E0603]: cannot create @names: it needs 16777216 entries of 16392 bytes: 256.1 GiB; the kernel refused it: ENOMEM, out of memory\n"
        ) && r.stderr.contains(
            "help: give it fewer entries with --max-map-keys (now 16777216), or smaller keys and values (--max-strlen bounds strings)"
        ),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("Attaching"), "{}", r.stdout);
}

#[test]
fn a_record_the_ring_buffer_can_never_hold_is_refused_before_loading() {
    let program = "BEGIN { printf(\"%s\\n\", str(0)); exit(); }";
    let r = run(&[
        "--perf-rb-pages",
        "1",
        "--max-strlen",
        "8192",
        "-e",
        program,
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    let page = 4096; // x86-64
    assert!(
        r.stderr.starts_with(&format!(
            "error[E0604]: an event record of 8200 bytes (8 more with its header) never fits in the ring buffer of 1 page(s) ({page} bytes): every such event would be lost\n"
        )) && r.stderr.contains("help: give the ring buffer at least 4 pages with --perf-rb-pages"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("Attaching"), "{}", r.stdout);
    // With the pages it names, the record fits (a failed read prints an empty string).
    let r = run(&[
        "--perf-rb-pages",
        "4",
        "--max-strlen",
        "8192",
        "-e",
        program,
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn the_ring_buffer_has_the_pages_asked_for() {
    // BEGIN sends 1,000 records of 24 bytes with their headers (and exit's) before
    // anything reads them: 170 fit in one 4 KiB page, 341 in two, all in the default.
    let program = "BEGIN { for ($i : 0..1000) { printf(\"%d\\n\", $i); } exit(); }";
    for (pages, printed, lost) in [("1", 170, 831), ("2", 341, 660)] {
        let r = run(&["--perf-rb-pages", pages, "-e", program]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let out = common::lines(&r.stdout);
        let numbers: Vec<String> = (0..printed).map(|i| i.to_string()).collect();
        assert_eq!(out, numbers, "{pages} pages");
        assert!(
            r.stderr.contains(&format!("Lost {lost} events\n")),
            "{pages} pages: {}",
            r.stderr
        );
    }
    // The environment variable does the same; the default loses nothing.
    let r = common::run_command(
        std::process::Command::new(scry())
            .env("BPFTRACE_PERF_RB_PAGES", "1")
            .args(["-e", program]),
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    assert!(r.stdout.ends_with("\n169\n\n"), "{}", r.stdout);
    assert!(r.stderr.contains("Lost 831 events\n"), "{}", r.stderr);
    let r = run(&["-e", program]);
    assert_eq!(common::lines(&r.stdout).len(), 1000);
    assert!(!r.stderr.contains("Lost"), "{}", r.stderr);
}

#[test]
fn ring_buffer_pages_are_checked() {
    for (args, text) in [
        (
            vec!["--perf-rb-pages", "3"],
            "error[E0506]: --perf-rb-pages must be a power of two (the kernel's ring buffers are), not 3\n = help: use 2 or 4\n",
        ),
        (
            vec!["--perf-rb-pages", "0"],
            "error[E0506]: --perf-rb-pages must be a number from 1 to 262144, not `0`\n = help: the default is 256\n",
        ),
        (
            vec!["--perf-rb-pages", "524288"],
            "error[E0506]: --perf-rb-pages must be a number from 1 to 262144, not `524288`\n = help: the default is 256\n",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["-e", "BEGIN { printf(\"x\\n\"); }"]);
        let r = run(&all);
        assert_eq!(r.code, Some(1), "{args:?}");
        assert_eq!(r.stderr.trim_end(), text.trim_end(), "{args:?}");
    }
}
