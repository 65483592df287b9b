//! Lowering of one checked probe body to [`Op`]s: the entry (context, scratch, hoisted
//! builtins), statements and expressions. Buffers come from the `frame`; conditions are
//! in `branch`, control flow in `flow`, maps in `aggregate`, context reads in `ctx`,
//! events in `event`, string comparison in `strcmp`.

use super::branch::fold;
use super::callback::{self, Area, Home, Subprog};
use super::frame::Frame;
use super::ir::{Arg, Base, Label, Mem, Op, Src, VReg};
use super::layout::{Layout, MapLayout};
use super::points::Names;
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
    /// A string in a buffer of `len` bytes at `at` (allocated rounded to 8, every byte
    /// initialised).
    Buf { at: Mem, len: u32 },
}

/// Lowering state of one program.
pub(super) struct Lowerer<'a> {
    pub(super) ops: Vec<Op>,
    pub(super) layout: &'a Layout,
    next_vreg: u32,
    next_label: u32,
    /// Stack and scratch buffers.
    pub(super) frame: Frame,
    /// The span of the expression being lowered (buffers are charged to it).
    pub(super) here: crate::diag::Span,
    pub(super) ctx: Option<VReg>,
    /// The register holding the scratch map value's address, once something needs it.
    scratch: Option<VReg>,
    /// Index of this program's scratch map among the module's maps.
    scratch_map: usize,
    /// Where each scratch variable lives.
    vars: Vec<Mem>,
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
    /// Type of each scratch variable.
    var_types: Vec<Ty>,
    /// Which function each variable lives in.
    pub(super) homes: Vec<Home>,
    /// Callbacks lowered so far (`None` while one is being lowered).
    pub(super) subprogs: Vec<Option<Subprog>>,
    /// Where callbacks find the variables.
    pub(super) area: Area,
    /// True when a callback reads the context pointer the program saves for it.
    pub(super) needs_saved_ctx: bool,
    /// The attach points the program runs for.
    pub(super) points: Vec<hir::PointInfo>,
    /// Their names map, when there are several and the body reads a name.
    pub(super) names: Option<Names>,
}

