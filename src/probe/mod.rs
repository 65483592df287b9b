//! Every probe type, pure: spec parsing, wildcard expansion against the [`Host`], the
//! kernel mechanism each attach point uses ([`Target`]) and what its context offers
//! ([`Context`], with reads described as [`Access`] data that codegen lowers in one
//! place). The [`registry`] is the only place a probe kind is matched: adding a probe
//! type is one provider file plus its registry line.

pub mod arch;
pub mod fentry;
pub mod hardware;
pub mod interval;
pub mod kprobe;
pub mod list;
pub mod list_kernel;
pub mod perf;
pub mod profile;
pub mod rawtracepoint;
pub mod registry;
pub mod software;
pub mod special;
pub mod suggest;
pub mod tracepoint;
pub mod uprobe;
pub mod usdt;
pub mod watchpoint;

use crate::bpf::abi::ProgKind;
use crate::host::Host;

/// One probe type.
pub trait Provider: Sync {
    /// The name written before the first `:` (e.g. `tracepoint`).
    fn name(&self) -> &'static str;
    /// Other spellings (e.g. `t`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }
    /// Expands what follows `NAME:` into attach points, asking the host what exists.
    /// `text` is the whole spec as written, for messages.
    fn expand(&self, text: &str, rest: &str, host: &dyn Host) -> Result<Vec<Point>, SpecError>;
    /// Rewrites this provider's points of the whole program for cheaper kernel
    /// mechanisms (sharing programs, dispatchers); `tables` collects program arrays.
    fn plan(&self, _points: &mut [&mut Point], _tables: &mut Vec<TailTable>) {}
    /// A one-line note for stderr about how `rest` was served, when it is not what the
    /// spec says (kprobes on syscalls run on the syscall tracepoints).
    fn note(&self, _rest: &str, _points: &[Point], _host: &dyn Host) -> Option<String> {
        None
    }
    /// `-l`: this provider's probes that `query` matches, named as specs (see
    /// [`list`]); nothing by default.
    fn list(&self, query: &list::Query, host: &dyn Host) -> Result<Vec<list::Listed>, SpecError> {
        let _ = (query, host);
        Ok(Vec::new())
    }
    /// Which wildcard probe types (`-l '*:…'`) list this provider; by default only a
    /// pattern that names it.
    fn list_scope(&self) -> list::Scope {
        list::Scope::Named
    }
}

/// One attach point: what the user's probe body runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// The provider's name.
    pub provider: &'static str,
    /// Full probe name, the value of `probe` (e.g. `tracepoint:syscalls:sys_enter_read`).
    pub display: String,
    /// Short tag for the program's name in the object (`tp`, `uprobe`, ...).
    pub tag: &'static str,
    /// How the kernel runs it.
    pub target: Target,
    /// What the body can read.
    pub context: Context,
}

/// When a [`Target::TestRun`] program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunAt {
    /// After every probe is attached.
    Begin,
    /// Before the maps are printed.
    End,
    /// In test mode (`--test`), in order, each one a test that passes when it returns
    /// 0; ignored otherwise.
    Test,
}

/// How a perf event samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// Every N events (nanoseconds for the clocks).
    Period(u64),
    /// N times a second (the kernel adjusts the period).
    Freq(u64),
}

/// On which CPUs a perf event is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cpus {
    /// The first online CPU only (`interval`: one firing per period).
    First,
    /// One event per online CPU (`profile`, `software`, `hardware`).
    All,
}

