//! Stacks and symbols: the `kstack`/`ustack` builtins and `kstack([mode][, depth])` /
//! `ustack([mode][, depth])`, values of type `Rendered::Stack` (the frames' addresses, a
//! user stack after its process); `ksym(addr)`, `usym(addr)` and ply's `caller` (the
//! probed function's caller), addresses the runtime prints as their function's name.

use super::hir::{self, ExprKind, LibCall, TaskOffsets};
use super::{Checker, ProbeScope};
use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::lang::render::{Rendered, StackMode};
use crate::lang::ty::Ty;

/// The functions this module checks (rows of `functions::FUNCTIONS`).
pub(crate) const FUNCTIONS: &[&str] = &["kstack", "ustack", "ksym", "usym"];

/// Frames kept when the program does not say (bpftrace's default, and the kernel's
/// default `perf_event_max_stack`).
pub const DEFAULT_DEPTH: u32 = 127;

impl Checker<'_> {
    /// The bare builtin `kstack` or `ustack` (the default mode and depth), or `caller`.
    pub(crate) fn stack_builtin(
        &mut self,
        name: &str,
        span: Span,
        scope: &ProbeScope,
    ) -> Option<hir::Expr> {
        if name == "caller" {
            return self.caller(span, scope);
        }
        let depth = DEFAULT_DEPTH.min(self.host.max_stack_depth());
        self.stack(
            name == "ustack",
            self.options.stack_mode,
            depth,
            span,
            scope,
        )
    }

    /// `kstack(...)` or `ustack(...)` (arity checked): `(N)`, `(mode)` or `(mode, N)`.
    pub(crate) fn stack_call(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        if name == "ksym" || name == "usym" {
            return self.symbol_of(name == "usym", &args[0], span, scope);
        }
        let mut mode = self.options.stack_mode;
        let mut rest = args;
        if let Some(first) = args.first()
            && let ast::ExprKind::Ident(word) = &first.kind
        {
            mode = self.stack_mode(word, first.span)?;
            rest = &args[1..];
        }
        let limit = self.host.max_stack_depth();
        let depth = match rest {
            [] => DEFAULT_DEPTH.min(limit),
            [d] => self.stack_depth(name, d, limit)?,
            [_, extra, ..] => {
                self.error(
                    Diagnostic::error(
                        "E0343",
                        extra.span,
                        format!("`{name}()` takes a mode, then a depth"),
                    )
                    .with_label("unexpected argument")
                    .with_help(format!(
                        "write `{name}(perf, 10)`, `{name}(10)` or `{name}(perf)`"
                    )),
                );
                return None;
            }
        };
        self.stack(name == "ustack", mode, depth, span, scope)
    }

    /// The stack mode named `word`.
    fn stack_mode(&mut self, word: &str, span: Span) -> Option<StackMode> {
        let mode = StackMode::named(word);
        if mode.is_none() {
            self.error(
                Diagnostic::error("E0340", span, format!("`{word}` is not a stack mode"))
                    .with_label("unknown stack mode")
                    .with_help(if word == "build_id" {
                        "scry has no `build_id` mode: use `raw` for addresses, or `perf` for addresses with symbols".to_string()
                    } else {
                        "the stack modes are `bpftrace` (symbol+offset), `perf` (address, symbol and object) and `raw` (addresses)".to_string()
                    }),
            );
        }
        mode
    }

    /// A stack's depth argument: an integer literal from 1 to the kernel's limit.
    fn stack_depth(&mut self, name: &str, d: &ast::Expr, limit: u32) -> Option<u32> {
        let ast::ExprKind::Int(n) = d.kind else {
            self.error(
                Diagnostic::error("E0343", d.span, format!("the depth of `{name}()` must be an integer literal"))
                    .with_label("not a number written in the program")
                    .with_help(format!("write the depth as a number, e.g. `{name}(10)`; a mode comes first: `{name}(perf, 10)`")),
            );
            return None;
        };
        if n == 0 || n > limit as u64 {
            self.error(
                Diagnostic::error("E0341", d.span, format!("a stack depth of {n} is not between 1 and {limit}"))
                    .with_label("depth out of range")
                    .with_help(format!(
                        "the kernel records at most {limit} frames (sysctl kernel.perf_event_max_stack); raise that sysctl for deeper stacks"
                    )),
            );
            return None;
        }
        Some(n as u32)
    }

    /// `ksym(addr)` or `usym(addr)`: an address printed as its function's name.
    fn symbol_of(
        &mut self,
        user: bool,
        arg: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let name = if user { "usym" } else { "ksym" };
        let addr = self.expr(arg, scope)?;
        if !addr.ty.is_int() && !matches!(addr.ty, Ty::Ptr { .. }) {
            self.error(
                Diagnostic::error(
                    "E0304",
                    addr.span,
                    format!("`{name}()` takes an address, but this is {}", addr.ty),
                )
                .with_label(format!("this is {}", addr.ty))
                .with_help("pass an integer or a pointer, e.g. `reg(\"ip\")` or `arg0`"),
            );
            return None;
        }
        let addr = Box::new(hir::Expr {
            ty: Ty::U64,
            ..addr
        });
        let (call, ty) = if user {
            let task = self.task_offsets();
            (LibCall::Usym { addr, task }, Rendered::Usym)
        } else {
            (LibCall::Tagged(addr), Rendered::Ksym)
        };
        Some(hir::Expr {
            kind: ExprKind::Lib(call),
            ty: Ty::Rendered(ty),
            span,
        })
    }

    /// ply's `caller`: the function that called the probed one, in kprobes and uprobes
    /// (frame 1 of the stack at the probe; at a function's entry that is the return
    /// address).
    fn caller(&mut self, span: Span, scope: &ProbeScope) -> Option<hir::Expr> {
        let user = match scope.entry {
            Some(user) => user,
            None => {
                self.error(
                    Diagnostic::error("E0344", span, format!("`caller` has no meaning in `{}`", scope.display))
                        .with_label("not at a function's entry")
                        .with_help("`caller` names the function that called the probed one: use it in kprobes and uprobes (not their return probes); elsewhere print `kstack` or `ustack`"),
                );
                return None;
            }
        };
        let task = if user { self.task_offsets() } else { None };
        let ty = if user { Rendered::Usym } else { Rendered::Ksym };
        Some(hir::Expr {
            kind: ExprKind::Lib(LibCall::Caller { user, task }),
            ty: Ty::Rendered(ty),
            span,
        })
    }

    /// Where a user stack's process header is read, from vmlinux BTF.
    fn task_offsets(&self) -> Option<TaskOffsets> {
        self.host.btf().and_then(|b| {
            Some(TaskOffsets {
                group_leader: b.member_offset("task_struct", "group_leader")?,
                start_boottime: b.member_offset("task_struct", "start_boottime")?,
                self_exec_id: b.member_offset("task_struct", "self_exec_id")?,
            })
        })
    }

    fn stack(
        &mut self,
        user: bool,
        mode: StackMode,
        depth: u32,
        span: Span,
        scope: &ProbeScope,
    ) -> Option<hir::Expr> {
        if user && scope.in_scry {
            self.warnings.push(
                Diagnostic::error("E0342", span, format!("`{}` runs in scry itself: this user stack is scry's", scope.display))
                    .with_label("scry's own stack")
                    .with_help("take user stacks in probes of the traced program (uprobe, usdt, profile, tracepoints)")
                    .warning(),
            );
        }
        let task = if user { self.task_offsets() } else { None };
        Some(hir::Expr {
            kind: ExprKind::Lib(LibCall::Stack { user, depth, task }),
            ty: Ty::Rendered(Rendered::Stack { user, mode, depth }),
            span,
        })
    }
}
