//! Lowering of the checked program to BPF instructions and map definitions.
//!
//! In: `sema::hir::Program`. Out: a backend-neutral [`Module`] (maps + programs as
//! instruction slots with map relocations and a source map) and the [`Manifest`] the
//! runtime needs, together an [`Artifact`]. `layout` decides maps and event records, `lower` turns each probe into `ir`
//! operations, `regalloc` assigns registers and emits instructions, `dispatch` builds
//! tail-call dispatchers. No syscalls here.

mod aggregate;
mod branch;
mod callback;
mod cfg;
mod ctx;
mod dispatch;
mod event;
mod flow;
mod frame;
pub mod ir;
pub mod layout;
mod library;
mod lower;
mod percpu;
mod points;
pub mod regalloc;
mod signal;
mod stack;
mod strcmp;
mod string;
mod tuple;

use crate::artifact::{Artifact, Manifest, MapInfo, ProbeAttach, ProgramInfo};
use crate::diag::Diagnostic;
use crate::lang::ty::round_up;
use crate::object::elf;
use crate::object::module::{self, Module, Prog};
use crate::probe::Target;
use crate::sema::hir;
use frame::{SCRATCH_LIMIT, STACK_LIMIT};

/// What lowering produces: the object model (for `--dump insns` and the ELF writer) and
/// the manifest the runtime reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    /// Maps and programs as instructions.
    pub module: Module,
    /// What the runtime needs besides the object.
    pub manifest: Manifest,
}

impl Compiled {
    /// The object bytes and manifest: the one thing the runtime is given.
    pub fn artifact(&self) -> Artifact {
        Artifact {
            object: elf::write(&self.module),
            manifest: self.manifest.clone(),
        }
    }
}

/// Scratch thresholds tried in turn: everything on the stack first (no cost for
/// programs that fit), then buffers from 256, 128, ... bytes up in the scratch map.
const THRESHOLDS: [Option<u32>; 7] = [
    None,
    Some(256),
    Some(128),
    Some(64),
    Some(32),
    Some(16),
    Some(8),
];

/// A probe's program and its callbacks (with their parameter counts), emitted.
struct Lowered {
    prog: regalloc::Emitted,
    subprogs: Vec<(regalloc::Emitted, u8)>,
    /// Stack bytes of the deepest chain of frames (the program and the callbacks it
    /// calls, each rounded as the verifier rounds them).
    stack: u32,
    /// The largest ring-buffer record it reserves (0: none).
    record: u32,
}

