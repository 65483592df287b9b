//! `arg0`, `arg1`, …: a uprobe's argument registers and a USDT probe's note arguments,
//! each described by the probe's context as an [`Access`](crate::probe::Access). An
//! index past a USDT probe's arguments (E0210) and an argument whose spec scry cannot
//! read (E0213) are reported where they are used.

use super::builtins::BuiltinDef;
use super::hir::{self, ExprKind};
use super::{Checker, ProbeScope};
use crate::diag::{Diagnostic, Span};
use crate::probe::Access;
use crate::probe::usdt::UsdtLoc;

impl Checker<'_> {
    /// The builtin `name` (`argN`) in the probe of `scope`.
    pub(super) fn arg(
        &mut self,
        name: &str,
        span: Span,
        scope: &ProbeScope,
        def: &BuiltinDef,
    ) -> Option<hir::Expr> {
        let i: usize = name[3..].parse().unwrap_or(usize::MAX);
        let args = &scope.ctx.args;
        match args.get(i) {
            Some(&access) => {
                if matches!(access, Access::Usdt(a) if a.loc == UsdtLoc::Unreadable) {
                    self.error(
                        Diagnostic::error(
                            "E0213",
                            span,
                            format!(
                                "scry cannot read `{name}` of `{}`: its note describes it in a form scry does not know",
                                scope.display
                            ),
                        )
                        .with_label("unreadable argument")
                        .with_help("floating-point values (`8f@…`) and SSE registers are not read; `readelf -n BINARY` shows the probe's argument specs, and its other arguments can be used"),
                    );
                    return None;
                }
                Some(hir::Expr {
                    kind: ExprKind::Ctx(access),
                    ty: access.arg_ty(),
                    span,
                })
            }
            None if scope.ctx.args_complete => {
                let n = args.len();
                self.error(
                    Diagnostic::error(
                        "E0210",
                        span,
                        format!(
                            "`{}` has {n} argument{}: there is no `{name}`",
                            scope.display,
                            if n == 1 { "" } else { "s" }
                        ),
                    )
                    .with_label("beyond the probe's arguments")
                    .with_help(match n {
                        0 => "this USDT probe passes no arguments".to_string(),
                        1 => "only arg0 is available".to_string(),
                        n => format!("arg0 … arg{} are available", n - 1),
                    }),
                );
                None
            }
            None if !args.is_empty() => {
                self.error(
                    Diagnostic::error(
                        "E0301",
                        span,
                        format!("`{name}` is not passed in a register"),
                    )
                    .with_label("beyond the sixth argument")
                    .with_help("arg0 … arg5 are available"),
                );
                None
            }
            None => self.no_reg(name, span, scope, def),
        }
    }
}
