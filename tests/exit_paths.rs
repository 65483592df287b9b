//! Every way scry ends leaves nothing behind: its BPF maps (and with them the programs,
//! links and perf events that hold them) are gone, tracefs has no dynamic event of its
//! own, and the `-c` child is gone. Each run names its map uniquely, so runs of other
//! tests in parallel do not disturb the count.

mod common;

use common::{scry, workload};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many BPF maps named `name` the kernel holds.
fn maps_named(name: &str) -> usize {
    let out = Command::new("bpftool")
        .args(["map", "show"])
        .output()
        .expect("bpftool runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().any(|w| w == name))
        .count()
}

/// tracefs' dynamic events (kprobe/uprobe events made through tracefs) that name `what`.
fn dynamic_events(what: &str) -> usize {
    ["dynamic_events", "uprobe_events"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(format!("/sys/kernel/tracing/{f}")).ok())
        .map(|t| t.lines().filter(|l| l.contains(what)).count())
        .sum()
}

/// Waits until `done` holds, for at most five seconds (freeing is deferred by RCU).
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

fn alive(pid: i32) -> bool {
    // A zombie has exited; only its parent's wait is missing.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

enum End {
    /// Ends by itself (exit(), the `-c` command's end, or a refusal).
    Itself,
    /// Sent this signal once its maps exist.
    Signal(i32),
}

/// Runs `scry args` whose program owns map `@tag`, ends it as `end` says, and checks that
/// the map existed (when `loads`) and that nothing is left afterwards.
fn check(tag: &str, args: &[&str], end: End, loads: bool) {
    let map = format!("m0_{tag}");
    let w = workload();
    let mut child = Command::new(scry())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut cpid = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(p) = line.strip_prefix("cpid ") {
                cpid = p.trim().parse::<i32>().ok();
            }
        }
        cpid
    });
    if loads {
        assert!(
            eventually(|| maps_named(&map) == 1),
            "{tag}: map never loaded"
        );
    }
    if let End::Signal(sig) = end {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
    }
    let status = child.wait().unwrap();
    let cpid = reader.join().unwrap();
    assert!(
        eventually(|| maps_named(&map) == 0),
        "{tag}: map {map} left in the kernel after {status}"
    );
    assert_eq!(dynamic_events(&w), 0, "{tag}: tracefs events left");
    if let Some(pid) = cpid {
        assert!(eventually(|| !alive(pid)), "{tag}: -c child {pid} left");
    }
}

/// A program with a map, a uprobe (a perf event), a tracepoint and a timer.
fn program(tag: &str, extra: &str) -> String {
    format!(
        "BEGIN {{ printf(\"cpid %d\\n\", cpid); }} interval:ms:10 {{ @{tag}[1] = count(); }} \
         uprobe:{w}:main {{ @u = count(); }} tracepoint:syscalls:sys_enter_getppid {{ @g = count(); }} {extra}",
        w = workload()
    )
}

#[test]
fn every_way_of_ending_leaves_nothing() {
    let w = workload();
    let long = format!("{w} sleep 30000");
    // exit() from the program.
    let p = program("lkexit", "interval:ms:300 { exit(); }");
    check("lkexit", &["-c", &long, "-e", &p], End::Itself, true);
    // The -c command's own end.
    let p = program("lkcend", "");
    let short = format!("{w} sleep 300");
    check("lkcend", &["-c", &short, "-e", &p], End::Itself, true);
    // Each stop signal, and SIGKILL (the kernel closes what scry held; the child dies
    // of its parent-death signal).
    for (tag, sig) in [
        ("lkint", libc::SIGINT),
        ("lkterm", libc::SIGTERM),
        ("lkhup", libc::SIGHUP),
        ("lkquit", libc::SIGQUIT),
        ("lkkill", libc::SIGKILL),
    ] {
        let p = program(tag, "");
        check(tag, &["-c", &long, "-e", &p], End::Signal(sig), true);
    }
}

#[test]
fn failures_after_loading_leave_nothing() {
    let long = format!("{} sleep 30000", workload());
    // An attach failure after other probes attached (no kprobes here; where kprobes
    // exist the probe attaches and the run ends by exit()).
    let p = program(
        "lkattach",
        "kprobe:vfs_read { @k = count(); } interval:ms:300 { exit(); }",
    );
    check("lkattach", &["-c", &long, "-e", &p], End::Itself, false);
    // A verifier rejection (a loop it sees never end) after other programs loaded.
    let p = program(
        "lkverify",
        "tracepoint:syscalls:sys_enter_getpid { $i = pid; while ($i == pid) { @v = count(); } }",
    );
    let r = Command::new(scry())
        .args(["-c", &long, "-e", &p])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("E0410"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    check("lkverify", &["-c", &long, "-e", &p], End::Itself, false);
}
