//! Memory beyond the 512-byte stack: programs whose buffers do not fit on the stack
//! move the big ones to a per-CPU scratch map and still load, run and print exactly;
//! what still cannot fit is reported at the expression responsible.

mod common;

use common::{lines, run};

/// A 64-byte string literal (63 characters and the NUL) starting with `c`.
fn s64(c: char) -> String {
    format!("{c}{}", "x".repeat(62))
}

#[test]
fn six_64_byte_strings_kept_printed_and_used_as_keys() {
    let names = ['a', 'b', 'c', 'd', 'e', 'f'];
    let mut prog = String::from("BEGIN { ");
    for n in names {
        prog += &format!("${n} = \"{}\"; ", s64(n.to_ascii_uppercase()));
    }
    prog += r#"printf("%s %s %s %s %s %s\n", $a, $b, $c, $d, $e, $f);
        @m[$a, $b, $c] = count(); @n[$d, $e, $f, $a] = $b; exit(); }"#;
    let r = run(&["-e", &prog]);
    assert_eq!(r.code, Some(0), "stderr: {}", r.stderr);
    let all: Vec<String> = names.iter().map(|n| s64(n.to_ascii_uppercase())).collect();
    assert_eq!(
        lines(&r.stdout),
        [
            all.join(" "),
            format!("@m[{}, {}, {}]: 1", all[0], all[1], all[2]),
            format!(
                "@n[{}, {}, {}, {}]: {}",
                all[3], all[4], all[5], all[0], all[1]
            ),
        ]
    );
    // The strings went to this program's scratch map; the stack holds the rest.
    let dump = run(&["--dump", "insns", "-e", &prog]);
    assert!(dump.stdout.contains("map[scratch0]"), "{}", dump.stdout);
}

#[test]
fn small_programs_stay_on_the_stack() {
    let dump = run(&[
        "--dump",
        "insns",
        "-e",
        r#"BEGIN { $s = "short"; @[comm, $s] = count(); exit(); }"#,
    ]);
    assert_eq!(dump.code, Some(0), "{}", dump.stderr);
    assert!(!dump.stdout.contains("scratch"), "{}", dump.stdout);
}
