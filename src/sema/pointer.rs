//! Pointers and the types casts name: `(uint8 *)arg0`, `(int16)x`, `*p`, `p[i]`,
//! pointer arithmetic and comparisons (as C and bpftrace's newest have them), and the
//! types of tracepoint fields written in C (`const char *const * argv`).
//!
//! In goes the checked operand; out comes HIR in which everything is explicit: `p[i]` is
//! `*(p + i * size)`, `p + n` adds `n * size` bytes, and a read through a pointer is a
//! `Deref` whose pointer type says which address space to read.

use super::Checker;
use super::ProbeScope;
use super::hir::{self, ExprKind};
use crate::ast::{self, BinOp};
use crate::diag::{Diagnostic, Span};
use crate::lang::ty::{AddrSpace, Ty};

/// The types a cast may name, for help lines.
const CAST_TYPES: &str = "casts take int8 … int64, uint8 … uint64, bool, and pointers to them or to void \
     (e.g. `(uint8 *)arg0`, `(int32)$x`)";

/// The scalar type `name` stands for (`int8` … `uint64`, `bool`, `void`).
pub(crate) fn scalar_type(name: &str) -> Option<Ty> {
    match name {
        "bool" => return Some(Ty::Bool),
        "void" => return Some(Ty::Void),
        _ => {}
    }
    let (signed, bits) = match name.strip_prefix('u') {
        Some(rest) => (false, rest.strip_prefix("int")?),
        None => (true, name.strip_prefix("int")?),
    };
    let bits: u8 = bits.parse().ok()?;
    matches!(bits, 8 | 16 | 32 | 64).then_some(Ty::Int { bits, signed })
}

