#!/usr/bin/env python3
"""scry vs bpftrace, measured alternately on this machine (stdlib only).

Reports medians with min..max spread. Sections follow issue #3: startup, attach and
finish times, per-event overhead, printf throughput, binary size. Run through
bench/run.sh, which builds the release binaries first.
"""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRY = os.path.join(ROOT, "target/release/scry")
WORKLOAD = os.path.join(ROOT, "target/release/examples/workload")
BPFTRACE = shutil.which("bpftrace")


def run(cmd, timeout=120):
    """Runs cmd; returns (wall_ns, max_rss_kb, stdout, stderr, status)."""
    t0 = time.monotonic_ns()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=timeout)
    wall = time.monotonic_ns() - t0
    return wall, out.decode(errors="replace"), err.decode(errors="replace"), p.returncode


def run_rss(cmd):
    """Runs cmd under `workload rss`; returns (wall_ns, max_rss_kb) of cmd alone."""
    t0 = time.monotonic_ns()
    _, _, err, _ = run([WORKLOAD, "rss"] + cmd)
    wall = time.monotonic_ns() - t0
    m = re.search(r"maxrss_kb=(\d+)", err)
    return wall, int(m.group(1))


def workload_times(stderr):
    m = re.search(r"elapsed_ns=(\d+) start_mono_ns=(\d+) end_mono_ns=(\d+)", stderr)
    if not m:
        raise RuntimeError("no workload timing in output:\n" + stderr[-2000:])
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def tracer(tool):
    return [SCRY] if tool == "scry" else [BPFTRACE]


def stats(values, unit=""):
    if not values:
        return "n/a"
    med = statistics.median(values)
    return f"{fmt(med)}{unit} ({fmt(min(values))}..{fmt(max(values))})"


def fmt(v):
    if isinstance(v, float) and v < 10:
        return f"{v:.2f}"
    return f"{v:,.0f}" if v >= 1000 else f"{v:.1f}"


def tools():
    return ["scry", "bpftrace"] if BPFTRACE else ["scry"]


def startup(reps):
    rows = []
    walls = {tool: [] for tool in tools()}
    rss = {tool: [] for tool in tools()}
    for _ in range(reps):
        for tool in tools():
            prog = tracer(tool) + ["-e", "BEGIN { exit(); }"]
            walls[tool].append(run(prog)[0] / 1e6)
            rss[tool].append(run_rss(prog)[1] / 1024)
    for tool in tools():
        rows.append((tool, "BEGIN { exit(); } wall ms", stats(walls[tool])))
        rows.append((tool, "BEGIN { exit(); } max RSS MB", stats(rss[tool])))
    return rows


def attach_and_finish(reps, wildcard):
    """Launch → workload start (= probes attached), workload end → tracer gone."""
    rows = []
    progs = [("1 tracepoint", "tracepoint:syscalls:sys_enter_getpid { @ = count(); }")]
    if wildcard:
        progs.append(("sys_enter_* wildcard", "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }"))
    for label, prog in progs:
        attach = {tool: [] for tool in tools()}
        finish = {tool: [] for tool in tools()}
        # bpftrace's wildcard runs cost ~27 s each in teardown: three make a median.
        for _ in range(min(reps, 3) if "wildcard" in label else reps):
            for tool in tools():
                t0 = time.monotonic_ns()
                _, out, err, status = run(tracer(tool) + ["-e", prog, "-c", f"{WORKLOAD} getpid 10"], timeout=300)
                t1 = time.monotonic_ns()
                if status != 0:
                    raise RuntimeError(f"{tool} failed: {err[-2000:]}")
                _, start, end = workload_times(err)
                attach[tool].append((start - t0) / 1e6)
                finish[tool].append((t1 - end) / 1e6)
        for tool in tools():
            rows.append((tool, f"{label}: launch to attached ms", stats(attach[tool])))
            rows.append((tool, f"{label}: command end to exit ms", stats(finish[tool])))
    return rows


# (label, program, workload mode): per-event cost = (traced - untraced) / N for that mode.
OVERHEAD = [
    ("{ } (floor)", "tracepoint:syscalls:sys_enter_getpid { }", "getpid"),
    ("@ = count()", "tracepoint:syscalls:sys_enter_getpid { @ = count(); }", "getpid"),
    ("@[comm] = count()", "tracepoint:syscalls:sys_enter_getpid { @[comm] = count(); }", "getpid"),
    ("@[pid] = count()", "tracepoint:syscalls:sys_enter_getpid { @[pid] = count(); }", "getpid"),
    ("@[tid] = sum(pid)", "tracepoint:syscalls:sys_enter_getpid { @[tid] = sum(pid); }", "getpid"),
    ("@h = hist(args->count) (read)", "tracepoint:syscalls:sys_enter_read { @h = hist(args->count); }", "read"),
    ("latency pair @start[tid] / hist(nsecs - @start[tid])",
     "tracepoint:syscalls:sys_enter_getpid { @start[tid] = nsecs; } "
     "tracepoint:syscalls:sys_exit_getpid /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); }",
     "getpid"),
    ("uprobe { @ = count(); } (first insn single-stepped)", "uprobe:WORKLOAD:scry_workload_func { @ = count(); }", "func"),
    ("uprobe { @ = count(); } (push prologue, emulated)", "uprobe:WORKLOAD:scry_workload_framed { @ = count(); }", "framed"),
    ("uprobe { @ = count(); } (endbr64 landing pad first)", "uprobe:WORKLOAD:scry_workload_cet { @ = count(); }", "cet"),
]


