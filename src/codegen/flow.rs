//! Control flow: `if`/`else`, `while`, `unroll`, `break`, `continue`. Loops have
//! back-edges; register allocation and pruning work on the control-flow graph, and the
//! map-read cache forgets everything at a loop's head and after it (the back-edge may
//! bring changed maps).

use super::ir::{Label, Op, Src};
use super::lower::Lowerer;
use crate::bpf::Cond;
use crate::sema::hir;

impl Lowerer<'_> {
    /// `if`/`else`; returns true when neither branch falls through.
    pub(super) fn if_stmt(
        &mut self,
        cond: &hir::Expr,
        then: &[hir::Stmt],
        else_: &[hir::Stmt],
    ) -> bool {
        self.cond_depth += 1;
        let else_label = self.new_label();
        self.branch(cond, false, else_label);
        let then_exits = self.stmts(then);
        let exits = if else_.is_empty() {
            self.ops.push(Op::Label(else_label));
            false
        } else {
            let end = self.new_label();
            if !then_exits {
                self.ops.push(Op::Goto(end));
            }
            self.ops.push(Op::Label(else_label));
            let else_exits = self.stmts(else_);
            self.ops.push(Op::Label(end));
            then_exits && else_exits
        };
        self.cond_depth -= 1;
        exits
    }

    /// `while (cond) { body }`: the condition at the head, a back-edge at the end.
    pub(super) fn while_loop(&mut self, cond: &hir::Expr, body: &[hir::Stmt]) {
        let head = self.new_label();
        let end = self.new_label();
        self.map_reads.clear();
        self.ops.push(Op::Label(head));
        self.cond_depth += 1;
        self.branch(cond, false, end);
        self.loops.push((head, end));
        if !self.stmts(body) {
            self.ops.push(Op::Goto(head));
        }
        self.loops.pop();
        self.cond_depth -= 1;
        self.ops.push(Op::Label(end));
        self.map_reads.clear();
    }

    /// `for ($var : start..end) { body }`: a counter of its own runs from `start` up to
    /// `end` (both computed once), `$var` gets its value at the top of every iteration
    /// (so the body may change `$var` freely), and `continue` steps the counter.
    pub(super) fn for_range(
        &mut self,
        id: usize,
        var: usize,
        start: &hir::Expr,
        end: &hir::Expr,
        body: &[hir::Stmt],
    ) {
        if super::callback::inline_range(start, end).is_none() {
            return self.loop_range(id, var, start, end, body);
        }
        let signed = crate::lang::ty::signed_operation(&start.ty, &end.ty);
        let s = self.int(start);
        let e = self.int(end);
        let counter = self.fresh_copy(s);
        let end_value = match e {
            Src::V(v) => Src::V(self.fresh_copy(Src::V(v))),
            imm => imm,
        };
        let (head, step, done) = (self.new_label(), self.new_label(), self.new_label());
        self.map_reads.clear();
        self.ops.push(Op::Label(head));
        self.ops.push(Op::Jmp {
            cond: if signed { Cond::Sge } else { Cond::Ge },
            a: counter,
            b: end_value,
            target: done,
        });
        let at = self.var_slot(var);
        self.ops.push(Op::Store {
            size: crate::bpf::Size::DW,
            base: at.base,
            off: at.off,
            src: Src::V(counter),
        });
        self.cond_depth += 1;
        self.loops.push((step, done));
        self.stmts(body);
        self.loops.pop();
        self.cond_depth -= 1;
        self.ops.push(Op::Label(step));
        self.ops.push(Op::Alu {
            op: crate::bpf::Alu::Add,
            dst: counter,
            src: Src::Imm(1),
            signed: false,
        });
        self.ops.push(Op::Goto(head));
        self.ops.push(Op::Label(done));
        self.map_reads.clear();
    }

    /// `unroll(count) { body }`: `count` copies; `continue` goes to the next copy.
    pub(super) fn unroll(&mut self, count: u32, body: &[hir::Stmt]) {
        let end = self.new_label();
        self.map_reads.clear();
        self.cond_depth += 1;
        for _ in 0..count {
            let next = self.new_label();
            self.loops.push((next, end));
            self.stmts(body);
            self.loops.pop();
            self.ops.push(Op::Label(next));
        }
        self.cond_depth -= 1;
        self.ops.push(Op::Label(end));
        self.map_reads.clear();
    }

    /// `break`: never falls through.
    pub(super) fn break_loop(&mut self) -> bool {
        let (_, end) = *self.loops.last().expect("sema: break inside a loop");
        self.ops.push(Op::Goto(end));
        true
    }

    /// `continue`: never falls through.
    pub(super) fn continue_loop(&mut self) -> bool {
        let (next, _): (Label, Label) = *self.loops.last().expect("sema: continue inside a loop");
        self.ops.push(Op::Goto(next));
        true
    }
}
