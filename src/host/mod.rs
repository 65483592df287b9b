//! Compile-time facts about this machine: which tracepoints exist and their layout, the
//! functions of ELF binaries, kernel features. Sema and the probe providers ask through
//! the [`Host`] trait, so everything they do is testable without root; [`system::System`]
//! answers for the real machine.

pub mod btf;
pub mod btf_names;
pub mod elf;
pub mod fake;
pub mod kallsyms;
pub mod listing;
pub mod system;
pub mod tracepoint;
pub mod usdt;
pub mod x86;

pub use btf::{Btf, BtfFunc, BtfParam};
pub use btf_names::{Param, Proto};
pub use elf::{Binary, Func};
pub use kallsyms::KernelFunc;
pub use tracepoint::{TpField, TracepointFormat};
pub use usdt::{UsdtBinary, UsdtProbe};

/// A kernel facility a probe type needs, checked on the running kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelFeature {
    /// Dynamic kernel probes (`CONFIG_KPROBES`).
    Kprobes,
    /// Dynamic user probes (`CONFIG_UPROBES`).
    Uprobes,
    /// `uprobe_multi` links (Linux 6.6+): many uprobes of one program in one link.
    UprobeMulti,
    /// `kprobe_multi` links: many functions, one program, one link (`CONFIG_FPROBE`).
    KprobeMulti,
    /// BTF trampolines: the kernel loads `BPF_PROG_TYPE_TRACING` fentry programs.
    Fentry,
    /// Hardware breakpoints (`CONFIG_HAVE_HW_BREAKPOINT`: the `breakpoint` PMU).
    Breakpoints,
    /// A perf event of `type_`/`config` can be opened (hardware events need a PMU).
    PerfEvent {
        /// `PERF_TYPE_*`.
        type_: u32,
        /// The event.
        config: u64,
    },
}

/// What sema and the probe providers may ask of the machine.
pub trait Host {
    /// `Ok` when the kernel has `feature`; otherwise what was checked and found missing,
    /// e.g. `/sys/bus/event_source/devices/kprobe does not exist`.
    fn check(&self, feature: KernelFeature) -> Result<(), String> {
        let _ = feature;
        Ok(())
    }
    /// Layout of tracepoint `category:name`; `None` if there is no such tracepoint.
    fn tracepoint_format(&self, category: &str, name: &str) -> Option<TracepointFormat>;
    /// Every tracepoint as `(category, name)`, sorted. Only called to expand wildcards.
    fn tracepoints(&self) -> Vec<(String, String)>;
    /// The function symbols of the binary `path` (a path, a command found in `$PATH`,
    /// or a library name such as `libc`); an error says why it cannot be read.
    fn binary(&self, path: &str) -> Result<Binary, String> {
        Err(format!("cannot read `{path}`: no binaries in this catalog"))
    }
    /// How many CPUs are online.
    fn online_cpus(&self) -> u32 {
        1
    }
    /// How many CPU numbers a per-CPU map has a slot for: one more than the highest
    /// possible CPU (the kernel's `nr_cpu_ids`), at least the online count.
    fn possible_cpus(&self) -> u32 {
        self.online_cpus()
    }
    /// The vmlinux BTF id of the kernel function (kfunc) `name`, if this kernel has it
    /// (e.g. `bpf_strnstr`, Linux 6.17 and later).
    fn kernel_function(&self, name: &str) -> Option<u32> {
        let _ = name;
        None
    }
    /// The address of kernel symbol `name` (`/proc/kallsyms`), if there is one.
    fn kernel_symbol(&self, name: &str) -> Option<u64> {
        let _ = name;
        None
    }
    /// The address and size of symbol `name` (a function or an object) in the binary
    /// `path`; `Ok(None)` when it has no such symbol.
    fn binary_symbol(&self, path: &str, name: &str) -> Result<Option<(u64, u64)>, String> {
        let _ = name;
        Err(format!("cannot read `{path}`: no binaries in this catalog"))
    }
    /// The kernel functions kprobes can name, sorted (tracefs's
    /// `available_filter_functions`, else `/proc/kallsyms`).
    fn kernel_functions(&self) -> Vec<KernelFunc> {
        Vec::new()
    }
    /// The most frames the kernel records in a stack (`kernel.perf_event_max_stack`).
    fn max_stack_depth(&self) -> u32 {
        127
    }
    /// The kernel's own BTF (vmlinux), if it has one.
    fn btf(&self) -> Option<&Btf> {
        None
    }
    /// `CLOCK_TAI` − `CLOCK_BOOTTIME` in nanoseconds now, for `nsecs(sw_tai)`.
    fn tai_offset(&self) -> Option<u64> {
        None
    }
    /// The kernel functions a kprobe may name, as `(module, name)` sorted (`vmlinux`
    /// for the kernel itself), for listing; an error says why none could be read.
    fn listed_kernel_functions(&self) -> Result<Vec<(String, String)>, String> {
        Ok(Vec::new())
    }
    /// The raw tracepoints kernel BTF describes, as `(module, name)` sorted.
    fn raw_tracepoints(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The prototype kernel BTF gives function `name` (e.g. `vfs_read`,
    /// `__probestub_sched_switch`), if any.
    fn kernel_prototype(&self, name: &str) -> Option<Proto> {
        let _ = name;
        None
    }
    /// The files process `pid` maps code from, for `-l 'uprobe:*' -p PID`.
    fn process_objects(&self, pid: u32) -> Result<Vec<String>, String> {
        Err(format!("no process {pid} in this catalog"))
    }
    /// The USDT probe sites (`.note.stapsdt`) of the binary `path`, found as
    /// [`Host::binary`] finds it; an error says why it cannot be read.
    fn usdt_probes(&self, path: &str) -> Result<UsdtBinary, String> {
        Err(format!("cannot read `{path}`: no binaries in this catalog"))
    }
    /// The process given with `-p`, if any.
    fn traced_pid(&self) -> Option<u32> {
        None
    }
    /// The files process `pid` maps executable (`/proc/PID/maps`), the executable first.
    fn mapped_objects(&self, pid: u32) -> Result<Vec<String>, String> {
        Err(format!("cannot read the mappings of process {pid} here"))
    }
}
