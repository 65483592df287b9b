//! Parser snapshots: the `--dump ast` rendering of representative programs in every
//! dialect scry accepts, and the rendered diagnostic of each parse error.

use scry::ast::print::dump;
use scry::diag::render;
use scry::parser::parse;

fn tree(src: &str) -> String {
    match parse(src) {
        Ok(p) => dump(&p),
        Err(d) => panic!("{}", render("prog.bt", src, &d)),
    }
}

fn error(src: &str) -> String {
    let d = parse(src).expect_err("should not parse");
    render("prog.bt", src, &d)
}

#[test]
fn bpftrace_one_liner() {
    insta::assert_snapshot!(tree(
        r#"tracepoint:syscalls:sys_enter_openat, t:syscalls:sys_enter_open /pid == 42 && comm != "bash"/ { @[comm] = count(); @bytes[pid, comm] = sum(args.count); }"#
    ));
}

#[test]
fn script_with_shebang_include_and_control_flow() {
    insta::assert_snapshot!(tree(
        "#!/usr/bin/env scry\n#include <linux/sched.h>\nBEGIN { printf(\"hello %d\\n\", 1); }\nEND { $x = 1; $x += 2; @x++; if (@x > 1) { printf(\"%s\\n\", \"big\"); } else if ($x) { @y = 1; } else { @z--; } }\n"
    ));
}

#[test]
fn ply_dialect() {
    insta::assert_snapshot!(tree(
        "kprobe:SyS_* { $syscalls[func].count() }\ntracepoint:sched/sched_switch { @[args->prev_comm] = count() }"
    ));
}

#[test]
fn precedence_and_predicate_division() {
    insta::assert_snapshot!(tree(
        "uprobe:/bin/bash:readline / $x / 2 == 1 || -a * b + c << 1 & ~d / { @ = $x ? 1 : 2 > 3; }"
    ));
}

#[test]
fn probe_without_body() {
    insta::assert_snapshot!(error("BEGIN\nEND { }"));
}

#[test]
fn missing_semicolon() {
    insta::assert_snapshot!(error("BEGIN { @a = 1 @b = 2 }"));
}

#[test]
fn unexpected_end() {
    insta::assert_snapshot!(error("BEGIN { if (1) { @a = 1; }"));
}

#[test]
fn invalid_integer_and_escape() {
    insta::assert_snapshot!(error("BEGIN { @a = 0x; }"));
    insta::assert_snapshot!(error(r#"BEGIN { printf("\q"); }"#));
}

#[test]
fn unterminated_comment() {
    insta::assert_snapshot!(error("BEGIN { } /* never closed"));
}

/// Mutated programs of every shape must come back as Ok or a diagnostic, never a panic.
#[test]
fn mutations_never_panic() {
    let seeds = [
        r#"t:syscalls:sys_enter_read /pid == 1 && comm == "x"/ { @[comm, pid] = sum(args->count); printf("%d\n", $x); }"#,
        "BEGIN { if (1) { @a++; } else { $b = -1 ? 2 : 3; } exit(); }",
        "kprobe:f { $m[func].count() } interval:s:1 { @x = (1, 2); }",
    ];
    let alphabet = b"{}()[]/;,:@$\"'`\\*+-<>=!&|^~?.0123456789abcxyz \n#";
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for seed in seeds {
        for _ in 0..400 {
            let mut bytes = seed.as_bytes().to_vec();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % bytes.len();
                match (x >> 32) % 3 {
                    0 => bytes[at] = alphabet[(x >> 40) as usize % alphabet.len()],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, alphabet[(x >> 40) as usize % alphabet.len()]),
                }
                if bytes.is_empty() {
                    break;
                }
            }
            let src = String::from_utf8_lossy(&bytes).into_owned();
            if let Err(d) = parse(&src) {
                assert!(!d.is_empty());
                let _ = render("m.bt", &src, &d);
            }
        }
    }
}

#[test]
fn loops() {
    insta::assert_snapshot!(tree(
        "BEGIN { while ($i < 10) { $i++; if ($i == 2) { continue; } break; } unroll(3) { @n++; } }"
    ));
}

#[test]
fn casts_and_literals() {
    insta::assert_snapshot!(tree(
        "BEGIN { $a = (uint16)$x + (int8)-1; $b = 1e6 + 0x1fUL + 100ms + 1_000; }"
    ));
}
