#!/usr/bin/env python3
"""scry vs bpftrace, measured alternately on this machine (stdlib only).

Sections (issue #3), chosen with --only: startup (`BEGIN { exit(); }` wall time and peak
RSS), attach (launch to probes attached, command end to tracer gone), overhead (added
cost per traced event, stacks included), printf (throughput and drops), stacks (a map
of 10,000 distinct user stacks symbolized and printed at exit: time, peak RSS, stacks
printed), size (binaries), xlated (instructions the kernel holds per program). Run through bench/run.sh, which builds the
release binaries first; `--smoke` runs everything once with tiny sizes (CI).

How it measures:
- Placement. With CPUs 0 and 1 available, the harness moves itself to CPU 0 at
  SCHED_FIFO while it measures, so every tracer it starts runs there at that priority;
  every workload, traced or not, moves itself to CPU 1 at SCHED_FIFO before it starts its
  work (SCRY_WORKLOAD_CPU and SCRY_WORKLOAD_FIFO, see examples/workload.rs; they pass
  through a tracer's `-c` and keep the command's pid, so `cpid` stays right). Tracer
  and workload never share a CPU, and nothing else on the machine (a compiler) preempts
  either. With fewer than two CPUs nothing is pinned or raised, and a row says so.
- Repetitions. Every timed figure is measured `--reps` times (15 by default; at most 3 for
  the sys_enter_* wildcard, whose teardown costs bpftrace ~26 s a run). Within a
  repetition the tools run one after the other, in an order that rotates from one
  repetition to the next, so drifts of the machine hit them alike. The table gives min,
  median and max of the runs.
- Per-event cost = (traced workload time - untraced workload time) / N, once per
  traced run: every traced run sits between two untraced runs of the same workload, and
  the faster of those two is its baseline (on a shared VM the cost of a syscall drifts
  over seconds, and neighbours in time share most of the drift; interruptions only add
  time). The `untraced` rows summarise every untraced run, which shows that drift.
- Workload times are the workload's own (`elapsed_ns`, around its loop only); launch and
  exit times are taken against the CLOCK_MONOTONIC instants it prints.
"""
import argparse
import collections
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRY = os.path.join(ROOT, "target/release/scry")
WORKLOAD = os.path.join(ROOT, "target/release/examples/workload")
BPFTRACE = shutil.which("bpftrace")

SECTIONS = ("startup", "attach", "overhead", "printf", "stacks", "size", "xlated")
TRACER_CPU, WORKLOAD_CPU = 0, 1
FIFO_PRIORITY = 50


class Placement:
    """Where the measured processes run, decided once for the whole run.

    `apply()` puts the harness (and so every tracer it starts) on TRACER_CPU at
    SCHED_FIFO; `env` is the environment that makes a workload move itself to
    WORKLOAD_CPU at SCHED_FIFO; `describe()` is the table's row about it.
    """

    def __init__(self):
        allowed = os.sched_getaffinity(0)
        self.pinned = {TRACER_CPU, WORKLOAD_CPU} <= allowed
        self.fifo = False
        usable = ",".join(str(c) for c in sorted(allowed))
        self.why = "" if self.pinned else f"needs CPUs {TRACER_CPU} and {WORKLOAD_CPU}, usable: {usable}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SCRY_WORKLOAD_")}

    def apply(self):
        if not self.pinned:
            return
        os.sched_setaffinity(0, {TRACER_CPU})
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(FIFO_PRIORITY))
            self.fifo = True
        except OSError as e:
            self.why = f"SCHED_FIFO refused: {e.strerror}"
        self.env["SCRY_WORKLOAD_CPU"] = str(WORKLOAD_CPU)
        if self.fifo:
            self.env["SCRY_WORKLOAD_FIFO"] = str(FIFO_PRIORITY)

    def describe(self):
        if not self.pinned:
            return f"placement: not pinned, normal priority ({self.why})"
        prio = f"SCHED_FIFO {FIFO_PRIORITY}" if self.fifo else f"normal priority ({self.why})"
        return f"placement: workload on CPU {WORKLOAD_CPU}, tracer on CPU {TRACER_CPU}, both {prio}"


PLACEMENT = Placement()


# bpf_prog_type values of programs that run on kernel or user events: kprobe, tracepoint,
# perf_event, raw_tracepoint, raw_tracepoint_writable, tracing.
TRACING_PROG_TYPES = {2, 5, 7, 17, 24, 26}


