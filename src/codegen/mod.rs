//! Lowering of the checked program to BPF instructions and map definitions.
//!
//! In: `sema::hir::Program`. Out: a backend-neutral [`Module`] (maps + programs as
//! instruction slots with map relocations and a source map) and the [`Meta`] the runtime
//! needs. `layout` decides maps and event records, `lower` turns each probe into `ir`
//! operations, `regalloc` assigns registers and emits instructions, `elf` writes the
//! object, `listing` renders `--dump insns`. No syscalls here.

mod aggregate;
mod branch;
pub mod ir;
pub mod layout;
mod lower;
pub mod regalloc;
mod strcmp;

use crate::artifact::{Artifact, Attach, Manifest, MapInfo, ProbeAttach, ProgramInfo};
use crate::diag::Diagnostic;
use crate::object::elf;
use crate::object::module::{self, Module, Prog, ProgKind};
use crate::sema::hir;

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

/// Syscall tracepoints of one direction from which a `raw_syscalls` dispatcher serves
/// them: below this, classic tracepoints (no cost for other syscalls) win; above it,
/// their serial ~75 ms detach each dominates.
pub const RAW_SYSCALLS_MIN: usize = 8;

/// The syscall number when `probe` is `syscalls:sys_enter_*` (`enter`) or `sys_exit_*`.
fn raw_syscall_nr(probe: &hir::Probe, enter: bool) -> Option<u32> {
    let Attach::Tracepoint { category, name } = &probe.attach else {
        return None;
    };
    let prefix = if enter { "sys_enter_" } else { "sys_exit_" };
    if category != "syscalls" {
        return None;
    }
    crate::probe::arch::x86_64::number(name.strip_prefix(prefix)?)
}

/// The dispatcher on `raw_syscalls:sys_enter`/`sys_exit`: tail-calls slot `nr` of the
/// program array `table` (an empty slot falls through to `return 0`). 32-bit compat
/// syscalls (code segment `__USER32_CS`) are skipped, as the `syscalls:` tracepoints skip
/// them on x86-64: their numbers belong to another table.
fn dispatcher(table: usize, enter: bool) -> Vec<ir::Op> {
    use crate::bpf::insn::helper;
    use crate::bpf::{Cond, Size};
    use ir::{Arg, Base, Label, Op, Src, VReg};
    /// `struct pt_regs`: `orig_ax` at 120, then `ip`, then `cs`.
    const ORIG_AX: i32 = 120;
    const USER32_CS: i32 = 0x23;
    let (ctx, regs, cs, nr) = (VReg(1), VReg(2), VReg(3), VReg(4));
    let out = Label(1);
    vec![
        Op::Ctx { dst: ctx },
        // regs = ctx->args[0]; read orig_ax, ip, cs in one go.
        Op::Load {
            size: Size::DW,
            dst: regs,
            base: Base::V(ctx),
            off: 0,
        },
        Op::Alu {
            op: crate::bpf::Alu::Add,
            dst: regs,
            src: Src::Imm(ORIG_AX),
            signed: false,
        },
        Op::Call {
            helper: helper::PROBE_READ_KERNEL,
            args: vec![Arg::Stack(-24), Arg::Imm(24), Arg::V(regs)],
            ret: None,
        },
        Op::Load {
            size: Size::H,
            dst: cs,
            base: Base::Stack,
            off: -8,
        },
        Op::Jmp {
            cond: Cond::Eq,
            a: cs,
            b: Src::Imm(USER32_CS),
            target: out,
        },
        // The number: ctx->args[1] on entry; on exit that is the return value, so orig_ax.
        if enter {
            Op::Load {
                size: Size::DW,
                dst: nr,
                base: Base::V(ctx),
                off: 8,
            }
        } else {
            Op::Load {
                size: Size::DW,
                dst: nr,
                base: Base::Stack,
                off: -24,
            }
        },
        Op::Call {
            helper: helper::TAIL_CALL,
            args: vec![Arg::V(ctx), Arg::Map(table), Arg::V(nr)],
            ret: None,
        },
        Op::Label(out),
        Op::Exit,
    ]
}

/// The BPF stack limit per program.
pub const STACK_LIMIT: u32 = 512;

