//! Lowering of one checked probe body to [`Op`]s: expressions, conditions, statements,
//! map updates, ring-buffer events. Stack buffers (keys, strings, variables) are carved
//! from the 512-byte frame here; `regalloc` adds spill slots below them.

use super::branch::fold;
use super::ir::{Arg, Base, Label, Op, Src, VReg};
use super::layout::{Layout, MapLayout};
use crate::ast::{BinOp, UnOp};
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond, Size};
use crate::lang::ty::{Ty, round_up};
use crate::sema::hir::{self, Builtin, ExprKind, StmtKind};
use crate::sema::visit;

/// A computed value.
#[derive(Clone, Copy, Debug)]
pub(super) enum Val {
    /// An integer (or pointer) in a register or as a constant.
    Int(Src),
    /// A string in a stack buffer at `R10 + off` of `len` bytes (allocated rounded to 8,
    /// every byte initialised).
    Buf { off: i16, len: u32 },
}

/// Lowering state of one program.
pub(super) struct Lowerer<'a> {
    pub(super) ops: Vec<Op>,
    pub(super) layout: &'a Layout,
    next_vreg: u32,
    next_label: u32,
    /// Bytes of the frame in use (buffers grow downwards from R10).
    stack: u32,
    /// Highest `stack` seen.
    pub(super) stack_max: u32,
    pub(super) ctx: Option<VReg>,
    /// Frame offset of each scratch variable.
    vars: Vec<i16>,
    /// Byte size of each scratch variable.
    var_sizes: Vec<u32>,
    exit_label: Label,
    /// Helper results computed once at entry because the probe uses them more than once
    /// (`get_current_pid_tgid` for pid and tid, `get_current_uid_gid`, the CPU id).
    hoisted: Vec<(u32, VReg)>,
    /// Integer map reads already computed on every path to here: (map, key fingerprint,
    /// value). Dropped for a map when it is updated or deleted from.
    pub(super) map_reads: Vec<(usize, String, VReg)>,
    /// Above 0 while lowering code that runs on some paths only (branches, ternary arms,
    /// short-circuit operands): reads there are not remembered.
    pub(super) cond_depth: u32,
    /// Enclosing loops, innermost last: where `continue` and `break` go.
    pub(super) loops: Vec<(Label, Label)>,
}