/// The kernel mechanism a program attaches through. One runtime attach file each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Run once with `BPF_PROG_TEST_RUN` (a raw-tracepoint program).
    TestRun(RunAt),
    /// Classic tracepoint `category:name` (a perf event).
    Tracepoint {
        /// e.g. `syscalls`.
        category: String,
        /// e.g. `sys_enter_openat`.
        name: String,
    },
    /// Raw tracepoint `name`.
    RawTracepoint {
        /// e.g. `sys_enter`.
        name: String,
    },
    /// A perf event of `type_`/`config` with a BPF program on overflow.
    PerfEvent {
        /// `perf_event_attr.type` (`PERF_TYPE_*`).
        type_: u32,
        /// `perf_event_attr.config`.
        config: u64,
        /// Period or frequency.
        sample: Sample,
        /// Where it is opened.
        cpus: Cpus,
        /// Limited to the `-p`/`-c` process when there is one.
        follow_pid: bool,
    },
    /// A uprobe (or uretprobe) at `offset` bytes into the file `path`.
    Uprobe {
        /// Absolute path of the binary.
        path: String,
        /// File offset of the probed instruction.
        offset: u64,
        /// On return.
        ret: bool,
        /// File offset of a USDT semaphore the kernel counts up while the probe is
        /// attached (`ref_ctr_offset`).
        ref_ctr: Option<u64>,
    },
    /// A kprobe (or kretprobe) on kernel function `func` (`module:func` for a module's),
    /// `offset` bytes in.
    Kprobe {
        /// The function, as the kprobe PMU takes it (`vfs_read`, `ext4:ext4_file_open`).
        func: String,
        /// Bytes into the function.
        offset: u64,
        /// On return.
        ret: bool,
    },
    /// A BTF-typed trampoline on kernel function `func` (`fentry`, or `fexit` on
    /// return); libbpf finds the attach BTF id from the section name.
    Btf {
        /// The function.
        func: String,
        /// On return (`fexit`).
        ret: bool,
    },
    /// A hardware breakpoint (`PERF_TYPE_BREAKPOINT`) on `len` bytes at `addr`.
    Watchpoint {
        /// The watched address.
        addr: u64,
        /// Bytes watched (the kernel's `bp_len`).
        len: u64,
        /// `HW_BREAKPOINT_*` bits: R 1, W 2, X 4.
        mode: u32,
    },
    /// Not attached itself: slot `key` of program array `table`, whose dispatcher
    /// tail-calls it (a raw-tracepoint program).
    TailSlot {
        /// Index into the program's tail tables.
        table: usize,
        /// The slot.
        key: u32,
    },
}

impl Target {
    /// The program type and ELF section (as libbpf names them) of a program that
    /// attaches through this mechanism. Tail-called programs are raw-tracepoint programs,
    /// like the dispatchers that call them.
    pub fn program(&self) -> (ProgKind, String) {
        match self {
            Target::TestRun(_) | Target::RawTracepoint { .. } | Target::TailSlot { .. } => {
                (ProgKind::RawTracepoint, "raw_tp".into())
            }
            Target::Tracepoint { category, name } => (
                ProgKind::Tracepoint,
                format!("tracepoint/{category}/{name}"),
            ),
            Target::PerfEvent { .. } | Target::Watchpoint { .. } => {
                (ProgKind::PerfEvent, "perf_event".into())
            }
            Target::Kprobe { ret, .. } => (
                ProgKind::Kprobe,
                if *ret { "kretprobe" } else { "kprobe" }.into(),
            ),
            Target::Btf { func, ret } => (
                ProgKind::Tracing,
                format!("{}/{func}", if *ret { "fexit" } else { "fentry" }),
            ),
            Target::Uprobe { ret, .. } => (
                ProgKind::Kprobe,
                if *ret { "uretprobe" } else { "uprobe" }.into(),
            ),
        }
    }
}

impl Target {
    /// True when the program's context starts with the probed task's `struct pt_regs`
    /// (kprobes, uprobes, perf events), so `reg()` reads it directly.
    pub fn has_pt_regs(&self) -> bool {
        matches!(
            self,
            Target::Kprobe { .. }
                | Target::Uprobe { .. }
                | Target::PerfEvent { .. }
                | Target::Watchpoint { .. }
        )
    }

    /// True when the mechanism belongs to one process and needs `-p` or `-c` (a
    /// watchpoint on a user-space address).
    pub fn needs_process(&self) -> bool {
        matches!(self, Target::Watchpoint { addr, .. } if *addr < watchpoint::KERNEL_START)
    }
}

/// A program array and the dispatcher program that tail-calls into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailTable {
    /// Map name in the object.
    pub name: String,
    /// Slots.
    pub size: u32,
    /// The raw tracepoint the dispatcher attaches to.
    pub tracepoint: String,
    /// How the dispatcher picks the slot.
    pub dispatch: Dispatch,
}

/// Dispatcher kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// `raw_syscalls:sys_enter` (`enter`) or `sys_exit`: by system call number,
    /// skipping 32-bit compat calls.
    Syscall {
        /// Entry (true) or exit.
        enter: bool,
    },
}

