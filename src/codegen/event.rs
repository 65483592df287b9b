//! Ring-buffer events: `printf` records and `exit()`. A reservation that fails (the
//! buffer is full) is counted in the per-CPU `lost` map, which the runtime reports;
//! `exit()` also raises a flag in a map, so it takes effect even when its record is lost.

use super::ir::{Arg, Base, Label, Mem, Op, Src, VReg};
use super::lower::{Lowerer, Val};
use crate::bpf::Size;
use crate::bpf::insn::helper;
use crate::lang::ty::{Ty, round_up};
use crate::sema::hir;

impl Lowerer<'_> {
    /// Emits the `exit()` event and leaves the program. The flag holds `0x100 | code`
    /// (the low byte of the exit code), never 0 once set.
    pub(super) fn exit_event(&mut self, code: Option<&hir::Expr>) {
        let flag_value = match code {
            None => Src::Imm(0x100),
            Some(c) => {
                let c = self.int(c);
                let v = self.fresh_copy(c);
                for (op, imm) in [(crate::bpf::Alu::And, 0xff), (crate::bpf::Alu::Or, 0x100)] {
                    self.ops.push(Op::Alu {
                        op,
                        dst: v,
                        src: Src::Imm(imm),
                        signed: false,
                    });
                }
                Src::V(v)
            }
        };
        let flag = self.layout.exit_flag.expect("exit() implies its flag map");
        let p = self.slot_zero(flag);
        let skip = self.new_label();
        self.jump_if_null(p, skip);
        self.ops.push(Op::Store {
            size: Size::DW,
            base: Base::V(p),
            off: 0,
            src: flag_value,
        });
        self.ops.push(Op::Label(skip));
        let (p, skip) = self.reserve_event(self.layout.exit_event, 8);
        self.submit_event(p, skip);
        self.ops.push(Op::Goto(self.exit_label()));
    }

    /// `printf(...)` as event `event`.
    pub(super) fn printf(&mut self, event: usize, args: &[hir::Expr]) {
        // Arguments first: nothing may bail out between reserve and submit.
        let vals: Vec<Val> = args.iter().map(|a| self.value(a)).collect();
        let (p, skip) = self.reserve_event(event, self.layout.event_sizes[event]);
        let offsets = self.layout.events[event].clone();
        for (v, at) in vals.into_iter().zip(offsets) {
            match v {
                Val::Int(src) => self.ops.push(Op::Store {
                    size: Size::DW,
                    base: Base::V(p),
                    off: at as i16,
                    src,
                }),
                Val::Buf { at: from, len } => {
                    let to = Mem {
                        base: Base::V(p),
                        off: at as i16,
                    };
                    self.copy(to, from, round_up(len, 8), 8)
                }
            }
        }
        self.submit_event(p, skip);
    }

    /// `join(array)` as event `event`: the record is filled in place — the string count
    /// at offset 8, then each string read straight into its slot — stopping at the
    /// array's NULL, after [`hir::JOIN_ARGS`] strings, or at a pointer that cannot be
    /// read (counted as a failed read).
    pub(super) fn join(&mut self, event: usize, array: &hir::Expr) {
        let Ty::Ptr { space, .. } = array.ty else {
            unreachable!("sema: join() of a char **")
        };
        let base = self.int(array);
        let base = self.fresh_copy(base);
        let size = self.layout.event_sizes[event];
        let slot = (size - 16) / hir::JOIN_ARGS;
        // One cell for the pointers; failures are gathered in `bad` (all ones once a
        // read failed) and counted once: a branch per read would multiply the paths the
        // verifier walks.
        let cell = self.alloc(8);
        let bad = self.new_vreg();
        self.ops.push(Op::Mov {
            dst: bad,
            src: Src::Imm(0),
        });
        let (p, skip) = self.reserve_event(event, size);
        let done = self.new_label();
        let record = |off: u32| Mem {
            base: Base::V(p),
            off: off as i16,
        };
        self.ops.push(Op::Store {
            size: Size::DW,
            base: Base::V(p),
            off: 8,
            src: Src::Imm(0),
        });
        let note_failure = |l: &mut Self, r: VReg| {
            l.ops.push(Op::Alu {
                op: crate::bpf::Alu::Arsh,
                dst: r,
                src: Src::Imm(63),
                signed: false,
            });
            l.ops.push(Op::Alu {
                op: crate::bpf::Alu::Or,
                dst: bad,
                src: Src::V(r),
                signed: false,
            });
        };
        for i in 0..hir::JOIN_ARGS {
            let r = self.call(
                super::string::read_helper(space, false),
                vec![Arg::Addr(cell), Arg::Imm(8), Arg::V(base)],
            );
            note_failure(self, r);
            let elem = self.load_u64(cell);
            self.jump_if_null(elem, done);
            let at = 16 + i * slot;
            // An empty string if the read fails.
            self.ops.push(Op::Store {
                size: Size::B,
                base: Base::V(p),
                off: at as i16,
                src: Src::Imm(0),
            });
            let r = self.call(
                super::string::read_helper(space, true),
                vec![Arg::Addr(record(at)), Arg::Imm(slot as i64), Arg::V(elem)],
            );
            note_failure(self, r);
            self.ops.push(Op::Store {
                size: Size::DW,
                base: Base::V(p),
                off: 8,
                src: Src::Imm(i as i32 + 1),
            });
            self.ops.push(Op::Alu {
                op: crate::bpf::Alu::Add,
                dst: base,
                src: Src::Imm(8),
                signed: false,
            });
        }
        self.ops.push(Op::Label(done));
        self.submit_event(p, skip);
        self.count_failed_read(bad);
    }

    /// Reserves a `size`-byte ring-buffer record and writes event id `id` into it; the
    /// record pointer is valid until `skip`, which the caller must close with
    /// [`Self::submit_event`] (the verifier insists every reservation is submitted).
    pub(super) fn reserve_event(&mut self, id: usize, size: u32) -> (VReg, Label) {
        let rb = self.layout.ringbuf.expect("events imply a ring buffer");
        let p = self.call(
            helper::RINGBUF_RESERVE,
            vec![Arg::Map(rb), Arg::Imm(size as i64), Arg::Imm(0)],
        );
        let skip = self.new_label();
        self.jump_if_null(p, skip);
        self.ops.push(Op::Store {
            size: Size::DW,
            base: Base::V(p),
            off: 0,
            src: Src::Imm(id as i32),
        });
        (p, skip)
    }

    /// Submits the record `p`; at `skip` (no record) counts one lost event. The reader
    /// is woken only once the buffer is an eighth full (`BPF_RB_FORCE_WAKEUP`), else not
    /// (`BPF_RB_NO_WAKEUP`; it polls every few milliseconds): a wakeup per record costs
    /// the traced task more than the record itself.
    pub(super) fn submit_event(&mut self, p: VReg, skip: Label) {
        let rb = self.layout.ringbuf.expect("events imply a ring buffer");
        let avail = self.call(helper::RINGBUF_QUERY, vec![Arg::Map(rb), Arg::Imm(0)]);
        let size = self.call(helper::RINGBUF_QUERY, vec![Arg::Map(rb), Arg::Imm(1)]);
        self.alu(crate::bpf::Alu::Rsh, size, Src::Imm(3));
        let flags = self.fresh_copy(Src::Imm(2));
        let full = self.new_label();
        self.jmp(crate::bpf::Cond::Ge, avail, Src::V(size), full);
        self.ops.push(Op::Mov {
            dst: flags,
            src: Src::Imm(1),
        });
        self.ops.push(Op::Label(full));
        self.ops.push(Op::Call {
            helper: helper::RINGBUF_SUBMIT,
            args: vec![Arg::V(p), Arg::V(flags)],
            ret: None,
        });
        let done = self.new_label();
        self.ops.push(Op::Goto(done));
        self.ops.push(Op::Label(skip));
        let lost = self.layout.lost.expect("events imply the lost counter");
        let q = self.slot_zero(lost);
        self.jump_if_null(q, done);
        self.add_one(q);
        self.ops.push(Op::Label(done));
    }

    /// A pointer to slot 0 of the one-slot array `map` (null if the lookup fails).
    /// Counts a failed read at the expression being lowered when `ret`, a read helper's
    /// result, is negative: slot `site` of the `read_errors` map, per CPU.
    pub(super) fn count_failed_read(&mut self, ret: VReg) {
        let Some(map) = self.layout.read_errors else {
            return;
        };
        let Ok(site) = self.layout.read_sites.binary_search(&self.here) else {
            debug_assert!(
                false,
                "internal compiler error: read at {:?} not laid out",
                self.here
            );
            return;
        };
        self.count_failure(map, site as u32, ret);
    }

    /// Counts a failed update of user map `map` (it is full) when `ret`, the result of
    /// `bpf_map_update_elem`, is negative.
    pub(super) fn count_failed_update(&mut self, map: usize, ret: VReg) {
        if let Some(counter) = self.layout.update_errors {
            self.count_failure(counter, map as u32, ret);
        }
    }

    /// Adds one to slot `site` of the per-CPU counter array `map` when `ret` is negative.
    fn count_failure(&mut self, map: usize, site: u32, ret: VReg) {
        let ok = self.new_label();
        self.ops.push(Op::Jmp {
            cond: crate::bpf::Cond::Sge,
            a: ret,
            b: Src::Imm(0),
            target: ok,
        });
        let key = self.alloc(4);
        self.ops.push(Op::Store {
            size: Size::W,
            base: key.base,
            off: key.off,
            src: Src::Imm(site as i32),
        });
        let q = self.call(helper::MAP_LOOKUP_ELEM, vec![Arg::Map(map), Arg::Addr(key)]);
        self.jump_if_null(q, ok);
        self.add_one(q);
        self.ops.push(Op::Label(ok));
    }

    /// `*(u64 *)q += 1`: a per-CPU counter (no other CPU writes it).
    fn add_one(&mut self, q: VReg) {
        let t = self.load_u64(Mem {
            base: Base::V(q),
            off: 0,
        });
        self.ops.push(Op::Alu {
            op: crate::bpf::Alu::Add,
            dst: t,
            src: Src::Imm(1),
            signed: false,
        });
        self.ops.push(Op::Store {
            size: Size::DW,
            base: Base::V(q),
            off: 0,
            src: Src::V(t),
        });
    }

    /// `elapsed`: the monotonic clock minus the time scry started (0 before it is set).
    pub(super) fn elapsed(&mut self) -> Val {
        let map = self
            .layout
            .start_ns
            .expect("elapsed implies the start_ns map");
        let now = self.call(helper::KTIME_GET_NS, vec![]);
        let p = self.slot_zero(map);
        let unset = self.new_label();
        self.jump_if_null(p, unset);
        let start = self.load_u64(Mem {
            base: Base::V(p),
            off: 0,
        });
        self.ops.push(Op::Alu {
            op: crate::bpf::Alu::Sub,
            dst: now,
            src: Src::V(start),
            signed: false,
        });
        self.ops.push(Op::Label(unset));
        Val::Int(Src::V(now))
    }

    fn slot_zero(&mut self, map: usize) -> VReg {
        let key = self.alloc(4);
        self.ops.push(Op::Store {
            size: Size::W,
            base: key.base,
            off: key.off,
            src: Src::Imm(0),
        });
        self.call(helper::MAP_LOOKUP_ELEM, vec![Arg::Map(map), Arg::Addr(key)])
    }
}
