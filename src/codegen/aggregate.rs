//! Lowering of map updates: assignments, the aggregations (count, sum, avg/stats,
//! min/max, hist, lhist) with their per-CPU slot handling and bucket computation, and
//! `delete`.

use super::ir::{Arg, Base, Label, Mem, Op, Src, VReg};
use super::layout::MapLayout;
use super::lower::{Lowerer, Val};
use crate::bpf::abi::MapKind;
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond, Size};
use crate::lang::agg::Lhist;
use crate::lang::ty::round_up;
use crate::sema::hir::{self, MapOp};

/// `BPF_ANY`: create or replace.
const BPF_ANY: i64 = 0;

impl Lowerer<'_> {
    pub(super) fn map_update(&mut self, map: usize, keys: &[hir::Expr], op: &MapOp) {
        let ml = self.layout.maps[map].clone();
        // The new value (or delta) first: it may read maps itself.
        let val = op.value().map(|e| self.stored_value(e));
        if let MapOp::Assign(_) = op {
            let key = self.key(&ml, keys);
            let voff = match val.expect("assign has a value") {
                Val::Int(src) => {
                    let at = self.alloc(8);
                    self.ops.push(Op::Store {
                        size: Size::DW,
                        base: at.base,
                        off: at.off,
                        src,
                    });
                    at
                }
                Val::Buf { at, len } => {
                    if len >= ml.value_size {
                        at
                    } else {
                        let to = self.alloc(ml.value_size);
                        self.copy(to, at, round_up(len, 8), 8);
                        self.zero(
                            to.at(round_up(len, 8) as i16),
                            ml.value_size - round_up(len, 8),
                        );
                        to
                    }
                }
            };
            self.update_elem(map, ml.bpf_map, key, voff, BPF_ANY);
            return;
        }
        let v = match val {
            None => Src::Imm(1),
            Some(Val::Int(src)) => src,
            Some(Val::Buf { .. }) => unreachable!("sema: aggregation of an integer"),
        };
        let bucket = match op {
            MapOp::Hist(_) => Some(self.hist_bucket(v)),
            MapOp::Lhist(_, l) => Some(self.lhist_bucket(v, l)),
            _ => None,
        };
        let key = self.key(&ml, keys);
        if let Some(b) = bucket {
            let at = key.at(ml.key_offsets.last().map_or(0, |&o| o as i16));
            self.ops.push(Op::Store {
                size: Size::DW,
                base: at.base,
                off: at.off,
                src: Src::V(b),
            });
        }
        let done = self.label();
        // The first value of a new key: the update applied to an empty slot.
        let delta = if bucket.is_some() { Src::Imm(1) } else { v };
        let first = match op {
            MapOp::Avg(_) | MapOp::Min(_) | MapOp::Max(_) => [delta, Src::Imm(1)],
            _ => [delta, Src::Imm(0)],
        };
        let p = self.slot(map, &ml, key, &first, done);
        match op {
            MapOp::Count | MapOp::Sum(_) | MapOp::Hist(_) | MapOp::Lhist(..) => {
                self.add_at(p, 0, delta);
            }
            MapOp::Avg(_) => {
                self.add_at(p, 0, v);
                self.add_at(p, 8, Src::Imm(1));
            }
            MapOp::Min(_) | MapOp::Max(_) => {
                // `{value, set}`: store when unset or when `v` beats the value.
                let store = self.label();
                let set = self.vreg();
                self.ops.push(Op::Load {
                    size: Size::DW,
                    dst: set,
                    base: Base::V(p),
                    off: 8,
                });
                self.jump_if_null(set, store);
                let cur = self.vreg();
                self.ops.push(Op::Load {
                    size: Size::DW,
                    dst: cur,
                    base: Base::V(p),
                    off: 0,
                });
                let keep = if matches!(op, MapOp::Min(_)) {
                    Cond::Sle
                } else {
                    Cond::Sge
                };
                self.ops.push(Op::Jmp {
                    cond: keep,
                    a: cur,
                    b: v,
                    target: done,
                });
                self.ops.push(Op::Label(store));
                self.ops.push(Op::Store {
                    size: Size::DW,
                    base: Base::V(p),
                    off: 0,
                    src: v,
                });
                self.ops.push(Op::Store {
                    size: Size::DW,
                    base: Base::V(p),
                    off: 8,
                    src: Src::Imm(1),
                });
            }
            MapOp::Assign(_) => unreachable!("handled above"),
        }
        self.ops.push(Op::Label(done));
    }

    /// Looks up the value of `key` in a per-CPU map and returns the pointer, jumping to
    /// `done` if there is none. A per-CPU hash without the key gets it inserted with the
    /// words `first` (this CPU's first value; the kernel zeroes the other CPUs' slots, and
    /// if another CPU inserted the key meanwhile, `BPF_ANY` only sets this CPU's slot,
    /// still empty) and the caller's update is skipped: one helper call, no second lookup.
    fn slot(
        &mut self,
        map: usize,
        ml: &MapLayout,
        key: Mem,
        first: &[Src; 2],
        done: Label,
    ) -> VReg {
        let p = self.call(
            helper::MAP_LOOKUP_ELEM,
            vec![Arg::Map(ml.bpf_map), Arg::Addr(key)],
        );
        if ml.kind == MapKind::PercpuHash {
            let have = self.label();
            self.ops.push(Op::Jmp {
                cond: Cond::Ne,
                a: p,
                b: Src::Imm(0),
                target: have,
            });
            let init = self.alloc(ml.value_size);
            for (i, w) in first.iter().take((ml.value_size / 8) as usize).enumerate() {
                self.ops.push(Op::Store {
                    size: Size::DW,
                    base: init.base,
                    off: init.at(8 * i as i16).off,
                    src: *w,
                });
            }
            self.update_elem(map, ml.bpf_map, key, init, BPF_ANY);
            self.ops.push(Op::Goto(done));
            self.ops.push(Op::Label(have));
        } else {
            self.jump_if_null(p, done);
        }
        p
    }

    /// `*(u64 *)(p + off) += delta`.
    fn add_at(&mut self, p: VReg, off: i16, delta: Src) {
        let t = self.vreg();
        self.ops.push(Op::Load {
            size: Size::DW,
            dst: t,
            base: Base::V(p),
            off,
        });
        self.ops.push(Op::Alu {
            op: Alu::Add,
            dst: t,
            src: delta,
            signed: false,
        });
        self.ops.push(Op::Store {
            size: Size::DW,
            base: Base::V(p),
            off,
            src: Src::V(t),
        });
    }

    /// The `hist()` bucket of signed `v` ([`crate::lang::agg::hist_bucket`]):
    /// 0 below zero, 1 for zero, else 2 + log2(v) by binary search on the bit length.
    fn hist_bucket(&mut self, v: Src) -> VReg {
        let b = self.vreg();
        if let Src::Imm(c) = v {
            let k = crate::lang::agg::hist_bucket(c as i64);
            self.mov(b, Src::Imm(k as i32));
            return b;
        }
        let t = self.fresh_copy(v);
        let done = self.label();
        self.mov(b, Src::Imm(0));
        self.jmp(Cond::Slt, t, Src::Imm(0), done);
        self.mov(b, Src::Imm(1));
        self.jmp(Cond::Eq, t, Src::Imm(0), done);
        self.mov(b, Src::Imm(2));
        // Bits above 32 first: 1 << 32 is no 32-bit immediate.
        let low = self.label();
        let hi = self.fresh_copy(Src::V(t));
        self.alu(Alu::Rsh, hi, Src::Imm(32));
        self.jump_if_null(hi, low);
        self.mov(t, Src::V(hi));
        self.alu(Alu::Add, b, Src::Imm(32));
        self.ops.push(Op::Label(low));
        for k in [16, 8, 4, 2, 1] {
            let skip = self.label();
            self.jmp(Cond::Lt, t, Src::Imm(1 << k), skip);
            self.alu(Alu::Rsh, t, Src::Imm(k));
            self.alu(Alu::Add, b, Src::Imm(k));
            self.ops.push(Op::Label(skip));
        }
        self.ops.push(Op::Label(done));
        b
    }

    /// The `lhist()` bucket of signed `v` ([`Lhist::bucket`]).
    fn lhist_bucket(&mut self, v: Src, l: &Lhist) -> VReg {
        let b = self.vreg();
        if let Src::Imm(c) = v {
            self.mov(b, Src::Imm(l.bucket(c as i64) as i32));
            return b;
        }
        let t = self.fresh_copy(v);
        let done = self.label();
        self.mov(b, Src::Imm(0));
        let min = self.constant(l.min as u64);
        self.jmp(Cond::Slt, t, min, done);
        self.mov(b, Src::Imm(l.buckets() as i32 - 1));
        let max = self.constant(l.max as u64);
        self.jmp(Cond::Sge, t, max, done);
        self.mov(b, Src::V(t));
        if l.min != 0 {
            self.alu(Alu::Sub, b, min);
        }
        if l.step != 1 {
            let step = self.constant(l.step as u64);
            self.alu(Alu::Div, b, step);
        }
        self.alu(Alu::Add, b, Src::Imm(1));
        self.ops.push(Op::Label(done));
        b
    }

    /// `dst = src`.
    fn mov(&mut self, dst: VReg, src: Src) {
        self.ops.push(Op::Mov { dst, src });
    }

    /// `dst op= src` (unsigned).
    pub(super) fn alu(&mut self, op: Alu, dst: VReg, src: Src) {
        self.ops.push(Op::Alu {
            op,
            dst,
            src,
            signed: false,
        });
    }

    /// `if a cond b goto target`.
    pub(super) fn jmp(&mut self, cond: Cond, a: VReg, b: Src, target: Label) {
        self.ops.push(Op::Jmp { cond, a, b, target });
    }

    /// `delete(@m[k])`.
    pub(super) fn delete(&mut self, map: usize, keys: &[hir::Expr]) {
        let ml = self.layout.maps[map].clone();
        let key = self.key(&ml, keys);
        self.ops.push(Op::Call {
            helper: helper::MAP_DELETE_ELEM,
            args: vec![Arg::Map(ml.bpf_map), Arg::Addr(key)],
            ret: None,
        });
    }
}
