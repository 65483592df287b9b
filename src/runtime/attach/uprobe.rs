//! Uprobes and uretprobes: a perf event on a file offset, through libbpf; USDT probes
//! are uprobes whose semaphore the kernel counts (`ref_ctr_offset`).

use libbpf_rs::{Link, ProgramMut, UprobeOpts};

/// Attaches `prog` at `offset` bytes into the file `path`; `ref_ctr` is the file offset
/// of a USDT semaphore to count up while attached; `pid` limits it to one process (-1:
/// every process that maps the file).
pub fn attach(
    prog: &ProgramMut<'_>,
    path: &str,
    offset: u64,
    ret: bool,
    ref_ctr: Option<u64>,
    pid: i32,
) -> Result<Link, String> {
    let opts = UprobeOpts {
        ref_ctr_offset: ref_ctr.unwrap_or(0) as usize,
        retprobe: ret,
        ..UprobeOpts::default()
    };
    prog.attach_uprobe_with_opts(pid, path, offset as usize, opts)
        .map_err(|e| format!("{e}"))
}
