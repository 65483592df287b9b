//! Scratch variables and their scopes.
//!
//! As in bpftrace's newest, a variable belongs to the block that declares it: `let $x`
//! (zero, or the given value, with an optional type), a loop's own variable, or, for a
//! variable no declaration makes visible, its first assignment. Declaring a name that
//! is visible is an error (no shadowing). One thing is kept from bpftrace 0.17 so that
//! its scripts run unchanged: a variable first assigned in an inner block
//! (`if (...) { $a = 1; } else { $a = 2; } print($a)`) is still found after the block
//! when no visible variable has the name (0.17's variables belong to the whole probe).
//! That changes no program the newest accepts: it only gives a meaning to reads the
//! newest rejects as undeclared.
//!
//! Every declaration gets its own [`VarId`](super::hir::VarId), so two variables of one
//! name in sibling blocks may have different types.

use super::ProbeScope;
use crate::diag::{Diagnostic, Span};
use crate::lang::ty::Ty;

/// How a variable came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Its first assignment declared it.
    Assigned,
    /// `let`, with or without a value.
    Let,
    /// A `for` loop's variable.
    Loop,
}

/// What is known about one variable.
#[derive(Clone, Debug)]
pub(crate) struct VarInfo {
    /// Name without `$`.
    pub(crate) name: String,
    /// How it was declared.
    pub(crate) origin: Origin,
    /// Declared with a type (`let $x: uint16`): values are converted to it.
    pub(crate) fixed: bool,
    /// Declared by `let $x;` and not assigned yet: the first assignment decides its
    /// type.
    pub(crate) pending: bool,
}

impl ProbeScope {
    /// The variable `name` refers to here: the innermost visible one, or else one first
    /// assigned in a block that has ended (bpftrace 0.17's probe-wide variables).
    pub(crate) fn lookup(&self, name: &str) -> Option<usize> {
        self.visible(name).or_else(|| {
            self.info
                .iter()
                .rposition(|v| v.name == name && v.origin == Origin::Assigned)
        })
    }

    /// The visible variable `name`, if any.
    pub(crate) fn visible(&self, name: &str) -> Option<usize> {
        self.in_scope
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|&(_, id)| id)
    }

    /// Declares `name` in the current block.
    pub(crate) fn declare(&mut self, name: &str, ty: Ty, origin: Origin) -> usize {
        self.vars.push((name.to_string(), ty));
        self.info.push(VarInfo {
            name: name.to_string(),
            origin,
            fixed: false,
            pending: false,
        });
        let id = self.vars.len() - 1;
        self.in_scope.push((name.to_string(), id));
        id
    }

    /// Makes variable `id` visible in the current block again (an assignment to a
    /// 0.17-style variable after the block that declared it).
    pub(crate) fn reopen(&mut self, id: usize) {
        let name = self.info[id].name.clone();
        self.in_scope.push((name, id));
    }

    /// The error for a read of `$name` where no variable of the name is visible.
    pub(crate) fn undeclared(&self, name: &str, span: Span) -> Diagnostic {
        if self.info.iter().any(|v| v.name == name) {
            return Diagnostic::error(
                "E0308",
                span,
                format!("variable `${name}` is not declared here"),
            )
            .with_label("its block has ended")
            .with_help(format!(
                "a `let` or loop variable belongs to its block; declare it before the block: `let ${name};`"
            ));
        }
        Diagnostic::error(
            "E0308",
            span,
            format!("variable `${name}` is used before it is assigned"),
        )
        .with_label("not assigned yet")
        .with_help(format!(
            "assign it first in this probe, e.g. `${name} = 0;`"
        ))
    }

    /// Where the current block starts, for [`ProbeScope::leave`].
    pub(crate) fn enter(&self) -> usize {
        self.in_scope.len()
    }

    /// Ends the block that started at `mark`: its variables go out of scope.
    pub(crate) fn leave(&mut self, mark: usize) {
        self.in_scope.truncate(mark);
    }
}
