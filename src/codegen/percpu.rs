//! Reads of per-CPU aggregation values in the kernel: one entry's value on every CPU,
//! combined into the one integer the language reads (`(int64)@c`, `if (@c > 10)`).
//!
//! In: a user map holding `count()`, `sum()`, `min()`, `max()` or `avg()` and the
//! address of a key laid out for it. Out: a register with the combined value. The loop
//! runs over CPU numbers 0 … `Layout::possible_cpus` − 1 (a compile-time constant, so
//! the verifier bounds it) with `bpf_map_lookup_percpu_elem` (Linux 5.19+); it stops at
//! the first CPU without a value (the key is missing: the result is 0). Does not touch
//! the map.

use super::ir::{Arg, Base, Label, Mem, Op, Src, VReg};
use super::lower::Lowerer;
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond};
use crate::lang::agg::ValueKind;

impl Lowerer<'_> {
    /// The value of user map `map`'s entry at `key`, combined over every CPU's slot:
    /// count and sum add; min and max take the smallest / largest (signed) value of the
    /// CPUs that set one; avg divides the total by the count (signed, truncated toward
    /// zero). A missing entry, or one no CPU set, gives 0.
    ///
    /// `key` points to the BPF key as [`Lowerer::key`] builds it (for an unkeyed
    /// per-CPU array, the zeroed index 0 it builds for no keys). The map must hold one
    /// of the kinds [`ValueKind::read_ty`] admits. Emits a loop; may be called inside
    /// other loops and callbacks (it uses fresh registers only).
    pub(super) fn percpu_value(&mut self, map: usize, key: Mem) -> VReg {
        let ml = self.layout.maps[map].clone();
        let kind = ml.value.clone();
        debug_assert!(kind.read_ty().is_some(), "sema: {kind:?} is not readable");
        // `acc`: the sum, or the best value so far; `aux`: avg's count, min/max's
        // "some CPU set a value".
        let acc = self.fresh_copy(Src::Imm(0));
        let aux = self.fresh_copy(Src::Imm(0));
        let cpu = self.fresh_copy(Src::Imm(0));
        let head = self.new_label();
        let next = self.new_label();
        let end = self.new_label();
        self.ops.push(Op::Label(head));
        let n = self.layout.possible_cpus.min(i32::MAX as u32) as i32;
        self.percpu_jump(Cond::Ge, cpu, Src::Imm(n), end);
        let p = self.call(
            helper::MAP_LOOKUP_PERCPU_ELEM,
            vec![Arg::Map(ml.bpf_map), Arg::Addr(key), Arg::V(cpu)],
        );
        self.jump_if_null(p, end);
        match kind {
            ValueKind::Count | ValueKind::Sum { .. } => {
                let v = self.percpu_word(p, 0);
                self.percpu_alu(Alu::Add, acc, Src::V(v));
            }
            ValueKind::Avg => {
                let total = self.percpu_word(p, 0);
                self.percpu_alu(Alu::Add, acc, Src::V(total));
                let count = self.percpu_word(p, 8);
                self.percpu_alu(Alu::Add, aux, Src::V(count));
            }
            ValueKind::Min | ValueKind::Max => {
                // `{value, set}`: take a set value when it is the first or it beats `acc`.
                let set = self.percpu_word(p, 8);
                self.jump_if_null(set, next);
                let v = self.percpu_word(p, 0);
                let take = self.new_label();
                self.jump_if_null(aux, take);
                let keep = if kind == ValueKind::Min {
                    Cond::Sge
                } else {
                    Cond::Sle
                };
                self.percpu_jump(keep, v, Src::V(acc), next);
                self.ops.push(Op::Label(take));
                self.ops.push(Op::Mov {
                    dst: acc,
                    src: Src::V(v),
                });
                self.ops.push(Op::Mov {
                    dst: aux,
                    src: Src::Imm(1),
                });
            }
            ValueKind::Scalar(_) | ValueKind::Stats | ValueKind::Hist | ValueKind::Lhist(_) => {
                unreachable!("sema: {kind:?} values are not read in the kernel")
            }
        }
        self.ops.push(Op::Label(next));
        self.percpu_alu(Alu::Add, cpu, Src::Imm(1));
        self.ops.push(Op::Goto(head));
        self.ops.push(Op::Label(end));
        if kind == ValueKind::Avg {
            // BPF division by 0 gives 0: an entry with no values averages to 0.
            self.ops.push(Op::Alu {
                op: Alu::Div,
                dst: acc,
                src: Src::V(aux),
                signed: true,
            });
        }
        acc
    }

    /// The 64-bit word `off` bytes past the pointer in `p`.
    fn percpu_word(&mut self, p: VReg, off: i16) -> VReg {
        self.load_u64(Mem {
            base: Base::V(p),
            off,
        })
    }

    fn percpu_jump(&mut self, cond: Cond, a: VReg, b: Src, target: Label) {
        self.ops.push(Op::Jmp { cond, a, b, target });
    }

    fn percpu_alu(&mut self, op: Alu, dst: VReg, src: Src) {
        self.ops.push(Op::Alu {
            op,
            dst,
            src,
            signed: false,
        });
    }
}
