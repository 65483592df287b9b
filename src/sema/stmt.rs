//! Statement checking and desugaring: assignments, aggregations (bpftrace and ply forms),
//! `++`/`--`, compound assignment, `printf`, `exit`, `if`.

use super::expr::unknown_function;
use super::hir::{self, ExprKind, MapOp, StmtKind};
use super::unify::{self, stored as key_ty};
use super::{Checker, ProbeScope};
use crate::ast::{self, BinOp};
use crate::diag::{Diagnostic, Span};
use crate::lang::agg::{Lhist, ValueKind};
use crate::lang::format;
use crate::lang::ty::Ty;

impl Checker<'_> {
    /// Checks a block; statements with errors are dropped after reporting.
    pub(crate) fn block(&mut self, block: &ast::Block, scope: &mut ProbeScope) -> Vec<hir::Stmt> {
        block
            .stmts
            .iter()
            .filter_map(|s| self.stmt(s, scope))
            .collect()
    }

    fn stmt(&mut self, s: &ast::Stmt, scope: &mut ProbeScope) -> Option<hir::Stmt> {
        let span = s.span;
        let kind = match &s.kind {
            ast::StmtKind::Expr(e) => self.expr_stmt(e, scope)?,
            ast::StmtKind::Assign { target, op, value } => {
                self.assign(target, *op, value, span, scope)?
            }
            ast::StmtKind::While { cond, body } => {
                let c = self.expr(cond, scope);
                scope.loops += 1;
                let body = self.block(body, scope);
                scope.loops -= 1;
                let c = c?;
                self.expect_cond(&c, "a loop condition")?;
                StmtKind::While { cond: c, body }
            }
            ast::StmtKind::For {
                var,
                var_span,
                iter,
                body,
            } => self.for_loop(var, *var_span, iter, body, scope)?,
            ast::StmtKind::Unroll { count, body } => {
                let n = match const_int(count) {
                    Some(n @ 1..=UNROLL_MAX) => Some(n as u32),
                    _ => {
                        self.error(
                            Diagnostic::error(
                                "E0312",
                                count.span,
                                format!("`unroll` takes a constant from 1 to {UNROLL_MAX}"),
                            )
                            .with_label("not a count from 1 to 100")
                            .with_help("write e.g. `unroll(10) { ... }`; for a count known only at run time use `while`"),
                        );
                        None
                    }
                };
                scope.loops += 1;
                let body = self.block(body, scope);
                scope.loops -= 1;
                StmtKind::Unroll { count: n?, body }
            }
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if matches!(s.kind, ast::StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                if scope.loops == 0 {
                    self.error(
                        Diagnostic::error("E0311", span, format!("`{word}` outside a loop"))
                            .with_label("not in a loop")
                            .with_help("`break` and `continue` belong inside `while` or `unroll`"),
                    );
                    return None;
                }
                if word == "break" {
                    StmtKind::Break
                } else {
                    StmtKind::Continue
                }
            }
            ast::StmtKind::Return(value) => {
                let v = match value {
                    Some(v) => {
                        let v = self.expr(v, scope)?;
                        self.expect_int(&v, "a return value")?;
                        Some(v)
                    }
                    None => None,
                };
                StmtKind::Return(v)
            }
            ast::StmtKind::If { cond, then, else_ } => {
                let c = self.expr(cond, scope);
                let then = self.block(then, scope);
                let else_ = else_
                    .as_ref()
                    .map(|b| self.block(b, scope))
                    .unwrap_or_default();
                let c = c?;
                self.expect_cond(&c, "a condition")?;
                StmtKind::If {
                    cond: c,
                    then,
                    else_,
                }
            }
        };
        Some(hir::Stmt { kind, span })
    }

    fn expr_stmt(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<StmtKind> {
        match &e.kind {
            ast::ExprKind::Call {
                name,
                args,
                name_span,
            } => self.call_stmt(name, args, *name_span, e.span, scope),
            ast::ExprKind::Method {
                recv,
                name,
                args,
                name_span,
            } => {
                // ply: `@m[k].count()`, `$m[k].sum(x)`.
                let (map, keys) = match recv.as_map() {
                    Some((name, keys)) => (name.to_string(), keys.to_vec()),
                    None => {
                        self.error(
                            Diagnostic::error(
                                "E0305",
                                recv.span,
                                format!("`.{name}()` must be called on a map"),
                            )
                            .with_label("not a map")
                            .with_help(format!("write `@map[key].{name}()`")),
                        );
                        return None;
                    }
                };
                self.aggregate(&map, &keys, name, args, *name_span, e.span, scope)
            }
            ast::ExprKind::IncDec { target, incr, .. } => {
                let one = ast::Expr {
                    kind: ast::ExprKind::Int(1),
                    span: e.span,
                };
                let op = if *incr { BinOp::Add } else { BinOp::Sub };
                self.assign(target, Some(op), &one, e.span, scope)
            }
            _ => {
                let value = self.expr(e, scope)?;
                Some(StmtKind::Expr(value))
            }
        }
    }

    fn call_stmt(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        name_span: Span,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        match name {
            "exit" => {
                self.arity(name, args, 0, 1, span)?;
                let code = match args.first() {
                    Some(a) => {
                        let c = self.expr(a, scope)?;
                        self.expect_int(&c, "the exit code")?;
                        Some(c)
                    }
                    None => None,
                };
                Some(StmtKind::Exit(code))
            }
            "printf" => self.printf(args, span, scope),
            "print" => self.print(args, span, scope),
            "clear" | "zero" => self.clear_or_zero(name, args, span),
            "time" => self.time(args, span),
            "join" => self.join(args, span, scope),
            "delete" => self.delete(args, span, scope),
            _ if is_aggregation(name) => {
                self.error(
                    Diagnostic::error(
                        "E0306",
                        name_span,
                        format!("the result of `{name}()` must be stored in a map"),
                    )
                    .with_label("aggregation without a map")
                    .with_help(format!("write `@name = {name}(...)`")),
                );
                None
            }
            _ => {
                let (code, msg, help) = unknown_function(name);
                self.error(
                    Diagnostic::error(code, name_span, msg)
                        .with_label("unknown")
                        .with_help(help),
                );
                None
            }
        }
    }

    pub(crate) fn arity(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        min: usize,
        max: usize,
        span: Span,
    ) -> Option<()> {
        if (min..=max).contains(&args.len()) {
            return Some(());
        }
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        let plural = if max == 1 { "" } else { "s" };
        self.error(
            Diagnostic::error(
                "E0303",
                span,
                format!(
                    "`{name}()` takes {want} argument{plural}, {} given",
                    args.len()
                ),
            )
            .with_label("wrong number of arguments")
            .with_help(match name {
                "count" => "write `count()`".to_string(),
                "sum" | "avg" | "min" | "max" | "stats" | "hist" => {
                    format!("write `{name}(value)`")
                }
                "lhist" => "write `lhist(value, min, max, step)`".to_string(),
                "delete" => "write `delete(@map[key])`".to_string(),
                "exit" => "write `exit()`".to_string(),
                _ => format!("check the arguments of `{name}`"),
            }),
        );
        None
    }

    fn printf(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let Some(first) = args.first() else {
            self.error(
                Diagnostic::error("E0303", span, "`printf()` needs a format string")
                    .with_label("no arguments")
                    .with_help("write `printf(\"%d\\n\", value)`"),
            );
            return None;
        };
        let ast::ExprKind::Str(fmt) = &first.kind else {
            self.error(
                Diagnostic::error(
                    "E0304",
                    first.span,
                    "the first argument of `printf()` must be a string literal",
                )
                .with_label("not a string literal")
                .with_help("write the format inline: `printf(\"%d\\n\", x)`"),
            );
            return None;
        };
        // Formats are text; a byte that is not UTF-8 prints as U+FFFD.
        let fmt = &String::from_utf8_lossy(fmt).into_owned();
        let specs = match format::parse(fmt) {
            Ok(pieces) => format::arg_kinds(&pieces),
            Err(e) => {
                self.error(
                    Diagnostic::error("E0307", first.span, format!("invalid printf format: {e}"))
                        .with_label("in this format")
                        .with_help("supported: %d %i %u %x %X %o %s %c %p %% with flags, width and precision"),
                );
                return None;
            }
        };
        let mut values = Vec::new();
        for a in &args[1..] {
            values.push(self.expr(a, scope));
        }
        let values: Vec<hir::Expr> = values.into_iter().collect::<Option<_>>()?;
        if specs.len() != values.len() {
            self.error(
                Diagnostic::error(
                    "E0303",
                    span,
                    format!(
                        "the format has {} conversion(s) but {} argument(s) follow",
                        specs.len(),
                        values.len()
                    ),
                )
                .with_label("argument count mismatch")
                .with_note(first.span, "format here")
                .with_help(
                    "give one argument per `%` conversion (write `%%` for a literal percent sign)",
                ),
            );
            return None;
        }
        let mut ok = true;
        for (kind, v) in specs.iter().zip(&values) {
            let fits = match kind {
                format::ArgKind::Str => matches!(v.ty, Ty::Str { .. } | Ty::Rendered(_)),
                format::ArgKind::Buf => matches!(v.ty, Ty::Buf { .. }),
                format::ArgKind::Int => v.ty.is_scalar(),
                format::ArgKind::Char => v.ty.is_integral(),
            };
            if !fits {
                ok = false;
                let want = match kind {
                    format::ArgKind::Str => "a string",
                    format::ArgKind::Buf => "a buffer from `buf()`",
                    _ => "an integer",
                };
                self.error(
                    Diagnostic::error(
                        "E0304",
                        v.span,
                        format!("this conversion expects {want}, found {}", v.ty),
                    )
                    .with_label("wrong type for the format")
                    .with_note(first.span, "format here")
                    .with_help(match (&v.ty, kind) {
                        (Ty::Ptr { .. }, format::ArgKind::Str) => {
                            "a pointer is an address: read the string it points to with `str()`, e.g. `str(args.filename)`"
                        }
                        _ => "use %s for strings, %d/%u/%x for integers and %r/%rx/%rh for buffers",
                    }),
                );
            }
        }
        if !ok {
            return None;
        }
        // The record: the event id, then each argument at an 8-byte boundary; BPF
        // addresses its bytes with 16-bit offsets.
        let record: u32 = 8 + values
            .iter()
            .map(|v| crate::lang::ty::round_up(key_ty(&v.ty).size(), 8))
            .sum::<u32>();
        if record > i16::MAX as u32 {
            self.error(
                Diagnostic::error(
                    "E0402",
                    span,
                    format!("this printf's record needs {record} bytes; an event holds at most 32767"),
                )
                .with_label("too much to send at once")
                .with_help(
                    "lower --max-strlen (BPFTRACE_MAX_STRLEN), read shorter strings with str(p, N), or split the printf",
                ),
            );
            return None;
        }
        let event = self.printfs.len();
        self.printfs.push((
            hir::Render::Printf(fmt.clone()),
            values.iter().map(|v| key_ty(&v.ty)).collect(),
        ));
        Some(StmtKind::Printf {
            event,
            args: values,
        })
    }

    fn assign(
        &mut self,
        target: &ast::Expr,
        op: Option<BinOp>,
        value: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        // `x op= v` is `x = x op v`; a missing map entry reads as 0.
        let desugared = match op {
            Some(op) => ast::Expr {
                kind: ast::ExprKind::Binary {
                    op,
                    lhs: Box::new(target.clone()),
                    rhs: Box::new(value.clone()),
                },
                span,
            },
            None => value.clone(),
        };
        match (&target.kind, target.as_map()) {
            (_, Some((name, keys))) => {
                if op.is_none() {
                    match &value.kind {
                        ast::ExprKind::Call {
                            name: f,
                            args,
                            name_span,
                        } if is_aggregation(f) => {
                            return self.aggregate(name, keys, f, args, *name_span, span, scope);
                        }
                        ast::ExprKind::Method {
                            name: f, name_span, ..
                        } if is_aggregation(f) => {
                            self.error(
                                Diagnostic::error(
                                    "E0305",
                                    *name_span,
                                    "a method aggregation cannot be assigned",
                                )
                                .with_label("here")
                                .with_help(format!("write `@{name}[...] = {f}(...)`")),
                            );
                            return None;
                        }
                        _ => {}
                    }
                }
                let keys_h = self.keys(keys, scope);
                if (op.is_some() || mentions_map(value, name)) && self.known_map(name).is_none() {
                    // First use is an update or reads the map itself (`@x = @x + 1`,
                    // which reads 0): the map starts as integers.
                    let kt: Vec<Ty> = keys_h.iter().flatten().map(|k| key_ty(&k.ty)).collect();
                    self.use_map(name, &kt, ValueKind::Scalar(Ty::I64), target.span)?;
                }
                let v = self.expr(&desugared, scope)?;
                let keys_h = keys_h?;
                let kt: Vec<Ty> = keys_h.iter().map(|k| key_ty(&k.ty)).collect();
                let map = self.use_map(name, &kt, ValueKind::Scalar(key_ty(&v.ty)), target.span)?;
                Some(StmtKind::MapUpdate {
                    map,
                    keys: keys_h,
                    op: MapOp::Assign(v),
                })
            }
            (ast::ExprKind::Var(name), _) => {
                let v = self.expr(&desugared, scope)?;
                // A variable keeps an integer's own type (its slot is 64 bits anyway), so
                // `$u = (uint32)1; $u > -1` promotes as the cast value does.
                let ty = if v.ty.is_int() {
                    v.ty.clone()
                } else {
                    key_ty(&v.ty)
                };
                let var = match scope.vars.iter().position(|(n, _)| n == name) {
                    Some(id) => {
                        let old = scope.vars[id].1.clone();
                        let merged = unify::unify(&old, &ty);
                        let Some(merged) = merged else {
                            self.error(
                                Diagnostic::error(
                                    "E0304",
                                    value.span,
                                    format!("`${name}` holds {old} but is assigned {ty} here"),
                                )
                                .with_label("type mismatch")
                                .with_help("a variable keeps one type; use another variable"),
                            );
                            return None;
                        };
                        scope.vars[id].1 = merged;
                        id
                    }
                    None => {
                        scope.vars.push((name.clone(), ty));
                        scope.vars.len() - 1
                    }
                };
                Some(StmtKind::VarAssign { var, value: v })
            }
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        target.span,
                        "only maps and variables can be assigned to",
                    )
                    .with_label("not assignable")
                    .with_help("assign to a map `@name` or a variable `$name`"),
                );
                None
            }
        }
    }

    /// `@name[keys] = func(args)` and ply's `@name[keys].func(args)`.
    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &mut self,
        name: &str,
        keys: &[ast::Expr],
        func: &str,
        args: &[ast::Expr],
        func_span: Span,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let keys_h = self.keys(keys, scope);
        let (op, value) = match func {
            "count" => {
                self.arity(func, args, 0, 0, span)?;
                (MapOp::Count, ValueKind::Count)
            }
            "sum" => {
                self.arity(func, args, 1, 1, span)?;
                let v = self.expr(&args[0], scope)?;
                self.expect_int(&v, "the argument of `sum()`")?;
                let signed = v.ty.is_signed() && !matches!(v.kind, ExprKind::Int(_));
                (MapOp::Sum(v), ValueKind::Sum { signed })
            }
            "avg" | "stats" | "min" | "max" | "hist" | "quantize" => {
                self.arity(func, args, 1, 1, span)?;
                let v = self.expr(&args[0], scope)?;
                self.expect_int(&v, &format!("the argument of `{func}()`"))?;
                match func {
                    "avg" => (MapOp::Avg(v), ValueKind::Avg),
                    "stats" => (MapOp::Avg(v), ValueKind::Stats),
                    "min" => (MapOp::Min(v), ValueKind::Min),
                    "max" => (MapOp::Max(v), ValueKind::Max),
                    _ => (MapOp::Hist(v), ValueKind::Hist),
                }
            }
            "lhist" => {
                self.arity(func, args, 4, 4, span)?;
                let v = self.expr(&args[0], scope)?;
                self.expect_int(&v, "the argument of `lhist()`")?;
                let l = self.lhist_params(&args[1..], args[1].span.to(args[3].span))?;
                (MapOp::Lhist(v, l), ValueKind::Lhist(l))
            }
            _ => {
                let (code, msg, help) = unknown_function(func);
                self.error(
                    Diagnostic::error(code, func_span, msg)
                        .with_label("here")
                        .with_help(help),
                );
                return None;
            }
        };
        let keys_h = keys_h?;
        let kt: Vec<Ty> = keys_h.iter().map(|k| key_ty(&k.ty)).collect();
        let map = self.use_map(name, &kt, value, span)?;
        Some(StmtKind::MapUpdate {
            map,
            keys: keys_h,
            op,
        })
    }
}