def bpf_holders():
    """{pid: comm} of the other processes holding tracing BPF programs open (from the
    prog_type of their anon_inode:bpf-prog fds; cgroup or network programs don't count)."""
    holders = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") != "anon_inode:bpf-prog":
                    continue
                with open(f"/proc/{entry}/fdinfo/{fd}") as f:
                    m = re.search(r"^prog_type:\s*(\d+)", f.read(), re.M)
                if m and int(m.group(1)) in TRACING_PROG_TYPES:
                    with open(f"/proc/{entry}/comm") as f:
                        holders[int(entry)] = f.read().strip()
                    break
        except OSError:
            continue
    return holders


class Interference:
    """Other tracers on the machine: their probes may fire in the workload (a test suite
    running bpftrace on sys_enter_getpid would add its cost to ours).

    `guard(measure)` runs one measurement when no other process holds tracing BPF
    programs: it waits for that, up to `patience` seconds, checks again after the
    measurement, and repeats a measurement that overlapped another tracer (`tries` runs
    at most). Whatever was measured anyway is counted, and `rows()` reports it. A process
    that held programs through a whole wait is long-lived (a monitoring agent): it is
    no longer waited for, and reported.
    """

    def __init__(self):
        self.patience = 0.0
        self.tries = 3
        self.runs = 0
        self.retried = 0
        self.disturbed = 0
        self.waited = 0.0
        self.names = set()
        self.long_lived = {}

    def others(self):
        return {pid: comm for pid, comm in bpf_holders().items() if pid not in self.long_lived}

    def quiet(self):
        """Waits until no other process holds tracing BPF programs; False if it gave up."""
        t0 = time.monotonic()
        first = self.others()
        others = first
        while others and time.monotonic() - t0 < self.patience:
            time.sleep(0.5)
            others = self.others()
        self.waited += time.monotonic() - t0
        if not others:
            return True
        self.names |= set(others.values())
        if self.patience > 0:
            self.long_lived.update({pid: comm for pid, comm in others.items() if pid in first})
        return False

    def guard(self, measure):
        self.runs += 1
        for attempt in range(self.tries):
            before = self.quiet()
            result = measure()
            after = self.others()
            if before and not after:
                return result
            self.names |= set(after.values())
            if attempt + 1 < self.tries:
                self.retried += 1
        self.disturbed += 1
        return result

    def rows(self):
        rows = []
        if self.disturbed:
            rows.append(row("-", f"warning: {self.disturbed} of {self.runs} runs overlapped other processes "
                                 f"holding tracing BPF programs ({', '.join(sorted(self.names))})"))
        if self.long_lived:
            rows.append(row("-", "warning: long-lived tracers ran throughout: "
                                 + ", ".join(f"{comm} ({pid})" for pid, comm in sorted(self.long_lived.items()))))
        if self.retried:
            rows.append(row("-", f"{self.retried} runs repeated because another tracer overlapped them"))
        if self.waited >= 1:
            rows.append(row("-", f"waited {self.waited:.0f} s in all for other tracers to finish"))
        return rows


INTERFERENCE = Interference()


Run = collections.namedtuple("Run", "start_ns end_ns out err status")
Run.__doc__ = "One command's run: CLOCK_MONOTONIC instants around it, its output and exit status."


