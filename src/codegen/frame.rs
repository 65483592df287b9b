//! Memory for values that do not fit in registers: strings, keys, staged map values,
//! variables. Small buffers go on the 512-byte BPF stack; when a program would need
//! more, buffers from a size threshold up go to the program's own per-CPU scratch map
//! (one per program: an NMI `profile` program may interrupt another on the same CPU).
//! Slots are reused statement by statement. The frame remembers which expression
//! raised the stack's high-water mark, so a program that still does not fit is reported
//! at the expression responsible.

use super::ir::{Base, Mem, Op, Src};
use super::lower::Lowerer;
use crate::bpf::Size;
use crate::diag::Span;
use crate::lang::ty::round_up;

/// The BPF stack limit per program.
pub const STACK_LIMIT: u32 = 512;
/// The largest value of a per-CPU array element (`PCPU_MIN_UNIT_SIZE`).
pub const SCRATCH_LIMIT: u32 = 32 * 1024;

/// Allocation state of one program.
#[derive(Clone, Debug, Default)]
pub(super) struct Frame {
    /// Stack bytes in use (buffers grow down from R10).
    stack: u32,
    /// Highest `stack` seen.
    pub(super) stack_max: u32,
    /// Scratch bytes in use.
    scratch: u32,
    /// Highest `scratch` seen.
    pub(super) scratch_max: u32,
    /// Buffers of at least this size go to scratch (`None`: everything on the stack).
    pub(super) threshold: Option<u32>,
    /// Each rise of `stack_max`: the new maximum and the expression being lowered.
    pub(super) peaks: Vec<(u32, Span)>,
}

/// Where a buffer went.
pub(super) enum Place {
    /// `R10 - n`.
    Stack(i16),
    /// Offset in the scratch map's value.
    Scratch(i16),
}

impl Frame {
    /// A frame putting buffers of `threshold` bytes or more in scratch.
    pub(super) fn new(threshold: Option<u32>) -> Frame {
        Frame {
            threshold,
            ..Frame::default()
        }
    }

    /// The frame of a callback this frame's code calls: a stack of its own, scratch
    /// memory after what is in use here (the callback runs while it is live).
    pub(super) fn nested(&self) -> Frame {
        Frame {
            threshold: self.threshold,
            scratch: self.scratch,
            scratch_max: self.scratch,
            ..Frame::default()
        }
    }

    /// Reserves `size` bytes (rounded to 8) on the stack whatever the threshold: for
    /// slots that hold pointers (a map value cannot).
    pub(super) fn alloc_stack(&mut self, size: u32, span: Span) -> i16 {
        let threshold = self.threshold.take();
        let place = self.alloc(size, span);
        self.threshold = threshold;
        match place {
            Place::Stack(off) => off,
            Place::Scratch(_) => unreachable!("no threshold"),
        }
    }

    /// Reserves `size` bytes (rounded to 8) in the scratch map whatever the threshold.
    pub(super) fn alloc_scratch(&mut self, size: u32) -> i16 {
        let size = round_up(size.max(1), 8);
        let off = self.scratch;
        self.scratch += size;
        self.scratch_max = self.scratch_max.max(self.scratch);
        off.min(i16::MAX as u32) as i16
    }

    /// Bytes of stack in use now.
    pub(super) fn stack_in_use(&self) -> u32 {
        self.stack
    }

    /// The current use, to [`Frame::release`] back to.
    pub(super) fn mark(&self) -> (u32, u32) {
        (self.stack, self.scratch)
    }

    /// Frees everything allocated since `mark`.
    pub(super) fn release(&mut self, mark: (u32, u32)) {
        (self.stack, self.scratch) = mark;
    }

    /// Reserves `size` bytes (rounded to 8) for the expression at `span`.
    pub(super) fn alloc(&mut self, size: u32, span: Span) -> Place {
        let size = round_up(size.max(1), 8);
        if self.threshold.is_some_and(|t| size >= t) {
            let off = self.scratch;
            self.scratch += size;
            self.scratch_max = self.scratch_max.max(self.scratch);
            return Place::Scratch(off.min(i16::MAX as u32) as i16);
        }
        self.stack += size;
        if self.stack > self.stack_max {
            self.stack_max = self.stack;
            self.peaks.push((self.stack, span));
        }
        // Offsets beyond the frame are reported from stack_max; clamp so the
        // arithmetic stays in range until then.
        Place::Stack(-(self.stack.min(i16::MAX as u32) as i16))
    }

