//! Register allocation (linear scan over live intervals) and final emission of
//! [`Op`]s as BPF instructions with resolved jumps, map relocations and a source map.
//!
//! Virtual registers get R6–R9 or, when those are taken, an 8-byte stack slot below the
//! frame area codegen already used. A value's live interval comes from liveness on the
//! control-flow graph (`cfg`), so a value used inside a loop stays live around it.

use std::collections::HashMap;

use super::ir::{Arg, Base, Label, Mem, Op, Src, VReg};
use crate::bpf::{Alu, Insn, Reg, Size};
use crate::diag::Span;
use crate::object::module::{FuncCall, MapReloc};

/// Where a virtual register lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Reg(Reg),
    Slot(i16),
}

/// Emitted program text.
pub struct Emitted {
    /// Instruction slots.
    pub insns: Vec<Insn>,
    /// Map loads to relocate.
    pub map_relocs: Vec<MapReloc>,
    /// Calls of subprograms to relocate.
    pub calls: Vec<FuncCall>,
    /// Callback addresses to relocate.
    pub func_addrs: Vec<FuncCall>,
    /// (slot, span) pairs, ascending.
    pub source_map: Vec<(usize, Span)>,
    /// Total stack bytes used including spill slots.
    pub stack_size: u32,
    /// Where spill slots took the stack past the kernel's limit, if they did.
    pub overflow: Option<Span>,
    /// A jump spans more instructions than BPF's 16-bit offsets reach.
    pub far_jump: bool,
}

const ALLOCATABLE: [Reg; 4] = [Reg::R6, Reg::R7, Reg::R8, Reg::R9];

/// Allocates registers and emits `ops`; `stack_used` bytes of the frame are taken already.
pub fn emit(ops: &[Op], stack_used: u32) -> Emitted {
    let (locs, stack_size, over) = allocate(ops, stack_used);
    let mut e = Emitter {
        locs,
        insns: Vec::new(),
        relocs: Vec::new(),
        calls: Vec::new(),
        func_addrs: Vec::new(),
        source_map: Vec::new(),
    }
    .run(ops, stack_size);
    // The source construct around the value whose spill slot crossed the limit.
    e.overflow = over.and_then(|at| {
        ops[..=at].iter().rev().find_map(|op| match op {
            Op::Mark(span) => Some(*span),
            _ => None,
        })
    });
    e
}

/// Locations, the stack size with spill slots, and the operation where a spilled value
/// first took the stack past [`super::frame::STACK_LIMIT`].
fn allocate(ops: &[Op], stack_used: u32) -> (HashMap<VReg, Loc>, u32, Option<usize>) {
    // Live intervals from the control-flow graph: loops keep their values alive.
    let intervals = super::cfg::Cfg::new(ops).live_intervals();
    let mut order: Vec<(VReg, (usize, usize))> = intervals.into_iter().collect();
    order.sort_by_key(|&(v, (start, _))| (start, v));

    let mut locs = HashMap::new();
    let mut free: Vec<Reg> = ALLOCATABLE.iter().rev().copied().collect();
    let mut active: Vec<(usize, VReg, Reg)> = Vec::new(); // (end, vreg, reg)
    let mut stack = stack_used;
    let mut over = None;
    let spill = |stack: &mut u32| {
        *stack += 8;
        Loc::Slot(-((*stack).min(i16::MAX as u32) as i16))
    };
    for (v, (start, end)) in order {
        if over.is_none() && stack + 8 > super::frame::STACK_LIMIT {
            over = Some(start);
        }
        // Expire intervals that ended before this one starts.
        active.retain(|&(e, _, r)| {
            if e < start {
                free.push(r);
                false
            } else {
                true
            }
        });
        if let Some(r) = free.pop() {
            active.push((end, v, r));
            locs.insert(v, Loc::Reg(r));
            continue;
        }
        // Spill whichever interval ends last.
        let (idx, &(last_end, last_v, r)) = active
            .iter()
            .enumerate()
            .max_by_key(|(_, a)| a.0)
            .expect("active set is full");
        if last_end > end {
            locs.insert(last_v, spill(&mut stack));
            active[idx] = (end, v, r);
            locs.insert(v, Loc::Reg(r));
        } else {
            locs.insert(v, spill(&mut stack));
        }
    }
    (locs, stack, over)
}

