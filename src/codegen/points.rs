//! The names of the attach points a shared program runs for: `probe` and `func` of
//! each point, looked up at run time by the attach cookie (the point's index), from an
//! array the runtime fills before attaching. A program with one point has its names as
//! constants.
//!
//! In: `hir::Probe::points` and the `PointName` expressions of its body. Out: the
//! names map ([`Names`], laid out with the other maps) and the lowering of `probe` and
//! `func`.

use super::ir::{Arg, Base, Mem, Op, Src};
use super::lower::{Lowerer, Val};
use crate::bpf::insn::helper;
use crate::bpf::{Alu, Cond, Size};
use crate::lang::ty::{Ty, round_up};
use crate::object::module::{MapDef, MapKind};
use crate::probe::Target;
use crate::sema::hir::{self, ExprKind, PointField};

/// A shared program's names map.
#[derive(Clone, Debug)]
pub struct Names {
    /// Index into `Module::maps`.
    pub bpf_map: usize,
    /// Bytes of each entry that hold `probe` (the rest holds `func`).
    pub probe_size: u32,
    /// Each point's entry, by cookie.
    pub values: Vec<Vec<u8>>,
}

/// The sizes of the `probe` and `func` strings `probe` reads (0 when it reads none).
fn sizes(probe: &hir::Probe) -> (u32, u32) {
    let mut sizes = (0, 0);
    let mut note = |e: &hir::Expr| {
        if let (ExprKind::PointName(field), Ty::Str { len }) = (&e.kind, &e.ty) {
            let s = match field {
                PointField::Probe => &mut sizes.0,
                PointField::Func => &mut sizes.1,
            };
            *s = (*s).max(*len);
        }
    };
    if let Some(p) = &probe.predicate {
        crate::sema::visit::expr(p, &mut note);
    }
    crate::sema::visit::exprs(&probe.body, &mut note);
    sizes
}

/// The names map of `probe` (module map `index`, named after probe `i`) when it runs
/// for several points and reads their names.
pub fn names(probe: &hir::Probe, i: usize, index: usize) -> Option<(Names, MapDef)> {
    let (probe_len, func_len) = sizes(probe);
    if probe.points.len() < 2 || probe_len + func_len == 0 {
        return None;
    }
    let probe_size = round_up(probe_len, 8);
    let size = (probe_size + round_up(func_len, 8)).max(8);
    let values = probe
        .points
        .iter()
        .map(|p| {
            let mut v = vec![0u8; size as usize];
            let d = p.display.as_bytes();
            let n = d.len().min(probe_len.saturating_sub(1) as usize);
            v[..n].copy_from_slice(&d[..n]);
            if let Some(f) = &p.func {
                let n = f.len().min(func_len.saturating_sub(1) as usize);
                let at = probe_size as usize;
                v[at..at + n].copy_from_slice(&f.as_bytes()[..n]);
            }
            v
        })
        .collect();
    let mut name = format!("names{i}");
    name.truncate(15);
    Some((
        Names {
            bpf_map: index,
            probe_size,
            values,
        },
        MapDef {
            name,
            kind: MapKind::Array,
            key_size: 4,
            value_size: size,
            max_entries: probe.points.len() as u32,
            flags: 0,
        },
    ))
}

impl Lowerer<'_> {
    /// `-p PID`: a probe the kernel does not limit to the process already (tracepoints,
    /// raw tracepoints, kprobes, …) ends unless the process is the one running.
    pub(super) fn filter_process(&mut self, target: &Target) {
        let limited = matches!(
            target,
            Target::TestRun(_)
                | Target::Uprobe { .. }
                | Target::PerfEvent { .. }
                | Target::Watchpoint { .. }
        );
        let Some(pid) = self.layout.filter_pid.filter(|_| !limited) else {
            return;
        };
        let v = self.call(helper::GET_CURRENT_PID_TGID, vec![]);
        self.ops.push(Op::Alu {
            op: Alu::Rsh,
            dst: v,
            src: Src::Imm(32),
            signed: false,
        });
        let pid = self.constant(pid as u64);
        let exit = self.exit_label();
        self.ops.push(Op::Jmp {
            cond: Cond::Ne,
            a: v,
            b: pid,
            target: exit,
        });
    }

    /// `probe` or `func` as a string of type `ty`.
    pub(super) fn point_name(&mut self, field: PointField, ty: &Ty) -> Val {
        let len = ty.size();
        let Some(names) = self.names.clone() else {
            // One point: the name is a constant.
            let point = &self.points[0];
            let text = match field {
                PointField::Probe => point.display.clone(),
                PointField::Func => point.func.clone().unwrap_or_default(),
            };
            return self.constant_string(text.as_bytes(), len);
        };
        let at = self.alloc(len);
        // Several: the cookie is the point's index in the names map.
        self.zero(at, round_up(len, 8));
        let ctx = self.ctx_reg();
        let cookie = self.call(helper::GET_ATTACH_COOKIE, vec![Arg::V(ctx)]);
        let key = self.alloc(4);
        self.ops.push(Op::Store {
            size: Size::W,
            base: key.base,
            off: key.off,
            src: Src::V(cookie),
        });
        let entry = self.call(
            helper::MAP_LOOKUP_ELEM,
            vec![Arg::Map(names.bpf_map), Arg::Addr(key)],
        );
        let missing = self.new_label();
        self.jump_if_null(entry, missing);
        let from = Mem {
            base: Base::V(entry),
            off: match field {
                PointField::Probe => 0,
                PointField::Func => names.probe_size as i16,
            },
        };
        self.copy(
            at,
            from,
            round_up(len, 8).min(self.names_room(field, &names)),
            8,
        );
        self.ops.push(Op::Label(missing));
        Val::Buf { at, len }
    }

    /// Bytes of a names entry available to `field`.
    fn names_room(&self, field: PointField, names: &Names) -> u32 {
        let size = names.values.first().map_or(0, |v| v.len() as u32);
        match field {
            PointField::Probe => names.probe_size,
            PointField::Func => size - names.probe_size,
        }
    }
}