    /// The expression whose buffer made the stack exceed `limit`.
    pub(super) fn culprit(&self, limit: u32) -> Option<Span> {
        self.peaks
            .iter()
            .find(|(peak, _)| *peak > limit)
            .map(|&(_, span)| span)
    }
}

impl Lowerer<'_> {
    /// A fresh buffer of `size` bytes (rounded to 8, 8-aligned).
    pub(super) fn alloc(&mut self, size: u32) -> Mem {
        match self.frame.alloc(size, self.here) {
            Place::Stack(off) => Mem::stack(off),
            Place::Scratch(off) => Mem {
                base: Base::V(self.scratch_reg()),
                off,
            },
        }
    }

    /// A fresh buffer of `size` bytes in the scratch map (for values the verifier must
    /// not track).
    pub(super) fn alloc_scratch(&mut self, size: u32) -> Mem {
        Mem {
            off: self.frame.alloc_scratch(size),
            base: Base::V(self.scratch_reg()),
        }
    }

    /// Zeroes `size` bytes at `at` with naturally aligned stores (the verifier rejects
    /// misaligned stack access); buffers are 8-byte aligned.
    pub(super) fn zero(&mut self, at: Mem, size: u32) {
        let mut done = 0u32;
        while done < size {
            let off = (at.off as i32 + done as i32).min(i16::MAX as i32);
            let (w, s) = [(8, Size::DW), (4, Size::W), (2, Size::H), (1, Size::B)]
                .into_iter()
                .find(|&(w, _)| off.rem_euclid(w) == 0 && done + w as u32 <= size)
                .expect("a 1-byte store always fits");
            self.ops.push(Op::Store {
                size: s,
                base: at.base,
                off: off as i16,
                src: Src::Imm(0),
            });
            done += w as u32;
        }
    }

    /// Copies `len` bytes from `src` to `dst`, in the widest accesses that `align` (the
    /// alignment both sides are known to have) allows.
    pub(super) fn copy(&mut self, dst: Mem, src: Mem, len: u32, align: u32) {
        // Never wider than either side's offset allows: an element of a packed tuple
        // (a string after a uint32) sits at an odd offset of its buffer, and the
        // verifier refuses misaligned stack accesses.
        let off_align = |m: Mem| 1u32 << (m.off as i32 as u32).trailing_zeros().min(3);
        let align = align.min(off_align(dst)).min(off_align(src));
        let mut done = 0u32;
        for (w, s) in [(8, Size::DW), (4, Size::W), (2, Size::H), (1, Size::B)] {
            if w > align {
                continue;
            }
            while done + w <= len {
                let t = self.new_vreg();
                self.ops.push(Op::Load {
                    size: s,
                    dst: t,
                    base: src.base,
                    off: src.at(done as i16).off,
                });
                self.ops.push(Op::Store {
                    size: s,
                    base: dst.base,
                    off: dst.at(done as i16).off,
                    src: Src::V(t),
                });
                done += w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_buffers_go_to_scratch_from_the_threshold() {
        let mut f = Frame::new(Some(64));
        let s = Span::new(3, 4);
        assert!(matches!(f.alloc(16, s), Place::Stack(-16)));
        assert!(matches!(f.alloc(64, s), Place::Scratch(0)));
        assert!(matches!(f.alloc(100, s), Place::Scratch(64)));
        let m = f.mark();
        assert!(matches!(f.alloc(8, Span::new(5, 6)), Place::Stack(-24)));
        f.release(m);
        assert!(matches!(f.alloc(8, s), Place::Stack(-24)));
        assert_eq!((f.stack_max, f.scratch_max), (24, 168));
        // The expression whose buffer crossed 20 bytes.
        assert_eq!(f.culprit(20), Some(Span::new(5, 6)));
        assert_eq!(f.culprit(100), None);
    }
}