def run(cmd, timeout=120, env=None):
    """Runs cmd; returns a Run.

    Output goes to temporary files, not pipes, so the harness sleeps in wait() while
    the command runs instead of draining pipes on the tracer's CPU.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic_ns()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise RuntimeError(f"timed out after {timeout} s: {cmd}")
        t1 = time.monotonic_ns()
        out.seek(0)
        err.seek(0)
        return Run(t0, t1, out.read().decode(errors="replace"), err.read().decode(errors="replace"), p.returncode)


def run_traced(tool, prog, command, timeout=120, env=None, wrap=()):
    """Runs `tool -e prog -c command` with the workload placement (and `env` added,
    under the `wrap` command), guarded against other tracers; returns its Run."""
    cmd = list(wrap) + tracer(tool) + ["-e", prog, "-c", command]
    # Both tools cap a program's attach points (bpftrace 0.17 at 512, scry at 1,024):
    # the wildcard rows attach thousands.
    env = dict(PLACEMENT.env or os.environ, BPFTRACE_MAX_PROBES="100000", **(env or {}))
    r = INTERFERENCE.guard(lambda: run(cmd, timeout=timeout, env=env))
    if r.status != 0:
        raise RuntimeError(f"{tool} failed (status {r.status}) on {prog!r}:\n{r.err[-2000:]}")
    return r


def run_rss(cmd):
    """Runs cmd under `workload rss`; returns the max RSS in kB of cmd alone."""
    err = run([WORKLOAD, "rss"] + cmd).err
    m = re.search(r"maxrss_kb=(\d+) status=(-?\d+)", err)
    if not m or m.group(2) != "0":
        raise RuntimeError(f"rss run of {cmd} failed:\n{err[-2000:]}")
    return int(m.group(1))


def workload_times(stderr):
    """(elapsed_ns, start_mono_ns, end_mono_ns) from a workload's stderr."""
    m = re.search(r"elapsed_ns=(\d+) start_mono_ns=(\d+) end_mono_ns=(\d+)", stderr)
    if not m:
        raise RuntimeError("no workload timing in output:\n" + stderr[-2000:])
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def tracer(tool):
    return [SCRY] if tool == "scry" else [BPFTRACE]


def tools():
    return ["scry", "bpftrace"] if BPFTRACE else ["scry"]


def rotated(items, rep):
    """items in the order for repetition `rep`: rotated by one each repetition."""
    k = rep % len(items)
    return items[k:] + items[:k]


def fmt(v):
    """A cell: strings as they are, integers and values from 1000 up with thousands
    separators, others to 2 decimals below 10 and 1 above."""
    if isinstance(v, str):
        return v
    if isinstance(v, int) or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def row(tool, what, runs="", lo="", mid="", hi=""):
    """A table row: (tool, measurement, runs, min, median, max), all strings."""
    return (tool, what, str(runs), fmt(lo), fmt(mid), fmt(hi))


def measured(tool, what, values):
    """The row of a figure measured once per repetition."""
    return row(tool, what, len(values), min(values), statistics.median(values), max(values))


def single(tool, what, value):
    """The row of a figure that does not vary between runs (sizes, instruction counts)."""
    return row(tool, what, 1, "", value, "")


def startup(cfg):
    """Wall time and peak RSS of `BEGIN { exit(); }`: the whole life of a trivial program."""
    walls = {tool: [] for tool in tools()}
    rss = {tool: [] for tool in tools()}
    for rep in range(cfg.reps):
        for tool in rotated(tools(), rep):
            prog = tracer(tool) + ["-e", "BEGIN { exit(); }"]
            r = INTERFERENCE.guard(lambda: run(prog))
            if r.status != 0:
                raise RuntimeError(f"{tool} failed on BEGIN {{ exit(); }}:\n{r.err[-2000:]}")
            walls[tool].append((r.end_ns - r.start_ns) / 1e6)
            rss[tool].append(run_rss(prog) / 1024)
    rows = []
    for tool in tools():
        rows.append(measured(tool, "BEGIN { exit(); } wall ms", walls[tool]))
        rows.append(measured(tool, "BEGIN { exit(); } max RSS MB", rss[tool]))
    return rows


def attach(cfg):
    """Launch → workload start (= probes attached), workload end → tracer gone."""
    progs = [("1 tracepoint", "tracepoint:syscalls:sys_enter_getpid { @ = count(); }", cfg.reps)]
    if cfg.wildcard:
        # bpftrace detaches each of the ~360 tracepoints separately, ~26 s a run.
        progs.append(("sys_enter_* wildcard", "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }",
                      min(cfg.reps, 3)))
        # 79 and ~2,600 uprobes: bpftrace 0.17 takes ~13 s to detach the 79.
        progs.append(("uprobe:libc:str* (79 points)", "uprobe:libc:str* { @[probe] = count(); }",
                      min(cfg.reps, 3)))
        # scry only: bpftrace 0.17 makes a program and a perf event per function here
        # and takes minutes to detach them.
        progs.append(("uprobe:libc:* (~2,600 points)", "uprobe:libc:* { @ = count(); }", 1))
    rows = []
    for label, prog, reps in progs:
        who = ["scry"] if "~2,600" in label else tools()
        launch = {tool: [] for tool in who}
        finish = {tool: [] for tool in who}
        for rep in range(reps):
            for tool in rotated(who, rep):
                r = run_traced(tool, prog, f"{WORKLOAD} getpid 10", timeout=300)
                _, start, end = workload_times(r.err)
                launch[tool].append((start - r.start_ns) / 1e6)
                finish[tool].append((r.end_ns - end) / 1e6)
        for tool in who:
            rows.append(measured(tool, f"{label}: launch to attached ms", launch[tool]))
            rows.append(measured(tool, f"{label}: command end to exit ms", finish[tool]))
    return rows