impl<'a> Lowerer<'a> {
    pub(super) fn new(layout: &'a Layout) -> Lowerer<'a> {
        let mut l = Lowerer {
            ops: Vec::new(),
            layout,
            next_vreg: 1,
            next_label: 0,
            stack: 0,
            stack_max: 0,
            ctx: None,
            vars: Vec::new(),
            var_sizes: Vec::new(),
            exit_label: Label(0),
            hoisted: Vec::new(),
            map_reads: Vec::new(),
            cond_depth: 0,
            loops: Vec::new(),
        };
        l.exit_label = l.label();
        l
    }

    /// Lowers a whole probe; returns the ops with the context save prepended if needed.
    pub(super) fn probe(mut self, probe: &hir::Probe) -> (Vec<Op>, u32) {
        // Scratch variables get zeroed slots so reads on paths that skipped the
        // assignment see 0 (the verifier rejects reads of uninitialised stack).
        for ty in &probe.vars {
            let size = round_up(ty.size().max(8), 8);
            let off = self.alloc(size);
            self.zero(Base::Stack, off, size);
            self.vars.push(off);
            self.var_sizes.push(size);
        }
        // A helper whose result several builtins of this probe need is called once.
        let mut uses: Vec<(u32, usize)> = Vec::new();
        let mut note = |e: &hir::Expr| {
            if let ExprKind::Builtin(b) = e.kind
                && let Some((h, _, _)) = builtin_helper(b)
                && h != helper::KTIME_GET_NS
            {
                match uses.iter_mut().find(|(x, _)| *x == h) {
                    Some((_, n)) => *n += 1,
                    None => uses.push((h, 1)),
                }
            }
        };
        if let Some(p) = &probe.predicate {
            visit::expr(p, &mut note);
        }
        visit::exprs(&probe.body, &mut note);
        for (h, n) in uses {
            if n > 1 {
                let v = self.call(h, vec![]);
                self.hoisted.push((h, v));
            }
        }
        if let Some(pred) = &probe.predicate {
            self.ops.push(Op::Mark(pred.span));
            let exit = self.exit_label;
            self.branch(pred, false, exit);
        }
        self.stmts(&probe.body);
        self.ops.push(Op::Label(self.exit_label));
        self.ops.push(Op::Return(Src::Imm(0)));
        if let Some(ctx) = self.ctx {
            self.ops.insert(0, Op::Ctx { dst: ctx });
        }
        (self.ops, self.stack_max)
    }

    pub(super) fn vreg(&mut self) -> VReg {
        self.next_vreg += 1;
        VReg(self.next_vreg)
    }

    pub(super) fn label(&mut self) -> Label {
        self.next_label += 1;
        Label(self.next_label)
    }

    /// Reserves `size` bytes (rounded to 8) of frame; returns the offset from R10.
    pub(super) fn alloc(&mut self, size: u32) -> i16 {
        self.stack += round_up(size.max(1), 8);
        self.stack_max = self.stack_max.max(self.stack);
        // Offsets beyond the 512-byte frame are reported by `codegen::lower` from
        // stack_max; clamp here so the arithmetic stays in range until then.
        -(self.stack.min(i16::MAX as u32) as i16)
    }

    /// Zeroes `size` bytes at `base + off` with naturally aligned stores (the verifier
    /// rejects misaligned stack access); `base` is 8-byte aligned.
    pub(super) fn zero(&mut self, base: Base, off: i16, size: u32) {
        let mut done = 0u32;
        while done < size {
            let at = off as i32 + done as i32;
            let (w, s) = [(8, Size::DW), (4, Size::W), (2, Size::H), (1, Size::B)]
                .into_iter()
                .find(|&(w, _)| at.rem_euclid(w) == 0 && done + w as u32 <= size)
                .expect("a 1-byte store always fits");
            self.ops.push(Op::Store {
                size: s,
                base,
                off: at as i16,
                src: Src::Imm(0),
            });
            done += w as u32;
        }
    }

    /// Copies `len` bytes from `src + soff` to `dst + doff`, in the widest accesses that
    /// `align` (the alignment both sides are known to have) allows.
    pub(super) fn copy(
        &mut self,
        dst: Base,
        doff: i16,
        src: Base,
        soff: i16,
        len: u32,
        align: u32,
    ) {
        let mut done = 0u32;
        for (w, s) in [(8, Size::DW), (4, Size::W), (2, Size::H), (1, Size::B)] {
            if w > align {
                continue;
            }
            while done + w <= len {
                let t = self.vreg();
                self.ops.push(Op::Load {
                    size: s,
                    dst: t,
                    base: src,
                    off: soff + done as i16,
                });
                self.ops.push(Op::Store {
                    size: s,
                    base: dst,
                    off: doff + done as i16,
                    src: Src::V(t),
                });
                done += w;
            }
        }
    }

    pub(super) fn constant(&mut self, c: u64) -> Src {
        match i32::try_from(c as i64) {
            Ok(i) => Src::Imm(i),
            Err(_) => {
                let v = self.vreg();
                self.ops.push(Op::LdImm64 { dst: v, imm: c });
                Src::V(v)
            }
        }
    }

    pub(super) fn call(&mut self, helper: u32, args: Vec<Arg>) -> VReg {
        let v = self.vreg();
        self.ops.push(Op::Call {
            helper,
            args,
            ret: Some(v),
        });
        v
    }

    /// Lowers statements; returns true if control never falls off the end (an `exit()`
    /// on every path), in which case later statements are dropped: the verifier rejects
    /// unreachable instructions.
    pub(super) fn stmts(&mut self, stmts: &[hir::Stmt]) -> bool {
        for s in stmts {
            let mark = self.stack;
            self.ops.push(Op::Mark(s.span));
            let exits = self.stmt(s);
            // Temporaries die with their statement; variables were allocated up front.
            self.stack = mark;
            if exits {
                return true;
            }
        }
        false
    }

    fn stmt(&mut self, s: &hir::Stmt) -> bool {
        match &s.kind {
            StmtKind::Expr(e) => {
                self.value(e);
            }
            StmtKind::Exit => {
                self.exit_event();
                return true;
            }
            StmtKind::VarAssign { var, value } => {
                let off = self.vars[*var];
                match self.value(value) {
                    Val::Int(src) => self.ops.push(Op::Store {
                        size: Size::DW,
                        base: Base::Stack,
                        off,
                        src,
                    }),
                    Val::Buf { off: soff, len } => {
                        // The variable's buffer may be longer (its widest assignment).
                        let var_size = round_up(self.var_sizes[*var], 8);
                        let n = round_up(len, 8).min(var_size);
                        self.copy(Base::Stack, off, Base::Stack, soff, n, 8);
                        self.zero(Base::Stack, off + n as i16, var_size - n);
                    }
                }
            }
            // Reads of a map are forgotten once it changes (after the values and keys
            // of the change itself were computed, which may read it).
            StmtKind::MapUpdate { map, keys, op } => {
                self.map_update(*map, keys, op);
                self.map_reads.retain(|(m, _, _)| m != map);
            }
            StmtKind::Delete { map, keys } => {
                self.delete(*map, keys);
                self.map_reads.retain(|(m, _, _)| m != map);
            }
            StmtKind::Printf { event, args } => self.printf(*event, args),
            StmtKind::If { cond, then, else_ } => return self.if_stmt(cond, then, else_),
            StmtKind::While { cond, body } => self.while_loop(cond, body),
            StmtKind::Unroll { count, body } => self.unroll(*count, body),
            StmtKind::Break => return self.break_loop(),
            StmtKind::Continue => return self.continue_loop(),
        }
        false
    }

    /// The label of the program's `return 0`.
    pub(super) fn exit_label(&self) -> Label {
        self.exit_label
    }

    /// `if p == NULL goto target`.
    pub(super) fn jump_if_null(&mut self, p: VReg, target: Label) {
        self.ops.push(Op::Jmp {
            cond: Cond::Eq,
            a: p,
            b: Src::Imm(0),
            target,
        });
    }

    /// Builds the BPF key of `map` for `keys` on the stack; returns its offset.
    pub(super) fn key(&mut self, layout: &MapLayout, keys: &[hir::Expr]) -> i16 {
        // Evaluate every key before writing any, so nested map reads can't clobber.
        let vals: Vec<Val> = keys.iter().map(|k| self.value(k)).collect();
        // A lone string that fills the key exactly (`@[comm]`) is the key as it stands.
        if let [Val::Buf { off, len }] = vals[..]
            && len == layout.key_size
        {
            return off;
        }
        let off = self.alloc(layout.key_size);
        if keys.is_empty() {
            self.zero(Base::Stack, off, layout.key_size);
            return off;
        }
        if layout.key_padded {
            self.zero(Base::Stack, off, layout.key_size);
        }
        for (i, v) in vals.into_iter().enumerate() {
            let at = off + layout.key_offsets[i] as i16;
            match (v, &layout.key_types[i]) {
                (Val::Int(src), _) => self.ops.push(Op::Store {
                    size: Size::DW,
                    base: Base::Stack,
                    off: at,
                    src,
                }),
                (Val::Buf { off: soff, len }, Ty::Str { len: klen }) => {
                    let n = len.min(*klen);
                    let whole = n / 8 * 8;
                    self.copy(Base::Stack, at, Base::Stack, soff, whole, 8);
                    self.copy(
                        Base::Stack,
                        at + whole as i16,
                        Base::Stack,
                        soff + whole as i16,
                        n - whole,
                        1,
                    );
                    if *klen > n {
                        self.zero(Base::Stack, at + n as i16, klen - n);
                    }
                }
                (Val::Buf { .. }, _) => unreachable!("sema unified key types"),
            }
        }
        off
    }

    /// `bpf_map_update_elem(map, R10 + key, R10 + value, flags)`, result unused.
    pub(super) fn update_elem(&mut self, map: usize, key: i16, value: i16, flags: i64) {
        self.ops.push(Op::Call {
            helper: helper::MAP_UPDATE_ELEM,
            args: vec![
                Arg::Map(map),
                Arg::Stack(key),
                Arg::Stack(value),
                Arg::Imm(flags),
            ],
            ret: None,
        });
    }

    /// Computes an expression's value.
    pub(super) fn value(&mut self, e: &hir::Expr) -> Val {
        match &e.kind {
            ExprKind::Int(v) => Val::Int(self.constant(*v)),
            ExprKind::Str(s) => {
                let len = s.len() as u32 + 1;
                let off = self.alloc(len);
                let mut bytes = s.as_bytes().to_vec();
                bytes.resize(round_up(len, 8) as usize, 0);
                for (i, chunk) in bytes.chunks(4).enumerate() {
                    let word = i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    self.ops.push(Op::Store {
                        size: Size::W,
                        base: Base::Stack,
                        off: off + 4 * i as i16,
                        src: Src::Imm(word),
                    });
                }
                Val::Buf { off, len }
            }
            ExprKind::Builtin(b) => self.builtin(*b),
            ExprKind::Ctx(access) => self.ctx_read(*access, &e.ty),
            ExprKind::Var(id) => {
                let off = self.vars[*id];
                match &e.ty {
                    Ty::Str { len } => {
                        let to = self.alloc(*len);
                        self.copy(Base::Stack, to, Base::Stack, off, round_up(*len, 8), 8);
                        Val::Buf { off: to, len: *len }
                    }
                    _ => {
                        let v = self.vreg();
                        self.ops.push(Op::Load {
                            size: Size::DW,
                            dst: v,
                            base: Base::Stack,
                            off,
                        });
                        Val::Int(Src::V(v))
                    }
                }
            }
            ExprKind::MapRead { map, keys } => {
                // The same integer entry read again on a path that already read it, with
                // no update of the map in between, reuses the value.
                let print = match e.ty {
                    Ty::Int { .. } => keys
                        .iter()
                        .map(fingerprint)
                        .collect::<Option<Vec<_>>>()
                        .map(|k| k.join(",")),
                    _ => None,
                };
                if let Some(p) = &print
                    && let Some(&(_, _, v)) =
                        self.map_reads.iter().find(|(m, k, _)| m == map && k == p)
                {
                    return Val::Int(Src::V(v));
                }
                let val = self.map_read(*map, keys, &e.ty);
                if let (Some(p), Val::Int(Src::V(v)), 0) = (print, val, self.cond_depth) {
                    self.map_reads.push((*map, p, v));
                }
                val
            }
            ExprKind::Unary(op, inner) => {
                let src = self.int(inner);
                if let Src::Imm(c) = src {
                    let folded = match op {
                        UnOp::Neg => (c as i64).wrapping_neg() as u64,
                        UnOp::Not => (c == 0) as u64,
                        UnOp::BitNot => !(c as i64) as u64,
                    };
                    return Val::Int(self.constant(folded));
                }
                let v = self.fresh_copy(src);
                match op {
                    UnOp::Neg => self.ops.push(Op::Neg { dst: v }),
                    UnOp::BitNot => self.ops.push(Op::Alu {
                        op: Alu::Xor,
                        dst: v,
                        src: Src::Imm(-1),
                        signed: false,
                    }),
                    UnOp::Not => return self.bool_value(e),
                }
                Val::Int(Src::V(v))
            }
            ExprKind::Binary(op, l, r) => {
                if op.is_comparison() || matches!(op, BinOp::And | BinOp::Or) {
                    return self.bool_value(e);
                }
                let signed = e.ty.is_signed();
                let a = self.int(l);
                let b = self.int(r);
                if let (Src::Imm(x), Src::Imm(y)) = (a, b)
                    && let Some(c) = fold(*op, x as i64, y as i64, signed)
                {
                    return Val::Int(self.constant(c));
                }
                let alu = match op {
                    BinOp::Add => Alu::Add,
                    BinOp::Sub => Alu::Sub,
                    BinOp::Mul => Alu::Mul,
                    BinOp::Div => Alu::Div,
                    BinOp::Mod => Alu::Mod,
                    BinOp::BitAnd => Alu::And,
                    BinOp::BitOr => Alu::Or,
                    BinOp::BitXor => Alu::Xor,
                    BinOp::Shl => Alu::Lsh,
                    BinOp::Shr if signed => Alu::Arsh,
                    BinOp::Shr => Alu::Rsh,
                    _ => unreachable!("comparisons handled above"),
                };
                let v = self.fresh_copy(a);
                self.ops.push(Op::Alu {
                    op: alu,
                    dst: v,
                    src: b,
                    signed,
                });
                Val::Int(Src::V(v))
            }
            ExprKind::Ternary(c, a, b) => {
                let else_l = self.label();
                let end = self.label();
                self.cond_depth += 1;
                let v = match &e.ty {
                    Ty::Str { len } => {
                        let to = self.alloc(*len);
                        let rounded = round_up(*len, 8);
                        self.branch(c, false, else_l);
                        self.string_into(a, to, rounded);
                        self.ops.push(Op::Goto(end));
                        self.ops.push(Op::Label(else_l));
                        self.string_into(b, to, rounded);
                        self.ops.push(Op::Label(end));
                        Val::Buf { off: to, len: *len }
                    }
                    _ => {
                        let v = self.vreg();
                        self.branch(c, false, else_l);
                        let x = self.int(a);
                        self.ops.push(Op::Mov { dst: v, src: x });
                        self.ops.push(Op::Goto(end));
                        self.ops.push(Op::Label(else_l));
                        let y = self.int(b);
                        self.ops.push(Op::Mov { dst: v, src: y });
                        self.ops.push(Op::Label(end));
                        Val::Int(Src::V(v))
                    }
                };
                self.cond_depth -= 1;
                v
            }
        }
    }

    /// Looks up `map[keys]`: the value, or 0 / an empty string when absent.
    fn map_read(&mut self, map: usize, keys: &[hir::Expr], ty: &Ty) -> Val {
        let ml = self.layout.maps[map].clone();
        let key = self.key(&ml, keys);
        let p = self.call(
            helper::MAP_LOOKUP_ELEM,
            vec![Arg::Map(ml.bpf_map), Arg::Stack(key)],
        );
        let missing = self.label();
        match ty {
            Ty::Str { len } => {
                let to = self.alloc(*len);
                let rounded = round_up(*len, 8);
                self.zero(Base::Stack, to, rounded);
                self.jump_if_null(p, missing);
                self.copy(
                    Base::Stack,
                    to,
                    Base::V(p),
                    0,
                    rounded.min(ml.value_size),
                    8,
                );
                self.ops.push(Op::Label(missing));
                Val::Buf { off: to, len: *len }
            }
            _ => {
                let v = self.vreg();
                self.ops.push(Op::Mov {
                    dst: v,
                    src: Src::Imm(0),
                });
                self.jump_if_null(p, missing);
                self.ops.push(Op::Load {
                    size: Size::DW,
                    dst: v,
                    base: Base::V(p),
                    off: 0,
                });
                self.ops.push(Op::Label(missing));
                Val::Int(Src::V(v))
            }
        }
    }

    /// Evaluates a string into the `size`-byte buffer at `to`, zero-padding it.
    fn string_into(&mut self, e: &hir::Expr, to: i16, size: u32) {
        let Val::Buf { off, len } = self.value(e) else {
            unreachable!("sema: string branch")
        };
        let n = round_up(len, 8).min(size);
        self.copy(Base::Stack, to, Base::Stack, off, n, 8);
        self.zero(Base::Stack, to + n as i16, size - n);
    }

    pub(super) fn fresh_copy(&mut self, src: Src) -> VReg {
        let v = self.vreg();
        self.ops.push(Op::Mov { dst: v, src });
        v
    }

    /// An integer-typed expression's value.
    pub(super) fn int(&mut self, e: &hir::Expr) -> Src {
        match self.value(e) {
            Val::Int(s) => s,
            Val::Buf { .. } => unreachable!("sema: integer expected"),
        }
    }

    fn builtin(&mut self, b: Builtin) -> Val {
        let Some((helper, shift, zext)) = builtin_helper(b) else {
            let off = self.alloc(16);
            self.ops.push(Op::Call {
                helper: helper::GET_CURRENT_COMM,
                args: vec![Arg::Stack(off), Arg::Imm(16)],
                ret: None,
            });
            return Val::Buf { off, len: 16 };
        };
        let v = match self.hoisted.iter().find(|(h, _)| *h == helper) {
            Some(&(_, r)) if shift == 0 && !zext => return Val::Int(Src::V(r)),
            Some(&(_, r)) if zext => {
                // Truncating copy in one 32-bit move.
                let v = self.vreg();
                self.ops.push(Op::Zext32 { dst: v, src: r });
                return Val::Int(Src::V(v));
            }
            Some(&(_, r)) => self.fresh_copy(Src::V(r)),
            None => self.call(helper, vec![]),
        };
        if shift > 0 {
            self.ops.push(Op::Alu {
                op: Alu::Rsh,
                dst: v,
                src: Src::Imm(shift),
                signed: false,
            });
        }
        if zext {
            self.ops.push(Op::Zext32 { dst: v, src: v });
        }
        Val::Int(Src::V(v))
    }

    /// Exposes fresh registers and labels to sibling lowering modules.
    pub(super) fn new_vreg(&mut self) -> VReg {
        self.vreg()
    }

    /// A fresh label for sibling lowering modules.
    pub(super) fn new_label(&mut self) -> Label {
        self.label()
    }
}

/// The helper behind an integer builtin, with the right shift and 32-bit truncation that
/// extract it from the helper's result; `None` for `comm` (a buffer).
fn builtin_helper(b: Builtin) -> Option<(u32, i32, bool)> {
    Some(match b {
        Builtin::Pid => (helper::GET_CURRENT_PID_TGID, 32, false),
        Builtin::Tid => (helper::GET_CURRENT_PID_TGID, 0, true),
        Builtin::Uid => (helper::GET_CURRENT_UID_GID, 0, true),
        Builtin::Gid => (helper::GET_CURRENT_UID_GID, 32, false),
        Builtin::Nsecs => (helper::KTIME_GET_NS, 0, false),
        Builtin::Cpu => (helper::GET_SMP_PROCESSOR_ID, 0, false),
        Builtin::Comm => return None,
    })
}

/// A spelling of a key expression that is equal exactly when two occurrences have the
/// same value within one run of a probe; `None` for anything that may differ (variables,
/// map reads, `nsecs`).
fn fingerprint(e: &hir::Expr) -> Option<String> {
    Some(match &e.kind {
        ExprKind::Int(v) => format!("{v}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Builtin(Builtin::Nsecs) => return None,
        ExprKind::Builtin(b) => format!("{b:?}"),
        ExprKind::Ctx(access) => format!("{access:?}:{}", e.ty),
        ExprKind::Unary(op, a) => format!("({op:?} {})", fingerprint(a)?),
        ExprKind::Binary(op, a, b) => {
            format!("({} {op:?} {})", fingerprint(a)?, fingerprint(b)?)
        }
        ExprKind::Var(_) | ExprKind::MapRead { .. } | ExprKind::Ternary(..) => return None,
    })
}
