//! What codegen hands on: the backend-neutral [`Module`] (maps and programs as BPF
//! instructions — the ELF writer's input) and [`Meta`] (what the runtime needs to attach
//! programs and to decode maps and events). Pure data.

use crate::bpf::Insn;
use crate::diag::Span;
use crate::types::Ty;

/// Kernel map types used by scry (`enum bpf_map_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `BPF_MAP_TYPE_HASH`
    Hash,
    /// `BPF_MAP_TYPE_ARRAY`
    Array,
    /// `BPF_MAP_TYPE_PERCPU_HASH`
    PercpuHash,
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`
    PercpuArray,
    /// `BPF_MAP_TYPE_STACK_TRACE`
    StackTrace,
    /// `BPF_MAP_TYPE_PROG_ARRAY` (tail-call targets)
    ProgArray,
    /// `BPF_MAP_TYPE_RINGBUF`
    Ringbuf,
}

impl MapKind {
    /// The kernel's numeric map type.
    pub fn bpf_type(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array => 2,
            MapKind::PercpuHash => 5,
            MapKind::PercpuArray => 6,
            MapKind::StackTrace => 7,
            MapKind::ProgArray => 3,
            MapKind::Ringbuf => 27,
        }
    }

    /// True when each CPU has its own value.
    pub fn is_percpu(self) -> bool {
        matches!(self, MapKind::PercpuHash | MapKind::PercpuArray)
    }
}

/// One BPF map definition (becomes a BTF-defined map in `.maps`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// BPF object name: ≤ 15 chars of `[A-Za-z0-9_]`, unique in the module.
    pub name: String,
    /// Map type.
    pub kind: MapKind,
    /// Key size in bytes (0 for ring buffers).
    pub key_size: u32,
    /// Value size in bytes (0 for ring buffers).
    pub value_size: u32,
    /// Entries (ring buffer: byte size, a power-of-two multiple of the page size).
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
}

/// Kernel program types used by scry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgKind {
    /// `BPF_PROG_TYPE_TRACEPOINT`, section `tracepoint/<cat>/<name>`.
    Tracepoint,
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`, section `raw_tp/<name>` or `raw_tp` (BEGIN/END).
    RawTracepoint,
    /// `BPF_PROG_TYPE_PERF_EVENT`, section `perf_event`.
    PerfEvent,
    /// `BPF_PROG_TYPE_KPROBE` (kprobes and uprobes), section `kprobe`/`uprobe`.
    Kprobe,
}

/// A map load to patch: the `ld_imm64` at `insn` loads the fd of map `map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapReloc {
    /// Slot index of the first half of the `ld_imm64`.
    pub insn: usize,
    /// Index into [`Module::maps`].
    pub map: usize,
}

/// One program.
#[derive(Clone, Debug, PartialEq)]
pub struct Prog {
    /// ELF section name, the way libbpf expects it.
    pub section: String,
    /// Program (function symbol) name: ≤ 15 chars of `[A-Za-z0-9_]`, unique.
    pub name: String,
    /// Program type.
    pub kind: ProgKind,
    /// Instruction slots.
    pub insns: Vec<Insn>,
    /// Map loads to relocate.
    pub map_relocs: Vec<MapReloc>,
    /// For each slot that starts a source construct: (slot, span), ascending by slot.
    pub source_map: Vec<(usize, Span)>,
}

impl Prog {
    /// The span of the source construct that produced slot `insn`, if known.
    pub fn span_of(&self, insn: usize) -> Option<Span> {
        let i = self.source_map.partition_point(|&(slot, _)| slot <= insn);
        i.checked_sub(1).map(|i| self.source_map[i].1)
    }
}

/// Maps and programs: the input of the ELF writer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    /// Map definitions.
    pub maps: Vec<MapDef>,
    /// Programs.
    pub progs: Vec<Prog>,
}

/// Where and how a program attaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attach {
    /// Run once with `BPF_PROG_TEST_RUN` after everything is attached.
    Begin,
    /// Run once with `BPF_PROG_TEST_RUN` before maps are printed.
    End,
    /// Classic tracepoint `category:name`.
    Tracepoint {
        /// e.g. `syscalls`.
        category: String,
        /// e.g. `sys_enter_openat`.
        name: String,
    },
    /// A uprobe (or uretprobe) at `offset` bytes into the file `path`.
    Uprobe {
        /// Absolute path of the binary.
        path: String,
        /// File offset of the probed instruction.
        offset: u64,
        /// On return.
        ret: bool,
    },
    /// Not attached itself: tail-called by the `raw_syscalls` dispatcher for syscall
    /// `nr` (the program serves tracepoint `syscalls:sys_enter_*`/`sys_exit_*`).
    SyscallTail {
        /// Index into `Module::maps` of the dispatcher's program array.
        table: usize,
        /// Syscall number: the slot of the array.
        nr: u32,
    },
    /// scry's own program on raw tracepoint `tracepoint` that tail-calls the program for
    /// each syscall number from `table`. Not a user probe.
    Dispatch {
        /// `sys_enter` or `sys_exit`.
        tracepoint: String,
        /// Index into `Module::maps` of the program array.
        table: usize,
    },
    /// Software `cpu-clock` perf event on one CPU, firing every `period_ns`.
    Interval {
        /// Period in nanoseconds.
        period_ns: u64,
    },
}

