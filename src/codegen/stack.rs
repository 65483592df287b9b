//! Lowering of `kstack`/`ustack` (`hir::LibCall::Stack`): the frames' addresses from
//! `bpf_get_stack` in a buffer laid out as `lang::render::Rendered::Stack` says; a user
//! stack starts with its process's pid and start time (the group leader's
//! `start_boottime`, read through the offsets sema found in vmlinux BTF). The stack is
//! the key itself, so two stacks never share an id. A failed `bpf_get_stack` (it leaves
//! the frames zeroed: an empty stack) is counted at the expression, as failed reads are.

use super::ir::{Arg, Base, Mem, Op, Src};
use super::lower::{Lowerer, Val};
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond, Size};
use crate::lang::render::USER_STACK_HEADER;
use crate::sema::hir::{self, Builtin, TaskOffsets};

/// `BPF_F_USER_STACK`: `bpf_get_stack` walks the user stack.
const BPF_F_USER_STACK: i64 = 1 << 8;

impl Lowerer<'_> {
    /// The stack value of `size` bytes (`depth` frames, after the process for a user stack).
    pub(super) fn stack(
        &mut self,
        user: bool,
        depth: u32,
        task: Option<TaskOffsets>,
        size: u32,
    ) -> Val {
        let at = self.alloc(size);
        let frames = if user {
            self.process_header(at, task);
            self.report_process(at);
            at.at(USER_STACK_HEADER as i16)
        } else {
            at
        };
        let ctx = self.ctx_reg();
        let flags = if user { BPF_F_USER_STACK } else { 0 };
        let r = self.call(
            helper::GET_STACK,
            vec![
                Arg::V(ctx),
                Arg::Addr(frames),
                Arg::Imm(8 * depth as i64),
                Arg::Imm(flags),
            ],
        );
        self.count_failed_read(r);
        Val::Buf { at, len: size }
    }

    /// `usym(addr)`: the current process's header, then the address (24 bytes).
    pub(super) fn usym(&mut self, addr: &hir::Expr, task: Option<TaskOffsets>) -> Val {
        let a = self.int(addr);
        let at = self.alloc(8 + USER_STACK_HEADER);
        self.put(at.at(USER_STACK_HEADER as i16), Size::DW, a);
        self.process_header(at, task);
        self.report_process(at);
        Val::Buf {
            at,
            len: 8 + USER_STACK_HEADER,
        }
    }

    /// `caller`: frame 1 of the stack, an integer (kernel) or after the process's
    /// header (user); 0 when the stack has no second frame.
    pub(super) fn caller(&mut self, user: bool, task: Option<TaskOffsets>) -> Val {
        let header = if user { USER_STACK_HEADER } else { 0 };
        let at = self.alloc(header + 16);
        let frames = at.at(header as i16);
        if user {
            self.process_header(at, task);
            self.report_process(at);
        }
        let ctx = self.ctx_reg();
        let flags = if user { BPF_F_USER_STACK } else { 0 };
        let r = self.call(
            helper::GET_STACK,
            vec![
                Arg::V(ctx),
                Arg::Addr(frames),
                Arg::Imm(16),
                Arg::Imm(flags),
            ],
        );
        self.count_failed_read(r);
        let second = self.load_u64(frames.at(8));
        if !user {
            return Val::Int(Src::V(second));
        }
        self.put(frames, Size::DW, Src::V(second));
        Val::Buf {
            at,
            len: 8 + USER_STACK_HEADER,
        }
    }

    /// Writes the current process's pid (u32), its `execve` count (u32) and its start
    /// time (u64) at `at`; the last two are 0 when the kernel's BTF did not say where
    /// they are, or a read failed (a failed read zeroes its destination).
    fn process_header(&mut self, at: Mem, task: Option<TaskOffsets>) {
        let Val::Int(pid) = self.builtin(Builtin::Pid) else {
            unreachable!("pid is an integer")
        };
        self.put(at, Size::W, pid);
        let Some(off) = task else {
            self.put(at.at(4), Size::W, Src::Imm(0));
            self.put(at.at(8), Size::DW, Src::Imm(0));
            return;
        };
        // leader = current->group_leader, then its exec count and start time.
        let current = self.call(helper::GET_CURRENT_TASK, vec![]);
        self.read_kernel(at.at(8), 8, current, off.group_leader);
        let leader = self.load_u64(at.at(8));
        self.read_kernel(at.at(4), 4, leader, off.self_exec_id);
        self.read_kernel(at.at(8), 8, leader, off.start_boottime);
    }

    /// `bpf_probe_read_kernel(to, size, base + off)`.
    fn read_kernel(&mut self, to: Mem, size: i64, base: super::ir::VReg, off: u32) {
        let from = self.fresh_copy(Src::V(base));
        self.ops.push(Op::Alu {
            op: Alu::Add,
            dst: from,
            src: Src::Imm(off as i32),
            signed: false,
        });
        self.ops.push(Op::Call {
            helper: helper::PROBE_READ_KERNEL,
            args: vec![Arg::Addr(to), Arg::Imm(size), Arg::V(from)],
            ret: None,
        });
    }

    /// Sends the process of the header at `at` to the runtime (a `Process` event) unless
    /// the `procs_seen` map says it was sent already, so the runtime records its mappings
    /// while it runs.
    fn report_process(&mut self, at: Mem) {
        let (event, seen) = self
            .layout
            .process_event
            .expect("user stacks imply the process event");
        let done = self.new_label();
        let known = self.call(helper::MAP_LOOKUP_ELEM, vec![Arg::Map(seen), Arg::Addr(at)]);
        self.ops.push(Op::Jmp {
            cond: Cond::Ne,
            a: known,
            b: Src::Imm(0),
            target: done,
        });
        // BPF_NOEXIST: of two CPUs seeing the process at once, one reports it.
        let r = self.call(
            helper::MAP_UPDATE_ELEM,
            vec![Arg::Map(seen), Arg::Addr(at), Arg::Addr(at), Arg::Imm(1)],
        );
        self.ops.push(Op::Jmp {
            cond: Cond::Ne,
            a: r,
            b: Src::Imm(0),
            target: done,
        });
        let (p, skip) = self.reserve_event(event, 8 + USER_STACK_HEADER);
        for off in [0, 8] {
            let w = self.load_u64(at.at(off));
            self.ops.push(Op::Store {
                size: Size::DW,
                base: Base::V(p),
                off: 8 + off,
                src: Src::V(w),
            });
        }
        self.submit_event(p, skip);
        self.ops.push(Op::Label(done));
    }

    fn put(&mut self, at: Mem, size: Size, src: Src) {
        self.ops.push(Op::Store {
            size,
            base: at.base,
            off: at.off,
            src,
        });
    }
}
