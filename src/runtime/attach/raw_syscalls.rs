//! Syscall tracepoints served from `raw_syscalls`: each tracepoint's program goes into
//! a program array at its syscall number, and one dispatcher per direction is attached
//! to the raw tracepoint (attach and detach ≈ 0.1 ms instead of ~75 ms per tracepoint).

use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::{Link, Map, MapCore, MapFlags, ProgramMut};

/// Puts `prog` into the program array `table` at slot `nr`.
pub fn install(table: &Map<'_>, prog: &ProgramMut<'_>, nr: u32) -> Result<(), String> {
    let fd = prog.as_fd().as_raw_fd() as u32;
    table
        .update(&nr.to_le_bytes(), &fd.to_le_bytes(), MapFlags::ANY)
        .map_err(|e| format!("installing the program for syscall {nr}: {e}"))
}

/// Attaches the dispatcher to raw tracepoint `tracepoint` (`sys_enter` / `sys_exit`).
pub fn attach(prog: &ProgramMut<'_>, tracepoint: &str) -> Result<Link, String> {
    prog.attach_raw_tracepoint(tracepoint)
        .map_err(|e| format!("raw tracepoint {tracepoint}: {e}"))
}
