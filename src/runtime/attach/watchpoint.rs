//! Hardware watchpoints: a `PERF_TYPE_BREAKPOINT` perf event per watched address, on
//! the `-p`/`-c` process (and the threads it creates) or, for a kernel address, on
//! every online CPU; the program runs on each hit.

use libbpf_rs::{Link, ProgramMut};

/// `PERF_TYPE_BREAKPOINT`
const PERF_TYPE_BREAKPOINT: u32 = 5;
/// `perf_event_attr` flag bits (word 5): `inherit`.
const INHERIT: u64 = 1 << 1;
/// `HW_BREAKPOINT_X`: execute breakpoints take `sizeof(long)` as their length on x86.
const EXECUTE: u32 = 4;

/// Opens one breakpoint event on `cpu` (-1: wherever `pid` runs) for `pid` (-1: all).
fn open(addr: u64, len: u64, mode: u32, pid: i32, cpu: i32) -> std::io::Result<i32> {
    // struct perf_event_attr as little-endian words: type/size, config, sample_period,
    // sample_type, read_format, flags, wakeup_events/bp_type, bp_addr, bp_len.
    let mut attr = super::perf_event::attr(PERF_TYPE_BREAKPOINT, 0);
    attr[2] = 1;
    if pid >= 0 {
        attr[5] |= INHERIT;
    }
    attr[6] = (mode as u64) << 32;
    attr[7] = addr;
    attr[8] = if mode == EXECUTE { 8 } else { len };
    super::perf_event::open_attr(&attr, pid, cpu)
}

/// Watches `len` bytes at `addr` in `mode` (`HW_BREAKPOINT_*` bits) for process `pid`,
/// or on every CPU when there is none.
pub fn attach(
    prog: &ProgramMut<'_>,
    addr: u64,
    len: u64,
    mode: u32,
    pid: Option<u32>,
) -> Result<Vec<Link>, String> {
    let places: Vec<(i32, i32)> = match pid {
        Some(p) => vec![(p as i32, -1)],
        None => super::perf_event::online_cpus()
            .into_iter()
            .map(|c| (-1, c as i32))
            .collect(),
    };
    let mut links = Vec::new();
    for (pid, cpu) in places {
        let fd = open(addr, len, mode, pid, cpu).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::ENOSPC) {
                " (every debug register is in use: x86-64 has four)"
            } else {
                ""
            };
            format!(
                "hardware breakpoint at 0x{addr:x}: perf_event_open failed: {}{hint}",
                super::os_reason(&e.to_string())
            )
        })?;
        let link = prog.attach_perf_event(fd).map_err(|e| {
            // SAFETY: the link was not created, so the fd is still ours to close.
            unsafe { libc::close(fd) };
            format!(
                "the program on the breakpoint at 0x{addr:x}: {}",
                super::reason(&e)
            )
        })?;
        links.push(link);
    }
    Ok(links)
}
