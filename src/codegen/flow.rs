//! Control flow: `if`/`else`, `while`, `unroll`, `break`, `continue`. Loops have
//! back-edges; register allocation and pruning work on the control-flow graph, and the
//! map-read cache forgets everything at a loop's head and after it (the back-edge may
//! bring changed maps).

use super::ir::{Label, Op};
use super::lower::Lowerer;
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
