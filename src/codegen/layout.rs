//! Decides how user maps, the ring buffer and event records are laid out: BPF map types,
//! key offsets, value sizes, event ids and argument offsets.

use crate::artifact::{EventKind, MapMeta};
use crate::diag::Span;
use crate::lang::agg::ValueKind;
use crate::lang::ty::{Ty, round_up, tuple_layout};
use crate::object::module::{MapDef, MapKind};
use crate::sema::hir;

/// Ring-buffer size in bytes (a power-of-two multiple of the page size).
pub const RINGBUF_BYTES: u32 = 1 << 20;

/// Layout of one user map.
#[derive(Clone, Debug)]
pub struct MapLayout {
    /// Index into `Module::maps`.
    pub bpf_map: usize,
    /// BPF map type.
    pub kind: MapKind,
    /// Key element types.
    pub key_types: Vec<Ty>,
    /// Offset of each key element.
    pub key_offsets: Vec<u32>,
    /// Key size in bytes.
    pub key_size: u32,
    /// True when key elements leave padding bytes that must be zeroed.
    pub key_padded: bool,
    /// Value size in bytes.
    pub value_size: u32,
    /// What the value holds (how a read combines per-CPU values).
    pub value: ValueKind,
}

/// Layout of everything a program shares.
#[derive(Debug, Default)]
pub struct Layout {
    /// By hir map id.
    pub maps: Vec<MapLayout>,
    /// The ring buffer's index in `Module::maps`.
    pub ringbuf: Option<usize>,
    /// The per-CPU counter of records the ring buffer had no room for.
    pub lost: Option<usize>,
    /// The flag `exit()` sets.
    pub exit_flag: Option<usize>,
    /// Per printf event: argument offsets in the record.
    pub events: Vec<Vec<u32>>,
    /// Per printf event: record size.
    pub event_sizes: Vec<u32>,
    /// Event id of `exit()`.
    pub exit_event: usize,
    /// Event id of a process first seen by a user stack, and the LRU hash of the
    /// processes seen (key: the stack's 16-byte process header), when the program
    /// takes user stacks.
    pub process_event: Option<(usize, usize)>,
    /// The `kstack`/`ustack` expressions among `read_sites` (a stack that could not be
    /// kept counts as a failed read there).
    pub stack_sites: Vec<crate::diag::Span>,
    /// The stack tables, one per stack depth the program uses: (depth, map index);
    /// keyed by a stack's id, holding its frame count and frames.
    pub stack_tables: Vec<(u32, usize)>,
    /// Spans of the expressions that read memory through a pointer of the program's
    /// (`str()`, `buf()`, `*p`), sorted and distinct: slot `i` of the `read_errors` map
    /// counts the failed reads of site `i`. Reads the kernel's own context pointers
    /// make (`__data_loc` fields, the registers raw_syscalls passes) cannot fault.
    pub read_sites: Vec<crate::diag::Span>,
    /// The range loops among `read_sites` (`bpf_loop` refuses too long a range).
    pub loop_sites: Vec<crate::diag::Span>,
    /// The per-CPU array counting failed reads per site, when there are sites.
    pub read_errors: Option<usize>,
    /// The one-slot array holding the monotonic time scry started at, for `elapsed`.
    pub start_ns: Option<usize>,
    /// The per-CPU array counting updates that failed because a map was full, one slot
    /// per user map, when there is a keyed map.
    pub update_errors: Option<usize>,
    /// Slots of a per-CPU map (`hir::Program::possible_cpus`).
    pub possible_cpus: u32,
    /// `hir::Program::filter_pid`.
    pub filter_pid: Option<u32>,
}

fn bpf_name(prefix: &str, i: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut s = format!("{prefix}{i}_{clean}");
    s.truncate(15);
    s
}

