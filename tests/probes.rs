//! End-to-end runs of the perf-event probe types (`profile`, `software`, `hardware`) on
//! the real kernel, against the deterministic workload.

mod common;

use common::{lines, run, workload};

/// The online CPUs, as the kernel lists them (`0-1`).
fn online_cpus() -> Vec<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        cpus.extend(a.parse::<u32>().unwrap()..=b.parse::<u32>().unwrap());
    }
    cpus
}

#[test]
fn profile_samples_every_online_cpu() {
    // cpu-clock fires on idle CPUs too (in the idle task), so every CPU shows up. The
    // kernel drops a sample that lands while another BPF program runs on that CPU, so a
    // CPU kept busy by BPF programs may miss a short window: three tries.
    let want: Vec<String> = online_cpus()
        .iter()
        .map(|c| format!("@cpus[{c}]: 1"))
        .collect();
    let mut got = Vec::new();
    for _ in 0..3 {
        let r = run(&[
            "-e",
            "profile:hz:997 { @cpus[cpu] = 1; } interval:ms:300 { exit(); }",
        ]);
        assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
        assert!(
            r.stdout.starts_with("Attaching 2 probes...\n"),
            "{}",
            r.stdout
        );
        got = lines(&r.stdout);
        if got == want {
            return;
        }
    }
    assert_eq!(got, want);
}

#[test]
fn profile_period_follows_the_command() {
    // 10 ms samples of a command that spins for 400 ms: about 40, only its own.
    let cmd = format!("{} spin 400", workload());
    let r = run(&[
        "-e",
        "profile:ms:10 { @[pid == cpid] = count(); }",
        "-c",
        &cmd,
    ]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let out = lines(&r.stdout);
    assert_eq!(out.len(), 1, "only the command is sampled with -c: {out:?}");
    let n: u64 = out[0]
        .strip_prefix("@[true]: ")
        .expect("@[true]")
        .parse()
        .unwrap();
    assert!((20..=60).contains(&n), "{n} samples");
}

#[test]
fn software_events_count_exactly_with_periods_and_aliases() {
    // The workload faults exactly N times between two getppid() calls.
    let cmd = format!("{} faults 3000", workload());
    let prog = "BEGIN { @on = 0; } \
        t:syscalls:sys_exit_getppid /pid == cpid/ { @on = @on ? 0 : 1; } \
        software:minor-faults:1 /pid == cpid && @on == 1/ { @faults = count(); } \
        software:faults:100 /pid == cpid && @on == 1/ { @hundreds = count(); } \
        s:cs:1 { @switches = 1; }";
    let r = run(&["-e", prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    assert!(
        r.stdout.starts_with("Attaching 5 probes...\n"),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines(&r.stdout),
        ["@faults: 3000", "@hundreds: 30", "@on: 0", "@switches: 1"]
    );
}

#[test]
fn hardware_events_need_a_pmu() {
    let r = run(&[
        "-e",
        "hardware:instructions:1000000 { @ = count(); exit(); }",
    ]);
    if std::path::Path::new("/sys/bus/event_source/devices/cpu").exists() {
        assert_eq!(r.code, Some(0), "a PMU is present: {}", r.stderr);
    } else {
        assert_eq!(r.code, Some(1));
        assert!(r.stdout.is_empty(), "nothing runs: {}", r.stdout);
        assert!(r.stderr.contains("error[E0204]"), "{}", r.stderr);
        assert!(
            r.stderr.contains("checked: perf_event_open"),
            "{}",
            r.stderr
        );
    }
}
