//! Reads through pointers with the user or kernel helper: `str(ptr[, limit])` into a
//! zeroed buffer (bytes after the NUL stay zero, so equal strings make equal map keys),
//! `buf(ptr, n)`, and `*p` of integers and pointers.

use super::ir::{Arg, Label, Mem, Op, Src, VReg};
use super::lower::{Lowerer, Val};
use crate::bpf::Size;
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond};
use crate::lang::ty::{Ty, round_up};
use crate::probe::AddrSpace;
use crate::sema::hir;

/// The helper that reads memory of `space`: the string reader when `string`.
pub(super) fn read_helper(space: AddrSpace, string: bool) -> u32 {
    match (space, string) {
        (AddrSpace::User, true) => helper::PROBE_READ_USER_STR,
        (AddrSpace::Kernel, true) => helper::PROBE_READ_KERNEL_STR,
        (AddrSpace::User, false) => helper::PROBE_READ_USER,
        (AddrSpace::Kernel, false) => helper::PROBE_READ_KERNEL,
    }
}

impl Lowerer<'_> {
    /// `*p`: the value of type `ty` (an integer, bool or pointer) at pointer `p`, read
    /// with the helper of the pointer's address space; 0 when the read fails (the
    /// helpers zero their destination then).
    pub(super) fn deref(&mut self, p: &hir::Expr, ty: &Ty) -> Val {
        let Ty::Ptr { space, .. } = p.ty else {
            unreachable!("sema: only pointers are dereferenced")
        };
        let addr = self.int(p);
        let size = ty.size();
        let width = Size::from_bytes(size).expect("sema: pointees of 1, 2, 4 or 8 bytes");
        let buf = self.alloc(8);
        let addr = match addr {
            Src::V(v) => Arg::V(v),
            Src::Imm(i) => Arg::Imm(i as i64),
        };
        let r = self.call(
            read_helper(space, false),
            vec![Arg::Addr(buf), Arg::Imm(size as i64), addr],
        );
        self.count_failed_read(r);
        let v = self.new_vreg();
        self.ops.push(Op::Load {
            size: width,
            dst: v,
            base: buf.base,
            off: buf.off,
        });
        self.extend(v, ty);
        Val::Int(Src::V(v))
    }

    /// `str(ptr[, limit])` into a new buffer of `len` bytes.
    pub(super) fn read_str(
        &mut self,
        ptr: &hir::Expr,
        limit: Option<&hir::Expr>,
        space: AddrSpace,
        len: u32,
        at_max: bool,
    ) -> Val {
        let p = self.int(ptr);
        // The size argument: `len`, or the run-time limit clamped to 0..=len (the
        // verifier needs the bound; a limit of 0 reads nothing).
        let size = match limit {
            None => Arg::Imm(len as i64),
            Some(l) => {
                let n = self.int(l);
                let v = self.fresh_copy(n);
                self.clamp(v, len);
                Arg::V(v)
            }
        };
        let buf = self.alloc(len);
        self.zero(buf, round_up(len, 8));
        let helper = read_helper(space, true);
        let ptr = match p {
            Src::V(v) => Arg::V(v),
            Src::Imm(i) => Arg::Imm(i as i64),
        };
        let copied = self.call(helper, vec![Arg::Addr(buf), size, ptr]);
        self.count_failed_read(copied);
        if !at_max || len < 2 {
            return Val::Buf { at: buf, len };
        }
        self.mark_truncation(buf, len, p, space, copied);
        Val::Buf { at: buf, len }
    }

    /// After `str()` filled its whole buffer of `len` bytes (`copied`, NUL included, is
    /// `len`), reads the source's byte that the NUL replaced: when it is not a NUL the
    /// string was cut at `max_strlen`, and the buffer's last byte becomes 0xff, so the
    /// buffer holds no NUL. The output prints such a string with bpftrace's `..` trailer;
    /// a string that fits exactly keeps its NUL and prints without one.
    fn mark_truncation(&mut self, buf: Mem, len: u32, p: Src, space: AddrSpace, copied: VReg) {
        let done = self.new_label();
        self.ops.push(Op::Jmp {
            cond: Cond::Ne,
            a: copied,
            b: Src::Imm(len as i32),
            target: done,
        });
        let next = self.fresh_copy(p);
        self.ops.push(Op::Alu {
            op: Alu::Add,
            dst: next,
            src: Src::Imm(len as i32 - 1),
            signed: false,
        });
        let last = buf.at(len as i16 - 1);
        let helper = read_helper(space, false);
        self.ops.push(Op::Call {
            helper,
            args: vec![Arg::Addr(last), Arg::Imm(1), Arg::V(next)],
            ret: None,
        });
        let byte = self.new_vreg();
        self.ops.push(Op::Load {
            size: Size::B,
            dst: byte,
            base: last.base,
            off: last.off,
        });
        self.ops.push(Op::Jmp {
            cond: Cond::Eq,
            a: byte,
            b: Src::Imm(0),
            target: done,
        });
        self.ops.push(Op::Store {
            size: Size::B,
            base: last.base,
            off: last.off,
            src: Src::Imm(0xff),
        });
        self.ops.push(Op::Label(done));
    }
}

