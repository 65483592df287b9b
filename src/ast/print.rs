//! `--dump ast`: an indented, deterministic rendering of the syntax tree, one node per
//! line with its byte span.

use super::{Block, Expr, ExprKind, ForIter, Program, Stmt, StmtKind};
use std::fmt::Write;

/// Renders the tree, one node per line.
pub fn dump(program: &Program) -> String {
    let mut out = String::new();
    for (inc, span) in &program.includes {
        let _ = writeln!(out, "include {inc} @{}..{}", span.start, span.end);
    }
    for p in &program.probes {
        let specs: Vec<&str> = p.specs.iter().map(|s| s.text.as_str()).collect();
        let _ = writeln!(
            out,
            "probe {} @{}..{}",
            specs.join(", "),
            p.span.start,
            p.span.end
        );
        if let Some(pred) = &p.predicate {
            let _ = writeln!(out, "  predicate");
            expr(&mut out, pred, 2);
        }
        block(&mut out, &p.body, 1);
    }
    out
}

fn pad(out: &mut String, depth: usize) {
    out.push_str(&"  ".repeat(depth));
}

fn block(out: &mut String, b: &Block, depth: usize) {
    pad(out, depth);
    let _ = writeln!(out, "block @{}..{}", b.span.start, b.span.end);
    for s in &b.stmts {
        stmt(out, s, depth + 1);
    }
}

fn stmt(out: &mut String, s: &Stmt, depth: usize) {
    pad(out, depth);
    let at = format!("@{}..{}", s.span.start, s.span.end);
    match &s.kind {
        StmtKind::Expr(e) => {
            let _ = writeln!(out, "expr-stmt {at}");
            expr(out, e, depth + 1);
        }
        StmtKind::Assign { target, op, value } => {
            let op = op
                .map(|o| format!("{}=", o.symbol()))
                .unwrap_or_else(|| "=".into());
            let _ = writeln!(out, "assign {op} {at}");
            expr(out, target, depth + 1);
            expr(out, value, depth + 1);
        }
        StmtKind::While { cond, body } => {
            let _ = writeln!(out, "while {at}");
            expr(out, cond, depth + 1);
            block(out, body, depth + 1);
        }
        StmtKind::Unroll { count, body } => {
            let _ = writeln!(out, "unroll {at}");
            expr(out, count, depth + 1);
            block(out, body, depth + 1);
        }
        StmtKind::For {
            var, iter, body, ..
        } => {
            let _ = writeln!(out, "for ${var} {at}");
            match iter {
                ForIter::Range(a, b) => {
                    expr(out, a, depth + 1);
                    expr(out, b, depth + 1);
                }
                ForIter::Map(m) => expr(out, m, depth + 1),
            }
            block(out, body, depth + 1);
        }
        StmtKind::Let { var, ty, value, .. } => {
            match ty {
                Some(t) => {
                    let _ = writeln!(out, "let ${var}: {t} {at}");
                }
                None => {
                    let _ = writeln!(out, "let ${var} {at}");
                }
            }
            if let Some(v) = value {
                expr(out, v, depth + 1);
            }
        }
        StmtKind::Break => {
            let _ = writeln!(out, "break {at}");
        }
        StmtKind::Continue => {
            let _ = writeln!(out, "continue {at}");
        }
        StmtKind::Return(value) => {
            let _ = writeln!(out, "return {at}");
            if let Some(v) = value {
                expr(out, v, depth + 1);
            }
        }
        StmtKind::If { cond, then, else_ } => {
            let _ = writeln!(out, "if {at}");
            expr(out, cond, depth + 1);
            block(out, then, depth + 1);
            if let Some(e) = else_ {
                pad(out, depth);
                let _ = writeln!(out, "else");
                block(out, e, depth + 1);
            }
        }
    }
}

fn expr(out: &mut String, e: &Expr, depth: usize) {
    pad(out, depth);
    let at = format!("@{}..{}", e.span.start, e.span.end);
    let children: Vec<&Expr> = match &e.kind {
        ExprKind::Int(v) => {
            let _ = writeln!(out, "int {v} {at}");
            vec![]
        }
        ExprKind::Str(s) => {
            let s = String::from_utf8_lossy(s);
            let _ = writeln!(out, "string {s:?} {at}");
            vec![]
        }
        ExprKind::Ident(n) => {
            let _ = writeln!(out, "ident {n} {at}");
            vec![]
        }
        ExprKind::Var(n) => {
            let _ = writeln!(out, "var ${n} {at}");
            vec![]
        }
        ExprKind::Map { name, keys } => {
            let _ = writeln!(out, "map @{name} {at}");
            keys.iter().collect()
        }
        ExprKind::Field { base, field, arrow } => {
            let _ = writeln!(out, "field {}{field} {at}", if *arrow { "->" } else { "." });
            vec![base]
        }
        ExprKind::Call { name, args, .. } => {
            let _ = writeln!(out, "call {name} {at}");
            args.iter().collect()
        }
        ExprKind::Method {
            recv, name, args, ..
        } => {
            let _ = writeln!(out, "method .{name} {at}");
            std::iter::once(&**recv).chain(args).collect()
        }
        ExprKind::Unary { op, expr } => {
            let _ = writeln!(out, "unary {} {at}", op.symbol());
            vec![expr]
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let _ = writeln!(out, "binary {} {at}", op.symbol());
            vec![lhs, rhs]
        }
        ExprKind::Ternary { cond, then, else_ } => {
            let _ = writeln!(out, "ternary {at}");
            vec![cond, then, else_]
        }
        ExprKind::IncDec {
            target,
            incr,
            prefix,
        } => {
            let op = if *incr { "++" } else { "--" };
            let _ = writeln!(
                out,
                "{} {op} {at}",
                if *prefix { "prefix" } else { "postfix" }
            );
            vec![target]
        }
        ExprKind::TupleIndex { base, index } => {
            let _ = writeln!(out, "element .{index} {at}");
            vec![base]
        }
        ExprKind::Param(n) => {
            let _ = writeln!(out, "param ${n} {at}");
            vec![]
        }
        ExprKind::ParamCount => {
            let _ = writeln!(out, "param-count {at}");
            vec![]
        }
        ExprKind::Tuple(items) => {
            let _ = writeln!(out, "tuple {at}");
            items.iter().collect()
        }
        ExprKind::Cast { ty, expr } => {
            let _ = writeln!(out, "cast ({ty}) {at}");
            vec![expr]
        }
        ExprKind::Deref(e) => {
            let _ = writeln!(out, "deref {at}");
            vec![e]
        }
        ExprKind::Index { base, keys } => {
            let _ = writeln!(out, "index {at}");
            std::iter::once(&**base).chain(keys).collect()
        }
    };
    for c in children {
        expr(out, c, depth + 1);
    }
}
