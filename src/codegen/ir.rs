//! The lowering target: BPF-shaped operations over virtual registers, with symbolic
//! labels, map references and source markers. `regalloc` turns it into real instructions.
//!
//! Jumps may go backwards (loops): liveness and reachability come from the
//! control-flow graph in `cfg`.
//!
//! Conventions that keep register allocation simple: virtual registers live only in the
//! callee-saved R6–R9 or in stack slots, so R0–R5 are free scratch inside the expansion
//! of any one operation, and a helper call (one [`Op::Call`]) moves its arguments into
//! R1–R5 itself.

use crate::bpf::{Alu, Cond, Size};
use crate::diag::Span;

/// A virtual register holding a 64-bit value (integer or pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VReg(pub u32);

/// A function: a program's entry, or a subprogram it calls (which reads its arguments
/// with [`Op::Param`] before anything else and ends in `Return`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Func {
    /// Name of the function's symbol in the object.
    pub name: String,
    /// Its operations, ending in `Return`.
    pub ops: Vec<Op>,
}

/// A jump target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(pub u32);

/// A source operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// A virtual register.
    V(VReg),
    /// A 32-bit immediate (sign-extended to 64 bits).
    Imm(i32),
}

/// Base address of a memory access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// The frame pointer R10 (offsets are negative).
    Stack,
    /// A pointer held in a virtual register.
    V(VReg),
}

/// A memory location: a base plus a constant offset. Buffers live on the stack
/// (`Base::Stack`, negative offsets) or in the program's per-CPU scratch map
/// (`Base::V` of the register holding its address, offsets from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    /// Where the offset counts from.
    pub base: Base,
    /// Bytes from the base.
    pub off: i16,
}

impl Mem {
    /// `R10 + off`.
    pub fn stack(off: i16) -> Mem {
        Mem {
            base: Base::Stack,
            off,
        }
    }

    /// The location `delta` bytes further on. Saturates: offsets past the BPF range only
    /// arise in a frame too big for the kernel, which is reported after lowering.
    pub fn at(self, delta: i16) -> Mem {
        Mem {
            off: self.off.saturating_add(delta),
            ..self
        }
    }
}

/// A helper-call argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A virtual register's value.
    V(VReg),
    /// A constant.
    Imm(i64),
    /// The address of a memory location.
    Addr(Mem),
    /// The fd of module map `n` (relocated `ld_imm64`).
    Map(usize),
    /// The address of subprogram `n` of the probe (a callback; relocated `ld_imm64`).
    Func(usize),
}

/// One operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `dst = src`.
    Mov {
        /// Destination.
        dst: VReg,
        /// Source.
        src: Src,
    },
    /// `dst = imm` for any 64-bit constant.
    LdImm64 {
        /// Destination.
        dst: VReg,
        /// Constant.
        imm: u64,
    },
    /// `dst op= src`; `signed` selects `s/`, `s%` (and is ignored otherwise).
    Alu {
        /// Operation.
        op: Alu,
        /// Destination and left operand.
        dst: VReg,
        /// Right operand.
        src: Src,
        /// Signed division / modulo.
        signed: bool,
    },
    /// `dst = -dst`.
    Neg {
        /// Operand.
        dst: VReg,
    },
    /// `dst = (u32)src` (a 32-bit move, which zero-extends).
    Zext32 {
        /// Destination.
        dst: VReg,
        /// Source (may be `dst`).
        src: VReg,
    },
    /// `dst = *(size *)(base + off)`.
    Load {
        /// Width.
        size: Size,
        /// Destination.
        dst: VReg,
        /// Address base.
        base: Base,
        /// Offset.
        off: i16,
    },
    /// `*(size *)(base + off) = src`.
    Store {
        /// Width.
        size: Size,
        /// Address base.
        base: Base,
        /// Offset.
        off: i16,
        /// Value.
        src: Src,
    },
    /// `dst = R10 + off`.
    StackAddr {
        /// Destination.
        dst: VReg,
        /// Offset (negative).
        off: i16,
    },
    /// `dst = R1` at program entry (the context pointer).
    Ctx {
        /// Destination.
        dst: VReg,
    },
    /// `dst = R(1 + index)` at function entry: argument `index` (0 to 4).
    Param {
        /// Destination.
        dst: VReg,
        /// Which argument.
        index: u8,
    },
    /// `if a cond b goto target`.
    Jmp {
        /// Condition.
        cond: Cond,
        /// Left operand.
        a: VReg,
        /// Right operand.
        b: Src,
        /// Target.
        target: Label,
    },
    /// `goto target`.
    Goto(Label),
    /// Defines a label here.
    Label(Label),
    /// `ret = helper(args...)`.
    Call {
        /// Helper id.
        helper: u32,
        /// Up to five arguments.
        args: Vec<Arg>,
        /// Where the result goes, if used.
        ret: Option<VReg>,
    },
    /// `ret = kfunc(args...)`: a call of the kernel function (kfunc) whose vmlinux BTF
    /// type id is `btf_id`; registers as for helpers.
    CallKernel {
        /// The function's id in the kernel's BTF.
        btf_id: u32,
        /// Up to five arguments.
        args: Vec<Arg>,
        /// Where the result goes, if used.
        ret: Option<VReg>,
    },
    /// `ret = func(args...)`: a BPF-to-BPF call of subprogram `func` of the module
    /// (arguments in R1–R5, result in R0; R6–R9 survive the call).
    CallFunc {
        /// Index into the module's subprograms.
        func: usize,
        /// Up to five arguments.
        args: Vec<Arg>,
        /// Where the result goes, if used.
        ret: Option<VReg>,
    },
    /// `return value` (R0 = value, then `exit`).
    Return(Src),
    /// The following operations come from this source construct.
    Mark(Span),
}