/// The largest ring-buffer record `ops` reserve: every reservation's size is a constant.
fn largest_record(ops: &[ir::Op]) -> u32 {
    ops.iter()
        .filter_map(|op| match op {
            ir::Op::Call { helper, args, .. }
                if *helper == crate::bpf::insn::helper::RINGBUF_RESERVE =>
            {
                match args.get(1) {
                    Some(ir::Arg::Imm(size)) => Some(*size as u32),
                    _ => {
                        panic!("internal compiler error: a ring-buffer reservation of unknown size")
                    }
                }
            }
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The stack the kernel charges for `prog` calling its callbacks: one frame per
/// function on the deepest chain, each rounded up to 32 bytes (the verifier's rounding
/// without JIT; 16 with it).
fn chain_stack(prog: &regalloc::Emitted, subprogs: &[(regalloc::Emitted, u8)]) -> u32 {
    if subprogs.is_empty() {
        return prog.stack_size;
    }
    // Callbacks are numbered after the functions calling them, so one pass from the
    // last computes each one's deepest chain.
    let mut deepest = vec![0u32; subprogs.len()];
    for i in (0..subprogs.len()).rev() {
        let e = &subprogs[i].0;
        let below = e
            .func_addrs
            .iter()
            .chain(&e.calls)
            .map(|c| deepest[c.func])
            .max();
        deepest[i] = round_up(e.stack_size.max(1), 32) + below.unwrap_or(0);
    }
    let below = prog
        .func_addrs
        .iter()
        .chain(&prog.calls)
        .map(|c| deepest[c.func])
        .max();
    round_up(prog.stack_size.max(1), 32) + below.unwrap_or(0)
}

/// The most maps one program may use (the kernel's `MAX_USED_MAPS`).
const MAX_USED_MAPS: usize = 64;

/// Lowers one probe to instructions; the second value is the scratch memory it needs
/// (its map, at module index `scratch_map`, exists only if that is not 0).
fn lower_probe(
    lay: &layout::Layout,
    probe: &hir::Probe,
    scratch_map: usize,
    names: Option<&points::Names>,
) -> Result<(Lowered, u32), Box<Diagnostic>> {
    let mut first = None;
    let mut scratch_short = None;
    for threshold in THRESHOLDS {
        let (ops, frame, subs) = lower::Lowerer::new(lay, threshold, scratch_map)
            .with_names(names.cloned())
            .probe(probe);
        let record = subs
            .iter()
            .map(|s| largest_record(&s.ops))
            .chain([largest_record(&ops)])
            .max()
            .unwrap_or(0);
        let prog = regalloc::emit(&ir::prune_unreachable(ops), frame.stack_max);
        let subprogs: Vec<(regalloc::Emitted, u8)> = subs
            .into_iter()
            .map(|s| {
                let e = regalloc::emit(&ir::prune_unreachable(s.ops), s.stack_max);
                (e, s.params)
            })
            .collect();
        let stack = chain_stack(&prog, &subprogs);
        let lowered = Lowered {
            prog,
            subprogs,
            stack,
            record,
        };
        let scratch = round_up(frame.scratch_max, 8);
        // The kernel lets one program use at most 64 maps (`MAX_USED_MAPS`), its
        // callbacks' included.
        let mut used: Vec<usize> = lowered
            .subprogs
            .iter()
            .map(|(e, _)| e)
            .chain([&lowered.prog])
            .flat_map(|e| e.map_relocs.iter().map(|r| r.map))
            .collect();
        used.sort_unstable();
        used.dedup();
        let maps = used.len() + usize::from(scratch > 0);
        if maps > MAX_USED_MAPS {
            return Err(Box::new(
                Diagnostic::error(
                    "E0404",
                    probe.span,
                    format!(
                        "`{}` uses {maps} maps (scry's own included: the ring buffer, counters); the kernel allows a program {MAX_USED_MAPS}",
                        probe.display
                    ),
                )
                .with_label("in this probe")
                .with_help("split the probe into several, or gather values in fewer maps (one keyed map instead of many: `@m[\"name\"] = …`)"),
            ));
        }
        let far = lowered.prog.far_jump || lowered.subprogs.iter().any(|(e, _)| e.far_jump);
        if stack <= STACK_LIMIT && scratch <= SCRATCH_LIMIT && !far {
            return Ok((lowered, scratch));
        }
        if stack <= STACK_LIMIT {
            // The stack would do, the scratch memory not.
            scratch_short.get_or_insert(scratch);
        }
        first.get_or_insert((lowered, frame));
    }
    let (lowered, frame) = first.expect("at least one threshold");
    let emitted = &lowered.prog;
    if emitted.far_jump || lowered.subprogs.iter().any(|(e, _)| e.far_jump) {
        return Err(Box::new(
            Diagnostic::error(
                "E0403",
                probe.span,
                format!(
                    "`{}` is too large: one of its jumps spans more than the 32,767 instructions BPF jumps reach",
                    probe.display
                ),
            )
            .with_label("in this probe")
            .with_help("split the probe into several, or loop with `for` instead of repeating code"),
        ));
    }
    let stack = lowered.stack;
    if let Some(scratch) = scratch_short {
        return Err(Box::new(
            Diagnostic::error(
                "E0401",
                probe.span,
                format!(
                    "`{}` needs {scratch} bytes of memory for its strings and keys; a program's per-CPU scratch memory holds {SCRATCH_LIMIT}",
                    probe.display
                ),
            )
            .with_label("in this probe")
            .with_help(
                "lower --max-strlen (BPFTRACE_MAX_STRLEN), read shorter strings with str(p, N), or use fewer strings in one key or printf",
            ),
        ));
    }
    // Report at the expression whose buffer took the stack over the limit, or where
    // spilled values did.
    let span = if frame.stack_max > STACK_LIMIT {
        frame.culprit(STACK_LIMIT)
    } else {
        emitted.overflow
    };
    let span = span.unwrap_or(probe.span);
    Err(Box::new(
        Diagnostic::error(
            "E0400",
            span,
            format!(
                "`{}` needs {stack} bytes of BPF stack; the kernel allows {STACK_LIMIT}",
                probe.display
            ),
        )
        .with_label("this pushes the stack past the limit")
        .with_help("use fewer or shorter strings and map keys in one probe, or split it"),
    ))
}

/// Lowers every probe of `program`.
pub fn lower(program: &hir::Program) -> Result<Compiled, Vec<Diagnostic>> {
    let (lay, maps, map_meta, events) = layout::layout(program);
    let mut module = Module {
        maps,
        progs: Vec::new(),
        funcs: Vec::new(),
    };
    let mut meta = Manifest {
        programs: Vec::new(),
        bpf_maps: Vec::new(),
        tables: Vec::new(),
        probes: Vec::new(),
        maps: map_meta,
        events,
        ringbuf: lay.ringbuf,
        lost_map: lay.lost,
        exit_map: lay.exit_flag,
        read_errors: lay.read_errors,
        read_sites: lay.read_sites.clone(),
        loop_sites: lay.loop_sites.clone(),
        stack_sites: lay.stack_sites.clone(),
        stack_tables: lay.stack_tables.clone(),
        start_map: lay.start_ns,
        update_errors: lay.update_errors,
        point_names: Vec::new(),
        largest_record: 0,
    };
    let mut diags = Vec::new();
    // `while` spans of each program, in program order.
    let mut loops: Vec<Vec<crate::diag::Span>> = Vec::new();
    // Whether each program is loaded for uprobe_multi links.
    let mut multi: Vec<bool> = Vec::new();
    // Program arrays for probes that are tail-called (e.g. syscalls served from
    // raw_syscalls): one map each, filled by the runtime.
    for t in &program.tables {
        meta.tables.push(module.maps.len());
        module.maps.push(module::MapDef {
            name: t.name.clone(),
            kind: module::MapKind::ProgArray,
            key_size: 4,
            value_size: 4,
            max_entries: t.size,
            flags: 0,
        });
    }
    for (i, probe) in program.probes.iter().enumerate() {
        let names = points::names(probe, i, module.maps.len()).map(|(names, def)| {
            module.maps.push(def);
            meta.point_names.push((names.bpf_map, names.values.clone()));
            names
        });
        let scratch_map = module.maps.len();
        let (lowered, scratch) = match lower_probe(&lay, probe, scratch_map, names.as_ref()) {
            Ok(r) => r,
            Err(d) => {
                diags.push(*d);
                continue;
            }
        };
        if scratch > 0 {
            // This program's own per-CPU scratch memory.
            module.maps.push(module::MapDef {
                name: format!("scratch{i}"),
                kind: module::MapKind::PercpuArray,
                key_size: 4,
                value_size: scratch,
                max_entries: 1,
                flags: 0,
            });
        }
        let mut spans = Vec::new();
        // Inline loops: the ones the verifier must bound.
        crate::sema::visit::stmts(&probe.body, &mut |s| match &s.kind {
            hir::StmtKind::While { .. } => spans.push(s.span),
            hir::StmtKind::For { start, end, .. }
                if callback::inline_range(start, end).is_some() =>
            {
                spans.push(s.span)
            }
            _ => {}
        });
        loops.push(spans);
        let (kind, mut section) = probe.target.program();
        if probe.multi_link {
            // libbpf loads these for uprobe_multi links.
            section = format!("{section}.multi");
        }
        multi.push(probe.multi_link);
        let mut name = format!("p{i}_{}", probe.tag);
        name.truncate(15);
        // Callbacks go to the module's subprograms; their indices shift by those of
        // earlier probes.
        let base = module.funcs.len();
        let shift = |calls: Vec<module::FuncCall>| -> Vec<module::FuncCall> {
            calls
                .into_iter()
                .map(|c| module::FuncCall {
                    func: c.func + base,
                    ..c
                })
                .collect()
        };
        for (j, (e, params)) in lowered.subprogs.into_iter().enumerate() {
            module.funcs.push(module::Func {
                name: format!("p{i}_cb{j}"),
                params,
                insns: e.insns,
                map_relocs: e.map_relocs,
                calls: shift(e.calls),
                func_addrs: shift(e.func_addrs),
            });
        }
        meta.largest_record = meta.largest_record.max(lowered.record);
        let emitted = lowered.prog;
        module.progs.push(Prog {
            section,
            name,
            kind,
            insns: emitted.insns,
            map_relocs: emitted.map_relocs,
            calls: shift(emitted.calls),
            func_addrs: shift(emitted.func_addrs),
            source_map: emitted.source_map,
        });
        // Every point the program runs for; the cookie is the point's index.
        for (cookie, point) in probe.points.iter().enumerate() {
            meta.probes.push(ProbeAttach {
                prog: module.progs.len() - 1,
                target: point.target.clone(),
                display: point.display.clone(),
                internal: false,
                cookie: cookie as u64,
            });
        }
    }
    for (t, table) in program.tables.iter().zip(meta.tables.clone()) {
        let emitted = regalloc::emit(&dispatch::ops(t.dispatch, table), 24);
        let target = Target::RawTracepoint {
            name: t.tracepoint.clone(),
        };
        let (kind, section) = target.program();
        loops.push(Vec::new());
        multi.push(false);
        module.progs.push(Prog {
            section,
            name: format!("{}_tails", t.tracepoint),
            kind,
            insns: emitted.insns,
            map_relocs: emitted.map_relocs,
            calls: emitted.calls,
            func_addrs: emitted.func_addrs,
            source_map: emitted.source_map,
        });
        meta.probes.push(ProbeAttach {
            prog: module.progs.len() - 1,
            target,
            display: format!("raw_syscalls:{}", t.tracepoint),
            internal: true,
            cookie: 0,
        });
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    meta.programs = module
        .progs
        .iter()
        .zip(loops.iter().zip(&multi))
        .map(|(p, (loops, &multi))| ProgramInfo {
            name: p.name.clone(),
            source_map: p.source_map.clone(),
            loops: loops.clone(),
            multi,
        })
        .collect();
    meta.bpf_maps = module
        .maps
        .iter()
        .map(|m| MapInfo {
            name: m.name.clone(),
            kind: m.kind,
            max_entries: m.max_entries,
            key_size: m.key_size,
            value_size: m.value_size,
        })
        .collect();
    Ok(Compiled {
        module,
        manifest: meta,
    })
}
