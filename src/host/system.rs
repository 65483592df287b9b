//! The real machine's facts: tracepoints read from tracefs (located via /proc/mounts;
//! debugfs is not required), binaries read from disk. Nothing is read until asked.

use std::path::PathBuf;

use super::tracepoint::parse_format;
use super::{Binary, Btf, Host, KernelFeature, KernelFunc, TracepointFormat};

/// tracefs at its mount point, found on first use (programs without tracepoints never
/// read /proc/mounts).
#[derive(Default)]
pub struct System {
    root: std::cell::OnceCell<PathBuf>,
    /// Kernel functions already looked up in vmlinux BTF (parsed once, on first need).
    kfuncs: std::cell::RefCell<std::collections::BTreeMap<String, Option<u32>>>,
    /// vmlinux BTF, parsed on first need.
    btf: std::cell::OnceCell<Option<Btf>>,
    /// vmlinux BTF for listing, read on first need.
    btf_names: std::cell::OnceCell<Option<super::btf_names::Btf>>,
    /// The `-p` process.
    pid: Option<u32>,
}

impl System {
    /// A catalog that finds tracefs when first asked.
    pub fn new() -> System {
        System::default()
    }

    /// vmlinux BTF's names and prototypes, parsed once (`None` when the kernel exposes
    /// none).
    fn btf_names(&self) -> Option<&super::btf_names::Btf> {
        self.btf_names
            .get_or_init(|| {
                let bytes = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
                super::btf_names::Btf::parse(&bytes)
            })
            .as_ref()
    }

    /// The same catalog, tracing process `pid` (`-p`).
    pub fn with_pid(self, pid: Option<u32>) -> System {
        System { pid, ..self }
    }

    /// The tracefs mount (mounted at /sys/kernel/tracing when absent).
    fn root(&self) -> &PathBuf {
        self.root.get_or_init(|| {
            let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
            mounts
                .lines()
                .filter_map(|l| {
                    let mut f = l.split_whitespace();
                    let (_dev, dir, fs) = (f.next()?, f.next()?, f.next()?);
                    match fs {
                        "tracefs" => Some(PathBuf::from(dir)),
                        "debugfs" => Some(PathBuf::from(dir).join("tracing")),
                        _ => None,
                    }
                })
                .find(|p| p.join("events").is_dir())
                .unwrap_or_else(ensure_mounted)
        })
    }
}

/// Mounts tracefs at /sys/kernel/tracing when nothing provides it (fresh VMs often
/// boot without it); failure is left for the first tracepoint lookup to report.
pub fn ensure_mounted() -> PathBuf {
    let dir = PathBuf::from("/sys/kernel/tracing");
    if !dir.join("events").is_dir() {
        // SAFETY: mount(2) with valid NUL-terminated strings and no data.
        unsafe {
            libc::mount(
                c"nodev".as_ptr(),
                c"/sys/kernel/tracing".as_ptr(),
                c"tracefs".as_ptr(),
                0,
                std::ptr::null(),
            );
        }
    }
    dir
}

impl Host for System {
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<TracepointFormat> {
        if category.contains(['/', '.']) || name.contains(['/', '.']) {
            return None;
        }
        let text = std::fs::read_to_string(
            self.root()
                .join("events")
                .join(category)
                .join(name)
                .join("format"),
        )
        .ok()?;
        parse_format(&text)
    }

    fn tracepoints(&self) -> Vec<(String, String)> {
        let text =
            std::fs::read_to_string(self.root().join("available_events")).unwrap_or_default();
        let mut all: Vec<(String, String)> = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(c, n)| (c.to_string(), n.to_string()))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    fn check(&self, feature: KernelFeature) -> Result<(), String> {
        match feature {
            KernelFeature::Kprobes => pmu("kprobe"),
            KernelFeature::Uprobes => pmu("uprobe"),
            KernelFeature::Breakpoints => pmu("breakpoint"),
            // fprobe, behind kprobe_multi links, rides on the function tracer: no
            // readable function list, no fprobe.
            KernelFeature::KprobeMulti => pmu("kprobe").and_then(|()| {
                let list = self.root().join("available_filter_functions");
                std::fs::File::open(&list)
                    .map(drop)
                    .map_err(|e| format!("{} cannot be read ({e})", list.display()))
            }),
            KernelFeature::Fentry => {
                // SAFETY: probes by loading a trivial program; no options pointer.
                let r = unsafe {
                    libbpf_sys::libbpf_probe_bpf_prog_type(
                        libbpf_sys::BPF_PROG_TYPE_TRACING,
                        std::ptr::null(),
                    )
                };
                if r == 1 {
                    Ok(())
                } else {
                    Err("the kernel refuses to load BPF_PROG_TYPE_TRACING programs (fentry/fexit need BPF trampolines: CONFIG_FUNCTION_TRACER with direct calls)".into())
                }
            }
            KernelFeature::PerfEvent { type_, config } => open_perf_event(type_, config),
            KernelFeature::UprobeMulti => uprobe_multi(),
        }
    }

