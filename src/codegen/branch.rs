//! Conditions: branching on expressions (short-circuit `&&`/`||`, `!`, comparisons with
//! signedness, string equality, constants folded away) and their 0/1 values.

use super::ir::{Label, Op, Src};
use super::lower::{Lowerer, Val};
use crate::ast::{BinOp, UnOp};
use crate::bpf::Cond;
use crate::lang::ty::Ty;
use crate::sema::hir::{self, ExprKind};

impl Lowerer<'_> {
    /// 0/1 value of a condition.
    pub(super) fn bool_value(&mut self, e: &hir::Expr) -> Val {
        let v = self.new_vreg();
        let f = self.new_label();
        self.ops.push(Op::Mov {
            dst: v,
            src: Src::Imm(0),
        });
        // Both outcomes join below: nothing read inside is known on every path.
        self.cond_depth += 1;
        self.branch(e, false, f);
        self.cond_depth -= 1;
        self.ops.push(Op::Mov {
            dst: v,
            src: Src::Imm(1),
        });
        self.ops.push(Op::Label(f));
        Val::Int(Src::V(v))
    }

    /// Jumps to `target` when `e` is non-zero (`when` = true) or zero (`when` = false).
    /// Falling through means every operand that falls through was evaluated; a
    /// short-circuit operand that is skipped on a fall-through path is lowered as
    /// conditional code (`cond_depth`).
    pub(super) fn branch(&mut self, e: &hir::Expr, when: bool, target: Label) {
        match &e.kind {
            ExprKind::Unary(UnOp::Not, inner) => self.branch(inner, !when, target),
            ExprKind::Binary(BinOp::And, l, r) => {
                if when {
                    let skip = self.new_label();
                    self.branch(l, false, skip);
                    self.cond_depth += 1;
                    self.branch(r, true, target);
                    self.cond_depth -= 1;
                    self.ops.push(Op::Label(skip));
                } else {
                    self.branch(l, false, target);
                    self.branch(r, false, target);
                }
            }
            ExprKind::Binary(BinOp::Or, l, r) => {
                if when {
                    self.branch(l, true, target);
                    self.branch(r, true, target);
                } else {
                    let skip = self.new_label();
                    self.branch(l, true, skip);
                    self.cond_depth += 1;
                    self.branch(r, false, target);
                    self.cond_depth -= 1;
                    self.ops.push(Op::Label(skip));
                }
            }
            ExprKind::Binary(op, l, r) if op.is_comparison() && matches!(l.ty, Ty::Tuple(_)) => {
                self.branch_tuple_eq(l, r, (*op == BinOp::Eq) == when, target);
            }
            ExprKind::Binary(op, l, r) if op.is_comparison() && matches!(l.ty, Ty::Str { .. }) => {
                super::strcmp::branch_str_eq(self, l, r, (*op == BinOp::Eq) == when, target);
            }
            ExprKind::Binary(op, l, r) if op.is_comparison() => {
                let signed = crate::lang::ty::signed_operation(&l.ty, &r.ty);
                let a = self.int(l);
                let b = self.int(r);
                let (cond, a, b) = match (a, b) {
                    (Src::Imm(x), Src::Imm(y)) => {
                        let holds =
                            fold(*op, x as i64, y as i64, signed).expect("comparisons fold") != 0;
                        if holds == when {
                            self.ops.push(Op::Goto(target));
                        }
                        return;
                    }
                    (Src::V(a), b) => (cmp_cond(*op, signed), a, b),
                    // Constant on the left: swap the operands and mirror the comparison.
                    (Src::Imm(_), Src::V(b)) => (mirror(cmp_cond(*op, signed)), b, a),
                };
                let cond = if when { cond } else { cond.negate() };
                self.ops.push(Op::Jmp { cond, a, b, target });
            }
            _ => {
                let s = self.int(e);
                match s {
                    Src::Imm(c) => {
                        if (c != 0) == when {
                            self.ops.push(Op::Goto(target));
                        }
                    }
                    Src::V(v) => {
                        let cond = if when { Cond::Ne } else { Cond::Eq };
                        self.ops.push(Op::Jmp {
                            cond,
                            a: v,
                            b: Src::Imm(0),
                            target,
                        });
                    }
                }
            }
        }
    }
}

fn cmp_cond(op: BinOp, signed: bool) -> Cond {
    match (op, signed) {
        (BinOp::Eq, _) => Cond::Eq,
        (BinOp::Ne, _) => Cond::Ne,
        (BinOp::Lt, false) => Cond::Lt,
        (BinOp::Le, false) => Cond::Le,
        (BinOp::Gt, false) => Cond::Gt,
        (BinOp::Ge, false) => Cond::Ge,
        (BinOp::Lt, true) => Cond::Slt,
        (BinOp::Le, true) => Cond::Sle,
        (BinOp::Gt, true) => Cond::Sgt,
        (BinOp::Ge, true) => Cond::Sge,
        _ => unreachable!("not a comparison"),
    }
}

/// `a cond b` ⇔ `b mirror(cond) a`.
fn mirror(c: Cond) -> Cond {
    match c {
        Cond::Lt => Cond::Gt,
        Cond::Gt => Cond::Lt,
        Cond::Le => Cond::Ge,
        Cond::Ge => Cond::Le,
        Cond::Slt => Cond::Sgt,
        Cond::Sgt => Cond::Slt,
        Cond::Sle => Cond::Sge,
        Cond::Sge => Cond::Sle,
        other => other,
    }
}

/// Constant folding with the runtime's semantics (BPF: x/0 = 0, x%0 = x).
pub(super) fn fold(op: BinOp, a: i64, b: i64, signed: bool) -> Option<u64> {
    let (ua, ub) = (a as u64, b as u64);
    Some(match op {
        BinOp::Add => ua.wrapping_add(ub),
        BinOp::Sub => ua.wrapping_sub(ub),
        BinOp::Mul => ua.wrapping_mul(ub),
        BinOp::Div if b == 0 => 0,
        BinOp::Div if signed => a.wrapping_div(b) as u64,
        BinOp::Div => ua / ub,
        BinOp::Mod if b == 0 => ua,
        BinOp::Mod if signed => a.wrapping_rem(b) as u64,
        BinOp::Mod => ua % ub,
        BinOp::BitAnd => ua & ub,
        BinOp::BitOr => ua | ub,
        BinOp::BitXor => ua ^ ub,
        BinOp::Shl => ua.wrapping_shl(ub as u32 & 63),
        BinOp::Shr if signed => (a >> (ub & 63)) as u64,
        BinOp::Shr => ua >> (ub & 63),
        BinOp::Eq => (ua == ub) as u64,
        BinOp::Ne => (ua != ub) as u64,
        BinOp::Lt => (if signed { a < b } else { ua < ub }) as u64,
        BinOp::Le => (if signed { a <= b } else { ua <= ub }) as u64,
        BinOp::Gt => (if signed { a > b } else { ua > ub }) as u64,
        BinOp::Ge => (if signed { a >= b } else { ua >= ub }) as u64,
        BinOp::And => (a != 0 && b != 0) as u64,
        BinOp::Or => (a != 0 || b != 0) as u64,
    })
}
