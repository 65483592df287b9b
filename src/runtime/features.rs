//! `--info`: the kernel's tracing features, each probed for real — a program loaded, a
//! map or link created, a perf event opened and closed at once — never guessed from the
//! version, and printed in bpftrace's newest layout (sections of `name: value` pairs, two
//! to a line). Nothing stays attached: every fd is closed before the next check.

use std::ffi::CString;
use std::fmt::Write;

use crate::bpf::insn::{Alu, Insn, Reg, helper};
use crate::host::Host;
use crate::host::system::System;

/// `PERF_TYPE_*` and the constants of the events tried.
const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_TYPE_BREAKPOINT: u32 = 5;
/// `HW_BREAKPOINT_W`, `HW_BREAKPOINT_LEN_8`.
const HW_BREAKPOINT_W: u64 = 2;
const HW_BREAKPOINT_LEN_8: u64 = 8;
/// The kernel function the kprobe, kprobe_multi and fentry checks name (every x86-64
/// kernel since 4.17 has it).
const KERNEL_FUNC: &str = "ksys_read";

/// The report, as `scry --info` prints it.
pub fn report() -> String {
    let host = System::new();
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    let mut out = String::new();
    let (sysname, release, version, machine) = uname();
    let _ = writeln!(
        out,
        "System\n  OS: {sysname} {release} {version}\n  Arch: {machine}\n"
    );
    let _ = writeln!(
        out,
        "Build\n  version: v{}\n  LLVM: none (scry emits BPF itself)\n",
        env!("CARGO_PKG_VERSION")
    );
    let helpers: Vec<(&str, u32)> = vec![
        ("probe_read_user", helper::PROBE_READ_USER),
        ("probe_read_user_str", helper::PROBE_READ_USER_STR),
        ("probe_read_kernel", helper::PROBE_READ_KERNEL),
        ("probe_read_kernel_str", helper::PROBE_READ_KERNEL_STR),
        ("get_current_cgroup_id", helper::GET_CURRENT_CGROUP_ID),
        ("send_signal", helper::SEND_SIGNAL),
        ("get_boot_ns", helper::KTIME_GET_BOOT_NS),
        ("get_tai_ns", helper::KTIME_GET_TAI_NS),
        ("ringbuf_reserve", helper::RINGBUF_RESERVE),
        ("get_attach_cookie", helper::GET_ATTACH_COOKIE),
        ("loop", helper::LOOP),
        ("for_each_map_elem", helper::FOR_EACH_MAP_ELEM),
        ("lookup_percpu_elem", helper::MAP_LOOKUP_PERCPU_ELEM),
    ];
    let helpers: Vec<(String, String)> = helpers
        .into_iter()
        .map(|(n, id)| (n.to_string(), yes(has_helper(id))))
        .collect();
    section(&mut out, "Kernel helpers", &helpers);
    let limit = instruction_limit().map_or("unknown".to_string(), |n| n.to_string());
    let strnstr = host.kernel_function("bpf_strnstr");
    let features = vec![
        ("Instruction limit".to_string(), limit),
        ("btf".into(), yes(has_btf())),
        ("module btf".into(), yes(has_module_btf())),
        ("ringbuf".into(), yes(has_ringbuf())),
        ("signed division".into(), yes(has_signed_division())),
        (
            "kfunc bpf_strnstr".into(),
            yes(strnstr.is_some_and(kfunc_allowed)),
        ),
        ("uprobe refcount".into(), yes(has_uprobe_refcount())),
    ];
    section(&mut out, "Kernel features", &features);
    let func_id = host.kernel_function(KERNEL_FUNC);
    let probes = vec![
        ("kprobe".to_string(), yes(has_kprobe())),
        ("kprobe_multi".into(), yes(has_kprobe_multi(false))),
        ("kprobe_session".into(), yes(has_kprobe_multi(true))),
        ("uprobe".into(), yes(has_uprobe())),
        ("uprobe_multi".into(), yes(has_uprobe_multi())),
        ("tracepoint".into(), yes(has_tracepoint())),
        ("rawtracepoint".into(), yes(has_raw_tracepoint())),
        (
            "fentry".into(),
            yes(func_id.is_some_and(|id| has_tracing(id, libbpf_sys::BPF_TRACE_FENTRY))),
        ),
        (
            "fexit".into(),
            yes(func_id.is_some_and(|id| has_tracing(id, libbpf_sys::BPF_TRACE_FEXIT))),
        ),
        (
            "iter".into(),
            yes(host
                .kernel_function("bpf_iter_task")
                .is_some_and(|id| has_tracing(id, libbpf_sys::BPF_TRACE_ITER))),
        ),
        (
            "perf_event".into(),
            yes(open_perf(PERF_TYPE_SOFTWARE, 0, [0; 3]).is_ok()),
        ),
        (
            "hardware (PMU)".into(),
            yes(open_perf(PERF_TYPE_HARDWARE, 0, [0; 3]).is_ok()),
        ),
        ("watchpoint".into(), yes(has_breakpoint())),
    ];
    section(&mut out, "Probe types", &probes);
    out
}

