//! The one walker over the checked program: every statement and expression, with
//! exhaustive matches, so a new node kind cannot be missed by passes that look inside.

use super::hir::{Expr, ExprKind, Stmt, StmtKind};

/// Calls `f` on every statement of `stmts`, nested ones included, outermost first.
pub fn stmts(stmts: &[Stmt], f: &mut dyn FnMut(&Stmt)) {
    for s in stmts {
        f(s);
        match &s.kind {
            StmtKind::If { then, else_, .. } => {
                self::stmts(then, f);
                self::stmts(else_, f);
            }
            StmtKind::While { body, .. }
            | StmtKind::Unroll { body, .. }
            | StmtKind::For { body, .. }
            | StmtKind::ForMap { body, .. } => self::stmts(body, f),
            StmtKind::MapUpdate { .. }
            | StmtKind::VarZero(_)
            | StmtKind::VarAssign { .. }
            | StmtKind::Printf { .. }
            | StmtKind::Exit(_)
            | StmtKind::Signal(_)
            | StmtKind::Join { .. }
            | StmtKind::Expr(_)
            | StmtKind::Delete { .. }
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Return(_) => {}
        }
    }
}

/// Calls `f` on every expression of `stmts`, outermost first.
pub fn exprs(stmts: &[Stmt], f: &mut dyn FnMut(&Expr)) {
    for s in stmts {
        match &s.kind {
            StmtKind::MapUpdate { keys, op, .. } => {
                keys.iter().for_each(|k| expr(k, f));
                if let Some(e) = op.value() {
                    expr(e, f);
                }
            }
            StmtKind::Delete { keys, .. } => keys.iter().for_each(|k| expr(k, f)),
            StmtKind::VarAssign { value, .. } | StmtKind::Expr(value) => expr(value, f),
            StmtKind::Printf { args, .. } => args.iter().for_each(|a| expr(a, f)),
            StmtKind::Exit(Some(v)) | StmtKind::Join { array: v, .. } | StmtKind::Signal(v) => {
                expr(v, f)
            }
            StmtKind::Exit(None)
            | StmtKind::VarZero(_)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Return(None) => {}
            StmtKind::Return(Some(v)) => expr(v, f),
            StmtKind::If { cond, then, else_ } => {
                expr(cond, f);
                exprs(then, f);
                exprs(else_, f);
            }
            StmtKind::While { cond, body } => {
                expr(cond, f);
                exprs(body, f);
            }
            StmtKind::For {
                start, end, body, ..
            } => {
                expr(start, f);
                expr(end, f);
                exprs(body, f);
            }
            StmtKind::Unroll { body, .. } | StmtKind::ForMap { body, .. } => exprs(body, f),
        }
    }
}

/// Calls `f` on `e` and every expression inside it.
pub fn expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match &e.kind {
        ExprKind::MapRead { keys, .. } | ExprKind::HasKey { keys, .. } => {
            keys.iter().for_each(|k| expr(k, f))
        }
        ExprKind::Unary(_, a) | ExprKind::Convert(a) | ExprKind::Cast(a) | ExprKind::Deref(a) => {
            expr(a, f)
        }
        ExprKind::Binary(_, a, b) => {
            expr(a, f);
            expr(b, f);
        }
        ExprKind::Ternary(c, a, b) => {
            expr(c, f);
            expr(a, f);
            expr(b, f);
        }
        ExprKind::StrLen(a) | ExprKind::StrContains(a, _) | ExprKind::TupleIndex(a, _) => {
            expr(a, f)
        }
        ExprKind::Tuple(items) => items.iter().for_each(|i| expr(i, f)),
        ExprKind::StrNcmp(a, b, _)
        | ExprKind::StrContainsRuntime {
            haystack: a,
            needle: b,
            ..
        } => {
            expr(a, f);
            expr(b, f);
        }
        ExprKind::ReadBuf { ptr, len, .. } => {
            expr(ptr, f);
            expr(len, f);
        }
        ExprKind::ReadStr { ptr, limit, .. } => {
            expr(ptr, f);
            if let Some(l) = limit {
                expr(l, f);
            }
        }
        ExprKind::Lib(c) => c.operands().into_iter().for_each(|a| expr(a, f)),
        ExprKind::Int(_)
        | ExprKind::MapLen(_)
        | ExprKind::PointName(_)
        | ExprKind::Str(_)
        | ExprKind::Builtin(_)
        | ExprKind::Ctx(_)
        | ExprKind::Var(_) => {}
    }
}
