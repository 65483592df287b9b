//! The formatted output statements: `printf`, `errorf`/`warnf` (a message with its source
//! location), `cat` (a file's contents) and `system` (a shell command's output, with
//! `--unsafe`), each an event the runtime renders with its printf-style format in order
//! with the program's other output; and `signal(sig)` (with `--unsafe`), sent in the
//! kernel. Formats are checked here: every conversion against its argument's type.

use super::hir::{self, Render, StmtKind};
use super::unify::{self, stored};
use super::{Checker, ProbeScope};
use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::lang::format;
use crate::lang::ty::Ty;

impl Checker<'_> {
    /// `printf`, `errorf`, `warnf`, `cat` or `system` (`func`): a format and its
    /// arguments, sent as one event.
    pub(crate) fn formatted_output(
        &mut self,
        func: &str,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        if func == "system" {
            self.require_unsafe(func, span)?;
        }
        let (fmt, values) = self.format_and_args(func, args, span, scope)?;
        let render = match func {
            "printf" => Render::Printf(fmt),
            "errorf" | "warnf" => Render::Message {
                error: func == "errorf",
                format: fmt,
                span,
            },
            "cat" => Render::Cat(fmt),
            _ => Render::System(fmt),
        };
        let event = self.event(render, values.iter().map(|v| v.ty.clone()).collect());
        Some(StmtKind::Printf {
            event,
            args: values,
        })
    }

    /// The format string literal of `func` and its checked arguments, each in the
    /// layout the runtime reads (a tuple's integers widened).
    fn format_and_args(
        &mut self,
        func: &str,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<(String, Vec<hir::Expr>)> {
        let what = if matches!(func, "cat" | "system") {
            "a path or command"
        } else {
            "a format string"
        };
        let Some(first) = args.first() else {
            self.error(
                Diagnostic::error("E0303", span, format!("`{func}()` needs {what}"))
                    .with_label("no arguments")
                    .with_help(format!("write `{func}(\"%d\\n\", value)`")),
            );
            return None;
        };
        let ast::ExprKind::Str(fmt) = &first.kind else {
            self.error(
                Diagnostic::error(
                    "E0304",
                    first.span,
                    format!("the first argument of `{func}()` must be a string literal"),
                )
                .with_label("not a string literal")
                .with_help(format!("write the format inline: `{func}(\"%d\\n\", x)`")),
            );
            return None;
        };
        // Formats are text; a byte that is not UTF-8 prints as U+FFFD.
        let fmt = String::from_utf8_lossy(fmt).into_owned();
        let specs = match format::parse(&fmt) {
            Ok(pieces) => format::arg_kinds(&pieces),
            Err(e) => {
                self.error(
                    Diagnostic::error("E0307", first.span, format!("invalid {func} format: {e}"))
                        .with_label("in this format")
                        .with_help("supported: %d %i %u %x %X %o %c %s %p %gr %r %rx %rh %% with flags, width, precision and length (hh h l ll j z t)"),
                );
                return None;
            }
        };
        let values: Vec<Option<hir::Expr>> =
            args[1..].iter().map(|a| self.expr(a, scope)).collect();
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
            // As bpftrace's newest: integer conversions take integers, bools and
            // pointers; `%s` any value; `%r` buffers only.
            let fits = match kind {
                format::ArgKind::Str => v.ty != Ty::Void,
                format::ArgKind::Buf => matches!(v.ty, Ty::Buf { .. }),
                format::ArgKind::Int | format::ArgKind::Char => v.ty.is_scalar(),
            };
            if !fits {
                ok = false;
                let want = match kind {
                    format::ArgKind::Str => "a value",
                    format::ArgKind::Buf => "a buffer from `buf()`",
                    _ => "an integer, bool or pointer",
                };
                self.error(
                    Diagnostic::error(
                        "E0304",
                        v.span,
                        format!("this conversion expects {want}, found {}", v.ty),
                    )
                    .with_label("wrong type for the format")
                    .with_note(first.span, "format here")
                    .with_help(
                        "use %s for strings and other values, %d/%u/%x for integers and %r/%rx/%rh for buffers",
                    ),
                );
            }
        }
        if !ok {
            return None;
        }
        // Sent in the stored layout, as the runtime decodes it.
        let values: Vec<hir::Expr> = values
            .into_iter()
            .map(|v| {
                let ty = stored(&v.ty);
                unify::convert(v, &ty)
            })
            .collect();
        // The record: the event id, then each argument at an 8-byte boundary; BPF
        // addresses its bytes with 16-bit offsets.
        let record: u32 = 8 + values
            .iter()
            .map(|v| crate::lang::ty::round_up(v.ty.size(), 8))
            .sum::<u32>();
        if record > i16::MAX as u32 {
            self.error(
                Diagnostic::error(
                    "E0402",
                    span,
                    format!("this {func}'s record needs {record} bytes; an event holds at most 32767"),
                )
                .with_label("too much to send at once")
                .with_help(
                    "lower --max-strlen (BPFTRACE_MAX_STRLEN), read shorter strings with str(p, N), or split the printf",
                ),
            );
            return None;
        }
        Some((fmt, values))
    }

    /// `signal(sig)`: a signal number, or a name such as `"SIGUSR1"` / `"KILL"`, sent to
    /// the current task's process in the kernel.
    pub(crate) fn signal(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        self.require_unsafe("signal", span)?;
        self.arity("signal", args, 1, 1, span)?;
        let no_task = [
            "BEGIN",
            "END",
            "test:",
            "interval:",
            "software:",
            "hardware:",
        ];
        if let Some(kind) = no_task.iter().find(|k| scope.display.starts_with(*k)) {
            self.error(
                Diagnostic::error(
                    "E0331",
                    span,
                    format!(
                        "`signal()` cannot be used in `{}` probes: they run in no task of interest",
                        kind.trim_end_matches(':')
                    ),
                )
                .with_label("no task to signal")
                .with_help("send signals from uprobes, uretprobes, tracepoints or profile probes"),
            );
            return None;
        }
        let a = &args[0];
        let sig = match &a.kind {
            ast::ExprKind::Str(name) => {
                let name = String::from_utf8_lossy(name);
                let Some(n) = signal_number(&name) else {
                    self.error(
                        Diagnostic::error("E0330", a.span, format!("unknown signal `{name}`"))
                            .with_label("not a signal name")
                            .with_help("name a signal as kill -l does, e.g. \"SIGUSR1\", \"USR1\" or \"KILL\", or give its number"),
                    );
                    return None;
                };
                hir::Expr {
                    kind: hir::ExprKind::Int(n as u64),
                    ty: Ty::U64,
                    span: a.span,
                }
            }
            _ => {
                let v = self.expr(a, scope)?;
                self.expect_int(&v, "a signal number")?;
                if let hir::ExprKind::Int(n) = v.kind
                    && !(1..=64).contains(&n)
                {
                    self.error(
                        Diagnostic::error("E0330", a.span, format!("{n} is not a signal number"))
                            .with_label("not from 1 to 64")
                            .with_help("signals are numbered from 1 (SIGHUP) to 64 (SIGRTMAX)"),
                    );
                    return None;
                }
                v
            }
        };
        Some(StmtKind::Signal(sig))
    }

    /// An error unless `--unsafe` was given: `func` acts on the system.
    fn require_unsafe(&mut self, func: &str, span: Span) -> Option<()> {
        if self.options.allow_unsafe {
            return Some(());
        }
        self.error(
            Diagnostic::error(
                "E0332",
                span,
                format!("`{func}()` is unsafe: it acts on the system outside the trace"),
            )
            .with_label("needs --unsafe")
            .with_help(format!("pass --unsafe to allow `{func}()`")),
        );
        None
    }
}

/// The number of signal `name` (`SIGUSR1`, `usr1`, `KILL`), as bpftrace names them.
pub(crate) fn signal_number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let short = upper.strip_prefix("SIG").unwrap_or(&upper);
    const SIGNALS: &[(&str, u32)] = &[
        ("HUP", 1),
        ("INT", 2),
        ("QUIT", 3),
        ("ILL", 4),
        ("TRAP", 5),
        ("ABRT", 6),
        ("BUS", 7),
        ("FPE", 8),
        ("KILL", 9),
        ("USR1", 10),
        ("SEGV", 11),
        ("USR2", 12),
        ("PIPE", 13),
        ("ALRM", 14),
        ("TERM", 15),
        ("CHLD", 17),
        ("CONT", 18),
        ("STOP", 19),
        ("TSTP", 20),
        ("TTIN", 21),
        ("TTOU", 22),
        ("URG", 23),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("VTALRM", 26),
        ("WINCH", 28),
        ("POLL", 29),
        ("SYS", 31),
    ];
    SIGNALS.iter().find(|(n, _)| *n == short).map(|&(_, v)| v)
}
