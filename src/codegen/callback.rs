//! Callbacks: code the kernel calls back from a helper, lowered as subprograms of the
//! probe's program. `for ($kv : @map)` runs its body in a `bpf_for_each_map_elem`
//! callback, `len(@m)` counts entries with the same helper, and range loops run in a
//! `bpf_loop` callback unless they are short and constant (see [`INLINE_RANGE`]).
//!
//! A callback sees the probe's variables where the probe keeps them: the entry puts
//! every variable and three shared slots in one area at the top of the program's stack
//! frame (variables the frame placed in the scratch map stay there, and a callback
//! finds them through its own lookup of the same per-CPU value), and each callback gets
//! the area's address as its `ctx` argument, passing it on to callbacks it calls. The
//! shared slots hold the context pointer (stored only when some callback reads the
//! context), a flag that a callback sets when the probe ends inside it (`return`,
//! `exit()`), and the value the probe returns; the caller tests the flag when the
//! helper returns and ends too.
//!
//! The kernel counts the frames of a callback chain against one 512-byte stack: the
//! driver checks the sum (`super::lower_probe`).

use super::ir::{Arg, Base, Mem, Op, Src, VReg};
use super::lower::Lowerer;
use crate::bpf::insn::helper;
use crate::bpf::{Cond, Size};
use crate::lang::agg::ValueKind;
use crate::lang::ty::{Ty, tuple_layout};
use crate::sema::hir::{self, ExprKind, StmtKind};

/// Range loops with constant bounds and at most this many iterations are unrolled by
/// the verifier's own loop handling, inline; longer or run-time ranges go through
/// `bpf_loop`, which the verifier checks once whatever the count.
pub(super) const INLINE_RANGE: u64 = 16;

/// `bpf_loop`'s most iterations (`BPF_MAX_LOOPS`, Linux 5.17+); a range that is longer
/// runs no iteration and is counted as a failure at the loop.
pub(super) const MAX_LOOPS: u64 = crate::artifact::MAX_RANGE;

/// A lowered callback, not yet register-allocated.
pub(super) struct Subprog {
    /// Its operations (parameters first).
    pub(super) ops: Vec<Op>,
    /// Stack bytes its buffers take.
    pub(super) stack_max: u32,
    /// Parameters the kernel passes (R1…).
    pub(super) params: u8,
}

/// Where a variable lives.
#[derive(Clone, Copy, Debug)]
pub(super) enum VarLoc {
    /// At this offset of the area.
    Area(u32),
    /// At this offset of the scratch map's value.
    Scratch(i16),
}

/// Offsets in the area of the slots callbacks share with the probe.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shared {
    /// The program's context pointer.
    ctx: u32,
    /// Non-zero once the probe ended inside a callback.
    ended: u32,
    /// What the probe returns then.
    value: u32,
}

/// The probe's variables as callbacks find them.
#[derive(Clone, Debug, Default)]
pub(super) struct Area {
    /// Bytes at the top of the program's frame (the area starts at `R10 - size`).
    size: u32,
    /// Each variable's place.
    vars: Vec<VarLoc>,
    /// The shared slots, when the probe has callbacks.
    shared: Option<Shared>,
    /// Per variable of a `bpf_loop` range: the offset of the slot holding the range's
    /// start (the callback adds its index).
    starts: Vec<(usize, u32)>,
    /// In a callback: the register holding the area's address.
    ptr: Option<VReg>,
}

/// Which function a variable lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Home {
    /// The probe's program only.
    Probe,
    /// Only the callback of the loop statement with this [`id`].
    Callback(usize),
    /// Several functions: the scratch map.
    Shared,
}

/// The identity of a loop statement whose body is a callback (its address: the HIR
/// does not move while it is lowered).
pub(super) fn id(s: &hir::Stmt) -> usize {
    s as *const hir::Stmt as usize
}

