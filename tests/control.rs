//! Control flow on the real kernel: `while` loops (back-edges), `unroll`, `break`,
//! `continue`, and the diagnostic for a loop the verifier cannot bound.

mod common;

use common::{lines, run};

fn ok(prog: &str) -> Vec<String> {
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(0), "{prog}\nstderr: {}", r.stderr);
    lines(&r.stdout)
}

#[test]
fn while_with_break_and_continue() {
    let out = ok(r#"BEGIN { $i = 0; $s = 0;
        while ($i < 10) { $i++; if ($i == 3) { continue; } if ($i == 8) { break; } $s += $i; }
        printf("%d %d\n", $i, $s); exit(); }"#);
    // 1 + 2 + 4 + 5 + 6 + 7
    assert_eq!(out, ["8 25"]);
}

#[test]
fn nested_loops_and_unroll() {
    let out = ok(r#"BEGIN { $i = 0; $n = 0;
        while ($i < 5) { $j = 0; while ($j < $i) { $n++; $j++; } $i++; }
        $u = 0; unroll(6) { $u++; if ($u == 2) { continue; } if ($u == 5) { break; } @u = count(); }
        printf("%d %d\n", $n, $u); exit(); }"#);
    // 0+1+2+3+4 inner iterations; unroll counts copies 1, 3, 4 and stops at 5.
    assert_eq!(out, ["10 5", "@u: 3"]);
}

/// Regression for register allocation across a back-edge: `pid` is used twice, so it
/// is read once into a register at entry; inside the loop its last mention comes before
/// new values are made. Every iteration must still see it.
#[test]
fn loop_invariant_registers_survive_iterations() {
    let out = ok(
        r#"BEGIN { $i = 0; while ($i < 4) { @a[$i] = pid - pid + 7 + $i * 0; $x = $i * 3; @b[$i] = $x + 1; $i++; } exit(); }"#,
    );
    assert_eq!(
        out,
        [
            "@a[0]: 7",
            "@a[1]: 7",
            "@a[2]: 7",
            "@a[3]: 7",
            "@b[0]: 1",
            "@b[1]: 4",
            "@b[2]: 7",
            "@b[3]: 10"
        ]
    );
}

#[test]
fn map_reads_in_loops_see_updates_from_earlier_iterations() {
    let out = ok(
        r#"BEGIN { @x = 1; $i = 0; while ($i < 5) { @x = @x * 2; $i++; } printf("%d\n", @x); exit(); }"#,
    );
    assert_eq!(out, ["32", "@x: 32"]);
}

#[test]
fn a_loop_the_verifier_cannot_bound_is_reported_at_the_loop() {
    let prog = "BEGIN { $i = 0; while ($i >= 0) { $i = $i + 1; @x = $i; } }";
    let r = run(&["-e", prog]);
    assert_eq!(r.code, Some(1));
    assert!(r.stdout.is_empty(), "nothing attached: {}", r.stdout);
    assert!(r.stderr.starts_with("error[E0410]"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ unbounded loop"),
        "{}",
        r.stderr
    );
    let r = run(&["-e", "BEGIN { while (1) { } }"]);
    assert!(r.stderr.starts_with("error[E0410]"), "{}", r.stderr);
}
