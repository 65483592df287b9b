//! Strings read from memory: `str(ptr[, limit])` with the user or kernel helper, into a
//! zeroed buffer (bytes after the NUL stay zero, so equal strings make equal map keys).

use super::ir::{Arg, Label, Op, Src};
use super::lower::{Lowerer, Val};
use crate::bpf::Cond;
use crate::bpf::insn::helper;
use crate::lang::ty::round_up;
use crate::probe::AddrSpace;
use crate::sema::hir;

impl Lowerer<'_> {
    /// `str(ptr[, limit])` into a new buffer of `len` bytes.
    pub(super) fn read_str(
        &mut self,
        ptr: &hir::Expr,
        limit: Option<&hir::Expr>,
        space: AddrSpace,
        len: u32,
    ) -> Val {
        let p = self.int(ptr);
        // The size argument: `len`, or the run-time limit clamped to 0..=len (the
        // verifier needs the bound; a limit of 0 reads nothing).
        let size = match limit {
            None => Arg::Imm(len as i64),
            Some(l) => {
                let n = self.int(l);
                let v = self.fresh_copy(n);
                let ok: Label = self.new_label();
                self.ops.push(Op::Jmp {
                    cond: Cond::Le,
                    a: v,
                    b: Src::Imm(len as i32),
                    target: ok,
                });
                self.ops.push(Op::Mov {
                    dst: v,
                    src: Src::Imm(len as i32),
                });
                self.ops.push(Op::Label(ok));
                Arg::V(v)
            }
        };
        let buf = self.alloc(len);
        self.zero(buf, round_up(len, 8));
        let helper = match space {
            AddrSpace::User => helper::PROBE_READ_USER_STR,
            AddrSpace::Kernel => helper::PROBE_READ_KERNEL_STR,
        };
        let ptr = match p {
            Src::V(v) => Arg::V(v),
            Src::Imm(i) => Arg::Imm(i as i64),
        };
        self.ops.push(Op::Call {
            helper,
            args: vec![Arg::Addr(buf), size, ptr],
            ret: None,
        });
        Val::Buf { at: buf, len }
    }
}
