//! The `scry` command: parses the command line and runs the pipeline once,
//! parse → check → lower → write ELF → load, attach and run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use scry::artifact::Manifest;
use scry::diag::{self, Diagnostic};
use scry::host::system::System;
use scry::lang::render::StackMode;
use scry::object::listing;
use scry::output::Format;
use scry::runtime::{self, child::Child};
use scry::{ast, codegen, parser, sema};

#[path = "main/list.rs"]
mod list;

/// What `--dump` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Dump {
    /// The syntax tree.
    Ast,
    /// The checked program: resolved probes, typed expressions.
    Hir,
    /// The generated instructions with source lines.
    Insns,
}

/// What `-f` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// bpftrace's text.
    Text,
    /// One JSON object per line.
    Json,
    /// Text, with maps keyed by stacks as folded stacks (`root;…;leaf COUNT`).
    Folded,
}

/// A tracing language for Linux, compiled straight to eBPF.
#[derive(Parser, Debug)]
#[command(name = "scry", version, about, long_about = None)]
struct Cli {
    /// Program text to run.
    #[arg(short = 'e', value_name = "PROGRAM")]
    program: Option<String>,
    /// Script file to run (`#!/usr/bin/env scry` scripts pass themselves here), unless
    /// -e gives the program; then positional parameters `$1`, `$2`, …. Options may
    /// follow them, as getopt lets bpftrace's; after `--` everything is a parameter.
    #[arg(value_name = "FILE|ARGS", allow_negative_numbers = true)]
    rest: Vec<String>,
    /// Run CMD, traced from its first instruction; exit when it exits (`cpid` is its pid).
    #[arg(short = 'c', value_name = "CMD")]
    command: Option<String>,
    /// Exit when process PID exits.
    #[arg(short = 'p', value_name = "PID")]
    pid: Option<u32>,
    /// The longest string `str()` reads, NUL included (also BPFTRACE_MAX_STRLEN).
    #[arg(long, value_name = "N")]
    max_strlen: Option<u32>,
    /// Entries of each keyed map (also BPFTRACE_MAX_MAP_KEYS); updates of new keys beyond
    /// it are counted and reported.
    #[arg(long, value_name = "N")]
    max_map_keys: Option<u32>,
    /// Run the program's `test:` probes and report which pass (nothing is attached).
    #[arg(long)]
    test: bool,
    /// List the probes PATTERN matches (comma-separated, wildcards; all when none is
    /// given), or the probes of the program (-e or FILE), instead of running.
    #[arg(short = 'l', long = "list")]
    list: bool,
    /// Verbose: with -l, each probe's arguments and their types.
    #[arg(short = 'v')]
    verbose: bool,
    /// Print the kernel's tracing features as probed on this machine, and exit.
    #[arg(long)]
    info: bool,
    /// The ring buffer events travel through, in pages: a power of two (also
    /// BPFTRACE_PERF_RB_PAGES; default 256, 1 MiB with 4 KiB pages).
    #[arg(long, value_name = "N")]
    perf_rb_pages: Option<u32>,
    /// The most attach points a program may have (also BPFTRACE_MAX_PROBES; default
    /// 1024): more is an error before anything is attached.
    #[arg(long, value_name = "N")]
    max_probes: Option<u32>,
    /// Allow actions that change the system: `system()` and `signal()`.
    #[arg(long = "unsafe")]
    allow_unsafe: bool,
    /// Output format.
    #[arg(short = 'f', value_enum, value_name = "FORMAT", default_value = "text")]
    format: OutputFormat,
    /// Also write an SVG flame graph of the maps keyed by stacks, as printed at exit.
    #[arg(long, value_name = "FILE.svg")]
    flamegraph: Option<PathBuf>,
    /// Print a compilation stage instead of running.
    #[arg(long, value_enum, value_name = "STAGE")]
    dump: Option<Dump>,
    /// Write the BPF object that is loaded to FILE.
    #[arg(long, value_name = "FILE")]
    emit_elf: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.info {
        print!("{}", runtime::features::report());
        return ExitCode::SUCCESS;
    }
    let listed_file = cli
        .rest
        .first()
        .filter(|f| std::path::Path::new(f).is_file());
    if cli.list && cli.program.is_none() && listed_file.is_none() {
        let pattern = cli.rest.first().map_or("", String::as_str);
        return match list::patterns(pattern, cli.verbose, cli.pid) {
            Ok(()) => ExitCode::SUCCESS,
            Err(diags) => {
                eprint!("{}", diag::render("pattern", pattern, &diags));
                ExitCode::FAILURE
            }
        };
    }
    let (name, source) = match (&cli.program, cli.rest.first()) {
        (Some(p), _) => ("<program>".to_string(), p.clone()),
        (None, Some(f)) => {
            match scry::host::system::read_regular(std::path::Path::new(f), 16 << 20)
                .and_then(|b| String::from_utf8(b).map_err(|_| "it is not UTF-8 text".to_string()))
            {
                Ok(s) => (f.clone(), s),
                Err(e) => {
                    eprintln!("scry: cannot read {f}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (None, None) => {
            eprintln!("scry: no program given; use -e 'PROGRAM' or a FILE (see --help)");
            return ExitCode::from(2);
        }
    };
    // The stop signals are blocked before any thread starts, so every thread has them
    // blocked and the run's signalfd receives them.
    if let Err(e) = runtime::signals::stop_fd() {
        eprintln!("scry: {e}");
        return ExitCode::FAILURE;
    }
    match drive(&cli, &source) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(diags) => {
            eprint!("{}", diag::render(&name, &source, &diags));
            ExitCode::FAILURE
        }
    }
}

/// What compiling produced: a program to run, or nothing more to do (a dump, a
/// listing) with this exit status.
enum Compiled {
    Run(Box<scry::artifact::Artifact>),
    Done(i32),
}

/// Runs the pipeline; user-facing failures come back as diagnostics. The compiling
/// stages recurse over the program's nesting (bounded by `parser::MAX_DEPTH`) and run
/// on a thread with a stack sized for that, in debug builds too; the `-c` command and
/// the run stay on the main thread (the command's parent-death signal and ptrace hold
/// belong to the thread that forks it, and BEGIN runs where `tid` is scry's pid).
fn drive(cli: &Cli, source: &str) -> Result<i32, Vec<Diagnostic>> {
    let runs = !cli.list && cli.dump.is_none();
    // Without the privileges, the kernel's "Operation not permitted" and tracefs
    // looking empty would be all the user saw.
    if runs && let Some(missing) = scry::host::system::missing_capabilities() {
        return Err(vec![
            Diagnostic::global(
                "E0510",
                format!(
                    "tracing needs privileges this process lacks: {}",
                    missing.join(", ")
                ),
            )
            .with_help("run scry as root (e.g. with sudo), or grant it those capabilities"),
        ]);
    }
    // `-p`: the process must exist before anything is compiled or attached.
    if let Some(pid) = cli.pid
        && runs
        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
    {
        return Err(vec![
            Diagnostic::global("E0508", format!("there is no process {pid} to trace (-p)"))
                .with_help("give the pid of a running process, e.g. from `pgrep NAME`"),
        ]);
    }
    // The child exists (held before exec) before checking, so `cpid` is a constant.
    let child = match &cli.command {
        Some(cmd) if runs => Some(Child::spawn(cmd).map_err(|e| {
            vec![
                Diagnostic::global("E0501", format!("cannot run `{cmd}`: {e}"))
                    .with_help("check the command name and that it is executable"),
            ]
        })?),
        _ => None,
    };
    let cpid = child.as_ref().map(|c| c.pid());
    let compiled = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("scry-compile".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, || compile(cli, source, cpid))
            .map_err(|e| vec![Diagnostic::global("E0509", format!("cannot start: {e}"))])?
            .join()
            .unwrap_or_else(|_| panic!("internal compiler error: the compiler thread panicked"))
    })?;
    let artifact = match compiled {
        Compiled::Done(code) => return Ok(code),
        Compiled::Run(a) => a,
    };
    run(cli, source, &artifact, child)
}

