//! Loads the object, attaches probes, streams events, prints maps. The only place that
//! touches the kernel.
//!
//! In: the ELF bytes, the `Module` they came from and its `Meta`. Out: text on stdout
//! (`printf` events while running, maps at exit) and an exit code. Order at exit follows
//! the measured costs: END runs and maps are printed *before* detaching, because
//! detaching classic tracepoints takes ~75 ms each.

mod actions;
pub mod attach;
pub mod child;
pub mod events;
pub mod features;
mod limits;
pub mod maps;
pub mod render;
pub mod signals;
pub mod symbols;

use std::io;
use std::os::fd::AsRawFd;

use libbpf_rs::{Link, MapCore, ObjectBuilder, ProgramMut};

use crate::artifact::Artifact;
use crate::host::system;
use crate::output::{Format, Output};
use crate::probe::{RunAt, Target};
use child::Child;

/// How the run ends besides signals and `exit()`.
#[derive(Default)]
pub struct RunOptions {
    /// The `-c` command, held before exec until probes are attached.
    pub child: Option<Child>,
    /// `-p`: stop when this process exits.
    pub pid: Option<u32>,
    /// `--test`: run the `test:` probes and nothing else.
    pub test: bool,
    /// For each of the manifest's read sites: its line and source text, to say where
    /// reads failed (empty: say only how many).
    pub read_sites: Vec<(u32, String)>,
    /// `--perf-rb-pages`: the ring buffer's size in pages (`None`: the object's, 1 MiB).
    pub ring_pages: Option<u32>,
    /// The program's name for `errorf()`/`warnf()` locations (`stdin` for `-e`) and its
    /// text.
    pub source: (String, String),
    /// `--flamegraph`: where the flame graph of the maps printed at exit goes.
    pub flamegraph: Option<FlameGraph>,
}

/// Where `--flamegraph` writes, and the graph's subtitle (the program).
#[derive(Debug)]
pub struct FlameGraph {
    /// The SVG file, created (empty) before the run.
    pub file: std::fs::File,
    /// Its path, to remove it when the run fails.
    pub path: std::path::PathBuf,
    /// Shown under the title.
    pub subtitle: String,
}

/// A failure at run time: one variant per meaning, each with its own diagnostic code
/// (the driver maps them; docs/diagnostics.md lists them).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libbpf could not open the object, or load it for a reason that is neither the
    /// verifier's nor a map's (E0602).
    #[error("cannot load the BPF object: {0}")]
    Open(String),
    /// The verifier rejected a program (E0600, E0410, E0411).
    #[error("the kernel rejected program `{prog}`")]
    Load {
        /// Program name.
        prog: String,
        /// Index of the failing instruction, from the log.
        insn: Option<usize>,
        /// The verifier log.
        log: String,
    },
    /// A probe could not be attached; everything attached before it was detached
    /// (E0601).
    #[error("cannot attach {probe}: {reason}")]
    Attach {
        /// Probe name.
        probe: String,
        /// Why, with the kernel's reason.
        reason: String,
    },
    /// A map the kernel cannot create: known before loading, or refused when libbpf
    /// created it (E0603).
    #[error("cannot create {map}: it needs {needs}; {reason}")]
    Map {
        /// The map as the program names it (`@m`), or which of scry's own it is.
        map: String,
        /// Its size, as entries × bytes.
        needs: String,
        /// The kernel's limit or its refusal.
        reason: String,
        /// How to make it smaller.
        help: String,
    },
    /// An event record larger than the ring buffer can ever hold (E0604).
    #[error(
        "an event record of {record} bytes (8 more with its header) never fits in the ring buffer of {pages} page(s) ({bytes} bytes): every such event would be lost"
    )]
    RecordTooLarge {
        /// The largest record a program reserves.
        record: u32,
        /// The ring buffer's pages.
        pages: u32,
        /// Its bytes.
        bytes: u64,
        /// The fewest pages that hold the record.
        enough: u32,
    },
    /// The run needs more open files than the process may have (E0605).
    #[error("{0}")]
    OpenFiles(String),
    /// Writing the output failed for a reason other than a closed pipe (E0606).
    #[error("writing the output failed: {0}")]
    Output(String),
    /// Waiting for what ends the run or reading events failed: the signalfd, `poll`,
    /// the ring buffer (E0607).
    #[error("{0}")]
    EventLoop(String),
    /// BEGIN, END or a `test:` probe could not be run (E0608).
    #[error("cannot run {probe}: {reason}")]
    Run {
        /// Which.
        probe: String,
        /// Why.
        reason: String,
    },
    /// The `-p` process or the `-c` command cannot be watched (E0609).
    #[error("{0}")]
    Process(String),
    /// The loaded maps could not be prepared before attaching: the start time, the
    /// probe names (E0610).
    #[error("{0}")]
    Setup(String),
    /// Whoever read scry's output stopped reading (`scry … | head -1`): scry ends
    /// quietly, everything detached.
    #[error("the output was closed")]
    OutputClosed,
}

