//! The one contract between codegen and the runtime: the object bytes and a manifest of
//! what they hold (programs with source maps, how each attaches, user maps, events).
//! The runtime needs nothing else from compilation.

use crate::bpf::abi::MapKind;
use crate::diag::Span;
use crate::lang::agg::ValueKind;
use crate::lang::ty::Ty;
use crate::probe::Target;

/// The longest range a `for` loop runs: `bpf_loop`'s limit (`BPF_MAX_LOOPS`); a longer
/// one runs no iteration and is counted at its loop ([`Manifest::loop_sites`]).
pub const MAX_RANGE: u64 = 1 << 23;

/// One attachment of one program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeAttach {
    /// Index into [`Manifest::programs`].
    pub prog: usize,
    /// The kernel mechanism it attaches through.
    pub target: Target,
    /// Full probe name for messages, e.g. `tracepoint:syscalls:sys_enter_getpid`.
    pub display: String,
    /// scry's own program (a dispatcher), not counted as a user probe.
    pub internal: bool,
    /// The attach cookie: the point's index among those of its program.
    pub cookie: u64,
}

/// A user-visible map (`@name`) and its layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapMeta {
    /// Name as printed, including `@` (e.g. `@`, `@calls`).
    pub name: String,
    /// Index into [`Manifest::bpf_maps`].
    pub bpf_map: usize,
    /// Key element types, laid out with [`crate::lang::ty::tuple_layout`]. Empty for `@x`
    /// without brackets: the BPF key is then a zero of the map's key size, to be ignored.
    pub keys: Vec<Ty>,
    /// Value kind.
    pub value: ValueKind,
}

/// One ring-buffer event kind. Every record starts with a u64 event id (index into
/// [`Manifest::events`]); arguments follow at the offsets given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `printf(format, args...)`.
    Printf {
        /// Format string as written (escapes decoded).
        format: String,
        /// Argument types and their byte offsets in the record.
        args: Vec<(Ty, u32)>,
    },
    /// `print(value)`: one value of type `ty` at byte offset `at`.
    Print {
        /// The value's type.
        ty: Ty,
        /// Its offset in the record.
        at: u32,
    },
    /// `print(@m, ...)`, `clear(@m)`, `zero(@m)` on user map `map` (an index into
    /// [`Manifest::maps`]).
    Map {
        /// Which user map.
        map: usize,
        /// What to do.
        action: crate::lang::agg::MapAction,
    },
    /// `join(array, sep)`: a u64 count at offset 8, then that many NUL-padded strings of
    /// `len` bytes each from offset 16; printed joined by `sep`, then a newline.
    Join {
        /// The separator.
        sep: Vec<u8>,
        /// Bytes per string slot.
        len: u32,
    },
    /// `time(fmt)`: print the wall-clock time in `strftime(3)`'s `format`.
    Time {
        /// The format (bpftrace's `%f` for microseconds included).
        format: String,
    },
    /// `errorf(fmt, ...)` / `warnf(fmt, ...)`: the formatted message on the error
    /// stream after the location of the call (`span`).
    Message {
        /// An error (else a warning).
        error: bool,
        /// The format.
        format: String,
        /// Argument types and offsets, as for printf.
        args: Vec<(Ty, u32)>,
        /// The call.
        span: Span,
    },
    /// `cat(fmt, ...)`: print the file the formatted path names.
    Cat {
        /// The path's format.
        format: String,
        /// Argument types and offsets, as for printf.
        args: Vec<(Ty, u32)>,
    },
    /// `system(fmt, ...)`: run the formatted command with `/bin/sh -c`, print its output.
    System {
        /// The command's format.
        format: String,
        /// Argument types and offsets, as for printf.
        args: Vec<(Ty, u32)>,
    },
    /// `exit()`: stop tracing.
    Exit,
    /// A process the program took a user stack of for the first time: its pid (u32 at
    /// offset 8) and start time (u64 at offset 16), so the runtime records its mappings
    /// while it runs.
    Process,
}

