//! The one type unification: what type a map key or value, a variable or a ternary
//! takes when it meets values of different types, and the explicit conversions that
//! make every stored value that type. Integers of one signedness unify to the wider;
//! mixed ones to a signed 64-bit integer unless one is an unsigned 64-bit integer (then
//! unsigned 64 bits), so every value of both fits when it can; strings to the longer
//! buffer. Nothing else unifies.

use super::hir::{self, ExprKind, StmtKind};
use crate::lang::agg::ValueKind;
use crate::lang::ty::Ty;

/// The type `a` and `b` both fit, if there is one.
pub fn unify(a: &Ty, b: &Ty) -> Option<Ty> {
    match (a, b) {
        (
            Ty::Int {
                bits: ba,
                signed: sa,
            },
            Ty::Int {
                bits: bb,
                signed: sb,
            },
        ) if sa == sb => Some(Ty::Int {
            bits: (*ba).max(*bb),
            signed: *sa,
        }),
        (Ty::Int { .. }, Ty::Int { .. }) => Some(Ty::Int {
            bits: 64,
            signed: crate::lang::ty::signed_operation(a, b),
        }),
        (Ty::Str { len: la }, Ty::Str { len: lb }) => Some(Ty::Str {
            len: (*la).max(*lb),
        }),
        (Ty::Buf { len: la }, Ty::Buf { len: lb }) => Some(Ty::Buf {
            len: (*la).max(*lb),
        }),
        (Ty::Tuple(a), Ty::Tuple(b)) => unify_all(a, b).map(Ty::Tuple),
        (Ty::Bool, Ty::Bool) => Some(Ty::Bool),
        (Ty::Ptr { .. }, Ty::Ptr { .. }) if a == b => Some(a.clone()),
        (Ty::Bool, Ty::Int { .. }) | (Ty::Int { .. }, Ty::Bool) => Some(Ty::U64),
        (Ty::Rendered(_), Ty::Rendered(_)) if a == b => Some(a.clone()),
        _ => None,
    }
}

/// Element-wise [`unify`] of two key lists of the same length.
pub fn unify_all(a: &[Ty], b: &[Ty]) -> Option<Vec<Ty>> {
    if a.len() != b.len() {
        return None;
    }
    a.iter().zip(b).map(|(x, y)| unify(x, y)).collect()
}

/// What two uses of one map's values make together.
pub fn unify_values(a: &ValueKind, b: &ValueKind) -> Option<ValueKind> {
    match (a, b) {
        (ValueKind::Sum { signed: x }, ValueKind::Sum { signed: y }) => {
            Some(ValueKind::Sum { signed: *x || *y })
        }
        (ValueKind::Scalar(x), ValueKind::Scalar(y)) => unify(x, y).map(ValueKind::Scalar),
        (x, y) if x == y => Some(x.clone()),
        _ => None,
    }
}

/// The type a value has once stored in a map or variable: integers widen to 64 bits
/// (inside tuples too).
pub fn stored(t: &Ty) -> Ty {
    match t {
        Ty::Int { signed, .. } => Ty::Int {
            bits: 64,
            signed: *signed,
        },
        Ty::Tuple(elems) => Ty::Tuple(elems.iter().map(stored).collect()),
        other => other.clone(),
    }
}

/// `e` converted to `to`: unchanged when it already has that type.
pub fn convert(e: hir::Expr, to: &Ty) -> hir::Expr {
    if &e.ty == to {
        return e;
    }
    let span = e.span;
    hir::Expr {
        kind: ExprKind::Convert(Box::new(e)),
        ty: to.clone(),
        span,
    }
}

/// Once every map's and variable's type is final: converts each stored value (map keys
/// and values, variable assignments) to the type of the place it goes to.
pub fn convert_stores(p: &mut hir::Program) {
    let maps = p.maps.clone();
    for probe in &mut p.probes {
        let vars = probe.vars.clone();
        if let Some(pred) = &mut probe.predicate {
            in_expr(pred, &maps);
        }
        in_stmts(&mut probe.body, &maps, &vars);
    }
}

fn keys(keys: &mut [hir::Expr], map: &hir::Map) {
    for (k, t) in keys.iter_mut().zip(&map.keys) {
        let e = std::mem::replace(k, placeholder());
        *k = convert(e, t);
    }
}

fn placeholder() -> hir::Expr {
    hir::Expr {
        kind: ExprKind::Int(0),
        ty: Ty::U64,
        span: Default::default(),
    }
}