/// libbpf's messages while an object loads.
mod libbpf_log {
    use std::sync::Mutex;

    static MESSAGES: Mutex<String> = Mutex::new(String::new());

    /// Held while an object loads (the print hook is the process's).
    pub static LOADING: Mutex<()> = Mutex::new(());

    fn keep(_: libbpf_rs::PrintLevel, msg: String) {
        if let Ok(mut m) = MESSAGES.lock() {
            // Bounded: a log is at most libbpf's buffer; keep the first 32 MiB.
            if m.len() < 32 << 20 {
                m.push_str(&msg);
            }
        }
    }

    /// Starts keeping libbpf's warnings.
    pub fn capture() {
        if let Ok(mut m) = MESSAGES.lock() {
            m.clear();
        }
        libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Warn, keep)));
    }

    /// Stops keeping them (libbpf prints nothing afterwards); returns what was kept.
    pub fn stop() -> String {
        libbpf_rs::set_print(None);
        MESSAGES
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }

    /// The program and verifier log libbpf printed for a failed load:
    /// `prog 'NAME': -- BEGIN PROG LOAD LOG --\n…-- END PROG LOAD LOG --`.
    pub fn verifier_log(messages: &str) -> Option<(String, String)> {
        const BEGIN: &str = "': -- BEGIN PROG LOAD LOG --\n";
        let at = messages.find(BEGIN)?;
        let name_start = messages[..at].rfind("prog '")? + "prog '".len();
        let name = messages[name_start..at].to_string();
        let rest = &messages[at + BEGIN.len()..];
        let end = rest.find("-- END PROG LOAD LOG --").unwrap_or(rest.len());
        Some((name, rest[..end].to_string()))
    }
}

/// How often, in milliseconds, the event loop reads the ring buffer when no wakeup came:
/// the longest a record waits below the buffer's wakeup mark (an eighth full).
const POLL_MS: i32 = 10;

/// Runs the program, printing to stdout (warnings to stderr) in `format`.
pub fn run(artifact: &Artifact, mut opts: RunOptions, format: Format) -> Result<i32, Error> {
    let stdout = signals::Stdout::new().map_err(|e| Error::Output(e.to_string()))?;
    let mut out = io::BufWriter::with_capacity(64 << 10, stdout);
    let mut err = io::stderr();
    let mut output = crate::output::new(format, &mut out, &mut err);
    let Some(flame) = opts.flamegraph.take() else {
        let r = run_with_output(artifact, opts, output.as_mut());
        let _ = output.flush();
        return r;
    };
    let mut recorder = crate::output::folded::Recorder::new(output.as_mut());
    let r = run_with_output(artifact, opts, &mut recorder);
    let lines = std::mem::take(&mut recorder.lines);
    drop(recorder);
    let _ = output.flush();
    let code = r.inspect_err(|_| {
        let _ = std::fs::remove_file(&flame.path);
    })?;
    let mut svg = io::BufWriter::new(flame.file);
    crate::output::folded::flame_graph(&lines, &flame.subtitle, &mut svg)
        .and_then(|()| io::Write::flush(&mut svg))
        .map_err(|e| Error::Output(format!("writing the flame graph: {e}")))?;
    Ok(code)
}

