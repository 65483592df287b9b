//! Perf events with a BPF program on overflow (`interval`, `profile`, `software`,
//! `hardware`): one event on the first online CPU, or one per online CPU. libbpf takes
//! ownership of each perf fd with its link.

use libbpf_rs::{Link, ProgramMut};

use crate::probe::{Cpus, Sample};

/// `PERF_FLAG_FD_CLOEXEC`
const PERF_FLAG_FD_CLOEXEC: u64 = 8;
/// `PERF_ATTR_SIZE_VER8`
const ATTR_SIZE: usize = 136;
/// `perf_event_attr` flag bits (word 5): `inherit` and `freq`.
const INHERIT: u64 = 1 << 1;
const FREQ: u64 = 1 << 10;

/// A `perf_event_attr` of `type_`/`config` as little-endian words (type/size, config,
/// sample_period, sample_type, read_format, flags, wakeup/bp_type, bp_addr, bp_len, …),
/// the rest zero.
pub fn attr(type_: u32, config: u64) -> [u64; ATTR_SIZE / 8] {
    let mut attr = [0u64; ATTR_SIZE / 8];
    attr[0] = type_ as u64 | ((ATTR_SIZE as u64) << 32);
    attr[1] = config;
    attr
}

/// `perf_event_open(attr, pid, cpu, -1, CLOEXEC)`: the one call of it in the runtime.
pub fn open_attr(
    attr: &[u64; ATTR_SIZE / 8],
    pid: libc::pid_t,
    cpu: libc::c_int,
) -> std::io::Result<i32> {
    // SAFETY: attr is a valid, fully initialised perf_event_attr of the declared size;
    // any pointers in it outlive the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            pid,
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

/// Opens a perf event of `type_`/`config` on `cpu`, for process `pid` (and its
/// children) or every process.
pub fn open(
    type_: u32,
    config: u64,
    sample: Sample,
    cpu: u32,
    pid: Option<u32>,
) -> std::io::Result<i32> {
    // struct perf_event_attr as raw little-endian words: type/size, config,
    // sample_period (or sample_freq), sample_type, read_format, flags.
    let mut attr = attr(type_, config);
    match sample {
        Sample::Period(p) => attr[2] = p,
        Sample::Freq(f) => {
            attr[2] = f;
            attr[5] |= FREQ;
        }
    }
    if pid.is_some() {
        attr[5] |= INHERIT;
    }
    open_attr(
        &attr,
        pid.map_or(-1, |p| p as libc::pid_t),
        cpu as libc::c_int,
    )
}

/// The online CPUs (`/sys/devices/system/cpu/online`, e.g. `0-3,6`).
pub fn online_cpus() -> Vec<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
            cpus.extend(a..=b);
        }
    }
    if cpus.is_empty() {
        cpus.push(0);
    }
    cpus
}

/// Why a sampling frequency is refused with EINVAL, when it is above the kernel's
/// `kernel.perf_event_max_sample_rate`.
fn rate_hint(e: &std::io::Error, sample: Sample) -> String {
    const MAX_RATE: &str = "/proc/sys/kernel/perf_event_max_sample_rate";
    let Sample::Freq(freq) = sample else {
        return String::new();
    };
    let max = std::fs::read_to_string(MAX_RATE)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    match max {
        Some(max) if e.raw_os_error() == Some(libc::EINVAL) && freq > max => format!(
            ": {freq} Hz is above the kernel's limit of {max} samples a second (sysctl kernel.perf_event_max_sample_rate)"
        ),
        _ => String::new(),
    }
}

/// Opens the events and attaches `prog` to each.
pub fn attach(
    prog: &ProgramMut<'_>,
    type_: u32,
    config: u64,
    sample: Sample,
    cpus: Cpus,
    pid: Option<u32>,
) -> Result<Vec<Link>, String> {
    let mut online = online_cpus();
    if cpus == Cpus::First {
        online.truncate(1);
    }
    let mut links = Vec::new();
    for cpu in online {
        let fd = open(type_, config, sample, cpu, pid).map_err(|e| {
            format!(
                "perf_event_open on CPU {cpu} failed: {}{}",
                super::os_reason(&e.to_string()),
                rate_hint(&e, sample)
            )
        })?;
        let link = prog.attach_perf_event(fd).map_err(|e| {
            // SAFETY: the link was not created, so the fd is still ours to close.
            unsafe { libc::close(fd) };
            format!(
                "the program on the perf event of CPU {cpu}: {}",
                super::reason(&e)
            )
        })?;
        links.push(link);
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    #[test]
    fn online_cpus_are_listed() {
        let cpus = super::online_cpus();
        assert!(cpus.contains(&0), "{cpus:?}");
    }
}