/// The stack of the compiling thread: enough for the deepest nesting the parser
/// accepts, unoptimised (only the pages touched are used).
const STACK_BYTES: usize = 1 << 30;

/// Parse, check and lower `source` (`cpid`: the `-c` command's pid).
fn compile(cli: &Cli, source: &str, cpid: Option<u32>) -> Result<Compiled, Vec<Diagnostic>> {
    let program = parser::parse(source)?;
    if let Some(d) = ast::depth::too_deep(&program, parser::MAX_DEPTH) {
        // Dropping a tree that deep would recurse as deep: scry exits instead.
        std::mem::forget(program);
        return Err(vec![d]);
    }
    if cli.list {
        list::program(&program, cli.verbose, cli.pid)?;
        return Ok(Compiled::Done(0));
    }
    if cli.dump == Some(Dump::Ast) {
        print!("{}", ast::print::dump(&program));
        return Ok(Compiled::Done(0));
    }
    let max_strlen = max_strlen(cli.max_strlen)?;
    let max_map_keys = max_map_keys(cli.max_map_keys)?;
    let max_probes = max_probes(cli.max_probes)?;
    // Positional parameters: what follows the program (`--` may separate them).
    let mut params: &[String] = if cli.program.is_some() {
        &cli.rest
    } else {
        cli.rest.get(1..).unwrap_or(&[])
    };
    if params.first().is_some_and(|p| p == "--") {
        params = &params[1..];
    }
    let options = sema::Options {
        max_strlen,
        max_map_keys,
        params: params.to_vec(),
        allow_unsafe: cli.allow_unsafe,
        filter_pid: cli.pid,
        max_probes,
        cpid: cpid.or(cli.command.as_ref().map(|_| 0)),
        stack_mode: stack_mode()?,
    };
    let hir = sema::check(&program, &System::new().with_pid(cli.pid), &options)?;
    if !hir.warnings.is_empty() {
        let name = match (&cli.program, cli.rest.first()) {
            (None, Some(f)) => f.as_str(),
            _ => "<program>",
        };
        eprint!("{}", diag::render(name, source, &hir.warnings));
    }
    for note in &hir.notes {
        eprintln!("scry: note: {note}");
    }
    if cli.dump == Some(Dump::Hir) {
        print!("{}", sema::print::dump(&hir));
        return Ok(Compiled::Done(0));
    }
    let compiled = codegen::lower(&hir)?;
    let artifact = compiled.artifact();
    if let Some(path) = &cli.emit_elf {
        std::fs::write(path, &artifact.object).map_err(|e| {
            vec![Diagnostic::global(
                "E0502",
                format!("cannot write {}: {e}", path.display()),
            )]
        })?;
    }
    if cli.dump == Some(Dump::Insns) {
        print!("{}", listing::listing(&compiled.module, source));
        return Ok(Compiled::Done(0));
    }
    Ok(Compiled::Run(Box::new(artifact)))
}

