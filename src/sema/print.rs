//! `--dump hir`: the checked program as an indented tree, every expression with its
//! type, every probe with its kernel mechanism. Deterministic, for snapshots.

use std::fmt::Write;

use super::hir::{Expr, ExprKind, MapOp, Program, Stmt, StmtKind};

/// Renders the checked program.
pub fn dump(p: &Program) -> String {
    let mut out = String::new();
    for (i, m) in p.maps.iter().enumerate() {
        let keys: Vec<String> = m.keys.iter().map(|k| k.to_string()).collect();
        let _ = writeln!(
            out,
            "map #{i} {}[{}]: {:?}",
            m.name,
            keys.join(", "),
            m.value
        );
    }
    for (i, t) in p.tables.iter().enumerate() {
        let _ = writeln!(
            out,
            "table #{i} {} ({} slots) dispatched from raw tracepoint {}: {:?}",
            t.name, t.size, t.tracepoint, t.dispatch
        );
    }
    for (i, (render, args)) in p.printfs.iter().enumerate() {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match render {
            super::hir::Render::Printf(fmt) => {
                let _ = writeln!(out, "printf #{i} {fmt:?} ({})", args.join(", "));
            }
            super::hir::Render::Value => {
                let _ = writeln!(out, "print #{i} ({})", args.join(", "));
            }
            super::hir::Render::Join { sep, len } => {
                let sep = String::from_utf8_lossy(sep);
                let _ = writeln!(out, "join #{i} {sep:?} ({len} bytes each)");
            }
            super::hir::Render::Time(fmt) => {
                let _ = writeln!(out, "time #{i} {fmt:?}");
            }
            super::hir::Render::Message { error, format, .. } => {
                let what = if *error { "errorf" } else { "warnf" };
                let _ = writeln!(out, "{what} #{i} {format:?} ({})", args.join(", "));
            }
            super::hir::Render::Cat(fmt) => {
                let _ = writeln!(out, "cat #{i} {fmt:?} ({})", args.join(", "));
            }
            super::hir::Render::System(fmt) => {
                let _ = writeln!(out, "system #{i} {fmt:?} ({})", args.join(", "));
            }
            super::hir::Render::Map { map, action } => {
                let _ = writeln!(out, "map action #{i} {action:?} of map #{map}");
            }
        }
    }
    for probe in &p.probes {
        let _ = writeln!(
            out,
            "probe {} [{}] {:?}",
            probe.display, probe.tag, probe.target
        );
        for (i, v) in probe.vars.iter().enumerate() {
            let _ = writeln!(out, "  var ${i}: {v}");
        }
        if let Some(pred) = &probe.predicate {
            let _ = writeln!(out, "  predicate");
            expr(&mut out, pred, 2);
        }
        stmts(&mut out, &probe.body, 1);
    }
    out
}

fn pad(out: &mut String, depth: usize) {
    out.push_str(&"  ".repeat(depth));
}

fn stmts(out: &mut String, list: &[Stmt], depth: usize) {
    for s in list {
        stmt(out, s, depth);
    }
}

fn stmt(out: &mut String, s: &Stmt, depth: usize) {
    pad(out, depth);
    match &s.kind {
        StmtKind::MapUpdate { map, keys, op } => {
            let what = match op {
                MapOp::Count => "count",
                MapOp::Sum(_) => "sum",
                MapOp::Assign(_) => "assign",
                MapOp::Avg(_) => "avg",
                MapOp::Min(_) => "min",
                MapOp::Max(_) => "max",
                MapOp::Hist(_) => "hist",
                MapOp::Lhist(_, l) => {
                    let _ = writeln!(
                        out,
                        "update map #{map} lhist {}..{} step {}",
                        l.min, l.max, l.step
                    );
                    keys.iter().for_each(|k| expr(out, k, depth + 1));
                    if let Some(v) = op.value() {
                        expr(out, v, depth + 1);
                    }
                    return;
                }
            };
            let _ = writeln!(out, "update map #{map} {what}");
            keys.iter().for_each(|k| expr(out, k, depth + 1));
            if let Some(v) = op.value() {
                expr(out, v, depth + 1);
            }
        }
        StmtKind::VarAssign { var, value } => {
            let _ = writeln!(out, "${var} =");
            expr(out, value, depth + 1);
        }
        StmtKind::Printf { event, args } => {
            let _ = writeln!(out, "printf #{event}");
            args.iter().for_each(|a| expr(out, a, depth + 1));
        }
        StmtKind::Join { event, array } => {
            let _ = writeln!(out, "join #{event}");
            expr(out, array, depth + 1);
        }
        StmtKind::Signal(sig) => {
            let _ = writeln!(out, "signal");
            expr(out, sig, depth + 1);
        }
        StmtKind::Exit(code) => {
            let _ = writeln!(out, "exit");
            code.iter().for_each(|c| expr(out, c, depth + 1));
        }
        StmtKind::If { cond, then, else_ } => {
            let _ = writeln!(out, "if");
            expr(out, cond, depth + 1);
            stmts(out, then, depth + 1);
            if !else_.is_empty() {
                pad(out, depth);
                let _ = writeln!(out, "else");
                stmts(out, else_, depth + 1);
            }
        }
        StmtKind::While { cond, body } => {
            let _ = writeln!(out, "while");
            expr(out, cond, depth + 1);
            stmts(out, body, depth + 1);
        }
        StmtKind::For {
            var,
            start,
            end,
            body,
        } => {
            let _ = writeln!(out, "for ${var}");
            expr(out, start, depth + 1);
            expr(out, end, depth + 1);
            stmts(out, body, depth + 1);
        }
        StmtKind::ForMap { var, map, body } => {
            let _ = writeln!(out, "for ${var} in map #{map}");
            stmts(out, body, depth + 1);
        }
        StmtKind::VarZero(var) => {
            let _ = writeln!(out, "zero ${var}");
        }
        StmtKind::Unroll { count, body } => {
            let _ = writeln!(out, "unroll {count}");
            stmts(out, body, depth + 1);
        }
        StmtKind::Break => {
            let _ = writeln!(out, "break");
        }
        StmtKind::Continue => {
            let _ = writeln!(out, "continue");
        }
        StmtKind::Return(v) => {
            let _ = writeln!(out, "return");
            if let Some(v) = v {
                expr(out, v, depth + 1);
            }
        }
        StmtKind::Expr(e) => {
            let _ = writeln!(out, "drop");
            expr(out, e, depth + 1);
        }
        StmtKind::Delete { map, keys } => {
            let _ = writeln!(out, "delete map #{map}");
            keys.iter().for_each(|k| expr(out, k, depth + 1));
        }
    }
}

