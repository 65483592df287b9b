//! `str()` on the real kernel: user strings from syscall tracepoints and uprobes, as map
//! keys and values, printf arguments and in comparisons; `max_strlen` and length limits.

mod common;

use common::{lines, run, workload};

fn traced(args: &[&str]) -> Vec<String> {
    let r = run(args);
    assert_eq!(r.code, Some(0), "{args:?}\nstderr: {}", r.stderr);
    lines(&r.stdout)
}

#[test]
fn openat_file_names_counted_exactly() {
    let cmd = format!("{} opens 5", workload());
    let out = traced(&[
        "-e",
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid/ { @[str(args.filename)] = count();
            if (str(args->filename) == "/dev/zero") { @zero = count(); } }"#,
        "-c",
        &cmd,
    ]);
    // The loader opens libraries too; the workload's own files are exact.
    assert!(out.contains(&"@[/dev/null]: 5".to_string()), "{out:?}");
    assert!(out.contains(&"@[/dev/zero]: 10".to_string()), "{out:?}");
    assert!(out.contains(&"@zero: 10".to_string()), "{out:?}");
}

#[test]
fn limits_values_and_printf() {
    let cmd = format!("{} opens 1", workload());
    let out = traced(&[
        "-e",
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args.filename, 6) == "/dev/"/ {
            $n = 9; @short[str(args.filename, 5)] = count(); @run[str(args.filename, $n)] = count();
            @last = str(args.filename); printf("<%s>\n", str(args.filename)); }"#,
        "-c",
        &cmd,
    ]);
    assert_eq!(
        out,
        [
            "</dev/null>",
            "</dev/zero>",
            "</dev/zero>",
            "@last: /dev/zero",
            "@run[/dev/nul]: 1",
            "@run[/dev/zer]: 2",
            "@short[/dev]: 3"
        ]
    );
}

#[test]
fn uprobe_argument_strings_and_max_strlen() {
    // libc's `open` takes the path in arg0: a user pointer.
    let cmd = format!("{} opens 2", workload());
    let prog = r#"uprobe:libc:open /pid == cpid/ { @[str(arg0)] = count(); }"#;
    let out = traced(&["-e", prog, "-c", &cmd]);
    assert_eq!(out, ["@[/dev/null]: 2", "@[/dev/zero]: 4"]);
    // A shorter max_strlen truncates (the NUL counts), marked with the `..` trailer.
    let out = traced(&["--max-strlen", "5", "-e", prog, "-c", &cmd]);
    assert_eq!(out, ["@[/dev..]: 6"]);
    let r = run(&["--max-strlen", "1", "-e", prog]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("E0503"), "{}", r.stderr);
}

#[test]
fn data_loc_strings_and_str_of_strings() {
    // sched_process_exec's `filename` is a `__data_loc char[]` inside the record.
    let w = workload();
    let cmd = format!("{w} getpid 1");
    let out = traced(&[
        "-e",
        r#"tracepoint:sched:sched_process_exec /pid == cpid/ {
            printf("%s|%d\n", str(args.filename), strlen(args->filename)); @[args.filename, str(comm)] = count(); }"#,
        "-c",
        &cmd,
    ]);
    assert_eq!(
        out,
        [format!("{w}|{}", w.len()), format!("@[{w}, workload]: 1")]
    );
}