impl EventKind {
    /// The format and argument layout of an event rendered with a printf format.
    pub fn format(&self) -> Option<(&str, &[(Ty, u32)])> {
        match self {
            EventKind::Printf { format, args }
            | EventKind::Message { format, args, .. }
            | EventKind::Cat { format, args }
            | EventKind::System { format, args } => Some((format, args)),
            _ => None,
        }
    }
}

/// A program in the object: its name (how the runtime finds it) and where its
/// instructions came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramInfo {
    /// Program (function symbol) name in the object.
    pub name: String,
    /// For each slot that starts a source construct: (slot, span), ascending by slot.
    pub source_map: Vec<(usize, Span)>,
    /// Spans of the `while` loops in the program (a verifier that cannot bound one is
    /// reported at the loop).
    pub loops: Vec<Span>,
    /// Loaded for `uprobe_multi` links: its uprobes attach through one link per
    /// binary, never one by one.
    pub multi: bool,
}

impl ProgramInfo {
    /// The span of the source construct that produced slot `insn`, if known.
    pub fn span_of(&self, insn: usize) -> Option<Span> {
        let i = self.source_map.partition_point(|&(slot, _)| slot <= insn);
        i.checked_sub(1).map(|i| self.source_map[i].1)
    }
}

/// A BPF map in the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    /// Map name in the object.
    pub name: String,
    /// Map type.
    pub kind: MapKind,
    /// Capacity in entries (ring buffer: bytes).
    pub max_entries: u32,
    /// Key size in bytes (0 for the ring buffer).
    pub key_size: u32,
    /// Value size in bytes (0 for the ring buffer).
    pub value_size: u32,
}

/// Everything the runtime needs besides the object bytes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Manifest {
    /// Programs, in object order.
    pub programs: Vec<ProgramInfo>,
    /// BPF maps, in object order.
    pub bpf_maps: Vec<MapInfo>,
    /// The BPF map of each tail table ([`Target::TailSlot::table`] indexes this).
    pub tables: Vec<usize>,
    /// Attachments, in source order of the probes.
    pub probes: Vec<ProbeAttach>,
    /// User maps.
    pub maps: Vec<MapMeta>,
    /// Event kinds by id.
    pub events: Vec<EventKind>,
    /// Index of the ring buffer in [`Manifest::bpf_maps`], if any event is emitted.
    pub ringbuf: Option<usize>,
    /// The largest record a program reserves in the ring buffer, in bytes (the ring
    /// buffer must hold it with its 8-byte header).
    pub largest_record: u32,
    /// The one-slot per-CPU counter of events the ring buffer had no room for.
    pub lost_map: Option<usize>,
    /// The one-slot array that `exit()` sets (an `exit()` is never lost, even when the
    /// ring buffer is full).
    pub exit_map: Option<usize>,
    /// The per-CPU array counting failed memory reads, one slot per entry of
    /// [`Manifest::read_sites`].
    pub read_errors: Option<usize>,
    /// Where each counted read is in the source.
    pub read_sites: Vec<Span>,
    /// The entries of [`Manifest::read_sites`] that are range loops run by `bpf_loop`,
    /// counted when a range was too long to run.
    pub loop_sites: Vec<Span>,
    /// The entries of [`Manifest::read_sites`] that are stacks (`kstack`, `ustack`),
    /// counted when the kernel could not walk the stack.
    pub stack_sites: Vec<Span>,
    /// The stack tables: (stack depth, index into [`Manifest::bpf_maps`]), each keyed
    /// by a stack's id (u64), holding its frame count (u64) and frames.
    pub stack_tables: Vec<(u32, usize)>,
    /// The one-slot array the runtime sets to the monotonic time it started at, for
    /// `elapsed`.
    pub start_map: Option<usize>,
    /// The per-CPU array counting updates of each user map (slot = index into
    /// [`Manifest::maps`]) that failed because the map was full.
    pub update_errors: Option<usize>,
    /// The names maps of shared programs (index in [`Manifest::bpf_maps`]) and their
    /// entries by cookie, which the runtime writes before attaching.
    pub point_names: Vec<(usize, Vec<Vec<u8>>)>,
}

/// What codegen hands the runtime: the object and its manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    /// A relocatable BPF ELF object, as `--emit-elf` writes it.
    pub object: Vec<u8>,
    /// What the object holds.
    pub manifest: Manifest,
}