struct Emitter {
    locs: HashMap<VReg, Loc>,
    insns: Vec<Insn>,
    relocs: Vec<MapReloc>,
    calls: Vec<FuncCall>,
    func_addrs: Vec<FuncCall>,
    source_map: Vec<(usize, Span)>,
}

impl Emitter {
    fn loc(&self, v: VReg) -> Loc {
        self.locs[&v]
    }

    /// The register holding `v`, loading it into `scratch` if it was spilled.
    fn read(&mut self, v: VReg, scratch: Reg) -> Reg {
        match self.loc(v) {
            Loc::Reg(r) => r,
            Loc::Slot(off) => {
                self.insns.push(Insn::ldx(Size::DW, scratch, Reg::R10, off));
                scratch
            }
        }
    }

    /// The register to compute `v` in: its own, or `scratch` (then call `writeback`).
    fn target(&self, v: VReg, scratch: Reg) -> Reg {
        match self.loc(v) {
            Loc::Reg(r) => r,
            Loc::Slot(_) => scratch,
        }
    }

    fn writeback(&mut self, v: VReg, from: Reg) {
        if let Loc::Slot(off) = self.loc(v) {
            self.insns.push(Insn::stx(Size::DW, Reg::R10, off, from));
        }
    }

    fn base(&mut self, b: Base, scratch: Reg) -> Reg {
        match b {
            Base::Stack => Reg::R10,
            Base::V(v) => self.read(v, scratch),
        }
    }

    /// Loads call arguments into R1–R5.
    fn args(&mut self, args: &[Arg]) {
        for (i, arg) in args.iter().enumerate() {
            let r = Reg::from_u8(i as u8 + 1).expect("at most five call arguments");
            match *arg {
                Arg::V(v) => self.mov_into(r, Src::V(v)),
                Arg::Imm(i) => match i32::try_from(i) {
                    Ok(small) => self.insns.push(Insn::mov64_imm(r, small)),
                    Err(_) => self.insns.extend(Insn::ld_imm64(r, i as u64)),
                },
                Arg::Addr(Mem { base, off }) => {
                    match base {
                        Base::Stack => self.insns.push(Insn::mov64_reg(r, Reg::R10)),
                        Base::V(v) => self.mov_into(r, Src::V(v)),
                    }
                    if off != 0 || base == Base::Stack {
                        self.insns.push(Insn::alu64_imm(Alu::Add, r, off as i32));
                    }
                }
                Arg::Map(map) => {
                    self.relocs.push(MapReloc {
                        insn: self.insns.len(),
                        map,
                    });
                    self.insns.extend(Insn::ld_map_fd(r));
                }
                Arg::Func(func) => {
                    self.func_addrs.push(FuncCall {
                        insn: self.insns.len(),
                        func,
                    });
                    self.insns.extend(Insn::ld_func(r, 0));
                }
            }
        }
    }

    /// Moves a call's result from R0 to where `ret` lives.
    fn result(&mut self, ret: Option<VReg>) {
        if let Some(ret) = ret {
            match self.loc(ret) {
                Loc::Reg(r) => self.insns.push(Insn::mov64_reg(r, Reg::R0)),
                Loc::Slot(off) => self.insns.push(Insn::stx(Size::DW, Reg::R10, off, Reg::R0)),
            }
        }
    }

