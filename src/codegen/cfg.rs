//! The control-flow graph of a linear list of [`Op`]s: basic blocks, successors (jumps
//! may go backwards), reachability, and liveness of virtual registers by the usual
//! backwards dataflow, iterated to a fixed point so values live around a loop stay live
//! in all of it.

use std::collections::{HashMap, HashSet};

use super::ir::{Label, Op, VReg};

/// A basic block: `ops[start..end]`, entered only at `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// First operation.
    pub start: usize,
    /// One past the last operation.
    pub end: usize,
    /// Blocks control may go to next.
    pub succs: Vec<usize>,
}

/// The graph.
#[derive(Clone, Debug)]
pub struct Cfg<'a> {
    ops: &'a [Op],
    /// Blocks in program order; block 0 is the entry.
    pub blocks: Vec<Block>,
}

impl<'a> Cfg<'a> {
    /// Splits `ops` into blocks and links them.
    pub fn new(ops: &'a [Op]) -> Cfg<'a> {
        let mut starts = vec![0];
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Label(_) => starts.push(i),
                Op::Jmp { .. } | Op::Goto(_) | Op::Return(_) => starts.push(i + 1),
                _ => {}
            }
        }
        starts.retain(|&s| s < ops.len());
        starts.sort_unstable();
        starts.dedup();
        let block_of_label: HashMap<Label, usize> = starts
            .iter()
            .enumerate()
            .filter_map(|(b, &s)| match ops[s] {
                Op::Label(l) => Some((l, b)),
                _ => None,
            })
            .collect();
        // A label that is not first in its block cannot happen: labels start blocks.
        let mut blocks = Vec::with_capacity(starts.len());
        for (b, &start) in starts.iter().enumerate() {
            let end = starts.get(b + 1).copied().unwrap_or(ops.len());
            let mut succs = Vec::new();
            let last = &ops[end - 1];
            let target = |l: &Label| {
                *block_of_label
                    .get(l)
                    .unwrap_or_else(|| panic!("internal compiler error: jump to undefined {l:?}"))
            };
            match last {
                Op::Jmp { target: l, .. } => {
                    succs.push(target(l));
                    if end < ops.len() {
                        succs.push(b + 1);
                    }
                }
                Op::Goto(l) => succs.push(target(l)),
                Op::Return(_) => {}
                _ if end < ops.len() => succs.push(b + 1),
                _ => {}
            }
            blocks.push(Block { start, end, succs });
        }
        Cfg { ops, blocks }
    }

    /// For each operation: whether any path from the entry reaches it.
    pub fn reachable_ops(&self) -> Vec<bool> {
        let mut seen = vec![false; self.blocks.len()];
        let mut stack = vec![0];
        while let Some(b) = stack.pop() {
            if b >= seen.len() || seen[b] {
                continue;
            }
            seen[b] = true;
            stack.extend(self.blocks[b].succs.iter().copied());
        }
        let mut keep = vec![false; self.ops.len()];
        for (b, block) in self.blocks.iter().enumerate() {
            if seen[b] {
                keep[block.start..block.end].fill(true);
            }
        }
        keep
    }

    /// Each virtual register's live interval `[first, last]` in operation indices:
    /// every point where it is defined, used, or live between the two (around loops
    /// too). Linear-scan allocation on these intervals never hands a live value's
    /// register to another.
    pub fn live_intervals(&self) -> HashMap<VReg, (usize, usize)> {
        let n = self.blocks.len();
        // use (read before any write in the block) and def sets per block.
        let mut uses: Vec<HashSet<VReg>> = vec![HashSet::new(); n];
        let mut defs: Vec<HashSet<VReg>> = vec![HashSet::new(); n];
        let mut buf = Vec::new();
        for (b, block) in self.blocks.iter().enumerate() {
            for op in &self.ops[block.start..block.end] {
                buf.clear();
                op.uses(&mut buf);
                for v in &buf {
                    if !defs[b].contains(v) {
                        uses[b].insert(*v);
                    }
                }
                defs[b].extend(op.def());
            }
        }
        let mut live_in: Vec<HashSet<VReg>> = vec![HashSet::new(); n];
        let mut live_out: Vec<HashSet<VReg>> = vec![HashSet::new(); n];
        let mut changed = true;
        while changed {
            changed = false;
            for b in (0..n).rev() {
                let out: HashSet<VReg> = self.blocks[b]
                    .succs
                    .iter()
                    .flat_map(|&s| live_in[s].iter().copied())
                    .collect();
                let mut inn: HashSet<VReg> = out.difference(&defs[b]).copied().collect();
                inn.extend(uses[b].iter().copied());
                if inn != live_in[b] || out != live_out[b] {
                    live_in[b] = inn;
                    live_out[b] = out;
                    changed = true;
                }
            }
        }
        let mut intervals: HashMap<VReg, (usize, usize)> = HashMap::new();
        let mut extend = |v: VReg, at: usize| {
            intervals
                .entry(v)
                .and_modify(|iv| {
                    iv.0 = iv.0.min(at);
                    iv.1 = iv.1.max(at);
                })
                .or_insert((at, at));
        };
        for (b, block) in self.blocks.iter().enumerate() {
            for &v in &live_in[b] {
                extend(v, block.start);
            }
            for &v in &live_out[b] {
                extend(v, block.end - 1);
            }
            for (i, op) in self.ops[block.start..block.end].iter().enumerate() {
                buf.clear();
                op.vregs(&mut buf);
                for &v in &buf {
                    extend(v, block.start + i);
                }
            }
        }
        intervals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{Alu, Cond};
    use crate::codegen::ir::Src;

    fn v(n: u32) -> VReg {
        VReg(n)
    }

    /// `v1 = 7; v2 = 0; loop: v3 = v2; v3 += v1; v2 = v3; if v2 < 100 goto loop;
    /// return v2` — `v1` is last mentioned inside the loop but live around it.
    fn loop_ops() -> Vec<Op> {
        vec![
            Op::Mov {
                dst: v(1),
                src: Src::Imm(7),
            },
            Op::Mov {
                dst: v(2),
                src: Src::Imm(0),
            },
            Op::Label(Label(1)),
            Op::Mov {
                dst: v(3),
                src: Src::V(v(2)),
            },
            Op::Alu {
                op: Alu::Add,
                dst: v(3),
                src: Src::V(v(1)),
                signed: false,
            },
            Op::Mov {
                dst: v(2),
                src: Src::V(v(3)),
            },
            Op::Jmp {
                cond: Cond::Lt,
                a: v(2),
                b: Src::Imm(100),
                target: Label(1),
            },
            Op::Return(Src::V(v(2))),
        ]
    }

    #[test]
    fn values_used_in_a_loop_live_through_its_back_edge() {
        let ops = loop_ops();
        let cfg = Cfg::new(&ops);
        assert_eq!(cfg.blocks.len(), 3);
        assert_eq!(cfg.blocks[1].succs, vec![1, 2]);
        let iv = cfg.live_intervals();
        // v1 is read at 4, but the back-edge at 6 brings control back to 3.
        assert_eq!(iv[&v(1)], (0, 6));
        assert_eq!(iv[&v(2)], (1, 7));
    }

    #[test]
    fn unreachable_code_is_found_through_back_edges() {
        let ops = vec![
            Op::Goto(Label(2)),
            Op::Label(Label(1)),
            Op::Return(Src::Imm(1)),
            Op::Label(Label(2)),
            Op::Goto(Label(1)),
            Op::Return(Src::Imm(2)),
        ];
        let keep = Cfg::new(&ops).reachable_ops();
        assert_eq!(keep, [true, true, true, true, true, false]);
    }
}
