//! Differential tests: every program in `tests/differential/*.bt` runs under scry and
//! under bpftrace 0.17 (Debian's package, `tools/deps.sh` installs it) with the same `-c`
//! workload command, and their outputs must be identical: same lines, same blank lines,
//! same map order, same histogram bars. Only the banner (`Attaching N probes...`) is
//! dropped. Each run is pinned to one CPU (it and the workload it starts), so events
//! reach bpftrace's per-CPU buffers in order. Needs root and BPF.
//!
//! A case file starts with `//` comment lines (both tools read them as comments):
//!
//! ```text
//! // What the case checks (free text).
//! // run: writes 100              the workload command (`-c`), without the binary's
//! //                              path; omitted when the program ends with exit()
//! // difference: signed-div-mod   an intended difference: a section of
//! //                              docs/differences.md
//! // bug: printf-int-length       a known scry bug: a section of
//! //                              tests/differential/known-bugs.md
//! //| @q: -3                      with `difference:` or `bug:`, scry's exact output,
//! //|                             one `//|` line per line (`//| ` + text, trailing
//! //|                             spaces included; `//|` alone is an empty line)
//! ```
//!
//! `@WORKLOAD@` in the program or the expected output stands for the workload's path.
//! Sections are `## `id` — title` headings; ids are what cases declare.
//!
//! Without a declaration both tools must exit 0 and print the same. With one, scry must
//! print the declared output, bpftrace must print something else (a declaration that no
//! longer holds fails) and the id must have its section. Every section of both files
//! must be used by a case.
//!
//! The known bug `map-blank-lines` (scry lays out the blank lines around the maps it
//! prints at exit differently) is special: while its section exists, every comparison
//! also accepts outputs that are equal once the empty lines in front of a map (a line
//! starting with `@`) and at the end are dropped. Declared outputs are written in
//! bpftrace's layout, so they stay right when the bug is fixed. The case declaring
//! `map-blank-lines` compares exactly, and the tolerance must still be needed by some
//! undeclared case: once scry is fixed the test fails until the section is removed.
//!
//! `SCRY_DIFF_ONLY=SUBSTRING` runs only the cases whose file name contains it;
//! `SCRY_DIFF_SHOW=1` prints both outputs of every case (with `-- --nocapture`);
//! `BPFTRACE=/path/to/bpftrace` picks the bpftrace binary.

mod common;

use common::Run;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Cases run on this many threads (each bpftrace run costs ~0.3–0.6 s of CPU).
const THREADS: usize = 4;
/// Longest a single run may take.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The known bug whose tolerance ignores the blank lines around printed maps.
const MAP_BLANK_LINES: &str = "map-blank-lines";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One case file.
#[derive(Debug)]
struct Case {
    name: String,
    program: String,
    run: Option<String>,
    /// `difference:` id.
    difference: Option<String>,
    /// `bug:` id.
    bug: Option<String>,
    /// scry's declared output.
    expected: Option<String>,
}

impl Case {
    fn declared(&self) -> Option<&str> {
        self.difference.as_deref().or(self.bug.as_deref())
    }
}

fn parse_case(path: &Path) -> Result<Case, String> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let mut case = Case {
        name: name.clone(),
        program: text.clone(),
        run: None,
        difference: None,
        bug: None,
        expected: None,
    };
    let mut expected = String::new();
    let mut has_expected = false;
    for line in text.lines().take_while(|l| l.starts_with("//")) {
        if let Some(out) = line.strip_prefix("//|") {
            let out = out.strip_prefix(' ').unwrap_or(out);
            expected.push_str(out);
            expected.push('\n');
            has_expected = true;
            continue;
        }
        let body = line.trim_start_matches('/').trim();
        let set = |slot: &mut Option<String>, v: &str| -> Result<(), String> {
            if slot.replace(v.trim().to_string()).is_some() {
                return Err(format!("{name}: `{line}` given twice"));
            }
            Ok(())
        };
        if let Some(v) = body.strip_prefix("run:") {
            set(&mut case.run, v)?;
        } else if let Some(v) = body.strip_prefix("difference:") {
            set(&mut case.difference, v)?;
        } else if let Some(v) = body.strip_prefix("bug:") {
            set(&mut case.bug, v)?;
        }
    }
    if has_expected {
        case.expected = Some(expected);
    }
    match (
        case.difference.is_some(),
        case.bug.is_some(),
        case.expected.is_some(),
    ) {
        (true, true, _) => Err(format!("{name}: both `difference:` and `bug:`")),
        (true, _, false) | (_, true, false) => Err(format!(
            "{name}: a declared case needs scry's output (`//|` lines)"
        )),
        (false, false, true) => Err(format!(
            "{name}: `//|` output without a `difference:` or `bug:` declaration"
        )),
        _ => Ok(case),
    }
}