/// Lays out `program`'s maps and events.
pub fn layout(program: &hir::Program) -> (Layout, Vec<MapDef>, Vec<MapMeta>, Vec<EventKind>) {
    let mut defs = Vec::new();
    let mut metas = Vec::new();
    let mut lay = Layout {
        possible_cpus: program.possible_cpus.max(1),
        filter_pid: program.filter_pid,
        ..Layout::default()
    };
    for (i, m) in program.maps.iter().enumerate() {
        let keyed = !m.keys.is_empty();
        // A keyed histogram's bucket index is one more key element.
        let mut bpf_keys = m.keys.clone();
        if keyed && m.value.is_hist() {
            bpf_keys.push(Ty::U64);
        }
        let (offsets, (size, align)) = tuple_layout(&bpf_keys);
        let unpadded: u32 = bpf_keys.iter().map(Ty::size).sum();
        let (kind, key_size, value_size) = match (&m.value, keyed) {
            // An unkeyed count() is a one-slot per-CPU array (no hashing, and an untouched
            // count reads 0, which is not printed); an unkeyed sum() needs to tell
            // "never updated" from "summed to 0", so it is a hash with one zero key.
            (ValueKind::Count, false) => (MapKind::PercpuArray, 4, 8),
            (ValueKind::Sum { .. }, false) => (MapKind::PercpuHash, 8, 8),
            (ValueKind::Count | ValueKind::Sum { .. }, true) => {
                (MapKind::PercpuHash, round_up(size, align), 8)
            }
            (ValueKind::Scalar(t), false) => (MapKind::Hash, 8, round_up(t.size(), 8)),
            (ValueKind::Scalar(t), true) => {
                (MapKind::Hash, round_up(size, align), round_up(t.size(), 8))
            }
            // `{sum, count}` / `{value, set}`: an unkeyed one is a per-CPU array whose
            // untouched slot reads as count 0 / unset.
            (ValueKind::Avg | ValueKind::Stats | ValueKind::Min | ValueKind::Max, false) => {
                (MapKind::PercpuArray, 4, 16)
            }
            (ValueKind::Avg | ValueKind::Stats | ValueKind::Min | ValueKind::Max, true) => {
                (MapKind::PercpuHash, round_up(size, align), 16)
            }
            // An unkeyed histogram is a per-CPU array indexed by bucket.
            (ValueKind::Hist | ValueKind::Lhist(_), false) => (MapKind::PercpuArray, 4, 8),
            (ValueKind::Hist | ValueKind::Lhist(_), true) => {
                (MapKind::PercpuHash, round_up(size, align), 8)
            }
        };
        let max_entries = match (keyed, m.value.hist_buckets()) {
            (false, Some(n)) => n,
            (false, None) => 1,
            (true, _) => program.max_map_keys,
        };
        defs.push(MapDef {
            name: bpf_name("m", i, m.name.trim_start_matches('@')),
            kind,
            key_size,
            value_size,
            max_entries,
            flags: 0,
        });
        metas.push(MapMeta {
            name: m.name.clone(),
            bpf_map: i,
            keys: m.keys.clone(),
            value: m.value.clone(),
        });
        lay.maps.push(MapLayout {
            bpf_map: i,
            kind,
            key_types: bpf_keys,
            key_offsets: offsets,
            key_size,
            key_padded: keyed && unpadded < key_size,
            value_size,
            value: m.value.clone(),
        });
    }
    let mut events = Vec::new();
    for (render, args) in &program.printfs {
        let mut off = 8;
        let mut offsets = Vec::new();
        let mut typed = Vec::new();
        for t in args {
            offsets.push(off);
            typed.push((t.clone(), off));
            off += round_up(t.size(), 8);
        }
        if let hir::Render::Join { len, .. } = render {
            // The count, then the string slots.
            off = 16 + hir::JOIN_ARGS * round_up(*len, 8);
        }
        lay.events.push(offsets);
        lay.event_sizes.push(off);
        events.push(match render {
            hir::Render::Printf(format) => EventKind::Printf {
                format: format.clone(),
                args: typed,
            },
            hir::Render::Value => EventKind::Print {
                ty: args[0].clone(),
                at: typed[0].1,
            },
            hir::Render::Join { sep, len } => EventKind::Join {
                sep: sep.clone(),
                len: round_up(*len, 8),
            },
            hir::Render::Time(format) => EventKind::Time {
                format: format.clone(),
            },
            hir::Render::Message {
                error,
                format,
                span,
            } => EventKind::Message {
                error: *error,
                format: format.clone(),
                args: typed,
                span: *span,
            },
            hir::Render::Cat(format) => EventKind::Cat {
                format: format.clone(),
                args: typed,
            },
            hir::Render::System(format) => EventKind::System {
                format: format.clone(),
                args: typed,
            },
            hir::Render::Map { map, action } => EventKind::Map {
                map: *map,
                action: *action,
            },
        });
    }
    lay.exit_event = events.len();
    events.push(EventKind::Exit);
    let exits = program.probes.iter().any(|p| has_exit(&p.body));
    let user_stacks = takes_user_stacks(program);
    if user_stacks {
        lay.process_event = Some((events.len(), defs.len()));
        events.push(EventKind::Process);
        defs.push(MapDef {
            name: "procs_seen".into(),
            kind: MapKind::LruHash,
            key_size: crate::lang::render::USER_STACK_HEADER,
            value_size: 8,
            max_entries: PROCESSES_SEEN,
            flags: 0,
        });
    }
    if !program.printfs.is_empty() || exits || user_stacks {
        lay.ringbuf = Some(defs.len());
        defs.push(MapDef {
            name: "events".into(),
            kind: MapKind::Ringbuf,
            key_size: 0,
            value_size: 0,
            max_entries: RINGBUF_BYTES,
            flags: 0,
        });
        lay.lost = Some(defs.len());
        defs.push(MapDef {
            name: "lost".into(),
            kind: MapKind::PercpuArray,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
            flags: 0,
        });
    }
    if exits {
        lay.exit_flag = Some(defs.len());
        defs.push(MapDef {
            name: "exit_flag".into(),
            kind: MapKind::Array,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
            flags: 0,
        });
    }
    let mut elapsed = false;
    for p in &program.probes {
        let mut note = |e: &hir::Expr| {
            elapsed |= matches!(e.kind, hir::ExprKind::Builtin(hir::Builtin::Elapsed))
        };
        if let Some(pred) = &p.predicate {
            crate::sema::visit::expr(pred, &mut note);
        }
        crate::sema::visit::exprs(&p.body, &mut note);
    }
    if elapsed {
        lay.start_ns = Some(defs.len());
        defs.push(MapDef {
            name: "start_ns".into(),
            kind: MapKind::Array,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
            flags: 0,
        });
    }
    if lay
        .maps
        .iter()
        .any(|m| matches!(m.kind, MapKind::Hash | MapKind::PercpuHash))
    {
        lay.update_errors = Some(defs.len());
        defs.push(MapDef {
            name: "update_errors".into(),
            kind: MapKind::PercpuArray,
            key_size: 4,
            value_size: 8,
            max_entries: program.maps.len() as u32,
            flags: 0,
        });
    }
    (lay.read_sites, lay.loop_sites, lay.stack_sites) = read_sites(program);
    for (depth, sites) in stack_depths(program) {
        lay.stack_tables.push((depth, defs.len()));
        defs.push(MapDef {
            name: format!("stacks_{depth}"),
            kind: MapKind::Hash,
            key_size: 8,
            value_size: 8 + 8 * depth,
            // As many distinct stacks as the maps can hold entries, per stack taken.
            max_entries: program.max_map_keys.saturating_mul(sites).min(1 << 24),
            // BPF_F_NO_PREALLOC: memory for the stacks seen, not for every slot.
            flags: 1,
        });
    }
    if !lay.read_sites.is_empty() {
        lay.read_errors = Some(defs.len());
        defs.push(MapDef {
            name: "read_errors".into(),
            kind: MapKind::PercpuArray,
            key_size: 4,
            value_size: 8,
            max_entries: lay.read_sites.len() as u32,
            flags: 0,
        });
    }
    (lay, defs, metas, events)
}

