//! Syntax tree of a scry program, as written (bpftrace and ply dialects), with spans.
//!
//! Built by `parser::parse`, consumed by `sema::check`. Nothing here is typed or
//! resolved: a bare identifier such as `pid` is only a name until sema looks it up.
//! `print` renders the tree for `--dump ast`.

pub mod depth;
pub mod print;

pub use crate::diag::Span;

/// A whole program: `#include` lines, then probes.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// `#include <...>` / `#include "..."` lines, kept for diagnostics; types come from BTF.
    pub includes: Vec<(String, Span)>,
    /// Probes in source order.
    pub probes: Vec<Probe>,
}

/// `spec, spec /predicate/ { body }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// One or more attach-point specs, e.g. `tracepoint:syscalls:sys_enter_openat`.
    pub specs: Vec<ProbeSpec>,
    /// Optional `/expr/` filter.
    pub predicate: Option<Expr>,
    /// Statements of the body.
    pub body: Block,
    /// The whole probe.
    pub span: Span,
}

/// An attach-point spec exactly as written; split into parts by `provider`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeSpec {
    /// Raw text, e.g. `t:syscalls:sys_enter_*` or `BEGIN`.
    pub text: String,
    /// Span of `text`.
    pub span: Span,
}

/// A `{ ... }` sequence of statements.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What kind.
    pub kind: StmtKind,
    /// Whole statement.
    pub span: Span,
}

/// Statement kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect: `printf(...)`, `@x++`, `@m[k].count()`.
    Expr(Expr),
    /// `target = value` or compound `target op= value` (`op` is `Some`).
    Assign {
        /// A map (`@x`, `@x[k]`) or variable (`$x`).
        target: Expr,
        /// For `+=`, `-=`, ... the operator.
        op: Option<BinOp>,
        /// Right-hand side.
        value: Expr,
    },
    /// `while (cond) { ... }`.
    While {
        /// Checked before every iteration.
        cond: Expr,
        /// The loop body.
        body: Block,
    },
    /// `unroll(N) { ... }`: the body N times over (N a constant, 1 to 100).
    Unroll {
        /// How many times.
        count: Expr,
        /// The body.
        body: Block,
    },
    /// `for ($var : start..end) { ... }` or `for ($kv : @map) { ... }`.
    For {
        /// The loop variable (without `$`).
        var: String,
        /// Where it is written.
        var_span: Span,
        /// What it runs over.
        iter: ForIter,
        /// The loop body.
        body: Block,
    },
    /// `let $var [: type] [= value]`: a variable of the enclosing block, zero when no
    /// value is given.
    Let {
        /// The variable (without `$`).
        var: String,
        /// Where it is written.
        var_span: Span,
        /// Its declared type.
        ty: Option<TypeName>,
        /// Its first value.
        value: Option<Expr>,
    },
    /// `break`: leave the innermost loop.
    Break,
    /// `continue`: go on with the innermost loop's next iteration.
    Continue,
    /// `return` or `return value`: end the probe (a `test:` probe fails on non-zero).
    Return(Option<Expr>),
    /// `if (cond) { ... } else { ... }`; `else if` nests an `If` inside `else_`.
    If {
        /// Condition.
        cond: Expr,
        /// Taken when non-zero.
        then: Block,
        /// Taken otherwise.
        else_: Option<Block>,
    },
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What kind.
    pub kind: ExprKind,
    /// Whole expression.
    pub span: Span,
}