/// Runs the program, rendering what happens through `out`.
pub fn run_with_output(
    artifact: &Artifact,
    mut opts: RunOptions,
    out: &mut dyn Output,
) -> Result<i32, Error> {
    let (object, meta) = (&artifact.object[..], &artifact.manifest);
    // From here on a stop signal waits for the event loop, which ends the run cleanly.
    signals::stop_fd().map_err(|e| Error::EventLoop(format!("the signalfd: {e}")))?;
    // The -p process is watched before anything is loaded: it may exit any time, even
    // before the probes are attached, and the run then ends as usual.
    let pid_fd = match opts.pid {
        Some(pid) => Some(
            child::pidfd(pid)
                .map_err(|e| Error::Process(format!("cannot watch pid {pid}: {e}")))?,
        ),
        None => None,
    };
    limits::open_files(meta)?;
    let ring_bytes = limits::ring_buffer(meta, opts.ring_pages)?;
    limits::maps(meta)?;
    // libbpf's messages are kept, not printed: when a load fails, libbpf retries the
    // program with a verifier log of its own (allocated only then) and prints it, and
    // the diagnostic shows it mapped to the source.
    // libbpf's print hook is one for the process: loads take turns.
    let turn = libbpf_log::LOADING
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    libbpf_log::capture();
    let mut builder = ObjectBuilder::default();
    let mut open = builder.open_memory(object).map_err(|e| {
        libbpf_log::stop();
        Error::Open(e.to_string())
    })?;
    if let (Some(rb), Some(bytes)) = (meta.ringbuf, ring_bytes) {
        let name = &meta.bpf_maps[rb].name;
        let resized = open
            .maps_mut()
            .find(|m| m.name().to_string_lossy() == name.as_str())
            .map(|mut m| m.set_max_entries(bytes));
        if let Some(Err(e)) = resized {
            libbpf_log::stop();
            return Err(Error::Open(format!("sizing the ring buffer: {e}")));
        }
    }
    let loaded = open.load();
    let messages = libbpf_log::stop();
    drop(turn);
    let obj = match loaded {
        Ok(o) => o,
        Err(e) => {
            // Each program and map is a file descriptor.
            if e.to_string().contains("Too many open files")
                || messages.contains("Too many open files")
            {
                let limit = std::fs::read_to_string("/proc/self/limits")
                    .ok()
                    .and_then(|l| {
                        l.lines()
                            .find(|l| l.starts_with("Max open files"))
                            .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
                    })
                    .unwrap_or_else(|| "?".into());
                return Err(Error::OpenFiles(format!(
                    "loading {} programs and {} maps needs more file descriptors than scry may open ({limit}): use fewer probes (a wildcard shares one program), or raise the limit (`ulimit -n`)",
                    meta.programs.len(),
                    meta.bpf_maps.len()
                )));
            }
            if let Some(refused) = limits::refused_map(meta, &messages, ring_bytes) {
                return Err(refused);
            }
            return Err(match libbpf_log::verifier_log(&messages) {
                Some((name, log)) => Error::Load {
                    prog: name,
                    insn: failing_insn(&log),
                    log,
                },
                None => Error::Open(format!("loading failed: {e}")),
            });
        }
    };
    let progs: Vec<ProgramMut<'_>> = obj.progs_mut().collect();
    let prog_of = |i: usize| {
        let name = &meta.programs[i].name;
        progs
            .iter()
            .find(|p| p.name().to_string_lossy() == name.as_str())
    };
    let maps: Vec<_> = obj.maps().collect();
    let map_of = |i: usize| {
        maps.iter()
            .find(|m| m.name().to_string_lossy() == meta.bpf_maps[i].name.as_str())
    };

    if meta
        .probes
        .iter()
        .any(|p| matches!(p.target, Target::Tracepoint { .. }))
    {
        // libbpf finds tracepoint ids through tracefs.
        system::ensure_mounted();
    }
    // `elapsed` counts from here, before anything runs.
    if let Some(m) = meta.start_map.and_then(map_of) {
        m.update(
            &0u32.to_le_bytes(),
            &mono_ns().to_le_bytes(),
            libbpf_rs::MapFlags::ANY,
        )
        .map_err(|e| Error::Setup(format!("setting the start time: {e}")))?;
    }
    // With -p or -c, uprobes and per-process perf events follow that process (as
    // bpftrace does).
    let env = attach::Env {
        pid: opts.pid.or(opts.child.as_ref().map(|c| c.pid())),
        tables: meta.tables.iter().map(|&m| map_of(m)).collect(),
    };
    // Shared programs find their points' names here, by cookie.
    for (map, values) in &meta.point_names {
        let m = map_of(*map).unwrap_or_else(|| {
            panic!("internal compiler error: the probe names map is missing from the object")
        });
        for (i, v) in values.iter().enumerate() {
            m.update(&(i as u32).to_le_bytes(), v, libbpf_rs::MapFlags::ANY)
                .map_err(|e| Error::Setup(format!("writing probe names: {e}")))?;
        }
    }
    // Attach everything; on failure the links attached so far drop, detaching them.
    let mut links: Vec<Link> = Vec::new();
    let mut begin = Vec::new();
    let mut end = Vec::new();
    let mut tests = Vec::new();
    let mut attached = vec![false; meta.probes.len()];
    // The kernel runs the programs on one uprobe newest first: uprobes attach last to
    // first, so that programs on one point run in source order, as elsewhere.
    let is_uprobe = |p: &crate::artifact::ProbeAttach| matches!(p.target, Target::Uprobe { .. });
    let order: Vec<usize> = (0..meta.probes.len())
        .filter(|&i| !is_uprobe(&meta.probes[i]))
        .chain(
            (0..meta.probes.len())
                .rev()
                .filter(|&i| is_uprobe(&meta.probes[i])),
        )
        .collect();
    for i in order {
        let p = &meta.probes[i];
        if attached[i] {
            continue;
        }
        // Ctrl-C while attaching thousands of probes: stop attaching; the event loop
        // then ends the run as usual.
        if signals::stop_requested() {
            break;
        }
        let prog = prog_of(p.prog).unwrap_or_else(|| {
            panic!(
                "internal compiler error: the program for {} is missing from the object",
                p.display
            )
        });
        if opts.test {
            // Test mode runs the tests only.
            if p.target == Target::TestRun(RunAt::Test) {
                tests.push((prog, p.display.clone()));
            }
            continue;
        }
        // A program loaded for kprobe_multi links: one link for all its functions.
        if meta.programs[p.prog].multi
            && let Target::Kprobe { ret, .. } = &p.target
        {
            let mut funcs = Vec::new();
            for (j, q) in meta.probes.iter().enumerate() {
                if let Target::Kprobe { func, .. } = &q.target
                    && q.prog == p.prog
                {
                    funcs.push((func.clone(), q.cookie));
                    attached[j] = true;
                }
            }
            let link = attach::kprobe::attach_multi(prog, &funcs, *ret).map_err(|reason| {
                Error::Attach {
                    probe: p.display.clone(),
                    reason,
                }
            })?;
            links.push(link);
            continue;
        }
        // A program loaded for uprobe_multi links: one link per binary.
        if meta.programs[p.prog].multi
            && let Some(group) = attach::uprobe_group(&meta.probes, i)
        {
            let pid = env.pid.map_or(-1, |p| p as i32);
            let link =
                attach::uprobe::attach_multi(prog, &group.path, &group.points, group.ret, pid)
                    .map_err(|reason| Error::Attach {
                        probe: p.display.clone(),
                        reason,
                    })?;
            links.push(link);
            for j in group.members {
                attached[j] = true;
            }
            continue;
        }
        match attach::attach(prog, &p.target, &env, p.cookie) {
            Ok(attach::Attached::Links(l)) => links.extend(l),
            Ok(attach::Attached::Run(RunAt::Begin)) => begin.push(prog),
            Ok(attach::Attached::Run(RunAt::End)) => end.push(prog),
            // `test:` probes run in test mode only.
            Ok(attach::Attached::Run(RunAt::Test)) | Ok(attach::Attached::Installed) => {}
            Err(reason) => {
                return Err(Error::Attach {
                    probe: p.display.clone(),
                    reason,
                });
            }
        }
    }

    let queue = events::Queue::default();
    let facts = std::rc::Rc::new(render::Machine::new());
    for &(depth, i) in &meta.stack_tables {
        let map = map_of(i).expect("every stack table is loaded");
        let handle = libbpf_rs::MapHandle::try_from(map)
            .map_err(|e| Error::Setup(format!("the stack table of depth {depth}: {e}")))?;
        facts.symbols.add_stack_table(depth, handle);
    }
    let mut decoder =
        events::Decoder::new(meta, facts.clone()).with_source(&opts.source.0, &opts.source.1);
    let mut live = Live {
        meta,
        facts: facts.clone(),
        handles: (0..meta.bpf_maps.len())
            .map(|i| map_of(i).map(|m| m as &dyn MapCore))
            .collect(),
    };
    let ringbuf = match meta.ringbuf.and_then(map_of) {
        Some(map) => Some(events::ring_buffer(map, &queue)?),
        None => None,
    };
    if opts.test {
        return run_tests(
            &tests,
            ringbuf.as_ref(),
            &queue,
            &mut decoder,
            &mut live,
            out,
        );
    }
    let exit_flag = meta.exit_map.and_then(map_of);
    // Dispatchers are scry's own; `test:` probes run in test mode only.
    let n = meta
        .probes
        .iter()
        .filter(|p| !p.internal && p.target != Target::TestRun(RunAt::Test))
        .count();
    out.attached(n).map_err(io_err)?;

    let signals = signals::stop_fd().map_err(|e| Error::EventLoop(format!("the signalfd: {e}")))?;
    for prog in &begin {
        attach::test_run::run_once(prog).map_err(|reason| Error::Run {
            probe: "BEGIN".into(),
            reason,
        })?;
    }
    let child_fd = match opts.child.as_mut() {
        Some(c) => {
            let fd = child::pidfd(c.pid())
                .map_err(|e| Error::Process(format!("watching the command: {e}")))?;
            c.release();
            Some(fd)
        }
        None => None,
    };

    // Event loop.
    loop {
        if let Some(rb) = &ringbuf {
            rb.consume()
                .map_err(|e| Error::EventLoop(format!("reading events: {e}")))?;
        }
        let flow = decoder
            .drain(&queue, out, &mut live, true)
            .map_err(io_err)?;
        out.flush().map_err(io_err)?;
        // `exit()` also raises a flag in a map, in case its event found the ring
        // buffer full.
        if flow == events::Flow::Exit || exit_flag.is_some_and(|m| maps::flag_set(m)) {
            break;
        }
        // Only BEGIN and END (nothing attached, no process to wait for): done after
        // BEGIN, as bpftrace's newest is.
        if links.is_empty() && child_fd.is_none() && pid_fd.is_none() {
            break;
        }
        let mut fds = vec![libc::pollfd {
            fd: signals,
            events: libc::POLLIN,
            revents: 0,
        }];
        for fd in child_fd.iter().chain(pid_fd.iter()) {
            fds.push(libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if let Some(rb) = &ringbuf {
            fds.push(libc::pollfd {
                fd: rb.epoll_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // Records below the buffer's wakeup mark wake nobody: with a ring buffer the loop
        // also looks every POLL_MS.
        let timeout = if ringbuf.is_some() { POLL_MS } else { -1 };
        // SAFETY: fds is a valid array of pollfd structures.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return Err(Error::EventLoop(format!(
                "poll: {}",
                io::Error::last_os_error()
            )));
        }
        let stop = fds[..fds.len() - ringbuf.is_some() as usize]
            .iter()
            .any(|f| f.revents != 0);
        if stop {
            if let Some(c) = opts.child.as_mut() {
                let _ = c.try_reap();
            }
            break;
        }
    }

    // END, then the last events and the maps while the probes detach (the kernel takes
    // a grace period or more per uprobe: as long as printing the maps, or longer).
    for prog in &end {
        attach::test_run::run_once(prog).map_err(|reason| Error::Run {
            probe: "END".into(),
            reason,
        })?;
    }
    let detaching = Detaching(Some(std::thread::spawn(move || detach(links))));
    if let Some(rb) = &ringbuf {
        rb.consume()
            .map_err(|e| Error::EventLoop(format!("reading events: {e}")))?;
    }
    decoder
        .drain(&queue, out, &mut live, false)
        .map_err(io_err)?;
    out.exiting().map_err(io_err)?;
    facts.symbols.read_stack_tables();
    let mut metas: Vec<_> = meta.maps.iter().collect();
    metas.sort_by(|a, b| a.name.cmp(&b.name));
    for m in metas {
        let Some(map) = map_of(m.bpf_map) else {
            continue;
        };
        let snap = maps::snapshot(
            map as &dyn MapCore,
            m,
            meta.bpf_maps[m.bpf_map].kind.is_percpu(),
            &*facts,
        );
        if !snap.entries.is_empty() {
            out.map(&snap).map_err(io_err)?;
        }
    }
    let lost = meta
        .lost_map
        .and_then(map_of)
        .map_or(0, |m| maps::sum_u64(m))
        + decoder.malformed();
    if lost > 0 {
        out.lost_events(lost).map_err(io_err)?;
    }
    let forgotten = facts.symbols.forgotten();
    if forgotten > 0 {
        out.processes_forgotten(forgotten, symbols::MAX_PROCESSES)
            .map_err(io_err)?;
    }
    if let Some(m) = meta.update_errors.and_then(map_of) {
        // In name order, as the maps print.
        let mut users: Vec<_> = meta.maps.iter().enumerate().collect();
        users.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        for (i, user) in users {
            let count = maps::sum_u64_at(m, i as u32);
            if count > 0 {
                let capacity = meta.bpf_maps[user.bpf_map].max_entries;
                out.map_full(&user.name, capacity, count).map_err(io_err)?;
            }
        }
    }
    if let Some(m) = meta.read_errors.and_then(map_of) {
        for i in 0..meta.read_sites.len() {
            let count = maps::sum_u64_at(m, i as u32);
            if count > 0 {
                let (line, expr) = opts.read_sites.get(i).cloned().unwrap_or_default();
                let kind = if meta.loop_sites.contains(&meta.read_sites[i]) {
                    crate::output::Failure::LongRange
                } else if meta.stack_sites.contains(&meta.read_sites[i]) {
                    crate::output::Failure::Stack
                } else {
                    crate::output::Failure::Read
                };
                let f = crate::output::ReadFailures {
                    kind,
                    line,
                    expr: &expr,
                    count,
                };
                out.read_failures(&f).map_err(io_err)?;
            }
        }
    }
    out.flush().map_err(io_err)?;
    drop(ringbuf);
    drop(detaching);
    // `exit(code)` left `0x100 | code` in the flag.
    Ok(exit_flag.map_or(0, |m| (maps::flag_word(m) & 0xff) as i32))
}

/// Runs each `test:` probe once, in order; a test passes when it returns 0. Its output
/// is shown only when it fails. The exit status is 1 when any test failed.
fn run_tests(
    tests: &[(&ProgramMut<'_>, String)],
    ringbuf: Option<&libbpf_rs::RingBuffer<'_>>,
    queue: &events::Queue,
    decoder: &mut events::Decoder,
    live: &mut Live<'_>,
    out: &mut dyn Output,
) -> Result<i32, Error> {
    let names: Vec<String> = tests.iter().map(|(_, n)| n.clone()).collect();
    let mut passed = Vec::new();
    for (index, (prog, name)) in tests.iter().enumerate() {
        let start = std::time::Instant::now();
        let retval = attach::test_run::run_once(prog).map_err(|reason| Error::Run {
            probe: name.clone(),
            reason,
        })?;
        let duration = start.elapsed();
        if let Some(rb) = ringbuf {
            rb.consume()
                .map_err(|e| Error::EventLoop(format!("reading events: {e}")))?;
        }
        let mut capture = crate::output::Capture::default();
        decoder
            .drain(queue, &mut capture, live, false)
            .map_err(io_err)?;
        passed.push(retval == 0);
        out.test_result(&crate::output::TestResult {
            names: &names,
            index,
            duration,
            passed: &passed,
            output: &capture.0,
        })
        .map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    Ok(if passed.iter().all(|&p| p) { 0 } else { 1 })
}

/// `CLOCK_MONOTONIC` in nanoseconds, the clock of `bpf_ktime_get_ns`.
fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The loaded maps, for the map actions events ask for while the program runs.
struct Live<'a> {
    meta: &'a crate::artifact::Manifest,
    /// By index into the manifest's BPF maps.
    handles: Vec<Option<&'a dyn MapCore>>,
    /// For the values rendered in userspace.
    facts: std::rc::Rc<render::Machine>,
}

impl events::MapActions for Live<'_> {
    fn act(
        &mut self,
        map: usize,
        action: crate::lang::agg::MapAction,
        out: &mut dyn Output,
    ) -> io::Result<()> {
        use crate::lang::agg::MapAction;
        let Some(m) = self.meta.maps.get(map) else {
            return Ok(());
        };
        let Some(handle) = self.handles.get(m.bpf_map).copied().flatten() else {
            return Ok(());
        };
        let kind = self.meta.bpf_maps[m.bpf_map].kind;
        match action {
            MapAction::Print { top, div } => {
                let snap =
                    maps::snapshot(handle, m, kind.is_percpu(), &*self.facts).top_div(top, div);
                out.map_now(&snap)
            }
            MapAction::Clear => {
                maps::clear(handle, kind);
                Ok(())
            }
            MapAction::Zero => {
                maps::zero(handle, kind);
                Ok(())
            }
        }
    }
}

/// Detaches every link. Each classic-tracepoint detach waits for an RCU grace period in
/// the kernel (~75 ms here); dropping links from several threads lets those waits overlap.
/// Probes being detached on a thread of their own; dropping it waits until they are all
/// gone (on every way out of the run).
struct Detaching(Option<std::thread::JoinHandle<()>>);

impl Drop for Detaching {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.join();
        }
    }
}

fn detach(links: Vec<Link>) {
    const THREADS: usize = 8;
    if links.len() < 4 {
        return drop(links);
    }
    let per = links.len().div_ceil(THREADS);
    let mut links = links;
    std::thread::scope(|s| {
        while !links.is_empty() {
            let batch: Vec<Link> = links.drain(..per.min(links.len())).collect();
            s.spawn(move || drop(batch));
        }
    });
}

fn io_err(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return Error::OutputClosed;
    }
    Error::Output(e.to_string())
}

/// The index of the instruction the verifier stopped at: the last `N: (..)` line.
fn failing_insn(log: &str) -> Option<usize> {
    log.lines().rev().find_map(|l| {
        let (num, rest) = l.split_once(": (")?;
        let _ = rest;
        num.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_failing_instruction() {
        let log = "0: R1=ctx() R10=fp0\n0: (b7) r1 = 0\n1: (85) call bpf_map_lookup_elem#1\nR1 type=scalar expected=map_ptr\nprocessed 2 insns";
        assert_eq!(super::failing_insn(log), Some(1));
    }
}
