//! Uprobes and uretprobes: a perf event on a file offset, through libbpf; the points
//! of one shared program in one binary through one `uprobe_multi` link (Linux 6.6+),
//! which attaches and, above all, detaches at once instead of point by point.

use libbpf_rs::{Link, ProgramMut, UprobeMultiOpts, UprobeOpts};

/// Attaches `prog` at `offset` bytes into the file `path` with attach cookie `cookie`;
/// `pid` limits it to one process (-1: every process that maps the file).
pub fn attach(
    prog: &ProgramMut<'_>,
    path: &str,
    offset: u64,
    ret: bool,
    pid: i32,
    cookie: u64,
) -> Result<Link, String> {
    let opts = UprobeOpts {
        cookie,
        retprobe: ret,
        ..UprobeOpts::default()
    };
    prog.attach_uprobe_with_opts(pid, path, offset as usize, opts)
        .map_err(|e| format!("{e}"))
}

/// Attaches `prog` at every `(offset, cookie)` of `points` in the file `path` with one
/// `uprobe_multi` link. Fails on kernels without them (the caller then attaches point
/// by point).
pub fn attach_multi(
    prog: &ProgramMut<'_>,
    path: &str,
    points: &[(u64, u64)],
    ret: bool,
    pid: i32,
) -> Result<Link, String> {
    let opts = UprobeMultiOpts {
        offsets: points.iter().map(|&(o, _)| o as usize).collect(),
        cookies: points.iter().map(|&(_, c)| c).collect(),
        retprobe: ret,
        ..UprobeMultiOpts::default()
    };
    prog.attach_uprobe_multi_with_opts(pid, path, "", opts)
        .map_err(|e| format!("{e}"))
}
