//! What sema accepts, the verifier accepts, on programs nobody wrote: a deterministic
//! generator of random well-typed programs (maps with mixed string and integer keys,
//! aggregations, string comparisons, shifts, divisions, ternaries, nested `if`s, loops,
//! printf) whose every program sema accepts must load. CI runs a few hundred;
//! `SCRY_GENERATED=N` runs N (the long mode), `SCRY_GENERATED_SEED` picks the seed.

use scry::host::system::System;
use scry::{codegen, parser, sema};

/// xorshift64*: the same programs on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Builds one program of tracepoint probes; `depth` bounds the nesting.
struct Gen {
    rng: Rng,
    /// Variables assigned so far, with whether they hold a string.
    vars: Vec<(String, bool)>,
}

impl Gen {
    fn int(&mut self, depth: u32) -> String {
        let leaf = depth == 0 || self.rng.below(3) == 0;
        if leaf {
            let ints: Vec<&str> = self
                .vars
                .iter()
                .filter(|(_, s)| !s)
                .map(|(n, _)| n.as_str())
                .collect();
            return match self.rng.below(6) {
                0 => self
                    .rng
                    .pick(&["pid", "tid", "uid", "cpu", "nsecs", "args.id"])
                    .into(),
                1 if !ints.is_empty() => self.rng.pick(&ints).to_string(),
                2 => {
                    let (shape, key) = self.key(0);
                    format!("@i{shape}[{key}]")
                }
                3 => self
                    .rng
                    .pick(&["0", "1", "7", "64", "65", "-3", "4294967296"])
                    .into(),
                _ => format!("{}", self.rng.below(1000)),
            };
        }
        let a = self.int(depth - 1);
        let b = self.int(depth - 1);
        match self.rng.below(7) {
            0 => format!(
                "({a} {} {b})",
                self.rng.pick(&["+", "-", "*", "&", "|", "^"])
            ),
            1 => format!("({a} {} {b})", self.rng.pick(&["/", "%"])),
            2 => format!(
                "({a} {} {})",
                self.rng.pick(&["<<", ">>"]),
                self.rng.below(80)
            ),
            3 => format!("({a} {} {b})", self.rng.pick(&["<", "==", "!=", ">="])),
            4 => format!("({} ? {a} : {b})", self.cond(depth - 1)),
            5 => format!("(int32)({a})"),
            _ => format!("({} == {})", self.string(0), self.string(0)),
        }
    }

    fn string(&mut self, depth: u32) -> String {
        let strs: Vec<&str> = self
            .vars
            .iter()
            .filter(|(_, s)| *s)
            .map(|(n, _)| n.as_str())
            .collect();
        match self.rng.below(5) {
            0 => "comm".into(),
            1 if !strs.is_empty() => self.rng.pick(&strs).to_string(),
            2 if depth > 0 => format!(
                "({} ? {} : {})",
                self.cond(depth - 1),
                self.string(depth - 1),
                self.string(depth - 1)
            ),
            3 => "probe".into(),
            _ => format!("\"{}\"", self.rng.pick(&["a", "abc", "hello", "x y z", ""])),
        }
    }

    fn cond(&mut self, depth: u32) -> String {
        let a = self.int(depth);
        format!("({a} > {})", self.rng.below(100))
    }

    /// A key and the shape it has (maps are named after their shape, so each map
    /// keeps one key type).
    fn key(&mut self, depth: u32) -> (u64, String) {
        let shape = self.rng.below(3);
        let text = match shape {
            0 => self.int(depth),
            1 => format!("{}, {}", self.string(depth), self.int(depth)),
            _ => format!("{}, {}", self.int(depth), self.string(depth)),
        };
        (shape, text)
    }

    fn stmt(&mut self, depth: u32, out: &mut String) {
        match self.rng.below(9) {
            0 => {
                let n = format!("$v{}", self.vars.len());
                let s = self.rng.below(3) == 0;
                let v = if s { self.string(2) } else { self.int(2) };
                out.push_str(&format!("{n} = {v}; "));
                self.vars.push((n, s));
            }
            1 => {
                let (shape, key) = self.key(1);
                out.push_str(&format!("@i{shape}[{key}] = {}; ", self.int(2)))
            }
            2 => {
                let (shape, key) = self.key(1);
                let map = self.rng.pick(&["c", "s", "mn", "mx", "a", "h"]);
                out.push_str(&format!("@{map}{shape}[{key}] = AGG({}); ", self.int(1)))
            }
            3 => out.push_str(&format!(
                "printf(\"%d %s %x\\n\", {}, {}, {}); ",
                self.int(2),
                self.string(1),
                self.int(1)
            )),
            4 if depth > 0 => {
                let c = self.cond(1);
                out.push_str(&format!("if {c} {{ "));
                self.stmt(depth - 1, out);
                out.push_str("} else { ");
                self.stmt(depth - 1, out);
                out.push_str("} ");
            }
            5 if depth > 0 => {
                out.push_str(&format!("for ($j{} : 0..{}) {{ ", depth, self.int(1)));
                self.stmt(depth - 1, out);
                out.push_str("} ");
            }
            6 => out.push_str(&format!("@t = ({}, {}); ", self.int(1), self.string(1))),
            7 => out.push_str(&format!("@str[{}] = {}; ", self.int(1), self.string(1))),
            _ => out.push_str(&format!("@x = {}; ", self.int(3))),
        }
    }