/// The spans of every expression of `program` that reads memory through a helper, and
/// of range loops run by `bpf_loop` (also among the first).
fn read_sites(program: &hir::Program) -> (Vec<Span>, Vec<Span>, Vec<Span>) {
    let mut sites = std::collections::BTreeSet::new();
    let mut stacks = std::collections::BTreeSet::new();
    let mut note = |e: &hir::Expr| {
        if matches!(
            e.kind,
            hir::ExprKind::Lib(hir::LibCall::Stack { .. } | hir::LibCall::Caller { .. })
        ) {
            sites.insert(e.span);
            stacks.insert(e.span);
        }
        if matches!(
            e.kind,
            hir::ExprKind::ReadStr { .. } | hir::ExprKind::ReadBuf { .. } | hir::ExprKind::Deref(_)
        ) || matches!(e.kind, hir::ExprKind::Ctx(a) if a.reads_memory())
        {
            sites.insert(e.span);
        }
    };
    for p in &program.probes {
        if let Some(pred) = &p.predicate {
            crate::sema::visit::expr(pred, &mut note);
        }
        crate::sema::visit::exprs(&p.body, &mut note);
    }
    // `join()` reads the array and its strings.
    for p in &program.probes {
        crate::sema::visit::stmts(&p.body, &mut |s| {
            if let hir::StmtKind::Join { .. } = s.kind {
                sites.insert(s.span);
            }
        });
    }
    let mut loops = Vec::new();
    for p in &program.probes {
        crate::sema::visit::stmts(&p.body, &mut |s| {
            if let hir::StmtKind::For { start, end, .. } = &s.kind
                && super::callback::inline_range(start, end).is_none()
            {
                sites.insert(s.span);
                loops.push(s.span);
            }
        });
    }
    loops.sort();
    (
        sites.into_iter().collect(),
        loops,
        stacks.into_iter().collect(),
    )
}