impl Lowerer<'_> {
    /// `buf(ptr, n)` into a new buffer of capacity `cap`: the byte count (`n` clamped to
    /// `cap`) as 64 bits, then the bytes, zero-padded.
    pub(super) fn read_buf(
        &mut self,
        ptr: &hir::Expr,
        n: &hir::Expr,
        space: AddrSpace,
        cap: u32,
    ) -> Val {
        let p = self.int(ptr);
        let n = self.int(n);
        let size = match n {
            Src::Imm(i) => Src::Imm((i as i64).clamp(0, cap as i64) as i32),
            Src::V(v) => {
                let v = self.fresh_copy(Src::V(v));
                self.clamp(v, cap);
                Src::V(v)
            }
        };
        let total = 8 + round_up(cap, 8);
        let buf = self.alloc(total);
        self.zero(buf, total);
        self.ops.push(Op::Store {
            size: Size::DW,
            base: buf.base,
            off: buf.off,
            src: size,
        });
        let helper = read_helper(space, false);
        let arg = |s: Src| match s {
            Src::V(v) => Arg::V(v),
            Src::Imm(i) => Arg::Imm(i as i64),
        };
        let r = self.call(helper, vec![Arg::Addr(buf.at(8)), arg(size), arg(p)]);
        self.count_failed_read(r);
        Val::Buf {
            at: buf,
            len: total,
        }
    }

    /// A string's whole buffer as a `buf()`: its size, then its bytes.
    pub(super) fn string_as_buf(&mut self, s: &hir::Expr, cap: u32) -> Val {
        let total = 8 + round_up(cap, 8);
        let buf = self.alloc(total);
        let count = self.constant(cap as u64);
        self.ops.push(Op::Store {
            size: Size::DW,
            base: buf.base,
            off: buf.off,
            src: count,
        });
        self.string_into(s, buf.at(8), total - 8);
        Val::Buf {
            at: buf,
            len: total,
        }
    }

    /// `v = min(v, max)` (unsigned): a size the verifier can bound.
    pub(super) fn clamp(&mut self, v: super::ir::VReg, max: u32) {
        let ok: Label = self.new_label();
        self.ops.push(Op::Jmp {
            cond: Cond::Le,
            a: v,
            b: Src::Imm(max as i32),
            target: ok,
        });
        self.ops.push(Op::Mov {
            dst: v,
            src: Src::Imm(max as i32),
        });
        self.ops.push(Op::Label(ok));
    }

    /// `strlen(s)`: the index of the first NUL (the buffer's length without one).
    pub(super) fn str_len(&mut self, s: &hir::Expr) -> Val {
        let Val::Buf { at, len } = self.value(s) else {
            unreachable!("sema: strlen of a string")
        };
        let res = self.new_vreg();
        let done = self.new_label();
        for i in 0..len {
            self.ops.push(Op::Mov {
                dst: res,
                src: Src::Imm(i as i32),
            });
            let t = self.load_byte(at, i);
            self.ops.push(Op::Jmp {
                cond: Cond::Eq,
                a: t,
                b: Src::Imm(0),
                target: done,
            });
        }
        self.ops.push(Op::Mov {
            dst: res,
            src: Src::Imm(len as i32),
        });
        self.ops.push(Op::Label(done));
        Val::Int(Src::V(res))
    }

    /// `strncmp(a, b, n)`: 0 when the first `n` characters are equal, else 1 (C
    /// semantics: the comparison stops at a NUL both share).
    pub(super) fn str_ncmp(&mut self, a: &hir::Expr, b: &hir::Expr, n: u32) -> Val {
        let (Val::Buf { at: x, len: lx }, Val::Buf { at: y, len: ly }) =
            (self.value(a), self.value(b))
        else {
            unreachable!("sema: strncmp of strings")
        };
        let res = self.new_vreg();
        self.ops.push(Op::Mov {
            dst: res,
            src: Src::Imm(1),
        });
        let (eq, ne) = (self.new_label(), self.new_label());
        super::strcmp::compare_buffers(self, (x, lx), (y, ly), n, eq, ne);
        self.ops.push(Op::Label(eq));
        self.ops.push(Op::Mov {
            dst: res,
            src: Src::Imm(0),
        });
        self.ops.push(Op::Label(ne));
        Val::Int(Src::V(res))
    }

    /// `strcontains(h, n)` with a run-time needle: `bpf_strnstr(h, n, len(h)) >= 0`.
    /// The kfunc returns an `int`: only its low 32 bits are defined.
    pub(super) fn str_contains_runtime(&mut self, h: &hir::Expr, n: &hir::Expr, kfunc: u32) -> Val {
        let (Val::Buf { at: hay, len }, Val::Buf { at: needle, .. }) =
            (self.value(h), self.value(n))
        else {
            unreachable!("sema: strcontains of strings")
        };
        let found = self.new_vreg();
        self.ops.push(Op::CallKernel {
            btf_id: kfunc,
            args: vec![Arg::Addr(hay), Arg::Addr(needle), Arg::Imm(len as i64)],
            ret: Some(found),
        });
        self.extend(
            found,
            &Ty::Int {
                bits: 32,
                signed: true,
            },
        );
        let res = self.new_vreg();
        self.ops.push(Op::Mov {
            dst: res,
            src: Src::Imm(0),
        });
        let done = self.new_label();
        self.ops.push(Op::Jmp {
            cond: Cond::Slt,
            a: found,
            b: Src::Imm(0),
            target: done,
        });
        self.ops.push(Op::Mov {
            dst: res,
            src: Src::Imm(1),
        });
        self.ops.push(Op::Label(done));
        Val::Int(Src::V(res))
    }

    /// `strcontains(haystack, "needle")`: 1 when the needle occurs before the
    /// haystack's NUL.
    pub(super) fn str_contains(&mut self, h: &hir::Expr, needle: &[u8]) -> Val {
        let Val::Buf { at, len } = self.value(h) else {
            unreachable!("sema: strcontains of a string")
        };
        let res = self.new_vreg();
        self.ops.push(Op::Mov {
            dst: res,
            src: Src::Imm(1),
        });
        let (found, missing) = (self.new_label(), self.new_label());
        let m = needle.len() as u32;
        if m > 0 {
            for start in 0..len.saturating_sub(m).saturating_add(1).min(len) {
                let next = self.new_label();
                // The haystack ends here: no later start can match.
                let first = self.load_byte(at, start);
                self.ops.push(Op::Jmp {
                    cond: Cond::Eq,
                    a: first,
                    b: Src::Imm(0),
                    target: missing,
                });
                for (j, &byte) in needle.iter().enumerate() {
                    let t = if j == 0 {
                        first
                    } else {
                        self.load_byte(at, start + j as u32)
                    };
                    self.ops.push(Op::Jmp {
                        cond: Cond::Ne,
                        a: t,
                        b: Src::Imm(byte as i32),
                        target: next,
                    });
                }
                self.ops.push(Op::Goto(found));
                self.ops.push(Op::Label(next));
            }
            self.ops.push(Op::Label(missing));
            self.ops.push(Op::Mov {
                dst: res,
                src: Src::Imm(0),
            });
        }
        self.ops.push(Op::Label(found));
        Val::Int(Src::V(res))
    }

    /// The byte at `at + i`, zero-extended.
    pub(super) fn load_byte(&mut self, at: super::ir::Mem, i: u32) -> super::ir::VReg {
        let t = self.new_vreg();
        self.ops.push(Op::Load {
            size: crate::bpf::Size::B,
            dst: t,
            base: at.base,
            off: at.at(i as i16).off,
        });
        t
    }
}
