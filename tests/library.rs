//! The library's functions on the real kernel: values rendered in userspace (`ntop`,
//! `macaddr`, `strerror`, `cgroup_path`, `strftime`, `username`) in printf `%s`,
//! `print()`, map keys and values, tuples and JSON; byte-array tracepoint fields and user
//! memory as addresses; compile-time constants (`kaddr`, `uaddr`, `pton`) as the
//! machine has them.

mod common;

use common::{lines, run, workload};

fn traced(args: &[&str]) -> Vec<String> {
    let r = run(args);
    assert_eq!(r.code, Some(0), "{args:?}\nstderr: {}", r.stderr);
    lines(&r.stdout)
}

#[test]
fn rendered_values_print_everywhere_values_go() {
    let out = traced(&[
        "-e",
        r#"BEGIN {
            printf("%s|%s|%s|%s|%s|%-6s|\n", strerror(2), ntop(0x0100007f),
                ntop(pton("::1")), macaddr(pton("1:2:3:4:5:6:7:8")), username, strerror(0));
            $e = strerror(13); $a = ntop(pton("10.0.0.255"));
            print($e); print($a); print((1, $a, $e, username));
            @by_addr[ntop(2, 0x0201a8c0), strerror(1)] = macaddr(pton("aa:bb:cc:dd:ee:ff:0:1"));
            @t = (strerror(4), ntop(pton("fe80::1")));
            print(pton("127.0.0.1"));
            exit(); }"#,
    ]);
    assert_eq!(
        out,
        [
            "No such file or directory|127.0.0.1|::1|00:01:00:02:00:03|root|Success|",
            "Permission denied",
            "10.0.0.255",
            "(1, 10.0.0.255, Permission denied, root)",
            r"\x7f\x00\x00\x01",
            "@by_addr[192.168.1.2, Operation not permitted]: 00:AA:00:BB:00:CC",
            "@t: (Interrupted system call, fe80::1)",
        ]
    );
}

#[test]
fn json_renders_them_as_strings() {
    let out = traced(&[
        "-f",
        "json",
        "-e",
        r#"BEGIN { print(ntop(pton("::1"))); print((strerror(3), 5));
            @a[ntop(pton("10.0.0.1"))] = strerror(1); @u[username] = 1; exit(); }"#,
    ]);
    assert_eq!(
        out[1..],
        [
            r#"{"type": "value", "data": "::1"}"#,
            r#"{"type": "value", "data": ["No such process",5]}"#,
            r#"{"type": "map", "data": {"@a": {"10.0.0.1": "Operation not permitted"}}}"#,
            r#"{"type": "map", "data": {"@u": {"root": 1}}}"#,
        ]
    );
}

#[test]
fn ntop_of_tracepoint_address_fields() {
    // `__u8 saddr[4]` and `__u8 daddr_v6[16]` of sock:inet_sock_set_state as the
    // workload connects over loopback (the connect moves the socket to SYN_SENT).
    let cmd = format!("{} connect 3", workload());
    let out = traced(&[
        "-e",
        r#"tracepoint:sock:inet_sock_set_state /pid == cpid && args.newstate == 2/ {
            @[ntop(args.saddr), ntop(args.daddr_v6), ntop(args.family, args.daddr)] = count(); }"#,
        "-c",
        &cmd,
    ]);
    assert_eq!(out, ["@[127.0.0.1, ::ffff:127.0.0.1, 127.0.0.1]: 3"]);
}

#[test]
fn macaddr_reads_user_memory() {
    // `bytes 11` writes the pattern `A z~\0\x01…` once with 10 bytes: through the
    // pointer and through a `buf()`.
    let cmd = format!("{} bytes 11", workload());
    let out = traced(&[
        "-e",
        r#"tracepoint:syscalls:sys_enter_write /pid == cpid && args.count == 10/ {
            printf("%s %s\n", macaddr(args.buf), macaddr(buf(args.buf, 6))); }"#,
        "-c",
        &cmd,
    ]);
    assert_eq!(out, ["41:20:7A:7E:00:01 41:20:7A:7E:00:01"]);
}

#[test]
fn cgroup_path_is_the_traced_process_cgroup() {
    // The workload inherits this test's cgroup; cgroup2 is the `0::` line.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("a cgroup2 hierarchy");
    let cmd = format!("{} getpid 1", workload());
    let out = traced(&[
        "-e",
        r#"tracepoint:syscalls:sys_enter_getpid /pid == cpid/ {
            printf("%s\n", cgroup_path(cgroup, "unified")); @[cgroup_path(cgroup, "uni*")] = count(); }"#,
        "-c",
        &cmd,
    ]);
    assert_eq!(
        out,
        [format!("unified:{path}"), format!("@[unified:{path}]: 1")]
    );
}

#[test]
fn strftime_is_wall_clock_time() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let out = traced(&[
        "-e",
        r#"BEGIN { printf("%s\n", strftime("%s.%f", nsecs(boot))); @ = strftime("%s", nsecs); exit(); }"#,
    ]);
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (secs, micros) = out[0].split_once('.').expect("secs.micros");
    let secs: u64 = secs.parse().unwrap();
    assert!(
        (before..=after).contains(&secs),
        "{out:?} not in {before}..={after}"
    );
    assert_eq!(micros.len(), 6, "{out:?}");
    let map: u64 = out[1].strip_prefix("@: ").unwrap().parse().unwrap();
    assert!((before..=after + 1).contains(&map), "{out:?}");
}

/// The `--dump hir` text of a program.
fn hir(prog: &str) -> String {
    let r = run(&["--dump", "hir", "-e", prog]);
    assert_eq!(r.code, Some(0), "{prog}\nstderr: {}", r.stderr);
    r.stdout
}

#[test]
fn kaddr_is_the_kallsyms_address() {
    let syms = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let (addr, name) = syms
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (a, _, n) = (f.next()?, f.next()?, f.next()?);
            Some((u64::from_str_radix(a, 16).ok()?, n.to_string()))
        })
        .unwrap();
    let dump = hir(&format!(r#"BEGIN {{ @ = kaddr("{name}"); }}"#));
    assert!(dump.contains(&format!("int {addr}: uint64")), "{dump}");
}

#[test]
fn uaddr_is_the_symbol_address_typed_by_its_size() {
    // `nm -S`: address, size, kind, name.
    let nm = std::process::Command::new("nm")
        .args(["-S", &workload()])
        .output()
        .expect("nm runs");
    let text = String::from_utf8_lossy(&nm.stdout);
    let (addr, size) = text
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4 && f[3] == "scry_workload_func").then(|| {
                (
                    u64::from_str_radix(f[0], 16).unwrap(),
                    u64::from_str_radix(f[1], 16).unwrap(),
                )
            })
        })
        .expect("the workload has scry_workload_func");
    let bits = if [1, 2, 4, 8].contains(&size) {
        size * 8
    } else {
        64
    };
    let dump = hir(&format!(
        r#"uprobe:{}:scry_workload_func {{ @ = uaddr("scry_workload_func"); }}"#,
        workload()
    ));
    assert!(
        dump.contains(&format!("int {addr}: uint{bits} *")),
        "want {addr:#x} ({size} bytes):\n{dump}"
    );
}
