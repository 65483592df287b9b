//! Language semantics asserted in the kernel: every `tests/self/*.bt` file is a set of
//! `test:` probes run once each with `BPF_PROG_TEST_RUN` (`scry --test`), no workload
//! needed. A test returns non-zero (the number of the failed check) when something is
//! wrong.

mod common;

use common::run;

#[test]
fn every_self_test_passes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/self");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bt"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "self-test files in {}", dir.display());
    let mut failures = Vec::new();
    let mut ran = 0;
    for f in &files {
        let r = run(&["--test", f.to_str().unwrap()]);
        let plain: String = strip_colors(&r.stdout);
        let summary = plain.lines().find_map(|l| {
            l.strip_prefix("[==========] ")?
                .strip_suffix(" ran.")?
                .split(' ')
                .next()?
                .parse::<u32>()
                .ok()
        });
        ran += summary.unwrap_or(0);
        if r.code != Some(0) || summary.is_none() {
            failures.push(format!("{}:\n{plain}{}", f.display(), r.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(ran >= 15, "only {ran} self-tests ran");
}

#[test]
fn a_failing_test_is_reported_with_its_output() {
    let r = run(&[
        "--test",
        "-e",
        r#"test:ok { } test:bad { printf("shown %d\n", 7); return 2; } BEGIN { printf("not run\n"); }"#,
    ]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let plain = strip_colors(&r.stdout);
    assert!(plain.contains("[       OK ] test:ok"), "{plain}");
    assert!(plain.contains("shown 7\n[  FAILED  ] test:bad"), "{plain}");
    assert!(plain.contains("[  PASSED  ] 1 test.\n"), "{plain}");
    assert!(!plain.contains("not run"), "{plain}");
    // Outside test mode, test probes do not run.
    let r = run(&[
        "-e",
        r#"test:t { printf("no\n"); } BEGIN { printf("yes\n"); exit(); }"#,
    ]);
    assert_eq!(common::body(&r.stdout).trim(), "yes");
}

fn strip_colors(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
