//! Dispatcher programs: scry's own programs that tail-call a probe's program from a
//! program array (`probe::TailTable`). Today: the `raw_syscalls` dispatchers.

use super::ir::{self, Arg, Base, Label, Mem, Op, Src, VReg};
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond, Size};
use crate::probe::Dispatch;
use crate::probe::arch::x86_64 as arch;

/// The dispatcher's operations; `table` is the program array's index in the module.
pub fn ops(dispatch: Dispatch, table: usize) -> Vec<Op> {
    match dispatch {
        Dispatch::Syscall { enter } => syscall(table, enter),
    }
}

/// The dispatcher on `raw_syscalls:sys_enter`/`sys_exit`: tail-calls slot `nr` of the
/// program array `table` (an empty slot falls through to `return 0`). 32-bit compat
/// syscalls (code segment `__USER32_CS`) are skipped, as the `syscalls:` tracepoints skip
/// them on x86-64: their numbers belong to another table.
fn syscall(table: usize, enter: bool) -> Vec<ir::Op> {
    // `struct pt_regs`: `orig_ax`, then `ip`, then `cs`.
    const ORIG_AX: i32 = arch::ORIG_AX as i32;
    const USER32_CS: i32 = arch::USER32_CS as i32;
    let (ctx, regs, cs, nr) = (VReg(1), VReg(2), VReg(3), VReg(4));
    let out = Label(1);
    vec![
        Op::Ctx { dst: ctx },
        // regs = ctx->args[0]; read orig_ax, ip, cs in one go.
        Op::Load {
            size: Size::DW,
            dst: regs,
            base: Base::V(ctx),
            off: 0,
        },
        Op::Alu {
            op: Alu::Add,
            dst: regs,
            src: Src::Imm(ORIG_AX),
            signed: false,
        },
        Op::Call {
            helper: helper::PROBE_READ_KERNEL,
            args: vec![Arg::Addr(Mem::stack(-24)), Arg::Imm(24), Arg::V(regs)],
            ret: None,
        },
        Op::Load {
            size: Size::H,
            dst: cs,
            base: Base::Stack,
            off: -8,
        },
        Op::Jmp {
            cond: Cond::Eq,
            a: cs,
            b: Src::Imm(USER32_CS),
            target: out,
        },
        // The number: ctx->args[1] on entry; on exit that is the return value, so orig_ax.
        if enter {
            Op::Load {
                size: Size::DW,
                dst: nr,
                base: Base::V(ctx),
                off: 8,
            }
        } else {
            Op::Load {
                size: Size::DW,
                dst: nr,
                base: Base::Stack,
                off: -24,
            }
        },
        Op::Call {
            helper: helper::TAIL_CALL,
            args: vec![Arg::V(ctx), Arg::Map(table), Arg::V(nr)],
            ret: None,
        },
        Op::Label(out),
        Op::Return(Src::Imm(0)),
    ]
}