/// One attachment of one program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeAttach {
    /// Index into [`Module::progs`].
    pub prog: usize,
    /// How to attach.
    pub attach: Attach,
    /// Full probe name for messages, e.g. `tracepoint:syscalls:sys_enter_getpid`.
    pub display: String,
}

/// What a user map's value holds and how to merge and print it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// `count()`: u64 per CPU, summed.
    Count,
    /// `sum(x)`: 64-bit per CPU, summed.
    Sum {
        /// Print as signed.
        signed: bool,
    },
    /// Plain assignment `@x = v`: one value (not per CPU).
    Scalar(Ty),
    /// `avg(x)`: `{sum, count}` per CPU; printed as the truncated signed mean.
    Avg,
    /// `stats(x)`: `{sum, count}` per CPU; printed as count, average and total.
    Stats,
    /// `min(x)`: `{value, set}` per CPU; the smallest set value, signed.
    Min,
    /// `max(x)`: `{value, set}` per CPU; the largest set value, signed.
    Max,
    /// `hist(x)`: a per-CPU u64 count per power-of-two bucket; the bucket index
    /// ([`hist_bucket`]) is the last key element (or the array index when unkeyed).
    Hist,
    /// `lhist(x, min, max, step)`: like [`ValueKind::Hist`] with linear buckets
    /// ([`Lhist::bucket`]).
    Lhist(Lhist),
}

/// Number of `hist()` buckets: negative, zero, then one per power of two up to 2^63.
pub const HIST_BUCKETS: u32 = 66;

/// The `hist()` bucket of `v`: 0 for negatives, 1 for zero, `2 + log2(v)` otherwise.
pub fn hist_bucket(v: i64) -> u32 {
    match v {
        ..0 => 0,
        0 => 1,
        _ => 2 + 63 - v.leading_zeros(),
    }
}

/// Parameters of a linear histogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lhist {
    /// Lowest bucketed value.
    pub min: i64,
    /// Values at or above it go to the last bucket.
    pub max: i64,
    /// Bucket width (> 0).
    pub step: i64,
}

impl Lhist {
    /// Buckets: below `min`, one per step (the last one cut at `max`), then `max` and up.
    pub fn buckets(&self) -> u32 {
        ((self.max - self.min + self.step - 1) / self.step) as u32 + 2
    }

    /// The bucket of `v`.
    pub fn bucket(&self, v: i64) -> u32 {
        if v < self.min {
            0
        } else if v >= self.max {
            self.buckets() - 1
        } else {
            ((v - self.min) / self.step) as u32 + 1
        }
    }
}

impl ValueKind {
    /// True for the histogram kinds, whose last key element is the bucket.
    pub fn is_hist(&self) -> bool {
        matches!(self, ValueKind::Hist | ValueKind::Lhist(_))
    }

    /// Number of buckets of a histogram kind.
    pub fn hist_buckets(&self) -> Option<u32> {
        match self {
            ValueKind::Hist => Some(HIST_BUCKETS),
            ValueKind::Lhist(l) => Some(l.buckets()),
            _ => None,
        }
    }
}

/// A user-visible map (`@name`) and its layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapMeta {
    /// Name as printed, including `@` (e.g. `@`, `@calls`).
    pub name: String,
    /// Index into [`Module::maps`].
    pub bpf_map: usize,
    /// Key element types, laid out with [`crate::types::tuple_layout`]. Empty for `@x`
    /// without brackets: the BPF key is then a zero of the map's key size, to be ignored.
    pub keys: Vec<Ty>,
    /// Value kind.
    pub value: ValueKind,
}

/// One ring-buffer event kind. Every record starts with a u64 event id (index into
/// [`Meta::events`]); arguments follow at the offsets given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `printf(format, args...)`.
    Printf {
        /// Format string as written (escapes decoded).
        format: String,
        /// Argument types and their byte offsets in the record.
        args: Vec<(Ty, u32)>,
    },
    /// `exit()`: stop tracing.
    Exit,
}

/// Everything the runtime needs besides the object itself.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Meta {
    /// Attachments, in source order of the probes.
    pub probes: Vec<ProbeAttach>,
    /// User maps.
    pub maps: Vec<MapMeta>,
    /// Event kinds by id.
    pub events: Vec<EventKind>,
    /// Index of the ring buffer in [`Module::maps`], if any event is emitted.
    pub ringbuf: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_functions() {
        assert_eq!(hist_bucket(-1), 0);
        assert_eq!(hist_bucket(0), 1);
        assert_eq!(hist_bucket(1), 2);
        assert_eq!(hist_bucket(3), 3);
        assert_eq!(hist_bucket(4), 4);
        assert_eq!(hist_bucket(i64::MAX), 64);
        let l = Lhist {
            min: -10,
            max: 10,
            step: 3,
        };
        assert_eq!(l.buckets(), 9);
        assert_eq!(l.bucket(-11), 0);
        assert_eq!(l.bucket(-10), 1);
        assert_eq!(l.bucket(9), 7);
        assert_eq!(l.bucket(10), 8);
    }
}