/// Lowers every probe of `program`.
pub fn lower(program: &hir::Program) -> Result<Compiled, Vec<Diagnostic>> {
    let (lay, maps, map_meta, events) = layout::layout(program);
    let mut module = Module {
        maps,
        progs: Vec::new(),
    };
    let mut meta = Manifest {
        programs: Vec::new(),
        bpf_maps: Vec::new(),
        probes: Vec::new(),
        maps: map_meta,
        events,
        ringbuf: lay.ringbuf,
    };
    let mut diags = Vec::new();
    // Many syscall tracepoints are served from raw_syscalls: one dispatcher per direction
    // tail-calls each tracepoint's program by syscall number, so attaching and detaching
    // cost two raw tracepoints instead of hundreds of perf events.
    // A syscall probed more than once stays a classic tracepoint: a slot of the program
    // array holds one program.
    let mut tables: [Option<usize>; 2] = [None, None];
    let mut seen: std::collections::HashMap<(bool, u32), usize> = Default::default();
    for p in &program.probes {
        for enter in [true, false] {
            if let Some(nr) = raw_syscall_nr(p, enter) {
                *seen.entry((enter, nr)).or_default() += 1;
            }
        }
    }
    let unique = |p: &hir::Probe, enter: bool| {
        raw_syscall_nr(p, enter).filter(|&nr| seen[&(enter, nr)] == 1)
    };
    for (dir, enter) in [(0, true), (1, false)] {
        let n = program
            .probes
            .iter()
            .filter(|p| unique(p, enter).is_some())
            .count();
        if n >= RAW_SYSCALLS_MIN {
            tables[dir] = Some(module.maps.len());
            module.maps.push(module::MapDef {
                name: if enter { "tails_enter" } else { "tails_exit" }.into(),
                kind: module::MapKind::ProgArray,
                key_size: 4,
                value_size: 4,
                max_entries: crate::probe::arch::x86_64::limit(),
                flags: 0,
            });
        }
    }
    for (i, probe) in program.probes.iter().enumerate() {
        let served = [true, false].into_iter().find_map(|enter| {
            let nr = unique(probe, enter)?;
            Some((enter, tables[usize::from(!enter)]?, nr))
        });
        let mut lowerer = lower::Lowerer::new(&lay);
        lowerer.raw_syscall = served.map(|(enter, _, _)| enter);
        let (ops, used) = lowerer.probe(probe);
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
            (Attach::SyscallTail { .. } | Attach::Dispatch { .. }, _) => {
                unreachable!("codegen's own attachments")
            }
        };
        let (section, tag, kind, attach) = match served {
            Some((_, table, nr)) => (
                "raw_tp".to_string(),
                "sc",
                ProgKind::RawTracepoint,
                Attach::SyscallTail { table, nr },
            ),
            None => (section, tag, probe.kind, probe.attach.clone()),
        };
        let mut name = format!("p{i}_{tag}");
        name.truncate(15);
        module.progs.push(Prog {
            section,
            name,
            kind,
            insns: emitted.insns,
            map_relocs: emitted.map_relocs,
            source_map: emitted.source_map,
        });
        meta.probes.push(ProbeAttach {
            prog: module.progs.len() - 1,
            attach,
            display: probe.display.clone(),
        });
    }
    for (table, enter) in [(tables[0], true), (tables[1], false)] {
        let Some(table) = table else { continue };
        let tracepoint = if enter { "sys_enter" } else { "sys_exit" };
        let emitted = regalloc::emit(&dispatcher(table, enter), 24);
        module.progs.push(Prog {
            section: "raw_tp".into(),
            name: format!("{tracepoint}_tails"),
            kind: ProgKind::RawTracepoint,
            insns: emitted.insns,
            map_relocs: emitted.map_relocs,
            source_map: emitted.source_map,
        });
        meta.probes.push(ProbeAttach {
            prog: module.progs.len() - 1,
            attach: Attach::Dispatch {
                tracepoint: tracepoint.into(),
                table,
            },
            display: format!("raw_syscalls:{tracepoint}"),
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
    meta.programs = module
        .progs
        .iter()
        .map(|p| ProgramInfo {
            name: p.name.clone(),
            source_map: p.source_map.clone(),
        })
        .collect();
    meta.bpf_maps = module
        .maps
        .iter()
        .map(|m| MapInfo {
            name: m.name.clone(),
            kind: m.kind,
        })
        .collect();
    Ok(Compiled {
        module,
        manifest: meta,
    })
}
