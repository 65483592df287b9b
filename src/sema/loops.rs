//! Loops over ranges and maps, `let` declarations and assignments to variables: the
//! statements that declare variables (see `scope` for the rules).

use super::hir::{self, ExprKind, StmtKind};
use super::scope::Origin;
use super::unify::{self, stored as key_ty};
use super::{Checker, ProbeScope};
use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::lang::agg::ValueKind;
use crate::lang::ty::Ty;

impl Checker<'_> {
    /// `for ($var : start..end) { body }` and `for ($var : @map) { body }`.
    pub(crate) fn for_loop(
        &mut self,
        var: &str,
        var_span: Span,
        iter: &ast::ForIter,
        body: &ast::Block,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let (start, end) = match iter {
            ast::ForIter::Range(a, b) => (a, b),
            ast::ForIter::Map(m) => return self.for_map(var, var_span, m, body, scope),
        };
        let s = self.expr(start, scope);
        let e = self.expr(end, scope);
        let (s, e) = (s?, e?);
        self.expect_int(&s, "the start of a range")?;
        self.expect_int(&e, "the end of a range")?;
        let ty = Ty::Int {
            bits: 64,
            signed: crate::lang::ty::signed_operation(&s.ty, &e.ty),
        };
        let (id, body) = self.loop_body(var, var_span, ty, body, scope);
        Some(StmtKind::For {
            var: id?,
            start: s,
            end: e,
            body,
        })
    }

    /// `for ($kv : @map) { body }`: `$kv` is `(key, value)`, the key a tuple when the
    /// map has several key parts.
    fn for_map(
        &mut self,
        var: &str,
        var_span: Span,
        m: &ast::Expr,
        body: &ast::Block,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let Some((name, [])) = m.as_map() else {
            let help = match m.as_map() {
                Some((name, _)) => format!("iterate over the whole map: `for ($kv : @{name})`"),
                None => "write `for ($kv : @map) { ... }` or `for ($i : 0..10) { ... }`".into(),
            };
            self.error(
                Diagnostic::error("E0317", m.span, "`for` iterates over a map or a range")
                    .with_label("not a map")
                    .with_help(help),
            );
            return None;
        };
        let Some(map) = self.known_map(name) else {
            self.error(
                Diagnostic::error(
                    "E0308",
                    m.span,
                    format!("map `@{name}` is iterated over but never assigned"),
                )
                .with_label("never assigned")
                .with_help(format!("assign it somewhere, e.g. `@{name}[key] = 1;`")),
            );
            return None;
        };
        let (keys, kind) = (self.maps[map].keys.clone(), self.maps[map].value.clone());
        // Aggregations read as they do elsewhere: every CPU's value combined.
        let value = match &kind {
            ValueKind::Scalar(ty) => Some(ty.clone()),
            other => other.read_ty(),
        };
        let problem = if keys.is_empty() {
            Some(format!("`@{name}` has no keys"))
        } else if value.is_none() {
            Some(format!("`@{name}` holds {} values", kind_name(&kind)))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.error(
                Diagnostic::error(
                    "E0317",
                    m.span,
                    format!("cannot iterate over `@{name}`: {problem}"),
                )
                .with_label("this map")
                .with_help(
                    "`for` iterates over keyed maps of values, count(), sum(), min(), max() or avg(); print stats() and histograms with `print(@m)`",
                ),
            );
            return None;
        }
        let key = match &keys[..] {
            [one] => one.clone(),
            many => Ty::Tuple(many.to_vec()),
        };
        let ty = Ty::Tuple(vec![key, value.expect("checked above")]);
        let (id, body) = self.loop_body(var, var_span, ty, body, scope);
        Some(StmtKind::ForMap {
            var: id?,
            map,
            body,
        })
    }

    /// A loop's body, in a scope of its own where the loop's variable `var` (of type
    /// `ty`) is declared.
    fn loop_body(
        &mut self,
        var: &str,
        var_span: Span,
        ty: Ty,
        body: &ast::Block,
        scope: &mut ProbeScope,
    ) -> (Option<usize>, Vec<hir::Stmt>) {
        let mark = scope.enter();
        let id = self.loop_var(var, var_span, ty, scope);
        scope.loops += 1;
        let body = self.block(body, scope);
        scope.loops -= 1;
        scope.leave(mark);
        (id, body)
    }

    /// Declares a loop's variable; it may not shadow a visible one.
    fn loop_var(
        &mut self,
        var: &str,
        var_span: Span,
        ty: Ty,
        scope: &mut ProbeScope,
    ) -> Option<usize> {
        if scope.visible(var).is_some() {
            self.error(
                Diagnostic::error(
                    "E0318",
                    var_span,
                    format!("the loop variable `${var}` shadows a variable of the same name"),
                )
                .with_label("already declared")
                .with_help("name the loop variable differently"),
            );
            // Declared anyway, so the body is checked against it.
            scope.declare(var, ty, Origin::Loop);
            return None;
        }
        Some(scope.declare(var, ty, Origin::Loop))
    }

    /// `let $var [: type] [= value]`.
    pub(crate) fn let_stmt(
        &mut self,
        var: &str,
        var_span: Span,
        ty: Option<&ast::TypeName>,
        value: Option<&ast::Expr>,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let declared = match ty {
            Some(t) => Some(self.declared_type(t)?),
            None => None,
        };
        let v = match value {
            Some(v) => Some(self.expr(v, scope)?),
            None => None,
        };
        if scope.visible(var).is_some() {
            self.error(
                Diagnostic::error(
                    "E0318",
                    var_span,
                    format!("`${var}` is declared already: a variable cannot be declared twice"),
                )
                .with_label("already declared")
                .with_help(format!(
                    "assign the existing variable (`${var} = ...`) or use another name"
                )),
            );
            return None;
        }
        let v = match (v, &declared) {
            (Some(v), Some(t)) => match self.convert_to(v, t, var) {
                Some(v) => Some(v),
                None => {
                    // Declared anyway: later uses are not errors of their own.
                    let id = scope.declare(var, t.clone(), Origin::Let);
                    scope.info[id].fixed = true;
                    return None;
                }
            },
            (v, _) => v,
        };
        let ty = match (&declared, &v) {
            (Some(t), _) => t.clone(),
            (None, Some(v)) => var_type(&v.ty),
            (None, None) => Ty::I64,
        };
        let id = scope.declare(var, ty, Origin::Let);
        scope.info[id].fixed = declared.is_some();
        scope.info[id].pending = declared.is_none() && v.is_none();
        let _ = span;
        Some(match v {
            Some(value) => StmtKind::VarAssign { var: id, value },
            None => StmtKind::VarZero(id),
        })
    }

    /// `$name = v`.
    pub(crate) fn assign_var(
        &mut self,
        name: &str,
        v: hir::Expr,
        value_span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let ty = var_type(&v.ty);
        let existing = scope.visible(name).or_else(|| {
            // A 0.17-style variable of an ended block, when the value fits it.
            let id = scope.lookup(name)?;
            unify::unify(&scope.vars[id].1, &ty)?;
            scope.reopen(id);
            Some(id)
        });
        let Some(id) = existing else {
            let id = scope.declare(name, ty, Origin::Assigned);
            return Some(StmtKind::VarAssign { var: id, value: v });
        };
        let info = scope.info[id].clone();
        if info.fixed {
            let declared = scope.vars[id].1.clone();
            let value = self.convert_to(v, &declared, name)?;
            return Some(StmtKind::VarAssign { var: id, value });
        }
        if info.pending {
            scope.info[id].pending = false;
            scope.vars[id].1 = ty;
            return Some(StmtKind::VarAssign { var: id, value: v });
        }
        let old = scope.vars[id].1.clone();
        let Some(merged) = unify::unify(&old, &ty) else {
            self.error(
                Diagnostic::error(
                    "E0304",
                    value_span,
                    format!("`${name}` holds {old} but is assigned {ty} here"),
                )
                .with_label("type mismatch")
                .with_help("a variable keeps one type; use another variable"),
            );
            return None;
        };
        scope.vars[id].1 = merged;
        Some(StmtKind::VarAssign { var: id, value: v })
    }

    /// The type a `let` names.
    fn declared_type(&mut self, t: &ast::TypeName) -> Option<Ty> {
        let base = match t.name.as_str() {
            "string" if t.ptr == 0 => Some(Ty::Str {
                len: self.options.max_strlen,
            }),
            name => super::pointer::scalar_type(name),
        };
        match base {
            Some(Ty::Void) if t.ptr == 0 => None,
            Some(mut ty) => {
                for _ in 0..t.ptr {
                    ty = Ty::ptr(ty, crate::probe::AddrSpace::Kernel);
                }
                Some(ty)
            }
            None => None,
        }
        .or_else(|| {
            self.error(
                Diagnostic::error("E0315", t.span, format!("unknown type `{t}` in a declaration"))
                    .with_label("not a type scry knows")
                    .with_help(
                        "declare integers (`int8` … `uint64`), `bool`, `string` or pointers (`uint8 *`)",
                    ),
            );
            None
        })
    }

    /// `v` as a value of variable `$name`'s declared type `to`: integers converted as
    /// C converts (a literal that does not fit is an error), strings padded.
    fn convert_to(&mut self, v: hir::Expr, to: &Ty, name: &str) -> Option<hir::Expr> {
        let span = v.span;
        let mismatch = |cx: &mut Self, v: &hir::Expr| {
            cx.error(
                Diagnostic::error(
                    "E0304",
                    v.span,
                    format!("`${name}` is declared {to} but is given {}", v.ty),
                )
                .with_label("type mismatch")
                .with_help("give it a value of its type, or cast: `(TYPE)value`"),
            );
            None
        };
        match to {
            Ty::Int { bits, signed } if v.ty.is_integral() || v.ty.is_ptr() => {
                if let Some(c) = literal(&v)
                    && !fits(c, *bits, *signed)
                {
                    self.error(
                        Diagnostic::error(
                            "E0319",
                            span,
                            format!("{c} does not fit in `${name}`, declared {to}"),
                        )
                        .with_label(format!("out of range for {to}"))
                        .with_help(format!("cast it if the truncation is meant: `({to}){c}`")),
                    );
                    return None;
                }
                Some(hir::Expr {
                    kind: ExprKind::Cast(Box::new(v)),
                    ty: to.clone(),
                    span,
                })
            }
            Ty::Bool if v.ty == Ty::Bool => Some(v),
            Ty::Bool if v.ty.is_integral() => {
                let zero = hir::Expr {
                    kind: ExprKind::Int(0),
                    ty: Ty::I64,
                    span,
                };
                Some(hir::Expr {
                    kind: ExprKind::Binary(crate::ast::BinOp::Ne, Box::new(v), Box::new(zero)),
                    ty: Ty::Bool,
                    span,
                })
            }
            Ty::Ptr { .. } if v.ty.is_ptr() || v.ty.is_integral() => Some(hir::Expr {
                kind: ExprKind::Convert(Box::new(v)),
                ty: to.clone(),
                span,
            }),
            Ty::Str { len } => match v.ty {
                Ty::Str { len: l } if l <= *len => Some(hir::Expr {
                    kind: ExprKind::Convert(Box::new(v)),
                    ty: to.clone(),
                    span,
                }),
                _ => mismatch(self, &v),
            },
            _ => mismatch(self, &v),
        }
    }
}

