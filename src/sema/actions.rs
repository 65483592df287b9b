//! Output statements that the runtime carries out in order with `printf` output:
//! `print(value)`, and the map actions `print(@m[, top[, div]])`, `clear(@m)` and
//! `zero(@m)`. Each becomes an event (`hir::Render`) whose record tells the runtime what
//! to do when it arrives; a map action's record carries nothing but its id.

use super::hir::{self, MapAction, Render, StmtKind};
use super::unify::{self, stored};
use super::{Checker, ProbeScope};
use crate::ast;
use crate::diag::{Diagnostic, Span};
use crate::lang::ty::Ty;

impl Checker<'_> {
    /// `print(value)` or `print(@map[, top[, div]])`.
    pub(crate) fn print(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        self.arity("print", args, 1, 3, span)?;
        if let ast::ExprKind::Map { name, keys } = &args[0].kind
            && keys.is_empty()
        {
            let map = self.action_map(name, args[0].span, "printed")?;
            let top = self.count_argument(args.get(1), "top", "print(@m, 10)")?;
            let div = self.count_argument(args.get(2), "div", "print(@m, 10, 1000)")?;
            if div == Some(0) {
                self.error(
                    Diagnostic::error("E0304", args[2].span, "`print()` cannot divide by 0")
                        .with_label("a divisor of 0")
                        .with_help("divide by 1 or more, e.g. `print(@bytes, 10, 1024)`"),
                );
                return None;
            }
            let action = MapAction::Print {
                top: top.unwrap_or(0),
                div: div.unwrap_or(1),
            };
            return Some(self.map_event(map, action));
        }
        if args.len() > 1 {
            self.error(
                Diagnostic::error("E0303", span, "`print()` of a value takes only the value")
                    .with_label("extra arguments")
                    .with_help("a top count and a divisor go with a map: `print(@m, 10, 1000)`"),
            );
            return None;
        }
        let v = self.expr(&args[0], scope)?;
        if v.ty == Ty::Void {
            self.error(
                Diagnostic::error("E0304", v.span, "this has no value to print")
                    .with_label("no value")
                    .with_help("print a value: an integer, string, tuple or pointer"),
            );
            return None;
        }
        // Sent in its stored layout (a tuple's integers widened), as the runtime reads it.
        let ty = stored(&v.ty);
        let v = unify::convert(v, &ty);
        let event = self.event(Render::Value, vec![ty]);
        Some(StmtKind::Printf {
            event,
            args: vec![v],
        })
    }

    /// `join(array[, sep])`: the strings of a NULL-terminated array of string pointers
    /// (`args.argv`), joined by `sep` (a space when none), on a line of their own.
    pub(crate) fn join(
        &mut self,
        args: &[ast::Expr],
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<StmtKind> {
        self.arity("join", args, 1, 2, span)?;
        let array = self.expr(&args[0], scope)?;
        let sep = match args.get(1) {
            None => b" ".to_vec(),
            Some(ast::Expr {
                kind: ast::ExprKind::Str(s),
                ..
            }) => s.clone(),
            Some(a) => {
                self.error(
                    Diagnostic::error("E0304", a.span, "`join()` takes a string literal separator")
                        .with_label("not a string literal")
                        .with_help("write e.g. `join(args.argv, \",\")`"),
                );
                return None;
            }
        };
        // An array of string pointers: `char **`, or an address (a pointer of the probe's
        // address space, as `str(arg0)` reads one).
        let array = match &array.ty {
            Ty::Ptr { to, .. } if to.is_ptr() => array,
            t if t.is_integral() => {
                let to = Ty::ptr(
                    Ty::ptr(
                        Ty::Int {
                            bits: 8,
                            signed: true,
                        },
                        scope.ctx.space,
                    ),
                    scope.ctx.space,
                );
                unify::convert(array, &to)
            }
            t => {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        array.span,
                        format!("`join()` takes an array of string pointers, but this is {t}"),
                    )
                    .with_label("not a char **")
                    .with_help("pass a pointer to string pointers, e.g. `join(args.argv)`"),
                );
                return None;
            }
        };
        let len = self.options.max_strlen.min(1024);
        let event = self.event(Render::Join { sep, len }, vec![]);
        Some(StmtKind::Join { event, array })
    }

    /// `time([fmt])`: the wall-clock time when scry reads the event.
    pub(crate) fn time(&mut self, args: &[ast::Expr], span: Span) -> Option<StmtKind> {
        self.arity("time", args, 0, 1, span)?;
        let fmt = match args.first() {
            None => crate::lang::time::DEFAULT.to_string(),
            Some(a) => {
                let ast::ExprKind::Str(bytes) = &a.kind else {
                    self.error(
                        Diagnostic::error(
                            "E0304",
                            a.span,
                            "`time()` takes a string literal format",
                        )
                        .with_label("not a string literal")
                        .with_help("write e.g. `time(\"%H:%M:%S \")`"),
                    );
                    return None;
                };
                let fmt = String::from_utf8_lossy(bytes).into_owned();
                if let Some((at, c)) = crate::lang::time::unknown_conversion(&fmt) {
                    // Point at the conversion inside the literal (after its quote).
                    let start = a.span.start + 1 + at as u32;
                    self.error(
                        Diagnostic::error(
                            "E0307",
                            Span::new(start as usize, (start + 2).min(a.span.end) as usize),
                            format!("`%{c}` is not a time conversion"),
                        )
                        .with_label("unknown conversion")
                        .with_help("time() takes strftime(3) conversions such as %H:%M:%S, %Y-%m-%d and bpftrace's %f (microseconds); write %% for a percent sign"),
                    );
                    return None;
                }
                fmt
            }
        };
        let event = self.event(Render::Time(fmt), vec![]);
        Some(StmtKind::Printf {
            event,
            args: vec![],
        })
    }

    /// `clear(@m)` (remove every entry) or `zero(@m)` (set every value to zero).
    pub(crate) fn clear_or_zero(
        &mut self,
        name: &str,
        args: &[ast::Expr],
        span: Span,
    ) -> Option<StmtKind> {
        self.arity(name, args, 1, 1, span)?;
        let map = self.whole_map(name, &args[0], "")?;
        let verb = if name == "clear" { "cleared" } else { "zeroed" };
        let id = self.action_map(map, args[0].span, verb)?;
        let action = if name == "clear" {
            MapAction::Clear
        } else {
            MapAction::Zero
        };
        Some(self.map_event(id, action))
    }

    /// The name of the whole map `arg` names (`@m`, not `@m[k]`), as function `func`'s
    /// argument; `rest` is what else the call takes, for the help line (`, key`).
    pub(crate) fn whole_map<'e>(
        &mut self,
        func: &str,
        arg: &'e ast::Expr,
        rest: &str,
    ) -> Option<&'e str> {
        let (label, message, map) = match &arg.kind {
            ast::ExprKind::Map { name, keys } if keys.is_empty() => return Some(name),
            ast::ExprKind::Map { name, .. } => (
                "an entry",
                format!("`{func}()` takes a whole map, not an entry"),
                name.as_str(),
            ),
            _ => ("not a map", format!("`{func}()` takes a map"), "map"),
        };
        self.error(
            Diagnostic::error("E0304", arg.span, message)
                .with_label(label)
                .with_help(format!("write `{func}(@{map}{rest})`")),
        );
        None
    }

    /// The map an action names; an error when the program never writes it.
    fn action_map(&mut self, name: &str, span: Span, verb: &str) -> Option<hir::MapId> {
        let id = self.known_map(name);
        if id.is_none() {
            self.error(
                Diagnostic::error(
                    "E0308",
                    span,
                    format!("map `@{name}` is {verb} but never assigned"),
                )
                .with_label("never assigned")
                .with_help(format!(
                    "assign it somewhere, e.g. `@{name}[key] = count();`"
                )),
            );
        }
        id
    }

    /// An optional count argument of `print(@m, top, div)`: a non-negative literal.
    fn count_argument(
        &mut self,
        arg: Option<&ast::Expr>,
        what: &str,
        example: &str,
    ) -> Option<Option<u64>> {
        let Some(arg) = arg else {
            return Some(None);
        };
        match arg.kind {
            ast::ExprKind::Int(v) if v <= i64::MAX as u64 => Some(Some(v)),
            _ => {
                self.error(
                    Diagnostic::error(
                        "E0304",
                        arg.span,
                        format!("`print()`'s {what} must be a non-negative integer literal"),
                    )
                    .with_label("not a constant count")
                    .with_help(format!("write e.g. `{example}`")),
                );
                None
            }
        }
    }

    /// The statement that sends map action `action` on `map` as an event.
    pub(crate) fn map_event(&mut self, map: hir::MapId, action: MapAction) -> StmtKind {
        let event = self.event(Render::Map { map, action }, vec![]);
        StmtKind::Printf {
            event,
            args: vec![],
        }
    }
}