# (label, program, workload mode, uprobe): per-event cost = (traced - untraced) / N for
# that mode. Uprobe rows run a smaller N (cfg.n_uprobe): a single-stepped probe costs
# several µs, and fewer events still resolve it to a few ns.
OVERHEAD = [
    ("{ } (floor)", "tracepoint:syscalls:sys_enter_getpid { }", "getpid", False),
    ("@ = count()", "tracepoint:syscalls:sys_enter_getpid { @ = count(); }", "getpid", False),
    ("@[comm] = count()", "tracepoint:syscalls:sys_enter_getpid { @[comm] = count(); }", "getpid", False),
    ("@[pid] = count()", "tracepoint:syscalls:sys_enter_getpid { @[pid] = count(); }", "getpid", False),
    ("@[tid] = sum(pid)", "tracepoint:syscalls:sys_enter_getpid { @[tid] = sum(pid); }", "getpid", False),
    ("@h = hist(args->count) (read)", "tracepoint:syscalls:sys_enter_read { @h = hist(args->count); }", "read",
     False),
    ("latency pair @start[tid] / hist(nsecs - @start[tid])",
     "tracepoint:syscalls:sys_enter_getpid { @start[tid] = nsecs; } "
     "tracepoint:syscalls:sys_exit_getpid /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); }",
     "getpid", False),
    ("uprobe { @ = count(); } (first insn single-stepped)", "uprobe:WORKLOAD:scry_workload_func { @ = count(); }",
     "func", True),
    ("uprobe { @ = count(); } (push prologue, emulated)", "uprobe:WORKLOAD:scry_workload_framed { @ = count(); }",
     "framed", True),
    ("uprobe { @ = count(); } (endbr64 landing pad first)", "uprobe:WORKLOAD:scry_workload_cet { @ = count(); }",
     "cet", True),
    # One program shared by the three scry_workload_{framed,func,cet} points (scry;
    # bpftrace builds one each): the cost of a shared program's cookie lookup.
    ("uprobe wildcard { @[func] = count(); } (push prologue)",
     "uprobe:WORKLOAD:scry_workload_* { @[func] = count(); }", "framed", True),
    ("uprobe { @[func] = count(); } (push prologue, one point)",
     "uprobe:WORKLOAD:scry_workload_framed { @[func] = count(); }", "framed", True),
    # Stacks: bpftrace 0.17 keys by a stack id from a stack map; scry keys by the frames
    # themselves (bpf_get_stack), plus a first-sight check of the process for ustack.
    ("@[kstack] = count()", "tracepoint:syscalls:sys_enter_getpid { @[kstack] = count(); }", "getpid", False),
    ("@[ustack] = count()", "tracepoint:syscalls:sys_enter_getpid { @[ustack] = count(); }", "getpid", False),
    ("uprobe { @[kstack] = count(); } (push prologue)",
     "uprobe:WORKLOAD:scry_workload_framed { @[kstack] = count(); }", "framed", True),
    ("uprobe { @[ustack] = count(); } (push prologue)",
     "uprobe:WORKLOAD:scry_workload_framed { @[ustack] = count(); }", "framed", True),
]


def program(prog):
    return prog.replace("WORKLOAD", WORKLOAD)