fn expr(out: &mut String, e: &Expr, depth: usize) {
    pad(out, depth);
    let ty = &e.ty;
    match &e.kind {
        ExprKind::Int(v) => {
            let _ = writeln!(out, "int {v}: {ty}");
        }
        ExprKind::Str(s) => {
            let s = String::from_utf8_lossy(s);
            let _ = writeln!(out, "string {s:?}: {ty}");
        }
        ExprKind::Builtin(b) => {
            let _ = writeln!(out, "builtin {b:?}: {ty}");
        }
        ExprKind::PointName(field) => {
            let _ = writeln!(out, "point {field:?}: {ty}");
        }
        ExprKind::MapLen(map) => {
            let _ = writeln!(out, "len map #{map}: {ty}");
        }
        ExprKind::Ctx(a) => {
            let _ = writeln!(out, "context {a:?}: {ty}");
        }
        ExprKind::Var(v) => {
            let _ = writeln!(out, "${v}: {ty}");
        }
        ExprKind::HasKey { map, keys } => {
            let _ = writeln!(out, "has_key map #{map}: {ty}");
            keys.iter().for_each(|k| expr(out, k, depth + 1));
        }
        ExprKind::MapRead { map, keys } => {
            let _ = writeln!(out, "read map #{map}: {ty}");
            keys.iter().for_each(|k| expr(out, k, depth + 1));
        }
        ExprKind::Cast(a) => {
            let _ = writeln!(out, "cast: {ty}");
            expr(out, a, depth + 1);
        }
        ExprKind::Convert(a) => {
            let _ = writeln!(out, "convert: {ty}");
            expr(out, a, depth + 1);
        }
        ExprKind::Deref(a) => {
            let _ = writeln!(out, "deref: {ty}");
            expr(out, a, depth + 1);
        }
        ExprKind::Unary(op, a) => {
            let _ = writeln!(out, "{}: {ty}", op.symbol());
            expr(out, a, depth + 1);
        }
        ExprKind::Binary(op, a, b) => {
            let _ = writeln!(out, "{}: {ty}", op.symbol());
            expr(out, a, depth + 1);
            expr(out, b, depth + 1);
        }
        ExprKind::Ternary(c, a, b) => {
            let _ = writeln!(out, "?: : {ty}");
            expr(out, c, depth + 1);
            expr(out, a, depth + 1);
            expr(out, b, depth + 1);
        }
        ExprKind::Tuple(items) => {
            let _ = writeln!(out, "tuple: {ty}");
            items.iter().for_each(|i| expr(out, i, depth + 1));
        }
        ExprKind::TupleIndex(a, i) => {
            let _ = writeln!(out, ".{i}: {ty}");
            expr(out, a, depth + 1);
        }
        ExprKind::StrLen(a) => {
            let _ = writeln!(out, "strlen: {ty}");
            expr(out, a, depth + 1);
        }
        ExprKind::StrNcmp(a, b, n) => {
            let _ = writeln!(out, "strncmp {n}: {ty}");
            expr(out, a, depth + 1);
            expr(out, b, depth + 1);
        }
        ExprKind::StrContains(a, needle) => {
            let _ = writeln!(
                out,
                "strcontains {:?}: {ty}",
                String::from_utf8_lossy(needle)
            );
            expr(out, a, depth + 1);
        }
        ExprKind::StrContainsRuntime {
            haystack, needle, ..
        } => {
            let _ = writeln!(out, "strcontains (bpf_strnstr): {ty}");
            expr(out, haystack, depth + 1);
            expr(out, needle, depth + 1);
        }
        ExprKind::ReadBuf { ptr, len, space } => {
            let _ = writeln!(out, "buf {space:?}: {ty}");
            expr(out, ptr, depth + 1);
            expr(out, len, depth + 1);
        }
        ExprKind::Lib(c) => {
            let _ = writeln!(out, "{}: {ty}", c.name());
            c.operands()
                .into_iter()
                .for_each(|a| expr(out, a, depth + 1));
        }
        ExprKind::ReadStr {
            ptr, limit, space, ..
        } => {
            let _ = writeln!(out, "str {space:?}: {ty}");
            expr(out, ptr, depth + 1);
            if let Some(l) = limit {
                expr(out, l, depth + 1);
            }
        }
    }
}
