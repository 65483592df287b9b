//! Expression checking: builtins, context fields, variables, map reads, operators.

use super::builtins::{self, Source};
use super::functions::{self, Kind};
use super::hir::{self, Builtin, ExprKind};
use super::unify;
use super::{Checker, ProbeScope};
use crate::ast::{self, BinOp, UnOp};
use crate::diag::Diagnostic;
use crate::lang::agg::ValueKind;
use crate::lang::ty::Ty;

impl Checker<'_> {
    /// Checks an expression; `None` after reporting an error.
    pub(crate) fn expr(&mut self, e: &ast::Expr, scope: &mut ProbeScope) -> Option<hir::Expr> {
        let span = e.span;
        let mk = |kind, ty| Some(hir::Expr { kind, ty, span });
        match &e.kind {
            ast::ExprKind::Int(v) => mk(ExprKind::Int(*v), int_literal_ty(*v)),
            ast::ExprKind::Str(s) => mk(
                ExprKind::Str(s.clone()),
                Ty::Str {
                    len: s.len() as u32 + 1,
                },
            ),
            ast::ExprKind::Ident(name) => self.ident(name, e, scope),
            ast::ExprKind::Var(name) => match scope.lookup(name) {
                Some(id) => {
                    // A `let $x;` read before any assignment is an integer from here on.
                    scope.info[id].pending = false;
                    mk(ExprKind::Var(id), scope.vars[id].1.clone())
                }
                None => {
                    self.error(scope.undeclared(name, span));
                    None
                }
            },
            ast::ExprKind::Map { name, keys } => self.map_read(name, keys, e, scope),
            ast::ExprKind::Field { base, field, .. } => self.field(base, field, e, scope),
            ast::ExprKind::Call {
                name,
                args,
                name_span,
            } if functions::lookup(name).is_some_and(|f| f.kind == Kind::Value) => {
                self.value_call(name, args, *name_span, span, scope)
            }
            ast::ExprKind::Call {
                name, name_span, ..
            }
            | ast::ExprKind::Method {
                name, name_span, ..
            } => {
                let (code, msg, help) = match functions::lookup(name).map(|f| f.kind) {
                    Some(Kind::Aggregation) => (
                        "E0306",
                        format!("`{name}()` is an aggregation and has no value here"),
                        format!("assign it to a map: `@name[key] = {name}(...)`"),
                    ),
                    Some(_) => (
                        "E0306",
                        format!("`{name}()` returns no value"),
                        "call it as a statement of its own".to_string(),
                    ),
                    None => unknown_function(name),
                };
                self.error(
                    Diagnostic::error(code, *name_span, msg)
                        .with_label("used as a value")
                        .with_help(help),
                );
                None
            }
            ast::ExprKind::Unary { op, expr } => {
                let inner = self.expr(expr, scope)?;
                if *op == UnOp::Not {
                    self.expect_cond(&inner, "the operand of `!`")?;
                } else {
                    self.expect_int(&inner, &format!("the operand of `{}`", op.symbol()))?;
                }
                let ty = match op {
                    UnOp::Not => Ty::Bool,
                    UnOp::Neg => Ty::I64,
                    // C: `~true` is the int -2.
                    UnOp::BitNot if inner.ty == Ty::Bool => Ty::I64,
                    UnOp::BitNot => inner.ty.clone(),
                };
                mk(ExprKind::Unary(*op, Box::new(inner)), ty)
            }
            ast::ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs, scope);
                let r = self.expr(rhs, scope);
                let (l, r) = (l?, r?);
                self.binary(*op, l, r, e)
            }
            ast::ExprKind::Ternary { cond, then, else_ } => {
                let c = self.expr(cond, scope);
                let a = self.expr(then, scope);
                let b = self.expr(else_, scope);
                let (c, a, b) = (c?, a?, b?);
                self.expect_cond(&c, "a condition")?;
                let ty = match unify::unify(&a.ty, &b.ty) {
                    Some(t) => t,
                    None => {
                        self.error(
                            Diagnostic::error(
                                "E0304",
                                e.span,
                                format!("the branches of `?:` differ: {} and {}", a.ty, b.ty),
                            )
                            .with_label("mismatched branches")
                            .with_help("both branches must be integers or both strings"),
                        );
                        return None;
                    }
                };
                // Tuple arms take one layout explicitly; strings are padded in place.
                let (a, b) = if matches!(ty, Ty::Tuple(_)) {
                    (unify::convert(a, &ty), unify::convert(b, &ty))
                } else {
                    (a, b)
                };
                mk(ExprKind::Ternary(Box::new(c), Box::new(a), Box::new(b)), ty)
            }
            ast::ExprKind::IncDec { .. } => {
                self.error(
                    Diagnostic::error("E0305", span, "`++`/`--` can only be used as a statement")
                        .with_label("used as a value")
                        .with_help("put it on its own: `@x++;`"),
                );
                None
            }
            ast::ExprKind::Param(n) => self.param(*n, span),
            ast::ExprKind::ParamCount => {
                mk(ExprKind::Int(self.options.params.len() as u64), Ty::I64)
            }
            ast::ExprKind::Cast { ty, expr } => self.cast(ty, expr, span, scope),
            ast::ExprKind::Deref(inner) => self.deref(inner, span, scope),
            ast::ExprKind::Index { base, keys } => self.index(base, keys, e, scope),
            ast::ExprKind::Tuple(items) => {
                let mut elems = Vec::new();
                for item in items {
                    elems.push(self.expr(item, scope));
                }
                let elems: Vec<hir::Expr> = elems.into_iter().collect::<Option<_>>()?;
                let ty = Ty::Tuple(elems.iter().map(|e| e.ty.clone()).collect());
                mk(ExprKind::Tuple(elems), ty)
            }
            ast::ExprKind::TupleIndex { base, index } => {
                let t = self.expr(base, scope)?;
                let Ty::Tuple(elems) = &t.ty else {
                    self.error(
                        Diagnostic::error(
                            "E0304",
                            base.span,
                            format!(
                                "`.{index}` takes an element of a tuple, but this is {}",
                                t.ty
                            ),
                        )
                        .with_label("not a tuple")
                        .with_help("elements are numbered from 0: `$t = (1, \"a\"); $t.0`"),
                    );
                    return None;
                };
                let Some(ty) = usize::try_from(*index)
                    .ok()
                    .and_then(|i| elems.get(i))
                    .cloned()
                else {
                    self.error(
                        Diagnostic::error(
                            "E0314",
                            span,
                            format!("tuple index {index} is out of range for {}", t.ty),
                        )
                        .with_label("no such element")
                        .with_help(format!("this tuple has elements 0 to {}", elems.len() - 1)),
                    );
                    return None;
                };
                mk(ExprKind::TupleIndex(Box::new(t), *index as usize), ty)
            }
        }
    }

    fn ident(&mut self, name: &str, e: &ast::Expr, scope: &mut ProbeScope) -> Option<hir::Expr> {
        let span = e.span;
        let u32_ty = Ty::Int {
            bits: 32,
            signed: false,
        };
        if let "true" | "false" = name {
            return Some(hir::Expr {
                kind: ExprKind::Int((name == "true") as u64),
                ty: Ty::Bool,
                span,
            });
        }
        let Some(def) = builtins::lookup(name) else {
            self.error(
                Diagnostic::error("E0300", span, format!("unknown identifier `{name}`"))
                    .with_label("not a builtin")
                    .with_help(format!(
                        "builtins are {}; variables start with `$`, maps with `@`",
                        builtins::names()
                    )),
            );
            return None;
        };
        match def.source {
            Source::Helper(b) => Some(hir::Expr {
                kind: ExprKind::Builtin(b),
                ty: match b {
                    Builtin::Nsecs
                    | Builtin::NsecsBoot
                    | Builtin::NsecsTai
                    | Builtin::Jiffies
                    | Builtin::Elapsed => Ty::U64,
                    Builtin::Comm => Ty::Str { len: 16 },
                    _ => u32_ty,
                },
                span,
            }),
            Source::Func => match &scope.ctx.func {
                Some(_) => Some(hir::Expr {
                    kind: ExprKind::PointName(hir::PointField::Func),
                    ty: Ty::Str {
                        len: scope.name_lens.1,
                    },
                    span,
                }),
                None => self.no_reg(name, span, scope, def),
            },
            Source::Retval => match scope.ctx.retval {
                Some(access) => Some(hir::Expr {
                    kind: ExprKind::Ctx(access),
                    ty: Ty::U64,
                    span,
                }),
                None => self.no_reg(name, span, scope, def),
            },
            Source::Arg => self.arg(name, span, scope, def),
            Source::Probe => Some(hir::Expr {
                kind: ExprKind::PointName(hir::PointField::Probe),
                ty: Ty::Str {
                    len: scope.name_lens.0,
                },
                span,
            }),
            Source::Library => self.library_builtin(def.name, span),
            Source::Stack => self.stack_builtin(def.name, span, scope),
            Source::Ncpus => Some(hir::Expr {
                kind: ExprKind::Int(self.host.online_cpus() as u64),
                ty: u32_ty,
                span,
            }),
            Source::Cpid => match self.options.cpid {
                Some(pid) => Some(hir::Expr {
                    kind: ExprKind::Int(pid as u64),
                    ty: u32_ty,
                    span,
                }),
                None => {
                    self.error(
                        Diagnostic::error("E0309", span, "`cpid` needs a command to trace")
                            .with_label("no -c command")
                            .with_help("run the command with `-c CMD`; `cpid` is its pid"),
                    );
                    None
                }
            },
            Source::Args => {
                self.error(
                    Diagnostic::error("E0301", span, "`args` must be followed by a field")
                        .with_label("needs a field")
                        .with_help("write `args.FIELD`, e.g. `args.fd`"),
                );
                None
            }
        }
    }

    pub(super) fn no_reg(
        &mut self,
        name: &str,
        span: crate::diag::Span,
        scope: &ProbeScope,
        def: &builtins::BuiltinDef,
    ) -> Option<hir::Expr> {
        self.error(
            Diagnostic::error(
                "E0301",
                span,
                format!("`{name}` is not available in `{}`", scope.display),
            )
            .with_label("not in this probe")
            .with_help(format!("`{}` exists in {}", def.name, def.available)),
        );
        None
    }

    fn field(
        &mut self,
        base: &ast::Expr,
        field: &str,
        e: &ast::Expr,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        if !matches!(&base.kind, ast::ExprKind::Ident(n) if n == "args") {
            self.error(
                Diagnostic::error(
                    "E0301",
                    e.span,
                    format!("cannot take field `{field}` of this expression"),
                )
                .with_label("no fields")
                .with_help("fields exist on `args` in tracepoint probes"),
            );
            return None;
        }
        let Some(fields) = &scope.ctx.fields else {
            self.error(
                Diagnostic::error(
                    "E0301",
                    base.span,
                    format!("`args` is not available in `{}`", scope.display),
                )
                .with_label("no arguments here")
                .with_help("`args` exists in tracepoint probes"),
            );
            return None;
        };
        let Some(f) = fields.iter().find(|f| f.name == field) else {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            self.error(
                Diagnostic::error(
                    "E0301",
                    e.span,
                    format!("`{}` has no field `{field}`", scope.display),
                )
                .with_label("unknown field")
                .with_help(if names.is_empty() {
                    "this tracepoint has no fields".to_string()
                } else {
                    format!("its fields are: {}", names.join(", "))
                }),
            );
            return None;
        };
        let mut access = f.access;
        let ty = if f.c_type.contains("__data_loc") && f.c_type.contains("char") {
            // A variable-length string inside the record.
            access = access.data_loc();
            Ty::Str {
                len: self.options.max_strlen,
            }
        } else if f.c_type.contains("__data_loc")
            || (f.c_type.contains('[') && !f.c_type.contains("char"))
        {
            self.error(
                Diagnostic::error(
                    "E0305",
                    e.span,
                    format!("field `{field}` (`{}`) is not supported yet", f.c_type),
                )
                .with_label("unsupported field type")
                .with_help("integer, pointer, char-array and __data_loc string fields can be read"),
            );
            return None;
        } else if f.c_type.contains('[') {
            Ty::Str { len: f.size }
        } else if let Some(p) = super::pointer::c_pointer(&f.c_type, f.size, scope.ctx.space) {
            p
        } else if matches!(f.size, 1 | 2 | 4 | 8) {
            Ty::Int {
                bits: (f.size * 8) as u8,
                signed: f.signed && !f.c_type.contains('*'),
            }
        } else {
            self.error(
                Diagnostic::error(
                    "E0305",
                    e.span,
                    format!("field `{field}` has unsupported size {}", f.size),
                )
                .with_label("unsupported field")
                .with_help("integer fields of 1, 2, 4 or 8 bytes can be read"),
            );
            return None;
        };
        Some(hir::Expr {
            kind: ExprKind::Ctx(access),
            ty,
            span: e.span,
        })
    }

    pub(crate) fn map_read(
        &mut self,
        name: &str,
        keys: &[ast::Expr],
        e: &ast::Expr,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let keys = self.keys(keys, scope)?;
        let Some(id) = self.known_map(name) else {
            self.error(
                Diagnostic::error(
                    "E0308",
                    e.span,
                    format!("map `@{name}` is read but never assigned"),
                )
                .with_label("never assigned")
                .with_help(format!("assign it somewhere, e.g. `@{name} = 0;`")),
            );
            return None;
        };
        // An aggregation reads as one integer, its CPUs' values combined in the kernel.
        let value = self.maps[id].value.clone();
        let ty = match (&value, value.read_ty()) {
            (ValueKind::Scalar(t), _) => t.clone(),
            (_, Some(t)) => t,
            (other, None) => {
                let what = super::describe_value(other);
                self.error(
                    Diagnostic::error("E0306", e.span, format!("map `@{name}` holds a {what} aggregation and cannot be read here"))
                        .with_label("aggregation read")
                        .with_help("count(), sum(), min(), max() and avg() values can be read; stats() and histograms are only printed"),
                );
                return None;
            }
        };
        let key_tys: Vec<Ty> = keys.iter().map(|k| unify::stored(&k.ty)).collect();
        let value = match value {
            ValueKind::Scalar(_) => ValueKind::Scalar(ty.clone()),
            agg => agg,
        };
        let id = self.use_map(name, &key_tys, value, e.span)?;
        Some(hir::Expr {
            kind: ExprKind::MapRead { map: id, keys },
            ty,
            span: e.span,
        })
    }

    /// Checks map keys: each an integer or a string.
    pub(crate) fn keys(
        &mut self,
        keys: &[ast::Expr],
        scope: &mut ProbeScope,
    ) -> Option<Vec<hir::Expr>> {
        // `@m[(a, b)]` is `@m[a, b]`, as bpftrace keys a map by a tuple.
        let keys = match keys {
            [
                ast::Expr {
                    kind: ast::ExprKind::Tuple(items),
                    ..
                },
            ] => &items[..],
            _ => keys,
        };
        let mut out = Vec::new();
        let mut ok = true;
        for k in keys {
            match self.expr(k, scope) {
                Some(k) => out.push(k),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn binary(
        &mut self,
        op: BinOp,
        l: hir::Expr,
        r: hir::Expr,
        e: &ast::Expr,
    ) -> Option<hir::Expr> {
        let span = e.span;
        // Tuples compare byte for byte in one layout.
        if let (Ty::Tuple(_), Ty::Tuple(_), BinOp::Eq | BinOp::Ne) = (&l.ty, &r.ty, op)
            && let Some(t) = unify::unify(&l.ty, &r.ty)
        {
            let (l, r) = (unify::convert(l, &t), unify::convert(r, &t));
            return Some(hir::Expr {
                kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
                ty: Ty::Bool,
                span,
            });
        }
        // A bool takes part in arithmetic as the unsigned integer 0 or 1.
        let as_int = |t: &Ty| match t {
            Ty::Bool => Ty::Int {
                bits: 8,
                signed: false,
            },
            other => other.clone(),
        };
        if l.ty.is_ptr() || r.ty.is_ptr() {
            return self.pointer_binary(op, l, r, span);
        }
        let bitwise = matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor);
        let ty = match (&as_int(&l.ty), &as_int(&r.ty)) {
            // Comparisons and logical operators are true or false, as in bpftrace's newest;
            // `&`, `|` and `^` of two bools stay bools.
            _ if l.ty == Ty::Bool && r.ty == Ty::Bool && bitwise => Ty::Bool,
            (Ty::Int { .. }, Ty::Int { .. }) => {
                if op.is_comparison() || matches!(op, BinOp::And | BinOp::Or) {
                    Ty::Bool
                } else {
                    Ty::Int {
                        bits: 64,
                        signed: crate::lang::ty::signed_operation(&l.ty, &r.ty),
                    }
                }
            }
            (Ty::Str { .. }, Ty::Str { .. }) if matches!(op, BinOp::Eq | BinOp::Ne) => Ty::Bool,
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        span,
                        format!(
                            "`{}` cannot be applied to {} and {}",
                            op.symbol(),
                            l.ty,
                            r.ty
                        ),
                    )
                    .with_label("type mismatch")
                    .with_note(l.span, format!("this is {}", l.ty))
                    .with_note(r.span, format!("this is {}", r.ty))
                    .with_help(if matches!((&l.ty, &r.ty), (Ty::Rendered(_), _) | (_, Ty::Rendered(_))) {
                        "a value scry renders (ntop(), strerror(), strftime(), ...) can only be printed or stored"
                    } else if matches!(op, BinOp::Eq | BinOp::Ne) {
                        "compare strings with strings (`comm == \"bash\"`) and integers with integers"
                    } else {
                        "strings can only be compared with `==` and `!=`"
                    }),
                );
                return None;
            }
        };
        Some(hir::Expr {
            kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
            ty,
            span,
        })
    }
}