impl Checker<'_> {
    /// The constant `min, max, step` of `lhist()`.
    fn lhist_params(&mut self, args: &[ast::Expr], span: Span) -> Option<Lhist> {
        let mut vals = [0i64; 3];
        for (slot, a) in vals.iter_mut().zip(args) {
            let Some(v) = const_int(a) else {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        a.span,
                        "the bounds and step of `lhist()` must be integer literals",
                    )
                    .with_label("not a constant")
                    .with_help("write e.g. `lhist(x, 0, 100, 10)`"),
                );
                return None;
            };
            *slot = v;
        }
        let [min, max, step] = vals;
        let problem = if step <= 0 {
            Some(format!("the step must be positive, not {step}"))
        } else if max <= min {
            Some(format!("max ({max}) must be greater than min ({min})"))
        } else if (max as i128 - min as i128) / step as i128 > LHIST_MAX_BUCKETS {
            Some(format!(
                "{min}..{max} in steps of {step} makes more than {LHIST_MAX_BUCKETS} buckets"
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            self.error(
                Diagnostic::error("E0310", span, format!("invalid `lhist()` bounds: {p}"))
                    .with_label("bad bounds")
                    .with_help("write `lhist(value, min, max, step)` with min < max and step > 0"),
            );
            return None;
        }
        Some(Lhist { min, max, step })
    }

    /// `for ($var : start..end) { body }`.
    fn for_loop(
        &mut self,
        var: &str,
        var_span: Span,
        iter: &ast::ForIter,
        body: &ast::Block,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        let (start, end) = match iter {
            ast::ForIter::Range(a, b) => (a, b),
            ast::ForIter::Map(m) => {
                self.error(
                    Diagnostic::error("E0305", m.span, "`for` over a map is not supported yet")
                        .with_label("a map")
                        .with_help("loop over a range of integers: `for ($i : 0..10) { ... }`"),
                );
                return None;
            }
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
        let id = match scope.vars.iter().position(|(n, _)| n == var) {
            Some(id) => {
                let old = scope.vars[id].1.clone();
                let Some(merged) = unify::unify(&old, &ty) else {
                    self.error(
                        Diagnostic::error(
                            "E0304",
                            var_span,
                            format!("`${var}` holds {old} but counts through a range here"),
                        )
                        .with_label("type mismatch")
                        .with_help("name the loop variable differently"),
                    );
                    return None;
                };
                scope.vars[id].1 = merged;
                id
            }
            None => {
                scope.vars.push((var.to_string(), ty));
                scope.vars.len() - 1
            }
        };
        scope.loops += 1;
        let body = self.block(body, scope);
        scope.loops -= 1;
        Some(StmtKind::For {
            var: id,
            start: s,
            end: e,
            body,
        })
    }

    /// `delete(@m[k])`.
    fn delete(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        self.arity("delete", args, 1, 2, span)?;
        // `delete(@m, key)` (bpftrace's newest) is `delete(@m[key])`.
        let (name, keys) = match (args[0].as_map(), args.get(1)) {
            (Some((name, [])), Some(key)) => (name, std::slice::from_ref(key)),
            (Some((name, keys)), None) => (name, keys),
            _ => {
                self.error(
                    Diagnostic::error("E0304", args[0].span, "`delete()` takes a map entry")
                        .with_label("not a map entry")
                        .with_help("write `delete(@map[key])` or `delete(@map, key)`"),
                );
                return None;
            }
        };
        let keys_h = self.keys(keys, scope)?;
        let Some(id) = self.known_map(name) else {
            self.error(
                Diagnostic::error(
                    "E0308",
                    args[0].span,
                    format!("map `@{name}` is deleted from but never assigned"),
                )
                .with_label("never assigned")
                .with_help(format!(
                    "assign it before this statement, e.g. `@{name}[key] = 1;`"
                )),
            );
            return None;
        };
        let kt: Vec<Ty> = keys_h.iter().map(|k| key_ty(&k.ty)).collect();
        let value = self.maps[id].value.clone();
        let map = self.use_map(name, &kt, value, args[0].span)?;
        if keys_h.is_empty() && self.maps[map].value.unkeyed_is_array() {
            // A per-CPU array, which a probe can only change on its own CPU: scry
            // empties it, as `clear()` does, when the event arrives.
            return Some(self.map_event(map, hir::MapAction::Clear));
        }
        Some(StmtKind::Delete { map, keys: keys_h })
    }
}

/// Most copies `unroll` makes of its body.
const UNROLL_MAX: i64 = 100;

/// Most buckets an `lhist()` may have.
const LHIST_MAX_BUCKETS: i128 = 1000;

/// The value of an integer literal, possibly negated.
fn const_int(e: &ast::Expr) -> Option<i64> {
    match &e.kind {
        ast::ExprKind::Int(v) => i64::try_from(*v).ok(),
        ast::ExprKind::Unary {
            op: ast::UnOp::Neg,
            expr,
        } => const_int(expr).map(|v| -v),
        _ => None,
    }
}

/// True when `e` reads map `@name` anywhere.
fn mentions_map(e: &ast::Expr, name: &str) -> bool {
    use ast::ExprKind as K;
    match &e.kind {
        K::Map { name: n, keys } => n == name || keys.iter().any(|k| mentions_map(k, name)),
        K::Int(_) | K::Str(_) | K::Ident(_) | K::Var(_) | K::Param(_) | K::ParamCount => false,
        K::Field { base, .. } => mentions_map(base, name),
        K::Call { args, .. } => args.iter().any(|a| mentions_map(a, name)),
        K::Method { recv, args, .. } => {
            mentions_map(recv, name) || args.iter().any(|a| mentions_map(a, name))
        }
        K::Unary { expr, .. } | K::Cast { expr, .. } | K::Deref(expr) => mentions_map(expr, name),
        K::Index { base, keys } => {
            // ply 1's `$m[k]` is the map `@m`.
            matches!(&base.kind, K::Var(n) if n == name)
                || mentions_map(base, name)
                || keys.iter().any(|k| mentions_map(k, name))
        }
        K::Binary { lhs, rhs, .. } => mentions_map(lhs, name) || mentions_map(rhs, name),
        K::Ternary { cond, then, else_ } => {
            mentions_map(cond, name) || mentions_map(then, name) || mentions_map(else_, name)
        }
        K::IncDec { target, .. } => mentions_map(target, name),
        K::Tuple(items) => items.iter().any(|i| mentions_map(i, name)),
        K::TupleIndex { base, .. } => mentions_map(base, name),
    }
}

fn is_aggregation(name: &str) -> bool {
    matches!(
        name,
        "count" | "sum" | "quantize" | "hist" | "lhist" | "avg" | "min" | "max" | "stats"
    )
}
