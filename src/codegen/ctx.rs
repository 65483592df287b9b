//! Reads of the probe context: every [`Access`] a provider describes is lowered here,
//! and only here.

use super::ir::{Arg, Base, Mem, Op, Src, VReg};
use super::lower::{Lowerer, Val};
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Size};
use crate::lang::ty::{Ty, round_up};
use crate::probe::Access;
use crate::probe::usdt::{UsdtArg, UsdtLoc};

impl Lowerer<'_> {
    /// The register holding the context pointer (saved from R1 at entry).
    pub(super) fn ctx_reg(&mut self) -> VReg {
        match self.ctx {
            Some(v) => v,
            None => {
                let v = self.new_vreg();
                self.ctx = Some(v);
                v
            }
        }
    }

    /// The value of type `ty` that `access` describes.
    pub(super) fn ctx_read(&mut self, access: Access, ty: &Ty) -> Val {
        let ctx = self.ctx_reg();
        match (access, ty) {
            (Access::Zero, _) => Val::Int(Src::Imm(0)),
            (Access::Ctx { off, size }, Ty::Str { len }) => {
                let buf = self.alloc(*len);
                let align = 1 << off.trailing_zeros().min(3);
                let n = size.min(*len);
                let from = Mem {
                    base: Base::V(ctx),
                    off: off as i16,
                };
                self.copy(buf, from, n, align);
                self.zero(buf.at(n as i16), round_up(*len, 8) - n);
                Val::Buf { at: buf, len: *len }
            }
            (Access::Ctx { off, size }, _) => {
                let v = self.new_vreg();
                let size = Size::from_bytes(size).expect("providers describe 1/2/4/8-byte loads");
                self.ops.push(Op::Load {
                    size,
                    dst: v,
                    base: Base::V(ctx),
                    off: off as i16,
                });
                self.extend(v, ty);
                Val::Int(Src::V(v))
            }
            (Access::DataLoc { off }, ty) => {
                let Ty::Str { len } = *ty else {
                    unreachable!("sema: __data_loc fields are strings")
                };
                // The locator: (length << 16) | offset from the record's start.
                let loc = self.new_vreg();
                self.ops.push(Op::Load {
                    size: Size::W,
                    dst: loc,
                    base: Base::V(ctx),
                    off: off as i16,
                });
                let n = self.fresh_copy(Src::V(loc));
                self.ops.push(Op::Alu {
                    op: Alu::Rsh,
                    dst: n,
                    src: Src::Imm(16),
                    signed: false,
                });
                self.clamp(n, len);
                self.ops.push(Op::Alu {
                    op: Alu::And,
                    dst: loc,
                    src: Src::Imm(0xffff),
                    signed: false,
                });
                // The record is kernel memory; its address is the context's.
                let addr = self.fresh_copy(Src::V(ctx));
                self.ops.push(Op::Alu {
                    op: Alu::Add,
                    dst: addr,
                    src: Src::V(loc),
                    signed: false,
                });
                let buf = self.alloc(len);
                self.zero(buf, round_up(len, 8));
                self.ops.push(Op::Call {
                    helper: helper::PROBE_READ_KERNEL_STR,
                    args: vec![Arg::Addr(buf), Arg::V(n), Arg::V(addr)],
                    ret: None,
                });
                Val::Buf { at: buf, len }
            }
            (Access::Usdt(arg), _) => self.usdt_arg(ctx, arg),
            (Access::CtxPtr { ptr, off, size }, _) => {
                // A kernel pointer in the context: read through a helper.
                let addr = self.new_vreg();
                self.ops.push(Op::Load {
                    size: Size::DW,
                    dst: addr,
                    base: Base::V(ctx),
                    off: ptr as i16,
                });
                self.ops.push(Op::Alu {
                    op: Alu::Add,
                    dst: addr,
                    src: Src::Imm(off as i32),
                    signed: false,
                });
                let len = match ty {
                    Ty::Str { len } => *len,
                    _ => 8,
                };
                let buf = self.alloc(len);
                let n = size.min(len);
                if let Ty::Str { .. } = ty {
                    self.zero(buf, round_up(len, 8));
                }
                self.ops.push(Op::Call {
                    helper: helper::PROBE_READ_KERNEL,
                    args: vec![Arg::Addr(buf), Arg::Imm(n as i64), Arg::V(addr)],
                    ret: None,
                });
                if let Ty::Str { .. } = ty {
                    return Val::Buf { at: buf, len };
                }
                let v = self.new_vreg();
                self.ops.push(Op::Load {
                    size: Size::DW,
                    dst: v,
                    base: buf.base,
                    off: buf.off,
                });
                self.extend(v, ty);
                Val::Int(Src::V(v))
            }
        }
    }

    /// A USDT argument: a constant, a register's low bytes, or user memory at an address
    /// computed from registers (read with `bpf_probe_read_user`, failures counted at
    /// the expression), sign- or zero-extended from its size to 64 bits.
    fn usdt_arg(&mut self, ctx: VReg, arg: UsdtArg) -> Val {
        let bits = 8 * arg.size as i32;
        let narrow = |v: i64| match (arg.signed, bits) {
            (_, 64) => v,
            (true, b) => (v << (64 - b)) >> (64 - b),
            (false, b) => v & ((1i64 << b) - 1),
        };
        let load = |me: &mut Self, off: u32| {
            let v = me.new_vreg();
            me.ops.push(Op::Load {
                size: Size::DW,
                dst: v,
                base: Base::V(ctx),
                off: off as i16,
            });
            v
        };
        let v = match arg.loc {
            UsdtLoc::Const(c) => return Val::Int(self.constant(narrow(c) as u64)),
            UsdtLoc::Reg { off, shift } => {
                let v = load(self, off);
                if shift > 0 {
                    self.ops.push(Op::Alu {
                        op: Alu::Rsh,
                        dst: v,
                        src: Src::Imm(shift as i32),
                        signed: false,
                    });
                }
                v
            }
            UsdtLoc::Mem { base, index, disp } => {
                let addr = match base {
                    Some(off) => load(self, off),
                    None => self.fresh_copy(Src::Imm(0)),
                };
                if let Some((off, scale)) = index {
                    let i = load(self, off);
                    self.ops.push(Op::Alu {
                        op: Alu::Lsh,
                        dst: i,
                        src: Src::Imm(scale.trailing_zeros() as i32),
                        signed: false,
                    });
                    self.ops.push(Op::Alu {
                        op: Alu::Add,
                        dst: addr,
                        src: Src::V(i),
                        signed: false,
                    });
                }
                let disp = self.constant(disp as u64);
                self.ops.push(Op::Alu {
                    op: Alu::Add,
                    dst: addr,
                    src: disp,
                    signed: false,
                });
                let buf = self.alloc(8);
                let r = self.call(
                    helper::PROBE_READ_USER,
                    vec![Arg::Addr(buf), Arg::Imm(arg.size as i64), Arg::V(addr)],
                );
                self.count_failed_read(r);
                let v = self.new_vreg();
                self.ops.push(Op::Load {
                    size: Size::from_bytes(arg.size as u32).expect("sizes 1, 2, 4, 8"),
                    dst: v,
                    base: buf.base,
                    off: buf.off,
                });
                v
            }
            UsdtLoc::Unreadable => unreachable!("sema: unreadable USDT arguments are E0213"),
        };
        if bits < 64 {
            // Keep the low `bits`, sign- or zero-extended.
            self.ops.push(Op::Alu {
                op: Alu::Lsh,
                dst: v,
                src: Src::Imm(64 - bits),
                signed: false,
            });
            self.ops.push(Op::Alu {
                op: if arg.signed { Alu::Arsh } else { Alu::Rsh },
                dst: v,
                src: Src::Imm(64 - bits),
                signed: false,
            });
        }
        Val::Int(Src::V(v))
    }

    /// Sign-extends `v` from the width of a signed integer type narrower than 64 bits.
    pub(super) fn extend(&mut self, v: VReg, ty: &Ty) {
        if let Ty::Int { bits, signed: true } = *ty
            && bits < 64
        {
            let shift = 64 - bits as i32;
            for op in [Alu::Lsh, Alu::Arsh] {
                self.ops.push(Op::Alu {
                    op,
                    dst: v,
                    src: Src::Imm(shift),
                    signed: false,
                });
            }
        }
    }
}