    fn program(&mut self) -> String {
        self.vars.clear();
        let mut body = String::new();
        for _ in 0..1 + self.rng.below(6) {
            self.stmt(2, &mut body);
        }
        // Each aggregation map keeps one kind: pick it per map name.
        let agg = |name: &str| match name.trim_end_matches(|c: char| c.is_ascii_digit()) {
            "c" => "count",
            "s" => "sum",
            "mn" => "min",
            "mx" => "max",
            "a" => "avg",
            _ => "hist",
        };
        let mut fixed = String::new();
        let mut rest = body.as_str();
        while let Some(at) = rest.find("AGG(") {
            let head = &rest[..at];
            let map = head.rsplit('@').next().unwrap_or("");
            let name = map.split('[').next().unwrap_or("");
            fixed.push_str(head);
            let f = agg(name);
            fixed.push_str(f);
            rest = &rest[at + 3..];
            if f == "count" {
                // count() takes no argument: drop it (up to the matching parenthesis).
                let mut depth = 0;
                let mut end = 0;
                for (i, ch) in rest.char_indices() {
                    match ch {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                end = i;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                fixed.push_str("()");
                rest = &rest[end + 1..];
            }
        }
        fixed.push_str(rest);
        // The maps the generator reads exist, with one key shape each.
        format!(
            "tracepoint:raw_syscalls:sys_enter {{ @i0[0] = 0; @i1[\"\", 0] = 0; @i2[0, \"\"] = 0; {fixed}}}"
        )
    }
}

#[test]
fn generated_programs_that_sema_accepts_load() {
    let n: usize = std::env::var("SCRY_GENERATED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("SCRY_GENERATED_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5c27);
    let mut g = Gen {
        rng: Rng(seed | 1),
        vars: Vec::new(),
    };
    let host = System::new();
    let (mut accepted, mut rejected) = (0, Vec::new());
    for _ in 0..n {
        let text = g.program();
        match load(&host, &text) {
            Ok(false) => {}
            Ok(true) => accepted += 1,
            Err(e) => {
                accepted += 1;
                rejected.push(format!("{text}\n  {e}"));
            }
        }
    }
    eprintln!(
        "{n} generated, {accepted} accepted by sema and codegen, {} rejected by the verifier",
        rejected.len()
    );
    assert!(
        rejected.is_empty(),
        "the verifier rejected:\n{}",
        rejected.join("\n")
    );
    assert!(
        accepted * 2 >= n,
        "the generator makes too few valid programs: {accepted} of {n}"
    );
}

/// Compiles `text` and loads it: Ok(false) when sema or codegen refuse it, Ok(true) when
/// it loads, the verifier's error otherwise.
fn load(host: &System, text: &str) -> Result<bool, String> {
    let Ok(ast) = parser::parse(text) else {
        return Ok(false);
    };
    let hir = match sema::check(&ast, host, &sema::Options::default()) {
        Ok(h) => h,
        Err(d) => {
            if std::env::var("SCRY_GENERATED_WHY").is_ok() {
                eprintln!("{}: {}", d[0].code, d[0].message);
            }
            return Ok(false);
        }
    };
    let Ok(compiled) = codegen::lower(&hir) else {
        return Ok(false);
    };
    let elf = compiled.artifact().object;
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let open = builder.open_memory(&elf).map_err(|e| e.to_string())?;
    open.load().map(|_| true).map_err(|e| e.to_string())
}

/// Programs the generator found rejected once, kept as they were found.
#[test]
fn programs_the_generator_found_load() {
    let host = System::new();
    for text in FOUND {
        assert_eq!(load(&host, text), Ok(true), "{text}");
    }
}

const FOUND: &[&str] = &[
    // A bpf_loop count of `x << 31` checked to lie in 1..=8388608: the verifier's bounds
    // on that impossible path said 0 loops, it skipped the callback, and the JIT failed.
    r#"tracepoint:raw_syscalls:sys_enter { @i0[0] = 0; @i1["", 0] = 0; @i2[0, ""] = 0; for ($j2 : 0..(@i2[4294967296, probe] / 23)) { @str[404] = "hello"; } @t = ((293 << 29), "hello"); if ((584 % @i2[cpu, comm]) > 20) { $v0 = @i1["a", @i1["", 65]]; } else { @i0[(tid << 37)] = (((@i0[257] > 82) ? $v0 : @i1["", $v0]) / (0 ^ tid)); } if ((@i1[comm, 865] << 44) > 95) { @x = ((((int32)(89) + (1 < @i1[probe, @i2[780, "abc"]])) > 73) ? (((tid > 80) ? $v0 : 362) << 39) : $v0); } else { for ($j1 : 0..($v0 << 61)) { @mx1[comm, 606] = max(($v0 != args.id)); } } @str[((args.id > 83) ? 934 : 7)] = "a"; }"#,
    r#"tracepoint:raw_syscalls:sys_enter { @i1["", 0] = 0; @i2[0, ""] = 0; for ($j2 : 0..(int32)(nsecs)) { for ($j1 : 0..(@i1[comm, uid] << 31)) { @a1["abc", 244] = avg((@i2[54, "a"] >> 64)); } } }"#,
    "BEGIN { $x = 1; for ($i : 0..($x << 31)) { @a = count(); } }",
];