/// A titled section, pairs two to a line in 35-column cells, as bpftrace tabulates.
fn section(out: &mut String, title: &str, rows: &[(String, String)]) {
    let _ = writeln!(out, "{title}");
    for pair in rows.chunks(2) {
        let cell = |(n, v): &(String, String)| format!("  {n}: {v}");
        match pair {
            [a, b] => {
                let _ = writeln!(out, "{:<35}{}: {}", cell(a), b.0, b.1);
            }
            [a] => {
                let _ = writeln!(out, "{}", cell(a));
            }
            _ => {}
        }
    }
    out.push('\n');
}

/// `uname(2)`: system name, release, version, machine.
fn uname() -> (String, String, String, String) {
    // SAFETY: utsname is plain old data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid utsname to fill.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Default::default();
    }
    let s = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (s(&u.sysname), s(&u.release), s(&u.version), s(&u.machine))
}

/// A loaded program's fd, closed on drop.
struct Loaded(i32);

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: the fd was returned by the kernel to this process and is owned here.
        unsafe { libc::close(self.0) };
    }
}

/// How to load a probe program.
#[derive(Default)]
struct Load {
    prog_type: libbpf_sys::bpf_prog_type,
    attach_type: libbpf_sys::bpf_attach_type,
    attach_btf_id: u32,
}

/// Loads `insns` as `how` says, with a verifier log at level 1: the program (when it
/// loaded) and the log (which holds the verifier's summary either way).
fn load_logged(how: &Load, insns: &[Insn]) -> (Option<Loaded>, String) {
    let raw: Vec<libbpf_sys::bpf_insn> = insns
        .iter()
        .map(|i| {
            let b = i.encode();
            // SAFETY: bpf_insn is 8 bytes of plain data laid out as the encoding.
            unsafe { std::mem::transmute::<[u8; 8], libbpf_sys::bpf_insn>(b) }
        })
        .collect();
    let mut log = vec![0u8; 64 * 1024];
    let mut opts = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        expected_attach_type: how.attach_type,
        attach_btf_id: how.attach_btf_id,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr().cast(),
        ..Default::default()
    };
    // SAFETY: the instructions, the license string and the log buffer outlive the call;
    // opts is initialised with its own size.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            how.prog_type,
            c"scry_feature".as_ptr(),
            c"GPL".as_ptr(),
            raw.as_ptr(),
            raw.len() as _,
            &mut opts,
        )
    };
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]).into_owned();
    ((fd >= 0).then_some(Loaded(fd)), text)
}

/// The loaded program, or the verifier's log.
fn load(how: &Load, insns: &[Insn]) -> Result<Loaded, String> {
    match load_logged(how, insns) {
        (Some(p), _) => Ok(p),
        (None, log) => Err(log),
    }
}

/// `r0 = 0; exit`.
fn trivial() -> Vec<Insn> {
    vec![Insn::mov64_imm(Reg::R0, 0), Insn::exit()]
}

fn kprobe_type() -> Load {
    Load {
        prog_type: libbpf_sys::BPF_PROG_TYPE_KPROBE,
        ..Load::default()
    }
}

/// Whether helper `id` is known to kprobe programs: a call of it with no arguments
/// set up fails, but the log says why (an unknown helper is "invalid func" or "unknown
/// func"; one the type may not use "cannot use helper"), as libbpf probes helpers.
fn has_helper(id: u32) -> bool {
    match load(&kprobe_type(), &[Insn::call(id), Insn::exit()]) {
        Ok(_) => true,
        Err(log) => {
            !log.is_empty()
                && !log.contains("invalid func ")
                && !log.contains("unknown func ")
                && !log.contains("program of this type cannot use helper ")
        }
    }
}

/// The verifier's instruction limit, from its summary of a trivial program
/// (`processed 2 insns (limit 1000000) …`).
fn instruction_limit() -> Option<u64> {
    let (_, log) = load_logged(&kprobe_type(), &trivial());
    let at = log.find("(limit ")? + "(limit ".len();
    log[at..].split(')').next()?.trim().parse().ok()
}