/// Where a context value is read from. Codegen lowers each kind in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `size` bytes at `ctx + off`.
    Ctx {
        /// Offset in the context.
        off: u32,
        /// Bytes to load (1, 2, 4, 8, or a char array's length).
        size: u32,
    },
    /// A `__data_loc` field: the u32 at `ctx + off` holds `(len << 16) | offset` of bytes
    /// at `ctx + offset` (variable-length strings of tracepoints).
    DataLoc {
        /// Offset of the locator in the context.
        off: u32,
    },
    /// `size` bytes at kernel address `*(u64 *)(ctx + ptr) + off`, read with
    /// `bpf_probe_read_kernel` (e.g. a register in the `pt_regs` a raw tracepoint
    /// passes).
    CtxPtr {
        /// Offset of the pointer in the context.
        ptr: u32,
        /// Offset from the pointer.
        off: u32,
        /// Bytes to read.
        size: u32,
    },
    /// Nothing to read: the value is 0 (a syscall argument beyond the syscall's own,
    /// which its tracepoint record does not hold).
    Zero,
    /// A USDT probe's argument, as its note describes it.
    Usdt(usdt::UsdtArg),
}

impl Access {
    /// True when the read goes through a helper that can fail, so codegen counts its
    /// failures at the reading expression (a USDT argument in memory).
    pub fn reads_memory(&self) -> bool {
        matches!(self, Access::Usdt(a) if a.reads_memory())
    }

    /// The type of `argN` read through this access: `int64` for a signed USDT
    /// argument, else `uint64`.
    pub fn arg_ty(&self) -> crate::lang::ty::Ty {
        match self {
            Access::Usdt(a) if a.signed => crate::lang::ty::Ty::I64,
            _ => crate::lang::ty::Ty::U64,
        }
    }

    /// The same access at a tracepoint field described as `__data_loc`: the u32 at
    /// `off` locates the bytes within the record.
    pub fn data_loc(self) -> Access {
        match self {
            Access::Ctx { off, .. } => Access::DataLoc { off },
            other => other,
        }
    }
}

/// Which address space pointers found in a context point into.
pub use crate::lang::ty::AddrSpace;

/// A named field of the context (`args.NAME`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Name.
    pub name: String,
    /// C type as the kernel describes it, e.g. `const char *`, `char[16]`.
    pub c_type: String,
    /// Size in bytes.
    pub size: u32,
    /// Signed integer.
    pub signed: bool,
    /// Where it is read from.
    pub access: Access,
}

/// What a probe body can read besides the builtins every probe has.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Context {
    /// `args.NAME` fields (`None`: this probe has no `args`).
    pub fields: Option<Vec<Field>>,
    /// `arg0`, `arg1`, ...: function arguments in registers.
    pub args: Vec<Access>,
    /// `args` is every argument the probe has (a USDT probe's note), so an `argN` past
    /// them is E0210 rather than a register the probe type lacks.
    pub args_complete: bool,
    /// `retval`.
    pub retval: Option<Access>,
    /// `func`: the probed function's name.
    pub func: Option<String>,
    /// Where pointers among the arguments point.
    pub space: AddrSpace,
}

/// Why a spec was rejected: message plus a help line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// Stable diagnostic code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The label under the spec.
    pub label: &'static str,
    /// How to fix it.
    pub help: String,
}

impl SpecError {
    /// An error with a code, message and help line, labelled "in this probe".
    pub fn new(code: &'static str, message: impl Into<String>, help: impl Into<String>) -> Self {
        SpecError {
            code,
            message: message.into(),
            label: "in this probe",
            help: help.into(),
        }
    }

    /// The same error with another label.
    pub fn labeled(self, label: &'static str) -> Self {
        SpecError { label, ..self }
    }
}

/// Shell-style wildcard match with `*` and `?`.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// True if `s` contains wildcard characters.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("sys_enter_*", "sys_enter_read"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("s?s_*_read", "sys_enter_read"));
        assert!(!wildcard_match("sys_exit_*", "sys_enter_read"));
        assert!(wildcard_match("*read*", "sys_enter_pread64"));
        assert!(!wildcard_match("a*b", "acbc"));
    }
}