/// The type a variable gets from a value: integers keep their own type (the slot is 64
/// bits anyway, so `$u = (uint32)1; $u > -1` promotes as the cast value does), other
/// values their stored form.
fn var_type(ty: &Ty) -> Ty {
    if ty.is_int() { ty.clone() } else { key_ty(ty) }
}

/// The value of an integer literal (possibly negated) in `e`.
fn literal(e: &hir::Expr) -> Option<i128> {
    match &e.kind {
        ExprKind::Int(v) if e.ty.is_signed() => Some(*v as i64 as i128),
        ExprKind::Int(v) => Some(*v as i128),
        ExprKind::Unary(crate::ast::UnOp::Neg, inner) => literal(inner).map(|v| -v),
        _ => None,
    }
}

/// True when `v` is a value of an integer of `bits` bits.
fn fits(v: i128, bits: u8, signed: bool) -> bool {
    if signed {
        let half = 1i128 << (bits - 1);
        (-half..half).contains(&v)
    } else {
        (0..1i128 << bits).contains(&v)
    }
}

/// How the docs name an aggregation's values.
fn kind_name(kind: &ValueKind) -> &'static str {
    match kind {
        ValueKind::Count => "count()",
        ValueKind::Sum { .. } => "sum()",
        ValueKind::Min => "min()",
        ValueKind::Max => "max()",
        ValueKind::Avg => "avg()",
        ValueKind::Stats => "stats()",
        ValueKind::Hist => "hist()",
        ValueKind::Lhist(_) => "lhist()",
        ValueKind::Scalar(_) => "plain",
    }
}
