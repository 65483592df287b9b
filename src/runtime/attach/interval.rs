//! `interval:` probes: a software `cpu-clock` perf event on CPU 0 with the period as its
//! sample period; libbpf takes ownership of the perf fd with the link.

use libbpf_rs::{Link, ProgramMut};

/// `PERF_TYPE_SOFTWARE`
const PERF_TYPE_SOFTWARE: u32 = 1;
/// `PERF_COUNT_SW_CPU_CLOCK`
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
/// `PERF_FLAG_FD_CLOEXEC`
const PERF_FLAG_FD_CLOEXEC: u64 = 8;
/// `PERF_ATTR_SIZE_VER8`
const ATTR_SIZE: usize = 136;

/// Opens a cpu-clock event firing every `period_ns` on `cpu` (all processes).
pub fn open_cpu_clock(period_ns: u64, cpu: i32) -> std::io::Result<i32> {
    // struct perf_event_attr as raw little-endian words: type/size, config,
    // sample_period, sample_type, read_format, flags (all clear: enabled, no inherit).
    let mut attr = [0u64; ATTR_SIZE / 8];
    attr[0] = PERF_TYPE_SOFTWARE as u64 | ((ATTR_SIZE as u64) << 32);
    attr[1] = PERF_COUNT_SW_CPU_CLOCK;
    attr[2] = period_ns;
    // SAFETY: attr is a valid, fully initialised perf_event_attr of the declared size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            cpu,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd as i32)
}

/// Attaches `prog` to a new cpu-clock event on CPU 0.
pub fn attach(prog: &ProgramMut<'_>, period_ns: u64) -> Result<Link, String> {
    let fd = open_cpu_clock(period_ns, 0).map_err(|e| format!("perf_event_open failed: {e}"))?;
    prog.attach_perf_event(fd).map_err(|e| {
        // SAFETY: the link was not created, so the fd is still ours to close.
        unsafe { libc::close(fd) };
        e.to_string()
    })
}