def overhead(cfg):
    """Added ns per event: traced minus untraced workload time, over N (see the module doc).

    Per program, the runs form one chain U T U T U ..., every traced run T between two
    untraced runs U, the tools rotating from one repetition to the next. A traced run's
    baseline is the faster of its two neighbours: interruptions only ever add time, and
    this VM's syscall cost drifts over seconds, so the nearest undisturbed run is the
    fairest reference.
    """
    base = {}  # (mode, n) -> untraced ns/call of every run, for the `untraced` rows
    rows = []
    for label, prog, mode, uprobe in OVERHEAD:
        n = cfg.n_uprobe if uprobe else cfg.n

        def untraced():
            r = INTERFERENCE.guard(lambda: run([WORKLOAD, mode, str(n)], env=PLACEMENT.env))
            if r.status != 0:
                raise RuntimeError(f"untraced workload {mode} failed:\n{r.err[-2000:]}")
            t = workload_times(r.err)[0]
            base.setdefault((mode, n), []).append(t / n)
            return t

        added = {tool: [] for tool in tools()}
        before = untraced()
        for rep in range(cfg.reps):
            for tool in rotated(tools(), rep):
                r = run_traced(tool, program(prog), f"{WORKLOAD} {mode} {n}", timeout=600)
                after = untraced()
                added[tool].append((workload_times(r.err)[0] - min(before, after)) / n)
                before = after
        if n != cfg.n:
            label += f" [N={n:,}]"
        for tool in tools():
            rows.append(measured(tool, f"added ns/event: {label}", added[tool]))
    untraced_rows = [measured("-", f"untraced {mode} ns/call (N={n:,})", times)
                     for (mode, n), times in sorted(base.items())]
    return untraced_rows + rows


def printf_rate(cfg):
    """Events printed per second of the workload's run, and events lost, for N events."""
    prog = 'tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { printf("%d %d\\n", pid, nsecs); }'
    rate = {tool: [] for tool in tools()}
    dropped = {tool: [] for tool in tools()}
    for rep in range(cfg.reps):
        for tool in rotated(tools(), rep):
            r = run_traced(tool, prog, f"{WORKLOAD} getpid {cfg.n}", timeout=600)
            # bpftrace 0.17 prints nsecs through %d as a signed 32-bit value: often negative.
            lines = sum(1 for line in r.out.splitlines() if re.match(r"^\d+ -?\d+$", line))
            rate[tool].append(lines / (workload_times(r.err)[0] / 1e9))
            dropped[tool].append(cfg.n - lines)
    rows = []
    for tool in tools():
        rows.append(measured(tool, f"printf events/s (N={cfg.n:,})", rate[tool]))
        rows.append(measured(tool, "printf events dropped", dropped[tool]))
    return rows


def stacks(cfg):
    """A map of N distinct user stacks (the workload's `stacks` mode: a 14-level fan of
    call sites) printed at exit, after the process exited: command end to tracer exit
    (symbolizing and printing), its peak RSS, and how many distinct stacks it printed;
    and the same run keyed by pid (one entry), the floor of that time (detaching).
    Both tools get 65536 map keys (BPFTRACE_MAX_MAP_KEYS; 0.17 reads
    BPFTRACE_MAP_KEYS_MAX) so the map could hold them all."""
    n = cfg.n_stacks
    prog = "uprobe:WORKLOAD:scry_stack_leaf { @[ustack] = count(); }"
    floor_prog = "uprobe:WORKLOAD:scry_stack_leaf { @[pid] = count(); }"
    env = {"BPFTRACE_MAX_MAP_KEYS": "65536", "BPFTRACE_MAP_KEYS_MAX": "65536"}
    floor = {tool: [] for tool in tools()}
    finish = {tool: [] for tool in tools()}
    rss = {tool: [] for tool in tools()}
    printed = {tool: [] for tool in tools()}
    symbolized = {tool: [] for tool in tools()}
    for rep in range(cfg.reps):
        for tool in rotated(tools(), rep):
            r = run_traced(tool, program(prog), f"{WORKLOAD} stacks {n}", timeout=600, env=env)
            _, _, end = workload_times(r.err)
            finish[tool].append((r.end_ns - end) / 1e6)
            printed[tool].append(r.out.count("]: "))
            symbolized[tool].append(r.out.count("scry_stack_fan+"))
            w = run_traced(tool, program(prog), f"{WORKLOAD} stacks {n}", timeout=600, env=env,
                           wrap=(WORKLOAD, "rss"))
            m = re.search(r"maxrss_kb=(\d+) status=(-?\d+)", w.err)
            if not m or m.group(2) != "0":
                raise RuntimeError(f"rss run of {tool} failed:\n{w.err[-2000:]}")
            rss[tool].append(int(m.group(1)) / 1024)
            f = run_traced(tool, program(floor_prog), f"{WORKLOAD} stacks {n}", timeout=600, env=env)
            floor[tool].append((f.end_ns - workload_times(f.err)[2]) / 1e6)
    rows = []
    for tool in tools():
        label = f"{n:,} distinct user stacks"
        rows.append(measured(tool, f"{label}: command end to exit ms (symbolize + print)", finish[tool]))
        rows.append(measured(tool, f"{label}: max RSS MB", rss[tool]))
        rows.append(measured(tool, f"{label}: stacks printed", printed[tool]))
        rows.append(measured(tool, f"{label}: frames named scry_stack_fan", symbolized[tool]))
        rows.append(measured(tool, "the same keyed by pid (1 entry): command end to exit ms", floor[tool]))
    return rows