    fn binary(&self, path: &str) -> Result<Binary, String> {
        // With -p, a library name means the library the process maps (which need not
        // be where the system's libraries are).
        if let Some(pid) = self.pid
            && !path.contains('/')
            && let Ok(objects) = self.mapped_objects(pid)
            && let Some(found) = objects.iter().find(|o| {
                std::path::Path::new(o)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| super::elf::library_matches(path, n))
            })
        {
            return super::elf::read(found);
        }
        super::elf::read(path)
    }

    fn online_cpus(&self) -> u32 {
        // "0-1,4": ranges of CPU numbers.
        let list = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
        let n: u32 = list
            .trim()
            .split(',')
            .filter_map(|r| {
                let (a, b) = r.split_once('-').unwrap_or((r, r));
                Some(b.trim().parse::<u32>().ok()? - a.trim().parse::<u32>().ok()? + 1)
            })
            .sum();
        n.max(1)
    }

    fn possible_cpus(&self) -> u32 {
        // "0-3" or "0,2-5": the highest number listed, plus one.
        let list = std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
        let highest = list
            .trim()
            .split([',', '-'])
            .filter_map(|n| n.trim().parse::<u32>().ok())
            .max();
        highest.map_or(0, |h| h + 1).max(self.online_cpus())
    }

    fn kernel_symbol(&self, name: &str) -> Option<u64> {
        let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
        text.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            let (addr, _kind, sym) = (f.next()?, f.next()?, f.next()?);
            // Addresses read as 0 when kptr_restrict hides them: no use to a program.
            (sym == name)
                .then(|| u64::from_str_radix(addr, 16).ok())
                .flatten()
                .filter(|&a| a != 0)
        })
    }

    fn binary_symbol(&self, path: &str, name: &str) -> Result<Option<(u64, u64)>, String> {
        super::elf::symbol(path, name)
    }

    fn usdt_probes(&self, path: &str) -> Result<super::UsdtBinary, String> {
        super::usdt::read(path)
    }

    fn traced_pid(&self) -> Option<u32> {
        self.pid
    }

    fn mapped_objects(&self, pid: u32) -> Result<Vec<String>, String> {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .map_err(|e| format!("cannot read /proc/{pid}/maps: {e}"))?;
        Ok(super::usdt::mapped_objects(&maps))
    }

    fn tai_offset(&self) -> Option<u64> {
        let read = |id| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid timespec to fill.
            (unsafe { libc::clock_gettime(id, &mut ts) } == 0)
                .then(|| ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128)
        };
        // The boot clock read between two reads of TAI, the closest of five tries.
        let mut best: Option<(i128, i128)> = None;
        for _ in 0..5 {
            let (Some(before), Some(boot), Some(after)) = (
                read(libc::CLOCK_TAI),
                read(libc::CLOCK_BOOTTIME),
                read(libc::CLOCK_TAI),
            ) else {
                continue;
            };
            let spread = after - before;
            if spread >= 0 && best.is_none_or(|(s, _)| spread < s) {
                best = Some((spread, (before + after) / 2 - boot));
            }
        }
        best.and_then(|(_, d)| u64::try_from(d).ok())
    }

    fn kernel_functions(&self) -> Vec<KernelFunc> {
        match std::fs::read_to_string(self.root().join("available_filter_functions")) {
            Ok(text) => super::kallsyms::from_filter_functions(&text),
            Err(_) => super::kallsyms::from_kallsyms(
                &std::fs::read_to_string("/proc/kallsyms").unwrap_or_default(),
            ),
        }
    }

    fn max_stack_depth(&self) -> u32 {
        std::fs::read_to_string("/proc/sys/kernel/perf_event_max_stack")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(127)
    }

    fn btf(&self) -> Option<&Btf> {
        self.btf
            .get_or_init(|| {
                let bytes = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
                Btf::parse(bytes).ok()
            })
            .as_ref()
    }

    fn listed_kernel_functions(&self) -> Result<Vec<(String, String)>, String> {
        super::listing::kernel_functions(self.root())
    }

    fn raw_tracepoints(&self) -> Vec<(String, String)> {
        self.btf_names()
            .map(|b| super::listing::raw_tracepoints(b, "vmlinux"))
            .unwrap_or_default()
    }

    fn kernel_prototype(&self, name: &str) -> Option<super::Proto> {
        self.btf_names()?.prototype(name)
    }

    fn process_objects(&self, pid: u32) -> Result<Vec<String>, String> {
        super::listing::process_objects(pid)
    }

    fn kernel_function(&self, name: &str) -> Option<u32> {
        if let Some(&id) = self.kfuncs.borrow().get(name) {
            return id;
        }
        let id = libbpf_rs::btf::Btf::from_vmlinux().ok().and_then(|btf| {
            btf.type_by_name::<libbpf_rs::btf::types::Func>(name)
                .map(|f| u32::from(f.type_id()))
        });
        self.kfuncs.borrow_mut().insert(name.to_string(), id);
        id
    }
}