/// The type of an integer literal: signed 64-bit when it fits.
fn int_literal_ty(v: u64) -> Ty {
    if v <= i64::MAX as u64 {
        Ty::I64
    } else {
        Ty::U64
    }
}

/// Diagnostic parts for a call to an unknown function.
pub(crate) fn unknown_function(name: &str) -> (&'static str, String, String) {
    (
        "E0302",
        format!("unknown function `{name}`"),
        format!("functions are {}", functions::names()),
    )
}

impl Checker<'_> {
    /// `$N` as an integer: 0 when not given (as bpftrace's newest), an error when not a
    /// number.
    fn param(&mut self, n: u32, span: crate::diag::Span) -> Option<hir::Expr> {
        let int = |v: u64| {
            Some(hir::Expr {
                kind: ExprKind::Int(v),
                ty: Ty::I64,
                span,
            })
        };
        if n == 0 {
            self.error(
                Diagnostic::error("E0313", span, "positional parameters start at `$1`")
                    .with_label("no `$0`")
                    .with_help("the first argument after the program is `$1`"),
            );
            return None;
        }
        let Some(text) = self.options.params.get(n as usize - 1) else {
            return int(0);
        };
        match parse_param(text) {
            Some(v) => int(v),
            None => {
                self.error(
                    Diagnostic::error(
                        "E0313",
                        span,
                        format!("positional parameter `${n}` is `{text}`, not a number"),
                    )
                    .with_label("used as an integer")
                    .with_help(format!("write `str(${n})` to use it as a string")),
                );
                None
            }
        }
    }

    /// `strlen`, `strncmp`, `strcontains`.
    fn string_function(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: crate::diag::Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let mut strings = Vec::new();
        let count = if name == "strncmp" { 2 } else { 1 };
        for a in &args[..count] {
            let e = self.expr(a, scope)?;
            if !matches!(e.ty, Ty::Str { .. }) {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        e.span,
                        format!("`{name}()` takes strings, but this is {}", e.ty),
                    )
                    .with_label("not a string")
                    .with_help("read a string first, e.g. `str(args.filename)`"),
                );
                return None;
            }
            strings.push(e);
        }
        let mut strings = strings.into_iter().map(Box::new);
        let first = strings.next().expect("one string");
        let kind = match name {
            "strlen" => ExprKind::StrLen(first),
            "strncmp" => {
                let Some(n) = const_length(&args[2]) else {
                    self.error(
                        Diagnostic::error(
                            "E0304",
                            args[2].span,
                            "the length of `strncmp()` must be an integer literal",
                        )
                        .with_label("not a constant")
                        .with_help("write e.g. `strncmp(comm, \"bash\", 4)`"),
                    );
                    return None;
                };
                ExprKind::StrNcmp(first, strings.next().expect("two strings"), n)
            }
            _ => match &args[1].kind {
                // A literal needle is compared byte by byte, unrolled.
                ast::ExprKind::Str(needle) => ExprKind::StrContains(first, needle.clone()),
                _ => self.runtime_needle(first, &args[1], scope)?,
            },
        };
        // strcontains is a bool, as bpftrace's newest has it; strlen and strncmp numbers.
        let ty = if name == "strcontains" {
            Ty::Bool
        } else {
            Ty::U64
        };
        Some(hir::Expr { kind, ty, span })
    }

    /// `strcontains(haystack, needle)` with a needle known only at run time: the
    /// kernel's `bpf_strnstr`, which reads the needle up to its NUL, so the needle gets
    /// a buffer one byte longer than its type (a string cut at `max_strlen` has none).
    fn runtime_needle(
        &mut self,
        haystack: Box<hir::Expr>,
        arg: &ast::Expr,
        scope: &mut ProbeScope,
    ) -> Option<ExprKind> {
        let needle = self.expr(arg, scope)?;
        let Ty::Str { len } = needle.ty else {
            self.error(
                Diagnostic::error(
                    "E0304",
                    needle.span,
                    format!("`strcontains()` takes strings, but this is {}", needle.ty),
                )
                .with_label("not a string")
                .with_help("read a string first, e.g. `str(arg1)`"),
            );
            return None;
        };
        const KFUNC: &str = "bpf_strnstr";
        let Some(kfunc) = self.host.kernel_function(KFUNC) else {
            self.error(
                Diagnostic::error(
                    "E0204",
                    needle.span,
                    "`strcontains()` with a needle that is not a literal needs the kernel function `bpf_strnstr`",
                )
                .with_label("a run-time needle")
                .with_note(
                    needle.span,
                    "checked: vmlinux BTF (/sys/kernel/btf/vmlinux) has no `bpf_strnstr`; it came with Linux 6.17",
                )
                .with_help("write the needle as a string literal: `strcontains(comm, \"sh\")`"),
            );
            return None;
        };
        let needle = unify::convert(needle, &Ty::Str { len: len + 1 });
        Some(ExprKind::StrContainsRuntime {
            haystack,
            needle: Box::new(needle),
            kfunc,
        })
    }

    /// A call of a value-returning function (`str`).
    pub(crate) fn value_call(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        _name_span: crate::diag::Span,
        span: crate::diag::Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let f = functions::lookup(name).expect("caller looked it up");
        self.arity(f.name, args, f.min_args, f.max_args, span)?;
        if super::library::FUNCTIONS.contains(&f.name) {
            return self.library_call(f.name, args, span, scope);
        }
        if super::stack::FUNCTIONS.contains(&f.name) {
            return self.stack_call(f.name, args, span, scope);
        }
        if f.name == "buf" {
            return self.read_buf(args, span, scope);
        }
        if f.name == "has_key" {
            return self.has_key(args, span, scope);
        }
        if f.name == "reg" {
            return self.reg_call(&args[0], span, scope);
        }
        if f.name == "len" {
            return self.map_len(args, span);
        }
        if f.name == "nsecs" {
            return self.nsecs_of(args, span);
        }
        if f.name != "str" {
            return self.string_function(f.name, args, span, scope);
        }
        // `str($N)`: the parameter's text (empty when it was not given).
        if let ast::ExprKind::Param(n) = args[0].kind {
            let text = self.options.params.get(n.wrapping_sub(1) as usize);
            let s = text.cloned().unwrap_or_default();
            let len = s.len() as u32 + 1;
            return Some(hir::Expr {
                kind: ExprKind::Str(s.into_bytes()),
                ty: Ty::Str { len },
                span,
            });
        }
        let ptr = self.expr(&args[0], scope);
        let limit = args.get(1).map(|a| self.expr(a, scope));
        let ptr = ptr?;
        let max = self.options.max_strlen;
        // `str()` of a string (a char-array or `__data_loc` field, as older scripts write
        // `str(args->comm)`) is the string itself.
        if matches!(ptr.ty, Ty::Str { .. }) && limit.is_none() {
            return Some(hir::Expr { span, ..ptr });
        }
        if !ptr.ty.is_scalar() {
            self.error(
                Diagnostic::error(
                    "E0304",
                    ptr.span,
                    format!("`str()` reads from an address, but this is {}", ptr.ty),
                )
                .with_label("not a pointer")
                .with_help("pass a pointer, e.g. `str(args.filename)` or `str(arg0)`"),
            );
            return None;
        }
        let at_max = match &limit {
            None => true,
            Some(Some(l)) => matches!(l.kind, ExprKind::Int(n) if n > max as u64),
            Some(None) => false,
        };
        let (len, limit) = match limit {
            None => (max, None),
            Some(l) => {
                let l = l?;
                self.expect_int(&l, "the length of `str()`")?;
                match l.kind {
                    ExprKind::Int(n) if n == 0 || n > i64::MAX as u64 => {
                        self.error(
                            Diagnostic::error(
                                "E0304",
                                l.span,
                                "the length of `str()` must be at least 1",
                            )
                            .with_label("no room for the string")
                            .with_help("the length counts the terminating NUL: `str(p, 16)` keeps 15 characters"),
                        );
                        return None;
                    }
                    ExprKind::Int(n) => (n.min(max as u64) as u32, None),
                    _ => (max, Some(Box::new(l))),
                }
            }
        };
        let space = space_of(&ptr, scope);
        Some(hir::Expr {
            kind: ExprKind::ReadStr {
                ptr: Box::new(ptr),
                limit,
                space,
                at_max,
            },
            ty: Ty::Str { len },
            span,
        })
    }
}

