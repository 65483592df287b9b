//! Lowering of the checked program to BPF instructions and map definitions.
//!
//! In: `sema::hir::Program`. Out: a backend-neutral [`Module`] (maps + programs as
//! instruction slots with map relocations and a source map) and the [`Meta`] the runtime
//! needs. `layout` decides maps and event records, `lower` turns each probe into `ir`
//! operations, `regalloc` assigns registers and emits instructions, `elf` writes the
//! object, `listing` renders `--dump insns`. No syscalls here.

mod branch;
pub mod btf;
pub mod elf;
pub mod ir;
pub mod layout;
pub mod listing;
mod lower;
pub mod module;
pub mod regalloc;
mod strcmp;

pub use module::{Meta, Module};

use crate::diag::Diagnostic;
use crate::sema::hir;
use module::{Attach, ProbeAttach, Prog, ProgKind};

/// The BPF stack limit per program.
pub const STACK_LIMIT: u32 = 512;

/// Lowers every probe of `program`.
pub fn lower(program: &hir::Program) -> Result<(Module, Meta), Vec<Diagnostic>> {
    let (lay, maps, map_meta, events) = layout::layout(program);
    let mut module = Module {
        maps,
        progs: Vec::new(),
    };
    let mut meta = Meta {
        probes: Vec::new(),
        maps: map_meta,
        events,
        ringbuf: lay.ringbuf,
    };
    let mut diags = Vec::new();
    for (i, probe) in program.probes.iter().enumerate() {
        let (ops, used) = lower::Lowerer::new(&lay).probe(probe);
        let emitted = regalloc::emit(&ir::prune_unreachable(ops), used);
        if emitted.stack_size > STACK_LIMIT {
            diags.push(
                Diagnostic::error(
                    "E0400",
                    probe.span,
                    format!(
                        "`{}` needs {} bytes of BPF stack; the kernel allows {STACK_LIMIT}",
                        probe.display, emitted.stack_size
                    ),
                )
                .with_label("too much stack")
                .with_help("use fewer or shorter strings and map keys in one probe, or split it"),
            );
            continue;
        }
        let (section, tag) = match (&probe.attach, probe.kind) {
            (Attach::Tracepoint { category, name }, _) => {
                (format!("tracepoint/{category}/{name}"), "tp")
            }
            (Attach::Begin, _) => ("raw_tp".to_string(), "begin"),
            (Attach::End, _) => ("raw_tp".to_string(), "end"),
            (Attach::Interval { .. }, _) => ("perf_event".to_string(), "interval"),
            (Attach::Uprobe { ret: false, .. }, _) => ("uprobe".to_string(), "uprobe"),
            (Attach::Uprobe { ret: true, .. }, _) => ("uretprobe".to_string(), "uretprobe"),
        };
        let mut name = format!("p{i}_{tag}");
        name.truncate(15);
        module.progs.push(Prog {
            section,
            name,
            kind: probe.kind,
            insns: emitted.insns,
            map_relocs: emitted.map_relocs,
            source_map: emitted.source_map,
        });
        meta.probes.push(ProbeAttach {
            prog: module.progs.len() - 1,
            attach: probe.attach.clone(),
            display: probe.display.clone(),
        });
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    debug_assert!(
        module
            .progs
            .iter()
            .all(|p| p.kind != ProgKind::Kprobe || !p.insns.is_empty())
    );
    Ok((module, meta))
}
