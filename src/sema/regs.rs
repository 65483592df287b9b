//! `reg("name")`: a register of the probed task, read from the `struct pt_regs` at the
//! start of the context (kprobes, uprobes, perf events, watchpoints). Names are
//! bpftrace's (`ip`, `sp`, `ax`, `di`, …; `probe::arch`); the read is an
//! `Access::Ctx`, typed `uint64`.

use super::{Checker, ProbeScope, hir};
use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::lang::ty::Ty;
use crate::probe::Access;
use crate::probe::arch::x86_64 as arch;

impl Checker<'_> {
    /// `reg(name)`.
    pub(crate) fn reg_call(
        &mut self,
        arg: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let ast::ExprKind::Str(bytes) = &arg.kind else {
            self.error(
                Diagnostic::error("E0304", arg.span, "`reg()` takes a register name")
                    .with_label("not a string literal")
                    .with_help("write the register's name as a literal: `reg(\"ip\")`"),
            );
            return None;
        };
        let name = String::from_utf8_lossy(bytes).into_owned();
        if !scope.regs {
            self.error(
                Diagnostic::error(
                    "E0322",
                    span,
                    format!("`reg()` is not available in `{}`", scope.display),
                )
                .with_label("no registers here")
                .with_help("reg() reads the probed task's registers in kprobe, kretprobe, uprobe, uretprobe, profile, software, hardware and watchpoint probes"),
            );
            return None;
        }
        let Some(off) = arch::reg_offset(&name) else {
            self.error(
                Diagnostic::error("E0320", arg.span, format!("`{name}` is not a register"))
                    .with_label("unknown register")
                    .with_help(format!(
                        "x86-64 registers are {}",
                        arch::registers().join(", ")
                    )),
            );
            return None;
        };
        Some(hir::Expr {
            kind: hir::ExprKind::Ctx(Access::Ctx { off, size: 8 }),
            ty: Ty::U64,
            span,
        })
    }
}
