//! Uprobes and uretprobes: a perf event on a file offset, through libbpf.

use libbpf_rs::{Link, ProgramMut};

/// Attaches `prog` at `offset` bytes into the file `path`; `pid` limits it to one
/// process (-1: every process that maps the file).
pub fn attach(
    prog: &ProgramMut<'_>,
    path: &str,
    offset: u64,
    ret: bool,
    pid: i32,
) -> Result<Link, String> {
    prog.attach_uprobe(ret, pid, path, offset as usize)
        .map_err(|e| format!("{e}"))
}