fn in_stmts(stmts: &mut [hir::Stmt], maps: &[hir::Map], vars: &[Ty]) {
    for s in stmts {
        match &mut s.kind {
            StmtKind::MapUpdate { map, keys: k, op } => {
                k.iter_mut().for_each(|e| in_expr(e, maps));
                keys(k, &maps[*map]);
                if let Some(v) = op.value_mut() {
                    in_expr(v, maps);
                    if let (hir::MapOp::Assign(v), ValueKind::Scalar(t)) = (op, &maps[*map].value) {
                        let e = std::mem::replace(v, placeholder());
                        *v = convert(e, t);
                    }
                }
            }
            StmtKind::Delete { map, keys: k } => {
                k.iter_mut().for_each(|e| in_expr(e, maps));
                keys(k, &maps[*map]);
            }
            StmtKind::VarAssign { var, value } => {
                in_expr(value, maps);
                let e = std::mem::replace(value, placeholder());
                *value = convert(e, &vars[*var]);
            }
            StmtKind::Printf { args, .. } => args.iter_mut().for_each(|e| in_expr(e, maps)),
            StmtKind::If { cond, then, else_ } => {
                in_expr(cond, maps);
                in_stmts(then, maps, vars);
                in_stmts(else_, maps, vars);
            }
            StmtKind::While { cond, body } => {
                in_expr(cond, maps);
                in_stmts(body, maps, vars);
            }
            StmtKind::For {
                start, end, body, ..
            } => {
                in_expr(start, maps);
                in_expr(end, maps);
                in_stmts(body, maps, vars);
            }
            StmtKind::Unroll { body, .. } | StmtKind::ForMap { body, .. } => {
                in_stmts(body, maps, vars)
            }
            StmtKind::Expr(e) | StmtKind::Return(Some(e)) => in_expr(e, maps),
            StmtKind::Exit(Some(e)) | StmtKind::Join { array: e, .. } | StmtKind::Signal(e) => {
                in_expr(e, maps)
            }
            StmtKind::Exit(None)
            | StmtKind::VarZero(_)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Return(None) => {}
        }
    }
}

fn in_expr(e: &mut hir::Expr, maps: &[hir::Map]) {
    match &mut e.kind {
        ExprKind::MapRead { map, keys: k } | ExprKind::HasKey { map, keys: k } => {
            k.iter_mut().for_each(|x| in_expr(x, maps));
            keys(k, &maps[*map]);
        }
        ExprKind::Unary(_, a) | ExprKind::Convert(a) | ExprKind::Cast(a) | ExprKind::Deref(a) => {
            in_expr(a, maps)
        }
        ExprKind::Binary(_, a, b) => {
            in_expr(a, maps);
            in_expr(b, maps);
        }
        ExprKind::Ternary(c, a, b) => {
            in_expr(c, maps);
            in_expr(a, maps);
            in_expr(b, maps);
        }
        ExprKind::StrLen(a) | ExprKind::StrContains(a, _) | ExprKind::TupleIndex(a, _) => {
            in_expr(a, maps)
        }
        ExprKind::Tuple(items) => items.iter_mut().for_each(|i| in_expr(i, maps)),
        ExprKind::StrNcmp(a, b, _)
        | ExprKind::StrContainsRuntime {
            haystack: a,
            needle: b,
            ..
        } => {
            in_expr(a, maps);
            in_expr(b, maps);
        }
        ExprKind::ReadBuf { ptr, len, .. } => {
            in_expr(ptr, maps);
            in_expr(len, maps);
        }
        ExprKind::ReadStr { ptr, limit, .. } => {
            in_expr(ptr, maps);
            if let Some(l) = limit {
                in_expr(l, maps);
            }
        }
        ExprKind::Lib(c) => c.operands_mut().into_iter().for_each(|a| in_expr(a, maps)),
        ExprKind::Int(_)
        | ExprKind::MapLen(_)
        | ExprKind::PointName(_)
        | ExprKind::Str(_)
        | ExprKind::Builtin(_)
        | ExprKind::Ctx(_)
        | ExprKind::Var(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unification_rules() {
        let i32s = Ty::Int {
            bits: 32,
            signed: true,
        };
        assert_eq!(unify(&i32s, &Ty::I64), Some(Ty::I64));
        assert_eq!(unify(&i32s, &Ty::U64), Some(Ty::U64));
        assert_eq!(
            unify(&Ty::Str { len: 16 }, &Ty::Str { len: 64 }),
            Some(Ty::Str { len: 64 })
        );
        assert_eq!(unify(&Ty::Str { len: 16 }, &Ty::U64), None);
        assert_eq!(stored(&i32s), Ty::I64);
        let e = hir::Expr {
            kind: ExprKind::Str(b"ab".to_vec()),
            ty: Ty::Str { len: 3 },
            span: Default::default(),
        };
        assert_eq!(convert(e.clone(), &Ty::Str { len: 3 }), e);
        let c = convert(e, &Ty::Str { len: 8 });
        assert!(matches!(c.kind, ExprKind::Convert(_)));
        assert_eq!(c.ty, Ty::Str { len: 8 });
    }
}