def size(cfg):
    rows = [single("scry", "release binary bytes", os.path.getsize(SCRY))]
    stripped = os.path.join(tempfile.gettempdir(), f"scry-stripped-{os.getpid()}")
    try:
        if shutil.which("strip"):
            shutil.copy(SCRY, stripped)
            subprocess.run(["strip", stripped], check=True)
            rows.append(single("scry", "stripped binary bytes", os.path.getsize(stripped)))
        libs = subprocess.run(["ldd", SCRY], capture_output=True, text=True).stdout
        names = sorted({line.split()[0] for line in libs.splitlines() if "=>" in line})
        rows.append(single("scry", "shared libraries", " ".join(names)))
        static = os.path.join(ROOT, f"target/{os.uname().machine}-unknown-linux-gnu/release/scry")
        if os.path.exists(static) and shutil.which("strip"):
            shutil.copy(static, stripped)
            subprocess.run(["strip", stripped], check=True)
            rows.append(single("scry", "static build (tools/build-static.sh), stripped bytes",
                               os.path.getsize(stripped)))
            linked = subprocess.run(["ldd", static], capture_output=True, text=True)
            rows.append(single("scry", "static build shared libraries", (linked.stdout + linked.stderr).strip()))
    finally:
        if os.path.exists(stripped):
            os.unlink(stripped)
    if BPFTRACE:
        rows.append(single("bpftrace", "binary bytes", os.path.getsize(os.path.realpath(BPFTRACE))))
    prog = OVERHEAD[2][1]
    listing = subprocess.run([SCRY, "--dump", "insns", "-e", prog], capture_output=True, text=True).stdout
    count = sum(1 for line in listing.splitlines() if re.match(r"^\s+\d+:", line))
    rows.append(single("scry", f"emitted instructions of `{prog}`", count))
    return rows