impl<'a> Lowerer<'a> {
    /// A lowerer whose buffers of `threshold` bytes or more go to scratch map
    /// `scratch_map` (module index, created by the caller if used).
    pub(super) fn new(
        layout: &'a Layout,
        threshold: Option<u32>,
        scratch_map: usize,
    ) -> Lowerer<'a> {
        let mut l = Lowerer {
            ops: Vec::new(),
            layout,
            next_vreg: 1,
            next_label: 0,
            frame: Frame::new(threshold),
            here: crate::diag::Span::default(),
            ctx: None,
            scratch: None,
            scratch_map,
            vars: Vec::new(),
            var_sizes: Vec::new(),
            exit_label: Label(0),
            hoisted: Vec::new(),
            map_reads: Vec::new(),
            cond_depth: 0,
            loops: Vec::new(),
            var_types: Vec::new(),
            homes: Vec::new(),
            subprogs: Vec::new(),
            area: Area::default(),
            needs_saved_ctx: false,
            points: Vec::new(),
            names: None,
        };
        l.exit_label = l.label();
        l
    }

    /// The names map of the program's points (see `points`).
    pub(super) fn with_names(mut self, names: Option<Names>) -> Self {
        self.names = names;
        self
    }

    /// Lowers a whole probe: its operations, frame and callbacks.
    pub(super) fn probe(mut self, probe: &hir::Probe) -> (Vec<Op>, Frame, Vec<Subprog>) {
        self.here = probe.span;
        self.points = probe.points.clone();
        // Scratch variables get zeroed slots so reads on paths that skipped the
        // assignment see 0 (the verifier rejects reads of uninitialised stack).
        // Variables that callbacks share with the probe live in the scratch map, whose
        // contents the verifier does not track: a callback counting in one would make
        // it check the code after the loop once per count. Variables of one callback
        // get their slot in its frame.
        self.homes = callback::homes(probe);
        for (var, ty) in probe.vars.iter().enumerate() {
            let size = round_up(ty.size().max(8), 8);
            let at = match self.homes[var] {
                Home::Probe => self.alloc(size),
                Home::Shared => self.alloc_scratch(size),
                // Not this function's: never referenced here.
                Home::Callback(_) => Mem::stack(0),
            };
            if !matches!(self.homes[var], Home::Callback(_)) {
                self.zero(at, size);
            }
            self.vars.push(at);
            self.var_sizes.push(size);
        }
        self.var_types = probe.vars.clone();
        self.set_up_area(&probe.body, probe.span);
        // A helper whose result several builtins of this probe need is called once.
        let mut uses: Vec<(u32, usize)> = Vec::new();
        let mut note = |e: &hir::Expr| {
            // Clocks and random numbers differ at every use: never shared.
            if let ExprKind::Builtin(b) = e.kind
                && let Some((h, _, _)) = builtin_helper(b)
                && !matches!(
                    h,
                    helper::KTIME_GET_NS
                        | helper::KTIME_GET_BOOT_NS
                        | helper::KTIME_GET_TAI_NS
                        | helper::GET_PRANDOM_U32
                        | helper::JIFFIES64
                )
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
        self.filter_process(&probe.target);
        if let Some(pred) = &probe.predicate {
            self.ops.push(Op::Mark(pred.span));
            let exit = self.exit_label;
            self.branch(pred, false, exit);
        }
        self.stmts(&probe.body);
        self.ops.push(Op::Label(self.exit_label));
        self.ops.push(Op::Return(Src::Imm(0)));
        // The entry, put in front now that the body said what it needs: the context
        // pointer saved before any call clobbers R1, then the scratch map's value.
        let mut entry = Vec::new();
        if let Some(ctx) = self.ctx {
            entry.push(Op::Ctx { dst: ctx });
        }
        entry.extend(self.scratch_lookup());
        self.ops.splice(0..0, entry);
        let subprogs = self
            .subprogs
            .into_iter()
            .map(|s| s.expect("internal compiler error: callback not lowered"))
            .collect();
        (self.ops, self.frame, subprogs)
    }

    /// The lookup of the scratch map's value into its register, when something used
    /// it: the first operations of a function, where nothing is live on the stack yet
    /// (its first word holds the key).
    pub(super) fn scratch_lookup(&mut self) -> Vec<Op> {
        let Some(scratch) = self.scratch else {
            return Vec::new();
        };
        let key = Mem::stack(-8);
        self.frame.stack_max = self.frame.stack_max.max(8);
        vec![
            Op::Store {
                size: Size::W,
                base: key.base,
                off: key.off,
                src: Src::Imm(0),
            },
            Op::Call {
                helper: helper::MAP_LOOKUP_ELEM,
                args: vec![Arg::Map(self.scratch_map), Arg::Addr(key)],
                ret: Some(scratch),
            },
            Op::Jmp {
                cond: Cond::Eq,
                a: scratch,
                b: Src::Imm(0),
                target: self.exit_label,
            },
        ]
    }

    /// Index of this program's scratch map among the module's maps.
    pub(super) fn scratch_map(&self) -> usize {
        self.scratch_map
    }

    /// Every variable's slot.
    pub(super) fn var_slots(&self) -> &[Mem] {
        &self.vars
    }

    /// Moves every variable (a callback's view of the probe's variables).
    pub(super) fn set_var_slots(&mut self, slots: Vec<Mem>) {
        self.vars = slots;
    }

    /// Takes the variables' sizes and types from the function calling this one.
    pub(super) fn copy_vars_from(&mut self, caller: &Lowerer<'_>) {
        self.var_sizes = caller.var_sizes.clone();
        self.var_types = caller.var_types.clone();
        self.homes = caller.homes.clone();
        self.points = caller.points.clone();
        self.names = caller.names.clone();
    }

    /// The byte size of variable `var`'s slot.
    pub(super) fn var_size(&self, var: usize) -> u32 {
        self.var_sizes[var]
    }

    /// The type of variable `var`.
    pub(super) fn var_type(&self, var: usize) -> &Ty {
        &self.var_types[var]
    }

    /// The register holding the address of this program's scratch memory.
    pub(super) fn scratch_reg(&mut self) -> VReg {
        match self.scratch {
            Some(v) => v,
            None => {
                let v = self.vreg();
                self.scratch = Some(v);
                v
            }
        }
    }

    pub(super) fn vreg(&mut self) -> VReg {
        self.next_vreg += 1;
        VReg(self.next_vreg)
    }

    pub(super) fn label(&mut self) -> Label {
        self.next_label += 1;
        Label(self.next_label)
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
            let mark = self.frame.mark();
            self.here = s.span;
            self.ops.push(Op::Mark(s.span));
            let exits = self.stmt(s);
            // Temporaries die with their statement; variables were allocated up front.
            self.frame.release(mark);
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
            StmtKind::Exit(code) => {
                self.exit_event(code.as_ref());
                return true;
            }
            StmtKind::VarAssign { var, value } => {
                let at = self.vars[*var];
                match self.stored_value(value) {
                    Val::Int(src) => self.ops.push(Op::Store {
                        size: Size::DW,
                        base: at.base,
                        off: at.off,
                        src,
                    }),
                    Val::Buf { at: from, len } => {
                        // The variable's buffer may be longer (its widest assignment).
                        let var_size = round_up(self.var_sizes[*var], 8);
                        let n = round_up(len, 8).min(var_size);
                        if from != at {
                            self.copy(at, from, n, 8);
                        }
                        self.zero(at.at(n as i16), var_size - n);
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
            StmtKind::Join { event, array } => self.join(*event, array),
            StmtKind::Signal(sig) => self.signal(sig),
            StmtKind::If { cond, then, else_ } => return self.if_stmt(cond, then, else_),
            StmtKind::While { cond, body } => self.while_loop(cond, body),
            StmtKind::For {
                var,
                start,
                end,
                body,
            } => self.for_range(callback::id(s), *var, start, end, body),
            StmtKind::Unroll { count, body } => self.unroll(*count, body),
            StmtKind::ForMap { var, map, body } => self.for_map(callback::id(s), *var, *map, body),
            StmtKind::VarZero(var) => {
                let (at, size) = (self.vars[*var], self.var_sizes[*var]);
                self.zero(at, size);
            }
            StmtKind::Break => return self.break_loop(),
            StmtKind::Continue => return self.continue_loop(),
            StmtKind::Return(value) => {
                let v = match value {
                    Some(v) => self.int(v),
                    None => Src::Imm(0),
                };
                self.end_probe(v);
                return true;
            }
        }
        false
    }

    /// `text` as a NUL-terminated string of `len` bytes (cut or zero-padded), in a fresh
    /// buffer.
    pub(super) fn constant_string(&mut self, text: &[u8], len: u32) -> Val {
        let at = self.alloc(len);
        let mut bytes = text[..text.len().min(len.saturating_sub(1) as usize)].to_vec();
        bytes.resize(round_up(len, 8) as usize, 0);
        for (i, chunk) in bytes.chunks(4).enumerate() {
            let word = i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            self.ops.push(Op::Store {
                size: Size::W,
                base: at.base,
                off: at.at(4 * i as i16).off,
                src: Src::Imm(word),
            });
        }
        Val::Buf { at, len }
    }

    /// The 64-bit word at `at`, in a fresh register.
    pub(super) fn load_u64(&mut self, at: Mem) -> VReg {
        let v = self.vreg();
        self.ops.push(Op::Load {
            size: Size::DW,
            dst: v,
            base: at.base,
            off: at.off,
        });
        v
    }

    /// Where scratch variable `var` lives.
    pub(super) fn var_slot(&self, var: usize) -> Mem {
        self.vars[var]
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

    /// Builds the BPF key of `map` for `keys`; returns where it is.
    pub(super) fn key(&mut self, layout: &MapLayout, keys: &[hir::Expr]) -> Mem {
        // Evaluate every key before writing any, so nested map reads can't clobber.
        let vals: Vec<Val> = keys.iter().map(|k| self.stored_value(k)).collect();
        // A lone string that fills the key exactly (`@[comm]`) is the key as it stands.
        if let [Val::Buf { at, len }] = vals[..]
            && len == layout.key_size
        {
            return at;
        }
        let key = self.alloc(layout.key_size);
        if keys.is_empty() {
            self.zero(key, layout.key_size);
            return key;
        }
        if layout.key_padded {
            self.zero(key, layout.key_size);
        }
        for (i, v) in vals.into_iter().enumerate() {
            let at = key.at(layout.key_offsets[i] as i16);
            // Key parts are packed: a string after a 17-byte one starts unaligned, and
            // the verifier refuses misaligned stack accesses.
            let align = 1u32 << (at.off as i32).trailing_zeros().min(3);
            match (v, &layout.key_types[i]) {
                (Val::Int(src), kt) => self.ops.push(Op::Store {
                    // Integers are stored as 64 bits; a bool is one byte.
                    size: if *kt == Ty::Bool { Size::B } else { Size::DW },
                    base: at.base,
                    off: at.off,
                    src,
                }),
                (Val::Buf { at: from, len }, Ty::Str { len: klen }) => {
                    // A string after one whose size is no multiple of 8 starts at an odd
                    // offset: copy in accesses that keep the stack aligned there.
                    let n = len.min(*klen);
                    let align = 1u32 << (at.off as i32 as u32).trailing_zeros().min(3);
                    let whole = n / align * align;
                    self.copy(at, from, whole, align);
                    self.copy(at.at(whole as i16), from.at(whole as i16), n - whole, 1);
                    if *klen > n {
                        self.zero(at.at(n as i16), klen - n);
                    }
                }
                (Val::Buf { at: from, len }, Ty::Tuple(_) | Ty::Rendered(_)) => {
                    self.copy(at, from, len, 1)
                }
                (Val::Buf { at: from, len }, kt @ Ty::Buf { .. }) => {
                    let n = len.min(kt.size());
                    self.copy(at, from, n, align);
                    self.zero(at.at(n as i16), kt.size() - n);
                }
                (Val::Buf { .. }, _) => unreachable!("sema unified key types"),
            }
        }
        key
    }

    /// `bpf_map_update_elem` of user map `map` (its BPF map is `bpf_map`); an update
    /// that fails (the map is full) is counted for the runtime to report.
    pub(super) fn update_elem(
        &mut self,
        map: usize,
        bpf_map: usize,
        key: Mem,
        value: Mem,
        flags: i64,
    ) {
        let r = self.call(
            helper::MAP_UPDATE_ELEM,
            vec![
                Arg::Map(bpf_map),
                Arg::Addr(key),
                Arg::Addr(value),
                Arg::Imm(flags),
            ],
        );
        self.count_failed_update(map, r);
    }

    /// Computes an expression's value; its buffers are charged to its span.
    pub(super) fn value(&mut self, e: &hir::Expr) -> Val {
        let outer = std::mem::replace(&mut self.here, e.span);
        let v = self.value_of(e);
        self.here = outer;
        v
    }

    fn value_of(&mut self, e: &hir::Expr) -> Val {
        match &e.kind {
            ExprKind::Int(v) => Val::Int(self.constant(*v)),
            ExprKind::Str(s) => self.constant_string(s, s.len() as u32 + 1),
            ExprKind::Builtin(b) => self.builtin(*b),
            ExprKind::Ctx(access) => self.ctx_read(*access, &e.ty),
            ExprKind::Tuple(items) => self.tuple_value(items, &e.ty),
            ExprKind::TupleIndex(t, i) => {
                let v = self.value(t);
                self.element(v, &t.ty, *i)
            }
            ExprKind::StrLen(s) => self.str_len(s),
            ExprKind::Lib(call) => self.library(call, &e.ty),
            ExprKind::Deref(p) => self.deref(p, &e.ty),
            ExprKind::StrNcmp(a, b, n) => self.str_ncmp(a, b, *n),
            ExprKind::StrContains(h, needle) => self.str_contains(h, needle),
            ExprKind::StrContainsRuntime {
                haystack,
                needle,
                kfunc,
            } => self.str_contains_runtime(haystack, needle, *kfunc),
            ExprKind::Cast(inner) => {
                let Ty::Int { bits, signed } = e.ty else {
                    unreachable!("sema: casts are to integer types")
                };
                let v = self.int(inner);
                Val::Int(self.narrow(v, bits, signed))
            }
            // Integers are 64 bits in registers already (loads sign- or zero-extend by
            // type); a string is padded into a buffer of the wider type.
            ExprKind::Convert(inner) => match e.ty {
                Ty::Str { len } => {
                    let to = self.alloc(len);
                    self.string_into(inner, to, round_up(len, 8));
                    Val::Buf { at: to, len }
                }
                Ty::Buf { len } if matches!(inner.ty, Ty::Str { .. }) => {
                    self.string_as_buf(inner, len)
                }
                Ty::Buf { .. } => {
                    let len = e.ty.size();
                    let to = self.alloc(len);
                    self.string_into(inner, to, len);
                    Val::Buf { at: to, len }
                }
                Ty::Tuple(_) => {
                    let Val::Buf { at, .. } = self.value(inner) else {
                        unreachable!("sema: a tuple")
                    };
                    self.convert_tuple_at(at, &inner.ty, &e.ty)
                }
                _ => self.value(inner),
            },
            ExprKind::ReadBuf { ptr, len, space } => {
                let Ty::Buf { len: cap } = e.ty else {
                    unreachable!("sema: buf() is a buffer")
                };
                self.read_buf(ptr, len, *space, cap)
            }
            ExprKind::ReadStr {
                ptr,
                limit,
                space,
                at_max,
            } => {
                let Ty::Str { len } = e.ty else {
                    unreachable!("sema: str() is a string")
                };
                self.read_str(ptr, limit.as_deref(), *space, len, *at_max)
            }
            ExprKind::Var(id) => {
                let at = self.vars[*id];
                match &e.ty {
                    // The variable's own buffer: a value is used within its statement,
                    // and no statement changes a variable while reading it.
                    t if t.in_memory() => Val::Buf {
                        at,
                        len: e.ty.size(),
                    },
                    _ => Val::Int(Src::V(self.load_u64(at))),
                }
            }
            ExprKind::MapLen(map) => Val::Int(Src::V(self.map_len(*map))),
            ExprKind::PointName(field) => self.point_name(*field, &e.ty),
            ExprKind::HasKey { map, keys } => {
                let ml = self.layout.maps[*map].clone();
                let key = self.key(&ml, keys);
                let p = self.call(
                    helper::MAP_LOOKUP_ELEM,
                    vec![Arg::Map(ml.bpf_map), Arg::Addr(key)],
                );
                let found = self.vreg();
                self.ops.push(Op::Mov {
                    dst: found,
                    src: Src::Imm(1),
                });
                let done = self.label();
                self.ops.push(Op::Jmp {
                    cond: Cond::Ne,
                    a: p,
                    b: Src::Imm(0),
                    target: done,
                });
                self.ops.push(Op::Mov {
                    dst: found,
                    src: Src::Imm(0),
                });
                self.ops.push(Op::Label(done));
                Val::Int(Src::V(found))
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
                // Constants the verifier refuses as operands get the meaning the
                // language gives them (see docs/language.md): a shift count is taken
                // modulo 64, `x / 0` is 0 and `x % 0` is x (BPF's run-time results).
                let b = match (alu, b) {
                    (Alu::Lsh | Alu::Rsh | Alu::Arsh, Src::Imm(k)) => Src::Imm(k & 63),
                    (Alu::Div, Src::Imm(0)) => return Val::Int(Src::Imm(0)),
                    (Alu::Mod, Src::Imm(0)) => return Val::Int(a),
                    (_, b) => b,
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
                    t if t.in_memory() => {
                        let len = &e.ty.size();
                        let to = self.alloc(*len);
                        let rounded = round_up(*len, 8);
                        self.branch(c, false, else_l);
                        self.string_into(a, to, rounded);
                        self.ops.push(Op::Goto(end));
                        self.ops.push(Op::Label(else_l));
                        self.string_into(b, to, rounded);
                        self.ops.push(Op::Label(end));
                        Val::Buf { at: to, len: *len }
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
        if ml.value.read_ty().is_some() {
            return Val::Int(Src::V(self.percpu_value(map, key)));
        }
        let p = self.call(
            helper::MAP_LOOKUP_ELEM,
            vec![Arg::Map(ml.bpf_map), Arg::Addr(key)],
        );
        let missing = self.label();
        match ty {
            t if t.in_memory() => {
                let len = &ty.size();
                let to = self.alloc(*len);
                let rounded = round_up(*len, 8);
                self.zero(to, rounded);
                self.jump_if_null(p, missing);
                let from = Mem {
                    base: Base::V(p),
                    off: 0,
                };
                self.copy(to, from, rounded.min(ml.value_size), 8);
                self.ops.push(Op::Label(missing));
                Val::Buf { at: to, len: *len }
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
    pub(super) fn string_into(&mut self, e: &hir::Expr, to: Mem, size: u32) {
        let Val::Buf { at, len } = self.value(e) else {
            unreachable!("sema: string branch")
        };
        let n = round_up(len, 8).min(size);
        self.copy(to, at, n, 8);
        self.zero(to.at(n as i16), size - n);
    }

    pub(super) fn fresh_copy(&mut self, src: Src) -> VReg {
        let v = self.vreg();
        self.ops.push(Op::Mov { dst: v, src });
        v
    }

    /// The value of an expression about to be stored in a key, map value or variable:
    /// a string's conversion to the wider type is left to the store, which pads anyway.
    pub(super) fn stored_value(&mut self, e: &hir::Expr) -> Val {
        match (&e.kind, &e.ty) {
            (ExprKind::Convert(inner), Ty::Str { .. }) => self.value(inner),
            _ => self.value(e),
        }
    }

    /// `v` as a `bits`-bit integer, truncated and sign- or zero-extended back to 64 bits
    /// (C's conversion); constants fold.
    pub(super) fn narrow(&mut self, v: Src, bits: u8, signed: bool) -> Src {
        if bits >= 64 {
            return v;
        }
        let shift = 64 - bits as u32;
        if let Src::Imm(c) = v {
            let c = c as i64 as u64;
            let folded = if signed {
                (((c << shift) as i64) >> shift) as u64
            } else {
                (c << shift) >> shift
            };
            return self.constant(folded);
        }
        let t = self.fresh_copy(v);
        if signed {
            for op in [Alu::Lsh, Alu::Arsh] {
                self.ops.push(Op::Alu {
                    op,
                    dst: t,
                    src: Src::Imm(shift as i32),
                    signed: false,
                });
            }
        } else if bits == 32 {
            self.ops.push(Op::Zext32 { dst: t, src: t });
        } else {
            self.ops.push(Op::Alu {
                op: Alu::And,
                dst: t,
                src: Src::Imm((1i32 << bits) - 1),
                signed: false,
            });
        }
        Src::V(t)
    }

    /// An integer-typed expression's value.
    pub(super) fn int(&mut self, e: &hir::Expr) -> Src {
        match self.value(e) {
            Val::Int(s) => s,
            Val::Buf { .. } => unreachable!("sema: integer expected"),
        }
    }

    pub(super) fn builtin(&mut self, b: Builtin) -> Val {
        if b == Builtin::Elapsed {
            return self.elapsed();
        }
        let Some((helper, shift, zext)) = builtin_helper(b) else {
            let at = self.alloc(16);
            self.ops.push(Op::Call {
                helper: helper::GET_CURRENT_COMM,
                args: vec![Arg::Addr(at), Arg::Imm(16)],
                ret: None,
            });
            return Val::Buf { at, len: 16 };
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
        Builtin::NsecsBoot => (helper::KTIME_GET_BOOT_NS, 0, false),
        Builtin::NsecsTai => (helper::KTIME_GET_TAI_NS, 0, false),
        Builtin::Rand => (helper::GET_PRANDOM_U32, 0, false),
        Builtin::Jiffies => (helper::JIFFIES64, 0, false),
        Builtin::NumaId => (helper::GET_NUMA_NODE_ID, 0, false),
        Builtin::Comm | Builtin::Elapsed => return None,
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
        ExprKind::PointName(field) => format!("{field:?}"),
        ExprKind::Ctx(access) => format!("{access:?}:{}", e.ty),
        ExprKind::Unary(op, a) => format!("({op:?} {})", fingerprint(a)?),
        ExprKind::Convert(a) => fingerprint(a)?,
        ExprKind::Cast(a) => format!("(cast {} {})", e.ty, fingerprint(a)?),
        ExprKind::Binary(op, a, b) => {
            format!("({} {op:?} {})", fingerprint(a)?, fingerprint(b)?)
        }
        ExprKind::Var(_)
        | ExprKind::StrLen(_)
        | ExprKind::Tuple(_)
        | ExprKind::TupleIndex(..)
        | ExprKind::StrNcmp(..)
        | ExprKind::StrContains(..)
        | ExprKind::StrContainsRuntime { .. }
        | ExprKind::MapRead { .. }
        | ExprKind::HasKey { .. }
        | ExprKind::MapLen(_)
        | ExprKind::Ternary(..)
        | ExprKind::ReadStr { .. }
        | ExprKind::Deref(_)
        | ExprKind::Lib(_)
        | ExprKind::ReadBuf { .. } => return None,
    })
}
