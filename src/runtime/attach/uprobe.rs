//! Uprobes and uretprobes: a perf event on a file offset, through libbpf; the points
//! of one shared program in one binary through one `uprobe_multi` link (Linux 6.6+),
//! which attaches and, above all, detaches at once instead of point by point. USDT
//! probes are uprobes whose semaphore the kernel counts (`ref_ctr_offset`).

use libbpf_rs::{Link, ProgramMut, UprobeMultiOpts, UprobeOpts};

/// Attaches `prog` at `offset` bytes into the file `path` with attach cookie `cookie`;
/// `ref_ctr` is the file offset of a USDT semaphore to count up while attached; `pid`
/// limits it to one process (-1: every process that maps the file).
pub fn attach(
    prog: &ProgramMut<'_>,
    path: &str,
    offset: u64,
    ret: bool,
    ref_ctr: Option<u64>,
    pid: i32,
    cookie: u64,
) -> Result<Link, String> {
    let opts = UprobeOpts {
        cookie,
        ref_ctr_offset: ref_ctr.unwrap_or(0) as usize,
        retprobe: ret,
        ..UprobeOpts::default()
    };
    prog.attach_uprobe_with_opts(pid, path, offset as usize, opts)
        .map_err(|e| {
            let reason = super::reason(&e);
            // The kernel analyses the instruction once a process maps the file
            // (arch_uprobe_analyze_insn) and refuses the ones it can neither emulate
            // nor single-step out of line.
            let hint = if reason.contains("(ENOTSUPP)") {
                ": the kernel's uprobes cannot probe the instruction there"
            } else {
                ""
            };
            format!("uprobe at offset 0x{offset:x} of {path}: {reason}{hint}")
        })
}

/// Attaches `prog` at every `(offset, cookie, semaphore)` of `points` in the file `path`
/// with one `uprobe_multi` link.
pub fn attach_multi(
    prog: &ProgramMut<'_>,
    path: &str,
    points: &[(u64, u64, Option<u64>)],
    ret: bool,
    pid: i32,
) -> Result<Link, String> {
    let opts = UprobeMultiOpts {
        offsets: points.iter().map(|&(o, _, _)| o as usize).collect(),
        cookies: points.iter().map(|&(_, c, _)| c).collect(),
        ref_ctr_offsets: if points.iter().any(|p| p.2.is_some()) {
            points.iter().map(|p| p.2.unwrap_or(0) as usize).collect()
        } else {
            Vec::new()
        },
        retprobe: ret,
        ..UprobeMultiOpts::default()
    };
    prog.attach_uprobe_multi_with_opts(pid, path, "", opts)
        .map_err(|e| {
            format!(
                "uprobe_multi link for {} offsets of {path}: {}",
                points.len(),
                super::reason(&e)
            )
        })
}