/// Runs the compiled program.
fn run(
    cli: &Cli,
    source: &str,
    artifact: &scry::artifact::Artifact,
    child: Option<Child>,
) -> Result<i32, Vec<Diagnostic>> {
    let ring_pages = perf_rb_pages(cli.perf_rb_pages)?;
    let flamegraph = match &cli.flamegraph {
        Some(path) => Some(flame_graph_target(path, source, &artifact.manifest)?),
        None => None,
    };
    let options = runtime::RunOptions {
        flamegraph,
        ring_pages,
        child,
        pid: cli.pid,
        test: cli.test,
        // errorf()/warnf() locations name the program as bpftrace does.
        source: (
            cli.rest
                .first()
                .filter(|_| cli.program.is_none())
                .cloned()
                .unwrap_or_else(|| "stdin".to_string()),
            source.to_string(),
        ),
        read_sites: artifact
            .manifest
            .read_sites
            .iter()
            .map(|&s| site(source, s))
            .collect(),
    };
    let format = match cli.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
        OutputFormat::Folded => Format::Folded,
    };
    match runtime::run(artifact, options, format) {
        // A closed pipe is the reader's choice, not an error (`scry … | head -1`).
        Err(runtime::Error::OutputClosed) => Ok(0),
        r => r.map_err(|e| vec![runtime_diagnostic(e, &artifact.manifest)]),
    }
}

