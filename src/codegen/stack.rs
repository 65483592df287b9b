//! Lowering of `kstack`/`ustack` (`hir::LibCall::Stack`): the frames' addresses from
//! `bpf_get_stack` in a buffer laid out as `lang::render::Rendered::Stack` says; a user
//! stack starts with its process's pid and start time (the group leader's
//! `start_boottime`, read through the offsets sema found in vmlinux BTF). The stack is
//! the key itself, so two stacks never share an id. A failed `bpf_get_stack` (it leaves
//! the frames zeroed: an empty stack) is counted at the expression, as failed reads are.

use super::ir::{Arg, Base, Label, Mem, Op, Src, VReg};
use super::lower::{Lowerer, Val};
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond, Size};
use crate::lang::render::USER_STACK_HEADER;
use crate::sema::hir::{self, Builtin, TaskOffsets};

/// `BPF_F_USER_STACK`: `bpf_get_stack` walks the user stack.
const BPF_F_USER_STACK: i64 = 1 << 8;

impl Lowerer<'_> {
    /// The stack value of `size` bytes: after the process header of a user stack, the
    /// stack's id in the stack table of its depth (0: no stack). The frames go to the
    /// table once per distinct stack, keyed by a 64-bit hash of them; a stack whose
    /// hash is taken by other frames (checked frame by frame), a full table and a
    /// failed walk are counted at the expression and give id 0, an empty stack: never
    /// another stack's frames.
    pub(super) fn stack(
        &mut self,
        user: bool,
        depth: u32,
        task: Option<TaskOffsets>,
        size: u32,
    ) -> Val {
        let table = self
            .layout
            .stack_tables
            .iter()
            .find(|(d, _)| *d == depth)
            .map(|&(_, m)| m)
            .expect("layout made a table for every depth");
        let at = self.alloc(size);
        let id_at = if user {
            self.process_header(at, task);
            self.report_process(at);
            at.at(USER_STACK_HEADER as i16)
        } else {
            at
        };
        // The table's value: the frame count, then the frames.
        let buf = self.alloc(8 + 8 * depth);
        let frames = buf.at(8);
        let r = self.get_stack(frames, depth, user);
        let id = self.fresh_copy(Src::Imm(0));
        let (fail, found, store) = (self.new_label(), self.new_label(), self.new_label());
        self.jmp(Cond::Slt, r, Src::Imm(0), fail);
        self.jmp(Cond::Eq, r, Src::Imm(0), store);
        // nr = bytes / 8, at most `depth` (the verifier bounds the helper's result).
        let nr = self.fresh_copy(Src::V(r));
        self.alu(Alu::Rsh, nr, Src::Imm(3));
        self.store_word(buf, Size::DW, Src::V(nr));
        let h = self.hash_frames(frames, nr, user);
        let key = self.alloc(8);
        self.store_word(key, Size::DW, Src::V(h));
        let q = self.call(
            helper::MAP_LOOKUP_ELEM,
            vec![Arg::Map(table), Arg::Addr(key)],
        );
        self.jmp(Cond::Ne, q, Src::Imm(0), found);
        // BPF_NOEXIST: a stack another CPU just added is found by the lookup after.
        let added = self.call(
            helper::MAP_UPDATE_ELEM,
            vec![Arg::Map(table), Arg::Addr(key), Arg::Addr(buf), Arg::Imm(1)],
        );
        let ok = self.new_label();
        self.jmp(Cond::Eq, added, Src::Imm(0), ok);
        let again = self.call(
            helper::MAP_LOOKUP_ELEM,
            vec![Arg::Map(table), Arg::Addr(key)],
        );
        self.jmp(Cond::Eq, again, Src::Imm(0), fail);
        self.ops.push(Op::Mov {
            dst: q,
            src: Src::V(again),
        });
        self.ops.push(Op::Label(found));
        self.same_frames(q, frames, nr, fail);
        self.ops.push(Op::Label(ok));
        self.ops.push(Op::Mov {
            dst: id,
            src: Src::V(h),
        });
        self.ops.push(Op::Goto(store));
        self.ops.push(Op::Label(fail));
        let failed = self.fresh_copy(Src::Imm(-1));
        self.count_failed_read(failed);
        self.ops.push(Op::Label(store));
        self.store_word(id_at, Size::DW, Src::V(id));
        Val::Buf { at, len: size }
    }

    /// `bpf_get_stack` of the kernel or user stack, at most `depth` frames to `to`; the
    /// helper's result (bytes written, or a negative error).
    fn get_stack(&mut self, to: Mem, depth: u32, user: bool) -> VReg {
        let ctx = self.ctx_reg();
        let flags = if user { BPF_F_USER_STACK } else { 0 };
        self.call(
            helper::GET_STACK,
            vec![
                Arg::V(ctx),
                Arg::Addr(to),
                Arg::Imm(8 * depth as i64),
                Arg::Imm(flags),
            ],
        )
    }

    /// A 64-bit hash of the `nr` frames at `frames` (never 0, the empty stack's id);
    /// user and kernel stacks hash apart. The loop keeps three values live (hash,
    /// pointer, frames left), so they stay in registers.
    fn hash_frames(&mut self, frames: Mem, nr: VReg, user: bool) -> VReg {
        let h = self.new_vreg();
        let seed = if user {
            0x9e37_79b9_7f4a_7c15
        } else {
            0xc2b2_ae3d_27d4_eb4f
        };
        self.ops.push(Op::LdImm64 { dst: h, imm: seed });
        let p = self.address(frames);
        let left = self.fresh_copy(Src::V(nr));
        let (head, done) = (self.new_label(), self.new_label());
        self.ops.push(Op::Label(head));
        self.jmp(Cond::Eq, left, Src::Imm(0), done);
        let w = self.load_u64(Mem {
            base: Base::V(p),
            off: 0,
        });
        // h = (h ^ w) * m; h ^= h >> 29: a multiply-xorshift mix per frame (m fits
        // the instruction's 32-bit immediate).
        self.alu(Alu::Xor, h, Src::V(w));
        self.alu(Alu::Mul, h, Src::Imm(0x5bd1_e995));
        let t = self.fresh_copy(Src::V(h));
        self.alu(Alu::Rsh, t, Src::Imm(29));
        self.alu(Alu::Xor, h, Src::V(t));
        self.alu(Alu::Add, p, Src::Imm(8));
        self.alu(Alu::Sub, left, Src::Imm(1));
        self.ops.push(Op::Goto(head));
        self.ops.push(Op::Label(done));
        let nonzero = self.new_label();
        self.jmp(Cond::Ne, h, Src::Imm(0), nonzero);
        self.ops.push(Op::Mov {
            dst: h,
            src: Src::Imm(1),
        });
        self.ops.push(Op::Label(nonzero));
        h
    }

    /// Falls through when the table entry at `q` holds the `nr` frames at `frames`,
    /// else jumps to `differ` (two stacks with one hash).
    fn same_frames(&mut self, q: VReg, frames: Mem, nr: VReg, differ: Label) {
        let stored = self.load_u64(Mem {
            base: Base::V(q),
            off: 0,
        });
        self.jmp(Cond::Ne, stored, Src::V(nr), differ);
        let p = self.address(frames);
        let s = self.fresh_copy(Src::V(q));
        self.alu(Alu::Add, s, Src::Imm(8));
        let left = self.fresh_copy(Src::V(nr));
        let (head, done) = (self.new_label(), self.new_label());
        self.ops.push(Op::Label(head));
        self.jmp(Cond::Eq, left, Src::Imm(0), done);
        let a = self.load_u64(Mem {
            base: Base::V(p),
            off: 0,
        });
        let b = self.load_u64(Mem {
            base: Base::V(s),
            off: 0,
        });
        self.jmp(Cond::Ne, a, Src::V(b), differ);
        for r in [p, s] {
            self.alu(Alu::Add, r, Src::Imm(8));
        }
        self.alu(Alu::Sub, left, Src::Imm(1));
        self.ops.push(Op::Goto(head));
        self.ops.push(Op::Label(done));
    }

    /// A register holding the address of `at`.
    fn address(&mut self, at: Mem) -> VReg {
        let r = self.new_vreg();
        match at.base {
            Base::Stack => self.ops.push(Op::StackAddr {
                dst: r,
                off: at.off,
            }),
            Base::V(v) => {
                self.ops.push(Op::Mov {
                    dst: r,
                    src: Src::V(v),
                });
                self.alu(Alu::Add, r, Src::Imm(at.off as i32));
            }
        }
        r
    }

    /// `usym(addr)`: the current process's header, then the address (24 bytes).
    pub(super) fn usym(&mut self, addr: &hir::Expr, task: Option<TaskOffsets>) -> Val {
        let a = self.int(addr);
        let at = self.alloc(8 + USER_STACK_HEADER);
        self.store_word(at.at(USER_STACK_HEADER as i16), Size::DW, a);
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
        let r = self.get_stack(frames, 2, user);
        self.count_failed_read(r);
        let second = self.load_u64(frames.at(8));
        if !user {
            return Val::Int(Src::V(second));
        }
        self.store_word(frames, Size::DW, Src::V(second));
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
        self.store_word(at, Size::W, pid);
        let Some(off) = task else {
            self.store_word(at.at(4), Size::W, Src::Imm(0));
            self.store_word(at.at(8), Size::DW, Src::Imm(0));
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
    fn read_kernel(&mut self, to: Mem, size: i64, base: VReg, off: u32) {
        let from = self.fresh_copy(Src::V(base));
        self.alu(Alu::Add, from, Src::Imm(off as i32));
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
}
