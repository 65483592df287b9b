//! The pure object model: maps and programs as BPF instructions, the ELF writer's input.
//! Backend-neutral: tests read it, `elf` writes it, `listing` renders it.

use crate::bpf::Insn;
pub use crate::bpf::abi::{MapKind, ProgKind};
use crate::diag::Span;

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

/// A map load to patch: the `ld_imm64` at `insn` loads the fd of map `map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapReloc {
    /// Slot index of the first half of the `ld_imm64`.
    pub insn: usize,
    /// Index into [`Module::maps`].
    pub map: usize,
}

/// A call to patch: the `call` (or the callback address `ld_imm64`) at `insn` refers to
/// subprogram `func`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FuncCall {
    /// Slot index of the `call`.
    pub insn: usize,
    /// Index into [`Module::funcs`].
    pub func: usize,
}

/// A subprogram: code that programs call (BPF-to-BPF calls; callbacks of `bpf_loop`
/// and `bpf_for_each_map_elem`). Written to `.text` as a static function, which the
/// loader copies into each program that calls it.
#[derive(Clone, Debug, PartialEq)]
pub struct Func {
    /// Symbol name: unique in the module.
    pub name: String,
    /// Number of parameters (R1…), for its BTF prototype.
    pub params: u8,
    /// Instruction slots.
    pub insns: Vec<Insn>,
    /// Map loads to relocate.
    pub map_relocs: Vec<MapReloc>,
    /// Calls of other subprograms to relocate.
    pub calls: Vec<FuncCall>,
    /// Loads of other subprograms' addresses (callbacks) to relocate.
    pub func_addrs: Vec<FuncCall>,
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
    /// Calls of subprograms to relocate.
    pub calls: Vec<FuncCall>,
    /// Loads of subprograms' addresses (callbacks) to relocate.
    pub func_addrs: Vec<FuncCall>,
    /// For each slot that starts a source construct: (slot, span), ascending by slot.
    pub source_map: Vec<(usize, Span)>,
}

/// Maps and programs: the input of the ELF writer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Module {
    /// Map definitions.
    pub maps: Vec<MapDef>,
    /// Programs.
    pub progs: Vec<Prog>,
    /// Subprograms the programs call.
    pub funcs: Vec<Func>,
}