impl Expr {
    /// The map entry this expression names as a statement's target: `@m[k]`, or ply 1's
    /// `$m[k]` (an indexed `$name` is the map `@name`).
    pub fn as_map(&self) -> Option<(&str, &[Expr])> {
        match &self.kind {
            ExprKind::Map { name, keys } => Some((name, keys)),
            ExprKind::Index { base, keys } => match &base.kind {
                ExprKind::Var(name) => Some((name, keys)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Expression kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// Integer literal (decimal, hex `0x`, octal `0o`/leading `0`, `_` separators allowed).
    Int(u64),
    /// String literal: bytes, escapes already decoded.
    Str(Vec<u8>),
    /// Bare identifier: a builtin (`pid`, `comm`, `args`, ...) until sema says otherwise.
    Ident(String),
    /// Scratch variable `$name` (name without `$`).
    Var(String),
    /// Positional parameter `$N`.
    Param(u32),
    /// `$#`: how many positional parameters there are.
    ParamCount,
    /// Map `@name` or `@name[k1, k2]` (name without `@`, empty for `@`).
    /// `keys` is empty when no brackets were written.
    Map {
        /// Map name.
        name: String,
        /// Key expressions.
        keys: Vec<Expr>,
    },
    /// `base.field` or `base->field`.
    Field {
        /// The struct-like value (`args`).
        base: Box<Expr>,
        /// Field name.
        field: String,
        /// Written with `->`.
        arrow: bool,
    },
    /// `name(args)`: builtin function or aggregation.
    Call {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// Span of `name`.
        name_span: Span,
    },
    /// ply's `@m[k].count()` / `$m[k].quantize(v)` style.
    Method {
        /// Receiver (a map).
        recv: Box<Expr>,
        /// Method name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// Span of `name`.
        name_span: Span,
    },
    /// `op expr`.
    Unary {
        /// Operator.
        op: UnOp,
        /// Operand.
        expr: Box<Expr>,
    },
    /// `lhs op rhs`.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `cond ? a : b`.
    Ternary {
        /// Condition.
        cond: Box<Expr>,
        /// Value when non-zero.
        then: Box<Expr>,
        /// Value otherwise.
        else_: Box<Expr>,
    },
    /// `x++`, `x--`, `++x`, `--x` on a map or variable.
    IncDec {
        /// The map or variable.
        target: Box<Expr>,
        /// `++` (true) or `--` (false).
        incr: bool,
        /// Written before the operand.
        prefix: bool,
    },
    /// `(a, b, c)`.
    Tuple(Vec<Expr>),
    /// `t.0`: an element of a tuple.
    TupleIndex {
        /// The tuple.
        base: Box<Expr>,
        /// Which element.
        index: u64,
    },
    /// `(int8)e` … `(uint64)e`: converted as C converts (truncated, sign- or
    /// zero-extended); `(bool)e` is `e != 0`; `(uint8 *)e` a pointer.
    Cast {
        /// The type as written.
        ty: TypeName,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `*e`: what a pointer points to.
    Deref(Box<Expr>),
    /// `base[k]`: a pointer's element, or ply 1's `$m[k1, k2]` map (sema decides).
    Index {
        /// The pointer (or `$name`).
        base: Box<Expr>,
        /// What is in the brackets.
        keys: Vec<Expr>,
    },
}

/// What a `for` loop runs over.
#[derive(Clone, Debug, PartialEq)]
pub enum ForIter {
    /// `start..end`: the integers from `start` up to, not including, `end` (both
    /// evaluated once, before the first iteration).
    Range(Expr, Expr),
    /// `@map`: its entries as `(key, value)` tuples.
    Map(Expr),
}

/// A type as a cast writes it: `int8`, `uint64 *`, `void *`, `struct task_struct *`.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeName {
    /// The name: `int8` … `uint64`, `bool`, `void`, `struct NAME`, or any `intN` the
    /// lexer saw (sema rejects unknown ones).
    pub name: String,
    /// How many `*` follow it.
    pub ptr: u32,
    /// Where it is written.
    pub span: Span,
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)?;
        if self.ptr > 0 {
            write!(f, " {}", "*".repeat(self.ptr as usize))?;
        }
        Ok(())
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `!`
    Not,
    /// `~`
    BitNot,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
}

impl BinOp {
    /// Source spelling.
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Shl => "<<",
            Shr => ">>",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            And => "&&",
            Or => "||",
        }
    }

    /// True for comparisons, which yield 0 or 1.
    pub fn is_comparison(self) -> bool {
        use BinOp::*;
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }
}

impl UnOp {
    /// Source spelling.
    pub fn symbol(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Not => "!",
            UnOp::BitNot => "~",
        }
    }
}