/// `Ok` when the kernel registered the perf event source `name` (kprobes and uprobes
/// register one each when configured in).
fn pmu(name: &str) -> Result<(), String> {
    let dir = format!("/sys/bus/event_source/devices/{name}");
    if std::path::Path::new(&dir).exists() {
        Ok(())
    } else {
        Err(format!("{dir} does not exist"))
    }
}

/// Opens (disabled) and closes a perf event of `type_`/`config` on the first CPU.
/// Whether `uprobe_multi` links exist, found the way libbpf finds out: a program
/// loaded for them, and a link on `/` (a directory) that fails with EBADF rather than
/// with "unknown attach type".
fn uprobe_multi() -> Result<(), String> {
    let insns = [
        libbpf_sys::bpf_insn {
            code: 0xb7, // r0 = 0
            _bitfield_align_1: [],
            _bitfield_1: libbpf_sys::bpf_insn::new_bitfield_1(0, 0),
            off: 0,
            imm: 0,
        },
        libbpf_sys::bpf_insn {
            code: 0x95, // exit
            _bitfield_align_1: [],
            _bitfield_1: libbpf_sys::bpf_insn::new_bitfield_1(0, 0),
            off: 0,
            imm: 0,
        },
    ];
    let mut load = libbpf_sys::bpf_prog_load_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
        expected_attach_type: libbpf_sys::BPF_TRACE_UPROBE_MULTI,
        ..Default::default()
    };
    // SAFETY: valid instructions, a NUL-terminated licence and sized options; the fd is
    // closed below.
    let prog = unsafe {
        libbpf_sys::bpf_prog_load(
            libbpf_sys::BPF_PROG_TYPE_KPROBE,
            std::ptr::null(),
            c"GPL".as_ptr(),
            insns.as_ptr(),
            insns.len() as _,
            &mut load,
        )
    };
    if prog < 0 {
        return Err(format!(
            "a uprobe_multi program does not load: {}",
            std::io::Error::last_os_error()
        ));
    }
    let offset: std::os::raw::c_ulong = 0;
    let mut link = libbpf_sys::bpf_link_create_opts {
        sz: std::mem::size_of::<libbpf_sys::bpf_link_create_opts>() as _,
        ..Default::default()
    };
    link.__bindgen_anon_1.uprobe_multi.path = c"/".as_ptr();
    link.__bindgen_anon_1.uprobe_multi.offsets = &offset;
    link.__bindgen_anon_1.uprobe_multi.cnt = 1;
    // SAFETY: prog is a valid fd; the options point to live data for the call.
    let fd =
        unsafe { libbpf_sys::bpf_link_create(prog, -1, libbpf_sys::BPF_TRACE_UPROBE_MULTI, &link) };
    let err = std::io::Error::last_os_error();
    // SAFETY: fds owned here.
    unsafe {
        if fd >= 0 {
            libc::close(fd);
        }
        libc::close(prog);
    }
    if fd < 0 && err.raw_os_error() == Some(libc::EBADF) {
        Ok(())
    } else {
        Err(format!("uprobe_multi links are not available: {err}"))
    }
}