/// Where `--flamegraph` writes and what it titles the graph; the program must have a
/// map keyed by a stack (else E0512), and the file must be writable (E0513), both
/// checked before anything runs.
fn flame_graph_target(
    path: &std::path::Path,
    source: &str,
    manifest: &Manifest,
) -> Result<runtime::FlameGraph, Vec<Diagnostic>> {
    let stacked = manifest.maps.iter().any(|m| {
        m.keys.iter().any(|k| {
            matches!(
                k,
                scry::lang::ty::Ty::Rendered(scry::lang::render::Rendered::Stack { .. })
            )
        })
    });
    if !stacked {
        return Err(vec![
            Diagnostic::global(
                "E0512",
                "--flamegraph needs a map keyed by a stack, and this program has none",
            )
            .with_help(
                "count stacks in a map, e.g. `profile:hz:99 { @[kstack, ustack] = count(); }`",
            ),
        ]);
    }
    let file = std::fs::File::create(path).map_err(|e| {
        vec![
            Diagnostic::global("E0513", format!("cannot write {}: {e}", path.display()))
                .with_help("name a file in a directory you can write to"),
        ]
    })?;
    let one_line: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut subtitle: String = one_line.chars().take(160).collect();
    if subtitle.len() < one_line.len() {
        subtitle.push('…');
    }
    Ok(runtime::FlameGraph {
        file,
        path: path.to_path_buf(),
        subtitle,
    })
}

/// `-l PATTERN`: the matching probes, one a line. Only USDT probes are listed here so
/// far (`usdt:`/`U:` patterns).
/// The most entries a keyed map may be given (the kernel's hash maps take more, but
/// a per-CPU one costs its size on every CPU).
const MAX_MAX_MAP_KEYS: u32 = 1 << 24;

/// `--max-map-keys`, else `BPFTRACE_MAX_MAP_KEYS`, else bpftrace's default; checked.
fn max_map_keys(flag: Option<u32>) -> Result<u32, Vec<Diagnostic>> {
    let limit = Limit {
        flag: "--max-map-keys",
        env: "BPFTRACE_MAX_MAP_KEYS",
        code: "E0504",
        range: 1..=MAX_MAX_MAP_KEYS,
        default: sema::DEFAULT_MAX_MAP_KEYS,
    };
    limit.value(flag)
}

/// `--max-probes`, else `BPFTRACE_MAX_PROBES`, else bpftrace's default; checked.
fn max_probes(flag: Option<u32>) -> Result<u32, Vec<Diagnostic>> {
    let limit = Limit {
        flag: "--max-probes",
        env: "BPFTRACE_MAX_PROBES",
        code: "E0505",
        range: 1..=sema::MAX_MAX_PROBES,
        default: sema::DEFAULT_MAX_PROBES,
    };
    limit.value(flag)
}

/// The most pages `--perf-rb-pages` may give the ring buffer: 1 GiB with 4 KiB pages
/// (the kernel takes up to 2 GiB, allocated in one piece when it loads).
const MAX_PERF_RB_PAGES: u32 = 1 << 18;

/// `--perf-rb-pages`, else `BPFTRACE_PERF_RB_PAGES`, else none (the object's 1 MiB);
/// checked: the kernel takes only a power of two of pages.
fn perf_rb_pages(flag: Option<u32>) -> Result<Option<u32>, Vec<Diagnostic>> {
    let limit = Limit {
        flag: "--perf-rb-pages",
        env: "BPFTRACE_PERF_RB_PAGES",
        code: "E0506",
        range: 1..=MAX_PERF_RB_PAGES,
        default: DEFAULT_PERF_RB_PAGES,
    };
    if flag.is_none() && std::env::var_os(limit.env).is_none() {
        return Ok(None);
    }
    let pages = limit.value(flag)?;
    if !pages.is_power_of_two() {
        let from = if flag.is_some() {
            limit.flag
        } else {
            limit.env
        };
        return Err(vec![
            Diagnostic::global(
                "E0506",
                format!(
                    "{from} must be a power of two (the kernel's ring buffers are), not {pages}"
                ),
            )
            .with_help(format!(
                "use {} or {}",
                pages.next_power_of_two() / 2,
                pages.next_power_of_two()
            )),
        ]);
    }
    Ok(Some(pages))
}