/// The type a tracepoint field declared as `c_type` (of `size` bytes) has when it is a
/// pointer, e.g. `const char *` → `int8 *`, `const char *const *` → `int8 **`,
/// `struct file *` → `void *` (scry has no layout for structures without BTF). `None`
/// when it is not a pointer.
pub fn c_pointer(c_type: &str, size: u32, space: AddrSpace) -> Option<Ty> {
    let depth = c_type.matches('*').count();
    if depth == 0 || size != 8 {
        return None;
    }
    let base = c_type[..c_type.find('*').expect("has a star")]
        .split_whitespace()
        .filter(|w| !matches!(*w, "const" | "volatile" | "__user" | "restrict"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut ty = c_scalar(&base).unwrap_or(Ty::Void);
    for _ in 0..depth {
        ty = Ty::ptr(ty, space);
    }
    Some(ty)
}

/// An integer type of C as the kernel's format files write them.
fn c_scalar(name: &str) -> Option<Ty> {
    let int = |bits, signed| Some(Ty::Int { bits, signed });
    match name {
        "char" | "signed char" | "s8" | "__s8" | "int8_t" => int(8, true),
        "unsigned char" | "u8" | "__u8" | "uint8_t" | "unsigned char __user" => int(8, false),
        "short" | "short int" | "s16" | "__s16" | "int16_t" => int(16, true),
        "unsigned short" | "unsigned short int" | "u16" | "__u16" | "uint16_t" => int(16, false),
        "int" | "signed int" | "s32" | "__s32" | "int32_t" | "pid_t" => int(32, true),
        "unsigned" | "unsigned int" | "u32" | "__u32" | "uint32_t" | "uid_t" | "gid_t"
        | "umode_t" => int(32, false),
        "long" | "long int" | "long long" | "long long int" | "s64" | "__s64" | "int64_t"
        | "loff_t" | "ssize_t" | "off_t" => int(64, true),
        "unsigned long"
        | "unsigned long int"
        | "unsigned long long"
        | "unsigned long long int"
        | "u64"
        | "__u64"
        | "uint64_t"
        | "size_t" => int(64, false),
        "bool" | "_Bool" => Some(Ty::Bool),
        _ => None,
    }
}

impl Checker<'_> {
    /// `(TYPE)e`: an integer conversion as C converts, `(bool)e` as `e != 0`, or a
    /// pointer of the probe's address space.
    pub(crate) fn cast(
        &mut self,
        to: &ast::TypeName,
        operand: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let Some(base) = scalar_type(&to.name) else {
            let (code, message, help) = if to.name.contains(' ') {
                (
                    "E0305",
                    format!("casts to `{to}` are not supported yet: scry has no structure layouts"),
                    format!(
                        "read the fields you need through a pointer of integers, e.g. `*(uint64 *)(arg0 + 8)`; {CAST_TYPES}"
                    ),
                )
            } else {
                (
                    "E0315",
                    format!("unknown type `{}` in a cast", to.name),
                    CAST_TYPES.to_string(),
                )
            };
            self.error(
                Diagnostic::error(code, to.span, message)
                    .with_label("not a type scry knows")
                    .with_help(help),
            );
            return None;
        };
        if base == Ty::Void && to.ptr == 0 {
            self.error(
                Diagnostic::error("E0315", to.span, "cannot cast to `void`")
                    .with_label("no value")
                    .with_help(CAST_TYPES),
            );
            return None;
        }
        let inner = self.expr(operand, scope)?;
        if !inner.ty.is_scalar() {
            self.error(
                Diagnostic::error(
                    "E0304",
                    inner.span,
                    format!("cannot cast {} to `{to}`", inner.ty),
                )
                .with_label(format!("this is {}", inner.ty))
                .with_help("casts convert integers, booleans and pointers"),
            );
            return None;
        }
        let mk = |kind, ty| Some(hir::Expr { kind, ty, span });
        if to.ptr > 0 {
            let mut ty = base;
            for _ in 0..to.ptr {
                ty = Ty::ptr(ty, scope.ctx.space);
            }
            // A pointer is its 64-bit address: nothing to compute.
            return mk(ExprKind::Convert(Box::new(inner)), ty);
        }
        match base {
            Ty::Bool => {
                let zero = hir::Expr {
                    kind: ExprKind::Int(0),
                    ty: Ty::I64,
                    span,
                };
                mk(
                    ExprKind::Binary(BinOp::Ne, Box::new(inner), Box::new(zero)),
                    Ty::Bool,
                )
            }
            ty => mk(ExprKind::Cast(Box::new(inner)), ty),
        }
    }

    /// `*e`.
    pub(crate) fn deref(
        &mut self,
        operand: &ast::Expr,
        span: Span,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        let p = self.expr(operand, scope)?;
        self.read_through(p, span)
    }

    /// The value `p` points to.
    fn read_through(&mut self, p: hir::Expr, span: Span) -> Option<hir::Expr> {
        let to = match &p.ty {
            Ty::Ptr { to, .. } if **to != Ty::Void => (**to).clone(),
            Ty::Ptr { .. } => {
                self.error(
                    Diagnostic::error("E0316", p.span, "cannot read through a `void *`")
                        .with_label("points to nothing scry can size")
                        .with_help(
                            "cast it to a pointer of the type stored there, e.g. `*(uint32 *)p`",
                        ),
                );
                return None;
            }
            other => {
                self.error(
                    Diagnostic::error(
                        "E0316",
                        p.span,
                        format!("only pointers can be dereferenced, but this is {other}"),
                    )
                    .with_label("not a pointer")
                    .with_help(if other.is_integral() {
                        "cast the address to a pointer first, e.g. `*(uint64 *)arg0`"
                    } else {
                        "dereference pointers, such as `args.argv` or `(uint8 *)arg0`"
                    }),
                );
                return None;
            }
        };
        Some(hir::Expr {
            kind: ExprKind::Deref(Box::new(p)),
            ty: to,
            span,
        })
    }

    /// `base[k]`: a pointer's element, or ply 1's `$m[k]` map when `$m` is no variable.
    pub(crate) fn index(
        &mut self,
        base: &ast::Expr,
        keys: &[ast::Expr],
        e: &ast::Expr,
        scope: &mut ProbeScope,
    ) -> Option<hir::Expr> {
        if let ast::ExprKind::Var(name) = &base.kind
            && scope.lookup(name).is_none()
        {
            return self.map_read(name, keys, e, scope);
        }
        let p = self.expr(base, scope);
        let [index] = keys else {
            self.error(
                Diagnostic::error("E0316", e.span, "a pointer takes one index")
                    .with_label("several indices")
                    .with_help("write `p[i]`; maps take several keys: `@m[a, b]`"),
            );
            return None;
        };
        let i = self.expr(index, scope);
        let (p, i) = (p?, i?);
        if !p.ty.is_ptr() {
            self.error(
                Diagnostic::error(
                    "E0316",
                    p.span,
                    format!("only pointers can be indexed, but this is {}", p.ty),
                )
                .with_label("not a pointer")
                .with_help(match &p.ty {
                    Ty::Str { .. } => "compare strings with `==`, `strncmp()` or `strcontains()`",
                    Ty::Tuple(_) => "take a tuple's elements with `.0`, `.1`, …",
                    t if t.is_integral() => {
                        "cast the address to a pointer first, e.g. `((uint64 *)arg0)[1]`"
                    }
                    _ => "index pointers, such as `args.argv[0]`",
                }),
            );
            return None;
        }
        let negative = match i.kind {
            ExprKind::Int(v) => v > i64::MAX as u64,
            _ => i.ty.is_signed(),
        };
        if !i.ty.is_integral() || negative {
            self.error(
                Diagnostic::error(
                    "E0316",
                    i.span,
                    format!("an index must be a non-negative integer, found {}", i.ty),
                )
                .with_label("not a valid index")
                .with_help(
                    "index with an unsigned value or a literal, e.g. `p[2]` or `p[(uint64)$i]`",
                ),
            );
            return None;
        }
        let span = e.span;
        let at = self.offset(BinOp::Add, p, i, span);
        self.read_through(at, span)
    }

    /// `p + n` or `p - n`: `n` elements past (before) `p`, as C scales it.
    fn offset(&self, op: BinOp, p: hir::Expr, n: hir::Expr, span: Span) -> hir::Expr {
        let size = match &p.ty {
            Ty::Ptr { to, .. } => to.size().max(1) as u64,
            _ => 1,
        };
        let n = match n.kind {
            ExprKind::Int(v) => hir::Expr {
                kind: ExprKind::Int(v.wrapping_mul(size)),
                ty: Ty::U64,
                span: n.span,
            },
            _ if size == 1 => n,
            _ => {
                let s = hir::Expr {
                    kind: ExprKind::Int(size),
                    ty: Ty::U64,
                    span: n.span,
                };
                hir::Expr {
                    span: n.span,
                    kind: ExprKind::Binary(BinOp::Mul, Box::new(n), Box::new(s)),
                    ty: Ty::U64,
                }
            }
        };
        let ty = p.ty.clone();
        hir::Expr {
            kind: ExprKind::Binary(op, Box::new(p), Box::new(n)),
            ty,
            span,
        }
    }

    /// A binary operator with a pointer on at least one side: `p + n`, `n + p`, `p - n`
    /// (a pointer), comparisons with pointers and integers (unsigned, true or false),
    /// `&&` and `||`. Anything else is an error, as in C and bpftrace.
    pub(crate) fn pointer_binary(
        &mut self,
        op: BinOp,
        l: hir::Expr,
        r: hir::Expr,
        span: Span,
    ) -> Option<hir::Expr> {
        let scalars = l.ty.is_scalar() && r.ty.is_scalar();
        match op {
            _ if (op.is_comparison() || matches!(op, BinOp::And | BinOp::Or)) && scalars => {
                return Some(hir::Expr {
                    kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
                    ty: Ty::Bool,
                    span,
                });
            }
            BinOp::Add if l.ty.is_ptr() && r.ty.is_integral() => {
                return Some(self.offset(op, l, r, span));
            }
            BinOp::Add if r.ty.is_ptr() && l.ty.is_integral() => {
                return Some(self.offset(op, r, l, span));
            }
            BinOp::Sub if l.ty.is_ptr() && r.ty.is_integral() => {
                return Some(self.offset(op, l, r, span));
            }
            _ => {}
        }
        self.error(
            Diagnostic::error(
                "E0304",
                span,
                format!("`{}` cannot be applied to {} and {}", op.symbol(), l.ty, r.ty),
            )
            .with_label("type mismatch")
            .with_note(l.span, format!("this is {}", l.ty))
            .with_note(r.span, format!("this is {}", r.ty))
            .with_help(
                "pointers can be compared, and moved by integers with `+` and `-`; cast to uint64 for other arithmetic",
            ),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(bits: u8, signed: bool) -> Ty {
        Ty::Int { bits, signed }
    }

    #[test]
    fn field_pointer_types() {
        let u = AddrSpace::User;
        assert_eq!(
            c_pointer("const char *", 8, u),
            Some(Ty::ptr(int(8, true), u))
        );
        assert_eq!(
            c_pointer("const char *const *", 8, u),
            Some(Ty::ptr(Ty::ptr(int(8, true), u), u))
        );
        assert_eq!(
            c_pointer("unsigned long *", 8, u),
            Some(Ty::ptr(int(64, false), u))
        );
        assert_eq!(c_pointer("struct stat *", 8, u), Some(Ty::ptr(Ty::Void, u)));
        assert_eq!(c_pointer("int", 4, u), None);
        assert_eq!(c_pointer("char[16]", 16, u), None);
    }

    #[test]
    fn cast_names() {
        assert_eq!(scalar_type("uint16"), Some(int(16, false)));
        assert_eq!(scalar_type("int64"), Some(int(64, true)));
        assert_eq!(scalar_type("int128"), None);
        assert_eq!(scalar_type("uint"), None);
        assert_eq!(scalar_type("bool"), Some(Ty::Bool));
    }
}