def prog_ids(pid):
    """Ids of the BPF programs that process `pid` holds open (from /proc/PID/fdinfo)."""
    ids = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return ids
    for fd in fds:
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                m = re.search(r"^prog_id:\s*(\d+)", f.read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    return ids


def children(pid):
    """Pids whose parent is `pid`."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry))
    return kids


def xlated(cfg):
    """Instructions the kernel holds for each overhead program (bpftool's bytes_xlated / 8),
    summed over the programs the tracer holds open once its set stops changing. The
    traced command then is ended, and the tracer with it. A smoke run does `@ = count()`
    only."""
    if not shutil.which("bpftool"):
        return [row("-", "xlated insns: bpftool not installed")]
    rows = []
    for label, prog, _, _ in OVERHEAD[1:2] if cfg.smoke else OVERHEAD:
        for tool in tools():
            p = subprocess.Popen(tracer(tool) + ["-e", program(prog), "-c", f"{WORKLOAD} sleep 60000"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seen, stable, deadline = set(), 0, time.monotonic() + 30
            while time.monotonic() < deadline and stable < 3 and p.poll() is None:
                time.sleep(0.1)
                now = prog_ids(p.pid)
                stable = stable + 1 if now and now == seen else 0
                seen = now
            info = json.loads(subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True,
                                             text=True).stdout or "[]")
            for kid in children(p.pid):
                os.kill(kid, signal.SIGTERM)
            p.wait(timeout=60)
            if stable < 3:
                raise RuntimeError(f"{tool} never settled on a set of programs for {prog!r}")
            insns = sum(q.get("bytes_xlated", 0) // 8 for q in info if q["id"] in seen)
            rows.append(single(tool, f"xlated insns: {label}", f"{insns} in {len(seen)} prog(s)"))
    return rows


def table(rows):
    """The markdown table of rows, the measurement column padded for plain-text reading."""
    width = max(len(r[1]) for r in rows)
    lines = ["| tool | measurement | runs | min | median | max |", "|---|---|---|---|---|---|"]
    for tool, what, runs, lo, mid, hi in rows:
        lines.append(f"| {tool} | {what.ljust(width)} | {runs} | {lo} | {mid} | {hi} |")
    return "\n".join(lines) + "\n"


def header(cfg, argv):
    """Markdown lines for --out: when, where, on what commit, and how it was measured."""

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return ""

    model = ""
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        model = m.group(1) if m else platform.machine()
    with open("/proc/meminfo") as f:
        mem_gib = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1)) / 2**20
    commit = out(["git", "rev-parse", "--short", "HEAD"])
    status = out(["git", "status", "--porcelain", "--untracked-files=no"])
    dirty = [line.split(maxsplit=1)[1] for line in status.splitlines()]
    bpftrace = out([BPFTRACE, "--version"]) if BPFTRACE else "not installed"
    uname = os.uname()
    lines = [
        f"# {cfg.title}, {time.strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"- Commit: `{commit}`" + (f" (working tree differs in: {', '.join(dirty)})" if dirty else "") + ".",
        f"- Machine: {uname.sysname} {uname.release} {uname.machine}, {os.cpu_count()} CPUs ({model}), "
        f"{mem_gib:.0f} GiB; bpftrace: {bpftrace}.",
        f"- Command: `bench/bench.py {shlex.join(argv)}`; sections: {', '.join(cfg.only)}.",
        f"- {PLACEMENT.describe()[0].upper()}{PLACEMENT.describe()[1:]}.",
        f"- {cfg.reps} repetition(s) per timed figure (at most 3 for the sys_enter_* wildcard), tools in an "
        "order rotating between repetitions; min, median and max of the runs.",
    ]
    if "overhead" in cfg.only:
        lines.append(f"- Per-event cost: (traced - untraced workload time) / N, N = {cfg.n:,} (uprobes: "
                     f"{cfg.n_uprobe:,}), per traced run; its baseline is the faster of the untraced runs just "
                     "before and just after it.")
    lines.append("")
    return "\n".join(lines) + "\n"


def parse_sections(text):
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTIONS)}; got {text!r}")
    return [s for s in SECTIONS if s in chosen]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true",
                    help="run every section once with tiny sizes (CI): proves the harness works, measures nothing")
    ap.add_argument("--only", type=parse_sections, default=list(SECTIONS), metavar="SECTIONS",
                    help=f"comma-separated sections to run, of: {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--reps", type=int, metavar="N", help="repetitions per timed figure (default 15; smoke 1)")
    ap.add_argument("--out", metavar="FILE", help="also write the table, under a header about the run, to FILE")
    ap.add_argument("--patience", type=float, metavar="S",
                    help="before a run, wait up to S seconds while other processes hold BPF programs (default 120; "
                         "smoke 0); runs measured anyway are counted in a warning row")
    ap.add_argument("--title", default="scry vs bpftrace", help="the title of the --out file's header")
    cfg = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root for BPF")
    if cfg.reps is not None and cfg.reps < 1:
        sys.exit("bench: --reps must be at least 1")
    if cfg.smoke:
        cfg.reps, cfg.n, cfg.n_uprobe, cfg.wildcard = cfg.reps or 1, 2000, 2000, False
        cfg.n_stacks = 100
    else:
        cfg.reps, cfg.n, cfg.n_uprobe, cfg.wildcard = cfg.reps or 15, 1_000_000, 100_000, True
        cfg.n_stacks = 10_000
    INTERFERENCE.patience = cfg.patience if cfg.patience is not None else (0 if cfg.smoke else 120)
    INTERFERENCE.tries = 1 if cfg.smoke else 3  # smoke measures nothing worth repeating
    PLACEMENT.apply()
    run_section = {"startup": startup, "attach": attach, "overhead": overhead, "printf": printf_rate,
                   "stacks": stacks, "size": size, "xlated": xlated}
    rows = [row("-", PLACEMENT.describe())]
    for section in cfg.only:
        rows.extend(run_section[section](cfg))
    rows.extend(INTERFERENCE.rows())
    text = table(rows)
    print(text, end="")
    if cfg.out:
        with open(cfg.out, "w") as f:
            f.write(header(cfg, sys.argv[1:]) + text)


if __name__ == "__main__":
    main()