/// The ring buffer's pages when nothing sets them: codegen's 1 MiB in 4 KiB pages.
const DEFAULT_PERF_RB_PAGES: u32 = 256;

/// A number the command line or the environment sets, checked against its range.
struct Limit {
    flag: &'static str,
    env: &'static str,
    code: &'static str,
    range: std::ops::RangeInclusive<u32>,
    default: u32,
}

impl Limit {
    /// The flag's value, else the environment variable's, else the default.
    fn value(&self, flag: Option<u32>) -> Result<u32, Vec<Diagnostic>> {
        let (value, from) = match flag {
            Some(n) => (n.to_string(), self.flag),
            None => match std::env::var(self.env) {
                Ok(v) => (v, self.env),
                Err(_) => return Ok(self.default),
            },
        };
        match value.trim().parse::<u32>() {
            Ok(n) if self.range.contains(&n) => Ok(n),
            _ => Err(vec![
                Diagnostic::global(
                    self.code,
                    format!(
                        "{from} must be a number from {} to {}, not `{value}`",
                        self.range.start(),
                        self.range.end()
                    ),
                )
                .with_help(format!("the default is {}", self.default)),
            ]),
        }
    }
}

/// The line of `span` in `source` and its text (its first line, shortened), for messages.
fn site(source: &str, span: diag::Span) -> (u32, String) {
    let start = (span.start as usize).min(source.len());
    let end = (span.end as usize).clamp(start, source.len());
    let line = source.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u32
        + 1;
    let text = String::from_utf8_lossy(&source.as_bytes()[start..end]);
    let first = text.lines().next().unwrap_or_default();
    let mut short: String = first.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    (line, short)
}

/// The stack mode of stacks whose mode the program does not name: `BPFTRACE_STACK_MODE`,
/// else `bpftrace`.
fn stack_mode() -> Result<StackMode, Vec<Diagnostic>> {
    let Ok(value) = std::env::var("BPFTRACE_STACK_MODE") else {
        return Ok(StackMode::Bpftrace);
    };
    StackMode::named(&value).ok_or_else(|| {
        vec![
            Diagnostic::global(
                "E0511",
                format!("BPFTRACE_STACK_MODE is `{value}`, which is not a stack mode"),
            )
            .with_help("set it to `bpftrace`, `perf` or `raw`, or unset it"),
        ]
    })
}

/// `--max-strlen`, else `BPFTRACE_MAX_STRLEN`, else the default; checked.
fn max_strlen(flag: Option<u32>) -> Result<u32, Vec<Diagnostic>> {
    let limit = Limit {
        flag: "--max-strlen",
        env: "BPFTRACE_MAX_STRLEN",
        code: "E0503",
        range: 2..=sema::MAX_MAX_STRLEN,
        default: sema::DEFAULT_MAX_STRLEN,
    };
    limit.value(flag)
}

