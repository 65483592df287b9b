//! Pointers on the real kernel: `args.argv[N]` of `execve` (a user array of user
//! strings), `*p` and `p[i]` through casts of uprobe arguments, pointer values in maps.

mod common;

use common::{lines, run, workload};

fn traced(args: &[&str]) -> Vec<String> {
    let r = run(args);
    assert_eq!(r.code, Some(0), "{args:?}\nstderr: {}", r.stderr);
    lines(&r.stdout)
}

#[test]
fn execve_arguments_through_argv() {
    // `workload exec 2` executes itself twice more as `scry-exec exec N alpha "beta gamma"`.
    let w = workload();
    let cmd = format!("{w} exec 2");
    let prog = r#"tracepoint:syscalls:sys_enter_execve /pid == cpid/ {
        printf("%s|%s|%s|%s|", str(args.filename), str(args.argv[0]), str(args->argv[1]), str(*(args.argv + 2)));
        if (args.argv[3] != 0) { printf("%s|%s|%d\n", str(args.argv[3]), str(args.argv[4]), args.argv[5] == 0); }
        else { printf("end\n"); }
        @[str(args.argv[3])] = count();
        @ptr = args.argv != 0;
    }"#;
    let out = traced(&["-e", prog, "-c", &cmd]);
    assert_eq!(
        out,
        [
            // scry's own exec of the command.
            format!("{w}|{w}|exec|2|end"),
            "/proc/self/exe|scry-exec|exec|1|alpha|beta gamma|1".to_string(),
            "/proc/self/exe|scry-exec|exec|0|alpha|beta gamma|1".to_string(),
            "@[]: 1".to_string(),
            "@[alpha]: 2".to_string(),
            "@ptr: true".to_string(),
        ]
    );
}

#[test]
fn uprobe_argument_read_through_casts() {
    // libc's `open(path, …)`: arg0 points at "/dev/null" or "/dev/zero".
    let cmd = format!("{} opens 1", workload());
    let prog = r#"uprobe:libc:open /pid == cpid/ {
        $p = (uint8 *)arg0;
        @[*$p, $p[5], ((int8 *)arg0)[6], *(uint32 *)($p + 1), str($p + 5)] = count();
    }"#;
    let out = traced(&["-e", prog, "-c", &cmd]);
    // "dev/" as a little-endian u32 is 0x2f766564.
    let dev = u32::from_le_bytes(*b"dev/");
    assert_eq!(
        out,
        [
            format!("@[47, 110, 117, {dev}, null]: 1"),
            format!("@[47, 122, 101, {dev}, zero]: 2"),
        ]
    );
}

#[test]
fn pointer_values_print_in_hex() {
    // bpftrace's newest prints pointers as 0x… in maps; JSON gives the number.
    let prog =
        "BEGIN { @p = (uint8 *)0x1234; @k[(int32 *)255] = 1; @t = ((void *)16, 2); exit(); }";
    assert_eq!(
        traced(&["-e", prog]),
        ["@k[0xff]: 1", "@p: 0x1234", "@t: (0x10, 2)"]
    );
    let r = run(&["-f", "json", "-e", prog]);
    assert!(
        r.stdout
            .contains(r#"{"type": "map", "data": {"@p": 4660}}"#),
        "{}",
        r.stdout
    );
}

#[test]
fn failed_reads_are_counted_and_reported_where_they_happen() {
    // Nothing is lost silently: each read of a bad address is counted in the kernel,
    // per place in the program, and reported at exit.
    let prog = "BEGIN { @a = *(uint64 *)8; $i = 0;\n while ($i < 3) { @s = str((uint8 *)16 + $i); $i++; }\n @ok = str(\"fine\"); exit(); }";
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(lines(&r.stdout), ["@a: 0", "@ok: fine", "@s: "]);
    assert_eq!(
        r.stderr.lines().collect::<Vec<_>>(),
        [
            "WARNING: line 1: `*(uint64 *)8`: reading memory failed once; the value read as 0 or an empty string",
            "WARNING: line 2: `str((uint8 *)16 + $i)`: reading memory failed 3 times; the value read as 0 or an empty string",
        ]
    );
    let r = run(&["-f", "json", "-e", prog]);
    assert!(
        r.stdout.contains(
            r#"{"type": "read_errors", "data": {"line": 2, "expr": "str((uint8 *)16 + $i)", "count": 3}}"#
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn join_prints_execve_arguments() {
    let cmd = format!("{} exec 1", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_execve /pid == cpid && args.argv[3] != 0/ {
        join(args.argv); join(args.argv, "|"); }"#;
    let out = traced(&["-e", prog, "-c", &cmd]);
    assert_eq!(
        out,
        [
            "scry-exec exec 0 alpha beta gamma",
            "scry-exec|exec|0|alpha|beta gamma"
        ]
    );
    let r = run(&["-f", "json", "-e", prog, "-c", &cmd]);
    assert!(
        r.stdout
            .contains(r#"{"type": "join", "data": "scry-exec exec 0 alpha beta gamma"}"#),
        "{}",
        r.stdout
    );
}
