//! Tuples: built in a buffer laid out by `lang::ty::tuple_layout` (padding zeroed),
//! elements read back at their offsets, converted element by element to a stored
//! layout (integers widened to 64 bits, strings padded), and compared byte for byte.

use super::ir::{Label, Mem, Op, Src};
use super::lower::{Lowerer, Val};
use crate::bpf::{Cond, Size};
use crate::lang::ty::{Ty, round_up, tuple_layout};
use crate::sema::hir;

impl Lowerer<'_> {
    /// `(a, b, …)` of type `ty`.
    pub(super) fn tuple_value(&mut self, items: &[hir::Expr], ty: &Ty) -> Val {
        let vals: Vec<Val> = items.iter().map(|i| self.value(i)).collect();
        let elems: Vec<Ty> = items.iter().map(|i| i.ty.clone()).collect();
        self.build_tuple(&vals, &elems, ty)
    }

    /// A fresh buffer of tuple type `ty` holding `vals` (of types `from`).
    fn build_tuple(&mut self, vals: &[Val], from: &[Ty], ty: &Ty) -> Val {
        let Ty::Tuple(elems) = ty else {
            unreachable!("sema: a tuple type")
        };
        let size = ty.size();
        let at = self.alloc(size);
        self.zero(at, round_up(size, 8));
        let (offsets, _) = tuple_layout(elems);
        for ((v, t), (&off, source)) in vals.iter().zip(elems).zip(offsets.iter().zip(from)) {
            self.store_element(at.at(off as i16), *v, t, source);
        }
        Val::Buf { at, len: size }
    }

    /// Stores `v` (of type `source`) as an element of type `t` at `to`.
    fn store_element(&mut self, to: Mem, v: Val, t: &Ty, source: &Ty) {
        // Elements sit at packed offsets: a string after a 17-byte one starts unaligned,
        // and the verifier refuses misaligned stack accesses.
        let align = 1u32 << (to.off as i32).trailing_zeros().min(3);
        match (v, t) {
            (Val::Int(src), Ty::Int { .. } | Ty::Bool | Ty::Ptr { .. } | Ty::Rendered(_)) => {
                let size = Size::from_bytes(t.size()).expect("1 to 8 bytes");
                self.ops.push(Op::Store {
                    size,
                    base: to.base,
                    off: to.off,
                    src,
                });
            }
            (Val::Buf { at, len }, Ty::Str { len: want }) => {
                let n = len.min(*want);
                let whole = n / 8 * 8;
                self.copy(to, at, whole, align);
                self.copy(to.at(whole as i16), at.at(whole as i16), n - whole, 1);
            }
            (Val::Buf { at, len }, Ty::Rendered(_)) => self.copy(to, at, len, align),
            (Val::Buf { at, len }, Ty::Buf { .. }) => {
                let n = len.min(t.size());
                self.copy(to, at, n, align);
                self.zero(to.at(n as i16), t.size() - n);
            }
            (Val::Buf { .. }, Ty::Tuple(_)) if source == t => {
                let Val::Buf { at, len } = v else {
                    unreachable!()
                };
                self.copy(to, at, len, 1);
            }
            (Val::Buf { at, .. }, Ty::Tuple(_)) => {
                let Val::Buf { at: conv, len } = self.convert_tuple_at(at, source, t) else {
                    unreachable!("a tuple")
                };
                self.copy(to, conv, len, 1);
            }
            _ => unreachable!("sema: element types match"),
        }
    }

    /// Element `index` of the tuple `v` of type `ty`.
    pub(super) fn element(&mut self, v: Val, ty: &Ty, index: usize) -> Val {
        let (Val::Buf { at, .. }, Ty::Tuple(elems)) = (v, ty) else {
            unreachable!("sema: an element of a tuple")
        };
        let (offsets, _) = tuple_layout(elems);
        let el = at.at(offsets[index] as i16);
        match &elems[index] {
            t if !t.in_memory() => {
                let r = self.new_vreg();
                let size = Size::from_bytes(t.size()).expect("1 to 8 bytes");
                self.ops.push(Op::Load {
                    size,
                    dst: r,
                    base: el.base,
                    off: el.off,
                });
                self.extend(r, t);
                Val::Int(Src::V(r))
            }
            t => Val::Buf {
                at: el,
                len: t.size(),
            },
        }
    }

    /// The tuple at `at` (of type `from`) in the layout of type `to`.
    pub(super) fn convert_tuple_at(&mut self, at: Mem, from: &Ty, to: &Ty) -> Val {
        let Ty::Tuple(elems) = from else {
            unreachable!("sema: a tuple")
        };
        let src = Val::Buf {
            at,
            len: from.size(),
        };
        let vals: Vec<Val> = (0..elems.len())
            .map(|i| self.element(src, from, i))
            .collect();
        self.build_tuple(&vals, elems, to)
    }

    /// Jumps to `target` when tuples `l` and `r` (of one type) are equal (`on_equal`)
    /// or differ: their bytes, padding zeroed, are compared word by word.
    pub(super) fn branch_tuple_eq(
        &mut self,
        l: &hir::Expr,
        r: &hir::Expr,
        on_equal: bool,
        target: Label,
    ) {
        let (Val::Buf { at: a, len }, Val::Buf { at: b, .. }) = (self.value(l), self.value(r))
        else {
            unreachable!("sema: tuples")
        };
        let out = self.new_label();
        let (eq, ne) = if on_equal {
            (target, out)
        } else {
            (out, target)
        };
        let mut done = 0;
        for (w, size) in [(8, Size::DW), (4, Size::W), (2, Size::H), (1, Size::B)] {
            while done + w <= len {
                let x = self.new_vreg();
                let y = self.new_vreg();
                for (reg, m) in [(x, a), (y, b)] {
                    self.ops.push(Op::Load {
                        size,
                        dst: reg,
                        base: m.base,
                        off: m.at(done as i16).off,
                    });
                }
                self.ops.push(Op::Jmp {
                    cond: Cond::Ne,
                    a: x,
                    b: Src::V(y),
                    target: ne,
                });
                done += w;
            }
        }
        self.ops.push(Op::Goto(eq));
        self.ops.push(Op::Label(out));
    }
}