/// A runtime failure as a diagnostic; a verifier rejection points at the source construct
/// of the failing instruction.
fn runtime_diagnostic(e: runtime::Error, manifest: &Manifest) -> Diagnostic {
    match &e {
        runtime::Error::Load { prog, insn, log } => {
            let info = manifest.programs.iter().find(|p| &p.name == prog);
            let span = info.and_then(|p| insn.and_then(|i| p.span_of(i)));
            // A loop the verifier could not bound: the user's to fix, at the loop.
            let unbounded = ["infinite loop", "too large", "too complex", "back-edge"]
                .iter()
                .any(|m| log.contains(m));
            if let Some(info) = info.filter(|i| unbounded && !i.loops.is_empty()) {
                let within =
                    |l: &&diag::Span| span.is_some_and(|s| l.start <= s.start && s.end <= l.end);
                let lp = info
                    .loops
                    .iter()
                    .filter(within)
                    .min_by_key(|l| l.end - l.start)
                    .unwrap_or(&info.loops[0]);
                return Diagnostic::error(
                    "E0410",
                    *lp,
                    "the kernel verifier cannot prove that this loop ends",
                )
                .with_label("unbounded loop")
                .with_help(
                    "loop over a range instead: `for ($i : 0..N) { ... }` runs in a bpf_loop callback, which the verifier checks once whatever N is",
                )
                .with_detail(log_tail(log));
            }
            if ["too large", "too complex"].iter().any(|m| log.contains(m)) {
                // Too many paths for the verifier's budget, with no loop to blame.
                return Diagnostic::global(
                    "E0411",
                    format!(
                        "program `{prog}` is too complex for the kernel verifier: it stops after \
                         processing 1,000,000 instructions (BPF_COMPLEXITY_LIMIT_INSNS)"
                    ),
                )
                .with_help(
                    "split the probe's work over several probes, or make fewer values decide \
                     branches (each combination of known values is a path the verifier walks)",
                )
                .with_detail(log_tail(log));
            }
            let d = Diagnostic::global(
                "E0600",
                format!("the kernel verifier rejected program `{prog}`"),
            )
            .with_help(
                "this is a scry bug unless the program reads memory it may not; please report it",
            )
            .with_detail(log_tail(log));
            match span {
                Some(s) => Diagnostic {
                    span: Some(s),
                    label: format!("instruction {} comes from here", insn.unwrap_or(0)),
                    ..d
                },
                None => d,
            }
        }
        runtime::Error::Attach { .. } => Diagnostic::global("E0601", e.to_string())
            .with_help("nothing stays attached: every probe attached before this one was detached"),
        runtime::Error::Open(_) => Diagnostic::global("E0602", e.to_string()).with_help(
            "nothing was attached; libbpf could not load scry's object: please report it with the program",
        ),
        runtime::Error::Map { help, .. } => {
            Diagnostic::global("E0603", e.to_string()).with_help(help.clone())
        }
        runtime::Error::RecordTooLarge { enough, .. } => {
            Diagnostic::global("E0604", e.to_string()).with_help(format!(
                "give the ring buffer at least {enough} pages with --perf-rb-pages, or print shorter strings (--max-strlen)"
            ))
        }
        runtime::Error::OpenFiles(_) => Diagnostic::global("E0605", e.to_string()).with_help(
            "raise the limit (`ulimit -n`, or LimitNOFILE= for a service), or use fewer probes (a wildcard shares one program)",
        ),
        runtime::Error::Output(_) => Diagnostic::global("E0606", e.to_string())
            .with_help("write the output somewhere that takes it (a file on a disk with room, a pipe that is read)"),
        runtime::Error::EventLoop(_) => Diagnostic::global("E0607", e.to_string())
            .with_help("the run stopped and everything was detached; please report it if it happens again"),
        runtime::Error::Run { .. } => Diagnostic::global("E0608", e.to_string())
            .with_help("BEGIN, END and test: probes run through BPF_PROG_TEST_RUN; please report it with the program"),
        runtime::Error::Process(_) => Diagnostic::global("E0609", e.to_string())
            .with_help("the -p process or the -c command must still run when scry starts watching it (pidfd_open)"),
        runtime::Error::Setup(_) => Diagnostic::global("E0610", e.to_string())
            .with_help("nothing was attached; please report it with the program"),
        runtime::Error::OutputClosed => Diagnostic::global("E0606", e.to_string())
            .with_help("whoever read the output stopped reading"),
    }
}

/// The end of a verifier log: the lines that say why it stopped.
fn log_tail(log: &str) -> String {
    const KEEP: usize = 30;
    let lines: Vec<&str> = log.trim_end().lines().collect();
    let skip = lines.len().saturating_sub(KEEP);
    let mut out = String::from("verifier log");
    if skip > 0 {
        out.push_str(&format!(" (last {KEEP} of {} lines)", lines.len()));
    }
    out.push_str(":\n");
    out.push_str(&lines[skip..].join("\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_too_complex_without_loops_names_the_kernel_limit() {
        let log = "0: (b7) r0 = 0\nBPF program is too large. Processed 1000001 insn\n\
                   processed 1000001 insns (limit 1000000) max_states_per_insn 4\n";
        let e = runtime::Error::Load {
            prog: "p0_tp".into(),
            insn: None,
            log: log.into(),
        };
        let d = runtime_diagnostic(e, &Manifest::default());
        assert_eq!(d.code, "E0411");
        assert!(
            d.message.contains("1,000,000 instructions"),
            "{}",
            d.message
        );
    }
}
