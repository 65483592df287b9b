//! String equality (`==`, `!=`) as unrolled byte comparisons with C `strcmp` semantics:
//! bytes after the first NUL do not matter.

use super::ir::{Label, Mem, Op, Src};
use super::lower::{Lowerer, Val};
use crate::bpf::Cond;
use crate::sema::hir::{self, ExprKind};

/// Jumps to `target` when the strings `l` and `r` are equal (`on_equal`) or differ.
pub(super) fn branch_str_eq(
    lw: &mut Lowerer<'_>,
    l: &hir::Expr,
    r: &hir::Expr,
    on_equal: bool,
    target: super::ir::Label,
) {
    let lv = lw.value(l);
    let rv = lw.value(r);
    let (Val::Buf { at: a, len: la }, Val::Buf { at: b, len: lb }) = (lv, rv) else {
        unreachable!("sema: string comparison of strings")
    };
    let out = lw.new_label();
    let (eq, ne) = if on_equal {
        (target, out)
    } else {
        (out, target)
    };
    // A literal on either side lets us compare against immediates.
    let literal = match (&l.kind, &r.kind) {
        (_, ExprKind::Str(s)) => Some((a, la, &s[..])),
        (ExprKind::Str(s), _) => Some((b, lb, &s[..])),
        _ => None,
    };
    if let Some((buf, len, lit)) = literal {
        let n = (lit.len() as u32 + 1).min(len);
        for i in 0..n {
            let byte = lit.get(i as usize).copied().unwrap_or(0);
            let t = lw.load_byte(buf, i);
            lw.ops.push(Op::Jmp {
                cond: Cond::Ne,
                a: t,
                b: Src::Imm(byte as i32),
                target: ne,
            });
        }
        // Every compared byte matched. If the literal's NUL was compared, they are equal;
        // otherwise the buffer is full without a NUL and equal only at the same length.
        let equal = (lit.len() as u32) <= len;
        lw.ops.push(Op::Goto(if equal { eq } else { ne }));
    } else {
        compare_buffers(lw, (a, la), (b, lb), u32::MAX, eq, ne);
    }
    lw.ops.push(Op::Label(out));
}

/// Jumps to `eq` when the strings in buffers `a` and `b` are equal in their first `limit`
/// characters (C `strncmp`: the comparison stops at a NUL both share), to `ne` otherwise.
pub(super) fn compare_buffers(
    lw: &mut Lowerer<'_>,
    (a, la): (Mem, u32),
    (b, lb): (Mem, u32),
    limit: u32,
    eq: Label,
    ne: Label,
) {
    let n = la.min(lb).min(limit);
    for i in 0..n {
        let x = lw.load_byte(a, i);
        let y = lw.load_byte(b, i);
        lw.ops.push(Op::Jmp {
            cond: Cond::Ne,
            a: x,
            b: Src::V(y),
            target: ne,
        });
        lw.ops.push(Op::Jmp {
            cond: Cond::Eq,
            a: x,
            b: Src::Imm(0),
            target: eq,
        });
    }
    if n < limit && la != lb {
        // The shorter buffer ended without a NUL: equal only if the longer one ends here.
        let longer = if la > lb { a } else { b };
        let t = lw.load_byte(longer, n);
        lw.ops.push(Op::Jmp {
            cond: Cond::Eq,
            a: t,
            b: Src::Imm(0),
            target: eq,
        });
        lw.ops.push(Op::Goto(ne));
    } else {
        lw.ops.push(Op::Goto(eq));
    }
}