def program(prog):
    return prog.replace("WORKLOAD", WORKLOAD)


def overhead(reps, n):
    rows = []
    untraced = {}
    for mode in sorted({m for _, _, m in OVERHEAD}):
        base = []
        for _ in range(reps):
            _, _, err, _ = run([WORKLOAD, mode, str(n)])
            base.append(workload_times(err)[0])
        untraced[mode] = statistics.median(base)
        rows.append(("-", f"untraced {mode} ns/call (N={n:,})", f"{untraced[mode] / n:.1f}"))
    for label, prog, mode in OVERHEAD:
        added = {tool: [] for tool in tools()}
        for _ in range(reps):
            # Alternate the tools so drifts of the machine hit both alike.
            for tool in tools():
                _, _, err, status = run(tracer(tool) + ["-e", program(prog), "-c", f"{WORKLOAD} {mode} {n}"], timeout=600)
                if status != 0:
                    raise RuntimeError(f"{tool} failed on {prog}: {err[-1000:]}")
                added[tool].append((workload_times(err)[0] - untraced[mode]) / n)
        for tool in tools():
            rows.append((tool, f"added ns/event: {label}", stats(added[tool])))
    return rows


def bpf_prog_ids():
    out = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True).stdout
    import json
    return {p["id"]: p for p in json.loads(out or "[]")}


def xlated():
    """Instructions the kernel holds for each overhead program (bpftool's bytes_xlated / 8),
    summed over the programs a tool loaded for it."""
    rows = []
    if not shutil.which("bpftool"):
        return rows
    for label, prog, _ in OVERHEAD:
        for tool in tools():
            before = set(bpf_prog_ids())
            p = subprocess.Popen(tracer(tool) + ["-e", program(prog), "-c", f"{WORKLOAD} sleep 3000"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seen, stable, deadline = None, 0, time.monotonic() + 20
            while time.monotonic() < deadline and stable < 3:
                time.sleep(0.1)
                now = {i: q for i, q in bpf_prog_ids().items() if i not in before}
                key = sorted(now)
                stable = stable + 1 if now and key == seen else 0
                seen = key
                progs = now
            p.wait(timeout=60)
            insns = sum(q.get("bytes_xlated", 0) // 8 for q in progs.values())
            rows.append((tool, f"xlated insns: {label}", f"{insns} in {len(progs)} prog(s)"))
    return rows


def printf_rate(n):
    rows = []
    prog = 'tracepoint:syscalls:sys_enter_getpid /pid == cpid/ { printf("%d %d\\n", pid, nsecs); }'
    for tool in tools():
        _, out, err, status = run(tracer(tool) + ["-e", prog, "-c", f"{WORKLOAD} getpid {n}"], timeout=600)
        if status != 0:
            raise RuntimeError(f"{tool} failed: {err[-1000:]}")
        lines = sum(1 for l in out.splitlines() if re.match(r"^\d+ \d+$", l))
        elapsed = workload_times(err)[0]
        rows.append((tool, f"printf events/s (N={n:,})", f"{lines / (elapsed / 1e9):,.0f}"))
        rows.append((tool, "printf events dropped", f"{n - lines:,}"))
    return rows


def size():
    rows = [("scry", "release binary bytes", f"{os.path.getsize(SCRY):,}")]
    stripped = "/tmp/scry-stripped"
    if shutil.which("strip"):
        shutil.copy(SCRY, stripped)
        subprocess.run(["strip", stripped], check=True)
        rows.append(("scry", "stripped binary bytes", f"{os.path.getsize(stripped):,}"))
    libs = subprocess.run(["ldd", SCRY], capture_output=True, text=True).stdout
    names = sorted({l.split()[0] for l in libs.splitlines() if "=>" in l})
    rows.append(("scry", "shared libraries", " ".join(names)))
    static = os.path.join(ROOT, f"target/{os.uname().machine}-unknown-linux-gnu/release/scry")
    if os.path.exists(static) and shutil.which("strip"):
        shutil.copy(static, stripped)
        subprocess.run(["strip", stripped], check=True)
        rows.append(("scry", "static build (tools/build-static.sh), stripped bytes", f"{os.path.getsize(stripped):,}"))
        linked = subprocess.run(["ldd", static], capture_output=True, text=True)
        rows.append(("scry", "static build shared libraries", (linked.stdout + linked.stderr).strip()))
    if BPFTRACE:
        rows.append(("bpftrace", "binary bytes", f"{os.path.getsize(os.path.realpath(BPFTRACE)):,}"))
    listing = subprocess.run([SCRY, "--dump", "insns", "-e", OVERHEAD[2][1]], capture_output=True, text=True).stdout
    count = sum(1 for l in listing.splitlines() if re.match(r"^\s+\d+:", l))
    rows.append(("scry", f"emitted instructions of `{OVERHEAD[2][1]}`", str(count)))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--smoke", action="store_true", help="run everything once, tiny sizes (CI)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root for BPF")
    reps, n, wildcard = (1, 2000, False) if args.smoke else (7, 1_000_000, True)
    rows = []
    for section in (lambda: startup(reps * 3), lambda: attach_and_finish(reps if not args.smoke else 1, wildcard),
                    lambda: overhead(reps if not args.smoke else 1, n), lambda: printf_rate(n), size,
                    (lambda: []) if args.smoke else xlated):
        rows.extend(section())
    width = max(len(r[1]) for r in rows)
    print(f"| tool | measurement | median (min..max) |\n|---|---|---|")
    for tool, what, value in rows:
        print(f"| {tool} | {what.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