/// Where each variable of `probe` lives: in the function (program or callback) that
/// references it, or shared when several do.
pub(super) fn homes(probe: &hir::Probe) -> Vec<Home> {
    let mut homes: Vec<Option<Home>> = vec![None; probe.vars.len()];
    let mut note = |var: usize, owner: Home| {
        homes[var] = Some(match homes[var] {
            None => owner,
            Some(h) if h == owner => h,
            Some(_) => Home::Shared,
        });
    };
    fn expr_vars(e: &hir::Expr, owner: Home, note: &mut dyn FnMut(usize, Home)) {
        crate::sema::visit::expr(e, &mut |x| {
            if let ExprKind::Var(v) = x.kind {
                note(v, owner);
            }
        });
    }
    fn walk(stmts: &[hir::Stmt], owner: Home, note: &mut dyn FnMut(usize, Home)) {
        for s in stmts {
            match &s.kind {
                StmtKind::ForMap { var, body, .. } => {
                    note(*var, Home::Callback(id(s)));
                    walk(body, Home::Callback(id(s)), note);
                }
                StmtKind::For {
                    var,
                    start,
                    end,
                    body,
                } => {
                    expr_vars(start, owner, note);
                    expr_vars(end, owner, note);
                    let inner = match inline_range(start, end) {
                        Some(_) => owner,
                        None => Home::Callback(id(s)),
                    };
                    note(*var, inner);
                    walk(body, inner, note);
                }
                StmtKind::If { cond, then, else_ } => {
                    expr_vars(cond, owner, note);
                    walk(then, owner, note);
                    walk(else_, owner, note);
                }
                StmtKind::While { cond, body } => {
                    expr_vars(cond, owner, note);
                    walk(body, owner, note);
                }
                StmtKind::Unroll { body, .. } => walk(body, owner, note),
                StmtKind::VarAssign { var, value } => {
                    note(*var, owner);
                    expr_vars(value, owner, note);
                }
                StmtKind::VarZero(var) => note(*var, owner),
                _ => {
                    // Statements without bodies: every expression in them.
                    crate::sema::visit::exprs(std::slice::from_ref(s), &mut |x| {
                        if let ExprKind::Var(v) = x.kind {
                            note(v, owner);
                        }
                    });
                }
            }
        }
    }
    if let Some(p) = &probe.predicate {
        expr_vars(p, Home::Probe, &mut note);
    }
    walk(&probe.body, Home::Probe, &mut note);
    homes
        .into_iter()
        .map(|h| h.unwrap_or(Home::Probe))
        .collect()
}

/// The constant bounds of a range short enough to loop over inline; `None` when the
/// range runs through `bpf_loop`.
pub(super) fn inline_range(start: &hir::Expr, end: &hir::Expr) -> Option<(i128, i128)> {
    let value = |e: &hir::Expr| match e.kind {
        ExprKind::Int(v) if e.ty.is_signed() => Some(v as i64 as i128),
        ExprKind::Int(v) => Some(v as i128),
        _ => None,
    };
    let (s, e) = (value(start)?, value(end)?);
    (e - s <= INLINE_RANGE as i128).then_some((s, e))
}

/// The variables of the range loops of `body` that run through `bpf_loop`.
fn callback_ranges(body: &[hir::Stmt]) -> Vec<usize> {
    let mut vars = Vec::new();
    crate::sema::visit::stmts(body, &mut |s| {
        if let StmtKind::For {
            var, start, end, ..
        } = &s.kind
            && inline_range(start, end).is_none()
            && !vars.contains(var)
        {
            vars.push(*var);
        }
    });
    vars
}

/// True when lowering `body` makes callbacks that need the shared slots.
pub(super) fn has_callbacks(body: &[hir::Stmt]) -> bool {
    let mut found = !callback_ranges(body).is_empty();
    crate::sema::visit::stmts(body, &mut |s| {
        found |= matches!(s.kind, StmtKind::ForMap { .. });
    });
    found
}