/// vmlinux BTF exists and parses.
fn has_btf() -> bool {
    std::fs::read("/sys/kernel/btf/vmlinux")
        .ok()
        .and_then(|b| crate::host::btf_names::Btf::parse(&b))
        .is_some()
}

/// BTF of a module (any file besides vmlinux under /sys/kernel/btf).
fn has_module_btf() -> bool {
    std::fs::read_dir("/sys/kernel/btf")
        .map(|d| d.flatten().any(|e| e.file_name() != "vmlinux"))
        .unwrap_or(false)
}

/// A ring buffer map can be created.
fn has_ringbuf() -> bool {
    // SAFETY: no name, no options; the fd is closed right away.
    let fd = unsafe {
        libbpf_sys::bpf_map_create(
            libbpf_sys::BPF_MAP_TYPE_RINGBUF,
            std::ptr::null(),
            0,
            0,
            4096,
            std::ptr::null(),
        )
    };
    close(fd)
}

/// Signed division (`BPF_SDIV`, off 1) passes the verifier (Linux 6.6+).
fn has_signed_division() -> bool {
    let insns = [
        Insn::mov64_imm(Reg::R0, -6),
        Insn::mov64_imm(Reg::R1, 3),
        Insn::alu64_reg_signed(Alu::Div, Reg::R0, Reg::R1),
        Insn::mov64_imm(Reg::R0, 0),
        Insn::exit(),
    ];
    load(&kprobe_type(), &insns).is_ok()
}

/// A kprobe program may call kfunc `btf_id`: loading fails for other reasons, but not
/// with "calling kernel function … is not allowed".
fn kfunc_allowed(btf_id: u32) -> bool {
    let how = Load {
        prog_type: libbpf_sys::BPF_PROG_TYPE_KPROBE,
        ..Load::default()
    };
    match load(&how, &[Insn::call_kernel(btf_id), Insn::exit()]) {
        Ok(_) => true,
        Err(log) => !log.is_empty() && !log.contains("is not allowed"),
    }
}

/// uprobes take a reference-counter offset (USDT semaphores).
fn has_uprobe_refcount() -> bool {
    std::path::Path::new("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset").exists()
}

/// The `type` of perf event source `name` (`kprobe`, `uprobe`).
fn pmu_type(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/bus/event_source/devices/{name}/type"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// A kprobe on `ksys_read` opens through the kprobe PMU.
fn has_kprobe() -> bool {
    let Some(type_) = pmu_type("kprobe") else {
        return false;
    };
    let func = CString::new(KERNEL_FUNC).expect("no NUL");
    open_perf(type_, 0, [0, func.as_ptr() as u64, 0]).is_ok()
}

/// A uprobe on this executable opens through the uprobe PMU.
fn has_uprobe() -> bool {
    let Some(type_) = pmu_type("uprobe") else {
        return false;
    };
    let Some(path) = std::env::current_exe()
        .ok()
        .and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok())
    else {
        return false;
    };
    open_perf(type_, 0, [0, path.as_ptr() as u64, 0]).is_ok()
}

/// A `kprobe_multi` (or session) link on `ksys_read` is created.
fn has_kprobe_multi(session: bool) -> bool {
    let attach_type = if session {
        libbpf_sys::BPF_TRACE_KPROBE_SESSION
    } else {
        libbpf_sys::BPF_TRACE_KPROBE_MULTI
    };
    let how = Load {
        prog_type: libbpf_sys::BPF_PROG_TYPE_KPROBE,
        attach_type,
        ..Load::default()
    };
    let Ok(prog) = load(&how, &trivial()) else {
        return false;
    };
    let func = CString::new(KERNEL_FUNC).expect("no NUL");
    let mut syms = [func.as_ptr()];
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.kprobe_multi.cnt = 1;
    opts.__bindgen_anon_1.kprobe_multi.syms = syms.as_mut_ptr();
    // SAFETY: prog is a loaded program; syms and opts outlive the call.
    let fd = unsafe { libbpf_sys::bpf_link_create(prog.0, 0, attach_type, &opts) };
    close(fd)
}