/// The depths of the program's stacks, each with how many expressions take one.
fn stack_depths(program: &hir::Program) -> std::collections::BTreeMap<u32, u32> {
    let mut depths = std::collections::BTreeMap::new();
    let mut note = |e: &hir::Expr| {
        if let hir::ExprKind::Lib(hir::LibCall::Stack { depth, .. }) = e.kind {
            *depths.entry(depth).or_insert(0) += 1;
        }
    };
    for p in &program.probes {
        if let Some(pred) = &p.predicate {
            crate::sema::visit::expr(pred, &mut note);
        }
        crate::sema::visit::exprs(&p.body, &mut note);
    }
    depths
}

/// The processes whose first user stack the program remembers having reported (older
/// ones are forgotten and reported again).
const PROCESSES_SEEN: u32 = 16_384;

fn takes_user_stacks(program: &hir::Program) -> bool {
    let mut found = false;
    let mut note = |e: &hir::Expr| {
        found |= matches!(
            e.kind,
            hir::ExprKind::Lib(
                hir::LibCall::Stack { user: true, .. }
                    | hir::LibCall::Usym { .. }
                    | hir::LibCall::Caller { user: true, .. }
            )
        )
    };
    for p in &program.probes {
        if let Some(pred) = &p.predicate {
            crate::sema::visit::expr(pred, &mut note);
        }
        crate::sema::visit::exprs(&p.body, &mut note);
    }
    found
}

fn has_exit(stmts: &[hir::Stmt]) -> bool {
    let mut found = false;
    crate::sema::visit::stmts(stmts, &mut |s| {
        found |= matches!(s.kind, hir::StmtKind::Exit(_))
    });
    found
}