    fn mov_into(&mut self, dst: Reg, src: Src) {
        match src {
            Src::Imm(i) => self.insns.push(Insn::mov64_imm(dst, i)),
            Src::V(v) => match self.loc(v) {
                Loc::Reg(r) if r == dst => {}
                Loc::Reg(r) => self.insns.push(Insn::mov64_reg(dst, r)),
                Loc::Slot(off) => self.insns.push(Insn::ldx(Size::DW, dst, Reg::R10, off)),
            },
        }
    }

    fn run(mut self, ops: &[Op], stack_size: u32) -> Emitted {
        let mut labels: HashMap<Label, usize> = HashMap::new();
        let mut fixups: Vec<(usize, Label)> = Vec::new();
        for op in ops {
            match *op {
                Op::Mark(span) => {
                    let at = self.insns.len();
                    if let Some(last) = self.source_map.last_mut().filter(|l| l.0 == at) {
                        last.1 = span;
                    } else {
                        self.source_map.push((at, span));
                    }
                }
                Op::Label(l) => {
                    labels.insert(l, self.insns.len());
                }
                Op::Mov { dst, src } => match self.loc(dst) {
                    Loc::Reg(r) => self.mov_into(r, src),
                    Loc::Slot(off) => match src {
                        Src::Imm(i) => self.insns.push(Insn::st(Size::DW, Reg::R10, off, i)),
                        Src::V(s) => {
                            let r = self.read(s, Reg::R0);
                            self.insns.push(Insn::stx(Size::DW, Reg::R10, off, r));
                        }
                    },
                },
                Op::LdImm64 { dst, imm } => {
                    let t = self.target(dst, Reg::R0);
                    if let Ok(small) = i32::try_from(imm as i64) {
                        self.insns.push(Insn::mov64_imm(t, small));
                    } else {
                        self.insns.extend(Insn::ld_imm64(t, imm));
                    }
                    self.writeback(dst, t);
                }
                Op::Alu {
                    op,
                    dst,
                    src,
                    signed,
                } => {
                    let d = self.target(dst, Reg::R0);
                    if d == Reg::R0 {
                        self.read(dst, Reg::R0);
                    }
                    match src {
                        Src::Imm(i) => {
                            let mut insn = Insn::alu64_imm(op, d, i);
                            if signed && matches!(op, Alu::Div | Alu::Mod) {
                                insn.off = 1;
                            }
                            self.insns.push(insn);
                        }
                        Src::V(s) => {
                            let s = self.read(s, Reg::R1);
                            let insn = if signed && matches!(op, Alu::Div | Alu::Mod) {
                                Insn::alu64_reg_signed(op, d, s)
                            } else {
                                Insn::alu64_reg(op, d, s)
                            };
                            self.insns.push(insn);
                        }
                    }
                    self.writeback(dst, d);
                }
                Op::Neg { dst } => {
                    let d = self.read(dst, Reg::R0);
                    self.insns.push(Insn::neg64(d));
                    self.writeback(dst, d);
                }
                Op::Zext32 { dst, src } => {
                    let s = self.read(src, Reg::R0);
                    let d = self.target(dst, Reg::R0);
                    self.insns.push(Insn::new(
                        crate::bpf::insn::class::ALU | crate::bpf::insn::src::X | Alu::Mov as u8,
                        d.num(),
                        s.num(),
                        0,
                        0,
                    ));
                    self.writeback(dst, d);
                }
                Op::Load {
                    size,
                    dst,
                    base,
                    off,
                } => {
                    let b = self.base(base, Reg::R1);
                    let d = self.target(dst, Reg::R0);
                    self.insns.push(Insn::ldx(size, d, b, off));
                    self.writeback(dst, d);
                }
                Op::Store {
                    size,
                    base,
                    off,
                    src,
                } => {
                    let b = self.base(base, Reg::R1);
                    match src {
                        Src::Imm(i) => self.insns.push(Insn::st(size, b, off, i)),
                        Src::V(s) => {
                            let s = self.read(s, Reg::R0);
                            self.insns.push(Insn::stx(size, b, off, s));
                        }
                    }
                }
                Op::StackAddr { dst, off } => {
                    let d = self.target(dst, Reg::R0);
                    self.insns.push(Insn::mov64_reg(d, Reg::R10));
                    self.insns.push(Insn::alu64_imm(Alu::Add, d, off as i32));
                    self.writeback(dst, d);
                }
                Op::Ctx { dst } => {
                    let d = self.target(dst, Reg::R1);
                    if d != Reg::R1 {
                        self.insns.push(Insn::mov64_reg(d, Reg::R1));
                    }
                    self.writeback(dst, d);
                }
                Op::Jmp { cond, a, b, target } => {
                    let a = self.read(a, Reg::R0);
                    let insn = match b {
                        Src::Imm(i) => Insn::jmp_imm(cond, a, i, 0),
                        Src::V(v) => {
                            let b = self.read(v, Reg::R1);
                            Insn::jmp_reg(cond, a, b, 0)
                        }
                    };
                    fixups.push((self.insns.len(), target));
                    self.insns.push(insn);
                }
                Op::Goto(target) => {
                    fixups.push((self.insns.len(), target));
                    self.insns.push(Insn::ja(0));
                }
                Op::Call {
                    helper,
                    ref args,
                    ret,
                } => {
                    self.args(args);
                    self.insns.push(Insn::call(helper));
                    self.result(ret);
                }
                Op::CallKernel {
                    btf_id,
                    ref args,
                    ret,
                } => {
                    self.args(args);
                    self.insns.push(Insn::call_kernel(btf_id));
                    self.result(ret);
                }
                Op::CallFunc {
                    func,
                    ref args,
                    ret,
                } => {
                    self.args(args);
                    self.calls.push(FuncCall {
                        insn: self.insns.len(),
                        func,
                    });
                    // The loader resolves the target from the relocation (`imm` -1: the
                    // function's symbol itself).
                    self.insns.push(Insn::call_func(-1));
                    self.result(ret);
                }
                Op::Param { dst, index } => {
                    let r = Reg::from_u8(index + 1).expect("at most five parameters");
                    let d = self.target(dst, r);
                    if d != r {
                        self.insns.push(Insn::mov64_reg(d, r));
                    }
                    self.writeback(dst, d);
                }
                Op::Return(src) => {
                    self.mov_into(Reg::R0, src);
                    self.insns.push(Insn::exit());
                }
            }
        }
        let mut far_jump = false;
        for (at, label) in fixups {
            let target = labels[&label];
            let off = target as i64 - (at as i64 + 1);
            // Too far: reported by the driver (the program cannot load as it is).
            self.insns[at].off = i16::try_from(off).unwrap_or_else(|_| {
                far_jump = true;
                0
            });
        }
        Emitted {
            insns: self.insns,
            map_relocs: self.relocs,
            calls: self.calls,
            func_addrs: self.func_addrs,
            source_map: self.source_map,
            stack_size,
            overflow: None,
            far_jump,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::Cond;

    fn v(n: u32) -> VReg {
        VReg(n)
    }

    /// `v1..vn = 1..n; v1 += v2 .. vn; exit`: n values live at once.
    fn sum_of_live_values(n: u32) -> Vec<Op> {
        (1..=n)
            .map(|i| Op::Mov {
                dst: v(i),
                src: Src::Imm(i as i32),
            })
            .chain((2..=n).map(|i| Op::Alu {
                op: Alu::Add,
                dst: v(1),
                src: Src::V(v(i)),
                signed: false,
            }))
            .chain([Op::Return(Src::Imm(0))])
            .collect()
    }

    #[test]
    fn four_live_values_fit_in_callee_saved_registers() {
        let ops = sum_of_live_values(4);
        let e = emit(&ops, 0);
        assert_eq!(e.stack_size, 0);
        assert!(
            e.insns
                .iter()
                .all(|i| i.dst != 10 || i.class() == crate::bpf::insn::class::LDX)
        );
        assert_eq!(e.insns.len(), 4 + 3 + 2);
    }

    #[test]
    fn a_fifth_live_value_spills_to_the_stack() {
        let ops = sum_of_live_values(5);
        let e = emit(&ops, 16);
        assert_eq!(e.stack_size, 24, "one spill slot below the 16 bytes in use");
        // v5 ends no earlier than any active value, so it is the one spilled: stored with
        // an immediate store, read back into R1 for its use.
        assert_eq!(e.insns[4], Insn::st(Size::DW, Reg::R10, -24, 5));
        assert_eq!(e.insns[8], Insn::ldx(Size::DW, Reg::R1, Reg::R10, -24));
    }

    #[test]
    fn jumps_resolve_forward_over_ld_imm64() {
        let ops = vec![
            Op::Mov {
                dst: v(1),
                src: Src::Imm(0),
            },
            Op::Jmp {
                cond: Cond::Eq,
                a: v(1),
                b: Src::Imm(0),
                target: Label(7),
            },
            Op::LdImm64 {
                dst: v(2),
                imm: 1 << 40,
            },
            Op::Mov {
                dst: v(1),
                src: Src::V(v(2)),
            },
            Op::Label(Label(7)),
            Op::Return(Src::Imm(0)),
        ];
        let e = emit(&ops, 0);
        // mov, jeq, ld_imm64 (2 slots), mov, mov r0, exit: the jump skips 3 slots.
        assert_eq!(e.insns[1].off, 3);
        assert!(e.insns[1].is_branch());
    }

    #[test]
    fn calls_load_arguments_and_relocate_maps() {
        let ops = vec![
            Op::Call {
                helper: 1,
                args: vec![Arg::Map(3), Arg::Addr(Mem::stack(-8))],
                ret: Some(v(1)),
            },
            Op::Jmp {
                cond: Cond::Eq,
                a: v(1),
                b: Src::Imm(0),
                target: Label(1),
            },
            Op::Label(Label(1)),
            Op::Return(Src::Imm(0)),
        ];
        let e = emit(&ops, 8);
        assert_eq!(e.map_relocs, vec![MapReloc { insn: 0, map: 3 }]);
        assert_eq!(e.insns[2], Insn::mov64_reg(Reg::R2, Reg::R10));
        assert_eq!(e.insns[3], Insn::alu64_imm(Alu::Add, Reg::R2, -8));
        assert_eq!(e.insns[4], Insn::call(1));
        assert_eq!(e.insns[5], Insn::mov64_reg(Reg::R6, Reg::R0));
    }

    /// Regression: `v1` is last mentioned inside the loop, before `v3` is defined; with
    /// first-to-last-mention intervals `v3` took `v1`'s register and the second
    /// iteration read 5 instead of 7.
    #[test]
    fn a_loop_invariant_keeps_its_register_around_the_back_edge() {
        let ops = vec![
            Op::Mov {
                dst: v(1),
                src: Src::Imm(7),
            },
            Op::Mov {
                dst: v(4),
                src: Src::Imm(0),
            },
            Op::Label(Label(1)),
            Op::Mov {
                dst: v(2),
                src: Src::V(v(1)),
            },
            Op::Mov {
                dst: v(3),
                src: Src::Imm(5),
            },
            Op::Alu {
                op: Alu::Add,
                dst: v(2),
                src: Src::V(v(3)),
                signed: false,
            },
            Op::Alu {
                op: Alu::Add,
                dst: v(4),
                src: Src::V(v(2)),
                signed: false,
            },
            Op::Jmp {
                cond: Cond::Lt,
                a: v(4),
                b: Src::Imm(100),
                target: Label(1),
            },
            Op::Return(Src::V(v(4))),
        ];
        let (locs, _, _) = allocate(&ops, 0);
        for other in [2, 3, 4] {
            assert_ne!(locs[&v(1)], locs[&v(other)], "v1 shares with v{other}");
        }
    }
}
