//! Value functions that are neither strings nor pointers: `nsecs(clock)`,
//! `has_key(@m, key)` and `len(@m)`.

use super::hir::{self, Builtin, ExprKind};
use super::unify;
use super::{Checker, ProbeScope};
use crate::ast;
use crate::diag::Diagnostic;
use crate::lang::agg::ValueKind;
use crate::lang::ty::Ty;

impl Checker<'_> {
    /// `nsecs(clock)`: `monotonic` (as `nsecs`), `boot`, `tai` or `sw_tai`.
    pub(crate) fn nsecs_of(
        &mut self,
        args: &[ast::Expr],
        span: crate::diag::Span,
    ) -> Option<hir::Expr> {
        let b = match args.first().map(|a| &a.kind) {
            None => Builtin::Nsecs,
            Some(ast::ExprKind::Ident(c)) if c == "monotonic" => Builtin::Nsecs,
            Some(ast::ExprKind::Ident(c)) if c == "boot" => Builtin::NsecsBoot,
            Some(ast::ExprKind::Ident(c)) if c == "tai" => Builtin::NsecsTai,
            Some(ast::ExprKind::Ident(c)) if c == "sw_tai" => return self.sw_tai(span),
            Some(_) => {
                let a = &args[0];
                self.error(
                    Diagnostic::error(
                        "E0304",
                        a.span,
                        "`nsecs()` takes a clock: monotonic, boot, tai or sw_tai",
                    )
                    .with_label("not a clock")
                    .with_help("write `nsecs(boot)`; `nsecs` alone is the monotonic clock"),
                );
                return None;
            }
        };
        Some(hir::Expr {
            kind: ExprKind::Builtin(b),
            ty: Ty::U64,
            span,
        })
    }

    /// `len(@m)`: the number of entries of a keyed map.
    pub(crate) fn map_len(
        &mut self,
        args: &[ast::Expr],
        span: crate::diag::Span,
    ) -> Option<hir::Expr> {
        let name = self.whole_map("len", &args[0], "")?;
        let Some(map) = self.known_map(name) else {
            self.error(
                Diagnostic::error(
                    "E0308",
                    args[0].span,
                    format!("map `@{name}` is counted but never assigned"),
                )
                .with_label("never assigned")
                .with_help(format!("assign it somewhere, e.g. `@{name}[key] = 1;`")),
            );
            return None;
        };
        let m = &self.maps[map];
        let problem = if m.keys.is_empty() {
            Some("it has no keys")
        } else if matches!(m.value, ValueKind::Hist | ValueKind::Lhist(_)) {
            Some("a histogram's entries are its buckets")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.error(
                Diagnostic::error(
                    "E0304",
                    args[0].span,
                    format!("`len()` cannot count `@{name}`: {problem}"),
                )
                .with_label("this map")
                .with_help(
                    "len() counts the entries of a keyed map (`@m[k] = ...`, `@m[k] = count()`)",
                ),
            );
            return None;
        }
        Some(hir::Expr {
            kind: ExprKind::MapLen(map),
            ty: Ty::I64,
            span,
        })
    }

    /// `has_key(@m, key)`: whether the map has an entry for `key`.
    pub(crate) fn has_key(
        &mut self,
        args: &[ast::Expr],
        span: crate::diag::Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let name = self.whole_map("has_key", &args[0], ", key")?;
        let keys = self.keys(std::slice::from_ref(&args[1]), scope)?;
        let Some(id) = self.known_map(name) else {
            self.error(
                Diagnostic::error(
                    "E0308",
                    args[0].span,
                    format!("map `@{name}` is looked up but never assigned"),
                )
                .with_label("never assigned")
                .with_help(format!("assign it somewhere, e.g. `@{name}[key] = 1;`")),
            );
            return None;
        };
        let key_tys: Vec<Ty> = keys.iter().map(|k| unify::stored(&k.ty)).collect();
        let value = self.maps[id].value.clone();
        let map = self.use_map(name, &key_tys, value, args[0].span)?;
        if self.maps[map].keys.is_empty() {
            self.error(
                Diagnostic::error("E0304", args[0].span, format!("`@{name}` has no keys"))
                    .with_label("an unkeyed map")
                    .with_help("has_key() asks about an entry of a keyed map: `@m[k] = ...`"),
            );
            return None;
        }
        Some(hir::Expr {
            kind: ExprKind::HasKey { map, keys },
            ty: Ty::Bool,
            span,
        })
    }
}