impl Op {
    /// Virtual registers this operation reads.
    pub fn uses(&self, out: &mut Vec<VReg>) {
        let src = |s: &Src, out: &mut Vec<VReg>| {
            if let Src::V(v) = s {
                out.push(*v)
            }
        };
        match self {
            Op::Mov { src: s, .. } | Op::Return(s) => src(s, out),
            Op::Alu { dst, src: s, .. } => {
                out.push(*dst);
                src(s, out);
            }
            Op::Neg { dst } => out.push(*dst),
            Op::Zext32 { src: s, .. } => out.push(*s),
            Op::Load { base, .. } => {
                if let Base::V(v) = base {
                    out.push(*v)
                }
            }
            Op::Store { base, src: s, .. } => {
                if let Base::V(v) = base {
                    out.push(*v)
                }
                src(s, out);
            }
            Op::Jmp { a, b, .. } => {
                out.push(*a);
                src(b, out);
            }
            Op::Call { args, .. } | Op::CallKernel { args, .. } | Op::CallFunc { args, .. } => {
                for a in args {
                    match a {
                        Arg::V(v)
                        | Arg::Addr(Mem {
                            base: Base::V(v), ..
                        }) => out.push(*v),
                        _ => {}
                    }
                }
            }
            Op::LdImm64 { .. }
            | Op::StackAddr { .. }
            | Op::Ctx { .. }
            | Op::Param { .. }
            | Op::Goto(_)
            | Op::Label(_)
            | Op::Mark(_) => {}
        }
    }

    /// The virtual register this operation writes, if any.
    pub fn def(&self) -> Option<VReg> {
        match self {
            Op::Mov { dst, .. }
            | Op::LdImm64 { dst, .. }
            | Op::Alu { dst, .. }
            | Op::Neg { dst }
            | Op::Zext32 { dst, .. }
            | Op::Load { dst, .. }
            | Op::StackAddr { dst, .. }
            | Op::Ctx { dst }
            | Op::Param { dst, .. } => Some(*dst),
            Op::Call { ret, .. } | Op::CallKernel { ret, .. } | Op::CallFunc { ret, .. } => *ret,
            Op::Store { .. }
            | Op::Jmp { .. }
            | Op::Goto(_)
            | Op::Label(_)
            | Op::Return(_)
            | Op::Mark(_) => None,
        }
    }

    /// Virtual registers this operation mentions (read or written).
    pub fn vregs(&self, out: &mut Vec<VReg>) {
        self.uses(out);
        out.extend(self.def());
    }

    /// True when control never continues to the next operation.
    pub fn ends_flow(&self) -> bool {
        matches!(self, Op::Goto(_) | Op::Return(_))
    }
}

/// Drops operations no path reaches (after `exit()`, a constant-folded branch, code
/// after a loop that never ends): the verifier rejects unreachable instructions.
/// Reachability follows the control-flow graph, back-edges included.
pub fn prune_unreachable(ops: Vec<Op>) -> Vec<Op> {
    let keep = super::cfg::Cfg::new(&ops).reachable_ops();
    ops.into_iter()
        .zip(keep)
        .filter_map(|(op, k)| k.then_some(op))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_after_goto_is_dropped_until_a_jumped_to_label() {
        let ops = vec![
            Op::Goto(Label(1)),
            Op::Mov {
                dst: VReg(1),
                src: Src::Imm(1),
            },
            Op::Label(Label(2)),
            Op::Mov {
                dst: VReg(1),
                src: Src::Imm(2),
            },
            Op::Label(Label(1)),
            Op::Return(Src::Imm(0)),
            Op::Mov {
                dst: VReg(1),
                src: Src::Imm(3),
            },
        ];
        assert_eq!(
            prune_unreachable(ops),
            vec![
                Op::Goto(Label(1)),
                Op::Label(Label(1)),
                Op::Return(Src::Imm(0))
            ]
        );
    }
}
