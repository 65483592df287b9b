//! Reads of per-CPU aggregations in the kernel combine every CPU's value: what a probe
//! reads equals what scry prints at exit, after updates from several CPUs.

mod common;

use common::{lines, run, workload};

#[test]
fn a_kernel_read_combines_every_cpu() {
    // Four threads of 5000 getpid calls each; END reads the aggregations in the kernel.
    let cmd = format!("{} threads 5000 4", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_getpid /pid == cpid/ {
        @c = count(); @s = sum(2); @cpus[cpu] = count(); @mn = min(cpu + 10); @mx = max(cpu + 10);
        @a = avg(4);
    }
    END { printf("kernel %d %d %d %d %d\n", (int64)@c, @s, @mn, @mx, @a); }"#;
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let several = online.trim() != "0";
    for attempt in 0.. {
        let r = run(&["-e", prog, "-c", &cmd]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let out = lines(&r.stdout);
        let cpus: Vec<&String> = out.iter().filter(|l| l.starts_with("@cpus[")).collect();
        if several && cpus.len() < 2 && attempt < 5 {
            continue; // every thread ran on one CPU: nothing to combine; try again
        }
        assert!(!several || cpus.len() >= 2, "{out:?}");
        let lo: u32 = cpus
            .iter()
            .filter_map(|l| l.strip_prefix("@cpus[")?.split(']').next()?.parse().ok())
            .min()
            .unwrap();
        let hi = cpus
            .iter()
            .filter_map(|l| l.strip_prefix("@cpus[")?.split(']').next()?.parse().ok())
            .max()
            .unwrap_or(lo);
        assert_eq!(
            out[0],
            format!("kernel 20000 40000 {} {} 4", lo + 10, hi + 10),
            "{out:?}"
        );
        assert!(out.contains(&"@c: 20000".to_string()), "{out:?}");
        break;
    }
}

#[test]
fn stats_and_histograms_stay_unreadable() {
    for agg in ["stats(1)", "hist(1)", "lhist(1, 0, 10, 1)"] {
        let prog = format!("BEGIN {{ @x = {agg}; if (@x > 0) {{ exit(); }} }}");
        let r = run(&["-e", &prog]);
        assert_eq!(r.code, Some(1), "{agg}: {}", r.stdout);
        assert!(r.stderr.contains("E0306"), "{agg}: {}", r.stderr);
    }
}
