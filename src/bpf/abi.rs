//! Kernel ABI facts as data: the map and program types scry uses, with their numbers.

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
    /// `BPF_MAP_TYPE_LRU_HASH`
    LruHash,
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
            MapKind::LruHash => 9,
        }
    }

    /// True when each CPU has its own value.
    pub fn is_percpu(self) -> bool {
        matches!(self, MapKind::PercpuHash | MapKind::PercpuArray)
    }
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
    /// `BPF_PROG_TYPE_TRACING` (fentry/fexit), section `fentry/FUNC` or `fexit/FUNC`.
    Tracing,
}