/// The kernel knows `uprobe_multi` links: one on the directory `/` is refused with
/// EBADF (not a regular file) rather than EINVAL, as bpftrace probes it.
fn has_uprobe_multi() -> bool {
    let attach_type = libbpf_sys::BPF_TRACE_UPROBE_MULTI;
    let how = Load {
        prog_type: libbpf_sys::BPF_PROG_TYPE_KPROBE,
        attach_type,
        ..Load::default()
    };
    let Ok(prog) = load(&how, &trivial()) else {
        return false;
    };
    let offsets: [libc::c_ulong; 1] = [0];
    let mut opts = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    opts.__bindgen_anon_1.uprobe_multi.cnt = 1;
    opts.__bindgen_anon_1.uprobe_multi.path = c"/".as_ptr();
    opts.__bindgen_anon_1.uprobe_multi.offsets = offsets.as_ptr();
    // SAFETY: prog is a loaded program; the path, offsets and opts outlive the call.
    let fd = unsafe { libbpf_sys::bpf_link_create(prog.0, 0, attach_type, &opts) };
    if fd >= 0 {
        close(fd);
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
}

/// A classic tracepoint (`sched:sched_switch`, found through tracefs) opens as a perf
/// event.
fn has_tracepoint() -> bool {
    let root = crate::host::system::ensure_mounted();
    let id = std::fs::read_to_string(root.join("events/sched/sched_switch/id"))
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    id.is_some_and(|id| open_perf(PERF_TYPE_TRACEPOINT, id, [0; 3]).is_ok())
}

/// A raw-tracepoint program loads and attaches to `sys_enter` (and is detached at once).
fn has_raw_tracepoint() -> bool {
    let how = Load {
        prog_type: libbpf_sys::BPF_PROG_TYPE_RAW_TRACEPOINT,
        ..Load::default()
    };
    let Ok(prog) = load(&how, &trivial()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated name and a loaded program.
    let fd = unsafe { libbpf_sys::bpf_raw_tracepoint_open(c"sys_enter".as_ptr(), prog.0) };
    close(fd)
}

/// A tracing program (fentry, fexit, iter) for BTF id `btf_id` loads.
fn has_tracing(btf_id: u32, attach_type: libbpf_sys::bpf_attach_type) -> bool {
    let how = Load {
        prog_type: libbpf_sys::BPF_PROG_TYPE_TRACING,
        attach_type,
        attach_btf_id: btf_id,
    };
    load(&how, &trivial()).is_ok()
}

/// A hardware write breakpoint on a variable of this process opens.
fn has_breakpoint() -> bool {
    static WATCHED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let addr = WATCHED.as_ptr() as u64;
    // bp_type in word 6 (upper half), bp_addr in word 7, bp_len in word 8.
    let mut attr = [0u64; 3];
    attr[0] = HW_BREAKPOINT_W << 32;
    attr[1] = addr;
    attr[2] = HW_BREAKPOINT_LEN_8;
    open_breakpoint(attr).is_ok()
}

/// Opens and closes at once a disabled perf event of `type_`/`config` on CPU 0 for
/// every process; `extra` are words 6 to 8 (`config1`/`config2` for the probe PMUs).
fn open_perf(type_: u32, config: u64, extra: [u64; 3]) -> std::io::Result<()> {
    perf_event_open(type_, config, extra, -1, 0)
}

/// A breakpoint event for this process on any CPU.
fn open_breakpoint(extra: [u64; 3]) -> std::io::Result<()> {
    perf_event_open(PERF_TYPE_BREAKPOINT, 0, extra, 0, -1)
}

fn perf_event_open(
    type_: u32,
    config: u64,
    extra: [u64; 3],
    pid: libc::pid_t,
    cpu: libc::c_int,
) -> std::io::Result<()> {
    /// `perf_event_attr.disabled`
    const DISABLED: u64 = 1;
    let mut attr = super::attach::perf_event::attr(type_, config);
    // A period, so breakpoints (which need one) and samplers open alike.
    attr[2] = 1;
    attr[5] = DISABLED;
    attr[6..9].copy_from_slice(&extra);
    let fd = super::attach::perf_event::open_attr(&attr, pid, cpu)?;
    close(fd as i32);
    Ok(())
}

/// Closes `fd` when it is one; true if it was.
fn close(fd: i32) -> bool {
    if fd < 0 {
        return false;
    }
    // SAFETY: the fd was just returned by the kernel and is owned here.
    unsafe { libc::close(fd) };
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_and_kfuncs_are_told_apart_from_what_is_not_one() {
        assert!(has_helper(helper::MAP_LOOKUP_ELEM));
        assert!(!has_helper(100_000), "no helper has that number");
        let host = System::new();
        // A kernel function that is no kfunc may not be called.
        let vfs_read = host.kernel_function("vfs_read").expect("vmlinux BTF");
        assert!(!kfunc_allowed(vfs_read));
        assert_eq!(instruction_limit(), Some(1_000_000));
    }
}