impl Checker<'_> {
    /// `buf(ptr, n)` or `buf(string)`.
    fn read_buf(
        &mut self,
        args: &[ast::Expr],
        span: crate::diag::Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let ptr = self.expr(&args[0], scope);
        let len = args.get(1).map(|a| self.expr(a, scope));
        let ptr = ptr?;
        let max = self.options.max_strlen;
        // A string's whole buffer.
        if let (Ty::Str { len: n }, None) = (&ptr.ty, &len) {
            let ty = Ty::Buf { len: *n };
            return Some(hir::Expr {
                kind: ExprKind::Convert(Box::new(ptr)),
                ty,
                span,
            });
        }
        if !ptr.ty.is_scalar() {
            self.error(
                Diagnostic::error(
                    "E0304",
                    ptr.span,
                    format!("`buf()` reads from an address, but this is {}", ptr.ty),
                )
                .with_label("not a pointer")
                .with_help("pass a pointer and a length, e.g. `buf(arg1, 16)`"),
            );
            return None;
        }
        let Some(len) = len else {
            self.error(
                Diagnostic::error("E0304", span, "`buf()` of a pointer needs a length")
                    .with_label("how many bytes?")
                    .with_help("give the byte count: `buf(ptr, n)`"),
            );
            return None;
        };
        let len = len?;
        self.expect_int(&len, "the length of `buf()`")?;
        let cap = match len.kind {
            ExprKind::Int(n) if n > i64::MAX as u64 => {
                self.error(
                    Diagnostic::error("E0304", len.span, "the length of `buf()` is negative")
                        .with_label("not a byte count")
                        .with_help("give a byte count from 0 to max_strlen"),
                );
                return None;
            }
            ExprKind::Int(n) => n.min(max as u64) as u32,
            _ => max,
        };
        let space = space_of(&ptr, scope);
        Some(hir::Expr {
            kind: ExprKind::ReadBuf {
                ptr: Box::new(ptr),
                len: Box::new(len),
                space,
            },
            ty: Ty::Buf { len: cap },
            span,
        })
    }
}

/// The address space `ptr` points into: a pointer's own, else the probe's.
fn space_of(ptr: &hir::Expr, scope: &ProbeScope) -> crate::probe::AddrSpace {
    match &ptr.ty {
        Ty::Ptr { space, .. } => *space,
        _ => scope.ctx.space,
    }
}

/// A positional parameter as an integer: decimal (optionally negative) or `0x` hex.
fn parse_param(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if let Some(neg) = t.strip_prefix('-') {
        return neg.parse::<i64>().ok().map(|v| v.wrapping_neg() as u64);
    }
    t.parse::<u64>().ok()
}

/// A non-negative integer literal that fits a length.
fn const_length(e: &ast::Expr) -> Option<u32> {
    match e.kind {
        ast::ExprKind::Int(v) => u32::try_from(v).ok(),
        _ => None,
    }
}
