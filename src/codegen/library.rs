//! Lowering of the library's calls (`hir::LibCall`): `bswap` as the byte-swap
//! instruction, the 24-byte `ntop()` and 8-byte `macaddr()` values built in a buffer,
//! `pton()`'s constant bytes, `cgroup`'s helper call. Values rendered in userspace
//! that are integers (`strerror`, `username`, `cgroup_path`, `strftime`) are their
//! operand unchanged: only their type differs.

use super::ir::{Mem, Op, Src};
use super::lower::{Lowerer, Val};
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Size};
use crate::lang::ty::{Ty, round_up};
use crate::sema::hir::LibCall;

impl Lowerer<'_> {
    /// The value of `call`, of type `ty`.
    pub(super) fn library(&mut self, call: &LibCall, ty: &Ty) -> Val {
        match call {
            LibCall::Bswap(x) => {
                let Ty::Int { bits, .. } = *ty else {
                    unreachable!("sema: bswap() is an integer")
                };
                let v = self.int(x);
                if bits == 8 {
                    return Val::Int(self.narrow(v, 8, false));
                }
                // `BPF_ALU64 | BPF_END` swaps the low `bits` bits and zeroes the rest.
                let t = self.fresh_copy(v);
                self.ops.push(Op::Alu {
                    op: Alu::End,
                    dst: t,
                    src: Src::Imm(bits as i32),
                    signed: false,
                });
                Val::Int(Src::V(t))
            }
            LibCall::Inet { af, addr } => {
                // Operands first: they may need buffers of their own.
                let family = self.int(af);
                let a = self.value(addr);
                let at = self.alloc(ty.size());
                self.store_word(at, Size::DW, family);
                self.zero(at.at(8), 16);
                match a {
                    Val::Int(src) => self.store_word(at.at(8), Size::W, src),
                    Val::Buf { .. } => self.copy_bytes(at.at(8), a, &addr.ty, 16),
                }
                Val::Buf { at, len: ty.size() }
            }
            LibCall::MacAddr(bytes) => {
                let v = self.value(bytes);
                let at = self.alloc(ty.size());
                self.zero(at, ty.size());
                self.copy_bytes(at, v, &bytes.ty, 6);
                Val::Buf { at, len: ty.size() }
            }
            LibCall::Bytes(bytes) => {
                let len = ty.size();
                let at = self.alloc(len);
                self.store_word(at, Size::DW, Src::Imm(bytes.len() as i32));
                let mut padded = bytes.clone();
                padded.resize(round_up(bytes.len() as u32, 8) as usize, 0);
                for (i, w) in padded.chunks(4).enumerate() {
                    let word = i32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                    self.store_word(at.at(8 + 4 * i as i16), Size::W, Src::Imm(word));
                }
                Val::Buf { at, len }
            }
            LibCall::Tagged(x) => Val::Int(self.int(x)),
            LibCall::CgroupId => Val::Int(Src::V(self.call(helper::GET_CURRENT_CGROUP_ID, vec![]))),
            LibCall::Stack { user, depth, task } => self.stack(*user, *depth, *task, ty.size()),
            LibCall::Usym { addr, task } => self.usym(addr, *task),
            LibCall::Caller { user, task } => self.caller(*user, *task),
        }
    }

    /// `*(size *)at = src`.
    pub(super) fn store_word(&mut self, at: Mem, size: Size, src: Src) {
        self.ops.push(Op::Store {
            size,
            base: at.base,
            off: at.off,
            src,
        });
    }

    /// Copies at most `max` bytes of the byte array `v` (of type `ty`: a buffer, whose
    /// bytes follow its count, or an array read as a string-typed buffer) to `to`.
    fn copy_bytes(&mut self, to: Mem, v: Val, ty: &Ty, max: u32) {
        let Val::Buf { at, .. } = v else {
            unreachable!("sema: a byte array")
        };
        let (from, len) = match *ty {
            Ty::Buf { len } => (at.at(8), len),
            Ty::Str { len } => (at, len),
            _ => unreachable!("sema: a byte array"),
        };
        self.copy(to, from, len.min(max), 8);
    }
}