/// Ids of the `## `id`` sections of a markdown file.
fn section_ids(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.strip_prefix("## `"))
        .filter_map(|l| l.split('`').next())
        .map(String::from)
        .collect()
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the kernel fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a cpu_set_t of the size passed.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    assert_eq!(
        r,
        0,
        "sched_getaffinity: {}",
        std::io::Error::last_os_error()
    );
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: i is below CPU_SETSIZE.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect()
}

/// Runs `bin args` on `cpu` only (the tool, its BEGIN/END and the workload it starts
/// share one CPU, so bpftrace 0.17's per-CPU perf buffers deliver events in order),
/// draining its output, killing it after [`TIMEOUT`].
fn run(bin: &Path, args: &[&str], cpu: usize) -> Result<Run, String> {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(bin);
    // SAFETY: the closure only calls the async-signal-safe sched_setaffinity.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.args(args);
    common::run_command(&mut command, TIMEOUT).map_err(|e| format!("{}: {e}", bin.display()))
}

/// The output without banner lines: bpftrace 0.17's and scry's `Attaching N probes...`
/// and newer bpftrace's `Attached N probes`.
fn normalize(stdout: &str) -> String {
    let banner = |l: &str| {
        let words: Vec<&str> = l.split(' ').collect();
        matches!(
            words.as_slice(),
            ["Attaching", n, "probe..." | "probes..."] | ["Attached", n, "probe" | "probes"]
                if n.parse::<u64>().is_ok()
        )
    };
    stdout
        .lines()
        .filter(|l| !banner(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The `map-blank-lines` tolerance: drops every empty line that precedes a line starting
/// with `@` (a printed map) or the end of the output.
fn without_map_blank_lines(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let mut kept = String::new();
    for (i, l) in lines.iter().enumerate() {
        if l.is_empty() {
            let next = lines[i + 1..].iter().find(|n| !n.is_empty());
            if next.is_none_or(|n| n.starts_with('@')) {
                continue;
            }
        }
        kept.push_str(l);
        kept.push('\n');
    }
    kept
}

/// Everything a comparison needs to know about the active tolerances.
struct Tolerance {
    map_blank_lines: bool,
}

impl Tolerance {
    /// Whether `a` and `b` are equal, exactly (`Some(false)`) or only with the
    /// tolerance (`Some(true)`).
    fn equal(&self, a: &str, b: &str) -> Option<bool> {
        if a == b {
            Some(false)
        } else if self.map_blank_lines && without_map_blank_lines(a) == without_map_blank_lines(b) {
            Some(true)
        } else {
            None
        }
    }
}

fn show(label: &str, text: &str) -> String {
    let mut s = format!("--- {label}:\n");
    for l in text.lines() {
        let _ = writeln!(s, "  |{l}");
    }
    s
}

/// Outcome of one case: `Ok(true)` when it passed only thanks to `map-blank-lines`.
fn check(case: &Case, workload: &str, cpu: usize, tol: &Tolerance) -> Result<bool, String> {
    let program = case.program.replace("@WORKLOAD@", workload);
    let cmd = case.run.as_ref().map(|r| format!("{workload} {r}"));
    let mut args = vec!["-e", program.as_str()];
    if let Some(cmd) = &cmd {
        args.extend(["-c", cmd.as_str()]);
    }
    let scry = run(&common::scry(), &args, cpu)?;
    let bpftrace = run(&bpftrace_bin(), &args, cpu)?;
    let (s, b) = (normalize(&scry.stdout), normalize(&bpftrace.stdout));
    if std::env::var_os("SCRY_DIFF_SHOW").is_some() {
        eprintln!(
            "=== {}\n{}{}",
            case.name,
            show("scry", &s),
            show("bpftrace", &b)
        );
    }
    let context = || {
        format!(
            "{}{}{}",
            show("scry", &s),
            show("bpftrace", &b),
            show("scry stderr", &scry.stderr)
        )
    };
    if scry.code != Some(0) {
        return Err(format!("scry exited with {:?}\n{}", scry.code, context()));
    }
    let Some(expected) = &case.expected else {
        if bpftrace.code != Some(0) {
            return Err(format!(
                "bpftrace exited with {:?}\n{}{}",
                bpftrace.code,
                context(),
                show("bpftrace stderr", &bpftrace.stderr)
            ));
        }
        return tol.equal(&s, &b).ok_or_else(|| {
            format!(
                "outputs differ (declare a difference or bug if intended)\n{}",
                context()
            )
        });
    };
    let expected = expected.replace("@WORKLOAD@", workload);
    let id = case.declared().unwrap_or_default();
    // The case that pins `map-blank-lines` itself compares exactly.
    let exact = Tolerance {
        map_blank_lines: false,
    };
    let tol = if id == MAP_BLANK_LINES { &exact } else { tol };
    if tol.equal(&s, &expected).is_none() {
        return Err(format!(
            "scry's output is not the one declared for `{id}`\n{}{}",
            show("declared", &expected),
            context()
        ));
    }
    if tol.equal(&b, &expected).is_some() {
        return Err(format!(
            "stale declaration `{id}`: bpftrace prints scry's declared output\n{}",
            context()
        ));
    }
    Ok(false)
}

fn bpftrace_bin() -> PathBuf {
    std::env::var_os("BPFTRACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("bpftrace"))
}

/// Fails clearly when bpftrace is missing or is not the 0.17 the cases are written for.
fn require_bpftrace() {
    let bin = bpftrace_bin();
    let out = Command::new(&bin).arg("--version").output();
    let version = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(o) => panic!(
            "`{} --version` failed: {}",
            bin.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "the differential tests need bpftrace 0.17 ({}: {e}); run tools/deps.sh to install it",
            bin.display()
        ),
    };
    assert!(
        version.starts_with("bpftrace v0.17."),
        "the differential cases are written against bpftrace 0.17 (Debian 12's package, \
         tools/deps.sh), found `{version}`"
    );
}

#[test]
fn scry_prints_what_bpftrace_prints() {
    require_bpftrace();
    let workload = common::workload();
    let dir = repo().join("tests/differential");
    let differences = section_ids(&repo().join("docs/differences.md"));
    let bugs = section_ids(&dir.join("known-bugs.md"));
    let tol = Tolerance {
        map_blank_lines: bugs.contains(MAP_BLANK_LINES),
    };

    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/differential")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bt"))
        .collect();
    paths.sort();
    let mut problems = Vec::new();
    let mut cases = Vec::new();
    for p in &paths {
        match parse_case(p) {
            Ok(c) => cases.push(c),
            Err(e) => problems.push(e),
        }
    }
    let only = std::env::var("SCRY_DIFF_ONLY").ok();
    if only.is_none() {
        assert!(cases.len() >= 30, "only {} cases", cases.len());
    }

    // Every declaration names a section; every section is used.
    for c in &cases {
        if let Some(d) = &c.difference
            && !differences.contains(d)
        {
            problems.push(format!(
                "{}: difference `{d}` has no section in docs/differences.md",
                c.name
            ));
        }
        if let Some(b) = &c.bug
            && !bugs.contains(b)
        {
            problems.push(format!(
                "{}: bug `{b}` has no section in tests/differential/known-bugs.md",
                c.name
            ));
        }
    }
    for d in &differences {
        if !cases.iter().any(|c| c.difference.as_ref() == Some(d)) {
            problems.push(format!(
                "docs/differences.md: no case declares `{d}` (add one under tests/differential/)"
            ));
        }
    }
    for b in &bugs {
        if b != MAP_BLANK_LINES && !cases.iter().any(|c| c.bug.as_ref() == Some(b)) {
            problems.push(format!("known-bugs.md: no case declares `{b}`"));
        }
    }

    let selected: Vec<&Case> = cases
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| c.name.contains(o.as_str())))
        .collect();
    let cpus = allowed_cpus();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let cpu = cpus[t % cpus.len()];
            let (next, results, selected, workload, tol) =
                (&next, &results, &selected, &workload, &tol);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = selected.get(i) else { break };
                    let r = check(case, workload, cpu, tol);
                    results.lock().unwrap().push((case.name.clone(), r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut tolerated = Vec::new();
    for (name, r) in results {
        match r {
            Ok(true) => tolerated.push(name),
            Ok(false) => {}
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    if tol.map_blank_lines && only.is_none() && tolerated.is_empty() {
        problems.push(format!(
            "known bug `{MAP_BLANK_LINES}` no longer reproduces: remove its section from \
             tests/differential/known-bugs.md"
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}