#[test]
fn str_with_a_length_of_a_string_or_a_zero_length_is_an_error() {
    let r = run(&["-e", "BEGIN { printf(\"%s\\n\", str(comm, 4)); }"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("error[E0304]"), "{}", r.stderr);
    let r = run(&["-e", "BEGIN { @ = str(0, 0); }"]);
    assert!(r.stderr.contains("error[E0304]"), "{}", r.stderr);
}

#[test]
fn buffers_as_keys_values_tuples_and_json() {
    // Writes of 0..=10 bytes of `A z~` NUL 0x01 0x7f 0x80 0xff `\n`, twice over (i mod 11).
    let cmd = format!("{} bytes 22", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_write /pid == cpid && args.fd > 2/ {
        @[buf(args.buf, args.count)] = count();
        $n = 64;
        if (args.count == 6) { @six = buf(args.buf, $n); @t = (args.count, buf(args.buf, 2)); }
        if (args.count == 10) { @whole = buf(comm); }
    }"#;
    let out = traced(&["--max-strlen", "8", "-e", prog, "-c", &cmd]);
    // Lengths past max_strlen (8) are clamped; a run-time length is clamped too.
    assert_eq!(
        out,
        [
            "@[]: 2",
            "@[A]: 2",
            "@[A ]: 2",
            "@[A z]: 2",
            "@[A z~]: 2",
            "@[A z~\\x00]: 2",
            "@[A z~\\x00\\x01]: 2",
            "@[A z~\\x00\\x01\\x7f]: 2",
            "@[A z~\\x00\\x01\\x7f\\x80]: 6",
            "@six: A z~\\x00\\x01\\x7f\\x80",
            "@t: (6, A )",
            "@whole: workload\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00",
        ]
    );
    let r = run(&["--max-strlen", "8", "-f", "json", "-e", prog, "-c", &cmd]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stdout
            .contains(r#"{"type": "map", "data": {"@six": "A z~\\x00\\x01\\x7f\\x80"}}"#),
        "{}",
        r.stdout
    );
}

#[test]
fn strings_cut_at_max_strlen_get_the_trailer() {
    let cmd = format!("{} opens 1", workload());
    let prog = r#"tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args.filename, 6) == "/dev/"/ {
        printf("%s|%-12s|%s|%s\n", str(args.filename), str(args.filename), str(args.filename, 9),
            str(args.filename, 100));
        @[str(args.filename)] = count(); @n = strlen(str(args.filename, 9)); }"#;
    // "/dev/null" and its NUL fit 10 bytes exactly: no trailer.
    let out = traced(&["--max-strlen", "10", "-e", prog, "-c", &cmd]);
    assert_eq!(
        out,
        [
            "/dev/null|/dev/null   |/dev/nul|/dev/null",
            "/dev/zero|/dev/zero   |/dev/zer|/dev/zero",
            "/dev/zero|/dev/zero   |/dev/zer|/dev/zero",
            "@[/dev/null]: 1",
            "@[/dev/zero]: 2",
            "@n: 8",
        ]
    );
    // One byte less cuts them: `..` marks the cut at max_strlen, not an explicit shorter
    // length.
    let out = traced(&["--max-strlen", "9", "-e", prog, "-c", &cmd]);
    assert_eq!(
        out,
        [
            "/dev/nul..|/dev/nul..  |/dev/nul|/dev/nul..",
            "/dev/zer..|/dev/zer..  |/dev/zer|/dev/zer..",
            "/dev/zer..|/dev/zer..  |/dev/zer|/dev/zer..",
            "@[/dev/nul..]: 1",
            "@[/dev/zer..]: 2",
            "@n: 8",
        ]
    );
}

#[test]
fn bytes_that_are_not_utf8_print_as_they_are() {
    // Strings are bytes: map keys and values go to stdout unchanged; JSON, which must be
    // Unicode, writes each stray byte as the code point of its value.
    let prog = r#"BEGIN { @["\xffA"] = 1; @v = "a\xfe"; printf("%s|\n", "\x80z"); exit(); }"#;
    let out = std::process::Command::new(common::scry())
        .args(["-e", prog])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = out.stdout;
    for want in [&b"\x80z|\n"[..], b"@[\xffA]: 1\n", b"@v: a\xfe\n"] {
        assert!(
            text.windows(want.len()).any(|w| w == want),
            "{want:?} in {:?}",
            String::from_utf8_lossy(&text)
        );
    }
    let r = run(&["-f", "json", "-e", prog]);
    assert!(
        r.stdout
            .contains(r#"{"type": "map", "data": {"@": {"\u00ffA": 1}}}"#),
        "{}",
        r.stdout
    );
}

#[test]
fn the_largest_max_strlen_still_runs_programs_that_fit() {
    // 16384-byte strings live in per-CPU scratch memory: keys, values, comparisons.
    let cmd = format!("{} opens 1", workload());
    let out = traced(&[
        "--max-strlen",
        "16384",
        "-e",
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid && str(args.filename, 6) == "/dev/"/ {
            @[str(args.filename)] = count(); @v = str(args.filename);
            if (str(args.filename) == "/dev/null") { @n = count(); } }"#,
        "-c",
        &cmd,
    ]);
    assert_eq!(
        out,
        [
            "@[/dev/null]: 1",
            "@[/dev/zero]: 2",
            "@n: 1",
            "@v: /dev/zero"
        ]
    );
}