impl Lowerer<'_> {
    /// At the probe's entry, once the variables have their slots: reserves the shared
    /// slots (when `callbacks`) and records where everything is.
    pub(super) fn set_up_area(&mut self, body: &[hir::Stmt], span: crate::diag::Span) {
        let shared_at = has_callbacks(body).then(|| {
            let off = self.frame.alloc_stack(24, span);
            self.zero(Mem::stack(off), 24);
            off
        });
        let starts: Vec<(usize, i16)> = callback_ranges(body)
            .into_iter()
            .map(|var| (var, self.frame.alloc_stack(8, span)))
            .collect();
        let size = self.frame.stack_in_use();
        let place = |off: i16| (off as i32 + size as i32) as u32;
        self.area = Area {
            size,
            vars: self
                .var_slots()
                .iter()
                .map(|m| match m.base {
                    Base::Stack => VarLoc::Area(place(m.off)),
                    Base::V(_) => VarLoc::Scratch(m.off),
                })
                .collect(),
            shared: shared_at.map(|off| Shared {
                ctx: place(off),
                ended: place(off) + 8,
                value: place(off) + 16,
            }),
            starts: starts.iter().map(|&(v, off)| (v, place(off))).collect(),
            ptr: None,
        };
    }

    /// Where area offset `off` is from this function.
    fn area_mem(&self, off: u32) -> Mem {
        match self.area.ptr {
            Some(p) => Mem {
                base: Base::V(p),
                off: off as i16,
            },
            None => Mem::stack(off as i16 - self.area.size as i16),
        }
    }

    /// The area's address as a helper's `ctx` argument (NULL when there is none).
    fn area_arg(&self) -> Arg {
        match self.area.ptr {
            Some(p) => Arg::V(p),
            None if self.area.size == 0 => Arg::Imm(0),
            None => Arg::Addr(Mem::stack(-(self.area.size as i16))),
        }
    }

    fn shared(&self) -> Shared {
        self.area
            .shared
            .expect("internal compiler error: a callback without shared slots")
    }

    /// Ends the probe with `value`: returns it from the program, or, in a callback,
    /// records it and stops the iteration (the caller then ends too).
    pub(super) fn end_probe(&mut self, value: Src) {
        if self.area.ptr.is_none() {
            self.ops.push(Op::Return(value));
            return;
        }
        let shared = self.shared();
        for (off, src) in [(shared.value, value), (shared.ended, Src::Imm(1))] {
            let at = self.area_mem(off);
            self.ops.push(Op::Store {
                size: Size::DW,
                base: at.base,
                off: at.off,
                src,
            });
        }
        self.ops.push(Op::Return(Src::Imm(1)));
    }

    /// Lowers `body` as a callback taking `params` arguments, the area's address being
    /// argument `ctx_param`; `prologue` runs first with the parameters' registers.
    /// Returns the subprogram's index among the probe's.
    fn callback(
        &mut self,
        id: usize,
        params: u8,
        ctx_param: usize,
        prologue: &dyn Fn(&mut Lowerer<'_>, &[VReg]),
        body: &[hir::Stmt],
    ) -> usize {
        let index = self.subprogs.len();
        self.subprogs.push(None);
        let mut cb = Lowerer::new(self.layout, self.frame.threshold, self.scratch_map());
        cb.frame = self.frame.nested();
        cb.here = self.here;
        cb.subprogs = std::mem::take(&mut self.subprogs);
        cb.copy_vars_from(self);
        let regs: Vec<VReg> = (0..params)
            .map(|index| {
                let dst = cb.new_vreg();
                cb.ops.push(Op::Param { dst, index });
                dst
            })
            .collect();
        cb.area = Area {
            ptr: Some(regs[ctx_param]),
            ..self.area.clone()
        };
        let params_end = cb.ops.len();
        // The callback's own variables get zeroed slots in its frame (a block's
        // variables start again in every iteration); shared ones are the probe's.
        let mut slots = Vec::new();
        for (var, loc) in self.area.vars.clone().into_iter().enumerate() {
            let home = cb.homes[var];
            slots.push(match (home, loc) {
                (Home::Callback(owner), _) if owner == id => {
                    let size = cb.var_size(var);
                    let at = cb.alloc(size);
                    cb.zero(at, size);
                    at
                }
                (_, VarLoc::Area(off)) => Mem {
                    base: Base::V(regs[ctx_param]),
                    off: off as i16,
                },
                (_, VarLoc::Scratch(off)) => Mem {
                    base: Base::V(cb.scratch_reg()),
                    off,
                },
            });
        }
        cb.set_var_slots(slots);
        prologue(&mut cb, &regs);
        let (next, done) = (cb.new_label(), cb.new_label());
        cb.loops.push((next, done));
        if !cb.stmts(body) {
            cb.ops.push(Op::Return(Src::Imm(0)));
        }
        cb.loops.pop();
        cb.ops.push(Op::Label(next));
        cb.ops.push(Op::Return(Src::Imm(0)));
        cb.ops.push(Op::Label(done));
        cb.ops.push(Op::Return(Src::Imm(1)));
        // Paths that end the probe without a value of their own (`exit()`, a failed
        // scratch lookup).
        cb.ops.push(Op::Label(cb.exit_label()));
        cb.end_probe(Src::Imm(0));
        // The entry, after the parameters were saved: the context pointer from the
        // area, the scratch memory.
        let mut entry = Vec::new();
        if let Some(ctx) = cb.ctx {
            let at = cb.area_mem(cb.shared().ctx);
            entry.push(Op::Load {
                size: Size::DW,
                dst: ctx,
                base: at.base,
                off: at.off,
            });
        }
        entry.extend(cb.scratch_lookup());
        cb.ops.splice(params_end..params_end, entry);
        self.needs_saved_ctx |= cb.ctx.is_some() || cb.needs_saved_ctx;
        self.frame.scratch_max = self.frame.scratch_max.max(cb.frame.scratch_max);
        self.subprogs = std::mem::take(&mut cb.subprogs);
        self.subprogs[index] = Some(Subprog {
            ops: cb.ops,
            stack_max: cb.frame.stack_max,
            params,
        });
        index
    }

    /// Calls `helper` with a callback in its arguments; afterwards the probe ends if
    /// the callback ended it.
    fn call_back(&mut self, helper: u32, args: Vec<Arg>) -> VReg {
        if self.needs_saved_ctx && self.area.ptr.is_none() {
            let ctx = self.ctx_reg();
            let at = self.area_mem(self.shared().ctx);
            self.ops.push(Op::Store {
                size: Size::DW,
                base: at.base,
                off: at.off,
                src: Src::V(ctx),
            });
        }
        let r = self.call(helper, args);
        // The callback may have changed any map.
        self.map_reads.clear();
        if let Some(shared) = self.area.shared {
            let ended = self.load_u64(self.area_mem(shared.ended));
            let go_on = self.new_label();
            self.ops.push(Op::Jmp {
                cond: Cond::Eq,
                a: ended,
                b: Src::Imm(0),
                target: go_on,
            });
            if self.area.ptr.is_some() {
                self.ops.push(Op::Return(Src::Imm(1)));
            } else {
                let v = self.load_u64(self.area_mem(shared.value));
                self.ops.push(Op::Return(Src::V(v)));
            }
            self.ops.push(Op::Label(go_on));
        }
        r
    }

    /// `for ($kv : @map) { body }`.
    pub(super) fn for_map(&mut self, id: usize, var: usize, map: usize, body: &[hir::Stmt]) {
        let Ty::Tuple(parts) = self.var_type(var).clone() else {
            unreachable!("sema: a map loop's variable is a (key, value) tuple")
        };
        let (offsets, _) = tuple_layout(&parts);
        let sizes = [parts[0].size(), parts[1].size()];
        let value_at = offsets[1] as i16;
        // The value of a per-CPU aggregation is every CPU's combined, as reads of it
        // are elsewhere; the callback's value pointer holds only this CPU's.
        let aggregated = !matches!(self.layout.maps[map].value, ValueKind::Scalar(_));
        let prologue = move |cb: &mut Lowerer<'_>, regs: &[VReg]| {
            let slot = cb.var_slot(var);
            let key = Mem {
                base: Base::V(regs[1]),
                off: 0,
            };
            let value = Mem {
                base: Base::V(regs[2]),
                off: 0,
            };
            cb.copy(slot, key, sizes[0], 8);
            if aggregated {
                let v = cb.percpu_value(map, key);
                let at = slot.at(value_at);
                cb.ops.push(Op::Store {
                    size: Size::DW,
                    base: at.base,
                    off: at.off,
                    src: Src::V(v),
                });
            } else {
                cb.copy(slot.at(value_at), value, sizes[1], 8);
            }
        };
        let index = self.callback(id, 4, 3, &prologue, body);
        let bpf_map = self.layout.maps[map].bpf_map;
        let area = self.area_arg();
        self.call_back(
            helper::FOR_EACH_MAP_ELEM,
            vec![Arg::Map(bpf_map), Arg::Func(index), area, Arg::Imm(0)],
        );
    }

    /// `for ($var : start..end) { body }` through `bpf_loop`: the range's start is
    /// kept in the area and each call sets `$var` to start + index; a range longer than
    /// the helper runs ([`MAX_LOOPS`]) runs no iteration and is counted at the loop.
    pub(super) fn loop_range(
        &mut self,
        id: usize,
        var: usize,
        start: &hir::Expr,
        end: &hir::Expr,
        body: &[hir::Stmt],
    ) {
        let signed = crate::lang::ty::signed_operation(&start.ty, &end.ty);
        let s = self.int(start);
        let e = self.int(end);
        let start_at = self
            .area
            .starts
            .iter()
            .find(|(v, _)| *v == var)
            .map(|&(_, off)| off)
            .expect("internal compiler error: a bpf_loop range without its slot");
        let slot = self.area_mem(start_at);
        self.ops.push(Op::Store {
            size: Size::DW,
            base: slot.base,
            off: slot.off,
            src: s,
        });
        // The count: end - start, or none when end <= start.
        let count = self.fresh_copy(e);
        self.ops.push(Op::Alu {
            op: crate::bpf::Alu::Sub,
            dst: count,
            src: s,
            signed: false,
        });
        // An empty range skips the call: a callback the verifier sees called zero
        // times is never checked, and Linux 6.18 then fails to JIT the program ("No
        // program to jit").
        let (done, run) = (self.new_label(), self.new_label());
        let start_reg = self.fresh_copy(s);
        self.ops.push(Op::Jmp {
            cond: if signed { Cond::Sge } else { Cond::Ge },
            a: start_reg,
            b: e,
            target: done,
        });
        self.ops.push(Op::Jmp {
            cond: Cond::Le,
            a: count,
            b: Src::Imm(MAX_LOOPS as i32),
            target: run,
        });
        // Too long for bpf_loop: counted (as a failure of -E2BIG) and skipped.
        let e2big = self.fresh_copy(Src::Imm(-7));
        self.count_failed_read(e2big);
        self.ops.push(Op::Goto(done));
        self.ops.push(Op::Label(run));
        let prologue = move |cb: &mut Lowerer<'_>, regs: &[VReg]| {
            let at = cb.area_mem(start_at);
            let v = cb.load_u64(at);
            cb.ops.push(Op::Alu {
                op: crate::bpf::Alu::Add,
                dst: v,
                src: Src::V(regs[0]),
                signed: false,
            });
            let slot = cb.var_slot(var);
            cb.ops.push(Op::Store {
                size: Size::DW,
                base: slot.base,
                off: slot.off,
                src: Src::V(v),
            });
        };
        // The count goes through the scratch map, so the verifier passes bpf_loop a
        // value it does not know. On a path it cannot rule out but that never runs (a
        // count of `x << 31` checked to lie in 1..=MAX_LOOPS), the bounds it derives
        // contradict each other and say "0 loops": it then never checks the callback
        // and Linux 6.18 fails to JIT the program.
        let opaque = self.alloc_scratch(8);
        self.ops.push(Op::Store {
            size: Size::DW,
            base: opaque.base,
            off: opaque.off,
            src: Src::V(count),
        });
        let count = self.load_u64(opaque);
        let index = self.callback(id, 2, 1, &prologue, body);
        let area = self.area_arg();
        self.call_back(
            helper::LOOP,
            vec![Arg::V(count), Arg::Func(index), area, Arg::Imm(0)],
        );
        self.ops.push(Op::Label(done));
    }

    /// `len(@m)`: the entries `bpf_for_each_map_elem` visits with a callback that
    /// only goes on.
    pub(super) fn map_len(&mut self, map: usize) -> VReg {
        let index = self.subprogs.len();
        self.subprogs.push(Some(Subprog {
            ops: vec![Op::Return(Src::Imm(0))],
            stack_max: 0,
            params: 4,
        }));
        let bpf_map = self.layout.maps[map].bpf_map;
        self.call(
            helper::FOR_EACH_MAP_ELEM,
            vec![
                Arg::Map(bpf_map),
                Arg::Func(index),
                Arg::Imm(0),
                Arg::Imm(0),
            ],
        )
    }
}