fn open_perf_event(type_: u32, config: u64) -> Result<(), String> {
    /// `PERF_ATTR_SIZE_VER8`
    const ATTR_SIZE: usize = 136;
    /// `PERF_FLAG_FD_CLOEXEC`
    const PERF_FLAG_FD_CLOEXEC: u64 = 8;
    /// `perf_event_attr.disabled`: bit 0 of the flags word.
    const DISABLED: u64 = 1;
    let mut attr = [0u64; ATTR_SIZE / 8];
    attr[0] = type_ as u64 | ((ATTR_SIZE as u64) << 32);
    attr[1] = config;
    attr[5] = DISABLED;
    // SAFETY: attr is a valid, fully initialised perf_event_attr of the declared size;
    // the returned fd is closed right away.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            attr.as_ptr(),
            -1 as libc::pid_t,
            0,
            -1,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(format!(
            "perf_event_open(type {type_}, config {config}) on CPU 0: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: fd was just returned by perf_event_open and is owned here.
    unsafe { libc::close(fd as i32) };
    Ok(())
}

// Reading the files a user names (a program file, a binary to probe) safely: only
// regular files, opened without blocking (a FIFO never hangs scry), up to a size limit
// (`/dev/zero` is no endless read).

/// The whole of the regular file `path`, at most `limit` bytes.
pub fn read_regular(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut f = open_regular(path)?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    if size > limit {
        return Err(format!(
            "it is {size} bytes, more than the {limit} bytes scry reads"
        ));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // A file that grows while being read is still cut at the limit.
    f.by_ref()
        .take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// `path` opened for reading when it is a regular file (checked on the open file).
pub fn open_regular(path: &std::path::Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| e.to_string())?;
    let kind = f.metadata().map_err(|e| e.to_string())?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo_like() {
            "a FIFO or socket"
        } else {
            "a device or special file"
        };
        return Err(format!("it is {what}, not a regular file"));
    }
    Ok(f)
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}

impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo() || self.is_socket()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_limit() {
        let dir = std::env::temp_dir().join(format!("scry-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(read_regular(&file, 100).unwrap(), b"hello");
        assert!(read_regular(&file, 3).unwrap_err().contains("more than"));
        assert!(read_regular(&dir, 100).unwrap_err().contains("directory"));
        assert!(
            read_regular(std::path::Path::new("/dev/zero"), 100)
                .unwrap_err()
                .contains("device")
        );
        let fifo = dir.join("p");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Returns at once instead of waiting for a writer.
        assert!(read_regular(&fifo, 100).unwrap_err().contains("FIFO"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// What tracing needs and this process lacks, from its effective capabilities: loading
/// programs needs CAP_BPF, perf events and reading kernel memory CAP_PERFMON (CAP_SYS_ADMIN
/// covers both on kernels before 5.8 too), and tracefs is readable by root only
/// (CAP_DAC_OVERRIDE). None when nothing is missing or the capabilities cannot be read.
pub fn missing_capabilities() -> Option<Vec<&'static str>> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())?;
    missing_from(eff)
}

fn missing_from(eff: u64) -> Option<Vec<&'static str>> {
    const SYS_ADMIN: u32 = 21;
    const DAC_OVERRIDE: u32 = 1;
    const PERFMON: u32 = 38;
    const BPF: u32 = 39;
    let has = |c: u32| eff & (1 << c) != 0;
    let mut missing = Vec::new();
    if !has(SYS_ADMIN) {
        if !has(BPF) {
            missing.push("CAP_BPF");
        }
        if !has(PERFMON) {
            missing.push("CAP_PERFMON");
        }
    }
    if !has(DAC_OVERRIDE) {
        missing.push("CAP_DAC_OVERRIDE");
    }
    (!missing.is_empty()).then_some(missing)
}

#[cfg(test)]
mod capability_tests {
    use super::missing_from;

    #[test]
    fn root_lacks_nothing_and_a_user_lacks_all() {
        assert_eq!(missing_from(0x1ff_ffff_ffff), None);
        assert_eq!(
            missing_from(0),
            Some(vec!["CAP_BPF", "CAP_PERFMON", "CAP_DAC_OVERRIDE"])
        );
        // CAP_SYS_ADMIN stands for CAP_BPF and CAP_PERFMON.
        assert_eq!(missing_from(1 << 21 | 1 << 1), None);
        assert_eq!(missing_from(1 << 39 | 1 << 1), Some(vec!["CAP_PERFMON"]));
    }
}
